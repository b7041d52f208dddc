//! Scores and times `tamis dedup` on the injected-copy set (tests/src/dedup_eval.rs), and, with
//! `--datatrove`, datatrove 0.10.1's MinhashDedup on the same files in the same run.
//!
//! ```text
//! cargo run --release -p tamis-evals --bin dedup_eval -- [--sources 40] [--datatrove] [--write-fixture]
//!     [--keep DIR]
//! ```
//!
//! `--write-fixture` stores datatrove's removed ids in tests/fixtures/datatrove/minhash_removed.json, which
//! the host_dedup test checks tamis against.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tamis_tests::dedup_eval::{self, DedupSet};
use tamis_tests::{read_jsonl, repo_root, tamis_command};

fn removed_by_tamis(out: &Path) -> Result<HashSet<String>> {
    let mut removed = HashSet::new();
    let dir = out.join("dropped");
    if dir.is_dir() {
        for entry in std::fs::read_dir(&dir)? {
            for r in read_jsonl(&entry?.path())? {
                if let Some(id) = r["id"].as_str() {
                    removed.insert(id.to_string());
                }
            }
        }
    }
    Ok(removed)
}

fn stage_seconds(work: &Path) -> Result<Vec<(String, f64)>> {
    let mut sums: Vec<(String, f64)> = ["signatures", "buckets", "clusters", "filter"]
        .iter()
        .map(|s| (s.to_string(), 0.0))
        .collect();
    fn walk(dir: &Path, sums: &mut Vec<(String, f64)>) -> Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, sums)?;
            } else if path.extension().is_some_and(|e| e == "json")
                && path
                    .file_name()
                    .is_some_and(|n| n != "run.json" && n != "report.json")
            {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
                if let (Some(stage), Some(s)) = (v["stage"].as_str(), v["seconds"].as_f64())
                    && let Some(row) = sums.iter_mut().find(|(n, _)| n == stage)
                {
                    row.1 += s;
                }
            }
        }
        Ok(())
    }
    walk(work, &mut sums)?;
    Ok(sums)
}

fn print_score(tool: &str, set: &DedupSet, removed: &HashSet<String>) {
    let score = set.score(removed);
    println!(
        "{tool}: recall {:.3} over injected duplicates; controls removed {}; removals among originals {}",
        score.recall(),
        score.controls_removed,
        score.other_removed.len()
    );
    print!("{}", score.table());
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sources = args
        .iter()
        .position(|a| a == "--sources")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(40);
    let with_datatrove = args.iter().any(|a| a == "--datatrove");
    let write_fixture = args.iter().any(|a| a == "--write-fixture");

    // `--keep DIR` leaves the input and both tools' outputs in DIR for inspection.
    let temp = tempfile::tempdir()?;
    let dir = match args
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1))
    {
        Some(d) => {
            let d = std::path::PathBuf::from(d);
            if d.exists() {
                bail!(
                    "--keep {}: choose a folder that does not exist yet",
                    d.display()
                );
            }
            d
        }
        None => temp.path().to_path_buf(),
    };
    let set = dedup_eval::build(sources)?;
    let input = dir.join("in");
    set.write(&input)?;
    let docs = set.originals.len() + set.copies.len();
    let mb: f64 = set
        .originals
        .iter()
        .chain(&set.copies)
        .map(|r| r["text"].as_str().map_or(0, str::len))
        .sum::<usize>() as f64
        / 1e6;
    println!(
        "input: {docs} documents, {mb:.2} MB of text ({} edited copies)",
        set.copies.len()
    );

    let config = dir.join("dedup.toml");
    std::fs::write(&config, "[dedup]\n")?;
    let out = dir.join("tamis");
    let started = Instant::now();
    let status = tamis_command()?
        .arg("dedup")
        .arg(&config)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&out)
        .arg("--quiet")
        .output()
        .context("running tamis dedup")?;
    let wall = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&status.stderr);
    if !status.status.success() {
        bail!("tamis dedup failed: {stderr}");
    }
    println!(
        "\ntamis dedup (wasm engine, all cores), wall {wall:.2} s, {:.0} docs/s, {:.2} MB/s",
        docs as f64 / wall,
        mb / wall
    );
    for (stage, s) in stage_seconds(&out.join(".work"))?
        .into_iter()
        .chain(
            stage_seconds(&out.join(".tamis"))?
                .into_iter()
                .filter(|(n, _)| n == "filter"),
        )
        .filter(|(_, s)| *s > 0.0)
    {
        println!(
            "  {stage:<11} {s:>7.3} s  {:>9.0} docs/s  {:>7.2} MB/s",
            docs as f64 / s,
            mb / s
        );
    }
    if let Some(line) = stderr.lines().find(|l| l.starts_with("peak memory")) {
        println!("  {line}");
    }
    print_score("tamis", &set, &removed_by_tamis(&out)?);

    if with_datatrove {
        let script = repo_root().join("tests/fixtures/datatrove/minhash_dedup.py");
        let work = dir.join("datatrove");
        let started = Instant::now();
        let result = std::process::Command::new("python3")
            .arg(&script)
            .arg(&input)
            .arg(&work)
            .output()
            .context("running python3")?;
        let wall = started.elapsed().as_secs_f64();
        if !result.status.success() {
            bail!(
                "datatrove failed: {}",
                String::from_utf8_lossy(&result.stderr)
            );
        }
        let stdout = String::from_utf8_lossy(&result.stdout);
        let json_line = stdout.lines().last().context("no output from datatrove")?;
        let v: Value = serde_json::from_str(json_line)?;
        println!(
            "\ndatatrove 0.10.1 MinhashDedup (1 worker), wall {wall:.2} s, {:.0} docs/s, {:.2} MB/s",
            docs as f64 / wall,
            mb / wall
        );
        if let Some(stages) = v["seconds"].as_object() {
            for (stage, s) in stages {
                let s = s.as_f64().unwrap_or(0.0);
                println!(
                    "  {stage:<11} {s:>7.3} s  {:>9.0} docs/s  {:>7.2} MB/s",
                    docs as f64 / s,
                    mb / s
                );
            }
        }
        println!(
            "  peak memory (resident, whole process): {:.1} MiB",
            v["peak_rss_bytes"].as_f64().unwrap_or(0.0) / (1 << 20) as f64
        );
        let removed: HashSet<String> = v["removed"]
            .as_array()
            .context("removed")?
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect();
        print_score("datatrove", &set, &removed);
        let ours = removed_by_tamis(&out)?;
        let only_theirs: Vec<&String> = removed.iter().filter(|id| !ours.contains(*id)).collect();
        println!(
            "removed by datatrove but not by tamis: {} {:?}",
            only_theirs.len(),
            only_theirs
        );
        if write_fixture {
            let mut ids: Vec<&String> = removed.iter().collect();
            ids.sort();
            let fixture = serde_json::json!({
                "tool": v["tool"],
                "config": v["config"],
                "input": format!("tests/src/dedup_eval.rs build({sources})"),
                "removed": ids,
            });
            let path = repo_root().join("tests/fixtures/datatrove/minhash_removed.json");
            std::fs::write(&path, serde_json::to_string_pretty(&fixture)? + "\n")?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
