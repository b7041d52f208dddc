//! `--shard i/N` on the commands that judge records (`run`, `decontaminate`) and on `sample`: the N
//! tasks' outputs together are one unsharded run's, byte for byte, whatever N; a task's share can come from
//! the scheduler's environment; the last task writes the job's totals; and a later stage refuses an
//! output whose tasks are not all done.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use crate::{
    output_files, read_jsonl, shared_data, stats_counts, tamis, tamis_command, tamis_job,
    tamis_job_ok,
};

/// The web dev set in two files, one of them plain JSONL and large enough to be split into shards.
fn inputs(dir: &Path) -> Result<PathBuf> {
    let web = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let folder = dir.join("in");
    std::fs::create_dir_all(&folder)?;
    let lines: Vec<String> = web.iter().map(Value::to_string).collect();
    std::fs::write(folder.join("a.jsonl"), lines[..300].join("\n") + "\n")?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, (lines[300..].join("\n") + "\n").as_bytes())?;
    std::fs::write(folder.join("b.jsonl.gz"), gz.finish()?)?;
    Ok(folder)
}

const CONFIG: &str = r#"steps = ["normalize", "c4_quality", "pii", "gopher_repetition", "gopher_quality",
         "fineweb_quality", "quality_score", "language", "fingerprint"]
evaluate_all = true

[slurm]
tasks = 3
"#;

#[test]
fn a_run_split_over_tasks_writes_the_bytes_of_one_run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = inputs(dir.path())?;
    let config = dir.path().join("tamis.toml");
    std::fs::write(&config, CONFIG)?;
    let size = ["--shard-size", "40", "--quiet"];
    let whole = dir.path().join("whole");
    tamis_job_ok("run", &config, &input, &whole, &size)?;
    let expected = output_files(&whole)?;
    // 300 records in a.jsonl make 8 shards of 40, so each of 3 tasks holds part of that one file.
    ensure!(
        expected.keys().filter(|k| k.contains("a-0000")).count() >= 8,
        "{:?}",
        expected.keys().collect::<Vec<_>>()
    );

    for count in [2usize, 3] {
        let split = dir.path().join(format!("split-{count}"));
        // The tasks run in reverse order, the last one told its share by a Slurm array's environment.
        for index in (0..count).rev() {
            let shard = format!("{index}/{count}");
            let out = if index == 0 {
                let mut cmd = tamis_command()?;
                cmd.args([OsStr::new("run"), config.as_os_str()])
                    .args([OsStr::new("--input"), input.as_os_str()])
                    .args([OsStr::new("--output"), split.as_os_str()])
                    .args(size)
                    .env("SLURM_ARRAY_TASK_ID", "0")
                    .env("SLURM_ARRAY_TASK_COUNT", count.to_string())
                    .env_remove("JOB_COMPLETION_INDEX");
                cmd.output()?
            } else {
                let mut args = size.to_vec();
                args.extend(["--shard", shard.as_str()]);
                tamis_job("run", &config, &input, &split, &args)?
            };
            let stderr = String::from_utf8_lossy(&out.stderr);
            ensure!(out.status.success(), "task {shard}: {stderr}");
            if index > 0 {
                ensure!(
                    !split.join("stats.json").exists() && !split.join("lineage.json").exists(),
                    "task {shard} wrote the job's totals before every task was done"
                );
                // A later stage refuses the output while tasks are missing.
                let early = tamis_job(
                    "dedup",
                    &config,
                    &split.join("kept"),
                    &dir.path().join("early-dedup"),
                    &["--quiet"],
                )?;
                ensure!(
                    !early.status.success()
                        && String::from_utf8_lossy(&early.stderr).contains("has not finished"),
                    "dedup started on an unfinished run: {}",
                    String::from_utf8_lossy(&early.stderr)
                );
            } else {
                ensure!(stderr.contains("every task's shards are done"), "{stderr}");
            }
        }
        let got = output_files(&split)?;
        ensure!(
            got.keys().collect::<Vec<_>>() == expected.keys().collect::<Vec<_>>(),
            "{count} tasks wrote other files: {:?}",
            got.keys().collect::<Vec<_>>()
        );
        for (name, bytes) in &expected {
            ensure!(
                got[name] == *bytes,
                "{count} tasks: {name} differs from the unsharded run's"
            );
        }
        ensure!(
            stats_counts(&split)? == stats_counts(&whole)?,
            "{count} tasks: stats.json counts differ"
        );
        ensure!(split.join("lineage.json").is_file());
    }
    Ok(())
}

