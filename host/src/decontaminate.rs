//! `tamis decontaminate`: an n-gram index of benchmark items, and every input document checked against
//! it. Contaminated documents are dropped (or flagged) with the benchmark, the item and the matched span.
//!
//! The index and the matching are the core's (`tamis_core::contamination`); the index is built once and
//! shared read-only by the driver's workers (job.rs), so this judgment runs the core natively rather than
//! in the sandbox, where every instance would need its own copy of the index (see the README). Output
//! layout, atomic shards, resume markers and accounting are the driver's, as for `tamis run`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tamis_core::Config;
use tamis_core::contamination::{ContaminationAction, IndexStats, NgramIndex};

use crate::input::{ByteCounter, InputFile};
use crate::job::{self, Job, Record, Source, Tally};
use crate::output::{Batch, Destination, RecordShards, write_atomically};
use crate::record::Fields;
use crate::shard::Shard;

pub struct Plan {
    pub inputs: Vec<InputFile>,
    pub max_record_bytes: u64,
    pub output: PathBuf,
    /// The config file's folder: benchmark paths are relative to it.
    pub base: PathBuf,
    pub workers: usize,
    /// Records per output shard: the unit of resumption, and of `--shard` within a file.
    pub shard_size: u64,
    /// This task's share of every file's shards, or the whole job.
    pub shard: Shard,
    pub quiet: bool,
}

/// One contaminated document, as listed in `report.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub file: String,
    pub position: u64,
    pub id: String,
    pub benchmark: String,
    pub item: String,
    pub ngrams: usize,
    pub span: String,
}

/// Counts of one input file: its done marker.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct FileCounts {
    docs_in: u64,
    kept: u64,
    dropped: u64,
    errors: u64,
    contaminated: u64,
    bytes_in: u64,
    by_benchmark: BTreeMap<String, u64>,
    findings: Vec<Finding>,
}

/// `stats.json` of a decontamination.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub docs_in: u64,
    pub kept: u64,
    pub dropped: u64,
    pub errors: u64,
    pub contaminated: u64,
    /// Contaminated documents per benchmark (a document matching two benchmarks counts for both).
    pub by_benchmark: BTreeMap<String, u64>,
    pub index: BTreeMap<String, IndexStats>,
    pub ngram: usize,
    pub bytes_in: u64,
    pub index_seconds: f64,
    pub scan_seconds: f64,
    /// For a sharded job: its task count (the counts are the whole job's, written by the last task).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<usize>,
    /// Whether the counts are the whole job's; false in a task whose job other tasks are still doing.
    #[serde(skip)]
    pub complete: bool,
}

/// Builds the index from the configured benchmark files. A benchmark record without its id or a text
/// field is an error naming the file and line: a silently skipped item is a silently missed leak.
pub fn build_index(config: &Config, base: &Path, max_record_bytes: u64) -> Result<NgramIndex> {
    let dc = &config.decontaminate;
    if dc.benchmarks.is_empty() {
        bail!("decontaminate.benchmarks is empty: name at least one benchmark file to look for");
    }
    let mut index = NgramIndex::new(dc.ngram);
    for bench in &dc.benchmarks {
        let specs: Vec<String> = bench
            .path
            .iter()
            .map(|p| base.join(p).display().to_string())
            .collect();
        let files =
            crate::input::discover(&specs).with_context(|| format!("benchmark {}", bench.name))?;
        for file in files {
            let name = file.relative.display().to_string();
            for raw in crate::input::records(&file, ByteCounter::default(), max_record_bytes)? {
                let at = || format!("benchmark {} {name} line {}", bench.name, raw.position);
                let body = raw
                    .body
                    .clone()
                    .map_err(|e| anyhow!("{}: {}", at(), e.message))?;
                let value: Value = serde_json::from_slice(&body)
                    .map_err(|e| anyhow!("{}: invalid JSON: {e}", at()))?;
                let id = match value.get(&bench.id_key) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => bail!("{}: no `{}` field to name the item", at(), bench.id_key),
                };
                let mut texts = Vec::new();
                for field in &bench.fields {
                    match value.get(field) {
                        Some(Value::String(s)) => texts.push(s.as_str()),
                        _ => bail!("{}: item {id} has no text field `{field}`", at()),
                    }
                }
                index.add(&bench.name, &id, &texts);
            }
        }
    }
    Ok(index)
}

