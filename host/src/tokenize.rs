//! `tamis tokenize`: kept records to token ids, written as Megatron-LM's indexed dataset
//! (`indexed_dataset.rs`).
//!
//! Two stages, so that the expensive one is parallel, sharded and resumable, and the output does not
//! depend on how the work was split:
//!
//! 1. **encode** (the job driver, `job.rs`): every record's text goes to the core in the sandbox
//!    (`tokenize` of `wit/tamis.wit`), in batches, on every worker. Each input shard becomes a *part*:
//!    the framed ids of its documents (`[bos] text eos`, cut at `max_tokens`; `tamis_core::tokenize`) as
//!    little-endian u32, and their lengths. Records without text, or whose text the tokenizer refuses, are
//!    error records (file, line, message); a text with no token at all is dropped (`no_tokens`): a
//!    document of only its EOS teaches nothing. Parts are marked done with checksums, so a killed run
//!    resumes, and `--shard i/N` encodes input files `i mod N` only.
//! 2. **write**: once every input file's parts are done, the documents are put in input order (file by
//!    file in sorted order, then record order), shuffled when `shuffle_seed` is set (Fisher–Yates with
//!    ChaCha8 from the seed), and written to `tokens-NNNNN.bin` / `.idx` files of at most `shard_tokens`
//!    tokens each (a document is never split; one longer than `shard_tokens` gets a file of its own).
//!    The order and the files depend only on the inputs and the config, so the bytes are the same
//!    whatever `--workers` or `--shard`.
//!
//! # The output directory
//!
//! ```text
//! OUT/tokens-00000.bin, .idx        the indexed dataset, one pair per output shard
//! OUT/stats.json                    accounting, tokens, tokens per document (p50/p90/p99), share cut,
//!                                   dtype, the files written
//! OUT/errors/<dir>/<name>-NNNNN.jsonl    records not encoded: {file, line|row, id, error, record}
//! OUT/dropped/<dir>/<name>-NNNNN.jsonl   records dropped: {file, line|row, id, reason}
//! OUT/.tamis/parts/<dir>/<name>-NNNNN.ids, .lens   encoded parts (u32 LE); delete them after the run to
//!                                   save space (a re-run then encodes again)
//! OUT/.tamis/done/<dir>/<name>-NNNNN.json          done markers of the parts
//! OUT/.tamis/tokenize.json          what the job was (config, tokenizer, inputs): a re-run with other
//!                                   settings is refused rather than mixed in
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use tamis_core::tokenize::{Encoder, Frame, TokenizeConfig, frame};

use crate::engine::{CoreEngine, EngineFactory};
use crate::indexed_dataset::{DatasetWriter, TokenType};
use crate::input::{InputFile, InputIdentity};
use crate::job::{self, Job, Output, Record, Source, Tally};
use crate::output::write_atomically;
use crate::record::Fields;
use crate::shard::Shard;

/// Why a record is dropped rather than written.
const NO_TOKENS: &str = "no_tokens";

/// The tokenizer as the host resolved it: its bytes (for the sandbox), what it says about ids, and the
/// frame of every document.
pub struct Tokenizer {
    /// The `tokenizer.json` handed to the core.
    pub json: Vec<u8>,
    /// Where it came from, for the report.
    pub source: String,
    pub frame: Frame,
    pub eos_token: String,
    pub bos_token: Option<String>,
    /// One more than the largest id; decides the dtype.
    pub id_space: u64,
}

