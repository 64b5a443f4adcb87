//! x86-64 GF(2^8) kernels and their run-time dispatch.
//!
//! - SSSE3 / AVX2: c·x = c·(x & 0x0F) ⊕ c·(x & 0xF0), two 16-entry tables that `pshufb` looks up
//!   16 or 32 bytes at a time.
//! - AVX-512 + GFNI: multiplication by c is a linear map of GF(2)^8, so `vgf2p8affineqb` with the
//!   8×8 bit matrix of that map multiplies 64 bytes in one instruction, whatever the field
//!   polynomial (the instruction's own multiplication, `gf2p8mulb`, is fixed to 0x11B, not ours).
//!
//! The kernels are safe `#[target_feature]` functions (intrinsics without pointers are safe there
//! since Rust 1.87; loads and stores go through `bytemuck` casts of byte arrays). Calling them
//! from code without the feature is what needs a CPU check: the `multiversion` macro generates
//! that check (`is_x86_feature_detected!`, cached) and the dispatch, so this file holds no
//! unchecked block at all (the crate denies them outside `io`). Each public function has a single SIMD target and falls back to the scalar kernel on a
//! CPU without it. Tails shorter than a vector go through a zero-padded copy on the stack rather
//! than byte by byte.

use std::arch::x86_64::{
    __m128i, __m256i, __m512i, _mm_and_si128, _mm_set1_epi8, _mm_shuffle_epi8, _mm_srli_epi64,
    _mm_xor_si128, _mm256_and_si256, _mm256_broadcastsi128_si256, _mm256_set1_epi8,
    _mm256_shuffle_epi8, _mm256_srli_epi64, _mm256_xor_si256, _mm512_gf2p8affine_epi64_epi8,
    _mm512_set1_epi64, _mm512_setzero_si512, _mm512_xor_si512,
};

use multiversion::multiversion;
use multiversion::target::match_target;

use super::{scalar, tables};

/// Copies `tail` (shorter than W) into a zeroed W-byte array.
fn padded<const W: usize>(tail: &[u8]) -> [u8; W] {
    let mut block = [0u8; W];
    if let Some(prefix) = block.get_mut(..tail.len()) {
        prefix.copy_from_slice(tail);
    }
    block
}

/// Copies the first `dst.len()` bytes of `block` back into `dst`.
fn unpad<const W: usize>(dst: &mut [u8], block: &[u8; W]) {
    if let Some(prefix) = block.get(..dst.len()) {
        dst.copy_from_slice(prefix);
    }
}

/// Splits `dst` and `src` to their common length.
fn common<'d, 's>(dst: &'d mut [u8], src: &'s [u8]) -> (&'d mut [u8], &'s [u8]) {
    let len = dst.len().min(src.len());
    let (dst, _) = dst.split_at_mut(len);
    let (src, _) = src.split_at(len);
    (dst, src)
}

#[target_feature(enable = "ssse3")]
fn ssse3_mul16(x: __m128i, lo: __m128i, hi: __m128i) -> __m128i {
    let mask = _mm_set1_epi8(0x0F);
    let l = _mm_shuffle_epi8(lo, _mm_and_si128(x, mask));
    let h = _mm_shuffle_epi8(hi, _mm_and_si128(_mm_srli_epi64::<4>(x), mask));
    _mm_xor_si128(l, h)
}

#[target_feature(enable = "ssse3")]
fn ssse3_mul_add(dst: &mut [u8], src: &[u8], c: u8) {
    let (dst, src) = common(dst, src);
    let nibbles = tables().nibbles(c);
    let lo: __m128i = bytemuck::cast(nibbles.lo);
    let hi: __m128i = bytemuck::cast(nibbles.hi);
    let (dst_chunks, dst_tail) = dst.as_chunks_mut::<16>();
    let (src_chunks, src_tail) = src.as_chunks::<16>();
    for (d, s) in dst_chunks.iter_mut().zip(src_chunks) {
        let p = ssse3_mul16(bytemuck::cast(*s), lo, hi);
        *d = bytemuck::cast(_mm_xor_si128(bytemuck::cast(*d), p));
    }
    if !dst_tail.is_empty() {
        let d: [u8; 16] = padded(dst_tail);
        let p = ssse3_mul16(bytemuck::cast(padded::<16>(src_tail)), lo, hi);
        unpad::<16>(
            dst_tail,
            &bytemuck::cast(_mm_xor_si128(bytemuck::cast(d), p)),
        );
    }
}

