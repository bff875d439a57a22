//! Server-rendered pages: zh-TW first, English second. Everything interpolated is escaped.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use gpki_idp_core::model::School;
use gpki_idp_core::policy::Method;
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
pub const PASSWORD_NOT_ALLOWED: Message = Message {
    zh: "學校的資安設定不允許您的身份以密碼登入，請使用自然人憑證登入。",
    en: "Your school's security settings do not allow your role to log in with a password. Use your citizen certificate.",
};
pub const STEP_UP_CARD: Message = Message {
    zh: "此系統要求以自然人憑證登入，請插入卡片並輸入 PIN 碼。",
    en: "This service asks for a citizen-certificate login. Insert your card and enter its PIN.",
};
pub const NEED_CARD_TOO: Message = Message {
    zh: "學校的資安設定要求您同時使用密碼與自然人憑證，請再以自然人憑證完成登入。",
    en: "Your school's security settings require both the password and the citizen certificate. Finish with your card.",
};
pub const NEED_PASSWORD: Message = Message {
    zh: "學校的資安設定要求您同時使用密碼與自然人憑證，請再輸入密碼。",
    en: "Your school's security settings require both the password and the citizen certificate. Enter your password too.",
};
pub const LEVEL_UNREACHABLE: Message = Message {
    zh: "學校的資安設定不允許您的身份以此系統要求的方式登入，請洽學校管理者。",
    en: "Your school's security settings do not let your role log in the way this service requires. Ask the school administrator.",
};
pub const THROTTLED: Message = Message {
    zh: "登入失敗次數過多，請稍候幾秒再試；若一直無法登入，請洽學校管理者。",
    en: "Too many failed attempts. Wait a few seconds and try again; if it goes on, ask the school administrator.",
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

/// The header bar: the school's logo and name (or the service's), and the language switch.
fn site_header(school: Option<&School>, switch: &str, locale: Option<&str>) -> String {
    let Some(school) = school else {
        let name = both("校務系統登入", "School login", locale);
        return format!("<header class=\"site\"><div class=\"bar\"><span class=\"school\">{name}</span>{switch}</div></header>");
    };
    // The name beside it says what the logo would: the image is decorative (alt="").
    let logo = school
        .branding
        .logo_type
        .as_ref()
        .map(|_| {
            format!(
                "<img src=\"/schools/{}/logo?v={}\" alt=\"\">",
                esc(&school.code),
                school.branding.updated_at
            )
        })
        .unwrap_or_default();
    format!(
        "<header class=\"site\"><div class=\"bar\">{logo}<span class=\"school\">{}</span>{switch}</div></header>",
        esc(&school.name)
    )
}

/// The school's colour for the stylesheet, when it has one (checked as `#rrggbb` when set;
/// checked again here, since it ends up inside a style element).
fn brand_style(school: Option<&School>) -> String {
    school
        .and_then(|s| s.branding.colour.as_deref())
        .filter(|c| gpki_idp_core::admin::branding::check_colour(c).is_ok())
        .map(|c| format!("<style>:root{{--brand:{c}}}</style>"))
        .unwrap_or_default()
}

/// The link to the same page in the other language.
fn lang_switch(href: &str, locale: Option<&str>) -> String {
    let sep = if href.contains('?') { '&' } else { '?' };
    if english_first(locale) {
        format!("<p class=\"lang\"><a href=\"{}{sep}lang=zh-TW\" lang=\"zh-Hant-TW\" hreflang=\"zh-Hant-TW\" id=\"lang-switch\">中文</a></p>", esc(href))
    } else {
        format!("<p class=\"lang\"><a href=\"{}{sep}lang=en\" lang=\"en\" hreflang=\"en\" id=\"lang-switch\">English</a></p>", esc(href))
    }
}

pub(super) fn english_first(locale: Option<&str>) -> bool {
    locale.is_some_and(|l| {
        l.split(' ')
            .next()
            .is_some_and(|first| first.starts_with("en"))
    })
}

pub(super) fn both(zh: &str, en: &str, locale: Option<&str>) -> String {
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
    page(status, title, body, locale, &Scripts::default())
}

/// Scripts of a page and what they need: the data attributes of `<body>` and the component
/// origin the CSP must allow.
#[derive(Default)]
pub struct Scripts<'a> {
    pub body_attrs: String,
    pub component_origin: Option<&'a str>,
    /// Origin a form on the page may end up at (the client's redirect URI after login):
    /// browsers apply `form-action` to the redirects that follow a form post.
    pub form_target: Option<String>,
    /// This page's address without `lang`, for the language switch.
    pub lang_href: Option<String>,
    /// The school whose name, colour and logo the header shows.
    pub school: Option<&'a School>,
}

