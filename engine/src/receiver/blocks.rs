//! Which source symbols of an object have arrived, block by block (RFC 5052 §9.1 partitioning),
//! and where each one goes in the object.
//!
//! One bit per source symbol and one counter per source block: a few bytes per kilobyte of
//! object, allocated once when the object starts, nothing per packet. The tracker also keeps the
//! length of the in-order prefix (every symbol before it has arrived), which is what a running
//! MD5 can be fed with as the object grows.
//!
//! With no-code FEC (ID 0) a block is complete when all its source symbols are in. A FEC scheme
//! plugs in at [`Placement::block_completed`]'s level: its repair symbols (ESI ≥ k) go to a
//! per-block scratch, and when enough symbols are in, the missing source symbols are decoded in
//! place into the object region and marked here with [`SymbolTracker::mark_block_complete`].

use crate::fec::BlockPartition;

use super::error::DropReason;

/// Where a newly received run of source symbols goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placement {
    /// Byte offset in the object.
    pub offset: usize,
    /// Bytes to copy: the payload without the padding of the object's last symbol.
    pub len: usize,
    /// The symbols completed their block.
    pub block_completed: bool,
}

/// What to do with a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// New symbols: copy them there.
    New(Placement),
    /// Every symbol it carries is already in.
    Duplicate,
}

/// Bookkeeping of the source symbols of one object.
#[derive(Debug)]
pub(crate) struct SymbolTracker {
    partition: BlockPartition,
    symbol_len: u64,
    received: Vec<u64>,
    block_received: Vec<u32>,
    symbols_received: u64,
    /// Symbols `0..contiguous` have all arrived.
    contiguous: u64,
}

impl SymbolTracker {
    /// Bytes of state a tracker for `partition` allocates (charged to the receiving budget).
    pub(super) fn state_bytes(partition: &BlockPartition) -> u64 {
        partition.nb_source_symbols().div_ceil(64) * 8 + partition.nb_blocks() * 4
    }

    /// A tracker with nothing received. `None` if the state does not fit in memory.
    pub(super) fn new(partition: BlockPartition) -> Option<Self> {
        let words = usize::try_from(partition.nb_source_symbols().div_ceil(64)).ok()?;
        let blocks = usize::try_from(partition.nb_blocks()).ok()?;
        let mut received = Vec::new();
        received.try_reserve_exact(words).ok()?;
        received.resize(words, 0);
        let mut block_received = Vec::new();
        block_received.try_reserve_exact(blocks).ok()?;
        block_received.resize(blocks, 0);
        Some(Self {
            symbol_len: u64::from(partition.symbol_len()),
            partition,
            received,
            block_received,
            symbols_received: 0,
            contiguous: 0,
        })
    }

    /// The partitioning.
    pub(super) fn partition(&self) -> &BlockPartition {
        &self.partition
    }

    /// Whether source symbol `esi` of block `sbn` has arrived.
    pub(super) fn is_received(&self, sbn: u32, esi: u32) -> bool {
        self.partition
            .first_symbol_of_block(u64::from(sbn))
            .is_some_and(|first| self.bit(first + u64::from(esi)))
    }

    /// Whether every source symbol of block `sbn` is in.
    pub(super) fn is_block_complete(&self, sbn: u32) -> bool {
        match (
            self.partition.block_len_symbols(u64::from(sbn)),
            self.block_received.get(sbn as usize),
        ) {
            (Some(k), Some(&n)) => n == k,
            _ => false,
        }
    }

    /// Every source symbol has arrived.
    pub(super) fn is_complete(&self) -> bool {
        self.symbols_received == self.partition.nb_source_symbols()
    }

    /// Bytes of the object received so far: the last symbol of the object counts for the
    /// bytes it carries, which may be fewer than E.
    pub(super) fn received_bytes(&self) -> u64 {
        let len = self.partition.transfer_length();
        let full = self.symbols_received * self.symbol_len;
        let padding = (self.partition.nb_source_symbols() * self.symbol_len).saturating_sub(len);
        let last_in = self
            .partition
            .nb_source_symbols()
            .checked_sub(1)
            .is_some_and(|last| self.bit(last));
        if last_in { full - padding } else { full }.min(len)
    }

    fn bit(&self, symbol: u64) -> bool {
        self.received
            .get((symbol / 64) as usize)
            .is_some_and(|w| w & (1 << (symbol % 64)) != 0)
    }

    fn set_bit(&mut self, symbol: u64) {
        if let Some(w) = self.received.get_mut((symbol / 64) as usize) {
            *w |= 1 << (symbol % 64);
        }
    }

