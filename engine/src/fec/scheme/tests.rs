use super::*;

fn oti(id: FecEncodingId, len: u64, b: u32, repair: u32, scheme: SchemeSpecific) -> Oti {
    Oti {
        fec_encoding_id: id,
        fec_instance_id: 0,
        transfer_length: len,
        encoding_symbol_length: 1024,
        maximum_source_block_length: b,
        max_number_of_encoding_symbols: b + repair,
        scheme_specific: scheme,
    }
}

fn rq(z: u8, n: u16) -> SchemeSpecific {
    SchemeSpecific::RaptorQ { z, n, al: 4 }
}

#[test]
fn schemes_refuse_blocks_they_cannot_code() {
    let raptorq = Scheme::for_oti(&oti(FecEncodingId::RaptorQ, 1, 64, 8, rq(1, 1))).unwrap();
    assert!(raptorq.check_block_len(56_403).is_ok());
    assert!(matches!(
        raptorq.check_block_len(56_404),
        Err(FecError::UnsupportedSourceBlockLength { .. })
    ));
    let r = SchemeSpecific::Raptor { z: 1, n: 1, al: 4 };
    let raptor = Scheme::for_oti(&oti(FecEncodingId::Raptor, 1, 64, 8, r)).unwrap();
    assert!(raptor.check_block_len(3).is_err());
    assert!(raptor.check_block_len(4).is_ok());
    // RS over GF(2^8): n = B + repair must stay within 255, which the encoder checks; a
    // receiver takes the OTI and refuses the blocks it cannot decode.
    let rs = oti(
        FecEncodingId::ReedSolomonGf28,
        1,
        200,
        100,
        SchemeSpecific::None,
    );
    let mut rs = Scheme::for_oti(&rs).unwrap();
    assert!(matches!(
        rs.encoder(),
        Err(FecError::TooManyEncodingSymbols { .. })
    ));
    assert!(rs.decoder(200).is_err());
    let sub = oti(FecEncodingId::RaptorQ, 1, 64, 8, rq(1, 0));
    assert!(Scheme::for_oti(&sub).is_err());
    let mismatched = oti(FecEncodingId::Raptor, 1, 64, 8, rq(1, 1));
    assert!(Scheme::for_oti(&mismatched).is_err());
}

#[test]
fn only_sub_blocked_schemes_scatter_their_symbols() {
    let rq2 = Scheme::for_oti(&oti(FecEncodingId::RaptorQ, 1, 64, 8, rq(1, 2))).unwrap();
    assert!(rq2.scattered_layout(10).is_some() && rq2.is_sub_blocked());
    let rq1 = Scheme::for_oti(&oti(FecEncodingId::RaptorQ, 1, 64, 8, rq(1, 1))).unwrap();
    assert!(rq1.scattered_layout(10).is_none() && !rq1.is_sub_blocked());
}

#[test]
fn partition_esis_and_payload_id_follow_the_encoding_id() {
    // 10 symbols: RFC 5052 with B = 4 gives 3 blocks, RaptorQ with Z = 2 gives 2.
    let len = 10 * 1024;
    let no_code = Scheme::for_oti(&oti(FecEncodingId::NoCode, len, 4, 0, SchemeSpecific::None));
    let no_code = no_code.unwrap();
    assert_eq!(no_code.partition(len).unwrap().nb_blocks(), 3);
    assert!(!no_code.has_repair_symbols());
    assert_eq!(no_code.nb_repair_symbols(), 0);
    assert_eq!(no_code.payload_id_format(), PayloadIdFormat::CompactNoCode);
    let raptorq = Scheme::for_oti(&oti(FecEncodingId::RaptorQ, len, 4, 3, rq(2, 1))).unwrap();
    assert_eq!(raptorq.partition(len).unwrap().nb_blocks(), 2);
    assert_eq!(raptorq.esi_end(5), 1 << 24);
    assert_eq!(raptorq.nb_repair_symbols(), 3);
    assert_eq!(raptorq.payload_id_format(), PayloadIdFormat::RaptorQ);
    let gf2m = SchemeSpecific::ReedSolomonGf2m { m: 16, g: 1 };
    let rs = Scheme::for_oti(&oti(FecEncodingId::ReedSolomonGf2m, len, 4, 3, gf2m)).unwrap();
    assert_eq!(rs.partition(len).unwrap().nb_blocks(), 3);
    assert_eq!((rs.esi_end(4), rs.esi_end(9)), (7, 9));
    assert_eq!(
        rs.payload_id_format(),
        PayloadIdFormat::ReedSolomonGf2m { m: 16 }
    );
}

#[test]
fn one_decoder_interface_recovers_a_lost_symbol_under_every_scheme() {
    let len = 8 * 1024;
    let data: Vec<u8> = (0..len).map(|i| (i * 7 + 1) as u8).collect();
    let schemes = [
        oti(
            FecEncodingId::ReedSolomonGf28,
            len as u64,
            8,
            2,
            SchemeSpecific::None,
        ),
        oti(FecEncodingId::RaptorQ, len as u64, 8, 2, rq(1, 1)),
        oti(
            FecEncodingId::Raptor,
            len as u64,
            8,
            2,
            SchemeSpecific::Raptor { z: 1, n: 1, al: 4 },
        ),
    ];
    for o in schemes {
        let mut scheme = Scheme::for_oti(&o).unwrap();
        let mut repair = vec![0u8; 2 * 1024];
        scheme
            .encoder()
            .unwrap()
            .encode(8, &data, &mut repair)
            .unwrap();
        let mut decoder = scheme.decoder(8).unwrap();
        let mut block = data.clone();
        block[..1024].fill(0);
        for esi in 1..8 {
            decoder.source_received(esi).unwrap();
        }
        for (esi, symbol) in (8..).zip(repair.chunks_exact(1024)) {
            decoder.push_repair(esi, symbol).unwrap();
        }
        assert_eq!(decoder.missing_source(), 1);
        assert!(decoder.is_decodable());
        assert!(decoder.decode(&mut block, u64::MAX).unwrap(), "{o:?}");
        assert_eq!(block, data, "{o:?}");
    }
}
