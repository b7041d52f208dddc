//! Stage 3: clusters by union-find over the edges, one kept document per cluster, and the paragraphs each
//! surviving document loses.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;
use tamis_core::Config;
use tamis_core::dedup::KeepPolicy;

use super::sorter::FixedReader;
use super::{
    Decision, DedupPlan, DocInfo, Edge, Entry, StageStats, describe, done_marker, file_dir,
    split_key, write_marker,
};
use crate::output::write_atomically;

/// Union-find with path halving and union by size, over the documents that have an edge.
#[derive(Default)]
pub struct UnionFind {
    parent: HashMap<u64, u64>,
    size: HashMap<u64, u64>,
}

impl UnionFind {
    pub fn find(&mut self, x: u64) -> u64 {
        let mut x = x;
        loop {
            let p = *self.parent.entry(x).or_insert(x);
            if p == x {
                return x;
            }
            let gp = *self.parent.entry(p).or_insert(p);
            self.parent.insert(x, gp);
            x = gp;
        }
    }

    pub fn union(&mut self, a: u64, b: u64) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let sa = *self.size.get(&ra).unwrap_or(&1);
        let sb = *self.size.get(&rb).unwrap_or(&1);
        let (big, small) = if sa >= sb { (ra, rb) } else { (rb, ra) };
        self.parent.insert(small, big);
        self.size.insert(big, sa + sb);
        self.size.remove(&small);
    }

    pub fn nodes(&self) -> Vec<u64> {
        self.parent.keys().copied().collect()
    }
}

#[derive(Serialize)]
struct Example {
    cluster_id: u64,
    size: usize,
    kept: String,
    removed: Vec<String>,
}

#[derive(Serialize)]
struct Report {
    documents: u64,
    clusters: u64,
    documents_in_clusters: u64,
    removed_exact: u64,
    removed_near: u64,
    paragraphs_removed: u64,
    documents_losing_paragraphs: u64,
    /// cluster size -> how many clusters ("2", "3", "4-7", "8-15", ...)
    size_histogram: BTreeMap<String, u64>,
    largest: Vec<Example>,
}

fn size_bucket(size: usize) -> (usize, String) {
    if size <= 3 {
        return (size, size.to_string());
    }
    let low = 1usize << (usize::BITS - 1 - size.leading_zeros());
    (low, format!("{low}-{}", low * 2 - 1))
}

pub fn report_path(plan: &DedupPlan) -> std::path::PathBuf {
    plan.work.join("clusters").join("report.json")
}

pub fn decisions_path(plan: &DedupPlan, file: usize) -> std::path::PathBuf {
    plan.work
        .join("clusters")
        .join(format!("{}.jsonl", file_dir(file)))
}

pub fn check_done(plan: &DedupPlan) -> Result<()> {
    if done_marker(&plan.work.join("clusters").join("stats.json"))?.is_none() {
        anyhow::bail!("the clusters stage has not finished; run `--stage clusters` first");
    }
    Ok(())
}

