//! The marked text read once into blocks: runs of text, each owned by its innermost block element, with
//! the element tree they sit in and how much of their text is link text.
//!
//! This is not a DOM: only the marked elements are nodes, and a node knows its parent, its kind, its
//! hint and its text totals. Markers that the rewriter could not balance (an end tag it never saw) are
//! tolerated: a close pops everything opened after its element, and a close for an element that is not
//! open is ignored.

use super::markup::{BLOCK, BREAK, CLOSE, END, Marked, NodeInfo, OPEN, Tag};

/// No parent.
pub const ROOT: u32 = u32::MAX;

/// What a piece of text holds, as the scorer weighs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Non-whitespace characters.
    pub chars: u32,
    /// ... of which inside links.
    pub link_chars: u32,
    /// Commas (and their CJK and Arabic forms): the sentence signal Readability counts.
    pub commas: u32,
}

impl Counts {
    /// Share of the text that is link text.
    pub fn link_density(&self) -> f64 {
        if self.chars == 0 {
            0.0
        } else {
            f64::from(self.link_chars) / f64::from(self.chars)
        }
    }

    fn add(&mut self, other: Counts) {
        self.chars += other.chars;
        self.link_chars += other.link_chars;
        self.commas += other.commas;
    }
}

/// A marked element in the tree.
#[derive(Debug, Clone)]
pub struct Node {
    pub info: NodeInfo,
    /// The innermost open block element when this one opened, or [`ROOT`].
    pub parent: u32,
    /// This element's text, descendants included.
    pub counts: Counts,
    /// Whether the element's markers appeared in the text (a removed element's never do).
    pub seen: bool,
}

/// A run of text between two block boundaries.
#[derive(Debug, Clone)]
pub struct Run {
    /// Entities decoded, whitespace collapsed, `<br>` breaks as `\n`.
    pub text: String,
    /// The innermost block element it sits in, or [`ROOT`].
    pub owner: u32,
    pub counts: Counts,
}

/// Nodes and runs of one page.
#[derive(Debug, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub runs: Vec<Run>,
}

impl Tree {
    /// The parent chain of `node`, nearest first, without `node` itself.
    pub fn ancestors(&self, node: u32) -> impl Iterator<Item = u32> + '_ {
        let mut at = node;
        std::iter::from_fn(move || {
            if at == ROOT {
                return None;
            }
            at = self.nodes[at as usize].parent;
            (at != ROOT).then_some(at)
        })
    }

    /// Whether `node` is `ancestor` or lies inside it.
    pub fn within(&self, node: u32, ancestor: u32) -> bool {
        node == ancestor || self.ancestors(node).any(|a| a == ancestor)
    }
}

/// Builder state: the open elements and the run being filled.
struct Reader<'a> {
    infos: &'a [NodeInfo],
    tree: Tree,
    /// Open elements, innermost last. Numbers only grow along a parent chain, so it is sorted.
    stack: Vec<u32>,
    links_open: usize,
    raw_line: String,
    lines: Vec<String>,
    /// What the run being filled holds so far.
    run: Counts,
}

