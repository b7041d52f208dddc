//! The job driver: every bulk command (`run`, the dedup `signatures` and `filter` stages, `decontaminate`)
//! is "read records -> judge each in an engine -> write in input order", and this module is that loop,
//! written once.
//!
//! It owns what the commands share: reading and parsing records, a pool of workers each with its own engine
//! (a sandboxed instance, or nothing for a native judgment), an ordered writer, shards and their resume
//! markers (with a checksum of every file a shard wrote, verified before a shard is skipped), error records,
//! counts, progress and the accounting check (`in = kept + dropped + errors`, per shard and in total). A
//! command supplies only its per-record judgment and where its results go, through [`Job`]. This follows
//! datatrove's `BaseFilter.run()`, which does the stats and the exclusion writer once for every filter.
//!
//! One reader thread streams records in batches; a worker is started for each batch until `workers` are
//! running (so a small input never starts more engines than it has batches); the writer, on the calling
//! thread, puts results back in input order, shard by shard. Channels are bounded, so memory stays flat
//! however large the input, and the output bytes do not depend on the number of workers.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, anyhow, bail};
use crossbeam_channel::{Receiver, SendTimeoutError, Sender, bounded};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::input::{ByteCounter, InputFile, RawRecord};
use crate::output::write_atomically;
use crate::progress::{Counters, Reporter};
use crate::record::{self, Fields, Origin, Parsed, RecordError};

/// The counts a job keeps per shard: summed over batches, kept in the shard's marker, summed over shards.
pub trait Tally: Clone + Send + Serialize + DeserializeOwned {
    /// Adds another tally (of a batch or a shard) to this one.
    fn merge(&mut self, other: &Self);
    /// Every record in ends as exactly one of kept, dropped or error; the message says by how much not.
    fn check_accounting(&self) -> std::result::Result<(), String>;
    /// Records and uncompressed bytes read, for progress.
    fn progress(&self) -> (u64, u64);
}

/// One input record as the driver hands it to a judgment: where it is, its bytes when it could be read,
/// and the record parsed into a document, or why not.
pub struct Record {
    pub position: u64,
    pub bytes: Option<Vec<u8>>,
    pub parsed: std::result::Result<Parsed, RecordError>,
}

/// The input file a batch comes from.
pub struct Source<'a> {
    /// Its number among the job's inputs (sorted order).
    pub index: usize,
    pub file: &'a InputFile,
    /// Its relative path as shown in error records.
    pub name: String,
    /// The fields its records are read by and written back with ([`crate::input::InputFormat::fields`]).
    pub fields: &'a Fields,
}

impl<'a> Source<'a> {
    pub fn new(index: usize, file: &'a InputFile, configured: &'a Fields) -> Self {
        Self {
            index,
            file,
            name: file.relative.display().to_string(),
            fields: file.format.fields(configured),
        }
    }

    pub fn origin(&self, position: u64) -> Origin<'_> {
        Origin {
            file: &self.name,
            position,
            key: self.file.format.position_key(),
        }
    }

    /// The error record of `record`: where it is, what went wrong and the record itself.
    pub fn error_line(&self, record: &Record, id: Option<&str>, message: &str) -> String {
        record::error_record(
            &self.origin(record.position),
            id,
            message,
            record.bytes.as_deref(),
        )
    }
}

/// What a command supplies to the driver: how to start a worker's engine, how to judge a batch, and where the
/// results of a shard go.
pub trait Job: Sync {
    /// One worker's judging state: an engine, or `()` when the judgment needs none.
    type Engine: Send;
    /// What is known about a whole input file before its records are judged (decisions of an earlier stage).
    type FileContext: Send + Sync;
    /// The result of judging one record, handed to the writer in input order.
    type Item: Send;
    type Tally: Tally;
    /// Where the items go: the output layout, shard by shard.
    type Output: Output<Item = Self::Item>;

    fn start_engine(&self) -> Result<Self::Engine>;
    fn file_context(&self, source: &Source) -> Result<Self::FileContext>;
    /// An empty tally.
    fn tally(&self) -> Self::Tally;
    /// Judges a batch: one item per record, in order, with the batch's counts added to `tally`.
    fn judge(
        &self,
        engine: &mut Self::Engine,
        context: &Self::FileContext,
        source: &Source,
        records: Vec<Record>,
        tally: &mut Self::Tally,
    ) -> Vec<Self::Item>;
    /// The output the items are written to.
    fn output(&self) -> &Self::Output;
}

