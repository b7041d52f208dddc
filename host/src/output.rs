//! Sharded, atomic output. Each shard (a run of consecutive records of one input file) is written under
//! temporary names, renamed into place when complete, and then marked done; a re-run skips marked shards and
//! rewrites unmarked ones from scratch, so a killed run resumes without duplicating or losing records, and
//! the bytes do not depend on when it was killed or on the number of workers.
//!
//! # The output directory
//!
//! For an input `IN/<dir>/<name>.<ext>` (found under a directory given as input; a file given directly has
//! no `<dir>`), shard `N` (records `N * shard_size ..`, 0-based, 5 digits) goes to:
//!
//! ```text
//! OUT/<dir>/kept/<name>-0000N.<ext>      judged and kept: the input record with the cleaned text in the
//!                                       text field and a `tamis` object (verdict, checks, scores, ...)
//! OUT/<dir>/dropped/<name>-0000N.<ext>   judged and dropped: the input record, original text, and
//!                                       `tamis` with `reason` ("step / rule / value < threshold") and
//!                                       `reason_check` (the failed check as data)
//! OUT/<dir>/errors/<name>-0000N.<ext>    not judged: {"file", "line" (1-based, JSONL) or "row" (0-based,
//!                                       Parquet), "id" when known, "error", "record" (the input as JSON,
//!                                       or as text when it is not JSON)}; JSONL for Parquet inputs
//! OUT/stats.json                         docs_in, kept, dropped, errors, bytes_in, per step: docs_in,
//!                                       dropped, reasons, seconds; errors_by_kind; run time, engine, workers
//! OUT/.tamis/run.json                    what the run was (config, inputs, shard size): a re-run with other
//!                                       settings is refused rather than mixed in
//! OUT/.tamis/done/<dir>/<name>-0000N.json   the shard's completion marker, with its own counts
//! ```
//!
//! `<ext>` is the input's: `jsonl`, `jsonl.gz` (one gzip member, mtime 0, its deflate blocks compressed
//! per batch on the workers: [`Batch`]), `jsonl.zst` or `parquet` (snappy, schema inferred from the output
//! rows). A part with no record is not written. Records keep their input field
//! order; `tamis` comes last.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::input::{InputFile, InputFormat};

/// The paths of one shard's outputs.
#[derive(Debug, Clone)]
pub struct ShardPaths {
    pub kept: PathBuf,
    pub dropped: PathBuf,
    pub errors: PathBuf,
    pub marker: PathBuf,
    pub format: InputFormat,
    pub errors_format: InputFormat,
    /// The input file, whose column types a Parquet output keeps.
    pub input: PathBuf,
}

impl ShardPaths {
    pub fn new(out: &Path, file: &InputFile, chunk: u64) -> Self {
        let dir = out.join(file.relative_dir());
        let name = format!("{}-{chunk:05}", file.stem());
        let format = file.format.output();
        let errors_format = errors_format(format);
        Self {
            kept: dir
                .join("kept")
                .join(format!("{name}.{}", format.extension())),
            dropped: dir
                .join("dropped")
                .join(format!("{name}.{}", format.extension())),
            errors: dir
                .join("errors")
                .join(format!("{name}.{}", errors_format.extension())),
            marker: out
                .join(".tamis")
                .join("done")
                .join(file.relative_dir())
                .join(format!("{name}.json")),
            format,
            errors_format,
            input: file.path.clone(),
        }
    }
}

/// The format of a shard's error records. Error records carry arbitrary broken input, which has no Parquet
/// schema: they stay JSONL.
fn errors_format(format: InputFormat) -> InputFormat {
    match format {
        InputFormat::Parquet => InputFormat::Jsonl,
        other => other,
    }
}

