//! Finding input files and reading their records, whatever the container: JSONL, JSONL.gz, JSONL.zst,
//! Parquet, or WARC / WET (`crate::warc`). Records come out as raw bytes of one JSON object each (Parquet rows are rendered as JSON), so the
//! workers, not the reader, pay for parsing.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};

use crate::record::{Fields, RecordError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Jsonl,
    JsonlGz,
    JsonlZst,
    Parquet,
    /// A WARC (or WET) file; records become JSON objects in `crate::warc`.
    Warc,
    WarcGz,
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
        } else if name.ends_with(".warc") || name.ends_with(".wet") {
            Some(Self::Warc)
        } else if name.ends_with(".warc.gz") || name.ends_with(".wet.gz") {
            Some(Self::WarcGz)
        } else {
            None
        }
    }

    /// The extension outputs in this format carry.
    pub fn extension(self) -> &'static str {
        match self.output() {
            Self::Jsonl => "jsonl",
            Self::JsonlZst => "jsonl.zst",
            Self::Parquet => "parquet",
            Self::JsonlGz | Self::Warc | Self::WarcGz => "jsonl.gz",
        }
    }

    /// The format outputs of an input in this format are written in: the same, except that the documents
    /// of a WARC file are written as JSONL.gz records.
    pub fn output(self) -> Self {
        match self {
            Self::Warc | Self::WarcGz => Self::JsonlGz,
            other => other,
        }
    }

    /// What a record's position counts in error records: `line` (1-based), `row` (0-based) or `offset`
    /// (the byte offset of a WARC record).
    pub fn position_key(self) -> &'static str {
        match self {
            Self::Parquet => "row",
            Self::Warc | Self::WarcGz => "offset",
            Self::Jsonl | Self::JsonlGz | Self::JsonlZst => "line",
        }
    }

    /// The fields this format's records carry: WARC records come out of `crate::warc` with fields of their
    /// own; every other format's are the config's `[io]` keys.
    pub fn fields(self, configured: &Fields) -> &Fields {
        match self {
            Self::Warc | Self::WarcGz => crate::warc::fields(),
            _ => configured,
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
    /// Where an input listed in an object store is (`path` is then its local staging file, fetched when its
    /// records are first read).
    pub remote: Option<crate::remote::RemoteInput>,
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
            ".warc.gz",
            ".wet.gz",
            ".warc",
            ".wet",
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

/// What identifies an input's content in a job's `run.json`: its name, size, modification time and a hash of
/// its bytes, so an input changed in place (even to the same size) is not mistaken for the one whose
/// results are on disk.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputIdentity {
    pub name: String,
    pub size: u64,
    /// Seconds and nanoseconds since the Unix epoch, `secs.nanos`.
    pub modified: String,
    /// xxh3-64 of the file's bytes, in hex.
    pub xxh3: String,
}

impl InputFile {
    pub fn identity(&self) -> Result<InputIdentity> {
        if let Some(remote) = &self.remote {
            // The store's e-tag stands for the content hash: reading every input in every task to hash it
            // would cost a full download each.
            return Ok(InputIdentity {
                name: self.relative.display().to_string(),
                size: remote.object.size,
                modified: remote.object.modified.clone(),
                xxh3: format!("etag:{}", remote.object.e_tag),
            });
        }
        let meta = std::fs::metadata(&self.path)
            .with_context(|| format!("reading {}", self.path.display()))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()))
            .unwrap_or_default();
        Ok(InputIdentity {
            name: self.relative.display().to_string(),
            size: meta.len(),
            modified,
            xxh3: crate::job::checksum(&self.path)?,
        })
    }
}

