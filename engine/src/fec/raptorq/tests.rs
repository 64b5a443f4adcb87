use super::*;
use proptest::prelude::*;

fn object(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

/// Sends block `source` of `k` symbols through `code`, delivers the ESIs `keep` picks, and
/// returns the destination after decoding (or None when decoding needs more symbols).
fn roundtrip(
    code: RaptorQ,
    k: u32,
    source: &[u8],
    nb_repair: u32,
    keep: impl Fn(u32) -> bool,
) -> Option<Vec<u8>> {
    let t = code.symbol_len();
    let mut repair = vec![0u8; nb_repair as usize * t];
    code.encoder().encode(3, k, source, &mut repair).unwrap();
    let layout = code.layout(k);
    let mut dest = vec![0u8; source.len()];
    let mut dec = code.decoder(3, k).unwrap();
    let mut symbol = vec![0u8; t];
    for esi in (0..k + nb_repair).filter(|&e| keep(e)) {
        if esi < k {
            layout.gather(source, esi, &mut symbol).unwrap();
            assert!(dec.write_source_symbol(&mut dest, esi, &symbol).unwrap());
        } else {
            let r = (esi - k) as usize * t;
            assert!(dec.push_repair(esi, &repair[r..r + t]).unwrap());
        }
    }
    match dec.decode(&mut dest) {
        Ok(true) => Some(dest),
        Ok(false) | Err(FecError::NotEnoughSymbols { .. }) => None,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn raptorq_recovers_a_block_from_repair_symbols_only() {
    let code = RaptorQ::new(64, 1, 4).unwrap();
    let source = object(20 * 64, 1);
    let out = roundtrip(code, 20, &source, 25, |esi| esi >= 20).unwrap();
    assert_eq!(out, source);
}

#[test]
fn raptorq_sub_blocked_short_last_block_is_recovered_byte_exact() {
    // N = 3 sub-blocks of a 48-byte symbol, the block ending 10 bytes into its last symbol.
    let code = RaptorQ::new(48, 3, 4).unwrap();
    let source = object(9 * 48 + 10, 7);
    let out = roundtrip(code, 10, &source, 8, |esi| esi % 3 != 0).unwrap();
    assert_eq!(out, source);
}

#[test]
fn raptorq_repair_symbols_equal_the_crates_object_encoder() {
    // The same block through the crate's own top-level encoder (one block, N = 2).
    let code = RaptorQ::new(32, 2, 4).unwrap();
    let source = object(12 * 32, 3);
    let mut repair = vec![0u8; 4 * 32];
    code.encoder().encode(0, 12, &source, &mut repair).unwrap();
    let config = ObjectTransmissionInformation::new(source.len() as u64, 32, 1, 2, 4);
    let reference = SourceBlockEncoder::new(0, &config, &source).repair_packets(0, 4);
    for (i, packet) in reference.iter().enumerate() {
        assert_eq!(&repair[i * 32..(i + 1) * 32], packet.data());
    }
}

#[test]
fn raptorq_invalid_parameters_are_typed_errors() {
    assert_eq!(RaptorQ::new(0, 1, 4), Err(FecError::ZeroSymbolLength));
    assert!(matches!(
        RaptorQ::new(64, 0, 4),
        Err(FecError::Partition(_))
    ));
    assert!(matches!(
        RaptorQ::new(64, 1, 0),
        Err(FecError::Partition(_))
    ));
    assert!(matches!(
        RaptorQ::new(66, 1, 4),
        Err(FecError::Partition(_))
    ));
    assert!(matches!(
        RaptorQ::new(64, 17, 4),
        Err(FecError::Partition(_))
    ));
    let code = RaptorQ::new(64, 1, 4).unwrap();
    assert!(matches!(
        code.decoder(0, 56_404),
        Err(FecError::UnsupportedSourceBlockLength { k: 56_404, .. })
    ));
    assert!(code.decoder(0, 0).is_err());
    assert!(code.decoder(0, 56_403).is_ok());
    let mut enc = code.encoder();
    let mut repair = vec![0u8; 64];
    assert!(matches!(
        enc.encode(0, 4, &[0u8; 3 * 64], &mut repair),
        Err(FecError::BadSourceBlockLength { .. })
    ));
    assert!(matches!(
        enc.encode(0, 4, &[0u8; 4 * 64], &mut [0u8; 65]),
        Err(FecError::BadRepairBufferLength { .. })
    ));
    let mut dec = code.decoder(0, 4).unwrap();
    assert!(dec.push_repair(1 << 24, &[0u8; 64]).is_err());
    assert!(dec.push_repair(3, &[0u8; 64]).is_err());
    assert!(dec.push_repair(4, &[0u8; 63]).is_err());
    assert!(dec.source_received(4).is_err());
    assert!(matches!(
        dec.decode(&mut [0u8; 4 * 64]),
        Err(FecError::NotEnoughSymbols { .. })
    ));
}

#[test]
fn raptorq_plans_are_reused_for_equal_block_sizes() {
    let code = RaptorQ::new(16, 1, 4).unwrap();
    let mut enc = code.encoder();
    let mut repair = vec![0u8; 2 * 16];
    for (k, len) in [(10u32, 160usize), (10, 160), (9, 144), (10, 150), (9, 140)] {
        enc.encode(0, k, &object(len, 0), &mut repair).unwrap();
    }
    assert_eq!(enc.plans.len(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn raptorq_decodes_from_random_subsets_of_k_plus_two_symbols(
        k in 1u32..80, units in 1u16..24, n in 1u16..4, tail in 0usize..64, seed: u64,
    ) {
        prop_assume!(n <= units);
        let t = usize::from(units) * 4;
        let code = RaptorQ::new(units * 4, n, 4).unwrap();
        let len = k as usize * t - tail % t;
        let source = object(len, seed as u8);
        let nb_repair = k + 8;
        // Keep a random subset of K + 2 of the K + R symbols.
        let mut esis: Vec<u32> = (0..k + nb_repair).collect();
        let mut x = seed | 1;
        for i in (1..esis.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            esis.swap(i, (x % (i as u64 + 1)) as usize);
        }
        esis.truncate(k as usize + 2);
        let out = roundtrip(code, k, &source, nb_repair, |e| esis.contains(&e));
        prop_assert_eq!(out, Some(source));
    }

    #[test]
    fn raptorq_random_oti_from_the_network_never_panics(
        t: u16, n: u16, al: u8, k in 0u32..70_000, esi: u32, len in 0usize..300,
    ) {
        if let Ok(code) = RaptorQ::new(t, n, al) {
            if let Ok(mut dec) = code.decoder(0, k.min(300)) {
                let mut block = vec![0u8; len];
                let symbol = vec![1u8; len % 70];
                let _ = dec.write_source_symbol(&mut block, esi % 400, &symbol);
                let _ = dec.push_repair(esi, &symbol);
                let _ = dec.decode(&mut block);
            }
            let _ = code.decoder(0, k);
        }
    }
}

#[test]
fn raptorq_decoder_counts_distinct_symbols_and_kept_repair_bytes() {
    let code = RaptorQ::new(64, 1, 4).unwrap();
    let mut dec = code.decoder(0, 4).unwrap();
    assert!(dec.push_repair(4, &[1u8; 64]).unwrap());
    assert!(!dec.push_repair(4, &[1u8; 64]).unwrap());
    assert!(dec.source_received(0).unwrap());
    assert!(!dec.source_received(0).unwrap());
    assert_eq!(dec.nb_received(), 2);
    assert_eq!(dec.repair_len_bytes(), 64);
    dec.reset();
    assert_eq!((dec.nb_received(), dec.repair_len_bytes()), (0, 0));
}
