//! Stage 1: fingerprints from the core, cut into keys and written to partitioned bucket files.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use crossbeam_channel::bounded;
use tamis_core::dedup::{band_keys, exact_key, paragraph_keys};
use tamis_core::{Config, Document};

use super::sorter::FixedWriter;
use super::{
    DedupPlan, DocInfo, Entry, StageStats, Tag, doc_key, done_marker, file_dir, partition_dir,
    write_marker,
};
use crate::engine::{CoreEngine, EngineFactory};
use crate::input::{ByteCounter, InputFile};
use crate::record::{Fields, Origin, parse};

/// Documents ready for the engine, in the shape it takes them, with where each came from.
#[derive(Default)]
struct Batch {
    positions: Vec<u64>,
    documents: Vec<Document>,
}

/// What a worker returns for one document.
struct Keys {
    position: u64,
    length: u64,
    result: Result<(u64, Vec<u64>, f64), String>,
    paragraphs: Vec<tamis_core::dedup::ParagraphKey>,
}

pub fn run(
    config: &Config,
    fields: &Fields,
    factory: &EngineFactory,
    plan: &DedupPlan,
) -> Result<Vec<StageStats>> {
    let todo: Vec<(usize, &InputFile)> = plan
        .inputs
        .iter()
        .enumerate()
        .filter(|(i, _)| plan.shard.takes(*i))
        .filter(|(i, _)| !marker_path(plan, *i).is_file())
        .collect();
    if todo.is_empty() {
        return Ok(Vec::new());
    }
    let mut engines = (0..plan.workers)
        .map(|w| {
            factory
                .start()
                .with_context(|| format!("starting worker {w}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut all = Vec::new();
    for (index, file) in todo {
        let stats = one_file(config, fields, plan, &mut engines, index, file)?;
        if !plan.quiet {
            eprintln!(
                "dedup signatures: {} ({} docs, {:.1} MB/s)",
                file.relative.display(),
                stats.docs,
                stats.bytes as f64 / 1e6 / stats.seconds.max(1e-9)
            );
        }
        all.push(stats);
    }
    Ok(all)
}

fn marker_path(plan: &DedupPlan, file: usize) -> std::path::PathBuf {
    plan.work
        .join("signatures")
        .join(file_dir(file))
        .join("stats.json")
}

/// Is every input file fingerprinted? The next stage needs all of them.
pub fn check_done(plan: &DedupPlan) -> Result<()> {
    for (i, f) in plan.inputs.iter().enumerate() {
        if done_marker(&marker_path(plan, i))?.is_none() {
            anyhow::bail!(
                "the signatures stage has not finished {} (file {i}); run `--stage signatures` for every shard first",
                f.relative.display()
            );
        }
    }
    Ok(())
}

fn one_file(
    config: &Config,
    fields: &Fields,
    plan: &DedupPlan,
    engines: &mut [Box<dyn CoreEngine>],
    index: usize,
    file: &InputFile,
) -> Result<StageStats> {
    let started = Instant::now();
    let dir = plan.work.join("signatures").join(file_dir(index));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let partitions = config.dedup.partitions;
    let bucket_path = |p: usize| {
        plan.work
            .join("buckets")
            .join("in")
            .join(partition_dir(p))
            .join(format!("{}.bin", file_dir(index)))
    };
    let mut buckets = (0..partitions)
        .map(|p| FixedWriter::create(&bucket_path(p)))
        .collect::<Result<Vec<_>>>()?;
    let mut docs = FixedWriter::create(&dir.join("docs.bin"))?;
    let errors_path = dir.join("errors.jsonl");
    let mut errors = std::io::BufWriter::new(
        std::fs::File::create(&errors_path)
            .with_context(|| format!("creating {}", errors_path.display()))?,
    );
    let rows = config.fingerprint.rows;
    let hash_bits = config.dedup.hash_bits;
    let interleaved = config.dedup.interleaved_bands;
    let paragraphs = &config.dedup.paragraphs;
    let name = file.relative.display().to_string();
    let is_row = file.format == crate::input::InputFormat::Parquet;
    let (mut fingerprinted, mut failed, mut bytes) = (0u64, 0u64, 0u64);

    let (work_tx, work_rx) = bounded::<Batch>(plan.workers * 4);
    let (out_tx, out_rx) = bounded::<Vec<Keys>>(plan.workers * 4);
    let reader_result = std::thread::scope(|scope| -> Result<Result<()>> {
        let reader = scope.spawn(|| -> Result<()> {
            let work_tx = work_tx;
            let mut batch = Batch::default();
            for raw in crate::input::records(file, ByteCounter::default())? {
                let origin = Origin {
                    file: &name,
                    position: raw.position,
                    is_row,
                };
                // Unreadable records are reported by the filter stage, which reads the file again.
                let Ok(parsed) = raw.body.and_then(|b| parse(&b, fields, &origin)) else {
                    continue;
                };
                let mut document = parsed.document;
                if document.text.is_none() {
                    continue;
                }
                document.html = None;
                batch.positions.push(raw.position);
                batch.documents.push(document);
                if batch.documents.len() == plan.batch_size {
                    work_tx
                        .send(std::mem::take(&mut batch))
                        .map_err(|_| anyhow!("workers stopped"))?;
                }
            }
            if !batch.documents.is_empty() {
                work_tx
                    .send(batch)
                    .map_err(|_| anyhow!("workers stopped"))?;
            }
            Ok(())
        });
        for engine in engines.iter_mut() {
            let work_rx = work_rx.clone();
            let out_tx = out_tx.clone();
            scope.spawn(move || {
                for batch in work_rx {
                    let result = engine.process(&batch.documents);
                    let keys = batch
                        .positions
                        .iter()
                        .zip(&batch.documents)
                        .zip(result.judgments)
                        .map(|((&position, document), judgment)| {
                            let text = document.text.as_deref().unwrap_or_default();
                            Keys {
                                position,
                                length: text.len() as u64,
                                result: judgment.map_err(|e| e.message).and_then(|o| {
                                    let hashes = o.hashes.ok_or("the core returned no hashes")?;
                                    let exact = exact_key(&hashes.exact)
                                        .ok_or("the core returned a malformed exact hash")?;
                                    let score = o
                                        .scores
                                        .iter()
                                        .find(|s| s.name == "quality_score")
                                        .map_or(0.0, |s| s.value);
                                    Ok((
                                        exact,
                                        band_keys(&hashes.minhash, rows, hash_bits, interleaved),
                                        score,
                                    ))
                                }),
                                paragraphs: if paragraphs.enabled {
                                    paragraph_keys(text, paragraphs.min_chars)
                                } else {
                                    Vec::new()
                                },
                            }
                        })
                        .collect();
                    if out_tx.send(keys).is_err() {
                        return;
                    }
                }
            });
        }
        drop(work_rx);
        drop(out_tx);
        let write = || -> Result<()> {
            for batch in out_rx {
                for k in batch {
                    let doc = doc_key(index, k.position);
                    match k.result {
                        Err(message) => {
                            failed += 1;
                            let line =
                                serde_json::json!({"position": k.position, "error": message});
                            writeln!(errors, "{line}")?;
                            continue;
                        }
                        Ok((exact, bands, score)) => {
                            fingerprinted += 1;
                            bytes += k.length;
                            docs.write(&DocInfo {
                                doc,
                                length: k.length,
                                score,
                            })?;
                            let mut put = |tag: Tag, key: u64, aux: u32| {
                                let p = (key % partitions as u64) as usize;
                                buckets[p].write(&Entry { tag, key, doc, aux })
                            };
                            if config.dedup.exact {
                                put(Tag::Exact, exact, 0)?;
                            }
                            if config.dedup.near {
                                for (band, key) in bands.into_iter().enumerate() {
                                    put(Tag::Band, key, band as u32)?;
                                }
                            }
                            for p in k.paragraphs {
                                put(Tag::Paragraph, p.key, p.index)?;
                            }
                        }
                    }
                }
            }
            Ok(())
        };
        let written = write();
        let read = reader
            .join()
            .map_err(|_| anyhow!("the reader thread panicked"))?;
        read?;
        Ok(written)
    });
    reader_result??;
    for b in buckets {
        b.finish()?;
    }
    docs.finish()?;
    errors.flush()?;
    let mut stats = StageStats {
        stage: "signatures".into(),
        unit: name,
        docs: fingerprinted + failed,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
        detail: Default::default(),
    };
    stats
        .detail
        .insert("fingerprinted".into(), fingerprinted.into());
    stats.detail.insert("core_errors".into(), failed.into());
    write_marker(&marker_path(plan, index), &stats)?;
    Ok(stats)
}

/// Reads a file's fingerprinting errors: position -> message.
pub fn errors(work: &Path, file: usize) -> Result<std::collections::HashMap<u64, String>> {
    let path = work
        .join("signatures")
        .join(file_dir(file))
        .join("errors.jsonl");
    let mut out = std::collections::HashMap::new();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {} is corrupt", path.display(), i + 1))?;
        let position = v["position"]
            .as_u64()
            .ok_or_else(|| anyhow!("{} line {} has no position", path.display(), i + 1))?;
        out.insert(
            position,
            v["error"].as_str().unwrap_or_default().to_string(),
        );
    }
    Ok(out)
}
