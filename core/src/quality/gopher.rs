//! Gopher quality rules (Rae et al. 2021, "Scaling Language Models", appendix A1), exactly as datatrove 0.10.1's
//! `GopherQualityFilter` implements them, so that a tamis verdict can be compared with a datatrove one.
//!
//! Words are datatrove's English words (spaCy's tokenizer, see [`super::words`]); "non-symbol words" are those
//! with at least one character outside datatrove's punctuation set. Lengths count code points, as Python does.
//! As in datatrove, a threshold of 0 switches its rule off.

use serde::{Deserialize, Serialize};

use super::words::{char_len, is_datatrove_punctuation, is_py_alpha, is_py_space};
use crate::analysis::Text;
use crate::error::{ConfigError, StepError, ensure_unit_interval};
use crate::step::{Draft, Flow, Rules, Step, off_if_zero};

/// The constructor arguments of datatrove's `GopherQualityFilter`, with its defaults (Gopher, table A1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GopherQualityConfig {
    /// Fewest non-symbol words; 0 = off.
    pub min_doc_words: u64,
    /// Most non-symbol words; 0 = off.
    pub max_doc_words: u64,
    /// Shortest mean length of non-symbol words, in characters; 0 = off.
    pub min_avg_word_length: f64,
    /// Longest mean length of non-symbol words; 0 = off.
    pub max_avg_word_length: f64,
    /// Most `#` per word, and most ellipses (`...` or `…`) per word; 0 = off.
    pub max_symbol_word_ratio: f64,
    /// Largest share of lines starting with a bullet (`•` or `-`); 0 = off.
    pub max_bullet_lines_ratio: f64,
    /// Largest share of lines ending with an ellipsis; 0 = off.
    pub max_ellipsis_lines_ratio: f64,
    /// Smallest share of words with a letter. datatrove names it `max_`, though it is a minimum; the name is
    /// kept so that configs carry over.
    pub max_non_alpha_words_ratio: f64,
    /// Fewest distinct stop words present; 0 = off.
    pub min_stop_words: u64,
    /// Case-sensitive; `None` is Gopher's list.
    pub stop_words: Option<Vec<String>>,
}

/// Gopher's stop words, as datatrove lists them.
pub const STOP_WORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];

impl Default for GopherQualityConfig {
    fn default() -> Self {
        Self {
            min_doc_words: 50,
            max_doc_words: 100_000,
            min_avg_word_length: 3.0,
            max_avg_word_length: 10.0,
            max_symbol_word_ratio: 0.1,
            max_bullet_lines_ratio: 0.9,
            max_ellipsis_lines_ratio: 0.3,
            max_non_alpha_words_ratio: 0.8,
            min_stop_words: 2,
            stop_words: None,
        }
    }
}

impl GopherQualityConfig {
    /// Checks the bounds, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if self.max_doc_words != 0 && self.min_doc_words > self.max_doc_words {
            return Err(ConfigError::new(
                format!("{path}.min_doc_words"),
                format!(
                    "min_doc_words ({}) exceeds max_doc_words ({})",
                    self.min_doc_words, self.max_doc_words
                ),
            ));
        }
        for (name, value) in [
            ("min_avg_word_length", self.min_avg_word_length),
            ("max_avg_word_length", self.max_avg_word_length),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(ConfigError::new(
                    format!("{path}.{name}"),
                    format!("expected a length >= 0, got {value}"),
                ));
            }
        }
        if self.max_avg_word_length != 0.0 && self.min_avg_word_length > self.max_avg_word_length {
            return Err(ConfigError::new(
                format!("{path}.min_avg_word_length"),
                format!(
                    "min_avg_word_length ({}) exceeds max_avg_word_length ({})",
                    self.min_avg_word_length, self.max_avg_word_length
                ),
            ));
        }
        ensure_unit_interval(
            path,
            &[
                ("max_symbol_word_ratio", self.max_symbol_word_ratio),
                ("max_bullet_lines_ratio", self.max_bullet_lines_ratio),
                ("max_ellipsis_lines_ratio", self.max_ellipsis_lines_ratio),
                ("max_non_alpha_words_ratio", self.max_non_alpha_words_ratio),
            ],
        )
    }
}

/// The `gopher_quality` step: Gopher's document rules (Rae et al. 2021), ported from datatrove.
pub struct GopherQuality {
    min_doc_words: Option<f64>,
    max_doc_words: Option<f64>,
    min_avg_word_length: Option<f64>,
    max_avg_word_length: Option<f64>,
    max_symbol_word_ratio: Option<f64>,
    max_bullet_lines_ratio: Option<f64>,
    max_ellipsis_lines_ratio: Option<f64>,
    max_non_alpha_words_ratio: Option<f64>,
    min_stop_words: Option<f64>,
    stop_words: Vec<String>,
}

