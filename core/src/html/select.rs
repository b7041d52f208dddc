//! Which blocks of a page are its main text.
//!
//! Three decisions, each reported in [`Decisions`] so that a dropped block can be explained:
//!
//! 1. **Chrome by name.** A block whose class, id or role names page chrome (see `vocab.rs`) is dropped
//!    with everything inside, unless it holds the main content (a mislabeled wrapper such as
//!    `<body class="has-comments">` must not take the article with it).
//! 2. **The content container.** Paragraph-like runs score their ancestors the way Readability.js's
//!    `_grabArticle` does: a run of at least 25 characters is worth 1, plus its commas, plus one per 100
//!    characters up to 3; its parent gets that in full, its grandparent half, and older ancestors a
//!    third of it per level, five levels up. A candidate starts from its tag (a `div` +5, lists and
//!    headings less) and its class/id weight, and its score is scaled by `1 - link density`. Pages that
//!    mark their body (`<article>`, `<main>`, `itemprop=articleBody`, `entry-content`, ...) give that
//!    element a head start. The best candidate is widened to an ancestor when most of the other top
//!    candidates sit inside it too (Readability's "alternative candidates" rule), and its siblings join
//!    when they score at least a fifth of it or read like prose (over 80 characters, under a quarter
//!    links). Text outside the container is dropped as `outside_main`.
//! 3. **Clean-up inside.** Within the container, a list, table or `div` that is mostly links and has
//!    few commas is a link list (teasers, tags, share bars), and a heading that names chrome is dropped:
//!    Readability's conditional cleaning, with thresholds set by [`Favor`].
//!
//! When the chosen text is shorter than `min_main_words`, the container was a wrong guess (a gallery,
//! a forum thread, a page with no clear body): the whole page minus chrome-by-name is used instead,
//! and if even that is too short, every block.

use serde::{Deserialize, Serialize};

use super::markup::Tag;
use super::tree::{ROOT, Tree};
use super::vocab;

/// Which way extraction leans when a block is in doubt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Favor {
    /// Drop doubtful blocks: less boilerplate, some lost sentences.
    Precision,
    /// The default.
    #[default]
    Balanced,
    /// Keep doubtful blocks: no content container, only chrome by name and link lists are dropped.
    Recall,
}

struct Thresholds {
    /// A list or `div` with more link text than this share (and few commas) is a link list.
    link_list: f64,
    /// ... and this one when its class or id is positive.
    link_list_positive: f64,
    /// A sibling joins the container when its score is at least this share of the best one.
    sibling_share: f64,
    /// Choose a container at all.
    container: bool,
    /// A run outside the container this long (non-space characters), and nearly free of links, is kept
    /// as prose the container missed; 0: never.
    prose_outside: u32,
    /// ... when it lies at most this many runs from kept text, growing outwards from the container.
    prose_reach: usize,
    /// Runs this long (non-space characters) and link-poor bound the kept text; shorter runs outside
    /// that span are dropped; 0: never.
    edge_good: u32,
    /// Drop short lines that read as chrome.
    phrases: bool,
}

impl Favor {
    fn thresholds(self) -> Thresholds {
        match self {
            Favor::Precision => Thresholds {
                link_list: 0.15,
                link_list_positive: 0.4,
                sibling_share: 0.3,
                container: true,
                prose_outside: 150,
                prose_reach: 3,
                edge_good: 80,
                phrases: true,
            },
            Favor::Balanced => Thresholds {
                link_list: 0.25,
                link_list_positive: 0.5,
                sibling_share: 0.2,
                container: true,
                prose_outside: 150,
                prose_reach: usize::MAX,
                edge_good: 50,
                phrases: true,
            },
            Favor::Recall => Thresholds {
                link_list: 0.5,
                link_list_positive: 0.7,
                sibling_share: 0.0,
                container: false,
                prose_outside: 0,
                prose_reach: 0,
                edge_good: 0,
                phrases: false,
            },
        }
    }
}

