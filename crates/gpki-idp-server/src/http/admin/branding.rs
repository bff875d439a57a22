//! `/admin/v1/schools/{school}/branding`: the school's colour and logo (GM or district), and
//! the public `/schools/{school}/logo` the pages show.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::branding::{branding_json, ColourInput};

use super::reply::{answer, fail, ok, OrFail};
use super::request::{body, caller, read_body, MAX_BODY_BYTES, MAX_LOGO_UPLOAD_BYTES};
use crate::app::AppState;

type S = web::Data<AppState>;

/// `GET …/branding`.
pub async fn get(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (_, school) = caller(&state, &req).await?;
        ok(state.provider.admin_branding(&school).await.or_fail()?)
    })
}

/// `PUT …/branding` `{"colour": "#1f4e8c" | null}`.
pub async fn put_colour(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_BODY_BYTES).await?;
        let input: ColourInput = body(&req, &bytes)?;
        let b = state
            .provider
            .admin_set_colour(&who, &school, input.colour.as_deref())
            .await
            .map_err(fail)?;
        ok(branding_json(&school, &b))
    })
}

/// `PUT …/branding/logo` with the image as the body (`image/png` or `image/jpeg`).
pub async fn put_logo(state: S, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let bytes = read_body(payload, MAX_LOGO_UPLOAD_BYTES).await?;
        let b = state
            .provider
            .admin_set_logo(&who, &school, Some(bytes.to_vec()))
            .await
            .map_err(fail)?;
        ok(branding_json(&school, &b))
    })
}

/// `DELETE …/branding/logo`.
pub async fn delete_logo(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let (who, school) = caller(&state, &req).await?;
        let b = state
            .provider
            .admin_set_logo(&who, &school, None)
            .await
            .map_err(fail)?;
        ok(branding_json(&school, &b))
    })
}

/// `GET /schools/{school}/logo`: the logo the pages show (cached by browsers: its URL
/// changes with every change).
pub async fn logo(state: S, req: HttpRequest) -> HttpResponse {
    answer!({
        let code = req.match_info().get("school").unwrap_or_default();
        let school = state.provider.school(code).await.map_err(fail)?;
        let (kind, bytes) = state.provider.school_logo(&school).await.map_err(fail)?;
        Ok(HttpResponse::Ok()
            .content_type(kind)
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .insert_header(("Content-Security-Policy", "default-src 'none'"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .body(bytes))
    })
}
