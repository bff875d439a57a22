//! The card's signature: a CMS SignedData (PKCS#7) or a bare PKCS#1 v1.5 signature with the
//! certificate beside it. Checks that exactly one signer signed exactly the expected content,
//! and reads the signed attributes the local signing service adds.

use std::time::SystemTime;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_cert::time::Time;

use crate::algorithm::{self, Hash};
use crate::certificate::Certificate;
use crate::tlv::{self, Tlv};
use crate::{input, Error};

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ATTR_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ATTR_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ATTR_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const ATTR_RANDOM_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.25.3");
/// The card number attribute the local signing service adds with `withCardSN=true`.
const ATTR_CARD_SN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.886.1.100.2.204");

/// What the local signing service returned, as the browser hands it to us.
#[derive(Clone, Copy, Debug)]
pub enum SignatureInput<'a> {
    /// `signatureType: PKCS7`: a CMS ContentInfo, DER/BER, binary, base64 or PEM.
    /// `certificate` is `certb64`, used when the SignedData embeds no certificate.
    Pkcs7 {
        signature: &'a [u8],
        certificate: Option<&'a [u8]>,
    },
    /// `signatureType: PKCS1`: bare RSASSA-PKCS1-v1_5 over the hash of the content, with the
    /// signer's certificate (`certb64`).
    Pkcs1 {
        signature: &'a [u8],
        certificate: &'a [u8],
        hash: Hash,
    },
}

/// The content the signer must have signed, and the nonce the request carried.
#[derive(Clone, Copy, Debug, Default)]
pub struct Expected<'a> {
    /// The exact bytes of the challenge as signed (see [`tbs_bytes`]); `None` accepts any
    /// attached content (operator tooling only).
    pub content: Option<&'a [u8]>,
    /// The request's `nonce`; checked against the randomNonce attribute when that is present.
    pub nonce: Option<&'a [u8]>,
}

/// How the local signing service turns the request's `tbs` into the bytes it signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TbsEncoding {
    /// `tbsEncoding: NONE`: the tbs string's UTF-8 bytes.
    None,
    /// `tbsEncoding: base64`: the base64-decoded bytes.
    Base64,
}

/// The bytes the card signs for a challenge sent as `tbs` with the given encoding.
pub fn tbs_bytes(tbs: &str, encoding: TbsEncoding) -> Option<Vec<u8>> {
    match encoding {
        TbsEncoding::None => Some(tbs.as_bytes().to_vec()),
        TbsEncoding::Base64 => input::decode_base64(tbs),
    }
}

/// A signature that verified, with what it carried.
#[derive(Clone, Debug)]
pub struct SignedContent {
    /// The signer's certificate, parsed once here for everything after the signature.
    pub signer: Certificate,
    /// Other certificates embedded in the SignedData (possibly intermediates).
    pub other_certificates: Vec<Vec<u8>>,
    /// The signed content.
    pub content: Vec<u8>,
    /// The signingTime attribute.
    pub signing_time: Option<SystemTime>,
    /// The randomNonce attribute.
    pub nonce: Option<Vec<u8>>,
    /// The card number attribute (2.16.886.1.100.2.204).
    pub card_serial: Option<String>,
}

/// Verifies a signature as the local signing service returns it.
pub fn verify(
    input: &SignatureInput<'_>,
    expected: &Expected<'_>,
    allow_sha1: bool,
) -> Result<SignedContent, Error> {
    match *input {
        SignatureInput::Pkcs7 {
            signature,
            certificate,
        } => verify_pkcs7(signature, certificate, expected, allow_sha1),
        SignatureInput::Pkcs1 {
            signature,
            certificate,
            hash,
        } => verify_pkcs1(signature, certificate, hash, expected, allow_sha1),
    }
}

fn malformed(what: &str) -> Error {
    Error::MalformedSignature(what.to_string())
}

fn verify_pkcs1(
    signature: &[u8],
    certificate: &[u8],
    hash: Hash,
    expected: &Expected<'_>,
    allow_sha1: bool,
) -> Result<SignedContent, Error> {
    // The service sends base64; a raw signature (from a file) is taken as it is.
    let signature = std::str::from_utf8(signature)
        .ok()
        .and_then(|text| input::decode_base64(&text.split_whitespace().collect::<String>()))
        .unwrap_or_else(|| signature.to_vec());
    if signature.is_empty() {
        return Err(malformed("empty signature"));
    }
    let signer = read_certificate(certificate)?;
    let content = expected.content.ok_or(Error::ContentMissing)?;
    let rsa = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let (alg, _) = tlv::read(&rsa).ok_or_else(|| malformed("internal"))?;
    algorithm::verify(
        &alg,
        Some(hash),
        &signer.key,
        content,
        &signature,
        allow_sha1,
    )?;
    Ok(SignedContent {
        signer,
        other_certificates: Vec::new(),
        content: content.to_vec(),
        signing_time: None,
        nonce: None,
        card_serial: None,
    })
}

/// Decodes a certificate given as DER, PEM or base64 and checks that it parses.
pub fn decode_certificate(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    read_certificate(bytes).map(|cert| cert.der)
}