#[target_feature(enable = "avx2")]
fn avx2_mul32(x: __m256i, lo: __m256i, hi: __m256i) -> __m256i {
    let mask = _mm256_set1_epi8(0x0F);
    let l = _mm256_shuffle_epi8(lo, _mm256_and_si256(x, mask));
    let h = _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi64::<4>(x), mask));
    _mm256_xor_si256(l, h)
}

#[target_feature(enable = "avx2")]
fn avx2_mul_add(dst: &mut [u8], src: &[u8], c: u8) {
    let (dst, src) = common(dst, src);
    let nibbles = tables().nibbles(c);
    let lo = _mm256_broadcastsi128_si256(bytemuck::cast(nibbles.lo));
    let hi = _mm256_broadcastsi128_si256(bytemuck::cast(nibbles.hi));
    // Two vectors per iteration, loads before stores (as in the GFNI kernel).
    let (dst_pairs, dst_rest) = dst.as_chunks_mut::<64>();
    let (src_pairs, src_rest) = src.as_chunks::<64>();
    for (d, s) in dst_pairs.iter_mut().zip(src_pairs) {
        let (d, _) = d.as_chunks_mut::<32>();
        let (s, _) = s.as_chunks::<32>();
        let (Ok(d), Ok(s)) = (
            <&mut [[u8; 32]; 2]>::try_from(d),
            <&[[u8; 32]; 2]>::try_from(s),
        ) else {
            continue;
        };
        let x: [__m256i; 2] = s.map(bytemuck::cast);
        let y: [__m256i; 2] = d.map(bytemuck::cast);
        for ((d, x), y) in d.iter_mut().zip(x).zip(y) {
            *d = bytemuck::cast(_mm256_xor_si256(y, avx2_mul32(x, lo, hi)));
        }
    }
    let (dst_chunks, dst_tail) = dst_rest.as_chunks_mut::<32>();
    let (src_chunks, src_tail) = src_rest.as_chunks::<32>();
    for (d, s) in dst_chunks.iter_mut().zip(src_chunks) {
        let p = avx2_mul32(bytemuck::cast(*s), lo, hi);
        *d = bytemuck::cast(_mm256_xor_si256(bytemuck::cast(*d), p));
    }
    if !dst_tail.is_empty() {
        let d: [u8; 32] = padded(dst_tail);
        let p = avx2_mul32(bytemuck::cast(padded::<32>(src_tail)), lo, hi);
        unpad::<32>(
            dst_tail,
            &bytemuck::cast(_mm256_xor_si256(bytemuck::cast(d), p)),
        );
    }
}

#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn gfni_mul_add(dst: &mut [u8], src: &[u8], c: u8) {
    let (dst, src) = common(dst, src);
    let matrix = _mm512_set1_epi64(tables().gfni_matrix(c) as i64);
    // Four vectors per iteration, every load before any store: the loads of `dst` then never
    // wait on the stores just issued to its neighbouring lines.
    let (dst_stripes, dst_rest) = dst.as_chunks_mut::<GFNI_STRIPE>();
    let (src_stripes, src_rest) = src.as_chunks::<GFNI_STRIPE>();
    for (d, s) in dst_stripes.iter_mut().zip(src_stripes) {
        let (Some(d), Some(s)) = (as_4x64_mut(d), as_4x64(s)) else {
            continue;
        };
        let x: [__m512i; 4] = s.map(bytemuck::cast);
        let y: [__m512i; 4] = d.map(bytemuck::cast);
        for ((d, x), y) in d.iter_mut().zip(x).zip(y) {
            let p = _mm512_gf2p8affine_epi64_epi8::<0>(x, matrix);
            *d = bytemuck::cast(_mm512_xor_si512(y, p));
        }
    }
    let (dst_chunks, dst_tail) = dst_rest.as_chunks_mut::<64>();
    let (src_chunks, src_tail) = src_rest.as_chunks::<64>();
    for (d, s) in dst_chunks.iter_mut().zip(src_chunks) {
        let p = _mm512_gf2p8affine_epi64_epi8::<0>(bytemuck::cast(*s), matrix);
        *d = bytemuck::cast(_mm512_xor_si512(bytemuck::cast(*d), p));
    }
    if !dst_tail.is_empty() {
        let d: [u8; 64] = padded(dst_tail);
        let p = _mm512_gf2p8affine_epi64_epi8::<0>(bytemuck::cast(padded::<64>(src_tail)), matrix);
        unpad::<64>(
            dst_tail,
            &bytemuck::cast(_mm512_xor_si512(bytemuck::cast(d), p)),
        );
    }
}

