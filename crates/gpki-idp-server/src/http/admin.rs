//! The admin REST API under `/admin/v1` (openapi/admin-api.yaml): each handler authenticates
//! the bearer token, resolves the school the caller may see, checks the route's scopes (from
//! [`ROUTES`], the one table the router, the tests and the document agree on), parses the
//! request and shapes the answer. The rules live in `gpki_idp_core::admin`.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::clients::{client_json, ClientInput};
use gpki_idp_core::admin::records::{binding_json, school_json, session_json};
use gpki_idp_core::admin::settings::{policy_json, PolicyInput, RegistrationInput};
use gpki_idp_core::admin::users::{self, user_json, NewUserInput, UserPatch};
use gpki_idp_core::admin::{
    Origin, PageRequest, Principal, SCOPE_ADMIN, SCOPE_AUDIT, SCOPE_DISTRICT, SCOPE_USERS,
};
use gpki_idp_core::audit::AuditFilter;
use gpki_idp_core::model::School;
use gpki_idp_core::OAuthError;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::errors::json_error;
use crate::app::AppState;

/// Where the admin API lives.
pub const PREFIX: &str = "/admin/v1";
/// Largest body of the user import.
const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;
/// Largest body of every other request.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One admin route: method, path under [`PREFIX`], and the scopes that may call it (any one).
#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub scopes: &'static [&'static str],
}

const A: &str = SCOPE_ADMIN;
const U: &str = SCOPE_USERS;
const L: &str = SCOPE_AUDIT;
const D: &str = SCOPE_DISTRICT;

macro_rules! admin_routes {
    ($( $method:ident $path:literal [$($scope:expr),*] => $handler:path; )*) => {
        /// Every admin route.
        pub const ROUTES: &[RouteSpec] = &[$(
            RouteSpec { method: stringify!($method), path: $path, scopes: &[$($scope),*] }
        ),*];

        fn handlers() -> Vec<(&'static str, actix_web::Route)> {
            vec![$( ($path, web::$method().to($handler)) ),*]
        }
    };
}

admin_routes! {
    get "/me" [A, U, L, D] => me;
    get "/schools" [D] => list_schools;
    post "/schools" [D] => create_school;
    post "/onboarding/schools" [D] => super::admin_onboarding::onboard_schools;
    get "/schools/{school}" [A, D] => get_school;
    patch "/schools/{school}" [D] => update_school;
    get "/schools/{school}/policy" [A, D] => get_policy;
    put "/schools/{school}/policy" [A, D] => put_policy;
    get "/schools/{school}/registration" [A, D] => get_registration;
    put "/schools/{school}/registration" [A, D] => put_registration;
    get "/schools/{school}/roles" [A, U, D] => list_roles;
    put "/schools/{school}/roles/{role}" [A, U, D] => put_role;
    delete "/schools/{school}/roles/{role}" [A, U, D] => delete_role;
    get "/schools/{school}/users" [A, U, D] => list_users;
    post "/schools/{school}/users" [A, U, D] => create_user;
    post "/schools/{school}/users/import" [A, U, D] => import_users;
    get "/schools/{school}/users/{username}" [A, U, D] => get_user;
    patch "/schools/{school}/users/{username}" [A, U, D] => update_user;
    get "/schools/{school}/users/{username}/certificates" [A, U, D] => user_certificates;
    post "/schools/{school}/users/{username}/enrollment-codes" [A, U, D] => issue_code;
    get "/schools/{school}/certificates" [A, D] => list_certificates;
    delete "/schools/{school}/certificates/{id}" [A, D] => delete_certificate;
    get "/schools/{school}/enrollment-codes" [A, D] => list_codes;
    delete "/schools/{school}/enrollment-codes/{id}" [A, D] => delete_code;
    get "/schools/{school}/clients" [A, D] => list_clients;
    post "/schools/{school}/clients" [A, D] => create_client;
    get "/schools/{school}/clients/{client_id}" [A, D] => get_client;
    put "/schools/{school}/clients/{client_id}" [A, D] => put_client;
    delete "/schools/{school}/clients/{client_id}" [A, D] => delete_client;
    post "/schools/{school}/clients/{client_id}/secret" [A, D] => rotate_secret;
    get "/schools/{school}/sessions" [A, D] => list_sessions;
    delete "/schools/{school}/sessions/{id}" [A, D] => delete_session;
    get "/schools/{school}/audit" [A, L, D] => audit;
    get "/schools/{school}/keys" [A, D] => list_keys;
    post "/schools/{school}/keys/rotate" [D] => rotate_key;
    get "/schools/{school}/branding" [A, D] => super::admin_branding::get;
    put "/schools/{school}/branding" [A, D] => super::admin_branding::put_colour;
    put "/schools/{school}/branding/logo" [A, D] => super::admin_branding::put_logo;
    delete "/schools/{school}/branding/logo" [A, D] => super::admin_branding::delete_logo;
}