/// Decodes and parses a certificate given as DER, PEM or base64.
fn read_certificate(bytes: &[u8]) -> Result<Certificate, Error> {
    let der = input::to_binary(bytes)
        .ok_or_else(|| Error::MalformedCertificate("not DER, PEM or base64".into()))?;
    Certificate::parse(der)
}

/// The first certificate embedded in a PKCS#7 signature, without verifying anything: lets
/// operator tooling name the holder of a signature that fails.
pub fn embedded_certificate(signature: &[u8]) -> Option<Vec<u8>> {
    let binary = input::to_binary(signature)?;
    let der = tlv::ber_to_der(&binary)?;
    let raw = raw_signed_data(&der, 1).ok()?;
    raw.certificates.first().map(|c| c.to_vec())
}

/// The raw pieces of a SignedData that must be used byte-exact.
struct RawSignedData<'a> {
    certificates: Vec<&'a [u8]>,
    signed_attrs: Option<&'a [u8]>,
    signature_alg: Tlv<'a>,
}

fn verify_pkcs7(
    signature: &[u8],
    external_cert: Option<&[u8]>,
    expected: &Expected<'_>,
    allow_sha1: bool,
) -> Result<SignedContent, Error> {
    let binary = input::to_binary(signature).ok_or_else(|| malformed("not DER, PEM or base64"))?;
    let der = tlv::ber_to_der(&binary).ok_or_else(|| malformed("bad BER/DER encoding"))?;
    let info = ContentInfo::from_der(&der).map_err(|e| malformed(&e.to_string()))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(malformed("not a CMS SignedData"));
    }
    let signed: SignedData = info
        .content
        .decode_as()
        .map_err(|e| malformed(&e.to_string()))?;
    let count = signed.signer_infos.0.len();
    let raw = raw_signed_data(&der, count)?;
    if count != 1 {
        return Err(Error::SignerCount(count));
    }
    let info = signed.signer_infos.0.get(0).ok_or(Error::SignerCount(0))?;
    let signer = find_signer(&info.sid, &raw.certificates, external_cert)?;
    let content = signed_content(&signed, expected)?;
    let digest = digest_of(info)?;
    if digest == Hash::Sha1 && !allow_sha1 {
        return Err(Error::UnsupportedAlgorithm("SHA-1 is refused".into()));
    }
    let attrs = read_attributes(info, &signed)?;
    let message = match raw.signed_attrs {
        Some(raw_attrs) => {
            // Signed attributes are signed as an explicit SET OF, not with their [0] tag.
            let mut set = raw_attrs.to_vec();
            set[0] = 0x31;
            set
        }
        None => content.bytes.clone(),
    };
    algorithm::verify(
        &raw.signature_alg,
        Some(digest),
        &signer.key,
        &message,
        info.signature.as_bytes(),
        allow_sha1,
    )?;
    check_digest_and_content(&attrs, digest, &content, expected)?;
    let other_certificates = raw
        .certificates
        .iter()
        .filter(|c| **c != signer.der.as_slice())
        .map(|c| c.to_vec())
        .collect();
    Ok(SignedContent {
        signer,
        other_certificates,
        content: content.bytes,
        signing_time: attrs.signing_time,
        nonce: attrs.nonce,
        card_serial: attrs.card_serial,
    })
}

/// Walks the DER of a ContentInfo down to the byte spans typed decoding loses.
fn raw_signed_data(der: &[u8], signer_count: usize) -> Result<RawSignedData<'_>, Error> {
    let bad = || malformed("unexpected SignedData layout");
    let (content_info, _) = tlv::read(der).ok_or_else(bad)?;
    let ci = tlv::children(content_info.value).ok_or_else(bad)?;
    let explicit = ci.get(1).ok_or_else(bad)?;
    let (signed_data, _) = tlv::read(explicit.value).ok_or_else(bad)?;
    let fields = tlv::children(signed_data.value).ok_or_else(bad)?;
    let certificates = match fields.get(3) {
        Some(set) if set.tag == 0xa0 => tlv::children(set.value)
            .ok_or_else(bad)?
            .into_iter()
            .filter(|c| c.tag == 0x30)
            .map(|c| c.raw)
            .collect(),
        _ => Vec::new(),
    };
    let signer_infos = fields.last().filter(|f| f.tag == 0x31).ok_or_else(bad)?;
    let infos = tlv::children(signer_infos.value).ok_or_else(bad)?;
    if signer_count != 1 {
        return Ok(RawSignedData {
            certificates,
            signed_attrs: None,
            signature_alg: *signer_infos,
        });
    }
    let info = infos.first().ok_or_else(bad)?;
    let parts = tlv::children(info.value).ok_or_else(bad)?;
    let signed_attrs = parts.get(3).filter(|p| p.tag == 0xa0).map(|p| p.raw);
    let alg_index = if signed_attrs.is_some() { 4 } else { 3 };
    let signature_alg = *parts.get(alg_index).ok_or_else(bad)?;
    Ok(RawSignedData {
        certificates,
        signed_attrs,
        signature_alg,
    })
}

