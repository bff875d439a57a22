//! The HiPKI local signing service protocol, as the simulator plays it.

use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use gpki_testpki::{sign_cms, sign_pkcs1, CmsOptions, Digest};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::card::{Card, Mode, RetCode, SimConfig, SimState};

/// PKCS#11 last_error values paired with CardLoginFailed.
const CKR_PIN_INCORRECT: u32 = 0xA0;
const CKR_PIN_LOCKED: u32 = 0xA4;
const WRONG_PIN_ONE_LEFT: u32 = 0x8000_0001;
const WRONG_PIN_TWO_LEFT: u32 = 0x8000_0002;

const POPUP_HTML: &str = include_str!("popup.html");

/// Serves requests until the server is unblocked.
pub fn serve(server: &tiny_http::Server, state: &Mutex<SimState>, card: &Card, config: &SimConfig) {
    for mut request in server.incoming_requests() {
        let snapshot = state.lock().map(|s| s.clone()).unwrap_or_default();
        std::thread::sleep(snapshot.delay);
        let url = request.url().to_string();
        let path = url.split('?').next().unwrap_or("");
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        let origin = header(&request, "X-Sim-Origin");
        let (status, content_type, text) = match path {
            "/" => (200, "text/plain", format!("version:{}", config.version)),
            "/popupForm" if snapshot.mode == Mode::NotStarted => (404, "text/plain", String::new()),
            "/popupForm" => (200, "text/html; charset=utf-8", POPUP_HTML.to_string()),
            "/sign" => (
                200,
                "application/json",
                sign(&body, origin.as_deref(), state, card, config).to_string(),
            ),
            "/sim/control" => (200, "application/json", control(&body, state).to_string()),
            "/pkcs11info" => {
                let with_cert = url.contains("withcert=true");
                (
                    200,
                    "application/json",
                    pkcs11info(with_cert, &snapshot, card, config).to_string(),
                )
            }
            _ => (404, "text/plain", "not found".to_string()),
        };
        // Like the real component: no CORS headers, so pages must use the popup.
        let header =
            tiny_http::Header::from_bytes("Content-Type", content_type).expect("static header");
        let _ = request.respond(
            tiny_http::Response::from_string(text)
                .with_status_code(status)
                .with_header(header),
        );
    }
}

#[derive(Deserialize)]
struct Control {
    mode: Option<Mode>,
    delay_ms: Option<u64>,
    #[serde(default)]
    reset_pin: bool,
}

/// `POST /sim/control {"mode": "...", "delay_ms": N, "reset_pin": true}`: lets browser tests
/// switch what the simulator plays. Not part of the real component's protocol.
fn control(body: &str, state: &Mutex<SimState>) -> Value {
    let Ok(control) = serde_json::from_str::<Control>(body) else {
        return json!({"ok": false, "error": "bad control request"});
    };
    let Ok(mut s) = state.lock() else {
        return json!({"ok": false});
    };
    if let Some(mode) = control.mode {
        s.mode = mode;
    }
    if let Some(ms) = control.delay_ms {
        s.delay = std::time::Duration::from_millis(ms);
    }
    if control.reset_pin {
        s.pin_tries_left = 3;
    }
    json!({"ok": true, "mode": s.mode, "pin_tries_left": s.pin_tries_left})
}

fn header(request: &tiny_http::Request, name: &'static str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str().to_string())
}

fn failure(func: &str, ret: RetCode, last_error: u32) -> Value {
    json!({"func": func, "ret_code": ret as u32, "last_error": last_error})
}

/// The return code every call gets in a failing mode, if any.
fn mode_failure(mode: Mode) -> Option<RetCode> {
    match mode {
        Mode::DriverMissing => Some(RetCode::LibraryLoadFailed),
        Mode::NoReader => Some(RetCode::NoReader),
        Mode::NoCard => Some(RetCode::NoCard),
        _ => None,
    }
}

