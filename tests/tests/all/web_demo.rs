//! The browser demo in a real Chromium and a real Firefox, against the bulk host.
//!
//! `web-demo/tests/browser.mjs` (playwright-core driving the system Chromium) loads the built page from a
//! localhost server, pastes a real Presidio document with personal data, tries a bad value, changes a
//! threshold, exports the config as TOML and YAML and imports it back, opens the gzipped web development
//! set, and times about 1 MB of real web text. This test then runs `tamis run --engine native` with the
//! config the page exported, on the same document and file, and requires the page to have shown the same
//! verdicts, reasons, checks and highlighted spans; `tamis check` and the edge's config reader must
//! accept the exported files unchanged.
//!
//! `web-demo/tests/firefox.mjs` (puppeteer-core driving the system Firefox ESR) pastes the same document
//! and makes the same changes; the second test requires Firefox to show what the host writes, before and
//! after the changes.
//!
//! Their prerequisites are built by `scripts/build-web.sh` and `scripts/setup-browser.sh` (both run by
//! `scripts/test.sh`); when one is missing the test fails and says which script to run. Screenshots and
//! the page's measurements go to `target/artifacts/web-demo/` (Firefox's prefixed `firefox-`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use tamis_core::{Config, ConfigFormat};
use tamis_tests::{output_files, read_jsonl, repo_root, shared_data, tamis_binary, target_dir};

/// A Presidio record with three phone numbers after a non-ASCII name (`Barabás`), so the page's UTF-16
/// highlighting is checked against the host's UTF-8 byte ranges.
const DOC_ID: &str = "presidio-small-00059";
/// Refused by the core (an integer is expected): the page must show the key and keep its last result.
const BAD_CHANGE: (&str, &str) = ("quality.gopher.min_doc_words", "2.5");
/// The step the test switches off and the threshold it changes on the page: together they move the
/// document's reason from `gopher_repetition / top_4_gram` to another Gopher rule.
const STEPS_OFF: [&str; 1] = ["gopher_repetition"];
const CHANGES: [(&str, &str); 1] = [("quality.gopher.min_doc_words", "10")];
/// About this much real text is timed in the browser.
const BENCH_BYTES: usize = 1_000_000;

struct Prerequisites {
    dist: PathBuf,
    chromium: PathBuf,
}

/// The built page, the npm package that drives the browser (installed by `npm ci` in web-demo/) and
/// `node`; returns the page's directory.
fn page_prerequisites(driver: &str) -> Result<PathBuf> {
    let demo = repo_root().join("web-demo");
    let dist = demo.join("dist");
    for file in [
        "index.html",
        "app.js",
        "pkg/tamis_web.js",
        "pkg/tamis_web_bg.wasm",
    ] {
        ensure!(
            dist.join(file).is_file(),
            "{} is missing: build the demo first with scripts/build-web.sh",
            dist.join(file).display()
        );
    }
    ensure!(
        demo.join("node_modules").join(driver).is_dir(),
        "{driver} is not installed: run scripts/build-web.sh (it runs `npm ci` in web-demo/)"
    );
    let node = Command::new("node").arg("--version").output();
    ensure!(
        node.is_ok_and(|o| o.status.success()),
        "`node` is not on PATH; the browser test runs {driver} with it"
    );
    Ok(dist)
}

fn prerequisites() -> Result<Prerequisites> {
    let dist = page_prerequisites("playwright-core")?;
    let chromium = std::env::var_os("TAMIS_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    ensure!(
        chromium.is_file(),
        "no Chromium at {}: install it with scripts/setup-browser.sh (or point TAMIS_CHROMIUM at one)",
        chromium.display()
    );
    Ok(Prerequisites { dist, chromium })
}

/// The config the page should hold after the changes: its default (the core's, every rule evaluated)
/// without the steps switched off, with the changed thresholds.
fn expected_config() -> Result<Config> {
    let mut page_default = Config {
        evaluate_all: true,
        ..Config::default()
    };
    page_default
        .steps
        .retain(|s| !STEPS_OFF.contains(&s.as_str()));
    let mut config = serde_json::to_value(page_default)?;
    for (path, value) in CHANGES {
        let mut slot = &mut config;
        for key in path.split('.') {
            slot = slot.get_mut(key).context("changed key exists")?;
        }
        *slot = serde_json::from_str(value)?;
    }
    Ok(Config::parse(&config.to_string(), ConfigFormat::Json)?)
}

