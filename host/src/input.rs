//! Finding input files and reading their records, whatever the container: JSONL, JSONL.gz, JSONL.zst or
//! Parquet. Records come out as raw bytes of one JSON object each (Parquet rows are rendered as JSON), so the
//! workers, not the reader, pay for parsing.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Jsonl,
    JsonlGz,
    JsonlZst,
    Parquet,
}

impl InputFormat {
    pub fn of(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".jsonl") || name.ends_with(".json") || name.ends_with(".ndjson") {
            Some(Self::Jsonl)
        } else if name.ends_with(".jsonl.gz")
            || name.ends_with(".json.gz")
            || name.ends_with(".ndjson.gz")
        {
            Some(Self::JsonlGz)
        } else if name.ends_with(".jsonl.zst")
            || name.ends_with(".json.zst")
            || name.ends_with(".ndjson.zst")
        {
            Some(Self::JsonlZst)
        } else if name.ends_with(".parquet") {
            Some(Self::Parquet)
        } else {
            None
        }
    }

    /// The extension outputs in this format carry.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::JsonlGz => "jsonl.gz",
            Self::JsonlZst => "jsonl.zst",
            Self::Parquet => "parquet",
        }
    }
}

/// One input file, with its path relative to the directory it was found under: outputs mirror that layout
/// (`RAW/<source>/raw_data.jsonl.gz` → `CLEANED/<source>/kept/...`).
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub relative: PathBuf,
    pub format: InputFormat,
    pub size: u64,
}

impl InputFile {
    /// The file name without its format extension.
    pub fn stem(&self) -> String {
        let name = self
            .relative
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("input");
        let lower = name.to_ascii_lowercase();
        for ext in [
            ".jsonl.gz",
            ".json.gz",
            ".ndjson.gz",
            ".jsonl.zst",
            ".json.zst",
            ".ndjson.zst",
            ".jsonl",
            ".json",
            ".ndjson",
            ".parquet",
        ] {
            if lower.ends_with(ext) {
                return name[..name.len() - ext.len()].to_string();
            }
        }
        name.to_string()
    }

    /// The directory part of the relative path (empty for a file given directly).
    pub fn relative_dir(&self) -> PathBuf {
        self.relative
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// Expands files, directories (recursively) and globs into a sorted list of input files. Anything named
/// that holds no readable input is an error: a typo in a path must not become an empty run.
pub fn discover(specs: &[String]) -> Result<Vec<InputFile>> {
    let mut files = Vec::new();
    for spec in specs {
        let path = Path::new(spec);
        if path.is_dir() {
            let before = files.len();
            walk(path, path, &mut files)?;
            if files.len() == before {
                bail!(
                    "input directory {spec} holds no .jsonl, .jsonl.gz, .jsonl.zst or .parquet files"
                );
            }
        } else if path.is_file() {
            let format = InputFormat::of(path).with_context(|| {
                format!("input {spec}: unknown format (expected .jsonl, .jsonl.gz, .jsonl.zst or .parquet)")
            })?;
            let relative = PathBuf::from(path.file_name().context("input without a file name")?);
            files.push(InputFile {
                path: path.to_path_buf(),
                relative,
                format,
                size: path.metadata()?.len(),
            });
        } else if spec.contains(['*', '?', '[']) {
            let mut matched = 0;
            let base = glob_base(spec);
            for entry in glob::glob(spec).with_context(|| format!("input glob {spec}"))? {
                let path = entry?;
                if let (true, Some(format)) = (path.is_file(), InputFormat::of(&path)) {
                    // Relative to the glob's fixed prefix, so `CLEANED/*/kept/*.jsonl.gz` keeps the
                    // folder that tells same-named files apart.
                    let relative = match path.strip_prefix(&base) {
                        Ok(r) if !r.as_os_str().is_empty() => r.to_path_buf(),
                        _ => PathBuf::from(path.file_name().context("input without a file name")?),
                    };
                    files.push(InputFile {
                        size: path.metadata()?.len(),
                        path,
                        relative,
                        format,
                    });
                    matched += 1;
                }
            }
            if matched == 0 {
                bail!("input glob {spec} matches no input files");
            }
        } else {
            bail!("input {spec} does not exist");
        }
    }
    files.sort_by(|a, b| {
        a.relative
            .cmp(&b.relative)
            .then_with(|| a.path.cmp(&b.path))
    });
    files.dedup_by(|a, b| a.path == b.path);
    // Output shards are named by folder and stem, so `a.jsonl` and `a.parquet` side by side would share
    // their markers and error files.
    let mut seen: std::collections::HashMap<(PathBuf, String), &Path> =
        std::collections::HashMap::new();
    for file in &files {
        if let Some(other) = seen.insert((file.relative_dir(), file.stem()), &file.path) {
            bail!(
                "inputs {} and {} would write the same outputs (same folder and name, different extension); \
                 rename one, or give their parent directories separately",
                other.display(),
                file.path.display()
            );
        }
    }
    Ok(files)
}

/// The folder a glob starts from: its leading components without a wildcard.
fn glob_base(spec: &str) -> PathBuf {
    let mut base = PathBuf::new();
    for component in Path::new(spec).components() {
        if component
            .as_os_str()
            .to_string_lossy()
            .contains(['*', '?', '['])
        {
            break;
        }
        base.push(component);
    }
    base
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<InputFile>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if let Some(format) = InputFormat::of(&path) {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            out.push(InputFile {
                size: entry.metadata()?.len(),
                path,
                relative,
                format,
            });
        }
    }
    Ok(())
}

/// One record as read: its 1-based line (JSONL) or 0-based row (Parquet), and its bytes, or why it could not
/// be read.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub position: u64,
    pub body: std::result::Result<Vec<u8>, String>,
}

