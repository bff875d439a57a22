//! Refresh tokens across faults: 1. Redis killed during a refresh; 2. a refresh answer lost
//! on the way back.

use std::io::Write;
use std::time::{Duration, Instant};

use gpki_idp_server::demo;

use super::RECOVERY_LIMIT;
use crate::support::faults::client::{client, Answer};
use crate::support::faults::figures::{ensure, fault_test, Figures};
use crate::support::faults::flows::{refresh, tokens_by_password, REQUEST_LIMIT};
use crate::support::faults::Rig;

fn refresh_token_of(answer: &Answer) -> Result<String, String> {
    answer.body()["refresh_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no refresh_token in {answer:?}"))
}

/// A refresh that must succeed: the next refresh token.
fn refresh_ok(fig: &mut Figures, issuer: &str, rt: &str, what: &str) -> Result<String, String> {
    let a = refresh(&client(REQUEST_LIMIT), issuer, rt);
    fig.count(&a);
    ensure(a.status() == Some(200), || format!("{what}: {a:?}"))?;
    refresh_token_of(&a)
}

/// A refresh that must be refused as `invalid_grant`.
fn refresh_refused(fig: &mut Figures, issuer: &str, rt: &str, what: &str) -> Result<(), String> {
    let a = refresh(&client(REQUEST_LIMIT), issuer, rt);
    fig.count(&a);
    ensure(
        a.status() == Some(400) && a.error() == Some("invalid_grant"),
        || format!("{what}: expected 400 invalid_grant, got {a:?}"),
    )
}

/// The end of every refresh chain: the successor works, the first token presented again is
/// reuse (invalid_grant) and its whole family is revoked.
fn reuse_revokes_family(
    fig: &mut Figures,
    issuer: &str,
    first: &str,
    successor: &str,
) -> Result<(), String> {
    let latest = refresh_ok(fig, issuer, successor, "the successor refreshes")?;
    refresh_refused(
        fig,
        issuer,
        first,
        "the first token again after its successor was used (reuse)",
    )?;
    refresh_refused(fig, issuer, &latest, "the family is revoked after reuse")
}

// ---------------------------------------------------------------------------------------------

// 1. Redis killed during a refresh

#[test]
fn refresh_survives_redis_outage() {
    fault_test("redis_killed_during_refresh", |fig| {
        let mut rig = Rig::start(|_| {});
        let issuer = rig.issuer();
        let rt1 = tokens_by_password(&issuer)["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_string();
        fig.tokens_lost = Some(1);

        rig.redis.kill();
        let down = refresh(&client(REQUEST_LIMIT), &issuer, &rt1);
        fig.count(&down);
        if down.status() == Some(503) {
            fig.time_to_first_503_ms = Some(down.elapsed().as_millis());
        }
        let bound = Duration::from_secs(8);
        ensure(down.is_json_503() && down.elapsed() <= bound, || {
            format!("refresh with Redis down: expected 503 temporarily_unavailable within {bound:?}, got {down:?}")
        })?;

        // Redis comes back (empty): the client retries the very same token.
        rig.redis.restart();
        let t0 = Instant::now();
        let mut retry = refresh(&client(REQUEST_LIMIT), &issuer, &rt1);
        fig.count(&retry);
        while retry.is_json_503() && t0.elapsed() < RECOVERY_LIMIT {
            std::thread::sleep(Duration::from_millis(250));
            retry = refresh(&client(REQUEST_LIMIT), &issuer, &rt1);
            fig.count(&retry);
        }
        fig.recovery_ms = Some(t0.elapsed().as_millis());
        ensure(retry.status() == Some(200), || {
            format!("retry of the same refresh token after Redis came back: {retry:?}")
        })?;
        fig.tokens_lost = Some(0);
        let rt2 = refresh_token_of(&retry)?;
        reuse_revokes_family(fig, &issuer, &rt1, &rt2)
    });
}

// ---------------------------------------------------------------------------------------------
// 2. A refresh answer lost on the way back

/// Sends a refresh grant over a raw connection and hangs up without reading the answer.
fn refresh_and_hang_up(base: &str, issuer_path: &str, rt: &str) {
    use base64::Engine;
    let addr = base.trim_start_matches("http://");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", rt)
        .finish();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        demo::CLIENT_ID,
        demo::CLIENT_SECRET
    ));
    let request = format!(
        "POST {issuer_path}/token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {basic}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.write_all(request.as_bytes()).expect("send");
    drop(s);
}

#[test]
fn refresh_response_lost_is_retried() {
    fault_test("refresh_response_lost", |fig| {
        let rig = Rig::start(|c| c.tokens.refresh_reuse_grace_secs = 60);
        let issuer = rig.issuer();
        let rt1 = tokens_by_password(&issuer)["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_string();
        fig.tokens_lost = Some(1);

        // The answer is read here but, as far as the client knows, lost: it retries at once.
        let lost = refresh_ok(fig, &issuer, &rt1, "the first refresh")?;
        let retry = refresh(&client(REQUEST_LIMIT), &issuer, &rt1);
        fig.count(&retry);
        ensure(retry.status() == Some(200), || {
            format!("retry within the grace window: expected 200, got {retry:?}")
        })?;
        let again = refresh_token_of(&retry)?;
        ensure(again == lost, || {
            "the retry must give the same successor as the lost answer".to_string()
        })?;

        // Now truly lost: the client hangs up before the answer; its retry still works.
        let path = format!("/schools/{}", demo::SCHOOL);
        refresh_and_hang_up(&rig.server().base, &path, &lost);
        std::thread::sleep(Duration::from_millis(500));
        let after_hang_up = refresh_ok(
            fig,
            &issuer,
            &lost,
            "retry after hanging up on a refresh answer",
        )?;
        fig.tokens_lost = Some(0);
        reuse_revokes_family(fig, &issuer, &rt1, &after_hang_up)
    });
}

// ---------------------------------------------------------------------------------------------
