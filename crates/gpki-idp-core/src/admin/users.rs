//! Accounts through the admin API: create, change, disable, and the bulk import from the
//! school system (CSV or JSON) with a dry run and a report per row. Good rows are kept when
//! others are bad; the good ones are written in one transaction.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use super::{invalid, valid_name, Principal};
use crate::model::{NewUser, School, User, UserChange};
use crate::oidc::Provider;
use crate::policy::BUILTIN_ROLES;
use crate::store::StoreError;
use crate::{password, OAuthError};

/// Most rows one import may carry.
pub const MAX_IMPORT_ROWS: usize = 20_000;

/// `POST …/users`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// `PATCH …/users/{username}`; `password: null` removes the password.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    pub password: Option<Option<String>>,
}

/// A field that was sent, even as `null`, is `Some`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A username: letters, digits and `._@-`, 1–64 characters.
pub fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
}

fn check_password(pw: &str) -> Result<(), OAuthError> {
    let n = pw.chars().count();
    if (8..=128).contains(&n) {
        Ok(())
    } else {
        Err(invalid("password must be 8 to 128 characters"))
    }
}

/// What is wrong with a list of roles, given the school's roles.
fn roles_problem(roles: &[String], known: &[String]) -> Option<(&'static str, String)> {
    if roles.is_empty() || roles.len() > 10 {
        return Some(("invalid_roles", "an account has 1 to 10 roles".into()));
    }
    let unique: HashSet<&String> = roles.iter().collect();
    if unique.len() != roles.len() {
        return Some(("invalid_roles", "a role is listed twice".into()));
    }
    roles
        .iter()
        .find(|r| !known.contains(r))
        .map(|r| ("unknown_role", format!("unknown role `{r}`")))
}

/// The JSON of an account as the admin API shows it.
pub fn user_json(user: &User, certificates: i64) -> Value {
    json!({
        "username": user.username,
        "subject": user.subject,
        "display_name": user.display_name,
        "roles": user.roles,
        "disabled": user.disabled,
        "has_password": user.password_hash.is_some(),
        "certificates": certificates,
    })
}

/// Only a holder of `admin` (or district) may create an admin account, change one, or give or
/// take the admin role: `admin:users` would otherwise be a way to become a GM.
fn guard_admin_accounts(
    who: &Principal,
    before: &[String],
    after: Option<&[String]>,
) -> Result<(), OAuthError> {
    let touches = before
        .iter()
        .chain(after.unwrap_or_default())
        .any(|r| r == "admin");
    if touches && who.require(&[super::SCOPE_ADMIN]).is_err() {
        return Err(OAuthError::insufficient_scope(
            "only the admin scope may create or change an admin account or the admin role",
        ));
    }
    Ok(())
}

async fn hash_password(pw: String) -> Result<String, OAuthError> {
    // argon2 takes tens of milliseconds: keep it off the async workers.
    tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|_| OAuthError::server_error())
}

impl Provider {
    /// The roles of the school: the built-in ones and its own.
    pub async fn known_roles(&self, school: &School) -> Result<Vec<String>, OAuthError> {
        let mut roles: Vec<String> = BUILTIN_ROLES.iter().map(|r| r.to_string()).collect();
        roles.extend(self.directory.custom_roles(school.id).await?);
        Ok(roles)
    }

    /// An account of the school by username, or `not_found`.
    pub async fn admin_user(&self, school: &School, username: &str) -> Result<User, OAuthError> {
        self.directory
            .user_by_username(school.id, username)
            .await?
            .ok_or_else(|| OAuthError::not_found(format!("no account `{username}`")))
    }

    /// How many certificates an account has registered.
    pub async fn certificate_count(&self, school: &School, user: &User) -> Result<i64, OAuthError> {
        let counts = self
            .directory
            .binding_counts(school.id, vec![user.id])
            .await?;
        Ok(counts.first().map_or(0, |c| c.1))
    }

