//! Between dataset records and core documents. Reading a record and writing the judgment back next to its
//! fields are the core's (`tamis_core::record`, `tamis_core::wire`), shared with the browser demo and the
//! edge; this module adds what only a job has: where a record came from, error kinds for `stats.json`, and
//! error records.

use serde_json::{Map, Value};
use tamis_core::Outcome;

/// Field names, from the config's `[io]` section.
pub type Fields = tamis_core::record::RecordFields;

/// A record parsed and ready for the core, with the object it came from.
pub type Parsed = tamis_core::record::Record;

/// Where a record came from, for error messages: `RAW/web/raw_data.jsonl.gz line 17`.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    pub file: &'a str,
    pub position: u64,
    /// What `position` counts: `line`, `row` or `offset` ([`crate::input::InputFormat::position_key`]).
    pub key: &'static str,
}

impl Origin<'_> {
    fn position_key(&self) -> &'static str {
        self.key
    }
}

/// Why a record could not be judged: a stable kind, counted in `stats.json` (`errors_by_kind`), and the
/// message with the details, kept in the error record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    pub kind: &'static str,
    pub message: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl RecordError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Parses one raw record with the core's reader. The error message names what is wrong; the caller adds
/// where. A record without an id is named by its place (`file:line`).
pub fn parse(bytes: &[u8], fields: &Fields, origin: &Origin) -> Result<Parsed, RecordError> {
    let place = format!("{}:{}", origin.file, origin.position);
    tamis_core::record::read_record(bytes, fields, &place)
        .map_err(|e| RecordError::new(e.kind(), e.to_string()))
}

/// The output record: the input object with the cleaned text (kept) or the original text (dropped), and the
/// annotation under `tamis` (see `tamis_core::wire`).
pub fn output_record(object: Map<String, Value>, outcome: &Outcome, fields: &Fields) -> String {
    tamis_core::wire::output_record(object, outcome, fields)
}

/// The error record: where, what, and the record itself (as JSON when it parsed, else as lossy text) so
/// that nothing is lost.
pub fn error_record(
    origin: &Origin,
    id: Option<&str>,
    message: &str,
    body: Option<&[u8]>,
) -> String {
    let mut map = Map::new();
    map.insert("file".into(), Value::String(origin.file.to_string()));
    map.insert(origin.position_key().into(), Value::from(origin.position));
    if let Some(id) = id {
        map.insert("id".into(), Value::String(id.to_string()));
    }
    map.insert("error".into(), Value::String(message.to_string()));
    if let Some(body) = body {
        let record = match serde_json::from_slice::<Value>(body) {
            Ok(value) => value,
            Err(_) => Value::String(String::from_utf8_lossy(body).into_owned()),
        };
        map.insert("record".into(), record);
    }
    Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tamis_core::Verdict;

    fn fields() -> Fields {
        Fields {
            id: "id".into(),
            text: "text".into(),
            html: None,
            url: Some("url".into()),
        }
    }

    fn origin() -> Origin<'static> {
        Origin {
            file: "in.jsonl",
            position: 7,
            key: "line",
        }
    }

    #[test]
    fn every_field_is_kept_in_order_and_the_annotation_comes_last() {
        let parsed = parse(
            br#"{"z": 1, "id": "a", "text": "Hello.", "meta": {"k": [1, 2]}}"#,
            &fields(),
            &origin(),
        )
        .expect("a valid record");
        assert_eq!(parsed.document.text.as_deref(), Some("Hello."));
        let outcome = Outcome {
            id: "a".into(),
            verdict: Verdict::Keep,
            reason: None,
            text: "Hello!".into(),
            title: None,
            page: None,
            checks: Vec::new(),
            pii: Vec::new(),
            language: None,
            scores: Vec::new(),
            hashes: None,
            tokens: None,
        };
        let line = output_record(parsed.object, &outcome, &fields());
        assert_eq!(
            line,
            r#"{"z":1,"id":"a","text":"Hello!","meta":{"k":[1,2]},"tamis":{"verdict":"keep","checks":[]}}"#
        );
    }

    #[test]
    fn broken_records_say_what_is_wrong() {
        let err = |bytes: &[u8]| {
            parse(bytes, &fields(), &origin())
                .err()
                .map(|e| e.message)
                .unwrap_or_default()
        };
        assert!(
            err(b"{\"id\": \"x\", \"text\": \"caf\xe9\"}").contains("invalid UTF-8 at byte 24")
        );
        assert!(err(b"{\"id\": 1").starts_with("invalid JSON"));
        assert_eq!(err(b"[1]"), "expected a JSON object, got an array");
        assert_eq!(err(br#"{"id": "x"}"#), "record x has no text field `text`");
        assert_eq!(
            err(br#"{"id": "x", "text": 3}"#),
            "field `text` must be a string, got a number"
        );
        assert_eq!(err(b"  "), "empty line where a JSON object was expected");
    }

    #[test]
    fn a_record_without_id_is_named_by_its_place() {
        let parsed = parse(br#"{"text": "t"}"#, &fields(), &origin()).expect("a valid record");
        assert_eq!(parsed.document.id, "in.jsonl:7");
    }

    #[test]
    fn error_records_keep_the_input() {
        let line = error_record(&origin(), None, "invalid JSON", Some(b"not json"));
        assert_eq!(
            line,
            r#"{"file":"in.jsonl","line":7,"error":"invalid JSON","record":"not json"}"#
        );
    }
}
