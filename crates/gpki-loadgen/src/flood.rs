//! `--flood N`: unauthenticated authorization requests as an attacker sends them, and the
//! server's resident memory while they arrive. Half carry a 60 KiB `state` (refused before
//! anything is stored); half are valid requests with every parameter at its longest, each
//! from another client address (`X-Forwarded-For` through the trusted loopback proxy).
//! Nothing is stored for a pending login (its page carries it, signed), so the server's
//! memory should not grow with them at all.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::server::Server;

/// Answers seen, by status.
#[derive(Default)]
struct Seen {
    refused_400: AtomicUsize,
    stored_200: AtomicUsize,
    throttled_429: AtomicUsize,
    other: AtomicUsize,
}

fn url(base: &str, state: &str) -> String {
    let mut url = url::Url::parse(&format!("{base}/schools/demo/authorize"))
        .unwrap_or_else(|_| url::Url::parse("http://127.0.0.1/").expect("a fixed URL parses"));
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "demo-portal")
        .append_pair("redirect_uri", "http://127.0.0.1:9000/callback")
        .append_pair("scope", "openid")
        .append_pair("state", state)
        .append_pair("nonce", &"n".repeat(512))
        .append_pair("login_hint", &"h".repeat(256))
        .append_pair("acr_values", &"a".repeat(512));
    url.to_string()
}

/// Sends `total` hostile requests on `concurrency` tasks; prints a markdown table of the
/// server's RSS every tenth of the way.
pub async fn run(server: &Server, total: usize, concurrency: usize) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let huge = Arc::new(url(&server.base, &"Q".repeat(60 * 1024)));
    let long = Arc::new(url(&server.base, &"S".repeat(2048)));
    let next = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Seen::default());
    println!(
        "| requests sent | server RSS MiB | 400 refused | 200 stored | 429 over budget | other |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let report = |sent: usize, seen: &Seen| {
        println!(
            "| {sent} | {:.1} | {} | {} | {} | {} |",
            server.rss_mib().unwrap_or(f64::NAN),
            seen.refused_400.load(Ordering::Relaxed),
            seen.stored_200.load(Ordering::Relaxed),
            seen.throttled_429.load(Ordering::Relaxed),
            seen.other.load(Ordering::Relaxed)
        );
    };
    report(0, &seen);
    let started = Instant::now();
    for tenth in 1..=10 {
        let upto = total * tenth / 10;
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (http, huge, long) = (http.clone(), huge.clone(), long.clone());
            let (next, seen) = (next.clone(), seen.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= upto {
                        break;
                    }
                    let (target, from) = if i % 2 == 0 {
                        (huge.as_str(), "192.0.2.1".to_string())
                    } else {
                        // A different address each time: 10.x.y.z from the request number.
                        let n = i as u32;
                        (
                            long.as_str(),
                            format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
                        )
                    };
                    let status = http
                        .get(target)
                        .header("X-Forwarded-For", from)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    let counter = match status {
                        400 => &seen.refused_400,
                        200 => &seen.stored_200,
                        429 => &seen.throttled_429,
                        _ => &seen.other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        next.store(upto, Ordering::Relaxed);
        report(upto, &seen);
    }
    println!(
        "\n{total} requests in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
