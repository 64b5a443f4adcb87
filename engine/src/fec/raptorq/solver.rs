//! Our RFC 6330 decoder: solves A·C = D for the intermediate symbols (§5.4.2, inactivation
//! decoding, in `fec/inactivation.rs`) and regenerates only the missing source symbols by
//! LT-encoding from C (§5.3.5.3).
//!
//! The rows are the LDPC rows (§5.3.3.3) and one LT row per known ISI (received source symbols,
//! the zero padding K..K', repair symbols); the P PI columns start inactive, as in §5.4.2.2.
//! Symbol operations are XORs of whole symbols: the HDPC rows of §5.3.3.3 are left out, which
//! is exact whenever the GF(2) rows alone determine C (with repair symbols to spare they almost
//! always do). When they do not, `hdpc.rs` adds them and solves the dense part over GF(256)
//! (the receiver decodes as soon as K symbols are known, where the GF(2) rows are H short: that
//! path is the common one there); when even that fails, `decode` reports the block as not
//! solvable yet.
//!
//! bench/benches/raptor.rs compares it with `raptorq::SourceBlockDecoder` on the same symbols.

use super::params::Params;
use crate::fec::fountain::FountainSolver;
use crate::fec::inactivation::Limit;
pub use crate::fec::inactivation::{Received, Unsolved};
use crate::fec::inactivation::{Rhs, RowKind, System, cancel_pairs};

mod hdpc;

/// Whether the PI columns (≥ w, at most 3 of them, last in `cols`) repeat.
fn has_repeat_in_pi(cols: &[u32], w: u32) -> bool {
    let start = cols.iter().position(|&c| c >= w).unwrap_or(cols.len());
    let pi = cols.get(start..).unwrap_or_default();
    pi.iter()
        .enumerate()
        .any(|(i, c)| pi.get(i + 1..).unwrap_or_default().contains(c))
}

/// The decoder's scratch, kept across blocks so that decoding allocates little.
#[derive(Debug, Default, Clone)]
pub struct Solver {
    sys: System,
}

impl FountainSolver for Solver {
    fn set_limit(&mut self, limit: Limit) {
        self.sys.limit = limit;
    }

    fn work(&self) -> u64 {
        self.sys.work
    }

    fn decode(
        &mut self,
        k: u32,
        t: usize,
        received: Received<'_>,
        out: &mut [u8],
    ) -> Result<(), Unsolved> {
        let params = Params::new(k).ok_or(Unsolved::BadInput)?;
        let nb_missing = received.check(k, t)?;
        if out.len() != nb_missing * t {
            return Err(Unsolved::BadInput);
        }
        if nb_missing == 0 {
            return Ok(());
        }
        self.build_rows(&params, received);
        let sys = &mut self.sys;
        let (nb_inactive, words) = sys.eliminate(params.l, params.w, t)?;
        let (selected, vecs) = sys.select_dense_rows(nb_inactive, words);
        if selected.len() == nb_inactive as usize {
            sys.solve(received, t, nb_inactive, words, out)
        } else {
            drop(vecs);
            sys.solve_with_hdpc(&params, received, t, nb_inactive, words)?;
            sys.regenerate(t, words, out);
            Ok(())
        }
    }
}

impl Solver {
    fn build_rows(&mut self, params: &Params, received: Received<'_>) {
        let sys = &mut self.sys;
        sys.clear();
        let lt_cols = |sys: &mut System, isi: u32, cancel: bool| {
            sys.tmp.clear();
            params.for_each_lt_column(isi, |c| sys.tmp.push(c));
            // The LT columns (< W) are distinct (W is prime, d < W) and so are the PI ones
            // (fewer steps than P1 along one orbit): no sort needed unless that ever fails.
            if cancel || has_repeat_in_pi(&sys.tmp, params.w) {
                cancel_pairs(&mut sys.tmp, &mut sys.tmp2);
            }
        };
        for (esi, s) in received.source.iter().enumerate() {
            if s.is_some() {
                lt_cols(sys, esi as u32, false);
                let cols = std::mem::take(&mut sys.tmp);
                sys.push_row(&cols, Rhs::Source(esi as u32), RowKind::Lt);
                sys.tmp = cols;
            } else {
                lt_cols(sys, esi as u32, true);
                let cols = std::mem::take(&mut sys.tmp);
                sys.push_target(&cols);
                sys.tmp = cols;
            }
        }
        for isi in params.k..params.k_prime {
            lt_cols(sys, isi, false);
            let cols = std::mem::take(&mut sys.tmp);
            sys.push_row(&cols, Rhs::Zero, RowKind::Lt);
            sys.tmp = cols;
        }
        for (n, (esi, _)) in received.repair.iter().enumerate() {
            lt_cols(sys, params.isi(*esi), false);
            let cols = std::mem::take(&mut sys.tmp);
            sys.push_row(&cols, Rhs::Repair(n as u32), RowKind::Lt);
            sys.tmp = cols;
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
            cancel_pairs(&mut cols, &mut sys.tmp2);
            sys.push_row(&cols, Rhs::Zero, RowKind::Ldpc);
        }
    }
}
