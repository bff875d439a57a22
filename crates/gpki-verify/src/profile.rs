//! The holder's profile, read from a citizen certificate: who it names, who issued it, where
//! its revocation status is published, and its fingerprints. Bind users by certificate
//! (fingerprint or issuer + serial), never by name.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::X509Certificate;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use crate::algorithm::sha256_hex;
use crate::tlv;
use crate::Error;

const OID_COMMON_NAME: &str = "2.5.4.3";
const OID_SERIAL_NUMBER: &str = "2.5.4.5";
const OID_SUBJECT_DIRECTORY_ATTRIBUTES: &str = "2.5.29.9";
/// The last four digits of the holder's national ID, in subjectDirectoryAttributes.
const OID_ID_LAST4: &str = "2.16.886.1.100.2.51";
const OID_OCSP: &str = "1.3.6.1.5.5.7.48.1";
const OID_CA_ISSUERS: &str = "1.3.6.1.5.5.7.48.2";

/// What a certificate says about its holder and issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertProfile {
    /// Subject common name (the holder's name), decoded from UTF8/Printable/BMP/Teletex.
    pub subject_cn: Option<String>,
    /// Subject serialNumber (16 characters on citizen certificates).
    pub subject_serial_number: Option<String>,
    /// Last four digits of the national ID (attribute 2.16.886.1.100.2.51), when present.
    pub id_last4: Option<String>,
    pub subject_dn: String,
    pub issuer_dn: String,
    /// Certificate serial number, lower-case hex without leading zero bytes.
    pub serial_hex: String,
    pub not_before: String,
    pub not_after: String,
    /// SHA-256 of the certificate DER, hex.
    pub sha256: String,
    /// SHA-256 of the SubjectPublicKeyInfo DER, hex.
    pub spki_sha256: String,
    pub subject_key_id: Option<String>,
    pub authority_key_id: Option<String>,
    pub policies: Vec<String>,
    pub key_usage: Vec<String>,
    pub extended_key_usage: Vec<String>,
    pub crl_urls: Vec<String>,
    pub ocsp_urls: Vec<String>,
    pub ca_issuer_urls: Vec<String>,
    pub is_ca: bool,
    #[serde(skip)]
    pub not_before_unix: i64,
    #[serde(skip)]
    pub not_after_unix: i64,
}

/// Reads the profile of a DER certificate (operator tools; the engine reads profiles through
/// the certificate module, which parses once for every use).
pub fn read(der: &[u8]) -> Result<CertProfile, Error> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| Error::MalformedCertificate(e.to_string()))?;
    Ok(from_parsed(der, &cert))
}

/// The profile of `cert`, already parsed from `der`.
pub(crate) fn from_parsed(der: &[u8], cert: &X509Certificate<'_>) -> CertProfile {
    let validity = cert.validity();
    let mut profile = CertProfile {
        subject_cn: first_attribute(cert.subject(), OID_COMMON_NAME),
        subject_serial_number: first_attribute(cert.subject(), OID_SERIAL_NUMBER),
        id_last4: None,
        subject_dn: dn_string(cert.subject()),
        issuer_dn: dn_string(cert.issuer()),
        serial_hex: serial_hex(cert.raw_serial()),
        not_before: rfc3339(validity.not_before.timestamp()),
        not_after: rfc3339(validity.not_after.timestamp()),
        sha256: sha256_hex(der),
        spki_sha256: sha256_hex(cert.public_key().raw),
        subject_key_id: None,
        authority_key_id: None,
        policies: Vec::new(),
        key_usage: key_usage(cert),
        extended_key_usage: Vec::new(),
        crl_urls: Vec::new(),
        ocsp_urls: Vec::new(),
        ca_issuer_urls: Vec::new(),
        is_ca: cert.is_ca(),
        not_before_unix: validity.not_before.timestamp(),
        not_after_unix: validity.not_after.timestamp(),
    };
    read_extensions(cert, &mut profile);
    profile
}

