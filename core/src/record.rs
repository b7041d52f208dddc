//! Reading one dataset record (a JSON object) into a [`Document`], for every runtime that reads records:
//! the bulk host reads them from JSONL and Parquet, the browser demo from a dropped JSONL file. Reading
//! them in one place means one set of rules (which keys hold the id, text, HTML and URL; an id may be a
//! string or a number; a record without an id is named by its place) and one set of error messages.
//!
//! The record's own object is returned beside the document, so a runtime can write every field it came
//! with back out, in order, next to the judgment (see [`crate::wire::output_record`]).

use serde_json::{Map, Value};

use crate::outcome::Document;

/// Which keys of a record hold the id, the text, the HTML and the URL (the config's `[io]` keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFields {
    /// Key of the document id (a string or a number).
    pub id: String,
    /// Key of the plain text.
    pub text: String,
    /// Key of raw HTML, for datasets of pages rather than extracted text.
    pub html: Option<String>,
    /// Key of the page URL, when the records carry one.
    pub url: Option<String>,
}

impl Default for RecordFields {
    fn default() -> Self {
        Self::from_io(&crate::config::IoConfig::default())
    }
}

impl RecordFields {
    /// The keys named by a config's `[io]` section.
    pub fn from_io(io: &crate::config::IoConfig) -> Self {
        Self {
            id: io.id_key.clone(),
            text: io.text_key.clone(),
            html: io.html_key.clone(),
            url: io.url_key.clone(),
        }
    }
}

/// A record read and ready for the core, with the object it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// What the pipeline judges.
    pub document: Document,
    /// Every field of the record, in input order.
    pub object: Map<String, Value>,
}

/// Why a record could not become a document. The message says what is wrong; the runtime adds where
/// (file and line, or row), which the record itself cannot know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The bytes are not UTF-8.
    #[error("invalid UTF-8 at byte {valid_up_to} of the record")]
    InvalidUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
    /// A blank line where a record was expected.
    #[error("empty line where a JSON object was expected")]
    Empty,
    /// Not JSON at all.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// JSON, but not an object.
    #[error("expected a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// The id field holds something that is not a string or a number.
    #[error("field `{key}` must be a string or number, got {found}")]
    BadId {
        /// The id key.
        key: String,
        /// What it held.
        found: &'static str,
    },
    /// A text, HTML or URL field holds something that is not a string.
    #[error("field `{key}` must be a string, got {found}")]
    NotAString {
        /// The record's id.
        id: String,
        /// The offending key.
        key: String,
        /// What it held.
        found: &'static str,
    },
    /// Neither the text nor the HTML field is there.
    #[error("record {id} has no text field {wanted}")]
    NoText {
        /// The record's id.
        id: String,
        /// The keys that were looked for, quoted.
        wanted: String,
    },
}

impl RecordError {
    /// A stable name for the kind of error, without details (ids, offsets), so that counts by kind stay a
    /// handful of keys however many records fail.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidUtf8 { .. } => "invalid UTF-8",
            Self::Empty => "empty line",
            Self::InvalidJson(_) => "invalid JSON",
            Self::NotAnObject(_) => "not a JSON object",
            Self::BadId { .. } | Self::NotAString { .. } => "field of the wrong type",
            Self::NoText { .. } => "missing text field",
        }
    }

    /// The record's id, when it was read before the error (for error records that name it).
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::NotAString { id, .. } | Self::NoText { id, .. } => Some(id),
            _ => None,
        }
    }
}

/// Reads one record. `place` names the record by its position (`data.jsonl:17`) and becomes its id when
/// it has none, so every document of a run has a distinct, stable id.
pub fn read_record(
    bytes: &[u8],
    fields: &RecordFields,
    place: &str,
) -> Result<Record, RecordError> {
    record_from_object(read_object(bytes)?, fields, place)
}

/// Reads the JSON object of one record, without asking for a text field: for commands that read records
/// of other shapes (`tamis format` reads `question` / `answer`, `messages`, ...).
pub fn read_object(bytes: &[u8]) -> Result<Map<String, Value>, RecordError> {
    let text = std::str::from_utf8(bytes).map_err(|e| RecordError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    if text.trim().is_empty() {
        return Err(RecordError::Empty);
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| RecordError::InvalidJson(e.to_string()))?;
    match value {
        Value::Object(object) => Ok(object),
        other => Err(RecordError::NotAnObject(kind_of(&other))),
    }
}

/// The id of a record: its id field (a string or a number), else `place`.
pub fn record_id(
    object: &Map<String, Value>,
    key: &str,
    place: &str,
) -> Result<String, RecordError> {
    match object.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::Null) | None => Ok(place.to_string()),
        Some(other) => Err(RecordError::BadId {
            key: key.to_string(),
            found: kind_of(other),
        }),
    }
}

