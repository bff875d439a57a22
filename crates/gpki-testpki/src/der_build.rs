//! Small DER builders for the certificate extensions rcgen has no type for.

use const_oid::ObjectIdentifier;
use rcgen::CustomExtension;

/// Encodes one element.
pub fn element(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

pub fn sequence(parts: &[Vec<u8>]) -> Vec<u8> {
    element(0x30, &parts.concat())
}

pub fn oid(dotted: &str) -> Vec<u8> {
    let oid = ObjectIdentifier::new(dotted).expect("valid OID");
    element(0x06, oid.as_bytes())
}

fn arcs(dotted: &str) -> Vec<u64> {
    dotted
        .split('.')
        .map(|a| a.parse().expect("numeric arc"))
        .collect()
}

/// certificatePolicies with the given policy OIDs.
pub fn policies_extension(policies: &[&str]) -> CustomExtension {
    let infos: Vec<Vec<u8>> = policies.iter().map(|p| sequence(&[oid(p)])).collect();
    CustomExtension::from_oid_content(&arcs("2.5.29.32"), sequence(&infos))
}

/// subjectDirectoryAttributes with one PrintableString attribute.
pub fn directory_attributes_extension(attr_oid: &str, value: &str) -> CustomExtension {
    let attr = sequence(&[
        oid(attr_oid),
        element(0x31, &element(0x13, value.as_bytes())),
    ]);
    CustomExtension::from_oid_content(&arcs("2.5.29.9"), sequence(&[attr]))
}

/// authorityInfoAccess with an OCSP responder and/or a caIssuers URL.
pub fn aia_extension(ocsp_url: Option<&str>, ca_issuers: Option<&str>) -> CustomExtension {
    let mut descs = Vec::new();
    if let Some(url) = ocsp_url {
        descs.push(sequence(&[
            oid("1.3.6.1.5.5.7.48.1"),
            element(0x86, url.as_bytes()),
        ]));
    }
    if let Some(url) = ca_issuers {
        descs.push(sequence(&[
            oid("1.3.6.1.5.5.7.48.2"),
            element(0x86, url.as_bytes()),
        ]));
    }
    CustomExtension::from_oid_content(&arcs("1.3.6.1.5.5.7.1.1"), sequence(&descs))
}
