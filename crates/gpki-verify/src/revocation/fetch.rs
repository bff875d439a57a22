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
    pub fn new(timeout: Duration, max_body: u64) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
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
