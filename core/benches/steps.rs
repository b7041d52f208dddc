//! Throughput of each step alone and of the whole chain on real data: the web development set for the
//! text steps, Readability's test pages for `html`. Criterion prints MiB/s (input bytes per second).
//!
//! Run: `cargo bench -p tamis-core --bench steps` (the shared data is read from `../shared/data` beside
//! the repository, or from `TAMIS_SHARED_DATA`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tamis_core::{Config, Document, Pipeline, Resources};

fn data_dir() -> PathBuf {
    std::env::var_os("TAMIS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

fn read(relative: &str, field: &str) -> Vec<Document> {
    let path = data_dir().join(relative);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    BufReader::new(flate2::read::MultiGzDecoder::new(file))
        .split(b'\n')
        .map(|line| serde_json::from_slice::<serde_json::Value>(&line.unwrap()).unwrap())
        .map(|v| {
            let id = v["id"].as_str().unwrap().to_string();
            let body = v[field].as_str().unwrap_or_default().to_string();
            if field == "html" {
                Document::html(id, body)
            } else {
                Document::text(id, body)
            }
        })
        .collect()
}

fn bytes(docs: &[Document]) -> u64 {
    docs.iter()
        .map(|d| d.text.as_deref().or(d.html.as_deref()).map_or(0, str::len) as u64)
        .sum()
}

fn pipeline(steps: &str, resources: &Resources) -> Pipeline {
    let config = Config::from_toml(&format!("steps = [{steps}]\nevaluate_all = true")).unwrap();
    Pipeline::new(config, resources).unwrap()
}

fn steps(c: &mut Criterion) {
    let web = read("web/dev.jsonl.gz", "text");
    let pages = read("html/readability_test_pages.jsonl.gz", "html");
    let tokenizer =
        std::fs::read(data_dir().join("tokenizers/gpt-neox-20b-pii-special/tokenizer.json"))
            .unwrap();
    let resources = Resources {
        tokenizer_json: Some(tokenizer),
        ..Resources::default()
    };

    let mut group = c.benchmark_group("step");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes(&pages)));
    let html = pipeline("\"html\"", &resources);
    group.bench_function("html", |b| b.iter(|| html.process_batch(&pages)));

    group.throughput(Throughput::Bytes(bytes(&web)));
    for step in [
        "normalize",
        "pii",
        "gopher_repetition",
        "gopher_quality",
        "c4_quality",
        "fineweb_quality",
        "heuristics",
        "quality_score",
        "language",
        "tokens",
        "fingerprint",
    ] {
        let p = pipeline(&format!("\"{step}\""), &resources);
        group.bench_function(step, |b| b.iter(|| p.process_batch(&web)));
    }
    // The default chain of the bulk host's benchmark: the ten text steps without `tokens`.
    let default_chain = pipeline(
        "\"normalize\", \"c4_quality\", \"pii\", \"gopher_repetition\", \"gopher_quality\", \
         \"fineweb_quality\", \"heuristics\", \"quality_score\", \"language\", \"fingerprint\"",
        &resources,
    );
    group.bench_function("default_chain", |b| {
        b.iter(|| default_chain.process_batch(&web))
    });
    let chain = pipeline(
        "\"normalize\", \"gopher_repetition\", \"gopher_quality\", \"c4_quality\", \"fineweb_quality\", \
         \"heuristics\", \"quality_score\", \"language\", \"pii\", \"tokens\", \"fingerprint\"",
        &resources,
    );
    group.bench_function("whole_chain", |b| b.iter(|| chain.process_batch(&web)));
    group.finish();
}

criterion_group!(benches, steps);
criterion_main!(benches);
