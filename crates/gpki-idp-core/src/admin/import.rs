//! The bulk import of accounts from the school system (CSV or JSON) with a dry run and a
//! report per row. Good rows are kept when others are bad; the good ones are written in one
//! transaction.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::upload::{check_size, Upload, UploadQuery};
use super::users::{roles_problem, valid_username};
use super::{invalid, valid_name, Principal, SCOPE_ADMIN};
use crate::audit::Audit;
use crate::error::Error;
use crate::model::{NewUser, School, User, UserChange};
use crate::oidc::Provider;

/// Most rows one import may carry.
pub const MAX_IMPORT_ROWS: usize = 20_000;
/// Largest body of an import.
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;

/// One row of an import, as read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRow {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// The outcome of one row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowReport {
    /// 1-based data row (the CSV header is not counted).
    pub row: usize,
    pub username: String,
    /// `created`, `updated`, `unchanged` or `error`.
    pub status: &'static str,
    pub error: Option<&'static str>,
    pub message: Option<String>,
}

/// What an import did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub dry_run: bool,
    pub total: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub rows: Vec<RowReport>,
}

/// A row that could not be read.
pub type RowError = (usize, String, &'static str, String);

fn row_error((row, username, code, message): RowError) -> RowReport {
    RowReport {
        row,
        username,
        status: "error",
        error: Some(code),
        message: Some(message),
    }
}

/// Reads a CSV export: header `username,display_name,roles[,disabled]`, roles separated by
/// `;`. A bad header refuses the whole file; a bad row is reported and skipped.
pub fn parse_csv(text: &str) -> Result<Vec<Result<ImportRow, RowError>>, Error> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|_| invalid("the CSV has no readable header line"))?
        .iter()
        .map(str::to_lowercase)
        .collect();
    let with_disabled = match header.as_slice() {
        [a, b, c] if a == "username" && b == "display_name" && c == "roles" => false,
        [a, b, c, d]
            if a == "username" && b == "display_name" && c == "roles" && d == "disabled" =>
        {
            true
        }
        _ => {
            return Err(invalid(
                "the CSV header must be username,display_name,roles[,disabled]",
            ))
        }
    };
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        if row > MAX_IMPORT_ROWS {
            return Err(invalid(format!("at most {MAX_IMPORT_ROWS} rows")));
        }
        rows.push(csv_row(row, record, with_disabled));
    }
    Ok(rows)
}

fn csv_row(
    row: usize,
    record: Result<csv::StringRecord, csv::Error>,
    with_disabled: bool,
) -> Result<ImportRow, RowError> {
    let record = record.map_err(|e| (row, String::new(), "unreadable_row", e.to_string()))?;
    let field = |i: usize| record.get(i).unwrap_or_default().to_string();
    let username = field(0);
    let expected = if with_disabled { 4 } else { 3 };
    if record.len() != expected {
        let why = format!("expected {expected} columns, found {}", record.len());
        return Err((row, username, "wrong_column_count", why));
    }
    let disabled = match (with_disabled, field(3).to_lowercase().as_str()) {
        (false, _) | (true, "") => None,
        (true, "true" | "1" | "yes") => Some(true),
        (true, "false" | "0" | "no") => Some(false),
        (true, other) => {
            let why = format!("disabled must be true or false, not `{other}`");
            return Err((row, username, "invalid_disabled", why));
        }
    };
    let roles = field(2)
        .split(';')
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .collect();
    Ok(ImportRow {
        username,
        display_name: field(1),
        roles,
        disabled,
    })
}

/// Reads a JSON import: an array of `{username, display_name, roles, disabled?}`.
pub fn parse_json(body: &[u8]) -> Result<Vec<Result<ImportRow, RowError>>, Error> {
    let items: Vec<Value> =
        serde_json::from_slice(body).map_err(|_| invalid("the body must be a JSON array"))?;
    if items.len() > MAX_IMPORT_ROWS {
        return Err(invalid(format!("at most {MAX_IMPORT_ROWS} rows")));
    }
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let username = item["username"].as_str().unwrap_or_default().to_string();
            serde_json::from_value::<ImportRow>(item)
                .map_err(|e| (i + 1, username, "invalid_row", e.to_string()))
        })
        .collect())
}

