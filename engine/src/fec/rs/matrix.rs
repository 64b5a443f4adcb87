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
pub(super) fn interpolation(field: &Field, points: &[u32], targets: &[u32]) -> Vec<u16> {
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

/// a + b mod `order`, for a, b < order: no division in the O(k·e) loops.
fn add_mod(a: usize, b: usize, order: usize) -> usize {
    let sum = a + b;
    if sum >= order { sum - order } else { sum }
}

/// Σ_{s ∈ set, s ≠ x} log(x − x_s), all points in log form.
fn log_prod(field: &Field, x: u16, set: &[u16]) -> usize {
    let order = field.order();
    set.iter()
        .filter(|&&xs| xs != x)
        .fold(0, |acc, &xs| add_mod(acc, field.log(x ^ xs), order))
}

/// For each ESI j < n: log Π_{i < k, i ≠ j} (x_j − x_i). Computed once per code, it turns the
/// O(k²) products of a decoding into O(k·e) corrections for e erasures.
pub(super) fn log_source_products(field: &Field, k: u32, n: u32) -> Vec<u32> {
    let sources: Vec<u16> = (0..k).map(|i| field.point(i)).collect();
    (0..n)
        .map(|j| log_prod(field, field.point(j), &sources) as u32)
        .collect()
}

/// The decoding coefficients of one erasure pattern: row t (one per `missing` source ESI) gives
/// the missing symbol as Σ_p coefs[t][p] · point p, the points being `received_sources` then
/// `repairs` (as many repairs as missing sources). Equal to [`interpolation`] on those points,
/// in O(k·e) with the per-code `log_source_products` instead of O(k²).
pub(super) fn decoding(
    field: &Field,
    log_source_products: &[u32],
    received_sources: &[u32],
    missing: &[u32],
    repairs: &[u32],
) -> Vec<u16> {
    let order = field.order();
    let add = |a: usize, b: usize| add_mod(a, b, order);
    let sub = |a: usize, b: usize| add_mod(a, order - b, order);
    let x_missing: Vec<u16> = missing.iter().map(|&m| field.point(m)).collect();
    let x_repairs: Vec<u16> = repairs.iter().map(|&r| field.point(r)).collect();
    let lsp = |esi: u32| {
        log_source_products
            .get(esi as usize)
            .map_or(0, |&l| l as usize)
    };
    // log Π_{l ∈ points, l ≠ p} (x_p − x_l): the products over all sources, less the missing
    // ones, plus the repairs.
    let points: Vec<(u16, usize)> = received_sources
        .iter()
        .chain(repairs)
        .map(|&p| {
            let xp = field.point(p);
            let log_denominator = add(
                sub(lsp(p), log_prod(field, xp, &x_missing)),
                log_prod(field, xp, &x_repairs),
            );
            // log w_p = −log_denominator
            (xp, sub(0, log_denominator))
        })
        .collect();
    let mut coefs = Vec::with_capacity(missing.len() * points.len());
    for (&t, &xt) in missing.iter().zip(&x_missing) {
        // log Π_{l ∈ points} (x_t − x_l), t being a source not among the points.
        let log_numerator = add(
            sub(lsp(t), log_prod(field, xt, &x_missing)),
            log_prod(field, xt, &x_repairs),
        );
        coefs.extend(
            points
                .iter()
                .map(|&(xp, log_w)| field.exp(add(sub(log_numerator, field.log(xt ^ xp)), log_w))),
        );
    }
    coefs
}

/// Row `r` (a repair ESI, r ≥ k) of the generator matrix: the k coefficients of the repair
/// symbol over the source symbols, L_j(x_r) = Π_{l≠j} (x_r − x_l)/(x_j − x_l), in O(k) with the
/// per-code `log_source_products` (equal to the rows of [`interpolation`] on 0..k).
pub(super) fn repair_row(field: &Field, log_source_products: &[u32], k: u32, r: u32) -> Vec<u16> {
    let order = field.order();
    let lsp = |esi: u32| {
        log_source_products
            .get(esi as usize)
            .map_or(0, |&l| l as usize)
    };
    let xr = field.point(r);
    let log_r = lsp(r);
    (0..k)
        .map(|j| {
            let log_c = add_mod(
                add_mod(log_r, order - field.log(xr ^ field.point(j)), order),
                order - lsp(j),
                order,
            );
            field.exp(log_c)
        })
        .collect()
}

/// The inverse of the row-major `n` × `n` matrix `a` by Gauss-Jordan elimination, or `None`
/// when it is singular.
pub(super) fn invert(field: &Field, mut a: Vec<u16>, n: usize) -> Option<Vec<u16>> {
    let mut inv: Vec<u16> = (0..n * n).map(|i| u16::from(i / n == i % n)).collect();
    for col in 0..n {
        let pivot = (col..n).find(|&r| a.get(r * n + col).is_some_and(|&v| v != 0))?;
        if pivot != col {
            for c in 0..n {
                a.swap(pivot * n + c, col * n + c);
                inv.swap(pivot * n + c, col * n + c);
            }
        }
        let scale = field.inv(*a.get(col * n + col)?);
        for c in 0..n {
            let i = col * n + c;
            *a.get_mut(i)? = field.mul(*a.get(i)?, scale);
            *inv.get_mut(i)? = field.mul(*inv.get(i)?, scale);
        }
        for r in (0..n).filter(|&r| r != col) {
            let f = *a.get(r * n + col)?;
            if f == 0 {
                continue;
            }
            for c in 0..n {
                let (src, dst) = (col * n + c, r * n + c);
                *a.get_mut(dst)? ^= field.mul(f, *a.get(src)?);
                *inv.get_mut(dst)? ^= field.mul(f, *inv.get(src)?);
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decoding_coefficients_equal_the_lagrange_interpolation(
            m in prop_oneof![Just(8u8), Just(16u8), 2u8..=12],
            k in 1u32..50,
            extra in 0u32..50,
            seed: u64,
        ) {
            let field = Field::get(m).unwrap();
            let n = (k + extra).min(field.order() as u32);
            let k = k.min(n);
            let e = ((seed % u64::from(n - k + 1)) as u32).min(k);
            // The first e sources at odd positions of a rotation are missing.
            let missing: Vec<u32> = (0..k).map(|i| (i * 7 + seed as u32) % k).take(e as usize)
                .collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            let e = missing.len() as u32;
            let received: Vec<u32> = (0..k).filter(|i| !missing.contains(i)).collect();
            let repairs: Vec<u32> = (k..n).rev().take(e as usize).collect();
            let lsp = log_source_products(field, k, n);
            let fast = decoding(field, &lsp, &received, &missing, &repairs);
            let points: Vec<u32> = received.iter().chain(&repairs).copied().collect();
            prop_assert_eq!(fast, interpolation(field, &points, &missing));
        }

        #[test]
        fn repair_rows_equal_the_interpolation_on_the_sources(
            m in prop_oneof![Just(8u8), Just(16u8), 2u8..=12],
            k in 1u32..50,
            extra in 1u32..50,
        ) {
            let field = Field::get(m).unwrap();
            let n = (k + extra).min(field.order() as u32);
            let k = k.min(n - 1);
            let lsp = log_source_products(field, k, n);
            let sources: Vec<u32> = (0..k).collect();
            for r in k..n {
                prop_assert_eq!(repair_row(field, &lsp, k, r), interpolation(field, &sources, &[r]));
            }
        }

        #[test]
        fn an_inverted_square_of_repair_rows_times_the_square_is_the_identity(
            k in 2u32..64,
            extra in 1u32..40,
            seed: u64,
        ) {
            let field = Field::get(8).unwrap();
            let n = (k + extra).min(255);
            let lsp = log_source_products(field, k, n);
            let e = ((seed % u64::from(n - k)) as usize + 1).min(k as usize);
            let columns: Vec<u32> = (0..k).map(|i| (i * 5 + seed as u32) % k).take(e)
                .collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            let e = columns.len();
            let rows: Vec<Vec<u16>> = (k..n).rev().take(e).map(|r| repair_row(field, &lsp, k, r)).collect();
            let a: Vec<u16> = rows.iter().flat_map(|row| columns.iter().map(|&c| row[c as usize])).collect();
            let inv = invert(field, a.clone(), e).expect("every square of the repair part is invertible");
            for i in 0..e {
                for j in 0..e {
                    let dot = (0..e).fold(0u16, |acc, l| acc ^ field.mul(inv[i * e + l], a[l * e + j]));
                    prop_assert_eq!(dot, u16::from(i == j));
                }
            }
        }
    }

    #[test]
    fn a_singular_matrix_has_no_inverse() {
        let field = Field::get(8).unwrap();
        assert_eq!(invert(field, vec![1, 2, 1, 2], 2), None);
        assert_eq!(invert(field, vec![0; 9], 3), None);
    }

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
