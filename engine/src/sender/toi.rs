//! TOI allocation (RFC 6726 §3.3: TOI 0 is the FDT, every other TOI names one object of the
//! session): a counter of the configured width that wraps around, skips 0 and skips TOIs still
//! in use.

use std::collections::HashSet;

use super::SenderError;
use super::config::ToiMaxLength;

/// Hands out the TOIs of one session.
#[derive(Debug)]
pub(crate) struct ToiAllocator {
    next: u128,
    width: ToiMaxLength,
    in_use: HashSet<u128>,
}

impl ToiAllocator {
    /// An allocator whose first TOI is `initial` (wrapped into the width; 0 becomes 1).
    pub(crate) fn new(width: ToiMaxLength, initial: u128) -> Self {
        let next = match initial & width.max_toi() {
            0 => 1,
            toi => toi,
        };
        Self {
            next,
            width,
            in_use: HashSet::new(),
        }
    }

    fn successor(&self, toi: u128) -> u128 {
        if toi >= self.width.max_toi() {
            1
        } else {
            toi + 1
        }
    }

    /// The next free TOI, now in use.
    pub(crate) fn allocate(&mut self) -> Result<u128, SenderError> {
        let bits = self.width.bits();
        // Every non-zero TOI of the width in use: nothing left to find.
        if u128::try_from(self.in_use.len()).unwrap_or(u128::MAX) >= self.width.max_toi() {
            return Err(SenderError::ToiExhausted { bits });
        }
        let mut toi = self.next;
        while self.in_use.contains(&toi) {
            toi = self.successor(toi);
        }
        self.in_use.insert(toi);
        self.next = self.successor(toi);
        Ok(toi)
    }

    /// Marks a TOI chosen by the caller as in use.
    pub(crate) fn reserve(&mut self, toi: u128) -> Result<(), SenderError> {
        if toi == 0 || toi > self.width.max_toi() {
            return Err(SenderError::InvalidToi {
                toi,
                bits: self.width.bits(),
            });
        }
        if !self.in_use.insert(toi) {
            return Err(SenderError::ToiInUse(toi));
        }
        Ok(())
    }

    /// Frees a TOI once its object is gone and no packet of it is left to send.
    pub(crate) fn release(&mut self, toi: u128) {
        self.in_use.remove(&toi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toi_wraps_around_skipping_zero_and_tois_in_use() {
        let mut a = ToiAllocator::new(ToiMaxLength::ToiMax16, 0xFFFE);
        assert_eq!(a.allocate().unwrap(), 0xFFFE);
        assert_eq!(a.allocate().unwrap(), 0xFFFF);
        assert_eq!(a.allocate().unwrap(), 1);
        a.reserve(3).unwrap();
        assert_eq!(a.allocate().unwrap(), 2);
        assert_eq!(a.allocate().unwrap(), 4);
        a.release(0xFFFE);
        a.release(1);
        // The counter goes on from where it was; freed TOIs come back after the wrap.
        assert_eq!(a.allocate().unwrap(), 5);
    }

    #[test]
    fn initial_toi_zero_starts_at_one_and_is_masked_to_the_width() {
        assert_eq!(
            ToiAllocator::new(ToiMaxLength::ToiMax32, 0)
                .allocate()
                .unwrap(),
            1
        );
        assert_eq!(
            ToiAllocator::new(ToiMaxLength::ToiMax16, 0x1_0005)
                .allocate()
                .unwrap(),
            5
        );
        assert_eq!(
            ToiAllocator::new(ToiMaxLength::ToiMax16, 0x1_0000)
                .allocate()
                .unwrap(),
            1
        );
    }

    #[test]
    fn every_width_wraps_at_its_maximum() {
        for width in ToiMaxLength::ALL {
            let mut a = ToiAllocator::new(width, width.max_toi());
            assert_eq!(a.allocate().unwrap(), width.max_toi());
            assert_eq!(a.allocate().unwrap(), 1, "{width:?}");
        }
    }

    #[test]
    fn reserving_zero_out_of_width_or_twice_is_refused() {
        let mut a = ToiAllocator::new(ToiMaxLength::ToiMax16, 1);
        assert!(matches!(
            a.reserve(0),
            Err(SenderError::InvalidToi { toi: 0, .. })
        ));
        assert!(matches!(
            a.reserve(0x1_0000),
            Err(SenderError::InvalidToi { bits: 16, .. })
        ));
        a.reserve(7).unwrap();
        assert!(matches!(a.reserve(7), Err(SenderError::ToiInUse(7))));
    }

    #[test]
    fn a_full_16_bit_space_is_exhausted() {
        let mut a = ToiAllocator::new(ToiMaxLength::ToiMax16, 1);
        for _ in 0..0xFFFF {
            a.allocate().unwrap();
        }
        assert!(matches!(
            a.allocate(),
            Err(SenderError::ToiExhausted { bits: 16 })
        ));
        a.release(42);
        assert_eq!(a.allocate().unwrap(), 42);
    }
}
