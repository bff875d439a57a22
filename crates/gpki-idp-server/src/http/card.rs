//! The JSON API the pages' script uses for the card: challenges, certificate login, which
//! methods to offer, and the account's own certificates. Answers carry a stable `error` code
//! and the message in zh-TW and English. The rules are the domain's (`gpki_idp_core::login`).

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::code::{Code, Notice};
use gpki_idp_core::error::{Error, ErrorBody};
use gpki_idp_core::login::{Outcome, Proof, Registration};
use gpki_idp_core::model::CertBinding;
use gpki_idp_core::oidc::card::{CardSignature, ChallengePurpose};
use serde_json::json;

use super::csrf::browser;
use super::errors::json_error;
use super::forms;
use super::pages;
use super::request::{client_ip, origin, session_cookie, AttemptContext};
use super::school::{add_login_cookies, device_cookie, school_or_return};
use crate::app::AppState;

macro_rules! or_return {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(response) => return response,
        }
    };
}

fn no_store(mut response: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    response.insert_header(("Cache-Control", "no-store"));
    response
}

fn challenge_json(state: &AppState, challenge: Result<String, Error>) -> HttpResponse {
    let ttl = state.provider.settings.challenge_ttl.as_secs();
    match challenge {
        Ok(challenge) => {
            no_store(HttpResponse::Ok()).json(json!({"challenge": challenge, "expires_in": ttl}))
        }
        Err(e) => json_error(&e),
    }
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
    let purpose = ChallengePurpose::Login {
        request_id: &form.req,
    };
    let challenge = state
        .provider
        .card_challenge(&school, &browser, purpose, &client_ip(&req))
        .await;
    challenge_json(&state, challenge)
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
    let context = AttemptContext::of(&state, &req, &school);
    let attempt = context.attempt(&school, &form.req, &browser);
    let proof = Proof::Card {
        username: &form.username,
        challenge: &form.card.challenge,
        signature: signature(&form.card),
    };
    let timer = state.metrics.card_login_seconds.start_timer();
    let concluded = state.provider.log_in(&attempt, proof).await;
    timer.observe_duration();
    state
        .metrics
        .count_login(&school, concluded.factor, concluded.outcome);
    match concluded.result {
        Ok(Outcome::Done(done)) => {
            let mut r = no_store(HttpResponse::Ok()).json(json!({"redirect": done.url}));
            add_login_cookies(&state, &school, &done, &mut r);
            r
        }
        Ok(Outcome::ChangePassword(_)) => {
            let url = super::password_change::change_url(&school, &form.req);
            no_store(HttpResponse::Ok()).json(json!({"redirect": url}))
        }
        Ok(Outcome::Next(step)) => {
            let m = step.notice.message();
            no_store(HttpResponse::Ok())
                .json(json!({"next": step.next.name(), "message_zh": m.zh, "message_en": m.en}))
        }
        Err(refusal) => json_error(&refusal.error),
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
    let device = device_cookie(&req);
    match state
        .provider
        .login_methods(&school, &form.username, &ip, device.as_deref())
        .await
    {
        Ok(m) => no_store(HttpResponse::Ok())
            .json(json!({"password": m.password, "certificate": m.certificate.name()})),
        Err(e) => json_error(&e),
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
    let challenge = state
        .provider
        .registration_challenge(
            &school,
            session_cookie(&req).as_deref(),
            &browser,
            &client_ip(&req),
        )
        .await;
    challenge_json(&state, challenge)
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
    let card = signature(&form.card);
    let registration = Registration {
        browser: &browser,
        challenge: &form.card.challenge,
        card: &card,
        enrollment_code: form.enrollment_code.as_deref(),
    };
    match state
        .provider
        .register_certificate(
            &school,
            session_cookie(&req).as_deref(),
            &origin(&req),
            &registration,
        )
        .await
    {
        Ok(binding) => HttpResponse::Created().json(binding_json(&binding)),
        Err(e) => json_error(&e),
    }
}

fn binding_json(b: &CertBinding) -> serde_json::Value {
    json!({"id": b.id, "subject_cn": b.subject_cn, "serial": b.serial_hex, "issuer": b.issuer_dn, "not_after": b.not_after, "sha256": b.cert_sha256})
}

/// `GET /schools/{school}/account/cards`: the account's registered certificates.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    match state
        .provider
        .own_certificates(&school, session_cookie(&req).as_deref())
        .await
    {
        Ok((_, list)) => HttpResponse::Ok()
            .json(json!({"certificates": list.iter().map(binding_json).collect::<Vec<_>>()})),
        Err(e) => json_error(&e),
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
    let id = path.1;
    match state
        .provider
        .remove_certificate(&school, session_cookie(&req).as_deref(), &origin(&req), id)
        .await
    {
        Ok(()) => HttpResponse::Ok().json(json!({"removed": id})),
        Err(e) => json_error(&e),
    }
}

/// `GET /schools/{school}/account`: 自然人憑證管理.
pub async fn account_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<forms::AccountPage>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let password = query.password.as_deref().map(pages::password::outcome);
    let locale = pages::locale(&req, None);
    let (user, bindings) = match state
        .provider
        .own_certificates(&school, session_cookie(&req).as_deref())
        .await
    {
        Ok(found) => found,
        Err(e) => return pages::error_page(&e, locale.as_deref()),
    };
    let sessions = match state
        .provider
        .own_sessions(&school, session_cookie(&req).as_deref())
        .await
    {
        Ok((_, list, current)) => list
            .iter()
            .map(|s| super::account_sessions::session_view(s, &current))
            .collect::<Vec<_>>(),
        Err(e) => return pages::error_page(&e, locale.as_deref()),
    };
    let (csrf, cookie) = super::csrf::token(&state, &req);
    let account = pages::AccountPage {
        display_name: &user.display_name,
        bindings: &bindings,
        sessions: &sessions,
    };
    let origin = &state.component_origin;
    let mut response = pages::account(
        &school,
        &account,
        &csrf,
        origin,
        locale.as_deref(),
        password,
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
    match state.provider.diagnose_certificate(&form.certb64).await {
        Ok(found) => {
            let m = Notice::CertificateUsable.message();
            HttpResponse::Ok().json(json!({
                "valid": true,
                "subject_cn": found.subject_cn,
                "not_after": found.not_after,
                "message_zh": m.zh,
                "message_en": m.en,
            }))
        }
        // What is wrong with the certificate is the check's answer, not a failed request.
        Err(e) if matches!(e.code, Code::Certificate(_)) => {
            let mut answer = json!(ErrorBody::from(&e));
            answer["valid"] = json!(false);
            HttpResponse::Ok().json(answer)
        }
        Err(e) => json_error(&e),
    }
}
