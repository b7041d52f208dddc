//! `tamis`: the bulk command line of tamis. It reads datasets, runs the tamis-core component on wasmtime
//! (or natively, for comparison) on every core, and writes kept, dropped and error records with a full
//! account of where every input record went.

mod bench;
mod decontaminate;
mod dedup;
mod engine;
mod format;
mod indexed_dataset;
mod input;
mod job;
mod launch;
mod lineage;
mod output;
mod progress;
mod record;
mod remote;
mod report;
mod run;
mod sample;
mod select;
mod shard;
mod stats;
mod tokenize;
mod train_classifier;
mod warc;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use tamis_core::{Config, ConfigFormat, ResourceKind, Resources};

use crate::engine::{EngineFactory, EngineKind, Limits};

#[derive(Parser)]
#[command(
    name = "tamis",
    version,
    about = "A fine sieve for LLM training data: clean, filter and dedup web text."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Stage 2: clean and filter datasets with a config, writing kept/, dropped/, errors/ and stats.json.
    Run(RunArgs),
    /// Stage 1: draw a weighted, reproducible sample of raw sources into RAW/<source>/raw_data.jsonl.gz.
    Sample(SampleArgs),
    /// Measure native and wasm throughput on the same input, with 1 and all workers.
    Bench(BenchArgs),
    /// Remove exact, near-duplicate and repeated-paragraph content across every input file, in stages
    /// (signatures, buckets, clusters, filter) that can run as separate tasks.
    Dedup(DedupArgs),
    /// Drop or flag documents that share word n-grams with benchmark items.
    Decontaminate(DecontaminateArgs),
    /// Keep the top fraction of a dataset by a score (select.keep_top_fraction), exactly, in stages
    /// (scores, threshold, filter) that can run as separate tasks.
    Select(SelectArgs),
    /// Check a config and print it with every default filled in.
    Check(CheckArgs),
    /// Turn kept records into token ids, written as a Megatron-LM indexed dataset (.bin + .idx).
    Tokenize(TokenizeArgs),
    /// Write training records (instruction, conversation, prompt/completion, domain adaptation) from
    /// cleaned records, rendered with seed templates or a model's chat template, split into
    /// train/validation/test.
    Format(FormatArgs),
    /// Print the chain of runs that made DIR, back to the raw data, and check every input against what
    /// its run recorded (exit status 1 when one changed).
    Lineage(LineageArgs),
    /// Write report.html (funnel, histograms, checks against thresholds, samples, issues) and a Hugging
    /// Face dataset card README.md for the output directory of a `tamis run`.
    Report(ReportArgs),
    /// Submit the config's whole job to a cluster, stage by stage (sample, run, dedup, select,
    /// decontaminate, tokenize, as configured), each split over tasks: `slurm` job arrays with
    /// dependencies and retries, or `k8s` Indexed Job manifests printed for kubectl.
    Launch(LaunchArgs),
    /// Show each stage's done, running, pending and failed tasks of a `tamis launch slurm`.
    Status(StatusArgs),
    /// Train a fastText supervised classifier (a DCLM-style quality classifier, say) from labelled
    /// records ([train_classifier]), writing model.bin, stats.json and errors.jsonl.
    TrainClassifier(TrainClassifierArgs),
}

#[derive(Args)]
struct LaunchArgs {
    #[command(subcommand)]
    target: LaunchTarget,
}

#[derive(Subcommand)]
enum LaunchTarget {
    /// Submit every stage as Slurm job arrays (`sbatch`), chained with afterok, failed tasks retried
    /// (the slurm section of the config).
    Slurm(LaunchSlurmArgs),
    /// Print every stage as a Kubernetes Indexed Job (the k8s section of the config).
    K8s(LaunchK8sArgs),
    /// Run by each stage's gate job: check that every task of STAGE is done, submit the failed ones again.
    #[command(hide = true)]
    Gate { dir: PathBuf, stage: String },
}

#[derive(Args)]
struct LaunchSlurmArgs {
    /// Config file; its slurm section shapes the jobs.
    config: PathBuf,
    /// Print the scripts and the sbatch commands; submit and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Only these stages (names such as run or dedup-filter, or a command such as dedup), comma-separated.
    #[arg(long, value_delimiter = ',')]
    stages: Vec<String>,
    /// Tasks of each split stage (overrides slurm.tasks).
    #[arg(long)]
    tasks: Option<usize>,
    /// The launch folder: scripts, logs, task marks (overrides slurm.logs).
    #[arg(long)]
    logs: Option<PathBuf>,
}

#[derive(Args)]
struct LaunchK8sArgs {
    /// Config file; its k8s section shapes the Jobs.
    config: PathBuf,
    /// Only these stages, comma-separated.
    #[arg(long, value_delimiter = ',')]
    stages: Vec<String>,
    /// Tasks of each split stage (overrides k8s.tasks).
    #[arg(long)]
    tasks: Option<usize>,
}

#[derive(Args)]
struct StatusArgs {
    /// The launch folder of a `tamis launch slurm` (slurm.logs).
    dir: PathBuf,
}

