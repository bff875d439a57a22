//! The second attack on issue 17's fixes (docs/ABUSE.md, "Issue 17 after the fixes"). First
//! what a pupil behind the school's NAT address can still do: the address is in the school's
//! campus ranges, so no per-address scope counts its failures (issue 17 #5); the budgets that
//! remain per address must not become the lockout #5 and #6 removed, and what is not counted
//! must not fill the audit log (#1). Then a logout link with another account's hint (#11), a
//! certificate check anyone can ask for that made us download, and a flood of wrong passwords
//! from many addresses against the password pool.

use crate::support::admin::audit_count;
use crate::support::card::{portal, server_tweaked};
use crate::support::http::post;
use crate::support::{block_on, browser, TestServer};
use gpki_idp_core::policy::RegistrationRules;
use gpki_idp_server::demo;
use serde_json::Value;

/// The test client (127.0.0.1) is behind the school's NAT address: the campus ranges say so.
fn on_campus(server: &TestServer) {
    block_on(async {
        let dir = &server.state.provider.directory();
        let school = dir.school_by_code(demo::SCHOOL).await.unwrap().unwrap();
        let rules = RegistrationRules {
            campus_cidrs: vec!["127.0.0.0/8".into()],
            require_enrollment_code: false,
        };
        dir.set_registration_rules(school.id, rules).await.unwrap();
    });
}

/// The account-first step for `name` on a fresh login page of browser `b`.
fn methods(server: &TestServer, b: &reqwest::blocking::Client, name: &str) -> (u16, Value) {
    let form = portal(server).login_page(b, &[("prompt", "login")]);
    let url = format!("{}/login/methods", server.issuer(demo::SCHOOL));
    let fields = [
        ("req", form.req.as_str()),
        ("csrf", form.csrf.as_str()),
        ("username", name),
    ];
    post(b, url, &fields)
}

/// The account-first step had a budget per address (`max_lookups_per_ip`) and answered 429
/// past it: the login page then showed an error and offered no method. A pupil behind the
/// school's NAT address spent it (5,000 look-ups, 14 s on loopback) and no teacher of the
/// school could log in through the page for the rest of the window. Past the budget the
/// answer is now the one every stranger gets (it tells nothing, and costs no read).
#[test]
fn a_pupil_cannot_spend_the_schools_account_lookups() {
    let server = server_tweaked(|c| c.tokens.max_lookups_per_ip = 5);
    on_campus(&server);
    let pupil = browser();
    for i in 0..8 {
        methods(&server, &pupil, &format!("someone{i}"));
    }
    let (status, answer) = methods(&server, &browser(), "teacher");
    assert_eq!(
        status, 200,
        "a teacher behind the school's address: {answer}"
    );
    assert_eq!(answer["password"], true);
    assert_eq!(answer["certificate"], "offered");
}

/// On campus no scope counts a card attempt (issue 17 #5: a pupil must not make the school's
/// address wait), so nothing bounded card logins with a made-up challenge there, and each was
/// audited: a pupil wrote one audit event per request, as fast as it could send them (3,000 in
/// about 4 s on loopback). An attempt whose challenge was never given proves nothing and
/// checks nothing: it is counted in the metrics, not audited.
#[test]
fn a_pupil_on_campus_cannot_fill_the_audit_log_with_made_up_challenges() {
    let server = server_tweaked(|_| {});
    on_campus(&server);
    let b = browser();
    let rp = portal(&server);
    let form = rp.login_page(&b, &[]);
    let before = audit_count(&server, demo::SCHOOL);
    let statuses: Vec<u16> = (0..40)
        .map(|i| {
            let challenge = format!("made-up-{i}");
            let r = rp.card_request(&b, &form, "teacher", &challenge, "AAAA");
            r.send().unwrap().status().as_u16()
        })
        .collect();
    assert!(statuses.iter().all(|s| *s == 400), "{statuses:?}");
    let written = audit_count(&server, demo::SCHOOL) - before;
    assert_eq!(written, 0, "audit events written for made-up challenges");
}

/// Card challenges had a budget per address (`max_challenges_per_ip`, 5,000 per window) and
/// were refused with 429 past it. Behind the school's NAT address a pupil spent it (5,000
/// requests) and every teacher there was refused the card for the rest of the window. A
/// challenge is now not stored (signed, only its use marked), so it needs no budget: past it
/// a challenge is still given, and only a failure with it goes unaudited.
#[test]
fn a_pupil_cannot_spend_the_schools_card_challenges() {
    let server = server_tweaked(|c| c.tokens.max_challenges_per_ip = 5);
    on_campus(&server);
    let rp = portal(&server);
    let pupil = browser();
    let form = rp.login_page(&pupil, &[]);
    for _ in 0..8 {
        rp.challenge_request(&pupil, &form).send().unwrap();
    }
    let teacher = browser();
    let form = rp.login_page(&teacher, &[]);
    let r = rp.challenge_request(&teacher, &form).send().unwrap();
    assert_eq!(r.status(), 200, "a teacher behind the school's address");
}

/// Whether browser `b` is logged in at the demo portal: its authorization request is answered
/// with a code at once.
fn logged_in(server: &TestServer, b: &reqwest::blocking::Client) -> bool {
    let r = server.portal().authorize(b, &[]);
    r.status() == 302 && r.headers()["location"].to_str().unwrap().contains("code=")
}

