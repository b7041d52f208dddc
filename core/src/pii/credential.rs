//! Credentials and the user names that leak through file paths.
//!
//! Secrets are found by the published formats of the issuers (AWS access key IDs, GitHub, Slack
//! and Stripe tokens, PEM private keys) and by assignments that name a secret (`api_key = "…"`).
//! For an assignment only the value is replaced, so `api_key = "[SECRET]"` still reads as code.
//!
//! For a home directory (`/home/alice/…`, `/Users/alice/…`, `C:\Users\alice\…`) only the user name
//! is replaced: the rest of the path says nothing about the person and is useful to a model that
//! learns from logs and shell sessions.

use regex::Regex;

use super::text::before;
use super::{Detection, Kind};

pub(super) struct Detectors {
    tokens: Regex,
    pem: Regex,
    assignment: Regex,
    unix_home: Regex,
    windows_home: Regex,
}

/// Directory names under `/Users` or `C:\Users` that belong to no person.
const NOT_A_USER: &[&str] = &[
    "shared",
    "public",
    "default",
    "default user",
    "all users",
    "guest",
];

impl Detectors {
    pub(super) fn new() -> Result<Self, regex::Error> {
        Ok(Self {
            tokens: Regex::new(concat!(
                // AWS access key IDs: 4-letter prefix and 16 more capitals or digits (AWS IAM docs,
                // "Understanding unique ID prefixes").
                r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
                // GitHub tokens (GitHub blog, "Behind GitHub's new authentication token formats", 2021).
                r"|\bgh[pousr]_[A-Za-z0-9]{36,255}\b",
                r"|\bgithub_pat_[A-Za-z0-9_]{22,255}\b",
                // Slack tokens (Slack API docs, "Token types").
                r"|\bxox[baprs]-[A-Za-z0-9-]{10,250}",
                // Stripe live keys (Stripe docs, "API keys").
                r"|\b(?:sk|rk|pk)_live_[A-Za-z0-9]{16,247}\b",
            ))?,
            // Through the END line when there is one; otherwise through the base64 body, so a key
            // cut off by a page boundary is still removed.
            pem: Regex::new(
                r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----|(?:\r?\n[A-Za-z0-9+/=]{8,}[ \t]*(?m:$))*)",
            )?,
            assignment: Regex::new(
                r#"(?i)[a-z0-9_.-]*(?:api[_-]?key|apikey|secret|token|passw(?:or)?d|private[_-]?key|access[_-]?key)[a-z0-9_.-]*["']?\s*(?::=|=>|[:=])\s*["']?([a-z0-9_\-+/=.~]{16,512})"#,
            )?,
            unix_home: Regex::new(r"/(?:home|Users)/([A-Za-z0-9._-]+)")?,
            windows_home: Regex::new(r"\b[A-Za-z]:\\{1,2}(?i:users)\\{1,2}([^\\/\s:*?<>|\[\]]+)")?,
        })
    }

    pub(super) fn find_secrets(&self, text: &str, out: &mut Vec<Detection>) {
        for m in self.tokens.find_iter(text).chain(self.pem.find_iter(text)) {
            out.push(Detection {
                kind: Kind::Secret,
                start: m.start(),
                end: m.end(),
            });
        }
        for caps in self.assignment.captures_iter(text) {
            let Some(value) = caps.get(1) else { continue };
            // Keys are made of letters and digits both; a long identifier or word is not a secret
            // (`token = tokenizer_output_path`).
            let v = value.as_str().trim_end_matches(['.', ',']);
            let has_letter = v.bytes().any(|b| b.is_ascii_alphabetic());
            let has_digit = v.bytes().any(|b| b.is_ascii_digit());
            if v.len() >= 16 && has_letter && has_digit {
                out.push(Detection {
                    kind: Kind::Secret,
                    start: value.start(),
                    end: value.start() + v.len(),
                });
            }
        }
    }

    pub(super) fn find_home_paths(&self, text: &str, out: &mut Vec<Detection>) {
        for caps in self.unix_home.captures_iter(text) {
            let (Some(whole), Some(name)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            // `/home/` must start a path, not sit inside a URL or another path (`example.com/home/x`).
            if before(text, whole.start())
                .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '~' | '%'))
            {
                continue;
            }
            push_user(name, out);
        }
        for caps in self.windows_home.captures_iter(text) {
            if let Some(name) = caps.get(1) {
                push_user(name, out);
            }
        }
    }
}

