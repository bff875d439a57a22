//! The authorization request: who may ask, where the answer may go, and what it must carry.

use std::collections::HashMap;

use super::request::AuthRequest;
use super::Provider;
use crate::code::Code;
use crate::error::Error;
use crate::model::{Client, School};
use crate::params::param;

/// Where an authorization error is shown.
#[derive(Debug)]
pub enum AuthorizeError {
    /// On our own error page: the client or redirect URI cannot be trusted.
    Page(Error),
    /// Sent back to the client's (verified) redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: Error,
    },
}

impl Provider {
    /// Validates an authorization request of `school` (query parameters).
    pub async fn authorize_request(
        &self,
        school: &School,
        params: &HashMap<String, String>,
    ) -> Result<(AuthRequest, Client), AuthorizeError> {
        let page = |e| AuthorizeError::Page(e);
        // Before anything is read or echoed: an oversized state is not sent back either.
        check_sizes(params).map_err(page)?;
        let client_id = param(params, "client_id")
            .ok_or_else(|| page(Error::invalid_request("client_id is missing")))?;
        let client = self
            .client(school.id, client_id)
            .await
            .map_err(page)?
            .ok_or_else(|| page(Error::unauthorized_client("unknown client")))?;
        let redirect_uri = param(params, "redirect_uri")
            .ok_or_else(|| page(Error::invalid_request("redirect_uri is missing")))?;
        if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
            return Err(page(Error::invalid_request(
                "redirect_uri is not registered for this client",
            )));
        }
        let state = param(params, "state").map(str::to_string);
        let redirect = |error| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.to_string(),
            state: state.clone(),
            error,
        };
        check_request(params, &client).map_err(redirect)?;
        let required_level = required_level(params, &client).map_err(redirect)?;
        let scope = allowed_scope(param(params, "scope").unwrap_or_default(), &client);
        Ok((
            AuthRequest {
                client_id: client.client_id.clone(),
                redirect_uri: redirect_uri.to_string(),
                scope,
                state: state.clone(),
                nonce: param(params, "nonce").map(str::to_string),
                code_challenge: param(params, "code_challenge").map(str::to_string),
                prompt: param(params, "prompt").map(str::to_string),
                max_age: param(params, "max_age").and_then(|m| m.parse().ok()),
                acr_values: param(params, "acr_values")
                    .map(|v| v.split(' ').map(str::to_string).collect())
                    .unwrap_or_default(),
                login_hint: param(params, "login_hint").map(str::to_string),
                ui_locales: param(params, "ui_locales").map(str::to_string),
                required_level,
                partial: None,
            },
            client,
        ))
    }
}

/// The longest value of each parameter (characters); others get [`MAX_OTHER`]. Generous
/// for every relying party seen in practice, small enough that a pending login costs a few
/// kilobytes at most.
const MAX_LENGTHS: [(&str, usize); 14] = [
    ("client_id", 256),
    ("redirect_uri", 2048),
    ("response_type", 64),
    ("scope", 1024),
    ("state", 2048),
    ("nonce", 512),
    ("code_challenge", 128),
    ("code_challenge_method", 16),
    ("prompt", 64),
    ("max_age", 20),
    ("acr_values", 512),
    ("login_hint", 256),
    ("ui_locales", 64),
    ("claims", 4096),
];
const MAX_OTHER: usize = 2048;
/// Parameters an authorization request may carry (OIDC defines about twenty).
const MAX_PARAMS: usize = 40;

/// Refuses requests with too many or too long parameters.
pub fn check_sizes(params: &HashMap<String, String>) -> Result<(), Error> {
    if params.len() > MAX_PARAMS {
        return Err(Error::invalid_request("too many parameters"));
    }
    for (name, value) in params {
        let max = MAX_LENGTHS
            .iter()
            .find(|(n, _)| n == name)
            .map_or(MAX_OTHER, |(_, m)| *m);
        if value.chars().count() > max || name.len() > 64 {
            let known = MAX_LENGTHS.iter().find(|(n, _)| n == name);
            return Err(Error::invalid_request(match known {
                Some((n, m)) => format!("the parameter {n} is too long (at most {m} characters)"),
                None => format!("a parameter is too long (at most {MAX_OTHER} characters)"),
            }));
        }
    }
    Ok(())
}

