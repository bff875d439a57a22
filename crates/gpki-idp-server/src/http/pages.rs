//! Server-rendered pages: zh-TW first, English second. The markup is in the crate's
//! `templates/` (askama, checked and compiled in), one template per page on `layout.html`;
//! askama HTML-escapes everything interpolated, and no template marks a value `safe`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use gpki_idp_core::code::Message;
use gpki_idp_core::error::Error;
use gpki_idp_core::model::{CertBinding, School};

mod frame;
pub mod password;
mod policy;

pub use frame::{respond, Frame, Layout};
pub use policy::{security, IssuedView, Notice, Passwords, RoleRow};

/// The cookie that keeps the language a person chose with the switch on a page.
pub const LANG_COOKIE: &str = "gpki_lang";

fn lang_query(req: &HttpRequest) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v.into_owned())
}

fn normalise(lang: &str) -> String {
    if lang.starts_with("en") {
        "en"
    } else {
        "zh-TW"
    }
    .to_string()
}

/// The page language (`en` or `zh-TW`): the switch's `?lang=` first, then the person's earlier
/// choice (cookie), then the client's `ui_locales`; zh-TW when none says.
pub fn locale(req: &HttpRequest, ui_locales: Option<&str>) -> Option<String> {
    lang_query(req)
        .or_else(|| req.cookie(LANG_COOKIE).map(|c| c.value().to_string()))
        .map(|l| normalise(&l))
        .or_else(|| ui_locales.map(str::to_string))
}

/// Keeps a language chosen with `?lang=` for the next pages.
pub fn remember_locale(req: &HttpRequest, response: &mut HttpResponse) {
    if let Some(lang) = lang_query(req) {
        let secure = req
            .app_data::<actix_web::web::Data<crate::app::AppState>>()
            .is_some_and(|s| s.secure_cookies);
        let cookie = Cookie::build(LANG_COOKIE, normalise(&lang))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .max_age(actix_web::cookie::time::Duration::days(365))
            .finish();
        let _ = response.add_cookie(&cookie);
    }
}

/// What the login page needs to know.
pub struct LoginPage<'a> {
    pub school: &'a School,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub login_hint: Option<&'a str>,
    pub error: Option<&'a Message>,
    /// A notice that is not an error (the step-up request).
    pub notice: Option<&'a Message>,
    /// The step a started login still needs: `card` or `password`.
    pub step: Option<&'a str>,
    pub locale: Option<&'a str>,
    pub component_origin: &'a str,
    /// The client's redirect URI, where the login form's answer redirects to.
    pub redirect_uri: &'a str,
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginHtml<'a> {
    layout: Layout<'a>,
    code: &'a str,
    request_id: &'a str,
    csrf: &'a str,
    login_hint: &'a str,
    error: Option<&'a Message>,
    notice: Option<&'a Message>,
}

/// The scheme, host and port of a URL, for a CSP source.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The login page, account first (seed chapter 1): without scripts a plain password form;
/// with them, the account is asked first and the methods its role allows are offered, the
/// certificate one greyed out (反灰) with a link to register when no card is registered.
pub fn login(p: &LoginPage<'_>) -> HttpResponse {
    let frame = Frame {
        data: vec![
            ("page", "login"),
            ("school", &p.school.code),
            ("component", p.component_origin),
            ("req", p.request_id),
            ("csrf", p.csrf),
            ("step", p.step.unwrap_or_default()),
        ],
        component_origin: Some(p.component_origin),
        form_target: origin_of(p.redirect_uri),
        lang_href: Some(format!(
            "/schools/{}/login?req={}",
            p.school.code,
            url::form_urlencoded::byte_serialize(p.request_id.as_bytes()).collect::<String>()
        )),
        school: Some(p.school),
    };
    let page = LoginHtml {
        layout: frame.layout("登入 Log in", p.locale),
        code: &p.school.code,
        request_id: p.request_id,
        csrf: p.csrf,
        login_hint: p.login_hint.unwrap_or_default(),
        error: p.error,
        notice: p.notice,
    };
    respond(StatusCode::OK, &frame, &page)
}

