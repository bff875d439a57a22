//! The server under test: a test PKI with an OCSP responder (in this process), a config that
//! trusts it, and `gpki-idp serve --demo` pinned to a core.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gpki_testpki::{Leaf, LeafSpec, RevocationServer, TestPki};

use crate::Args;

pub struct Server {
    child: Child,
    pub base: String,
    _pki: TestPki,
    _ocsp: RevocationServer,
    _dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fresh_database(admin_url: &str) -> Result<String, String> {
    let name = format!("gpki_bench_{}", std::process::id());
    let status = Command::new("psql")
        .args([admin_url, "-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .map_err(|e| format!("psql: {e}"))?;
    if !status.success() {
        return Err("psql could not create the benchmark database".into());
    }
    let (base, _) = admin_url.rsplit_once('/').ok_or("bad --postgres URL")?;
    Ok(format!("{base}/{name}"))
}

fn config(args: &Args, dir: &std::path::Path) -> Result<String, String> {
    let stores = match args.backend.as_str() {
        "sqlite" => String::new(),
        "postgres" => format!(
            "database_url = \"{}\"\nredis_url = \"{}\"\nredis_prefix = \"gpki-bench:{}:\"\n",
            fresh_database(&args.postgres)?,
            args.redis,
            std::process::id()
        ),
        other => return Err(format!("unknown backend `{other}`")),
    };
    Ok(format!(
        "{stores}log_format = \"json\"\n\
         # The flood scenario sends X-Forwarded-For as a proxy on loopback would.\n\
         trusted_proxies = [\"127.0.0.1\"]\n\
         [tokens]\n\
         # One client address drives every flow: no per-address throttling in the benchmark.\n\
         max_attempts_per_ip = 1000000000\n\
         max_failures_per_account = 1000000000\n\
         max_lookups_per_ip = 1000000000\n\
         {budget}\
         [certificate]\n\
         trust_anchors = [\"{grca}\"]\n\
         intermediates = [\"{moica}\"]\n\
         [certificate.revocation]\n\
         mode = \"ocsp\"\n",
        grca = dir.join("grca.pem").display(),
        moica = dir.join("moica.pem").display(),
        // The flood measures the default budget of pending logins; the flows would spend it.
        budget = if args.flood.is_some() {
            ""
        } else {
            "max_pending_login_bytes = 100000000000\nmax_pending_login_bytes_per_ip = 100000000000\n"
        },
    ))
}

impl Server {
    /// Starts the server; returns it and the teacher's card.
    pub fn start(args: &Args) -> Result<(Self, Leaf), String> {
        let dir = std::env::temp_dir().join(format!("gpki-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let pki = TestPki::generate();
        pki.save(&dir).map_err(|e| e.to_string())?;
        let ocsp = RevocationServer::start(&pki, &pki.moica);
        let leaf = pki.issue_leaf(&LeafSpec {
            serial: 0xbe9c,
            ocsp_url: Some(ocsp.ocsp_url()),
            ..LeafSpec::default()
        });
        let config_path = dir.join("bench.toml");
        std::fs::write(&config_path, config(args, &dir)?).map_err(|e| e.to_string())?;
        let mut cmd = if args.server_cpu.is_empty() {
            Command::new(&args.server)
        } else {
            let mut c = Command::new("taskset");
            c.args(["-c", &args.server_cpu, &args.server]);
            c
        };
        cmd.args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "1",
        ])
        .arg("--config")
        .arg(&config_path)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", args.server))?;
        let base = listening(&mut child)?;
        let server = Self {
            child,
            base,
            _pki: pki,
            _ocsp: ocsp,
            _dir: dir,
        };
        Ok((server, leaf))
    }
}

impl Server {
    /// CPU time the server process has used so far (user + system), from `/proc`; `None`
    /// where there is no `/proc`. Linux reports it in ticks of 1/100 s (USER_HZ on x86-64).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // The command name (field 2) may hold spaces; the fields after its ')' are plain.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
        let total = ticks(11)? + ticks(12)?;
        Some(Duration::from_millis(total * 10))
    }
}

impl Server {
    /// The server's resident memory in MiB, from `/proc`.
    pub fn rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

/// Waits for the server's "listening" line; its request log is drained and dropped.
fn listening(child: &mut Child) -> Result<String, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // "gpki-idp listening on … (public URL http://127.0.0.1:PORT)"
            if let Some((_, url)) = line.split_once("(public URL ") {
                let _ = tx.send(url.trim_end_matches(')').to_string());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .map_err(|_| "the server did not start".to_string())
}
