//! Lists of strings (roles, redirect URIs, amr, CIDRs) stored as JSON text in one column:
//! the same on PostgreSQL and SQLite.

/// The list in a column; an unreadable column reads as empty.
pub fn list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The column text of a list.
pub fn text(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}
