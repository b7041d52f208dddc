//! HTML to main text, with the streaming rewriter lol_html.
//!
//! lol_html is a streaming, selector-driven rewriter (Cloudflare's HTMLRewriter): its memory does not grow
//! with the page, it copes with broken markup the way browsers' tokenizers do, and it builds for every wasm
//! target. It does not build a tree, so extraction takes two streaming passes:
//!
//! 1. *Prune*: remove whole subtrees that are not content (scripts, styles, navigation, headers, footers,
//!    asides, forms, hidden elements, ...), capture the `<title>`, and mark block boundaries (`<p>`,
//!    `<li>`, headings, ...) and line breaks (`<br>`) with private-use characters. Removal is done by the
//!    rewriter itself, which knows where each element ends even when its end tag is implied.
//! 2. *Collect*: gather the remaining text, and separately the text inside `<article>` and `<main>`.
//!
//! When an `<article>` (or else a `<main>`) holds at least `min_main_words` words and `min_main_share` of
//! the page's words, it is the document; otherwise the whole pruned page is. Entities are decoded, whitespace runs become one space, blocks
//! become lines.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{ContentType, Element, TextChunk};
use lol_html::{
    DocumentContentHandlers, ElementContentHandlers, HtmlRewriter, MemorySettings, Selector,
    Settings,
};
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, StepError, ensure_unit_interval};
use crate::step::{Draft, Step};

/// Marks the start or end of a block in the pruned page.
const BLOCK: char = '\u{E000}';
/// Marks a `<br>`.
const BREAK: char = '\u{E001}';

const DEFAULT_SKIP: &[&str] = &[
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "math",
    "canvas",
    "iframe",
    "object",
    "embed",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "button",
    "select",
    "textarea",
    "dialog",
    "[hidden]",
    "[aria-hidden=\"true\"]",
    "[role=\"navigation\"]",
    "[role=\"banner\"]",
    "[role=\"contentinfo\"]",
    "[role=\"complementary\"]",
];

const BLOCK_TAGS: &str = "p, div, section, article, main, h1, h2, h3, h4, h5, h6, ul, ol, li, dl, dt, dd, \
    table, thead, tbody, tr, blockquote, pre, figure, figcaption, hr, address, details, summary, center, body";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// Options of the `html` step, which turns a page into its main text.
pub struct HtmlConfig {
    /// CSS selectors of elements removed with everything inside them.
    pub skip: Vec<String>,
    /// Use `<article>` / `<main>` when present and at least this many words long.
    pub prefer_main: bool,
    /// Fewest words an `<article>` / `<main>` must have to be preferred (25).
    pub min_main_words: usize,
    /// ... and at least this share of the pruned page's words: `<article>` is also used for teaser cards
    /// of related stories, which must not win over an article body that sits in a plain `<div>`.
    pub min_main_share: f64,
    /// The rewriter's memory cap per page, in bytes; a page needing more is an error, not a crash.
    pub max_parser_memory: usize,
}

impl Default for HtmlConfig {
    fn default() -> Self {
        Self {
            skip: DEFAULT_SKIP.iter().map(|s| s.to_string()).collect(),
            prefer_main: true,
            min_main_words: 25,
            min_main_share: 0.3,
            max_parser_memory: 64 << 20,
        }
    }
}

impl HtmlConfig {
    /// Checks the skip selectors, `min_main_share` and the memory cap, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        for (i, selector) in self.skip.iter().enumerate() {
            selector.parse::<Selector>().map_err(|e| {
                ConfigError::new(
                    format!("{path}.skip[{i}]"),
                    format!("`{selector}` is not a supported CSS selector: {e}"),
                )
            })?;
        }
        ensure_unit_interval(path, &[("min_main_share", self.min_main_share)])?;
        if self.max_parser_memory < 1024 {
            return Err(ConfigError::new(
                format!("{path}.max_parser_memory"),
                "must be at least 1024 bytes",
            ));
        }
        Ok(())
    }
}

/// The `html` step.
pub struct Extract {
    skip: Vec<Selector>,
    blocks: Selector,
    prefer_main: bool,
    min_main_words: usize,
    min_main_share: f64,
    max_parser_memory: usize,
}

/// What extraction found in one page.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The page's main text, blocks separated by line breaks.
    pub text: String,
    /// The `<title>`, when the page has one.
    pub title: Option<String>,
}

impl Extract {
    /// Builds the `html` step; fails on a skip selector that does not parse.
    pub fn new(config: &HtmlConfig) -> Result<Self, ConfigError> {
        config.validate("html")?;
        let skip = config.skip.iter().filter_map(|s| s.parse().ok()).collect();
        let blocks = BLOCK_TAGS
            .parse()
            .map_err(|e| ConfigError::new("html", format!("block selector: {e}")))?;
        Ok(Self {
            skip,
            blocks,
            prefer_main: config.prefer_main,
            min_main_words: config.min_main_words,
            min_main_share: config.min_main_share,
            max_parser_memory: config.max_parser_memory,
        })
    }