    pub async fn admin_create_user(
        &self,
        who: &Principal,
        school: &School,
        input: NewUserInput,
    ) -> Result<User, OAuthError> {
        if !valid_username(&input.username) {
            return Err(invalid("username: 1 to 64 letters, digits or ._@-"));
        }
        if !valid_name(&input.display_name) {
            return Err(invalid("display_name: 1 to 100 characters"));
        }
        if let Some((_, why)) = roles_problem(&input.roles, &self.known_roles(school).await?) {
            return Err(invalid(why));
        }
        guard_admin_accounts(who, &[], Some(&input.roles))?;
        let password_hash = match input.password {
            Some(pw) => {
                check_password(&pw)?;
                Some(hash_password(pw).await?)
            }
            None => None,
        };
        let new = NewUser {
            school_id: school.id,
            username: input.username.clone(),
            display_name: input.display_name,
            password_hash,
            roles: input.roles,
        };
        let mut user = match self.directory.create_user(new).await {
            Err(StoreError::Conflict(_)) => {
                return Err(OAuthError::conflict(format!(
                    "the account `{}` exists",
                    input.username
                )))
            }
            other => other?,
        };
        if input.disabled == Some(true) {
            let change = UserChange {
                disabled: Some(true),
                ..Default::default()
            };
            user = self
                .directory
                .update_user(school.id, user.id, change)
                .await?
                .ok_or_else(OAuthError::server_error)?;
        }
        let after = user_json(&user, 0);
        self.audit_change(
            who,
            school,
            "user.create",
            Some(&user.username),
            Value::Null,
            after,
        )
        .await?;
        Ok(user)
    }

    pub async fn admin_update_user(
        &self,
        who: &Principal,
        school: &School,
        username: &str,
        patch: UserPatch,
    ) -> Result<User, OAuthError> {
        let user = self.admin_user(school, username).await?;
        guard_admin_accounts(who, &user.roles, patch.roles.as_deref())?;
        if let Some(name) = &patch.display_name {
            if !valid_name(name) {
                return Err(invalid("display_name: 1 to 100 characters"));
            }
        }
        if let Some(roles) = &patch.roles {
            if let Some((_, why)) = roles_problem(roles, &self.known_roles(school).await?) {
                return Err(invalid(why));
            }
        }
        let password_hash = match patch.password {
            Some(Some(pw)) => {
                check_password(&pw)?;
                Some(Some(hash_password(pw).await?))
            }
            Some(None) => Some(None),
            None => None,
        };
        let change = UserChange {
            display_name: patch.display_name,
            roles: patch.roles,
            disabled: patch.disabled,
            password_hash,
        };
        let count = self.certificate_count(school, &user).await?;
        let updated = self
            .directory
            .update_user(school.id, user.id, change)
            .await?
            .ok_or_else(|| OAuthError::not_found(format!("no account `{username}`")))?;
        let (before, after) = (user_json(&user, count), user_json(&updated, count));
        self.audit_change(who, school, "user.update", Some(username), before, after)
            .await?;
        Ok(updated)
    }
}

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
pub fn parse_csv(text: &str) -> Result<Vec<Result<ImportRow, RowError>>, OAuthError> {
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
pub fn parse_json(body: &[u8]) -> Result<Vec<Result<ImportRow, RowError>>, OAuthError> {
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
    updates: Vec<(i64, crate::model::UserChange)>,
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
    /// Imports accounts: every good row is created or updated (in one transaction), every
    /// bad row reported; a dry run reports the same without writing.
    pub async fn admin_import_users(
        &self,
        who: &Principal,
        school: &School,
        rows: Vec<Result<ImportRow, RowError>>,
        dry_run: bool,
    ) -> Result<ImportReport, OAuthError> {
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
            who.require(&[super::SCOPE_ADMIN]).is_ok(),
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
        self.directory.import_users(creates, updates).await?;
        self.audit_change(who, school, "user.import", None, Value::Null, after)
            .await?;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
