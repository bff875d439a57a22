//! Server-rendered pages: zh-TW first, English second. Everything interpolated is escaped.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use gpki_idp_core::model::School;
use gpki_idp_core::OAuthError;

/// A message in both languages.
pub struct Message {
    pub zh: &'static str,
    pub en: &'static str,
}

pub const WRONG_PASSWORD: Message = Message {
    zh: "帳號或密碼錯誤。",
    en: "Wrong account or password.",
};
pub const THROTTLED: Message = Message {
    zh: "嘗試次數過多，請 15 分鐘後再試，或洽學校管理者。",
    en: "Too many attempts. Try again in 15 minutes or ask the school administrator.",
};

/// HTML-escapes text for element content and attribute values.
pub fn esc(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn english_first(locale: Option<&str>) -> bool {
    locale.is_some_and(|l| {
        l.split(' ')
            .next()
            .is_some_and(|first| first.starts_with("en"))
    })
}

fn both(zh: &str, en: &str, locale: Option<&str>) -> String {
    let (first, second, second_lang) = if english_first(locale) {
        (en, zh, "zh-Hant-TW")
    } else {
        (zh, en, "en")
    };
    format!(
        "{}<br><span lang=\"{second_lang}\" class=\"second\">{}</span>",
        esc(first),
        esc(second)
    )
}

fn html(status: StatusCode, title: &str, body: &str, locale: Option<&str>) -> HttpResponse {
    let lang = if english_first(locale) {
        "en"
    } else {
        "zh-Hant-TW"
    };
    let doc = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\
         <style>body{{font-family:sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem}}\
         label{{display:block;margin-top:1rem}}input{{font-size:1.1rem;width:100%}}\
         button{{margin-top:1.5rem;font-size:1.1rem;padding:.4rem 1.5rem}}.second{{color:#555;font-size:.9em}}\
         .error{{color:#a00;border:1px solid #a00;padding:.5rem}}</style></head><body>{body}</body></html>",
        esc(title)
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(doc)
}

/// The password login form.
pub fn login(
    school: &School,
    request_id: &str,
    csrf: &str,
    login_hint: Option<&str>,
    error: Option<&Message>,
    locale: Option<&str>,
) -> HttpResponse {
    let error_html = error
        .map(|m| {
            format!(
                "<p class=\"error\" role=\"alert\">{}</p>",
                both(m.zh, m.en, locale)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>{school}<br><span class=\"second\">登入 Log in</span></h1>{error_html}\
         <form method=\"post\" action=\"/schools/{code}/login\">\
         <input type=\"hidden\" name=\"req\" value=\"{req}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"username\">{user_label}</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus value=\"{hint}\">\
         <label for=\"password\">{pw_label}</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">{submit}</button></form>",
        school = esc(&school.name),
        code = esc(&school.code),
        req = esc(request_id),
        csrf = esc(csrf),
        hint = esc(login_hint.unwrap_or_default()),
        user_label = both("帳號", "Account", locale),
        pw_label = both("密碼", "Password", locale),
        submit = if english_first(locale) { "Log in 登入" } else { "登入 Log in" },
    );
    html(StatusCode::OK, "登入 Log in", &body, locale)
}

/// An error shown to the browser, never redirected (bad client or redirect URI, expired form).
pub fn error_page(e: &OAuthError, locale: Option<&str>) -> HttpResponse {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = format!(
        "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p><p>錯誤代碼 Error code: <code>{}</code></p>",
        both("無法完成登入", "The login cannot continue", locale),
        esc(&e.description),
        esc(e.code)
    );
    html(status, "錯誤 Error", &body, locale)
}

pub fn logged_out(locale: Option<&str>) -> HttpResponse {
    let body = format!(
        "<h1>{}</h1>",
        both("您已登出。", "You are logged out.", locale)
    );
    html(StatusCode::OK, "登出 Logged out", &body, locale)
}
