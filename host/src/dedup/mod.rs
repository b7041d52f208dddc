//! `tamis dedup`: exact, near-duplicate and paragraph dedup across every input file.
//!
//! The job runs in four stages that talk only through files, so each can run as its own task (a job
//! array on a cluster scheduler, with `--stage` and `--shard i/N`) and each resumes where it stopped:
//!
//! 1. `signatures` (sharded by input file): the core computes every document's exact hash and MinHash
//!    signature (in the sandbox, like `tamis run`); the host cuts them into keys: one exact key, one key
//!    per LSH band, and (when paragraph dedup is on) one key per long paragraph. Keys go to bucket files,
//!    partitioned by key.
//! 2. `buckets` (sharded by partition): each partition is sorted by key within the memory budget
//!    (external sort) and equal keys become edges between documents (exact or near) or groups of
//!    repeated paragraphs.
//! 3. `clusters` (one task): union-find over the edges gives clusters; the keep policy picks one document
//!    per cluster; repeated paragraphs of the surviving documents are assigned for removal. Its memory is
//!    proportional to the number of documents that have a duplicate, not to the dataset.
//! 4. `filter` (sharded by input file): every record is read again and written to kept/, dropped/
//!    (with the reason and the document it duplicates) or errors/, so `kept + dropped + errors = in`.
//!
//! # The work directory (`dedup.work_dir`, by default `<output>/.work`)
//!
//! ```text
//! run.json                          the config and inputs the work belongs to
//! signatures/<file>/docs.bin        per document: key, text length, quality score (24 bytes each)
//! signatures/<file>/errors.jsonl    documents the core could not fingerprint, with the message
//! signatures/<file>/stats.json      done marker with counts and timing
//! buckets/in/<partition>/<file>.bin keys of that partition from that file (24-byte entries)
//! buckets/out/<partition>/edges.bin document pairs that share an exact or band key
//! buckets/out/<partition>/paragraphs.bin  sorted occurrences of paragraphs seen more than once
//! buckets/out/<partition>/stats.json      done marker
//! clusters/<file>.jsonl             what happens to the documents of one input file that are in a
//!                                   cluster or lose paragraphs, by position
//! clusters/report.json              clusters, size histogram, examples; done marker of the stage
//! ```
//!
//! A document's key is `file_index << 40 | position` (1-based line of JSONL, 0-based row of Parquet), with
//! files in sorted order: so "first seen" is simply the smallest key.

mod buckets;
mod clusters;
mod filter;
mod signatures;
pub mod sorter;

pub use filter::FileCounts;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use tamis_core::Config;

use crate::engine::EngineFactory;
use crate::input::InputFile;
use crate::output::write_atomically;
use crate::record::Fields;
use sorter::Fixed;

/// Which stages a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    All,
    Signatures,
    Buckets,
    Clusters,
    Filter,
}

pub use crate::shard::Shard;

/// Everything a stage needs to know.
pub struct DedupPlan {
    pub inputs: Vec<InputFile>,
    pub output: PathBuf,
    pub work: PathBuf,
    pub workers: usize,
    pub batch_size: usize,
    pub max_record_bytes: u64,
    pub shard: Shard,
    pub quiet: bool,
}

impl DedupPlan {
    /// The job-driver plan of a stage that reads the input records (signatures, filter): this task's share
    /// of the input files, one shard per file, markers kept under `root`.
    pub fn record_job(&self, fields: &Fields, root: PathBuf) -> crate::job::Plan<'_> {
        crate::job::Plan {
            inputs: &self.inputs,
            files: (0..self.inputs.len())
                .filter(|i| self.shard.takes(*i))
                .collect(),
            fields: fields.clone(),
            workers: self.workers,
            batch_size: self.batch_size,
            shard_size: u64::MAX,
            max_record_bytes: self.max_record_bytes,
            share: Shard::ALL,
            root,
            quiet: self.quiet,
            mirror: crate::remote::mirror(),
        }
    }
}

/// What each key of a bucket entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Tag {
    Exact = 0,
    Band = 1,
    Paragraph = 2,
}

/// One key of one document, in a bucket file. Sorted by tag, then key: equal keys are adjacent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub tag: Tag,
    pub key: u64,
    pub doc: u64,
    /// The band (near) or the line number (paragraph).
    pub aux: u32,
}

impl Fixed for Entry {
    const SIZE: usize = 24;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.key.to_le_bytes());
        out.extend_from_slice(&self.doc.to_le_bytes());
        out.extend_from_slice(&self.aux.to_le_bytes());
        out.extend_from_slice(&(self.tag as u32).to_le_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        let tag = match u32::from_le_bytes(b[20..24].try_into().expect("4 bytes")) {
            0 => Tag::Exact,
            1 => Tag::Band,
            _ => Tag::Paragraph,
        };
        Self {
            tag,
            key: u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            doc: u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")),
            aux: u32::from_le_bytes(b[16..20].try_into().expect("4 bytes")),
        }
    }
}

/// Per document, what the keep policy needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DocInfo {
    pub doc: u64,
    pub length: u64,
    pub score: f64,
}

impl Eq for DocInfo {}
impl PartialOrd for DocInfo {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for DocInfo {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.doc.cmp(&other.doc)
    }
}

impl Fixed for DocInfo {
    const SIZE: usize = 24;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.doc.to_le_bytes());
        out.extend_from_slice(&self.length.to_le_bytes());
        out.extend_from_slice(&self.score.to_le_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        Self {
            doc: u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            length: u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")),
            score: f64::from_le_bytes(b[16..24].try_into().expect("8 bytes")),
        }
    }
}

/// Two documents that share a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub a: u64,
    pub b: u64,
    pub exact: bool,
}

