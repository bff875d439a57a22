//! The operator commands: `cert` (verify, inspect) and `admin` (bootstrap and school settings).

pub mod admin;
pub mod cert;

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use gpki_idp_server::config::Config;

#[derive(Args)]
pub struct CommonArgs {
    /// TOML configuration file (see deploy/CONFIG.md); GPKI_IDP_* variables override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Directory for the embedded SQLite database.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// The configuration named by the common arguments.
pub fn load(common: &CommonArgs) -> Result<Config, String> {
    let mut config = Config::load(common.config.as_deref())?;
    if let Some(dir) = &common.data_dir {
        config.data_dir = dir.clone();
    }
    Ok(config)
}

/// Writes a command's answer (a report, a count, the demo banner) on standard output. A closed
/// output (`| head`) loses the rest of the answer but is no failure of the command.
pub fn say(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Writes why a command failed on standard error, closed or not.
pub fn complain(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