impl GopherQuality {
    /// Builds the step from its options.
    pub fn new(config: &GopherQualityConfig) -> Result<Self, ConfigError> {
        let stop_words = match &config.stop_words {
            Some(list) => list.clone(),
            None => STOP_WORDS.iter().map(|s| s.to_string()).collect(),
        };
        Ok(Self {
            min_doc_words: off_if_zero(config.min_doc_words as f64),
            max_doc_words: off_if_zero(config.max_doc_words as f64),
            min_avg_word_length: off_if_zero(config.min_avg_word_length),
            max_avg_word_length: off_if_zero(config.max_avg_word_length),
            max_symbol_word_ratio: off_if_zero(config.max_symbol_word_ratio),
            max_bullet_lines_ratio: off_if_zero(config.max_bullet_lines_ratio),
            max_ellipsis_lines_ratio: off_if_zero(config.max_ellipsis_lines_ratio),
            max_non_alpha_words_ratio: off_if_zero(config.max_non_alpha_words_ratio),
            min_stop_words: off_if_zero(config.min_stop_words as f64),
            stop_words,
        })
    }

    /// The rules in datatrove's order; stops at the first failure unless every rule is to be evaluated.
    fn judge(&self, text: Text<'_>, rules: &mut Rules<'_>) -> Flow {
        let words = text.words();
        let n_words = words.len();
        let (mut non_symbol, mut non_symbol_chars) = (0usize, 0usize);
        for word in words.iter() {
            if word.chars().any(|ch| !is_datatrove_punctuation(ch)) {
                non_symbol += 1;
                non_symbol_chars += char_len(word);
            }
        }
        let n_non_symbol = non_symbol as f64;
        rules.at_least("gopher_short_doc", n_non_symbol, self.min_doc_words)?;
        rules.at_most("gopher_long_doc", n_non_symbol, self.max_doc_words)?;

        // numpy's mean of no lengths is NaN, which fails no comparison: the rules pass.
        if non_symbol > 0 {
            let avg = non_symbol_chars as f64 / n_non_symbol;
            rules.at_least("gopher_below_avg_threshold", avg, self.min_avg_word_length)?;
            rules.at_most("gopher_above_avg_threshold", avg, self.max_avg_word_length)?;
        }

        // With no words at all (reachable only with min_doc_words = 0) datatrove divides by zero; tamis
        // takes every per-word and per-line ratio as 0 instead of failing the document.
        let per_word = |count: usize| ratio(count, n_words);
        if self.max_symbol_word_ratio.is_some() {
            let hashes = per_word(text.matches('#').count());
            rules.at_most("gopher_too_many_hashes", hashes, self.max_symbol_word_ratio)?;
            let ellipses = per_word(text.matches("...").count() + text.matches('…').count());
            rules.at_most(
                "gopher_too_many_ellipsis",
                ellipses,
                self.max_symbol_word_ratio,
            )?;
        }

        let lines = text.lines();
        let per_line = |count: usize| ratio(count, lines.len());
        if self.max_bullet_lines_ratio.is_some() {
            let bullets = lines
                .iter()
                .map(|l| l.trim_start_matches(is_py_space))
                .filter(|l| l.starts_with('•') || l.starts_with('-'))
                .count();
            rules.at_most(
                "gopher_too_many_bullets",
                per_line(bullets),
                self.max_bullet_lines_ratio,
            )?;
        }
        if self.max_ellipsis_lines_ratio.is_some() {
            let ending = lines
                .iter()
                .map(|l| l.trim_end_matches(is_py_space))
                .filter(|l| l.ends_with("...") || l.ends_with('…'))
                .count();
            let ending = per_line(ending);
            rules.at_most(
                "gopher_too_many_end_ellipsis",
                ending,
                self.max_ellipsis_lines_ratio,
            )?;
        }

        if self.max_non_alpha_words_ratio.is_some() {
            let alpha = per_word(words.iter().filter(|w| w.chars().any(is_py_alpha)).count());
            rules.at_least(
                "gopher_below_alpha_threshold",
                alpha,
                self.max_non_alpha_words_ratio,
            )?;
        }

        if self.min_stop_words.is_some() {
            let present = self
                .stop_words
                .iter()
                .filter(|s| words.iter().any(|w| w == s.as_str()))
                .count();
            rules.at_least(
                "gopher_enough_stop_words",
                present as f64,
                self.min_stop_words,
            )?;
        }
        Flow::Continue(())
    }
}

