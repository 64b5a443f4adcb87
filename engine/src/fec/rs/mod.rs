//! Reed-Solomon codes over GF(2^m), RFC 5510: FEC Encoding ID 2 (m = 2..=16), ID 5 (m = 8) and
//! ID 129 with FEC Instance ID 0 (m = 8, as flute runs it).
//!
//! A [`ReedSolomon`] is one (m, k, n, E) code: it validates its parameters (they come from the
//! network), encodes a source block into repair symbols in a caller's buffer, and makes
//! [`RsBlockDecoder`]s that recover missing source symbols in place. Cloning is cheap (shared
//! state), so a sender or receiver can keep one per block shape.

mod decoder;
mod elements;
mod matrix;

use std::sync::{Arc, OnceLock};

use super::FecError;
use super::gf::Field;
use super::{gf256, gf65536};
use crate::wire::{FecEncodingId, Oti};

pub use decoder::RsBlockDecoder;

/// One Reed-Solomon code: field GF(2^m), k source symbols, up to n encoding symbols of E bytes.
#[derive(Debug, Clone)]
pub struct ReedSolomon {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    field: &'static Field,
    k: u32,
    n: u32,
    symbol_len: usize,
    /// Row-major (n − k) × k coefficients of the repair symbols, computed on first encode (a
    /// receiver never needs them).
    repair_coefs: OnceLock<Vec<u16>>,
    /// `matrix::log_source_products`, computed on first decode (a sender never needs them).
    log_source_products: OnceLock<Vec<u32>>,
    /// GF(2^8) only: row r − k of the generator's repair part, each computed when a decode
    /// first needs it (see [`ReedSolomon::small_erasure_plan`]).
    repair_rows: Vec<OnceLock<Vec<u16>>>,
}

/// Up to this many erasures in a GF(2^8) block, a decode inverts the e × e part of the repair
/// rows (O(e³), with the rows computed once per code) instead of interpolating (O(k·e) per
/// block), which costs less while e is small (`cargo bench -p xflute-bench --bench fec`).
const SMALL_ERASURES: usize = 24;

impl ReedSolomon {
    /// The code over GF(2^m) with k source symbols and n encoding symbols of `symbol_len` bytes.
    ///
    /// Errors: m outside 2..=16, E = 0, k = 0, k > n, n > 2^m − 1, E·8 not a multiple of m,
    /// or a block of k·E (or (n − k)·E) bytes that does not fit a `usize`.
    pub fn new(m: u8, k: u32, n: u32, symbol_len: usize) -> Result<ReedSolomon, FecError> {
        let field = Field::get(m)?;
        if symbol_len == 0 {
            return Err(FecError::ZeroSymbolLength);
        }
        if k == 0 {
            return Err(FecError::ZeroSourceSymbols);
        }
        if k > n {
            return Err(FecError::MoreSourceThanEncodingSymbols { k, n });
        }
        if n as usize > field.order() {
            return Err(FecError::TooManyEncodingSymbols { n, m });
        }
        let bits = symbol_len.checked_mul(8).ok_or(FecError::Overflow {
            nb_symbols: 1,
            symbol_len,
        })?;
        if !bits.is_multiple_of(usize::from(m)) {
            return Err(FecError::SymbolLengthNotMultipleOfM { symbol_len, m });
        }
        (n as usize)
            .checked_mul(symbol_len)
            .ok_or(FecError::Overflow {
                nb_symbols: n.into(),
                symbol_len,
            })?;
        Ok(ReedSolomon {
            inner: Arc::new(Inner {
                field,
                k,
                n,
                symbol_len,
                repair_coefs: OnceLock::new(),
                log_source_products: OnceLock::new(),
                repair_rows: if m == 8 {
                    (k..n).map(|_| OnceLock::new()).collect()
                } else {
                    Vec::new()
                },
            }),
        })
    }

    /// The field size of a Reed-Solomon scheme's OTI: ID 5 and ID 129 / FEC Instance ID 0 are
    /// GF(2^8) (RFC 5510 §5, flute's under-specified RS); ID 2 carries m (0 meaning 8).
    pub fn field_size_of(oti: &Oti) -> Result<u8, FecError> {
        match oti.fec_encoding_id {
            FecEncodingId::ReedSolomonGf28 => Ok(8),
            FecEncodingId::ReedSolomonGf28UnderSpecified if oti.fec_instance_id == 0 => Ok(8),
            FecEncodingId::ReedSolomonGf2m => {
                oti.scheme_specific
                    .effective_m()
                    .ok_or(FecError::UnsupportedScheme {
                        fec_encoding_id: oti.fec_encoding_id.into(),
                        fec_instance_id: oti.fec_instance_id,
                    })
            }
            id => Err(FecError::UnsupportedScheme {
                fec_encoding_id: id.into(),
                fec_instance_id: oti.fec_instance_id,
            }),
        }
    }

