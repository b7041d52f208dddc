//! A near-duplicate test set made from the real web documents: every document of `web/dev.jsonl.gz`, plus
//! edited copies of some of them, each edit of a known kind. Shared by the dedup tests and the
//! `dedup_eval` benchmark, and written to files that datatrove's MinhashDedup reads too, so both tools are
//! scored on the same bytes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::{read_jsonl, shared_data};

/// The edits applied to the copies. `Replace20` copies are controls: they are different documents, and
/// a dedup that removes them is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Edit {
    Exact,
    CasePunctuation,
    Replace1,
    Replace3,
    Footer,
    Truncate10,
    Replace20,
}

impl Edit {
    pub const ALL: [Edit; 7] = [
        Edit::Exact,
        Edit::CasePunctuation,
        Edit::Replace1,
        Edit::Replace3,
        Edit::Footer,
        Edit::Truncate10,
        Edit::Replace20,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Edit::Exact => "exact",
            Edit::CasePunctuation => "case_punctuation",
            Edit::Replace1 => "replace_1pct",
            Edit::Replace3 => "replace_3pct",
            Edit::Footer => "footer",
            Edit::Truncate10 => "truncate_10pct",
            Edit::Replace20 => "control_replace_20pct",
        }
    }

    pub fn is_duplicate(self) -> bool {
        self != Edit::Replace20
    }
}

/// One edited copy.
#[derive(Debug, Clone)]
pub struct Copy {
    pub id: String,
    pub source: String,
    pub edit: Edit,
}

/// The test set: the originals in input order, then the copies.
pub struct DedupSet {
    pub originals: Vec<Value>,
    pub copies: Vec<Value>,
    pub truth: Vec<Copy>,
}

/// SplitMix64: a seeded generator whose output is the same on every platform and Rust version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A footer of the kind sites append to every page (written for this test).
const FOOTER: &str = "\n\nShare this article: Facebook | Twitter | Email. Sign up for our weekly newsletter to get \
    the latest stories delivered to your inbox. Copyright 2019 All rights reserved. Terms of use | \
    Privacy policy | Contact us";

/// Replaces `share` of the words (at distinct random positions) with words drawn from `vocabulary`.
fn replace_words(text: &str, share: f64, vocabulary: &[String], rng: &mut Rng) -> String {
    let mut words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    let n = ((words.len() as f64) * share).round().max(1.0) as usize;
    let mut chosen = HashSet::new();
    while chosen.len() < n.min(words.len()) {
        chosen.insert(rng.below(words.len()));
    }
    let mut chosen: Vec<usize> = chosen.into_iter().collect();
    chosen.sort_unstable();
    for i in chosen {
        loop {
            let w = &vocabulary[rng.below(vocabulary.len())];
            if !w.eq_ignore_ascii_case(&words[i]) {
                words[i] = w.clone();
                break;
            }
        }
    }
    words.join(" ")
}

fn edit(text: &str, edit: Edit, vocabulary: &[String], rng: &mut Rng) -> String {
    match edit {
        Edit::Exact => text.to_string(),
        Edit::CasePunctuation => text
            .chars()
            .filter(|c| !matches!(c, ',' | ';' | ':' | '"' | '\''))
            .map(|c| if c == '.' { '!' } else { c })
            .collect::<String>()
            .to_lowercase(),
        Edit::Replace1 => replace_words(text, 0.01, vocabulary, rng),
        Edit::Replace3 => replace_words(text, 0.03, vocabulary, rng),
        Edit::Replace20 => replace_words(text, 0.20, vocabulary, rng),
        Edit::Footer => format!("{text}{FOOTER}"),
        Edit::Truncate10 => {
            let words: Vec<&str> = text.split_whitespace().collect();
            let keep = words.len() - words.len() / 10;
            words[..keep].join(" ")
        }
    }
}

