//! GF(2^8) arithmetic on byte slices, with the primitive polynomial x^8 + x^4 + x^3 + x^2 + 1
//! (0x11D, RFC 5510 §8.1): the multiply-add `dst ^= c·src` and the dot product
//! `dst = Σ cᵢ·srcᵢ` that Reed-Solomon encoding and decoding are made of.
//!
//! Kernels: scalar, SSSE3, AVX2 and AVX-512 + GFNI, chosen at run time ([`Kernel::best`]).

use std::sync::OnceLock;

mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

/// An implementation of the GF(2^8) kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// One table lookup per byte; runs everywhere.
    Scalar,
    /// x86 SSSE3 `pshufb` on split-nibble tables, 16 bytes at a time.
    Ssse3,
    /// x86 AVX2 `vpshufb` on split-nibble tables, 32 bytes at a time.
    Avx2,
    /// x86 AVX-512BW + GFNI `vgf2p8affineqb`, 64 bytes at a time.
    Avx512Gfni,
}

impl Kernel {
    /// Every kernel, slowest first.
    pub const ALL: [Kernel; 4] = [
        Kernel::Scalar,
        Kernel::Ssse3,
        Kernel::Avx2,
        Kernel::Avx512Gfni,
    ];

    /// Whether this CPU runs the kernel. An unavailable kernel asked for by name runs the scalar
    /// code instead (never an illegal instruction).
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Ssse3 => is_x86_feature_detected!("ssse3"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => is_x86_feature_detected!("avx2"),
            // `multiversion` selects an AVX-512 clone only on CPUs with the whole Ice Lake set
            // (it avoids older AVX-512 parts that slow the clock down); every CPU with GFNI
            // and AVX-512 has it, but the check must agree with the dispatch anyway.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Gfni => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512cd")
                    && is_x86_feature_detected!("avx512dq")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("avx512ifma")
                    && is_x86_feature_detected!("avx512vbmi")
                    && is_x86_feature_detected!("avx512vbmi2")
                    && is_x86_feature_detected!("avx512vnni")
                    && is_x86_feature_detected!("avx512bitalg")
                    && is_x86_feature_detected!("avx512vpopcntdq")
                    && is_x86_feature_detected!("gfni")
                    && is_x86_feature_detected!("vaes")
                    && is_x86_feature_detected!("vpclmulqdq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The kernels this CPU runs, fastest first.
    pub fn available() -> Vec<Kernel> {
        Kernel::ALL
            .iter()
            .rev()
            .copied()
            .filter(|k| k.is_available())
            .collect()
    }

    /// The fastest kernel this CPU runs, detected once.
    pub fn best() -> Kernel {
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| {
            Kernel::available()
                .first()
                .copied()
                .unwrap_or(Kernel::Scalar)
        })
    }

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Scalar => "scalar",
            Kernel::Ssse3 => "ssse3",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512Gfni => "avx512-gfni",
        }
    }
}

/// c·x for x < 16 and for x = 16·i: the two `pshufb` tables of the SSSE3/AVX2 kernels.
#[derive(Debug, Clone, Copy)]
struct NibbleTables {
    lo: [u8; 16],
    hi: [u8; 16],
}

/// Tables built once per process.
struct Tables {
    /// mul[a][b] = a·b.
    mul: Vec<[u8; 256]>,
    nibbles: Vec<NibbleTables>,
    /// The `vgf2p8affineqb` matrix of multiplication by c.
    gfni: Vec<u64>,
}

impl Tables {
    fn mul_row(&self, c: u8) -> &[u8; 256] {
        const ZERO: [u8; 256] = [0; 256];
        self.mul.get(usize::from(c)).unwrap_or(&ZERO)
    }

    fn nibbles(&self, c: u8) -> NibbleTables {
        self.nibbles
            .get(usize::from(c))
            .copied()
            .unwrap_or(NibbleTables {
                lo: [0; 16],
                hi: [0; 16],
            })
    }

    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    fn gfni_matrix(&self, c: u8) -> u64 {
        self.gfni.get(usize::from(c)).copied().unwrap_or_default()
    }
}

/// a·b by shift and add, modulo 0x11D.
const fn mul_slow(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0;
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1D;
        }
        b >>= 1;
    }
    product
}

/// The affine matrix A of `vgf2p8affineqb` such that A·x = c·x: bit i of the result is the
/// parity of (byte 7 − i of A) & x, and input bit b contributes c·2^b.
fn gfni_matrix(c: u8) -> u64 {
    let mut matrix = 0u64;
    for i in 0..8 {
        let mut row = 0u8;
        for b in 0..8 {
            if mul_slow(c, 1 << b) >> i & 1 != 0 {
                row |= 1 << b;
            }
        }
        matrix |= u64::from(row) << (8 * (7 - i));
    }
    matrix
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mul: Vec<[u8; 256]> = (0..=255u8)
            .map(|a| std::array::from_fn(|b| mul_slow(a, b as u8)))
            .collect();
        let nibbles = (0..=255u8)
            .map(|c| NibbleTables {
                lo: std::array::from_fn(|x| mul_slow(c, x as u8)),
                hi: std::array::from_fn(|x| mul_slow(c, (x as u8) << 4)),
            })
            .collect();
        let gfni = (0..=255u8).map(gfni_matrix).collect();
        Tables { mul, nibbles, gfni }
    })
}

