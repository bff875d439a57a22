//! `/schools/{school}/policy`, `…/registration`, `…/password-policy` and `…/roles`: the
//! school's settings.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::settings::{policy_json, PolicyInput, RegistrationInput};
use gpki_idp_core::model::SchoolPasswordPolicy;
use serde_json::json;

use super::reply::{answer, created, items, no_content, ok, tagged, OrFail};
use super::request::{body, caller, if_match, path, read_body, MAX_BODY_BYTES};
use crate::app::AppState;

type S = web::Data<AppState>;

pub async fn get_policy(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let roles = state.provider.admin_policy(&school).await.or_fail()?;
        tagged(StatusCode::OK, policy_json(&roles))
    })
}

pub async fn put_policy(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let input: PolicyInput = body(&req, &bytes)?;
        let roles = state
            .provider
            .admin_replace_policy(&who, &school, input, if_match(&req).as_deref())
            .await
            .or_fail()?;
        tagged(StatusCode::OK, policy_json(&roles))
    })
}

pub async fn get_registration(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        let rules = state.provider.admin_registration(&school).await.or_fail()?;
        ok(json!(rules))
    })
}

pub async fn put_registration(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let input: RegistrationInput = body(&req, &bytes)?;
        let rules = state
            .provider
            .admin_replace_registration(&who, &school, input)
            .await
            .or_fail()?;
        ok(json!(rules))
    })
}

pub async fn get_password_policy(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        ok(state
            .provider
            .admin_password_policy(&school)
            .await
            .or_fail()?)
    })
}

pub async fn put_password_policy(
    state: S,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let input: SchoolPasswordPolicy = body(&req, &bytes)?;
        let policy = state
            .provider
            .admin_set_password_policy(&who, &school, input)
            .await
            .or_fail()?;
        ok(policy)
    })
}

pub async fn list_roles(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        items(state.provider.admin_roles(&school).await.or_fail()?)
    })
}

/// 201 when the role is new, 200 when it existed.
pub async fn put_role(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let (added, role) = state
            .provider
            .admin_put_role(&who, &school, path(&req, "role"))
            .await
            .or_fail()?;
        if added {
            created(role)
        } else {
            ok(role)
        }
    })
}

pub async fn delete_role(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        state
            .provider
            .admin_remove_role(&who, &school, path(&req, "role"))
            .await
            .or_fail()?;
        no_content()
    })
}
