//! Signing keys of a school: generation (RSA-2048 for RS256, P-256 for ES256), the public
//! JWKS, and compact JWS signing, one signature per token response.
//!
//! The header is `jsonwebtoken`'s, and tokens are checked by its verifier (the `jws` module)
//! and by an independent relying party in the server's tests. The signature itself is made
//! by aws-lc-rs with the key parsed once, when the school's keys are read: `jsonwebtoken`
//! 10's aws-lc backend parses the private key again for every signature (its `EncodingKey`
//! holds DER bytes), which about doubled the cost of an RS256 ID token when measured, and an
//! ID token is signed for every token response.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{json, Value};

use crate::model::KeyRecord;

/// JWS algorithms we sign with, and the only ones we accept on tokens we verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Es256,
}

impl Alg {
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    /// The `jsonwebtoken` algorithm.
    pub fn jws(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
        }
    }

    /// Ours, if `alg` is one we accept (never `none`, never HMAC).
    pub fn from_jws(alg: Algorithm) -> Option<Self> {
        match alg {
            Algorithm::RS256 => Some(Self::Rs256),
            Algorithm::ES256 => Some(Self::Es256),
            _ => None,
        }
    }
}

/// The private half of a key, parsed once.
enum Private {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl Private {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RS256), or ECDSA P-256 with SHA-256 in the fixed
    /// r ‖ s form JWS uses (ES256).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match self {
            Self::Rsa(key) => {
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(key_error)?;
                Ok(sig)
            }
            Self::Ec(key) => Ok(key
                .sign(&rng, message)
                .map_err(key_error)?
                .as_ref()
                .to_vec()),
        }
    }
}

/// A loaded signing key: parsed once when the school's keys are read, then used for every
/// token it signs.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    /// The protected header of every token it signs (`alg`, `typ: JWT`, `kid`),
    /// base64url-encoded once.
    header: String,
    private: Private,
    jwk: Value,
}

/// Why a key could not be made or loaded.
#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct KeyError(String);

fn key_error(e: impl std::fmt::Display) -> KeyError {
    KeyError(e.to_string())
}

impl SigningKey {
    /// Generates a new key record.
    pub fn generate(alg: Alg) -> Result<KeyRecord, KeyError> {
        let pkcs8 = match alg {
            Alg::Rs256 => {
                let key = RsaKeyPair::generate(KeySize::Rsa2048).map_err(key_error)?;
                key.as_der().map_err(key_error)?.as_ref().to_vec()
            }
            Alg::Es256 => {
                let key = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(key_error)?;
                key.to_pkcs8v1().map_err(key_error)?.as_ref().to_vec()
            }
        };
        Ok(KeyRecord {
            kid: crate::random_token(12),
            alg: alg.name().to_string(),
            private_pkcs8: pkcs8,
            created_at: crate::now(),
            retired_at: None,
        })
    }

    /// Loads a stored key (PKCS#8), checking it with aws-lc-rs.
    pub fn load(record: &KeyRecord) -> Result<Self, KeyError> {
        let alg = Alg::parse(&record.alg)
            .ok_or_else(|| KeyError(format!("unknown alg {}", record.alg)))?;
        let (private, mut jwk) = match alg {
            Alg::Rs256 => rsa_key(&record.private_pkcs8)?,
            Alg::Es256 => ec_key(&record.private_pkcs8)?,
        };
        jwk["kid"] = json!(record.kid);
        jwk["alg"] = json!(alg.name());
        jwk["use"] = json!("sig");
        let mut header = Header::new(alg.jws());
        header.kid = Some(record.kid.clone());
        let header = serde_json::to_vec(&header).map_err(key_error)?;
        Ok(Self {
            kid: record.kid.clone(),
            alg,
            header: B64URL.encode(header),
            private,
            jwk,
        })
    }

    /// The public JWK.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// A compact JWS over `claims` (RFC 7515 §7.1).
    pub fn sign_jwt(&self, claims: &Value) -> Result<String, KeyError> {
        self.sign_with_header(&self.header, claims)
    }

    /// A compact JWS over `claims` whose header names its type `typ` (a logout token is
    /// `logout+jwt`, Back-Channel Logout 1.0 §2.4, so it cannot pass for an ID token).
    pub fn sign_typed_jwt(&self, claims: &Value, typ: &str) -> Result<String, KeyError> {
        let mut header = Header::new(self.alg.jws());
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_string());
        let header = B64URL.encode(serde_json::to_vec(&header).map_err(key_error)?);
        self.sign_with_header(&header, claims)
    }

    fn sign_with_header(&self, header: &str, claims: &Value) -> Result<String, KeyError> {
        let message = format!("{header}.{}", B64URL.encode(claims.to_string()));
        let signature = self.private.sign(message.as_bytes())?;
        Ok(format!("{message}.{}", B64URL.encode(signature)))
    }
}

