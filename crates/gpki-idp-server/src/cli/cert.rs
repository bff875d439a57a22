//! `gpki-idp cert verify` and `gpki-idp cert inspect`: find out why one teacher's card fails.
//!
//! Exit codes: 0 valid, 1 invalid, 2 usage error or unreadable input. No input makes it panic.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use gpki_verify::algorithm::Hash;
use gpki_verify::path::TrustStore;
use gpki_verify::profile::{self, CertProfile};
use gpki_verify::revocation::fetch::UreqFetcher;
use gpki_verify::revocation::{RevocationMode, RevocationStatus, WhenUnavailable};
use gpki_verify::signature::{Expected, SignatureInput};
use gpki_verify::{input, Error, Verifier, VerifierConfig};
use serde_json::{json, Value};

#[derive(Args)]
pub struct CertArgs {
    #[command(subcommand)]
    pub cmd: CertCmd,
}

#[derive(Subcommand)]
pub enum CertCmd {
    /// Verify a card signature: content, chain to the trust anchors, revocation.
    Verify(Box<VerifyArgs>),
    /// Print the profile of a certificate (or of a PKCS#7 signature's signer).
    Inspect(InspectArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The signature: PKCS#7/CMS (DER, BER, PEM or base64), or with --pkcs1 a bare signature.
    #[arg(long)]
    signature: PathBuf,
    /// The challenge that was signed: compared with attached content, or the detached content.
    #[arg(long)]
    content: Option<PathBuf>,
    /// The signer's certificate when the signature does not embed it (certb64); required with --pkcs1.
    #[arg(long)]
    certificate: Option<PathBuf>,
    /// The signature is a bare PKCS#1 v1.5 signature over the content.
    #[arg(long)]
    pkcs1: bool,
    /// Digest of a --pkcs1 signature.
    #[arg(long, default_value = "SHA256")]
    hash: String,
    /// Trust anchor certificate (GRCA G2/G3), PEM or DER; repeatable.
    #[arg(long = "trust-anchor", required = true)]
    trust_anchors: Vec<PathBuf>,
    /// Intermediate certificate (MOICA G2/G3), PEM or DER; repeatable.
    #[arg(long = "intermediate")]
    intermediates: Vec<PathBuf>,
    /// Revocation mode: none, ocsp, crl, ocsp-then-crl.
    #[arg(long, default_value = "ocsp-then-crl")]
    revocation: String,
    /// OCSP responder URL instead of the certificate's AIA.
    #[arg(long)]
    ocsp_url: Option<String>,
    /// CRL URL instead of the certificate's CRL distribution points; repeatable.
    #[arg(long = "crl-url")]
    crl_urls: Vec<String>,
    /// URL prefix from which a missing intermediate may be fetched via AIA caIssuers; repeatable.
    #[arg(long = "aia-allow")]
    aia_allowed_prefixes: Vec<String>,
    /// Accept when no revocation status can be had (default: refuse).
    #[arg(long)]
    accept_unavailable: bool,
    /// Verification time (RFC 3339), default now.
    #[arg(long)]
    at: Option<String>,
    /// Network timeout in seconds for OCSP and CRL downloads.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Certificate (PEM/DER/base64) or PKCS#7 signature.
    file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CertArgs) -> ExitCode {
    let result = match args.cmd {
        CertCmd::Verify(v) => verify(&v),
        CertCmd::Inspect(i) => inspect(&i),
    };
    result.unwrap_or_else(|usage| {
        super::complain(&format!("gpki-idp: {usage}"));
        ExitCode::from(2)
    })
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn read_certs(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for path in paths {
        let bytes = read(path)?;
        let certs = input::certificates(&bytes)
            .ok_or_else(|| format!("{}: no certificate found", path.display()))?;
        out.extend(certs);
    }
    Ok(out)
}

fn parse_time(at: Option<&str>) -> Result<SystemTime, String> {
    let Some(text) = at else {
        return Ok(SystemTime::now());
    };
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("--at {text}: {e}"))?;
    Ok(SystemTime::from(t))
}

fn verifier(args: &VerifyArgs) -> Result<Verifier, String> {
    let trust = TrustStore::new(
        read_certs(&args.trust_anchors)?,
        read_certs(&args.intermediates)?,
    )
    .map_err(|e| e.to_string())?;
    let mut config = VerifierConfig::default();
    config.revocation.mode = args.revocation.parse::<RevocationMode>()?;
    config.aia_allowed_prefixes = args.aia_allowed_prefixes.clone();
    config.revocation.ocsp_url = args.ocsp_url.clone();
    config.revocation.crl_urls = args.crl_urls.clone();
    config.revocation.crl_fetch_on_miss = true; // an operator tool may download a CRL
    if args.accept_unavailable {
        config.revocation.when_unavailable = WhenUnavailable::Accept;
    }
    let fetcher = UreqFetcher::new(Duration::from_secs(args.timeout.max(1)), 256 << 20);
    Ok(Verifier::new(trust, config, Arc::new(fetcher)))
}

fn verify(args: &VerifyArgs) -> Result<ExitCode, String> {
    let engine = verifier(args)?;
    let at = parse_time(args.at.as_deref())?;
    let signature = read(&args.signature)?;
    let content = args.content.as_deref().map(read).transpose()?;
    let certificate = args.certificate.as_deref().map(read).transpose()?;
    let input = if args.pkcs1 {
        let certificate = certificate
            .as_deref()
            .ok_or("--pkcs1 needs --certificate")?;
        let hash =
            Hash::from_name(&args.hash).ok_or_else(|| format!("unknown --hash {}", args.hash))?;
        SignatureInput::Pkcs1 {
            signature: &signature,
            certificate,
            hash,
        }
    } else {
        SignatureInput::Pkcs7 {
            signature: &signature,
            certificate: certificate.as_deref(),
        }
    };
    let expected = Expected {
        content: content.as_deref(),
        nonce: None,
    };
    let outcome = engine.verify(&input, &expected, at);
    let holder = match &outcome {
        Ok(v) => Some(v.profile.clone()),
        Err(_) => gpki_verify::signature::embedded_certificate(&signature)
            .or_else(|| certificate.as_deref().and_then(input::to_binary))
            .and_then(|der| profile::read(&der).ok()),
    };
    let report = report(&outcome.as_ref().map(|v| &v.revocation), holder.as_ref());
    if args.json {
        super::say(&serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        super::say(&text(&report));
    }
    Ok(ExitCode::from(if outcome.is_ok() { 0 } else { 1 }))
}

fn revocation_json(outcome: &Result<&RevocationStatus, &Error>) -> Value {
    match outcome {
        Ok(RevocationStatus::Good { source }) => json!({"status": "good", "source": source}),
        Ok(RevocationStatus::NotChecked) => json!({"status": "not_checked"}),
        Ok(RevocationStatus::Unavailable { failures }) => json!({
            "status": "unknown", "accepted": true,
            "failures": failures.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
        Err(Error::CertRevoked { by }) => json!({"status": "revoked", "source": by}),
        Err(Error::CertStatusUnknown) => json!({"status": "unknown", "source": "ocsp"}),
        Err(Error::RevocationUnavailable(failures)) => json!({
            "status": "unknown",
            "failures": failures.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
        Err(_) => json!({"status": "not_checked"}),
    }
}

fn report(outcome: &Result<&RevocationStatus, &Error>, holder: Option<&CertProfile>) -> Value {
    let mut out = json!({
        "valid": outcome.is_ok(),
        "revocation": revocation_json(outcome),
        "subject_cn": holder.and_then(|h| h.subject_cn.clone()),
        "serial": holder.map(|h| h.serial_hex.clone()),
        "profile": holder,
    });
    if let Err(e) = outcome {
        out["code"] = json!(e.code());
        out["message"] = json!(e.message_en());
        out["message_zh"] = json!(e.message_zh());
        out["detail"] = json!(e.to_string());
    }
    out
}

/// The report as text, one `name: value` line per field.
fn text(report: &Value) -> String {
    let field =
        |name: &str, default: &'static str| report[name].as_str().unwrap_or(default).to_string();
    let valid = report["valid"].as_bool().unwrap_or(false);
    let mut lines = vec![format!("valid:      {}", if valid { "yes" } else { "NO" })];
    if !valid {
        lines.push(format!("code:       {}", field("code", "")));
        lines.push(format!("message:    {}", field("message_zh", "")));
        lines.push(format!("            {}", field("message", "")));
        lines.push(format!("detail:     {}", field("detail", "")));
    }
    lines.push(format!("subject CN: {}", field("subject_cn", "-")));
    lines.push(format!("serial:     {}", field("serial", "-")));
    let rev = &report["revocation"];
    lines.push(format!(
        "revocation: {} {}",
        rev["status"].as_str().unwrap_or(""),
        rev["source"]
            .as_str()
            .map(|s| format!("({s})"))
            .unwrap_or_default()
    ));
    lines.join("\n")
}

fn inspect(args: &InspectArgs) -> Result<ExitCode, String> {
    let bytes = read(&args.file)?;
    let der = gpki_verify::signature::embedded_certificate(&bytes)
        .or_else(|| input::to_binary(&bytes))
        .ok_or("not a certificate or PKCS#7 signature (DER, PEM or base64)")?;
    let profile = match profile::read(&der) {
        Ok(p) => p,
        Err(e) => {
            super::complain(&format!("gpki-idp: {}: {e}", args.file.display()));
            return Ok(ExitCode::from(2));
        }
    };
    if args.json {
        super::say(&serde_json::to_string_pretty(&profile).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let value = serde_json::to_value(&profile).unwrap_or_default();
    if let Some(map) = value.as_object().filter(|m| !m.is_empty()) {
        let lines: Vec<String> = map
            .iter()
            .map(|(key, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => "-".into(),
                    other => other.to_string(),
                };
                format!("{key:<22} {text}")
            })
            .collect();
        super::say(&lines.join("\n"));
    }
    Ok(ExitCode::SUCCESS)
}
