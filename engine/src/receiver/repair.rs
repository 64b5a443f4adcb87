//! Repair by unicast of objects the broadcast did not complete (3GPP TS 26.346 §9.3, the
//! associated-delivery procedure's file repair; DVB-MABR unicast repair), sans-IO: which byte
//! ranges of the file to fetch so that every block decodes with the symbols already held, and
//! the fetched bytes fed back before the object is verified and committed.
//!
//! A receiver with [`super::MultiReceiver::set_hand_over_incomplete`] hands over an object
//! whose session closed or timed out, or that the sender closed, as an [`IncompleteObject`]
//! instead of discarding it. [`IncompleteObject::plan`] asks for no symbol already held: with
//! no-code every missing source symbol; with Reed-Solomon (MDS) only as many source symbols as
//! each block lacks of k distinct symbols; with RaptorQ and Raptor the same, then
//! [`NON_MDS_EXTRA_SYMBOLS`] more for a block that held k and still did not decode. Within a
//! block the symbols asked for are the fewest runs that add up to what it lacks, and adjacent
//! runs are merged into one byte range, so that a server answers few ranges. The I/O (HTTP
//! `Range` requests) is the caller's.

use std::ops::Range;
use std::sync::Arc;

use crate::fec::BlockPartition;

use super::error::{DropReason, FailReason};
use super::event::{ObjectMetadata, ReceiverEndpoint};
use super::object::ObjectReceiver;
use super::sink::SinkObject;

/// Source symbols asked for, beyond k, for a RaptorQ or Raptor block that holds k distinct
/// symbols and did not decode: one more symbol makes a failure about a hundred times rarer.
pub(crate) const NON_MDS_EXTRA_SYMBOLS: u32 = 2;

/// What to fetch: byte ranges of the object, sorted, none adjacent to or overlapping another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairPlan {
    /// Byte ranges of the object (end exclusive).
    pub ranges: Vec<Range<u64>>,
    /// Source symbols the ranges carry.
    pub symbols: u64,
    /// Blocks that need some.
    pub blocks: u64,
}

impl RepairPlan {
    /// Nothing to fetch.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Bytes the ranges cover.
    pub fn bytes(&self) -> u64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }

    /// Appends a byte range, merged with the last one when they touch.
    fn push(&mut self, range: Range<u64>) {
        match self.ranges.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => self.ranges.push(range),
        }
    }
}

/// Why fetched bytes were not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepairError {
    /// The bytes do not start, or end, on a symbol boundary (or, sub-blocked, a block's).
    #[error("repair bytes at offset {offset} are not aligned to the object's symbols")]
    Misaligned {
        /// Where they start in the object.
        offset: u64,
    },
    /// The bytes go past the object's end.
    #[error("repair bytes {start}..{end} go past the object's {len} bytes")]
    OutOfRange {
        /// First byte.
        start: u64,
        /// One past the last byte.
        end: u64,
        /// The object's Transfer-Length.
        len: u64,
    },
    /// The receiver refused them (the sink could not make room, a decode failed).
    #[error("repair bytes refused: {}", .0.name())]
    Refused(DropReason),
}

/// The ESIs of a block to ask for: `need` of the source symbols not `held`, as the fewest runs
/// (the longest runs of missing symbols first, the last one cut to what is left), in order. All
/// the missing ones when `need` is at least their number.
pub(crate) fn plan_block(k: u32, need: u32, held: impl Fn(u32) -> bool) -> Vec<Range<u32>> {
    let mut runs: Vec<Range<u32>> = Vec::new();
    let mut esi = 0;
    while esi < k {
        if held(esi) {
            esi += 1;
            continue;
        }
        let start = esi;
        while esi < k && !held(esi) {
            esi += 1;
        }
        runs.push(start..esi);
    }
    let missing: u32 = runs.iter().map(|r| r.end - r.start).sum();
    if need >= missing {
        return runs;
    }
    // Longest first; among equals the earliest, so that the plan is deterministic.
    runs.sort_by(|a, b| {
        (b.end - b.start)
            .cmp(&(a.end - a.start))
            .then(a.start.cmp(&b.start))
    });
    let mut left = need;
    let mut taken = Vec::new();
    for run in runs {
        if left == 0 {
            break;
        }
        let len = (run.end - run.start).min(left);
        taken.push(run.start..run.start + len);
        left -= len;
    }
    taken.sort_by_key(|r| r.start);
    taken
}

