//! `tamis report RUN_DIR`: what a run did, as one self-contained page (`report.html`) and a Hugging Face
//! dataset card (`README.md`) beside it.
//!
//! The report reads what the run wrote and nothing else: `stats.json` (the accounting), `.tamis/run.json`
//! (the config the run was judged with), and every kept, dropped and error record, once, in a streaming
//! pass ([`scan`]). When the outputs of `tamis dedup` and `tamis decontaminate` are given (or found beside
//! the run), their `stats.json` adds the cluster sizes and the benchmark hits. The page has the funnel
//! (docs in to kept, per step, per reason, per source), histograms of lengths, tokens, the quality score
//! and every check against its threshold, languages, personal data by kind, a sample of kept and dropped
//! records with their reasons, and issues and recommendations computed from those numbers ([`advice`]).
//!
//! Memory is bounded (binned distributions and a fixed-size sample, whatever the number of records) and the
//! output is deterministic: the same run directory gives the same bytes (nothing in it depends on the
//! clock, the machine or the number of threads).

pub mod advice;
pub mod card;
pub mod chart;
pub mod distribution;
pub mod html;
pub mod scan;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;
use tamis_core::{Config, ConfigFormat};

pub use scan::Class;

/// What to report on and where to write it.
#[derive(Debug, Clone)]
pub struct Options {
    pub run: PathBuf,
    /// Where report.html and README.md go (the run directory by default).
    pub output: PathBuf,
    /// The output directory of `tamis dedup`, when known.
    pub dedup: Option<PathBuf>,
    /// The output directory of `tamis decontaminate`, when known.
    pub decontaminate: Option<PathBuf>,
    /// Look for dedup and decontamination outputs beside the run when they are not given.
    pub discover: bool,
    /// The card's `license` (an SPDX id in lower case as the Hub writes them, or `other`).
    pub license: String,
    /// The card's title.
    pub name: String,
    pub text_key: String,
    pub id_key: String,
    pub threads: usize,
}

/// Records of each class shown on the samples page.
const SAMPLES: usize = 12;
/// Characters of each sample's text shown.
const EXCERPT_CHARS: usize = 600;
/// The sample's seed: fixed, so a report is the same bytes every time.
const SAMPLE_SEED: u64 = 0x7461_6d69_735f_7270;

/// One step of `stats.json`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StepCount {
    pub step: String,
    pub docs_in: u64,
    pub dropped: u64,
    #[serde(default)]
    pub reasons: BTreeMap<String, u64>,
}

/// `stats.json` of `tamis run`, as far as the report reads it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunStats {
    pub docs_in: u64,
    pub kept: u64,
    pub dropped: u64,
    pub errors: u64,
    #[serde(default)]
    pub steps: Vec<StepCount>,
    #[serde(default)]
    pub errors_by_kind: BTreeMap<String, u64>,
}

/// What `tamis dedup` reported.
#[derive(Debug, Clone, Default)]
pub struct DedupFacts {
    pub dir: PathBuf,
    pub docs_in: u64,
    pub kept: u64,
    pub dropped: u64,
    pub errors: u64,
    pub dropped_by_reason: BTreeMap<String, u64>,
    pub clusters: u64,
    pub documents_in_clusters: u64,
    /// Cluster size bucket ("2", "3", "4-7", ...) -> clusters, in increasing size.
    pub size_histogram: Vec<(String, u64)>,
    pub paragraphs_removed: u64,
}

/// What `tamis decontaminate` reported.
#[derive(Debug, Clone, Default)]
pub struct DecontaminateFacts {
    pub dir: PathBuf,
    pub docs_in: u64,
    pub kept: u64,
    pub dropped: u64,
    pub errors: u64,
    pub contaminated: u64,
    pub by_benchmark: BTreeMap<String, u64>,
    pub ngram: u64,
    /// The first matches of report.jsonl: (document id, benchmark, item, span).
    pub examples: Vec<(String, String, String, String)>,
}

/// Everything the page and the card are made of.
pub struct Facts {
    pub name: String,
    pub license: String,
    pub stats: Option<RunStats>,
    pub config: Option<Config>,
    pub scan: scan::Scan,
    /// (source folder, class) -> file extension -> files.
    pub layout: BTreeMap<(String, Class), BTreeMap<String, u64>>,
    /// Temporary files of unfinished shards.
    pub unfinished: u64,
    pub dedup: Option<DedupFacts>,
    pub decontaminate: Option<DecontaminateFacts>,
    pub issues: Vec<advice::Issue>,
}

/// One row of the funnel: a step, what reached it, what it dropped (by rule) and what was left.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelStep {
    pub step: String,
    pub docs_in: u64,
    pub dropped: u64,
    pub left: u64,
    /// Rule -> drops, most first.
    pub reasons: Vec<(String, u64)>,
}

