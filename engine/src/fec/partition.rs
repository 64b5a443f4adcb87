//! Block partitioning: how an object of `transfer_length` bytes is cut into source blocks of
//! encoding symbols.
//!
//! - RFC 5052 §9.1 (no-code, Reed-Solomon RFC 5510): T = ⌈L/E⌉ source symbols, N = ⌈T/B⌉ blocks,
//!   then Partition[T, N].
//! - RFC 6330 §4.4.1.2 (RaptorQ) and RFC 5053 §5.3.1.2 (Raptor): Kt = ⌈F/T⌉ symbols in Z blocks
//!   given by the OTI, Partition[Kt, Z]; each block further split into N sub-blocks with
//!   Partition[T/Al, N] (see [`SubBlockPartition`]).
//!
//! Partition[I, J] (RFC 6330 §4.4.1.2) gives JL = I − ⌊I/J⌋·J blocks of IL = ⌈I/J⌉ symbols first,
//! then JS = J − JL blocks of IS = ⌊I/J⌋ symbols. Every value here comes from the network, so all
//! arithmetic is checked and every impossible parameter is a [`PartitionError`].

use thiserror::Error;

/// Why a set of partitioning parameters cannot describe an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PartitionError {
    /// The encoding symbol length E (or T) is 0.
    #[error("encoding symbol length is 0")]
    ZeroSymbolLength,
    /// The maximum source block length B is 0 while the object has data.
    #[error("maximum source block length is 0")]
    ZeroMaxSourceBlockLength,
    /// The number of source blocks Z is 0 while the object has data.
    #[error("number of source blocks (Z) is 0")]
    ZeroSourceBlocks,
    /// The number of sub-blocks N is 0.
    #[error("number of sub-blocks (N) is 0")]
    ZeroSubBlocks,
    /// The symbol alignment Al is 0.
    #[error("symbol alignment (Al) is 0")]
    ZeroAlignment,
    /// T is not a multiple of Al (RFC 6330 §4.3, RFC 5053 §4.2).
    #[error("symbol length {symbol_len} is not a multiple of the alignment {alignment}")]
    UnalignedSymbolLength {
        /// T, in bytes.
        symbol_len: u32,
        /// Al, in bytes.
        alignment: u8,
    },
    /// More sub-blocks than aligned units in a symbol: a sub-symbol would be empty.
    #[error("{sub_blocks} sub-blocks do not fit a symbol of {units} alignment units")]
    TooManySubBlocks {
        /// N.
        sub_blocks: u32,
        /// T / Al.
        units: u32,
    },
    /// A block would hold more symbols than a `u32` counts, or offsets overflow.
    #[error("partition of {transfer_length} bytes overflows")]
    Overflow {
        /// The transfer length that was asked for.
        transfer_length: u64,
    },
}

/// Partition[I, J] of RFC 6330 §4.4.1.2: `(IL, IS, JL, JS)`. `j` must be > 0.
const fn partition(i: u64, j: u64) -> (u64, u64, u64, u64) {
    let il = i.div_ceil(j);
    let is = i / j;
    let jl = i - is * j;
    (il, is, jl, j - jl)
}

/// How an object is cut into source blocks of encoding symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockPartition {
    transfer_length: u64,
    symbol_len: u32,
    /// T (RFC 5052) or Kt (RFC 6330): the number of source symbols in the object.
    nb_source_symbols: u64,
    /// A_large / KL: source symbols in each of the first `nb_large_blocks` blocks.
    large_block_len: u32,
    /// A_small / KS: source symbols in each of the remaining blocks.
    small_block_len: u32,
    nb_large_blocks: u64,
    nb_blocks: u64,
}

