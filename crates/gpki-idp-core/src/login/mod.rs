//! The login transaction, from a proof (a password, a card) to the browser's redirect, in one
//! call: the pending request, the proof's check, the next step the school's policy asks for,
//! the session and the code, and the audit event that says what the browser got. Also what a login page asks before it (which methods to
//! offer, whether a browser's session already answers a request) and the account's own
//! certificates. The HTTP layer parses, calls one function here, and answers.

mod account;
mod authorize;
mod event;
mod logout;
mod methods;
mod own_password;
mod password_change;
mod redirect;
pub(crate) mod reset;
mod resume;
pub mod sessions;
mod transaction;

pub use account::Registration;
pub use authorize::{Authorized, PendingLogin, StepUp};
pub use logout::Logout;
pub use methods::{CertificateOffer, Methods};
pub use own_password::OwnChange;
pub use password_change::{ChangeReason, PendingChange, MAX_CHANGE_TRIES};
pub use redirect::{client_redirect, error_redirect};
pub use reset::CodeReset;
pub use transaction::{
    step_notice, Attempt, Concluded, Finished, NextStep, Outcome, Proof, Refusal,
};
