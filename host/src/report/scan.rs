//! One streaming pass over a run's output records: every kept, dropped and error record is read once,
//! and what the report shows is tallied in bounded memory (counts, [`Distribution`]s, and a fixed-size
//! sample of records).
//!
//! A record is read only as far as the report needs it: the text's length and word count are measured
//! while it is parsed (without keeping it, except the start of the sampled ones), the `tamis` annotation
//! is read with its strings borrowed from the line, and every other field is skipped. Files are scanned in
//! parallel but tallied per file and merged in file order, and the sample is a bottom-k sample (the `k`
//! records with the smallest seeded hash of their place; Cohen & Kaplan, "Summarizing data using bottom-k
//! sketches", PODC 2007), which does not depend on the order records are seen in: the same run gives the
//! same report bytes whatever the number of threads.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use tamis_core::Bound;

use super::distribution::Distribution;
use crate::input::{self, ByteCounter, InputFile, InputFormat};

/// Which output of a run a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Kept,
    Dropped,
    Errors,
}

impl Class {
    fn of_folder(name: &str) -> Option<Self> {
        match name {
            "kept" => Some(Class::Kept),
            "dropped" => Some(Class::Dropped),
            "errors" => Some(Class::Errors),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Kept => "kept",
            Class::Dropped => "dropped",
            Class::Errors => "errors",
        }
    }
}

/// One output file of a run.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub file: InputFile,
    pub class: Class,
    /// The folder holding `kept/`, `dropped/` and `errors/`, relative to the run (`c4`; empty at the root).
    pub group: String,
}

/// The output files of a run: every file in a folder named `kept`, `dropped` or `errors`, at any depth
/// (hidden folders such as `.tamis` left out), sorted by path. Temporary files of unfinished shards are
/// counted, not read.
pub fn discover(run: &Path) -> Result<(Vec<DataFile>, u64)> {
    let mut files = Vec::new();
    let mut unfinished = 0;
    let mut stack = vec![run.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if !name.starts_with('.') {
                    stack.push(path);
                }
                continue;
            }
            let Some(class) = dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(Class::of_folder)
            else {
                continue;
            };
            if name.ends_with(".tmp") {
                unfinished += 1;
                continue;
            }
            let Some(format) = InputFormat::of(&path) else {
                continue;
            };
            let relative = path.strip_prefix(run).unwrap_or(&path).to_path_buf();
            let group = dir
                .parent()
                .and_then(|p| p.strip_prefix(run).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            files.push(DataFile {
                file: InputFile {
                    size: entry.metadata()?.len(),
                    path,
                    relative,
                    format,
                    remote: None,
                },
                class,
                group,
            });
        }
    }
    files.sort_by(|a, b| a.file.relative.cmp(&b.file.relative));
    Ok((files, unfinished))
}

/// Where records went, for the whole run or one source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Funnel {
    pub docs_in: u64,
    pub kept: u64,
    pub dropped: u64,
    pub errors: u64,
    /// Bytes of text of the kept records.
    pub kept_bytes: u64,
    /// Drops by (step, rule).
    pub reasons: BTreeMap<(String, String), u64>,
}

impl Funnel {
    fn merge(&mut self, other: &Funnel) {
        self.docs_in += other.docs_in;
        self.kept += other.kept;
        self.dropped += other.dropped;
        self.errors += other.errors;
        self.kept_bytes += other.kept_bytes;
        for (k, n) in &other.reasons {
            *self.reasons.entry(k.clone()).or_default() += n;
        }
    }
}

/// The values one check took, against its threshold.
#[derive(Debug, Clone)]
pub struct CheckTally {
    pub values: Distribution,
    pub bound: Bound,
    /// Threshold -> documents judged with it (one entry unless the run's config changed).
    pub thresholds: BTreeMap<u64, u64>,
    /// Documents on which the check failed.
    pub failed: u64,
    /// Documents dropped for this check (their first failure).
    pub reason: u64,
    /// Values that are not whole numbers: 0 for a count (lines, words, repeated n-grams).
    pub fractional: u64,
}

impl CheckTally {
    /// The threshold most documents were judged with.
    pub fn threshold(&self) -> f64 {
        self.thresholds
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map_or(0.0, |(bits, _)| f64::from_bits(*bits))
    }

    fn merge(&mut self, other: &CheckTally) {
        self.values.merge(&other.values);
        for (t, n) in &other.thresholds {
            *self.thresholds.entry(*t).or_default() += n;
        }
        self.failed += other.failed;
        self.reason += other.reason;
        self.fractional += other.fractional;
    }
}

