//! The two streaming lol_html passes: the page becomes its visible text, with markers where elements open
//! and close.
//!
//! lol_html is a streaming rewriter. It never builds a tree, so its memory stays bounded on huge or
//! broken pages. The block scorer still needs to know which text sits in which element, so the first
//! pass writes that into the stream itself:
//!
//! 1. *Prune and mark.* Whole subtrees that are never content (scripts, styles, `nav`, forms, hidden
//!    elements, the configured `skip` list) are removed by the rewriter, which knows where each element
//!    ends even when its end tag is implied. Every block element and every link gets an *open* marker
//!    (a private-use character and the element's number) as its first content and a *close* marker as
//!    its last, and its class, id, role and itemprop are read once into a [`Hint`]. The `<title>` and the
//!    metadata in `<head>` are captured here.
//! 2. *Collect.* A second rewriter keeps only the text, markers included: tags, comments and attributes
//!    go.
//!
//! `tree.rs` then reads that text once, left to right, into blocks.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{ContentType, Element, TextChunk};
use lol_html::{
    DocumentContentHandlers, ElementContentHandlers, HtmlRewriter, MemorySettings, Selector,
    Settings,
};

use super::meta::{MetaSink, PageMeta};
use super::vocab::{self, Hint};

/// Starts an element's number: `OPEN`, decimal digits, `END`.
pub const OPEN: char = '\u{E002}';
/// Starts a closing element's number: `CLOSE`, decimal digits, `END`.
pub const CLOSE: char = '\u{E003}';
/// Ends a number.
pub const END: char = '\u{E004}';
/// A `<br>`: a line break inside a block.
pub const BREAK: char = '\u{E001}';
/// A boundary that belongs to no element (`<hr>`).
pub const BLOCK: char = '\u{E000}';
const BREAK_MARK: &str = "\u{E001}";
const BLOCK_MARK: &str = "\u{E000}";

/// Every marker; a page's own text never keeps one.
pub const MARKERS: [char; 5] = [BLOCK, BREAK, OPEN, CLOSE, END];

/// Elements that start a block, and links (inline, but the scorer counts their text).
const MARKED: &str = "p, div, section, article, main, h1, h2, h3, h4, h5, h6, ul, ol, li, dl, dt, dd, \
    table, thead, tbody, tfoot, tr, blockquote, pre, figure, figcaption, address, details, summary, \
    center, body, a";

/// What kind of element a marked node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    P,
    Div,
    Section,
    Article,
    Main,
    Heading,
    List,
    ListItem,
    Table,
    Row,
    Quote,
    Pre,
    Figure,
    Body,
    Link,
    Other,
}

impl Tag {
    fn of(name: &str) -> Self {
        match name {
            "p" => Tag::P,
            "div" | "center" => Tag::Div,
            "section" => Tag::Section,
            "article" => Tag::Article,
            "main" => Tag::Main,
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => Tag::Heading,
            "ul" | "ol" | "dl" => Tag::List,
            "li" | "dt" | "dd" => Tag::ListItem,
            "table" | "thead" | "tbody" | "tfoot" => Tag::Table,
            "tr" => Tag::Row,
            "blockquote" => Tag::Quote,
            "pre" => Tag::Pre,
            "figure" | "figcaption" => Tag::Figure,
            "body" => Tag::Body,
            "a" => Tag::Link,
            _ => Tag::Other,
        }
    }

    /// Links are inline: they neither start nor end a block.
    pub fn is_block(self) -> bool {
        self != Tag::Link
    }
}

/// One marked element, numbered in the order its start tag came.
#[derive(Debug, Clone, Copy)]
pub struct NodeInfo {
    pub tag: Tag,
    pub hint: Hint,
}

/// The page after both passes.
pub struct Marked {
    /// Visible text with markers; entities not yet decoded.
    pub text: String,
    /// Marked elements by number.
    pub nodes: Vec<NodeInfo>,
    /// `tag#id.class` of the elements whose hint names chrome, by number (ascending), so that a drop can
    /// name the element that caused it.
    pub labels: Vec<(u32, String)>,
    /// The `<title>`'s raw text.
    pub title: Option<String>,
    /// What the page states about itself.
    pub meta: PageMeta,
}

/// Parses one of the fixed selectors of the two passes (or a configured one, already validated).
pub fn selector(s: &str) -> Result<Selector, String> {
    s.parse::<Selector>()
        .map_err(|e| format!("selector {s}: {e}"))
}

/// Every selector of the first pass, parsed once per step rather than once per page.
pub struct Selectors {
    title: Selector,
    /// `head`, then the configured `skip` list: removed with everything inside.
    removed: Vec<Selector>,
    marked: Selector,
    breaks: Selector,
    meta: super::meta::Selectors,
}

impl Selectors {
    /// The fixed selectors and the configured `skip` list.
    pub fn new(skip: &[String]) -> Result<Self, String> {
        let mut removed = vec![selector("head")?];
        for s in skip {
            removed.push(selector(s)?);
        }
        Ok(Self {
            title: selector("title")?,
            removed,
            marked: selector(MARKED)?,
            breaks: selector("br, hr, td, th, img")?,
            meta: super::meta::Selectors::new()?,
        })
    }
}

