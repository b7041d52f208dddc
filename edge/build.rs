//! Bakes a config, and every file it names, into the edge component.
//!
//! An edge function has no disk of its own to ship models on: Spin can mount static files, but a
//! deployment is simpler (and its pipeline can be pre-initialized, see `src/preinit.rs`) when the model
//! is part of the component. With `TAMIS_EDGE_CONFIG` set to a `.toml` or `.json` config at build time
//! (`scripts/build-edge.sh --config FILE`), this script writes `baked.rs` holding that config's text and
//! the bytes of the tokenizer and models it names (paths relative to the config's folder), and the
//! function uses that config when `TAMIS_CONFIG` is not set. Without it nothing is baked.
//!
//! The config is read here only to find the files; the core parses it in the component, so a bad value
//! is reported by `/v1/health` like any other config error.

use std::path::{Path, PathBuf};

include!("src/resource_keys.rs");

const CONFIG_VAR: &str = "TAMIS_EDGE_CONFIG";

fn main() {
    println!("cargo::rerun-if-env-changed={CONFIG_VAR}");
    println!("cargo::rerun-if-changed=src/resource_keys.rs");
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("baked.rs");
    let code = match std::env::var_os(CONFIG_VAR).filter(|v| !v.is_empty()) {
        None => "pub const CONFIG: Option<(&str, &str)> = None;\npub const FILES: &[(&str, &[u8])] = &[];\n"
            .to_string(),
        Some(path) => match bake(Path::new(&path)) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("{CONFIG_VAR}={}: {message}", Path::new(&path).display());
                std::process::exit(1);
            }
        },
    };
    if let Err(e) = std::fs::write(&out, code) {
        eprintln!("writing {}: {e}", out.display());
        std::process::exit(1);
    }
}

/// The source of `baked.rs` for the config at `path`.
fn bake(path: &Path) -> Result<String, String> {
    let path = std::path::absolute(path).map_err(|e| e.to_string())?;
    println!("cargo::rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).map_err(|e| format!("reading the config: {e}"))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("the config's file name is not UTF-8")?;
    let value: serde_json::Value = if name.ends_with(".toml") {
        toml::from_str(&text).map_err(|e| format!("not TOML: {e}"))?
    } else if name.ends_with(".json") {
        serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?
    } else {
        return Err(
            "a baked config is a .toml or .json file (the formats TAMIS_CONFIG takes)".into(),
        );
    };
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut files = String::new();
    for key in RESOURCE_KEYS {
        let mut node = &value;
        for part in key.split('.') {
            node = node.get(part).unwrap_or(&serde_json::Value::Null);
        }
        let Some(relative) = node.as_str() else {
            continue;
        };
        let file = folder.join(relative);
        if !file.is_file() {
            return Err(format!("{key}: {} is not a file", file.display()));
        }
        println!("cargo::rerun-if-changed={}", file.display());
        files.push_str(&format!(
            "    ({relative:?}, include_bytes!({:?})),\n",
            file.display().to_string()
        ));
    }
    Ok(format!(
        "pub const CONFIG: Option<(&str, &str)> = Some(({name:?}, include_str!({:?})));\n\
         pub const FILES: &[(&str, &[u8])] = &[\n{files}];\n",
        path.display().to_string()
    ))
}