impl Tokenizer {
    /// Loads the configured tokenizer natively (the sandbox encodes; the host only needs its ids of EOS and
    /// BOS and its size) and resolves the frame. `json` and `source` are the bytes the runtime read.
    pub fn resolve(config: &TokenizeConfig, json: Vec<u8>, source: String) -> Result<Self> {
        let encoder = Encoder::new(&json).map_err(|e| anyhow!("{source}: {}", e.message))?;
        let (eos_token, eos) = match &config.eos {
            Some(token) => (
                token.clone(),
                encoder.token_id(token).ok_or_else(|| {
                    anyhow!("tokenize.eos: the tokenizer ({source}) has no token {token:?}")
                })?,
            ),
            None => {
                let (token, id) = encoder.default_eos().ok_or_else(|| {
                    anyhow!(
                        "tokenize.eos: the tokenizer ({source}) has none of the usual end-of-text tokens ({}); \
                         name the token to append to every document",
                        tamis_core::tokenize::EOS_CANDIDATES.join(", ")
                    )
                })?;
                (token.to_string(), id)
            }
        };
        let bos = match &config.bos {
            Some(token) => Some(encoder.token_id(token).ok_or_else(|| {
                anyhow!("tokenize.bos: the tokenizer ({source}) has no token {token:?}")
            })?),
            None => None,
        };
        let overhead = 1 + u32::from(bos.is_some());
        if let Some(max) = config.max_tokens
            && max <= overhead
        {
            bail!(
                "tokenize.max_tokens: {max} leaves no room for text beside the {overhead} token(s) of BOS and EOS"
            );
        }
        Ok(Self {
            id_space: encoder.id_space(),
            json,
            source,
            frame: Frame {
                bos,
                eos,
                max_tokens: config.max_tokens,
            },
            eos_token,
            bos_token: config.bos.clone(),
        })
    }
}

/// How a tokenize job is laid out.
pub struct TokenizePlan {
    pub inputs: Vec<InputFile>,
    pub output: PathBuf,
    pub workers: usize,
    pub batch_size: usize,
    /// Records per part (the unit of resumption).
    pub shard_size: u64,
    pub max_record_bytes: u64,
    /// This task's share of the input files.
    pub shard: Shard,
    pub quiet: bool,
}

/// Counts of one part: its done marker.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PartCounts {
    pub docs_in: u64,
    pub kept: u64,
    pub dropped: u64,
    pub errors: u64,
    pub bytes_in: u64,
    /// Tokens written (framed).
    pub tokens: u64,
    /// Kept documents cut at `max_tokens`.
    pub cut: u64,
    pub dropped_by_reason: BTreeMap<String, u64>,
    pub errors_by_kind: BTreeMap<String, u64>,
}

impl Tally for PartCounts {
    fn merge(&mut self, other: &Self) {
        self.docs_in += other.docs_in;
        self.kept += other.kept;
        self.dropped += other.dropped;
        self.errors += other.errors;
        self.bytes_in += other.bytes_in;
        self.tokens += other.tokens;
        self.cut += other.cut;
        for (k, v) in &other.dropped_by_reason {
            *self.dropped_by_reason.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.errors_by_kind {
            *self.errors_by_kind.entry(k.clone()).or_default() += v;
        }
    }
    fn check_accounting(&self) -> std::result::Result<(), String> {
        crate::stats::check_accounting(self.docs_in, self.kept, self.dropped, self.errors)
    }
    fn progress(&self) -> (u64, u64) {
        (self.docs_in, self.bytes_in)
    }
}

/// What became of one record.
enum Item {
    Kept(Vec<u32>),
    Dropped(String),
    Error(String),
}

/// Where a part's files go.
struct PartPaths {
    ids: PathBuf,
    lens: PathBuf,
    errors: PathBuf,
    dropped: PathBuf,
    marker: PathBuf,
}

impl PartPaths {
    fn new(out: &Path, file: &InputFile, chunk: u64) -> Self {
        let dir = file.relative_dir();
        let name = format!("{}-{chunk:05}", file.stem());
        let parts = out.join(".tamis").join("parts").join(&dir);
        Self {
            ids: parts.join(format!("{name}.ids")),
            lens: parts.join(format!("{name}.lens")),
            errors: out.join("errors").join(&dir).join(format!("{name}.jsonl")),
            dropped: out.join("dropped").join(&dir).join(format!("{name}.jsonl")),
            marker: out
                .join(".tamis")
                .join("done")
                .join(&dir)
                .join(format!("{name}.json")),
        }
    }
}

/// One part being written: ids streamed to a temporary file, the rest kept until the part is complete.
struct Part {
    paths: PartPaths,
    ids_tmp: PathBuf,
    ids: BufWriter<File>,
    lens: Vec<u8>,
    errors: String,
    dropped: String,
}

/// The judgment of `tamis tokenize`'s encode stage.
struct Encode<'a> {
    factory: &'a EngineFactory,
    frame: Frame,
    output: &'a Path,
}

