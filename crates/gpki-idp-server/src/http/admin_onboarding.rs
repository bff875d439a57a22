//! `POST /admin/v1/onboarding/schools`: a district's schools from one list (CSV or JSON), with
//! `dry_run` and a report per row; all or nothing (district operators only).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::onboarding::{self, OnboardReport, Onboarder};
use gpki_idp_core::OAuthError;
use serde_json::json;

use super::admin::{caller_only, fail, Answer, OrFail};
use crate::app::AppState;

/// Largest list: 1,000 schools of a few hundred bytes each.
const MAX_LIST_BYTES: usize = 1024 * 1024;

fn dry_run(req: &HttpRequest) -> Result<bool, HttpResponse> {
    let q = url::form_urlencoded::parse(req.query_string().as_bytes());
    match q.into_iter().find(|(k, _)| k == "dry_run") {
        None => Ok(false),
        Some((_, v)) if v == "false" => Ok(false),
        Some((_, v)) if v == "true" => Ok(true),
        Some(_) => Err(fail(OAuthError::invalid_request("dry_run: true or false"))),
    }
}

type Rows = Vec<Result<onboarding::OnboardRow, onboarding::RowError>>;

/// The rows of a CSV or JSON body.
fn rows(req: &HttpRequest, bytes: &[u8]) -> Result<Rows, HttpResponse> {
    if bytes.len() > MAX_LIST_BYTES {
        return Err(fail(OAuthError::payload_too_large(
            "the list is over 1 MiB",
        )));
    }
    let kind = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if kind.starts_with("text/csv") {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| fail(OAuthError::invalid_request("the CSV is not UTF-8")))?;
        onboarding::parse_csv(text).or_fail()
    } else if kind.starts_with("application/json") {
        onboarding::parse_json(bytes).or_fail()
    } else {
        Err(fail(OAuthError::unsupported_media_type(
            "send text/csv or application/json",
        )))
    }
}

/// 200 with the report; 422 (`invalid_rows`, the report included) when a row is bad and
/// nothing was written.
fn answer(report: OnboardReport) -> Answer {
    let refused = !report.dry_run && !report.written && report.failed > 0;
    let mut body = json!(report);
    let status = if refused {
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
    bytes: web::Bytes,
) -> HttpResponse {
    let result: Answer = async {
        let who = caller_only(&state, &req).await?;
        let dry_run = dry_run(&req)?;
        let rows = rows(&req, &bytes)?;
        let report = state
            .provider
            .onboard_schools(Onboarder::Api(&who), rows, dry_run)
            .await
            .or_fail()?;
        answer(report)
    }
    .await;
    result.unwrap_or_else(|e| e)
}
