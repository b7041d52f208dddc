//! Token ids for training: each kept document becomes the ids a model reads, with the model's own
//! tokenizer, framed the way a trainer expects (optional BOS, the text, EOS) and cut at a maximum length.
//!
//! The `tokens` step (`tokens.rs`) only counts; `tamis tokenize` needs the ids themselves. The same rule
//! holds: the core never reads a file, so the runtime hands over the bytes of the `tokenizer.json`. GPT-2's
//! own release has no `tokenizer.json`, only `vocab.json` (OpenAI's `encoder.json`) and `merges.txt`
//! (`vocab.bpe`); [`gpt2_tokenizer_json`] turns that pair into the `tokenizer.json` Hugging Face builds from
//! it, so every tokenizer reaches the sandbox the same way.
//!
//! Texts are encoded without the tokenizer's own special tokens around them (Python:
//! `Tokenizer.encode_batch(texts, add_special_tokens=False)`): the frame is [`frame`]'s, one rule for
//! every tokenizer. Added tokens that appear literally in a text (`<|endoftext|>` in a web page) are still
//! matched as those tokens, as Hugging Face does with `add_special_tokens=False`.

use serde::{Deserialize, Serialize};
use tokenizers::AddedToken;
use tokenizers::Tokenizer;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

use crate::error::ConfigError;

mod bytelevel;

/// The `[tokenize]` section: what `tamis tokenize` reads, how it frames each document, and how it lays out
/// the Megatron-LM indexed dataset it writes. Paths are relative to the config file and read by the
/// runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenizeConfig {
    /// Files, directories or globs of kept records; `io.input` when empty.
    pub input: Vec<String>,
    /// Output folder of the `.bin` / `.idx` pairs.
    pub output: String,
    /// A Hugging Face `tokenizer.json`; `tokens.tokenizer` when neither this nor `vocab`/`merges` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
    /// GPT-2 style byte-level BPE: `vocab.json` (token -> id), with `merges`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vocab: Option<String>,
    /// GPT-2 style byte-level BPE: `merges.txt`, with `vocab`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merges: Option<String>,
    /// The record field holding the text; `io.text_key` when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_key: Option<String>,
    /// The token appended to every document; by default the tokenizer's end-of-text token
    /// ([`EOS_CANDIDATES`]), and required when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eos: Option<String>,
    /// A token put before every document (none by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bos: Option<String>,
    /// Shuffle the documents with this seed (the same seed, the same order); input order when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shuffle_seed: Option<u64>,
    /// The longest document written, BOS and EOS included; a longer one is cut (and counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Tokens per output file: documents are never split, so a file closes before the document that would
    /// take it past this count. One file when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_tokens: Option<u64>,
}

impl Default for TokenizeConfig {
    fn default() -> Self {
        Self {
            input: Vec::new(),
            output: "TOKENS".into(),
            tokenizer: None,
            vocab: None,
            merges: None,
            text_key: None,
            eos: None,
            bos: None,
            shuffle_seed: None,
            max_tokens: None,
            shard_tokens: None,
        }
    }
}

impl TokenizeConfig {
    /// Checks the section on its own, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if self.output.is_empty() {
            return Err(ConfigError::new(
                format!("{path}.output"),
                "expected a folder name, got an empty string",
            ));
        }
        match (&self.tokenizer, &self.vocab, &self.merges) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(ConfigError::new(
                    format!("{path}.tokenizer"),
                    "give either `tokenizer` (a tokenizer.json) or `vocab` and `merges`, not both",
                ));
            }
            (None, Some(_), None) => {
                return Err(ConfigError::new(
                    format!("{path}.merges"),
                    "`vocab` needs `merges` (the merges.txt beside it)",
                ));
            }
            (None, None, Some(_)) => {
                return Err(ConfigError::new(
                    format!("{path}.vocab"),
                    "`merges` needs `vocab` (the vocab.json beside it)",
                ));
            }
            _ => {}
        }
        if self.max_tokens == Some(0) {
            return Err(ConfigError::new(
                format!("{path}.max_tokens"),
                "expected at least 1 token, got 0",
            ));
        }
        if self.shard_tokens == Some(0) {
            return Err(ConfigError::new(
                format!("{path}.shard_tokens"),
                "expected at least 1 token, got 0",
            ));
        }
        Ok(())
    }
}

