//! Statements whose SQL text never changes, marked so that the connection keeps them
//! prepared. Diesel prepares every UPDATE anew at each call because an update's `SET` list
//! may skip `None` fields; on SQLite that parse was about 3 % of a refresh grant.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// A statement with the same SQL at every call: no optional fields in its `SET` list, no
/// lists of varying length. Its Rust type then names its SQL, and the prepared-statement
/// cache may key it by that type.
pub struct Fixed<Q>(pub Q);

impl<Q: 'static> QueryId for Fixed<Q> {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Fixed<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for Fixed<Q> {}
