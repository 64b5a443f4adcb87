//! When the receiver tries to decode a block: a [`fec::BlockDecoder`](crate::fec::BlockDecoder)
//! and the schedule of its attempts, so that a block of a code that is not MDS (RaptorQ,
//! Raptor) is not tried again at every symbol once its failed attempts cost much.

use crate::fec::{self, FecError};

/// The decoding state of one block and when to try decoding it next.
#[derive(Debug)]
pub(crate) struct BlockDecoder {
    inner: fec::BlockDecoder,
    /// Symbols known at which the next decode is tried (after a failure).
    next_attempt: u32,
    /// What the failed attempts so far cost, as `Limits::max_decode_cost` counts it.
    spent: u64,
    /// Bytes charged for what it holds: its scratch from the start, and the repair symbols
    /// kept since.
    charged: u64,
}

impl BlockDecoder {
    /// Schedules the attempts of `inner`: the first once k symbols are known.
    pub(super) fn new(inner: fec::BlockDecoder) -> Self {
        Self {
            next_attempt: inner.nb_source_symbols(),
            charged: inner.held_at_start(),
            inner,
            spent: 0,
        }
    }

    /// Bytes this decoder holds, charged to the receiver's budget while the block is being
    /// decoded: what it held from the start and the repair symbols kept since. RaptorQ and
    /// Raptor hold up to K + 32 symbols but most blocks need a few: charged as kept, a block
    /// takes the budget it uses rather than the most it could. (An attempt's matrix, one at a
    /// time per worker, is bounded by the decode cost limit, not by this.)
    pub(super) fn charged(&self) -> u64 {
        self.charged
    }

    /// Bytes a decode attempt may allocate besides what the decoder holds (see
    /// [`fec::BlockDecoder::scratch_bytes`]): charged with a block decoded out of `push`,
    /// whose attempts run on another thread while the worker goes on.
    pub(super) fn attempt_bytes(&self) -> u64 {
        self.inner.scratch_bytes()
    }

    /// Bytes the next repair symbol kept adds to [`Self::charged`]: to charge before it is.
    pub(super) fn per_repair(&self) -> u64 {
        self.inner.held_per_repair()
    }

    /// Source symbol `esi` is in the destination.
    pub(super) fn source_received(&mut self, esi: u32) -> Result<(), FecError> {
        self.inner.source_received(esi).map(drop)
    }

    /// Keeps repair symbol `esi`; whether it was new and kept (and [`Self::per_repair`] more
    /// bytes charged).
    pub(super) fn push_repair(&mut self, esi: u32, symbol: &[u8]) -> Result<bool, FecError> {
        let kept = self.inner.push_repair(esi, symbol)?;
        if kept {
            self.charged = self.charged.saturating_add(self.inner.held_per_repair());
        }
        Ok(kept)
    }

    /// Source symbols of the block not in the destination: what a decode recovers from repair
    /// symbols.
    pub(super) fn missing_source(&self) -> u32 {
        self.inner.missing_source()
    }

    /// Distinct symbols of the block known, source and repair: what a repair by unicast
    /// counts on before it asks for more.
    pub(super) fn nb_known(&self) -> u32 {
        self.inner.nb_received()
    }

    /// Whether a decode should be tried now: at least k symbols are known and, after a failed
    /// attempt (RaptorQ and Raptor are not MDS), a new symbol has come. Once the failed
    /// attempts together have cost more than the limit, the known symbols beyond k must also
    /// have doubled: attempts then come at k + 1, k + 3, k + 7, …, so a block costs at most
    /// the limit plus 2 + log2(k + 1) attempts of at most the limit each (the symbols known
    /// are at most 2k + 32), while a cheap block is tried at every symbol.
    pub(super) fn is_due(&self) -> bool {
        self.inner.is_decodable() && self.nb_known() >= self.next_attempt
    }

    /// What decoding the block now would cost (see [`fec::BlockDecoder::decode_cost`]).
    pub(super) fn decode_cost(&self) -> u64 {
        self.inner.decode_cost()
    }

    /// Writes the missing source symbols into `block` (see [`fec::BlockDecoder::decode`]);
    /// after `Ok(false)`, schedules the next attempt.
    pub(super) fn decode(&mut self, block: &mut [u8], max_cost: u64) -> Result<bool, FecError> {
        let decoded = self.inner.decode(block, max_cost);
        if let Ok(false) = decoded {
            self.spent = self.spent.saturating_add(self.inner.last_work());
            let known = self.nb_known();
            let k = self.inner.nb_source_symbols();
            self.next_attempt = if self.spent <= max_cost {
                known.saturating_add(1)
            } else {
                let beyond = known.saturating_sub(k);
                k.saturating_add(beyond.saturating_mul(2)).saturating_add(1)
            };
        }
        decoded
    }
}
