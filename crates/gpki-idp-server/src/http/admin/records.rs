//! `GET /me` and the schools: `/schools` (district operators) and `/schools/{school}`.

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::listing::ListQuery;
use gpki_idp_core::admin::records::{school_json, SchoolInput, SchoolPatch};

use super::reply::{answer, created, list, ok, OrFail};
use super::request::{anyone, body, caller, caller_only, query, read_body, MAX_BODY_BYTES};
use crate::app::AppState;

type S = web::Data<AppState>;

pub async fn me(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let who = anyone(&state, &req).await?;
        ok(who.me().or_fail()?)
    })
}

pub async fn list_schools(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        caller_only(&state, &req).await?;
        let q: ListQuery = query(&req)?;
        list(state.provider.admin_list_schools(&q).await.or_fail()?)
    })
}

pub async fn create_school(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let who = caller_only(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let input: SchoolInput = body(&req, &bytes)?;
        let school = state
            .provider
            .admin_create_school(&who, &input)
            .await
            .or_fail()?;
        created(school_json(&school))
    })
}

pub async fn get_school(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        ok(school_json(&school))
    })
}

pub async fn update_school(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let patch: SchoolPatch = body(&req, &bytes)?;
        let updated = state
            .provider
            .admin_update_school(&who, &school, patch)
            .await
            .or_fail()?;
        ok(school_json(&updated))
    })
}
