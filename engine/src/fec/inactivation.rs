//! Inactivation decoding over GF(2), shared by our Raptor (RFC 5053 §5.5) and RaptorQ
//! (RFC 6330 §5.4.2) decoders and by the Raptor encoder: solves A·C = D for the intermediate
//! symbols C and produces only the encoding symbols asked for (the lost source symbols, or the
//! repair symbols), as sums of columns of C.
//!
//! Each code pushes its rows (constraint rows, one LT row per known symbol) and its targets
//! (the column sets of the symbols wanted); the matrix work is then done first and alone:
//! rows are peeled (a row with one unknown column left determines it), columns are
//! inactivated when peeling is stuck (a code may start some inactive, as RaptorQ's PI columns),
//! and each peeled column is written as `C[c] = e_c + Σ m_c,q · C[inactive q]` with `m_c` a
//! bitset over the inactive columns. The unused rows give a small dense system over the
//! inactive columns, which Gauss-Jordan solves on bitsets while recording its row operations.
//! Only then are symbols touched: the `e_c` that are needed, the dense right-hand sides and
//! the recorded operations, then each target as Σ e_c + Σ C[inactive q] over its columns.
//!
//! Rows of kind [`RowKind::Dense`] (RFC 5053's half rows) are never peeled: they only join the
//! dense system, after the sparse rows. When the dense system is rank deficient, the free
//! inactive columns are set to zero and each target is checked to lie in the row space of the
//! system (then its value is the same in every solution): the decoder is maximum-likelihood for
//! the symbols asked for, not only for the whole of C.

use super::source_symbols::bit;
use super::xor::{copy_padded, xor_into, xor_sum};

mod dense;
mod row_sums;
mod symbols;

/// Where a row's right-hand side comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rhs {
    /// Constraint rows and padding symbols: zero.
    Zero,
    /// Received source symbol with this ESI.
    Source(u32),
    /// The n-th repair symbol handed in.
    Repair(u32),
}

/// How a row takes part in peeling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RowKind {
    /// An encoding symbol's row: peeled first.
    Lt,
    /// A sparse constraint row: peeled when no LT row is ripe.
    Ldpc,
    /// A dense constraint row: never peeled, only in the dense system.
    Dense,
}

/// What peeling made of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Col {
    Active,
    /// The q-th inactive column.
    Inactive(u32),
    /// Determined by the t-th pivot.
    Solved(u32),
}

/// A sparse GF(2) matrix in compressed rows.
#[derive(Debug, Default, Clone)]
pub(super) struct Sparse {
    start: Vec<u32>,
    cols: Vec<u32>,
}

impl Sparse {
    pub(super) fn clear(&mut self) {
        self.start.clear();
        self.start.push(0);
        self.cols.clear();
    }

    pub(super) fn push(&mut self, cols: &[u32]) {
        if self.start.is_empty() {
            self.start.push(0);
        }
        self.cols.extend_from_slice(cols);
        self.start.push(self.cols.len() as u32);
    }

    pub(super) fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    pub(super) fn row(&self, r: usize) -> &[u32] {
        let a = self.start.get(r).copied().unwrap_or_default() as usize;
        let b = self.start.get(r + 1).copied().unwrap_or_default() as usize;
        self.cols.get(a..b).unwrap_or_default()
    }
}

/// Sorts `v` and removes the columns that appear an even number of times (GF(2) sums).
pub(super) fn cancel_pairs(v: &mut Vec<u32>, scratch: &mut Vec<u32>) {
    v.sort_unstable();
    scratch.clear();
    for &c in v.iter() {
        if scratch.last() == Some(&c) {
            scratch.pop();
        } else {
            scratch.push(c);
        }
    }
    std::mem::swap(v, scratch);
}

pub(super) fn symbol(buf: &[u8], i: u32, t: usize) -> &[u8] {
    let a = i as usize * t;
    buf.get(a..a + t).unwrap_or_default()
}

