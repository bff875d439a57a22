//! Decoding what operators and browsers hand us: DER, BER, PEM, or base64 with or without
//! line breaks (standard or URL-safe alphabet, padded or not). PEM is decoded by RustCrypto's
//! `pem-rfc7468` (through `der`, as x509-cert uses it).

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use der::pem;

const PEM_BEGIN: &str = "-----BEGIN ";
const PEM_END: &str = "-----END ";

/// Returns the binary encoding behind `input`, which may be binary already.
///
/// Binary is recognised by a leading SEQUENCE tag (0x30), which no base64 or PEM text starts
/// with. PEM gives its first block; any other text is base64-decoded.
pub fn to_binary(input: &[u8]) -> Option<Vec<u8>> {
    if input.first() == Some(&0x30) {
        return Some(input.to_vec());
    }
    let text = std::str::from_utf8(input).ok()?;
    if text.contains(PEM_BEGIN) {
        return pem_blocks(text)?.into_iter().next();
    }
    let body: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    decode_base64(&body)
}

/// Decodes base64 in either alphabet, ignoring padding.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim().trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(text)
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .ok()
}

/// All certificates in a file: one DER certificate, any number of PEM blocks, or base64.
pub fn certificates(input: &[u8]) -> Option<Vec<Vec<u8>>> {
    if input.first() == Some(&0x30) {
        return Some(vec![input.to_vec()]);
    }
    let text = std::str::from_utf8(input).ok()?;
    if !text.contains(PEM_BEGIN) {
        return to_binary(input).map(|der| vec![der]);
    }
    pem_blocks(text)
}

/// Every PEM block of `text`, decoded; `None` if any block is not valid PEM.
fn pem_blocks(text: &str) -> Option<Vec<Vec<u8>>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(begin) = rest.find(PEM_BEGIN) {
        // pem-rfc7468 reads one block: cut after the line of its END boundary.
        let after_end = begin + rest[begin..].find(PEM_END)? + PEM_END.len();
        let block_end = rest[after_end..]
            .find('\n')
            .map_or(rest.len(), |i| after_end + i + 1);
        let block = &rest[begin..block_end];
        let mut decoder = pem::Decoder::new_wrapped(block.as_bytes(), line_width(block)).ok()?;
        let mut der = Vec::new();
        decoder.decode_to_end(&mut der).ok()?;
        blocks.push(der);
        rest = &rest[block_end..];
    }
    (!blocks.is_empty()).then_some(blocks)
}

/// The width the block's base64 is wrapped at: 64 by RFC 7468, but other tools wrap at 76
/// (MIME) and the decoder wants the width it must check every line against.
fn line_width(block: &str) -> usize {
    let first_line = block.lines().nth(1).map_or(0, |l| l.trim_end().len());
    if first_line < 4 {
        64
    } else {
        first_line
    }
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

    #[test]
    fn pem_at_any_width_with_text_around_and_bad_pem_refused() {
        use base64::engine::general_purpose::STANDARD;
        let der: Vec<u8> = (0..=200u8).collect();
        let b64 = STANDARD.encode(&der);
        for width in [64, 76] {
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(width)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let pem = format!(
                "issued by a test\r\n-----BEGIN CERTIFICATE-----\r\n{}\r\n-----END CERTIFICATE-----\r\n",
                lines.join("\r\n")
            );
            assert_eq!(certificates(pem.as_bytes()).unwrap(), vec![der.clone()]);
            assert_eq!(to_binary(pem.as_bytes()).unwrap(), der);
        }
        let bad = "-----BEGIN CERTIFICATE-----\nMAMC!QU=\n-----END CERTIFICATE-----\n";
        assert!(certificates(bad.as_bytes()).is_none());
        let unterminated = "-----BEGIN CERTIFICATE-----\nMAMCAQU=\n";
        assert!(to_binary(unterminated.as_bytes()).is_none());
    }
}
