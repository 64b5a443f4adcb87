use super::*;

/// Solves a hand-made system whose rows are the received source symbols `rows` (columns,
/// symbol), for the given targets.
fn solve(
    nb_cols: u32,
    rows: &[(&[u32], [u8; 4])],
    kinds: &[RowKind],
    targets: &[&[u32]],
) -> Result<Vec<u8>, Unsolved> {
    let symbols: Vec<Option<&[u8]>> = rows.iter().map(|(_, s)| Some(&s[..])).collect();
    let received = Received {
        source: &symbols,
        repair: &[],
    };
    let mut sys = System::default();
    sys.clear();
    for (i, ((cols, _), kind)) in rows.iter().zip(kinds).enumerate() {
        sys.push_row(cols, Rhs::Source(i as u32), *kind);
    }
    for cols in targets {
        sys.push_target(cols);
    }
    let (nb_inactive, words) = sys.eliminate(nb_cols, nb_cols, 4)?;
    let mut out = vec![0u8; targets.len() * 4];
    sys.solve(received, 4, nb_inactive, words, &mut out)?;
    Ok(out)
}

#[test]
fn inactivation_solves_targets_the_rows_determine_though_columns_stay_free() {
    // C0 + C1 = a, C1 = b, C2 + C3 = c: C2 and C3 are not determined, their sum is.
    let (a, b, c) = ([1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]);
    let rows: [(&[u32], [u8; 4]); 3] = [(&[0, 1], a), (&[1], b), (&[2, 3], c)];
    let kinds = [RowKind::Lt; 3];
    let out = solve(4, &rows, &kinds, &[&[0], &[2, 3], &[0, 1, 2, 3]]).unwrap();
    let sum = |x: [u8; 4], y: [u8; 4]| [x[0] ^ y[0], x[1] ^ y[1], x[2] ^ y[2], x[3] ^ y[3]];
    assert_eq!(&out[..4], &sum(a, b));
    assert_eq!(&out[4..8], &c);
    assert_eq!(&out[8..], &sum(a, c));
    assert_eq!(
        solve(4, &rows, &kinds, &[&[0], &[2]]),
        Err(Unsolved::RankDeficient)
    );
}

#[test]
fn inactivation_uses_dense_rows_only_in_the_dense_system() {
    // Three columns; the sparse rows leave C2 free, the dense row C0 + C1 + C2 = d fixes it.
    let (a, b, d) = ([1, 0, 0, 0], [0, 2, 0, 0], [7, 7, 7, 7]);
    let rows: [(&[u32], [u8; 4]); 3] = [(&[0], a), (&[0, 1], b), (&[0, 1, 2], d)];
    let kinds = [RowKind::Lt, RowKind::Ldpc, RowKind::Dense];
    let out = solve(3, &rows, &kinds, &[&[2], &[1]]).unwrap();
    // C0 = a, C1 = a + b, C2 = d + C0 + C1 = d + b.
    assert_eq!(&out[..4], &[7, 5, 7, 7]);
    assert_eq!(&out[4..], &[1, 2, 0, 0]);
    assert_eq!(
        solve(3, &rows[..2], &kinds[..2], &[&[2]]),
        Err(Unsolved::RankDeficient)
    );
}

#[test]
fn inactivation_gives_up_before_the_work_its_limit_does_not_allow() {
    // A cycle C0 + C1, C1 + C2, …, C(n-1) + C0: every row has two unknowns, so peeling is
    // stuck at once and must inactivate (each stuck step scans every row).
    let n = 64u32;
    let mut sys = System::default();
    sys.clear();
    for c in 0..n {
        sys.push_row(&[c, (c + 1) % n], Rhs::Zero, RowKind::Lt);
    }
    sys.push_target(&[n - 1]);
    // The rows' entries, then one scan: over the limit at the first stuck step.
    sys.limit = Limit {
        work: u64::from(3 * n),
        scratch: u64::MAX,
    };
    assert_eq!(sys.eliminate(n, n, 1400), Err(Unsolved::TooCostly));
    assert_eq!(sys.work, u64::from(2 * n + 1 + n));
    // Peeling done, the dense phase's bitsets are over a scratch limit of nothing.
    sys.limit = Limit {
        work: u64::MAX,
        scratch: 0,
    };
    assert_eq!(sys.eliminate(n, n, 1400), Err(Unsolved::TooCostly));
    sys.limit = Limit::NONE;
    assert!(sys.eliminate(n, n, 1400).is_ok());
}
