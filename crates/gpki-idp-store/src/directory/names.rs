//! Usernames of user ids, read alongside other rows (sessions, bindings, codes).

/// user id → username for a set of ids, on the connection `$c` of either backend.
macro_rules! usernames {
    ($c:expr, $ids:expr) => {
        $crate::schema::users::table
            .filter($crate::schema::users::id.eq_any($ids))
            .select(($crate::schema::users::id, $crate::schema::users::username))
            .load::<(i64, String)>($c)
    };
}
pub(crate) use usernames;

/// The username of `id` among `names` (from `usernames!`), empty when absent.
pub fn name_of(names: &[(i64, String)], id: i64) -> String {
    names
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, n)| n.clone())
        .unwrap_or_default()
}
