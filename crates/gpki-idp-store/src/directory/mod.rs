//! [`Directory`] on diesel, the same queries for PostgreSQL and SQLite: which module answers.

mod audit;
mod audited;
mod bindings;
mod branding;
mod clients;
mod ending;
mod json;
mod keys;
mod logout_queue;
mod names;
mod onboarding;
mod passwords;
mod policy;
mod refresh;
mod registration;
mod roles;
mod schools;
mod secrets;
mod sessions;
mod sql;
mod users;

use async_trait::async_trait;
use gpki_idp_core::audit::{Audit, AuditEvent, AuditFilter};
use gpki_idp_core::model::{
    Branding, CertBinding, Client, EnrollmentCodeInfo, KeyRecord, LogoutMessage, LogoutQueue,
    NewClient, NewRegistration, NewSchool, NewUser, RefreshRecord, Rotation, School,
    SchoolPasswordPolicy, SessionRecord, User, UserChange,
};
use gpki_idp_core::policy::{RegistrationRules, RolePolicy};
use gpki_idp_core::store::{Directory, StoreResult};

pub use sql::SqlDirectory;

#[async_trait]
impl Directory for SqlDirectory {
    async fn ping(&self) -> StoreResult<()> {
        sql::ping(self).await
    }

    async fn school_by_code(&self, code: &str) -> StoreResult<Option<School>> {
        schools::by_code(self, code).await
    }

    async fn school_by_id(&self, id: i64) -> StoreResult<Option<School>> {
        schools::by_id(self, id).await
    }

    async fn list_schools(&self, after_id: i64, limit: i64) -> StoreResult<Vec<School>> {
        schools::list(self, after_id, limit).await
    }

    async fn change_school(
        &self,
        id: i64,
        name: Option<String>,
        disabled: Option<bool>,
        district: Option<bool>,
        audit: Audit<School>,
    ) -> StoreResult<Option<School>> {
        schools::update(self, id, name, disabled, district, audit).await
    }

    async fn create_schools(
        &self,
        schools: Vec<NewSchool>,
        audit: Audit<Vec<School>>,
    ) -> StoreResult<Vec<School>> {
        onboarding::create_schools(self, schools, audit).await
    }

    async fn branding(&self, school_id: i64) -> StoreResult<Branding> {
        branding::branding(self, school_id).await
    }

    async fn logo(&self, school_id: i64) -> StoreResult<Option<(String, Vec<u8>)>> {
        branding::logo(self, school_id).await
    }

    async fn set_brand_colour(
        &self,
        school_id: i64,
        colour: Option<String>,
        audit: Audit<Branding>,
    ) -> StoreResult<Branding> {
        branding::set_colour(self, school_id, colour, audit).await
    }

    async fn set_logo(
        &self,
        school_id: i64,
        logo: Option<(String, Vec<u8>)>,
        audit: Audit<Branding>,
    ) -> StoreResult<Branding> {
        branding::set_logo(self, school_id, logo, audit).await
    }

    async fn user_by_username(&self, school_id: i64, username: &str) -> StoreResult<Option<User>> {
        users::by_username(self, school_id, username).await
    }

    async fn user_by_id(&self, school_id: i64, id: i64) -> StoreResult<Option<User>> {
        users::by_id(self, school_id, id).await
    }

    async fn add_user(
        &self,
        user: NewUser,
        disabled: bool,
        audit: Audit<User>,
    ) -> StoreResult<User> {
        users::add(self, user, disabled, audit).await
    }

    async fn list_users(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
        q: Option<String>,
    ) -> StoreResult<Vec<User>> {
        users::list(self, school_id, after_id, limit, q).await
    }

    async fn update_user(
        &self,
        school_id: i64,
        id: i64,
        change: UserChange,
        audit: Audit<User>,
    ) -> StoreResult<Option<User>> {
        users::update(self, school_id, id, change, audit).await
    }

    async fn users_by_usernames(
        &self,
        school_id: i64,
        usernames: Vec<String>,
    ) -> StoreResult<Vec<User>> {
        users::by_usernames(self, school_id, usernames).await
    }

    async fn import_users(
        &self,
        creates: Vec<NewUser>,
        updates: Vec<(i64, UserChange)>,
        audit: Audit<()>,
    ) -> StoreResult<()> {
        users::import(self, creates, updates, audit).await
    }

    async fn set_own_password(
        &self,
        school_id: i64,
        user_id: i64,
        hash: String,
        audit: Audit<User>,
    ) -> StoreResult<Option<User>> {
        passwords::set_own(self, school_id, user_id, hash, audit).await
    }

    async fn password_history(
        &self,
        school: i64,
        user: i64,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        passwords::history(self, school, user, limit).await
    }

