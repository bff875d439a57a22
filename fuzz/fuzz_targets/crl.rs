//! Any bytes as a CRL: every parsing step (layout, times, extensions, the entry index) without
//! the signature check, so that unsigned input reaches them all; then the whole load with the
//! real G3 CAs. Must return an error or a count, never panic or hang.
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
    let _ = gpki_verify::revocation::crl::fuzz_parse(data);
    let _ = gpki_verify::revocation::crl::index(
        data,
        &trust().cas(),
        SystemTime::now(),
        Duration::from_secs(300),
    );
});
