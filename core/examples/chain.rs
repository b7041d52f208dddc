//! Whole-chain throughput on one core, for profiling (`perf record -g`) and for before/after comparisons:
//! the default ten text steps (no `tokens`), `evaluate_all = true`, over the web development set, repeated.
//!
//! Run: `cargo run --release -p tamis-core --example chain -- [REPEAT] [STEPS]` (STEPS: comma-separated step
//! names; the shared data is read from `../shared/data` beside the repository, or from `TAMIS_SHARED_DATA`).
//! Prints MB/s (10^6 input bytes per second) and each step's share of the time.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::Instant;

use tamis_core::{Config, Document, Pipeline, Resources};

const DEFAULT_STEPS: &str = "normalize,c4_quality,pii,gopher_repetition,gopher_quality,fineweb_quality,\
heuristics,quality_score,language,fingerprint";

fn main() {
    let mut args = std::env::args().skip(1);
    let repeat: usize = args
        .next()
        .map_or(20, |a| a.parse().expect("REPEAT is a number"));
    let steps = args.next().unwrap_or_else(|| DEFAULT_STEPS.to_string());
    let data = std::env::var_os("TAMIS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    let path = data.join("web/dev.jsonl.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs: Vec<Document> = BufReader::new(flate2::read::MultiGzDecoder::new(file))
        .split(b'\n')
        .map(|line| serde_json::from_slice::<serde_json::Value>(&line.unwrap()).unwrap())
        .map(|v| {
            Document::text(
                v["id"].as_str().unwrap(),
                v["text"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let bytes: usize = docs
        .iter()
        .map(|d| d.text.as_deref().map_or(0, str::len))
        .sum();
    let list = steps
        .split(',')
        .map(|s| format!("\"{}\"", s.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let config = Config::from_toml(&format!("steps = [{list}]\nevaluate_all = true")).unwrap();
    let names = config.steps.clone();
    let pipeline = Pipeline::new(config, &Resources::default()).unwrap();
    let epoch = Instant::now();
    let clock = || epoch.elapsed().as_nanos() as u64;
    let mut nanos = vec![0u64; names.len()];
    let started = Instant::now();
    let mut kept = 0usize;
    for _ in 0..repeat {
        for doc in &docs {
            let outcome = pipeline.process_timed(doc, &clock, &mut nanos).unwrap();
            kept += usize::from(outcome.verdict == tamis_core::Verdict::Keep);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{} docs x {repeat}, {:.2} MB each pass, {seconds:.3} s, {:.2} MB/s, kept {}",
        docs.len(),
        bytes as f64 / 1e6,
        (bytes * repeat) as f64 / 1e6 / seconds,
        kept / repeat
    );
    let total: u64 = nanos.iter().sum();
    for (name, n) in names.iter().zip(&nanos) {
        println!(
            "  {:<18} {:5.1}%  {:7.2} MB/s",
            name.as_str(),
            100.0 * *n as f64 / total as f64,
            (bytes * repeat) as f64 / 1e6 / (*n as f64 / 1e9)
        );
    }
}
