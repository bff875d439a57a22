//! Decoding what operators and browsers hand us: DER, BER, PEM, or base64 with or without
//! line breaks (standard or URL-safe alphabet, padded or not).

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;

/// Returns the binary encoding behind `input`, which may be binary already.
///
/// Binary is recognised by a leading SEQUENCE tag (0x30), which no base64 or PEM text starts
/// with. Otherwise PEM armour lines are dropped and the rest is base64-decoded.
pub fn to_binary(input: &[u8]) -> Option<Vec<u8>> {
    if input.first() == Some(&0x30) {
        return Some(input.to_vec());
    }
    let text = std::str::from_utf8(input).ok()?;
    let body: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .flat_map(|line| line.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    decode_base64(body.trim_end_matches('='))
}

/// Decodes base64 in either alphabet, ignoring padding.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim().trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .ok()
}

/// All certificates in a file: one DER certificate, or any number of PEM blocks.
pub fn certificates(input: &[u8]) -> Option<Vec<Vec<u8>>> {
    if input.first() == Some(&0x30) {
        return Some(vec![input.to_vec()]);
    }
    let text = std::str::from_utf8(input).ok()?;
    if !text.contains("-----BEGIN") {
        return to_binary(input).map(|der| vec![der]);
    }
    let mut certs = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----BEGIN") {
            current = Some(String::new());
        } else if line.starts_with("-----END") {
            certs.push(decode_base64(&current.take()?)?);
        } else if let Some(body) = current.as_mut() {
            body.push_str(line);
        }
    }
    (!certs.is_empty()).then_some(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_der_pem_and_wrapped_base64() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        assert_eq!(to_binary(&der).unwrap(), der);
        assert_eq!(to_binary(b"MAMCAQU=").unwrap(), der);
        assert_eq!(to_binary(b"MAMC\r\nAQU").unwrap(), der);
        let pem = b"-----BEGIN PKCS7-----\nMAMCAQU=\n-----END PKCS7-----\n";
        assert_eq!(to_binary(pem).unwrap(), der);
        assert!(to_binary(b"not base64 !!").is_none());
        assert!(to_binary(&[0xff, 0xfe]).is_none());
    }

    #[test]
    fn reads_several_pem_certificates() {
        let pem = "-----BEGIN CERTIFICATE-----\nMAMCAQU=\n-----END CERTIFICATE-----\n\
                   -----BEGIN CERTIFICATE-----\nMAMCAQY=\n-----END CERTIFICATE-----\n";
        assert_eq!(certificates(pem.as_bytes()).unwrap().len(), 2);
    }
}
