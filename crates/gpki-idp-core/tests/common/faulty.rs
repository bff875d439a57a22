//! Stores that fail on purpose, for the core's tests: [`Faulty`] is a directory whose
//! session commit (the commit point of a login) can fail, before or after it is stored, and
//! [`Recording`] a short-lived store that remembers every key written. Everything else goes
//! to the real stores underneath.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use gpki_idp_core::audit::{Audit, AuditEvent, AuditFilter};
use gpki_idp_core::ephemeral::{AttemptScope, Ephemeral};
use gpki_idp_core::model::SchoolPasswordPolicy;
use gpki_idp_core::model::{
    Branding, CertBinding, Client, EnrollmentCodeInfo, KeyRecord, LogoutMessage, LogoutQueue,
    NewClient, NewRegistration, NewSchool, NewUser, RefreshRecord, Rotation, School, SessionRecord,
    User, UserChange,
};
use gpki_idp_core::policy::{RegistrationRules, RolePolicy};
use gpki_idp_core::store::{Directory, StoreError, StoreResult};

/// How the next session commits go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionCommit {
    Works,
    /// Nothing is stored and the store says it is unavailable.
    Fails,
    /// The session is stored, then the store says it is unavailable: the connection died
    /// after the commit, and the caller cannot tell.
    FailsAfterCommit,
}

/// A directory with switchable faults around a real one.
pub struct Faulty {
    inner: Arc<dyn Directory>,
    session_commit: Mutex<SessionCommit>,
}

impl Faulty {
    pub fn new(inner: Arc<dyn Directory>) -> Self {
        Self {
            inner,
            session_commit: Mutex::new(SessionCommit::Works),
        }
    }

    pub fn session_commit(&self, how: SessionCommit) {
        *self.session_commit.lock().unwrap() = how;
    }

    fn session_commit_now(&self) -> SessionCommit {
        *self.session_commit.lock().unwrap()
    }
}

fn connection_lost() -> StoreError {
    StoreError::Unavailable("the connection was reset (test fault)".into())
}