/// Registers the admin routes: one resource per path, a JSON 405 for other methods.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut paths: Vec<&'static str> = Vec::new();
    let mut by_path: HashMap<&'static str, Vec<actix_web::Route>> = HashMap::new();
    for (path, route) in handlers() {
        if !paths.contains(&path) {
            paths.push(path);
        }
        by_path.entry(path).or_default().push(route);
    }
    let mut scope = web::scope(PREFIX)
        .app_data(web::PayloadConfig::new(MAX_IMPORT_BYTES + 1024))
        .default_service(web::to(super::errors::not_found));
    for path in paths {
        let mut resource = web::resource(path).default_service(web::to(method_not_allowed));
        for route in by_path.remove(path).unwrap_or_default() {
            resource = resource.route(route);
        }
        scope = scope.service(resource);
    }
    cfg.service(scope);
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    json_error(&OAuthError::method_not_allowed(format!(
        "{} is not allowed here",
        req.method()
    )))
}

pub(super) type Answer = Result<HttpResponse, HttpResponse>;

pub(super) fn fail(e: OAuthError) -> HttpResponse {
    json_error(&e)
}

/// A store or domain error as the ready answer.
pub(super) trait OrFail<T> {
    fn or_fail(self) -> Result<T, HttpResponse>;
}

impl<T, E: Into<OAuthError>> OrFail<T> for Result<T, E> {
    fn or_fail(self) -> Result<T, HttpResponse> {
        self.map_err(|e| fail(e.into()))
    }
}

/// Who calls, from `Authorization: Bearer …`.
async fn principal(state: &AppState, req: &HttpRequest) -> Result<Principal, HttpResponse> {
    let bearer = super::bearer_token(req).ok_or_else(super::errors::no_token)?;
    let mut who = state.provider.admin_principal(bearer).await.map_err(fail)?;
    who.origin = origin(req);
    Ok(who)
}

/// The scopes of the route this request matched, from [`ROUTES`].
fn route_scopes(req: &HttpRequest) -> &'static [&'static str] {
    let pattern = req.match_pattern().unwrap_or_default();
    let path = pattern.strip_prefix(PREFIX).unwrap_or_default();
    let method = req.method().as_str().to_ascii_lowercase();
    ROUTES
        .iter()
        .find(|r| r.path == path && r.method == method)
        .map_or(&[], |r| r.scopes)
}

/// The caller and the school of the path, in the order the document gives: token (401),
/// school visible (404), scope (403).
pub(super) async fn caller(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(Principal, School), HttpResponse> {
    let who = principal(state, req).await?;
    let code = req.match_info().get("school").unwrap_or_default();
    let school = state.provider.admin_school(&who, code).await.or_fail()?;
    who.require(route_scopes(req)).or_fail()?;
    Ok((who, school))
}

/// The caller of a route without a school in its path.
pub(super) async fn caller_only(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Principal, HttpResponse> {
    let who = principal(state, req).await?;
    who.require(route_scopes(req)).or_fail()?;
    Ok(who)
}

pub(super) fn origin(req: &HttpRequest) -> Origin {
    Origin {
        ip: Some(super::client_ip(req)),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(200).collect()),
    }
}

/// A JSON body of the expected shape.
pub(super) fn body<T: DeserializeOwned>(
    req: &HttpRequest,
    bytes: &[u8],
) -> Result<T, HttpResponse> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(fail(OAuthError::payload_too_large(
            "the body is over 1 MiB",
        )));
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(fail(OAuthError::unsupported_media_type(
            "send application/json",
        )));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| fail(OAuthError::invalid_request(format!("bad JSON body: {e}"))))
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect()
}

fn page(q: &HashMap<String, String>) -> Result<PageRequest, HttpResponse> {
    PageRequest::parse(
        q.get("limit").map(String::as_str),
        q.get("cursor").map(String::as_str),
    )
    .map_err(fail)
}

pub(super) fn ok(v: Value) -> Answer {
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(v))
}

fn created(v: Value) -> Answer {
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(v))
}

fn tagged(status: StatusCode, v: Value) -> Answer {
    let tag = v["etag"].as_str().unwrap_or_default().to_string();
    Ok(HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .insert_header((header::ETAG, tag))
        .json(v))
}

