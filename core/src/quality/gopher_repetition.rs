//! Gopher repetition rules (Rae et al. 2021, table A1), exactly as datatrove 0.10.1's `GopherRepetitionFilter`
//! implements them.
//!
//! Details that change verdicts and are kept on purpose: paragraphs are split at two or more `\n` of the
//! stripped text but lines at one or more `\n` of the raw text; every fraction of characters is taken over the
//! whole raw text in code points; top n-grams join words with spaces while duplicated n-grams join them with
//! nothing; and ties between equally frequent top n-grams go to the one seen first.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use xxhash_rust::xxh3::xxh3_64;

use serde::{Deserialize, Serialize};

use super::words::{char_len, py_strip};
use crate::analysis::Text;
use crate::error::{ConfigError, StepError, ensure_unit_interval};
use crate::step::{Draft, Flow, Rules, Step, off_if_zero};

/// The constructor arguments of datatrove's `GopherRepetitionFilter`, with its defaults (Gopher, table A1).
/// A fraction of 0 switches its rule off, as in datatrove.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GopherRepetitionConfig {
    /// Largest share of lines that repeat an earlier line.
    pub dup_line_frac: f64,
    /// Largest share of paragraphs that repeat an earlier paragraph.
    pub dup_para_frac: f64,
    /// Largest share of characters in repeated lines.
    pub dup_line_char_frac: f64,
    /// Largest share of characters in repeated paragraphs.
    pub dup_para_char_frac: f64,
    /// `[n, fraction]` pairs: the most frequent n-gram may cover at most this share of characters.
    pub top_n_grams: Vec<(usize, f64)>,
    /// `[n, fraction]` pairs: repeated n-grams may cover at most this share of characters.
    pub dup_n_grams: Vec<(usize, f64)>,
}

impl Default for GopherRepetitionConfig {
    fn default() -> Self {
        Self {
            dup_line_frac: 0.3,
            dup_para_frac: 0.3,
            dup_line_char_frac: 0.2,
            dup_para_char_frac: 0.2,
            top_n_grams: vec![(2, 0.2), (3, 0.18), (4, 0.16)],
            dup_n_grams: vec![
                (5, 0.15),
                (6, 0.14),
                (7, 0.13),
                (8, 0.12),
                (9, 0.11),
                (10, 0.10),
            ],
        }
    }
}

