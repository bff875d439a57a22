//! `gpki-idp`: the identity provider's binary.

mod cli;

use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gpki_idp_server::config::Config;
use gpki_idp_server::logs;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// gpki-idp: OpenID Connect identity provider for citizen-certificate login.
#[derive(Parser)]
#[command(name = "gpki-idp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(cli::CommonArgs),
    /// Certificate tools for operators: verify a card signature, inspect a certificate.
    Cert(cli::cert::CertArgs),
    /// Operator helpers that change a school's settings in the database.
    #[command(subcommand)]
    Admin(cli::admin::AdminCmd),
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    common: cli::CommonArgs,
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long)]
    listen: Option<String>,
    /// Public base URL (default http://LISTEN).
    #[arg(long)]
    public_url: Option<String>,
    /// Seed a demo school, client and accounts, and print how to use them.
    #[arg(long)]
    demo: bool,
    /// Worker threads (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
}

fn fail(message: String) -> ExitCode {
    cli::complain(&format!("gpki-idp: {message}"));
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Usage errors exit 2; --help and --version exit 0.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Cert(args) => cli::cert::run(args),
        Command::Migrate(args) => {
            match cli::load(&args).and_then(|c| runtime()?.block_on(migrate(c))) {
                Ok(n) => {
                    cli::say(&format!("gpki-idp: {n} migration(s) applied"));
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::Admin(cmd) => match runtime().and_then(|rt| rt.block_on(cli::admin::run(cmd))) {
            Ok(message) => {
                cli::say(&format!("gpki-idp: {message}"));
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Serve(args) => match serve(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Runtime::new().map_err(|e| e.to_string())
}

async fn migrate(mut config: Config) -> Result<usize, String> {
    // A command's log lines go to standard error: its answer is on standard output.
    let _logs = logs::init(&config.log_format, std::io::stderr())?;
    config.migrate_on_start = false;
    let (directory, _) = gpki_idp_server::app::open_stores(&config).await?;
    directory.migrate().await.map_err(|e| e.to_string())
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let mut config = cli::load(&args.common)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(url) = args.public_url {
        config.public_url = Some(url);
    }
    // Kept until the service has stopped: dropping it writes the lines still queued.
    let _logs = logs::init(&config.log_format, std::io::stdout())?;
    let listener = TcpListener::bind(&config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    if config.public_url.is_none() {
        // Port 0 picks a free port: publish the one we got.
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        config.public_url = Some(format!("http://{addr}"));
    }
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    actix_web::rt::System::new().block_on(async move {
        let state = gpki_idp_server::serve::prepare(&config, args.demo).await?;
        if args.demo {
            cli::say(&gpki_idp_server::demo::banner(&state.public_url));
        }
        cli::say(&format!(
            "gpki-idp listening on {} (public URL {})",
            config.listen, state.public_url
        ));
        let server =
            gpki_idp_server::serve::run(listener, state, workers).map_err(|e| e.to_string())?;
        server.await.map_err(|e| e.to_string())
    })
}
