//! The JSON API the pages' script uses for the card: challenges, certificate login, which
//! methods to offer, and the account's own certificates. Answers carry a stable `error` code
//! and the message in zh-TW and English. The rules are the domain's (`gpki_idp_core::login`).

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::login::{Attempt, Failure, MethodsError, Outcome, Registration};
use gpki_idp_core::model::{CertBinding, School, User};
use gpki_idp_core::oidc::card::{CardError, CardSignature};
use gpki_idp_core::policy::Method;
use serde_json::json;

use super::csrf::browser;
use super::forms;
use super::pages::{self, Message};
use super::request::{client_ip, origin};
use super::school::{logged_in, new_session_cookie, school_or_return};
use crate::app::AppState;

fn card_error(e: &CardError) -> HttpResponse {
    let (zh, en) = e.messages();
    let mut response = match e {
        CardError::Store(_) => HttpResponse::ServiceUnavailable(),
        CardError::Disabled => HttpResponse::NotFound(),
        CardError::NotBound | CardError::Verify(_) => HttpResponse::Unauthorized(),
        CardError::NotAllowed => HttpResponse::Forbidden(),
        _ => HttpResponse::BadRequest(),
    };
    response
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"error": e.code(), "message_zh": zh, "message_en": en}))
}

fn store_error(e: gpki_idp_core::OAuthError) -> HttpResponse {
    card_error(&CardError::Store(e))
}

/// A JSON answer with a stable code and a page message.
fn message(mut response: actix_web::HttpResponseBuilder, code: &str, m: &Message) -> HttpResponse {
    response
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"error": code, "message_zh": m.zh, "message_en": m.en}))
}

const LOGIN_FIRST: Message = Message {
    zh: "請先登入。",
    en: "Please log in first.",
};

macro_rules! or_return {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(response) => return response,
        }
    };
}

/// The logged-in account of this browser, or a JSON refusal.
async fn account(
    state: &AppState,
    school: &School,
    req: &HttpRequest,
) -> Result<User, HttpResponse> {
    logged_in(state, school, req)
        .await
        .ok_or_else(|| message(HttpResponse::Forbidden(), "login_required", &LOGIN_FIRST))
}

fn challenge_json(state: &AppState, challenge: &str) -> HttpResponse {
    let ttl = state.provider.settings.challenge_ttl.as_secs();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"challenge": challenge, "expires_in": ttl}))
}

fn signature(answer: &forms::CardAnswer) -> CardSignature<'_> {
    CardSignature {
        signature: &answer.signature,
        certificate: Some(answer.certb64.as_str()).filter(|c| !c.is_empty()),
    }
}

/// `POST /schools/{school}/login/card/challenge` (req, csrf).
pub async fn login_challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::LoginStep>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let browser = or_return!(browser(&state, &req, &form.csrf));
    let purpose = format!("login:{}", form.req);
    match state
        .provider
        .card_challenge(&school, &browser, &purpose)
        .await
    {
        Ok(challenge) => challenge_json(&state, &challenge),
        Err(e) => card_error(&e),
    }
}

/// `POST /schools/{school}/login/card` (req, csrf, username, challenge, signature, certb64):
/// on success `{"redirect": …}` with the code for the client.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::CardLogin>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let browser = or_return!(browser(&state, &req, &form.card.csrf));
    let request = match state.provider.auth_request(&school, &form.req).await {
        Ok(Some(r)) => r,
        _ => return card_error(&CardError::Challenge),
    };
    let timer = state.metrics.card_login_seconds.start_timer();
    let proof = state
        .provider
        .card_login(
            &school,
            &browser,
            &form.req,
            &form.username,
            &form.card.challenge,
            &signature(&form.card),
        )
        .await;
    timer.observe_duration();
    let issuer = state.issuer(&school.code);
    let origin = origin(&req);
    let attempt = Attempt {
        school: &school,
        issuer: &issuer,
        request_id: &form.req,
        request: &request,
        origin: &origin,
    };
    let concluded = state
        .provider
        .conclude_login(&attempt, Method::Certificate, &form.username, proof)
        .await;
    state
        .metrics
        .count_login(&school, Method::Certificate, concluded.code);
    match concluded.result {
        Ok(Outcome::Done(done)) => {
            let mut r = HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(json!({"redirect": done.url}));
            let _ = r.add_cookie(&new_session_cookie(&state, &school, &done.sid));
            r
        }
        Ok(Outcome::Next { .. }) => {
            let m = &pages::NEED_PASSWORD;
            HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(json!({"next": "password", "message_zh": m.zh, "message_en": m.en}))
        }
        Ok(Outcome::Refused) => message(
            HttpResponse::Forbidden(),
            "acr_unreachable",
            &pages::LEVEL_UNREACHABLE,
        ),
        Err(Failure::Proof(e)) => card_error(&e),
        Err(Failure::Unavailable(e)) => store_error(e),
    }
}

/// `POST /schools/{school}/login/methods` (req, csrf, username): which methods to offer. The
/// answer has one shape for every account, known or not.
pub async fn methods(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::LoginStep>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    or_return!(browser(&state, &req, &form.csrf));
    let ip = client_ip(&req);
    match state
        .provider
        .login_methods(&school, &form.username, &ip)
        .await
    {
        Ok(m) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({"password": m.password, "certificate": m.certificate.name()})),
        Err(MethodsError::Throttled) => message(
            HttpResponse::TooManyRequests(),
            "throttled",
            &pages::THROTTLED,
        ),
        Err(MethodsError::Store(e)) => store_error(e),
    }
}

