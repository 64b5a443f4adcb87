//! The finite fields GF(2^m), 2 ≤ m ≤ 16, of RFC 5510 §8.1: log/exp tables built from the
//! primitive polynomials listed there, and the evaluation points of Rizzo's Vandermonde matrix.
//!
//! These tables serve the (small) matrix computations and the generic-m element path; the bulk
//! symbol arithmetic uses the kernels of `gf256` and `gf65536`.

use std::sync::OnceLock;

use super::FecError;

/// Primitive polynomials of RFC 5510 §8.1, indexed by m (bit m set).
const PRIMITIVE_POLYNOMIALS: [u32; 17] = [
    0, 0, 0x7, 0xB, 0x13, 0x25, 0x43, 0x89, 0x11D, 0x211, 0x409, 0x805, 0x1053, 0x201B, 0x4443,
    0x8003, 0x1100B,
];

/// GF(2^m) through log/exp tables. Elements are `u16` below 2^m.
#[derive(Debug)]
pub struct Field {
    m: u8,
    /// 2^m − 1, the order of the multiplicative group.
    order: usize,
    /// exp[i] = α^i for 0 ≤ i < 2·order, so that exp[log a + log b] needs no reduction.
    exp: Vec<u16>,
    /// log[α^i] = i; log[0] is unused.
    log: Vec<u16>,
}

impl Field {
    /// The field GF(2^m), built once per process.
    pub fn get(m: u8) -> Result<&'static Field, FecError> {
        static FIELDS: [OnceLock<Field>; 17] = [const { OnceLock::new() }; 17];
        let cell = FIELDS
            .get(usize::from(m))
            .filter(|_| m >= 2)
            .ok_or(FecError::UnsupportedFieldSize(m))?;
        Ok(cell.get_or_init(|| Field::new(m)))
    }

    fn new(m: u8) -> Field {
        let order = (1usize << m) - 1;
        let polynomial = PRIMITIVE_POLYNOMIALS
            .get(usize::from(m))
            .copied()
            .unwrap_or_default();
        let mut exp = vec![0u16; 2 * order];
        let mut log = vec![0u16; order + 1];
        let mut x: u32 = 1;
        for i in 0..order {
            if let Some(e) = exp.get_mut(i) {
                *e = x as u16;
            }
            if let Some(e) = exp.get_mut(i + order) {
                *e = x as u16;
            }
            if let Some(l) = log.get_mut(x as usize) {
                *l = i as u16;
            }
            x <<= 1;
            if x >> m != 0 {
                x ^= polynomial;
            }
        }
        Field { m, order, exp, log }
    }

    /// m.
    pub fn m(&self) -> u8 {
        self.m
    }

    /// 2^m − 1: the largest n, and the number of non-zero elements.
    pub fn order(&self) -> usize {
        self.order
    }

    fn exp_at(&self, i: usize) -> u16 {
        self.exp.get(i).copied().unwrap_or_default()
    }

    fn log_of(&self, a: u16) -> usize {
        usize::from(self.log.get(usize::from(a)).copied().unwrap_or_default())
    }

    /// log_α(a) for a ≠ 0 (0 for a = 0: callers only ask for non-zero elements).
    pub fn log(&self, a: u16) -> usize {
        self.log_of(a)
    }

    /// α^e for e < 2·(2^m − 1), without the reduction of [`Field::alpha_pow`].
    pub fn exp(&self, e: usize) -> u16 {
        self.exp_at(e)
    }

    /// α^e.
    pub fn alpha_pow(&self, e: usize) -> u16 {
        self.exp_at(e % self.order)
    }

    /// a · b.
    pub fn mul(&self, a: u16, b: u16) -> u16 {
        if a == 0 || b == 0 {
            return 0;
        }
        self.exp_at(self.log_of(a) + self.log_of(b))
    }

    /// 1 / a; 0 for a = 0 (never asked for by the codec, whose points are distinct).
    pub fn inv(&self, a: u16) -> u16 {
        if a == 0 {
            return 0;
        }
        self.exp_at(self.order - self.log_of(a))
    }

    /// a / b; 0 for b = 0.
    pub fn div(&self, a: u16, b: u16) -> u16 {
        self.mul(a, self.inv(b))
    }

    /// The evaluation point of encoding symbol `esi` in Rizzo's Vandermonde matrix (the one RFC
    /// 5510 declares itself compatible with): x_0 = 0, x_j = α^(j−1). Distinct for ESIs < 2^m.
    pub fn point(&self, esi: u32) -> u16 {
        match esi {
            0 => 0,
            _ => self.alpha_pow(esi as usize - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_rfc5510_polynomial_is_primitive() {
        for m in 2..=16u8 {
            let field = Field::get(m).unwrap();
            let mut seen = vec![false; field.order() + 1];
            for i in 0..field.order() {
                let x = usize::from(field.alpha_pow(i));
                assert!(x != 0 && x <= field.order() && !seen[x], "m={m} i={i}");
                seen[x] = true;
            }
        }
    }

    #[test]
    fn field_sizes_outside_2_to_16_are_errors() {
        for m in [0u8, 1, 17, 255] {
            assert_eq!(
                Field::get(m).unwrap_err(),
                FecError::UnsupportedFieldSize(m)
            );
        }
    }

    proptest! {
        #[test]
        fn gf2m_multiplication_is_a_commutative_associative_distributive_group_law(
            m in 2u8..=16, a: u16, b: u16, c: u16,
        ) {
            let f = Field::get(m).unwrap();
            let mask = f.order() as u16;
            let (a, b, c) = (a & mask, b & mask, c & mask);
            prop_assert_eq!(f.mul(a, b), f.mul(b, a));
            prop_assert_eq!(f.mul(f.mul(a, b), c), f.mul(a, f.mul(b, c)));
            prop_assert_eq!(f.mul(a, b ^ c), f.mul(a, b) ^ f.mul(a, c));
            prop_assert_eq!(f.mul(a, 1), a);
            if a != 0 {
                prop_assert_eq!(f.mul(a, f.inv(a)), 1);
                prop_assert_eq!(f.div(f.mul(a, b), a), b);
            }
        }
    }
}