/// Issue 17 #11 answered a logout link without a valid `id_token_hint` with a question, but
/// any valid hint passed it: one of another account too, and everyone with an account at the
/// school holds one (their own ID token from the school's portal). A link from another site
/// with it logged the teacher out at once. The hint passes the question only when it names
/// the person of the browser's session.
#[test]
fn a_logout_link_with_another_accounts_hint_asks_first() {
    let server = crate::support::start(crate::support::Backend::Embedded, |_| {});
    let rp = server.portal();
    let theirs = rp.tokens("staff")["id_token"].as_str().unwrap().to_string();
    let b = browser();
    rp.log_in(&b, "teacher");
    let logout = format!("{}/logout", server.issuer(demo::SCHOOL));
    let page = b
        .get(format!("{logout}?id_token_hint={theirs}"))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("name=\"confirm\""), "asked");
    assert!(logged_in(&server, &b), "still logged in");
    // The teacher's own hint (the portal's own logout) still ends the session at once.
    let own = rp.tokens("teacher")["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = b
        .get(format!("{logout}?id_token_hint={own}"))
        .send()
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection());
    assert!(
        !logged_in(&server, &b),
        "logged out by the portal's own link"
    );
}

/// An upstream on loopback that answers every request 404 at once and counts them; its URL.
fn counting_upstream() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counted.fetch_add(1, Ordering::SeqCst);
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (url, hits)
}

/// With `aia_allowed_prefixes` set, a certificate whose issuer is unknown made the verifier
/// download every caIssuers URL of it under the prefix, on the request's blocking thread, and
/// remember the URL for ever. The diagnostics page checks a certificate without a login and
/// without a count: 300 made-up certificates (6 URLs of 8,000 characters each) cost 1,800
/// downloads and 77 MiB that never came back; 50 URLs of a slow upstream held a thread for
/// 250 s. New URLs are now tried at most 32 per 10 minutes in all, 2 per certificate.
#[test]
fn made_up_certificates_cannot_make_us_download_without_end() {
    use base64::Engine;
    let (upstream, hits) = counting_upstream();
    let prefix = upstream.clone();
    let server = server_tweaked(move |c| {
        // The issuing CA is not configured: only the AIA download could find it.
        c.certificate.intermediates.clear();
        c.certificate.aia_allowed_prefixes = vec![prefix];
    });
    let b = browser();
    let form = portal(&server).login_page(&b, &[]);
    let url = format!("{}/diagnostics/check", server.issuer(demo::SCHOOL));
    for i in 0..60u64 {
        let leaf = crate::support::card::pki()
            .pki
            .issue_leaf(&made_up_issuer_at(&upstream, i));
        let der = base64::engine::general_purpose::STANDARD.encode(&leaf.der);
        let (status, _) = post(&b, url.clone(), &[("csrf", &form.csrf), ("certb64", &der)]);
        assert_eq!(status, 200);
    }
    let downloads = hits.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        downloads <= 32,
        "{downloads} downloads for 60 made-up certificates"
    );
}

/// A citizen certificate whose issuer is to be downloaded from `upstream`, a new URL each `i`.
fn made_up_issuer_at(upstream: &str, i: u64) -> gpki_testpki::LeafSpec {
    gpki_testpki::LeafSpec {
        serial: 9_000 + i,
        ca_issuers_url: Some(format!("{upstream}made-up-{i}.cer")),
        ..gpki_testpki::LeafSpec::default()
    }
}

/// Every address has its own allowance and one IPv6 /48 holds 65,536 /64s, so wrong passwords
/// for made-up names, each from a new /64, are counted nowhere and each costs an argon2 run:
/// they kept the password pool full, and a teacher on the browser they always use got 503
/// (release build, 300 a second due: a code 9 of 45 times). Such a browser now has a lane of
/// the pool of its own.
#[test]
fn a_flood_from_many_addresses_does_not_refuse_the_teachers_own_browser() {
    const FLOOD: std::time::Duration = std::time::Duration::from_secs(3);
    let _alone = crate::support::gate::alone();
    let server = crate::support::start(crate::support::Backend::Embedded, |c| {
        c.trusted_proxies = vec!["127.0.0.1".into()]
    });
    let rp = server.portal();
    let teacher = browser();
    rp.log_in(&teacher, "teacher");
    let form = rp.login_page(&browser(), &[]);
    let url = format!("{}/login", server.issuer(demo::SCHOOL));
    let stop = std::sync::atomic::AtomicBool::new(false);
    let refused = std::thread::scope(|s| {
        for t in 0..48u32 {
            let (form, url, stop) = (&form, &url, &stop);
            s.spawn(move || {
                let guesser = crate::support::http();
                let mut n = t;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let from = format!("2001:db8:{:x}:{:x}::1", n >> 16, n & 0xffff);
                    let name = format!("made-up-{n}");
                    let fields = [
                        ("req", form.req.as_str()),
                        ("csrf", form.csrf.as_str()),
                        ("username", name.as_str()),
                        ("password", "guess"),
                    ];
                    let _ = guesser
                        .post(url)
                        .header("X-Forwarded-For", from)
                        .header("Cookie", format!("gpki_csrf={}", form.csrf))
                        .form(&fields)
                        .send();
                    n += 48;
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        let started = std::time::Instant::now();
        let mut statuses = Vec::new();
        while started.elapsed() < FLOOD {
            let page = rp.login_page(&teacher, &[("prompt", "login")]);
            let r = rp.submit_password(&teacher, &page, "teacher", demo::PASSWORD);
            statuses.push(r.status().as_u16());
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        statuses
    });
    assert!(
        refused.iter().all(|s| *s == 302),
        "the teacher's own browser: {refused:?}"
    );
}
