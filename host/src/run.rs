//! `tamis run`: the reader, the workers and the writer of one bulk job.
//!
//! One reader thread streams records in batches; each worker owns one engine (one sandboxed instance) and
//! judges batches; the writer puts the results back in input order, shard by shard. Channels are bounded,
//! so memory stays flat however large the input.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use crossbeam_channel::{Receiver, Sender, bounded};
use serde::{Deserialize, Serialize};
use tamis_core::{Config, StepName};

use crate::engine::{CoreEngine, EngineFactory};
use crate::input::{ByteCounter, InputFile, RawRecord};
use crate::output::{Destination, ShardId, ShardPaths, ShardWriter, write_atomically};
use crate::progress::{Counters, Reporter};
use crate::record::{self, Fields, Origin};
use crate::stats::Stats;

/// How a run is laid out; everything that decides the output bytes is here (and in the config).
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub inputs: Vec<InputFile>,
    pub output: PathBuf,
    pub workers: usize,
    /// Documents per call into the engine.
    pub batch_size: usize,
    /// Records per output shard.
    pub shard_size: u64,
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
    pub shards_written: u64,
    pub shards_skipped: u64,
}

/// The contents of a shard marker.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker {
    /// Whether this is the last shard of its input file.
    last: bool,
    stats: Stats,
}

/// Identifies the job an output directory belongs to, so a re-run with another config or other inputs
/// does not silently mix results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Manifest {
    config: serde_json::Value,
    inputs: Vec<(String, u64)>,
    shard_size: u64,
}

enum Work {
    Batch {
        shard: ShardId,
        seq: u64,
        records: Vec<RawRecord>,
    },
}

enum ToWriter {
    Done {
        shard: ShardId,
        seq: u64,
        lines: Vec<(Destination, String)>,
        stats: Stats,
    },
    ShardEnd {
        shard: ShardId,
        batches: u64,
        last: bool,
    },
    Skipped {
        stats: Stats,
    },
    Failed(anyhow::Error),
}

