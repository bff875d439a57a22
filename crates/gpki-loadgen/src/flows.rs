//! The flows a relying party and a browser make, as plain HTTP: cookies are carried by hand
//! so each flow is one browser.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use gpki_testpki::{sign_cms, CmsOptions, Leaf};
use reqwest::redirect::Policy;
use serde_json::Value;

use crate::server::Server;

pub const REDIRECT: &str = "http://127.0.0.1:9000/callback";

type Result<T> = std::result::Result<T, String>;

/// Where the flows log in: a school, its client and an account with a password.
#[derive(Clone, Debug)]
pub struct Target {
    pub school: String,
    pub client: String,
    pub secret: String,
    pub user: String,
    pub password: String,
}

impl Target {
    /// The demo school that `serve --demo` seeds.
    pub fn demo() -> Self {
        Self {
            school: "demo".into(),
            client: "demo-portal".into(),
            secret: "demo-portal-secret".into(),
            user: "teacher".into(),
            password: "demo1234".into(),
        }
    }
}

/// What every flow shares: the client, the issuer and the registered card.
pub struct Context {
    http: reqwest::Client,
    issuer: String,
    /// The registered card (none for flows without one).
    leaf: Option<Leaf>,
    target: Target,
}

/// A browser's cookies.
#[derive(Default, Clone)]
pub struct Jar(HashMap<String, String>);

impl Jar {
    fn keep(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            if let Some((name, rest)) = v.to_str().unwrap_or_default().split_once('=') {
                let value = rest.split(';').next().unwrap_or_default();
                self.0.insert(name.to_string(), value.to_string());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn hidden(html: &str, name: &str) -> Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).ok_or(format!("no {name} on the page"))? + marker.len();
    Ok(html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string())
}

fn query_value(location: &str, name: &str) -> Result<String> {
    let url = url::Url::parse(location).map_err(|e| e.to_string())?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .ok_or(format!("no {name} in {location}"))
}

fn sign(leaf: &Leaf, challenge: &str) -> String {
    let options = CmsOptions {
        nonce: Some(challenge.as_bytes().to_vec()),
        ..CmsOptions::default()
    };
    let cms = sign_cms(&[leaf], challenge.as_bytes(), &options);
    base64::engine::general_purpose::STANDARD.encode(cms)
}

impl Context {
    /// The client and the card's registration (once, before any scenario).
    pub async fn prepare(server: &Server, leaf: Leaf) -> Result<Self> {
        let ctx = Self::at(server, Some(leaf), Target::demo())?;
        ctx.register_card().await?;
        Ok(ctx)
    }