impl GopherRepetitionConfig {
    /// Checks the fractions and n-gram sizes, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        ensure_unit_interval(
            path,
            &[
                ("dup_line_frac", self.dup_line_frac),
                ("dup_para_frac", self.dup_para_frac),
                ("dup_line_char_frac", self.dup_line_char_frac),
                ("dup_para_char_frac", self.dup_para_char_frac),
            ],
        )?;
        for (name, list) in [
            ("top_n_grams", &self.top_n_grams),
            ("dup_n_grams", &self.dup_n_grams),
        ] {
            for (i, &(n, frac)) in list.iter().enumerate() {
                if n == 0 {
                    return Err(ConfigError::new(
                        format!("{path}.{name}[{i}]"),
                        "expected n >= 1, got 0",
                    ));
                }
                if !(0.0..=1.0).contains(&frac) {
                    return Err(ConfigError::new(
                        format!("{path}.{name}[{i}]"),
                        format!("expected a fraction in 0..=1, got {frac}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The `gopher_repetition` step: Gopher's repetition rules (Rae et al. 2021), ported from datatrove.
pub struct GopherRepetition {
    dup_line_frac: Option<f64>,
    dup_para_frac: Option<f64>,
    dup_line_char_frac: Option<f64>,
    dup_para_char_frac: Option<f64>,
    /// `(n, largest fraction, rule name)`.
    top_n_grams: Vec<(usize, f64, String)>,
    dup_n_grams: Vec<(usize, f64, String)>,
}

impl GopherRepetition {
    /// Builds the step from its options.
    pub fn new(config: &GopherRepetitionConfig) -> Result<Self, ConfigError> {
        let named = |list: &[(usize, f64)], name: &str| {
            list.iter()
                .map(|&(n, frac)| (n, frac, name.replace('N', &n.to_string())))
                .collect()
        };
        Ok(Self {
            dup_line_frac: off_if_zero(config.dup_line_frac),
            dup_para_frac: off_if_zero(config.dup_para_frac),
            dup_line_char_frac: off_if_zero(config.dup_line_char_frac),
            dup_para_char_frac: off_if_zero(config.dup_para_char_frac),
            top_n_grams: named(&config.top_n_grams, "top_N_gram"),
            dup_n_grams: named(&config.dup_n_grams, "duplicated_N_n_grams"),
        })
    }

    fn judge(&self, text: Text<'_>, rules: &mut Rules<'_>) -> Flow {
        let text_len = text.char_counts().chars;
        rules.at_least("empty", text_len as f64, 1.0)?;
        let total = text_len as f64;

        let paragraphs = split_runs(py_strip(&text), 2);
        let (dup_paragraphs, dup_paragraph_chars) = find_duplicates(&paragraphs);
        let dup_paragraphs = dup_paragraphs as f64 / paragraphs.len() as f64;
        rules.at_most("dup_para_frac", dup_paragraphs, self.dup_para_frac)?;
        let dup_paragraph_chars = dup_paragraph_chars as f64 / total;
        rules.at_most(
            "dup_para_char_frac",
            dup_paragraph_chars,
            self.dup_para_char_frac,
        )?;

        let lines = split_runs(&text, 1);
        let (dup_lines, dup_line_chars) = find_duplicates(&lines);
        rules.at_most(
            "dup_line_frac",
            dup_lines as f64 / lines.len() as f64,
            self.dup_line_frac,
        )?;
        let dup_line_chars = dup_line_chars as f64 / total;
        rules.at_most(
            "dup_line_char_frac",
            dup_line_chars,
            self.dup_line_char_frac,
        )?;

        let words = text.words().to_vec();
        let spaced = Joined::new(&words, " ");
        for (n, frac, rule) in &self.top_n_grams {
            if let Some(top) = top_n_gram_chars(&spaced, *n) {
                rules.at_most(rule, top as f64 / total, *frac)?;
            }
        }
        let glued = Joined::new(&words, "");
        for (n, frac, rule) in &self.dup_n_grams {
            let repeated = duplicated_n_gram_chars(&glued, *n);
            rules.at_most(rule, repeated as f64 / total, *frac)?;
        }
        Flow::Continue(())
    }
}

impl Step for GopherRepetition {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let (text, mut rules) = draft.read();
        let _ = self.judge(text, &mut rules);
        Ok(())
    }
}

/// Python's `re.split("\n{min,}", text)`: the pieces between runs of at least `min` newlines, empty pieces
/// included.
fn split_runs(text: &str, min: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            let run_start = i;
            while i < bytes.len() && bytes[i] == b'\n' {
                i += 1;
            }
            if i - run_start >= min {
                out.push(&text[start..run_start]);
                start = i;
            }
        } else {
            i += 1;
        }
    }
    out.push(&text[start..]);
    out
}

/// A string and its xxh3 hash, computed once. The n-gram and line sets below hold slices of the document, so
/// hashing each slice once and comparing text only on equal hashes replaces a SipHash pass per probe.
#[derive(Debug, Clone, Copy)]
struct Hashed<'a> {
    hash: u64,
    text: &'a str,
}

impl<'a> Hashed<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            hash: xxh3_64(text.as_bytes()),
            text,
        }
    }
}

impl PartialEq for Hashed<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

impl Eq for Hashed<'_> {}

impl Hash for Hashed<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Passes [`Hashed::hash`] through to the table unchanged.
#[derive(Debug, Default, Clone, Copy)]
struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `Hashed`; anything else is folded in, to stay a correct hasher.
        self.0 = xxh3_64(bytes) ^ self.0.rotate_left(17);
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type HashedSet<'a> = HashSet<Hashed<'a>, BuildHasherDefault<PrehashedHasher>>;

/// How many elements repeat an earlier one, and their characters.
pub fn find_duplicates(items: &[&str]) -> (usize, usize) {
    let mut seen = HashedSet::with_capacity_and_hasher(items.len(), Default::default());
    let (mut count, mut chars) = (0, 0);
    for item in items {
        if !seen.insert(Hashed::new(item)) {
            count += 1;
            chars += char_len(item);
        }
    }
    (count, chars)
}

/// The words laid end to end with a separator, so that the n-gram of words `i..i + n`, as datatrove builds it
/// (`" ".join(...)` for top n-grams, `"".join(...)` for duplicated ones), is one slice of `text` rather than
/// a new string per position.
#[derive(Debug)]
struct Joined {
    text: String,
    /// Byte offset of each word in `text`, and one past the end plus a separator.
    starts: Vec<usize>,
    sep: usize,
}

