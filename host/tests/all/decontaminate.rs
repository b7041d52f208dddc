//! `tamis decontaminate` with the real GSM8K and HumanEval test sets: planted items are found and named,
//! the clean web set has no hit, and every record is accounted for.

use std::path::Path;

use crate::{read_jsonl, shared_data, tamis_job, tamis_job_ok};
use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

fn write_config(dir: &Path, action: &str) -> Result<std::path::PathBuf> {
    let gsm8k = shared_data("benchmarks/gsm8k_test.jsonl.gz");
    let humaneval = shared_data("benchmarks/humaneval.jsonl.gz");
    let toml = format!(
        "[decontaminate]\naction = \"{action}\"\n\
         [[decontaminate.benchmarks]]\nname = \"gsm8k\"\npath = [{gsm8k:?}]\nfields = [\"question\", \"answer\"]\n\
         [[decontaminate.benchmarks]]\nname = \"humaneval\"\npath = [{humaneval:?}]\nfields = [\"prompt\", \"canonical_solution\"]\nid_key = \"task_id\"\n"
    );
    let path = dir.join("decontaminate.toml");
    std::fs::write(&path, toml)?;
    Ok(path)
}

fn run(config: &Path, input: &Path, output: &Path) -> Result<String> {
    tamis_job_ok("decontaminate", config, input, output, &["--quiet"])
}

fn part(dir: &Path, name: &str) -> Result<Vec<Value>> {
    let path = dir.join(name).join("in-00000.jsonl");
    if path.is_file() {
        read_jsonl(&path)
    } else {
        Ok(Vec::new())
    }
}

/// Puts `insert` between two paragraphs near the middle of `text`, as a forum post quoting a problem would.
fn plant(text: &str, insert: &str) -> String {
    let paragraphs: Vec<&str> = text.split('\n').collect();
    let middle = paragraphs.len() / 2;
    let mut out: Vec<&str> = paragraphs[..middle].to_vec();
    out.push(insert);
    out.extend(&paragraphs[middle..]);
    out.join("\n")
}

#[test]
fn planted_benchmark_items_are_found_and_named_and_clean_text_is_not() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let web = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let gsm8k = read_jsonl(&shared_data("benchmarks/gsm8k_test.jsonl.gz"))?;
    let humaneval = read_jsonl(&shared_data("benchmarks/humaneval.jsonl.gz"))?;

    // The clean set first: no document of the real web set shares a 13-gram with either benchmark.
    let clean_in = dir.path().join("clean").join("in.jsonl");
    std::fs::create_dir_all(clean_in.parent().context("parent")?)?;
    let lines: Vec<String> = web.iter().map(Value::to_string).collect();
    std::fs::write(&clean_in, lines.join("\n") + "\n")?;
    let config = write_config(dir.path(), "drop")?;
    let clean_out = dir.path().join("clean-out");
    run(&config, &clean_in, &clean_out)?;
    let stats: Value =
        serde_json::from_str(&std::fs::read_to_string(clean_out.join("stats.json"))?)?;
    ensure!(
        stats["docs_in"] == web.len() && stats["contaminated"] == 0 && stats["kept"] == web.len(),
        "{stats}"
    );
    ensure!(
        stats["index"]["gsm8k"]["items"] == 1319,
        "{}",
        stats["index"]
    );

    // Then the same set with items planted in every 30th document: a GSM8K question (only the
    // question, not the answer) or a HumanEval prompt.
    let mut planted = Vec::new();
    let mut lines = Vec::new();
    for (i, doc) in web.iter().enumerate() {
        let mut doc = doc.clone();
        if i % 30 == 7 {
            let k = planted.len();
            let (item, insert) = if k % 3 == 2 {
                let h = &humaneval[(k * 37) % humaneval.len()];
                (
                    h["task_id"].clone(),
                    h["prompt"].as_str().unwrap_or_default().to_string(),
                )
            } else {
                let g = &gsm8k[(k * 101) % gsm8k.len()];
                (
                    g["id"].clone(),
                    g["question"].as_str().unwrap_or_default().to_string(),
                )
            };
            let text = plant(doc["text"].as_str().unwrap_or_default(), &insert);
            doc["text"] = json!(text);
            planted.push((doc["id"].clone(), item));
        }
        lines.push(doc.to_string());
    }
    ensure!(planted.len() >= 13, "{} planted", planted.len());
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n")?;
    let out = dir.path().join("out");
    run(&config, &input, &out)?;
    let dropped = part(&out, "dropped")?;
    let kept = part(&out, "kept")?;
    ensure!(
        dropped.len() == planted.len() && kept.len() + dropped.len() == web.len(),
        "{} dropped, {} kept, {} planted",
        dropped.len(),
        kept.len(),
        planted.len()
    );
    for ((id, item), record) in planted.iter().zip(&dropped) {
        ensure!(
            &record["id"] == id,
            "{} dropped where {id} was planted",
            record["id"]
        );
        let first = &record["decontaminate"]["matches"][0];
        ensure!(
            &first["item"] == item,
            "{id}: matched {first} instead of {item}"
        );
        let text = record["text"].as_str().unwrap_or_default();
        let (start, end) = (
            first["start"].as_u64().context("start")? as usize,
            first["end"].as_u64().context("end")? as usize,
        );
        ensure!(
            text.get(start..end)
                .is_some_and(|span| span.split_whitespace().count() >= 13),
            "{id}: span {start}..{end} is not a 13-word span of the text"
        );
    }
    ensure!(kept.iter().all(|r| r.get("decontaminate").is_none()));
    let report: Vec<Value> = read_jsonl(&out.join("report.jsonl"))?;
    ensure!(
        report.len() >= planted.len(),
        "report lists {} matches",
        report.len()
    );

    // Flag mode keeps everything and marks the same documents.
    let flag = write_config(dir.path(), "flag")?;
    let flagged_out = dir.path().join("flagged");
    run(&flag, &input, &flagged_out)?;
    let kept = part(&flagged_out, "kept")?;
    let marked = kept
        .iter()
        .filter(|r| r["decontaminate"]["verdict"] == "flag")
        .count();
    ensure!(
        kept.len() == web.len() && marked == planted.len(),
        "{marked} flagged"
    );
    Ok(())
}

#[test]
fn a_benchmark_item_without_its_field_is_an_error_naming_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let bench = dir.path().join("bench.jsonl");
    std::fs::write(
        &bench,
        "{\"id\": \"q1\", \"question\": \"one two\"}\n{\"id\": \"q2\"}\n",
    )?;
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[decontaminate]\n[[decontaminate.benchmarks]]\nname = \"mine\"\npath = [{bench:?}]\nfields = [\"question\"]\n"
        ),
    )?;
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, "{\"id\": \"d\", \"text\": \"x\"}\n")?;
    let out = tamis_job(
        "decontaminate",
        &config,
        &input,
        &dir.path().join("out"),
        &[],
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success()
            && stderr.contains("bench.jsonl line 2: item q2 has no text field `question`"),
        "{stderr}"
    );
    Ok(())
}
