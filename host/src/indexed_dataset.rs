//! Megatron-LM's indexed dataset: the `.bin` + `.idx` pair its GPT datasets read (`MMIDIDX`).
//!
//! The format, as `megatron/core/datasets/indexed_dataset.py` of NVIDIA/Megatron-LM defines it (read at
//! commit 00caa53af30912914981c86f39db123961678bbd: `_IndexWriter`, `_IndexReader`, `DType`,
//! `IndexedDatasetBuilder`):
//!
//! - `.bin`: the token ids of every sequence, back to back, in the dataset's dtype, little-endian, no
//!   header.
//! - `.idx`, little-endian throughout:
//!   1. the 9 bytes `MMIDIDX\x00\x00`;
//!   2. the version, `1`, as u64;
//!   3. the dtype code, u8 (`DType`: uint8 1, int8 2, int16 3, int32 4, int64 5, float64 6, float32 7,
//!      uint16 8);
//!   4. the sequence count, u64;
//!   5. the document count, u64: the length of the document index below, which starts with 0, so one
//!      more than the number of documents;
//!   6. the length of each sequence in tokens, int32;
//!   7. the byte offset of each sequence in `.bin`, int64;
//!   8. the document index, int64: 0, then after each document the number of sequences so far.
//!
//! The dtype follows `DType.optimal_dtype(vocab_size)`: uint16 when the vocabulary has fewer than 65,500
//! entries, else int32. `tools/preprocess_data.py` (without `--split-sentences`) writes each document as
//! one sequence, which is what [`DatasetWriter::add_document`] does; multimodal sequence modes are not
//! written (Megatron reads them only when told the dataset is multimodal).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// The first bytes of every `.idx`.
pub const INDEX_HEADER: &[u8; 9] = b"MMIDIDX\x00\x00";
/// The only version Megatron-LM writes and reads.
pub const INDEX_VERSION: u64 = 1;
/// `DType.optimal_dtype`: below this many token ids, uint16.
pub const UINT16_BELOW: u64 = 65_500;

/// The type of the token ids in `.bin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Uint16,
    Int32,
}

impl TokenType {
    /// Megatron's choice for a vocabulary of `size` ids.
    pub fn for_vocabulary(size: u64) -> Self {
        if size < UINT16_BELOW {
            Self::Uint16
        } else {
            Self::Int32
        }
    }

    /// Its `DType` code in the `.idx`.
    pub fn code(self) -> u8 {
        match self {
            Self::Uint16 => 8,
            Self::Int32 => 4,
        }
    }

    /// Its NumPy name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Uint16 => "uint16",
            Self::Int32 => "int32",
        }
    }

    /// Bytes per token id.
    pub fn size(self) -> u64 {
        match self {
            Self::Uint16 => 2,
            Self::Int32 => 4,
        }
    }

    fn push(self, id: u32, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Self::Uint16 => match u16::try_from(id) {
                Ok(v) => out.extend_from_slice(&v.to_le_bytes()),
                Err(_) => bail!("token id {id} does not fit uint16"),
            },
            Self::Int32 => match i32::try_from(id) {
                Ok(v) => out.extend_from_slice(&v.to_le_bytes()),
                Err(_) => bail!("token id {id} does not fit int32"),
            },
        }
        Ok(())
    }
}

/// Writes one `.bin` + `.idx` pair, one document (one sequence) at a time. Both files are written under
/// temporary names and renamed into place by [`DatasetWriter::finish`], so a pair that exists is complete.
pub struct DatasetWriter {
    dtype: TokenType,
    bin: BufWriter<File>,
    bin_tmp: PathBuf,
    bin_path: PathBuf,
    idx_path: PathBuf,
    lengths: Vec<i32>,
    tokens: u64,
    buffer: Vec<u8>,
}

/// `prefix` + `.bin` / `.idx`, as Megatron's `get_bin_path` / `get_idx_path`.
pub fn paths(prefix: &Path) -> (PathBuf, PathBuf) {
    let with = |ext: &str| {
        let mut name = prefix.as_os_str().to_os_string();
        name.push(ext);
        PathBuf::from(name)
    };
    (with(".bin"), with(".idx"))
}

fn tmp(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".tmp");
    PathBuf::from(name)
}

impl DatasetWriter {
    /// Starts the pair `prefix.bin` / `prefix.idx`.
    pub fn create(prefix: &Path, dtype: TokenType) -> Result<Self> {
        let (bin_path, idx_path) = paths(prefix);
        if let Some(dir) = bin_path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let bin_tmp = tmp(&bin_path);
        let bin = BufWriter::with_capacity(
            1 << 20,
            File::create(&bin_tmp).with_context(|| format!("creating {}", bin_tmp.display()))?,
        );
        Ok(Self {
            dtype,
            bin,
            bin_tmp,
            bin_path,
            idx_path,
            lengths: Vec::new(),
            tokens: 0,
            buffer: Vec::new(),
        })
    }

