//! Path validation, purpose and policy, with test hierarchies and the real GRCA G3 / MOICA G3.

mod common;

use std::time::{Duration, SystemTime};

use common::{env, pki, stranger_pki};
use gpki_testpki::LeafSpec;
use gpki_verify::path::TrustStore;
use gpki_verify::revocation::RevocationMode;
use gpki_verify::Error;

fn verify(env: &common::Env, leaf: &gpki_testpki::Leaf) -> Result<gpki_verify::Verified, Error> {
    common::sign_and_verify(env, leaf, SystemTime::now())
}

fn check(spec: impl FnOnce(&mut LeafSpec)) -> Result<gpki_verify::Verified, Error> {
    let env = env(RevocationMode::None, spec, |_| {});
    verify(&env, &env.leaf)
}

#[test]
fn good_leaf_validates() {
    let ok = check(|_| {}).expect("valid");
    assert_eq!(
        ok.issuer.sha256,
        gpki_verify::algorithm::sha256_hex(&pki().moica.der)
    );
}

#[test]
fn expired_and_not_yet_valid_are_refused() {
    let now = time::OffsetDateTime::now_utc();
    let expired = check(|s| {
        s.not_before = now - time::Duration::days(400);
        s.not_after = now - time::Duration::days(1);
    });
    assert_eq!(expired.unwrap_err(), Error::CertExpired);
    let future = check(|s| s.not_before = now + time::Duration::days(2));
    assert_eq!(future.unwrap_err(), Error::CertNotYetValid);
}

#[test]
fn unknown_root_is_refused() {
    let env = env(RevocationMode::None, |_| {}, |_| {});
    let stranger = stranger_pki().issue_leaf(&LeafSpec::default());
    assert_eq!(verify(&env, &stranger).unwrap_err(), Error::UnknownIssuer);
}

#[test]
fn intermediate_of_another_generation_is_not_used() {
    // Same subject DN as the configured MOICA, other key: only key identifiers tell them apart.
    let env = env(RevocationMode::None, |_| {}, |_| {});
    let sibling = pki().issue_sibling_ca();
    let leaf = pki().issue_leaf_by(&sibling, &LeafSpec::default());
    assert_eq!(verify(&env, &leaf).unwrap_err(), Error::UnknownIssuer);
    // Configured, it validates: the engine picks the right one of two same-named CAs.
    let trust = TrustStore::new(
        vec![pki().grca.der.clone()],
        vec![pki().moica.der.clone(), sibling.der.clone()],
    )
    .unwrap();
    let profile = gpki_verify::profile::read(&leaf.der).unwrap();
    let path = trust
        .validate(&leaf.der, &profile, SystemTime::now(), &Default::default())
        .unwrap();
    assert_eq!(path.issuer.der, sibling.der);
}

#[test]
fn ca_certificate_as_leaf_is_refused() {
    assert_eq!(check(|s| s.is_ca = true).unwrap_err(), Error::CaUsedAsLeaf);
}

#[test]
fn missing_digital_signature_is_refused() {
    assert_eq!(
        check(|s| s.digital_signature = false).unwrap_err(),
        Error::WrongKeyUsage
    );
}

#[test]
fn eku_client_auth_or_absent_is_accepted_other_eku_is_refused() {
    check(|s| s.client_auth_eku = true).expect("clientAuth accepted");
    assert_eq!(
        check(|s| s.other_eku = true).unwrap_err(),
        Error::WrongExtendedKeyUsage
    );
}

#[test]
fn policy_allow_and_deny_lists_apply() {
    let deny = env(
        RevocationMode::None,
        |_| {},
        |c| c.policies.deny = vec![gpki_testpki::POLICY_CITIZEN.into()],
    );
    assert_eq!(
        verify(&deny, &deny.leaf).unwrap_err().code(),
        "policy_not_allowed"
    );
    let allow_other = env(
        RevocationMode::None,
        |_| {},
        |c| c.policies.allow = vec!["1.2.3.4".into()],
    );
    assert_eq!(
        verify(&allow_other, &allow_other.leaf).unwrap_err().code(),
        "policy_not_allowed"
    );
    let allow = env(
        RevocationMode::None,
        |_| {},
        |c| c.policies.allow = vec![gpki_testpki::POLICY_CITIZEN.into()],
    );
    verify(&allow, &allow.leaf).expect("allowed policy");
}

#[test]
fn bmp_string_name_is_decoded() {
    let ok = check(|s| {
        s.bmp_name = true;
        s.name = "陳美玲".into();
    })
    .unwrap();
    assert_eq!(ok.profile.subject_cn.as_deref(), Some("陳美玲"));
}

