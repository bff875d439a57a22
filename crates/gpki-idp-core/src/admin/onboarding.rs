//! Onboarding a district's schools from one list (CSV or JSON): each row a school (its issuer
//! and signing keys) and, when named, its first GM account with the `admin` role. Every row
//! is checked first and reported; nothing is written unless every row is good, and then all
//! new schools are written in one transaction with their audit events. A school that exists already with the same
//! name is reported `exists` and left as it is, so the same list can be run again after
//! rows are added. A dry run reports the same without writing.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{json, Value};

use super::records::school_json;
use super::school_list::{read_upload, OnboardRow, RowError};
use super::upload::UploadQuery;
use super::users::valid_username;
use super::{valid_name, valid_school_code, Principal, SCOPE_DISTRICT};
use crate::audit::{Audit, AuditEvent};
use crate::keys::new_keys;
use crate::model::{NewSchool, NewUser, School};
use crate::oidc::Provider;
use crate::store::StoreError;
use crate::{error::Error, password};

/// The outcome of one row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OnboardRowReport {
    /// 1-based data row (the CSV header is not counted).
    pub row: usize,
    pub code: String,
    pub name: String,
    /// `created` (or, in a dry run and in a refused list, would be), `exists` or `error`.
    pub status: &'static str,
    pub error: Option<&'static str>,
    pub message: Option<String>,
    pub gm_username: Option<String>,
    /// The GM's initial password: only in the answer of the run that created the account.
    pub gm_password: Option<String>,
}

/// What an onboarding did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OnboardReport {
    pub dry_run: bool,
    /// Whether the new schools were written (false in a dry run and when a row is bad).
    pub written: bool,
    pub total: usize,
    pub created: usize,
    pub existing: usize,
    pub failed: usize,
    pub rows: Vec<OnboardRowReport>,
}

impl OnboardReport {
    /// A real run that wrote nothing because rows are bad (the API answers 422).
    pub fn refused(&self) -> bool {
        !self.dry_run && !self.written && self.failed > 0
    }
}

/// What is wrong with a row on its own.
fn check_row(row: &OnboardRow) -> Option<(&'static str, String)> {
    let problem = |code, why: &str| Some((code, why.to_string()));
    if !valid_school_code(&row.code) {
        return problem(
            "invalid_code",
            "code: 2 to 32 lowercase letters, digits or -",
        );
    }
    if !valid_name(&row.name) {
        return problem("invalid_name", "name: 1 to 100 characters");
    }
    match (&row.gm_username, &row.gm_name) {
        (None, None) => None,
        (None, Some(_)) => problem("gm_name_without_username", "gm_name needs gm_username"),
        (Some(u), _) if !valid_username(u) => problem(
            "invalid_gm_username",
            "gm_username: 1 to 64 letters, digits or ._@-",
        ),
        (Some(_), Some(n)) if valid_name(n) => None,
        (Some(_), _) => problem("invalid_gm_name", "gm_name: 1 to 100 characters"),
    }
}

/// The report of every row, and the rows to create.
fn plan(
    rows: Vec<Result<OnboardRow, RowError>>,
    existing: &HashMap<String, School>,
) -> (OnboardReport, Vec<OnboardRow>) {
    let mut report = OnboardReport::default();
    let mut creates = Vec::new();
    let mut seen = HashSet::new();
    for (i, parsed) in rows.into_iter().enumerate() {
        let row = match parsed {
            Ok(r) => r,
            Err((n, code, error, why)) => {
                report
                    .rows
                    .push(error_row(n, code, String::new(), error, why));
                continue;
            }
        };
        let outcome = check_row(&row)
            .or_else(|| {
                (!seen.insert(row.code.clone()))
                    .then(|| ("duplicate_code", "the code is in the list twice".into()))
            })
            .map(Err)
            .unwrap_or_else(|| Ok(existing.get(&row.code)));
        let mut line = error_row(i + 1, row.code.clone(), row.name.clone(), "", String::new());
        line.gm_username = row.gm_username.clone();
        match outcome {
            Err((error, why)) => (line.error, line.message) = (Some(error), Some(why)),
            Ok(Some(s)) if s.name != row.name => {
                line.error = Some("code_taken");
                line.message = Some(format!("the code belongs to the school `{}`", s.name));
            }
            Ok(Some(_)) => {
                line.status = "exists";
                line.message = Some("the school exists and is left as it is".into());
            }
            Ok(None) => {
                line.status = "created";
                creates.push(row);
            }
        }
        report.rows.push(line);
    }
    report.total = report.rows.len();
    let count = |s: &str| report.rows.iter().filter(|r| r.status == s).count();
    (report.created, report.existing) = (count("created"), count("exists"));
    report.failed = count("error");
    (report, creates)
}

