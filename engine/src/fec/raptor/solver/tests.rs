use super::super::params::{Params, deg, rand};
use super::super::tables::{SYSTEMATIC_INDICES, V0, V1};
use super::{FountainSolver, Received, Solver, Unsolved};
use proptest::prelude::*;

fn block(k: u32, t: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..k as usize * t)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A xorshift generator for the loss patterns.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    /// `count` distinct values of 0..n.
    fn pick(&mut self, n: u32, count: usize) -> Vec<u32> {
        let mut all: Vec<u32> = (0..n).collect();
        for i in (1..all.len()).rev() {
            all.swap(i, self.below(i as u64 + 1) as usize);
        }
        all.truncate(count);
        all
    }
}

/// The crate's encoding symbols ESI `first..end` of a block of `k` symbols.
fn crate_symbols(k: u32, t: usize, data: &[u8], first: u32, end: u32) -> Vec<u8> {
    let mut enc = raptor_code::SourceBlockEncoder::new(data, k as usize).unwrap();
    let mut out = Vec::new();
    for esi in first..end {
        let mut s = enc.fountain(esi);
        s.resize(t, 0);
        out.extend_from_slice(&s);
    }
    out
}

/// Our encoding symbols ESI `first..end`.
fn our_symbols(k: u32, t: usize, data: &[u8], first: u32, end: u32) -> Vec<u8> {
    let mut out = vec![0u8; (end - first) as usize * t];
    Solver::default()
        .encode(k, t, data, first, &mut out)
        .unwrap();
    out
}

/// Runs our decoder on the ESIs `kept` of a block whose encoding symbols ESI 0..n are
/// `symbols`; the recovered block or why not.
fn ours(k: u32, t: usize, symbols: &[u8], kept: &[u32]) -> Result<Vec<u8>, Unsolved> {
    let sym = |esi: u32| &symbols[esi as usize * t..(esi as usize + 1) * t];
    let mut is_kept = vec![false; k as usize];
    for &e in kept.iter().filter(|&&e| e < k) {
        is_kept[e as usize] = true;
    }
    let source: Vec<Option<&[u8]>> = (0..k)
        .map(|esi| is_kept[esi as usize].then(|| sym(esi)))
        .collect();
    let repair: Vec<(u32, &[u8])> = kept
        .iter()
        .filter(|&&e| e >= k)
        .map(|&e| (e, sym(e)))
        .collect();
    let lost: Vec<u32> = (0..k).filter(|&e| !is_kept[e as usize]).collect();
    let mut out = vec![0u8; lost.len() * t];
    Solver::default().decode(
        k,
        t,
        Received {
            source: &source,
            repair: &repair,
        },
        &mut out,
    )?;
    let mut result = symbols[..k as usize * t].to_vec();
    for (esi, s) in lost.iter().zip(out.chunks_exact(t)) {
        result[*esi as usize * t..(*esi as usize + 1) * t].copy_from_slice(s);
    }
    Ok(result)
}

/// A GF(2) row space kept in echelon form, independent of the decoder: plain Gaussian
/// elimination on dense bitsets.
struct RowSpace {
    words: usize,
    /// Rows by leading column.
    rows: Vec<Option<Vec<u64>>>,
}

impl RowSpace {
    fn new(l: u32) -> Self {
        Self {
            words: (l as usize).div_ceil(64),
            rows: vec![None; l as usize],
        }
    }

    fn vector(&self, cols: &[u32]) -> Vec<u64> {
        let mut v = vec![0u64; self.words];
        for &c in cols {
            v[c as usize / 64] ^= 1 << (c % 64);
        }
        v
    }

    /// Reduces `v` by the rows; its leading column if nonzero.
    fn reduce(&self, v: &mut [u64]) -> Option<usize> {
        loop {
            let lead = (0..v.len())
                .find(|&w| v[w] != 0)
                .map(|w| w * 64 + v[w].trailing_zeros() as usize)?;
            match &self.rows[lead] {
                Some(r) => v.iter_mut().zip(r).for_each(|(a, b)| *a ^= *b),
                None => return Some(lead),
            }
        }
    }

    fn insert(&mut self, cols: &[u32]) {
        let mut v = self.vector(cols);
        if let Some(lead) = self.reduce(&mut v) {
            self.rows[lead] = Some(v);
        }
    }

