//! Where the service may send a request that an admin chose the address of (a portal's
//! back-channel logout URI): not into the district's own network. A GM sets the URI, and our
//! sender would otherwise POST to the cloud metadata address, a database's admin port or any
//! loopback service, and tell the GM through the audit log whether it answered (server-side
//! request forgery). Addresses outside the public internet are refused unless the operator
//! lists them (`[backchannel_logout] allowed_networks`, e.g. a portal on the district's LAN).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::error::Error;

/// Whether the service may send to `ip`: a public address, or one in `allowed`.
pub fn allowed(ip: IpAddr, allowed: &[IpNet]) -> bool {
    let ip = canonical(ip);
    allowed.iter().any(|net| net.contains(&ip)) || is_public(ip)
}

/// A back-channel logout URI that names an address must not point into the district's
/// network; a host name is checked where it is sent, when it is resolved.
pub fn check_uri(uri: Option<&str>, networks: &[IpNet]) -> Result<(), Error> {
    let host = uri
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host().map(|h| h.to_owned()));
    let ip = match host {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    if allowed(ip, networks) {
        return Ok(());
    }
    Err(Error::invalid_request(format!(
        "backchannel_logout_uri: {ip} is inside the network; the operator lists such networks in [backchannel_logout] allowed_networks"
    )))
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b); // 100.64.0.0/10, carrier-grade NAT
    let reserved = a == 0 || a >= 240 || (a == 192 && b == 0); // this network, class E, 192.0.0/24
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || ip.is_unspecified()
        || shared
        || reserved
        || (a == 198 && (b == 18 || b == 19))) // 198.18.0.0/15, benchmarking
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00; // fc00::/7
    let link_local = first & 0xffc0 == 0xfe80; // fe80::/10
    let documentation = first == 0x2001 && ip.segments()[1] == 0x0db8;
    // 64:ff9b::/96 and 2002::/16 carry IPv4 addresses that this check would not see.
    let translated = first == 0x0064 || first == 0x2002;
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || documentation
        || translated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(ip: &str, nets: &[&str]) -> bool {
        let nets: Vec<IpNet> = nets.iter().map(|n| n.parse().unwrap()).collect();
        allowed(ip.parse().unwrap(), &nets)
    }

    #[test]
    fn the_districts_own_network_is_refused() {
        for ip in [
            "127.0.0.1",
            "10.0.0.5",
            "172.16.3.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "fd00::1",
            "fe80::1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
        ] {
            assert!(!ok(ip, &[]), "{ip}");
        }
    }

    #[test]
    fn public_addresses_and_listed_networks_pass() {
        for ip in ["163.28.1.1", "8.8.8.8", "2001:288:1::1"] {
            assert!(ok(ip, &[]), "{ip}");
        }
        assert!(ok("127.0.0.1", &["127.0.0.0/8"]));
        assert!(ok("::ffff:10.1.2.3", &["10.1.0.0/16"]));
        assert!(!ok("10.2.0.1", &["10.1.0.0/16"]));
    }
}
