//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) in one call
//! ([`Provider::logout`]). The browser's session ends; the browser goes back to the client
//! only to a URI registered for the client named by a valid `id_token_hint`. Without a valid
//! hint the person is asked first (§2: the OP must ask the user whether to log out), so
//! another site cannot log a teacher out with a link; nor with a valid hint of another
//! account (anyone with an account at the school holds one, their own ID token): a hint
//! passes the question only when it names the person of the session, as Keycloak asks when
//! the hint's session is not the browser's.

use std::collections::HashMap;

use crate::error::Error;
use crate::model::School;
use crate::oidc::Provider;
use crate::params::param;

/// What a logout request leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Logout {
    /// Ask the person whether to log out (a form with the CSRF value posts the answer).
    Confirm,
    /// Logged out (or there was nothing to end): show the page that says so.
    LoggedOut,
    /// Logged out: send the browser to this registered URI of the client.
    Redirect(String),
}

impl Provider {
    /// Logs the browser with the session cookie `sid` out of `school`. `confirmed` is true
    /// when the person answered our own confirmation form (its CSRF value checked).
    pub async fn logout(
        &self,
        school: &School,
        issuer: &str,
        sid: Option<&str>,
        params: &HashMap<String, String>,
        confirmed: bool,
    ) -> Result<Logout, Error> {
        let hinted = match param(params, "id_token_hint") {
            Some(hint) => self.hinted_client(school, issuer, hint, params).await,
            None => None,
        };
        let session = match sid {
            Some(sid) => self.session(school, sid).await?.map(|s| (sid, s)),
            None => None,
        };
        if let Some((_, s)) = &session {
            // The hint passes the question only when it names the session's person.
            let named = match &hinted {
                Some((_, subject)) => self
                    .directory
                    .user_by_id(school.id, s.user_id)
                    .await?
                    .is_some_and(|u| &u.subject == subject),
                None => false,
            };
            if !named && !confirmed {
                return Ok(Logout::Confirm);
            }
        }
        let session = session.map(|(sid, _)| sid);
        let client_id = hinted.map(|(client, _)| client);
        if let Some(sid) = session {
            self.end_session(school, sid).await?;
        }
        let target = param(params, "post_logout_redirect_uri");
        let (Some(client_id), Some(target)) = (client_id, target) else {
            return Ok(Logout::LoggedOut);
        };
        let registered = self
            .client(school.id, &client_id)
            .await?
            .is_some_and(|c| c.post_logout_redirect_uris.iter().any(|u| u == target));
        if !registered {
            return Ok(Logout::LoggedOut);
        }
        let Ok(mut url) = url::Url::parse(target) else {
            return Ok(Logout::LoggedOut);
        };
        if let Some(state) = param(params, "state") {
            url.query_pairs_mut().append_pair("state", state);
        }
        Ok(Logout::Redirect(url.to_string()))
    }

    /// The client an `id_token_hint` was issued to, and the person it names (`sub`): a token
    /// signed by one of the school's keys for its issuer (expired or not: a hint names, it
    /// does not authenticate), whose audience is the `client_id` parameter when one is given.
    async fn hinted_client(
        &self,
        school: &School,
        issuer: &str,
        hint: &str,
        params: &HashMap<String, String>,
    ) -> Option<(String, String)> {
        let claims = self.verify_own_jwt(school, hint).await?;
        if claims["iss"].as_str() != Some(issuer) {
            return None;
        }
        let audience = claims["aud"].as_str()?.to_string();
        let subject = claims["sub"].as_str()?.to_string();
        match param(params, "client_id") {
            Some(named) if named != audience => None,
            _ => Some((audience, subject)),
        }
    }
}
