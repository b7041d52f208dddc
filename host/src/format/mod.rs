//! `tamis format`: cleaned records to training records (instruction, conversation, prompt/completion,
//! domain adaptation), rendered into one `text` and split into train / validation / test by a hash of
//! the record id.
//!
//! The records go through the job driver (job.rs) like `tamis run`'s: workers, shards written under
//! temporary names and marked done, resume, and the accounting `docs_in = kept + errors` with
//! `kept = train + validation + test`. The judgment is native (field mapping and a template; nothing in it
//! needs the sandbox's isolation from the text, and the chat template engine runs in its own sandboxed
//! environment).
//!
//! # The output directory
//!
//! For an input `IN/<dir>/<name>.<ext>` and its shard `N` (records `N * shard_size ..`):
//!
//! ```text
//! OUT/train/<dir>/<name>-0000N.<ext>        {"id", <the kind's fields>, "text"}, one per record
//! OUT/validation/<dir>/<name>-0000N.<ext>
//! OUT/test/<dir>/<name>-0000N.<ext>
//! OUT/errors/<dir>/<name>-0000N.<ext>       {"file", "line" or "row", "id", "error", "record"}
//! OUT/stats.json                            the accounting, per split and per error kind
//! OUT/lineage.json                          what made this directory (host/src/lineage.rs)
//! OUT/.tamis/format.json                    the config and inputs of the job: a re-run with others is refused
//! OUT/.tamis/done/<dir>/<name>-0000N.json   the shard's done marker
//! ```
//!
//! The per-split folders are what trainers load (`data_files={"train": "train/**/*.jsonl.gz", ...}`).

pub mod template;
pub mod training;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tamis_core::Config;
use tamis_core::format::{FormatConfig, FormatKind, Split, TemplateKind, split_of};

use crate::input::{InputFile, InputFormat, InputIdentity};
use crate::job::{self, Job, Output, Record, Source, Tally};
use crate::output::{ShardPaths, Sink, write_atomically};
use crate::record::Fields;

use template::{ChatTemplate, TokenizerConfig};
use training::Training;

/// How a format job is laid out.
pub struct Plan {
    pub inputs: Vec<InputFile>,
    pub output: PathBuf,
    /// The config file's folder: `tokenizer_config` is relative to it.
    pub base: PathBuf,
    pub workers: usize,
    /// Records per output shard.
    pub shard_size: u64,
    pub max_record_bytes: u64,
    pub quiet: bool,
}

/// The counts of a shard, a file or the whole job.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    pub docs_in: u64,
    /// Written as training records: `train + validation + test`.
    pub kept: u64,
    pub errors: u64,
    pub train: u64,
    pub validation: u64,
    pub test: u64,
    pub bytes_in: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
}

impl Counts {
    fn error(&mut self, kind: &str) {
        self.errors += 1;
        *self.errors_by_kind.entry(kind.to_string()).or_default() += 1;
    }
}

impl Tally for Counts {
    fn merge(&mut self, other: &Self) {
        self.docs_in += other.docs_in;
        self.kept += other.kept;
        self.errors += other.errors;
        self.train += other.train;
        self.validation += other.validation;
        self.test += other.test;
        self.bytes_in += other.bytes_in;
        for (k, v) in &other.errors_by_kind {
            *self.errors_by_kind.entry(k.clone()).or_default() += v;
        }
    }
    fn check_accounting(&self) -> Result<(), String> {
        crate::stats::check_accounting(self.docs_in, self.kept, 0, self.errors)?;
        let split = self.train + self.validation + self.test;
        if split != self.kept {
            return Err(format!(
                "accounting mismatch: kept {} != train {} + validation {} + test {}",
                self.kept, self.train, self.validation, self.test
            ));
        }
        Ok(())
    }
    fn progress(&self) -> (u64, u64) {
        (self.docs_in, self.bytes_in)
    }
}

/// `stats.json` of a format job.
#[derive(Debug, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub counts: Counts,
    pub kind: FormatKind,
    pub template: TemplateKind,
    pub seconds: f64,
    pub workers: usize,
    pub shards_written: u64,
    pub shards_skipped: u64,
}

/// How the `text` field is made.
enum Renderer {
    Seed { eos: String },
    Chat(Box<ChatTemplate>),
    None,
}

/// The tokenizer config the format section names, read and parsed; `None` when it names none.
pub fn tokenizer_config(
    config: &FormatConfig,
    base: &Path,
) -> Result<Option<(PathBuf, TokenizerConfig)>> {
    let Some(relative) = &config.tokenizer_config else {
        return Ok(None);
    };
    let path = base.join(relative);
    let bytes = crate::read_bounded(&path, MAX_TOKENIZER_CONFIG_BYTES)
        .with_context(|| format!("format.tokenizer_config: reading {}", path.display()))?;
    let parsed = TokenizerConfig::parse(&bytes)
        .with_context(|| format!("format.tokenizer_config: {}", path.display()))?;
    Ok(Some((path, parsed)))
}

/// A tokenizer config is a few kB (templates included); a path such as `/dev/zero` must not be read
/// without end.
const MAX_TOKENIZER_CONFIG_BYTES: u64 = 16 << 20;

