//! Numbers that identify a person to a state or a bank: US Social Security numbers, payment card
//! numbers and IBANs. Each has a structure that random digits rarely satisfy, and a candidate is
//! only reported when it does.

use regex::Regex;

use super::text::{after, before, clean_after, clean_before, preceded_by_any, stands_alone};
use super::{Detection, Kind};

pub(super) struct Detectors {
    ssn: Regex,
    ssn_bare: Regex,
    digit_groups: Regex,
    iban: Regex,
}

/// Words after which nine bare digits are taken for an SSN.
const SSN_CONTEXT: &[&str] = &["ssn", "social security", "soc. sec"];

impl Detectors {
    pub(super) fn new() -> Result<Self, regex::Error> {
        Ok(Self {
            ssn: Regex::new(r"\d{3}([- ])\d{2}[- ]\d{4}")?,
            ssn_bare: Regex::new(r"\d{9}")?,
            digit_groups: Regex::new(r"\d+(?:[ -]\d+)*")?,
            iban: Regex::new(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,34}")?,
        })
    }

    pub(super) fn find_ssns(&self, text: &str, out: &mut Vec<Detection>) {
        for m in self.ssn.find_iter(text) {
            let s = m.as_str();
            let seps: Vec<char> = s.chars().filter(|c| !c.is_ascii_digit()).collect();
            if seps.len() == 2
                && seps[0] == seps[1]
                && valid_ssn(s)
                && stands_alone(text, m.start(), m.end())
            {
                out.push(Detection {
                    kind: Kind::Ssn,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
        for m in self.ssn_bare.find_iter(text) {
            if valid_ssn(m.as_str())
                && stands_alone(text, m.start(), m.end())
                && preceded_by_any(text, m.start(), 40, SSN_CONTEXT)
            {
                out.push(Detection {
                    kind: Kind::Ssn,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
    }

    /// Card numbers are written as one run of 13–19 digits or in groups (`4111 1111 1111 1111`,
    /// Amex `3782 822463 10005`). Every window of whole groups holding 13–19 digits is tried, so a
    /// card followed by another number (`... 7020 2021`) is still found.
    pub(super) fn find_cards(&self, text: &str, out: &mut Vec<Detection>) {
        for run in self.digit_groups.find_iter(text) {
            let groups: Vec<(usize, usize)> = self_groups(run.as_str(), run.start());
            let mut i = 0;
            while i < groups.len() {
                match card_window(text, &groups, i) {
                    Some(j) => {
                        out.push(Detection {
                            kind: Kind::CreditCard,
                            start: groups[i].0,
                            end: groups[j].1,
                        });
                        i = j + 1;
                    }
                    None => i += 1,
                }
            }
        }
    }

    pub(super) fn find_ibans(&self, text: &str, out: &mut Vec<Detection>) {
        for m in self.iban.find_iter(text) {
            if before(text, m.start()).is_some_and(|c| c.is_alphanumeric()) {
                continue;
            }
            let s = m.as_str();
            let Some(len) = iban_length(&s[..2]) else {
                continue;
            };
            // The pattern may run on into following capitals (`... 00 IN CASH`): cut at the
            // country's length and require the IBAN to end there.
            let mut count = 0;
            let mut end = None;
            for (i, c) in s.char_indices() {
                if c.is_ascii_alphanumeric() {
                    count += 1;
                    if count == len {
                        end = Some(m.start() + i + 1);
                        break;
                    }
                }
            }
            let Some(end) = end else { continue };
            if after(text, end).is_some_and(|c| c.is_alphanumeric()) {
                continue;
            }
            let Some(candidate) = text.get(m.start()..end) else {
                continue;
            };
            if iban_checksum_ok(candidate) {
                out.push(Detection {
                    kind: Kind::Iban,
                    start: m.start(),
                    end,
                });
            }
        }
    }
}

/// Byte ranges of the digit groups of a run.
fn self_groups(run: &str, offset: usize) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut start = None;
    for (i, c) in run.char_indices() {
        match (c.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                groups.push((offset + s, offset + i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        groups.push((offset + s, offset + run.len()));
    }
    groups
}

/// The last group of the longest valid card number starting at group `i`, if any.
fn card_window(text: &str, groups: &[(usize, usize)], i: usize) -> Option<usize> {
    let mut best = None;
    let mut digits = String::new();
    for j in i..groups.len() {
        let (s, e) = groups[j];
        let group = text.get(s..e)?;
        digits.push_str(group);
        if digits.len() > 19 {
            break;
        }
        let grouped = j > i;
        // Written card numbers are grouped 4-4-4-4 (with a shorter last group for 13 or 19
        // digits) or, for Amex and Diners, 4-6-5 and 4-6-4; all separators are the same.
        if grouped {
            let sizes: Vec<usize> = groups[i..=j].iter().map(|(s, e)| e - s).collect();
            let fours = sizes.len() >= 4
                && sizes[..sizes.len() - 1].iter().all(|n| *n == 4)
                && sizes.last().is_some_and(|n| (1..=4).contains(n));
            let sizes_ok = fours || sizes == [4, 6, 5] || sizes == [4, 6, 4];
            let seps: Vec<&str> = groups[i..j]
                .iter()
                .zip(&groups[i + 1..=j])
                .filter_map(|(a, b)| text.get(a.1..b.0))
                .collect();
            if !sizes_ok || seps.windows(2).any(|w| w[0] != w[1]) {
                continue;
            }
        }
        if digits.len() >= 13
            && luhn(&digits)
            && known_iin(&digits)
            && card_edges_ok(text, groups, i, j)
        {
            best = Some(j);
        }
    }
    best
}

/// A window at the edge of its run must not touch letters or a dotted number.
fn card_edges_ok(text: &str, groups: &[(usize, usize)], i: usize, j: usize) -> bool {
    (i > 0 || clean_before(text, groups[i].0))
        && (j + 1 < groups.len() || clean_after(text, groups[j].1))
}

/// The Luhn (mod 10) check digit, ISO/IEC 7812-1.
pub(super) fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// Issuer identification number ranges of the major card networks (Visa, Mastercard, American
/// Express, Discover, Diners Club, JCB, UnionPay, Maestro), from the IIN table of ISO/IEC 7812
/// as listed in Wikipedia's "Payment card number" article.
fn known_iin(digits: &str) -> bool {
    let prefix = |n: usize| {
        digits
            .get(..n)
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let len = digits.len();
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    match p1 {
        4 => matches!(len, 13 | 16 | 19), // Visa
        5 => (51..=55).contains(&p2) || p2 == 50 || (56..=58).contains(&p2), // Mastercard, Maestro
        2 => (2221..=2720).contains(&p4) && len == 16, // Mastercard 2-series
        3 => {
            ((p2 == 34 || p2 == 37) && len == 15)                          // Amex
                || ((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&len) // Diners
                || (3528..=3589).contains(&p4) && (16..=19).contains(&len) // JCB
        }
        6 => {
            p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || p2 == 62 || p2 == 63 || p2 == 67
        } // Discover, UnionPay, Maestro
        _ => false,
    }
}

/// Area 000, 666 and 900–999, group 00 and serial 0000 are never issued (SSA, "Social Security
/// Number Randomization", 2011).
fn valid_ssn(s: &str) -> bool {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 9 {
        return false;
    }
    let area: u32 = digits[..3].parse().unwrap_or(0);
    let group: u32 = digits[3..5].parse().unwrap_or(0);
    let serial: u32 = digits[5..].parse().unwrap_or(0);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// IBAN lengths by country, from the SWIFT IBAN Registry (release 99, 2024).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| *c == country)
        .map(|(_, n)| *n)
}

/// ISO 13616 check: move the first four characters to the end, read letters as 10–35, and the
/// number must be 1 modulo 97.
pub(super) fn iban_checksum_ok(iban: &str) -> bool {
    let chars: Vec<char> = iban.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() < 5 {
        return false;
    }
    let mut rem = 0u32;
    for c in chars[4..].iter().chain(&chars[..4]) {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v < 10 {
            (rem * 10 + v) % 97
        } else {
            (rem * 100 + v) % 97
        };
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, f: impl Fn(&Detectors, &str, &mut Vec<Detection>)) -> Vec<&str> {
        super::super::found_with(&Detectors::new().unwrap(), text, f)
    }

    #[test]
    fn ssns_with_valid_parts() {
        let f = |t| found(t, Detectors::find_ssns);
        assert_eq!(
            f("His social security number is 531-21-7351"),
            ["531-21-7351"]
        );
        assert_eq!(f("ssn 531 21 7351."), ["531 21 7351"]);
        assert_eq!(f("SSN: 531217351"), ["531217351"]);
    }

    #[test]
    fn ssns_never_issued_are_not_ssns() {
        let f = |t| found(t, Detectors::find_ssns);
        for t in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "999-12-3456",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(f(t).is_empty(), "{t}");
        }
        assert!(f("531-21 7351").is_empty(), "mixed separators");
        assert!(
            f("order 531217351 shipped").is_empty(),
            "bare digits need context"
        );
        assert!(f("1531-21-7351").is_empty());
    }

    #[test]
    fn cards_pass_luhn_and_iin() {
        let f = |t| found(t, Detectors::find_cards);
        assert_eq!(f("my card # 5213591727586604 for"), ["5213591727586604"]);
        assert_eq!(f("visa 4111 1111 1111 1111."), ["4111 1111 1111 1111"]);
        assert_eq!(f("amex 3782-822463-10005"), ["3782-822463-10005"]);
        assert_eq!(f("4532 2766 4457 7020 2021"), ["4532 2766 4457 7020"]);
    }

    #[test]
    fn numbers_that_are_not_cards() {
        let f = |t| found(t, Detectors::find_cards);
        assert!(f("4111 1111 1111 1112").is_empty(), "bad Luhn");
        assert!(
            f("1234567812345670").is_empty(),
            "passes Luhn, no known IIN"
        );
        assert!(f("ISBN 978-3-16-148410-0").is_empty());
        assert!(
            f("41111111111111112222333").is_empty(),
            "part of a longer number"
        );
        assert!(f("x4111111111111111").is_empty());
        assert!(f("4111 1111-1111 1111").is_empty(), "mixed separators");
        assert!(
            f("301 302 303 304 305 306 307").is_empty(),
            "a list of numbers"
        );
    }

    #[test]
    fn ibans_with_checksum() {
        let f = |t| found(t, Detectors::find_ibans);
        assert_eq!(
            f("IBAN: DE89 3704 0044 0532 0130 00 IN CASH"),
            ["DE89 3704 0044 0532 0130 00"]
        );
        assert_eq!(f("GB82WEST12345698765432"), ["GB82WEST12345698765432"]);
        assert!(f("DE89 3704 0044 0532 0130 01").is_empty(), "bad checksum");
        assert!(
            f("ZZ89 3704 0044 0532 0130 00").is_empty(),
            "unknown country"
        );
        assert!(f("GB82WEST1234569876543").is_empty(), "too short");
    }

    #[test]
    fn luhn_known_values() {
        assert!(luhn("79927398713"));
        assert!(!luhn("79927398710"));
        assert!(iban_checksum_ok("FR1420041010050500013M02606"));
    }
}