/// Runs a rewriter over `input` to its end.
fn rewrite<O: lol_html::OutputSink>(
    settings: Settings<'_, '_>,
    input: &[u8],
    output: O,
) -> Result<(), String> {
    let parse_error =
        |e: lol_html::errors::RewritingError| format!("HTML could not be parsed: {e}");
    let mut rewriter = HtmlRewriter::new(settings, output);
    rewriter.write(input).map_err(parse_error)?;
    rewriter.end().map_err(parse_error)
}

/// Runs both passes over a page whose text holds no marker.
pub fn mark(html: &str, selectors: &Selectors, max_memory: usize) -> Result<Marked, String> {
    let memory = || MemorySettings::new().with_max_allowed_memory_usage(max_memory);
    let title: Rc<RefCell<Option<String>>> = Rc::default();
    let nodes: Rc<RefCell<Vec<NodeInfo>>> = Rc::default();
    let labels: Rc<RefCell<Vec<(u32, String)>>> = Rc::default();
    let meta: Rc<RefCell<MetaSink>> = Rc::default();

    let mut settings = Settings::new().with_memory_settings(memory());
    let title_sink = Rc::clone(&title);
    settings = settings.append_element_content_handler((
        Cow::Borrowed(&selectors.title),
        ElementContentHandlers::default().text(move |t: &mut TextChunk| {
            title_sink
                .borrow_mut()
                .get_or_insert_with(String::new)
                .push_str(t.as_str());
            Ok(())
        }),
    ));
    for (sel, handlers) in super::meta::handlers(&meta, &selectors.meta) {
        settings = settings.append_element_content_handler((Cow::Borrowed(sel), handlers));
    }
    for sel in &selectors.removed {
        settings = settings.append_element_content_handler((
            Cow::Borrowed(sel),
            ElementContentHandlers::default().element(|el: &mut Element| {
                el.remove();
                Ok(())
            }),
        ));
    }
    let node_sink = Rc::clone(&nodes);
    let label_sink = Rc::clone(&labels);
    // One buffer for every marker of the page, instead of a string per marker.
    let mut marker = String::new();
    settings = settings.append_element_content_handler((
        Cow::Borrowed(&selectors.marked),
        ElementContentHandlers::default().element(move |el: &mut Element| {
            use std::fmt::Write;
            let tag = Tag::of(&el.tag_name());
            let attr = |name: &str| el.get_attribute(name);
            let (class, id, role, itemprop) =
                (attr("class"), attr("id"), attr("role"), attr("itemprop"));
            let hint = vocab::hint(
                class.as_deref(),
                id.as_deref(),
                role.as_deref(),
                itemprop.as_deref(),
            );

            let mut nodes = node_sink.borrow_mut();
            let number = nodes.len();
            if hint.negative {
                let mut label = el.tag_name();
                for (mark, value) in [('#', &id), ('.', &class), ('@', &role), ('~', &itemprop)] {
                    if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                        label.push(mark);
                        label.extend(value.chars().take(80));
                    }
                }
                label_sink.borrow_mut().push((number as u32, label));
            }
            nodes.push(NodeInfo { tag, hint });
            marker.clear();
            let _ = write!(marker, "{OPEN}{number}{END}");
            el.prepend(&marker, ContentType::Text);
            if el.can_have_content() {
                marker.clear();
                let _ = write!(marker, "{CLOSE}{number}{END}");
                el.append(&marker, ContentType::Text);
            }
            Ok(())
        }),
    ));
    settings = settings.append_element_content_handler((
        Cow::Borrowed(&selectors.breaks),
        ElementContentHandlers::default().element(|el: &mut Element| {
            let mark = match el.tag_name().as_str() {
                "br" => BREAK_MARK,
                "hr" => BLOCK_MARK,
                _ => " ",
            };
            el.before(mark, ContentType::Text);
            Ok(())
        }),
    ));
    let mut pruned = Vec::with_capacity(html.len());
    rewrite(settings, html.as_bytes(), |chunk: &[u8]| {
        pruned.extend_from_slice(chunk)
    })?;

    let text: Rc<RefCell<String>> = Rc::new(RefCell::new(String::with_capacity(pruned.len() / 2)));
    let sink = Rc::clone(&text);
    let settings = Settings::new()
        .with_memory_settings(memory())
        .append_document_content_handler(DocumentContentHandlers::default().text(
            move |t: &mut TextChunk| {
                sink.borrow_mut().push_str(t.as_str());
                Ok(())
            },
        ));
    rewrite(settings, &pruned, |_: &[u8]| {})?;

    let text = text.take();
    let nodes = nodes.take();
    let labels = labels.take();
    let title = title.take();
    let meta = meta.take().finish();
    Ok(Marked {
        text,
        nodes,
        labels,
        title,
        meta,
    })
}
