//! Card signatures: the forms the local signing service returns and every way they can be
//! wrong. Real RSA signatures over real test certificates.

mod common;

use std::time::SystemTime;

use common::{env, CHALLENGE};
use gpki_testpki::{sign_cms, sign_pkcs1, CmsOptions, Digest, LeafKey};
use gpki_verify::algorithm::Hash;
use gpki_verify::revocation::{RevocationMode, RevocationStatus};
use gpki_verify::signature::{Expected, SignatureInput};
use gpki_verify::Error;

fn expected() -> Expected<'static> {
    Expected {
        content: Some(CHALLENGE),
        nonce: None,
    }
}

fn verify_cms(
    env: &common::Env,
    cms: &[u8],
    exp: &Expected<'_>,
) -> Result<gpki_verify::Verified, Error> {
    let input = SignatureInput::Pkcs7 {
        signature: cms,
        certificate: None,
    };
    env.verifier.verify(&input, exp, SystemTime::now())
}

fn none_env() -> common::Env {
    env(RevocationMode::None, |_| {}, |_| {})
}

#[test]
fn attached_signature_with_attributes_verifies_and_reads_profile() {
    let env = none_env();
    let opts = CmsOptions {
        nonce: Some(CHALLENGE.to_vec()),
        ..CmsOptions::default()
    };
    let cms = sign_cms(&[&env.leaf], CHALLENGE, &opts);
    let exp = Expected {
        content: Some(CHALLENGE),
        nonce: Some(CHALLENGE),
    };
    let ok = verify_cms(&env, &cms, &exp).expect("valid");
    assert_eq!(ok.profile.subject_cn.as_deref(), Some("王小明"));
    assert_eq!(
        ok.profile.subject_serial_number.as_deref(),
        Some("0000000012345678")
    );
    assert_eq!(ok.profile.id_last4.as_deref(), Some("6789"));
    assert_eq!(ok.card_serial.as_deref(), Some("TP03000000123456"));
    assert!(ok.signing_time.is_some());
    assert_eq!(ok.revocation, RevocationStatus::NotChecked);
}

#[test]
fn base64_and_pem_forms_verify() {
    use base64::Engine;
    let env = none_env();
    let cms = sign_cms(&[&env.leaf], CHALLENGE, &CmsOptions::default());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&cms);
    verify_cms(&env, b64.as_bytes(), &expected()).expect("base64");
    let pem = gpki_testpki::pem_encode("PKCS7", &cms);
    verify_cms(&env, pem.as_bytes(), &expected()).expect("pem");
}

#[test]
fn ber_signature_verifies() {
    let env = none_env();
    let cms = sign_cms(
        &[&env.leaf],
        CHALLENGE,
        &CmsOptions {
            ber: true,
            ..CmsOptions::default()
        },
    );
    assert_eq!(cms[1], 0x80, "fixture must really be indefinite-length BER");
    verify_cms(&env, &cms, &expected()).expect("BER accepted");
}

#[test]
fn detached_signature_verifies_against_the_challenge() {
    let env = none_env();
    let cms = sign_cms(
        &[&env.leaf],
        CHALLENGE,
        &CmsOptions {
            attached: false,
            ..CmsOptions::default()
        },
    );
    verify_cms(&env, &cms, &expected()).expect("detached");
    let other = Expected {
        content: Some(b"another challenge"),
        nonce: None,
    };
    assert_eq!(
        verify_cms(&env, &cms, &other).unwrap_err(),
        Error::ContentMismatch
    );
    let none = Expected::default();
    assert_eq!(
        verify_cms(&env, &cms, &none).unwrap_err(),
        Error::ContentMissing
    );
}

#[test]
fn signature_without_signed_attributes_verifies() {
    let env = none_env();
    let cms = sign_cms(
        &[&env.leaf],
        CHALLENGE,
        &CmsOptions {
            signed_attrs: false,
            ..CmsOptions::default()
        },
    );
    verify_cms(&env, &cms, &expected()).expect("no attributes");
}

