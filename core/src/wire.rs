//! The per-document JSON every runtime emits: one serde type, so `tamis run`, the edge function and the
//! browser demo cannot drift apart.
//!
//! An outcome leaves the core as an [`Annotation`]: the verdict, the reason both as one readable line
//! (`gopher_quality / gopher_short_doc / 19 < 50`, what a user greps for) and as the structured check, and
//! every finding. The bulk host puts it under `tamis` in each output record ([`output_record`]); the edge
//! answers with [`Judgment`]s, which are exactly the records the host would write for an input record
//! holding only the id and the text; the browser shows the same [`Judgment`]. Serializing one type with one
//! serializer gives the same bytes everywhere, which `tests/` checks across the four runtimes.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::outcome::{Check, Hashes, LanguageGuess, Outcome, PiiSpan, Score, Verdict};
use crate::record::RecordFields;

/// The `tamis` object of an output record: the outcome without its id and text, which the record holds
/// already. Fields are in a fixed order and empty findings are left out, so the bytes are stable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Annotation<'a> {
    /// Keep or drop.
    pub verdict: Verdict,
    /// The failed check of a drop as one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The same check, structured (step, rule, value, bound, threshold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_check: Option<&'a Check>,
    /// The page title the `html` step found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<&'a str>,
    /// Author, publication date, site name and declared language, where the page states them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<&'a crate::html::PageMeta>,
    /// The language the `language` step identified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<&'a LanguageGuess>,
    /// Named scores (e.g. `quality_score`).
    #[serde(skip_serializing_if = "<[Score]>::is_empty")]
    pub scores: &'a [Score],
    /// PII found, as byte ranges of the output text.
    #[serde(skip_serializing_if = "<[PiiSpan]>::is_empty")]
    pub pii: &'a [PiiSpan],
    /// Token count from the `tokens` step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u32>,
    /// Exact hash and MinHash from the `fingerprint` step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashes: Option<&'a Hashes>,
    /// Every check that ran, passed or not.
    pub checks: &'a [Check],
}

impl<'a> Annotation<'a> {
    /// The annotation of an outcome.
    pub fn of(outcome: &'a Outcome) -> Self {
        Self {
            verdict: outcome.verdict,
            reason: outcome.reason.as_ref().map(Check::describe),
            reason_check: outcome.reason.as_ref(),
            title: outcome.title.as_deref(),
            page: outcome.page.as_ref(),
            language: outcome.language.as_ref(),
            scores: &outcome.scores,
            pii: &outcome.pii,
            tokens: outcome.tokens,
            hashes: outcome.hashes.as_ref(),
            checks: &outcome.checks,
        }
    }
}

/// One judged document as the edge answers it and the browser shows it: the id, the text as the pipeline
/// left it (cleaned when kept; as far as cleaning got when dropped, which shows why) and the
/// [`Annotation`]. For a kept document it is exactly the record `tamis run` writes for an input record
/// `{"id": …, "text": …}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgment<'a> {
    /// The document id.
    pub id: &'a str,
    /// The text as the pipeline left it.
    pub text: &'a str,
    /// The judgment.
    pub tamis: Annotation<'a>,
}

impl<'a> Judgment<'a> {
    /// The judgment of `outcome`.
    pub fn of(outcome: &'a Outcome) -> Self {
        Self {
            id: &outcome.id,
            text: &outcome.text,
            tamis: Annotation::of(outcome),
        }
    }
}

/// Serializes any wire value. Serializing plain structs of strings, numbers and finite floats cannot fail
/// (the core keeps every check value finite), so a failure is a bug and shows as `null`, never a panic.
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// The output record: the input object with the cleaned text (kept) or the original text (dropped), and
/// the [`Annotation`] under `tamis`, after every field the record came with (or in place of an earlier
/// `tamis` field, when a run reads its own output). A kept HTML record loses its HTML field, which the text
/// now replaces; the other fields keep their order.
pub fn output_record(
    mut object: Map<String, Value>,
    outcome: &Outcome,
    fields: &RecordFields,
) -> String {
    if outcome.verdict == Verdict::Keep {
        object.insert(fields.text.clone(), Value::String(outcome.text.clone()));
        if let Some(html) = &fields.html {
            object.shift_remove(html);
        }
    }
    // The object is written field by field so that the annotation is serialized straight from its type,
    // not through a `Value`: its bytes are then the ones every other runtime writes.
    let annotation = to_json(&Annotation::of(outcome));
    let mut line = String::with_capacity(outcome.text.len() + annotation.len() + 64);
    line.push('{');
    let mut annotated = false;
    for (key, value) in &object {
        if line.len() > 1 {
            line.push(',');
        }
        line.push_str(&to_json(key));
        line.push(':');
        if key == "tamis" {
            line.push_str(&annotation);
            annotated = true;
        } else {
            line.push_str(&to_json(value));
        }
    }
    if !annotated {
        if line.len() > 1 {
            line.push(',');
        }
        line.push_str("\"tamis\":");
        line.push_str(&annotation);
    }
    line.push('}');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Bound;
    use crate::record::read_record;

    fn dropped() -> Outcome {
        let check = Check {
            step: "gopher_quality".into(),
            rule: "gopher_short_doc".into(),
            value: 2.0,
            bound: Bound::AtLeast,
            threshold: 50.0,
            passed: false,
        };
        Outcome {
            id: "d1".into(),
            verdict: Verdict::Drop,
            reason: Some(check.clone()),
            text: "Too short.".into(),
            title: None,
            page: None,
            checks: vec![check],
            pii: Vec::new(),
            language: None,
            scores: Vec::new(),
            hashes: None,
            tokens: None,
        }
    }

    #[test]
    fn the_annotation_names_the_reason_twice_and_leaves_out_empty_findings() {
        let outcome = dropped();
        let json = to_json(&Annotation::of(&outcome));
        assert_eq!(
            json,
            concat!(
                r#"{"verdict":"drop","reason":"gopher_quality / gopher_short_doc / 2 < 50","#,
                r#""reason_check":{"step":"gopher_quality","rule":"gopher_short_doc","value":2.0,"bound":"at_least","threshold":50.0,"passed":false},"#,
                r#""checks":[{"step":"gopher_quality","rule":"gopher_short_doc","value":2.0,"bound":"at_least","threshold":50.0,"passed":false}]}"#
            )
        );
    }

    #[test]
    fn output_records_keep_every_field_and_append_the_annotation() {
        let line = br#"{"b":1,"id":"d1","text":"Too short.","a":{"x":[1,2]}}"#;
        let record = read_record(line, &RecordFields::default(), "f:1").unwrap();
        let outcome = dropped();
        let out = output_record(record.object, &outcome, &RecordFields::default());
        let expected = format!(
            r#"{{"b":1,"id":"d1","text":"Too short.","a":{{"x":[1,2]}},"tamis":{}}}"#,
            to_json(&Annotation::of(&outcome))
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn a_kept_judgment_is_the_record_the_host_writes_for_id_and_text() {
        let mut outcome = dropped();
        outcome.verdict = Verdict::Keep;
        outcome.reason = None;
        outcome.text = "Cleaned.".into();
        let judgment = to_json(&Judgment::of(&outcome));
        let record = read_record(
            br#"{"id":"d1","text":"Raw text."}"#,
            &RecordFields::default(),
            "f:1",
        )
        .unwrap();
        assert_eq!(
            judgment,
            output_record(record.object, &outcome, &RecordFields::default())
        );
    }
}
