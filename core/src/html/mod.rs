//! HTML to main text, with the streaming rewriter lol_html.
//!
//! lol_html is a streaming, selector-driven rewriter (Cloudflare's HTMLRewriter): its memory does not grow
//! with the page, it copes with broken markup the way browsers' tokenizers do, and it builds for every wasm
//! target. Extraction has three parts, one module each:
//!
//! - `markup`: two streaming passes turn the page into its visible text, with markers where block
//!   elements and links open and close, and read each element's class/id hint (`vocab`) and the page's
//!   declared metadata (`meta`);
//! - `tree`: one left-to-right read of that text into blocks, each owned by its innermost element, with
//!   text and link totals per element;
//! - `select`: the choice of main-text blocks (chrome by name, the content container, link lists), with
//!   every decision counted so that a drop can be explained.
//!
//! Entities are decoded, whitespace runs become one space, blocks become lines.

mod markup;
pub mod meta;
mod select;
mod tree;
mod vocab;

use serde::{Deserialize, Serialize};

use lol_html::Selector;

use crate::error::{ConfigError, StepError};
use crate::step::{Draft, Step};

pub use meta::PageMeta;
pub use select::{Decisions, Drop, Favor};

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// Options of the `html` step, which turns a page into its main text.
pub struct HtmlConfig {
    /// CSS selectors of elements removed with everything inside them.
    pub skip: Vec<String>,
    /// Keep only the main text (true), or every block that survives `skip` (false).
    pub prefer_main: bool,
    /// Which way the main-text choice leans: `"precision"` (less boilerplate, some lost sentences),
    /// `"balanced"` or `"recall"` (only chrome named as such and link lists go).
    pub favor: Favor,
    /// Fewest words the main text must have (25); a shorter one means the page has no clear body, and
    /// every block but those named as chrome is kept instead.
    pub min_main_words: usize,
    /// The rewriter's memory cap per page, in bytes; a page needing more is an error, not a crash.
    pub max_parser_memory: usize,
}

impl Default for HtmlConfig {
    fn default() -> Self {
        Self {
            skip: DEFAULT_SKIP.iter().map(|s| s.to_string()).collect(),
            prefer_main: true,
            favor: Favor::default(),
            min_main_words: 25,
            max_parser_memory: 64 << 20,
        }
    }
}

impl HtmlConfig {
    /// Checks the skip selectors and the memory cap, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        for (i, selector) in self.skip.iter().enumerate() {
            selector.parse::<Selector>().map_err(|e| {
                ConfigError::new(
                    format!("{path}.skip[{i}]"),
                    format!("`{selector}` is not a supported CSS selector: {e}"),
                )
            })?;
        }
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
    selectors: markup::Selectors,
    prefer_main: bool,
    favor: Favor,
    min_main_words: usize,
    max_parser_memory: usize,
}

/// What extraction found in one page.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The page's main text, blocks separated by line breaks.
    pub text: String,
    /// The `<title>`, when the page has one.
    pub title: Option<String>,
    /// Author, date, site name and language, where the page declares them.
    pub meta: PageMeta,
    /// What happened to each block.
    pub decisions: Decisions,
}

impl Extract {
    /// Builds the `html` step; fails on a skip selector that does not parse.
    pub fn new(config: &HtmlConfig) -> Result<Self, ConfigError> {
        config.validate("html")?;
        let selectors = markup::Selectors::new(&config.skip)
            .map_err(|message| ConfigError::new("html", message))?;
        Ok(Self {
            selectors,
            prefer_main: config.prefer_main,
            favor: config.favor,
            min_main_words: config.min_main_words,
            max_parser_memory: config.max_parser_memory,
        })
    }

