//! Every stable error code of the identity provider, as one documented enum ([`Code`]), and
//! the bilingual catalogue of what people read: zh-TW first and English second, keyed by the
//! code ([`Code::message`]) or by what a login page says between steps ([`Notice`]). The
//! pages, the login API and the admin API all take their words from here, so one situation
//! reads the same everywhere. The HTTP edge alone chooses a code's status.

use crate::factor::Factor;

/// A refusal of the certificate engine: its own stable code and messages
/// (`gpki_verify::Error`), kept as they are so that API answers, audit events and metrics
/// name the engine's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CertificateRefusal {
    pub code: &'static str,
    pub message: Message,
}

impl From<&gpki_verify::Error> for CertificateRefusal {
    fn from(e: &gpki_verify::Error) -> Self {
        Self {
            code: e.code(),
            message: Message {
                zh: e.message_zh(),
                en: e.message_en(),
            },
        }
    }
}

/// Every stable error code. A code's string never changes once released: relying parties,
/// the pages' script, audit events and metrics read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    // ---- OAuth 2.0, bearer tokens and OIDC
    /// A parameter is missing, repeated, too long or malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// A code, refresh token or assertion is invalid, expired, used or not this client's.
    InvalidGrant,
    /// The client may not use this grant, response type or school.
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    /// A scope the client may not have.
    InvalidScope,
    /// The bearer token is invalid, expired or revoked.
    InvalidToken,
    /// The token lacks the scope the operation needs.
    InsufficientScope,
    /// The request is refused (also: a form that was not sent from our page).
    AccessDenied,
    /// `prompt=none` and no session answers the request.
    LoginRequired,
    /// `request` objects are not supported (OIDC Core §6).
    RequestNotSupported,
    /// `request_uri` is not supported (OIDC Core §6).
    RequestUriNotSupported,
    /// An internal failure; the detail is logged, never shown.
    ServerError,
    /// Storage is unreachable or slow: try again.
    TemporarilyUnavailable,

    // ---- HTTP and the admin API
    /// No such school, endpoint or resource (also: one the caller may not see).
    NotFound,
    /// The resource exists already, or the change conflicts with what is stored.
    Conflict,
    /// `If-Match` does not match the resource's entity tag.
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// The admin API route does not take this HTTP method.
    HttpMethodNotAllowed,
    /// Too many requests from this caller; try again later.
    TooManyRequests,
    /// A form's CSRF value does not match the browser's cookie.
    CsrfFailed,
    /// A trusted proxy received the request over plain http.
    HttpsRequired,

    // ---- logins and certificates
    /// Wrong account or password (the same for an unknown account).
    InvalidCredentials,
    /// Too many failures: the attempt waits.
    Throttled,
    /// The school's policy does not let the account's roles log in with this factor.
    LoginMethodNotAllowed(Factor),
    /// No allowed method reaches the level the client asks for.
    AcrUnreachable,
    /// The pending login request expired or was used.
    LoginExpired,
    /// No such challenge for this browser and purpose: expired, used or forged.
    ChallengeInvalid,
    /// The certificate is not registered to the account (or the account does not exist).
    CertificateNotRegistered,
    /// The certificate is registered to another account of the school.
    CertificateAlreadyRegistered,
    /// Certificate login is not configured on this server.
    CertificateLoginDisabled,
    /// Registration from outside the school's campus network.
    RegistrationOffCampus,
    /// The enrollment code is missing, invalid, used or expired.
    EnrollmentCodeInvalid,
    /// The card's holder is not the account's person, and no enrollment code was given.
    CardHolderMismatch,
    /// The session cookie is missing or ended: log in first.
    NotLoggedIn,
    /// A GM's page opened by an account that is not the school's administrator.
    NotSchoolAdmin,
    /// The certificate engine refused the signature or the certificate.
    Certificate(CertificateRefusal),

    // ---- passwords (the school's password policy)
    /// Shorter than the policy's minimum length.
    PasswordTooShort,
    /// Too easy to guess: a common password, or below the policy's strength score.
    PasswordTooWeak,
    /// The present password or one of the policy's last N.
    PasswordReused,
    /// Changed more recently than the policy's minimum age allows.
    PasswordTooNew,
    /// The new password and its repetition differ.
    PasswordMismatch,
    /// The present password given to change it is wrong.
    PasswordCurrentWrong,
    /// The password reset code is wrong, used, expired or not this account's.
    ResetCodeInvalid,
}

