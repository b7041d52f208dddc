//! What a page's own markup says about a block: the words in its `class`, `id`, `role` and `itemprop`.
//!
//! Authors name their chrome. Readability.js weighs a node by whether its class and id match a list of
//! "negative" words (comment, footer, related, share, sidebar, ...) or "positive" ones (article, content,
//! entry, post, ...), +-25 each; trafilatura removes subtrees whose class or id contains words of the
//! same kind (its `OVERALL_DISCARD_XPATH`: comments, share bars, related posts, tags, author boxes, cookie
//! and newsletter boxes). The lists below are ours, built from those two sources' categories and from the
//! chrome that survived on trafilatura's evaluation pages. Long words match anywhere in the attribute
//! (`commentlist`, `sharedaddy`); short ones only as a whole token (`ad`, `nav`, `tags`), because as
//! substrings they are everywhere (`header`, `shadow`, `vantage`).

/// A node's hint from its attributes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hint {
    /// Readability-style weight: +25 for a positive class or id, -25 for a negative one, for each of the
    /// two attributes.
    pub weight: i16,
    /// A negative word appears in the class, id or role.
    pub negative: bool,
    /// ... and it is one that names chrome even inside a marked article body (comments, share bars,
    /// related posts, author boxes), not a layout word such as `ads` or `meta` that article templates
    /// also put on their own sections.
    pub strong: bool,
    /// The element says it is the main content: `role=main`, `itemprop=articleBody`/`text`, or a class
    /// such as `entry-content`, `post-body`, `article-body`.
    pub main: bool,
}

/// Words that mark page chrome even inside a marked article body (comments, share bars, related posts,
/// author boxes), matched anywhere in the attribute.
const STRONG_PARTS: &[&str] = &[
    "comment",
    "disqus",
    "discuss",
    "share",
    "sharing",
    "social",
    "related",
    "recommend",
    "newsletter",
    "subscri",
    "cookie",
    "consent",
    "gdpr",
    "breadcrumb",
    "pagination",
    "pager",
    "sidebar",
    "promo",
    "sponsor",
    "footer",
    "navbar",
    "navigation",
    "menu",
    "byline",
    "author",
    "postmeta",
    "post-meta",
    "entry-meta",
    "article-meta",
    "tagcloud",
    "tag-list",
    "taglist",
    "categor",
    "login",
    "signup",
    "outbrain",
    "taboola",
    "readmore",
    "read-more",
    "copyright",
    "disclaimer",
    "shoutbox",
    "skyscraper",
    "combx",
    "newsticker",
    "more-stories",
    "morestories",
    "crosslink",
    "prevnext",
    "prev-next",
    "post-nav",
    "postnav",
    "nav-links",
    "jp-relatedposts",
    "yarpp",
    "wpcnt",
    "akismet",
    "respond",
    "reply",
];

/// Words that mark chrome too, but are layout words as well, which an article template may put on its
/// own sections (`TestReport__Section--Ads`, `post-info`); they do not count inside a marked body.
const WEAK_PARTS: &[&str] = &[
    "banner",
    "advert",
    "popup",
    "modal",
    "masthead",
    "toolbar",
    "print",
    "contact",
    "follow",
    "facebook",
    "twitter",
    "pinterest",
    "whatsapp",
    "linkedin",
    "trending",
    "popular",
    "overlay",
    "tooltip",
    "community",
    "rating",
    "postinfo",
    "post-info",
    "widget",
    "screen-reader",
    "sr-only",
    "visually-hidden",
];

/// Short words that mark chrome only as a whole token of the attribute; all of them weak.
const NEGATIVE_TOKENS: &[&str] = &[
    "ad",
    "ads",
    "adv",
    "nav",
    "meta",
    "tags",
    "tag",
    "date",
    "time",
    "links",
    "header",
    "extra",
    "aside",
    "email",
    "mail",
    "like",
    "likes",
    "credit",
    "credits",
    "legal",
    "imprint",
    "impressum",
    "rss",
    "feed",
    "more",
    "tools",
    "notice",
];

/// Words that mark content, matched anywhere.
const POSITIVE_PARTS: &[&str] = &[
    "article", "content", "entry", "hentry", "post", "story", "blog", "text", "main",
];

/// Short positive words, as whole tokens.
const POSITIVE_TOKENS: &[&str] = &["body", "page", "single"];

