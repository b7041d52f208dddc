//! `tamis sample`: stage 1 of the two-stage flow. Draws a weighted, reproducible sample of raw sources in
//! one streaming pass per source and writes `RAW/<source>/raw_data.jsonl.gz`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};
use tamis_core::config::{SampleConfig, SampleSource};

use crate::input::{self, ByteCounter};
use crate::shard::Shard;

/// Splits `target` over the sources in proportion to their weights so the counts add up to `target`
/// exactly: floors first, then the remaining units to the largest fractional parts (ties to the earlier
/// source), the largest remainder method.
pub fn plan_counts(target: u64, weights: &[f64]) -> Vec<u64> {
    let total: f64 = weights.iter().sum();
    if weights.is_empty() || total <= 0.0 {
        return vec![0; weights.len()];
    }
    let quotas: Vec<f64> = weights.iter().map(|w| target as f64 * w / total).collect();
    let mut counts: Vec<u64> = quotas.iter().map(|q| q.floor() as u64).collect();
    let assigned: u64 = counts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = quotas[a] - quotas[a].floor();
        let fb = quotas[b] - quotas[b].floor();
        fb.partial_cmp(&fa)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    for &i in order
        .iter()
        .cycle()
        .take(target.saturating_sub(assigned) as usize)
    {
        counts[i] += 1;
    }
    counts
}

/// Which part of `tamis sample` a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// Draw, then merge every source whose draws are all done.
    All,
    /// Each input file's candidates: its records with the smallest keys (splits with `--shard`).
    Draw,
    /// Each source's sample from its files' candidates (one task).
    Merge,
}

/// The sample is a bottom-k sample: every record gets a pseudo-random key from the seed, the source and
/// where the record is, and a source's sample is its `count` records with the smallest keys. That is a
/// uniform sample without replacement, as a reservoir's is, and it splits: the smallest keys of a
/// source are among the smallest keys of each of its files, so each file is drawn on its own (one
/// task per share of the files) and the merge keeps the smallest of the candidates. The sample does not
/// depend on how the files were split over tasks. Returns whether every source is sampled.
pub fn sample(
    config: &SampleConfig,
    base: &Path,
    out: &Path,
    stage: Stage,
    shard: Shard,
    quiet: bool,
) -> Result<bool> {
    if config.datasets.is_empty() {
        bail!(
            "sample: the config lists no datasets under [sample] (`[[sample.datasets]]` with name, path, weight)"
        );
    }
    if config.target_samples == 0 {
        bail!("sample.target_samples: expected a positive number of samples, got 0");
    }
    let weights: Vec<f64> = config.datasets.iter().map(|d| d.weight).collect();
    let counts = plan_counts(config.target_samples, &weights);
    let sources: Vec<Vec<input::InputFile>> = config
        .datasets
        .iter()
        .map(|d| source_files(d, base))
        .collect::<Result<_>>()?;
    bind(config, out, &sources)?;
    // With an object store output, each draw is uploaded once written (the task that merges looks for every
    // draw in the store); the rest is pushed when the command ends.
    let mirror = crate::remote::mirror();
    let push = |path: &Path| -> Result<()> {
        match mirror {
            Some(m) => m.push(&[path.to_path_buf()]),
            None => Ok(()),
        }
    };
    let sampled = |source: &SampleSource| -> Result<bool> {
        let target = out.join(&source.name).join("raw_data.jsonl.gz");
        Ok(target.is_file()
            || match mirror {
                Some(m) => m.has(&format!("{}/raw_data.jsonl.gz", source.name))?,
                None => false,
            })
    };

    if !quiet && stage != Stage::Draw && !shard.is_split() {
        eprintln!("{:<24} {:>10} {:>8}", "source", "count", "percent");
        for (d, c) in config.datasets.iter().zip(&counts) {
            eprintln!(
                "{:<24} {:>10} {:>7.2}%",
                d.name,
                c,
                100.0 * *c as f64 / config.target_samples as f64
            );
        }
        eprintln!(
            "{:<24} {:>10} {:>7.2}%",
            "total",
            counts.iter().sum::<u64>(),
            100.0
        );
    }
    let target = |source: &SampleSource| out.join(&source.name).join("raw_data.jsonl.gz");
    if stage != Stage::Merge {
        // Units are (source, file) in order; this task draws its share of them.
        let mut unit = 0usize;
        for (index, (source, files)) in config.datasets.iter().zip(&sources).enumerate() {
            for (number, file) in files.iter().enumerate() {
                let ours = shard.takes(unit);
                unit += 1;
                let part = part_path(out, source, number);
                if !ours || part.is_file() || sampled(source)? {
                    continue;
                }
                let seed = source_seed(config.seed, index as u64, &source.name);
                let drawn = draw_file(source, file, number, counts[index], seed)?;
                write_part(&part, &drawn)?;
                push(&part)?;
                if !quiet {
                    eprintln!(
                        "{}: {} drew {} candidates of {} records",
                        source.name,
                        file.relative.display(),
                        drawn.candidates.len(),
                        drawn.records
                    );
                }
            }
        }
    }
    if stage == Stage::Draw {
        return Ok(false);
    }
    // The other tasks' draws.
    crate::remote::refresh()?;
    let mut complete = true;
    for (source, (files, &count)) in config.datasets.iter().zip(sources.iter().zip(&counts)) {
        let target = target(source);
        if sampled(source)? {
            if !quiet {
                eprintln!(
                    "{}: already sampled in {}, skipped",
                    source.name,
                    target.display()
                );
            }
            continue;
        }
        let parts: Vec<PathBuf> = (0..files.len())
            .map(|n| part_path(out, source, n))
            .collect();
        if let Some(missing) = parts.iter().position(|p| !p.is_file()) {
            if stage == Stage::Merge {
                bail!(
                    "sample source {}: {} is not drawn yet (run `tamis sample --stage draw` for every share first)",
                    source.name,
                    files[missing].path.display()
                );
            }
            // Another task's share: the task that draws the last file merges.
            complete = false;
            continue;
        }
        let (chosen, seen) = merge(source, &parts, count)?;
        write_source(&target, source, config.target_samples, &chosen)?;
        if !quiet {
            eprintln!(
                "{}: {} of {} records -> {}",
                source.name,
                chosen.len(),
                seen,
                target.display()
            );
        }
    }
    Ok(complete)
}

