//! Training a fastText supervised classifier, in pure Rust, into the bytes of a `.bin` file that fastText
//! itself (and [`Model::from_bytes`](super::Model::from_bytes)) loads.
//!
//! DCLM's best filter (seed 003) is such a classifier, trained on instruction-like positives against
//! random web negatives; a user who wants their own needs the trainer next to the judge, with the same
//! options they know from fastText. The algorithm and its constants follow facebookresearch/fastText:
//!
//! - **Dictionary** (`Dictionary::readFromFile`, `threshold`): every whitespace-separated token is
//!   counted, each example's line ending counts as one `</s>`; words below `minCount` and labels below
//!   `minCountLabel` are dropped; words come first, then labels, each by decreasing count. Ties keep the
//!   order of first appearance (fastText's `std::sort` leaves them in an unspecified order).
//! - **Rows of an example**: exactly what prediction reads (the dictionary module's `line_rows`), so a
//!   model never trains on a feature it cannot see when it judges. The dictionary used in training is
//!   the one written to the file and read back, so the two cannot drift.
//! - **Schedule** (`FastText::trainThread`): the examples are read in order, over and over, until
//!   `epoch × ntokens` tokens have been read; the learning rate falls linearly, `lr × (1 - progress)`,
//!   where progress moves every time more than `lrUpdateRate` tokens have been read.
//! - **Update** (`Model::update`, `FastText::supervised`): the hidden vector is the mean of the example's
//!   input rows; one of its labels is drawn (all of them for `ova`); the loss's gradient, divided by the
//!   number of input rows, is added to every input row.
//! - **Losses** (`loss.cc`): softmax over all labels; `ns`, the target's logistic loss plus `neg`
//!   negatives drawn with probability proportional to the square root of the label counts; `hs`, the
//!   logistic losses along the target's path in the Huffman tree of the label counts; `ova`, every
//!   label's own logistic loss. The logistic losses read the sigmoid from fastText's 512-entry table.
//!
//! Two choices differ from fastText, on purpose:
//! - One thread, so that the same examples, options and seed give the same bytes. fastText trains with
//!   `thread` threads updating one model without locks (Hogwild), which is faster and not reproducible.
//! - The whole input matrix is initialised uniformly in `[-1/dim, 1/dim]`. fastText's `DenseMatrix::
//!   uniform` fills only `thread / 10` of it (each thread one tenth) and leaves the rest zero.
//!
//! The random numbers come from the generator fastText uses, C++'s `minstd_rand`; the draws themselves
//! (which label, which negative) are not the same as libstdc++'s distributions, so models equal
//! fastText's in kind and accuracy, not bit for bit.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hash;

use thiserror::Error;

use super::dictionary::{Dictionary, EOS, HashingArgs, LABEL_PREFIX, Tokens};
use super::loss::{LossKind, SIGMOID_TABLE_SIZE, huffman_paths, sigmoid, sigmoid_table};
use super::reader::Reader;
use super::{MAGIC, SUPERVISED, VERSION};

/// fastText's options for supervised training, with the defaults of its `train_supervised`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Learning rate (`lr`, 0.1).
    pub lr: f64,
    /// Size of the word vectors (`dim`, 100).
    pub dim: usize,
    /// Passes over the examples (`epoch`, 5).
    pub epoch: u32,
    /// Words seen fewer times are left out of the dictionary (`minCount`, 1).
    pub min_count: u64,
    /// Labels seen fewer times are left out (`minCountLabel`, 0).
    pub min_count_label: u64,
    /// Longest word n-gram (`wordNgrams`, 1: words only). DCLM's classifier uses 2.
    pub word_ngrams: u32,
    /// Rows that n-grams are hashed into (`bucket`, 2,000,000). As fastText's command line does, a model
    /// with no n-grams (`word_ngrams` 1 and `maxn` 0) gets none.
    pub bucket: u32,
    /// Shortest and longest character n-grams (`minn`, `maxn`, 0: none).
    pub minn: u32,
    /// See `minn`.
    pub maxn: u32,
    /// Negatives per example for `ns` (`neg`, 5).
    pub neg: u32,
    /// The loss (`loss`, softmax).
    pub loss: LossKind,
    /// Tokens between updates of the learning rate (`lrUpdateRate`, 100).
    pub lr_update_rate: u32,
    /// Seeds the initial vectors and the draws (`seed`, 0).
    pub seed: u32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            lr: 0.1,
            dim: 100,
            epoch: 5,
            min_count: 1,
            min_count_label: 0,
            word_ngrams: 1,
            bucket: 2_000_000,
            minn: 0,
            maxn: 0,
            neg: 5,
            loss: LossKind::Softmax,
            lr_update_rate: 100,
            seed: 0,
        }
    }
}

