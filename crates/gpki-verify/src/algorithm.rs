//! Digest and signature algorithms: which are accepted, and verifying one signature with a
//! subject public key. RSA PKCS#1 v1.5 is what the cards do; RSA-PSS and ECDSA P-256/P-384
//! verify too so that a future card generation works. SHA-1 is refused unless configured.

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use x509_parser::der_parser::asn1_rs::Tag;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::tlv::{self, Tlv};
use crate::Error;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSA_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ECDSA_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// A digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The digest named by an AlgorithmIdentifier OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match oid.to_string().as_str() {
            "1.3.14.3.2.26" => Some(Self::Sha1),
            "2.16.840.1.101.3.4.2.1" => Some(Self::Sha256),
            "2.16.840.1.101.3.4.2.2" => Some(Self::Sha384),
            "2.16.840.1.101.3.4.2.3" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The name the local signing service uses (`hashAlgorithm`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().replace('-', "").as_str() {
            "SHA1" => Some(Self::Sha1),
            "SHA256" => Some(Self::Sha256),
            "SHA384" => Some(Self::Sha384),
            "SHA512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }
}

/// SHA-256 of `data`, hex encoded: fingerprints of certificates and keys.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Hash::Sha256.digest(data))
}

/// A subject public key, as found in a SubjectPublicKeyInfo.
#[derive(Clone, Debug)]
pub struct PublicKey {
    algorithm: ObjectIdentifier,
    curve: Option<ObjectIdentifier>,
    key: Vec<u8>,
}

impl PublicKey {
    /// Reads a DER SubjectPublicKeyInfo.
    pub fn from_spki(spki: &[u8]) -> Option<Self> {
        use x509_parser::prelude::FromDer;
        let (_, parsed) = SubjectPublicKeyInfo::from_der(spki).ok()?;
        Self::from_parsed(&parsed)
    }

    /// The key of a SubjectPublicKeyInfo x509-parser has read.
    pub fn from_parsed(spki: &SubjectPublicKeyInfo<'_>) -> Option<Self> {
        let algorithm = ObjectIdentifier::from_bytes(spki.algorithm.algorithm.as_bytes()).ok()?;
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .filter(|p| p.header.tag() == Tag::Oid)
            .and_then(|p| ObjectIdentifier::from_bytes(p.data).ok());
        let bits = &spki.subject_public_key;
        (bits.unused_bits == 0).then(|| Self {
            algorithm,
            curve,
            key: bits.data.to_vec(),
        })
    }

    /// The raw subjectPublicKey bits (what OCSP's issuerKeyHash hashes).
    pub fn key_bits(&self) -> &[u8] {
        &self.key
    }

    fn is_rsa(&self) -> bool {
        self.algorithm == RSA_ENCRYPTION || self.algorithm == RSA_PSS
    }
}

/// Splits an AlgorithmIdentifier into its OID and optional parameters.
pub fn algorithm_identifier<'a>(alg: &Tlv<'a>) -> Option<(ObjectIdentifier, Option<Tlv<'a>>)> {
    let parts = tlv::children(alg.value)?;
    let oid_tlv = parts.first().filter(|t| t.tag == 0x06)?;
    let oid = ObjectIdentifier::from_bytes(oid_tlv.value).ok()?;
    Some((oid, parts.get(1).copied().filter(|p| p.tag != 0x05)))
}

/// Verifies `signature` over `message` with `key`.
///
/// `signature_alg` is the signature AlgorithmIdentifier; `digest` is the separately named
/// digest when the algorithm is bare `rsaEncryption` (as in many CMS SignerInfos and in the
/// PKCS1 form of the local signing service).
pub fn verify(
    signature_alg: &Tlv<'_>,
    digest: Option<Hash>,
    key: &PublicKey,
    message: &[u8],
    signature: &[u8],
    allow_sha1: bool,
) -> Result<(), Error> {
    let (oid, params) = algorithm_identifier(signature_alg)
        .ok_or_else(|| Error::MalformedSignature("bad signature algorithm identifier".into()))?;
    let alg = choose(&oid, params.as_ref(), digest, key, allow_sha1)?;
    signature::UnparsedPublicKey::new(alg, &key.key)
        .verify(message, signature)
        .map_err(|_| {
            Error::BadSignature("signature does not verify with the certificate's key".into())
        })
}

