//! 資訊安全 → 資安選項設定: the school's login policy as a page for its GM, in the words and
//! steps of the system it replaces (tick 啟用登入機制 per 身份, then 儲存設定). The change goes
//! through the same domain call as the admin API's `PUT …/policy`: validated, checked against
//! the version the page showed, and audited.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::settings::{policy_json, PolicyInput};
use gpki_idp_core::admin::Principal;
use gpki_idp_core::model::{School, User};
use gpki_idp_core::policy::{allowed_methods, Method, RolePolicy};
use gpki_idp_core::OAuthError;

use super::pages::{self, Notice, RoleRow};
use super::school::school_of;
use crate::app::AppState;

/// The audit log's client for changes made on this page (no OAuth client is involved).
const PAGE_CLIENT: &str = "page:security";

/// `GET /schools/{school}/admin/security`.
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = match school_of(&state, &req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if let Err(response) = gm(&state, &school, &req).await {
        return response;
    }
    render(&state, &req, &school, None).await
}

/// `POST /schools/{school}/admin/security` (csrf, etag, role{i}, role{i}.{method}).
pub async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let school = match school_of(&state, &req).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let user = match gm(&state, &school, &req).await {
        Ok(u) => u,
        Err(response) => return response,
    };
    if super::csrf::browser(
        &state,
        &req,
        form.get("csrf").map(String::as_str).unwrap_or_default(),
    )
    .is_err()
    {
        return error_page(&OAuthError::csrf_failed(), &req);
    }
    let who = Principal {
        school: school.clone(),
        actor: user.username.clone(),
        client_id: PAGE_CLIENT.into(),
        scopes: vec!["admin".into()],
        origin: super::request::origin(&req),
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
        Err(e) if e.code == "precondition_failed" => Notice::ChangedMeanwhile,
        Err(e) if e.status == 400 => Notice::Invalid,
        Err(e) => return error_page(&e, &req),
    };
    render(&state, &req, &school, Some(notice)).await
}

/// The logged-in account, if it is an admin (GM) of the school; else the page that says why.
pub(super) async fn gm(
    state: &AppState,
    school: &School,
    req: &HttpRequest,
) -> Result<User, HttpResponse> {
    let Some(user) = super::school::logged_in(state, school, req).await else {
        let e = OAuthError::access_denied(
            "請先以學校 GM 帳號登入校務系統。Log in to the school portal with the school's GM account first.",
        );
        return Err(error_page(&e, req));
    };
    if !user.roles.iter().any(|r| r == "admin") {
        let e = OAuthError::access_denied(
            "只有學校管理者（GM）可以修改資安選項設定。Only the school's administrator (GM) can change the security settings.",
        );
        let mut page = error_page(&e, req);
        *page.status_mut() = StatusCode::FORBIDDEN;
        return Err(page);
    }
    Ok(user)
}

fn error_page(e: &OAuthError, req: &HttpRequest) -> HttpResponse {
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
) -> HttpResponse {
    let locale = pages::locale(req, None);
    let loaded = async {
        let policy = state.provider.admin_policy(school).await?;
        let roles = state.provider.known_roles(school).await?;
        Ok::<_, OAuthError>((policy, roles))
    };
    let (policy, roles) = match loaded.await {
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
    let mut response = pages::security(school, &rows, &etag, &csrf, notice, locale.as_deref());
    super::csrf::set(&mut response, cookie);
    pages::remember_locale(req, &mut response);
    response
}
