//! tamis's own cheap heuristics, complementing the published filters: a minimum word count, the share of
//! alphanumeric characters, repeated word n-grams, and a plausible mean sentence length (10–100 words).
//!
//! Words here are runs of non-whitespace; sentences end at `.`, `!`, `?` (and their full-width forms) or
//! at a line break. That is deliberately simpler than the spaCy splitting the datatrove ports use: these
//! rules are coarse bounds, and a simple definition is one users can reproduce by hand.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::analysis::Text;
use crate::error::{ConfigError, StepError, ensure_unit_interval};
use crate::step::{Draft, Flow, Rules, Step};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// Options of the `heuristics` step, tamis's own coarse bounds (see the module doc).
pub struct HeuristicsConfig {
    /// Fewest words (runs of non-whitespace) a document must have (50).
    pub min_words: usize,
    /// Share of non-whitespace characters that are letters or digits.
    pub min_alnum_ratio: f64,
    /// Word n-gram size for the repetition rule.
    pub ngram_size: usize,
    /// Share of word n-grams that repeat an earlier one.
    pub max_repeated_ngram_ratio: f64,
    /// Smallest mean sentence length, in words (10).
    pub min_avg_sentence_words: f64,
    /// Largest mean sentence length, in words (100).
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
    /// Checks the shares and bounds, naming the key under `path`.
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
    /// Builds the step from its options.
    pub fn new(config: &HeuristicsConfig) -> Result<Self, ConfigError> {
        config.validate("quality.heuristics")?;
        Ok(Self {
            config: config.clone(),
        })
    }
}

impl Heuristics {
    fn judge(&self, text: Text<'_>, rules: &mut Rules<'_>) -> Flow {
        let c = &self.config;
        let words = text.lowercase_word_ids();
        rules.at_least("min_words", words.len() as f64, c.min_words as f64)?;
        let chars = text.char_counts();
        let alnum = ratio(chars.alphanumeric, chars.non_whitespace);
        rules.at_least("alnum_ratio", alnum, c.min_alnum_ratio)?;
        let repeated = repeated_ngram_ratio(words, c.ngram_size);
        rules.at_most("repeated_ngram_ratio", repeated, c.max_repeated_ngram_ratio)?;
        let avg = text.avg_sentence_words();
        rules.at_least("min_avg_sentence_words", avg, c.min_avg_sentence_words)?;
        rules.at_most("max_avg_sentence_words", avg, c.max_avg_sentence_words)
    }
}

impl Step for Heuristics {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let (text, mut rules) = draft.read();
        let _ = self.judge(text, &mut rules);
        Ok(())
    }
}

/// `part / whole`; 0 for nothing.
fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Share of the word `n`-grams that repeat an n-gram seen earlier in the text. Words are compared by
/// [`Text::lowercase_word_ids`], so the comparison ignores case.
pub(crate) fn repeated_ngram_ratio(words: &[u32], n: usize) -> f64 {
    if n == 0 || words.len() < n {
        return 0.0;
    }
    let total = words.len() - n + 1;
    let mut seen: HashSet<&[u32]> = HashSet::with_capacity(total);
    let repeats = words.windows(n).filter(|gram| !seen.insert(gram)).count();
    repeats as f64 / total as f64
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

    fn alnum_ratio(text: &str) -> f64 {
        let counts = crate::analysis::CharCounts::of(text);
        ratio(counts.alphanumeric, counts.non_whitespace)
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
        let cache = crate::analysis::Analysis::default();
        let words = cache.of("a b c A B C").lowercase_word_ids();
        // 4 trigrams: "a b c", "b c a", "c a b", "a b c" again.
        assert_eq!(repeated_ngram_ratio(words, 3), 0.25);
        assert_eq!(repeated_ngram_ratio(words, 7), 0.0);
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
    fn sentence_length_bounds_hold_at_their_edges() {
        assert_eq!(
            crate::analysis::sentence_word_counts("One two three. Four five!\nSix seven"),
            vec![3, 2, 2]
        );
        let ten = "one two three four five six seven eight nine ten. ".repeat(3);
        assert_eq!(
            crate::analysis::Analysis::default()
                .of(&ten)
                .avg_sentence_words(),
            10.0
        );
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