pub(super) fn page(
    status: StatusCode,
    title: &str,
    body: &str,
    locale: Option<&str>,
    scripts: &Scripts<'_>,
) -> HttpResponse {
    let lang = if english_first(locale) {
        "en"
    } else {
        "zh-Hant-TW"
    };
    let script_tags = if scripts.body_attrs.is_empty() {
        String::new()
    } else {
        "<script src=\"/static/hipki.js\"></script><script src=\"/static/pages.js\"></script>"
            .to_string()
    };
    let switch = scripts
        .lang_href
        .as_deref()
        .map(|href| lang_switch(href, locale))
        .unwrap_or_default();
    let header = site_header(scripts.school, &switch, locale);
    let skip = if english_first(locale) {
        "Skip to the content"
    } else {
        "跳到主要內容"
    };
    let doc = format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\
         <link rel=\"stylesheet\" href=\"/static/pages.css\">{brand}</head>\
         <body {}><a class=\"skip\" href=\"#main\">{skip}</a>{header}\
         <main id=\"main\" tabindex=\"-1\">{body}</main>{script_tags}</body></html>",
        esc(title),
        scripts.body_attrs,
        brand = brand_style(scripts.school),
    );
    let component = scripts
        .component_origin
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    let target = scripts
        .form_target
        .as_deref()
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'{component}; \
         img-src 'self'{component}; frame-ancestors 'none'; form-action 'self'{target}; base-uri 'none'"
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Content-Security-Policy", csp))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(doc)
}

fn data_attrs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("data-{k}=\"{}\"", esc(v)))
        .collect::<Vec<_>>()
        .join(" ")
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

