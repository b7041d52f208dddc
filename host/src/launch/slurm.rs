//! `tamis launch slurm`: each stage as Slurm job arrays, chained by dependencies, with failed tasks
//! retried.
//!
//! Per stage, `sbatch --array` submits its tasks (several arrays past `max_array_size`, since Slurm refuses
//! an index at or above its `MaxArraySize`; each array then carries the offset of its first task). A
//! small *gate* job follows each stage (`--dependency=afterany` on its arrays) and runs
//! `tamis launch gate`: it checks that every task wrote its done file. If some did not (a failed, killed
//! or cancelled task) and retries are left, it submits those tasks again with a new gate after them, and
//! moves the next stage's dependency onto the new gate (`scontrol update`) before it ends; with no
//! retries left it fails, and the next stages, which depend on it with `afterok` and
//! `--kill-on-invalid-dep=yes`, are cancelled. A retried task resumes: the shards its first attempt
//! finished are checked and skipped.
//!
//! Everything the launch needs later is in the launch folder (`[slurm] logs`): `launch.json` (stages, job
//! ids, attempts), one script per stage, the gate script, and per stage the tasks' logs and their
//! `task-<i>.started` / `.done` / `.failed` files, which `tamis status` reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::{Stage, task_args};
use crate::output::write_atomically;

/// `[slurm]`: how the stages are submitted. Host-only settings; the core keeps the table as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlurmSettings {
    /// Tasks of each stage that splits (one-task stages, such as dedup's clusters, stay one).
    pub tasks: usize,
    /// `--cpus-per-task`; also each task's `--workers`.
    pub cpus_per_task: usize,
    /// `--mem` of a task, e.g. `"8G"`.
    pub memory: Option<String>,
    /// `--time` of a task, e.g. `"04:00:00"`.
    pub time: Option<String>,
    pub partition: Option<String>,
    pub qos: Option<String>,
    /// More `#SBATCH` options, one per entry, e.g. `"--account=proj"`.
    pub sbatch: Vec<String>,
    /// Shell lines run before each task (`module load ...`, `source venv/bin/activate`).
    pub setup: Vec<String>,
    /// The launch folder: scripts, logs, done files, `launch.json`; relative to the config's folder.
    pub logs: String,
    /// How many times a failed task is submitted again.
    pub retries: u32,
    /// The cluster's `MaxArraySize` (`scontrol show config`): array indexes stay below it. Slurm's default
    /// is 1001.
    pub max_array_size: usize,
    /// Tasks of one array that may run at once (`--array=...%N`); unlimited when unset.
    pub max_parallel: Option<usize>,
    /// The tamis binary the tasks run; by default this one.
    pub tamis: Option<String>,
}

impl Default for SlurmSettings {
    fn default() -> Self {
        Self {
            tasks: 4,
            cpus_per_task: 1,
            memory: None,
            time: None,
            partition: None,
            qos: None,
            sbatch: Vec::new(),
            setup: Vec::new(),
            logs: "slurm-logs".into(),
            retries: 2,
            max_array_size: 1001,
            max_parallel: None,
            tamis: None,
        }
    }
}

impl SlurmSettings {
    pub fn validate(&self) -> Result<()> {
        if self.tasks == 0 {
            bail!("slurm.tasks: expected at least 1");
        }
        if self.cpus_per_task == 0 {
            bail!("slurm.cpus_per_task: expected at least 1");
        }
        if self.max_array_size < 2 {
            bail!(
                "slurm.max_array_size: expected at least 2 (Slurm's MaxArraySize), got {}",
                self.max_array_size
            );
        }
        if self.max_parallel == Some(0) {
            bail!("slurm.max_parallel: expected at least 1");
        }
        for (i, line) in self.sbatch.iter().enumerate() {
            if !line.trim_start().starts_with('-') || line.contains('\n') {
                bail!(
                    "slurm.sbatch[{i}]: expected one sbatch option such as \"--account=proj\", got {line:?}"
                );
            }
        }
        Ok(())
    }
}