fn trusted(origin: Option<&str>, mode: Mode, config: &SimConfig) -> bool {
    if mode == Mode::Untrusted {
        return false;
    }
    config.trusted_origins.is_empty()
        || origin.is_some_and(|o| config.trusted_origins.iter().any(|t| t == o))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignRequest {
    func: Option<String>,
    signature_type: Option<String>,
    tbs: Option<String>,
    tbs_encoding: Option<String>,
    hash_algorithm: Option<String>,
    #[serde(rename = "withCardSN")]
    with_card_sn: Option<String>,
    pin: Option<String>,
    nonce: Option<String>,
}

fn sign(
    body: &str,
    origin: Option<&str>,
    state: &Mutex<SimState>,
    card: &Card,
    config: &SimConfig,
) -> Value {
    let mode = state.lock().map(|s| s.mode).unwrap_or(Mode::Ok);
    let Ok(req) = serde_json::from_str::<SignRequest>(body) else {
        return failure("sign", RetCode::JsonFormat, 0);
    };
    if req.func.as_deref().is_some_and(|f| f != "MakeSignature") {
        return failure("sign", RetCode::Unsupported, 0);
    }
    if !trusted(origin, mode, config) {
        return failure("sign", RetCode::UntrustedSite, 0);
    }
    if let Some(ret) = mode_failure(mode) {
        return failure("sign", ret, 0);
    }
    match mode {
        Mode::UnknownToken => return failure("sign", RetCode::CardLoginFailed, 0x06),
        Mode::Cancel => return failure("sign", RetCode::Cancelled, 0),
        Mode::CertExpired => return failure("sign", RetCode::CertExpired, 0),
        _ => {}
    }
    if let Err(fail) = check_pin(req.pin.as_deref(), state, config) {
        return fail;
    }
    make_signature(&req, card, config)
}

/// The card's PIN counter: 3 tries, then locked until reset.
fn check_pin(pin: Option<&str>, state: &Mutex<SimState>, config: &SimConfig) -> Result<(), Value> {
    let Some(pin) = pin.filter(|p| !p.is_empty()) else {
        return Err(failure("sign", RetCode::PinNotEntered, 0));
    };
    let Ok(mut s) = state.lock() else {
        return Err(failure("sign", RetCode::CardLoginFailed, 0x06));
    };
    if s.pin_tries_left == 0 {
        return Err(failure("sign", RetCode::CardLoginFailed, CKR_PIN_LOCKED));
    }
    if pin == config.pin {
        s.pin_tries_left = 3;
        return Ok(());
    }
    s.pin_tries_left -= 1;
    let last_error = match s.pin_tries_left {
        2 => WRONG_PIN_TWO_LEFT,
        1 => WRONG_PIN_ONE_LEFT,
        0 => CKR_PIN_LOCKED,
        _ => CKR_PIN_INCORRECT,
    };
    Err(failure("sign", RetCode::CardLoginFailed, last_error))
}

fn make_signature(req: &SignRequest, card: &Card, config: &SimConfig) -> Value {
    let tbs = req.tbs.clone().unwrap_or_default();
    let content = match req.tbs_encoding.as_deref() {
        Some(e) if e.eq_ignore_ascii_case("base64") => match B64.decode(tbs.trim()) {
            Ok(bytes) => bytes,
            Err(_) => return failure("sign", RetCode::Parameter, 0),
        },
        _ => tbs.into_bytes(),
    };
    let digest = match req
        .hash_algorithm
        .as_deref()
        .unwrap_or("SHA256")
        .to_ascii_uppercase()
        .as_str()
    {
        "SHA256" => Digest::Sha256,
        "SHA384" => Digest::Sha384,
        "SHA512" => Digest::Sha512,
        _ => return failure("sign", RetCode::Parameter, 0),
    };
    let with_sn = req.with_card_sn.as_deref() == Some("true");
    let signature = match req.signature_type.as_deref().unwrap_or("PKCS7") {
        "PKCS7" => {
            let opts = CmsOptions {
                digest,
                nonce: req.nonce.as_ref().map(|n| n.as_bytes().to_vec()),
                card_serial: with_sn.then(|| config.card_serial.clone()),
                ..CmsOptions::default()
            };
            sign_cms(&[&card.leaf], &content, &opts)
        }
        "PKCS1" => sign_pkcs1(&card.leaf, &content, digest),
        _ => return failure("sign", RetCode::Parameter, 0),
    };
    let mut out = json!({
        "func": "sign",
        "ret_code": 0,
        "last_error": 0,
        "signature": B64.encode(signature),
        "certb64": B64.encode(&card.leaf.der),
        "version": config.version,
    });
    if with_sn {
        out["cardSN"] = json!(config.card_serial);
    }
    out
}

fn pkcs11info(with_cert: bool, state: &SimState, card: &Card, config: &SimConfig) -> Value {
    if let Some(ret) = mode_failure(state.mode) {
        return failure("pkcs11info", ret, 0);
    }
    let token = if state.mode == Mode::UnknownToken {
        json!("unknown token")
    } else {
        json!({"serialNumber": config.card_serial, "certs": certs(with_cert, card)})
    };
    json!({
        "func": "pkcs11info",
        "ret_code": 0,
        "last_error": 0,
        "serverVersion": config.version,
        "slots": [{"slotDescription": "Simulated Reader 0", "token": token}],
    })
}

fn certs(with_cert: bool, card: &Card) -> Value {
    let profile = names(&card.leaf.der);
    let mut signing = json!({
        "label": "Signature Certificate",
        "usage": "digitalSignature",
        "subjectDN": profile.0,
        "issuerDN": profile.1,
        "subjectID": "6789",
        "sn": card.leaf.serial.iter().map(|b| format!("{b:02X}")).collect::<String>(),
    });
    if with_cert {
        signing["certb64"] = json!(B64.encode(&card.leaf.der));
    }
    let ca = json!({"label": "CA Certificate", "usage": "keyCertSign|cRLSign", "certb64": B64.encode(&card.ca_der)});
    json!([signing, ca])
}

/// Subject and issuer DNs for display, as the component lists them.
fn names(der: &[u8]) -> (String, String) {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => (cert.subject().to_string(), cert.issuer().to_string()),
        Err(_) => (String::new(), String::new()),
    }
}
