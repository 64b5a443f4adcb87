//! What Raptor (RFC 5053) and RaptorQ (RFC 6330) share: both are fountain codes with ESIs far
//! beyond K, decoded by inactivation, and both lay a block out in sub-blocks. One block decoder,
//! [`FountainDecoder`], serves both through [`FountainCode`]; every value from the network (K,
//! ESIs, lengths) is checked here before a solver sees it.
//!
//! The receiver writes each source symbol into the destination (scattered into its sub-blocks
//! when N > 1, [`FountainDecoder::write_source_symbol`]) and hands repair symbols to
//! [`FountainDecoder::push_repair`], which keeps them in one buffer. `decode` reads the received
//! source symbols in place and writes only the lost ones; `Ok(false)` means the symbols known do
//! not determine the block yet (these codes are not MDS): push more and call again.

use std::fmt;

use super::error::check_block_len;
use super::inactivation::{Received, Unsolved};
use super::source_symbols::SourceSymbols;
use super::sub_block::SubBlockLayout;
use super::{DecodeLimit, FecError, SubBlockPartition};

/// A fountain code of one object (Raptor, RaptorQ): what its encoder and [`FountainDecoder`]
/// need to know of it.
pub trait FountainCode: Copy + fmt::Debug {
    /// The inactivation solver, kept across a block's decode attempts.
    type Solver: FountainSolver;
    /// The code's name, for [`FecError::CodecRejected`].
    const NAME: &'static str;
    /// Smallest K.
    const MIN_SOURCE_SYMBOLS: u32;
    /// Largest K.
    const MAX_SOURCE_SYMBOLS: u32;
    /// One past the largest ESI the FEC Payload ID can carry.
    const ESI_END: u32;

    /// T, in bytes.
    fn symbol_len(&self) -> usize;

    /// How a symbol splits into the sub-symbols of the N sub-blocks.
    fn sub_blocks(&self) -> SubBlockPartition;

    /// How a block of `k` symbols is laid out in memory.
    fn layout(&self, k: u32) -> SubBlockLayout {
        SubBlockLayout::new(k, self.symbol_len(), self.sub_blocks())
    }
}

/// An inactivation decoder of one fountain code, its scratch reused from solve to solve.
pub trait FountainSolver: Clone + Default + fmt::Debug {
    /// Sets what each later solve may cost.
    fn set_limit(&mut self, limit: DecodeLimit);

    /// What the last solve cost (or had cost when it gave up), as its limit counts it.
    fn work(&self) -> u64;

    /// Decodes one block of `k` source symbols of `t` bytes: writes every lost source symbol
    /// (ascending ESI, `t` bytes each) into `out`, which must hold exactly that many.
    /// `Err(RankDeficient)`: these symbols do not determine the block.
    fn decode(
        &mut self,
        k: u32,
        t: usize,
        received: Received<'_>,
        out: &mut [u8],
    ) -> Result<(), Unsolved>;
}

/// Repair symbols a block decoder keeps beyond K: these codes are not MDS, and a block whose
/// source symbols were all lost needs a few more than K (with Raptor about 0.85 · 0.567^A of
/// the sets of K + A symbols fail).
const SPARE_REPAIR: u32 = 32;

/// Checks that `C` defines blocks of `k` source symbols.
pub(super) fn check_k<C: FountainCode>(k: u32) -> Result<(), FecError> {
    if !(C::MIN_SOURCE_SYMBOLS..=C::MAX_SOURCE_SYMBOLS).contains(&k) {
        return Err(FecError::UnsupportedSourceBlockLength {
            k,
            min: C::MIN_SOURCE_SYMBOLS,
            max: C::MAX_SOURCE_SYMBOLS,
        });
    }
    Ok(())
}

/// Checks an encoder's arguments: K, a source block of `source_len` bytes and a repair buffer
/// of `repair_len` bytes holding whole symbols whose ESIs K.. stay below the ESI space. Returns
/// the number of repair symbols.
pub(super) fn check_encode<C: FountainCode>(
    code: &C,
    k: u32,
    source_len: usize,
    repair_len: usize,
) -> Result<usize, FecError> {
    check_k::<C>(k)?;
    let t = code.symbol_len();
    check_block_len(source_len, k, t)?;
    let max_symbols = C::ESI_END.saturating_sub(k) as usize;
    if t == 0 || !repair_len.is_multiple_of(t) || repair_len / t > max_symbols {
        return Err(FecError::BadRepairBufferLength {
            len: repair_len,
            symbol_len: t,
            max: max_symbols.saturating_mul(t),
        });
    }
    Ok(repair_len / t)
}

/// Repair ESIs received, for the duplicate check in constant time.
type EsiSet = std::collections::HashSet<u32, foldhash::fast::RandomState>;

/// The repair symbols of one block, in arrival order, each ESI once.
#[derive(Debug, Clone, Default)]
struct RepairSymbols {
    /// T bytes each, in the order of `esis`.
    symbols: Vec<u8>,
    esis: Vec<u32>,
    seen: EsiSet,
}

impl RepairSymbols {
    /// Keeps `symbol` unless `esi` was seen; whether it is new.
    fn insert(&mut self, esi: u32, symbol: &[u8]) -> bool {
        if !self.seen.insert(esi) {
            return false;
        }
        self.esis.push(esi);
        self.symbols.extend_from_slice(symbol);
        true
    }

    fn clear(&mut self) {
        self.symbols.clear();
        self.esis.clear();
        self.seen.clear();
    }

    fn len(&self) -> u32 {
        self.esis.len() as u32
    }