/// What happened to the blocks of one page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Decisions {
    /// Blocks (runs of text between block boundaries) on the pruned page.
    pub blocks: u32,
    /// Blocks in the main text.
    pub kept: u32,
    /// Dropped because an enclosing element's class, id or role names chrome.
    pub chrome: u32,
    /// Dropped as outside the content container.
    pub outside_main: u32,
    /// Dropped as part of a link list inside the container.
    pub link_list: u32,
    /// Dropped as a short run before or after the main text.
    pub edge: u32,
    /// Dropped as a short line that reads as chrome.
    pub phrase: u32,
    /// The container was too short and the page fell back to chrome-by-name pruning (1) or to every
    /// block (2); 0 when the container was used.
    pub fallback: u8,
}

/// Why a block is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// An enclosing element's class, id or role names page chrome.
    Chrome,
    /// Outside the content container.
    OutsideMain,
    /// Part of a link list.
    LinkList,
    /// A short run at the start or end of the kept text.
    Edge,
    /// A short line that reads as chrome ("Share this:", "Related posts", "Photo: ...").
    Phrase,
}

impl Drop {
    /// The name used in scores and explanations.
    pub fn name(self) -> &'static str {
        match self {
            Drop::Chrome => "chrome",
            Drop::OutsideMain => "outside_main",
            Drop::LinkList => "link_list",
            Drop::Edge => "edge",
            Drop::Phrase => "phrase",
        }
    }
}

/// What [`choose`] decided for each run.
pub struct Choice {
    /// Why each run is dropped; `None`: kept.
    pub why: Vec<Option<Drop>>,
    /// For a run dropped as chrome or as a link list, the element that made it so; else [`ROOT`].
    pub cause: Vec<u32>,
    /// The tally.
    pub decisions: Decisions,
}

/// Every block, without a main-text choice (`prefer_main = false`).
pub fn every_block(tree: &Tree) -> Choice {
    let blocks = tree.runs.len();
    Choice {
        why: vec![None; blocks],
        cause: vec![ROOT; blocks],
        decisions: Decisions {
            blocks: blocks as u32,
            kept: blocks as u32,
            ..Decisions::default()
        },
    }
}

