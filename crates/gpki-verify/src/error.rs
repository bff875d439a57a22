//! The one error type of the certificate engine.
//!
//! Every variant has a stable snake_case [`Error::code`] (used in API responses, audit events
//! and metrics: never rename one) and a user-facing message in zh-TW and English.

use std::fmt;

/// Where a revocation status came from, or was looked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RevocationSource {
    /// An OCSP responder (RFC 6960).
    Ocsp,
    /// A certificate revocation list (RFC 5280).
    Crl,
}

impl fmt::Display for RevocationSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ocsp => "ocsp",
            Self::Crl => "crl",
        })
    }
}

/// Why one revocation source could not give a usable status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFailure {
    /// The source that failed.
    pub source: RevocationSource,
    /// Stable code of the failure, e.g. `ocsp_bad_signature`, `crl_expired`, `fetch_timeout`.
    pub code: &'static str,
    /// Operator-facing detail (URL, times); never shown to end users.
    pub detail: String,
}

impl fmt::Display for SourceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.source, self.code, self.detail)
    }
}

/// Everything that can make a card signature or certificate unacceptable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The signature is not decodable: bad base64, garbage or truncated DER, not a CMS
    /// SignedData, or a structure that breaks the CMS grammar.
    #[error("malformed signature: {0}")]
    MalformedSignature(String),
    /// A certificate (signer, trust anchor or intermediate) cannot be parsed.
    #[error("malformed certificate: {0}")]
    MalformedCertificate(String),
    /// The SignedData carries zero or more than one SignerInfo; exactly one is accepted.
    #[error("expected exactly one signer, found {0}")]
    SignerCount(usize),
    /// The signer's certificate is neither embedded in the signature nor given separately.
    #[error("signer certificate not found")]
    SignerCertificateMissing,
    /// The cryptographic signature does not verify, or the signed messageDigest does not
    /// match the content.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// The signed content is not the challenge this server issued.
    #[error("signed content is not the issued challenge")]
    ContentMismatch,
    /// The signature is detached and no content was supplied to check it against.
    #[error("detached signature without content")]
    ContentMissing,
    /// A digest or signature algorithm that is unknown or refused (SHA-1 by default).
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The certificate's notAfter is before the verification time.
    #[error("certificate expired")]
    CertExpired,
    /// The certificate's notBefore is after the verification time.
    #[error("certificate not yet valid")]
    CertNotYetValid,
    /// No path to a configured trust anchor through the configured intermediates.
    #[error("certificate issuer is not trusted")]
    UnknownIssuer,
    /// A CA certificate was presented as the signer's certificate.
    #[error("a CA certificate cannot be used as a signer certificate")]
    CaUsedAsLeaf,
    /// The keyUsage extension is absent or lacks digitalSignature.
    #[error("certificate key usage does not allow digital signatures")]
    WrongKeyUsage,
    /// An extendedKeyUsage extension is present but lacks clientAuth.
    #[error("certificate extended key usage does not allow client authentication")]
    WrongExtendedKeyUsage,
    /// The certificate's policies are not in the allow list, or one is in the deny list.
    #[error("certificate policy not allowed: {0}")]
    PolicyNotAllowed(String),
    /// Path validation failed for another reason (bad CA signature, path length, critical
    /// extension, name constraints...).
    #[error("certificate path invalid: {0}")]
    InvalidPath(String),
    /// The certificate is revoked.
    #[error("certificate revoked (found by {by})")]
    CertRevoked {
        /// Where the revocation was found.
        by: RevocationSource,
    },
    /// The OCSP responder answered `unknown` for the certificate; treated as not good.
    #[error("certificate status unknown to the OCSP responder")]
    CertStatusUnknown,
    /// No revocation status could be had and the operator chose to refuse in that case.
    #[error("revocation status unavailable: {}", join(.0))]
    RevocationUnavailable(Vec<SourceFailure>),
    /// The engine's own configuration is unusable (no trust anchor, unreadable file...).
    #[error("configuration error: {0}")]
    Config(String),
}