impl BlockPartition {
    /// RFC 5052 §9.1: `transfer_length` L bytes, symbols of `symbol_len` E bytes, at most
    /// `max_source_block_len` B source symbols per block.
    pub fn rfc5052(
        transfer_length: u64,
        symbol_len: u32,
        max_source_block_len: u32,
    ) -> Result<Self, PartitionError> {
        if symbol_len == 0 {
            return Err(PartitionError::ZeroSymbolLength);
        }
        let nb_source_symbols = transfer_length.div_ceil(u64::from(symbol_len));
        if nb_source_symbols == 0 {
            return Ok(Self::empty(symbol_len));
        }
        if max_source_block_len == 0 {
            return Err(PartitionError::ZeroMaxSourceBlockLength);
        }
        let nb_blocks = nb_source_symbols.div_ceil(u64::from(max_source_block_len));
        Self::from_counts(transfer_length, symbol_len, nb_source_symbols, nb_blocks)
    }

    /// RFC 6330 §4.4.1.2 and RFC 5053 §5.3.1.2: `transfer_length` F bytes, symbols of
    /// `symbol_len` T bytes, in `nb_source_blocks` Z blocks announced by the OTI.
    ///
    /// When Z exceeds the number of symbols, the blocks that would be empty are not counted.
    pub fn raptor(
        transfer_length: u64,
        symbol_len: u32,
        nb_source_blocks: u32,
    ) -> Result<Self, PartitionError> {
        if symbol_len == 0 {
            return Err(PartitionError::ZeroSymbolLength);
        }
        let kt = transfer_length.div_ceil(u64::from(symbol_len));
        if kt == 0 {
            return Ok(Self::empty(symbol_len));
        }
        if nb_source_blocks == 0 {
            return Err(PartitionError::ZeroSourceBlocks);
        }
        let z = u64::from(nb_source_blocks).min(kt);
        Self::from_counts(transfer_length, symbol_len, kt, z)
    }

    fn empty(symbol_len: u32) -> Self {
        Self {
            transfer_length: 0,
            symbol_len,
            nb_source_symbols: 0,
            large_block_len: 0,
            small_block_len: 0,
            nb_large_blocks: 0,
            nb_blocks: 0,
        }
    }

    fn from_counts(
        transfer_length: u64,
        symbol_len: u32,
        nb_source_symbols: u64,
        nb_blocks: u64,
    ) -> Result<Self, PartitionError> {
        let overflow = PartitionError::Overflow { transfer_length };
        let (large, small, nb_large, _) = partition(nb_source_symbols, nb_blocks);
        Ok(Self {
            transfer_length,
            symbol_len,
            nb_source_symbols,
            large_block_len: u32::try_from(large).map_err(|_| overflow)?,
            small_block_len: u32::try_from(small).map_err(|_| overflow)?,
            nb_large_blocks: nb_large,
            nb_blocks,
        })
    }

    /// L / F: the object's transfer length in bytes.
    pub fn transfer_length(&self) -> u64 {
        self.transfer_length
    }

    /// E / T: the encoding symbol length in bytes.
    pub fn symbol_len(&self) -> u32 {
        self.symbol_len
    }

    /// The number of source symbols of the whole object.
    pub fn nb_source_symbols(&self) -> u64 {
        self.nb_source_symbols
    }

    /// The number of source blocks.
    pub fn nb_blocks(&self) -> u64 {
        self.nb_blocks
    }

    /// Source symbols in each of the first [`Self::nb_large_blocks`] blocks.
    pub fn large_block_len(&self) -> u32 {
        self.large_block_len
    }

    /// Source symbols in each block after the large ones.
    pub fn small_block_len(&self) -> u32 {
        self.small_block_len
    }

    /// How many blocks have [`Self::large_block_len`] symbols.
    pub fn nb_large_blocks(&self) -> u64 {
        self.nb_large_blocks
    }

    /// The number of source symbols of block `sbn`, or `None` past the last block.
    pub fn block_len_symbols(&self, sbn: u64) -> Option<u32> {
        if sbn >= self.nb_blocks {
            None
        } else if sbn < self.nb_large_blocks {
            Some(self.large_block_len)
        } else {
            Some(self.small_block_len)
        }
    }

