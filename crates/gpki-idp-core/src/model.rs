//! What is stored about schools, users, clients, keys and refresh tokens.

use serde::{Deserialize, Serialize};

/// A school: one tenant, one issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct School {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub disabled: bool,
    /// The district tenant: its admins are district operators (scope `district`).
    pub district: bool,
    /// How its pages look (filled where pages are shown; the default elsewhere).
    #[serde(default)]
    pub branding: Branding,
}

/// How a school's pages look: its colour and whether it has a logo (the logo's bytes are
/// read only when the logo itself is asked for).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branding {
    /// `#rrggbb`, dark enough for white text (checked when set).
    pub colour: Option<String>,
    /// `image/png` or `image/jpeg` when a logo is set.
    pub logo_type: Option<String>,
    /// When it last changed (Unix seconds): the logo's cache-busting version.
    pub updated_at: i64,
}

/// A person's account at one school.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub school_id: i64,
    pub username: String,
    /// The stable `sub` of ID tokens: random, never derived from a certificate or a name.
    pub subject: String,
    pub display_name: String,
    /// argon2id PHC string; `None` for accounts without a password.
    pub password_hash: Option<String>,
    /// Roles (身份): teacher, staff, student, parent, admin, or a school's own.
    pub roles: Vec<String>,
    pub disabled: bool,
    /// The password was set by someone else (the GM, the operator, onboarding; an import sets
    /// no passwords):
    /// the next password login changes it before any code is issued.
    #[serde(default)]
    pub password_must_change: bool,
    /// When the password was last set (Unix seconds); `None` before this was recorded.
    #[serde(default)]
    pub password_changed_at: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub school_id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub roles: Vec<String>,
    /// The password is temporary (set by someone else): changed at the next password login.
    pub password_must_change: bool,
}

/// A school to create with its keys and first accounts: what the store writes, all schools
/// of an onboarding list in one transaction.
#[derive(Clone, Debug)]
pub struct NewSchool {
    pub code: String,
    pub name: String,
    /// The district tenant (only the operator creates one).
    pub district: bool,
    pub keys: Vec<KeyRecord>,
    /// Accounts to create in it (`school_id` is set by the store).
    pub users: Vec<NewUser>,
}

/// An OIDC relying party of one school (the school portal, a service).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: i64,
    pub school_id: i64,
    pub client_id: String,
    pub name: String,
    /// argon2id hash of the secret; `None` for public clients and private_key_jwt clients.
    pub secret_hash: Option<String>,
    pub public_client: bool,
    /// Require PKCE even though the client is confidential.
    pub require_pkce: bool,
    /// Registered redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    pub grant_types: Vec<String>,
    /// `RS256` (default) or `ES256`.
    pub id_token_alg: String,
    /// Public JWKS for private_key_jwt client authentication.
    pub jwks: Option<String>,
    /// Scopes the client may be given (`admin` scopes only when a GM granted them).
    pub allowed_scopes: Vec<String>,
    /// acr values asked for when an authorization request names none.
    pub default_acr_values: Vec<String>,
    /// The lowest acr this client accepts, enforced at login and at token issuance.
    pub min_acr: Option<String>,
    /// How long a rotated-out refresh token may fetch its unused successor again (a lost
    /// answer retried), in seconds: `None` the service's `refresh_reuse_grace_secs`, `Some(0)`
    /// none. Public clients never get a window.
    pub refresh_reuse_grace_secs: Option<i64>,
    /// Where the client is told of a session's end (Back-Channel Logout 1.0).
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in its logout tokens (and ID tokens).
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
}

/// Scopes a client gets unless told otherwise.
pub fn default_scopes() -> Vec<String> {
    ["openid", "profile", "offline_access"]
        .map(str::to_string)
        .to_vec()
}

#[derive(Clone, Debug)]
pub struct NewClient {
    pub school_id: i64,
    pub client_id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub public_client: bool,
    pub require_pkce: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub id_token_alg: String,
    pub jwks: Option<String>,
    pub allowed_scopes: Vec<String>,
    pub default_acr_values: Vec<String>,
    pub min_acr: Option<String>,
    pub refresh_reuse_grace_secs: Option<i64>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
}

impl From<Client> for NewClient {
    fn from(c: Client) -> Self {
        NewClient {
            school_id: c.school_id,
            client_id: c.client_id,
            name: c.name,
            secret_hash: c.secret_hash,
            public_client: c.public_client,
            require_pkce: c.require_pkce,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            grant_types: c.grant_types,
            id_token_alg: c.id_token_alg,
            jwks: c.jwks,
            allowed_scopes: c.allowed_scopes,
            default_acr_values: c.default_acr_values,
            min_acr: c.min_acr,
            refresh_reuse_grace_secs: c.refresh_reuse_grace_secs,
            backchannel_logout_uri: c.backchannel_logout_uri,
            backchannel_logout_session_required: c.backchannel_logout_session_required,
        }
    }
}

