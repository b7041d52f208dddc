//! The guest side of the component: converts the WIT records to the core's types and back.
//!
//! Built with `cargo build -p tamis-component --target wasm32-wasip2 --release`, which produces
//! `target/wasm32-wasip2/release/tamis_component.wasm`, a component exporting `tamis:core/pipeline`.
//! On native targets the crate is empty: the host links `tamis-core` directly for `--engine native`.

// The bindings wit-bindgen generates export C-ABI functions, which is unsafe code by definition; this
// module holds nothing else that needs it.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod guest {
    use std::cell::RefCell;

    use tamis_core as core;

    wit_bindgen::generate!({
        world: "tamis",
        path: "../../wit",
    });

    use exports::tamis::core::pipeline::Guest;
    use tamis::core::types as wit;

    thread_local! {
        // The component is single-threaded; the configured pipeline lives for the instance's lifetime.
        static PIPELINE: RefCell<Option<core::Pipeline>> = const { RefCell::new(None) };
        // The tokenizer.json of the installed config, loaded into an encoder on the first `tokenize` call:
        // a `run` instance that never tokenizes does not pay for parsing it a second time.
        static TOKENIZER_JSON: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
        static ENCODER: RefCell<Option<core::tokenize::Encoder>> = const { RefCell::new(None) };
    }

    struct Component;

    impl Guest for Component {
        fn configure(
            config: String,
            format: wit::ConfigFormat,
            resources: wit::Resources,
        ) -> Result<String, String> {
            let format = match format {
                wit::ConfigFormat::Toml => core::ConfigFormat::Toml,
                wit::ConfigFormat::Yaml => core::ConfigFormat::Yaml,
                wit::ConfigFormat::Json => core::ConfigFormat::Json,
            };
            let config = core::Config::parse(&config, format).map_err(|e| e.to_string())?;
            let effective = config
                .render(core::ConfigFormat::Json)
                .map_err(|e| e.to_string())?;
            let resources = core::Resources {
                tokenizer_json: resources.tokenizer_json,
                language_model: resources.language_model,
                quality_classifier_model: resources.quality_classifier_model,
            };
            let pipeline = core::Pipeline::new(config, &resources).map_err(|e| e.to_string())?;
            PIPELINE.with(|p| *p.borrow_mut() = Some(pipeline));
            TOKENIZER_JSON.with(|t| *t.borrow_mut() = resources.tokenizer_json);
            ENCODER.with(|e| *e.borrow_mut() = None);
            Ok(effective)
        }

        fn process(docs: Vec<wit::Document>) -> Result<wit::Batch, String> {
            PIPELINE.with(|p| {
                let pipeline = p.borrow();
                let pipeline = pipeline.as_ref().ok_or("process called before configure")?;
                // The host lends WASI's monotonic clock; it only feeds step timings.
                let origin = std::time::Instant::now();
                let clock = move || origin.elapsed().as_nanos() as u64;
                let mut step_nanos = vec![0u64; pipeline.config().steps.len()];
                let results = docs
                    .into_iter()
                    .map(|d| {
                        let doc = core::Document {
                            id: d.id,
                            text: d.text,
                            html: d.html,
                            url: d.url,
                            metadata: d.metadata,
                        };
                        pipeline
                            .process_timed(&doc, &clock, &mut step_nanos)
                            .map(outcome_to_wit)
                            .map_err(|e| wit::DocumentError {
                                id: e.id,
                                message: e.message,
                            })
                    })
                    .collect();
                Ok(wit::Batch {
                    results,
                    step_nanos,
                })
            })
        }

        fn tokenize(texts: Vec<String>) -> Result<Vec<Result<Vec<u32>, String>>, String> {
            if PIPELINE.with(|p| p.borrow().is_none()) {
                return Err("tokenize called before configure".into());
            }
            ENCODER.with(|encoder| {
                let mut encoder = encoder.borrow_mut();
                if encoder.is_none() {
                    let built = TOKENIZER_JSON
                        .with(|t| t.borrow().as_deref().map(core::tokenize::Encoder::new))
                        .ok_or(
                            "tokenize needs a tokenizer: the config's resources hold no tokenizer.json",
                        )?
                        .map_err(|e| e.to_string())?;
                    // Loaded: the bytes are no longer needed.
                    TOKENIZER_JSON.with(|t| *t.borrow_mut() = None);
                    *encoder = Some(built);
                }
                let encoder = encoder.as_ref().ok_or("no tokenizer")?;
                Ok(encoder.encode_batch(&texts))
            })
        }
    }

    fn bound_to_wit(b: core::Bound) -> wit::Bound {
        match b {
            core::Bound::AtLeast => wit::Bound::AtLeast,
            core::Bound::AtMost => wit::Bound::AtMost,
            core::Bound::Above => wit::Bound::Above,
            core::Bound::Below => wit::Bound::Below,
        }
    }

    fn check_to_wit(c: core::Check) -> wit::Check {
        wit::Check {
            step: c.step,
            rule: c.rule,
            value: c.value,
            bound: bound_to_wit(c.bound),
            threshold: c.threshold,
            passed: c.passed,
        }
    }

    fn outcome_to_wit(o: core::Outcome) -> wit::Outcome {
        wit::Outcome {
            id: o.id,
            verdict: match o.verdict {
                core::Verdict::Keep => wit::Verdict::Keep,
                core::Verdict::Drop => wit::Verdict::Drop,
            },
            reason: o.reason.map(check_to_wit),
            text: o.text,
            title: o.title,
            page: o.page.map(|p| wit::PageMeta {
                author: p.author,
                date: p.date,
                site_name: p.site_name,
                language: p.language,
            }),
            checks: o.checks.into_iter().map(check_to_wit).collect(),
            pii: o
                .pii
                .into_iter()
                .map(|s| wit::PiiSpan {
                    kind: s.kind,
                    start: s.start,
                    end: s.end,
                    replacement: s.replacement,
                })
                .collect(),
            language: o.language.map(|l| wit::LanguageGuess {
                code: l.code,
                confidence: l.confidence,
            }),
            scores: o
                .scores
                .into_iter()
                .map(|s| wit::Score {
                    name: s.name,
                    value: s.value,
                })
                .collect(),
            hashes: o.hashes.map(|h| wit::Hashes {
                exact: h.exact,
                minhash: h.minhash,
            }),
            tokens: o.tokens,
        }
    }

    export!(Component);
}