    async fn password_policy(&self, school_id: i64) -> StoreResult<SchoolPasswordPolicy> {
        passwords::school_policy(self, school_id).await
    }

    async fn set_password_policy(
        &self,
        school_id: i64,
        policy: SchoolPasswordPolicy,
        audit: Audit<()>,
    ) -> StoreResult<()> {
        passwords::set_school_policy(self, school_id, policy, audit).await
    }

    async fn user_roles(&self, school_id: i64) -> StoreResult<Vec<Vec<String>>> {
        roles::of_users(self, school_id).await
    }

    async fn custom_roles(&self, school_id: i64) -> StoreResult<Vec<String>> {
        roles::custom(self, school_id).await
    }

    async fn add_role(&self, school_id: i64, role: &str, audit: Audit<()>) -> StoreResult<bool> {
        roles::add(self, school_id, role, audit).await
    }

    async fn remove_role(&self, school_id: i64, role: &str, audit: Audit<()>) -> StoreResult<bool> {
        roles::remove(self, school_id, role, audit).await
    }

    async fn register_certificate(
        &self,
        registration: NewRegistration,
        audit: Audit<CertBinding>,
    ) -> StoreResult<Option<CertBinding>> {
        bindings::register(self, registration, audit).await
    }

    async fn bindings_of(&self, school_id: i64, user_id: i64) -> StoreResult<Vec<CertBinding>> {
        bindings::of_user(self, school_id, user_id).await
    }

    async fn user_bound_to_cert(
        &self,
        school_id: i64,
        username: &str,
        cert_sha256: &str,
    ) -> StoreResult<Option<User>> {
        bindings::user_bound_to_cert(self, school_id, username, cert_sha256).await
    }

    async fn binding_by_cert(
        &self,
        school_id: i64,
        cert_sha256: &str,
    ) -> StoreResult<Option<CertBinding>> {
        bindings::by_cert(self, school_id, cert_sha256).await
    }

    async fn remove_binding(
        &self,
        school_id: i64,
        user_id: i64,
        id: i64,
        audit: Audit<()>,
    ) -> StoreResult<bool> {
        bindings::remove(self, school_id, user_id, id, audit).await
    }

    async fn binding_counts(
        &self,
        school_id: i64,
        user_ids: Vec<i64>,
    ) -> StoreResult<Vec<(i64, i64)>> {
        bindings::counts(self, school_id, user_ids).await
    }

