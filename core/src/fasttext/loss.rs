//! From the hidden vector to label probabilities, for each loss a supervised model can be trained with.
//!
//! Facts from facebookresearch/fastText `src/loss.cc`:
//!
//! - `softmax`: `exp(o_i - max)` over the output rows' dot products, divided by their sum.
//! - `ova` (one-vs-all) and `ns` (negative sampling): each label's own sigmoid, read from a 512-entry
//!   table over `[-8, 8]` (`Loss::sigmoid`), 0 below and 1 above.
//! - `hs` (hierarchical softmax): a Huffman tree built from the label counts (`buildTree`: leaves sorted by
//!   decreasing count, internal nodes after them, the two smallest merged first, the second one the `1`
//!   branch); a depth-first search from the root (`dfs`, left branch first) adds `log(1 - f)` going left
//!   and `log(f)` going right, `f` the exact sigmoid of the node's output row, and prunes branches already
//!   below the threshold or below the k-th best leaf found so far.
//! - Scores are `std_log(p) = log(p + 1e-5)` in single precision (`findKBest`); what fastText's `predict`
//!   reports is `exp` of that score, so a probability of 1 is reported as about 1.00001.

use super::ModelError;
use super::matrix::Matrix;

/// The sigmoid table's size and range (`SIGMOID_TABLE_SIZE`, `MAX_SIGMOID`).
pub(super) const SIGMOID_TABLE_SIZE: usize = 512;
const MAX_SIGMOID: f32 = 8.0;

/// The loss a model was trained with, which decides how its outputs become probabilities. In a config
/// it is written by fastText's name for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LossKind {
    /// Hierarchical softmax (`-loss hs`).
    #[serde(rename = "hs")]
    HierarchicalSoftmax,
    /// Negative sampling (`-loss ns`); predicts like one-vs-all.
    #[serde(rename = "ns")]
    NegativeSampling,
    /// Softmax (`-loss softmax`).
    #[serde(rename = "softmax")]
    Softmax,
    /// One-vs-all (`-loss ova`): independent sigmoids, several labels can be likely at once.
    #[serde(rename = "ova")]
    OneVsAll,
}

impl LossKind {
    /// The loss of `loss_name` in fastText's `args.h` (`hs = 1, ns, softmax, ova`).
    pub(super) fn from_code(code: i32) -> Result<Self, ModelError> {
        match code {
            1 => Ok(Self::HierarchicalSoftmax),
            2 => Ok(Self::NegativeSampling),
            3 => Ok(Self::Softmax),
            4 => Ok(Self::OneVsAll),
            other => Err(ModelError::new(format!(
                "unknown loss {other} (expected 1 hs, 2 ns, 3 softmax or 4 ova)"
            ))),
        }
    }

    /// The code a model file stores for the loss.
    pub(super) fn code(self) -> i32 {
        match self {
            Self::HierarchicalSoftmax => 1,
            Self::NegativeSampling => 2,
            Self::Softmax => 3,
            Self::OneVsAll => 4,
        }
    }

    /// fastText's name for the loss.
    pub fn name(self) -> &'static str {
        match self {
            Self::HierarchicalSoftmax => "hs",
            Self::NegativeSampling => "ns",
            Self::Softmax => "softmax",
            Self::OneVsAll => "ova",
        }
    }
}

/// One node of the Huffman tree (`HierarchicalSoftmaxLoss::Node`), children as indices.
#[derive(Clone, Copy)]
pub(super) struct Node {
    left: Option<usize>,
    right: Option<usize>,
}

/// The output layer of a loaded model.
pub(super) enum Output {
    Softmax,
    Sigmoid(Box<[f32; SIGMOID_TABLE_SIZE + 1]>),
    Tree(Vec<Node>),
}

/// `std_log`: `log(x + 1e-5)`, the argument a float, the sum and log in double, the result a float.
fn std_log(x: f32) -> f32 {
    libm::log(f64::from(x) + 1e-5) as f32
}