#[test]
fn a_split_decontamination_lists_the_findings_of_one_run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let web = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let gsm8k = read_jsonl(&shared_data("benchmarks/gsm8k_test.jsonl.gz"))?;
    // Every 25th document quotes a GSM8K question.
    let lines: Vec<String> = web
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let mut doc = doc.clone();
            if i % 25 == 3 {
                let q = gsm8k[i % gsm8k.len()]["question"]
                    .as_str()
                    .unwrap_or_default();
                let text = format!("{}\n{q}", doc["text"].as_str().unwrap_or_default());
                doc["text"] = Value::String(text);
            }
            doc.to_string()
        })
        .collect();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n")?;
    let config = dir.path().join("d.toml");
    std::fs::write(
        &config,
        format!(
            "[decontaminate]\n[[decontaminate.benchmarks]]\nname = \"gsm8k\"\npath = [{:?}]\nfields = [\"question\"]\n",
            shared_data("benchmarks/gsm8k_test.jsonl.gz")
        ),
    )?;
    let whole = dir.path().join("whole");
    tamis_job_ok(
        "decontaminate",
        &config,
        &input,
        &whole,
        &["--shard-size", "50", "--quiet"],
    )?;
    let split = dir.path().join("split");
    for index in [1, 0, 2] {
        tamis_job_ok(
            "decontaminate",
            &config,
            &input,
            &split,
            &[
                "--shard-size",
                "50",
                "--shard",
                &format!("{index}/3"),
                "--quiet",
            ],
        )?;
    }
    let (a, b) = (output_files(&whole)?, output_files(&split)?);
    ensure!(
        a == b,
        "the split decontamination wrote other files or bytes"
    );
    ensure!(
        a.contains_key("report.jsonl") && !a["report.jsonl"].is_empty(),
        "no findings"
    );
    let stats = |d: &Path| -> Result<Value> {
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(d.join("stats.json"))?)?;
        let o = v.as_object_mut().context("object")?;
        for k in ["index_seconds", "scan_seconds", "tasks"] {
            o.remove(k);
        }
        Ok(v)
    };
    ensure!(stats(&whole)? == stats(&split)?);
    Ok(())
}

#[test]
fn a_sample_drawn_by_several_tasks_is_the_sample_of_one() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let examples = crate::repo_root().join("examples");
    let mut outputs = Vec::new();
    for name in ["one", "three"] {
        let copy = dir.path().join(name);
        std::fs::create_dir_all(copy.join("data"))?;
        for file in ["c4.jsonl.gz", "dclm.jsonl.gz", "presidio.jsonl.gz"] {
            std::fs::copy(
                examples.join("data").join(file),
                copy.join("data").join(file),
            )?;
        }
        // Two files for one source, so a source's draw is split too.
        let text = std::fs::read_to_string(examples.join("tamis.toml"))?.replace(
            "path = [\"data/dclm.jsonl.gz\"]",
            "path = [\"data/dclm.jsonl.gz\", \"data/c4.jsonl.gz\"]",
        );
        std::fs::write(copy.join("tamis.toml"), text)?;
        let config = copy.join("tamis.toml");
        let c = config.as_os_str();
        if name == "one" {
            let out = tamis(&[OsStr::new("sample"), c, OsStr::new("--quiet")])?;
            ensure!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            for index in ["2/3", "0/3", "1/3"] {
                let out = tamis(&[
                    OsStr::new("sample"),
                    c,
                    OsStr::new("--stage"),
                    OsStr::new("draw"),
                    OsStr::new("--shard"),
                    OsStr::new(index),
                    OsStr::new("--quiet"),
                ])?;
                ensure!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                ensure!(
                    !dir.path().join("out/RAW/dclm/raw_data.jsonl.gz").exists(),
                    "a draw task merged"
                );
            }
            let out = tamis(&[
                OsStr::new("sample"),
                c,
                OsStr::new("--stage"),
                OsStr::new("merge"),
                OsStr::new("--quiet"),
            ])?;
            ensure!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Each copy writes to ../out: move it aside before the next.
        let aside = dir.path().join(format!("out-{name}"));
        std::fs::rename(dir.path().join("out"), &aside)?;
        outputs.push(aside.join("RAW"));
    }
    let (a, b) = (output_files(&outputs[0])?, output_files(&outputs[1])?);
    ensure!(
        a.len() == 3 && a == b,
        "the split sample differs: {:?} vs {:?}",
        a.keys(),
        b.keys()
    );
    let dclm = read_jsonl(&outputs[0].join("dclm").join("raw_data.jsonl.gz"))?;
    ensure!(dclm.len() == 44, "{} dclm records", dclm.len());
    // The merge numbers records across the source's two files.
    ensure!(
        dclm.iter().any(|r| r["metadata"]["original_index"]
            .as_u64()
            .is_some_and(|i| i >= 60)),
        "no record drawn from the source's second file"
    );
    Ok(())
}
