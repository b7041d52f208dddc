//! Stage 4: every record read again and written to kept/, dropped/ or errors/ as the clusters stage
//! decided. The job driver (job.rs) reads, batches (in parallel, with `workers`), writes in order and keeps
//! the markers, as for `tamis run`; this module is the per-record decision.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tamis_core::Config;
use tamis_core::dedup::remove_paragraphs;

use super::{Decision, DedupPlan, StageStats};
use crate::job::{self, Job, Record, Source, Tally};
use crate::output::{Batch, Destination, RecordShards, ShardPaths, write_atomically};
use crate::record::Fields;
use crate::stats::check_accounting;

/// The counts of one file, kept in its done marker and summed into `stats.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileCounts {
    pub docs_in: u64,
    pub kept: u64,
    pub dropped: u64,
    pub errors: u64,
    pub dropped_by_reason: BTreeMap<String, u64>,
    pub kept_with_paragraphs_removed: u64,
    pub bytes_in: u64,
    pub bytes_kept: u64,
}

impl FileCounts {
    fn add(&mut self, other: &FileCounts) {
        self.docs_in += other.docs_in;
        self.kept += other.kept;
        self.dropped += other.dropped;
        self.errors += other.errors;
        for (k, v) in &other.dropped_by_reason {
            *self.dropped_by_reason.entry(k.clone()).or_default() += v;
        }
        self.kept_with_paragraphs_removed += other.kept_with_paragraphs_removed;
        self.bytes_in += other.bytes_in;
        self.bytes_kept += other.bytes_kept;
    }
}

/// `stats.json` of a finished dedup.
#[derive(Debug, Serialize, Deserialize)]
pub struct Totals {
    #[serde(flatten)]
    pub counts: FileCounts,
    pub clusters: Value,
}

impl Tally for FileCounts {
    fn merge(&mut self, other: &Self) {
        self.add(other)
    }
    fn check_accounting(&self) -> Result<(), String> {
        check_accounting(self.docs_in, self.kept, self.dropped, self.errors)
    }
    fn progress(&self) -> (u64, u64) {
        (self.docs_in, self.bytes_in)
    }
}

/// What the earlier stages decided for one input file.
struct Decided {
    /// Position -> decision, for the documents in a cluster or losing paragraphs.
    decisions: HashMap<u64, Decision>,
    /// Position -> message, for the documents the core could not fingerprint.
    failed: HashMap<u64, String>,
}

/// The judgment of the filter stage: each record carried to where the clusters stage decided.
struct Filter<'a> {
    config: &'a Config,
    plan: &'a DedupPlan,
    output: RecordShards,
}

impl Job for Filter<'_> {
    type Engine = ();
    type FileContext = Decided;
    type Item = Result<Batch>;
    type Tally = FileCounts;
    type Output = RecordShards;

    fn start_engine(&self) -> Result<()> {
        Ok(())
    }

    fn file_context(&self, source: &Source) -> Result<Decided> {
        Ok(Decided {
            decisions: decisions(self.plan, source.index)?,
            failed: super::signatures::errors(&self.plan.work, source.index)?,
        })
    }

    fn tally(&self) -> FileCounts {
        FileCounts::default()
    }

    fn judge(
        &self,
        _: &mut (),
        decided: &Decided,
        source: &Source,
        records: Vec<Record>,
        counts: &mut FileCounts,
    ) -> Vec<Result<Batch>> {
        let lines = records
            .into_iter()
            .map(|record| self.one(decided, source, record, counts))
            .collect();
        vec![Batch::encode(source.file, lines)]
    }

    fn output(&self) -> &RecordShards {
        &self.output
    }
}

impl Filter<'_> {
    fn one(
        &self,
        decided: &Decided,
        source: &Source,
        record: Record,
        counts: &mut FileCounts,
    ) -> (Destination, String) {
        let fields = source.fields;
        counts.docs_in += 1;
        let error = |counts: &mut FileCounts, id: Option<&str>, message: &str| {
            counts.errors += 1;
            (Destination::Errors, source.error_line(&record, id, message))
        };
        counts.bytes_in += record.bytes.as_ref().map_or(0, |b| b.len() as u64);
        let parsed = match &record.parsed {
            Ok(p) => p,
            Err(e) => return error(counts, None, &e.message),
        };
        let id = parsed.document.id.clone();
        let Some(text) = parsed.document.text.clone() else {
            let message = format!(
                "record {id} has no text field `{}`: dedup reads extracted text (run `tamis run` with the html step first)",
                fields.text
            );
            return error(counts, Some(&id), &message);
        };
        if let Some(message) = decided.failed.get(&record.position) {
            return error(
                counts,
                Some(&id),
                &format!("fingerprinting failed: {message}"),
            );
        }
        let mut object = parsed.object.clone();
        let Some(decision) = decided.decisions.get(&record.position) else {
            counts.kept += 1;
            counts.bytes_kept += text.len() as u64;
            return (Destination::Kept, Value::Object(object).to_string());
        };
        if let Some(kind) = &decision.kind {
            let reason = format!("{kind}_duplicate");
            let mut note = Map::new();
            note.insert("verdict".into(), "drop".into());
            note.insert("reason".into(), reason.clone().into());
            note.insert("cluster_id".into(), decision.cluster_id.into());
            note.insert("cluster_size".into(), decision.cluster_size.into());
            note.insert("duplicate_of".into(), decision.duplicate_of.clone().into());
            object.insert("dedup".into(), Value::Object(note));
            counts.dropped += 1;
            *counts.dropped_by_reason.entry(reason).or_default() += 1;
            return (Destination::Dropped, Value::Object(object).to_string());
        }
        let mut metadata = Map::new();
        if let (Some(id), Some(size)) = (decision.cluster_id, decision.cluster_size) {
            metadata.insert("cluster_id".into(), id.into());
            metadata.insert("cluster_size".into(), size.into());
        }
        let min_words_left = self.config.dedup.paragraphs.min_words_left;
        let mut kept_text = text;
        if !decision.paragraphs.is_empty() {
            let trimmed = remove_paragraphs(&kept_text, &decision.paragraphs);
            if trimmed.words_left < min_words_left {
                let reason = "paragraph_duplicates".to_string();
                let mut note = Map::new();
                note.insert("verdict".into(), "drop".into());
                note.insert("reason".into(), reason.clone().into());
                note.insert("paragraphs_removed".into(), trimmed.lines_removed.into());
                note.insert("words_left".into(), trimmed.words_left.into());
                note.insert("min_words_left".into(), min_words_left.into());
                object.insert("dedup".into(), Value::Object(note));
                counts.dropped += 1;
                *counts.dropped_by_reason.entry(reason).or_default() += 1;
                return (Destination::Dropped, Value::Object(object).to_string());
            }
            metadata.insert("paragraphs_removed".into(), trimmed.lines_removed.into());
            counts.kept_with_paragraphs_removed += 1;
            kept_text = trimmed.text;
        }
        counts.kept += 1;
        counts.bytes_kept += kept_text.len() as u64;
        object.insert(fields.text.clone(), Value::String(kept_text));
        annotate_metadata(&mut object, metadata);
        (Destination::Kept, Value::Object(object).to_string())
    }
}

