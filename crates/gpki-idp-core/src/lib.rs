//! gpki-idp-core: the identity provider's domain, apart from HTTP and storage.
//!
//! One module per capability: [`model`] (what is stored), [`store`] (the traits storage
//! implements), [`password`] (argon2id logins), [`keys`] (signing keys, JWKS, signing),
//! [`jws`] (verifying JWS: client assertions, our own tokens), [`oidc`] (authorization
//! requests, codes, tokens), [`error`] (OAuth errors with stable codes), [`staged`]
//! (short-lived writes undone when their database commit fails).

pub mod admin;
pub mod audit;
pub mod client_secret;
pub mod code;
pub mod deadline;
pub mod destination;
pub mod device;
pub mod ephemeral;
pub mod error;
pub mod factor;
pub mod holder;
pub mod jws;
pub mod keys;
pub mod login;
pub mod model;
pub mod oidc;
pub mod params;
pub mod password;
pub mod password_policy;
pub mod policy;
pub mod retention;
pub mod staged;
pub mod store;

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a secret token, hex: what is stored instead of the token.
pub fn token_hash(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
