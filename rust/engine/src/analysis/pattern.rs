//! Matching of user-given values: wildcard patterns (as PowerShell's `-like`, case-insensitive)
//! and address ranges.

use std::net::IpAddr;
use std::str::FromStr;

use crate::address::ClientAddress;

/// A PowerShell-style wildcard: `*`, `?`, `[abc]`, `[a-z]`, and `` ` `` to escape.
/// Matching is case-insensitive, as `-like` is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wildcard {
    text: String,
    tokens: Vec<Token>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Char(char),
    Any,
    AnyOne,
    Set(Vec<(char, char)>),
}

impl Wildcard {
    pub fn new(pattern: &str) -> Result<Wildcard, String> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => {
                    if tokens.last() != Some(&Token::Any) {
                        tokens.push(Token::Any);
                    }
                }
                '?' => tokens.push(Token::AnyOne),
                '`' => match chars.next() {
                    Some(escaped) => tokens.push(Token::Char(fold(escaped))),
                    None => tokens.push(Token::Char('`')),
                },
                '[' => {
                    let mut ranges = Vec::new();
                    let mut closed = false;
                    while let Some(member) = chars.next() {
                        if member == ']' {
                            closed = true;
                            break;
                        }
                        let member = if member == '`' { chars.next().unwrap_or('`') } else { member };
                        if chars.peek() == Some(&'-') {
                            chars.next();
                            match chars.next() {
                                Some(']') => {
                                    ranges.push((fold(member), fold(member)));
                                    ranges.push(('-', '-'));
                                    closed = true;
                                    break;
                                }
                                Some(high) => ranges.push((fold(member), fold(high))),
                                None => return Err(format!("the wildcard pattern '{pattern}' has an unclosed '['")),
                            }
                        } else {
                            ranges.push((fold(member), fold(member)));
                        }
                    }
                    if !closed {
                        return Err(format!("the wildcard pattern '{pattern}' has an unclosed '['"));
                    }
                    tokens.push(Token::Set(ranges));
                }
                other => tokens.push(Token::Char(fold(other))),
            }
        }
        Ok(Wildcard { text: pattern.to_string(), tokens })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The same pattern as a regular expression (RE2 and Rust syntax, unanchored, without the
    /// case-insensitive flag the caller adds): what KQL's `matches regex` takes.
    pub fn to_regex(&self) -> String {
        fn escape(c: char, out: &mut String) {
            if "\\.+*?()|[]{}^$-".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        let mut out = String::new();
        for token in &self.tokens {
            match token {
                Token::Char(c) => escape(*c, &mut out),
                Token::Any => out.push_str(".*"),
                Token::AnyOne => out.push('.'),
                Token::Set(ranges) => {
                    out.push('[');
                    for (lo, hi) in ranges {
                        escape(*lo, &mut out);
                        if lo != hi {
                            out.push('-');
                            escape(*hi, &mut out);
                        }
                    }
                    out.push(']');
                }
            }
        }
        out
    }

    pub fn is_match(&self, value: &str) -> bool {
        let chars: Vec<char> = value.chars().map(fold).collect();
        // Iterative matcher with backtracking to the last `*` (linear in practice, no recursion).
        let (mut t, mut c) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while c < chars.len() {
            let step = match self.tokens.get(t) {
                Some(Token::Any) => {
                    star = Some((t, c));
                    t += 1;
                    continue;
                }
                Some(Token::AnyOne) => true,
                Some(Token::Char(expected)) => *expected == chars[c],
                Some(Token::Set(ranges)) => ranges.iter().any(|(lo, hi)| *lo <= chars[c] && chars[c] <= *hi),
                None => false,
            };
            if step {
                t += 1;
                c += 1;
            } else if let Some((star_t, star_c)) = star {
                t = star_t + 1;
                c = star_c + 1;
                star = Some((star_t, star_c + 1));
            } else {
                return false;
            }
        }
        self.tokens[t..].iter().all(|token| *token == Token::Any)
    }
}

fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(single), None) => single,
        _ => c,
    }
}

/// Values match if any pattern matches; an empty list matches everything.
pub fn any_match(patterns: &[Wildcard], value: Option<&str>) -> bool {
    patterns.is_empty() || value.is_some_and(|v| patterns.iter().any(|p| p.is_match(v)))
}