fn choose(
    oid: &ObjectIdentifier,
    params: Option<&Tlv<'_>>,
    digest: Option<Hash>,
    key: &PublicKey,
    allow_sha1: bool,
) -> Result<&'static dyn VerificationAlgorithm, Error> {
    let unsupported = || Error::UnsupportedAlgorithm(oid.to_string());
    let hash = match *oid {
        RSA_ENCRYPTION => digest.ok_or_else(unsupported)?,
        RSA_SHA1 | ECDSA_SHA1 => Hash::Sha1,
        RSA_SHA256 | ECDSA_SHA256 => Hash::Sha256,
        RSA_SHA384 | ECDSA_SHA384 => Hash::Sha384,
        RSA_SHA512 | ECDSA_SHA512 => Hash::Sha512,
        RSA_PSS => pss_hash(params).ok_or_else(unsupported)?,
        _ => return Err(unsupported()),
    };
    if hash == Hash::Sha1 && !allow_sha1 {
        return Err(Error::UnsupportedAlgorithm("SHA-1 is refused".into()));
    }
    if key.is_rsa() && rsa_signature_fits_key(oid, key) {
        return rsa_algorithm(*oid == RSA_PSS, hash).ok_or_else(unsupported);
    }
    if key.algorithm == EC_PUBLIC_KEY
        && matches!(
            *oid,
            ECDSA_SHA1 | ECDSA_SHA256 | ECDSA_SHA384 | ECDSA_SHA512
        )
    {
        return ecdsa_algorithm(key.curve.as_ref(), hash).ok_or_else(unsupported);
    }
    Err(Error::UnsupportedAlgorithm(format!(
        "{oid} with a {} key",
        key.algorithm
    )))
}

/// Whether an RSA key may verify a signature of this algorithm: only RSA signature OIDs (an
/// ECDSA OID must not be read as RSA with the same hash), and a key restricted to RSASSA-PSS
/// (id-RSASSA-PSS, RFC 4055 §1.2) only PSS signatures.
fn rsa_signature_fits_key(oid: &ObjectIdentifier, key: &PublicKey) -> bool {
    let rsa_oid = matches!(
        *oid,
        RSA_ENCRYPTION | RSA_SHA1 | RSA_SHA256 | RSA_SHA384 | RSA_SHA512 | RSA_PSS
    );
    rsa_oid && (key.algorithm != RSA_PSS || *oid == RSA_PSS)
}

fn rsa_algorithm(pss: bool, hash: Hash) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match (pss, hash) {
        (false, Hash::Sha1) => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        (false, Hash::Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (false, Hash::Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (false, Hash::Sha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (true, Hash::Sha256) => &signature::RSA_PSS_2048_8192_SHA256,
        (true, Hash::Sha384) => &signature::RSA_PSS_2048_8192_SHA384,
        (true, Hash::Sha512) => &signature::RSA_PSS_2048_8192_SHA512,
        (true, Hash::Sha1) => return None,
    })
}

fn ecdsa_algorithm(
    curve: Option<&ObjectIdentifier>,
    hash: Hash,
) -> Option<&'static dyn VerificationAlgorithm> {
    let curve = curve?;
    Some(match hash {
        Hash::Sha256 if *curve == P256 => &signature::ECDSA_P256_SHA256_ASN1,
        Hash::Sha384 if *curve == P256 => &signature::ECDSA_P256_SHA384_ASN1,
        Hash::Sha256 if *curve == P384 => &signature::ECDSA_P384_SHA256_ASN1,
        Hash::Sha384 if *curve == P384 => &signature::ECDSA_P384_SHA384_ASN1,
        _ => return None,
    })
}

/// The hash of RSASSA-PSS parameters (`hashAlgorithm [0]`); SHA-1 when absent, per RFC 4055.
fn pss_hash(params: Option<&Tlv<'_>>) -> Option<Hash> {
    let Some(params) = params else {
        return Some(Hash::Sha1);
    };
    let fields = tlv::children(params.value)?;
    let Some(hash_field) = fields.iter().find(|f| f.tag == 0xa0) else {
        return Some(Hash::Sha1);
    };
    let (inner, _) = tlv::read(hash_field.value)?;
    let (oid, _) = algorithm_identifier(&inner)?;
    Hash::from_oid(&oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(algorithm: ObjectIdentifier, curve: Option<ObjectIdentifier>) -> PublicKey {
        PublicKey {
            algorithm,
            curve,
            key: vec![],
        }
    }

    fn chosen(oid: ObjectIdentifier, key: &PublicKey) -> bool {
        choose(&oid, None, Some(Hash::Sha256), key, false).is_ok()
    }

    #[test]
    fn an_algorithm_must_fit_the_key() {
        let rsa = key(RSA_ENCRYPTION, None);
        let pss_only = key(RSA_PSS, None);
        let ec = key(EC_PUBLIC_KEY, Some(P256));
        assert!(chosen(RSA_SHA256, &rsa) && chosen(RSA_ENCRYPTION, &rsa));
        assert!(!chosen(ECDSA_SHA256, &rsa), "an ECDSA OID on an RSA key");
        assert!(
            !chosen(RSA_SHA256, &pss_only),
            "PKCS#1 v1.5 under a PSS-only key"
        );
        assert!(!chosen(RSA_ENCRYPTION, &pss_only));
        assert!(chosen(ECDSA_SHA256, &ec));
        assert!(!chosen(RSA_SHA256, &ec), "an RSA OID on an EC key");
    }
}
