//! fastText's dictionary: its words and labels, and how a line of text becomes rows of the input matrix.
//!
//! Facts from facebookresearch/fastText `src/dictionary.cc` (`Dictionary::load`, `readWord`, `getLine`,
//! `hash`, `computeSubwords`, `addSubwords`, `addWordNgrams`, `pushHash`):
//!
//! - Words are split on the bytes `' '`, `'\n'`, `'\r'`, `'\t'`, `'\v'`, `'\f'` and `'\0'`. A newline met
//!   between words is itself a token, the end-of-sentence word `</s>`, and a line ends after it.
//! - A word found in the dictionary contributes its own row and the rows of its character n-grams
//!   (precomputed, `initNgrams`); a word not found contributes only its n-grams; a word of the label type
//!   (`__label__…`) contributes nothing.
//! - Character n-grams are taken from `<` + word + `>`, `minn` to `maxn` characters long (UTF-8
//!   continuation bytes do not start a character), except the 1-grams `<` and `>`; each is hashed with
//!   32-bit FNV-1a over the bytes *sign-extended* (as `int8_t`, which is how the released models were
//!   trained) into `bucket` rows after the words.
//! - Word n-grams (`wordNgrams > 1`) combine the FNV hashes of consecutive tokens, each sign-extended
//!   from 32 bits (`getLine` keeps them as `int32_t`), `h = h * 116049371 + next` in 64 bits, into the same
//!   buckets.
//! - A quantized model may have pruned its buckets: `pruneidx` maps a kept bucket to its new row, and a
//!   bucket not in the map contributes nothing.

use std::collections::HashMap;

use super::ModelError;
use super::reader::Reader;

/// The end-of-sentence word a newline becomes.
pub(super) const EOS: &str = "</s>";
/// The prefix that makes a token a label (fastText's default `-label`; the option is not saved in the
/// model, so every model uses the default).
pub(super) const LABEL_PREFIX: &str = "__label__";

/// What a dictionary entry is (`entry_type` in fastText, one byte in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryType {
    Word,
    Label,
}

/// The subset of fastText's `Args` the dictionary needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct HashingArgs {
    pub word_ngrams: i32,
    pub bucket: i32,
    pub minn: i32,
    pub maxn: i32,
}

/// A loaded dictionary.
pub(super) struct Dictionary {
    words: Vec<Vec<u8>>,
    types: Vec<EntryType>,
    counts: Vec<i64>,
    nwords: usize,
    nlabels: usize,
    /// fastText's open-addressing table from FNV hash to entry (`word2int_`), sized `ceil(size / 0.7)`.
    word2int: Vec<i32>,
    /// `-1` when the model was never pruned; otherwise the number of kept buckets.
    pruneidx_size: i64,
    pruneidx: HashMap<i32, i32>,
    /// Rows of each word: its own and its character n-grams (`entry::subwords`), flattened.
    subwords: Vec<i32>,
    subword_ranges: Vec<(u32, u32)>,
    args: HashingArgs,
}

