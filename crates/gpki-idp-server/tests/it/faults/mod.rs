//! The service on PostgreSQL + Redis under injected faults: Redis killed and restarted, the
//! database's network silent (blackhole) or reset, a refresh answer lost, the OCSP responder
//! down or hanging, SIGTERM under load. Each test prints one `FAULT-FIGURES {json}` line;
//! docs/FAULTS.md explains them. The tests run alone (they measure times): see support/gate.rs.

mod audit;
mod database;
mod ocsp;
mod refresh;
mod sigterm;

use std::time::Duration;

/// How fast an API must answer while a backing store is unreachable: the request deadline of
/// a school's issuer (`request_deadline_ms`, 3 s) and a second for a loaded test machine.
const FAST_503: Duration = Duration::from_secs(4);
/// How long the service may take to be fully back once the fault is gone.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);