/// One output file being written under a temporary name, renamed into place by [`Sink::finish`].
pub enum Sink {
    Lines {
        tmp: PathBuf,
        path: PathBuf,
        writer: Box<dyn Write + Send>,
    },
    /// A gzip file assembled from deflate blocks compressed elsewhere ([`Batch::encode`]): this header,
    /// the blocks as they come, then an empty final block and the trailer (CRC-32 and length of the
    /// whole text, combined from the blocks' own).
    Gzip {
        tmp: PathBuf,
        path: PathBuf,
        file: BufWriter<File>,
        crc: flate2::Crc,
        len: u64,
    },
    Parquet {
        tmp: PathBuf,
        path: PathBuf,
        rows: Vec<String>,
        input: PathBuf,
    },
}

fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

impl Sink {
    /// Opens `path` (under its temporary name) for records in `format`; `input` is the file whose Parquet
    /// column types the output keeps.
    pub fn open(path: &Path, format: InputFormat, input: &Path) -> Result<Self> {
        let format = format.output();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        // Named for this process: the tasks of a sharded job may write the same small file (the job's totals)
        // at once, each whole, and the last rename wins.
        let mut name = tmp_name(path).into_os_string();
        name.push(format!(".{}", std::process::id()));
        let tmp = PathBuf::from(name);
        if format == InputFormat::Parquet {
            return Ok(Sink::Parquet {
                tmp,
                path: path.to_path_buf(),
                rows: Vec::new(),
                input: input.to_path_buf(),
            });
        }
        let file = BufWriter::with_capacity(
            1 << 20,
            File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
        );
        let writer: Box<dyn Write + Send> = match format {
            InputFormat::Jsonl => Box::new(file),
            // Header with mtime 0: the bytes depend only on the content.
            InputFormat::JsonlGz | InputFormat::Warc | InputFormat::WarcGz => Box::new(
                flate2::GzBuilder::new()
                    .mtime(0)
                    .write(file, flate2::Compression::new(6)),
            ),
            InputFormat::JsonlZst => Box::new(zstd::Encoder::new(file, 3)?.auto_finish()),
            InputFormat::Parquet => unreachable!("handled above"),
        };
        Ok(Sink::Lines {
            tmp,
            path: path.to_path_buf(),
            writer,
        })
    }

