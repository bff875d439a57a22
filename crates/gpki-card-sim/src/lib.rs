//! gpki-card-sim: a stand-in for the HiPKI local signing service (跨平台網頁元件) on
//! `http://localhost:61161`, for development, tests and demos without a card.
//!
//! It speaks the same protocol as the real component: a page opens `/popupForm`, the popup
//! posts `{"func":"getTbs"}` to its opener, receives the request JSON, calls `/sign` or
//! `/pkcs11info` on its own origin, posts the response back and closes. It signs with a test
//! citizen certificate and can play each failure a teacher meets ([`Mode`]); the PIN state
//! machine gives "wrong PIN, 2 tries left", "1 try left", then "locked".

pub mod protocol;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gpki_testpki::{Leaf, LeafSpec, TestPki};
pub use protocol::{Mode, RetCode};

/// Settings of a simulated card and component.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The card PIN.
    pub pin: String,
    /// Origins whose pages the component serves; empty trusts every site.
    pub trusted_origins: Vec<String>,
    /// Component version reported by `GET /`.
    pub version: String,
    /// Card serial number (`cardSN`).
    pub card_serial: String,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            pin: "123456".to_string(),
            trusted_origins: Vec::new(),
            version: "1.3.4.103327-sim".to_string(),
            card_serial: "TP03000000123456".to_string(),
        }
    }
}

/// Mutable state: what to play, and the PIN tries left.
#[derive(Clone, Debug)]
pub struct SimState {
    pub mode: Mode,
    pub delay: Duration,
    pub pin_tries_left: u8,
}

impl Default for SimState {
    fn default() -> Self {
        Self {
            mode: Mode::Ok,
            delay: Duration::ZERO,
            pin_tries_left: 3,
        }
    }
}

/// The simulated card: its certificate, key and issuing CA.
pub struct Card {
    pub leaf: Leaf,
    pub ca_der: Vec<u8>,
}

impl Card {
    /// Issues the simulator's card from `pki` (a 王小明 test certificate).
    pub fn issue(pki: &TestPki, spec: &LeafSpec) -> Self {
        Self {
            leaf: pki.issue_leaf(spec),
            ca_der: pki.moica.der.clone(),
        }
    }
}

/// A running simulator; dropping it stops it.
pub struct Simulator {
    server: Arc<tiny_http::Server>,
    state: Arc<Mutex<SimState>>,
    thread: Option<JoinHandle<()>>,
    port: u16,
}

impl Simulator {
    /// Starts on `addr` (e.g. `127.0.0.1:61161`, or port 0 for any).
    pub fn start(addr: &str, card: Card, config: SimConfig) -> std::io::Result<Self> {
        let server = tiny_http::Server::http(addr).map_err(std::io::Error::other)?;
        let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
        let server = Arc::new(server);
        let state = Arc::new(Mutex::new(SimState::default()));
        let thread = {
            let (server, state) = (server.clone(), state.clone());
            std::thread::spawn(move || protocol::serve(&server, &state, &card, &config))
        };
        Ok(Self {
            server,
            state,
            thread: Some(thread),
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:PORT`, the component origin pages must talk to.
    pub fn origin(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Changes what the simulator plays.
    pub fn set_mode(&self, mode: Mode) {
        if let Ok(mut s) = self.state.lock() {
            s.mode = mode;
        }
    }

    /// Makes every answer wait `delay` first.
    pub fn set_delay(&self, delay: Duration) {
        if let Ok(mut s) = self.state.lock() {
            s.delay = delay;
        }
    }

    /// Unlocks the card and restores 3 PIN tries.
    pub fn reset_pin(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.pin_tries_left = 3;
        }
    }

    /// Blocks until the server stops.
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
