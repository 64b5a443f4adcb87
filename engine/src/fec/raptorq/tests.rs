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
    code.encoder().encode(k, source, &mut repair).unwrap();
    let layout = code.layout(k);
    let mut dest = vec![0u8; source.len()];
    let mut dec = code.decoder(k).unwrap();
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
    code.encoder().encode(12, &source, &mut repair).unwrap();
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
        code.decoder(56_404),
        Err(FecError::UnsupportedSourceBlockLength { k: 56_404, .. })
    ));
    assert!(code.decoder(0).is_err());
    assert!(code.decoder(56_403).is_ok());
    let mut enc = code.encoder();
    let mut repair = vec![0u8; 64];
    assert!(matches!(
        enc.encode(4, &[0u8; 3 * 64], &mut repair),
        Err(FecError::BadSourceBlockLength { .. })
    ));
    assert!(matches!(
        enc.encode(4, &[0u8; 4 * 64], &mut [0u8; 65]),
        Err(FecError::BadRepairBufferLength { .. })
    ));
    let mut dec = code.decoder(4).unwrap();
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
        enc.encode(k, &object(len, 0), &mut repair).unwrap();
    }
    assert_eq!(enc.plans.len(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

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
            if let Ok(mut dec) = code.decoder(k.min(300)) {
                let mut block = vec![0u8; len];
                let symbol = vec![1u8; len % 70];
                let _ = dec.write_source_symbol(&mut block, esi % 400, &symbol);
                let _ = dec.push_repair(esi, &symbol);
                let _ = dec.decode(&mut block);
            }
            let _ = code.decoder(k);
        }
    }
}

#[test]
fn raptorq_decoder_counts_distinct_symbols_and_kept_repair_bytes() {
    let code = RaptorQ::new(64, 1, 4).unwrap();
    let mut dec = code.decoder(4).unwrap();
    assert!(dec.push_repair(4, &[1u8; 64]).unwrap());
    assert!(!dec.push_repair(4, &[1u8; 64]).unwrap());
    assert!(dec.source_received(0).unwrap());
    assert!(!dec.source_received(0).unwrap());
    assert_eq!(dec.nb_received(), 2);
    assert_eq!(dec.repair_len_bytes(), 64);
    dec.reset();
    assert_eq!((dec.nb_received(), dec.repair_len_bytes()), (0, 0));
}

mod rfc6330_decoder {
    //! Our RFC 6330 decoder (solver.rs) against the `raptorq` crate's encoder and decoder.

    use super::super::params::{Params, deg, rand};
    use super::super::tables::{SYSTEMATIC_INDICES, V0, V1, V2, V3};
    use super::super::{RaptorQReceived, RaptorQSolver, RaptorQUnsolved};
    use crate::fec::FountainSolver;
    use proptest::prelude::*;
    use raptorq::{ObjectTransmissionInformation, SourceBlockDecoder, SourceBlockEncoder};

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

    /// The crate's repair symbols ESI K..K + r of `data`.
    fn crate_repair(t: usize, data: &[u8], r: u32) -> Vec<(u32, Vec<u8>)> {
        let config = ObjectTransmissionInformation::new(data.len() as u64, t as u16, 1, 1, 1);
        let encoder = SourceBlockEncoder::new(0, &config, data);
        encoder
            .repair_packets(0, r)
            .into_iter()
            .map(|p| (p.payload_id().encoding_symbol_id(), p.data().to_vec()))
            .collect()
    }

    /// Whether the crate's decoder recovers the block from these symbols.
    fn crate_decodes(
        k: u32,
        t: usize,
        data: &[u8],
        lost: &[bool],
        repair: &[(u32, Vec<u8>)],
    ) -> bool {
        let config = ObjectTransmissionInformation::new(data.len() as u64, t as u16, 1, 1, 1);
        let mut dec = SourceBlockDecoder::new(0, &config, data.len() as u64);
        let mut packets = Vec::new();
        for esi in 0..k {
            if !lost[esi as usize] {
                let s = &data[esi as usize * t..(esi as usize + 1) * t];
                packets.push(raptorq::EncodingPacket::new(
                    raptorq::PayloadId::new(0, esi),
                    s.to_vec(),
                ));
            }
        }
        for (esi, s) in repair {
            packets.push(raptorq::EncodingPacket::new(
                raptorq::PayloadId::new(0, *esi),
                s.clone(),
            ));
        }
        dec.decode(packets).is_some_and(|out| out == data)
    }