impl Output {
    pub(super) fn new(kind: LossKind, label_counts: &[i64]) -> Result<Self, ModelError> {
        Ok(match kind {
            LossKind::Softmax => Self::Softmax,
            LossKind::OneVsAll | LossKind::NegativeSampling => Self::Sigmoid(sigmoid_table()),
            LossKind::HierarchicalSoftmax => Self::Tree(huffman_tree(label_counts)?),
        })
    }

    /// The `k` best labels as `(score, label)`, best first, scores being `std_log` of probabilities;
    /// labels whose probability is below `threshold` are left out (`Loss::predict`).
    pub(super) fn predict(
        &self,
        output: &Matrix,
        hidden: &[f32],
        k: usize,
        threshold: f32,
        scratch: &mut Vec<f32>,
    ) -> Vec<(f32, usize)> {
        let mut heap = TopK::new(k);
        match self {
            Self::Softmax | Self::Sigmoid(_) => {
                scratch.clear();
                scratch.extend((0..output.rows()).map(|i| output.dot_row(hidden, i)));
                match self {
                    Self::Sigmoid(table) => {
                        for o in scratch.iter_mut() {
                            *o = sigmoid(table, *o);
                        }
                    }
                    _ => softmax(scratch),
                }
                for (i, &p) in scratch.iter().enumerate() {
                    // `findKBest`
                    if p < threshold {
                        continue;
                    }
                    let score = std_log(p);
                    if heap.full() && score < heap.worst() {
                        continue;
                    }
                    heap.push(score, i);
                }
            }
            Self::Tree(tree) => {
                let osz = tree.len().div_ceil(2);
                let floor = std_log(threshold);
                // `dfs` from the root, left before right, with an explicit stack so a deep tree cannot
                // overflow the call stack.
                let mut stack = vec![(tree.len() - 1, 0.0f32)];
                while let Some((node, score)) = stack.pop() {
                    if score < floor || (heap.full() && score < heap.worst()) {
                        continue;
                    }
                    let n = tree[node];
                    let (Some(left), Some(right)) = (n.left, n.right) else {
                        heap.push(score, node);
                        continue;
                    };
                    let f = output.dot_row(hidden, node - osz);
                    // `f = 1. / (1 + std::exp(-f))`: exp and sum in float, the division in double.
                    let f = (1.0f64 / f64::from(1.0f32 + libm::expf(-f))) as f32;
                    stack.push((right, score + std_log(f)));
                    stack.push((left, score + std_log((1.0f64 - f64::from(f)) as f32)));
                }
            }
        }
        heap.into_sorted()
    }
}

/// `softmax` in place, as `SoftmaxLoss::computeOutput`.
fn softmax(output: &mut [f32]) {
    let Some(&first) = output.first() else {
        return;
    };
    let max = output.iter().fold(first, |m, &o| if o > m { o } else { m });
    let mut z = 0.0f32;
    for o in output.iter_mut() {
        *o = libm::expf(*o - max);
        z += *o;
    }
    for o in output.iter_mut() {
        *o /= z;
    }
}

/// The table `Loss::Loss` fills: entry `i` is the sigmoid of `i * 16 / 512 - 8`.
pub(super) fn sigmoid_table() -> Box<[f32; SIGMOID_TABLE_SIZE + 1]> {
    let mut table = Box::new([0.0f32; SIGMOID_TABLE_SIZE + 1]);
    for (i, t) in table.iter_mut().enumerate() {
        let x = (i as f32 * 2.0 * MAX_SIGMOID) / SIGMOID_TABLE_SIZE as f32 - MAX_SIGMOID;
        *t = (1.0f64 / (1.0f64 + f64::from(libm::expf(-x)))) as f32;
    }
    table
}

/// `Loss::sigmoid`: 0 below -8, 1 above 8, else the table entry the value falls in.
pub(super) fn sigmoid(table: &[f32; SIGMOID_TABLE_SIZE + 1], x: f32) -> f32 {
    if x < -MAX_SIGMOID {
        0.0
    } else if x > MAX_SIGMOID {
        1.0
    } else if x.is_nan() {
        f32::NAN
    } else {
        let i = ((x + MAX_SIGMOID) * SIGMOID_TABLE_SIZE as f32 / MAX_SIGMOID / 2.0) as usize;
        table[i.min(SIGMOID_TABLE_SIZE)]
    }
}

