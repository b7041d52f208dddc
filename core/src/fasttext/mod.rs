//! fastText supervised models, loaded from the bytes of a `.bin` or quantized `.ftz` file and run to
//! predict labels, in pure Rust.
//!
//! Language identification (fastText's `lid.176`, used by FineWeb, datatrove and CulturaX) and quality
//! classifiers (DCLM's) are fastText models; this module runs any of them the way fastText's own
//! `predict` does, so a model trained with fastText gives the same labels and probabilities here, in every
//! runtime. The runtime reads the file and hands over the bytes; the core never opens it.
//!
//! The format and arithmetic follow facebookresearch/fastText (`src/fasttext.cc` `loadModel` and
//! `predictLine`, `src/args.cc` `Args::load`, and the files cited in each submodule). A model file is:
//!
//! | field | type |
//! |---|---|
//! | magic `793712314`, version (at most 12) | i32, i32 |
//! | `dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate`, `t` | 12 × i32, f64 |
//! | dictionary (`dictionary.rs`) | |
//! | input quantized?, input matrix (`matrix.rs`) | bool, … |
//! | output quantized? (`qout`), output matrix | bool, … |
//!
//! Prediction: the line's input rows (`dictionary.rs`) are averaged into the hidden vector, the output
//! layer (`loss.rs`) turns it into label scores, and the reported probability is `exp` of the score.
//!
//! The `fasttext` crate (0.8, pure Rust) was evaluated first and not used: on `lid.176.ftz` its top label
//! agreed with fastText's on 2 of 2,053 texts of the shared language-ID and web sets.
//!
//! Any bytes are safe to load: a truncated or inconsistent file is a [`ModelError`], never a panic, and
//! nothing is allocated before the bytes it is read from are known to be there.

mod dictionary;
mod loss;
mod matrix;
mod reader;
pub mod train;
pub mod training_config;

use thiserror::Error;

use dictionary::{Dictionary, HashingArgs};
pub use loss::LossKind;
use loss::Output;
use matrix::Matrix;
use reader::Reader;

/// fastText's file magic (`FASTTEXT_FILEFORMAT_MAGIC_INT32`).
const MAGIC: i32 = 793_712_314;
/// The newest file version fastText writes (`FASTTEXT_VERSION`); older ones load too.
const VERSION: i32 = 12;
/// `model_name::sup` in fastText's `args.h`: only supervised models predict labels.
const SUPERVISED: i32 = 3;

/// A model file that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("not a usable fastText model: {message}")]
pub struct ModelError {
    message: String,
}

impl ModelError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// One predicted label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Index of the label in the model (see [`Model::label`]).
    pub label: usize,
    /// The probability as fastText's `predict` reports it: `exp(log(p + 1e-5))`, so it can exceed 1 by
    /// up to 1e-5.
    pub probability: f32,
}

/// A loaded fastText supervised model.
///
/// ```no_run
/// # fn demo(bytes: &[u8]) -> Result<(), tamis_core::fasttext::ModelError> {
/// use tamis_core::fasttext::Model;
/// let model = Model::from_bytes(bytes)?; // e.g. the bytes of lid.176.ftz
/// let best = model.predict("Das ist ein kurzer deutscher Satz.", 1, 0.0);
/// assert_eq!(model.label(best[0].label), Some("__label__de"));
/// # Ok(()) }
/// ```
pub struct Model {
    dim: usize,
    loss: LossKind,
    dictionary: Dictionary,
    labels: Vec<String>,
    input: Matrix,
    output: Matrix,
    output_layer: Output,
    quantized: bool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("dim", &self.dim)
            .field("loss", &self.loss)
            .field("labels", &self.labels.len())
            .field("words", &self.dictionary.nwords())
            .field("quantized", &self.quantized)
            .finish()
    }
}

