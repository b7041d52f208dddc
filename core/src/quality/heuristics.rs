//! tamis's own cheap heuristics, complementing the published filters: a minimum word count, the share of
//! alphanumeric characters, repeated word n-grams, and a plausible mean sentence length (10–100 words).
//!
//! Words here are runs of non-whitespace; sentences end at `.`, `!`, `?` (and their full-width forms) or
//! at a line break. That is deliberately simpler than the spaCy splitting the datatrove ports use: these
//! rules are coarse bounds, and a simple definition is one users can reproduce by hand.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::config::StepName;
use crate::error::{ConfigError, StepError, ensure_unit_interval};
use crate::outcome::Bound;
use crate::pipeline::{Draft, Step};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeuristicsConfig {
    pub min_words: usize,
    /// Share of non-whitespace characters that are letters or digits.
    pub min_alnum_ratio: f64,
    /// Word n-gram size for the repetition rule.
    pub ngram_size: usize,
    /// Share of word n-grams that repeat an earlier one.
    pub max_repeated_ngram_ratio: f64,
    pub min_avg_sentence_words: f64,
    pub max_avg_sentence_words: f64,
}

impl Default for HeuristicsConfig {
    fn default() -> Self {
        Self {
            min_words: 50,
            min_alnum_ratio: 0.6,
            ngram_size: 3,
            max_repeated_ngram_ratio: 0.3,
            min_avg_sentence_words: 10.0,
            max_avg_sentence_words: 100.0,
        }
    }
}

impl HeuristicsConfig {
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        ensure_unit_interval(
            path,
            &[
                ("min_alnum_ratio", self.min_alnum_ratio),
                ("max_repeated_ngram_ratio", self.max_repeated_ngram_ratio),
            ],
        )?;
        if self.ngram_size == 0 {
            return Err(ConfigError::new(
                format!("{path}.ngram_size"),
                "must be at least 1",
            ));
        }
        if !(self.min_avg_sentence_words >= 0.0
            && self.min_avg_sentence_words <= self.max_avg_sentence_words)
        {
            return Err(ConfigError::new(
                format!("{path}.min_avg_sentence_words"),
                "must be non-negative and not above max_avg_sentence_words",
            ));
        }
        Ok(())
    }
}

/// The `heuristics` step.
pub struct Heuristics {
    config: HeuristicsConfig,
}

impl Heuristics {
    pub fn new(config: &HeuristicsConfig) -> Result<Self, ConfigError> {
        config.validate("quality.heuristics")?;
        Ok(Self {
            config: config.clone(),
        })
    }
}

impl Step for Heuristics {
    fn name(&self) -> StepName {
        StepName::Heuristics
    }

    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let c = &self.config;
        let text = draft.text.clone();
        let words = words(&text);
        if !draft.check(
            "min_words",
            words.len() as f64,
            Bound::AtLeast,
            c.min_words as f64,
        ) {
            return Ok(());
        }
        if !draft.check(
            "alnum_ratio",
            alnum_ratio(&text),
            Bound::AtLeast,
            c.min_alnum_ratio,
        ) {
            return Ok(());
        }
        let repeated = repeated_ngram_ratio(&words, c.ngram_size);
        if !draft.check(
            "repeated_ngram_ratio",
            repeated,
            Bound::AtMost,
            c.max_repeated_ngram_ratio,
        ) {
            return Ok(());
        }
        let avg = avg_sentence_words(&text);
        if !draft.check(
            "min_avg_sentence_words",
            avg,
            Bound::AtLeast,
            c.min_avg_sentence_words,
        ) {
            return Ok(());
        }
        draft.check(
            "max_avg_sentence_words",
            avg,
            Bound::AtMost,
            c.max_avg_sentence_words,
        );
        Ok(())
    }
}

/// Whitespace-separated words.
pub(crate) fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

/// Letters and digits over all non-whitespace characters; 0 for a blank text.
pub(crate) fn alnum_ratio(text: &str) -> f64 {
    let (mut alnum, mut total) = (0usize, 0usize);
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        total += 1;
        alnum += usize::from(c.is_alphanumeric());
    }
    if total == 0 {
        0.0
    } else {
        alnum as f64 / total as f64
    }
}

/// Share of the word `n`-grams that repeat an n-gram seen earlier in the text (case-insensitive).
pub(crate) fn repeated_ngram_ratio(words: &[&str], n: usize) -> f64 {
    if n == 0 || words.len() < n {
        return 0.0;
    }
    let lower: Vec<Cow<str>> = words.iter().map(|w| lowercase(w)).collect();
    let mut seen: HashSet<&[Cow<str>]> = HashSet::with_capacity(lower.len());
    let mut repeats = 0usize;
    let total = lower.len() - n + 1;
    for gram in lower.windows(n) {
        if !seen.insert(gram) {
            repeats += 1;
        }
    }
    repeats as f64 / total as f64
}

/// `str::to_lowercase`, borrowing the word when it is already lower-case ASCII, as most words are.
fn lowercase(word: &str) -> Cow<'_, str> {
    if !word.is_ascii() {
        Cow::Owned(word.to_lowercase())
    } else if word.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(word.to_ascii_lowercase())
    } else {
        Cow::Borrowed(word)
    }
}

