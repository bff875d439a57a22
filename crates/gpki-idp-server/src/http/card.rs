//! The JSON API the pages' script uses for the card: challenges, certificate login, and
//! registering (binding) or removing a certificate. Answers carry a stable `error` code and
//! the message in zh-TW and English.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use gpki_idp_core::model::{School, User};
use gpki_idp_core::oidc::card::{CardError, CardSignature};
use gpki_idp_core::oidc::step::Step;
use gpki_idp_core::policy::{self, Factors, Method};
use serde_json::json;

use super::oidc::{school_of, school_or_return, SESSION_COOKIE};
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

fn refused(code: &str, zh: &str, en: &str) -> HttpResponse {
    HttpResponse::Forbidden().json(json!({"error": code, "message_zh": zh, "message_en": en}))
}

/// The browser's CSRF token, when the form repeats it (double submit); it also binds
/// challenges to the browser.
pub(super) fn browser(
    state: &AppState,
    req: &HttpRequest,
    form: &HashMap<String, String>,
) -> Result<String, HttpResponse> {
    let sent = form.get("csrf").map(String::as_str).unwrap_or_default();
    if !super::csrf::matches(state, req, sent) {
        return Err(refused(
            "csrf_failed",
            "表單已失效，請重新整理頁面。",
            "The form expired. Reload the page.",
        ));
    }
    Ok(sent.to_string())
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or_default()
}

macro_rules! or_return {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(response) => return response,
        }
    };
}

/// `POST /schools/{school}/login/card/challenge` (req, csrf).
pub async fn login_challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let browser = or_return!(browser(&state, &req, &form));
    let purpose = format!("login:{}", field(&form, "req"));
    match state
        .provider
        .card_challenge(&school, &browser, &purpose)
        .await
    {
        Ok(challenge) => challenge_json(&state, &challenge),
        Err(e) => card_error(&e),
    }
}

fn challenge_json(state: &AppState, challenge: &str) -> HttpResponse {
    let ttl = state.provider.settings.challenge_ttl.as_secs();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"challenge": challenge, "expires_in": ttl}))
}

fn card<'a>(form: &'a HashMap<String, String>) -> CardSignature<'a> {
    CardSignature {
        signature: field(form, "signature"),
        certificate: form
            .get("certb64")
            .map(String::as_str)
            .filter(|c| !c.is_empty()),
    }
}

/// `POST /schools/{school}/login/card` (req, csrf, username, challenge, signature, certb64):
/// on success `{"redirect": …}` with the code for the client.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let browser = or_return!(browser(&state, &req, &form));
    let request_id = field(&form, "req");
    let request = match state.provider.auth_request(&school, request_id).await {
        Ok(Some(r)) => r,
        _ => return card_error(&CardError::Challenge),
    };
    let username = field(&form, "username");
    let timer = state.metrics.card_login_seconds.start_timer();
    let outcome = state
        .provider
        .card_login(
            &school,
            &browser,
            request_id,
            username,
            field(&form, "challenge"),
            &card(&form),
        )
        .await;
    timer.observe_duration();
    // Without a username the card names the account: the audit names it too.
    let account = match &outcome {
        Ok(proved) => proved.user.username.clone(),
        Err(_) => username.to_string(),
    };
    let (code, response) = match outcome {
        Ok(proved) => card_next_step(&state, &school, request_id, &request, proved).await,
        Err(e) => (e.code(), Err(card_error(&e))),
    };
    let audited = super::login::audit_login(
        &state,
        &school,
        &req,
        "certificate",
        code,
        &account,
        &request.client_id,
    )
    .await;
    match (response, audited) {
        (Ok(done), Ok(())) => {
            let mut r = HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(json!({"redirect": done.url}));
            let _ = r.add_cookie(&done.cookie);
            r
        }
        // A login that cannot be audited does not happen.
        (Ok(done), Err(e)) => {
            let _ = state.provider.end_session(&school, &done.sid).await;
            card_error(&CardError::Store(e))
        }
        (Err(answer), Ok(())) => answer,
        // A failure is shown as it is whether or not its audit could be written, unless it
        // was a step forward (the password still to come), which must not go on unaudited.
        (Err(_), Err(e)) if code == "success" => card_error(&CardError::Store(e)),
        (Err(answer), Err(_)) => answer,
    }
}

