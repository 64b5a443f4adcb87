//! The decoder's second chance, when the GF(2) rows alone leave the inactive columns
//! undetermined (few symbols beyond K): the HDPC rows of RFC 6330 §5.3.3.3 (G_HDPC = MT·GAMMA
//! over GF(256), then I_H) join the unused rows, and the dense system over the inactive columns
//! is solved over GF(256) (§5.4.2.3, second phase), its operations replayed on the symbols with
//! the gf256 mul-add kernels.
//!
//! G_HDPC is never formed: Σ_j G[h][j]·X_j = Σ_m MT[h][m]·Z_m with Z_m = Σ_{j≤m} α^(m−j)·X_j,
//! and Z_m = α·Z_{m−1} + X_m (Horner), so one pass over the columns costs one multiply-add and
//! two additions per column whatever H is, for the symbols as for the coefficients.

use super::{Received, Unsolved};
use crate::fec::gf256;
use crate::fec::inactivation::{Col, System, ones, symbol, symbol_mut, xor_within};
use crate::fec::raptorq::params::{Params, rand};
use crate::fec::source_symbols::bit;
use crate::fec::xor::{copy_padded, xor_into, xor_sum};

/// The two rows of MT (RFC 6330 §5.3.3.3) holding a one in column j < K' + S − 1.
fn mt_rows(params: &Params, j: u32) -> [u32; 2] {
    let r6 = rand(j + 1, 6, params.h);
    let r7 = rand(j + 1, 7, params.h - 1);
    [r6, (r6 + r7 + 1) % params.h]
}

/// α^h in GF(256), α = 2.
fn alpha_pow(h: u32) -> u8 {
    (0..h).fold(1u8, |x, _| gf256::mul(x, 2))
}

/// `dst += c·src` for two distinct symbols of one buffer.
fn mul_add_within(buf: &mut [u8], dst: usize, src: usize, t: usize, c: u8) {
    if c == 1 {
        xor_within(buf, dst as u32, src as u32, t);
        return;
    }
    let (d, s) = (dst * t, src * t);
    if d < s {
        let (lo, hi) = buf.split_at_mut(s);
        gf256::mul_add(
            lo.get_mut(d..d + t).unwrap_or_default(),
            hi.get(..t).unwrap_or_default(),
            c,
        );
    } else if s < d {
        let (lo, hi) = buf.split_at_mut(d);
        gf256::mul_add(
            hi.get_mut(..t).unwrap_or_default(),
            lo.get(s..s + t).unwrap_or_default(),
            c,
        );
    }
}

/// The multiplicative inverse in GF(256): a^254.
fn inverse(a: u8) -> u8 {
    let mut result = 1u8;
    let mut base = a;
    let mut e = 254u32;
    while e > 0 {
        if e & 1 != 0 {
            result = gf256::mul(result, base);
        }
        base = gf256::mul(base, base);
        e >>= 1;
    }
    result
}

/// A row of the GF(256) dense system.
#[derive(Debug, Clone, Copy)]
enum DenseRow {
    /// An unused row of the sparse matrix.
    Sparse(u32),
    /// HDPC row h.
    Hdpc(u32),
}