impl Tally for FileCounts {
    fn merge(&mut self, other: &Self) {
        self.docs_in += other.docs_in;
        self.kept += other.kept;
        self.dropped += other.dropped;
        self.errors += other.errors;
        self.contaminated += other.contaminated;
        self.bytes_in += other.bytes_in;
        for (k, v) in &other.by_benchmark {
            *self.by_benchmark.entry(k.clone()).or_default() += v;
        }
        self.findings.extend(other.findings.iter().cloned());
    }
    fn check_accounting(&self) -> Result<(), String> {
        crate::stats::check_accounting(self.docs_in, self.kept, self.dropped, self.errors)
    }
    fn progress(&self) -> (u64, u64) {
        (self.docs_in, self.bytes_in)
    }
}

/// The judgment of `tamis decontaminate`: each document looked up in the shared index.
struct Scan<'a> {
    config: &'a Config,
    index: &'a NgramIndex,
    output: RecordShards,
}

impl Job for Scan<'_> {
    type Engine = ();
    type FileContext = ();
    type Item = Result<Batch>;
    type Tally = FileCounts;
    type Output = RecordShards;

    fn start_engine(&self) -> Result<()> {
        Ok(())
    }
    fn file_context(&self, _: &Source) -> Result<()> {
        Ok(())
    }
    fn tally(&self) -> FileCounts {
        FileCounts::default()
    }

    fn judge(
        &self,
        _: &mut (),
        _: &(),
        source: &Source,
        records: Vec<Record>,
        counts: &mut FileCounts,
    ) -> Vec<Result<Batch>> {
        let mut lines = Vec::with_capacity(records.len());
        for record in records {
            counts.docs_in += 1;
            counts.bytes_in += record.bytes.as_ref().map_or(0, |b| b.len() as u64);
            match judge(&record, self.config, self.index, source) {
                Judged::Clean(line) => {
                    counts.kept += 1;
                    lines.push((Destination::Kept, line));
                }
                Judged::Error(line) => {
                    counts.errors += 1;
                    lines.push((Destination::Errors, line));
                }
                Judged::Contaminated(line, findings) => {
                    counts.contaminated += 1;
                    let mut benches: Vec<&str> =
                        findings.iter().map(|f| f.benchmark.as_str()).collect();
                    benches.sort_unstable();
                    benches.dedup();
                    for b in benches {
                        *counts.by_benchmark.entry(b.to_string()).or_default() += 1;
                    }
                    counts.findings.extend(findings);
                    match self.config.decontaminate.action {
                        ContaminationAction::Drop => {
                            counts.dropped += 1;
                            lines.push((Destination::Dropped, line));
                        }
                        ContaminationAction::Flag => {
                            counts.kept += 1;
                            lines.push((Destination::Kept, line));
                        }
                    }
                }
            }
        }
        vec![Batch::encode(source.file, lines)]
    }

    fn output(&self) -> &RecordShards {
        &self.output
    }
}

/// Documents per batch handed to a worker.
const BATCH: usize = 256;

