//! `gpki-loadgen`: the load benchmark of gpki-idp. It starts the server it measures (so the
//! configuration, the test PKI and the OCSP responder are known), prepares the accounts, then
//! runs each scenario for a fixed time at a fixed concurrency and prints one markdown row per
//! scenario. Run it pinned to another core than the server's (scripts/bench-load.sh).

mod args;
mod district;
mod flood;
mod flows;
mod run;
mod server;
mod signing;

use std::sync::Arc;

use clap::Parser;

use args::Args;
use run::{drive, row};

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
    let ctx = match prepare(&args, &server, leaf).await {
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
        let label = match &args.id_token_alg {
            Some(alg) => format!("{name} {alg}"),
            None => name.to_string(),
        };
        println!("{}", row(&label, &args, &mut outcome));
    }
    drop(server);
}

/// The flows' context: the card registered and, with `--id-token-alg`, the demo client's
/// algorithm set and seen on a refresh grant's ID token.
async fn prepare(
    args: &Args,
    server: &server::Server,
    leaf: gpki_testpki::Leaf,
) -> Result<flows::Context, String> {
    let ctx = flows::Context::prepare(server, leaf).await?;
    if let Some(alg) = &args.id_token_alg {
        signing::set_demo_client_alg(server, alg).await?;
        let signed = signing::alg_of(&ctx.refreshed_id_token().await?)?;
        if signed != *alg {
            return Err(format!(
                "asked for {alg}, the refresh grant signed {signed}"
            ));
        }
    }
    Ok(ctx)
}
