//! Verifying compact JWS (RFC 7515) with `jsonwebtoken`: client assertions against the
//! client's registered JWKS (private_key_jwt), and tokens we issued (an id_token_hint at
//! logout) against our own.
//!
//! Only RS256 and ES256 are accepted: never `none`, never HMAC (a public key taken as an HMAC
//! secret is the classic confusion). A key verifies only what it says it is for: its `alg`,
//! if given, is the token's; its `use`, if given, is `sig`; an EC key is on P-256. This is the
//! signature alone: what the claims must say (audience, lifetime, replay) is the caller's rule.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::keys::Alg;

/// Verifies a compact JWS against a JWKS; returns its claims.
///
/// With a `kid` in the header only the keys of that `kid` are tried; without one, every key
/// that fits the algorithm. Keys that cannot be read (a kind we do not know) are skipped.
pub fn verify_jwt_with(jwt: &str, jwks: &Value) -> Option<Value> {
    let header = jsonwebtoken::decode_header(jwt).ok()?;
    let alg = Alg::from_jws(header.alg)?;
    // We understand no extension header, so a token that makes one critical is refused
    // (RFC 7515 §4.1.11).
    if header.crit.is_some() {
        return None;
    }
    let validation = signature_only(alg);
    jwks["keys"]
        .as_array()?
        .iter()
        .filter_map(|k| Jwk::deserialize(k).ok())
        .filter(|k| header.kid.is_none() || k.common.key_id == header.kid)
        .filter(|k| fits(k, alg))
        .filter_map(|k| DecodingKey::from_jwk(&k).ok())
        .find_map(|key| jsonwebtoken::decode::<Value>(jwt, &key, &validation).ok())
        .map(|data| data.claims)
}

/// The claims of a JWT, without checking anything (to find the key to check it with).
pub fn unverified_claims(jwt: &str) -> Option<Value> {
    jsonwebtoken::dangerous::insecure_decode::<Value>(jwt)
        .ok()
        .map(|data| data.claims)
}

/// Whether `jwk` may verify a token signed with `alg`.
fn fits(jwk: &Jwk, alg: Alg) -> bool {
    let named = match alg {
        Alg::Rs256 => KeyAlgorithm::RS256,
        Alg::Es256 => KeyAlgorithm::ES256,
    };
    let alg_ok = jwk.common.key_algorithm.is_none_or(|a| a == named);
    let use_ok = matches!(
        jwk.common.public_key_use,
        None | Some(PublicKeyUse::Signature)
    );
    let kind_ok = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), Alg::Rs256) => true,
        // The curve is checked here: the verifier would take P-256 coordinates under any name.
        (AlgorithmParameters::EllipticCurve(ec), Alg::Es256) => ec.curve == EllipticCurve::P256,
        _ => false,
    };
    alg_ok && use_ok && kind_ok
}

