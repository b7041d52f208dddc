//! E-mail addresses and phone numbers.
//!
//! Phone numbers are found in four shapes, from strongest to weakest evidence:
//! - North American (NANP): `(555) 123-4567`, `555-123-4567`, `555.123.4567`, `+1 555 123 4567`,
//!   `001-555-123-4567`, with an optional extension (`x751`, `ext. 12`). Separators between the
//!   groups are required, so a bare ten-digit number is not a phone number.
//! - International with a leading `+` (E.164 with separators or without): `+44 20 7946 0958`,
//!   8 to 15 digits in all (E.164 allows at most 15).
//! - A parenthesized trunk or area code: `(07) 5331 0577`, 8 to 11 digits.
//! - Two to five groups of 2–4 digits (`027 896 92 86`), 8 to 12 digits, only right after a word
//!   such as "call", "phone", "tel", "mobile" or "fax", and never when the groups read as a date.
//!
//! Dates (`2021-03-04`, `03/04/2021`), ISBNs (`978-3-16-148410-0`), version numbers and plain long
//! numbers fit none of these shapes.

use regex::Regex;

use super::text::{in_number_list, preceded_by_any, stands_alone};
use super::{Detection, Kind};

pub(super) struct Detectors {
    email: Regex,
    nanp: Regex,
    international: Regex,
    trunk: Regex,
    grouped: Regex,
}

/// Words after which a run of digit groups is taken for a phone number.
const PHONE_CONTEXT: &[&str] = &[
    "call", "phone", "tel", "mobile", "cell", "fax", "desk", "contact", "whatsapp", "sms", "dial",
    "ring",
];

impl Detectors {
    pub(super) fn new() -> Result<Self, regex::Error> {
        Ok(Self {
            // RFC 5322 allows more in the local part, but addresses in web text use this subset; the
            // domain needs a dot and an alphabetic top-level label.
            email: Regex::new(
                r"[A-Za-z0-9](?:[A-Za-z0-9._%+'-]*[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}",
            )?,
            nanp: Regex::new(
                r"(?:(?:\+1|001|1)[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?: ?(?:x|ext\.?|extension) ?\d{1,6})?",
            )?,
            international: Regex::new(r"\+\d{1,3}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,5})){1,7}")?,
            trunk: Regex::new(r"\(\d{2,4}\) ?\d{3,4}[ .-]?\d{3,4}")?,
            grouped: Regex::new(r"\d{2,4}(?:[ .-]\d{2,4}){1,4}")?,
        })
    }

