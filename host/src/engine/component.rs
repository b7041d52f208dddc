//! The core component as the host gets it: where its bytes come from, and its compiled form, cached on
//! disk and verified before it is loaded.
//!
//! **Where from.** `--component PATH`, else `TAMIS_COMPONENT`, else the component embedded in the binary
//! at build time (host/build.rs), so an installed `tamis` needs no other file.
//!
//! **The compiled cache.** Compiling the component takes seconds; the compiled artifact (`.cwasm`) is
//! kept in `$TAMIS_CACHE_DIR` (else `$XDG_CACHE_HOME/tamis`, else `~/.cache/tamis`) and loaded by later
//! runs in milliseconds. A compiled artifact is native code that wasmtime maps executable without
//! checking it (its own header check is about versions, not integrity): a tampered file crashed the
//! process, and anyone able to write the folder could run code outside the sandbox. So every entry is
//! authenticated:
//! - the folder is created private (0700);
//! - `key` in the folder holds 32 random bytes, created 0600 by this user; a key file that is not a
//!   regular file, not owned by this user, or open to others is replaced (which invalidates every entry);
//! - an entry is `MAGIC`, then `HMAC-SHA256(key, entry name || artifact)`, then the artifact. The name
//!   carries the hash of the component's bytes and of the engine's compilation settings, so a valid
//!   entry cannot be swapped in for another component either;
//! - an entry is read into memory, verified, and only then deserialized from that memory (no mapping of
//!   a file that could change after the check). One that fails is said on stderr, deleted and replaced by
//!   a fresh compilation; the run goes on.
//!
//! Someone who can write the folder but not read the key cannot forge an entry; someone who can read
//! this user's files can already run code as this user.

use std::borrow::Cow;
use std::fs::{self, OpenOptions};
use std::hash::Hash;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

use super::InSandbox;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_component.rs"));
}

/// Starts every cache entry; the version changes when the layout does.
const MAGIC: &[u8; 16] = b"tamis-cwasm-v1\n\0";
const TAG_LEN: usize = 32;
const KEY_LEN: usize = 32;
const KEY_FILE: &str = "key";

/// Where the component's bytes come from.
#[derive(Debug, Clone)]
pub enum ComponentSource {
    File(PathBuf),
    /// Built into this binary.
    Embedded,
}

impl ComponentSource {
    fn bytes(&self) -> Result<Cow<'static, [u8]>> {
        match self {
            Self::File(path) => {
                Ok(Cow::Owned(fs::read(path).with_context(|| {
                    format!("reading the core component {}", path.display())
                })?))
            }
            Self::Embedded => Ok(Cow::Borrowed(embedded::EMBEDDED_COMPONENT)),
        }
    }
}

/// Finds the component: the flag, `TAMIS_COMPONENT`, or the one embedded in the binary.
pub fn locate_component(explicit: Option<&Path>) -> Result<ComponentSource> {
    if let Some(path) = explicit {
        return Ok(ComponentSource::File(path.to_path_buf()));
    }
    if let Some(path) = std::env::var_os("TAMIS_COMPONENT") {
        return Ok(ComponentSource::File(PathBuf::from(path)));
    }
    Ok(ComponentSource::Embedded)
}

