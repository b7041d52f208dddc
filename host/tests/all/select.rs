//! `tamis select` on real web text: the top fraction by a score that `tamis run` wrote, or by a number at
//! a JSON pointer, is kept exactly (ties by input order), whatever the worker count or sharding, and every
//! record ends as kept, dropped (with its score and the threshold) or an error naming its file and line.

use std::path::{Path, PathBuf};

use crate::{output_files, read_jsonl, shared_data, tamis_command, tamis_job, tamis_job_ok};
use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

/// The web dev set split into two files, so sharding has files to share out.
fn write_web_halves(dir: &Path) -> Result<Vec<Value>> {
    let web = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let half = web.len() / 2;
    for (name, part) in [("a.jsonl", &web[..half]), ("b.jsonl", &web[half..])] {
        let lines: Vec<String> = part.iter().map(Value::to_string).collect();
        std::fs::write(dir.join(name), lines.join("\n") + "\n")?;
    }
    Ok(web)
}

fn write(path: &Path, text: &str) -> Result<PathBuf> {
    std::fs::write(path, text)?;
    Ok(path.to_path_buf())
}

fn jsonl_under(dir: &Path, part: &str) -> Result<Vec<Value>> {
    // Every file of the part, by name: the inputs' order (a before b).
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join(part)) else {
        return Ok(out);
    };
    let mut paths: Vec<PathBuf> = entries.map(|e| Ok(e?.path())).collect::<Result<_>>()?;
    paths.sort();
    for path in paths {
        out.extend(read_jsonl(&path)?);
    }
    Ok(out)
}

fn stats(dir: &Path) -> Result<Value> {
    Ok(serde_json::from_str(
        &std::fs::read_to_string(dir.join("stats.json")).context("reading stats.json")?,
    )?)
}