/// [`read_record`] for a record that is already a JSON object (a Parquet row, say).
pub fn record_from_object(
    object: Map<String, Value>,
    fields: &RecordFields,
    place: &str,
) -> Result<Record, RecordError> {
    let id = record_id(&object, &fields.id, place)?;
    let text = optional_string(&object, &fields.text, &id)?;
    let html = match &fields.html {
        Some(key) => optional_string(&object, key, &id)?,
        None => None,
    };
    if text.is_none() && html.is_none() {
        let wanted = match &fields.html {
            Some(h) => format!("`{}` or `{h}`", fields.text),
            None => format!("`{}`", fields.text),
        };
        return Err(RecordError::NoText { id, wanted });
    }
    // A URL of another type is not worth refusing a record for: the URL only feeds rules that need one.
    let url = fields
        .url
        .as_ref()
        .and_then(|key| object.get(key))
        .and_then(Value::as_str)
        .map(str::to_string);
    let metadata = object.get("metadata").map(Value::to_string);
    Ok(Record {
        document: Document {
            id,
            text,
            html,
            url,
            metadata,
        },
        object,
    })
}

fn optional_string(
    object: &Map<String, Value>,
    key: &str,
    id: &str,
) -> Result<Option<String>, RecordError> {
    match object.get(key) {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Null) | None => Ok(None),
        Some(other) => Err(RecordError::NotAString {
            id: id.to_string(),
            key: key.to_string(),
            found: kind_of(other),
        }),
    }
}

/// The JSON type of a value, as an error message names it.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html_fields() -> RecordFields {
        RecordFields {
            html: Some("html".into()),
            ..RecordFields::default()
        }
    }

    #[test]
    fn every_field_is_kept_in_order() {
        let line = br#"{"zeta":1,"id":"a","text":"Some words.","alpha":[1,2],"url":"https://example.org/x","metadata":{"source":"web"}}"#;
        let record = read_record(line, &RecordFields::default(), "f.jsonl:1").unwrap();
        let keys: Vec<&str> = record.object.keys().map(String::as_str).collect();
        assert_eq!(keys, ["zeta", "id", "text", "alpha", "url", "metadata"]);
        assert_eq!(record.document.id, "a");
        assert_eq!(record.document.text.as_deref(), Some("Some words."));
        assert_eq!(
            record.document.url.as_deref(),
            Some("https://example.org/x")
        );
        assert_eq!(
            record.document.metadata.as_deref(),
            Some(r#"{"source":"web"}"#)
        );
    }

    #[test]
    fn ids_may_be_numbers_or_come_from_the_place() {
        let numbered = read_record(br#"{"id":17,"text":"x"}"#, &RecordFields::default(), "p:1");
        assert_eq!(numbered.unwrap().document.id, "17");
        let placed = read_record(br#"{"text":"x"}"#, &RecordFields::default(), "data.jsonl:9");
        assert_eq!(placed.unwrap().document.id, "data.jsonl:9");
    }

    #[test]
    fn html_alone_is_enough_when_an_html_key_is_set() {
        let record =
            read_record(br#"{"id":"p","html":"<p>Hi</p>"}"#, &html_fields(), "p:1").unwrap();
        assert_eq!(record.document.text, None);
        assert_eq!(record.document.html.as_deref(), Some("<p>Hi</p>"));
    }

    #[test]
    fn broken_records_say_what_is_wrong() {
        let fields = RecordFields::default();
        let message = |bytes: &[u8]| read_record(bytes, &fields, "f:1").unwrap_err().to_string();
        assert_eq!(message(b"\xff{}"), "invalid UTF-8 at byte 0 of the record");
        assert_eq!(
            message(b"  "),
            "empty line where a JSON object was expected"
        );
        assert!(message(b"{\"id\":").starts_with("invalid JSON: "));
        assert_eq!(message(b"[1,2]"), "expected a JSON object, got an array");
        assert_eq!(
            message(br#"{"id":[1],"text":"x"}"#),
            "field `id` must be a string or number, got an array"
        );
        assert_eq!(
            message(br#"{"id":"a","text":3}"#),
            "field `text` must be a string, got a number"
        );
        assert_eq!(
            message(br#"{"id":"a"}"#),
            "record a has no text field `text`"
        );
        assert_eq!(
            read_record(br#"{"id":"a"}"#, &html_fields(), "f:1")
                .unwrap_err()
                .to_string(),
            "record a has no text field `text` or `html`"
        );
    }

    #[test]
    fn errors_after_the_id_name_it() {
        let err = read_record(br#"{"id":"a7"}"#, &RecordFields::default(), "f:1").unwrap_err();
        assert_eq!(err.id(), Some("a7"));
        let err = read_record(b"nope", &RecordFields::default(), "f:1").unwrap_err();
        assert_eq!(err.id(), None);
        assert_eq!(err.kind(), "invalid JSON");
    }
}