pub(super) fn symbol_mut(buf: &mut [u8], i: u32, t: usize) -> &mut [u8] {
    let a = i as usize * t;
    buf.get_mut(a..a + t).unwrap_or_default()
}

/// `dst ^= src` for two distinct symbols of one buffer.
pub(super) fn xor_within(buf: &mut [u8], dst: u32, src: u32, t: usize) {
    let (d, s) = (dst as usize * t, src as usize * t);
    if d < s {
        let (lo, hi) = buf.split_at_mut(s);
        xor_into(
            lo.get_mut(d..d + t).unwrap_or_default(),
            hi.get(..t).unwrap_or_default(),
        );
    } else if s < d {
        let (lo, hi) = buf.split_at_mut(d);
        xor_into(
            hi.get_mut(..t).unwrap_or_default(),
            lo.get(s..s + t).unwrap_or_default(),
        );
    }
}

pub(super) fn xor_words(dst: &mut [u64], src: &[u64]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= *s;
    }
}

fn copy_words(dst: &mut [u64], src: &[u64]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

/// Adds column `q` to a GF(2) row: flips its bit.
pub(super) fn flip_bit(words: &mut [u64], q: u32) {
    if let Some(w) = words.get_mut(q as usize / 64) {
        *w ^= 1 << (q % 64);
    }
}

/// The set bits of `words`, ascending.
pub(super) fn ones(words: &[u64]) -> impl Iterator<Item = u32> + '_ {
    words.iter().enumerate().flat_map(|(i, &w)| {
        let mut w = w;
        std::iter::from_fn(move || {
            if w == 0 {
                return None;
            }
            let b = w.trailing_zeros();
            w &= w - 1;
            Some(i as u32 * 64 + b)
        })
    })
}

/// The received symbols of one block, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// One entry per source ESI < K: the symbol (it may be short: zero-padded) or None if lost.
    pub source: &'a [Option<&'a [u8]>],
    /// Repair symbols (ESI ≥ K, T bytes each), in any order, without duplicates.
    pub repair: &'a [(u32, &'a [u8])],
}

impl<'a> Received<'a> {
    pub(super) fn rhs(self, rhs: Rhs) -> Option<&'a [u8]> {
        match rhs {
            Rhs::Zero => None,
            Rhs::Source(esi) => self.source.get(esi as usize).copied().flatten(),
            Rhs::Repair(n) => self.repair.get(n as usize).map(|(_, s)| *s),
        }
    }

    /// Checks the shape against K and T; returns the number of lost source symbols.
    pub(super) fn check(&self, k: u32, t: usize) -> Result<usize, Unsolved> {
        if self.source.len() != k as usize
            || self.repair.iter().any(|(esi, s)| *esi < k || s.len() != t)
            || self.source.iter().flatten().any(|s| s.len() > t)
        {
            return Err(Unsolved::BadInput);
        }
        Ok(self.source.iter().filter(|s| s.is_none()).count())
    }
}

/// Why a block could not be solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsolved {
    /// K is out of the code's range, or the symbols do not match T.
    BadInput,
    /// The symbols received do not determine the block (or, for RaptorQ's fast path, the
    /// GF(2) rows alone do not).
    RankDeficient,
    /// Solving would cost more than the solver's [`Limit`]: given up before the work (or the
    /// allocation) past the limit is done.
    TooCostly,
}

/// Most one solve may cost. The ESIs of repair symbols choose the rows, and a sender (or
/// anyone who can send into the session) can pick them so that peeling inactivates most
/// columns: the dense phase then grows with the cube of K in work and its square in memory.
/// The solver adds up what each phase will cost before doing it and stops at the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Work, in bytes combined (as `Limits::max_decode_cost` counts it for Reed-Solomon):
    /// symbol bytes XORed or multiplied, plus matrix bytes and rows visited.
    pub work: u64,
    /// Bytes of matrix scratch the dense phase may allocate.
    pub scratch: u64,
}