/// SHA-256 of the component's bytes (the one [`locate_component`] finds), in hex: what `lineage.json`
/// records, so a dataset names the exact judging code that made it.
pub fn component_sha256(explicit: Option<&Path>) -> Result<String> {
    use sha2::Digest;
    let bytes = locate_component(explicit)?.bytes()?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Loads the component compiled for `engine`, from the verified cache when it holds it, compiling (and
/// storing) it otherwise.
pub fn load_component(engine: &Engine, source: &ComponentSource) -> Result<Component> {
    let bytes = source.bytes()?;
    let cache = cache_dir();
    let (component, lookup) = load_with_cache(engine, &bytes, cache.as_deref())?;
    if let CacheLookup::Rejected(why) = &lookup {
        eprintln!("tamis: compiled-component cache: {why}; compiled the component again");
    }
    Ok(component)
}

/// What the cache did for one load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLookup {
    /// A verified entry was loaded.
    Hit,
    /// No entry: compiled, and stored when the folder allowed it.
    Miss,
    /// An entry was there but failed verification (the reason); it was replaced by a fresh compilation.
    Rejected(String),
    /// No usable cache folder: compiled in memory.
    Off(String),
}

/// [`load_component`] with the cache folder given, reporting what the cache did.
#[allow(unsafe_code)] // deserializing a verified compiled artifact; see the SAFETY notes
pub fn load_with_cache(
    engine: &Engine,
    bytes: &[u8],
    cache: Option<&Path>,
) -> Result<(Component, CacheLookup)> {
    let Some(dir) = cache else {
        return Ok((
            compile(engine, bytes)?.0,
            CacheLookup::Off("no cache folder".into()),
        ));
    };
    let key = match open_cache(dir) {
        Ok(key) => key,
        Err(e) => {
            return Ok((
                compile(engine, bytes)?.0,
                CacheLookup::Off(format!("{e:#}")),
            ));
        }
    };
    let name = entry_name(engine, bytes);
    let path = dir.join(&name);
    let mut lookup = CacheLookup::Miss;
    match read_entry(&path, &name, &key) {
        Ok(None) => {}
        Ok(Some(artifact)) => {
            // SAFETY: the artifact is the one this user's tamis stored under this name (the tag proves
            // it, under a key only this user can read), compiled by a wasmtime with these settings (the
            // name carries their hash); it is deserialized from memory, so it cannot change after the
            // check. wasmtime still checks its own header and refuses an incompatible artifact.
            match unsafe { Component::deserialize(engine, &artifact) } {
                Ok(component) => return Ok((component, CacheLookup::Hit)),
                Err(e) => {
                    lookup = CacheLookup::Rejected(format!(
                        "{}: wasmtime refused it: {e}",
                        path.display()
                    ))
                }
            }
        }
        Err(why) => lookup = CacheLookup::Rejected(format!("{}: {why}", path.display())),
    }
    let (component, artifact) = compile(engine, bytes)?;
    // A cache that cannot be written costs the next run a compilation, nothing else.
    let _ = write_entry(&path, &name, &key, &artifact);
    Ok((component, lookup))
}

#[allow(unsafe_code)] // deserializing what this engine has just compiled
fn compile(engine: &Engine, bytes: &[u8]) -> Result<(Component, Vec<u8>)> {
    let artifact = engine
        .precompile_component(bytes)
        .in_sandbox("compiling the core component")?;
    // SAFETY: the bytes were produced just above by this engine.
    let component = unsafe { Component::deserialize(engine, &artifact) }
        .in_sandbox("loading the compiled core component")?;
    Ok((component, artifact))
}

/// `tamis-core-<hash>.cwasm`: the hash covers the component's bytes, this binary's version and the
/// engine's compilation settings (wasmtime's own compatibility hash: version, target, Cranelift flags).
fn entry_name(engine: &Engine, bytes: &[u8]) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(bytes);
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("tamis-core-{:032x}.cwasm", hasher.digest128())
}

fn tag(key: &[u8; KEY_LEN], name: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(name.as_bytes());
    mac.update(&[0]);
    mac
}

/// The verified artifact of an entry; `None` when there is no entry; the reason when it fails.
fn read_entry(path: &Path, name: &str, key: &[u8; KEY_LEN]) -> Result<Option<Vec<u8>>, String> {
    let mut file = match OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be opened ({e})")),
    };
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(|e| format!("cannot be read ({e})"))?;
    let Some(rest) = data.strip_prefix(MAGIC.as_slice()) else {
        return Err("not a tamis cache entry (bad header)".into());
    };
    if rest.len() < TAG_LEN {
        return Err("truncated".into());
    }
    let (stored, artifact) = rest.split_at(TAG_LEN);
    let mut mac = tag(key, name);
    mac.update(artifact);
    mac.verify_slice(stored)
        .map_err(|_| "its authentication tag does not match (tampered, corrupt, or another key)")?;
    Ok(Some(artifact.to_vec()))
}

