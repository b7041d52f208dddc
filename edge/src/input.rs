//! Request bodies into documents: a JSON batch, NDJSON, or one raw page.
//!
//! Scrapers send what they have at hand: a batch they built, a stream of JSON lines, or the page they just
//! fetched. Every way ends in the same [`Document`]s. A body that cannot be read is refused as a whole,
//! with the place of the problem (line and column, and which document), because a client that sent a
//! malformed batch wants to fix it rather than get a partial answer.

use serde::Deserialize;
use serde_json::value::RawValue;
use tamis_core::Document;
use thiserror::Error;

/// How the body is to be read, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json` (or no content type): `{"docs": [...]}`.
    Json,
    /// `application/x-ndjson` (also `application/jsonl`, `application/jsonlines`): one document a line.
    Ndjson,
    /// `text/html`: the body is one page.
    Html,
    /// `text/plain`: the body is one text.
    Text,
}

impl BodyKind {
    /// The kind a `Content-Type` names; `None` for a media type the function does not read.
    pub fn from_content_type(content_type: Option<&str>) -> Option<Self> {
        let Some(content_type) = content_type else {
            return Some(Self::Json);
        };
        let media = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "" | "application/json" => Some(Self::Json),
            "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/jsonlines"
            | "application/x-jsonlines" => Some(Self::Ndjson),
            "text/html" | "application/xhtml+xml" => Some(Self::Html),
            "text/plain" => Some(Self::Text),
            _ => None,
        }
    }
}

/// Where in the body a problem is. Lines and columns count from 1, columns in bytes (as serde_json does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    /// Index of the document in the request, when the problem is inside one.
    pub doc: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    #[error("body is not UTF-8: invalid byte sequence at line {}, column {} (byte {byte})", .at.line, .at.column)]
    Utf8 { at: Position, byte: usize },
    #[error("{message}")]
    Json { message: String, at: Position },
    #[error("{count} documents or more in one request; at most {limit} are accepted")]
    TooManyDocs { count: usize, limit: usize },
}

impl InputError {
    /// The stable identifier clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            InputError::Utf8 { .. } => "invalid_utf8",
            InputError::Json { .. } => "invalid_json",
            InputError::TooManyDocs { .. } => "too_many_docs",
        }
    }

    pub fn position(&self) -> Option<Position> {
        match self {
            InputError::Utf8 { at, .. } | InputError::Json { at, .. } => Some(*at),
            InputError::TooManyDocs { .. } => None,
        }
    }
}

/// A raw page's identity, from the request rather than the body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageInfo {
    pub id: String,
    pub url: Option<String>,
    /// The request's `Content-Type`, whose `charset` decodes a raw page.
    pub content_type: Option<String>,
}

/// Reads a body of the given kind into documents, at most `max_docs` of them.
pub fn read_documents(
    body: &[u8],
    kind: BodyKind,
    page: &PageInfo,
    max_docs: usize,
) -> Result<Vec<Document>, InputError> {
    // A raw page is bytes in whatever charset it was served in: decoded as the host decodes a WARC page
    // (`Content-Type` charset, then the page's `<meta>`, then UTF-8, then detection), never refused.
    if kind == BodyKind::Html {
        let page_text = tamis_core::charset::decode_page(
            body,
            page.content_type.as_deref(),
            page.url.as_deref(),
        );
        return Ok(vec![Document {
            id: page.id.clone(),
            url: page.url.clone(),
            html: Some(page_text.text),
            ..Document::default()
        }]);
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        let byte = e.valid_up_to();
        let (line, column) = line_column(body, byte);
        InputError::Utf8 {
            at: Position {
                line,
                column,
                doc: None,
            },
            byte,
        }
    })?;
    match kind {
        BodyKind::Json => read_batch(text, max_docs),
        BodyKind::Ndjson => read_lines(text, max_docs),
        BodyKind::Html | BodyKind::Text => Ok(vec![Document {
            id: page.id.clone(),
            url: page.url.clone(),
            text: Some(text.to_string()),
            ..Document::default()
        }]),
    }
}

/// One document as clients write it. Unlike [`Document`], `metadata` may be any JSON value (an object is
/// what a scraper naturally sends); the core carries it as JSON text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputDocument {
    id: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    html: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    metadata: Option<Box<RawValue>>,
}

