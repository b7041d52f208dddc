//! Personal data and credentials: found, then replaced (or only reported), one kind at a time.
//!
//! Each kind has its own detector module. A detector proposes candidates with a regular expression
//! (the `regex` crate, so matching time is linear and there is no lookaround) and then validates each
//! candidate in Rust: checksums (Luhn, IBAN mod 97), number ranges (SSN areas, IP address classes)
//! and the characters around it (a phone number inside a longer digit run is no phone number). What
//! cannot be validated is not detected: a false positive rewrites good training text, so every
//! detector prefers precision where the two conflict.
//!
//! When candidates of several kinds overlap, the earliest start wins, then the longest, then the
//! kind listed first in [`Kind`]. Spans are reported as byte ranges in the *output* text.

mod contact;
mod credential;
mod finance;
mod network;
mod text;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{ConfigError, StepError};
use crate::outcome::PiiSpan;
use crate::step::{Draft, Step};

/// The kinds of personal data tamis finds, in the order that breaks ties between overlapping finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// API keys, tokens and private keys (issuers' published formats) and values assigned to secret-named keys.
    Secret,
    /// E-mail addresses.
    Email,
    /// URLs (off by default).
    Url,
    /// IBANs that pass their check digits.
    Iban,
    /// Card numbers that pass the Luhn check.
    CreditCard,
    /// US Social Security numbers.
    Ssn,
    /// Phone numbers.
    Phone,
    /// IP addresses.
    IpAddress,
    /// The user name in a home directory path (`/home/alice/...`).
    HomePath,
}

impl Kind {
    /// Every kind, in tie-breaking order.
    pub const ALL: [Kind; 9] = [
        Kind::Secret,
        Kind::Email,
        Kind::Url,
        Kind::Iban,
        Kind::CreditCard,
        Kind::Ssn,
        Kind::Phone,
        Kind::IpAddress,
        Kind::HomePath,
    ];

    /// The name used in configs and in [`PiiSpan::kind`].
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Secret => "secret",
            Kind::Email => "email",
            Kind::Url => "url",
            Kind::Iban => "iban",
            Kind::CreditCard => "credit_card",
            Kind::Ssn => "ssn",
            Kind::Phone => "phone",
            Kind::IpAddress => "ip_address",
            Kind::HomePath => "home_path",
        }
    }

    /// The word inside a replacement tag. A home path keeps its directory structure and only the
    /// user name is replaced, so its tag names what it stands for: `/home/[USER]/notes.txt`.
    pub fn tag(self) -> &'static str {
        match self {
            Kind::Secret => "SECRET",
            Kind::Email => "EMAIL",
            Kind::Url => "URL",
            Kind::Iban => "IBAN",
            Kind::CreditCard => "CREDIT_CARD",
            Kind::Ssn => "SSN",
            Kind::Phone => "PHONE",
            Kind::IpAddress => "IP_ADDRESS",
            Kind::HomePath => "USER",
        }
    }
}

/// What to do with a found value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `[EMAIL]`: the kind only.
    #[default]
    Tag,
    /// `[EMAIL:3f9a1c2b]`: a keyed pseudonym, the same for the same value across a whole dataset
    /// (so a model can still learn that two mentions are one address) and not reversible without
    /// the key. The value is canonicalized first (e-mail lowercased, numbers without separators), so
    /// `555-123-4567` and `(555) 123 4567` get one pseudonym.
    Hash,
    /// Every letter and digit becomes `*`, separators stay: `***-**-****`. Keeps the shape and the
    /// length in characters.
    Mask,
    /// Reported in the outcome's spans, text unchanged.
    Detect,
}

/// One kind's options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KindConfig {
    /// A kind's table written in a config enables it unless it says `enabled = false`.
    pub enabled: bool,
    /// How a find is replaced.
    pub mode: Mode,
}

impl Default for KindConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            mode: Mode::Tag,
        }
    }
}

impl KindConfig {
    fn disabled() -> Self {
        Self {
            enabled: false,
            mode: Mode::Tag,
        }
    }
}