/// `POST /schools/{school}/account/card/challenge` (csrf): a challenge to register a card.
pub async fn register_challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::CsrfOnly>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let browser = or_return!(browser(&state, &req, &form.csrf));
    let user = or_return!(account(&state, &school, &req).await);
    let purpose = format!("register:{}", user.id);
    match state
        .provider
        .card_challenge(&school, &browser, &purpose)
        .await
    {
        Ok(challenge) => challenge_json(&state, &challenge),
        Err(e) => card_error(&e),
    }
}

/// `POST /schools/{school}/account/card` (csrf, challenge, signature, certb64
/// [, enrollment_code]): 註冊自然人憑證.
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::CardRegistration>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let browser = or_return!(browser(&state, &req, &form.card.csrf));
    let user = or_return!(account(&state, &school, &req).await);
    let card = signature(&form.card);
    let registration = Registration {
        browser: &browser,
        challenge: &form.card.challenge,
        card: &card,
        enrollment_code: form.enrollment_code.as_deref(),
    };
    match state
        .provider
        .register_certificate(&school, &user, &origin(&req), &registration)
        .await
    {
        Ok(binding) => HttpResponse::Created().json(binding_json(&binding)),
        Err(e) => card_error(&e),
    }
}

fn binding_json(b: &CertBinding) -> serde_json::Value {
    json!({"id": b.id, "subject_cn": b.subject_cn, "serial": b.serial_hex, "issuer": b.issuer_dn, "not_after": b.not_after, "sha256": b.cert_sha256})
}

/// `GET /schools/{school}/account/cards`: the account's registered certificates.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    let user = or_return!(account(&state, &school, &req).await);
    match state.provider.certificates_of(&school, &user).await {
        Ok(list) => HttpResponse::Ok()
            .json(json!({"certificates": list.iter().map(binding_json).collect::<Vec<_>>()})),
        Err(e) => store_error(e),
    }
}

/// `POST /schools/{school}/account/cards/{id}/remove` (csrf).
pub async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
    form: web::Form<forms::CsrfOnly>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    or_return!(browser(&state, &req, &form.csrf));
    let user = or_return!(account(&state, &school, &req).await);
    let id = path.1;
    match state
        .provider
        .remove_certificate(&school, &user, &origin(&req), id)
        .await
    {
        Ok(true) => HttpResponse::Ok().json(json!({"removed": id})),
        Ok(false) => HttpResponse::NotFound().json(json!({"error": "not_found", "message_zh": "找不到這張憑證。", "message_en": "No such certificate."})),
        Err(e) => store_error(e),
    }
}

/// `GET /schools/{school}/account`: 自然人憑證管理.
pub async fn account_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    let locale = pages::locale(&req, None);
    let Some(user) = logged_in(&state, &school, &req).await else {
        let e = gpki_idp_core::OAuthError::access_denied("請先登入校務系統後再管理自然人憑證。Log in to the school portal first, then manage your certificate.");
        return pages::error_page(&e, locale.as_deref());
    };
    let bindings = state
        .provider
        .certificates_of(&school, &user)
        .await
        .unwrap_or_default();
    let (csrf, cookie) = super::csrf::token(&state, &req);
    let mut response = pages::account(
        &school,
        &user.display_name,
        &csrf,
        &bindings,
        &state.component_origin,
        locale.as_deref(),
    );
    super::csrf::set(&mut response, cookie);
    pages::remember_locale(&req, &mut response);
    response
}

/// `GET /schools/{school}/diagnostics`: 環境檢測.
pub async fn diagnostics_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    let (csrf, cookie) = super::csrf::token(&state, &req);
    let locale = pages::locale(&req, None);
    let mut response =
        pages::diagnostics(&school, &csrf, &state.component_origin, locale.as_deref());
    super::csrf::set(&mut response, cookie);
    pages::remember_locale(&req, &mut response);
    response
}

/// `POST /schools/{school}/diagnostics/check` (csrf, certb64): chain, validity and revocation
/// of the card's certificate, without logging in.
pub async fn diagnostics_check(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<forms::DiagnosticsCheck>,
) -> HttpResponse {
    let _school = school_or_return!(state, req);
    or_return!(browser(&state, &req, &form.csrf));
    let Some(verifier) = state.provider.verifier.clone() else {
        return card_error(&CardError::Disabled);
    };
    let cert = form.into_inner().certb64.into_bytes();
    let outcome = web::block(move || {
        let der = gpki_verify::signature::decode_certificate(&cert)?;
        verifier.check_certificate(&der, std::time::SystemTime::now())
    })
    .await;
    match outcome {
        Ok(Ok(checked)) => HttpResponse::Ok().json(json!({
            "valid": true,
            "subject_cn": checked.profile.subject_cn,
            "not_after": checked.profile.not_after,
            "message_zh": "憑證有效，可以用來登入。",
            "message_en": "The certificate is valid and can be used to log in.",
        })),
        Ok(Err(e)) => HttpResponse::Ok().json(json!({"valid": false, "error": e.code(), "message_zh": e.message_zh(), "message_en": e.message_en()})),
        Err(_) => store_error(gpki_idp_core::OAuthError::server_error()),
    }
}