/// Scopes every client may ask for.
const BASE_SCOPES: [&str; 3] = ["openid", "profile", "offline_access"];

/// The requested scopes this client may be given (unknown and ungranted ones are dropped).
pub fn allowed_scope(requested: &str, client: &Client) -> String {
    requested
        .split(' ')
        .filter(|s| !s.is_empty())
        .filter(|s| BASE_SCOPES.contains(s) || client.allowed_scopes.iter().any(|a| a == s))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The acr level a login for this request must reach (0: any).
fn required_level(params: &HashMap<String, String>, client: &Client) -> Result<u8, Error> {
    let mut asked: Vec<String> = param(params, "acr_values")
        .map(|v| v.split(' ').map(str::to_string).collect())
        .unwrap_or_default();
    if let Some(claims) = param(params, "claims") {
        asked.extend(claims_acr(claims)?);
    }
    if asked.is_empty() {
        asked = client.default_acr_values.clone();
    }
    // Any of the values asked for will do: the lowest known one is what must be reached.
    let asked_level = asked
        .iter()
        .filter_map(|a| crate::factor::acr_level(a))
        .min()
        .unwrap_or(0);
    let minimum = client
        .min_acr
        .as_deref()
        .and_then(crate::factor::acr_level)
        .unwrap_or(0);
    Ok(asked_level.max(minimum))
}

/// The acr values of a `claims` request parameter (OIDC Core §5.5: id_token.acr).
fn claims_acr(claims: &str) -> Result<Vec<String>, Error> {
    let value: serde_json::Value = serde_json::from_str(claims)
        .map_err(|_| Error::invalid_request("claims is not a JSON object"))?;
    if !value.is_object() {
        return Err(Error::invalid_request("claims is not a JSON object"));
    }
    let acr = &value["id_token"]["acr"];
    let mut values: Vec<String> = acr["values"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(v) = acr["value"].as_str() {
        values.push(v.to_string());
    }
    Ok(values)
}

/// The checks whose failure is reported to the client's redirect URI.
fn check_request(params: &HashMap<String, String>, client: &Client) -> Result<(), Error> {
    match param(params, "response_type") {
        Some("code") => {}
        Some(_) => {
            return Err(Error::unsupported_response_type(
                "only response_type=code is supported",
            ))
        }
        None => return Err(Error::invalid_request("response_type is missing")),
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(Error::unauthorized_client(
            "client may not use the authorization code flow",
        ));
    }
    let scope = param(params, "scope").unwrap_or_default();
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(Error::invalid_scope("scope must include openid"));
    }
    match (
        param(params, "code_challenge"),
        param(params, "code_challenge_method"),
    ) {
        (Some(challenge), Some("S256")) if is_s256_challenge(challenge) => {}
        (Some(_), Some("S256")) => {
            return Err(Error::invalid_request("code_challenge is not a S256 value"))
        }
        (Some(_), _) => return Err(Error::invalid_request("code_challenge_method must be S256")),
        (None, _) if client.public_client || client.require_pkce => {
            return Err(Error::invalid_request(
                "PKCE (code_challenge with S256) is required for this client",
            ))
        }
        (None, _) => {}
    }
    if let Some(prompt) = param(params, "prompt") {
        if prompt
            .split(' ')
            .any(|p| !matches!(p, "none" | "login" | "consent" | "select_account"))
        {
            return Err(Error::invalid_request("unsupported prompt value"));
        }
    }
    if param(params, "max_age").is_some_and(|m| m.parse::<u64>().is_err()) {
        return Err(Error::invalid_request(
            "max_age must be a number of seconds",
        ));
    }
    if param(params, "request_uri").is_some() {
        return Err(Error::new(
            Code::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    if param(params, "request").is_some() {
        return Err(Error::new(
            Code::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    Ok(())
}

/// A S256 challenge is 43 base64url characters (a SHA-256 digest).
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `verifier` (RFC 7636: 43–128 unreserved characters) hashes to `challenge`.
pub fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    use base64::Engine;
    let valid = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !valid {
        return false;
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
    // Constant-time compare: the challenge is not secret, but keep the habit for tokens.
    computed.len() == challenge.len()
        && computed
            .bytes()
            .zip(challenge.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
