//! The relying party the tests play, in place of the login helpers each test file had: it
//! builds authorization URLs (with PKCE when asked), opens the login page, posts the password
//! form or the card's signature as the page's script does, reads the code and state of the
//! redirect, and calls the token endpoint (code, refresh). The steps come as request builders
//! too, for the fault tests that time and classify every answer themselves.

use std::collections::HashMap;

use gpki_idp_server::demo;
use openidconnect::PkceCodeChallenge;
use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use serde_json::Value;

use super::http::{hidden, http, status_json};

/// The redirect URI every test client has registered.
pub const REDIRECT: &str = "http://127.0.0.1:9000/callback";

/// One client of one school's issuer.
#[derive(Clone, Debug)]
pub struct Rp {
    issuer: String,
    client_id: String,
    /// None: a public client, which names itself in the token form instead.
    secret: Option<String>,
    redirect_uri: String,
    scope: String,
    /// Authorization parameters sent unless a call gives its own (state, nonce).
    params: Vec<(String, String)>,
}

/// The hidden fields of a login page.
#[derive(Clone, Debug)]
pub struct LoginForm {
    pub req: String,
    pub csrf: String,
}

impl LoginForm {
    pub fn of(html: &str) -> Self {
        Self {
            req: hidden(html, "req"),
            csrf: hidden(html, "csrf"),
        }
    }
}

impl Rp {
    /// The demo portal (client_secret_basic) asking for `openid`.
    pub fn portal(issuer: &str) -> Self {
        Self::client(issuer, demo::CLIENT_ID, demo::CLIENT_SECRET)
    }

    /// The public PKCE client of the test server.
    pub fn public(issuer: &str) -> Self {
        Self {
            secret: None,
            ..Self::client(issuer, super::server::PUBLIC_CLIENT, "")
        }
    }