/// a·b in GF(2^8).
pub fn mul(a: u8, b: u8) -> u8 {
    tables()
        .mul_row(a)
        .get(usize::from(b))
        .copied()
        .unwrap_or_default()
}

/// dst ^= c·src over the common prefix of `dst` and `src`, with the best kernel.
pub fn mul_add(dst: &mut [u8], src: &[u8], c: u8) {
    mul_add_with(Kernel::best(), dst, src, c);
}

/// dst ^= c·src over the common prefix of `dst` and `src`, with `kernel`.
pub fn mul_add_with(kernel: Kernel, dst: &mut [u8], src: &[u8], c: u8) {
    match kernel {
        Kernel::Scalar => scalar::mul_add(dst, src, c),
        #[cfg(target_arch = "x86_64")]
        Kernel::Ssse3 => x86::mul_add_ssse3(dst, src, c),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => x86::mul_add_avx2(dst, src, c),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512Gfni => x86::mul_add_gfni(dst, src, c),
        #[cfg(not(target_arch = "x86_64"))]
        _ => scalar::mul_add(dst, src, c),
    }
}

/// dst = Σ `coefs[i]·srcs[i]` (pairs beyond the shorter of the two lists are ignored; a source
/// shorter than `dst` counts as zero-padded), with the best kernel.
pub fn dot(dst: &mut [u8], srcs: &[&[u8]], coefs: &[u8]) {
    dot_with(Kernel::best(), dst, srcs, coefs);
}

/// [`dot`] with `kernel`.
pub fn dot_with(kernel: Kernel, dst: &mut [u8], srcs: &[&[u8]], coefs: &[u8]) {
    match kernel {
        Kernel::Scalar => scalar::dot(dst, srcs, coefs),
        #[cfg(target_arch = "x86_64")]
        Kernel::Ssse3 => x86::dot_ssse3(dst, srcs, coefs),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => x86::dot_avx2(dst, srcs, coefs),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512Gfni => x86::dot_gfni(dst, srcs, coefs),
        #[cfg(not(target_arch = "x86_64"))]
        _ => scalar::dot(dst, srcs, coefs),
    }
}

/// Several dot products over the same sources, with the best kernel:
/// `dsts[r]` = Σ_i `coefs[r·|srcs| + i]·srcs[i]` (`coefs` row-major, one row per `dst`; missing
/// coefficients count as 0). Encoding and decoding a block are one such call.
pub fn dot_rows(dsts: &mut [&mut [u8]], srcs: &[&[u8]], coefs: &[u8]) {
    dot_rows_with(Kernel::best(), dsts, srcs, coefs);
}