/// `HierarchicalSoftmaxLoss::buildTree`: leaves `0..osz` are the labels in the dictionary's order
/// (decreasing count), internal nodes `osz..2 * osz - 1` are built merging the two smallest counts, the
/// last one is the root.
fn huffman_tree(counts: &[i64]) -> Result<Vec<Node>, ModelError> {
    Ok(huffman(counts)?.0)
}

/// For training: each label's path from its leaf to the root, as (output row of the internal node, is
/// the `1` branch), as `buildTree` records `paths_` and `codes_`. The counts come from training, so they
/// are positive and sorted and the tree always builds.
pub(super) fn huffman_paths(counts: &[i64]) -> Vec<Vec<(usize, bool)>> {
    let Ok((_, parents)) = huffman(counts) else {
        return vec![Vec::new(); counts.len()];
    };
    let osz = counts.len();
    (0..osz)
        .map(|leaf| {
            let mut path = Vec::new();
            let mut j = leaf;
            while let Some((parent, binary)) = parents[j] {
                path.push((parent - osz, binary));
                j = parent;
            }
            path
        })
        .collect()
}

/// The tree's nodes and each node's parent with whether it is its parent's `1` (right) child.
#[allow(clippy::type_complexity)]
fn huffman(counts: &[i64]) -> Result<(Vec<Node>, Vec<Option<(usize, bool)>>), ModelError> {
    let osz = counts.len();
    if osz == 0 {
        return Err(ModelError::new("the model has no labels"));
    }
    let size = 2 * osz - 1;
    let mut count: Vec<i64> = vec![1_000_000_000_000_000; size];
    count[..osz].copy_from_slice(counts);
    let mut nodes = vec![
        Node {
            left: None,
            right: None,
        };
        size
    ];
    let mut parents = vec![None; size];
    let mut leaf = osz as isize - 1;
    let mut node = osz;
    for i in osz..size {
        let mut mini = [0usize; 2];
        for slot in &mut mini {
            if leaf >= 0 && node < size && count[leaf as usize] < count[node] {
                *slot = leaf as usize;
                leaf -= 1;
            } else {
                *slot = node;
                node += 1;
            }
        }
        // With counts as training writes them (positive, sorted) a merged node always exists already;
        // arbitrary counts could make fastText read past its tree.
        if mini.iter().any(|&m| m >= i) {
            return Err(ModelError::new(
                "the label counts do not make a Huffman tree (are they sorted in decreasing order?)",
            ));
        }
        nodes[i] = Node {
            left: Some(mini[0]),
            right: Some(mini[1]),
        };
        parents[mini[0]] = Some((i, false));
        parents[mini[1]] = Some((i, true));
        count[i] = count[mini[0]].saturating_add(count[mini[1]]);
    }
    Ok((nodes, parents))
}

/// fastText's bounded heap of the k best `(score, label)` pairs (`Predictions` with `std::push_heap` /
/// `std::pop_heap` / `std::sort_heap` and `comparePairs`, `a.score > b.score`), its `front()` being the
/// worst kept. The heap operations are those of libstdc++ (`bits/stl_heap.h`: `__push_heap`,
/// `__adjust_heap`, `__pop_heap`), which fastText's Python wheels are built with, so that labels with
/// equal probabilities (saturated sigmoids of `ova` models) come out in fastText's order.
struct TopK {
    k: usize,
    heap: Vec<(f32, usize)>,
}

/// `comparePairs`: the heap's "less than".
fn comp(a: &(f32, usize), b: &(f32, usize)) -> bool {
    a.0 > b.0
}

