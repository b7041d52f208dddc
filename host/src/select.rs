//! `tamis select`: keep the top fraction of a dataset by a score (`select.keep_top_fraction`), as DCLM keeps
//! the best 10 % by classifier score and seed 000 the best 80 % by quality score.
//!
//! A fraction depends on every document, so the job runs in three stages that talk only through files;
//! each can run as its own task (`--stage`, `--shard i/N` for the two that read records) and each resumes
//! where it stopped:
//!
//! 1. `scores` (sharded by input file): every record's score is read (a score that `tamis run` wrote under
//!    `tamis.scores`, or a number at a JSON pointer) and written with the record's position as a 16-byte
//!    entry. Records without a usable score are counted; the filter stage writes their error records.
//! 2. `threshold` (one task): the exact cut, by the core's radix selection (`tamis_core::select`): four
//!    passes over the score files with 65,536 counters, so memory does not grow with the dataset; then
//!    one pass in input order finds the last document kept among those tied at the cut.
//! 3. `filter` (sharded by input file): every record is read again and written to kept/ (unchanged),
//!    dropped/ (with the score and the threshold) or errors/, through the job driver as for `tamis run`.
//!    Once every file is done, `stats.json` is written and the kept count is checked against the cut.
//!
//! ```text
//! .work/run.json            the select config and the inputs the work belongs to
//! .work/scores/<file>.bin   (position, score key) per scored record, in input order
//! .work/scores/<file>.json  done marker with counts and the file's checksum
//! .work/threshold.json      the cut: its score, the documents it keeps, the ties; done marker of stage 2
//! ```

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tamis_core::Config;
use tamis_core::select::{self as rank, Cut, KeepEnd, RadixSelect};

use crate::dedup::sorter::{Fixed, FixedReader, FixedWriter};
use crate::input::InputFile;
use crate::job::{self, Job, Output, Record, Source, Tally};
use crate::output::{Batch, Destination, RecordShards, ShardPaths, write_atomically};
use crate::record::Fields;
use crate::shard::Shard;
use crate::stats::check_accounting;

/// Which stages a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    All,
    Scores,
    Threshold,
    Filter,
}

/// Everything a stage needs to know.
pub struct Plan {
    pub inputs: Vec<InputFile>,
    pub output: PathBuf,
    pub workers: usize,
    pub max_record_bytes: u64,
    pub shard: Shard,
    pub quiet: bool,
}

impl Plan {
    fn work(&self) -> PathBuf {
        self.output.join(".work")
    }

    fn scores_path(&self, file: usize) -> PathBuf {
        self.work()
            .join("scores")
            .join(format!("{}.bin", crate::dedup::file_dir(file)))
    }

    fn scores_marker(&self, file: usize) -> PathBuf {
        self.work()
            .join("scores")
            .join(format!("{}.json", crate::dedup::file_dir(file)))
    }

    fn threshold_path(&self) -> PathBuf {
        self.work().join("threshold.json")
    }

    /// The job-driver plan of a stage that reads records: this task's share of the files, one shard each.
    fn record_job(&self, fields: &Fields, root: PathBuf) -> job::Plan<'_> {
        job::Plan {
            inputs: &self.inputs,
            files: (0..self.inputs.len())
                .filter(|i| self.shard.takes(*i))
                .collect(),
            fields: fields.clone(),
            workers: self.workers,
            batch_size: BATCH,
            shard_size: u64::MAX,
            max_record_bytes: self.max_record_bytes,
            share: Shard::ALL,
            root,
            quiet: self.quiet,
            mirror: crate::remote::mirror(),
        }
    }
}

/// Records per batch handed to a worker: reading a number is cheap, so batches are large.
const BATCH: usize = 512;

/// The select settings in the form the stages use, checked once.
struct Settings<'a> {
    score: &'a str,
    fraction: f64,
    keep: KeepEnd,
}

