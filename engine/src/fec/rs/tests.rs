use proptest::prelude::*;

use super::*;

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i / 7) as u8)
        .collect()
}

/// Encodes `source` (k·E − `cut` bytes), loses the ESIs in `lost`, and decodes in place from
/// the others, the way the receiver does.
fn round_trip(m: u8, k: u32, n: u32, e: usize, cut: usize, lost: &[u32]) -> Result<(), String> {
    let code = ReedSolomon::new(m, k, n, e).map_err(|err| err.to_string())?;
    let source = data(k as usize * e - cut, k as u8 ^ m);
    let mut repair = vec![0u8; (n - k) as usize * e];
    code.encode(&source, &mut repair)
        .map_err(|err| err.to_string())?;

    let mut block = vec![0xEEu8; source.len()];
    let mut decoder = code.decoder();
    for esi in (0..n).filter(|esi| !lost.contains(esi)) {
        if esi < k {
            let range = esi as usize * e..((esi as usize + 1) * e).min(source.len());
            block[range.clone()].copy_from_slice(&source[range]);
            decoder
                .source_received(esi)
                .map_err(|err| err.to_string())?;
        } else {
            let start = (esi - k) as usize * e;
            decoder
                .push_repair(esi, &repair[start..start + e])
                .map_err(|err| err.to_string())?;
        }
    }
    if !decoder.is_decodable() {
        return Err("not decodable".into());
    }
    decoder.decode(&mut block).map_err(|err| err.to_string())?;
    if block != source {
        return Err(format!(
            "m={m} k={k} n={n} E={e} cut={cut} lost={lost:?}: wrong block"
        ));
    }
    Ok(())
}

#[test]
fn invalid_parameters_are_typed_errors() {
    assert_eq!(
        ReedSolomon::new(8, 1, 1, 0).unwrap_err(),
        FecError::ZeroSymbolLength
    );
    assert_eq!(
        ReedSolomon::new(8, 0, 4, 1).unwrap_err(),
        FecError::ZeroSourceSymbols
    );
    assert_eq!(
        ReedSolomon::new(8, 5, 4, 1).unwrap_err(),
        FecError::MoreSourceThanEncodingSymbols { k: 5, n: 4 }
    );
    assert_eq!(
        ReedSolomon::new(8, 5, 256, 1).unwrap_err(),
        FecError::TooManyEncodingSymbols { n: 256, m: 8 }
    );
    assert_eq!(
        ReedSolomon::new(16, 5, 65536, 2).unwrap_err(),
        FecError::TooManyEncodingSymbols { n: 65536, m: 16 }
    );
    assert_eq!(
        ReedSolomon::new(16, 5, 10, 3).unwrap_err(),
        FecError::SymbolLengthNotMultipleOfM {
            symbol_len: 3,
            m: 16
        }
    );
    for m in [0u8, 1, 17] {
        assert_eq!(
            ReedSolomon::new(m, 1, 1, 8).unwrap_err(),
            FecError::UnsupportedFieldSize(m)
        );
    }
    assert!(matches!(
        ReedSolomon::new(16, 2, 3, usize::MAX / 2).unwrap_err(),
        FecError::Overflow { .. }
    ));
    assert!(ReedSolomon::new(8, 1, 255, 1).is_ok());
    assert!(ReedSolomon::new(16, 1000, 65535, 2).is_ok());
}

#[test]
fn encoder_and_decoder_reject_bad_buffers_and_esis() {
    let code = ReedSolomon::new(8, 4, 6, 10).unwrap();
    let mut repair = vec![0u8; 20];
    assert!(matches!(
        code.encode(&[0; 30], &mut repair),
        Err(FecError::BadSourceBlockLength {
            len: 30,
            min_exclusive: 30,
            max: 40
        })
    ));
    assert!(code.encode(&[0; 41], &mut repair).is_err());
    assert!(matches!(
        code.encode(&[0; 40], &mut [0; 15]),
        Err(FecError::BadRepairBufferLength { .. })
    ));
    assert!(code.encode(&[0; 40], &mut [0; 30]).is_err());
    assert!(code.encode(&[0; 40], &mut []).is_ok());

    let mut decoder = code.decoder();
    assert!(decoder.source_received(4).is_err());
    assert!(decoder.push_repair(3, &[0; 10]).is_err());
    assert!(decoder.push_repair(6, &[0; 10]).is_err());
    assert!(decoder.push_repair(u32::MAX, &[0; 10]).is_err());
    assert!(decoder.push_repair(4, &[0; 9]).is_err());
    assert_eq!(
        decoder.decode(&mut [0; 40]),
        Err(FecError::NotEnoughSymbols { received: 0, k: 4 })
    );
    assert!(decoder.decode(&mut [0; 12]).is_err());
    assert_eq!(decoder.source_received(0), Ok(true));
    assert_eq!(decoder.source_received(0), Ok(false));
    assert_eq!(decoder.push_repair(5, &[0; 10]), Ok(true));
    assert_eq!(decoder.push_repair(5, &[0; 10]), Ok(false));
    assert_eq!(decoder.nb_received(), 2);
}

