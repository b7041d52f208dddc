//! The two ways of running the core: the sandboxed wasm component (default) and the core linked natively.
//!
//! Both take the same config text and documents and must give identical outcomes; the native engine exists
//! for comparison and debugging, the wasm engine for isolation: a document that makes the core trap, loop
//! or eat memory costs one error record, not the job.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use tamis_core::{ConfigFormat, Document, DocumentError, Outcome, Pipeline, Resources};
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{
    Config as WasmConfig, Engine as WasmEngine, Store, StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod component;
mod fuel;

pub use fuel::measure_fuel;

pub use component::component_sha256;
use component::{load_component, locate_component};

mod bindings {
    wasmtime::component::bindgen!({
        world: "tamis",
        path: "../wit",
    });
}

use bindings::tamis::core::types as wit;

/// Which engine runs the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineKind {
    Wasm,
    Native,
}

impl EngineKind {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "wasm" => Ok(Self::Wasm),
            "native" => Ok(Self::Native),
            other => bail!("unknown engine {other:?}: expected \"wasm\" or \"native\""),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wasm => "wasm",
            Self::Native => "native",
        }
    }
}

/// The judgment on one document: an outcome, or an error message (invalid document, trap, timeout).
pub type Judgment = Result<Outcome, DocumentError>;

/// The token ids of one text, or why it could not be encoded (tokenizer error, trap, timeout).
pub type Encoded = std::result::Result<Vec<u32>, String>;

/// What one batch gives back.
#[derive(Debug, Default)]
pub struct BatchResult {
    /// One per document, in order.
    pub judgments: Vec<Judgment>,
    /// Time spent in each configured step over the batch, in config order.
    pub step_nanos: Vec<u64>,
}

/// Sandbox limits for the wasm engine.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory cap of one instance.
    pub memory_bytes: usize,
    /// Wall-clock budget of one batch call (and of each one-document retry).
    pub batch_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 2 << 30,
            batch_timeout: Duration::from_secs(120),
        }
    }
}

/// What every worker needs to start its own engine: built once, shared by all workers.
pub struct EngineFactory {
    kind: EngineKind,
    config_text: String,
    config_format: ConfigFormat,
    resources: Resources,
    wasm: Option<WasmShared>,
}

struct WasmShared {
    engine: WasmEngine,
    pre: bindings::TamisPre<GuestState>,
    limits: Limits,
    _ticker: Arc<Ticker>,
}

/// Epoch deadlines count ticks of this thread: one tick per `TICK`.
const TICK: Duration = Duration::from_millis(10);

struct Ticker {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl EngineFactory {
    /// Validates the config once, natively, so a bad config fails before any work starts, then prepares the
    /// engine.
    pub fn new(
        kind: EngineKind,
        config_text: &str,
        config_format: ConfigFormat,
        resources: Resources,
        component_path: Option<&Path>,
        limits: Limits,
    ) -> Result<Self> {
        let config = tamis_core::Config::parse(config_text, config_format)
            .map_err(|e| anyhow!("config: {e}"))?;
        Pipeline::new(config, &resources).map_err(|e| anyhow!("config: {e}"))?;
        let wasm = match kind {
            EngineKind::Native => None,
            EngineKind::Wasm => Some(WasmShared::new(component_path, limits)?),
        };
        Ok(Self {
            kind,
            config_text: config_text.to_string(),
            config_format,
            resources,
            wasm,
        })
    }

    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// A fresh engine for one worker.
    pub fn start(&self) -> Result<Box<dyn CoreEngine>> {
        match &self.wasm {
            None => {
                let config = tamis_core::Config::parse(&self.config_text, self.config_format)
                    .map_err(|e| anyhow!("config: {e}"))?;
                let pipeline =
                    Pipeline::new(config, &self.resources).map_err(|e| anyhow!("config: {e}"))?;
                Ok(Box::new(NativeEngine {
                    pipeline,
                    tokenizer_json: self.resources.tokenizer_json.clone(),
                    encoder: None,
                }))
            }
            Some(shared) => Ok(Box::new(WasmInstance::new(
                shared,
                &self.config_text,
                self.config_format,
                &self.resources,
            )?)),
        }
    }
}

/// One worker's engine.
pub trait CoreEngine: Send {
    /// One judgment per document, in order. Never fails as a whole: whatever goes wrong with a document
    /// becomes that document's error.
    fn process(&mut self, docs: &[Document]) -> BatchResult;

