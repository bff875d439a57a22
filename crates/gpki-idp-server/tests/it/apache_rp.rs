//! End to end with a widely used certified relying party: Debian's apache2 with
//! mod_auth_openidc (configuration in `tests/apache/`, as docs/INTEGRATION.md gives it to a
//! school's vendor) protects a CGI page that prints the claims it receives. The test is the
//! browser: password login, card login with a real CMS signature, step-up to the card level
//! for one location, refresh through mod_auth_openidc's hook, and logout.

use gpki_idp_core::factor::{ACR_CERTIFICATE, ACR_PASSWORD, ACR_PASSWORD_CERTIFICATE};
use gpki_idp_core::model::NewClient;
use gpki_idp_server::demo;
use gpki_testpki::Leaf;
use reqwest::blocking::Client as Http;
use url::Url;

use crate::support::apache::{self, visit, Apache, Page, RpConfig};
use crate::support::card::{self, signer};
use crate::support::http::free_port;
use crate::support::rp::LoginForm;
use crate::support::server::new_client;
use crate::support::{block_on, Rp, TestServer};

const CLIENT_ID: &str = "apache-portal";
const CLIENT_SECRET: &str = "apache-portal-secret";

/// Our server with the teacher's card registered, and Apache as a client of it.
struct Rig {
    // Declared first: Apache stops before the IdP.
    apache: Apache,
    server: TestServer,
    leaf: Leaf,
}

impl Rig {
    fn new(card_serial: u64) -> Rig {
        apache::require_installed();
        let leaf = card::card(card_serial);
        let server = card::server_with(&leaf);
        let port = free_port();
        register_client(&server, &format!("http://127.0.0.1:{port}"));
        let issuer = server.issuer(demo::SCHOOL);
        let apache = apache::start(
            port,
            &RpConfig {
                issuer: &issuer,
                client_id: CLIENT_ID,
                client_secret: CLIENT_SECRET,
            },
        );
        Rig {
            apache,
            server,
            leaf,
        }
    }

    fn issuer(&self) -> String {
        self.server.issuer(demo::SCHOOL)
    }

    /// Apache as our relying party sees it.
    fn rp(&self) -> Rp {
        Rp::client(&self.issuer(), CLIENT_ID, CLIENT_SECRET)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.apache.base)
    }

    /// Asserts that `page` is our login page, reached from Apache; returns its form.
    fn login_form(&self, page: &Page) -> LoginForm {
        let authorize = format!("{}/authorize", self.issuer());
        assert!(
            page.status == 200 && page.url.as_str().starts_with(&authorize),
            "not our login page: {page:?}\n{}",
            self.apache.error_log()
        );
        LoginForm::of(&page.body)
    }

    /// Logs the teacher in with the password on our login page; follows back to Apache.
    fn password(&self, b: &Http, page: &Page) -> Page {
        let form = self.login_form(page);
        let url = Url::parse(&format!("{}/login", self.issuer())).unwrap();
        let rp = self.rp();
        let response = rp.submit_password(b, &form, "teacher", demo::PASSWORD);
        assert_eq!(response.status(), 302);
        self.back_at_apache(apache::follow(b, url, response))
    }

    /// Signs our challenge with the teacher's card, as the page does through the local
    /// signing service; follows the answer's redirect back to Apache.
    fn card(&self, b: &Http, page: &Page) -> Page {
        let form = self.login_form(page);
        let (status, body) = self
            .rp()
            .card_login(b, &form, "teacher", signer(&self.leaf));
        assert_eq!(status, 200, "{body}");
        self.back_at_apache(visit(b, body["redirect"].as_str().unwrap()))
    }

    /// Asserts that the browser came back through Apache's redirect URI with a code.
    fn back_at_apache(&self, page: Page) -> Page {
        let callback = format!("{}?", self.apache.redirect_uri());
        assert!(
            page.went_through(&callback) && page.url.as_str().starts_with(&self.apache.base),
            "{page:?}\n{}",
            self.apache.error_log()
        );
        page
    }

    /// `gpki_token_requests_total{grant, outcome="ok"}`.
    fn grants(&self, grant: &str) -> u64 {
        let metrics = reqwest::blocking::get(format!("{}/metrics", self.server.base))
            .unwrap()
            .text()
            .unwrap();
        let prefix = format!("gpki_token_requests_total{{grant=\"{grant}\",outcome=\"ok\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0, |v| v.parse().unwrap())
    }
}

