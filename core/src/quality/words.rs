//! Words and sentences as datatrove 0.10.1 sees English text.
//!
//! datatrove's filters count words with `load_word_tokenizer("en")`, which is spaCy's `spacy.blank("en")`
//! tokenizer with a `sentencizer` pipe. Published thresholds (Gopher's 50 words, FineWeb's newline ratio, C4's
//! five sentences) only mean the same thing if the words are split the same way, so this module ports that
//! tokenizer rule for rule rather than approximating it with whitespace:
//!
//! 1. split on runs of whitespace (Python's `str.isspace`), a single `' '` being absorbed by the token before;
//! 2. per chunk, the special cases ("don't" → "do", "n't"; ":)"; "a.m." ...), else peel prefixes and suffixes
//!    until none is left or what is left is a special case;
//! 3. the core is one token if it is a URL, otherwise it is split at infixes (hyphens between letters, `.`
//!    between a lower- and an upper-case letter, ...);
//! 4. spaCy's special-case matcher then merges token runs that spell a special case.
//!
//! The rules themselves are data generated from spaCy by `core/scripts/gen_words_tables.py` into
//! `words_tables.rs` (spaCy is MIT-licensed). Python's `re` has lookbehind and lookahead, which the `regex`
//! crate deliberately lacks (to stay linear-time and build for every wasm target), so each rule is stored as
//! lookbehind / body / lookahead and the lookarounds are checked here by hand: a lookbehind by matching the
//! few characters before the position, a lookahead by making the body capture and requiring the next
//! character.
//!
//! The module also holds the Python string semantics the filters rely on (`isspace`, `strip`, `split`,
//! `splitlines`, `isalpha`), because Rust's notions of whitespace, lines and letters differ at the edges
//! (U+001C..U+001F are spaces to Python, combining marks are alphabetic to Rust).
//!
//! Speed comes from not running regexes where the answer is already known, never from changing a rule: a
//! chunk of only ASCII letters or only ASCII digits is one token unless it is a special case, and each rule
//! is skipped when the characters around the position cannot start, end or precede one of its matches (read
//! from the rule's own pattern). Tests check both shortcuts against the plain regex searches.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use regex::Regex;
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind};

#[rustfmt::skip]
mod tables {
    include!("words_tables.rs");
}

/// Whether `c` is in a sorted table of inclusive code point ranges.
fn in_ranges(table: &[(u32, u32)], c: char) -> bool {
    let c = c as u32;
    table
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
}

/// The ASCII part of a range table as a bit set, computed from the same table at compile time: web text is
/// mostly ASCII, and a bit test is much cheaper than a binary search per character.
const fn ascii_mask(table: &[(u32, u32)]) -> u128 {
    let mut mask = 0u128;
    let mut i = 0;
    while i < table.len() {
        let (lo, hi) = table[i];
        let mut c = lo;
        while c <= hi && c < 128 {
            mask |= 1u128 << c;
            c += 1;
        }
        i += 1;
    }
    mask
}

/// A range table with its ASCII bit set.
struct CharTable {
    ascii: u128,
    ranges: &'static [(u32, u32)],
}

impl CharTable {
    const fn new(ranges: &'static [(u32, u32)]) -> Self {
        Self {
            ascii: ascii_mask(ranges),
            ranges,
        }
    }

    #[inline]
    fn contains(&self, c: char) -> bool {
        if c.is_ascii() {
            self.ascii >> (c as u32) & 1 == 1
        } else {
            in_ranges(self.ranges, c)
        }
    }
}

const PY_SPACE: CharTable = CharTable::new(tables::PY_SPACE);
const PY_ALPHA: CharTable = CharTable::new(tables::PY_ALPHA);
const PUNCT_CATEGORY: CharTable = CharTable::new(tables::PUNCT_CATEGORY);
const DATATROVE_PUNCTUATION: CharTable = CharTable::new(tables::DATATROVE_PUNCTUATION);
const DATATROVE_TERMINAL_PUNCTUATION: CharTable =
    CharTable::new(tables::DATATROVE_TERMINAL_PUNCTUATION);

/// Python's `str.isspace()` for one character.
#[inline]
pub fn is_py_space(c: char) -> bool {
    PY_SPACE.contains(c)
}

/// Python's `str.isalpha()` for one character (general category L*).
#[inline]
pub fn is_py_alpha(c: char) -> bool {
    PY_ALPHA.contains(c)
}

/// Whether `c` is in datatrove's `PUNCTUATION_SET`.
#[inline]
pub fn is_datatrove_punctuation(c: char) -> bool {
    DATATROVE_PUNCTUATION.contains(c)
}

/// Whether `c` is in datatrove's `TERMINAL_PUNCTUATION`.
#[inline]
pub fn is_terminal_punctuation(c: char) -> bool {
    DATATROVE_TERMINAL_PUNCTUATION.contains(c)
}

