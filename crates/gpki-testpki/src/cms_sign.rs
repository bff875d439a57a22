//! CMS SignedData made the way the local signing service makes it (attached content, signed
//! attributes with signingTime, randomNonce and card number, the signer certificate
//! embedded), with switches for every variation and fault the verifier must handle.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, RsaKeyPair};
use rcgen::KeyPair;

use crate::der_build::{element, oid, sequence};
use crate::Leaf;

/// Digest used by the signer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digest {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    fn oid(self) -> &'static str {
        match self {
            Self::Sha1 => "1.3.14.3.2.26",
            Self::Sha256 => "2.16.840.1.101.3.4.2.1",
            Self::Sha384 => "2.16.840.1.101.3.4.2.2",
            Self::Sha512 => "2.16.840.1.101.3.4.2.3",
        }
    }

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        use aws_lc_rs::digest;
        let alg = match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }
}

/// How to make the signature.
#[derive(Clone, Debug)]
pub struct CmsOptions {
    pub digest: Digest,
    /// Embed the content (the service does); false makes a detached signature.
    pub attached: bool,
    /// Add signed attributes (contentType, signingTime, messageDigest, ...).
    pub signed_attrs: bool,
    /// Embed the signer certificate.
    pub include_cert: bool,
    /// The randomNonce attribute.
    pub nonce: Option<Vec<u8>>,
    /// The card number attribute.
    pub card_serial: Option<String>,
    /// RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys).
    pub pss: bool,
    /// Emit BER: indefinite lengths and a chunked content OCTET STRING.
    pub ber: bool,
    /// Sign the signed attributes over this content instead (a forged messageDigest).
    pub digest_of: Option<Vec<u8>>,
}

impl Default for CmsOptions {
    fn default() -> Self {
        Self {
            digest: Digest::Sha256,
            attached: true,
            signed_attrs: true,
            include_cert: true,
            nonce: None,
            card_serial: Some("TP03000000123456".to_string()),
            pss: false,
            ber: false,
            digest_of: None,
        }
    }
}

/// Signs `content` with `signers` (normally one) and returns the DER (or BER) ContentInfo.
pub fn sign_cms(signers: &[&Leaf], content: &[u8], opts: &CmsOptions) -> Vec<u8> {
    let digest_alg = sequence(&[oid(opts.digest.oid()), element(0x05, &[])]);
    let infos: Vec<Vec<u8>> = signers
        .iter()
        .map(|s| signer_info(s, content, opts))
        .collect();
    let certs: Vec<u8> = if opts.include_cert {
        signers.iter().flat_map(|s| s.der.clone()).collect()
    } else {
        Vec::new()
    };
    if opts.ber {
        return ber_content_info(&digest_alg, content, &certs, &infos, opts);
    }
    let mut encap = vec![oid("1.2.840.113549.1.7.1")];
    if opts.attached {
        encap.push(element(0xa0, &element(0x04, content)));
    }
    let mut fields = vec![
        element(0x02, &[1]),
        element(0x31, &digest_alg),
        sequence(&encap),
    ];
    if !certs.is_empty() {
        fields.push(element(0xa0, &certs));
    }
    fields.push(element(0x31, &infos.concat()));
    sequence(&[
        oid("1.2.840.113549.1.7.2"),
        element(0xa0, &sequence(&fields)),
    ])
}

fn indefinite(tag: u8, inner: &[u8]) -> Vec<u8> {
    let mut out = vec![tag, 0x80];
    out.extend_from_slice(inner);
    out.extend_from_slice(&[0, 0]);
    out
}

fn ber_content_info(
    digest_alg: &[u8],
    content: &[u8],
    certs: &[u8],
    infos: &[Vec<u8>],
    opts: &CmsOptions,
) -> Vec<u8> {
    let chunks: Vec<u8> = content.chunks(7).flat_map(|c| element(0x04, c)).collect();
    let mut encap = oid("1.2.840.113549.1.7.1");
    if opts.attached {
        encap.extend(indefinite(0xa0, &indefinite(0x24, &chunks)));
    }
    let mut fields = element(0x02, &[1]);
    fields.extend(element(0x31, digest_alg));
    fields.extend(indefinite(0x30, &encap));
    if !certs.is_empty() {
        fields.extend(indefinite(0xa0, certs));
    }
    fields.extend(indefinite(0x31, &infos.concat()));
    let mut outer = oid("1.2.840.113549.1.7.2");
    outer.extend(indefinite(0xa0, &indefinite(0x30, &fields)));
    indefinite(0x30, &outer)
}