    /// Checks a payload carrying source symbols `esi..` of block `sbn`, marks them received
    /// and says where to copy it. A payload carries one or more whole symbols; only the last
    /// symbol of the object may be short (RFC 5445 §3, RFC 5052 §9.1).
    pub(super) fn place(
        &mut self,
        sbn: u32,
        esi: u32,
        payload_len: usize,
    ) -> Result<Place, DropReason> {
        let sbn = u64::from(sbn);
        let k = self
            .partition
            .block_len_symbols(sbn)
            .ok_or(DropReason::SymbolOutOfRange)?;
        if esi >= k {
            // A repair symbol: no-code has none (a FEC decoder would take it here).
            return Err(DropReason::SymbolOutOfRange);
        }
        let first = self
            .partition
            .first_symbol_of_block(sbn)
            .ok_or(DropReason::SymbolOutOfRange)?
            + u64::from(esi);
        let offset = first * self.symbol_len;
        let len = payload_len as u64;
        let n = len.div_ceil(self.symbol_len);
        let full = n * self.symbol_len;
        let expected = full.min(self.partition.transfer_length() - offset);
        // The last symbol of the object may come short or padded to E (RFC 5510 §8.4 lets a
        // sender leave the padding out; flute sends it for Reed-Solomon).
        if n == 0 || n > u64::from(k - esi) || (len != expected && len != full) {
            return Err(DropReason::SymbolLength);
        }
        let block = usize::try_from(sbn).map_err(|_| DropReason::SymbolOutOfRange)?;
        let in_block = self
            .block_received
            .get(block)
            .copied()
            .ok_or(DropReason::SymbolOutOfRange)?;
        let mut new = 0u32;
        if n == 1 {
            if self.bit(first) {
                return Ok(Place::Duplicate);
            }
            self.set_bit(first);
            new = 1;
        } else {
            if (first..first + n).all(|s| self.bit(s)) {
                return Ok(Place::Duplicate);
            }
            for s in first..first + n {
                if !self.bit(s) {
                    self.set_bit(s);
                    new += 1;
                }
            }
        }
        let now_in = in_block + new;
        if let Some(c) = self.block_received.get_mut(block) {
            *c = now_in;
        }
        self.symbols_received += u64::from(new);
        let block_completed = now_in == k;
        Ok(Place::New(Placement {
            offset: offset as usize,
            len: expected as usize,
            block_completed,
        }))
    }

    /// Marks every source symbol of block `sbn` received: what a FEC decoder does once it has
    /// written the missing ones in place.
    pub(super) fn mark_block_complete(&mut self, sbn: u32) {
        let sbn = u64::from(sbn);
        let (Some(k), Some(first)) = (
            self.partition.block_len_symbols(sbn),
            self.partition.first_symbol_of_block(sbn),
        ) else {
            return;
        };
        let Some(&in_block) = self.block_received.get(sbn as usize) else {
            return;
        };
        if in_block == k {
            return;
        }
        for s in first..first + u64::from(k) {
            self.set_bit(s);
        }
        self.symbols_received += u64::from(k - in_block);
        if let Some(c) = self.block_received.get_mut(sbn as usize) {
            *c = k;
        }
    }

    /// The first symbol not yet counted in the in-order prefix has arrived, so the prefix can
    /// grow.
    pub(super) fn prefix_can_advance(&self) -> bool {
        self.contiguous < self.partition.nb_source_symbols() && self.bit(self.contiguous)
    }

    /// Bytes at the start of the object known to have all arrived, as of the last
    /// [`Self::advance_prefix`].
    pub(super) fn prefix_bytes(&self) -> u64 {
        (self.contiguous * self.symbol_len).min(self.partition.transfer_length())
    }

