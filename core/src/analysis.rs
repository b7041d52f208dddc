//! The shared reading of one text: words, lines, sentences and character counts, computed once per text
//! version and only when a step asks for them.
//!
//! Several steps read a document the same way: Gopher quality, Gopher repetition and FineWeb all count
//! datatrove's (spaCy's) words, the heuristics and the quality score both split on whitespace and count
//! sentences. Each used to tokenize the text on its own, so the most expensive pass of the chain ran three
//! times per document. An [`Analysis`] caches each reading the first time a step asks for it; the
//! [`Draft`](crate::step::Draft) that owns it drops the cache when a step rewrites the text, so a reading can
//! never describe an older version of the text.
//!
//! Readings are stored as byte spans, not as `&str`, because the cache lives beside the text it describes;
//! [`Text`] turns them back into slices.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;

use crate::quality::words::{self, py_splitlines};

/// A byte range of the text.
pub type Span = (usize, usize);

/// The cached readings of one text version. Empty until a step asks.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    words: OnceCell<Vec<Span>>,
    lines: OnceCell<Vec<Span>>,
    whitespace_words: OnceCell<Vec<Span>>,
    sentence_word_counts: OnceCell<Vec<usize>>,
    lowercase_word_ids: OnceCell<Vec<u32>>,
    chars: OnceCell<CharCounts>,
}

/// Character classes of a text, counted in one pass (Rust's notions of whitespace and alphanumerics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CharCounts {
    /// Code points, which is what Python's `len` counts.
    pub chars: usize,
    /// `\n` characters; FineWeb's `new_line_ratio` counts these.
    pub newlines: usize,
    /// Code points that are not `char::is_whitespace`.
    pub non_whitespace: usize,
    /// Non-whitespace code points that are `char::is_alphanumeric`.
    pub alphanumeric: usize,
}

impl CharCounts {
    /// One pass over `text`; ASCII bytes are classified without decoding.
    pub fn of(text: &str) -> Self {
        let mut counts = CharCounts::default();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii() {
                counts.chars += 1;
                counts.newlines += usize::from(b == b'\n');
                // `char::is_whitespace` on ASCII: \t \n \v \f \r and space.
                if !matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ') {
                    counts.non_whitespace += 1;
                    counts.alphanumeric += usize::from(b.is_ascii_alphanumeric());
                }
                i += 1;
            } else {
                let rest = &text[i..];
                let c = rest.chars().next().unwrap_or(' ');
                counts.chars += 1;
                if !c.is_whitespace() {
                    counts.non_whitespace += 1;
                    counts.alphanumeric += usize::from(c.is_alphanumeric());
                }
                i += c.len_utf8();
            }
        }
        counts
    }
}

impl Analysis {
    /// Reads `text` through this cache. The caller guarantees the cache belongs to this text version.
    pub fn of<'a>(&'a self, text: &'a str) -> Text<'a> {
        Text { text, cache: self }
    }
}

/// A text and its cached readings, as a step sees them.
#[derive(Debug, Clone, Copy)]
pub struct Text<'a> {
    text: &'a str,
    cache: &'a Analysis,
}

impl<'a> Text<'a> {
    /// The whole text, with the lifetime of the draft rather than of this view.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// datatrove's `split_into_words(text, "en")`: spaCy's English tokens without the whitespace tokens.
    pub fn words(&self) -> Spans<'a> {
        self.spans(&self.cache.words, || words::english().word_spans(self.text))
    }

    /// Python's `str.splitlines()`.
    pub fn lines(&self) -> Spans<'a> {
        self.spans(&self.cache.lines, || {
            py_splitlines(self.text)
                .into_iter()
                .map(|l| span_of(self.text, l))
                .collect()
        })
    }

    /// Rust's `split_whitespace`: the words of tamis's own heuristics and quality score.
    pub fn whitespace_words(&self) -> Spans<'a> {
        self.spans(&self.cache.whitespace_words, || {
            self.text
                .split_whitespace()
                .map(|w| span_of(self.text, w))
                .collect()
        })
    }

    /// Words per sentence in tamis's own sense (see [`sentence_word_counts`]).
    pub fn sentence_word_counts(&self) -> &'a [usize] {
        self.cache
            .sentence_word_counts
            .get_or_init(|| sentence_word_counts(self.text))
    }

    /// Mean words per sentence; 0 for a text without words.
    pub fn avg_sentence_words(&self) -> f64 {
        let counts = self.sentence_word_counts();
        if counts.is_empty() {
            0.0
        } else {
            counts.iter().sum::<usize>() as f64 / counts.len() as f64
        }
    }

    /// The [`Self::whitespace_words`], lower-cased and numbered by first appearance: equal ids are equal
    /// lower-case words. Rules that compare words (repeated n-grams, type-token ratios) compare and count
    /// these small integers instead of hashing and lower-casing strings again and again.
    pub fn lowercase_word_ids(&self) -> &'a [u32] {
        self.cache.lowercase_word_ids.get_or_init(|| {
            let words = self.whitespace_words();
            let mut ids: HashMap<Cow<'a, str>, u32> = HashMap::with_capacity(words.len() / 2);
            words
                .iter()
                .map(|w| {
                    let next = ids.len() as u32;
                    *ids.entry(lowercase(w)).or_insert(next)
                })
                .collect()
        })
    }

    /// The character class counts, computed on first use and cached.
    pub fn char_counts(&self) -> CharCounts {
        *self.cache.chars.get_or_init(|| CharCounts::of(self.text))
    }

    fn spans(&self, cell: &'a OnceCell<Vec<Span>>, make: impl FnOnce() -> Vec<Span>) -> Spans<'a> {
        Spans {
            text: self.text,
            spans: cell.get_or_init(make),
        }
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        self.text
    }
}

