//! The simulated card and component: their settings, what they play ([`Mode`]) and the
//! answer codes of the real component ([`RetCode`]).

use std::time::Duration;

use gpki_testpki::{Leaf, LeafSpec, TestPki};
use serde::Deserialize;

/// What the simulated component and card do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A working reader with the card inserted.
    Ok,
    /// The component is not running: `/popupForm` never answers the page.
    NotStarted,
    /// The PKCS#11 library (HiCOS driver) cannot be loaded.
    DriverMissing,
    /// No usable card reader.
    NoReader,
    /// A reader, but no card in it.
    NoCard,
    /// A card the middleware does not know: inserted the wrong way, or a dirty chip.
    UnknownToken,
    /// The user cancels the PIN prompt.
    Cancel,
    /// This site is not in the component's trusted list.
    Untrusted,
    /// The card's certificate has expired.
    CertExpired,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        serde_json::from_value(serde_json::Value::String(s.to_string()))
            .map_err(|_| format!("unknown mode {s}"))
    }
}

/// The component's return codes (GPKI-FACTS.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum RetCode {
    Ok = 0,
    NoCard = 0x7600_0006,
    NoReader = 0x7610_0003,
    LibraryLoadFailed = 0x7610_0001,
    CardLoginFailed = 0x7610_0006,
    PinNotEntered = 0x7600_0998,
    Cancelled = 0x7600_0999,
    JsonFormat = 0x7600_000B,
    Parameter = 0x7600_000C,
    Unsupported = 0x7600_000E,
    UntrustedSite = 0x7600_0031,
    CertExpired = 0x7650_0002,
}

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
