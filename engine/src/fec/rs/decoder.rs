//! In-place Reed-Solomon block decoding (RFC 5510 §8.3 with Rizzo's matrix).
//!
//! The receiver writes each received source symbol straight to its final offset in the
//! destination (the object's mmap'd file) and only tells the decoder its ESI; repair symbols
//! (ESI ≥ k) are copied into the decoder's per-block scratch. Once k distinct encoding symbols
//! are known, [`RsBlockDecoder::decode`] computes the coefficients for this block's erasure
//! pattern once, and writes the missing source symbols directly into the destination.

use super::{ReedSolomon, padded};
use crate::fec::FecError;

/// Decoding state of one source block.
#[derive(Debug, Clone)]
pub struct RsBlockDecoder {
    code: ReedSolomon,
    /// One bit per ESI < n.
    received: Vec<u64>,
    nb_received: u32,
    /// Repair symbols, back to back, in arrival order; at most k of them are kept.
    repair: Vec<u8>,
    repair_esis: Vec<u32>,
    decoded: bool,
}

impl RsBlockDecoder {
    /// A decoder for one block of `code`, with nothing received.
    pub fn new(code: ReedSolomon) -> RsBlockDecoder {
        let words = (code.nb_encoding_symbols() as usize).div_ceil(64);
        RsBlockDecoder {
            code,
            received: vec![0; words],
            nb_received: 0,
            repair: Vec::new(),
            repair_esis: Vec::new(),
            decoded: false,
        }
    }

    /// The code this decoder decodes.
    pub fn code(&self) -> &ReedSolomon {
        &self.code
    }

    /// Forgets everything received, keeping the scratch allocation for the next block.
    pub fn reset(&mut self) {
        self.received.fill(0);
        self.nb_received = 0;
        self.repair.clear();
        self.repair_esis.clear();
        self.decoded = false;
    }

    fn is_received(&self, esi: u32) -> bool {
        self.received
            .get(esi as usize / 64)
            .is_some_and(|w| w >> (esi % 64) & 1 != 0)
    }

    /// Marks `esi` received; false if it already was.
    fn mark(&mut self, esi: u32) -> bool {
        let Some(word) = self.received.get_mut(esi as usize / 64) else {
            return false;
        };
        let bit = 1u64 << (esi % 64);
        if *word & bit != 0 {
            return false;
        }
        *word |= bit;
        self.nb_received += 1;
        true
    }

    /// Records that source symbol `esi` (< k) has been written by the caller at its place in the
    /// destination. Returns whether it is new.
    pub fn source_received(&mut self, esi: u32) -> Result<bool, FecError> {
        let k = self.code.nb_source_symbols();
        if esi >= k {
            return Err(FecError::EsiOutOfRange {
                esi,
                first: 0,
                end: k,
            });
        }
        Ok(self.mark(esi))
    }

    /// Keeps a copy of repair symbol `esi` (k ≤ esi < n, exactly E bytes) in the scratch.
    /// Returns whether it was kept: a duplicate, or a symbol arriving when k distinct symbols are
    /// already known, is not.
    pub fn push_repair(&mut self, esi: u32, symbol: &[u8]) -> Result<bool, FecError> {
        let (k, n) = (
            self.code.nb_source_symbols(),
            self.code.nb_encoding_symbols(),
        );
        if esi < k || esi >= n {
            return Err(FecError::EsiOutOfRange {
                esi,
                first: k,
                end: n,
            });
        }
        let symbol_len = self.code.symbol_len();
        if symbol.len() != symbol_len {
            return Err(FecError::BadSymbolLength {
                len: symbol.len(),
                symbol_len,
            });
        }
        if self.decoded || self.nb_received >= k || self.is_received(esi) {
            return Ok(false);
        }
        self.mark(esi);
        if self.repair.capacity() == 0 {
            let useful = usize::try_from(self.max_scratch_bytes()).unwrap_or(0);
            self.repair.reserve_exact(useful);
        }
        self.repair.extend_from_slice(symbol);
        self.repair_esis.push(esi);
        Ok(true)
    }

    /// Bytes of repair symbols this decoder may keep: the min(k, n − k) a decode can use.
    pub fn max_scratch_bytes(&self) -> u64 {
        let (k, n) = (
            self.code.nb_source_symbols(),
            self.code.nb_encoding_symbols(),
        );
        u64::from(k.min(n - k)).saturating_mul(self.code.symbol_len() as u64)
    }

