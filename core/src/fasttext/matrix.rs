//! The model's two matrices, dense or product-quantized, and the two operations prediction needs: the
//! average of some input rows, and the dot product of a vector with an output row.
//!
//! Facts from facebookresearch/fastText `src/densematrix.cc` (`load`, `addRowToVector`, `dotRow`,
//! `averageRowsToVector`), `src/quantmatrix.cc` (`load`, `addRowToVector`, `dotRow`) and
//! `src/productquantizer.cc` (`load`, `get_centroids`, `addcode`, `mulcode`):
//!
//! - A dense matrix is `m: i64`, `n: i64`, then `m * n` floats, row-major.
//! - A quantized matrix is `qnorm: bool`, `m: i64`, `n: i64`, `codesize: i32`, `codesize` one-byte codes,
//!   a product quantizer, and with `qnorm` one norm code per row and a one-dimensional quantizer for the
//!   norms. A row is the concatenation, over the `nsubq` sub-quantizers, of the centroid its code picks
//!   (`dsub` wide, the last one `lastdsub`), scaled by the row's quantized norm.
//! - A product quantizer is `dim`, `nsubq`, `dsub`, `lastdsub` (i32 each) and `dim * 256` floats of
//!   centroids (8-bit codes); sub-quantizer `m`'s centroid `i` starts at `(m * 256 + i) * dsub`, and for the
//!   last one at `m * 256 * dsub + i * lastdsub`.
//! - Averaging adds the rows in order in single precision, then multiplies by `1 / rows` (rounded to a
//!   float); dot products accumulate in single precision in index order.

use super::ModelError;
use super::reader::Reader;

/// Number of centroids of each sub-quantizer: fastText's codes are 8 bits (`ProductQuantizer::ksub_`).
const KSUB: usize = 256;

/// A product quantizer as loaded.
struct ProductQuantizer {
    nsubq: usize,
    dsub: usize,
    lastdsub: usize,
    centroids: Vec<f32>,
}

impl ProductQuantizer {
    fn load(r: &mut Reader<'_>, what: &str) -> Result<Self, ModelError> {
        let dim = r.i32(what)?;
        let nsubq = r.i32(what)?;
        let dsub = r.i32(what)?;
        let lastdsub = r.i32(what)?;
        let (Ok(dim), Ok(nsubq), Ok(dsub), Ok(lastdsub)) = (
            usize::try_from(dim),
            usize::try_from(nsubq),
            usize::try_from(dsub),
            usize::try_from(lastdsub),
        ) else {
            return Err(ModelError::new(format!(
                "{what}: negative size (dim {dim}, nsubq {nsubq}, dsub {dsub}, lastdsub {lastdsub})"
            )));
        };
        // The layout fastText's constructor makes: nsubq - 1 full sub-vectors and one of lastdsub.
        let consistent = nsubq >= 1
            && (1..=dsub).contains(&lastdsub)
            && (nsubq - 1)
                .checked_mul(dsub)
                .and_then(|v| v.checked_add(lastdsub))
                == Some(dim);
        if !consistent {
            return Err(ModelError::new(format!(
                "{what}: sub-quantizers do not tile the dimension (dim {dim}, nsubq {nsubq}, dsub {dsub}, lastdsub {lastdsub})"
            )));
        }
        let n = dim
            .checked_mul(KSUB)
            .ok_or_else(|| ModelError::new(format!("{what}: dimension {dim} is too large")))?;
        let centroids = r.f32s(n, what)?;
        Ok(Self {
            nsubq,
            dsub,
            lastdsub,
            centroids,
        })
    }

    /// Centroid `code` of sub-quantizer `m` (`get_centroids`), `(start, width)` in `centroids`.
    fn centroid(&self, m: usize, code: u8) -> &[f32] {
        let code = usize::from(code);
        let (start, width) = if m == self.nsubq - 1 {
            (m * KSUB * self.dsub + code * self.lastdsub, self.lastdsub)
        } else {
            ((m * KSUB + code) * self.dsub, self.dsub)
        };
        &self.centroids[start..start + width]
    }

    /// `x += alpha * row` for the row encoded by `codes` (`addcode`).
    fn add_code(&self, x: &mut [f32], codes: &[u8], alpha: f32) {
        for (m, &code) in codes.iter().enumerate() {
            let base = m * self.dsub;
            for (xi, c) in x[base..].iter_mut().zip(self.centroid(m, code)) {
                *xi += alpha * c;
            }
        }
    }

    /// `alpha * (x . row)` for the row encoded by `codes` (`mulcode`).
    fn mul_code(&self, x: &[f32], codes: &[u8], alpha: f32) -> f32 {
        let mut res = 0.0f32;
        for (m, &code) in codes.iter().enumerate() {
            let base = m * self.dsub;
            for (xi, c) in x[base..].iter().zip(self.centroid(m, code)) {
                res += xi * c;
            }
        }
        res * alpha
    }
}

