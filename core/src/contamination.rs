//! Benchmark contamination: word n-grams of evaluation items, looked up in training documents.
//!
//! The method is the one of the GPT-3 paper (Brown et al. 2020, appendix C: 13-gram overlap between
//! training documents and benchmark items, after lower-casing and stripping punctuation). Words are the
//! maximal runs of alphanumeric characters, lower-cased, so "don't," and "Don t" are the same two words and
//! a span can be mapped back to the document's own bytes.
//!
//! The index is built from benchmark files by the bulk host (`tamis decontaminate`); matching is here so
//! that it can run wherever the core runs.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use crate::error::ConfigError;

/// What happens to a contaminated document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContaminationAction {
    /// Move it to dropped/ with the matches as the reason.
    Drop,
    /// Keep it, with the matches recorded in its `tamis` annotation.
    Flag,
}

/// One benchmark: its files and which fields of an item hold text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkSource {
    /// Reported with every match.
    pub name: String,
    /// Files, directories or globs of JSONL(.gz/.zst) or Parquet.
    pub path: Vec<String>,
    /// Fields whose text is indexed; each is indexed on its own, so an n-gram never spans two fields.
    #[serde(default = "default_fields")]
    pub fields: Vec<String>,
    #[serde(default = "default_id_key")]
    /// Field holding the item id reported with a match (`id`).
    pub id_key: String,
}

fn default_fields() -> Vec<String> {
    vec!["text".into()]
}

fn default_id_key() -> String {
    "id".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// `tamis decontaminate`: which benchmarks to index and what to do with a document that overlaps one.
pub struct DecontaminateConfig {
    /// Files, directories or globs to check; `io.input` when empty.
    pub input: Vec<String>,
    /// Words per n-gram (13, as in the GPT-3 paper).
    pub ngram: usize,
    /// A document is contaminated when it shares at least this many n-grams with one item.
    pub min_ngrams: usize,
    /// What happens to a contaminated document (drop by default).
    pub action: ContaminationAction,
    /// The benchmarks to index.
    pub benchmarks: Vec<BenchmarkSource>,
    /// Where kept/, dropped/ and errors/ go (`DECONTAMINATED`).
    pub output: String,
}

impl Default for DecontaminateConfig {
    fn default() -> Self {
        Self {
            input: Vec::new(),
            ngram: 13,
            min_ngrams: 1,
            action: ContaminationAction::Drop,
            benchmarks: Vec::new(),
            output: "DECONTAMINATED".into(),
        }
    }
}

impl DecontaminateConfig {
    /// Checks the n-gram size (1 to 1000), `min_ngrams` and the benchmark entries, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if self.ngram == 0 || self.ngram > 1000 {
            return Err(ConfigError::new(
                format!("{path}.ngram"),
                format!("expected 1 to 1000 words, got {}", self.ngram),
            ));
        }
        if self.min_ngrams == 0 {
            return Err(ConfigError::new(
                format!("{path}.min_ngrams"),
                "expected at least 1",
            ));
        }
        let mut names = std::collections::HashSet::new();
        for (i, b) in self.benchmarks.iter().enumerate() {
            if b.name.is_empty() || !names.insert(b.name.as_str()) {
                return Err(ConfigError::new(
                    format!("{path}.benchmarks[{i}].name"),
                    format!("expected a unique, non-empty name, got {:?}", b.name),
                ));
            }
            if b.path.is_empty() || b.fields.is_empty() {
                return Err(ConfigError::new(
                    format!("{path}.benchmarks[{i}].path"),
                    "expected at least one path and one field",
                ));
            }
        }
        Ok(())
    }
}

/// A word of a text: its normalized form's hash and its byte range in the text.
#[derive(Debug, Clone, Copy)]
struct Word {
    hash: u64,
    start: usize,
    end: usize,
}

/// Maximal runs of alphanumeric characters, lower-cased and hashed.
fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    let mut buf = String::new();
    let push = |start: usize, end: usize, buf: &mut String, out: &mut Vec<Word>| {
        out.push(Word {
            hash: xxh3_64(buf.as_bytes()),
            start,
            end,
        });
        buf.clear();
    };
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
            buf.extend(c.to_lowercase());
        } else if let Some(s) = start.take() {
            push(s, i, &mut buf, &mut out);
        }
    }
    if let Some(s) = start {
        push(s, text.len(), &mut buf, &mut out);
    }
    out
}

/// The key of every n-gram of `words`, in order: the word hashes of each window folded together, through
/// one reused buffer (this runs once per word of every scanned document).
fn gram_keys(words: &[Word], n: usize) -> Vec<u64> {
    let mut bytes = Vec::with_capacity(n * 8);
    words
        .windows(n)
        .map(|window| {
            bytes.clear();
            for w in window {
                bytes.extend_from_slice(&w.hash.to_le_bytes());
            }
            xxh3_64(&bytes)
        })
        .collect()
}

/// One benchmark item a document overlaps with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contamination {
    /// The benchmark's `name`.
    pub benchmark: String,
    /// The item's id (its `id_key` field).
    pub item: String,
    /// How many of the document's n-grams belong to the item.
    pub ngrams: usize,
    /// The longest run of overlapping matched n-grams, as a byte range of the document.
    pub start: usize,
    /// End of that byte range (exclusive).
    pub end: usize,
}

/// What an index holds: per benchmark, how many items and n-grams; items too short for one n-gram.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IndexStats {
    /// Items indexed.
    pub items: usize,
    /// Distinct n-grams they added to the index.
    pub ngrams: usize,
    /// Items skipped for having fewer than `n` words in every field.
    pub items_too_short: usize,
}