/// Options of the `pii` step.
///
/// ```toml
/// [pii]
/// hash_key = "a long random string kept out of the dataset"
/// public_only = true
/// [pii.email]
/// mode = "hash"
/// [pii.url]
/// enabled = true
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PiiConfig {
    /// Key of the HMAC-SHA256 pseudonyms of `hash` mode; required when any kind uses it.
    pub hash_key: String,
    /// Only public IP addresses are personal data worth removing: private, loopback, link-local,
    /// documentation, multicast, reserved and unspecified ones say nothing about a person (and are
    /// everywhere in technical text). With this on, an IPv4 address made of four one-digit numbers
    /// (`1.2.3.4`) is also taken for a version number: the few public addresses of that shape
    /// (1.1.1.1, 8.8.8.8, 9.9.9.9) are public DNS resolvers, not anyone's address.
    pub public_only: bool,
    /// E-mail addresses.
    pub email: KindConfig,
    /// Phone numbers.
    pub phone: KindConfig,
    /// US Social Security numbers.
    pub ssn: KindConfig,
    /// Card numbers (Luhn-checked).
    pub credit_card: KindConfig,
    /// IP addresses (public ones only with `public_only`).
    pub ip_address: KindConfig,
    /// IBANs.
    pub iban: KindConfig,
    /// Off by default: most URLs in web text are links to public pages, not personal data.
    pub url: KindConfig,
    /// API keys, tokens and private keys.
    pub secret: KindConfig,
    /// Home directory paths naming a user.
    pub home_path: KindConfig,
}

impl Default for PiiConfig {
    fn default() -> Self {
        Self {
            hash_key: String::new(),
            public_only: true,
            email: KindConfig::default(),
            phone: KindConfig::default(),
            ssn: KindConfig::default(),
            credit_card: KindConfig::default(),
            ip_address: KindConfig::default(),
            iban: KindConfig::default(),
            url: KindConfig::disabled(),
            secret: KindConfig::default(),
            home_path: KindConfig::default(),
        }
    }
}

impl PiiConfig {
    /// The options of `kind`.
    pub fn kind(&self, kind: Kind) -> &KindConfig {
        match kind {
            Kind::Secret => &self.secret,
            Kind::Email => &self.email,
            Kind::Url => &self.url,
            Kind::Iban => &self.iban,
            Kind::CreditCard => &self.credit_card,
            Kind::Ssn => &self.ssn,
            Kind::Phone => &self.phone,
            Kind::IpAddress => &self.ip_address,
            Kind::HomePath => &self.home_path,
        }
    }

    /// Checks that kind options fit together (a hash key for `hash` mode), naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        let hashed = Kind::ALL
            .iter()
            .find(|k| self.kind(**k).enabled && self.kind(**k).mode == Mode::Hash);
        if let (true, Some(kind)) = (self.hash_key.is_empty(), hashed) {
            return Err(ConfigError::new(
                format!("{path}.hash_key"),
                format!(
                    "`{path}.{}` uses mode = \"hash\", which needs a secret `hash_key` (without one the \
                     pseudonyms of phone numbers or SSNs can be reversed by trying every number)",
                    kind.as_str()
                ),
            ));
        }
        Ok(())
    }
}

/// One piece of personal data found in a text, as a byte range of that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    /// What was found.
    pub kind: Kind,
    /// Start byte.
    pub start: usize,
    /// End byte (exclusive).
    pub end: usize,
}

/// The `pii` step. Compiles every detector once; scrubbing a document allocates only its output.
pub struct Scrub {
    config: PiiConfig,
    contact: contact::Detectors,
    credential: credential::Detectors,
    finance: finance::Detectors,
    network: network::Detectors,
}

impl std::fmt::Debug for Scrub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrub").field("config", &"..").finish()
    }
}

fn regex_error(e: regex::Error) -> ConfigError {
    ConfigError::new("pii", format!("a built-in pattern failed to compile: {e}"))
}

impl Scrub {
    /// Builds the `pii` step, compiling every detector.
    pub fn new(config: &PiiConfig) -> Result<Self, ConfigError> {
        config.validate("pii")?;
        Ok(Self {
            config: config.clone(),
            contact: contact::Detectors::new().map_err(regex_error)?,
            credential: credential::Detectors::new().map_err(regex_error)?,
            finance: finance::Detectors::new().map_err(regex_error)?,
            network: network::Detectors::new().map_err(regex_error)?,
        })
    }

