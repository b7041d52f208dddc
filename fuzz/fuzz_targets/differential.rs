//! Differential: the core compiled to the WebAssembly component and run on wasmtime (as the bulk host's
//! wasm engine runs it) against the core linked natively. For any document, text or HTML (first byte), both
//! must give byte-identical per-document JSON, or the same error. The component is read from
//! `TAMIS_COMPONENT` (scripts/fuzz.sh builds it); the config is the default with `evaluate_all`.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use tamis_core::{
    Bound, Check, Config, ConfigFormat, Document, DocumentError, Hashes, LanguageGuess, Outcome,
    PiiSpan, Score, Verdict,
};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        world: "tamis",
        path: "../wit",
    });
}

use bindings::tamis::core::types as wit;

/// The guest gets no files, network or environment, and at most 1 GiB of memory.
struct Guest {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for Guest {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

struct Wasm {
    engine: Engine,
    pre: bindings::TamisPre<Guest>,
    config: String,
    live: Option<(Store<Guest>, bindings::Tamis)>,
}

impl Wasm {
    fn load() -> Self {
        let path = std::env::var_os("TAMIS_COMPONENT")
            .expect("TAMIS_COMPONENT names the core component (scripts/fuzz.sh sets it)");
        let engine = Engine::default();
        let component = Component::from_file(&engine, &path).expect("loading the core component");
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("linking WASI");
        let pre = bindings::TamisPre::new(linker.instantiate_pre(&component).expect("linking"))
            .expect("the component exports the `tamis` world");
        let config = Config {
            evaluate_all: true,
            ..Config::default()
        }
        .render(ConfigFormat::Json)
        .expect("the default config renders");
        Self {
            engine,
            pre,
            config,
            live: None,
        }
    }

    /// Judges one document in the guest; a trap or a refused batch is an `Err` (and a fresh instance next).
    fn judge(&mut self, doc: &Document) -> Result<Result<Outcome, DocumentError>, String> {
        if self.live.is_none() {
            let guest = Guest {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
                limits: StoreLimitsBuilder::new()
                    .memory_size(1 << 30)
                    .trap_on_grow_failure(true)
                    .build(),
            };
            let mut store = Store::new(&self.engine, guest);
            store.limiter(|g| &mut g.limits);
            let instance = self.pre.instantiate(&mut store).expect("instantiating");
            instance
                .tamis_core_pipeline()
                .call_configure(
                    &mut store,
                    &self.config,
                    wit::ConfigFormat::Json,
                    &wit::Resources {
                        tokenizer_json: None,
                        language_model: None,
                        quality_classifier_model: None,
                    },
                )
                .expect("configure call")
                .expect("the guest accepts the default config");
            self.live = Some((store, instance));
        }
        let (store, instance) = self.live.as_mut().expect("instantiated above");
        let docs = [wit::Document {
            id: doc.id.clone(),
            text: doc.text.clone(),
            html: doc.html.clone(),
            url: doc.url.clone(),
            metadata: doc.metadata.clone(),
        }];
        let answer = instance.tamis_core_pipeline().call_process(store, &docs);
        match answer {
            Ok(Ok(batch)) => {
                let mut results = batch.results.into_iter();
                match (results.next(), results.next()) {
                    (Some(result), None) => {
                        Ok(result.map(outcome_from_wit).map_err(|e| DocumentError {
                            id: e.id,
                            message: e.message,
                        }))
                    }
                    _ => Err("the guest did not return exactly one result".into()),
                }
            }
            Ok(Err(message)) => {
                self.live = None;
                Err(message)
            }
            Err(trap) => {
                self.live = None;
                Err(format!("trap: {trap:?}"))
            }
        }
    }
}

fn wasm() -> &'static Mutex<Wasm> {
    static WASM: OnceLock<Mutex<Wasm>> = OnceLock::new();
    WASM.get_or_init(|| Mutex::new(Wasm::load()))
}

fn check_from_wit(c: wit::Check) -> Check {
    Check {
        step: c.step,
        rule: c.rule,
        value: c.value,
        bound: match c.bound {
            wit::Bound::AtLeast => Bound::AtLeast,
            wit::Bound::AtMost => Bound::AtMost,
            wit::Bound::Above => Bound::Above,
            wit::Bound::Below => Bound::Below,
        },
        threshold: c.threshold,
        passed: c.passed,
    }
}

fn outcome_from_wit(o: wit::Outcome) -> Outcome {
    Outcome {
        id: o.id,
        verdict: match o.verdict {
            wit::Verdict::Keep => Verdict::Keep,
            wit::Verdict::Drop => Verdict::Drop,
        },
        reason: o.reason.map(check_from_wit),
        text: o.text,
        title: o.title,
        page: o.page.map(|p| tamis_core::html::PageMeta {
            author: p.author,
            date: p.date,
            site_name: p.site_name,
            language: p.language,
        }),
        checks: o.checks.into_iter().map(check_from_wit).collect(),
        pii: o
            .pii
            .into_iter()
            .map(|s| PiiSpan {
                kind: s.kind,
                start: s.start,
                end: s.end,
                replacement: s.replacement,
            })
            .collect(),
        language: o.language.map(|l| LanguageGuess {
            code: l.code,
            confidence: l.confidence,
        }),
        scores: o
            .scores
            .into_iter()
            .map(|s| Score {
                name: s.name,
                value: s.value,
            })
            .collect(),
        hashes: o.hashes.map(|h| Hashes {
            exact: h.exact,
            minhash: h.minhash,
        }),
        tokens: o.tokens,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let input = String::from_utf8_lossy(rest);
    let doc = if selector & 1 == 0 {
        Document::text("fuzz", input)
    } else {
        Document::html("fuzz", input)
    };
    let native = tamis_fuzz::default_pipelines().1.process(&doc);
    let guest = wasm()
        .lock()
        .expect("one fuzzing thread")
        .judge(&doc)
        .unwrap_or_else(|e| panic!("the guest failed where native gave {native:?}: {e}"));
    // The project's promise is byte-identical JSON, which also compares NaN and -0.0 as written.
    let json = |r: &Result<Outcome, DocumentError>| match r {
        Ok(o) => serde_json::to_string(o).expect("an outcome serializes"),
        Err(e) => format!("error: {e:?}"),
    };
    assert_eq!(json(&guest), json(&native), "wasm and native disagree");
});
