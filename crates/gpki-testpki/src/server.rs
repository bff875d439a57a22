//! An in-process OCSP responder and CRL server on 127.0.0.1, with switches to play every
//! fault a verifier must survive, and counters so tests can see cache hits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;
use der::asn1::{BitString, GeneralizedTime, Null, OctetString};
use der::{Any, Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    OcspResponseStatus, ResponderId, ResponseBytes, ResponseData, RevokedInfo, SingleResponse,
    Version,
};

use crate::cms_sign::{sign, Digest};
use crate::{Ca, Leaf, TestPki};

/// Who signs OCSP responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OcspSigner {
    /// The issuing CA itself.
    Issuer,
    /// A delegated responder certificate (EKU OCSPSigning) issued by the CA.
    Delegated,
    /// A key the CA never certified.
    Stranger,
}

/// How the responder behaves. Change it at any time with [`RevocationServer::set_ocsp`].
#[derive(Clone, Debug)]
pub struct OcspBehaviour {
    /// Serials (hex, no leading zeros) answered `revoked`.
    pub revoked: Vec<String>,
    /// Serials answered `unknown`.
    pub unknown: Vec<String>,
    pub signer: OcspSigner,
    /// Answer about another serial than the one asked.
    pub wrong_cert_id: bool,
    /// thisUpdate = now + this offset (seconds; negative is the past).
    pub this_update_offset: i64,
    /// nextUpdate = now + this offset; `None` omits nextUpdate.
    pub next_update_offset: Option<i64>,
    /// Echo the request nonce (true), or send a different one (false).
    pub echo_nonce: bool,
    /// Sleep this long before answering (a responder that times out).
    pub delay: Duration,
    /// Answer HTTP 503.
    pub down: bool,
}

impl Default for OcspBehaviour {
    fn default() -> Self {
        Self {
            revoked: Vec::new(),
            unknown: Vec::new(),
            signer: OcspSigner::Issuer,
            wrong_cert_id: false,
            this_update_offset: -60,
            next_update_offset: Some(3600),
            echo_nonce: true,
            delay: Duration::ZERO,
            down: false,
        }
    }
}

struct State {
    ocsp: OcspBehaviour,
    crls: HashMap<String, Vec<u8>>,
    crl_down: bool,
    files: HashMap<String, Vec<u8>>,
}

/// The running server. Dropping it stops it.
pub struct RevocationServer {
    base: String,
    state: Arc<Mutex<State>>,
    ocsp_hits: Arc<AtomicUsize>,
    crl_hits: Arc<AtomicUsize>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

/// The keys the responder signs with.
struct Signers {
    issuer_der: Vec<u8>,
    issuer: rcgen::KeyPair,
    delegated: Leaf,
    stranger: rcgen::KeyPair,
}

impl RevocationServer {
    /// Starts a server answering for certificates issued by `ca` of `pki`.
    pub fn start(pki: &TestPki, ca: &Ca) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server.server_addr().to_ip().expect("ip listener").port();
        let state = Arc::new(Mutex::new(State {
            ocsp: OcspBehaviour::default(),
            crls: HashMap::new(),
            crl_down: false,
            files: HashMap::new(),
        }));
        let signers = Signers {
            issuer_der: ca.der.clone(),
            issuer: copy_key(&ca.key),
            delegated: pki.issue_ocsp_responder(ca),
            stranger: rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key"),
        };
        let (ocsp_hits, crl_hits) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let thread = {
            let (server, state) = (server.clone(), state.clone());
            let (oh, ch) = (ocsp_hits.clone(), crl_hits.clone());
            std::thread::spawn(move || serve(&server, &state, &signers, &oh, &ch))
        };
        Self {
            base: format!("http://127.0.0.1:{port}"),
            state,
            ocsp_hits,
            crl_hits,
            server,
            thread: Some(thread),
        }
    }

    /// The OCSP responder URL (POST, or GET with the request appended).
    pub fn ocsp_url(&self) -> String {
        format!("{}/ocsp", self.base)
    }

