//! Certificate bindings and enrollment codes: `/schools/{school}/certificates`,
//! `…/enrollment-codes` and an account's `…/users/{username}/certificates` and codes.

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::certificates::CodeInput;
use gpki_idp_core::admin::listing::ListQuery;
use serde_json::json;

use super::reply::{answer, created, items, list, no_content, OrFail};
use super::request::{body, caller, path, query, read_body, MAX_BODY_BYTES};
use crate::app::AppState;

type S = web::Data<AppState>;

pub async fn user_certificates(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let found = state
            .provider
            .admin_user_certificates(&school, path(&req, "username"))
            .await
            .or_fail()?;
        items(found)
    })
}

/// `POST …/users/{username}/enrollment-codes`; an empty body takes the default lifetime.
pub async fn issue_code(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let input: CodeInput = if bytes.is_empty() {
            CodeInput::default()
        } else {
            body(&req, &bytes)?
        };
        let issued = state
            .provider
            .admin_issue_code(&who, &school, path(&req, "username"), &input)
            .await
            .or_fail()?;
        created(json!(issued))
    })
}

pub async fn list_certificates(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let q: ListQuery = query(&req)?;
        list(
            state
                .provider
                .admin_list_bindings(&school, &q)
                .await
                .or_fail()?,
        )
    })
}

pub async fn delete_certificate(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        state
            .provider
            .admin_remove_binding(&who, &school, path(&req, "id"))
            .await
            .or_fail()?;
        no_content()
    })
}

pub async fn list_codes(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let q: ListQuery = query(&req)?;
        list(
            state
                .provider
                .admin_list_codes(&school, &q)
                .await
                .or_fail()?,
        )
    })
}

pub async fn delete_code(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        state
            .provider
            .admin_revoke_code(&who, &school, path(&req, "id"))
            .await
            .or_fail()?;
        no_content()
    })
}
