//! One object being received (RFC 5775 §4, RFC 6726 §3): its region in the sink, the symbols
//! that have arrived, and the checks made before it is committed.
//!
//! A symbol's payload is copied once, straight to its final offset in the region. Without
//! content encoding the region is the sink's own (a memory buffer, or the mmap of a temporary
//! file), and the Content-MD5 is computed on the in-order prefix as it grows, so verification
//! needs no second pass. A content-encoded object is received into a region of its
//! Transfer-Length — in memory up to [`ENCODED_IN_MEMORY_MAX_BYTES`], grown and charged to the
//! memory budget as symbols land, else the sink's — and when complete it is decoded, streamed
//! and capped, into a sink object of its content (MD5 then covers the decoded content, as RFC
//! 6726 §3.4.2 says it is computed before encoding). FDT instances are received in memory the
//! same way ([`ObjectReceiver::start_in_memory`]).
//!
//! Memory the object itself holds (symbol bookkeeping, FEC scratch, an in-memory region) is
//! charged to the receiver's memory budget (`Limits::max_memory_bytes`) as it is allocated,
//! never at the size the network declares.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::hash::md5::Md5;
use base64::Engine;

use crate::cenc::Cenc;
use crate::fec::{BlockPartition, FecError, Scheme};
use crate::wire::Oti;

use super::blocks::{Place, SymbolTracker};
use super::budget::{Budget, Charge};
use super::content;
use super::decoding::BlockDecoder;
use super::deferred::{Away, AwayBlock, Deferral};
use super::error::{DropReason, FailReason};
use super::event::ObjectMetadata;
use super::sink::{ObjectDescription, ObjectSink, SinkError, SinkObject};

/// Content-encoded objects up to this Transfer-Length are received in memory (charged to the
/// memory budget as they grow); larger ones into a sink object, a temporary file with the file
/// sink.
pub const ENCODED_IN_MEMORY_MAX_BYTES: u64 = 1 << 20;

/// Where the symbols of an object are written.
#[derive(Debug)]
enum Region<O> {
    /// The sink's region of the object's length on the wire (its final length without content
    /// encoding).
    Sink(O),
    /// Memory grown as symbols land, at most `limit` bytes: a small content-encoded object, or
    /// an FDT instance.
    Memory { buf: Vec<u8>, limit: usize },
}

/// Running MD5 of the in-order prefix of the object.
#[derive(Debug)]
struct PrefixMd5 {
    hasher: Md5,
    hashed: u64,
    expected: [u8; 16],
}

/// How lost source symbols are recovered.
#[derive(Debug)]
enum Fec {
    /// No-code (ID 0): every source symbol must arrive.
    NoCode,
    /// Reed-Solomon (IDs 2, 5, 129), RaptorQ (ID 6), Raptor (ID 1): repair symbols (ESI ≥ k)
    /// are kept in a per-block decoder's scratch, created on a block's first repair symbol;
    /// once enough symbols are known the missing source symbols are decoded in place into the
    /// region. A RaptorQ or Raptor decode that fails keeps the decoder for more symbols.
    Coded {
        code: Scheme,
        decoders: super::Map<u32, BlockDecoder>,
        /// Blocks whose decode would cost more than the object's decode budget: their repair
        /// symbols are dropped at once (at most one entry per block of the object).
        refused: super::Map<u32, ()>,
    },
}

/// What a repair symbol did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repair {
    /// Nothing new: a repeat, or more than the block needs.
    Duplicate,
    /// Kept in the block's scratch.
    Kept,
    /// Its block was decoded.
    Decoded,
}

/// The outcome of one payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// New symbols were stored.
    New {
        /// They completed a source block.
        block_completed: bool,
    },
    /// Nothing new.
    Duplicate,
}

/// What an object starts with.
#[derive(Debug)]
pub(crate) struct ObjectStart {
    pub desc: ObjectDescription,
    pub meta: Arc<ObjectMetadata>,
    pub partition: BlockPartition,
    pub from_fdt: bool,
    /// The sink's region, charged to `Limits::max_receiving_bytes`.
    pub receiving: Charge,
    /// The object's bookkeeping, charged to `Limits::max_memory_bytes`; the object's FEC
    /// scratch and in-memory region are added to this charge as they are allocated.
    pub memory: Charge,
    /// `Limits::max_decode_cost`.
    pub max_decode_cost: u64,
}

/// An object being received into a sink object `O`.
#[derive(Debug)]
pub(crate) struct ObjectReceiver<O> {
    pub meta: Arc<ObjectMetadata>,
    /// The object was described by an FDT (as opposed to EXT_FTI alone).
    pub from_fdt: bool,
    region: Region<O>,
    tracker: SymbolTracker,
    fec: Fec,
    md5: Option<PrefixMd5>,
    /// The MD5 follows the in-order prefix as it grows (not with sub-blocks).
    hash_as_received: bool,
    expected_md5: Option<[u8; 16]>,
    desc: ObjectDescription,
    /// The sink's region, charged to the receiving budget.
    receiving: Charge,
    /// Memory charged to the memory budget: bookkeeping, FEC scratch, an in-memory region.
    memory: Charge,
    pub last_activity: SystemTime,
    /// When the sender's close-object flag was seen.
    pub closing_since: Option<SystemTime>,
    /// When the last progress of this object was reported (`Config::progress_every`).
    last_progress: Option<SystemTime>,
    /// Most a block's decode may cost (`Limits::max_decode_cost`).
    max_decode_cost: u64,
    /// Source symbols recovered by decodes since the session last took the count: the repair
    /// symbols the FEC put to use.
    repair_used: u64,
    /// This object among all (a decode job comes back to this one only).
    pub id: u64,
    /// Large blocks decoded out of `push` (`Config::defer_decode_from_bytes`).
    deferral: Option<Deferral>,
}

/// Bytes of the in-order prefix hashed at most per packet: a small fraction of a millisecond
/// of MD5, yet many times a packet's payload, so the hash catches up within a few packets.
const HASH_SLICE: u64 = 64 << 10;

