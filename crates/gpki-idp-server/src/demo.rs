//! `serve --demo`: a demo school with a sample portal client and three accounts, created once
//! and found again on later runs (never duplicated, never reset).

use gpki_idp_core::admin::seed::Fixture;
use gpki_idp_core::admin::Principal;
use gpki_idp_core::audit::Origin;
use gpki_idp_core::model::{NewClient, NewUser};
use gpki_idp_core::oidc::Provider;
use gpki_idp_core::password;

pub const SCHOOL: &str = "demo";
pub const CLIENT_ID: &str = "demo-portal";
/// Demo only: a fixed, published secret so that the demo can be re-run and scripted.
pub const CLIENT_SECRET: &str = "demo-portal-secret";
pub const PASSWORD: &str = "demo1234";
/// (account, display name, role)
pub const USERS: [(&str, &str, &str); 3] = [
    ("teacher", "王小明老師", "teacher"),
    ("staff", "林美玲（職員）", "staff"),
    ("gm", "陳校長（管理者）", "admin"),
];

/// Where the sample portal receives the code.
pub fn redirect_uris(public_url: &str) -> Vec<String> {
    vec![
        "http://127.0.0.1:9000/callback".to_string(),
        "http://localhost:9000/callback".to_string(),
        format!("{public_url}/demo-portal/callback"),
    ]
}

/// Creates what is missing of the demo school, as the operator (audited as `cli`).
pub async fn seed(provider: &Provider, public_url: &str) -> Result<(), String> {
    let users = USERS
        .iter()
        .map(|(username, name, role)| NewUser {
            school_id: 0,
            username: username.to_string(),
            display_name: name.to_string(),
            password_hash: Some(password::hash(PASSWORD)),
            roles: vec![role.to_string()],
            password_must_change: false,
        })
        .collect();
    let secret_hash = provider
        .client_secret_hash(CLIENT_SECRET)
        .await
        .map_err(|e| e.to_string())?;
    let fixture = Fixture {
        code: SCHOOL.into(),
        name: "示範國民小學 Demo Elementary School".into(),
        users,
        clients: vec![portal(public_url, secret_hash)],
    };
    let operator = Principal::operator(Origin::default());
    provider
        .seed(&operator, fixture)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The demo portal: a confidential client with a published secret (`secret_hash`, its
/// stored form).
fn portal(public_url: &str, secret_hash: String) -> NewClient {
    NewClient {
        school_id: 0,
        client_id: CLIENT_ID.into(),
        name: "示範校務系統 Demo school portal".into(),
        secret_hash: Some(secret_hash),
        public_client: false,
        require_pkce: false,
        redirect_uris: redirect_uris(public_url),
        post_logout_redirect_uris: vec![
            "http://127.0.0.1:9000/".into(),
            "http://localhost:9000/".into(),
        ],
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        id_token_alg: "RS256".into(),
        jwks: None,
        // The demo GM (gm) may use the admin API with a token of this client.
        allowed_scopes: [gpki_idp_core::model::default_scopes(), vec!["admin".into()]].concat(),
        default_acr_values: vec![],
        min_acr: None,
        refresh_reuse_grace_secs: None,
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    }
}

/// What `serve --demo` prints on start.
pub fn banner(public_url: &str) -> String {
    let issuer = format!("{public_url}/schools/{SCHOOL}");
    let users: Vec<String> = USERS
        .iter()
        .map(|(u, n, r)| format!("    {u:<8} / {PASSWORD}   {n} ({r})"))
        .collect();
    format!(
        "gpki-idp demo\n  issuer:        {issuer}\n  discovery:     {issuer}/.well-known/openid-configuration\n  \
         client_id:     {CLIENT_ID}\n  client_secret: {CLIENT_SECRET}\n  redirect_uri:  http://127.0.0.1:9000/callback\n  \
         accounts (password login):\n{}\n  try it:        {issuer}/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcallback&scope=openid%20profile&state=xyz\n  \
         admin API:     log in as gm with scope=openid%20admin, then {public_url}/admin/v1/me with the access token\n",
        users.join("\n")
    )
}
