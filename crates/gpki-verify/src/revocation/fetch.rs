//! HTTP for OCSP and CRLs, behind a trait so that tests can count and fail calls.

use std::time::Duration;

/// Why a fetch failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchError {
    /// The call ran out of time.
    pub timeout: bool,
    /// What happened, for operators.
    pub detail: String,
}

/// Blocking HTTP client used for OCSP and CRL downloads. Every call must be bounded in time.
pub trait HttpFetcher: Send + Sync {
    /// GETs `url` and returns the body of a 2xx answer.
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError>;
    /// POSTs `body` to `url` and returns the body of a 2xx answer.
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, FetchError>;
}

/// The default fetcher (ureq), with one overall timeout per call and a body size limit.
pub struct UreqFetcher {
    agent: ureq::Agent,
    max_body: u64,
}

impl UreqFetcher {
    /// A fetcher whose calls each end after `timeout`; bodies over `max_body` bytes fail.
    /// Redirects are not followed: URLs are checked against allow-lists (AIA prefixes,
    /// configured responders) before the call, and a 3xx would lead anywhere.
    pub fn new(timeout: Duration, max_body: u64) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .http_status_as_error(true)
            .user_agent("gpki-idp")
            .build();
        Self {
            agent: config.into(),
            max_body,
        }
    }

    fn read(
        &self,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Vec<u8>, FetchError> {
        let mut response = result.map_err(fetch_error)?;
        // With no redirects followed ureq hands back the 3xx itself; only 4xx/5xx are errors.
        if !response.status().is_success() {
            return Err(FetchError {
                timeout: false,
                detail: format!("HTTP {} (redirects are not followed)", response.status()),
            });
        }
        response
            .body_mut()
            .with_config()
            .limit(self.max_body)
            .read_to_vec()
            .map_err(fetch_error)
    }
}

fn fetch_error(e: ureq::Error) -> FetchError {
    FetchError {
        timeout: matches!(e, ureq::Error::Timeout(_)),
        detail: e.to_string(),
    }
}

impl HttpFetcher for UreqFetcher {
    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        self.read(self.agent.get(url).call())
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, FetchError> {
        self.read(
            self.agent
                .post(url)
                .header("Content-Type", content_type)
                .send(body),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A one-answer-per-connection HTTP server on 127.0.0.1; returns its base URL and a hit
    /// counter.
    fn serve(answer: impl Fn() -> String + Send + 'static) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(answer().as_bytes());
            }
        });
        (base, hits)
    }

    fn ok_answer() -> String {
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into()
    }

    #[test]
    fn redirects_are_not_followed() {
        let (target, target_hits) = serve(ok_answer);
        let location = format!("{target}/elsewhere.crl");
        let (origin, origin_hits) = serve(move || {
            format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            )
        });
        let fetcher = UreqFetcher::new(Duration::from_secs(5), 1 << 20);
        // The target itself answers; the redirect to it is refused.
        assert_eq!(fetcher.get(&format!("{target}/x")).unwrap(), b"ok");
        target_hits.store(0, Ordering::SeqCst);
        let err = fetcher.get(&format!("{origin}/moica.crl")).unwrap_err();
        assert!(err.detail.contains("302"), "{err:?}");
        assert!(!err.timeout);
        let err = fetcher
            .post(&format!("{origin}/ocsp"), "application/ocsp-request", b"q")
            .unwrap_err();
        assert!(err.detail.contains("302"), "{err:?}");
        assert_eq!(origin_hits.load(Ordering::SeqCst), 2);
        assert_eq!(target_hits.load(Ordering::SeqCst), 0, "redirect target hit");
    }
}
