//! Client addresses as records write them, normalised so that one address compares equal to
//! itself whatever its spelling (`FE80::`, `fe80:0000::`, `[fe80::]:443`, `::ffff:192.0.2.1`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddress {
    /// The text exactly as the record wrote it.
    pub original: String,
    /// The parsed address; None when the text is not an IP address.
    pub ip: Option<IpAddr>,
    /// The port, when the text carried one (`192.0.2.1:443`, `[2001:db8::1]:443`).
    pub port: Option<u16>,
}

impl ClientAddress {
    /// Parses a record's address text; None for empty text.
    pub fn parse(text: &str) -> Option<ClientAddress> {
        let trimmed = crate::model::trim(text);
        if trimmed.is_empty() {
            return None;
        }
        let (ip, port) = match parse_ip_and_port(trimmed) {
            Some((ip, port)) => (Some(unmap(ip)), port),
            None => (None, None),
        };
        Some(ClientAddress { original: text.to_string(), ip, port })
    }

    /// The canonical text: RFC 5952 form for IPv6, dotted quad for IPv4 (also for mapped
    /// addresses), and the trimmed original when it is not an address.
    pub fn canonical(&self) -> String {
        match self.ip {
            Some(ip) => ip.to_string(),
            None => self.original.trim().to_string(),
        }
    }

    /// The key addresses are grouped and compared by.
    pub fn key(&self) -> AddressKey {
        match self.ip {
            Some(ip) => AddressKey::Ip(ip),
            None => AddressKey::Text(self.original.trim().to_ascii_lowercase()),
        }
    }
}

/// Whether an address can be the address of a client as Exchange Online saw it. Addresses that
/// cannot are placeholders, shared by unrelated records (application records carry `FE80::`):
/// the unspecified and "this network" addresses (`0.0.0.0/8`, `::`), loopback (`127.0.0.0/8`,
/// `::1`), link-local (`169.254.0.0/16`, `fe80::/10`), the broadcast address and multicast
/// (`224.0.0.0/4`, `ff00::/8`), none of which a client's packets come from (RFC 1122, 3927,
/// 4291, 6890). Private and documentation ranges are real addresses and pass.
pub fn is_client_address(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.octets()[0] == 0 || v4.is_loopback() || v4.is_link_local() || v4.is_broadcast() || v4.is_multicast()),
        IpAddr::V6(v6) => {
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
            !(v6.is_unspecified() || v6.is_loopback() || link_local || v6.is_multicast())
        }
    }
}

/// Equality key for addresses: the parsed address, or the lower-cased text of what did not parse.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressKey {
    Ip(IpAddr),
    Text(String),
}

/// `::ffff:a.b.c.d` is the IPv4 address a.b.c.d seen through an IPv6 socket.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn parse_ip_and_port(text: &str) -> Option<(IpAddr, Option<u16>)> {
    // [v6]:port or [v6]
    if let Some(rest) = text.strip_prefix('[') {
        let close = rest.find(']')?;
        let ip = parse_v6(&rest[..close])?;
        let after = &rest[close + 1..];
        if after.is_empty() {
            return Some((IpAddr::V6(ip), None));
        }
        let port = after.strip_prefix(':')?.parse::<u16>().ok()?;
        return Some((IpAddr::V6(ip), Some(port)));
    }
    match memchr::memchr_iter(b':', text.as_bytes()).count() {
        0 => text.parse::<Ipv4Addr>().ok().map(|ip| (IpAddr::V4(ip), None)),
        // a.b.c.d:port
        1 => {
            let (host, port) = text.split_once(':')?;
            let ip = host.parse::<Ipv4Addr>().ok()?;
            let port = port.parse::<u16>().ok()?;
            Some((IpAddr::V4(ip), Some(port)))
        }
        _ => parse_v6(text).map(|ip| (IpAddr::V6(ip), None)),
    }
}

/// IPv6 text, with a zone suffix (`%eth0`) dropped: the zone does not name another host.
fn parse_v6(text: &str) -> Option<Ipv6Addr> {
    let text = text.split('%').next().unwrap_or(text);
    text.parse::<Ipv6Addr>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        ClientAddress::parse(text).unwrap().canonical()
    }

    #[test]
    fn ipv4_forms() {
        assert_eq!(canon("192.0.2.1"), "192.0.2.1");
        assert_eq!(canon(" 192.0.2.1 "), "192.0.2.1");
        let with_port = ClientAddress::parse("185.73.124.135:19823").unwrap();
        assert_eq!(with_port.canonical(), "185.73.124.135");
        assert_eq!(with_port.port, Some(19823));
        assert_eq!(with_port.original, "185.73.124.135:19823");
    }

    #[test]
    fn ipv6_forms_compare_equal() {
        let a = ClientAddress::parse("FE80::").unwrap();
        let b = ClientAddress::parse("fe80:0000:0000::0").unwrap();
        let c = ClientAddress::parse("[fe80::]:443").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key(), c.key());
        assert_eq!(a.canonical(), "fe80::");
        assert_eq!(c.port, Some(443));
        assert_eq!(canon("fe80:0011:2233:4455:6677:8899:AABB:CCDD"), "fe80:11:2233:4455:6677:8899:aabb:ccdd");
    }

    #[test]
    fn mapped_ipv4_is_ipv4() {
        let mapped = ClientAddress::parse("::ffff:192.0.2.1").unwrap();
        let plain = ClientAddress::parse("192.0.2.1").unwrap();
        assert_eq!(mapped.key(), plain.key());
        assert_eq!(mapped.canonical(), "192.0.2.1");
        assert_eq!(mapped.original, "::ffff:192.0.2.1");
    }

    #[test]
    fn placeholders_are_not_client_addresses() {
        let client = |text: &str| is_client_address(&ClientAddress::parse(text).unwrap().ip.unwrap());
        for placeholder in [
            "FE80::",
            "fe80::1:2",
            "febf::1",
            "::",
            "::1",
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "169.254.10.1",
            "255.255.255.255",
            "224.0.0.1",
            "ff02::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!client(placeholder), "{placeholder}");
        }
        for real in ["192.0.2.1", "10.1.2.3", "192.168.1.1", "fec0::1", "fd00::1", "2001:db8::1", "203.0.113.77", "1.2.3.4"] {
            assert!(client(real), "{real}");
        }
    }

    #[test]
    fn text_that_is_not_an_address_is_kept() {
        let odd = ClientAddress::parse("not-an-ip").unwrap();
        assert_eq!(odd.ip, None);
        assert_eq!(odd.canonical(), "not-an-ip");
        assert_eq!(odd.key(), ClientAddress::parse("NOT-AN-IP").unwrap().key());
        assert!(ClientAddress::parse("  ").is_none());
        // A malformed bracket form is text, not a guess.
        assert_eq!(ClientAddress::parse("[fe80::").unwrap().ip, None);
        assert_eq!(ClientAddress::parse("192.0.2.1:99999").unwrap().ip, None);
    }
}