/// An RS256 key, and `{kty: RSA, n, e}` as aws-lc-rs reads them (without leading zeros).
fn rsa_key(pkcs8: &[u8]) -> Result<(Private, Value), KeyError> {
    let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(key_error)?;
    let public = RsaPublicKeyComponents::<Vec<u8>>::from(key.public_key());
    let jwk = json!({"kty": "RSA", "n": B64URL.encode(public.n), "e": B64URL.encode(public.e)});
    Ok((Private::Rsa(key), jwk))
}

/// An ES256 key, and `{kty: EC, crv: P-256, x, y}` from the uncompressed public point
/// (0x04 ‖ x ‖ y).
fn ec_key(pkcs8: &[u8]) -> Result<(Private, Value), KeyError> {
    let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
        .map_err(key_error)?;
    let point = key.public_key().as_ref();
    let (x, y) = point
        .get(1..33)
        .zip(point.get(33..65))
        .ok_or_else(|| KeyError("bad EC point".into()))?;
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": B64URL.encode(x), "y": B64URL.encode(y)});
    Ok((Private::Ec(key), jwk))
}

/// A new school's signing keys: one of each algorithm.
pub fn new_keys() -> Result<Vec<KeyRecord>, KeyError> {
    [Alg::Rs256, Alg::Es256]
        .into_iter()
        .map(SigningKey::generate)
        .collect()
}

/// The keys of one school: the newest active one signs; all unexpired are published.
pub struct KeySet {
    pub keys: Vec<SigningKey>,
}

impl KeySet {
    /// The key that signs for `alg`: the newest key of that algorithm not retired.
    pub fn signer(&self, alg: Alg, retired: &dyn Fn(&str) -> bool) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.alg == alg && !retired(&k.kid))
    }

    /// The JWKS document.
    pub fn jwks(&self) -> Value {
        json!({"keys": self.keys.iter().map(|k| k.jwk().clone()).collect::<Vec<_>>()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rs256_and_es256_sign_and_publish() {
        for alg in [Alg::Rs256, Alg::Es256] {
            let record = SigningKey::generate(alg).unwrap();
            let key = SigningKey::load(&record).unwrap();
            let jwt = key.sign_jwt(&json!({"sub": "x"})).unwrap();
            assert_eq!(jwt.split('.').count(), 3);
            assert_eq!(key.jwk()["kid"], record.kid);
            assert_eq!(key.jwk()["alg"], alg.name());
            assert_eq!(key.jwk()["use"], "sig");
        }
    }

    #[test]
    fn the_header_names_alg_typ_and_kid() {
        for alg in [Alg::Rs256, Alg::Es256] {
            let record = SigningKey::generate(alg).unwrap();
            let jwt = SigningKey::load(&record)
                .unwrap()
                .sign_jwt(&json!({"sub": "x"}))
                .unwrap();
            let header: Value =
                serde_json::from_slice(&B64URL.decode(jwt.split('.').next().unwrap()).unwrap())
                    .unwrap();
            assert_eq!(
                header,
                json!({"alg": alg.name(), "typ": "JWT", "kid": record.kid})
            );
            let claims: Value =
                serde_json::from_slice(&B64URL.decode(jwt.split('.').nth(1).unwrap()).unwrap())
                    .unwrap();
            assert_eq!(claims, json!({"sub": "x"}));
        }
    }

    #[test]
    fn jsonwebtoken_verifies_our_tokens() {
        for alg in [Alg::Rs256, Alg::Es256] {
            let key = SigningKey::load(&SigningKey::generate(alg).unwrap()).unwrap();
            let claims = json!({"sub": "x", "aud": "client", "exp": crate::now() + 60});
            let jwt = key.sign_jwt(&claims).unwrap();
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.jwk().clone()).unwrap();
            let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
            let mut validation = jsonwebtoken::Validation::new(alg.jws());
            validation.set_audience(&["client"]);
            let data = jsonwebtoken::decode::<Value>(&jwt, &decoding, &validation).unwrap();
            assert_eq!(data.claims, claims);
            assert_eq!(data.header.kid.as_deref(), Some(key.kid.as_str()));
        }
    }

    #[test]
    fn rsa_public_parameters_have_no_leading_zeros() {
        let key = SigningKey::load(&SigningKey::generate(Alg::Rs256).unwrap()).unwrap();
        let n = B64URL.decode(key.jwk()["n"].as_str().unwrap()).unwrap();
        let e = B64URL.decode(key.jwk()["e"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256, "RSA-2048 modulus");
        assert_ne!(n[0], 0);
        assert_eq!(e, [1, 0, 1], "65537");
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_refused() {
        let mut record = SigningKey::generate(Alg::Es256).unwrap();
        record.alg = "RS256".into();
        assert!(SigningKey::load(&record).is_err());
        record.alg = "HS256".into();
        assert!(SigningKey::load(&record).is_err());
    }
}
