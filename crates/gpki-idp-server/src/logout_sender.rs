//! The back-channel logout sender (OpenID Connect Back-Channel Logout 1.0 §2.5): every
//! replica looks for due logout tokens every `poll_interval_ms`, claims a batch (each token
//! is claimed by one replica at a time), and POSTs each as `logout_token=…` to its portal,
//! all at once, each bounded by `timeout_secs`, redirects not followed. A 2xx answer is a
//! delivery; anything else is tried again with a doubling wait until `retry_for_secs` has
//! passed, then given up. The core records and audits each outcome. Nobody waits for it: a
//! teacher's logout only queued the tokens.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::web;
use futures_util::future::join_all;
use gpki_idp_core::destination;
use gpki_idp_core::oidc::backchannel::{Delivered, Delivery};

use crate::app::AppState;

/// Tokens claimed per round; a full batch makes the next round start at once.
const BATCH: i64 = 50;

/// Starts the sender on the current runtime; it ends with the runtime.
pub fn start(state: web::Data<AppState>) {
    let Ok(http) = client(&state) else {
        tracing::error!(
            "type" = "maintenance",
            task = "logout_send",
            error = "no HTTP client"
        );
        return;
    };
    let poll = Duration::from_millis(state.logout.poll_interval_ms.max(50));
    actix_web::rt::spawn(async move {
        // While the database fails, rounds slow down (doubling, at most 30 s): an outage is
        // not made worse, nor the log filled, by a round every poll.
        let mut failures = 0u32;
        loop {
            match send_round(&state, &http).await {
                Some(true) => failures = 0,
                Some(false) => {
                    failures = 0;
                    actix_web::rt::time::sleep(poll).await;
                }
                None => {
                    failures = (failures + 1).min(10);
                    let wait = poll
                        .saturating_mul(1 << failures)
                        .min(Duration::from_secs(30));
                    actix_web::rt::time::sleep(wait).await;
                }
            }
        }
    });
}

fn client(state: &AppState) -> Result<reqwest::Client, reqwest::Error> {
    builder(state).build()
}

/// The sender's HTTP settings: a timeout per call, no redirects (a portal cannot send the
/// token on to where we would not).
fn builder(state: &AppState) -> reqwest::ClientBuilder {
    let timeout = Duration::from_secs(state.logout.timeout_secs.max(1));
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("gpki-idp back-channel logout")
}

/// Where `uri` may be sent: every address its host names or resolves to must be allowed
/// ([`gpki_idp_core::destination`]); a host name comes back with the addresses checked, so
/// the call connects to those and not to what a second lookup might say. `Err` says why not.
async fn destination(
    uri: &str,
    allowed: &[ipnet::IpNet],
) -> Result<Option<(String, Vec<SocketAddr>)>, String> {
    let url = url::Url::parse(uri).map_err(|_| "not a URL".to_string())?;
    let port = url.port_or_known_default().unwrap_or(443);
    let (name, addrs): (Option<String>, Vec<SocketAddr>) = match url.host() {
        Some(url::Host::Domain(name)) => {
            let lookup = tokio::net::lookup_host((name, port));
            let found = tokio::time::timeout(Duration::from_secs(5), lookup)
                .await
                .map_err(|_| "the name lookup timed out".to_string())?
                .map_err(|e| format!("the name was not resolved: {e}"))?;
            (Some(name.to_string()), found.collect())
        }
        Some(url::Host::Ipv4(ip)) => (None, vec![SocketAddr::new(ip.into(), port)]),
        Some(url::Host::Ipv6(ip)) => (None, vec![SocketAddr::new(ip.into(), port)]),
        None => return Err("no host".into()),
    };
    if addrs.is_empty() {
        return Err("the name has no address".into());
    }
    if let Some(inside) = addrs
        .iter()
        .find(|a| !destination::allowed(a.ip(), allowed))
    {
        return Err(format!(
            "{} is inside the network (not in [backchannel_logout] allowed_networks)",
            inside.ip()
        ));
    }
    Ok(name.map(|n| (n, addrs)))
}

/// One round: claim, send, record; then the queue's gauges. Whether the batch was full;
/// `None` when the queue could not be read.
pub async fn send_round(state: &AppState, http: &reqwest::Client) -> Option<bool> {
    // Held past one call's timeout, so a slow portal's token is not claimed twice.
    let lease = Duration::from_secs(state.logout.timeout_secs.max(1) + 30);
    let issuer = |code: &str| state.issuer(code);
    let claimed = state
        .provider
        .claim_logout_tokens(BATCH, lease, &issuer)
        .await;
    let deliveries = match claimed {
        Ok(d) => d,
        Err(e) => {
            failed(state, &e.description);
            return None;
        }
    };
    let full = deliveries.len() as i64 >= BATCH;
    join_all(deliveries.iter().map(|d| deliver(state, http, d))).await;
    if let Ok(queue) = state.provider.logout_queue().await {
        let m = &state.metrics;
        m.logout_pending.set(queue.pending);
        let age = queue
            .oldest_created_at
            .map_or(0, |at| (gpki_idp_core::now() - at).max(0));
        m.logout_oldest_pending_seconds.set(age);
    }
    Some(full)
}

async fn deliver(state: &AppState, http: &reqwest::Client, d: &Delivery) {
    let outcome = match &d.token {
        Some(token) => checked_post(state, http, &d.message.uri, token).await,
        None => Err("the school or the client is gone".into()),
    };
    match state.provider.logout_delivery_done(d, outcome).await {
        Ok(done) => {
            let label = match done {
                Delivered::Sent => "sent",
                Delivered::Retry(_) => "failed",
                Delivered::GivenUp => "given_up",
            };
            state
                .metrics
                .logout_tokens
                .with_label_values(&[label])
                .inc();
        }
        Err(e) => failed(state, &e.description),
    }
}

/// Posts a token where the portal's URI may be sent to, and only there.
async fn checked_post(
    state: &AppState,
    http: &reqwest::Client,
    uri: &str,
    token: &str,
) -> Result<(), String> {
    let allowed = &state.provider.settings.logout_allowed_networks;
    match destination(uri, allowed).await? {
        None => post(http, uri, token).await,
        Some((name, addrs)) => {
            let pinned = builder(state)
                .resolve_to_addrs(&name, &addrs)
                .build()
                .map_err(|e| format!("no HTTP client: {e}"))?;
            post(&pinned, uri, token).await
        }
    }
}

/// Posts a token; `Err` says why it was not delivered.
async fn post(http: &reqwest::Client, uri: &str, token: &str) -> Result<(), String> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("logout_token", token)
        .finish();
    let answer = http
        .post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cache-control", "no-store")
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_string()
            } else {
                format!("not reached: {e}")
            }
        })?;
    let status = answer.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", status.as_u16()))
    }
}

fn failed(state: &AppState, error: &str) {
    state
        .metrics
        .maintenance_failures
        .with_label_values(&["logout_send"])
        .inc();
    tracing::warn!("type" = "maintenance", task = "logout_send", error = %error);
}
