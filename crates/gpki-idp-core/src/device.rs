//! Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): a browser
//! that has logged in to an account before carries a signed mark of it, and its password
//! attempts for that account are counted on their own. A guesser elsewhere, or a pupil behind
//! the school's NAT address, can then make their own attempts wait, but not the teacher's
//! browser.
//!
//! One cookie holds the marks of the last few accounts that logged in on the browser (a
//! staff-room PC is shared). A mark names no account: it is `issued.nonce.mac`, the MAC over
//! the school, the account name, the time and the nonce with the service's own key, so only
//! the account it was made for matches it.

use std::time::Duration;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

/// The device cookie's name.
pub const COOKIE: &str = "gpki_device";
/// Marks one cookie keeps (the newest).
const MAX_MARKS: usize = 8;
/// How long a mark counts: a browser that has not logged in to the account for this long is a
/// stranger again.
pub const MARK_LIFETIME: Duration = Duration::from_secs(180 * 86400);
/// The name of the key in the service's secrets.
pub const KEY_NAME: &str = "device-cookie";

/// The key that signs marks, shared by every replica.
pub struct DeviceKey(hmac::Key);

impl DeviceKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    fn mac(&self, school_id: i64, username: &str, issued: i64, nonce: &str) -> String {
        let text = format!(
            "gpki-device|{school_id}|{}|{issued}|{nonce}",
            username.to_lowercase()
        );
        let tag = hmac::sign(&self.0, text.as_bytes());
        B64.encode(&tag.as_ref()[..16])
    }

    /// The cookie value after a login of `username`: a new mark first, then the marks the
    /// browser had (`current`) that still count, at most [`MAX_MARKS`].
    pub fn mark(&self, current: Option<&str>, school_id: i64, username: &str, now: i64) -> String {
        let nonce = crate::random_token(9);
        let mac = self.mac(school_id, username, now, &nonce);
        let fresh = format!("{now}.{nonce}.{mac}");
        let kept = marks(current).filter(|m| m.live(now)).map(|m| m.text);
        std::iter::once(fresh.as_str())
            .chain(kept)
            .take(MAX_MARKS)
            .collect::<Vec<_>>()
            .join("~")
    }

    /// The nonce of the mark the browser's cookie holds for `username`, when one does.
    pub fn known(
        &self,
        cookie: Option<&str>,
        school_id: i64,
        username: &str,
        now: i64,
    ) -> Option<String> {
        marks(cookie)
            .filter(|m| m.live(now))
            .find(|m| {
                let expected = self.mac(school_id, username, m.issued, m.nonce);
                constant_time_eq(expected.as_bytes(), m.mac.as_bytes())
            })
            .map(|m| m.nonce.to_string())
    }
}

/// One mark of a cookie.
struct Mark<'a> {
    text: &'a str,
    issued: i64,
    nonce: &'a str,
    mac: &'a str,
}

impl Mark<'_> {
    fn live(&self, now: i64) -> bool {
        now - self.issued <= MARK_LIFETIME.as_secs() as i64 && self.issued <= now + 300
    }
}

/// The well-formed marks of a cookie value (anything else in it is ignored).
fn marks(cookie: Option<&str>) -> impl Iterator<Item = Mark<'_>> {
    cookie
        .unwrap_or_default()
        .split('~')
        .take(MAX_MARKS)
        .filter_map(|text| {
            let mut parts = text.splitn(3, '.');
            let issued = parts.next()?.parse().ok()?;
            let nonce = parts.next().filter(|n| n.len() <= 16)?;
            let mac = parts.next().filter(|m| m.len() <= 32)?;
            Some(Mark {
                text,
                issued,
                nonce,
                mac,
            })
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_names_one_account_of_one_school() {
        let key = DeviceKey::new(b"k");
        let now = 1_800_000_000;
        let cookie = key.mark(None, 7, "Teacher", now);
        assert!(
            !cookie.contains("eacher"),
            "the account is not in the cookie"
        );
        assert!(key.known(Some(&cookie), 7, "teacher", now + 60).is_some());
        assert!(key.known(Some(&cookie), 7, "other", now).is_none());
        assert!(key.known(Some(&cookie), 8, "teacher", now).is_none());
        assert!(DeviceKey::new(b"x")
            .known(Some(&cookie), 7, "teacher", now)
            .is_none());
        let late = now + MARK_LIFETIME.as_secs() as i64 + 1;
        assert!(
            key.known(Some(&cookie), 7, "teacher", late).is_none(),
            "expired"
        );
    }

    #[test]
    fn a_shared_browser_keeps_the_newest_marks() {
        let key = DeviceKey::new(b"k");
        let now = 1_800_000_000;
        let mut cookie = key.mark(None, 1, "first", now);
        for i in 0..MAX_MARKS {
            cookie = key.mark(Some(&cookie), 1, &format!("u{i}"), now + i as i64);
        }
        assert!(key.known(Some(&cookie), 1, "u7", now).is_some());
        assert!(
            key.known(Some(&cookie), 1, "first", now).is_none(),
            "pushed out"
        );
        assert_eq!(cookie.split('~').count(), MAX_MARKS);
        let forged = format!("{now}.AAAA.{}~junk~{cookie}", "A".repeat(22));
        assert!(
            key.known(Some(&forged), 1, "u7", now).is_some(),
            "junk is ignored"
        );
        assert!(key.known(Some("1.2"), 1, "u7", now).is_none());
    }
}