    /// What decoding the block now would cost, in symbol bytes combined: each of the e missing
    /// source symbols is a combination of k symbols of E bytes (e·k·E), after per-code tables of
    /// k·n field elements (counted as 2·k·n).
    pub fn decode_cost(&self) -> u64 {
        let (k, n) = (
            u64::from(self.code.nb_source_symbols()),
            u64::from(self.code.nb_encoding_symbols()),
        );
        let missing = self.missing_source_esis().count() as u64;
        missing
            .saturating_mul(k)
            .saturating_mul(self.code.symbol_len() as u64)
            .saturating_add(k.saturating_mul(n).saturating_mul(2))
    }

    /// Distinct encoding symbols known so far.
    pub fn nb_received(&self) -> u32 {
        self.nb_received
    }

    /// Whether k distinct encoding symbols are known (RS is MDS: any k of n decode).
    pub fn is_decodable(&self) -> bool {
        self.decoded || self.nb_received >= self.code.nb_source_symbols()
    }

    /// Whether [`decode`](Self::decode) has completed for this block.
    pub fn is_decoded(&self) -> bool {
        self.decoded
    }

    /// The ESIs of the source symbols not received (nor recovered yet).
    pub fn missing_source_esis(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.code.nb_source_symbols()).filter(|&esi| !self.decoded && !self.is_received(esi))
    }

    /// Recovers the missing source symbols into `block`, the destination region of this source
    /// block, which already holds every received source symbol at its offset (ESI·E). `block`
    /// may end inside the last symbol (the last block of an object): that symbol counts as
    /// zero-padded and only its first bytes are written.
    pub fn decode(&mut self, block: &mut [u8]) -> Result<(), FecError> {
        self.code.check_block_len(block.len())?;
        if self.decoded {
            return Ok(());
        }
        let k = self.code.nb_source_symbols();
        if self.nb_received < k {
            return Err(FecError::NotEnoughSymbols {
                received: self.nb_received,
                k,
            });
        }
        let missing: Vec<u32> = self.missing_source_esis().collect();
        if missing.is_empty() {
            self.decoded = true;
            return Ok(());
        }
        let e = self.code.symbol_len();
        // The k points: every received source symbol, then as many repair symbols as missing.
        let repair_esis = self.repair_esis.get(..missing.len()).unwrap_or_default();
        let received: Vec<u32> = (0..k).filter(|&esi| self.is_received(esi)).collect();
        let plan = self
            .code
            .small_erasure_plan(&received, &missing, repair_esis);
        let lagrange;
        let coefs: &[u16] = match &plan {
            Some((step1, _)) => step1,
            None => {
                lagrange = self.code.decoding_coefs(&received, &missing, repair_esis);
                &lagrange
            }
        };

        // A short last symbol (end of the object) is read from, or recovered into, a padded copy.
        let whole_len = block.len() / e * e;
        let (whole, tail) = block.split_at_mut(whole_len);
        let last_received = self.is_received(k - 1);
        let mut tail_scratch = if tail.is_empty() {
            Vec::new()
        } else {
            padded(tail, e)
        };
        let mut sources: Vec<&[u8]> = Vec::with_capacity(k as usize);
        let mut targets: Vec<&mut [u8]> = Vec::with_capacity(missing.len());
        for (esi, symbol) in (0..k).zip(whole.chunks_exact_mut(e)) {
            if self.is_received(esi) {
                sources.push(symbol);
            } else {
                targets.push(symbol);
            }
        }
        if !tail.is_empty() {
            if last_received {
                sources.push(&tail_scratch);
            } else {
                targets.push(&mut tail_scratch);
            }
        }
        sources.extend(self.repair.chunks_exact(e).take(repair_esis.len()));

        self.code.combine_rows(&mut targets, &sources, coefs);
        drop(sources);
        if let Some((_, inverse)) = &plan {
            // Step 2: the targets hold A·x_M; x_M = A⁻¹·(A·x_M), through a scratch.
            let mut scratch = vec![0u8; targets.len() * e];
            {
                let values: Vec<&[u8]> = targets.iter().map(|t| &**t).collect();
                let mut outs: Vec<&mut [u8]> = scratch.chunks_exact_mut(e).collect();
                self.code.combine_rows(&mut outs, &values, inverse);
            }
            for (target, value) in targets.iter_mut().zip(scratch.chunks_exact(e)) {
                target.copy_from_slice(value);
            }
        }
        drop(targets);
        if !tail.is_empty() && !last_received {
            let len = tail.len();
            tail.copy_from_slice(tail_scratch.get(..len).unwrap_or_default());
        }
        for esi in missing {
            self.mark(esi);
        }
        self.decoded = true;
        Ok(())
    }
}