impl Job for Encode<'_> {
    type Engine = Box<dyn CoreEngine>;
    type FileContext = ();
    type Item = Item;
    type Tally = PartCounts;
    type Output = Self;

    fn start_engine(&self) -> Result<Self::Engine> {
        self.factory.start()
    }
    fn file_context(&self, _: &Source) -> Result<()> {
        Ok(())
    }
    fn tally(&self) -> PartCounts {
        PartCounts::default()
    }

    fn judge(
        &self,
        engine: &mut Self::Engine,
        _: &(),
        source: &Source,
        mut records: Vec<Record>,
        counts: &mut PartCounts,
    ) -> Vec<Item> {
        let mut texts = Vec::with_capacity(records.len());
        for record in &mut records {
            if let Ok(parsed) = &mut record.parsed {
                texts.push(parsed.document.text.take().unwrap_or_default());
            }
        }
        let mut encoded = engine.tokenize(&texts).into_iter();
        let mut items = Vec::with_capacity(records.len());
        for record in &records {
            counts.docs_in += 1;
            counts.bytes_in += record.bytes.as_ref().map_or(0, |b| b.len() as u64);
            let parsed = match &record.parsed {
                Ok(parsed) => parsed,
                Err(e) => {
                    counts.errors += 1;
                    *counts.errors_by_kind.entry(e.kind.to_string()).or_default() += 1;
                    items.push(Item::Error(source.error_line(record, None, &e.message)));
                    continue;
                }
            };
            let id = parsed.document.id.as_str();
            match encoded.next() {
                Some(Ok(ids)) if ids.is_empty() => {
                    counts.dropped += 1;
                    *counts
                        .dropped_by_reason
                        .entry(NO_TOKENS.to_string())
                        .or_default() += 1;
                    items.push(Item::Dropped(dropped_line(source, record, id, NO_TOKENS)));
                }
                Some(Ok(ids)) => {
                    let framed = frame(&ids, &self.frame);
                    counts.kept += 1;
                    counts.tokens += framed.ids.len() as u64;
                    counts.cut += u64::from(framed.cut);
                    items.push(Item::Kept(framed.ids));
                }
                Some(Err(message)) => {
                    let kind = if message.starts_with("sandbox") {
                        message.split(':').next().unwrap_or("sandbox").to_string()
                    } else {
                        "tokenizer".to_string()
                    };
                    counts.errors += 1;
                    *counts.errors_by_kind.entry(kind).or_default() += 1;
                    items.push(Item::Error(source.error_line(record, Some(id), &message)));
                }
                None => {
                    counts.errors += 1;
                    *counts
                        .errors_by_kind
                        .entry("core error".into())
                        .or_default() += 1;
                    items.push(Item::Error(source.error_line(
                        record,
                        Some(id),
                        "the engine returned no token ids for this document",
                    )));
                }
            }
        }
        items
    }
    fn output(&self) -> &Self {
        self
    }
}