#[test]
fn certificate_given_beside_the_signature_is_used() {
    let env = none_env();
    let cms = sign_cms(
        &[&env.leaf],
        CHALLENGE,
        &CmsOptions {
            include_cert: false,
            ..CmsOptions::default()
        },
    );
    let err = verify_cms(&env, &cms, &expected()).unwrap_err();
    assert_eq!(err.code(), "signer_cert_missing");
    let input = SignatureInput::Pkcs7 {
        signature: &cms,
        certificate: Some(&env.leaf.der),
    };
    env.verifier
        .verify(&input, &expected(), SystemTime::now())
        .expect("certb64 used");
}

#[test]
fn pkcs1_form_verifies() {
    let env = none_env();
    let sig = sign_pkcs1(&env.leaf, CHALLENGE, Digest::Sha256);
    let input = SignatureInput::Pkcs1 {
        signature: &sig,
        certificate: &env.leaf.der,
        hash: Hash::Sha256,
    };
    env.verifier
        .verify(&input, &expected(), SystemTime::now())
        .expect("PKCS1");
    let other = Expected {
        content: Some(b"other"),
        nonce: None,
    };
    assert_eq!(
        env.verifier
            .verify(&input, &other, SystemTime::now())
            .unwrap_err()
            .code(),
        "bad_signature"
    );
}

#[test]
fn other_challenge_is_a_content_mismatch() {
    let env = none_env();
    let cms = sign_cms(
        &[&env.leaf],
        b"yesterday's challenge",
        &CmsOptions::default(),
    );
    assert_eq!(
        verify_cms(&env, &cms, &expected()).unwrap_err(),
        Error::ContentMismatch
    );
}

#[test]
fn wrong_nonce_is_a_content_mismatch() {
    let env = none_env();
    let opts = CmsOptions {
        nonce: Some(b"old nonce".to_vec()),
        ..CmsOptions::default()
    };
    let cms = sign_cms(&[&env.leaf], CHALLENGE, &opts);
    let exp = Expected {
        content: Some(CHALLENGE),
        nonce: Some(b"new nonce"),
    };
    assert_eq!(
        verify_cms(&env, &cms, &exp).unwrap_err(),
        Error::ContentMismatch
    );
}

#[test]
fn tampered_signature_is_refused() {
    let env = none_env();
    let mut cms = sign_cms(&[&env.leaf], CHALLENGE, &CmsOptions::default());
    let last = cms.len() - 10; // inside the signature value at the end
    cms[last] ^= 0x01;
    assert_eq!(
        verify_cms(&env, &cms, &expected()).unwrap_err().code(),
        "bad_signature"
    );
}

#[test]
fn forged_message_digest_is_refused() {
    let env = none_env();
    let opts = CmsOptions {
        digest_of: Some(b"something else".to_vec()),
        ..CmsOptions::default()
    };
    let cms = sign_cms(&[&env.leaf], CHALLENGE, &opts);
    assert_eq!(
        verify_cms(&env, &cms, &expected()).unwrap_err().code(),
        "bad_signature"
    );
}

#[test]
fn sha1_is_refused() {
    let env = none_env();
    let cms = sign_cms(
        &[&env.leaf],
        CHALLENGE,
        &CmsOptions {
            digest: Digest::Sha1,
            ..CmsOptions::default()
        },
    );
    assert_eq!(
        verify_cms(&env, &cms, &expected()).unwrap_err().code(),
        "unsupported_algorithm"
    );
}

#[test]
fn sha384_sha512_pss_and_ecdsa_verify() {
    let env = none_env();
    for opts in [
        CmsOptions {
            digest: Digest::Sha384,
            ..CmsOptions::default()
        },
        CmsOptions {
            digest: Digest::Sha512,
            ..CmsOptions::default()
        },
        CmsOptions {
            pss: true,
            ..CmsOptions::default()
        },
    ] {
        let cms = sign_cms(&[&env.leaf], CHALLENGE, &opts);
        verify_cms(&env, &cms, &expected()).unwrap_or_else(|e| panic!("{opts:?}: {e}"));
    }
    for (key, digest) in [
        (LeafKey::EcdsaP256, Digest::Sha256),
        (LeafKey::EcdsaP384, Digest::Sha384),
    ] {
        let ec = env_with_key(key);
        let cms = sign_cms(
            &[&ec.leaf],
            CHALLENGE,
            &CmsOptions {
                digest,
                ..CmsOptions::default()
            },
        );
        verify_cms(&ec, &cms, &expected()).unwrap_or_else(|e| panic!("{key:?}: {e}"));
    }
}

