//! `/schools/{school}/clients`: OIDC clients, their settings (with `ETag`/`If-Match`) and
//! their secrets (shown once).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::clients::{client_json, ClientInput};
use gpki_idp_core::admin::listing::ListQuery;
use serde_json::json;

use super::reply::{answer, list, no_content, ok, tagged, OrFail};
use super::request::{body, caller, if_match, path, query, read_body, MAX_BODY_BYTES};
use crate::app::AppState;

type S = web::Data<AppState>;

pub async fn list_clients(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let q: ListQuery = query(&req)?;
        list(
            state
                .provider
                .admin_list_clients(&school, &q)
                .await
                .or_fail()?,
        )
    })
}

/// 201 with the client and, for a confidential client without keys, its secret.
pub async fn create_client(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let input: ClientInput = body(&req, &bytes)?;
        let (client, secret) = state
            .provider
            .admin_create_client(&who, &school, input)
            .await
            .or_fail()?;
        let mut v = client_json(&client);
        if let Some(secret) = secret {
            v["client_secret"] = json!(secret);
        }
        tagged(StatusCode::CREATED, v)
    })
}

pub async fn get_client(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let client = state
            .provider
            .admin_client(&school, path(&req, "client_id"))
            .await
            .or_fail()?;
        tagged(StatusCode::OK, client_json(&client))
    })
}

pub async fn put_client(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let input: ClientInput = body(&req, &bytes)?;
        let client = state
            .provider
            .admin_replace_client(
                &who,
                &school,
                path(&req, "client_id"),
                input,
                if_match(&req).as_deref(),
            )
            .await
            .or_fail()?;
        tagged(StatusCode::OK, client_json(&client))
    })
}

pub async fn delete_client(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        state
            .provider
            .admin_delete_client(&who, &school, path(&req, "client_id"))
            .await
            .or_fail()?;
        no_content()
    })
}

pub async fn rotate_secret(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let client_id = path(&req, "client_id");
        let secret = state
            .provider
            .admin_rotate_secret(&who, &school, client_id)
            .await
            .or_fail()?;
        ok(json!({"client_id": client_id, "client_secret": secret}))
    })
}
