//! IP addresses and URLs.
//!
//! Candidates are parsed with `std::net`, which rejects out-of-range and zero-padded octets.
//! An IPv4 candidate must stand alone: not part of a longer dotted sequence (`1.2.3.4.5`), not
//! glued to a letter (`v1.2.3.4`), and not right after a word that announces a version
//! (`version 10.0.19041.1`, `build`, `release`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use regex::Regex;

use super::text::{after, before, previous_word};
use super::{Detection, Kind};

pub(super) struct Detectors {
    ipv4: Regex,
    ipv6: Regex,
    url: Regex,
}

const VERSION_WORDS: &[&str] = &[
    "v", "v.", "ver", "ver.", "version", "versions", "release", "build", "firmware", "kernel",
    "rev", "revision",
];

impl Detectors {
    pub(super) fn new() -> Result<Self, regex::Error> {
        Ok(Self {
            ipv4: Regex::new(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")?,
            ipv6: Regex::new(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?:\.\d{1,3}){3})?")?,
            url: Regex::new(r#"(?i)(?:https?://|ftp://|www\.)[^\s<>"'`{}|\\^\[\]]+"#)?,
        })
    }

    pub(super) fn find_ips(&self, text: &str, public_only: bool, out: &mut Vec<Detection>) {
        for m in self.ipv4.find_iter(text) {
            let (start, end) = (m.start(), m.end());
            let glued_before =
                before(text, start).is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
            let glued_after = after(text, end).is_some_and(|c| c.is_alphanumeric() || c == '_')
                || (after(text, end) == Some('.')
                    && after(text, end + 1).is_some_and(|c| c.is_ascii_digit()));
            if glued_before
                || glued_after
                || VERSION_WORDS.contains(&previous_word(text, start).as_str())
            {
                continue;
            }
            let Ok(ip) = Ipv4Addr::from_str(m.as_str()) else {
                continue;
            };
            if public_only && (!is_public_v4(ip) || ip.octets().iter().all(|o| *o < 10)) {
                continue;
            }
            out.push(Detection {
                kind: Kind::IpAddress,
                start,
                end,
            });
        }
        for m in self.ipv6.find_iter(text) {
            let (start, mut end) = (m.start(), m.end());
            let mut s = m.as_str();
            // A sentence may put a colon right after an address (`at fe80::1: it failed`).
            let colon_after = s.ends_with(':') && !s.ends_with("::");
            if colon_after {
                s = &s[..s.len() - 1];
                end -= 1;
            }
            let glued_before = before(text, start)
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':' || c == '.');
            let glued_after = after(text, end)
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || (c == ':' && !colon_after));
            let groups = s.split(':').filter(|g| !g.is_empty()).count();
            if glued_before || glued_after || groups < 2 {
                continue;
            }
            let Ok(ip) = Ipv6Addr::from_str(s) else {
                continue;
            };
            if public_only && !is_public(IpAddr::V6(ip)) {
                continue;
            }
            out.push(Detection {
                kind: Kind::IpAddress,
                start,
                end,
            });
        }
    }

    pub(super) fn find_urls(&self, text: &str, out: &mut Vec<Detection>) {
        for m in self.url.find_iter(text) {
            if before(text, m.start()).is_some_and(|c| c.is_alphanumeric()) {
                continue;
            }
            // Sentence punctuation after a link is not part of it; a closing parenthesis is, when
            // the link opened one (Wikipedia links).
            let mut s = m.as_str();
            loop {
                let trimmed = s.trim_end_matches(['.', ',', ';', ':', '!', '?', '*']);
                let trimmed = if trimmed.ends_with(')')
                    && trimmed.matches('(').count() < trimmed.matches(')').count()
                {
                    &trimmed[..trimmed.len() - 1]
                } else {
                    trimmed
                };
                if trimmed.len() == s.len() {
                    break;
                }
                s = trimmed;
            }
            let host_part = s.split_once("://").map_or(s, |(_, rest)| rest);
            if host_part.len() < 4 || !host_part.contains('.') {
                continue;
            }
            out.push(Detection {
                kind: Kind::Url,
                start: m.start(),
                end: m.start() + s.len(),
            });
        }
    }
}

