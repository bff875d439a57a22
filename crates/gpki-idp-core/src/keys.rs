//! Signing keys of a school: generation (RSA-2048 for RS256, P-256 for ES256), the public
//! JWKS, and compact JWS signing with aws-lc-rs (one signature per token response).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde_json::{json, Value};

use crate::model::KeyRecord;

/// JWS algorithms we sign with.
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
}

enum Inner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A loaded signing key.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    inner: Inner,
    jwk: Value,
}

/// Why a key could not be made or loaded.
#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct KeyError(String);

impl SigningKey {
    /// Generates a new key record.
    pub fn generate(alg: Alg) -> Result<KeyRecord, KeyError> {
        let pkcs8 = match alg {
            Alg::Rs256 => {
                let key =
                    RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| KeyError(e.to_string()))?;
                key.as_der()
                    .map_err(|e| KeyError(e.to_string()))?
                    .as_ref()
                    .to_vec()
            }
            Alg::Es256 => {
                let key = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|e| KeyError(e.to_string()))?;
                key.to_pkcs8v1()
                    .map_err(|e| KeyError(e.to_string()))?
                    .as_ref()
                    .to_vec()
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

    /// Loads a stored key.
    pub fn load(record: &KeyRecord) -> Result<Self, KeyError> {
        let alg = Alg::parse(&record.alg)
            .ok_or_else(|| KeyError(format!("unknown alg {}", record.alg)))?;
        let (inner, jwk) = match alg {
            Alg::Rs256 => {
                let key = RsaKeyPair::from_pkcs8(&record.private_pkcs8)
                    .map_err(|e| KeyError(e.to_string()))?;
                let jwk = rsa_jwk(key.public_key().as_ref())
                    .ok_or_else(|| KeyError("bad RSA public key".into()))?;
                (Inner::Rsa(key), jwk)
            }
            Alg::Es256 => {
                let key = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &record.private_pkcs8,
                )
                .map_err(|e| KeyError(e.to_string()))?;
                let point = key.public_key().as_ref();
                let (x, y) = point
                    .get(1..33)
                    .zip(point.get(33..65))
                    .ok_or_else(|| KeyError("bad EC point".into()))?;
                let jwk = json!({"kty": "EC", "crv": "P-256", "x": B64URL.encode(x), "y": B64URL.encode(y)});
                (Inner::Ec(key), jwk)
            }
        };
        let mut jwk = jwk;
        jwk["kid"] = json!(record.kid);
        jwk["alg"] = json!(alg.name());
        jwk["use"] = json!("sig");
        Ok(Self {
            kid: record.kid.clone(),
            alg,
            inner,
            jwk,
        })
    }

    /// The public JWK.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// A compact JWS over `claims`.
    pub fn sign_jwt(&self, claims: &Value) -> Result<String, KeyError> {
        let header = json!({"alg": self.alg.name(), "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            B64URL.encode(header.to_string()),
            B64URL.encode(claims.to_string())
        );
        let rng = SystemRandom::new();
        let sig = match &self.inner {
            Inner::Rsa(key) => {
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    signing_input.as_bytes(),
                    &mut sig,
                )
                .map_err(|e| KeyError(e.to_string()))?;
                sig
            }
            Inner::Ec(key) => key
                .sign(&rng, signing_input.as_bytes())
                .map_err(|e| KeyError(e.to_string()))?
                .as_ref()
                .to_vec(),
        };
        Ok(format!("{signing_input}.{}", B64URL.encode(sig)))
    }
}

/// `{kty: RSA, n, e}` from a DER RSAPublicKey (SEQUENCE { INTEGER n, INTEGER e }).
fn rsa_jwk(der: &[u8]) -> Option<Value> {
    let (seq, _) = read_tlv(der)?;
    let (n, rest) = read_tlv(seq)?;
    let (e, _) = read_tlv(rest)?;
    let strip = |v: &[u8]| -> Vec<u8> { v.iter().skip_while(|&&b| b == 0).copied().collect() };
    Some(json!({"kty": "RSA", "n": B64URL.encode(strip(n)), "e": B64URL.encode(strip(e))}))
}

/// The value of one DER element and what follows it.
fn read_tlv(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let len_byte = *input.get(1)?;
    let (len, header) = if len_byte < 0x80 {
        (len_byte as usize, 2)
    } else {
        let count = (len_byte & 0x7f) as usize;
        let bytes = input.get(2..2 + count)?;
        (
            bytes.iter().fold(0usize, |acc, &b| (acc << 8) | b as usize),
            2 + count,
        )
    };
    let value = input.get(header..header.checked_add(len)?)?;
    Some((value, &input[header + len..]))
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
        }
    }
}