/// Runs `tamis ARGS` and fails with its stderr when it does.
fn tamis(args: &[&std::ffi::OsStr]) -> Result<String> {
    let out = Command::new(tamis_binary()?)
        .args(args)
        .env("TAMIS_CACHE_DIR", target_dir().join("tamis-test-cache"))
        .output()
        .context("starting tamis")?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(out.status.success(), "tamis {args:?} failed: {stderr}");
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `tamis run CONFIG --input INPUT --engine native`: every output record, by `kept` / `dropped` / `errors`.
fn run_native(config: &Path, input: &Path, out: &Path) -> Result<BTreeMap<String, Vec<Value>>> {
    tamis(&[
        "run".as_ref(),
        config.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
        "--engine".as_ref(),
        "native".as_ref(),
        "--quiet".as_ref(),
    ])?;
    let mut records: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (name, bytes) in output_files(out)? {
        let part = ["kept", "dropped", "errors"]
            .into_iter()
            .find(|p| name.split('/').any(|segment| segment == *p))
            .with_context(|| format!("unexpected output {name}"))?;
        let mut text = String::new();
        if name.ends_with(".gz") {
            flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_string(&mut text)?;
        } else {
            text = String::from_utf8(bytes)?;
        }
        for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
            records
                .entry(part.to_string())
                .or_default()
                .push(serde_json::from_str(line)?);
        }
    }
    Ok(records)
}

/// The page's UTF-16 position in `text` as a UTF-8 byte offset.
fn byte_offset(text: &str, utf16: u64) -> Result<usize> {
    let mut units = 0u64;
    for (i, c) in text.char_indices() {
        if units == utf16 {
            return Ok(i);
        }
        units += c.len_utf16() as u64;
    }
    ensure!(units == utf16, "UTF-16 offset {utf16} is not in the text");
    Ok(text.len())
}

/// The Presidio document's text, and a JSONL file holding just it (in `dir`) for `tamis run`.
fn presidio_document(dir: &Path) -> Result<(String, PathBuf)> {
    let doc = read_jsonl(&shared_data("pii/presidio_generated_small.jsonl"))?
        .into_iter()
        .find(|r| r["id"] == DOC_ID)
        .context("the Presidio document")?;
    let doc_text = doc["text"].as_str().context("text")?.to_string();
    let doc_file = dir.join("doc.jsonl");
    std::fs::write(
        &doc_file,
        format!("{}\n", json!({"id": DOC_ID, "text": doc_text})),
    )?;
    Ok((doc_text, doc_file))
}

/// Requires what the page showed for a document (`shown`: its raw result, verdict line, cleaned text
/// and highlights) to be exactly the host's output `record`, written to `part` (kept / dropped / errors).
fn ensure_shown_like_host(shown: &Value, part: &str, record: &Value) -> Result<()> {
    let annotation = &record["tamis"];
    let judged: Value = serde_json::from_str(shown["raw"].as_str().context("raw")?)?;
    // The page receives the core's wire annotation: the very `tamis` object the host wrote.
    ensure!(
        judged["tamis"] == *annotation,
        "annotation differs: page {} vs host {}",
        judged["tamis"],
        annotation
    );
    let field = |v: &Value, key: &str| v.get(key).cloned().unwrap_or(Value::Null);
    ensure!(
        shown["reason"] == field(annotation, "reason").as_str().unwrap_or(""),
        "shown reason {} vs host {}",
        shown["reason"],
        annotation["reason"]
    );
    let shown_verdict = if part == "kept" { "kept" } else { "dropped" };
    ensure!(
        shown["verdict"] == shown_verdict,
        "verdict {}",
        shown["verdict"]
    );
    let text = shown["text"].as_str().context("shown text")?;
    ensure!(judged["text"] == text, "the page shows another text");
    if part == "kept" {
        ensure!(
            record["text"] == text,
            "cleaned text differs from the host's"
        );
    }
    // Highlights: the marks, at their UTF-16 positions in the shown text, are the host's byte spans.
    let marks = shown["marks"].as_array().context("marks")?;
    let spans = annotation["pii"].as_array().context("host found no PII")?;
    ensure!(
        marks.len() == spans.len() && !spans.is_empty(),
        "{} marks vs {} spans",
        marks.len(),
        spans.len()
    );
    for (mark, span) in marks.iter().zip(spans) {
        let start = byte_offset(text, mark["start"].as_u64().unwrap_or(u64::MAX))?;
        let end = byte_offset(text, mark["end"].as_u64().unwrap_or(u64::MAX))?;
        ensure!(
            mark["kind"] == span["kind"]
                && start as u64 == span["start"]
                && end as u64 == span["end"]
                && mark["text"] == span["replacement"],
            "mark {mark} vs span {span}"
        );
    }
    Ok(())
}

