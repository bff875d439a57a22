//! Fault injection for service tests: a TCP proxy in front of PostgreSQL that can drop or reset
//! every connection, a private `redis-server` that can be killed and restarted, a test server
//! wired through both, and the small HTTP helpers the fault tests share. Each test prints one
//! `FAULT-FIGURES {json}` line (see docs/FAULTS.md).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gpki_idp_server::demo;
use gpki_idp_store::testing;
use reqwest::blocking::Client as Http;
use serde_json::Value;

use super::{hidden, start, Backend, TestServer};

pub const REDIRECT: &str = "http://127.0.0.1:9000/callback";

/// The fault tests measure times: they run one at a time even under `cargo test`'s threads.
pub fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// TcpProxy

/// What the proxy does with connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward bytes both ways.
    Pass,
    /// A silent network: bytes of new and existing connections are read and thrown away,
    /// nothing is forwarded, nothing is closed.
    Blackhole,
    /// Every existing connection is closed with RST; new ones are accepted and reset at once.
    Reset,
}

const OPEN: u8 = 0;
const CLOSE_FIN: u8 = 1;
const CLOSE_RST: u8 = 2;

/// One proxied connection, as the pump threads and the proxy see it.
struct Conn {
    /// Was blackholed: its bytes are thrown away until it is closed.
    dropped: AtomicBool,
    /// OPEN, or how the pumps are to close both sockets.
    close: AtomicU8,
}

struct Shared {
    mode: Mutex<Mode>,
    conns: Mutex<Vec<Arc<Conn>>>,
    stop: AtomicBool,
    accepted: AtomicUsize,
}

/// A thread-based TCP proxy on 127.0.0.1:0 to one target; std only.
pub struct TcpProxy {
    addr: SocketAddr,
    target: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<std::thread::JoinHandle<()>>,
}

