//! What the tests share: the test server (`server`), the relying party that drives logins
//! (`rp`), HTTP clients and readers (`http`), cards and the test PKI (`card`), admin API calls
//! (`admin`), the real binary as a process (`process`), Apache with mod_auth_openidc
//! (`apache`), the fault harness (`faults/`) and the gate that lets timing tests run alone
//! (`gate`).

pub mod admin;
pub mod apache;
pub mod card;
pub mod faults;
pub mod gate;
pub mod http;
pub mod process;
pub mod rp;
pub mod server;

pub use http::{browser, hidden, http};
pub use rp::{Rp, REDIRECT};
pub use server::{block_on, start, Backend, TestServer};