/// How a job's output is laid out: each shard (a file's records `chunk × shard_size ..`) is opened,
/// written in input order, finished, and marked done. Jobs whose records become kept / dropped / error
/// shards share one layout ([`crate::output::RecordShards`]); the others name their own.
pub trait Output: Sync {
    /// What one judged record becomes.
    type Item: Send;
    /// One shard being written.
    type Sink;
    /// Where the done marker of shard `chunk` of input file `index` goes.
    fn marker_path(&self, file: &InputFile, index: usize, chunk: u64) -> PathBuf;
    fn open(&self, file: &InputFile, index: usize, chunk: u64) -> Result<Self::Sink>;
    fn write(&self, sink: &mut Self::Sink, item: Self::Item) -> Result<()>;
    /// Finishes the shard's files (renamed into place) and returns them, so the marker can hold their
    /// checksums.
    fn finish(&self, sink: Self::Sink) -> Result<Vec<PathBuf>>;
}

/// How a job is laid out; everything that decides the output bytes is here and in the job itself.
pub struct Plan<'a> {
    pub inputs: &'a [InputFile],
    /// The numbers of the input files this task takes (all of them, or its share with `--shard`).
    pub files: Vec<usize>,
    pub fields: Fields,
    pub workers: usize,
    /// Records per call into the engine.
    pub batch_size: usize,
    /// Records per shard; `u64::MAX` for one shard per file.
    pub shard_size: u64,
    /// A longer record is an error record, found without holding it whole.
    pub max_record_bytes: u64,
    /// Which shards of those files this task judges: all of them, or its share of every file's chunks
    /// (`--shard i/N` of `run` and `decontaminate`, which split one large file too).
    pub share: crate::shard::Shard,
    /// Marker file lists are relative to this folder.
    pub root: PathBuf,
    pub quiet: bool,
    /// The object store `root` mirrors, when the output is remote: each finished shard's files, then its
    /// marker, are uploaded there.
    pub mirror: Option<&'a crate::remote::Mirror>,
}

impl Plan<'_> {
    /// Whether shard `chunk` of input file `file` is this task's. With at least as many files as tasks,
    /// whole files are dealt out (a task never reads another's file); with fewer, each file's shards are,
    /// so a few large files are split too (each task then reads past the other tasks' shards of a file).
    /// Every task decides alike from the same inputs.
    pub fn owns(&self, file: usize, chunk: u64) -> bool {
        if self.files.len() >= self.share.count {
            self.share.takes(file)
        } else {
            self.share.takes_chunk(file, chunk)
        }
    }

    /// Whether this task has nothing to do in input file `file` (it is not read at all).
    fn skips_file(&self, file: usize) -> bool {
        self.files.len() >= self.share.count && !self.share.takes(file)
    }
}

/// What a finished job reports.
pub struct Finished<T> {
    pub total: T,
    pub shards_written: u64,
    pub shards_skipped: u64,
    /// Workers actually started (at most one per batch).
    pub workers_started: usize,
}

/// A shard's completion marker: its counts and a checksum of every file it wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Marker<T> {
    /// Whether this is the last shard of its input file.
    last: bool,
    stats: T,
    /// Path (relative to the job's root) -> xxh3-64 of the file's bytes, in hex.
    files: BTreeMap<String, String>,
}

/// Shards finished by this process, for the message printed on an interrupt.
static SHARDS_FINISHED: AtomicU64 = AtomicU64::new(0);
/// The output being written, for the same message.
static OUTPUT: OnceLock<PathBuf> = OnceLock::new();

/// Installs the Ctrl-C handler: exit 130 saying what was kept and how to resume. Finished shards are
/// renamed into place and marked done before they count, so what is marked is complete; the shards in
/// progress are temporary files that a re-run writes again from scratch.
pub fn handle_interrupts(output: &Path, command: &str) {
    let _ = OUTPUT.set(output.to_path_buf());
    let command = command.to_string();
    let _ = ctrlc::set_handler(move || {
        let out = OUTPUT
            .get()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        eprintln!(
            "\ntamis: interrupted. {} shard(s) finished by this run are kept in {out} (with those of earlier runs, \
             each marked done in {out}/.tamis/done); shards in progress were not kept. Run the same `tamis {command}` \
             command again to resume: finished shards are checked and skipped.",
            SHARDS_FINISHED.load(Ordering::Relaxed)
        );
        std::process::exit(130);
    });
}

