//! C4's clean-up rules (Raffel et al. 2020, section 2.2), exactly as datatrove 0.10.1's `C4QualityFilter`
//! implements them with its defaults (`split_paragraph=True`: one line at a time).
//!
//! Most rules remove a line rather than the document: lines with a word over 1000 characters, without
//! terminal punctuation (or ending in "..."), with fewer than 3 words, mentioning javascript, or mentioning a
//! cookie or terms-of-use policy. Wikipedia-style citations (`[1]`, `[edit]`) are cut out of every line
//! first. The document is dropped if a kept line says "lorem ipsum" or holds a `{`, or if fewer than 5
//! sentences remain. A kept document's text becomes its kept lines, stripped and joined with `\n`.
//!
//! Subtleties kept on purpose: words are counted with Python's `str.split()` before citations are cut, while
//! the punctuation test looks at the line after the cut (so "Done. \[1\]" ends in a space and is removed);
//! lorem ipsum and `{` are only looked for in lines that survived the earlier line rules.

use std::borrow::Cow;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::words::{self, char_len, py_split, py_splitlines, py_strip};
use crate::error::{ConfigError, StepError};
use crate::step::{Draft, Rules, Step};

/// Phrases that mark a line as cookie or terms-of-use boilerplate (datatrove's `POLICY_SUBSTRINGS`).
pub const POLICY_SUBSTRINGS: [&str; 6] = [
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
];

/// The constructor arguments of datatrove's `C4QualityFilter`, with its defaults. Counts of -1 switch their
/// rule off, as in datatrove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct C4Config {
    /// Judge line by line (C4). Only `true` is supported: datatrove's sentence mode needs spaCy's sentence
    /// spans of the whole text, which tamis does not reproduce.
    pub split_paragraph: bool,
    /// Cut Wikipedia-style citations (`[1]`, `[edit]`, `[citation needed]`) out of every line.
    pub remove_citations: bool,
    /// Drop lines that do not end in terminal punctuation.
    pub filter_no_terminal_punct: bool,
    /// Fewest sentences in the kept lines; -1 = off.
    pub min_num_sentences: i64,
    /// Fewest words in a kept line; -1 = off.
    pub min_words_per_line: i64,
    /// Longest word in a kept line, in characters; -1 = off.
    pub max_word_length: i64,
    /// Drop the document if a kept line says "lorem ipsum".
    pub filter_lorem_ipsum: bool,
    /// Drop lines mentioning javascript.
    pub filter_javascript: bool,
    /// Drop the document if a kept line holds a `{`.
    pub filter_curly_bracket: bool,
    /// Drop lines with cookie or terms-of-use phrases ([`POLICY_SUBSTRINGS`]).
    pub filter_policy: bool,
}

impl Default for C4Config {
    fn default() -> Self {
        Self {
            split_paragraph: true,
            remove_citations: true,
            filter_no_terminal_punct: true,
            min_num_sentences: 5,
            min_words_per_line: 3,
            max_word_length: 1000,
            filter_lorem_ipsum: true,
            filter_javascript: true,
            filter_curly_bracket: true,
            filter_policy: true,
        }
    }
}

impl C4Config {
    /// Checks the counts (-1 or more), naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if !self.split_paragraph {
            return Err(ConfigError::new(
                format!("{path}.split_paragraph"),
                "only true (judge line by line, as C4 does) is supported",
            ));
        }
        for (name, value) in [
            ("min_num_sentences", self.min_num_sentences),
            ("min_words_per_line", self.min_words_per_line),
            ("max_word_length", self.max_word_length),
        ] {
            if value < -1 {
                return Err(ConfigError::new(
                    format!("{path}.{name}"),
                    format!("expected a count >= 0, or -1 to switch the rule off, got {value}"),
                ));
            }
        }
        Ok(())
    }
}

/// The `c4_quality` step: C4's line and document rules (Raffel et al. 2020), ported from datatrove.
pub struct C4Quality {
    config: C4Config,
    citation: Regex,
}

