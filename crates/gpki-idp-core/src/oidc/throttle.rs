//! Slowing password guessers without locking teachers out.
//!
//! Only failures count: a whole school reaches us from one NAT address, and its teachers'
//! successful logins at the start of the day must never throttle each other. Failures are
//! counted per (address, account), per account (from any address) and per address (across
//! accounts); past each free allowance every further failure makes the next attempt wait,
//! doubling from [`ProviderSettings::failure_delay`] up to a cap. A wait ends by itself, and a
//! right password clears the account's counts. (Keycloak's brute-force detection, for
//! comparison, temporarily disables the account for everyone once its failure count is
//! reached, with a wait increment and a max wait.)
//!
//! Three rules keep a guesser from turning this against the teacher:
//! - **Reserved first.** An attempt is counted as a failure, atomically in every scope,
//!   before its password is checked, and a right password gives the reservation back: a burst
//!   of concurrent guesses cannot all pass a check made before any of them was counted.
//! - **A known browser is counted on its own.** A browser that has logged in to the account
//!   before carries a device cookie ([`crate::device`]); its attempts for that account are
//!   counted in a scope of their own, so nobody else's failures make it wait.
//! - **The school's own address is not one guesser.** From an address in the school's campus
//!   ranges (the NAT address every teacher shares), the per-address scope is not counted for
//!   the school's accounts.

use std::net::IpAddr;

use super::{Provider, ProviderSettings};
use crate::device::{DeviceKey, KEY_NAME};
use crate::ephemeral::AttemptScope;
use crate::error::Error;
use crate::model::School;

/// The key of a client address in counts and budgets: an IPv4 address as it is, an IPv6
/// address by its /64 (one subscriber's whole network is one key, however many addresses it
/// uses).
pub fn address_key(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.chars().take(64).collect(),
    }
}

/// Who makes a password attempt, as the throttle sees it.
pub struct Attempter<'a> {
    pub ip: &'a str,
    /// The browser's device cookie, when it sent one.
    pub device: Option<&'a str>,
}

/// The scopes an attempt was counted in, to give back when the password is right.
pub(crate) struct Reserved {
    /// The attempt comes from a browser that has logged in to the account before (its own
    /// scope, and its own lane of the password pool).
    pub(crate) known_browser: bool,
    /// The scopes of this account: a right password clears them.
    personal: Vec<AttemptScope>,
    /// The address's scope across accounts: a right password gives back only its own
    /// attempt (a sprayer gains nothing from one good guess, and a school behind one address
    /// is not slowed by its teachers' logins).
    shared: Vec<AttemptScope>,
}

impl ProviderSettings {
    fn scope(&self, key: String, free: u64, cap: std::time::Duration) -> AttemptScope {
        AttemptScope {
            key,
            free,
            base: self.failure_delay,
            cap,
            window: self.throttle_window,
        }
    }
}

impl Provider {
    /// The key that signs device cookies, made once for the whole service.
    pub(crate) async fn device_key(&self) -> Result<&DeviceKey, Error> {
        self.device_key
            .get_or_try_init(|| async {
                let fresh = crate::random_token(32).into_bytes();
                let secret = self.directory.secret(KEY_NAME, fresh).await?;
                Ok(DeviceKey::new(&secret))
            })
            .await
    }

    /// Counts a password attempt of `username` before it is checked; a `throttled` error
    /// (with the wait) when one of its scopes still waits, and then nothing is counted.
    pub(crate) async fn reserve_password_attempt(
        &self,
        school: &School,
        username: &str,
        who: &Attempter<'_>,
    ) -> Result<Reserved, Error> {
        let s = &self.settings;
        let account = username.to_lowercase();
        let address = address_key(who.ip);
        let device = self
            .device_key()
            .await?
            .known(who.device, school.id, &account, crate::now());
        let mut personal = Vec::new();
        let mut shared = Vec::new();
        let known_browser = device.is_some();
        if let Some(nonce) = device {
            let key = format!("rl:dev:{}:{account}:{nonce}", school.id);
            personal.push(s.scope(key, s.max_failures_per_account, s.max_failure_delay));
        } else {
            let pair = format!("rl:pair:{}:{address}:{account}", school.id);
            personal.push(s.scope(pair, s.max_failures_per_account, s.max_failure_delay));
            let acct = format!("rl:acct:{}:{account}", school.id);
            personal.push(s.scope(acct, s.account_failures_before_delay, s.max_account_delay));
            if !self.on_campus(school, who.ip).await? {
                let ip = format!("rl:ip:{address}");
                shared.push(s.scope(ip, s.max_attempts_per_ip, s.max_account_delay));
            }
        }
        let scopes: Vec<AttemptScope> = shared.iter().chain(&personal).cloned().collect();
        let wait = self.ephemeral.reserve_attempt(&scopes).await?;
        if !wait.is_zero() {
            // Rounded up: an answer of 0 s would be tried again at once.
            return Err(Error::throttled(wait.as_millis().div_ceil(1000) as u64));
        }
        Ok(Reserved {
            known_browser,
            personal,
            shared,
        })
    }

    /// Counts a card attempt from `ip` before its challenge and signature are checked: a
    /// made-up challenge, a forged signature, a certificate bound to nobody all count against
    /// the address as a wrong password does (the campus addresses of the school aside).
    pub(crate) async fn reserve_card_attempt(
        &self,
        school: &School,
        ip: &str,
    ) -> Result<Reserved, Error> {
        let s = &self.settings;
        let mut shared = Vec::new();
        if !self.on_campus(school, ip).await? {
            let key = format!("rl:ip:{}", address_key(ip));
            shared.push(s.scope(key, s.max_attempts_per_ip, s.max_account_delay));
        }
        let wait = self.ephemeral.reserve_attempt(&shared).await?;
        if !wait.is_zero() {
            return Err(Error::throttled(wait.as_millis().div_ceil(1000) as u64));
        }
        Ok(Reserved {
            known_browser: false,
            personal: Vec::new(),
            shared,
        })
    }

