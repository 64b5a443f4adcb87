//! Randomness from the operating system, kept out of the deterministic protocol core: the first
//! TOI of a sender that should not reuse the TOIs of an earlier run (the flute crate's
//! `toi_initial_value: None`). A receiver that cached objects of a session by TOI (RFC 6726
//! §3.3: a TOI names one object for the session's life) would otherwise take the objects of a
//! restarted sender, numbered from 1 again, for the ones it already has.
//!
//! The bytes come from `getrandom` (the OS generator, `getrandom(2)` on Linux), already in the
//! lock file through `tempfile` and `rand`: std has no public random source (`RandomState` is
//! seeded randomly but documents no randomness of its hashes), and an explicit OS draw reports
//! its failure instead of hiding it.

use crate::sender::ToiMaxLength;

/// A TOI drawn uniformly from `1..=width.max_toi()`, to use as
/// [`crate::sender::Config::toi_initial_value`]. Never 0, the FDT's TOI. Fails only when the
/// operating system has no random source to give.
pub fn random_toi(width: ToiMaxLength) -> std::io::Result<u128> {
    loop {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)?;
        // Masking keeps the draw uniform over the width; redrawing 0 keeps it uniform over the
        // rest (at worst 1 draw in 65536 is redrawn, for 16-bit TOIs).
        let toi = u128::from_le_bytes(bytes) & width.max_toi();
        if toi != 0 {
            return Ok(toi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_toi_fits_every_width_and_is_never_zero() {
        for width in ToiMaxLength::ALL {
            for _ in 0..10_000 {
                let toi = random_toi(width).unwrap();
                assert!(toi != 0 && toi <= width.max_toi(), "{width:?}: {toi:#x}");
            }
        }
    }

    #[test]
    fn random_toi_uses_the_whole_width() {
        // The top bit of the width is set in about half the draws: not a narrower draw that
        // was merely masked (2^-64 chance of a false failure per width).
        for width in ToiMaxLength::ALL {
            let top = 1u128 << (width.bits() - 1);
            let high = (0..64)
                .filter(|_| random_toi(width).unwrap() & top != 0)
                .count();
            assert!(high > 0 && high < 64, "{width:?}: {high} of 64");
        }
    }

    #[test]
    fn random_tois_differ_from_draw_to_draw() {
        let draws: std::collections::HashSet<u128> = (0..100)
            .map(|_| random_toi(ToiMaxLength::ToiMax112).unwrap())
            .collect();
        assert_eq!(draws.len(), 100);
    }
}