fn no_content() -> Answer {
    Ok(HttpResponse::NoContent().finish())
}

fn list(items: Vec<Value>, next: Option<String>) -> Answer {
    ok(json!({"items": items, "next_cursor": next}))
}

fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn path_id(req: &HttpRequest) -> Result<i64, HttpResponse> {
    req.match_info()
        .get("id")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v >= 1)
        .ok_or_else(|| fail(OAuthError::invalid_request("id must be a positive integer")))
}

fn path_str<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.match_info().get(name).unwrap_or_default()
}

/// Runs a handler body and turns either side into the response.
macro_rules! answer {
    ($body:block) => {{
        let result: Answer = async { $body }.await;
        result.unwrap_or_else(|e| e)
    }};
}

type S = web::Data<AppState>;

async fn me(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let who = principal(&state, &req).await?;
        who.require_any().or_fail()?;
        ok(
            json!({"school": who.school.code, "scopes": who.scopes, "actor": who.actor, "district": who.is_district()}),
        )
    })
}

async fn list_schools(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        caller_only(&state, &req).await?;
        let p = page(&query(&req))?;
        let schools = state
            .provider
            .directory
            .list_schools(p.after, p.limit)
            .await
            .or_fail()?;
        let next = p.next(schools.len(), schools.last().map(|s| s.id));
        list(schools.iter().map(school_json).collect(), next)
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSchool {
    code: String,
    name: String,
}

async fn create_school(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    answer!({
        let who = caller_only(&state, &req).await?;
        let input: NewSchool = body(&req, &bytes)?;
        let school = state
            .provider
            .admin_create_school(&who, &input.code, &input.name)
            .await
            .or_fail()?;
        created(school_json(&school))
    })
}

async fn get_school(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        ok(school_json(&school))
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SchoolPatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
}

async fn update_school(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let patch: SchoolPatch = body(&req, &bytes)?;
        let updated = state
            .provider
            .admin_update_school(&who, &school, patch.name, patch.disabled)
            .await
            .or_fail()?;
        ok(school_json(&updated))
    })
}

async fn get_policy(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let roles = state.provider.admin_policy(&school).await.or_fail()?;
        tagged(StatusCode::OK, policy_json(&roles))
    })
}

async fn put_policy(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let input: PolicyInput = body(&req, &bytes)?;
        let roles = state
            .provider
            .admin_replace_policy(&who, &school, input, if_match(&req).as_deref())
            .await
            .or_fail()?;
        tagged(StatusCode::OK, policy_json(&roles))
    })
}

async fn get_registration(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let rules = state
            .provider
            .directory
            .registration_rules(school.id)
            .await
            .or_fail()?;
        ok(json!(rules))
    })
}

async fn put_registration(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let input: RegistrationInput = body(&req, &bytes)?;
        let rules = state
            .provider
            .admin_replace_registration(&who, &school, input)
            .await
            .or_fail()?;
        ok(json!(rules))
    })
}

async fn list_roles(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let roles = state.provider.admin_roles(&school).await.or_fail()?;
        ok(json!({ "items": roles }))
    })
}

async fn put_role(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let role = path_str(&req, "role");
        let added = state
            .provider
            .admin_add_role(&who, &school, role)
            .await
            .or_fail()?;
        let roles = state.provider.admin_roles(&school).await.or_fail()?;
        let this = roles
            .into_iter()
            .find(|r| r["role"] == role)
            .unwrap_or(Value::Null);
        if added {
            created(this)
        } else {
            ok(this)
        }
    })
}

async fn delete_role(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        state
            .provider
            .admin_remove_role(&who, &school, path_str(&req, "role"))
            .await
            .or_fail()?;
        no_content()
    })
}

async fn counted_users(
    state: &AppState,
    school: &School,
    list: &[gpki_idp_core::model::User],
) -> Result<Vec<Value>, HttpResponse> {
    let ids = list.iter().map(|u| u.id).collect();
    let counts = state
        .provider
        .directory
        .binding_counts(school.id, ids)
        .await
        .or_fail()?;
    let count = |id| counts.iter().find(|c| c.0 == id).map_or(0, |c| c.1);
    Ok(list.iter().map(|u| user_json(u, count(u.id))).collect())
}

async fn list_users(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let q = query(&req);
        let p = page(&q)?;
        let search = q.get("q").filter(|s| !s.is_empty()).cloned();
        if search.as_ref().is_some_and(|s| s.chars().count() > 64) {
            return Err(fail(OAuthError::invalid_request(
                "q: at most 64 characters",
            )));
        }
        let found = state
            .provider
            .directory
            .list_users(school.id, p.after, p.limit, search)
            .await
            .or_fail()?;
        let next = p.next(found.len(), found.last().map(|u| u.id));
        list(counted_users(&state, &school, &found).await?, next)
    })
}

