//! FineWeb's own quality rules (Penedo et al. 2024), exactly as datatrove 0.10.1's `FineWebQualityFilter`
//! implements them: share of lines ending in terminal punctuation, share of short lines, characters in
//! repeated lines, and newlines per word.
//!
//! Lines are split on `\n` only and blank lines dropped, but a line is measured unstripped (a trailing space
//! hides its final period); lengths count code points.

use serde::{Deserialize, Serialize};

use super::gopher_repetition::find_duplicates;
use super::words::{char_len, is_terminal_punctuation, py_strip};
use crate::analysis::Text;
use crate::error::{ConfigError, StepError, ensure_unit_interval};
use crate::step::{Draft, Flow, Rules, Step};

/// The constructor arguments of datatrove's `FineWebQualityFilter`, with its defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinewebConfig {
    /// Smallest share of lines ending with one of `stop_chars`.
    pub line_punct_thr: f64,
    /// Let a document whose share is exactly 0 pass the previous rule.
    pub line_punct_exclude_zero: bool,
    /// Line endings that count as punctuated; `None` is datatrove's TERMINAL_PUNCTUATION.
    pub stop_chars: Option<Vec<String>>,
    /// Largest share of lines of at most `short_line_length` characters.
    pub short_line_thr: f64,
    /// A line of at most this many characters is short (30).
    pub short_line_length: usize,
    /// Largest share of characters (newlines not counted) in lines that repeat an earlier line.
    pub char_duplicates_ratio: f64,
    /// Most newlines per word.
    pub new_line_ratio: f64,
}

impl Default for FinewebConfig {
    fn default() -> Self {
        Self {
            line_punct_thr: 0.12,
            line_punct_exclude_zero: false,
            stop_chars: None,
            short_line_thr: 0.67,
            short_line_length: 30,
            char_duplicates_ratio: 0.01,
            new_line_ratio: 0.3,
        }
    }
}

impl FinewebConfig {
    /// Checks the shares and ratio, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        ensure_unit_interval(
            path,
            &[
                ("line_punct_thr", self.line_punct_thr),
                ("short_line_thr", self.short_line_thr),
                ("char_duplicates_ratio", self.char_duplicates_ratio),
            ],
        )?;
        if !(self.new_line_ratio.is_finite() && self.new_line_ratio >= 0.0) {
            return Err(ConfigError::new(
                format!("{path}.new_line_ratio"),
                format!("expected a ratio >= 0, got {}", self.new_line_ratio),
            ));
        }
        if let Some(i) = self.stop_chars.iter().flatten().position(String::is_empty) {
            return Err(ConfigError::new(
                format!("{path}.stop_chars[{i}]"),
                "expected a non-empty string",
            ));
        }
        Ok(())
    }
}

/// The `fineweb_quality` step: FineWeb's line rules (Penedo et al. 2024), ported from datatrove.
pub struct FinewebQuality {
    config: FinewebConfig,
}

impl FinewebQuality {
    /// Builds the step from its options.
    pub fn new(config: &FinewebConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            config: config.clone(),
        })
    }

    fn ends_punctuated(&self, line: &str) -> bool {
        match &self.config.stop_chars {
            Some(chars) => chars.iter().any(|c| line.ends_with(c.as_str())),
            None => line
                .chars()
                .next_back()
                .is_some_and(is_terminal_punctuation),
        }
    }

    fn judge(&self, text: Text<'_>, rules: &mut Rules<'_>) -> Flow {
        let c = &self.config;
        let lines: Vec<&str> = text
            .split('\n')
            .filter(|l| !py_strip(l).is_empty())
            .collect();
        rules.at_least("empty", lines.len() as f64, 1.0)?;
        let n_lines = lines.len() as f64;

        let punctuated = lines.iter().filter(|l| self.ends_punctuated(l)).count() as f64 / n_lines;
        if punctuated != 0.0 || !c.line_punct_exclude_zero {
            rules.at_least("line_punct_ratio", punctuated, c.line_punct_thr)?;
        }

        let short = lines
            .iter()
            .filter(|l| l.len() <= c.short_line_length || char_len(l) <= c.short_line_length)
            .count() as f64
            / n_lines;
        rules.at_most("short_line_ratio", short, c.short_line_thr)?;

        let counts = text.char_counts();
        let non_newline = counts.chars - counts.newlines;
        let duplicated = find_duplicates(&lines).1 as f64 / non_newline.max(1) as f64;
        rules.at_most("char_dup_ratio", duplicated, c.char_duplicates_ratio)?;

        let words = text.words().len();
        // A non-blank line always holds a word, so `words` is never 0 here; guard anyway.
        let per_word = if words == 0 {
            f64::INFINITY
        } else {
            counts.newlines as f64 / words as f64
        };
        rules.at_most("list_ratio", per_word, c.new_line_ratio)
    }
}

impl Step for FinewebQuality {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let (text, mut rules) = draft.read();
        let _ = self.judge(text, &mut rules);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(config: &FinewebConfig, text: &str) -> Draft {
        let mut draft = Draft::new("t", text).with_evaluate_all(true);
        FinewebQuality::new(config)
            .unwrap()
            .run(&mut draft)
            .unwrap();
        draft
    }