/// The plan of an import: what each row will do.
struct Plan {
    report: ImportReport,
    creates: Vec<NewUser>,
    updates: Vec<(i64, UserChange)>,
}

fn check_row(row: &ImportRow, known: &[String]) -> Option<(&'static str, String)> {
    if !valid_username(&row.username) {
        return Some((
            "invalid_username",
            "username: 1 to 64 letters, digits or ._@-".into(),
        ));
    }
    if !valid_name(&row.display_name) {
        return Some((
            "invalid_display_name",
            "display_name: 1 to 100 characters".into(),
        ));
    }
    roles_problem(&row.roles, known)
}

fn plan(
    school: &School,
    rows: Vec<Result<ImportRow, RowError>>,
    existing: &HashMap<String, User>,
    known: &[String],
    may_touch_admins: bool,
) -> Plan {
    let mut p = Plan {
        report: ImportReport::default(),
        creates: Vec::new(),
        updates: Vec::new(),
    };
    let mut seen = HashSet::new();
    for (i, parsed) in rows.into_iter().enumerate() {
        let n = i + 1;
        let row = match parsed {
            Ok(r) => r,
            Err(e) => {
                p.report.rows.push(row_error(e));
                continue;
            }
        };
        let admin_account = row.roles.iter().any(|r| r == "admin")
            || existing
                .get(&row.username)
                .is_some_and(|u| u.roles.iter().any(|r| r == "admin"));
        let problem = check_row(&row, known)
            .or_else(|| {
                (admin_account && !may_touch_admins).then(|| {
                    (
                        "admin_role_needs_admin_scope",
                        "only the admin scope may import admin accounts".into(),
                    )
                })
            })
            .or_else(|| {
                (!seen.insert(row.username.clone())).then(|| {
                    (
                        "duplicate_username",
                        "the username is in the file twice".into(),
                    )
                })
            });
        if let Some((code, why)) = problem {
            p.report.rows.push(row_error((n, row.username, code, why)));
            continue;
        }
        let status = match existing.get(&row.username) {
            None => {
                p.creates.push(NewUser {
                    school_id: school.id,
                    username: row.username.clone(),
                    display_name: row.display_name.clone(),
                    password_hash: None,
                    roles: row.roles.clone(),
                    password_must_change: false,
                });
                "created"
            }
            Some(user) => match change_of(user, &row) {
                Some(change) => {
                    p.updates.push((user.id, change));
                    "updated"
                }
                None => "unchanged",
            },
        };
        p.report.rows.push(RowReport {
            row: n,
            username: row.username,
            status,
            error: None,
            message: None,
        });
    }
    p
}

/// What an import row changes of an existing account (roles are replaced; an absent
/// `disabled` leaves it as it is; passwords are never touched).
fn change_of(user: &User, row: &ImportRow) -> Option<UserChange> {
    let change = UserChange {
        display_name: (user.display_name != row.display_name).then(|| row.display_name.clone()),
        roles: (user.roles != row.roles).then(|| row.roles.clone()),
        disabled: row.disabled.filter(|d| *d != user.disabled),
        password_hash: None,
    };
    let changed =
        change.display_name.is_some() || change.roles.is_some() || change.disabled.is_some();
    changed.then_some(change)
}

impl Provider {
    /// The import route: a CSV or JSON body of at most [`MAX_IMPORT_BYTES`] and its
    /// `dry_run`, read and imported (checked in that order: size, query, media type, rows).
    pub async fn admin_import_upload(
        &self,
        who: &Principal,
        school: &School,
        query: &UploadQuery,
        content_type: &str,
        body: &[u8],
    ) -> Result<ImportReport, Error> {
        check_size(body, MAX_IMPORT_BYTES, "the import is over 8 MiB")?;
        let dry_run = query.dry_run()?;
        let rows = match Upload::read(content_type, body)? {
            Upload::Csv(text) => parse_csv(text)?,
            Upload::Json(bytes) => parse_json(bytes)?,
        };
        self.admin_import_users(who, school, rows, dry_run).await
    }

