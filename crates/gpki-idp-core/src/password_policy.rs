//! The rules a new password meets (a school's password policy, with the district's defaults
//! from the configuration), and when a password must be changed: set by someone else
//! (temporary), or older than the policy's maximum age.
//!
//! The defaults follow NIST SP 800-63B §5.1.1.2: at least 8 characters, checked against
//! common passwords, no composition rules and no periodic change (maximum age off); a
//! district that must meet 附表十 turns the maximum age on (`docs/COMPLIANCE.md`).

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::code::Code;
use crate::error::Error;
use crate::model::{SchoolPasswordPolicy, User};

/// The longest password accepted, in characters (argon2 takes any length; a bound keeps one
/// request's cost bounded).
pub const MAX_LENGTH: usize = 128;

/// The most earlier passwords a policy may refuse (the store keeps this many).
pub const MAX_HISTORY: u32 = 24;

const DAY: i64 = 86_400;

/// A password policy: the district's defaults, or a school's own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// The fewest characters a password has.
    pub min_length: u32,
    /// The lowest strength score (zxcvbn, 0 to 4) a password has.
    pub min_score: u8,
    /// A new password may not be the present one or one of the `history - 1` before it
    /// (0: any may be used again).
    pub history: u32,
    /// Days after a change before the holder may change the password again (0: none).
    pub min_age_days: u32,
    /// Days after which the password must be changed at the next login (0: never).
    pub max_age_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            min_score: 2,
            history: 3,
            min_age_days: 0,
            max_age_days: 0,
        }
    }
}

impl PasswordPolicy {
    /// Whether the policy itself is sound; the reason when not.
    pub fn check(&self) -> Result<(), String> {
        if !(6..=64).contains(&self.min_length) {
            return Err("min_length: 6 to 64".into());
        }
        if self.min_score > 4 {
            return Err("min_score: 0 to 4".into());
        }
        if self.history > MAX_HISTORY {
            return Err(format!("history: 0 to {MAX_HISTORY}"));
        }
        if self.min_age_days > 365 {
            return Err("min_age_days: 0 to 365".into());
        }
        let max = self.max_age_days;
        if max > 3650 || (max > 0 && max <= self.min_age_days) {
            return Err("max_age_days: 0 (never) or up to 3650, more than min_age_days".into());
        }
        Ok(())
    }

    /// The rules a new password meets by itself (its repetition, length, strength; `inputs`
    /// are words of the account a guesser would try first: its name, the school's code); the
    /// history is checked apart ([`crate::login`]), since it needs the stored hashes.
    pub fn check_new(&self, new: &str, again: &str, inputs: &[&str]) -> Result<(), Error> {
        if new != again {
            return Err(Error::of(Code::PasswordMismatch));
        }
        let length = new.chars().count();
        if length < self.min_length as usize {
            return Err(Error::of(Code::PasswordTooShort));
        }
        if length > MAX_LENGTH {
            return Err(Error::new(
                Code::InvalidRequest,
                format!("a password has at most {MAX_LENGTH} characters"),
            ));
        }
        if is_common(new) || strength(new, inputs) < self.min_score {
            return Err(Error::of(Code::PasswordTooWeak));
        }
        Ok(())
    }

    /// Whether `user`'s password is older than the maximum age at `now`.
    pub fn expired(&self, user: &User, now: i64) -> bool {
        match (self.max_age_days, user.password_changed_at) {
            (0, _) | (_, None) => false,
            (days, Some(at)) => now - at >= i64::from(days) * DAY,
        }
    }

    /// Whether `user` must change the password before a login with it completes: set by
    /// someone else, or expired.
    pub fn must_change(&self, user: &User, now: i64) -> bool {
        user.password_hash.is_some() && (user.password_must_change || self.expired(user, now))
    }

    /// Whether the holder changed the password too recently to change it again at `now` (a
    /// password that must change may always be changed).
    pub fn too_new(&self, user: &User, now: i64) -> bool {
        if self.min_age_days == 0 || self.must_change(user, now) {
            return false;
        }
        user.password_changed_at
            .is_some_and(|at| now - at < i64::from(self.min_age_days) * DAY)
    }

    /// How many earlier passwords (besides the present one) a new one is checked against.
    pub fn earlier_checked(&self) -> i64 {
        i64::from(self.history.saturating_sub(1))
    }
}

/// The most common passwords of Chinese-speaking users (`data/common-passwords.txt`, see
/// `data/README.md`), refused whatever their strength score: zxcvbn's own lists are English.
const COMMON: &str = include_str!("../data/common-passwords.txt");

/// Whether `password` (case folded) is on the shipped list of common passwords.
pub fn is_common(password: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| COMMON.lines().filter(|l| !l.is_empty()).collect());
    set.contains(password.to_lowercase().as_str())
}

/// zxcvbn's strength score of `password` (0 to 4), `inputs` counted as words a guesser knows.
pub fn strength(password: &str, inputs: &[&str]) -> u8 {
    u8::from(zxcvbn::zxcvbn(password, inputs).score())
}