/// Python's `str.strip()`.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python's `str.split()` without arguments.
pub fn py_split(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_py_space).filter(|w| !w.is_empty())
}

/// Python's `str.splitlines()`: lines end at `\n`, `\r`, `\r\n`, `\v`, `\f`, `\x1c`..`\x1e`, `\x85`,
/// U+2028 and U+2029; no trailing empty line.
pub fn py_splitlines(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if is_break {
            lines.push(&s[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r'
                && let Some(&(j, '\n')) = iter.peek()
            {
                iter.next();
                end = j + 1;
            }
            start = end;
        }
    }
    if start < s.len() {
        lines.push(&s[start..]);
    }
    lines
}

/// Length in Unicode code points, which is what Python's `len` counts.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// rustc's FxHash: one multiply and rotate per eight bytes. The tokenizer's maps hold spaCy's fixed tables and
/// are only looked up with document text, never filled with it, so SipHash's defence against crafted collisions
/// buys nothing there, while it cost a fifth of the tokenizer's time (one lookup per chunk and per token).
#[derive(Debug, Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by strings from a fixed table (see [`FxHasher`]).
type TableMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The characters a pattern's matches can start (or end) with, when that is known: a cheap test that spares
/// most regex searches, since most positions the tokenizer tries cannot start (or end) any rule.
#[derive(Debug, Clone)]
struct EdgeChars {
    ascii: u128,
    ranges: Vec<(char, char)>,
}

impl EdgeChars {
    /// `None` when a match may be empty or the pattern is not understood: then nothing is ruled out.
    fn of(pattern: &str, last: bool) -> Option<Self> {
        let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
        Self::from_class(edge_class(&hir, last)?)
    }

    fn from_class(class: ClassUnicode) -> Option<Self> {
        let ranges: Vec<(char, char)> = class
            .ranges()
            .iter()
            .map(|r| (r.start(), r.end()))
            .collect();
        let mut ascii = 0u128;
        for &(lo, hi) in &ranges {
            for c in (lo as u32)..=(hi as u32).min(127) {
                ascii |= 1u128 << c;
            }
        }
        Some(Self { ascii, ranges })
    }

    #[inline]
    fn contains(&self, c: char) -> bool {
        if c.is_ascii() {
            self.ascii >> (c as u32) & 1 == 1
        } else {
            self.ranges
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
        }
    }
}

/// The characters every non-empty match of `hir` starts (`last` = false) or ends with; `None` when the
/// pattern can match the empty string or its shape is not one handled here.
fn edge_class(hir: &Hir, last: bool) -> Option<ClassUnicode> {
    match hir.kind() {
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0).ok()?;
            let c = if last {
                text.chars().next_back()
            } else {
                text.chars().next()
            }?;
            Some(ClassUnicode::new([ClassUnicodeRange::new(c, c)]))
        }
        HirKind::Class(Class::Unicode(class)) => Some(class.clone()),
        HirKind::Capture(capture) => edge_class(&capture.sub, last),
        HirKind::Repetition(repetition) if repetition.min > 0 => edge_class(&repetition.sub, last),
        HirKind::Concat(items) => {
            let mut parts = items
                .iter()
                .filter(|h| !matches!(h.kind(), HirKind::Look(_)));
            let edge = if last {
                parts.next_back()
            } else {
                parts.next()
            }?;
            if edge.properties().minimum_len() == Some(0) {
                return None;
            }
            edge_class(edge, last)
        }
        HirKind::Alternation(alternatives) => {
            let mut union = ClassUnicode::empty();
            for alternative in alternatives {
                union.union(&edge_class(alternative, last)?);
            }
            Some(union)
        }
        _ => None,
    }
}

/// One affix or infix rule of spaCy, with its lookarounds split off.
#[derive(Debug)]
struct Rule {
    /// Matches (anywhere, ending at the end) the text before the position; `None` when there is no
    /// lookbehind.
    behind: Option<Regex>,
    /// The body anchored at the position. With a lookahead, the body is capture group 1 and the regex also
    /// consumes the character the lookahead requires.
    body: Regex,
    has_ahead: bool,
    /// Longest body in characters; 0 when unbounded.
    width: usize,
    /// What the character before the position must be for the lookbehind to match.
    behind_last: Option<EdgeChars>,
    /// What the body's first character must be.
    first: Option<EdgeChars>,
    /// What the text's last character must be, for end-anchored rules without lookahead.
    last: Option<EdgeChars>,
}

