//! Fixtures: a school with accounts of known passwords and clients of known secrets (the
//! demo school of `serve --demo`), created where missing and never reset, each creation
//! written with its audit event by the caller (the operator).

use serde_json::Value;

use super::clients::settings_json;
use super::records::SchoolInput;
use super::users::user_json;
use super::Principal;
use crate::audit::Audit;
use crate::error::Error;
use crate::model::{Client, NewClient, NewUser, School, User};
use crate::oidc::Provider;

/// What a fixture school holds. The `school_id` of its accounts and clients is the school's.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub code: String,
    pub name: String,
    pub users: Vec<NewUser>,
    pub clients: Vec<NewClient>,
}

impl Provider {
    /// Creates what is missing of `fixture` (the school with its keys, then each account
    /// and client by name); what exists is left as it is. Returns the school.
    pub async fn seed(&self, who: &Principal, fixture: Fixture) -> Result<School, Error> {
        let school = match self.directory.school_by_code(&fixture.code).await? {
            Some(school) => school,
            None => {
                let input = SchoolInput {
                    code: fixture.code,
                    name: fixture.name,
                    district: false,
                };
                self.admin_create_school(who, &input).await?
            }
        };
        self.ensure_keys(&school).await?;
        for user in fixture.users {
            self.seed_user(who, &school, user).await?;
        }
        for client in fixture.clients {
            self.seed_client(who, &school, client).await?;
        }
        Ok(school)
    }

    async fn seed_user(
        &self,
        who: &Principal,
        school: &School,
        mut user: NewUser,
    ) -> Result<(), Error> {
        let username = user.username.clone();
        if self
            .directory
            .user_by_username(school.id, &username)
            .await?
            .is_some()
        {
            return Ok(());
        }
        user.school_id = school.id;
        let change = who.change(school.id, "user.create").subject(&username);
        let audit = Audit::of(move |u: &User| change.with(Value::Null, user_json(u, 0)));
        self.directory.add_user(user, false, audit).await?;
        Ok(())
    }

    async fn seed_client(
        &self,
        who: &Principal,
        school: &School,
        mut client: NewClient,
    ) -> Result<(), Error> {
        if self
            .directory
            .client(school.id, &client.client_id)
            .await?
            .is_some()
        {
            return Ok(());
        }
        client.school_id = school.id;
        let change = who.change(school.id, "client.create");
        let audit = Audit::of(move |c: &Client| change.with(Value::Null, settings_json(c)));
        self.directory.add_client(client, audit).await?;
        Ok(())
    }
}