fn join(failures: &[SourceFailure]) -> String {
    let parts: Vec<String> = failures.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

impl Error {
    /// Stable snake_case code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedSignature(_) => "malformed_signature",
            Self::MalformedCertificate(_) => "malformed_certificate",
            Self::SignerCount(_) => "signer_count",
            Self::SignerCertificateMissing => "signer_cert_missing",
            Self::BadSignature(_) => "bad_signature",
            Self::ContentMismatch => "content_mismatch",
            Self::ContentMissing => "content_missing",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::CertExpired => "cert_expired",
            Self::CertNotYetValid => "cert_not_yet_valid",
            Self::UnknownIssuer => "unknown_issuer",
            Self::CaUsedAsLeaf => "ca_used_as_leaf",
            Self::WrongKeyUsage => "wrong_key_usage",
            Self::WrongExtendedKeyUsage => "wrong_extended_key_usage",
            Self::PolicyNotAllowed(_) => "policy_not_allowed",
            Self::InvalidPath(_) => "invalid_path",
            Self::CertRevoked { .. } => "cert_revoked",
            Self::CertStatusUnknown => "cert_status_unknown",
            Self::RevocationUnavailable(_) => "revocation_unavailable",
            Self::Config(_) => "invalid_configuration",
        }
    }

    /// Message for the card holder, in Traditional Chinese (zh-TW).
    pub fn message_zh(&self) -> &'static str {
        match self {
            Self::MalformedSignature(_) => "簽章資料格式錯誤，請重新操作一次。",
            Self::MalformedCertificate(_) => "憑證格式錯誤，無法讀取。",
            Self::SignerCount(_) => "簽章資料必須只有一位簽署者。",
            Self::SignerCertificateMissing => "簽章資料中找不到簽署憑證。",
            Self::BadSignature(_) => "簽章驗證失敗，請重新操作一次。",
            Self::ContentMismatch => "簽章內容與本次登入的挑戰值不符，請重新整理頁面後再試。",
            Self::ContentMissing => "缺少被簽署的內容，無法驗證簽章。",
            Self::UnsupportedAlgorithm(_) => "不支援的簽章或雜湊演算法。",
            Self::CertExpired => "憑證已過期，請至戶政事務所辦理自然人憑證展期或重新申請。",
            Self::CertNotYetValid => "憑證尚未生效，請確認電腦時間是否正確。",
            Self::UnknownIssuer => "此憑證不是由信任的憑證機構（內政部憑證管理中心）所簽發。",
            Self::CaUsedAsLeaf => "這是憑證機構的憑證，不能用來登入。",
            Self::WrongKeyUsage => "此憑證不是簽章用憑證，請使用自然人憑證的簽章憑證。",
            Self::WrongExtendedKeyUsage => "此憑證的用途不允許用於身分驗證。",
            Self::PolicyNotAllowed(_) => "此憑證的憑證政策不被本系統接受。",
            Self::InvalidPath(_) => "無法驗證憑證的信任路徑。",
            Self::CertRevoked { .. } => "憑證已被廢止，請至戶政事務所辦理。",
            Self::CertStatusUnknown => "憑證狀態查詢（OCSP）回覆狀態不明，無法確認憑證有效。",
            Self::RevocationUnavailable(_) => {
                "目前無法查詢憑證狀態（OCSP／憑證廢止清冊），請稍後再試。"
            }
            Self::Config(_) => "系統設定錯誤，請聯絡系統管理者。",
        }
    }

    /// Message for the card holder, in English.
    pub fn message_en(&self) -> &'static str {
        match self {
            Self::MalformedSignature(_) => "The signature data is malformed. Please try again.",
            Self::MalformedCertificate(_) => "The certificate is malformed and cannot be read.",
            Self::SignerCount(_) => "The signature must have exactly one signer.",
            Self::SignerCertificateMissing => "The signer's certificate was not found in the signature.",
            Self::BadSignature(_) => "The signature does not verify. Please try again.",
            Self::ContentMismatch => "The signed content is not this login's challenge. Reload the page and try again.",
            Self::ContentMissing => "The signed content is missing; the signature cannot be checked.",
            Self::UnsupportedAlgorithm(_) => "Unsupported signature or digest algorithm.",
            Self::CertExpired => "The certificate has expired. Renew the citizen certificate at a household registration office.",
            Self::CertNotYetValid => "The certificate is not valid yet. Check the computer's clock.",
            Self::UnknownIssuer => "The certificate was not issued by a trusted authority (MOICA).",
            Self::CaUsedAsLeaf => "This is a certificate authority's certificate; it cannot be used to log in.",
            Self::WrongKeyUsage => "This certificate is not a signing certificate. Use the card's signing certificate.",
            Self::WrongExtendedKeyUsage => "This certificate's extended key usage does not allow authentication.",
            Self::PolicyNotAllowed(_) => "This certificate's policy is not accepted here.",
            Self::InvalidPath(_) => "The certificate's trust path cannot be validated.",
            Self::CertRevoked { .. } => "The certificate has been revoked. Please visit a household registration office.",
            Self::CertStatusUnknown => "The OCSP responder does not know this certificate; its status cannot be confirmed.",
            Self::RevocationUnavailable(_) => "The certificate status (OCSP / CRL) cannot be checked right now. Please try again later.",
            Self::Config(_) => "The system is misconfigured. Please contact the administrator.",
        }
    }
}