#[test]
fn scheme_ids_map_to_their_field_size() {
    use crate::wire::SchemeSpecific;
    let oti = |id, instance, scheme| Oti {
        fec_encoding_id: id,
        fec_instance_id: instance,
        transfer_length: 1000,
        encoding_symbol_length: 100,
        maximum_source_block_length: 10,
        max_number_of_encoding_symbols: 15,
        scheme_specific: scheme,
    };
    let none = SchemeSpecific::None;
    assert_eq!(
        ReedSolomon::field_size_of(&oti(FecEncodingId::ReedSolomonGf28, 0, none)),
        Ok(8)
    );
    assert_eq!(
        ReedSolomon::field_size_of(&oti(FecEncodingId::ReedSolomonGf28UnderSpecified, 0, none)),
        Ok(8)
    );
    assert!(
        ReedSolomon::field_size_of(&oti(FecEncodingId::ReedSolomonGf28UnderSpecified, 1, none))
            .is_err()
    );
    let rs2m = |m| SchemeSpecific::ReedSolomonGf2m { m, g: 1 };
    assert_eq!(
        ReedSolomon::field_size_of(&oti(FecEncodingId::ReedSolomonGf2m, 0, rs2m(16))),
        Ok(16)
    );
    assert_eq!(
        ReedSolomon::field_size_of(&oti(FecEncodingId::ReedSolomonGf2m, 0, rs2m(0))),
        Ok(8)
    );
    assert!(ReedSolomon::field_size_of(&oti(FecEncodingId::NoCode, 0, none)).is_err());
    let code =
        ReedSolomon::for_oti(&oti(FecEncodingId::ReedSolomonGf2m, 0, rs2m(16)), 10, 15).unwrap();
    assert_eq!(
        (code.m(), code.symbol_len(), code.nb_repair_symbols()),
        (16, 100, 5)
    );
}

#[test]
fn rs_decodes_the_worst_cases_of_each_field_size() {
    for (m, k, n, e) in [
        (2u8, 2u32, 3u32, 3usize),
        (3, 4, 7, 3),
        (4, 10, 15, 1),
        (5, 20, 31, 5),
        (8, 1, 255, 7),
        (8, 200, 255, 4),
        (8, 64, 96, 1400),
        (12, 5, 9, 3),
        (16, 20, 30, 10),
        (16, 300, 400, 2),
    ] {
        // All repair symbols replace the first source symbols.
        let lost: Vec<u32> = (0..(n - k).min(k)).collect();
        round_trip(m, k, n, e, 0, &lost).unwrap();
        round_trip(m, k, n, e, 0, &[]).unwrap();
        // The last symbol is short and lost.
        round_trip(m, k, n, e, e / 2, &[k - 1]).unwrap();
    }
}

#[test]
fn repair_symbols_depend_on_k_and_esi_but_not_on_n() {
    for m in [8u8, 16] {
        let source = data(10 * 8, m);
        let small = ReedSolomon::new(m, 10, 14, 8).unwrap();
        let large = ReedSolomon::new(m, 10, 255, 8).unwrap();
        let mut a = vec![0u8; 4 * 8];
        let mut b = vec![0u8; 4 * 8];
        small.encode(&source, &mut a).unwrap();
        large.encode(&source, &mut b).unwrap();
        assert_eq!(a, b, "m={m}");
    }
}

