//! One browser session: the config the page shows, the pipeline built from it, and the judgments it asks for.
//!
//! Everything the page can observe is decided here, in plain Rust that the native unit tests exercise; the
//! wasm-bindgen layer (`bindings`) only moves strings and bytes across. Documents are judged by the very
//! [`Pipeline::process`] the bulk host and the edge call, records are read by the core's own record reader
//! (`tamis_core::record`, as `tamis run` reads them), and outcomes leave as the core's wire annotation
//! (`tamis_core::wire`), so the page shows the same bytes `tamis run` writes under `tamis`.

use serde::Serialize;
use serde_json::Value;
use tamis_core::record::{self, RecordFields};
use tamis_core::wire::Judgment;
use tamis_core::{
    Config, ConfigError, ConfigFormat, Document, Outcome, PiiSpan, Pipeline, ResourceKind,
    Resources, StepName,
};
use thiserror::Error;

/// Why a session could not do what the page asked.
#[derive(Debug, Error)]
pub enum WebError {
    /// A config (or a setting the page turned into one) that the core refused, with the key's path.
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("unknown config format {0:?}; expected toml, yaml or json")]
    Format(String),
}

impl WebError {
    /// The dotted path of the offending config key, `.` when the problem is not one key.
    pub fn path(&self) -> &str {
        match self {
            WebError::Config(e) => &e.path,
            WebError::Format(_) => ".",
        }
    }

    pub fn message(&self) -> String {
        match self {
            WebError::Config(e) => e.message.clone(),
            other => other.to_string(),
        }
    }

    /// `{"path": ..., "message": ...}`, what the page needs to point at the input holding the bad value.
    pub fn to_json(&self) -> String {
        serde_json::json!({"path": self.path(), "message": self.message()}).to_string()
    }
}

/// The config the page opens with: the core's defaults with `evaluate_all`, so that every check of every
/// step is shown (the verdict and reason are the same either way; this is also the edge's default).
pub fn page_default_config() -> Config {
    Config {
        evaluate_all: true,
        ..Config::default()
    }
}

/// Reads a format name from the page (`toml`, `yaml`, `yml`, `json`).
pub fn parse_format(name: &str) -> Result<ConfigFormat, WebError> {
    ConfigFormat::parse_name(name).ok_or_else(|| WebError::Format(name.to_string()))
}

/// The config section holding a step's options (`quality.gopher`), from the core's step registry.
pub fn section_of(step: StepName) -> &'static str {
    step.section()
}

/// Every step the core knows with its config section, as JSON (`[{"step": "html", "section": "html"}, ...]`),
/// so a step added to the core appears on the page without a change to the page.
pub fn step_sections_json() -> String {
    let steps: Vec<Value> = StepName::ALL
        .iter()
        .map(|s| serde_json::json!({"step": s.as_str(), "section": section_of(*s)}))
        .collect();
    Value::Array(steps).to_string()
}

/// One judged document as the page receives it: `{line, id, bytes, text, tamis, pii_utf16, error}`, where
/// `text` and `tamis` are the core's [`Judgment`] (so `tamis` is byte for byte what `tamis run` writes).
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// 1-based line in the dropped file; absent for a pasted document.
    pub line: Option<u64>,
    /// The document id, when the record had one or was judged (absent for a line that is not JSON).
    pub id: Option<String>,
    /// Bytes of input text (or HTML), for the page's totals and throughput.
    pub bytes: usize,
    /// The core's judgment, for a document that could be judged.
    pub outcome: Option<Outcome>,
    /// The `pii` spans of the outcome as `[start, end]` in UTF-16 code units, which is how JavaScript
    /// strings count; the outcome itself keeps the core's UTF-8 byte ranges.
    pub pii_utf16: Vec<[u32; 2]>,
    /// Why the document could not be judged (bad record, no text, a step that could not run).
    pub error: Option<String>,
}