/// Decides which runs to keep.
pub fn choose(tree: &Tree, favor: Favor, min_words: usize) -> Choice {
    let t = favor.thresholds();
    let n = tree.nodes.len();

    // 1. Chrome by name, top-down (parents come first).
    // A chrome-named element holding most of the page is a mislabeled wrapper, not chrome.
    let total: u32 = tree.runs.iter().map(|r| r.counts.chars).sum();
    // For each node, the chrome-named element it sits in (itself included), or ROOT: a node is chrome
    // when this is set, and a dropped block names that element. Inside a marked body only strong
    // chrome words count.
    let mut named_by = vec![ROOT; n];
    let mut in_body = vec![false; n];
    for i in 0..n {
        let node = &tree.nodes[i];
        let parent = node.parent;
        let inherited = parent != ROOT && named_by[parent as usize] != ROOT;
        in_body[i] = parent != ROOT
            && (in_body[parent as usize] || tree.nodes[parent as usize].info.hint.main);
        let hint = node.info.hint;
        let named = hint.negative
            && (hint.strong || !in_body[i])
            && node.info.tag != Tag::Body
            && u64::from(node.counts.chars) * 2 < u64::from(total);
        named_by[i] = if inherited {
            named_by[parent as usize]
        } else if named {
            i as u32
        } else {
            ROOT
        };
    }
    let chrome = |node: u32| node != ROOT && named_by[node as usize] != ROOT;

    // 2. Score candidates.
    let mut score = vec![f64::NAN; n];
    let init = |i: usize, score: &mut Vec<f64>| {
        if score[i].is_nan() {
            let node = &tree.nodes[i];
            let base = match node.info.tag {
                Tag::Div | Tag::Section => 5.0,
                Tag::Article | Tag::Main => 10.0,
                Tag::Pre | Tag::Quote | Tag::Table => 3.0,
                Tag::List | Tag::ListItem => -3.0,
                Tag::Heading => -5.0,
                _ => 0.0,
            };
            let main = if node.info.hint.main { 25.0 } else { 0.0 };
            score[i] = base + f64::from(node.info.hint.weight) + main;
        }
    };
    for run in &tree.runs {
        if run.owner == ROOT || chrome(run.owner) {
            continue;
        }
        let length = run.text.chars().count();
        if length < 25 {
            continue;
        }
        let content = 1.0 + f64::from(run.counts.commas) + ((length / 100) as f64).min(3.0);
        // Readability scores paragraphs, headings and preformatted text (its `DEFAULT_TAGS_TO_SCORE`),
        // and text straight in a `div`, which it turns into a paragraph; list items do not score, or a
        // list of references or links would outscore the article it follows.
        let first = match tree.nodes[run.owner as usize].info.tag {
            Tag::P | Tag::Pre | Tag::Heading => tree.nodes[run.owner as usize].parent,
            Tag::Div | Tag::Section | Tag::Article | Tag::Main | Tag::Body | Tag::Other => {
                run.owner
            }
            _ => continue,
        };
        if first == ROOT {
            continue;
        }
        let chain = std::iter::once(first).chain(tree.ancestors(first)).take(5);
        for (level, a) in chain.enumerate() {
            if chrome(a) {
                break;
            }
            let a = a as usize;
            init(a, &mut score);
            let divider = match level {
                0 => 1.0,
                1 => 2.0,
                l => l as f64 * 3.0,
            };
            score[a] += content / divider;
        }
    }
    let mut candidates: Vec<(u32, f64)> = score
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_nan())
        .map(|(i, &s)| (i as u32, s * (1.0 - tree.nodes[i].counts.link_density())))
        .collect();
    // Highest first; ties go to the earlier element, so the choice is deterministic.
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));

    // Why each run is dropped; `None`: kept.
    let mut why: Vec<Option<Drop>> = vec![None; tree.runs.len()];
    let container = if t.container {
        candidates
            .first()
            .map(|&(top, top_score)| widen(tree, &candidates, top, top_score))
    } else {
        None
    };

    // The container and the siblings that join it.
    let mut members: Vec<u32> = Vec::new();
    if let Some((top, top_score)) = container {
        members.push(top);
        let parent = tree.nodes[top as usize].parent;
        if parent != ROOT {
            let threshold = (top_score * t.sibling_share).max(10.0);
            for (i, node) in tree.nodes.iter().enumerate() {
                let i = i as u32;
                if i == top || node.parent != parent || !node.seen || chrome(i) {
                    continue;
                }
                let s = score[i as usize];
                let scored = !s.is_nan() && s * (1.0 - node.counts.link_density()) >= threshold;
                let prose = node.counts.chars > 80 && node.counts.link_density() < 0.25;
                if scored || prose {
                    members.push(i);
                }
            }
        }
    }
    // Top-down (parents come first): inside a member, and above the container.
    let mut member = vec![false; n];
    for &m in &members {
        member[m as usize] = true;
    }
    let mut inside = vec![false; n];
    for i in 0..n {
        let parent = tree.nodes[i].parent;
        inside[i] = member[i] || (parent != ROOT && inside[parent as usize]);
    }
    let mut holds_container = vec![false; n];
    if let Some((top, _)) = container {
        holds_container[top as usize] = true;
        for a in tree.ancestors(top) {
            holds_container[a as usize] = true;
        }
    }
    let in_container =
        |owner: u32| -> bool { members.is_empty() || (owner != ROOT && inside[owner as usize]) };

    // 3. Link lists inside: for each node, the outermost list/div/table it sits in that is mostly
    // links, or ROOT.
    let mut list_root = vec![ROOT; n];
    for i in 0..n {
        let node = &tree.nodes[i];
        let parent = node.parent;
        if parent != ROOT && list_root[parent as usize] != ROOT {
            list_root[i] = list_root[parent as usize];
            continue;
        }
        if node.info.hint.main || node.counts.chars == 0 {
            continue;
        }
        if holds_container[i] {
            // Never the container itself or what holds it.
            continue;
        }
        let limit = if node.info.hint.weight >= 25 {
            t.link_list_positive
        } else {
            t.link_list
        };
        let listy = matches!(
            node.info.tag,
            Tag::List | Tag::Div | Tag::Section | Tag::Table
        );
        if listy && node.counts.commas < 10 && node.counts.link_density() > limit {
            list_root[i] = i as u32;
        }
    }

    // The container and what holds it are never chrome: a chrome-named element's descendants are all
    // chrome, and they neither score nor become candidates.
    for (r, run) in tree.runs.iter().enumerate() {
        let owner = run.owner;
        why[r] = if chrome(owner) {
            Some(Drop::Chrome)
        } else if !in_container(owner) {
            Some(Drop::OutsideMain)
        } else if (owner != ROOT && list_root[owner as usize] != ROOT)
            || run.counts.link_density() > 0.9 && !t.container
        {
            Some(Drop::LinkList)
        } else {
            None
        };
    }
    let kept = |why: &[Option<Drop>], r: usize| why[r].is_none();

    // 4. Prose beside the container (jusText's idea: a block is judged with its neighbours). A long,
    // link-free run outside the container, within a few runs of kept text, is content the container
    // missed (an article split into sibling sections); the kept text grows from the container outwards,
    // so that prose further away (teasers of other stories, a donation box) stays out. A short run
    // between two kept ones is then a heading or a caption of that content.
    if container.is_some() && t.prose_outside > 0 {
        let prose = |r: usize| {
            why[r] == Some(Drop::OutsideMain)
                && tree.runs[r].counts.chars >= t.prose_outside
                && tree.runs[r].counts.link_density() < 0.2
        };
        let runs = tree.runs.len();
        let mut grow = vec![false; runs];
        let mut last_kept: Option<usize> = None;
        for (r, grows) in grow.iter_mut().enumerate() {
            if kept(&why, r) {
                last_kept = Some(r);
            } else if prose(r) && last_kept.is_some_and(|k| r - k <= t.prose_reach) {
                *grows = true;
                last_kept = Some(r);
            }
        }
        let mut next_kept: Option<usize> = None;
        for r in (0..runs).rev() {
            if kept(&why, r) || grow[r] {
                next_kept = Some(r);
            } else if prose(r) && next_kept.is_some_and(|k| k - r <= t.prose_reach) {
                grow[r] = true;
                next_kept = Some(r);
            }
        }
        for r in 0..runs {
            if grow[r] {
                why[r] = None;
            }
        }
        for r in 1..tree.runs.len().saturating_sub(1) {
            if why[r] == Some(Drop::OutsideMain)
                && tree.runs[r].counts.link_density() < 0.5
                && kept(&why, r - 1)
                && kept(&why, r + 1)
            {
                why[r] = None;
            }
        }
    }

    // Short lines that read as chrome ("Share this:", "Related posts", "Foto: ..."), wherever they are.
    if t.phrases {
        for (r, run) in tree.runs.iter().enumerate() {
            if kept(&why, r) && vocab::chrome_phrase(&run.text) {
                why[r] = Some(Drop::Phrase);
            }
        }
    }

    // 5. Edges. A short run before the first or after the last long, link-poor run of the kept text is
    // a byline, a date, a photo credit, "share this", "related posts:" (jusText's rule that a short block
    // stays only between good ones). A heading stays when good text follows it.
    if container.is_some() && t.edge_good > 0 {
        let good = |r: usize| {
            kept(&why, r)
                && tree.runs[r].counts.chars >= t.edge_good
                && tree.runs[r].counts.link_density() < 0.3
        };
        let first = (0..tree.runs.len()).find(|&r| good(r));
        let last = (0..tree.runs.len()).rev().find(|&r| good(r));
        if let (Some(first), Some(last)) = (first, last) {
            for r in 0..tree.runs.len() {
                if !kept(&why, r) || (first..=last).contains(&r) {
                    continue;
                }
                let owner = tree.runs[r].owner;
                let heading = owner != ROOT && tree.nodes[owner as usize].info.tag == Tag::Heading;
                if heading && r < first {
                    continue;
                }
                why[r] = Some(Drop::Edge);
            }
        }
    }

    let words = |why: &[Option<Drop>]| -> usize {
        tree.runs
            .iter()
            .zip(why)
            .filter(|(_, w)| w.is_none())
            .map(|(r, _)| r.text.split_whitespace().count())
            .sum()
    };
    let mut fallback = 0;
    if words(&why) < min_words {
        // The container guess failed: drop only chrome by name.
        fallback = 1;
        for (w, run) in why.iter_mut().zip(&tree.runs) {
            *w = chrome(run.owner).then_some(Drop::Chrome);
        }
        if words(&why) < min_words {
            fallback = 2;
            why.iter_mut().for_each(|w| *w = None);
        }
    }
    let mut decisions = Decisions {
        blocks: tree.runs.len() as u32,
        fallback,
        ..Decisions::default()
    };
    for w in &why {
        match w {
            None => decisions.kept += 1,
            Some(Drop::Chrome) => decisions.chrome += 1,
            Some(Drop::OutsideMain) => decisions.outside_main += 1,
            Some(Drop::LinkList) => decisions.link_list += 1,
            Some(Drop::Edge) => decisions.edge += 1,
            Some(Drop::Phrase) => decisions.phrase += 1,
        }
    }
    let cause = tree
        .runs
        .iter()
        .zip(&why)
        .map(|(run, w)| match (w, run.owner) {
            (_, ROOT) => ROOT,
            (Some(Drop::Chrome), o) => named_by[o as usize],
            (Some(Drop::LinkList), o) => list_root[o as usize],
            _ => ROOT,
        })
        .collect();
    Choice {
        why,
        cause,
        decisions,
    }
}

