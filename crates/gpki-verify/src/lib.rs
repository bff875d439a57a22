//! gpki-verify: the certificate engine of gpki-idp.
//!
//! It takes what a citizen card's local signing service returned (a CMS SignedData or a bare
//! PKCS#1 signature with its certificate), checks that it signs exactly the challenge we
//! issued, validates the signer's certificate to the configured GRCA trust anchors through
//! the configured MOICA intermediates, checks revocation (OCSP, CRL), and returns the holder's
//! profile. It has no web and no database code.
//!
//! A verification reads as: [`signature`] → [`path`] → [`revocation`] → [`profile`]; every
//! refusal is one [`Error`] with a stable code.

pub mod algorithm;
mod anchor_signatures;
pub mod certificate;
pub mod error;
pub mod input;
pub mod path;
pub mod profile;
pub mod revocation;
pub mod settings;
pub mod signature;
mod tlv;
mod verifier;

pub use certificate::Certificate;
pub use error::{Error, RevocationSource, SourceFailure};
pub use path::{PolicyRules, TrustStore};
pub use profile::CertProfile;
pub use revocation::fetch::{FetchError, HttpFetcher, UreqFetcher};
pub use revocation::{
    CrlRound, RevocationChecker, RevocationConfig, RevocationMode, RevocationStatus,
    WhenUnavailable,
};
pub use signature::{Expected, SignatureInput, TbsEncoding};
pub use verifier::{CheckedCertificate, Verified, Verifier, VerifierConfig};