impl Facts {
    /// The run's totals: from stats.json when the run wrote it, else from the records.
    pub fn totals(&self) -> (u64, u64, u64, u64) {
        match &self.stats {
            Some(s) => (s.docs_in, s.kept, s.dropped, s.errors),
            None => {
                let t = &self.scan.total;
                (t.docs_in, t.kept, t.dropped, t.errors)
            }
        }
    }

    /// The funnel step by step: `left` starts at the documents judged (docs in less errors) and loses each
    /// step's drops; the last `left` is the kept count.
    pub fn funnel(&self) -> Vec<FunnelStep> {
        let (docs_in, _, _, errors) = self.totals();
        let mut left = docs_in - errors.min(docs_in);
        let mut rows = Vec::new();
        let steps: Vec<StepCount> = match &self.stats {
            Some(s) if !s.steps.is_empty() => s.steps.clone(),
            _ => {
                // From the records: the steps in the config's order, then any other in name order.
                let mut by_step: BTreeMap<String, StepCount> = BTreeMap::new();
                for ((step, rule), n) in &self.scan.total.reasons {
                    let e = by_step.entry(step.clone()).or_insert_with(|| StepCount {
                        step: step.clone(),
                        ..Default::default()
                    });
                    e.dropped += n;
                    *e.reasons.entry(rule.clone()).or_default() += n;
                }
                let mut ordered = Vec::new();
                if let Some(config) = &self.config {
                    for s in &config.steps {
                        ordered.push(by_step.remove(s.as_str()).unwrap_or(StepCount {
                            step: s.as_str().to_string(),
                            ..Default::default()
                        }));
                    }
                }
                ordered.extend(by_step.into_values());
                ordered
            }
        };
        for s in steps {
            let reached = left;
            left = left.saturating_sub(s.dropped);
            let mut reasons: Vec<(String, u64)> = s.reasons.into_iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            rows.push(FunnelStep {
                step: s.step,
                docs_in: if s.docs_in > 0 { s.docs_in } else { reached },
                dropped: s.dropped,
                left,
                reasons,
            });
        }
        rows
    }

