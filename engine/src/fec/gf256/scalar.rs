//! The portable GF(2^8) kernels: one lookup in the 256-entry row of the multiplication table per
//! byte. They are the reference the SIMD kernels are tested against, and serve the tails and
//! machines without SSSE3.

use super::tables;

/// dst ^= c · src, over the common prefix of `dst` and `src`.
pub(super) fn mul_add(dst: &mut [u8], src: &[u8], c: u8) {
    match c {
        0 => {}
        1 => dst.iter_mut().zip(src).for_each(|(d, s)| *d ^= s),
        _ => {
            let row = tables().mul_row(c);
            for (d, s) in dst.iter_mut().zip(src) {
                *d ^= row.get(usize::from(*s)).copied().unwrap_or_default();
            }
        }
    }
}

/// dst = Σ coefs[i] · srcs[i]; a source shorter than `dst` counts as zero-padded.
pub(super) fn dot(dst: &mut [u8], srcs: &[&[u8]], coefs: &[u8]) {
    dst.fill(0);
    for (src, &c) in srcs.iter().zip(coefs) {
        mul_add(dst, src, c);
    }
}