/// Expands files, directories (recursively) and globs into a sorted list of input files. Anything named
/// that holds no readable input is an error: a typo in a path must not become an empty run.
pub fn discover(specs: &[String]) -> Result<Vec<InputFile>> {
    let mut files = Vec::new();
    for spec in specs {
        let path = Path::new(spec);
        if crate::remote::is_remote(spec) {
            // A glob lists its fixed prefix and keeps the keys it matches (`*` stays within one folder),
            // relative to that prefix, as a local glob does.
            let (listed, pattern) = if spec.contains(['*', '?', '[']) {
                let base = spec
                    .split('/')
                    .take_while(|part| !part.contains(['*', '?', '[']))
                    .collect::<Vec<_>>()
                    .join("/");
                let pattern = glob::Pattern::new(spec[base.len()..].trim_start_matches('/'))
                    .with_context(|| format!("input glob {spec}"))?;
                (base, Some(pattern))
            } else {
                (spec.clone(), None)
            };
            let location = crate::remote::Location::parse(&listed)?;
            let mut matched = 0;
            for object in location.list()? {
                if let Some(pattern) = &pattern {
                    let options = glob::MatchOptions {
                        require_literal_separator: true,
                        ..Default::default()
                    };
                    if !pattern.matches_with(&object.relative, options) {
                        continue;
                    }
                }
                let relative = PathBuf::from(&object.relative);
                let hidden = relative
                    .components()
                    .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
                let Some(format) = InputFormat::of(&relative) else {
                    continue;
                };
                if hidden
                    || relative
                        .file_name()
                        .is_some_and(|n| n == crate::lineage::FILE_NAME)
                {
                    continue;
                }
                let remote = crate::remote::RemoteInput {
                    location: location.clone(),
                    object,
                };
                files.push(InputFile {
                    path: crate::remote::stage_input(&remote),
                    relative,
                    format,
                    size: remote.object.size,
                    remote: Some(remote),
                });
                matched += 1;
            }
            if matched == 0 {
                bail!(
                    "input {spec} holds no .jsonl, .jsonl.gz, .jsonl.zst, .parquet, .warc(.gz) or .wet(.gz) objects"
                );
            }
        } else if path.is_dir() {
            let before = files.len();
            walk(path, &mut files)?;
            if files.len() == before {
                bail!(
                    "input directory {spec} holds no .jsonl, .jsonl.gz, .jsonl.zst, .parquet, .warc(.gz) or .wet(.gz) files"
                );
            }
        } else if path.is_file() {
            let format = InputFormat::of(path).with_context(|| {
                format!("input {spec}: unknown format (expected .jsonl, .jsonl.gz, .jsonl.zst, .parquet, .warc(.gz) or .wet(.gz))")
            })?;
            let relative = PathBuf::from(path.file_name().context("input without a file name")?);
            files.push(InputFile {
                path: path.to_path_buf(),
                relative,
                format,
                size: path.metadata()?.len(),
                remote: None,
            });
        } else if spec.contains(['*', '?', '[']) {
            let mut matched = 0;
            let base = glob_base(spec);
            for entry in glob::glob(spec).with_context(|| format!("input glob {spec}"))? {
                let path = entry?;
                let lineage = path
                    .file_name()
                    .is_some_and(|n| n == crate::lineage::FILE_NAME);
                if let (true, false, Some(format)) =
                    (path.is_file(), lineage, InputFormat::of(&path))
                {
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
                        remote: None,
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
    // One file reached by two paths (a link to it, or the same folder given twice) is read once.
    let mut seen_files = std::collections::HashSet::new();
    files.retain(|f| {
        seen_files.insert(std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone()))
    });
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

/// Lists the input files under `root`, following symbolic links but never around a loop (walkdir keeps the
/// open ancestors and refuses to enter one twice), in name order; hidden entries are left out.
fn walk(root: &Path, out: &mut Vec<InputFile>) -> Result<()> {
    let entries = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) if e.loop_ancestor().is_some() => {
                // A link back to an ancestor holds nothing that the walk does not already list.
                continue;
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!("listing {}", root.display())));
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path().to_path_buf();
        // A run's `lineage.json` (host/src/lineage.rs) describes the folder; it is not one of its records.
        if entry.file_name() == crate::lineage::FILE_NAME {
            continue;
        }
        if let Some(format) = InputFormat::of(&path) {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            out.push(InputFile {
                size: entry
                    .metadata()
                    .with_context(|| format!("reading the size of {}", path.display()))?
                    .len(),
                path,
                relative,
                format,
                remote: None,
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
    pub body: std::result::Result<Vec<u8>, RecordError>,
}

/// The default of `--max-record-bytes`: a line longer than this is an error record, found without ever
/// holding the line whole. It is above the 200 MB documents the sandbox is shown to judge under its default
/// memory cap, and far below what a decompression bomb can unpack to.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 256 << 20;

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
    max_record_bytes: u64,
) -> Result<Box<dyn Iterator<Item = RawRecord> + Send>> {
    if let Some(remote) = &file.remote
        && !file.path.is_file()
    {
        remote
            .location
            .download(&remote.object.relative, &file.path)?;
    }
    let raw = File::open(&file.path).with_context(|| format!("opening {}", file.path.display()))?;
    let raw = CountingReader {
        inner: raw,
        counter,
    };
    Ok(match file.format {
        InputFormat::Jsonl => Box::new(JsonlRecords::new(Box::new(raw), max_record_bytes)),
        InputFormat::JsonlGz => Box::new(JsonlRecords::new(
            Box::new(flate2::read::MultiGzDecoder::new(raw)),
            max_record_bytes,
        )),
        InputFormat::JsonlZst => {
            let decoder = zstd::Decoder::new(raw)
                .with_context(|| format!("opening zstd {}", file.path.display()))?;
            Box::new(JsonlRecords::new(Box::new(decoder), max_record_bytes))
        }
        InputFormat::Parquet => Box::new(ParquetRecords::new(&file.path, max_record_bytes)),
        InputFormat::Warc => Box::new(crate::warc::WarcRecords::new(
            Box::new(BufReader::with_capacity(1 << 20, raw)),
            max_record_bytes,
        )),
        InputFormat::WarcGz => Box::new(crate::warc::WarcRecords::new(
            Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::read::MultiGzDecoder::new(raw),
            )),
            max_record_bytes,
        )),
    })
}

struct JsonlRecords {
    reader: BufReader<Box<dyn Read + Send>>,
    line: u64,
    done: bool,
    max_record_bytes: u64,
}

impl JsonlRecords {
    fn new(reader: Box<dyn Read + Send>, max_record_bytes: u64) -> Self {
        Self {
            reader: BufReader::with_capacity(1 << 20, reader),
            line: 0,
            done: false,
            max_record_bytes,
        }
    }

    /// Reads up to the next `\n` (lines end at `\n` only: U+2028/U+2029 may stand unescaped inside JSON
    /// strings). Past `max_record_bytes` the line is skipped to its end without being kept; returns the line
    /// (or `None` when too long), its length, and whether anything was read at all.
    fn read_line(&mut self) -> std::io::Result<(Option<Vec<u8>>, u64, bool)> {
        let mut buf = Vec::new();
        let mut length = 0u64;
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (take, found) = match memchr::memchr(b'\n', available) {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            let content = if found { take - 1 } else { take };
            length += content as u64;
            if !too_long {
                // `\r` of a CRLF ending may still follow; it is allowed beyond the limit.
                if length > self.max_record_bytes.saturating_add(1) {
                    too_long = true;
                    buf = Vec::new();
                } else {
                    buf.extend_from_slice(&available[..take]);
                }
            }
            self.reader.consume(take);
            if found {
                break;
            }
        }
        if !too_long {
            if buf.last() == Some(&b'\n') {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            }
            if buf.len() as u64 > self.max_record_bytes {
                too_long = true;
            }
        }
        Ok(((!too_long).then_some(buf), length, any))
    }
}

/// The UTF-8 byte order mark some editors put at the start of a file; it is not part of the first record.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Iterator for JsonlRecords {
    type Item = RawRecord;

    fn next(&mut self) -> Option<RawRecord> {
        if self.done {
            return None;
        }
        match self.read_line() {
            Ok((_, _, false)) => {
                self.done = true;
                None
            }
            Ok((line, length, true)) => {
                self.line += 1;
                let body = match line {
                    Some(mut buf) => {
                        if self.line == 1 && buf.starts_with(BOM) {
                            buf.drain(..BOM.len());
                        }
                        Ok(buf)
                    }
                    None => Err(RecordError::new(
                        "record too large",
                        format!(
                            "record too large: the line has {length} bytes, more than max_record_bytes ({}); \
                             raise --max-record-bytes to judge it",
                            self.max_record_bytes
                        ),
                    )),
                };
                Some(RawRecord {
                    position: self.line,
                    body,
                })
            }
            Err(e) => {
                self.done = true;
                self.line += 1;
                Some(RawRecord {
                    position: self.line,
                    body: Err(RecordError::new(
                        "read error",
                        format!("read error, the rest of the file is unreadable: {e}"),
                    )),
                })
            }
        }
    }
}

/// The rows of a Parquet file, read one row group at a time, so a corrupt row group costs its own rows (as
/// error records, counted from the footer) and not the rest of the file; a file whose footer cannot be read
/// is one error record. Binary columns are text stored as bytes: they are decoded as UTF-8, and a row whose
/// value is not UTF-8 is an error record.
struct ParquetRecords {
    path: PathBuf,
    file: Option<File>,
    metadata: Option<parquet::arrow::arrow_reader::ArrowReaderMetadata>,
    /// The next row group to open.
    group: usize,
    /// Where the next row group starts.
    group_start: u64,
    batches: Option<parquet::arrow::arrow_reader::ParquetRecordBatchReader>,
    pending: std::collections::VecDeque<RawRecord>,
    row: u64,
    done: bool,
    max_record_bytes: u64,
}

impl ParquetRecords {
    fn new(path: &Path, max_record_bytes: u64) -> Self {
        let mut me = Self {
            path: path.to_path_buf(),
            file: None,
            metadata: None,
            group: 0,
            group_start: 0,
            batches: None,
            pending: Default::default(),
            row: 0,
            done: false,
            max_record_bytes,
        };
        let opened = File::open(path)
            .map_err(|e| format!("cannot open: {e}"))
            .and_then(|file| {
                parquet::arrow::arrow_reader::ArrowReaderMetadata::load(&file, Default::default())
                    .map(|m| (file, m))
                    .map_err(|e| format!("not a readable Parquet file: {e}"))
            });
        match opened {
            Ok((file, metadata)) => {
                me.file = Some(file);
                me.metadata = Some(metadata);
            }
            Err(message) => {
                me.done = true;
                me.pending.push_back(RawRecord {
                    position: 0,
                    body: Err(RecordError::new("unreadable Parquet", message)),
                });
            }
        }
        me
    }

    /// Opens the next row group; false when there is none.
    fn open_group(&mut self) -> bool {
        let (Some(file), Some(metadata)) = (&self.file, &self.metadata) else {
            return false;
        };
        let groups = metadata.metadata().row_groups();
        let Some(group) = groups.get(self.group) else {
            return false;
        };
        let index = self.group;
        self.group += 1;
        self.row = self.group_start;
        self.group_start += group.num_rows().max(0) as u64;
        let reader = file
            .try_clone()
            .map_err(|e| e.to_string())
            .and_then(|file| {
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::new_with_metadata(
                    file,
                    metadata.clone(),
                )
                .with_row_groups(vec![index])
                .with_batch_size(1024)
                .build()
                .map_err(|e| e.to_string())
            });
        match reader {
            Ok(reader) => self.batches = Some(reader),
            Err(message) => self.lose_group(index, &message),
        }
        true
    }

    /// The rows of the current group not read yet become error records.
    fn lose_group(&mut self, index: usize, message: &str) {
        self.batches = None;
        for row in self.row..self.group_start {
            self.pending.push_back(RawRecord {
                position: row,
                body: Err(RecordError::new(
                    "unreadable Parquet",
                    format!(
                        "Parquet row group {index} of {} is unreadable: {message}",
                        self.path.display()
                    ),
                )),
            });
        }
        self.row = self.group_start;
    }

    /// Renders a batch as JSON rows, queued as records.
    fn render(&mut self, batch: arrow::record_batch::RecordBatch) -> Result<(), String> {
        let (batch, bad_rows) = binary_as_text(batch)?;
        // Explicit nulls: a null column is still a field of the record, and is kept.
        let mut writer = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow::json::writer::LineDelimited>(Vec::new());
        writer
            .write(&batch)
            .and_then(|_| writer.finish())
            .map_err(|e| format!("Parquet rows could not be rendered as JSON: {e}"))?;
        let bytes = writer.into_inner();
        for (i, line) in bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let body = if let Some(column) = bad_rows.get(&i) {
                Err(RecordError::new(
                    "invalid UTF-8",
                    format!("column `{column}` holds bytes that are not UTF-8 text"),
                ))
            } else if line.len() as u64 > self.max_record_bytes {
                Err(RecordError::new(
                    "record too large",
                    format!(
                        "record too large: the row has {} bytes as JSON, more than max_record_bytes ({}); \
                         raise --max-record-bytes to judge it",
                        line.len(),
                        self.max_record_bytes
                    ),
                ))
            } else {
                Ok(line.to_vec())
            };
            self.pending.push_back(RawRecord {
                position: self.row,
                body,
            });
            self.row += 1;
        }
        Ok(())
    }
}