impl Dictionary {
    /// Reads the dictionary part of a model file (`Dictionary::load`).
    pub(super) fn load(r: &mut Reader<'_>, args: HashingArgs) -> Result<Self, ModelError> {
        let size = r.i32("dictionary size")?;
        let nwords = r.i32("dictionary word count")?;
        let nlabels = r.i32("dictionary label count")?;
        let _ntokens = r.i64("dictionary token count")?;
        let pruneidx_size = r.i64("dictionary pruned bucket count")?;
        let size = Reader::count(size.into(), "dictionary size")?;
        let nwords = Reader::count(nwords.into(), "dictionary word count")?;
        let nlabels = Reader::count(nlabels.into(), "dictionary label count")?;
        if nwords.checked_add(nlabels) != Some(size) {
            return Err(ModelError::new(format!(
                "dictionary: {nwords} words + {nlabels} labels != {size} entries"
            )));
        }
        // Each entry takes at least a NUL, a count and a type byte: check before allocating.
        if size.saturating_mul(10) > r.remaining() {
            return Err(ModelError::new(format!(
                "truncated: dictionary of {size} entries is longer than the {} bytes left",
                r.remaining()
            )));
        }
        let mut words = Vec::with_capacity(size);
        let mut types = Vec::with_capacity(size);
        let mut counts = Vec::with_capacity(size);
        for i in 0..size {
            words.push(r.c_string("dictionary word")?.to_vec());
            counts.push(r.i64("dictionary word count")?);
            let ty = match r.u8("dictionary entry type")? {
                0 => EntryType::Word,
                1 => EntryType::Label,
                other => {
                    return Err(ModelError::new(format!(
                        "dictionary entry {i}: type byte {other} is neither word (0) nor label (1)"
                    )));
                }
            };
            // fastText sorts the entries words first, then labels (`Dictionary::threshold`), and finds
            // label `i` at entry `nwords + i`.
            let expected = if i < nwords {
                EntryType::Word
            } else {
                EntryType::Label
            };
            if ty != expected {
                return Err(ModelError::new(format!(
                    "dictionary entry {i}: a {ty:?} where the header says the {expected:?}s are"
                )));
            }
            types.push(ty);
        }
        let mut pruneidx = HashMap::new();
        if pruneidx_size > 0 {
            let n = Reader::count(pruneidx_size, "dictionary pruned bucket count")?;
            if n.saturating_mul(8) > r.remaining() {
                return Err(ModelError::new(format!(
                    "truncated: {n} pruned buckets are longer than the {} bytes left",
                    r.remaining()
                )));
            }
            for _ in 0..n {
                let from = r.i32("pruned bucket")?;
                let to = r.i32("pruned bucket row")?;
                if from < 0 || to < 0 {
                    return Err(ModelError::new(format!(
                        "pruned bucket {from} -> {to}: negative index"
                    )));
                }
                pruneidx.insert(from, to);
            }
        } else if pruneidx_size < -1 {
            return Err(ModelError::new(format!(
                "dictionary pruned bucket count {pruneidx_size} is neither -1 nor a count"
            )));
        }
        if (args.maxn > 0 || args.word_ngrams > 1) && args.bucket <= 0 {
            return Err(ModelError::new(format!(
                "the model hashes n-grams (maxn {}, wordNgrams {}) into {} buckets",
                args.maxn, args.word_ngrams, args.bucket
            )));
        }
        let mut dict = Self {
            words,
            types,
            counts,
            nwords,
            nlabels,
            word2int: Vec::new(),
            pruneidx_size,
            pruneidx,
            subwords: Vec::new(),
            subword_ranges: Vec::new(),
            args,
        };
        dict.init_ngrams();
        let table = (size as f64 / 0.7).ceil() as usize;
        dict.word2int = vec![-1; table];
        for i in 0..size {
            let word = &dict.words[i];
            let slot = dict.find(word, hash(word));
            dict.word2int[slot] = i as i32;
        }
        Ok(dict)
    }

    /// Number of words (rows before the buckets).
    pub(super) fn nwords(&self) -> usize {
        self.nwords
    }

    /// Number of labels.
    pub(super) fn nlabels(&self) -> usize {
        self.nlabels
    }

    /// The label with index `i`, as written in the model (`__label__en`).
    pub(super) fn label(&self, i: usize) -> Option<&[u8]> {
        self.words.get(self.nwords + i).map(Vec::as_slice)
    }

    /// How often each label was seen in training: the hierarchical softmax builds its tree from these.
    pub(super) fn label_counts(&self) -> &[i64] {
        &self.counts[self.nwords..]
    }

    /// The largest input row a token can reach, to check the input matrix against.
    pub(super) fn rows_needed(&self) -> usize {
        let buckets = match self.pruneidx_size {
            -1 if self.args.maxn > 0 || self.args.word_ngrams > 1 => self.args.bucket as usize,
            -1 => 0,
            _ => self
                .pruneidx
                .values()
                .map(|&v| v as usize + 1)
                .max()
                .unwrap_or(0),
        };
        self.nwords + buckets
    }