/// Personal data of one kind in the kept records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PiiTally {
    pub spans: u64,
    pub documents: u64,
}

/// A record shown on the samples page.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    key: u64,
    pub class: Class,
    pub id: String,
    pub source: String,
    /// `file:line` (or `file:row`) of the output record.
    pub place: String,
    pub reason: Option<String>,
    pub language: Option<String>,
    pub quality: Option<f64>,
    pub chars: u64,
    pub words: u64,
    /// The start of the text (the cleaned text of a kept record, the input text of a dropped one).
    pub excerpt: String,
    pub truncated: bool,
}

/// Everything the report shows that comes from the records.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub total: Funnel,
    pub sources: BTreeMap<String, Funnel>,
    /// (step, rule) -> how the check's values fell.
    pub checks: BTreeMap<(String, String), CheckTally>,
    pub chars: Distribution,
    pub words: Distribution,
    pub tokens: Distribution,
    pub quality_kept: Distribution,
    pub quality_dropped: Distribution,
    /// Language code -> (kept, dropped).
    pub languages: BTreeMap<String, (u64, u64)>,
    pub language_confidence: Distribution,
    pub pii: BTreeMap<String, PiiTally>,
    pub kept_with_pii: u64,
    /// Error kind (the message up to its first colon) -> count.
    pub error_kinds: BTreeMap<String, u64>,
    /// Lines of the output files that are not records tamis wrote.
    pub unreadable: Vec<String>,
    pub unreadable_count: u64,
    pub kept_samples: Vec<Sample>,
    pub dropped_samples: Vec<Sample>,
    /// Whether any record carried a `checks` list (a `tamis run` output).
    pub judged: bool,
}

/// How records are read and sampled.
#[derive(Debug, Clone)]
pub struct Options {
    pub text_key: String,
    pub id_key: String,
    /// Records of each class kept for the samples page.
    pub samples: usize,
    pub seed: u64,
    pub excerpt_chars: usize,
    pub threads: usize,
}

/// At most this many unreadable lines are named in the report (all are counted).
const UNREADABLE_SHOWN: usize = 20;

/// Reads every file, in parallel, and merges the tallies in file order.
pub fn scan(files: &[DataFile], options: &Options) -> Result<Scan> {
    let threads = options.threads.clamp(1, files.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut parts: Vec<Option<Result<Scan>>> = (0..files.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        done.push((i, scan_file(file, options)));
                    }
                    done
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(done) => {
                    for (i, part) in done {
                        parts[i] = Some(part);
                    }
                }
                Err(_) => {
                    for part in parts.iter_mut().filter(|p| p.is_none()) {
                        *part = Some(Err(anyhow::anyhow!("a report reader thread panicked")));
                    }
                }
            }
        }
    });
    let mut total = Scan::default();
    for part in parts {
        let part = part.unwrap_or_else(|| Err(anyhow::anyhow!("a file was not read")))?;
        total.merge(part, options.samples);
    }
    Ok(total)
}

impl Scan {
    fn merge(&mut self, other: Scan, samples: usize) {
        self.total.merge(&other.total);
        for (k, v) in &other.sources {
            self.sources.entry(k.clone()).or_default().merge(v);
        }
        for (k, v) in other.checks {
            match self.checks.get_mut(&k) {
                Some(mine) => mine.merge(&v),
                None => {
                    self.checks.insert(k, v);
                }
            }
        }
        self.chars.merge(&other.chars);
        self.words.merge(&other.words);
        self.tokens.merge(&other.tokens);
        self.quality_kept.merge(&other.quality_kept);
        self.quality_dropped.merge(&other.quality_dropped);
        for (k, (a, b)) in &other.languages {
            let e = self.languages.entry(k.clone()).or_default();
            e.0 += a;
            e.1 += b;
        }
        self.language_confidence.merge(&other.language_confidence);
        for (k, v) in &other.pii {
            let e = self.pii.entry(k.clone()).or_default();
            e.spans += v.spans;
            e.documents += v.documents;
        }
        self.kept_with_pii += other.kept_with_pii;
        for (k, n) in &other.error_kinds {
            *self.error_kinds.entry(k.clone()).or_default() += n;
        }
        self.unreadable_count += other.unreadable_count;
        for line in other.unreadable {
            if self.unreadable.len() < UNREADABLE_SHOWN {
                self.unreadable.push(line);
            }
        }
        self.kept_samples = bottom_k(
            std::mem::take(&mut self.kept_samples),
            other.kept_samples,
            samples,
        );
        self.dropped_samples = bottom_k(
            std::mem::take(&mut self.dropped_samples),
            other.dropped_samples,
            samples,
        );
        self.judged |= other.judged;
    }