impl Joined {
    fn new(words: &[&str], sep: &str) -> Self {
        let mut text = String::with_capacity(words.iter().map(|w| w.len() + sep.len()).sum());
        let mut starts = Vec::with_capacity(words.len() + 1);
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                text.push_str(sep);
            }
            starts.push(text.len());
            text.push_str(w);
        }
        starts.push(text.len() + sep.len());
        Self {
            text,
            starts,
            sep: sep.len(),
        }
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Words `i..i + n` joined; `n >= 1` and `i + n <= len`.
    fn gram(&self, i: usize, n: usize) -> &str {
        &self.text[self.starts[i]..self.starts[i + n] - self.sep]
    }
}

/// Characters covered by the most frequent space-joined n-gram (its length times its count); the first seen
/// wins a tie. `None` when there are fewer than `n` words.
fn top_n_gram_chars(words: &Joined, n: usize) -> Option<usize> {
    if n == 0 || words.len() < n {
        return None;
    }
    let windows = words.len() - n + 1;
    let mut counts: HashMap<Hashed, (usize, usize), BuildHasherDefault<PrehashedHasher>> =
        HashMap::with_capacity_and_hasher(windows, Default::default());
    for i in 0..windows {
        let order = counts.len();
        counts
            .entry(Hashed::new(words.gram(i, n)))
            .or_insert((0, order))
            .0 += 1;
    }
    counts
        .iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))
        .map(|(gram, &(count, _))| char_len(gram.text) * count)
}