impl Output for Encode<'_> {
    type Item = Item;
    type Sink = Part;

    fn marker_path(&self, file: &InputFile, _: usize, chunk: u64) -> PathBuf {
        PartPaths::new(self.output, file, chunk).marker
    }

    fn open(&self, file: &InputFile, _: usize, chunk: u64) -> Result<Part> {
        let paths = PartPaths::new(self.output, file, chunk);
        if let Some(dir) = paths.ids.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let ids_tmp = paths.ids.with_extension("ids.tmp");
        let ids = BufWriter::with_capacity(
            1 << 20,
            File::create(&ids_tmp).with_context(|| format!("creating {}", ids_tmp.display()))?,
        );
        Ok(Part {
            paths,
            ids_tmp,
            ids,
            lens: Vec::new(),
            errors: String::new(),
            dropped: String::new(),
        })
    }

    fn write(&self, part: &mut Part, item: Item) -> Result<()> {
        match item {
            Item::Kept(ids) => {
                let mut bytes = Vec::with_capacity(ids.len() * 4);
                for id in &ids {
                    bytes.extend_from_slice(&id.to_le_bytes());
                }
                part.ids
                    .write_all(&bytes)
                    .with_context(|| format!("writing {}", part.ids_tmp.display()))?;
                let len = u32::try_from(ids.len())
                    .map_err(|_| anyhow!("a document of {} tokens", ids.len()))?;
                part.lens.extend_from_slice(&len.to_le_bytes());
            }
            Item::Dropped(line) => {
                part.dropped.push_str(&line);
                part.dropped.push('\n');
            }
            Item::Error(line) => {
                part.errors.push_str(&line);
                part.errors.push('\n');
            }
        }
        Ok(())
    }

    fn finish(&self, part: Part) -> Result<Vec<PathBuf>> {
        let Part {
            paths,
            ids_tmp,
            ids,
            lens,
            errors,
            dropped,
        } = part;
        ids.into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("writing {}", ids_tmp.display()))?;
        std::fs::rename(&ids_tmp, &paths.ids)
            .with_context(|| format!("renaming {} into place", ids_tmp.display()))?;
        write_atomically(&paths.lens, &lens)?;
        let mut files = vec![paths.ids, paths.lens];
        for (text, path) in [(errors, paths.errors), (dropped, paths.dropped)] {
            if !text.is_empty() {
                write_atomically(&path, text.as_bytes())?;
                files.push(path);
            }
        }
        Ok(files)
    }
}

fn dropped_line(source: &Source, record: &Record, id: &str, reason: &str) -> String {
    let origin = source.origin(record.position);
    let mut map = serde_json::Map::new();
    map.insert("file".into(), origin.file.into());
    map.insert(origin.key.into(), record.position.into());
    map.insert("id".into(), id.into());
    map.insert("reason".into(), reason.into());
    serde_json::Value::Object(map).to_string()
}

/// Identifies the job an output directory belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    tokenize: serde_json::Value,
    fields: serde_json::Value,
    /// xxh3-128 of the tokenizer.json handed to the core.
    tokenizer: String,
    inputs: Vec<InputIdentity>,
    shard_size: u64,
}

/// Tokens per document at a few percentiles (nearest rank: the smallest length with at least p % of
/// the documents at or below it).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Lengths {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    pub mean: f64,
}

impl Lengths {
    fn of(mut lengths: Vec<u32>) -> Self {
        if lengths.is_empty() {
            return Self::default();
        }
        lengths.sort_unstable();
        let n = lengths.len();
        let rank = |p: u64| -> u64 {
            let k = (p as usize * n).div_ceil(100).clamp(1, n);
            u64::from(lengths[k - 1])
        };
        Self {
            p50: rank(50),
            p90: rank(90),
            p99: rank(99),
            max: u64::from(lengths[n - 1]),
            mean: lengths.iter().map(|&l| l as f64).sum::<f64>() / n as f64,
        }
    }
}

/// One `.bin` / `.idx` pair written.
#[derive(Debug, Clone, Serialize)]
pub struct OutputFile {
    /// The path prefix, relative to the output folder (Megatron's `--data-path` takes it).
    pub prefix: String,
    pub documents: u64,
    pub tokens: u64,
}