pub fn run(config: &Config, fields: &Fields, plan: &DedupPlan) -> Result<Vec<StageStats>> {
    super::clusters::check_done(plan)?;
    let started = Instant::now();
    let finished = job::drive(
        &Filter {
            config,
            plan,
            output: RecordShards::new(&plan.output),
        },
        &plan.record_job(fields, plan.output.clone()),
    )?;
    write_totals(plan)?;
    if finished.shards_written == 0 {
        return Ok(Vec::new());
    }
    let counts = finished.total;
    let mut stats = StageStats {
        stage: "filter".into(),
        unit: format!("{} files", finished.shards_written),
        docs: counts.docs_in,
        bytes: counts.bytes_in,
        seconds: started.elapsed().as_secs_f64(),
        detail: Default::default(),
    };
    if let Value::Object(map) = serde_json::to_value(&counts)? {
        stats.detail = map;
    }
    Ok(vec![stats])
}

/// Sums the done markers into `stats.json` once every file is filtered, and checks the accounting.
fn write_totals(plan: &DedupPlan) -> Result<()> {
    // With a remote output, the other tasks' markers are in the store.
    crate::remote::refresh()?;
    let mut totals = FileCounts::default();
    for file in &plan.inputs {
        let paths = ShardPaths::new(&plan.output, file, 0);
        let Some(counts) = job::read_marker::<FileCounts>(&paths.marker)? else {
            return Ok(());
        };
        totals.add(&counts);
    }
    check_accounting(totals.docs_in, totals.kept, totals.dropped, totals.errors)
        .map_err(|e| anyhow!(e))?;
    let report: Value = serde_json::from_str(&std::fs::read_to_string(
        super::clusters::report_path(plan),
    )?)?;
    let totals = Totals {
        counts: totals,
        clusters: report,
    };
    write_atomically(
        &plan.output.join("stats.json"),
        serde_json::to_string_pretty(&totals)?.as_bytes(),
    )
}

/// Reads what was decided for one file: position -> decision.
fn decisions(plan: &DedupPlan, file: usize) -> Result<HashMap<u64, Decision>> {
    let path = super::clusters::decisions_path(plan, file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let d: Decision = serde_json::from_str(line)
                .with_context(|| format!("{} line {} is corrupt", path.display(), i + 1))?;
            Ok((d.position, d))
        })
        .collect()
}

/// Adds dedup facts to the record's `metadata` object (created when absent). A record whose `metadata`
/// is not an object keeps it untouched and gets the facts under `dedup` instead.
fn annotate_metadata(object: &mut Map<String, Value>, facts: Map<String, Value>) {
    if facts.is_empty() {
        return;
    }
    match object.get_mut("metadata") {
        Some(Value::Object(m)) => m.extend(facts),
        None | Some(Value::Null) => {
            object.insert("metadata".into(), Value::Object(facts));
        }
        Some(_) => {
            object.insert("dedup".into(), Value::Object(facts));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_go_into_metadata_or_beside_it() {
        let facts: Map<String, Value> = serde_json::from_str(r#"{"cluster_id": 3}"#).unwrap();
        let mut with: Map<String, Value> =
            serde_json::from_str(r#"{"metadata": {"source": "web"}}"#).unwrap();
        annotate_metadata(&mut with, facts.clone());
        assert_eq!(
            Value::Object(with).to_string(),
            r#"{"metadata":{"source":"web","cluster_id":3}}"#
        );
        let mut odd: Map<String, Value> = serde_json::from_str(r#"{"metadata": "x"}"#).unwrap();
        annotate_metadata(&mut odd, facts);
        assert_eq!(
            Value::Object(odd).to_string(),
            r#"{"metadata":"x","dedup":{"cluster_id":3}}"#
        );
    }
}
