//! 學校識別設定: the school's colour and logo as a page for its GM (beside 資安選項設定). It
//! saves through the same domain calls as the admin API's `…/branding` routes: checked (a
//! colour white text can be read on, a PNG or JPEG logo of at most 100 KiB) and audited with
//! the GM as actor.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt;
use gpki_idp_core::admin::branding::MAX_LOGO_BYTES;
use gpki_idp_core::admin::{GmPage, Principal};
use gpki_idp_core::error::Error;
use gpki_idp_core::model::School;

use super::pages::{self, Frame, Layout};
use super::school::school_or_return;
use crate::app::AppState;

/// The most a form may carry: the logo and a few short fields.
const MAX_FORM_BYTES: usize = MAX_LOGO_BYTES + 16 * 1024;

/// `GET /schools/{school}/admin/branding`.
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    if let Err(page) = super::security::gm(&state, &school, &req, GmPage::Branding).await {
        return page;
    }
    render(&state, &req, &school, None)
}

/// What the form sent.
#[derive(Default)]
struct Form {
    csrf: String,
    colour: String,
    default_colour: bool,
    remove_logo: bool,
    logo: Vec<u8>,
}

/// Reads the multipart form, refusing one over [`MAX_FORM_BYTES`].
async fn read_form(mut payload: Multipart) -> Result<Form, Error> {
    let mut form = Form::default();
    let mut total = 0usize;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|_| Error::invalid_request("a malformed form"))?;
        let name = field.name().unwrap_or_default().to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| Error::invalid_request("a malformed form"))?;
            total += chunk.len();
            if total > MAX_FORM_BYTES {
                return Err(Error::payload_too_large(
                    "校徽超過 100 KB。The logo is over 100 KiB.",
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8_lossy(&bytes).trim().to_string();
        match name.as_str() {
            "csrf" => form.csrf = text(),
            "colour" => form.colour = text(),
            "default_colour" => form.default_colour = true,
            "remove_logo" => form.remove_logo = true,
            "logo" => form.logo = bytes,
            _ => {}
        }
    }
    Ok(form)
}

/// `POST /schools/{school}/admin/branding` (multipart: csrf, colour, default_colour, logo,
/// remove_logo).
pub async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: Multipart,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let who = match super::security::gm(&state, &school, &req, GmPage::Branding).await {
        Ok(who) => who,
        Err(page) => return page,
    };
    let locale = pages::locale(&req, None);
    let form = match read_form(payload).await {
        Ok(f) => f,
        Err(e) => return render(&state, &req, &school, Some(Err(e))),
    };
    if !super::csrf::matches(&state, &req, &form.csrf) {
        return pages::error_page(&Error::csrf_failed(), locale.as_deref());
    }
    let outcome = apply(&state, &who, &school, form).await;
    // Read again: the header shows the new colour and logo at once.
    let school = state.provider.school(&school.code).await.unwrap_or(school);
    render(&state, &req, &school, Some(outcome))
}

/// Saves the colour, then the logo; the first refusal stops (nothing after it is saved).
async fn apply(
    state: &AppState,
    who: &Principal,
    school: &School,
    form: Form,
) -> Result<(), Error> {
    let provider = &state.provider;
    let colour = (!form.default_colour).then_some(form.colour.as_str());
    if colour != school.branding.colour.as_deref() {
        provider.admin_set_colour(who, school, colour).await?;
    }
    if form.remove_logo {
        provider.admin_set_logo(who, school, None).await?;
    } else if !form.logo.is_empty() {
        provider
            .admin_set_logo(who, school, Some(form.logo))
            .await?;
    }
    Ok(())
}

fn render(
    state: &AppState,
    req: &HttpRequest,
    school: &School,
    outcome: Option<Result<(), Error>>,
) -> HttpResponse {
    let locale = pages::locale(req, None);
    let (csrf, cookie) = super::csrf::token(state, req);
    let mut response = page(school, &csrf, outcome.as_ref(), locale.as_deref());
    super::csrf::set(&mut response, cookie);
    pages::remember_locale(req, &mut response);
    response
}

#[derive(Template)]
#[template(path = "branding.html")]
struct BrandingHtml<'a> {
    layout: Layout<'a>,
    school: &'a School,
    csrf: &'a str,
    outcome: Option<&'a Result<(), Error>>,
    /// The colour input's value: the school's, else the stylesheet's default.
    colour: &'a str,
}

/// The page: the current colour and logo, and the form to change them.
fn page(
    school: &School,
    csrf: &str,
    outcome: Option<&Result<(), Error>>,
    locale: Option<&str>,
) -> HttpResponse {
    let frame = Frame {
        lang_href: Some(format!("/schools/{}/admin/branding", school.code)),
        school: Some(school),
        ..Frame::default()
    };
    let page = BrandingHtml {
        layout: frame.layout("學校識別設定 School branding", locale),
        school,
        csrf,
        outcome,
        colour: school.branding.colour.as_deref().unwrap_or("#1f4e8c"),
    };
    pages::respond(StatusCode::OK, &frame, &page)
}