impl Reader<'_> {
    fn innermost_block(&self) -> u32 {
        self.stack
            .iter()
            .rev()
            .copied()
            .find(|&n| self.infos[n as usize].tag.is_block())
            .unwrap_or(ROOT)
    }

    fn text(&mut self, raw: &str) {
        if raw.is_empty() {
            return;
        }
        let decoded = html_escape::decode_html_entities(raw);
        // A soft hyphen (`&shy;`) is a hyphenation hint, not visible text: "Kiess&shy;ling" reads
        // "Kiessling".
        let decoded = if decoded.contains('\u{AD}') {
            std::borrow::Cow::Owned(decoded.replace('\u{AD}', ""))
        } else {
            decoded
        };
        let mut chars = 0;
        let mut commas = 0;
        for c in decoded.chars() {
            if !c.is_whitespace() {
                chars += 1;
                if matches!(c, ',' | '\u{FF0C}' | '\u{3001}' | '\u{060C}') {
                    commas += 1;
                }
            }
        }
        self.run.add(Counts {
            chars,
            link_chars: if self.links_open > 0 { chars } else { 0 },
            commas,
        });
        self.raw_line.push_str(&decoded);
    }

    fn line_break(&mut self) {
        let line = collapse_spaces(&self.raw_line);
        self.raw_line.clear();
        if !line.is_empty() {
            self.lines.push(line);
        }
    }

    fn flush(&mut self) {
        self.line_break();
        let counts = std::mem::take(&mut self.run);
        if self.lines.is_empty() {
            return;
        }
        let owner = self.innermost_block();
        let text = self.lines.join("\n");
        self.lines.clear();
        self.tree.runs.push(Run {
            text,
            owner,
            counts,
        });
        if owner != ROOT {
            self.tree.nodes[owner as usize].counts.add(counts);
        }
    }

    fn open(&mut self, number: u32) {
        let Some(info) = self.infos.get(number as usize) else {
            return;
        };
        if self.stack.last().is_some_and(|&top| top >= number) {
            // Out of order: the page's own text cannot forge markers, so this does not happen; refuse
            // it rather than break the sorted stack.
            return;
        }
        if info.tag.is_block() {
            self.flush();
        }
        let parent = self.innermost_block();
        let node = &mut self.tree.nodes[number as usize];
        node.parent = parent;
        node.seen = true;
        self.stack.push(number);
        if info.tag == Tag::Link {
            self.links_open += 1;
        }
    }

    fn close(&mut self, number: u32) {
        let Ok(at) = self.stack.binary_search(&number) else {
            return;
        };
        let closes_block = self.stack[at..]
            .iter()
            .any(|&n| self.infos[n as usize].tag.is_block());
        if closes_block {
            self.flush();
        }
        for n in self.stack.drain(at..) {
            if self.infos[n as usize].tag == Tag::Link {
                self.links_open -= 1;
            }
        }
    }
}

/// Reads the marked text into a tree.
pub fn read(marked: &Marked) -> Tree {
    let nodes = marked
        .nodes
        .iter()
        .map(|&info| Node {
            info,
            parent: ROOT,
            counts: Counts::default(),
            seen: false,
        })
        .collect();
    let mut reader = Reader {
        infos: &marked.nodes,
        tree: Tree {
            nodes,
            runs: Vec::new(),
        },
        stack: Vec::new(),
        links_open: 0,
        raw_line: String::new(),
        lines: Vec::new(),
        run: Counts::default(),
    };
    let text = marked.text.as_str();
    let mut rest = text;
    while let Some(at) = rest.find([BLOCK, BREAK, OPEN, CLOSE]) {
        reader.text(&rest[..at]);
        let marker = rest[at..].chars().next().unwrap_or(BLOCK);
        rest = &rest[at + marker.len_utf8()..];
        match marker {
            BLOCK => reader.flush(),
            BREAK => reader.line_break(),
            _ => {
                let end = rest.find(END).unwrap_or(rest.len());
                let number = rest[..end].parse::<u32>().ok();
                rest = rest.get(end + END.len_utf8()..).unwrap_or("");
                match (marker, number) {
                    (OPEN, Some(n)) => reader.open(n),
                    (_, Some(n)) => reader.close(n),
                    _ => {}
                }
            }
        }
    }
    reader.text(rest);
    reader.flush();
    let mut tree = reader.tree;
    // Children come after their parents, so one backward sweep sums every subtree.
    for i in (0..tree.nodes.len()).rev() {
        let parent = tree.nodes[i].parent;
        if parent != ROOT && (parent as usize) < i {
            let counts = tree.nodes[i].counts;
            tree.nodes[parent as usize].counts.add(counts);
        }
    }
    tree
}

/// One space for every run of whitespace (including non-breaking spaces, which pages use for layout),
/// trimmed.
pub fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}
