//! 資訊安全 → 資安選項設定: the school's login policy as a page for its GM, in the words and
//! steps of the system it replaces (tick 啟用登入機制 per 身份, then 儲存設定). The change goes
//! through the same domain call as the admin API's `PUT …/policy`: validated, checked against
//! the version the page showed, and audited. Its 密碼原則 form sets the school's password policy
//! as the admin API's `PUT …/password-policy` does.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::settings::{policy_json, PolicyInput};
use gpki_idp_core::admin::users::IssuedCode;
use gpki_idp_core::admin::{GmPage, Principal};
use gpki_idp_core::code::Code;
use gpki_idp_core::error::Error;
use gpki_idp_core::model::{School, SchoolPasswordPolicy};
use gpki_idp_core::policy::{allowed_methods, Method, RolePolicy};

use super::pages::{self, IssuedView, Notice, Passwords, RoleRow};
use super::request::{origin, session_cookie};
use super::school::school_of;
use crate::app::AppState;

/// `GET /schools/{school}/admin/security`.
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = match school_of(&state, &req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if let Err(response) = gm(&state, &school, &req, GmPage::Security).await {
        return response;
    }
    render(&state, &req, &school, None, None).await
}

/// `POST /schools/{school}/admin/security` (csrf, etag, role{i}, role{i}.{method}).
pub async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (school, who) = match gm_form(&state, &req, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let input = PolicyInput {
        roles: roles_from_form(&form),
    };
    let etag = form.get("etag").map(String::as_str);
    let outcome = state
        .provider
        .admin_replace_policy(&who, &school, input, etag)
        .await;
    let notice = match outcome {
        Ok(_) => Notice::Saved,
        Err(e) if e.code == Code::PreconditionFailed => Notice::ChangedMeanwhile,
        Err(e) if e.code == Code::InvalidRequest => Notice::Invalid,
        Err(e) => return error_page(&e, &req),
    };
    render(&state, &req, &school, Some(notice), None).await
}

/// `POST /schools/{school}/admin/security/passwords` (csrf, min_length, min_score, history,
/// min_age_days, max_age_days; empty: the district's): 密碼原則, through the admin API's
/// `PUT …/password-policy` call.
pub async fn save_passwords(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (school, who) = match gm_form(&state, &req, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let notice = match password_rules(&form) {
        Some(input) => match state
            .provider
            .admin_set_password_policy(&who, &school, input)
            .await
        {
            Ok(_) => Notice::PasswordsSaved,
            Err(e) if e.code == Code::InvalidRequest => Notice::PasswordsInvalid,
            Err(e) => return error_page(&e, &req),
        },
        None => Notice::PasswordsInvalid,
    };
    render(&state, &req, &school, Some(notice), None).await
}

/// `POST /schools/{school}/admin/security/reset-code` (csrf, username): 密碼重設碼, through
/// the admin API's `POST …/users/{username}/reset-code` call; the code is shown once.
pub async fn issue_reset_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (school, who) = match gm_form(&state, &req, &form).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let username = form.get("username").map(|u| u.trim()).unwrap_or_default();
    match state
        .provider
        .admin_reset_code(&who, &school, username)
        .await
    {
        Ok(issued) => render(&state, &req, &school, None, Some((username, &issued))).await,
        Err(e) if e.code == Code::NotFound => {
            render(&state, &req, &school, Some(Notice::NoSuchAccount), None).await
        }
        Err(e) => error_page(&e, &req),
    }
}

/// A form of this page: its school, the GM who sent it, and its CSRF value checked; else
/// the page to answer.
async fn gm_form(
    state: &AppState,
    req: &HttpRequest,
    form: &HashMap<String, String>,
) -> Result<(School, Principal), HttpResponse> {
    let school = school_of(state, req).await?;
    let who = gm(state, &school, req, GmPage::Security).await?;
    let csrf = form.get("csrf").map(String::as_str).unwrap_or_default();
    if super::csrf::browser(state, req, csrf).is_err() {
        return Err(error_page(&Error::csrf_failed(), req));
    }
    Ok((school, who))
}