    /// The token ids of each text (the tokenizer of the config's resources, no special tokens added), in
    /// order. Never fails as a whole, as [`CoreEngine::process`].
    fn tokenize(&mut self, texts: &[String]) -> Vec<Encoded>;
}

struct NativeEngine {
    pipeline: Pipeline,
    /// The tokenizer.json of the resources, loaded into `encoder` on the first `tokenize`.
    tokenizer_json: Option<Vec<u8>>,
    encoder: Option<tamis_core::tokenize::Encoder>,
}

/// The message of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl CoreEngine for NativeEngine {
    fn process(&mut self, docs: &[Document]) -> BatchResult {
        let origin = std::time::Instant::now();
        let clock = move || origin.elapsed().as_nanos() as u64;
        let mut step_nanos = vec![0u64; self.pipeline.config().steps.len()];
        let judgments = docs
            .iter()
            .map(|doc| {
                let pipeline = &self.pipeline;
                let nanos = &mut step_nanos;
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    pipeline.process_timed(doc, &clock, nanos)
                }))
                .unwrap_or_else(|panic| {
                    Err(DocumentError {
                        id: doc.id.clone(),
                        message: format!("core panicked: {}", panic_message(&*panic)),
                    })
                })
            })
            .collect();
        BatchResult {
            judgments,
            step_nanos,
        }
    }

    fn tokenize(&mut self, texts: &[String]) -> Vec<Encoded> {
        if self.encoder.is_none() {
            let loaded = match self.tokenizer_json.take() {
                None => Err(
                    "tokenize needs a tokenizer: the config's resources hold no tokenizer.json"
                        .to_string(),
                ),
                Some(json) => tamis_core::tokenize::Encoder::new(&json).map_err(|e| e.to_string()),
            };
            match loaded {
                Ok(encoder) => self.encoder = Some(encoder),
                Err(message) => return texts.iter().map(|_| Err(message.clone())).collect(),
            }
        }
        let Some(encoder) = &self.encoder else {
            return texts.iter().map(|_| Err("no tokenizer".into())).collect();
        };
        texts
            .iter()
            .map(|text| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| encoder.encode(text)))
                    .unwrap_or_else(|panic| {
                        Err(format!("core panicked: {}", panic_message(&*panic)))
                    })
            })
            .collect()
    }
}

/// Per-store state: the WASI context (no files, no network, no environment) and the memory limits.
struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    stderr: MemoryOutputPipe,
}

impl GuestState {
    /// A sandbox with no files, no network and no environment; what the guest prints on stderr is kept
    /// (64 KiB) to explain a trap.
    fn new(memory_bytes: usize) -> Self {
        let stderr = MemoryOutputPipe::new(64 * 1024);
        let mut wasi = WasiCtx::builder();
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .stderr(stderr.clone());
        Self {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                // A component is several core instances (the core, its shims and fixups); these counts only
                // need to cover that fixed structure, the memory cap is what guards against documents.
                .instances(64)
                .memories(16)
                .tables(64)
                .trap_on_grow_failure(true)
                .build(),
            stderr,
        }
    }
}

/// Applies the memory cap to a store.
fn state_limits(store: &mut Store<GuestState>, memory_bytes: usize) {
    store.limiter(|s| &mut s.limits);
    // Outcomes are copied out of the guest in one call; wasmtime's default cap on that (128 MiB) would
    // turn every document above it into an error. The memory cap already bounds what the guest can hand
    // back, so the copy may be as large as the memory.
    store.set_hostcall_fuel(memory_bytes);
}

/// The runtime's resources as the component's interface carries them.
fn wit_resources(resources: &Resources) -> wit::Resources {
    wit::Resources {
        tokenizer_json: resources.tokenizer_json.clone(),
        language_model: resources.language_model.clone(),
        quality_classifier_model: resources.quality_classifier_model.clone(),
    }
}

fn wit_document(d: &Document) -> wit::Document {
    wit::Document {
        id: d.id.clone(),
        text: d.text.clone(),
        html: d.html.clone(),
        url: d.url.clone(),
        metadata: d.metadata.clone(),
    }
}

/// Links WASI (and nothing else) for the core component.
fn link(
    engine: &WasmEngine,
    component: &wasmtime::component::Component,
) -> Result<bindings::TamisPre<GuestState>> {
    let mut linker: Linker<GuestState> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).in_sandbox("linking WASI")?;
    bindings::TamisPre::new(
        linker
            .instantiate_pre(component)
            .in_sandbox("linking the core component")?,
    )
    .in_sandbox("the core component does not export the `tamis` world")
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasmShared {
    fn new(component_path: Option<&Path>, limits: Limits) -> Result<Self> {
        let path = locate_component(component_path)?;
        let mut config = WasmConfig::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        let engine = WasmEngine::new(&config).in_sandbox("starting wasmtime")?;
        let component = load_component(&engine, &path)?;
        let pre = link(&engine, &component)?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("epoch-ticker".into())
                .spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })?;
        }
        Ok(Self {
            engine,
            pre,
            limits,
            _ticker: Arc::new(Ticker { stop }),
        })
    }
}

