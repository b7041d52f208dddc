//! `keep_top_fraction`: keep the best-scoring share of a dataset, as seed 000 keeps the top 80 % by quality
//! score and DCLM keeps the top 10 % by classifier score.
//!
//! A fraction of a dataset is a property of the whole dataset, not of one document, so the bulk host does it
//! in passes (`tamis select`): every record's score is read, the exact cut is found, and the records are
//! sorted into kept and dropped. This module is the pure part those passes share: where a record's score
//! is, how scores are ordered, how many documents a fraction keeps, and the exact cut found with bounded
//! memory by a radix selection over the scores (four passes of 16 bits each, 65,536 counters, whatever
//! the number of documents).
//!
//! The cut is exact and deterministic: documents are ranked by score, best first, and documents with equal
//! scores by their place in the input (input files in sorted order, then line or row), so exactly
//! `ceil(fraction × scored documents)` are kept, whatever the number of workers or shards.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;

/// Which end of the score is the good one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepEnd {
    /// Higher is better (quality scores, classifier probabilities).
    Highest,
    /// Lower is better (perplexity, as CCNet ranks by it).
    Lowest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// `tamis select`: keep the top fraction of a dataset by a score.
pub struct SelectConfig {
    /// Files, directories or globs to select from; `io.input` when empty.
    pub input: Vec<String>,
    /// The score to rank by: the name of a score that `tamis run` wrote under `tamis.scores`
    /// (`quality_score`, `quality_classifier`), or a JSON pointer to any number in the record
    /// (`/metadata/dclm_score`).
    pub score: String,
    /// The share of scored documents to keep, in (0, 1]: 0.1 keeps the best 10 %.
    pub keep_top_fraction: Option<f64>,
    /// Which end of the score is kept (`highest` by default).
    pub keep: KeepEnd,
    /// Where kept/, dropped/ and errors/ go (`SELECTED`).
    pub output: String,
}

impl Default for SelectConfig {
    fn default() -> Self {
        Self {
            input: Vec::new(),
            score: String::new(),
            keep_top_fraction: None,
            keep: KeepEnd::Highest,
            output: "SELECTED".into(),
        }
    }
}

impl SelectConfig {
    /// Checks the fraction's range and the pointer's syntax, naming the key under `path`. Whether the
    /// section is complete (a score and a fraction) is checked by the command that uses it.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if let Some(f) = self.keep_top_fraction
            && !(f > 0.0 && f <= 1.0)
        {
            return Err(ConfigError::new(
                format!("{path}.keep_top_fraction"),
                format!("expected a fraction in (0, 1], got {f}"),
            ));
        }
        if self.score.trim() != self.score {
            return Err(ConfigError::new(
                format!("{path}.score"),
                format!(
                    "expected a score name or a JSON pointer without surrounding spaces, got {:?}",
                    self.score
                ),
            ));
        }
        Ok(())
    }
}

/// A record's score: a number at a JSON pointer (`/metadata/score`), or the score of that name in the
/// `tamis` annotation written by `tamis run`. The message says what is missing or wrong.
pub fn score_of(object: &Map<String, Value>, score: &str) -> Result<f64, String> {
    let value = if score.starts_with('/') {
        let mut at: Option<&Value> = None;
        let mut parts = score.split('/').skip(1).map(unescape_pointer);
        if let Some(first) = parts.next() {
            at = object.get(&first);
            for part in parts {
                at = match at {
                    Some(Value::Object(m)) => m.get(&part),
                    Some(Value::Array(a)) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
                    _ => None,
                };
            }
        }
        at.ok_or_else(|| format!("has no score at `{score}`"))?
    } else {
        object
            .get("tamis")
            .and_then(|t| t.get("scores"))
            .and_then(Value::as_array)
            .and_then(|scores| {
                scores
                    .iter()
                    .find(|s| s.get("name").and_then(Value::as_str) == Some(score))
            })
            .and_then(|s| s.get("value"))
            .ok_or_else(|| {
                format!(
                    "has no score `{score}` under tamis.scores (run `tamis run` with the step that computes it first)"
                )
            })?
    };
    match value.as_f64() {
        Some(v) if v.is_finite() => Ok(v),
        _ => Err(format!(
            "has a score `{score}` that is not a finite number: {value}"
        )),
    }
}

/// RFC 6901: `~1` is `/` and `~0` is `~`, in that order.
fn unescape_pointer(part: &str) -> String {
    part.replace("~1", "/").replace("~0", "~")
}

/// A score as a key whose unsigned order is the order of preference: a larger key is a better document.
/// The IEEE 754 bits of a finite float, with the sign bit flipped for positives and every bit flipped for
/// negatives, sort as the floats do; -0.0 is first made 0.0 so the two zeros tie.
pub fn key_of(score: f64, keep: KeepEnd) -> u64 {
    let score = if score == 0.0 { 0.0 } else { score };
    let bits = score.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    match keep {
        KeepEnd::Highest => ordered,
        KeepEnd::Lowest => !ordered,
    }
}

