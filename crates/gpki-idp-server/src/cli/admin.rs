//! `gpki-idp admin …`: the bootstrap (first district operator, first school, first GM, a
//! client) and a school's settings from the command line. Each command calls the admin
//! service the API calls, as the operator ([`Principal::operator`]: district-level, audited
//! as `cli`), so it refuses what the API refuses; it may also make what no token can yet:
//! the district tenant and its clients with the `district` scope.

use clap::Subcommand;
use gpki_idp_core::admin::certificates::CodeInput;
use gpki_idp_core::admin::clients::ClientInput;
use gpki_idp_core::admin::keys::RotateInput;
use gpki_idp_core::admin::records::SchoolInput;
use gpki_idp_core::admin::settings::RegistrationInput;
use gpki_idp_core::admin::users::NewUserInput;
use gpki_idp_core::admin::Principal;
use gpki_idp_core::audit::Origin;
use gpki_idp_core::error::Error;
use gpki_idp_core::model::School;
use gpki_idp_core::oidc::Provider;
use gpki_idp_core::policy::Method;

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
        /// Where the portal is told of a session's end (OpenID Connect Back-Channel Logout
        /// 1.0): https, or http on localhost.
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// Post-logout redirect URIs (comma-separated).
        #[arg(long, value_delimiter = ',')]
        post_logout_redirect_uri: Vec<String>,
    },
    /// Set which login methods a role may use (資安選項設定 → 啟用登入機制).
    SetPolicy {
        #[command(flatten)]
        common: CommonArgs,
        #[arg(long)]
        school: String,
        #[arg(long)]
        role: String,
        /// Comma-separated: password, certificate, password+certificate.
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
    let provider = Provider::new(directory, ephemeral, config.provider_settings());
    execute(&provider, cmd).await
}

/// Why a command was refused: the admin service's stable code and detail.
fn refused(e: Error) -> String {
    format!("{}: {}", e.code.as_str(), e.description)
}

/// Runs one command on `provider` as the operator.
async fn execute(provider: &Provider, cmd: AdminCmd) -> Result<String, String> {
    let operator = Principal::operator(Origin::default());
    let cli = Operator {
        provider,
        who: &operator,
    };
    match cmd {
        AdminCmd::CreateSchool {
            code,
            name,
            district,
            ..
        } => cli.create_school(code, name, district).await,
        AdminCmd::CreateAdmin {
            school,
            username,
            name,
            ..
        } => cli.create_admin(&school, username, name).await,
        AdminCmd::CreateClient {
            school,
            client_id,
            name,
            redirect_uri,
            grant,
            scope,
            refresh_reuse_grace_secs,
            backchannel_logout_uri,
            post_logout_redirect_uri,
            ..
        } => {
            let spec = ClientSpec {
                client_id,
                name,
                redirect_uris: redirect_uri,
                grants: grant,
                scopes: scope,
                refresh_reuse_grace_secs,
                backchannel_logout_uri,
                post_logout_redirect_uris: post_logout_redirect_uri,
            };
            cli.create_client(&school, spec).await
        }
        AdminCmd::SetPolicy {
            school,
            role,
            methods,
            ..
        } => cli.set_policy(&school, &role, &methods).await,
        AdminCmd::SetRegistration {
            school,
            campus,
            require_enrollment_code,
            ..
        } => {
            cli.set_registration(&school, campus, require_enrollment_code)
                .await
        }
        AdminCmd::IssueEnrollmentCode {
            school,
            username,
            hours,
            ..
        } => cli.issue_code(&school, &username, hours).await,
        AdminCmd::OnboardSchools { csv, dry_run, .. } => cli.onboard_schools(&csv, dry_run).await,
        AdminCmd::RotateKey { school, alg, .. } => cli.rotate_key(&school, alg).await,
    }
}