    /// Extracts the main text, title and metadata of a page.
    pub fn extract(&self, html: &str) -> Result<Extracted, String> {
        let (blocks, title, meta, decisions) = self.blocks(html)?;
        let mut text = String::new();
        for block in blocks.iter().filter(|b| b.dropped.is_none()) {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&block.text);
        }
        Ok(Extracted {
            text,
            title,
            meta,
            decisions,
        })
    }

    /// Every block of a page in order, with why it was dropped: what a user reads to see why a
    /// sentence is missing.
    pub fn explain(&self, html: &str) -> Result<Vec<Block>, String> {
        Ok(self.blocks(html)?.0)
    }

    fn blocks(
        &self,
        html: &str,
    ) -> Result<(Vec<Block>, Option<String>, PageMeta, Decisions), String> {
        // Our markers must not come from the page itself.
        let html: std::borrow::Cow<str> = if html.contains(markup::MARKERS) {
            std::borrow::Cow::Owned(html.replace(markup::MARKERS, " "))
        } else {
            std::borrow::Cow::Borrowed(html)
        };
        let marked = markup::mark(&html, &self.selectors, self.max_parser_memory)?;
        let tree = tree::read(&marked);
        let choice = if self.prefer_main {
            select::choose(&tree, self.favor, self.min_main_words)
        } else {
            select::every_block(&tree)
        };
        let decisions = choice.decisions;
        let label = |number: u32| -> Option<String> {
            let at = marked
                .labels
                .binary_search_by_key(&number, |(n, _)| *n)
                .ok()?;
            Some(marked.labels[at].1.clone())
        };
        let blocks = tree
            .runs
            .into_iter()
            .zip(choice.why)
            .zip(choice.cause)
            .map(|((run, dropped), cause)| Block {
                text: run.text,
                dropped,
                by: (cause != tree::ROOT).then(|| label(cause)).flatten(),
            })
            .collect();
        let title = marked
            .title
            .map(|t| tree::collapse_spaces(&html_escape::decode_html_entities(&t)))
            .filter(|t| !t.is_empty());
        Ok((blocks, title, marked.meta, decisions))
    }
}