/// End-of-text tokens looked up, in order, when the config names none: GPT-2 / GPT-NeoX / Pythia's
/// `<|endoftext|>`, Llama 3's `<|end_of_text|>`, then the SentencePiece-era `</s>`.
pub const EOS_CANDIDATES: [&str; 3] = ["<|endoftext|>", "<|end_of_text|>", "</s>"];

/// A loaded tokenizer that turns texts into ids.
pub struct Encoder {
    tokenizer: Tokenizer,
    /// The byte-level BPE road to the same ids, when the tokenizer has that shape (see `bytelevel.rs`).
    fast: Option<bytelevel::FastPath>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("ids", &self.id_space())
            .field("fast", &self.fast.is_some())
            .finish()
    }
}

impl Encoder {
    /// Loads the bytes of a Hugging Face `tokenizer.json`.
    pub fn new(tokenizer_json: &[u8]) -> Result<Self, ConfigError> {
        let tokenizer = Tokenizer::from_bytes(tokenizer_json).map_err(|e| {
            ConfigError::new("tokenizer", format!("not a usable tokenizer.json: {e}"))
        })?;
        let fast = bytelevel::FastPath::for_tokenizer(&tokenizer);
        Ok(Self { tokenizer, fast })
    }

    /// The ids of `text`, without special tokens added around it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        match &self.fast {
            Some(fast) => fast.encode(&self.tokenizer, text),
            None => self.encode_with_library(text),
        }
    }

    /// [`Encoder::encode`] through the library's whole `encode`: the road for every tokenizer the fast
    /// path does not reproduce, and the reference it is tested against.
    fn encode_with_library(&self, text: &str) -> Result<Vec<u32>, String> {
        // `encode_fast` skips the character offsets, which ids do not need; the ids are `encode`'s.
        self.tokenizer
            .encode_fast(text, false)
            .map(|encoding| encoding.get_ids().to_vec())
            .map_err(|e| format!("tokenizer failed: {e}"))
    }

    /// [`Encoder::encode`] of each text, in order, one after the other (the core starts no thread).
    pub fn encode_batch(&self, texts: &[String]) -> Vec<Result<Vec<u32>, String>> {
        texts.iter().map(|t| self.encode(t)).collect()
    }

    /// One more than the largest id the tokenizer can produce, added tokens included: the number of
    /// distinct values a file of its ids must hold.
    pub fn id_space(&self) -> u64 {
        self.tokenizer
            .get_vocab(true)
            .values()
            .map(|&id| u64::from(id) + 1)
            .max()
            .unwrap_or(0)
    }

    /// The id of a token (of the vocabulary or an added one).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// The first of [`EOS_CANDIDATES`] the tokenizer knows, with its id.
    pub fn default_eos(&self) -> Option<(&'static str, u32)> {
        EOS_CANDIDATES
            .iter()
            .find_map(|&t| self.token_id(t).map(|id| (t, id)))
    }
}

/// How each document's ids are framed for the trainer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Put before the text.
    pub bos: Option<u32>,
    /// Put after the text.
    pub eos: u32,
    /// The longest framed document; `None` for no limit.
    pub max_tokens: Option<u32>,
}

/// A framed document: its ids and whether the text was cut to fit `max_tokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    /// BOS (if any), the text's ids, EOS.
    pub ids: Vec<u32>,
    /// True when text ids were left out to fit `max_tokens`.
    pub cut: bool,
}

/// Frames the ids of one text: `[bos] + text + [eos]`. When that is longer than `max_tokens`, the text is
/// cut from its end so that the frame still closes with EOS: a trainer that splits the stream on EOS
/// still sees where every document ends. A limit too small for the frame itself keeps the frame alone
/// (BOS and EOS), so no document is ever merged into the next.
pub fn frame(text_ids: &[u32], frame: &Frame) -> Framed {
    let overhead = 1 + usize::from(frame.bos.is_some());
    let room = frame
        .max_tokens
        .map_or(usize::MAX, |max| (max as usize).saturating_sub(overhead));
    let kept = text_ids.len().min(room);
    let mut ids = Vec::with_capacity(kept + overhead);
    ids.extend(frame.bos);
    ids.extend_from_slice(&text_ids[..kept]);
    ids.push(frame.eos);
    Framed {
        ids,
        cut: kept < text_ids.len(),
    }
}