pub fn run(config: &Config, plan: &DedupPlan) -> Result<Vec<StageStats>> {
    let marker = plan.work.join("clusters").join("stats.json");
    if marker.is_file() {
        return Ok(Vec::new());
    }
    super::buckets::check_done(config, plan)?;
    let started = Instant::now();
    let partitions = config.dedup.partitions;

    let mut all = UnionFind::default();
    let mut exact = UnionFind::default();
    let mut edge_count = 0u64;
    for p in 0..partitions {
        let path = super::buckets::out_dir(plan, p).join("edges.bin");
        for edge in FixedReader::<Edge>::open(&path)? {
            let edge = edge?;
            all.union(edge.a, edge.b);
            if edge.exact {
                exact.union(edge.a, edge.b);
            }
            edge_count += 1;
        }
    }

    // Members of each cluster, and what the keep policy needs to know of them.
    let nodes = all.nodes();
    let mut members: HashMap<u64, Vec<u64>> = HashMap::new();
    for &n in &nodes {
        let root = all.find(n);
        members.entry(root).or_default().push(n);
    }
    let wanted: HashSet<u64> = nodes.iter().copied().collect();
    let mut info: HashMap<u64, DocInfo> = HashMap::new();
    let mut documents = 0u64;
    for file in 0..plan.inputs.len() {
        let path = plan
            .work
            .join("signatures")
            .join(file_dir(file))
            .join("docs.bin");
        for d in FixedReader::<DocInfo>::open(&path)? {
            let d = d?;
            documents += 1;
            if wanted.contains(&d.doc) {
                info.insert(d.doc, d);
            }
        }
    }

    let mut clusters: Vec<Vec<u64>> = members.into_values().collect();
    for c in &mut clusters {
        c.sort_unstable();
    }
    // Cluster ids in order of each cluster's first document: stable whatever the hashing order.
    clusters.sort_unstable_by_key(|c| c[0]);

    let mut decisions: BTreeMap<usize, BTreeMap<u64, Decision>> = BTreeMap::new();
    let mut removed: HashSet<u64> = HashSet::new();
    let (mut removed_exact, mut removed_near) = (0u64, 0u64);
    let mut histogram: BTreeMap<(usize, String), u64> = BTreeMap::new();
    let mut examples: Vec<Example> = Vec::new();
    for (id, cluster) in clusters.iter().enumerate() {
        let id = id as u64;
        let size = cluster.len() as u64;
        let keeper = pick(config.dedup.keep, cluster, &info);
        *histogram.entry(size_bucket(cluster.len())).or_default() += 1;
        let keeper_exact = exact.find(keeper);
        let mut removed_here = Vec::new();
        for &doc in cluster {
            let decision = decision_of(&mut decisions, doc);
            decision.cluster_id = Some(id);
            decision.cluster_size = Some(size);
            if doc != keeper {
                let is_exact = exact.find(doc) == keeper_exact;
                if is_exact {
                    removed_exact += 1;
                } else {
                    removed_near += 1;
                }
                decision.kind = Some(if is_exact { "exact" } else { "near" }.into());
                decision.duplicate_of = Some(describe(&plan.inputs, keeper));
                removed.insert(doc);
                removed_here.push(doc);
            }
        }
        examples.push(Example {
            cluster_id: id,
            size: cluster.len(),
            kept: describe(&plan.inputs, keeper),
            removed: removed_here
                .iter()
                .take(5)
                .map(|d| describe(&plan.inputs, *d))
                .collect(),
        });
    }
    examples.sort_by(|a, b| b.size.cmp(&a.size).then(a.cluster_id.cmp(&b.cluster_id)));
    examples.truncate(10);

    // Repeated paragraphs: in each group (sorted by document, then line), the first occurrence in a
    // surviving document stays and every later one goes.
    let (mut paragraphs_removed, mut losing) = (0u64, HashSet::new());
    for p in 0..partitions {
        let path = super::buckets::out_dir(plan, p).join("paragraphs.bin");
        let mut current: Option<u64> = None;
        let mut seen_survivor = false;
        for e in FixedReader::<Entry>::open(&path)? {
            let e = e?;
            if current != Some(e.key) {
                current = Some(e.key);
                seen_survivor = false;
            }
            if removed.contains(&e.doc) {
                continue;
            }
            if !seen_survivor {
                seen_survivor = true;
                continue;
            }
            decision_of(&mut decisions, e.doc).paragraphs.push(e.aux);
            paragraphs_removed += 1;
            losing.insert(e.doc);
        }
    }

    let dir = plan.work.join("clusters");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for file in 0..plan.inputs.len() {
        let mut text = String::new();
        if let Some(map) = decisions.get_mut(&file) {
            for d in map.values_mut() {
                d.paragraphs.sort_unstable();
                text.push_str(&serde_json::to_string(d)?);
                text.push('\n');
            }
        }
        write_atomically(&decisions_path(plan, file), text.as_bytes())?;
    }
    let report = Report {
        documents,
        clusters: clusters.len() as u64,
        documents_in_clusters: nodes.len() as u64,
        removed_exact,
        removed_near,
        paragraphs_removed,
        documents_losing_paragraphs: losing.len() as u64,
        size_histogram: histogram.into_iter().map(|((_, k), v)| (k, v)).collect(),
        largest: examples,
    };
    write_atomically(
        &report_path(plan),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    let mut stats = StageStats {
        stage: "clusters".into(),
        unit: "all".into(),
        docs: documents,
        bytes: edge_count * <Edge as super::sorter::Fixed>::SIZE as u64,
        seconds: started.elapsed().as_secs_f64(),
        detail: Default::default(),
    };
    stats.detail.insert("edges".into(), edge_count.into());
    stats
        .detail
        .insert("clusters".into(), (clusters.len() as u64).into());
    stats
        .detail
        .insert("removed_exact".into(), removed_exact.into());
    stats
        .detail
        .insert("removed_near".into(), removed_near.into());
    stats
        .detail
        .insert("paragraphs_removed".into(), paragraphs_removed.into());
    write_marker(&marker, &stats)?;
    Ok(vec![stats])
}

/// The decision about one document (by file, then position), made empty on first use.
fn decision_of(
    decisions: &mut BTreeMap<usize, BTreeMap<u64, Decision>>,
    doc: u64,
) -> &mut Decision {
    let (file, position) = split_key(doc);
    decisions
        .entry(file)
        .or_default()
        .entry(position)
        .or_insert_with(|| Decision {
            position,
            ..Default::default()
        })
}

/// The document a cluster keeps. `cluster` is sorted, so ties go to the first seen.
fn pick(policy: KeepPolicy, cluster: &[u64], info: &HashMap<u64, DocInfo>) -> u64 {
    let first = cluster[0];
    match policy {
        KeepPolicy::FirstSeen => first,
        KeepPolicy::Longest => *cluster
            .iter()
            .rev()
            .max_by_key(|d| info.get(d).map_or(0, |i| i.length))
            .unwrap_or(&first),
        KeepPolicy::QualityScore => *cluster
            .iter()
            .rev()
            .max_by(|a, b| {
                let s = |d: &u64| info.get(d).map_or(f64::MIN, |i| i.score);
                s(a).total_cmp(&s(b))
            })
            .unwrap_or(&first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_find_joins_chains_into_one_cluster() {
        let mut uf = UnionFind::default();
        uf.union(1, 2);
        uf.union(3, 4);
        uf.union(2, 3);
        uf.union(10, 11);
        assert_eq!(uf.find(1), uf.find(4));
        assert_ne!(uf.find(1), uf.find(10));
        assert_eq!(uf.nodes().len(), 6);
    }

    #[test]
    fn the_keep_policy_breaks_ties_by_first_seen() {
        let info: HashMap<u64, DocInfo> = [(5, 100, 0.2), (7, 300, 0.9), (9, 300, 0.9)]
            .into_iter()
            .map(|(doc, length, score)| (doc, DocInfo { doc, length, score }))
            .collect();
        let cluster = [5, 7, 9];
        assert_eq!(pick(KeepPolicy::FirstSeen, &cluster, &info), 5);
        assert_eq!(pick(KeepPolicy::Longest, &cluster, &info), 7);
        assert_eq!(pick(KeepPolicy::QualityScore, &cluster, &info), 7);
    }

    #[test]
    fn histogram_buckets_grow_by_powers_of_two() {
        assert_eq!(size_bucket(2).1, "2");
        assert_eq!(size_bucket(3).1, "3");
        assert_eq!(size_bucket(5).1, "4-7");
        assert_eq!(size_bucket(8).1, "8-15");
    }
}
