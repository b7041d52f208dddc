//! A shorter road to the same ids for byte-level BPE tokenizers (GPT-2, GPT-NeoX, RoBERTa, ...).
//!
//! Hugging Face's `tokenizers` builds, for every piece of every text, a `NormalizedString` with a
//! per-byte alignment table, the piece's byte-level mapped copy, and one `Token` with its own `String` per
//! id. A profile of `tamis tokenize` on the web dev set showed about 40 % of the time in the allocator, and
//! the split itself runs through `fancy-regex`'s backtracking VM, because GPT-2's pattern has a look-ahead
//! (`\s+(?!\S)`) that the `regex` crate does not support.
//!
//! This path keeps the library for everything that decides ids: added tokens and the normalizer
//! ([`tokenizers::AddedVocabulary::extract_and_normalize`], the very call `Tokenizer::encode` starts with)
//! and the BPE merges (`BPE::tokenize`). What it replaces:
//! - the split, by [`Gpt2Split`], a scanner over GPT-2's pattern
//!   (`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, from
//!   `openai/gpt-2` `src/encoder.py`), with the letter and number classes read from `regex-syntax`'s
//!   Unicode tables and white space as Unicode's `White_Space`, which is what Oniguruma (the Python
//!   package's engine) means by `\s`;
//! - the per-piece work, by a cache from a piece's bytes to its ids: web text repeats its words, so most
//!   pieces never reach the byte mapping or the merges at all.
//!
//! It applies only where it gives the library's ids by construction ([`FastPath::for_tokenizer`]): a
//! `ByteLevel` pre-tokenizer with the regex and without a prefix space, a BPE model without dropout, and no
//! truncation or padding. Every other tokenizer takes the library's own `encode`. Tests hold the two roads
//! equal on the web dev set, and equal to the Python package in `host/tests/all/tokenize.rs`.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use tokenizers::models::ModelWrapper;
use tokenizers::models::bpe::BPE;
use tokenizers::{Model, OffsetReferential, OffsetType, PreTokenizerWrapper, Tokenizer};
use xxhash_rust::xxh3::Xxh3Builder;

/// Pieces whose ids are kept; the cache starts over when full, so memory stays bounded on any input.
/// Ids do not depend on what is cached, only speed does.
const CACHE_ENTRIES: usize = 1 << 16;

/// The pieces longer than this are not cached: a long run of one class (a base64 blob) is rarely seen twice.
const CACHE_PIECE_BYTES: usize = 64;

/// The fast path for one tokenizer: its BPE model and the id cache.
pub(super) struct FastPath {
    cache: Mutex<HashMap<Box<str>, Box<[u32]>, Xxh3Builder>>,
}

impl FastPath {
    /// The fast path when `tokenizer` has the shape it reproduces exactly; `None` for every other.
    pub(super) fn for_tokenizer(tokenizer: &Tokenizer) -> Option<Self> {
        let byte_level = match tokenizer.get_pre_tokenizer()? {
            PreTokenizerWrapper::ByteLevel(b) => b,
            _ => return None,
        };
        if !byte_level.use_regex || byte_level.add_prefix_space {
            return None;
        }
        bpe(tokenizer)?;
        if tokenizer.get_truncation().is_some() || tokenizer.get_padding().is_some() {
            return None;
        }
        Some(Self {
            cache: Mutex::new(HashMap::with_hasher(Xxh3Builder::new())),
        })
    }