fn settings(config: &Config) -> Result<Settings<'_>> {
    let s = &config.select;
    if s.score.is_empty() {
        bail!(
            "select.score is empty: name the score to rank by (`quality_score`, `quality_classifier`) or give a JSON pointer (`/metadata/score`)"
        );
    }
    let Some(fraction) = s.keep_top_fraction else {
        bail!("select.keep_top_fraction is not set: give the share to keep, for example 0.1");
    };
    Ok(Settings {
        score: &s.score,
        fraction,
        keep: s.keep,
    })
}

/// One scored record in a score file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Scored {
    position: u64,
    key: u64,
}

impl Fixed for Scored {
    const SIZE: usize = 16;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.position.to_le_bytes());
        out.extend_from_slice(&self.key.to_le_bytes());
    }
    fn decode(b: &[u8]) -> Self {
        Self {
            position: u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            key: u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")),
        }
    }
}

/// Counts of the scores stage for one file: every record is scored or not.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ScoreCounts {
    docs_in: u64,
    scored: u64,
    unscored: u64,
    bytes_in: u64,
}

impl Tally for ScoreCounts {
    fn merge(&mut self, o: &Self) {
        self.docs_in += o.docs_in;
        self.scored += o.scored;
        self.unscored += o.unscored;
        self.bytes_in += o.bytes_in;
    }
    fn check_accounting(&self) -> Result<(), String> {
        if self.scored + self.unscored == self.docs_in {
            Ok(())
        } else {
            Err(format!(
                "accounting mismatch: {} records in, but {} scored + {} without a score",
                self.docs_in, self.scored, self.unscored
            ))
        }
    }
    fn progress(&self) -> (u64, u64) {
        (self.docs_in, self.bytes_in)
    }
}

/// The score of a record, or why it has none: the id when the record could be read, and the message of
/// its error record.
fn record_score(
    record: &Record,
    settings: &Settings,
) -> std::result::Result<f64, (Option<String>, String)> {
    let parsed = record
        .parsed
        .as_ref()
        .map_err(|e| (None, e.message.clone()))?;
    let id = &parsed.document.id;
    rank::score_of(&parsed.object, settings.score)
        .map_err(|message| (Some(id.clone()), format!("record {id} {message}")))
}

/// Stage 1: each record's score key, by position.
struct ScoreJob<'a> {
    plan: &'a Plan,
    settings: &'a Settings<'a>,
}

impl Job for ScoreJob<'_> {
    type Engine = ();
    type FileContext = ();
    type Item = Option<Scored>;
    type Tally = ScoreCounts;
    type Output = Self;

    fn start_engine(&self) -> Result<()> {
        Ok(())
    }
    fn file_context(&self, _: &Source) -> Result<()> {
        Ok(())
    }
    fn tally(&self) -> ScoreCounts {
        ScoreCounts::default()
    }

    fn judge(
        &self,
        _: &mut (),
        _: &(),
        _: &Source,
        records: Vec<Record>,
        counts: &mut ScoreCounts,
    ) -> Vec<Option<Scored>> {
        records
            .iter()
            .map(|record| {
                counts.docs_in += 1;
                counts.bytes_in += record.bytes.as_ref().map_or(0, |b| b.len() as u64);
                match record_score(record, self.settings) {
                    Ok(score) => {
                        counts.scored += 1;
                        Some(Scored {
                            position: record.position,
                            key: rank::key_of(score, self.settings.keep),
                        })
                    }
                    Err(_) => {
                        counts.unscored += 1;
                        None
                    }
                }
            })
            .collect()
    }
    fn output(&self) -> &Self {
        self
    }
}

impl Output for ScoreJob<'_> {
    type Item = Option<Scored>;
    type Sink = FixedWriter;

    fn marker_path(&self, _: &InputFile, index: usize, _: u64) -> PathBuf {
        self.plan.scores_marker(index)
    }
    fn open(&self, _: &InputFile, index: usize, _: u64) -> Result<FixedWriter> {
        FixedWriter::create(&self.plan.scores_path(index))
    }
    fn write(&self, sink: &mut FixedWriter, item: Option<Scored>) -> Result<()> {
        match item {
            Some(s) => sink.write(&s),
            None => Ok(()),
        }
    }
    fn finish(&self, sink: FixedWriter) -> Result<Vec<PathBuf>> {
        Ok(vec![sink.finish()?])
    }
}