    fn contains(&self, cols: &[u32]) -> bool {
        let mut v = self.vector(cols);
        self.reduce(&mut v).is_none()
    }

    fn rank(&self) -> usize {
        self.rows.iter().flatten().count()
    }
}

/// What the received ESIs determine: (whether A has full rank L, whether every lost source
/// symbol lies in A's row space), computed apart from the decoder.
fn determined(k: u32, kept: &[u32]) -> (bool, bool) {
    let p = Params::new(k).unwrap();
    let mut space = RowSpace::new(p.l);
    for row in p.ldpc_rows().iter().chain(&p.half_rows()) {
        space.insert(row);
    }
    let lt = |x: u32| {
        let mut cols = Vec::new();
        p.for_each_lt_column(x, |c| cols.push(c));
        cols
    };
    for &esi in kept {
        space.insert(&lt(esi));
    }
    let full = space.rank() == p.l as usize;
    let lost_determined = (0..k)
        .filter(|e| !kept.contains(e))
        .all(|e| space.contains(&lt(e)));
    (full, lost_determined)
}

#[test]
fn rfc5053_tables_match_the_rfc_text() {
    assert_eq!(SYSTEMATIC_INDICES.len(), 8189);
    assert_eq!(&SYSTEMATIC_INDICES[..5], &[18, 14, 61, 46, 14]);
    assert_eq!(SYSTEMATIC_INDICES[8188], 2665);
    assert_eq!(&V0[..3], &[251291136, 3952231631, 3370958628]);
    assert_eq!(V1[0], 807385413);
    assert_eq!(rand(0, 0, u32::MAX), V0[0] ^ V1[0]);
    assert_eq!(rand(256, 1, u32::MAX), V0[1] ^ V1[2]);
    assert_eq!(
        (deg(0), deg(10240), deg(10241), deg(1048575)),
        (1, 1, 2, 40)
    );
    assert!(Params::new(3).is_none() && Params::new(8193).is_none());
}

#[test]
fn rfc5053_parameters_follow_section_5_4_2_3() {
    // K = 64: X = 12 (12·11 ≥ 128), S = 13 (first prime ≥ 1 + 12), H = 9
    // (choose(9, 5) = 126 ≥ 77 > choose(8, 4)), L = 86, L' = 89.
    let p = Params::new(64).unwrap();
    assert_eq!((p.s, p.h, p.h_prime, p.l, p.l_prime), (13, 9, 5, 86, 89));
    let p = Params::new(1024).unwrap();
    assert_eq!((p.s, p.h, p.l), (59, 13, 1096));
    // Every column of G_Half has exactly H' ones.
    let p = Params::new(300).unwrap();
    let half = p.half_rows();
    for j in 0..p.k + p.s {
        assert_eq!(
            half.iter().filter(|r| r.contains(&j)).count() as u32,
            p.h_prime
        );
    }
}

#[test]
fn rfc5053_encoder_gives_the_crates_bytes() {
    for (k, t, seed) in [
        (4u32, 8usize, 1u64),
        (5, 4, 2),
        (13, 12, 3),
        (64, 16, 4),
        (257, 8, 5),
    ] {
        let data = block(k, t, seed);
        let end = k + k / 2 + 3;
        assert_eq!(
            our_symbols(k, t, &data, 0, end),
            crate_symbols(k, t, &data, 0, end),
            "k={k}"
        );
    }
}

#[test]
fn rfc5053_encoder_pads_a_short_last_symbol_with_zeros() {
    let (k, t) = (10u32, 8usize);
    let mut data = block(k, t, 9);
    let short = data[..data.len() - 3].to_vec();
    data[k as usize * t - 3..].fill(0);
    assert_eq!(
        our_symbols(k, t, &short, k, k + 6),
        our_symbols(k, t, &data, k, k + 6)
    );
}

/// Decodes 200 random sets of K + `extra` of the first 2K encoding symbols; checks every
/// outcome against the rank computed apart; returns how many decoded.
fn decode_random_sets(k: u32, extra: u32, seed: u64) -> usize {
    let t = 8usize;
    let data = block(k, t, seed);
    let n = 2 * k;
    let symbols = our_symbols(k, t, &data, 0, n);
    let mut rng = Rng(seed | 1);
    let mut decoded = 0;
    for _ in 0..200 {
        let kept = rng.pick(n, (k + extra) as usize);
        let (full, determined) = determined(k, &kept);
        match ours(k, t, &symbols, &kept) {
            Ok(out) => {
                assert_eq!(out, data);
                assert!(determined);
                decoded += 1;
            }
            Err(Unsolved::RankDeficient) => assert!(!determined && !full, "{kept:?}"),
            Err(e) => panic!("{e:?}"),
        }
    }
    decoded
}