impl Fixed for Edge {
    const SIZE: usize = 17;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.a.to_le_bytes());
        out.extend_from_slice(&self.b.to_le_bytes());
        out.push(u8::from(self.exact));
    }
    fn decode(b: &[u8]) -> Self {
        Self {
            a: u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            b: u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")),
            exact: b[16] == 1,
        }
    }
}

pub const POSITION_BITS: u32 = 40;

pub fn doc_key(file: usize, position: u64) -> u64 {
    ((file as u64) << POSITION_BITS) | position
}

pub fn split_key(key: u64) -> (usize, u64) {
    (
        (key >> POSITION_BITS) as usize,
        key & ((1 << POSITION_BITS) - 1),
    )
}

/// Where a document is, for people: `web/part-1.jsonl.gz:17`.
pub fn describe(inputs: &[InputFile], key: u64) -> String {
    let (file, position) = split_key(key);
    match inputs.get(file) {
        Some(f) => format!("{}:{position}", f.relative.display()),
        None => format!("file {file}:{position}"),
    }
}

/// What happens to one document, decided by the clusters stage and carried out by the filter stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub position: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_size: Option<u64>,
    /// Set when the document is removed: the kept document it duplicates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// `exact` or `near`, when removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Lines to remove because they were seen before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paragraphs: Vec<u32>,
}

pub fn file_dir(index: usize) -> String {
    format!("{index:05}")
}

pub fn partition_dir(index: usize) -> String {
    format!("{index:04}")
}

/// Timing and volume of one stage task, printed and kept as its done marker.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StageStats {
    pub stage: String,
    pub unit: String,
    pub docs: u64,
    pub bytes: u64,
    pub seconds: f64,
    #[serde(default)]
    pub detail: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Manifest {
    dedup: serde_json::Value,
    fingerprint: serde_json::Value,
    inputs: Vec<crate::input::InputIdentity>,
}

/// The config of the core pipeline that fingerprints documents for dedup: normalization as configured,
/// the quality score when the keep policy needs it, then the fingerprint. `evaluate_all` so a document
/// that a score threshold would drop is still fingerprinted.
pub fn signature_config(config: &Config) -> Config {
    use tamis_core::StepName;
    let mut c = config.clone();
    c.steps = vec![StepName::Normalize];
    if c.dedup.keep == tamis_core::dedup::KeepPolicy::QualityScore {
        c.steps.push(StepName::QualityScore);
    }
    c.steps.push(StepName::Fingerprint);
    c.evaluate_all = true;
    c
}

fn check_manifest(config: &Config, plan: &DedupPlan) -> Result<()> {
    let manifest = Manifest {
        dedup: serde_json::to_value(&config.dedup)?,
        fingerprint: serde_json::to_value(&config.fingerprint)?,
        inputs: plan
            .inputs
            .iter()
            .map(InputFile::identity)
            .collect::<Result<_>>()?,
    };
    let path = plan.work.join("run.json");
    crate::job::bind_output(&path, &manifest, || {
        format!(
            "{} belongs to a dedup with another config or other inputs; choose another output or work_dir, or delete it to start over",
            plan.work.display()
        )
    })
}

/// Runs the chosen stages; returns the stats of every stage task that ran.
pub fn dedup(
    config: &Config,
    fields: &Fields,
    factory: &EngineFactory,
    plan: &DedupPlan,
    stage: Stage,
) -> Result<Vec<StageStats>> {
    check_manifest(config, plan)?;
    let started = Instant::now();
    let mut stats = Vec::new();
    if matches!(stage, Stage::All | Stage::Signatures) {
        stats.extend(signatures::run(config, fields, factory, plan)?);
    }
    if matches!(stage, Stage::All | Stage::Buckets) {
        stats.extend(buckets::run(config, plan)?);
    }
    if matches!(stage, Stage::All | Stage::Clusters) {
        if plan.shard.count > 1 {
            bail!(
                "the clusters stage is one task (union-find over all edges): run it without --shard"
            );
        }
        stats.extend(clusters::run(config, plan)?);
    }
    if matches!(stage, Stage::All | Stage::Filter) {
        stats.extend(filter::run(config, fields, plan)?);
    }
    if !plan.quiet {
        eprintln!(
            "tamis dedup: stage {} done in {:.2} s",
            format!("{stage:?}").to_lowercase(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(stats)
}

/// Reads a stage's done marker, if the unit is done.
fn done_marker(path: &Path) -> Result<Option<StageStats>> {
    if !path.is_file() {
        return Ok(None);
    }
    let stats = serde_json::from_str(&std::fs::read_to_string(path)?).with_context(|| {
        format!(
            "{} is corrupt; delete it to redo that part of the stage",
            path.display()
        )
    })?;
    Ok(Some(stats))
}

fn write_marker(path: &Path, stats: &StageStats) -> Result<()> {
    write_atomically(path, serde_json::to_string_pretty(stats)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_units() {
        let s = Shard::parse("1/3").unwrap();
        assert!(s.takes(1) && s.takes(4) && !s.takes(0));
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("x").is_err());
    }

    #[test]
    fn entries_round_trip_and_sort_by_tag_then_key() {
        let e = Entry {
            tag: Tag::Paragraph,
            key: u64::MAX - 3,
            doc: doc_key(7, 12),
            aux: 9,
        };
        let mut bytes = Vec::new();
        e.encode(&mut bytes);
        assert_eq!(bytes.len(), Entry::SIZE);
        assert_eq!(Entry::decode(&bytes), e);
        let exact = Entry {
            tag: Tag::Exact,
            key: u64::MAX,
            doc: 0,
            aux: 0,
        };
        assert!(exact < e);
        assert_eq!(split_key(e.doc), (7, 12));
    }
}