    /// (ESI, symbol) pairs, for the solver.
    fn pairs(&self, t: usize) -> Vec<(u32, &[u8])> {
        self.esis
            .iter()
            .copied()
            .zip(self.symbols.chunks_exact(t))
            .collect()
    }
}

/// Decoding state of one source block of a fountain code.
#[derive(Debug, Clone)]
pub struct FountainDecoder<C: FountainCode> {
    code: C,
    k: u32,
    layout: SubBlockLayout,
    /// The source ESIs placed in the destination.
    received: SourceSymbols,
    repair: RepairSymbols,
    solver: C::Solver,
    /// What one decode may cost.
    limit: DecodeLimit,
    /// What the last decode attempt cost.
    last_work: u64,
    decoded: bool,
}

impl<C: FountainCode> FountainDecoder<C> {
    /// A decoder for one block of `k` source symbols of `code`.
    pub fn new(code: C, k: u32) -> Result<Self, FecError> {
        check_k::<C>(k)?;
        Ok(Self {
            code,
            k,
            layout: code.layout(k),
            received: SourceSymbols::new(k),
            repair: RepairSymbols::default(),
            solver: C::Solver::default(),
            limit: DecodeLimit::NONE,
            last_work: 0,
            decoded: false,
        })
    }

    /// K.
    pub fn nb_source_symbols(&self) -> u32 {
        self.k
    }

    /// The block's memory layout (where a source symbol's sub-symbols go).
    pub fn layout(&self) -> SubBlockLayout {
        self.layout
    }

    /// Forgets everything received.
    pub fn reset(&mut self) {
        self.received.clear();
        self.repair.clear();
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
        self.layout.scatter(block, esi, symbol)?;
        self.source_received(esi)
    }

    /// Bytes of scratch this decoder may hold: K + 32 symbols, the repair symbols it keeps and
    /// as much matrix scratch for a decode attempt (what [`Self::set_limit`] should allow).
    pub fn max_scratch_bytes(&self) -> u64 {
        let symbols = self.k.saturating_add(SPARE_REPAIR);
        u64::from(symbols).saturating_mul(self.code.symbol_len() as u64)
    }

    /// Bytes one repair symbol takes: T.
    pub fn symbol_len(&self) -> usize {
        self.code.symbol_len()
    }

    /// Keeps repair symbol `esi` (K ≤ ESI < the ESI space's end, exactly T bytes). Returns
    /// whether it was kept: not a duplicate, nor one past the K + 32 kept.
    pub fn push_repair(&mut self, esi: u32, symbol: &[u8]) -> Result<bool, FecError> {
        if self.repair.len() >= self.k.saturating_add(SPARE_REPAIR) {
            return Ok(false);
        }
        if esi < self.k || esi >= C::ESI_END {
            return Err(FecError::EsiOutOfRange {
                esi,
                first: self.k,
                end: C::ESI_END,
            });
        }
        if symbol.len() != self.code.symbol_len() {
            return Err(FecError::BadSymbolLength {
                len: symbol.len(),
                symbol_len: self.code.symbol_len(),
            });
        }
        Ok(!self.decoded && self.repair.insert(esi, symbol))
    }

    /// Bytes of repair symbols this decoder keeps, for the receiver's memory budget.
    pub fn repair_len_bytes(&self) -> usize {
        self.repair.symbols.len()
    }

    /// Distinct source symbols in the destination.
    pub fn nb_source_received(&self) -> u32 {
        self.received.count()
    }

    /// Distinct encoding symbols received.
    pub fn nb_received(&self) -> u32 {
        self.received.count() + self.repair.len()
    }

    /// Whether at least K distinct symbols arrived (decoding then succeeds with high
    /// probability).
    pub fn is_decodable(&self) -> bool {
        self.nb_received() >= self.k
    }

    /// Whether every source symbol is in the destination.
    pub fn is_decoded(&self) -> bool {
        self.decoded || self.received.count() == self.k
    }

    /// Recovers the missing source symbols into `block`, the destination where the received
    /// ones were written. `Ok(false)`: these symbols do not determine the block yet; push more
    /// and call again. [`FecError::DecodeCostLimit`]: the attempt would cost more than the
    /// limit ([`Self::set_limit`]), given up before that work.
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
        let k = self.k as usize;
        let nb_missing = k.saturating_sub(self.received.count() as usize);
        let mut missing = vec![0u8; nb_missing.saturating_mul(t)];
        {
            // Sub-blocked symbols (N > 1) are gathered into contiguous ones first.
            let gathered;
            let contiguous: &[u8] = if self.layout.is_contiguous() {
                block
            } else {
                let mut all = vec![0u8; k.saturating_mul(t)];
                for (esi, symbol) in (0..self.k).zip(all.chunks_exact_mut(t)) {
                    if self.received.contains(esi) {
                        self.layout.gather(block, esi, symbol)?;
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
            let repair = self.repair.pairs(t);
            let received = Received {
                source: &source,
                repair: &repair,
            };
            self.solver.set_limit(self.limit);
            let solved = self.solver.decode(self.k, t, received, &mut missing);
            self.last_work = self.solver.work();
            match solved {
                Ok(()) => {}
                Err(Unsolved::RankDeficient) => return Ok(false),
                Err(Unsolved::TooCostly) => return Err(FecError::DecodeCostLimit),
                Err(Unsolved::BadInput) => return Err(FecError::CodecRejected(C::NAME)),
            }
        }
        let lost = (0..self.k).filter(|&esi| !self.received.contains(esi));
        for (esi, symbol) in lost.zip(missing.chunks_exact(t)) {
            self.layout.scatter(block, esi, symbol)?;
        }
        self.decoded = true;
        Ok(true)
    }
}