/// Stores an entry under a temporary name, then renames it into place, so a reader never sees half.
fn write_entry(path: &Path, name: &str, key: &[u8; KEY_LEN], artifact: &[u8]) -> Result<()> {
    let mut mac = tag(key, name);
    mac.update(artifact);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(MAGIC)?;
    file.write_all(&mac.finalize().into_bytes())?;
    file.write_all(artifact)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

/// Makes sure the folder exists (private when created here) and returns its key, creating or replacing
/// the key file when it is missing or not to be trusted.
fn open_cache(dir: &Path) -> Result<[u8; KEY_LEN]> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(KEY_FILE);
    match read_key(&path) {
        Ok(Some(key)) => return Ok(key),
        Ok(None) => {}
        Err(why) => {
            eprintln!(
                "tamis: compiled-component cache: {} {why}; making a new key (every cached entry is compiled again)",
                path.display()
            );
            fs::remove_file(&path)
                .with_context(|| format!("removing the untrusted {}", path.display()))?;
        }
    }
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no random bytes for the key: {e}"))?;
    let tmp = dir.join(format!("{KEY_FILE}.tmp{}", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(&key)?;
    file.sync_all()?;
    fs::rename(&tmp, &path).with_context(|| format!("creating {}", path.display()))?;
    // Two runs that made a key at once: the one that landed is the key; read it back.
    match read_key(&path) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => bail!("{} vanished", path.display()),
        Err(why) => bail!("{} {why}", path.display()),
    }
}

/// The key, if the file is there; the reason it is not to be trusted otherwise.
fn read_key(path: &Path) -> Result<Option<[u8; KEY_LEN]>, String> {
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be opened ({e})")),
    };
    // Checked on the open file, so the answer is about the bytes read below.
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot be read ({e})"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err("is owned by another user".into());
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "is open to other users (mode {:o})",
            meta.mode() & 0o777
        ));
    }
    let mut key = [0u8; KEY_LEN];
    let mut reader = file.take(KEY_LEN as u64 + 1);
    let mut data = Vec::new();
    reader
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot be read ({e})"))?;
    if data.len() != KEY_LEN {
        return Err(format!("holds {} bytes, not {KEY_LEN}", data.len()));
    }
    key.copy_from_slice(&data);
    Ok(Some(key))
}

fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TAMIS_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("tamis"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("tamis"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).unwrap()
    }

    fn entry_path(dir: &Path) -> PathBuf {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
            .expect("a cache entry")
    }

    /// Runs one real web document through `component` (the same calls the host makes) and checks the
    /// outcome against the core linked natively.
    fn judge_a_web_document(engine: &Engine, component: &Component) {
        use super::super::{GuestState, bindings, judgment_from_wit, wit};
        use wasmtime::component::{Linker, ResourceTable};

        let mut lines = String::new();
        flate2::read::GzDecoder::new(File::open(shared_web_documents()).unwrap())
            .read_to_string(&mut lines)
            .unwrap();
        let record: serde_json::Value =
            serde_json::from_str(lines.lines().next().unwrap()).unwrap();
        let id = record["id"].as_str().unwrap().to_string();
        let text = record["text"].as_str().unwrap().to_string();

        let mut linker: Linker<GuestState> = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
        let pre = bindings::TamisPre::new(linker.instantiate_pre(component).unwrap()).unwrap();
        let state = GuestState {
            wasi: wasmtime_wasi::WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: wasmtime::StoreLimitsBuilder::new().build(),
            stderr: wasmtime_wasi::p2::pipe::MemoryOutputPipe::new(1024),
        };
        let mut store = wasmtime::Store::new(engine, state);
        let instance = pre.instantiate(&mut store).unwrap();
        let pipeline = instance.tamis_core_pipeline();
        pipeline
            .call_configure(
                &mut store,
                "",
                wit::ConfigFormat::Toml,
                &wit::Resources {
                    tokenizer_json: None,
                    language_model: None,
                    quality_classifier_model: None,
                },
            )
            .unwrap()
            .unwrap();
        let doc = wit::Document {
            id: id.clone(),
            text: Some(text.clone()),
            html: None,
            url: None,
            metadata: None,
        };
        let batch = pipeline
            .call_process(&mut store, std::slice::from_ref(&doc))
            .unwrap()
            .unwrap();
        let judged = judgment_from_wit(batch.results.into_iter().next().unwrap()).unwrap();

        let native = tamis_core::Pipeline::new(
            tamis_core::Config::parse("", tamis_core::ConfigFormat::Toml).unwrap(),
            &tamis_core::Resources::default(),
        )
        .unwrap()
        .process(&tamis_core::Document::text(id, text))
        .unwrap();
        assert_eq!(
            serde_json::to_string(&judged).unwrap(),
            serde_json::to_string(&native).unwrap()
        );
    }

    fn shared_web_documents() -> PathBuf {
        let root = std::env::var_os("TAMIS_SHARED_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
        root.join("web").join("dev.jsonl.gz")
    }

    #[test]
    fn a_tampered_entry_is_rejected_and_compiled_again() {
        let engine = engine();
        let dir = tempfile::tempdir().unwrap();
        let bytes = embedded::EMBEDDED_COMPONENT;

        let (_, lookup) = load_with_cache(&engine, bytes, Some(dir.path())).unwrap();
        assert_eq!(lookup, CacheLookup::Miss);
        let (_, lookup) = load_with_cache(&engine, bytes, Some(dir.path())).unwrap();
        assert_eq!(lookup, CacheLookup::Hit);

        // Flip one byte of the compiled code, as the attacker of the probe did.
        let path = entry_path(dir.path());
        let mut data = fs::read(&path).unwrap();
        let middle = data.len() / 2;
        data[middle] ^= 0x5a;
        fs::write(&path, &data).unwrap();
        let (component, lookup) = load_with_cache(&engine, bytes, Some(dir.path())).unwrap();
        assert!(
            matches!(&lookup, CacheLookup::Rejected(why) if why.contains("authentication tag")),
            "{lookup:?}"
        );
        // The run goes on with the recompiled component, and the entry was replaced by a good one.
        judge_a_web_document(&engine, &component);
        let (_, lookup) = load_with_cache(&engine, bytes, Some(dir.path())).unwrap();
        assert_eq!(lookup, CacheLookup::Hit);

        // A truncated entry and a foreign file under the entry's name are rejected the same way.
        fs::write(&path, &data[..MAGIC.len() + 3]).unwrap();
        let (_, lookup) = load_with_cache(&engine, bytes, Some(dir.path())).unwrap();
        assert!(matches!(&lookup, CacheLookup::Rejected(why) if why.contains("truncated")));
        fs::write(&path, b"\0asm not a cache entry").unwrap();
        let (_, lookup) = load_with_cache(&engine, bytes, Some(dir.path())).unwrap();
        assert!(matches!(&lookup, CacheLookup::Rejected(why) if why.contains("bad header")));
    }

    #[test]
    fn an_entry_signed_with_another_key_is_rejected() {
        let engine = engine();
        let dir = tempfile::tempdir().unwrap();
        let bytes = embedded::EMBEDDED_COMPONENT;
        load_with_cache(&engine, bytes, Some(dir.path())).unwrap();
        // Someone replaces the key with one they know (a file of their own is refused outright; here
        // the file is this user's, with the right mode, but different bytes): every entry fails.
        let key = dir.path().join(KEY_FILE);
        fs::remove_file(&key).unwrap();
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key)
            .unwrap()
            .write_all(&[7u8; KEY_LEN])
            .unwrap();
        let (_, lookup) = load_with_cache(&engine, bytes, Some(dir.path())).unwrap();
        assert!(matches!(lookup, CacheLookup::Rejected(_)), "{lookup:?}");
    }

    #[test]
    fn a_key_open_to_others_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = open_cache(dir.path()).unwrap();
        let key = dir.path().join(KEY_FILE);
        let mut perms = fs::metadata(&key).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
        fs::set_permissions(&key, perms).unwrap();
        assert!(read_key(&key).unwrap_err().contains("open to other users"));
        let second = open_cache(dir.path()).unwrap();
        assert_ne!(first, second);
        assert_eq!(fs::metadata(&key).unwrap().mode() & 0o777, 0o600);
        // A symlink in the key's place is not followed.
        fs::remove_file(&key).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &key).unwrap();
        assert!(read_key(&key).is_err());
    }
}
