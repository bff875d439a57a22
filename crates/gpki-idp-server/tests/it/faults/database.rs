//! 3, 4. The database unreachable: a silent network, then connections reset.

use std::time::Instant;

use gpki_idp_server::demo;
use serde_json::Value;

use super::{FAST_503, RECOVERY_LIMIT};
use crate::support::faults::client::{browser, client, Answer};
use crate::support::faults::figures::{ensure, fault_test, Figures};
use crate::support::faults::flows::{
    full_login_works, open_login_page, post_password, refresh, tokens_by_password, REQUEST_LIMIT,
};
use crate::support::faults::proxy::Mode;
use crate::support::faults::{time_until, wait_ready, Rig};

/// The token endpoint, the login form and /readyz while the proxy to PostgreSQL is in `mode`:
/// each must answer 503 within [`FAST_503`]; then the network comes back and a full login must
/// work again within [`RECOVERY_LIMIT`], and the refresh token presented during the fault must
/// still work.
fn database_fault(mode: Mode, fig: &mut Figures) -> Result<(), String> {
    // No client or school cache: every token request has to ask the database.
    let rig = Rig::start(|c| c.tokens.client_cache_ttl_secs = 0);
    let issuer = rig.issuer();
    let base = rig.server().base.clone();
    let rt = tokens_by_password(&issuer)["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_string();
    let b = browser(REQUEST_LIMIT, "gpki-fault-tests");
    let form = open_login_page(&b, &issuer).map_err(|a| format!("login page: {a:?}"))?;

    rig.proxy.set_mode(mode);
    let (tok, login, ready) = std::thread::scope(|s| {
        let tok = s.spawn(|| refresh(&client(REQUEST_LIMIT), &issuer, &rt));
        let login = s.spawn(|| post_password(&b, &issuer, &form, "teacher", demo::PASSWORD));
        let ready = s.spawn(|| {
            let t0 = Instant::now();
            Answer::of(
                t0,
                client(REQUEST_LIMIT).get(format!("{base}/readyz")).send(),
            )
        });
        (
            tok.join().unwrap(),
            login.join().unwrap(),
            ready.join().unwrap(),
        )
    });
    let mut problems = Vec::new();
    for (name, a, ok) in [
        ("token", &tok, tok.is_json_503()),
        ("login", &login, login.status() == Some(503)),
        (
            "readyz",
            &ready,
            ready.status() == Some(503) && ready.body()["database"] == Value::Bool(false),
        ),
    ] {
        fig.count(a);
        fig.note(&format!("{name}_ms"), a.elapsed().as_millis() as u64);
        if !ok || a.elapsed() > FAST_503 {
            problems.push(format!(
                "{name} with the database {mode:?}: expected 503 within {FAST_503:?}, got {a:?}"
            ));
        }
    }
    fig.time_to_first_503_ms = [&tok, &login, &ready]
        .iter()
        .filter(|a| a.status() == Some(503))
        .map(|a| a.elapsed().as_millis())
        .min();

    // The network is back.
    let t0 = Instant::now();
    rig.proxy.restore();
    let ready_after = wait_ready(&base, RECOVERY_LIMIT);
    fig.note(
        "readyz_200_after_ms",
        ready_after.map(|d| d.as_millis() as u64),
    );
    let login_back = time_until(RECOVERY_LIMIT.saturating_sub(t0.elapsed()), || {
        full_login_works(&issuer)
    });
    fig.recovery_ms = login_back.map(|_| t0.elapsed().as_millis());
    if login_back.is_none() {
        problems.push(format!(
            "no full login within {RECOVERY_LIMIT:?} after the network came back (readyz 200 after {ready_after:?})"
        ));
    } else {
        // The refresh token presented during the fault (rotated or not) still works.
        let after = refresh(&client(REQUEST_LIMIT), &issuer, &rt);
        fig.count(&after);
        fig.tokens_lost = Some(u64::from(after.status() != Some(200)));
        if after.status() != Some(200) {
            problems.push(format!(
                "the refresh token presented during the fault was lost: {after:?}"
            ));
        }
    }
    ensure(problems.is_empty(), || problems.join("\n"))
}

#[test]
fn postgres_blackhole_answers_503_fast() {
    fault_test("postgres_blackhole", |fig| {
        database_fault(Mode::Blackhole, fig)
    });
}

#[test]
fn postgres_reset_answers_503_then_recovers() {
    fault_test("postgres_reset", |fig| database_fault(Mode::Reset, fig));
}

// ---------------------------------------------------------------------------------------------