impl System {
    /// Solves the inactive columns with the HDPC rows' help; leaves them in `self.inactive`.
    pub(super) fn solve_with_hdpc(
        &mut self,
        params: &Params,
        received: Received<'_>,
        t: usize,
        nb_inactive: u32,
        words: usize,
    ) -> Result<(), Unsolved> {
        let n = nb_inactive as usize;
        let width = (params.k_prime + params.s) as usize;
        self.charge_hdpc(params, t, nb_inactive)?;
        // Candidate rows and their coefficients over the inactive columns.
        let mut candidates = Vec::new();
        let mut coefs: Vec<u8> = Vec::new();
        let mut bits = vec![0u64; words];
        for r in self.unused_rows() {
            self.dense_vector(r, words, &mut bits);
            candidates.push(DenseRow::Sparse(r as u32));
            coefs.extend((0..nb_inactive).map(|q| u8::from(bit(&bits, q))));
        }
        // HDPC coefficients by Horner over the columns j < K' + S.
        let hh = params.h as usize;
        let mut acc = vec![0u8; hh * n];
        let mut z = vec![0u8; n];
        let mut x = vec![0u8; n];
        for j in 0..width as u32 {
            x.fill(0);
            match self.state.get(j as usize) {
                Some(Col::Solved(p)) => {
                    let a = *p as usize * words;
                    for q in ones(self.m.get(a..a + words).unwrap_or_default()) {
                        if let Some(b) = x.get_mut(q as usize) {
                            *b = 1;
                        }
                    }
                }
                Some(Col::Inactive(q)) => {
                    if let Some(b) = x.get_mut(*q as usize) {
                        *b = 1;
                    }
                }
                _ => {}
            }
            gf256::mul_add(&mut x, &z, 2);
            std::mem::swap(&mut x, &mut z);
            if j + 1 < width as u32 {
                for r in mt_rows(params, j) {
                    let a = r as usize * n;
                    if let Some(dst) = acc.get_mut(a..a + n) {
                        xor_into(dst, &z);
                    }
                }
            } else {
                for r in 0..params.h {
                    let a = r as usize * n;
                    if let Some(dst) = acc.get_mut(a..a + n) {
                        gf256::mul_add(dst, &z, alpha_pow(r));
                    }
                }
            }
        }
        for h in 0..params.h {
            let a = h as usize * n;
            let v = acc.get_mut(a..a + n).unwrap_or_default();
            if let Some(Col::Inactive(q)) = self.state.get(width + h as usize)
                && let Some(b) = v.get_mut(*q as usize)
            {
                *b ^= 1;
            }
            candidates.push(DenseRow::Hdpc(h));
            coefs.extend_from_slice(v);
        }
        // Pick n independent rows, in candidate order.
        let mut basis = vec![0u8; n * n];
        let mut has = vec![false; n];
        let mut selected = Vec::with_capacity(n);
        let mut matrix = Vec::with_capacity(n * n);
        let mut v = vec![0u8; n];
        for (i, row) in candidates.iter().enumerate() {
            if selected.len() == n {
                break;
            }
            let original = coefs.get(i * n..(i + 1) * n).unwrap_or_default();
            copy_padded(&mut v, original);
            let mut lead = None;
            for q in 0..n {
                let c = v.get(q).copied().unwrap_or_default();
                if c == 0 {
                    continue;
                }
                if has.get(q).copied().unwrap_or(false) {
                    let b = basis.get(q * n..(q + 1) * n).unwrap_or_default();
                    gf256::mul_add(&mut v, b, c);
                } else {
                    lead = Some((q, c));
                    break;
                }
            }
            if let Some((q, c)) = lead {
                let inv = inverse(c);
                if let Some(slot) = basis.get_mut(q * n..(q + 1) * n) {
                    slot.fill(0);
                    gf256::mul_add(slot, &v, inv);
                }
                if let Some(h) = has.get_mut(q) {
                    *h = true;
                }
                selected.push(*row);
                matrix.extend_from_slice(original);
            }
        }
        if selected.len() != n {
            return Err(Unsolved::RankDeficient);
        }
        // Every e is needed: the HDPC rows cover all the LT and LDPC columns.
        self.needed.clear();
        self.needed.resize(self.pivots.len(), true);
        self.compute_e(received, t);
        let hdpc_rhs = self.hdpc_sums(params, t, width);
        let mut rhs = std::mem::take(&mut self.inactive);
        rhs.clear();
        rhs.resize(n * t, 0);
        for (i, row) in selected.iter().enumerate() {
            let dst = symbol_mut(&mut rhs, i as u32, t);
            match *row {
                DenseRow::Sparse(r) => {
                    let d = self.rhs_of(received, r);
                    let state = &self.state;
                    let e = &self.e;
                    let others = self.rows.row(r as usize).iter().filter_map(|&j| {
                        match state.get(j as usize) {
                            Some(Col::Solved(p)) => Some(symbol(e, *p, t)),
                            _ => None,
                        }
                    });
                    xor_sum(dst, d.into_iter().chain(others));
                }
                DenseRow::Hdpc(h) => {
                    copy_padded(dst, symbol(&hdpc_rhs, h, t));
                }
            }
        }
        // Gauss-Jordan over GF(256), replayed on the symbols.
        let nb_binary = selected
            .iter()
            .filter(|r| matches!(r, DenseRow::Sparse(_)))
            .count();
        let mut scratch = vec![0u8; t];
        let mut at: Vec<usize> = (0..n).collect();
        for q in 0..n {
            // A binary row as pivot keeps the other binary rows binary (XORs, half of them).
            let nonzero = |p: &usize| {
                let r = at.get(*p).copied().unwrap_or_default();
                matrix.get(r * n + q).is_some_and(|&c| c != 0)
            };
            let binary = |p: &usize| at.get(*p).is_some_and(|&r| r < nb_binary);
            let pos = (q..n)
                .filter(nonzero)
                .find(binary)
                .or_else(|| (q..n).find(nonzero));
            let Some(pos) = pos else {
                return Err(Unsolved::RankDeficient);
            };
            at.swap(q, pos);
            let pivot = at.get(q).copied().unwrap_or_default();
            let inv = inverse(matrix.get(pivot * n + q).copied().unwrap_or_default());
            if let Some(prow) = matrix.get_mut(pivot * n..(pivot + 1) * n) {
                for x in prow.iter_mut() {
                    *x = gf256::mul(*x, inv);
                }
            }
            let psym = symbol_mut(&mut rhs, pivot as u32, t);
            scratch.fill(0);
            gf256::mul_add(&mut scratch, psym, inv);
            copy_padded(psym, &scratch);
            let prow: Vec<u8> = matrix
                .get(pivot * n..(pivot + 1) * n)
                .unwrap_or_default()
                .to_vec();
            for &other in at.iter().filter(|&&o| o != pivot) {
                let Some(orow) = matrix.get_mut(other * n..(other + 1) * n) else {
                    continue;
                };
                let c = orow.get(q).copied().unwrap_or_default();
                if c == 0 {
                    continue;
                }
                gf256::mul_add(orow, &prow, c);
                mul_add_within(&mut rhs, other, pivot, t, c);
            }
        }
        self.inactive.clear();
        self.inactive.resize(n * t, 0);
        for (q, &row) in at.iter().enumerate() {
            copy_padded(
                symbol_mut(&mut self.inactive, q as u32, t),
                symbol(&rhs, row as u32, t),
            );
        }
        Ok(())
    }

