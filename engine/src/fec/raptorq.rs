//! RaptorQ (RFC 6330, FEC Encoding ID 6) on top of the `raptorq` crate.
//!
//! The crate panics on parameters it does not expect (a zero alignment, K > K'max = 56403, an
//! ESI of 24 bits or more, a symbol of the wrong length: its issues #173 and #194), so every
//! value that comes from the network is checked here first and turned into a [`FecError`].
//!
//! - Sender: [`RaptorQEncoder::encode`] computes the repair symbols of one block. The crate
//!   needs the block as K whole symbols: only the object's last block, which may end inside its
//!   last symbol, is copied into a padded scratch (reused). Encoding plans
//!   (`SourceBlockEncodingPlan`, which depend on K only) are kept for the block sizes seen, so
//!   the large and the small blocks of an object each pay for theirs once.
//! - Receiver: [`RaptorQBlockDecoder`], per block, used like the Reed-Solomon one. Source symbols
//!   are placed by the receiver straight into the destination (with
//!   [`RaptorQBlockDecoder::write_source_symbol`], which scatters the sub-symbols when N > 1);
//!   repair symbols are kept in one buffer. [`RaptorQBlockDecoder::decode`] runs our own
//!   RFC 6330 decoder (`raptorq/solver.rs`), which reads the received source symbols in place,
//!   produces only the missing ones and decodes whenever the symbols determine the block
//!   (maximum likelihood, with the HDPC rows over GF(256)): the crate could decode no set it
//!   fails. RaptorQ is not MDS: with K symbols decoding fails about once in a hundred;
//!   `decode` then returns `Ok(false)` and succeeds once a symbol or two more have arrived. A
//!   decode that would cost more than [`RaptorQBlockDecoder::set_limit`] allows is refused
//!   before the work ([`FecError::DecodeCostLimit`]).

use ::raptorq::{ObjectTransmissionInformation, SourceBlockEncoder, SourceBlockEncodingPlan};

use super::source_symbols::SourceSymbols;

mod params;
mod solver;
mod tables;

use super::sub_block::SubBlockLayout;
use super::{DecodeLimit, FecError, SubBlockPartition};
use crate::wire::{FecEncodingId, Oti, SchemeSpecific};
// The solver on its own: for the benchmark against the crate, not API.
#[doc(hidden)]
pub use solver::{
    Received as RaptorQReceived, Solver as RaptorQSolver, Unsolved as RaptorQUnsolved,
};

/// K'max (RFC 6330 §5.1.2): the largest number of source symbols in a block.
pub const RAPTORQ_MAX_SOURCE_SYMBOLS: u32 = 56_403;
/// ESIs are 24 bits (RFC 6330 §3.2).
const ESI_END: u32 = 1 << 24;

/// The RaptorQ code of one object: symbol size T, N sub-blocks, alignment Al, all validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RaptorQ {
    symbol_len: u16,
    nb_sub_blocks: u16,
    al: u8,
    sub_blocks: SubBlockPartition,
}

impl RaptorQ {
    /// A code with symbols of `symbol_len` T bytes, `nb_sub_blocks` N sub-blocks and alignment
    /// `al`: T > 0, Al > 0, T a multiple of Al, 1 ≤ N ≤ T/Al.
    pub fn new(symbol_len: u16, nb_sub_blocks: u16, al: u8) -> Result<Self, FecError> {
        if symbol_len == 0 {
            return Err(FecError::ZeroSymbolLength);
        }
        let sub_blocks =
            SubBlockPartition::new(u32::from(symbol_len), u32::from(nb_sub_blocks), al)?;
        Ok(Self {
            symbol_len,
            nb_sub_blocks,
            al,
            sub_blocks,
        })
    }

    /// The code an OTI announces (FEC Encoding ID 6 and its scheme-specific N and Al).
    pub fn for_oti(oti: &Oti) -> Result<Self, FecError> {
        match (oti.fec_encoding_id, oti.scheme_specific) {
            (FecEncodingId::RaptorQ, SchemeSpecific::RaptorQ { n, al, .. }) => {
                Self::new(oti.encoding_symbol_length, n, al)
            }
            _ => Err(FecError::UnsupportedScheme {
                fec_encoding_id: oti.fec_encoding_id.into(),
                fec_instance_id: oti.fec_instance_id,
            }),
        }
    }