#[test]
fn the_browser_demo_judges_like_the_bulk_host() -> Result<()> {
    let pre = prerequisites()?;
    let artifacts = target_dir().join("artifacts").join("web-demo");
    std::fs::create_dir_all(&artifacts)?;
    let work = tempfile::tempdir()?;

    let (doc_text, doc_file) = presidio_document(work.path())?;

    // About 1 MB of real web text, whole documents in file order.
    let mut bench = String::new();
    let mut bench_bytes = 0;
    for record in read_jsonl(&shared_data("web/dev.jsonl.gz"))? {
        if bench_bytes >= BENCH_BYTES {
            break;
        }
        let text = record["text"].as_str().unwrap_or_default();
        bench_bytes += text.len();
        bench.push_str(&json!({"id": record["id"], "text": text}).to_string());
        bench.push('\n');
    }
    let bench_file = work.path().join("bench.jsonl");
    std::fs::write(&bench_file, &bench)?;
    let core_default = Config::default().render(ConfigFormat::Json)?;
    let page_default = Config {
        evaluate_all: true,
        ..Config::default()
    }
    .render(ConfigFormat::Json)?;

    let models = ModelCase::new(work.path())?;
    let params = json!({
        "dist": pre.dist,
        "chromium": pre.chromium,
        "artifacts": artifacts,
        "models": models.params(),
        "document": {"id": DOC_ID, "text": doc_text},
        "bad_change": {"path": BAD_CHANGE.0, "value": BAD_CHANGE.1},
        "steps_off": STEPS_OFF,
        "changes": CHANGES.iter().map(|(path, value)| json!({"path": path, "value": value})).collect::<Vec<_>>(),
        "file": shared_data("web/dev.jsonl.gz"),
        "bench": {"jsonl": bench_file, "configs": [
            {"name": "core defaults (evaluate_all = false)", "config": core_default},
            {"name": "page defaults (evaluate_all = true)", "config": page_default},
        ]},
    });
    let params_file = work.path().join("params.json");
    std::fs::write(&params_file, params.to_string())?;
    let script = repo_root().join("web-demo/tests/browser.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(&params_file)
        .output()
        .context("starting node")?;
    ensure!(
        out.status.success(),
        "the browser script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("result.json"))?)?;
    eprintln!("web demo ({}):", page["browser"]);
    for b in page["bench"].as_array().context("bench")? {
        eprintln!(
            "  {bench_bytes} bytes of text ({} of JSONL), {}: median {:.0} ms (min {:.0}, max {:.0})",
            b["bytes"],
            b["name"].as_str().unwrap_or_default(),
            b["median_ms"].as_f64().unwrap_or(f64::NAN),
            b["min_ms"].as_f64().unwrap_or(f64::NAN),
            b["max_ms"].as_f64().unwrap_or(f64::NAN),
        );
    }
    ensure!(
        page["console_errors"].as_array().is_some_and(Vec::is_empty),
        "the page logged errors: {}",
        page["console_errors"]
    );
    ensure!(
        page["unlabelled"].as_array().is_some_and(Vec::is_empty),
        "controls without a label: {}",
        page["unlabelled"]
    );

    // The bad value: refused with its path, marked, and the last good result kept.
    let bad = &page["bad_change"];
    let error = bad["error"].as_str().unwrap_or_default();
    ensure!(
        error.starts_with("quality.gopher.min_doc_words: expected integer"),
        "bad value error: {error:?}"
    );
    ensure!(
        bad["invalid"] == "true" && bad["raw_unchanged"] == true,
        "{bad}"
    );

    // The exported configs: what the page holds, and accepted by `tamis` unchanged.
    let expected = expected_config()?;
    for (key, format) in [
        ("exported_toml", ConfigFormat::Toml),
        ("exported_yaml", ConfigFormat::Yaml),
    ] {
        let path = PathBuf::from(page[key].as_str().context("exported config")?);
        let text = std::fs::read_to_string(&path)?;
        ensure!(
            Config::parse(&text, format)? == expected,
            "{key} is not the page's config:\n{text}"
        );
        tamis(&["check".as_ref(), path.as_os_str()])?;
        // The edge reads its config from TAMIS_CONFIG, inline TOML or JSON.
        if format == ConfigFormat::Toml {
            let edge = tamis_edge::settings::Settings::from_lookup(|name| {
                (name == tamis_edge::settings::CONFIG_VAR).then(|| text.clone())
            });
            ensure!(
                edge.config.as_ref().is_ok_and(|c| *c == expected),
                "the edge refuses or misreads the exported TOML: {:?}",
                edge.config.err()
            );
        }
    }
    ensure!(page["import_round_trip"] == true, "import did not restore");
    let config = PathBuf::from(page["exported_toml"].as_str().unwrap_or_default());

    // The pasted document: the page showed exactly what the host writes.
    let host = run_native(&config, &doc_file, &work.path().join("doc-out"))?;
    let (part, record) = host
        .iter()
        .flat_map(|(part, records)| records.iter().map(move |r| (part, r)))
        .next()
        .context("the host wrote no record")?;
    let after = &page["after"];
    ensure_shown_like_host(after, part, record)?;
    ensure!(
        page["before"]["reason"] != after["reason"],
        "the changes did not re-judge: the reason is still {}",
        after["reason"]
    );

    // The file: the same totals and drop reasons as the host's run with the same config.
    let host = run_native(
        &config,
        &shared_data("web/dev.jsonl.gz"),
        &work.path().join("file-out"),
    )?;
    let count = |part: &str| host.get(part).map_or(0, Vec::len);
    let totals = &page["file"]["totals"];
    ensure!(
        totals["kept"] == count("kept")
            && totals["dropped"] == count("dropped")
            && totals["errors"] == count("errors")
            && totals["documents"] == count("kept") + count("dropped") + count("errors"),
        "page totals {totals} vs host kept {} dropped {} errors {}",
        count("kept"),
        count("dropped"),
        count("errors")
    );
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in host.get("dropped").into_iter().flatten() {
        let check = &r["tamis"]["reason_check"];
        let key = format!(
            "{} / {}",
            check["step"].as_str().unwrap_or(""),
            check["rule"].as_str().unwrap_or("")
        );
        *reasons.entry(key).or_default() += 1;
    }
    let chart: BTreeMap<String, usize> = page["file"]["chart"]
        .as_str()
        .unwrap_or_default()
        .split("; ")
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (reason, n) = entry.rsplit_once(": ").context("chart entry")?;
            Ok((reason.to_string(), n.parse()?))
        })
        .collect::<Result<_>>()?;
    ensure!(
        chart == reasons,
        "chart {chart:?} vs host reasons {reasons:?}"
    );
    ensure!(
        page["file"]["dropped_rows"] == count("dropped"),
        "the dropped filter shows {} rows",
        page["file"]["dropped_rows"]
    );
    if page["file"]["opened"]["verdict"] != "dropped" {
        bail!("Enter on a dropped row opened {}", page["file"]["opened"]);
    }
    models.check(&page["models"])
}

