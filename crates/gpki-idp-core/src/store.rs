//! The persistent records' trait ([`Directory`], diesel on PostgreSQL or SQLite); short-lived
//! state is [`crate::ephemeral::Ephemeral`].

use async_trait::async_trait;

use crate::audit::{Audit, AuditEvent, AuditFilter};
use crate::model::SchoolPasswordPolicy;
use crate::model::{
    Branding, CertBinding, Client, EnrollmentCodeInfo, KeyRecord, LogoutMessage, LogoutQueue,
    NewClient, NewRegistration, NewSchool, NewUser, RefreshRecord, Rotation, School, SessionRecord,
    User, UserChange,
};
use crate::policy::{RegistrationRules, RolePolicy};

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
///
/// Every write that changes what an admin or the audit log must see takes the change's
/// [`Audit`] and appends its events in the same database transaction as the change: both are
/// stored, or neither (a change that cannot be audited does not happen). Once committed, the
/// store writes the events' log copies ([`AuditEvent::log`]). A write that changed nothing
/// (`false`, `None`) writes no event. [`Directory::append_audit`] alone is for events that
/// describe no stored change (a refused login).
#[async_trait]
pub trait Directory: Send + Sync {
    async fn ping(&self) -> StoreResult<()>;

    // ---- schools and their look ----

    async fn school_by_code(&self, code: &str) -> StoreResult<Option<School>>;
    async fn school_by_id(&self, id: i64) -> StoreResult<Option<School>>;
    async fn list_schools(&self, after_id: i64, limit: i64) -> StoreResult<Vec<School>>;
    /// Creates schools with their signing keys and accounts in one transaction: all or none
    /// (a code that exists already is a `Conflict` and nothing is written).
    async fn create_schools(
        &self,
        schools: Vec<NewSchool>,
        audit: Audit<Vec<School>>,
    ) -> StoreResult<Vec<School>>;
    /// Renames, disables or marks as district a school; returns it as it is now.
    async fn change_school(
        &self,
        id: i64,
        name: Option<String>,
        disabled: Option<bool>,
        district: Option<bool>,
        audit: Audit<School>,
    ) -> StoreResult<Option<School>>;
    /// The school's branding (the default when none was set).
    async fn branding(&self, school_id: i64) -> StoreResult<Branding>;
    /// The school's logo: its content type and bytes.
    async fn logo(&self, school_id: i64) -> StoreResult<Option<(String, Vec<u8>)>>;
    /// Sets the colour (`None` removes it); the logo stays. Returns the branding now.
    async fn set_brand_colour(
        &self,
        school_id: i64,
        colour: Option<String>,
        audit: Audit<Branding>,
    ) -> StoreResult<Branding>;
    /// Sets the logo (`None` removes it); the colour stays. Returns the branding now.
    async fn set_logo(
        &self,
        school_id: i64,
        logo: Option<(String, Vec<u8>)>,
        audit: Audit<Branding>,
    ) -> StoreResult<Branding>;

    // ---- accounts and roles ----