/// Binary columns decoded as UTF-8 text, and the rows (index in the batch -> column) whose bytes are not.
fn binary_as_text(
    batch: arrow::record_batch::RecordBatch,
) -> Result<
    (
        arrow::record_batch::RecordBatch,
        std::collections::HashMap<usize, String>,
    ),
    String,
> {
    use arrow::array::{Array, ArrayRef, AsArray, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = batch.schema();
    if !schema
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Binary | DataType::LargeBinary))
    {
        return Ok((batch, Default::default()));
    }
    let mut bad = std::collections::HashMap::new();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let values: Option<Vec<Option<&[u8]>>> = match field.data_type() {
            DataType::Binary => Some(column.as_binary::<i32>().iter().collect()),
            DataType::LargeBinary => Some(column.as_binary::<i64>().iter().collect()),
            _ => None,
        };
        let Some(values) = values else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        };
        let text: StringArray = values
            .into_iter()
            .enumerate()
            .map(|(row, value)| {
                value.and_then(|bytes| match std::str::from_utf8(bytes) {
                    Ok(s) => Some(s),
                    Err(_) => {
                        bad.entry(row).or_insert_with(|| field.name().clone());
                        None
                    }
                })
            })
            .collect();
        fields.push(Field::new(field.name(), DataType::Utf8, true));
        let _ = text.len();
        columns.push(Arc::new(text));
    }
    let batch = arrow::record_batch::RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| e.to_string())?;
    Ok((batch, bad))
}

