//! `/schools/{school}/users`: accounts, one at a time or imported from a CSV or JSON list.

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::upload::UploadQuery;
use gpki_idp_core::admin::users::{user_json, NewUserInput, UserListQuery, UserPatch};
use serde_json::json;

use super::reply::{answer, created, list, ok, OrFail};
use super::request::{
    body, caller, content_type, path, query, read_body, MAX_BODY_BYTES, MAX_UPLOAD_BYTES,
};
use crate::app::AppState;

type S = web::Data<AppState>;

pub async fn list_users(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let q: UserListQuery = query(&req)?;
        list(
            state
                .provider
                .admin_list_users(&school, &q)
                .await
                .or_fail()?,
        )
    })
}

pub async fn create_user(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let input: NewUserInput = body(&req, &bytes)?;
        let user = state
            .provider
            .admin_create_user(&who, &school, input)
            .await
            .or_fail()?;
        created(user_json(&user, 0))
    })
}

/// `POST …/users/import[?dry_run=true]` with a `text/csv` or `application/json` body.
pub async fn import_users(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_UPLOAD_BYTES).await?;
        let q: UploadQuery = query(&req)?;
        let report = state
            .provider
            .admin_import_upload(&who, &school, &q, content_type(&req), &bytes)
            .await
            .or_fail()?;
        ok(json!(report))
    })
}

pub async fn get_user(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let user = state
            .provider
            .admin_user_view(&school, path(&req, "username"))
            .await
            .or_fail()?;
        ok(user)
    })
}

pub async fn update_user(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let patch: UserPatch = body(&req, &bytes)?;
        let user = state
            .provider
            .admin_update_user(&who, &school, path(&req, "username"), patch)
            .await
            .or_fail()?;
        ok(user)
    })
}

/// A one-time password reset code, shown once: 201 with the code and its expiry.
pub async fn reset_code(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let issued = state
            .provider
            .admin_reset_code(&who, &school, path(&req, "username"))
            .await
            .or_fail()?;
        created(json!({
            "code": issued.code,
            "expires_at": issued.expires_at,
            "expires_in": issued.expires_in,
        }))
    })
}