    async fn user_by_username(&self, school_id: i64, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, school_id: i64, id: i64) -> StoreResult<Option<User>>;
    /// Users whose username or display name contains `q` (when given).
    async fn list_users(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
        q: Option<String>,
    ) -> StoreResult<Vec<User>>;
    async fn users_by_usernames(
        &self,
        school_id: i64,
        usernames: Vec<String>,
    ) -> StoreResult<Vec<User>>;
    /// Creates an account, disabled from the start when `disabled`.
    async fn add_user(
        &self,
        user: NewUser,
        disabled: bool,
        audit: Audit<User>,
    ) -> StoreResult<User>;
    async fn update_user(
        &self,
        school_id: i64,
        id: i64,
        change: UserChange,
        audit: Audit<User>,
    ) -> StoreResult<Option<User>>;
    /// Creates and changes accounts in one transaction: all or nothing.
    async fn import_users(
        &self,
        creates: Vec<NewUser>,
        updates: Vec<(i64, UserChange)>,
        audit: Audit<()>,
    ) -> StoreResult<()>;
    /// Sets the password its holder chose (not temporary); the old one joins the history.
    async fn set_own_password(
        &self,
        school_id: i64,
        user_id: i64,
        hash: String,
        audit: Audit<User>,
    ) -> StoreResult<Option<User>>;
    /// The account's earlier password hashes, newest first, at most `limit`.
    async fn password_history(
        &self,
        school: i64,
        user: i64,
        limit: i64,
    ) -> StoreResult<Vec<String>>;
    /// The school's own password policy (setting nothing when it has none).
    async fn password_policy(&self, school_id: i64) -> StoreResult<SchoolPasswordPolicy>;
    async fn set_password_policy(
        &self,
        school_id: i64,
        policy: SchoolPasswordPolicy,
        audit: Audit<()>,
    ) -> StoreResult<()>;
    /// The roles of every account of the school (for role usage counts).
    async fn user_roles(&self, school_id: i64) -> StoreResult<Vec<Vec<String>>>;
    async fn custom_roles(&self, school_id: i64) -> StoreResult<Vec<String>>;
    /// Adds a school's own role; false when it existed.
    async fn add_role(&self, school_id: i64, role: &str, audit: Audit<()>) -> StoreResult<bool>;
    /// Removes a school's own role and its login policy; false when there was none.
    async fn remove_role(&self, school_id: i64, role: &str, audit: Audit<()>) -> StoreResult<bool>;