    /// The URL of the CRL published under `name`.
    pub fn crl_url(&self, name: &str) -> String {
        format!("{}/crl/{name}.crl", self.base)
    }

    /// Publishes `bytes` (e.g. a CA certificate for AIA caIssuers) at [`Self::file_url`].
    pub fn publish(&self, name: &str, bytes: Vec<u8>) {
        self.state
            .lock()
            .expect("state")
            .files
            .insert(name.to_string(), bytes);
    }

    /// The URL of a file published under `name`.
    pub fn file_url(&self, name: &str) -> String {
        format!("{}/files/{name}", self.base)
    }

    pub fn set_ocsp(&self, behaviour: OcspBehaviour) {
        self.state.lock().expect("state").ocsp = behaviour;
    }

    pub fn set_crl(&self, name: &str, der: Vec<u8>) {
        self.state
            .lock()
            .expect("state")
            .crls
            .insert(name.to_string(), der);
    }

    /// Make the CRL endpoint answer 503 (true) or serve again (false).
    pub fn set_crl_down(&self, down: bool) {
        self.state.lock().expect("state").crl_down = down;
    }

    pub fn ocsp_hits(&self) -> usize {
        self.ocsp_hits.load(Ordering::SeqCst)
    }

    /// Downloads of CRLs and published files.
    pub fn crl_hits(&self) -> usize {
        self.crl_hits.load(Ordering::SeqCst)
    }
}

impl Drop for RevocationServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn copy_key(key: &rcgen::KeyPair) -> rcgen::KeyPair {
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &key.serialize_der().as_slice().into(),
        key.algorithm(),
    )
    .expect("key copy")
}

fn serve(
    server: &tiny_http::Server,
    state: &Mutex<State>,
    signers: &Signers,
    ocsp_hits: &AtomicUsize,
    crl_hits: &AtomicUsize,
) {
    for mut request in server.incoming_requests() {
        let url = request.url().to_string();
        let (status, body, content_type) = if url.starts_with("/crl/") {
            crl_hits.fetch_add(1, Ordering::SeqCst);
            let state = state.lock().expect("state");
            let name = url.trim_start_matches("/crl/").trim_end_matches(".crl");
            match state.crls.get(name) {
                Some(der) if !state.crl_down => (200, der.clone(), "application/pkix-crl"),
                _ => (503, Vec::new(), "text/plain"),
            }
        } else if let Some(name) = url.strip_prefix("/files/") {
            crl_hits.fetch_add(1, Ordering::SeqCst);
            match state.lock().expect("state").files.get(name) {
                Some(bytes) => (200, bytes.clone(), "application/pkix-cert"),
                None => (404, Vec::new(), "text/plain"),
            }
        } else if url.starts_with("/ocsp") {
            ocsp_hits.fetch_add(1, Ordering::SeqCst);
            let behaviour = state.lock().expect("state").ocsp.clone();
            std::thread::sleep(behaviour.delay);
            let der = read_ocsp_request(&mut request, &url);
            match der.and_then(|d| answer(&d, &behaviour, signers)) {
                Some(body) if !behaviour.down => (200, body, "application/ocsp-response"),
                _ => (503, Vec::new(), "text/plain"),
            }
        } else {
            (404, Vec::new(), "text/plain")
        };
        let header = tiny_http::Header::from_bytes("Content-Type", content_type).expect("header");
        let response = tiny_http::Response::from_data(body)
            .with_status_code(status)
            .with_header(header);
        let _ = request.respond(response);
    }
}

fn read_ocsp_request(request: &mut tiny_http::Request, url: &str) -> Option<Vec<u8>> {
    if *request.method() == tiny_http::Method::Post {
        let mut body = Vec::new();
        request.as_reader().read_to_end(&mut body).ok()?;
        return Some(body);
    }
    let encoded = url.strip_prefix("/ocsp/")?;
    let decoded = encoded
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    base64::engine::general_purpose::STANDARD
        .decode(decoded)
        .ok()
}

