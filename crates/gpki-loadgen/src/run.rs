//! Running one scenario: its flows on `concurrency` tasks for a fixed time, and its markdown
//! row (flows/s, latency percentiles, errors, server CPU per flow).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::args::Args;
use crate::flows;
use crate::server;

/// Latencies of one scenario's completed flows.
pub struct Outcome {
    pub latencies: Vec<Duration>,
    pub errors: usize,
    pub elapsed: Duration,
    /// CPU time the server used during the measured seconds.
    pub server_cpu: Option<Duration>,
}

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

pub fn row(name: &str, args: &Args, o: &mut Outcome) -> String {
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
pub async fn drive(args: &Args, server: &server::Server, flow: Arc<dyn flows::Flow>) -> Outcome {
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
