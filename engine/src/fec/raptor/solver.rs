//! Our RFC 5053 encoder and maximum-likelihood decoder: both solve A·C = D for the L
//! intermediate symbols (RFC 5053 §5.4.2.4, §5.5) by the inactivation decoding of
//! `fec/inactivation.rs` and produce only the encoding symbols wanted by LTEnc from C
//! (§5.4.4.3): the repair symbols when encoding, the lost source symbols when decoding.
//!
//! A's rows are the S LDPC rows and the H half rows of §5.4.2.3 (zero right-hand sides), and
//! one LT row per known encoding symbol (its ESI is the X of `Trip[K, X]`; the source symbols
//! are ESIs 0..K, which is what makes the code systematic). Everything is over GF(2). The half
//! rows are dense (each column of G_Half has H' ones among H rows): they are never peeled, only
//! added to the dense system over the inactive columns after the sparse rows. The decoder
//! succeeds whenever the symbols received determine the lost source symbols, even when they
//! leave some intermediate symbols free.

use super::params::Params;
use crate::fec::fountain::FountainSolver;
use crate::fec::inactivation::Limit;
pub use crate::fec::inactivation::{Received, Unsolved};
use crate::fec::inactivation::{Rhs, RowKind, System};

/// The encoder's and decoder's scratch, kept across blocks so that they allocate little.
#[derive(Debug, Default, Clone)]
pub struct Solver {
    sys: System,
    /// The constraint rows of the last K seen (they depend on K only).
    constraints: Option<Constraints>,
}

/// The LDPC and half rows of one K.
#[derive(Debug, Clone)]
struct Constraints {
    k: u32,
    ldpc: Vec<Vec<u32>>,
    half: Vec<Vec<u32>>,
}

/// The symbols to produce.
#[derive(Debug, Clone, Copy)]
enum Targets {
    /// The lost source symbols, ascending ESI.
    LostSource,
    /// The encoding symbols with these ESIs.
    Esis(u32, u32),
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
        self.solve(&params, t, received, Targets::LostSource, out)
    }
}

impl Solver {
    /// Encodes one block: `source` holds its `k` symbols of `t` bytes one after the other (the
    /// last one may be short: zero-padded); writes the encoding symbols ESI `first_esi`,
    /// `first_esi` + 1, … into `out` (`t` bytes each, as many as it holds).
    pub fn encode(
        &mut self,
        k: u32,
        t: usize,
        source: &[u8],
        first_esi: u32,
        out: &mut [u8],
    ) -> Result<(), Unsolved> {
        let params = Params::new(k).ok_or(Unsolved::BadInput)?;
        if t == 0 || !out.len().is_multiple_of(t) {
            return Err(Unsolved::BadInput);
        }
        let symbols: Vec<Option<&[u8]>> = (0..k as usize)
            .map(|esi| {
                let start = esi.saturating_mul(t).min(source.len());
                let end = start.saturating_add(t).min(source.len());
                source.get(start..end)
            })
            .collect();
        let received = Received {
            source: &symbols,
            repair: &[],
        };
        received.check(k, t)?;
        let nb = u32::try_from(out.len() / t).map_err(|_| Unsolved::BadInput)?;
        let end = first_esi.checked_add(nb).ok_or(Unsolved::BadInput)?;
        if nb == 0 {
            return Ok(());
        }
        self.solve(&params, t, received, Targets::Esis(first_esi, end), out)
    }

    fn solve(
        &mut self,
        params: &Params,
        t: usize,
        received: Received<'_>,
        targets: Targets,
        out: &mut [u8],
    ) -> Result<(), Unsolved> {
        self.build_rows(params, received, targets);
        let (nb_inactive, words) = self.sys.eliminate(params.l, params.l, t)?;
        self.sys.solve(received, t, nb_inactive, words, out)
    }

    fn build_rows(&mut self, params: &Params, received: Received<'_>, targets: Targets) {
        let sys = &mut self.sys;
        sys.clear();
        let mut cols = std::mem::take(&mut sys.tmp);
        let mut lt = |sys: &mut System, x: u32, rhs: Option<Rhs>| {
            cols.clear();
            params.for_each_lt_column(x, |c| cols.push(c));
            match rhs {
                Some(rhs) => sys.push_row(&cols, rhs, RowKind::Lt),
                None => sys.push_target(&cols),
            }
        };
        for (esi, s) in (0u32..).zip(received.source) {
            match s {
                Some(_) => lt(sys, esi, Some(Rhs::Source(esi))),
                None if matches!(targets, Targets::LostSource) => lt(sys, esi, None),
                None => {}
            }
        }
        for (n, (esi, _)) in (0u32..).zip(received.repair) {
            lt(sys, *esi, Some(Rhs::Repair(n)));
        }
        if let Targets::Esis(first, end) = targets {
            for esi in first..end {
                lt(sys, esi, None);
            }
        }
        let constraints = match self.constraints.take() {
            Some(c) if c.k == params.k => c,
            _ => Constraints {
                k: params.k,
                ldpc: params.ldpc_rows(),
                half: params.half_rows(),
            },
        };
        for row in &constraints.ldpc {
            sys.push_row(row, Rhs::Zero, RowKind::Ldpc);
        }
        for row in &constraints.half {
            sys.push_row(row, Rhs::Zero, RowKind::Dense);
        }
        self.constraints = Some(constraints);
        sys.tmp = cols;
    }
}

#[cfg(test)]
mod tests;
