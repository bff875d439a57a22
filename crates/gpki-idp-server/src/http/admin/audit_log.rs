//! `/schools/{school}/audit`: the school's audit log, filtered and paged.

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::audit_log::AuditQuery;

use super::reply::{answer, list, OrFail};
use super::request::{caller, query};
use crate::app::AppState;

pub async fn audit(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let q: AuditQuery = query(&req)?;
        list(state.provider.admin_audit(&school, &q).await.or_fail()?)
    })
}
