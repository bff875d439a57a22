//! HTTP for the fault tests: clients whose every request is bounded in time, and the answer
//! as the tests see it (a status and a body, or how it failed, with how long it took).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::blocking::Client as Http;
use serde_json::Value;

use crate::support::rp::REDIRECT;

/// No redirects followed, every request bounded by `timeout`: a fault never hangs a test.
pub fn client(timeout: Duration) -> Http {
    reqwest::blocking::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3))
        .build()
        .unwrap()
}

/// A browser (cookies) with a bound on every request and `user_agent`.
pub fn browser(timeout: Duration, user_agent: &str) -> Http {
    reqwest::blocking::ClientBuilder::new()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3))
        .user_agent(user_agent)
        .build()
        .unwrap()
}

/// An HTTP answer as the tests see it: a status and a body, or how it failed.
#[derive(Clone, Debug)]
pub enum Answer {
    Got {
        status: u16,
        body: Value,
        location: Option<String>,
        elapsed: Duration,
    },
    /// No answer: a timeout, a reset, a refused connection (the text says which).
    Failed { error: String, elapsed: Duration },
}

impl Answer {
    pub fn of(t0: Instant, r: reqwest::Result<reqwest::blocking::Response>) -> Self {
        match r {
            Ok(r) => {
                let status = r.status().as_u16();
                let location = r
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .map(str::to_string);
                match r.text() {
                    Ok(text) => Answer::Got {
                        status,
                        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
                        location,
                        elapsed: t0.elapsed(),
                    },
                    Err(e) => Answer::Failed {
                        error: format!("truncated body after {status}: {e}"),
                        elapsed: t0.elapsed(),
                    },
                }
            }
            Err(e) => Answer::Failed {
                error: describe(&e),
                elapsed: t0.elapsed(),
            },
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Answer::Got { status, .. } => Some(*status),
            Answer::Failed { .. } => None,
        }
    }

    /// The status, or `timeout` / `connect` / `error` when there was none.
    pub fn label(&self) -> String {
        match self {
            Answer::Got { status, .. } => status.to_string(),
            Answer::Failed { error, .. } => error.split(':').next().unwrap_or("error").into(),
        }
    }

    pub fn body(&self) -> &Value {
        match self {
            Answer::Got { body, .. } => body,
            Answer::Failed { .. } => &Value::Null,
        }
    }

    pub fn elapsed(&self) -> Duration {
        match self {
            Answer::Got { elapsed, .. } | Answer::Failed { elapsed, .. } => *elapsed,
        }
    }

    /// The `error` member of a JSON answer.
    pub fn error(&self) -> Option<&str> {
        self.body().get("error").and_then(Value::as_str)
    }

    /// A 503 with a JSON body `{"error": "temporarily_unavailable"}`.
    pub fn is_json_503(&self) -> bool {
        self.status() == Some(503) && self.error() == Some("temporarily_unavailable")
    }

    /// The `code` of a redirect to the client with one.
    pub fn code(&self) -> Option<String> {
        let Answer::Got {
            status: 302 | 303,
            location: Some(l),
            ..
        } = self
        else {
            return None;
        };
        if !l.starts_with(REDIRECT) {
            return None;
        }
        let url = url::Url::parse(l).ok()?;
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        q.get("code").cloned()
    }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "truncated"
    } else {
        "error"
    };
    let mut text = format!("{kind}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
