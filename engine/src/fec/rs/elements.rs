//! Symbols as sequences of m-bit elements, most significant bit first (RFC 5510 §8.4), for the
//! field sizes other than 8 and 16, whose symbols the byte kernels cannot take as they are.

use crate::fec::gf::Field;

/// The S = E·8/m elements of `symbol`; a symbol shorter than E counts as zero-padded.
pub(super) fn unpack(symbol: &[u8], m: u8, nb_elements: usize) -> Vec<u16> {
    let m = u32::from(m);
    let mask = (1u32 << m) - 1;
    let mut elements = Vec::with_capacity(nb_elements);
    let (mut acc, mut nb_bits) = (0u32, 0u32);
    for &byte in symbol {
        acc = (acc << 8) | u32::from(byte);
        nb_bits += 8;
        while nb_bits >= m {
            nb_bits -= m;
            elements.push(((acc >> nb_bits) & mask) as u16);
        }
        acc &= (1 << nb_bits) - 1;
    }
    if nb_bits > 0 {
        elements.push(((acc << (m - nb_bits)) & mask) as u16);
    }
    elements.resize(nb_elements, 0);
    elements
}

/// Writes `elements` as bytes into `dst` (E·8/m elements fill E bytes exactly).
pub(super) fn pack(elements: &[u16], m: u8, dst: &mut [u8]) {
    let m = u32::from(m);
    let mut out = dst.iter_mut();
    let (mut acc, mut nb_bits) = (0u32, 0u32);
    for &element in elements {
        acc = (acc << m) | u32::from(element);
        nb_bits += m;
        while nb_bits >= 8 {
            nb_bits -= 8;
            if let Some(byte) = out.next() {
                *byte = (acc >> nb_bits) as u8;
            }
        }
        acc &= (1 << nb_bits) - 1;
    }
}

/// dst = Σ coefs[i]·srcs[i] element-wise in GF(2^m), for any m.
pub(super) fn dot(field: &Field, dst: &mut [u8], srcs: &[&[u8]], coefs: &[u16]) {
    let m = field.m();
    let nb_elements = dst.len() * 8 / usize::from(m);
    let mut acc = vec![0u16; nb_elements];
    for (src, &c) in srcs.iter().zip(coefs) {
        if c == 0 {
            continue;
        }
        for (a, x) in acc.iter_mut().zip(unpack(src, m, nb_elements)) {
            *a ^= field.mul(c, x);
        }
    }
    pack(&acc, m, dst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_read_most_significant_bit_first() {
        // 101 001 110 010 111 000 011 100
        let symbol = [0b1010_0111, 0b0010_1110, 0b0001_1100];
        let elements = unpack(&symbol, 3, 8);
        assert_eq!(elements, vec![5, 1, 6, 2, 7, 0, 3, 4]);
        let mut back = [0u8; 3];
        pack(&elements, 3, &mut back);
        assert_eq!(back, symbol);
        assert_eq!(unpack(&symbol[..1], 3, 8), vec![5, 1, 6, 0, 0, 0, 0, 0]);
        assert_eq!(
            unpack(&[0x12, 0x34, 0x56, 0x78], 16, 2),
            vec![0x1234, 0x5678]
        );
    }
}
