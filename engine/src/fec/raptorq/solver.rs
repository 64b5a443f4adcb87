//! Our RFC 6330 decoder: solves A·C = D for the intermediate symbols (§5.4.2, inactivation
//! decoding) and regenerates only the missing source symbols by LT-encoding from C (§5.3.5.3).
//!
//! The matrix work is done first and alone, over GF(2): the rows (LDPC §5.3.3.3, and one LT row
//! per known ISI: received source symbols, the zero padding K..K', repair symbols) are peeled
//! (a row with one unknown column left determines it), columns are inactivated when peeling is
//! stuck (the P PI columns start inactive, as in §5.4.2.2), and each peeled column is written as
//! `C[c] = e_c + Σ m_c,q · C[inactive q]` with `m_c` a bitset over the inactive columns. The
//! unused rows give a small dense system over the inactive columns, which Gauss-Jordan solves on
//! bitsets while recording its row operations. Only then are symbols touched: the `e_c` that are
//! needed, the dense right-hand sides and the recorded operations, then each missing source
//! symbol as Σ e_c + Σ C[inactive q] over its tuple. Symbol operations are XORs of whole
//! symbols: the HDPC rows of §5.3.3.3 are left out, which is exact whenever the GF(2) rows alone
//! determine C (with repair symbols to spare they almost always do). When they do not,
//! `hdpc.rs` adds them and solves the dense part over GF(256) (the receiver decodes as soon as
//! K symbols are known, where the GF(2) rows are H short: that path is the common one there);
//! when even that fails, `decode` reports the block as not solvable yet.
//!
//! Measured (bench/benches/raptor.rs, K = 1024, T = 1400, 10% lost): ≈ 0.4 ms a block with all
//! 256 repair symbols, ≈ 0.8 ms with exactly K symbols, against 1.5 and 1.8 ms for
//! `raptorq::SourceBlockDecoder` on the same symbols.

use super::super::source_symbols::bit;
use super::params::Params;
use super::xor::{copy_padded, xor_into, xor_sum};

mod hdpc;

/// Where a row's right-hand side comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rhs {
    /// LDPC rows and the padding symbols: zero.
    Zero,
    /// Received source symbol with this ESI.
    Source(u32),
    /// The n-th repair symbol handed in.
    Repair(u32),
}

/// What peeling made of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Active,
    /// The q-th inactive column.
    Inactive(u32),
    /// Determined by the t-th pivot.
    Solved(u32),
}

/// A sparse GF(2) matrix in compressed rows.
#[derive(Debug, Default, Clone)]
struct Sparse {
    start: Vec<u32>,
    cols: Vec<u32>,
}

impl Sparse {
    fn clear(&mut self) {
        self.start.clear();
        self.start.push(0);
        self.cols.clear();
    }

    fn push(&mut self, cols: &[u32]) {
        self.cols.extend_from_slice(cols);
        self.start.push(self.cols.len() as u32);
    }

    fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    fn row(&self, r: usize) -> &[u32] {
        let a = self.start.get(r).copied().unwrap_or_default() as usize;
        let b = self.start.get(r + 1).copied().unwrap_or_default() as usize;
        self.cols.get(a..b).unwrap_or_default()
    }
}