/// fastText's sampling threshold `t`, saved in the model; supervised training does not use it.
const SAMPLING_THRESHOLD: f64 = 1e-4;
/// fastText's context window `ws`, saved in the model; supervised training does not use it.
const WINDOW: i32 = 5;

/// One labelled example: a document and its label(s), without the `__label__` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example<'a> {
    /// Its labels (usually one).
    pub labels: Vec<&'a str>,
    /// Its text; newlines are read as spaces, as [`Model::predict_document`](super::Model::predict_document) reads them.
    pub text: &'a str,
}

/// Why training could not run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TrainError {
    /// An option is out of range.
    #[error("{option}: {message}")]
    Option {
        /// The option's field name (as in `[train_classifier]`; fastText spells `word_ngrams` as
        /// `wordNgrams`).
        option: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Nothing to learn from.
    #[error("{0}")]
    Data(String),
    /// The vectors overflowed (fastText's "Encountered NaN"); a smaller `lr` helps.
    #[error(
        "training diverged (a vector became NaN or infinite) after {0} examples; try a smaller lr"
    )]
    Diverged(u64),
}

/// What training saw and reached, for the user's report.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// Words in the dictionary.
    pub words: usize,
    /// Labels, in the model's order, with the number of examples that carry each.
    pub labels: Vec<(String, u64)>,
    /// Tokens in one pass (fastText's `ntokens`: words, labels and one `</s>` per example).
    pub tokens: u64,
    /// Examples trained on.
    pub examples: u64,
    /// Examples with nothing to learn from: no word or n-gram in the model, or no label kept.
    pub skipped: u64,
    /// Updates made (examples times passes, about).
    pub updates: u64,
    /// Mean loss over all updates.
    pub loss: f64,
}

/// A trained model: the parts of its `.bin` file, and a summary.
///
/// The matrices stay as floats until they are written: with fastText's default 2,000,000 buckets the
/// input matrix alone is 800 MB, and a second copy as bytes would double the peak memory.
pub struct Trained {
    /// Header, options and dictionary.
    head: Vec<u8>,
    input: Vec<f32>,
    output: Vec<f32>,
    dim: usize,
    /// What training saw.
    pub summary: TrainSummary,
}

impl Trained {
    /// Writes the `.bin` file (`FastText::saveModel`) to `out`.
    pub fn write_to<W: std::io::Write>(&self, out: &mut W) -> std::io::Result<()> {
        out.write_all(&self.head)?;
        write_dense(out, self.dim, &self.input)?;
        write_dense(out, self.dim, &self.output)
    }

    /// The `.bin` file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.len());
        // Writing into a Vec cannot fail.
        let _ = self.write_to(&mut bytes);
        bytes
    }

    /// The file's size in bytes.
    pub fn len(&self) -> usize {
        self.head.len() + 2 * (1 + 16) + 4 * (self.input.len() + self.output.len())
    }

    /// Never: a model has at least one word and one label.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// C++'s `std::minstd_rand` (Park and Miller's multiplier 48271, modulus 2^31 - 1), fastText's generator.
struct MinStd(u64);

impl MinStd {
    const M: u64 = 2_147_483_647;

    fn new(seed: u32) -> Self {
        // libstdc++ replaces a seed that is 0 modulo M by 1.
        let s = u64::from(seed) % Self::M;
        Self(if s == 0 { 1 } else { s })
    }

