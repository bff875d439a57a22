//! Slowing password guessers without locking teachers out.
//!
//! Only failures count: a whole school reaches us from one NAT address, and its teachers'
//! successful logins at the start of the day must never throttle each other. Failures are
//! counted per (address, account), per account (from any address) and per address (across
//! accounts); past each free allowance every further failure makes the next attempt wait,
//! doubling from [`ProviderSettings::failure_delay`] up to a cap. A wait ends by itself: a
//! guesser who typed five wrong passwords holds a teacher up for a second, not a quarter of
//! an hour, and a success clears the account's counts. (Keycloak's brute-force detection, for
//! comparison, temporarily disables the account for everyone once its failure count is
//! reached, with a wait increment and a max wait.)

use std::time::Duration;

use super::{Provider, ProviderSettings};
use crate::store::StoreError;

/// One of the three failure counts.
struct Scope {
    key: String,
    free: u64,
    cap: Duration,
}

fn scopes(s: &ProviderSettings, school_id: i64, username: &str, ip: &str) -> [Scope; 3] {
    let account = username.to_lowercase();
    [
        Scope {
            key: format!("rl:pair:{school_id}:{ip}:{account}"),
            free: s.max_failures_per_account,
            cap: s.max_failure_delay,
        },
        Scope {
            key: format!("rl:acct:{school_id}:{account}"),
            free: s.account_failures_before_delay,
            cap: s.max_account_delay,
        },
        Scope {
            key: format!("rl:ip:{ip}"),
            free: s.max_attempts_per_ip,
            cap: s.max_account_delay,
        },
    ]
}

/// The wait after the `failures`-th failure of a scope that allows `free` of them.
pub fn delay_after(failures: u64, free: u64, base: Duration, cap: Duration) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let doublings = (failures - free).min(30) as u32;
    base.saturating_mul(1u32 << doublings).min(cap)
}

impl Provider {
    /// How long this attempt must wait (zero: it may go on). Reads only.
    pub(crate) async fn login_wait(
        &self,
        school_id: i64,
        username: &str,
        ip: &str,
    ) -> Result<Duration, StoreError> {
        let now = crate::now();
        let mut wait = 0i64;
        for scope in scopes(&self.settings, school_id, username, ip) {
            let until = self.ephemeral.get(&format!("{}:until", scope.key)).await?;
            let until = until
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|t| t.parse::<i64>().ok())
                .unwrap_or(0);
            wait = wait.max(until - now);
        }
        Ok(Duration::from_secs(wait.max(0) as u64))
    }

    /// Counts a failed attempt in every scope and sets the waits it earns.
    pub(crate) async fn login_failed(
        &self,
        school_id: i64,
        username: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        let s = &self.settings;
        for scope in scopes(s, school_id, username, ip) {
            let failures = self.ephemeral.incr(&scope.key, s.throttle_window).await?;
            let delay = delay_after(failures, scope.free, s.failure_delay, scope.cap);
            if !delay.is_zero() {
                let until = crate::now() + delay.as_secs() as i64;
                let key = format!("{}:until", scope.key);
                self.ephemeral
                    .put(&key, until.to_string().as_bytes(), delay)
                    .await?;
            }
        }
        Ok(())
    }

    /// A right password: the account's failure counts start again (the address's across
    /// accounts stay, so a sprayer gains nothing from one good guess).
    pub(crate) async fn login_succeeded(
        &self,
        school_id: i64,
        username: &str,
        ip: &str,
    ) -> Result<(), StoreError> {
        let [pair, account, _] = scopes(&self.settings, school_id, username, ip);
        for scope in [pair, account] {
            self.ephemeral.delete(&scope.key).await?;
        }
        Ok(())
    }

    /// Counts a look-up of an account's login methods from `ip` against the per-address
    /// budget (the account-first page must not become a way to list accounts); false when
    /// the budget is spent. The budget is large: every teacher behind a school's NAT address
    /// opens the page at the start of the day.
    pub async fn account_probe_allowed(&self, ip: &str) -> Result<bool, crate::error::Error> {
        let attempts = self
            .ephemeral
            .incr(&format!("rl:probe:{ip}"), self.settings.throttle_window)
            .await?;
        Ok(attempts <= self.settings.max_lookups_per_ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_the_allowance_up_to_the_cap() {
        let (base, cap) = (Duration::from_secs(1), Duration::from_secs(900));
        let d = |n| delay_after(n, 5, base, cap).as_secs();
        assert_eq!([d(0), d(4), d(5), d(6), d(7), d(14)], [0, 0, 1, 2, 4, 512]);
        assert_eq!(d(15), 900);
        assert_eq!(d(u64::MAX), 900, "no overflow however many failures");
    }
}