/// Decodes a Content-MD5 (base64 of 16 bytes).
fn parse_md5(text: &str) -> Result<[u8; 16], FailReason> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| FailReason::BadMd5)?;
    <[u8; 16]>::try_from(bytes.as_slice()).map_err(|_| FailReason::BadMd5)
}

/// Whether this receiver decodes `oti`'s FEC scheme with these parameters: no-code,
/// Reed-Solomon (IDs 2, 5, and 129 with FEC Instance ID 0), RaptorQ (ID 6), Raptor (ID 1).
pub(crate) fn is_supported(oti: &Oti) -> bool {
    Scheme::for_oti(oti).is_ok()
}

/// The block partitioning of an object, as its FEC scheme cuts it.
pub(crate) fn partition_for(meta: &ObjectMetadata) -> Result<BlockPartition, FailReason> {
    Scheme::for_oti(&meta.oti)
        .map_err(|e| FailReason::Fec(e.to_string()))?
        .partition(meta.transfer_length)
        .map_err(|e| FailReason::Fec(e.to_string()))
}

/// Why a payload was not stored.
#[derive(Debug)]
pub(crate) enum NotStored {
    /// The packet is dropped and counted under this reason; the object goes on.
    Dropped(DropReason),
    /// The sink could not make room for the symbols (a full disk): the object cannot go on.
    Sink(SinkError),
}

impl NotStored {
    /// The reason the packet is counted under.
    pub(crate) fn reason(&self) -> DropReason {
        match self {
            Self::Dropped(reason) => *reason,
            Self::Sink(_) => DropReason::Sink,
        }
    }
}

impl From<DropReason> for NotStored {
    fn from(reason: DropReason) -> Self {
        Self::Dropped(reason)
    }
}

fn fec_drop(e: FecError) -> DropReason {
    match e {
        FecError::BadSymbolLength { .. } => DropReason::SymbolLength,
        FecError::EsiOutOfRange { .. } => DropReason::SymbolOutOfRange,
        FecError::DecodeCostLimit => DropReason::DecodeCostLimit,
        _ => DropReason::FecDecode,
    }
}

/// Bytes of the sink's region an object takes while it is received, for the receiving budget:
/// its Transfer-Length when the sink holds it, nothing when it is received in memory.
pub(crate) fn sink_reservation(meta: &ObjectMetadata) -> u64 {
    if meta.cenc != Cenc::Null && meta.transfer_length <= ENCODED_IN_MEMORY_MAX_BYTES {
        0
    } else {
        meta.transfer_length
    }
}

/// Bytes of memory an object's bookkeeping takes from the start, for the memory budget.
pub(crate) fn bookkeeping_bytes(partition: &BlockPartition) -> u64 {
    SymbolTracker::state_bytes(partition)
}

/// An in-memory region for `len` bytes, nothing allocated yet.
fn memory_region<O>(len: u64) -> Result<Region<O>, FailReason> {
    let limit =
        usize::try_from(len).map_err(|_| FailReason::Sink("object too large for memory".into()))?;
    Ok(Region::Memory {
        buf: Vec::new(),
        limit,
    })
}

impl<O: SinkObject> ObjectReceiver<O> {
    /// Starts an object: creates its region in `sink`, or in memory for a small
    /// content-encoded object.
    pub(crate) fn start<S: ObjectSink<Object = O>>(
        sink: &mut S,
        start: ObjectStart,
        check_md5: bool,
        now: SystemTime,
    ) -> Result<Self, FailReason> {
        let in_memory = start.meta.cenc != Cenc::Null
            && start.meta.transfer_length <= ENCODED_IN_MEMORY_MAX_BYTES;
        let region = if in_memory {
            memory_region(start.meta.transfer_length)?
        } else {
            let mut desc = start.desc.clone();
            desc.len = start.meta.transfer_length;
            Region::Sink(
                sink.create(&desc)
                    .map_err(|e| FailReason::Sink(e.to_string()))?,
            )
        };
        Self::with_region(region, start, check_md5, now)
    }

    /// Starts an object received wholly in memory (an FDT instance): nothing is allocated
    /// before its symbols land.
    pub(crate) fn start_in_memory(start: ObjectStart, now: SystemTime) -> Result<Self, FailReason> {
        let region = memory_region(start.meta.transfer_length)?;
        Self::with_region(region, start, false, now)
    }

    fn with_region(
        region: Region<O>,
        start: ObjectStart,
        check_md5: bool,
        now: SystemTime,
    ) -> Result<Self, FailReason> {
        let ObjectStart {
            desc,
            meta,
            partition,
            from_fdt,
            receiving,
            memory,
            max_decode_cost,
        } = start;
        let expected_md5 = match (&meta.content_md5, check_md5) {
            (Some(text), true) => Some(parse_md5(text)?),
            _ => None,
        };
        let tracker = SymbolTracker::new(partition)
            .ok_or_else(|| FailReason::Sink("out of memory for symbol bookkeeping".into()))?;
        // The MD5 of a content-encoded object covers its decoded content: checked as it is
        // decoded.
        let md5 = expected_md5
            .filter(|_| meta.cenc == Cenc::Null)
            .map(|expected| PrefixMd5 {
                hasher: Md5::new(),
                hashed: 0,
                expected,
            });
        let code = Scheme::for_oti(&meta.oti).map_err(|e| FailReason::Fec(e.to_string()))?;
        let fec = if code.has_repair_symbols() {
            Fec::Coded {
                code,
                decoders: super::Map::default(),
                refused: super::Map::default(),
            }
        } else {
            Fec::NoCode
        };
        // With sub-blocks the in-order prefix of symbols is not a prefix of the object's bytes:
        // the MD5 is then computed once the object is complete.
        let hash_as_received = !matches!(&fec, Fec::Coded { code, .. } if code.is_sub_blocked());
        Ok(Self {
            meta,
            from_fdt,
            region,
            tracker,
            fec,
            md5,
            hash_as_received,
            expected_md5,
            desc,
            receiving,
            memory,
            last_activity: now,
            closing_since: None,
            last_progress: None,
            max_decode_cost,
            repair_used: 0,
            id: super::deferred::object_id(),
            deferral: None,
        })
    }