/// The lock of an output directory, held for the life of the job: two jobs writing the same shards would
/// interleave their bytes and mark each other's partial files done.
pub struct OutputLock {
    _files: Vec<File>,
}

/// Locks `dir` for one job: exclusively (the file `dir/.tamis/lock`), or, for one task of a sharded job
/// (`--shard i/N`, tasks meant to run at once), shared with the other tasks and exclusive for its own share
/// (`dir/.tamis/lock.shard-i-of-N`). Says who holds it when it is taken.
pub fn lock_output(dir: &Path, shard: Option<(usize, usize)>) -> Result<OutputLock> {
    let open = |name: &str| -> Result<(File, PathBuf)> {
        let path = dir.join(".tamis").join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok((file, path))
    };
    let taken = |result: std::result::Result<(), std::fs::TryLockError>, path: &Path| match result {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow!(
            "{} is in use by another tamis job (it holds {}); wait for it to finish, or choose another output",
            dir.display(),
            path.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow::Error::new(e).context(format!("locking {}", path.display())))
        }
    };
    let (whole, path) = open("lock")?;
    match shard {
        None => {
            taken(whole.try_lock(), &path)?;
            Ok(OutputLock {
                _files: vec![whole],
            })
        }
        Some((i, n)) => {
            taken(whole.try_lock_shared(), &path)?;
            let (own, own_path) = open(&format!("lock.shard-{i}-of-{n}"))?;
            taken(own.try_lock(), &own_path)?;
            Ok(OutputLock {
                _files: vec![whole, own],
            })
        }
    }
}

/// A shard's done marker as written, if there is one (unverified: [`Reader::done`] checks its files).
fn load_marker<T: DeserializeOwned>(path: &Path) -> Result<Option<Marker<T>>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let marker = serde_json::from_str(&text).with_context(|| {
        format!(
            "shard marker {} is corrupt; delete it to redo that shard",
            path.display()
        )
    })?;
    Ok(Some(marker))
}

/// The counts in a shard's done marker, if the shard is marked done.
pub fn read_marker<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    Ok(load_marker::<T>(path)?.map(|m| m.stats))
}

/// The counts of every shard of one input file, in order, once all of them are marked done (the marker
/// of the last says it is the last); `None` while any is missing. `marker` gives the marker path of a
/// shard number. For a stage that reads the results of a whole job after it (`tamis tokenize` assembling
/// its output from every shard's part).
pub fn finished_file<T: DeserializeOwned>(
    marker: impl Fn(u64) -> PathBuf,
) -> Result<Option<Vec<T>>> {
    let mut shards = Vec::new();
    for chunk in 0.. {
        let Some(marker) = load_marker::<T>(&marker(chunk))? else {
            return Ok(None);
        };
        shards.push(marker.stats);
        if marker.last {
            break;
        }
    }
    Ok(Some(shards))
}

/// The xxh3-64 of a file's bytes, in hex.
pub fn checksum(path: &Path) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:016x}", hasher.digest()))
}

