//! A thread-based TCP proxy on 127.0.0.1:0 to one target (std only) that passes bytes on, or
//! makes the network silent (blackhole), or resets every connection: put in front of
//! PostgreSQL by the fault tests.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
}

/// A thread-based TCP proxy on 127.0.0.1:0 to one target; std only.
pub struct TcpProxy {
    addr: SocketAddr,
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
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::spawn(move || accept_loop(listener, target, &shared))
        };
        Self {
            addr,
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
                // Bytes read after a close was asked for are not forwarded: a connection the
                // proxy resets carries nothing more, even within a read's 50 ms tick.
                if conn.close.load(Ordering::SeqCst) != OPEN {
                    break;
                }
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
