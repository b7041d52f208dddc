//! A run killed with SIGKILL and run again writes exactly the bytes of a run that was never interrupted.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{output_files, read_jsonl, shared_data, stats_counts, tamis, tamis_command};
use anyhow::{Result, ensure};

/// The web development set repeated under fresh ids, so that a run lasts long enough to be killed mid-way.
fn write_big_input(path: &Path, copies: usize) -> Result<u64> {
    let records = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let mut gz =
        flate2::write::GzEncoder::new(std::fs::File::create(path)?, flate2::Compression::fast());
    let mut n = 0;
    for copy in 0..copies {
        for record in &records {
            let mut record = record.clone();
            if let Some(id) = record
                .get("id")
                .and_then(|v| v.as_str())
                .map(str::to_string)
            {
                record["id"] = serde_json::Value::String(format!("{id}#{copy}"));
            }
            writeln!(gz, "{record}")?;
            n += 1;
        }
    }
    gz.finish()?;
    Ok(n)
}

fn markers(output: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(output.join(".tamis").join("done")) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .count()
}

#[test]
fn killed_and_resumed_run_matches_an_uninterrupted_one() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("web.jsonl.gz");
    let total = write_big_input(&input, 30)?;
    let shard_size = 300u64;
    let shards = total.div_ceil(shard_size) as usize;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "evaluate_all = true\n")?;
    let args = |output: &Path| -> Vec<std::ffi::OsString> {
        vec![
            "run".into(),
            config.clone().into(),
            "--input".into(),
            input.clone().into(),
            "--output".into(),
            output.into(),
            "--workers".into(),
            "2".into(),
            "--batch-size".into(),
            "16".into(),
            "--shard-size".into(),
            shard_size.to_string().into(),
            "--quiet".into(),
        ]
    };

    let whole = dir.path().join("whole");
    let out = tamis(
        &args(&whole)
            .iter()
            .map(|a| a.as_os_str())
            .collect::<Vec<&OsStr>>(),
    )?;
    ensure!(
        out.status.success(),
        "uninterrupted run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let resumed = dir.path().join("resumed");
    let mut child = tamis_command()?
        .args(args(&resumed))
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let started = Instant::now();
    while markers(&resumed) < 2 && started.elapsed() < Duration::from_secs(120) {
        if child.try_wait()?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // SIGKILL: no chance to clean up or flush.
    child.kill()?;
    child.wait()?;
    let done_at_kill = markers(&resumed);
    ensure!(
        done_at_kill < shards && !resumed.join("stats.json").exists(),
        "the run finished ({done_at_kill} of {shards} shards) before it could be killed; make the input bigger"
    );

    let out = tamis(
        &args(&resumed)
            .iter()
            .map(|a| a.as_os_str())
            .collect::<Vec<&OsStr>>(),
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(out.status.success(), "resumed run failed: {stderr}");
    ensure!(
        stderr.contains(&format!("accounting ok: {total} = ")),
        "accounting line missing: {stderr}"
    );
    ensure!(
        stderr.contains(&format!("{done_at_kill} already done")) || done_at_kill == 0,
        "the resumed run did not skip the {done_at_kill} finished shards: {stderr}"
    );

    let (a, b) = (output_files(&whole)?, output_files(&resumed)?);
    ensure!(
        a.keys().collect::<Vec<_>>() == b.keys().collect::<Vec<_>>(),
        "different files: {:?} vs {:?}",
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &a {
        ensure!(Some(bytes) == b.get(name), "{name} differs after resuming");
    }
    ensure!(
        stats_counts(&whole)? == stats_counts(&resumed)?,
        "stats.json counts differ after resuming"
    );

    // A third run over a finished output does no work at all.
    let out = tamis(
        &args(&resumed)
            .iter()
            .map(|a| a.as_os_str())
            .collect::<Vec<&OsStr>>(),
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success(),
        "re-run of a finished job failed: {stderr}"
    );
    ensure!(
        stderr.contains(&format!("0 shards written, {shards} already done")),
        "{stderr}"
    );
    ensure!(
        output_files(&resumed)? == a,
        "re-running a finished job changed its files"
    );
    Ok(())
}