/// One block of a page and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Its text, lines separated by `\n`.
    pub text: String,
    /// Why it is not in the main text; `None` when it is.
    pub dropped: Option<Drop>,
    /// For a block dropped as chrome, the element whose class, id, role or itemprop named it, as
    /// `tag#id.class@role~itemprop` (e.g. `div#comments.comment-list`).
    pub by: Option<String>,
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
        draft.page = (!extracted.meta.is_empty()).then_some(extracted.meta);
        // The block decisions, so that a short or empty text can be explained: how many blocks the page
        // had, how many were kept, and how many each rule dropped.
        let d = extracted.decisions;
        for (name, value) in [
            ("html_blocks", d.blocks),
            ("html_blocks_kept", d.kept),
            ("html_dropped_chrome", d.chrome),
            ("html_dropped_outside_main", d.outside_main),
            ("html_dropped_link_list", d.link_list),
            ("html_dropped_edge", d.edge),
            ("html_dropped_phrase", d.phrase),
            ("html_fallback", u32::from(d.fallback)),
        ] {
            draft.score(name, f64::from(value));
        }
        Ok(())
    }
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

    /// A news page in miniature: masthead links, an article of a few paragraphs, a share bar and a
    /// teaser list inside the article's column, related posts, comments and a footer made of divs.
    fn news_page() -> String {
        let para = |n: usize| {
            format!(
                "<p>Paragraph {n} of the story, with a clause, another clause, and enough words to read \
                 as prose that a person wrote for other people to read.</p>"
            )
        };
        let body: String = (1..=5).map(para).collect();
        format!(
            "<html lang=\"en-GB\"><head><title>Story</title>\
             <meta name=\"author\" content=\"Ada Lovelace\">\
             <meta property=\"og:site_name\" content=\"The Daily Sieve\">\
             <script type=\"application/ld+json\">{{\"@type\":\"NewsArticle\",\
             \"datePublished\":\"2024-03-05T10:00:00Z\"}}</script></head><body>\
             <div class=\"top-links\"><a href=/>Home</a> <a href=/w>World</a> <a href=/s>Sport</a></div>\
             <div class=\"column\"><div class=\"story\"><h1>The headline</h1>{body}\
             <div class=\"share-bar\">Share this on the networks</div>\
             <ul class=\"list\"><li><a href=/1>Another story to read today</a></li>\
             <li><a href=/2>And one more story to read</a></li></ul></div>\
             <div class=\"related-posts\"><p>Related: a different story, with commas, one, two.</p></div>\
             <div id=\"comments\"><p>First comment, which says the story is good, and long enough.</p></div>\
             </div><div class=\"site-bottom\"><a href=/i>Imprint</a> <a href=/p>Privacy</a>\
             <p>Registered office: 1 Sieve Lane</p></div>\
             </body></html>"
        )
    }

    #[test]
    fn keeps_the_story_and_drops_the_chrome_around_it() {
        let out = extract(&news_page());
        assert!(
            out.text
                .starts_with("The headline\nParagraph 1 of the story"),
            "{}",
            out.text
        );
        assert!(
            out.text.contains("Paragraph 5 of the story"),
            "{}",
            out.text
        );
        for chrome in [
            "Home",
            "Share this",
            "Another story",
            "Related:",
            "First comment",
            "Imprint",
            "Registered office",
        ] {
            assert!(
                !out.text.contains(chrome),
                "{chrome} kept in:\n{}",
                out.text
            );
        }
        let d = out.decisions;
        assert_eq!(
            d.blocks,
            d.kept + d.chrome + d.outside_main + d.link_list + d.edge + d.phrase
        );
        assert!(d.chrome >= 3 && d.link_list >= 1, "{d:?}");
    }

    #[test]
    fn every_block_is_explained() {
        let extractor = Extract::new(&HtmlConfig::default()).unwrap();
        let blocks = extractor.explain(&news_page()).unwrap();
        let fate = |needle: &str| {
            blocks
                .iter()
                .find(|b| b.text.contains(needle))
                .map(|b| b.dropped)
                .unwrap()
        };
        assert_eq!(fate("Paragraph 2"), None);
        let by = |needle: &str| {
            blocks
                .iter()
                .find(|b| b.text.contains(needle))
                .and_then(|b| b.by.clone())
        };
        assert_eq!(by("First comment").as_deref(), Some("div#comments"));
        assert_eq!(by("Share this").as_deref(), Some("div.share-bar"));
        assert_eq!(by("Paragraph 2"), None);
        assert_eq!(fate("Share this"), Some(Drop::Chrome));
        assert_eq!(fate("First comment"), Some(Drop::Chrome));
        assert_eq!(fate("Another story"), Some(Drop::LinkList));
        assert_eq!(fate("Home"), Some(Drop::Chrome), "`top-links`");
        assert_eq!(fate("Registered office"), Some(Drop::OutsideMain));
    }

    #[test]
    fn reads_what_the_page_declares() {
        let out = extract(&news_page());
        assert_eq!(out.title.as_deref(), Some("Story"));
        assert_eq!(
            out.meta,
            PageMeta {
                author: Some("Ada Lovelace".into()),
                date: Some("2024-03-05".into()),
                site_name: Some("The Daily Sieve".into()),
                language: Some("en-gb".into()),
            }
        );
        assert!(extract("<p>no head at all</p>").meta.is_empty());
    }

    #[test]
    fn favor_recall_keeps_more_than_precision() {
        let page = news_page();
        let words = |favor| {
            let config = HtmlConfig {
                favor,
                ..HtmlConfig::default()
            };
            let text = Extract::new(&config).unwrap().extract(&page).unwrap().text;
            text.split_whitespace().count()
        };
        assert!(
            words(Favor::Recall) > words(Favor::Balanced),
            "recall keeps the masthead"
        );
        assert!(words(Favor::Balanced) >= words(Favor::Precision));
    }

    #[test]
    fn a_page_without_a_clear_body_is_kept_whole() {
        // No prose to score a container: every block but chrome-by-name stays.
        let items: String = (1..=30).map(|i| format!("<div>Item {i}</div>")).collect();
        let out = extract(&format!(
            "<body>{items}<div class=\"cookie\">We use cookies</div></body>"
        ));
        assert!(out.text.starts_with("Item 1\nItem 2\n") && out.text.ends_with("Item 30"));
        assert_eq!(out.decisions.chrome, 1);
        assert_eq!(out.decisions.outside_main, 0);
        // Too little text for any choice: everything stays.
        let tiny = extract("<body><div>Opening hours</div><div class=\"cookie\">OK</div></body>");
        assert_eq!(tiny.text, "Opening hours\nOK");
        assert_eq!(tiny.decisions.fallback, 2);
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