/// One stage as launched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageState {
    pub stage: Stage,
    pub script: PathBuf,
    /// Every array submitted for the stage (all attempts): job id -> index of its first task.
    pub arrays: BTreeMap<String, usize>,
    /// The current gate job.
    pub gate: Option<String>,
    /// Submissions so far (1 = no retry yet).
    pub attempts: u32,
}

/// `launch.json`: what `tamis launch gate` and `tamis status` need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LaunchState {
    pub config: PathBuf,
    pub tamis: PathBuf,
    pub settings: SlurmSettings,
    pub stages: Vec<StageState>,
}

const STATE: &str = "launch.json";

/// Where task `index` of a stage leaves its marks.
fn mark(dir: &Path, stage: &str, index: usize, kind: &str) -> PathBuf {
    dir.join(stage).join(format!("task-{index}.{kind}"))
}

/// Quotes a word for a POSIX shell.
fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The `#SBATCH` lines every job of the launch shares.
fn common_options(settings: &SlurmSettings) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(p) = &settings.partition {
        lines.push(format!("--partition={p}"));
    }
    if let Some(q) = &settings.qos {
        lines.push(format!("--qos={q}"));
    }
    lines.extend(settings.sbatch.iter().map(|l| l.trim().to_string()));
    lines
}

/// The batch script of a stage: task `OFFSET + SLURM_ARRAY_TASK_ID` of it, with its marks.
pub fn stage_script(state: &LaunchState, dir: &Path, stage: &Stage) -> String {
    let settings = &state.settings;
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!(
        "# tamis launch: stage {} ({} task{}). Task i = TAMIS_TASK_OFFSET + SLURM_ARRAY_TASK_ID.\n",
        stage.name,
        stage.tasks,
        if stage.tasks == 1 { "" } else { "s" }
    ));
    s.push_str(&format!("#SBATCH --job-name=tamis-{}\n", stage.name));
    s.push_str(&format!(
        "#SBATCH --cpus-per-task={}\n",
        settings.cpus_per_task
    ));
    if let Some(m) = &settings.memory {
        s.push_str(&format!("#SBATCH --mem={m}\n"));
    }
    if let Some(t) = &settings.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    s.push_str(&format!(
        "#SBATCH --output={}\n",
        dir.join(&stage.name).join("slurm-%A_%a.log").display()
    ));
    for line in common_options(settings) {
        s.push_str(&format!("#SBATCH {line}\n"));
    }
    s.push_str("set -uo pipefail\n");
    for line in &settings.setup {
        s.push_str(line);
        s.push('\n');
    }
    s.push_str("i=$(( ${TAMIS_TASK_OFFSET:-0} + SLURM_ARRAY_TASK_ID ))\n");
    let marks = dir.join(&stage.name);
    s.push_str(&format!(
        "marks={}\nrm -f \"$marks/task-$i.done\" \"$marks/task-$i.failed\"\ndate -u +%s.%N > \"$marks/task-$i.started\"\n",
        quote(&marks.display().to_string())
    ));
    let workers = stage.workers.then_some(settings.cpus_per_task);
    let args: Vec<String> = task_args(stage, "$i", workers)
        .iter()
        .map(|a| {
            if a.contains("$i") {
                format!("\"{a}\"")
            } else {
                quote(a)
            }
        })
        .collect();
    s.push_str(&format!(
        "{} {}\nstatus=$?\n",
        quote(&state.tamis.display().to_string()),
        args.join(" ")
    ));
    s.push_str(
        "if [ \"$status\" -eq 0 ]; then\n    date -u +%s.%N > \"$marks/task-$i.done\"\nelse\n    echo \"$status\" > \"$marks/task-$i.failed\"\nfi\nexit \"$status\"\n",
    );
    s
}

