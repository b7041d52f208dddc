//! HTML main-text extraction quality, on two sets of real pages:
//!
//! - trafilatura's evaluation pages (half of them, in the shared data), scored as trafilatura's
//!   `tests/eval_common.py` does: the share of "must appear" snippets found, the share of "must not
//!   appear" snippets absent, and their mean; reported for the tuning half, the checking half and all;
//! - Readability.js's test pages, as word-level precision/recall/F1 against its reference output.
//!
//! Run: `cargo run -p tamis-evals --release --bin eval_html [-- --favor precision|balanced|recall] [--misses]`

use anyhow::{Context, Result};
use tamis_core::html::{Extract, HtmlConfig};
use tamis_tests::eval::{Half, html_extraction_with, html_snippets, page_metadata};
use tamis_tests::shared_data;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut config = HtmlConfig::default();
    let mut show_misses = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--favor" => {
                let value = args.get(i + 1).context("--favor needs a value")?;
                config = serde_json::from_value(serde_json::json!({ "favor": value }))
                    .with_context(|| format!("--favor {value}"))?;
                i += 1;
            }
            "--misses" => show_misses = true,
            "--why" => return why_missed(&config),
            "--page" => {
                let id = args.get(i + 1).context("--page needs an id")?;
                return explain(&config, id);
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
        i += 1;
    }
    let snippets = shared_data("html/trafilatura_eval_dev.jsonl.gz");
    println!("trafilatura snippets (with found / without absent / mean):");
    for (name, half) in [
        ("tune", Half::Tune),
        ("check", Half::Check),
        ("all", Half::All),
    ] {
        let r = html_snippets(&snippets, &config, half)?;
        println!(
            "  {name:<5} {:>3} pages  {:.3} / {:.3} / {:.3}",
            r.pages,
            r.found(),
            r.absent(),
            r.mean()
        );
        if show_misses && half == Half::Tune {
            for (id, missed, present) in &r.misses {
                println!("    {id}");
                for s in missed {
                    println!("      missed  {s}");
                }
                for s in present {
                    println!("      present {s}");
                }
            }
        }
    }
    let r = html_extraction_with(
        &shared_data("html/readability_test_pages.jsonl.gz"),
        &config,
    )?;
    println!("readability test pages ({}), word-level:", r.pages);
    println!(
        "  macro  precision {:.3}  recall {:.3}  F1 {:.3}",
        r.macro_prf.precision, r.macro_prf.recall, r.macro_prf.f1
    );
    println!(
        "  micro  precision {:.3}  recall {:.3}  F1 {:.3}",
        r.micro_prf.precision, r.micro_prf.recall, r.micro_prf.f1
    );
    println!("  worst pages: {:?}", &r.worst[..r.worst.len().min(8)]);
    let m = page_metadata(&shared_data("html/readability_test_pages.jsonl.gz"))?;
    println!("page metadata vs Readability's (pages with a value / tamis has one / agree):");
    for (name, (with, found, agree)) in [
        ("author", m.author),
        ("date", m.date),
        ("site name", m.site_name),
        ("language", m.language),
    ] {
        println!("  {name:<10} {with:>3} / {found:>3} / {agree:>3}");
    }
    Ok(())
}

/// Prints every block of one page with its fate, and the page's snippets.
fn explain(config: &HtmlConfig, id: &str) -> Result<()> {
    let extractor = Extract::new(config)?;
    for file in [
        "html/trafilatura_eval_dev.jsonl.gz",
        "html/readability_test_pages.jsonl.gz",
    ] {
        for row in tamis_tests::read_jsonl(&shared_data(file))? {
            if row["id"].as_str() != Some(id) {
                continue;
            }
            let html = row["html"].as_str().context("no html")?;
            for block in extractor.explain(html).map_err(anyhow::Error::msg)? {
                let fate = block.dropped.map_or("KEEP", |d| d.name());
                let by: String = block.by.as_deref().unwrap_or("").chars().take(60).collect();
                for line in block.text.lines() {
                    let line: String = line.chars().take(100).collect();
                    println!("{fate:<13} {by:<40} {line}");
                }
            }
            println!("with: {}", row["with"]);
            println!("without: {}", row["without"]);
            return Ok(());
        }
    }
    anyhow::bail!("no page {id}")
}

/// For each missed "must appear" snippet of the tuning half, the fate of the block that held it, and a
/// count per fate.
fn why_missed(config: &HtmlConfig) -> Result<()> {
    let extractor = Extract::new(config)?;
    let path = shared_data("html/trafilatura_eval_dev.jsonl.gz");
    let report = html_snippets(&path, config, Half::Tune)?;
    let rows = tamis_tests::read_jsonl(&path)?;
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for (id, missed, _) in &report.misses {
        if missed.is_empty() {
            continue;
        }
        let row = rows
            .iter()
            .find(|r| r["id"].as_str() == Some(id))
            .context("page")?;
        let blocks = extractor
            .explain(row["html"].as_str().context("html")?)
            .map_err(anyhow::Error::msg)?;
        for snippet in missed {
            let block = blocks.iter().find(|b| {
                b.text
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .contains(snippet.as_str())
            });
            let fate = block.map_or("not in one block", |b| {
                b.dropped.map_or("kept?", |d| d.name())
            });
            let by: String = block
                .and_then(|b| b.by.as_deref())
                .unwrap_or("")
                .chars()
                .take(50)
                .collect();
            *counts.entry(fate.to_string()).or_default() += 1;
            let short: String = snippet.chars().take(50).collect();
            println!("{fate:<16} {id}  {short}  [{by}]");
        }
    }
    println!("{counts:?}");
    Ok(())
}