    /// The slot of `word` in the open-addressing table (`Dictionary::find`).
    fn find(&self, word: &[u8], h: u32) -> usize {
        let n = self.word2int.len();
        let mut id = h as usize % n;
        loop {
            let entry = self.word2int[id];
            if entry == -1 || self.words[entry as usize] == word {
                return id;
            }
            id = (id + 1) % n;
        }
    }

    /// The entry of `word`, if it is in the dictionary.
    fn id(&self, word: &[u8], h: u32) -> Option<usize> {
        if self.word2int.is_empty() {
            return None;
        }
        let entry = self.word2int[self.find(word, h)];
        usize::try_from(entry).ok()
    }

    /// Appends bucket `id` as a row, through the pruning map when there is one (`pushHash`).
    fn push_hash(&self, rows: &mut Vec<i32>, id: i32) {
        if self.pruneidx_size == 0 || id < 0 {
            return;
        }
        let id = if self.pruneidx_size > 0 {
            match self.pruneidx.get(&id) {
                Some(&to) => to,
                None => return,
            }
        } else {
            id
        };
        rows.push(self.nwords as i32 + id);
    }

    /// The character n-gram rows of `<word>` (`computeSubwords`).
    fn compute_subwords(&self, word: &[u8], rows: &mut Vec<i32>) {
        let maxn = self.args.maxn.max(0) as usize;
        let minn = self.args.minn.max(0) as usize;
        let bucket = self.args.bucket as u32;
        for (i, &first) in word.iter().enumerate() {
            if first & 0xC0 == 0x80 {
                continue;
            }
            let mut j = i;
            let mut n = 1;
            while j < word.len() && n <= maxn {
                j += 1;
                while j < word.len() && word[j] & 0xC0 == 0x80 {
                    j += 1;
                }
                if n >= minn && !(n == 1 && (i == 0 || j == word.len())) {
                    self.push_hash(rows, (hash(&word[i..j]) % bucket) as i32);
                }
                n += 1;
            }
        }
    }

    /// Each entry's own row followed by its n-gram rows (`initNgrams`).
    fn init_ngrams(&mut self) {
        let mut all = Vec::new();
        let mut ranges = Vec::with_capacity(self.words.len());
        let mut bracketed = Vec::new();
        for (i, word) in self.words.iter().enumerate() {
            let start = all.len();
            all.push(i as i32);
            if word != EOS.as_bytes() && self.args.maxn > 0 {
                bracketed.clear();
                bracketed.push(b'<');
                bracketed.extend_from_slice(word);
                bracketed.push(b'>');
                self.compute_subwords(&bracketed, &mut all);
            }
            ranges.push((start as u32, all.len() as u32));
        }
        self.subwords = all;
        self.subword_ranges = ranges;
    }

    /// The input rows of one line of `text`, as `Dictionary::getLine` reads it from a stream that holds
    /// `text` followed by a newline (what fastText's `predict` hands it): the tokens up to and including
    /// the first end-of-sentence, each word's rows, then the word n-gram rows.
    pub(super) fn line_rows(&self, text: &[u8], rows: &mut Vec<i32>) {
        rows.clear();
        let mut hashes: Vec<u32> = Vec::new();
        let mut bracketed = Vec::new();
        for token in Tokens::new(text) {
            let h = hash(token);
            let wid = self.id(token, h);
            let is_word = match wid {
                Some(w) => self.types[w] == EntryType::Word,
                None => !token.starts_with(LABEL_PREFIX.as_bytes()),
            };
            if is_word {
                match wid {
                    None if token != EOS.as_bytes() => {
                        bracketed.clear();
                        bracketed.push(b'<');
                        bracketed.extend_from_slice(token);
                        bracketed.push(b'>');
                        self.compute_subwords(&bracketed, rows);
                    }
                    None => {}
                    Some(w) if self.args.maxn <= 0 => rows.push(w as i32),
                    Some(w) => {
                        let (start, end) = self.subword_ranges[w];
                        rows.extend_from_slice(&self.subwords[start as usize..end as usize]);
                    }
                }
                hashes.push(h);
            }
            if token == EOS.as_bytes() {
                break;
            }
        }
        self.add_word_ngrams(rows, &hashes);
    }

