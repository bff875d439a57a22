//! A school's signing keys through the admin API: the list (never the private part) and a
//! rotation (district operators), written with its audit event.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{invalid, Principal};
use crate::audit::{Audit, Origin};
use crate::error::Error;
use crate::keys::{Alg, SigningKey};
use crate::model::School;
use crate::oidc::Provider;

/// `POST …/keys/rotate`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateInput {
    pub alg: String,
}

impl Provider {
    /// The school's keys: kid, alg, when made and when retired.
    pub async fn admin_keys(&self, school: &School) -> Result<Vec<Value>, Error> {
        let keys = self.directory.signing_keys(school.id).await?;
        Ok(keys
            .iter()
            .map(|k| json!({"kid": k.kid, "alg": k.alg, "created_at": k.created_at, "retired_at": k.retired_at}))
            .collect())
    }

    /// Ensures the school has an active RS256 and ES256 key; the keys it adds are audited as
    /// made by the operator.
    pub async fn ensure_keys(&self, school: &School) -> Result<(), Error> {
        let existing = self.directory.signing_keys(school.id).await?;
        let mut added = Vec::new();
        for alg in [Alg::Rs256, Alg::Es256] {
            if !existing
                .iter()
                .any(|k| k.alg == alg.name() && k.retired_at.is_none())
            {
                added.push(SigningKey::generate(alg).map_err(|_| Error::server_error())?);
            }
        }
        if !added.is_empty() {
            let kids: Vec<&str> = added.iter().map(|k| k.kid.as_str()).collect();
            let operator = Principal::operator(Origin::default());
            let change = operator.change(school.id, "key.create");
            let event = change.with(Value::Null, json!({ "kids": kids }));
            let audit = Audit::event(event);
            self.directory
                .add_signing_keys(school.id, added, None, audit)
                .await?;
        }
        self.forget_keys(school.id);
        Ok(())
    }

    /// A new signing key of `alg`; the old one is retired. Returns the new `{kid, alg}`.
    pub async fn admin_rotate_key(
        &self,
        who: &Principal,
        school: &School,
        input: &RotateInput,
    ) -> Result<Value, Error> {
        let alg = Alg::parse(&input.alg).ok_or_else(|| invalid("alg: RS256 or ES256"))?;
        let kid = self.rotate_key_by(who, school, alg).await?;
        Ok(json!({"kid": kid, "alg": input.alg}))
    }

    /// Starts signing with a new key of `alg`, as the operator; the old ones stay published
    /// for a while. Returns the new key's id.
    pub async fn rotate_key(&self, school: &School, alg: Alg) -> Result<String, Error> {
        let operator = Principal::operator(Origin::default());
        self.rotate_key_by(&operator, school, alg).await
    }

    /// The new key, the old ones of `alg` retired and the audit event, in one transaction.
    async fn rotate_key_by(
        &self,
        who: &Principal,
        school: &School,
        alg: Alg,
    ) -> Result<String, Error> {
        let record = SigningKey::generate(alg).map_err(|_| Error::server_error())?;
        let kid = record.kid.clone();
        let after = json!({"alg": alg.name(), "kid": kid});
        let event = who.change(school.id, "key.rotate").with(Value::Null, after);
        self.directory
            .add_signing_keys(
                school.id,
                vec![record],
                Some(crate::now()),
                Audit::event(event),
            )
            .await?;
        self.forget_keys(school.id);
        Ok(kid)
    }
}
