//! `/schools/{school}/sessions`: live browser sessions, and ending one;
//! `/schools/{school}/users/{username}/sessions/end`: ending all of an account.

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::sessions::SessionQuery;

use serde_json::json;

use super::reply::{answer, list, no_content, ok, OrFail};
use super::request::{caller, path, query};
use crate::app::AppState;

type S = web::Data<AppState>;

pub async fn list_sessions(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let q: SessionQuery = query(&req)?;
        list(
            state
                .provider
                .admin_list_sessions(&school, &q)
                .await
                .or_fail()?,
        )
    })
}

pub async fn delete_session(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        state
            .provider
            .admin_revoke_session(&who, &school, path(&req, "id"))
            .await
            .or_fail()?;
        no_content()
    })
}

pub async fn end_user_sessions(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let ended = state
            .provider
            .admin_end_user_sessions(&who, &school, path(&req, "username"))
            .await
            .or_fail()?;
        ok(json!({ "ended": ended }))
    })
}