    pub(super) fn find_emails(&self, text: &str, out: &mut Vec<Detection>) {
        for m in self.email.find_iter(text) {
            let (start, end) = (m.start(), m.end());
            let local = m.as_str().split('@').next().unwrap_or_default();
            if local.contains("..") {
                continue;
            }
            // A candidate cut out of a longer word is not an address (`x@y.comz` is not `x@y.com`).
            let glued_after =
                super::text::after(text, end).is_some_and(|c| c.is_alphanumeric() || c == '@');
            let glued_before = super::text::before(text, start).is_some_and(|c| {
                c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-' | '\'')
            });
            if glued_after || glued_before {
                continue;
            }
            out.push(Detection {
                kind: Kind::Email,
                start,
                end,
            });
        }
    }

    pub(super) fn find_phones(&self, text: &str, out: &mut Vec<Detection>) {
        for m in self.nanp.find_iter(text) {
            if stands_alone(text, m.start(), m.end()) && !in_number_list(text, m.start(), m.end()) {
                out.push(Detection {
                    kind: Kind::Phone,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
        for m in self.international.find_iter(text) {
            // The `+` must not be the plus of an arithmetic expression (`3+4 555 1234`).
            if super::text::before(text, m.start()).is_some_and(|c| c.is_alphanumeric()) {
                continue;
            }
            let ok = |end: usize| (8..=15).contains(&count_digits(&text[m.start()..end]));
            push_longest(text, m, ok, out);
        }
        for m in self.trunk.find_iter(text) {
            let ok = |end: usize| (8..=11).contains(&count_digits(&text[m.start()..end]));
            push_longest(text, m, ok, out);
        }
        for m in self.grouped.find_iter(text) {
            if !preceded_by_any(text, m.start(), 32, PHONE_CONTEXT) {
                continue;
            }
            let ok = |end: usize| {
                let s = &text[m.start()..end];
                (8..=12).contains(&count_digits(s))
                    && one_separator(s)
                    && !looks_like_date(s)
                    && !starts_with_year(s)
            };
            push_longest(text, m, ok, out);
        }
    }
}

/// A pattern may run on into a following number (`+44 20 7946 0958 531-21-7351`): reports the
/// longest run of whole digit groups from the match's start that stands alone and passes `ok`,
/// where the number after it is written differently.
fn push_longest(
    text: &str,
    m: regex::Match<'_>,
    ok: impl Fn(usize) -> bool,
    out: &mut Vec<Detection>,
) {
    let s = m.as_str();
    let group_ends = s.char_indices().filter(|(i, c)| {
        c.is_ascii_digit() && !s[i + 1..].starts_with(|d: char| d.is_ascii_digit())
    });
    // A shorter run must not stop in the middle of a run of groups: `4111 1111 1111 1112` holds
    // no twelve-digit phone number.
    let continues = |end: usize| {
        let rest = &text[end..];
        let mut chars = rest.chars();
        let sep = chars.next();
        sep.is_some_and(|c| matches!(c, ' ' | '.' | '-'))
            && chars.next().is_some_and(|d| d.is_ascii_digit())
    };
    let best = group_ends
        .map(|(i, _)| m.start() + i + 1)
        .filter(|&end| {
            ok(end)
                && stands_alone(text, m.start(), end)
                && !in_number_list(text, m.start(), end)
                && (end == m.end() || !continues(end))
        })
        .last();
    if let Some(end) = best {
        out.push(Detection {
            kind: Kind::Phone,
            start: m.start(),
            end,
        });
    }
}

fn count_digits(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

/// Whether all separators in a digit-group run are the same character.
fn one_separator(s: &str) -> bool {
    let mut seps = s.chars().filter(|c| !c.is_ascii_digit());
    match seps.next() {
        Some(first) => seps.all(|c| c == first),
        None => true,
    }
}

/// `2021-03-04`, `04.03.2021` and the like: three groups with a four-digit year at either end
/// and a plausible month and day.
fn looks_like_date(s: &str) -> bool {
    let groups: Vec<&str> = s.split(|c: char| !c.is_ascii_digit()).collect();
    let [a, b, c] = groups.as_slice() else {
        return false;
    };
    let num = |g: &str| g.parse::<u32>().unwrap_or(0);
    let year = |g: &str| g.len() == 4 && (1000..=2999).contains(&num(g));
    let small = |g: &str| g.len() <= 2 && (1..=31).contains(&num(g));
    (year(a) && small(b) && small(c)) || (small(a) && small(b) && year(c))
}

/// `1863-1945`, `1935-10-…`: a run that opens with a year followed by another year or a month.
fn starts_with_year(s: &str) -> bool {
    let mut groups = s.split(|c: char| !c.is_ascii_digit());
    let num = |g: &str| g.parse::<u32>().unwrap_or(0);
    let year = |g: &str| g.len() == 4 && (1850..=2099).contains(&num(g));
    match (groups.next(), groups.next()) {
        (Some(a), Some(b)) => year(a) && (year(b) || (b.len() <= 2 && (1..=12).contains(&num(b)))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, f: impl Fn(&Detectors, &str, &mut Vec<Detection>)) -> Vec<&str> {
        super::super::found_with(&Detectors::new().unwrap(), text, f)
    }

    fn emails(text: &str) -> Vec<&str> {
        found(text, Detectors::find_emails)
    }

    fn phones(text: &str) -> Vec<&str> {
        found(text, Detectors::find_phones)
    }

    #[test]
    fn emails_are_found_whole() {
        assert_eq!(
            emails("write to jane.doe+news@mail.example.co.uk."),
            ["jane.doe+news@mail.example.co.uk"]
        );
        assert_eq!(
            emails("What's your email? LeaVLind@superrito.com"),
            ["LeaVLind@superrito.com"]
        );
        assert_eq!(emails("<a@b.io>"), ["a@b.io"]);
    }

    #[test]
    fn things_with_an_at_sign_that_are_not_emails() {
        assert!(emails("meet @ noon, user@localhost, @handle, a@b.c, x..y@z.com").is_empty());
        assert!(emails("git@github.com:owner/repo").len() == 1);
        assert!(emails("name@domain.com123").is_empty());
    }

    #[test]
    fn north_american_forms() {
        for p in [
            "(555) 123-4567",
            "555-123-4567",
            "555.123.4567",
            "+1 555 123 4567",
            "1-800-555-1234",
            "986.291.2294x751",
        ] {
            assert_eq!(phones(&format!("call {p} now")), [p], "{p}");
        }
        assert_eq!(
            phones("Fax: 001-420-335-7509x38548"),
            ["001-420-335-7509x38548"]
        );
    }

    #[test]
    fn international_forms() {
        assert_eq!(phones("office +44 20 7946 0958."), ["+44 20 7946 0958"]);
        assert_eq!(phones("+4915112345678"), ["+4915112345678"]);
        assert_eq!(
            phones("Can someone call me on (07) 5331 0577?"),
            ["(07) 5331 0577"]
        );
        assert_eq!(phones("call me at 027 896 92 86 I'd"), ["027 896 92 86"]);
    }

    #[test]
    fn numbers_that_are_not_phones() {
        for t in [
            "on 2021-03-04 we",
            "on 03/04/2021 we",
            "ISBN 978-3-16-148410-0",
            "version 1.2.3.4",
            "id 5551234567 here",
            "total 123456789012",
            "+12",
            "3+4",
            "20 300 4000 apples",
            "call me on 2021-03-04",
            "x555-123-4567",
            "555-123-45678",
            "Performers: Costello, Tom, 1863-1945",
            "Telegrafów Emil 1935-10-1414",
            "992 993 994 995 996 997 998 999 1000 1001",
        ] {
            assert!(phones(t).is_empty(), "{t}: {:?}", phones(t));
        }
    }
}
