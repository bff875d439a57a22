//! Log lines on standard output: one per request (method, route pattern, status, time, request
//! id) as JSON or text. Query strings, bodies and headers are never logged: they carry codes,
//! tokens, passwords and signatures.

use serde_json::json;

/// What is logged of a request.
pub struct RequestLine<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    /// The route pattern (`/schools/{school}/token`), never the path as sent.
    pub route: &'a str,
    pub status: u16,
    pub millis: f64,
}

/// The line of a request in the chosen format.
pub fn request_line(json_format: bool, r: &RequestLine<'_>) -> String {
    let ms = (r.millis * 100.0).round() / 100.0;
    if json_format {
        json!({"type": "request", "request_id": r.request_id, "method": r.method, "route": r.route, "status": r.status, "duration_ms": ms})
            .to_string()
    } else {
        format!(
            "request {} {} {} {} {ms}ms",
            r.request_id, r.method, r.route, r.status
        )
    }
}

/// Writes the line of a request to standard output.
pub fn request(json_format: bool, r: &RequestLine<'_>) {
    println!("{}", request_line(json_format, r));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        let r = RequestLine {
            request_id: "abc",
            method: "POST",
            route: "/schools/{school}/token",
            status: 200,
            millis: 1.234_56,
        };
        let v: serde_json::Value = serde_json::from_str(&request_line(true, &r)).unwrap();
        assert_eq!(v["route"], "/schools/{school}/token");
        assert_eq!(v["duration_ms"], 1.23);
        assert_eq!(
            request_line(false, &r),
            "request abc POST /schools/{school}/token 200 1.23ms"
        );
    }
}
