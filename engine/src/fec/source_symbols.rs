//! Which source symbols of a block have arrived, for the block decoders that hand symbols to a
//! codec crate (RaptorQ, Raptor): a bitmap of K bits and its count.

use super::FecError;

/// Bit `i` of a bitmap.
pub(super) fn bit(bits: &[u64], i: u32) -> bool {
    bits.get(i as usize / 64)
        .is_some_and(|w| w >> (i % 64) & 1 != 0)
}

/// Sets bit `i`; returns whether it was clear.
pub(super) fn set_bit(bits: &mut [u64], i: u32) -> bool {
    let Some(w) = bits.get_mut(i as usize / 64) else {
        return false;
    };
    let mask = 1u64 << (i % 64);
    let new = *w & mask == 0;
    *w |= mask;
    new
}

/// The source symbols (ESI < K) of one block that have arrived.
#[derive(Debug, Clone)]
pub(super) struct SourceSymbols {
    bits: Vec<u64>,
    count: u32,
    k: u32,
}

impl SourceSymbols {
    /// None of K symbols yet.
    pub(super) fn new(k: u32) -> Self {
        Self {
            bits: vec![0; (k as usize).div_ceil(64)],
            count: 0,
            k,
        }
    }

    /// Forgets every symbol.
    pub(super) fn clear(&mut self) {
        self.bits.fill(0);
        self.count = 0;
    }

    /// Whether source symbol `esi` has arrived.
    pub(super) fn contains(&self, esi: u32) -> bool {
        esi < self.k && bit(&self.bits, esi)
    }

    /// Records source symbol `esi`; whether it is new. An ESI ≥ K is not a source symbol.
    pub(super) fn insert(&mut self, esi: u32) -> Result<bool, FecError> {
        if esi >= self.k {
            return Err(FecError::EsiOutOfRange {
                esi,
                first: 0,
                end: self.k,
            });
        }
        let new = set_bit(&mut self.bits, esi);
        if new {
            self.count += 1;
        }
        Ok(new)
    }

    /// How many source symbols have arrived.
    pub(super) fn count(&self) -> u32 {
        self.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_symbols_are_counted_once_and_repair_esis_refused() {
        let mut s = SourceSymbols::new(70);
        assert_eq!(s.insert(69), Ok(true));
        assert_eq!(s.insert(69), Ok(false));
        assert_eq!(s.insert(0), Ok(true));
        assert!(s.contains(69) && s.contains(0) && !s.contains(1) && !s.contains(70));
        assert_eq!(s.count(), 2);
        assert!(matches!(s.insert(70), Err(FecError::EsiOutOfRange { .. })));
        s.clear();
        assert_eq!(s.count(), 0);
        assert!(!s.contains(69));
    }
}
