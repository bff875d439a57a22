//! Cards for the core's tests: one test PKI per test binary, the certificate engine that
//! trusts it (revocation off: no responder is needed), and card signatures over challenges.

use std::sync::{Arc, OnceLock};

use base64::Engine;
use gpki_testpki::{sign_cms, CmsOptions, Leaf, LeafSpec, TestPki};
use gpki_verify::settings::CertificateSettings;

struct Pki {
    pki: TestPki,
    dir: std::path::PathBuf,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let pki = TestPki::generate();
        let dir = std::env::temp_dir().join(format!("gpki-core-pki-{}", std::process::id()));
        pki.save(&dir).expect("test PKI saved");
        Pki { pki, dir }
    })
}

/// The certificate engine trusting the test PKI.
pub fn verifier() -> Arc<gpki_verify::Verifier> {
    let dir = &pki().dir;
    let mut settings = CertificateSettings {
        trust_anchors: vec![dir.join("grca.pem")],
        intermediates: vec![dir.join("moica.pem")],
        ..CertificateSettings::default()
    };
    settings.revocation.mode = "none".into();
    Arc::new(settings.build().expect("certificate engine"))
}

/// A citizen card of the test PKI.
pub fn card(serial: u64) -> Leaf {
    pki().pki.issue_leaf(&LeafSpec {
        serial,
        ..LeafSpec::default()
    })
}

/// What the local signing service answers for `challenge`: base64 PKCS#7.
pub fn sign(leaf: &Leaf, challenge: &str) -> String {
    let options = CmsOptions {
        nonce: Some(challenge.as_bytes().to_vec()),
        ..CmsOptions::default()
    };
    let cms = sign_cms(&[leaf], challenge.as_bytes(), &options);
    base64::engine::general_purpose::STANDARD.encode(cms)
}