    /// Runs our decoder; Some(recovered block) or the reason it could not.
    fn ours(
        k: u32,
        t: usize,
        data: &[u8],
        lost: &[bool],
        repair: &[(u32, Vec<u8>)],
    ) -> Result<Vec<u8>, RaptorQUnsolved> {
        let source: Vec<Option<&[u8]>> = (0..k as usize)
            .map(|esi| (!lost[esi]).then(|| &data[esi * t..(esi + 1) * t]))
            .collect();
        let repair: Vec<(u32, &[u8])> = repair.iter().map(|(e, s)| (*e, s.as_slice())).collect();
        let nb_lost = lost.iter().filter(|&&l| l).count();
        let mut out = vec![0u8; nb_lost * t];
        RaptorQSolver::default().decode(
            k,
            t,
            RaptorQReceived {
                source: &source,
                repair: &repair,
            },
            &mut out,
        )?;
        let mut result = data.to_vec();
        let mut chunks = out.chunks_exact(t);
        for esi in 0..k as usize {
            if lost[esi] {
                result[esi * t..(esi + 1) * t].copy_from_slice(chunks.next().unwrap());
            }
        }
        Ok(result)
    }

    #[test]
    fn rfc6330_table2_rows_match_the_rfc_text() {
        assert_eq!(SYSTEMATIC_INDICES.len(), 477);
        assert_eq!(SYSTEMATIC_INDICES[0], (10, 254, 7, 10, 17));
        assert_eq!(SYSTEMATIC_INDICES[1], (12, 630, 7, 10, 19));
        assert_eq!(SYSTEMATIC_INDICES[476], (56403, 471, 907, 16, 56951));
        assert!(SYSTEMATIC_INDICES.windows(2).all(|w| w[0].0 < w[1].0));
        let prime = |n: u16| {
            n > 1
                && (2..n)
                    .take_while(|d| d * d <= n)
                    .all(|d| !n.is_multiple_of(d))
        };
        assert!(
            SYSTEMATIC_INDICES
                .iter()
                .all(|&(_, _, s, _, w)| prime(s) && prime(w))
        );
        let p = Params::new(1024).unwrap();
        assert_eq!((p.k_prime, p.j, p.s, p.h, p.w), (1032, 824, 59, 10, 1051));
        assert_eq!((p.l, p.p, p.p1), (1101, 50, 53));
    }

    #[test]
    fn rfc6330_rand_tables_and_degree_match_the_rfc_text() {
        assert_eq!(&V0[..3], &[251291136, 3952231631, 3370958628]);
        assert_eq!(V1[0], 807385413);
        assert_eq!(V2[0], 1629829892);
        assert_eq!(V3[0], 1191369816);
        assert_eq!(rand(0, 0, u32::MAX), V0[0] ^ V1[0] ^ V2[0] ^ V3[0]);
        assert_eq!(deg(0, 100), 1);
        assert_eq!(deg(5243, 100), 2);
        assert_eq!(deg(1048575, 100), 30);
        assert_eq!(deg(1048575, 20), 18);
    }

    fn check(k: u32, t: usize, seed: u64, loss_per_mille: u32, extra: u32) {
        let data = block(k, t, seed);
        let mut x = seed | 1;
        let lost: Vec<bool> = (0..k)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 33) % 1000) < u64::from(loss_per_mille)
            })
            .collect();
        let nb_lost = lost.iter().filter(|&&l| l).count() as u32;
        let repair = crate_repair(t, &data, nb_lost + extra);
        let crate_ok = crate_decodes(k, t, &data, &lost, &repair);
        match ours(k, t, &data, &lost, &repair) {
            Ok(got) => assert!(got == data, "k={k} seed={seed}: wrong bytes"),
            Err(RaptorQUnsolved::RankDeficient) => {
                assert!(
                    !crate_ok,
                    "k={k} seed={seed} extra={extra}: the crate decodes"
                )
            }
            Err(e) => panic!("k={k} seed={seed}: {e:?}"),
        }
    }

    #[test]
    fn rfc6330_decoder_needs_the_hdpc_rows_for_k109_with_8_spare_symbols() {
        // Found by proptest: the GF(2) rows alone are rank deficient here.
        check(109, 4, 4309341446015626096, 100, 8);
    }

    #[test]
    fn rfc6330_decoder_with_exactly_k_symbols_matches_the_crate() {
        for seed in 0..40 {
            check(10 + (seed as u32 * 37) % 300, 8, seed, 300, 0);
        }
    }

    #[test]
    fn rfc6330_decoder_reports_too_few_symbols_without_panicking() {
        let (k, t) = (50u32, 8usize);
        let data = block(k, t, 1);
        let lost: Vec<bool> = (0..k).map(|e| e % 5 == 0).collect();
        let repair = crate_repair(t, &data, 5);
        assert_eq!(
            ours(k, t, &data, &lost, &repair),
            Err(RaptorQUnsolved::RankDeficient)
        );
    }

    #[test]
    fn rfc6330_decoder_recovers_k1024_with_10_percent_loss_and_256_repair() {
        check(1024, 8, 7, 100, 256 - 100);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn rfc6330_decoder_recovers_the_source_bytes_the_crate_encoded(
            k in prop_oneof![1u32..60, 60u32..400],
            t in prop_oneof![Just(4usize), Just(8), Just(12)],
            seed: u64,
            loss in 0u32..500,
            extra in 0u32..40,
        ) {
            check(k, t, seed, loss, extra);
        }
    }
}
