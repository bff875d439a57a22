//! Starting the HTTP service.

use std::net::TcpListener;

use actix_web::{dev::Server, web, App, HttpServer};

use crate::app::{self, AppState};
use crate::config::Config;

/// Opens the stores and builds the state; seeds the demo school when asked.
pub async fn prepare(config: &Config, demo: bool) -> Result<web::Data<AppState>, String> {
    let (directory, ephemeral) = app::open_stores(config).await?;
    let state = app::state(config, directory, ephemeral)?;
    if demo {
        crate::demo::seed(&state.provider, &state.public_url).await?;
    }
    Ok(state)
}

/// Runs the service on `listener` until it is stopped (SIGINT/SIGTERM finish in-flight requests).
pub fn run(
    listener: TcpListener,
    state: web::Data<AppState>,
    workers: usize,
) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap_fn(|req, srv| {
                use actix_web::dev::Service;
                let fut = srv.call(req);
                async move {
                    let res = fut.await?;
                    let route = res
                        .request()
                        .match_pattern()
                        .unwrap_or_else(|| "unmatched".into());
                    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
                        state
                            .metrics
                            .http_requests
                            .with_label_values(&[route.as_str(), res.status().as_str()])
                            .inc();
                    }
                    Ok(res)
                }
            })
            .configure(app::routes)
    })
    .workers(workers.max(1))
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}
