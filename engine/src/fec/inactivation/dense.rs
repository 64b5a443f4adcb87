//! The dense phase of inactivation decoding: independent unused rows over the inactive columns,
//! Gauss-Jordan on their bitsets (each row operation replayed on the symbols), and the check
//! that a target is determined when those rows are fewer than the inactive columns.

use super::{
    Received, System, bit, copy_padded, copy_words, ones, symbol, symbol_mut, xor_within, xor_words,
};

impl System {
    /// Picks up to `nb_inactive` unused rows whose dense vectors are independent, cheapest
    /// (first pushed) rows first; returns them and their vectors. Fewer than `nb_inactive`:
    /// the rows do not determine every inactive column.
    pub(in crate::fec) fn select_dense_rows(
        &self,
        nb_inactive: u32,
        words: usize,
    ) -> (Vec<u32>, Vec<u64>) {
        let n = nb_inactive as usize;
        let mut selected = Vec::with_capacity(n);
        let mut vecs = Vec::with_capacity(n * words);
        // basis[q]: a reduced vector whose lowest set bit is q.
        let mut basis = vec![0u64; n * words];
        let mut has = vec![false; n];
        let mut v = vec![0u64; words];
        let mut reduced = vec![0u64; words];
        for r in self.unused_rows() {
            if selected.len() == n {
                break;
            }
            self.dense_vector(r, words, &mut v);
            copy_words(&mut reduced, &v);
            let mut lead = None;
            for q in 0..nb_inactive {
                if !bit(&reduced, q) {
                    continue;
                }
                if has.get(q as usize).copied().unwrap_or(false) {
                    let a = q as usize * words;
                    xor_words(&mut reduced, basis.get(a..a + words).unwrap_or_default());
                } else {
                    lead = Some(q);
                    break;
                }
            }
            if let Some(q) = lead {
                let a = q as usize * words;
                if let Some(slot) = basis.get_mut(a..a + words) {
                    copy_words(slot, &reduced);
                }
                if let Some(h) = has.get_mut(q as usize) {
                    *h = true;
                }
                selected.push(r as u32);
                vecs.extend_from_slice(&v);
            }
        }
        (selected, vecs)
    }

    /// Solves the dense system of the `selected` rows (independent, `vecs` their vectors):
    /// leaves C[inactive q] in `self.inactive`, symbol q, zero for the columns they leave free.
    pub(super) fn solve_inactive(
        &mut self,
        received: Received<'_>,
        t: usize,
        nb_inactive: u32,
        words: usize,
        selected: &[u32],
        mut vecs: Vec<u64>,
    ) {
        let n = nb_inactive as usize;
        let nb_rows = selected.len();
        // Right-hand sides, in selection order.
        let mut rhs = std::mem::take(&mut self.inactive);
        self.dense_rhs(received, t, selected, &mut rhs);
        // Gauss-Jordan on the bitsets to reduced row echelon form; each row operation is
        // replayed on the symbols.
        self.pivot_of.clear();
        self.pivot_of.resize(n, None);
        let mut used = vec![false; nb_rows];
        let mut pivot_vec = vec![0u64; words];
        let row_has = |vecs: &[u64], p: usize, q: u32| {
            bit(vecs.get(p * words..(p + 1) * words).unwrap_or_default(), q)
        };
        for q in 0..nb_inactive {
            let pos = (0..nb_rows)
                .find(|&p| !used.get(p).copied().unwrap_or(true) && row_has(&vecs, p, q));
            let Some(p) = pos else {
                continue;
            };
            if let Some(u) = used.get_mut(p) {
                *u = true;
            }
            if let Some(slot) = self.pivot_of.get_mut(q as usize) {
                *slot = Some(p as u32);
            }
            copy_words(
                &mut pivot_vec,
                vecs.get(p * words..(p + 1) * words).unwrap_or_default(),
            );
            for o in (0..nb_rows).filter(|&o| o != p) {
                let Some(ov) = vecs.get_mut(o * words..(o + 1) * words) else {
                    continue;
                };
                if bit(ov, q) {
                    xor_words(ov, &pivot_vec);
                    xor_within(&mut rhs, o as u32, p as u32, t);
                }
            }
        }
        // C[inactive q] is the right-hand side of its pivot row (the free columns taken as 0).
        self.inactive.clear();
        self.inactive.resize(n * t, 0);
        for (q, p) in self.pivot_of.iter().enumerate() {
            if let Some(p) = p {
                copy_padded(
                    symbol_mut(&mut self.inactive, q as u32, t),
                    symbol(&rhs, *p, t),
                );
            }
        }
        self.reduced = vecs;
    }

    /// Whether every target lies in the row space of the solved system, so that its value does
    /// not depend on the free inactive columns.
    pub(super) fn targets_determined(&self, words: usize) -> bool {
        let mut v = vec![0u64; words];
        let mut pivots = Vec::new();
        (0..self.targets.len()).all(|i| {
            self.dense_vector_of(self.targets.row(i), words, &mut v);
            // Reduced rows carry the identity on their pivot columns: the pivot rows to add
            // are read off v before it changes.
            pivots.clear();
            pivots
                .extend(ones(&v).filter_map(|q| self.pivot_of.get(q as usize).copied().flatten()));
            for &p in &pivots {
                let a = p as usize * words;
                xor_words(&mut v, self.reduced.get(a..a + words).unwrap_or_default());
            }
            v.iter().all(|&w| w == 0)
        })
    }
}