    /// Decodes blocks of at least `from_bytes` out of `push`, their copies charged to `budget`.
    pub(super) fn defer_decodes(&mut self, from_bytes: u64, budget: Budget) {
        if matches!(self.fec, Fec::Coded { .. }) {
            self.deferral = Some(Deferral::new(from_bytes, budget));
        }
    }

    /// Whether a block of this object is being decoded out of `push`.
    pub(super) fn has_away(&self) -> bool {
        self.deferral.as_ref().is_some_and(|d| !d.away.is_empty())
    }

    /// The blocks made ready to decode out of `push` since the last call.
    pub(super) fn take_away(&mut self) -> Vec<AwayBlock> {
        match &mut self.deferral {
            Some(d) if !d.ready.is_empty() => std::mem::take(&mut d.ready),
            _ => Vec::new(),
        }
    }

    /// Takes back a block decoded out of `push`: `Ok(true)` when it completed the block.
    pub(super) fn finish_decode(&mut self, away: AwayBlock) -> Result<bool, NotStored> {
        let Some(deferral) = &mut self.deferral else {
            return Ok(false);
        };
        if deferral.away.remove(&away.sbn).is_none() {
            return Ok(false);
        }
        let AwayBlock {
            sbn,
            decoder,
            bytes,
            missing,
            outcome,
            ..
        } = away;
        let outcome = match outcome {
            Some(Ok(true)) => match self.block_mut(sbn) {
                Ok(block) if block.len() == bytes.len() => {
                    block.copy_from_slice(&bytes);
                    Ok(true)
                }
                Ok(_) => Err(DropReason::SymbolOutOfRange.into()),
                Err(e) => Err(e),
            },
            Some(Ok(false)) | None => Ok(false),
            Some(Err(e)) => Err(fec_drop(e).into()),
        };
        let mut done = self.settle(sbn, decoder, outcome, missing)?;
        // Blocks that waited for this one's room (`Away::Later`) go now: they may have every
        // symbol already, and no new one to try them again.
        let waiting: Vec<u32> = match &self.fec {
            Fec::Coded { decoders, .. } => decoders
                .iter()
                .filter(|(_, d)| d.is_due())
                .map(|(sbn, _)| *sbn)
                .collect(),
            Fec::NoCode => Vec::new(),
        };
        for sbn in waiting {
            done |= self.decode_block(sbn)?;
        }
        if done {
            self.hash_prefix();
        }
        Ok(done)
    }

    /// Memory charged to the receiver's memory budget for this object.
    #[cfg(test)]
    pub(crate) fn memory_bytes(&self) -> u64 {
        self.memory.bytes()
    }

    /// Gives the object's bytes back to the receiver's budgets: for an object handed over to a
    /// repair, which holds it outside the receiver from then on. It stays bounded by what it
    /// already holds and its own cap on concurrent blocks.
    pub(crate) fn leave_budgets(&mut self) {
        let outside = Budget::new(u64::MAX);
        self.receiving = outside.force(self.receiving.bytes());
        self.memory = outside.force(self.memory.bytes());
    }

    /// Whether a progress report is due at `now`, at most one per `every`; notes it as made.
    pub(crate) fn progress_due(&mut self, now: SystemTime, every: Duration) -> bool {
        let due = every.is_zero()
            || self
                .last_progress
                .is_none_or(|last| now.duration_since(last).is_ok_and(|since| since >= every));
        if due {
            self.last_progress = Some(now);
        }
        due
    }

    /// All source symbols are in.
    pub(crate) fn is_complete(&self) -> bool {
        self.tracker.is_complete()
    }

    /// Bytes received so far.
    pub(crate) fn received_bytes(&self) -> u64 {
        self.tracker.received_bytes()
    }

    /// Stores the symbols of one payload at their offset (a repair symbol in its block's
    /// scratch), decoding the block as soon as it can. `source_block_length` is the one its
    /// FEC Payload ID carries (ID 129, RFC 5445 §5.2), if any: a block the sender cut otherwise
    /// than the object's partitioning cannot be placed.
    pub(crate) fn push(
        &mut self,
        sbn: u32,
        esi: u32,
        payload: &[u8],
        source_block_length: Option<u32>,
        max_concurrent_blocks: usize,
    ) -> Result<Pushed, NotStored> {
        let k = self
            .tracker
            .partition()
            .block_len_symbols(u64::from(sbn))
            .filter(|&k| source_block_length.is_none_or(|len| len == k))
            .ok_or(DropReason::SymbolOutOfRange)?;
        if self.deferral.as_ref().is_some_and(|d| d.is_away(sbn)) {
            // Its decode recovers every source symbol.
            return Ok(Pushed::Duplicate);
        }
        let block_completed = if esi >= k {
            match self.push_repair(sbn, esi, k, payload, max_concurrent_blocks)? {
                Repair::Duplicate => return Ok(Pushed::Duplicate),
                Repair::Kept => false,
                Repair::Decoded => true,
            }
        } else {
            let placement = match self.tracker.place(sbn, esi, payload.len())? {
                Place::Duplicate => return Ok(Pushed::Duplicate),
                Place::New(p) => p,
            };
            match self.scattered_layout(k) {
                None => {
                    let payload = payload
                        .get(..placement.len)
                        .ok_or(DropReason::SymbolLength)?;
                    let range = placement.offset..placement.offset + placement.len;
                    self.writable(range)?.copy_from_slice(payload);
                }
                Some(layout) => {
                    // Sub-blocks (RFC 6330 §4.4.1.2, RFC 5053 §5.3.1.2): each symbol's pieces
                    // go to their sub-blocks of the block; the last symbol of the object has
                    // data in every sub-block the object reaches, so it is taken whole.
                    let t = usize::from(self.meta.oti.encoding_symbol_length);
                    let block = self.block_mut(sbn)?;
                    for (e, symbol) in (esi..).zip(payload.chunks(t)) {
                        layout.scatter(block, e, symbol).map_err(fec_drop)?;
                    }
                }
            }
            let mut completed = placement.block_completed;
            if let Fec::Coded { decoders, .. } = &self.fec
                && !decoders.is_empty()
            {
                completed |= self.source_to_decoder(sbn, esi, payload.len(), completed)?;
            }
            completed
        };
        self.hash_prefix();
        Ok(Pushed::New { block_completed })
    }

