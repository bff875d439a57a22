//! gpki-testpki: test hierarchies shaped like GRCA → MOICA → teacher, CMS signatures made the
//! way a card's local signing service makes them, and an in-process OCSP responder and CRL
//! server. For tests, benchmarks, the card simulator and demos only; never for production.
//!
//! Everything is named at the crate root (`gpki_testpki::sign_cms`,
//! `gpki_testpki::RevocationServer`); the modules behind it are private, except [`der_build`]
//! (small DER writers, named through their module).

mod cms_sign;
pub mod der_build;
mod server;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    CustomExtension, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, RevokedCertParams, RsaKeySize, SerialNumber, SignatureAlgorithm,
};
use time::{Duration, OffsetDateTime};

pub use cms_sign::{sign_cms, sign_pkcs1, CmsOptions, Digest};
pub use server::{OcspBehaviour, OcspSigner, RevocationServer};

/// The GPKI class 3 assurance policy carried by GRCA and MOICA certificates.
pub const POLICY_GPKI_CLASS3: &str = "2.16.886.101.0.3.3";
/// The policy put on test citizen certificates (a MOICA-like OID).
pub const POLICY_CITIZEN: &str = "2.16.886.101.0.3.3";

/// A CA of a test hierarchy: its certificate and key.
pub struct Ca {
    pub der: Vec<u8>,
    pub key: KeyPair,
    params: CertificateParams,
}

impl Ca {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    /// PEM of the certificate.
    pub fn pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der)
    }
}

/// A test citizen certificate and its key.
pub struct Leaf {
    pub der: Vec<u8>,
    pub key: KeyPair,
    /// The serial number as written in the certificate (positive, big-endian).
    pub serial: Vec<u8>,
}

/// What to put in a test leaf certificate.
#[derive(Clone, Debug)]
pub struct LeafSpec {
    /// Holder name; Chinese by default.
    pub name: String,
    /// Encode the name as BMPString (as old citizen certificates do) instead of UTF8String.
    pub bmp_name: bool,
    /// 16-character subject serialNumber.
    pub subject_serial: String,
    /// Last four digits of the national ID (attribute 2.16.886.1.100.2.51).
    pub id_last4: Option<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub digital_signature: bool,
    pub is_ca: bool,
    pub policies: Vec<String>,
    pub client_auth_eku: bool,
    pub other_eku: bool,
    pub ocsp_url: Option<String>,
    /// Where the issuer's certificate can be downloaded (AIA caIssuers).
    pub ca_issuers_url: Option<String>,
    pub crl_url: Option<String>,
    pub serial: u64,
    /// Key algorithm of the leaf.
    pub key: LeafKey,
}

/// The key type of a test leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeafKey {
    /// RSA-2048, as on every citizen card; generated once and shared by all RSA leaves.
    Rsa2048,
    EcdsaP256,
    EcdsaP384,
}

impl Default for LeafSpec {
    fn default() -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            name: "王小明".to_string(),
            bmp_name: false,
            subject_serial: "0000000012345678".to_string(),
            id_last4: Some("6789".to_string()),
            not_before: now - Duration::days(30),
            not_after: now + Duration::days(365 * 5),
            digital_signature: true,
            is_ca: false,
            policies: vec![POLICY_CITIZEN.to_string()],
            client_auth_eku: false,
            other_eku: false,
            ocsp_url: None,
            ca_issuers_url: None,
            crl_url: None,
            serial: 0x1234_5678_9abc,
            key: LeafKey::Rsa2048,
        }
    }
}

/// A test hierarchy: a GRCA-like root (RSA-4096) and a MOICA-like issuing CA.
pub struct TestPki {
    pub grca: Ca,
    pub moica: Ca,
    rsa_leaf_key_der: Vec<u8>,
    names: (String, String),
}

fn ca_params(cn: &str, is_root: bool) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(
        DnType::CountryName,
        DnValue::PrintableString("TW".try_into().expect("ascii")),
    );
    dn.push(DnType::OrganizationName, "行政院");
    dn.push(DnType::OrganizationalUnitName, cn);
    params.distinguished_name = dn;
    params.is_ca = if is_root {
        IsCa::Ca(BasicConstraints::Unconstrained)
    } else {
        IsCa::Ca(BasicConstraints::Constrained(0))
    };
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.use_authority_key_identifier_extension = !is_root;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(365);
    params.not_after = now + Duration::days(365 * 20);
    params.custom_extensions = vec![der_build::policies_extension(&[POLICY_GPKI_CLASS3])];
    params
}

fn rsa_key(size: RsaKeySize, alg: &'static SignatureAlgorithm) -> KeyPair {
    KeyPair::generate_rsa_for(alg, size).expect("RSA key generation")
}

