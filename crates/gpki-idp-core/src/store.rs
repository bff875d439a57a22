//! The storage traits: persistent records ([`Directory`], diesel on PostgreSQL or SQLite) and
//! short-lived state ([`Ephemeral`], Redis or in-process).

use std::time::Duration;

use async_trait::async_trait;

use crate::model::{
    CertBinding, Client, KeyRecord, NewClient, NewUser, RefreshRecord, School, User,
};

/// Why storage failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StoreError {
    /// The database or Redis cannot be reached.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was broken (e.g. the username exists).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("storage error: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Persistent records, always scoped by school.
#[async_trait]
pub trait Directory: Send + Sync {
    async fn ping(&self) -> StoreResult<()>;
    async fn school_by_code(&self, code: &str) -> StoreResult<Option<School>>;
    async fn create_school(&self, code: &str, name: &str) -> StoreResult<School>;
    async fn user_by_username(&self, school_id: i64, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, school_id: i64, id: i64) -> StoreResult<Option<User>>;
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn client(&self, school_id: i64, client_id: &str) -> StoreResult<Option<Client>>;
    async fn create_client(&self, client: NewClient) -> StoreResult<Client>;
    /// All keys of a school, newest first.
    async fn signing_keys(&self, school_id: i64) -> StoreResult<Vec<KeyRecord>>;
    async fn add_signing_key(&self, school_id: i64, key: KeyRecord) -> StoreResult<()>;
    /// Marks every active `alg` key of the school but `keep_kid` as retired at `at`.
    async fn retire_keys_except(
        &self,
        school_id: i64,
        alg: &str,
        keep_kid: &str,
        at: i64,
    ) -> StoreResult<()>;
    async fn insert_refresh(&self, record: RefreshRecord) -> StoreResult<()>;
    /// Marks a refresh token used and returns it as it was before: `used == true` in the
    /// result means it had been used already (a replay).
    async fn take_refresh(
        &self,
        school_id: i64,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshRecord>>;
    async fn refresh_by_hash(
        &self,
        school_id: i64,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshRecord>>;
    async fn revoke_refresh_family(&self, school_id: i64, family_id: &str) -> StoreResult<()>;
    /// Binds a certificate (`id` is ignored); a certificate binds to one account per school.
    async fn add_binding(&self, binding: CertBinding) -> StoreResult<CertBinding>;
    async fn bindings_of(&self, school_id: i64, user_id: i64) -> StoreResult<Vec<CertBinding>>;
    async fn binding_by_cert(
        &self,
        school_id: i64,
        cert_sha256: &str,
    ) -> StoreResult<Option<CertBinding>>;
    /// The school's login policy, one entry per role that has one.
    async fn login_policy(&self, school_id: i64) -> StoreResult<Vec<crate::policy::RolePolicy>>;
    /// Sets the allowed methods of a role (replacing what was there).
    async fn set_role_policy(
        &self,
        school_id: i64,
        policy: crate::policy::RolePolicy,
    ) -> StoreResult<()>;
    async fn registration_rules(
        &self,
        school_id: i64,
    ) -> StoreResult<crate::policy::RegistrationRules>;
    async fn set_registration_rules(
        &self,
        school_id: i64,
        rules: crate::policy::RegistrationRules,
    ) -> StoreResult<()>;
    /// Stores a one-time enrollment code (by hash) for a user.
    async fn add_enrollment_code(
        &self,
        school_id: i64,
        user_id: i64,
        code_hash: &str,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// Uses an enrollment code of this user once: true when it was valid and unused.
    async fn use_enrollment_code(
        &self,
        school_id: i64,
        user_id: i64,
        code_hash: &str,
        now: i64,
    ) -> StoreResult<bool>;
    /// Appends an audit event (never updated or deleted).
    async fn append_audit(&self, event: crate::audit::AuditEvent) -> StoreResult<()>;
    /// Audit events of a school at or after `since`, oldest first, at most `limit`.
    async fn audit_events(
        &self,
        school_id: i64,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<crate::audit::AuditEvent>>;
    /// Removes a binding of this user; returns whether one was removed.
    async fn remove_binding(&self, school_id: i64, user_id: i64, id: i64) -> StoreResult<bool>;
}

/// Short-lived state with expiry: authorization requests, codes, challenges, sessions,
/// access tokens, rate-limit counters. Keys are namespaced by the caller.
#[async_trait]
pub trait Ephemeral: Send + Sync {
    async fn ping(&self) -> StoreResult<()>;
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()>;
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Reads and deletes in one step: a value taken once cannot be taken again.
    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    async fn delete(&self, key: &str) -> StoreResult<()>;
    /// Increments a counter that expires `ttl` after its first increment. `get` reads it
    /// back as decimal text.
    async fn incr(&self, key: &str, ttl: Duration) -> StoreResult<u64>;
}