/// Sorts `v` and removes the columns that appear an even number of times (GF(2) sums).
fn cancel_pairs(v: &mut Vec<u32>, scratch: &mut Vec<u32>) {
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

/// Whether the PI columns (≥ w, at most 3 of them, last in `cols`) repeat.
fn has_repeat_in_pi(cols: &[u32], w: u32) -> bool {
    let start = cols.iter().position(|&c| c >= w).unwrap_or(cols.len());
    let pi = cols.get(start..).unwrap_or_default();
    pi.iter()
        .enumerate()
        .any(|(i, c)| pi.get(i + 1..).unwrap_or_default().contains(c))
}

fn symbol(buf: &[u8], i: u32, t: usize) -> &[u8] {
    let a = i as usize * t;
    buf.get(a..a + t).unwrap_or_default()
}

fn symbol_mut(buf: &mut [u8], i: u32, t: usize) -> &mut [u8] {
    let a = i as usize * t;
    buf.get_mut(a..a + t).unwrap_or_default()
}

/// `dst ^= src` for two distinct symbols of one buffer.
fn xor_within(buf: &mut [u8], dst: u32, src: u32, t: usize) {
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

fn xor_words(dst: &mut [u64], src: &[u64]) {
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
fn flip_bit(words: &mut [u64], q: u32) {
    if let Some(w) = words.get_mut(q as usize / 64) {
        *w ^= 1 << (q % 64);
    }
}

/// The set bits of `words`, ascending.
fn ones(words: &[u64]) -> impl Iterator<Item = u32> + '_ {
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

impl Received<'_> {
    fn rhs(&self, rhs: Rhs) -> Option<&[u8]> {
        match rhs {
            Rhs::Zero => None,
            Rhs::Source(esi) => self.source.get(esi as usize).copied().flatten(),
            Rhs::Repair(n) => self.repair.get(n as usize).map(|(_, s)| *s),
        }
    }
}

/// The decoder's scratch, kept across blocks so that decoding allocates little.
#[derive(Debug, Default, Clone)]
pub struct Solver {
    rows: Sparse,
    rhs: Vec<Rhs>,
    is_ldpc: Vec<bool>,
    cols_of: Sparse,
    state: Vec<Col>,
    count: Vec<u32>,
    xor_of: Vec<u32>,
    done: Vec<bool>,
    pivots: Vec<(u32, u32)>,
    m: Vec<u64>,
    needed: Vec<bool>,
    e: Vec<u8>,
    inactive: Vec<u8>,
    /// Sums of the inactive symbols, 16 per group of 4 (see `regenerate`).
    combos: Vec<u8>,
    tmp: Vec<u32>,
    tmp2: Vec<u32>,
}

/// Why a block could not be solved here (the caller then falls back to the crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsolved {
    /// K is 0 or above K'max, or the symbols do not match T.
    BadInput,
    /// The GF(2) rows do not determine the intermediate symbols.
    RankDeficient,
}

impl Solver {
    /// Decodes one block of `k` source symbols of `t` bytes: writes every lost source symbol
    /// (ascending ESI, `t` bytes each) into `out`, which must hold exactly that many.
    pub fn decode(
        &mut self,
        k: u32,
        t: usize,
        received: Received<'_>,
        out: &mut [u8],
    ) -> Result<(), Unsolved> {
        let params = Params::new(k).ok_or(Unsolved::BadInput)?;
        if received.source.len() != k as usize
            || received
                .repair
                .iter()
                .any(|(esi, s)| *esi < k || s.len() != t)
            || received.source.iter().flatten().any(|s| s.len() > t)
        {
            return Err(Unsolved::BadInput);
        }
        let nb_missing = received.source.iter().filter(|s| s.is_none()).count();
        if out.len() != nb_missing * t {
            return Err(Unsolved::BadInput);
        }
        if nb_missing == 0 {
            return Ok(());
        }
        self.build_rows(&params, received);
        let nb_inactive = self.peel(&params);
        let nb_inactive = self.inactivate_rest(nb_inactive);
        let words = (nb_inactive as usize).div_ceil(64).max(1);
        self.express_pivots(words)?;
        match self.select_dense_rows(nb_inactive, words) {
            Ok((selected, vecs)) => {
                self.mark_needed(&params, received, &selected);
                self.compute_e(received, t);
                self.solve_inactive(received, t, nb_inactive, words, &selected, vecs);
            }
            Err(Unsolved::RankDeficient) => {
                self.solve_with_hdpc(&params, received, t, nb_inactive, words)?;
            }
            Err(e) => return Err(e),
        }
        self.regenerate(&params, received, t, words, out);
        Ok(())
    }

    fn build_rows(&mut self, params: &Params, received: Received<'_>) {
        self.rows.clear();
        self.rhs.clear();
        self.is_ldpc.clear();
        let lt_row = |this: &mut Self, isi: u32, rhs: Rhs| {
            this.tmp.clear();
            params.for_each_lt_column(isi, |c| this.tmp.push(c));
            // The LT columns (< W) are distinct (W is prime, d < W) and so are the PI ones
            // (fewer steps than P1 along one orbit): no sort needed unless that ever fails.
            if has_repeat_in_pi(&this.tmp, params.w) {
                cancel_pairs(&mut this.tmp, &mut this.tmp2);
            }
            this.rows.push(&this.tmp);
            this.rhs.push(rhs);
            this.is_ldpc.push(false);
        };
        for (esi, s) in received.source.iter().enumerate() {
            if s.is_some() {
                lt_row(self, esi as u32, Rhs::Source(esi as u32));
            }
        }
        for isi in params.k..params.k_prime {
            lt_row(self, isi, Rhs::Zero);
        }
        for (n, (esi, _)) in received.repair.iter().enumerate() {
            lt_row(self, params.isi(*esi), Rhs::Repair(n as u32));
        }
        // LDPC rows (RFC 6330 §5.3.3.3), built column by column as the RFC does.
        let (s, b, w, p) = (params.s, params.b(), params.w, params.p);
        let mut ldpc: Vec<Vec<u32>> = vec![Vec::new(); s as usize];
        let mut add = |row: u32, col: u32| {
            if let Some(r) = ldpc.get_mut(row as usize) {
                r.push(col);
            }
        };
        for i in 0..b {
            let a = 1 + i / s;
            let mut row = i % s;
            add(row, i);
            row = (row + a) % s;
            add(row, i);
            row = (row + a) % s;
            add(row, i);
        }
        for i in 0..s {
            add(i, b + i);
            add(i, w + i % p);
            add(i, w + (i + 1) % p);
        }
        for mut cols in ldpc {
            cancel_pairs(&mut cols, &mut self.tmp2);
            self.rows.push(&cols);
            self.rhs.push(Rhs::Zero);
            self.is_ldpc.push(true);
        }
        // The rows of each column.
        let l = params.l as usize;
        let mut degree = vec![0u32; l + 1];
        for &c in &self.rows.cols {
            if let Some(d) = degree.get_mut(c as usize + 1) {
                *d += 1;
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
        self.cols_of.cols.resize(self.rows.cols.len(), 0);
        let mut fill = degree;
        for r in 0..self.rows.len() {
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
                if self.is_ldpc.get(r as usize).copied().unwrap_or(false) {
                    ripe_ldpc.push(r);
                } else {
                    ripe_lt.push(r);
                }
            }
        }
    }

    /// Peeling with inactivation (RFC 6330 §5.4.2.2, first phase, in its sparse form).
    fn peel(&mut self, params: &Params) -> u32 {
        let (w, l) = (params.w, params.l);
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
            let (mut n, mut x) = (0u32, 0u32);
            for &c in self.rows.row(r).iter().filter(|&&c| c < w) {
                n += 1;
                x ^= c;
            }
            self.count.push(n);
            self.xor_of.push(x);
            if n == 1 {
                if self.is_ldpc.get(r).copied().unwrap_or(false) {
                    ripe_ldpc.push(r as u32);
                } else {
                    ripe_lt.push(r as u32);
                }
            }
        }
        let mut remaining = w;
        let mut nb_inactive = params.p;
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
            // on the symbol side), all of whose unknowns but the rarest are inactivated.
            let open = |r: &usize| {
                !self.done.get(*r).copied().unwrap_or(true)
                    && self.count.get(*r).copied().unwrap_or_default() >= 2
            };
            let key = |r: &usize| {
                (
                    self.is_ldpc.get(*r).copied().unwrap_or(false),
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
        nb_inactive
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

    /// Row `r`'s coefficients over the inactive columns once the pivots are substituted.
    fn dense_vector(&self, r: usize, words: usize, out: &mut [u64]) {
        out.fill(0);
        for &j in self.rows.row(r) {
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

    /// Picks `nb_inactive` unused rows whose dense vectors are independent, cheapest (LT) rows
    /// first; returns them and their vectors.
    fn select_dense_rows(
        &self,
        nb_inactive: u32,
        words: usize,
    ) -> Result<(Vec<u32>, Vec<u64>), Unsolved> {
        let n = nb_inactive as usize;
        let mut selected = Vec::with_capacity(n);
        let mut vecs = Vec::with_capacity(n * words);
        // basis[q]: a reduced vector whose lowest set bit is q.
        let mut basis = vec![0u64; n * words];
        let mut has = vec![false; n];
        let mut v = vec![0u64; words];
        let mut reduced = vec![0u64; words];
        for r in (0..self.rows.len()).filter(|&r| !self.done.get(r).copied().unwrap_or(true)) {
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
        if selected.len() == n {
            Ok((selected, vecs))
        } else {
            Err(Unsolved::RankDeficient)
        }
    }

    /// Marks the pivots whose `e` the dense rows and the missing source symbols need, and,
    /// backwards, those these depend on.
    fn mark_needed(&mut self, params: &Params, received: Received<'_>, selected: &[u32]) {
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
        for (esi, s) in received.source.iter().enumerate() {
            if s.is_none() {
                params.for_each_lt_column(esi as u32, |j| mark(&self.state, &mut self.needed, j));
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
    fn compute_e(&mut self, received: Received<'_>, t: usize) {
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

    /// Solves the dense system: leaves C[inactive q] in `self.inactive`, symbol q.
    fn solve_inactive(
        &mut self,
        received: Received<'_>,
        t: usize,
        nb_inactive: u32,
        words: usize,
        selected: &[u32],
        mut vecs: Vec<u64>,
    ) {
        let n = nb_inactive as usize;
        // Right-hand sides, in selection order.
        let mut rhs = std::mem::take(&mut self.inactive);
        rhs.resize(n * t, 0);
        for (i, &r) in selected.iter().enumerate() {
            let dst = symbol_mut(&mut rhs, i as u32, t);
            let d = self.rhs.get(r as usize).and_then(|&h| received.rhs(h));
            let state = &self.state;
            let e = &self.e;
            let others =
                self.rows
                    .row(r as usize)
                    .iter()
                    .filter_map(|&j| match state.get(j as usize) {
                        Some(Col::Solved(t2)) => Some(symbol(e, *t2, t)),
                        _ => None,
                    });
            xor_sum(dst, d.into_iter().chain(others));
        }
        // Gauss-Jordan on the bitsets; each row operation is replayed on the symbols.
        let mut at: Vec<u32> = (0..nb_inactive).collect();
        for q in 0..nb_inactive {
            let pos = (q..nb_inactive).find(|&p| {
                let row = at.get(p as usize).copied().unwrap_or_default() as usize * words;
                bit(vecs.get(row..row + words).unwrap_or_default(), q)
            });
            let Some(pos) = pos else {
                continue;
            };
            at.swap(q as usize, pos as usize);
            let pivot = at.get(q as usize).copied().unwrap_or_default();
            let pa = pivot as usize * words;
            let pivot_vec: Vec<u64> = vecs.get(pa..pa + words).unwrap_or_default().to_vec();
            for &other in at.iter() {
                if other == pivot {
                    continue;
                }
                let oa = other as usize * words;
                let Some(ov) = vecs.get_mut(oa..oa + words) else {
                    continue;
                };
                if bit(ov, q) {
                    xor_words(ov, &pivot_vec);
                    xor_within(&mut rhs, other, pivot, t);
                }
            }
        }
        // C[inactive q] is the right-hand side of the row now at position q.
        self.inactive.clear();
        self.inactive.resize(n * t, 0);
        for (q, &row) in at.iter().enumerate() {
            copy_padded(
                symbol_mut(&mut self.inactive, q as u32, t),
                symbol(&rhs, row, t),
            );
        }
    }

    /// Each missing source symbol: Σ over its tuple's columns of C (RFC 6330 §5.3.5.3).
    fn regenerate(
        &mut self,
        params: &Params,
        received: Received<'_>,
        t: usize,
        words: usize,
        out: &mut [u8],
    ) {
        let mut v = vec![0u64; words];
        // Each missing symbol needs the sum of about half the inactive symbols. With many
        // missing symbols, the 16 sums of each group of 4 inactive symbols are formed once (11
        // additions a group) and each missing symbol adds one per group instead of up to 4.
        let nb_missing = received.source.iter().filter(|s| s.is_none()).count();
        let nb_inactive = self.inactive.len() / t.max(1);
        let groups = nb_inactive.div_ceil(4);
        let use_combos = nb_missing >= 16;
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
        let missing = received
            .source
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none())
            .map(|(esi, _)| esi as u32);
        for (dst, esi) in out.chunks_exact_mut(t).zip(missing) {
            self.tmp.clear();
            params.for_each_lt_column(esi, |c| self.tmp.push(c));
            cancel_pairs(&mut self.tmp, &mut self.tmp2);
            v.fill(0);
            for &j in &self.tmp {
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
            let from_e = self
                .tmp
                .iter()
                .filter_map(|&j| match state.get(j as usize) {
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
