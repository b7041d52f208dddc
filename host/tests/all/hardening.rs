//! The hardening probes of issue 14, each reproduced against the real `tamis` binary: what an attacker or a
//! careless user tried, and what must hold now. (The Parquet probes are unit tests of the reader, in the
//! host's input.rs, where the files can be built and broken with the Parquet crate.)

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{output_files, read_jsonl, shared_data, tamis, tamis_command, tamis_job, tamis_job_ok};
use anyhow::{Context, Result, ensure};
use serde_json::Value;

/// The first `n` records of the web development set, as JSONL lines.
fn web_lines(n: usize) -> Result<Vec<String>> {
    let records = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    ensure!(
        records.len() >= n,
        "the web set has only {} records",
        records.len()
    );
    Ok(records[..n].iter().map(Value::to_string).collect())
}

fn write_lines(path: &Path, lines: &[String]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, lines.join("\n") + "\n")?;
    Ok(())
}

fn empty_config(dir: &Path) -> Result<PathBuf> {
    let config = dir.join("config.toml");
    std::fs::write(&config, "")?;
    Ok(config)
}

fn stats(output: &Path) -> Result<Value> {
    Ok(serde_json::from_str(&std::fs::read_to_string(
        output.join("stats.json"),
    )?)?)
}

const NATIVE: [&str; 3] = ["--quiet", "--engine", "native"];

/// The web set repeated under fresh ids, gzipped, so a run lasts long enough to be caught mid-way.
fn write_big_input(path: &Path, copies: usize) -> Result<u64> {
    let records = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let mut gz =
        flate2::write::GzEncoder::new(std::fs::File::create(path)?, flate2::Compression::fast());
    let mut n = 0;
    for copy in 0..copies {
        for record in &records {
            let mut record = record.clone();
            record["id"] = Value::String(format!("{}#{copy}", record["id"].as_str().unwrap_or("")));
            writeln!(gz, "{record}")?;
            n += 1;
        }
    }
    gz.finish()?;
    Ok(n)
}

fn markers(output: &Path) -> usize {
    std::fs::read_dir(output.join(".tamis").join("done"))
        .map(|entries| entries.filter_map(|e| e.ok()).count())
        .unwrap_or(0)
}

/// Starts a long run in the background and waits until it has finished at least one shard.
fn start_long_run(dir: &Path, output: &Path) -> Result<std::process::Child> {
    let input = dir.join("big.jsonl.gz");
    if !input.exists() {
        write_big_input(&input, 30)?;
    }
    let config = empty_config(dir)?;
    let child = tamis_command()?
        .args([
            OsStr::new("run"),
            config.as_os_str(),
            OsStr::new("--input"),
            input.as_os_str(),
            OsStr::new("--output"),
            output.as_os_str(),
            OsStr::new("--quiet"),
            OsStr::new("--engine"),
            OsStr::new("wasm"),
            OsStr::new("--workers"),
            OsStr::new("1"),
            OsStr::new("--shard-size"),
            OsStr::new("200"),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("starting tamis")?;
    let started = Instant::now();
    while markers(output) < 1 && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(child)
}

#[test]
fn a_second_job_on_the_same_output_is_refused_while_the_first_runs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let output = dir.path().join("out");
    let mut first = start_long_run(dir.path(), &output)?;
    let second = tamis_job(
        "run",
        &empty_config(dir.path())?,
        &dir.path().join("big.jsonl.gz"),
        &output,
        &NATIVE,
    )?;
    let stderr = String::from_utf8_lossy(&second.stderr);
    let still_running = first.try_wait()?.is_none();
    let status = first.wait()?;
    ensure!(
        still_running,
        "the first run finished before the second started; make the input bigger"
    );
    ensure!(
        !second.status.success() && stderr.contains("in use by another tamis job"),
        "the second job was not refused: {stderr}"
    );
    ensure!(status.success(), "the first run failed");
    Ok(())
}

#[test]
fn a_done_shard_whose_bytes_changed_is_redone() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.jsonl");
    write_lines(&input, &web_lines(40)?)?;
    let config = empty_config(dir.path())?;
    let output = dir.path().join("out");
    let shards = ["--shard-size", "10"];
    tamis_job_ok(
        "run",
        &config,
        &input,
        &output,
        &[&NATIVE[..], &shards].concat(),
    )?;
    let clean = output_files(&output)?;
    // Trailing garbage on a finished shard, as a concurrent writer left it before outputs were locked.
    let shard = ["kept", "dropped"]
        .iter()
        .map(|part| output.join(part).join("in-00001.jsonl"))
        .find(|p| p.exists())
        .context("shard 1 wrote nothing")?;
    let mut file = std::fs::OpenOptions::new().append(true).open(&shard)?;
    file.write_all(b"{\"garbage\": tru")?;
    drop(file);
    let out = tamis_job(
        "run",
        &config,
        &input,
        &output,
        &["--engine", "native", "--shard-size", "10"],
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "{stderr}");
    ensure!(
        stderr.contains("does not match its checksum")
            && stderr.contains("1 shards written, 3 already done"),
        "the changed shard was not redone: {stderr}"
    );
    ensure!(
        output_files(&output)? == clean,
        "the redone shard differs from the clean run"
    );
    Ok(())
}

