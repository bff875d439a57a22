//! Any bytes as a card signature (PKCS#7 in every encoding, and the PKCS1 form): must return
//! an error or a result, never panic or hang.
#![no_main]

use gpki_verify::algorithm::Hash;
use gpki_verify::signature::{self, Expected, SignatureInput};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let expected = Expected { content: Some(b"challenge"), nonce: Some(b"challenge") };
    let pkcs7 = SignatureInput::Pkcs7 { signature: data, certificate: None };
    let _ = signature::verify(&pkcs7, &expected, false);
    let _ = signature::embedded_certificate(data);
    let (sig, cert) = data.split_at(data.len() / 2);
    let pkcs1 = SignatureInput::Pkcs1 { signature: sig, certificate: cert, hash: Hash::Sha256 };
    let _ = signature::verify(&pkcs1, &expected, false);
});