impl C4Quality {
    /// Builds the step; only line-by-line mode is supported.
    pub fn new(config: &C4Config) -> Result<Self, ConfigError> {
        // datatrove's CITATION_REGEX; `\d` is Unicode decimal digits in both Python and the regex crate.
        let citation = Regex::new(r"\[\d*\]|\[edit\]|\[citation needed\]")
            .map_err(|e| ConfigError::new("quality.c4", format!("citation pattern: {e}")))?;
        Ok(Self {
            config: config.clone(),
            citation,
        })
    }

    /// Runs the rules; returns the cleaned text when the document passes them all.
    fn judge(&self, text: &str, rules: &mut Rules<'_>) -> Option<String> {
        let c = &self.config;
        let mut kept: Vec<Cow<str>> = Vec::new();
        let mut sentences = 0usize;
        let mut failed = false;
        let (mut lorem_seen, mut bracket_seen) = (false, false);

        for raw in py_splitlines(text) {
            let stripped = py_strip(raw);
            let (mut n_words, mut too_long) = (0i64, false);
            for word in py_split(stripped) {
                n_words += 1;
                // A word of at most `max_word_length` bytes has at most as many characters.
                too_long |= c.max_word_length != -1
                    && word.len() as i64 > c.max_word_length
                    && char_len(word) as i64 > c.max_word_length;
            }
            if too_long {
                continue;
            }
            // Every citation starts with `[`: most lines skip the regex search and keep borrowing the text.
            let line = if c.remove_citations && stripped.contains('[') {
                self.citation.replace_all(stripped, "")
            } else {
                Cow::Borrowed(stripped)
            };
            if c.filter_no_terminal_punct
                && (!line.ends_with(['.', '?', '!', '"', '\'']) || line.ends_with("..."))
            {
                continue;
            }
            if n_words < c.min_words_per_line {
                continue;
            }
            let lower = line.to_lowercase();
            if c.filter_lorem_ipsum && !lorem_seen && lower.contains("lorem ipsum") {
                lorem_seen = true;
                failed = true;
                rules.must_not("lorem_ipsum", true).continue_value()?;
            }
            if c.filter_javascript && lower.contains("javascript") {
                continue;
            }
            if c.filter_curly_bracket && !bracket_seen && line.contains('{') {
                bracket_seen = true;
                failed = true;
                rules.must_not("curly_bracket", true).continue_value()?;
            }
            if c.filter_policy && POLICY_SUBSTRINGS.iter().any(|p| lower.contains(p)) {
                continue;
            }
            if c.min_num_sentences != -1 {
                sentences += words::english().count_sentences(&line);
            }
            kept.push(line);
        }

        if c.min_num_sentences != -1 {
            let enough = sentences as i64 >= c.min_num_sentences;
            // A dropped document keeps its text, also when `evaluate_all` lets later steps judge it.
            failed |= !enough;
            let min = c.min_num_sentences as f64;
            rules
                .at_least("too_few_sentences", sentences as f64, min)
                .continue_value()?;
        }
        (!failed).then(|| py_strip(&kept.join("\n")).to_string())
    }
}