/// Deadline of instantiating and configuring one instance.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// One sandboxed instance of the core, configured and ready for batches.
struct WasmInstance {
    engine: WasmEngine,
    pre: bindings::TamisPre<GuestState>,
    limits: Limits,
    config_text: String,
    config_format: wit::ConfigFormat,
    resources: wit::Resources,
    live: Option<(Store<GuestState>, bindings::Tamis)>,
}

impl WasmInstance {
    fn new(
        shared: &WasmShared,
        config_text: &str,
        format: ConfigFormat,
        resources: &Resources,
    ) -> Result<Self> {
        let mut me = Self {
            engine: shared.engine.clone(),
            pre: shared.pre.clone(),
            limits: shared.limits.clone(),
            config_text: config_text.to_string(),
            config_format: match format {
                ConfigFormat::Toml => wit::ConfigFormat::Toml,
                ConfigFormat::Yaml => wit::ConfigFormat::Yaml,
                ConfigFormat::Json => wit::ConfigFormat::Json,
            },
            resources: wit_resources(resources),
            live: None,
        };
        me.ensure_live()?;
        Ok(me)
    }

    /// Instantiates and configures a fresh instance if the last one was discarded after a trap.
    fn ensure_live(&mut self) -> Result<()> {
        if self.live.is_some() {
            return Ok(());
        }
        let state = GuestState::new(self.limits.memory_bytes);
        let mut store = Store::new(&self.engine, state);
        state_limits(&mut store, self.limits.memory_bytes);
        store.epoch_deadline_trap();
        // Starting an instance compiles every rule of the pipeline inside the guest: a fixed cost that no
        // document causes, so it has its own, generous deadline rather than the batch's.
        store.set_epoch_deadline((SETUP_TIMEOUT.as_millis() / TICK.as_millis()).max(1) as u64);
        let instance = self
            .pre
            .instantiate(&mut store)
            .in_sandbox("instantiating the core component")?;
        instance
            .tamis_core_pipeline()
            .call_configure(
                &mut store,
                &self.config_text,
                self.config_format,
                &self.resources,
            )
            .in_sandbox("configuring the core component")?
            .map_err(|e| anyhow!("config rejected by the component: {e}"))?;
        self.live = Some((store, instance));
        Ok(())
    }

    fn deadline_ticks(&self) -> u64 {
        (self.limits.batch_timeout.as_millis() / TICK.as_millis()).max(1) as u64
    }

    /// Runs one call into the instance; on a trap the instance is thrown away (its state may be corrupt)
    /// and the trap is returned with whatever the guest printed. A call the guest refuses as a whole
    /// (`Err` from the export) discards the instance too.
    fn guarded<R>(
        &mut self,
        call: impl FnOnce(
            &mut Store<GuestState>,
            &bindings::Tamis,
        ) -> wasmtime::Result<std::result::Result<R, String>>,
    ) -> std::result::Result<R, String> {
        if let Err(e) = self.ensure_live() {
            return Err(format!("{e:#}"));
        }
        let ticks = self.deadline_ticks();
        let Some((store, instance)) = self.live.as_mut() else {
            return Err("the core component could not be started".into());
        };
        store.set_epoch_deadline(ticks);
        match call(store, instance) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => {
                self.live = None;
                Err(message)
            }
            Err(trap) => {
                let printed = String::from_utf8_lossy(&store.data().stderr.contents())
                    .trim()
                    .to_string();
                let timed_out = matches!(
                    trap.downcast_ref::<wasmtime::Trap>(),
                    Some(wasmtime::Trap::Interrupt)
                );
                self.live = None;
                let mut message = if timed_out {
                    format!(
                        "sandbox timeout: exceeded the time limit of {:?}",
                        self.limits.batch_timeout
                    )
                } else {
                    format!("sandbox trap: {}", trap_summary(&trap))
                };
                if let Some(line) = printed.lines().find(|l| l.contains("panicked")) {
                    message.push_str(&format!(" ({line})"));
                }
                Err(message)
            }
        }
    }

    /// Judges one batch in the instance.
    fn call(&mut self, docs: &[Document]) -> std::result::Result<BatchResult, String> {
        let wit_docs: Vec<wit::Document> = docs.iter().map(wit_document).collect();
        let batch = self.guarded(|store, instance| {
            instance
                .tamis_core_pipeline()
                .call_process(&mut *store, &wit_docs)
        })?;
        if batch.results.len() != docs.len() {
            self.live = None;
            return Err(format!(
                "component returned {} results for {} documents",
                batch.results.len(),
                docs.len()
            ));
        }
        Ok(BatchResult {
            judgments: batch.results.into_iter().map(judgment_from_wit).collect(),
            step_nanos: batch.step_nanos,
        })
    }

    /// Encodes one batch of texts in the instance.
    fn call_tokenize(&mut self, texts: &[String]) -> std::result::Result<Vec<Encoded>, String> {
        let ids = self.guarded(|store, instance| {
            instance
                .tamis_core_pipeline()
                .call_tokenize(&mut *store, texts)
        })?;
        if ids.len() != texts.len() {
            self.live = None;
            return Err(format!(
                "component returned {} token lists for {} texts",
                ids.len(),
                texts.len()
            ));
        }
        Ok(ids)
    }
}

