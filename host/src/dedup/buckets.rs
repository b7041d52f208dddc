//! Stage 2: each partition's keys sorted within the memory budget; equal keys become edges (exact and
//! near duplicates) or groups of repeated paragraphs.

use std::time::Instant;

use anyhow::{Context, Result};
use tamis_core::Config;

use super::sorter::{ExternalSorter, FixedReader, FixedWriter};
use super::{
    DedupPlan, Edge, Entry, StageStats, Tag, done_marker, file_dir, partition_dir, write_marker,
};

pub fn marker_path(plan: &DedupPlan, partition: usize) -> std::path::PathBuf {
    out_dir(plan, partition).join("stats.json")
}

pub fn out_dir(plan: &DedupPlan, partition: usize) -> std::path::PathBuf {
    plan.work
        .join("buckets")
        .join("out")
        .join(partition_dir(partition))
}

pub fn run(config: &Config, plan: &DedupPlan) -> Result<Vec<StageStats>> {
    super::signatures::check_done(plan)?;
    let mut all = Vec::new();
    for partition in 0..config.dedup.partitions {
        if !plan.shard.takes(partition) || marker_path(plan, partition).is_file() {
            continue;
        }
        all.push(one_partition(config, plan, partition)?);
    }
    Ok(all)
}

/// Checks that every partition is done.
pub fn check_done(config: &Config, plan: &DedupPlan) -> Result<()> {
    for p in 0..config.dedup.partitions {
        if done_marker(&marker_path(plan, p))?.is_none() {
            anyhow::bail!(
                "the buckets stage has not finished partition {p}; run `--stage buckets` for every shard first"
            );
        }
    }
    Ok(())
}

fn one_partition(config: &Config, plan: &DedupPlan, partition: usize) -> Result<StageStats> {
    let started = Instant::now();
    let out = out_dir(plan, partition);
    let scratch = out.join("scratch");
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let mut sorter = ExternalSorter::<Entry>::new(&scratch, config.dedup.sort_memory_mib << 20);
    let mut entries = 0u64;
    for file in 0..plan.inputs.len() {
        let path = plan
            .work
            .join("buckets")
            .join("in")
            .join(partition_dir(partition))
            .join(format!("{}.bin", file_dir(file)));
        for entry in FixedReader::<Entry>::open(&path)? {
            sorter.push(entry?)?;
            entries += 1;
        }
    }
    let runs = sorter.runs();
    let mut edges = FixedWriter::create(&out.join("edges.bin"))?;
    let mut paragraphs = FixedWriter::create(&out.join("paragraphs.bin"))?;
    let (mut edge_count, mut repeated) = (0u64, 0u64);
    let mut group: Vec<Entry> = Vec::new();
    let mut flush = |group: &mut Vec<Entry>| -> Result<()> {
        if group.len() > 1 {
            match group[0].tag {
                Tag::Exact | Tag::Band => {
                    // Sorted by document: the first is the group's smallest key; every other joins it.
                    let first = group[0].doc;
                    for e in &group[1..] {
                        if e.doc != first {
                            edges.write(&Edge {
                                a: first,
                                b: e.doc,
                                exact: e.tag == Tag::Exact,
                            })?;
                            edge_count += 1;
                        }
                    }
                }
                Tag::Paragraph => {
                    for e in group.iter() {
                        paragraphs.write(e)?;
                    }
                    repeated += 1;
                }
            }
        }
        group.clear();
        Ok(())
    };
    for entry in sorter.finish()? {
        let entry = entry?;
        if let Some(last) = group.last()
            && (last.tag, last.key) != (entry.tag, entry.key)
        {
            flush(&mut group)?;
        }
        group.push(entry);
    }
    flush(&mut group)?;
    edges.finish()?;
    paragraphs.finish()?;
    let _ = std::fs::remove_dir(&scratch);
    let mut stats = StageStats {
        stage: "buckets".into(),
        unit: format!("partition {partition}"),
        docs: 0,
        bytes: entries * <Entry as super::sorter::Fixed>::SIZE as u64,
        seconds: started.elapsed().as_secs_f64(),
        detail: Default::default(),
    };
    stats.detail.insert("entries".into(), entries.into());
    stats.detail.insert("sort_runs".into(), runs.into());
    stats.detail.insert("edges".into(), edge_count.into());
    stats
        .detail
        .insert("repeated_paragraphs".into(), repeated.into());
    write_marker(&marker_path(plan, partition), &stats)?;
    Ok(stats)
}