    /// Flows against `target`, without a card.
    pub fn at(server: &Server, leaf: Option<Leaf>, target: Target) -> Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            issuer: format!("{}/schools/{}", server.base, target.school),
            leaf,
            target,
        })
    }

    fn card(&self) -> Result<&Leaf> {
        self.leaf.as_ref().ok_or("these flows have no card".into())
    }

    async fn register_card(&self) -> Result<()> {
        let mut jar = Jar::default();
        let (req, csrf) = self.login_page(&mut jar, "openid").await?;
        self.password(&mut jar, &req, &csrf).await?;
        let ch = self
            .post_form(&mut jar, "/account/card/challenge", &[("csrf", &csrf)])
            .await?;
        let challenge = ch["challenge"].as_str().ok_or("no challenge")?.to_string();
        let signature = sign(self.card()?, &challenge);
        let form = [
            ("csrf", csrf.as_str()),
            ("challenge", &challenge),
            ("signature", &signature),
        ];
        let done = self.post_form(&mut jar, "/account/card", &form).await?;
        done.get("id")
            .map(|_| ())
            .ok_or(format!("registration: {done}"))
    }

    async fn authorize(&self, jar: &mut Jar, scope: &str) -> Result<reqwest::Response> {
        let r = self
            .http
            .get(format!("{}/authorize", self.issuer))
            .query(&[
                ("response_type", "code"),
                ("client_id", self.target.client.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", scope),
                ("state", "bench"),
            ])
            .header("Cookie", jar.header())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        jar.keep(&r);
        Ok(r)
    }

    /// The login page: (req, csrf).
    async fn login_page(&self, jar: &mut Jar, scope: &str) -> Result<(String, String)> {
        let html = self
            .authorize(jar, scope)
            .await?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        Ok((hidden(&html, "req")?, hidden(&html, "csrf")?))
    }

    /// The password step; returns the code.
    async fn password(&self, jar: &mut Jar, req: &str, csrf: &str) -> Result<String> {
        let form = [
            ("req", req),
            ("csrf", csrf),
            ("username", &self.target.user),
            ("password", &self.target.password),
        ];
        let r = self
            .http
            .post(format!("{}/login", self.issuer))
            .header("Cookie", jar.header())
            .form(&form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        jar.keep(&r);
        let location = r
            .headers()
            .get("location")
            .ok_or(format!("login: {}", r.status()))?;
        query_value(location.to_str().unwrap_or_default(), "code")
    }

    async fn post_form(&self, jar: &mut Jar, path: &str, form: &[(&str, &str)]) -> Result<Value> {
        let r = self
            .http
            .post(format!("{}{path}", self.issuer))
            .header("Cookie", jar.header())
            .form(form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        jar.keep(&r);
        r.json().await.map_err(|e| e.to_string())
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<Value> {
        let r = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth(&self.target.client, Some(&self.target.secret))
            .form(form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let body: Value = r.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("token: {status} {body}"))
        }
    }

    /// The ID token of one refresh grant, after a password login for a refresh token (to
    /// check which algorithm the refresh scenario's grants are signed with).
    pub async fn refreshed_id_token(&self) -> Result<String> {
        let mut jar = Jar::default();
        let (req, csrf) = self.login_page(&mut jar, "openid offline_access").await?;
        let code = self.password(&mut jar, &req, &csrf).await?;
        let tokens = self.exchange(&code).await?;
        let refresh = tokens["refresh_token"].as_str().ok_or("no refresh_token")?;
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
        let refreshed = self.token(&form).await?;
        refreshed["id_token"]
            .as_str()
            .map(str::to_string)
            .ok_or(format!("no id_token in the refresh answer: {refreshed}"))
    }

    async fn exchange(&self, code: &str) -> Result<Value> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        let tokens = self.token(&form).await?;
        tokens
            .get("id_token")
            .map(|_| tokens.clone())
            .ok_or("no id_token".into())
    }
}

/// What one task keeps between its flows: the browser's cookies, a refresh token.
#[derive(Default)]
pub struct State {
    jar: Jar,
    refresh: Option<String>,
}

/// One kind of flow: a per-task state made once, then flows run on it.
#[async_trait::async_trait]
pub trait Flow: Send + Sync {
    async fn prepare(&self, worker: usize) -> State {
        let _ = worker;
        State::default()
    }
    async fn run(&self, state: &mut State) -> Result<()>;
}

/// authorize → password → code → token, in a new browser each time.
pub struct Password(pub Arc<Context>);

#[async_trait::async_trait]
impl Flow for Password {
    async fn run(&self, _: &mut State) -> Result<()> {
        let c = &self.0;
        let mut jar = Jar::default();
        let (req, csrf) = c.login_page(&mut jar, "openid").await?;
        let code = c.password(&mut jar, &req, &csrf).await?;
        c.exchange(&code).await.map(|_| ())
    }
}

/// authorize → challenge → the card signs → card login → code → token, in a new browser.
pub struct Card(pub Arc<Context>);

#[async_trait::async_trait]
impl Flow for Card {
    async fn run(&self, _: &mut State) -> Result<()> {
        let c = &self.0;
        let mut jar = Jar::default();
        let (req, csrf) = c.login_page(&mut jar, "openid").await?;
        let ch = c
            .post_form(
                &mut jar,
                "/login/card/challenge",
                &[("req", &req), ("csrf", &csrf)],
            )
            .await?;
        let challenge = ch["challenge"]
            .as_str()
            .ok_or(format!("challenge: {ch}"))?
            .to_string();
        let signature = sign(c.card()?, &challenge);
        let form = [
            ("req", req.as_str()),
            ("csrf", &csrf),
            ("username", &c.target.user),
            ("challenge", &challenge),
            ("signature", &signature),
        ];
        let done = c.post_form(&mut jar, "/login/card", &form).await?;
        let redirect = done["redirect"]
            .as_str()
            .ok_or(format!("card login: {done}"))?;
        c.exchange(&query_value(redirect, "code")?)
            .await
            .map(|_| ())
    }
}

/// A browser already logged in: authorize → code → token.
pub struct Session(pub Arc<Context>);

#[async_trait::async_trait]
impl Flow for Session {
    async fn prepare(&self, _: usize) -> State {
        let c = &self.0;
        let mut jar = Jar::default();
        if let Ok((req, csrf)) = c.login_page(&mut jar, "openid").await {
            let _ = c.password(&mut jar, &req, &csrf).await;
        }
        State { jar, refresh: None }
    }

    async fn run(&self, state: &mut State) -> Result<()> {
        let c = &self.0;
        let r = c.authorize(&mut state.jar, "openid").await?;
        let location = r
            .headers()
            .get("location")
            .ok_or(format!("authorize: {}", r.status()))?;
        let code = query_value(location.to_str().unwrap_or_default(), "code")?;
        c.exchange(&code).await.map(|_| ())
    }
}

/// refresh_token grants, each rotating the token.
pub struct Refresh(pub Arc<Context>);

#[async_trait::async_trait]
impl Flow for Refresh {
    async fn prepare(&self, _: usize) -> State {
        let c = &self.0;
        let mut jar = Jar::default();
        let mut refresh = None;
        if let Ok((req, csrf)) = c.login_page(&mut jar, "openid offline_access").await {
            if let Ok(code) = c.password(&mut jar, &req, &csrf).await {
                refresh = c
                    .exchange(&code)
                    .await
                    .ok()
                    .and_then(|t| t["refresh_token"].as_str().map(str::to_string));
            }
        }
        State { jar, refresh }
    }

    async fn run(&self, state: &mut State) -> Result<()> {
        let token = state.refresh.clone().ok_or("no refresh token")?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", token.as_str()),
        ];
        let tokens = self.0.token(&form).await?;
        state.refresh = tokens["refresh_token"].as_str().map(str::to_string);
        Ok(())
    }
}
