//! The server under test: a test PKI with an OCSP responder (in this process), a config that
//! trusts it, and `gpki-idp serve --demo` pinned to a core.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gpki_testpki::{Leaf, LeafSpec, RevocationServer, TestPki};

use crate::args::Args;

pub struct Server {
    child: Child,
    pub base: String,
    _pki: TestPki,
    _ocsp: RevocationServer,
    /// The benchmark's directory: `bench.toml` and the SQLite data in `data/`.
    pub dir: PathBuf,
    bin: String,
    cpu: String,
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
         account_failures_before_delay = 1000000000\n\
         [certificate]\n\
         trust_anchors = [\"{grca}\"]\n\
         intermediates = [\"{moica}\"]\n\
         [certificate.revocation]\n\
         mode = \"ocsp\"\n",
        grca = dir.join("grca.pem").display(),
        moica = dir.join("moica.pem").display(),
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
        std::fs::write(dir.join("bench.toml"), config(args, &dir)?).map_err(|e| e.to_string())?;
        let (bin, cpu) = (args.server.clone(), args.server_cpu.clone());
        let mut child = spawn(&bin, &cpu, &dir)?;
        let base = listening(&mut child)?;
        let server = Self {
            child,
            base,
            _pki: pki,
            _ocsp: ocsp,
            dir,
            bin,
            cpu,
        };
        Ok((server, leaf))
    }

    /// Stops the server and starts it again on the same configuration and data; returns
    /// when the new process was started.
    pub fn restart(&mut self) -> Result<std::time::Instant, String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let started = std::time::Instant::now();
        self.child = spawn(&self.bin, &self.cpu, &self.dir)?;
        self.base = listening(&mut self.child)?;
        Ok(started)
    }

    /// Runs `gpki-idp ARGS --config … --data-dir …` (an operator command, not pinned) and
    /// returns its standard output.
    pub fn operator(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(&self.bin)
            .args(args)
            .arg("--config")
            .arg(self.dir.join("bench.toml"))
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .output()
            .map_err(|e| format!("{}: {e}", self.bin))?;
        if !out.status.success() {
            return Err(format!(
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// `gpki-idp serve --demo` with one worker, pinned to `cpu` unless it is empty.
fn spawn(bin: &str, cpu: &str, dir: &std::path::Path) -> Result<Child, String> {
    let mut cmd = if cpu.is_empty() {
        Command::new(bin)
    } else {
        let mut c = Command::new("taskset");
        c.args(["-c", cpu, bin]);
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
    .arg(dir.join("bench.toml"))
    .arg("--data-dir")
    .arg(dir.join("data"))
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    cmd.spawn().map_err(|e| format!("{bin}: {e}"))
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