impl Code {
    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::AccessDenied => "access_denied",
            Self::LoginRequired => "login_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::PreconditionFailed => "precondition_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            // The same string as the login policy's refusal: a client tells them apart by
            // the endpoint (the admin API answers 405, a login 403).
            Self::HttpMethodNotAllowed => "method_not_allowed",
            Self::TooManyRequests => "too_many_requests",
            Self::CsrfFailed => "csrf_failed",
            Self::HttpsRequired => "https_required",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Throttled => "throttled",
            Self::LoginMethodNotAllowed(_) => "method_not_allowed",
            Self::AcrUnreachable => "acr_unreachable",
            Self::LoginExpired => "login_expired",
            Self::ChallengeInvalid => "challenge_invalid",
            Self::CertificateNotRegistered => "certificate_not_registered",
            Self::CertificateAlreadyRegistered => "certificate_already_registered",
            Self::CertificateLoginDisabled => "certificate_login_disabled",
            Self::RegistrationOffCampus => "registration_off_campus",
            Self::EnrollmentCodeInvalid => "enrollment_code_invalid",
            Self::CardHolderMismatch => "card_holder_mismatch",
            Self::NotLoggedIn => "login_required",
            Self::NotSchoolAdmin => "access_denied",
            Self::Certificate(c) => c.code,
            Self::PasswordTooShort => "password_too_short",
            Self::PasswordTooWeak => "password_too_weak",
            Self::PasswordReused => "password_reused",
            Self::PasswordTooNew => "password_too_new",
            Self::PasswordMismatch => "password_mismatch",
            Self::PasswordCurrentWrong => "password_current_wrong",
            Self::ResetCodeInvalid => "reset_code_invalid",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message in both languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Message {
    pub zh: &'static str,
    pub en: &'static str,
}

const fn m(zh: &'static str, en: &'static str) -> Message {
    Message { zh, en }
}

impl Code {
    /// What a person is told about this error.
    pub fn message(self) -> Message {
        match self {
            Self::InvalidRequest => m("請求的參數不正確，請回到校務系統重新登入。", "The request is not valid. Go back to the school portal and start again."),
            Self::InvalidClient => m("用戶端驗證失敗。", "Client authentication failed."),
            Self::InvalidGrant => m("授權碼或權杖無效、已使用或已過期。", "The code or token is invalid, used or expired."),
            Self::UnauthorizedClient => m("此用戶端未獲授權進行這項操作。", "This client is not authorised for this."),
            Self::UnsupportedGrantType => m("不支援這種授權方式。", "This grant type is not supported."),
            Self::UnsupportedResponseType => m("不支援這種回應方式。", "This response type is not supported."),
            Self::InvalidScope => m("要求的權限範圍無效。", "The requested scope is not valid."),
            Self::InvalidToken => m("存取權杖無效或已過期。", "The access token is invalid or expired."),
            Self::InsufficientScope => m("權杖的權限不足以進行這項操作。", "The token's scope does not allow this."),
            Self::AccessDenied => m("請求被拒絕。", "The request was refused."),
            Self::LoginRequired => m("請先登入。", "Please log in first."),
            Self::RequestNotSupported => m("不支援 request 參數。", "The request parameter is not supported."),
            Self::RequestUriNotSupported => m("不支援 request_uri 參數。", "The request_uri parameter is not supported."),
            Self::ServerError => m("系統發生錯誤，請稍後再試。", "Something went wrong. Please try again later."),
            Self::TemporarilyUnavailable => m("系統暫時無法處理，請稍後再試。", "The system cannot handle this right now. Please try again later."),
            Self::NotFound => m("找不到這個項目。", "Not found."),
            Self::Conflict => m("資料已存在或與現有資料衝突。", "It exists already or conflicts with what is stored."),
            Self::PreconditionFailed => m("資料在您讀取後已被修改，請重新整理後再試。", "It changed since it was read. Reload and try again."),
            Self::PayloadTooLarge => m("送出的資料太大。", "What was sent is too large."),
            Self::UnsupportedMediaType => m("送出的資料格式不支援。", "The content type is not supported."),
            Self::HttpMethodNotAllowed => m("不支援這個操作方式。", "This method is not allowed here."),
            Self::TooManyRequests => m("請求次數過多，請稍候再試。", "Too many requests. Wait a moment and try again."),
            Self::CsrfFailed => m("表單已失效，請重新整理頁面。", "The form expired. Reload the page."),
            Self::HttpsRequired => m("請改用 HTTPS 連線。", "This service is reached over https only."),
            Self::InvalidCredentials => m("帳號或密碼錯誤。", "Wrong account or password."),
            Self::Throttled => m("登入失敗次數過多，請稍候幾秒再試；若一直無法登入，請洽學校管理者。", "Too many failed attempts. Wait a few seconds and try again; if it goes on, ask the school administrator."),
            Self::LoginMethodNotAllowed(Factor::Password) => m("學校的資安設定不允許您的身份以密碼登入，請使用自然人憑證登入。", "Your school's security settings do not allow your role to log in with a password. Use your citizen certificate."),
            Self::LoginMethodNotAllowed(Factor::Card) => m("學校的資安設定不允許您的身份以自然人憑證登入。", "Your school's security settings do not allow your role to log in with a certificate."),
            Self::AcrUnreachable => m("學校的資安設定不允許您的身份以此系統要求的方式登入，請洽學校管理者。", "Your school's security settings do not let your role log in the way this service requires. Ask the school administrator."),
            Self::LoginExpired => m("這次登入已逾時或已完成，請回到校務系統重新登入。", "This login expired or was completed. Go back to the school portal and start again."),
            Self::ChallengeInvalid => m("本次登入的驗證碼已失效，請重新整理頁面後再試。", "This login's challenge has expired or was used. Reload the page and try again."),
            Self::CertificateNotRegistered => m("此帳號尚未註冊這張自然人憑證。請先以密碼登入，至「個人資料修改 → 自然人憑證管理」註冊。", "This certificate is not registered for this account. Log in with your password and register it under Personal settings → Citizen certificate."),
            Self::CertificateAlreadyRegistered => m("這張自然人憑證已註冊於本校的其他帳號。", "This certificate is already registered to another account of this school."),
            Self::CertificateLoginDisabled => m("本系統未啟用自然人憑證登入。", "Certificate login is not enabled on this server."),
            Self::RegistrationOffCampus => m("請於校內網路註冊自然人憑證。", "Register your citizen certificate from the school's network."),
            Self::EnrollmentCodeInvalid => m("註冊碼無效、已使用或已過期，請向學校管理者索取。", "The enrollment code is invalid, used or expired. Ask the school administrator for one."),
            Self::CardHolderMismatch => m("這張自然人憑證的持卡人姓名與您的帳號不符。若確實是您的卡片，請向學校管理者索取註冊碼後再註冊。", "The card holder's name does not match your account. If it is your card, ask the school administrator for an enrollment code and register with it."),
            Self::NotLoggedIn => m("請先登入校務系統。", "Log in to the school portal first."),
            Self::NotSchoolAdmin => m("只有學校管理者（GM）可以開啟這個頁面，請以學校 GM 帳號登入。", "Only the school's administrator (GM) can open this page. Log in with the school's GM account."),
            Self::Certificate(c) => c.message,
            Self::PasswordTooShort => m("新密碼太短，請依學校的密碼原則設定較長的密碼。", "The new password is too short for the school's password policy."),
            Self::PasswordTooWeak => m("新密碼太容易被猜到（常見密碼或強度不足），請改用較長、不易猜測的密碼。", "The new password is too easy to guess (a common password, or too weak). Use a longer one that is hard to guess."),
            Self::PasswordReused => m("不可使用目前或最近使用過的密碼，請設定新的密碼。", "You cannot use the present password or a recent one. Choose a new password."),
            Self::PasswordTooNew => m("密碼剛變更過，依學校的密碼原則須稍後才能再變更。", "The password was changed too recently; the school's password policy asks you to wait before changing it again."),
            Self::PasswordMismatch => m("兩次輸入的新密碼不一致。", "The two new passwords differ."),
            Self::PasswordCurrentWrong => m("目前的密碼不正確。", "The present password is wrong."),
            Self::ResetCodeInvalid => m("帳號或重設碼不正確，或重設碼已使用、已過期。請向學校管理者索取新的重設碼。", "The account or the reset code is wrong, or the code was used or has expired. Ask the school administrator for a new one."),
        }
    }
}

/// What a page says that is not an error: why a login asks for one more factor, and what
/// 環境檢測 found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The client asks for a citizen-certificate login (step-up).
    StepUpCard,
    /// The school's policy needs the card as well as the password.
    NeedCardToo,
    /// The school's policy needs the password as well as the card.
    NeedPasswordToo,
    /// 環境檢測: the card's certificate would do for a login.
    CertificateUsable,
    /// The password was set by someone else, or is too old: change it to finish the login.
    PasswordMustChange,
}