    /// The code of one source block of `k` symbols and `n` encoding symbols under `oti`.
    pub fn for_oti(oti: &Oti, k: u32, n: u32) -> Result<ReedSolomon, FecError> {
        let m = Self::field_size_of(oti)?;
        ReedSolomon::new(m, k, n, usize::from(oti.encoding_symbol_length))
    }

    /// m.
    pub fn m(&self) -> u8 {
        self.inner.field.m()
    }

    /// k: source symbols per block.
    pub fn nb_source_symbols(&self) -> u32 {
        self.inner.k
    }

    /// n: encoding symbols per block (ESIs 0..n).
    pub fn nb_encoding_symbols(&self) -> u32 {
        self.inner.n
    }

    /// n − k.
    pub fn nb_repair_symbols(&self) -> u32 {
        self.inner.n - self.inner.k
    }

    /// E, in bytes.
    pub fn symbol_len(&self) -> usize {
        self.inner.symbol_len
    }

    /// k·E: the length of a full source block (checked in `new`).
    pub fn source_block_len(&self) -> usize {
        self.inner.k as usize * self.inner.symbol_len
    }

    /// A decoder for one block of this code.
    pub fn decoder(&self) -> RsBlockDecoder {
        RsBlockDecoder::new(self.clone())
    }

    /// Checks that a source block or destination region is (k − 1)·E < len ≤ k·E bytes.
    pub(crate) fn check_block_len(&self, len: usize) -> Result<(), FecError> {
        super::error::check_block_len(len, self.inner.k, self.inner.symbol_len)
    }

    /// The decoding coefficients of one erasure pattern (see `matrix::decoding`).
    pub(crate) fn decoding_coefs(
        &self,
        received_sources: &[u32],
        missing: &[u32],
        repairs: &[u32],
    ) -> Vec<u16> {
        let field = self.inner.field;
        let lsp = self
            .inner
            .log_source_products
            .get_or_init(|| matrix::log_source_products(field, self.inner.k, self.inner.n));
        matrix::decoding(field, lsp, received_sources, missing, repairs)
    }

    fn log_source_products(&self) -> &[u32] {
        let (field, k, n) = (self.inner.field, self.inner.k, self.inner.n);
        self.inner
            .log_source_products
            .get_or_init(|| matrix::log_source_products(field, k, n))
    }

    /// How to decode a GF(2^8) block with few erasures in two steps, or `None` (another field,
    /// too many erasures) for [`Self::decoding_coefs`]. With M the missing sources, S the
    /// received ones and R the first |M| repairs, y_R = G[R][S]·x_S + A·x_M, A = G[R][M]:
    /// - step 1, rows over the points `received_sources` then `repairs`: y'_i = y_{R_i} +
    ///   Σ_{j∈S} G[R_i][j]·x_j, which is A·x_M (characteristic 2: subtraction is addition);
    /// - step 2, rows over the e values of step 1: x_M = A⁻¹·y'.
    ///
    /// A is invertible for any choice of rows and columns: every square submatrix of the
    /// repair part of a systematic MDS code is.
    pub(crate) fn small_erasure_plan(
        &self,
        received_sources: &[u32],
        missing: &[u32],
        repairs: &[u32],
    ) -> Option<(Vec<u16>, Vec<u16>)> {
        let e = missing.len();
        if self.m() != 8 || e > SMALL_ERASURES || repairs.len() != e {
            return None;
        }
        let field = self.inner.field;
        let k = self.inner.k;
        let rows: Vec<&[u16]> = repairs
            .iter()
            .map(|&r| {
                let cell = self.inner.repair_rows.get(r.checked_sub(k)? as usize)?;
                Some(
                    cell.get_or_init(|| {
                        matrix::repair_row(field, self.log_source_products(), k, r)
                    })
                    .as_slice(),
                )
            })
            .collect::<Option<_>>()?;
        let width = received_sources.len() + e;
        let mut step1 = Vec::with_capacity(e * width);
        for (i, row) in rows.iter().enumerate() {
            step1.extend(
                received_sources
                    .iter()
                    .map(|&j| row.get(j as usize).copied().unwrap_or(0)),
            );
            step1.extend((0..e).map(|c| u16::from(c == i)));
        }
        let a: Vec<u16> = rows
            .iter()
            .flat_map(|row| {
                missing
                    .iter()
                    .map(|&m| row.get(m as usize).copied().unwrap_or(0))
            })
            .collect();
        let inverse = matrix::invert(field, a, e)?;
        Some((step1, inverse))
    }