    /// Bytes at the start of the object that have all arrived, after moving past every
    /// symbol received in order.
    pub(super) fn advance_prefix(&mut self) -> u64 {
        let total = self.partition.nb_source_symbols();
        while self.contiguous < total {
            let shift = self.contiguous % 64;
            let Some(word) = self.received.get((self.contiguous / 64) as usize) else {
                break;
            };
            let ones = u64::from((!(word >> shift)).trailing_zeros());
            self.contiguous = (self.contiguous + ones).min(total);
            if ones < 64 - shift {
                break;
            }
        }
        self.prefix_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tracker(len: u64, e: u32, b: u32) -> SymbolTracker {
        SymbolTracker::new(BlockPartition::rfc5052(len, e, b).unwrap()).unwrap()
    }

    #[test]
    fn symbols_land_at_their_offsets_and_duplicates_are_seen() {
        // 250 bytes, E = 100, B = 2: block 0 = symbols 0, 1; block 1 = symbol 2 (50 bytes).
        let mut t = tracker(250, 100, 2);
        assert_eq!(
            t.place(1, 0, 50),
            Ok(Place::New(Placement {
                offset: 200,
                len: 50,
                block_completed: true
            }))
        );
        assert_eq!(t.advance_prefix(), 0);
        assert_eq!(t.place(1, 0, 50), Ok(Place::Duplicate));
        assert!(
            matches!(t.place(0, 1, 100), Ok(Place::New(p)) if p.offset == 100 && !p.block_completed)
        );
        assert!(!t.is_complete());
        assert!(
            matches!(t.place(0, 0, 100), Ok(Place::New(p)) if p.offset == 0 && p.block_completed)
        );
        assert!(t.is_complete());
        assert_eq!(t.advance_prefix(), 250);
        assert_eq!(t.received_bytes(), 250);
    }

    #[test]
    fn wrong_lengths_and_positions_are_typed_drops() {
        let mut t = tracker(250, 100, 2);
        assert_eq!(t.place(2, 0, 100), Err(DropReason::SymbolOutOfRange));
        assert_eq!(t.place(0, 2, 100), Err(DropReason::SymbolOutOfRange));
        assert_eq!(t.place(0, 0, 0), Err(DropReason::SymbolLength));
        assert_eq!(t.place(0, 0, 99), Err(DropReason::SymbolLength));
        assert_eq!(t.place(0, 0, 150), Err(DropReason::SymbolLength));
        assert_eq!(t.place(0, 1, 200), Err(DropReason::SymbolLength));
        assert_eq!(t.place(1, 0, 60), Err(DropReason::SymbolLength));
        assert_eq!(t.place(1, 0, 101), Err(DropReason::SymbolLength));
        // The last symbol padded to E: only its 50 bytes are copied.
        assert!(matches!(t.place(1, 0, 100), Ok(Place::New(p)) if p.len == 50));
        // Two symbols in one payload are fine.
        assert!(matches!(t.place(0, 0, 200), Ok(Place::New(p)) if p.block_completed));
    }

    #[test]
    fn source_symbols_of_any_number_of_partial_blocks_are_taken() {
        // The tracker's state is allocated for every block up front (and charged to the
        // receiving budget), so blocks that are only partly received cost nothing more: a lossy
        // first pass over a large object leaves most blocks partial, and a limit here would
        // drop the symbols the carousel brings next.
        let mut t = tracker(200_000, 100, 2);
        for sbn in 0..1000 {
            assert!(matches!(t.place(sbn, 0, 100), Ok(Place::New(p)) if !p.block_completed));
        }
    }

    #[test]
    fn a_decoded_block_counts_as_received() {
        let mut t = tracker(400, 100, 2);
        t.place(0, 0, 100).unwrap();
        t.mark_block_complete(0);
        t.mark_block_complete(1);
        assert!(t.is_complete());
        assert_eq!(t.advance_prefix(), 400);
    }

    proptest! {
        #[test]
        fn any_arrival_order_completes_with_the_right_prefix(
            len in 1u64..5000, e in 1u32..300, b in 1u32..40, seed in any::<u64>()
        ) {
            let p = BlockPartition::rfc5052(len, e, b).unwrap();
            let mut t = SymbolTracker::new(p).unwrap();
            let mut symbols: Vec<(u32, u32)> = (0..p.nb_blocks())
                .flat_map(|sbn| (0..p.block_len_symbols(sbn).unwrap()).map(move |esi| (sbn as u32, esi)))
                .collect();
            let mut x = seed | 1;
            for i in (1..symbols.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                symbols.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut covered = vec![false; len as usize];
            for (sbn, esi) in symbols {
                let l = p.source_symbol_len_bytes(u64::from(sbn), esi).unwrap() as usize;
                let prefix_before = t.advance_prefix();
                match t.place(sbn, esi, l).unwrap() {
                    Place::New(pl) => {
                        for c in &mut covered[pl.offset..pl.offset + pl.len] { prop_assert!(!*c); *c = true; }
                    }
                    Place::Duplicate => prop_assert!(false),
                }
                let prefix = t.advance_prefix() as usize;
                prop_assert!(prefix as u64 >= prefix_before);
                prop_assert!(covered[..prefix].iter().all(|c| *c));
                prop_assert!(prefix == covered.len() || !covered[prefix]);
            }
            prop_assert!(t.is_complete());
            prop_assert_eq!(t.advance_prefix(), len);
        }
    }
}