    /// Counts a client authentication at the token, revocation or introspection endpoint
    /// before its credentials are checked, per (client, address) and per address (a stranger
    /// sending wrong secrets for many clients); a `throttled` error with the wait when either
    /// still waits. Not per client from anywhere: a stranger could then make a school's
    /// portal wait. The waits are capped at [`ProviderSettings::max_account_delay`]: a
    /// secret is 256 random bits, guessing is hopeless, the count only bounds the work a
    /// stranger can ask for, and a portal whose secret was rotated is not held up long.
    pub(crate) async fn reserve_client_attempt(
        &self,
        school: &School,
        client_id: &str,
        ip: &str,
    ) -> Result<Reserved, Error> {
        let s = &self.settings;
        let address = address_key(ip);
        // Only ids a client could have go into keys as they are.
        let id_ok = client_id.len() <= 64 && client_id.bytes().all(|b| b.is_ascii_graphic());
        let id = if id_ok {
            client_id.to_string()
        } else {
            crate::token_hash(client_id)
        };
        let pair = format!("rl:client:{}:{address}:{id}", school.id);
        let personal = vec![s.scope(pair, s.max_failures_per_account, s.max_account_delay)];
        let from = format!("rl:clientip:{address}");
        let shared = vec![s.scope(from, s.max_attempts_per_ip, s.max_account_delay)];
        let scopes: Vec<AttemptScope> = shared.iter().chain(&personal).cloned().collect();
        let wait = self.ephemeral.reserve_attempt(&scopes).await?;
        if !wait.is_zero() {
            return Err(Error {
                retry_after: Some(wait.as_millis().div_ceil(1000) as u64),
                ..Error::new(
                    crate::code::Code::Throttled,
                    "too many failed client authentications from this address; retry later",
                )
            });
        }
        Ok(Reserved {
            known_browser: false,
            personal,
            shared,
        })
    }

    /// An attempt whose check could not be made (storage, or the password pool, unavailable):
    /// its reservation is given back in every scope, as if it had not been made.
    pub(crate) async fn attempt_undecided(&self, reserved: Reserved) -> Result<(), Error> {
        let scopes: Vec<AttemptScope> = reserved
            .shared
            .into_iter()
            .chain(reserved.personal)
            .collect();
        self.ephemeral.release_attempt(&scopes).await?;
        Ok(())
    }

    /// Counts a challenge asked for from `ip` against the address's budget; `false` past it.
    /// Nothing is refused for it (a challenge is not stored): it says when failed attempts
    /// from the address stop being audited one by one.
    pub(crate) async fn challenge_allowed(&self, ip: &str) -> Result<bool, Error> {
        let key = format!("rl:chal:{}", address_key(ip));
        let asked = self
            .ephemeral
            .incr(&key, self.settings.throttle_window)
            .await?;
        Ok(asked <= self.settings.max_challenges_per_ip)
    }

    /// A right password (or card): the account's reservation is given back and its failure
    /// counts start again.
    pub(crate) async fn attempt_was_right(&self, reserved: Reserved) -> Result<(), Error> {
        self.ephemeral.release_attempt(&reserved.shared).await?;
        for scope in reserved.personal {
            self.ephemeral.delete(&scope.key).await?;
            self.ephemeral.delete(&scope.until_key()).await?;
        }
        Ok(())
    }

    /// Whether `ip` is in the school's campus ranges (its registration rules).
    async fn on_campus(&self, school: &School, ip: &str) -> Result<bool, Error> {
        let rules = self.directory.registration_rules(school.id).await?;
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return Ok(false);
        };
        Ok(!rules.campus_cidrs.is_empty() && rules.allows_address(Some(ip)))
    }

    /// The device cookie's value after `username` logged in on a browser that sent
    /// `current`.
    pub async fn device_cookie(
        &self,
        school: &School,
        username: &str,
        current: Option<&str>,
    ) -> Result<String, Error> {
        let key = self.device_key().await?;
        Ok(key.mark(current, school.id, &username.to_lowercase(), crate::now()))
    }

    /// Counts a look-up of an account's login methods from `ip` against the per-address
    /// budget (the account-first page must not become a way to list accounts); false when
    /// the budget is spent. The budget is large: every teacher behind a school's NAT address
    /// opens the page at the start of the day.
    pub async fn account_probe_allowed(&self, ip: &str) -> Result<bool, Error> {
        let key = format!("rl:probe:{}", address_key(ip));
        let attempts = self
            .ephemeral
            .incr(&key, self.settings.throttle_window)
            .await?;
        Ok(attempts <= self.settings.max_lookups_per_ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn waits_double_from_the_allowance_up_to_the_cap() {
        let scope = AttemptScope {
            key: "k".into(),
            free: 5,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(900),
            window: Duration::from_secs(900),
        };
        let d = |n| scope.delay_after(n).as_secs();
        assert_eq!([d(0), d(4), d(5), d(6), d(7), d(14)], [0, 0, 1, 2, 4, 512]);
        assert_eq!(d(15), 900);
        assert_eq!(d(u64::MAX), 900, "no overflow however many failures");
    }

    #[test]
    fn addresses_are_keyed_canonically_and_ipv6_by_its_64() {
        assert_eq!(address_key("10.1.2.3"), "10.1.2.3");
        assert_eq!(address_key("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(address_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2::ffff"), "2001:db8:1:2::/64");
        assert_eq!(address_key("unknown"), "unknown");
    }
}
