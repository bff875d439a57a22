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
