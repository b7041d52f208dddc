//! Stage 1: fingerprints from the core, cut into keys and written to partitioned bucket files. The records
//! are read, batched and judged by the job driver (job.rs), in the sandbox like `tamis run`; this module is
//! the judgment (fingerprint -> keys) and where the keys go.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use tamis_core::Config;
use tamis_core::dedup::{band_keys, exact_key, paragraph_keys};

use super::sorter::FixedWriter;
use super::{DedupPlan, DocInfo, Entry, StageStats, Tag, doc_key, file_dir, partition_dir};
use crate::engine::{CoreEngine, EngineFactory};
use crate::input::InputFile;
use crate::job::{self, Job, Output, Record, Source, Tally};
use crate::record::Fields;

/// What a worker returns for one document the core fingerprinted (or failed to).
pub struct Keys {
    position: u64,
    length: u64,
    result: Result<(u64, Vec<u64>, f64), String>,
    paragraphs: Vec<tamis_core::dedup::ParagraphKey>,
}

/// Counts of one input file, kept in its done marker. Records that cannot be read or have no text are
/// `unreadable` here: the filter stage, which reads the file again, writes their error records.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    pub docs_in: u64,
    pub fingerprinted: u64,
    pub core_errors: u64,
    pub unreadable: u64,
    /// Bytes of text fingerprinted.
    pub bytes: u64,
}

impl Tally for Counts {
    fn merge(&mut self, other: &Self) {
        self.docs_in += other.docs_in;
        self.fingerprinted += other.fingerprinted;
        self.core_errors += other.core_errors;
        self.unreadable += other.unreadable;
        self.bytes += other.bytes;
    }
    fn check_accounting(&self) -> Result<(), String> {
        let out = self.fingerprinted + self.core_errors + self.unreadable;
        if out == self.docs_in {
            Ok(())
        } else {
            Err(format!(
                "accounting mismatch: {} documents in, but {} fingerprinted + {} core errors + {} unreadable = {out}",
                self.docs_in, self.fingerprinted, self.core_errors, self.unreadable
            ))
        }
    }
    fn progress(&self) -> (u64, u64) {
        (self.docs_in, self.bytes)
    }
}

/// The outputs of one input file: its bucket files, its document table and its fingerprinting errors.
pub struct Sink {
    index: usize,
    buckets: Vec<FixedWriter>,
    docs: FixedWriter,
    errors: std::io::BufWriter<std::fs::File>,
    errors_path: PathBuf,
}

/// The judgment of the signatures stage: the fingerprinting pipeline in one engine per worker.
struct Fingerprint<'a> {
    config: &'a Config,
    factory: &'a EngineFactory,
    plan: &'a DedupPlan,
}