fn signer_info(leaf: &Leaf, content: &[u8], opts: &CmsOptions) -> Vec<u8> {
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf.der).expect("own certificate");
    let sid = sequence(&[
        cert.issuer().as_raw().to_vec(),
        element(0x02, cert.raw_serial()),
    ]);
    let digest_alg = sequence(&[oid(opts.digest.oid()), element(0x05, &[])]);
    let mut fields = vec![element(0x02, &[1]), sid, digest_alg];
    let message = if opts.signed_attrs {
        let attrs = signed_attributes(content, opts);
        fields.push(element(0xa0, &attrs));
        element(0x31, &attrs)
    } else {
        content.to_vec()
    };
    let (alg, signature) = sign(&leaf.key, opts.digest, opts.pss, &message);
    fields.push(alg);
    fields.push(element(0x04, &signature));
    sequence(&fields)
}

/// DER SET OF contents: the attributes sorted by their encodings.
fn signed_attributes(content: &[u8], opts: &CmsOptions) -> Vec<u8> {
    let attr = |id: &str, value: Vec<u8>| sequence(&[oid(id), element(0x31, &value)]);
    let digested = opts.digest_of.as_deref().unwrap_or(content);
    let now = time::OffsetDateTime::now_utc();
    let utc = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        now.year() % 100,
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let mut attrs = vec![
        attr("1.2.840.113549.1.9.3", oid("1.2.840.113549.1.7.1")),
        attr("1.2.840.113549.1.9.5", element(0x17, utc.as_bytes())),
        attr(
            "1.2.840.113549.1.9.4",
            element(0x04, &opts.digest.hash(digested)),
        ),
    ];
    if let Some(nonce) = &opts.nonce {
        attrs.push(attr("1.2.840.113549.1.9.25.3", element(0x04, nonce)));
    }
    if let Some(card) = &opts.card_serial {
        attrs.push(attr("2.16.886.1.100.2.204", element(0x13, card.as_bytes())));
    }
    attrs.sort();
    attrs.concat()
}

/// Signs `message`; returns the signature AlgorithmIdentifier to put in a SignerInfo and the
/// signature value.
pub(crate) fn sign(key: &KeyPair, digest: Digest, pss: bool, message: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let pkcs8 = key.serialize_der();
    let rng = SystemRandom::new();
    if let Ok(ec) = ec_key(key, &pkcs8) {
        let signature = ec.sign(&rng, message).expect("ECDSA signing");
        let alg = match digest {
            Digest::Sha384 => "1.2.840.10045.4.3.3",
            _ => "1.2.840.10045.4.3.2",
        };
        return (sequence(&[oid(alg)]), signature.as_ref().to_vec());
    }
    let rsa = RsaKeyPair::from_pkcs8(&pkcs8).expect("RSA key");
    let padding: &'static dyn sig::RsaEncoding = match (pss, digest) {
        // aws-lc-rs cannot sign with SHA-1: a "SHA-1" test signature is really SHA-256, which
        // is enough to test that SHA-1 is refused before any signature check.
        (false, Digest::Sha1 | Digest::Sha256) => &sig::RSA_PKCS1_SHA256,
        (false, Digest::Sha384) => &sig::RSA_PKCS1_SHA384,
        (false, Digest::Sha512) => &sig::RSA_PKCS1_SHA512,
        (true, _) => &sig::RSA_PSS_SHA256,
    };
    let mut signature = vec![0u8; rsa.public_modulus_len()];
    rsa.sign(padding, &rng, message, &mut signature)
        .expect("RSA signing");
    let alg = if pss {
        pss_sha256_identifier()
    } else {
        sequence(&[oid("1.2.840.113549.1.1.1"), element(0x05, &[])])
    };
    (alg, signature)
}

fn ec_key(key: &KeyPair, pkcs8: &[u8]) -> Result<EcdsaKeyPair, ()> {
    let alg = if key.algorithm() == &rcgen::PKCS_ECDSA_P256_SHA256 {
        &sig::ECDSA_P256_SHA256_ASN1_SIGNING
    } else if key.algorithm() == &rcgen::PKCS_ECDSA_P384_SHA384 {
        &sig::ECDSA_P384_SHA384_ASN1_SIGNING
    } else {
        return Err(());
    };
    EcdsaKeyPair::from_pkcs8(alg, pkcs8).map_err(|_| ())
}

fn pss_sha256_identifier() -> Vec<u8> {
    let sha256 = sequence(&[oid("2.16.840.1.101.3.4.2.1"), element(0x05, &[])]);
    let mgf1 = sequence(&[oid("1.2.840.113549.1.1.8"), sha256.clone()]);
    let params = sequence(&[
        element(0xa0, &sha256),
        element(0xa1, &mgf1),
        element(0xa2, &element(0x02, &[32])),
    ]);
    sequence(&[oid("1.2.840.113549.1.1.10"), params])
}

/// The PKCS1 form: an RSASSA-PKCS1-v1_5 signature over `content`.
pub fn sign_pkcs1(leaf: &Leaf, content: &[u8], digest: Digest) -> Vec<u8> {
    sign(&leaf.key, digest, false, content).1
}
