//! `--district N`: a district's scale. A district operator (made with the operator commands,
//! as README's bootstrap does) onboards N schools from one CSV through the admin API (dry run
//! first), imports `--accounts-per-school` accounts into each through the users import; then
//! the server is restarted on that database and measured: start-up time to `/readyz`, RSS,
//! discovery and JWKS latency of the first and the last school (the first request after the
//! start, then p50/p99), JWKS sizes, and login flows against the first and the last school.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::args::Args;
use crate::flows::{self, Context, Target, REDIRECT};
use crate::run::{drive, percentile, row};
use crate::server::Server;

type Result<T> = std::result::Result<T, String>;

const PASSWORD: &str = "bench-password-1";

fn code(i: usize) -> String {
    format!("d{i:03}-es")
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The district tenant and an operator client, by the operator commands; its secret.
fn bootstrap(server: &Server) -> Result<String> {
    let district = [
        "admin",
        "create-school",
        "--code",
        "district",
        "--name",
        "教育局",
        "--district",
    ];
    server.operator(&district)?;
    let out = server.operator(&[
        "admin",
        "create-client",
        "--school",
        "district",
        "--client-id",
        "ops",
        "--name",
        "ops",
        "--grant",
        "client_credentials",
        "--scope",
        "district",
    ])?;
    let (_, secret) = out
        .split_once("secret (shown once): ")
        .ok_or(format!("create-client said: {out}"))?;
    Ok(secret.trim().to_string())
}

/// An operator's access token (scope `district`).
async fn ops_token(server: &Server, secret: &str) -> Result<String> {
    let r: Value = http()
        .post(format!("{}/schools/district/token", server.base))
        .basic_auth("ops", Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "district")])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    r["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or(format!("token: {r}"))
}

/// `POST /admin/v1{path}` with a body of `kind`; (status, JSON answer).
async fn admin(
    server: &Server,
    token: &str,
    path: &str,
    kind: &str,
    body: String,
) -> Result<Value> {
    let r = http()
        .post(format!("{}/admin/v1{path}", server.base))
        .bearer_auth(token)
        .header("Content-Type", kind)
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(v)
    } else {
        Err(format!("{path}: {status} {v}"))
    }
}

/// Onboards the schools (dry run, then for real); the two durations.
async fn onboard(server: &Server, token: &str, schools: usize) -> Result<(Duration, Duration)> {
    let mut csv = String::from("code,name,gm_username,gm_name\n");
    for i in 1..=schools {
        csv.push_str(&format!("{},第{i}國民小學,gm,資訊組長\n", code(i)));
    }
    let mut took = Vec::new();
    for dry in [true, false] {
        let t0 = Instant::now();
        let path = format!("/onboarding/schools?dry_run={dry}");
        let report = admin(server, token, &path, "text/csv", csv.clone()).await?;
        took.push(t0.elapsed());
        if report["created"] != json!(schools) || report["written"] != json!(!dry) {
            return Err(format!("onboarding (dry run {dry}): {report}"));
        }
    }
    Ok((took[0], took[1]))
}

/// Imports the accounts of every school; (total, per-request latencies sorted).
async fn import(
    server: &Server,
    token: &str,
    args: &Args,
    schools: usize,
) -> Result<(Duration, Vec<Duration>)> {
    let mut csv = String::from("username,display_name,roles\n");
    for j in 1..=args.accounts_per_school {
        csv.push_str(&format!("t{j:05},教師{j},teacher\n"));
    }
    let mut each = Vec::new();
    let t0 = Instant::now();
    for i in 1..=schools {
        let t = Instant::now();
        let path = format!("/schools/{}/users/import", code(i));
        let report = admin(server, token, &path, "text/csv", csv.clone()).await?;
        each.push(t.elapsed());
        if report["created"] != json!(args.accounts_per_school) {
            return Err(format!("import into {}: {report}", code(i)));
        }
    }
    each.sort();
    Ok((t0.elapsed(), each))
}

/// A client and an account with a password at school `i`, for the login flows.
async fn login_target(server: &Server, token: &str, i: usize) -> Result<Target> {
    let school = code(i);
    let client = json!({"client_id": "portal", "name": "校務系統", "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"], "require_pkce": false});
    let made = admin(
        server,
        token,
        &format!("/schools/{school}/clients"),
        "application/json",
        client.to_string(),
    )
    .await?;
    let user = json!({"username": "bench", "display_name": "測試老師", "roles": ["teacher"], "password": PASSWORD});
    admin(
        server,
        token,
        &format!("/schools/{school}/users"),
        "application/json",
        user.to_string(),
    )
    .await?;
    Ok(Target {
        school,
        client: "portal".into(),
        secret: made["client_secret"]
            .as_str()
            .ok_or("no client secret")?
            .into(),
        user: "bench".into(),
        password: PASSWORD.into(),
    })
}

/// One GET: (time, body bytes).
async fn get(http: &reqwest::Client, url: &str) -> Result<(Duration, usize)> {
    let t0 = Instant::now();
    let r = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("{url}: {}", r.status()));
    }
    let body = r.bytes().await.map_err(|e| e.to_string())?;
    Ok((t0.elapsed(), body.len()))
}

