//! `s3://bucket/prefix` inputs and outputs, through the `object_store` crate (any S3-protocol store).
//!
//! Credentials and the endpoint come from the usual AWS variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` or `AWS_DEFAULT_REGION`, and for another
//! store than AWS `AWS_ENDPOINT_URL` with `AWS_ALLOW_HTTP=true` for plain http); requests are path-style
//! unless `AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true`.
//!
//! The job driver reads and writes local files, so a remote input is fetched, streamed to a local staging
//! file, when its records are first read (each task fetches only the files it reads), and a remote output
//! is written to a local staging folder and committed shard by shard: every data file of a finished shard
//! is uploaded, then its done marker. An object appears whole or not at all, so a marker in the store
//! means its shard's files are there; a shard whose marker never arrived is redone by the next run. At
//! start a job pulls the store's markers and bookkeeping (`.tamis/`), so a job resumes on any machine.
//! Object stores have no rename and no locks: two different jobs writing one prefix at once are not
//! stopped (the tasks of one sharded job write disjoint shards, which is safe).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result, anyhow, bail};
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

/// Whether a path spec names an object store.
pub fn is_remote(spec: &str) -> bool {
    spec.starts_with("s3://")
}

/// A bucket and a key prefix.
#[derive(Clone)]
pub struct Location {
    pub bucket: String,
    /// Without a trailing `/`; empty for the whole bucket.
    pub prefix: String,
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.url(""))
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("starting the object store's I/O runtime")
    })
}

impl Location {
    /// Parses `s3://bucket[/prefix]` and connects (lazily: no request is made here).
    pub fn parse(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| anyhow!("{url}: expected s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            bail!("{url}: no bucket name");
        }
        // rustls needs a process-wide crypto provider; ring is the one built in.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .with_context(|| {
                format!("{url}: configuring the S3 client from the AWS_* variables")
            })?;
        Ok(Self {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            store: Arc::new(store),
        })
    }

    fn key(&self, relative: &str) -> Result<Key> {
        let full = if self.prefix.is_empty() {
            relative.to_string()
        } else if relative.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}/{relative}", self.prefix)
        };
        Key::parse(&full)
            .map_err(|e| anyhow!("{}: not a valid object key: {e}", self.url(relative)))
    }

    /// The URL of `relative` under this location.
    pub fn url(&self, relative: &str) -> String {
        let mut url = format!("s3://{}", self.bucket);
        for part in [self.prefix.as_str(), relative] {
            if !part.is_empty() {
                url.push('/');
                url.push_str(part);
            }
        }
        url
    }

    /// Every object under the prefix (the prefix as a folder, or the object named by it), in key order,
    /// with keys relative to the prefix.
    pub fn list(&self) -> Result<Vec<Object>> {
        let store = self.store.clone();
        let prefix = if self.prefix.is_empty() {
            None
        } else {
            Some(self.key("")?)
        };
        let metas: Vec<object_store::ObjectMeta> = runtime()
            .block_on(async move { store.list(prefix.as_ref()).try_collect().await })
            .with_context(|| format!("listing {}", self.url("")))?;
        let mut objects: Vec<Object> = metas
            .into_iter()
            .map(|m| {
                let key = m.location.to_string();
                let relative = if self.prefix.is_empty() {
                    key.clone()
                } else if key == self.prefix {
                    // The prefix named one object: its name is its relative path.
                    key.rsplit('/').next().unwrap_or(&key).to_string()
                } else {
                    key.strip_prefix(&format!("{}/", self.prefix))
                        .unwrap_or(&key)
                        .to_string()
                };
                Object {
                    relative,
                    size: m.size,
                    e_tag: m.e_tag.unwrap_or_default().trim_matches('"').to_string(),
                    modified: m.last_modified.timestamp().to_string(),
                }
            })
            .collect();
        objects.sort_by(|a, b| a.relative.cmp(&b.relative));
        Ok(objects)
    }

    /// Streams object `relative` into the file `dest` (written under a temporary name, then renamed).
    pub fn download(&self, relative: &str, dest: &Path) -> Result<u64> {
        let key = self.key(relative)?;
        let store = self.store.clone();
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = dest.with_extension(format!("part.{}", std::process::id()));
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
        );
        let url = self.url(relative);
        let written = runtime().block_on(async {
            let mut stream = store.get(&key).await?.into_stream();
            let mut n = 0u64;
            while let Some(chunk) = stream.try_next().await? {
                file.write_all(&chunk)
                    .map_err(|e| object_store::Error::Generic {
                        store: "local staging",
                        source: Box::new(e),
                    })?;
                n += chunk.len() as u64;
            }
            Ok::<u64, object_store::Error>(n)
        });
        let written = written.with_context(|| format!("reading {url}"))?;
        file.flush()
            .with_context(|| format!("writing {}", tmp.display()))?;
        drop(file);
        std::fs::rename(&tmp, dest).with_context(|| format!("renaming {}", tmp.display()))?;
        Ok(written)
    }

    /// Whether object `relative` exists.
    pub fn exists(&self, relative: &str) -> Result<bool> {
        let key = self.key(relative)?;
        let store = self.store.clone();
        match runtime().block_on(async move { store.head(&key).await }) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => {
                Err(anyhow::Error::new(e).context(format!("checking {}", self.url(relative))))
            }
        }
    }

    /// Uploads the local file `source` as object `relative`, streamed (multipart past a few MB), so an
    /// object appears whole or not at all.
    pub fn upload(&self, source: &Path, relative: &str) -> Result<()> {
        let key = self.key(relative)?;
        let store = self.store.clone();
        let mut file =
            std::fs::File::open(source).with_context(|| format!("opening {}", source.display()))?;
        let result = runtime().block_on(async move {
            let mut writer = object_store::buffered::BufWriter::new(store, key);
            let mut buf = vec![0u8; 8 << 20];
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                writer.write_all(&buf[..n]).await?;
            }
            writer.shutdown().await
        });
        result.with_context(|| format!("uploading {} to {}", source.display(), self.url(relative)))
    }
}