    fn repair_coefs(&self) -> &[u16] {
        self.inner.repair_coefs.get_or_init(|| {
            let points: Vec<u32> = (0..self.inner.k).collect();
            let targets: Vec<u32> = (self.inner.k..self.inner.n).collect();
            matrix::interpolation(self.inner.field, &points, &targets)
        })
    }

    /// dsts[r] = Σ_i coefs[r·|srcs| + i]·srcs[i] over GF(2^m), every slice E bytes (a shorter
    /// source counts as zero-padded). With m = 8 the kernels take all rows in one pass.
    pub(crate) fn combine_rows(&self, dsts: &mut [&mut [u8]], srcs: &[&[u8]], coefs: &[u16]) {
        let nb_srcs = srcs.len();
        match self.m() {
            8 => {
                let coefs: Vec<u8> = coefs.iter().map(|&c| c as u8).collect();
                gf256::dot_rows(dsts, srcs, &coefs);
            }
            16 => gf65536::dot_rows(dsts, srcs, coefs),
            _ => {
                for (dst, row) in dsts.iter_mut().zip(coefs.chunks(nb_srcs.max(1))) {
                    elements::dot(self.inner.field, dst, srcs, row);
                }
            }
        }
    }

    /// Encodes one source block into repair symbols ESI k, k + 1, … (RFC 5510 §8.2: computed
    /// once per block, written straight into the caller's buffer).
    ///
    /// `source_block` holds the k source symbols back to back; it may stop inside the last
    /// symbol (the last block of an object), which then counts as zero-padded (RFC 5510 §8.4).
    /// `repair` receives as many whole repair symbols as it holds, at most n − k.
    pub fn encode(&self, source_block: &[u8], repair: &mut [u8]) -> Result<(), FecError> {
        self.check_block_len(source_block.len())?;
        let e = self.inner.symbol_len;
        let max = self.nb_repair_symbols() as usize * e;
        if !repair.len().is_multiple_of(e) || repair.len() > max {
            return Err(FecError::BadRepairBufferLength {
                len: repair.len(),
                symbol_len: e,
                max,
            });
        }
        // A short last symbol is padded once here, so that kernels only see whole symbols.
        let mut sources: Vec<&[u8]> = source_block.chunks(e).collect();
        let padded_last: Vec<u8>;
        if let Some(last) = sources.last_mut().filter(|s| s.len() < e) {
            padded_last = padded(last, e);
            *last = &padded_last;
        }
        let mut targets: Vec<&mut [u8]> = repair.chunks_exact_mut(e).collect();
        let nb_coefs = targets.len() * self.inner.k as usize;
        let coefs = self.repair_coefs().get(..nb_coefs).unwrap_or_default();
        self.combine_rows(&mut targets, &sources, coefs);
        Ok(())
    }
}

/// The codes of one object's blocks over GF(2^m), by k: an object's blocks have at most two
/// lengths (RFC 5052 §9.1), so each code's tables are computed once per object, not per block.
#[derive(Debug, Clone)]
pub(crate) struct RsCodes {
    m: u8,
    symbol_len: usize,
    codes: Vec<ReedSolomon>,
}

impl RsCodes {
    /// No code yet, for symbols of `symbol_len` bytes over GF(2^m).
    pub(crate) fn new(m: u8, symbol_len: usize) -> Self {
        Self {
            m,
            symbol_len,
            codes: Vec::with_capacity(2),
        }
    }

    /// The code of blocks of `k` source symbols, built with `n` encoding symbols unless kept.
    pub(crate) fn get(&mut self, k: u32, n: u32) -> Result<&ReedSolomon, FecError> {
        let i = match self.codes.iter().position(|c| c.nb_source_symbols() == k) {
            Some(i) => i,
            None => {
                let code = ReedSolomon::new(self.m, k, n, self.symbol_len)?;
                if self.codes.len() >= 2 {
                    self.codes.remove(0);
                }
                self.codes.push(code);
                self.codes.len() - 1
            }
        };
        self.codes.get(i).ok_or(FecError::ZeroSourceSymbols)
    }
}

/// `symbol` followed by zeros up to `symbol_len` bytes.
pub(crate) fn padded(symbol: &[u8], symbol_len: usize) -> Vec<u8> {
    let mut padded = vec![0u8; symbol_len.max(symbol.len())];
    if let Some(prefix) = padded.get_mut(..symbol.len()) {
        prefix.copy_from_slice(symbol);
    }
    padded
}

#[cfg(test)]
mod tests;