    async fn list_bindings(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<CertBinding>> {
        bindings::list(self, school_id, after_id, limit).await
    }

    async fn remove_binding_by_id(
        &self,
        school_id: i64,
        id: i64,
        audit: Audit<(CertBinding, String)>,
    ) -> StoreResult<Option<(CertBinding, String)>> {
        bindings::remove_by_id(self, school_id, id, audit).await
    }

    async fn client(&self, school_id: i64, client_id: &str) -> StoreResult<Option<Client>> {
        clients::find(self, school_id, client_id).await
    }

    async fn add_client(&self, client: NewClient, audit: Audit<Client>) -> StoreResult<Client> {
        clients::add(self, client, audit).await
    }

    async fn list_clients(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<Client>> {
        clients::list(self, school_id, after_id, limit).await
    }

    async fn change_client(&self, client: Client, audit: Audit<()>) -> StoreResult<bool> {
        clients::update(self, client, audit).await
    }

    async fn delete_client(
        &self,
        school_id: i64,
        client_id: &str,
        audit: Audit<()>,
    ) -> StoreResult<bool> {
        clients::delete(self, school_id, client_id, audit).await
    }

    async fn signing_keys(&self, school_id: i64) -> StoreResult<Vec<KeyRecord>> {
        keys::list(self, school_id).await
    }

    async fn add_signing_keys(
        &self,
        school_id: i64,
        keys: Vec<KeyRecord>,
        retire_others_at: Option<i64>,
        audit: Audit<()>,
    ) -> StoreResult<()> {
        keys::add(self, school_id, keys, retire_others_at, audit).await
    }

    async fn insert_refresh(&self, r: RefreshRecord) -> StoreResult<()> {
        refresh::insert(self, r).await
    }

    async fn rotate_refresh(
        &self,
        school_id: i64,
        old_hash: &str,
        new: RefreshRecord,
        grace_since: Option<i64>,
    ) -> StoreResult<Rotation> {
        refresh::rotate(self, school_id, old_hash, new, grace_since).await
    }

    async fn refresh_by_hash(
        &self,
        school_id: i64,
        token_hash: &str,
    ) -> StoreResult<Option<RefreshRecord>> {
        refresh::by_hash(self, school_id, token_hash).await
    }

    async fn revoke_refresh_family(&self, school_id: i64, family_id: &str) -> StoreResult<()> {
        refresh::revoke_family(self, school_id, family_id).await
    }

    async fn replace_client_secret_hash(
        &self,
        school_id: i64,
        client_id: &str,
        expected: &str,
        new: &str,
        audit: Audit<()>,
    ) -> StoreResult<bool> {
        clients::replace_secret_hash(self, school_id, client_id, expected, new, audit).await
    }

    async fn add_session(&self, session: SessionRecord, audit: Audit<()>) -> StoreResult<()> {
        sessions::add(self, session, audit).await
    }

    async fn session_by_id(&self, school_id: i64, id: &str) -> StoreResult<Option<SessionRecord>> {
        sessions::by_id(self, school_id, id).await
    }

    async fn list_sessions(
        &self,
        school_id: i64,
        user_id: Option<i64>,
        after: String,
        limit: i64,
        now: i64,
    ) -> StoreResult<Vec<SessionRecord>> {
        sessions::list(self, school_id, user_id, after, limit, now).await
    }

    async fn revoke_session(
        &self,
        school_id: i64,
        id: &str,
        audit: Audit<SessionRecord>,
    ) -> StoreResult<Option<SessionRecord>> {
        sessions::revoke(self, school_id, id, audit).await
    }

    async fn end_user_sessions(
        &self,
        school_id: i64,
        user_id: i64,
        audit: Audit<Vec<SessionRecord>>,
    ) -> StoreResult<Vec<SessionRecord>> {
        sessions::end_all_of_user(self, school_id, user_id, audit).await
    }

    async fn add_session_client(
        &self,
        school_id: i64,
        session_id: &str,
        client_id: &str,
    ) -> StoreResult<bool> {
        sessions::add_client(self, school_id, session_id, client_id).await
    }

    async fn claim_logouts(&self, until: i64, limit: i64) -> StoreResult<Vec<LogoutMessage>> {
        logout_queue::claim(self, gpki_idp_core::now(), until, limit).await
    }

    async fn finish_logout_message(&self, id: i64, audit: Audit<()>) -> StoreResult<bool> {
        logout_queue::finish(self, id, audit).await
    }

    async fn retry_logout_message(&self, id: i64, next_at: i64, error: String) -> StoreResult<()> {
        logout_queue::retry(self, id, next_at, error).await
    }

    async fn logout_queue(&self) -> StoreResult<LogoutQueue> {
        logout_queue::stats(self).await
    }

    async fn login_policy(&self, school_id: i64) -> StoreResult<Vec<RolePolicy>> {
        policy::of_school(self, school_id).await
    }

    async fn set_login_policy(
        &self,
        school_id: i64,
        policy: Vec<RolePolicy>,
        audit: Audit<()>,
    ) -> StoreResult<()> {
        policy::replace(self, school_id, policy, audit).await
    }

    async fn registration_rules(&self, school_id: i64) -> StoreResult<RegistrationRules> {
        registration::rules(self, school_id).await
    }

    async fn set_registration(
        &self,
        school_id: i64,
        rules: RegistrationRules,
        audit: Audit<()>,
    ) -> StoreResult<()> {
        registration::set_rules(self, school_id, rules, audit).await
    }

    async fn add_enrollment_code(
        &self,
        school_id: i64,
        user_id: i64,
        code_hash: &str,
        expires_at: i64,
        audit: Audit<i64>,
    ) -> StoreResult<i64> {
        registration::add_code(self, school_id, user_id, code_hash, expires_at, audit).await
    }

    async fn list_enrollment_codes(
        &self,
        school_id: i64,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<EnrollmentCodeInfo>> {
        registration::list_codes(self, school_id, after_id, limit).await
    }

    async fn revoke_enrollment_code(
        &self,
        school_id: i64,
        id: i64,
        audit: Audit<()>,
    ) -> StoreResult<bool> {
        registration::revoke_code(self, school_id, id, audit).await
    }

    async fn append_audit(&self, e: AuditEvent) -> StoreResult<()> {
        audit::append(self, e).await
    }

    async fn audit_events(
        &self,
        school_id: i64,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        audit::since(self, school_id, since, limit).await
    }

    async fn query_audit(
        &self,
        school_id: i64,
        filter: AuditFilter,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, AuditEvent)>> {
        audit::query(self, school_id, filter, after_id, limit).await
    }

    async fn secret(&self, name: &str, fresh: Vec<u8>) -> StoreResult<Vec<u8>> {
        secrets::secret(self, name.to_string(), fresh).await
    }

    async fn prune_audit(&self, before: i64, limit: i64) -> StoreResult<u64> {
        audit::prune(self, before, limit).await
    }

    async fn prune_sessions(&self, before: i64, limit: i64) -> StoreResult<u64> {
        sessions::prune(self, before, limit).await
    }
}