impl Serialize for Judged {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if let Some(line) = self.line {
            map.serialize_entry("line", &line)?;
        }
        if let Some(id) = &self.id {
            map.serialize_entry("id", id)?;
        }
        map.serialize_entry("bytes", &self.bytes)?;
        if let Some(outcome) = &self.outcome {
            let judgment = Judgment::of(outcome);
            map.serialize_entry("text", judgment.text)?;
            map.serialize_entry("tamis", &judgment.tamis)?;
        }
        if !self.pii_utf16.is_empty() {
            map.serialize_entry("pii_utf16", &self.pii_utf16)?;
        }
        if let Some(error) = &self.error {
            map.serialize_entry("error", error)?;
        }
        map.end()
    }
}

impl Judged {
    fn from_result(
        line: Option<u64>,
        bytes: usize,
        id: String,
        result: Result<Outcome, tamis_core::DocumentError>,
    ) -> Self {
        match result {
            Ok(outcome) => Self {
                line,
                id: Some(id),
                bytes,
                pii_utf16: utf16_ranges(&outcome.text, &outcome.pii),
                outcome: Some(outcome),
                error: None,
            },
            Err(e) => Self::failed(line, Some(id), bytes, e.message),
        }
    }

    fn failed(line: Option<u64>, id: Option<String>, bytes: usize, error: String) -> Self {
        Self {
            line,
            id,
            bytes,
            outcome: None,
            pii_utf16: Vec::new(),
            error: Some(error),
        }
    }
}

/// The options that have no default, by section, so the core's JSON leaves them out.
const OPTIONAL_KEYS: [(&str, &[&str]); 3] = [
    ("tokens", &["tokenizer", "min_tokens", "max_tokens"]),
    ("language", &["model"]),
    ("quality_classifier", &["model"]),
];

/// The page's config and the pipeline built from it.
pub struct Session {
    pipeline: Pipeline,
    /// The files the user picked (a `tokenizer.json`, fastText models), kept across config changes: the
    /// config names them, the page hands over their bytes.
    files: Resources,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    pub fn new() -> Self {
        let pipeline = Pipeline::new(page_default_config(), &Resources::default())
            .expect("the default config is valid (a core unit test checks it)");
        Self {
            pipeline,
            files: Resources::default(),
        }
    }

    pub fn config(&self) -> &Config {
        self.pipeline.config()
    }

    /// Replaces the config. On error the previous pipeline stays, so the page keeps its last good result.
    pub fn configure(&mut self, source: &str, format: ConfigFormat) -> Result<(), WebError> {
        let config = Config::parse(source, format)?;
        self.pipeline = Pipeline::new(config, &self.files)?;
        Ok(())
    }

    /// Sets (or, with `None`, forgets) the file for the config key `key` (`tokens.tokenizer`,
    /// `language.model`, `quality_classifier.model`) and rebuilds the pipeline with it. The page then
    /// names the file in the config; until it does, the bytes are held and unused.
    pub fn set_file(&mut self, key: &str, bytes: Option<Vec<u8>>) -> Result<(), WebError> {
        let kind = ResourceKind::ALL
            .into_iter()
            .find(|k| k.key() == key)
            .ok_or_else(|| {
                WebError::from(ConfigError::new(
                    key,
                    format!(
                        "not a key that names a file (expected one of: {})",
                        ResourceKind::ALL.map(|k| k.key()).join(", ")
                    ),
                ))
            })?;
        let previous = self.files.set(kind, bytes);
        match Pipeline::new(self.config().clone(), &self.files) {
            Ok(pipeline) => {
                self.pipeline = pipeline;
                Ok(())
            }
            Err(e) => {
                self.files.set(kind, previous);
                Err(e.into())
            }
        }
    }

    /// The current config in `format`, every default filled in: what `tamis run` and the edge read.
    pub fn render(&self, format: ConfigFormat) -> Result<String, WebError> {
        Ok(self.config().render(format)?)
    }