/// Sentences as word counts; empty sentences are skipped.
pub(crate) fn sentence_word_counts(text: &str) -> Vec<usize> {
    let mut counts = Vec::new();
    let mut current = 0usize;
    for line in text.split('\n') {
        for word in line.split_whitespace() {
            current += 1;
            if word.ends_with(['.', '!', '?', '。', '！', '？']) {
                counts.push(current);
                current = 0;
            }
        }
        if current > 0 {
            counts.push(current);
            current = 0;
        }
    }
    counts
}

/// Mean words per sentence; 0 for a text without words.
pub(crate) fn avg_sentence_words(text: &str) -> f64 {
    let counts = sentence_word_counts(text);
    if counts.is_empty() {
        0.0
    } else {
        counts.iter().sum::<usize>() as f64 / counts.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(config: HeuristicsConfig, text: &str) -> Draft {
        let mut draft = Draft::new("d", text);
        Heuristics::new(&config).unwrap().run(&mut draft).unwrap();
        draft
    }

    fn prose(sentences: usize) -> String {
        (0..sentences)
            .map(|i| format!("Sentence number {i} tells a story about rivers, hills and towns we once visited."))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn plain_prose_passes_every_rule() {
        let d = run(
            HeuristicsConfig {
                max_repeated_ngram_ratio: 1.0,
                ..Default::default()
            },
            &prose(6),
        );
        assert!(d.first_failure().is_none(), "{:?}", d.checks);
        assert_eq!(d.checks.len(), 5);
    }

    #[test]
    fn min_words_is_inclusive() {
        let text = "word ".repeat(50);
        let at = run(
            HeuristicsConfig {
                min_words: 50,
                ..Default::default()
            },
            &text,
        );
        assert!(at.checks[0].passed);
        let above = run(
            HeuristicsConfig {
                min_words: 51,
                ..Default::default()
            },
            &text,
        );
        assert_eq!(above.first_failure().unwrap().rule, "min_words");
    }

    #[test]
    fn alnum_ratio_counts_non_whitespace_only() {
        assert_eq!(alnum_ratio("ab !!"), 0.5);
        assert_eq!(alnum_ratio("   "), 0.0);
        let d = run(
            HeuristicsConfig {
                min_words: 1,
                ..Default::default()
            },
            "ab !! cd ?? ef ## gh $$",
        );
        assert_eq!(d.first_failure().unwrap().rule, "alnum_ratio");
    }

    #[test]
    fn repeated_ngrams_are_measured_case_insensitively() {
        let words = words("a b c A B C");
        // 4 trigrams: "a b c", "b c a", "c a b", "a b c" again.
        assert_eq!(repeated_ngram_ratio(&words, 3), 0.25);
        assert_eq!(repeated_ngram_ratio(&words, 7), 0.0);
        let spam = "buy cheap pills now ".repeat(30);
        let d = run(
            HeuristicsConfig {
                min_alnum_ratio: 0.0,
                ..Default::default()
            },
            &spam,
        );
        assert_eq!(d.first_failure().unwrap().rule, "repeated_ngram_ratio");
    }

    #[test]
    fn lowercasing_borrows_only_what_is_already_lower_case() {
        assert!(matches!(lowercase("river"), Cow::Borrowed("river")));
        assert_eq!(lowercase("RiVer"), "river");
        assert_eq!(lowercase("ÉTÉ"), "été");
        assert_eq!(lowercase("İ"), "İ".to_lowercase());
    }

    #[test]
    fn sentence_length_bounds_hold_at_their_edges() {
        assert_eq!(
            sentence_word_counts("One two three. Four five!\nSix seven"),
            vec![3, 2, 2]
        );
        let ten = "one two three four five six seven eight nine ten. ".repeat(3);
        assert_eq!(avg_sentence_words(&ten), 10.0);
        let loose = HeuristicsConfig {
            min_words: 1,
            max_repeated_ngram_ratio: 1.0,
            ..Default::default()
        };
        assert!(run(loose.clone(), &ten).first_failure().is_none());
        let stricter = HeuristicsConfig {
            min_avg_sentence_words: 10.5,
            ..loose.clone()
        };
        assert_eq!(
            run(stricter, &ten).first_failure().unwrap().rule,
            "min_avg_sentence_words"
        );
        let capped = HeuristicsConfig {
            max_avg_sentence_words: 9.0,
            min_avg_sentence_words: 0.0,
            ..loose
        };
        assert_eq!(
            run(capped, &ten).first_failure().unwrap().rule,
            "max_avg_sentence_words"
        );
    }

    #[test]
    fn evaluate_all_runs_every_rule_after_a_failure() {
        let mut draft = Draft::new("d", "!!").with_evaluate_all(true);
        Heuristics::new(&HeuristicsConfig::default())
            .unwrap()
            .run(&mut draft)
            .unwrap();
        assert_eq!(draft.checks.len(), 5);
        assert_eq!(draft.first_failure().unwrap().rule, "min_words");
    }

    #[test]
    fn bad_values_name_their_path() {
        let c = HeuristicsConfig {
            min_alnum_ratio: 1.5,
            ..Default::default()
        };
        assert_eq!(
            c.validate("quality.heuristics").unwrap_err().path,
            "quality.heuristics.min_alnum_ratio"
        );
    }
}