/// Whether an address can belong to someone on the public internet (IANA special-purpose address
/// registries, RFC 6890 and its updates).
pub(super) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let seg = v6.segments();
            // Global unicast is 2000::/3; 2001:db8::/32 is for documentation.
            (seg[0] & 0xE000) == 0x2000 && !(seg[0] == 0x2001 && seg[1] == 0x0db8)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_documentation()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || a == 0                                   // "this network", RFC 1122
        || (a == 100 && (64..128).contains(&b))     // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0)           // IETF protocol assignments, RFC 6890
        || (a == 198 && (b == 18 || b == 19))       // benchmarking, RFC 2544
        || a >= 240) // reserved, RFC 1112
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(text: &str, public_only: bool) -> Vec<&str> {
        let d = Detectors::new().unwrap();
        let mut out = Vec::new();
        d.find_ips(text, public_only, &mut out);
        super::super::resolve_overlaps(out)
            .iter()
            .map(|d| &text[d.start..d.end])
            .collect()
    }

    fn urls(text: &str) -> Vec<&str> {
        let d = Detectors::new().unwrap();
        let mut out = Vec::new();
        d.find_urls(text, &mut out);
        super::super::resolve_overlaps(out)
            .iter()
            .map(|d| &text[d.start..d.end])
            .collect()
    }

    #[test]
    fn public_addresses_are_found() {
        assert_eq!(
            ips("keep getting address 58.74.121.78 blocked", true),
            ["58.74.121.78"]
        );
        assert_eq!(ips("|98.85.59.159|", true), ["98.85.59.159"]);
        assert_eq!(
            ips("from 2a00:1450:4001:82b::200e.", true),
            ["2a00:1450:4001:82b::200e"]
        );
        assert_eq!(
            ips("at ::ffff:81.2.69.160 now", true),
            ["::ffff:81.2.69.160"]
        );
    }

    #[test]
    fn private_and_special_addresses_only_without_public_only() {
        for t in [
            "192.168.1.10",
            "10.0.0.1",
            "127.0.0.1",
            "169.254.3.4",
            "203.0.113.7",
            "224.0.0.1",
            "0.0.0.0",
            "100.64.1.1",
            "fe80::1",
            "2001:db8::1",
        ] {
            assert!(ips(t, true).is_empty(), "{t}");
            assert_eq!(ips(t, false), [t], "{t}");
        }
    }

    #[test]
    fn version_numbers_are_not_addresses() {
        assert!(ips("version 1.2.3.4", true).is_empty());
        assert!(ips("1.2.3.4", true).is_empty());
        assert!(ips("v1.2.3.4", false).is_empty());
        assert!(ips("Version 10.0.19041.1", false).is_empty());
        assert!(ips("build 51.10.2.3", false).is_empty());
        assert!(ips("1.2.3.4.5", false).is_empty());
        assert!(ips("58.74.121.78.9", true).is_empty());
        assert!(ips("256.1.1.1", false).is_empty());
        assert!(ips("58.074.121.78", true).is_empty(), "zero-padded octet");
    }

    #[test]
    fn things_with_colons_that_are_not_ipv6() {
        for t in ["at 12:30:45 today", "std::vec::Vec", "a::b", "ab::", "::"] {
            assert!(ips(t, true).is_empty(), "{t}");
        }
        assert!(ips("12:30:45", false).is_empty());
        assert!(ips("std::vec", false).is_empty());
    }

    #[test]
    fn urls_without_trailing_punctuation() {
        assert_eq!(
            urls("Just posted a photo http://www.DialForum.co.uk/"),
            ["http://www.DialForum.co.uk/"]
        );
        assert_eq!(
            urls("see https://en.wikipedia.org/wiki/Foo_(bar)."),
            ["https://en.wikipedia.org/wiki/Foo_(bar)"]
        );
        assert_eq!(urls("(at www.example.com)"), ["www.example.com"]);
        assert!(urls("http:// nothing").is_empty());
    }
}