    /// The config as JSON for the page to build its inputs from. Options without a default are left out
    /// of the core's JSON (`tokens.min_tokens`, `language.model`, ...); they are added here as `null`, which the core reads
    /// back as unset, so the page shows an input for them too.
    pub fn page_config_json(&self) -> String {
        let mut value = serde_json::to_value(self.config()).unwrap_or(Value::Null);
        for (section, keys) in OPTIONAL_KEYS {
            if let Some(section) = value.get_mut(section).and_then(Value::as_object_mut) {
                for key in keys {
                    section.entry(*key).or_insert(Value::Null);
                }
            }
        }
        value.to_string()
    }

    /// Judges one pasted document, as text or as an HTML page.
    pub fn judge(&self, id: &str, input: &str, is_html: bool) -> Judged {
        let doc = if is_html {
            Document::html(id, input)
        } else {
            Document::text(id, input)
        };
        Judged::from_result(
            None,
            input.len(),
            id.to_string(),
            self.pipeline.process(&doc),
        )
    }

    /// Judges every record of a piece of a JSONL file. Records are read as the bulk host reads them (the
    /// config's `io` keys name the fields; an id may be a string or a number); `first_line` is the 1-based
    /// number of the piece's first line, so a file can be judged piece by piece. Lines are split on `\n`
    /// only, because JSON allows U+2028/U+2029 unescaped inside strings; blank lines are skipped.
    pub fn judge_jsonl(&self, text: &str, source: &str, first_line: u64) -> Vec<Judged> {
        self.judge_jsonl_timed(text, source, first_line, &|| 0)
            .records
    }

    /// [`Session::judge_jsonl`], also adding up the time each step took, by the page's clock (`clock`
    /// returns nanoseconds; the core reads none of its own), so the page can show where the time goes.
    pub fn judge_jsonl_timed(
        &self,
        text: &str,
        source: &str,
        first_line: u64,
        clock: &dyn Fn() -> u64,
    ) -> JudgedPiece {
        let steps = self.config().steps.clone();
        let mut step_nanos = vec![0u64; steps.len()];
        let records = text
            .split('\n')
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| {
                let number = first_line + i as u64;
                match read_record(line, self.config(), source, number) {
                    Ok(doc) => {
                        let bytes = doc
                            .text
                            .as_ref()
                            .or(doc.html.as_ref())
                            .map_or(0, String::len);
                        let id = doc.id.clone();
                        let result = self.pipeline.process_timed(&doc, clock, &mut step_nanos);
                        Judged::from_result(Some(number), bytes, id, result)
                    }
                    Err((id, message)) => Judged::failed(Some(number), id, line.len(), message),
                }
            })
            .collect();
        JudgedPiece {
            records,
            steps: steps.iter().map(|s| s.as_str()).collect(),
            step_nanos,
        }
    }
}

/// The records of a piece of a file, and the time each configured step took over all of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgedPiece {
    pub records: Vec<Judged>,
    /// The configured steps, in order.
    pub steps: Vec<&'static str>,
    /// Nanoseconds spent in each step, by the clock the page lent.
    pub step_nanos: Vec<u64>,
}

/// One JSONL record as a document (the core's record reader, the one `tamis run` uses), or the id (when
/// known) and what is wrong with it.
fn read_record(
    line: &str,
    config: &Config,
    source: &str,
    number: u64,
) -> Result<Document, (Option<String>, String)> {
    let fields = RecordFields::from_io(&config.io);
    record::read_record(line.as_bytes(), &fields, &format!("{source}:{number}"))
        .map(|r| r.document)
        .map_err(|e| (e.id().map(str::to_string), e.to_string()))
}