/// What `create-client` is asked to make.
struct ClientSpec {
    client_id: String,
    name: String,
    redirect_uris: Vec<String>,
    grants: Vec<String>,
    scopes: Vec<String>,
    refresh_reuse_grace_secs: Option<i64>,
    backchannel_logout_uri: Option<String>,
    post_logout_redirect_uris: Vec<String>,
}

/// The operator's commands on a provider.
struct Operator<'a> {
    provider: &'a Provider,
    who: &'a Principal,
}

impl Operator<'_> {
    /// The school `code`, enabled or not.
    async fn school(&self, code: &str) -> Result<School, String> {
        let found = self.provider.admin_school(self.who, code).await;
        found.map_err(refused)
    }

    async fn create_school(
        &self,
        code: String,
        name: String,
        district: bool,
    ) -> Result<String, String> {
        let input = SchoolInput {
            code,
            name,
            district,
        };
        let school = self
            .provider
            .admin_create_school(self.who, &input)
            .await
            .map_err(refused)?;
        let kind = if district {
            "district tenant"
        } else {
            "school"
        };
        let code = &school.code;
        Ok(format!("{kind} {code} created: issuer /schools/{code}"))
    }

    async fn create_admin(
        &self,
        school: &str,
        username: String,
        name: String,
    ) -> Result<String, String> {
        let school = self.school(school).await?;
        let password = gpki_idp_core::random_token(15);
        let input = NewUserInput {
            username: username.clone(),
            display_name: name,
            roles: vec!["admin".into()],
            password: Some(password.clone()),
            disabled: None,
        };
        self.provider
            .admin_create_user(self.who, &school, input)
            .await
            .map_err(refused)?;
        Ok(format!(
            "admin {username} created at {}; temporary password (shown once, changed at the first login): {password}",
            school.code
        ))
    }

    async fn create_client(&self, school: &str, spec: ClientSpec) -> Result<String, String> {
        let school = self.school(school).await?;
        let mut scopes = gpki_idp_core::model::default_scopes();
        for s in spec.scopes.into_iter().filter(|s| !s.is_empty()) {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        let input = ClientInput {
            client_id: Some(spec.client_id.clone()),
            name: spec.name,
            redirect_uris: spec.redirect_uris,
            post_logout_redirect_uris: spec.post_logout_redirect_uris,
            grant_types: spec.grants,
            public_client: false,
            require_pkce: false,
            id_token_signed_response_alg: Some("RS256".into()),
            id_token_alg: None,
            jwks: None,
            allowed_scopes: scopes,
            default_acr_values: vec![],
            min_acr: None,
            refresh_reuse_grace_secs: spec.refresh_reuse_grace_secs,
            backchannel_logout_uri: spec.backchannel_logout_uri,
            backchannel_logout_session_required: false,
        };
        let (_, secret) = self
            .provider
            .admin_create_client(self.who, &school, input)
            .await
            .map_err(refused)?;
        let secret = secret.unwrap_or_default();
        Ok(format!(
            "client {} created at {}; secret (shown once): {secret}",
            spec.client_id, school.code
        ))
    }

    async fn set_policy(
        &self,
        school: &str,
        role: &str,
        methods: &[String],
    ) -> Result<String, String> {
        let school = self.school(school).await?;
        let methods = methods
            .iter()
            .map(|m| {
                Method::parse(m.trim()).ok_or_else(|| {
                    format!("unknown method `{m}` (password, certificate, password+certificate)")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let policy = self
            .provider
            .admin_set_role_methods(self.who, &school, role, methods)
            .await
            .map_err(refused)?;
        let now = policy.iter().find(|p| p.role == role).map(|p| &p.methods);
        Ok(format!(
            "school {}: role {role} may use {now:?}",
            school.code
        ))
    }

    async fn set_registration(
        &self,
        school: &str,
        campus: Vec<String>,
        require_enrollment_code: bool,
    ) -> Result<String, String> {
        let school = self.school(school).await?;
        let input = RegistrationInput {
            campus_cidrs: campus
                .into_iter()
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
            require_enrollment_code,
        };
        let rules = self
            .provider
            .admin_replace_registration(self.who, &school, input)
            .await
            .map_err(refused)?;
        Ok(format!(
            "school {}: registration from {:?}, enrollment code required: {}",
            school.code, rules.campus_cidrs, rules.require_enrollment_code
        ))
    }

    async fn issue_code(&self, school: &str, username: &str, hours: u64) -> Result<String, String> {
        let school = self.school(school).await?;
        let input = CodeInput { hours };
        let issued = self
            .provider
            .admin_issue_code(self.who, &school, username, &input)
            .await
            .map_err(refused)?;
        Ok(format!(
            "enrollment code for {username}: {} (valid {hours} h, once)",
            issued.code
        ))
    }

    async fn rotate_key(&self, school: &str, alg: String) -> Result<String, String> {
        let school = self.school(school).await?;
        let input = RotateInput { alg };
        let key = self
            .provider
            .admin_rotate_key(self.who, &school, &input)
            .await
            .map_err(refused)?;
        let text = |name: &str| key[name].as_str().unwrap_or_default().to_string();
        let (kid, alg) = (text("kid"), text("alg"));
        Ok(format!("school {}: new {alg} key {kid}", school.code))
    }

    async fn onboard_schools(
        &self,
        csv: &std::path::Path,
        dry_run: bool,
    ) -> Result<String, String> {
        use gpki_idp_core::admin::school_list::parse_csv;
        let text = std::fs::read_to_string(csv).map_err(|e| format!("{}: {e}", csv.display()))?;
        let rows = parse_csv(&text).map_err(refused)?;
        let report = self
            .provider
            .onboard_schools(self.who, rows, dry_run)
            .await
            .map_err(refused)?;
        let out = onboarding_report(&report);
        if report.failed > 0 {
            Err(out)
        } else {
            Ok(out)
        }
    }
}

/// An onboarding's report, a line per row and a verdict.
fn onboarding_report(report: &gpki_idp_core::admin::onboarding::OnboardReport) -> String {
    let mut out = String::new();
    for r in &report.rows {
        let what = match (r.error, &r.gm_password) {
            (Some(code), _) => format!("{code}: {}", r.message.as_deref().unwrap_or_default()),
            (None, Some(pw)) => format!(
                "GM {} temporary password (shown once, changed at the first login): {pw}",
                r.gm_username.as_deref().unwrap_or_default()
            ),
            (None, None) => String::new(),
        };
        out.push_str(&format!(
            "row {}\t{}\t{}\t{what}\n",
            r.row, r.code, r.status
        ));
    }
    let verdict = match (report.dry_run, report.written, report.failed) {
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
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use gpki_idp_core::code::Code;
    use gpki_idp_store::testing;

    use super::*;

    async fn provider() -> Provider {
        let directory = Arc::new(testing::sqlite_directory().await);
        let ephemeral = Arc::new(testing::in_process());
        Provider::new(directory, ephemeral, Default::default())
    }

    fn common() -> CommonArgs {
        CommonArgs {
            config: None,
            data_dir: None,
        }
    }

    fn create_school(code: &str, district: bool) -> AdminCmd {
        AdminCmd::CreateSchool {
            common: common(),
            code: code.into(),
            name: format!("{code} 學校"),
            district,
        }
    }

    fn set_campus(campus: &str) -> AdminCmd {
        AdminCmd::SetRegistration {
            common: common(),
            school: "a-es".into(),
            campus: vec![campus.into()],
            require_enrollment_code: false,
        }
    }

    /// The school's audit log as the admin API lists it: (event, actor, client).
    async fn events(provider: &Provider, code: &str) -> Vec<(String, String, String)> {
        let school = provider.school(code).await.unwrap();
        let log = provider.admin_audit(&school, &Default::default()).await;
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        let row =
            |e: &serde_json::Value| (text(&e["event"]), text(&e["actor"]), text(&e["client_id"]));
        log.unwrap().items.iter().map(row).collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_cli_refuses_the_campus_ranges_the_api_refuses() {
        let p = provider().await;
        execute(&p, create_school("a-es", false)).await.unwrap();
        let school = p.school("a-es").await.unwrap();
        let operator = Principal::operator(Origin::default());
        for bad in ["10.0.0.0/99", "a/b", "10.1.2.3", "10.0.0.0/8,"] {
            let cli = execute(&p, set_campus(bad)).await;
            assert!(cli.is_err(), "the command line took `{bad}`");
            let input = RegistrationInput {
                campus_cidrs: vec![bad.into()],
                require_enrollment_code: false,
            };
            let api = p
                .admin_replace_registration(&operator, &school, input)
                .await;
            if bad.trim() == bad {
                assert_eq!(api.unwrap_err().code, Code::InvalidRequest, "{bad}");
            }
        }
        let rules = p.admin_registration(&school).await.unwrap();
        assert!(rules.campus_cidrs.is_empty(), "nothing was written");
        let ok = execute(&p, set_campus("10.1.0.0/16")).await;
        assert!(ok.unwrap().contains("10.1.0.0/16"));
        let log = events(&p, "a-es").await;
        let set = log.iter().find(|e| e.0 == "registration.set").unwrap();
        assert_eq!((set.1.as_str(), set.2.as_str()), ("cli", "cli"));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_cli_bootstraps_the_district_through_the_admin_services() {
        let p = provider().await;
        execute(&p, create_school("district", true)).await.unwrap();
        let admin = AdminCmd::CreateAdmin {
            common: common(),
            school: "district".into(),
            username: "ops".into(),
            name: "資訊中心".into(),
        };
        assert!(execute(&p, admin).await.unwrap().contains("password"));
        let client_at = |school: &str, redirect: &str, scope: &str| AdminCmd::CreateClient {
            common: common(),
            school: school.into(),
            client_id: format!("console-{}", redirect.len()),
            name: "管理介面".into(),
            redirect_uri: vec![redirect.into()],
            grant: vec!["authorization_code".into(), "refresh_token".into()],
            scope: vec![scope.into()],
            refresh_reuse_grace_secs: None,
            backchannel_logout_uri: None,
            post_logout_redirect_uri: vec![],
        };
        let client = |redirect: &str, scope: &str| client_at("district", redirect, scope);
        let console = client("https://console.example/cb", "district");
        assert!(execute(&p, console).await.unwrap().contains("secret"));
        // As the API: a plain-http redirect URI and an unknown scope are refused.
        assert!(execute(&p, client("http://console.example/cb", ""))
            .await
            .is_err());
        assert!(execute(&p, client("https://console.example/cb/", "wizard"))
            .await
            .is_err());
        // `district` goes only to the district tenant's clients.
        execute(&p, create_school("a-es", false)).await.unwrap();
        let elsewhere = client_at("a-es", "https://a.example/cb", "district");
        assert!(execute(&p, elsewhere).await.is_err());
        let rotate = AdminCmd::RotateKey {
            common: common(),
            school: "district".into(),
            alg: "ES256".into(),
        };
        let rotated = execute(&p, rotate).await.unwrap();
        assert!(
            rotated.starts_with("school district: new ES256 key "),
            "{rotated}"
        );
        assert!(!rotated.contains('"'), "{rotated}");
        let log = events(&p, "district").await;
        let made: Vec<_> = log.iter().map(|e| (e.0.as_str(), e.1.as_str())).collect();
        for expected in [
            ("school.create", "cli"),
            ("user.create", "cli"),
            ("client.create", "cli"),
        ] {
            assert!(
                made.contains(&expected),
                "{expected:?} missing from {made:?}"
            );
        }
    }
}
