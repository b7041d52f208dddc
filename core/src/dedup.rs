//! The per-document half of global deduplication: the keys a document contributes (exact, LSH band and
//! paragraph keys) and the rewrite that removes repeated paragraphs.
//!
//! Deciding *which* documents are duplicates needs the whole dataset, so that part is the bulk host's
//! (`tamis dedup`); what a key is and how a paragraph is cut out must be the same everywhere, so it lives
//! here beside the fingerprint it builds on.
//!
//! Near duplicates use the banding of Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets* ch. 3.4:
//! a signature of `bands * rows` MinHash values is cut into `bands` bands, and two documents become
//! candidates when any one band is identical. With the defaults (14 bands of 8, as datatrove's
//! `MinhashConfig`) a pair with Jaccard similarity `s` becomes a candidate with probability
//! `1 - (1 - s^8)^14`: 0.92 at `s = 0.8`, 0.05 at `s = 0.5`.
//!
//! Paragraph dedup follows dolma's paragraph-level and datatrove's sentence-level dedup: a paragraph (a
//! line) whose simplified text was seen before, anywhere in the dataset, is removed, and a document with
//! too few words left is dropped.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::error::ConfigError;
use crate::fingerprint::simplify;

/// Which document of a duplicate cluster stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepPolicy {
    /// The first in input order (files in sorted order, then records in file order).
    FirstSeen,
    /// The one with the longest text; ties go to the first seen.
    Longest,
    /// The one with the highest `quality_score` (core/src/quality/score.rs); ties go to the first seen.
    QualityScore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// Removal of paragraphs (lines) already seen in earlier documents, as in datatrove's sentence dedup.
pub struct ParagraphDedupConfig {
    /// Off by default: it rewrites documents, which a user should ask for.
    pub enabled: bool,
    /// Paragraphs shorter than this (in characters of the simplified text) are never removed: short lines
    /// such as "Reply" or a date repeat by chance, not by copying.
    pub min_chars: usize,
    /// A document with fewer words left after removal is dropped (datatrove 0.10.1 `SentDedupConfig`
    /// `min_doc_words` default, 50).
    pub min_words_left: usize,
}

impl Default for ParagraphDedupConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            min_chars: 50,
            min_words_left: 50,
        }
    }
}

/// `tamis dedup`: global exact, near-duplicate and paragraph dedup. The MinHash shape (shingle size,
/// bands, rows, seed) is the `[fingerprint]` section's, so signatures computed at the edge or in the
/// browser are the ones dedup compares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Files, directories or globs to dedup; `io.input` when empty. Typically the kept output of
    /// `tamis run`, such as `CLEANED/*/kept/*.jsonl.gz`.
    pub input: Vec<String>,
    /// Remove documents whose simplified text (the fingerprint's exact hash) was seen before.
    pub exact: bool,
    /// Remove near duplicates found by MinHash LSH.
    pub near: bool,
    /// Which document of a duplicate cluster survives.
    pub keep: KeepPolicy,
    /// Width of the band keys in the bucket files: 64 by default; 32 halves the files at the cost of more
    /// chance candidates (about `docs^2 / 2^33` per band).
    pub hash_bits: u32,
    /// Band each signature a second time, interleaved (see [`band_keys`]): on by default. `false` gives
    /// exactly the banding of datatrove's `MinhashDedupSignature`.
    pub interleaved_bands: bool,
    /// `[dedup.paragraphs]`: paragraph dedup.
    pub paragraphs: ParagraphDedupConfig,
    /// Where kept/, dropped/ and errors/ go (`DEDUP`).
    pub output: String,
    /// Intermediate files of the stages; `<output>/.work` when unset. On a cluster it must be shared by the
    /// tasks of every stage.
    pub work_dir: Option<String>,
    /// Bucket partitions: the unit of the `buckets` stage's sharding.
    pub partitions: usize,
    /// Memory budget of one external sort, in MiB; larger inputs are sorted in runs and merged.
    pub sort_memory_mib: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            input: Vec::new(),
            exact: true,
            near: true,
            keep: KeepPolicy::FirstSeen,
            hash_bits: 64,
            interleaved_bands: true,
            paragraphs: ParagraphDedupConfig::default(),
            output: "DEDUP".into(),
            work_dir: None,
            partitions: 16,
            sort_memory_mib: 512,
        }
    }
}