/// The model files of the browser test: lid.176.ftz for the `language` step and a quality classifier
/// trained here (on the DCLM human-labelled dev documents, `__label__hq` for good ones) for
/// `quality_classifier`, with the documents the page judges with them: texts of the shared language-ID
/// data in many languages and web documents.
struct ModelCase {
    language: PathBuf,
    quality: PathBuf,
    documents: Vec<(String, String)>,
    file: PathBuf,
}

impl ModelCase {
    fn new(dir: &Path) -> Result<Self> {
        use tamis_core::fasttext::train::{Example, TrainOptions, train};
        let labelled = read_jsonl(&shared_data("quality/dclm_human_quality_dev.jsonl.gz"))?;
        let examples: Vec<Example> = labelled
            .iter()
            .map(|r| Example {
                labels: vec![if r["label"] == 1 { "hq" } else { "lq" }],
                text: r["text"].as_str().unwrap_or_default(),
            })
            .collect();
        let options = TrainOptions {
            word_ngrams: 2,
            bucket: 100_000,
            dim: 16,
            ..TrainOptions::default()
        };
        let quality = dir.join("quality.bin");
        std::fs::write(&quality, train(&examples, &options)?.to_bytes())?;
        let mut documents = Vec::new();
        for (i, r) in read_jsonl(&shared_data("langid/udhr_articles_1-3.jsonl.gz"))?
            .iter()
            .enumerate()
        {
            if i % 80 == 0 {
                documents.push((
                    r["id"].as_str().context("id")?.to_string(),
                    r["text"].as_str().context("text")?.to_string(),
                ));
            }
        }
        for r in read_jsonl(&shared_data("web/dev.jsonl.gz"))?.iter().take(6) {
            documents.push((
                r["id"].as_str().context("id")?.to_string(),
                r["text"].as_str().context("text")?.to_string(),
            ));
        }
        let file = dir.join("models.jsonl");
        let lines: String = documents
            .iter()
            .map(|(id, text)| format!("{}\n", json!({"id": id, "text": text})))
            .collect();
        std::fs::write(&file, lines)?;
        Ok(Self {
            language: tamis_tests::fasttext_ref::lid176()?,
            quality,
            documents,
            file,
        })
    }