    /// The ids of `text` without special tokens added, equal to `tokenizer.encode(text, false)`'s.
    pub(super) fn encode(&self, tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>, String> {
        let bpe = bpe(tokenizer).ok_or("the tokenizer's model is not a BPE")?;
        let pieces = tokenizer
            .get_added_vocabulary()
            .extract_and_normalize(tokenizer.get_normalizer(), text);
        let classes = classes();
        let mut ids = Vec::with_capacity(text.len() / 3);
        let mut mapped = String::new();
        // One lock per text, not per piece. Each engine owns its own encoder, so this is uncontended.
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        for (split, _, tokens) in pieces.get_splits(OffsetReferential::Normalized, OffsetType::None)
        {
            if let Some(tokens) = tokens {
                ids.extend(tokens.iter().map(|t| t.id));
                continue;
            }
            for piece in Gpt2Split::new(split, classes) {
                if let Some(hit) = cache.get(piece) {
                    ids.extend_from_slice(hit);
                    continue;
                }
                mapped.clear();
                mapped.extend(piece.bytes().map(|b| BYTE_CHARS[usize::from(b)]));
                let tokens = bpe
                    .tokenize(&mapped)
                    .map_err(|e| format!("tokenizer failed: {e}"))?;
                let start = ids.len();
                ids.extend(tokens.iter().map(|t| t.id));
                if piece.len() <= CACHE_PIECE_BYTES {
                    if cache.len() >= CACHE_ENTRIES {
                        cache.clear();
                    }
                    cache.insert(piece.into(), ids[start..].into());
                }
            }
        }
        Ok(ids)
    }
}

fn bpe(tokenizer: &Tokenizer) -> Option<&BPE> {
    match tokenizer.get_model() {
        ModelWrapper::BPE(bpe) if bpe.dropout.is_none_or(|p| p == 0.0) => Some(bpe),
        _ => None,
    }
}

/// GPT-2's byte-to-character table (`bytes_to_unicode` in `openai/gpt-2` `src/encoder.py`): the printable
/// bytes `!`..=`~`, `¡`..=`¬` and `®`..=`ÿ` stand for themselves; the other 68 bytes, in increasing order,
/// take the characters from U+0100 on.
static BYTE_CHARS: [char; 256] = byte_chars();

const fn byte_chars() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    let mut b = 0usize;
    while b < 256 {
        let printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        let code = if printable {
            b as u32
        } else {
            next += 1;
            next - 1
        };
        table[b] = match char::from_u32(code) {
            Some(c) => c,
            None => '\0',
        };
        b += 1;
    }
    table
}

/// The four classes GPT-2's pattern tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// `\p{L}`.
    Letter,
    /// `\p{N}`.
    Number,
    /// `\s`: Unicode `White_Space`.
    Space,
    /// `[^\s\p{L}\p{N}]`.
    Other,
}

/// Character classes: a table for ASCII, `regex-syntax`'s Unicode ranges beyond it.
pub(super) struct Classes {
    ascii: [Class; 128],
    letters: Vec<(char, char)>,
    numbers: Vec<(char, char)>,
}

fn classes() -> &'static Classes {
    static CLASSES: OnceLock<Classes> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let letters = unicode_ranges(r"\p{L}");
        let numbers = unicode_ranges(r"\p{N}");
        let mut ascii = [Class::Other; 128];
        for (b, class) in ascii.iter_mut().enumerate() {
            let c = b as u8 as char;
            *class = classify(c, &letters, &numbers);
        }
        Classes {
            ascii,
            letters,
            numbers,
        }
    })
}