/// The gate script: `tamis launch gate DIR STAGE`.
fn gate_script(state: &LaunchState, dir: &Path) -> String {
    let mut s = String::from("#!/bin/bash\n");
    s.push_str("# tamis launch: checks that every task of a stage is done, and submits the failed ones again.\n");
    s.push_str(
        "#SBATCH --job-name=tamis-gate\n#SBATCH --cpus-per-task=1\n#SBATCH --time=00:10:00\n",
    );
    s.push_str(&format!(
        "#SBATCH --output={}\n",
        dir.join("gates").join("slurm-%j.log").display()
    ));
    for line in common_options(&state.settings) {
        s.push_str(&format!("#SBATCH {line}\n"));
    }
    s.push_str("set -uo pipefail\n");
    for line in &state.settings.setup {
        s.push_str(line);
        s.push('\n');
    }
    s.push_str(&format!(
        "exec {} launch gate {} \"$1\"\n",
        quote(&state.tamis.display().to_string()),
        quote(&dir.display().to_string())
    ));
    s
}

/// Splits task numbers into arrays Slurm accepts: (offset, array indexes below `max`).
fn arrays(tasks: &[usize], max: usize) -> Vec<(usize, Vec<usize>)> {
    let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
    for &t in tasks {
        let offset = t / max * max;
        match out.last_mut() {
            Some((o, list)) if *o == offset => list.push(t - offset),
            _ => out.push((offset, vec![t - offset])),
        }
    }
    out
}

