use crate::s::sf;

pub struct Session;

pub fn start() -> Session {
    Session
}

pub fn restart() -> Session {
    sf()
}
