//! A second level for OCSP verdicts, shared by the replicas of a deployment (the service puts
//! it in Redis). The engine keeps its own in-process cache in front: the shared level only
//! saves a responder round trip when another replica has asked already. It holds verdicts the
//! engine itself verified, so it must be as trusted as the process (an internal store).

use std::time::{Duration, SystemTime};

use super::ocsp::CertState;

/// Where replicas share OCSP verdicts. Errors are the store's business: a miss is a miss.
pub trait SharedStatusCache: Send + Sync {
    /// The verdict stored under `key`, if any.
    fn get(&self, key: &str) -> Option<String>;
    /// Stores `value` under `key` for `ttl`.
    fn put(&self, key: &str, value: &str, ttl: Duration);
}

/// The key of a certificate's verdict: the issuer's fingerprint and the serial.
pub fn key(issuer_sha256: &str, serial_hex: &str) -> String {
    format!("ocsp:{issuer_sha256}:{serial_hex}")
}

/// `state` and the end of its freshness as stored text: `good 1767225600`.
pub fn encode(state: CertState, fresh_until: SystemTime) -> String {
    let name = match state {
        CertState::Good => "good",
        CertState::Revoked => "revoked",
        CertState::Unknown => "unknown",
    };
    let secs = fresh_until
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{name} {secs}")
}

/// The stored text back; anything malformed is a miss.
pub fn decode(text: &str) -> Option<(CertState, SystemTime)> {
    let (name, secs) = text.split_once(' ')?;
    let state = match name {
        "good" => CertState::Good,
        "revoked" => CertState::Revoked,
        "unknown" => CertState::Unknown,
        _ => return None,
    };
    let until = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs.parse().ok()?))?;
    Some((state, until))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_round_trip_and_garbage_misses() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        assert_eq!(
            decode(&encode(CertState::Revoked, t)),
            Some((CertState::Revoked, t))
        );
        assert_eq!(decode("good"), None);
        assert_eq!(decode("maybe 1"), None);
        assert_eq!(decode("good x"), None);
        assert_eq!(decode(&format!("good {}", u64::MAX)), None);
    }
}
