//! `tamis launch`: the whole job of a config, stage by stage, as tasks on a cluster scheduler.
//!
//! The stages are the commands a user runs by hand on one machine, in the order their outputs feed each
//! other: sample (draw, merge) -> run -> dedup (signatures, buckets, clusters, filter) -> select (scores,
//! threshold, filter) -> decontaminate -> tokenize (encode, write), each present when the config sets it up.
//! A split stage is N tasks of `tamis <command> --shard i/N`; the others are one task. Every task writes
//! only its own share and its markers, so the tasks of a stage need no coordination, and the N outputs
//! together are byte for byte those of one unsharded run (see `crate::shard`).
//!
//! [`slurm`] submits the stages as job arrays with dependencies and retries failed tasks; [`k8s`] prints
//! Kubernetes Indexed Jobs for the same stages.

pub mod k8s;
pub mod slurm;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use tamis_core::Config;

/// One stage: the tamis command its tasks run, and how many tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Its name, also its folder under the launch directory: `run`, `dedup-buckets`, ...
    pub name: String,
    /// The arguments after `tamis` (the config path included); a split stage's tasks add
    /// `--shard i/N`.
    pub args: Vec<String>,
    pub tasks: usize,
    /// Whether the command takes `--shard` (one-task stages never split).
    pub split: bool,
    /// Whether the command takes `--workers`.
    pub workers: bool,
}

/// The stages of a config, in order. `config_path` is given to every task as is (make it absolute).
pub fn stages(config: &Config, config_path: &Path, tasks: usize) -> Vec<Stage> {
    let config_arg = config_path.display().to_string();
    let mut stages = Vec::new();
    let mut add = |name: &str, args: &[&str], split: bool, workers: bool| {
        let mut all = vec![args[0].to_string(), config_arg.clone()];
        all.extend(args[1..].iter().map(|a| a.to_string()));
        stages.push(Stage {
            name: name.to_string(),
            args: all,
            tasks: if split { tasks } else { 1 },
            split,
            workers,
        });
    };
    if !config.sample.datasets.is_empty() {
        add("sample-draw", &["sample", "--stage", "draw"], true, false);
        add(
            "sample-merge",
            &["sample", "--stage", "merge"],
            false,
            false,
        );
    }
    if config.io.output.is_some() {
        add("run", &["run"], true, true);
    }
    if !config.dedup.input.is_empty() {
        add(
            "dedup-signatures",
            &["dedup", "--stage", "signatures"],
            true,
            true,
        );
        add(
            "dedup-buckets",
            &["dedup", "--stage", "buckets"],
            true,
            true,
        );
        add(
            "dedup-clusters",
            &["dedup", "--stage", "clusters"],
            false,
            true,
        );
        add("dedup-filter", &["dedup", "--stage", "filter"], true, true);
    }
    if config.select.keep_top_fraction.is_some() {
        add(
            "select-scores",
            &["select", "--stage", "scores"],
            true,
            true,
        );
        add(
            "select-threshold",
            &["select", "--stage", "threshold"],
            false,
            true,
        );
        add(
            "select-filter",
            &["select", "--stage", "filter"],
            true,
            true,
        );
    }
    if !config.decontaminate.benchmarks.is_empty() {
        add("decontaminate", &["decontaminate"], true, true);
    }
    if config.tokenize.tokenizer.is_some() || config.tokenize.vocab.is_some() {
        add("tokenize-encode", &["tokenize"], true, true);
        add("tokenize-write", &["tokenize"], false, true);
    }
    stages
}

/// Keeps the stages named in `only` (a stage name, or a command such as `dedup` for all of its stages),
/// in their order; every name must match one.
pub fn only(stages: Vec<Stage>, only: &[String]) -> Result<Vec<Stage>> {
    if only.is_empty() {
        return Ok(stages);
    }
    let matches = |stage: &Stage, name: &str| {
        stage.name == name || stage.name.split('-').next() == Some(name)
    };
    for name in only {
        if !stages.iter().any(|s| matches(s, name)) {
            return Err(anyhow!(
                "--stages: no stage {name:?} in this config (it has: {})",
                stages
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(stages
        .into_iter()
        .filter(|s| only.iter().any(|n| matches(s, n)))
        .collect())
}

/// The command line of task `index` of a stage, after the tamis binary.
pub fn task_args(stage: &Stage, index: &str, workers: Option<usize>) -> Vec<String> {
    let mut args = stage.args.clone();
    if stage.split {
        args.push("--shard".into());
        args.push(format!("{index}/{}", stage.tasks));
    }
    if stage.workers
        && let Some(w) = workers
    {
        args.push("--workers".into());
        args.push(w.to_string());
    }
    args.push("--quiet".into());
    args
}

/// Reads a host-side section of the config (`[slurm]`, `[k8s]`) into its settings, with errors naming
/// the key as the core's do.
pub fn settings<T: serde::de::DeserializeOwned + Default>(
    value: &serde_json::Value,
    section: &str,
) -> Result<T> {
    if value.is_null() {
        return Ok(T::default());
    }
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        let path = e.path().to_string();
        let key = if path == "." {
            section.to_string()
        } else {
            format!("{section}.{path}")
        };
        anyhow!("{key}: {}", e.inner())
    })
}

/// A path from the config, relative to the config's folder, made absolute: tasks start elsewhere.
pub fn absolute(base: &Path, path: &str) -> Result<PathBuf> {
    let joined = base.join(path);
    std::path::absolute(&joined).with_context(|| format!("resolving {}", joined.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_has_the_stages_users_run_by_hand() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/tamis.toml"),
        )
        .unwrap();
        let config = Config::from_toml(&text).unwrap();
        let stages = stages(&config, Path::new("/x/tamis.toml"), 4);
        let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sample-draw",
                "sample-merge",
                "run",
                "dedup-signatures",
                "dedup-buckets",
                "dedup-clusters",
                "dedup-filter",
                "select-scores",
                "select-threshold",
                "select-filter"
            ]
        );
        let run = &stages[2];
        assert_eq!(
            task_args(run, "3", Some(2)),
            [
                "run",
                "/x/tamis.toml",
                "--shard",
                "3/4",
                "--workers",
                "2",
                "--quiet"
            ]
        );
        assert_eq!(stages[5].tasks, 1);
        assert_eq!(
            task_args(&stages[1], "0", Some(2)),
            ["sample", "/x/tamis.toml", "--stage", "merge", "--quiet"]
        );
        let kept = only(stages.clone(), &["dedup".into(), "run".into()]).unwrap();
        assert_eq!(kept.len(), 5);
        assert!(only(stages, &["tokenize".into()]).is_err());
    }
}