enum Work<C> {
    Batch {
        shard: ShardId,
        seq: u64,
        context: Arc<C>,
        records: Vec<RawRecord>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ShardId {
    file: usize,
    chunk: u64,
}

enum ToWriter<I, T> {
    Done {
        shard: ShardId,
        seq: u64,
        items: Vec<I>,
        tally: T,
    },
    ShardEnd {
        shard: ShardId,
        batches: u64,
        last: bool,
    },
    Skipped(T),
    Failed(anyhow::Error),
}

/// Runs a job over the plan's files; returns the summed counts once the accounting holds.
pub fn drive<J: Job>(job: &J, plan: &Plan) -> Result<Finished<J::Tally>> {
    let counters = Arc::new(Counters::default());
    let input_total: u64 = plan.files.iter().map(|&i| plan.inputs[i].size).sum();
    let reporter = Reporter::start(counters.clone(), input_total, plan.quiet);
    let workers = plan.workers.max(1);
    // A few batches in flight per worker, and no more than a few hundred whatever `--workers` says.
    let queue = (workers * 4).min(256);
    let (work_tx, work_rx) = bounded::<Work<J::FileContext>>(queue);
    let (out_tx, out_rx) = bounded::<ToWriter<J::Item, J::Tally>>(queue);
    let started = AtomicU64::new(0);
    // Set once the writer is done, so a reader waiting on workers that all failed gives up.
    let stop = AtomicBool::new(false);

    let result = std::thread::scope(|scope| -> Result<(J::Tally, u64, u64)> {
        {
            let out_tx = out_tx.clone();
            let counters = counters.clone();
            let started = &started;
            let stop = &stop;
            scope.spawn(move || {
                // Workers start on demand, one per batch sent until `workers` run: a small input does not
                // pay for engines it cannot use.
                let mut spawn_worker = || {
                    let n = started.fetch_add(1, Ordering::Relaxed);
                    let work_rx = work_rx.clone();
                    let out_tx = out_tx.clone();
                    let counters = counters.clone();
                    std::thread::Builder::new()
                        .name(format!("worker-{n}"))
                        .spawn_scoped(scope, move || match job.start_engine() {
                            Ok(mut engine) => {
                                work(job, plan, &mut engine, &work_rx, &out_tx, &counters)
                            }
                            Err(e) => {
                                let _ = out_tx.send(ToWriter::Failed(
                                    e.context(format!("starting worker {n}")),
                                ));
                            }
                        })
                        .map(|_| ())
                };
                let mut reader = Reader {
                    job,
                    plan,
                    work_tx: &work_tx,
                    out_tx: &out_tx,
                    counter: ByteCounter(counters.input_read.clone()),
                    batches: 0,
                    workers,
                    stop,
                    spawn: &mut spawn_worker,
                };
                if let Err(e) = reader.read_all() {
                    let _ = out_tx.send(ToWriter::Failed(e));
                }
                drop(work_tx);
            });
        }
        drop(out_tx);
        let written = write_all(job, plan, out_rx);
        stop.store(true, Ordering::Relaxed);
        written
    });
    reporter.finish();
    let (total, written, skipped) = result?;
    total.check_accounting().map_err(|e| anyhow!(e))?;
    Ok(Finished {
        total,
        shards_written: written,
        shards_skipped: skipped,
        workers_started: started.load(Ordering::Relaxed) as usize,
    })
}

struct Reader<'a, 'p, J: Job, F: FnMut() -> std::io::Result<()>> {
    job: &'a J,
    plan: &'a Plan<'p>,
    work_tx: &'a Sender<Work<J::FileContext>>,
    out_tx: &'a Sender<ToWriter<J::Item, J::Tally>>,
    counter: ByteCounter,
    batches: usize,
    workers: usize,
    stop: &'a AtomicBool,
    spawn: &'a mut F,
}

impl<J: Job, F: FnMut() -> std::io::Result<()>> Reader<'_, '_, J, F> {
    fn read_all(&mut self) -> Result<()> {
        for &index in &self.plan.files {
            if self.plan.skips_file(index) {
                self.counter
                    .0
                    .fetch_add(self.plan.inputs[index].size, Ordering::Relaxed);
                continue;
            }
            self.read_file(index)?;
        }
        Ok(())
    }

    /// The marker of a finished shard, if it is there and every file it lists is intact; a shard whose files
    /// changed since (a partial write, a concurrent job before locks, a hand edit) is redone.
    fn done(&self, index: usize, chunk: u64) -> Result<Option<Marker<J::Tally>>> {
        let file = &self.plan.inputs[index];
        let path = self.job.output().marker_path(file, index, chunk);
        let Some(marker) = load_marker::<J::Tally>(&path)? else {
            return Ok(None);
        };
        for (name, sum) in &marker.files {
            let output = self.plan.root.join(name);
            let intact = match self.plan.mirror {
                // A shard finished elsewhere: its files are in the store, not here. An object is whole or
                // absent, and a marker is uploaded after its files, so being there is being intact.
                Some(mirror) if !output.is_file() => mirror.has(name)?,
                _ => output.is_file() && checksum(&output)? == *sum,
            };
            if !intact {
                if !self.plan.quiet {
                    eprintln!(
                        "tamis: {} does not match its checksum in {}; redoing that shard",
                        output.display(),
                        path.display()
                    );
                }
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
                return Ok(None);
            }
        }
        Ok(Some(marker))
    }

    fn send_batch(
        &mut self,
        shard: ShardId,
        seq: u64,
        context: &Arc<J::FileContext>,
        records: Vec<RawRecord>,
    ) -> Result<()> {
        if self.batches < self.workers {
            (self.spawn)().context("starting a worker thread")?;
        }
        self.batches += 1;
        let mut work = Work::Batch {
            shard,
            seq,
            context: context.clone(),
            records,
        };
        loop {
            match self
                .work_tx
                .send_timeout(work, std::time::Duration::from_millis(100))
            {
                Ok(()) => return Ok(()),
                Err(SendTimeoutError::Timeout(back)) if !self.stop.load(Ordering::Relaxed) => {
                    work = back
                }
                Err(_) => bail!("all workers stopped"),
            }
        }
    }

    fn send(&self, message: ToWriter<J::Item, J::Tally>) -> Result<()> {
        self.out_tx
            .send(message)
            .map_err(|_| anyhow!("the writer stopped"))
    }

    fn read_file(&mut self, index: usize) -> Result<()> {
        let plan = self.plan;
        let file = &plan.inputs[index];
        let ours = |chunk: u64| plan.owns(index, chunk);
        // A file whose shards are all done is not read again. This task checks its own shards' files; the
        // other tasks' shards only need to be marked, for the marker of the last one to say where the file
        // ends.
        let mut done: Vec<Option<Marker<J::Tally>>> = Vec::new();
        for chunk in 0.. {
            let marker = if ours(chunk) {
                self.done(index, chunk)?
            } else {
                load_marker(&self.job.output().marker_path(file, index, chunk))?
            };
            let Some(marker) = marker else {
                break;
            };
            let last = marker.last;
            done.push(Some(marker));
            if last {
                for (chunk, marker) in done.into_iter().enumerate() {
                    if ours(chunk as u64)
                        && let Some(marker) = marker
                    {
                        self.send(ToWriter::Skipped(marker.stats))?;
                    }
                }
                self.counter.0.fetch_add(file.size, Ordering::Relaxed);
                return Ok(());
            }
        }
        let source = Source::new(index, file, &plan.fields);
        let context = Arc::new(self.job.file_context(&source)?);
        let records = crate::input::records(file, self.counter.clone(), plan.max_record_bytes)?;
        let mut chunk = 0u64;
        let mut in_chunk = 0u64;
        let mut seq = 0u64;
        let mut batch = Vec::with_capacity(plan.batch_size);
        let mut mode = self.mode(index, chunk, &mut done)?;
        for record in records {
            if in_chunk == plan.shard_size {
                let shard = ShardId { file: index, chunk };
                match mode {
                    Mode::Judge => {
                        if !batch.is_empty() {
                            self.send_batch(shard, seq, &context, std::mem::take(&mut batch))?;
                            seq += 1;
                        }
                        self.send(ToWriter::ShardEnd {
                            shard,
                            batches: seq,
                            last: false,
                        })?;
                    }
                    Mode::Done(marker) => self.send(ToWriter::Skipped(marker.stats))?,
                    Mode::Other => {}
                }
                chunk += 1;
                in_chunk = 0;
                seq = 0;
                mode = self.mode(index, chunk, &mut done)?;
            }
            in_chunk += 1;
            if !matches!(mode, Mode::Judge) {
                continue;
            }
            batch.push(record);
            if batch.len() == plan.batch_size {
                self.send_batch(
                    ShardId { file: index, chunk },
                    seq,
                    &context,
                    std::mem::take(&mut batch),
                )?;
                seq += 1;
            }
        }
        let shard = ShardId { file: index, chunk };
        match mode {
            Mode::Done(mut marker) => {
                // The final shard was finished by an earlier run before it knew it was the last: redo its
                // marker.
                marker.last = true;
                write_atomically(
                    &self.job.output().marker_path(file, index, chunk),
                    serde_json::to_string_pretty(&marker)?.as_bytes(),
                )?;
                self.send(ToWriter::Skipped(marker.stats))
            }
            Mode::Judge => {
                if !batch.is_empty() {
                    self.send_batch(shard, seq, &context, batch)?;
                    seq += 1;
                }
                self.send(ToWriter::ShardEnd {
                    shard,
                    batches: seq,
                    last: true,
                })
            }
            Mode::Other => Ok(()),
        }
    }

    /// What this task does with shard `chunk` of file `index`: judge it, skip it as done (by an earlier
    /// run), or leave it to another task.
    fn mode(
        &self,
        index: usize,
        chunk: u64,
        done: &mut [Option<Marker<J::Tally>>],
    ) -> Result<Mode<J::Tally>> {
        if !self.plan.owns(index, chunk) {
            return Ok(Mode::Other);
        }
        let known = done.get_mut(chunk as usize).and_then(Option::take);
        Ok(
            match known.map_or_else(|| self.done(index, chunk), |m| Ok(Some(m)))? {
                Some(marker) => Mode::Done(marker),
                None => Mode::Judge,
            },
        )
    }
}

/// What one task does with one shard.
enum Mode<T> {
    Judge,
    Done(Marker<T>),
    Other,
}

/// The summed counts of every shard of every file of the plan, once all of them are marked done (by any
/// task of a sharded job); `None` while one is missing. The task that finds its job complete writes the
/// job's totals.
pub fn job_totals<J: Job>(job: &J, plan: &Plan) -> Result<Option<J::Tally>> {
    if plan.mirror.is_some() {
        // The other tasks' markers are in the store.
        crate::remote::refresh()?;
    }
    let mut total = job.tally();
    for &index in &plan.files {
        let file = &plan.inputs[index];
        let Some(shards) =
            finished_file::<J::Tally>(|chunk| job.output().marker_path(file, index, chunk))?
        else {
            return Ok(None);
        };
        for stats in &shards {
            total.merge(stats);
        }
    }
    Ok(Some(total))
}

fn work<J: Job>(
    job: &J,
    plan: &Plan,
    engine: &mut J::Engine,
    work_rx: &Receiver<Work<J::FileContext>>,
    out_tx: &Sender<ToWriter<J::Item, J::Tally>>,
    counters: &Counters,
) {
    for Work::Batch {
        shard,
        seq,
        context,
        records,
    } in work_rx.iter()
    {
        let file = &plan.inputs[shard.file];
        let source = Source::new(shard.file, file, &plan.fields);
        let records: Vec<Record> = records
            .into_iter()
            .map(|raw| {
                let origin = source.origin(raw.position);
                match raw.body {
                    Err(e) => Record {
                        position: raw.position,
                        bytes: None,
                        parsed: Err(e),
                    },
                    Ok(bytes) => Record {
                        position: raw.position,
                        parsed: record::parse(&bytes, source.fields, &origin),
                        bytes: Some(bytes),
                    },
                }
            })
            .collect();
        let mut tally = job.tally();
        let items = job.judge(engine, &context, &source, records, &mut tally);
        let (docs, bytes) = tally.progress();
        counters.docs.fetch_add(docs, Ordering::Relaxed);
        counters.bytes.fetch_add(bytes, Ordering::Relaxed);
        if out_tx
            .send(ToWriter::Done {
                shard,
                seq,
                items,
                tally,
            })
            .is_err()
        {
            return;
        }
    }
}

struct ShardState<J: Job> {
    sink: <J::Output as Output>::Sink,
    next_seq: u64,
    pending: BTreeMap<u64, (Vec<J::Item>, J::Tally)>,
    end: Option<(u64, bool)>,
    tally: J::Tally,
}

fn write_all<J: Job>(
    job: &J,
    plan: &Plan,
    rx: Receiver<ToWriter<J::Item, J::Tally>>,
) -> Result<(J::Tally, u64, u64)> {
    let mut total = job.tally();
    let mut shards: HashMap<ShardId, ShardState<J>> = HashMap::new();
    let (mut written, mut skipped) = (0u64, 0u64);
    for message in rx.iter() {
        let shard = match message {
            ToWriter::Failed(e) => return Err(e),
            ToWriter::Skipped(tally) => {
                total.merge(&tally);
                skipped += 1;
                continue;
            }
            ToWriter::Done {
                shard,
                seq,
                items,
                tally,
            } => {
                state(job, plan, &mut shards, shard)?
                    .pending
                    .insert(seq, (items, tally));
                shard
            }
            ToWriter::ShardEnd {
                shard,
                batches,
                last,
            } => {
                state(job, plan, &mut shards, shard)?.end = Some((batches, last));
                shard
            }
        };
        let st = shards.get_mut(&shard).expect("inserted above");
        while let Some((items, tally)) = st.pending.remove(&st.next_seq) {
            for item in items {
                job.output().write(&mut st.sink, item)?;
            }
            st.tally.merge(&tally);
            st.next_seq += 1;
        }
        if let Some((batches, last)) = st.end
            && st.next_seq == batches
        {
            let st = shards.remove(&shard).expect("present");
            let file = &plan.inputs[shard.file];
            st.tally
                .check_accounting()
                .map_err(|e| anyhow!("{} shard {}: {e}", file.relative.display(), shard.chunk))?;
            let mut files = BTreeMap::new();
            for path in job.output().finish(st.sink)? {
                let name = path
                    .strip_prefix(&plan.root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                files.insert(name, checksum(&path)?);
            }
            let marker = Marker {
                last,
                stats: st.tally.clone(),
                files,
            };
            let marker_path = job.output().marker_path(file, shard.file, shard.chunk);
            write_atomically(
                &marker_path,
                serde_json::to_string_pretty(&marker)?.as_bytes(),
            )?;
            if let Some(mirror) = plan.mirror {
                // The shard's files first, its marker last: a marker in the store vouches for them.
                let files: Vec<PathBuf> = marker.files.keys().map(|n| plan.root.join(n)).collect();
                mirror.push(&files)?;
                mirror.push(&[marker_path])?;
            }
            SHARDS_FINISHED.fetch_add(1, Ordering::Relaxed);
            total.merge(&st.tally);
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

fn state<'a, J: Job>(
    job: &J,
    plan: &Plan,
    shards: &'a mut HashMap<ShardId, ShardState<J>>,
    shard: ShardId,
) -> Result<&'a mut ShardState<J>> {
    match shards.entry(shard) {
        std::collections::hash_map::Entry::Occupied(entry) => Ok(entry.into_mut()),
        std::collections::hash_map::Entry::Vacant(entry) => {
            let sink = job
                .output()
                .open(&plan.inputs[shard.file], shard.file, shard.chunk)?;
            Ok(entry.insert(ShardState {
                sink,
                next_seq: 0,
                pending: BTreeMap::new(),
                end: None,
                tally: job.tally(),
            }))
        }
    }
}

/// Refuses to read the output of a tamis job that has not finished: a stage does not start until every
/// shard of its predecessor is done. A job's output folder holds `.tamis/`, and its `lineage.json` once the
/// whole job is complete (the last task of a sharded job writes it), so an input spec under a folder with
/// the first and not the second is a job still under way, or one that stopped.
pub fn check_upstream(specs: &[String]) -> Result<()> {
    for spec in specs {
        let literal: PathBuf = Path::new(spec)
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
            .collect();
        for dir in literal.ancestors() {
            if dir.as_os_str().is_empty() {
                break;
            }
            if dir.join(".tamis").is_dir() {
                if !dir.join("lineage.json").is_file() {
                    bail!(
                        "input {spec}: {} is the output of a tamis job that has not finished (it has no \
                         lineage.json yet): wait for every task of that job, or resume it, before this stage",
                        dir.display()
                    );
                }
                break;
            }
        }
    }
    Ok(())
}

/// Binds an output to the job that made it. The first run writes `manifest` (what decides the output's
/// bytes: config, inputs and their identities, shard size) to `path`; every later run, a resume among them,
/// must bring an equal one, or it is refused with `refusal` rather than mixing the outputs of two jobs.
pub fn bind_output<M>(path: &Path, manifest: &M, refusal: impl FnOnce() -> String) -> Result<()>
where
    M: Serialize + DeserializeOwned + PartialEq,
{
    if path.is_file() {
        let existing: M = serde_json::from_str(&std::fs::read_to_string(path)?).with_context(|| {
            format!(
                "{} is corrupt or from an older tamis; delete the output directory to start over",
                path.display()
            )
        })?;
        if existing != *manifest {
            bail!("{}", refusal());
        }
        return Ok(());
    }
    write_atomically(path, serde_json::to_string_pretty(manifest)?.as_bytes())
}
