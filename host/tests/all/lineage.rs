//! Lineage over the demo flow: `tamis sample` -> `run` -> `dedup` -> `format` on the bundled sample, each
//! writing `lineage.json`, and `tamis lineage` following the chain back to the raw data and reporting an
//! input that changed since its run.

use std::ffi::OsStr;
use std::path::Path;

use crate::{repo_root, tamis};
use anyhow::{Context, Result, ensure};
use serde_json::Value;

fn ok(args: &[&OsStr]) -> Result<String> {
    let out = tamis(args)?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(out.status.success(), "tamis {args:?} failed: {stderr}");
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn lineage(dir: &Path) -> Result<(bool, String)> {
    let out = tamis(&[OsStr::new("lineage"), dir.as_os_str()])?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    ))
}

fn read_lineage(dir: &Path) -> Result<Value> {
    Ok(serde_json::from_str(&std::fs::read_to_string(
        dir.join("lineage.json"),
    )?)?)
}

#[test]
fn the_demo_flow_is_a_chain_back_to_the_raw_data_and_a_changed_input_is_reported() -> Result<()> {
    // The demo's config and data, copied so the test can change an input without touching the repo.
    let dir = tempfile::tempdir()?;
    let examples = dir.path().join("examples");
    std::fs::create_dir_all(examples.join("data"))?;
    for entry in std::fs::read_dir(repo_root().join("examples").join("data"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "gz") {
            std::fs::copy(
                &path,
                examples
                    .join("data")
                    .join(path.file_name().context("name")?),
            )?;
        }
    }
    let mut config = std::fs::read_to_string(repo_root().join("examples").join("tamis.toml"))?;
    config.push_str(
        "\n[format]\nkind = \"domain_adaptation\"\ndomain = \"academic\"\ninput = [\"../out/DEDUP/*/kept/kept/*.jsonl.gz\"]\n\
         output = \"../out/FORMATTED\"\n[format.fields]\nprompt = { constant = \"what is this text about?\" }\ncompletion = \"text\"\n",
    );
    let config_path = examples.join("tamis.toml");
    std::fs::write(&config_path, config)?;
    let cfg = config_path.as_os_str();
    for command in ["sample", "run", "dedup", "format"] {
        ok(&[OsStr::new(command), cfg, OsStr::new("--quiet")])?;
    }
    let out = dir.path().join("out");

    // Each stage's lineage names its parent: RAW <- CLEANED <- DEDUP <- FORMATTED.
    let raw = read_lineage(&out.join("RAW"))?;
    ensure!(
        raw["command"] == "sample" && raw["parents"] == serde_json::json!([]),
        "{raw}"
    );
    ensure!(
        raw["inputs"].as_array().map(Vec::len) == Some(3),
        "{}",
        raw["inputs"]
    );
    let c4 = &raw["inputs"][0];
    ensure!(c4["path"] == "../../examples/data/c4.jsonl.gz", "{c4}");
    let bytes = std::fs::read(examples.join("data").join("c4.jsonl.gz"))?;
    ensure!(c4["size"] == bytes.len() as u64);
    ensure!(c4["sha256"].as_str().map(str::len) == Some(64));
    let cleaned = read_lineage(&out.join("CLEANED"))?;
    // `tamis run` reads the RAW folder: its records, not its lineage.json.
    let cleaned_inputs: Vec<&str> = cleaned["inputs"]
        .as_array()
        .context("inputs")?
        .iter()
        .filter_map(|i| i["path"].as_str())
        .collect();
    ensure!(
        cleaned_inputs
            == [
                "../RAW/c4/raw_data.jsonl.gz",
                "../RAW/dclm/raw_data.jsonl.gz",
                "../RAW/presidio/raw_data.jsonl.gz"
            ],
        "{cleaned_inputs:?}"
    );
    let run_stats: Value = serde_json::from_str(&std::fs::read_to_string(
        out.join("CLEANED").join("stats.json"),
    )?)?;
    ensure!(
        run_stats["docs_in"] == 80 && run_stats["errors"] == 0,
        "{}",
        run_stats["docs_in"]
    );
    ensure!(
        cleaned["command"] == "run" && cleaned["parents"] == serde_json::json!(["../RAW"]),
        "{}",
        cleaned["parents"]
    );
    let dedup = read_lineage(&out.join("DEDUP"))?;
    ensure!(
        dedup["parents"] == serde_json::json!(["../CLEANED"]),
        "{}",
        dedup["parents"]
    );
    let formatted = read_lineage(&out.join("FORMATTED"))?;
    ensure!(
        formatted["parents"] == serde_json::json!(["../DEDUP"]),
        "{}",
        formatted["parents"]
    );
    // The normalized config is the same for every stage (one file), and so is its hash.
    ensure!(raw["config_sha256"] == formatted["config_sha256"]);
    ensure!(raw["config"]["dedup"]["keep"] == "quality_score");
    let component = std::fs::read(crate::tamis_component()?)?;
    use sha2::Digest;
    let expected: String = sha2::Sha256::digest(&component)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    ensure!(raw["component_sha256"] == expected.as_str());

    // The chain from DEDUP: three runs, all inputs unchanged; from FORMATTED: four.
    let (success, text) = lineage(&out.join("DEDUP"))?;
    ensure!(success, "{text}");
    ensure!(text.contains("3 run(s), every input unchanged"), "{text}");
    let runs: Vec<&str> = text.lines().filter(|l| l.contains(": tamis ")).collect();
    ensure!(runs.len() == 3, "{text}");
    ensure!(
        runs[0].contains("tamis dedup")
            && runs[1].contains("<- ../CLEANED: tamis run")
            && runs[2].contains("<- ../RAW: tamis sample"),
        "{text}"
    );
    ensure!(text.contains("(raw data: no earlier tamis run)"), "{text}");
    let (success, text) = lineage(&out.join("FORMATTED"))?;
    ensure!(success && text.contains("4 run(s)"), "{text}");

    // A raw file changed since the sample was drawn: reported, with a failing status.
    let mut changed = bytes.clone();
    changed.extend_from_slice(b"\n");
    std::fs::write(examples.join("data").join("c4.jsonl.gz"), &changed)?;
    let (success, text) = lineage(&out.join("DEDUP"))?;
    ensure!(!success, "a changed input must fail: {text}");
    ensure!(
        text.contains(&format!(
            "CHANGED  ../../examples/data/c4.jsonl.gz (size {} -> {} bytes)",
            bytes.len(),
            changed.len()
        )),
        "{text}"
    );
    ensure!(text.contains("1 input file(s) changed"), "{text}");

    // A cleaned file edited in place (same size) and another one deleted: both reported at the dedup run.
    std::fs::write(examples.join("data").join("c4.jsonl.gz"), &bytes)?;
    let kept = out.join("CLEANED").join("c4").join("kept");
    let mut files: Vec<_> = std::fs::read_dir(&kept)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.sort();
    let first = files.first().context("a kept file")?.clone();
    let mut content = std::fs::read(&first)?;
    let last = content.len() - 1;
    content[last] ^= 1;
    std::fs::write(&first, &content)?;
    let dclm_kept = out.join("CLEANED").join("dclm").join("kept");
    let gone = std::fs::read_dir(&dclm_kept)?
        .next()
        .context("a dclm kept file")??
        .path();
    std::fs::remove_file(&gone)?;
    let (success, text) = lineage(&out.join("DEDUP"))?;
    ensure!(!success, "{text}");
    ensure!(text.contains("same size, SHA-256 differs"), "{text}");
    ensure!(text.contains("GONE     ../CLEANED/dclm/kept/"), "{text}");
    ensure!(text.contains("2 input file(s) changed"), "{text}");
    Ok(())
}