    /// A confidential client with a secret.
    pub fn client(issuer: &str, client_id: &str, secret: &str) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            secret: Some(secret.into()),
            redirect_uri: REDIRECT.into(),
            scope: "openid".into(),
            params: Vec::new(),
        }
    }

    pub fn scope(mut self, scope: &str) -> Self {
        self.scope = scope.into();
        self
    }

    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.redirect_uri = uri.into();
        self
    }

    /// A parameter of every authorization request that does not give its own.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The authorization request: response_type, client, redirect URI, scope, the default
    /// parameters `extra` does not name, then `extra`.
    pub fn authorize_url(&self, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&format!("{}/authorize", self.issuer)).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scope);
        for (name, value) in &self.params {
            if !extra.iter().any(|(n, _)| n == name) {
                url.query_pairs_mut().append_pair(name, value);
            }
        }
        url.query_pairs_mut().extend_pairs(extra.iter());
        url.to_string()
    }

    /// GET of the authorization request; redirects are not followed.
    pub fn authorize(&self, b: &Http, extra: &[(&str, &str)]) -> Response {
        b.get(self.authorize_url(extra)).send().unwrap()
    }

    /// The login page of an authorization request: its form.
    pub fn login_page(&self, b: &Http, extra: &[(&str, &str)]) -> LoginForm {
        open_login_page(b, &self.authorize_url(extra))
    }

    pub fn password_request(
        &self,
        b: &Http,
        form: &LoginForm,
        user: &str,
        pw: &str,
    ) -> RequestBuilder {
        let fields = [
            ("req", form.req.as_str()),
            ("csrf", form.csrf.as_str()),
            ("username", user),
            ("password", pw),
        ];
        b.post(format!("{}/login", self.issuer)).form(&fields)
    }

    /// The password form of an open login page.
    pub fn submit_password(&self, b: &Http, form: &LoginForm, user: &str, pw: &str) -> Response {
        self.password_request(b, form, user, pw).send().unwrap()
    }

    /// Authorization request, login page, password: the last answer.
    pub fn password_login(
        &self,
        b: &Http,
        extra: &[(&str, &str)],
        user: &str,
        pw: &str,
    ) -> Response {
        login_at(b, &self.authorize_url(extra), user, pw)
    }

    /// Logs `username` in with the demo password (a redirect back); the browser's CSRF value.
    pub fn log_in(&self, b: &Http, username: &str) -> String {
        let form = self.login_page(b, &[]);
        let r = self.submit_password(b, &form, username, demo::PASSWORD);
        assert_eq!(r.status(), 302);
        form.csrf
    }

    pub fn challenge_request(&self, b: &Http, form: &LoginForm) -> RequestBuilder {
        let fields = [("req", &form.req), ("csrf", &form.csrf)];
        b.post(format!("{}/login/card/challenge", self.issuer))
            .form(&fields)
    }

    /// A card challenge for the login of `form`.
    pub fn card_challenge(&self, b: &Http, form: &LoginForm) -> String {
        let r = self.challenge_request(b, form).send().unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().unwrap_or(Value::Null);
        assert_eq!(status, 200, "{body}");
        body["challenge"].as_str().unwrap().to_string()
    }

    pub fn card_request(
        &self,
        b: &Http,
        form: &LoginForm,
        username: &str,
        challenge: &str,
        signature: &str,
    ) -> RequestBuilder {
        let fields = [
            ("req", form.req.as_str()),
            ("csrf", form.csrf.as_str()),
            ("username", username),
            ("challenge", challenge),
            ("signature", signature),
        ];
        b.post(format!("{}/login/card", self.issuer)).form(&fields)
    }

    /// The card step as the page's script takes it: a challenge, the local signing service's
    /// signature over it (`sign`), the answer (status, JSON).
    pub fn card_login(
        &self,
        b: &Http,
        form: &LoginForm,
        username: &str,
        sign: impl Fn(&str) -> String,
    ) -> (u16, Value) {
        let challenge = self.card_challenge(b, form);
        let signature = sign(&challenge);
        let r = self.card_request(b, form, username, &challenge, &signature);
        status_json(r.send().unwrap())
    }

    /// A token request with this client's authentication (Basic; none for a public client,
    /// whose form names it).
    pub fn token_request(&self, http: &Http, form: &[(&str, &str)]) -> RequestBuilder {
        let rq = http.post(format!("{}/token", self.issuer)).form(form);
        match &self.secret {
            Some(secret) => rq.basic_auth(&self.client_id, Some(secret)),
            None => rq,
        }
    }

    pub fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        status_json(self.token_request(&http(), form).send().unwrap())
    }

    pub fn exchange(&self, code: &str) -> (u16, Value) {
        self.token(&self.with_client_id(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
        ]))
    }

    pub fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        self.token(&self.with_client_id(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]))
    }

    fn with_client_id<'a>(&'a self, form: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut form = form.to_vec();
        if self.secret.is_none() {
            form.push(("client_id", &self.client_id));
        }
        form
    }

    /// A whole password login of `username` by the code flow: the token response.
    pub fn tokens(&self, username: &str) -> Value {
        let b = super::http::browser();
        let r = self.password_login(&b, &[], username, demo::PASSWORD);
        let (status, tokens) = self.exchange(&redirect_query(&r)["code"]);
        assert_eq!(status, 200, "{tokens}");
        tokens
    }
}

/// Opens the login page at `auth_url` (of any client): its form.
pub fn open_login_page(b: &Http, auth_url: &str) -> LoginForm {
    let page = b.get(auth_url).send().unwrap();
    assert_eq!(page.status(), 200, "login page");
    LoginForm::of(&page.text().unwrap())
}

/// Follows an authorization URL (built by any library) through the password login page; the
/// answer to the form.
pub fn login_at(b: &Http, auth_url: &str, user: &str, pw: &str) -> Response {
    let form = open_login_page(b, auth_url);
    let issuer = auth_url.split("/authorize").next().unwrap();
    Rp::portal(issuer).submit_password(b, &form, user, pw)
}

/// The query of a redirect's Location (code, state, iss, error).
pub fn redirect_query(r: &Response) -> HashMap<String, String> {
    let location = r
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no redirect: {}", r.status()))
        .to_str()
        .unwrap();
    query_of(location)
}

pub fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The status and the Location of a redirect, or else the page.
pub fn location_or_body(r: Response) -> (u16, String) {
    let status = r.status().as_u16();
    match r.headers().get("Location") {
        Some(l) => (status, l.to_str().unwrap().to_string()),
        None => (status, r.text().unwrap()),
    }
}

/// A PKCE pair (challenge, verifier) made by the relying-party library, independently of the
/// server's code.
pub fn pkce() -> (String, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    (
        challenge.as_str().to_string(),
        verifier.secret().to_string(),
    )
}
