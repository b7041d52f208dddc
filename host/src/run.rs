//! `tamis run`: every record judged by the core pipeline, through the job driver (job.rs). This module is
//! only the judgment: a batch of documents to the engine, each outcome written back into its record.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use tamis_core::{Config, StepName, Verdict};

use crate::engine::{CoreEngine, EngineFactory};
use crate::input::{InputFile, InputIdentity};
use crate::job::{self, Job, Plan, Record, Source};
use crate::output::{Batch, Destination, RecordShards, write_atomically};
use crate::record::{self, Fields};
use crate::shard::Shard;
use crate::stats::{Stats, engine_error_kind};

/// How a run is laid out; everything that decides the output bytes is here (and in the config).
pub struct RunPlan {
    pub inputs: Vec<InputFile>,
    pub output: PathBuf,
    pub workers: usize,
    /// Documents per call into the engine.
    pub batch_size: usize,
    /// Records per output shard.
    pub shard_size: u64,
    pub max_record_bytes: u64,
    /// This task's share of every file's shards (`--shard i/N`), or the whole job.
    pub shard: Shard,
    pub quiet: bool,
}

/// What a finished run reports.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    #[serde(flatten)]
    pub stats: Stats,
    pub seconds: f64,
    pub engine: String,
    pub workers: usize,
    /// Workers actually started: at most one per batch.
    pub workers_started: usize,
    pub shards_written: u64,
    pub shards_skipped: u64,
    /// For a sharded job: its task count. `stats` and the other figures are then the whole job's (written
    /// by the task that finished last), or this task's share in `.tamis/tasks/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<usize>,
    /// Whether these are the whole job's counts (false only in a task's own report of its share).
    #[serde(skip_serializing)]
    pub complete: bool,
}

/// Identifies the job an output directory belongs to, so a re-run with another config or other inputs
/// does not silently mix results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    config: serde_json::Value,
    inputs: Vec<InputIdentity>,
    shard_size: u64,
}

/// The judgment of `tamis run`: the configured pipeline, in one engine per worker.
struct Judge<'a> {
    factory: &'a EngineFactory,
    steps: Vec<StepName>,
    evaluate_all: bool,
    output: RecordShards,
}

impl Job for Judge<'_> {
    type Engine = Box<dyn CoreEngine>;
    type FileContext = ();
    type Item = Result<Batch>;
    type Tally = Stats;
    type Output = RecordShards;

    fn start_engine(&self) -> Result<Self::Engine> {
        self.factory.start()
    }

    fn file_context(&self, _: &Source) -> Result<()> {
        Ok(())
    }

    fn tally(&self) -> Stats {
        Stats::new(&self.steps)
    }

    fn judge(
        &self,
        engine: &mut Self::Engine,
        _: &(),
        source: &Source,
        records: Vec<Record>,
        stats: &mut Stats,
    ) -> Vec<Result<Batch>> {
        let mut docs = Vec::with_capacity(records.len());
        let mut objects = Vec::with_capacity(records.len());
        let mut records = records;
        for record in &mut records {
            if let Some(bytes) = &record.bytes {
                stats.bytes_in += bytes.len() as u64;
            }
            if let Ok(parsed) = &mut record.parsed {
                docs.push(std::mem::take(&mut parsed.document));
                objects.push(Some(std::mem::take(&mut parsed.object)));
            }
        }
        let batch = engine.process(&docs);
        stats.add_step_nanos(&batch.step_nanos);
        let mut judged = 0;
        let mut lines = Vec::with_capacity(records.len());
        for record in &records {
            if let Err(e) = &record.parsed {
                stats.record_error(e.kind);
                lines.push((
                    Destination::Errors,
                    source.error_line(record, None, &e.message),
                ));
                continue;
            }
            let i = judged;
            judged += 1;
            match batch.judgments.get(i) {
                Some(Ok(outcome)) => {
                    stats.record_outcome(outcome, self.evaluate_all);
                    let destination = match outcome.verdict {
                        Verdict::Keep => Destination::Kept,
                        Verdict::Drop => Destination::Dropped,
                    };
                    let object = objects[i].take().unwrap_or_default();
                    lines.push((
                        destination,
                        record::output_record(object, outcome, source.fields),
                    ));
                }
                Some(Err(error)) => {
                    stats.record_error(&engine_error_kind(&error.message, &self.steps));
                    lines.push((
                        Destination::Errors,
                        source.error_line(record, Some(&error.id), &error.message),
                    ));
                }
                None => {
                    let message = "the engine returned no judgment for this document";
                    stats.record_error("core error");
                    lines.push((
                        Destination::Errors,
                        source.error_line(record, Some(&docs[i].id), message),
                    ));
                }
            }
        }
        vec![Batch::encode(source.file, lines)]
    }

    fn output(&self) -> &RecordShards {
        &self.output
    }
}

