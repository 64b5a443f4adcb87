//! The AVX-512 + GFNI GF(2^16) dot product. An element is two bytes, high first, so in a vector
//! the even bytes are high bytes h and the odd ones low bytes l. With the four 8×8 blocks of
//! multiplication by c, c·x = (A_hh·h ⊕ A_hl·l, A_lh·h ⊕ A_ll·l):
//! - on x as loaded, even bytes take A_hh, odd bytes A_ll (one masked `vgf2p8affineqb`);
//! - on x with the bytes of each element swapped, even bytes (now l) take A_hl, odd bytes
//!   (now h) take A_lh.
//!
//! Dispatch and safety as in `gf256/x86.rs`: safe `#[target_feature]` functions, `multiversion`
//! for the CPU check, no unchecked block written.

use std::arch::x86_64::{
    __m512i, _mm512_gf2p8affine_epi64_epi8, _mm512_mask_gf2p8affine_epi64_epi8, _mm512_set1_epi64,
    _mm512_setzero_si512, _mm512_shuffle_epi8, _mm512_xor_si512,
};

use multiversion::multiversion;
use multiversion::target::match_target;

/// Even bytes: the high bytes of the elements.
const HIGH_BYTES: u64 = 0x5555_5555_5555_5555;

/// `vpshufb` indices swapping the two bytes of every 16-bit element (per 128-bit lane).
const SWAP_PAIRS: [u8; 64] = [
    1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13,
    12, 15, 14, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8,
    11, 10, 13, 12, 15, 14,
];

#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn mul(x: __m512i, swap: __m512i, m: &[__m512i; 4]) -> __m512i {
    let [hh, hl, lh, ll] = *m;
    let swapped = _mm512_shuffle_epi8(x, swap);
    let direct = _mm512_mask_gf2p8affine_epi64_epi8::<0>(
        _mm512_gf2p8affine_epi64_epi8::<0>(x, ll),
        HIGH_BYTES,
        x,
        hh,
    );
    let crossed = _mm512_mask_gf2p8affine_epi64_epi8::<0>(
        _mm512_gf2p8affine_epi64_epi8::<0>(swapped, lh),
        HIGH_BYTES,
        swapped,
        hl,
    );
    _mm512_xor_si512(direct, crossed)
}

/// dst = Σ srcs[i]·c_i with `matrices[i]` those of c_i; a source shorter than `dst` counts as
/// zero-padded. Each 64-byte chunk of `dst` is accumulated in a register and stored once. The
/// last partial chunk reads `tails[i]`, source i's bytes there zero-padded (see [`tails`]).
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn gfni_dot(dst: &mut [u8], srcs: &[&[u8]], matrices: &[[u64; 4]], tails: &[[u8; 64]]) {
    let swap: __m512i = bytemuck::cast(SWAP_PAIRS);
    let broadcast: Vec<[__m512i; 4]> = matrices
        .iter()
        .map(|m| m.map(|q| _mm512_set1_epi64(q as i64)))
        .collect();
    let (chunks, tail) = dst.as_chunks_mut::<64>();
    let mut offset = 0;
    for d in chunks.iter_mut() {
        let mut acc = _mm512_setzero_si512();
        for (src, m) in srcs.iter().zip(&broadcast) {
            let x: [u8; 64] = match src.get(offset..offset + 64) {
                Some(s) => s.try_into().unwrap_or([0; 64]),
                None => padded(src.get(offset..).unwrap_or_default()),
            };
            acc = _mm512_xor_si512(acc, mul(bytemuck::cast(x), swap, m));
        }
        *d = bytemuck::cast(acc);
        offset += 64;
    }
    if !tail.is_empty() {
        let mut acc = _mm512_setzero_si512();
        for (x, m) in tails.iter().zip(&broadcast) {
            acc = _mm512_xor_si512(acc, mul(bytemuck::cast(*x), swap, m));
        }
        let out: [u8; 64] = bytemuck::cast(acc);
        tail.copy_from_slice(out.get(..tail.len()).unwrap_or_default());
    }
}

/// For a `dst` of `len` bytes: each source's bytes in the last partial 64-byte chunk,
/// zero-padded, made once for all the rows of a call.
pub(super) fn tails(srcs: &[&[u8]], len: usize) -> Vec<[u8; 64]> {
    let full = len / 64 * 64;
    if full == len {
        return Vec::new();
    }
    srcs.iter()
        .map(|s| padded(s.get(full..len.min(s.len())).unwrap_or_default()))
        .collect()
}

/// The first (at most 64) bytes of `s`, zero-padded to 64.
fn padded(s: &[u8]) -> [u8; 64] {
    let mut block = [0u8; 64];
    let len = s.len().min(64);
    if let (Some(d), Some(s)) = (block.get_mut(..len), s.get(..len)) {
        d.copy_from_slice(s);
    }
    block
}

/// AVX-512 + GFNI GF(2^16) dot product; the scalar split tables on a CPU without them.
#[multiversion(targets("x86_64+avx512f+avx512bw+gfni"))]
pub fn dot_gfni(dst: &mut [u8], srcs: &[&[u8]], matrices: &[[u64; 4]], tails: &[[u8; 64]]) {
    match_target! {
        "x86_64+avx512f+avx512bw+gfni" => gfni_dot(dst, srcs, matrices, tails),
        _ => {
            // The coefficients are not at hand here, only their matrices: recover c = c·1 from
            // the image of x = 1 (low byte, bit 0), then use the split tables (which read the
            // sources themselves, not the padded tails).
            let _ = tails;
            let coefs: Vec<u16> = matrices.iter().map(coefficient).collect();
            super::dot(dst, srcs, &coefs);
        }
    }
}

/// c from its matrices: c·1, i.e. column 0 of the (hl, ll) blocks.
fn coefficient(m: &[u64; 4]) -> u16 {
    let [_, hl, _, ll] = *m;
    let column0 = |block: u64| -> u8 {
        (0..8).fold(0u8, |acc, i| {
            acc | ((((block >> (8 * (7 - i))) & 1) as u8) << i)
        })
    };
    u16::from_be_bytes([column0(hl), column0(ll)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scalar_fallback_recovers_each_coefficient_from_its_matrices() {
        for c in [0u16, 1, 2, 0x80, 0x100, 0x8000, 0x1234, 0xFFFF] {
            assert_eq!(coefficient(&super::super::gfni_matrices(c)), c);
        }
    }
}