impl Rule {
    fn new((behind, body, ahead, width): (&str, &str, &str, usize), anchor_end: bool) -> Self {
        let behind_last = (!behind.is_empty())
            .then(|| EdgeChars::of(behind, true))
            .flatten();
        let behind = (!behind.is_empty()).then(|| compile(&format!("(?:{behind})$")));
        let tail = if anchor_end { "$" } else { "" };
        let first = EdgeChars::of(body, false);
        let last = (anchor_end && ahead.is_empty())
            .then(|| EdgeChars::of(body, true))
            .flatten();
        let (body, has_ahead) = match ahead.split_at_checked(1) {
            Some(("+", class)) => (compile(&format!("^({body}){class}{tail}")), true),
            Some(("-", class)) => {
                let negated = class.replacen('[', "[^", 1);
                (compile(&format!("^({body})(?:{negated}|$){tail}")), true)
            }
            _ => (compile(&format!("^(?:{body}){tail}")), false),
        };
        Self {
            behind,
            body,
            has_ahead,
            width,
            behind_last,
            first,
            last,
        }
    }

    /// Whether the characters around `at` rule a match out without running a regex.
    #[inline]
    fn ruled_out(&self, s: &str, at: usize) -> bool {
        if let Some(first) = &self.first
            && !s[at..].chars().next().is_some_and(|c| first.contains(c))
        {
            return true;
        }
        if let Some(last) = &self.last
            && !s.chars().next_back().is_some_and(|c| last.contains(c))
        {
            return true;
        }
        if let Some(before) = &self.behind_last
            && !s[..at]
                .chars()
                .next_back()
                .is_some_and(|c| before.contains(c))
        {
            return true;
        }
        false
    }

    /// End (byte offset in `s`) of this rule's match starting at byte `at`, if it matches there.
    fn match_at(&self, s: &str, at: usize) -> Option<usize> {
        if self.ruled_out(s, at) {
            return None;
        }
        self.search_at(s, at)
    }

    /// [`Self::match_at`] by the regexes alone.
    fn search_at(&self, s: &str, at: usize) -> Option<usize> {
        if let Some(behind) = &self.behind {
            // Python lookbehinds are fixed-width and these are at most two characters: the last few
            // characters decide.
            let before = &s[..at];
            let from = before.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
            if !behind.is_match(&before[from..]) {
                return None;
            }
        }
        let rest = &s[at..];
        if self.has_ahead {
            let caps = self.body.captures(rest)?;
            caps.get(1).map(|m| at + m.end())
        } else {
            self.body.find(rest).map(|m| at + m.end())
        }
    }
}

