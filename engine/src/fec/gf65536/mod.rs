//! GF(2^16) arithmetic on byte slices for Reed-Solomon with m = 16 (RFC 5510 §8.1 polynomial
//! x^16 + x^12 + x^3 + x + 1). An element is two bytes, most significant first (RFC 5510 §8.4:
//! a symbol is read as a sequence of m-bit elements, most significant bit first).
//!
//! - Scalar: split tables, `c·x = T0[x & 0xF] ⊕ T1[(x >> 4) & 0xF] ⊕ T2[(x >> 8) & 0xF] ⊕
//!   T3[x >> 12]`: four 16-entry tables per coefficient, built with 4 multiplications by
//!   linearity.
//! - AVX-512 + GFNI: multiplication by c is a 16×16 bit matrix, i.e. four 8×8 blocks mapping
//!   the high and low bytes of x to those of c·x; `vgf2p8affineqb` applies them 64 bytes at a
//!   time (see `x86.rs`).

use super::gf::Field;
use super::gf256::Kernel;

#[cfg(target_arch = "x86_64")]
mod x86;

/// x^16 + x^12 + x^3 + x + 1 (RFC 5510 §8.1) without its x^16 term.
const POLYNOMIAL_LOW: u16 = 0x100B;

/// The four `vgf2p8affineqb` matrices of multiplication by c in GF(2^16): [hh, hl, lh, ll],
/// where `ab` maps byte b of x (h: most significant) to byte a of c·x.
pub fn gfni_matrices(c: u16) -> [u64; 4] {
    // columns[b] = c·2^b: the image of input bit b.
    let mut columns = [0u16; 16];
    let mut x = c;
    for column in columns.iter_mut() {
        *column = x;
        x = (x << 1) ^ if x & 0x8000 != 0 { POLYNOMIAL_LOW } else { 0 };
    }
    // Block (out byte, in byte) in column-major form: byte j = image of input bit j of that
    // input byte, restricted to that output byte; then transposed to GFNI's row-major form,
    // whose byte 7 − i is the row of output bit i.
    let block = |out_high: bool, in_high: bool| -> u64 {
        let first = if in_high { 8 } else { 0 };
        let shift = if out_high { 8 } else { 0 };
        let mut m = 0u64;
        for j in 0..8 {
            let column = columns.get(first + j).copied().unwrap_or_default();
            m |= u64::from((column >> shift) as u8) << (8 * j);
        }
        transpose8(m).swap_bytes()
    };
    [
        block(true, true),
        block(true, false),
        block(false, true),
        block(false, false),
    ]
}

/// Transposes an 8×8 bit matrix held in a u64 (bit 8·r + c ↔ bit 8·c + r).
fn transpose8(mut x: u64) -> u64 {
    let mut t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
    x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
    x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
    x ^= t ^ (t << 28);
    x
}

/// c·x for every nibble x at each of the four nibble positions.
#[derive(Debug, Clone)]
pub struct SplitTables {
    t: [[u16; 16]; 4],
}

impl SplitTables {
    /// The tables of multiplication by `c`.
    pub fn new(c: u16) -> SplitTables {
        let mut t = [[0u16; 16]; 4];
        if let Ok(field) = Field::get(16) {
            for (j, table) in t.iter_mut().enumerate() {
                let basis: [u16; 4] = std::array::from_fn(|b| field.mul(c, 1 << (4 * j + b)));
                for (v, entry) in table.iter_mut().enumerate() {
                    *entry = basis
                        .iter()
                        .enumerate()
                        .filter(|&(b, _)| v >> b & 1 != 0)
                        .fold(0, |acc, (_, &p)| acc ^ p);
                }
            }
        }
        SplitTables { t }
    }

    fn lookup(&self, j: usize, nibble: u16) -> u16 {
        self.t
            .get(j)
            .and_then(|t| t.get(usize::from(nibble & 0xF)))
            .copied()
            .unwrap_or_default()
    }

    /// c·x.
    pub fn mul(&self, x: u16) -> u16 {
        self.lookup(0, x)
            ^ self.lookup(1, x >> 4)
            ^ self.lookup(2, x >> 8)
            ^ self.lookup(3, x >> 12)
    }
}

/// dst ^= c·src over the whole elements (pairs of bytes) of `dst`; a source shorter than `dst`
/// counts as zero-padded.
pub fn mul_add(dst: &mut [u8], src: &[u8], c: u16) {
    if c == 0 {
        return;
    }
    mul_add_tables(dst, src, &SplitTables::new(c));
}

fn mul_add_tables(dst: &mut [u8], src: &[u8], tables: &SplitTables) {
    let (dst, _) = dst.as_chunks_mut::<2>();
    let (src_pairs, src_rest) = src.as_chunks::<2>();
    // An odd last source byte is the high byte of an element whose low byte is padding.
    let last = src_rest.first().map(|&h| [h, 0]);
    for (d, s) in dst.iter_mut().zip(src_pairs.iter().chain(last.as_ref())) {
        let p = tables.mul(u16::from_be_bytes(*s));
        *d = (u16::from_be_bytes(*d) ^ p).to_be_bytes();
    }
}