impl Notice {
    pub fn message(self) -> Message {
        match self {
            Self::StepUpCard => m("此系統要求以自然人憑證登入，請插入卡片並輸入 PIN 碼。", "This service asks for a citizen-certificate login. Insert your card and enter its PIN."),
            Self::NeedCardToo => m("學校的資安設定要求您同時使用密碼與自然人憑證，請再以自然人憑證完成登入。", "Your school's security settings require both the password and the citizen certificate. Finish with your card."),
            Self::CertificateUsable => m("憑證有效，可以用來登入。", "The certificate is valid and can be used to log in."),
            Self::PasswordMustChange => m("您的密碼是由他人設定的暫時密碼或已逾使用期限，請設定新密碼後繼續登入。", "Your password was set by someone else or has expired. Choose a new password to continue."),
            Self::NeedPasswordToo => m("學校的資安設定要求您同時使用密碼與自然人憑證，請再輸入密碼。", "Your school's security settings require both the password and the citizen certificate. Enter your password too."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_both_languages() {
        for code in [
            Code::InvalidRequest,
            Code::Throttled,
            Code::LoginExpired,
            Code::ChallengeInvalid,
            Code::PasswordTooShort,
            Code::PasswordTooWeak,
            Code::PasswordReused,
            Code::PasswordTooNew,
            Code::PasswordMismatch,
            Code::PasswordCurrentWrong,
            Code::ResetCodeInvalid,
        ] {
            let message = code.message();
            assert!(!message.zh.is_empty() && !message.en.is_empty(), "{code}");
            assert!(message.zh.chars().any(|c| c > '\u{2e80}'), "{code}: zh-TW");
        }
    }
}