    fn params(&self) -> Value {
        json!({
            "language": self.language,
            "quality": self.quality,
            "documents": self.documents.iter().map(|(id, text)| json!({"id": id, "text": text})).collect::<Vec<_>>(),
            "file": self.file,
        })
    }

    /// The page judged every document with both models exactly as the native core does with the config
    /// it exported and the same files: each pasted document's annotation, and the verdict, reason and
    /// language of each row of the dropped file.
    fn check(&self, shown: &Value) -> Result<()> {
        let text =
            std::fs::read_to_string(shown["config"].as_str().context("no exported config")?)?;
        let config = Config::parse(&text, ConfigFormat::Toml)?;
        let file_name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
        ensure!(config.language.model == file_name(&self.language), "{text}");
        ensure!(
            config.quality_classifier.model == file_name(&self.quality),
            "{text}"
        );
        ensure!(
            config
                .steps
                .contains(&tamis_core::StepName::QualityClassifier),
            "{text}"
        );
        let resources = tamis_core::Resources {
            language_model: Some(std::fs::read(&self.language)?),
            quality_classifier_model: Some(std::fs::read(&self.quality)?),
            ..tamis_core::Resources::default()
        };
        let pipeline = tamis_core::Pipeline::new(config, &resources)?;
        let native = |text: &str| -> Result<Value> {
            let outcome = pipeline.process(&tamis_core::Document::text("pasted", text))?;
            let wire = tamis_core::wire::to_json(&tamis_core::wire::Judgment::of(&outcome));
            Ok(serde_json::from_str::<Value>(&wire)?["tamis"].clone())
        };
        let pasted = shown["pasted"].as_array().context("nothing pasted")?;
        ensure!(pasted.len() == self.documents.len());
        let mut languages = std::collections::BTreeSet::new();
        for (entry, (id, text)) in pasted.iter().zip(&self.documents) {
            let raw: Value = serde_json::from_str(entry["raw"].as_str().context("raw")?)?;
            let expected = native(text)?;
            ensure!(
                raw["tamis"] == expected,
                "{id}: page {} vs native {expected}",
                raw["tamis"]
            );
            let code = expected["language"]["code"]
                .as_str()
                .context("no language")?;
            languages.insert(code.to_string());
            // The label and probability are on show, not only in the JSON.
            let fact = entry["facts"]["language"].as_str().unwrap_or_default();
            ensure!(
                fact.starts_with(&format!("{code} (confidence ")),
                "{id}: shown {fact:?}"
            );
            ensure!(
                entry["scores"].to_string().contains("quality_classifier"),
                "{id}: no classifier score shown: {}",
                entry["scores"]
            );
        }
        // The texts span many languages, so the comparison covers many of the model's labels.
        ensure!(languages.len() >= 10, "only {languages:?}");
        let rows = shown["rows"].as_array().context("no file rows")?;
        ensure!(rows.len() == self.documents.len());
        for (row, (id, text)) in rows.iter().zip(&self.documents) {
            let expected = native(text)?;
            ensure!(row["id"] == id.as_str(), "row {row} for {id}");
            let verdict = if expected["verdict"] == "keep" {
                "kept"
            } else {
                "dropped"
            };
            ensure!(
                row["verdict"] == verdict,
                "{id}: row {row} vs native {expected}"
            );
            ensure!(
                row["language"] == expected["language"]["code"],
                "{id}: row {row} vs native {expected}"
            );
            ensure!(
                row["reason"]
                    == expected
                        .get("reason")
                        .cloned()
                        .unwrap_or(Value::String(String::new())),
                "{id}: row {row} vs native {expected}"
            );
        }
        Ok(())
    }
}

