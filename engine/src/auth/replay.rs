//! The anti-replay window of RFC 6584 §3.3.2, that of IPsec ESP (RFC 4303 §3.4.3 and its
//! Appendix A2) over the whole 40-bit Sequence Number: the right edge is the highest Sequence
//! Number verified so far, a bitmap remembers which of the [`ReplayWindow::SIZE`] numbers
//! below it were received. A packet is checked before its MAC or signature (cheap, and a replay
//! costs no cryptography), and the window moves only after it verified (a forged number never
//! moves it).

/// Packets that may arrive out of order behind the newest one and still be taken.
const WORDS: usize = 16;

/// One session's anti-replay window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplayWindow {
    /// Highest Sequence Number verified; 0 before the first (the first packet has 1).
    top: u64,
    /// Bit `i` (word `i / 64`, bit `i % 64`) set: `top - i` was received.
    seen: [u64; WORDS],
}

impl ReplayWindow {
    /// Width of the window: how far behind the newest packet one may come.
    pub const SIZE: u64 = (WORDS * 64) as u64;

    /// True if `sequence_number` may be new: right of the window, or inside it and not seen.
    pub fn check(&self, sequence_number: u64) -> bool {
        if sequence_number > self.top {
            return true;
        }
        let behind = self.top - sequence_number;
        behind < Self::SIZE && !self.bit(behind)
    }

    /// Records a verified `sequence_number` (one that [`Self::check`] accepted).
    pub fn update(&mut self, sequence_number: u64) {
        if sequence_number > self.top {
            self.shift(sequence_number - self.top);
            self.top = sequence_number;
            self.set(0);
        } else {
            self.set(self.top - sequence_number);
        }
    }

    /// The highest Sequence Number verified.
    pub fn top(&self) -> u64 {
        self.top
    }

    fn bit(&self, behind: u64) -> bool {
        let (word, bit) = ((behind / 64) as usize, behind % 64);
        self.seen.get(word).is_some_and(|w| w >> bit & 1 == 1)
    }

    fn set(&mut self, behind: u64) {
        let (word, bit) = ((behind / 64) as usize, behind % 64);
        if let Some(w) = self.seen.get_mut(word) {
            *w |= 1 << bit;
        }
    }

    /// Moves every bit `by` places further behind (the right edge advanced by `by`).
    fn shift(&mut self, by: u64) {
        if by >= Self::SIZE {
            self.seen = [0; WORDS];
            return;
        }
        let words = (by / 64) as usize;
        let bits = (by % 64) as u32;
        let old = self.seen;
        for (i, slot) in self.seen.iter_mut().enumerate() {
            let from = |j: Option<usize>| j.and_then(|j| old.get(j)).copied().unwrap_or(0);
            let low = from(i.checked_sub(words));
            let carry = if bits == 0 {
                0
            } else {
                from(i.checked_sub(words + 1)) >> (64 - bits)
            };
            *slot = low << bits | carry;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn duplicates_and_numbers_left_of_the_window_are_refused() {
        let mut w = ReplayWindow::default();
        assert!(w.check(1));
        w.update(1);
        assert!(!w.check(1));
        assert!(w.check(3));
        w.update(3);
        // 2 came late, within the window: taken once.
        assert!(w.check(2));
        w.update(2);
        assert!(!w.check(2));
        let far = 3 + ReplayWindow::SIZE + 10;
        w.update(far);
        assert!(!w.check(3), "left of the window");
        assert!(!w.check(far - ReplayWindow::SIZE), "just left of it");
        assert!(
            w.check(far - ReplayWindow::SIZE + 1),
            "its left edge, never seen"
        );
        assert!(!w.check(far));
    }

    proptest! {
        /// The window against a model that remembers every number: what it takes is exactly
        /// what is new and not too far behind the highest taken so far.
        #[test]
        fn window_matches_a_model_that_remembers_everything(
            steps in prop::collection::vec((0u64..3000, any::<bool>()), 1..400)
        ) {
            let mut w = ReplayWindow::default();
            let mut seen = BTreeSet::new();
            let mut top = 0u64;
            for (sn, verified) in steps {
                let sn = sn + 1;
                let expected = !seen.contains(&sn) && (sn > top || top - sn < ReplayWindow::SIZE);
                prop_assert_eq!(w.check(sn), expected, "sn {} top {}", sn, top);
                // A forged packet (not verified) leaves the window as it was.
                if expected && verified {
                    w.update(sn);
                    seen.insert(sn);
                    top = top.max(sn);
                }
                prop_assert_eq!(w.top(), top);
            }
        }
    }
}