    /// The index, in the object, of the first source symbol of block `sbn`.
    pub fn first_symbol_of_block(&self, sbn: u64) -> Option<u64> {
        if sbn >= self.nb_blocks {
            return None;
        }
        let large = u64::from(self.large_block_len);
        let small = u64::from(self.small_block_len);
        // Cannot overflow: the result is at most nb_source_symbols.
        Some(if sbn <= self.nb_large_blocks {
            sbn * large
        } else {
            self.nb_large_blocks * large + (sbn - self.nb_large_blocks) * small
        })
    }

    /// The byte offset of block `sbn` in the object.
    pub fn block_offset_bytes(&self, sbn: u64) -> Option<u64> {
        self.first_symbol_of_block(sbn)?
            .checked_mul(u64::from(self.symbol_len))
    }

    /// The number of object bytes that block `sbn` carries (the last block may be shorter than
    /// its symbols).
    pub fn block_len_bytes(&self, sbn: u64) -> Option<u64> {
        let offset = self.block_offset_bytes(sbn)?;
        let full =
            u64::from(self.block_len_symbols(sbn)?).checked_mul(u64::from(self.symbol_len))?;
        Some(full.min(self.transfer_length.saturating_sub(offset)))
    }

    /// The number of object bytes that source symbol `esi` of block `sbn` carries: E for all but
    /// the last symbol of the object, which carries what is left. `None` for a repair symbol
    /// (`esi` ≥ the block's length) or a block past the end.
    pub fn source_symbol_len_bytes(&self, sbn: u64, esi: u32) -> Option<u32> {
        let k = self.block_len_symbols(sbn)?;
        if esi >= k {
            return None;
        }
        let offset = self.symbol_offset_bytes(sbn, esi)?;
        let left = self.transfer_length.saturating_sub(offset);
        Some(left.min(u64::from(self.symbol_len)) as u32)
    }

    /// The byte offset, in the object, of source symbol `esi` of block `sbn`.
    pub fn symbol_offset_bytes(&self, sbn: u64, esi: u32) -> Option<u64> {
        if esi >= self.block_len_symbols(sbn)? {
            return None;
        }
        let symbol = self.first_symbol_of_block(sbn)? + u64::from(esi);
        symbol.checked_mul(u64::from(self.symbol_len))
    }
}

/// RFC 6330 §4.4.1.2 / RFC 5053 §5.3.1.2 sub-blocking: each symbol of T bytes is split into N
/// sub-symbols whose sizes are multiples of the alignment Al — Partition[T/Al, N].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubBlockPartition {
    /// TL·Al: bytes of each of the first `nb_large` sub-symbols.
    large_len: u32,
    /// TS·Al: bytes of each remaining sub-symbol.
    small_len: u32,
    nb_large: u32,
    nb_sub_blocks: u32,
}

impl SubBlockPartition {
    /// Split symbols of `symbol_len` T bytes into `nb_sub_blocks` N sub-blocks, alignment `al`.
    pub fn new(symbol_len: u32, nb_sub_blocks: u32, al: u8) -> Result<Self, PartitionError> {
        if symbol_len == 0 {
            return Err(PartitionError::ZeroSymbolLength);
        }
        if nb_sub_blocks == 0 {
            return Err(PartitionError::ZeroSubBlocks);
        }
        if al == 0 {
            return Err(PartitionError::ZeroAlignment);
        }
        if !symbol_len.is_multiple_of(u32::from(al)) {
            return Err(PartitionError::UnalignedSymbolLength {
                symbol_len,
                alignment: al,
            });
        }
        let units = symbol_len / u32::from(al);
        if nb_sub_blocks > units {
            return Err(PartitionError::TooManySubBlocks {
                sub_blocks: nb_sub_blocks,
                units,
            });
        }
        let (tl, ts, nl, _) = partition(u64::from(units), u64::from(nb_sub_blocks));
        // tl, ts ≤ units and nl < nb_sub_blocks: all fit in u32, and ·Al ≤ symbol_len.
        Ok(Self {
            large_len: tl as u32 * u32::from(al),
            small_len: ts as u32 * u32::from(al),
            nb_large: nl as u32,
            nb_sub_blocks,
        })
    }