    fn next(&mut self) -> u64 {
        // x * 48271 mod (2^31 - 1) without a division: 2^31 = 1 (mod M), so the high bits fold onto the low.
        let p = self.0 * 48_271;
        let mut r = (p & Self::M) + (p >> 31);
        if r >= Self::M {
            r -= Self::M;
        }
        self.0 = r;
        r
    }

    /// A value in `[0, n)`, `n > 0`, without modulo bias worth speaking of for `n` far below 2^31.
    fn below(&mut self, n: usize) -> usize {
        ((self.next() - 1) * n as u64 / (Self::M - 1)) as usize
    }

    /// A float in `[-a, a)`.
    fn symmetric(&mut self, a: f32) -> f32 {
        const SCALE: f64 = 1.0 / (MinStd::M - 1) as f64;
        let unit = (self.next() - 1) as f64 * SCALE;
        ((2.0 * unit - 1.0) * f64::from(a)) as f32
    }
}

/// Distinct keys with their counts, in order of first appearance.
struct Counter<K> {
    index: HashMap<K, usize>,
    entries: Vec<(K, u64)>,
}

impl<K> Default for Counter<K> {
    fn default() -> Self {
        Self {
            index: HashMap::new(),
            entries: Vec::new(),
        }
    }
}

impl<K: Hash + Eq + Copy> Counter<K> {
    /// Counts `key` once more; returns its index.
    fn add(&mut self, key: K) -> usize {
        let next = self.entries.len();
        let i = *self.index.entry(key).or_insert(next);
        if i == next {
            self.entries.push((key, 0));
        }
        self.entries[i].1 += 1;
        i
    }

    /// The entries counted at least `min` times, by decreasing count (ties in order of first
    /// appearance), and for each index of [`Counter::add`] its rank among them.
    fn kept_by_count(self, min: u64) -> (Vec<(K, u64)>, Vec<Option<usize>>) {
        let mut order: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].1 >= min)
            .collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.entries[i].1));
        let mut rank = vec![None; self.entries.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = Some(r);
        }
        (order.iter().map(|&i| self.entries[i]).collect(), rank)
    }
}