/// Bytes of `dst` handled per pass over the sources: four 64-byte accumulators stay in
/// registers while every source is read once.
const GFNI_STRIPE: usize = 256;

/// dst[start..] = Σ coefs[i] · srcs[i][start..], every source at least as long as `dst`: each
/// stripe of `dst` is accumulated in registers and stored once.
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn gfni_dot(dst: &mut [u8], srcs: &[&[u8]], coefs: &[u8], start: usize) {
    let t = tables();
    let Some(dst) = dst.get_mut(start..) else {
        return;
    };
    let (stripes, rest) = dst.as_chunks_mut::<GFNI_STRIPE>();
    let mut offset = start;
    for stripe in stripes.iter_mut() {
        let mut acc = [_mm512_setzero_si512(); 4];
        for (src, &c) in srcs.iter().zip(coefs) {
            let Some(x) = stripe_at(src, offset) else {
                continue;
            };
            let matrix = _mm512_set1_epi64(t.gfni_matrix(c) as i64);
            for (a, x) in acc.iter_mut().zip(x) {
                *a = _mm512_xor_si512(*a, _mm512_gf2p8affine_epi64_epi8::<0>(x, matrix));
            }
        }
        let (d, _) = stripe.as_chunks_mut::<64>();
        for (d, a) in d.iter_mut().zip(acc) {
            *d = bytemuck::cast(a);
        }
        offset += GFNI_STRIPE;
    }
    let (chunks, tail) = rest.as_chunks_mut::<64>();
    for d in chunks.iter_mut() {
        let mut acc = _mm512_setzero_si512();
        for (src, &c) in srcs.iter().zip(coefs) {
            let Some(x) = src
                .get(offset..offset + 64)
                .and_then(|s| <[u8; 64]>::try_from(s).ok())
            else {
                continue;
            };
            let matrix = _mm512_set1_epi64(t.gfni_matrix(c) as i64);
            acc = _mm512_xor_si512(
                acc,
                _mm512_gf2p8affine_epi64_epi8::<0>(bytemuck::cast(x), matrix),
            );
        }
        *d = bytemuck::cast(acc);
        offset += 64;
    }
    if !tail.is_empty() {
        let mut acc = _mm512_setzero_si512();
        for (src, &c) in srcs.iter().zip(coefs) {
            let x: [u8; 64] = padded(src.get(offset..).unwrap_or_default());
            let matrix = _mm512_set1_epi64(t.gfni_matrix(c) as i64);
            acc = _mm512_xor_si512(
                acc,
                _mm512_gf2p8affine_epi64_epi8::<0>(bytemuck::cast(x), matrix),
            );
        }
        unpad::<64>(tail, &bytemuck::cast(acc));
    }
}

fn as_4x64(s: &[u8; GFNI_STRIPE]) -> Option<&[[u8; 64]; 4]> {
    let (chunks, _) = s.as_chunks::<64>();
    chunks.try_into().ok()
}

fn as_4x64_mut(d: &mut [u8; GFNI_STRIPE]) -> Option<&mut [[u8; 64]; 4]> {
    let (chunks, _) = d.as_chunks_mut::<64>();
    chunks.try_into().ok()
}

/// The four 64-byte vectors of `src` at `offset..offset + GFNI_STRIPE`, if it holds them.
#[target_feature(enable = "avx512f")]
fn stripe_at(src: &[u8], offset: usize) -> Option<[__m512i; 4]> {
    let s = src.get(offset..offset.checked_add(GFNI_STRIPE)?)?;
    let (chunks, _) = s.as_chunks::<64>();
    let chunks: &[[u8; 64]; 4] = chunks.try_into().ok()?;
    Some(chunks.map(bytemuck::cast))
}

