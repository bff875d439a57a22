//! `gpki-idp cert verify` against signatures made by `openssl cms -sign`, revocation answered
//! by `openssl ocsp` running as a responder, and a CRL made by `openssl ca -gencrl`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gpki_testpki::{LeafSpec, RevocationServer, TestPki};

use crate::support::http::free_port;

const GOOD_SERIAL: u64 = 0x0a11ce;
const REVOKED_SERIAL: u64 = 0x0bad;

struct Fixture {
    dir: PathBuf,
    pki: TestPki,
}

fn openssl(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command is required (CI installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) {
    std::fs::write(dir.join(name), data).expect("write fixture");
}

fn fixture(tag: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("gpki-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pki = TestPki::generate();
    write(&dir, "grca.pem", pki.grca.pem());
    write(&dir, "moica.pem", pki.moica.pem());
    write(&dir, "moica.key", pki.moica.key.serialize_pem());
    write(&dir, "challenge.txt", b"3q2-7wAAAAchallenge-from-gpki-idp");
    Fixture { dir, pki }
}

fn leaf(f: &Fixture, name: &str, spec: LeafSpec) {
    let leaf = f.pki.issue_leaf(&spec);
    write(
        &f.dir,
        &format!("{name}.pem"),
        gpki_testpki::pem_encode("CERTIFICATE", &leaf.der),
    );
    write(&f.dir, &format!("{name}.key"), leaf.key.serialize_pem());
}

fn cli(f: &Fixture, args: &[&str]) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_gpki-idp"))
        .args([
            "cert",
            "verify",
            "--json",
            "--trust-anchor",
            "grca.pem",
            "--intermediate",
            "moica.pem",
        ])
        .args(args)
        .current_dir(&f.dir)
        .output()
        .unwrap();
    let json = if out.stdout.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    };
    (out.status.code().unwrap_or(-1), json)
}

fn sign(f: &Fixture, signer: &str, extra: &[&str], out: &str) {
    let mut args = vec![
        "cms",
        "-sign",
        "-binary",
        "-md",
        "sha256",
        "-in",
        "challenge.txt",
    ];
    let cert = format!("{signer}.pem");
    let key = format!("{signer}.key");
    args.extend(["-signer", &cert, "-inkey", &key, "-out", out]);
    args.extend(extra);
    openssl(&f.dir, &args);
}

#[test]
fn openssl_cms_signatures_verify_attached_streamed_and_detached() {
    let f = fixture("cms");
    leaf(
        &f,
        "teacher",
        LeafSpec {
            serial: GOOD_SERIAL,
            ..LeafSpec::default()
        },
    );
    sign(
        &f,
        "teacher",
        &["-nodetach", "-outform", "DER"],
        "attached.der",
    );
    sign(
        &f,
        "teacher",
        &["-nodetach", "-stream", "-outform", "DER"],
        "streamed.ber",
    );
    sign(&f, "teacher", &["-outform", "PEM"], "detached.pem");
    let streamed = std::fs::read(f.dir.join("streamed.ber")).unwrap();
    assert_eq!(
        streamed[1], 0x80,
        "openssl -stream must give indefinite-length BER"
    );

    let none = ["--revocation", "none", "--content", "challenge.txt"];
    for sig in ["attached.der", "streamed.ber", "detached.pem"] {
        let (code, json) = cli(&f, &[&["--signature", sig][..], &none[..]].concat());
        assert_eq!(code, 0, "{sig}: {json}");
        assert_eq!(json["valid"], true);
        assert_eq!(json["subject_cn"], "王小明");
        assert_eq!(json["serial"], "0a11ce"); // hex of the DER serial bytes
        assert_eq!(json["revocation"]["status"], "not_checked");
    }
    write(&f.dir, "other.txt", b"another challenge");
    let (code, json) = cli(
        &f,
        &[
            "--signature",
            "attached.der",
            "--revocation",
            "none",
            "--content",
            "other.txt",
        ],
    );
    assert_eq!((code, json["code"].as_str()), (1, Some("content_mismatch")));
    let (code, _) = cli(&f, &["--signature", "missing.der", "--revocation", "none"]);
    assert_eq!(code, 2, "unreadable input is a usage error");
}

