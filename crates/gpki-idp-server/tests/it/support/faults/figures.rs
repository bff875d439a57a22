//! What a fault test measured, printed as one `FAULT-FIGURES {json}` line (docs/FAULTS.md),
//! and the frame every fault test runs in.

use std::collections::BTreeMap;

use serde_json::Value;

use super::client::Answer;
use crate::support::gate;

/// What a fault test measured; printed as one `FAULT-FIGURES {json}` line.
#[derive(Debug, Default)]
pub struct Figures {
    pub fault: String,
    pub requests: u64,
    /// Answers that were not successes, by status (or `timeout`, `connect`, …).
    pub errors: BTreeMap<String, u64>,
    pub time_to_first_503_ms: Option<u128>,
    pub recovery_ms: Option<u128>,
    pub tokens_lost: Option<u64>,
    pub wrong_logins_accepted: Option<u64>,
    /// Anything else worth printing.
    pub extra: serde_json::Map<String, Value>,
}

impl Figures {
    pub fn new(fault: &str) -> Self {
        Self {
            fault: fault.into(),
            ..Self::default()
        }
    }

    /// Counts a request; a failure (no answer, or a status ≥ 400) by its label.
    pub fn count(&mut self, answer: &Answer) {
        self.requests += 1;
        match answer.status() {
            Some(s) if s < 400 => {}
            _ => *self.errors.entry(answer.label()).or_default() += 1,
        }
    }

    pub fn note(&mut self, key: &str, value: impl Into<Value>) {
        self.extra.insert(key.into(), value.into());
    }

    pub fn print(&self) {
        let json = serde_json::json!({
            "fault": self.fault,
            "requests": self.requests,
            "errors": self.errors,
            "time_to_first_503_ms": self.time_to_first_503_ms,
            "recovery_ms": self.recovery_ms,
            "tokens_lost": self.tokens_lost,
            "wrong_logins_accepted": self.wrong_logins_accepted,
            "extra": self.extra,
        });
        println!("FAULT-FIGURES {json}");
    }
}

/// Runs a fault test alone (it measures times), prints its figures whatever happened (also
/// when it panicked half-way), then fails with the first problem it found.
pub fn fault_test(fault: &str, body: impl FnOnce(&mut Figures) -> Result<(), String>) {
    let _alone = gate::alone();
    let mut figures = Figures::new(fault);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&mut figures)));
    figures.print();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(problem)) => panic!("{fault}: {problem}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// `Err(message)` unless `ok`: for `?` in fault tests.
pub fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(message())
    }
}