fn real(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../deploy/gpki-certs/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn shipped_real_g3_certificates_have_the_published_fingerprints() {
    assert_eq!(
        gpki_verify::algorithm::sha256_hex(&real("GRCA-G3.cer")),
        "57df6f20e04c588e85f35be8832f5d4e78958336ae3b18fb7c9bae0dfead4044"
    );
    assert_eq!(
        gpki_verify::algorithm::sha256_hex(&real("MOICA-G3.cer")),
        "ed793fd0d50a2a398049d598982cf01e75f873b532066caec238f800a06ca9da"
    );
}

#[test]
fn real_moica_g3_chains_to_grca_g3_and_is_matched_by_key_identifier() {
    let (grca, moica) = (real("GRCA-G3.cer"), real("MOICA-G3.cer"));
    let trust = TrustStore::new(vec![grca.clone()], vec![]).expect("GRCA G3 loads as anchor");
    let moica_profile = gpki_verify::profile::read(&moica).unwrap();
    assert!(moica_profile.is_ca);
    assert!(
        moica_profile
            .policies
            .iter()
            .any(|p| p == "2.16.886.101.0.3.3"),
        "{:?}",
        moica_profile.policies
    );
    let grca_profile = gpki_verify::profile::read(&grca).unwrap();
    assert_eq!(moica_profile.authority_key_id, grca_profile.subject_key_id);
    assert!(
        moica_profile.subject_dn.contains("內政部憑證管理中心"),
        "{}",
        moica_profile.subject_dn
    );
    // A CA certificate is refused as a signer, which proves the chain itself was reached.
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000); // 2027-01-15
    let err = trust
        .validate(&moica, &moica_profile, at, &Default::default())
        .unwrap_err();
    assert_eq!(err, Error::CaUsedAsLeaf);
    // The signature of GRCA G3 over MOICA G3 verifies with our algorithm code.
    let store = TrustStore::new(vec![grca], vec![moica]).expect("MOICA G3 loads as intermediate");
    assert_eq!(store.cas().len(), 2);
}

#[test]
fn missing_intermediate_is_fetched_once_from_an_allowed_aia_url() {
    let sibling = pki().issue_sibling_ca();
    let server = gpki_testpki::RevocationServer::start(pki(), &sibling);
    server.publish("moica-next.cer", sibling.der.clone());
    let url = server.file_url("moica-next.cer");
    let spec = LeafSpec {
        ca_issuers_url: Some(url.clone()),
        ..LeafSpec::default()
    };
    let leaf = pki().issue_leaf_by(&sibling, &spec);

    let off = env(RevocationMode::None, |_| {}, |_| {});
    assert_eq!(verify(&off, &leaf).unwrap_err(), Error::UnknownIssuer);
    assert_eq!(
        server.crl_hits(),
        0,
        "no download without an allowed prefix"
    );

    let base = url.trim_end_matches("moica-next.cer").to_string();
    let on = env(
        RevocationMode::None,
        |_| {},
        |c| c.aia_allowed_prefixes = vec![base],
    );
    let ok = verify(&on, &leaf).expect("issuer learned from AIA");
    assert_eq!(
        ok.issuer.sha256,
        gpki_verify::algorithm::sha256_hex(&sibling.der)
    );
    verify(&on, &leaf).expect("again, from the learned store");
    assert_eq!(server.crl_hits(), 1, "the intermediate is fetched once");

    // A CA certificate not signed by a configured anchor is never learned.
    let stranger_ca = stranger_pki().moica.der.clone();
    assert!(!on.verifier.trust().learn_intermediate(stranger_ca));
}

#[test]
fn a_remembered_anchor_signature_does_not_skip_the_intermediates_validity() {
    // The anchor's signature on MOICA is checked once and then remembered; the intermediate's
    // validity is still checked at every verification.
    let env = env(RevocationMode::None, |_| {}, |_| {});
    let long_lived = pki().issue_leaf(&LeafSpec {
        not_after: time::OffsetDateTime::now_utc() + time::Duration::days(365 * 40),
        ..LeafSpec::default()
    });
    let now = SystemTime::now();
    common::sign_and_verify(&env, &long_lived, now).expect("valid now");
    common::sign_and_verify(&env, &long_lived, now).expect("valid again, from memory");
    // The test MOICA is valid for 20 years; the teacher's certificate for 40.
    let later = now + Duration::from_secs(25 * 365 * 86400);
    assert_eq!(
        common::sign_and_verify(&env, &long_lived, later).unwrap_err(),
        Error::CertExpired
    );
}

#[test]
fn the_anchors_signature_on_the_intermediate_is_checked_once() {
    let trust = common::trust();
    let leaf = pki().issue_leaf(&LeafSpec::default());
    let profile = gpki_verify::profile::read(&leaf.der).unwrap();
    assert_eq!(trust.remembered_anchor_signatures(), 0);
    for _ in 0..3 {
        trust
            .validate(&leaf.der, &profile, SystemTime::now(), &Default::default())
            .expect("valid");
    }
    // webpki hands the anchor's key in the form it is remembered by: one entry, the root's
    // signature on MOICA; the teacher's certificate (signed by MOICA) is not remembered.
    assert_eq!(trust.remembered_anchor_signatures(), 1);
}