/// The files of a source: its paths (relative to the config's folder) expanded.
pub fn source_files(source: &SampleSource, base: &Path) -> Result<Vec<input::InputFile>> {
    let specs: Vec<String> = source
        .path
        .iter()
        .map(|p| {
            if Path::new(p).is_absolute() || crate::remote::is_remote(p) {
                p.clone()
            } else {
                base.join(p).display().to_string()
            }
        })
        .collect();
    input::discover(&specs).with_context(|| format!("sample source {}", source.name))
}

/// A drawn record: its 0-based index among the source's records, and its bytes.
type Chosen = (u64, Vec<u8>);

/// Binds the output folder to the draw (the sample config and the sources' files), so a resumed or
/// sharded draw never mixes candidates of two configs.
fn bind(config: &SampleConfig, out: &Path, sources: &[Vec<input::InputFile>]) -> Result<()> {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq)]
    struct Manifest {
        sample: Value,
        files: Vec<Vec<input::InputIdentity>>,
    }
    let manifest = Manifest {
        sample: serde_json::to_value(config)?,
        files: sources
            .iter()
            .map(|files| files.iter().map(input::InputFile::identity).collect())
            .collect::<Result<_>>()?,
    };
    crate::job::bind_output(
        &out.join(".tamis").join("sample").join("run.json"),
        &manifest,
        || {
            format!(
                "{} holds a sample drawn with another [sample] config or other source files; choose another \
                 sample.output, or delete it to start over",
                out.display()
            )
        },
    )
}

/// The draw of one source's file `number`: its candidates in `.tamis/sample/<source>/`.
fn part_path(out: &Path, source: &SampleSource, number: usize) -> PathBuf {
    out.join(".tamis")
        .join("sample")
        .join(&source.name)
        .join(format!("{number:06}.jsonl.gz"))
}

/// A source's key seed: the sample's seed, the source's place and its name, so adding a source does
/// not change the others' samples.
fn source_seed(seed: u64, index: u64, name: &str) -> u64 {
    let mut bytes = Vec::with_capacity(16 + name.len());
    bytes.extend_from_slice(&seed.to_le_bytes());
    bytes.extend_from_slice(&index.to_le_bytes());
    bytes.extend_from_slice(name.as_bytes());
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

/// The key of record `ordinal` of file `number`: uniform in u64 for a fixed source seed.
fn key(seed: u64, number: usize, ordinal: u64) -> u64 {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(number as u64).to_le_bytes());
    bytes[8..].copy_from_slice(&ordinal.to_le_bytes());
    xxhash_rust::xxh3::xxh3_64_with_seed(&bytes, seed)
}

/// One candidate of a file's draw.
#[derive(serde::Serialize, serde::Deserialize)]
struct Candidate {
    key: u64,
    /// Its 0-based index among the file's records.
    ordinal: u64,
    record: String,
}

/// A file's draw: how many records it has, and those with the `count` smallest keys.
#[derive(serde::Serialize, serde::Deserialize)]
struct Drawn {
    file: usize,
    records: u64,
    candidates: Vec<Candidate>,
}

