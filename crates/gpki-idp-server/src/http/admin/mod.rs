//! The admin REST API under `/admin/v1` (openapi/admin-api.yaml), one module per resource
//! as in `gpki_idp_core::admin`. Each handler reads the caller (token, then the school it may
//! see, then the route's scopes from [`ROUTES`], the one table the router, the tests and the
//! document agree on), parses the request into the endpoint's typed input, calls one core
//! function and shapes the answer. The rules live in `gpki_idp_core::admin`.

mod audit_log;
mod branding;
mod certificates;
mod clients;
mod keys;
mod onboarding;
mod records;
mod reply;
mod request;
mod routes;
mod sessions;
mod settings;
mod users;

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::{SCOPE_ADMIN, SCOPE_AUDIT, SCOPE_DISTRICT, SCOPE_USERS};
use gpki_idp_core::error::Error;

use super::errors::json_error;
use routes::RouteTable;

pub(super) use branding::logo;
pub use routes::{RouteSpec, PREFIX};

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
    get "/me" [A, U, L, D] => records::me;
    get "/schools" [D] => records::list_schools;
    post "/schools" [D] => records::create_school;
    post "/onboarding/schools" [D] => onboarding::onboard_schools;
    get "/schools/{school}" [A, D] => records::get_school;
    patch "/schools/{school}" [D] => records::update_school;
    get "/schools/{school}/policy" [A, D] => settings::get_policy;
    put "/schools/{school}/policy" [A, D] => settings::put_policy;
    get "/schools/{school}/registration" [A, D] => settings::get_registration;
    put "/schools/{school}/registration" [A, D] => settings::put_registration;
    get "/schools/{school}/password-policy" [A, D] => settings::get_password_policy;
    put "/schools/{school}/password-policy" [A, D] => settings::put_password_policy;
    get "/schools/{school}/roles" [A, U, D] => settings::list_roles;
    put "/schools/{school}/roles/{role}" [A, U, D] => settings::put_role;
    delete "/schools/{school}/roles/{role}" [A, U, D] => settings::delete_role;
    get "/schools/{school}/users" [A, U, D] => users::list_users;
    post "/schools/{school}/users" [A, U, D] => users::create_user;
    post "/schools/{school}/users/import" [A, U, D] => users::import_users;
    get "/schools/{school}/users/{username}" [A, U, D] => users::get_user;
    patch "/schools/{school}/users/{username}" [A, U, D] => users::update_user;
    get "/schools/{school}/users/{username}/certificates" [A, U, D] => certificates::user_certificates;
    post "/schools/{school}/users/{username}/enrollment-codes" [A, U, D] => certificates::issue_code;
    post "/schools/{school}/users/{username}/reset-code" [A, U, D] => users::reset_code;
    post "/schools/{school}/users/{username}/sessions/end" [A, D] => sessions::end_user_sessions;
    get "/schools/{school}/certificates" [A, D] => certificates::list_certificates;
    delete "/schools/{school}/certificates/{id}" [A, D] => certificates::delete_certificate;
    get "/schools/{school}/enrollment-codes" [A, D] => certificates::list_codes;
    delete "/schools/{school}/enrollment-codes/{id}" [A, D] => certificates::delete_code;
    get "/schools/{school}/clients" [A, D] => clients::list_clients;
    post "/schools/{school}/clients" [A, D] => clients::create_client;
    get "/schools/{school}/clients/{client_id}" [A, D] => clients::get_client;
    put "/schools/{school}/clients/{client_id}" [A, D] => clients::put_client;
    delete "/schools/{school}/clients/{client_id}" [A, D] => clients::delete_client;
    post "/schools/{school}/clients/{client_id}/secret" [A, D] => clients::rotate_secret;
    get "/schools/{school}/sessions" [A, D] => sessions::list_sessions;
    delete "/schools/{school}/sessions/{id}" [A, D] => sessions::delete_session;
    get "/schools/{school}/audit" [A, L, D] => audit_log::audit;
    get "/schools/{school}/keys" [A, D] => keys::list_keys;
    post "/schools/{school}/keys/rotate" [D] => keys::rotate_key;
    get "/schools/{school}/branding" [A, D] => branding::get;
    put "/schools/{school}/branding" [A, D] => branding::put_colour;
    put "/schools/{school}/branding/logo" [A, D] => branding::put_logo;
    delete "/schools/{school}/branding/logo" [A, D] => branding::delete_logo;
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
        .app_data(RouteTable(ROUTES))
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
    json_error(&Error::method_not_allowed(format!(
        "{} is not allowed here",
        req.method()
    )))
}
