//! Between dataset records and core documents: which fields hold the id, text, HTML and URL, and how an
//! outcome is written back next to every field the record came with.

use serde_json::{Map, Value};
use tamis_core::{Document, Outcome, Verdict};

/// Field names, from the config's `[io]` section.
#[derive(Debug, Clone)]
pub struct Fields {
    pub id: String,
    pub text: String,
    pub html: Option<String>,
    pub url: Option<String>,
}

impl Fields {
    pub fn from_io(io: &tamis_core::config::IoConfig) -> Self {
        Self {
            id: io.id_key.clone(),
            text: io.text_key.clone(),
            html: io.html_key.clone(),
            url: io.url_key.clone(),
        }
    }
}

/// Where a record came from, for error messages: `RAW/web/raw_data.jsonl.gz line 17`.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    pub file: &'a str,
    pub position: u64,
    pub is_row: bool,
}

impl Origin<'_> {
    fn position_key(&self) -> &'static str {
        if self.is_row { "row" } else { "line" }
    }
}

/// A record parsed and ready for the core, with the object it came from.
pub struct Parsed {
    pub document: Document,
    pub object: Map<String, Value>,
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

/// Parses one raw record. The error message names what is wrong; the caller adds where.
pub fn parse(bytes: &[u8], fields: &Fields, origin: &Origin) -> Result<Parsed, RecordError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        RecordError::new(
            "invalid UTF-8",
            format!("invalid UTF-8 at byte {} of the record", e.valid_up_to()),
        )
    })?;
    if text.trim().is_empty() {
        return Err(RecordError::new(
            "empty line",
            "empty line where a JSON object was expected",
        ));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| RecordError::new("invalid JSON", format!("invalid JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(RecordError::new(
            "not a JSON object",
            format!("expected a JSON object, got {}", kind_of(&value)),
        ));
    };
    let id = match object.get(&fields.id) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Null) | None => format!("{}:{}", origin.file, origin.position),
        Some(other) => {
            return Err(RecordError::new(
                "field of the wrong type",
                format!(
                    "field `{}` must be a string or number, got {}",
                    fields.id,
                    kind_of(other)
                ),
            ));
        }
    };
    let text = optional_string(&object, &fields.text)?;
    let html = match &fields.html {
        Some(key) => optional_string(&object, key)?,
        None => None,
    };
    if text.is_none() && html.is_none() {
        let wanted = match &fields.html {
            Some(h) => format!("`{}` or `{h}`", fields.text),
            None => format!("`{}`", fields.text),
        };
        return Err(RecordError::new(
            "missing text field",
            format!("record {id} has no text field {wanted}"),
        ));
    }
    let url = match &fields.url {
        Some(key) => match object.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        },
        None => None,
    };
    let metadata = object.get("metadata").map(|m| m.to_string());
    Ok(Parsed {
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

fn optional_string(object: &Map<String, Value>, key: &str) -> Result<Option<String>, RecordError> {
    match object.get(key) {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Null) | None => Ok(None),
        Some(other) => Err(RecordError::new(
            "field of the wrong type",
            format!("field `{key}` must be a string, got {}", kind_of(other)),
        )),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `tamis` annotation added to every output record: the outcome without the id and text (those are in
/// the record already), plus the reason as one readable line.
pub fn annotation(outcome: &Outcome) -> Value {
    let mut map = Map::new();
    map.insert(
        "verdict".into(),
        serde_json::to_value(outcome.verdict).unwrap_or(Value::Null),
    );
    if let Some(reason) = &outcome.reason {
        map.insert("reason".into(), Value::String(reason.describe()));
        map.insert(
            "reason_check".into(),
            serde_json::to_value(reason).unwrap_or(Value::Null),
        );
    }
    if let Some(title) = &outcome.title {
        map.insert("title".into(), Value::String(title.clone()));
    }
    if let Some(language) = &outcome.language {
        map.insert(
            "language".into(),
            serde_json::to_value(language).unwrap_or(Value::Null),
        );
    }
    if !outcome.scores.is_empty() {
        map.insert(
            "scores".into(),
            serde_json::to_value(&outcome.scores).unwrap_or(Value::Null),
        );
    }
    if !outcome.pii.is_empty() {
        map.insert(
            "pii".into(),
            serde_json::to_value(&outcome.pii).unwrap_or(Value::Null),
        );
    }
    if let Some(tokens) = outcome.tokens {
        map.insert("tokens".into(), Value::from(tokens));
    }
    if let Some(hashes) = &outcome.hashes {
        map.insert(
            "hashes".into(),
            serde_json::to_value(hashes).unwrap_or(Value::Null),
        );
    }
    map.insert(
        "checks".into(),
        serde_json::to_value(&outcome.checks).unwrap_or(Value::Null),
    );
    Value::Object(map)
}

/// The output record: the input object with the cleaned text (kept) or the original text (dropped), and the
/// annotation under `tamis`.
pub fn output_record(mut object: Map<String, Value>, outcome: &Outcome, fields: &Fields) -> String {
    if outcome.verdict == Verdict::Keep {
        object.insert(fields.text.clone(), Value::String(outcome.text.clone()));
        if let Some(html) = &fields.html {
            object.remove(html);
        }
    }
    object.insert("tamis".into(), annotation(outcome));
    Value::Object(object).to_string()
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
            is_row: false,
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