fn renderer(config: &FormatConfig, tokenizer: Option<&TokenizerConfig>) -> Result<Renderer> {
    let token = |name: &str| tokenizer.and_then(|t| t.special_tokens.get(name)).cloned();
    Ok(match config.template {
        TemplateKind::None => Renderer::None,
        TemplateKind::Seed => Renderer::Seed {
            eos: config
                .eos_token
                .clone()
                .or_else(|| token("eos_token"))
                .unwrap_or_default(),
        },
        TemplateKind::Chat => {
            let tokenizer =
                tokenizer.context("format.tokenizer_config is required by template = \"chat\"")?;
            let source = tokenizer.chat_template.as_deref().ok_or_else(|| {
                anyhow!("format.tokenizer_config has no chat_template; use template = \"seed\" for this model")
            })?;
            let mut tokens = tokenizer.special_tokens.clone();
            if let Some(eos) = &config.eos_token {
                tokens.insert("eos_token".into(), eos.clone());
            }
            Renderer::Chat(Box::new(ChatTemplate::new(source, tokens)?))
        }
    })
}

/// The judgment of `tamis format`.
struct Formatter<'a> {
    config: &'a FormatConfig,
    id_key: &'a str,
    renderer: Renderer,
    output: &'a Path,
}

/// Where one record goes: a split with its training record, or the errors with its error record.
type Item = (Option<Split>, String);

impl Formatter<'_> {
    /// One record: its object and id, the training record, its text, its split.
    fn format(&self, record: Record, source: &Source, counts: &mut Counts) -> Item {
        let place = format!("{}:{}", source.name, record.position);
        let read = match (record.parsed, &record.bytes) {
            (Ok(parsed), _) => Ok((parsed.object, parsed.document.id)),
            // The driver's reader wants a text field, which a record for formatting need not have
            // (`question` / `answer`, `messages`): read the object again without asking for one.
            (Err(_), Some(bytes)) => tamis_core::record::read_object(bytes)
                .and_then(|object| {
                    let id = tamis_core::record::record_id(&object, self.id_key, &place)?;
                    Ok((object, id))
                })
                .map_err(|e| (e.kind(), e.to_string())),
            (Err(e), None) => Err((e.kind, e.message)),
        };
        let (object, id) = match read {
            Ok(read) => read,
            Err((kind, message)) => {
                counts.error(kind);
                let line =
                    source.error_line(&record_ref(record.position, &record.bytes), None, &message);
                return (None, line);
            }
        };
        let fail = |counts: &mut Counts, kind: &str, message: &str| -> Item {
            counts.error(kind);
            let line = source.error_line(
                &record_ref(record.position, &record.bytes),
                Some(&id),
                &format!("record {id}: {message}"),
            );
            (None, line)
        };
        let training = match Training::build(&object, self.config) {
            Ok(t) => t,
            Err(e) => return fail(counts, e.kind, &e.message),
        };
        let text = match &self.renderer {
            Renderer::None => None,
            Renderer::Seed { eos } => Some(match &training {
                Training::Instruction {
                    instruction,
                    input,
                    output,
                } => template::seed::instruction(instruction, input, output, eos),
                Training::PromptCompletion { prompt, completion } => {
                    template::seed::prompt_completion(prompt, completion, eos)
                }
                Training::Conversation { messages } => template::seed::conversation(messages, eos),
            }),
            Renderer::Chat(chat) => {
                match chat.render(&training.messages(self.config.system.as_deref())) {
                    Ok(text) => Some(text),
                    Err(message) => return fail(counts, "chat template", &message),
                }
            }
        };
        let mut out = Map::new();
        out.insert("id".into(), Value::String(id.clone()));
        training.write_fields(&mut out);
        if let Some(text) = text {
            out.insert("text".into(), Value::String(text));
        }
        let split = split_of(&id, &self.config.splits, self.config.split_seed);
        counts.kept += 1;
        match split {
            Split::Train => counts.train += 1,
            Split::Validation => counts.validation += 1,
            Split::Test => counts.test += 1,
        }
        (Some(split), Value::Object(out).to_string())
    }
}

/// A record that lends only its place and bytes, for its error line.
fn record_ref(position: u64, bytes: &Option<Vec<u8>>) -> Record {
    Record {
        position,
        bytes: bytes.clone(),
        parsed: Err(crate::record::RecordError::new("", "")),
    }
}

/// The four outputs of one shard, opened on first use.
pub struct SplitWriter {
    paths: BTreeMap<Option<Split>, PathBuf>,
    format: InputFormat,
    input: PathBuf,
    sinks: BTreeMap<Option<Split>, Sink>,
}

impl SplitWriter {
    fn new(out: &Path, file: &InputFile, chunk: u64) -> Self {
        let name = format!("{}-{chunk:05}.{}", file.stem(), file.format.extension());
        let mut paths = BTreeMap::new();
        for split in Split::ALL {
            paths.insert(
                Some(split),
                out.join(split.name()).join(file.relative_dir()).join(&name),
            );
        }
        paths.insert(
            None,
            out.join("errors").join(file.relative_dir()).join(&name),
        );
        Self {
            paths,
            format: file.format.output(),
            input: file.path.clone(),
            sinks: BTreeMap::new(),
        }
    }