fn register_client(server: &TestServer, app: &str) {
    let client = NewClient {
        name: "校務系統 behind Apache".into(),
        require_pkce: true,
        redirect_uris: vec![apache::redirect_uri(app)],
        post_logout_redirect_uris: vec![format!("{app}/loggedout.html")],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        // mod_auth_openidc's back-channel logout endpoint (OIDCSessionType server-cache).
        backchannel_logout_uri: Some(format!("{}?logout=backchannel", apache::redirect_uri(app))),
        ..new_client(&server.demo_school(), CLIENT_ID, Some(CLIENT_SECRET))
    };
    block_on(server.state.provider.directory().create_client(client)).unwrap();
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The refresh token at our token endpoint, as Apache would present it: the error, if any.
fn refresh_error(rig: &Rig, refresh_token: &str) -> Option<String> {
    let (_, body) = rig.rp().refresh(refresh_token);
    body["error"].as_str().map(str::to_string)
}

#[test]
fn password_login_refresh_and_logout_through_apache() {
    let rig = Rig::new(0xa9a1);
    let b = apache::browser();

    // Apache sends the browser to us with PKCE; the password brings it back with the claims.
    let page = visit(&b, &rig.url("/protected/"));
    assert_eq!(query(&page.url, "client_id").as_deref(), Some(CLIENT_ID));
    assert_eq!(
        query(&page.url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query(&page.url, "scope").as_deref(),
        Some("openid profile offline_access")
    );
    let page = rig.password(&b, &page);
    assert_eq!(page.url.as_str(), rig.url("/protected/"));
    let vars = page.vars();
    assert_eq!(vars["REMOTE_USER"], "teacher");
    assert_eq!(vars["OIDC_CLAIM_preferred_username"], "teacher");
    assert_eq!(vars["OIDC_CLAIM_name"], "王小明老師");
    assert_eq!(vars["OIDC_CLAIM_school"], "demo");
    assert_eq!(vars["OIDC_CLAIM_roles"], "teacher");
    assert_eq!(vars["OIDC_CLAIM_acr"], ACR_PASSWORD);
    assert_eq!(vars["OIDC_CLAIM_amr"], "pwd");
    assert_eq!(vars["OIDC_CLAIM_iss"], rig.issuer());
    assert_eq!(vars["OIDC_CLAIM_aud"], CLIENT_ID);
    assert!(!vars["OIDC_CLAIM_sub"].is_empty());
    assert!(vars.contains_key("OIDC_CLAIM_nonce"), "Apache sent a nonce");
    assert_eq!(rig.grants("authorization_code"), 1);

    // Refresh through mod_auth_openidc's hook: our token endpoint rotates the refresh token.
    let (access, refresh) = (&vars["OIDC_access_token"], &vars["OIDC_refresh_token"]);
    let mut hook = Url::parse(&rig.apache.redirect_uri()).unwrap();
    hook.query_pairs_mut()
        .append_pair("refresh", &rig.url("/protected/"))
        .append_pair("access_token", access);
    let page = visit(&b, hook.as_str());
    assert_eq!(page.url.as_str(), rig.url("/protected/"), "{page:?}");
    assert_eq!(rig.grants("refresh_token"), 1, "{}", rig.apache.error_log());
    let after = page.vars();
    assert_ne!(&after["OIDC_access_token"], access);
    assert_ne!(&after["OIDC_refresh_token"], refresh, "rotated");
    assert_eq!(after["OIDC_CLAIM_sub"], vars["OIDC_CLAIM_sub"]);
    assert_eq!(after["REMOTE_USER"], "teacher");

    // Refresh before expiry (OIDCRefreshAccessTokenBeforeExpiry): on a visit, unasked.
    let page = visit(&b, &rig.url("/protected/fresh/"));
    assert_eq!(page.hops.len(), 1, "{page:?}");
    assert_eq!(rig.grants("refresh_token"), 2, "{}", rig.apache.error_log());
    let fresh = page.vars();
    assert_ne!(fresh["OIDC_refresh_token"], after["OIDC_refresh_token"]);
    assert_eq!(fresh["REMOTE_USER"], "teacher");

    // Logout: Apache ends its session and sends the browser to our end_session_endpoint with
    // the ID token as hint; we end ours (and its refresh tokens) and send it back.
    let mut logout = Url::parse(&rig.apache.redirect_uri()).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("logout", &rig.url("/loggedout.html"));
    let page = visit(&b, logout.as_str());
    let ours = page
        .hops
        .iter()
        .find(|u| u.as_str().starts_with(&format!("{}/logout?", rig.issuer())))
        .unwrap_or_else(|| panic!("not sent to our logout: {page:?}"));
    assert!(query(ours, "id_token_hint").is_some());
    assert_eq!(
        query(ours, "post_logout_redirect_uri"),
        Some(rig.url("/loggedout.html"))
    );
    assert!(page.url.as_str().starts_with(&rig.url("/loggedout.html")));
    assert_eq!(page.body, "logged out\n");
    assert_eq!(
        refresh_error(&rig, &fresh["OIDC_refresh_token"]).as_deref(),
        Some("invalid_grant"),
        "the session's refresh tokens ended with it"
    );
    // Neither Apache nor we remember the teacher: the login page again.
    let page = visit(&b, &rig.url("/protected/"));
    rig.login_form(&page);
}

#[test]
fn card_login_and_step_up_through_apache() {
    let rig = Rig::new(0xa9a2);

    // The card at the login page reached from the ordinary location.
    let b = apache::browser();
    let page = visit(&b, &rig.url("/protected/"));
    let vars = rig.card(&b, &page).vars();
    assert_eq!(vars["OIDC_CLAIM_acr"], ACR_CERTIFICATE);
    assert!(vars["OIDC_CLAIM_amr"].split(',').any(|m| m == "sc"));
    assert_eq!(vars["REMOTE_USER"], "teacher");
    // Level 2 is enough for the card location: no new login.
    let page = visit(&b, &rig.url("/protected/card/"));
    assert_eq!(page.hops.len(), 1, "{page:?}");
    assert_eq!(page.vars()["OIDC_CLAIM_acr"], ACR_CERTIFICATE);

    // The card location asks for the card level (acr_values) of a new browser.
    let b = apache::browser();
    let page = visit(&b, &rig.url("/protected/card/"));
    assert_eq!(
        query(&page.url, "acr_values").as_deref(),
        Some(ACR_CERTIFICATE)
    );
    let page = rig.card(&b, &page);
    assert_eq!(page.url.as_str(), rig.url("/protected/card/"));
    assert_eq!(page.vars()["OIDC_CLAIM_acr"], ACR_CERTIFICATE);

    // Step-up: a password session at the card location goes back to us; our page asks for
    // the card only; Apache then shows level 3 (the session's password counts too), which
    // the location's level check accepts although it is not the acr string it asked for.
    let b = apache::browser();
    let page = visit(&b, &rig.url("/protected/"));
    let page = rig.password(&b, &page);
    assert_eq!(page.vars()["OIDC_CLAIM_acr"], ACR_PASSWORD);
    let page = visit(&b, &rig.url("/protected/card/"));
    assert_eq!(
        query(&page.url, "acr_values").as_deref(),
        Some(ACR_CERTIFICATE)
    );
    assert!(page.body.contains("data-step=\"card\""), "{}", page.body);
    assert!(page.body.contains("此系統要求以自然人憑證登入"));
    let page = rig.card(&b, &page);
    assert_eq!(page.url.as_str(), rig.url("/protected/card/"));
    let vars = page.vars();
    assert_eq!(vars["OIDC_CLAIM_acr"], ACR_PASSWORD_CERTIFICATE);
    assert_eq!(vars["OIDC_CLAIM_amr"], "pwd,sc,hwk,pin,mfa");
    // The stepped-up session serves both locations without another login.
    for path in ["/protected/", "/protected/card/"] {
        let page = visit(&b, &rig.url(path));
        assert_eq!(page.hops.len(), 1, "{page:?}");
        assert_eq!(page.vars()["OIDC_CLAIM_acr"], ACR_PASSWORD_CERTIFICATE);
    }
}

/// Logging out at the IdP (not through Apache) ends Apache's own session too: we POST a
/// logout token to its `?logout=backchannel` endpoint, which checks it and drops the session
/// of its `sid`; the next visit to the protected page asks for a login again.
#[test]
fn logout_at_the_idp_ends_apaches_session_through_the_back_channel() {
    let rig = Rig::new(0xa9a3);
    let b = apache::browser();
    let page = visit(&b, &rig.url("/protected/"));
    let page = rig.password(&b, &page);
    assert!(
        !page.vars()["OIDC_CLAIM_sid"].is_empty(),
        "the ID token names its session"
    );
    // Apache's session alone serves the page (no trip to us).
    let page = visit(&b, &rig.url("/protected/"));
    assert_eq!(page.hops.len(), 1, "{page:?}");

    // The teacher logs out at the IdP itself (asked to confirm: no hint).
    let asked = visit(&b, &format!("{}/logout", rig.issuer()));
    assert_eq!(asked.status, 200);
    let csrf = crate::support::hidden(&asked.body, "csrf");
    let done = b
        .post(format!("{}/logout", rig.issuer()))
        .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
        .send()
        .unwrap();
    assert_eq!(done.status(), 200);

    // Within the sender's round, Apache has dropped its session: our login page again.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = visit(&b, &rig.url("/protected/"));
        if page
            .url
            .as_str()
            .starts_with(&format!("{}/authorize", rig.issuer()))
        {
            rig.login_form(&page);
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "Apache still serves the page: {page:?}\n{}",
            rig.apache.error_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let metrics = reqwest::blocking::get(format!("{}/metrics", rig.server.base))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("gpki_logout_tokens_total{outcome=\"sent\"} 1"),
        "Apache accepted the logout token: {metrics}\n{}",
        rig.apache.error_log()
    );
}

/// docs/INTEGRATION.md gives vendors the configuration this test runs: every directive of
/// tests/apache/openidc.conf is in it.
#[test]
fn the_documented_apache_config_is_the_tested_one() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let conf = std::fs::read_to_string(format!("{root}/tests/apache/openidc.conf")).unwrap();
    let doc = std::fs::read_to_string(format!("{root}/docs/INTEGRATION.md")).unwrap();
    let directives = conf
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    for line in directives {
        assert!(doc.contains(line), "docs/INTEGRATION.md lacks `{line}`");
    }
}