fn draw_file(
    source: &SampleSource,
    file: &input::InputFile,
    number: usize,
    count: u64,
    seed: u64,
) -> Result<Drawn> {
    // A max-heap of the smallest keys so far (ties broken by position, which never repeats).
    let mut heap: std::collections::BinaryHeap<(u64, u64, Vec<u8>)> =
        std::collections::BinaryHeap::with_capacity(count.min(1 << 20) as usize + 1);
    let mut records = 0u64;
    for record in input::records(
        file,
        ByteCounter::default(),
        input::DEFAULT_MAX_RECORD_BYTES,
    )? {
        let body = record.body.map_err(|e| {
            anyhow::anyhow!(
                "sample source {}: {} line/row {}: {e}",
                source.name,
                file.path.display(),
                record.position
            )
        })?;
        let ordinal = records;
        records += 1;
        if count == 0 {
            continue;
        }
        let k = key(seed, number, ordinal);
        if (heap.len() as u64) < count {
            heap.push((k, ordinal, body));
        } else if heap.peek().is_some_and(|top| (k, ordinal) < (top.0, top.1)) {
            heap.pop();
            heap.push((k, ordinal, body));
        }
    }
    let mut candidates: Vec<Candidate> = heap
        .into_iter()
        .map(|(key, ordinal, body)| {
            Ok(Candidate {
                key,
                ordinal,
                record: String::from_utf8(body).map_err(|_| {
                    anyhow::anyhow!(
                        "sample source {}: {} record {ordinal} is not UTF-8",
                        source.name,
                        file.path.display()
                    )
                })?,
            })
        })
        .collect::<Result<_>>()?;
    candidates.sort_by_key(|c| c.ordinal);
    Ok(Drawn {
        file: number,
        records,
        candidates,
    })
}

fn write_part(path: &Path, drawn: &Drawn) -> Result<()> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    serde_json::to_writer(&mut gz, drawn)?;
    crate::output::write_atomically(path, &gz.finish()?)
}

fn read_part(path: &Path) -> Result<Drawn> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    serde_json::from_reader(std::io::BufReader::new(flate2::read::GzDecoder::new(file)))
        .with_context(|| {
            format!(
                "{} is corrupt; delete it to draw that file again",
                path.display()
            )
        })
}

/// A source's sample from its files' draws: the `count` smallest keys, in input order, each with its
/// index among all the source's records.
fn merge(source: &SampleSource, parts: &[PathBuf], count: u64) -> Result<(Vec<Chosen>, u64)> {
    let mut all = Vec::new();
    let mut offsets = Vec::with_capacity(parts.len());
    let mut seen = 0u64;
    for path in parts {
        let drawn = read_part(path)?;
        offsets.push(seen);
        seen += drawn.records;
        all.extend(drawn.candidates.into_iter().map(|c| (drawn.file, c)));
    }
    if seen < count {
        bail!(
            "sample source {} has only {seen} records, fewer than its share of {count}; lower target_samples or its weight",
            source.name
        );
    }
    all.sort_by_key(|(file, c)| (c.key, *file, c.ordinal));
    all.truncate(count as usize);
    all.sort_by_key(|(file, c)| (*file, c.ordinal));
    let chosen = all
        .into_iter()
        .map(|(file, c)| (offsets[file] + c.ordinal, c.record.into_bytes()))
        .collect();
    Ok((chosen, seen))
}

fn write_source(
    target: &Path,
    source: &SampleSource,
    _target_total: u64,
    chosen: &[Chosen],
) -> Result<()> {
    let dir = target.parent().context("sample output without a folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Named for this process: two tasks that both find a source's draws complete merge it at once.
    let tmp = target.with_extension(format!("gz.{}.tmp", std::process::id()));
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(std::io::BufWriter::new(file), flate2::Compression::new(6));
    for (original_index, body) in chosen {
        let mut object: Map<String, Value> = serde_json::from_slice(body).with_context(|| {
            format!(
                "sample source {}: record {original_index} is not a JSON object",
                source.name
            )
        })?;
        let mut metadata = match object.remove("metadata") {
            Some(Value::Object(m)) => m,
            Some(other) => {
                let mut m = Map::new();
                m.insert("original_metadata".into(), other);
                m
            }
            None => Map::new(),
        };
        metadata.insert("source".into(), Value::String(source.name.clone()));
        metadata.insert(
            "config".into(),
            source
                .config
                .clone()
                .map(Value::String)
                .unwrap_or(Value::Null),
        );
        metadata.insert("weight".into(), Value::from(source.weight));
        metadata.insert("original_index".into(), Value::from(*original_index));
        object.insert("metadata".into(), Value::Object(metadata));
        serde_json::to_writer(&mut gz, &Value::Object(object))?;
        gz.write_all(b"\n")?;
    }
    gz.finish()?.flush()?;
    std::fs::rename(&tmp, target).with_context(|| format!("renaming {} into place", tmp.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_exactly() {
        assert_eq!(plan_counts(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(plan_counts(100, &[0.7, 0.2, 0.1]), vec![70, 20, 10]);
        assert_eq!(plan_counts(7, &[0.5, 0.25, 0.25]).iter().sum::<u64>(), 7);
        for target in [0u64, 1, 2, 3, 99, 1000, 12345] {
            let counts = plan_counts(target, &[0.33, 0.33, 0.34, 1e-9]);
            assert_eq!(counts.iter().sum::<u64>(), target);
        }
    }

    #[test]
    fn largest_remainder_goes_first() {
        // quotas 1.6, 1.3, 0.1 (x 3 = 3): floors 1, 1, 0 and the one left goes to the largest remainder.
        assert_eq!(
            plan_counts(3, &[0.533333, 0.433333, 0.033334]),
            vec![2, 1, 0]
        );
    }
}