/// The Firefox the second test drives: Debian's ESR unless `TAMIS_FIREFOX` names another.
fn firefox() -> Result<PathBuf> {
    let firefox = std::env::var_os("TAMIS_FIREFOX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/firefox-esr"));
    ensure!(
        firefox.is_file(),
        "no Firefox at {}: install it with scripts/setup-browser.sh (or point TAMIS_FIREFOX at one)",
        firefox.display()
    );
    Ok(firefox)
}

/// The page must work in Firefox too. `web-demo/tests/firefox.mjs` (puppeteer-core over WebDriver BiDi,
/// since playwright-core only drives its own patched Firefox) pastes the same document, reads what the
/// page shows with its defaults, makes the same changes as the Chromium test and reads again; both
/// states must be exactly what `tamis run --engine native` writes with the same config. The rest of the
/// page (import, export, files, speed) is browser-neutral DOM code covered by the Chromium test.
#[test]
fn the_browser_demo_judges_like_the_bulk_host_in_firefox() -> Result<()> {
    let dist = page_prerequisites("puppeteer-core")?;
    let firefox = firefox()?;
    let artifacts = target_dir().join("artifacts").join("web-demo");
    std::fs::create_dir_all(&artifacts)?;
    let work = tempfile::tempdir()?;
    let (doc_text, doc_file) = presidio_document(work.path())?;

    let params = json!({
        "dist": dist,
        "firefox": firefox,
        "artifacts": artifacts,
        "document": {"id": DOC_ID, "text": doc_text},
        "steps_off": STEPS_OFF,
        "changes": CHANGES.iter().map(|(path, value)| json!({"path": path, "value": value})).collect::<Vec<_>>(),
    });
    let params_file = work.path().join("params.json");
    std::fs::write(&params_file, params.to_string())?;
    let script = repo_root().join("web-demo/tests/firefox.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(&params_file)
        .output()
        .context("starting node")?;
    ensure!(
        out.status.success(),
        "the Firefox script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value = serde_json::from_str(&std::fs::read_to_string(
        artifacts.join("firefox-result.json"),
    )?)?;
    ensure!(
        page["console_errors"].as_array().is_some_and(Vec::is_empty),
        "the page logged errors in Firefox: {}",
        page["console_errors"]
    );
    ensure!(
        page["config_error"] == "",
        "the page refused the changes in Firefox: {}",
        page["config_error"]
    );

    // With the page's defaults, then after the changes: each time what the host writes.
    let page_default = Config {
        evaluate_all: true,
        ..Config::default()
    };
    for (state, config) in [("before", page_default), ("after", expected_config()?)] {
        let config_file = work.path().join(format!("{state}.toml"));
        std::fs::write(&config_file, config.render(ConfigFormat::Toml)?)?;
        let host = run_native(&config_file, &doc_file, &work.path().join(state))?;
        let (part, record) = host
            .iter()
            .flat_map(|(part, records)| records.iter().map(move |r| (part, r)))
            .next()
            .context("the host wrote no record")?;
        let shown = &page[state];
        ensure_shown_like_host(shown, part, record).with_context(|| format!("Firefox, {state}"))?;
        // The checks table, row by row: the host's checks in its order, marked pass or fail.
        let rows = shown["checks"].as_array().context("checks table")?;
        let checks = record["tamis"]["checks"]
            .as_array()
            .context("host checks")?;
        ensure!(
            rows.len() == checks.len(),
            "Firefox, {state}: {} check rows vs {} host checks",
            rows.len(),
            checks.len()
        );
        for (row, check) in rows.iter().zip(checks) {
            ensure!(
                row["step"] == check["step"]
                    && row["rule"] == check["rule"]
                    && row["passed"] == check["passed"],
                "Firefox, {state}: check row {row} vs host {check}"
            );
        }
        eprintln!(
            "web demo ({}), {state}: {} ({}), {} PII marks, {} checks ({} failed), as the host",
            page["browser"].as_str().unwrap_or_default(),
            shown["verdict"].as_str().unwrap_or_default(),
            shown["reason"].as_str().unwrap_or_default(),
            shown["marks"].as_array().map_or(0, Vec::len),
            rows.len(),
            shown["failed_checks"],
        );
    }
    ensure!(
        page["before"]["reason"] != page["after"]["reason"],
        "the changes did not re-judge in Firefox: the reason is still {}",
        page["after"]["reason"]
    );
    eprintln!(
        "  Firefox up and the page ready in {} ms; whole script {} ms",
        page["startup_ms"], page["total_ms"]
    );
    Ok(())
}