/// The result of stage 2, and its done marker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The score ranked by and which end is kept.
    pub score: String,
    pub keep: KeepEnd,
    pub keep_top_fraction: f64,
    /// Documents with a score, and how many of them the fraction keeps.
    pub scored: u64,
    pub kept: u64,
    /// The score of the last kept document (`null` when nothing is kept).
    pub threshold: Option<f64>,
    /// Documents scored exactly at the threshold, and how many of them are kept (the first in input order).
    pub ties_at_threshold: u64,
    pub ties_kept: u64,
    pub cut: Option<Cut>,
}

fn score_counts(plan: &Plan) -> Result<Vec<ScoreCounts>> {
    plan.inputs
        .iter()
        .enumerate()
        .map(|(i, f)| {
            job::read_marker::<ScoreCounts>(&plan.scores_marker(i))?.ok_or_else(|| {
                anyhow!(
                    "the scores stage has not finished {} (file {i}); run `--stage scores` for every shard first",
                    f.relative.display()
                )
            })
        })
        .collect()
}

/// Every score file in input order, entry by entry.
fn each_scored(plan: &Plan, mut visit: impl FnMut(usize, Scored) -> Result<()>) -> Result<()> {
    for file in 0..plan.inputs.len() {
        for entry in FixedReader::<Scored>::open(&plan.scores_path(file))? {
            visit(file, entry?)?;
        }
    }
    Ok(())
}

/// Stage 2: the exact cut over every score file.
fn threshold(plan: &Plan, settings: &Settings) -> Result<Threshold> {
    if let Some(done) = read_threshold(plan)? {
        return Ok(done);
    }
    let scored: u64 = score_counts(plan)?.iter().map(|c| c.scored).sum();
    let kept = rank::keep_count(settings.fraction, scored);
    let mut result = Threshold {
        score: settings.score.to_string(),
        keep: settings.keep,
        keep_top_fraction: settings.fraction,
        scored,
        kept,
        threshold: None,
        ties_at_threshold: 0,
        ties_kept: 0,
        cut: None,
    };
    if kept > 0 {
        let mut select = RadixSelect::new(kept, scored);
        let mut counts = vec![0u64; rank::BUCKETS];
        while select.searching() {
            counts.iter_mut().for_each(|c| *c = 0);
            each_scored(plan, |_, s| {
                if let Some(b) = select.bucket(s.key) {
                    counts[b] += 1;
                }
                Ok(())
            })?;
            select.narrow(&counts).map_err(|e| anyhow!(e))?;
        }
        let (key, ties, ties_kept) = select
            .answer()
            .ok_or_else(|| anyhow!("the radix selection did not finish"))?;
        // The last kept document among the ties is the `ties_kept`-th with that key in input order.
        let mut seen = 0u64;
        let mut last_tie = None;
        each_scored(plan, |file, s| {
            if s.key == key && last_tie.is_none() {
                seen += 1;
                if seen == ties_kept {
                    last_tie = Some((file as u64, s.position));
                }
            }
            Ok(())
        })?;
        let last_tie = last_tie.ok_or_else(|| {
            anyhow!("the score files changed while the threshold was found; delete {} and run the scores stage again", plan.work().display())
        })?;
        result.threshold = Some(rank::score_of_key(key, settings.keep));
        result.ties_at_threshold = ties;
        result.ties_kept = ties_kept;
        result.cut = Some(Cut { key, last_tie });
    }
    write_atomically(
        &plan.threshold_path(),
        serde_json::to_string_pretty(&result)?.as_bytes(),
    )?;
    Ok(result)
}