impl SchoolPasswordPolicy {
    /// The policy in force: the school's rules over the district's `defaults`.
    pub fn over(&self, defaults: &PasswordPolicy) -> PasswordPolicy {
        PasswordPolicy {
            min_length: self.min_length.unwrap_or(defaults.min_length),
            min_score: self.min_score.unwrap_or(defaults.min_score),
            history: self.history.unwrap_or(defaults.history),
            min_age_days: self.min_age_days.unwrap_or(defaults.min_age_days),
            max_age_days: self.max_age_days.unwrap_or(defaults.max_age_days),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(changed_at: Option<i64>, must: bool) -> User {
        User {
            id: 1,
            school_id: 1,
            username: "t".into(),
            subject: "s".into(),
            display_name: "T".into(),
            password_hash: Some("$argon2id$x".into()),
            roles: vec!["teacher".into()],
            disabled: false,
            password_must_change: must,
            password_changed_at: changed_at,
        }
    }

    #[test]
    fn length_and_repetition() {
        let p = PasswordPolicy::default();
        let check = |pw: &str| p.check_new(pw, pw, &["t.lin", "demo"]).map_err(|e| e.code);
        assert_eq!(check("abc"), Err(Code::PasswordTooShort));
        let mismatch = p.check_new("abcdefgh1", "abcdefgh2", &[]).unwrap_err();
        assert_eq!(mismatch.code, Code::PasswordMismatch);
        let long = "字".repeat(MAX_LENGTH + 1);
        assert_eq!(check(&long), Err(Code::InvalidRequest));
        // Characters, not bytes: eight Chinese characters are eight.
        assert_eq!(check("我的密碼很長很長"), Ok(()));
        assert_eq!(check("river-lantern-58-quiet"), Ok(()));
    }

    #[test]
    fn common_and_weak_passwords() {
        let p = PasswordPolicy::default();
        let check = |pw: &str| p.check_new(pw, pw, &["t.lin", "demo"]).map_err(|e| e.code);
        // On the shipped list (zxcvbn's English lists do not know them), in any case.
        assert!(is_common("woaini1314") && is_common("WoAiNi1314"));
        assert_eq!(check("woaini1314"), Err(Code::PasswordTooWeak));
        assert_eq!(check("beijing2008"), Err(Code::PasswordTooWeak));
        // Long enough but guessable: zxcvbn's score is below 2.
        assert_eq!(check("password1"), Err(Code::PasswordTooWeak));
        assert_eq!(check("12345678"), Err(Code::PasswordTooWeak));
        // The account's own name is a word a guesser tries first.
        assert!(strength("t.lin2024", &["t.lin"]) < strength("t.lin2024", &[]));
        let lax = PasswordPolicy {
            min_score: 0,
            ..PasswordPolicy::default()
        };
        assert!(lax.check_new("password1", "password1", &[]).is_ok());
        assert_eq!(
            lax.check_new("woaini1314", "woaini1314", &[])
                .unwrap_err()
                .code,
            Code::PasswordTooWeak,
            "the list applies whatever the score"
        );
    }

    #[test]
    fn a_school_sets_some_rules_the_district_the_rest() {
        let district = PasswordPolicy {
            max_age_days: 180,
            ..PasswordPolicy::default()
        };
        let own = SchoolPasswordPolicy {
            min_length: Some(12),
            max_age_days: Some(0),
            ..SchoolPasswordPolicy::default()
        };
        let p = own.over(&district);
        assert_eq!((p.min_length, p.history, p.max_age_days), (12, 3, 0));
        assert_eq!(SchoolPasswordPolicy::default().over(&district), district);
    }

    #[test]
    fn temporary_expired_and_too_new() {
        let now = 100 * DAY;
        let mut p = PasswordPolicy::default();
        assert!(p.must_change(&user(Some(now), true), now), "temporary");
        assert!(
            !p.must_change(&user(Some(0), false), now),
            "no maximum age by default"
        );
        p.max_age_days = 90;
        assert!(p.must_change(&user(Some(now - 90 * DAY), false), now));
        assert!(!p.must_change(&user(Some(now - 89 * DAY), false), now));
        p.min_age_days = 1;
        assert!(p.too_new(&user(Some(now - 3600), false), now));
        assert!(!p.too_new(&user(Some(now - DAY), false), now));
        assert!(
            !p.too_new(&user(Some(now - 3600), true), now),
            "a temporary one may change"
        );
        assert_eq!(p.earlier_checked(), 2);
    }

    #[test]
    fn policy_bounds() {
        assert!(PasswordPolicy::default().check().is_ok());
        let bad = |f: fn(&mut PasswordPolicy)| {
            let mut p = PasswordPolicy::default();
            f(&mut p);
            p.check().is_err()
        };
        assert!(bad(|p| p.min_score = 5));
        assert!(bad(|p| p.history = MAX_HISTORY + 1));
        assert!(bad(|p| p.min_length = 5));
        assert!(bad(|p| p.max_age_days = 3651));
        assert!(bad(|p| {
            p.min_age_days = 10;
            p.max_age_days = 10
        }));
    }
}
