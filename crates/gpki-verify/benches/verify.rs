//! Full verification of a card signature (CMS + chain + cached OCSP answer), and indexing a
//! 400,000-entry CRL. Figures are recorded in docs/BENCHMARKS.md; run pinned to one core:
//! `taskset -c 0 cargo bench -p gpki-verify --bench verify`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{criterion_group, criterion_main, Criterion};
use gpki_testpki::{sign_cms, CmsOptions, LeafSpec, RevocationServer, TestPki};
use gpki_verify::path::TrustStore;
use gpki_verify::revocation::fetch::UreqFetcher;
use gpki_verify::revocation::RevocationMode;
use gpki_verify::signature::{Expected, SignatureInput};
use gpki_verify::{Verifier, VerifierConfig};

const CHALLENGE: &[u8] = b"gpki-idp benchmark challenge 0123456789abcdef";

fn engine(pki: &TestPki, mode: RevocationMode) -> Verifier {
    let trust = TrustStore::new(vec![pki.grca.der.clone()], vec![pki.moica.der.clone()]).unwrap();
    let mut config = VerifierConfig::default();
    config.revocation.mode = mode;
    let fetcher = Arc::new(UreqFetcher::new(Duration::from_secs(2), 64 << 20));
    Verifier::new(trust, config, fetcher)
}

fn full_verification(c: &mut Criterion) {
    let pki = TestPki::generate();
    let server = RevocationServer::start(&pki, &pki.moica);
    let leaf = pki.issue_leaf(&LeafSpec {
        ocsp_url: Some(server.ocsp_url()),
        ..LeafSpec::default()
    });
    let cms = sign_cms(
        &[&leaf],
        CHALLENGE,
        &CmsOptions {
            nonce: Some(CHALLENGE.to_vec()),
            ..CmsOptions::default()
        },
    );
    let input = SignatureInput::Pkcs7 {
        signature: &cms,
        certificate: None,
    };
    let expected = Expected {
        content: Some(CHALLENGE),
        nonce: Some(CHALLENGE),
    };

    let cached = engine(&pki, RevocationMode::OcspThenCrl);
    cached
        .verify(&input, &expected, SystemTime::now())
        .expect("warm the OCSP cache");
    c.bench_function("verify: CMS + chain + cached OCSP", |b| {
        b.iter(|| cached.verify(&input, &expected, SystemTime::now()).unwrap())
    });
    assert_eq!(server.ocsp_hits(), 1, "the benchmark must run on the cache");

    let no_revocation = engine(&pki, RevocationMode::None);
    c.bench_function("verify: CMS + chain, no revocation", |b| {
        b.iter(|| {
            no_revocation
                .verify(&input, &expected, SystemTime::now())
                .unwrap()
        })
    });
    c.bench_function("signature only: CMS parse + RSA-2048 verify", |b| {
        b.iter(|| gpki_verify::signature::verify(&input, &expected, false).unwrap())
    });
}

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn crl_index(c: &mut Criterion) {
    let pki = TestPki::generate();
    let now = time::OffsetDateTime::now_utc();
    // 16-byte serials like MOICA's, 400,000 entries.
    let revoked: Vec<Vec<u8>> = (0u64..400_000)
        .map(|i| {
            let mut s = vec![0x5a; 8];
            s.extend_from_slice(&(i * 7919 + 1).to_be_bytes());
            s
        })
        .collect();
    let der = pki.crl(&pki.moica, &revoked, now, now + time::Duration::days(7));
    let trust = TrustStore::new(vec![pki.grca.der.clone()], vec![pki.moica.der.clone()]).unwrap();
    let index = || {
        gpki_verify::revocation::crl::index(
            &der,
            &trust.cas(),
            SystemTime::now(),
            Duration::from_secs(300),
        )
        .unwrap()
    };
    let before = vm_rss_kib();
    let kept = index();
    let after = vm_rss_kib();
    eprintln!(
        "CRL: {} bytes DER, {} entries, index heap {} KiB, process RSS growth while indexing {} KiB",
        der.len(),
        kept.entries,
        kept.heap_bytes() / 1024,
        after.saturating_sub(before)
    );
    assert!(kept.is_revoked(&revoked[123_456]));
    let mut group = c.benchmark_group("crl");
    group.sample_size(10);
    group.bench_function("index 400k-entry CRL (verify signature + build)", |b| {
        b.iter(index)
    });
    group.bench_function("lookup in 400k-entry index", |b| {
        b.iter(|| kept.is_revoked(&revoked[200_000]))
    });
    group.finish();
}

criterion_group!(benches, full_verification, crl_index);
criterion_main!(benches);