    /// Drops by (step, rule), most first: from stats.json when there, else from the records.
    pub fn reasons(&self) -> Vec<((String, String), u64)> {
        let mut out: Vec<((String, String), u64)> = match &self.stats {
            Some(s) if !s.steps.is_empty() => s
                .steps
                .iter()
                .flat_map(|st| {
                    st.reasons
                        .iter()
                        .map(|(r, n)| ((st.step.clone(), r.clone()), *n))
                })
                .collect(),
            _ => self
                .scan
                .total
                .reasons
                .iter()
                .map(|(k, n)| (k.clone(), *n))
                .collect(),
        };
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// What `report` wrote.
pub struct Written {
    pub html: PathBuf,
    pub html_bytes: usize,
    pub card: PathBuf,
    pub card_bytes: usize,
    pub facts_docs: u64,
    pub issues: usize,
}

/// Reads the run (and the stages found or given), writes report.html and README.md.
pub fn report(options: &Options) -> Result<Written> {
    let run = &options.run;
    if !run.is_dir() {
        bail!(
            "{} is not a directory: give the output directory of a `tamis run`",
            run.display()
        );
    }
    let stats = read_json::<RunStats>(&run.join("stats.json"))?;
    let config = read_config(&run.join(".tamis").join("run.json"))?;
    let (files, unfinished) = scan::discover(run)?;
    if files.is_empty() && stats.is_none() {
        bail!(
            "{} holds no stats.json and no kept/, dropped/ or errors/ records: is it the output of `tamis run`?",
            run.display()
        );
    }
    let scan = scan::scan(
        &files,
        &scan::Options {
            text_key: options.text_key.clone(),
            id_key: options.id_key.clone(),
            samples: SAMPLES,
            seed: SAMPLE_SEED,
            excerpt_chars: EXCERPT_CHARS,
            threads: options.threads,
        },
    )?;
    let dedup = match &options.dedup {
        Some(dir) => Some(read_dedup(dir)?.with_context(|| {
            format!(
                "--dedup {}: no stats.json of a finished `tamis dedup`",
                dir.display()
            )
        })?),
        None if options.discover => find_beside(run, read_dedup)?,
        None => None,
    };
    let decontaminate = match &options.decontaminate {
        Some(dir) => Some(read_decontaminate(dir)?.with_context(|| {
            format!(
                "--decontaminate {}: no stats.json of a finished `tamis decontaminate`",
                dir.display()
            )
        })?),
        None if options.discover => find_beside(run, read_decontaminate)?,
        None => None,
    };
    let mut facts = Facts {
        name: options.name.clone(),
        license: options.license.clone(),
        stats,
        config,
        layout: scan::layout(&files),
        scan,
        unfinished,
        dedup,
        decontaminate,
        issues: Vec::new(),
    };
    facts.issues = advice::issues(&facts);
    let page = html::render(&facts)?;
    let card = card::render(&facts)?;
    std::fs::create_dir_all(&options.output)
        .with_context(|| format!("creating {}", options.output.display()))?;
    let html_path = options.output.join("report.html");
    let card_path = options.output.join("README.md");
    crate::output::write_atomically(&html_path, page.as_bytes())?;
    crate::output::write_atomically(&card_path, card.as_bytes())?;
    Ok(Written {
        html: html_path,
        html_bytes: page.len(),
        card: card_path,
        card_bytes: card.len(),
        facts_docs: facts.totals().0,
        issues: facts.issues.len(),
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not the JSON tamis writes", path.display()))?;
    Ok(Some(value))
}

/// The config of the run, normalized (every default filled in), from `.tamis/run.json`.
fn read_config(path: &Path) -> Result<Option<Config>> {
    let Some(manifest) = read_json::<Value>(path)? else {
        return Ok(None);
    };
    let Some(config) = manifest.get("config") else {
        bail!("{}: no `config` in the run manifest", path.display());
    };
    let config = Config::parse(&config.to_string(), ConfigFormat::Json)
        .map_err(|e| anyhow::anyhow!("{}: the run's config: {e}", path.display()))?;
    Ok(Some(config))
}

fn u64_at(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn counts_at(v: &Value, key: &str) -> BTreeMap<String, u64> {
    v.get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// The dedup facts of `dir`, when it holds the stats.json of a finished `tamis dedup`.
fn read_dedup(dir: &Path) -> Result<Option<DedupFacts>> {
    let Some(stats) = read_json::<Value>(&dir.join("stats.json"))? else {
        return Ok(None);
    };
    let Some(clusters) = stats.get("clusters") else {
        return Ok(None);
    };
    let mut size_histogram: Vec<(String, u64)> =
        counts_at(clusters, "size_histogram").into_iter().collect();
    // "2", "3", "4-7", "8-15": by the first number, not as text.
    size_histogram.sort_by_key(|(k, _)| {
        k.split('-')
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    });
    Ok(Some(DedupFacts {
        dir: dir.to_path_buf(),
        docs_in: u64_at(&stats, "docs_in"),
        kept: u64_at(&stats, "kept"),
        dropped: u64_at(&stats, "dropped"),
        errors: u64_at(&stats, "errors"),
        dropped_by_reason: counts_at(&stats, "dropped_by_reason"),
        clusters: u64_at(clusters, "clusters"),
        documents_in_clusters: u64_at(clusters, "documents_in_clusters"),
        size_histogram,
        paragraphs_removed: u64_at(clusters, "paragraphs_removed"),
    }))
}

/// Matches shown from report.jsonl.
const CONTAMINATION_EXAMPLES: usize = 10;

/// The decontamination facts of `dir`, when it holds the stats.json of a finished `tamis decontaminate`.
fn read_decontaminate(dir: &Path) -> Result<Option<DecontaminateFacts>> {
    let Some(stats) = read_json::<Value>(&dir.join("stats.json"))? else {
        return Ok(None);
    };
    if stats.get("contaminated").is_none() || stats.get("by_benchmark").is_none() {
        return Ok(None);
    }
    let mut examples = Vec::new();
    let report = dir.join("report.jsonl");
    if report.is_file() {
        use std::io::BufRead;
        let file = std::fs::File::open(&report)
            .with_context(|| format!("opening {}", report.display()))?;
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            if examples.len() >= CONTAMINATION_EXAMPLES {
                break;
            }
            let line = line.with_context(|| format!("reading {}", report.display()))?;
            let v: Value = serde_json::from_str(&line)
                .with_context(|| format!("{} line {}: not JSON", report.display(), i + 1))?;
            let s = |k: &str| {
                v.get(k)
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .unwrap_or_default()
            };
            examples.push((s("id"), s("benchmark"), s("item"), s("span")));
        }
    }
    Ok(Some(DecontaminateFacts {
        dir: dir.to_path_buf(),
        docs_in: u64_at(&stats, "docs_in"),
        kept: u64_at(&stats, "kept"),
        dropped: u64_at(&stats, "dropped"),
        errors: u64_at(&stats, "errors"),
        contaminated: u64_at(&stats, "contaminated"),
        by_benchmark: counts_at(&stats, "by_benchmark"),
        ngram: u64_at(&stats, "ngram"),
        examples,
    }))
}

/// The first folder beside the run (in name order) that `read` recognizes.
fn find_beside<T>(run: &Path, read: fn(&Path) -> Result<Option<T>>) -> Result<Option<T>> {
    let run = std::fs::canonicalize(run).with_context(|| format!("resolving {}", run.display()))?;
    let Some(parent) = run.parent() else {
        return Ok(None);
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(parent)
        .with_context(|| format!("listing {}", parent.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && *p != run)
        .collect();
    dirs.sort();
    for dir in dirs {
        // A folder that is not a stage's output (or that we may not read) is simply not one.
        if let Ok(Some(found)) = read(&dir) {
            return Ok(Some(found));
        }
    }
    Ok(None)
}