/// Checks the signature and nothing of the claims.
fn signature_only(alg: Alg) -> Validation {
    let mut validation = Validation::new(alg.jws());
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::json;

    fn new_key(alg: Alg) -> (SigningKey, crate::model::KeyRecord) {
        let record = SigningKey::generate(alg).unwrap();
        (SigningKey::load(&record).unwrap(), record)
    }

    fn jwks_of(jwk: Value) -> Value {
        json!({ "keys": [jwk] })
    }

    fn claims() -> Value {
        json!({"iss": "c", "sub": "c", "aud": "https://idp.example", "exp": 1})
    }

    #[test]
    fn rs256_and_es256_verify_with_their_jwk() {
        for alg in [Alg::Rs256, Alg::Es256] {
            let (key, _) = new_key(alg);
            let jwt = key.sign_jwt(&claims()).unwrap();
            assert_eq!(
                verify_jwt_with(&jwt, &jwks_of(key.jwk().clone())),
                Some(claims()),
                "{alg:?}"
            );
            let mut bare = key.jwk().clone();
            for name in ["alg", "use"] {
                bare.as_object_mut().unwrap().remove(name);
            }
            assert!(
                verify_jwt_with(&jwt, &jwks_of(bare)).is_some(),
                "alg and use are optional in a JWK"
            );
        }
    }

    #[test]
    fn expired_claims_are_the_callers_rule() {
        // An id_token_hint may have expired: the signature is all that is checked here.
        let (key, _) = new_key(Alg::Es256);
        let jwt = key.sign_jwt(&json!({"exp": 1, "nbf": 1})).unwrap();
        assert!(verify_jwt_with(&jwt, &jwks_of(key.jwk().clone())).is_some());
    }

    #[test]
    fn a_jwk_for_another_alg_is_refused() {
        let (key, _) = new_key(Alg::Es256);
        let jwt = key.sign_jwt(&claims()).unwrap();
        for other in ["ES384", "RS256", "HS256", "none", "RSA-OAEP"] {
            let mut jwk = key.jwk().clone();
            jwk["alg"] = json!(other);
            assert_eq!(verify_jwt_with(&jwt, &jwks_of(jwk)), None, "{other}");
        }
    }

    #[test]
    fn a_jwk_for_encryption_is_refused() {
        let (key, _) = new_key(Alg::Rs256);
        let jwt = key.sign_jwt(&claims()).unwrap();
        for other in ["enc", "other"] {
            let mut jwk = key.jwk().clone();
            jwk["use"] = json!(other);
            assert_eq!(verify_jwt_with(&jwt, &jwks_of(jwk)), None, "{other}");
        }
    }

    #[test]
    fn an_ec_jwk_on_another_curve_is_refused() {
        let (key, _) = new_key(Alg::Es256);
        let jwt = key.sign_jwt(&claims()).unwrap();
        for other in ["P-384", "P-521"] {
            let mut jwk = key.jwk().clone();
            jwk["crv"] = json!(other);
            jwk.as_object_mut().unwrap().remove("alg");
            assert_eq!(verify_jwt_with(&jwt, &jwks_of(jwk)), None, "{other}");
        }
    }

    #[test]
    fn a_key_of_the_other_kind_is_refused() {
        // RS256 token, and the JWKS holds only an EC key of the same kid.
        let (rsa, _) = new_key(Alg::Rs256);
        let (ec, _) = new_key(Alg::Es256);
        let jwt = rsa.sign_jwt(&claims()).unwrap();
        let mut jwk = ec.jwk().clone();
        jwk["kid"] = rsa.jwk()["kid"].clone();
        jwk.as_object_mut().unwrap().remove("alg");
        assert_eq!(verify_jwt_with(&jwt, &jwks_of(jwk)), None);
    }

    #[test]
    fn alg_none_is_refused() {
        let (key, _) = new_key(Alg::Es256);
        let encode = |v: &Value| B64URL.encode(v.to_string());
        for header in [json!({"alg": "none"}), json!({"alg": "none", "typ": "JWT"})] {
            let unsigned = format!("{}.{}.", encode(&header), encode(&claims()));
            assert_eq!(
                verify_jwt_with(&unsigned, &jwks_of(key.jwk().clone())),
                None
            );
        }
    }

    #[test]
    fn hmac_is_refused_even_with_a_matching_secret() {
        let secret = b"a secret the attacker knows, e.g. the public key";
        let jwt = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(secret),
        )
        .unwrap();
        let oct = json!({"kty": "oct", "k": B64URL.encode(secret)});
        let with_alg =
            json!({"kty": "oct", "k": B64URL.encode(secret), "alg": "HS256", "use": "sig"});
        assert_eq!(
            verify_jwt_with(&jwt, &json!({"keys": [oct, with_alg]})),
            None
        );
    }

    #[test]
    fn the_kid_must_match_when_given() {
        let (key, record) = new_key(Alg::Es256);
        let jwt = key.sign_jwt(&claims()).unwrap();
        let mut jwk = key.jwk().clone();
        jwk["kid"] = json!("another");
        assert_eq!(verify_jwt_with(&jwt, &jwks_of(jwk.clone())), None);
        jwk.as_object_mut().unwrap().remove("kid");
        assert_eq!(
            verify_jwt_with(&jwt, &jwks_of(jwk)),
            None,
            "a JWK without kid"
        );

        // A token without kid is tried with every key that fits.
        let anonymous = jsonwebtoken::encode(
            &Header::new(Algorithm::ES256),
            &claims(),
            &EncodingKey::from_ec_der(&record.private_pkcs8),
        )
        .unwrap();
        let (other, _) = new_key(Alg::Es256);
        let jwks = json!({"keys": [other.jwk(), key.jwk()]});
        assert_eq!(verify_jwt_with(&anonymous, &jwks), Some(claims()));
    }

    #[test]
    fn a_critical_extension_is_refused() {
        let (_, record) = new_key(Alg::Es256);
        let signer = SigningKey::load(&record).unwrap();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(record.kid.clone());
        header.crit = Some(vec!["exp".into()]);
        let jwt = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_ec_der(&record.private_pkcs8),
        )
        .unwrap();
        assert_eq!(verify_jwt_with(&jwt, &jwks_of(signer.jwk().clone())), None);
    }

    #[test]
    fn a_changed_token_or_a_strangers_key_is_refused() {
        let (key, _) = new_key(Alg::Rs256);
        let (stranger, _) = new_key(Alg::Rs256);
        let jwt = key.sign_jwt(&claims()).unwrap();
        let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
        parts[1] = B64URL.encode(json!({"iss": "evil"}).to_string());
        let changed = parts.join(".");
        assert_eq!(verify_jwt_with(&changed, &jwks_of(key.jwk().clone())), None);
        let mut foreign = stranger.jwk().clone();
        foreign["kid"] = key.jwk()["kid"].clone();
        assert_eq!(verify_jwt_with(&jwt, &jwks_of(foreign)), None);
        assert_eq!(
            verify_jwt_with(&format!("{jwt}.x"), &jwks_of(key.jwk().clone())),
            None
        );
        assert_eq!(verify_jwt_with(&jwt, &json!({})), None, "no keys");
    }

    #[test]
    fn unknown_keys_are_skipped_not_fatal() {
        let (key, _) = new_key(Alg::Es256);
        let jwt = key.sign_jwt(&claims()).unwrap();
        let jwks = json!({"keys": [
            {"kty": "OKP", "crv": "X25519", "x": "abc"},
            {"kty": "EC", "crv": "secp256k1", "x": "abc", "y": "def"},
            "not a key",
            key.jwk(),
        ]});
        assert!(verify_jwt_with(&jwt, &jwks).is_some());
    }

    #[test]
    fn unverified_claims_read_any_signature() {
        let (key, _) = new_key(Alg::Es256);
        let jwt = key.sign_jwt(&claims()).unwrap();
        assert_eq!(unverified_claims(&jwt), Some(claims()));
        assert_eq!(unverified_claims("not a jwt"), None);
    }
}