fn quality_score(record: &Value) -> Option<f64> {
    record["tamis"]["scores"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "quality_score")?["value"]
        .as_f64()
}

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_top_tenth_by_quality_score_is_exact_and_the_same_however_it_runs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let raw = dir.path().join("raw");
    std::fs::create_dir_all(&raw)?;
    write_web_halves(&raw)?;

    // Stage 1 of the usual flow: `tamis run` scores every document (and drops those below quality_score's
    // own threshold).
    let run_config = write(
        &dir.path().join("run.toml"),
        "steps = [\"normalize\", \"quality_score\"]\n",
    )?;
    let cleaned = dir.path().join("cleaned");
    tamis_job_ok("run", &run_config, &raw, &cleaned, &["--quiet"])?;
    let kept_dir = cleaned.join("kept");
    let scored_in: Vec<Value> = ["a", "b"]
        .iter()
        .map(|n| read_jsonl(&kept_dir.join(format!("{n}-00000.jsonl"))))
        .collect::<Result<Vec<_>>>()?
        .concat();
    ensure!(
        scored_in.len() > 200,
        "the run kept only {} documents",
        scored_in.len()
    );

    // One record without a score, appended to the second file: it must become an error naming its line.
    let b = kept_dir.join("b-00000.jsonl");
    let b_lines = std::fs::read_to_string(&b)?.lines().count();
    let mut text = std::fs::read_to_string(&b)?;
    text.push_str(&json!({"id": "no-score", "text": "A page that was never scored."}).to_string());
    text.push('\n');
    std::fs::write(&b, text)?;

    let config = write(
        &dir.path().join("select.toml"),
        "[select]\nscore = \"quality_score\"\nkeep_top_fraction = 0.1\n",
    )?;
    let out = dir.path().join("top");
    let stderr = tamis_job_ok("select", &config, &kept_dir, &out, &["--workers", "2"])?;
    ensure!(stderr.contains("accounting ok"), "{stderr}");

    // The cut: ceil(0.1 × scored), every kept score at or above every dropped one, ties by input order.
    let n = scored_in.len();
    let want_kept = n.div_ceil(10);
    let mut ranked: Vec<(usize, f64)> = scored_in
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok((
                i,
                quality_score(r).context("a run record without quality_score")?,
            ))
        })
        .collect::<Result<_>>()?;
    ranked.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    let mut expected: Vec<usize> = ranked[..want_kept].iter().map(|(i, _)| *i).collect();
    expected.sort_unstable();
    let expected_ids: Vec<String> = expected
        .iter()
        .map(|&i| scored_in[i]["id"].as_str().unwrap_or_default().to_string())
        .collect();

    let kept = jsonl_under(&out, "kept")?;
    let dropped = jsonl_under(&out, "dropped")?;
    let errors = jsonl_under(&out, "errors")?;
    ensure!(
        ids(&kept) == expected_ids,
        "kept {:?}, expected {:?}",
        ids(&kept),
        expected_ids
    );
    let lowest_kept = kept
        .iter()
        .filter_map(quality_score)
        .fold(f64::INFINITY, f64::min);
    let stats = stats(&out)?;
    ensure!(
        stats["docs_in"] == n + 1
            && stats["kept"] == want_kept
            && stats["dropped"] == n - want_kept
            && stats["errors"] == 1,
        "{stats}"
    );
    ensure!(
        stats["selection"]["threshold"].as_f64() == Some(lowest_kept)
            && stats["selection"]["scored"] == n
            && stats["selection"]["kept"] == want_kept,
        "{}",
        stats["selection"]
    );
    for d in &dropped {
        let note = &d["select"];
        let score = quality_score(d).context("a dropped record without its score")?;
        ensure!(
            note["verdict"] == "drop"
                && note["reason"] == "below_top_fraction"
                && note["score"].as_f64() == Some(score)
                && note["threshold"].as_f64() == Some(lowest_kept)
                && score <= lowest_kept,
            "{d}"
        );
    }
    // Kept records pass unchanged.
    let by_id: std::collections::HashMap<&str, &Value> = scored_in
        .iter()
        .map(|r| (r["id"].as_str().unwrap_or_default(), r))
        .collect();
    for k in &kept {
        ensure!(
            by_id.get(k["id"].as_str().unwrap_or_default()) == Some(&k),
            "{k}"
        );
    }
    ensure!(errors.len() == 1, "{errors:?}");
    let error = errors[0].to_string();
    ensure!(
        error.contains("no-score")
            && error.contains("b-00000.jsonl")
            && error.contains(&format!("{}", b_lines + 1))
            && error.contains("has no score `quality_score`"),
        "{error}"
    );

    // One worker, and again on the finished output: the same bytes.
    let one = dir.path().join("one");
    tamis_job_ok(
        "select",
        &config,
        &kept_dir,
        &one,
        &["--workers", "1", "--quiet"],
    )?;
    let reference = output_files(&out)?;
    ensure!(output_files(&one)? == reference, "1 worker differs from 2");
    tamis_job_ok("select", &config, &kept_dir, &out, &["--quiet"])?;
    ensure!(
        output_files(&out)? == reference,
        "a rerun changed the output"
    );

    // Sharded, stage by stage, as separate tasks would run it; and `all` with --shard is refused.
    let sharded = dir.path().join("sharded");
    let refused = tamis_job("select", &config, &kept_dir, &sharded, &["--shard", "0/2"])?;
    let message = String::from_utf8_lossy(&refused.stderr);
    ensure!(
        !refused.status.success() && message.contains("--stage threshold"),
        "{message}"
    );
    for stage in [
        &["--stage", "scores", "--shard", "1/2"][..],
        &["--stage", "scores", "--shard", "0/2"],
        &["--stage", "threshold"],
        &["--stage", "filter", "--shard", "1/2"],
        &["--stage", "filter", "--shard", "0/2"],
    ] {
        let mut args = stage.to_vec();
        args.push("--quiet");
        tamis_job_ok("select", &config, &kept_dir, &sharded, &args)?;
    }
    ensure!(output_files(&sharded)? == reference, "sharded differs");
    ensure!(
        crate::stats_counts(&sharded)? == crate::stats_counts(&out)?,
        "sharded counts differ"
    );

    // Interrupted after the scores stage, resumed with `all`.
    let resumed = dir.path().join("resumed");
    tamis_job_ok(
        "select",
        &config,
        &kept_dir,
        &resumed,
        &["--stage", "scores", "--quiet"],
    )?;
    let early = tamis_job(
        "select",
        &config,
        &kept_dir,
        &resumed,
        &["--stage", "filter"],
    )?;
    ensure!(
        !early.status.success()
            && String::from_utf8_lossy(&early.stderr).contains("threshold stage has not run"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    tamis_job_ok("select", &config, &kept_dir, &resumed, &["--quiet"])?;
    ensure!(output_files(&resumed)? == reference, "resumed differs");

    // Another fraction on an output made with this one is refused, not mixed in.
    let other = write(
        &dir.path().join("other.toml"),
        "[select]\nscore = \"quality_score\"\nkeep_top_fraction = 0.5\n",
    )?;
    let mixed = tamis_job("select", &other, &kept_dir, &out, &["--quiet"])?;
    ensure!(
        !mixed.status.success()
            && String::from_utf8_lossy(&mixed.stderr).contains("another config"),
        "{}",
        String::from_utf8_lossy(&mixed.stderr)
    );
    Ok(())
}

#[test]
fn the_lowest_share_by_a_json_pointer_keeps_ties_in_input_order() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let web = write_web_halves(dir.path())?;
    // Rewrite both files with a coarse score under meta/"a/b" (five values, so most documents tie) and one
    // record whose score is not a number.
    let mut all = Vec::new();
    for (i, doc) in web.iter().enumerate() {
        let mut doc = doc.clone();
        doc["meta"] = json!({"a/b": (i * 7) % 5});
        all.push(doc);
    }
    let half = all.len() / 2;
    let mut bad = all[3].clone();
    bad["id"] = json!("bad-score");
    bad["meta"] = json!({"a/b": "high"});
    let mut first: Vec<Value> = all[..half].to_vec();
    first.insert(5, bad);
    for (name, part) in [("a.jsonl", &first[..]), ("b.jsonl", &all[half..])] {
        let lines: Vec<String> = part.iter().map(Value::to_string).collect();
        std::fs::write(dir.path().join(name), lines.join("\n") + "\n")?;
    }
    let config = write(
        &dir.path().join("select.toml"),
        "[select]\nscore = \"/meta/a~1b\"\nkeep = \"lowest\"\nkeep_top_fraction = 0.3\n",
    )?;
    let out = dir.path().join("low");
    let inputs = dir.path().join("*.jsonl");
    let status = tamis_command()?
        .args(["select".as_ref(), config.as_os_str(), "--input".as_ref()])
        .arg(&inputs)
        .arg("--output")
        .arg(&out)
        .arg("--quiet")
        .output()?;
    ensure!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    let n = all.len();
    let want = (n * 3).div_ceil(10);
    let mut ranked: Vec<(usize, u64)> = all
        .iter()
        .enumerate()
        .map(|(i, d)| (i, d["meta"]["a/b"].as_u64().unwrap_or(u64::MAX)))
        .collect();
    ranked.sort_by_key(|&(i, s)| (s, i));
    let threshold = ranked[want - 1].1;
    let mut expected: Vec<usize> = ranked[..want].iter().map(|(i, _)| *i).collect();
    expected.sort_unstable();
    let expected_ids: Vec<String> = expected
        .iter()
        .map(|&i| all[i]["id"].as_str().unwrap_or_default().to_string())
        .collect();

    let kept = jsonl_under(&out, "kept")?;
    ensure!(ids(&kept) == expected_ids, "kept {:?}", ids(&kept));
    let stats = stats(&out)?;
    let tied = all
        .iter()
        .filter(|d| d["meta"]["a/b"].as_u64() == Some(threshold))
        .count();
    ensure!(
        stats["selection"]["threshold"].as_f64() == Some(threshold as f64)
            && stats["selection"]["ties_at_threshold"] == tied
            && stats["selection"]["ties_kept"]
                .as_u64()
                .is_some_and(|t| t > 0 && (t as usize) < tied)
            && stats["errors"] == 1
            && stats["kept"] == want,
        "{stats}"
    );
    let errors = jsonl_under(&out, "errors")?;
    let error = errors.first().map(Value::to_string).unwrap_or_default();
    ensure!(
        error.contains("bad-score")
            && error.contains("a.jsonl")
            && error.contains("not a finite number"),
        "{error}"
    );
    Ok(())
}
