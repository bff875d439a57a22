//! The pages' scripts, compiled into the binary.

use actix_web::HttpResponse;

fn script(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

pub async fn hipki_js() -> HttpResponse {
    script(include_str!("../../assets/hipki.js"))
}

pub async fn pages_js() -> HttpResponse {
    script(include_str!("../../assets/pages.js"))
}
