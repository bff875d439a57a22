//! `gpki-loadgen`: the load benchmark of gpki-idp. It starts the server it measures (so the
//! configuration, the test PKI and the OCSP responder are known), prepares the accounts, then
//! runs each scenario for a fixed time at a fixed concurrency and prints one markdown row per
//! scenario. Run it pinned to another core than the server's (scripts/bench-load.sh).

mod district;
mod flood;
mod flows;
mod server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

/// Load driver for gpki-idp.
#[derive(Parser, Clone)]
#[command(name = "gpki-loadgen")]
pub struct Args {
    /// The gpki-idp binary to start (a release build).
    #[arg(long, default_value = "target/release/gpki-idp")]
    pub server: String,
    /// `sqlite` (embedded, in-process state) or `postgres` (with Redis).
    #[arg(long, default_value = "sqlite")]
    pub backend: String,
    /// PostgreSQL server for `--backend postgres` (a fresh database is created on it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub postgres: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379/")]
    pub redis: String,
    /// CPU the server is pinned to (taskset); empty: not pinned.
    #[arg(long, default_value = "0")]
    pub server_cpu: String,
    /// Concurrent flows.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds each scenario runs (after one second of warm-up).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Comma-separated: password, card, session, refresh.
    #[arg(long, default_value = "password,card,session,refresh")]
    pub scenarios: String,
    /// Instead of the scenarios: send this many hostile authorization requests and report
    /// the server's memory (see `flood.rs`).
    #[arg(long)]
    pub flood: Option<usize>,
    /// Instead: a district of this many schools onboarded and filled through the admin API,
    /// then start-up, memory, discovery/JWKS and the login scenarios against its first and
    /// last school (see `district.rs`).
    #[arg(long)]
    pub district: Option<usize>,
    /// Accounts imported into each school of `--district`.
    #[arg(long, default_value_t = 200)]
    pub accounts_per_school: usize,
    /// Requests per discovery/JWKS latency figure of `--district`.
    #[arg(long, default_value_t = 200)]
    pub latency_requests: usize,
}

/// Latencies of one scenario's completed flows.
struct Outcome {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
    /// CPU time the server used during the measured seconds.
    server_cpu: Option<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn row(name: &str, args: &Args, o: &mut Outcome) -> String {
    o.latencies.sort();
    let rate = o.latencies.len() as f64 / o.elapsed.as_secs_f64();
    let cpu_per_flow = match o.server_cpu {
        Some(cpu) if !o.latencies.is_empty() => format!(
            "{:.3}",
            cpu.as_secs_f64() * 1000.0 / o.latencies.len() as f64
        ),
        _ => "—".into(),
    };
    format!(
        "| {name} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {cpu_per_flow} |",
        args.backend,
        args.concurrency,
        rate,
        percentile(&o.latencies, 0.50),
        percentile(&o.latencies, 0.95),
        percentile(&o.latencies, 0.99),
        o.errors
    )
}

/// Runs `flow` on `concurrency` tasks for the scenario's time; counts what completed.
async fn drive(args: &Args, server: &server::Server, flow: Arc<dyn flows::Flow>) -> Outcome {
    let warm_until = Instant::now() + Duration::from_secs(1);
    let start = warm_until;
    let end = start + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for worker in 0..args.concurrency {
        let flow = flow.clone();
        tasks.push(tokio::spawn(async move {
            let mut state = flow.prepare(worker).await;
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let ok = flow.run(&mut state).await;
                // Counted: the flows that end inside the measured seconds, so that flows/s
                // and the server's CPU time cover the same interval.
                let done = Instant::now();
                if done < warm_until || done > end {
                    continue;
                }
                match ok {
                    Ok(()) => latencies.push(done - t0),
                    Err(e) => {
                        if errors == 0 {
                            eprintln!("gpki-loadgen: {e}");
                        }
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep_until(warm_until.into()).await;
    let cpu_before = server.cpu_time();
    tokio::time::sleep_until(end.into()).await;
    let cpu_after = server.cpu_time();
    let mut out = Outcome {
        latencies: Vec::new(),
        errors: 0,
        elapsed: Duration::from_secs(args.seconds),
        server_cpu: cpu_before.zip(cpu_after).map(|(b, a)| a.saturating_sub(b)),
    };
    for t in tasks {
        if let Ok((l, e)) = t.await {
            out.latencies.extend(l);
            out.errors += e;
        }
    }
    out
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let (server, leaf) = match server::Server::start(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gpki-loadgen: {e}");
            std::process::exit(2);
        }
    };
    if let Some(total) = args.flood {
        flood::run(&server, total, args.concurrency).await;
        return;
    }
    if args.district.is_some() {
        if let Err(e) = district::run(&args, server).await {
            eprintln!("gpki-loadgen: district: {e}");
            std::process::exit(2);
        }
        return;
    }
    let ctx = match flows::Context::prepare(&server, leaf).await {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("gpki-loadgen: setup: {e}");
            drop(server);
            std::process::exit(2);
        }
    };
    println!(
        "| scenario | backend | concurrency | flows/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/flow |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for name in args.scenarios.split(',') {
        let flow: Arc<dyn flows::Flow> = match name {
            "password" => Arc::new(flows::Password(ctx.clone())),
            "card" => Arc::new(flows::Card(ctx.clone())),
            "session" => Arc::new(flows::Session(ctx.clone())),
            "refresh" => Arc::new(flows::Refresh(ctx.clone())),
            other => {
                eprintln!("gpki-loadgen: unknown scenario `{other}`");
                continue;
            }
        };
        let mut outcome = drive(&args, &server, flow).await;
        println!("{}", row(name, &args, &mut outcome));
    }
    drop(server);
}
