//! `gpki-idp`: the identity provider's binary.

mod cli;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gpki_idp_server::config::Config;

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
    Migrate(CommonArgs),
    /// Certificate tools for operators: verify a card signature, inspect a certificate.
    Cert(cli::cert::CertArgs),
    /// Operator helpers that change a school's settings in the database.
    #[command(subcommand)]
    Admin(AdminCmd),
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Set which login methods a role may use (資安選項設定 → 啟用登入機制).
    SetPolicy {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        school: String,
        #[arg(long)]
        role: String,
        /// Comma-separated: password, certificate.
        #[arg(long, value_delimiter = ',')]
        methods: Vec<String>,
    },
    /// Where and how teachers may register a card: campus ranges (CIDR) and whether a
    /// one-time enrollment code is required.
    SetRegistration {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        school: String,
        /// Comma-separated CIDR ranges, e.g. 10.1.0.0/16; empty: from anywhere.
        #[arg(long, value_delimiter = ',')]
        campus: Vec<String>,
        #[arg(long)]
        require_enrollment_code: bool,
    },
    /// Issue a one-time enrollment code for an account (printed once).
    IssueEnrollmentCode {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        school: String,
        #[arg(long)]
        username: String,
        /// Hours the code stays valid.
        #[arg(long, default_value_t = 72)]
        hours: u64,
    },
    /// Start signing with a new key; the old one stays published while its tokens live.
    RotateKey {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        school: String,
        /// RS256 or ES256.
        #[arg(long, default_value = "RS256")]
        alg: String,
    },
}

