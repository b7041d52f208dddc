//! `tamis bench`: throughput of the native and the wasm engine on the same documents, in one process and one
//! run, so their ratio is measured under the same machine load. Reads and parses the input once, outside
//! the timed part; times only the judging.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Result;
use tamis_core::Document;

use crate::engine::{EngineFactory, Judgment};

#[derive(Debug, Clone)]
pub struct Measurement {
    pub engine: &'static str,
    pub workers: usize,
    pub seconds: f64,
    pub docs: usize,
    pub bytes: u64,
}

impl Measurement {
    pub fn docs_per_second(&self) -> f64 {
        self.docs as f64 / self.seconds
    }

    pub fn mb_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds
    }
}

/// Judges every document with `workers` engines, each taking the next batch as it frees up; returns the
/// timing and the judgments in input order.
pub fn measure(
    factory: &EngineFactory,
    docs: &[Document],
    workers: usize,
    batch_size: usize,
    repeat: usize,
) -> Result<(Measurement, Vec<Judgment>)> {
    let bytes: u64 = docs
        .iter()
        .map(|d| d.text.as_ref().or(d.html.as_ref()).map_or(0, |t| t.len()) as u64)
        .sum();
    let batches: Vec<&[Document]> = docs.chunks(batch_size.max(1)).collect();
    // Engines are started (instantiated and configured) before the clock starts.
    let mut engines = (0..workers)
        .map(|_| factory.start())
        .collect::<Result<Vec<_>>>()?;
    let next = AtomicUsize::new(0);
    let total = batches.len() * repeat.max(1);
    let started = Instant::now();
    let mut results: Vec<Vec<(usize, Vec<Judgment>)>> = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = engines
            .iter_mut()
            .map(|engine| {
                let next = &next;
                let batches = &batches;
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total {
                            break;
                        }
                        let judged = engine.process(batches[i % batches.len()]).judgments;
                        if i < batches.len() {
                            mine.push((i, judged));
                        }
                    }
                    mine
                })
            })
            .collect();
        for handle in handles {
            results.push(handle.join().unwrap_or_default());
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut ordered: Vec<(usize, Vec<Judgment>)> = results.into_iter().flatten().collect();
    ordered.sort_by_key(|(i, _)| *i);
    let judgments = ordered.into_iter().flat_map(|(_, j)| j).collect();
    Ok((
        Measurement {
            engine: factory.kind().as_str(),
            workers,
            seconds,
            docs: docs.len() * repeat.max(1),
            bytes: bytes * repeat.max(1) as u64,
        },
        judgments,
    ))
}

/// Peak resident memory of this process so far, from the kernel's high-water mark (Linux only).
pub fn peak_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
