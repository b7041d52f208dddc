//! The JavaScript face of [`Session`]: strings and bytes in, JSON strings out.
//!
//! Results cross as JSON text rather than as JS objects so that the page (and the browser test) can keep
//! the exact bytes: MinHash values are 64-bit integers, which a JS number cannot hold. Errors are thrown as
//! `{"path": ..., "message": ...}` JSON strings, so the page can point at the input holding the bad value.

use wasm_bindgen::prelude::*;

use crate::session::{self, Session, WebError};

#[wasm_bindgen]
extern "C" {
    /// The page's monotonic clock, in milliseconds; lent to the core for step timings.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

fn to_js(error: WebError) -> JsValue {
    JsValue::from_str(&error.to_json())
}

/// A session: one config, its pipeline, and the judgments made with it.
#[wasm_bindgen]
pub struct Demo {
    session: Session,
}

impl Default for Demo {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl Demo {
    /// A session with the page's default config (the core's defaults, every rule evaluated).
    #[wasm_bindgen(constructor)]
    pub fn new() -> Demo {
        Demo {
            session: Session::new(),
        }
    }

    /// Replaces the config with `source`, written in `format` (`toml`, `yaml` or `json`).
    pub fn configure(&mut self, source: &str, format: &str) -> Result<(), JsValue> {
        let format = session::parse_format(format).map_err(to_js)?;
        self.session.configure(source, format).map_err(to_js)
    }

    /// Hands over the bytes of the file for the config key `key`: `tokens.tokenizer` (a
    /// `tokenizer.json`), `language.model` or `quality_classifier.model` (fastText models); `undefined`
    /// forgets it. The config names the file separately.
    #[wasm_bindgen(js_name = setFile)]
    pub fn set_file(&mut self, key: &str, bytes: Option<Vec<u8>>) -> Result<(), JsValue> {
        self.session.set_file(key, bytes).map_err(to_js)
    }

    /// The current config in `format`, with every default filled in.
    #[wasm_bindgen(js_name = renderConfig)]
    pub fn render_config(&self, format: &str) -> Result<String, JsValue> {
        let format = session::parse_format(format).map_err(to_js)?;
        self.session.render(format).map_err(to_js)
    }

    /// The config as JSON with every option present (`null` for those without a default), for the page
    /// to build its inputs from.
    #[wasm_bindgen(js_name = pageConfig)]
    pub fn page_config(&self) -> String {
        self.session.page_config_json()
    }

    /// Judges one pasted document; returns the JSON of a `Judged`.
    #[wasm_bindgen(js_name = judgeText)]
    pub fn judge_text(&self, id: &str, input: &str, is_html: bool) -> String {
        to_json(&self.session.judge(id, input, is_html))
    }

    /// Judges the records of a piece of a JSONL file; returns the JSON of a `JudgedPiece` (the records
    /// and the time each step took, by `performance.now()`).
    #[wasm_bindgen(js_name = judgeJsonl)]
    pub fn judge_jsonl(&self, text: &str, source: &str, first_line: u32) -> String {
        let clock = || (performance_now() * 1e6) as u64;
        to_json(
            &self
                .session
                .judge_jsonl_timed(text, source, u64::from(first_line), &clock),
        )
    }
}

/// Every step with its config section, as JSON.
#[wasm_bindgen(js_name = stepSections)]
pub fn step_sections() -> String {
    session::step_sections_json()
}

fn to_json(value: &impl serde::Serialize) -> String {
    // Outcomes hold only strings, numbers and lists (finite numbers: the core clamps them), which always
    // serialize; the fallback keeps the promise of JSON even so.
    serde_json::to_string(value).unwrap_or_else(|e| {
        serde_json::json!({"error": format!("serializing the result: {e}")}).to_string()
    })
}