async fn create_user(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let input: NewUserInput = body(&req, &bytes)?;
        let user = state
            .provider
            .admin_create_user(&who, &school, input)
            .await
            .or_fail()?;
        created(user_json(&user, 0))
    })
}

async fn import_users(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(fail(OAuthError::payload_too_large(
                "the import is over 8 MiB",
            )));
        }
        let q = query(&req);
        let dry_run = match q.get("dry_run").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(fail(OAuthError::invalid_request("dry_run: true or false"))),
        };
        let kind = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let rows = if kind.starts_with("text/csv") {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| fail(OAuthError::invalid_request("the CSV is not UTF-8")))?;
            users::parse_csv(text)
        } else if kind.starts_with("application/json") {
            users::parse_json(&bytes)
        } else {
            return Err(fail(OAuthError::unsupported_media_type(
                "send text/csv or application/json",
            )));
        }
        .or_fail()?;
        let report = state
            .provider
            .admin_import_users(&who, &school, rows, dry_run)
            .await
            .or_fail()?;
        ok(json!(report))
    })
}

async fn get_user(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let user = state
            .provider
            .admin_user(&school, path_str(&req, "username"))
            .await
            .or_fail()?;
        let count = state
            .provider
            .certificate_count(&school, &user)
            .await
            .or_fail()?;
        ok(user_json(&user, count))
    })
}

async fn update_user(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let patch: UserPatch = body(&req, &bytes)?;
        let username = path_str(&req, "username");
        let user = state
            .provider
            .admin_update_user(&who, &school, username, patch)
            .await
            .or_fail()?;
        let count = state
            .provider
            .certificate_count(&school, &user)
            .await
            .or_fail()?;
        ok(user_json(&user, count))
    })
}

async fn user_certificates(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let user = state
            .provider
            .admin_user(&school, path_str(&req, "username"))
            .await
            .or_fail()?;
        let found = state
            .provider
            .directory
            .bindings_of(school.id, user.id)
            .await
            .or_fail()?;
        let items: Vec<Value> = found
            .iter()
            .map(|b| binding_json(b, &user.username))
            .collect();
        ok(json!({ "items": items }))
    })
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CodeInput {
    #[serde(default = "default_hours")]
    hours: u64,
}

fn default_hours() -> u64 {
    72
}

async fn issue_code(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let input: CodeInput = if bytes.is_empty() {
            CodeInput { hours: 72 }
        } else {
            body(&req, &bytes)?
        };
        let username = path_str(&req, "username");
        let (id, code, expires_at) = state
            .provider
            .admin_issue_code(&who, &school, username, input.hours)
            .await
            .or_fail()?;
        created(
            json!({"id": id, "username": username, "code": code, "created_at": gpki_idp_core::now(), "expires_at": expires_at, "used": false}),
        )
    })
}

async fn list_certificates(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let p = page(&query(&req))?;
        let dir = &state.provider.directory;
        let found = dir
            .list_bindings(school.id, p.after, p.limit)
            .await
            .or_fail()?;
        let mut items = Vec::new();
        for b in &found {
            let user = dir.user_by_id(school.id, b.user_id).await.or_fail()?;
            items.push(binding_json(
                b,
                &user.map(|u| u.username).unwrap_or_default(),
            ));
        }
        let next = p.next(found.len(), found.last().map(|b| b.id));
        list(items, next)
    })
}

async fn delete_certificate(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let id = path_id(&req)?;
        state
            .provider
            .admin_remove_binding(&who, &school, id)
            .await
            .or_fail()?;
        no_content()
    })
}

async fn list_codes(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let p = page(&query(&req))?;
        let found = state
            .provider
            .directory
            .list_enrollment_codes(school.id, p.after, p.limit)
            .await
            .or_fail()?;
        let next = p.next(found.len(), found.last().map(|c| c.id));
        list(found.iter().map(|c| json!(c)).collect(), next)
    })
}

async fn delete_code(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let id = path_id(&req)?;
        state
            .provider
            .admin_revoke_code(&who, &school, id)
            .await
            .or_fail()?;
        no_content()
    })
}

async fn list_clients(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let p = page(&query(&req))?;
        let found = state
            .provider
            .directory
            .list_clients(school.id, p.after, p.limit)
            .await
            .or_fail()?;
        let next = p.next(found.len(), found.last().map(|c| c.id));
        list(found.iter().map(client_json).collect(), next)
    })
}