    /// Extracts the main text and title of a page.
    pub fn extract(&self, html: &str) -> Result<Extracted, String> {
        // Our markers must not come from the page itself.
        let html: Cow<str> = if html.contains([BLOCK, BREAK]) {
            Cow::Owned(html.replace([BLOCK, BREAK], " "))
        } else {
            Cow::Borrowed(html)
        };
        let (pruned, title) = self.prune(&html)?;
        let parts = self.collect(&pruned)?;
        let all = finish(&parts.all);
        let chosen = if self.prefer_main {
            let page_words = all.split_whitespace().count() as f64;
            [&parts.article, &parts.main]
                .into_iter()
                .map(|raw| finish(raw))
                .find(|text| {
                    let words = text.split_whitespace().count();
                    words >= self.min_main_words && words as f64 >= self.min_main_share * page_words
                })
        } else {
            None
        };
        let text = chosen.unwrap_or(all);
        let title = title
            .map(|t| collapse_spaces(&decode(&t)))
            .filter(|t| !t.is_empty());
        Ok(Extracted { text, title })
    }

    fn memory(&self) -> MemorySettings {
        MemorySettings::new().with_max_allowed_memory_usage(self.max_parser_memory)
    }

    fn prune(&self, html: &str) -> Result<(String, Option<String>), String> {
        let title: Rc<RefCell<Option<String>>> = Rc::default();
        let mut settings = Settings::new().with_memory_settings(self.memory());
        let title_sink = Rc::clone(&title);
        settings = settings.append_element_content_handler((
            Cow::Owned("title".parse::<Selector>().map_err(|e| e.to_string())?),
            ElementContentHandlers::default().text(move |t: &mut TextChunk| {
                title_sink
                    .borrow_mut()
                    .get_or_insert_with(String::new)
                    .push_str(t.as_str());
                Ok(())
            }),
        ));
        settings = settings.append_element_content_handler((
            Cow::Owned("head".parse::<Selector>().map_err(|e| e.to_string())?),
            ElementContentHandlers::default().element(|el: &mut Element| {
                el.remove();
                Ok(())
            }),
        ));
        for selector in &self.skip {
            settings = settings.append_element_content_handler((
                Cow::Owned(selector.clone()),
                ElementContentHandlers::default().element(|el: &mut Element| {
                    el.remove();
                    Ok(())
                }),
            ));
        }
        settings = settings.append_element_content_handler((
            Cow::Owned(self.blocks.clone()),
            ElementContentHandlers::default().element(|el: &mut Element| {
                el.before(&BLOCK.to_string(), ContentType::Text);
                el.prepend(&BLOCK.to_string(), ContentType::Text);
                if el.can_have_content() {
                    el.append(&BLOCK.to_string(), ContentType::Text);
                }
                Ok(())
            }),
        ));
        settings = settings.append_element_content_handler((
            Cow::Owned(
                "br, td, th"
                    .parse::<Selector>()
                    .map_err(|e| e.to_string())?,
            ),
            ElementContentHandlers::default().element(|el: &mut Element| {
                let mark = if el.tag_name() == "br" { BREAK } else { ' ' };
                el.before(&mark.to_string(), ContentType::Text);
                Ok(())
            }),
        ));
        let mut out = Vec::with_capacity(html.len());
        let mut rewriter = HtmlRewriter::new(settings, |chunk: &[u8]| out.extend_from_slice(chunk));
        rewriter
            .write(html.as_bytes())
            .map_err(|e| format!("HTML could not be parsed: {e}"))?;
        rewriter
            .end()
            .map_err(|e| format!("HTML could not be parsed: {e}"))?;
        let pruned =
            String::from_utf8(out).map_err(|e| format!("rewriter produced invalid UTF-8: {e}"))?;
        let title = title.borrow_mut().take();
        Ok((pruned, title))
    }

    fn collect(&self, pruned: &str) -> Result<Parts, String> {
        let parts: Rc<RefCell<Parts>> = Rc::default();
        let mut settings = Settings::new().with_memory_settings(self.memory());
        let all = Rc::clone(&parts);
        settings = settings.append_document_content_handler(
            DocumentContentHandlers::default().text(move |t: &mut TextChunk| {
                all.borrow_mut().all.push_str(t.as_str());
                Ok(())
            }),
        );
        for (name, pick) in [("article", Part::Article), ("main", Part::Main)] {
            let sink = Rc::clone(&parts);
            settings = settings.append_element_content_handler((
                Cow::Owned(name.parse::<Selector>().map_err(|e| e.to_string())?),
                ElementContentHandlers::default().text(move |t: &mut TextChunk| {
                    let mut parts = sink.borrow_mut();
                    let buffer = match pick {
                        Part::Article => &mut parts.article,
                        Part::Main => &mut parts.main,
                    };
                    buffer.push_str(t.as_str());
                    // Keep separate articles apart.
                    if t.last_in_text_node() {
                        buffer.push(BLOCK);
                    }
                    Ok(())
                }),
            ));
        }
        let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
        rewriter
            .write(pruned.as_bytes())
            .map_err(|e| format!("HTML could not be parsed: {e}"))?;
        rewriter
            .end()
            .map_err(|e| format!("HTML could not be parsed: {e}"))?;
        let parts = parts.take();
        Ok(parts)
    }
}