fn error_row(
    row: usize,
    code: String,
    name: String,
    error: &'static str,
    why: String,
) -> OnboardRowReport {
    OnboardRowReport {
        row,
        code,
        name,
        status: "error",
        error: Some(error).filter(|e| !e.is_empty()),
        message: Some(why).filter(|m| !m.is_empty()),
        gm_username: None,
        gm_password: None,
    }
}

/// A school's keys (RS256 and ES256, as `ensure_keys` makes) and its GM with a new password.
fn materialise(row: OnboardRow) -> Result<(NewSchool, Option<String>), Error> {
    let keys = new_keys().map_err(|_| Error::server_error())?;
    let mut users = Vec::new();
    let mut secret = None;
    if let (Some(username), Some(display_name)) = (row.gm_username, row.gm_name) {
        let pw = crate::random_token(15);
        users.push(NewUser {
            school_id: 0,
            username,
            display_name,
            password_hash: Some(password::hash(&pw)),
            roles: vec!["admin".into()],
            password_must_change: true,
        });
        secret = Some(pw);
    }
    let school = NewSchool {
        code: row.code,
        name: row.name,
        district: false,
        keys,
        users,
    };
    Ok((school, secret))
}

/// Keys and password hashes for every row, on as many blocking threads as there are cores
/// (an RSA key takes tens of milliseconds, argon2 as long).
async fn materialise_all(rows: Vec<OnboardRow>) -> Result<Vec<(NewSchool, Option<String>)>, Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = rows.len().div_ceil(threads).max(1);
    let mut tasks = Vec::new();
    let mut rest = rows;
    while !rest.is_empty() {
        let tail = rest.split_off(per.min(rest.len()));
        let chunk = std::mem::replace(&mut rest, tail);
        tasks.push(tokio::task::spawn_blocking(move || {
            chunk
                .into_iter()
                .map(materialise)
                .collect::<Result<Vec<_>, _>>()
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.extend(task.await.map_err(|_| Error::server_error())??);
    }
    Ok(out)
}

/// The events of an onboarding: each new school's creation and its GM's in the new school's
/// own log, and the whole in the district tenant's (the operator has none).
fn onboarding_events(
    who: &Principal,
    created: &[School],
    gms: &[Option<String>],
    existing: usize,
) -> Vec<AuditEvent> {
    let mut events = Vec::new();
    for (school, gm) in created.iter().zip(gms) {
        let mut after = school_json(school);
        after["onboarding"] = json!(true);
        let change = who.change(school.id, "school.create");
        events.push(change.clone().with(Value::Null, after));
        if let Some(gm) = gm {
            let after = json!({"username": gm, "roles": ["admin"], "has_password": true});
            let change = who.change(school.id, "user.create").subject(gm);
            events.push(change.with(Value::Null, after));
        }
    }
    if let Some(home) = who.home_school() {
        let codes: Vec<&str> = created.iter().map(|s| s.code.as_str()).collect();
        let after = json!({"created": codes, "existing": existing});
        events.push(
            who.change(home.id, "school.onboard")
                .with(Value::Null, after),
        );
    }
    events
}

impl Provider {
    /// The onboarding route: `dry_run`, then the uploaded list, then [`Self::onboard_schools`].
    pub async fn onboard_upload(
        &self,
        who: &Principal,
        query: &UploadQuery,
        content_type: &str,
        body: &[u8],
    ) -> Result<OnboardReport, Error> {
        let dry_run = query.dry_run()?;
        let rows = read_upload(content_type, body)?;
        self.onboard_schools(who, rows, dry_run).await
    }

    /// Onboards the schools of a list: every row checked and reported; when all are good
    /// (and not a dry run) every new school is created with its keys and GM, and each
    /// creation's audit event, in one transaction.
    pub async fn onboard_schools(
        &self,
        who: &Principal,
        rows: Vec<Result<OnboardRow, RowError>>,
        dry_run: bool,
    ) -> Result<OnboardReport, Error> {
        who.require(&[SCOPE_DISTRICT])?;
        let existing = self.existing_schools(&rows).await?;
        let (mut report, creates) = plan(rows, &existing);
        report.dry_run = dry_run;
        if dry_run || report.failed > 0 || creates.is_empty() {
            return Ok(report);
        }
        let made = materialise_all(creates).await?;
        let (schools, secrets): (Vec<NewSchool>, Vec<Option<String>>) = made.into_iter().unzip();
        let gms: Vec<Option<String>> = schools
            .iter()
            .map(|s| s.users.first().map(|u| u.username.clone()))
            .collect();
        let (by, existing) = (who.clone(), report.existing);
        let audit =
            Audit::each(move |made: &Vec<School>| onboarding_events(&by, made, &gms, existing));
        match self.directory.create_schools(schools, audit).await {
            Err(StoreError::Conflict(_)) => {
                return Err(Error::conflict(
                    "a school of the list was created meanwhile; nothing was written",
                ))
            }
            other => other?,
        };
        let mut secrets = secrets.into_iter();
        for line in report.rows.iter_mut().filter(|r| r.status == "created") {
            line.gm_password = secrets.next().flatten();
        }
        report.written = true;
        Ok(report)
    }

    /// The schools that exist already among the well-formed codes of the list.
    async fn existing_schools(
        &self,
        rows: &[Result<OnboardRow, RowError>],
    ) -> Result<HashMap<String, School>, Error> {
        let mut found = HashMap::new();
        for row in rows.iter().flatten() {
            if valid_school_code(&row.code) && !found.contains_key(&row.code) {
                if let Some(s) = self.directory.school_by_code(&row.code).await? {
                    found.insert(row.code.clone(), s);
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school(code: &str, name: &str) -> School {
        // From JSON: whatever else a school carries keeps its default.
        serde_json::from_value(json!({
            "id": 9, "code": code, "name": name, "disabled": false, "district": false
        }))
        .unwrap()
    }

    #[test]
    fn plan_reports_every_row() {
        let row = |code: &str, name: &str, gm: Option<(&str, &str)>| {
            Ok(OnboardRow {
                code: code.into(),
                name: name.into(),
                gm_username: gm.map(|g| g.0.into()),
                gm_name: gm.map(|g| g.1.into()),
            })
        };
        let existing = HashMap::from([
            ("old".to_string(), school("old", "舊國小")),
            ("taken".to_string(), school("taken", "別校")),
        ]);
        let rows = vec![
            row("new-1", "新一", Some(("gm", "管理者"))),
            row("old", "舊國小", None),
            row("Bad", "X", None),
            row("new-1", "again", None),
            row("taken", "不是別校", None),
            row("new-2", "新二", Some(("bad name", "X"))),
            Err((7, "x".into(), "wrong_column_count", "…".into())),
        ];
        let (report, creates) = plan(rows, &existing);
        let got: Vec<_> = report
            .rows
            .iter()
            .map(|r| (r.row, r.status, r.error))
            .collect();
        assert_eq!(
            got,
            [
                (1, "created", None),
                (2, "exists", None),
                (3, "error", Some("invalid_code")),
                (4, "error", Some("duplicate_code")),
                (5, "error", Some("code_taken")),
                (6, "error", Some("invalid_gm_username")),
                (7, "error", Some("wrong_column_count")),
            ]
        );
        assert_eq!((report.created, report.existing, report.failed), (1, 1, 5));
        assert_eq!(creates.len(), 1);
    }
}