fn env_with_key(key: LeafKey) -> common::Env {
    env(RevocationMode::None, |s| s.key = key, |_| {})
}

#[test]
fn two_signers_are_refused() {
    let env = none_env();
    let second = common::pki().issue_leaf(&gpki_testpki::LeafSpec {
        serial: 77,
        ..Default::default()
    });
    let cms = sign_cms(&[&env.leaf, &second], CHALLENGE, &CmsOptions::default());
    assert_eq!(
        verify_cms(&env, &cms, &expected()).unwrap_err(),
        Error::SignerCount(2)
    );
}

#[test]
fn truncated_and_garbage_input_is_malformed_never_a_panic() {
    let env = none_env();
    let cms = sign_cms(&[&env.leaf], CHALLENGE, &CmsOptions::default());
    for cut in [0, 1, 2, 10, 100, cms.len() / 2, cms.len() - 1] {
        let err = verify_cms(&env, &cms[..cut], &expected()).unwrap_err();
        assert_eq!(err.code(), "malformed_signature", "cut at {cut}");
    }
    for garbage in [
        &b"hello"[..],
        b"\x30\x03\x02\x01",
        b"!!!!",
        b"\x30\x80",
        &[0xff; 64],
    ] {
        assert_eq!(
            verify_cms(&env, garbage, &expected()).unwrap_err().code(),
            "malformed_signature"
        );
    }
    // Every single-byte corruption either fails cleanly or (in unused bytes) still verifies.
    for i in (0..cms.len()).step_by(7) {
        let mut bad = cms.clone();
        bad[i] ^= 0x5a;
        let _ = verify_cms(&env, &bad, &expected());
    }
}

#[test]
fn error_codes_and_messages_are_stable_and_bilingual() {
    let errors = [
        Error::BadSignature(String::new()),
        Error::ContentMismatch,
        Error::CertExpired,
        Error::CertNotYetValid,
        Error::UnknownIssuer,
        Error::CertRevoked {
            by: gpki_verify::RevocationSource::Ocsp,
        },
        Error::RevocationUnavailable(Vec::new()),
        Error::MalformedSignature(String::new()),
        Error::UnsupportedAlgorithm(String::new()),
        Error::WrongKeyUsage,
        Error::PolicyNotAllowed(String::new()),
    ];
    let codes: Vec<&str> = errors.iter().map(Error::code).collect();
    assert_eq!(
        codes,
        [
            "bad_signature",
            "content_mismatch",
            "cert_expired",
            "cert_not_yet_valid",
            "unknown_issuer",
            "cert_revoked",
            "revocation_unavailable",
            "malformed_signature",
            "unsupported_algorithm",
            "wrong_key_usage",
            "policy_not_allowed"
        ]
    );
    for e in &errors {
        assert!(e
            .message_zh()
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        assert!(e.message_en().is_ascii());
    }
}

#[test]
fn tbs_encodings_give_the_signed_bytes() {
    use gpki_verify::signature::{tbs_bytes, TbsEncoding};
    assert_eq!(tbs_bytes("abc+/=", TbsEncoding::None).unwrap(), b"abc+/=");
    assert_eq!(tbs_bytes("AAEC", TbsEncoding::Base64).unwrap(), [0u8, 1, 2]);
    assert!(tbs_bytes("not base64!", TbsEncoding::Base64).is_none());
    // A challenge sent base64-encoded is signed as raw bytes and verifies against them.
    let env = none_env();
    let raw = tbs_bytes("Z3BraS1pZHAgY2hhbGxlbmdl", TbsEncoding::Base64).unwrap();
    let cms = sign_cms(&[&env.leaf], &raw, &CmsOptions::default());
    let exp = Expected {
        content: Some(&raw),
        nonce: None,
    };
    verify_cms(&env, &cms, &exp).expect("raw bytes of a base64 tbs");
}