impl Job for Fingerprint<'_> {
    type Engine = Box<dyn CoreEngine>;
    type FileContext = ();
    type Item = Keys;
    type Tally = Counts;
    type Output = Self;

    fn start_engine(&self) -> Result<Self::Engine> {
        self.factory.start()
    }
    fn file_context(&self, _: &Source) -> Result<()> {
        Ok(())
    }
    fn tally(&self) -> Counts {
        Counts::default()
    }

    fn judge(
        &self,
        engine: &mut Self::Engine,
        _: &(),
        _: &Source,
        records: Vec<Record>,
        counts: &mut Counts,
    ) -> Vec<Keys> {
        let rows = self.config.fingerprint.rows;
        let hash_bits = self.config.dedup.hash_bits;
        let interleaved = self.config.dedup.interleaved_bands;
        let paragraphs = &self.config.dedup.paragraphs;
        let mut positions = Vec::with_capacity(records.len());
        let mut documents = Vec::with_capacity(records.len());
        for record in records {
            counts.docs_in += 1;
            match record.parsed {
                Ok(parsed) if parsed.document.text.is_some() => {
                    let mut document = parsed.document;
                    document.html = None;
                    positions.push(record.position);
                    documents.push(document);
                }
                _ => counts.unreadable += 1,
            }
        }
        let result = engine.process(&documents);
        let mut judgments = result.judgments.into_iter();
        positions
            .iter()
            .zip(&documents)
            .map(|(&position, document)| {
                let text = document.text.as_deref().unwrap_or_default();
                let judgment = judgments.next().unwrap_or_else(|| {
                    Err(tamis_core::DocumentError {
                        id: document.id.clone(),
                        message: "the engine returned no judgment for this document".into(),
                    })
                });
                let result = judgment.map_err(|e| e.message).and_then(|o| {
                    let hashes = o.hashes.ok_or("the core returned no hashes")?;
                    let exact = exact_key(&hashes.exact)
                        .ok_or("the core returned a malformed exact hash")?;
                    let score = o
                        .scores
                        .iter()
                        .find(|s| s.name == "quality_score")
                        .map_or(0.0, |s| s.value);
                    Ok((
                        exact,
                        band_keys(&hashes.minhash, rows, hash_bits, interleaved),
                        score,
                    ))
                });
                match &result {
                    Ok(_) => {
                        counts.fingerprinted += 1;
                        counts.bytes += text.len() as u64;
                    }
                    Err(_) => counts.core_errors += 1,
                }
                Keys {
                    position,
                    length: text.len() as u64,
                    result,
                    paragraphs: if paragraphs.enabled {
                        paragraph_keys(text, paragraphs.min_chars)
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect()
    }
    fn output(&self) -> &Self {
        self
    }
}

impl Output for Fingerprint<'_> {
    type Item = Keys;
    type Sink = Sink;

    fn marker_path(&self, _: &InputFile, index: usize, _: u64) -> PathBuf {
        marker_path(self.plan, index)
    }

    fn open(&self, _: &InputFile, index: usize, _: u64) -> Result<Sink> {
        let plan = self.plan;
        let dir = plan.work.join("signatures").join(file_dir(index));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let bucket_path = |p: usize| {
            plan.work
                .join("buckets")
                .join("in")
                .join(partition_dir(p))
                .join(format!("{}.bin", file_dir(index)))
        };
        let buckets = (0..self.config.dedup.partitions)
            .map(|p| FixedWriter::create(&bucket_path(p)))
            .collect::<Result<Vec<_>>>()?;
        let errors_path = dir.join("errors.jsonl");
        Ok(Sink {
            index,
            buckets,
            docs: FixedWriter::create(&dir.join("docs.bin"))?,
            errors: std::io::BufWriter::new(
                std::fs::File::create(&errors_path)
                    .with_context(|| format!("creating {}", errors_path.display()))?,
            ),
            errors_path,
        })
    }

    fn write(&self, sink: &mut Sink, k: Keys) -> Result<()> {
        let doc = doc_key(sink.index, k.position);
        let (exact, bands, score) = match k.result {
            Err(message) => {
                let line = serde_json::json!({"position": k.position, "error": message});
                return writeln!(sink.errors, "{line}")
                    .with_context(|| format!("writing {}", sink.errors_path.display()));
            }
            Ok(keys) => keys,
        };
        sink.docs.write(&DocInfo {
            doc,
            length: k.length,
            score,
        })?;
        let partitions = sink.buckets.len() as u64;
        let buckets = &mut sink.buckets;
        let mut put = |tag: Tag, key: u64, aux: u32| {
            let p = (key % partitions) as usize;
            buckets[p].write(&Entry { tag, key, doc, aux })
        };
        if self.config.dedup.exact {
            put(Tag::Exact, exact, 0)?;
        }
        if self.config.dedup.near {
            for (band, key) in bands.into_iter().enumerate() {
                put(Tag::Band, key, band as u32)?;
            }
        }
        for p in k.paragraphs {
            put(Tag::Paragraph, p.key, p.index)?;
        }
        Ok(())
    }

    fn finish(&self, sink: Sink) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for b in sink.buckets {
            files.push(b.finish()?);
        }
        files.push(sink.docs.finish()?);
        let mut errors = sink.errors;
        errors
            .flush()
            .with_context(|| format!("writing {}", sink.errors_path.display()))?;
        files.push(sink.errors_path);
        Ok(files)
    }
}

pub fn run(
    config: &Config,
    fields: &Fields,
    factory: &EngineFactory,
    plan: &DedupPlan,
) -> Result<Vec<StageStats>> {
    let started = Instant::now();
    let finished = job::drive(
        &Fingerprint {
            config,
            factory,
            plan,
        },
        &plan.record_job(fields, plan.work.clone()),
    )?;
    if finished.shards_written == 0 {
        return Ok(Vec::new());
    }
    let counts = finished.total;
    let mut stats = StageStats {
        stage: "signatures".into(),
        unit: format!("{} files", finished.shards_written),
        docs: counts.fingerprinted + counts.core_errors,
        bytes: counts.bytes,
        seconds: started.elapsed().as_secs_f64(),
        detail: Default::default(),
    };
    stats
        .detail
        .insert("fingerprinted".into(), counts.fingerprinted.into());
    stats
        .detail
        .insert("core_errors".into(), counts.core_errors.into());
    Ok(vec![stats])
}

fn marker_path(plan: &DedupPlan, file: usize) -> PathBuf {
    plan.work
        .join("signatures")
        .join(file_dir(file))
        .join("stats.json")
}

/// Is every input file fingerprinted? The next stage needs all of them.
pub fn check_done(plan: &DedupPlan) -> Result<()> {
    for (i, f) in plan.inputs.iter().enumerate() {
        if !marker_path(plan, i).is_file() {
            anyhow::bail!(
                "the signatures stage has not finished {} (file {i}); run `--stage signatures` for every shard first",
                f.relative.display()
            );
        }
    }
    Ok(())
}

/// Reads a file's fingerprinting errors: position -> message.
pub fn errors(work: &Path, file: usize) -> Result<std::collections::HashMap<u64, String>> {
    let path = work
        .join("signatures")
        .join(file_dir(file))
        .join("errors.jsonl");
    let mut out = std::collections::HashMap::new();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {} is corrupt", path.display(), i + 1))?;
        let position = v["position"]
            .as_u64()
            .ok_or_else(|| anyhow!("{} line {} has no position", path.display(), i + 1))?;
        out.insert(
            position,
            v["error"].as_str().unwrap_or_default().to_string(),
        );
    }
    Ok(out)
}
