//! Fuel: the number of WebAssembly instructions the core executes, as a cost measure that does not depend
//! on the machine.
//!
//! Timings on a shared 2-core machine move by tens of percent from run to run, so a test cannot say "this
//! change made judging slower" from them. wasmtime's fuel counts the instructions the guest executes
//! (roughly one unit per wasm operator; see wasmtime's `Config::consume_fuel`), which is the same on every
//! run of the same component on the same documents. The regression test in `tests/` compares these counts
//! with a committed budget: a change that makes building the pipeline or judging a document do more work
//! fails it, whatever the machine is doing at the time.
//!
//! Fuel is metered on an engine of its own: metering adds a check to every basic block of the compiled
//! code, which the engine that does the real work should not pay for.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use tamis_core::{ConfigFormat, Document, Resources};
use wasmtime::{Config as WasmConfig, Engine as WasmEngine, Store};

use super::{
    GuestState, InSandbox, link, load_component, locate_component, state_limits, wit, wit_document,
    wit_resources,
};

/// What the core cost, in fuel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuelReport {
    /// Instantiating the component and building the pipeline from the config.
    pub setup: u64,
    /// Judging each document, alone, in input order (the first one also pays for state the core builds on
    /// first use).
    pub per_document: Vec<u64>,
}

impl FuelReport {
    /// Fuel for judging all the documents.
    pub fn judging(&self) -> u64 {
        self.per_document.iter().sum()
    }
}

/// Runs the component with fuel metering: builds the pipeline once, then judges each document in its own
/// call, counting the fuel of each. Fails on a trap, naming the document: a budget measured over documents
/// that did not finish would mean nothing.
pub fn measure_fuel(
    config_text: &str,
    config_format: ConfigFormat,
    resources: &Resources,
    component_path: Option<&Path>,
    memory_bytes: usize,
    docs: &[Document],
) -> Result<FuelReport> {
    let mut config = WasmConfig::new();
    config.consume_fuel(true);
    config.wasm_component_model(true);
    let engine = WasmEngine::new(&config).in_sandbox("starting wasmtime with fuel metering")?;
    let component = load_component(&engine, &locate_component(component_path)?)?;
    let pre = link(&engine, &component)?;
    let mut store = Store::new(&engine, GuestState::new(memory_bytes));
    state_limits(&mut store, memory_bytes);
    store
        .set_fuel(u64::MAX)
        .in_sandbox("setting the fuel meter")?;
    let fuel_used = |store: &Store<GuestState>| -> Result<u64> {
        Ok(u64::MAX - store.get_fuel().in_sandbox("reading the fuel meter")?)
    };
    let instance = pre
        .instantiate(&mut store)
        .in_sandbox("instantiating the core component")?;
    let format = match config_format {
        ConfigFormat::Toml => wit::ConfigFormat::Toml,
        ConfigFormat::Yaml => wit::ConfigFormat::Yaml,
        ConfigFormat::Json => wit::ConfigFormat::Json,
    };
    instance
        .tamis_core_pipeline()
        .call_configure(&mut store, config_text, format, &wit_resources(resources))
        .in_sandbox("configuring the core component")?
        .map_err(|e| anyhow!("config rejected by the component: {e}"))?;
    let setup = fuel_used(&store)?;
    let mut per_document = Vec::with_capacity(docs.len());
    let mut before = setup;
    for doc in docs {
        let batch = instance
            .tamis_core_pipeline()
            .call_process(&mut store, &[wit_document(doc)])
            .in_sandbox(&format!("judging document {:?}", doc.id))?
            .map_err(|e| anyhow!("judging document {:?}: {e}", doc.id))?;
        if batch.results.len() != 1 {
            bail!(
                "judging document {:?}: the component returned {} results for one document",
                doc.id,
                batch.results.len()
            );
        }
        let after = fuel_used(&store)?;
        per_document.push(after - before);
        before = after;
    }
    Ok(FuelReport {
        setup,
        per_document,
    })
}
