//! What a page states about itself: author, publication date, site name and declared language.
//!
//! Only what the page *declares* is taken, never a guess from the body text: `<html lang>`, the
//! `<meta>` tags that publishers fill for search engines and social cards (Open Graph `og:site_name`,
//! `article:published_time` and `article:author`, Dublin Core `dc.*`, the plain `author` and `date`
//! names), `itemprop` microdata, and schema.org JSON-LD (`author.name`, `datePublished`,
//! `publisher.name`), the sources trafilatura's metadata module reads too. The first declaration found in
//! that order wins; JSON-LD fills what the tags left empty.

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{Element, TextChunk};
use lol_html::{ElementContentHandlers, Selector};

use super::markup::selector;
use super::tree::collapse_spaces;
use serde::{Deserialize, Serialize};

/// Metadata declared by a page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMeta {
    /// The author or authors, as the page names them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The publication date: `YYYY-MM-DD` when the declared value starts with one, else as declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The site's or publisher's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    /// The declared language (`<html lang>` or `content-language`), lower-cased, e.g. `de` or `en-us`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl PageMeta {
    /// True when the page declared nothing.
    pub fn is_empty(&self) -> bool {
        *self == PageMeta::default()
    }
}

/// Longest value kept; a longer one is not metadata.
const MAX_VALUE: usize = 300;
/// Largest JSON-LD block read.
const MAX_JSON_LD: usize = 256 << 10;

/// Collects declarations during the first pass.
#[derive(Debug, Default)]
pub struct MetaSink {
    meta: PageMeta,
    json_ld: Vec<String>,
    current_json_ld: Option<String>,
}

impl MetaSink {
    /// Fills `field` with `value` (entities decoded, whitespace collapsed) unless an earlier declaration
    /// did.
    fn offer(&mut self, field: Field, value: &str) {
        let slot = match field {
            Field::Author => &mut self.meta.author,
            Field::Date => &mut self.meta.date,
            Field::Site => &mut self.meta.site_name,
            Field::Language => &mut self.meta.language,
        };
        if slot.is_some() {
            return;
        }
        let value = collapse_spaces(&html_escape::decode_html_entities(value));
        if !value.is_empty() && value.chars().count() <= MAX_VALUE {
            *slot = Some(value);
        }
    }

    /// The declarations, with JSON-LD filling the gaps and dates normalized.
    pub fn finish(mut self) -> PageMeta {
        // A script's text is raw: entities are decoded value by value (`offer`), not in the JSON.
        for block in std::mem::take(&mut self.json_ld) {
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&block) {
                self.read_json_ld(&value, 0);
            }
        }
        let mut meta = self.meta;
        meta.date = meta.date.map(|d| normalize_date(&d));
        meta.language = meta
            .language
            .map(|l| l.to_ascii_lowercase().replace('_', "-"));
        meta
    }

    fn read_json_ld(&mut self, value: &serde_json::Value, depth: usize) {
        use serde_json::Value;
        if depth > 4 {
            return;
        }
        match value {
            Value::Array(items) => items.iter().for_each(|v| self.read_json_ld(v, depth + 1)),
            Value::Object(map) => {
                if let Some(graph) = map.get("@graph") {
                    self.read_json_ld(graph, depth + 1);
                }
                if let Some(date) = map.get("datePublished").and_then(Value::as_str) {
                    self.offer(Field::Date, date);
                }
                if let Some(names) = map.get("author").and_then(names) {
                    self.offer(Field::Author, &names);
                }
                if let Some(names) = map.get("publisher").and_then(names) {
                    self.offer(Field::Site, &names);
                }
            }
            _ => {}
        }
    }
}

/// The `name` (or the string) of a JSON-LD person or organization, or of a list of them.
fn names(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if !s.starts_with("http") => Some(s.clone()),
        Value::Object(map) => map.get("name").and_then(Value::as_str).map(str::to_string),
        Value::Array(items) => {
            let all: Vec<String> = items.iter().filter_map(names).collect();
            (!all.is_empty()).then(|| all.join(", "))
        }
        _ => None,
    }
}

/// `2019-10-17T08:00:00+02:00` -> `2019-10-17`; anything else is kept as declared.
fn normalize_date(value: &str) -> String {
    let b = value.as_bytes();
    let iso = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    if iso {
        value[..10].to_string()
    } else {
        value.to_string()
    }
}

