pub mod session;
pub mod token;