/// Readability's "alternative candidates" rule: when at least three of the next four candidates scoring
/// three quarters of the best lie inside one of the best's ancestors, that ancestor is the container.
fn widen(tree: &Tree, candidates: &[(u32, f64)], top: u32, top_score: f64) -> (u32, f64) {
    let close: Vec<u32> = candidates
        .iter()
        .skip(1)
        .take(4)
        .filter(|&&(_, s)| s >= 0.75 * top_score)
        .map(|&(c, _)| c)
        .collect();
    if close.len() >= 3 {
        for ancestor in tree.ancestors(top) {
            if tree.nodes[ancestor as usize].info.tag == Tag::Body {
                break;
            }
            let inside = close.iter().filter(|&&c| tree.within(c, ancestor)).count();
            if inside >= 3 {
                let s = candidates
                    .iter()
                    .find(|&&(c, _)| c == ancestor)
                    .map_or(top_score, |&(_, s)| s);
                return (ancestor, s);
            }
        }
    }
    // An only child stands for its parent.
    let mut at = top;
    for _ in 0..8 {
        let parent = tree.nodes[at as usize].parent;
        if parent == ROOT || tree.nodes[parent as usize].info.tag == Tag::Body {
            break;
        }
        let siblings = tree
            .nodes
            .iter()
            .filter(|n| n.parent == parent && n.seen && n.counts.chars > 0)
            .count();
        if siblings != 1
            || tree.nodes[parent as usize].counts.chars != tree.nodes[at as usize].counts.chars
        {
            break;
        }
        at = parent;
    }
    (at, top_score)
}
