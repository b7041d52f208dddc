//! `tamis report` on a real run: the demo's flow (sample, run, dedup, decontaminate) over the web
//! development set, DCLM's labelled pages, Presidio's PII sentences and GSM8K, then the report and the
//! dataset card, whose numbers must be the ones the stages wrote in their stats.json. A second test opens
//! the page from disk in Chromium and requires it to load nothing, log no error and show its charts.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{read_jsonl, repo_root, shared_data, tamis, target_dir};
use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

/// The demo's config (examples/tamis.toml) over the shared real data: four sources by weight, the
/// default cleaning chain with every rule evaluated, dedup with paragraph removal, and GSM8K and HumanEval
/// as the benchmarks to decontaminate against.
fn write_config(dir: &Path, target: u64) -> Result<PathBuf> {
    let web = shared_data("web/dev.jsonl.gz");
    let dclm = shared_data("quality/dclm_human_quality_dev.jsonl.gz");
    let presidio = shared_data("pii/presidio_generated_small.jsonl");
    let gsm8k = shared_data("benchmarks/gsm8k_test.jsonl.gz");
    let humaneval = shared_data("benchmarks/humaneval.jsonl.gz");
    let toml = format!(
        r#"steps = ["normalize", "c4_quality", "pii", "gopher_repetition", "gopher_quality", "fineweb_quality",
         "quality_score", "language", "fingerprint"]
evaluate_all = true

[pii]
hash_key = "a secret that must not appear in the report"

[sample]
target_samples = {target}
seed = 42
output = "RAW"

[[sample.datasets]]
name = "web"
path = [{web:?}]
weight = 0.55
config = "CC-MAIN-2019-30"

[[sample.datasets]]
name = "dclm"
path = [{dclm:?}]
weight = 0.25
config = "dclm-human-labelled"

[[sample.datasets]]
name = "presidio"
path = [{presidio:?}]
weight = 0.1

[[sample.datasets]]
name = "gsm8k"
path = [{gsm8k:?}]
weight = 0.1
config = "test"

[io]
input = ["RAW"]
output = "CLEANED"

[dedup]
input = ["CLEANED/*/kept/*.jsonl.gz"]
output = "DEDUP"
keep = "quality_score"

[dedup.paragraphs]
enabled = true

[decontaminate]
input = ["DEDUP/*/kept/kept/*.jsonl.gz"]
output = "DECONTAMINATED"

[[decontaminate.benchmarks]]
name = "gsm8k"
path = [{gsm8k:?}]
fields = ["question", "answer"]

[[decontaminate.benchmarks]]
name = "humaneval"
path = [{humaneval:?}]
fields = ["prompt", "canonical_solution"]
id_key = "task_id"
"#
    );
    let path = dir.join("tamis.toml");
    std::fs::write(&path, toml)?;
    Ok(path)
}

fn tamis_ok(args: &[&OsStr]) -> Result<String> {
    let out = tamis(args)?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(out.status.success(), "tamis {args:?} failed: {stderr}");
    Ok(stderr)
}

/// Runs the four stages in `dir`; returns the config's path.
fn demo_flow(dir: &Path, target: u64) -> Result<PathBuf> {
    let config = write_config(dir, target)?;
    for command in ["sample", "run", "dedup", "decontaminate"] {
        let mut args: Vec<&OsStr> = vec![OsStr::new(command), config.as_os_str()];
        if command != "sample" {
            args.push(OsStr::new("--quiet"));
        }
        tamis_ok(&args)?;
    }
    Ok(config)
}