impl Iterator for ParquetRecords {
    type Item = RawRecord;

    fn next(&mut self) -> Option<RawRecord> {
        loop {
            if let Some(record) = self.pending.pop_front() {
                return Some(record);
            }
            if self.done {
                return None;
            }
            let Some(batches) = self.batches.as_mut() else {
                if !self.open_group() {
                    self.done = true;
                }
                continue;
            };
            match batches.next() {
                None => self.batches = None,
                Some(Err(e)) => self.lose_group(self.group - 1, &e.to_string()),
                Some(Ok(batch)) => {
                    if let Err(message) = self.render(batch) {
                        self.lose_group(self.group - 1, &message);
                    }
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

    use std::sync::Arc;

    use arrow::array::{ArrayRef, BinaryArray, StringArray};
    use arrow::record_batch::RecordBatch;

    fn shared_data(relative: &str) -> PathBuf {
        match std::env::var_os("TAMIS_SHARED_DATA") {
            Some(dir) => PathBuf::from(dir).join(relative),
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/data")
                .join(relative),
        }
    }

    /// The rows of the web set's Parquet file, as Arrow batches.
    fn web_batches() -> Vec<RecordBatch> {
        let file = File::open(shared_data("web/dev.parquet")).expect("the shared web set");
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("a Parquet file")
            .build()
            .expect("a reader")
            .collect::<std::result::Result<_, _>>()
            .expect("readable rows")
    }

    fn write(path: &Path, batches: &[RecordBatch], rows_per_group: usize) {
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_size(rows_per_group)
            .build();
        let file = File::create(path).expect("a temp file");
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(file, batches[0].schema(), Some(props))
                .expect("a writer");
        for batch in batches {
            writer.write(batch).expect("rows written");
        }
        writer.close().expect("a finished file");
    }

    fn read_all(path: &Path) -> Vec<RawRecord> {
        ParquetRecords::new(path, DEFAULT_MAX_RECORD_BYTES).collect()
    }

    #[test]
    fn a_corrupt_middle_row_group_keeps_the_others_and_counts_its_rows_as_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("three.parquet");
        let batches = web_batches();
        let total: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert!(total >= 30, "the web set has {total} rows");
        let per_group = total / 3;
        write(&path, &batches, per_group);
        let meta =
            parquet::file::serialized_reader::SerializedFileReader::new(File::open(&path).unwrap())
                .map(|r| parquet::file::reader::FileReader::metadata(&r).clone())
                .unwrap();
        assert!(meta.num_row_groups() >= 3);
        // Overwrite every column chunk of the middle row group with garbage.
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = meta.row_group(1);
        for column in middle.columns() {
            let (start, length) = column.byte_range();
            for b in &mut bytes[start as usize..(start + length) as usize] {
                *b = 0xFF;
            }
        }
        std::fs::write(&path, &bytes).unwrap();
        let records = read_all(&path);
        assert_eq!(
            records.len(),
            total,
            "every row of the footer is accounted for"
        );
        let lost: Vec<u64> = records
            .iter()
            .filter(|r| r.body.is_err())
            .map(|r| r.position)
            .collect();
        let start = meta.row_group(0).num_rows() as u64;
        let expected: Vec<u64> = (start..start + middle.num_rows() as u64).collect();
        assert_eq!(
            lost, expected,
            "exactly the middle row group's rows are errors"
        );
        let positions: Vec<u64> = records.iter().map(|r| r.position).collect();
        assert_eq!(positions, (0..total as u64).collect::<Vec<_>>());
        assert_eq!(
            records
                .iter()
                .find_map(|r| r.body.as_ref().err())
                .unwrap()
                .kind,
            "unreadable Parquet"
        );
    }

    #[test]
    fn a_garbage_parquet_file_is_one_error_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage.parquet");
        std::fs::write(&path, b"PAR1 this is not a Parquet file at all PAR1").unwrap();
        let records = read_all(&path);
        assert_eq!(records.len(), 1);
        let error = records[0].body.as_ref().unwrap_err();
        assert_eq!(error.kind, "unreadable Parquet");
        assert!(
            error.message.contains("not a readable Parquet file"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_binary_text_column_is_decoded_as_utf8_or_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("binary.parquet");
        let batch = web_batches().remove(0);
        let texts: Vec<String> = batch
            .column_by_name("text")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
            .expect("a text column")
            .iter()
            .take(3)
            .map(|t| t.unwrap_or_default().to_string())
            .collect();
        let mut values: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
        values.push(b"caf\xe9");
        let ids: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c", "d"]));
        let text: ArrayRef = Arc::new(BinaryArray::from(values));
        let batch = RecordBatch::try_from_iter([("id", ids), ("text", text)]).unwrap();
        write(&path, &[batch], 1024);
        let records = read_all(&path);
        assert_eq!(records.len(), 4);
        for (record, text) in records.iter().zip(&texts) {
            let value: serde_json::Value =
                serde_json::from_slice(record.body.as_ref().unwrap()).unwrap();
            assert_eq!(value["text"].as_str(), Some(text.as_str()));
        }
        let error = records[3].body.as_ref().unwrap_err();
        assert_eq!(error.kind, "invalid UTF-8");
        assert!(error.message.contains("column `text`"), "{}", error.message);
    }

    #[test]
    fn an_over_long_line_is_an_error_and_a_bom_is_stripped() {
        let input = b"\xEF\xBB\xBF{\"id\": 1}\n0123456789ABCD\r\n{}\n".to_vec();
        let records: Vec<RawRecord> =
            JsonlRecords::new(Box::new(std::io::Cursor::new(input)), 12).collect();
        assert_eq!(records[0].body.as_ref().unwrap(), b"{\"id\": 1}");
        assert_eq!(
            records[1].body.as_ref().unwrap_err().kind,
            "record too large"
        );
        assert_eq!(records[2].body.as_ref().unwrap(), b"{}");
        assert_eq!(
            records.iter().map(|r| r.position).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }
}