/// Trains a model on `examples` (see the module comment for the algorithm).
pub fn train(examples: &[Example<'_>], options: &TrainOptions) -> Result<Trained, TrainError> {
    validate(options)?;
    let bucket = if options.word_ngrams <= 1 && options.maxn == 0 {
        0
    } else {
        options.bucket
    };
    let hashing = HashingArgs {
        word_ngrams: options.word_ngrams as i32,
        bucket: bucket as i32,
        minn: options.minn as i32,
        maxn: options.maxn as i32,
    };

    // One pass over the texts (newlines read as spaces): word and label counts in order of first
    // appearance, each example's labels as indices into those, and its token count for the schedule.
    let flat: Vec<Cow<'_, str>> = examples
        .iter()
        .map(|e| {
            if e.text.contains('\n') {
                Cow::Owned(e.text.replace('\n', " "))
            } else {
                Cow::Borrowed(e.text)
            }
        })
        .collect();
    let mut words = Counter::default();
    let mut labels = Counter::default();
    let mut example_labels: Vec<Vec<usize>> = Vec::with_capacity(examples.len());
    let mut example_tokens: Vec<u64> = Vec::with_capacity(examples.len());
    for (example, text) in examples.iter().zip(&flat) {
        example_labels.push(example.labels.iter().map(|l| labels.add(*l)).collect());
        let mut tokens = example.labels.len() as u64;
        for token in Tokens::new(text.as_bytes()) {
            tokens += 1;
            // A `__label__` token inside a text would be a label in fastText's input file; here the
            // labels come from their own field, and such a token is read as nothing, as in predict.
            if token == EOS.as_bytes() || !token.starts_with(LABEL_PREFIX.as_bytes()) {
                words.add(token);
            }
        }
        example_tokens.push(tokens);
    }
    let ntokens: u64 = example_tokens.iter().sum();
    // fastText's threshold: too rare entries out, then by decreasing count.
    let (words, _) = words.kept_by_count(options.min_count);
    let (labels, label_rank) = labels.kept_by_count(options.min_count_label);
    if words.is_empty() {
        return Err(TrainError::Data(
            "no word is left in the dictionary (no text, or min_count above every word's count)"
                .into(),
        ));
    }
    if labels.is_empty() {
        return Err(TrainError::Data(
            "no label is left (no example has a label, or min_count_label is above every label's count)"
                .into(),
        ));
    }

    let mut dict_bytes = Vec::new();
    write_dictionary(&mut dict_bytes, &words, &labels, ntokens);
    let dictionary = Dictionary::load(&mut Reader::new(&dict_bytes), hashing)
        .map_err(|e| TrainError::Data(format!("the dictionary did not read back: {e}")))?;

    // Each example's input rows and targets, computed once.
    let mut rows: Vec<i32> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(examples.len());
    let mut targets: Vec<usize> = Vec::new();
    let mut target_spans: Vec<(usize, usize)> = Vec::with_capacity(examples.len());
    let mut line = Vec::new();
    let mut skipped = 0u64;
    for (own, text) in example_labels.iter().zip(&flat) {
        dictionary.line_rows(text.as_bytes(), &mut line);
        let start = rows.len();
        rows.extend_from_slice(&line);
        let t0 = targets.len();
        targets.extend(own.iter().filter_map(|&l| label_rank[l]));
        if line.is_empty() || targets.len() == t0 {
            skipped += 1;
        }
        spans.push((start, rows.len()));
        target_spans.push((t0, targets.len()));
    }

    let dim = options.dim;
    let nlabels = labels.len();
    let input_rows = words.len() + bucket as usize;
    let mut input = vec![0.0f32; input_rows * dim];
    let mut init = MinStd::new(options.seed);
    let a = 1.0 / dim as f32;
    for v in input.iter_mut() {
        *v = init.symmetric(a);
    }
    let mut output = vec![0.0f32; nlabels * dim];
    let label_totals: Vec<i64> = labels.iter().map(|(_, c)| *c as i64).collect();
    let mut layer = TrainLoss::new(options, &label_totals);

    let mut rng = MinStd::new(options.seed);
    let mut hidden = vec![0.0f32; dim];
    let mut grad = vec![0.0f32; dim];
    let total = u64::from(options.epoch) * ntokens;
    let mut token_count: u64 = 0;
    let mut local: u64 = 0;
    let mut loss_sum = 0.0f64;
    let mut updates = 0u64;
    let mut next = 0usize;
    while token_count < total {
        let progress = token_count as f32 / total as f32;
        let lr = (options.lr * (1.0 - f64::from(progress))) as f32;
        let i = next;
        next = (next + 1) % examples.len();
        local += example_tokens[i];
        let (start, end) = spans[i];
        let (t0, t1) = target_spans[i];
        let input_ids = &rows[start..end];
        let example_targets = &targets[t0..t1];
        if !input_ids.is_empty() && !example_targets.is_empty() {
            average_rows(&input, dim, input_ids, &mut hidden);
            grad.fill(0.0);
            let target = if options.loss == LossKind::OneVsAll {
                None
            } else {
                Some(example_targets[rng.below(example_targets.len())])
            };
            let loss = layer.update(
                &mut output,
                &hidden,
                &mut grad,
                example_targets,
                target,
                lr,
                &mut rng,
            );
            if !loss.is_finite() || hidden.iter().any(|v| !v.is_finite()) {
                return Err(TrainError::Diverged(updates));
            }
            loss_sum += f64::from(loss);
            updates += 1;
            let scale = (1.0f64 / input_ids.len() as f64) as f32;
            for g in grad.iter_mut() {
                *g *= scale;
            }
            for &r in input_ids {
                let row = &mut input[r as usize * dim..(r as usize + 1) * dim];
                for (x, g) in row.iter_mut().zip(&grad) {
                    *x += g;
                }
            }
        }
        if local > u64::from(options.lr_update_rate) {
            token_count += local;
            local = 0;
        }
    }

    let mut head = Vec::with_capacity(64 + dict_bytes.len());
    for v in [MAGIC, VERSION] {
        head.extend(v.to_le_bytes());
    }
    for v in [
        dim as i32,
        WINDOW,
        options.epoch as i32,
        options.min_count as i32,
        options.neg as i32,
        options.word_ngrams as i32,
        options.loss.code(),
        SUPERVISED,
        bucket as i32,
        options.minn as i32,
        options.maxn as i32,
        options.lr_update_rate as i32,
    ] {
        head.extend(v.to_le_bytes());
    }
    head.extend(SAMPLING_THRESHOLD.to_le_bytes());
    head.extend_from_slice(&dict_bytes);

    let mut per_label = vec![0u64; nlabels];
    for &t in &targets {
        per_label[t] += 1;
    }
    let summary = TrainSummary {
        words: words.len(),
        labels: labels
            .iter()
            .zip(per_label)
            .map(|((l, _), n)| (format!("{LABEL_PREFIX}{l}"), n))
            .collect(),
        tokens: ntokens,
        examples: examples.len() as u64 - skipped,
        skipped,
        updates,
        loss: if updates == 0 {
            0.0
        } else {
            loss_sum / updates as f64
        },
    };
    Ok(Trained {
        head,
        input,
        output,
        dim,
        summary,
    })
}

/// Checks the options' ranges (also used by the config section, so a bad value is a config error).
pub(super) fn validate(o: &TrainOptions) -> Result<(), TrainError> {
    let bad = |option, message: String| Err(TrainError::Option { option, message });
    if !(o.lr.is_finite() && o.lr > 0.0) {
        return bad("lr", format!("expected a positive number, got {}", o.lr));
    }
    if o.dim == 0 || o.dim > 10_000 {
        return bad("dim", format!("expected 1 to 10000, got {}", o.dim));
    }
    if o.epoch == 0 {
        return bad("epoch", "expected at least 1".into());
    }
    if o.word_ngrams == 0 {
        return bad("word_ngrams", "expected at least 1".into());
    }
    if o.maxn > 0 && o.minn > o.maxn {
        return bad("minn", format!("{} is above maxn {}", o.minn, o.maxn));
    }
    if (o.word_ngrams > 1 || o.maxn > 0) && (o.bucket == 0 || o.bucket > i32::MAX as u32) {
        return bad(
            "bucket",
            format!("n-grams need buckets (1 to {}), got {}", i32::MAX, o.bucket),
        );
    }
    if o.loss == LossKind::NegativeSampling && o.neg == 0 {
        return bad("neg", "negative sampling needs at least 1 negative".into());
    }
    // The model file stores these as 32-bit signed integers.
    for (option, v) in [
        ("min_count", o.min_count),
        ("min_count_label", o.min_count_label),
        ("epoch", o.epoch.into()),
        ("neg", o.neg.into()),
        ("lr_update_rate", o.lr_update_rate.into()),
    ] {
        if v > i32::MAX as u64 {
            return bad(option, format!("{v} does not fit the model file"));
        }
    }
    Ok(())
}

/// `Dictionary::save`: sizes, token count, no pruning, then each entry as word, NUL, count, type.
fn write_dictionary(
    out: &mut Vec<u8>,
    words: &[(&[u8], u64)],
    labels: &[(&str, u64)],
    ntokens: u64,
) {
    let size = (words.len() + labels.len()) as i32;
    out.extend(size.to_le_bytes());
    out.extend((words.len() as i32).to_le_bytes());
    out.extend((labels.len() as i32).to_le_bytes());
    out.extend((ntokens as i64).to_le_bytes());
    out.extend((-1i64).to_le_bytes());
    for (word, count) in words {
        out.extend_from_slice(word);
        out.push(0);
        out.extend((*count as i64).to_le_bytes());
        out.push(0);
    }
    for (label, count) in labels {
        out.extend_from_slice(LABEL_PREFIX.as_bytes());
        out.extend_from_slice(label.as_bytes());
        out.push(0);
        out.extend((*count as i64).to_le_bytes());
        out.push(1);
    }
}

/// The quantization flag (off) and `DenseMatrix::save`: rows and columns as i64, then the floats,
/// little-endian, converted through a small buffer.
fn write_dense<W: std::io::Write>(out: &mut W, cols: usize, data: &[f32]) -> std::io::Result<()> {
    out.write_all(&[0])?;
    out.write_all(&((data.len() / cols) as i64).to_le_bytes())?;
    out.write_all(&(cols as i64).to_le_bytes())?;
    let mut buf = [0u8; 4 * 4096];
    for chunk in data.chunks(4096) {
        for (b, v) in buf.chunks_exact_mut(4).zip(chunk) {
            b.copy_from_slice(&v.to_le_bytes());
        }
        out.write_all(&buf[..4 * chunk.len()])?;
    }
    Ok(())
}

/// `averageRowsToVector` over a dense row-major matrix.
fn average_rows(matrix: &[f32], dim: usize, rows: &[i32], x: &mut [f32]) {
    x.fill(0.0);
    for &r in rows {
        let row = &matrix[r as usize * dim..(r as usize + 1) * dim];
        for (xi, v) in x.iter_mut().zip(row) {
            *xi += v;
        }
    }
    let scale = (1.0f64 / rows.len() as f64) as f32;
    for xi in x.iter_mut() {
        *xi *= scale;
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The output layer being trained.
struct TrainLoss {
    kind: LossKind,
    sigmoid: Box<[f32; SIGMOID_TABLE_SIZE + 1]>,
    /// `ns`: cumulative square-root counts, to draw negatives from.
    negatives: Vec<f64>,
    neg: u32,
    /// `hs`: each label's path (internal nodes, as output rows) and branch codes.
    paths: Vec<Vec<(usize, bool)>>,
    scratch: Vec<f32>,
}

impl TrainLoss {
    fn new(options: &TrainOptions, counts: &[i64]) -> Self {
        let mut negatives = Vec::new();
        if options.loss == LossKind::NegativeSampling {
            let mut acc = 0.0;
            for &c in counts {
                acc += (c as f64).sqrt();
                negatives.push(acc);
            }
        }
        let paths = if options.loss == LossKind::HierarchicalSoftmax {
            huffman_paths(counts)
        } else {
            Vec::new()
        };
        Self {
            kind: options.loss,
            sigmoid: sigmoid_table(),
            negatives,
            neg: options.neg,
            paths,
            scratch: Vec::new(),
        }
    }

    /// A negative label other than `target` (`NegativeSamplingLoss::getNegative`).
    fn negative(&self, target: usize, rng: &mut MinStd) -> usize {
        let total = *self.negatives.last().unwrap_or(&0.0);
        if self.negatives.len() < 2 {
            return target;
        }
        loop {
            let u = (rng.next() - 1) as f64 / (MinStd::M - 1) as f64 * total;
            let i = self.negatives.partition_point(|&c| c <= u);
            let i = i.min(self.negatives.len() - 1);
            if i != target {
                return i;
            }
        }
    }

    /// `BinaryLogisticLoss::binaryLogistic` with backpropagation.
    fn logistic(
        &self,
        output: &mut [f32],
        hidden: &[f32],
        grad: &mut [f32],
        row: usize,
        positive: bool,
        lr: f32,
    ) -> f32 {
        let dim = hidden.len();
        let w = &mut output[row * dim..(row + 1) * dim];
        let score = sigmoid(&self.sigmoid, dot(w, hidden));
        let alpha = lr * (f32::from(u8::from(positive)) - score);
        for ((g, wi), h) in grad.iter_mut().zip(w.iter_mut()).zip(hidden) {
            *g += alpha * *wi;
            *wi += alpha * h;
        }
        let p = if positive { score } else { 1.0 - score };
        -table_log(p)
    }

    /// One example's forward and backward pass; returns its loss.
    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        output: &mut [f32],
        hidden: &[f32],
        grad: &mut [f32],
        targets: &[usize],
        target: Option<usize>,
        lr: f32,
        rng: &mut MinStd,
    ) -> f32 {
        let dim = hidden.len();
        let nlabels = output.len() / dim;
        match self.kind {
            LossKind::Softmax => {
                let target = target.unwrap_or(targets[0]);
                let mut out = std::mem::take(&mut self.scratch);
                out.clear();
                out.extend((0..nlabels).map(|i| dot(&output[i * dim..(i + 1) * dim], hidden)));
                let max = out.iter().copied().fold(out[0], f32::max);
                let mut z = 0.0f32;
                for o in out.iter_mut() {
                    *o = libm::expf(*o - max);
                    z += *o;
                }
                for o in out.iter_mut() {
                    *o /= z;
                }
                for (i, &p) in out.iter().enumerate() {
                    let label = if i == target { 1.0 } else { 0.0 };
                    let alpha = lr * (label - p);
                    let w = &mut output[i * dim..(i + 1) * dim];
                    for ((g, wi), h) in grad.iter_mut().zip(w.iter_mut()).zip(hidden) {
                        *g += alpha * *wi;
                        *wi += alpha * h;
                    }
                }
                let loss = -table_log(out[target]);
                self.scratch = out;
                loss
            }
            LossKind::NegativeSampling => {
                let target = target.unwrap_or(targets[0]);
                let mut loss = self.logistic(output, hidden, grad, target, true, lr);
                for _ in 0..self.neg {
                    let n = self.negative(target, rng);
                    if n != target {
                        loss += self.logistic(output, hidden, grad, n, false, lr);
                    }
                }
                loss
            }
            LossKind::HierarchicalSoftmax => {
                let target = target.unwrap_or(targets[0]);
                let path = std::mem::take(&mut self.paths[target]);
                let mut loss = 0.0;
                for &(node, code) in &path {
                    loss += self.logistic(output, hidden, grad, node, code, lr);
                }
                self.paths[target] = path;
                loss
            }
            LossKind::OneVsAll => {
                let mut loss = 0.0;
                for i in 0..nlabels {
                    loss += self.logistic(output, hidden, grad, i, targets.contains(&i), lr);
                }
                loss
            }
        }
    }
}

/// `Loss::log`: the logarithm from fastText's 512-entry table (only the reported loss uses it).
fn table_log(x: f32) -> f32 {
    if x > 1.0 {
        return 0.0;
    }
    let i = ((x.max(0.0)) * 512.0) as usize;
    libm::log((i.min(512) as f64 + 1e-5) / 512.0) as f32
}

#[cfg(test)]
mod tests {
    use super::super::Model;
    use super::*;

    fn corpus() -> Vec<(String, String)> {
        let animals = ["cat", "dog", "horse", "cow", "sheep", "goat"];
        let tools = ["hammer", "saw", "drill", "wrench", "chisel", "plane"];
        let mut out = Vec::new();
        for i in 0..60 {
            let a = animals[i % 6];
            let b = animals[(i * 5 + 1) % 6];
            out.push((
                "animal".to_string(),
                format!("the {a} and the {b} sleep in the barn"),
            ));
            let t = tools[i % 6];
            let u = tools[(i * 5 + 1) % 6];
            out.push((
                "tool".to_string(),
                format!("the {t} and the {u} hang in the shed"),
            ));
        }
        out
    }

    fn examples(c: &[(String, String)]) -> Vec<Example<'_>> {
        c.iter()
            .map(|(l, t)| Example {
                labels: vec![l.as_str()],
                text: t.as_str(),
            })
            .collect()
    }

    #[test]
    fn every_loss_learns_a_separable_task_and_the_file_loads() {
        let c = corpus();
        for loss in [
            LossKind::Softmax,
            LossKind::NegativeSampling,
            LossKind::HierarchicalSoftmax,
            LossKind::OneVsAll,
        ] {
            let options = TrainOptions {
                dim: 10,
                epoch: 20,
                lr: 0.5,
                neg: 1,
                loss,
                ..TrainOptions::default()
            };
            let trained = train(&examples(&c), &options).unwrap();
            let model = Model::from_bytes(&trained.to_bytes()).unwrap();
            assert_eq!(model.loss(), loss);
            let best = |t: &str| model.label(model.predict(t, 1, 0.0)[0].label).unwrap();
            assert_eq!(best("a dog in the barn"), "__label__animal", "{loss:?}");
            assert_eq!(best("a drill in the shed"), "__label__tool", "{loss:?}");
            assert_eq!(trained.summary.examples, 120);
            assert_eq!(trained.summary.labels.len(), 2);
        }
    }

    #[test]
    fn the_same_examples_and_seed_give_the_same_bytes() {
        let c = corpus();
        let options = TrainOptions {
            dim: 8,
            word_ngrams: 2,
            bucket: 1000,
            minn: 2,
            maxn: 3,
            ..TrainOptions::default()
        };
        let a = train(&examples(&c), &options).unwrap();
        let b = train(&examples(&c), &options).unwrap();
        assert!(a.to_bytes() == b.to_bytes());
        assert_eq!(a.len(), a.to_bytes().len());
        let other = TrainOptions { seed: 7, ..options };
        assert!(train(&examples(&c), &other).unwrap().to_bytes() != a.to_bytes());
    }

    #[test]
    fn the_dictionary_follows_fasttext_counts_and_order() {
        let c = vec![
            ("b".to_string(), "x y y".to_string()),
            ("a".to_string(), "y z".to_string()),
            ("a".to_string(), "y".to_string()),
        ];
        let options = TrainOptions {
            dim: 4,
            min_count: 2,
            ..TrainOptions::default()
        };
        let trained = train(&examples(&c), &options).unwrap();
        // Words with count >= 2 by decreasing count: y (4), </s> (3); x and z are dropped.
        assert_eq!(trained.summary.words, 2);
        // Labels by decreasing count: a (2) before b (1).
        assert_eq!(
            trained.summary.labels,
            [("__label__a".to_string(), 2), ("__label__b".to_string(), 1)]
        );
        // Tokens: 3 labels + 6 words + 3 </s>.
        assert_eq!(trained.summary.tokens, 12);
        let model = Model::from_bytes(&trained.to_bytes()).unwrap();
        assert_eq!(model.labels(), ["__label__a", "__label__b"]);
    }

    #[test]
    fn minstd_is_cs_minstd_rand() {
        // C++11 requires the 10000th value of a default-seeded `minstd_rand` to be 399268537.
        let mut r = MinStd::new(1);
        let mut v = 0;
        for _ in 0..10_000 {
            v = r.next();
        }
        assert_eq!(v, 399_268_537);
        // Seed 0 is replaced by 1, as libstdc++ does.
        assert_eq!(MinStd::new(0).next(), 48_271);
    }

    #[test]
    fn bad_options_and_empty_data_are_errors() {
        let c = corpus();
        let e = examples(&c);
        for options in [
            TrainOptions {
                lr: 0.0,
                ..TrainOptions::default()
            },
            TrainOptions {
                dim: 0,
                ..TrainOptions::default()
            },
            TrainOptions {
                word_ngrams: 2,
                bucket: 0,
                ..TrainOptions::default()
            },
            TrainOptions {
                minn: 4,
                maxn: 3,
                ..TrainOptions::default()
            },
        ] {
            assert!(matches!(
                train(&e, &options),
                Err(TrainError::Option { .. })
            ));
        }
        assert!(matches!(
            train(&[], &TrainOptions::default()),
            Err(TrainError::Data(_))
        ));
        let unlabelled = [Example {
            labels: vec![],
            text: "words",
        }];
        assert!(matches!(
            train(&unlabelled, &TrainOptions::default()),
            Err(TrainError::Data(_))
        ));
    }

    #[test]
    fn a_huge_learning_rate_is_reported_as_divergence() {
        let c = corpus();
        let options = TrainOptions {
            dim: 4,
            lr: 1e30,
            ..TrainOptions::default()
        };
        assert!(matches!(
            train(&examples(&c), &options),
            Err(TrainError::Diverged(_))
        ));
    }
}