/// Counts compressed bytes consumed, for progress and ETA.
#[derive(Clone, Default)]
pub struct ByteCounter(pub Arc<AtomicU64>);

struct CountingReader<R> {
    inner: R,
    counter: ByteCounter,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Streams the records of one file. A read error in the middle of a file (a truncated gzip, say) ends the
/// stream with one error record at the position where reading stopped, so it is counted, not lost.
pub fn records(
    file: &InputFile,
    counter: ByteCounter,
) -> Result<Box<dyn Iterator<Item = RawRecord> + Send>> {
    let raw = File::open(&file.path).with_context(|| format!("opening {}", file.path.display()))?;
    let raw = CountingReader {
        inner: raw,
        counter,
    };
    Ok(match file.format {
        InputFormat::Jsonl => Box::new(JsonlRecords::new(Box::new(raw))),
        InputFormat::JsonlGz => Box::new(JsonlRecords::new(Box::new(
            flate2::read::MultiGzDecoder::new(raw),
        ))),
        InputFormat::JsonlZst => {
            let decoder = zstd::Decoder::new(raw)
                .with_context(|| format!("opening zstd {}", file.path.display()))?;
            Box::new(JsonlRecords::new(Box::new(decoder)))
        }
        InputFormat::Parquet => Box::new(ParquetRecords::new(&file.path)?),
    })
}

struct JsonlRecords {
    reader: BufReader<Box<dyn Read + Send>>,
    line: u64,
    done: bool,
}

impl JsonlRecords {
    fn new(reader: Box<dyn Read + Send>) -> Self {
        Self {
            reader: BufReader::with_capacity(1 << 20, reader),
            line: 0,
            done: false,
        }
    }
}

impl Iterator for JsonlRecords {
    type Item = RawRecord;

    fn next(&mut self) -> Option<RawRecord> {
        if self.done {
            return None;
        }
        let mut buf = Vec::new();
        // Lines end at `\n` only: U+2028/U+2029 may stand unescaped inside JSON strings.
        match self.reader.read_until(b'\n', &mut buf) {
            Ok(0) => {
                self.done = true;
                None
            }
            Ok(_) => {
                self.line += 1;
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                    if buf.last() == Some(&b'\r') {
                        buf.pop();
                    }
                }
                Some(RawRecord {
                    position: self.line,
                    body: Ok(buf),
                })
            }
            Err(e) => {
                self.done = true;
                self.line += 1;
                Some(RawRecord {
                    position: self.line,
                    body: Err(format!(
                        "read error, the rest of the file is unreadable: {e}"
                    )),
                })
            }
        }
    }
}

struct ParquetRecords {
    batches: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    pending: std::collections::VecDeque<Vec<u8>>,
    row: u64,
    done: bool,
}

impl ParquetRecords {
    fn new(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .with_context(|| format!("{}: not a readable Parquet file", path.display()))?;
        let batches = builder.with_batch_size(1024).build()?;
        Ok(Self {
            batches,
            pending: Default::default(),
            row: 0,
            done: false,
        })
    }
}

impl Iterator for ParquetRecords {
    type Item = RawRecord;

    fn next(&mut self) -> Option<RawRecord> {
        loop {
            if let Some(body) = self.pending.pop_front() {
                let record = RawRecord {
                    position: self.row,
                    body: Ok(body),
                };
                self.row += 1;
                return Some(record);
            }
            if self.done {
                return None;
            }
            match self.batches.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(RawRecord {
                        position: self.row,
                        body: Err(format!(
                            "Parquet read error, the rest of the file is unreadable: {e}"
                        )),
                    });
                }
                Some(Ok(batch)) => {
                    // Explicit nulls: a null column is still a field of the record, and is kept.
                    let mut writer = arrow::json::WriterBuilder::new()
                        .with_explicit_nulls(true)
                        .build::<_, arrow::json::writer::LineDelimited>(Vec::new());
                    if let Err(e) = writer.write(&batch).and_then(|_| writer.finish()) {
                        self.done = true;
                        return Some(RawRecord {
                            position: self.row,
                            body: Err(format!("Parquet rows could not be rendered as JSON: {e}")),
                        });
                    }
                    let bytes = writer.into_inner();
                    self.pending.extend(
                        bytes
                            .split(|b| *b == b'\n')
                            .filter(|l| !l.is_empty())
                            .map(<[u8]>::to_vec),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_keep_the_folders_after_their_fixed_prefix() {
        assert_eq!(
            glob_base("out/CLEANED/*/kept/*.jsonl.gz"),
            PathBuf::from("out/CLEANED")
        );
        assert_eq!(glob_base("*.jsonl"), PathBuf::new());
        let dir = tempfile::tempdir().unwrap();
        for source in ["a", "b"] {
            let kept = dir.path().join(source).join("kept");
            std::fs::create_dir_all(&kept).unwrap();
            std::fs::write(kept.join("x.jsonl"), "{}\n").unwrap();
        }
        let files = discover(&[format!("{}/*/kept/*.jsonl", dir.path().display())]).unwrap();
        let relative: Vec<PathBuf> = files.iter().map(|f| f.relative.clone()).collect();
        assert_eq!(
            relative,
            [
                PathBuf::from("a/kept/x.jsonl"),
                PathBuf::from("b/kept/x.jsonl")
            ]
        );
    }
}
