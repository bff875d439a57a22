//! Debian's apache2 with mod_auth_openidc as a relying party of a test server: the
//! configuration in `tests/apache/` written into a temp dir, `apache2 -DFOREGROUND` on a free
//! port, stopped when dropped; and a browser that follows redirects by hand.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client as Http, Response};
use url::Url;

pub const APACHE: &str = "/usr/sbin/apache2";
pub const MODULE: &str = "/usr/lib/apache2/modules/mod_auth_openidc.so";
const INSTALL: &str = "apt-get install -y apache2 libapache2-mod-auth-openidc";
const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/apache");

/// What the relying party is told about the IdP and itself.
pub struct RpConfig<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
}

/// A running Apache; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Apache {
    child: Child,
    pub dir: PathBuf,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl Apache {
    pub fn redirect_uri(&self) -> String {
        redirect_uri(&self.base)
    }

    /// The server's error log (mod_auth_openidc logs there), for failure messages.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        self.stop();
        // Kept after a failure, for its logs.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Where Apache at `base` receives the code (mod_auth_openidc's OIDCRedirectURI).
pub fn redirect_uri(base: &str) -> String {
    format!("{base}/protected/redirect_uri")
}

/// Fails loudly when apache2 or the module is missing.
pub fn require_installed() {
    for path in [APACHE, MODULE] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: the Apache test needs `{INSTALL}` (.ci/run installs them)"
        );
    }
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let text = std::fs::read_to_string(Path::new(TEMPLATES).join(template)).unwrap();
    let filled = values
        .iter()
        .fold(text, |t, (k, v)| t.replace(&format!("{{{{{k}}}}}"), v));
    assert!(!filled.contains("{{"), "a placeholder left in {template}");
    filled
}

/// Starts Apache on `port` as a relying party of `rp`; waits at most 20 s for it to listen.
pub fn start(port: u16, rp: &RpConfig) -> Apache {
    require_installed();
    let dir = std::env::temp_dir().join(format!(
        "gpki-apache-{}-{port}",
        gpki_idp_core::random_token(6).replace(['-', '_'], "x")
    ));
    for sub in ["htdocs", "cgi-bin"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let base = format!("http://127.0.0.1:{port}");
    let root = dir.display().to_string();
    let port_text = port.to_string();
    let passphrase = gpki_idp_core::random_token(24);
    let values = [
        ("ROOT", root.as_str()),
        ("PORT", port_text.as_str()),
        ("ISSUER", rp.issuer),
        ("APP_URL", base.as_str()),
        ("CLIENT_ID", rp.client_id),
        ("CLIENT_SECRET", rp.client_secret),
        ("PASSPHRASE", passphrase.as_str()),
    ];
    std::fs::write(dir.join("httpd.conf"), fill("httpd.conf", &values)).unwrap();
    std::fs::write(dir.join("openidc.conf"), fill("openidc.conf", &values)).unwrap();
    let cgi = dir.join("cgi-bin/claims.cgi");
    std::fs::write(&cgi, fill("claims.cgi", &[])).unwrap();
    std::fs::set_permissions(&cgi, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("htdocs/loggedout.html"), "logged out\n").unwrap();

    let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
    let child = Command::new(APACHE)
        .arg("-f")
        .arg(dir.join("httpd.conf"))
        .arg("-DFOREGROUND")
        // Its own process group: on stop, prefork signals its whole group, which would
        // otherwise be this test process's and that of every other Apache it started.
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("{APACHE} does not start: {e}"));
    let mut apache = Apache { child, dir, base };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = apache.child.try_wait() {
            panic!(
                "apache2 exited ({status}): {}{}",
                std::fs::read_to_string(apache.dir.join("stderr.log")).unwrap_or_default(),
                apache.error_log()
            );
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return apache;
        }
        assert!(
            Instant::now() < deadline,
            "apache2 does not listen on {port} within 20 s: {}",
            apache.error_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A browser: keeps cookies, follows no redirect by itself, waits at most 30 s per request.
pub fn browser() -> Http {
    reqwest::blocking::ClientBuilder::new()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Where a browser ended up: the page and every URL it was sent through.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub url: Url,
    pub body: String,
    pub hops: Vec<Url>,
}

impl Page {
    /// Whether the browser went through a URL starting with `prefix`.
    pub fn went_through(&self, prefix: &str) -> bool {
        self.hops.iter().any(|u| u.as_str().starts_with(prefix))
    }

    /// The `NAME=value` lines of the test's CGI page.
    pub fn vars(&self) -> HashMap<String, String> {
        assert_eq!(self.status, 200, "{self:?}");
        self.body
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

/// GETs `url` and follows redirects as a browser does.
pub fn visit(b: &Http, url: &str) -> Page {
    let url = Url::parse(url).unwrap();
    let response = b.get(url.clone()).send().unwrap();
    follow(b, url, response)
}

/// Follows the redirects of `response` (to `url`), at most 10: `Location`, and the
/// `<meta http-equiv="refresh">` page mod_auth_openidc answers with when a logged-in user
/// lacks what a location requires (Apache's authorization phase cannot redirect).
pub fn follow(b: &Http, mut url: Url, mut response: Response) -> Page {
    let mut hops = vec![url.clone()];
    for _ in 0..10 {
        let status = response.status().as_u16();
        let next = if response.status().is_redirection() {
            response.headers()["Location"].to_str().unwrap().to_string()
        } else {
            let body = response.text().unwrap();
            match meta_refresh(&body) {
                Some(next) => next,
                None => {
                    return Page {
                        status,
                        url,
                        body,
                        hops,
                    }
                }
            }
        };
        url = url.join(&next).unwrap();
        hops.push(url.clone());
        response = b.get(url.clone()).send().unwrap();
    }
    panic!("more than 10 redirects: {hops:?}");
}

/// The target of `<meta http-equiv="refresh" content="0; url=...">`.
fn meta_refresh(html: &str) -> Option<String> {
    let marker = "<meta http-equiv=\"refresh\" content=\"0; url=";
    let start = html.find(marker)? + marker.len();
    let target = html[start..].split('"').next()?;
    Some(target.replace("&amp;", "&"))
}
