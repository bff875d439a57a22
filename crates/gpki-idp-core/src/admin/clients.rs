//! OIDC clients (relying parties and service clients) through the admin API: create, replace
//! (with If-Match), rotate the secret, delete. Secrets are shown once and stored hashed.

use serde::Deserialize;
use serde_json::{json, Value};

use super::listing::{ListQuery, Listing};
use super::{etag, if_match, invalid, valid_name, Principal, SCOPE_ADMIN, SCOPE_DISTRICT};
use crate::audit::{Audit, AuditEvent};
use crate::factor::acr_level;
use crate::model::{Client, NewClient, School};
use crate::oidc::Provider;
use crate::store::StoreError;
use crate::{error::Error, random_token};

/// Scopes a GM may grant a client.
pub const GRANTABLE_SCOPES: [&str; 7] = [
    "openid",
    "profile",
    "offline_access",
    "admin",
    "admin:users",
    "admin:audit",
    crate::oidc::token::INTROSPECTION_SCOPE,
];

/// The settings of a client as an admin sends them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    #[serde(default)]
    pub client_id: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub public_client: bool,
    #[serde(default = "yes")]
    pub require_pkce: bool,
    /// How the client's ID tokens are signed (RS256 or ES256), under its standard name from
    /// OpenID Connect Dynamic Client Registration 1.0 §2.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    /// The same setting under this project's older name, kept as an alias: a body may give
    /// either, or both when they agree.
    #[serde(default)]
    pub id_token_alg: Option<String>,
    #[serde(default)]
    pub jwks: Option<String>,
    #[serde(default = "crate::model::default_scopes")]
    pub allowed_scopes: Vec<String>,
    #[serde(default)]
    pub default_acr_values: Vec<String>,
    #[serde(default)]
    pub min_acr: Option<String>,
    /// Seconds a rotated-out refresh token may fetch its unused successor again (a lost
    /// answer retried); absent: the service's setting; 0: none. Confidential clients only.
    #[serde(default)]
    pub refresh_reuse_grace_secs: Option<i64>,
    /// Where the client is told of a session's end (Back-Channel Logout 1.0): https, or http
    /// on localhost / 127.0.0.1, no fragment.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
}

/// The longest refresh-token reuse window a client may have (Hydra clamps its grace period
/// to 5 minutes without a reuse count).
pub const MAX_REFRESH_GRACE_SECS: i64 = 300;

fn yes() -> bool {
    true
}

fn valid_client_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// An absolute https URL, or http on localhost / 127.0.0.1 (for development), without a
/// fragment.
fn valid_redirect(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1"));
    url.fragment().is_none()
        && url.host_str().is_some()
        && (url.scheme() == "https" || (url.scheme() == "http" && local))
}

fn unique(items: &[String]) -> bool {
    let set: std::collections::HashSet<&String> = items.iter().collect();
    set.len() == items.len()
}

impl ClientInput {
    /// The rules of one client, alone and across fields, with the scopes it may be given.
    pub fn check(&self, grantable: &[&str]) -> Result<(), Error> {
        if let Some(id) = &self.client_id {
            if !valid_client_id(id) {
                return Err(invalid("client_id: 1 to 64 letters, digits or ._-"));
            }
        }
        if !valid_name(&self.name) {
            return Err(invalid("name: 1 to 100 characters"));
        }
        let uris = self
            .redirect_uris
            .iter()
            .chain(&self.post_logout_redirect_uris);
        if self.redirect_uris.len() > 20 || self.post_logout_redirect_uris.len() > 20 {
            return Err(invalid("at most 20 redirect URIs of each kind"));
        }
        if let Some(bad) = uris.clone().find(|u| !valid_redirect(u)) {
            return Err(invalid(format!(
                "`{bad}` is not an https URL (or http on localhost)"
            )));
        }
        if let Some(bad) = self
            .backchannel_logout_uri
            .iter()
            .find(|u| !valid_redirect(u))
        {
            return Err(invalid(format!(
                "backchannel_logout_uri: `{bad}` is not an https URL (or http on localhost)"
            )));
        }
        self.check_grants()?;
        self.check_scopes_and_acr(grantable)?;
        self.check_refresh_grace()?;
        self.check_signing_alg()?;
        if let Some(jwks) = &self.jwks {
            let keys: Value = serde_json::from_str(jwks)
                .map_err(|_| invalid("jwks is not a JSON Web Key Set"))?;
            if !keys["keys"].is_array() || jwks.len() > 65536 {
                return Err(invalid("jwks is not a JSON Web Key Set"));
            }
        }
        Ok(())
    }