impl DedupConfig {
    /// Checks `hash_bits` (32 or 64), partition count and sort memory, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if self.hash_bits != 32 && self.hash_bits != 64 {
            return Err(ConfigError::new(
                format!("{path}.hash_bits"),
                format!("expected 32 or 64, got {}", self.hash_bits),
            ));
        }
        if self.partitions == 0 || self.partitions > 4096 {
            return Err(ConfigError::new(
                format!("{path}.partitions"),
                format!("expected 1 to 4096, got {}", self.partitions),
            ));
        }
        if self.sort_memory_mib < 1 {
            return Err(ConfigError::new(
                format!("{path}.sort_memory_mib"),
                "expected at least 1 MiB",
            ));
        }
        if self.output.is_empty() {
            return Err(ConfigError::new(
                format!("{path}.output"),
                "expected a directory",
            ));
        }
        Ok(())
    }
}

/// The 64-bit key of an exact hash (the first half of the fingerprint's 128-bit hex digest). Two different
/// texts share it with probability 2^-64 per pair.
pub fn exact_key(exact_hex: &str) -> Option<u64> {
    exact_hex
        .get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
}

/// One key per band: the band's `rows` values hashed together, seeded by the band's index so that equal
/// values in different bands never meet, then cut to `hash_bits`.
///
/// With `interleaved`, the same signature is banded a second time, band `j` taking the values
/// `j, j + bands, j + 2 * bands, ...`. When `bands >= rows` such a band shares at most one value with any
/// band of the first grouping, so the second grouping adds nearly independent chances for a similar
/// pair to collide (about `1 - (1 - s^rows)^(2 * bands)` instead of `1 - (1 - s^rows)^bands`) while a
/// collision still needs `rows` equal values, which keeps dissimilar pairs apart. It costs no hashing.
pub fn band_keys(minhash: &[u64], rows: usize, hash_bits: u32, interleaved: bool) -> Vec<u64> {
    let mask = if hash_bits >= 64 {
        u64::MAX
    } else {
        (1u64 << hash_bits) - 1
    };
    let rows = rows.max(1);
    let bands = minhash.len() / rows;
    let mut keys = Vec::with_capacity(if interleaved { 2 * bands } else { bands });
    let mut bytes = Vec::with_capacity(rows * 8);
    let mut key = |seed: u64, values: &mut dyn Iterator<Item = u64>| {
        bytes.clear();
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        xxh3_64_with_seed(&bytes, seed) & mask
    };
    for band in 0..bands {
        keys.push(key(
            band as u64,
            &mut minhash[band * rows..(band + 1) * rows].iter().copied(),
        ));
    }
    if interleaved {
        for band in 0..bands {
            keys.push(key(
                (bands + band) as u64,
                &mut (0..rows).map(|m| minhash[band + m * bands]),
            ));
        }
    }
    keys
}

/// A paragraph that can take part in paragraph dedup: its index among the text's lines and the key of its
/// simplified text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParagraphKey {
    /// Line number of the paragraph in the text (0-based).
    pub index: u32,
    /// xxh3-64 of its simplified text.
    pub key: u64,
}

/// The keys of the lines (`\n`-separated) of `text` whose simplified form has at least `min_chars`
/// characters. Simplifying first (lower case, alphanumerics, single spaces) makes a copy with other
/// punctuation or spacing the same paragraph.
pub fn paragraph_keys(text: &str, min_chars: usize) -> Vec<ParagraphKey> {
    text.split('\n')
        .enumerate()
        .filter_map(|(i, line)| {
            let simple = simplify(line);
            (simple.chars().count() >= min_chars.max(1)).then(|| ParagraphKey {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                key: xxh3_64(simple.as_bytes()),
            })
        })
        .collect()
}

/// What is left of a document once some of its lines are removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trimmed {
    /// The text without the removed lines.
    pub text: String,
    /// How many lines were removed.
    pub lines_removed: usize,
    /// Words left in `text`, for the `min_words_left` rule.
    pub words_left: usize,
}

