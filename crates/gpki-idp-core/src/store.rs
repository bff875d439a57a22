//! The storage traits: persistent records ([`Directory`], diesel on PostgreSQL or SQLite) and
//! short-lived state ([`Ephemeral`], Redis or in-process).

use std::time::Duration;

use async_trait::async_trait;

use crate::audit::{AuditEvent, AuditFilter};
use crate::model::{
    Branding, CertBinding, Client, EnrollmentCodeInfo, KeyRecord, NewClient, NewUser,
    RefreshRecord, School, SessionRecord, User, UserChange,
};
use crate::policy::RolePolicy;

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
    /// Creates schools with their signing keys and accounts in one transaction: all or none
    /// (a code that exists already is a `Conflict` and nothing is written).
    async fn create_schools(
        &self,
        schools: Vec<crate::model::NewSchool>,
    ) -> StoreResult<Vec<School>>;
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
    /// Marks `old_hash` used and stores its successor, in one transaction; false (and nothing
    /// written) when `old_hash` was used already or is gone.
    async fn rotate_refresh(
        &self,
        school_id: i64,
        old_hash: &str,
        new: RefreshRecord,
    ) -> StoreResult<bool>;
    async fn refresh_by_hash(
        &self,
        school_id: i64,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshRecord>>;
    async fn revoke_refresh_family(&self, school_id: i64, family_id: &str) -> StoreResult<()>;
    /// Binds a certificate (`id` is ignored); a certificate binds to one account per school.
    async fn add_binding(&self, binding: CertBinding) -> StoreResult<CertBinding>;
    async fn bindings_of(&self, school_id: i64, user_id: i64) -> StoreResult<Vec<CertBinding>>;
    /// The account `username` of the school, if the certificate with this SHA-256 is bound
    /// to it: what a card login needs, in one read.
    async fn user_bound_to_cert(
        &self,
        school_id: i64,
        username: &str,
        cert_sha256: &str,
    ) -> StoreResult<Option<User>>;
    async fn binding_by_cert(
        &self,
        school_id: i64,
        cert_sha256: &str,
    ) -> StoreResult<Option<CertBinding>>;
    /// The school's login policy, one entry per role that has one.
    async fn login_policy(&self, school_id: i64) -> StoreResult<Vec<RolePolicy>>;
    /// Sets the allowed methods of a role (replacing what was there).
    async fn set_role_policy(&self, school_id: i64, policy: RolePolicy) -> StoreResult<()>;
    async fn registration_rules(
        &self,
        school_id: i64,
    ) -> StoreResult<crate::policy::RegistrationRules>;
    async fn set_registration_rules(
        &self,
        school_id: i64,
        rules: crate::policy::RegistrationRules,
    ) -> StoreResult<()>;
    /// Stores a one-time enrollment code (by hash) for a user; returns its id.
    async fn add_enrollment_code(
        &self,
        school_id: i64,
        user_id: i64,
        code_hash: &str,
        expires_at: i64,
    ) -> StoreResult<i64>;
    /// Uses an enrollment code of this user once: true when it was valid and unused.
    async fn use_enrollment_code(
        &self,
        school_id: i64,
        user_id: i64,
        code_hash: &str,
        now: i64,
    ) -> StoreResult<bool>;
    /// Appends an audit event (never updated or deleted).
    async fn append_audit(&self, event: AuditEvent) -> StoreResult<()>;
    /// Audit events of a school at or after `since`, oldest first, at most `limit`.
    async fn audit_events(
        &self,
        school_id: i64,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// Removes a binding of this user; returns whether one was removed.
    async fn remove_binding(&self, school_id: i64, user_id: i64, id: i64) -> StoreResult<bool>;

    // ---- what the admin API reads and changes; lists are ordered by id, after a cursor ----

    async fn school_by_id(&self, id: i64) -> StoreResult<Option<School>>;
    async fn list_schools(&self, after_id: i64, limit: i64) -> StoreResult<Vec<School>>;
    /// Renames, disables or marks as district a school; returns it as it is now.
    async fn update_school(
        &self,
        id: i64,
        name: Option<String>,
        disabled: Option<bool>,
        district: Option<bool>,
    ) -> StoreResult<Option<School>>;
    /// Users whose username or display name contains `q` (when given).
    async fn list_users(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
        q: Option<String>,
    ) -> StoreResult<Vec<User>>;
    async fn update_user(
        &self,
        school_id: i64,
        id: i64,
        change: UserChange,
    ) -> StoreResult<Option<User>>;
    async fn users_by_usernames(
        &self,
        school_id: i64,
        usernames: Vec<String>,
    ) -> StoreResult<Vec<User>>;
    /// Creates and changes accounts in one transaction: all or nothing.
    async fn import_users(
        &self,
        creates: Vec<NewUser>,
        updates: Vec<(i64, UserChange)>,
    ) -> StoreResult<()>;
    /// How many certificates each of these users has registered.
    async fn binding_counts(
        &self,
        school_id: i64,
        user_ids: Vec<i64>,
    ) -> StoreResult<Vec<(i64, i64)>>;
    /// The roles of every account of the school (for role usage counts).
    async fn user_roles(&self, school_id: i64) -> StoreResult<Vec<Vec<String>>>;
    async fn custom_roles(&self, school_id: i64) -> StoreResult<Vec<String>>;
    /// Adds a school's own role; false when it existed.
    async fn add_role(&self, school_id: i64, role: &str) -> StoreResult<bool>;
    async fn remove_role(&self, school_id: i64, role: &str) -> StoreResult<bool>;
    async fn list_bindings(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<CertBinding>>;
    /// Removes a binding whoever it belongs to; returns what was removed.
    async fn remove_binding_by_id(
        &self,
        school_id: i64,
        id: i64,
    ) -> StoreResult<Option<CertBinding>>;
    async fn list_enrollment_codes(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<EnrollmentCodeInfo>>;
    async fn revoke_enrollment_code(&self, school_id: i64, id: i64) -> StoreResult<bool>;
    async fn list_clients(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<Client>>;
    /// Replaces a client's settings (found by school and client_id).
    async fn update_client(&self, client: Client) -> StoreResult<bool>;
    async fn delete_client(&self, school_id: i64, client_id: &str) -> StoreResult<bool>;
    /// Replaces the whole login policy of a school in one transaction.
    async fn replace_policy(&self, school_id: i64, policy: Vec<RolePolicy>) -> StoreResult<()>;
    async fn add_session(&self, session: SessionRecord) -> StoreResult<()>;
    /// Live sessions (not revoked, not expired at `now`), after the id `after`.
    async fn list_sessions(
        &self,
        school_id: i64,
        user_id: Option<i64>,
        after: String,
        limit: i64,
        now: i64,
    ) -> StoreResult<Vec<SessionRecord>>;
    /// Marks a session revoked and revokes the refresh tokens issued in it.
    async fn revoke_session(&self, school_id: i64, id: &str) -> StoreResult<Option<SessionRecord>>;
    /// The school's branding (the default when none was set).
    async fn branding(&self, school_id: i64) -> StoreResult<Branding>;
    /// The school's logo: its content type and bytes.
    async fn logo(&self, school_id: i64) -> StoreResult<Option<(String, Vec<u8>)>>;
    /// Sets the colour (`None` removes it); the logo stays.
    async fn set_brand_colour(&self, school_id: i64, colour: Option<String>) -> StoreResult<()>;
    /// Sets the logo (`None` removes it); the colour stays.
    async fn set_logo(&self, school_id: i64, logo: Option<(String, Vec<u8>)>) -> StoreResult<()>;
    /// Deletes up to `limit` audit events older than `before` (Unix seconds), oldest first;
    /// how many were deleted (the retention of the audit log).
    async fn prune_audit(&self, before: i64, limit: i64) -> StoreResult<u64>;
    /// The service's secret `name` (the key of device cookies): the stored one, or `fresh`
    /// stored now when there is none yet; every replica reads the same.
    async fn secret(&self, name: &str, fresh: Vec<u8>) -> StoreResult<Vec<u8>>;
    /// Audit events matching `filter`, oldest first, with their ids.
    async fn query_audit(
        &self,
        school_id: i64,
        filter: AuditFilter,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, AuditEvent)>>;
}

/// One scope of a throttled attempt (see [`Ephemeral::reserve_attempt`]): a count of
/// failures at `key` over `window`, and the wait they earn past `free` of them, doubling from
/// `base` up to `cap`, kept at `{key}:until` (Unix milliseconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptScope {
    pub key: String,
    pub free: u64,
    pub base: Duration,
    pub cap: Duration,
    pub window: Duration,
}

impl AttemptScope {
    /// The wait after the `failures`-th failure of this scope.
    pub fn delay_after(&self, failures: u64) -> Duration {
        if failures < self.free {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free).min(30) as u32;
        self.base.saturating_mul(1u32 << doublings).min(self.cap)
    }

    pub fn until_key(&self) -> String {
        format!("{}:until", self.key)
    }
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
    /// Adds `by` to a counter that expires `ttl` after its first increment; returns the new
    /// value. `get` reads it back as decimal text.
    async fn incr_by(&self, key: &str, by: u64, ttl: Duration) -> StoreResult<u64>;
    /// Reserves one attempt in every scope at once, atomically. If any scope still waits,
    /// nothing is counted and the longest wait is returned. Else every scope counts the
    /// attempt as a failure, sets the wait that failure earns, and `ZERO` is returned: the
    /// attempt may go on, and only a right answer gives the reservation back (by deleting its
    /// scopes' keys). Concurrent attempts cannot all pass a check made before any of them is
    /// counted.
    async fn reserve_attempt(&self, scopes: &[AttemptScope]) -> StoreResult<Duration>;
    /// Gives back one reserved attempt in every scope, atomically: its count goes down by one,
    /// and a wait it set ends once the count is under the scope's allowance again (a right
    /// password must not make the next person at the same address wait).
    async fn release_attempt(&self, scopes: &[AttemptScope]) -> StoreResult<()>;
    /// Adds one to a counter (see [`Ephemeral::incr_by`]).
    async fn incr(&self, key: &str, ttl: Duration) -> StoreResult<u64> {
        self.incr_by(key, 1, ttl).await
    }
}
