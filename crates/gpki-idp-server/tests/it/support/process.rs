//! The real `gpki-idp` binary as a process: started with a configuration file, stopped with
//! SIGTERM, killed when dropped.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::gate;

/// A running `gpki-idp serve`.
pub struct Serve {
    pub child: Child,
    /// `http://` and the address it says it listens on.
    pub base: String,
    _pass: gate::Pass,
}

impl Serve {
    /// `gpki-idp serve --config CONFIG --listen LISTEN --workers 2`, with `--demo` when asked;
    /// waits up to 60 s for it to say where it listens.
    pub fn start(config: &Path, listen: &str, demo: bool) -> Self {
        let pass = gate::shared();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gpki-idp"));
        cmd.args(["serve", "--config"])
            .arg(config)
            .args(["--listen", listen, "--workers", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if demo {
            cmd.arg("--demo");
        }
        let mut child = cmd.spawn().expect("gpki-idp starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end so the process never blocks on a full pipe.
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.strip_prefix("gpki-idp listening on ") {
                    let _ = tx.send(rest.split(' ').next().unwrap_or_default().to_string());
                }
            }
        });
        let Ok(addr) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("gpki-idp did not say it listens within 60 s");
        };
        Self {
            child,
            base: format!("http://{addr}"),
            _pass: pass,
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
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
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

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new directory under the temp dir, named after `tag` and this process.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gpki-{tag}-{}-{}",
        std::process::id(),
        gpki_idp_core::random_token(6).replace(['-', '_'], "x")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
