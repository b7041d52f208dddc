//! `tamis decontaminate`: an n-gram index of benchmark items, and every input document checked against
//! it. Contaminated documents are dropped (or flagged) with the benchmark, the item and the matched span.
//!
//! The index and the matching are the core's (`tamis_core::contamination`); the index is built once and
//! shared by the worker threads, so this command runs the core natively rather than in the sandbox,
//! where every instance would need its own copy of the index. Output layout, atomic shards and resume
//! markers are those of `tamis run` (see output.rs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tamis_core::Config;
use tamis_core::contamination::{ContaminationAction, IndexStats, NgramIndex};

use crate::input::{ByteCounter, InputFile, InputFormat, RawRecord};
use crate::output::{Destination, ShardPaths, ShardWriter, write_atomically};
use crate::record::{Fields, Origin, error_record, parse};

pub struct Plan {
    pub inputs: Vec<InputFile>,
    pub output: PathBuf,
    /// The config file's folder: benchmark paths are relative to it.
    pub base: PathBuf,
    pub workers: usize,
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
}

/// Builds the index from the configured benchmark files. A benchmark record without its id or a text
/// field is an error naming the file and line: a silently skipped item is a silently missed leak.
pub fn build_index(config: &Config, base: &Path) -> Result<NgramIndex> {
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
            for raw in crate::input::records(&file, ByteCounter::default())? {
                let at = || format!("benchmark {} {name} line {}", bench.name, raw.position);
                let body = raw.body.clone().map_err(|e| anyhow!("{}: {e}", at()))?;
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

pub fn decontaminate(config: &Config, fields: &Fields, plan: &Plan) -> Result<Report> {
    let started = Instant::now();
    let index = build_index(config, &plan.base)?;
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
    let mut findings = Vec::new();
    for (i, file) in plan.inputs.iter().enumerate() {
        let paths = ShardPaths::new(&plan.output, file, 0);
        let counts = if paths.is_done() {
            serde_json::from_str(&std::fs::read_to_string(&paths.marker)?).with_context(|| {
                format!(
                    "{} is corrupt; delete it to redo the file",
                    paths.marker.display()
                )
            })?
        } else {
            let counts = one_file(config, fields, plan, &index, file, paths)?;
            if !plan.quiet {
                eprintln!(
                    "decontaminate: {} ({}/{}): {} docs, {} contaminated",
                    file.relative.display(),
                    i + 1,
                    plan.inputs.len(),
                    counts.docs_in,
                    counts.contaminated
                );
            }
            counts
        };
        report.docs_in += counts.docs_in;
        report.kept += counts.kept;
        report.dropped += counts.dropped;
        report.errors += counts.errors;
        report.contaminated += counts.contaminated;
        report.bytes_in += counts.bytes_in;
        for (k, v) in &counts.by_benchmark {
            *report.by_benchmark.entry(k.clone()).or_default() += v;
        }
        findings.extend(counts.findings);
    }
    report.scan_seconds = scan.elapsed().as_secs_f64();
    crate::stats::check_accounting(report.docs_in, report.kept, report.dropped, report.errors)
        .map_err(|e| anyhow!(e))?;
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

fn judge(
    raw: RawRecord,
    config: &Config,
    fields: &Fields,
    index: &NgramIndex,
    name: &str,
    is_row: bool,
) -> (Judged, u64) {
    let origin = Origin {
        file: name,
        position: raw.position,
        is_row,
    };
    let body = match raw.body {
        Ok(b) => b,
        Err(message) => {
            return (
                Judged::Error(error_record(&origin, None, &message, None)),
                0,
            );
        }
    };
    let bytes = body.len() as u64;
    let parsed = match parse(&body, fields, &origin) {
        Ok(p) => p,
        Err(message) => {
            return (
                Judged::Error(error_record(&origin, None, &message, Some(&body))),
                bytes,
            );
        }
    };
    let id = parsed.document.id;
    // Pages are checked in their HTML when no text was extracted: a leaked item is in the markup too.
    let Some(text) = parsed.document.text.or(parsed.document.html) else {
        let message = format!("record {id} has no text");
        return (
            Judged::Error(error_record(&origin, Some(&id), &message, Some(&body))),
            bytes,
        );
    };
    let found = index.find(&text, config.decontaminate.min_ngrams);
    let mut object = parsed.object;
    if found.is_empty() {
        return (Judged::Clean(Value::Object(object).to_string()), bytes);
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
            position: raw.position,
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
    (
        Judged::Contaminated(Value::Object(object).to_string(), findings),
        bytes,
    )
}

/// At most `max` characters, cut on a character boundary.
fn excerpt(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn one_file(
    config: &Config,
    fields: &Fields,
    plan: &Plan,
    index: &NgramIndex,
    file: &InputFile,
    paths: ShardPaths,
) -> Result<FileCounts> {
    let name = file.relative.display().to_string();
    let is_row = file.format == InputFormat::Parquet;
    let mut writer = ShardWriter::new(paths);
    let mut counts = FileCounts::default();
    let mut records = crate::input::records(file, ByteCounter::default())?.peekable();
    let chunk = 256 * plan.workers.max(1);
    while records.peek().is_some() {
        let batch: Vec<RawRecord> = records.by_ref().take(chunk).collect();
        // Judge in parallel, write in input order.
        let per_worker = batch.len().div_ceil(plan.workers.max(1));
        let mut pieces: Vec<Vec<RawRecord>> = Vec::new();
        let mut rest = batch;
        while !rest.is_empty() {
            let tail = rest.split_off(per_worker.min(rest.len()));
            pieces.push(std::mem::replace(&mut rest, tail));
        }
        let judged: Vec<Vec<(Judged, u64)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = pieces
                .into_iter()
                .map(|piece| {
                    let name = &name;
                    scope.spawn(move || {
                        piece
                            .into_iter()
                            .map(|raw| judge(raw, config, fields, index, name, is_row))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| anyhow!("a worker panicked")))
                .collect::<Result<Vec<_>>>()
        })?;
        for (j, bytes) in judged.into_iter().flatten() {
            counts.docs_in += 1;
            counts.bytes_in += bytes;
            match j {
                Judged::Clean(line) => {
                    counts.kept += 1;
                    writer.write(Destination::Kept, &line)?;
                }
                Judged::Error(line) => {
                    counts.errors += 1;
                    writer.write(Destination::Errors, &line)?;
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
                    match config.decontaminate.action {
                        ContaminationAction::Drop => {
                            counts.dropped += 1;
                            writer.write(Destination::Dropped, &line)?;
                        }
                        ContaminationAction::Flag => {
                            counts.kept += 1;
                            writer.write(Destination::Kept, &line)?;
                        }
                    }
                }
            }
        }
    }
    writer.finish_with(&serde_json::to_string_pretty(&counts)?)?;
    Ok(counts)
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
        let raw = RawRecord {
            position: 4,
            body: Ok(br#"{"id": "d", "text": "x One, two three! y"}"#.to_vec()),
        };
        let (judged, _) = judge(raw, &config, &fields, &index, "in.jsonl", false);
        let Judged::Contaminated(line, findings) = judged else {
            panic!("expected a match")
        };
        assert_eq!(findings[0].item, "item-1");
        assert_eq!(findings[0].span, "One, two three");
        assert!(line.contains(r#""verdict":"drop""#), "{line}");
    }
}