/// The cut of a finished threshold stage, or `None` when it has not run.
fn read_threshold(plan: &Plan) -> Result<Option<Threshold>> {
    let path = plan.threshold_path();
    if !path.is_file() {
        return Ok(None);
    }
    serde_json::from_str(&std::fs::read_to_string(&path)?)
        .map(Some)
        .with_context(|| {
            format!(
                "{} is corrupt; delete it to redo the threshold stage",
                path.display()
            )
        })
}

/// Counts of the filter stage for one file, kept in its done marker and summed into `stats.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileCounts {
    pub docs_in: u64,
    pub kept: u64,
    pub dropped: u64,
    pub errors: u64,
    pub bytes_in: u64,
    pub bytes_kept: u64,
}

impl Tally for FileCounts {
    fn merge(&mut self, o: &Self) {
        self.docs_in += o.docs_in;
        self.kept += o.kept;
        self.dropped += o.dropped;
        self.errors += o.errors;
        self.bytes_in += o.bytes_in;
        self.bytes_kept += o.bytes_kept;
    }
    fn check_accounting(&self) -> Result<(), String> {
        check_accounting(self.docs_in, self.kept, self.dropped, self.errors)
    }
    fn progress(&self) -> (u64, u64) {
        (self.docs_in, self.bytes_in)
    }
}

/// Stage 3: each record to kept, dropped or errors by the cut.
struct FilterJob<'a> {
    settings: &'a Settings<'a>,
    threshold: &'a Threshold,
    output: RecordShards,
}

impl Job for FilterJob<'_> {
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
        let lines = records
            .into_iter()
            .map(|record| self.one(source, record, counts))
            .collect();
        vec![Batch::encode(source.file, lines)]
    }

    fn output(&self) -> &RecordShards {
        &self.output
    }
}

impl FilterJob<'_> {
    fn one(
        &self,
        source: &Source,
        record: Record,
        counts: &mut FileCounts,
    ) -> (Destination, String) {
        counts.docs_in += 1;
        let bytes = record.bytes.as_ref().map_or(0, |b| b.len() as u64);
        counts.bytes_in += bytes;
        let score = match record_score(&record, self.settings) {
            Ok(score) => score,
            Err((id, message)) => {
                counts.errors += 1;
                return (
                    Destination::Errors,
                    source.error_line(&record, id.as_deref(), &message),
                );
            }
        };
        let key = rank::key_of(score, self.settings.keep);
        let kept = self
            .threshold
            .cut
            .is_some_and(|cut| cut.keeps(key, source.index as u64, record.position));
        // A record with a score parsed; its object is taken, not copied.
        let mut object = record.parsed.map(|p| p.object).unwrap_or_default();
        if kept {
            counts.kept += 1;
            counts.bytes_kept += bytes;
            return (Destination::Kept, wire_line(&object));
        }
        let mut note = Map::new();
        note.insert("verdict".into(), "drop".into());
        note.insert("reason".into(), "below_top_fraction".into());
        note.insert("score".into(), score.into());
        note.insert("threshold".into(), self.threshold.threshold.into());
        note.insert(
            "keep_top_fraction".into(),
            self.threshold.keep_top_fraction.into(),
        );
        object.insert("select".into(), Value::Object(note));
        counts.dropped += 1;
        (Destination::Dropped, wire_line(&object))
    }
}

/// A record as one JSON line. A map of JSON values always serializes.
fn wire_line(object: &Map<String, Value>) -> String {
    serde_json::to_string(object).unwrap_or_default()
}

/// `stats.json` of a finished selection.
#[derive(Debug, Serialize, Deserialize)]
pub struct Totals {
    #[serde(flatten)]
    pub counts: FileCounts,
    pub selection: Threshold,
}

#[derive(Serialize, Deserialize, PartialEq)]
struct Manifest {
    select: Value,
    fields: Value,
    inputs: Vec<crate::input::InputIdentity>,
}

