//! Browser sessions through the admin API: the live ones (of one account or all), ending
//! one, and ending every one of an account, each with its audit event. A session's id is 64 hexadecimal digits, and is the list's
//! cursor too.

use serde::Deserialize;
use serde_json::{json, Value};

use super::listing::{parse_limit, Listing};
use super::{invalid, Principal};
use crate::audit::Audit;
use crate::error::Error;
use crate::model::{School, SessionRecord};
use crate::oidc::Provider;

/// `GET …/sessions?limit=&cursor=&username=`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    #[serde(default)]
    pub limit: Option<String>,
    /// The id of the last session of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

impl SessionQuery {
    /// The page size and the id to start after.
    fn page(&self) -> Result<(i64, String), Error> {
        let limit = parse_limit(self.limit.as_deref())?;
        let after = self.cursor.clone().unwrap_or_default();
        if after.len() > 64 || !after.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("cursor is not one this API gave"));
        }
        Ok((limit, after))
    }
}

/// Whether `id` has the form of a session id.
fn check_id(id: &str) -> Result<(), Error> {
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(invalid("id: 64 hexadecimal digits"))
    }
}

/// The JSON of a session.
pub fn session_json(s: &SessionRecord) -> Value {
    json!({
        "id": s.id, "username": s.username, "acr": s.acr, "amr": s.amr,
        "auth_time": s.auth_time, "expires_at": s.expires_at,
        "ip": s.ip, "user_agent": s.user_agent, "clients": s.clients,
        "certificate": s.cert_sha256.is_some(),
    })
}

impl Provider {
    /// A page of the school's live sessions, or of one account's (`not_found` when the
    /// school has no such account), in the order of their id; and the next page's cursor.
    pub async fn admin_sessions(
        &self,
        school: &School,
        query: &SessionQuery,
    ) -> Result<(Vec<SessionRecord>, Option<String>), Error> {
        let (limit, after) = query.page()?;
        let user_id = match &query.username {
            Some(name) => Some(self.admin_user(school, name).await?.id),
            None => None,
        };
        let found = self
            .directory
            .list_sessions(school.id, user_id, after, limit, crate::now())
            .await?;
        let next_cursor = (found.len() as i64 >= limit)
            .then(|| found.last().map(|s| s.id.clone()))
            .flatten();
        Ok((found, next_cursor))
    }

    /// A page of the school's live sessions, or of one account's, as the admin API lists it.
    pub async fn admin_list_sessions(
        &self,
        school: &School,
        query: &SessionQuery,
    ) -> Result<Listing, Error> {
        let (found, next_cursor) = self.admin_sessions(school, query).await?;
        Ok(Listing {
            items: found.iter().map(session_json).collect(),
            next_cursor,
        })
    }

    /// Ends a browser session and the refresh tokens issued in it, with its audit event.
    pub async fn admin_revoke_session(
        &self,
        who: &Principal,
        school: &School,
        id: &str,
    ) -> Result<(), Error> {
        check_id(id)?;
        let change = who.change(school.id, "session.revoke");
        let audit = Audit::of(move |ended: &SessionRecord| {
            change
                .subject(&ended.username)
                .with(session_json(ended), Value::Null)
        });
        self.revoke_session(school, id, audit)
            .await?
            .ok_or_else(|| Error::not_found("no such session"))?;
        Ok(())
    }

    /// Ends every live session of the account `username` and the refresh tokens issued in
    /// them: one `session.end` event per session, with the caller as actor, and the portals
    /// that got a token in each are told (Back-Channel Logout). How many ended (0 when the
    /// account had none); `not_found` when the school has no such account.
    pub async fn admin_end_user_sessions(
        &self,
        who: &Principal,
        school: &School,
        username: &str,
    ) -> Result<usize, Error> {
        let user = self.admin_user(school, username).await?;
        let change = who.change(school.id, "session.end").subject(&user.username);
        let audit = Audit::each(move |ended: &Vec<SessionRecord>| {
            ended
                .iter()
                .map(|s| {
                    // `reason` as the other ends of a session say it (`self`, `user.disabled`).
                    let mut e = change.clone().with(session_json(s), Value::Null);
                    e.detail["reason"] = json!("admin");
                    e
                })
                .collect()
        });
        let ended = self
            .directory
            .end_user_sessions(school.id, user.id, audit)
            .await?;
        for s in &ended {
            self.forget_session(school, &s.id).await?;
        }
        Ok(ended.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_and_cursors() {
        let id = "ab".repeat(32);
        assert!(check_id(&id).is_ok());
        assert!(check_id("abc").is_err() && check_id(&"zz".repeat(32)).is_err());
        let q = |cursor: &str| SessionQuery {
            cursor: Some(cursor.into()),
            ..Default::default()
        };
        // A session id is hexadecimal: its letters make a good cursor.
        assert_eq!(q(&id).page().unwrap(), (100, id.clone()));
        assert!(q("not hex").page().is_err());
        assert!(q(&"a".repeat(65)).page().is_err());
        assert_eq!(
            SessionQuery::default().page().unwrap(),
            (100, String::new())
        );
    }
}