/// A quantized matrix as loaded.
struct Quantized {
    codes: Vec<u8>,
    pq: ProductQuantizer,
    /// With `qnorm`: each row's norm code, and the quantizer of the norms.
    norms: Option<(Vec<u8>, ProductQuantizer)>,
}

impl Quantized {
    fn row_codes(&self, i: usize) -> &[u8] {
        &self.codes[i * self.pq.nsubq..(i + 1) * self.pq.nsubq]
    }

    fn norm(&self, i: usize) -> f32 {
        match &self.norms {
            Some((codes, npq)) => npq.centroid(0, codes[i])[0],
            None => 1.0,
        }
    }
}

enum Storage {
    Dense(Vec<f32>),
    Quantized(Quantized),
}

/// One of the model's matrices.
pub(super) struct Matrix {
    rows: usize,
    cols: usize,
    storage: Storage,
}

impl Matrix {
    /// Reads a matrix, quantized (`QuantMatrix::load`) or dense (`DenseMatrix::load`); `what` names it in
    /// errors.
    pub(super) fn load(
        r: &mut Reader<'_>,
        quantized: bool,
        what: &str,
    ) -> Result<Self, ModelError> {
        if !quantized {
            let rows = Reader::count(r.i64(what)?, what)?;
            let cols = Reader::count(r.i64(what)?, what)?;
            let n = rows.checked_mul(cols).ok_or_else(|| {
                ModelError::new(format!("{what}: {rows} x {cols} does not fit in memory"))
            })?;
            let data = r.f32s(n, what)?;
            return Ok(Self {
                rows,
                cols,
                storage: Storage::Dense(data),
            });
        }
        let qnorm = r.bool(what)?;
        let rows = Reader::count(r.i64(what)?, what)?;
        let cols = Reader::count(r.i64(what)?, what)?;
        let codesize = Reader::count(r.i32(what)?.into(), what)?;
        let codes = r.take(codesize, what)?.to_vec();
        let pq = ProductQuantizer::load(r, what)?;
        if rows.checked_mul(pq.nsubq) != Some(codesize) {
            return Err(ModelError::new(format!(
                "{what}: {codesize} codes do not encode {rows} rows of {cols} columns in {} sub-quantizers",
                pq.nsubq
            )));
        }
        let pq_dim = (pq.nsubq - 1) * pq.dsub + pq.lastdsub;
        if pq_dim != cols {
            return Err(ModelError::new(format!(
                "{what}: the quantizer is {pq_dim} wide, the matrix {cols}"
            )));
        }
        let norms = if qnorm {
            let norm_codes = r.take(rows, what)?.to_vec();
            let npq = ProductQuantizer::load(r, what)?;
            if npq.nsubq != 1 || npq.dsub != 1 || npq.lastdsub != 1 {
                return Err(ModelError::new(format!(
                    "{what}: the norm quantizer is not one-dimensional"
                )));
            }
            Some((norm_codes, npq))
        } else {
            None
        };
        Ok(Self {
            rows,
            cols,
            storage: Storage::Quantized(Quantized { codes, pq, norms }),
        })
    }

    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    pub(super) fn cols(&self) -> usize {
        self.cols
    }

    /// `x` = the mean of the given rows (`averageRowsToVector`). Every row index must be below
    /// [`Matrix::rows`] (the model checks this once, against the dictionary, when it loads).
    pub(super) fn average_rows(&self, x: &mut [f32], rows: &[i32]) {
        x.fill(0.0);
        for &row in rows {
            let i = row as usize;
            match &self.storage {
                Storage::Dense(data) => {
                    let r = &data[i * self.cols..(i + 1) * self.cols];
                    for (xi, v) in x.iter_mut().zip(r) {
                        *xi += v;
                    }
                }
                Storage::Quantized(q) => q.pq.add_code(x, q.row_codes(i), q.norm(i)),
            }
        }
        // `x.mul(1.0 / rows.size())`: the reciprocal in double precision, rounded to a float.
        let scale = (1.0f64 / rows.len() as f64) as f32;
        for xi in x.iter_mut() {
            *xi *= scale;
        }
    }

    /// `x . row i` (`dotRow`), `i < rows()`.
    pub(super) fn dot_row(&self, x: &[f32], i: usize) -> f32 {
        match &self.storage {
            Storage::Dense(data) => {
                let mut d = 0.0f32;
                for (xi, v) in x.iter().zip(&data[i * self.cols..(i + 1) * self.cols]) {
                    d += v * xi;
                }
                d
            }
            Storage::Quantized(q) => q.pq.mul_code(x, q.row_codes(i), q.norm(i)),
        }
    }
}