#[async_trait]
impl Directory for Faulty {
    async fn add_session(&self, session: SessionRecord, audit: Audit<()>) -> StoreResult<()> {
        match self.session_commit_now() {
            SessionCommit::Works => self.inner.add_session(session, audit).await,
            SessionCommit::Fails => Err(connection_lost()),
            SessionCommit::FailsAfterCommit => {
                self.inner.add_session(session, audit).await?;
                Err(connection_lost())
            }
        }
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    async fn school_by_code(&self, code: &str) -> StoreResult<Option<School>> {
        self.inner.school_by_code(code).await
    }

    async fn school_by_id(&self, id: i64) -> StoreResult<Option<School>> {
        self.inner.school_by_id(id).await
    }

    async fn list_schools(&self, after_id: i64, limit: i64) -> StoreResult<Vec<School>> {
        self.inner.list_schools(after_id, limit).await
    }

    async fn create_schools(
        &self,
        schools: Vec<NewSchool>,
        audit: Audit<Vec<School>>,
    ) -> StoreResult<Vec<School>> {
        self.inner.create_schools(schools, audit).await
    }

    async fn change_school(
        &self,
        id: i64,
        name: Option<String>,
        disabled: Option<bool>,
        district: Option<bool>,
        audit: Audit<School>,
    ) -> StoreResult<Option<School>> {
        self.inner
            .change_school(id, name, disabled, district, audit)
            .await
    }

    async fn branding(&self, school_id: i64) -> StoreResult<Branding> {
        self.inner.branding(school_id).await
    }

    async fn logo(&self, school_id: i64) -> StoreResult<Option<(String, Vec<u8>)>> {
        self.inner.logo(school_id).await
    }

    async fn set_brand_colour(
        &self,
        school_id: i64,
        colour: Option<String>,
        audit: Audit<Branding>,
    ) -> StoreResult<Branding> {
        self.inner.set_brand_colour(school_id, colour, audit).await
    }

    async fn set_logo(
        &self,
        school_id: i64,
        logo: Option<(String, Vec<u8>)>,
        audit: Audit<Branding>,
    ) -> StoreResult<Branding> {
        self.inner.set_logo(school_id, logo, audit).await
    }

    async fn user_by_username(&self, school_id: i64, username: &str) -> StoreResult<Option<User>> {
        self.inner.user_by_username(school_id, username).await
    }

    async fn user_by_id(&self, school_id: i64, id: i64) -> StoreResult<Option<User>> {
        self.inner.user_by_id(school_id, id).await
    }

    async fn list_users(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
        q: Option<String>,
    ) -> StoreResult<Vec<User>> {
        self.inner.list_users(school_id, after_id, limit, q).await
    }

    async fn users_by_usernames(
        &self,
        school_id: i64,
        usernames: Vec<String>,
    ) -> StoreResult<Vec<User>> {
        self.inner.users_by_usernames(school_id, usernames).await
    }

    async fn add_user(
        &self,
        user: NewUser,
        disabled: bool,
        audit: Audit<User>,
    ) -> StoreResult<User> {
        self.inner.add_user(user, disabled, audit).await
    }

    async fn update_user(
        &self,
        school_id: i64,
        id: i64,
        change: UserChange,
        audit: Audit<User>,
    ) -> StoreResult<Option<User>> {
        self.inner.update_user(school_id, id, change, audit).await
    }

    async fn import_users(
        &self,
        creates: Vec<NewUser>,
        updates: Vec<(i64, UserChange)>,
        audit: Audit<()>,
    ) -> StoreResult<()> {
        self.inner.import_users(creates, updates, audit).await
    }

    async fn set_own_password(
        &self,
        school_id: i64,
        user_id: i64,
        hash: String,
        audit: Audit<User>,
    ) -> StoreResult<Option<User>> {
        self.inner
            .set_own_password(school_id, user_id, hash, audit)
            .await
    }

    async fn password_history(
        &self,
        school: i64,
        user: i64,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        self.inner.password_history(school, user, limit).await
    }

    async fn password_policy(&self, school_id: i64) -> StoreResult<SchoolPasswordPolicy> {
        self.inner.password_policy(school_id).await
    }

    async fn set_password_policy(
        &self,
        school_id: i64,
        policy: SchoolPasswordPolicy,
        audit: Audit<()>,
    ) -> StoreResult<()> {
        self.inner
            .set_password_policy(school_id, policy, audit)
            .await
    }

    async fn user_roles(&self, school_id: i64) -> StoreResult<Vec<Vec<String>>> {
        self.inner.user_roles(school_id).await
    }

    async fn custom_roles(&self, school_id: i64) -> StoreResult<Vec<String>> {
        self.inner.custom_roles(school_id).await
    }

    async fn add_role(&self, school_id: i64, role: &str, audit: Audit<()>) -> StoreResult<bool> {
        self.inner.add_role(school_id, role, audit).await
    }

    async fn remove_role(&self, school_id: i64, role: &str, audit: Audit<()>) -> StoreResult<bool> {
        self.inner.remove_role(school_id, role, audit).await
    }

    async fn bindings_of(&self, school_id: i64, user_id: i64) -> StoreResult<Vec<CertBinding>> {
        self.inner.bindings_of(school_id, user_id).await
    }

    async fn user_bound_to_cert(
        &self,
        school_id: i64,
        username: &str,
        cert_sha256: &str,
    ) -> StoreResult<Option<User>> {
        self.inner
            .user_bound_to_cert(school_id, username, cert_sha256)
            .await
    }

    async fn binding_by_cert(
        &self,
        school_id: i64,
        cert_sha256: &str,
    ) -> StoreResult<Option<CertBinding>> {
        self.inner.binding_by_cert(school_id, cert_sha256).await
    }

    async fn binding_counts(
        &self,
        school_id: i64,
        user_ids: Vec<i64>,
    ) -> StoreResult<Vec<(i64, i64)>> {
        self.inner.binding_counts(school_id, user_ids).await
    }

    async fn list_bindings(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<CertBinding>> {
        self.inner.list_bindings(school_id, after_id, limit).await
    }

    async fn register_certificate(
        &self,
        registration: NewRegistration,
        audit: Audit<CertBinding>,
    ) -> StoreResult<Option<CertBinding>> {
        self.inner.register_certificate(registration, audit).await
    }

    async fn remove_binding(
        &self,
        school_id: i64,
        user_id: i64,
        id: i64,
        audit: Audit<()>,
    ) -> StoreResult<bool> {
        self.inner
            .remove_binding(school_id, user_id, id, audit)
            .await
    }

    async fn remove_binding_by_id(
        &self,
        school_id: i64,
        id: i64,
        audit: Audit<(CertBinding, String)>,
    ) -> StoreResult<Option<(CertBinding, String)>> {
        self.inner.remove_binding_by_id(school_id, id, audit).await
    }

    async fn client(&self, school_id: i64, client_id: &str) -> StoreResult<Option<Client>> {
        self.inner.client(school_id, client_id).await
    }

    async fn list_clients(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<Client>> {
        self.inner.list_clients(school_id, after_id, limit).await
    }

    async fn add_client(&self, client: NewClient, audit: Audit<Client>) -> StoreResult<Client> {
        self.inner.add_client(client, audit).await
    }

    async fn change_client(&self, client: Client, audit: Audit<()>) -> StoreResult<bool> {
        self.inner.change_client(client, audit).await
    }

    async fn delete_client(
        &self,
        school_id: i64,
        client_id: &str,
        audit: Audit<()>,
    ) -> StoreResult<bool> {
        self.inner.delete_client(school_id, client_id, audit).await
    }

    async fn replace_client_secret_hash(
        &self,
        school_id: i64,
        client_id: &str,
        expected: &str,
        new: &str,
        audit: Audit<()>,
    ) -> StoreResult<bool> {
        self.inner
            .replace_client_secret_hash(school_id, client_id, expected, new, audit)
            .await
    }

    async fn signing_keys(&self, school_id: i64) -> StoreResult<Vec<KeyRecord>> {
        self.inner.signing_keys(school_id).await
    }

    async fn add_signing_keys(
        &self,
        school_id: i64,
        keys: Vec<KeyRecord>,
        retire_others_at: Option<i64>,
        audit: Audit<()>,
    ) -> StoreResult<()> {
        self.inner
            .add_signing_keys(school_id, keys, retire_others_at, audit)
            .await
    }

    async fn insert_refresh(&self, record: RefreshRecord) -> StoreResult<()> {
        self.inner.insert_refresh(record).await
    }

    async fn rotate_refresh(
        &self,
        school_id: i64,
        old_hash: &str,
        new: RefreshRecord,
        grace_since: Option<i64>,
    ) -> StoreResult<Rotation> {
        self.inner
            .rotate_refresh(school_id, old_hash, new, grace_since)
            .await
    }

    async fn refresh_by_hash(
        &self,
        school_id: i64,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshRecord>> {
        self.inner.refresh_by_hash(school_id, token_hash).await
    }

    async fn revoke_refresh_family(&self, school_id: i64, family_id: &str) -> StoreResult<()> {
        self.inner.revoke_refresh_family(school_id, family_id).await
    }

    async fn login_policy(&self, school_id: i64) -> StoreResult<Vec<RolePolicy>> {
        self.inner.login_policy(school_id).await
    }

    async fn set_login_policy(
        &self,
        school_id: i64,
        policy: Vec<RolePolicy>,
        audit: Audit<()>,
    ) -> StoreResult<()> {
        self.inner.set_login_policy(school_id, policy, audit).await
    }

    async fn registration_rules(&self, school_id: i64) -> StoreResult<RegistrationRules> {
        self.inner.registration_rules(school_id).await
    }

    async fn set_registration(
        &self,
        school_id: i64,
        rules: RegistrationRules,
        audit: Audit<()>,
    ) -> StoreResult<()> {
        self.inner.set_registration(school_id, rules, audit).await
    }

    async fn add_enrollment_code(
        &self,
        school_id: i64,
        user_id: i64,
        code_hash: &str,
        expires_at: i64,
        audit: Audit<i64>,
    ) -> StoreResult<i64> {
        self.inner
            .add_enrollment_code(school_id, user_id, code_hash, expires_at, audit)
            .await
    }

    async fn list_enrollment_codes(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<EnrollmentCodeInfo>> {
        self.inner
            .list_enrollment_codes(school_id, after_id, limit)
            .await
    }

    async fn revoke_enrollment_code(
        &self,
        school_id: i64,
        id: i64,
        audit: Audit<()>,
    ) -> StoreResult<bool> {
        self.inner
            .revoke_enrollment_code(school_id, id, audit)
            .await
    }

    async fn session_by_id(&self, school_id: i64, id: &str) -> StoreResult<Option<SessionRecord>> {
        self.inner.session_by_id(school_id, id).await
    }

    async fn list_sessions(
        &self,
        school_id: i64,
        user_id: Option<i64>,
        after: String,
        limit: i64,
        now: i64,
    ) -> StoreResult<Vec<SessionRecord>> {
        self.inner
            .list_sessions(school_id, user_id, after, limit, now)
            .await
    }

    async fn revoke_session(
        &self,
        school_id: i64,
        id: &str,
        audit: Audit<SessionRecord>,
    ) -> StoreResult<Option<SessionRecord>> {
        self.inner.revoke_session(school_id, id, audit).await
    }

    async fn end_user_sessions(
        &self,
        school_id: i64,
        user_id: i64,
        audit: Audit<Vec<SessionRecord>>,
    ) -> StoreResult<Vec<SessionRecord>> {
        self.inner
            .end_user_sessions(school_id, user_id, audit)
            .await
    }

    async fn add_session_client(
        &self,
        school_id: i64,
        session_id: &str,
        client_id: &str,
    ) -> StoreResult<bool> {
        self.inner
            .add_session_client(school_id, session_id, client_id)
            .await
    }

    async fn claim_logouts(&self, until: i64, limit: i64) -> StoreResult<Vec<LogoutMessage>> {
        self.inner.claim_logouts(until, limit).await
    }

    async fn finish_logout_message(&self, id: i64, audit: Audit<()>) -> StoreResult<bool> {
        self.inner.finish_logout_message(id, audit).await
    }

    async fn retry_logout_message(&self, id: i64, next_at: i64, error: String) -> StoreResult<()> {
        self.inner.retry_logout_message(id, next_at, error).await
    }

    async fn logout_queue(&self) -> StoreResult<LogoutQueue> {
        self.inner.logout_queue().await
    }

    async fn append_audit(&self, event: AuditEvent) -> StoreResult<()> {
        self.inner.append_audit(event).await
    }

    async fn audit_events(
        &self,
        school_id: i64,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        self.inner.audit_events(school_id, since, limit).await
    }

    async fn prune_audit(&self, before: i64, limit: i64) -> StoreResult<u64> {
        self.inner.prune_audit(before, limit).await
    }

    async fn prune_sessions(&self, before: i64, limit: i64) -> StoreResult<u64> {
        self.inner.prune_sessions(before, limit).await
    }

    async fn secret(&self, name: &str, fresh: Vec<u8>) -> StoreResult<Vec<u8>> {
        self.inner.secret(name, fresh).await
    }

    async fn query_audit(
        &self,
        school_id: i64,
        filter: AuditFilter,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, AuditEvent)>> {
        self.inner
            .query_audit(school_id, filter, after_id, limit)
            .await
    }
}

/// A short-lived store that remembers the keys written to it.
pub struct Recording {
    inner: Arc<dyn Ephemeral>,
    written: Mutex<Vec<String>>,
}

impl Recording {
    pub fn new(inner: Arc<dyn Ephemeral>) -> Self {
        Self {
            inner,
            written: Mutex::new(Vec::new()),
        }
    }

    /// The keys written so far that start with `prefix`.
    pub fn written(&self, prefix: &str) -> Vec<String> {
        let written = self.written.lock().unwrap();
        written
            .iter()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }
}

#[async_trait]
impl Ephemeral for Recording {
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> StoreResult<()> {
        self.written.lock().unwrap().push(key.to_string());
        self.inner.put(key, value, ttl).await
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.inner.get(key).await
    }

    async fn take(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.inner.take(key).await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.inner.delete(key).await
    }

    async fn incr_by(&self, key: &str, by: u64, ttl: Duration) -> StoreResult<u64> {
        self.inner.incr_by(key, by, ttl).await
    }

    async fn reserve_attempt(&self, scopes: &[AttemptScope]) -> StoreResult<Duration> {
        self.inner.reserve_attempt(scopes).await
    }

    async fn release_attempt(&self, scopes: &[AttemptScope]) -> StoreResult<()> {
        self.inner.release_attempt(scopes).await
    }
}