    /// Imports accounts: every good row is created or updated (in one transaction), every
    /// bad row reported; a dry run reports the same without writing.
    pub async fn admin_import_users(
        &self,
        who: &Principal,
        school: &School,
        rows: Vec<Result<ImportRow, RowError>>,
        dry_run: bool,
    ) -> Result<ImportReport, Error> {
        let names: Vec<String> = rows
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|r| r.username.clone()))
            .collect();
        let existing: HashMap<String, User> = self
            .directory
            .users_by_usernames(school.id, names)
            .await?
            .into_iter()
            .map(|u| (u.username.clone(), u))
            .collect();
        let known = self.known_roles(school).await?;
        let Plan {
            mut report,
            creates,
            updates,
        } = plan(
            school,
            rows,
            &existing,
            &known,
            who.require(&[SCOPE_ADMIN]).is_ok(),
        );
        report.dry_run = dry_run;
        report.total = report.rows.len();
        for r in &report.rows {
            match r.status {
                "created" => report.created += 1,
                "updated" => report.updated += 1,
                "unchanged" => report.unchanged += 1,
                _ => report.failed += 1,
            }
        }
        if dry_run || (creates.is_empty() && updates.is_empty()) {
            return Ok(report);
        }
        let changed: Vec<&str> = report
            .rows
            .iter()
            .filter(|r| r.status == "created" || r.status == "updated")
            .map(|r| r.username.as_str())
            .collect();
        let after = json!({"created": report.created, "updated": report.updated, "failed": report.failed, "usernames": changed});
        let event = who
            .change(school.id, "user.import")
            .with(Value::Null, after);
        self.directory
            .import_users(creates, updates, Audit::event(event))
            .await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::BUILTIN_ROLES;

    #[test]
    fn csv_rows_are_read_or_reported() {
        let rows = parse_csv(
            "\u{feff}username,display_name,roles,disabled\n\
             t1,王老師,teacher,false\n\
             t2,\"Lin, Mei\",teacher;staff,\n\
             t3,only two\n\
             t4,X,teacher,maybe\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 4);
        let t2 = rows[1].as_ref().unwrap();
        assert_eq!(t2.display_name, "Lin, Mei");
        assert_eq!(t2.roles, ["teacher", "staff"]);
        assert_eq!(t2.disabled, None);
        assert_eq!(rows[2].as_ref().unwrap_err().2, "wrong_column_count");
        assert_eq!(rows[3].as_ref().unwrap_err().2, "invalid_disabled");
        assert!(parse_csv("user,name\n").is_err());
    }

    #[test]
    fn plan_creates_updates_and_refuses() {
        let school = School {
            id: 1,
            code: "a".into(),
            name: "A".into(),
            disabled: false,
            district: false,
            branding: Default::default(),
        };
        let known: Vec<String> = BUILTIN_ROLES.iter().map(|r| r.to_string()).collect();
        let existing = User {
            id: 5,
            school_id: 1,
            username: "old".into(),
            subject: "s".into(),
            display_name: "Old".into(),
            password_hash: None,
            roles: vec!["teacher".into()],
            disabled: false,
            password_must_change: false,
            password_changed_at: None,
        };
        let map = HashMap::from([("old".to_string(), existing)]);
        let row = |u: &str, roles: &[&str]| {
            Ok(ImportRow {
                username: u.into(),
                display_name: "N".into(),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                disabled: None,
            })
        };
        let rows = vec![
            row("new", &["teacher"]),
            row("old", &["teacher"]),
            row("bad name", &["teacher"]),
            row("x", &["wizard"]),
            row("new", &["staff"]),
        ];
        let p = plan(&school, rows, &map, &known, true);
        let statuses: Vec<_> = p.report.rows.iter().map(|r| (r.status, r.error)).collect();
        assert_eq!(
            statuses,
            [
                ("created", None),
                ("updated", None),
                ("error", Some("invalid_username")),
                ("error", Some("unknown_role")),
                ("error", Some("duplicate_username"))
            ]
        );
        assert_eq!(p.creates.len(), 1);
        assert_eq!(p.updates.len(), 1);
    }
}