fn classify(c: char, letters: &[(char, char)], numbers: &[(char, char)]) -> Class {
    let within = |ranges: &[(char, char)]| {
        ranges
            .binary_search_by(|&(lo, hi)| {
                if hi < c {
                    std::cmp::Ordering::Less
                } else if lo > c {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
    };
    if c.is_whitespace() {
        Class::Space
    } else if within(letters) {
        Class::Letter
    } else if within(numbers) {
        Class::Number
    } else {
        Class::Other
    }
}

/// The sorted ranges of a Unicode class as `regex-syntax` defines it.
fn unicode_ranges(class: &str) -> Vec<(char, char)> {
    use regex_syntax::hir::{Class as HirClass, HirKind};
    let hir = regex_syntax::Parser::new()
        .parse(class)
        .expect("a Unicode class regex-syntax knows");
    match hir.kind() {
        HirKind::Class(HirClass::Unicode(set)) => {
            set.ranges().iter().map(|r| (r.start(), r.end())).collect()
        }
        other => unreachable!("{class} parsed as {other:?}"),
    }
}

impl Classes {
    #[inline]
    fn of(&self, c: char) -> Class {
        if c.is_ascii() {
            self.ascii[c as usize]
        } else {
            classify(c, &self.letters, &self.numbers)
        }
    }
}

/// The pieces of a text under GPT-2's pattern, in order, covering it whole: the matches of a leftmost-first
/// search, which is how both Oniguruma and `fancy-regex` run the alternation.
pub(super) struct Gpt2Split<'a> {
    rest: &'a str,
    classes: &'a Classes,
}

impl<'a> Gpt2Split<'a> {
    pub(super) fn new(text: &'a str, classes: &'a Classes) -> Self {
        Self {
            rest: text,
            classes,
        }
    }

    /// Byte length of the piece at the start of `self.rest` (not empty).
    fn piece_len(&self) -> usize {
        let s = self.rest;
        let bytes = s.as_bytes();
        let first = s.chars().next().expect("piece_len on a non-empty text");
        // 's 't 're 've 'm 'll 'd, tried first and case-sensitive, as the pattern lists them.
        if first == '\'' {
            match (bytes.get(1), bytes.get(2)) {
                (Some(b's' | b't' | b'm' | b'd'), _) => return 2,
                (Some(b'r' | b'v'), Some(b'e')) | (Some(b'l'), Some(b'l')) => return 3,
                _ => {}
            }
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: one optional space (U+0020 only), then a run.
        let (class, run_start) = if first == ' ' {
            match s[1..].chars().next().map(|c| self.classes.of(c)) {
                Some(class) if class != Class::Space => (class, 1),
                _ => (Class::Space, 0),
            }
        } else {
            (self.classes.of(first), 0)
        };
        if class != Class::Space {
            return run_start + self.run_len(&s[run_start..], class);
        }
        // `\s+(?!\S)` then `\s+`: the whole run of white space when the text ends there, else the run but its
        // last character (which then starts the next piece, as " word" or alone), unless the run is that one
        // character.
        let mut last = 0;
        let mut count = 0usize;
        let mut end = s.len();
        for (i, c) in s.char_indices() {
            if !c.is_whitespace() {
                end = i;
                break;
            }
            last = i;
            count += 1;
        }
        if end < s.len() && count >= 2 {
            last
        } else {
            end
        }
    }

    /// Byte length of the run of `class` at the start of `s` (at least one character).
    fn run_len(&self, s: &str, class: Class) -> usize {
        s.char_indices()
            .find(|&(_, c)| self.classes.of(c) != class)
            .map_or(s.len(), |(i, _)| i)
    }
}

impl<'a> Iterator for Gpt2Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let len = self.piece_len();
        let (piece, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(piece)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        Gpt2Split::new(text, classes()).collect()
    }

    /// The same pieces as GPT-2's regex run by `fancy-regex` (the engine `tokenizers` uses without
    /// Oniguruma), on real web text and on the cases the look-ahead decides.
    #[test]
    fn pieces_equal_the_regex_matches() {
        let re = fancy_regex::Regex::new(
            r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
        )
        .unwrap();
        let regex_split = |text: &str| -> Vec<String> {
            re.find_iter(text)
                .map(|m| m.unwrap().as_str().to_string())
                .collect()
        };
        let mut texts: Vec<String> = [
            "",
            " ",
            "a   b",
            "a \n\n b",
            "end   ",
            "x\n",
            "I'm he'll they're we've it's 'S ''s",
            " 'tis  ?'s",
            "12,345.6 ½ Ⅻ ٣٤",
            "naïve café — «quoted» 東京タワー\u{3000}x\u{a0}y",
            "\t\t\tindent\r\n\r\nnext",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let dev = super::super::tests::web_dev_texts();
        texts.extend(dev.into_iter().take(300));
        for text in &texts {
            let ours: Vec<&str> = split(text);
            assert_eq!(ours.concat(), *text, "pieces cover the text");
            assert_eq!(
                ours,
                regex_split(text),
                "pieces of {:?}",
                &text[..text.len().min(80)]
            );
        }
    }

    #[test]
    fn byte_table_is_gpt2s() {
        assert_eq!(BYTE_CHARS[b'A' as usize], 'A');
        assert_eq!(BYTE_CHARS[b' ' as usize], 'Ġ');
        assert_eq!(BYTE_CHARS[b'\n' as usize], 'Ċ');
        assert_eq!(BYTE_CHARS[0xAD], 'Ń');
        let distinct: std::collections::HashSet<char> = BYTE_CHARS.iter().copied().collect();
        assert_eq!(distinct.len(), 256);
    }
}
