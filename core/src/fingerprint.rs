//! Fingerprints for deduplication: an exact content hash and a MinHash signature.
//!
//! They are computed in the core, not in the dedup job, so that a page judged at the edge, in the browser
//! or in bulk carries the very same fingerprint, and a later global dedup can compare them without the
//! text.
//!
//! The exact hash works on a *simplified* text: lower case, every character that is neither
//! alphanumeric nor whitespace removed, whitespace runs collapsed to one space. So it already unites copies
//! that differ only in case, punctuation or spacing.
//!
//! MinHash shingles are cut from a text normalized as datatrove's `simplify_text` with its default
//! `TextNormConfig` (datatrove 0.10.1, `utils/text.py`): lower case, every number (digits, with at most
//! one decimal separator and more digits) replaced by `0`, punctuation turned into spaces, whitespace
//! collapsed, diacritics dropped. Near duplicates often differ only in numbers (page counters, dates,
//! prices) or accents, which must not hide them; the exact hash keeps numbers, since two texts that differ
//! in a number are not the same text.
//!
//! MinHash follows the usual definition (Broder 1997; the LSH banding of Leskovec et al., *Mining of
//! Massive Datasets*, ch. 3): each word `n`-gram (shingle) is hashed to 64 bits with xxh3, and each of
//! `bands * rows` permutations `h -> (a*h + b) mod p`, with `p = 2^61 - 1` and `a`, `b` drawn from the
//! seed, keeps its minimum over the shingles. The product is computed exactly in 128 bits.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

use crate::error::{ConfigError, StepError};
use crate::outcome::Hashes;
use crate::step::{Draft, Step};

const MERSENNE_61: u64 = (1 << 61) - 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// The MinHash shape (Broder 1997) of the `fingerprint` step; defaults of 14 bands x 8 rows over 5-word shingles as in FineWeb (datatrove `MinhashConfig`).
pub struct FingerprintConfig {
    /// Words per shingle.
    pub shingle_size: usize,
    /// LSH bands; two documents become candidates when one whole band agrees.
    pub bands: usize,
    /// Hashes per band.
    pub rows: usize,
    /// Seeds the permutations: signatures are only comparable under the same seed.
    pub seed: u64,
}

impl Default for FingerprintConfig {
    fn default() -> Self {
        Self {
            shingle_size: 5,
            bands: 14,
            rows: 8,
            seed: 1,
        }
    }
}

impl FingerprintConfig {
    /// Checks sizes (each at least 1, at most 4096 hashes in all), naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if self.shingle_size == 0 {
            return Err(ConfigError::new(
                format!("{path}.shingle_size"),
                "must be at least 1",
            ));
        }
        if self.bands == 0 || self.rows == 0 {
            return Err(ConfigError::new(
                format!("{path}.bands"),
                "bands and rows must both be at least 1",
            ));
        }
        if self.bands * self.rows > 4096 {
            return Err(ConfigError::new(
                format!("{path}.rows"),
                format!(
                    "bands * rows = {} is more than 4096 hashes",
                    self.bands * self.rows
                ),
            ));
        }
        Ok(())
    }
}

/// The `fingerprint` step: records [`Hashes`] and never drops a document.
pub struct Fingerprint {
    shingle_size: usize,
    permutations: Vec<(u64, u64)>,
}

impl Fingerprint {
    /// Builds the `fingerprint` step, drawing its permutations from `seed`.
    pub fn new(config: &FingerprintConfig) -> Result<Self, ConfigError> {
        config.validate("fingerprint")?;
        let mut state = config.seed;
        let mut next = || splitmix64(&mut state);
        let permutations = (0..config.bands * config.rows)
            .map(|_| {
                // `a` must be non-zero for the map to be a permutation of the field.
                let a = next() % (MERSENNE_61 - 1) + 1;
                let b = next() % MERSENNE_61;
                (a, b)
            })
            .collect();
        Ok(Self {
            shingle_size: config.shingle_size,
            permutations,
        })
    }

    /// The hashes of a text.
    pub fn hashes(&self, text: &str) -> Hashes {
        let exact = format!("{:032x}", xxh3_128(simplify(text).as_bytes()));
        let shingles = self.shingle_hashes(&shingle_text(text));
        Hashes {
            exact,
            minhash: self.signature(&shingles),
        }
    }

    /// The hash of every distinct shingle, reduced into the field. The normalized text has exactly one space
    /// between words, so a shingle of consecutive words is one slice of it.
    fn shingle_hashes(&self, normalized: &str) -> Vec<u64> {
        let mut starts = Vec::with_capacity(normalized.len() / 4);
        let mut ends = Vec::with_capacity(normalized.len() / 4);
        let mut at = 0;
        for word in normalized.split(' ') {
            if !word.is_empty() {
                starts.push(at);
                ends.push(at + word.len());
            }
            at += word.len() + 1;
        }
        if starts.is_empty() {
            return Vec::new();
        }
        // A text shorter than one shingle is one shingle of all its words.
        let n = self.shingle_size.min(starts.len());
        let mut hashes: Vec<u64> = (0..=starts.len() - n)
            .map(|i| xxh3_64(&normalized.as_bytes()[starts[i]..ends[i + n - 1]]) % MERSENNE_61)
            .collect();
        // The minimum over a set: a repeated shingle cannot change it.
        hashes.sort_unstable();
        hashes.dedup();
        hashes
    }

