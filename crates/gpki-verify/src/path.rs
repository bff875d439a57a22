//! Path validation: from the signer's certificate through a configured intermediate (MOICA
//! G2/G3) to a configured trust anchor (GRCA G2/G3), with rustls-webpki; plus the checks
//! webpki leaves to us: keyUsage digitalSignature and certificate policies.
//!
//! All MOICA generations share one subject DN, so intermediates are picked by key identifier
//! (leaf AKI = CA SKI) before webpki tries signatures; that also saves an RSA-4096
//! verification per wrong candidate. The anchors' signatures on intermediates, the same at
//! every login, are checked once and remembered (`anchor_signatures`).

use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, KeyUsage};

use crate::anchor_signatures::{AnchorSignatures, Remembering};
use crate::certificate::Certificate;
use crate::profile::CertProfile;
use crate::Error;

/// A CA certificate of the trust store: parsed once when loaded, with what revocation
/// checking needs of it (subject DN and key for OCSP, fingerprint for CRLs).
pub type CaCertificate = Certificate;

fn parse_ca(der: Vec<u8>) -> Result<Arc<CaCertificate>, Error> {
    Certificate::parse(der)
        .map(Arc::new)
        .map_err(|e| Error::Config(format!("CA certificate unreadable: {e}")))
}

/// Which certificate policies a signer certificate may carry.
#[derive(Clone, Debug, Default)]
pub struct PolicyRules {
    /// When non-empty, the certificate must carry at least one of these policy OIDs.
    pub allow: Vec<String>,
    /// The certificate must carry none of these.
    pub deny: Vec<String>,
}

/// Configured trust anchors and intermediates, plus intermediates learned at run time (AIA
/// caIssuers) that a configured anchor signed.
pub struct TrustStore {
    anchors: Vec<Arc<CaCertificate>>,
    intermediates: Vec<Arc<CaCertificate>>,
    learned: RwLock<Vec<Arc<CaCertificate>>>,
    webpki_anchors: Vec<TrustAnchor<'static>>,
    /// webpki's algorithms, remembering the anchors' good signatures.
    algorithms: Vec<Remembering>,
    anchor_signatures: Arc<AnchorSignatures>,
}

/// A signer certificate that chains to a trust anchor.
#[derive(Clone, Debug)]
pub struct ValidatedPath {
    /// The certificate that issued the signer's certificate.
    pub issuer: Arc<CaCertificate>,
    /// SHA-256 fingerprints from the signer's issuer up to the anchor.
    pub chain: Vec<String>,
}