fn trap_summary(error: &wasmtime::Error) -> String {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    }
}

/// wasmtime 48 has an error type of its own; this turns it into the host's, with the whole chain of causes
/// in the message.
trait InSandbox<T> {
    fn in_sandbox(self, what: &str) -> Result<T>;
}

impl<T> InSandbox<T> for wasmtime::Result<T> {
    fn in_sandbox(self, what: &str) -> Result<T> {
        self.map_err(|e| {
            let causes = e
                .chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ");
            anyhow!("{what}: {causes}")
        })
    }
}

impl CoreEngine for WasmInstance {
    fn process(&mut self, docs: &[Document]) -> BatchResult {
        match self.call(docs) {
            Ok(batch) => batch,
            // Quarantine: re-run the batch one document at a time in fresh instances, so only the
            // documents that themselves trap become errors.
            Err(_) if docs.len() > 1 => {
                let mut out = BatchResult::default();
                for doc in docs {
                    match self.call(std::slice::from_ref(doc)) {
                        Ok(one) => {
                            out.judgments.extend(one.judgments);
                            if out.step_nanos.len() < one.step_nanos.len() {
                                out.step_nanos.resize(one.step_nanos.len(), 0);
                            }
                            for (total, n) in out.step_nanos.iter_mut().zip(one.step_nanos) {
                                *total += n;
                            }
                        }
                        Err(message) => out.judgments.push(Err(DocumentError {
                            id: doc.id.clone(),
                            message,
                        })),
                    }
                }
                out
            }
            Err(message) => BatchResult {
                judgments: docs
                    .iter()
                    .map(|d| {
                        Err(DocumentError {
                            id: d.id.clone(),
                            message: message.clone(),
                        })
                    })
                    .collect(),
                step_nanos: Vec::new(),
            },
        }
    }

    fn tokenize(&mut self, texts: &[String]) -> Vec<Encoded> {
        match self.call_tokenize(texts) {
            Ok(ids) => ids,
            // The same quarantine as `process`: one text at a time, so only a text that itself traps or
            // times out becomes an error.
            Err(_) if texts.len() > 1 => texts
                .iter()
                .map(|text| {
                    self.call_tokenize(std::slice::from_ref(text))
                        .and_then(|mut one| one.pop().ok_or_else(|| "no result".to_string()))
                        .and_then(|one| one)
                })
                .collect(),
            Err(message) => texts.iter().map(|_| Err(message.clone())).collect(),
        }
    }
}

fn judgment_from_wit(result: std::result::Result<wit::Outcome, wit::DocumentError>) -> Judgment {
    match result {
        Ok(o) => Ok(outcome_from_wit(o)),
        Err(e) => Err(DocumentError {
            id: e.id,
            message: e.message,
        }),
    }
}

fn bound_from_wit(b: wit::Bound) -> tamis_core::Bound {
    match b {
        wit::Bound::AtLeast => tamis_core::Bound::AtLeast,
        wit::Bound::AtMost => tamis_core::Bound::AtMost,
        wit::Bound::Above => tamis_core::Bound::Above,
        wit::Bound::Below => tamis_core::Bound::Below,
    }
}

fn check_from_wit(c: wit::Check) -> tamis_core::Check {
    tamis_core::Check {
        step: c.step,
        rule: c.rule,
        value: c.value,
        bound: bound_from_wit(c.bound),
        threshold: c.threshold,
        passed: c.passed,
    }
}

fn outcome_from_wit(o: wit::Outcome) -> Outcome {
    Outcome {
        id: o.id,
        verdict: match o.verdict {
            wit::Verdict::Keep => tamis_core::Verdict::Keep,
            wit::Verdict::Drop => tamis_core::Verdict::Drop,
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
            .map(|s| tamis_core::PiiSpan {
                kind: s.kind,
                start: s.start,
                end: s.end,
                replacement: s.replacement,
            })
            .collect(),
        language: o.language.map(|l| tamis_core::LanguageGuess {
            code: l.code,
            confidence: l.confidence,
        }),
        scores: o
            .scores
            .into_iter()
            .map(|s| tamis_core::Score {
                name: s.name,
                value: s.value,
            })
            .collect(),
        hashes: o.hashes.map(|h| tamis_core::Hashes {
            exact: h.exact,
            minhash: h.minhash,
        }),
        tokens: o.tokens,
    }
}