/// Converts the byte ranges of `spans` in `text` to UTF-16 code unit ranges, in one pass over the text.
/// A position that is not on a character boundary (never produced by the core) maps to the next boundary.
pub fn utf16_ranges(text: &str, spans: &[PiiSpan]) -> Vec<[u32; 2]> {
    let mut points: Vec<u32> = spans.iter().flat_map(|s| [s.start, s.end]).collect();
    points.sort_unstable();
    points.dedup();
    let mut units_at = Vec::with_capacity(points.len());
    let mut chars = text.char_indices().peekable();
    let mut units = 0u32;
    for &point in &points {
        while let Some(&(i, c)) = chars.peek() {
            if i >= point as usize {
                break;
            }
            units += c.len_utf16() as u32;
            chars.next();
        }
        units_at.push(units);
    }
    let lookup = |byte: u32| {
        points
            .binary_search(&byte)
            .map(|i| units_at[i])
            .unwrap_or(units)
    };
    spans
        .iter()
        .map(|s| [lookup(s.start), lookup(s.end)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tamis_core::Verdict;

    /// A synthetic PII sentence in the style of the Presidio sample, with non-ASCII text before the spans.
    const PII_TEXT: &str =
        "Zoë Müller — 电话 call 212-555-0199 or write to zoe.muller@example.com 🙂 today.";

    fn short_doc_config() -> &'static str {
        "steps = [\"normalize\", \"pii\", \"gopher_quality\"]\nevaluate_all = true\n[quality.gopher]\nmin_doc_words = 3\n"
    }

    #[test]
    fn the_page_default_is_valid_and_evaluates_every_rule() {
        let session = Session::new();
        assert!(session.config().evaluate_all);
        assert_eq!(session.config().steps, Config::default().steps);
    }

    #[test]
    fn pii_spans_map_to_utf16_positions_of_the_same_text() {
        let mut session = Session::new();
        session
            .configure(short_doc_config(), ConfigFormat::Toml)
            .unwrap();
        let judged = session.judge("doc", PII_TEXT, false);
        let outcome = judged.outcome.as_ref().unwrap();
        assert_eq!(outcome.pii.len(), 2, "{outcome:?}");
        let utf16: Vec<u16> = outcome.text.encode_utf16().collect();
        for (span, [start, end]) in outcome.pii.iter().zip(&judged.pii_utf16) {
            let by_bytes = &outcome.text[span.start as usize..span.end as usize];
            let by_units = String::from_utf16(&utf16[*start as usize..*end as usize]).unwrap();
            assert_eq!(by_bytes, by_units);
            assert_eq!(by_bytes, span.replacement);
        }
        // The phone sits after 2-byte, 3-byte (UTF-16: 1 unit) characters: offsets must differ.
        assert_ne!(judged.pii_utf16[0][0], outcome.pii[0].start);
    }

    #[test]
    fn utf16_ranges_count_astral_characters_as_two_units() {
        let text = "🙂a[EMAIL]";
        let span = PiiSpan {
            kind: "email".into(),
            start: 5,
            end: 12,
            replacement: "[EMAIL]".into(),
        };
        assert_eq!(utf16_ranges(text, &[span]), vec![[3, 10]]);
        assert!(utf16_ranges(text, &[]).is_empty());
    }

    #[test]
    fn outcomes_are_the_cores_own() {
        let session = Session::new();
        let doc = Document::text("doc", PII_TEXT);
        let judged = session.judge("doc", PII_TEXT, false);
        let direct = Pipeline::new(page_default_config(), &Resources::default())
            .unwrap()
            .process(&doc)
            .unwrap();
        assert_eq!(judged.outcome.unwrap(), direct);
    }

    #[test]
    fn html_is_extracted_by_the_html_step() {
        let session = Session::new();
        let judged = session.judge(
            "page",
            "<html><head><title>T</title></head><body><p>Hello there.</p></body></html>",
            true,
        );
        let json: Value = serde_json::from_str(&serde_json::to_string(&judged).unwrap()).unwrap();
        let outcome = judged.outcome.unwrap();
        assert_eq!(outcome.title.as_deref(), Some("T"));
        assert_eq!(outcome.text, "Hello there.");
        assert_eq!(outcome.verdict, Verdict::Drop);
        assert_eq!(json["text"], "Hello there.");
        assert_eq!(json["tamis"]["title"], "T");
        assert_eq!(
            json["tamis"]["reason"].as_str().unwrap(),
            outcome.reason.unwrap().describe()
        );
    }

    #[test]
    fn bad_configs_keep_the_previous_pipeline_and_name_the_key() {
        let mut session = Session::new();
        let err = session
            .configure(
                r#"{"quality": {"gopher": {"min_doc_words": "fifty"}}}"#,
                ConfigFormat::Json,
            )
            .unwrap_err();
        assert_eq!(err.path(), "quality.gopher.min_doc_words");
        let json: Value = serde_json::from_str(&err.to_json()).unwrap();
        assert_eq!(json["path"], "quality.gopher.min_doc_words");
        assert!(
            json["message"]
                .as_str()
                .unwrap()
                .contains("expected integer")
        );
        assert_eq!(session.config(), &page_default_config());
        assert!(matches!(parse_format("ini"), Err(WebError::Format(_))));
    }

    #[test]
    fn the_tokens_step_needs_a_tokenizer() {
        let mut session = Session::new();
        let err = session
            .configure("steps = [\"tokens\"]", ConfigFormat::Toml)
            .unwrap_err();
        assert!(err.path().starts_with("tokens"), "{err}");
        assert!(
            session
                .set_file("tokens.tokenizer", Some(b"not json".to_vec()))
                .is_ok()
        );
        assert!(
            session
                .configure("steps = [\"tokens\"]", ConfigFormat::Toml)
                .is_err()
        );
    }

    #[test]
    fn a_model_file_the_user_picks_serves_the_step_whose_config_names_it() {
        use tamis_core::fasttext::train::{Example, TrainOptions, train};
        let english =
            "the bakers washed the sieve and sifted the flour again before the bread was made";
        let french = "les boulangers ont lavé le tamis et tamisé la farine avant de faire le pain";
        let examples: Vec<Example> = (0..20)
            .flat_map(|_| {
                [
                    Example {
                        labels: vec!["en"],
                        text: english,
                    },
                    Example {
                        labels: vec!["fr"],
                        text: french,
                    },
                ]
            })
            .collect();
        let options = TrainOptions {
            dim: 8,
            epoch: 20,
            ..TrainOptions::default()
        };
        let model = train(&examples, &options).unwrap().to_bytes();

        let mut session = Session::new();
        let config = "steps = [\"language\"]\n[language]\nmodel = \"lid.bin\"\n";
        // Named before it is handed over: refused, naming the key.
        let err = session.configure(config, ConfigFormat::Toml).unwrap_err();
        assert_eq!(err.path(), "language.model");
        session.set_file("language.model", Some(model)).unwrap();
        session.configure(config, ConfigFormat::Toml).unwrap();
        let judged = session.judge("fr", "le tamis et la farine des boulangers", false);
        let language = judged.outcome.unwrap().language.unwrap();
        assert_eq!(language.code, "fra");
        assert!(language.confidence > 0.5, "{}", language.confidence);
        // Not a model: refused, and the working model stays.
        let err = session
            .set_file("language.model", Some(b"not a model".to_vec()))
            .unwrap_err();
        assert_eq!(err.path(), "language.model");
        assert!(session.judge("fr", french, false).outcome.is_some());
        let err = session.set_file("language.allow", None).unwrap_err();
        assert!(
            err.to_string().contains("not a key that names a file"),
            "{err}"
        );
    }

    #[test]
    fn exported_configs_read_back_equal() {
        let mut session = Session::new();
        session
            .configure(short_doc_config(), ConfigFormat::Toml)
            .unwrap();
        for format in ["toml", "yaml", "json"] {
            let format = parse_format(format).unwrap();
            let text = session.render(format).unwrap();
            assert_eq!(&Config::parse(&text, format).unwrap(), session.config());
        }
    }

    #[test]
    fn jsonl_records_are_read_like_the_host_reads_them() {
        let session = Session::new();
        let text = concat!(
            "{\"id\": \"a\", \"text\": \"Hello.\", \"url\": \"https://example.com/\"}\n",
            "\n",
            "{\"id\": 7, \"text\": \"Hi.\"}\r\n",
            "{\"text\": \"No id.\"}\n",
            "not json\n",
            "{\"id\": \"b\", \"text\": 3}\n",
            "{\"id\": \"c\"}\n",
        );
        let judged = session.judge_jsonl(text, "dev.jsonl", 10);
        let lines: Vec<u64> = judged.iter().map(|j| j.line.unwrap()).collect();
        assert_eq!(lines, vec![10, 12, 13, 14, 15, 16]);
        assert_eq!(judged[0].id.as_deref(), Some("a"));
        assert!(judged[0].outcome.is_some());
        assert_eq!(judged[1].id.as_deref(), Some("7"));
        assert_eq!(judged[2].id.as_deref(), Some("dev.jsonl:13"));
        assert!(
            judged[3]
                .error
                .as_ref()
                .unwrap()
                .starts_with("invalid JSON")
        );
        assert_eq!(judged[4].id.as_deref(), Some("b"));
        assert!(judged[4].error.is_some());
        assert!(judged[5].error.as_ref().unwrap().contains("no text field"));
    }

    #[test]
    fn the_page_gets_the_annotation_tamis_run_writes_byte_for_byte() {
        let session = Session::new();
        let line = r#"{"id":"a","text":"Write to jane.doe@example.org or call 212-555-0147 today. We answer every question about sieves, flour and the kitchen within a day, and we are glad to help."}"#;
        let judged = session.judge_jsonl(line, "f.jsonl", 1);
        let page = serde_json::to_string(&judged[0]).unwrap();
        let fields = RecordFields::from_io(&session.config().io);
        let read = record::read_record(line.as_bytes(), &fields, "f.jsonl:1").unwrap();
        let outcome = judged[0].outcome.as_ref().unwrap();
        assert!(!outcome.pii.is_empty(), "{outcome:?}");
        let host = tamis_core::wire::output_record(read.object, outcome, &fields);
        let annotation = tamis_core::wire::to_json(&tamis_core::wire::Annotation::of(outcome));
        assert!(page.contains(&format!(r#""tamis":{annotation}"#)), "{page}");
        assert!(
            host.ends_with(&format!(r#""tamis":{annotation}}}"#)),
            "{host}"
        );
    }

    #[test]
    fn step_times_come_from_the_lent_clock() {
        let session = Session::new();
        let ticks = std::cell::Cell::new(0u64);
        let clock = || {
            ticks.set(ticks.get() + 1);
            ticks.get()
        };
        let text = "{\"id\": \"a\", \"text\": \"Hello.\"}\n{\"id\": \"b\", \"text\": \"Hi.\"}\n";
        let piece = session.judge_jsonl_timed(text, "t", 1, &clock);
        assert_eq!(piece.records, session.judge_jsonl(text, "t", 1));
        assert_eq!(piece.steps.len(), session.config().steps.len());
        assert_eq!(piece.step_nanos.len(), piece.steps.len());
        // evaluate_all: every step runs on both documents, one tick each.
        assert!(piece.step_nanos.iter().all(|&n| n == 2), "{piece:?}");
    }

    #[test]
    fn the_page_sees_options_without_defaults_as_null() {
        let mut session = Session::new();
        let json = session.page_config_json();
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["tokens"]["min_tokens"], Value::Null);
        assert!(
            value["tokens"]
                .as_object()
                .unwrap()
                .contains_key("tokenizer")
        );
        // Sent back unchanged, it is the same config.
        let before = session.config().clone();
        session.configure(&json, ConfigFormat::Json).unwrap();
        assert_eq!(session.config(), &before);
    }

    #[test]
    fn every_step_has_a_config_section() {
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let steps: Vec<Value> = serde_json::from_str(&step_sections_json()).unwrap();
        assert_eq!(steps.len(), StepName::ALL.len());
        for step in steps {
            let section = step["section"].as_str().unwrap();
            let found = section
                .split('.')
                .try_fold(&defaults, |value, key| value.get(key));
            assert!(found.is_some_and(Value::is_object), "{section}");
        }
    }
}