fn push_user(name: regex::Match<'_>, out: &mut Vec<Detection>) {
    let n = name.as_str();
    if n.chars().all(|c| c == '.') || NOT_A_USER.contains(&n.to_lowercase().as_str()) {
        return;
    }
    out.push(Detection {
        kind: Kind::HomePath,
        start: name.start(),
        end: name.end(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, f: impl Fn(&Detectors, &str, &mut Vec<Detection>)) -> Vec<&str> {
        super::super::found_with(&Detectors::new().unwrap(), text, f)
    }

    fn secrets(text: &str) -> Vec<&str> {
        found(text, Detectors::find_secrets)
    }

    #[test]
    fn issuer_formats() {
        assert_eq!(
            secrets("key AKIAIOSFODNN7EXAMPLE ok"),
            ["AKIAIOSFODNN7EXAMPLE"]
        );
        let gh = format!("ghp_{}", "a1B2c3D4e5".repeat(4).get(..36).unwrap());
        assert_eq!(secrets(&format!("export T={gh}")), [gh.as_str()]);
        assert_eq!(
            secrets("xoxb-123456789012-abcdefABCDEF"),
            ["xoxb-123456789012-abcdefABCDEF"]
        );
        assert_eq!(
            secrets("sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
            ["sk_live_4eC39HqLyjWDarjtT1zdp7dc"]
        );
    }

    #[test]
    fn pem_blocks_with_or_without_end() {
        let block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc+/=\n-----END RSA PRIVATE KEY-----";
        assert_eq!(secrets(&format!("x\n{block}\ny")), [block]);
        let cut = "-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nMIIEowIBAAKCAQEA";
        assert_eq!(
            secrets(&format!("{cut}\nFurthermore, the next paragraph.")),
            [cut]
        );
        assert!(
            secrets("-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----").is_empty()
        );
    }

    #[test]
    fn assignments_replace_only_the_value() {
        assert_eq!(
            secrets(r#"api_key = "a8f5f167f44f4964e6c998dee827110c""#),
            ["a8f5f167f44f4964e6c998dee827110c"]
        );
        assert_eq!(
            secrets("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"]
        );
        assert_eq!(
            secrets("secret: 'Zm9vYmFyYmF6cXV4MTIzNDU2'"),
            ["Zm9vYmFyYmF6cXV4MTIzNDU2"]
        );
        assert_eq!(secrets("token=abcdef0123456789."), ["abcdef0123456789"]);
    }

    #[test]
    fn assignments_that_are_not_secrets() {
        assert!(
            secrets("token = tokenizer_output_path").is_empty(),
            "no digit"
        );
        assert!(secrets("password: hunter2").is_empty(), "too short");
        assert!(secrets("the secret of success").is_empty());
    }

    #[test]
    fn home_paths_lose_the_user_name() {
        let f = |t| found(t, Detectors::find_home_paths);
        assert_eq!(f("at /home/alice/notes.txt"), ["alice"]);
        assert_eq!(f("cd /Users/bob.smith"), ["bob.smith"]);
        assert_eq!(f(r"C:\Users\carol\Desktop"), ["carol"]);
        assert_eq!(f(r#""C:\\Users\\dave\\x""#), ["dave"]);
        assert_eq!(f("file:///home/erin/a"), ["erin"]);
        assert!(f("https://example.com/home/about").is_empty());
        assert!(f("/Users/Shared/x").is_empty());
        assert!(f("/home/").is_empty());
    }
}
