//! An authorization request from a browser, in one call ([`Provider::authorize`]): the
//! request is checked, the browser's session (if any) may answer it at once or count toward a
//! step-up, and otherwise the request is kept while the person logs in.

use std::collections::HashMap;

use super::redirect::{client_redirect, error_redirect};
use super::resume::Resume;
use crate::code::Notice;
use crate::error::Error;
use crate::factor::Factor;
use crate::model::{School, User};
use crate::oidc::authorize::AuthorizeError;
use crate::oidc::request::AuthRequest;
use crate::oidc::Provider;

/// What a browser's authorization request leads to.
#[derive(Debug)]
pub enum Authorized {
    /// Send the browser back to the client: with a code (the session answered the request)
    /// or with an error the client must hear.
    Redirect(String),
    /// The login page for a pending request.
    Login(Box<PendingLogin>),
}

/// A pending request waiting for its login.
#[derive(Debug)]
pub struct PendingLogin {
    pub request_id: String,
    pub request: AuthRequest,
    /// When the browser's session counts and only one more factor is needed.
    pub step: Option<StepUp>,
}

/// A session that must add a factor.
#[derive(Debug)]
pub struct StepUp {
    pub user: User,
    pub next: Factor,
    pub notice: Notice,
}

impl Provider {
    /// `/authorize` of `school` with the request's `params`, from a browser with the session
    /// cookie `sid`. An error is shown on our own page: the client or its redirect URI cannot
    /// be trusted, or storage failed.
    pub async fn authorize(
        &self,
        school: &School,
        issuer: &str,
        params: &HashMap<String, String>,
        sid: Option<&str>,
    ) -> Result<Authorized, Error> {
        let mut request = match self.authorize_request(school, params).await {
            Ok((request, _client)) => request,
            Err(AuthorizeError::Page(e)) => return Err(e),
            Err(AuthorizeError::Redirect {
                redirect_uri,
                state,
                error,
            }) => {
                let url = error_redirect(&redirect_uri, state.as_deref(), issuer, &error);
                return Ok(Authorized::Redirect(url));
            }
        };
        let session = match sid {
            Some(sid) => self.session(school, sid).await.ok().flatten(),
            None => None,
        };
        let step = match self.resume(school, issuer, &mut request, session).await? {
            Resume::Complete(url) => return Ok(Authorized::Redirect(url)),
            Resume::LoginRequired => {
                let e = Error::login_required("the user is not logged in");
                return Ok(Authorized::Redirect(client_redirect(
                    issuer,
                    &request,
                    Err(&e),
                )));
            }
            Resume::StepUp { user, next, notice } => Some(StepUp { user, next, notice }),
            Resume::Login => None,
        };
        let request_id = self.save_auth_request(school, &request).await?;
        Ok(Authorized::Login(Box::new(PendingLogin {
            request_id,
            request,
            step,
        })))
    }
}