/// The block and ESI of source symbol `symbol` of the object.
fn locate(partition: &BlockPartition, symbol: u64) -> Option<(u32, u32)> {
    let large = u64::from(partition.large_block_len());
    let in_large = partition.nb_large_blocks().checked_mul(large)?;
    let sbn = if symbol < in_large {
        symbol / large
    } else {
        let small = u64::from(partition.small_block_len());
        if small == 0 {
            return None;
        }
        partition.nb_large_blocks() + (symbol - in_large) / small
    };
    let first = partition.first_symbol_of_block(sbn)?;
    let esi = u32::try_from(symbol - first).ok()?;
    partition.block_len_symbols(sbn).filter(|&k| esi < k)?;
    Some((u32::try_from(sbn).ok()?, esi))
}

/// An object its session could not complete, handed over for repair with everything it holds:
/// its sink object (with the file sink, its temporary `.part` file), the symbols received and
/// the FEC state of each block. [`Self::finish`] verifies and commits it, [`Self::abort`]
/// discards it; dropping it discards it too.
#[derive(Debug)]
pub struct IncompleteObject<O> {
    session: ReceiverEndpoint,
    toi: u128,
    reason: FailReason,
    object: ObjectReceiver<O>,
}

impl<O: SinkObject> IncompleteObject<O> {
    pub(crate) fn new(
        session: ReceiverEndpoint,
        toi: u128,
        reason: FailReason,
        object: ObjectReceiver<O>,
    ) -> Self {
        Self {
            session,
            toi,
            reason,
            object,
        }
    }

    /// Its session.
    pub fn session(&self) -> &ReceiverEndpoint {
        &self.session
    }

    /// Its TOI.
    pub fn toi(&self) -> u128 {
        self.toi
    }

    /// Its FDT metadata (Content-Location, Transfer-Length, Content-MD5, OTI).
    pub fn meta(&self) -> &Arc<ObjectMetadata> {
        &self.object.meta
    }

    /// Why it could not complete from the network.
    pub fn reason(&self) -> &FailReason {
        &self.reason
    }

    /// Every source symbol is in (received, fetched or decoded).
    pub fn is_complete(&self) -> bool {
        self.object.is_complete()
    }

    /// Starts writing back what the object already holds, so that its commit after the repair
    /// waits only for the rest (see [`SinkObject::start_write_back`]).
    pub fn start_write_back(&self) {
        self.object.start_write_back();
    }

    /// Bytes of the object's source symbols not held: what a repair without FEC would fetch.
    pub fn missing_bytes(&self) -> u64 {
        self.object
            .partition()
            .transfer_length()
            .saturating_sub(self.object.received_bytes())
    }

    /// The byte ranges to fetch now (see the module's documentation). Sub-blocked blocks
    /// (RaptorQ and Raptor with N > 1), whose source symbols are not runs of the file's bytes,
    /// are asked for whole.
    pub fn plan(&self) -> RepairPlan {
        let partition = *self.object.partition();
        let symbol_len = u64::from(partition.symbol_len());
        let len = partition.transfer_length();
        let sub_blocked = self.object.is_sub_blocked();
        let mut plan = RepairPlan::default();
        for sbn in 0..partition.nb_blocks() {
            let Ok(sbn32) = u32::try_from(sbn) else {
                break;
            };
            let need = self.object.repair_need(sbn32, NON_MDS_EXTRA_SYMBOLS);
            let (Some(k), Some(first), Some(offset), Some(block_len)) = (
                partition.block_len_symbols(sbn),
                partition.first_symbol_of_block(sbn),
                partition.block_offset_bytes(sbn),
                partition.block_len_bytes(sbn),
            ) else {
                break;
            };
            if need == 0 {
                continue;
            }
            plan.blocks += 1;
            if sub_blocked {
                plan.symbols += u64::from(k);
                plan.push(offset..offset + block_len);
                continue;
            }
            for run in plan_block(k, need, |esi| self.object.is_symbol_received(sbn32, esi)) {
                plan.symbols += u64::from(run.end - run.start);
                let start = (first + u64::from(run.start)) * symbol_len;
                let end = ((first + u64::from(run.end)) * symbol_len).min(len);
                plan.push(start..end);
            }
        }
        plan
    }

