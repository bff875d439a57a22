//! Schools (tenants) through the admin API: list, create (district operators), rename or
//! disable; each change audited with before and after.

use serde::Deserialize;
use serde_json::{json, Value};

use super::listing::{ListQuery, Listing};
use super::{invalid, valid_name, valid_school_code, Principal};
use crate::audit::Audit;
use crate::error::Error;
use crate::keys::new_keys;
use crate::model::{NewSchool, School};
use crate::oidc::Provider;
use crate::store::StoreError;

/// `POST /schools`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchoolInput {
    pub code: String,
    pub name: String,
    /// The district tenant: the operator's bootstrap only (never read from a request).
    #[serde(skip)]
    pub district: bool,
}

/// `PATCH /schools/{school}`: at least one of the two.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchoolPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
}

impl SchoolInput {
    /// The rules of a new school; only the operator makes the district tenant.
    fn check(&self, who: &Principal) -> Result<(), Error> {
        if !valid_school_code(&self.code) {
            return Err(invalid("code: 2 to 32 lowercase letters, digits or -"));
        }
        if !valid_name(&self.name) {
            return Err(invalid("name: 1 to 100 characters"));
        }
        if self.district && !who.is_operator() {
            return Err(Error::insufficient_scope(
                "only the operator creates the district tenant",
            ));
        }
        Ok(())
    }
}

impl SchoolPatch {
    /// The rules of a patch; `who` may not disable its own (the district) tenant.
    fn check(&self, who: &Principal, school: &School) -> Result<(), Error> {
        if self.name.as_deref().is_some_and(|n| !valid_name(n)) {
            return Err(invalid("name: 1 to 100 characters"));
        }
        if self.name.is_none() && self.disabled.is_none() {
            return Err(invalid("send name or disabled"));
        }
        if self.disabled == Some(true) && school.id == who.school.id {
            return Err(invalid("the district tenant cannot disable itself"));
        }
        Ok(())
    }
}

/// The JSON of a school as the admin API shows it.
pub fn school_json(s: &School) -> Value {
    json!({"code": s.code, "name": s.name, "disabled": s.disabled, "district": s.district})
}

impl Provider {
    /// A page of every school (district operators).
    pub async fn admin_list_schools(&self, query: &ListQuery) -> Result<Listing, Error> {
        let p = query.page()?;
        let schools = self.directory.list_schools(p.after, p.limit).await?;
        Ok(Listing {
            items: schools.iter().map(school_json).collect(),
            next_cursor: p.next(schools.len(), schools.last().map(|s| s.id)),
        })
    }

    /// Creates a school with its signing keys (district operators only).
    pub async fn admin_create_school(
        &self,
        who: &Principal,
        input: &SchoolInput,
    ) -> Result<School, Error> {
        input.check(who)?;
        let new = NewSchool {
            code: input.code.clone(),
            name: input.name.clone(),
            district: input.district,
            keys: new_keys().map_err(|_| Error::server_error())?,
            users: vec![],
        };
        // Recorded in the new school's own log, under the id it gets.
        let change = who.change(0, "school.create");
        let audit = Audit::each(move |made: &Vec<School>| {
            let created = |s: &School| change.clone().at(s.id).with(Value::Null, school_json(s));
            made.iter().map(created).collect()
        });
        let made = match self.directory.create_schools(vec![new], audit).await {
            Err(StoreError::Conflict(_)) => {
                let code = &input.code;
                return Err(Error::conflict(format!("the school `{code}` exists")));
            }
            other => other?,
        };
        made.into_iter().next().ok_or_else(Error::server_error)
    }

    pub async fn admin_update_school(
        &self,
        who: &Principal,
        school: &School,
        patch: SchoolPatch,
    ) -> Result<School, Error> {
        patch.check(who, school)?;
        let before = school_json(school);
        let change = who.change(school.id, "school.update");
        let audit = Audit::of(move |now: &School| change.with(before, school_json(now)));
        let updated = self
            .directory
            .change_school(school.id, patch.name, patch.disabled, None, audit)
            .await?
            .ok_or_else(|| Error::not_found("no such school"))?;
        self.forget_school(&school.code);
        Ok(updated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Origin;

    fn school(id: i64) -> School {
        serde_json::from_value(json!({
            "id": id, "code": "d", "name": "D", "disabled": false, "district": true
        }))
        .unwrap()
    }

    #[test]
    fn school_rules() {
        let new = |code: &str, name: &str| SchoolInput {
            code: code.into(),
            name: name.into(),
            district: false,
        };
        let operator = Principal::operator(Origin::default());
        assert!(new("a-es", "甲國小").check(&operator).is_ok());
        assert!(new("A", "甲").check(&operator).is_err());
        assert!(new("a-es", "").check(&operator).is_err());
        let district = SchoolInput {
            district: true,
            ..new("district", "教育局")
        };
        assert!(district.check(&operator).is_ok());
        let who = Principal {
            school: school(1),
            actor: "ops".into(),
            client_id: "c".into(),
            scopes: vec!["district".into()],
            origin: Origin::default(),
            operator: false,
        };
        let patch = |name: Option<&str>, disabled: Option<bool>| SchoolPatch {
            name: name.map(str::to_string),
            disabled,
        };
        assert!(patch(None, None).check(&who, &school(2)).is_err());
        assert!(patch(Some("\u{7}"), None).check(&who, &school(2)).is_err());
        assert!(patch(None, Some(true)).check(&who, &school(2)).is_ok());
        assert!(patch(None, Some(true)).check(&who, &school(1)).is_err());
        assert!(
            district.check(&who).is_err(),
            "a district operator's token does not make a district tenant"
        );
    }
}