fn check_manifest(config: &Config, plan: &Plan) -> Result<()> {
    let manifest = Manifest {
        select: serde_json::to_value(&config.select)?,
        fields: serde_json::to_value(&config.io)?,
        inputs: plan
            .inputs
            .iter()
            .map(InputFile::identity)
            .collect::<Result<_>>()?,
    };
    job::bind_output(&plan.work().join("run.json"), &manifest, || {
        format!(
            "{} belongs to a selection with another config or other inputs; choose another output, or delete it to start over",
            plan.output.display()
        )
    })
}

/// Runs the chosen stages. Returns the totals once every file is filtered (by this call or earlier ones).
pub fn select(
    config: &Config,
    fields: &Fields,
    plan: &Plan,
    stage: Stage,
) -> Result<Option<Totals>> {
    let settings = settings(config)?;
    if plan.shard.count > 1 && matches!(stage, Stage::All | Stage::Threshold) {
        bail!(
            "a sharded selection runs stage by stage: `--stage scores --shard i/N` for every i, then `--stage threshold` \
             once without --shard (the cut needs every score), then `--stage filter --shard i/N`"
        );
    }
    check_manifest(config, plan)?;
    let started = Instant::now();
    if matches!(stage, Stage::All | Stage::Scores) {
        job::drive(
            &ScoreJob {
                plan,
                settings: &settings,
            },
            &plan.record_job(fields, plan.work()),
        )?;
    }
    let cut = match stage {
        Stage::Scores => None,
        Stage::All | Stage::Threshold => Some(threshold(plan, &settings)?),
        Stage::Filter => Some(read_threshold(plan)?.ok_or_else(|| {
            anyhow!(
                "the threshold stage has not run: run `--stage threshold` (one task) after every scores shard"
            )
        })?),
    };
    if let (Some(cut), true) = (&cut, matches!(stage, Stage::All | Stage::Filter)) {
        job::drive(
            &FilterJob {
                settings: &settings,
                threshold: cut,
                output: RecordShards::new(&plan.output),
            },
            &plan.record_job(fields, plan.output.clone()),
        )?;
        let totals = write_totals(plan, cut)?;
        if !plan.quiet {
            eprintln!(
                "tamis select: stage {} done in {:.2} s",
                format!("{stage:?}").to_lowercase(),
                started.elapsed().as_secs_f64()
            );
        }
        return Ok(totals);
    }
    Ok(None)
}

/// Sums the filter markers into `stats.json` once every file is filtered, and checks that what was kept is
/// exactly what the cut keeps, and that every record without a score became an error record.
fn write_totals(plan: &Plan, cut: &Threshold) -> Result<Option<Totals>> {
    // With a remote output, the other tasks' markers are in the store.
    crate::remote::refresh()?;
    let mut counts = FileCounts::default();
    for file in &plan.inputs {
        let paths = ShardPaths::new(&plan.output, file, 0);
        let Some(c) = job::read_marker::<FileCounts>(&paths.marker)? else {
            return Ok(None);
        };
        counts.merge(&c);
    }
    counts.check_accounting().map_err(|e| anyhow!(e))?;
    let unscored: u64 = score_counts(plan)?.iter().map(|c| c.unscored).sum();
    if counts.kept != cut.kept || counts.errors != unscored {
        bail!(
            "the filter kept {} documents and found {} without a score, where the scores stage found {} to keep and {} without a score: an input changed during the job; delete {} and run again",
            counts.kept,
            counts.errors,
            cut.kept,
            unscored,
            plan.output.display()
        );
    }
    let totals = Totals {
        counts,
        selection: cut.clone(),
    };
    write_atomically(
        &plan.output.join("stats.json"),
        serde_json::to_string_pretty(&totals)?.as_bytes(),
    )?;
    Ok(Some(totals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scored_entries_round_trip() {
        let s = Scored {
            position: 1 << 40,
            key: u64::MAX - 1,
        };
        let mut bytes = Vec::new();
        s.encode(&mut bytes);
        assert_eq!(bytes.len(), Scored::SIZE);
        assert_eq!(Scored::decode(&bytes), s);
    }
}