impl Step for C4Quality {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let (text, mut rules) = draft.read();
        if let Some(cleaned) = self.judge(text.as_str(), &mut rules) {
            draft.set_text(cleaned);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(config: &C4Config, text: &str) -> Draft {
        let mut draft = Draft::new("t", text);
        C4Quality::new(config).unwrap().run(&mut draft).unwrap();
        draft
    }

    const GOOD: &str = "The river rose after three days of rain.";

    fn good_lines(n: usize) -> String {
        vec![GOOD; n].join("\n")
    }

    #[test]
    fn sentence_count_boundary() {
        let config = C4Config::default();
        assert!(run(&config, &good_lines(5)).first_failure().is_none());
        let short = run(&config, &good_lines(4));
        let reason = short.first_failure().unwrap();
        assert_eq!(
            (reason.rule.as_str(), reason.value),
            ("too_few_sentences", 4.0)
        );
        assert!(run(&config, &good_lines(6)).first_failure().is_none());
        // Sentences are counted inside a line too.
        let two_per_line = ["It rained. The river rose."; 3].join("\n");
        assert!(run(&config, &two_per_line).first_failure().is_none());
    }

    #[test]
    fn lines_are_removed_and_the_text_rewritten() {
        let text = format!(
            "{GOOD}\nMenu\nPlease enable JavaScript to view this page.\nThis site uses cookies to work well.\n\
             Ends without punctuation here\nWait for it...\nToo short.\n{GOOD} [1]\nSee the notes.[2]\n{}",
            good_lines(4)
        );
        let draft = run(&C4Config::default(), &text);
        assert!(draft.first_failure().is_none());
        assert_eq!(
            draft.text(),
            format!("{GOOD}\nSee the notes.\n{}", good_lines(4))
        );
    }

    #[test]
    fn words_per_line_boundary() {
        let config = C4Config {
            min_num_sentences: 1,
            ..Default::default()
        };
        assert_eq!(
            run(&config, "Two words.\nOne two three.").text(),
            "One two three."
        );
        assert_eq!(
            run(&config, "One two three four.").text(),
            "One two three four."
        );
    }

    #[test]
    fn long_words_remove_the_line() {
        let config = C4Config {
            min_num_sentences: 1,
            max_word_length: 10,
            ..Default::default()
        };
        let text = format!("{} is long.\nabcdefghij is fine.", "a".repeat(11));
        assert_eq!(run(&config, &text).text(), "abcdefghij is fine.");
    }

    #[test]
    fn too_few_sentences_keeps_the_text_under_evaluate_all() {
        let text = "Please call me back. I would like to join accounts.";
        let mut draft = Draft::new("d", text).with_evaluate_all(true);
        C4Quality::new(&C4Config::default())
            .unwrap()
            .run(&mut draft)
            .unwrap();
        assert_eq!(draft.first_failure().unwrap().rule, "too_few_sentences");
        assert_eq!(draft.text(), text);
    }

    #[test]
    fn lorem_ipsum_and_curly_brackets_drop_the_document() {
        let text = format!("{}\nLorem ipsum dolor sit amet.", good_lines(5));
        assert_eq!(
            run(&C4Config::default(), &text)
                .first_failure()
                .unwrap()
                .rule,
            "lorem_ipsum"
        );
        let text = format!("{}\nThe set {{1, 2}} is small.", good_lines(5));
        let draft = run(&C4Config::default(), &text);
        assert_eq!(draft.first_failure().unwrap().rule, "curly_bracket");
        assert_eq!(draft.text(), text, "a dropped document keeps its text");
        let mut all = Draft::new("d", text.clone()).with_evaluate_all(true);
        C4Quality::new(&C4Config::default())
            .unwrap()
            .run(&mut all)
            .unwrap();
        assert_eq!(all.text(), text, "also when every rule is evaluated");
        // A bracket on a line removed earlier does not count.
        let text = format!("{}\nfunction() {{ return 1 }}", good_lines(5));
        assert!(run(&C4Config::default(), &text).first_failure().is_none());
    }

    #[test]
    fn switched_off_rules_do_not_run() {
        let config = C4Config {
            min_num_sentences: -1,
            filter_no_terminal_punct: false,
            ..Default::default()
        };
        let draft = run(&config, "no punctuation at all");
        assert!(draft.checks.is_empty());
        assert_eq!(draft.text(), "no punctuation at all");
    }

    #[test]
    fn validation_names_the_path() {
        let config = C4Config {
            min_words_per_line: -2,
            ..Default::default()
        };
        assert_eq!(
            config.validate("q").unwrap_err().path,
            "q.min_words_per_line"
        );
        let config = C4Config {
            split_paragraph: false,
            ..Default::default()
        };
        assert_eq!(config.validate("q").unwrap_err().path, "q.split_paragraph");
        assert!(C4Config::default().validate("q").is_ok());
    }
}