/// The scheme, host and port of a URL, for a CSP source.
fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The login page, account first (seed chapter 1): without scripts a plain password form;
/// with them, the account is asked first and the methods its role allows are offered, the
/// certificate one greyed out (反灰) with a link to register when no card is registered.
pub fn login(p: &LoginPage<'_>) -> HttpResponse {
    let locale = p.locale;
    let error_html = p
        .error
        .map(|m| {
            format!(
                "<p class=\"error\" role=\"alert\">{}</p>",
                both(m.zh, m.en, locale)
            )
        })
        .unwrap_or_default();
    let notice_html = p
        .notice
        .map(|m| {
            format!(
                "<p class=\"notice\" id=\"notice\" role=\"status\">{}</p>",
                both(m.zh, m.en, locale)
            )
        })
        .unwrap_or_else(|| "<p class=\"notice\" id=\"notice\" role=\"status\"></p>".into());
    let error_html = error_html + &notice_html;
    let code = esc(&p.school.code);
    let body = format!(
        "<h1>{title}</h1>{error_html}\
         <form id=\"password-form\" method=\"post\" action=\"/schools/{code}/login\">\
         <input type=\"hidden\" name=\"req\" value=\"{req}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"username\">{user_label}</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus value=\"{hint}\">\
         <button type=\"button\" id=\"next\" hidden>{next}</button>\
         <button type=\"button\" id=\"card-only\" hidden>{card_only}</button>\
         <div id=\"password-section\"><label for=\"password\">{pw_label}</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\">\
         <button type=\"submit\" id=\"password-login\">{submit}</button></div></form>\
         <fieldset id=\"card-section\" hidden><legend>{card_legend}</legend>\
         <p id=\"card-unavailable\" class=\"disabled\" hidden>{not_registered} <a href=\"/schools/{code}/account\">{register_link}</a></p>\
         <div id=\"card-available\" hidden><label for=\"pin\">{pin_label}</label>\
         <input id=\"pin\" type=\"password\" inputmode=\"numeric\" autocomplete=\"off\">\
         <button type=\"button\" id=\"card-login\">{card_button}</button></div>\
         <p id=\"card-status\" role=\"status\" aria-live=\"polite\"></p></fieldset>\
         <p><a href=\"/schools/{code}/diagnostics\">{diag}</a></p>",
        title = both("登入", "Log in", locale),
        req = esc(p.request_id),
        csrf = esc(p.csrf),
        hint = esc(p.login_hint.unwrap_or_default()),
        user_label = both("帳號", "Account", locale),
        pw_label = both("密碼", "Password", locale),
        next = if english_first(locale) { "Next 下一步" } else { "下一步 Next" },
        submit = if english_first(locale) { "Log in 登入" } else { "登入 Log in" },
        card_only = if english_first(locale) { "Card only, no account needed 直接以自然人憑證登入" } else { "直接以自然人憑證登入（免輸入帳號） Card only" },
        card_legend = both("自然人憑證登入", "Citizen certificate login", locale),
        not_registered = both("此帳號尚未註冊自然人憑證，無法使用憑證登入。", "This account has no registered citizen certificate.", locale),
        register_link = both("如何註冊自然人憑證", "How to register a certificate", locale),
        pin_label = both("憑證 PIN 碼（只送到您電腦上的元件）", "Card PIN (goes only to the component on your computer)", locale),
        card_button = if english_first(locale) { "Log in with the card 以自然人憑證登入" } else { "以自然人憑證登入 Log in with the card" },
        diag = both("讀卡機或卡片有問題？環境檢測", "Card reader or card trouble? Check your setup", locale),
    );
    let attrs = data_attrs(&[
        ("page", "login"),
        ("school", &p.school.code),
        ("component", p.component_origin),
        ("req", p.request_id),
        ("csrf", p.csrf),
        ("step", p.step.unwrap_or_default()),
    ]);
    let scripts = Scripts {
        body_attrs: attrs,
        component_origin: Some(p.component_origin),
        form_target: origin_of(p.redirect_uri),
        lang_href: Some(format!(
            "/schools/{}/login?req={}",
            p.school.code,
            url::form_urlencoded::byte_serialize(p.request_id.as_bytes()).collect::<String>()
        )),
        school: Some(p.school),
    };
    page(StatusCode::OK, "登入 Log in", &body, locale, &scripts)
}

/// 個人資料修改 → 自然人憑證管理 (seed chapter 2): the account's certificates, registering one,
/// removing one.
pub fn account(
    school: &School,
    display_name: &str,
    csrf: &str,
    bindings: &[gpki_idp_core::model::CertBinding],
    component_origin: &str,
    locale: Option<&str>,
) -> HttpResponse {
    let en = english_first(locale);
    let rows: String = bindings
        .iter()
        .map(|b| {
            let (serial, until, remove) = if en {
                ("serial 序號", "valid until 有效至", "Remove 移除")
            } else {
                ("序號 serial", "有效至 valid until", "移除 Remove")
            };
            format!(
                "<li>{} · {serial} {} · {until} {} <button type=\"button\" class=\"remove\" data-id=\"{}\">{remove}</button></li>",
                esc(&b.subject_cn), esc(&b.serial_hex), esc(&b.not_after), b.id
            )
        })
        .collect();
    let list = if rows.is_empty() {
        format!(
            "<p id=\"no-cards\">{}</p>",
            both(
                "尚未註冊自然人憑證。",
                "No certificate registered yet.",
                locale
            )
        )
    } else {
        format!("<ul id=\"cards\">{rows}</ul>")
    };
    let body = format!(
        "<h1>{title}</h1><p>{name}</p>{list}\
         <fieldset><legend>{register}</legend><ol><li>{step1}</li><li>{step2}</li></ol>\
         <label for=\"enrollment-code\">{code_label}</label><input id=\"enrollment-code\" autocomplete=\"off\">\
         <label for=\"pin\">{pin_label}</label><input id=\"pin\" type=\"password\" inputmode=\"numeric\" autocomplete=\"off\">\
         <button type=\"button\" id=\"register\">{register_button}</button>\
         <p id=\"card-status\" role=\"status\" aria-live=\"polite\"></p></fieldset>\
         <p><a href=\"/schools/{code}/diagnostics\">{diag}</a></p>",
        title = both("個人資料修改 → 自然人憑證管理", "Personal settings → Citizen certificate", locale),
        name = esc(display_name),
        register = both("註冊自然人憑證", "Register a citizen certificate", locale),
        step1 = both("請確認讀卡機驅動程式已安裝，並可正常執行。", "Make sure the card reader driver is installed and working.", locale),
        step2 = both("請將自然人憑證插入讀卡機，並將讀卡機接上電腦。", "Insert the citizen certificate card into the reader and plug the reader in.", locale),
        pin_label = both("憑證 PIN 碼", "Card PIN", locale),
        code_label = both("註冊碼（學校要求時才需填寫）", "Enrollment code (only if your school asks for one)", locale),
        register_button = if en { "Register 註冊自然人憑證" } else { "註冊自然人憑證 Register" },
        code = esc(&school.code),
        diag = both("環境檢測", "Check your setup", locale),
    );
    let attrs = data_attrs(&[
        ("page", "account"),
        ("school", &school.code),
        ("component", component_origin),
        ("csrf", csrf),
    ]);
    page(
        StatusCode::OK,
        "自然人憑證管理 Citizen certificate",
        &body,
        locale,
        &Scripts {
            body_attrs: attrs,
            component_origin: Some(component_origin),
            form_target: None,
            lang_href: Some(format!("/schools/{}/account", school.code)),
            school: Some(school),
        },
    )
}