fn report(run: &Path, extra: &[&str]) -> Result<String> {
    let mut args: Vec<&OsStr> = vec![OsStr::new("report"), run.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    tamis_ok(&args)
}

fn stats(dir: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(dir.join("stats.json"))
        .with_context(|| format!("reading {}/stats.json", dir.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// The value of attribute `name` of every element that has attribute `marker` (in document order), as
/// (marker value, attribute value): enough HTML reading for the attributes the page writes.
fn attributes(html: &str, marker: &str, name: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let needle = format!(" {marker}=\"");
    let mut rest = html;
    while let Some(at) = rest.find(&needle) {
        let tag_start = rest[..at].rfind('<').unwrap_or(0);
        let tag_end = at + rest[at..].find('>').unwrap_or(rest.len() - at);
        let tag = &rest[tag_start..tag_end];
        let value_of = |attr: &str| {
            let key = format!(" {attr}=\"");
            tag.find(&key).map(|i| {
                let v = &tag[i + key.len()..];
                v[..v.find('"').unwrap_or(v.len())].to_string()
            })
        };
        if let (Some(m), Some(v)) = (value_of(marker), value_of(name)) {
            out.push((m, v));
        }
        rest = &rest[tag_end..];
    }
    out
}

/// The number shown in `<dd data-count="key">` or `<span data-count="key">`, thin spaces removed.
fn shown_count(html: &str, key: &str) -> Result<u64> {
    let needle = format!("data-count=\"{key}\">");
    let at = html
        .find(&needle)
        .with_context(|| format!("no data-count={key} in the page"))?;
    let text = &html[at + needle.len()..];
    let text: String = text[..text.find('<').unwrap_or(0)]
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    Ok(text.parse()?)
}

fn lines_in(dir: &Path) -> Result<u64> {
    let mut n = 0;
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            n += read_jsonl(&entry?.path())?.len() as u64;
        }
    }
    Ok(n)
}

#[test]
fn the_report_and_the_card_show_the_numbers_the_stages_wrote() -> Result<()> {
    let dir = tempfile::tempdir()?;
    demo_flow(dir.path(), 300)?;
    let cleaned = dir.path().join("CLEANED");
    let said = report(&cleaned, &["--license", "odc-by", "--name", "tamis demo"])?;
    ensure!(said.contains("report.html"), "{said}");
    let html = std::fs::read_to_string(cleaned.join("report.html"))?;
    let card = std::fs::read_to_string(cleaned.join("README.md"))?;
    let run = stats(&cleaned)?;
    let n = |v: &Value| v.as_u64().unwrap_or(u64::MAX);

    // The totals.
    for key in ["docs_in", "kept", "dropped", "errors"] {
        ensure!(
            shown_count(&html, key)? == n(&run[key]),
            "{key}: page {} vs stats.json {}",
            shown_count(&html, key)?,
            run[key]
        );
    }
    ensure!(n(&run["docs_in"]) == 300, "the sample has 300 records");
    ensure!(
        shown_count(&html, "kept_bytes")? == n(&run["bytes_kept"]),
        "kept bytes differ from stats.json's bytes_kept"
    );

    // Per step and per reason, as stats.json has them.
    let steps = run["steps"].as_array().context("steps")?;
    let shown_steps: BTreeMap<String, String> = attributes(&html, "data-step", "data-dropped")
        .into_iter()
        .collect();
    let mut expected_reasons = BTreeMap::new();
    for s in steps {
        let step = s["step"].as_str().context("step name")?;
        ensure!(
            shown_steps.get(step) == Some(&s["dropped"].to_string()),
            "step {step}: page {:?} vs stats.json {}",
            shown_steps.get(step),
            s["dropped"]
        );
        for (rule, count) in s["reasons"].as_object().context("reasons")? {
            expected_reasons.insert(format!("{step}/{rule}"), count.to_string());
        }
    }
    let shown_reasons: BTreeMap<String, String> = attributes(&html, "data-reason", "data-n")
        .into_iter()
        .collect();
    ensure!(
        shown_reasons == expected_reasons,
        "reasons: page {shown_reasons:?} vs stats.json {expected_reasons:?}"
    );
    ensure!(!expected_reasons.is_empty(), "the real data has drops");

    // Per source: the sample's metadata.source, each adding up, kept = the lines in its kept/ folder.
    let sources = attributes(&html, "data-source", "data-kept");
    let names: Vec<&str> = sources.iter().map(|(s, _)| s.as_str()).collect();
    ensure!(
        names == ["dclm", "gsm8k", "presidio", "web"],
        "sources: {names:?}"
    );
    let mut docs_in = 0;
    for (source, kept) in &sources {
        let on_disk = lines_in(&cleaned.join(source).join("kept"))?;
        ensure!(
            kept == &on_disk.to_string(),
            "{source}: page {kept} vs {on_disk} on disk"
        );
    }
    for (_, d) in attributes(&html, "data-source", "data-docs-in") {
        docs_in += d.parse::<u64>()?;
    }
    ensure!(docs_in == n(&run["docs_in"]), "sources add up to {docs_in}");

    // Dedup and decontamination, found beside the run.
    let dedup = stats(&dir.path().join("DEDUP"))?;
    ensure!(
        shown_count(&html, "dedup_kept")? == n(&dedup["kept"]),
        "dedup kept"
    );
    let decontaminated = stats(&dir.path().join("DECONTAMINATED"))?;
    ensure!(
        shown_count(&html, "contaminated")? == n(&decontaminated["contaminated"]),
        "contaminated"
    );

    // Issues, samples, charts, and nothing that loads from elsewhere; the pii key never shown.
    ensure!(html.contains("data-issue="), "no issue computed");
    ensure!(
        html.matches("data-sample=\"kept\"").count() == 12,
        "12 kept samples"
    );
    ensure!(
        html.matches("data-sample=\"dropped\"").count() == 12,
        "12 dropped samples"
    );
    let checks = attributes(&html, "data-check", "data-failed");
    ensure!(checks.len() > 20, "{} checks shown", checks.len());
    for (check, _) in &checks {
        ensure!(
            html.contains(&format!("data-chart=\"check:{check}\"")),
            "no chart for {check}"
        );
    }
    for absent in [
        "<script",
        "<link",
        " src=",
        "href=\"http",
        "@import",
        "a secret that must not",
    ] {
        ensure!(!html.contains(absent), "the page holds {absent:?}");
    }
    ensure!(
        !card.contains("a secret that must not"),
        "the card holds the pii key"
    );
    ensure!(html.len() < 5_000_000, "page of {} bytes", html.len());

    // The card: front matter the Hub reads, and the same numbers.
    let front = card
        .strip_prefix("---\n")
        .and_then(|c| c.split_once("\n---\n"))
        .map(|(f, _)| f)
        .context("the card starts with YAML front matter")?;
    for line in [
        "license: \"odc-by\"",
        "size_categories:\n- \"n<1K\"",
        "task_categories:\n- \"text-generation\"",
        "language:\n- \"en\"",
        "- config_name: \"default\"",
        "    - \"web/kept/*.jsonl.gz\"",
        "- config_name: \"dclm\"",
    ] {
        ensure!(
            front.contains(line),
            "front matter lacks {line:?}:\n{front}"
        );
    }
    ensure!(
        card.contains(&format!(
            "In all: {} documents in = {} kept + {} dropped + {} errors.",
            run["docs_in"], run["kept"], run["dropped"], run["errors"]
        )),
        "the card's totals differ from stats.json"
    );
    for s in steps {
        let row = format!(
            "| {} | {} | {} |",
            s["step"].as_str().unwrap_or_default(),
            s["docs_in"],
            s["dropped"]
        );
        ensure!(card.contains(&row), "the card lacks the funnel row {row:?}");
    }
    ensure!(
        card.contains("| web | CC-MAIN-2019-30 | 55.0 % |"),
        "sources and weights"
    );
    ensure!(
        card.contains("1. `normalize` (`[normalize]`)"),
        "steps with parameters"
    );
    ensure!(
        card.contains("min_doc_words = 50"),
        "the normalized config's defaults"
    );
    ensure!(card.contains("(redacted)"), "the pii key redacted");
    ensure!(card.contains("## Known limits"), "known limits");

    // Deterministic: the same bytes again, with one reader thread or several.
    let again = dir.path().join("again");
    report(
        &cleaned,
        &[
            "--license",
            "odc-by",
            "--name",
            "tamis demo",
            "--threads",
            "1",
            "--output",
            again.to_str().context("utf-8 path")?,
        ],
    )?;
    ensure!(
        std::fs::read(again.join("report.html"))? == html.as_bytes(),
        "report.html differs between runs"
    );
    ensure!(
        std::fs::read(again.join("README.md"))? == card.as_bytes(),
        "README.md differs between runs"
    );
    Ok(())
}

#[test]
fn a_directory_that_is_not_a_run_is_refused_with_a_clear_error() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let out = tamis(&[OsStr::new("report"), dir.path().as_os_str()])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "an empty folder was reported on");
    ensure!(
        stderr.contains("is it the output of `tamis run`?"),
        "{stderr}"
    );
    let missing = dir.path().join("missing");
    let out = tamis(&[OsStr::new("report"), missing.as_os_str()])?;
    ensure!(
        String::from_utf8_lossy(&out.stderr).contains("is not a directory"),
        "missing folder"
    );
    Ok(())
}