/// The byte span of `part`, a slice of `text`.
fn span_of(text: &str, part: &str) -> Span {
    let start = part.as_ptr() as usize - text.as_ptr() as usize;
    (start, start + part.len())
}

/// Slices of one text, cached as spans.
#[derive(Debug, Clone, Copy)]
pub struct Spans<'a> {
    text: &'a str,
    spans: &'a [Span],
}

impl<'a> Spans<'a> {
    /// How many slices there are.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no slices.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The `i`-th slice, if there is one.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        self.spans.get(i).map(|&(a, b)| &self.text[a..b])
    }

    /// The slices in order, as `&str`.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = &'a str> + ExactSizeIterator + Clone + 'a {
        let text = self.text;
        self.spans.iter().map(move |&(a, b)| &text[a..b])
    }

    /// The slices, collected; for code that needs random access to `&str`s.
    pub fn to_vec(&self) -> Vec<&'a str> {
        self.iter().collect()
    }
}

/// `str::to_lowercase`, borrowing the word when it is already lower-case ASCII, as most words are.
pub fn lowercase(word: &str) -> Cow<'_, str> {
    if !word.is_ascii() {
        Cow::Owned(word.to_lowercase())
    } else if word.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(word.to_ascii_lowercase())
    } else {
        Cow::Borrowed(word)
    }
}

/// Sentences as word counts: a word (whitespace-separated) ending in `.`, `!`, `?` or their full-width forms
/// ends a sentence, and so does a line end; empty sentences are skipped.
pub fn sentence_word_counts(text: &str) -> Vec<usize> {
    let mut counts = Vec::new();
    let mut current = 0usize;
    for line in text.split('\n') {
        for word in line.split_whitespace() {
            current += 1;
            if word.ends_with(['.', '!', '?', '。', '！', '？']) {
                counts.push(current);
                current = 0;
            }
        }
        if current > 0 {
            counts.push(current);
            current = 0;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_counts_match_the_char_by_char_definition() {
        for text in [
            "",
            "a b\nc",
            "Café\u{2028}ü 12 ½\t\n",
            "日本語のテキスト。\r\n",
            "\u{a0}x\u{3000}",
        ] {
            let chars: Vec<char> = text.chars().collect();
            let expected = CharCounts {
                chars: chars.len(),
                newlines: chars.iter().filter(|&&c| c == '\n').count(),
                non_whitespace: chars.iter().filter(|c| !c.is_whitespace()).count(),
                alphanumeric: chars
                    .iter()
                    .filter(|c| !c.is_whitespace() && c.is_alphanumeric())
                    .count(),
            };
            assert_eq!(CharCounts::of(text), expected, "{text:?}");
        }
    }

    #[test]
    fn readings_are_slices_of_the_text() {
        let cache = Analysis::default();
        let text = cache.of("Don't stop.\n  Two lines here");
        assert_eq!(
            text.words().to_vec(),
            ["Do", "n't", "stop", ".", "Two", "lines", "here"]
        );
        assert_eq!(text.lines().to_vec(), ["Don't stop.", "  Two lines here"]);
        assert_eq!(text.whitespace_words().len(), 5);
        assert_eq!(text.sentence_word_counts(), [2, 3]);
        assert_eq!(text.avg_sentence_words(), 2.5);
        assert_eq!(
            Analysis::default().of("A b a B c").lowercase_word_ids(),
            [0, 1, 0, 1, 2]
        );
    }

    #[test]
    fn lowercasing_borrows_only_what_is_already_lower_case() {
        assert!(matches!(lowercase("river"), Cow::Borrowed("river")));
        assert_eq!(lowercase("RiVer"), "river");
        assert_eq!(lowercase("ÉTÉ"), "été");
        assert_eq!(lowercase("İ"), "İ".to_lowercase());
    }
}
