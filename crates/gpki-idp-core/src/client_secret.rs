//! Client secrets as stored: an HMAC-SHA256 of the secret under a key of the service.
//!
//! A client secret is 256 random bits made by us, not a password a person chose: nobody can
//! guess it or search a list for it, so a slow hash (argon2) protects nothing that a keyed
//! fast one does not, and it costs tens of milliseconds of a core at every token request —
//! the cost a stranger could make us pay with wrong secrets. The key is one of the service's
//! secrets (`Directory::secret`), made once and shared by every replica; without it a copy of
//! the clients table does not even allow checking a guess. Comparisons are constant time
//! (`hmac::verify`).
//!
//! Secrets stored before (argon2id) keep working: the first right one is verified with
//! argon2 (on the password pool) and its hash replaced by the fast form, once, only if it is
//! still the stored one, and audited (`client.secret_rehash`; see `oidc::client_auth`).

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

use crate::model::Client;

/// The name of the key in the service's secrets.
pub const KEY_NAME: &str = "client-secret";
/// How a stored hash of this form begins.
const PREFIX: &str = "$hmac-sha256$";
/// The longest secret checked: ours are 43 characters; anything far longer is wrong and
/// is not worth hashing.
pub const MAX_SECRET: usize = 512;

/// The key that hashes client secrets, shared by every replica.
pub struct SecretKey(hmac::Key);

impl SecretKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    fn message(secret: &str) -> Vec<u8> {
        [b"gpki-idp client secret\0".as_slice(), secret.as_bytes()].concat()
    }

    /// The stored form of `secret`.
    pub fn hash(&self, secret: &str) -> String {
        let tag = hmac::sign(&self.0, &Self::message(secret));
        format!("{PREFIX}{}", B64.encode(tag.as_ref()))
    }

    /// Whether `secret` is the one `stored` (a hash of this form) was made from. A stored
    /// value that is not of this form is checked against a tag nothing matches, at the same
    /// cost; a secret longer than [`MAX_SECRET`] is not hashed at all.
    pub fn matches(&self, stored: Option<&str>, secret: &str) -> bool {
        if secret.len() > MAX_SECRET {
            return false;
        }
        let tag = stored
            .and_then(|s| s.strip_prefix(PREFIX))
            .and_then(|t| B64.decode(t).ok());
        let real = tag.is_some();
        let tag = tag.unwrap_or_else(|| vec![0; 32]);
        let ok = hmac::verify(&self.0, &Self::message(secret), &tag).is_ok();
        ok && real
    }
}

/// Whether a client's stored secret is of the fast form (for tests and diagnostics).
pub fn stored_in_fast_form(client: &Client) -> bool {
    client
        .secret_hash
        .as_deref()
        .is_some_and(|s| s.starts_with(PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_its_own_hash_under_its_own_key_only() {
        let key = SecretKey::new(b"k");
        let secret = crate::random_token(32);
        let stored = key.hash(&secret);
        assert!(stored.starts_with(PREFIX) && !stored.contains(&secret));
        assert!(key.matches(Some(&stored), &secret));
        assert!(!key.matches(Some(&stored), "wrong"));
        assert!(!key.matches(Some(&stored), &format!("{secret}x")));
        assert!(!SecretKey::new(b"other").matches(Some(&stored), &secret));
        assert!(!key.matches(None, &secret), "no such client");
        assert!(!key.matches(Some("$argon2id$v=19$..."), &secret));
        assert!(!key.matches(Some("$hmac-sha256$!!"), &secret));
        let long = "x".repeat(MAX_SECRET + 1);
        assert!(!key.matches(Some(&key.hash(&long)), &long));
    }
}