impl Limit {
    /// No limit (the encoder, whose rows are its own).
    pub const NONE: Self = Self {
        work: u64::MAX,
        scratch: u64::MAX,
    };

    /// Whether `work` and `scratch` are within the limit.
    pub(super) fn check(&self, work: u64, scratch: u64) -> Result<(), Unsolved> {
        if work > self.work || scratch > self.scratch {
            Err(Unsolved::TooCostly)
        } else {
            Ok(())
        }
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self::NONE
    }
}

/// The GF(2) system of one block and the decoder's scratch, kept across blocks so that
/// decoding allocates little.
#[derive(Debug, Default, Clone)]
pub(super) struct System {
    pub(super) rows: Sparse,
    rhs: Vec<Rhs>,
    kind: Vec<RowKind>,
    /// The column sets of the symbols to produce, in output order.
    targets: Sparse,
    cols_of: Sparse,
    pub(super) state: Vec<Col>,
    count: Vec<u32>,
    xor_of: Vec<u32>,
    pub(super) done: Vec<bool>,
    pub(super) pivots: Vec<(u32, u32)>,
    pub(super) m: Vec<u64>,
    pub(super) needed: Vec<bool>,
    pub(super) e: Vec<u8>,
    pub(super) inactive: Vec<u8>,
    /// After a rank-deficient dense solve: for each inactive column, its row in `reduced`
    /// (None: free, taken as zero).
    pivot_of: Vec<Option<u32>>,
    /// The reduced dense rows, for the row-space check of the targets.
    reduced: Vec<u64>,
    /// Sums of the inactive symbols, 16 per group of 4 (see `regenerate`).
    combos: Vec<u8>,
    pub(super) tmp: Vec<u32>,
    pub(super) tmp2: Vec<u32>,
    /// What a solve may cost.
    pub(super) limit: Limit,
    /// Work counted so far in this solve (peeling's scans, then each phase's estimate).
    pub(super) work: u64,
}

impl System {
    /// Starts a new system.
    pub(super) fn clear(&mut self) {
        self.rows.clear();
        self.rhs.clear();
        self.kind.clear();
        self.targets.clear();
    }

    /// Adds a row over distinct columns.
    pub(super) fn push_row(&mut self, cols: &[u32], rhs: Rhs, kind: RowKind) {
        self.rows.push(cols);
        self.rhs.push(rhs);
        self.kind.push(kind);
    }

