//! GF(2^16) arithmetic on byte slices for Reed-Solomon with m = 16 (RFC 5510 §8.1 polynomial
//! x^16 + x^12 + x^3 + x + 1). An element is two bytes, most significant first (RFC 5510 §8.4:
//! a symbol is read as a sequence of m-bit elements, most significant bit first).
//!
//! Split tables: c·x = T0[x & 0xF] ⊕ T1[(x >> 4) & 0xF] ⊕ T2[(x >> 8) & 0xF] ⊕ T3[x >> 12],
//! four 16-entry tables per coefficient, built with 4 multiplications by linearity.

use super::gf::Field;

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

/// dst ^= c·src over the common whole elements (pairs of bytes) of `dst` and `src`.
pub fn mul_add(dst: &mut [u8], src: &[u8], c: u16) {
    if c == 0 {
        return;
    }
    mul_add_tables(dst, src, &SplitTables::new(c));
}

fn mul_add_tables(dst: &mut [u8], src: &[u8], tables: &SplitTables) {
    let (dst, _) = dst.as_chunks_mut::<2>();
    let (src, _) = src.as_chunks::<2>();
    for (d, s) in dst.iter_mut().zip(src) {
        let p = tables.mul(u16::from_be_bytes(*s));
        *d = (u16::from_be_bytes(*d) ^ p).to_be_bytes();
    }
}

/// dst = Σ coefs[i]·srcs[i] over whole elements; a source shorter than `dst` counts as
/// zero-padded.
pub fn dot(dst: &mut [u8], srcs: &[&[u8]], coefs: &[u16]) {
    dst.fill(0);
    for (src, &c) in srcs.iter().zip(coefs) {
        mul_add(dst, src, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