    /// T, in bytes.
    pub fn symbol_len(&self) -> usize {
        usize::from(self.symbol_len)
    }

    /// How a block of `k` symbols is laid out in memory.
    pub fn layout(&self, k: u32) -> SubBlockLayout {
        SubBlockLayout::new(k, self.symbol_len(), self.sub_blocks)
    }

    /// The crate's parameters for one block of `k` symbols, after checking K.
    fn block_config(&self, k: u32) -> Result<ObjectTransmissionInformation, FecError> {
        if !(1..=RAPTORQ_MAX_SOURCE_SYMBOLS).contains(&k) {
            return Err(FecError::UnsupportedSourceBlockLength {
                k,
                min: 1,
                max: RAPTORQ_MAX_SOURCE_SYMBOLS,
            });
        }
        // K·T ≤ 56403 · 65535 < 2^32: within the crate's transfer length bound.
        let block_len = u64::from(k) * u64::from(self.symbol_len);
        Ok(ObjectTransmissionInformation::new(
            block_len,
            self.symbol_len,
            1,
            self.nb_sub_blocks,
            self.al,
        ))
    }

    /// An encoder for the blocks of an object.
    pub fn encoder(&self) -> RaptorQEncoder {
        RaptorQEncoder {
            code: *self,
            plans: Vec::new(),
            padded: Vec::new(),
        }
    }

    /// A decoder for one block of `k` source symbols.
    pub fn decoder(&self, k: u32) -> Result<RaptorQBlockDecoder, FecError> {
        self.block_config(k)?;
        Ok(RaptorQBlockDecoder {
            code: *self,
            k,
            received: SourceSymbols::new(k),
            repair: Vec::new(),
            repair_esis: Vec::new(),
            repair_seen: EsiSet::default(),
            limit: DecodeLimit::NONE,
            last_work: 0,
            decoded: false,
        })
    }
}

/// Checks that `len` bytes are a block of `k` symbols of `t` bytes, the last one maybe short.
pub(super) fn check_block_len(len: usize, k: u32, t: usize) -> Result<(), FecError> {
    let max = (k as usize).saturating_mul(t);
    let min_exclusive = max.saturating_sub(t);
    if len <= min_exclusive || len > max {
        return Err(FecError::BadSourceBlockLength {
            len,
            min_exclusive,
            max,
        });
    }
    Ok(())
}

/// Checks that `repair` holds whole symbols and that their ESIs K.. stay below 2^24.
pub(super) fn check_repair_len(
    repair: usize,
    k: u32,
    t: usize,
    esi_end: u32,
) -> Result<usize, FecError> {
    let max_symbols = esi_end.saturating_sub(k) as usize;
    let bad = FecError::BadRepairBufferLength {
        len: repair,
        symbol_len: t,
        max: max_symbols.saturating_mul(t),
    };
    if t == 0 || !repair.is_multiple_of(t) || repair / t > max_symbols {
        return Err(bad);
    }
    Ok(repair / t)
}

/// Computes repair symbols block after block, with plans and padding scratch reused.
#[derive(Debug, Clone)]
pub struct RaptorQEncoder {
    code: RaptorQ,
    /// Plans by K; an object has at most two block sizes.
    plans: Vec<(u32, SourceBlockEncodingPlan)>,
    padded: Vec<u8>,
}

impl RaptorQEncoder {
    /// The code.
    pub fn code(&self) -> &RaptorQ {
        &self.code
    }

    fn plan_index(&mut self, k: u32) -> usize {
        if let Some(i) = self.plans.iter().position(|(pk, _)| *pk == k) {
            return i;
        }
        if self.plans.len() >= 2 {
            self.plans.remove(0);
        }
        // k ≤ 56403 was checked by block_config.
        self.plans
            .push((k, SourceBlockEncodingPlan::generate(k as u16)));
        self.plans.len() - 1
    }

