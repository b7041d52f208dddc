//! The records that cross every boundary: a [`Document`] in, an [`Outcome`] out.
//!
//! They mirror the records of `wit/tamis.wit` one to one, and their serde form is the JSON the host writes,
//! the edge answers and the browser shows, so a field added here is added in the WIT file too.

use serde::{Deserialize, Serialize};

/// One input record. Exactly one of `text` or `html` is normally set; when both are, the `html` step
/// extracts from `html` and any other pipeline reads `text`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Unique id, carried into the outcome and every error about the record.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Extracted text, when the record has it.
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Raw HTML, for the `html` step to extract from.
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The page URL, when known; kept with the document, never judged.
    pub url: Option<String>,
    /// Free-form metadata as JSON text; the core carries it but never judges by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

impl Document {
    /// A plain-text document.
    pub fn text(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// An HTML page.
    pub fn html(id: impl Into<String>, html: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            html: Some(html.into()),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
/// Whether a document is kept or dropped.
pub enum Verdict {
    /// The document passed every check and goes to kept/.
    Keep,
    /// A check failed; the document goes to dropped/ with that check as the reason.
    Drop,
}

/// What a rule requires of its measured value to pass. Published rules differ in strictness
/// (`<` vs `<=`), so the bound is recorded exactly rather than as a loose min/max.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// passes when `value >= threshold`
    AtLeast,
    /// passes when `value <= threshold`
    AtMost,
    /// passes when `value > threshold`
    Above,
    /// passes when `value < threshold`
    Below,
}

impl Bound {
    /// Whether `value` meets this bound against `threshold`.
    pub fn passes(self, value: f64, threshold: f64) -> bool {
        match self {
            Bound::AtLeast => value >= threshold,
            Bound::AtMost => value <= threshold,
            Bound::Above => value > threshold,
            Bound::Below => value < threshold,
        }
    }

    /// The relation that holds between value and threshold when the rule fails, as shown in reasons.
    pub fn failing_symbol(self) -> &'static str {
        match self {
            Bound::AtLeast => "<",
            Bound::AtMost => ">",
            Bound::Above => "<=",
            Bound::Below => ">=",
        }
    }

    /// The relation required to pass.
    pub fn passing_symbol(self) -> &'static str {
        match self {
            Bound::AtLeast => ">=",
            Bound::AtMost => "<=",
            Bound::Above => ">",
            Bound::Below => "<",
        }
    }
}

/// One rule that ran on one document: what it measured, against what, and whether it passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The pipeline step (`gopher_quality`).
    pub step: String,
    /// The rule, with the published name where there is one (`gopher_below_alpha_threshold`).
    pub rule: String,
    /// What the rule measured on the document.
    pub value: f64,
    /// How `value` is compared with `threshold`.
    pub bound: Bound,
    /// The limit from the config.
    pub threshold: f64,
    /// Whether `value` met the bound.
    pub passed: bool,
}

impl Check {
    /// `gopher_quality / gopher_below_alpha_threshold / 0.61 < 0.8`
    pub fn describe(&self) -> String {
        let symbol = if self.passed {
            self.bound.passing_symbol()
        } else {
            self.bound.failing_symbol()
        };
        format!(
            "{} / {} / {} {} {}",
            self.step,
            self.rule,
            format_number(self.value),
            symbol,
            format_number(self.threshold)
        )
    }
}

/// Numbers in reasons: at most four decimals, no trailing zeros, so they read the same in every runtime.
pub fn format_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// A piece of personal data found in the output text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiSpan {
    /// `email`, `phone`, `ssn`, `credit_card`, `ip_address`, `iban`, `url`, `secret`, `home_path`.
    pub kind: String,
    /// Byte range in the outcome's `text` of what now stands there (the replacement, or the original
    /// in `detect` mode).
    pub start: u32,
    /// End of that byte range (exclusive).
    pub end: u32,
    /// The text that now stands there (equal to the original in `detect` mode).
    pub replacement: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// The language the `language` step found.
pub struct LanguageGuess {
    /// ISO 639-3 code (`eng`).
    pub code: String,
    /// The detector's confidence, 0–1.
    pub confidence: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// A named number that is not itself a rule (`quality_score`, its components).
pub struct Score {
    /// Name of the score (`quality.diversity`).
    pub name: String,
    /// Its value.
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
/// The fingerprint of a text, for `tamis dedup`.
pub struct Hashes {
    /// Hex xxh3-128 of the text after dedup normalization (see `fingerprint`).
    pub exact: String,
    /// MinHash signature, `bands * rows` values, band-major.
    pub minhash: Vec<u64>,
}

/// The judgment on one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The document's id.
    pub id: String,
    /// Keep or drop.
    pub verdict: Verdict,
    /// The first failed check, for a drop.
    pub reason: Option<Check>,
    /// The cleaned text.
    pub text: String,
    /// The page title, when the `html` step found one.
    pub title: Option<String>,
    /// What the page declares about itself, when the `html` step found anything.
    pub page: Option<crate::html::PageMeta>,
    /// Every rule that ran, in order (with `evaluate_all`, also those after the first failure).
    pub checks: Vec<Check>,
    /// Personal data found in `text`.
    pub pii: Vec<PiiSpan>,
    /// The detected language, when the `language` step ran.
    pub language: Option<LanguageGuess>,
    /// Scores recorded by the steps.
    pub scores: Vec<Score>,
    /// The fingerprint, when the `fingerprint` step ran.
    pub hashes: Option<Hashes>,
    /// Token count, when the `tokens` step ran.
    pub tokens: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_the_same_everywhere() {
        assert_eq!(format_number(0.61), "0.61");
        assert_eq!(format_number(0.8), "0.8");
        assert_eq!(format_number(50.0), "50");
        assert_eq!(format_number(1.0 / 3.0), "0.3333");
        assert_eq!(format_number(-0.00001), "0");
    }

    #[test]
    fn reasons_show_the_failing_relation() {
        let check = Check {
            step: "gopher_quality".into(),
            rule: "gopher_below_alpha_threshold".into(),
            value: 0.61,
            bound: Bound::AtLeast,
            threshold: 0.8,
            passed: false,
        };
        assert_eq!(
            check.describe(),
            "gopher_quality / gopher_below_alpha_threshold / 0.61 < 0.8"
        );
    }

    #[test]
    fn bounds_are_exact_at_the_threshold() {
        assert!(Bound::AtLeast.passes(1.0, 1.0));
        assert!(!Bound::Above.passes(1.0, 1.0));
        assert!(Bound::AtMost.passes(1.0, 1.0));
        assert!(!Bound::Below.passes(1.0, 1.0));
    }
}