    /// Whether a record at sample key `key` would enter the sample of its class.
    fn wants(&self, class: Class, key: u64, samples: usize) -> bool {
        let list = match class {
            Class::Kept => &self.kept_samples,
            Class::Dropped => &self.dropped_samples,
            Class::Errors => return false,
        };
        list.len() < samples || list.last().is_some_and(|s| key < s.key)
    }

    fn offer(&mut self, sample: Sample, samples: usize) {
        let list = match sample.class {
            Class::Kept => &mut self.kept_samples,
            Class::Dropped => &mut self.dropped_samples,
            Class::Errors => return,
        };
        let at = list.partition_point(|s| s.key < sample.key);
        list.insert(at, sample);
        list.truncate(samples);
    }
}

fn bottom_k(mut a: Vec<Sample>, b: Vec<Sample>, k: usize) -> Vec<Sample> {
    a.extend(b);
    a.sort_by(|x, y| x.key.cmp(&y.key).then(x.place.cmp(&y.place)));
    a.truncate(k);
    a
}

fn scan_file(data: &DataFile, options: &Options) -> Result<Scan> {
    let mut scan = Scan::default();
    let name = data.file.relative.to_string_lossy().replace('\\', "/");
    let unit = if data.file.format == InputFormat::Parquet {
        "row"
    } else {
        "line"
    };
    let records = input::records(
        &data.file,
        ByteCounter::default(),
        input::DEFAULT_MAX_RECORD_BYTES,
    )?;
    for raw in records {
        let place = format!("{name}:{}", raw.position);
        let body = match raw.body {
            Ok(body) => body,
            Err(e) => {
                scan.unreadable(format!("{name} {unit} {}: {}", raw.position, e.message));
                continue;
            }
        };
        let key = xxhash_rust::xxh3::xxh3_64_with_seed(place.as_bytes(), options.seed);
        let capture = scan.wants(data.class, key, options.samples);
        let seed = RowSeed {
            text_key: &options.text_key,
            id_key: &options.id_key,
            excerpt: if capture { options.excerpt_chars } else { 0 },
        };
        let mut de = serde_json::Deserializer::from_slice(&body);
        let row = match seed.deserialize(&mut de).and_then(|r| de.end().map(|_| r)) {
            Ok(row) => row,
            Err(e) => {
                scan.unreadable(format!("{name} {unit} {}: {e}", raw.position));
                continue;
            }
        };
        let sample = scan.tally(data, row, capture.then_some((key, place)));
        if let Some(sample) = sample {
            scan.offer(sample, options.samples);
        }
    }
    Ok(scan)
}

impl Scan {
    fn unreadable(&mut self, what: String) {
        self.unreadable_count += 1;
        if self.unreadable.len() < UNREADABLE_SHOWN {
            self.unreadable.push(what);
        }
    }