impl Model {
    /// Loads a model from the bytes of a fastText `.bin` or `.ftz` file (`FastText::loadModel`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let mut r = Reader::new(bytes);
        let magic = r.i32("file magic")?;
        if magic != MAGIC {
            return Err(ModelError::new(format!(
                "wrong magic number {magic} (a fastText model starts with {MAGIC})"
            )));
        }
        let version = r.i32("file version")?;
        if version > VERSION {
            return Err(ModelError::new(format!(
                "file version {version} is newer than the {VERSION} this reader knows"
            )));
        }
        let mut ints = [0i32; 12];
        for (v, name) in ints.iter_mut().zip([
            "dim",
            "ws",
            "epoch",
            "minCount",
            "neg",
            "wordNgrams",
            "loss",
            "model",
            "bucket",
            "minn",
            "maxn",
            "lrUpdateRate",
        ]) {
            *v = r.i32(name)?;
        }
        let _t = r.f64("t")?;
        let [
            dim,
            _,
            _,
            _,
            _,
            word_ngrams,
            loss,
            model,
            bucket,
            minn,
            mut maxn,
            _,
        ] = ints;
        if model != SUPERVISED {
            return Err(ModelError::new(format!(
                "model type {model} is not supervised ({SUPERVISED}): word-vector models have no labels to predict"
            )));
        }
        // fastText 0.1 supervised models (file version 11) used no character n-grams.
        if version == 11 {
            maxn = 0;
        }
        let loss = LossKind::from_code(loss)?;
        let dim = usize::try_from(dim)
            .ok()
            .filter(|&d| d > 0)
            .ok_or_else(|| ModelError::new(format!("dimension {dim} is not positive")))?;
        let dictionary = Dictionary::load(
            &mut r,
            HashingArgs {
                word_ngrams,
                bucket,
                minn,
                maxn,
            },
        )?;
        let quant_input = r.bool("input quantization flag")?;
        let input = Matrix::load(&mut r, quant_input, "input matrix")?;
        let qout = r.bool("output quantization flag")?;
        // fastText reads the output as quantized only when the input is too (`quant_ && qout`).
        let output = Matrix::load(&mut r, quant_input && qout, "output matrix")?;
        if r.remaining() != 0 {
            return Err(ModelError::new(format!(
                "{} bytes after the output matrix",
                r.remaining()
            )));
        }
        if input.cols() != dim || output.cols() != dim {
            return Err(ModelError::new(format!(
                "matrices of {} and {} columns in a model of dimension {dim}",
                input.cols(),
                output.cols()
            )));
        }
        if input.rows() < dictionary.rows_needed() {
            return Err(ModelError::new(format!(
                "the input matrix has {} rows, the dictionary and buckets need {}",
                input.rows(),
                dictionary.rows_needed()
            )));
        }
        let nlabels = dictionary.nlabels();
        if nlabels == 0 || output.rows() != nlabels {
            return Err(ModelError::new(format!(
                "the output matrix has {} rows for {nlabels} labels",
                output.rows()
            )));
        }
        let labels = (0..nlabels)
            .map(|i| {
                let raw = dictionary.label(i).unwrap_or_default();
                String::from_utf8(raw.to_vec())
                    .map_err(|_| ModelError::new(format!("label {i} is not UTF-8")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output_layer = Output::new(loss, dictionary.label_counts())?;
        Ok(Self {
            dim,
            loss,
            dictionary,
            labels,
            input,
            output,
            output_layer,
            quantized: quant_input,
        })
    }

    /// The labels, in the model's order (`__label__en`, …).
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The label with index `i`.
    pub fn label(&self, i: usize) -> Option<&str> {
        self.labels.get(i).map(String::as_str)
    }

    /// The index of `label`, if the model has it.
    pub fn label_index(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }

    /// The loss the model was trained with.
    pub fn loss(&self) -> LossKind {
        self.loss
    }

    /// Whether the input matrix is product-quantized (a `.ftz`).
    pub fn is_quantized(&self) -> bool {
        self.quantized
    }

    /// The `k` most likely labels of one line of text whose probability is at least `threshold`, best
    /// first, exactly as fastText's `model.predict(text, k, threshold)` (Python) reports them.
    ///
    /// Like fastText, this reads one line: the words up to the first newline, then the end-of-sentence
    /// word. Callers judging a whole document replace its newlines with spaces first, as datatrove's
    /// language filter does. An empty result means the line gave the model nothing to read (only labels,
    /// in a model without an end-of-sentence word).
    pub fn predict(&self, text: &str, k: usize, threshold: f32) -> Vec<Prediction> {
        let mut rows = Vec::new();
        self.dictionary.line_rows(text.as_bytes(), &mut rows);
        if rows.is_empty() || k == 0 {
            return Vec::new();
        }
        let mut hidden = vec![0.0f32; self.dim];
        self.input.average_rows(&mut hidden, &rows);
        let mut scratch = Vec::new();
        self.output_layer
            .predict(&self.output, &hidden, k, threshold, &mut scratch)
            .into_iter()
            .map(|(score, label)| Prediction {
                label,
                probability: libm::expf(score),
            })
            .collect()
    }

    /// [`Model::predict`] of a whole document: newlines count as spaces, so every line is read.
    pub fn predict_document(&self, text: &str, k: usize, threshold: f32) -> Vec<Prediction> {
        if text.contains('\n') {
            self.predict(&text.replace('\n', " "), k, threshold)
        } else {
            self.predict(text, k, threshold)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny dense softmax model written field by field as fastText's `saveModel` does: 2 words
    /// (`</s>`, `hello`), 2 labels, dim 2, no n-grams.
    fn tiny_model(loss: i32) -> Vec<u8> {
        let mut b = Vec::new();
        let i32s = |b: &mut Vec<u8>, v: &[i32]| v.iter().for_each(|x| b.extend(x.to_le_bytes()));
        i32s(&mut b, &[MAGIC, VERSION]);
        // dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate
        i32s(&mut b, &[2, 5, 5, 1, 5, 1, loss, SUPERVISED, 0, 0, 0, 100]);
        b.extend(1e-4f64.to_le_bytes());
        i32s(&mut b, &[4, 2, 2]);
        b.extend(10i64.to_le_bytes());
        b.extend((-1i64).to_le_bytes());
        for (word, count, ty) in [
            ("</s>", 5i64, 0u8),
            ("hello", 3, 0),
            ("__label__a", 4, 1),
            ("__label__b", 1, 1),
        ] {
            b.extend(word.as_bytes());
            b.push(0);
            b.extend(count.to_le_bytes());
            b.push(ty);
        }
        b.push(0); // dense input
        b.extend(2i64.to_le_bytes());
        b.extend(2i64.to_le_bytes());
        for v in [0.0f32, 0.0, 2.0, -2.0] {
            b.extend(v.to_le_bytes());
        }
        b.push(0); // dense output
        b.extend(2i64.to_le_bytes());
        b.extend(2i64.to_le_bytes());
        for v in [1.0f32, 0.0, 0.0, 1.0] {
            b.extend(v.to_le_bytes());
        }
        b
    }

    #[test]
    fn a_hand_written_softmax_model_predicts_by_the_formula() {
        let model = Model::from_bytes(&tiny_model(3)).unwrap();
        assert_eq!(model.labels(), ["__label__a", "__label__b"]);
        // "hello" + </s>: hidden = mean([2, -2], [0, 0]) = [1, -1]; outputs 1 and -1.
        let p = model.predict("hello", 2, 0.0);
        let e = 1.0f32 / (1.0 + libm::expf(-2.0f32));
        assert_eq!(p[0].label, 0);
        assert!((p[0].probability - (e + 1e-5)).abs() < 1e-6, "{p:?}");
        assert!((p[1].probability - (1.0 - e + 1e-5)).abs() < 1e-6, "{p:?}");
        // An unknown word adds nothing (no n-grams): only </s> is read, both outputs 0.
        let p = model.predict("bonjour", 1, 0.0);
        assert!((p[0].probability - 0.5).abs() < 1e-4, "{p:?}");
        // A threshold above every probability leaves nothing.
        assert!(model.predict("hello", 2, 0.99).is_empty());
    }

    #[test]
    fn every_loss_loads_and_ranks_the_same_label_first() {
        for loss in [1, 2, 3, 4] {
            let model = Model::from_bytes(&tiny_model(loss)).unwrap();
            let p = model.predict("hello hello", 2, 0.0);
            assert!(!p.is_empty(), "loss {loss}");
            assert!(p.windows(2).all(|w| w[0].probability >= w[1].probability));
        }
    }

    #[test]
    fn every_truncation_and_a_bad_loss_are_errors_not_panics() {
        let bytes = tiny_model(3);
        for len in 0..bytes.len() {
            assert!(Model::from_bytes(&bytes[..len]).is_err(), "prefix {len}");
        }
        let mut bad = bytes.clone();
        bad[8 + 6 * 4] = 9; // loss
        assert!(Model::from_bytes(&bad).is_err());
        let mut extra = bytes;
        extra.push(0);
        assert!(Model::from_bytes(&extra).is_err());
    }
}