/// Whether a whitespace-free chunk that is not a special case is certainly one token: all ASCII letters, or
/// all ASCII digits. By the rules in `words_tables.rs`: no prefix starts with such a character (the currency
/// prefixes "US$", "C$" and "A$" need a `$`); a suffix ending in one needs an apostrophe ("'s") or a digit
/// followed by a unit ("5km"), so a letters-only and a digits-only chunk both have none; every infix holds
/// punctuation or a symbol; and a URL needs a dot. Seven chunks in ten of English web text take this path
/// instead of a dozen regex searches.
fn is_plain_word(chunk: &str) -> bool {
    let bytes = chunk.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() => bytes.iter().all(u8::is_ascii_alphabetic),
        Some(b) if b.is_ascii_digit() => bytes.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// Whether no suffix rule can match at the end of `s`, by its last character: no suffix ends in an ASCII
/// digit, and one ending in an ASCII letter is either "'s" / "’s" (any case of s) or a unit after a digit.
fn cannot_end_in_suffix(s: &str) -> bool {
    let bytes = s.as_bytes();
    match bytes.last() {
        Some(b) if b.is_ascii_digit() => true,
        Some(b) if b.is_ascii_alphabetic() => {
            let apostrophe_s = matches!(b, b's' | b'S')
                && (s[..s.len() - 1].ends_with('\'') || s[..s.len() - 1].ends_with('\u{2019}'));
            !apostrophe_s && !bytes.iter().any(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// The tables are generated and covered by tests, so a failure here is a bug in the generator, never a
/// property of any input.
fn compile(pattern: &str) -> Regex {
    match Regex::new(pattern) {
        Ok(re) => re,
        Err(e) => panic!("generated tokenizer table does not compile: {e}"),
    }
}

/// The one English tokenizer of the process, built on first use.
///
/// Building it compiles spaCy's rule tables (a few milliseconds); every step and every pipeline shares this
/// copy instead of compiling its own. It is immutable once built and derived only from the tables compiled
/// into the crate, so sharing it keeps the core free of state that could make two runs differ.
pub fn english() -> &'static EnglishTokenizer {
    static ENGLISH: std::sync::OnceLock<EnglishTokenizer> = std::sync::OnceLock::new();
    ENGLISH.get_or_init(EnglishTokenizer::new)
}

/// spaCy's English tokenizer and sentencizer, as datatrove uses them. Build once and reuse: building compiles
/// the rule tables (see [`english`]).
#[derive(Debug)]
pub struct EnglishTokenizer {
    /// In rule order; consecutive rules without lookarounds share one regex (leftmost-first alternation keeps
    /// Python's first-rule-wins order).
    prefixes: Vec<Rule>,
    /// Suffix rules without lookarounds, as one end-anchored alternation: only the leftmost start matters.
    suffix_plain: Regex,
    /// The characters `suffix_plain` matches can end with.
    suffix_plain_last: Option<EdgeChars>,
    suffix_behind: Vec<Rule>,
    infixes: Vec<Rule>,
    url_host: Regex,
    url_ip: Regex,
    url_private: Vec<Regex>,
    specials: TableMap<&'static str, &'static [&'static str]>,
    /// Token sequences spaCy's special-case matcher looks for, by their first token.
    matcher: TableMap<&'static str, Vec<&'static [&'static str]>>,
    /// The sentencizer's punctuation, sorted for binary search, with its ASCII part as a bit set.
    sentence_punct: Vec<char>,
    sentence_punct_ascii: u128,
}

impl Default for EnglishTokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl EnglishTokenizer {
    /// Compiles the rule tables; costly, so share one (see [`english`]).
    pub fn new() -> Self {
        let mut prefixes = Vec::new();
        let mut plain: Vec<&str> = Vec::new();
        let flush = |plain: &mut Vec<&str>, prefixes: &mut Vec<Rule>| {
            if !plain.is_empty() {
                let body = plain
                    .iter()
                    .map(|p| format!("(?:{p})"))
                    .collect::<Vec<_>>()
                    .join("|");
                prefixes.push(Rule::new(("", &body, "", 0), false));
                plain.clear();
            }
        };
        for &(behind, body, ahead, width) in tables::PREFIXES {
            if behind.is_empty() && ahead.is_empty() {
                plain.push(body);
            } else {
                flush(&mut plain, &mut prefixes);
                prefixes.push(Rule::new((behind, body, ahead, width), false));
            }
        }
        flush(&mut plain, &mut prefixes);

        let mut suffix_plain = Vec::new();
        let mut suffix_behind = Vec::new();
        for &(behind, body, ahead, width) in tables::SUFFIXES {
            if behind.is_empty() && ahead.is_empty() {
                suffix_plain.push(format!("(?:{body})"));
            } else {
                suffix_behind.push(Rule::new((behind, body, ahead, width), true));
            }
        }
        let suffix_plain = suffix_plain.join("|");
        let suffix_plain_last = EdgeChars::of(&suffix_plain, true);
        let suffix_plain = compile(&format!("(?:{suffix_plain})$"));
        let infixes = tables::INFIXES
            .iter()
            .map(|&rule| Rule::new(rule, false))
            .collect();

        let mut specials = TableMap::default();
        let mut matcher: TableMap<&'static str, Vec<&'static [&'static str]>> = TableMap::default();
        for &(key, pieces, pattern) in tables::SPECIALS {
            specials.insert(key, pieces);
            if let Some(first) = pattern.first() {
                matcher.entry(*first).or_default().push(pattern);
            }
        }
        let mut sentence_punct = tables::SENTENCE_PUNCT.to_vec();
        sentence_punct.sort_unstable();
        let sentence_punct_ascii = sentence_punct
            .iter()
            .filter(|c| c.is_ascii())
            .fold(0u128, |mask, &c| mask | 1u128 << (c as u32));
        Self {
            prefixes,
            suffix_plain,
            suffix_plain_last,
            suffix_behind,
            infixes,
            url_host: compile(tables::URL_HOST),
            url_ip: compile(tables::URL_IP),
            url_private: tables::URL_IP_PRIVATE.iter().map(|p| compile(p)).collect(),
            specials,
            matcher,
            sentence_punct,
            sentence_punct_ascii,
        }
    }

    /// datatrove's `split_into_words(text, "en")`: spaCy's tokens without the whitespace tokens.
    pub fn words<'t>(&self, text: &'t str) -> Vec<&'t str> {
        self.word_spans(text)
            .into_iter()
            .map(|(a, b)| &text[a..b])
            .collect()
    }

    /// [`Self::words`] as byte spans of `text`.
    pub fn word_spans(&self, text: &str) -> Vec<(usize, usize)> {
        let mut spans = self.token_spans(text);
        spans.retain(|&(a, b)| !py_strip(&text[a..b]).is_empty());
        spans
    }

    /// datatrove's `len(split_into_sentences(text, "en"))`: the number of sentences spaCy's sentencizer
    /// finds, and 1 for a text without tokens (datatrove's span arithmetic returns one empty part then).
    ///
    /// A sentence starts at a token that follows a one-character token of sentence punctuation and is not
    /// punctuation itself. So when no character after the first sentence-punctuation character is anything
    /// but punctuation (a line with one sentence, ending in `.` or `?!"`), the count is 1 without tokenizing:
    /// every token after that character is all punctuation, and every token before it comes before any
    /// period was seen.
    pub fn count_sentences(&self, text: &str) -> usize {
        let Some((i, c)) = text
            .char_indices()
            .find(|&(_, c)| self.is_sentence_punct(c))
        else {
            return 1;
        };
        if text[i + c.len_utf8()..]
            .chars()
            .all(|c| PUNCT_CATEGORY.contains(c))
        {
            return 1;
        }
        self.count_sentences_by_tokens(text)
    }

    /// [`Self::count_sentences`] token by token, as spaCy's sentencizer does.
    fn count_sentences_by_tokens(&self, text: &str) -> usize {
        let mut count = 1;
        let mut seen_period = false;
        for (a, b) in self.token_spans(text) {
            let token = &text[a..b];
            let mut chars = token.chars();
            let in_punct_chars = match (chars.next(), chars.next()) {
                (Some(c), None) => self.is_sentence_punct(c),
                _ => false,
            };
            if seen_period && !in_punct_chars && !token.chars().all(|c| PUNCT_CATEGORY.contains(c))
            {
                count += 1;
                seen_period = false;
            } else if in_punct_chars {
                seen_period = true;
            }
        }
        count
    }

    fn is_sentence_punct(&self, c: char) -> bool {
        if c.is_ascii() {
            self.sentence_punct_ascii >> (c as u32) & 1 == 1
        } else {
            self.sentence_punct.binary_search(&c).is_ok()
        }
    }

    /// Every token spaCy makes of `text`, whitespace tokens included, as slices of `text`.
    pub fn tokens<'t>(&self, text: &'t str) -> Vec<&'t str> {
        self.token_spans(text)
            .into_iter()
            .map(|(a, b)| &text[a..b])
            .collect()
    }

    /// [`Self::tokens`] as byte spans of `text`.
    fn token_spans(&self, text: &str) -> Vec<(usize, usize)> {
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(text.len() / 5);
        let Some(first) = text.chars().next() else {
            return spans;
        };
        let mut in_ws = is_py_space(first);
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if is_py_space(c) != in_ws {
                if start < i {
                    self.tokenize_chunk(text, start, i, &mut spans);
                }
                start = if c == ' ' { i + 1 } else { i };
                in_ws = !in_ws;
            }
        }
        if start < text.len() {
            self.tokenize_chunk(text, start, text.len(), &mut spans);
        }
        self.apply_special_matcher(text, &mut spans);
        spans
    }

    fn push_special(&self, pieces: &[&str], mut at: usize, out: &mut Vec<(usize, usize)>) {
        for piece in pieces {
            out.push((at, at + piece.len()));
            at += piece.len();
        }
    }

    fn tokenize_chunk(&self, text: &str, lo: usize, hi: usize, out: &mut Vec<(usize, usize)>) {
        let chunk = &text[lo..hi];
        if let Some(pieces) = self.specials.get(chunk) {
            self.push_special(pieces, lo, out);
            return;
        }
        if is_plain_word(chunk) {
            out.push((lo, hi));
            return;
        }
        // The affix loop of spaCy's `_split_affixes`, on byte offsets [a, b) of `text`.
        let (mut a, mut b) = (lo, hi);
        let mut prefixes: Vec<(usize, usize)> = Vec::new();
        let mut suffixes: Vec<(usize, usize)> = Vec::new();
        let mut last_size = 0;
        while a < b && b - a != last_size {
            let s = &text[a..b];
            if self.specials.contains_key(s) {
                break;
            }
            last_size = b - a;
            let pre_len = self.find_prefix(s);
            if pre_len != 0 && pre_len < s.len() && self.specials.contains_key(&s[pre_len..]) {
                prefixes.push((a, a + pre_len));
                a += pre_len;
                break;
            }
            let suf_len = self.find_suffix(&s[pre_len..]);
            if suf_len != 0
                && suf_len < s.len()
                && self.specials.contains_key(&s[..s.len() - suf_len])
            {
                suffixes.push((b - suf_len, b));
                b -= suf_len;
                break;
            }
            if pre_len != 0 && suf_len != 0 && pre_len + suf_len <= s.len() {
                prefixes.push((a, a + pre_len));
                suffixes.push((b - suf_len, b));
                a += pre_len;
                b -= suf_len;
            } else if pre_len != 0 {
                prefixes.push((a, a + pre_len));
                a += pre_len;
            } else if suf_len != 0 {
                suffixes.push((b - suf_len, b));
                b -= suf_len;
            }
        }
        out.extend(prefixes);
        if a < b {
            let core = &text[a..b];
            if let Some(pieces) = self.specials.get(core) {
                self.push_special(pieces, a, out);
            } else if self.is_url(core) {
                out.push((a, b));
            } else {
                let mut start = 0;
                for (infix_start, infix_end) in self.find_infixes(core) {
                    // spaCy skips an infix at the very start of the core.
                    if infix_start == 0 {
                        continue;
                    }
                    if infix_start != start {
                        out.push((a + start, a + infix_start));
                    }
                    if infix_start != infix_end {
                        out.push((a + infix_start, a + infix_end));
                    }
                    start = infix_end;
                }
                if start < core.len() {
                    out.push((a + start, b));
                }
            }
        }
        out.extend(suffixes.into_iter().rev());
    }

    /// Byte length of the prefix to split off, 0 for none.
    fn find_prefix(&self, s: &str) -> usize {
        // Every prefix rule starts with a character other than an ASCII letter or digit, except the currency
        // prefixes "US$", "C$" and "A$".
        if let Some(&first) = s.as_bytes().first()
            && first.is_ascii_alphanumeric()
            && !matches!(first, b'U' | b'C' | b'A')
        {
            return 0;
        }
        self.match_prefix(s)
    }

    /// [`Self::find_prefix`] by the regexes alone.
    fn match_prefix(&self, s: &str) -> usize {
        self.prefixes
            .iter()
            .find_map(|rule| rule.match_at(s, 0))
            .unwrap_or(0)
    }

    /// Byte length of the suffix to split off, 0 for none: Python's `search` of an end-anchored alternation
    /// finds the leftmost start, whichever rule matches there.
    fn find_suffix(&self, s: &str) -> usize {
        if cannot_end_in_suffix(s) {
            return 0;
        }
        self.match_suffix(s)
    }

    /// [`Self::find_suffix`] by the regexes alone.
    fn match_suffix(&self, s: &str) -> usize {
        let Some(last) = s.chars().next_back() else {
            return 0;
        };
        let mut best = match &self.suffix_plain_last {
            Some(ends) if !ends.contains(last) => None,
            _ => self.suffix_plain.find(s).map(|m| m.start()),
        };
        for rule in &self.suffix_behind {
            if rule.last.as_ref().is_some_and(|ends| !ends.contains(last)) {
                continue;
            }
            let limit = best.unwrap_or(s.len());
            let first = if rule.width == 0 {
                0
            } else {
                s.char_indices()
                    .rev()
                    .nth(rule.width - 1)
                    .map_or(0, |(i, _)| i)
            };
            if first >= limit {
                continue;
            }
            for (i, _) in s[first..limit].char_indices() {
                let at = first + i;
                if rule.match_at(s, at).is_some() {
                    best = Some(at);
                    break;
                }
            }
        }
        best.map_or(0, |start| s.len() - start)
    }

    /// Python's `finditer` over the alternation of the infix rules: at each position the first rule that
    /// matches wins, and the scan resumes after it.
    fn find_infixes(&self, s: &str) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        let mut pos = 0;
        while pos < s.len() {
            let mut hit = None;
            for (i, c) in s[pos..].char_indices() {
                if c.is_ascii_alphanumeric() {
                    continue; // no infix rule starts with an ASCII letter or digit
                }
                let at = pos + i;
                if let Some(end) = self.infixes.iter().find_map(|rule| rule.match_at(s, at)) {
                    hit = Some((at, end));
                    break;
                }
            }
            let Some((at, end)) = hit else { break };
            found.push((at, end));
            pos = if end > at {
                end
            } else {
                at + s[at..].chars().next().map_or(1, char::len_utf8)
            };
        }
        found
    }

    /// spaCy's `URL_MATCH`. Its lookaheads only exclude private and loopback addresses from the IP branch,
    /// so that branch is matched on its own and the excluded ranges tested where the address starts.
    fn is_url(&self, s: &str) -> bool {
        if !s.contains('.') {
            return false; // both branches need a dot
        }
        if self.url_host.is_match(s) {
            return true;
        }
        match self.url_ip.captures(s).and_then(|c| c.name("ip")) {
            Some(ip) => !self
                .url_private
                .iter()
                .any(|re| re.is_match(&s[ip.start()..])),
            None => false,
        }
    }

    /// spaCy's `_apply_special_cases`: runs of tokens that spell a special case's affix-only tokenization are
    /// replaced by the special case's tokens, longest runs first.
    fn apply_special_matcher(&self, text: &str, spans: &mut Vec<(usize, usize)>) {
        let mut matches: Vec<(usize, usize)> = Vec::new();
        for i in 0..spans.len() {
            let (a, b) = spans[i];
            let Some(patterns) = self.matcher.get(&text[a..b]) else {
                continue;
            };
            for pattern in patterns {
                let end = i + pattern.len();
                if end <= spans.len()
                    && pattern
                        .iter()
                        .zip(&spans[i..end])
                        .all(|(p, &(x, y))| *p == &text[x..y])
                    && !matches.contains(&(i, end))
                {
                    matches.push((i, end));
                }
            }
        }
        if matches.is_empty() {
            return;
        }
        // Longest first, then leftmost; a match is kept unless its first or last token is already taken,
        // and every match marks its tokens as taken either way.
        matches.sort_by(|x, y| (y.1 - y.0).cmp(&(x.1 - x.0)).then(x.0.cmp(&y.0)));
        let mut seen = vec![false; spans.len()];
        let mut kept = Vec::new();
        for (start, end) in matches {
            if !seen[start] && !seen[end - 1] {
                kept.push((start, end));
            }
            for flag in &mut seen[start..end] {
                *flag = true;
            }
        }
        kept.sort_unstable();
        let mut out = Vec::with_capacity(spans.len());
        let mut i = 0;
        let mut next = kept.into_iter().peekable();
        while i < spans.len() {
            match next.peek() {
                Some(&(start, end)) if start == i => {
                    next.next();
                    let (a, b) = (spans[start].0, spans[end - 1].1);
                    match self.specials.get(&text[a..b]) {
                        Some(pieces) => self.push_special(pieces, a, &mut out),
                        None => out.extend_from_slice(&spans[start..end]),
                    }
                    i = end;
                }
                _ => {
                    out.push(spans[i]);
                    i += 1;
                }
            }
        }
        *spans = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        EnglishTokenizer::new().words(text)
    }

    #[test]
    fn contractions_and_punctuation_split_like_spacy() {
        assert_eq!(
            words("Don't stop, (it's \"fine\")."),
            [
                "Do", "n't", "stop", ",", "(", "it", "'s", "\"", "fine", "\"", ")", "."
            ]
        );
        assert_eq!(words("I can't."), ["I", "ca", "n't", "."]);
    }

    #[test]
    fn infixes_split_hyphens_between_letters_only() {
        // "a." is one of spaCy's special cases; "b.C" is split at the period.
        assert_eq!(
            words("well-known 2-3 a.B ab.Cd x/y"),
            [
                "well", "-", "known", "2", "-", "3", "a.", "B", "ab", ".", "Cd", "x", "/", "y"
            ]
        );
    }

    #[test]
    fn urls_stay_whole_but_private_addresses_do_not_count_as_urls() {
        assert_eq!(
            words("see https://example.com/a-b?c=d."),
            ["see", "https://example.com/a-b?c=d", "."]
        );
        assert_eq!(words("www.example.org"), ["www.example.org"]);
        assert_eq!(
            words("http://10.0.0.1/x 8.8.8.8"),
            ["http://10.0.0.1", "/", "x", "8.8.8.8"]
        );
    }

    #[test]
    fn abbreviations_keep_their_period() {
        assert_eq!(
            words("at 5 a.m. on U.S. soil"),
            ["at", "5", "a.m.", "on", "U.S.", "soil"]
        );
    }

    #[test]
    fn units_and_currency_split_from_numbers() {
        assert_eq!(words("5km $10 10$"), ["5", "km", "$", "10", "10", "$"]);
    }

    #[test]
    fn whitespace_is_never_a_word_but_extra_spaces_are_tokens() {
        let t = EnglishTokenizer::new();
        assert_eq!(t.tokens("a  b\n"), ["a", " ", "b", "\n"]);
        assert_eq!(t.words("a  b\n"), ["a", "b"]);
        assert!(t.words("").is_empty());
    }

    #[test]
    fn sentences_start_after_terminal_punctuation() {
        let t = EnglishTokenizer::new();
        assert_eq!(t.count_sentences("One. Two! Three?"), 3);
        assert_eq!(t.count_sentences("Wait... what?!\" he said."), 2);
        assert_eq!(t.count_sentences("No end"), 1);
    }

    #[test]
    fn the_one_sentence_shortcut_agrees_with_the_sentencizer() {
        let t = EnglishTokenizer::new();
        let mut lines = strings_over(b"a .!?\"')");
        lines.extend(strings_over(b"Ab. ?"));
        lines.extend(
            [
                "It ended.",
                "It ended. ",
                "It ended.\"",
                "Why?!",
                "One. Two",
                "U.S. troops",
                "3.5 kg.",
                "Wait... what?!\" he said.",
                "Stop.  ",
                "A.\u{a0}B",
                "Hi。 Then",
                "end ...)",
            ]
            .map(String::from),
        );
        for line in &lines {
            assert_eq!(
                t.count_sentences(line),
                t.count_sentences_by_tokens(line),
                "{line:?}"
            );
        }
    }

    #[test]
    fn python_string_semantics() {
        assert_eq!(py_splitlines("a\r\nb\rc\u{2028}d\n"), ["a", "b", "c", "d"]);
        assert_eq!(py_splitlines("a\n\nb"), ["a", "", "b"]);
        assert_eq!(py_strip("\u{1c} x \u{a0}"), "x");
        assert_eq!(
            py_split(" a\u{1f}b  c ").collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert!(is_py_alpha('é') && !is_py_alpha('\u{301}') && !is_py_alpha('1'));
        assert!(is_datatrove_punctuation('.') && !is_datatrove_punctuation('a'));
    }

    /// Strings over `alphabet`, every length up to 3 and a spread of longer ones, made deterministically.
    fn strings_over(alphabet: &[u8]) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut level = vec![String::new()];
        for _ in 0..3 {
            level = level
                .iter()
                .flat_map(|p| alphabet.iter().map(move |&c| format!("{p}{}", c as char)))
                .collect();
            out.extend(level.iter().cloned());
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = 4 + (state % 9) as usize;
            let word = (0..len)
                .map(|i| alphabet[((state >> (i * 5)) as usize) % alphabet.len()] as char)
                .collect();
            out.push(word);
        }
        out
    }

    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"0123456789";

    #[test]
    fn plain_words_are_single_tokens_by_the_regexes_too() {
        let t = EnglishTokenizer::new();
        for alphabet in [LETTERS, DIGITS] {
            for w in strings_over(alphabet).iter().filter(|w| !w.is_empty()) {
                assert!(is_plain_word(w));
                assert_eq!(t.match_prefix(w), 0, "{w}");
                assert_eq!(t.match_suffix(w), 0, "{w}");
                assert!(t.find_infixes(w).iter().all(|&(a, _)| a == 0), "{w}");
                assert!(!t.is_url(w), "{w}");
            }
        }
        assert!(!is_plain_word("ab1") && !is_plain_word("") && !is_plain_word("é"));
    }

    #[test]
    fn affix_shortcuts_agree_with_the_regexes() {
        let t = EnglishTokenizer::new();
        let mixed = [LETTERS, DIGITS, b"$'.,-+%".as_slice()].concat();
        let mut words = strings_over(b"UCAus$'0k1m.");
        words.extend(strings_over(&mixed));
        words.extend(
            [
                "5km", "US$", "C$5", "A$", "it's", "IT’S", "10kg", "x2m", "'s", "5°C.", "’S",
            ]
            .map(String::from),
        );
        for w in &words {
            assert_eq!(t.find_prefix(w), t.match_prefix(w), "prefix of {w:?}");
            assert_eq!(t.find_suffix(w), t.match_suffix(w), "suffix of {w:?}");
        }
    }

    #[test]
    fn ascii_bit_sets_agree_with_their_tables() {
        for c in (0u8..128).map(char::from) {
            assert_eq!(is_py_space(c), in_ranges(tables::PY_SPACE, c), "{c:?}");
            assert_eq!(is_py_alpha(c), in_ranges(tables::PY_ALPHA, c), "{c:?}");
            assert_eq!(
                is_datatrove_punctuation(c),
                in_ranges(tables::DATATROVE_PUNCTUATION, c)
            );
            assert_eq!(
                is_terminal_punctuation(c),
                in_ranges(tables::DATATROVE_TERMINAL_PUNCTUATION, c)
            );
            assert_eq!(
                PUNCT_CATEGORY.contains(c),
                in_ranges(tables::PUNCT_CATEGORY, c)
            );
        }
        assert!(is_py_space('\u{1f}') && is_py_space(' ') && !is_py_space('a'));
    }

    #[test]
    fn edge_characters_come_from_the_pattern() {
        let first = EdgeChars::of(r"(?:ab|c)d+", false).unwrap();
        assert!(first.contains('a') && first.contains('c') && !first.contains('b'));
        let last = EdgeChars::of(r"(?:ab|c)d+", true).unwrap();
        assert!(last.contains('d') && !last.contains('a'));
        assert!(EdgeChars::of(r"x?", false).is_none());
        assert!(EdgeChars::of(r"(?:a|b*)", true).is_none());
        let accented = EdgeChars::of(r"[é-ë]", false).unwrap();
        assert!(accented.contains('ê') && !accented.contains('e'));
    }

    #[test]
    fn ruling_a_rule_out_never_drops_a_match() {
        let t = EnglishTokenizer::new();
        let mut words = strings_over(b"a1.-$'/:,+A");
        words.extend(
            [
                "5km", "US$5", "it's", "e.g.", "5°C.", "a…b", "x--y", "ab,cd", "3*4", "a/b", "«x»",
                "10€", "α-β",
            ]
            .map(String::from),
        );
        let rules = t.prefixes.iter().chain(&t.suffix_behind).chain(&t.infixes);
        for rule in rules {
            for w in &words {
                for (at, _) in w.char_indices() {
                    if rule.ruled_out(w, at) {
                        assert_eq!(rule.search_at(w, at), None, "{rule:?} at {at} of {w:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        let t = EnglishTokenizer::new();
        for text in [
            "\u{0}",
            "...",
            "—",
            "((((",
            "'s",
            "😀😀.",
            "a\u{301}.b",
            " ",
            "\u{a0}",
            ":)",
            "e.g..",
        ] {
            let _ = t.words(text);
            let _ = t.count_sentences(text);
        }
    }
}