/// The n-grams of every indexed benchmark item.
#[derive(Debug, Default)]
pub struct NgramIndex {
    n: usize,
    /// n-gram key -> item number; an n-gram shared by several items keeps the first.
    grams: HashMap<u64, u32>,
    /// item number -> (benchmark, item id)
    items: Vec<(u32, String)>,
    benchmarks: Vec<String>,
    stats: HashMap<String, IndexStats>,
}

impl NgramIndex {
    /// An empty index of `n`-word grams (at least 1).
    pub fn new(n: usize) -> Self {
        Self {
            n: n.max(1),
            ..Default::default()
        }
    }

    /// Indexes the texts of one item. An item with fewer than `n` words in every text cannot be matched
    /// and is counted as too short rather than indexed as a shorter gram, which would match common phrases.
    pub fn add(&mut self, benchmark: &str, item: &str, texts: &[&str]) {
        let bench = match self.benchmarks.iter().position(|b| b == benchmark) {
            Some(i) => i as u32,
            None => {
                self.benchmarks.push(benchmark.to_string());
                (self.benchmarks.len() - 1) as u32
            }
        };
        let number = self.items.len() as u32;
        let mut added = 0;
        for text in texts {
            let ws = words(text);
            for key in gram_keys(&ws, self.n) {
                self.grams.entry(key).or_insert(number);
                added += 1;
            }
        }
        let stats = self.stats.entry(benchmark.to_string()).or_default();
        if added == 0 {
            stats.items_too_short += 1;
            return;
        }
        stats.items += 1;
        stats.ngrams += added;
        self.items.push((bench, item.to_string()));
    }

    /// What was indexed, per benchmark name.
    pub fn stats(&self) -> &HashMap<String, IndexStats> {
        &self.stats
    }

    /// Whether no n-gram was indexed, so nothing can match.
    pub fn is_empty(&self) -> bool {
        self.grams.is_empty()
    }

    /// Every item `text` shares at least `min_ngrams` n-grams with, the most n-grams first.
    pub fn find(&self, text: &str, min_ngrams: usize) -> Vec<Contamination> {
        let ws = words(text);
        // item -> (count, matched window starts in order)
        let mut hits: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, key) in gram_keys(&ws, self.n).into_iter().enumerate() {
            if let Some(&item) = self.grams.get(&key) {
                hits.entry(item).or_default().push(i);
            }
        }
        let mut out: Vec<Contamination> = hits
            .into_iter()
            .filter(|(_, starts)| starts.len() >= min_ngrams.max(1))
            .map(|(item, starts)| {
                let (first, last) = longest_run(&starts, self.n);
                let (bench, id) = &self.items[item as usize];
                Contamination {
                    benchmark: self.benchmarks[*bench as usize].clone(),
                    item: id.clone(),
                    ngrams: starts.len(),
                    start: ws[first].start,
                    end: ws[last + self.n - 1].end,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.ngrams
                .cmp(&a.ngrams)
                .then(a.start.cmp(&b.start))
                .then(a.item.cmp(&b.item))
        });
        out
    }
}

/// The first and last window start of the longest chain of windows that overlap or touch.
fn longest_run(starts: &[usize], n: usize) -> (usize, usize) {
    let mut best = (starts[0], starts[0]);
    let mut current = best;
    for &s in &starts[1..] {
        if s <= current.1 + n {
            current.1 = s;
        } else {
            current = (s, s);
        }
        if current.1 - current.0 > best.1 - best.0 {
            best = current;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEM: &str = "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and \
        bakes muffins for her friends every day with four.";

    fn index() -> NgramIndex {
        let mut index = NgramIndex::new(13);
        index.add("gsm8k", "test-0", &[ITEM]);
        index.add("gsm8k", "short", &["too short to index"]);
        index
    }

    #[test]
    fn a_planted_item_is_found_with_its_span() {
        let doc = format!(
            "Some forum chatter first.\n\n{}\nAnd a reply.",
            ITEM.to_uppercase()
        );
        let found = index().find(&doc, 1);
        assert_eq!(found.len(), 1);
        let hit = &found[0];
        assert_eq!(
            (hit.benchmark.as_str(), hit.item.as_str()),
            ("gsm8k", "test-0")
        );
        assert_eq!(
            &doc[hit.start..hit.end],
            &ITEM.to_uppercase()[..ITEM.len() - 1]
        );
        assert_eq!(hit.ngrams, 25 - 13 + 1);
    }

    #[test]
    fn punctuation_and_case_do_not_hide_a_copy() {
        let doc = "janet s ducks lay 16 eggs per day she eats three for breakfast every morning";
        assert_eq!(index().find(doc, 1).len(), 1);
    }

    #[test]
    fn fewer_than_n_shared_words_is_no_match() {
        let doc = "Janet's ducks lay 16 eggs per day. She eats three for lunch.";
        assert!(index().find(doc, 1).is_empty());
        assert!(index().find("", 1).is_empty());
    }

    #[test]
    fn short_items_are_counted_not_indexed() {
        let index = index();
        let stats = &index.stats()["gsm8k"];
        assert_eq!((stats.items, stats.items_too_short), (1, 1));
        assert_eq!(stats.ngrams, 25 - 13 + 1);
    }

    #[test]
    fn min_ngrams_raises_the_bar() {
        let doc = "Janet's ducks lay 16 eggs per day. She eats three for breakfast";
        assert_eq!(index().find(doc, 1)[0].ngrams, 1);
        assert!(index().find(doc, 2).is_empty());
    }
}