    fn write(&mut self, split: Option<Split>, line: &str) -> Result<()> {
        if !self.sinks.contains_key(&split) {
            let path = &self.paths[&split];
            // Error records carry broken input, which has no Parquet schema: they stay JSONL.
            let format = match (split, self.format) {
                (None, InputFormat::Parquet) => InputFormat::Jsonl,
                (_, format) => format,
            };
            let path = if split.is_none() && self.format == InputFormat::Parquet {
                path.with_extension("jsonl")
            } else {
                path.clone()
            };
            self.sinks
                .insert(split, Sink::open(&path, format, &self.input)?);
        }
        self.sinks
            .get_mut(&split)
            .expect("opened above")
            .write(line)
    }

    fn finish(self) -> Result<Vec<PathBuf>> {
        self.sinks.into_values().map(Sink::finish).collect()
    }
}

impl Job for Formatter<'_> {
    type Engine = ();
    type FileContext = ();
    type Item = Item;
    type Tally = Counts;
    type Output = Self;

    fn start_engine(&self) -> Result<()> {
        Ok(())
    }
    fn file_context(&self, _: &Source) -> Result<()> {
        Ok(())
    }
    fn tally(&self) -> Counts {
        Counts::default()
    }

    fn judge(
        &self,
        _: &mut (),
        _: &(),
        source: &Source,
        records: Vec<Record>,
        counts: &mut Counts,
    ) -> Vec<Item> {
        records
            .into_iter()
            .map(|record| {
                counts.docs_in += 1;
                counts.bytes_in += record.bytes.as_ref().map_or(0, |b| b.len() as u64);
                self.format(record, source, counts)
            })
            .collect()
    }
    fn output(&self) -> &Self {
        self
    }
}

impl Output for Formatter<'_> {
    type Item = Item;
    type Sink = SplitWriter;

    fn marker_path(&self, file: &InputFile, _: usize, chunk: u64) -> PathBuf {
        ShardPaths::new(self.output, file, chunk).marker
    }
    fn open(&self, file: &InputFile, _: usize, chunk: u64) -> Result<SplitWriter> {
        Ok(SplitWriter::new(self.output, file, chunk))
    }
    fn write(&self, sink: &mut SplitWriter, (split, line): Item) -> Result<()> {
        sink.write(split, &line)
    }
    fn finish(&self, sink: SplitWriter) -> Result<Vec<PathBuf>> {
        sink.finish()
    }
}

/// Identifies the job an output directory holds, so a re-run with another config or other inputs does
/// not mix records of two jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    format: Value,
    id_key: String,
    inputs: Vec<InputIdentity>,
    shard_size: u64,
}

fn check_manifest(config: &Config, plan: &Plan) -> Result<()> {
    let manifest = Manifest {
        format: serde_json::to_value(&config.format)?,
        id_key: config.io.id_key.clone(),
        inputs: plan
            .inputs
            .iter()
            .map(InputFile::identity)
            .collect::<Result<_>>()?,
        shard_size: plan.shard_size,
    };
    let path = plan.output.join(".tamis").join("format.json");
    job::bind_output(&path, &manifest, || {
        format!(
            "{} holds the records of a format job with another config, other inputs (or inputs changed since) \
                 or another shard size; choose another --output, or delete it to start over",
            plan.output.display()
        )
    })
}

/// Documents per batch handed to a worker.
const BATCH: usize = 256;

/// Runs the job; returns its report once the accounting holds, with the files it read besides the inputs
/// (the tokenizer config), for the lineage.
pub fn format(config: &Config, plan: &Plan) -> Result<(Report, Vec<PathBuf>)> {
    let started = Instant::now();
    let tokenizer = tokenizer_config(&config.format, &plan.base)?;
    let renderer = renderer(&config.format, tokenizer.as_ref().map(|(_, t)| t))?;
    check_manifest(config, plan)?;
    let fields = Fields::from_io(&config.io);
    let formatter = Formatter {
        config: &config.format,
        id_key: &config.io.id_key,
        renderer,
        output: &plan.output,
    };
    let finished = job::drive(
        &formatter,
        &job::Plan {
            inputs: &plan.inputs,
            files: (0..plan.inputs.len()).collect(),
            fields,
            workers: plan.workers,
            batch_size: BATCH,
            shard_size: plan.shard_size,
            max_record_bytes: plan.max_record_bytes,
            share: crate::shard::Shard::ALL,
            root: plan.output.clone(),
            quiet: plan.quiet,
            mirror: crate::remote::mirror(),
        },
    )?;
    let report = Report {
        counts: finished.total,
        kind: config.format.kind,
        template: config.format.template,
        seconds: started.elapsed().as_secs_f64(),
        workers: plan.workers,
        shards_written: finished.shards_written,
        shards_skipped: finished.shards_skipped,
    };
    write_atomically(
        &plan.output.join("stats.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    Ok((
        report,
        tokenizer.into_iter().map(|(path, _)| path).collect(),
    ))
}