#[cfg(unix)]
#[test]
fn symlink_loops_in_an_input_directory_list_each_file_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    write_lines(&data.join("web").join("part.jsonl"), &web_lines(20)?)?;
    // Two loops: a link to the folder itself, and a link from below back to the top.
    std::os::unix::fs::symlink(&data, data.join("web").join("again"))?;
    std::os::unix::fs::symlink("..", data.join("web").join("up"))?;
    let output = dir.path().join("out");
    let out = tamis(&[
        OsStr::new("run"),
        empty_config(dir.path())?.as_os_str(),
        OsStr::new("--input"),
        data.as_os_str(),
        OsStr::new("--output"),
        output.as_os_str(),
        OsStr::new("--engine"),
        OsStr::new("native"),
        OsStr::new("--quiet"),
    ])?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        stats(&output)?["docs_in"] == 20,
        "docs_in {}",
        stats(&output)?["docs_in"]
    );
    Ok(())
}

#[test]
fn a_gzip_bomb_line_is_one_error_record_and_the_others_are_judged() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("bomb.jsonl.gz");
    let lines = web_lines(10)?;
    let mut gz =
        flate2::write::GzEncoder::new(std::fs::File::create(&input)?, flate2::Compression::best());
    for line in &lines[..5] {
        writeln!(gz, "{line}")?;
    }
    // 64 MiB of one line, a few kB on disk: read with a 1 MiB limit.
    gz.write_all(b"{\"id\": \"bomb\", \"text\": \"")?;
    let block = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&block)?;
    }
    gz.write_all(b"\"}\n")?;
    for line in &lines[5..] {
        writeln!(gz, "{line}")?;
    }
    gz.finish()?;
    let output = dir.path().join("out");
    tamis_job_ok(
        "run",
        &empty_config(dir.path())?,
        &input,
        &output,
        &[&NATIVE[..], &["--max-record-bytes", "1048576"]].concat(),
    )?;
    let s = stats(&output)?;
    ensure!(
        s["docs_in"] == 11 && s["errors"] == 1 && s["errors_by_kind"]["record too large"] == 1,
        "{s}"
    );
    let errors = read_jsonl(&output.join("errors").join("bomb-00000.jsonl.gz"))?;
    ensure!(
        errors[0]["line"] == 6 && errors[0].get("record").is_none(),
        "{}",
        errors[0]
    );
    Ok(())
}

#[cfg(unix)]
#[test]
fn a_tokenizer_path_to_dev_zero_is_refused_not_read() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "steps = [\"normalize\", \"tokens\"]\n[tokens]\ntokenizer = \"/dev/zero\"\n",
    )?;
    let input = dir.path().join("in.jsonl");
    write_lines(&input, &web_lines(2)?)?;
    let started = Instant::now();
    let out = tamis_job("run", &config, &input, &dir.path().join("out"), &NATIVE)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && stderr.contains("not a regular file"),
        "{stderr}"
    );
    ensure!(
        started.elapsed() < Duration::from_secs(60),
        "it read /dev/zero for a minute"
    );
    Ok(())
}

#[test]
fn numbers_in_untouched_fields_pass_through_exactly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.jsonl");
    let text = read_jsonl(&shared_data("web/dev.jsonl.gz"))?[0]["text"].clone();
    let line = format!(
        r#"{{"id": "n", "text": {text}, "big": 123456789012345678901234567890, "huge": 1e999999, "f": 0.1}}"#
    );
    write_lines(&input, &[line])?;
    let output = dir.path().join("out");
    tamis_job_ok("run", &empty_config(dir.path())?, &input, &output, &NATIVE)?;
    let written = ["kept", "dropped"]
        .iter()
        .map(|part| output.join(part).join("in-00000.jsonl"))
        .find(|p| p.exists())
        .context("the record was neither kept nor dropped")?;
    let record = std::fs::read_to_string(written)?;
    // The digits pass through as written; serde_json writes the exponent with its sign (`1e+999999`, the
    // same number), where it used to make the record an error.
    ensure!(
        record.contains(r#""big":123456789012345678901234567890,"huge":1e+999999,"f":0.1"#),
        "{record}"
    );
    Ok(())
}