#[derive(Args)]
struct CommonArgs {
    /// TOML configuration file (see deploy/CONFIG.md); GPKI_IDP_* variables override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Directory for the embedded SQLite database.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
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

fn load(common: &CommonArgs) -> Result<Config, String> {
    let mut config = Config::load(common.config.as_deref())?;
    if let Some(dir) = &common.data_dir {
        config.data_dir = dir.clone();
    }
    Ok(config)
}

fn fail(message: String) -> ExitCode {
    eprintln!("gpki-idp: {message}");
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
        Command::Migrate(args) => match load(&args).and_then(|c| runtime()?.block_on(migrate(c))) {
            Ok(n) => {
                println!("gpki-idp: {n} migration(s) applied");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Admin(cmd) => match runtime().and_then(|rt| rt.block_on(admin(cmd))) {
            Ok(message) => {
                println!("gpki-idp: {message}");
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
    config.migrate_on_start = false;
    let (directory, _) = gpki_idp_server::app::open_stores(&config).await?;
    directory.migrate().await.map_err(|e| e.to_string())
}

async fn admin(cmd: AdminCmd) -> Result<String, String> {
    let common = match &cmd {
        AdminCmd::SetPolicy { common, .. }
        | AdminCmd::SetRegistration { common, .. }
        | AdminCmd::IssueEnrollmentCode { common, .. }
        | AdminCmd::RotateKey { common, .. } => common,
    };
    let config = load(common)?;
    let (directory, ephemeral) = gpki_idp_server::app::open_stores(&config).await?;
    let provider =
        gpki_idp_core::oidc::Provider::new(directory, ephemeral, config.tokens.provider_settings());
    match cmd {
        AdminCmd::SetPolicy {
            school,
            role,
            methods,
            ..
        } => {
            let school = provider.school(&school).await.map_err(|e| e.description)?;
            let methods = methods
                .iter()
                .map(|m| {
                    gpki_idp_core::policy::Method::parse(m.trim())
                        .ok_or_else(|| format!("unknown method `{m}` (password, certificate)"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let before = methods_text(&provider, school.id, &role).await;
            let policy = gpki_idp_core::policy::RolePolicy {
                role: role.clone(),
                methods,
            };
            provider
                .directory
                .set_role_policy(school.id, policy)
                .await
                .map_err(|e| e.to_string())?;
            let after = methods_text(&provider, school.id, &role).await;
            let detail = serde_json::json!({"role": role, "before": before, "after": after});
            cli_audit(&provider, school.id, "policy.set", detail).await?;
            Ok(format!(
                "school {}: role {role} may use {}",
                school.code,
                methods_text(&provider, school.id, &role).await
            ))
        }
        AdminCmd::SetRegistration {
            school,
            campus,
            require_enrollment_code,
            ..
        } => {
            let school = provider.school(&school).await.map_err(|e| e.description)?;
            let campus: Vec<String> = campus
                .into_iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            if let Some(bad) = campus
                .iter()
                .find(|c| c.parse::<std::net::IpAddr>().is_err() && !c.contains('/'))
            {
                return Err(format!("`{bad}` is not a CIDR range"));
            }
            let before = provider
                .directory
                .registration_rules(school.id)
                .await
                .map_err(|e| e.to_string())?;
            let rules = gpki_idp_core::policy::RegistrationRules {
                campus_cidrs: campus.clone(),
                require_enrollment_code,
            };
            provider
                .directory
                .set_registration_rules(school.id, rules.clone())
                .await
                .map_err(|e| e.to_string())?;
            let detail = serde_json::json!({"before": before, "after": rules});
            cli_audit(&provider, school.id, "registration.set", detail).await?;
            Ok(format!("school {}: registration from {:?}, enrollment code required: {require_enrollment_code}", school.code, campus))
        }
        AdminCmd::IssueEnrollmentCode {
            school,
            username,
            hours,
            ..
        } => {
            let school = provider.school(&school).await.map_err(|e| e.description)?;
            let user = provider
                .directory
                .user_by_username(school.id, &username)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no account `{username}` at {}", school.code))?;
            let ttl = std::time::Duration::from_secs(hours * 3600);
            let (_, code) = provider
                .issue_enrollment_code(&school, &user, ttl)
                .await
                .map_err(|e| e.description)?;
            let detail = serde_json::json!({"user": username, "hours": hours});
            cli_audit(&provider, school.id, "enrollment_code.issue", detail).await?;
            Ok(format!(
                "enrollment code for {username}: {code} (valid {hours} h, once)"
            ))
        }
        AdminCmd::RotateKey { school, alg, .. } => {
            let school = provider.school(&school).await.map_err(|e| e.description)?;
            let alg = gpki_idp_core::keys::Alg::parse(&alg)
                .ok_or_else(|| format!("unknown alg `{alg}` (RS256, ES256)"))?;
            let kid = provider
                .rotate_key(&school, alg)
                .await
                .map_err(|e| e.description)?;
            let detail = serde_json::json!({"alg": alg.name(), "kid": kid});
            cli_audit(&provider, school.id, "key.rotate", detail).await?;
            Ok(format!(
                "school {}: new {} key {kid}",
                school.code,
                alg.name()
            ))
        }
    }
}

/// Audits a change made from the command line.
async fn cli_audit(
    provider: &gpki_idp_core::oidc::Provider,
    school_id: i64,
    event: &str,
    detail: serde_json::Value,
) -> Result<(), String> {
    let mut e = gpki_idp_core::audit::AuditEvent::new(school_id, event, "success", "cli");
    e.detail = detail;
    provider.record(e).await.map_err(|e| e.description)
}

async fn methods_text(
    provider: &gpki_idp_core::oidc::Provider,
    school_id: i64,
    role: &str,
) -> String {
    let policies = provider
        .directory
        .login_policy(school_id)
        .await
        .unwrap_or_default();
    policies
        .iter()
        .find(|p| p.role == role)
        .map(|p| format!("{:?}", p.methods))
        .unwrap_or_default()
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let mut config = load(&args.common)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(url) = args.public_url {
        config.public_url = Some(url);
    }
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
            println!("{}", gpki_idp_server::demo::banner(&state.public_url));
        }
        println!(
            "gpki-idp listening on {} (public URL {})",
            config.listen, state.public_url
        );
        let server =
            gpki_idp_server::serve::run(listener, state, workers).map_err(|e| e.to_string())?;
        server.await.map_err(|e| e.to_string())
    })
}