fn discovery(server: &Server, i: usize) -> String {
    format!(
        "{}/schools/{}/.well-known/openid-configuration",
        server.base,
        code(i)
    )
}

fn jwks(server: &Server, i: usize) -> String {
    format!("{}/schools/{}/jwks", server.base, code(i))
}

/// Restarts the server: (time from the new process to `/readyz` 200, RSS then).
async fn restart(server: &mut Server) -> Result<(Duration, f64)> {
    let started = server.restart()?;
    let http = http();
    loop {
        let ready = http.get(format!("{}/readyz", server.base)).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err("the server was not ready within 120 s".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok((started.elapsed(), server.rss_mib().unwrap_or(f64::NAN)))
}

/// `n` sequential GETs of `url`: p50 and p99 in ms.
async fn latency(url: &str, n: usize) -> Result<(f64, f64)> {
    let http = http();
    let mut times = Vec::new();
    for _ in 0..n {
        times.push(get(&http, url).await?.0);
    }
    times.sort();
    Ok((percentile(&times, 0.50), percentile(&times, 0.99)))
}

pub async fn run(args: &Args, mut server: Server) -> Result<()> {
    let n = args.district.unwrap_or(300).max(1);
    let secret = bootstrap(&server)?;
    let token = ops_token(&server, &secret).await?;
    let (dry, real) = onboard(&server, &token, n).await?;
    let token = ops_token(&server, &secret).await?;
    let (total, each) = import(&server, &token, args, n).await?;
    let token = ops_token(&server, &secret).await?;
    let targets = [
        login_target(&server, &token, 1).await?,
        login_target(&server, &token, n).await?,
    ];
    println!(
        "| what | {} backend, {n} schools, {} accounts |",
        args.backend,
        n * args.accounts_per_school
    );
    println!("| --- | --- |");
    println!(
        "| onboarding CSV, dry run (one request) | {:.0} ms |",
        ms(dry)
    );
    println!("| onboarding CSV, written (one request: schools, RS256 + ES256 keys, a GM each) | {:.2} s |", real.as_secs_f64());
    println!("| users import, {n} requests of {} rows | {:.2} s (per request p50 {:.0} ms, p99 {:.0} ms) |", args.accounts_per_school, total.as_secs_f64(), percentile(&each, 0.5), percentile(&each, 0.99));

    let (startup, rss_start) = restart(&mut server).await?;
    println!(
        "| start-up on the loaded database, process start → `/readyz` 200 | {:.0} ms |",
        ms(startup)
    );
    println!("| RSS after start | {rss_start:.1} MiB |");
    let http = http();
    for (label, i) in [("first", 1), ("last", n)] {
        let (d, _) = get(&http, &discovery(&server, i)).await?;
        let (j, size) = get(&http, &jwks(&server, i)).await?;
        println!("| {label} school ({}): first discovery / first JWKS after start | {:.2} ms / {:.2} ms (JWKS {size} bytes) |", code(i), ms(d), ms(j));
    }
    let t0 = Instant::now();
    let mut sizes = Vec::new();
    for i in 1..=n {
        get(&http, &discovery(&server, i)).await?;
        sizes.push(get(&http, &jwks(&server, i)).await?.1);
    }
    let touched = t0.elapsed();
    let (min, max) = (
        sizes.iter().min().copied().unwrap_or(0),
        sizes.iter().max().copied().unwrap_or(0),
    );
    println!(
        "| discovery + JWKS of every school once, one at a time | {:.0} ms |",
        ms(touched)
    );
    println!("| JWKS size per school (RS256 + ES256 key) | {min}–{max} bytes |");
    println!(
        "| RSS after every school's discovery + JWKS | {:.1} MiB |",
        server.rss_mib().unwrap_or(f64::NAN)
    );
    for (label, i) in [("first", 1), ("last", n)] {
        let (dp50, dp99) = latency(&discovery(&server, i), args.latency_requests).await?;
        let (jp50, jp99) = latency(&jwks(&server, i), args.latency_requests).await?;
        println!("| {label} school: discovery p50 / p99 ({} requests, one at a time) | {dp50:.2} / {dp99:.2} ms |", args.latency_requests);
        println!("| {label} school: JWKS p50 / p99 | {jp50:.2} / {jp99:.2} ms |");
    }
    println!();
    logins(args, &server, targets).await
}

/// The login scenarios against the demo school (seeded by `serve --demo`, for comparison on
/// the same server), the first and the last school, as the single-school table.
async fn logins(args: &Args, server: &Server, targets: [Target; 2]) -> Result<()> {
    let [first, last] = targets;
    let targets = [Target::demo(), first, last];
    println!("| scenario | backend | concurrency | flows/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/flow |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for target in targets {
        let school = target.school.clone();
        let ctx = Arc::new(Context::at(server, None, target)?);
        for name in args.scenarios.split(',') {
            let flow: Arc<dyn flows::Flow> = match name {
                "password" => Arc::new(flows::Password(ctx.clone())),
                "session" => Arc::new(flows::Session(ctx.clone())),
                "refresh" => Arc::new(flows::Refresh(ctx.clone())),
                _ => continue,
            };
            let mut outcome = drive(args, server, flow).await;
            println!("{}", row(&format!("{name} @ {school}"), args, &mut outcome));
        }
    }
    Ok(())
}
