//! What a handler needs to know of the route table: where the admin API lives, and the
//! scopes of the route a request matched. The table itself is built next to the handlers
//! (the admin module's `ROUTES`) and handed to the admin scope as app data, so that this
//! module, and the caller check that reads it, do not depend on the module that lists the
//! handlers.

use actix_web::HttpRequest;

/// Where the admin API lives.
pub const PREFIX: &str = "/admin/v1";

/// One admin route: method, path under [`PREFIX`], and the scopes that may call it (any one).
#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub scopes: &'static [&'static str],
}

/// The route table, as app data of the admin scope.
#[derive(Clone, Copy, Debug)]
pub struct RouteTable(pub &'static [RouteSpec]);

/// The scopes of the route this request matched (none when it is not in the table: then
/// only a district operator passes).
pub fn scopes_of(req: &HttpRequest) -> &'static [&'static str] {
    let Some(RouteTable(routes)) = req.app_data::<RouteTable>().copied() else {
        return &[];
    };
    let pattern = req.match_pattern().unwrap_or_default();
    let path = pattern.strip_prefix(PREFIX).unwrap_or_default();
    let method = req.method().as_str().to_ascii_lowercase();
    routes
        .iter()
        .find(|r| r.path == path && r.method == method)
        .map_or(&[], |r| r.scopes)
}
