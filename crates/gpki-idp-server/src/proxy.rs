//! Behind a reverse proxy: which address a request really comes from, and over which scheme.
//! Only a proxy the operator named (`trusted_proxies`) is believed; anything else could forge
//! the headers.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The client's address: the peer, unless the peer is a trusted proxy; then the nearest
/// address in `X-Forwarded-For` (read from the right) that is not a trusted proxy.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("X-Forwarded-For")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .or(Some(peer))
}

/// The scheme the client used, as a trusted proxy reports it (`X-Forwarded-Proto`, else the
/// `proto` of RFC 7239 `Forwarded`): `Some("http")` or `Some("https")`. `None` when the peer
/// is not a trusted proxy or says nothing; then the scheme is that of `public_url`.
pub fn forwarded_proto(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<&'static str> {
    let peer = peer?;
    if !trusted.iter().any(|net| net.contains(&peer)) {
        return None;
    }
    // A chain of proxies appends: the first value is what the client used.
    let first = |v: &str| v.split(',').next().unwrap_or_default().trim().to_string();
    let proto = headers
        .get("X-Forwarded-Proto")
        .and_then(|v| v.to_str().ok())
        .map(first)
        .or_else(|| {
            let forwarded = headers.get("Forwarded")?.to_str().ok()?;
            first(forwarded)
                .split(';')
                .find_map(|pair| pair.trim().strip_prefix("proto=").map(str::to_string))
        })?;
    match proto.trim_matches('"').to_ascii_lowercase().as_str() {
        "http" => Some("http"),
        "https" => Some("https"),
        _ => None,
    }
}

/// Parses the configured ranges; a bare address is a /32 or /128.
pub fn parse_ranges(ranges: &[String]) -> Result<Vec<IpNet>, String> {
    ranges
        .iter()
        .map(|r| {
            r.parse::<IpNet>()
                .or_else(|_| r.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("trusted_proxies: `{r}` is not an address or CIDR range"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_str(xff).unwrap(),
        );
        h
    }

    #[test]
    fn scheme_from_trusted_proxies_only() {
        let trusted = parse_ranges(&["10.0.0.0/8".into()]).unwrap();
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static("HTTP, https"),
        );
        assert_eq!(forwarded_proto(Some(proxy), &h, &trusted), Some("http"));
        assert_eq!(forwarded_proto(Some(stranger), &h, &trusted), None);
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("forwarded"),
            HeaderValue::from_static("for=198.51.100.7;proto=https, for=10.0.0.9;proto=http"),
        );
        assert_eq!(forwarded_proto(Some(proxy), &h, &trusted), Some("https"));
        h.insert(
            HeaderName::from_static("forwarded"),
            HeaderValue::from_static("for=198.51.100.7;proto=\"gopher\""),
        );
        assert_eq!(forwarded_proto(Some(proxy), &h, &trusted), None);
        assert_eq!(
            forwarded_proto(Some(proxy), &HeaderMap::new(), &trusted),
            None
        );
    }

    #[test]
    fn only_trusted_proxies_are_believed() {
        let trusted = parse_ranges(&["10.0.0.0/8".into(), "::1".into()]).unwrap();
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let h = headers("198.51.100.7, 10.0.0.9");
        assert_eq!(
            client_ip(Some(proxy), &h, &trusted),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(
            client_ip(Some(stranger), &h, &trusted),
            Some(stranger),
            "forged header"
        );
        // A client's own X-Forwarded-For entry before the real one is ignored.
        let h = headers("1.2.3.4, 198.51.100.7");
        assert_eq!(
            client_ip(Some(proxy), &h, &trusted),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(
            client_ip(Some(proxy), &HeaderMap::new(), &trusted),
            Some(proxy)
        );
        assert!(parse_ranges(&["nope".into()]).is_err());
    }
}
