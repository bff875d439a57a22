//! The forms the login pages and their script post, one typed struct per endpoint. A field
//! left out reads as empty (the domain refuses an empty value with its own code); a field
//! sent twice is refused by the form parser.

use serde::Deserialize;

/// `POST /login`: the password form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordLogin {
    pub req: String,
    pub csrf: String,
    pub username: String,
    pub password: String,
}

/// `POST /login/password`: the change step of a login.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PasswordChange {
    pub req: String,
    pub csrf: String,
    pub new_password: String,
    pub new_password_again: String,
}

/// `POST /account/password`: 變更密碼 on the account page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OwnPasswordChange {
    pub csrf: String,
    pub current_password: String,
    pub new_password: String,
    pub new_password_again: String,
}

/// `POST /password-reset`: 忘記密碼 with a GM's reset code.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeReset {
    pub csrf: String,
    pub username: String,
    pub code: String,
    pub new_password: String,
    pub new_password_again: String,
}

/// `GET /account?password=…`: what the account page's password form did.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AccountPage {
    pub password: Option<String>,
}

/// `GET /login?req=…`: the pending request to show again.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginPage {
    pub req: String,
}

/// `POST /login/card/challenge` and `POST /login/methods`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginStep {
    pub req: String,
    pub csrf: String,
    pub username: String,
}

/// The card's answer as the page forwards it from the local signing service.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CardAnswer {
    pub csrf: String,
    pub challenge: String,
    /// Base64 PKCS#7 SignedData.
    pub signature: String,
    /// The certificate, when the service returned it.
    pub certb64: String,
}

/// `POST /login/card`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CardLogin {
    pub req: String,
    pub username: String,
    #[serde(flatten)]
    pub card: CardAnswer,
}

/// `POST /account/card`: 註冊自然人憑證.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CardRegistration {
    pub enrollment_code: Option<String>,
    #[serde(flatten)]
    pub card: CardAnswer,
}

/// A form that carries only the CSRF token (challenges, removals).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfOnly {
    pub csrf: String,
}

/// `POST /diagnostics/check`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DiagnosticsCheck {
    pub csrf: String,
    pub certb64: String,
}