/// The password rules as the form sent them (empty: the district's); `None` when one is not
/// a number.
fn password_rules(form: &HashMap<String, String>) -> Option<SchoolPasswordPolicy> {
    let rule = |name: &str| -> Result<Option<u32>, ()> {
        match form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| ()),
        }
    };
    let score = rule("min_score").ok()?;
    Some(SchoolPasswordPolicy {
        min_length: rule("min_length").ok()?,
        min_score: match score {
            Some(s) => Some(u8::try_from(s).ok()?),
            None => None,
        },
        history: rule("history").ok()?,
        min_age_days: rule("min_age_days").ok()?,
        max_age_days: rule("max_age_days").ok()?,
    })
}

/// The GM of the school logged in on this browser, as the caller of `page`; else the page
/// that says why.
pub(super) async fn gm(
    state: &AppState,
    school: &School,
    req: &HttpRequest,
    page: GmPage,
) -> Result<Principal, HttpResponse> {
    let sid = session_cookie(req);
    state
        .provider
        .page_principal(school, sid.as_deref(), origin(req), page)
        .await
        .map_err(|e| {
            let heading = match page {
                GmPage::Security => (
                    "無法開啟資安選項設定",
                    "The security settings cannot be opened",
                ),
                GmPage::Branding => ("無法開啟學校識別設定", "School branding cannot be opened"),
                GmPage::Sessions => ("無法開啟登入中的裝置", "Signed-in devices cannot be opened"),
            };
            pages::error_page_titled(&e, heading, pages::locale(req, None).as_deref())
        })
}

fn error_page(e: &Error, req: &HttpRequest) -> HttpResponse {
    let heading = (
        "無法開啟資安選項設定",
        "The security settings cannot be opened",
    );
    pages::error_page_titled(e, heading, pages::locale(req, None).as_deref())
}

/// The roles and their ticked methods as the form sent them.
fn roles_from_form(form: &HashMap<String, String>) -> Vec<RolePolicy> {
    (0..100)
        .map_while(|i| form.get(&format!("role{i}")).map(|role| (i, role)))
        .map(|(i, role)| RolePolicy {
            role: role.clone(),
            methods: Method::ALL
                .into_iter()
                .filter(|m| form.contains_key(&format!("role{i}.{}", m.name())))
                .collect(),
        })
        .collect()
}

/// The page with the policy as stored now; every role of the school is listed, a role
/// without a rule with what it may use by default.
async fn render(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    notice: Option<Notice>,
    issued: Option<(&str, &IssuedCode)>,
) -> HttpResponse {
    let locale = pages::locale(req, None);
    let loaded = async {
        let policy = state.provider.admin_policy(school).await?;
        let roles = state.provider.known_roles(school).await?;
        let passwords = state.provider.school_password_policy(school).await?;
        Ok::<_, Error>((policy, roles, passwords))
    };
    let (policy, roles, passwords) = match loaded.await {
        Ok(found) => found,
        Err(e) => return error_page(&e, req),
    };
    let rows: Vec<RoleRow> = roles
        .into_iter()
        .map(|role| RoleRow {
            methods: allowed_methods(&policy, std::slice::from_ref(&role)),
            role,
        })
        .collect();
    let etag = policy_json(&policy)["etag"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (csrf, cookie) = super::csrf::token(state, req);
    let part = Passwords {
        own: &passwords,
        district: &state.provider.settings.passwords,
        issued: issued.map(|(username, i)| IssuedView {
            username,
            code: &i.code,
            expires_in: i.expires_in,
        }),
    };
    let mut response = pages::security(
        school,
        &rows,
        &etag,
        &csrf,
        notice,
        locale.as_deref(),
        &part,
    );
    super::csrf::set(&mut response, cookie);
    pages::remember_locale(req, &mut response);
    response
}