/// Which field a `<meta>` tag fills, by its `name`, `property` or `itemprop`.
fn field(key: &str) -> Option<Field> {
    Some(match key.to_ascii_lowercase().as_str() {
        "author" | "article:author" | "dc.creator" | "dcterms.creator" | "parsely-author"
        | "sailthru.author" | "byl" => Field::Author,
        "article:published_time"
        | "og:published_time"
        | "date"
        | "dc.date"
        | "dcterms.date"
        | "dc.date.issued"
        | "dcterms.issued"
        | "pubdate"
        | "publishdate"
        | "publish-date"
        | "publication_date"
        | "parsely-pub-date"
        | "sailthru.date"
        | "datepublished" => Field::Date,
        "og:site_name" | "application-name" | "dc.publisher" | "dcterms.publisher" => Field::Site,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Author,
    Date,
    Site,
    Language,
}

/// Elements whose one attribute declares a field: (selector, attribute, field).
const ATTRIBUTES: [(&str, &str, Field); 2] = [
    ("html[lang]", "lang", Field::Language),
    (
        "time[datetime][itemprop=\"datePublished\"], time[datetime][pubdate]",
        "datetime",
        Field::Date,
    ),
];

/// The selectors of the metadata handlers, parsed once per step.
pub struct Selectors {
    attributes: Vec<(Selector, &'static str, Field)>,
    meta: Selector,
    json_ld: Selector,
}

impl Selectors {
    /// Parses the fixed selectors.
    pub fn new() -> Result<Self, String> {
        let attributes = ATTRIBUTES
            .iter()
            .map(|&(s, attribute, field)| Ok((selector(s)?, attribute, field)))
            .collect::<Result<_, String>>()?;
        Ok(Self {
            attributes,
            meta: selector("meta[content]")?,
            json_ld: selector("script[type=\"application/ld+json\"]")?,
        })
    }
}

/// The first pass's handlers that fill `sink`.
pub fn handlers<'s>(
    sink: &Rc<RefCell<MetaSink>>,
    selectors: &'s Selectors,
) -> Vec<(&'s Selector, ElementContentHandlers<'static>)> {
    let mut out = Vec::new();
    for (sel, attribute, field) in &selectors.attributes {
        let (s, attribute, field) = (Rc::clone(sink), *attribute, *field);
        out.push((
            sel,
            ElementContentHandlers::default().element(move |el: &mut Element| {
                if let Some(value) = el.get_attribute(attribute) {
                    s.borrow_mut().offer(field, &value);
                }
                Ok(())
            }),
        ));
    }

    let s = Rc::clone(sink);
    out.push((
        &selectors.meta,
        ElementContentHandlers::default().element(move |el: &mut Element| {
            let Some(content) = el.get_attribute("content") else {
                return Ok(());
            };
            let mut sink = s.borrow_mut();
            if let Some(equiv) = el.get_attribute("http-equiv") {
                if equiv.eq_ignore_ascii_case("content-language") {
                    let first = content.split(',').next().unwrap_or_default();
                    sink.offer(Field::Language, first);
                }
                return Ok(());
            }
            for key in ["name", "property", "itemprop"] {
                let Some(name) = el.get_attribute(key) else {
                    continue;
                };
                match field(&name) {
                    // An author given as a profile URL names nobody.
                    Some(Field::Author) if content.starts_with("http") => {}
                    Some(field) => sink.offer(field, &content),
                    None => {}
                }
            }
            Ok(())
        }),
    ));

    let s = Rc::clone(sink);
    let text_sink = Rc::clone(sink);
    out.push((
        &selectors.json_ld,
        ElementContentHandlers::default()
            .element(move |_: &mut Element| {
                s.borrow_mut().current_json_ld = Some(String::new());
                Ok(())
            })
            .text(move |t: &mut TextChunk| {
                let mut sink = text_sink.borrow_mut();
                let done = t.last_in_text_node();
                if let Some(buffer) = sink.current_json_ld.as_mut() {
                    if buffer.len() + t.as_str().len() <= MAX_JSON_LD {
                        buffer.push_str(t.as_str());
                    } else {
                        // Too large to be metadata: drop it rather than read half of it.
                        sink.current_json_ld = None;
                    }
                }
                if done && let Some(block) = sink.current_json_ld.take() {
                    sink.json_ld.push(block);
                }
                Ok(())
            }),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_keep_their_day() {
        assert_eq!(normalize_date("2019-10-17T08:00:00+02:00"), "2019-10-17");
        assert_eq!(normalize_date("17. Oktober 2019"), "17. Oktober 2019");
    }

    #[test]
    fn json_ld_names_people_and_publishers() {
        let mut sink = MetaSink::default();
        sink.json_ld.push(
            r#"{"@context":"https://schema.org","@graph":[{"@type":"NewsArticle",
            "datePublished":"2020-02-29T10:00:00Z","author":[{"@type":"Person","name":"Ada"},
            {"@type":"Person","name":"Grace"}],"publisher":{"@type":"Organization","name":"Daily"}}]}"#
                .to_string(),
        );
        let meta = sink.finish();
        assert_eq!(meta.author.as_deref(), Some("Ada, Grace"));
        assert_eq!(meta.date.as_deref(), Some("2020-02-29"));
        assert_eq!(meta.site_name.as_deref(), Some("Daily"));
    }
}
