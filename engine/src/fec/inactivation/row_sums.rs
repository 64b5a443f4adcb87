//! The right-hand sides of the dense system: for each selected row, D[r] plus the `e` of its
//! solved columns.
//!
//! Dense rows (RFC 5053's half rows) each hold about half of all the columns, so summing them
//! one by one would cost more symbol additions than the rest of the decoding. They are summed
//! up to 8 at a time instead: each solved column's `e` is added once, into the bucket of the
//! subset of those rows that hold it; the rows' sums are then read off the 2^w buckets, the
//! top row's from the upper half, which is then folded onto the lower half for the next row
//! (about 2^(w+1) additions in all).

use super::{Col, Received, RowKind, System, symbol, symbol_mut, xor_into, xor_sum};

/// The most dense rows summed together (2^8 buckets of one symbol each).
const GROUP: usize = 8;

impl System {
    /// Writes the right-hand side of each `selected` row into `rhs` (T bytes each, in order).
    pub(super) fn dense_rhs(
        &self,
        received: Received<'_>,
        t: usize,
        selected: &[u32],
        rhs: &mut Vec<u8>,
    ) {
        rhs.clear();
        rhs.resize(selected.len() * t, 0);
        let mut dense = Vec::new();
        for (i, &r) in selected.iter().enumerate() {
            if self.kind.get(r as usize) == Some(&RowKind::Dense) {
                dense.push(i);
            } else {
                self.row_sum(received, t, r, symbol_mut(rhs, i as u32, t));
            }
        }
        let mut mask = Vec::new();
        let mut buckets = Vec::new();
        for group in dense.chunks(GROUP) {
            self.group_sums(received, t, selected, group, rhs, &mut mask, &mut buckets);
        }
    }

    /// D[r] + Σ e over row `r`'s solved columns, into `dst`.
    fn row_sum(&self, received: Received<'_>, t: usize, r: u32, dst: &mut [u8]) {
        let d = self.rhs_of(received, r);
        let state = &self.state;
        let e = &self.e;
        let others =
            self.rows
                .row(r as usize)
                .iter()
                .filter_map(|&j| match state.get(j as usize) {
                    Some(Col::Solved(p)) => Some(symbol(e, *p, t)),
                    _ => None,
                });
        xor_sum(dst, d.into_iter().chain(others));
    }

    /// The sums of the rows `selected[i]` for i in `group` (at most 8), into `rhs`.
    #[allow(clippy::too_many_arguments)]
    fn group_sums(
        &self,
        received: Received<'_>,
        t: usize,
        selected: &[u32],
        group: &[usize],
        rhs: &mut [u8],
        mask: &mut Vec<u8>,
        buckets: &mut Vec<u8>,
    ) {
        let row_of = |i: usize| selected.get(i).copied().unwrap_or_default();
        mask.clear();
        mask.resize(self.pivots.len(), 0);
        let mut direct = 0usize;
        for (b, &i) in group.iter().enumerate() {
            for &j in self.rows.row(row_of(i) as usize) {
                if let Some(Col::Solved(p)) = self.state.get(j as usize)
                    && let Some(m) = mask.get_mut(*p as usize)
                {
                    *m |= 1 << b;
                    direct += 1;
                }
            }
        }
        let w = group.len();
        let union = mask.iter().filter(|&&m| m != 0).count();
        if union + (2 << w) >= direct {
            // Short rows or few of them: one by one is cheaper.
            for &i in group {
                self.row_sum(received, t, row_of(i), symbol_mut(rhs, i as u32, t));
            }
            return;
        }
        buckets.clear();
        buckets.resize((1 << w) * t, 0);
        for (p, &m) in mask.iter().enumerate() {
            if m != 0 {
                xor_into(
                    symbol_mut(buckets, u32::from(m), t),
                    symbol(&self.e, p as u32, t),
                );
            }
        }
        for (k, &i) in group.iter().enumerate().rev() {
            // Buckets 0..2^(k+1) now cover rows 0..=k; row k is the upper half.
            let half = 1u32 << k;
            let d = self.rhs_of(received, row_of(i));
            let upper = (half..2 * half).map(|m| symbol(buckets, m, t));
            xor_sum(symbol_mut(rhs, i as u32, t), d.into_iter().chain(upper));
            let (lower, upper) = buckets.split_at_mut(half as usize * t);
            for m in 1..half {
                xor_into(symbol_mut(lower, m, t), symbol(upper, m, t));
            }
        }
    }
}
