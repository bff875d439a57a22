//! The redirect back to the client (RFC 6749 §4.1.2, with `iss` of RFC 9207).

use crate::error::error_description;
use crate::error::Error;
use crate::oidc::request::AuthRequest;

/// The client's redirect URI with `iss`, the code or the error, and the client's `state`.
pub fn client_redirect(
    issuer: &str,
    request: &AuthRequest,
    outcome: Result<&str, &Error>,
) -> String {
    redirect(
        &request.redirect_uri,
        issuer,
        outcome,
        request.state.as_deref(),
    )
}

/// An error for the client at a redirect URI that was checked before the request was whole
/// (RFC 6749 §4.1.2.1).
pub fn error_redirect(redirect_uri: &str, state: Option<&str>, issuer: &str, e: &Error) -> String {
    redirect(redirect_uri, issuer, Err(e), state)
}

fn redirect(
    redirect_uri: &str,
    issuer: &str,
    outcome: Result<&str, &Error>,
    state: Option<&str>,
) -> String {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        // Checked when the request was accepted; kept as registered if it ever is not.
        return redirect_uri.to_string();
    };
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("iss", issuer);
        match outcome {
            Ok(code) => query.append_pair("code", code),
            Err(e) => query
                .append_pair("error", e.code.as_str())
                .append_pair("error_description", &error_description(&e.description)),
        };
        if let Some(s) = state {
            query.append_pair("state", s);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(redirect_uri: &str, state: Option<&str>) -> AuthRequest {
        AuthRequest {
            client_id: "portal".into(),
            redirect_uri: redirect_uri.into(),
            scope: "openid".into(),
            state: state.map(str::to_string),
            nonce: None,
            code_challenge: None,
            prompt: None,
            max_age: None,
            acr_values: Vec::new(),
            login_hint: None,
            ui_locales: None,
            required_level: 0,
            partial: None,
        }
    }

    fn pairs(url: &str) -> Vec<(String, String)> {
        url::Url::parse(url)
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn a_code_keeps_the_registered_query_and_adds_iss_code_state() {
        let r = request("https://portal.example/cb?tenant=a%26b", Some("x y&z"));
        let url = client_redirect("https://idp.example/schools/s1", &r, Ok("C0DE"));
        assert_eq!(
            pairs(&url),
            [
                ("tenant", "a&b"),
                ("iss", "https://idp.example/schools/s1"),
                ("code", "C0DE"),
                ("state", "x y&z"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn an_error_carries_a_description_a_client_can_parse() {
        let r = request("https://portal.example/cb", None);
        let e = Error::login_required("帳號 \"quoted\" \\ not logged in");
        let url = client_redirect("https://idp.example/s", &r, Err(&e));
        let got = pairs(&url);
        assert!(got.contains(&("error".into(), "login_required".into())));
        assert!(got.contains(&("error_description".into(), "quoted  not logged in".into())));
        assert!(!got.iter().any(|(k, _)| k == "state" || k == "code"));
    }
}
