//! Log output. Events are `tracing` events; this module installs the one subscriber that writes
//! them as JSON lines or as text through a non-blocking writer: a worker thread owns the output,
//! so a request never waits for it and a closed output costs lines, never a panic.
//!
//! Every request runs inside a `request` span holding its id, so whatever is logged while it is
//! handled (a store failure, an audit event) carries the id. Query strings, bodies and headers
//! are never logged: they carry codes, tokens, passwords and signatures.

use std::io::Write;

use tracing::Subscriber;
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, Layer};

/// How lines are written (`log_format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("log_format: `{other}` is not text or json")),
        }
    }
}

/// What is logged of a request.
pub struct RequestLine<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    /// The route pattern (`/schools/{school}/token`), never the path as sent.
    pub route: &'a str,
    pub status: u16,
    pub millis: f64,
}

/// The span a request is handled in.
pub fn request_span(request_id: &str) -> tracing::Span {
    tracing::info_span!("request", request_id)
}

/// Logs the line of a finished request (inside its span).
pub fn request(r: &RequestLine<'_>) {
    let duration_ms = (r.millis * 100.0).round() / 100.0;
    tracing::info!(
        "type" = "request",
        request_id = r.request_id,
        method = r.method,
        route = r.route,
        status = r.status,
        duration_ms
    );
}

/// Installs the process's subscriber writing to `out` at the level of `RUST_LOG` (default
/// `info`). Keep the guard while the process works: dropping it writes what is still queued.
pub fn init(
    log_format: &str,
    out: impl Write + Send + Sync + 'static,
) -> Result<WorkerGuard, String> {
    let format = Format::parse(log_format)?;
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env()
        .map_err(|e| format!("RUST_LOG: {e}"))?;
    let (subscriber, guard) = subscriber(format, filter, out);
    // Also receives the `log` records of libraries (actix-server's start and stop).
    subscriber.try_init().map_err(|e| format!("logs: {e}"))?;
    Ok(guard)
}

/// The subscriber writing to `out` through a non-blocking writer, and the writer's guard.
pub fn subscriber(
    format: Format,
    filter: EnvFilter,
    out: impl Write + Send + Sync + 'static,
) -> (impl Subscriber + Send + Sync + 'static, WorkerGuard) {
    // Lossy: when the output falls 128 000 lines behind, lines are dropped rather than
    // workers made to wait (the audit log proper is in the database).
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .thread_name("gpki-idp-log")
        .finish(out);
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(layer(format, writer));
    (subscriber, guard)
}

fn layer<S>(format: Format, writer: NonBlocking) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let layer = fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        // Its complaint would go to standard error, which may be closed as well.
        .log_internal_errors(false);
    match format {
        // `"type":"request"` and the other fields at the top of the line; the request id of
        // the current request in `"span"`.
        Format::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
        Format::Text => layer.boxed(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::{mpsc, Arc, Mutex};
    use std::time::Duration;

    /// An output that holds every write until it is released, keeping what was written.
    #[derive(Clone)]
    pub(crate) struct HeldOutput {
        pub written: Arc<Mutex<Vec<u8>>>,
        release: Arc<Mutex<mpsc::Receiver<()>>>,
        pub held_too_long: Arc<Mutex<bool>>,
    }

    impl HeldOutput {
        /// The output and the sender whose message (or drop) releases it.
        pub(crate) fn new() -> (Self, mpsc::Sender<()>) {
            let (tx, rx) = mpsc::channel();
            let out = Self {
                written: Arc::default(),
                release: Arc::new(Mutex::new(rx)),
                held_too_long: Arc::default(),
            };
            (out, tx)
        }

        pub(crate) fn lines(&self) -> Vec<String> {
            let bytes = self.written.lock().unwrap();
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_string)
                .collect()
        }
    }

    impl Write for HeldOutput {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let release = self.release.lock().unwrap();
            if let Err(mpsc::RecvTimeoutError::Timeout) =
                release.recv_timeout(Duration::from_secs(60))
            {
                *self.held_too_long.lock().unwrap() = true;
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn request_line() -> RequestLine<'static> {
        RequestLine {
            request_id: "abc",
            method: "POST",
            route: "/schools/{school}/token",
            status: 200,
            millis: 1.234_56,
        }
    }

    #[test]
    fn formats_are_text_or_json() {
        assert_eq!(Format::parse("json"), Ok(Format::Json));
        assert_eq!(Format::parse("text"), Ok(Format::Text));
        assert!(Format::parse("yaml").is_err());
    }

    #[test]
    fn a_request_line_in_json_carries_the_span_request_id() {
        let (out, release) = HeldOutput::new();
        drop(release);
        let (subscriber, guard) = subscriber(Format::Json, EnvFilter::new("info"), out.clone());
        tracing::subscriber::with_default(subscriber, || {
            let _in = request_span("abc").entered();
            tracing::error!("type" = "error", source = "store", detail = "down");
            request(&request_line());
        });
        drop(guard);
        let lines: Vec<serde_json::Value> = out
            .lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        let (error, line) = (&lines[0], &lines[1]);
        assert_eq!(error["type"], "error");
        assert_eq!(error["span"]["request_id"], "abc");
        assert_eq!(line["type"], "request");
        assert_eq!(line["request_id"], "abc");
        assert_eq!(line["span"]["request_id"], "abc");
        assert_eq!(line["method"], "POST");
        assert_eq!(line["route"], "/schools/{school}/token");
        assert_eq!(line["status"], 200);
        assert_eq!(line["duration_ms"], 1.23);
    }

    #[test]
    fn a_request_line_in_text() {
        let (out, release) = HeldOutput::new();
        drop(release);
        let (subscriber, guard) = subscriber(Format::Text, EnvFilter::new("info"), out.clone());
        tracing::subscriber::with_default(subscriber, || {
            let _in = request_span("abc").entered();
            request(&request_line());
        });
        drop(guard);
        let line = out.lines().concat();
        for part in [
            "INFO request{request_id=\"abc\"}",
            "type=\"request\" request_id=\"abc\" method=\"POST\" route=\"/schools/{school}/token\" status=200 duration_ms=1.23",
        ] {
            assert!(line.contains(part), "{part} not in {line}");
        }
    }

    #[test]
    fn logging_does_not_wait_for_the_output_and_the_guard_flushes() {
        let (out, release) = HeldOutput::new();
        let (subscriber, guard) = subscriber(Format::Json, EnvFilter::new("info"), out.clone());
        // The output takes nothing until released; were the writer blocking, the first event
        // would wait here until the output gave up (and the test would fail on that).
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..100 {
                request(&request_line());
            }
        });
        assert!(out.lines().is_empty(), "nothing was written yet");
        drop(release);
        drop(guard);
        assert!(!*out.held_too_long.lock().unwrap());
        assert_eq!(out.lines().len(), 100);
    }
}