    fn check<'d>(draft: &'d Draft, rule: &str) -> &'d crate::outcome::Check {
        draft
            .checks
            .iter()
            .find(|c| c.rule == rule)
            .unwrap_or_else(|| panic!("no check {rule}"))
    }

    /// A distinct line longer than 30 characters, ending with a period or not.
    fn line(i: usize, period: bool) -> String {
        format!(
            "this is line number {i} of the sample text{}",
            if period { "." } else { "" }
        )
    }

    fn lines(punctuated: usize, total: usize) -> String {
        (0..total)
            .map(|i| line(i, i < punctuated))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn blank_text_is_empty() {
        let mut draft = Draft::new("t", " \n\n\t");
        FinewebQuality::new(&FinewebConfig::default())
            .unwrap()
            .run(&mut draft)
            .unwrap();
        assert_eq!(draft.first_failure().unwrap().rule, "empty");
    }

    #[test]
    fn line_punctuation_boundary() {
        let at = FinewebConfig {
            line_punct_thr: 0.12,
            ..Default::default()
        };
        // 3 of 25 lines = 0.12 exactly.
        assert_eq!(
            check(&run(&at, &lines(3, 25)), "line_punct_ratio").value,
            0.12
        );
        assert!(check(&run(&at, &lines(3, 25)), "line_punct_ratio").passed);
        assert!(!check(&run(&at, &lines(2, 25)), "line_punct_ratio").passed);
        assert!(check(&run(&at, &lines(4, 25)), "line_punct_ratio").passed);
        // A trailing space hides the period, as in datatrove.
        let hidden = format!("{} ", line(0, true));
        assert_eq!(check(&run(&at, &hidden), "line_punct_ratio").value, 0.0);
        let zero_ok = FinewebConfig {
            line_punct_exclude_zero: true,
            ..Default::default()
        };
        assert!(
            run(&zero_ok, &lines(0, 5))
                .checks
                .iter()
                .all(|c| c.rule != "line_punct_ratio")
        );
    }

    #[test]
    fn short_line_boundary() {
        let config = FinewebConfig::default();
        let doc = |short: usize, total: usize| {
            (0..total)
                .map(|i| {
                    if i < short {
                        format!("{:<29}.", format!("s{i}"))
                    } else {
                        line(i, true)
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        // Short lines are exactly 30 characters, the limit itself.
        let config_at = FinewebConfig {
            short_line_thr: 0.5,
            ..config
        };
        assert!(check(&run(&config_at, &doc(5, 10)), "short_line_ratio").passed);
        assert!(!check(&run(&config_at, &doc(6, 10)), "short_line_ratio").passed);
        assert!(check(&run(&config_at, &doc(4, 10)), "short_line_ratio").passed);
    }

    #[test]
    fn char_duplicate_boundary() {
        let base = format!("{}\n{}", line(0, true), line(1, true));
        let text = format!("{base}\n{}", line(0, true));
        let value = check(&run(&FinewebConfig::default(), &text), "char_dup_ratio").value;
        let expected = char_len(&line(0, true)) as f64 / (char_len(&text) - 2) as f64;
        assert_eq!(value, expected);
        let at = FinewebConfig {
            char_duplicates_ratio: expected,
            ..Default::default()
        };
        assert!(check(&run(&at, &text), "char_dup_ratio").passed);
        let below = FinewebConfig {
            char_duplicates_ratio: expected - 1e-9,
            ..Default::default()
        };
        assert!(!check(&run(&below, &text), "char_dup_ratio").passed);
        let above = FinewebConfig {
            char_duplicates_ratio: expected + 1e-9,
            ..Default::default()
        };
        assert!(check(&run(&above, &text), "char_dup_ratio").passed);
    }

    #[test]
    fn list_ratio_boundary() {
        // "a0 bb cc.\n" has 4 words ("a0", "bb", "cc", ".") and one newline per line.
        let config = FinewebConfig {
            new_line_ratio: 0.25,
            char_duplicates_ratio: 1.0,
            short_line_thr: 1.0,
            ..Default::default()
        };
        let text = |n: usize, tail: &str| {
            format!(
                "{}{tail}",
                (0..n).map(|i| format!("a{i} bb cc.\n")).collect::<String>()
            )
        };
        assert_eq!(check(&run(&config, &text(4, "")), "list_ratio").value, 0.25);
        assert!(check(&run(&config, &text(4, "")), "list_ratio").passed);
        assert!(!check(&run(&config, &text(4, "\n")), "list_ratio").passed);
        assert!(check(&run(&config, &text(4, " extra")), "list_ratio").passed);
    }

    #[test]
    fn validation_names_the_path() {
        let config = FinewebConfig {
            short_line_thr: -0.1,
            ..Default::default()
        };
        assert_eq!(config.validate("q").unwrap_err().path, "q.short_line_thr");
        let config = FinewebConfig {
            stop_chars: Some(vec![String::new()]),
            ..Default::default()
        };
        assert_eq!(config.validate("q").unwrap_err().path, "q.stop_chars[0]");
        assert!(FinewebConfig::default().validate("q").is_ok());
    }
}
