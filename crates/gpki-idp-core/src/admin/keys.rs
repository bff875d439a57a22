//! A school's signing keys through the admin API: the list (never the private part) and a
//! rotation (district operators), audited.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{invalid, Principal};
use crate::error::Error;
use crate::keys::Alg;
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

    /// A new signing key of `alg`; the old one is retired. Returns the new `{kid, alg}`.
    pub async fn admin_rotate_key(
        &self,
        who: &Principal,
        school: &School,
        input: &RotateInput,
    ) -> Result<Value, Error> {
        let alg = Alg::parse(&input.alg).ok_or_else(|| invalid("alg: RS256 or ES256"))?;
        let kid = self.rotate_key(school, alg).await?;
        let after = json!({"alg": alg.name(), "kid": kid});
        self.audit_change(who, school, "key.rotate", None, Value::Null, after)
            .await?;
        Ok(json!({"kid": kid, "alg": input.alg}))
    }
}