/// `std::__push_heap`: moves `value` up from `hole` towards `top`.
fn push_up(v: &mut [(f32, usize)], mut hole: usize, top: usize, value: (f32, usize)) {
    while hole > top {
        let parent = (hole - 1) / 2;
        if !comp(&v[parent], &value) {
            break;
        }
        v[hole] = v[parent];
        hole = parent;
    }
    v[hole] = value;
}

/// `std::__adjust_heap` over `v[..len]`.
fn adjust(v: &mut [(f32, usize)], mut hole: usize, len: usize, value: (f32, usize)) {
    let top = hole;
    let mut second = hole;
    while second < len.saturating_sub(1) / 2 {
        second = 2 * (second + 1);
        if comp(&v[second], &v[second - 1]) {
            second -= 1;
        }
        v[hole] = v[second];
        hole = second;
    }
    if len & 1 == 0 && len >= 2 && second == (len - 2) / 2 {
        second = 2 * (second + 1);
        v[hole] = v[second - 1];
        hole = second - 1;
    }
    push_up(v, hole, top, value);
}

/// `std::pop_heap` over `v[..len]`: the front goes to `len - 1`.
fn pop(v: &mut [(f32, usize)], len: usize) {
    if len > 1 {
        let last = len - 1;
        let value = v[last];
        v[last] = v[0];
        adjust(v, 0, last, value);
    }
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            heap: Vec::with_capacity(k.saturating_add(1).min(1024)),
        }
    }

    fn full(&self) -> bool {
        self.heap.len() == self.k
    }

    fn worst(&self) -> f32 {
        self.heap.first().map_or(f32::NEG_INFINITY, |e| e.0)
    }

    fn push(&mut self, score: f32, label: usize) {
        self.heap.push((score, label));
        let last = self.heap.len() - 1;
        push_up(&mut self.heap, last, 0, (score, label));
        if self.heap.len() > self.k {
            let len = self.heap.len();
            pop(&mut self.heap, len);
            self.heap.pop();
        }
    }

    /// `std::sort_heap`: best first.
    fn into_sorted(mut self) -> Vec<(f32, usize)> {
        let mut len = self.heap.len();
        while len > 1 {
            pop(&mut self.heap, len);
            len -= 1;
        }
        self.heap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huffman_tree_merges_the_two_rarest_first() {
        // Counts 5, 3, 1: the rarest (1) and next (3) merge first into node 3 (count 4), which is then
        // smaller than label 0 and becomes the root's left child.
        let tree = huffman_tree(&[5, 3, 1]).unwrap();
        assert_eq!(tree.len(), 5);
        assert_eq!((tree[3].left, tree[3].right), (Some(2), Some(1)));
        assert_eq!((tree[4].left, tree[4].right), (Some(3), Some(0)));
        assert!(huffman_tree(&[]).is_err());
        // Counts beyond the sentinel would make fastText merge nodes that do not exist yet.
        assert!(huffman_tree(&[i64::MAX, i64::MAX, i64::MAX]).is_err());
    }

    #[test]
    fn sigmoid_table_matches_its_ends_and_middle() {
        let table = sigmoid_table();
        assert_eq!(sigmoid(&table, -9.0), 0.0);
        assert_eq!(sigmoid(&table, 9.0), 1.0);
        assert!((sigmoid(&table, 0.0) - 0.5).abs() < 1e-6);
        assert!((table[0] - 0.000_335).abs() < 1e-6);
        assert!(sigmoid(&table, f32::NAN).is_nan());
    }

    #[test]
    fn top_k_keeps_the_best_in_order() {
        let mut top = TopK::new(2);
        for (s, i) in [(-3.0, 0), (-1.0, 1), (-2.0, 2), (-0.5, 3)] {
            top.push(s, i);
        }
        assert_eq!(top.into_sorted(), vec![(-0.5, 3), (-1.0, 1)]);
        let mut all = TopK::new(10);
        for (i, s) in [3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0]
            .into_iter()
            .enumerate()
        {
            all.push(s, i);
        }
        let scores: Vec<f32> = all.into_sorted().iter().map(|e| e.0).collect();
        assert_eq!(scores, [9.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.5, 1.0]);
    }
}
