//! Raptor (RFC 5053, FEC Encoding ID 1): our own encoder and maximum-likelihood decoder
//! (`raptor/solver.rs`, on the inactivation decoding of `fec/inactivation.rs`). The repair
//! symbols are byte for byte those of the `raptor-code` crate, the codec flute 1.11.7 uses
//! (checked in the tests), so either side interoperates with flute.
//!
//! The systematic indices J(K) of RFC 5053 §5.7 are only defined for K in 4..=8192, and every
//! value from the network (K, ESIs, lengths) is checked here before the solver sees it.
//!
//! Sub-blocking (RFC 5053 §5.3.1.2): the Raptor code works on each byte position of a symbol
//! alike (its arithmetic is XOR), so encoding the N sub-blocks separately, as the RFC describes,
//! gives the same bytes as encoding the whole symbols at once; both sides here code whole
//! symbols, the sub-symbols gathered from (or scattered to) their places in the block.
//!
//! Use from the sender and the receiver is the same as for [`super::raptorq`]:
//! [`RaptorEncoder::encode`] per block; [`RaptorBlockDecoder`] per block with
//! `write_source_symbol`, `push_repair`, `is_decodable`, `decode` (`Ok(false)`: the symbols
//! received do not determine the block yet, push more). The decoder reads the received source
//! symbols in place in the destination and writes only the lost ones.

mod params;
mod solver;
mod tables;

pub use solver::{Received as RaptorReceived, Solver as RaptorSolver, Unsolved as RaptorUnsolved};

use super::raptorq::{check_block_len, check_repair_len};
use super::source_symbols::SourceSymbols;
use super::sub_block::SubBlockLayout;
use super::{DecodeLimit, FecError, SubBlockPartition};
use crate::wire::{FecEncodingId, Oti, SchemeSpecific};

/// Smallest K with systematic indices (RFC 5053 §5.7).
pub const RAPTOR_MIN_SOURCE_SYMBOLS: u32 = 4;
/// Largest K (RFC 5053 §5.7).
pub const RAPTOR_MAX_SOURCE_SYMBOLS: u32 = 8192;
/// ESIs are 16 bits (RFC 5053 §3.2).
const ESI_END: u32 = 1 << 16;

/// The Raptor code of one object: symbol size T, N sub-blocks, alignment Al, all validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raptor {
    symbol_len: u16,
    sub_blocks: SubBlockPartition,
}

impl Raptor {
    /// A code with symbols of `symbol_len` T bytes, `nb_sub_blocks` N sub-blocks and alignment
    /// `al`: T > 0, Al > 0, T a multiple of Al, 1 ≤ N ≤ T/Al.
    pub fn new(symbol_len: u16, nb_sub_blocks: u8, al: u8) -> Result<Self, FecError> {
        if symbol_len == 0 {
            return Err(FecError::ZeroSymbolLength);
        }
        let sub_blocks =
            SubBlockPartition::new(u32::from(symbol_len), u32::from(nb_sub_blocks), al)?;
        Ok(Self {
            symbol_len,
            sub_blocks,
        })
    }