pub fn run(config: &Config, factory: &EngineFactory, plan: &RunPlan) -> Result<RunReport> {
    let started = Instant::now();
    check_manifest(config, plan)?;
    let fields = Fields::from_io(&config.io);
    let steps = config.steps.clone();
    let evaluate_all = config.evaluate_all;
    let counters = Arc::new(Counters::default());
    let input_total: u64 = plan.inputs.iter().map(|f| f.size).sum();
    let reporter = Reporter::start(counters.clone(), input_total, plan.quiet);

    let (work_tx, work_rx) = bounded::<Work>(plan.workers * 4);
    let (out_tx, out_rx) = bounded::<ToWriter>(plan.workers * 4);

    let result = std::thread::scope(|scope| -> Result<(Stats, u64, u64)> {
        {
            let out_tx = out_tx.clone();
            let counter = ByteCounter(counters.input_read.clone());
            let steps = steps.clone();
            scope.spawn(move || read_all(plan, &steps, work_tx, out_tx, counter));
        }
        for worker in 0..plan.workers {
            let work_rx = work_rx.clone();
            let out_tx = out_tx.clone();
            let fields = &fields;
            let steps = &steps;
            let counters = counters.clone();
            std::thread::Builder::new()
                .name(format!("worker-{worker}"))
                .spawn_scoped(scope, move || match factory.start() {
                    Ok(mut engine) => work(
                        engine.as_mut(),
                        plan,
                        fields,
                        steps,
                        evaluate_all,
                        &work_rx,
                        &out_tx,
                        &counters,
                    ),
                    Err(e) => {
                        let _ = out_tx.send(ToWriter::Failed(
                            e.context(format!("starting worker {worker}")),
                        ));
                    }
                })?;
        }
        drop(work_rx);
        drop(out_tx);
        write_all(plan, &steps, out_rx)
    });
    reporter.finish();
    let (stats, written, skipped) = result?;
    stats.check_accounting().map_err(|e| anyhow!(e))?;
    let report = RunReport {
        stats,
        seconds: started.elapsed().as_secs_f64(),
        engine: factory.kind().as_str().to_string(),
        workers: plan.workers,
        shards_written: written,
        shards_skipped: skipped,
    };
    write_atomically(
        &plan.output.join("stats.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    Ok(report)
}

fn check_manifest(config: &Config, plan: &RunPlan) -> Result<()> {
    // The `io` section only says where things are; it does not change judgments.
    let mut judged = config.clone();
    judged.io = Default::default();
    let manifest = Manifest {
        config: serde_json::to_value(&judged)?,
        inputs: plan
            .inputs
            .iter()
            .map(|f| (f.relative.display().to_string(), f.size))
            .collect(),
        shard_size: plan.shard_size,
    };
    let path = plan.output.join(".tamis").join("run.json");
    if path.is_file() {
        let existing: Manifest = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .with_context(|| {
                format!(
                    "{} is corrupt; delete the output directory to start over",
                    path.display()
                )
            })?;
        if existing != manifest {
            bail!(
                "{} holds the results of a run with another config, other inputs or another shard size; \
                 choose another --output, or delete it to start over",
                plan.output.display()
            );
        }
        return Ok(());
    }
    write_atomically(&path, serde_json::to_string_pretty(&manifest)?.as_bytes())
}

fn read_all(
    plan: &RunPlan,
    steps: &[StepName],
    work_tx: Sender<Work>,
    out_tx: Sender<ToWriter>,
    counter: ByteCounter,
) {
    for (index, file) in plan.inputs.iter().enumerate() {
        if let Err(e) = read_file(plan, steps, index, file, &work_tx, &out_tx, counter.clone()) {
            let _ = out_tx.send(ToWriter::Failed(e));
            return;
        }
    }
}

fn read_file(
    plan: &RunPlan,
    steps: &[StepName],
    index: usize,
    file: &InputFile,
    work_tx: &Sender<Work>,
    out_tx: &Sender<ToWriter>,
    counter: ByteCounter,
) -> Result<()> {
    // A file whose shards are all marked done is not read again.
    let mut done = Vec::new();
    for chunk in 0.. {
        let paths = ShardPaths::new(&plan.output, file, chunk);
        if !paths.is_done() {
            break;
        }
        let marker: Marker = serde_json::from_str(&std::fs::read_to_string(&paths.marker)?)
            .with_context(|| {
                format!(
                    "shard marker {} is corrupt; delete it to redo the shard",
                    paths.marker.display()
                )
            })?;
        let last = marker.last;
        done.push(marker.stats);
        if last {
            for stats in done {
                send(out_tx, ToWriter::Skipped { stats })?;
            }
            counter.0.fetch_add(file.size, Ordering::Relaxed);
            return Ok(());
        }
    }
    let _ = steps;
    let records = crate::input::records(file, counter)?;
    let mut chunk = 0u64;
    let mut in_chunk = 0u64;
    let mut seq = 0u64;
    let mut batch = Vec::with_capacity(plan.batch_size);
    let mut skipping = ShardPaths::new(&plan.output, file, 0).is_done();
    for record in records {
        if in_chunk == plan.shard_size {
            if !skipping {
                if !batch.is_empty() {
                    send_work(
                        work_tx,
                        ShardId { file: index, chunk },
                        seq,
                        std::mem::take(&mut batch),
                    )?;
                    seq += 1;
                }
                send(
                    out_tx,
                    ToWriter::ShardEnd {
                        shard: ShardId { file: index, chunk },
                        batches: seq,
                        last: false,
                    },
                )?;
            } else {
                let marker: Marker = serde_json::from_str(&std::fs::read_to_string(
                    ShardPaths::new(&plan.output, file, chunk).marker,
                )?)?;
                send(
                    out_tx,
                    ToWriter::Skipped {
                        stats: marker.stats,
                    },
                )?;
            }
            chunk += 1;
            in_chunk = 0;
            seq = 0;
            skipping = ShardPaths::new(&plan.output, file, chunk).is_done();
        }
        in_chunk += 1;
        if skipping {
            continue;
        }
        batch.push(record);
        if batch.len() == plan.batch_size {
            send_work(
                work_tx,
                ShardId { file: index, chunk },
                seq,
                std::mem::take(&mut batch),
            )?;
            seq += 1;
        }
    }
    if skipping {
        // The final chunk was finished by an earlier run before it knew it was the last: redo its marker.
        let paths = ShardPaths::new(&plan.output, file, chunk);
        let mut marker: Marker = serde_json::from_str(&std::fs::read_to_string(&paths.marker)?)?;
        marker.last = true;
        write_atomically(
            &paths.marker,
            serde_json::to_string_pretty(&marker)?.as_bytes(),
        )?;
        send(
            out_tx,
            ToWriter::Skipped {
                stats: marker.stats,
            },
        )?;
    } else {
        if !batch.is_empty() {
            send_work(work_tx, ShardId { file: index, chunk }, seq, batch)?;
            seq += 1;
        }
        send(
            out_tx,
            ToWriter::ShardEnd {
                shard: ShardId { file: index, chunk },
                batches: seq,
                last: true,
            },
        )?;
    }
    Ok(())
}

fn send_work(tx: &Sender<Work>, shard: ShardId, seq: u64, records: Vec<RawRecord>) -> Result<()> {
    tx.send(Work::Batch {
        shard,
        seq,
        records,
    })
    .map_err(|_| anyhow!("all workers stopped"))
}

fn send(tx: &Sender<ToWriter>, message: ToWriter) -> Result<()> {
    tx.send(message).map_err(|_| anyhow!("the writer stopped"))
}

#[allow(clippy::too_many_arguments)]
fn work(
    engine: &mut dyn CoreEngine,
    plan: &RunPlan,
    fields: &Fields,
    steps: &[StepName],
    evaluate_all: bool,
    work_rx: &Receiver<Work>,
    out_tx: &Sender<ToWriter>,
    counters: &Counters,
) {
    for Work::Batch {
        shard,
        seq,
        records,
    } in work_rx.iter()
    {
        let file = &plan.inputs[shard.file];
        let file_name = file.relative.display().to_string();
        let is_row = file.format == crate::input::InputFormat::Parquet;
        let mut stats = Stats::new(steps);
        let mut slots: Vec<Slot> = Vec::with_capacity(records.len());
        let mut docs = Vec::with_capacity(records.len());
        let mut objects = Vec::with_capacity(records.len());
        for record in &records {
            let origin = Origin {
                file: &file_name,
                position: record.position,
                is_row,
            };
            match &record.body {
                Err(message) => slots.push(Slot::Error(
                    record::error_record(&origin, None, message, None),
                    message.clone(),
                )),
                Ok(bytes) => {
                    stats.bytes_in += bytes.len() as u64;
                    match record::parse(bytes, fields, &origin) {
                        Ok(parsed) => {
                            slots.push(Slot::Judged(docs.len()));
                            docs.push(parsed.document);
                            objects.push(Some(parsed.object));
                        }
                        Err(message) => slots.push(Slot::Error(
                            record::error_record(&origin, None, &message, Some(bytes)),
                            message,
                        )),
                    }
                }
            }
        }
        let batch = engine.process(&docs);
        stats.add_step_nanos(&batch.step_nanos);
        let mut lines = Vec::with_capacity(records.len());
        for (record, slot) in records.iter().zip(slots) {
            match slot {
                Slot::Error(line, message) => {
                    stats.record_error(&message);
                    lines.push((Destination::Errors, line));
                }
                Slot::Judged(i) => {
                    let origin = Origin {
                        file: &file_name,
                        position: record.position,
                        is_row,
                    };
                    match &batch.judgments.get(i) {
                        Some(Ok(outcome)) => {
                            stats.record_outcome(outcome, evaluate_all);
                            let destination = match outcome.verdict {
                                tamis_core::Verdict::Keep => Destination::Kept,
                                tamis_core::Verdict::Drop => Destination::Dropped,
                            };
                            let object = objects[i].take().unwrap_or_default();
                            lines.push((
                                destination,
                                record::output_record(object, outcome, fields),
                            ));
                        }
                        Some(Err(error)) => {
                            stats.record_error(&error.message);
                            let body = record.body.as_ref().ok().map(Vec::as_slice);
                            lines.push((
                                Destination::Errors,
                                record::error_record(
                                    &origin,
                                    Some(&error.id),
                                    &error.message,
                                    body,
                                ),
                            ));
                        }
                        None => {
                            let message = "the engine returned no judgment for this document";
                            stats.record_error(message);
                            let body = record.body.as_ref().ok().map(Vec::as_slice);
                            lines.push((
                                Destination::Errors,
                                record::error_record(&origin, Some(&docs[i].id), message, body),
                            ));
                        }
                    }
                }
            }
        }
        counters
            .docs
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        counters.bytes.fetch_add(stats.bytes_in, Ordering::Relaxed);
        if out_tx
            .send(ToWriter::Done {
                shard,
                seq,
                lines,
                stats,
            })
            .is_err()
        {
            return;
        }
    }
}

enum Slot {
    Judged(usize),
    Error(String, String),
}

struct ShardState {
    writer: ShardWriter,
    next_seq: u64,
    pending: BTreeMap<u64, (Vec<(Destination, String)>, Stats)>,
    end: Option<(u64, bool)>,
    stats: Stats,
}

fn write_all(
    plan: &RunPlan,
    steps: &[StepName],
    rx: Receiver<ToWriter>,
) -> Result<(Stats, u64, u64)> {
    let mut total = Stats::new(steps);
    let mut shards: HashMap<ShardId, ShardState> = HashMap::new();
    let (mut written, mut skipped) = (0u64, 0u64);
    for message in rx.iter() {
        let shard = match message {
            ToWriter::Failed(e) => return Err(e),
            ToWriter::Skipped { stats } => {
                total.merge(&stats);
                skipped += 1;
                continue;
            }
            ToWriter::Done {
                shard,
                seq,
                lines,
                stats,
            } => {
                state(&mut shards, plan, steps, shard)
                    .pending
                    .insert(seq, (lines, stats));
                shard
            }
            ToWriter::ShardEnd {
                shard,
                batches,
                last,
            } => {
                state(&mut shards, plan, steps, shard).end = Some((batches, last));
                shard
            }
        };
        let st = shards.get_mut(&shard).expect("inserted above");
        while let Some((lines, stats)) = st.pending.remove(&st.next_seq) {
            for (destination, line) in &lines {
                st.writer.write(*destination, line)?;
            }
            st.stats.merge(&stats);
            st.next_seq += 1;
        }
        if let Some((batches, last)) = st.end
            && st.next_seq == batches
        {
            let st = shards.remove(&shard).expect("present");
            st.stats
                .check_accounting()
                .map_err(|e| anyhow!("shard {shard:?}: {e}"))?;
            let marker = Marker {
                last,
                stats: st.stats.clone(),
            };
            st.writer
                .finish_with(&serde_json::to_string_pretty(&marker)?)?;
            total.merge(&st.stats);
            written += 1;
        }
    }
    if !shards.is_empty() {
        bail!(
            "{} shards were left unfinished: a worker or the reader stopped early",
            shards.len()
        );
    }
    Ok((total, written, skipped))
}

fn state<'a>(
    shards: &'a mut HashMap<ShardId, ShardState>,
    plan: &RunPlan,
    steps: &[StepName],
    shard: ShardId,
) -> &'a mut ShardState {
    shards.entry(shard).or_insert_with(|| ShardState {
        writer: ShardWriter::new(ShardPaths::new(
            &plan.output,
            &plan.inputs[shard.file],
            shard.chunk,
        )),
        next_seq: 0,
        pending: BTreeMap::new(),
        end: None,
        stats: Stats::new(steps),
    })
}
