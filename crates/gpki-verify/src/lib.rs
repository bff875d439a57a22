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
//!
//! Each item has one public path. The stages are public modules and their items are named
//! through them (`gpki_verify::path::TrustStore`, `gpki_verify::signature::Expected`,
//! `gpki_verify::revocation::RevocationMode`); what every stage shares — [`Error`] and the
//! parsed [`Certificate`] — and the [`Verifier`] that runs the stages are named at the root.

pub mod algorithm;
mod anchor_signatures;
mod certificate;
mod error;
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
pub use verifier::{CheckedCertificate, Verified, Verifier, VerifierConfig};