    /// Each permutation's minimum over the shingle hashes (`u64::MAX` for a text without words). One
    /// permutation at a time over all hashes keeps `a`, `b` and the running minimum in registers.
    fn signature(&self, shingles: &[u64]) -> Vec<u64> {
        self.permutations
            .iter()
            .map(|&(a, b)| {
                shingles
                    .iter()
                    .fold(u64::MAX, |min, &h| min.min(permute(a, b, h)))
            })
            .collect()
    }
}

impl Step for Fingerprint {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        draft.hashes = Some(self.hashes(draft.text()));
        Ok(())
    }
}

/// Lower case, alphanumerics and single spaces only.
pub fn simplify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(c.to_lowercase());
        } else if c.is_whitespace() {
            pending_space = true;
        }
    }
    out
}

/// Characters datatrove accepts between the two digit runs of one number.
fn is_decimal_separator(c: char) -> bool {
    matches!(c, '.' | ',' | '،' | '٫' | '⎖' | '⎗' | '⎘')
}

/// The text shingles are cut from (see the module comment): words of lower-case letters without
/// diacritics, numbers as `0`, single spaces. Rust has no test for the `Nd` category alone, so every
/// numeric character counts as a digit (superscripts and vulgar fractions too).
pub fn shingle_text(text: &str) -> String {
    let lower = text.to_lowercase();
    shingle_chars(lower.chars(), lower.len())
}

/// [`shingle_text`] of text already in lower case.
fn shingle_chars(chars: impl Iterator<Item = char> + Clone, capacity: usize) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut out = String::with_capacity(capacity);
    let mut chars = chars.peekable();
    let mut pending_space = false;
    let push_word_char = |out: &mut String, pending: &mut bool, c: char| {
        if *pending && !out.is_empty() {
            out.push(' ');
        }
        *pending = false;
        out.push(c);
    };
    while let Some(c) = chars.next() {
        if c.is_numeric() {
            while chars.peek().is_some_and(|d| d.is_numeric()) {
                chars.next();
            }
            // One separator followed by digits belongs to the number: 3.14 and 1,5 are one `0`.
            if chars.peek().copied().is_some_and(is_decimal_separator) {
                let mut ahead = chars.clone();
                ahead.next();
                if ahead.peek().is_some_and(|d| d.is_numeric()) {
                    chars.next();
                    while chars.peek().is_some_and(|d| d.is_numeric()) {
                        chars.next();
                    }
                }
            }
            push_word_char(&mut out, &mut pending_space, '0');
        } else if c.is_alphanumeric() {
            if c.is_ascii() {
                push_word_char(&mut out, &mut pending_space, c);
            } else {
                for d in std::iter::once(c).nfd().filter(|d| !is_combining_mark(*d)) {
                    push_word_char(&mut out, &mut pending_space, d);
                }
            }
        } else if is_combining_mark(c) {
            // A mark after its base letter (already decomposed text): dropped like a diacritic.
        } else {
            pending_space = true;
        }
    }
    out
}

