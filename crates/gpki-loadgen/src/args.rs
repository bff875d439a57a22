//! The command line of the load driver.

use clap::Parser;

/// Load driver for gpki-idp.
#[derive(Parser, Clone)]
#[command(name = "gpki-loadgen")]
pub struct Args {
    /// The gpki-idp binary to start (a release build).
    #[arg(long, default_value = "target/release/gpki-idp")]
    pub server: String,
    /// `sqlite` (embedded, in-process state) or `postgres` (with Redis).
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// PostgreSQL server for `--backend postgres` (a fresh database is created on it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub postgres: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379/")]
    pub redis: String,
    /// CPU the server is pinned to (taskset); empty: not pinned.
    #[arg(long, default_value = "0")]
    pub server_cpu: String,
    /// Concurrent flows.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds each scenario runs (after one second of warm-up).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Comma-separated: password, card, session, refresh.
    #[arg(long, default_value = "password,card,session,refresh")]
    pub scenarios: String,
    /// Before the scenarios, set the demo client's ID token algorithm (`RS256` or `ES256`)
    /// through the admin API; its rows are labelled with it. Unset: the demo's RS256.
    #[arg(long)]
    pub id_token_alg: Option<String>,
    /// Instead of the scenarios: send this many hostile authorization requests and report
    /// the server's memory (see `flood.rs`).
    #[arg(long)]
    pub flood: Option<usize>,
    /// Instead: a district of this many schools onboarded and filled through the admin API,
    /// then start-up, memory, discovery/JWKS and the login scenarios against its first and
    /// last school (see `district.rs`).
    #[arg(long)]
    pub district: Option<usize>,
    /// Accounts imported into each school of `--district`.
    #[arg(long, default_value_t = 200)]
    pub accounts_per_school: usize,
    /// Requests per discovery/JWKS latency figure of `--district`.
    #[arg(long, default_value_t = 200)]
    pub latency_requests: usize,
}
