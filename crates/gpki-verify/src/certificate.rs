//! A certificate parsed once. x509-parser reads the DER a single time and everything the engine
//! needs later is taken from that one parse: the holder's [`CertProfile`], the subject public
//! key (signature checks), the serial and names (CMS signer identification, OCSP CertID, CRL
//! lookup) and the key identifiers (choosing an intermediate). A login parses the teacher's
//! certificate here once; webpki parses it again for itself during path validation.

use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::X509Certificate;

use crate::algorithm::PublicKey;
use crate::profile::{self, CertProfile};
use crate::Error;

/// A DER certificate with what was read from it.
#[derive(Clone, Debug)]
pub struct Certificate {
    pub der: Vec<u8>,
    pub profile: CertProfile,
    pub key: PublicKey,
    /// The serial number as the DER INTEGER's contents (OCSP CertID, CRL lookup).
    pub serial: Vec<u8>,
    /// The subject DN, DER, as OCSP's issuerNameHash hashes it.
    pub subject_der: Vec<u8>,
    /// The issuer DN, DER, as a CMS IssuerAndSerialNumber names it.
    pub issuer_der: Vec<u8>,
    ski: Option<Vec<u8>>,
}

impl Certificate {
    /// Parses `der`; the one place the engine hands a certificate to x509-parser.
    pub fn parse(der: Vec<u8>) -> Result<Self, Error> {
        #[cfg(test)]
        PARSES.with(|n| n.set(n.get() + 1));
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| Error::MalformedCertificate(e.to_string()))?;
        let key = PublicKey::from_parsed(cert.public_key())
            .ok_or_else(|| Error::MalformedCertificate("bad subject public key".into()))?;
        let profile = profile::from_parsed(&der, &cert);
        let serial = cert.raw_serial().to_vec();
        let subject_der = cert.subject().as_raw().to_vec();
        let issuer_der = cert.issuer().as_raw().to_vec();
        let ski = subject_key_id(&cert).map(<[u8]>::to_vec);
        Ok(Self {
            der,
            profile,
            key,
            serial,
            subject_der,
            issuer_der,
            ski,
        })
    }

    /// The subjectKeyIdentifier, if the certificate has one.
    pub fn subject_key_id(&self) -> Option<&[u8]> {
        self.ski.as_deref()
    }
}

/// The keyIdentifier of the subjectKeyIdentifier extension, as x509-parser read it.
fn subject_key_id<'a>(cert: &X509Certificate<'a>) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
            _ => None,
        })
}

#[cfg(test)]
thread_local! {
    /// Certificates parsed on this thread (each test runs on its own thread).
    pub(crate) static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