async fn create_client(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let input: ClientInput = body(&req, &bytes)?;
        let (client, secret) = state
            .provider
            .admin_create_client(&who, &school, input)
            .await
            .or_fail()?;
        let mut v = client_json(&client);
        if let Some(secret) = secret {
            v["client_secret"] = json!(secret);
        }
        tagged(StatusCode::CREATED, v)
    })
}

async fn get_client(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let client = state
            .provider
            .admin_client(&school, path_str(&req, "client_id"))
            .await
            .or_fail()?;
        tagged(StatusCode::OK, client_json(&client))
    })
}

async fn put_client(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let input: ClientInput = body(&req, &bytes)?;
        let client = state
            .provider
            .admin_replace_client(
                &who,
                &school,
                path_str(&req, "client_id"),
                input,
                if_match(&req).as_deref(),
            )
            .await
            .or_fail()?;
        tagged(StatusCode::OK, client_json(&client))
    })
}

async fn delete_client(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        state
            .provider
            .admin_delete_client(&who, &school, path_str(&req, "client_id"))
            .await
            .or_fail()?;
        no_content()
    })
}

async fn rotate_secret(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let client_id = path_str(&req, "client_id");
        let secret = state
            .provider
            .admin_rotate_secret(&who, &school, client_id)
            .await
            .or_fail()?;
        ok(json!({"client_id": client_id, "client_secret": secret}))
    })
}

async fn list_sessions(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let q = query(&req);
        let limit = page(&q)?.limit;
        let after = q.get("cursor").cloned().unwrap_or_default();
        if after.len() > 64 || !after.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(fail(OAuthError::invalid_request(
                "cursor is not one this API gave",
            )));
        }
        let user_id = match q.get("username") {
            Some(name) => Some(state.provider.admin_user(&school, name).await.or_fail()?.id),
            None => None,
        };
        let found = state
            .provider
            .directory
            .list_sessions(school.id, user_id, after, limit, gpki_idp_core::now())
            .await
            .or_fail()?;
        let next = (found.len() as i64 >= limit)
            .then(|| found.last().map(|s| s.id.clone()))
            .flatten();
        list(found.iter().map(session_json).collect(), next)
    })
}

async fn delete_session(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let id = path_str(&req, "id");
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(fail(OAuthError::invalid_request(
                "id: 64 hexadecimal digits",
            )));
        }
        state
            .provider
            .admin_revoke_session(&who, &school, id)
            .await
            .or_fail()?;
        no_content()
    })
}

fn audit_filter(q: &HashMap<String, String>) -> Result<AuditFilter, HttpResponse> {
    let number = |name: &str| -> Result<Option<i64>, HttpResponse> {
        q.get(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    fail(OAuthError::invalid_request(format!(
                        "{name} must be unix seconds"
                    )))
                })
            })
            .transpose()
    };
    let (since, until) = (number("since")?, number("until")?);
    if let (Some(s), Some(u)) = (since, until) {
        if u <= s {
            return Err(fail(OAuthError::invalid_request(
                "until must be after since",
            )));
        }
    }
    Ok(AuditFilter {
        since,
        until,
        actor: q.get("actor").cloned(),
        user: q.get("user").cloned(),
        event: q.get("event").cloned(),
    })
}

async fn audit(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let q = query(&req);
        let p = page(&q)?;
        let filter = audit_filter(&q)?;
        let found = state
            .provider
            .directory
            .query_audit(school.id, filter, p.after, p.limit)
            .await
            .or_fail()?;
        let next = p.next(found.len(), found.last().map(|e| e.0));
        let items = found
            .into_iter()
            .map(|(id, e)| {
                let mut v = json!(e);
                v["id"] = json!(id);
                if let Some(map) = v.as_object_mut() {
                    map.remove("school_id");
                }
                v
            })
            .collect();
        list(items, next)
    })
}

async fn list_keys(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let keys = state
            .provider
            .directory
            .signing_keys(school.id)
            .await
            .or_fail()?;
        let items: Vec<Value> = keys
            .iter()
            .map(|k| json!({"kid": k.kid, "alg": k.alg, "created_at": k.created_at, "retired_at": k.retired_at}))
            .collect();
        ok(json!({ "items": items }))
    })
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateInput {
    alg: String,
}

async fn rotate_key(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let input: RotateInput = body(&req, &bytes)?;
        let kid = state
            .provider
            .admin_rotate_key(&who, &school, &input.alg)
            .await
            .or_fail()?;
        created(json!({"kid": kid, "alg": input.alg}))
    })
}
