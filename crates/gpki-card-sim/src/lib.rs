//! gpki-card-sim: a stand-in for the HiPKI local signing service (跨平台網頁元件) on
//! `http://localhost:61161`, for development, tests and demos without a card.
//!
//! It speaks the same protocol as the real component: a page opens `/popupForm`, the popup
//! posts `{"func":"getTbs"}` to its opener, receives the request JSON, calls `/sign` or
//! `/pkcs11info` on its own origin, posts the response back and closes. It signs with a test
//! citizen certificate and can play each failure a teacher meets ([`Mode`]); the PIN state
//! machine gives "wrong PIN, 2 tries left", "1 try left", then "locked".
//!
//! The card, its settings and answer codes are named at the crate root ([`Card`],
//! [`SimConfig`], [`RetCode`]); [`protocol`] is the HTTP side a test may drive directly.

mod card;
pub mod protocol;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use card::{Card, Mode, RetCode, SimConfig, SimState};

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
