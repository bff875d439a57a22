//! OCSP (RFC 6960): building the request, and accepting a response only when it is about our
//! certificate, signed by its issuer or by a responder the issuer delegated (EKU
//! OCSPSigning), fresh, and echoing our nonce.

use std::time::{Duration, SystemTime};

use base64::Engine;
use const_oid::ObjectIdentifier;
use der::asn1::{Null, OctetString};
use der::{Any, Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    TbsRequest, Version,
};

use super::clock::after;
use crate::algorithm::{self, Hash, PublicKey};
use crate::certificate::Certificate;
use crate::error::{RevocationSource, SourceFailure};
use crate::path::CaCertificate;
use crate::profile;
use crate::tlv;

const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const ID_PKIX_OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const EKU_OCSP_SIGNING: &str = "OCSPSigning";

/// The status an OCSP response gave for our certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertState {
    Good,
    Revoked,
    Unknown,
}

/// A verified answer, with its validity window.
#[derive(Clone, Copy, Debug)]
pub struct OcspAnswer {
    pub state: CertState,
    pub this_update: SystemTime,
    pub next_update: Option<SystemTime>,
}

/// Freshness and nonce rules for accepting a response.
#[derive(Clone, Copy, Debug)]
pub struct Acceptance {
    pub clock_skew: Duration,
    /// Oldest thisUpdate accepted.
    pub max_age: Duration,
    /// Refuse a response without our nonce (off: a missing nonce is accepted, a wrong one never).
    pub require_nonce: bool,
}

pub(crate) fn failure(code: &'static str, detail: impl Into<String>) -> SourceFailure {
    SourceFailure {
        source: RevocationSource::Ocsp,
        code,
        detail: detail.into(),
    }
}

/// The CertID of `leaf_serial` issued by `issuer`, hashed with SHA-1 (what legacy responders
/// expect) or SHA-256.
pub fn cert_id(
    issuer: &CaCertificate,
    leaf_serial: &[u8],
    hash: Hash,
) -> Result<CertId, SourceFailure> {
    let oid = if hash == Hash::Sha1 {
        ID_SHA1
    } else {
        ID_SHA256
    };
    let bad = |e: der::Error| failure("ocsp_request_encoding", e.to_string());
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid,
            parameters: Some(Any::from(Null)),
        },
        issuer_name_hash: OctetString::new(hash.digest(&issuer.subject_der)).map_err(bad)?,
        issuer_key_hash: OctetString::new(hash.digest(issuer.key.key_bits())).map_err(bad)?,
        serial_number: SerialNumber::new(leaf_serial).map_err(bad)?,
    })
}

/// DER of an OCSP request for one certificate, with an optional nonce.
pub fn request_der(id: &CertId, nonce: Option<&[u8]>) -> Result<Vec<u8>, SourceFailure> {
    let bad = |e: der::Error| failure("ocsp_request_encoding", e.to_string());
    let extensions = match nonce {
        Some(n) => {
            let value = OctetString::new(n).map_err(bad)?.to_der().map_err(bad)?;
            Some(vec![Extension {
                extn_id: ID_PKIX_OCSP_NONCE,
                critical: false,
                extn_value: OctetString::new(value).map_err(bad)?,
            }])
        }
        None => None,
    };
    let request = OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: id.clone(),
                single_request_extensions: None,
            }],
            request_extensions: extensions,
        },
        optional_signature: None,
    };
    request.to_der().map_err(bad)
}

/// The GET form of a request: the URL-encoded base64 DER appended to the responder URL.
pub fn get_url(responder: &str, request: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(request);
    let encoded: String = b64
        .chars()
        .map(|c| match c {
            '+' => "%2B".to_string(),
            '/' => "%2F".to_string(),
            '=' => "%3D".to_string(),
            c => c.to_string(),
        })
        .collect();
    format!("{}/{}", responder.trim_end_matches('/'), encoded)
}

/// Checks a response to the request for `id` and returns the certificate's state.
pub fn check_response(
    der: &[u8],
    id: &CertId,
    issuer: &CaCertificate,
    nonce: Option<&[u8]>,
    now: SystemTime,
    rules: &Acceptance,
) -> Result<OcspAnswer, SourceFailure> {
    let malformed = |e: der::Error| failure("ocsp_malformed", e.to_string());
    let response = OcspResponse::from_der(der).map_err(malformed)?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(failure(
            "ocsp_error_status",
            format!("{:?}", response.response_status),
        ));
    }
    let bytes = response
        .response_bytes
        .ok_or_else(|| failure("ocsp_malformed", "no response bytes"))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(failure("ocsp_malformed", "not a basic OCSP response"));
    }
    let basic_der = bytes.response.as_bytes();
    let basic = BasicOcspResponse::from_der(basic_der).map_err(malformed)?;
    verify_signer(basic_der, issuer, now)?;
    let data = &basic.tbs_response_data;
    let mut matching = data
        .responses
        .iter()
        .filter(|r| same_cert_id(&r.cert_id, id));
    let single = matching
        .next()
        .ok_or_else(|| failure("ocsp_cert_id_mismatch", "no response for our certificate"))?;
    if matching.next().is_some() {
        return Err(failure(
            "ocsp_cert_id_mismatch",
            "several responses for our certificate",
        ));
    }
    check_nonce(
        basic.nonce().map(|n| n.0.as_bytes().to_vec()),
        nonce,
        rules.require_nonce,
    )?;
    let this_update = single.this_update.0.to_system_time();
    let next_update = single.next_update.map(|t| t.0.to_system_time());
    check_times(this_update, next_update, now, rules)?;
    let state = match single.cert_status {
        CertStatus::Good(_) => CertState::Good,
        CertStatus::Revoked(_) => CertState::Revoked,
        CertStatus::Unknown(_) => CertState::Unknown,
    };
    Ok(OcspAnswer {
        state,
        this_update,
        next_update,
    })
}