    /// The ID token's algorithm: the standard name, else the alias, else RS256.
    fn signing_alg(&self) -> &str {
        self.id_token_signed_response_alg
            .as_deref()
            .or(self.id_token_alg.as_deref())
            .unwrap_or("RS256")
    }

    /// The two names of the signing algorithm agree, and it is one we sign with.
    fn check_signing_alg(&self) -> Result<(), Error> {
        if let (Some(standard), Some(alias)) =
            (&self.id_token_signed_response_alg, &self.id_token_alg)
        {
            if standard != alias {
                return Err(invalid(format!(
                    "id_token_signed_response_alg `{standard}` and its alias id_token_alg `{alias}` differ: send one of them, or the same value in both"
                )));
            }
        }
        if !matches!(self.signing_alg(), "RS256" | "ES256") {
            return Err(invalid("id_token_signed_response_alg: RS256 or ES256"));
        }
        Ok(())
    }

    fn check_grants(&self) -> Result<(), Error> {
        let known = ["authorization_code", "refresh_token", "client_credentials"];
        let has = |g: &str| self.grant_types.iter().any(|x| x == g);
        if self.grant_types.is_empty()
            || !unique(&self.grant_types)
            || self
                .grant_types
                .iter()
                .any(|g| !known.contains(&g.as_str()))
        {
            return Err(invalid(
                "grant_types: one or more of authorization_code, refresh_token, client_credentials",
            ));
        }
        if has("authorization_code") && self.redirect_uris.is_empty() {
            return Err(invalid(
                "authorization_code needs at least one redirect URI",
            ));
        }
        if has("refresh_token") && !has("authorization_code") {
            return Err(invalid("refresh_token needs authorization_code"));
        }
        if self.public_client
            && (has("client_credentials") || self.jwks.is_some() || !self.require_pkce)
        {
            return Err(invalid(
                "a public client uses PKCE and neither client_credentials nor jwks",
            ));
        }
        Ok(())
    }

    /// A window of 0 to 5 minutes, and none for a public client: it does not authenticate,
    /// so a copy of its refresh token is all a thief needs.
    fn check_refresh_grace(&self) -> Result<(), Error> {
        match self.refresh_reuse_grace_secs {
            Some(s) if !(0..=MAX_REFRESH_GRACE_SECS).contains(&s) => Err(invalid(format!(
                "refresh_reuse_grace_secs: 0 to {MAX_REFRESH_GRACE_SECS}"
            ))),
            Some(s) if s > 0 && self.public_client => Err(invalid(
                "refresh_reuse_grace_secs: a public client gets no grace window (0 or absent)",
            )),
            _ => Ok(()),
        }
    }

    fn check_scopes_and_acr(&self, grantable: &[&str]) -> Result<(), Error> {
        if !unique(&self.allowed_scopes)
            || self.allowed_scopes.len() > grantable.len()
            || self
                .allowed_scopes
                .iter()
                .any(|s| !grantable.contains(&s.as_str()))
        {
            return Err(invalid(format!(
                "allowed_scopes: some of {}",
                grantable.join(", ")
            )));
        }
        let acrs = self.default_acr_values.iter().chain(&self.min_acr);
        if self.default_acr_values.len() > 3 || acrs.clone().any(|a| acr_level(a).is_none()) {
            return Err(invalid(
                "acr values: urn:gpki-idp:acr:password, …:certificate or …:password+certificate",
            ));
        }
        Ok(())
    }

