//! `/schools/{school}/sessions`: live browser sessions, and ending one.

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::sessions::SessionQuery;

use super::reply::{answer, list, no_content, OrFail};
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