impl TestPki {
    /// Generates a root named like GRCA (RSA-4096) and an issuing CA named like MOICA
    /// (RSA-2048), with the same subject DN layout as the real ones.
    pub fn generate() -> Self {
        Self::generate_named("政府憑證管理中心", "內政部憑證管理中心")
    }

    /// Like [`TestPki::generate`] with other CA names; a stranger PKI may reuse the real
    /// names, so that only keys tell the hierarchies apart.
    pub fn generate_named(root_ou: &str, issuing_ou: &str) -> Self {
        let root_key = rsa_key(RsaKeySize::_4096, &rcgen::PKCS_RSA_SHA256);
        let root_params = ca_params(root_ou, true);
        let root_cert = root_params
            .self_signed(&root_key)
            .expect("root certificate");
        let grca = Ca {
            der: root_cert.der().to_vec(),
            key: root_key,
            params: root_params,
        };
        let moica_key = rsa_key(RsaKeySize::_2048, &rcgen::PKCS_RSA_SHA256);
        let moica_params = ca_params(issuing_ou, false);
        let moica_cert = moica_params
            .signed_by(&moica_key, &grca.issuer())
            .expect("issuing CA certificate");
        let moica = Ca {
            der: moica_cert.der().to_vec(),
            key: moica_key,
            params: moica_params,
        };
        let rsa_leaf_key_der = rsa_key(RsaKeySize::_2048, &rcgen::PKCS_RSA_SHA256).serialize_der();
        Self {
            grca,
            moica,
            rsa_leaf_key_der,
            names: (root_ou.to_string(), issuing_ou.to_string()),
        }
    }

    /// Writes the hierarchy (certificates as DER and PEM, keys as PKCS#8 PEM) to `dir`, so
    /// that a card simulator and a demo IdP can share it across restarts.
    pub fn save(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("grca.der"), &self.grca.der)?;
        std::fs::write(dir.join("grca.pem"), self.grca.pem())?;
        std::fs::write(dir.join("grca.key"), self.grca.key.serialize_pem())?;
        std::fs::write(dir.join("moica.der"), &self.moica.der)?;
        std::fs::write(dir.join("moica.pem"), self.moica.pem())?;
        std::fs::write(dir.join("moica.key"), self.moica.key.serialize_pem())?;
        std::fs::write(
            dir.join("leaf.key"),
            pem_encode("PRIVATE KEY", &self.rsa_leaf_key_der),
        )?;
        std::fs::write(
            dir.join("names.txt"),
            format!("{}\n{}\n", self.names.0, self.names.1),
        )
    }

    /// Reads a hierarchy written by [`TestPki::save`].
    pub fn load(dir: &std::path::Path) -> std::io::Result<Self> {
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
        let text = |name: &str| std::fs::read_to_string(dir.join(name));
        let names = text("names.txt")?;
        let mut lines = names.lines();
        let (root_ou, issuing_ou) = (
            lines.next().ok_or_else(|| bad("names"))?,
            lines.next().ok_or_else(|| bad("names"))?,
        );
        let key = |name: &str| -> std::io::Result<KeyPair> {
            KeyPair::from_pem(&text(name)?).map_err(|e| bad(&format!("{name}: {e}")))
        };
        // Rebuilding the parameters the same way gives byte-identical issuer names and key
        // identifiers, so leaves issued after a reload chain to the saved certificates.
        let grca = Ca {
            der: std::fs::read(dir.join("grca.der"))?,
            key: key("grca.key")?,
            params: ca_params(root_ou, true),
        };
        let moica = Ca {
            der: std::fs::read(dir.join("moica.der"))?,
            key: key("moica.key")?,
            params: ca_params(issuing_ou, false),
        };
        let rsa_leaf_key_der = key("leaf.key")?.serialize_der();
        Ok(Self {
            grca,
            moica,
            rsa_leaf_key_der,
            names: (root_ou.to_string(), issuing_ou.to_string()),
        })
    }

    /// [`TestPki::load`] from `dir`, or a new hierarchy saved there.
    pub fn load_or_generate(dir: &std::path::Path) -> std::io::Result<Self> {
        if dir.join("names.txt").exists() {
            return Self::load(dir);
        }
        let pki = Self::generate();
        pki.save(dir)?;
        Ok(pki)
    }

    /// Issues another CA under the root, with the same subject DN as MOICA (a second
    /// generation: only key identifiers tell them apart).
    pub fn issue_sibling_ca(&self) -> Ca {
        let key = rsa_key(RsaKeySize::_2048, &rcgen::PKCS_RSA_SHA256);
        let params = self.moica.params.clone();
        let cert = params
            .signed_by(&key, &self.grca.issuer())
            .expect("sibling CA");
        Ca {
            der: cert.der().to_vec(),
            key,
            params,
        }
    }

    /// Issues a citizen certificate under MOICA.
    pub fn issue_leaf(&self, spec: &LeafSpec) -> Leaf {
        self.issue_leaf_by(&self.moica, spec)
    }

    /// Issues a leaf certificate under `ca`.
    pub fn issue_leaf_by(&self, ca: &Ca, spec: &LeafSpec) -> Leaf {
        let key = match spec.key {
            LeafKey::Rsa2048 => KeyPair::from_pkcs8_der_and_sign_algo(
                &self.rsa_leaf_key_der.as_slice().into(),
                &rcgen::PKCS_RSA_SHA256,
            )
            .expect("leaf key"),
            LeafKey::EcdsaP256 => {
                KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("ec key")
            }
            LeafKey::EcdsaP384 => {
                KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("ec key")
            }
        };
        let params = leaf_params(spec);
        let cert = params
            .signed_by(&key, &ca.issuer())
            .expect("leaf certificate");
        Leaf {
            der: cert.der().to_vec(),
            key,
            serial: serial_bytes(spec.serial),
        }
    }

    /// Issues an OCSP responder certificate under MOICA (EKU OCSPSigning).
    pub fn issue_ocsp_responder(&self, ca: &Ca) -> Leaf {
        let key = rsa_key(RsaKeySize::_2048, &rcgen::PKCS_RSA_SHA256);
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "Test OCSP Responder");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(SerialNumber::from_slice(&[0x0c, 0x5b]));
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(30);
        let cert = params
            .signed_by(&key, &ca.issuer())
            .expect("responder certificate");
        Leaf {
            der: cert.der().to_vec(),
            key,
            serial: vec![0x0c, 0x5b],
        }
    }

    /// A CRL of `ca` listing `revoked` serials, valid from `this_update` to `next_update`.
    pub fn crl(
        &self,
        ca: &Ca,
        revoked: &[Vec<u8>],
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    ) -> Vec<u8> {
        let params = CertificateRevocationListParams {
            this_update,
            next_update,
            crl_number: SerialNumber::from_slice(&[1]),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: this_update - Duration::hours(1),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        params.signed_by(&ca.issuer()).expect("CRL").der().to_vec()
    }
}