    /// Writes the repair symbols ESI K, K + 1, … of block `sbn` (K = `k` source symbols in
    /// `source_block`, contiguous sub-blocks as RFC 6330 §4.4.1.2 lays them out, the last
    /// symbol maybe short) into `repair`, as many as it holds.
    pub fn encode(
        &mut self,
        sbn: u8,
        k: u32,
        source_block: &[u8],
        repair: &mut [u8],
    ) -> Result<(), FecError> {
        let config = self.code.block_config(k)?;
        let t = self.code.symbol_len();
        check_block_len(source_block.len(), k, t)?;
        let nb_repair = check_repair_len(repair.len(), k, t, ESI_END)?;
        if nb_repair == 0 {
            return Ok(());
        }
        let i = self.plan_index(k);
        let full = k as usize * t;
        let data = if source_block.len() == full {
            source_block
        } else {
            self.padded.clear();
            self.padded.extend_from_slice(source_block);
            self.padded.resize(full, 0);
            &self.padded
        };
        let Some((_, plan)) = self.plans.get(i) else {
            return Err(FecError::CodecRejected("RaptorQ"));
        };
        let encoder = SourceBlockEncoder::with_encoding_plan(sbn, &config, data, plan);
        // nb_repair < 2^24 − k: fits u32.
        let packets = encoder.repair_packets(0, nb_repair as u32);
        for (dst, packet) in repair.chunks_exact_mut(t).zip(&packets) {
            let src = packet.data();
            if src.len() != t {
                return Err(FecError::CodecRejected("RaptorQ"));
            }
            dst.copy_from_slice(src);
        }
        Ok(())
    }
}

/// Repair ESIs received, for the duplicate check in constant time.
type EsiSet = std::collections::HashSet<u32, foldhash::fast::RandomState>;

/// Decoding state of one RaptorQ source block.
#[derive(Debug, Clone)]
pub struct RaptorQBlockDecoder {
    code: RaptorQ,
    k: u32,
    /// The source ESIs placed in the destination.
    received: SourceSymbols,
    /// Every repair symbol received (T bytes each, in the order of `repair_esis`).
    repair: Vec<u8>,
    /// Every repair ESI received, to count distinct symbols.
    repair_esis: Vec<u32>,
    repair_seen: EsiSet,
    /// What one decode may cost.
    limit: DecodeLimit,
    /// What the last decode attempt cost.
    last_work: u64,
    decoded: bool,
}

impl RaptorQBlockDecoder {
    /// K.
    pub fn nb_source_symbols(&self) -> u32 {
        self.k
    }

    /// The block's memory layout (where a source symbol's sub-symbols go).
    pub fn layout(&self) -> SubBlockLayout {
        self.code.layout(self.k)
    }

    /// Forgets everything received.
    pub fn reset(&mut self) {
        self.received.clear();
        self.repair.clear();
        self.repair_esis.clear();
        self.repair_seen.clear();
        self.decoded = false;
    }

    /// Sets what each later [`Self::decode`] may cost (no limit by default).
    pub fn set_limit(&mut self, limit: DecodeLimit) {
        self.limit = limit;
    }

    /// What the last [`Self::decode`] attempt cost, as [`DecodeLimit::work`] counts it.
    pub fn last_work(&self) -> u64 {
        self.last_work
    }

    fn attempted<T>(&mut self, work: u64, result: T) -> T {
        self.last_work = work;
        result
    }

    /// Records that source symbol `esi` (< K) has been written by the caller into the
    /// destination (only valid as is when N = 1, where it is bytes ESI·T..; otherwise use
    /// [`Self::write_source_symbol`]). Returns whether it is new.
    pub fn source_received(&mut self, esi: u32) -> Result<bool, FecError> {
        self.received.insert(esi)
    }

    /// Writes source symbol `esi` into its place(s) in `block` (the block's destination, which
    /// may end inside its last symbol; `symbol` may lack the padding past the object's end) and
    /// records it. Returns whether it is new.
    pub fn write_source_symbol(
        &mut self,
        block: &mut [u8],
        esi: u32,
        symbol: &[u8],
    ) -> Result<bool, FecError> {
        check_block_len(block.len(), self.k, self.code.symbol_len())?;
        if self.received.contains(esi) {
            return Ok(false);
        }
        self.layout().scatter(block, esi, symbol)?;
        self.source_received(esi)
    }

    /// Keeps repair symbol `esi` (K ≤ ESI < 2^24, exactly T bytes). Returns whether it is new.
    pub fn push_repair(&mut self, esi: u32, symbol: &[u8]) -> Result<bool, FecError> {
        if esi < self.k || esi >= ESI_END {
            return Err(FecError::EsiOutOfRange {
                esi,
                first: self.k,
                end: ESI_END,
            });
        }
        if symbol.len() != self.code.symbol_len() {
            return Err(FecError::BadSymbolLength {
                len: symbol.len(),
                symbol_len: self.code.symbol_len(),
            });
        }
        if self.decoded || !self.repair_seen.insert(esi) {
            return Ok(false);
        }
        self.repair_esis.push(esi);
        self.repair.extend_from_slice(symbol);
        Ok(true)
    }

