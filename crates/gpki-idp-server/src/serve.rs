//! Starting the HTTP service.

use std::future::Future;
use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, Service, ServiceRequest, ServiceResponse};
use actix_web::{web, App, HttpServer};
use tracing::Instrument;

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
    crate::maintenance::start(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap_fn(around)
            .configure(crate::http::configure)
    })
    .workers(workers.max(1))
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Around every request: its id and span, the plain-http check, and [`finish_response`].
fn around<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl Future<Output = Result<ServiceResponse, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let started = std::time::Instant::now();
    let request_id = request_id(req.headers());
    // Every event logged while the request is handled carries its id.
    let span = crate::logs::request_span(&request_id);
    let entered = span.enter();
    let next = match plain_http(&req) {
        Some(answer) => Err(req.into_response(answer)),
        None => Ok(srv.call(req)),
    };
    drop(entered);
    async move {
        let mut res = match next {
            Ok(fut) => fut.await?.map_into_boxed_body(),
            Err(answer) => answer,
        };
        finish_response(&mut res, &request_id, started);
        Ok(res)
    }
    .instrument(span)
}

/// What every answer gets: the request id, the log line, and with the service's state, HSTS
/// under an https public URL and the metric.
fn finish_response(
    res: &mut actix_web::dev::ServiceResponse,
    request_id: &str,
    started: std::time::Instant,
) {
    use actix_web::http::header::{self, HeaderName, HeaderValue};
    if let Ok(value) = HeaderValue::from_str(request_id) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let status = res.status();
    crate::logs::request(&crate::logs::RequestLine {
        request_id,
        method: res.request().method().as_str(),
        route: &route,
        status: status.as_u16(),
        millis: started.elapsed().as_secs_f64() * 1000.0,
    });
    let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned() else {
        return;
    };
    if state.secure_cookies {
        // Browsers that once came over https stay on it (RFC 6797).
        res.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    state
        .metrics
        .http_requests
        .with_label_values(&[route.as_str(), status.as_str()])
        .inc();
}

/// A request that a trusted proxy received over plain http while the public URL is https:
/// a page without credentials is sent to the https address (308); anything else is refused,
/// because its form, cookies or bearer token have already crossed the network in the clear.
fn plain_http(req: &actix_web::dev::ServiceRequest) -> Option<actix_web::HttpResponse> {
    use actix_web::http::{header, Method};
    let state = req.app_data::<web::Data<AppState>>()?;
    let peer = req.peer_addr().map(|a| a.ip());
    let proto = crate::proxy::forwarded_proto(peer, req.headers(), &state.trusted_proxies);
    // Probes and scrapers carry no secrets and may not follow redirects.
    let machine = matches!(req.path(), "/healthz" | "/readyz" | "/metrics");
    if !state.secure_cookies || proto != Some("http") || machine {
        return None;
    }
    let page = matches!(*req.method(), Method::GET | Method::HEAD)
        && !req.headers().contains_key(header::AUTHORIZATION);
    if !page {
        return Some(crate::http::json_error(
            &gpki_idp_core::error::Error::https_required(),
        ));
    }
    // Always a path of our own host, whatever the request line held.
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/");
    Some(
        actix_web::HttpResponse::PermanentRedirect()
            .insert_header((header::LOCATION, format!("{}{path}", state.public_url)))
            .finish(),
    )
}

/// The request id: the proxy's `X-Request-Id` when it is a plain token, else a new one.
fn request_id(headers: &actix_web::http::header::HeaderMap) -> String {
    headers
        .get("X-Request-Id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| gpki_idp_core::random_token(12))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{tests::HeldOutput, Format};
    use actix_web::test;

    /// A handler whose store fails: the core logs the failure while the request is handled.
    async fn store_down() -> actix_web::HttpResponse {
        let failure = gpki_idp_core::store::StoreError::Other("disk full".into());
        let e = gpki_idp_core::error::Error::from(failure);
        actix_web::HttpResponse::InternalServerError().body(e.code.as_str())
    }

    #[actix_web::test]
    async fn every_line_logged_for_a_request_carries_its_id() {
        let (out, release) = HeldOutput::new();
        drop(release);
        let filter = tracing_subscriber::EnvFilter::new("info");
        let (subscriber, guard) = crate::logs::subscriber(Format::Json, filter, out.clone());
        let default = tracing::subscriber::set_default(subscriber);
        let app = App::new()
            .wrap_fn(around)
            .route("/schools/{school}/token", web::post().to(store_down));
        let app = test::init_service(app).await;
        let req = test::TestRequest::post()
            .uri("/schools/demo/token?code=secret-code")
            .insert_header(("X-Request-Id", "req-123"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), 500);
        assert_eq!(res.headers().get("x-request-id").unwrap(), "req-123");
        drop(default);
        drop(guard);

        let text = out.lines().join("\n");
        assert!(
            !text.contains("secret-code") && !text.contains("/schools/demo"),
            "{text}"
        );
        let lines: Vec<serde_json::Value> = out
            .lines()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        let (error, line) = (&lines[0], &lines[1]);
        assert_eq!(error["type"], "error");
        assert_eq!(error["detail"], "disk full");
        assert_eq!(error["span"]["request_id"], "req-123");
        assert_eq!(line["type"], "request");
        assert_eq!(line["request_id"], "req-123");
        assert_eq!(line["span"]["request_id"], "req-123");
        assert_eq!(line["method"], "POST");
        assert_eq!(line["route"], "/schools/{school}/token");
        assert_eq!(line["status"], 500);
    }
}