impl From<InputDocument> for Document {
    fn from(d: InputDocument) -> Self {
        let metadata = d.metadata.map(|raw| {
            // A JSON string is the metadata text itself; anything else is kept as written.
            serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_string())
        });
        Document {
            id: d.id,
            text: d.text,
            html: d.html,
            url: d.url,
            metadata,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch<'a> {
    #[serde(borrow)]
    docs: Vec<&'a RawValue>,
}

fn read_batch(text: &str, max_docs: usize) -> Result<Vec<Document>, InputError> {
    // Two passes: the envelope first, keeping each document as its raw text, so that the count is
    // checked before any document is built, and an error inside a document can name its index.
    let batch: Batch = serde_json::from_str(text).map_err(|e| InputError::Json {
        message: format!("expected {{\"docs\": [...]}}: {}", strip_position(&e)),
        at: Position {
            line: e.line(),
            column: e.column(),
            doc: None,
        },
    })?;
    if batch.docs.len() > max_docs {
        return Err(InputError::TooManyDocs {
            count: batch.docs.len(),
            limit: max_docs,
        });
    }
    batch
        .docs
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            serde_json::from_str::<InputDocument>(raw.get())
                .map(Document::from)
                .map_err(|e| {
                    let offset = offset_in(text, raw.get());
                    let (start_line, start_column) = line_column(text.as_bytes(), offset);
                    let (line, column) = if e.line() <= 1 {
                        (start_line, start_column + e.column().saturating_sub(1))
                    } else {
                        (start_line + e.line() - 1, e.column())
                    };
                    InputError::Json {
                        message: format!("docs[{i}]: {}", strip_position(&e)),
                        at: Position {
                            line,
                            column,
                            doc: Some(i),
                        },
                    }
                })
        })
        .collect()
}

fn read_lines(text: &str, max_docs: usize) -> Result<Vec<Document>, InputError> {
    let mut docs = Vec::new();
    // Split on `\n` only: U+2028 and U+2029 may stand unescaped inside JSON strings.
    for (i, line) in text.split('\n').enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if docs.len() == max_docs {
            return Err(InputError::TooManyDocs {
                count: max_docs + 1,
                limit: max_docs,
            });
        }
        let index = docs.len();
        let doc = serde_json::from_str::<InputDocument>(line).map_err(|e| InputError::Json {
            message: format!("line {} (document {index}): {}", i + 1, strip_position(&e)),
            at: Position {
                line: i + 1,
                column: e.column(),
                doc: Some(index),
            },
        })?;
        docs.push(doc.into());
    }
    Ok(docs)
}

/// serde_json appends " at line L column C" relative to the text it was given; the edge reports the
/// position in the whole body separately.
fn strip_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    }
}

/// Byte offset of `part` inside `whole`, which it borrows from.
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize)
        .saturating_sub(whole.as_ptr() as usize)
        .min(whole.len())
}

