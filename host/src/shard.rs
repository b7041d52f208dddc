//! `--shard i/N`: one task's share of a job that runs as N tasks at once (a Slurm job array, a Kubernetes
//! Indexed Job, or N shells). Every task computes the same split from the same inputs, so no task needs to
//! hear from another, and the union of the N tasks' outputs is the output of one unsharded run.
//!
//! Without `--shard`, a task reads its share from the scheduler's environment:
//! - Slurm job arrays: `SLURM_ARRAY_TASK_ID` among `SLURM_ARRAY_TASK_MIN ..= SLURM_ARRAY_TASK_MAX`
//!   (`SLURM_ARRAY_TASK_COUNT` when Slurm sets it);
//! - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX`, with the task count in `TAMIS_SHARD_COUNT` (Kubernetes
//!   does not export `completions` to the pod; `tamis launch k8s` sets it).

use anyhow::{Result, bail};

/// This task's share: the units (input files, chunks of a file, partitions) whose number is `index`
/// modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole job, as one task.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/N`, with `0 <= i < N`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("expected i/N (for example 0/4), got {s:?}"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("expected a number before /, got {i:?}"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("expected a number after /, got {n:?}"))?;
        if count == 0 || index >= count {
            return Err(format!("expected 0 <= i < N, got {index}/{count}"));
        }
        Ok(Self { index, count })
    }

    /// Whether unit number `unit` (an input file, a partition) is this task's.
    pub fn takes(&self, unit: usize) -> bool {
        unit % self.count == self.index
    }

    /// Whether chunk `chunk` (records `chunk × shard_size ..`) of input file number `file` is this task's.
    /// Chunks are dealt out file by file and, within a file, in turn, so one large file is spread over
    /// every task rather than being one task's work.
    pub fn takes_chunk(&self, file: usize, chunk: u64) -> bool {
        (file as u64).wrapping_add(chunk) % self.count as u64 == self.index as u64
    }

    /// Whether this is one task of several.
    pub fn is_split(&self) -> bool {
        self.count > 1
    }

    /// The share named on the command line, else the one the scheduler's environment gives, else the whole
    /// job. Returns where it came from, for the log.
    pub fn resolve(cli: Option<Shard>) -> Result<(Shard, &'static str)> {
        Self::resolve_with(cli, |name| std::env::var(name).ok())
    }

    /// [`Shard::resolve`] over any environment (for tests).
    pub fn resolve_with(
        cli: Option<Shard>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(Shard, &'static str)> {
        if let Some(shard) = cli {
            return Ok((shard, "--shard"));
        }
        let number = |name: &str| -> Result<Option<u64>> {
            match env(name) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) => Ok(Some(n)),
                    Err(_) => bail!("{name}={v:?}: expected a whole number"),
                },
            }
        };
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let count = match number("SLURM_ARRAY_TASK_COUNT")? {
                Some(n) => n,
                None => match number("SLURM_ARRAY_TASK_MAX")? {
                    Some(max) if max >= min => max - min + 1,
                    _ => bail!(
                        "SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX \
                         is: give --shard i/N"
                    ),
                },
            };
            return Self::checked(id.checked_sub(min), count, "SLURM_ARRAY_TASK_ID");
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let Some(count) = number("TAMIS_SHARD_COUNT")? else {
                bail!(
                    "JOB_COMPLETION_INDEX is set but TAMIS_SHARD_COUNT (the Indexed Job's completions) is not: \
                     set it, or give --shard i/N"
                );
            };
            return Self::checked(Some(index), count, "JOB_COMPLETION_INDEX");
        }
        Ok((Shard::ALL, "whole job"))
    }

    fn checked(
        index: Option<u64>,
        count: u64,
        origin: &'static str,
    ) -> Result<(Shard, &'static str)> {
        match index {
            Some(i) if i < count => Ok((
                Shard {
                    index: i as usize,
                    count: count as usize,
                },
                origin,
            )),
            _ => bail!(
                "{origin}: the task number {} is not below the task count {count} (a non-contiguous array? give --shard i/N)",
                index.map_or("(below the array's first)".to_string(), |i| i.to_string())
            ),
        }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_command_line_wins_over_the_environment() {
        let cli = Shard::parse("1/3").unwrap();
        let (shard, from) =
            Shard::resolve_with(Some(cli), env(&[("SLURM_ARRAY_TASK_ID", "0")])).unwrap();
        assert_eq!((shard, from), (cli, "--shard"));
    }

    #[test]
    fn slurm_arrays_count_from_their_first_task() {
        let vars = [
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "4"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
        ];
        let (shard, _) = Shard::resolve_with(None, env(&vars)).unwrap();
        assert_eq!(shard, Shard { index: 1, count: 4 });
        let vars = [
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        assert_eq!(
            Shard::resolve_with(None, env(&vars)).unwrap().0,
            Shard { index: 2, count: 3 }
        );
        let bad = [
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        assert!(Shard::resolve_with(None, env(&bad)).is_err());
    }

    #[test]
    fn indexed_jobs_need_their_count() {
        let vars = [("JOB_COMPLETION_INDEX", "1"), ("TAMIS_SHARD_COUNT", "2")];
        assert_eq!(
            Shard::resolve_with(None, env(&vars)).unwrap().0,
            Shard { index: 1, count: 2 }
        );
        let err = Shard::resolve_with(None, env(&[("JOB_COMPLETION_INDEX", "1")])).unwrap_err();
        assert!(err.to_string().contains("TAMIS_SHARD_COUNT"), "{err}");
        assert_eq!(Shard::resolve_with(None, env(&[])).unwrap().0, Shard::ALL);
    }

    #[test]
    fn chunks_of_one_file_go_round_the_tasks() {
        let tasks: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for file in 0..4usize {
            for chunk in 0..10u64 {
                let owners = tasks.iter().filter(|t| t.takes_chunk(file, chunk)).count();
                assert_eq!(owners, 1, "file {file} chunk {chunk}");
            }
        }
        let first: Vec<u64> = (0..6).filter(|c| tasks[0].takes_chunk(0, *c)).collect();
        assert_eq!(first, vec![0, 3]);
    }
}