pub fn run(config: &Config, factory: &EngineFactory, plan: &RunPlan) -> Result<RunReport> {
    let started = Instant::now();
    check_manifest(config, plan)?;
    let fields = Fields::from_io(&config.io);
    let judge = Judge {
        factory,
        steps: config.steps.clone(),
        evaluate_all: config.evaluate_all,
        output: RecordShards::new(&plan.output),
    };
    let job_plan = Plan {
        inputs: &plan.inputs,
        files: (0..plan.inputs.len()).collect(),
        fields: fields.clone(),
        workers: plan.workers,
        batch_size: plan.batch_size,
        shard_size: plan.shard_size,
        max_record_bytes: plan.max_record_bytes,
        share: plan.shard,
        root: plan.output.clone(),
        quiet: plan.quiet,
        mirror: crate::remote::mirror(),
    };
    let finished = job::drive(&judge, &job_plan)?;
    let mut report = RunReport {
        stats: finished.total,
        seconds: started.elapsed().as_secs_f64(),
        engine: factory.kind().as_str().to_string(),
        workers: plan.workers,
        workers_started: finished.workers_started,
        shards_written: finished.shards_written,
        shards_skipped: finished.shards_skipped,
        tasks: None,
        complete: true,
    };
    if !plan.shard.is_split() {
        write_atomically(
            &plan.output.join("stats.json"),
            serde_json::to_string_pretty(&report)?.as_bytes(),
        )?;
        return Ok(report);
    }
    // One task of several: its share's report, then the job's totals once every task's shards are done.
    report.tasks = Some(plan.shard.count);
    let tasks = plan.output.join(".tamis").join("tasks");
    let own = format!(
        ".tamis/tasks/run-{}-of-{}.json",
        plan.shard.index, plan.shard.count
    );
    write_atomically(
        &plan.output.join(&own),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    let Some(total) = job::job_totals(&judge, &job_plan)? else {
        report.complete = false;
        return Ok(report);
    };
    total.check_accounting().map_err(|e| anyhow::anyhow!(e))?;
    let mut whole = RunReport {
        stats: total,
        seconds: 0.0,
        shards_written: 0,
        shards_skipped: 0,
        workers_started: 0,
        ..report.clone()
    };
    // Time and shard counts summed over the task reports there are (a task run twice counts once).
    for index in 0..plan.shard.count {
        let path = tasks.join(format!("run-{index}-of-{}.json", plan.shard.count));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let task: serde_json::Value = serde_json::from_str(&text)?;
        whole.seconds += task["seconds"].as_f64().unwrap_or(0.0);
        whole.shards_written += task["shards_written"].as_u64().unwrap_or(0);
        whole.shards_skipped += task["shards_skipped"].as_u64().unwrap_or(0);
        whole.workers_started += task["workers_started"].as_u64().unwrap_or(0) as usize;
    }
    write_atomically(
        &plan.output.join("stats.json"),
        serde_json::to_string_pretty(&whole)?.as_bytes(),
    )?;
    Ok(whole)
}

fn check_manifest(config: &Config, plan: &RunPlan) -> Result<()> {
    // The `io` section only says where things are; it does not change judgments.
    let mut judged = config.clone();
    judged.io = Default::default();
    // Nor do the cluster settings of `tamis launch`.
    judged.slurm = serde_json::Value::Null;
    judged.k8s = serde_json::Value::Null;
    let manifest = Manifest {
        config: serde_json::to_value(&judged)?,
        inputs: plan
            .inputs
            .iter()
            .map(InputFile::identity)
            .collect::<Result<_>>()?,
        shard_size: plan.shard_size,
    };
    let path = plan.output.join(".tamis").join("run.json");
    let shown = match crate::remote::mirror() {
        Some(mirror) => mirror.location.url(""),
        None => plan.output.display().to_string(),
    };
    job::bind_output(&path, &manifest, || {
        format!(
            "{shown} holds the results of a run with another config, other inputs (or inputs changed since) or \
                 another shard size; choose another --output, or delete it to start over"
        )
    })
}
