//! Behind a reverse proxy: which address a request really comes from, and over which scheme.
//! Only a proxy the operator named (`trusted_proxies`) is believed; anything else could forge
//! the headers.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The client's address: the peer, unless the peer is a trusted proxy; then, reading
/// `X-Forwarded-For` from the right, the first hop that is not a trusted proxy. Every address
/// is canonical (an IPv4 client of a dual-stack listener arrives as `::ffff:a.b.c.d` and is
/// checked and keyed as `a.b.c.d`). A hop that does not parse ends the trusted chain: the
/// answer is then the last trusted proxy's own address, never an entry the client could have
/// written.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer?.to_canonical();
    let hops: Vec<&str> = headers
        .get_all("X-Forwarded-For")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match parse_hop(hop) {
            Some(ip) => client = ip,
            None => break,
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, `a.b.c.d:port`, `[v6]:port` or `[v6]` (proxies
/// such as Azure Application Gateway and IIS ARR add the port), canonical.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            let inner = hop.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse::<IpAddr>().ok()
        })?;
    Some(ip.to_canonical())
}

/// The scheme the client used, as a trusted proxy reports it (`X-Forwarded-Proto`, else the
/// `proto` of RFC 7239 `Forwarded`): `Some("http")` or `Some("https")`. `None` when the peer
/// is not a trusted proxy or says nothing; then the scheme is that of `public_url`.
pub fn forwarded_proto(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<&'static str> {
    let peer = peer?.to_canonical();
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

    #[test]
    fn hops_with_ports_are_read_and_a_forged_one_is_not_believed() {
        let trusted = parse_ranges(&["10.0.0.0/8".into(), "2001:db8:1::/48".into()]).unwrap();
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // Azure Application Gateway appends `ip:port`: the client's own forged entry on the
        // left is not what it reports.
        let h = headers("1.2.3.4, 198.51.100.7:51234");
        assert_eq!(client_ip(Some(proxy), &h, &trusted), ip("198.51.100.7"));
        let h = headers("1.2.3.4, [2001:db8:2::7]:443");
        assert_eq!(client_ip(Some(proxy), &h, &trusted), ip("2001:db8:2::7"));
        let h = headers("1.2.3.4, [2001:db8:2::8]");
        assert_eq!(client_ip(Some(proxy), &h, &trusted), ip("2001:db8:2::8"));
        // Through two trusted proxies, one of them giving a port.
        let h = headers("1.2.3.4, 198.51.100.7, 10.0.0.9:8080");
        assert_eq!(client_ip(Some(proxy), &h, &trusted), ip("198.51.100.7"));
        // A hop that does not parse ends the chain at the last trusted proxy.
        let h = headers("1.2.3.4, unknown");
        assert_eq!(client_ip(Some(proxy), &h, &trusted), Some(proxy));
        let h = headers("1.2.3.4, junk, 10.0.0.9");
        assert_eq!(client_ip(Some(proxy), &h, &trusted), ip("10.0.0.9"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_canonical() {
        let trusted = parse_ranges(&["10.0.0.0/8".into()]).unwrap();
        // A dual-stack listener ([::]) sees an IPv4 proxy as ::ffff:10.0.0.5.
        let mapped: IpAddr = "::ffff:10.0.0.5".parse().unwrap();
        let h = headers("198.51.100.7");
        assert_eq!(
            client_ip(Some(mapped), &h, &trusted),
            Some("198.51.100.7".parse().unwrap())
        );
        let stranger: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(
            client_ip(Some(stranger), &h, &trusted),
            Some("203.0.113.9".parse().unwrap())
        );
        let h = headers("::ffff:198.51.100.8");
        assert_eq!(
            client_ip(Some(mapped), &h, &trusted),
            Some("198.51.100.8".parse().unwrap())
        );
        let mut p = HeaderMap::new();
        p.insert(
            HeaderName::from_static("x-forwarded-proto"),
            HeaderValue::from_static("https"),
        );
        assert_eq!(forwarded_proto(Some(mapped), &p, &trusted), Some("https"));
    }
}