/// The `tokenizer.json` of a GPT-2 style byte-level BPE, built from its `vocab.json` (token -> id) and
/// `merges.txt` (one merge per line, `a b`, after an optional `#version` line): the model, pre-tokenizer,
/// and decoder Hugging Face's `GPT2TokenizerFast` uses (BPE without unknown token; ByteLevel without a
/// prefix space, with GPT-2's split regex), and `<|endoftext|>` as a special token when the vocabulary
/// has it, as GPT-2's release defines it.
pub fn gpt2_tokenizer_json(vocab_json: &[u8], merges_txt: &[u8]) -> Result<String, ConfigError> {
    let vocab: std::collections::HashMap<String, u32> = serde_json::from_slice(vocab_json)
        .map_err(|e| {
            ConfigError::new(
                "vocab",
                format!("not a vocab.json (a JSON object of token -> id): {e}"),
            )
        })?;
    let merges_text = std::str::from_utf8(merges_txt)
        .map_err(|e| ConfigError::new("merges", format!("merges.txt is not UTF-8: {e}")))?;
    let mut merges = Vec::new();
    for (n, line) in merges_text.split('\n').enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || (n == 0 && line.starts_with("#version")) {
            continue;
        }
        let mut parts = line.split(' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty() => {
                merges.push((a.to_string(), b.to_string()))
            }
            _ => {
                return Err(ConfigError::new(
                    "merges",
                    format!(
                        "line {}: expected two tokens separated by one space, got {line:?}",
                        n + 1
                    ),
                ));
            }
        }
    }
    let has_eos = vocab.contains_key("<|endoftext|>");
    let bpe = BPE::builder()
        .vocab_and_merges(vocab.into_iter().collect::<Vocab>(), merges)
        .build()
        .map_err(|e| ConfigError::new("merges", format!("not a usable BPE: {e}")))?;
    let byte_level = ByteLevel::new(false, true, true);
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer
        .with_pre_tokenizer(Some(byte_level))
        .with_post_processor(Some(byte_level))
        .with_decoder(Some(byte_level));
    if has_eos {
        tokenizer.add_special_tokens(&[AddedToken::from("<|endoftext|>", true)]);
    }
    tokenizer
        .to_string(false)
        .map_err(|e| ConfigError::new("vocab", format!("cannot write the tokenizer: {e}")))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(super) fn shared(relative: &str) -> Vec<u8> {
        let data = std::env::var_os("TAMIS_SHARED_DATA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
            });
        std::fs::read(data.join(relative)).unwrap_or_else(|e| {
            panic!(
                "shared data {relative} missing ({e}): tests need ../shared/data beside the repository or TAMIS_SHARED_DATA"
            )
        })
    }

    /// The texts of the web development set, in order.
    pub(super) fn web_dev_texts() -> Vec<String> {
        use std::io::Read;
        let mut json = String::new();
        flate2::read::GzDecoder::new(&shared("web/dev.jsonl.gz")[..])
            .read_to_string(&mut json)
            .unwrap();
        json.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let record: serde_json::Value = serde_json::from_str(l).unwrap();
                record["text"].as_str().unwrap().to_string()
            })
            .collect()
    }

    pub(super) fn neox() -> Encoder {
        Encoder::new(&shared(
            "tokenizers/gpt-neox-20b-pii-special/tokenizer.json",
        ))
        .unwrap()
    }

    pub(super) fn gpt2() -> Encoder {
        let json = gpt2_tokenizer_json(
            &shared("tokenizers/gpt2/vocab.json"),
            &shared("tokenizers/gpt2/merges.txt"),
        )
        .unwrap();
        Encoder::new(json.as_bytes()).unwrap()
    }

    #[test]
    fn gpt2_from_vocab_and_merges_gives_gpt2_ids() {
        let gpt2 = gpt2();
        // GPT-2's published encoding of "Hello world" is [15496, 995]; " world" alone is 995.
        assert_eq!(gpt2.encode("Hello world").unwrap(), vec![15496, 995]);
        assert_eq!(gpt2.default_eos(), Some(("<|endoftext|>", 50256)));
        assert_eq!(gpt2.id_space(), 50257);
        // The end-of-text token written in a text is that token, as Hugging Face matches added tokens.
        assert_eq!(gpt2.encode("a<|endoftext|>b").unwrap(), vec![64, 50256, 65]);
    }

    /// The byte-level fast path gives the library's own ids, on every text of the web dev set and with both
    /// shared tokenizers (both have the shape it takes).
    #[test]
    fn fast_path_ids_equal_the_library_ids() {
        let texts = web_dev_texts();
        for (name, encoder) in [("gpt-neox", neox()), ("gpt2", gpt2())] {
            assert!(encoder.fast.is_some(), "{name} takes the fast path");
            let mut tokens = 0;
            for (n, text) in texts.iter().enumerate() {
                let fast = encoder.encode(text).unwrap();
                assert_eq!(
                    fast,
                    encoder.encode_with_library(text).unwrap(),
                    "{name}: document {n}"
                );
                tokens += fast.len();
            }
            assert!(tokens > 100_000, "{name}: {tokens} tokens");
            // A second pass is served from the cache and still gives the same ids.
            for text in texts.iter().take(50) {
                assert_eq!(
                    encoder.encode(text).unwrap(),
                    encoder.encode_with_library(text).unwrap()
                );
            }
        }
    }

    #[test]
    fn neox_has_an_end_of_text_token_and_fits_sixteen_bits() {
        let neox = neox();
        let (token, id) = neox.default_eos().unwrap();
        assert_eq!(token, "<|endoftext|>");
        assert_eq!(neox.token_id("<|endoftext|>"), Some(id));
        assert!(neox.id_space() < 65_500, "{}", neox.id_space());
        assert_eq!(neox.encode("Hello, world!").unwrap().len(), 4);
        assert_eq!(neox.encode("").unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn frame_adds_bos_and_eos_and_cuts_the_text_not_the_eos() {
        let f = Frame {
            bos: Some(1),
            eos: 2,
            max_tokens: None,
        };
        assert_eq!(frame(&[7, 8, 9], &f).ids, vec![1, 7, 8, 9, 2]);
        let cut = Frame {
            max_tokens: Some(4),
            ..f
        };
        assert_eq!(
            frame(&[7, 8, 9], &cut),
            Framed {
                ids: vec![1, 7, 8, 2],
                cut: true
            }
        );
        // Exactly at the limit: nothing cut.
        let exact = Frame {
            max_tokens: Some(5),
            ..f
        };
        assert!(!frame(&[7, 8, 9], &exact).cut);
        // A limit below the frame keeps the frame.
        let tiny = Frame {
            bos: None,
            eos: 2,
            max_tokens: Some(1),
        };
        assert_eq!(frame(&[7], &tiny).ids, vec![2]);
        assert_eq!(frame(&[], &tiny).ids, vec![2]);
        assert!(!frame(&[], &tiny).cut);
    }

    #[test]
    fn bad_vocab_or_merges_name_the_problem() {
        let err = gpt2_tokenizer_json(b"[1]", b"").unwrap_err();
        assert_eq!(err.path, "vocab");
        let err =
            gpt2_tokenizer_json(br#"{"a": 0, "b": 1}"#, b"#version: 0.2\na b c\n").unwrap_err();
        assert!(err.message.contains("line 2"), "{err}");
    }

    #[test]
    fn config_rejects_contradictions() {
        let both = TokenizeConfig {
            tokenizer: Some("t.json".into()),
            vocab: Some("v.json".into()),
            merges: Some("m.txt".into()),
            ..TokenizeConfig::default()
        };
        assert_eq!(
            both.validate("tokenize").unwrap_err().path,
            "tokenize.tokenizer"
        );
        let half = TokenizeConfig {
            vocab: Some("v.json".into()),
            ..TokenizeConfig::default()
        };
        assert_eq!(
            half.validate("tokenize").unwrap_err().path,
            "tokenize.merges"
        );
        let zero = TokenizeConfig {
            shard_tokens: Some(0),
            ..TokenizeConfig::default()
        };
        assert_eq!(
            zero.validate("tokenize").unwrap_err().path,
            "tokenize.shard_tokens"
        );
    }
}
