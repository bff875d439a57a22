//! `/admin/v1/schools/{school}/branding`: the school's colour and logo (GM or district), and
//! the public `/schools/{school}/logo` the pages show.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::admin::branding::branding_json;
use serde::Deserialize;

use super::admin::{body, caller, fail, ok, Answer, OrFail};
use super::school::school_or_return;
use crate::app::AppState;

type S = web::Data<AppState>;

fn finish(answer: Answer) -> HttpResponse {
    answer.unwrap_or_else(|e| e)
}

/// `GET …/branding`.
pub async fn get(state: S, req: HttpRequest) -> HttpResponse {
    finish(
        async {
            let (_, school) = caller(&state, &req).await?;
            let b = state
                .provider
                .directory
                .branding(school.id)
                .await
                .or_fail()?;
            ok(branding_json(&school, &b))
        }
        .await,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColourInput {
    /// `#rrggbb`, or null to go back to the default.
    colour: Option<String>,
}

/// `PUT …/branding` `{"colour": "#1f4e8c" | null}`.
pub async fn put_colour(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    finish(
        async {
            let (who, school) = caller(&state, &req).await?;
            let input: ColourInput = body(&req, &bytes)?;
            let provider = &state.provider;
            let b = provider
                .admin_set_colour(&who, &school, input.colour.as_deref())
                .await
                .map_err(fail)?;
            ok(branding_json(&school, &b))
        }
        .await,
    )
}

/// `PUT …/branding/logo` with the image as the body (`image/png` or `image/jpeg`).
pub async fn put_logo(state: S, req: HttpRequest, bytes: web::Bytes) -> HttpResponse {
    finish(
        async {
            let (who, school) = caller(&state, &req).await?;
            let provider = &state.provider;
            let b = provider
                .admin_set_logo(&who, &school, Some(bytes.to_vec()))
                .await
                .map_err(fail)?;
            ok(branding_json(&school, &b))
        }
        .await,
    )
}

/// `DELETE …/branding/logo`.
pub async fn delete_logo(state: S, req: HttpRequest) -> HttpResponse {
    finish(
        async {
            let (who, school) = caller(&state, &req).await?;
            let b = state
                .provider
                .admin_set_logo(&who, &school, None)
                .await
                .map_err(fail)?;
            ok(branding_json(&school, &b))
        }
        .await,
    )
}

/// `GET /schools/{school}/logo`: the logo the pages show (cached by browsers: its URL
/// changes with every change).
pub async fn logo(state: S, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    match state.provider.directory.logo(school.id).await {
        Ok(Some((kind, bytes))) => HttpResponse::Ok()
            .content_type(kind)
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .insert_header(("Content-Security-Policy", "default-src 'none'"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .body(bytes),
        Ok(None) => super::errors::json_error(&gpki_idp_core::OAuthError::not_found(
            "this school has no logo",
        )),
        Err(e) => super::errors::json_error(&e.into()),
    }
}