/// The certificate the SignerInfo names: embedded in the SignedData, or given beside it.
/// Each candidate is parsed once; the one that matches is the signer for the rest of the login.
fn find_signer(
    sid: &SignerIdentifier,
    embedded: &[&[u8]],
    external: Option<&[u8]>,
) -> Result<Certificate, Error> {
    for der in embedded {
        // One that does not parse cannot be the signer's; the SID decides among the rest.
        match Certificate::parse(der.to_vec()) {
            Ok(cert) if identifies(sid, &cert) => return Ok(cert),
            _ => {}
        }
    }
    let Some(external) = external else {
        return Err(Error::SignerCertificateMissing);
    };
    let cert = read_certificate(external)?;
    if identifies(sid, &cert) {
        Ok(cert)
    } else {
        Err(Error::BadSignature(
            "the given certificate is not the signer's".into(),
        ))
    }
}

fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            isn.serial_number.as_bytes() == cert.serial.as_slice()
                && isn
                    .issuer
                    .to_der()
                    .is_ok_and(|name| name == cert.issuer_der)
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            cert.subject_key_id() == Some(ski.0.as_bytes())
        }
    }
}

/// The content that was signed: attached, or the expected content for a detached signature.
struct Content {
    bytes: Vec<u8>,
    attached: bool,
}

fn signed_content(signed: &SignedData, expected: &Expected<'_>) -> Result<Content, Error> {
    match &signed.encap_content_info.econtent {
        Some(any) => {
            let octets = any
                .decode_as::<OctetString>()
                .map_err(|e| malformed(&e.to_string()))?;
            Ok(Content {
                bytes: octets.into_bytes(),
                attached: true,
            })
        }
        None => Ok(Content {
            bytes: expected.content.ok_or(Error::ContentMissing)?.to_vec(),
            attached: false,
        }),
    }
}

fn digest_of(signer: &SignerInfo) -> Result<Hash, Error> {
    Hash::from_oid(&signer.digest_alg.oid)
        .ok_or_else(|| Error::UnsupportedAlgorithm(signer.digest_alg.oid.to_string()))
}

#[derive(Default)]
struct Attributes {
    present: bool,
    message_digest: Option<Vec<u8>>,
    signing_time: Option<SystemTime>,
    nonce: Option<Vec<u8>>,
    card_serial: Option<String>,
}

fn read_attributes(signer: &SignerInfo, signed: &SignedData) -> Result<Attributes, Error> {
    let Some(attrs) = &signer.signed_attrs else {
        return Ok(Attributes::default());
    };
    let mut out = Attributes {
        present: true,
        ..Attributes::default()
    };
    for attr in attrs.iter() {
        let Some(value) = attr.values.get(0) else {
            return Err(malformed("signed attribute without a value"));
        };
        let bad = |e: der::Error| malformed(&format!("attribute {}: {e}", attr.oid));
        match attr.oid {
            ATTR_CONTENT_TYPE => {
                let oid: ObjectIdentifier = value.decode_as().map_err(bad)?;
                if oid != signed.encap_content_info.econtent_type {
                    return Err(Error::BadSignature("contentType attribute mismatch".into()));
                }
            }
            ATTR_MESSAGE_DIGEST => {
                let octets: OctetString = value.decode_as().map_err(bad)?;
                out.message_digest = Some(octets.into_bytes());
            }
            ATTR_SIGNING_TIME => {
                let time = Time::from_der(&value.to_der().map_err(bad)?).map_err(bad)?;
                out.signing_time = Some(time.to_system_time());
            }
            ATTR_RANDOM_NONCE => {
                let octets: OctetString = value.decode_as().map_err(bad)?;
                out.nonce = Some(octets.into_bytes());
            }
            ATTR_CARD_SN => out.card_serial = Some(attribute_text(value.value())),
            _ => {}
        }
    }
    Ok(out)
}

/// Card numbers arrive as some string type; keep printable text, else hex.
fn attribute_text(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(text) if text.chars().all(|c| !c.is_control()) => text.to_string(),
        _ => hex::encode(value),
    }
}

fn check_digest_and_content(
    attrs: &Attributes,
    digest: Hash,
    content: &Content,
    expected: &Expected<'_>,
) -> Result<(), Error> {
    if attrs.present {
        let signed_digest = attrs
            .message_digest
            .as_deref()
            .ok_or_else(|| malformed("signed attributes without messageDigest"))?;
        if signed_digest != digest.digest(&content.bytes).as_slice() {
            // Detached: the signer signed something else than our challenge.
            return Err(if content.attached {
                Error::BadSignature("messageDigest does not match the content".into())
            } else {
                Error::ContentMismatch
            });
        }
    }
    if let Some(want) = expected.content {
        if content.attached && content.bytes != want {
            return Err(Error::ContentMismatch);
        }
    }
    if let (Some(want), Some(got)) = (expected.nonce, attrs.nonce.as_deref()) {
        if want != got {
            return Err(Error::ContentMismatch);
        }
    }
    Ok(())
}