    /// Counts one record; returns its sample when `sample` says it is wanted.
    fn tally(
        &mut self,
        data: &DataFile,
        row: Row<'_>,
        sample: Option<(u64, String)>,
    ) -> Option<Sample> {
        let source = row
            .source
            .clone()
            .or_else(|| (!data.group.is_empty()).then(|| data.group.clone()))
            .unwrap_or_else(|| "(no source)".to_string());
        let mut funnel = Funnel {
            docs_in: 1,
            ..Default::default()
        };
        let mut reason: Option<(String, String)> = None;
        let mut reason_line: Option<String> = None;
        match data.class {
            Class::Errors => {
                funnel.errors = 1;
                let kind = row
                    .error
                    .as_deref()
                    .map(|e| e.split(':').next().unwrap_or(e).trim().to_string())
                    .unwrap_or_else(|| "unknown".into());
                *self.error_kinds.entry(kind).or_default() += 1;
            }
            Class::Kept => {
                funnel.kept = 1;
                funnel.kept_bytes = row.text.as_ref().map_or(0, |t| t.bytes);
            }
            Class::Dropped => {
                funnel.dropped = 1;
                let judged_drop = row
                    .tamis
                    .as_ref()
                    .filter(|a| a.verdict == "drop")
                    .and_then(|a| a.reason_check.as_ref());
                if let Some(check) = judged_drop {
                    reason = Some((check.step.to_string(), check.rule.to_string()));
                    reason_line = Some(check.describe());
                } else if let Some(r) = &row.dedup_reason {
                    reason = Some(("dedup".into(), r.clone()));
                    reason_line = Some(format!("dedup / {r}"));
                } else if let Some(r) = &row.decontaminate_reason {
                    reason = Some(("decontaminate".into(), r.clone()));
                    reason_line = Some(format!("decontaminate / {r}"));
                } else {
                    reason = Some(("(unknown)".into(), "(no reason recorded)".into()));
                }
            }
        }
        if let Some(r) = &reason {
            funnel.reasons.insert(r.clone(), 1);
        }
        self.total.merge(&funnel);
        self.sources
            .entry(source.clone())
            .or_default()
            .merge(&funnel);

        let kept = data.class == Class::Kept;
        if kept && let Some(text) = &row.text {
            self.chars.add(text.chars as f64);
            self.words.add(text.words as f64);
        }
        let mut quality = None;
        let mut language = None;
        if let Some(ann) = &row.tamis
            && data.class != Class::Errors
        {
            self.judged |= !ann.checks.is_empty();
            for check in &ann.checks {
                self.check(check, reason.as_ref());
            }
            quality = ann
                .scores
                .iter()
                .find(|s| s.name == "quality_score")
                .map(|s| s.value);
            if let Some(q) = quality {
                if kept {
                    self.quality_kept.add(q);
                } else {
                    self.quality_dropped.add(q);
                }
            }
            if let Some(lang) = &ann.language {
                let e = self.languages.entry(lang.code.to_string()).or_default();
                if kept {
                    e.0 += 1;
                    self.language_confidence.add(lang.confidence);
                } else {
                    e.1 += 1;
                }
                language = Some(lang.code.to_string());
            }
            if kept {
                if let Some(t) = ann.tokens {
                    self.tokens.add(t as f64);
                }
                if !ann.pii.is_empty() {
                    self.kept_with_pii += 1;
                }
                let mut kinds: Vec<&str> = Vec::new();
                for span in &ann.pii {
                    let e = self.pii.entry(span.kind.to_string()).or_default();
                    e.spans += 1;
                    if !kinds.contains(&span.kind.as_ref()) {
                        kinds.push(span.kind.as_ref());
                        e.documents += 1;
                    }
                }
            }
        }
        let (key, place) = sample?;
        let text = row.text.unwrap_or_default();
        Some(Sample {
            key,
            class: data.class,
            id: row.id.unwrap_or_default(),
            source,
            place,
            reason: reason_line,
            language,
            quality,
            chars: text.chars,
            words: text.words,
            truncated: text.chars > text.excerpt.chars().count() as u64,
            excerpt: text.excerpt,
        })
    }

    fn check(&mut self, check: &CheckRow<'_>, reason: Option<&(String, String)>) {
        let key = (check.step.to_string(), check.rule.to_string());
        let tally = self.checks.entry(key).or_insert_with(|| CheckTally {
            values: Distribution::default(),
            bound: check.bound,
            thresholds: BTreeMap::new(),
            failed: 0,
            reason: 0,
            fractional: 0,
        });
        tally.values.add(check.value);
        tally.fractional += u64::from(check.value.fract() != 0.0);
        *tally
            .thresholds
            .entry(check.threshold.to_bits())
            .or_default() += 1;
        tally.failed += u64::from(!check.passed);
        if reason.is_some_and(|(s, r)| *s == check.step && *r == check.rule) {
            tally.reason += 1;
        }
    }
}

/// A check as the annotation writes it, strings borrowed from the line.
#[derive(Debug, Deserialize)]
struct CheckRow<'a> {
    #[serde(borrow)]
    step: Cow<'a, str>,
    #[serde(borrow)]
    rule: Cow<'a, str>,
    value: f64,
    bound: Bound,
    threshold: f64,
    passed: bool,
}

impl CheckRow<'_> {
    fn describe(&self) -> String {
        tamis_core::Check {
            step: self.step.to_string(),
            rule: self.rule.to_string(),
            value: self.value,
            bound: self.bound,
            threshold: self.threshold,
            passed: self.passed,
        }
        .describe()
    }
}

#[derive(Debug, Deserialize)]
struct LanguageRow<'a> {
    #[serde(borrow)]
    code: Cow<'a, str>,
    confidence: f64,
}

#[derive(Debug, Deserialize)]
struct ScoreRow<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    value: f64,
}