/// `0-3`, `1,4-6`: a compact `--array` list.
fn array_spec(indexes: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < indexes.len() {
        let start = indexes[i];
        let mut end = start;
        while i + 1 < indexes.len() && indexes[i + 1] == end + 1 {
            i += 1;
            end = indexes[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// How jobs are submitted: for real, or printed by `--dry-run`.
pub trait Submitter {
    /// Runs `sbatch ARGS`, returning the job id.
    fn sbatch(&mut self, args: &[String]) -> Result<String>;
    /// Moves a pending job's dependency (`scontrol update`).
    fn depend(&mut self, job: &str, dependency: &str) -> Result<()>;
    /// Lets held jobs start (`scontrol release`).
    fn release(&mut self, jobs: &[String]) -> Result<()>;
}

/// Submits with the `sbatch` and `scontrol` on the PATH.
pub struct Sbatch;

impl Submitter for Sbatch {
    fn sbatch(&mut self, args: &[String]) -> Result<String> {
        let out = Command::new("sbatch")
            .arg("--parsable")
            .args(args)
            .output()
            .context("running sbatch (is Slurm installed here, and on the PATH?)")?;
        if !out.status.success() {
            bail!(
                "sbatch {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        // `--parsable` prints `jobid` or `jobid;cluster`.
        let text = String::from_utf8_lossy(&out.stdout);
        let id = text
            .trim()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            bail!("sbatch printed no job id: {text:?}");
        }
        Ok(id)
    }

    fn depend(&mut self, job: &str, dependency: &str) -> Result<()> {
        let out = Command::new("scontrol")
            .args([
                "update",
                &format!("JobId={job}"),
                &format!("Dependency={dependency}"),
            ])
            .output()
            .context("running scontrol")?;
        if !out.status.success() {
            bail!(
                "scontrol update JobId={job} Dependency={dependency} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    fn release(&mut self, jobs: &[String]) -> Result<()> {
        let out = Command::new("scontrol")
            .args(["release", &jobs.join(",")])
            .output()
            .context("running scontrol")?;
        if !out.status.success() {
            bail!(
                "scontrol release {} failed: {}",
                jobs.join(","),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }
}

/// Prints what would be submitted, with made-up job ids.
pub struct DryRun {
    next: u64,
}

impl DryRun {
    pub fn new() -> Self {
        Self { next: 1 }
    }
}

impl Submitter for DryRun {
    fn sbatch(&mut self, args: &[String]) -> Result<String> {
        let id = format!("JOB{}", self.next);
        self.next += 1;
        println!(
            "sbatch --parsable {}    # -> {id}",
            args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
        );
        Ok(id)
    }

    fn depend(&mut self, job: &str, dependency: &str) -> Result<()> {
        println!("scontrol update JobId={job} Dependency={dependency}");
        Ok(())
    }

    fn release(&mut self, jobs: &[String]) -> Result<()> {
        println!("scontrol release {}", jobs.join(","));
        Ok(())
    }
}

/// Submits tasks `tasks` of stage `k` (after `after`, a job they wait for with afterok), then its gate;
/// records the job ids in the state.
fn submit_stage(
    state: &mut LaunchState,
    dir: &Path,
    k: usize,
    tasks: &[usize],
    after: Option<&str>,
    hold: bool,
    submitter: &mut dyn Submitter,
) -> Result<()> {
    let settings = state.settings.clone();
    let stage = &mut state.stages[k];
    let mut ids = Vec::new();
    for (offset, indexes) in arrays(tasks, settings.max_array_size) {
        let mut spec = array_spec(&indexes);
        if let Some(p) = settings.max_parallel {
            spec.push_str(&format!("%{p}"));
        }
        let mut args = vec![
            format!("--array={spec}"),
            format!("--export=ALL,TAMIS_TASK_OFFSET={offset}"),
        ];
        if let Some(after) = after {
            args.push(format!("--dependency=afterok:{after}"));
            args.push("--kill-on-invalid-dep=yes".into());
        }
        if hold {
            args.push("--hold".into());
        }
        args.push(stage.script.display().to_string());
        let id = submitter.sbatch(&args)?;
        stage.arrays.insert(id.clone(), offset);
        ids.push(id);
    }
    let gate = submitter.sbatch(&[
        format!("--dependency=afterany:{}", ids.join(":")),
        dir.join("gate.sh").display().to_string(),
        stage.stage.name.clone(),
    ])?;
    stage.gate = Some(gate);
    stage.attempts += 1;
    Ok(())
}

/// `tamis launch slurm`: writes the scripts and submits every stage, or with `dry_run` prints the scripts
/// and what would be submitted and writes nothing. Returns the launch's state.
pub fn launch(
    mut state: LaunchState,
    dir: &Path,
    submitter: &mut dyn Submitter,
    dry_run: bool,
) -> Result<LaunchState> {
    for stage in &mut state.stages {
        stage.script = dir.join(format!("{}.sh", stage.stage.name));
    }
    let mut scripts: Vec<(PathBuf, String)> = state
        .stages
        .iter()
        .map(|s| (s.script.clone(), stage_script(&state, dir, &s.stage)))
        .collect();
    scripts.push((dir.join("gate.sh"), gate_script(&state, dir)));
    if dry_run {
        for (path, text) in &scripts {
            println!("# ---- {} ----\n{text}", path.display());
        }
    } else {
        std::fs::create_dir_all(dir.join("gates"))
            .with_context(|| format!("creating {}", dir.join("gates").display()))?;
        for stage in &state.stages {
            let folder = dir.join(&stage.stage.name);
            std::fs::create_dir_all(&folder)
                .with_context(|| format!("creating {}", folder.display()))?;
            // A new launch starts every task's marks afresh: each task checks and skips the shards an
            // earlier launch finished, so nothing is judged twice, and no old mark can wave a stage through.
            for entry in std::fs::read_dir(&folder)? {
                let path = entry?.path();
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                if name.starts_with("task-") {
                    std::fs::remove_file(&path)
                        .with_context(|| format!("removing {}", path.display()))?;
                }
            }
        }
        for (path, text) in &scripts {
            write_script(path, text)?;
        }
        // The gates read the state: it is on disk before the first job can start.
        save(dir, &state)?;
    }
    let mut after: Option<String> = None;
    for k in 0..state.stages.len() {
        let tasks: Vec<usize> = (0..state.stages[k].stage.tasks).collect();
        // The first stage is held until every stage is submitted and recorded: a gate that retries reads
        // the next stage's jobs from the state.
        submit_stage(
            &mut state,
            dir,
            k,
            &tasks,
            after.as_deref(),
            k == 0,
            submitter,
        )?;
        after = state.stages[k].gate.clone();
        if !dry_run {
            save(dir, &state)?;
        }
    }
    if let Some(first) = state.stages.first() {
        let held: Vec<String> = first.arrays.keys().cloned().collect();
        submitter.release(&held)?;
    }
    Ok(state)
}

fn write_script(path: &Path, text: &str) -> Result<()> {
    write_atomically(path, text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", path.display()))?;
    }
    Ok(())
}

pub fn save(dir: &Path, state: &LaunchState) -> Result<()> {
    write_atomically(
        &dir.join(STATE),
        serde_json::to_string_pretty(state)?.as_bytes(),
    )
}

pub fn load(dir: &Path) -> Result<LaunchState> {
    let path = dir.join(STATE);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (is {} the folder of a `tamis launch slurm`?)",
            path.display(),
            dir.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is corrupt", path.display()))
}

/// The tasks of stage `k` without a done file.
pub fn missing(state: &LaunchState, dir: &Path, k: usize) -> Vec<usize> {
    let stage = &state.stages[k].stage;
    (0..stage.tasks)
        .filter(|&i| !mark(dir, &stage.name, i, "done").is_file())
        .collect()
}

/// `tamis launch gate DIR STAGE`: run by the gate job after a stage's tasks end. Exits with an error when
/// the stage failed for good (so the next stages are cancelled), and otherwise succeeds, after submitting
/// the failed tasks again when there are any.
pub fn gate(dir: &Path, stage_name: &str, submitter: &mut dyn Submitter) -> Result<String> {
    let mut state = load(dir)?;
    let k = state
        .stages
        .iter()
        .position(|s| s.stage.name == stage_name)
        .ok_or_else(|| anyhow!("no stage {stage_name:?} in {}", dir.join(STATE).display()))?;
    if k > 0 {
        let before = missing(&state, dir, k - 1);
        if !before.is_empty() {
            bail!(
                "stage {stage_name} did not run: stage {} has {} unfinished task(s) ({})",
                state.stages[k - 1].stage.name,
                before.len(),
                array_spec(&before)
            );
        }
    }
    let failed = missing(&state, dir, k);
    if failed.is_empty() {
        return Ok(format!(
            "stage {stage_name}: all {} task(s) done",
            state.stages[k].stage.tasks
        ));
    }
    let attempts = state.stages[k].attempts;
    if attempts > state.settings.retries {
        bail!(
            "stage {stage_name}: task(s) {} failed after {attempts} attempt(s) (slurm.retries = {}); their logs \
             are in {}; fix the cause and launch again (finished shards are kept)",
            array_spec(&failed),
            state.settings.retries,
            dir.join(stage_name).display()
        );
    }
    submit_stage(&mut state, dir, k, &failed, None, false, submitter)?;
    let new_gate = state.stages[k].gate.clone().expect("submitted above");
    // The next stage waited for this gate; it now waits for the retry's.
    if let Some(next) = state.stages.get(k + 1) {
        for job in next.arrays.keys() {
            submitter.depend(job, &format!("afterok:{new_gate}"))?;
        }
    }
    save(dir, &state)?;
    Ok(format!(
        "stage {stage_name}: task(s) {} unfinished; submitted again (attempt {} of {}), gate {new_gate}",
        array_spec(&failed),
        attempts + 1,
        state.settings.retries + 1
    ))
}

/// One stage's line in `tamis status`.
#[derive(Debug, Default, PartialEq)]
pub struct StageStatus {
    pub name: String,
    pub tasks: usize,
    pub done: usize,
    pub running: usize,
    pub pending: usize,
    pub failed: usize,
    pub attempts: u32,
}

/// Counts each stage's tasks: done and failed from their marks; running and pending from `squeue` (`queue`:
/// `jobid_index state` lines, as `squeue -h -r -o '%i %T'` prints); a task started, not done and no longer
/// queued has failed (killed or cancelled, so it left no mark itself).
pub fn status(state: &LaunchState, dir: &Path, queue: &str) -> Vec<StageStatus> {
    let mut queued: BTreeMap<(String, usize), String> = BTreeMap::new();
    for line in queue.lines() {
        let mut parts = line.split_whitespace();
        let (Some(id), Some(st)) = (parts.next(), parts.next()) else {
            continue;
        };
        if let Some((job, index)) = id.split_once('_')
            && let Ok(index) = index.parse::<usize>()
        {
            queued.insert((job.to_string(), index), st.to_string());
        }
    }
    state
        .stages
        .iter()
        .map(|s| {
            let name = &s.stage.name;
            let mut line = StageStatus {
                name: name.clone(),
                tasks: s.stage.tasks,
                attempts: s.attempts,
                ..Default::default()
            };
            for i in 0..s.stage.tasks {
                let in_queue = s.arrays.iter().find_map(|(job, &offset)| {
                    i.checked_sub(offset)
                        .and_then(|local| queued.get(&(job.clone(), local)))
                });
                if mark(dir, name, i, "done").is_file() {
                    line.done += 1;
                } else if let Some(st) = in_queue {
                    if st == "RUNNING" || st == "COMPLETING" {
                        line.running += 1;
                    } else {
                        line.pending += 1;
                    }
                } else if mark(dir, name, i, "failed").is_file()
                    || mark(dir, name, i, "started").is_file()
                {
                    line.failed += 1;
                } else {
                    line.pending += 1;
                }
            }
            line
        })
        .collect()
}

/// The queue as `status` reads it: every task of the launch's jobs still known to `squeue` (empty when
/// `squeue` is missing or fails).
pub fn queue(state: &LaunchState) -> String {
    let jobs: Vec<&str> = state
        .stages
        .iter()
        .flat_map(|s| s.arrays.keys().map(String::as_str))
        .collect();
    if jobs.is_empty() {
        return String::new();
    }
    Command::new("squeue")
        .args(["-h", "-r", "-o", "%i %T", "--jobs", &jobs.join(",")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_stay_below_max_array_size() {
        let all: Vec<usize> = (0..2500).collect();
        let split = arrays(&all, 1001);
        assert_eq!(split.len(), 3);
        assert_eq!(split[0].0, 0);
        assert_eq!(split[1].0, 1001);
        assert_eq!(split[2].0, 2002);
        assert_eq!(array_spec(&split[2].1), "0-497");
        assert!(split.iter().all(|(_, ix)| ix.iter().all(|&i| i < 1001)));
        assert_eq!(
            arrays(&[1, 3, 1002], 1001),
            vec![(0, vec![1, 3]), (1001, vec![1])]
        );
        assert_eq!(array_spec(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
    }

    #[test]
    fn settings_name_the_bad_key() {
        let value = serde_json::json!({"tasks": 2, "cpus": 4});
        let err = super::super::settings::<SlurmSettings>(&value, "slurm").unwrap_err();
        assert!(err.to_string().starts_with("slurm"), "{err}");
        assert!(err.to_string().contains("cpus"), "{err}");
        let value = serde_json::json!({"tasks": "two"});
        let err = super::super::settings::<SlurmSettings>(&value, "slurm").unwrap_err();
        assert!(err.to_string().starts_with("slurm.tasks:"), "{err}");
        let bad = SlurmSettings {
            sbatch: vec!["account=x".into()],
            ..Default::default()
        };
        assert!(bad.validate().is_err());
    }

    /// A submitter that records what it was asked.
    struct Record(Vec<String>);
    impl Submitter for Record {
        fn sbatch(&mut self, args: &[String]) -> Result<String> {
            self.0.push(format!("sbatch {}", args.join(" ")));
            Ok(format!("{}", 100 + self.0.len()))
        }
        fn depend(&mut self, job: &str, dependency: &str) -> Result<()> {
            self.0.push(format!("depend {job} {dependency}"));
            Ok(())
        }
        fn release(&mut self, jobs: &[String]) -> Result<()> {
            self.0.push(format!("release {}", jobs.join(",")));
            Ok(())
        }
    }

    fn two_stages(dir: &Path) -> LaunchState {
        let stage = |name: &str, tasks: usize| StageState {
            stage: Stage {
                name: name.into(),
                args: vec![name.into(), "/c.toml".into()],
                tasks,
                split: tasks > 1,
                workers: true,
            },
            script: dir.join(format!("{name}.sh")),
            arrays: BTreeMap::new(),
            gate: None,
            attempts: 0,
        };
        LaunchState {
            config: "/c.toml".into(),
            tamis: "/bin/tamis".into(),
            settings: SlurmSettings {
                retries: 1,
                ..Default::default()
            },
            stages: vec![stage("run", 3), stage("merge", 1)],
        }
    }

    #[test]
    fn stages_chain_through_gates_and_a_failed_task_is_retried_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut sub = Record(Vec::new());
        let state = launch(two_stages(dir.path()), dir.path(), &mut sub, false).unwrap();
        let log = sub.0.join("\n");
        // run: array 101, gate 102; merge: array 103 after gate 102, gate 104.
        assert!(
            log.contains("sbatch --array=0-2 --export=ALL,TAMIS_TASK_OFFSET=0 --hold"),
            "{log}"
        );
        assert!(log.ends_with("release 101"), "{log}");
        assert!(log.contains("--dependency=afterany:101"), "{log}");
        assert!(
            log.contains("--dependency=afterok:102 --kill-on-invalid-dep=yes"),
            "{log}"
        );
        assert_eq!(state.stages[1].gate.as_deref(), Some("104"));
        let script = std::fs::read_to_string(dir.path().join("run.sh")).unwrap();
        assert!(
            script.contains("run /c.toml --shard \"$i/3\" --workers 1 --quiet"),
            "{script}"
        );

        // Tasks 0 and 2 done, task 1 not: the gate submits task 1 again and moves merge's dependency.
        for i in [0, 2] {
            std::fs::write(mark(dir.path(), "run", i, "done"), "").unwrap();
        }
        let mut sub = Record(Vec::new());
        let said = gate(dir.path(), "run", &mut sub).unwrap();
        assert!(said.contains("task(s) 1 unfinished"), "{said}");
        assert_eq!(
            sub.0[0],
            format!(
                "sbatch --array=1 --export=ALL,TAMIS_TASK_OFFSET=0 {}",
                dir.path().join("run.sh").display()
            )
        );
        assert_eq!(sub.0[2], "depend 103 afterok:102");
        // The merge gate refuses while run is unfinished; a second failure of run exhausts the retry.
        assert!(gate(dir.path(), "merge", &mut Record(Vec::new())).is_err());
        let err = gate(dir.path(), "run", &mut Record(Vec::new())).unwrap_err();
        assert!(
            err.to_string().contains("failed after 2 attempt(s)"),
            "{err}"
        );
        std::fs::write(mark(dir.path(), "run", 1, "done"), "").unwrap();
        assert!(gate(dir.path(), "run", &mut Record(Vec::new())).is_ok());

        let state = load(dir.path()).unwrap();
        let lines = status(&state, dir.path(), "103_0 PENDING\n");
        assert_eq!((lines[0].done, lines[0].failed), (3, 0));
        assert_eq!((lines[1].pending, lines[1].running), (1, 0));
    }
}
