//! 7. SIGTERM under load: the real binary stops accepting, finishes what it serves, exits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gpki_idp_server::demo;
use serde_json::Value;

use crate::support::faults::client::Answer;
use crate::support::faults::figures::{ensure, fault_test};
use crate::support::faults::flows::{portal, post_password};
use crate::support::http::free_port;
use crate::support::process::{temp_dir, Serve};
use crate::support::rp::LoginForm;

/// How one request of the load ended.
#[derive(Debug)]
enum Outcome {
    /// A full answer; `complete` says whether its body was whole (JSON parsed, page ended).
    Answered { status: u16, complete: bool },
    /// Connection refused: the process no longer listens.
    Refused,
    /// Reset or closed without an answer (a connection the server had not accepted yet when it
    /// stopped listening, or an accepted request dropped: the harness cannot tell them apart).
    NoAnswer(String),
    /// The headers came, the body did not.
    Truncated(String),
}

struct Sample {
    started: Instant,
    ended: Instant,
    outcome: Outcome,
}

fn outcome(a: &Answer, complete: impl Fn(&Value) -> bool) -> Outcome {
    match a {
        Answer::Got { status, body, .. } => Outcome::Answered {
            status: *status,
            complete: complete(body),
        },
        Answer::Failed { error, .. } if error.starts_with("connect") => Outcome::Refused,
        Answer::Failed { error, .. } if error.starts_with("truncated") => {
            Outcome::Truncated(error.clone())
        }
        Answer::Failed { error, .. } => Outcome::NoAnswer(error.clone()),
    }
}

/// One client of the load: discovery, JWKS, a password login, again and again, until the
/// server refuses connections or `stop` is set.
fn load_client(base: &str, stop: &AtomicBool, n: usize) -> Vec<Sample> {
    let issuer = format!("{base}/schools/{}", demo::SCHOOL);
    // A fresh connection per request: no idle keep-alive connection to race the shutdown.
    // A new cookie jar per login, so every login is a password login, not a session reused.
    let fresh = || {
        reqwest::blocking::ClientBuilder::new()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .unwrap()
    };
    let http = fresh();
    let json = |v: &Value| v.is_object();
    let page = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.trim_end().ends_with("</html>"))
    };
    let mut samples = Vec::new();
    let mut push = |started: Instant, o: Outcome| -> bool {
        let refused = matches!(o, Outcome::Refused);
        samples.push(Sample {
            started,
            ended: Instant::now(),
            outcome: o,
        });
        refused
    };
    let mut i = n;
    while !stop.load(Ordering::SeqCst) {
        let t0 = Instant::now();
        let refused = match i % 3 {
            0 => {
                let url = format!("{issuer}/.well-known/openid-configuration");
                push(t0, outcome(&Answer::of(t0, http.get(url).send()), json))
            }
            1 => push(
                t0,
                outcome(
                    &Answer::of(t0, http.get(format!("{issuer}/jwks")).send()),
                    json,
                ),
            ),
            _ => {
                let http = fresh();
                let a = Answer::of(t0, http.get(portal(&issuer).authorize_url(&[])).send());
                let form = match &a {
                    Answer::Got { body, .. } => body
                        .as_str()
                        .filter(|h| h.contains("name=\"req\""))
                        .map(LoginForm::of),
                    _ => None,
                };
                let refused = push(t0, outcome(&a, page));
                match form {
                    Some(form) if !refused => {
                        let t1 = Instant::now();
                        let a = post_password(&http, &issuer, &form, "teacher", demo::PASSWORD);
                        let redirected = |_: &Value| a.code().is_some();
                        push(t1, outcome(&a, redirected))
                    }
                    _ => refused,
                }
            }
        };
        if refused {
            break;
        }
        i += 1;
    }
    samples
}