    /// Takes bytes `offset..offset + data.len()` of the file, fetched from a repair server:
    /// each whole source symbol (the object's last one may be short) is stored as if it had
    /// arrived in a packet, symbols already held are skipped, and a block that now has enough
    /// symbols is decoded. With sub-blocks the bytes must cover whole blocks.
    pub fn feed(&mut self, offset: u64, data: &[u8]) -> Result<(), RepairError> {
        let partition = *self.object.partition();
        let symbol_len = u64::from(partition.symbol_len());
        let len = partition.transfer_length();
        let end = offset.saturating_add(data.len() as u64);
        if end > len {
            return Err(RepairError::OutOfRange {
                start: offset,
                end,
                len,
            });
        }
        if self.object.is_sub_blocked() {
            return self.feed_blocks(&partition, offset, data);
        }
        if symbol_len == 0
            || !offset.is_multiple_of(symbol_len)
            || (!end.is_multiple_of(symbol_len) && end != len)
        {
            return Err(RepairError::Misaligned { offset });
        }
        let mut at = offset;
        while at < end {
            let symbol = at / symbol_len;
            let (sbn, esi) = locate(&partition, symbol).ok_or(RepairError::OutOfRange {
                start: offset,
                end,
                len,
            })?;
            let next = (at + symbol_len).min(end);
            let bytes = data
                .get((at - offset) as usize..(next - offset) as usize)
                .ok_or(RepairError::Misaligned { offset: at })?;
            if !self.object.is_symbol_received(sbn, esi) {
                self.object
                    .push_repaired(sbn, esi, bytes)
                    .map_err(|e| RepairError::Refused(e.reason()))?;
            }
            at = next;
        }
        Ok(())
    }

    /// Writes whole blocks of a sub-blocked object.
    fn feed_blocks(
        &mut self,
        partition: &BlockPartition,
        offset: u64,
        data: &[u8],
    ) -> Result<(), RepairError> {
        let end = offset + data.len() as u64;
        let mut at = offset;
        while at < end {
            let (sbn, esi) = locate(partition, at / u64::from(partition.symbol_len()).max(1))
                .ok_or(RepairError::Misaligned { offset: at })?;
            let (Some(start), Some(block_len)) = (
                partition.block_offset_bytes(u64::from(sbn)),
                partition.block_len_bytes(u64::from(sbn)),
            ) else {
                return Err(RepairError::Misaligned { offset: at });
            };
            if esi != 0 || start != at || at + block_len > end {
                return Err(RepairError::Misaligned { offset: at });
            }
            let bytes = data
                .get((at - offset) as usize..(at + block_len - offset) as usize)
                .ok_or(RepairError::Misaligned { offset: at })?;
            if self.object.repair_need(sbn, u32::MAX) > 0 {
                self.object
                    .write_block(sbn, bytes)
                    .map_err(|e| RepairError::Refused(e.reason()))?;
            }
            at += block_len;
        }
        Ok(())
    }

    /// Verifies the object (its Content-MD5, when the FDT announced one) and commits it under
    /// its final name. An object still incomplete, or whose MD5 does not match, is discarded:
    /// nothing appears under its final name.
    pub fn finish(self) -> Result<(), FailReason> {
        if !self.object.is_complete() {
            self.object.abort();
            return Err(FailReason::RepairFailed(
                "symbols still missing after the repair".into(),
            ));
        }
        self.object.finish_in_place()
    }

