//! The symbol side of inactivation decoding: the `e_c` of the pivots that are needed, then each
//! target as Σ e_c + Σ C[inactive q] over its columns.

use super::{Col, Received, System, copy_padded, flip_bit, ones, symbol, xor_sum, xor_words};

impl System {
    /// Marks the pivots whose `e` the `selected` dense rows and the targets need, and,
    /// backwards, those these depend on.
    pub(in crate::fec) fn mark_needed(&mut self, selected: &[u32]) {
        self.needed.clear();
        self.needed.resize(self.pivots.len(), false);
        let mark = |state: &[Col], needed: &mut [bool], j: u32| {
            if let Some(Col::Solved(t)) = state.get(j as usize)
                && let Some(n) = needed.get_mut(*t as usize)
            {
                *n = true;
            }
        };
        for &r in selected {
            for &j in self.rows.row(r as usize) {
                mark(&self.state, &mut self.needed, j);
            }
        }
        for i in 0..self.targets.len() {
            for &j in self.targets.row(i) {
                mark(&self.state, &mut self.needed, j);
            }
        }
        for t in (0..self.pivots.len()).rev() {
            if !self.needed.get(t).copied().unwrap_or(false) {
                continue;
            }
            let Some(&(r, c)) = self.pivots.get(t) else {
                continue;
            };
            for &j in self.rows.row(r as usize) {
                if j != c {
                    mark(&self.state, &mut self.needed, j);
                }
            }
        }
    }

    /// e_t = D[r_t] + Σ e over the row's other pivoted columns, for the needed pivots.
    pub(in crate::fec) fn compute_e(&mut self, received: Received<'_>, t: usize) {
        self.e.resize(self.pivots.len() * t, 0);
        for (p, &(r, c)) in self.pivots.iter().enumerate() {
            if !self.needed.get(p).copied().unwrap_or(false) {
                continue;
            }
            let (before, rest) = self.e.split_at_mut(p * t);
            let dst = rest.get_mut(..t).unwrap_or_default();
            let d = self.rhs.get(r as usize).and_then(|&h| received.rhs(h));
            let state = &self.state;
            let others =
                self.rows
                    .row(r as usize)
                    .iter()
                    .filter_map(|&j| match state.get(j as usize) {
                        Some(Col::Solved(t2)) if j != c => Some(symbol(before, *t2, t)),
                        _ => None,
                    });
            xor_sum(dst, d.into_iter().chain(others));
        }
    }

    /// Each target: Σ over its columns of C, into `out` (T bytes each, in target order).
    pub(in crate::fec) fn regenerate(&mut self, t: usize, words: usize, out: &mut [u8]) {
        let mut v = vec![0u64; words];
        // Each target needs the sum of about half the inactive symbols. With many targets, the
        // 16 sums of each group of 4 inactive symbols are formed once (11 additions a group)
        // and each target adds one per group instead of up to 4.
        let nb_targets = self.targets.len();
        let nb_inactive = self.inactive.len() / t.max(1);
        let groups = nb_inactive.div_ceil(4);
        let use_combos = nb_targets >= 16;
        if use_combos {
            self.combos.clear();
            self.combos.resize(groups * 16 * t, 0);
            for g in 0..groups {
                for combo in 1..16u32 {
                    let low = combo & combo.wrapping_neg();
                    let q = g as u32 * 4 + low.trailing_zeros();
                    let slot = g as u32 * 16 + combo;
                    let prev = g as u32 * 16 + (combo ^ low);
                    let (before, rest) = self.combos.split_at_mut(slot as usize * t);
                    let dst = rest.get_mut(..t).unwrap_or_default();
                    let inactive = symbol(&self.inactive, q, t);
                    if combo == low {
                        copy_padded(dst, inactive);
                    } else {
                        xor_sum(dst, [symbol(before, prev, t), inactive].into_iter());
                    }
                }
            }
        }
        for (i, dst) in out.chunks_exact_mut(t).enumerate().take(nb_targets) {
            let cols = self.targets.row(i);
            v.fill(0);
            for &j in cols {
                match self.state.get(j as usize) {
                    Some(Col::Solved(p)) => {
                        let a = *p as usize * words;
                        xor_words(&mut v, self.m.get(a..a + words).unwrap_or_default());
                    }
                    Some(Col::Inactive(q)) => flip_bit(&mut v, *q),
                    _ => {}
                }
            }
            let state = &self.state;
            let e = &self.e;
            let from_e = cols.iter().filter_map(|&j| match state.get(j as usize) {
                Some(Col::Solved(p)) => Some(symbol(e, *p, t)),
                _ => None,
            });
            let inactive = &self.inactive;
            let combos = &self.combos;
            if use_combos {
                let nibbles = v
                    .iter()
                    .flat_map(|w| (0..16).map(move |i| (w >> (4 * i)) & 0xF));
                let from_combos = nibbles
                    .enumerate()
                    .take(groups)
                    .filter(|(_, nibble)| *nibble != 0)
                    .map(|(g, nibble)| symbol(combos, g as u32 * 16 + nibble as u32, t));
                xor_sum(dst, from_e.chain(from_combos));
            } else {
                let from_inactive = ones(&v).map(|q| symbol(inactive, q, t));
                xor_sum(dst, from_e.chain(from_inactive));
            }
        }
    }
}
