//! Any bytes as a certificate (profile reading, path validation) and as a CRL.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use gpki_verify::path::TrustStore;

fn trust() -> &'static TrustStore {
    static TRUST: OnceLock<TrustStore> = OnceLock::new();
    TRUST.get_or_init(|| {
        let grca = include_bytes!("../../deploy/gpki-certs/GRCA-G3.cer").to_vec();
        let moica = include_bytes!("../../deploy/gpki-certs/MOICA-G3.cer").to_vec();
        TrustStore::new(vec![grca], vec![moica]).expect("real G3 certificates load")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(profile) = gpki_verify::profile::read(data) {
        let _ = trust().validate(data, &profile, SystemTime::now(), &Default::default());
    }
    let _ = gpki_verify::input::certificates(data);
    let _ = gpki_verify::revocation::crl::index(data, &trust().cas(), SystemTime::now(), Duration::from_secs(300));
});