/// The frame of a page of the card component (certificates, diagnostics).
fn card_frame<'a>(
    page: &'static str,
    school: &'a School,
    csrf: &'a str,
    component_origin: &'a str,
) -> Frame<'a> {
    Frame {
        data: vec![
            ("page", page),
            ("school", &school.code),
            ("component", component_origin),
            ("csrf", csrf),
        ],
        component_origin: Some(component_origin),
        form_target: None,
        lang_href: Some(format!("/schools/{}/{page}", school.code)),
        school: Some(school),
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountHtml<'a> {
    layout: Layout<'a>,
    code: &'a str,
    display_name: &'a str,
    bindings: &'a [CertBinding],
    sessions: &'a [SessionView],
    csrf: &'a str,
    /// What the password form did: (success, message).
    password: Option<(bool, Message)>,
}

/// A session as the account page lists it.
pub struct SessionView {
    pub id: String,
    /// When the login was (Taiwan time).
    pub since: String,
    pub ip: String,
    pub user_agent: String,
    pub method_zh: &'static str,
    pub method_en: &'static str,
    /// The portals that got a token in it.
    pub portals: String,
    /// This browser's own session.
    pub current: bool,
}

/// What the account page shows of the account.
pub struct AccountPage<'a> {
    pub display_name: &'a str,
    pub bindings: &'a [CertBinding],
    pub sessions: &'a [SessionView],
}

/// 個人資料修改 → 自然人憑證管理 (seed chapter 2): the account's certificates, registering one,
/// removing one; and 變更密碼, with what the password form did (`password`).
pub fn account(
    school: &School,
    account: &AccountPage<'_>,
    csrf: &str,
    component_origin: &str,
    locale: Option<&str>,
    password: Option<(bool, Message)>,
) -> HttpResponse {
    let frame = card_frame("account", school, csrf, component_origin);
    let page = AccountHtml {
        layout: frame.layout("自然人憑證管理 Citizen certificate", locale),
        code: &school.code,
        display_name: account.display_name,
        bindings: account.bindings,
        sessions: account.sessions,
        csrf,
        password,
    };
    respond(StatusCode::OK, &frame, &page)
}

#[derive(Template)]
#[template(path = "diagnostics.html")]
struct DiagnosticsHtml<'a> {
    layout: Layout<'a>,
}

/// 環境檢測: replaces the seed's applet test page.
pub fn diagnostics(
    school: &School,
    csrf: &str,
    component_origin: &str,
    locale: Option<&str>,
) -> HttpResponse {
    let frame = card_frame("diagnostics", school, csrf, component_origin);
    let page = DiagnosticsHtml {
        layout: frame.layout("環境檢測 Check your setup", locale),
    };
    respond(StatusCode::OK, &frame, &page)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorHtml<'a> {
    layout: Layout<'a>,
    /// (zh-TW, English)
    heading: (&'a str, &'a str),
    message: Message,
    /// The English detail, when it says more than the message.
    detail: Option<&'a str>,
    code: &'a str,
}

/// An error shown to the browser, never redirected (bad client or redirect URI, expired form).
pub fn error_page(e: &Error, locale: Option<&str>) -> HttpResponse {
    error_page_titled(e, ("無法完成登入", "The login cannot continue"), locale)
}

/// An error page under its own heading (zh-TW, English).
pub fn error_page_titled(e: &Error, heading: (&str, &str), locale: Option<&str>) -> HttpResponse {
    let status = super::errors::status(e.code);
    let frame = Frame::default();
    let message = e.code.message();
    let page = ErrorHtml {
        layout: frame.layout("錯誤 Error", locale),
        heading,
        message,
        detail: Some(e.description.as_str()).filter(|d| *d != message.en && !d.is_empty()),
        code: e.code.as_str(),
    };
    respond(status, &frame, &page)
}

#[derive(Template)]
#[template(path = "logged_out.html")]
struct LoggedOutHtml<'a> {
    layout: Layout<'a>,
}

pub fn logged_out(locale: Option<&str>) -> HttpResponse {
    let frame = Frame::default();
    let page = LoggedOutHtml {
        layout: frame.layout("登出 Logged out", locale),
    };
    respond(StatusCode::OK, &frame, &page)
}

#[derive(Template)]
#[template(path = "confirm_logout.html")]
struct ConfirmLogoutHtml<'a> {
    layout: Layout<'a>,
    code: &'a str,
    csrf: &'a str,
}

/// The question a logout without a valid `id_token_hint` asks first.
pub fn confirm_logout(school: &School, csrf: &str, locale: Option<&str>) -> HttpResponse {
    let frame = Frame {
        school: Some(school),
        ..Frame::default()
    };
    let page = ConfirmLogoutHtml {
        layout: frame.layout("登出 Log out", locale),
        code: &school.code,
        csrf,
    };
    respond(StatusCode::OK, &frame, &page)
}

#[cfg(test)]
mod tests;