    /// Bytes of repair symbols this decoder keeps, for the receiver's memory budget.
    pub fn repair_len_bytes(&self) -> usize {
        self.repair_esis
            .len()
            .saturating_mul(self.code.symbol_len())
    }

    /// Distinct source symbols in the destination.
    pub fn nb_source_received(&self) -> u32 {
        self.received.count()
    }

    /// Distinct encoding symbols received.
    pub fn nb_received(&self) -> u32 {
        self.received.count() + self.repair_esis.len() as u32
    }

    /// Whether at least K distinct symbols arrived (decoding then succeeds with high probability).
    pub fn is_decodable(&self) -> bool {
        self.nb_received() >= self.k
    }

    /// Whether every source symbol is in the destination.
    pub fn is_decoded(&self) -> bool {
        self.decoded || self.received.count() == self.k
    }

    /// Recovers the missing source symbols into `block`, the destination where the received
    /// ones were written. `Ok(false)`: these symbols do not determine the block yet (RaptorQ is
    /// not MDS); push more and call again.
    pub fn decode(&mut self, block: &mut [u8]) -> Result<bool, FecError> {
        self.last_work = 0;
        let t = self.code.symbol_len();
        check_block_len(block.len(), self.k, t)?;
        if self.is_decoded() {
            self.decoded = true;
            return Ok(true);
        }
        if !self.is_decodable() {
            return Err(FecError::NotEnoughSymbols {
                received: self.nb_received(),
                k: self.k,
            });
        }
        if self.decode_rfc6330(block)? {
            self.decoded = true;
            return Ok(true);
        }
        Ok(false)
    }

    /// Our RFC 6330 decoder: writes the missing source symbols into `block` and returns true,
    /// or false when the symbols do not determine the block.
    fn decode_rfc6330(&mut self, block: &mut [u8]) -> Result<bool, FecError> {
        let t = self.code.symbol_len();
        let k = self.k as usize;
        let layout = self.layout();
        let nb_missing = k.saturating_sub(self.received.count() as usize);
        let mut missing = vec![0u8; nb_missing.saturating_mul(t)];
        let work;
        {
            // Sub-blocked symbols (N > 1) are gathered into contiguous ones first.
            let gathered;
            let contiguous: &[u8] = if layout.is_contiguous() {
                block
            } else {
                let mut all = vec![0u8; k.saturating_mul(t)];
                for (esi, symbol) in all.chunks_exact_mut(t).enumerate() {
                    if self.received.contains(esi as u32) {
                        layout.gather(block, esi as u32, symbol)?;
                    }
                }
                gathered = all;
                &gathered
            };
            let source: Vec<Option<&[u8]>> = (0..k)
                .map(|esi| {
                    if !self.received.contains(esi as u32) {
                        return None;
                    }
                    let start = esi.saturating_mul(t);
                    let end = start.saturating_add(t).min(contiguous.len());
                    contiguous.get(start..end)
                })
                .collect();
            let repair: Vec<(u32, &[u8])> = self
                .repair_esis
                .iter()
                .copied()
                .zip(self.repair.chunks_exact(t))
                .collect();
            let received = RaptorQReceived {
                source: &source,
                repair: &repair,
            };
            if source.iter().filter(|s| s.is_none()).count() != nb_missing {
                return Ok(false);
            }
            let mut solver = RaptorQSolver::with_limit(self.limit);
            let solved = solver.decode(self.k, t, received, &mut missing);
            work = solver.work();
            match solved {
                Ok(()) => {}
                Err(RaptorQUnsolved::RankDeficient) => return self.attempted(work, Ok(false)),
                Err(RaptorQUnsolved::TooCostly) => {
                    return self.attempted(work, Err(FecError::DecodeCostLimit));
                }
                Err(RaptorQUnsolved::BadInput) => return Err(FecError::CodecRejected("RaptorQ")),
            }
        }
        self.last_work = work;
        let lost = (0..self.k).filter(|&esi| !self.received.contains(esi));
        for (esi, symbol) in lost.zip(missing.chunks_exact(t)) {
            layout.scatter(block, esi, symbol)?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
