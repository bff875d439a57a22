//! The endpoints a client calls with its credentials — token (RFC 6749 §3.2), revocation
//! (RFC 7009) and introspection (RFC 7662) — each one call: the client is authenticated,
//! the endpoint's rules are checked, and the answer is made.

use std::collections::HashMap;

use serde_json::Value;

use super::Provider;
use crate::error::Error;
use crate::model::{Client, School};

/// A call of a client to one of its endpoints: its `Authorization` header and its form.
pub struct ClientCall<'a> {
    pub school: &'a School,
    pub issuer: &'a str,
    /// The caller's address (after the trusted-proxy rules): failures are counted by it.
    pub ip: &'a str,
    pub authorization: Option<&'a str>,
    pub params: &'a HashMap<String, String>,
}

impl ClientCall<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        crate::params::param(self.params, name)
    }

    /// The grant type as a metric label: from a fixed set, so a client cannot grow the
    /// metric's cardinality.
    pub fn grant_label(&self) -> &'static str {
        match self.param("grant_type") {
            Some("authorization_code") => "authorization_code",
            Some("refresh_token") => "refresh_token",
            Some("client_credentials") => "client_credentials",
            _ => "other",
        }
    }

    fn token(&self) -> Result<&str, Error> {
        self.param("token")
            .ok_or_else(|| Error::invalid_request("token is missing"))
    }
}

impl Provider {
    async fn caller(&self, call: &ClientCall<'_>) -> Result<Client, Error> {
        let (school, issuer) = (call.school, call.issuer);
        self.authenticate_client(school, issuer, call.ip, call.authorization, call.params)
            .await
    }

    /// `POST /token`.
    pub async fn token_endpoint(&self, call: &ClientCall<'_>) -> Result<Value, Error> {
        let client = self.caller(call).await?;
        self.token(call.school, call.issuer, &client, call.params)
            .await
    }

    /// `POST /revoke`: a token of the calling client is revoked; any other token is
    /// ignored silently (RFC 7009 §2.2).
    pub async fn revocation_endpoint(&self, call: &ClientCall<'_>) -> Result<(), Error> {
        let client = self.caller(call).await?;
        self.revoke(call.school, &client, call.token()?).await
    }

    /// `POST /introspect`: only an authenticated confidential client may ask (RFC 7662
    /// §2.1: a public client has nothing to prove).
    pub async fn introspection_endpoint(&self, call: &ClientCall<'_>) -> Result<Value, Error> {
        let client = self.caller(call).await?;
        if client.public_client {
            return Err(Error::invalid_client(
                "introspection needs an authenticated confidential client",
            ));
        }
        self.introspect(call.school, call.issuer, &client, call.token()?)
            .await
    }
}