/// What follows a good card: the finished login, or the answer for the next step or for a
/// refusal; with the outcome code to audit.
async fn card_next_step(
    state: &AppState,
    school: &School,
    request_id: &str,
    request: &gpki_idp_core::oidc::authorize::AuthRequest,
    proved: gpki_idp_core::oidc::step::Proved,
) -> (&'static str, Result<super::login::Finished, HttpResponse>) {
    let step = state
        .provider
        .login_step(school, request_id, request, &proved, Factors::CARD)
        .await;
    let session = match step {
        Ok(Step::Done(session)) => session,
        Ok(Step::NeedPassword | Step::NeedCard) => {
            let m = &super::pages::NEED_PASSWORD;
            let answer = HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(json!({"next": "password", "message_zh": m.zh, "message_en": m.en}));
            return ("success", Err(answer));
        }
        Ok(Step::Refused) => {
            let m = &super::pages::LEVEL_UNREACHABLE;
            return (
                "acr_unreachable",
                Err(refused("acr_unreachable", m.zh, m.en)),
            );
        }
        Err(e) => return (e.code, Err(card_error(&CardError::Store(e)))),
    };
    match super::login::finish(state, school, request_id, request, session).await {
        Ok(done) => ("success", Ok(done)),
        Err(e) if e.code == "invalid_request" => {
            let e = CardError::Challenge;
            (e.code(), Err(card_error(&e)))
        }
        Err(e) => (e.code, Err(card_error(&CardError::Store(e)))),
    }
}

/// The logged-in account of this browser at this school.
pub(super) async fn account(
    state: &AppState,
    school: &School,
    req: &HttpRequest,
) -> Result<User, HttpResponse> {
    let not_logged_in = || refused("login_required", "請先登入。", "Please log in first.");
    let sid = req.cookie(SESSION_COOKIE).ok_or_else(not_logged_in)?;
    let session = state
        .provider
        .session(school, sid.value())
        .await
        .ok()
        .flatten()
        .ok_or_else(not_logged_in)?;
    match state
        .provider
        .directory
        .user_by_id(school.id, session.user_id)
        .await
    {
        Ok(Some(u)) if !u.disabled => Ok(u),
        _ => Err(not_logged_in()),
    }
}

/// `POST /schools/{school}/account/card/challenge` (csrf): a challenge to register a card.
pub async fn register_challenge(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let browser = or_return!(browser(&state, &req, &form));
    let user = or_return!(account(&state, &school, &req).await);
    match state
        .provider
        .card_challenge(&school, &browser, &format!("register:{}", user.id))
        .await
    {
        Ok(challenge) => challenge_json(&state, &challenge),
        Err(e) => card_error(&e),
    }
}

/// `POST /schools/{school}/account/card` (csrf, challenge, signature, certb64): 註冊自然人憑證.
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    let browser = or_return!(browser(&state, &req, &form));
    let user = or_return!(account(&state, &school, &req).await);
    match state
        .provider
        .register_card(
            &school,
            &browser,
            &user,
            field(&form, "challenge"),
            &card(&form),
            super::client_ip(&req).parse().ok(),
            form.get("enrollment_code").map(String::as_str),
        )
        .await
    {
        Ok(binding) => {
            let mut event = super::login::audit_event(
                &school,
                &req,
                "certificate.register",
                "success",
                &user.username,
                None,
            );
            event.detail = json!({"serial": binding.serial_hex, "issuer": binding.issuer_dn, "sha256": binding.cert_sha256});
            if let Err(e) = state.provider.record(event).await {
                return card_error(&CardError::Store(e));
            }
            HttpResponse::Created().json(binding_json(&binding))
        }
        Err(e) => {
            let event = super::login::audit_event(
                &school,
                &req,
                "certificate.register",
                e.code(),
                &user.username,
                None,
            );
            let _ = state.provider.record(event).await;
            card_error(&e)
        }
    }
}

fn binding_json(b: &gpki_idp_core::model::CertBinding) -> serde_json::Value {
    json!({"id": b.id, "subject_cn": b.subject_cn, "serial": b.serial_hex, "issuer": b.issuer_dn, "not_after": b.not_after, "sha256": b.cert_sha256})
}

/// `GET /schools/{school}/account/cards`: the account's registered certificates.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    let user = or_return!(account(&state, &school, &req).await);
    match state
        .provider
        .directory
        .bindings_of(school.id, user.id)
        .await
    {
        Ok(list) => HttpResponse::Ok()
            .json(json!({"certificates": list.iter().map(binding_json).collect::<Vec<_>>()})),
        Err(e) => card_error(&CardError::Store(e.into())),
    }
}

