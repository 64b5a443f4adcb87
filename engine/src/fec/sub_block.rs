//! Where the bytes of an encoding symbol live in a source block under sub-blocking (RFC 6330
//! §4.4.1.2, RFC 5053 §5.3.1.2).
//!
//! A source block of K symbols of T bytes is cut into N contiguous sub-blocks; sub-block j holds
//! K contiguous sub-symbols of `len(j)` bytes (Partition[T/Al, N]). Source symbol i, as sent, is
//! the concatenation of sub-symbol i of every sub-block. With N = 1 that is bytes i·T..(i+1)·T;
//! otherwise its pieces are spread over the block, and the receiver scatters them to their
//! places (and the sender gathers them) instead of copying one range.
//!
//! The block may end before K·T bytes (the object's last block): bytes past its end are the
//! zero padding of RFC 6330 §4.4.1.2, read as zeros and never written.

use super::{FecError, SubBlockPartition};

/// The byte layout of one source block of `k` symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubBlockLayout {
    k: u32,
    symbol_len: usize,
    sub_blocks: SubBlockPartition,
}

impl SubBlockLayout {
    /// The layout of a block of `k` symbols of `symbol_len` bytes split as `sub_blocks` says.
    pub fn new(k: u32, symbol_len: usize, sub_blocks: SubBlockPartition) -> Self {
        Self {
            k,
            symbol_len,
            sub_blocks,
        }
    }

    /// Whether symbol i is simply bytes i·T..(i+1)·T of the block (N = 1).
    pub fn is_contiguous(&self) -> bool {
        self.sub_blocks.nb_sub_blocks() == 1
    }

    /// The pieces of symbol `esi`: (offset in the block, offset in the symbol, length).
    fn pieces(&self, esi: u32) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        let k = self.k as usize;
        let i = esi as usize;
        (0..self.sub_blocks.nb_sub_blocks()).filter_map(move |j| {
            let len = self.sub_blocks.sub_symbol_len(j)? as usize;
            let in_symbol = self.sub_blocks.sub_symbol_offset(j)? as usize;
            // Sub-blocks before j hold K sub-symbols each, of total length K · offset(j).
            let in_block = k.checked_mul(in_symbol)?.checked_add(i.checked_mul(len)?)?;
            Some((in_block, in_symbol, len))
        })
    }

    fn check(&self, esi: u32, symbol_len: usize) -> Result<(), FecError> {
        if esi >= self.k {
            return Err(FecError::EsiOutOfRange {
                esi,
                first: 0,
                end: self.k,
            });
        }
        if symbol_len != self.symbol_len {
            return Err(FecError::BadSymbolLength {
                len: symbol_len,
                symbol_len: self.symbol_len,
            });
        }
        Ok(())
    }

    /// Copies source symbol `esi` out of `block` into `symbol` (T bytes), zeros past the end.
    pub fn gather(&self, block: &[u8], esi: u32, symbol: &mut [u8]) -> Result<(), FecError> {
        self.check(esi, symbol.len())?;
        for (in_block, in_symbol, len) in self.pieces(esi) {
            let Some(dst) = symbol.get_mut(in_symbol..in_symbol + len) else {
                continue;
            };
            let available = block.len().saturating_sub(in_block).min(len);
            let (head, tail) = dst.split_at_mut(available);
            head.copy_from_slice(
                block
                    .get(in_block..in_block + available)
                    .unwrap_or_default(),
            );
            tail.fill(0);
        }
        Ok(())
    }

    /// Writes source symbol `esi` (T bytes, or fewer when the sender dropped the padding of the
    /// object's last symbol) into its places in `block`, leaving out what lies past its end.
    pub fn scatter(&self, block: &mut [u8], esi: u32, symbol: &[u8]) -> Result<(), FecError> {
        if symbol.len() > self.symbol_len {
            return Err(FecError::BadSymbolLength {
                len: symbol.len(),
                symbol_len: self.symbol_len,
            });
        }
        self.check(esi, self.symbol_len)?;
        for (in_block, in_symbol, len) in self.pieces(esi) {
            let src = symbol.get(in_symbol..).unwrap_or_default();
            let len = len.min(src.len()).min(block.len().saturating_sub(in_block));
            if let (Some(dst), Some(src)) =
                (block.get_mut(in_block..in_block + len), src.get(..len))
            {
                dst.copy_from_slice(src);
            }
        }
        Ok(())
    }

    /// Copies the bytes of source symbol `esi` from one block layout to another (`from` a
    /// decoded K·T block, `to` the destination, which may end early).
    pub fn copy_symbol(&self, from: &[u8], to: &mut [u8], esi: u32) -> Result<(), FecError> {
        self.check(esi, self.symbol_len)?;
        for (in_block, _, len) in self.pieces(esi) {
            let len = len.min(to.len().saturating_sub(in_block));
            if let (Some(dst), Some(src)) = (
                to.get_mut(in_block..in_block + len),
                from.get(in_block..in_block + len),
            ) {
                dst.copy_from_slice(src);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn scatter_of_gathered_symbols_rebuilds_the_block(
            k in 1u32..40, units in 1u32..40, al in 1u8..5, n in 1u32..8, cut in 0usize..64,
        ) {
            let t = units * u32::from(al);
            prop_assume!(n <= units);
            let sub = SubBlockPartition::new(t, n, al).unwrap();
            let layout = SubBlockLayout::new(k, t as usize, sub);
            let full = k as usize * t as usize;
            let len = full.saturating_sub(cut % t as usize).max(1);
            let block: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut rebuilt = vec![0u8; len];
            let mut seen = vec![0u32; len];
            let mut symbol = vec![0u8; t as usize];
            for esi in 0..k {
                layout.gather(&block, esi, &mut symbol).unwrap();
                layout.scatter(&mut rebuilt, esi, &symbol).unwrap();
                for (b, _, l) in layout.pieces(esi) {
                    for s in seen.iter_mut().skip(b).take(l) {
                        *s += 1;
                    }
                }
            }
            prop_assert_eq!(&rebuilt, &block);
            // Every byte of the block belongs to exactly one symbol.
            prop_assert!(seen.iter().all(|&c| c == 1));
        }
    }

    #[test]
    fn sub_symbols_of_a_symbol_come_from_each_sub_block() {
        // K = 2, T = 4, N = 2, Al = 1: sub-blocks [a0 a1 | b0 b1] of 2-byte sub-symbols.
        let layout = SubBlockLayout::new(2, 4, SubBlockPartition::new(4, 2, 1).unwrap());
        let block = [0, 1, 2, 3, 4, 5, 6, 7];
        let mut symbol = [0u8; 4];
        layout.gather(&block, 1, &mut symbol).unwrap();
        assert_eq!(symbol, [2, 3, 6, 7]);
        assert!(layout.gather(&block, 2, &mut symbol).is_err());
        assert!(layout.gather(&block, 0, &mut [0u8; 3]).is_err());
    }
}
