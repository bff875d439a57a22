//! 登入中的裝置 as a page for the school's GM (beside 資安選項設定 and 學校識別設定): the
//! school's live sessions (account, time in Taiwan time, address, browser, method, portals),
//! optionally of one account, and plain forms to end one session or every session of an
//! account. It goes through the same domain calls as the admin API's `…/sessions` routes:
//! each end audited with the GM as actor, and the portals told (Back-Channel Logout).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use gpki_idp_core::admin::sessions::SessionQuery;
use gpki_idp_core::admin::GmPage;
use gpki_idp_core::code::{Code, Message};
use gpki_idp_core::error::Error;
use gpki_idp_core::model::School;
use serde::Deserialize;

use super::account_sessions::session_view;
use super::pages::{self, Frame, Layout, SessionView};
use super::school::school_or_return;
use crate::app::AppState;

/// The most sessions the page lists (the admin API pages through more).
const MAX_LISTED: &str = "500";

/// `?username=`: only this account's sessions.
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    username: String,
}

/// The forms' fields: the CSRF value, and the account whose sessions the page showed.
#[derive(Debug, Default, Deserialize)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
    /// The account to end every session of (the end-all form); the filter to show again.
    #[serde(default)]
    username: String,
}

/// `GET /schools/{school}/admin/sessions[?username=]`.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    filter: web::Query<Filter>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    if let Err(page) = super::security::gm(&state, &school, &req, GmPage::Sessions).await {
        return page;
    }
    render(&state, &req, &school, filter.username.trim(), None).await
}

/// `POST /schools/{school}/admin/sessions/{id}/end` (csrf, username): ends one session.
pub async fn end_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<EndForm>,
) -> HttpResponse {
    end(&state, &req, &form, Some(&path.1)).await
}

/// `POST /schools/{school}/admin/sessions/end-all` (csrf, username): ends every session of
/// the account.
pub async fn end_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<EndForm>,
) -> HttpResponse {
    end(&state, &req, &form, None).await
}

async fn end(
    state: &AppState,
    req: &HttpRequest,
    form: &EndForm,
    id: Option<&str>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let who = match super::security::gm(state, &school, req, GmPage::Sessions).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    if !super::csrf::matches(state, req, &form.csrf) {
        let locale = pages::locale(req, None);
        return pages::error_page(&Error::csrf_failed(), locale.as_deref());
    }
    let username = form.username.trim();
    let provider = &state.provider;
    let outcome = match id {
        Some(id) => provider
            .admin_revoke_session(&who, &school, id)
            .await
            .map(|()| 1),
        None => {
            provider
                .admin_end_user_sessions(&who, &school, username)
                .await
        }
    };
    render(state, req, &school, username, Some(outcome)).await
}

/// The page with the live sessions as stored now.
async fn render(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    username: &str,
    outcome: Option<Result<usize, Error>>,
) -> HttpResponse {
    let query = SessionQuery {
        limit: Some(MAX_LISTED.into()),
        cursor: None,
        username: (!username.is_empty()).then(|| username.to_string()),
    };
    let (found, unknown) = match state.provider.admin_sessions(school, &query).await {
        Ok((found, _)) => (found, false),
        // No such account, or not even a well-formed name: said so on the page.
        Err(e) if matches!(e.code, Code::NotFound | Code::InvalidRequest) => (vec![], true),
        Err(e) => {
            let locale = pages::locale(req, None);
            return pages::error_page(&e, locale.as_deref());
        }
    };
    let mut rows: Vec<Row> = found
        .iter()
        .map(|s| Row {
            username: s.username.clone(),
            auth_time: s.auth_time,
            view: session_view(s, ""),
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.auth_time));
    let locale = pages::locale(req, None);
    let (csrf, cookie) = super::csrf::token(state, req);
    let notice = outcome.map(|o| match o {
        Ok(n) => Notice::Ended(n),
        Err(e) => Notice::Failed(e.code.message()),
    });
    let view = View {
        school,
        csrf: &csrf,
        username,
        unknown,
        rows: &rows,
        notice,
    };
    let mut response = page(&view, locale.as_deref());
    super::csrf::set(&mut response, cookie);
    pages::remember_locale(req, &mut response);
    response
}

/// A listed session and its account.
struct Row {
    username: String,
    auth_time: i64,
    view: SessionView,
}

/// What a form did.
enum Notice {
    /// How many sessions ended.
    Ended(usize),
    /// Nothing ended: the reason (zh-TW, English).
    Failed(Message),
}

struct View<'a> {
    school: &'a School,
    csrf: &'a str,
    username: &'a str,
    /// The filter names no account of the school.
    unknown: bool,
    rows: &'a [Row],
    notice: Option<Notice>,
}

#[derive(Template)]
#[template(path = "gm_sessions.html")]
struct SessionsHtml<'a> {
    layout: Layout<'a>,
    code: &'a str,
    csrf: &'a str,
    username: &'a str,
    unknown: bool,
    rows: &'a [Row],
    notice: &'a Option<Notice>,
}

fn page(view: &View<'_>, locale: Option<&str>) -> HttpResponse {
    let school = view.school;
    let frame = Frame {
        lang_href: Some(format!("/schools/{}/admin/sessions", school.code)),
        school: Some(school),
        ..Frame::default()
    };
    let page = SessionsHtml {
        layout: frame.layout("登入中的裝置 Signed-in devices", locale),
        code: &school.code,
        csrf: view.csrf,
        username: view.username,
        unknown: view.unknown,
        rows: view.rows,
        notice: &view.notice,
    };
    pages::respond(StatusCode::OK, &frame, &page)
}
