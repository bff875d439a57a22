//! `POST /admin/v1/onboarding/schools`: a district's schools from one list (CSV or JSON), with
//! `dry_run` and a report per row; all or nothing (district operators only).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::onboarding::OnboardReport;
use gpki_idp_core::admin::upload::UploadQuery;
use serde_json::json;

use super::reply::{answer, Answer, OrFail};
use super::request::{caller_only, content_type, query, read_body, MAX_UPLOAD_BYTES};
use crate::app::AppState;

/// 200 with the report; 422 (`invalid_rows`, the report included) when a row is bad and
/// nothing was written.
fn report_answer(report: OnboardReport) -> Answer {
    let mut body = json!(report);
    let status = if report.refused() {
        body["error"] = json!("invalid_rows");
        body["error_description"] = json!(format!(
            "{} rows are wrong; nothing was written",
            report.failed
        ));
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body))
}

/// `POST …/onboarding/schools[?dry_run=true]`.
pub async fn onboard_schools(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    answer!({
        let who = caller_only(&state, &req).await?;
        let bytes = read_body(payload, MAX_UPLOAD_BYTES).await?;
        let q: UploadQuery = query(&req)?;
        let report = state
            .provider
            .onboard_upload(&who, &q, content_type(&req), &bytes)
            .await
            .or_fail()?;
        report_answer(report)
    })
}
