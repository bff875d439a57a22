//! `gpki-idp`: the identity provider's binary.

mod cli;

use clap::{Parser, Subcommand};

/// gpki-idp: OpenID Connect identity provider for citizen-certificate login.
#[derive(Parser)]
#[command(name = "gpki-idp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Certificate tools for operators: verify a card signature, inspect a certificate.
    Cert(cli::cert::CertArgs),
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Usage errors exit 2; --help and --version exit 0.
            return std::process::ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Cert(args) => cli::cert::run(args),
    }
}