/// 環境檢測: replaces the seed's applet test page.
pub fn diagnostics(
    school: &School,
    csrf: &str,
    component_origin: &str,
    locale: Option<&str>,
) -> HttpResponse {
    let en = english_first(locale);
    let body = format!(
        "<h1>{title}</h1><p>{intro}</p><button type=\"button\" id=\"diagnose\">{start}</button>\
         <ol id=\"steps\"></ol><p id=\"result\" role=\"status\" aria-live=\"polite\"></p>",
        title = both("環境檢測", "Check your setup", locale),
        intro = both(
            "依序檢查跨平台網頁元件、讀卡機、卡片與憑證；不需要 Java，也不需要輸入 PIN。",
            "Checks the web component, the card reader, the card and its certificate, in order. No Java and no PIN needed.",
            locale
        ),
        start = if en { "Start 開始檢測" } else { "開始檢測 Start" },
    );
    let attrs = data_attrs(&[
        ("page", "diagnostics"),
        ("school", &school.code),
        ("component", component_origin),
        ("csrf", csrf),
    ]);
    page(
        StatusCode::OK,
        "環境檢測 Check your setup",
        &body,
        locale,
        &Scripts {
            body_attrs: attrs,
            component_origin: Some(component_origin),
            form_target: None,
            lang_href: Some(format!("/schools/{}/diagnostics", school.code)),
            school: Some(school),
        },
    )
}

/// What the security settings page says after a save.
#[derive(Clone, Copy, Debug)]
pub enum Notice {
    Saved,
    /// Someone saved other settings since this page was shown.
    ChangedMeanwhile,
    /// A role was left without any login method.
    Invalid,
}

/// A role and the methods its members may log in with.
pub struct RoleRow {
    pub role: String,
    pub methods: Vec<Method>,
}

fn role_label(role: &str) -> (&str, &str) {
    match role {
        "teacher" => ("教師", "Teacher"),
        "staff" => ("職員", "Staff"),
        "student" => ("學生", "Student"),
        "parent" => ("家長", "Parent"),
        "admin" => ("學校管理者（GM）", "School administrator (GM)"),
        other => (other, other),
    }
}

fn method_label(method: Method) -> (&'static str, &'static str) {
    match method {
        Method::Password => ("帳號密碼", "Password"),
        Method::Certificate => ("自然人憑證", "Citizen certificate"),
        Method::PasswordAndCertificate => {
            ("帳號密碼＋自然人憑證", "Password and citizen certificate")
        }
    }
}