    /// Appends one document as one sequence.
    pub fn add_document(&mut self, ids: &[u32]) -> Result<()> {
        let length = i32::try_from(ids.len())
            .with_context(|| format!("a document of {} tokens does not fit int32", ids.len()))?;
        self.buffer.clear();
        for &id in ids {
            self.dtype.push(id, &mut self.buffer)?;
        }
        self.bin
            .write_all(&self.buffer)
            .with_context(|| format!("writing {}", self.bin_tmp.display()))?;
        self.lengths.push(length);
        self.tokens += ids.len() as u64;
        Ok(())
    }

    /// Documents added so far.
    pub fn documents(&self) -> usize {
        self.lengths.len()
    }

    /// Tokens added so far.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Writes the index and puts both files in place; returns `[.bin, .idx]`.
    pub fn finish(self) -> Result<Vec<PathBuf>> {
        let Self {
            dtype,
            bin,
            bin_tmp,
            bin_path,
            idx_path,
            lengths,
            ..
        } = self;
        bin.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|f| f.sync_all())
            .with_context(|| format!("writing {}", bin_tmp.display()))?;
        let index = index_bytes(dtype, &lengths);
        let idx_tmp = tmp(&idx_path);
        std::fs::write(&idx_tmp, index)
            .with_context(|| format!("writing {}", idx_tmp.display()))?;
        std::fs::rename(&bin_tmp, &bin_path)
            .with_context(|| format!("renaming {} into place", bin_tmp.display()))?;
        std::fs::rename(&idx_tmp, &idx_path)
            .with_context(|| format!("renaming {} into place", idx_tmp.display()))?;
        Ok(vec![bin_path, idx_path])
    }
}

/// The `.idx` of a dataset whose documents are one sequence each, of these lengths.
pub fn index_bytes(dtype: TokenType, lengths: &[i32]) -> Vec<u8> {
    let n = lengths.len();
    let mut out = Vec::with_capacity(34 + n * (4 + 8 + 8) + 8);
    out.extend_from_slice(INDEX_HEADER);
    out.extend_from_slice(&INDEX_VERSION.to_le_bytes());
    out.push(dtype.code());
    out.extend_from_slice(&(n as u64).to_le_bytes());
    out.extend_from_slice(&(n as u64 + 1).to_le_bytes());
    for length in lengths {
        out.extend_from_slice(&length.to_le_bytes());
    }
    let mut pointer = 0i64;
    for &length in lengths {
        out.extend_from_slice(&pointer.to_le_bytes());
        pointer += i64::from(length) * dtype.size() as i64;
    }
    for document in 0..=n as i64 {
        out.extend_from_slice(&document.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_follows_megatrons_optimal_dtype() {
        assert_eq!(TokenType::for_vocabulary(50_257), TokenType::Uint16);
        assert_eq!(TokenType::for_vocabulary(65_499), TokenType::Uint16);
        assert_eq!(TokenType::for_vocabulary(65_500), TokenType::Int32);
        assert_eq!(TokenType::for_vocabulary(128_256), TokenType::Int32);
        assert_eq!((TokenType::Uint16.code(), TokenType::Int32.code()), (8, 4));
    }

    #[test]
    fn index_of_two_documents_byte_by_byte() {
        // Documents of 3 and 2 uint16 tokens: pointers 0 and 6; document index 0, 1, 2.
        let mut expected = b"MMIDIDX\0\0".to_vec();
        expected.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // version
        expected.push(8); // uint16
        expected.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0]); // sequences
        expected.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0]); // document index entries
        expected.extend_from_slice(&[3, 0, 0, 0, 2, 0, 0, 0]); // lengths, int32
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]); // pointers
        for d in 0u8..3 {
            expected.extend_from_slice(&[d, 0, 0, 0, 0, 0, 0, 0]);
        }
        assert_eq!(index_bytes(TokenType::Uint16, &[3, 2]), expected);
    }

    #[test]
    fn a_written_pair_holds_the_ids_and_refuses_what_does_not_fit() {
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("t-00000");
        let mut w = DatasetWriter::create(&prefix, TokenType::Int32).unwrap();
        w.add_document(&[1, 70_000, 2]).unwrap();
        w.add_document(&[5]).unwrap();
        assert_eq!((w.documents(), w.tokens()), (2, 4));
        let files = w.finish().unwrap();
        let bin = std::fs::read(&files[0]).unwrap();
        let ids: Vec<i32> = bin
            .chunks(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(ids, vec![1, 70_000, 2, 5]);
        assert_eq!(
            std::fs::read(&files[1]).unwrap(),
            index_bytes(TokenType::Int32, &[3, 1])
        );
        let mut small = DatasetWriter::create(&dir.path().join("u"), TokenType::Uint16).unwrap();
        assert!(small.add_document(&[70_000]).is_err());
    }
}