/// Classes and ids that name the article body itself.
const MAIN_PARTS: &[&str] = &[
    "entry-content",
    "entrycontent",
    "post-content",
    "postcontent",
    "post-body",
    "postbody",
    "post-entry",
    "article-body",
    "articlebody",
    "article-content",
    "articlecontent",
    "article-text",
    "articletext",
    "story-body",
    "storybody",
    "story-content",
    "blog-content",
    "blogpost-body",
    "main-content",
    "maincontent",
    "single-content",
    "text-content",
    "td-post-content",
    // WordPress's `post_class()`: the post's wrapper, whose `category-*` and `tag-*` classes are not
    // category or tag lists.
    "hentry",
    "status-publish",
    "field-name-body",
    "field--name-body",
    "rich-text",
];

/// Which list a long word comes from.
#[derive(Clone, Copy)]
enum Kind {
    Strong,
    Weak,
    Positive,
    Main,
}

/// Every long word of the lists, matched case-insensitively in one pass.
struct Words {
    matcher: aho_corasick::AhoCorasick,
    kinds: Vec<Kind>,
}

fn words() -> &'static Words {
    static WORDS: std::sync::OnceLock<Words> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        let mut patterns: Vec<&str> = Vec::new();
        let mut kinds = Vec::new();
        for (list, kind) in [
            (STRONG_PARTS, Kind::Strong),
            (WEAK_PARTS, Kind::Weak),
            (POSITIVE_PARTS, Kind::Positive),
            (MAIN_PARTS, Kind::Main),
        ] {
            for &w in list {
                patterns.push(w);
                kinds.push(kind);
            }
        }
        let matcher = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&patterns)
            .expect("the word lists are valid patterns");
        Words { matcher, kinds }
    })
}

/// One attribute's verdict: (positive, negative, strong, main).
fn judge(value: &str) -> (bool, bool, bool, bool) {
    let (mut positive, mut negative, mut strong, mut main) = (false, false, false, false);
    if value.is_empty() {
        return (positive, negative, strong, main);
    }
    let words = words();
    for m in words.matcher.find_overlapping_iter(value) {
        match words.kinds[m.pattern().as_usize()] {
            Kind::Strong => {
                strong = true;
                negative = true;
            }
            Kind::Weak => negative = true,
            Kind::Positive => positive = true,
            Kind::Main => main = true,
        }
    }
    for token in value.split(|c: char| !c.is_ascii_alphanumeric()) {
        if token.is_empty() || token.len() > 9 {
            continue;
        }
        let is = |list: &[&str]| list.iter().any(|w| w.eq_ignore_ascii_case(token));
        negative |= is(NEGATIVE_TOKENS);
        positive |= is(POSITIVE_TOKENS);
    }
    (positive, negative, strong, main)
}

/// Reads the hint of an element from its attributes.
pub fn hint(
    class: Option<&str>,
    id: Option<&str>,
    role: Option<&str>,
    itemprop: Option<&str>,
) -> Hint {
    let mut out = Hint::default();
    for value in [class, id].into_iter().flatten() {
        let (positive, negative, strong, main) = judge(value);
        out.strong |= strong;
        if positive {
            out.weight += 25;
        }
        if negative {
            out.weight -= 25;
            out.negative = true;
        }
        out.main |= main;
    }
    if let Some(role) = role {
        let role = role.trim().to_ascii_lowercase();
        match role.as_str() {
            "main" | "article" => out.main = true,
            "complementary" | "navigation" | "banner" | "contentinfo" | "search" | "menu"
            | "menubar" | "dialog" | "alert" | "alertdialog" | "toolbar" | "tablist" => {
                out.negative = true;
                out.weight -= 25;
            }
            _ => {}
        }
    }
    if let Some(prop) = itemprop {
        let prop = prop.to_ascii_lowercase();
        if prop
            .split_whitespace()
            .any(|p| p == "articlebody" || p == "text" || p == "reviewbody")
        {
            out.main = true;
        }
        if prop
            .split_whitespace()
            .any(|p| p == "comment" || p == "author" || p == "publisher")
        {
            out.negative = true;
            out.strong = true;
            out.weight -= 25;
        }
    }
    if out.main {
        // A body marked as such is content whatever other words its class holds (`entry-content
        // clearfix has-sidebar`).
        out.negative = false;
        out.strong = false;
        out.weight = out.weight.max(25);
    }
    out
}

