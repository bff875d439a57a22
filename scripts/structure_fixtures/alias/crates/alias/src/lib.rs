//! Circles through module names: an alias of a sibling (p <-> q), an alias of a nested
//! module (r <-> oidc::token), and an imported module name with a path through it
//! (s <-> oidc::session).
pub mod oidc;
pub mod p;
pub mod q;
pub mod r;
pub mod s;