impl TrustStore {
    /// Builds a store from DER trust anchors and intermediates.
    pub fn new(anchors: Vec<Vec<u8>>, intermediates: Vec<Vec<u8>>) -> Result<Self, Error> {
        if anchors.is_empty() {
            return Err(Error::Config("no trust anchor configured".into()));
        }
        let anchors: Vec<Arc<CaCertificate>> = anchors
            .into_iter()
            .map(parse_ca)
            .collect::<Result<_, _>>()?;
        let intermediates = intermediates
            .into_iter()
            .map(parse_ca)
            .collect::<Result<_, _>>()?;
        let webpki_anchors = anchors
            .iter()
            .map(|a| {
                webpki::anchor_from_trusted_cert(&CertificateDer::from(a.der.as_slice()))
                    .map(|ta| ta.to_owned())
                    .map_err(|e| Error::Config(format!("trust anchor unusable: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let anchor_keys = anchors.iter().map(|a| a.key.key_bits().to_vec()).collect();
        let anchor_signatures = AnchorSignatures::new(anchor_keys);
        Ok(Self {
            anchors,
            intermediates,
            learned: RwLock::new(Vec::new()),
            webpki_anchors,
            algorithms: anchor_signatures.algorithms(),
            anchor_signatures,
        })
    }

    /// How many signatures of the trust anchors (on intermediates) are remembered as checked.
    pub fn remembered_anchor_signatures(&self) -> usize {
        self.anchor_signatures.len()
    }

    /// All CA certificates: anchors, configured intermediates, learned intermediates.
    pub fn cas(&self) -> Vec<Arc<CaCertificate>> {
        let mut all: Vec<_> = self
            .anchors
            .iter()
            .chain(self.intermediates.iter())
            .cloned()
            .collect();
        all.extend(self.learned_intermediates());
        all
    }

    fn learned_intermediates(&self) -> Vec<Arc<CaCertificate>> {
        self.learned.read().map(|l| l.clone()).unwrap_or_default()
    }

    /// Adds an intermediate found at run time, if it is a CA certificate signed by one of the
    /// configured anchors. Returns whether it was added (false when known or refused).
    pub fn learn_intermediate(&self, der: Vec<u8>) -> bool {
        let Ok(ca) = Certificate::parse(der) else {
            return false;
        };
        let signed_by_anchor = crate::tlv::split_signed(&ca.der).is_some_and(|(tbs, alg, sig)| {
            self.anchors
                .iter()
                .any(|a| crate::algorithm::verify(&alg, None, &a.key, tbs, sig, false).is_ok())
        });
        if !ca.profile.is_ca || !signed_by_anchor || self.cas().iter().any(|c| c.der == ca.der) {
            return false;
        }
        match self.learned.write() {
            Ok(mut learned) => {
                learned.push(Arc::new(ca));
                true
            }
            Err(_) => false,
        }
    }

    /// Validates `leaf` at `at`, including keyUsage and policies.
    pub fn validate(
        &self,
        leaf: &[u8],
        leaf_profile: &CertProfile,
        at: SystemTime,
        policies: &PolicyRules,
    ) -> Result<ValidatedPath, Error> {
        if leaf_profile.is_ca {
            return Err(Error::CaUsedAsLeaf);
        }
        let leaf_der = CertificateDer::from(leaf);
        let ee = EndEntityCert::try_from(&leaf_der)
            .map_err(|e| Error::MalformedCertificate(format!("{e:?}")))?;
        let candidates = self.intermediates_for(leaf_profile);
        let candidate_ders: Vec<CertificateDer<'_>> = candidates
            .iter()
            .map(|c| CertificateDer::from(c.der.as_slice()))
            .collect();
        let time = unix_time(at);
        let algorithms: Vec<&dyn SignatureVerificationAlgorithm> = self
            .algorithms
            .iter()
            .map(|a| a as &dyn SignatureVerificationAlgorithm)
            .collect();
        let path = ee
            .verify_for_usage(
                &algorithms,
                &self.webpki_anchors,
                &candidate_ders,
                time,
                KeyUsage::client_auth(),
                None,
                None,
            )
            .map_err(map_webpki_error)?;
        check_key_usage(leaf_profile)?;
        check_policies(leaf_profile, policies)?;
        let issuer_der: Option<Vec<u8>> = path
            .intermediate_certificates()
            .next()
            .map(|c| c.der().to_vec());
        let issuer = match issuer_der {
            Some(der) => candidates.iter().find(|c| c.der == der),
            // webpki hands back one of our anchors; they are in the order of `self.anchors`.
            None => self
                .webpki_anchors
                .iter()
                .position(|a| a == path.anchor())
                .and_then(|i| self.anchors.get(i)),
        }
        .ok_or(Error::UnknownIssuer)?;
        let chain = path
            .intermediate_certificates()
            .map(|c| crate::algorithm::sha256_hex(c.der().as_ref()))
            .collect();
        Ok(ValidatedPath {
            issuer: Arc::clone(issuer),
            chain,
        })
    }

    /// Intermediates whose SKI matches the leaf's AKI; all of them when none match or the
    /// leaf has no AKI (webpki then chooses by name and signature).
    fn intermediates_for(&self, leaf: &CertProfile) -> Vec<Arc<CaCertificate>> {
        let mut all = self.intermediates.clone();
        all.extend(self.learned_intermediates());
        let Some(aki) = leaf.authority_key_id.as_deref() else {
            return all;
        };
        let matching: Vec<_> = all
            .iter()
            .filter(|c| c.profile.subject_key_id.as_deref() == Some(aki))
            .cloned()
            .collect();
        if matching.is_empty() {
            all
        } else {
            matching
        }
    }
}

fn unix_time(at: SystemTime) -> UnixTime {
    let secs = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
}

fn check_key_usage(profile: &CertProfile) -> Result<(), Error> {
    if profile.key_usage.iter().any(|k| k == "digitalSignature") {
        Ok(())
    } else {
        Err(Error::WrongKeyUsage)
    }
}

fn check_policies(profile: &CertProfile, rules: &PolicyRules) -> Result<(), Error> {
    if let Some(denied) = profile.policies.iter().find(|p| rules.deny.contains(p)) {
        return Err(Error::PolicyNotAllowed(denied.clone()));
    }
    if !rules.allow.is_empty() && !profile.policies.iter().any(|p| rules.allow.contains(p)) {
        return Err(Error::PolicyNotAllowed(profile.policies.join(",")));
    }
    Ok(())
}

fn map_webpki_error(e: webpki::Error) -> Error {
    use webpki::Error as W;
    match e {
        W::CertExpired { .. } => Error::CertExpired,
        W::CertNotValidYet { .. } => Error::CertNotYetValid,
        // Same-named CA, other key (another generation or a forgery): not our issuer.
        W::UnknownIssuer | W::InvalidSignatureForPublicKey => Error::UnknownIssuer,
        W::CaUsedAsEndEntity => Error::CaUsedAsLeaf,
        W::RequiredEkuNotFoundContext(_) => Error::WrongExtendedKeyUsage,
        W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            Error::UnsupportedAlgorithm(format!("{e:?}"))
        }
        W::BadDer | W::BadDerTime | W::TrailingData(_) => {
            Error::MalformedCertificate(format!("{e:?}"))
        }
        #[allow(deprecated)]
        W::RequiredEkuNotFound => Error::WrongExtendedKeyUsage,
        #[allow(deprecated)]
        W::UnsupportedSignatureAlgorithm | W::UnsupportedSignatureAlgorithmForPublicKey => {
            Error::UnsupportedAlgorithm(format!("{e:?}"))
        }
        other => Error::InvalidPath(format!("{other:?}")),
    }
}