    /// Opens `path` for batches from [`Batch::encode`]: as [`Sink::open`], except that gzip output is
    /// assembled from blocks the workers compressed.
    pub fn open_batched(path: &Path, format: InputFormat, input: &Path) -> Result<Self> {
        if format != InputFormat::JsonlGz {
            return Self::open(path, format, input);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        // Named for this process: the tasks of a sharded job may write the same small file (the job's totals)
        // at once, each whole, and the last rename wins.
        let mut name = tmp_name(path).into_os_string();
        name.push(format!(".{}", std::process::id()));
        let tmp = PathBuf::from(name);
        let mut file = BufWriter::with_capacity(
            1 << 20,
            File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
        );
        file.write_all(&GZIP_HEADER)
            .with_context(|| format!("writing {}", tmp.display()))?;
        Ok(Sink::Gzip {
            tmp,
            path: path.to_path_buf(),
            file,
            crc: flate2::Crc::new(),
            len: 0,
        })
    }

    /// Writes one record (a JSON line).
    pub fn write(&mut self, line: &str) -> Result<()> {
        match self {
            Sink::Lines { writer, tmp, .. } => writer
                .write_all(line.as_bytes())
                .and_then(|_| writer.write_all(b"\n"))
                .with_context(|| format!("writing {}", tmp.display())),
            Sink::Gzip { tmp, .. } => bail!(
                "{}: a batched gzip output takes batches, not lines (a bug in tamis)",
                tmp.display()
            ),
            Sink::Parquet { rows, .. } => {
                rows.push(line.to_string());
                Ok(())
            }
        }
    }

    /// Appends one batch's part for this file.
    fn append(&mut self, payload: Payload) -> Result<()> {
        match (self, payload) {
            (Sink::Lines { writer, tmp, .. }, Payload::Text(text)) => writer
                .write_all(&text)
                .with_context(|| format!("writing {}", tmp.display())),
            (
                Sink::Gzip {
                    file,
                    crc,
                    len,
                    tmp,
                    ..
                },
                Payload::Deflate {
                    data,
                    crc: part_crc,
                    len: part_len,
                },
            ) => {
                crc.combine(&part_crc);
                *len += part_len;
                file.write_all(&data)
                    .with_context(|| format!("writing {}", tmp.display()))
            }
            (Sink::Parquet { rows, .. }, Payload::Rows(more)) => {
                rows.extend(more);
                Ok(())
            }
            (Sink::Lines { tmp, .. } | Sink::Gzip { tmp, .. } | Sink::Parquet { tmp, .. }, _) => {
                bail!(
                    "{}: a batch encoded for another format (a bug in tamis)",
                    tmp.display()
                )
            }
        }
    }

    /// Finishes the file and renames it into place.
    pub fn finish(self) -> Result<PathBuf> {
        match self {
            Sink::Lines {
                tmp,
                path,
                mut writer,
            } => {
                writer
                    .flush()
                    .with_context(|| format!("writing {}", tmp.display()))?;
                drop(writer);
                std::fs::rename(&tmp, &path)
                    .with_context(|| format!("renaming {} into place", tmp.display()))?;
                Ok(path)
            }
            Sink::Gzip {
                tmp,
                path,
                mut file,
                crc,
                len,
            } => {
                // RFC 1952 trailer: CRC-32, then the length modulo 2^32, both little-endian.
                file.write_all(&GZIP_LAST_BLOCK)
                    .and_then(|_| file.write_all(&crc.sum().to_le_bytes()))
                    .and_then(|_| file.write_all(&(len as u32).to_le_bytes()))
                    .and_then(|_| file.flush())
                    .with_context(|| format!("writing {}", tmp.display()))?;
                drop(file);
                std::fs::rename(&tmp, &path)
                    .with_context(|| format!("renaming {} into place", tmp.display()))?;
                Ok(path)
            }
            Sink::Parquet {
                tmp,
                path,
                rows,
                input,
            } => {
                write_parquet(&tmp, &rows, &input)?;
                std::fs::rename(&tmp, &path)
                    .with_context(|| format!("renaming {} into place", tmp.display()))?;
                Ok(path)
            }
        }
    }
}

/// Writes JSON rows as Parquet. The schema is inferred from the rows themselves (the input's columns plus
/// the `tamis` annotation), except that a column of the input keeps its input type: a timestamp stays a
/// timestamp and a decimal a decimal, rather than the string and double JSON would make of them.
fn write_parquet(path: &Path, rows: &[String], input: &Path) -> Result<()> {
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::json::reader::{ReaderBuilder, infer_json_schema_from_iterator};
    let values = rows.iter().map(|r| {
        serde_json::from_str::<serde_json::Value>(r)
            .map_err(|e| arrow::error::ArrowError::JsonError(e.to_string()))
    });
    let inferred = infer_json_schema_from_iterator(values)
        .context("inferring the Parquet schema of the output rows")?;
    let input_schema = File::open(input).ok().and_then(|f| {
        parquet::arrow::arrow_reader::ArrowReaderMetadata::load(&f, Default::default())
            .ok()
            .map(|m| m.schema().clone())
    });
    let fields: Vec<Field> = inferred
        .fields()
        .iter()
        .map(|field| {
            let kept = input_schema
                .as_ref()
                .and_then(|s| s.field_with_name(field.name()).ok())
                .filter(|f| {
                    f.data_type().is_temporal()
                        || matches!(
                            f.data_type(),
                            DataType::Decimal32(..)
                                | DataType::Decimal64(..)
                                | DataType::Decimal128(..)
                                | DataType::Decimal256(..)
                        )
                });
            match kept {
                Some(input) => Field::new(field.name(), input.data_type().clone(), true),
                None => field.as_ref().clone(),
            }
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    let joined = rows.join("\n");
    let reader = ReaderBuilder::new(schema)
        .with_batch_size(1024)
        .build(std::io::Cursor::new(joined.as_bytes()))?;
    for batch in reader {
        writer.write(&batch?)?;
    }
    writer.close()?;
    Ok(())
}

/// Which of a shard's outputs a line goes to.
#[derive(Debug, Clone, Copy)]
pub enum Destination {
    Kept,
    Dropped,
    Errors,
}

/// RFC 1952 member header: deflate, no flags, mtime 0 (so the bytes depend only on the content), no extra
/// flags, operating system 255 (unknown).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// An empty final deflate block with fixed codes (BFINAL 1, BTYPE 01, the end-of-block code): the blocks
/// from [`Batch::encode`] end on a byte boundary and none is final, so this ends the stream.
const GZIP_LAST_BLOCK: [u8; 2] = [0x03, 0x00];

/// Level 6, the default of gzip and zlib.
const GZIP_LEVEL: u32 = 6;

/// One batch's share of a file.
enum Payload {
    /// JSON lines compressed as raw deflate blocks ending on a byte boundary (a sync flush) and not final,
    /// with the CRC-32 and length of the lines, to be concatenated into one gzip member as pigz does.
    Deflate {
        data: Vec<u8>,
        crc: flate2::Crc,
        len: u64,
    },
    /// JSON lines as text, for plain JSONL and for zstd, which the writer compresses as one frame: some
    /// zstd readers (Python zstandard's stream reader by default) stop after a file's first frame.
    Text(Vec<u8>),
    /// Rows of a Parquet file, written whole when the shard is finished.
    Rows(Vec<String>),
}

/// A batch of judged records in the bytes their files take, made on the worker that judged them, so that
/// compressing gzip output runs on every worker and not on the one thread that writes in input order.
/// Each batch is compressed on its own (no dictionary shared across batches), so the bytes depend on the
/// batch size but not on the number of workers.
pub struct Batch {
    parts: Vec<(Destination, Payload)>,
}

impl Batch {
    /// Groups `lines` (in record order) by output and encodes each group for `file`'s output format.
    pub fn encode(file: &InputFile, lines: Vec<(Destination, String)>) -> Result<Self> {
        const ALL: [Destination; 3] =
            [Destination::Kept, Destination::Dropped, Destination::Errors];
        let format_of = |d: Destination| match d {
            Destination::Errors => errors_format(file.format.output()),
            Destination::Kept | Destination::Dropped => file.format.output(),
        };
        // Lines go straight into their output's text, or stay rows for Parquet.
        let mut texts: [Vec<u8>; 3] = Default::default();
        let mut rows: [Vec<String>; 3] = Default::default();
        for (destination, line) in lines {
            let i = destination as usize;
            if format_of(destination) == InputFormat::Parquet {
                rows[i].push(line);
            } else {
                texts[i].extend_from_slice(line.as_bytes());
                texts[i].push(b'\n');
            }
        }
        let mut parts = Vec::new();
        for ((destination, text), rows) in ALL.into_iter().zip(texts).zip(rows) {
            let payload = match format_of(destination) {
                InputFormat::Parquet if !rows.is_empty() => Payload::Rows(rows),
                InputFormat::JsonlGz if !text.is_empty() => {
                    let mut crc = flate2::Crc::new();
                    crc.update(&text);
                    Payload::Deflate {
                        data: deflate_block(&text)?,
                        crc,
                        len: text.len() as u64,
                    }
                }
                InputFormat::Jsonl | InputFormat::JsonlZst if !text.is_empty() => {
                    Payload::Text(text)
                }
                _ => continue,
            };
            parts.push((destination, payload));
        }
        Ok(Self { parts })
    }
}

/// `text` as raw deflate at [`GZIP_LEVEL`], ended by a sync flush: byte-aligned, not final.
fn deflate_block(text: &[u8]) -> Result<Vec<u8>> {
    let mut compress = flate2::Compress::new(flate2::Compression::new(GZIP_LEVEL), false);
    let mut out = Vec::with_capacity(text.len() / 3 + 1024);
    loop {
        let consumed = compress.total_in() as usize;
        compress
            .compress_vec(&text[consumed..], &mut out, flate2::FlushCompress::Sync)
            .context("compressing a batch of output records")?;
        // The flush is complete once all input is taken and the output buffer was not filled.
        if compress.total_in() as usize == text.len() && out.len() < out.capacity() {
            return Ok(out);
        }
        out.reserve(out.capacity().max(1024));
    }
}

/// The output of every job whose records end as kept, dropped or errors (`run`, the dedup filter,
/// `decontaminate`, `select`): shard `chunk` of each input file under `dir`, written by a [`ShardWriter`]
/// from the batches the workers encoded.
pub struct RecordShards {
    dir: PathBuf,
}

impl RecordShards {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

impl crate::job::Output for RecordShards {
    type Item = Result<Batch>;
    type Sink = ShardWriter;

    fn marker_path(&self, file: &InputFile, _: usize, chunk: u64) -> PathBuf {
        ShardPaths::new(&self.dir, file, chunk).marker
    }
    fn open(&self, file: &InputFile, _: usize, chunk: u64) -> Result<ShardWriter> {
        Ok(ShardWriter::new(ShardPaths::new(&self.dir, file, chunk)))
    }
    fn write(&self, sink: &mut ShardWriter, batch: Result<Batch>) -> Result<()> {
        sink.write_batch(batch?)
    }
    fn finish(&self, sink: ShardWriter) -> Result<Vec<PathBuf>> {
        sink.finish()
    }
}

/// The three outputs of one shard, opened lazily (a shard with no drops writes no dropped file).
pub struct ShardWriter {
    paths: ShardPaths,
    kept: Option<Sink>,
    dropped: Option<Sink>,
    errors: Option<Sink>,
}

impl ShardWriter {
    pub fn new(paths: ShardPaths) -> Self {
        Self {
            paths,
            kept: None,
            dropped: None,
            errors: None,
        }
    }

    /// Writes a batch from [`Batch::encode`], opening the outputs it is the first to reach.
    pub fn write_batch(&mut self, batch: Batch) -> Result<()> {
        for (destination, payload) in batch.parts {
            let (slot, path, format) = match destination {
                Destination::Kept => (&mut self.kept, &self.paths.kept, self.paths.format),
                Destination::Dropped => (&mut self.dropped, &self.paths.dropped, self.paths.format),
                Destination::Errors => (
                    &mut self.errors,
                    &self.paths.errors,
                    self.paths.errors_format,
                ),
            };
            if slot.is_none() {
                *slot = Some(Sink::open_batched(path, format, &self.paths.input)?);
            }
            slot.as_mut().expect("opened above").append(payload)?;
        }
        Ok(())
    }

    /// Completes the shard: every file renamed into place. Returns the files, for the marker's checksums.
    pub fn finish(self) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        for sink in [self.kept, self.dropped, self.errors].into_iter().flatten() {
            written.push(sink.finish()?);
        }
        Ok(written)
    }
}

/// Writes a small file under a temporary name and renames it into place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Named for this process: the tasks of a sharded job may write the same small file (the job's totals)
    // at once, each whole, and the last rename wins.
    let mut name = tmp_name(path).into_os_string();
    name.push(format!(".{}", std::process::id()));
    let tmp = PathBuf::from(name);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} into place", tmp.display()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Decimal128Array, StringArray, TimestampMillisecondArray};
    use arrow::datatypes::{DataType, TimeUnit};
    use arrow::record_batch::RecordBatch;

    use super::*;
    use crate::input::{ByteCounter, DEFAULT_MAX_RECORD_BYTES, InputFile, records};

    #[test]
    fn timestamp_and_decimal_columns_keep_their_types_through_a_parquet_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("typed.parquet");
        let ids: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
        let texts: ArrayRef = Arc::new(StringArray::from(vec!["First text.", "Second text."]));
        let when: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![
            1_700_000_000_123,
            1_600_000_000_000,
        ]));
        let amount: ArrayRef = Arc::new(
            Decimal128Array::from(vec![12345678901234567i128, -1])
                .with_precision_and_scale(20, 4)
                .unwrap(),
        );
        let batch = RecordBatch::try_from_iter([
            ("id", ids),
            ("text", texts),
            ("when", when.clone()),
            ("amount", amount.clone()),
        ])
        .unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(
            File::create(&input).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let file = InputFile {
            path: input.clone(),
            relative: "typed.parquet".into(),
            format: InputFormat::Parquet,
            size: 0,
            remote: None,
        };
        let rows: Vec<String> = records(&file, ByteCounter::default(), DEFAULT_MAX_RECORD_BYTES)
            .unwrap()
            .map(|r| String::from_utf8(r.body.unwrap()).unwrap())
            .collect();
        let output = dir.path().join("out.parquet");
        write_parquet(&output, &rows, &input).unwrap();

        let back: Vec<RecordBatch> =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                File::open(&output).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        let schema = back[0].schema();
        assert_eq!(
            schema.field_with_name("when").unwrap().data_type(),
            &DataType::Timestamp(TimeUnit::Millisecond, None)
        );
        assert_eq!(
            schema.field_with_name("amount").unwrap().data_type(),
            &DataType::Decimal128(20, 4)
        );
        assert_eq!(
            back[0].column_by_name("when").unwrap().as_ref(),
            when.as_ref()
        );
        assert_eq!(
            back[0].column_by_name("amount").unwrap().as_ref(),
            amount.as_ref()
        );
    }

    /// Batches compressed apart and joined by the writer make one gzip member that a single-member
    /// decoder (which checks the CRC and the length) reads whole, and whose lines are the records in
    /// order, each in its own output.
    #[test]
    fn batched_gzip_output_is_one_valid_member_with_every_line_in_order() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let input = InputFile {
            path: dir.path().join("in.jsonl.gz"),
            relative: PathBuf::from("in.jsonl.gz"),
            format: InputFormat::JsonlGz,
            size: 0,
            remote: None,
        };
        let mut writer = ShardWriter::new(ShardPaths::new(&dir.path().join("out"), &input, 0));
        let text = "Il était une fois une ville au bord de la mer, où chaque matin les pêcheurs";
        let mut kept = Vec::new();
        let mut errors = Vec::new();
        for batch in 0..40 {
            let mut lines = Vec::new();
            for i in 0..(batch * 7 % 23) {
                let line = format!(r#"{{"id":"{batch}-{i}","text":"{text} {}"}}"#, batch * i);
                if i % 5 == 3 {
                    errors.push(line.clone());
                    lines.push((Destination::Errors, line));
                } else {
                    kept.push(line.clone());
                    lines.push((Destination::Kept, line));
                }
            }
            writer
                .write_batch(Batch::encode(&input, lines).unwrap())
                .unwrap();
        }
        let paths = ShardPaths::new(&dir.path().join("out"), &input, 0);
        assert_eq!(writer.finish().unwrap().len(), 2);
        for (path, want) in [(&paths.kept, &kept), (&paths.errors, &errors)] {
            let mut decoded = String::new();
            flate2::read::GzDecoder::new(File::open(path).unwrap())
                .read_to_string(&mut decoded)
                .unwrap();
            assert_eq!(
                decoded,
                want.iter().map(|l| format!("{l}\n")).collect::<String>()
            );
        }
        // Compressed on its own per batch, the text still shrinks as gzip would make it.
        let size = std::fs::metadata(&paths.kept).unwrap().len();
        let plain: usize = kept.iter().map(|l| l.len() + 1).sum();
        assert!(size * 4 < plain as u64, "{size} of {plain}");
    }
}
