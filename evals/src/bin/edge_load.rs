//! Load benchmark of the edge function under `wasmtime serve`: a fixed number of requests, each one
//! ~10 KB HTML page built from the shared web documents, sent at a fixed concurrency. Prints requests/s,
//! p50/p99 latency, the error count and the cold start (process start to the first answer).
//!
//! Run: `cargo run --release -p tamis-evals --bin edge_load -- [--requests N] [--concurrency C]
//! [--page-bytes B] [--url http://host:port]` (with `--url`, an already running function is used and no
//! cold start is measured). Needs scripts/build.sh and scripts/install-wasmtime-cli.sh. Not a test: it
//! asserts nothing about time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tamis_tests::edge::EdgeServer;
use tamis_tests::web_documents;

struct Options {
    requests: usize,
    concurrency: usize,
    page_bytes: usize,
    url: Option<String>,
}

fn options() -> Result<Options> {
    let mut o = Options {
        requests: 400,
        concurrency: 8,
        page_bytes: 10 * 1024,
        url: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--requests" => o.requests = value.parse().context("--requests")?,
            "--concurrency" => o.concurrency = value.parse().context("--concurrency")?,
            "--page-bytes" => o.page_bytes = value.parse().context("--page-bytes")?,
            "--url" => o.url = Some(value.trim_end_matches('/').to_string()),
            other => bail!(
                "unknown option {other}; options: --requests --concurrency --page-bytes --url"
            ),
        }
    }
    if o.requests == 0 || o.concurrency == 0 {
        bail!("--requests and --concurrency must be positive");
    }
    Ok(o)
}

/// Pages of about `size` bytes of HTML: consecutive web documents as paragraphs of an article, so each
/// page is real prose that exercises the html step.
fn pages(size: usize, count: usize) -> Result<Vec<String>> {
    let docs = web_documents()?;
    let paragraphs: Vec<String> = docs
        .iter()
        .filter_map(|d| d.text.as_deref())
        .flat_map(|t| t.split('\n'))
        .filter(|p| p.split_whitespace().count() >= 8)
        .map(|p| {
            let escaped = p
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            format!("<p>{escaped}</p>\n")
        })
        .collect();
    if paragraphs.is_empty() {
        bail!("no paragraphs in the web documents");
    }
    let head = "<!DOCTYPE html><html><head><title>Page</title></head><body><nav><a href=\"/\">Home</a></nav><article>\n";
    let tail = "</article><footer>Footer</footer></body></html>\n";
    let mut out = Vec::with_capacity(count);
    let mut next = 0;
    for _ in 0..count {
        let mut page = String::from(head);
        while page.len() + tail.len() < size {
            page.push_str(&paragraphs[next % paragraphs.len()]);
            next += 1;
        }
        page.push_str(tail);
        out.push(page);
    }
    Ok(out)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = options()?;
    // Distinct pages, cycled, so the function cannot win by seeing one input.
    let pages = Arc::new(pages(o.page_bytes, 64)?);
    let mean_bytes = pages.iter().map(String::len).sum::<usize>() / pages.len();

    let mut cold = Vec::new();
    let server;
    let base = match &o.url {
        Some(url) => url.clone(),
        None => {
            // Cold start without the compilation cache (the component compiled from scratch), then the
            // server that takes the load, which may start from the cache the first one filled.
            let uncached = tokio::task::spawn_blocking(|| {
                EdgeServer::start_with_args(&["-C", "cache=n"], &[])
            })
            .await??;
            cold.push(("cold start, compilation cache off", uncached.cold_start));
            drop(uncached);
            server = tokio::task::spawn_blocking(|| EdgeServer::start(&[])).await??;
            cold.push(("cold start, compilation cache on", server.cold_start));
            server.url("")
        }
    };
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/clean");

    // First successful clean after the server answered health: the first request pays the instance's
    // pipeline build like every other, so it shows the per-request floor without concurrency.
    let first = Instant::now();
    let status = client
        .post(&url)
        .header("content-type", "text/html")
        .body(pages[0].clone())
        .send()
        .await?
        .status();
    let first = first.elapsed();
    if !status.is_success() {
        bail!("the first request failed with {status}");
    }

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..o.concurrency {
        let (client, url, pages, next) = (client.clone(), url.clone(), pages.clone(), next.clone());
        let requests = o.requests;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let sent = Instant::now();
                let result = client
                    .post(&url)
                    .header("content-type", "text/html")
                    .header("x-tamis-id", format!("load-{i}"))
                    .body(pages[i % pages.len()].clone())
                    .send()
                    .await;
                let ok = match result {
                    Ok(response) => {
                        let ok = response.status().is_success();
                        ok && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                if ok {
                    latencies.push(sent.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (l, e) = worker.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort();

    println!(
        "edge_load: {} requests of ~{} bytes (text/html, one page each) at concurrency {}",
        o.requests, mean_bytes, o.concurrency
    );
    for (what, d) in &cold {
        println!("  {what}: {:.2} s", d.as_secs_f64());
    }
    println!(
        "  first clean request after start: {:.1} ms",
        first.as_secs_f64() * 1e3
    );
    println!(
        "  throughput: {:.1} requests/s ({} ok, {} errors) in {:.2} s",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        latencies.len(),
        errors,
        elapsed.as_secs_f64()
    );
    println!(
        "  latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    Ok(())
}