/// The score a key was made from.
pub fn score_of_key(key: u64, keep: KeepEnd) -> f64 {
    let ordered = match keep {
        KeepEnd::Highest => key,
        KeepEnd::Lowest => !key,
    };
    let bits = if ordered >> 63 == 1 {
        ordered & !(1 << 63)
    } else {
        !ordered
    };
    f64::from_bits(bits)
}

/// How many of `scored` documents a fraction keeps: `ceil(fraction × scored)`, where a product within
/// 1e-9 of a whole number counts as that number (0.7 × 10 is 7.000000000000001 in floating point, and
/// keeps 7, not 8).
pub fn keep_count(fraction: f64, scored: u64) -> u64 {
    let exact = fraction * scored as f64;
    let nearest = exact.round();
    let count = if (exact - nearest).abs() <= 1e-9 * exact.max(1.0) {
        nearest
    } else {
        exact.ceil()
    };
    (count.max(0.0) as u64).min(scored)
}

/// Bits of the key looked at per pass.
pub const DIGIT_BITS: u32 = 16;
/// Counters per pass.
pub const BUCKETS: usize = 1 << DIGIT_BITS;
/// Passes to pin down a 64-bit key.
pub const PASSES: u32 = 64 / DIGIT_BITS;

/// The exact selection of the `rank`-th best key (1-based) among keys that are streamed past it several
/// times, with memory for one histogram. Each pass looks at the keys that share the prefix found so far,
/// counts them by their next 16 bits, and keeps the bucket where the rank falls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RadixSelect {
    /// The bits found so far, in the high positions.
    prefix: u64,
    /// How many high bits of `prefix` are found.
    known: u32,
    /// The rank of the wanted key among the keys that share the prefix.
    rank: u64,
    /// Keys sharing the prefix (after the last pass: keys equal to the answer).
    matching: u64,
}

impl RadixSelect {
    /// Starts the search for the `rank`-th best of `total` keys (`1 <= rank <= total`).
    pub fn new(rank: u64, total: u64) -> Self {
        Self {
            prefix: 0,
            known: 0,
            rank,
            matching: total,
        }
    }

    /// Whether another pass is needed.
    pub fn searching(&self) -> bool {
        self.known < 64
    }

    /// The bucket of `key` in the current pass, or `None` when it does not share the prefix.
    pub fn bucket(&self, key: u64) -> Option<usize> {
        if self.known > 0 && key >> (64 - self.known) != self.prefix >> (64 - self.known) {
            return None;
        }
        let shift = 64 - self.known - DIGIT_BITS;
        Some(((key >> shift) & (BUCKETS as u64 - 1)) as usize)
    }

    /// Takes the counts of one pass (indexed by [`Self::bucket`]) and narrows the prefix. Fails when the
    /// counts do not add up to the keys that share the prefix: the keys changed between passes.
    pub fn narrow(&mut self, counts: &[u64]) -> Result<(), String> {
        let total: u64 = counts.iter().sum();
        if total != self.matching || counts.len() != BUCKETS {
            return Err(format!(
                "pass {} counted {total} keys where {} were expected: the scores changed between passes",
                self.known / DIGIT_BITS + 1,
                self.matching
            ));
        }
        let mut better = 0u64;
        for digit in (0..BUCKETS).rev() {
            let here = counts[digit];
            if better + here >= self.rank {
                let shift = 64 - self.known - DIGIT_BITS;
                self.prefix |= (digit as u64) << shift;
                self.known += DIGIT_BITS;
                self.rank -= better;
                self.matching = here;
                return Ok(());
            }
            better += here;
        }
        Err(format!(
            "rank {} is beyond the {total} keys counted",
            self.rank
        ))
    }

    /// Once the search is done: the key, how many keys equal it, and how many of those are kept (the
    /// first ones in input order).
    pub fn answer(&self) -> Option<(u64, u64, u64)> {
        (!self.searching()).then_some((self.prefix, self.matching, self.rank))
    }
}

/// Where the kept documents end: every key above `key` is kept, and of the keys equal to it, those up to
/// and including the document at `last_tie` (input file number, position) in input order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    /// The key of the last kept document.
    pub key: u64,
    /// The last kept document among those with exactly that key.
    pub last_tie: (u64, u64),
}