#[derive(Debug, Deserialize)]
struct PiiRow<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
}

/// The `tamis` annotation (tamis_core::wire::Annotation), as far as the report reads it.
#[derive(Debug, Deserialize)]
struct Annotation<'a> {
    #[serde(borrow)]
    verdict: Cow<'a, str>,
    #[serde(default, borrow)]
    reason_check: Option<CheckRow<'a>>,
    #[serde(default, borrow)]
    language: Option<LanguageRow<'a>>,
    #[serde(default, borrow)]
    scores: Vec<ScoreRow<'a>>,
    #[serde(default, borrow)]
    pii: Vec<PiiRow<'a>>,
    #[serde(default)]
    tokens: Option<u64>,
    #[serde(default, borrow)]
    checks: Vec<CheckRow<'a>>,
}

/// What a text measures; the text itself is not kept beyond `excerpt`.
#[derive(Debug, Clone, Default, PartialEq)]
struct TextStats {
    bytes: u64,
    chars: u64,
    /// Whitespace-separated words.
    words: u64,
    excerpt: String,
}

impl TextStats {
    fn of(text: &str, excerpt: usize) -> Self {
        let cut = text
            .char_indices()
            .nth(excerpt)
            .map_or(text.len(), |(i, _)| i);
        Self {
            bytes: text.len() as u64,
            chars: text.chars().count() as u64,
            words: text.split_whitespace().count() as u64,
            excerpt: text[..cut].to_string(),
        }
    }
}

/// One output record, as far as the report reads it.
#[derive(Debug, Default)]
struct Row<'a> {
    id: Option<String>,
    text: Option<TextStats>,
    source: Option<String>,
    tamis: Option<Annotation<'a>>,
    dedup_reason: Option<String>,
    decontaminate_reason: Option<String>,
    /// The message of an error record.
    error: Option<String>,
}

struct RowSeed<'s> {
    text_key: &'s str,
    id_key: &'s str,
    excerpt: usize,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = Row<'de>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Row<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = Row<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object (an output record of tamis)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row<'de>, A::Error> {
        let mut row = Row::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let key = key.as_ref();
            if key == self.text_key {
                row.text = map.next_value_seed(TextSeed(self.excerpt))?;
            } else if key == self.id_key {
                row.id = map.next_value_seed(IdSeed)?;
            } else if key == "tamis" {
                row.tamis = map.next_value()?;
            } else if key == "metadata" {
                let meta: serde_json::Value = map.next_value()?;
                row.source = row.source.or(string_at(&meta, "source"));
            } else if key == "dedup" {
                let dedup: serde_json::Value = map.next_value()?;
                row.dedup_reason = string_at(&dedup, "reason");
            } else if key == "decontaminate" {
                let found: serde_json::Value = map.next_value()?;
                row.decontaminate_reason = string_at(&found, "reason");
            } else if key == "error" {
                let error: serde_json::Value = map.next_value()?;
                row.error = error.as_str().map(str::to_string);
            } else if key == "record" {
                // An error record holds the input record: its source, when it was an object.
                row.source = row.source.or(map.next_value_seed(RecordSource)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(row)
    }
}

/// The string at `key` of an object, if it is one and has it.
fn string_at(value: &serde_json::Value, key: &str) -> Option<String> {
    value.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

struct TextSeed(usize);

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Option<TextStats>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextSeed {
    type Value = Option<TextStats>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a text")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(TextStats::of(v, self.0)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// An id, string or number, as text.
struct IdSeed;

impl<'de> DeserializeSeed<'de> for IdSeed {
    type Value = Option<String>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s),
            other => Some(other.to_string()),
        })
    }
}

/// `metadata.source` of an error record's input record, when it is an object.
struct RecordSource;

impl<'de> DeserializeSeed<'de> for RecordSource {
    type Value = Option<String>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordSource {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the input record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut source = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "metadata" {
                let meta: serde_json::Value = map.next_value()?;
                source = source.or(string_at(&meta, "source"));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(source)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The output files of a run, grouped by source folder and class: what a dataset card's `data_files`
/// globs point at.
pub fn layout(files: &[DataFile]) -> BTreeMap<(String, Class), BTreeMap<String, u64>> {
    let mut out: BTreeMap<(String, Class), BTreeMap<String, u64>> = BTreeMap::new();
    for f in files {
        *out.entry((f.group.clone(), f.class))
            .or_default()
            .entry(f.file.format.extension().to_string())
            .or_default() += 1;
    }
    out
}