pub fn decontaminate(config: &Config, fields: &Fields, plan: &Plan) -> Result<Report> {
    let started = Instant::now();
    let index = build_index(config, &plan.base, plan.max_record_bytes)?;
    let mut report = Report {
        ngram: config.decontaminate.ngram,
        index: index
            .stats()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        index_seconds: started.elapsed().as_secs_f64(),
        ..Default::default()
    };
    if !plan.quiet {
        for (name, s) in &report.index {
            eprintln!(
                "decontaminate: {name}: {} items, {} {}-grams ({} items too short to index)",
                s.items, s.ngrams, report.ngram, s.items_too_short
            );
        }
    }
    let scan = Instant::now();
    let scan_job = Scan {
        config,
        index: &index,
        output: RecordShards::new(&plan.output),
    };
    let job_plan = job::Plan {
        inputs: &plan.inputs,
        files: (0..plan.inputs.len()).collect(),
        fields: fields.clone(),
        workers: plan.workers,
        batch_size: BATCH,
        shard_size: plan.shard_size,
        max_record_bytes: plan.max_record_bytes,
        share: plan.shard,
        root: plan.output.clone(),
        quiet: plan.quiet,
        mirror: crate::remote::mirror(),
    };
    let finished = job::drive(&scan_job, &job_plan)?;
    report.complete = true;
    let counts = if plan.shard.is_split() {
        // One task of several: the report is the whole job's, written once every task's shards are done.
        report.tasks = Some(plan.shard.count);
        match job::job_totals(&scan_job, &job_plan)? {
            Some(total) => {
                total.check_accounting().map_err(|e| anyhow!(e))?;
                total
            }
            None => {
                report.complete = false;
                finished.total
            }
        }
    } else {
        finished.total
    };
    report.docs_in = counts.docs_in;
    report.kept = counts.kept;
    report.dropped = counts.dropped;
    report.errors = counts.errors;
    report.contaminated = counts.contaminated;
    report.bytes_in = counts.bytes_in;
    report.by_benchmark = counts.by_benchmark;
    report.scan_seconds = scan.elapsed().as_secs_f64();
    if !report.complete {
        return Ok(report);
    }
    // Shards finish in any order across files: the report lists findings in input order.
    let order: std::collections::HashMap<String, usize> = plan
        .inputs
        .iter()
        .enumerate()
        .map(|(i, f)| (f.relative.display().to_string(), i))
        .collect();
    let mut findings = counts.findings;
    findings.sort_by_key(|f| (order.get(&f.file).copied(), f.position));
    let mut lines = String::new();
    for f in &findings {
        lines.push_str(&serde_json::to_string(f)?);
        lines.push('\n');
    }
    write_atomically(&plan.output.join("report.jsonl"), lines.as_bytes())?;
    write_atomically(
        &plan.output.join("stats.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    Ok(report)
}

/// What happened to one record.
enum Judged {
    Clean(String),
    Contaminated(String, Vec<Finding>),
    Error(String),
}

fn judge(record: &Record, config: &Config, index: &NgramIndex, source: &Source) -> Judged {
    let parsed = match &record.parsed {
        Ok(p) => p,
        Err(e) => return Judged::Error(source.error_line(record, None, &e.message)),
    };
    let name = source.name.as_str();
    let id = parsed.document.id.clone();
    // Pages are checked in their HTML when no text was extracted: a leaked item is in the markup too.
    let Some(text) = parsed
        .document
        .text
        .as_ref()
        .or(parsed.document.html.as_ref())
    else {
        let message = format!("record {id} has no text");
        return Judged::Error(source.error_line(record, Some(&id), &message));
    };
    let found = index.find(text, config.decontaminate.min_ngrams);
    let mut object = parsed.object.clone();
    if found.is_empty() {
        return Judged::Clean(Value::Object(object).to_string());
    }
    let action = config.decontaminate.action;
    let mut matches = Vec::new();
    let mut findings = Vec::new();
    for m in &found {
        let span = excerpt(&text[m.start..m.end], 300);
        let mut entry = Map::new();
        entry.insert("benchmark".into(), m.benchmark.clone().into());
        entry.insert("item".into(), m.item.clone().into());
        entry.insert("ngrams".into(), m.ngrams.into());
        entry.insert("start".into(), m.start.into());
        entry.insert("end".into(), m.end.into());
        entry.insert("span".into(), span.clone().into());
        matches.push(Value::Object(entry));
        findings.push(Finding {
            file: name.to_string(),
            position: record.position,
            id: id.clone(),
            benchmark: m.benchmark.clone(),
            item: m.item.clone(),
            ngrams: m.ngrams,
            span,
        });
    }
    let mut note = Map::new();
    let verdict = match action {
        ContaminationAction::Drop => "drop",
        ContaminationAction::Flag => "flag",
    };
    note.insert("verdict".into(), verdict.into());
    note.insert(
        "reason".into(),
        format!(
            "shares {} {}-grams with {} {}",
            found[0].ngrams, config.decontaminate.ngram, found[0].benchmark, found[0].item
        )
        .into(),
    );
    note.insert("matches".into(), Value::Array(matches));
    object.insert("decontaminate".into(), Value::Object(note));
    Judged::Contaminated(Value::Object(object).to_string(), findings)
}

/// At most `max` characters, cut on a character boundary.
fn excerpt(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_on_characters() {
        assert_eq!(excerpt("héllo", 2), "hé…");
        assert_eq!(excerpt("hi", 5), "hi");
    }

    #[test]
    fn findings_report_is_keyed_by_benchmark() {
        let mut index = NgramIndex::new(3);
        index.add("b", "item-1", &["one two three four"]);
        let config = Config::default();
        let fields = Fields {
            id: "id".into(),
            text: "text".into(),
            html: None,
            url: None,
        };
        let bytes = br#"{"id": "d", "text": "x One, two three! y"}"#.to_vec();
        let file = InputFile {
            path: "in.jsonl".into(),
            relative: "in.jsonl".into(),
            format: crate::input::InputFormat::Jsonl,
            size: 0,
            remote: None,
        };
        let source = Source::new(0, &file, &fields);
        let record = Record {
            position: 4,
            parsed: crate::record::parse(&bytes, &fields, &source.origin(4)),
            bytes: Some(bytes),
        };
        let judged = judge(&record, &config, &index, &source);
        let Judged::Contaminated(line, findings) = judged else {
            panic!("expected a match")
        };
        assert_eq!(findings[0].item, "item-1");
        assert_eq!(findings[0].span, "One, two three");
        assert!(line.contains(r#""verdict":"drop""#), "{line}");
    }
}