/// R rows at once: `dsts[r] = Σ_i coefs[r·|srcs| + i] · srcs[i]` for r < R, every `dst` `len`
/// bytes and every source at least as long. Each source stripe is loaded once for R outputs,
/// with 4·R accumulators in registers (AVX-512 has 32). The last, partial stripe reads the
/// sources' zero-padded copies in `tails`, made once for all rows.
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn gfni_dot_rows<const R: usize>(
    dsts: &mut [&mut [u8]],
    srcs: &[&[u8]],
    coefs: &[u8],
    len: usize,
    tails: &[[u8; GFNI_STRIPE]],
) {
    let t = tables();
    let nb_srcs = srcs.len();
    // The matrices of source i for the R rows, looked up once per call.
    let matrices: Vec<[i64; R]> = (0..nb_srcs)
        .map(|i| {
            std::array::from_fn(|r| {
                let c = coefs.get(r * nb_srcs + i).copied().unwrap_or_default();
                t.gfni_matrix(c) as i64
            })
        })
        .collect();
    let accumulate = |acc: &mut [[__m512i; 4]; R], x: &[__m512i; 4], m: &[i64; R]| {
        for (acc, &m) in acc.iter_mut().zip(m) {
            let matrix = _mm512_set1_epi64(m);
            for (a, &x) in acc.iter_mut().zip(x) {
                *a = _mm512_xor_si512(*a, _mm512_gf2p8affine_epi64_epi8::<0>(x, matrix));
            }
        }
    };
    let mut offset = 0;
    while offset + GFNI_STRIPE <= len {
        let mut acc = [[_mm512_setzero_si512(); 4]; R];
        for (src, m) in srcs.iter().zip(&matrices) {
            if let Some(x) = stripe_at(src, offset) {
                accumulate(&mut acc, &x, m);
            }
        }
        for (dst, acc) in dsts.iter_mut().zip(acc) {
            let Some(stripe) = dst.get_mut(offset..offset + GFNI_STRIPE) else {
                continue;
            };
            let (d, _) = stripe.as_chunks_mut::<64>();
            for (d, a) in d.iter_mut().zip(acc) {
                *d = bytemuck::cast(a);
            }
        }
        offset += GFNI_STRIPE;
    }
    if offset < len {
        let mut acc = [[_mm512_setzero_si512(); 4]; R];
        for (tail, m) in tails.iter().zip(&matrices) {
            if let Some(x) = as_4x64(tail) {
                accumulate(&mut acc, &x.map(bytemuck::cast), m);
            }
        }
        for (dst, acc) in dsts.iter_mut().zip(acc) {
            let out: [u8; GFNI_STRIPE] = bytemuck::cast(acc);
            if let (Some(d), Some(o)) = (dst.get_mut(offset..len), out.get(..len - offset)) {
                d.copy_from_slice(o);
            }
        }
    }
}

/// SSSE3 mul-add; scalar on a CPU without SSSE3.
#[multiversion(targets("x86_64+ssse3"))]
pub fn mul_add_ssse3(dst: &mut [u8], src: &[u8], c: u8) {
    match_target! {
        "x86_64+ssse3" => ssse3_mul_add(dst, src, c),
        _ => scalar::mul_add(dst, src, c),
    }
}

/// AVX2 mul-add; scalar on a CPU without AVX2.
#[multiversion(targets("x86_64+avx2"))]
pub fn mul_add_avx2(dst: &mut [u8], src: &[u8], c: u8) {
    match_target! {
        "x86_64+avx2" => avx2_mul_add(dst, src, c),
        _ => scalar::mul_add(dst, src, c),
    }
}

/// AVX-512 + GFNI mul-add; scalar on a CPU without them.
#[multiversion(targets("x86_64+avx512f+avx512bw+gfni"))]
pub fn mul_add_gfni(dst: &mut [u8], src: &[u8], c: u8) {
    match_target! {
        "x86_64+avx512f+avx512bw+gfni" => gfni_mul_add(dst, src, c),
        _ => scalar::mul_add(dst, src, c),
    }
}