    /// Bytes `range` of the region, ready to be written: reserved by the sink, or allocated in
    /// memory (and charged to the memory budget).
    fn writable(&mut self, range: std::ops::Range<usize>) -> Result<&mut [u8], NotStored> {
        match &mut self.region {
            Region::Sink(object) => {
                object.reserve(range.clone()).map_err(NotStored::Sink)?;
                Ok(object
                    .data_mut()
                    .get_mut(range)
                    .ok_or(DropReason::SymbolOutOfRange)?)
            }
            Region::Memory { buf, limit } => {
                if range.end > *limit {
                    return Err(DropReason::SymbolOutOfRange.into());
                }
                if range.end > buf.len() {
                    grow(buf, range.end, *limit, &mut self.memory)?;
                }
                Ok(buf.get_mut(range).ok_or(DropReason::SymbolOutOfRange)?)
            }
        }
    }

    /// The bytes of block `sbn` in the region.
    fn block_mut(&mut self, sbn: u32) -> Result<&mut [u8], NotStored> {
        let partition = *self.tracker.partition();
        let (Some(offset), Some(len)) = (
            partition.block_offset_bytes(u64::from(sbn)),
            partition.block_len_bytes(u64::from(sbn)),
        ) else {
            return Err(DropReason::SymbolOutOfRange.into());
        };
        let start = usize::try_from(offset).map_err(|_| DropReason::SymbolOutOfRange)?;
        let end = usize::try_from(offset + len).map_err(|_| DropReason::SymbolOutOfRange)?;
        self.writable(start..end)
    }

    /// The sub-block layout of a block of `k` symbols, if its symbols are not contiguous.
    fn scattered_layout(&self, k: u32) -> Option<crate::fec::SubBlockLayout> {
        match &self.fec {
            Fec::Coded { code, .. } => code.scattered_layout(k),
            Fec::NoCode => None,
        }
    }

    /// Gives a decoder's scratch back to the budget.
    fn release(&mut self, decoder: &BlockDecoder) {
        self.memory.shrink(decoder.charged());
    }

    /// Tells block `sbn`'s decoder, if it has one, about new source symbols, and decodes the
    /// block if that made enough symbols; drops the decoder if the block is complete anyway.
    /// `Ok(true)` when the block was decoded.
    fn source_to_decoder(
        &mut self,
        sbn: u32,
        esi: u32,
        len: usize,
        block_completed: bool,
    ) -> Result<bool, NotStored> {
        let symbol_len = usize::from(self.meta.oti.encoding_symbol_length);
        let Fec::Coded { decoders, .. } = &mut self.fec else {
            return Ok(false);
        };
        if block_completed {
            if let Some(decoder) = decoders.remove(&sbn) {
                self.release(&decoder);
            }
            return Ok(false);
        }
        let Some(decoder) = decoders.get_mut(&sbn) else {
            return Ok(false);
        };
        let n = len.div_ceil(symbol_len) as u32;
        for e in esi..esi + n {
            decoder.source_received(e).map_err(fec_drop)?;
        }
        if !decoder.is_due() {
            return Ok(false);
        }
        self.decode_block(sbn)
    }

    /// Keeps repair symbol `esi` of block `sbn` (k source symbols) and decodes the block once
    /// enough symbols are known.
    fn push_repair(
        &mut self,
        sbn: u32,
        esi: u32,
        k: u32,
        payload: &[u8],
        max_concurrent_blocks: usize,
    ) -> Result<Repair, NotStored> {
        let Fec::Coded {
            code,
            decoders,
            refused,
        } = &mut self.fec
        else {
            // No-code has no repair symbols.
            return Err(DropReason::SymbolOutOfRange.into());
        };
        if esi >= code.esi_end(k) {
            return Err(DropReason::SymbolOutOfRange.into());
        }
        if self.tracker.is_block_complete(sbn) {
            return Ok(Repair::Duplicate);
        }
        if refused.contains_key(&sbn) {
            return Err(DropReason::DecodeCostLimit.into());
        }
        if !decoders.contains_key(&sbn) {
            if decoders.len() >= max_concurrent_blocks {
                return Err(DropReason::BlockLimit.into());
            }
            let mut decoder = BlockDecoder::new(code.decoder(k).map_err(fec_drop)?);
            let scratch = decoder.charged();
            if !self.memory.grow(scratch) {
                return Err(DropReason::MemoryLimit.into());
            }
            for e in 0..k {
                if self.tracker.is_received(sbn, e)
                    && let Err(e) = decoder.source_received(e)
                {
                    self.memory.shrink(scratch);
                    return Err(fec_drop(e).into());
                }
            }
            decoders.insert(sbn, decoder);
        }
        let Some(decoder) = decoders.get_mut(&sbn) else {
            return Ok(Repair::Duplicate);
        };
        // Charged before it is kept, given back if it is not.
        let per = decoder.per_repair();
        if !self.memory.grow(per) {
            return Err(DropReason::MemoryLimit.into());
        }
        let kept = match decoder.push_repair(esi, payload) {
            Ok(kept) => kept,
            Err(e) => {
                self.memory.shrink(per);
                return Err(fec_drop(e).into());
            }
        };
        if !kept {
            self.memory.shrink(per);
        }
        if kept && decoder.is_due() && self.decode_block(sbn)? {
            return Ok(Repair::Decoded);
        }
        Ok(if kept {
            Repair::Kept
        } else {
            Repair::Duplicate
        })
    }