#[test]
fn encode_accepts_a_short_last_symbol_as_zero_padded() {
    for m in [8u8, 16, 4] {
        let (k, n, e) = (5u32, 9u32, 6usize);
        let code = ReedSolomon::new(m, k, n, e).unwrap();
        let full = {
            let mut full = data(k as usize * e, 3);
            full[k as usize * e - 3..].fill(0);
            full
        };
        let mut from_full = vec![0u8; 4 * e];
        let mut from_short = vec![1u8; 4 * e];
        code.encode(&full, &mut from_full).unwrap();
        code.encode(&full[..k as usize * e - 3], &mut from_short)
            .unwrap();
        assert_eq!(from_full, from_short, "m={m}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn rs_recovers_any_k_of_n_symbols(
        m in prop_oneof![Just(8u8), Just(16u8), 2u8..=16],
        k in 1u32..40,
        extra in 0u32..40,
        e_units in 1usize..24,
        cut in 0usize..16,
        seed: u64,
    ) {
        let field_max = (1u32 << m) - 1;
        let n = (k + extra).min(field_max);
        let k = k.min(n);
        // E must hold a whole number of m-bit elements: a multiple of m bits.
        let e = e_units * usize::from(m) / gcd(usize::from(m), 8);
        let cut = cut.min(e - 1);
        // A random erasure pattern that leaves exactly k symbols.
        let mut esis: Vec<u32> = (0..n).collect();
        let mut state = seed | 1;
        for i in (1..esis.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            esis.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let lost = &esis[k as usize..];
        prop_assert_eq!(round_trip(m, k, n, e, cut, lost), Ok(()));
    }
}

proptest! {
    #[test]
    fn any_parameters_from_the_network_give_a_code_or_a_typed_error(
        m: u8,
        k: u32,
        n: u32,
        e in prop_oneof![0usize..4000, Just(usize::MAX), Just(usize::MAX / 8 + 1)],
    ) {
        // Never a panic, never a division by zero; a code only for valid parameters.
        if let Ok(code) = ReedSolomon::new(m, k, n, e) {
            prop_assert!((2..=16).contains(&m));
            prop_assert!(0 < k && k <= n && u64::from(n) < 1u64 << m && e > 0);
            prop_assert!((e * 8).is_multiple_of(usize::from(m)));
            prop_assert_eq!(code.nb_repair_symbols(), n - k);
        }
    }
}

proptest! {
    #[test]
    fn any_oti_from_the_network_gives_a_code_or_a_typed_error(
        id in prop_oneof![Just(0u8), Just(1), Just(2), Just(5), Just(6), Just(129)],
        instance: u16,
        e: u16,
        m: u8,
        g: u8,
        k: u32,
        n: u32,
    ) {
        use crate::wire::SchemeSpecific;
        let fec_encoding_id = FecEncodingId::try_from(id).unwrap();
        let oti = Oti {
            fec_encoding_id,
            fec_instance_id: instance,
            transfer_length: 1 << 20,
            encoding_symbol_length: e,
            maximum_source_block_length: k,
            max_number_of_encoding_symbols: n,
            scheme_specific: if id == 2 {
                SchemeSpecific::ReedSolomonGf2m { m, g }
            } else {
                SchemeSpecific::None
            },
        };
        if let Ok(code) = ReedSolomon::for_oti(&oti, k, n) {
            prop_assert!(matches!(id, 2 | 5 | 129));
            prop_assert_eq!(usize::from(e), code.symbol_len());
        }
    }

    #[test]
    fn decoder_fed_random_symbols_and_lengths_never_panics(
        k in 1u32..20,
        extra in 0u32..20,
        ops in proptest::collection::vec((any::<bool>(), 0u32..45, 0usize..12), 0..60),
        block_len in 0usize..300,
    ) {
        let code = ReedSolomon::new(8, k, k + extra, 8).unwrap();
        let mut decoder = code.decoder();
        for (is_repair, esi, len) in ops {
            if is_repair {
                let _ = decoder.push_repair(esi, &vec![0xA5; len]);
            } else {
                let _ = decoder.source_received(esi);
            }
        }
        let decodable = decoder.is_decodable();
        let mut block = vec![0u8; block_len];
        let result = decoder.decode(&mut block);
        if block_len > (k as usize - 1) * 8 && block_len <= k as usize * 8 {
            prop_assert_eq!(result.is_ok(), decodable);
        } else {
            prop_assert!(result.is_err());
        }
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}