#[derive(Args)]
struct TrainClassifierArgs {
    /// Config file with a train_classifier section.
    config: PathBuf,
    /// Output directory (overrides train_classifier.output).
    #[arg(long)]
    output: Option<PathBuf>,
    /// A longer record (line, or Parquet row as JSON) is an error record.
    #[arg(long, default_value_t = input::DEFAULT_MAX_RECORD_BYTES)]
    max_record_bytes: u64,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct TokenizeArgs {
    /// Config file; its tokenize section names the tokenizer and shapes the output.
    config: PathBuf,
    /// Input files, directories or globs (overrides tokenize.input, else io.input).
    #[arg(long, num_args = 1..)]
    input: Vec<String>,
    /// Output directory (overrides tokenize.output).
    #[arg(long)]
    output: Option<PathBuf>,
    /// This task's share, `i/N`: encodes input files numbered i mod N; a run without it writes the output
    /// once every file is encoded.
    #[arg(long, value_parser = shard::Shard::parse)]
    shard: Option<shard::Shard>,
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    engine: EngineArgs,
    /// Texts per call into the engine.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Records per encoded part (the unit of resumption).
    #[arg(long, default_value_t = 10_000)]
    shard_size: u64,
}

#[derive(Args)]
struct FormatArgs {
    /// Config file with a format section.
    config: PathBuf,
    /// Input files, directories or globs (overrides format.input, else io.input).
    #[arg(long, num_args = 1..)]
    input: Vec<String>,
    /// Output directory (overrides format.output).
    #[arg(long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    job: JobArgs,
    /// Records per output shard (the unit of resumption).
    #[arg(long, default_value_t = 10_000)]
    shard_size: u64,
}

#[derive(Args)]
struct LineageArgs {
    /// The output directory of a tamis job (it holds lineage.json).
    dir: PathBuf,
}

#[derive(Args)]
struct ReportArgs {
    /// The output directory of a `tamis run` (the one holding stats.json).
    run_dir: PathBuf,
    /// The output directory of `tamis dedup` on this run's kept records (else looked for beside RUN_DIR).
    #[arg(long)]
    dedup: Option<PathBuf>,
    /// The output directory of `tamis decontaminate` (else looked for beside RUN_DIR).
    #[arg(long)]
    decontaminate: Option<PathBuf>,
    /// Do not look beside RUN_DIR for dedup and decontamination outputs.
    #[arg(long)]
    no_discover: bool,
    /// Where report.html and README.md go (default: RUN_DIR).
    #[arg(long)]
    output: Option<PathBuf>,
    /// The dataset card's license: a Hub licence id such as apache-2.0 or cc-by-4.0.
    #[arg(long, default_value = "other")]
    license: String,
    /// The dataset's name, the title of the page and the card (default: RUN_DIR's folder name).
    #[arg(long)]
    name: Option<String>,
    /// The field holding the text in the records.
    #[arg(long, default_value = "text")]
    text_key: String,
    /// The field holding the id in the records.
    #[arg(long, default_value = "id")]
    id_key: String,
    /// Reader threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
struct DedupArgs {
    /// Config file; its dedup and fingerprint sections shape the job.
    config: PathBuf,
    /// Input files, directories or globs (overrides dedup.input, else io.input).
    #[arg(long, num_args = 1..)]
    input: Vec<String>,
    /// Output directory (overrides dedup.output).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Which stage to run; `all` runs them in order.
    #[arg(long, value_enum, default_value = "all")]
    stage: dedup::Stage,
    /// This task's share, `i/N`: input files (signatures, filter) or partitions (buckets) numbered i mod N.
    #[arg(long, value_parser = shard::Shard::parse)]
    shard: Option<shard::Shard>,
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    engine: EngineArgs,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
}

#[derive(Args)]
struct DecontaminateArgs {
    /// Config file with a decontaminate section naming the benchmarks.
    config: PathBuf,
    /// Input files, directories or globs (overrides decontaminate.input, else io.input).
    #[arg(long, num_args = 1..)]
    input: Vec<String>,
    /// Output directory (overrides decontaminate.output).
    #[arg(long)]
    output: Option<PathBuf>,
    /// This task's share, `i/N`, as for `tamis run`: shards numbered i mod N, file by file; from
    /// SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX when not given. The last task to finish writes
    /// stats.json and report.jsonl.
    #[arg(long, value_parser = shard::Shard::parse)]
    shard: Option<shard::Shard>,
    /// Records per output shard (the unit of resumption, and of --shard within a file).
    #[arg(long, default_value_t = 10_000)]
    shard_size: u64,
    #[command(flatten)]
    job: JobArgs,
}

#[derive(Args)]
struct SelectArgs {
    /// Config file with a select section (score, keep_top_fraction).
    config: PathBuf,
    /// Input files, directories or globs (overrides select.input, else io.input).
    #[arg(long, num_args = 1..)]
    input: Vec<String>,
    /// Output directory (overrides select.output).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Which stage to run; `all` runs them in order.
    #[arg(long, value_enum, default_value = "all")]
    stage: select::Stage,
    /// This task's share of the input files, `i/N` (the scores and filter stages).
    #[arg(long, value_parser = shard::Shard::parse)]
    shard: Option<shard::Shard>,
    #[command(flatten)]
    job: JobArgs,
}

/// What every record job (run, dedup, decontaminate, select, format, tokenize) takes alike.
#[derive(Args)]
struct JobArgs {
    /// Worker threads (overrides io.workers; default: all cores).
    #[arg(long)]
    workers: Option<usize>,
    /// A longer record (line, or Parquet row as JSON) is an error record, found without holding it whole.
    #[arg(long, default_value_t = input::DEFAULT_MAX_RECORD_BYTES)]
    max_record_bytes: u64,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct EngineArgs {
    /// `wasm` (sandboxed component, default) or `native` (the core linked in).
    #[arg(long, value_enum)]
    engine: Option<EngineKind>,
    /// The core component; by default the one built next to this binary.
    #[arg(long)]
    component: Option<PathBuf>,
    /// Linear memory cap per sandboxed instance, in MiB.
    #[arg(long, default_value_t = 2048)]
    memory_mib: usize,
    /// Time limit of one batch (and of each document retried alone after a trap), in seconds.
    #[arg(long, default_value_t = 120.0)]
    batch_timeout: f64,
}

#[derive(Args)]
struct RunArgs {
    /// Config file (.toml, .yaml/.yml or .json).
    config: PathBuf,
    /// Input files, directories or globs (overrides io.input).
    #[arg(long, num_args = 1..)]
    input: Vec<String>,
    /// Output directory (overrides io.output).
    #[arg(long)]
    output: Option<PathBuf>,
    /// This task's share, `i/N`: the shards (`--shard-size` records of an input file) numbered i mod N,
    /// counted file by file, so one large file is split over the tasks too. Without it, the share comes
    /// from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX when set. The N tasks' outputs together are one
    /// unsharded run's, byte for byte; the task that finishes last writes stats.json.
    #[arg(long, value_parser = shard::Shard::parse)]
    shard: Option<shard::Shard>,
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    engine: EngineArgs,
    /// Documents per call into the engine.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Records per output shard (the unit of resumption).
    #[arg(long, default_value_t = 10_000)]
    shard_size: u64,
}

#[derive(Args)]
struct SampleArgs {
    /// Config file with a sample section.
    config: PathBuf,
    /// `draw` (each input file's candidates, split by --shard), `merge` (each source's sample, one task),
    /// or `all`: draw, then merge the sources whose files are all drawn.
    #[arg(long, value_enum, default_value = "all")]
    stage: sample::Stage,
    /// This task's share of the sources' files, `i/N`, numbered across all sources in order; from
    /// SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX when not given. The sample does not depend on the split.
    #[arg(long, value_parser = shard::Shard::parse)]
    shard: Option<shard::Shard>,
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct BenchArgs {
    /// Config file.
    config: PathBuf,
    /// Input files, directories or globs (overrides io.input).
    #[arg(long, num_args = 1..)]
    input: Vec<String>,
    /// Worker count of the all-workers measurement (default: all cores).
    #[arg(long)]
    workers: Option<usize>,
    /// Passes over the input in each measurement.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Use only the first N readable documents of the input.
    #[arg(long)]
    limit: Option<usize>,
    /// Count the wasm instructions (wasmtime fuel) of building the pipeline and of judging each document,
    /// instead of timing: the same figures on every run and machine. Prints one JSON object.
    #[arg(long)]
    fuel: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Args)]
struct CheckArgs {
    config: PathBuf,
    /// Print as toml, yaml or json.
    #[arg(long, default_value = "toml")]
    format: String,
}

fn main() -> std::process::ExitCode {
    let mut result = real_main();
    // What a command in stages wrote to a remote output's staging folder goes to the store, finished
    // shards included when the command failed.
    if let Err(e) = remote::finish_work() {
        result = result.and(Err(e.context("uploading the output to the object store")));
    }
    // Staged copies of remote inputs and outputs are this process's alone.
    remote::cleanup();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tamis: error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn real_main() -> Result<std::process::ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => cmd_run(args),
        Command::Sample(args) => cmd_sample(args),
        Command::Bench(args) => cmd_bench(args),
        Command::Dedup(args) => cmd_dedup(args),
        Command::Decontaminate(args) => cmd_decontaminate(args),
        Command::Select(args) => cmd_select(args),
        Command::TrainClassifier(args) => cmd_train_classifier(args),
        Command::Launch(args) => match args.target {
            LaunchTarget::Slurm(args) => cmd_launch_slurm(args),
            LaunchTarget::K8s(args) => cmd_launch_k8s(args),
            LaunchTarget::Gate { dir, stage } => {
                let said = launch::slurm::gate(&dir, &stage, &mut launch::slurm::Sbatch)?;
                println!("{said}");
                Ok(std::process::ExitCode::SUCCESS)
            }
        },
        Command::Status(args) => cmd_status(args),
        Command::Tokenize(args) => cmd_tokenize(args),
        Command::Format(args) => cmd_format(args),
        Command::Lineage(args) => cmd_lineage(args),
        Command::Report(args) => cmd_report(args),
        Command::Check(args) => {
            let (config, _) = load_config(&args.config)?;
            let format = ConfigFormat::parse_name(&args.format).ok_or_else(|| {
                anyhow!(
                    "--format: expected toml, yaml or json, got {:?}",
                    args.format
                )
            })?;
            print!("{}", config.render(format).map_err(|e| anyhow!("{e}"))?);
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// Reads a config file, with its text and format, so the same text can be handed to the component.
fn load_config(path: &Path) -> Result<(Config, (String, ConfigFormat))> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config {}", path.display()))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let format = ConfigFormat::from_file_name(name).ok_or_else(|| {
        anyhow!(
            "config {}: unknown format, expected a .toml, .yaml, .yml or .json file",
            path.display()
        )
    })?;
    let config =
        Config::parse(&text, format).map_err(|e| anyhow!("config {}: {e}", path.display()))?;
    Ok((config, (text, format)))
}

/// The files the config names (tokenizer, models), resolved against the config's folder, for lineage.
fn resource_paths<'a>(
    config: &'a Config,
    config_path: &'a Path,
) -> impl Iterator<Item = PathBuf> + 'a {
    let folder = config_path.parent().unwrap_or(Path::new("."));
    ResourceKind::ALL
        .into_iter()
        .filter_map(move |kind| kind.path(config).map(|p| folder.join(p)))
}

