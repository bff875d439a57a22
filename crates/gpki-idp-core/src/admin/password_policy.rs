//! A school's password policy through the admin API (資安選項設定 → 密碼原則): the rules the
//! school sets itself, over the district's defaults from the configuration.

use serde_json::{json, Value};

use super::{invalid, Principal};
use crate::audit::Audit;
use crate::error::Error;
use crate::model::School;
use crate::model::SchoolPasswordPolicy;
use crate::oidc::Provider;

impl Provider {
    /// The rules the school set itself (the GM's page shows them beside the district's).
    pub async fn school_password_policy(
        &self,
        school: &School,
    ) -> Result<SchoolPasswordPolicy, Error> {
        Ok(self.directory.password_policy(school.id).await?)
    }

    /// The school's own rules, the district's, and the policy in force.
    pub async fn admin_password_policy(&self, school: &School) -> Result<Value, Error> {
        let own = self.directory.password_policy(school.id).await?;
        Ok(self.password_policy_json(&own))
    }

    fn password_policy_json(&self, own: &SchoolPasswordPolicy) -> Value {
        let district = &self.settings.passwords;
        json!({"school": own, "district": district, "effective": own.over(district)})
    }

    /// Replaces the school's own rules (a rule left out or null is the district's), audited
    /// `school.password_policy` with before and after; it applies to the next change of a
    /// password and the next login.
    pub async fn admin_set_password_policy(
        &self,
        who: &Principal,
        school: &School,
        input: SchoolPasswordPolicy,
    ) -> Result<Value, Error> {
        input
            .over(&self.settings.passwords)
            .check()
            .map_err(invalid)?;
        let before = self.directory.password_policy(school.id).await?;
        let event = who
            .change(school.id, "school.password_policy")
            .with(json!(before), json!(input));
        self.directory
            .set_password_policy(school.id, input.clone(), Audit::event(event))
            .await?;
        Ok(self.password_policy_json(&input))
    }
}