/// Serial bytes as rcgen writes them: big-endian, no leading zero bytes.
pub fn serial_bytes(serial: u64) -> Vec<u8> {
    let bytes = serial.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    bytes[skip..].to_vec()
}

fn leaf_params(spec: &LeafSpec) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(
        DnType::CountryName,
        DnValue::PrintableString("TW".try_into().expect("ascii")),
    );
    let name = if spec.bmp_name {
        DnValue::BmpString(spec.name.as_str().try_into().expect("BMP name"))
    } else {
        DnValue::Utf8String(spec.name.clone())
    };
    dn.push(DnType::CommonName, name);
    dn.push(
        DnType::CustomDnType(vec![2, 5, 4, 5]),
        DnValue::PrintableString(spec.subject_serial.as_str().try_into().expect("printable")),
    );
    params.distinguished_name = dn;
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;
    params.serial_number = Some(SerialNumber::from_slice(&serial_bytes(spec.serial)));
    params.use_authority_key_identifier_extension = true;
    if spec.is_ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    } else {
        params.is_ca = IsCa::ExplicitNoCa;
    }
    params.key_usages = if spec.digital_signature {
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ]
    } else {
        vec![
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::DataEncipherment,
        ]
    };
    if spec.is_ca {
        params.key_usages.push(KeyUsagePurpose::KeyCertSign);
    }
    if spec.client_auth_eku {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    if spec.other_eku {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::EmailProtection);
    }
    if let Some(url) = &spec.crl_url {
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![url.clone()],
        }];
    }
    let mut extensions: Vec<CustomExtension> = Vec::new();
    if !spec.policies.is_empty() {
        let policies: Vec<&str> = spec.policies.iter().map(String::as_str).collect();
        extensions.push(der_build::policies_extension(&policies));
    }
    if let Some(last4) = &spec.id_last4 {
        extensions.push(der_build::directory_attributes_extension(
            "2.16.886.1.100.2.51",
            last4,
        ));
    }
    if spec.ocsp_url.is_some() || spec.ca_issuers_url.is_some() {
        extensions.push(der_build::aia_extension(
            spec.ocsp_url.as_deref(),
            spec.ca_issuers_url.as_deref(),
        ));
    }
    params.custom_extensions = extensions;
    params
}

/// PEM armour.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ascii"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}
