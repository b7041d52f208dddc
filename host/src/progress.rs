//! Progress while a run works: a bar with documents, MB/s and ETA on a terminal, a log line every few
//! seconds otherwise (CI logs, cluster job logs).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Counters the workers bump and the reporter reads.
#[derive(Default)]
pub struct Counters {
    pub docs: AtomicU64,
    pub bytes: AtomicU64,
    /// Compressed input bytes consumed, against the total size of the inputs, for the ETA.
    pub input_read: Arc<AtomicU64>,
}

pub struct Reporter {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Reporter {
    pub fn start(counters: Arc<Counters>, input_total: u64, quiet: bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = if quiet {
            None
        } else {
            let stop = stop.clone();
            Some(std::thread::spawn(move || {
                report(counters, input_total, stop)
            }))
        };
        Self { stop, handle }
    }

    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn report(counters: Arc<Counters>, input_total: u64, stop: Arc<AtomicBool>) {
    let started = Instant::now();
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(input_total.max(1));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg} ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            bar.set_position(counters.input_read.load(Ordering::Relaxed).min(input_total));
            bar.set_message(line(&counters, started));
        }
        bar.finish_and_clear();
    } else {
        let mut last = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            if last.elapsed() >= Duration::from_secs(10) {
                last = Instant::now();
                let read = counters.input_read.load(Ordering::Relaxed);
                eprintln!(
                    "tamis: {} ({:.0}% of input read)",
                    line(&counters, started),
                    100.0 * read as f64 / input_total.max(1) as f64
                );
            }
        }
    }
}

fn line(counters: &Counters, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let docs = counters.docs.load(Ordering::Relaxed);
    let mb = counters.bytes.load(Ordering::Relaxed) as f64 / 1e6;
    format!(
        "{docs} docs, {:.1} MB/s, {:.0} docs/s",
        mb / secs,
        docs as f64 / secs
    )
}
