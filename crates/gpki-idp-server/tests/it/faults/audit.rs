//! 5. The audit log says what the browsers got, while Redis and the database fail in turn.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gpki_idp_server::demo;

use super::RECOVERY_LIMIT;
use crate::support::block_on;
use crate::support::faults::client::{browser, Answer};
use crate::support::faults::figures::{ensure, fault_test};
use crate::support::faults::flows::{password_login, REQUEST_LIMIT};
use crate::support::faults::proxy::{Mode, TcpProxy};
use crate::support::faults::redis::PrivateRedis;
use crate::support::faults::Rig;

const AUDIT_UA: &str = "gpki-fault-login-";

/// Redis killed and restarted, the database blackholed and reset, three times over ~10 s.
fn fault_schedule(
    proxy: &TcpProxy,
    redis: &mut PrivateRedis,
    faults: &AtomicUsize,
    first_fault: &std::sync::OnceLock<Instant>,
) {
    let pause = |ms| std::thread::sleep(Duration::from_millis(ms));
    for round in 0..3 {
        pause(500);
        first_fault.get_or_init(Instant::now);
        redis.kill();
        faults.fetch_add(1, Ordering::SeqCst);
        pause(700);
        redis.restart();
        pause(500);
        proxy.set_mode(if round == 1 {
            Mode::Reset
        } else {
            Mode::Blackhole
        });
        faults.fetch_add(1, Ordering::SeqCst);
        pause(1200);
        proxy.restore();
    }
}

#[test]
fn audit_matches_what_the_browser_got() {
    fault_test("audit_under_redis_and_postgres_faults", |fig| {
        let mut rig = Rig::start(|_| {});
        let issuer = rig.issuer();
        let state = rig.server().state.clone();
        let faults = AtomicUsize::new(0);
        let done = AtomicBool::new(false);
        let first_fault = std::sync::OnceLock::new();
        // (user agent, right password?, what the browser got)
        let mut logins: Vec<(String, bool, Answer)> = Vec::new();
        let mut first_503: Option<Instant> = None;
        let t0 = Instant::now();
        std::thread::scope(|s| {
            let (proxy, redis) = (&rig.proxy, &mut rig.redis);
            let (faults, done, first_fault) = (&faults, &done, &first_fault);
            s.spawn(move || {
                fault_schedule(proxy, redis, faults, first_fault);
                done.store(true, Ordering::SeqCst);
            });
            let mut i = 0;
            while (i < 60 || !done.load(Ordering::SeqCst)) && t0.elapsed() < Duration::from_secs(90)
            {
                // Every sixth login is a wrong password (of another account, so the teacher
                // is never locked).
                let right = i % 6 != 5;
                let (user, password) = if right {
                    ("teacher", demo::PASSWORD)
                } else {
                    ("staff", "not-the-password")
                };
                let ua = format!("{AUDIT_UA}{i}");
                let answer = password_login(&browser(REQUEST_LIMIT, &ua), &issuer, user, password);
                if answer.status() == Some(503) && first_503.is_none() {
                    first_503 = Some(Instant::now());
                }
                logins.push((ua, right, answer));
                i += 1;
            }
        });
        let took = t0.elapsed();
        ensure(done.load(Ordering::SeqCst), || {
            "the fault schedule did not finish within 90 s".into()
        })?;
        for (_, _, a) in &logins {
            fig.count(a);
        }
        fig.note("faults_injected", faults.load(Ordering::SeqCst) as u64);
        fig.note("logins_ms", took.as_millis() as u64);
        // From the first fault injected to the first login answered 503.
        fig.time_to_first_503_ms = first_503
            .zip(first_fault.get())
            .map(|(a, f)| a.saturating_duration_since(*f).as_millis());

        let back = rig.heal_and_wait_ready(RECOVERY_LIMIT);
        fig.recovery_ms = back.map(|d| d.as_millis());
        ensure(back.is_some(), || {
            format!("/readyz not 200 within {RECOVERY_LIMIT:?} after the faults")
        })?;

        let school =
            block_on(state.provider.school(demo::SCHOOL)).map_err(|e| format!("school: {e:?}"))?;
        let events = block_on(
            state
                .provider
                .directory()
                .audit_events(school.id, 0, 10_000),
        )
        .map_err(|e| format!("audit log: {e:?}"))?;
        let mut successes: HashMap<String, u64> = HashMap::new();
        let mut failures: BTreeMap<String, u64> = BTreeMap::new();
        for e in events.iter().filter(|e| e.event == "login.password") {
            let Some(ua) = e
                .user_agent
                .as_deref()
                .filter(|ua| ua.starts_with(AUDIT_UA))
            else {
                continue;
            };
            if e.outcome == "success" {
                *successes.entry(ua.to_string()).or_default() += 1;
            } else {
                *failures.entry(e.outcome.clone()).or_default() += 1;
            }
        }
        let got_code: Vec<&(String, bool, Answer)> = logins
            .iter()
            .filter(|(_, _, a)| a.code().is_some())
            .collect();
        let wrong_accepted = got_code.iter().filter(|(_, right, _)| !right).count() as u64;
        fig.wrong_logins_accepted = Some(wrong_accepted);
        let missing: Vec<&str> = got_code
            .iter()
            .filter(|(ua, _, _)| !successes.contains_key(ua))
            .map(|(ua, _, _)| ua.as_str())
            .collect();
        let false_audit: Vec<String> = successes
            .iter()
            .filter(|(ua, n)| **n > 1 || !got_code.iter().any(|(u, _, _)| u == *ua))
            .map(|(ua, n)| format!("{ua}×{n}"))
            .collect();
        let audit_successes: u64 = successes.values().sum();
        fig.note("logins", logins.len() as u64);
        fig.note("browser_codes", got_code.len() as u64);
        fig.note("audit_successes", audit_successes);
        fig.note("audit_failures", serde_json::to_value(&failures).unwrap());
        fig.note("missing_audit", missing.len() as u64);
        fig.note("false_audit", false_audit.len() as u64);
        println!(
            "audit: {} logins, {} codes in browsers, {} login.password successes audited, failures audited {:?}",
            logins.len(),
            got_code.len(),
            audit_successes,
            failures
        );
        let mut problems = Vec::new();
        if wrong_accepted > 0 {
            problems.push(format!("{wrong_accepted} wrong passwords got a code"));
        }
        if audit_successes > got_code.len() as u64 || !false_audit.is_empty() {
            problems.push(format!(
                "audited successes the browser never got (false audit): {false_audit:?}"
            ));
        }
        if !missing.is_empty() {
            problems.push(format!(
                "codes the browser got without a success in the audit log (missing audit): {missing:?}"
            ));
        }
        ensure(problems.is_empty(), || problems.join("\n"))
    });
}

// ---------------------------------------------------------------------------------------------
