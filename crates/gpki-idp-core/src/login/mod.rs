//! The login transaction, from a checked proof (a password, a card) to the browser's redirect:
//! the next step the school's policy asks for, the session and the code, and the audit event
//! that says what the browser got. Also what a login page asks before it (which methods to
//! offer, whether a browser's session already answers a request) and the account's own
//! certificates. The HTTP layer parses, calls one function here, and answers.

mod account;
mod event;
mod methods;
mod redirect;
mod resume;
mod transaction;

pub use account::Registration;
pub use methods::{CertificateOffer, Methods, MethodsError};
pub use redirect::{client_redirect, error_description};
pub use resume::Resume;
pub use transaction::{Attempt, Concluded, Failure, Finished, Outcome, Refusal};