/// `count / total`, or 0 over nothing.
fn ratio(count: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 / total as f64
    }
}

impl Step for GopherQuality {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let (text, mut rules) = draft.read();
        let _ = self.judge(text, &mut rules);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(config: &GopherQualityConfig, text: &str) -> Draft {
        let mut draft = Draft::new("t", text).with_evaluate_all(true);
        GopherQuality::new(config).unwrap().run(&mut draft).unwrap();
        draft
    }

    fn check<'d>(draft: &'d Draft, rule: &str) -> &'d crate::outcome::Check {
        draft
            .checks
            .iter()
            .find(|c| c.rule == rule)
            .unwrap_or_else(|| panic!("no check {rule}"))
    }

    /// `n` words of `len` letters, with stop words so that only the rule under test can fail.
    fn words(n: usize, len: usize) -> String {
        let mut out = vec!["the".to_string(), "and".to_string()];
        while out.len() < n {
            out.push("x".repeat(len));
        }
        out.join(" ")
    }

    #[test]
    fn short_doc_boundary() {
        let config = GopherQualityConfig::default();
        assert!(check(&run(&config, &words(50, 3)), "gopher_short_doc").passed);
        assert!(!check(&run(&config, &words(49, 3)), "gopher_short_doc").passed);
        assert!(check(&run(&config, &words(51, 3)), "gopher_short_doc").passed);
    }

    #[test]
    fn long_doc_boundary() {
        let config = GopherQualityConfig {
            min_doc_words: 1,
            max_doc_words: 60,
            ..Default::default()
        };
        assert!(check(&run(&config, &words(60, 3)), "gopher_long_doc").passed);
        assert!(!check(&run(&config, &words(61, 3)), "gopher_long_doc").passed);
        assert!(check(&run(&config, &words(59, 3)), "gopher_long_doc").passed);
    }

    #[test]
    fn punctuation_only_words_do_not_count() {
        let config = GopherQualityConfig::default();
        let text = format!("{} . , ! ?", words(49, 4));
        let draft = run(&config, &text);
        assert_eq!(check(&draft, "gopher_short_doc").value, 49.0);
    }

    #[test]
    fn average_word_length_boundaries() {
        let config = GopherQualityConfig::default();
        // "the" and "and" are 3 letters: mean exactly 3.
        assert!(check(&run(&config, &words(60, 3)), "gopher_below_avg_threshold").passed);
        let below = run(&config, &format!("{} ab", words(59, 3)));
        assert!(!check(&below, "gopher_below_avg_threshold").passed);
        let above = run(&config, &format!("{} abcd", words(59, 3)));
        assert!(check(&above, "gopher_below_avg_threshold").passed);
        // "the", "and" and eight long words: mean (6 + sum) / 10 around the maximum of 10.
        let config = GopherQualityConfig {
            min_doc_words: 1,
            ..Default::default()
        };
        let long = |twelves: usize, elevens: usize, tens: usize| {
            let mut parts = vec!["the".to_string(), "and".to_string()];
            parts.extend(std::iter::repeat_n("x".repeat(12), twelves));
            parts.extend(std::iter::repeat_n("x".repeat(11), elevens));
            parts.extend(std::iter::repeat_n("x".repeat(10), tens));
            parts.join(" ")
        };
        let at = run(&config, &long(6, 2, 0));
        assert_eq!(check(&at, "gopher_above_avg_threshold").value, 10.0);
        assert!(check(&at, "gopher_above_avg_threshold").passed);
        assert!(!check(&run(&config, &long(7, 1, 0)), "gopher_above_avg_threshold").passed);
        assert!(check(&run(&config, &long(6, 1, 1)), "gopher_above_avg_threshold").passed);
    }

    #[test]
    fn hash_and_ellipsis_ratios_boundaries() {
        let config = GopherQualityConfig {
            min_doc_words: 1,
            ..Default::default()
        };
        // 5 hashes in 50 words (each "#x" is two tokens: "#" and "x")... use standalone "#" tokens instead.
        let at = format!("{} {}", words(45, 4), ["#"; 5].join(" "));
        assert_eq!(
            check(&run(&config, &at), "gopher_too_many_hashes").value,
            0.1
        );
        assert!(check(&run(&config, &at), "gopher_too_many_hashes").passed);
        let over = format!("{} {}", words(44, 4), ["#"; 6].join(" "));
        assert!(!check(&run(&config, &over), "gopher_too_many_hashes").passed);
        let under = format!("{} {}", words(46, 4), ["#"; 4].join(" "));
        assert!(check(&run(&config, &under), "gopher_too_many_hashes").passed);
        let over = format!("{} {}", words(44, 4), ["..."; 6].join(" "));
        assert!(!check(&run(&config, &over), "gopher_too_many_ellipsis").passed);
        let at = format!("{} {}", words(45, 4), ["…"; 5].join(" "));
        assert!(check(&run(&config, &at), "gopher_too_many_ellipsis").passed);
    }

    #[test]
    fn bullet_and_end_ellipsis_line_boundaries() {
        let config = GopherQualityConfig {
            min_doc_words: 1,
            ..Default::default()
        };
        let lines = |bullets: usize, total: usize| {
            (0..total)
                .map(|i| {
                    if i < bullets {
                        format!("  • {}", words(6, 4))
                    } else {
                        words(6, 4)
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(check(&run(&config, &lines(9, 10)), "gopher_too_many_bullets").passed);
        assert!(!check(&run(&config, &lines(10, 10)), "gopher_too_many_bullets").passed);
        assert!(check(&run(&config, &lines(8, 10)), "gopher_too_many_bullets").passed);
        let ending = |n: usize, total: usize| {
            (0..total)
                .map(|i| {
                    if i < n {
                        format!("{} and so...  ", words(6, 4))
                    } else {
                        words(6, 4)
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert!(
            check(
                &run(&config, &ending(3, 10)),
                "gopher_too_many_end_ellipsis"
            )
            .passed
        );
        assert!(
            !check(
                &run(&config, &ending(4, 10)),
                "gopher_too_many_end_ellipsis"
            )
            .passed
        );
        assert!(
            check(
                &run(&config, &ending(2, 10)),
                "gopher_too_many_end_ellipsis"
            )
            .passed
        );
    }

    #[test]
    fn alpha_ratio_boundary() {
        let config = GopherQualityConfig {
            min_doc_words: 1,
            ..Default::default()
        };
        let text = |alpha: usize, numbers: usize| {
            format!("{} {}", words(alpha, 4), ["1234"; 100][..numbers].join(" "))
        };
        assert_eq!(
            check(&run(&config, &text(40, 10)), "gopher_below_alpha_threshold").value,
            0.8
        );
        assert!(check(&run(&config, &text(40, 10)), "gopher_below_alpha_threshold").passed);
        assert!(!check(&run(&config, &text(39, 11)), "gopher_below_alpha_threshold").passed);
        assert!(check(&run(&config, &text(41, 9)), "gopher_below_alpha_threshold").passed);
    }

    #[test]
    fn stop_word_boundary_is_case_sensitive() {
        let config = GopherQualityConfig {
            min_doc_words: 1,
            ..Default::default()
        };
        let filler = ["word"; 20].join(" ");
        assert!(
            check(
                &run(&config, &format!("the of {filler}")),
                "gopher_enough_stop_words"
            )
            .passed
        );
        assert!(
            !check(
                &run(&config, &format!("The of {filler}")),
                "gopher_enough_stop_words"
            )
            .passed
        );
        assert!(
            check(
                &run(&config, &format!("the of and {filler}")),
                "gopher_enough_stop_words"
            )
            .passed
        );
    }

    #[test]
    fn first_failure_stops_the_rules() {
        let mut draft = Draft::new("t", "Too short.");
        GopherQuality::new(&GopherQualityConfig::default())
            .unwrap()
            .run(&mut draft)
            .unwrap();
        assert_eq!(draft.checks.len(), 1);
        assert_eq!(draft.first_failure().unwrap().rule, "gopher_short_doc");
    }

    #[test]
    fn empty_text_with_every_rule_off_but_stop_words_does_not_panic() {
        let config = GopherQualityConfig {
            min_doc_words: 0,
            ..Default::default()
        };
        let draft = run(&config, "");
        assert!(!check(&draft, "gopher_enough_stop_words").passed);
    }

    #[test]
    fn validation_names_the_path() {
        let config = GopherQualityConfig {
            min_doc_words: 10,
            max_doc_words: 5,
            ..Default::default()
        };
        assert_eq!(
            config.validate("quality.gopher").unwrap_err().path,
            "quality.gopher.min_doc_words"
        );
        let config = GopherQualityConfig {
            max_bullet_lines_ratio: 1.5,
            ..Default::default()
        };
        assert_eq!(
            config.validate("quality.gopher").unwrap_err().path,
            "quality.gopher.max_bullet_lines_ratio"
        );
        let config = GopherQualityConfig {
            min_avg_word_length: -1.0,
            ..Default::default()
        };
        assert_eq!(
            config.validate("q").unwrap_err().path,
            "q.min_avg_word_length"
        );
        assert!(GopherQualityConfig::default().validate("q").is_ok());
    }
}