    /// Recovers the missing source symbols of block `sbn` in place, frees its decoder and marks
    /// the block complete: `Ok(true)`. `Ok(false)`: the symbols known do not determine the block
    /// yet (RaptorQ, Raptor); the decoder waits for more.
    fn decode_block(&mut self, sbn: u32) -> Result<bool, NotStored> {
        let Fec::Coded {
            decoders, refused, ..
        } = &mut self.fec
        else {
            return Ok(false);
        };
        let Some(mut decoder) = decoders.remove(&sbn) else {
            return Ok(false);
        };
        if decoder.decode_cost() > self.max_decode_cost {
            // Refused before any table or coefficient is computed: the cost of a decode is
            // what a few packets could otherwise make this worker spend.
            refused.insert(sbn, ());
            self.release(&decoder);
            return Err(DropReason::DecodeCostLimit.into());
        }
        let missing = decoder.missing_source();
        let max_cost = self.max_decode_cost;
        let len = self
            .tracker
            .partition()
            .block_len_bytes(u64::from(sbn))
            .unwrap_or(0);
        let away = self
            .deferral
            .as_ref()
            .map_or(Away::No, |d| d.take(len, decoder.attempt_bytes()));
        if let Away::Later = away {
            if let Fec::Coded { decoders, .. } = &mut self.fec {
                decoders.insert(sbn, decoder);
            }
            return Ok(false);
        }
        if let Away::Now(charge) = away {
            let bytes = match self.block_mut(sbn) {
                Ok(block) => block.to_vec(),
                Err(e) => {
                    self.release(&decoder);
                    return Err(e);
                }
            };
            if let Some(d) = &mut self.deferral {
                d.away.insert(sbn, ());
                d.ready.push(AwayBlock {
                    sbn,
                    decoder,
                    bytes,
                    max_cost,
                    missing,
                    outcome: None,
                    _charge: charge,
                });
            }
            return Ok(false);
        }
        let decoded = match self.block_mut(sbn) {
            Ok(block) => decoder
                .decode(block, max_cost)
                .map_err(|e| fec_drop(e).into()),
            Err(e) => Err(e),
        };
        self.settle(sbn, decoder, decoded, missing)
    }

    /// What a decode of block `sbn` (`missing` source symbols short) leads to: the block
    /// complete and its decoder freed (`Ok(true)`), the decoder kept for more symbols
    /// (`Ok(false)`), or the block refused or started again (`Err`).
    fn settle(
        &mut self,
        sbn: u32,
        decoder: BlockDecoder,
        decoded: Result<bool, NotStored>,
        missing: u32,
    ) -> Result<bool, NotStored> {
        match decoded {
            Ok(true) => {
                self.release(&decoder);
                self.tracker.mark_block_complete(sbn);
                self.repair_used += u64::from(missing);
                Ok(true)
            }
            Ok(false) => {
                if let Fec::Coded { decoders, .. } = &mut self.fec {
                    decoders.insert(sbn, decoder);
                }
                Ok(false)
            }
            Err(NotStored::Dropped(DropReason::DecodeCostLimit)) => {
                // Refused as the RS cost check refuses: more symbols would only buy another
                // attempt at the same cost.
                if let Fec::Coded { refused, .. } = &mut self.fec {
                    refused.insert(sbn, ());
                }
                self.release(&decoder);
                Err(DropReason::DecodeCostLimit.into())
            }
            Err(e) => {
                // A block the codec refuses starts again from the symbols in the region.
                self.release(&decoder);
                Err(e)
            }
        }
    }

    /// Starts the write-back of a sink region (see [`SinkObject::start_write_back`]).
    pub(crate) fn start_write_back(&self) {
        if let Region::Sink(object) = &self.region {
            object.start_write_back();
        }
    }

    /// The source symbols decodes recovered since the last call (the repair symbols used).
    pub(crate) fn take_repair_used(&mut self) -> u64 {
        std::mem::take(&mut self.repair_used)
    }

    /// Feeds the MD5 with the in-order prefix, if it grew.
    fn hash_prefix(&mut self) {
        let Some(md5) = self.md5.as_mut().filter(|_| self.hash_as_received) else {
            return;
        };
        let upto = if self.tracker.prefix_can_advance() {
            self.tracker.advance_prefix()
        } else {
            self.tracker.prefix_bytes()
        };
        if md5.hashed >= upto {
            return;
        }
        // A decoded block, or a burst of interleaved blocks, moves the prefix by megabytes at
        // once; hashed in one go it would keep the receive loop from its ring for
        // milliseconds. The rest is hashed with the object's next packets, or at its commit.
        let end = upto.min(md5.hashed.saturating_add(HASH_SLICE));
        let region: &[u8] = match &self.region {
            Region::Sink(object) => object.data(),
            Region::Memory { buf, .. } => buf,
        };
        if let Some(prefix) = region.get(md5.hashed as usize..end as usize) {
            md5.hasher.update(prefix);
            md5.hashed = end;
        }
    }

    /// Verifies and commits a complete object.
    pub(crate) fn finish<S: ObjectSink<Object = O>>(
        mut self,
        sink: &mut S,
        max_object_bytes: u64,
    ) -> Result<(), FailReason> {
        if self.meta.cenc == Cenc::Null
            && let Region::Sink(object) = self.region
        {
            return commit_in_place(object, self.md5, self.tracker);
        }
        let cap = self
            .meta
            .content_length
            .unwrap_or(max_object_bytes)
            .min(max_object_bytes);
        let encoded: &[u8] = match &self.region {
            Region::Sink(object) => object.data(),
            Region::Memory { buf, .. } => buf,
        };
        // The content's length, for the sink: the FDT's Content-Length, or a first pass that
        // only counts (a content-encoded object without one is decoded twice, never held).
        let len = match self.meta.content_length {
            Some(len) => len,
            None => content::decode_each(self.meta.cenc, encoded, cap, |_| Ok::<(), ()>(()))
                .map_err(|e| match e {
                    content::Stop::Decode(e) => FailReason::ContentDecoding(e),
                    content::Stop::Consumer(()) => FailReason::Sink("counting".into()),
                })?,
        };
        self.desc.len = len;
        let mut object = sink
            .create(&self.desc)
            .map_err(|e| FailReason::Sink(e.to_string()))?;
        let mut hasher = self.expected_md5.map(|_| Md5::new());
        let mut at = 0usize;
        let decoded = content::decode_each(self.meta.cenc, encoded, cap, |chunk| {
            let end = at + chunk.len();
            object
                .reserve(at..end)
                .map_err(|e| FailReason::Sink(e.to_string()))?;
            let Some(region) = object.data_mut().get_mut(at..end) else {
                // More than the Content-Length the region was made for.
                return Err(FailReason::ContentLength {
                    expected: len,
                    got: end as u64,
                });
            };
            region.copy_from_slice(chunk);
            if let Some(h) = hasher.as_mut() {
                h.update(chunk);
            }
            at = end;
            Ok(())
        });
        let checked = match decoded {
            Err(content::Stop::Decode(e)) => Err(FailReason::ContentDecoding(e)),
            Err(content::Stop::Consumer(reason)) => Err(reason),
            Ok(got) if got != len => Err(FailReason::ContentLength { expected: len, got }),
            Ok(_) => match (hasher, self.expected_md5) {
                (Some(h), Some(expected)) => {
                    if h.finalize() == expected {
                        Ok(())
                    } else {
                        Err(FailReason::Md5Mismatch)
                    }
                }
                _ => Ok(()),
            },
        };
        if let Err(reason) = checked {
            object.abort();
            self.abort();
            return Err(reason);
        }
        let committed = object.commit().map_err(|e| FailReason::Sink(e.to_string()));
        // The encoded bytes (the sink's temporary file, or memory) go.
        self.abort();
        committed
    }