    /// N.
    pub fn nb_sub_blocks(&self) -> u32 {
        self.nb_sub_blocks
    }

    /// The length in bytes of the sub-symbols of sub-block `j`, or `None` past the last one.
    pub fn sub_symbol_len(&self, j: u32) -> Option<u32> {
        if j >= self.nb_sub_blocks {
            None
        } else if j < self.nb_large {
            Some(self.large_len)
        } else {
            Some(self.small_len)
        }
    }

    /// The byte offset of sub-block `j`'s sub-symbol within a symbol.
    pub fn sub_symbol_offset(&self, j: u32) -> Option<u32> {
        if j >= self.nb_sub_blocks {
            return None;
        }
        Some(if j <= self.nb_large {
            j * self.large_len
        } else {
            self.nb_large * self.large_len + (j - self.nb_large) * self.small_len
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc5052_example_splits_into_large_then_small_blocks() {
        // 10 symbols of 4 bytes (the last one 2 bytes), B = 4: N = ⌈10/4⌉ = 3 blocks, and
        // Partition[10, 3] gives ⌈10/3⌉ = 4 symbols to 10 − 3·3 = 1 block, then 3 to the other 2.
        let p = BlockPartition::rfc5052(38, 4, 4).unwrap();
        assert_eq!(p.nb_source_symbols(), 10);
        assert_eq!(p.nb_blocks(), 3);
        assert_eq!(p.block_len_symbols(0), Some(4));
        assert_eq!(p.block_len_symbols(1), Some(3));
        assert_eq!(p.block_len_symbols(2), Some(3));
        assert_eq!(p.block_len_symbols(3), None);
        assert_eq!(p.block_offset_bytes(1), Some(16));
        assert_eq!(p.block_offset_bytes(2), Some(28));
        assert_eq!(p.block_len_bytes(2), Some(10));
        assert_eq!(p.source_symbol_len_bytes(2, 2), Some(2));
        assert_eq!(p.source_symbol_len_bytes(2, 3), None);
    }

    #[test]
    fn empty_object_has_no_blocks_even_with_zero_block_length() {
        let p = BlockPartition::rfc5052(0, 1400, 0).unwrap();
        assert_eq!(p.nb_blocks(), 0);
        assert_eq!(p.block_len_symbols(0), None);
    }

    #[test]
    fn zero_parameters_from_the_network_are_typed_errors() {
        assert_eq!(
            BlockPartition::rfc5052(10, 0, 4),
            Err(PartitionError::ZeroSymbolLength)
        );
        assert_eq!(
            BlockPartition::rfc5052(10, 4, 0),
            Err(PartitionError::ZeroMaxSourceBlockLength)
        );
        assert_eq!(
            BlockPartition::raptor(10, 4, 0),
            Err(PartitionError::ZeroSourceBlocks)
        );
        assert_eq!(
            SubBlockPartition::new(8, 0, 4),
            Err(PartitionError::ZeroSubBlocks)
        );
        assert_eq!(
            SubBlockPartition::new(8, 1, 0),
            Err(PartitionError::ZeroAlignment)
        );
        assert!(matches!(
            SubBlockPartition::new(10, 1, 4),
            Err(PartitionError::UnalignedSymbolLength { .. })
        ));
        assert!(matches!(
            SubBlockPartition::new(8, 3, 4),
            Err(PartitionError::TooManySubBlocks { .. })
        ));
    }

    #[test]
    fn huge_transfer_length_with_one_byte_symbols_overflows_cleanly() {
        // 2^64 − 1 symbols in blocks of at most 2^32 − 1: (2^32 + 1)·(2^32 − 1) = 2^64 − 1 fits.
        let p = BlockPartition::rfc5052(u64::MAX, 1, u32::MAX).unwrap();
        assert_eq!(p.nb_blocks(), (1 << 32) + 1);
        assert_eq!(p.large_block_len(), u32::MAX);
        assert_eq!(
            p.block_len_bytes(p.nb_blocks() - 1),
            Some(u64::from(u32::MAX))
        );
        // ... but 2^64 − 1 symbols in one block does not fit a block length.
        assert!(matches!(
            BlockPartition::raptor(u64::MAX, 1, 1),
            Err(PartitionError::Overflow { .. })
        ));
    }

    #[test]
    fn raptorq_sub_blocks_follow_partition_of_t_over_al() {
        // T = 1400, Al = 4: 350 units in N = 3 sub-blocks: 117, 117, 116 units.
        let s = SubBlockPartition::new(1400, 3, 4).unwrap();
        assert_eq!(s.sub_symbol_len(0), Some(468));
        assert_eq!(s.sub_symbol_len(1), Some(468));
        assert_eq!(s.sub_symbol_len(2), Some(464));
        assert_eq!(s.sub_symbol_offset(2), Some(936));
        assert_eq!(s.sub_symbol_len(3), None);
    }

    #[test]
    fn raptor_partition_drops_empty_blocks() {
        let p = BlockPartition::raptor(3 * 100, 100, 10).unwrap();
        assert_eq!(p.nb_blocks(), 3);
        assert_eq!(p.block_len_symbols(2), Some(1));
    }

    proptest! {
        #[test]
        fn rfc5052_blocks_tile_the_object_exactly(
            l in 0u64..5_000_000, e in 1u32..3000, b in 1u32..300
        ) {
            let p = BlockPartition::rfc5052(l, e, b).unwrap();
            let mut offset = 0u64;
            let mut symbols = 0u64;
            for sbn in 0..p.nb_blocks() {
                let k = p.block_len_symbols(sbn).unwrap();
                prop_assert!(k >= 1 && k <= b);
                prop_assert_eq!(p.block_offset_bytes(sbn), Some(offset));
                let mut block_bytes = 0u64;
                for esi in 0..k {
                    prop_assert_eq!(p.symbol_offset_bytes(sbn, esi), Some(offset + block_bytes));
                    block_bytes += u64::from(p.source_symbol_len_bytes(sbn, esi).unwrap());
                }
                prop_assert_eq!(p.block_len_bytes(sbn), Some(block_bytes));
                offset += block_bytes;
                symbols += u64::from(k);
            }
            prop_assert_eq!(offset, l);
            prop_assert_eq!(symbols, p.nb_source_symbols());
            // The large blocks differ from the small ones by one symbol at most.
            prop_assert!(p.large_block_len() - p.small_block_len() <= 1);
        }

        #[test]
        fn raptor_blocks_tile_the_object_exactly(
            f in 1u64..5_000_000, t in 1u32..3000, z in 1u32..256
        ) {
            let p = BlockPartition::raptor(f, t, z).unwrap();
            let mut total = 0u64;
            for sbn in 0..p.nb_blocks() {
                total += p.block_len_bytes(sbn).unwrap();
            }
            prop_assert_eq!(total, f);
            prop_assert!(p.nb_blocks() <= u64::from(z));
        }

        #[test]
        fn sub_symbols_tile_a_symbol_exactly(units in 1u32..2000, al in 1u8..16, n in 1u32..64) {
            let t = units * u32::from(al);
            match SubBlockPartition::new(t, n, al) {
                Ok(s) => {
                    let mut offset = 0;
                    for j in 0..n {
                        prop_assert_eq!(s.sub_symbol_offset(j), Some(offset));
                        let len = s.sub_symbol_len(j).unwrap();
                        prop_assert!(len > 0 && len % u32::from(al) == 0);
                        offset += len;
                    }
                    prop_assert_eq!(offset, t);
                }
                Err(e) => prop_assert_eq!(e, PartitionError::TooManySubBlocks { sub_blocks: n, units }),
            }
        }
    }
}