/// The per-document JSON (the core's wire annotation, `tamis_core::wire::Annotation`) from the four
/// runtimes, as raw bytes: `tamis run` with the sandboxed component and with the native core, the edge
/// function under `wasmtime serve`, and the browser build of the core in Chromium. Same documents, same
/// config; every document's `tamis` object must be the same bytes everywhere.
#[test]
fn per_document_json_is_byte_identical_in_host_wasm_host_native_edge_and_browser() -> Result<()> {
    use serde_json::value::RawValue;
    use tamis_tests::edge::EdgeServer;

    let pre = prerequisites()?;
    let work = tempfile::tempdir()?;
    // Real web text plus the Presidio document (personal data, non-ASCII), judged with every rule
    // evaluated so that dropped documents carry all their checks and fingerprints too.
    let mut records: Vec<Value> = read_jsonl(&shared_data("web/dev.jsonl.gz"))?
        .into_iter()
        .take(60)
        .map(|r| json!({"id": r["id"], "text": r["text"], "url": r["url"]}))
        .collect();
    let (presidio_text, _) = presidio_document(work.path())?;
    records.push(json!({"id": DOC_ID, "text": presidio_text}));
    // Raw pages too, so that main-text extraction with a non-default `favor`, its block counts and the
    // page metadata are compared across runtimes.
    records.extend(
        read_jsonl(&shared_data("html/trafilatura_eval_dev.jsonl.gz"))?
            .into_iter()
            .step_by(40)
            .map(|r| json!({"id": r["id"], "html": r["html"], "url": r["url"]})),
    );
    let jsonl: String = records.iter().map(|r| format!("{r}\n")).collect();
    let input = work.path().join("docs.jsonl");
    std::fs::write(&input, &jsonl)?;
    let mut config = Config {
        evaluate_all: true,
        ..Config::default()
    };
    config.io.html_key = Some("html".into());
    config.html.favor = tamis_core::html::Favor::Precision;
    let config_toml = config.render(ConfigFormat::Toml)?;
    let config_file = work.path().join("tamis.toml");
    std::fs::write(&config_file, &config_toml)?;

    /// `id -> raw tamis bytes` of one runtime; a repeated id is an error.
    fn collect<'a>(
        into: &mut BTreeMap<String, String>,
        entries: impl Iterator<Item = (String, &'a RawValue)>,
    ) -> Result<()> {
        for (id, raw) in entries {
            ensure!(
                into.insert(id.clone(), raw.get().to_string()).is_none(),
                "{id} twice"
            );
        }
        Ok(())
    }
    #[derive(serde::Deserialize)]
    struct Entry<'a> {
        id: String,
        #[serde(borrow)]
        tamis: Option<&'a RawValue>,
        error: Option<String>,
    }
    let entries = |text: &str| -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let entry: Entry = serde_json::from_str(line)?;
            ensure!(entry.error.is_none(), "{}: {:?}", entry.id, entry.error);
            let raw = entry.tamis.context("record without tamis")?;
            out.push((entry.id, raw.get().to_string()));
        }
        Ok(out)
    };

    let mut runtimes: Vec<(&str, BTreeMap<String, String>)> = Vec::new();
    for engine in ["wasm", "native"] {
        let out = work.path().join(engine);
        let mut command = tamis_tests::tamis_command()?;
        command.args([
            "run".as_ref(),
            config_file.as_os_str(),
            "--input".as_ref(),
            input.as_os_str(),
            "--output".as_ref(),
            out.as_os_str(),
            "--engine".as_ref(),
            engine.as_ref(),
        ]);
        let run = command.output()?;
        ensure!(
            run.status.success(),
            "tamis run --engine {engine}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let mut by_id = BTreeMap::new();
        for (path, bytes) in output_files(&out)? {
            if path.starts_with("kept/") || path.starts_with("dropped/") {
                let text = String::from_utf8(bytes)?;
                for (id, raw) in entries(&text)? {
                    ensure!(by_id.insert(id.clone(), raw).is_none(), "{id} twice");
                }
            } else {
                ensure!(
                    !path.starts_with("errors/"),
                    "{engine} wrote errors: {path}"
                );
            }
        }
        runtimes.push((
            if engine == "wasm" {
                "host wasm"
            } else {
                "host native"
            },
            by_id,
        ));
    }

    let server = EdgeServer::start(&[("TAMIS_CONFIG", config_toml.as_str())])?;
    let docs: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut doc = json!({"id": r["id"], "url": r["url"]});
            for key in ["text", "html"] {
                if !r[key].is_null() {
                    doc[key] = r[key].clone();
                }
            }
            doc
        })
        .collect();
    let body = json!({ "docs": docs }).to_string();
    let mut response = ureq::post(&server.url("/v1/clean"))
        .header("content-type", "application/json")
        .send(body.as_bytes())?;
    let answer = response
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_string()?;
    #[derive(serde::Deserialize)]
    struct Answer<'a> {
        #[serde(borrow)]
        outcomes: Vec<Entry<'a>>,
    }
    let answer: Answer = serde_json::from_str(&answer).context("the edge's answer")?;
    let mut edge = BTreeMap::new();
    collect(
        &mut edge,
        answer
            .outcomes
            .into_iter()
            .map(|e| (e.id, e.tamis.expect("judged"))),
    )?;
    runtimes.push(("edge", edge));

    let out = work.path().join("browser.json");
    let params = json!({
        "dist": pre.dist, "chromium": pre.chromium, "config_toml": config_toml,
        "jsonl": jsonl, "out": out,
    });
    let params_file = work.path().join("wire-params.json");
    std::fs::write(&params_file, params.to_string())?;
    let node = Command::new("node")
        .arg(repo_root().join("web-demo/tests/wire.mjs"))
        .arg(&params_file)
        .output()
        .context("starting node")?;
    ensure!(
        node.status.success(),
        "web-demo/tests/wire.mjs failed: {}",
        String::from_utf8_lossy(&node.stderr)
    );
    let page = std::fs::read_to_string(&out)?;
    #[derive(serde::Deserialize)]
    struct Piece<'a> {
        #[serde(borrow)]
        records: Vec<Entry<'a>>,
    }
    let piece: Piece = serde_json::from_str(&page).context("the page's JSON")?;
    let mut browser = BTreeMap::new();
    for entry in piece.records {
        ensure!(entry.error.is_none(), "{}: {:?}", entry.id, entry.error);
        collect(
            &mut browser,
            std::iter::once((entry.id.clone(), entry.tamis.context("judged")?)),
        )?;
    }
    runtimes.push(("browser", browser));

    let (reference_name, reference) = &runtimes[0];
    ensure!(
        reference.len() == records.len(),
        "{reference_name}: {} of {} documents",
        reference.len(),
        records.len()
    );
    for (name, by_id) in &runtimes[1..] {
        ensure!(
            by_id.keys().eq(reference.keys()),
            "{name} judged other documents than {reference_name}"
        );
        for (id, raw) in by_id {
            ensure!(
                raw == &reference[id],
                "{id}: {name} wrote\n{raw}\n{reference_name} wrote\n{}",
                reference[id]
            );
        }
    }
    eprintln!(
        "{} documents, byte-identical `tamis` JSON in {}",
        records.len(),
        runtimes
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