    /// Decodes a complete in-memory object (an FDT instance) into at most `max_bytes` bytes.
    pub(crate) fn finish_in_memory(self, max_bytes: usize) -> Result<Vec<u8>, FailReason> {
        let encoded: &[u8] = match &self.region {
            Region::Sink(object) => object.data(),
            Region::Memory { buf, .. } => buf,
        };
        let mut out = Vec::new();
        content::decode_each(self.meta.cenc, encoded, max_bytes as u64, |chunk| {
            out.extend_from_slice(chunk);
            Ok::<(), ()>(())
        })
        .map_err(|e| match e {
            content::Stop::Decode(e) => FailReason::ContentDecoding(e),
            content::Stop::Consumer(()) => FailReason::Sink("decoding".into()),
        })?;
        Ok(out)
    }

    /// Bytes held by the FEC scratch of blocks being decoded (part of `reserved_bytes`).
    #[cfg(test)]
    pub(crate) fn scratch_bytes(&self) -> u64 {
        match &self.fec {
            Fec::NoCode => 0,
            Fec::Coded { decoders, .. } => decoders.values().map(BlockDecoder::charged).sum(),
        }
    }

    /// Discards everything written.
    pub(crate) fn abort(self) {
        if let Region::Sink(object) = self.region {
            object.abort();
        }
    }

    /// Whether the object's missing bytes can be fetched by byte range from a copy of the
    /// file (3GPP TS 26.346 §9.3): it has a Content-Location, is written straight into the
    /// sink (no content encoding, so its bytes on the wire are the file's), and MD5 or not, it
    /// is committed as received.
    pub(crate) fn is_repairable(&self) -> bool {
        self.from_fdt
            && self.meta.content_location.is_some()
            && self.meta.cenc == Cenc::Null
            && matches!(self.region, Region::Sink(_))
    }

    /// The partitioning of the object into blocks and symbols.
    pub(crate) fn partition(&self) -> &BlockPartition {
        self.tracker.partition()
    }

    /// Whether source symbol `esi` of block `sbn` is in the region.
    pub(crate) fn is_symbol_received(&self, sbn: u32, esi: u32) -> bool {
        self.tracker.is_received(sbn, esi)
    }

    /// Whether the blocks of this object are laid out in sub-blocks, so that a source symbol
    /// is not one run of the object's bytes.
    pub(crate) fn is_sub_blocked(&self) -> bool {
        matches!(&self.fec, Fec::Coded { code, .. } if code.is_sub_blocked())
    }

    /// How many more source symbols block `sbn` needs to be complete: none when it is; with
    /// no-code every missing one; with FEC what it lacks of k distinct symbols, or, for a
    /// block that already holds k and did not decode (RaptorQ and Raptor are not MDS),
    /// `extra` more; every missing one when its decode was refused.
    pub(crate) fn repair_need(&self, sbn: u32, extra: u32) -> u32 {
        let partition = self.tracker.partition();
        let Some(k) = partition.block_len_symbols(u64::from(sbn)) else {
            return 0;
        };
        if self.tracker.is_block_complete(sbn) {
            return 0;
        }
        let missing = (0..k)
            .filter(|&esi| !self.tracker.is_received(sbn, esi))
            .count() as u32;
        match &self.fec {
            Fec::NoCode => missing,
            Fec::Coded {
                decoders, refused, ..
            } => match decoders.get(&sbn) {
                _ if refused.contains_key(&sbn) => missing,
                None => missing,
                Some(d) if d.nb_known() >= k => extra.min(missing),
                Some(d) => (k - d.nb_known()).min(missing),
            },
        }
    }

    /// Writes the whole of block `sbn` (its bytes in the object, as a repair server has them)
    /// and marks it complete: how a sub-blocked block is repaired, whose source symbols are
    /// not runs of the object's bytes.
    pub(crate) fn write_block(&mut self, sbn: u32, bytes: &[u8]) -> Result<(), NotStored> {
        let block = self.block_mut(sbn)?;
        if block.len() != bytes.len() {
            return Err(DropReason::SymbolLength.into());
        }
        block.copy_from_slice(bytes);
        if let Fec::Coded { decoders, .. } = &mut self.fec
            && let Some(decoder) = decoders.remove(&sbn)
        {
            self.memory.shrink(decoder.charged());
        }
        self.tracker.mark_block_complete(sbn);
        self.hash_prefix();
        Ok(())
    }

    /// Stores source symbols fetched by a repair, as if they had arrived in packets: FEC
    /// decodes blocks they complete. Its memory is no longer the receiver's budget's
    /// ([`Self::leave_budgets`]).
    pub(crate) fn push_repaired(
        &mut self,
        sbn: u32,
        esi: u32,
        payload: &[u8],
    ) -> Result<(), NotStored> {
        self.push(sbn, esi, payload, None, usize::MAX).map(|_| ())
    }