/// A stored signing key of a school.
#[derive(Clone, Debug)]
pub struct KeyRecord {
    pub kid: String,
    pub alg: String,
    pub private_pkcs8: Vec<u8>,
    pub created_at: i64,
    /// When it stopped signing; it stays published while tokens it signed may live.
    pub retired_at: Option<i64>,
}

/// A refresh token as stored (by hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRecord {
    pub token_hash: String,
    /// All tokens rotated from one code share a family; reuse revokes the family.
    pub family_id: String,
    pub school_id: i64,
    pub client_id: String,
    pub user_id: i64,
    pub scope: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used: bool,
    pub revoked: bool,
    /// The browser session the family was issued in; ending it ends the family.
    pub session_id: Option<String>,
}

/// What became of a rotation (see [`crate::store::Directory::rotate_refresh`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token was unused: it is used now, and its successor stored.
    Rotated,
    /// The presented token was used, but its successor is unused and was made within the
    /// client's grace window: the same successor is the answer again (a lost answer retried).
    Again,
    /// The presented token came back when nothing allows it: a replay. Its whole family is
    /// revoked, in the same transaction.
    Replayed,
}

/// A browser session as listed for admins (the live state is in the short-lived store).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// SHA-256 of the session cookie, hex.
    pub id: String,
    pub school_id: i64,
    pub user_id: i64,
    pub username: String,
    pub acr: String,
    pub amr: Vec<String>,
    pub auth_time: i64,
    pub expires_at: i64,
    /// Ended (by a logout, the person, an admin, the account disabled, its card unbound).
    #[serde(default)]
    pub revoked: bool,
    /// The address and browser the login came from.
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    /// SHA-256 (hex) of the certificate that opened or stepped up the session.
    #[serde(default)]
    pub cert_sha256: Option<String>,
    /// The clients (portals) that got a token in the session.
    #[serde(default)]
    pub clients: Vec<String>,
}

/// A logout token to deliver (OpenID Connect Back-Channel Logout 1.0): one client told of
/// one session's end. Queued in the transaction that ended the session; signed when sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutMessage {
    pub id: i64,
    pub school_id: i64,
    pub client_id: String,
    /// The client's `backchannel_logout_uri` when the session ended.
    pub uri: String,
    /// The ended session's id (the hash of its cookie; the token carries its public `sid`).
    pub session_id: String,
    /// The account's `sub`.
    pub subject: String,
    pub created_at: i64,
    /// Failed deliveries so far.
    pub attempts: i64,
}

/// The logout queue at a moment: how many tokens wait and since when the oldest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogoutQueue {
    pub pending: i64,
    pub oldest_created_at: Option<i64>,
}

/// A one-time enrollment code as listed (never the code itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentCodeInfo {
    pub id: i64,
    pub username: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used: bool,
}

/// A change to an account; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub roles: Option<Vec<String>>,
    pub disabled: Option<bool>,
    /// `Some(None)` removes the password. A password set here is set by someone else (the
    /// GM, the operator, an import): the store marks it temporary, to be changed at the next
    /// password login. The holder's own change is `Directory::set_own_password`.
    pub password_hash: Option<Option<String>>,
}

/// A citizen certificate bound to an account (註冊自然人憑證). Logins match by fingerprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertBinding {
    pub id: i64,
    pub school_id: i64,
    pub user_id: i64,
    /// SHA-256 of the certificate DER, hex.
    pub cert_sha256: String,
    pub serial_hex: String,
    pub issuer_dn: String,
    pub subject_cn: String,
    /// RFC 3339.
    pub not_after: String,
}

/// A card registration as the store writes it, in one transaction: the one-time enrollment
/// code it uses up (when the school requires one), then the binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRegistration {
    /// The binding to store; one with an `id` is stored already (the card was registered to
    /// this account before) and only the code is used.
    pub binding: CertBinding,
    /// SHA-256 (hex) of the enrollment code to use up, valid at `at`.
    pub enrollment_code: Option<String>,
    /// Unix seconds.
    pub at: i64,
}

/// A school's own password policy: each rule it sets, the district's where it sets none
/// (`password_policy`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchoolPasswordPolicy {
    pub min_length: Option<u32>,
    pub min_score: Option<u8>,
    pub history: Option<u32>,
    pub min_age_days: Option<u32>,
    pub max_age_days: Option<u32>,
}
