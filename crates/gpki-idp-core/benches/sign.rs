//! ID token signatures per second on one core, as the token endpoint makes them
//! (`SigningKey::sign_jwt`: header and claims encoded, then signed with aws-lc-rs), with an
//! RS256 (RSA-2048) and an ES256 (P-256) key. Figures are in docs/BENCHMARKS.md; run pinned:
//! `cargo bench -p gpki-idp-core --bench sign --no-run`, then the binary it names under
//! `taskset -c 0`.

use std::time::{Duration, Instant};

use gpki_idp_core::keys::{Alg, SigningKey};
use serde_json::json;

/// How long each algorithm is measured, after as long again of warm-up.
const MEASURED: Duration = Duration::from_secs(3);

fn main() {
    // The claims of a refresh grant's ID token, with values of their usual length.
    let claims = json!({
        "iss": "https://idp.example.edu.tw/schools/demo",
        "sub": "3q2-7wEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "aud": "demo-portal",
        "exp": 1_800_000_300, "iat": 1_800_000_000, "auth_time": 1_800_000_000,
        "acr": "urn:gpki-idp:acr:password", "amr": ["pwd"],
        "at_hash": "x2Yf1nqHwqz8B5V0Yt5bxg",
        "name": "王小明老師", "preferred_username": "teacher", "school": "demo",
        "roles": ["teacher"],
    });
    for alg in [Alg::Rs256, Alg::Es256] {
        let key = SigningKey::load(&SigningKey::generate(alg).unwrap()).unwrap();
        signatures_for(&key, &claims, MEASURED);
        let count = signatures_for(&key, &claims, MEASURED);
        let per_second = count as f64 / MEASURED.as_secs_f64();
        println!(
            "{}: {per_second:.0} ID tokens signed per second ({:.1} µs each)",
            alg.name(),
            1e6 / per_second
        );
    }
}

/// Signs ID tokens for `time`; how many.
fn signatures_for(key: &SigningKey, claims: &serde_json::Value, time: Duration) -> u64 {
    let end = Instant::now() + time;
    let mut count = 0;
    while Instant::now() < end {
        std::hint::black_box(key.sign_jwt(std::hint::black_box(claims)).unwrap());
        count += 1;
    }
    count
}
