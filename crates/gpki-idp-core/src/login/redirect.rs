//! The redirect back to the client (RFC 6749 §4.1.2, with `iss` of RFC 9207).

use crate::oidc::authorize::AuthRequest;
use crate::OAuthError;

/// The client's redirect URI with `iss`, the code or the error, and the client's `state`.
pub fn client_redirect(
    issuer: &str,
    request: &AuthRequest,
    outcome: Result<&str, &OAuthError>,
) -> String {
    let Ok(mut url) = url::Url::parse(&request.redirect_uri) else {
        // Checked when the request was accepted; kept as registered if it ever is not.
        return request.redirect_uri.clone();
    };
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("iss", issuer);
        match outcome {
            Ok(code) => query.append_pair("code", code),
            Err(e) => query
                .append_pair("error", e.code)
                .append_pair("error_description", &error_description(&e.description)),
        };
        if let Some(s) = &request.state {
            query.append_pair("state", s);
        }
    }
    url.to_string()
}

/// `error_description` in the character set RFC 6749 §5.2 allows (printable ASCII but `"`
/// and `\`): whatever a description holds, it cannot break a header or a client's parser.
pub fn error_description(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
        .collect();
    kept.trim().to_string()
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
        let e = OAuthError::login_required("帳號 \"quoted\" \\ not logged in");
        let url = client_redirect("https://idp.example/s", &r, Err(&e));
        let got = pairs(&url);
        assert!(got.contains(&("error".into(), "login_required".into())));
        assert!(got.contains(&("error_description".into(), "quoted  not logged in".into())));
        assert!(!got.iter().any(|(k, _)| k == "state" || k == "code"));
    }
}
