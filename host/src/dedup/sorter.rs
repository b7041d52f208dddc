//! External sort of fixed-size records within a memory budget: records are sorted in runs that fit the
//! budget, each run is written to a file, and the runs are merged with a heap. Bucket files of any size
//! sort this way, and the merge streams, so a stage's memory is the budget plus one buffer per run.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A record of a bucket file: fixed size, ordered by its fields.
pub trait Fixed: Ord + Copy {
    const SIZE: usize;
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(bytes: &[u8]) -> Self;
}

/// Reads fixed-size records from a file written with [`Fixed::encode`].
pub struct FixedReader<T> {
    reader: BufReader<File>,
    path: PathBuf,
    buf: Vec<u8>,
    _t: std::marker::PhantomData<T>,
}

impl<T: Fixed> FixedReader<T> {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let len = file.metadata()?.len();
        if len % T::SIZE as u64 != 0 {
            anyhow::bail!(
                "{} is truncated ({len} bytes is not a whole number of {}-byte records); rerun the stage that wrote it",
                path.display(),
                T::SIZE
            );
        }
        Ok(Self {
            reader: BufReader::with_capacity(1 << 16, file),
            path: path.to_path_buf(),
            buf: vec![0; T::SIZE],
            _t: Default::default(),
        })
    }
}

impl<T: Fixed> Iterator for FixedReader<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        match self.reader.read_exact(&mut self.buf) {
            Ok(()) => Some(Ok(T::decode(&self.buf))),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => None,
            Err(e) => Some(Err(
                anyhow::Error::new(e).context(format!("reading {}", self.path.display()))
            )),
        }
    }
}

/// Writes fixed-size records.
pub struct FixedWriter {
    writer: BufWriter<File>,
    path: PathBuf,
    buf: Vec<u8>,
}

impl FixedWriter {
    pub fn create(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            writer: BufWriter::with_capacity(1 << 16, file),
            path: path.to_path_buf(),
            buf: Vec::with_capacity(64),
        })
    }

    pub fn write<T: Fixed>(&mut self, record: &T) -> Result<()> {
        self.buf.clear();
        record.encode(&mut self.buf);
        self.writer
            .write_all(&self.buf)
            .with_context(|| format!("writing {}", self.path.display()))
    }

    /// Flushes the file; returns its path.
    pub fn finish(mut self) -> Result<PathBuf> {
        self.writer
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))?;
        Ok(self.path)
    }
}

/// Collects records and yields them sorted, spilling sorted runs to `scratch` beyond the budget.
pub struct ExternalSorter<T> {
    buffer: Vec<T>,
    capacity: usize,
    scratch: PathBuf,
    runs: Vec<PathBuf>,
}

impl<T: Fixed> ExternalSorter<T> {
    pub fn new(scratch: &Path, budget_bytes: usize) -> Self {
        let capacity = (budget_bytes / size_of::<T>().max(1)).max(1024);
        Self {
            buffer: Vec::new(),
            capacity,
            scratch: scratch.to_path_buf(),
            runs: Vec::new(),
        }
    }

    pub fn push(&mut self, record: T) -> Result<()> {
        self.buffer.push(record);
        if self.buffer.len() >= self.capacity {
            self.spill()?;
        }
        Ok(())
    }

    /// How many runs went to disk so far (0 when everything fit the budget).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> Result<()> {
        self.buffer.sort_unstable();
        let path = self.scratch.join(format!("run-{:05}.bin", self.runs.len()));
        let mut writer = FixedWriter::create(&path)?;
        for r in &self.buffer {
            writer.write(r)?;
        }
        writer.finish()?;
        self.buffer.clear();
        self.runs.push(path);
        Ok(())
    }

    /// Every record pushed, in order. Run files are deleted when the iterator is dropped.
    pub fn finish(mut self) -> Result<Sorted<T>> {
        if self.runs.is_empty() {
            self.buffer.sort_unstable();
            return Ok(Sorted {
                memory: std::mem::take(&mut self.buffer).into_iter(),
                readers: Vec::new(),
                heap: BinaryHeap::new(),
                runs: Vec::new(),
            });
        }
        if !self.buffer.is_empty() {
            self.spill()?;
        }
        let mut readers = Vec::new();
        let mut heap = BinaryHeap::new();
        for (i, path) in self.runs.iter().enumerate() {
            let mut reader = FixedReader::<T>::open(path)?;
            if let Some(first) = reader.next() {
                heap.push(Reverse((first?, i)));
            }
            readers.push(reader);
        }
        Ok(Sorted {
            memory: Vec::new().into_iter(),
            readers,
            heap,
            runs: std::mem::take(&mut self.runs),
        })
    }
}

/// The merged output of an [`ExternalSorter`].
pub struct Sorted<T> {
    memory: std::vec::IntoIter<T>,
    readers: Vec<FixedReader<T>>,
    heap: BinaryHeap<Reverse<(T, usize)>>,
    runs: Vec<PathBuf>,
}

impl<T: Fixed> Iterator for Sorted<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        if self.readers.is_empty() {
            return self.memory.next().map(Ok);
        }
        let Reverse((record, i)) = self.heap.pop()?;
        match self.readers[i].next() {
            Some(Ok(next)) => self.heap.push(Reverse((next, i))),
            Some(Err(e)) => return Some(Err(e)),
            None => {}
        }
        Some(Ok(record))
    }
}

impl<T> Drop for Sorted<T> {
    fn drop(&mut self) {
        for run in &self.runs {
            let _ = std::fs::remove_file(run);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    struct Pair(u64, u32);

    impl Fixed for Pair {
        const SIZE: usize = 12;
        fn encode(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.0.to_le_bytes());
            out.extend_from_slice(&self.1.to_le_bytes());
        }
        fn decode(b: &[u8]) -> Self {
            Pair(
                u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
                u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")),
            )
        }
    }

    fn records(n: u64) -> Vec<Pair> {
        let mut state = 12345u64;
        (0..n)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                Pair(state >> 40, i as u32)
            })
            .collect()
    }

    #[test]
    fn spilled_runs_merge_to_the_same_order_as_an_in_memory_sort() {
        let dir = tempfile::tempdir().unwrap();
        let input = records(10_000);
        // 1024 records per run (the floor): 10 runs.
        let mut sorter = ExternalSorter::new(dir.path(), 1);
        for r in &input {
            sorter.push(*r).unwrap();
        }
        assert_eq!(sorter.runs(), 9);
        let merged: Vec<Pair> = sorter.finish().unwrap().map(Result::unwrap).collect();
        let mut expected = input;
        expected.sort();
        assert_eq!(merged, expected);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "runs are deleted"
        );
    }

    #[test]
    fn a_truncated_file_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bin");
        std::fs::write(&path, [0u8; 13]).unwrap();
        let err = FixedReader::<Pair>::open(&path).err().unwrap().to_string();
        assert!(err.contains("x.bin is truncated"), "{err}");
    }
}
