//! Signatures made by a trust anchor, remembered.
//!
//! Every card login walks teacher → MOICA → GRCA, and the MOICA → GRCA step checks the same
//! RSA-4096 signature over the same certificate each time. A signature check is a function
//! of the key, the message and the signature alone, so a success can be remembered under a
//! digest of the three; webpki still makes every other check of the path at every login
//! (validity at that time, names, basic constraints, key usage). Only signatures by an
//! anchor's key are remembered: anchors sign a handful of CA certificates, so the set stays
//! small, and the teacher's own certificate is checked at every login.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

/// More entries than this means something other than a few CA certificates is being
/// presented; the set then starts again rather than grow.
const MAX_REMEMBERED: usize = 1024;

/// The anchors' public keys and the digests of their signatures checked so far.
#[derive(Debug)]
pub(crate) struct AnchorSignatures {
    /// `subjectPublicKey` of each anchor, as webpki hands keys to the algorithms.
    anchor_keys: Vec<Vec<u8>>,
    checked: RwLock<HashSet<[u8; 32]>>,
}

impl AnchorSignatures {
    pub(crate) fn new(anchor_keys: Vec<Vec<u8>>) -> Arc<Self> {
        Arc::new(Self {
            anchor_keys,
            checked: RwLock::new(HashSet::new()),
        })
    }

    /// webpki's algorithms, each wrapped to remember the anchors' good signatures.
    pub(crate) fn algorithms(self: &Arc<Self>) -> Vec<Remembering> {
        webpki::ALL_VERIFICATION_ALGS
            .iter()
            .map(|inner| Remembering {
                inner: *inner,
                memory: Arc::clone(self),
            })
            .collect()
    }

    fn is_anchor_key(&self, key: &[u8]) -> bool {
        self.anchor_keys.iter().any(|k| k == key)
    }

    fn knows(&self, digest: &[u8; 32]) -> bool {
        self.checked.read().is_ok_and(|c| c.contains(digest))
    }

    fn remember(&self, digest: [u8; 32]) {
        if let Ok(mut checked) = self.checked.write() {
            if checked.len() >= MAX_REMEMBERED {
                checked.clear();
            }
            checked.insert(digest);
        }
    }

    /// How many signatures are remembered.
    pub(crate) fn len(&self) -> usize {
        self.checked.read().map_or(0, |c| c.len())
    }
}

/// One of webpki's algorithms, remembering good signatures of anchor keys.
#[derive(Debug)]
pub(crate) struct Remembering {
    inner: &'static dyn SignatureVerificationAlgorithm,
    memory: Arc<AnchorSignatures>,
}

impl Remembering {
    /// SHA-256 over the algorithms (key and signature), the key, the message and the
    /// signature, each with its length, so that no two different inputs share an encoding.
    fn digest(&self, key: &[u8], message: &[u8], signature: &[u8]) -> [u8; 32] {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        let (key_alg, sig_alg) = (
            self.inner.public_key_alg_id(),
            self.inner.signature_alg_id(),
        );
        for part in [key_alg.as_ref(), sig_alg.as_ref(), key, message, signature] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}

impl SignatureVerificationAlgorithm for Remembering {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if !self.memory.is_anchor_key(public_key) {
            return self.inner.verify_signature(public_key, message, signature);
        }
        let digest = self.digest(public_key, message, signature);
        if self.memory.knows(&digest) {
            return Ok(());
        }
        self.inner
            .verify_signature(public_key, message, signature)?;
        self.memory.remember(digest);
        Ok(())
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.inner.fips()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpki_testpki::{LeafSpec, TestPki};

    fn subject_public_key(der: &[u8]) -> Vec<u8> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
        cert.public_key().subject_public_key.data.to_vec()
    }

    /// Checks the signature on `cert` with `key`, as webpki would.
    fn check(memory: &Arc<AnchorSignatures>, key: &[u8], cert: &[u8], flip: bool) -> bool {
        let (tbs, alg, sig) = crate::tlv::split_signed(cert).unwrap();
        let mut sig = sig.to_vec();
        if flip {
            sig[10] ^= 1;
        }
        let algorithms = memory.algorithms();
        let wanted = algorithms
            .iter()
            .filter(|a| a.signature_alg_id().as_ref() == alg.value);
        wanted
            .into_iter()
            .any(|a| a.verify_signature(key, tbs, &sig).is_ok())
    }

    #[test]
    fn only_good_signatures_of_anchor_keys_are_remembered() {
        let pki = TestPki::generate();
        let anchor_key = subject_public_key(&pki.grca.der);
        let memory = AnchorSignatures::new(vec![anchor_key.clone()]);

        assert!(check(&memory, &anchor_key, &pki.moica.der, false));
        assert_eq!(
            memory.len(),
            1,
            "the anchor's signature on the intermediate"
        );
        assert!(check(&memory, &anchor_key, &pki.moica.der, false));
        assert_eq!(memory.len(), 1);

        // A forged signature fails even with the good one remembered.
        assert!(!check(&memory, &anchor_key, &pki.moica.der, true));
        assert_eq!(memory.len(), 1);

        // The intermediate's signature on a teacher's certificate is checked every time.
        let leaf = pki.issue_leaf(&LeafSpec::default());
        let moica_key = subject_public_key(&pki.moica.der);
        assert!(check(&memory, &moica_key, &leaf.der, false));
        assert!(!check(&memory, &moica_key, &leaf.der, true));
        assert_eq!(memory.len(), 1);
    }
}