#[test]
fn a_changed_input_of_the_same_size_is_not_mistaken_for_the_old_one() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.jsonl");
    let lines = web_lines(10)?;
    write_lines(&input, &lines)?;
    let config = empty_config(dir.path())?;
    let output = dir.path().join("out");
    tamis_job_ok("run", &config, &input, &output, &NATIVE)?;
    // Same bytes count, one record swapped for another of the same length: a letter changed.
    let mut changed = lines.clone();
    changed[3] = changed[3].replacen("e", "o", 1);
    ensure!(changed[3] != lines[3], "no letter to change");
    write_lines(&input, &changed)?;
    let out = tamis_job("run", &config, &input, &output, &NATIVE)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && stderr.contains("inputs changed since"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn an_enormous_batch_timeout_is_a_clear_error_not_a_panic() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.jsonl");
    write_lines(&input, &web_lines(2)?)?;
    let out = tamis_job(
        "run",
        &empty_config(dir.path())?,
        &input,
        &dir.path().join("out"),
        &[&NATIVE[..], &["--batch-timeout", "1e30"]].concat(),
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.code() == Some(2)
            && stderr.contains("--batch-timeout")
            && !stderr.contains("panicked"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn workers_are_capped_at_the_number_of_batches() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.jsonl");
    write_lines(&input, &web_lines(20)?)?;
    let output = dir.path().join("out");
    tamis_job_ok(
        "run",
        &empty_config(dir.path())?,
        &input,
        &output,
        &[
            "--quiet",
            "--engine",
            "wasm",
            "--workers",
            "1000",
            "--batch-size",
            "8",
        ],
    )?;
    let s = stats(&output)?;
    ensure!(s["workers_started"] == 3 && s["docs_in"] == 20, "{s}");
    Ok(())
}

#[test]
fn errors_by_kind_has_one_key_per_kind_whatever_the_details() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.jsonl");
    let mut lines = web_lines(5)?;
    // Invalid UTF-8 at a different byte in each record, and invalid JSON at different columns.
    let mut bytes = lines.join("\n").into_bytes();
    for i in 0..30 {
        bytes.extend_from_slice(b"\n{\"id\": \"");
        bytes.extend(std::iter::repeat_n(b'x', i));
        bytes.extend_from_slice(b"\xff\", \"text\": \"t\"}");
        lines.push(String::new());
    }
    for i in 0..30 {
        bytes.extend_from_slice(format!("\n{{\"id\": {}", "1".repeat(i + 1)).as_bytes());
    }
    bytes.push(b'\n');
    std::fs::write(&input, bytes)?;
    let output = dir.path().join("out");
    tamis_job_ok("run", &empty_config(dir.path())?, &input, &output, &NATIVE)?;
    let kinds = stats(&output)?["errors_by_kind"].clone();
    ensure!(
        kinds == serde_json::json!({"invalid JSON": 30, "invalid UTF-8": 30}),
        "{kinds}"
    );
    let errors = read_jsonl(&output.join("errors").join("in-00000.jsonl"))?;
    ensure!(
        errors[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("at byte 8")),
        "the details are gone from errors/: {}",
        errors[0]
    );
    Ok(())
}

#[test]
fn a_utf8_bom_at_the_start_of_a_file_is_stripped() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("in.jsonl");
    let lines = web_lines(3)?;
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice((lines.join("\n") + "\n").as_bytes());
    std::fs::write(&input, bytes)?;
    let output = dir.path().join("out");
    tamis_job_ok("run", &empty_config(dir.path())?, &input, &output, &NATIVE)?;
    let s = stats(&output)?;
    ensure!(s["docs_in"] == 3 && s["errors"] == 0, "{s}");
    Ok(())
}

#[cfg(unix)]
#[test]
fn sigint_exits_130_saying_what_was_kept_and_how_to_resume() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let output = dir.path().join("out");
    let mut child = start_long_run(dir.path(), &output)?;
    ensure!(
        markers(&output) >= 1,
        "no shard finished within two minutes"
    );
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()?;
    ensure!(kill.success(), "kill -INT failed");
    let status = child.wait()?;
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().context("no stderr")?, &mut stderr)?;
    ensure!(status.code() == Some(130), "exit status {status}: {stderr}");
    ensure!(
        stderr.contains("interrupted")
            && stderr.contains("Run the same `tamis run` command again to resume"),
        "{stderr}"
    );
    Ok(())
}