/// 1-based line and byte column of `offset` in `bytes`.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, before.len() - line_start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> PageInfo {
        PageInfo {
            id: "page-1".into(),
            url: Some("https://example.org/a".into()),
            content_type: None,
        }
    }

    fn json(body: &str) -> Result<Vec<Document>, InputError> {
        read_documents(body.as_bytes(), BodyKind::Json, &page(), 1000)
    }

    #[test]
    fn content_types_choose_the_reader() {
        use BodyKind::*;
        assert_eq!(BodyKind::from_content_type(None), Some(Json));
        assert_eq!(
            BodyKind::from_content_type(Some("application/json; charset=utf-8")),
            Some(Json)
        );
        assert_eq!(
            BodyKind::from_content_type(Some("Application/X-NDJSON")),
            Some(Ndjson)
        );
        assert_eq!(
            BodyKind::from_content_type(Some("text/html;charset=UTF-8")),
            Some(Html)
        );
        assert_eq!(BodyKind::from_content_type(Some("text/plain")), Some(Text));
        assert_eq!(BodyKind::from_content_type(Some("image/png")), None);
    }

    #[test]
    fn a_batch_keeps_order_and_fields() {
        let docs = json(
            r#"{"docs": [
                {"id": "a", "text": "one", "url": "https://a.example", "metadata": {"lang": "en"}},
                {"id": "b", "html": "<p>two</p>", "metadata": "kept as is"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].id, "a");
        assert_eq!(docs[0].text.as_deref(), Some("one"));
        assert_eq!(docs[0].url.as_deref(), Some("https://a.example"));
        assert_eq!(docs[0].metadata.as_deref(), Some(r#"{"lang": "en"}"#));
        assert_eq!(docs[1].html.as_deref(), Some("<p>two</p>"));
        assert_eq!(docs[1].metadata.as_deref(), Some("kept as is"));
        assert!(json(r#"{"docs": []}"#).unwrap().is_empty());
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let err = json("{\"docs\": [\n  {\"id\": \"a\", \"text\": \"x\"},\n  {\"id\": \"b\" \"text\": \"y\"}\n]}")
            .unwrap_err();
        assert_eq!(err.code(), "invalid_json");
        let at = err.position().unwrap();
        assert_eq!(at.line, 3);
        assert!(at.column > 10, "{at:?}");
    }

    #[test]
    fn a_bad_document_is_named_by_index_and_placed_in_the_body() {
        let body = "{\"docs\": [\n  {\"id\": \"a\", \"text\": \"x\"},\n  {\"text\": \"no id\"}\n]}";
        let err = json(body).unwrap_err();
        let at = err.position().unwrap();
        assert_eq!(at.doc, Some(1));
        assert_eq!(at.line, 3);
        assert!(
            err.to_string().starts_with("docs[1]: missing field `id`"),
            "{err}"
        );

        let err = json(r#"{"docs": [{"id": "a", "txt": "typo"}]}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `txt`"), "{err}");
        assert_eq!(err.position().unwrap().doc, Some(0));
        assert_eq!(err.position().unwrap().line, 1);

        let err = json(r#"{"docs": [{"id": 7, "text": "x"}]}"#).unwrap_err();
        assert!(err.to_string().contains("docs[0]"), "{err}");
    }

    #[test]
    fn the_envelope_is_required() {
        for body in ["[]", "{}", r#"{"documents": []}"#, "", "null"] {
            let err = json(body).unwrap_err();
            assert_eq!(err.code(), "invalid_json", "{body:?}");
            assert!(err.to_string().contains("expected {\"docs\""), "{err}");
        }
    }

    #[test]
    fn invalid_utf8_is_placed() {
        let body = b"{\"docs\": [\n{\"id\": \"a\", \"text\": \"caf\xe9\"}]}";
        let err = read_documents(body, BodyKind::Json, &page(), 10).unwrap_err();
        assert_eq!(err.code(), "invalid_utf8");
        let at = err.position().unwrap();
        assert_eq!((at.line, at.column), (2, 25));
        let err = read_documents(b"\xff", BodyKind::Text, &page(), 10).unwrap_err();
        assert_eq!(err.code(), "invalid_utf8");
    }

    #[test]
    fn a_raw_page_is_decoded_by_its_charset() {
        let mut info = page();
        info.content_type = Some("text/html; charset=windows-1252".into());
        let docs = read_documents(b"<p>caf\xe9</p>", BodyKind::Html, &info, 1).unwrap();
        assert_eq!(docs[0].html.as_deref(), Some("<p>caf\u{e9}</p>"));
        // Declared by the page itself.
        info.content_type = Some("text/html".into());
        let body = b"<meta charset=\"iso-8859-15\"><p>\xa4 5</p>";
        let docs = read_documents(body, BodyKind::Html, &info, 1).unwrap();
        assert!(
            docs[0]
                .html
                .as_deref()
                .unwrap()
                .ends_with("<p>\u{20ac} 5</p>")
        );
    }

    #[test]
    fn ndjson_skips_blank_lines_and_names_the_bad_one() {
        let body =
            "{\"id\": \"a\", \"text\": \"x\"}\n\n{\"id\": \"b\", \"html\": \"<p>y</p>\"}\r\n";
        let docs = read_documents(body.as_bytes(), BodyKind::Ndjson, &page(), 10).unwrap();
        assert_eq!(
            docs.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        let body = "{\"id\": \"a\", \"text\": \"x\"}\n{\"id\": \"b\", \"text\": }\n";
        let err = read_documents(body.as_bytes(), BodyKind::Ndjson, &page(), 10).unwrap_err();
        let at = err.position().unwrap();
        assert_eq!((at.line, at.doc), (2, Some(1)));
        assert!(err.to_string().starts_with("line 2 (document 1)"), "{err}");
    }

    #[test]
    fn too_many_documents_are_refused_before_judging() {
        let batch = format!(
            "{{\"docs\": [{}]}}",
            [r#"{"id": "a", "text": "x"}"#; 4].join(",")
        );
        let err = read_documents(batch.as_bytes(), BodyKind::Json, &page(), 3).unwrap_err();
        assert_eq!(err, InputError::TooManyDocs { count: 4, limit: 3 });
        assert_eq!(
            read_documents(batch.as_bytes(), BodyKind::Json, &page(), 4)
                .unwrap()
                .len(),
            4
        );
        let lines = [r#"{"id": "a", "text": "x"}"#; 4].join("\n");
        let err = read_documents(lines.as_bytes(), BodyKind::Ndjson, &page(), 3).unwrap_err();
        assert_eq!(err.code(), "too_many_docs");
    }

    #[test]
    fn a_raw_page_takes_its_identity_from_the_request() {
        let docs = read_documents(b"<p>Hello</p>", BodyKind::Html, &page(), 1).unwrap();
        assert_eq!(docs[0].id, "page-1");
        assert_eq!(docs[0].url.as_deref(), Some("https://example.org/a"));
        assert_eq!(docs[0].html.as_deref(), Some("<p>Hello</p>"));
        let docs = read_documents("Plain words.".as_bytes(), BodyKind::Text, &page(), 1).unwrap();
        assert_eq!(docs[0].text.as_deref(), Some("Plain words."));
        assert_eq!(docs[0].html, None);
    }
}
