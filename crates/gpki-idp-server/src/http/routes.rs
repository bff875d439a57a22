//! Every route of the service, and the list of a school's routes that tests check against
//! the OpenAPI documents and the discovery document.

use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::web;

use super::{
    account_sessions, admin, assets, branding_page, card, errors, health, login, oidc,
    password_change, security, sessions_page,
};

/// What a route of a school's issuer is, for the route-list test: `oidc` (described by the
/// discovery document), `page` (HTML for browsers) or `json` (openapi/login-api.yaml).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Oidc,
    Page,
    Json,
}

/// One route under `/schools/{school}`.
#[derive(Clone, Copy, Debug)]
pub struct SchoolRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub kind: Kind,
}

macro_rules! school_routes {
    ($( $method:ident $path:literal $kind:ident => $handler:path; )*) => {
        /// Every route of a school's issuer, under `/schools/{school}`.
        pub const SCHOOL_ROUTES: &[SchoolRoute] = &[$(
            SchoolRoute { method: stringify!($method), path: $path, kind: Kind::$kind }
        ),*];

        fn school_scope() -> actix_web::Scope<impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        >> {
            web::scope("/schools/{school}")
                .wrap_fn(within_deadline)
                $( .route($path, web::$method().to($handler)) )*
                .default_service(web::to(errors::not_found))
        }
    };
}

school_routes! {
    get "/.well-known/openid-configuration" Oidc => oidc::discovery;
    get "/jwks" Oidc => oidc::jwks;
    get "/authorize" Oidc => oidc::authorize;
    post "/authorize" Oidc => oidc::authorize_post;
    post "/login" Page => login::submit;
    get "/login" Page => login::show;
    get "/login/password" Page => password_change::show;
    post "/login/password" Page => password_change::submit;
    get "/password-reset" Page => password_change::reset_page;
    post "/password-reset" Page => password_change::reset;
    post "/login/card/challenge" Json => card::login_challenge;
    post "/login/card" Json => card::login;
    post "/login/methods" Json => card::methods;
    get "/account" Page => card::account_page;
    get "/diagnostics" Page => card::diagnostics_page;
    get "/logo" Page => admin::logo;
    get "/admin/security" Page => security::show;
    post "/admin/security" Page => security::save;
    post "/admin/security/passwords" Page => security::save_passwords;
    post "/admin/security/reset-code" Page => security::issue_reset_code;
    get "/admin/branding" Page => branding_page::show;
    post "/admin/branding" Page => branding_page::save;
    get "/admin/sessions" Page => sessions_page::show;
    post "/admin/sessions/end-all" Page => sessions_page::end_all;
    post "/admin/sessions/{id}/end" Page => sessions_page::end_one;
    post "/diagnostics/check" Json => card::diagnostics_check;
    post "/account/card/challenge" Json => card::register_challenge;
    post "/account/card" Json => card::register;
    post "/account/password" Page => password_change::own_change;
    get "/account/cards" Json => card::list;
    post "/account/cards/{id}/remove" Json => card::remove;
    get "/account/sessions" Json => account_sessions::list;
    post "/account/sessions/end-all" Page => account_sessions::end_all;
    post "/account/sessions/{id}/end" Page => account_sessions::end_one;
    post "/token" Oidc => oidc::token;
    get "/userinfo" Oidc => oidc::userinfo;
    post "/userinfo" Oidc => oidc::userinfo;
    post "/revoke" Oidc => oidc::revoke;
    post "/introspect" Oidc => oidc::introspect;
    get "/logout" Oidc => oidc::logout;
    post "/logout" Oidc => oidc::logout_post;
}

/// Runs a request of a school's issuer within the service's request deadline: every
/// storage wait in it is cut to what is left (see `gpki_idp_core::deadline`).
fn within_deadline<S>(
    req: ServiceRequest,
    service: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse, Error = actix_web::Error>,
{
    let limit = req
        .app_data::<web::Data<crate::app::AppState>>()
        .map_or(std::time::Duration::from_secs(3), |s| s.request_deadline);
    gpki_idp_core::deadline::within(limit, service.call(req))
}

/// All routes of the service.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(64 * 1024)
            .error_handler(errors::form_error),
    )
    .app_data(web::QueryConfig::default().error_handler(errors::query_error))
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/metrics", web::get().to(health::metrics))
    .route("/static/hipki.js", web::get().to(assets::hipki_js))
    .route("/static/pages.js", web::get().to(assets::pages_js))
    .route("/static/pages.css", web::get().to(assets::pages_css))
    .service(school_scope())
    .configure(admin::configure)
    .default_service(web::to(errors::not_found));
}
