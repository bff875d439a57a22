//! `gpki-idp admin …`: the bootstrap (first district operator, first school, first GM, a
//! client) and a school's settings from the command line. Every change is audited as `cli`.

use clap::Subcommand;
use gpki_idp_core::oidc::Provider;

use super::{load, CommonArgs};

#[derive(Subcommand)]
pub enum AdminCmd {
    /// Create a school (its issuer and signing keys); `--district` makes it the district
    /// tenant, whose admins are district operators.
    CreateSchool {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        district: bool,
    },
    /// Create an admin account (GM, or a district operator at the district tenant); its
    /// password is printed once.
    CreateAdmin {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        school: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
    },
    /// Create an OIDC client; a confidential client's secret is printed once.
    CreateClient {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        school: String,
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        name: String,
        /// Exact redirect URIs (comma-separated).
        #[arg(long, value_delimiter = ',')]
        redirect_uri: Vec<String>,
        /// authorization_code, refresh_token, client_credentials (comma-separated).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "authorization_code,refresh_token"
        )]
        grant: Vec<String>,
        /// Scopes the client may get beyond openid/profile/offline_access: admin,
        /// admin:users, admin:audit, and district at the district tenant.
        #[arg(long, value_delimiter = ',')]
        scope: Vec<String>,
        /// Seconds a rotated-out refresh token may fetch its unused successor again (a lost
        /// answer retried), 0 to 300; 0: none; absent: the service's
        /// `refresh_reuse_grace_secs`.
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..=300))]
        refresh_reuse_grace_secs: Option<i64>,
    },
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
    /// Onboard a district's schools from one CSV (header `code,name[,gm_username,gm_name]`):
    /// every school with its keys and, when named, its GM (passwords printed once). All or
    /// nothing; schools that exist are left as they are. Run with --dry-run first.
    OnboardSchools {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        csv: std::path::PathBuf,
        /// Check every row and report, without writing.
        #[arg(long)]
        dry_run: bool,
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

pub async fn run(cmd: AdminCmd) -> Result<String, String> {
    let common = match &cmd {
        AdminCmd::CreateSchool { common, .. }
        | AdminCmd::CreateAdmin { common, .. }
        | AdminCmd::CreateClient { common, .. }
        | AdminCmd::SetPolicy { common, .. }
        | AdminCmd::SetRegistration { common, .. }
        | AdminCmd::IssueEnrollmentCode { common, .. }
        | AdminCmd::RotateKey { common, .. }
        | AdminCmd::OnboardSchools { common, .. } => common,
    };
    let config = load(common)?;
    // Audit copies and store failures go to standard error: the answer is on standard output.
    let _logs = gpki_idp_server::logs::init(&config.log_format, std::io::stderr())?;
    let (directory, ephemeral) = gpki_idp_server::app::open_stores(&config).await?;
    let provider =
        gpki_idp_core::oidc::Provider::new(directory, ephemeral, config.tokens.provider_settings());
    match cmd {
        AdminCmd::CreateSchool {
            code,
            name,
            district,
            ..
        } => create_school(&provider, &code, &name, district).await,
        AdminCmd::CreateAdmin {
            school,
            username,
            name,
            ..
        } => create_admin(&provider, &school, &username, &name).await,
        AdminCmd::CreateClient {
            school,
            client_id,
            name,
            redirect_uri,
            grant,
            scope,
            refresh_reuse_grace_secs,
            ..
        } => {
            let school = provider.school(&school).await.map_err(|e| e.description)?;
            let spec = ClientSpec {
                client_id,
                name,
                redirect_uris: redirect_uri,
                grants: grant,
                scopes: scope,
                refresh_reuse_grace_secs,
            };
            create_client(&provider, &school, spec).await
        }
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
        AdminCmd::OnboardSchools { csv, dry_run, .. } => {
            onboard_schools(&provider, &csv, dry_run).await
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

async fn create_school(
    provider: &Provider,
    code: &str,
    name: &str,
    district: bool,
) -> Result<String, String> {
    if !gpki_idp_core::admin::valid_school_code(code) {
        return Err("--code: 2 to 32 lowercase letters, digits or -".into());
    }
    let school = provider
        .directory
        .create_school(code, name)
        .await
        .map_err(|e| e.to_string())?;
    let school = provider
        .directory
        .update_school(school.id, None, None, Some(district))
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the school vanished")?;
    provider
        .ensure_keys(&school)
        .await
        .map_err(|e| e.description)?;
    let detail = gpki_idp_core::admin::records::school_json(&school);
    cli_audit(provider, school.id, "school.create", detail).await?;
    let kind = if district {
        "district tenant"
    } else {
        "school"
    };
    Ok(format!("{kind} {code} created: issuer /schools/{code}"))
}

async fn create_admin(
    provider: &Provider,
    school: &str,
    username: &str,
    name: &str,
) -> Result<String, String> {
    let school = provider.school(school).await.map_err(|e| e.description)?;
    if !gpki_idp_core::admin::users::valid_username(username) {
        return Err("--username: 1 to 64 letters, digits or ._@-".into());
    }
    let password = gpki_idp_core::random_token(15);
    let user = gpki_idp_core::model::NewUser {
        school_id: school.id,
        username: username.to_string(),
        display_name: name.to_string(),
        password_hash: Some(gpki_idp_core::password::hash(&password)),
        roles: vec!["admin".into()],
    };
    provider
        .directory
        .create_user(user)
        .await
        .map_err(|e| e.to_string())?;
    let detail = serde_json::json!({"username": username, "roles": ["admin"]});
    cli_audit(provider, school.id, "user.create", detail).await?;
    Ok(format!(
        "admin {username} created at {}; password (shown once): {password}",
        school.code
    ))
}

/// What `create-client` is asked to make.
struct ClientSpec {
    client_id: String,
    name: String,
    redirect_uris: Vec<String>,
    grants: Vec<String>,
    scopes: Vec<String>,
    refresh_reuse_grace_secs: Option<i64>,
}

async fn create_client(
    provider: &Provider,
    school: &gpki_idp_core::model::School,
    spec: ClientSpec,
) -> Result<String, String> {
    let mut scopes = gpki_idp_core::model::default_scopes();
    for s in spec.scopes.iter().filter(|s| !s.is_empty()) {
        let known = gpki_idp_core::admin::clients::GRANTABLE_SCOPES.contains(&s.as_str());
        if !(known || (s == "district" && school.district)) {
            return Err(format!("--scope: `{s}` cannot be granted here"));
        }
        scopes.push(s.clone());
    }
    let secret = gpki_idp_core::random_token(32);
    let secret_hash = provider
        .client_secret_hash(&secret)
        .await
        .map_err(|e| e.description)?;
    let client = gpki_idp_core::model::NewClient {
        school_id: school.id,
        client_id: spec.client_id.clone(),
        name: spec.name,
        secret_hash: Some(secret_hash),
        public_client: false,
        require_pkce: false,
        redirect_uris: spec.redirect_uris,
        post_logout_redirect_uris: vec![],
        grant_types: spec.grants,
        id_token_alg: "RS256".into(),
        jwks: None,
        allowed_scopes: scopes.clone(),
        default_acr_values: vec![],
        min_acr: None,
        refresh_reuse_grace_secs: spec.refresh_reuse_grace_secs,
    };
    provider
        .directory
        .create_client(client)
        .await
        .map_err(|e| e.to_string())?;
    let detail = serde_json::json!({"client_id": spec.client_id, "allowed_scopes": scopes, "refresh_reuse_grace_secs": spec.refresh_reuse_grace_secs});
    cli_audit(provider, school.id, "client.create", detail).await?;
    Ok(format!(
        "client {} created at {}; secret (shown once): {secret}",
        spec.client_id, school.code
    ))
}

async fn onboard_schools(
    provider: &Provider,
    csv: &std::path::Path,
    dry_run: bool,
) -> Result<String, String> {
    use gpki_idp_core::admin::onboarding::{parse_csv, Onboarder};
    let text = std::fs::read_to_string(csv).map_err(|e| format!("{}: {e}", csv.display()))?;
    let rows = parse_csv(&text).map_err(|e| e.description)?;
    let report = provider
        .onboard_schools(Onboarder::Cli, rows, dry_run)
        .await
        .map_err(|e| e.description)?;
    let mut out = String::new();
    for r in &report.rows {
        let what = match (r.error, &r.gm_password) {
            (Some(code), _) => format!("{code}: {}", r.message.as_deref().unwrap_or_default()),
            (None, Some(pw)) => format!(
                "GM {} password (shown once): {pw}",
                r.gm_username.as_deref().unwrap_or_default()
            ),
            (None, None) => String::new(),
        };
        out.push_str(&format!(
            "row {}\t{}\t{}\t{what}\n",
            r.row, r.code, r.status
        ));
    }
    let verdict = match (dry_run, report.written, report.failed) {
        (true, _, 0) => "dry run: every row is good; nothing written",
        (true, _, _) => "dry run: some rows are wrong; nothing written",
        (false, true, _) => "written",
        (false, false, 0) => "nothing to write",
        (false, false, _) => "some rows are wrong: nothing written",
    };
    out.push_str(&format!(
        "{} schools: {} new, {} existing, {} wrong; {verdict}",
        report.total, report.created, report.existing, report.failed
    ));
    if report.failed > 0 {
        Err(out)
    } else {
        Ok(out)
    }
}