fn notice_html(notice: Notice, locale: Option<&str>) -> String {
    let (class, zh, en) = match notice {
        Notice::Saved => ("ok", "設定已儲存，使用者下次登入時生效。", "Saved. It applies from each user's next login."),
        Notice::ChangedMeanwhile => ("error", "設定已被其他管理者修改，以下為最新設定，請確認後再儲存一次。", "Another administrator changed the settings meanwhile. These are the current ones: check them and save again."),
        Notice::Invalid => ("error", "每個身份至少要勾選一種登入機制，設定未儲存。", "Tick at least one login method for every role. Nothing was saved."),
    };
    format!(
        "<p id=\"notice\" class=\"{class}\" role=\"status\">{}</p>",
        both(zh, en, locale)
    )
}

/// 資訊安全 → 資安選項設定: 啟用登入機制 per 身份, then 儲存設定.
pub fn security(
    school: &School,
    rows: &[RoleRow],
    etag: &str,
    csrf: &str,
    notice: Option<Notice>,
    locale: Option<&str>,
) -> HttpResponse {
    let en = english_first(locale);
    let header: String = Method::ALL
        .iter()
        .map(|m| {
            let (zh, en_label) = method_label(*m);
            format!("<th scope=\"col\">{}</th>", both(zh, en_label, locale))
        })
        .collect();
    let body_rows: String = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let (zh, en_label) = role_label(&row.role);
            let cells: String = Method::ALL
                .iter()
                .map(|m| {
                    let checked = if row.methods.contains(m) { " checked" } else { "" };
                    let (mzh, men) = method_label(*m);
                    let label = format!("{} {}", esc(zh), if en { men } else { mzh });
                    format!(
                        "<td><input type=\"checkbox\" name=\"role{i}.{name}\" aria-label=\"{label}\"{checked}></td>",
                        name = m.name()
                    )
                })
                .collect();
            format!(
                "<tr><th scope=\"row\"><input type=\"hidden\" name=\"role{i}\" value=\"{role}\">{label}</th>{cells}</tr>",
                role = esc(&row.role),
                label = both(zh, en_label, locale),
            )
        })
        .collect();
    let body = format!(
        "<h1>{title}</h1><p>{school_name}</p>{notice}<p>{intro}</p>\
         <form method=\"post\" action=\"/schools/{code}/admin/security\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"etag\" value=\"{etag}\">\
         <fieldset><legend>{legend}</legend><table><thead><tr><th scope=\"col\">{role_head}</th>{header}</tr></thead>\
         <tbody>{body_rows}</tbody></table></fieldset>\
         <button type=\"submit\" id=\"save\">{save}</button></form>\
         <p><a href=\"/schools/{code}/admin/branding\">{branding}</a></p>",
        title = both("資訊安全 → 資安選項設定", "Security → Security settings", locale),
        branding = both("學校識別設定（主色、校徽）", "School branding (colour, logo)", locale),
        school_name = esc(&school.name),
        notice = notice.map(|n| notice_html(n, locale)).unwrap_or_default(),
        intro = both(
            "依需求分別設定不同身份登入者可使用的登入機制；勾選多項時，使用者可任選一種。",
            "Choose the login methods each role may use; with several ticked, users may pick any of them.",
            locale
        ),
        code = esc(&school.code),
        csrf = esc(csrf),
        etag = esc(etag),
        legend = both("啟用登入機制", "Login methods", locale),
        role_head = both("身份", "Role", locale),
        save = if en { "Save settings 儲存設定" } else { "儲存設定 Save settings" },
    );
    page(
        StatusCode::OK,
        "資安選項設定 Security settings",
        &body,
        locale,
        &Scripts {
            lang_href: Some(format!("/schools/{}/admin/security", school.code)),
            school: Some(school),
            ..Scripts::default()
        },
    )
}

/// An error shown to the browser, never redirected (bad client or redirect URI, expired form).
pub fn error_page(e: &OAuthError, locale: Option<&str>) -> HttpResponse {
    error_page_titled(e, ("無法完成登入", "The login cannot continue"), locale)
}

/// An error page under its own heading (zh-TW, English).
pub fn error_page_titled(
    e: &OAuthError,
    (zh, en): (&str, &str),
    locale: Option<&str>,
) -> HttpResponse {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = format!(
        "<h1>{}</h1><p class=\"error\" role=\"alert\">{}</p><p>錯誤代碼 Error code: <code>{}</code></p>",
        both(zh, en, locale),
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