/// `stats.json` of a tokenize job.
#[derive(Debug, Clone, Serialize)]
pub struct TokenizeReport {
    pub docs_in: u64,
    pub kept: u64,
    pub dropped: u64,
    pub errors: u64,
    pub dropped_by_reason: BTreeMap<String, u64>,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub bytes_in: u64,
    /// Documents written: the kept ones.
    pub documents: u64,
    pub tokens: u64,
    pub tokens_per_document: Lengths,
    pub max_tokens: Option<u32>,
    /// Documents cut at `max_tokens`, and their share of the documents written.
    pub cut: u64,
    pub cut_share: f64,
    pub tokenizer: String,
    pub eos: String,
    pub bos: Option<String>,
    pub dtype: TokenType,
    pub vocabulary: u64,
    pub shuffle_seed: Option<u64>,
    pub shard_tokens: Option<u64>,
    pub files: Vec<OutputFile>,
    pub encode_seconds: f64,
    pub write_seconds: f64,
    pub workers: usize,
}

/// What a tokenize invocation did: the report when the output was written, or just the encode stage's
/// counts when this task (`--shard i/N`) or others still have parts to encode.
pub enum Outcome {
    Written(Box<TokenizeReport>),
    Encoded {
        counts: PartCounts,
        /// Input files whose parts are not all done yet (of every task).
        files_pending: usize,
    },
}