/// `(a*h + b) mod (2^61 - 1)` for `a, b, h < 2^61 - 1`, exactly. A 128-bit `%` is a slow library call;
/// for a Mersenne prime the remainder is a fold: `x = hi * 2^61 + lo ≡ hi + lo`.
fn permute(a: u64, b: u64, h: u64) -> u64 {
    let x = a as u128 * h as u128 + b as u128; // < 2^122 + 2^61
    let folded = (x as u64 & MERSENNE_61) as u128 + (x >> 61); // < 2^62
    let folded = (folded as u64 & MERSENNE_61) + (folded >> 61) as u64; // < 2^61 + 2
    if folded >= MERSENNE_61 {
        folded - MERSENNE_61
    } else {
        folded
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, well-mixed generator, enough to derive permutation
/// parameters from a seed identically on every platform.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp() -> Fingerprint {
        Fingerprint::new(&FingerprintConfig::default()).unwrap()
    }

    fn jaccard_estimate(a: &Hashes, b: &Hashes) -> f64 {
        let same = a
            .minhash
            .iter()
            .zip(&b.minhash)
            .filter(|(x, y)| x == y)
            .count();
        same as f64 / a.minhash.len() as f64
    }

    const TEXT: &str = "The quick brown fox jumps over the lazy dog while the farmer sleeps under an old oak \
        tree near the river, dreaming of rain that would finally end the long dry summer in the valley.";

    #[test]
    fn exact_hash_ignores_case_punctuation_and_spacing() {
        let f = fp();
        let a = f.hashes("Hello, World!  How are you?");
        let b = f.hashes("hello world\nhow ARE you");
        assert_eq!(a.exact, b.exact);
        assert_ne!(a.exact, f.hashes("hello world how are we").exact);
        assert_eq!(a.exact.len(), 32);
    }

    #[test]
    fn shingles_ignore_numbers_accents_and_punctuation_like_datatrove() {
        assert_eq!(
            shingle_text("Café No. 42, opened 3.5 years ago (1,000,000 visits)!"),
            "cafe no 0 opened 0 years ago 0 0 visits"
        );
        assert_eq!(shingle_text("don't  Stop"), "don t stop");
        assert_eq!(shingle_text("Ελληνικά ٣٤"), "ελληνικα 0");
        let f = fp();
        assert_eq!(
            f.hashes("Page 1 of the café menu, updated 2019").minhash,
            f.hashes("page 27 of the cafe menu updated 2024").minhash
        );
        assert_ne!(
            f.hashes("Page 1 of the café menu").exact,
            f.hashes("Page 2 of the café menu").exact,
            "the exact hash keeps numbers"
        );
    }

    #[test]
    fn signature_has_bands_times_rows_values() {
        assert_eq!(fp().hashes(TEXT).minhash.len(), 14 * 8);
        let small = Fingerprint::new(&FingerprintConfig {
            bands: 3,
            rows: 2,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(small.hashes(TEXT).minhash.len(), 6);
    }

    #[test]
    fn near_copies_share_most_of_the_signature_and_unrelated_texts_do_not() {
        let f = fp();
        let original = f.hashes(TEXT);
        let edited = f.hashes(&TEXT.replace("lazy", "sleepy"));
        let other = f.hashes("Completely different words about databases, indexes and the cost of random disk seeks.");
        assert!(jaccard_estimate(&original, &edited) > 0.5);
        assert!(jaccard_estimate(&original, &other) < 0.1);
    }

    #[test]
    fn seed_changes_the_signature_but_not_the_exact_hash() {
        let other = Fingerprint::new(&FingerprintConfig {
            seed: 7,
            ..Default::default()
        })
        .unwrap();
        let (a, b) = (fp().hashes(TEXT), other.hashes(TEXT));
        assert_eq!(a.exact, b.exact);
        assert_ne!(a.minhash, b.minhash);
        assert_eq!(fp().hashes(TEXT), a, "same seed, same bytes");
    }

    #[test]
    fn empty_and_tiny_texts_are_fingerprinted() {
        let f = fp();
        assert!(f.hashes("").minhash.iter().all(|&v| v == u64::MAX));
        assert!(
            f.hashes("two words")
                .minhash
                .iter()
                .all(|&v| v < MERSENNE_61)
        );
    }

    /// The signature as first written: every window joined into a new string, every shingle through every
    /// permutation, repeats included.
    fn reference_minhash(f: &Fingerprint, text: &str) -> Vec<u64> {
        let lower = text.to_lowercase();
        let normalized = shingle_chars(lower.chars(), lower.len());
        let words: Vec<&str> = normalized.split(' ').filter(|w| !w.is_empty()).collect();
        let mut minhash = vec![u64::MAX; f.permutations.len()];
        if !words.is_empty() {
            for window in words.windows(f.shingle_size.min(words.len())) {
                let h = xxh3_64(window.join(" ").as_bytes()) % MERSENNE_61;
                for (slot, &(a, b)) in minhash.iter_mut().zip(&f.permutations) {
                    *slot = (*slot).min(permute(a, b, h));
                }
            }
        }
        minhash
    }

    #[test]
    fn signatures_equal_the_shingle_by_shingle_definition() {
        let f = fp();
        let texts = [
            TEXT.to_string(),
            String::new(),
            "one".into(),
            "ΣΊΣΥΦΟΣ ΟΔΥΣΣΕΥΣ. Σ and İstanbul, ǅ".into(),
            format!("{TEXT} {TEXT}\n\n{TEXT}"),
            "Ünïcödé ﬁne ligatures 3.5 and 1,000 ½".into(),
        ];
        for text in &texts {
            assert_eq!(
                f.hashes(text).minhash,
                reference_minhash(&f, text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn mersenne_fold_equals_the_remainder() {
        let mut state = 99;
        let edge = [0, 1, MERSENNE_61 - 1, MERSENNE_61 - 2, 1 << 60];
        for i in 0..10_000 {
            let (a, b, h) = if i < 125 {
                (edge[i % 5], edge[(i / 5) % 5], edge[(i / 25) % 5])
            } else {
                (
                    splitmix64(&mut state) % MERSENNE_61,
                    splitmix64(&mut state) % MERSENNE_61,
                    splitmix64(&mut state) % MERSENNE_61,
                )
            };
            let expected = ((a as u128 * h as u128 + b as u128) % MERSENNE_61 as u128) as u64;
            assert_eq!(permute(a, b, h), expected, "a={a} b={b} h={h}");
        }
    }

    #[test]
    fn bad_shapes_are_rejected_with_their_path() {
        let err = FingerprintConfig {
            shingle_size: 0,
            ..Default::default()
        }
        .validate("fingerprint")
        .unwrap_err();
        assert_eq!(err.path, "fingerprint.shingle_size");
    }
}