    /// Checks what `solve_with_hdpc` costs before it allocates: the candidates' coefficients
    /// and the basis (n bytes per candidate, n² twice), Horner over K' + S columns, elimination
    /// of every candidate against the basis (n² each at most), the n² row operations replayed
    /// on the symbols, and every pivot's symbol computed.
    fn charge_hdpc(&mut self, params: &Params, t: usize, nb_inactive: u32) -> Result<(), Unsolved> {
        let (n, t, h) = (u64::from(nb_inactive), t as u64, u64::from(params.h));
        let width = u64::from(params.k_prime + params.s);
        let candidates = self.nb_unused().saturating_add(h);
        let n2 = n.saturating_mul(n);
        let scratch = candidates
            .saturating_add(h)
            .saturating_add(n.saturating_mul(2))
            .saturating_mul(n)
            .saturating_add(n.saturating_add(h).saturating_mul(t));
        let work = width
            .saturating_mul(3)
            .saturating_mul(n.saturating_add(t))
            .saturating_add(candidates.saturating_mul(n2))
            .saturating_add(n2.saturating_mul(n.saturating_add(t)))
            .saturating_add(self.nnz().saturating_mul(t));
        self.charge(work, scratch)
    }

    /// Σ_j G_HDPC[h][j]·e_j over the solved columns, for each h (H symbols), by Horner.
    fn hdpc_sums(&self, params: &Params, t: usize, width: usize) -> Vec<u8> {
        let mut acc = vec![0u8; params.h as usize * t];
        let mut z = vec![0u8; t];
        let mut x = vec![0u8; t];
        for j in 0..width as u32 {
            match self.state.get(j as usize) {
                Some(Col::Solved(p)) => copy_padded(&mut x, symbol(&self.e, *p, t)),
                _ => x.fill(0),
            }
            gf256::mul_add(&mut x, &z, 2);
            std::mem::swap(&mut x, &mut z);
            if j + 1 < width as u32 {
                for r in mt_rows(params, j) {
                    xor_into(symbol_mut(&mut acc, r, t), &z);
                }
            } else {
                for r in 0..params.h {
                    gf256::mul_add(symbol_mut(&mut acc, r, t), &z, alpha_pow(r));
                }
            }
        }
        acc
    }
}