    /// Discards the object and everything written for it.
    pub fn abort(self) {
        self.object.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bits(mask: &[bool]) -> impl Fn(u32) -> bool + '_ {
        move |esi| mask.get(esi as usize).copied().unwrap_or(true)
    }

    #[test]
    fn no_code_asks_for_every_missing_run() {
        let held = [true, false, false, true, false, true];
        assert_eq!(plan_block(6, 6, bits(&held)), vec![1..3, 4..5]);
    }

    #[test]
    fn fec_asks_for_the_longest_runs_first_and_cuts_the_last() {
        // Missing: 1, 3..7, 9..11; need 5 -> 3..7 whole (4) then 1 of 9..11.
        let held = [
            true, false, true, false, false, false, false, true, true, false, false,
        ];
        assert_eq!(plan_block(11, 5, bits(&held)), vec![3..7, 9..10]);
        assert_eq!(plan_block(11, 2, bits(&held)), vec![3..5]);
        assert_eq!(plan_block(11, 0, bits(&held)), Vec::<Range<u32>>::new());
    }

    #[test]
    fn symbols_are_located_in_blocks_of_two_lengths() {
        // 10 symbols of 10 bytes in blocks of at most 4: 4, 3, 3.
        let p = BlockPartition::rfc5052(100, 10, 4).unwrap();
        assert_eq!(locate(&p, 0), Some((0, 0)));
        assert_eq!(locate(&p, 3), Some((0, 3)));
        assert_eq!(locate(&p, 4), Some((1, 0)));
        assert_eq!(locate(&p, 9), Some((2, 2)));
        assert_eq!(locate(&p, 10), None);
    }

    proptest! {
        /// The plan never asks for a held symbol, asks for exactly min(need, missing)
        /// symbols, and in as few runs as any choice could.
        #[test]
        fn block_plans_are_sufficient_and_minimal(
            held in proptest::collection::vec(any::<bool>(), 1..200), need in 0u32..220
        ) {
            let k = held.len() as u32;
            let plan = plan_block(k, need, bits(&held));
            let missing = held.iter().filter(|h| !**h).count() as u32;
            let mut asked = vec![false; held.len()];
            for r in &plan {
                prop_assert!(r.start < r.end);
                for esi in r.clone() {
                    prop_assert!(!held[esi as usize]);
                    prop_assert!(!asked[esi as usize]);
                    asked[esi as usize] = true;
                }
            }
            for w in plan.windows(2) {
                prop_assert!(w[0].end < w[1].start);
            }
            let total: u32 = plan.iter().map(|r| r.end - r.start).sum();
            prop_assert_eq!(total, need.min(missing));
            // Fewest runs: the smallest j whose j longest runs of missing symbols cover need.
            let mut runs: Vec<u32> = Vec::new();
            let mut len = 0;
            for h in held.iter().chain(std::iter::once(&true)) {
                if *h { if len > 0 { runs.push(len); } len = 0; } else { len += 1; }
            }
            runs.sort_unstable_by(|a, b| b.cmp(a));
            let mut covered = 0;
            let mut fewest = 0;
            for r in runs {
                if covered >= need.min(missing) { break; }
                covered += r;
                fewest += 1;
            }
            prop_assert_eq!(plan.len(), fewest);
        }

        #[test]
        fn every_symbol_is_located_where_the_partition_puts_it(
            len in 1u64..20_000, e in 1u32..300, b in 1u32..40
        ) {
            let p = BlockPartition::rfc5052(len, e, b).unwrap();
            let mut symbol = 0;
            for sbn in 0..p.nb_blocks() {
                for esi in 0..p.block_len_symbols(sbn).unwrap() {
                    prop_assert_eq!(locate(&p, symbol), Some((sbn as u32, esi)));
                    symbol += 1;
                }
            }
            prop_assert_eq!(locate(&p, symbol), None);
        }
    }
}