/// `POST /schools/{school}/account/cards/{id}/remove` (csrf).
pub async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    or_return!(browser(&state, &req, &form));
    let user = or_return!(account(&state, &school, &req).await);
    match state.provider.directory.remove_binding(school.id, user.id, path.1).await {
        Ok(true) => {
            let mut event = super::login::audit_event(&school, &req, "certificate.remove", "success", &user.username, None);
            event.detail = json!({"binding_id": path.1});
            if let Err(e) = state.provider.record(event).await {
                return card_error(&CardError::Store(e));
            }
            HttpResponse::Ok().json(json!({"removed": path.1}))
        }
        Ok(false) => HttpResponse::NotFound().json(json!({"error": "not_found", "message_zh": "找不到這張憑證。", "message_en": "No such certificate."})),
        Err(e) => card_error(&CardError::Store(e.into())),
    }
}

/// `POST /schools/{school}/login/methods` (req, csrf, username): which methods to offer. The
/// answer has one shape for every account, known or not.
pub async fn methods(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let school = school_or_return!(state, req);
    or_return!(browser(&state, &req, &form));
    match state
        .provider
        .account_probe_allowed(&super::client_ip(&req))
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            let m = &super::pages::THROTTLED;
            return HttpResponse::TooManyRequests()
                .json(json!({"error": "throttled", "message_zh": m.zh, "message_en": m.en}));
        }
        Err(e) => return card_error(&CardError::Store(e)),
    }
    let dir = &state.provider.directory;
    let user = dir
        .user_by_username(school.id, field(&form, "username"))
        .await
        .ok()
        .flatten();
    // Query bindings for unknown accounts too (id -1 matches nothing): same work, same timing.
    let user_id = user.as_ref().filter(|u| !u.disabled).map_or(-1, |u| u.id);
    let registered = dir
        .bindings_of(school.id, user_id)
        .await
        .map(|b| !b.is_empty())
        .unwrap_or(false);
    // One policy read for every account, known or not.
    let policies = dir.login_policy(school.id).await.unwrap_or_default();
    // An unknown account is answered as a teacher without a registered card (the commonest
    // account), so the answer does not tell a guesser which accounts exist.
    let roles = match user.as_ref().filter(|u| !u.disabled) {
        Some(u) => u.roles.clone(),
        None => vec!["teacher".to_string()],
    };
    let password = policy::allows(&policies, &roles, Method::Password);
    let certificate = match (
        &state.provider.verifier,
        registered,
        policy::allows(&policies, &roles, Method::Certificate),
    ) {
        (None, _, _) | (_, _, false) => "disabled",
        (Some(_), true, true) => "registered",
        (Some(_), false, true) => "not_registered",
    };
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({"password": password, "certificate": certificate}))
}

/// `GET /schools/{school}/account`: 自然人憑證管理.
pub async fn account_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    let user = match account(&state, &school, &req).await {
        Ok(u) => u,
        Err(_) => {
            let e = gpki_idp_core::OAuthError::access_denied("請先登入校務系統後再管理自然人憑證。Log in to the school portal first, then manage your certificate.");
            return super::pages::error_page(&e, super::pages::locale(&req, None).as_deref());
        }
    };
    let bindings = state
        .provider
        .directory
        .bindings_of(school.id, user.id)
        .await
        .unwrap_or_default();
    let (csrf, cookie) = super::csrf::token(&state, &req);
    let locale = super::pages::locale(&req, None);
    let mut response = super::pages::account(
        &school,
        &user.display_name,
        &csrf,
        &bindings,
        &state.component_origin,
        locale.as_deref(),
    );
    super::csrf::set(&mut response, cookie);
    super::pages::remember_locale(&req, &mut response);
    response
}

/// `GET /schools/{school}/diagnostics`: 環境檢測.
pub async fn diagnostics_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let school = school_or_return!(state, req);
    let (csrf, cookie) = super::csrf::token(&state, &req);
    let locale = super::pages::locale(&req, None);
    let mut response =
        super::pages::diagnostics(&school, &csrf, &state.component_origin, locale.as_deref());
    super::csrf::set(&mut response, cookie);
    super::pages::remember_locale(&req, &mut response);
    response
}

/// `POST /schools/{school}/diagnostics/check` (csrf, certb64): chain, validity and revocation
/// of the card's certificate, without logging in.
pub async fn diagnostics_check(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let _school = school_or_return!(state, req);
    or_return!(browser(&state, &req, &form));
    let Some(verifier) = state.provider.verifier.clone() else {
        return card_error(&CardError::Disabled);
    };
    let cert = field(&form, "certb64").as_bytes().to_vec();
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
        Err(_) => card_error(&CardError::Store(gpki_idp_core::OAuthError::server_error())),
    }
}