    fn apply(self, client: &mut Client) {
        client.id_token_alg = self.signing_alg().to_string();
        client.name = self.name;
        client.redirect_uris = self.redirect_uris;
        client.post_logout_redirect_uris = self.post_logout_redirect_uris;
        client.grant_types = self.grant_types;
        client.public_client = self.public_client;
        client.require_pkce = self.require_pkce;
        client.jwks = self.jwks;
        client.allowed_scopes = self.allowed_scopes;
        client.default_acr_values = self.default_acr_values;
        client.min_acr = self.min_acr;
        client.refresh_reuse_grace_secs = self.refresh_reuse_grace_secs;
        client.backchannel_logout_uri = self.backchannel_logout_uri;
        client.backchannel_logout_session_required = self.backchannel_logout_session_required;
        if client.public_client || client.jwks.is_some() {
            client.secret_hash = None;
        }
    }
}

/// The client's back-channel logout URI, when it has one.
fn uri_of(input: &ClientInput) -> Option<&str> {
    input.backchannel_logout_uri.as_deref()
}

/// The settings that the entity tag covers (never the secret).
pub(super) fn settings_json(c: &Client) -> Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "grant_types": c.grant_types,
        "public_client": c.public_client,
        "require_pkce": c.require_pkce,
        "id_token_alg": c.id_token_alg,
        "jwks": c.jwks,
        "allowed_scopes": c.allowed_scopes,
        "default_acr_values": c.default_acr_values,
        "min_acr": c.min_acr,
        "refresh_reuse_grace_secs": c.refresh_reuse_grace_secs,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "backchannel_logout_session_required": c.backchannel_logout_session_required,
    })
}

/// The JSON of a client as the admin API shows it, with its entity tag. The signing algorithm
/// is shown under both its names, the standard `id_token_signed_response_alg` and the
/// project's `id_token_alg`; the tag covers it once, so it did not change with the second name.
pub fn client_json(c: &Client) -> Value {
    let mut v = settings_json(c);
    v["id_token_signed_response_alg"] = json!(c.id_token_alg);
    v["etag"] = json!(etag(&settings_json(c)));
    v
}

/// The scopes `who` may grant a client of `school`: those a GM may, and `district` to a
/// client of the district tenant when the operator makes it (the bootstrap of the district's
/// own console; no token can grant it).
fn grantable(who: &Principal, school: &School) -> Vec<&'static str> {
    let mut scopes = GRANTABLE_SCOPES.to_vec();
    if who.is_operator() && school.district {
        scopes.push(SCOPE_DISTRICT);
    }
    scopes
}

/// A service client may be granted admin scopes only by someone who holds them.
fn check_grantable(who: &Principal, scopes: &[String]) -> Result<(), Error> {
    let admin_scopes = scopes
        .iter()
        .filter(|s| !crate::model::default_scopes().contains(s));
    for s in admin_scopes {
        if who
            .require(&[s.as_str(), SCOPE_ADMIN, SCOPE_DISTRICT])
            .is_err()
        {
            return Err(Error::insufficient_scope(format!(
                "you cannot grant the scope `{s}`"
            )));
        }
    }
    Ok(())
}

fn needs_secret(c: &Client) -> bool {
    !c.public_client && c.jwks.is_none()
}