    /// Verifies and commits an object received straight into its sink region (no content
    /// encoding), the sink not needed: how a repaired object is finished away from the
    /// receiver.
    pub(crate) fn finish_in_place(self) -> Result<(), FailReason> {
        match self.region {
            Region::Sink(object) if self.meta.cenc == Cenc::Null => {
                commit_in_place(object, self.md5, self.tracker)
            }
            region => {
                if let Region::Sink(object) = region {
                    object.abort();
                }
                Err(FailReason::Sink("not received in place".into()))
            }
        }
    }
}

/// Checks the MD5 of an object received in its sink region, when announced, and commits it.
fn commit_in_place<O: SinkObject>(
    object: O,
    md5: Option<PrefixMd5>,
    mut tracker: SymbolTracker,
) -> Result<(), FailReason> {
    if let Some(mut md5) = md5 {
        let upto = tracker.advance_prefix();
        if let Some(rest) = object.data().get(md5.hashed as usize..upto as usize) {
            md5.hasher.update(rest);
        }
        if md5.hasher.finalize() != md5.expected {
            object.abort();
            return Err(FailReason::Md5Mismatch);
        }
    }
    object.commit().map_err(|e| FailReason::Sink(e.to_string()))
}

/// Grows an in-memory region to `end` bytes (at most `limit`), adding what it allocates to the
/// object's `charge`.
fn grow(
    buf: &mut Vec<u8>,
    end: usize,
    limit: usize,
    charge: &mut Charge,
) -> Result<(), DropReason> {
    if end > buf.capacity() {
        // Doubling, so that a region written front to back is not copied at every symbol.
        let want = end.max(buf.capacity().saturating_mul(2)).min(limit);
        let more = (want - buf.capacity()) as u64;
        if !charge.grow(more) {
            return Err(DropReason::MemoryLimit);
        }
        if buf.try_reserve_exact(want - buf.len()).is_err() {
            charge.shrink(more);
            return Err(DropReason::MemoryLimit);
        }
        // The allocator may give more than asked: charged as asked, the rest is its slack.
    }
    buf.resize(end, 0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cenc;
    use crate::hash::md5;
    use crate::receiver::sink::MemorySink;
    use crate::wire::{FecEncodingId, Oti, SchemeSpecific};

    const E: u16 = 100;
    const B: u32 = 4;

    fn meta(
        transfer_length: u64,
        cenc: Cenc,
        md5: Option<String>,
        content_length: Option<u64>,
    ) -> ObjectMetadata {
        ObjectMetadata {
            content_location: Some("x".into()),
            path: None,
            content_length,
            transfer_length,
            content_type: None,
            content_md5: md5,
            oti: Oti {
                fec_encoding_id: FecEncodingId::NoCode,
                fec_instance_id: 0,
                transfer_length,
                encoding_symbol_length: E,
                maximum_source_block_length: B,
                max_number_of_encoding_symbols: B,
                scheme_specific: SchemeSpecific::None,
            },
            cenc,
            etag: None,
            groups: Vec::new(),
            cache_control: None,
            fdt_instance_id: Some(1),
        }
    }

    fn md5_text(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(md5::digest(data))
    }

    fn start(
        sink: &mut MemorySink,
        meta: ObjectMetadata,
    ) -> Result<ObjectReceiver<<MemorySink as ObjectSink>::Object>, FailReason> {
        let partition = partition_for(&meta)?;
        let desc = ObjectDescription {
            tsi: 1,
            toi: 2,
            path: None,
            len: meta.transfer_length,
            content_type: None,
        };
        let outside = Budget::new(u64::MAX);
        let start = ObjectStart {
            desc,
            receiving: outside.force(sink_reservation(&meta)),
            memory: outside.force(0),
            meta: Arc::new(meta),
            partition,
            from_fdt: true,
            max_decode_cost: u64::MAX,
        };
        ObjectReceiver::start(sink, start, true, SystemTime::UNIX_EPOCH)
    }

    /// Pushes every symbol of `wire` in the order given by `order` (a permutation seed).
    fn push_all(
        object: &mut ObjectReceiver<<MemorySink as ObjectSink>::Object>,
        wire: &[u8],
        reverse_blocks: bool,
    ) {
        let p = BlockPartition::rfc5052(wire.len() as u64, u32::from(E), B).unwrap();
        let mut blocks: Vec<u64> = (0..p.nb_blocks()).collect();
        if reverse_blocks {
            blocks.reverse();
        }
        for sbn in blocks {
            for esi in (0..p.block_len_symbols(sbn).unwrap()).rev() {
                let off = p.symbol_offset_bytes(sbn, esi).unwrap() as usize;
                let len = p.source_symbol_len_bytes(sbn, esi).unwrap() as usize;
                let pushed = object
                    .push(sbn as u32, esi, &wire[off..off + len], None, usize::MAX)
                    .unwrap();
                assert!(matches!(pushed, Pushed::New { .. }));
            }
        }
        assert!(object.is_complete());
    }

    #[test]
    fn md5_of_an_out_of_order_object_is_verified_from_its_growing_prefix() {
        let data: Vec<u8> = (0..2345u32).map(|i| (i * 7 + i / 300) as u8).collect();
        for reverse in [false, true] {
            let mut sink = MemorySink::new(1 << 20);
            let mut object = start(
                &mut sink,
                meta(data.len() as u64, Cenc::Null, Some(md5_text(&data)), None),
            )
            .unwrap();
            push_all(&mut object, &data, reverse);
            object.finish(&mut sink, 1 << 20).unwrap();
            assert_eq!(sink.take_completed()[0].data, data);
        }
    }

    #[test]
    fn a_prefix_that_jumps_is_hashed_a_slice_per_packet_and_caught_up() {
        // Symbol 0 last: the prefix jumps from nothing to all but the tail at once.
        let len = 4 * HASH_SLICE as usize + 1234;
        let data: Vec<u8> = (0..len).map(|i| (i * 13 + i / 999) as u8).collect();
        let mut sink = MemorySink::new(1 << 30);
        let mut object = start(
            &mut sink,
            meta(len as u64, Cenc::Null, Some(md5_text(&data)), None),
        )
        .unwrap();
        let p = BlockPartition::rfc5052(len as u64, u32::from(E), B).unwrap();
        let symbols: Vec<(u32, u32, std::ops::Range<usize>)> = (0..p.nb_blocks())
            .flat_map(|sbn| {
                (0..p.block_len_symbols(sbn).unwrap()).map(move |esi| {
                    let off = p.symbol_offset_bytes(sbn, esi).unwrap() as usize;
                    let n = p.source_symbol_len_bytes(sbn, esi).unwrap() as usize;
                    (sbn as u32, esi, off..off + n)
                })
            })
            .collect();
        let symbol = |i: usize| symbols[i].clone();
        let last = symbols.len() - 1;
        for i in (1..last).chain([0]) {
            let (sbn, esi, range) = symbol(i);
            object
                .push(sbn, esi, &data[range], None, usize::MAX)
                .unwrap();
        }
        let hashed = |o: &ObjectReceiver<_>| o.md5.as_ref().unwrap().hashed;
        assert_eq!(
            hashed(&object),
            HASH_SLICE,
            "one slice for the packet that moved it"
        );
        let (sbn, esi, range) = symbol(last);
        object
            .push(sbn, esi, &data[range], None, usize::MAX)
            .unwrap();
        assert_eq!(
            hashed(&object),
            2 * HASH_SLICE,
            "a slice more with the next packet"
        );
        assert!(object.is_complete());
        // The commit hashes the rest.
        object.finish(&mut sink, 1 << 30).unwrap();
        assert_eq!(sink.take_completed()[0].data, data);
    }

    #[test]
    fn a_wrong_md5_aborts_the_object() {
        let data = vec![5u8; 1000];
        let mut sink = MemorySink::new(1 << 20);
        let mut object = start(
            &mut sink,
            meta(1000, Cenc::Null, Some(md5_text(b"other")), None),
        )
        .unwrap();
        push_all(&mut object, &data, false);
        assert_eq!(
            object.finish(&mut sink, 1 << 20),
            Err(FailReason::Md5Mismatch)
        );
        assert!(sink.take_completed().is_empty());
        assert!(matches!(
            start(
                &mut sink,
                meta(1000, Cenc::Null, Some("not base64 md5".into()), None)
            ),
            Err(FailReason::BadMd5)
        ));
    }

    #[test]
    fn reed_solomon_repair_symbols_recover_lost_source_symbols_in_place() {
        // 950 bytes, E = 100, B = 4: blocks of 4, 3, 3 symbols, the last one 50 bytes short.
        let data: Vec<u8> = (0..950u32).map(|i| (i * 13 + 5) as u8).collect();
        let mut m = meta(950, Cenc::Null, Some(md5_text(&data)), None);
        m.oti.fec_encoding_id = FecEncodingId::ReedSolomonGf28;
        m.oti.max_number_of_encoding_symbols = 7;
        let oti = m.oti;
        let mut sink = MemorySink::new(1 << 20);
        let mut object = start(&mut sink, m).unwrap();
        let p = BlockPartition::rfc5052(950, u32::from(E), B).unwrap();
        for sbn in 0..p.nb_blocks() {
            let k = p.block_len_symbols(sbn).unwrap();
            let off = p.block_offset_bytes(sbn).unwrap() as usize;
            let len = p.block_len_bytes(sbn).unwrap() as usize;
            let code = crate::fec::ReedSolomon::for_oti(&oti, k, 7).unwrap();
            let mut repair = vec![0u8; (7 - k as usize) * usize::from(E)];
            code.encode(&data[off..off + len], &mut repair).unwrap();
            // Lose the first two source symbols of every block.
            for esi in 2..k {
                let s = off + esi as usize * usize::from(E);
                let e = (s + usize::from(E)).min(off + len);
                object.push(sbn as u32, esi, &data[s..e], None, 8).unwrap();
            }
            let mut decoded = false;
            for (i, symbol) in repair.chunks(usize::from(E)).enumerate() {
                match object
                    .push(sbn as u32, k + i as u32, symbol, None, 8)
                    .unwrap()
                {
                    Pushed::New {
                        block_completed: true,
                    } => {
                        decoded = true;
                        break;
                    }
                    Pushed::New {
                        block_completed: false,
                    } => {
                        assert!(object.scratch_bytes() > 0);
                        assert_eq!(object.memory_bytes(), object.scratch_bytes());
                    }
                    Pushed::Duplicate => unreachable!(),
                }
            }
            assert!(decoded);
            assert_eq!((object.memory_bytes(), object.scratch_bytes()), (0, 0));
        }
        assert!(object.is_complete());
        object.finish(&mut sink, 1 << 20).unwrap();
        assert_eq!(sink.take_completed()[0].data, data);
    }

    #[test]
    fn a_content_encoded_object_is_decoded_into_the_sink_and_checked() {
        let content: Vec<u8> = b"FLUTE content encoding ".repeat(200);
        let wire = cenc::encode(Cenc::Zlib, &content).unwrap();
        let mut sink = MemorySink::new(1 << 20);
        let m = meta(
            wire.len() as u64,
            Cenc::Zlib,
            Some(md5_text(&content)),
            Some(content.len() as u64),
        );
        let mut object = start(&mut sink, m).unwrap();
        push_all(&mut object, &wire, true);
        object.finish(&mut sink, 1 << 20).unwrap();
        let done = sink.take_completed();
        assert_eq!(done[0].data, content);
        assert_eq!(done[0].desc.len, content.len() as u64);
        // A Content-Length that the decoded content does not have fails the object.
        let m = meta(
            wire.len() as u64,
            Cenc::Zlib,
            None,
            Some(content.len() as u64 + 1),
        );
        let mut object = start(&mut sink, m).unwrap();
        push_all(&mut object, &wire, false);
        assert!(matches!(
            object.finish(&mut sink, 1 << 20),
            Err(FailReason::ContentLength { .. })
        ));
        assert!(sink.take_completed().is_empty());
    }
}