    /// Every enabled kind found in `text`, without overlaps, in text order.
    pub fn find(&self, text: &str) -> Vec<Detection> {
        let on = |k: Kind| self.config.kind(k).enabled;
        let mut found = Vec::new();
        if on(Kind::Secret) {
            self.credential.find_secrets(text, &mut found);
        }
        if on(Kind::HomePath) {
            self.credential.find_home_paths(text, &mut found);
        }
        if on(Kind::Email) {
            self.contact.find_emails(text, &mut found);
        }
        if on(Kind::Phone) {
            self.contact.find_phones(text, &mut found);
        }
        if on(Kind::Ssn) {
            self.finance.find_ssns(text, &mut found);
        }
        if on(Kind::CreditCard) {
            self.finance.find_cards(text, &mut found);
        }
        if on(Kind::Iban) {
            self.finance.find_ibans(text, &mut found);
        }
        if on(Kind::IpAddress) {
            self.network
                .find_ips(text, self.config.public_only, &mut found);
        }
        if on(Kind::Url) {
            self.network.find_urls(text, &mut found);
        }
        resolve_overlaps(found)
    }

    /// Replaces every find according to its kind's mode. Returns the new text and, for each find,
    /// where its replacement (or, in `detect` mode, the original) now stands.
    pub fn scrub(&self, text: &str) -> (String, Vec<PiiSpan>) {
        let found = self.find(text);
        let mut out = String::with_capacity(text.len());
        let mut spans = Vec::with_capacity(found.len());
        let mut copied = 0;
        for d in found {
            let Some(value) = text.get(d.start..d.end) else {
                continue;
            };
            out.push_str(text.get(copied..d.start).unwrap_or_default());
            let replacement = self.replacement(d.kind, value);
            let start = out.len();
            out.push_str(&replacement);
            spans.push(PiiSpan {
                kind: d.kind.as_str().to_string(),
                start: to_u32(start),
                end: to_u32(out.len()),
                replacement,
            });
            copied = d.end;
        }
        out.push_str(text.get(copied..).unwrap_or_default());
        (out, spans)
    }

    fn replacement(&self, kind: Kind, value: &str) -> String {
        match self.config.kind(kind).mode {
            Mode::Tag => format!("[{}]", kind.tag()),
            Mode::Detect => value.to_string(),
            Mode::Mask => value
                .chars()
                .map(|c| if c.is_alphanumeric() { '*' } else { c })
                .collect(),
            Mode::Hash => match self.pseudonym(kind, value) {
                Some(p) => format!("[{}:{p}]", kind.tag()),
                None => format!("[{}]", kind.tag()),
            },
        }
    }

    /// First 32 bits of HMAC-SHA256(key, kind, canonical value), as hex. 32 bits keep tokens short;
    /// two values share a pseudonym only by a one-in-four-billion chance.
    fn pseudonym(&self, kind: Kind, value: &str) -> Option<String> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.config.hash_key.as_bytes()).ok()?;
        mac.update(kind.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(canonical(kind, value).as_bytes());
        let digest = mac.finalize().into_bytes();
        Some(digest.iter().take(4).map(|b| format!("{b:02x}")).collect())
    }
}

/// The form of a value that decides its pseudonym: separators and letter case do not make a
/// different person.
fn canonical(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Email | Kind::Url | Kind::IpAddress => value.to_lowercase(),
        Kind::Phone | Kind::Ssn | Kind::CreditCard | Kind::Iban => value
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect(),
        Kind::Secret | Kind::HomePath => value.to_string(),
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What one detector finds in `text` once overlaps are resolved, as the matched strings; shared by the
/// detector modules' tests.
#[cfg(test)]
fn found_with<'t, D>(
    detectors: &D,
    text: &'t str,
    find: impl Fn(&D, &str, &mut Vec<Detection>),
) -> Vec<&'t str> {
    let mut out = Vec::new();
    find(detectors, text, &mut out);
    resolve_overlaps(out)
        .iter()
        .map(|d| &text[d.start..d.end])
        .collect()
}

/// Earliest start first, then the longest, then the kind listed first; a candidate overlapping one
/// already kept is dropped.
fn resolve_overlaps(mut found: Vec<Detection>) -> Vec<Detection> {
    found.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(a.kind.cmp(&b.kind))
    });
    let mut kept: Vec<Detection> = Vec::with_capacity(found.len());
    let mut end = 0;
    for d in found {
        if d.start >= end && d.end > d.start {
            end = d.end;
            kept.push(d);
        }
    }
    kept
}

impl Step for Scrub {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let (text, spans) = self.scrub(draft.text());
        draft.score("pii_spans", spans.len() as f64);
        draft.set_text(text);
        draft.pii.extend(spans);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
