//! `/schools/{school}/keys`: the signing keys, and their rotation (district operators).

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::keys::RotateInput;

use super::reply::{answer, created, items, OrFail};
use super::request::{body, caller, read_body, MAX_BODY_BYTES};
use crate::app::AppState;

type S = web::Data<AppState>;

pub async fn list_keys(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        items(state.provider.admin_keys(&school).await.or_fail()?)
    })
}

pub async fn rotate_key(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let input: RotateInput = body(&req, &bytes)?;
        let key = state
            .provider
            .admin_rotate_key(&who, &school, &input)
            .await
            .or_fail()?;
        created(key)
    })
}