impl Provider {
    pub async fn admin_client(&self, school: &School, client_id: &str) -> Result<Client, Error> {
        self.directory
            .client(school.id, client_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("no client `{client_id}`")))
    }

    /// A page of the school's clients.
    pub async fn admin_list_clients(
        &self,
        school: &School,
        query: &ListQuery,
    ) -> Result<Listing, Error> {
        let p = query.page()?;
        let found = self
            .directory
            .list_clients(school.id, p.after, p.limit)
            .await?;
        Ok(Listing {
            items: found.iter().map(client_json).collect(),
            next_cursor: p.next(found.len(), found.last().map(|c| c.id)),
        })
    }

    /// Creates a client; returns it and its secret (confidential clients without jwks).
    pub async fn admin_create_client(
        &self,
        who: &Principal,
        school: &School,
        input: ClientInput,
    ) -> Result<(Client, Option<String>), Error> {
        input.check(&grantable(who, school))?;
        crate::destination::check_uri(uri_of(&input), &self.settings.logout_allowed_networks)?;
        check_grantable(who, &input.allowed_scopes)?;
        let client_id = input
            .client_id
            .clone()
            .unwrap_or_else(|| format!("client-{}", random_token(9)));
        let mut client = Client {
            id: 0,
            school_id: school.id,
            client_id: client_id.clone(),
            name: String::new(),
            secret_hash: None,
            public_client: false,
            require_pkce: true,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            id_token_alg: "RS256".into(),
            jwks: None,
            allowed_scopes: vec![],
            default_acr_values: vec![],
            min_acr: None,
            refresh_reuse_grace_secs: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
        };
        input.apply(&mut client);
        let secret = needs_secret(&client).then(|| random_token(32));
        client.secret_hash = match &secret {
            Some(s) => Some(self.client_secret_hash(s).await?),
            None => None,
        };
        let change = who.change(school.id, "client.create");
        let audit = Audit::of(move |c: &Client| change.with(Value::Null, settings_json(c)));
        let created = match self
            .directory
            .add_client(NewClient::from(client), audit)
            .await
        {
            Err(StoreError::Conflict(_)) => {
                return Err(Error::conflict(format!("the client `{client_id}` exists")))
            }
            other => other?,
        };
        Ok((created, secret))
    }

    /// Replaces a client's settings when `if_match_header` (if sent) matches its tag.
    pub async fn admin_replace_client(
        &self,
        who: &Principal,
        school: &School,
        client_id: &str,
        input: ClientInput,
        if_match_header: Option<&str>,
    ) -> Result<Client, Error> {
        input.check(&grantable(who, school))?;
        crate::destination::check_uri(uri_of(&input), &self.settings.logout_allowed_networks)?;
        if input.client_id.as_deref().is_some_and(|id| id != client_id) {
            return Err(invalid("client_id cannot be changed"));
        }
        check_grantable(who, &input.allowed_scopes)?;
        let before = self.admin_client(school, client_id).await?;
        if_match(if_match_header, &etag(&settings_json(&before)))?;
        let mut client = before.clone();
        input.apply(&mut client);
        let (b, a) = (settings_json(&before), settings_json(&client));
        let event = who.change(school.id, "client.update").with(b, a);
        self.change_client(school, client.clone(), event).await?;
        Ok(client)
    }

    /// A new secret for a confidential client; the old one stops working at once.
    pub async fn admin_rotate_secret(
        &self,
        who: &Principal,
        school: &School,
        client_id: &str,
    ) -> Result<String, Error> {
        let mut client = self.admin_client(school, client_id).await?;
        if client.public_client || client.jwks.is_some() {
            return Err(invalid("this client authenticates without a secret"));
        }
        let secret = random_token(32);
        client.secret_hash = Some(self.client_secret_hash(&secret).await?);
        let detail = json!({"client_id": client_id, "secret": "rotated"});
        let event = who
            .change(school.id, "client.secret_rotate")
            .with(Value::Null, detail);
        self.change_client(school, client, event).await?;
        Ok(secret)
    }

    pub async fn admin_delete_client(
        &self,
        who: &Principal,
        school: &School,
        client_id: &str,
    ) -> Result<(), Error> {
        let before = self.admin_client(school, client_id).await?;
        let b = settings_json(&before);
        let event = who.change(school.id, "client.delete").with(b, Value::Null);
        let deleted = self
            .directory
            .delete_client(school.id, client_id, Audit::event(event))
            .await?;
        self.forget_client(school.id, client_id);
        match deleted {
            true => Ok(()),
            false => Err(Error::not_found(format!("no client `{client_id}`"))),
        }
    }

    /// Stores a client's new settings with the change's event.
    async fn change_client(
        &self,
        school: &School,
        client: Client,
        event: AuditEvent,
    ) -> Result<(), Error> {
        let client_id = client.client_id.clone();
        let changed = self
            .directory
            .change_client(client, Audit::event(event))
            .await?;
        self.forget_client(school.id, &client_id);
        match changed {
            true => Ok(()),
            false => Err(Error::not_found(format!("no client `{client_id}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: Value) -> ClientInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn client_rules() {
        let ok = input(
            json!({"name": "Portal", "redirect_uris": ["https://portal.example/cb"], "grant_types": ["authorization_code", "refresh_token"]}),
        );
        assert!(ok.check(&GRANTABLE_SCOPES).is_ok());
        assert!(ok.require_pkce, "PKCE by default");
        for bad in [
            json!({"name": "P", "redirect_uris": ["http://portal.example/cb"], "grant_types": ["authorization_code"]}),
            json!({"name": "P", "redirect_uris": [], "grant_types": ["authorization_code"]}),
            json!({"name": "P", "redirect_uris": [], "grant_types": ["refresh_token"]}),
            json!({"name": "P", "redirect_uris": [], "grant_types": ["client_credentials"], "public_client": true}),
            json!({"name": "P", "redirect_uris": [], "grant_types": ["client_credentials"], "allowed_scopes": ["district"]}),
            json!({"name": "P", "redirect_uris": [], "grant_types": ["client_credentials"], "min_acr": "urn:other"}),
            json!({"name": "", "redirect_uris": [], "grant_types": ["client_credentials"]}),
            json!({"name": "P", "redirect_uris": [], "grant_types": ["client_credentials"], "refresh_reuse_grace_secs": -1}),
            json!({"name": "P", "redirect_uris": [], "grant_types": ["client_credentials"], "refresh_reuse_grace_secs": 301}),
            json!({"name": "P", "redirect_uris": ["https://p.example/cb"], "grant_types": ["authorization_code"], "public_client": true, "refresh_reuse_grace_secs": 10}),
        ] {
            assert!(
                input(bad.clone()).check(&GRANTABLE_SCOPES).is_err(),
                "{bad}"
            );
        }
        for fine in [0, 60, 300] {
            let grace = input(
                json!({"name": "P", "redirect_uris": [], "grant_types": ["client_credentials"], "refresh_reuse_grace_secs": fine}),
            );
            assert!(grace.check(&GRANTABLE_SCOPES).is_ok(), "{fine}");
        }
        let public_none = input(
            json!({"name": "P", "redirect_uris": ["https://p.example/cb"], "grant_types": ["authorization_code"], "public_client": true, "refresh_reuse_grace_secs": 0}),
        );
        assert!(
            public_none.check(&GRANTABLE_SCOPES).is_ok(),
            "0 is allowed for a public client"
        );
        assert!(serde_json::from_value::<ClientInput>(
            json!({"name": "P", "redirect_uris": [], "grant_types": [], "extra": 1})
        )
        .is_err());
    }

    #[test]
    fn signing_alg_by_its_standard_name_or_the_alias() {
        let with = |extra: Value| {
            let mut v =
                json!({"name": "P", "redirect_uris": [], "grant_types": ["client_credentials"]});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            input(v)
        };
        let alg_of = |i: ClientInput| {
            i.check(&GRANTABLE_SCOPES).unwrap();
            i.signing_alg().to_string()
        };
        assert_eq!(alg_of(with(json!({}))), "RS256");
        assert_eq!(
            alg_of(with(json!({"id_token_signed_response_alg": "ES256"}))),
            "ES256"
        );
        assert_eq!(alg_of(with(json!({"id_token_alg": "ES256"}))), "ES256");
        let both = json!({"id_token_signed_response_alg": "ES256", "id_token_alg": "ES256"});
        assert_eq!(alg_of(with(both)), "ES256");
        let conflict =
            with(json!({"id_token_signed_response_alg": "ES256", "id_token_alg": "RS256"}));
        let refused = conflict.check(&GRANTABLE_SCOPES).unwrap_err();
        assert_eq!(refused.code, crate::code::Code::InvalidRequest);
        assert!(
            refused.description.contains("differ"),
            "{}",
            refused.description
        );
        for bad in [
            json!({"id_token_signed_response_alg": "HS256"}),
            json!({"id_token_alg": "none"}),
        ] {
            assert!(with(bad.clone()).check(&GRANTABLE_SCOPES).is_err(), "{bad}");
        }
    }
}