fn read_extensions(cert: &X509Certificate<'_>, profile: &mut CertProfile) {
    for ext in cert.extensions() {
        if ext.oid.to_id_string() == OID_SUBJECT_DIRECTORY_ATTRIBUTES {
            profile.id_last4 = directory_attribute(ext.value, OID_ID_LAST4);
        }
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => {
                profile.subject_key_id = Some(hex::encode(id.0));
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                profile.authority_key_id = aki.key_identifier.as_ref().map(|id| hex::encode(id.0));
            }
            ParsedExtension::CertificatePolicies(policies) => {
                profile.policies = policies
                    .iter()
                    .map(|p| p.policy_id.to_id_string())
                    .collect();
            }
            ParsedExtension::CRLDistributionPoints(points) => {
                for point in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &point.distribution_point
                    {
                        profile.crl_urls.extend(uris(names));
                    }
                }
            }
            ParsedExtension::AuthorityInfoAccess(aia) => {
                for desc in &aia.accessdescs {
                    let url = uris(std::slice::from_ref(&desc.access_location));
                    match desc.access_method.to_id_string().as_str() {
                        OID_OCSP => profile.ocsp_urls.extend(url),
                        OID_CA_ISSUERS => profile.ca_issuer_urls.extend(url),
                        _ => {}
                    }
                }
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let mut names = Vec::new();
                if eku.client_auth {
                    names.push("clientAuth".to_string());
                }
                if eku.ocsp_signing {
                    names.push("OCSPSigning".to_string());
                }
                if eku.email_protection {
                    names.push("emailProtection".to_string());
                }
                names.extend(eku.other.iter().map(|o| o.to_id_string()));
                profile.extended_key_usage = names;
            }
            _ => {}
        }
    }
}

fn uris(names: &[GeneralName<'_>]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| match n {
            GeneralName::URI(uri) => Some(uri.to_string()),
            _ => None,
        })
        .collect()
}

fn key_usage(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(ku)) = cert.key_usage() else {
        return Vec::new();
    };
    let ku = ku.value;
    let flags = [
        (ku.digital_signature(), "digitalSignature"),
        (ku.non_repudiation(), "nonRepudiation"),
        (ku.key_encipherment(), "keyEncipherment"),
        (ku.data_encipherment(), "dataEncipherment"),
        (ku.key_agreement(), "keyAgreement"),
        (ku.key_cert_sign(), "keyCertSign"),
        (ku.crl_sign(), "cRLSign"),
    ];
    flags
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, name)| name.to_string())
        .collect()
}

fn first_attribute(name: &X509Name<'_>, oid: &str) -> Option<String> {
    name.iter_attributes()
        .find(|a| a.attr_type().to_id_string() == oid)
        .and_then(attribute_string)
}

/// Decodes a directory string of any of the types certificates use.
fn attribute_string(attr: &AttributeTypeAndValue<'_>) -> Option<String> {
    let value = attr.attr_value();
    decode_string(value.header.tag(), value.data)
}

fn decode_string(tag: Tag, data: &[u8]) -> Option<String> {
    match tag {
        Tag::BmpString => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        Tag::UniversalString => data
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        // T.61 fields in the wild carry Latin-1 or UTF-8.
        Tag::TeletexString => Some(
            std::str::from_utf8(data)
                .map(str::to_string)
                .unwrap_or_else(|_| data.iter().map(|&b| b as char).collect()),
        ),
        _ => std::str::from_utf8(data).ok().map(str::to_string),
    }
}

/// A readable DN, most significant first as x509-parser prints it, with BMP names decoded.
fn dn_string(name: &X509Name<'_>) -> String {
    let parts: Vec<String> = name
        .iter_attributes()
        .map(|a| {
            let key = match a.attr_type().to_id_string().as_str() {
                "2.5.4.6" => "C".to_string(),
                "2.5.4.10" => "O".to_string(),
                "2.5.4.11" => "OU".to_string(),
                OID_COMMON_NAME => "CN".to_string(),
                OID_SERIAL_NUMBER => "serialNumber".to_string(),
                other => other.to_string(),
            };
            let value = attribute_string(a).unwrap_or_else(|| hex::encode(a.attr_value().data));
            format!("{key}={value}")
        })
        .collect();
    parts.join(", ")
}

/// Hex of a serial number without the DER sign byte.
pub fn serial_hex(raw: &[u8]) -> String {
    let trimmed = match raw {
        [0, rest @ ..] if !rest.is_empty() => rest,
        _ => raw,
    };
    hex::encode(trimmed)
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Finds a string attribute in a SubjectDirectoryAttributes value
/// (`SEQUENCE OF Attribute { type, SET OF value }`). x509-parser leaves this extension
/// unparsed, so its value is walked here (a few TLVs, no second parse of the certificate).
fn directory_attribute(ext_value: &[u8], wanted: &str) -> Option<String> {
    let (seq, _) = tlv::read(ext_value)?;
    for attr in tlv::children(seq.value)? {
        let parts = tlv::children(attr.value)?;
        let oid = const_oid::ObjectIdentifier::from_bytes(parts.first()?.value).ok()?;
        if oid.to_string() != wanted {
            continue;
        }
        let values = tlv::children(parts.get(1)?.value)?;
        let value = values.first()?;
        return decode_string(Tag(u32::from(value.tag & 0x1f)), value.value);
    }
    None
}
