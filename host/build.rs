//! Embeds the core component (`core/component`, built for `wasm32-wasip2`) in the `tamis` binary, so that
//! an installed `tamis` (`cargo install --path host`, or the archive of `scripts/dist.sh`) runs with
//! `--engine wasm` without any other file.
//!
//! Where the component comes from:
//! - `TAMIS_EMBED_COMPONENT=<path>`: that file. `scripts/build.sh` builds the component once, for the
//!   tests and for this, and points here at it, so the development build does not compile it twice.
//! - otherwise this script builds it with a nested `cargo build --release -p tamis-component --target
//!   wasm32-wasip2`, in a target directory of its own beside the outer one (the outer cargo holds the lock
//!   of its own directory while build scripts run). The same approach as wasmtime's
//!   `crates/test-programs/artifacts/build.rs`: a nested cargo with its own `CARGO_TARGET_DIR`, without
//!   the outer build's `CARGO_ENCODED_RUSTFLAGS` (they are for the host target), re-run when any source
//!   file the nested build read (its dep-info) changes.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const EMBED_VAR: &str = "TAMIS_EMBED_COMPONENT";

fn main() {
    println!("cargo:rerun-if-env-changed={EMBED_VAR}");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let component = match env::var_os(EMBED_VAR).map(PathBuf::from) {
        Some(path) if path.is_file() => {
            println!("cargo:rerun-if-changed={}", path.display());
            path
        }
        Some(path) => {
            // Said, not fatal: a fresh clone that runs a lint before the build still gets a binary.
            println!(
                "cargo:warning={EMBED_VAR}={} is not a file; building the component here instead",
                path.display()
            );
            println!("cargo:rerun-if-changed={}", path.display());
            build_component(&out_dir)
        }
        None => build_component(&out_dir),
    };
    let component = component
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", component.display()));
    std::fs::write(
        out_dir.join("embedded_component.rs"),
        format!(
            "/// The core component this binary was built with (host/build.rs).\n\
             pub static EMBEDDED_COMPONENT: &[u8] = include_bytes!({:?});\n",
            component.display().to_string()
        ),
    )
    .expect("writing embedded_component.rs");
}

/// Builds `tamis-component` for `wasm32-wasip2` with a nested cargo and returns the component's path.
fn build_component(out_dir: &Path) -> PathBuf {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ lives in the workspace")
        .to_path_buf();
    // OUT_DIR is <target>/[<triple>/]<profile>/build/tamis-host-<hash>/out; one directory beside the
    // profile directories serves every profile (check, dev, release), so the component is built once.
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .map(|d| d.join("tamis-embedded-component"))
        .unwrap_or_else(|| out_dir.join("component"));
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args([
            "build",
            "--release",
            "-p",
            "tamis-component",
            "--target",
            "wasm32-wasip2",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    if env::var_os("CARGO_NET_OFFLINE").is_some() {
        command.arg("--offline");
    }
    eprintln!("running: {command:?}");
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("starting cargo for the core component: {e}"));
    assert!(
        status.success(),
        "building the core component for wasm32-wasip2 failed ({status}); is the target installed \
         (`rustup target add wasm32-wasip2`)?"
    );
    let artifact = target_dir
        .join("wasm32-wasip2")
        .join("release")
        .join("tamis_component.wasm");
    rerun_if_sources_change(&artifact.with_extension("d"));
    artifact
}

/// Re-runs this script when a file the component was built from changes: cargo's dep-info next to the
/// artifact lists them (`artifact: dep dep ...`, spaces in names escaped with a backslash).
fn rerun_if_sources_change(dep_info: &Path) {
    let Ok(text) = std::fs::read_to_string(dep_info) else {
        // Without dep-info, watch the crates' folders instead.
        let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
        for dir in ["../core", "../wit", "../Cargo.lock"] {
            println!(
                "cargo:rerun-if-changed={}",
                manifest_dir.join(dir).display()
            );
        }
        return;
    };
    for line in text.lines() {
        let Some((_, deps)) = line.split_once(": ") else {
            continue;
        };
        let mut path = String::new();
        for part in deps.split(' ') {
            if let Some(stripped) = part.strip_suffix('\\') {
                path.push_str(stripped);
                path.push(' ');
                continue;
            }
            path.push_str(part);
            if !path.is_empty() {
                println!("cargo:rerun-if-changed={path}");
            }
            path.clear();
        }
    }
}
