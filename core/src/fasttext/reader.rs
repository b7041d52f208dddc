//! A bounds-checked little-endian reader over the bytes of a model file.
//!
//! fastText writes its models with raw `ostream::write` calls of native-endian integers and floats (every
//! released model is little-endian). Every read here checks that the bytes are there and says what it was
//! reading when they are not, so a truncated file is an error naming the field, never a panic; and every
//! array's length is checked against the bytes left before anything is allocated, so a corrupt length
//! cannot make the reader ask for gigabytes.

use super::ModelError;

/// A cursor over the model's bytes.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Bytes not read yet.
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// The next `n` bytes, for the field `what`.
    pub(super) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ModelError> {
        if n > self.remaining() {
            return Err(ModelError::new(format!(
                "truncated: {what} needs {n} bytes at offset {}, the file has {} left",
                self.pos,
                self.remaining()
            )));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ModelError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self, what: &str) -> Result<u8, ModelError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A C++ `bool` written with `write((char*)&b, sizeof(bool))`: one byte, 0 or 1.
    pub(super) fn bool(&mut self, what: &str) -> Result<bool, ModelError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(ModelError::new(format!(
                "{what}: expected a boolean byte (0 or 1), found {other}"
            ))),
        }
    }

    pub(super) fn i32(&mut self, what: &str) -> Result<i32, ModelError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    pub(super) fn i64(&mut self, what: &str) -> Result<i64, ModelError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    pub(super) fn f64(&mut self, what: &str) -> Result<f64, ModelError> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    /// A count that must be non-negative (fastText stores sizes as signed integers).
    pub(super) fn count(value: i64, what: &str) -> Result<usize, ModelError> {
        usize::try_from(value)
            .map_err(|_| ModelError::new(format!("{what}: expected a count, found {value}")))
    }

    /// `n` floats, after checking that `n * 4` bytes are left.
    pub(super) fn f32s(&mut self, n: usize, what: &str) -> Result<Vec<f32>, ModelError> {
        let len = n
            .checked_mul(4)
            .ok_or_else(|| ModelError::new(format!("{what}: {n} floats do not fit in memory")))?;
        let raw = self.take(len, what)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Bytes up to (not including) the next NUL, which is consumed: a dictionary word.
    pub(super) fn c_string(&mut self, what: &str) -> Result<&'a [u8], ModelError> {
        let rest = &self.bytes[self.pos..];
        let Some(end) = rest.iter().position(|&b| b == 0) else {
            return Err(ModelError::new(format!(
                "truncated: {what} at offset {} has no terminating NUL",
                self.pos
            )));
        };
        self.pos += end + 1;
        Ok(&rest[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reads_name_the_field_instead_of_panicking() {
        let mut r = Reader::new(&[1, 0, 0]);
        let err = r.i32("dictionary size").unwrap_err();
        assert!(err.to_string().contains("dictionary size"), "{err}");
        assert!(r.f32s(usize::MAX, "matrix").is_err());
        assert!(Reader::new(b"word").c_string("word").is_err());
        let mut r = Reader::new(&[2]);
        assert!(r.bool("flag").is_err());
    }
}
