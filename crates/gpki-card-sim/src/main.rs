//! `gpki-card-sim`: run the simulated local signing service.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use gpki_card_sim::{Card, Mode, SimConfig, Simulator};
use gpki_testpki::{LeafSpec, TestPki};

/// Stand-in for the HiPKI local signing service (跨平台網頁元件) with a test citizen card.
#[derive(Parser)]
#[command(name = "gpki-card-sim", version)]
struct Args {
    /// Address to listen on; the real component uses port 61161.
    #[arg(long, default_value = "127.0.0.1:61161")]
    listen: String,
    /// Where the test PKI is kept (created on first run): point the IdP's trust anchor and
    /// intermediate at grca.pem and moica.pem there.
    #[arg(long, default_value = "data/card-sim")]
    pki_dir: PathBuf,
    /// The card PIN.
    #[arg(long, default_value = "123456")]
    pin: String,
    /// What to play: ok, not-started, driver-missing, no-reader, no-card, unknown-token,
    /// cancel, untrusted, cert-expired.
    #[arg(long, default_value = "ok")]
    mode: Mode,
    /// Answer every call after this many milliseconds (a slow component).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Trusted site origin (e.g. http://127.0.0.1:8080); repeatable; none trusts all.
    #[arg(long = "trusted-origin")]
    trusted_origins: Vec<String>,
    /// The card holder's name in the certificate.
    #[arg(long, default_value = "王小明")]
    name: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let pki = match TestPki::load_or_generate(&args.pki_dir) {
        Ok(pki) => pki,
        Err(e) => {
            eprintln!("gpki-card-sim: test PKI in {}: {e}", args.pki_dir.display());
            return ExitCode::from(2);
        }
    };
    let card = Card::issue(
        &pki,
        &LeafSpec {
            name: args.name.clone(),
            ..LeafSpec::default()
        },
    );
    let config = SimConfig {
        pin: args.pin.clone(),
        trusted_origins: args.trusted_origins.clone(),
        ..SimConfig::default()
    };
    let sim = match Simulator::start(&args.listen, card, config) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("gpki-card-sim: cannot listen on {}: {e}", args.listen);
            return ExitCode::from(2);
        }
    };
    sim.set_mode(args.mode);
    sim.set_delay(std::time::Duration::from_millis(args.delay_ms));
    println!(
        "gpki-card-sim listening on {} (mode {:?}, PIN {})",
        sim.origin(),
        args.mode,
        args.pin
    );
    println!("trust anchor:  {}", args.pki_dir.join("grca.pem").display());
    println!(
        "intermediate:  {}",
        args.pki_dir.join("moica.pem").display()
    );
    sim.join();
    ExitCode::SUCCESS
}