/// An address or a CIDR range, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressRange {
    text: String,
    network: ipnet::IpNet,
}

impl AddressRange {
    pub fn parse(text: &str) -> Result<AddressRange, String> {
        let trimmed = text.trim();
        let invalid = || format!("'{trimmed}' is not an IP address or a CIDR range (such as 203.0.113.0/24)");
        let network = if trimmed.contains('/') {
            let net = ipnet::IpNet::from_str(trimmed).map_err(|_| invalid())?;
            // A range written over mapped IPv6 (::ffff:192.0.2.0/120) means the IPv4 range.
            match net {
                ipnet::IpNet::V6(v6) if v6.addr().to_ipv4_mapped().is_some() && v6.prefix_len() >= 96 => {
                    let v4 = v6.addr().to_ipv4_mapped().expect("mapped");
                    ipnet::IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).map_err(|_| invalid())?
                }
                other => other,
            }
        } else {
            let address = ClientAddress::parse(trimmed).and_then(|a| a.ip).ok_or_else(invalid)?;
            ipnet::IpNet::from(address)
        };
        Ok(AddressRange { text: trimmed.to_string(), network: network.trunc() })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.network.contains(ip)
    }

    /// The range in CIDR form (`203.0.113.0/24`, `2001:db8::/48`; one address is a /32 or a /128).
    pub fn cidr(&self) -> String {
        self.network.to_string()
    }

    pub fn is_ipv4(&self) -> bool {
        matches!(self.network, ipnet::IpNet::V4(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_behave_like_dash_like() {
        let w = |p: &str| Wildcard::new(p).unwrap();
        assert!(w("*OWA*").is_match("Client=OWA;Action=ViaProxy"));
        assert!(w("client=owa*").is_match("Client=OWA;Action=ViaProxy"));
        assert!(!w("Client=REST").is_match("Client=REST;;"));
        assert!(w("Client=REST*").is_match("Client=REST;;"));
        assert!(w("a?c").is_match("abc"));
        assert!(!w("a?c").is_match("ac"));
        assert!(w("[a-c]x").is_match("Bx"));
        assert!(!w("[a-c]x").is_match("dx"));
        assert!(w("a`*b").is_match("a*b"));
        assert!(!w("a`*b").is_match("axb"));
        assert!(w("*").is_match(""));
        assert!(w("*a*a*a*").is_match("xaxaxa"));
        assert!(!w("*a*a*a*b").is_match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(Wildcard::new("[abc").is_err());
    }

    #[test]
    fn address_ranges() {
        let r = AddressRange::parse("203.0.113.0/24").unwrap();
        assert!(r.contains(&"203.0.113.77".parse().unwrap()));
        assert!(!r.contains(&"203.0.114.1".parse().unwrap()));
        let one = AddressRange::parse("2001:DB8::0001").unwrap();
        assert!(one.contains(&"2001:db8::1".parse().unwrap()));
        let mapped = AddressRange::parse("::ffff:192.0.2.0/120").unwrap();
        assert!(mapped.contains(&"192.0.2.9".parse().unwrap()));
        let with_port = AddressRange::parse("192.0.2.1:443").unwrap();
        assert!(with_port.contains(&"192.0.2.1".parse().unwrap()));
        assert!(AddressRange::parse("300.1.1.1").is_err());
        assert!(AddressRange::parse("10.0.0.0/33").is_err());
        assert!(AddressRange::parse("").is_err());
        assert_eq!(AddressRange::parse("203.0.113.77/24").unwrap().cidr(), "203.0.113.0/24");
        assert_eq!(AddressRange::parse("2001:DB8::1").unwrap().cidr(), "2001:db8::1/128");
        assert_eq!(mapped.cidr(), "192.0.2.0/24");
        assert!(mapped.is_ipv4() && !one.is_ipv4());
    }

    #[test]
    fn wildcards_as_regular_expressions() {
        let r = |p: &str| Wildcard::new(p).unwrap().to_regex();
        assert_eq!(r("*@contoso.com"), ".*@contoso\\.com");
        assert_eq!(r("a?[b-d]`*"), "a.[b-d]\\*");
        assert_eq!(r("(x)|y$"), "\\(x\\)\\|y\\$");
    }
}