#[derive(Debug, Default)]
struct Parts {
    all: String,
    article: String,
    main: String,
}

#[derive(Debug, Clone, Copy)]
enum Part {
    Article,
    Main,
}

impl Step for Extract {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let Some(html) = draft.html.take() else {
            // A plain-text document passes through untouched.
            return Ok(());
        };
        let extracted = self.extract(&html).map_err(|message| StepError {
            step: "html",
            message,
        })?;
        draft.set_text(extracted.text);
        draft.title = extracted.title;
        Ok(())
    }
}

/// Decodes entities, turns markers into line breaks and collapses whitespace.
fn finish(raw: &str) -> String {
    let decoded = decode(raw);
    let mut out = String::with_capacity(decoded.len());
    for block in decoded.split(BLOCK) {
        for line in block.split(BREAK) {
            let line = collapse_spaces(line);
            if !line.is_empty() {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&line);
            }
        }
    }
    out
}

fn decode(raw: &str) -> Cow<'_, str> {
    html_escape::decode_html_entities(raw)
}

/// One space for every run of whitespace (including non-breaking spaces, which pages use for layout),
/// trimmed.
fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s
        .split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(html: &str) -> Extracted {
        Extract::new(&HtmlConfig::default())
            .unwrap()
            .extract(html)
            .unwrap()
    }

    #[test]
    fn keeps_paragraphs_and_drops_boilerplate() {
        let page = "<html><head><title>A &amp; B</title><style>p{color:red}</style></head><body>\
            <header>Site name</header><nav><a href=/>Home</a></nav>\
            <p>First paragraph with <b>bold</b> text.</p><p>Second&nbsp;one &lt;here&gt;.</p>\
            <script>var x = 1;</script><footer>Copyright</footer></body></html>";
        let out = extract(page);
        assert_eq!(
            out.text,
            "First paragraph with bold text.\nSecond one <here>."
        );
        assert_eq!(out.title.as_deref(), Some("A & B"));
    }

    #[test]
    fn prefers_a_long_enough_article() {
        let body = "word ".repeat(30);
        let page = format!(
            "<body><div>Menu links here</div><article><h1>Title</h1><p>{body}</p></article></body>"
        );
        let out = extract(&page);
        assert!(out.text.starts_with("Title\nword word"), "{}", out.text);
        assert!(!out.text.contains("Menu"));
        // A short article is not trusted over the page.
        let short = "<body><p>Real content lives here.</p><article>Tiny</article></body>";
        assert_eq!(extract(short).text, "Real content lives here.\nTiny");
    }

    #[test]
    fn teaser_cards_in_articles_do_not_win_over_the_body() {
        let body = "<p>".to_string() + &"story ".repeat(200) + "</p>";
        let cards = "<article>".to_string() + &"teaser ".repeat(30) + "</article>";
        let out = extract(&format!("<body><div>{body}</div>{cards}</body>"));
        assert!(out.text.starts_with("story story"), "{}", &out.text[..40]);
    }

    #[test]
    fn keeps_list_items_and_line_breaks_apart() {
        let out = extract("<ul><li>one</li><li>two</li></ul><p>a<br>b</p>");
        assert_eq!(out.text, "one\ntwo\na\nb");
    }

    #[test]
    fn copes_with_broken_markup() {
        let out = extract("<p>unclosed <b>bold <i>italic<p>next para</div></span><nav>menu");
        assert_eq!(out.text, "unclosed bold italic\nnext para");
        assert_eq!(extract("").text, "");
        assert_eq!(extract("<<<>>>&&&;").text, "<<<>>>&&&;");
    }

    #[test]
    fn survives_deep_nesting() {
        let depth = 20_000;
        let page = format!(
            "{}deep text{}",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        );
        let result = Extract::new(&HtmlConfig::default()).unwrap().extract(&page);
        match result {
            Ok(out) => assert_eq!(out.text, "deep text"),
            Err(message) => assert!(message.contains("memory"), "{message}"),
        }
    }

    #[test]
    fn hidden_and_role_marked_elements_are_dropped() {
        let out = extract("<div hidden>secret</div><div role=\"navigation\">nav</div><p>shown</p>");
        assert_eq!(out.text, "shown");
    }

    #[test]
    fn page_markers_in_input_cannot_forge_breaks() {
        assert_eq!(extract("<p>a\u{E000}b</p>").text, "a b");
    }

    #[test]
    fn bad_selector_is_a_config_error_naming_it() {
        let config = HtmlConfig {
            skip: vec!["nav".into(), "p[".into()],
            ..Default::default()
        };
        assert_eq!(config.validate("html").unwrap_err().path, "html.skip[1]");
    }

    #[test]
    fn plain_text_documents_pass_through() {
        let mut draft = Draft::new("d", "already text");
        Extract::new(&HtmlConfig::default())
            .unwrap()
            .run(&mut draft)
            .unwrap();
        assert_eq!(draft.text(), "already text");
    }
}