#[test]
fn rfc5053_decodes_k64_whenever_the_symbols_determine_the_block() {
    // Maximum likelihood: a set decodes exactly when its lost source symbols lie in the row
    // space of A (checked in `decode_random_sets`), every full-rank set among them. How many
    // sets that is is the code's own property: R10 fails with about 0.85 · 0.567^A of the sets
    // of K + A symbols (A = 5: 5%, A = 10: 0.3%), the curve of a random binary code.
    let at_5 = decode_random_sets(64, 5, 0x5DEE_CE66_D1CE_F00D);
    assert!(at_5 >= 180, "{at_5} of 200 decoded at K + 5");
    let at_10 = decode_random_sets(64, 10, 0x0BAD_5EED);
    assert!(at_10 >= 198, "{at_10} of 200 decoded at K + 10");
}

#[test]
fn rfc5053_decodes_blocks_whose_source_symbols_were_all_lost() {
    for (k, t, extra) in [(4u32, 4usize, 4u32), (64, 8, 6), (100, 4, 6), (1000, 4, 10)] {
        let data = block(k, t, u64::from(k));
        let symbols = our_symbols(k, t, &data, 0, 2 * k + extra);
        let kept: Vec<u32> = (k..2 * k + extra).collect();
        let (full, _) = determined(k, &kept);
        assert!(full, "k={k}");
        assert_eq!(ours(k, t, &symbols, &kept).unwrap(), data, "k={k}");
    }
}

#[test]
fn rfc5053_decodes_k64_with_6_source_symbols_lost_and_71_received() {
    // The case of issue 19: one block, 58 source symbols and the first 13 repair symbols.
    let (k, t) = (64u32, 16usize);
    let data = block(k, t, 19);
    let symbols = crate_symbols(k, t, &data, 0, k + 13);
    let kept: Vec<u32> = (0..k + 13)
        .filter(|e| ![3, 9, 17, 30, 41, 60].contains(e))
        .collect();
    assert_eq!(kept.len(), 71);
    assert_eq!(ours(k, t, &symbols, &kept).unwrap(), data);
}

#[test]
fn rfc5053_decoder_reports_too_few_symbols_without_panicking() {
    let (k, t) = (50u32, 4usize);
    let data = block(k, t, 1);
    let symbols = our_symbols(k, t, &data, 0, k + 5);
    let kept: Vec<u32> = (0..k + 5).filter(|e| e % 5 != 0).collect();
    assert_eq!(ours(k, t, &symbols, &kept), Err(Unsolved::RankDeficient));
    let mut solver = Solver::default();
    let received = Received {
        source: &[],
        repair: &[],
    };
    assert_eq!(
        solver.decode(3, t, received, &mut []),
        Err(Unsolved::BadInput)
    );
    assert_eq!(
        solver.encode(8193, t, &[0; 4], 8193, &mut [0; 4]),
        Err(Unsolved::BadInput)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn rfc5053_decoder_recovers_any_k_from_what_determines_it(
        k in prop_oneof![4u32..40, 40u32..600, 600u32..=8192],
        seed: u64,
        loss in 0u32..600,
        extra in 0u32..12,
    ) {
        let t = 4usize;
        let data = block(k, t, seed);
        let mut rng = Rng(seed | 1);
        let nb_lost = (u64::from(k) * u64::from(loss) / 1000) as u32;
        let mut lost = vec![false; k as usize];
        for e in rng.pick(k, nb_lost as usize) {
            lost[e as usize] = true;
        }
        let n = k + nb_lost + extra;
        let symbols = our_symbols(k, t, &data, 0, n);
        let kept: Vec<u32> = (0..n).filter(|&e| e >= k || !lost[e as usize]).collect();
        match ours(k, t, &symbols, &kept) {
            Ok(out) => prop_assert_eq!(out, data),
            Err(Unsolved::RankDeficient) => {
                prop_assert!(k > 600 || !determined(k, &kept).1, "k={} determined", k)
            }
            Err(e) => prop_assert!(false, "{:?}", e),
        }
    }
}
