//! The pages of a password's life: the change a login must make before it completes.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use gpki_idp_core::code::{Code, Message};
use gpki_idp_core::model::School;

use super::{respond, Frame, Layout};

/// What the change step of a login shows.
pub struct ChangePage<'a> {
    pub school: &'a School,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub min_length: u32,
    pub notice: Message,
    pub error: Option<Message>,
    pub locale: Option<&'a str>,
    /// The client's redirect URI's origin, where the form's answer redirects to.
    pub form_target: Option<String>,
}

#[derive(Template)]
#[template(path = "change_password.html")]
struct ChangeHtml<'a> {
    layout: Layout<'a>,
    code: &'a str,
    request_id: &'a str,
    csrf: &'a str,
    username: &'a str,
    min_length: u32,
    notice: Message,
    error: Option<Message>,
}

/// 變更密碼: the new password twice, then the login goes on; `status` is the refusal's.
pub fn change(p: ChangePage<'_>, status: StatusCode) -> HttpResponse {
    let query: String = url::form_urlencoded::byte_serialize(p.request_id.as_bytes()).collect();
    let frame = Frame {
        form_target: p.form_target,
        lang_href: Some(format!(
            "/schools/{}/login/password?req={query}",
            p.school.code
        )),
        school: Some(p.school),
        ..Frame::default()
    };
    let page = ChangeHtml {
        layout: frame.layout("變更密碼 Change your password", p.locale),
        code: &p.school.code,
        request_id: p.request_id,
        csrf: p.csrf,
        username: p.username,
        min_length: p.min_length,
        notice: p.notice,
        error: p.error,
    };
    respond(status, &frame, &page)
}

/// What the account page's password form did, from the `password=` of its address: `changed`,
/// or the stable code of the refusal; (success, what to say).
pub fn outcome(said: &str) -> (bool, Message) {
    const REFUSALS: [Code; 9] = [
        Code::PasswordTooShort,
        Code::PasswordTooWeak,
        Code::PasswordReused,
        Code::PasswordTooNew,
        Code::PasswordMismatch,
        Code::PasswordCurrentWrong,
        Code::Throttled,
        Code::InvalidRequest,
        Code::CsrfFailed,
    ];
    if said == "changed" {
        let done = Message {
            zh: "密碼已變更，下次登入請使用新密碼。",
            en: "Your password was changed. Use the new one from your next login.",
        };
        return (true, done);
    }
    let code = REFUSALS
        .into_iter()
        .find(|c| c.as_str() == said)
        .unwrap_or(Code::ServerError);
    (false, code.message())
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetHtml<'a> {
    layout: Layout<'a>,
    code: &'a str,
    csrf: &'a str,
    username: &'a str,
    error: Option<Message>,
    done: bool,
}

/// 忘記密碼: the reset code and a new password; `done` once it was reset, `error` when refused.
pub fn reset(
    school: &School,
    csrf: &str,
    username: &str,
    error: Option<&gpki_idp_core::error::Error>,
    done: bool,
    locale: Option<&str>,
) -> HttpResponse {
    let frame = Frame {
        lang_href: Some(format!("/schools/{}/password-reset", school.code)),
        school: Some(school),
        ..Frame::default()
    };
    let page = ResetHtml {
        layout: frame.layout("忘記密碼 Forgot your password", locale),
        code: &school.code,
        csrf,
        username,
        error: error.map(|e| e.code.message()),
        done,
    };
    let status = error.map_or(StatusCode::OK, |e| crate::http::errors::status(e.code));
    respond(status, &frame, &page)
}