    // ---- certificate bindings and registration ----

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
    /// How many certificates each of these users has registered.
    async fn binding_counts(
        &self,
        school_id: i64,
        user_ids: Vec<i64>,
    ) -> StoreResult<Vec<(i64, i64)>>;
    async fn list_bindings(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<CertBinding>>;
    /// A card registration in one transaction: the enrollment code used up (when given) and
    /// the binding stored. `None`, and nothing written, when the code is not valid (used,
    /// expired, another account's); a certificate bound to another account meanwhile is a
    /// `Conflict`.
    async fn register_certificate(
        &self,
        registration: NewRegistration,
        audit: Audit<CertBinding>,
    ) -> StoreResult<Option<CertBinding>>;
    /// Removes a binding of this user; returns whether one was removed.
    async fn remove_binding(
        &self,
        school_id: i64,
        user_id: i64,
        id: i64,
        audit: Audit<()>,
    ) -> StoreResult<bool>;
    /// Removes a binding whoever it belongs to; returns what was removed and its owner's
    /// username.
    async fn remove_binding_by_id(
        &self,
        school_id: i64,
        id: i64,
        audit: Audit<(CertBinding, String)>,
    ) -> StoreResult<Option<(CertBinding, String)>>;

    // ---- clients and keys ----

    async fn client(&self, school_id: i64, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<Client>>;
    async fn add_client(&self, client: NewClient, audit: Audit<Client>) -> StoreResult<Client>;
    /// Replaces a client's settings (found by school and client_id).
    async fn change_client(&self, client: Client, audit: Audit<()>) -> StoreResult<bool>;
    /// Deletes a client and revokes its refresh tokens.
    async fn delete_client(
        &self,
        school_id: i64,
        client_id: &str,
        audit: Audit<()>,
    ) -> StoreResult<bool>;
    /// Replaces a client's stored secret hash when it is still `expected` (a secret rotated
    /// meanwhile is left alone); whether it was replaced (and then audited).
    async fn replace_client_secret_hash(
        &self,
        school_id: i64,
        client_id: &str,
        expected: &str,
        new: &str,
        audit: Audit<()>,
    ) -> StoreResult<bool>;
    /// All keys of a school, newest first.
    async fn signing_keys(&self, school_id: i64) -> StoreResult<Vec<KeyRecord>>;
    /// Adds keys; with `retire_others_at`, every other active key of their algorithms is
    /// retired at that time (a rotation).
    async fn add_signing_keys(
        &self,
        school_id: i64,
        keys: Vec<KeyRecord>,
        retire_others_at: Option<i64>,
        audit: Audit<()>,
    ) -> StoreResult<()>;

    // ---- refresh tokens (issued and rotated with tokens, not audited) ----

    async fn insert_refresh(&self, record: RefreshRecord) -> StoreResult<()>;
    /// Decides what the presentation of the refresh token `old_hash` is, in one transaction
    /// that holds its family against every other write of the family (replicas included):
    /// - unused and not revoked: it is marked used and `new` (its successor) stored —
    ///   [`Rotation::Rotated`];
    /// - else, when `grace_since` is given and the successor (`new.token_hash`) is stored,
    ///   unused, not revoked and was made at or after `grace_since`: nothing is written —
    ///   [`Rotation::Again`];
    /// - else the whole family (`new.family_id`) is revoked — [`Rotation::Replayed`].
    async fn rotate_refresh(
        &self,
        school_id: i64,
        old_hash: &str,
        new: RefreshRecord,
        grace_since: Option<i64>,
    ) -> StoreResult<Rotation>;
    async fn refresh_by_hash(
        &self,
        school_id: i64,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshRecord>>;
    /// Revokes every refresh token of the family, serialised with its rotations (a
    /// successor being stored meanwhile is revoked too).
    async fn revoke_refresh_family(&self, school_id: i64, family_id: &str) -> StoreResult<()>;

    // ---- login policy and registration rules ----

    /// The school's login policy, one entry per role that has one.
    async fn login_policy(&self, school_id: i64) -> StoreResult<Vec<RolePolicy>>;
    /// Replaces the whole login policy of a school.
    async fn set_login_policy(
        &self,
        school_id: i64,
        policy: Vec<RolePolicy>,
        audit: Audit<()>,
    ) -> StoreResult<()>;
    async fn registration_rules(&self, school_id: i64) -> StoreResult<RegistrationRules>;
    async fn set_registration(
        &self,
        school_id: i64,
        rules: RegistrationRules,
        audit: Audit<()>,
    ) -> StoreResult<()>;
    /// Stores a one-time enrollment code (by hash) for a user; returns its id.
    async fn add_enrollment_code(
        &self,
        school_id: i64,
        user_id: i64,
        code_hash: &str,
        expires_at: i64,
        audit: Audit<i64>,
    ) -> StoreResult<i64>;
    async fn list_enrollment_codes(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<EnrollmentCodeInfo>>;
    async fn revoke_enrollment_code(
        &self,
        school_id: i64,
        id: i64,
        audit: Audit<()>,
    ) -> StoreResult<bool>;

    // ---- browser sessions ----

    /// Records a browser session: the commit point of a login, with its audit event.
    async fn add_session(&self, session: SessionRecord, audit: Audit<()>) -> StoreResult<()>;
    /// The session `id` (revoked or not), as stored: what a login whose commit's outcome is
    /// unknown reads back.
    async fn session_by_id(&self, school_id: i64, id: &str) -> StoreResult<Option<SessionRecord>>;
    /// Live sessions (not revoked, not expired at `now`), after the id `after`.
    async fn list_sessions(
        &self,
        school_id: i64,
        user_id: Option<i64>,
        after: String,
        limit: i64,
        now: i64,
    ) -> StoreResult<Vec<SessionRecord>>;
    /// Ends a session and its refresh tokens, telling its clients (see `oidc::backchannel`).
    async fn revoke_session(
        &self,
        school_id: i64,
        id: &str,
        audit: Audit<SessionRecord>,
    ) -> StoreResult<Option<SessionRecord>>;
    /// Ends every session and refresh token of an account (so does disabling it).
    async fn end_user_sessions(
        &self,
        school_id: i64,
        user_id: i64,
        audit: Audit<Vec<SessionRecord>>,
    ) -> StoreResult<Vec<SessionRecord>>;
    /// Records that `client_id` got a token in the session; false when it is not live.
    async fn add_session_client(
        &self,
        school_id: i64,
        session_id: &str,
        client_id: &str,
    ) -> StoreResult<bool>;
    /// Claims due logout tokens until `until`, each by one sender across replicas.
    async fn claim_logouts(&self, until: i64, limit: i64) -> StoreResult<Vec<LogoutMessage>>;
    /// Removes a message that was delivered or given up, with its audit event.
    async fn finish_logout_message(&self, id: i64, audit: Audit<()>) -> StoreResult<bool>;
    /// Gives a message back for another attempt at `next_at`.
    async fn retry_logout_message(&self, id: i64, next_at: i64, error: String) -> StoreResult<()>;
    /// How many logout tokens wait, and since when the oldest.
    async fn logout_queue(&self) -> StoreResult<LogoutQueue>;

    // ---- the audit log, and the service's secrets ----

    /// Appends an event that describes no stored change (a refused login, a refused
    /// registration); never updated or deleted. Events of changes go with the change.
    async fn append_audit(&self, event: AuditEvent) -> StoreResult<()>;
    /// Audit events of a school at or after `since`, oldest first, at most `limit`.
    async fn audit_events(
        &self,
        school_id: i64,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// Deletes up to `limit` audit events older than `before` (Unix seconds), oldest first;
    /// how many were deleted (the retention of the audit log).
    async fn prune_audit(&self, before: i64, limit: i64) -> StoreResult<u64>;
    /// Deletes up to `limit` sessions that expired before `before` (ended or not), soonest
    /// expired first, with the portals recorded in them; how many sessions were deleted.
    async fn prune_sessions(&self, before: i64, limit: i64) -> StoreResult<u64>;
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

    // ---- seeding shortcuts: test data and fixtures, each audited as the actor `seed` ----
    // The server's integration tests seed through these; they go once those tests seed
    // through the admin services. The admin services never use them: their events say who
    // changed what, before and after.

    /// Creates a school without keys (see [`Directory::create_schools`]).
    async fn create_school(&self, code: &str, name: &str) -> StoreResult<School> {
        let school = NewSchool {
            code: code.to_string(),
            name: name.to_string(),
            district: false,
            keys: vec![],
            users: vec![],
        };
        let audit = Audit::each(|made: &Vec<School>| {
            made.iter().map(|s| seeded(s.id, "school.create")).collect()
        });
        let made = self.create_schools(vec![school], audit).await?;
        made.into_iter()
            .next()
            .ok_or_else(|| StoreError::Other("no school was created".into()))
    }

    /// Creates an enabled account.
    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        let audit = Audit::event(seeded(user.school_id, "user.create"));
        self.add_user(user, false, audit).await
    }

    async fn create_client(&self, client: NewClient) -> StoreResult<Client> {
        let audit = Audit::event(seeded(client.school_id, "client.create"));
        self.add_client(client, audit).await
    }

    /// Renames, disables or marks as district a school (see [`Directory::change_school`]).
    async fn update_school(
        &self,
        id: i64,
        name: Option<String>,
        disabled: Option<bool>,
        district: Option<bool>,
    ) -> StoreResult<Option<School>> {
        let audit = Audit::event(seeded(id, "school.update"));
        self.change_school(id, name, disabled, district, audit)
            .await
    }

    async fn update_client(&self, client: Client) -> StoreResult<bool> {
        let audit = Audit::event(seeded(client.school_id, "client.update"));
        self.change_client(client, audit).await
    }

    async fn replace_policy(&self, school_id: i64, policy: Vec<RolePolicy>) -> StoreResult<()> {
        let audit = Audit::event(seeded(school_id, "policy.set"));
        self.set_login_policy(school_id, policy, audit).await
    }

    /// Sets the methods of one role, leaving the other roles' as they are.
    async fn set_role_policy(&self, school_id: i64, policy: RolePolicy) -> StoreResult<()> {
        let mut all = self.login_policy(school_id).await?;
        all.retain(|p| p.role != policy.role);
        all.push(policy);
        self.replace_policy(school_id, all).await
    }

    async fn set_registration_rules(
        &self,
        school_id: i64,
        rules: RegistrationRules,
    ) -> StoreResult<()> {
        let audit = Audit::event(seeded(school_id, "registration.set"));
        self.set_registration(school_id, rules, audit).await
    }
}

/// The event of a seeding shortcut.
fn seeded(school_id: i64, event: &str) -> AuditEvent {
    AuditEvent::new(school_id, event, "success", "seed")
}