/// `openssl ocsp` as a responder, killed on drop.
struct Responder(Child);

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn index_line(status: char, serial: u64, subject: &str) -> String {
    let revoked = if status == 'R' { "240101000000Z" } else { "" };
    let mut hex = format!("{serial:X}");
    if hex.len() % 2 == 1 {
        hex.insert(0, '0'); // openssl ca wants whole bytes
    }
    format!("{status}\t491231235959Z\t{revoked}\t{hex}\tunknown\t{subject}\n")
}

fn write_ca_database(f: &Fixture) {
    let dn = "/C=TW/CN=teacher";
    let index = index_line('V', GOOD_SERIAL, dn) + &index_line('R', REVOKED_SERIAL, dn);
    write(&f.dir, "index.txt", index);
    write(&f.dir, "index.txt.attr", "unique_subject = no\n");
    write(&f.dir, "crlnumber", "01\n");
    write(
        &f.dir,
        "ca.cnf",
        "[ca]\ndefault_ca = moica\n[moica]\ndatabase = index.txt\ncrlnumber = crlnumber\n\
         certificate = moica.pem\nprivate_key = moica.key\ndefault_md = sha256\ndefault_crl_days = 7\n",
    );
}

fn start_ocsp(f: &Fixture) -> (Responder, String) {
    let port = free_port();
    let child = Command::new("openssl")
        .args([
            "ocsp",
            "-index",
            "index.txt",
            "-rsigner",
            "moica.pem",
            "-rkey",
            "moica.key",
        ])
        .args([
            "-CA",
            "moica.pem",
            "-port",
            &port.to_string(),
            "-ndays",
            "1",
        ])
        .current_dir(&f.dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl ocsp");
    let deadline = Instant::now() + Duration::from_secs(10);
    // Probe by binding, not connecting: the responder serves one connection at a time and
    // would wait on an idle probe connection.
    while TcpListener::bind(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "openssl ocsp did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (Responder(child), format!("http://127.0.0.1:{port}"))
}

#[test]
fn revocation_from_openssl_ocsp_responder_and_openssl_ca_crl() {
    let f = fixture("rev");
    leaf(
        &f,
        "good",
        LeafSpec {
            serial: GOOD_SERIAL,
            ..LeafSpec::default()
        },
    );
    leaf(
        &f,
        "revoked",
        LeafSpec {
            serial: REVOKED_SERIAL,
            ..LeafSpec::default()
        },
    );
    sign(&f, "good", &["-nodetach", "-outform", "DER"], "good.der");
    sign(
        &f,
        "revoked",
        &["-nodetach", "-outform", "DER"],
        "revoked.der",
    );
    write_ca_database(&f);

    let (_responder, url) = start_ocsp(&f);
    let ocsp = ["--revocation", "ocsp", "--ocsp-url", url.as_str()];
    let (code, json) = cli(&f, &[&["--signature", "good.der"][..], &ocsp[..]].concat());
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        json["revocation"],
        serde_json::json!({"status": "good", "source": "ocsp"})
    );
    let (code, json) = cli(
        &f,
        &[&["--signature", "revoked.der"][..], &ocsp[..]].concat(),
    );
    assert_eq!(
        (code, json["code"].as_str()),
        (1, Some("cert_revoked")),
        "{json}"
    );
    assert_eq!(
        json["revocation"],
        serde_json::json!({"status": "revoked", "source": "ocsp"})
    );

    openssl(
        &f.dir,
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-gencrl",
            "-out",
            "moica.crl.pem",
        ],
    );
    openssl(
        &f.dir,
        &[
            "crl",
            "-in",
            "moica.crl.pem",
            "-outform",
            "DER",
            "-out",
            "moica.crl",
        ],
    );
    let server = RevocationServer::start(&f.pki, &f.pki.moica);
    server.set_crl("openssl", std::fs::read(f.dir.join("moica.crl")).unwrap());
    let crl_url = server.crl_url("openssl");
    let crl = ["--revocation", "crl", "--crl-url", crl_url.as_str()];
    let (code, json) = cli(&f, &[&["--signature", "good.der"][..], &crl[..]].concat());
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        json["revocation"],
        serde_json::json!({"status": "good", "source": "crl"})
    );
    let (code, json) = cli(
        &f,
        &[&["--signature", "revoked.der"][..], &crl[..]].concat(),
    );
    assert_eq!(code, 1, "{json}");
    assert_eq!(
        json["revocation"],
        serde_json::json!({"status": "revoked", "source": "crl"})
    );
}
