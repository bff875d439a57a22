//! The pages' scripts and stylesheet, compiled into the binary.

use actix_web::HttpResponse;

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=300"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

pub async fn hipki_js() -> HttpResponse {
    asset(JS, include_str!("../../assets/hipki.js"))
}

pub async fn pages_js() -> HttpResponse {
    asset(JS, include_str!("../../assets/pages.js"))
}

pub async fn pages_css() -> HttpResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/pages.css"),
    )
}

const JS: &str = "text/javascript; charset=utf-8";
