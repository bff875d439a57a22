//! 資訊安全 → 資安選項設定 (`templates/security.html`): the login methods of each role as
//! ticks, and the school's password policy, for the school's GM.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;
use gpki_idp_core::model::{School, SchoolPasswordPolicy};
use gpki_idp_core::password_policy::PasswordPolicy;
use gpki_idp_core::policy::Method;

use super::frame::{respond, Frame, Layout};

/// What the security settings page says after a save.
#[derive(Clone, Copy, Debug)]
pub enum Notice {
    Saved,
    /// Someone saved other settings since this page was shown.
    ChangedMeanwhile,
    /// A role was left without any login method.
    Invalid,
    /// The password policy was saved.
    PasswordsSaved,
    /// A password rule was out of its range.
    PasswordsInvalid,
    /// No account of that name for a reset code.
    NoSuchAccount,
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

/// A notice's class and text.
struct NoticeText {
    class: &'static str,
    zh: &'static str,
    en: &'static str,
}

impl Notice {
    fn text(self) -> NoticeText {
        let (class, zh, en) = match self {
            Notice::Saved => ("ok", "設定已儲存，使用者下次登入時生效。", "Saved. It applies from each user's next login."),
            Notice::ChangedMeanwhile => ("error", "設定已被其他管理者修改，以下為最新設定，請確認後再儲存一次。", "Another administrator changed the settings meanwhile. These are the current ones: check them and save again."),
            Notice::Invalid => ("error", "每個身份至少要勾選一種登入機制，設定未儲存。", "Tick at least one login method for every role. Nothing was saved."),
            Notice::NoSuchAccount => ("error", "找不到這個帳號，未發給重設碼。", "There is no such account. No reset code was issued."),
            Notice::PasswordsSaved => ("ok", "密碼原則已儲存，下次變更密碼或登入時生效。", "The password policy was saved. It applies from the next password change or login."),
            Notice::PasswordsInvalid => ("error", "密碼原則的數值超出範圍（最短長度 6–64、強度 0–4、歷史 0–24、最短效期 0–365 天、最長效期 0 或大於最短效期），設定未儲存。", "A password rule is out of range (length 6–64, strength 0–4, history 0–24, minimum age 0–365 days, maximum age 0 or more than the minimum). Nothing was saved."),
        };
        NoticeText { class, zh, en }
    }
}

/// A method's column heading.
struct Column {
    zh: &'static str,
    en: &'static str,
}

/// One role's line: its name and a box per method.
struct Line<'a> {
    role: &'a str,
    zh: &'a str,
    en: &'a str,
    cells: Vec<Cell>,
}

/// A method's box in a role's line.
struct Cell {
    name: &'static str,
    /// The method's name in the page's language (the box's label follows the role's name).
    label: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityHtml<'a> {
    layout: Layout<'a>,
    code: &'a str,
    school_name: &'a str,
    csrf: &'a str,
    etag: &'a str,
    notice: Option<NoticeText>,
    columns: Vec<Column>,
    rows: Vec<Line<'a>>,
    passwords: Vec<Rule>,
    issued: Option<Issued<'a>>,
}

/// A password reset code just issued on the page: shown once.
struct Issued<'a> {
    username: &'a str,
    code: &'a str,
    hours: u64,
}

/// The password part of the page: the school's rules, the district's, and a reset code just
/// issued.
pub struct Passwords<'a> {
    pub own: &'a SchoolPasswordPolicy,
    pub district: &'a PasswordPolicy,
    pub issued: Option<IssuedView<'a>>,
}

/// A reset code the GM just issued for `username`.
pub struct IssuedView<'a> {
    pub username: &'a str,
    pub code: &'a str,
    pub expires_in: u64,
}

/// One rule of the password policy as the page shows it: the school's value (empty: the
/// district's) and the district's.
struct Rule {
    name: &'static str,
    zh: &'static str,
    en: &'static str,
    own: String,
    district: u32,
}

fn rules(own: &SchoolPasswordPolicy, district: &PasswordPolicy) -> Vec<Rule> {
    let value = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
    let rule = |name, zh, en, own: Option<u32>, district: u32| Rule {
        name,
        zh,
        en,
        own: value(own),
        district,
    };
    vec![
        rule(
            "min_length",
            "密碼最短長度（字元）",
            "Fewest characters",
            own.min_length,
            district.min_length,
        ),
        rule(
            "min_score",
            "密碼強度下限（0–4）",
            "Lowest strength score (0–4)",
            own.min_score.map(u32::from),
            u32::from(district.min_score),
        ),
        rule(
            "history",
            "不可與前幾次密碼相同",
            "Recent passwords that may not be used again",
            own.history,
            district.history,
        ),
        rule(
            "min_age_days",
            "密碼最短效期（天）",
            "Minimum age (days)",
            own.min_age_days,
            district.min_age_days,
        ),
        rule(
            "max_age_days",
            "密碼最長效期（天，0 為不限）",
            "Maximum age (days, 0: none)",
            own.max_age_days,
            district.max_age_days,
        ),
    ]
}

fn line(row: &RoleRow, en: bool) -> Line<'_> {
    let (zh, en_label) = role_label(&row.role);
    let cells = Method::ALL
        .iter()
        .map(|m| {
            let (mzh, men) = method_label(*m);
            Cell {
                name: m.name(),
                label: if en { men } else { mzh },
                checked: row.methods.contains(m),
            }
        })
        .collect();
    Line {
        role: &row.role,
        zh,
        en: en_label,
        cells,
    }
}

/// 資訊安全 → 資安選項設定: 啟用登入機制 per 身份, then 儲存設定.
pub fn security(
    school: &School,
    rows: &[RoleRow],
    etag: &str,
    csrf: &str,
    notice: Option<Notice>,
    locale: Option<&str>,
    passwords: &Passwords<'_>,
) -> HttpResponse {
    let frame = Frame {
        lang_href: Some(format!("/schools/{}/admin/security", school.code)),
        school: Some(school),
        ..Frame::default()
    };
    let layout = frame.layout("資安選項設定 Security settings", locale);
    let en = layout.en;
    let page = SecurityHtml {
        layout,
        code: &school.code,
        school_name: &school.name,
        csrf,
        etag,
        notice: notice.map(Notice::text),
        columns: Method::ALL
            .iter()
            .map(|m| {
                let (zh, en) = method_label(*m);
                Column { zh, en }
            })
            .collect(),
        rows: rows.iter().map(|r| line(r, en)).collect(),
        passwords: rules(passwords.own, passwords.district),
        issued: passwords.issued.as_ref().map(|i| Issued {
            username: i.username,
            code: i.code,
            hours: i.expires_in / 3600,
        }),
    };
    respond(StatusCode::OK, &frame, &page)
}