/// dst = Σ `coefs[i]·srcs[i]` over whole elements; a source shorter than `dst` counts as
/// zero-padded.
pub fn dot(dst: &mut [u8], srcs: &[&[u8]], coefs: &[u16]) {
    dst.fill(0);
    for (src, &c) in srcs.iter().zip(coefs) {
        mul_add(dst, src, c);
    }
}

/// Several dot products over the same sources, with the best kernel:
/// `dsts[r]` = Σ_i `coefs[r·|srcs| + i]·srcs[i]` over whole elements.
pub fn dot_rows(dsts: &mut [&mut [u8]], srcs: &[&[u8]], coefs: &[u16]) {
    dot_rows_with(Kernel::best(), dsts, srcs, coefs);
}

/// [`dot_rows`] with `kernel`: AVX-512 + GFNI, or the scalar split tables for any other kernel.
pub fn dot_rows_with(kernel: Kernel, dsts: &mut [&mut [u8]], srcs: &[&[u8]], coefs: &[u16]) {
    let nb_srcs = srcs.len();
    #[cfg(target_arch = "x86_64")]
    let mut tails: Option<(usize, Vec<[u8; 64]>)> = None;
    for (r, dst) in dsts.iter_mut().enumerate() {
        let row = coefs
            .get(r * nb_srcs..(r + 1) * nb_srcs)
            .or_else(|| coefs.get(r * nb_srcs..))
            .unwrap_or_default();
        #[cfg(target_arch = "x86_64")]
        if kernel == Kernel::Avx512Gfni {
            let matrices: Vec<[u64; 4]> = row.iter().map(|&c| gfni_matrices(c)).collect();
            let len = dst.len();
            let tails = match tails {
                Some((tails_len, ref t)) if tails_len == len => t,
                _ => &tails.insert((len, x86::tails(srcs, len))).1,
            };
            x86::dot_gfni(dst, srcs, &matrices, tails);
            continue;
        }
        let _ = kernel;
        dot(dst, srcs, row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn gfni_matrices_multiply_by_c() {
        let field = Field::get(16).unwrap();
        // Software model of vgf2p8affineqb on one byte.
        let affine = |matrix: u64, x: u8| -> u8 {
            (0..8).fold(0u8, |y, i| {
                let row = (matrix >> (8 * (7 - i))) as u8;
                y | ((((row & x).count_ones() & 1) as u8) << i)
            })
        };
        for c in [0u16, 1, 2, 0x8000, 0x1234, 0xFFFF, 0x100B, 0xBEEF] {
            let [hh, hl, lh, ll] = gfni_matrices(c);
            for x in [0u16, 1, 0x80, 0x100, 0x8001, 0x1234, 0xFFFF, 0xA5C3] {
                let [h, l] = x.to_be_bytes();
                let y = u16::from_be_bytes([
                    affine(hh, h) ^ affine(hl, l),
                    affine(lh, h) ^ affine(ll, l),
                ]);
                assert_eq!(y, field.mul(c, x), "c={c:#x} x={x:#x}");
            }
        }
    }

    proptest! {
        #[test]
        fn every_kernel_dot_rows_equals_scalar_split_tables(
            len in 0usize..400,
            nb_rows in 0usize..4,
            nb_srcs in 0usize..6,
            short_src in any::<bool>(),
            coefs in proptest::collection::vec(any::<u16>(), 24),
            seed in proptest::collection::vec(any::<u8>(), 400 + 16),
        ) {
            let len = len & !1;
            let srcs: Vec<&[u8]> = (0..nb_srcs)
                .map(|i| {
                    let end = if short_src && i == 0 { len / 2 } else { len };
                    &seed[2 * i..2 * i + end]
                })
                .collect();
            let expected: Vec<Vec<u8>> = (0..nb_rows)
                .map(|r| {
                    let mut dst = vec![0u8; len];
                    dot(&mut dst, &srcs, &coefs[r * nb_srcs..(r + 1) * nb_srcs]);
                    dst
                })
                .collect();
            for kernel in Kernel::ALL {
                let mut got: Vec<Vec<u8>> = (0..nb_rows).map(|_| vec![0x5A; len]).collect();
                let mut dsts: Vec<&mut [u8]> = got.iter_mut().map(|d| d.as_mut_slice()).collect();
                dot_rows_with(kernel, &mut dsts, &srcs, &coefs[..nb_rows * nb_srcs]);
                prop_assert_eq!(&got, &expected, "{:?}", kernel);
            }
        }
    }

    proptest! {
        #[test]
        fn split_table_mul_add_equals_field_multiplication(
            c: u16,
            src in proptest::collection::vec(any::<u16>(), 0..64),
            init in proptest::collection::vec(any::<u16>(), 64),
        ) {
            let field = Field::get(16).unwrap();
            let src_bytes: Vec<u8> = src.iter().flat_map(|x| x.to_be_bytes()).collect();
            let mut dst: Vec<u8> = init.iter().flat_map(|x| x.to_be_bytes()).collect();
            mul_add(&mut dst, &src_bytes, c);
            for (i, pair) in dst.chunks_exact(2).enumerate() {
                let expected = init[i] ^ src.get(i).map_or(0, |&x| field.mul(c, x));
                prop_assert_eq!(u16::from_be_bytes([pair[0], pair[1]]), expected);
            }
        }
    }
}