/// Removes the lines with the given indices (as [`paragraph_keys`] numbers them). Indices out of range
/// are ignored; the remaining lines keep their order and their own bytes.
pub fn remove_paragraphs(text: &str, indices: &[u32]) -> Trimmed {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut kept: Vec<&str> = Vec::new();
    let mut removed = 0;
    for (i, line) in text.split('\n').enumerate() {
        if sorted.binary_search(&(i as u32)).is_ok() {
            removed += 1;
        } else {
            kept.push(line);
        }
    }
    let text = kept.join("\n");
    let words_left = text.split_whitespace().count();
    Trimmed {
        text,
        lines_removed: removed,
        words_left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::{Fingerprint, FingerprintConfig};

    #[test]
    fn exact_keys_come_from_the_fingerprint() {
        let fp = Fingerprint::new(&FingerprintConfig::default()).unwrap();
        let a = fp.hashes("Hello, World!");
        let b = fp.hashes("hello world");
        assert_eq!(exact_key(&a.exact), exact_key(&b.exact));
        assert!(exact_key(&a.exact).is_some());
        assert_eq!(exact_key("zz"), None);
    }

    #[test]
    fn a_band_key_changes_only_when_its_band_changes() {
        let mut sig: Vec<u64> = (0..14 * 8).collect();
        let before = band_keys(&sig, 8, 64, false);
        assert_eq!(before.len(), 14);
        sig[8 * 3 + 2] = 999;
        let after = band_keys(&sig, 8, 64, false);
        for band in 0..14 {
            assert_eq!(before[band] == after[band], band != 3, "band {band}");
        }
        // The same values in two bands give two keys.
        let same = vec![7u64; 16];
        let keys = band_keys(&same, 8, 64, false);
        assert_ne!(keys[0], keys[1]);
        assert!(
            band_keys(&sig, 8, 32, false)
                .iter()
                .all(|k| *k <= u32::MAX as u64)
        );
    }

    #[test]
    fn interleaved_bands_take_one_value_of_each_plain_band() {
        let sig: Vec<u64> = (0..14 * 8).collect();
        let plain = band_keys(&sig, 8, 64, false);
        let both = band_keys(&sig, 8, 64, true);
        assert_eq!(both.len(), 28);
        assert_eq!(&both[..14], &plain[..]);
        // Changing value 26 (plain band 3, interleaved band 26 % 14 = 12) changes exactly those two.
        let mut changed = sig.clone();
        changed[26] = 999;
        let after = band_keys(&changed, 8, 64, true);
        let differing: Vec<usize> = (0..28).filter(|&i| both[i] != after[i]).collect();
        assert_eq!(differing, [3, 14 + 12]);
    }

    #[test]
    fn paragraphs_are_keyed_on_their_simplified_text_above_a_length() {
        let text = "Subscribe to our newsletter for weekly updates and offers!\nok\n\
                    SUBSCRIBE to our newsletter, for weekly updates and offers";
        let keys = paragraph_keys(text, 20);
        assert_eq!(keys.len(), 2, "the short line is not keyed");
        assert_eq!(keys[0].index, 0);
        assert_eq!(keys[1].index, 2);
        assert_eq!(keys[0].key, keys[1].key);
    }

    #[test]
    fn removing_paragraphs_keeps_the_rest_byte_for_byte() {
        let text = "first line\nsecond  line\nthird line\n";
        let t = remove_paragraphs(text, &[1, 1, 9]);
        assert_eq!(t.text, "first line\nthird line\n");
        assert_eq!(t.lines_removed, 1);
        assert_eq!(t.words_left, 4);
        assert_eq!(remove_paragraphs(text, &[]).text, text);
    }

    #[test]
    fn bad_settings_name_their_key() {
        let bad = DedupConfig {
            hash_bits: 16,
            ..Default::default()
        };
        assert_eq!(bad.validate("dedup").unwrap_err().path, "dedup.hash_bits");
        let bad = DedupConfig {
            partitions: 0,
            ..Default::default()
        };
        assert_eq!(bad.validate("dedup").unwrap_err().path, "dedup.partitions");
    }
}