    /// Rows of the word n-grams, 2 to `wordNgrams` tokens long (`addWordNgrams`).
    fn add_word_ngrams(&self, rows: &mut Vec<i32>, hashes: &[u32]) {
        let n = self.args.word_ngrams.max(0) as usize;
        let bucket = self.args.bucket.max(1) as u64;
        // fastText keeps the token hashes in a `std::vector<int32_t>`, so each is sign-extended on its way
        // into the 64-bit n-gram hash.
        let widen = |h: u32| h as i32 as i64 as u64;
        for (i, &first) in hashes.iter().enumerate() {
            let mut h = widen(first);
            for &next in hashes.iter().take(i + n).skip(i + 1) {
                h = h.wrapping_mul(116_049_371).wrapping_add(widen(next));
                self.push_hash(rows, (h % bucket) as i32);
            }
        }
    }
}

/// fastText's 32-bit FNV-1a over the bytes taken as *signed* chars (`Dictionary::hash`): the released
/// models were trained on a compiler where `char` is signed, and fastText fixed the hash that way.
pub(super) fn hash(bytes: &[u8]) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for &b in bytes {
        h ^= b as i8 as i32 as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// The tokens of `text` followed by a newline, as `Dictionary::readWord` reads them, up to the first
/// end-of-sentence (which `getLine` stops after).
pub(super) struct Tokens<'a> {
    text: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Tokens<'a> {
    pub(super) fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            pos: 0,
            done: false,
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0B | 0x0C | 0)
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        // Skip separators; a newline met before a word is the end-of-sentence token.
        while self.pos < self.text.len() && is_space(self.text[self.pos]) {
            if self.text[self.pos] == b'\n' {
                self.pos += 1;
                self.done = true;
                return Some(EOS.as_bytes());
            }
            self.pos += 1;
        }
        if self.pos == self.text.len() {
            // The newline fastText's `predict` appends.
            self.done = true;
            return Some(EOS.as_bytes());
        }
        let start = self.pos;
        while self.pos < self.text.len() && !is_space(self.text[self.pos]) {
            self.pos += 1;
        }
        Some(&self.text[start..self.pos])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<&str> {
        Tokens::new(text.as_bytes())
            .map(|t| std::str::from_utf8(t).unwrap())
            .collect()
    }

    #[test]
    fn tokens_split_on_fasttext_whitespace_and_stop_at_the_first_newline() {
        assert_eq!(tokens("a b\tc"), ["a", "b", "c", "</s>"]);
        assert_eq!(tokens("  a\x0bb\x0c\rc\0d "), ["a", "b", "c", "d", "</s>"]);
        assert_eq!(tokens("first line\nsecond"), ["first", "line", "</s>"]);
        assert_eq!(tokens("\nsecond"), ["</s>"]);
        assert_eq!(tokens(""), ["</s>"]);
        // A literal `</s>` ends the line too, as in getLine.
        assert_eq!(tokens("a </s> b").len(), 4);
    }

    #[test]
    fn fnv_hash_sign_extends_bytes_as_fasttext_does() {
        // FNV-1a of the empty string is its offset basis; ASCII bytes hash as in plain FNV-1a.
        assert_eq!(hash(b""), 2_166_136_261);
        assert_eq!(hash(b"a"), 0xE40C_292C);
        // A byte >= 0x80 is XORed sign-extended (0xFFFFFFC3 for 0xC3), unlike plain FNV-1a.
        let plain = (2_166_136_261u32 ^ 0xC3).wrapping_mul(16_777_619);
        let signed = (2_166_136_261u32 ^ 0xFFFF_FFC3).wrapping_mul(16_777_619);
        assert_eq!(hash(&[0xC3]), signed);
        assert_ne!(signed, plain);
    }
}
