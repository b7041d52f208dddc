//! The deterministic speed guard: the wasm instructions (wasmtime fuel) that building the pipeline and
//! judging real documents cost, against the budgets in tests/fuel-budget.toml.
//!
//! Timed tests on shared CI machines either flake or guard nothing; fuel is exact. A change that makes the
//! hot path do more work shows up here as a higher count, on any machine, under any load.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use tamis_tests::{repo_root, shared_data, tamis};

/// One measured case: its config, its input and how many documents of it.
struct Case {
    name: &'static str,
    /// The config; `{tokenizer}` stands for the shared GPT-NeoX `tokenizer.json` (a TOML string).
    config: &'static str,
    input: &'static str,
    limit: usize,
}

/// Every text step that needs no resource file: the chain `tamis bench` figures in the README use.
macro_rules! text_steps {
    () => {
        "\"normalize\", \"language\", \"gopher_repetition\", \"gopher_quality\", \"c4_quality\", \
         \"fineweb_quality\", \"heuristics\", \"quality_score\", \"pii\", \"fingerprint\""
    };
}

const CASES: &[Case] = &[
    Case {
        name: "default_text",
        config: concat!("evaluate_all = true\n", "steps = [", text_steps!(), "]\n"),
        input: "web/dev.jsonl.gz",
        limit: 200,
    },
    Case {
        name: "html",
        config: concat!(
            "evaluate_all = true\n",
            "steps = [\"html\", ",
            text_steps!(),
            "]\n[io]\nhtml_key = \"html\"\n"
        ),
        input: "html/readability_test_pages.jsonl.gz",
        limit: 40,
    },
    Case {
        name: "tokens",
        config: "steps = [\"tokens\"]\n[tokens]\ntokenizer = {tokenizer}\n",
        input: "web/dev.jsonl.gz",
        limit: 200,
    },
];

fn measure(case: &Case, dir: &Path) -> Result<serde_json::Value> {
    let config = dir.join(format!("{}.toml", case.name));
    let tokenizer = shared_data("tokenizers/gpt-neox-20b-pii-special/tokenizer.json");
    let tokenizer = toml::Value::String(tokenizer.display().to_string()).to_string();
    std::fs::write(&config, case.config.replace("{tokenizer}", &tokenizer))
        .with_context(|| format!("writing {}", config.display()))?;
    let limit = case.limit.to_string();
    let input = shared_data(case.input);
    let output = tamis(&[
        "bench".as_ref(),
        config.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--limit".as_ref(),
        limit.as_ref(),
        "--fuel".as_ref(),
    ])
    .with_context(|| format!("{}: starting tamis", case.name))?;
    ensure!(
        output.status.success(),
        "tamis bench --fuel ({}) failed: {}",
        case.name,
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "{}: not JSON: {}",
            case.name,
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    ensure!(
        report["documents"] == case.limit,
        "{}: measured {} documents, expected {}",
        case.name,
        report["documents"],
        case.limit
    );
    Ok(report)
}

#[test]
fn fuel_of_building_and_judging_stays_within_budget() -> Result<()> {
    let budget_path = repo_root().join("tests").join("fuel-budget.toml");
    let budget: toml::Table = std::fs::read_to_string(&budget_path)
        .with_context(|| format!("reading {}", budget_path.display()))?
        .parse()
        .context("tests/fuel-budget.toml")?;
    let tolerance = budget["tolerance"].as_float().context("tolerance")?;
    let dir = tempfile::tempdir()?;
    let mut over = Vec::new();
    let mut under = Vec::new();
    for case in CASES {
        let report = measure(case, dir.path())?;
        let section = budget
            .get(case.name)
            .and_then(|s| s.as_table())
            .with_context(|| format!("no [{}] in tests/fuel-budget.toml", case.name))?;
        for key in ["setup_fuel", "judge_fuel"] {
            let measured = report[key]
                .as_u64()
                .with_context(|| format!("{}: no {key}", case.name))?;
            ensure!(
                measured > 0,
                "{}: {key} is 0: nothing was metered",
                case.name
            );
            let allowed = section
                .get(key)
                .and_then(|v| v.as_integer())
                .with_context(|| format!("[{}] has no {key}", case.name))?
                as f64;
            let line = format!("[{}] {key} = {measured} (budget {allowed})", case.name);
            eprintln!("{line}");
            if measured as f64 > allowed * (1.0 + tolerance) {
                over.push(line);
            } else if (measured as f64) < allowed * (1.0 - 2.0 * tolerance) {
                under.push(line);
            }
        }
    }
    ensure!(
        over.is_empty(),
        "the core now does more work than its budget allows (+{:.0} %): {over:?}. If the cost is \
         intended, set these figures in tests/fuel-budget.toml and say why in the commit.",
        tolerance * 100.0
    );
    ensure!(
        under.is_empty(),
        "the core is cheaper than its budget: {under:?}; lower the budget in tests/fuel-budget.toml to \
         these figures so the gain is kept."
    );
    Ok(())
}