/// Reads the files a config refers to (paths relative to the config's folder), each within its limit.
fn load_resources(config: &Config, config_path: &Path) -> Result<Resources> {
    let folder = config_path.parent().unwrap_or(Path::new("."));
    Resources::load(config, |kind, relative| {
        let limit = match kind {
            ResourceKind::Tokenizer => MAX_TOKENIZER_BYTES,
            ResourceKind::LanguageModel | ResourceKind::QualityClassifierModel => MAX_MODEL_BYTES,
        };
        let path = folder.join(relative);
        read_bounded(&path, limit)
            .with_context(|| format!("{}: reading {}", kind.key(), path.display()))
    })
}

/// The engine a command runs: the flag, else `io.engine`, else the sandbox.
fn engine_kind(flag: Option<EngineKind>, config: &Config) -> Result<EngineKind> {
    match (flag, &config.io.engine) {
        (Some(kind), _) => Ok(kind),
        (None, Some(name)) => EngineKind::parse(name),
        (None, None) => Ok(EngineKind::Wasm),
    }
}

fn engine_factory(
    config: &Config,
    config_path: &Path,
    source: &(String, ConfigFormat),
    args: &EngineArgs,
    kind: Option<EngineKind>,
) -> Result<EngineFactory> {
    let kind = engine_kind(kind, config)?;
    let limits = Limits {
        memory_bytes: args.memory_mib.saturating_mul(1 << 20),
        batch_timeout: batch_timeout(args.batch_timeout)?,
    };
    EngineFactory::new(
        kind,
        &source.0,
        source.1,
        load_resources(config, config_path)?,
        args.component.as_deref(),
        limits,
    )
}

/// The longest `--batch-timeout`: a year. Beyond it a deadline is no deadline, and the epoch count it
/// becomes would overflow.
const MAX_BATCH_TIMEOUT_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

fn batch_timeout(seconds: f64) -> Result<Duration> {
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= MAX_BATCH_TIMEOUT_SECONDS) {
        bail!(
            "--batch-timeout: expected a positive number of seconds up to {MAX_BATCH_TIMEOUT_SECONDS} (a year), got {seconds}"
        );
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| anyhow!("--batch-timeout {seconds}: {e}"))
}

/// The largest tokenizer file read: real ones are a few MB; a path such as `/dev/zero` must not be read
/// without end.
const MAX_TOKENIZER_BYTES: u64 = 256 << 20;

/// The largest fastText model file read: lid.176.bin is 126 MB and DCLM's bigram quality classifier about
/// 4 GB (too large for a 32-bit wasm instance, but it runs with `--engine native`).
const MAX_MODEL_BYTES: u64 = 8 << 30;

/// Reads a file of at most `max` bytes, or says it is larger (or not a file).
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > max {
        bail!("{} is larger than {max} bytes", path.display());
    }
    Ok(bytes)
}

fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The input specs of a job: the command line's, else the command's own section's `input` (`own`, for
/// commands that usually read another stage's output), else `io.input`. Paths in a config are relative to
/// the config file's folder.
fn resolve_inputs(
    cli: &[String],
    own: Option<(&str, &[String])>,
    config: &Config,
    config_path: &Path,
) -> Result<Vec<String>> {
    if !cli.is_empty() {
        job::check_upstream(cli)?;
        return Ok(cli.to_vec());
    }
    let configured = match own {
        Some((_, list)) if !list.is_empty() => list,
        _ => config.io.input.as_slice(),
    };
    if configured.is_empty() {
        let keys = match own {
            Some((key, _)) => format!("{key} or io.input"),
            None => "io.input".into(),
        };
        bail!("no input: give --input PATH... or set {keys} in the config");
    }
    let base = config_path.parent().unwrap_or(Path::new("."));
    let specs: Vec<String> = configured
        .iter()
        .map(|p| {
            if remote::is_remote(p) {
                p.clone()
            } else {
                base.join(p).display().to_string()
            }
        })
        .collect();
    job::check_upstream(&specs)?;
    Ok(specs)
}

