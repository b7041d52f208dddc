//! `tamis sample`: stage 1 of the two-stage flow. Draws a weighted, reproducible sample of raw sources in
//! one streaming pass per source and writes `RAW/<source>/raw_data.jsonl.gz`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value};
use tamis_core::config::{SampleConfig, SampleSource};

use crate::input::{self, ByteCounter};

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

pub fn sample(config: &SampleConfig, base: &Path, quiet: bool) -> Result<()> {
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
    let out = base.join(&config.output);
    if !quiet {
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
    for (index, (source, &count)) in config.datasets.iter().zip(&counts).enumerate() {
        let target = out.join(&source.name).join("raw_data.jsonl.gz");
        if target.is_file() {
            if !quiet {
                eprintln!(
                    "{}: already sampled in {}, skipped",
                    source.name,
                    target.display()
                );
            }
            continue;
        }
        let (chosen, seen) = draw(source, base, count, config.seed, index as u64)?;
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
    Ok(())
}

/// The files of a source: its paths (relative to the config's folder) expanded.
pub fn source_files(source: &SampleSource, base: &Path) -> Result<Vec<input::InputFile>> {
    let specs: Vec<String> = source
        .path
        .iter()
        .map(|p| {
            if Path::new(p).is_absolute() {
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

/// Reservoir sampling (Vitter's algorithm R) over every record of a source, seeded per source so that
/// adding a source does not change the others' samples. Returns the chosen records in input order.
fn draw(
    source: &SampleSource,
    base: &Path,
    count: u64,
    seed: u64,
    index: u64,
) -> Result<(Vec<Chosen>, u64)> {
    let files = source_files(source, base)?;
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    seed_bytes[8..16].copy_from_slice(&index.to_le_bytes());
    seed_bytes[16..24]
        .copy_from_slice(&xxhash_rust::xxh3::xxh3_64(source.name.as_bytes()).to_le_bytes());
    let mut rng = ChaCha8Rng::from_seed(seed_bytes);
    let mut reservoir: Vec<Chosen> = Vec::with_capacity(count as usize);
    let mut seen = 0u64;
    for file in &files {
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
            if count > 0 {
                if (reservoir.len() as u64) < count {
                    reservoir.push((seen, body));
                } else {
                    // Uniform in 0..=seen, without modulo bias.
                    let j = uniform(&mut rng, seen + 1);
                    if j < count {
                        reservoir[j as usize] = (seen, body);
                    }
                }
            }
            seen += 1;
        }
    }
    if (reservoir.len() as u64) < count {
        bail!(
            "sample source {} has only {seen} records, fewer than its share of {count}; lower target_samples or its weight",
            source.name
        );
    }
    reservoir.sort_by_key(|(i, _)| *i);
    Ok((reservoir, seen))
}

fn uniform(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let x = rng.next_u64();
        if x < zone {
            return x % n;
        }
    }
}

fn write_source(
    target: &Path,
    source: &SampleSource,
    _target_total: u64,
    chosen: &[Chosen],
) -> Result<()> {
    let dir = target.parent().context("sample output without a folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = target.with_extension("gz.tmp");
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