/// Characters of n-grams (words joined with nothing) that repeat an earlier n-gram; after a repeat the scan
/// jumps past it, so overlapping repeats are not counted twice.
fn duplicated_n_gram_chars(words: &Joined, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let mut seen = HashedSet::with_capacity_and_hasher(words.len(), Default::default());
    let (mut repeated, mut idx) = (0, 0);
    while idx + n <= words.len() {
        let gram = words.gram(idx, n);
        if seen.insert(Hashed::new(gram)) {
            idx += 1;
        } else {
            repeated += char_len(gram);
            idx += n;
        }
    }
    repeated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(config: &GopherRepetitionConfig, text: &str) -> Draft {
        let mut draft = Draft::new("t", text).with_evaluate_all(true);
        GopherRepetition::new(config)
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

    /// Distinct filler lines (distinct words, so no n-gram rule fires).
    fn distinct(i: usize) -> String {
        format!("line w{i}a w{i}b w{i}c w{i}d")
    }

    #[test]
    fn splitting_matches_python_re_split() {
        assert_eq!(split_runs("a\n\nb\n\n\nc\nd", 2), ["a", "b", "c\nd"]);
        assert_eq!(split_runs("\na\n", 1), ["", "a", ""]);
        assert_eq!(split_runs("", 1), [""]);
    }

    #[test]
    fn empty_text_is_dropped_as_empty() {
        let mut draft = Draft::new("t", "");
        GopherRepetition::new(&GopherRepetitionConfig::default())
            .unwrap()
            .run(&mut draft)
            .unwrap();
        assert_eq!(draft.first_failure().unwrap().rule, "empty");
    }

    #[test]
    fn duplicate_line_fraction_boundary() {
        let config = GopherRepetitionConfig {
            dup_line_char_frac: 0.0,
            ..Default::default()
        };
        // 10 lines, `dups` of which repeat line 0.
        let text = |dups: usize| {
            (0..10)
                .map(|i| {
                    if i >= 10 - dups {
                        distinct(0)
                    } else {
                        distinct(i)
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(check(&run(&config, &text(3)), "dup_line_frac").value, 0.3);
        assert!(check(&run(&config, &text(3)), "dup_line_frac").passed);
        assert!(!check(&run(&config, &text(4)), "dup_line_frac").passed);
        assert!(check(&run(&config, &text(2)), "dup_line_frac").passed);
    }

    #[test]
    fn duplicate_paragraphs_split_on_blank_lines() {
        let config = GopherRepetitionConfig::default();
        let paragraphs = |dups: usize| {
            (0..10)
                .map(|i| {
                    if i >= 10 - dups {
                        distinct(0)
                    } else {
                        distinct(i)
                    }
                })
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        assert!(check(&run(&config, &paragraphs(3)), "dup_para_frac").passed);
        assert!(!check(&run(&config, &paragraphs(4)), "dup_para_frac").passed);
        // Single newlines make one paragraph.
        let lines = (0..10).map(|_| distinct(0)).collect::<Vec<_>>().join("\n");
        assert_eq!(check(&run(&config, &lines), "dup_para_frac").value, 0.0);
    }

    #[test]
    fn duplicate_character_fractions_use_the_whole_text() {
        // "aaaa\nbbbb\naaaa" is 14 characters, 4 of them in the repeated line: 0.2857.
        let config = GopherRepetitionConfig {
            dup_line_frac: 0.0,
            dup_line_char_frac: 0.2857,
            ..Default::default()
        };
        let draft = run(&config, "aaaa\nbbbb\naaaa");
        let value = check(&draft, "dup_line_char_frac").value;
        assert!((value - 4.0 / 14.0).abs() < 1e-12);
        assert!(!check(&draft, "dup_line_char_frac").passed);
        let config = GopherRepetitionConfig {
            dup_line_char_frac: 4.0 / 14.0,
            ..config
        };
        assert!(check(&run(&config, "aaaa\nbbbb\naaaa"), "dup_line_char_frac").passed);
    }

    #[test]
    fn top_n_gram_counts_characters_of_the_most_frequent() {
        let spaced = |words: &[&str]| Joined::new(words, " ");
        let words = spaced(&["a", "b", "a", "b", "a", "b", "cc", "dd"]);
        // "a b" three times: 3 chars * 3.
        assert_eq!(top_n_gram_chars(&words, 2), Some(9));
        // Tie between "x y" and "yy z": the first seen wins.
        assert_eq!(
            top_n_gram_chars(&spaced(&["x", "y", "yy", "z"]), 2),
            Some(3)
        );
        assert_eq!(top_n_gram_chars(&spaced(&["x"]), 2), None);
        assert_eq!(top_n_gram_chars(&spaced(&[]), 1), None);
    }

    #[test]
    fn top_2_gram_boundary() {
        // "ab cd" repeated: each 2-gram "ab cd" is 5 chars.
        let text = "ab cd ab cd zz"; // 14 chars, "ab cd" twice = 10 -> 0.714
        let config = GopherRepetitionConfig {
            top_n_grams: vec![(2, 10.0 / 14.0)],
            ..Default::default()
        };
        assert!(check(&run(&config, text), "top_2_gram").passed);
        let config = GopherRepetitionConfig {
            top_n_grams: vec![(2, 0.7)],
            ..Default::default()
        };
        assert!(!check(&run(&config, text), "top_2_gram").passed);
        let config = GopherRepetitionConfig {
            top_n_grams: vec![(2, 0.72)],
            ..Default::default()
        };
        assert!(check(&run(&config, text), "top_2_gram").passed);
    }

    #[test]
    fn duplicated_n_grams_skip_past_each_repeat() {
        let words = Joined::new(&["a", "b", "a", "b", "a", "b"], "");
        // 2-grams: ab, ba, ab (repeat, +2, jump to 4), ab (repeat, +2) = 4.
        assert_eq!(duplicated_n_gram_chars(&words, 2), 4);
        assert_eq!(duplicated_n_gram_chars(&words, 7), 0);
        // Glued n-grams compare as strings: "ab" + "c" repeats "a" + "bc".
        let glued = Joined::new(&["a", "bc", "x", "ab", "c"], "");
        assert_eq!(duplicated_n_gram_chars(&glued, 2), 3);
    }

    #[test]
    fn duplicated_5_n_grams_boundary() {
        let five = "one two three four five";
        let text = format!("{five} {five} {}", distinct(1));
        let total = char_len(&text) as f64;
        let repeated = "onetwothreefourfive".len() as f64;
        let at = GopherRepetitionConfig {
            top_n_grams: vec![],
            dup_n_grams: vec![(5, repeated / total)],
            ..Default::default()
        };
        assert!(check(&run(&at, &text), "duplicated_5_n_grams").passed);
        let under = GopherRepetitionConfig {
            dup_n_grams: vec![(5, repeated / total - 0.001)],
            ..at.clone()
        };
        assert!(!check(&run(&under, &text), "duplicated_5_n_grams").passed);
        let over = GopherRepetitionConfig {
            dup_n_grams: vec![(5, repeated / total + 0.001)],
            ..at
        };
        assert!(check(&run(&over, &text), "duplicated_5_n_grams").passed);
    }

    #[test]
    fn validation_names_the_path() {
        let config = GopherRepetitionConfig {
            dup_line_frac: 1.2,
            ..Default::default()
        };
        assert_eq!(config.validate("q").unwrap_err().path, "q.dup_line_frac");
        let config = GopherRepetitionConfig {
            dup_n_grams: vec![(0, 0.1)],
            ..Default::default()
        };
        assert_eq!(config.validate("q").unwrap_err().path, "q.dup_n_grams[0]");
        assert!(GopherRepetitionConfig::default().validate("q").is_ok());
    }
}