impl TcpProxy {
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy binds");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Pass),
            conns: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::spawn(move || accept_loop(listener, target, &shared))
        };
        Self {
            addr,
            target,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// A proxy in front of the PostgreSQL server of `url`, and `url` rewritten to go through it.
    pub fn for_postgres(url: &str) -> (Self, String) {
        let mut parsed = url::Url::parse(url).expect("a postgres URL");
        let host = parsed.host_str().expect("a host").to_string();
        let port = parsed.port().unwrap_or(5432);
        let target = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .expect("PostgreSQL host resolves")
            .next()
            .expect("an address");
        let proxy = Self::start(target);
        parsed.set_host(Some("127.0.0.1")).unwrap();
        parsed.set_port(Some(proxy.port())).unwrap();
        (proxy, parsed.to_string())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    pub fn mode(&self) -> Mode {
        *self.shared.mode.lock().unwrap()
    }

    pub fn set_mode(&self, mode: Mode) {
        let mut current = self.shared.mode.lock().unwrap();
        *current = mode;
        let mut conns = self.shared.conns.lock().unwrap();
        conns.retain(|c| c.close.load(Ordering::SeqCst) == OPEN);
        for c in conns.iter() {
            match mode {
                Mode::Blackhole => c.dropped.store(true, Ordering::SeqCst),
                Mode::Reset => c.close.store(CLOSE_RST, Ordering::SeqCst),
                // A blackholed connection lost bytes: on a real network TCP keepalive or
                // tcp_user_timeout would end it eventually; the proxy ends it when the network
                // comes back, as if that timer had just fired.
                Mode::Pass if c.dropped.load(Ordering::SeqCst) => {
                    c.close.store(CLOSE_RST, Ordering::SeqCst)
                }
                Mode::Pass => {}
            }
        }
    }

    /// Back to `Pass`; connections that were blackholed are closed (see `set_mode`).
    pub fn restore(&self) {
        self.set_mode(Mode::Pass);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for c in self.shared.conns.lock().unwrap().iter() {
            let _ = c
                .close
                .compare_exchange(OPEN, CLOSE_FIN, Ordering::SeqCst, Ordering::SeqCst);
        }
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, target: SocketAddr, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let client = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(_) => continue,
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let _ = client.set_nonblocking(false);
        let _ = client.set_nodelay(true);
        let mode = *shared.mode.lock().unwrap();
        let upstream = match mode {
            Mode::Reset => {
                reset(&client);
                continue;
            }
            // A silent network: the client's bytes go nowhere, so no upstream connection.
            Mode::Blackhole => None,
            Mode::Pass => match TcpStream::connect_timeout(&target, Duration::from_secs(3)) {
                Ok(u) => {
                    let _ = u.set_nodelay(true);
                    Some(u)
                }
                Err(_) => {
                    reset(&client);
                    continue;
                }
            },
        };
        let conn = Arc::new(Conn {
            dropped: AtomicBool::new(upstream.is_none()),
            close: AtomicU8::new(OPEN),
        });
        {
            // The mode may have changed since it was read: apply it under the lock.
            let mode = shared.mode.lock().unwrap();
            match *mode {
                Mode::Blackhole => conn.dropped.store(true, Ordering::SeqCst),
                Mode::Reset => conn.close.store(CLOSE_RST, Ordering::SeqCst),
                Mode::Pass => {}
            }
            shared.conns.lock().unwrap().push(conn.clone());
        }
        spawn_pumps(client, upstream, conn);
    }
}

/// Two threads, one per direction. Reads time out every 50 ms so a pump sees a close request
/// soon; the sockets close (with RST when asked) once both pumps have dropped them.
fn spawn_pumps(client: TcpStream, upstream: Option<TcpStream>, conn: Arc<Conn>) {
    let tick = Some(Duration::from_millis(50));
    let _ = client.set_read_timeout(tick);
    if let Some(u) = &upstream {
        let _ = u.set_read_timeout(tick);
    }
    let pair = |from: &TcpStream, to: &Option<TcpStream>| {
        (
            from.try_clone().ok(),
            to.as_ref().and_then(|t| t.try_clone().ok()),
        )
    };
    if let (Some(from), to) = pair(&client, &upstream) {
        let conn = conn.clone();
        std::thread::spawn(move || pump(from, to, &conn));
    }
    if let Some(u) = upstream {
        let c = conn.clone();
        std::thread::spawn(move || pump(u, Some(client), &c));
    } else {
        // No upstream: this thread only keeps the client socket open until the close.
        std::thread::spawn(move || {
            while conn.close.load(Ordering::SeqCst) == OPEN {
                std::thread::sleep(Duration::from_millis(50));
            }
            finish(&client, None, &conn);
        });
    }
}

fn pump(mut from: TcpStream, mut to: Option<TcpStream>, conn: &Conn) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        if conn.close.load(Ordering::SeqCst) != OPEN {
            break;
        }
        match from.read(&mut buf) {
            Ok(0) => {
                // The sender closed its side: pass the FIN on (unless the bytes are dropped).
                if !conn.dropped.load(Ordering::SeqCst) {
                    let _ = conn.close.compare_exchange(
                        OPEN,
                        CLOSE_FIN,
                        Ordering::SeqCst,
                        Ordering::SeqCst,
                    );
                    break;
                }
                // A blackholed peer's FIN is dropped like its bytes; wait for the close.
                while conn.close.load(Ordering::SeqCst) == OPEN {
                    std::thread::sleep(Duration::from_millis(50));
                }
                break;
            }
            Ok(n) => {
                if conn.dropped.load(Ordering::SeqCst) {
                    continue;
                }
                if let Some(t) = to.as_mut() {
                    if t.write_all(&buf[..n]).is_err() {
                        let _ = conn.close.compare_exchange(
                            OPEN,
                            CLOSE_RST,
                            Ordering::SeqCst,
                            Ordering::SeqCst,
                        );
                        break;
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(_) => {
                let _ = conn.close.compare_exchange(
                    OPEN,
                    CLOSE_RST,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
                break;
            }
        }
    }
    finish(&from, to.as_ref(), conn);
}

fn finish(a: &TcpStream, b: Option<&TcpStream>, conn: &Conn) {
    for s in std::iter::once(a).chain(b) {
        if conn.close.load(Ordering::SeqCst) == CLOSE_RST {
            reset(s);
        } else {
            let _ = s.shutdown(Shutdown::Write);
        }
    }
}

/// Closes `s` with RST rather than FIN: SO_LINGER {on, 0 s}, then shutdown wakes any reader;
/// the RST goes out when the last descriptor of the socket is dropped.
fn reset(s: &TcpStream) {
    let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
    let _ = s.shutdown(Shutdown::Read);
}

// ---------------------------------------------------------------------------------------------
// PrivateRedis

/// A `redis-server` of this test alone on a free port, without persistence; killed on drop.
pub struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let port = free_port();
        let mut redis = Self { port, child: None };
        redis.spawn();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL: no goodbye to the clients, everything in memory lost.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A new, empty server on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let child = Command::new("redis-server")
                .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("redis-server is required for the fault tests and did not start: {e}")
                });
            self.child = Some(child);
            if self.wait_for_pong(deadline) {
                return;
            }
            // It exited (the port still held by the killed one?): try again until the deadline.
            self.kill();
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_for_pong(&mut self, deadline: Instant) -> bool {
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                return false;
            }
            if ping(self.port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn ping(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// The service under faults

/// A test server on a fresh PostgreSQL database reached through a [`TcpProxy`] and on a
/// [`PrivateRedis`].
pub struct Rig {
    pub proxy: TcpProxy,
    pub redis: PrivateRedis,
    server: Option<TestServer>,
}

/// The database settings the lead adds for issue 11, set here to their documented defaults so
/// the bounds of the tests are those of a default deployment.
fn database_timeouts(c: &mut gpki_idp_server::config::Config) {
    c.database_statement_timeout_ms = 5000;
    c.database_connect_timeout_secs = 3;
    c.database_acquire_timeout_ms = 3000;
}

impl Rig {
    pub fn start(
        tweak: impl FnOnce(&mut gpki_idp_server::config::Config) + Send + 'static,
    ) -> Self {
        let (proxy, database_url) = TcpProxy::for_postgres(&testing::fresh_postgres_url());
        let redis = PrivateRedis::start();
        let redis_url = redis.url();
        let server = start(Backend::Real, move |c| {
            c.database_url = Some(database_url);
            c.redis_url = Some(redis_url);
            database_timeouts(c);
            // Many logins from one address in these tests: no throttling in the way.
            c.tokens.max_attempts_per_ip = 1_000_000;
            c.tokens.max_lookups_per_ip = 1_000_000;
            c.tokens.max_failures_per_account = 1_000_000;
            c.tokens.account_failures_before_delay = 1_000_000;
            tweak(c);
        });
        Self {
            proxy,
            redis,
            server: Some(server),
        }
    }

    pub fn server(&self) -> &TestServer {
        self.server.as_ref().unwrap()
    }

    pub fn issuer(&self) -> String {
        self.server().issuer(demo::SCHOOL)
    }

    /// Network and Redis back, then waits (up to `within`) until /readyz says 200; returns how
    /// long that took, or None.
    pub fn heal_and_wait_ready(&mut self, within: Duration) -> Option<Duration> {
        self.proxy.restore();
        if !self.redis.running() {
            self.redis.restart();
        }
        wait_ready(&self.server().base, within)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        // Requests stuck on a blackholed connection must end before the server can stop.
        self.proxy.restore();
        drop(self.server.take());
    }
}

/// Polls /readyz every 100 ms until 200 or `within` passes; the time it took.
pub fn wait_ready(base: &str, within: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    let http = client(Duration::from_secs(5));
    while t0.elapsed() < within {
        if let Ok(r) = http.get(format!("{base}/readyz")).send() {
            if r.status() == 200 {
                return Some(t0.elapsed());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// No redirects followed, every request bounded by `timeout`: a fault never hangs a test.
pub fn client(timeout: Duration) -> Http {
    reqwest::blocking::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3))
        .build()
        .unwrap()
}

/// A browser (cookies) with a bound on every request and `user_agent`.
pub fn browser(timeout: Duration, user_agent: &str) -> Http {
    reqwest::blocking::ClientBuilder::new()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3))
        .user_agent(user_agent)
        .build()
        .unwrap()
}

/// An HTTP answer as the tests see it: a status and a body, or how it failed.
#[derive(Clone, Debug)]
pub enum Answer {
    Got {
        status: u16,
        body: Value,
        location: Option<String>,
        elapsed: Duration,
    },
    /// No answer: a timeout, a reset, a refused connection (the text says which).
    Failed { error: String, elapsed: Duration },
}

impl Answer {
    pub fn of(t0: Instant, r: reqwest::Result<reqwest::blocking::Response>) -> Self {
        match r {
            Ok(r) => {
                let status = r.status().as_u16();
                let location = r
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .map(str::to_string);
                match r.text() {
                    Ok(text) => Answer::Got {
                        status,
                        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
                        location,
                        elapsed: t0.elapsed(),
                    },
                    Err(e) => Answer::Failed {
                        error: format!("truncated body after {status}: {e}"),
                        elapsed: t0.elapsed(),
                    },
                }
            }
            Err(e) => Answer::Failed {
                error: describe(&e),
                elapsed: t0.elapsed(),
            },
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Answer::Got { status, .. } => Some(*status),
            Answer::Failed { .. } => None,
        }
    }

    /// The status, or `timeout` / `connect` / `error` when there was none.
    pub fn label(&self) -> String {
        match self {
            Answer::Got { status, .. } => status.to_string(),
            Answer::Failed { error, .. } => error.split(':').next().unwrap_or("error").into(),
        }
    }

    pub fn body(&self) -> &Value {
        match self {
            Answer::Got { body, .. } => body,
            Answer::Failed { .. } => &Value::Null,
        }
    }

    pub fn elapsed(&self) -> Duration {
        match self {
            Answer::Got { elapsed, .. } | Answer::Failed { elapsed, .. } => *elapsed,
        }
    }

    /// The `error` member of a JSON answer.
    pub fn error(&self) -> Option<&str> {
        self.body().get("error").and_then(Value::as_str)
    }

    /// A 503 with a JSON body `{"error": "temporarily_unavailable"}`.
    pub fn is_json_503(&self) -> bool {
        self.status() == Some(503) && self.error() == Some("temporarily_unavailable")
    }

    /// The `code` of a redirect to the client with one.
    pub fn code(&self) -> Option<String> {
        let Answer::Got {
            status: 302 | 303,
            location: Some(l),
            ..
        } = self
        else {
            return None;
        };
        if !l.starts_with(REDIRECT) {
            return None;
        }
        let url = url::Url::parse(l).ok()?;
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        q.get("code").cloned()
    }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "truncated"
    } else {
        "error"
    };
    let mut text = format!("{kind}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// The demo portal's authorization request.
pub fn authorize_url(issuer: &str) -> String {
    let mut url = url::Url::parse(&format!("{issuer}/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", demo::CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid profile")
        .append_pair("state", "fault")
        .append_pair("nonce", "n-fault");
    url.to_string()
}

/// The login page's form: (req, csrf), or the answer when there was no page.
pub fn open_login_page(b: &Http, issuer: &str) -> Result<(String, String), Answer> {
    let t0 = Instant::now();
    let page = Answer::of(t0, b.get(authorize_url(issuer)).send());
    match &page {
        Answer::Got {
            status: 200,
            body: Value::String(html),
            ..
        } if html.contains("name=\"req\"") => Ok((hidden(html, "req"), hidden(html, "csrf"))),
        _ => Err(page),
    }
}

/// The password form of an open login page.
pub fn post_password(
    b: &Http,
    issuer: &str,
    (req, csrf): &(String, String),
    username: &str,
    password: &str,
) -> Answer {
    let form = [
        ("req", req.as_str()),
        ("csrf", csrf.as_str()),
        ("username", username),
        ("password", password),
    ];
    let t0 = Instant::now();
    Answer::of(t0, b.post(format!("{issuer}/login")).form(&form).send())
}

/// authorize → login page → password: the last answer (a redirect with a code on success).
pub fn password_login(b: &Http, issuer: &str, username: &str, password: &str) -> Answer {
    match open_login_page(b, issuer) {
        Ok(form) => post_password(b, issuer, &form, username, password),
        Err(answer) => answer,
    }
}

/// A token request of the demo portal (client_secret_basic).
pub fn token(http: &Http, issuer: &str, form: &[(&str, &str)]) -> Answer {
    let t0 = Instant::now();
    Answer::of(
        t0,
        http.post(format!("{issuer}/token"))
            .basic_auth(demo::CLIENT_ID, Some(demo::CLIENT_SECRET))
            .form(form)
            .send(),
    )
}

pub fn exchange_code(http: &Http, issuer: &str, code: &str) -> Answer {
    token(
        http,
        issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ],
    )
}

pub fn refresh(http: &Http, issuer: &str, refresh_token: &str) -> Answer {
    token(
        http,
        issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
}

/// A full login of the teacher by the code flow: the token response. Panics with the answer
/// that went wrong.
pub fn tokens_by_password(issuer: &str) -> Value {
    let b = browser(Duration::from_secs(15), "gpki-fault-tests");
    let login = password_login(&b, issuer, "teacher", demo::PASSWORD);
    let code = login
        .code()
        .unwrap_or_else(|| panic!("password login gave no code: {login:?}"));
    let tokens = exchange_code(&client(Duration::from_secs(15)), issuer, &code);
    assert_eq!(tokens.status(), Some(200), "code exchange: {tokens:?}");
    tokens.body().clone()
}

/// The same, as a yes/no for recovery loops.
pub fn full_login_works(issuer: &str) -> bool {
    let b = browser(Duration::from_secs(10), "gpki-fault-tests");
    let Some(code) = password_login(&b, issuer, "teacher", demo::PASSWORD).code() else {
        return false;
    };
    let tokens = exchange_code(&client(Duration::from_secs(10)), issuer, &code);
    tokens.status() == Some(200) && tokens.body()["refresh_token"].is_string()
}

/// Calls `f` every 200 ms until it is true or `within` passes; the time it took.
pub fn time_until(within: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    loop {
        if f() {
            return Some(t0.elapsed());
        }
        if t0.elapsed() >= within {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

/// What a fault test measured; printed as one `FAULT-FIGURES {json}` line.
#[derive(Debug, Default)]
pub struct Figures {
    pub fault: String,
    pub requests: u64,
    /// Answers that were not successes, by status (or `timeout`, `connect`, …).
    pub errors: BTreeMap<String, u64>,
    pub time_to_first_503_ms: Option<u128>,
    pub recovery_ms: Option<u128>,
    pub tokens_lost: Option<u64>,
    pub wrong_logins_accepted: Option<u64>,
    /// Anything else worth printing.
    pub extra: serde_json::Map<String, Value>,
}

impl Figures {
    pub fn new(fault: &str) -> Self {
        Self {
            fault: fault.into(),
            ..Self::default()
        }
    }

    /// Counts a request; a failure (no answer, or a status ≥ 400) by its label.
    pub fn count(&mut self, answer: &Answer) {
        self.requests += 1;
        match answer.status() {
            Some(s) if s < 400 => {}
            _ => *self.errors.entry(answer.label()).or_default() += 1,
        }
    }

    pub fn note(&mut self, key: &str, value: impl Into<Value>) {
        self.extra.insert(key.into(), value.into());
    }

    pub fn print(&self) {
        let json = serde_json::json!({
            "fault": self.fault,
            "requests": self.requests,
            "errors": self.errors,
            "time_to_first_503_ms": self.time_to_first_503_ms,
            "recovery_ms": self.recovery_ms,
            "tokens_lost": self.tokens_lost,
            "wrong_logins_accepted": self.wrong_logins_accepted,
            "extra": self.extra,
        });
        println!("FAULT-FIGURES {json}");
    }
}

/// Runs a fault test one at a time, prints its figures whatever happened (also when it
/// panicked half-way), then fails with the first problem it found.
pub fn fault_test(fault: &str, body: impl FnOnce(&mut Figures) -> Result<(), String>) {
    let _one_at_a_time = exclusive();
    let mut figures = Figures::new(fault);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&mut figures)));
    figures.print();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(problem)) => panic!("{fault}: {problem}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// `Err(message)` unless `ok`: for `?` in fault tests.
pub fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(message())
    }
}

// ---------------------------------------------------------------------------------------------
// The real binary

/// A `gpki-idp serve --demo` process; killed when dropped.
pub struct Binary {
    pub child: Child,
    pub base: String,
}

impl Binary {
    /// Starts the binary on a free port with `config` (TOML) written beside it.
    pub fn start(config: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "gpki-faults-{}-{}",
            std::process::id(),
            gpki_idp_core::random_token(6)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let listen = format!("127.0.0.1:{}", free_port());
        let path = dir.join("config.toml");
        std::fs::write(&path, format!("public_url = \"http://{listen}\"\n{config}")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_gpki-idp"))
            .args(["serve", "--demo", "--config"])
            .arg(&path)
            .args(["--listen", &listen, "--workers", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("gpki-idp starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut told = false;
            // Read to the end so the process never blocks on a full pipe.
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if !told && line.starts_with("gpki-idp listening on ") {
                    let _ = tx.send(());
                    told = true;
                }
            }
        });
        if rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = child.kill();
            panic!("gpki-idp did not say it listens within 60 s");
        }
        Self {
            child,
            base: format!("http://{listen}"),
        }
    }

    pub fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok, "kill -TERM failed");
    }

    /// Waits up to `within` for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let t0 = Instant::now();
        while t0.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