/// Builds the set: `sources` originals of at least 200 words (taken in file order, so the set does not
/// depend on anything but the data) get one copy per edit.
pub fn build(sources: usize) -> Result<DedupSet> {
    let originals = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let mut vocabulary: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for doc in &originals {
        for w in doc["text"].as_str().unwrap_or_default().split_whitespace() {
            if w.chars().all(char::is_alphabetic) && seen.insert(w.to_string()) {
                vocabulary.push(w.to_string());
            }
        }
    }
    let mut rng = Rng(20261123);
    let mut copies = Vec::new();
    let mut truth = Vec::new();
    let picked = originals
        .iter()
        .filter(|d| {
            d["text"]
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .count()
                >= 200
        })
        .take(sources);
    for doc in picked {
        let id = doc["id"].as_str().context("record without id")?;
        let text = doc["text"].as_str().unwrap_or_default();
        for e in Edit::ALL {
            let copy_id = format!("{id}#{}", e.name());
            copies.push(json!({
                "id": copy_id,
                "text": edit(text, e, &vocabulary, &mut rng),
                "url": doc["url"],
            }));
            truth.push(Copy {
                id: copy_id,
                source: id.to_string(),
                edit: e,
            });
        }
    }
    Ok(DedupSet {
        originals,
        copies,
        truth,
    })
}

impl DedupSet {
    /// Writes `a-originals.jsonl` and `b-copies.jsonl` into `dir` (sorted names: originals come first).
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, records) in [
            ("a-originals.jsonl", &self.originals),
            ("b-copies.jsonl", &self.copies),
        ] {
            let mut text = String::new();
            for r in records {
                text.push_str(&r.to_string());
                text.push('\n');
            }
            std::fs::write(dir.join(name), text)?;
        }
        Ok(())
    }

    /// Scores a set of removed ids and of clustered ids (removed or kept as a cluster's representative).
    pub fn score(&self, removed: &HashSet<String>) -> Score {
        let mut by_edit: BTreeMap<Edit, (usize, usize)> = BTreeMap::new();
        let copy_ids: HashMap<&str, &Copy> =
            self.truth.iter().map(|c| (c.id.as_str(), c)).collect();
        for c in &self.truth {
            let entry = by_edit.entry(c.edit).or_default();
            entry.1 += 1;
            // A pair is found when either side went (with first-seen the copy is the one removed); a
            // control counts only when the control itself went.
            if removed.contains(&c.id) || (c.edit.is_duplicate() && removed.contains(&c.source)) {
                entry.0 += 1;
            }
        }
        let mut controls_removed = 0;
        let mut injected_removed = 0;
        let mut other_removed = Vec::new();
        for id in removed {
            match copy_ids.get(id.as_str()) {
                Some(c) if c.edit.is_duplicate() => injected_removed += 1,
                Some(_) => controls_removed += 1,
                None => other_removed.push(id.clone()),
            }
        }
        other_removed.sort();
        Score {
            by_edit,
            controls_removed,
            injected_removed,
            other_removed,
        }
    }
}

/// How a dedup did on the set.
#[derive(Debug)]
pub struct Score {
    /// edit -> (found, total)
    pub by_edit: BTreeMap<Edit, (usize, usize)>,
    pub controls_removed: usize,
    pub injected_removed: usize,
    /// Removed documents of the original set (natural duplicates, to be checked by their similarity).
    pub other_removed: Vec<String>,
}

impl Score {
    pub fn recall(&self) -> f64 {
        let (found, total) = self
            .by_edit
            .iter()
            .filter(|(e, _)| e.is_duplicate())
            .fold((0, 0), |(f, t), (_, (a, b))| (f + a, t + b));
        found as f64 / total.max(1) as f64
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        for (e, (found, total)) in &self.by_edit {
            out.push_str(&format!("  {:<24} {found:>3}/{total}\n", e.name()));
        }
        out
    }
}

/// The word 5-gram Jaccard similarity of two texts, computed exactly on the text MinHash shingles
/// text: the yardstick for whether a removed original really duplicated the document it was removed for.
pub fn jaccard(a: &str, b: &str) -> f64 {
    fn shingles(text: &str) -> HashSet<String> {
        let simple = tamis_core::fingerprint::shingle_text(text);
        let words: Vec<&str> = simple.split(' ').filter(|w| !w.is_empty()).collect();
        if words.is_empty() {
            return HashSet::new();
        }
        words
            .windows(5.min(words.len()))
            .map(|w| w.join(" "))
            .collect()
    }
    let (x, y) = (shingles(a), shingles(b));
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    x.intersection(&y).count() as f64 / x.union(&y).count() as f64
}