fn cmd_run(args: RunArgs) -> Result<std::process::ExitCode> {
    let (config, source) = load_config(&args.config)?;
    let inputs = input::discover(&resolve_inputs(&args.input, None, &config, &args.config)?)?;
    if args.output.is_none() && config.io.output.is_none() {
        bail!("no output: give --output DIR or set io.output in the config");
    }
    let configured = config.io.output.as_deref().unwrap_or_default();
    let base = args.config.parent().unwrap_or(Path::new("."));
    let output = work_output(output_of(&args.output, configured, base))?;
    let shown_output = shown(&output);
    let workers = workers_of(args.job.workers, &config)?;
    if args.batch_size == 0 || args.shard_size == 0 {
        bail!("--batch-size and --shard-size must be at least 1");
    }
    let factory = engine_factory(
        &config,
        &args.config,
        &source,
        &args.engine,
        args.engine.engine,
    )?;
    let (shard, shard_from) = shard::Shard::resolve(args.shard)?;
    let plan = run::RunPlan {
        inputs,
        output: output.clone(),
        workers,
        batch_size: args.batch_size,
        shard_size: args.shard_size,
        max_record_bytes: args.job.max_record_bytes,
        shard,
        quiet: args.job.quiet,
    };
    let _lock = job::lock_output(&output, task_lock(shard))?;
    job::handle_interrupts(&output, "run");
    if !args.job.quiet {
        eprintln!(
            "tamis: {} input files, {} workers, engine {}, output {}{}",
            plan.inputs.len(),
            workers,
            factory.kind().as_str(),
            shown_output,
            task_label(shard, shard_from)
        );
    }
    let report = run::run(&config, &factory, &plan)?;
    // lineage.json marks the output complete (the next stage waits for it): only once every shard is.
    if report.complete {
        let mut read: Vec<PathBuf> = plan.inputs.iter().map(|f| f.path.clone()).collect();
        read.extend(resource_paths(&config, &args.config));
        lineage::write_with_component(
            &output,
            "run",
            &config,
            &read,
            args.engine.component.as_deref(),
        )?;
    }
    eprint!("{}", report.stats.table(report.seconds));
    if !report.complete {
        eprintln!(
            "task {shard}: accounting ok for its share: {} = {} + {} + {}; {} shards written, {} already done; \
             the other tasks' shards are not all done yet, so stats.json waits for the last one",
            report.stats.docs_in,
            report.stats.kept,
            report.stats.dropped,
            report.stats.errors,
            report.shards_written,
            report.shards_skipped,
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if shard.is_split() {
        eprintln!(
            "task {shard}: every task's shards are done; stats.json holds the whole job's counts"
        );
    }
    eprintln!(
        "accounting ok: {} = {} + {} + {}; {} shards written, {} already done; results in {} (kept/, dropped/, errors/, stats.json)",
        report.stats.docs_in,
        report.stats.kept,
        report.stats.dropped,
        report.stats.errors,
        report.shards_written,
        report.shards_skipped,
        shown_output
    );
    Ok(std::process::ExitCode::SUCCESS)
}

/// The output folder: the command line's, else the config's, relative to the config's folder unless it is
/// an object store URL.
fn output_of(cli: &Option<PathBuf>, configured: &str, base: &Path) -> PathBuf {
    match cli {
        Some(out) => out.clone(),
        None if remote::is_remote(configured) => PathBuf::from(configured),
        None => base.join(configured),
    }
}

/// The folder a command writes to: the output itself, or for an object store the local staging folder of
/// the command's mirror (`remote::open_mirror`): record shards are committed to the store as they finish,
/// and the rest is pushed when the command ends.
fn work_output(output: PathBuf) -> Result<PathBuf> {
    match output.to_str().filter(|o| remote::is_remote(o)) {
        Some(url) => Ok(remote::open_mirror(url)?.local.clone()),
        None => Ok(output),
    }
}

/// The output as the user named it: the store's URL for a staged remote output.
fn shown(output: &Path) -> String {
    match remote::mirror() {
        Some(m) => m.location.url(""),
        None => output.display().to_string(),
    }
}

/// Refuses an object store output for `train-classifier` (one model file, written locally), rather than
/// making a local folder named `s3:`.
fn local_output(output: &Path, command: &str) -> Result<()> {
    if output.to_string_lossy().contains("s3:/") {
        bail!(
            "{command}: the output {} is an object store; `tamis {command}` writes to a local or shared \
             folder (`tamis train-classifier` writes one model file locally); its inputs may be s3:// URLs",
            output.display()
        );
    }
    Ok(())
}

/// The output lock of a task: shared with the job's other tasks, exclusive for its own share.
fn task_lock(shard: shard::Shard) -> Option<(usize, usize)> {
    shard.is_split().then_some((shard.index, shard.count))
}

/// `, task i/N (from ...)` for the start line of a sharded task.
fn task_label(shard: shard::Shard, from: &str) -> String {
    if shard.is_split() {
        format!(", task {shard} (from {from})")
    } else {
        String::new()
    }
}

fn workers_of(cli: Option<usize>, config: &Config) -> Result<usize> {
    let workers = cli.or(config.io.workers).unwrap_or_else(default_workers);
    if workers == 0 {
        bail!("--workers: expected at least 1");
    }
    Ok(workers)
}

fn cmd_dedup(args: DedupArgs) -> Result<std::process::ExitCode> {
    let (config, _) = load_config(&args.config)?;
    let own = Some(("dedup.input", config.dedup.input.as_slice()));
    let inputs = input::discover(&resolve_inputs(&args.input, own, &config, &args.config)?)?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    let output = work_output(output_of(&args.output, &config.dedup.output, base))?;
    let work = match &config.dedup.work_dir {
        Some(w) => base.join(w),
        None => output.join(".work"),
    };
    if inputs.len() as u64 >= 1 << (64 - dedup::POSITION_BITS) {
        bail!("too many input files for one dedup: {}", inputs.len());
    }
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let workers = workers_of(args.job.workers, &config)?;
    // The core computes the fingerprints with a pipeline of its own: normalize, [quality_score,]
    // fingerprint.
    let signature = dedup::signature_config(&config);
    let source = (
        signature
            .render(ConfigFormat::Json)
            .map_err(|e| anyhow!("{e}"))?,
        ConfigFormat::Json,
    );
    let factory = engine_factory(
        &signature,
        &args.config,
        &source,
        &args.engine,
        args.engine.engine,
    )?;
    // The stages that split read their share from the scheduler too; `clusters` is one task, and `all`
    // runs it.
    let (shard, shard_from) = match args.stage {
        dedup::Stage::Signatures | dedup::Stage::Buckets | dedup::Stage::Filter => {
            shard::Shard::resolve(args.shard)?
        }
        dedup::Stage::All | dedup::Stage::Clusters => {
            (args.shard.unwrap_or(shard::Shard::ALL), "--shard")
        }
    };
    let plan = dedup::DedupPlan {
        inputs,
        output: output.clone(),
        work,
        workers,
        batch_size: args.batch_size,
        max_record_bytes: args.job.max_record_bytes,
        shard,
        quiet: args.job.quiet,
    };
    // Tasks of a sharded dedup (`--shard i/N`) run at once by design: each locks only its own share.
    let share = task_lock(shard);
    let _lock = job::lock_output(&output, share)?;
    let _work_lock = match plan.work.starts_with(&output) {
        true => None,
        false => Some(job::lock_output(&plan.work, share)?),
    };
    job::handle_interrupts(&output, "dedup");
    if !args.job.quiet {
        eprintln!(
            "tamis dedup: {} input files, {} workers, engine {}, stage {}, output {}{}",
            plan.inputs.len(),
            workers,
            factory.kind().as_str(),
            format!("{:?}", args.stage).to_lowercase(),
            output.display(),
            task_label(shard, shard_from)
        );
    }
    let stages = dedup::dedup(
        &config,
        &record::Fields::from_io(&config.io),
        &factory,
        &plan,
        args.stage,
    )?;
    eprintln!(
        "{:<11} {:>9} {:>10} {:>9} {:>9}",
        "stage", "docs", "MB", "seconds", "MB/s"
    );
    let mut by_stage: Vec<(String, u64, u64, f64)> = Vec::new();
    for s in &stages {
        match by_stage.iter_mut().find(|(name, ..)| *name == s.stage) {
            Some(row) => {
                row.1 += s.docs;
                row.2 += s.bytes;
                row.3 += s.seconds;
            }
            None => by_stage.push((s.stage.clone(), s.docs, s.bytes, s.seconds)),
        }
    }
    for (name, docs, bytes, seconds) in by_stage {
        eprintln!(
            "{name:<11} {docs:>9} {:>10.2} {seconds:>9.2} {:>9.1}",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / seconds.max(1e-9)
        );
    }
    if let Some(peak) = bench::peak_memory_bytes() {
        eprintln!(
            "peak memory (resident, whole process): {:.1} MiB",
            peak as f64 / (1 << 20) as f64
        );
    }
    let stats = output.join("stats.json");
    // The filter stage writes stats.json once every file is filtered: the output is complete.
    if stats.is_file() && matches!(args.stage, dedup::Stage::All | dedup::Stage::Filter) {
        let read: Vec<PathBuf> = plan.inputs.iter().map(|f| f.path.clone()).collect();
        lineage::write_with_component(
            &output,
            "dedup",
            &config,
            &read,
            args.engine.component.as_deref(),
        )?;
    }
    if stats.is_file() {
        let totals: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&stats)?)?;
        let c: dedup::FileCounts = serde_json::from_value(totals)?;
        let c = &c;
        let reasons: Vec<String> = c
            .dropped_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        eprintln!(
            "accounting ok: {} = {} kept + {} dropped{} + {} errors; results in {}",
            c.docs_in,
            c.kept,
            c.dropped,
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            },
            c.errors,
            output.display()
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn cmd_decontaminate(args: DecontaminateArgs) -> Result<std::process::ExitCode> {
    let (config, _) = load_config(&args.config)?;
    let own = Some(("decontaminate.input", config.decontaminate.input.as_slice()));
    let inputs = input::discover(&resolve_inputs(&args.input, own, &config, &args.config)?)?;
    let base = args.config.parent().unwrap_or(Path::new(".")).to_path_buf();
    let output = work_output(output_of(&args.output, &config.decontaminate.output, &base))?;
    let shown_output = shown(&output);
    let workers = workers_of(args.job.workers, &config)?;
    if args.shard_size == 0 {
        bail!("--shard-size must be at least 1");
    }
    let (shard, shard_from) = shard::Shard::resolve(args.shard)?;
    let _lock = job::lock_output(&output, task_lock(shard))?;
    job::handle_interrupts(&output, "decontaminate");
    if !args.job.quiet && shard.is_split() {
        eprintln!("decontaminate{}", task_label(shard, shard_from));
    }
    let mut read: Vec<PathBuf> = inputs.iter().map(|f| f.path.clone()).collect();
    for bench in &config.decontaminate.benchmarks {
        let specs: Vec<String> = bench
            .path
            .iter()
            .map(|p| base.join(p).display().to_string())
            .collect();
        read.extend(input::discover(&specs)?.into_iter().map(|f| f.path));
    }
    let plan = decontaminate::Plan {
        inputs,
        max_record_bytes: args.job.max_record_bytes,
        output: output.clone(),
        base,
        workers,
        shard_size: args.shard_size,
        shard,
        quiet: args.job.quiet,
    };
    let report =
        decontaminate::decontaminate(&config, &record::Fields::from_io(&config.io), &plan)?;
    if !report.complete {
        eprintln!(
            "task {shard}: accounting ok for its share: {} = {} kept + {} dropped + {} errors; the other tasks' \
             shards are not all done yet, so stats.json and report.jsonl wait for the last one",
            report.docs_in, report.kept, report.dropped, report.errors
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    lineage::write(&output, "decontaminate", &config, &read)?;
    eprintln!(
        "accounting ok: {} = {} kept + {} dropped + {} errors; {} contaminated{}; results in {}",
        report.docs_in,
        report.kept,
        report.dropped,
        report.errors,
        report.contaminated,
        if report.by_benchmark.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                report
                    .by_benchmark
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        shown_output
    );
    Ok(std::process::ExitCode::SUCCESS)
}

fn cmd_select(args: SelectArgs) -> Result<std::process::ExitCode> {
    let (config, _) = load_config(&args.config)?;
    let own = Some(("select.input", config.select.input.as_slice()));
    let inputs = input::discover(&resolve_inputs(&args.input, own, &config, &args.config)?)?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    let output = work_output(output_of(&args.output, &config.select.output, base))?;
    let workers = workers_of(args.job.workers, &config)?;
    // The scores and filter stages split, and read their share from the scheduler too.
    let shard = match args.stage {
        select::Stage::Scores | select::Stage::Filter => shard::Shard::resolve(args.shard)?.0,
        _ => args.shard.unwrap_or(shard::Shard::ALL),
    };
    // Tasks of a sharded selection run at once by design: each locks only its own share.
    let share = task_lock(shard);
    let _lock = job::lock_output(&output, share)?;
    job::handle_interrupts(&output, "select");
    let plan = select::Plan {
        inputs,
        output: output.clone(),
        workers,
        max_record_bytes: args.job.max_record_bytes,
        shard,
        quiet: args.job.quiet,
    };
    if !args.job.quiet {
        eprintln!(
            "tamis select: {} input files, {} workers, stage {}, output {}",
            plan.inputs.len(),
            workers,
            format!("{:?}", args.stage).to_lowercase(),
            output.display()
        );
    }
    let totals = select::select(
        &config,
        &record::Fields::from_io(&config.io),
        &plan,
        args.stage,
    )?;
    let Some(totals) = totals else {
        eprintln!(
            "tamis select: stage {} finished; stats.json is written once every file is filtered",
            format!("{:?}", args.stage).to_lowercase()
        );
        return Ok(std::process::ExitCode::SUCCESS);
    };
    let read: Vec<PathBuf> = plan.inputs.iter().map(|f| f.path.clone()).collect();
    lineage::write(&output, "select", &config, &read)?;
    let s = &totals.selection;
    let threshold = match s.threshold {
        Some(t) => format!(
            "{} {} {t} ({} of {} tied there kept)",
            s.score,
            match s.keep {
                tamis_core::select::KeepEnd::Highest => ">=",
                tamis_core::select::KeepEnd::Lowest => "<=",
            },
            s.ties_kept,
            s.ties_at_threshold
        ),
        None => "nothing to keep".into(),
    };
    let c = &totals.counts;
    eprintln!(
        "accounting ok: {} = {} kept + {} dropped + {} errors; top {} of {} scored: {threshold}; results in {}",
        c.docs_in,
        c.kept,
        c.dropped,
        c.errors,
        s.keep_top_fraction,
        s.scored,
        output.display()
    );
    Ok(std::process::ExitCode::SUCCESS)
}

fn cmd_train_classifier(args: TrainClassifierArgs) -> Result<std::process::ExitCode> {
    let (config, _) = load_config(&args.config)?;
    let section = &config.train_classifier;
    let base = args.config.parent().unwrap_or(Path::new(".")).to_path_buf();
    let output = train_classifier::output_dir(args.output.as_deref(), section, &base);
    local_output(&output, "train-classifier")?;
    let _lock = job::lock_output(&output, None)?;
    let plan = train_classifier::Plan {
        base,
        output: output.clone(),
        id_key: config.io.id_key.clone(),
        max_record_bytes: args.max_record_bytes,
        quiet: args.quiet,
    };
    let (stats, read) = train_classifier::run(section, &plan)?;
    lineage::write(&output, "train-classifier", &config, &read)?;
    let t = &stats.train;
    eprintln!(
        "accounting ok: {} = {} examples + {} dropped (empty text) + {} errors; {} words, {} labels, {} tokens, {:.1} s training ({:.0} tokens/s); model in {}",
        t.records,
        t.examples,
        t.dropped_empty_text,
        t.errors,
        stats.words,
        stats.labels.len(),
        stats.tokens,
        stats.seconds_training,
        (stats.tokens as f64 * f64::from(section.epoch)) / stats.seconds_training.max(1e-9),
        output.join("model.bin").display()
    );
    if let Some(m) = &stats.measure {
        let v = &stats.validation;
        let aucs: Vec<String> = m
            .labels
            .iter()
            .filter_map(|l| l.roc_auc.map(|a| format!("{} {a:.3}", l.label)))
            .collect();
        eprintln!(
            "validation: {} = {} examples + {} dropped + {} errors; accuracy {:.4}; ROC AUC {}",
            v.records,
            v.examples,
            v.dropped_empty_text,
            v.errors,
            m.accuracy,
            aucs.join(", ")
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn cmd_report(args: ReportArgs) -> Result<std::process::ExitCode> {
    let started = std::time::Instant::now();
    let name = args.name.clone().unwrap_or_else(|| {
        std::fs::canonicalize(&args.run_dir)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tamis dataset".into())
    });
    let threads = args.threads.unwrap_or_else(default_workers);
    if threads == 0 {
        bail!("--threads: expected at least 1");
    }
    let written = report::report(&report::Options {
        output: args.output.clone().unwrap_or_else(|| args.run_dir.clone()),
        run: args.run_dir,
        dedup: args.dedup,
        decontaminate: args.decontaminate,
        discover: !args.no_discover,
        license: args.license,
        name,
        text_key: args.text_key,
        id_key: args.id_key,
        threads,
    })?;
    eprintln!(
        "tamis report: {} documents, {} issue(s); wrote {} ({:.1} KB) and {} ({:.1} KB) in {:.2} s",
        written.facts_docs,
        written.issues,
        written.html.display(),
        written.html_bytes as f64 / 1e3,
        written.card.display(),
        written.card_bytes as f64 / 1e3,
        started.elapsed().as_secs_f64()
    );
    Ok(std::process::ExitCode::SUCCESS)
}

fn cmd_sample(args: SampleArgs) -> Result<std::process::ExitCode> {
    let (config, _) = load_config(&args.config)?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    let (shard, _) = match args.stage {
        sample::Stage::Merge => (shard::Shard::ALL, ""),
        _ => shard::Shard::resolve(args.shard)?,
    };
    let out = work_output(output_of(&None, &config.sample.output, base))?;
    let _lock = job::lock_output(&out, task_lock(shard))?;
    if !sample::sample(&config.sample, base, &out, args.stage, shard, args.quiet)? {
        if !args.quiet {
            eprintln!(
                "tamis sample: this task's draws are done; the sources are merged once every file is drawn"
            );
        }
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let mut read = Vec::new();
    for source in &config.sample.datasets {
        read.extend(
            sample::source_files(source, base)?
                .into_iter()
                .map(|f| f.path),
        );
    }
    lineage::write(&out, "sample", &config, &read)?;
    Ok(std::process::ExitCode::SUCCESS)
}

fn cmd_launch_slurm(args: LaunchSlurmArgs) -> Result<std::process::ExitCode> {
    use launch::slurm::{LaunchState, SlurmSettings, StageState};
    let (config, _) = load_config(&args.config)?;
    let mut settings: SlurmSettings = launch::settings(&config.slurm, "slurm")?;
    if let Some(tasks) = args.tasks {
        settings.tasks = tasks;
    }
    settings.validate()?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    let config_path = std::path::absolute(&args.config)
        .with_context(|| format!("resolving {}", args.config.display()))?;
    let dir = match &args.logs {
        Some(d) => std::path::absolute(d).with_context(|| format!("resolving {}", d.display()))?,
        None => launch::absolute(base, &settings.logs)?,
    };
    let stages = launch::only(
        launch::stages(&config, &config_path, settings.tasks),
        &args.stages,
    )?;
    if stages.is_empty() {
        bail!(
            "{}: nothing to launch (no [sample] datasets, io.output, dedup.input, select.keep_top_fraction, \
             decontaminate.benchmarks or tokenize.tokenizer)",
            args.config.display()
        );
    }
    let tamis = match &settings.tamis {
        Some(t) => PathBuf::from(t),
        None => std::env::current_exe().context("finding this tamis binary")?,
    };
    let state = LaunchState {
        config: config_path,
        tamis,
        settings,
        stages: stages
            .into_iter()
            .map(|stage| StageState {
                stage,
                script: PathBuf::new(),
                arrays: Default::default(),
                gate: None,
                attempts: 0,
            })
            .collect(),
    };
    if args.dry_run {
        launch::slurm::launch(state, &dir, &mut launch::slurm::DryRun::new(), true)?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    // One launch per folder at a time: a second would race the first's gates.
    if let Ok(previous) = launch::slurm::load(&dir) {
        let queued = launch::slurm::queue(&previous);
        if !queued.trim().is_empty() {
            bail!(
                "{} belongs to a launch whose jobs are still queued or running (see `tamis status {}`); \
                 wait for them or scancel them first",
                dir.display(),
                dir.display()
            );
        }
    }
    let state = launch::slurm::launch(state, &dir, &mut launch::slurm::Sbatch, false)?;
    for s in &state.stages {
        eprintln!(
            "{:<18} {:>5} task(s)  job(s) {}  gate {}",
            s.stage.name,
            s.stage.tasks,
            s.arrays.keys().cloned().collect::<Vec<_>>().join(","),
            s.gate.as_deref().unwrap_or("-")
        );
    }
    eprintln!(
        "submitted; follow with `tamis status {}` (logs and task marks are there too)",
        dir.display()
    );
    Ok(std::process::ExitCode::SUCCESS)
}

fn cmd_launch_k8s(args: LaunchK8sArgs) -> Result<std::process::ExitCode> {
    let (config, _) = load_config(&args.config)?;
    let mut settings: launch::k8s::K8sSettings = launch::settings(&config.k8s, "k8s")?;
    if let Some(tasks) = args.tasks {
        settings.tasks = tasks;
    }
    if settings.tasks == 0 || settings.cpus == 0 {
        bail!("k8s.tasks and k8s.cpus: expected at least 1");
    }
    let config_path = std::path::absolute(&args.config)
        .with_context(|| format!("resolving {}", args.config.display()))?;
    let stages = launch::only(
        launch::stages(&config, &config_path, settings.tasks),
        &args.stages,
    )?;
    print!("{}", launch::k8s::manifests(&settings, &stages));
    Ok(std::process::ExitCode::SUCCESS)
}

fn cmd_status(args: StatusArgs) -> Result<std::process::ExitCode> {
    let state = launch::slurm::load(&args.dir)?;
    let queue = launch::slurm::queue(&state);
    let lines = launch::slurm::status(&state, &args.dir, &queue);
    println!(
        "{:<18} {:>6} {:>6} {:>8} {:>8} {:>7} {:>9}",
        "stage", "tasks", "done", "running", "pending", "failed", "attempts"
    );
    for l in &lines {
        println!(
            "{:<18} {:>6} {:>6} {:>8} {:>8} {:>7} {:>9}",
            l.name, l.tasks, l.done, l.running, l.pending, l.failed, l.attempts
        );
    }
    let complete = lines.iter().all(|l| l.done == l.tasks);
    println!(
        "{}",
        if complete {
            "every stage is done"
        } else if lines.iter().any(|l| l.failed > 0) && queue.trim().is_empty() {
            "stopped: a stage has failed tasks and nothing is queued; see the stage's folder for the logs"
        } else {
            "in progress"
        }
    );
    Ok(std::process::ExitCode::SUCCESS)
}

fn cmd_format(args: FormatArgs) -> Result<std::process::ExitCode> {
    let (config, _) = load_config(&args.config)?;
    let own = Some(("format.input", config.format.input.as_slice()));
    let inputs = input::discover(&resolve_inputs(&args.input, own, &config, &args.config)?)?;
    let base = args.config.parent().unwrap_or(Path::new(".")).to_path_buf();
    let output = work_output(output_of(&args.output, &config.format.output, &base))?;
    let workers = workers_of(args.job.workers, &config)?;
    if args.shard_size == 0 {
        bail!("--shard-size must be at least 1");
    }
    let _lock = job::lock_output(&output, None)?;
    job::handle_interrupts(&output, "format");
    let mut read: Vec<PathBuf> = inputs.iter().map(|f| f.path.clone()).collect();
    let (report, resources) = format::format(
        &config,
        &format::Plan {
            inputs,
            output: output.clone(),
            base,
            workers,
            shard_size: args.shard_size,
            max_record_bytes: args.job.max_record_bytes,
            quiet: args.job.quiet,
        },
    )?;
    read.extend(resources);
    lineage::write(&output, "format", &config, &read)?;
    let c = &report.counts;
    eprintln!(
        "accounting ok: {} = {} kept + {} errors; train {}, validation {}, test {}{}; results in {}",
        c.docs_in,
        c.kept,
        c.errors,
        c.train,
        c.validation,
        c.test,
        if c.errors_by_kind.is_empty() {
            String::new()
        } else {
            format!(
                "; errors: {}",
                c.errors_by_kind
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        output.display()
    );
    Ok(std::process::ExitCode::SUCCESS)
}

fn cmd_lineage(args: LineageArgs) -> Result<std::process::ExitCode> {
    let report = lineage::trace(&args.dir)?;
    print!("{}", report.text);
    if report.changed > 0 {
        println!(
            "{} input file(s) changed since the run that read them: the outputs above them may not match \
             their inputs any more; re-run from the first changed stage",
            report.changed
        );
        return Ok(std::process::ExitCode::FAILURE);
    }
    println!(
        "{} run(s), every input unchanged since its run",
        report.runs
    );
    Ok(std::process::ExitCode::SUCCESS)
}

/// `tamis bench --fuel`: the fuel of building the pipeline and of judging each document, as JSON.
fn bench_fuel(
    config: &Config,
    args: &BenchArgs,
    source: &(String, ConfigFormat),
    docs: &[tamis_core::Document],
    unreadable: u64,
) -> Result<std::process::ExitCode> {
    let report = engine::measure_fuel(
        &source.0,
        source.1,
        &load_resources(config, &args.config)?,
        args.engine.component.as_deref(),
        args.engine.memory_mib.saturating_mul(1 << 20),
        docs,
    )?;
    let bytes: u64 = docs
        .iter()
        .map(|d| d.text.as_ref().or(d.html.as_ref()).map_or(0, |t| t.len()) as u64)
        .sum();
    let mut sorted = report.per_document.clone();
    sorted.sort_unstable();
    let quantile = |q: f64| -> u64 {
        if sorted.is_empty() {
            return 0;
        }
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    };
    let judging = report.judging();
    let summary = serde_json::json!({
        "documents": docs.len(),
        "unreadable_records": unreadable,
        "bytes": bytes,
        "setup_fuel": report.setup,
        "judge_fuel": judging,
        "judge_fuel_per_byte": if bytes == 0 { 0.0 } else { judging as f64 / bytes as f64 },
        "per_document_fuel": {
            "p50": quantile(0.5),
            "p90": quantile(0.9),
            "max": sorted.last().copied().unwrap_or(0),
        },
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(std::process::ExitCode::SUCCESS)
}

fn cmd_bench(args: BenchArgs) -> Result<std::process::ExitCode> {
    let (config, source) = load_config(&args.config)?;
    let files = input::discover(&resolve_inputs(&args.input, None, &config, &args.config)?)?;
    let fields = record::Fields::from_io(&config.io);
    let mut docs = Vec::new();
    let mut unreadable = 0u64;
    for file in &files {
        let name = file.relative.display().to_string();
        for raw in input::records(
            file,
            input::ByteCounter::default(),
            input::DEFAULT_MAX_RECORD_BYTES,
        )? {
            let origin = record::Origin {
                file: &name,
                position: raw.position,
                key: file.format.position_key(),
            };
            let record_fields = file.format.fields(&fields);
            match raw
                .body
                .and_then(|b| record::parse(&b, record_fields, &origin))
            {
                Ok(parsed) => docs.push(parsed.document),
                Err(_) => unreadable += 1,
            }
        }
    }
    if let Some(limit) = args.limit {
        docs.truncate(limit);
    }
    if args.fuel {
        return bench_fuel(&config, &args, &source, &docs, unreadable);
    }
    let workers = workers_of(args.workers, &config)?;
    let mb: f64 = docs
        .iter()
        .map(|d| d.text.as_ref().or(d.html.as_ref()).map_or(0, |t| t.len()))
        .sum::<usize>() as f64
        / 1e6;
    println!(
        "input: {} documents, {:.2} MB of text ({} unreadable records left out), {} pass(es) per measurement",
        docs.len(),
        mb,
        unreadable,
        args.repeat
    );
    let mut rows = Vec::new();
    let mut reference: Option<Vec<engine::Judgment>> = None;
    let mut mismatches = 0usize;
    for kind in [EngineKind::Native, EngineKind::Wasm] {
        let factory = engine_factory(&config, &args.config, &source, &args.engine, Some(kind))?;
        let mut counts = vec![1];
        if workers > 1 {
            counts.push(workers);
        }
        for w in counts {
            let (m, judgments) = bench::measure(&factory, &docs, w, args.batch_size, args.repeat)?;
            match &reference {
                None => reference = Some(judgments),
                Some(r) => mismatches += r.iter().zip(&judgments).filter(|(a, b)| a != b).count(),
            }
            rows.push(m);
        }
    }
    println!(
        "{:<8} {:>7} {:>12} {:>10} {:>9}",
        "engine", "workers", "docs/s", "MB/s", "seconds"
    );
    for m in &rows {
        println!(
            "{:<8} {:>7} {:>12.0} {:>10.2} {:>9.2}",
            m.engine,
            m.workers,
            m.docs_per_second(),
            m.mb_per_second(),
            m.seconds
        );
    }
    let rate = |engine: &str, w: usize| {
        rows.iter()
            .find(|m| m.engine == engine && m.workers == w)
            .map(|m| m.mb_per_second())
    };
    if let (Some(n), Some(wa)) = (rate("native", 1), rate("wasm", 1)) {
        println!("wasm / native, 1 worker: {:.2}", wa / n);
    }
    if workers > 1 {
        if let (Some(n), Some(wa)) = (rate("native", workers), rate("wasm", workers)) {
            println!("wasm / native, {workers} workers: {:.2}", wa / n);
        }
        for engine in ["native", "wasm"] {
            if let (Some(one), Some(all)) = (rate(engine, 1), rate(engine, workers)) {
                println!(
                    "{engine} scaling, {workers} workers / 1 worker: {:.2}",
                    all / one
                );
            }
        }
    }
    println!("outcome mismatches between runs and engines: {mismatches}");
    if let Some(peak) = bench::peak_memory_bytes() {
        println!(
            "peak memory (resident, whole process): {:.1} MiB",
            peak as f64 / (1 << 20) as f64
        );
    }
    Ok(if mismatches == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// The tokenizer of `tamis tokenize` as bytes of a `tokenizer.json`, and where it came from:
/// `tokenize.tokenizer`, else `tokenize.vocab` + `tokenize.merges` (GPT-2 files, turned into a
/// tokenizer.json by the core), else `tokens.tokenizer`. Paths are relative to the config's folder.
fn tokenizer_bytes(config: &Config, base: &Path) -> Result<(Vec<u8>, String)> {
    let section = &config.tokenize;
    let read = |key: &str, file: &str| -> Result<(Vec<u8>, String)> {
        let path = base.join(file);
        let bytes = read_bounded(&path, MAX_TOKENIZER_BYTES)
            .with_context(|| format!("{key}: reading {}", path.display()))?;
        Ok((bytes, path.display().to_string()))
    };
    if let Some(file) = &section.tokenizer {
        return read("tokenize.tokenizer", file);
    }
    if let (Some(vocab), Some(merges)) = (&section.vocab, &section.merges) {
        let (vocab_bytes, vocab_path) = read("tokenize.vocab", vocab)?;
        let (merges_bytes, merges_path) = read("tokenize.merges", merges)?;
        let json = tamis_core::tokenize::gpt2_tokenizer_json(&vocab_bytes, &merges_bytes)
            .map_err(|e| anyhow!("tokenize.{e}"))?;
        return Ok((json.into_bytes(), format!("{vocab_path} + {merges_path}")));
    }
    let tokens = serde_json::to_value(&config.tokens).ok().and_then(|v| {
        v.get("tokenizer")
            .and_then(|t| t.as_str())
            .map(str::to_string)
    });
    match tokens {
        Some(file) => read("tokens.tokenizer", &file),
        None => bail!(
            "tokenize.tokenizer: no tokenizer; name a tokenizer.json (or tokenize.vocab and tokenize.merges for GPT-2 files)"
        ),
    }
}

fn cmd_tokenize(args: TokenizeArgs) -> Result<std::process::ExitCode> {
    let (config, _) = load_config(&args.config)?;
    let section = &config.tokenize;
    let own = Some(("tokenize.input", section.input.as_slice()));
    let inputs = input::discover(&resolve_inputs(&args.input, own, &config, &args.config)?)?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    let output = work_output(output_of(&args.output, &section.output, base))?;
    let workers = workers_of(args.job.workers, &config)?;
    if args.batch_size == 0 || args.shard_size == 0 {
        bail!("--batch-size and --shard-size must be at least 1");
    }
    let (json, source) = tokenizer_bytes(&config, base)?;
    let tokenizer = tokenize::Tokenizer::resolve(section, json, source)?;
    let mut fields = record::Fields::from_io(&config.io);
    if let Some(key) = &section.text_key {
        fields.text = key.clone();
    }
    // Token ids are made from text; a record with only HTML is an error naming it, not a page to extract.
    fields.html = None;
    let kind = engine_kind(args.engine.engine, &config)?;
    // The core gets a pipeline of no steps (nothing is judged) and the tokenizer in its resources.
    let resources = Resources {
        tokenizer_json: Some(tokenizer.json.clone()),
        ..Resources::default()
    };
    let factory = EngineFactory::new(
        kind,
        r#"{"steps": []}"#,
        ConfigFormat::Json,
        resources,
        args.engine.component.as_deref(),
        Limits {
            memory_bytes: args.engine.memory_mib.saturating_mul(1 << 20),
            batch_timeout: batch_timeout(args.engine.batch_timeout)?,
        },
    )?;
    let shard = shard::Shard::resolve(args.shard)?.0;
    let _lock = job::lock_output(&output, task_lock(shard))?;
    job::handle_interrupts(&output, "tokenize");
    if !args.job.quiet {
        eprintln!(
            "tamis tokenize: {} input files, {} workers, engine {}, tokenizer {}, output {}",
            inputs.len(),
            workers,
            factory.kind().as_str(),
            tokenizer.source,
            output.display()
        );
    }
    let plan = tokenize::TokenizePlan {
        inputs,
        output: output.clone(),
        workers,
        batch_size: args.batch_size,
        shard_size: args.shard_size,
        max_record_bytes: args.job.max_record_bytes,
        shard,
        quiet: args.job.quiet,
    };
    match tokenize::tokenize(section, &fields, &tokenizer, &factory, &plan)? {
        tokenize::Outcome::Encoded {
            counts,
            files_pending,
        } => {
            eprintln!(
                "encoded this task's share: {} = {} kept + {} dropped + {} errors, {} tokens; {}",
                counts.docs_in,
                counts.kept,
                counts.dropped,
                counts.errors,
                counts.tokens,
                if files_pending > 0 {
                    format!(
                        "{files_pending} input file(s) still to encode by other tasks; then run `tamis tokenize` \
                         without --shard to write the output"
                    )
                } else {
                    "every input is encoded: run `tamis tokenize` without --shard to write the output".into()
                }
            );
        }
        tokenize::Outcome::Written(report) => {
            // The output is complete: record what it was made from (the parent runs of its inputs too).
            let read: Vec<PathBuf> = plan.inputs.iter().map(|f| f.path.clone()).collect();
            lineage::write_with_component(
                &output,
                "tokenize",
                &config,
                &read,
                args.engine.component.as_deref(),
            )?;
            let t = &report.tokens_per_document;
            eprintln!(
                "documents {}  tokens {}  tokens/document p50 {} p90 {} p99 {} max {}  cut at max_tokens {} ({:.2} %)",
                report.documents,
                report.tokens,
                t.p50,
                t.p90,
                t.p99,
                t.max,
                report.cut,
                report.cut_share * 100.0
            );
            let seconds = report.encode_seconds + report.write_seconds;
            eprintln!(
                "{:.2} s: {:.0} docs/s, {:.2} MB/s, {:.0} tokens/s; {} file(s) of {}",
                seconds,
                report.docs_in as f64 / seconds.max(1e-9),
                report.bytes_in as f64 / 1e6 / seconds.max(1e-9),
                report.tokens as f64 / seconds.max(1e-9),
                report.files.len(),
                report.dtype.name()
            );
            eprintln!(
                "accounting ok: {} = {} kept + {} dropped + {} errors; results in {} (tokens-*.bin/.idx, stats.json)",
                report.docs_in,
                report.kept,
                report.dropped,
                report.errors,
                output.display()
            );
            let files = tokenize::output_files(&report, &output);
            if !args.job.quiet {
                for file in &files {
                    eprintln!("  {}", file.display());
                }
            }
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