    /// The code an OTI announces (FEC Encoding ID 1 and its scheme-specific N and Al).
    pub fn for_oti(oti: &Oti) -> Result<Self, FecError> {
        match (oti.fec_encoding_id, oti.scheme_specific) {
            (FecEncodingId::Raptor, SchemeSpecific::Raptor { n, al, .. }) => {
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

    fn check_k(k: u32) -> Result<(), FecError> {
        if !(RAPTOR_MIN_SOURCE_SYMBOLS..=RAPTOR_MAX_SOURCE_SYMBOLS).contains(&k) {
            return Err(FecError::UnsupportedSourceBlockLength {
                k,
                min: RAPTOR_MIN_SOURCE_SYMBOLS,
                max: RAPTOR_MAX_SOURCE_SYMBOLS,
            });
        }
        Ok(())
    }

    /// An encoder for the blocks of an object.
    pub fn encoder(&self) -> RaptorEncoder {
        RaptorEncoder {
            code: *self,
            symbols: Vec::new(),
            solver: RaptorSolver::default(),
        }
    }

    /// A decoder for one block of `k` source symbols.
    pub fn decoder(&self, k: u32) -> Result<RaptorBlockDecoder, FecError> {
        Self::check_k(k)?;
        Ok(RaptorBlockDecoder {
            code: *self,
            k,
            received: SourceSymbols::new(k),
            repair: Vec::new(),
            repair_esis: Vec::new(),
            repair_seen: EsiSet::default(),
            solver: RaptorSolver::default(),
            decoded: false,
        })
    }
}

/// Computes repair symbols block after block.
#[derive(Debug, Clone)]
pub struct RaptorEncoder {
    code: Raptor,
    /// The block as whole symbols, when it has to be gathered (reused).
    symbols: Vec<u8>,
    solver: RaptorSolver,
}

impl RaptorEncoder {
    /// The code.
    pub fn code(&self) -> &Raptor {
        &self.code
    }

    /// Writes the repair symbols ESI K, K + 1, … of a block of `k` source symbols,
    /// `source_block` (contiguous sub-blocks, the last symbol maybe short), into `repair`.
    pub fn encode(
        &mut self,
        k: u32,
        source_block: &[u8],
        repair: &mut [u8],
    ) -> Result<(), FecError> {
        Raptor::check_k(k)?;
        let t = self.code.symbol_len();
        check_block_len(source_block.len(), k, t)?;
        let nb_repair = check_repair_len(repair.len(), k, t, ESI_END)?;
        if nb_repair == 0 {
            return Ok(());
        }
        let layout = self.code.layout(k);
        let data = if layout.is_contiguous() {
            source_block
        } else {
            self.symbols.resize(k as usize * t, 0);
            for (esi, symbol) in (0..k).zip(self.symbols.chunks_exact_mut(t)) {
                layout.gather(source_block, esi, symbol)?;
            }
            &self.symbols
        };
        self.solver
            .encode(k, t, data, k, repair)
            .map_err(|_| FecError::CodecRejected("Raptor"))
    }
}

/// Decoding state of one Raptor source block.
#[derive(Debug, Clone)]
pub struct RaptorBlockDecoder {
    code: Raptor,
    k: u32,
    /// The source ESIs placed in the destination.
    received: SourceSymbols,
    /// Every repair symbol received (T bytes each, in the order of `repair_esis`).
    repair: Vec<u8>,
    repair_esis: Vec<u32>,
    repair_seen: EsiSet,
    solver: RaptorSolver,
    decoded: bool,
}

/// Repair ESIs received, for the duplicate check in constant time.
type EsiSet = std::collections::HashSet<u32, foldhash::fast::RandomState>;

impl RaptorBlockDecoder {
    /// K.
    pub fn nb_source_symbols(&self) -> u32 {
        self.k
    }

    /// The block's memory layout.
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
        self.solver.set_limit(limit);
    }

    /// What the last [`Self::decode`] attempt cost, as [`DecodeLimit::work`] counts it.
    pub fn last_work(&self) -> u64 {
        self.solver.work()
    }

    /// Records that source symbol `esi` (< K) was written by the caller at bytes ESI·T.. of the
    /// destination (N = 1 only; otherwise use [`Self::write_source_symbol`]).
    pub fn source_received(&mut self, esi: u32) -> Result<bool, FecError> {
        self.received.insert(esi)
    }

    /// Writes source symbol `esi` into its place(s) in `block` and records it.
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

    /// Hands repair symbol `esi` (K ≤ ESI < 2^16, exactly T bytes) to the code.
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

    /// Whether at least K distinct symbols arrived.
    pub fn is_decodable(&self) -> bool {
        self.nb_received() >= self.k
    }

    /// Whether every source symbol is in the destination.
    pub fn is_decoded(&self) -> bool {
        self.decoded || self.received.count() == self.k
    }

    /// Recovers the missing source symbols into `block`. `Ok(false)`: not determined yet.
    pub fn decode(&mut self, block: &mut [u8]) -> Result<bool, FecError> {
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
        let layout = self.layout();
        let k = self.k as usize;
        let nb_missing = k.saturating_sub(self.received.count() as usize);
        let mut missing = vec![0u8; nb_missing.saturating_mul(t)];
        {
            // Sub-blocked symbols (N > 1) are gathered into contiguous ones first.
            let gathered;
            let contiguous: &[u8] = if layout.is_contiguous() {
                block
            } else {
                let mut all = vec![0u8; k.saturating_mul(t)];
                for (esi, symbol) in (0..self.k).zip(all.chunks_exact_mut(t)) {
                    if self.received.contains(esi) {
                        layout.gather(block, esi, symbol)?;
                    }
                }
                gathered = all;
                &gathered
            };
            let source: Vec<Option<&[u8]>> = (0..self.k)
                .map(|esi| {
                    if !self.received.contains(esi) {
                        return None;
                    }
                    let start = (esi as usize).saturating_mul(t);
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
            let received = RaptorReceived {
                source: &source,
                repair: &repair,
            };
            match self.solver.decode(self.k, t, received, &mut missing) {
                Ok(()) => {}
                Err(RaptorUnsolved::RankDeficient) => return Ok(false),
                Err(RaptorUnsolved::TooCostly) => return Err(FecError::DecodeCostLimit),
                Err(RaptorUnsolved::BadInput) => return Err(FecError::CodecRejected("Raptor")),
            }
        }
        let lost = (0..self.k).filter(|&esi| !self.received.contains(esi));
        for (esi, symbol) in lost.zip(missing.chunks_exact(t)) {
            layout.scatter(block, esi, symbol)?;
        }
        self.decoded = true;
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