    /// The right-hand side of row `r`.
    pub(super) fn rhs_of<'a>(&self, received: Received<'a>, r: u32) -> Option<&'a [u8]> {
        self.rhs.get(r as usize).and_then(|&h| received.rhs(h))
    }

    /// Adds a symbol to produce, the sum of these distinct columns.
    pub(super) fn push_target(&mut self, cols: &[u32]) {
        self.targets.push(cols);
    }

    /// Peels the `nb_cols` columns, the ones from `first_inactive` on starting inactive, and
    /// expresses each pivot over the inactive columns. Returns the number of inactive columns
    /// and the words of a bitset over them. `t` is the symbol size the solve will use: with it
    /// the GF(2) solve's cost is checked against the limit before anything dense is allocated.
    pub(super) fn eliminate(
        &mut self,
        nb_cols: u32,
        first_inactive: u32,
        t: usize,
    ) -> Result<(u32, usize), Unsolved> {
        self.work = self.nnz();
        self.index_columns(nb_cols);
        let nb_inactive = self.peel(nb_cols, first_inactive)?;
        let nb_inactive = self.inactivate_rest(nb_inactive);
        let words = (nb_inactive as usize).div_ceil(64).max(1);
        let (work, scratch) = self.dense_cost(nb_inactive, words, t);
        self.charge(work, scratch)?;
        self.express_pivots(words)?;
        Ok((nb_inactive, words))
    }

    /// Adds `work` to this solve's and checks it and `scratch` (bytes about to be allocated)
    /// against the limit.
    pub(super) fn charge(&mut self, work: u64, scratch: u64) -> Result<(), Unsolved> {
        self.work = self.work.saturating_add(work);
        self.limit.check(self.work, scratch)
    }

    /// Column entries of the rows and targets: what a pass over the sparse matrix touches.
    pub(super) fn nnz(&self) -> u64 {
        (self.rows.cols.len() + self.targets.cols.len()) as u64
    }

    /// Rows that no pivot used.
    pub(super) fn nb_unused(&self) -> u64 {
        (self.rows.len() as u64).saturating_sub(self.pivots.len() as u64)
    }

    /// An upper bound on what the GF(2) solve costs once peeling left `nb_inactive` columns:
    /// (work, matrix scratch bytes). The pivots' bitsets and the dense rows' are allocated;
    /// Gauss-Jordan visits each unused row's bitset once per inactive column; the symbols
    /// touched are the rows' right-hand sides, at most I² row operations over the inactive
    /// symbols, and each target's columns plus one sum per group of four inactive symbols.
    /// (When the dense rows fall short, `solve` charges the targets' check on top.)
    fn dense_cost(&self, nb_inactive: u32, words: usize, t: usize) -> (u64, u64) {
        let (i, words, t) = (u64::from(nb_inactive), words as u64, t as u64);
        let pivots = self.pivots.len() as u64;
        let unused = self.nb_unused();
        let targets = self.targets.len() as u64;
        let nnz = self.nnz();
        let row_bytes = words.saturating_mul(8);
        let scratch = pivots.saturating_add(unused).saturating_mul(row_bytes);
        let matrix = unused
            .saturating_mul(i)
            .saturating_add(pivots.saturating_mul(4))
            .saturating_mul(row_bytes);
        let symbols = nnz
            .saturating_add(i.saturating_mul(i))
            .saturating_add(targets.saturating_mul(i) / 4)
            .saturating_add(i.saturating_mul(4))
            .saturating_mul(t);
        (matrix.saturating_add(symbols), scratch)
    }

    /// Solves the inactive columns from the unused rows over GF(2), then writes each target
    /// (T bytes each) into `out`. Fails when a target is not determined by the rows.
    pub(super) fn solve(
        &mut self,
        received: Received<'_>,
        t: usize,
        nb_inactive: u32,
        words: usize,
        out: &mut [u8],
    ) -> Result<(), Unsolved> {
        let (selected, vecs) = self.select_dense_rows(nb_inactive, words);
        let full_rank = selected.len() == nb_inactive as usize;
        self.mark_needed(&selected);
        self.compute_e(received, t);
        self.solve_inactive(received, t, nb_inactive, words, &selected, vecs);
        if !full_rank {
            // Each target is reduced against up to one row per inactive column.
            let check = (self.targets.len() as u64)
                .saturating_mul(u64::from(nb_inactive))
                .saturating_mul(words as u64 * 8);
            self.charge(check, 0)?;
            if !self.targets_determined(words) {
                return Err(Unsolved::RankDeficient);
            }
        }
        self.regenerate(t, words, out);
        Ok(())
    }

    /// The rows of each column (dense rows left out: they are never peeled).
    fn index_columns(&mut self, nb_cols: u32) {
        let l = nb_cols as usize;
        let sparse = |kind: &[RowKind], r: usize| kind.get(r) != Some(&RowKind::Dense);
        let mut degree = vec![0u32; l + 1];
        for r in (0..self.rows.len()).filter(|&r| sparse(&self.kind, r)) {
            for &c in self.rows.row(r) {
                if let Some(d) = degree.get_mut(c as usize + 1) {
                    *d += 1;
                }
            }
        }
        for c in 0..l {
            let prev = degree.get(c).copied().unwrap_or_default();
            if let Some(d) = degree.get_mut(c + 1) {
                *d += prev;
            }
        }
        self.cols_of.start.clone_from(&degree);
        self.cols_of.cols.clear();
        self.cols_of
            .cols
            .resize(degree.last().copied().unwrap_or_default() as usize, 0);
        let mut fill = degree;
        for r in (0..self.rows.len()).filter(|&r| sparse(&self.kind, r)) {
            for &c in self.rows.row(r) {
                if let Some(at) = fill.get_mut(c as usize) {
                    if let Some(slot) = self.cols_of.cols.get_mut(*at as usize) {
                        *slot = r as u32;
                    }
                    *at += 1;
                }
            }
        }
    }

    /// Removes column `c` from the unknowns of every row that holds it.
    fn retire(&mut self, c: u32, ripe_lt: &mut Vec<u32>, ripe_ldpc: &mut Vec<u32>) {
        for &r in self.cols_of.row(c as usize) {
            let (Some(count), Some(x)) = (
                self.count.get_mut(r as usize),
                self.xor_of.get_mut(r as usize),
            ) else {
                continue;
            };
            *count = count.saturating_sub(1);
            *x ^= c;
            if *count == 1 && !self.done.get(r as usize).copied().unwrap_or(true) {
                if self.kind.get(r as usize) == Some(&RowKind::Lt) {
                    ripe_lt.push(r);
                } else {
                    ripe_ldpc.push(r);
                }
            }
        }
    }

    /// Peeling with inactivation (RFC 6330 §5.4.2.2, first phase, in its sparse form).
    fn peel(&mut self, nb_cols: u32, first_inactive: u32) -> Result<u32, Unsolved> {
        let (w, l) = (first_inactive.min(nb_cols), nb_cols);
        let nb_rows = self.rows.len();
        self.state.clear();
        self.state.extend((0..l).map(|c| {
            if c < w {
                Col::Active
            } else {
                Col::Inactive(c - w)
            }
        }));
        self.count.clear();
        self.xor_of.clear();
        self.done.clear();
        self.done.resize(nb_rows, false);
        self.pivots.clear();
        let mut ripe_lt = Vec::new();
        let mut ripe_ldpc = Vec::new();
        for r in 0..nb_rows {
            let kind = self.kind.get(r).copied().unwrap_or(RowKind::Dense);
            let (mut n, mut x) = (0u32, 0u32);
            if kind != RowKind::Dense {
                for &c in self.rows.row(r).iter().filter(|&&c| c < w) {
                    n += 1;
                    x ^= c;
                }
            }
            self.count.push(n);
            self.xor_of.push(x);
            if n == 1 {
                if kind == RowKind::Lt {
                    ripe_lt.push(r as u32);
                } else {
                    ripe_ldpc.push(r as u32);
                }
            }
        }
        let mut remaining = w;
        let mut nb_inactive = l - w;
        while remaining > 0 {
            let next = ripe_lt.pop().or_else(|| ripe_ldpc.pop());
            if let Some(r) = next {
                let ri = r as usize;
                if self.done.get(ri).copied().unwrap_or(true)
                    || self.count.get(ri).copied() != Some(1)
                {
                    continue;
                }
                let c = self.xor_of.get(ri).copied().unwrap_or_default();
                match self.state.get_mut(c as usize) {
                    Some(st) if *st == Col::Active => *st = Col::Solved(self.pivots.len() as u32),
                    _ => continue,
                }
                self.pivots.push((r, c));
                if let Some(d) = self.done.get_mut(ri) {
                    *d = true;
                }
                remaining = remaining.saturating_sub(1);
                self.retire(c, &mut ripe_lt, &mut ripe_ldpc);
                continue;
            }
            // Stuck: the unused row with the fewest unknowns (LT rows first, being sparser
            // on the symbol side), all of whose unknowns but the rarest are inactivated. The
            // search visits every row: rows chosen to get stuck often make peeling quadratic.
            self.work = self.work.saturating_add(nb_rows as u64);
            self.limit.check(self.work, 0)?;
            let open = |r: &usize| {
                !self.done.get(*r).copied().unwrap_or(true)
                    && self.count.get(*r).copied().unwrap_or_default() >= 2
            };
            let key = |r: &usize| {
                (
                    self.kind.get(*r) != Some(&RowKind::Lt),
                    self.count.get(*r).copied().unwrap_or(u32::MAX),
                )
            };
            // Two unknowns is the least possible: the first such LT row will do.
            let best = (0..nb_rows)
                .filter(open)
                .find(|r| key(r) == (false, 2))
                .or_else(|| (0..nb_rows).filter(open).min_by_key(key));
            let Some(best) = best else {
                break;
            };
            self.tmp.clear();
            for &c in self.rows.row(best) {
                if self.state.get(c as usize) == Some(&Col::Active) {
                    self.tmp.push(c);
                }
            }
            let degree = |c: u32| self.cols_of.row(c as usize).len();
            let keep = self.tmp.iter().copied().min_by_key(|&c| degree(c));
            let to_inactivate: Vec<u32> = self
                .tmp
                .iter()
                .copied()
                .filter(|&c| Some(c) != keep)
                .collect();
            for c in to_inactivate {
                if let Some(st) = self.state.get_mut(c as usize) {
                    *st = Col::Inactive(nb_inactive);
                }
                nb_inactive += 1;
                remaining = remaining.saturating_sub(1);
                self.retire(c, &mut ripe_lt, &mut ripe_ldpc);
            }
        }
        Ok(nb_inactive)
    }

    /// Inactivates the columns that no row could reach; returns the number of inactive columns.
    fn inactivate_rest(&mut self, mut nb_inactive: u32) -> u32 {
        for st in self.state.iter_mut() {
            if *st == Col::Active {
                *st = Col::Inactive(nb_inactive);
                nb_inactive += 1;
            }
        }
        nb_inactive
    }

    /// `m_c` of each pivot, in pivot order: the inactive columns its value depends on.
    fn express_pivots(&mut self, words: usize) -> Result<(), Unsolved> {
        self.m.clear();
        self.m.resize(self.pivots.len() * words, 0);
        for (t, &(r, c)) in self.pivots.iter().enumerate() {
            let (before, rest) = self.m.split_at_mut(t * words);
            let mine = rest.get_mut(..words).unwrap_or_default();
            for &j in self.rows.row(r as usize) {
                if j == c {
                    continue;
                }
                match self.state.get(j as usize) {
                    Some(Col::Solved(t2)) => {
                        let a = *t2 as usize * words;
                        xor_words(mine, before.get(a..a + words).unwrap_or_default());
                    }
                    Some(Col::Inactive(q)) => flip_bit(mine, *q),
                    _ => return Err(Unsolved::BadInput),
                }
            }
        }
        Ok(())
    }

    /// The coefficients of a sum of columns over the inactive columns, once the pivots are
    /// substituted.
    pub(super) fn dense_vector_of(&self, cols: &[u32], words: usize, out: &mut [u64]) {
        out.fill(0);
        for &j in cols {
            match self.state.get(j as usize) {
                Some(Col::Solved(t)) => {
                    let a = *t as usize * words;
                    xor_words(out, self.m.get(a..a + words).unwrap_or_default());
                }
                Some(Col::Inactive(q)) => flip_bit(out, *q),
                _ => {}
            }
        }
    }

    /// Row `r`'s coefficients over the inactive columns once the pivots are substituted.
    pub(super) fn dense_vector(&self, r: usize, words: usize, out: &mut [u64]) {
        self.dense_vector_of(self.rows.row(r), words, out);
    }

    /// The unused rows, in the order they were pushed (cheapest first).
    pub(super) fn unused_rows(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.rows.len()).filter(|&r| !self.done.get(r).copied().unwrap_or(true))
    }
}

#[cfg(test)]
mod tests;
