//! The coefficients of Rizzo's systematic Reed-Solomon code (RFC 5510 §8.2, in the form of the
//! codec RFC 5510 declares itself compatible with), by Lagrange interpolation.
//!
//! The generator matrix is GM = V_{k,k}^-1 · V_{k,n}, with v_{i,j} = x_j^i on the evaluation
//! points x_0 = 0, x_j = α^(j−1). Encoding symbol j is therefore the value at x_j of the unique
//! polynomial of degree < k that takes the source symbols' values at x_0..x_{k−1}, and any k
//! encoding symbols determine that polynomial. So one formula serves both directions: the symbol
//! at a target point t is Σ_p L_p(x_t)·(symbol at p), with the Lagrange basis L_p of the known
//! points. Encoding takes the points 0..k and targets k..n; decoding takes the k received ESIs
//! and targets the missing source ESIs. This costs O(k²) field operations per block, once.

use crate::fec::gf::Field;

/// Row-major |targets| × |points| coefficients: target t = Σ_p coefs[t][p] · point p.
///
/// `points` and `targets` are ESIs below 2^m − 1, the points distinct (the codec guarantees
/// it). A target that is also a point gets the unit row.
pub fn interpolation(field: &Field, points: &[u32], targets: &[u32]) -> Vec<u16> {
    // Every factor is a difference of distinct points, so non-zero: the products are sums of
    // logarithms, which keeps the O(k²) part to table lookups and additions.
    let order = field.order();
    // a + b mod order for a, b < order, without a division in the O(k²) loops.
    let add = |a: usize, b: usize| {
        let sum = a + b;
        if sum >= order { sum - order } else { sum }
    };
    let x: Vec<u16> = points.iter().map(|&p| field.point(p)).collect();
    // log w_p = −Σ_{l≠p} log(x_p − x_l); subtraction is XOR in characteristic 2.
    let log_weights: Vec<usize> = x
        .iter()
        .enumerate()
        .map(|(p, &xp)| {
            let log_denominator = x
                .iter()
                .enumerate()
                .filter(|&(l, _)| l != p)
                .fold(0, |acc, (_, &xl)| add(acc, field.log(xp ^ xl)));
            (order - log_denominator) % order
        })
        .collect();
    let mut coefs = Vec::with_capacity(targets.len() * points.len());
    for &t in targets {
        let xt = field.point(t);
        if x.contains(&xt) {
            // A target among the points (never asked by the codec): no interpolation needed.
            coefs.extend(x.iter().map(|&xp| u16::from(xp == xt)));
            continue;
        }
        // L_p(x_t) = Π_l (x_t − x_l) / (x_t − x_p) · w_p
        let log_numerator = x.iter().fold(0, |acc, &xl| add(acc, field.log(xt ^ xl)));
        coefs.extend(x.iter().zip(&log_weights).map(|(&xp, &log_w)| {
            let log_c = add(add(log_numerator, order - field.log(xt ^ xp)), log_w);
            field.exp(log_c)
        }));
    }
    coefs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GM = V_{k,k}^-1 · V_{k,n} by Gauss-Jordan elimination, the way RFC 5510 §8.2.1 and
    /// Rizzo's codec describe it, independently of the Lagrange form.
    fn generator_matrix(field: &Field, k: usize, n: usize) -> Vec<Vec<u16>> {
        let v = |i: usize, j: usize| -> u16 {
            let x = field.point(j as u32);
            (0..i).fold(1, |acc, _| field.mul(acc, x))
        };
        let mut rows: Vec<Vec<u16>> = (0..k)
            .map(|i| {
                (0..k)
                    .map(|j| v(i, j))
                    .chain((0..n).map(|j| v(i, j)))
                    .collect()
            })
            .collect();
        for col in 0..k {
            let pivot = (col..k).find(|&r| rows[r][col] != 0).unwrap();
            rows.swap(col, pivot);
            let inv = field.inv(rows[col][col]);
            rows[col].iter_mut().for_each(|x| *x = field.mul(*x, inv));
            let pivot_row = rows[col].clone();
            for (r, row) in rows.iter_mut().enumerate() {
                let f = row[col];
                if r != col && f != 0 {
                    row.iter_mut()
                        .zip(&pivot_row)
                        .for_each(|(x, &p)| *x ^= field.mul(f, p));
                }
            }
        }
        rows.into_iter().map(|row| row[k..].to_vec()).collect()
    }

    #[test]
    fn lagrange_coefficients_equal_the_inverted_vandermonde_generator_matrix() {
        for (m, k, n) in [
            (8u8, 1usize, 5usize),
            (8, 10, 30),
            (4, 5, 15),
            (16, 7, 20),
            (3, 3, 7),
        ] {
            let field = Field::get(m).unwrap();
            let gm = generator_matrix(field, k, n);
            let points: Vec<u32> = (0..k as u32).collect();
            let targets: Vec<u32> = (k as u32..n as u32).collect();
            let coefs = interpolation(field, &points, &targets);
            for (t, row) in coefs.chunks(k).enumerate() {
                for (i, &c) in row.iter().enumerate() {
                    assert_eq!(c, gm[i][k + t], "m={m} k={k} target={t} i={i}");
                }
            }
            // Systematic: the first k columns are the identity.
            for (i, row) in gm.iter().enumerate() {
                for (j, &x) in row.iter().take(k).enumerate() {
                    assert_eq!(x, u16::from(i == j));
                }
            }
        }
    }
}