fn gtime(offset: i64) -> OcspGeneralizedTime {
    let now = std::time::SystemTime::now();
    let at = if offset >= 0 {
        now + Duration::from_secs(offset as u64)
    } else {
        now - Duration::from_secs(offset.unsigned_abs())
    };
    OcspGeneralizedTime(GeneralizedTime::from_system_time(at).expect("time"))
}

fn serial_hex(serial: &[u8]) -> String {
    let skip = serial.iter().take_while(|&&b| b == 0).count();
    hex_encode(&serial[skip..])
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the DER OCSPResponse for a request.
fn answer(request_der: &[u8], b: &OcspBehaviour, signers: &Signers) -> Option<Vec<u8>> {
    let request = OcspRequest::from_der(request_der).ok()?;
    let first = request.tbs_request.request_list.first()?;
    let mut cert_id: CertId = first.req_cert.clone();
    let serial = serial_hex(cert_id.serial_number.as_bytes());
    let status = if b.revoked.contains(&serial) {
        CertStatus::Revoked(RevokedInfo {
            revocation_time: gtime(-86400),
            revocation_reason: None,
        })
    } else if b.unknown.contains(&serial) {
        CertStatus::Unknown(Null)
    } else {
        CertStatus::Good(Null)
    };
    if b.wrong_cert_id {
        cert_id.serial_number = x509_cert::serial_number::SerialNumber::new(&[0x7f, 0x7f]).ok()?;
    }
    let nonce_ext = request
        .tbs_request
        .request_extensions
        .as_ref()
        .and_then(|exts| {
            exts.iter()
                .find(|e| e.extn_id.to_string() == "1.3.6.1.5.5.7.48.1.2")
        })
        .cloned()
        .map(|mut e: Extension| {
            if !b.echo_nonce {
                let other = OctetString::new([0x42u8; 32]).expect("octets");
                e.extn_value = OctetString::new(other.to_der().expect("der")).expect("octets");
            }
            e
        });
    let data = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByKey(
            OctetString::new(Digest::Sha1.hash(b"test-responder")).ok()?,
        ),
        produced_at: gtime(0),
        responses: vec![SingleResponse {
            cert_id,
            cert_status: status,
            this_update: gtime(b.this_update_offset),
            next_update: b.next_update_offset.map(gtime),
            single_extensions: None,
        }],
        response_extensions: nonce_ext.map(|e| vec![e]),
    };
    let tbs = data.to_der().ok()?;
    let (key, certs) = match b.signer {
        OcspSigner::Issuer => (&signers.issuer, None),
        OcspSigner::Delegated => (
            &signers.delegated.key,
            Some(vec![x509_cert::Certificate::from_der(
                &signers.delegated.der,
            )
            .ok()?]),
        ),
        OcspSigner::Stranger => (&signers.stranger, None),
    };
    let _ = &signers.issuer_der;
    let (_, signature) = sign(key, Digest::Sha256, false, &tbs);
    let alg_oid = if key.algorithm() == &rcgen::PKCS_ECDSA_P256_SHA256 {
        "1.2.840.10045.4.3.2"
    } else {
        "1.2.840.113549.1.1.11"
    };
    let basic = BasicOcspResponse {
        tbs_response_data: data,
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: alg_oid.parse().ok()?,
            parameters: (alg_oid.starts_with("1.2.840.113549")).then(|| Any::from(Null)),
        },
        signature: BitString::from_bytes(&signature).ok()?,
        certs,
    };
    let response = OcspResponse {
        response_status: OcspResponseStatus::Successful,
        response_bytes: Some(ResponseBytes {
            response_type: "1.3.6.1.5.5.7.48.1.1".parse().ok()?,
            response: OctetString::new(basic.to_der().ok()?).ok()?,
        }),
    };
    response.to_der().ok()
}