/// SSSE3 dot product (one mul-add per source); scalar on a CPU without SSSE3.
#[multiversion(targets("x86_64+ssse3"))]
pub fn dot_ssse3(dst: &mut [u8], srcs: &[&[u8]], coefs: &[u8]) {
    match_target! {
        "x86_64+ssse3" => {
            dst.fill(0);
            for (src, &c) in srcs.iter().zip(coefs) {
                ssse3_mul_add(dst, src, c);
            }
        }
        _ => scalar::dot(dst, srcs, coefs),
    }
}

/// AVX2 dot product (one mul-add per source, `dst` stays in L1); scalar without AVX2.
#[multiversion(targets("x86_64+avx2"))]
pub fn dot_avx2(dst: &mut [u8], srcs: &[&[u8]], coefs: &[u8]) {
    match_target! {
        "x86_64+avx2" => {
            dst.fill(0);
            for (src, &c) in srcs.iter().zip(coefs) {
                avx2_mul_add(dst, src, c);
            }
        }
        _ => scalar::dot(dst, srcs, coefs),
    }
}

/// AVX-512 + GFNI dot product, accumulated in registers; scalar on a CPU without them.
#[multiversion(targets("x86_64+avx512f+avx512bw+gfni"))]
pub fn dot_gfni(dst: &mut [u8], srcs: &[&[u8]], coefs: &[u8]) {
    match_target! {
        "x86_64+avx512f+avx512bw+gfni" => {
            if srcs.iter().all(|s| s.len() >= dst.len()) {
                gfni_dot(dst, srcs, coefs, 0);
            } else {
                dst.fill(0);
                for (src, &c) in srcs.iter().zip(coefs) {
                    gfni_mul_add(dst, src, c);
                }
            }
        }
        _ => scalar::dot(dst, srcs, coefs),
    }
}

/// Several dot products over the same sources: dsts[r] = Σ_i coefs[r·|srcs| + i] · srcs[i].
/// AVX-512 + GFNI processes four rows per pass over the sources; scalar on a CPU without them.
#[multiversion(targets("x86_64+avx512f+avx512bw+gfni"))]
pub fn dot_rows_gfni(dsts: &mut [&mut [u8]], srcs: &[&[u8]], coefs: &[u8]) {
    match_target! {
        "x86_64+avx512f+avx512bw+gfni" => {
            let len = dsts.first().map_or(0, |d| d.len());
            let nb_srcs = srcs.len();
            let uniform = dsts.iter().all(|d| d.len() == len)
                && srcs.iter().all(|s| s.len() >= len)
                && coefs.len() >= dsts.len() * nb_srcs;
            if uniform {
                // The sources' last partial stripe, zero-padded once for every row.
                let full = len / GFNI_STRIPE * GFNI_STRIPE;
                let tails: Vec<[u8; GFNI_STRIPE]> = if full < len {
                    srcs.iter()
                        .map(|s| padded(s.get(full..len).unwrap_or_default()))
                        .collect()
                } else {
                    Vec::new()
                };
                let mut row = 0;
                for group in dsts.chunks_mut(4) {
                    let coefs = coefs.get(row * nb_srcs..).unwrap_or_default();
                    match group.len() {
                        4 => gfni_dot_rows::<4>(group, srcs, coefs, len, &tails),
                        3 => gfni_dot_rows::<3>(group, srcs, coefs, len, &tails),
                        2 => gfni_dot_rows::<2>(group, srcs, coefs, len, &tails),
                        _ => gfni_dot_rows::<1>(group, srcs, coefs, len, &tails),
                    }
                    row += group.len();
                }
            } else {
                for (r, dst) in dsts.iter_mut().enumerate() {
                    let row = coefs.get(r * nb_srcs..(r + 1) * nb_srcs).unwrap_or_default();
                    dst.fill(0);
                    for (src, &c) in srcs.iter().zip(row) {
                        gfni_mul_add(dst, src, c);
                    }
                }
            }
        }
        _ => {
            for (r, dst) in dsts.iter_mut().enumerate() {
                let row = coefs.get(r * srcs.len()..(r + 1) * srcs.len()).unwrap_or_default();
                scalar::dot(dst, srcs, row);
            }
        }
    }
}