/// How short lines of page chrome begin, in the languages of the evaluation pages (English, German,
/// French, Spanish, Polish). trafilatura drops such lines by text too (`RE_FILTER` in its `utils.py`:
/// share buttons, "Mehr zum Thema", "More on this"); the list here is ours. Only a run of at most
/// [`PHRASE_MAX_CHARS`] characters is compared, so an article sentence that starts the same way stays.
const CHROME_PHRASES: &[&str] = &[
    "share this",
    "share on",
    "share:",
    "like this:",
    "related posts",
    "related articles",
    "related:",
    "read more",
    "read more:",
    "read also",
    "read also:",
    "see also:",
    "more on this",
    "more from",
    "this entry was posted",
    "posted in",
    "filed under",
    "tags:",
    "tagged",
    "categories:",
    "category:",
    "leave a comment",
    "leave a reply",
    "no comments",
    "comments",
    "photo:",
    "photos:",
    "image:",
    "credit:",
    "copyright",
    "©",
    "all rights reserved",
    "teilen mit",
    "teilen sie dies mit",
    "diesen artikel teilen",
    "artikel teilen",
    "gefällt mir",
    "ähnliche beiträge",
    "verwandte beiträge",
    "weitere beiträge",
    "weitere artikel",
    "mehr zum thema",
    "mehr zum thema:",
    "mehr themen",
    "mehr aus",
    "lesen sie auch",
    "lesen sie auch:",
    "lesen sie dazu",
    "das könnte sie auch interessieren",
    "schreibe einen kommentar",
    "schreib einen kommentar",
    "kommentar hinzufügen",
    "kommentare",
    "keine kommentare",
    "bisher keine kommentare",
    "derzeit noch keine kommentare",
    "schlagworte",
    "schlagwörter",
    "kategorie:",
    "kategorien:",
    "foto:",
    "fotos:",
    "bild:",
    "bild via",
    "bildquelle",
    "quelle:",
    "alle rechte vorbehalten",
    "jetzt registrieren",
    "partager",
    "à lire aussi",
    "lire aussi",
    "crédits photos",
    "crédit photo",
    "voir aussi",
    "compartir",
    "lee también",
    "lee también:",
    "ver también",
    "vea también",
    "vea también:",
    "udostępnij",
    "czytaj także",
    "czytaj też",
];

/// Longest run (characters) that [`CHROME_PHRASES`] are tried on; a phrase that ends in a colon is a
/// label ("Read more: <headline>", "Foto: <name>") and is tried on runs up to [`LABEL_MAX_CHARS`].
pub const PHRASE_MAX_CHARS: usize = 60;
/// See [`PHRASE_MAX_CHARS`].
pub const LABEL_MAX_CHARS: usize = 150;

/// Whether a short run reads as a line of page chrome.
pub fn chrome_phrase(text: &str) -> bool {
    let length = text.chars().count();
    if length > LABEL_MAX_CHARS {
        return false;
    }
    let lower = text
        .trim_start_matches(|c: char| !c.is_alphanumeric() && c != '©')
        .to_lowercase();
    CHROME_PHRASES
        .iter()
        .any(|p| lower.starts_with(p) && (length <= PHRASE_MAX_CHARS || p.ends_with(':')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_words_match_inside_and_short_words_only_as_tokens() {
        assert!(hint(Some("commentlist"), None, None, None).negative);
        assert!(hint(Some("sharedaddy sd-sharing-enabled"), None, None, None).negative);
        assert!(hint(None, Some("ad"), None, None).negative);
        assert!(!hint(Some("shadow heading"), None, None, None).negative);
        assert!(!hint(Some("advantage"), None, None, None).negative);
        assert!(hint(Some("post-tags"), None, None, None).negative);
    }

    #[test]
    fn weights_follow_class_and_id() {
        assert_eq!(hint(Some("article"), Some("story"), None, None).weight, 50);
        assert_eq!(hint(Some("sidebar"), None, None, None).weight, -25);
        assert_eq!(hint(None, None, Some("navigation"), None).weight, -25);
    }

    #[test]
    fn a_marked_body_is_content() {
        let body = hint(Some("entry-content has-sidebar"), None, None, None);
        assert!(body.main && !body.negative);
        assert!(hint(None, None, None, Some("articleBody")).main);
        assert!(hint(None, None, Some("main"), None).main);
    }

    #[test]
    fn short_chrome_lines_are_recognized_and_prose_is_not() {
        assert!(chrome_phrase("Teilen mit:"));
        assert!(chrome_phrase("Share this:"));
        assert!(chrome_phrase("Foto: Timur Emek / dpa"));
        assert!(chrome_phrase(
            "Read more: Recognizing Germany's colonial crimes, a long headline of a related story"
        ));
        assert!(!chrome_phrase(
            "Comments are a part of the web that this story is about, and it says so at length."
        ));
        assert!(!chrome_phrase("The photo: a harbour at dawn."));
    }
}