fn same_cert_id(a: &CertId, b: &CertId) -> bool {
    a.hash_algorithm.oid == b.hash_algorithm.oid
        && a.issuer_name_hash == b.issuer_name_hash
        && a.issuer_key_hash == b.issuer_key_hash
        && profile::serial_hex(a.serial_number.as_bytes())
            == profile::serial_hex(b.serial_number.as_bytes())
}

fn check_nonce(
    got: Option<Vec<u8>>,
    sent: Option<&[u8]>,
    require: bool,
) -> Result<(), SourceFailure> {
    match (sent, got) {
        (Some(sent), Some(got)) if sent != got.as_slice() => Err(failure(
            "ocsp_nonce_mismatch",
            "response nonce differs from the request's",
        )),
        (Some(_), None) if require => Err(failure("ocsp_nonce_missing", "response has no nonce")),
        _ => Ok(()),
    }
}

fn check_times(
    this_update: SystemTime,
    next_update: Option<SystemTime>,
    now: SystemTime,
    rules: &Acceptance,
) -> Result<(), SourceFailure> {
    if this_update > after(now, rules.clock_skew) {
        return Err(failure("ocsp_not_yet_valid", "thisUpdate is in the future"));
    }
    if after(this_update, rules.max_age.saturating_add(rules.clock_skew)) < now {
        return Err(failure(
            "ocsp_stale",
            "thisUpdate is older than the maximum age",
        ));
    }
    if next_update.is_some_and(|next| after(next, rules.clock_skew) < now) {
        return Err(failure("ocsp_expired", "nextUpdate has passed"));
    }
    Ok(())
}

/// The response must be signed by the issuer itself, or by a certificate in the response
/// that the issuer signed, that carries EKU OCSPSigning and is valid now.
fn verify_signer(
    basic_der: &[u8],
    issuer: &CaCertificate,
    now: SystemTime,
) -> Result<(), SourceFailure> {
    let (tbs, alg, signature) = tlv::split_signed(basic_der)
        .ok_or_else(|| failure("ocsp_malformed", "bad BasicOCSPResponse layout"))?;
    if algorithm::verify(&alg, None, &issuer.key, tbs, signature, false).is_ok() {
        return Ok(());
    }
    for cert in embedded_certificates(basic_der) {
        if let Some(key) = delegated_key(cert, issuer, now) {
            if algorithm::verify(&alg, None, &key, tbs, signature, false).is_ok() {
                return Ok(());
            }
        }
    }
    Err(failure(
        "ocsp_bad_signature",
        "response not signed by the issuer or a responder it authorised",
    ))
}

fn embedded_certificates(basic_der: &[u8]) -> Vec<&[u8]> {
    let Some((outer, _)) = tlv::read(basic_der) else {
        return Vec::new();
    };
    let Some(fields) = tlv::children(outer.value) else {
        return Vec::new();
    };
    fields
        .iter()
        .find(|f| f.tag == 0xa0)
        .and_then(|explicit| tlv::read(explicit.value))
        .and_then(|(seq, _)| tlv::children(seq.value))
        .map(|certs| certs.into_iter().map(|c| c.raw).collect())
        .unwrap_or_default()
}

/// The key of a delegated responder certificate, if `issuer` signed it for OCSP signing.
fn delegated_key(cert: &[u8], issuer: &CaCertificate, now: SystemTime) -> Option<PublicKey> {
    let (tbs, alg, signature) = tlv::split_signed(cert)?;
    algorithm::verify(&alg, None, &issuer.key, tbs, signature, false).ok()?;
    let responder = Certificate::parse(cert.to_vec()).ok()?;
    let prof = &responder.profile;
    let now_unix = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs() as i64;
    let valid = prof.not_before_unix <= now_unix && now_unix <= prof.not_after_unix;
    if !valid
        || !prof
            .extended_key_usage
            .iter()
            .any(|e| e == EKU_OCSP_SIGNING)
    {
        return None;
    }
    Some(responder.key)
}

/// A random nonce of 32 bytes.
pub fn new_nonce() -> Vec<u8> {
    use rand::RngCore;
    let mut nonce = vec![0u8; 32];
    rand::rng().fill_bytes(&mut nonce);
    nonce
}