/// Chromium and playwright-core, as the browser demo's tests use them.
fn browser() -> Result<PathBuf> {
    let chromium = std::env::var_os("TAMIS_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    ensure!(
        chromium.is_file(),
        "no Chromium at {}: install it with scripts/setup-browser.sh (or point TAMIS_CHROMIUM at one)",
        chromium.display()
    );
    ensure!(
        repo_root()
            .join("web-demo/node_modules/playwright-core")
            .is_dir(),
        "playwright-core is not installed: run scripts/setup.sh --test (it runs `npm ci` in web-demo/)"
    );
    Ok(chromium)
}

#[test]
fn the_report_opens_from_disk_in_chromium_with_its_charts_and_no_request() -> Result<()> {
    let chromium = browser()?;
    let dir = tempfile::tempdir()?;
    demo_flow(dir.path(), 200)?;
    let cleaned = dir.path().join("CLEANED");
    report(&cleaned, &["--name", "tamis demo"])?;
    let html = std::fs::read_to_string(cleaned.join("report.html"))?;
    // The charts the page should have: from its own markup, and the ones every run has.
    let expected: Vec<String> = attributes(&html, "data-chart", "aria-label")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for id in [
        "funnel",
        "reasons",
        "sources",
        "chars",
        "words",
        "quality",
        "languages",
    ] {
        ensure!(
            expected.iter().any(|e| e == id),
            "no {id} chart in the page"
        );
    }
    let checks = attributes(&html, "data-check", "data-failed").len();
    ensure!(
        expected.iter().filter(|e| e.starts_with("check:")).count() == checks,
        "one chart per check"
    );

    let artifacts = target_dir().join("artifacts").join("report");
    std::fs::create_dir_all(&artifacts)?;
    let params = json!({
        "chromium": chromium,
        "page": cleaned.join("report.html"),
        "artifacts": artifacts,
    });
    let params_file = dir.path().join("params.json");
    std::fs::write(&params_file, params.to_string())?;
    let out = Command::new("node")
        .arg(repo_root().join("web-demo/tests/report.mjs"))
        .arg(&params_file)
        .output()
        .context("starting node")?;
    ensure!(
        out.status.success(),
        "the browser script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("result.json"))?)?;
    eprintln!(
        "report in {}: {}",
        result["browser"],
        result["figures"].as_array().map_or(0, Vec::len)
    );
    ensure!(
        result["failed_requests"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "failed requests: {}",
        result["failed_requests"]
    );
    ensure!(
        result["outside_requests"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "requests beyond the file: {}",
        result["outside_requests"]
    );
    ensure!(
        result["console_errors"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "console errors: {}",
        result["console_errors"]
    );
    let figures = result["figures"].as_array().context("figures")?;
    let shown: Vec<&str> = figures.iter().filter_map(|f| f["id"].as_str()).collect();
    ensure!(
        shown == expected,
        "charts shown {shown:?} vs in the page {expected:?}"
    );
    for f in figures {
        ensure!(f["svgs"] == 1, "{}: {} svg elements", f["id"], f["svgs"]);
        let (w, h) = (
            f["width"].as_f64().unwrap_or(0.0),
            f["height"].as_f64().unwrap_or(0.0),
        );
        if !(w > 100.0 && h > 50.0) {
            bail!("{} is drawn {w} x {h}", f["id"]);
        }
        ensure!(
            f["title"].as_str().is_some_and(|t| !t.is_empty()) && f["title"] == f["label"],
            "{}: title {} vs label {}",
            f["id"],
            f["title"],
            f["label"]
        );
        ensure!(
            f["bars"].as_u64().unwrap_or(0) > 0,
            "{}: no bar drawn",
            f["id"]
        );
    }
    ensure!(
        result["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("tamis demo")),
        "page title {}",
        result["title"]
    );
    Ok(())
}
