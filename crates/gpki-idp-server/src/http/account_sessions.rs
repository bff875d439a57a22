//! The teacher's own sessions on the account page (登入中的裝置): listed as JSON, and ended
//! one at a time or all at once by a plain form (CSRF as the page's other forms), answered
//! with the account page again. The rules are the domain's
//! (`gpki_idp_core::login::sessions`).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::login::sessions::Which;
use gpki_idp_core::model::SessionRecord;
use serde_json::json;

use super::csrf::browser;
use super::errors::json_error;
use super::forms;
use super::pages;
use super::request::{origin, session_cookie};
use super::school::school_or_return;
use crate::app::AppState;

/// A session as the account page and its JSON show it.
pub fn session_view(s: &SessionRecord, current: &str) -> pages::SessionView {
    let method = if s.amr.iter().any(|m| m == "sc" || m == "hwk") {
        if s.amr.iter().any(|m| m == "pwd") {
            ("密碼＋自然人憑證", "password + citizen certificate")
        } else {
            ("自然人憑證", "citizen certificate")
        }
    } else {
        ("密碼", "password")
    };
    pages::SessionView {
        id: s.id.clone(),
        since: taiwan_time(s.auth_time),
        ip: s.ip.clone().unwrap_or_default(),
        user_agent: s.user_agent.clone().unwrap_or_default(),
        method_zh: method.0,
        method_en: method.1,
        portals: s.clients.join(", "),
        current: s.id == current,
    }
}

/// Unix seconds as Taiwan's local time (UTC+8, no daylight saving).
fn taiwan_time(at: i64) -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp(at)
        .map(|t| t.to_offset(offset))
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// `GET /schools/{school}/account/sessions`: the account's live sessions.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    match state
        .provider
        .own_sessions(&school, session_cookie(&req).as_deref())
        .await
    {
        Ok((_, sessions, current)) => {
            let items: Vec<_> = sessions
                .iter()
                .map(|s| {
                    json!({
                        "id": s.id, "auth_time": s.auth_time, "expires_at": s.expires_at,
                        "ip": s.ip, "user_agent": s.user_agent, "amr": s.amr, "acr": s.acr,
                        "clients": s.clients, "current": s.id == current,
                    })
                })
                .collect();
            HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(json!({ "sessions": items }))
        }
        Err(e) => json_error(&e),
    }
}

/// `POST /schools/{school}/account/sessions/{id}/end` (csrf): ends one session.
pub async fn end_one(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<forms::CsrfOnly>,
) -> HttpResponse {
    end(&state, &req, &form.csrf, Which::One(&path.1)).await
}

/// `POST /schools/{school}/account/sessions/end-all` (csrf): ends every session of the
/// account, this browser's too.
pub async fn end_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::CsrfOnly>,
) -> HttpResponse {
    end(&state, &req, &form.csrf, Which::All).await
}

async fn end(state: &AppState, req: &HttpRequest, csrf: &str, which: Which<'_>) -> HttpResponse {
    let school = school_or_return!(state, req);
    if let Err(refused) = browser(state, req, csrf) {
        return refused;
    }
    let ended = state
        .provider
        .end_own_sessions(&school, session_cookie(req).as_deref(), &origin(req), which)
        .await;
    match ended {
        // Back to the account page (which asks for a login when this browser's session was
        // among those ended).
        Ok(_) => HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/schools/{}/account", school.code),
            ))
            .finish(),
        Err(e) => json_error(&e),
    }
}