impl Cut {
    /// Whether the document with `key` at (`file`, `position`) is kept.
    pub fn keeps(&self, key: u64, file: u64, position: u64) -> bool {
        key > self.key || (key == self.key && (file, position) <= self.last_tie)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: sort (key descending, place ascending) and take the first `k`.
    fn by_sorting(keys: &[(u64, u64)], k: usize) -> Vec<(u64, u64)> {
        let mut all: Vec<(u64, u64)> = keys.to_vec();
        all.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut kept: Vec<(u64, u64)> = all.into_iter().take(k).collect();
        kept.sort_by_key(|x| x.1);
        kept
    }

    /// The radix search over the keys as the host runs it: passes of counts, then the ties in order.
    fn by_radix(keys: &[(u64, u64)], k: u64) -> Vec<(u64, u64)> {
        let mut select = RadixSelect::new(k, keys.len() as u64);
        while select.searching() {
            let mut counts = vec![0u64; BUCKETS];
            for (key, _) in keys {
                if let Some(b) = select.bucket(*key) {
                    counts[b] += 1;
                }
            }
            select.narrow(&counts).unwrap();
        }
        let (key, _, ties_kept) = select.answer().unwrap();
        let last_tie = keys
            .iter()
            .filter(|(kk, _)| *kk == key)
            .nth(ties_kept as usize - 1)
            .map(|(_, place)| (0, *place))
            .unwrap();
        let cut = Cut { key, last_tie };
        keys.iter()
            .copied()
            .filter(|(kk, place)| cut.keeps(*kk, 0, *place))
            .collect()
    }

    #[test]
    fn radix_selection_equals_sorting_with_ties_broken_by_place() {
        // Scores with many ties (a coarse grid), negatives, zeros of both signs and extremes.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut keys = Vec::new();
        for place in 0..5_000u64 {
            let r = next();
            let score = match r % 5 {
                0 => (r % 7) as f64 / 4.0 - 0.5,
                1 => -0.0,
                2 => f64::from_bits(r >> 2) % 1e6,
                3 => (r % 1000) as f64 * -1e-3,
                _ => [f64::MAX, f64::MIN, 0.0, 1e-300][(r % 4) as usize],
            };
            keys.push((key_of(score, KeepEnd::Highest), place));
        }
        for k in [1, 2, 17, 500, 1_234, 2_500, 4_999, 5_000] {
            assert_eq!(by_radix(&keys, k), by_sorting(&keys, k as usize), "k = {k}");
        }
    }

    #[test]
    fn keys_order_as_scores_and_round_trip() {
        let scores = [
            f64::MIN,
            -1e9,
            -1.5,
            -1e-300,
            0.0,
            1e-300,
            0.25,
            0.5,
            1.0,
            7e42,
            f64::MAX,
        ];
        for w in scores.windows(2) {
            assert!(key_of(w[0], KeepEnd::Highest) < key_of(w[1], KeepEnd::Highest));
            assert!(key_of(w[0], KeepEnd::Lowest) > key_of(w[1], KeepEnd::Lowest));
        }
        for s in scores {
            assert_eq!(
                score_of_key(key_of(s, KeepEnd::Highest), KeepEnd::Highest),
                s
            );
            assert_eq!(score_of_key(key_of(s, KeepEnd::Lowest), KeepEnd::Lowest), s);
        }
        assert_eq!(
            key_of(-0.0, KeepEnd::Highest),
            key_of(0.0, KeepEnd::Highest)
        );
    }

    #[test]
    fn keep_counts_round_up_but_not_past_float_noise() {
        assert_eq!(keep_count(0.7, 10), 7);
        assert_eq!(keep_count(0.1, 100), 10);
        assert_eq!(keep_count(0.1, 101), 11);
        assert_eq!(keep_count(0.8, 5), 4);
        assert_eq!(keep_count(1.0, 3), 3);
        assert_eq!(keep_count(1e-9, 3), 1);
        assert_eq!(keep_count(0.5, 0), 0);
    }

    #[test]
    fn scores_are_found_by_name_or_pointer_and_their_absence_is_explained() {
        let record: Map<String, Value> = serde_json::from_str(
            r#"{"id": "a", "metadata": {"s/x": 0.5, "list": [1, 2.5]},
                "tamis": {"scores": [{"name": "quality_score", "value": 0.75}]}}"#,
        )
        .unwrap();
        assert_eq!(score_of(&record, "quality_score"), Ok(0.75));
        assert_eq!(score_of(&record, "/metadata/s~1x"), Ok(0.5));
        assert_eq!(score_of(&record, "/metadata/list/1"), Ok(2.5));
        let missing = score_of(&record, "quality_classifier").unwrap_err();
        assert!(
            missing.contains("no score `quality_classifier`"),
            "{missing}"
        );
        assert!(score_of(&record, "/metadata/nope").is_err());
        let text = score_of(&record, "/id").unwrap_err();
        assert!(text.contains("not a finite number"), "{text}");
    }

    #[test]
    fn a_pass_that_does_not_add_up_is_refused() {
        let mut select = RadixSelect::new(1, 3);
        let mut counts = vec![0u64; BUCKETS];
        counts[5] = 2;
        assert!(select.narrow(&counts).is_err());
    }
}