/// [`dot_rows`] with `kernel`.
pub fn dot_rows_with(kernel: Kernel, dsts: &mut [&mut [u8]], srcs: &[&[u8]], coefs: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if kernel == Kernel::Avx512Gfni {
        x86::dot_rows_gfni(dsts, srcs, coefs);
        return;
    }
    let nb_srcs = srcs.len();
    for (r, dst) in dsts.iter_mut().enumerate() {
        let row = coefs
            .get(r * nb_srcs..(r + 1) * nb_srcs)
            .or_else(|| coefs.get(r * nb_srcs..))
            .unwrap_or_default();
        dot_with(kernel, dst, srcs, row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fec::gf::Field;
    use proptest::prelude::*;

    #[test]
    fn gf256_table_equals_the_rfc5510_field() {
        let field = Field::get(8).unwrap();
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(u16::from(mul(a, b)), field.mul(a.into(), b.into()));
            }
        }
    }

    #[test]
    fn dispatch_uses_every_simd_kernel_this_cpu_has_and_the_best_of_them() {
        // A kernel that silently fell back to scalar would make the equality tests below prove
        // nothing: each kernel must be available exactly when the CPU has its features, and the
        // best available one chosen. CPUs differ between machines of one kind (AVX-512 and GFNI
        // come and go), so a kernel this CPU lacks is named, not failed: its equality tests run
        // on a CPU that has it.
        #[cfg(target_arch = "x86_64")]
        let has = |kernel: Kernel| match kernel {
            Kernel::Scalar => true,
            Kernel::Ssse3 => is_x86_feature_detected!("ssse3"),
            Kernel::Avx2 => is_x86_feature_detected!("avx2"),
            Kernel::Avx512Gfni => {
                is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("gfni")
            }
        };
        #[cfg(not(target_arch = "x86_64"))]
        let has = |kernel: Kernel| kernel == Kernel::Scalar;
        for kernel in Kernel::ALL {
            if kernel == Kernel::Avx512Gfni {
                // The dispatch asks for the whole Ice Lake set, more than `has` looks at.
                assert!(!kernel.is_available() || has(kernel), "{kernel:?}");
            } else {
                assert_eq!(kernel.is_available(), has(kernel), "{kernel:?}");
            }
        }
        let best = Kernel::ALL
            .into_iter()
            .rev()
            .find(|k| k.is_available())
            .unwrap_or(Kernel::Scalar);
        assert_eq!(Kernel::best(), best);
        let missing: Vec<Kernel> = Kernel::ALL
            .into_iter()
            .filter(|k| !k.is_available())
            .collect();
        if !missing.is_empty() {
            eprintln!("this CPU cannot run {missing:?}: their equality tests ran the others only");
        }
    }

    #[test]
    fn gfni_matrices_multiply_by_c() {
        for c in 0..=255u8 {
            let matrix = gfni_matrix(c);
            for x in 0..=255u8 {
                // Software model of vgf2p8affineqb.
                let y = (0..8).fold(0u8, |y, i| {
                    let row = (matrix >> (8 * (7 - i))) as u8;
                    y | ((((row & x).count_ones() & 1) as u8) << i)
                });
                assert_eq!(y, mul(c, x), "c={c} x={x}");
            }
        }
    }

    fn bytes(len: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), len)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_kernel_mul_add_equals_scalar_for_all_lengths_and_offsets(
            len in 0usize..300,
            dst_offset in 0usize..64,
            src_offset in 0usize..64,
            c: u8,
            seed in bytes(300 + 64),
            init in bytes(300 + 64),
        ) {
            let src = &seed[src_offset..src_offset + len.min(seed.len() - src_offset)];
            let mut expected = init.clone();
            let end = dst_offset + src.len();
            scalar::mul_add(&mut expected[dst_offset..end], src, c);
            for kernel in Kernel::ALL {
                let mut got = init.clone();
                mul_add_with(kernel, &mut got[dst_offset..end], src, c);
                prop_assert_eq!(&got, &expected, "{:?}", kernel);
            }
        }

        #[test]
        fn every_kernel_dot_equals_scalar_for_all_lengths_and_offsets(
            len in 0usize..300,
            offsets in proptest::collection::vec(0usize..64, 0..9),
            dst_offset in 0usize..64,
            coefs in proptest::collection::vec(any::<u8>(), 9),
            short_src in any::<bool>(),
            seed in bytes(300 + 64),
        ) {
            let srcs: Vec<&[u8]> = offsets
                .iter()
                .enumerate()
                .map(|(i, &o)| {
                    let end = o + len;
                    // One source shorter than dst exercises the zero-padded path.
                    let end = if short_src && i == 0 { o + len / 2 } else { end };
                    &seed[o..end.min(seed.len())]
                })
                .collect();
            let mut expected = vec![0xAAu8; len];
            scalar::dot(&mut expected, &srcs, &coefs);
            for kernel in Kernel::ALL {
                // dst at every alignment too.
                let mut got = vec![0x55u8; len + dst_offset];
                dot_with(kernel, &mut got[dst_offset..], &srcs, &coefs);
                prop_assert_eq!(&got[dst_offset..], &expected[..], "{:?}", kernel);
                prop_assert!(got[..dst_offset].iter().all(|&b| b == 0x55));
            }
        }

        #[test]
        fn every_kernel_dot_rows_equals_scalar_dot_per_row(
            len in 0usize..700,
            nb_rows in 0usize..7,
            nb_srcs in 0usize..6,
            unequal in any::<bool>(),
            dst_offset in 0usize..64,
            src_offset in 0usize..32,
            coefs in proptest::collection::vec(any::<u8>(), 42),
            seed in bytes(700 + 64),
        ) {
            let srcs: Vec<&[u8]> = (0..nb_srcs)
                .map(|i| &seed[i + src_offset..i + src_offset + len])
                .collect();
            let row_len = |r: usize| if unequal && r == 1 { len / 2 } else { len };
            let expected: Vec<Vec<u8>> = (0..nb_rows)
                .map(|r| {
                    let mut dst = vec![0u8; row_len(r)];
                    scalar::dot(&mut dst, &srcs, &coefs[r * nb_srcs..(r + 1) * nb_srcs]);
                    dst
                })
                .collect();
            for kernel in Kernel::ALL {
                let mut got: Vec<Vec<u8>> =
                    (0..nb_rows).map(|r| vec![0x77; row_len(r) + dst_offset]).collect();
                let mut dsts: Vec<&mut [u8]> =
                    got.iter_mut().map(|d| &mut d[dst_offset..]).collect();
                dot_rows_with(kernel, &mut dsts, &srcs, &coefs[..nb_rows * nb_srcs]);
                for (got, expected) in got.iter().zip(&expected) {
                    prop_assert_eq!(&got[dst_offset..], &expected[..], "{:?}", kernel);
                }
            }
        }

        #[test]
        fn gf256_laws_hold(a: u8, b: u8, c: u8) {
            prop_assert_eq!(mul(a, b), mul(b, a));
            prop_assert_eq!(mul(mul(a, b), c), mul(a, mul(b, c)));
            prop_assert_eq!(mul(a, b ^ c), mul(a, b) ^ mul(a, c));
            prop_assert_eq!(mul(a, 1), a);
            prop_assert_eq!(mul(a, 0), 0);
        }
    }
}