/// One listed object.
#[derive(Debug, Clone)]
pub struct Object {
    pub relative: String,
    pub size: u64,
    pub e_tag: String,
    /// Seconds since the Unix epoch.
    pub modified: String,
}

/// A remote input file: where it is and what the listing said of it.
#[derive(Debug, Clone)]
pub struct RemoteInput {
    pub location: Location,
    pub object: Object,
}

impl RemoteInput {
    pub fn url(&self) -> String {
        self.location.url(&self.object.relative)
    }
}

/// Local staging files of remote inputs -> their origin, for lineage (which records a remote input by its
/// URL, size and e-tag, since the task writing lineage may never have fetched it).
fn staged() -> &'static Mutex<HashMap<PathBuf, RemoteInput>> {
    static STAGED: OnceLock<Mutex<HashMap<PathBuf, RemoteInput>>> = OnceLock::new();
    STAGED.get_or_init(Default::default)
}

/// This process's staging folder for remote inputs and outputs (removed by [`cleanup`]).
pub fn staging_dir() -> PathBuf {
    std::env::temp_dir().join(format!("tamis-remote-{}", std::process::id()))
}

/// Removes the staging folder (at the end of a command).
pub fn cleanup() {
    let dir = staging_dir();
    if dir.exists() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The local path a remote input is fetched to, recorded for lineage.
pub fn stage_input(input: &RemoteInput) -> PathBuf {
    let path = staging_dir().join("in").join(&input.location.bucket).join(
        input
            .location
            .key(&input.object.relative)
            .map_or_else(|_| input.object.relative.clone(), |k| k.to_string()),
    );
    staged()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(path.clone(), input.clone());
    path
}

/// The remote origin of a staged input path, if it is one.
pub fn origin_of(path: &Path) -> Option<RemoteInput> {
    staged()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(path)
        .cloned()
}

/// A job's output in an object store, mirrored from a local staging folder.
pub struct Mirror {
    pub location: Location,
    pub local: PathBuf,
    /// Local files as last pulled or pushed (size, modification time): what `push_changed` leaves alone.
    synced: Mutex<HashMap<PathBuf, (u64, std::time::SystemTime)>>,
}

impl Mirror {
    /// A mirror of `url`, with a fresh staging folder holding the output's hidden folders ([`Mirror::pull`]).
    fn open(url: &str) -> Result<Self> {
        let location = Location::parse(url)?;
        let local = staging_dir().join("out");
        std::fs::create_dir_all(&local).with_context(|| format!("creating {}", local.display()))?;
        let mirror = Self {
            location,
            local,
            synced: Mutex::new(HashMap::new()),
        };
        mirror.pull()?;
        Ok(mirror)
    }

    /// Fetches every object under a hidden folder (`.tamis/`, `.work/`) that is not here yet: the job's
    /// manifest, every shard's done marker, the tasks' reports, and the work files of a job in stages
    /// (a sample's draws, dedup's signatures, buckets and clusters, select's scores and cut, tokenize's
    /// parts), which the next stage reads. Output records are not fetched.
    pub fn pull(&self) -> Result<()> {
        for object in self.location.list()? {
            let name = object.relative.as_str();
            if !name.starts_with('.') || is_lock(name) {
                continue;
            }
            let path = self.local.join(name);
            let have = path.metadata().ok().map(|m| m.len());
            if have != Some(object.size) {
                self.location.download(name, &path)?;
            }
            self.mark_synced(&path);
        }
        Ok(())
    }

    fn mark_synced(&self, path: &Path) {
        if let Ok(meta) = path.metadata() {
            let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            self.synced
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(path.to_path_buf(), (meta.len(), modified));
        }
    }

    /// Uploads local files of the staging folder (data files before the marker that names them).
    pub fn push(&self, files: &[PathBuf]) -> Result<()> {
        for file in files {
            let relative = file
                .strip_prefix(&self.local)
                .with_context(|| format!("{} is outside the staging folder", file.display()))?;
            let relative = relative.to_string_lossy().replace('\\', "/");
            self.location.upload(file, &relative)?;
            self.mark_synced(file);
        }
        Ok(())
    }

    /// Uploads every file of the staging folder written or changed since it was pulled or pushed: data
    /// first, then `.json` files (the stages' done markers and reports), and the shards' done markers
    /// last, so a marker in the store always has its files there. Locks and temporary files stay local.
    pub fn push_changed(&self) -> Result<usize> {
        let mut changed: Vec<(u8, PathBuf)> = Vec::new();
        for entry in walkdir::WalkDir::new(&self.local).sort_by_file_name() {
            let entry = entry.with_context(|| format!("listing {}", self.local.display()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path().to_path_buf();
            let relative = path
                .strip_prefix(&self.local)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let name = entry.file_name().to_string_lossy();
            if is_lock(&relative) || name.contains(".tmp") || name.contains(".part.") {
                continue;
            }
            let meta = entry.metadata()?;
            let now = (meta.len(), meta.modified().unwrap_or(std::time::UNIX_EPOCH));
            let synced = self
                .synced
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&path)
                .copied();
            if synced == Some(now) {
                continue;
            }
            let rank = if relative.starts_with(".tamis/done/") {
                2
            } else if name.ends_with(".json") {
                1
            } else {
                0
            };
            changed.push((rank, path));
        }
        changed.sort();
        let files: Vec<PathBuf> = changed.into_iter().map(|(_, p)| p).collect();
        self.push(&files)?;
        Ok(files.len())
    }

    /// Whether output file `relative` (as a marker names it) is in the store.
    pub fn has(&self, relative: &str) -> Result<bool> {
        self.location.exists(relative)
    }
}

/// The output locks are local to each task's staging folder; they are never uploaded.
fn is_lock(relative: &str) -> bool {
    relative.starts_with(".tamis/lock")
}

/// The mirror of this command's output, when it is remote: one per command, opened before any work, so
/// every part of the command (the job driver's shard commits, the checks for other tasks' work, the push
/// at the end) goes through it. Its hidden folders are pulled when it opens and before a task checks
/// whether the whole job is done ([`refresh`]); record shards are committed as they finish; whatever else
/// the command wrote is pushed when it ends ([`finish_work`]).
static MIRROR: OnceLock<Mirror> = OnceLock::new();

/// Opens this command's mirror of `url` and pulls its hidden folders. Returns it, for the local staging
/// folder to write to.
pub fn open_mirror(url: &str) -> Result<&'static Mirror> {
    let mirror = Mirror::open(url)?;
    if MIRROR.set(mirror).is_err() {
        bail!("one remote output per command");
    }
    Ok(MIRROR.get().expect("set above"))
}

/// This command's mirror, if its output is remote.
pub fn mirror() -> Option<&'static Mirror> {
    MIRROR.get()
}

/// Pulls the other tasks' markers and work files again, before a task checks whether every file is done.
pub fn refresh() -> Result<()> {
    match MIRROR.get() {
        Some(mirror) => mirror.pull(),
        None => Ok(()),
    }
}

/// Pushes what the command wrote (called once it ends, whether it succeeded or not: finished shards are
/// kept either way).
pub fn finish_work() -> Result<usize> {
    match MIRROR.get() {
        Some(mirror) => mirror.push_changed(),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_prefix() {
        // No request is made: parsing only configures the client.
        let l = Location::parse("s3://data/crawl/2024/").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("data", "crawl/2024")
        );
        assert_eq!(l.url("a/b.jsonl.gz"), "s3://data/crawl/2024/a/b.jsonl.gz");
        let l = Location::parse("s3://data").unwrap();
        assert_eq!(l.url(""), "s3://data");
        assert!(Location::parse("s3:///x").is_err());
        assert!(!is_remote("/tmp/s3:/x") && is_remote("s3://b/k"));
    }
}