#[test]
fn sigterm_under_load() {
    fault_test("sigterm_under_load", |fig| {
        let config = format!(
            r#"database_url = "{db}"
redis_url = "{redis}"
redis_prefix = "gpki-faults:{prefix}:"
[tokens]
max_attempts_per_ip = 1000000
max_lookups_per_ip = 1000000
# Eight clients log in as one account from one address at once: each attempt is reserved
# as a failure until its password is checked (issue 17), so the allowance covers them.
max_failures_per_account = 1000000
account_failures_before_delay = 1000000
"#,
            db = gpki_idp_store::testing::fresh_postgres_url(),
            redis = gpki_idp_store::testing::redis_url(),
            prefix = gpki_idp_core::random_token(6),
        );
        let listen = format!("127.0.0.1:{}", free_port());
        let path = temp_dir("faults").join("config.toml");
        std::fs::write(&path, format!("public_url = \"http://{listen}\"\n{config}")).unwrap();
        let mut server = Serve::start(&path, &listen, true);
        let base = server.base.clone();
        let stop = AtomicBool::new(false);
        let mut term_at = None;
        let mut exit = None;
        let samples: Vec<Sample> = std::thread::scope(|s| {
            let clients: Vec<_> = (0..8)
                .map(|n| {
                    let (base, stop) = (&base, &stop);
                    s.spawn(move || load_client(base, stop, n))
                })
                .collect();
            std::thread::sleep(Duration::from_millis(1500));
            term_at = Some(Instant::now());
            server.sigterm();
            exit = server.wait_exit(Duration::from_secs(30));
            // The clients stop at their first refused connection; these end the rest.
            std::thread::sleep(Duration::from_millis(500));
            stop.store(true, Ordering::SeqCst);
            clients
                .into_iter()
                .flat_map(|c| c.join().unwrap())
                .collect()
        });
        let term_at = term_at.unwrap();
        let mut problems = Vec::new();
        let (mut in_flight, mut refused, mut no_answer) = (0u64, 0u64, 0u64);
        let mut no_answer_examples: Vec<String> = Vec::new();
        for sample in &samples {
            fig.requests += 1;
            let label = match &sample.outcome {
                Outcome::Answered {
                    status,
                    complete: true,
                } if *status < 500 => None,
                Outcome::Answered { status, complete } => {
                    problems.push(format!("{status} (complete body: {complete})"));
                    Some(status.to_string())
                }
                Outcome::Refused if sample.started >= term_at => {
                    refused += 1;
                    Some("refused_after_stop".to_string())
                }
                Outcome::Refused => {
                    problems.push("connection refused before SIGTERM".into());
                    Some("refused_before_stop".to_string())
                }
                Outcome::Truncated(e) => {
                    problems.push(format!("truncated answer: {e}"));
                    Some("truncated".to_string())
                }
                Outcome::NoAnswer(e) => {
                    no_answer += 1;
                    if no_answer_examples.len() < 3 && !no_answer_examples.contains(e) {
                        no_answer_examples.push(e.clone());
                    }
                    if sample.ended < term_at {
                        problems.push(format!("no answer before SIGTERM: {e}"));
                    }
                    Some("no_answer".to_string())
                }
            };
            if let Some(label) = label {
                *fig.errors.entry(label).or_default() += 1;
            }
            if sample.started < term_at && sample.ended > term_at {
                in_flight += 1;
            }
        }
        fig.note("in_flight_at_sigterm", in_flight);
        fig.note("refused_after_stop", refused);
        fig.note("no_answer_after_stop", no_answer);
        fig.note("no_answer_examples", no_answer_examples);
        fig.note(
            "exit_after_sigterm_ms",
            exit.map(|_| term_at.elapsed().as_millis() as u64),
        );
        fig.note("exit_status", exit.map(|e| e.to_string()));
        ensure(samples.len() > 8, || {
            "the load made hardly any requests".into()
        })?;
        match exit {
            None => problems.push("still running 30 s after SIGTERM".into()),
            Some(e) if !e.success() => problems.push(format!("exit after SIGTERM: {e}")),
            Some(_) => {}
        }
        problems.truncate(20);
        ensure(problems.is_empty(), || problems.join("\n"))
    });
}