/// Runs the encode stage over this task's share of the inputs, then, when every input's parts are done,
/// the write stage.
pub fn tokenize(
    config: &TokenizeConfig,
    fields: &Fields,
    tokenizer: &Tokenizer,
    factory: &EngineFactory,
    plan: &TokenizePlan,
) -> Result<Outcome> {
    check_manifest(config, fields, tokenizer, plan)?;
    let started = Instant::now();
    let files: Vec<usize> = (0..plan.inputs.len())
        .filter(|&i| plan.shard.takes(i))
        .collect();
    let encode = Encode {
        factory,
        frame: tokenizer.frame,
        output: &plan.output,
    };
    let finished = job::drive(
        &encode,
        &job::Plan {
            inputs: &plan.inputs,
            files,
            fields: fields.clone(),
            workers: plan.workers,
            batch_size: plan.batch_size,
            shard_size: plan.shard_size,
            max_record_bytes: plan.max_record_bytes,
            share: Shard::ALL,
            root: plan.output.clone(),
            quiet: plan.quiet,
            mirror: crate::remote::mirror(),
        },
    )?;
    let encode_seconds = started.elapsed().as_secs_f64();
    // Every input file's parts, in input order; a file another task has not finished stops the write. With a
    // remote output, the other tasks' parts are in the store.
    crate::remote::refresh()?;
    let mut parts = Vec::new();
    let mut pending = 0usize;
    for file in &plan.inputs {
        let paths = |chunk: u64| PartPaths::new(&plan.output, file, chunk);
        match job::finished_file::<PartCounts>(|chunk| paths(chunk).marker)? {
            Some(counts) => parts.extend(
                counts
                    .into_iter()
                    .enumerate()
                    .map(|(chunk, c)| (paths(chunk as u64), c)),
            ),
            None => pending += 1,
        }
    }
    if pending > 0 || plan.shard.count > 1 {
        return Ok(Outcome::Encoded {
            counts: finished.total,
            files_pending: pending,
        });
    }
    let written = Instant::now();
    let mut report = write(config, tokenizer, &parts, &plan.output)?;
    report.encode_seconds = encode_seconds;
    report.write_seconds = written.elapsed().as_secs_f64();
    report.workers = plan.workers;
    write_atomically(
        &plan.output.join("stats.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    Ok(Outcome::Written(Box::new(report)))
}

/// The write stage: every part's documents, in input order or shuffled, into `.bin` / `.idx` pairs.
fn write(
    config: &TokenizeConfig,
    tokenizer: &Tokenizer,
    parts: &[(PartPaths, PartCounts)],
    output: &Path,
) -> Result<TokenizeReport> {
    let mut total = PartCounts::default();
    // Per document: (part, offset in the part's ids, length).
    let mut docs: Vec<(u32, u64, u32)> = Vec::new();
    for (n, (paths, counts)) in parts.iter().enumerate() {
        total.merge(counts);
        let lens = std::fs::read(&paths.lens)
            .with_context(|| format!("reading {}", paths.lens.display()))?;
        if lens.len() as u64 != counts.kept * 4 {
            bail!(
                "{} holds {} lengths where its marker counts {} documents; delete its marker to encode it again",
                paths.lens.display(),
                lens.len() / 4,
                counts.kept
            );
        }
        let part = u32::try_from(n).map_err(|_| anyhow!("too many parts"))?;
        let mut offset = 0u64;
        for chunk in lens.chunks_exact(4) {
            let len = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            docs.push((part, offset, len));
            offset += u64::from(len);
        }
    }
    total.check_accounting().map_err(|e| anyhow!(e))?;
    let mut order: Vec<usize> = (0..docs.len()).collect();
    if let Some(seed) = config.shuffle_seed {
        shuffle(&mut order, seed);
    }
    let dtype = TokenType::for_vocabulary(tokenizer.id_space);
    let readers = parts
        .iter()
        .map(|(paths, _)| {
            File::open(&paths.ids).with_context(|| format!("opening {}", paths.ids.display()))
        })
        .collect::<Result<Vec<File>>>()?;
    let mut files = Vec::new();
    let mut writer: Option<DatasetWriter> = None;
    let mut bytes = Vec::new();
    let mut ids = Vec::new();
    let close = |writer: DatasetWriter, files: &mut Vec<OutputFile>| -> Result<()> {
        let (documents, tokens) = (writer.documents() as u64, writer.tokens());
        writer.finish()?;
        files.push(OutputFile {
            prefix: output_prefix(files.len()),
            documents,
            tokens,
        });
        Ok(())
    };
    for &d in &order {
        let (part, offset, len) = docs[d];
        let full = match (&writer, config.shard_tokens) {
            (Some(w), Some(limit)) => w.documents() > 0 && w.tokens() + u64::from(len) > limit,
            _ => false,
        };
        if full && let Some(w) = writer.take() {
            close(w, &mut files)?;
        }
        let w = match &mut writer {
            Some(w) => w,
            None => writer.insert(DatasetWriter::create(
                &output.join(output_prefix(files.len())),
                dtype,
            )?),
        };
        bytes.resize(len as usize * 4, 0);
        readers[part as usize]
            .read_exact_at(&mut bytes, offset * 4)
            .with_context(|| format!("reading {}", parts[part as usize].0.ids.display()))?;
        ids.clear();
        ids.extend(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        w.add_document(&ids)?;
    }
    match writer {
        Some(w) => close(w, &mut files)?,
        // No document at all: still one (empty) pair, so a trainer pointed at the output finds it.
        None => close(
            DatasetWriter::create(&output.join(output_prefix(0)), dtype)?,
            &mut files,
        )?,
    }
    remove_stale_outputs(output, files.len())?;
    let lengths = Lengths::of(docs.iter().map(|&(_, _, len)| len).collect());
    Ok(TokenizeReport {
        docs_in: total.docs_in,
        kept: total.kept,
        dropped: total.dropped,
        errors: total.errors,
        dropped_by_reason: total.dropped_by_reason,
        errors_by_kind: total.errors_by_kind,
        bytes_in: total.bytes_in,
        documents: docs.len() as u64,
        tokens: total.tokens,
        tokens_per_document: lengths,
        max_tokens: config.max_tokens,
        cut: total.cut,
        cut_share: if docs.is_empty() {
            0.0
        } else {
            total.cut as f64 / docs.len() as f64
        },
        tokenizer: tokenizer.source.clone(),
        eos: tokenizer.eos_token.clone(),
        bos: tokenizer.bos_token.clone(),
        dtype,
        vocabulary: tokenizer.id_space,
        shuffle_seed: config.shuffle_seed,
        shard_tokens: config.shard_tokens,
        files,
        encode_seconds: 0.0,
        write_seconds: 0.0,
        workers: 0,
    })
}

/// `tokens-NNNNN`: the prefix of output pair `n`.
fn output_prefix(n: usize) -> String {
    format!("tokens-{n:05}")
}

/// Removes pairs numbered `count` and above, left by an earlier write of the same job that was
/// interrupted after writing more files than this one (it cannot have, with the same inputs and config,
/// unless it was interrupted while a file was being renamed; cheap to be sure).
fn remove_stale_outputs(output: &Path, count: usize) -> Result<()> {
    for n in count.. {
        let (bin, idx) = crate::indexed_dataset::paths(&output.join(output_prefix(n)));
        if !bin.exists() && !idx.exists() {
            return Ok(());
        }
        for path in [bin, idx] {
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Fisher–Yates with ChaCha8 seeded by `seed`: the same seed gives the same order on every platform.
fn shuffle(order: &mut [usize], seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for i in (1..order.len()).rev() {
        let bound = i as u64 + 1;
        // Uniform in 0..=i without modulo bias: draws in the last incomplete block are redrawn.
        let zone = u64::MAX - (u64::MAX % bound);
        let j = loop {
            let x = rng.next_u64();
            if x < zone {
                break (x % bound) as usize;
            }
        };
        order.swap(i, j);
    }
}

fn check_manifest(
    config: &TokenizeConfig,
    fields: &Fields,
    tokenizer: &Tokenizer,
    plan: &TokenizePlan,
) -> Result<()> {
    let mut section = config.clone();
    // Where things are does not change the ids; the tokenizer's bytes are compared by hash below.
    section.input.clear();
    section.output.clear();
    let manifest = Manifest {
        tokenize: serde_json::to_value(&section)?,
        fields: serde_json::json!({"id": fields.id, "text": fields.text}),
        tokenizer: format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&tokenizer.json)),
        inputs: plan
            .inputs
            .iter()
            .map(InputFile::identity)
            .collect::<Result<_>>()?,
        shard_size: plan.shard_size,
    };
    let path = plan.output.join(".tamis").join("tokenize.json");
    job::bind_output(&path, &manifest, || {
        format!(
            "{} holds the output of a tokenize job with another config, tokenizer or inputs (or inputs changed \
                 since) or another shard size; choose another output, or delete it to start over",
            plan.output.display()
        )
    })
}

/// Every file the job wrote or read, for a record of the run (`lineage.json`): the inputs, and the
/// `.bin` / `.idx` pairs and `stats.json` under `output`.
pub fn output_files(report: &TokenizeReport, output: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for f in &report.files {
        let (bin, idx) = crate::indexed_dataset::paths(&output.join(&f.prefix));
        files.push(bin);
        files.push(idx);
    }
    files.push(output.join("stats.json"));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let l = Lengths::of((1..=100).collect());
        assert_eq!((l.p50, l.p90, l.p99, l.max), (50, 90, 99, 100));
        let one = Lengths::of(vec![7]);
        assert_eq!((one.p50, one.p99), (7, 7));
        let l = Lengths::of(vec![5, 1, 3]);
        // ceil(0.5 * 3) = 2nd smallest; ceil(0.9 * 3) = 3rd.
        assert_eq!((l.p50, l.p90), (3, 5));
    }

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut a: Vec<usize> = (0..1000).collect();
        let mut b = a.clone();
        shuffle(&mut a, 7);
        shuffle(&mut b, 7);
        assert_eq!(a, b);
        let mut c: Vec<usize> = (0..1000).collect();
        shuffle(&mut c, 8);
        assert_ne!(a, c);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(a, sorted);
    }
}
