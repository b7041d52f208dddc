//! Stage 4: every record read again and written to kept/, dropped/ or errors/ as the clusters stage
//! decided, with the same layout, atomic shards and resume markers as `tamis run`.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tamis_core::Config;
use tamis_core::dedup::remove_paragraphs;

use super::{Decision, DedupPlan, StageStats};
use crate::input::{ByteCounter, InputFile, InputFormat};
use crate::output::{Destination, ShardPaths, ShardWriter, write_atomically};
use crate::record::{Fields, Origin, error_record, parse};
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

pub fn run(config: &Config, fields: &Fields, plan: &DedupPlan) -> Result<Vec<StageStats>> {
    super::clusters::check_done(plan)?;
    let mut all = Vec::new();
    for (index, file) in plan.inputs.iter().enumerate() {
        if !plan.shard.takes(index) {
            continue;
        }
        let paths = ShardPaths::new(&plan.output, file, 0);
        if paths.is_done() {
            continue;
        }
        let stats = one_file(config, fields, plan, index, file, paths)?;
        if !plan.quiet {
            eprintln!(
                "dedup filter: {} ({} docs, {:.1} MB/s)",
                file.relative.display(),
                stats.docs,
                stats.bytes as f64 / 1e6 / stats.seconds.max(1e-9)
            );
        }
        all.push(stats);
    }
    write_totals(plan)?;
    Ok(all)
}

/// Sums the done markers into `stats.json` once every file is filtered, and checks the accounting.
fn write_totals(plan: &DedupPlan) -> Result<()> {
    let mut totals = FileCounts::default();
    for file in &plan.inputs {
        let paths = ShardPaths::new(&plan.output, file, 0);
        if !paths.is_done() {
            return Ok(());
        }
        let marker: StageStats = serde_json::from_str(&std::fs::read_to_string(&paths.marker)?)
            .with_context(|| format!("{} is corrupt", paths.marker.display()))?;
        let counts: FileCounts = serde_json::from_value(Value::Object(marker.detail))
            .with_context(|| format!("{} is corrupt", paths.marker.display()))?;
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

fn one_file(
    config: &Config,
    fields: &Fields,
    plan: &DedupPlan,
    index: usize,
    file: &InputFile,
    paths: ShardPaths,
) -> Result<StageStats> {
    let started = Instant::now();
    let decided = decisions(plan, index)?;
    let failed = super::signatures::errors(&plan.work, index)?;
    let min_words_left = config.dedup.paragraphs.min_words_left;
    let name = file.relative.display().to_string();
    let is_row = file.format == InputFormat::Parquet;
    let mut writer = ShardWriter::new(paths);
    let mut counts = FileCounts::default();
    for raw in crate::input::records(file, ByteCounter::default())? {
        counts.docs_in += 1;
        let origin = Origin {
            file: &name,
            position: raw.position,
            is_row,
        };
        let body = match raw.body {
            Ok(b) => b,
            Err(message) => {
                counts.errors += 1;
                writer.write(
                    Destination::Errors,
                    &error_record(&origin, None, &message, None),
                )?;
                continue;
            }
        };
        counts.bytes_in += body.len() as u64;
        let parsed = match parse(&body, fields, &origin) {
            Ok(p) => p,
            Err(message) => {
                counts.errors += 1;
                writer.write(
                    Destination::Errors,
                    &error_record(&origin, None, &message, Some(&body)),
                )?;
                continue;
            }
        };
        let id = parsed.document.id.clone();
        let Some(text) = parsed.document.text else {
            counts.errors += 1;
            let message = format!(
                "record {id} has no text field `{}`: dedup reads extracted text (run `tamis run` with the html step first)",
                fields.text
            );
            writer.write(
                Destination::Errors,
                &error_record(&origin, Some(&id), &message, Some(&body)),
            )?;
            continue;
        };
        if let Some(message) = failed.get(&raw.position) {
            counts.errors += 1;
            writer.write(
                Destination::Errors,
                &error_record(
                    &origin,
                    Some(&id),
                    &format!("fingerprinting failed: {message}"),
                    Some(&body),
                ),
            )?;
            continue;
        }
        let mut object = parsed.object;
        let Some(decision) = decided.get(&raw.position) else {
            counts.kept += 1;
            counts.bytes_kept += text.len() as u64;
            writer.write(Destination::Kept, &Value::Object(object).to_string())?;
            continue;
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
            writer.write(Destination::Dropped, &Value::Object(object).to_string())?;
            continue;
        }
        let mut metadata = Map::new();
        if let (Some(id), Some(size)) = (decision.cluster_id, decision.cluster_size) {
            metadata.insert("cluster_id".into(), id.into());
            metadata.insert("cluster_size".into(), size.into());
        }
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
                writer.write(Destination::Dropped, &Value::Object(object).to_string())?;
                continue;
            }
            metadata.insert("paragraphs_removed".into(), trimmed.lines_removed.into());
            counts.kept_with_paragraphs_removed += 1;
            kept_text = trimmed.text;
        }
        counts.kept += 1;
        counts.bytes_kept += kept_text.len() as u64;
        object.insert(fields.text.clone(), Value::String(kept_text));
        annotate_metadata(&mut object, metadata);
        writer.write(Destination::Kept, &Value::Object(object).to_string())?;
    }
    let mut stats = StageStats {
        stage: "filter".into(),
        unit: name,
        docs: counts.docs_in,
        bytes: counts.bytes_in,
        seconds: started.elapsed().as_secs_f64(),
        detail: Default::default(),
    };
    check_accounting(counts.docs_in, counts.kept, counts.dropped, counts.errors)
        .map_err(|e| anyhow!("{}: {e}", stats.unit))?;
    if let Value::Object(map) = serde_json::to_value(&counts)? {
        stats.detail = map;
    }
    writer.finish_with(&serde_json::to_string_pretty(&stats)?)?;
    Ok(stats)
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
