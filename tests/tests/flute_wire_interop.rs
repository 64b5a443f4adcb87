//! Wire interop with the flute crate 1.11.7: every packet a flute `Sender` writes, for each FEC
//! Encoding ID it can send and both FLUTE profiles, parses in xflute to the fields flute itself
//! reads, and re-emits byte for byte; and packets xflute writes parse in flute to the same fields.

use std::time::{Duration, SystemTime};

use flute::core::alc as flute_alc;
use flute::core::lct::Cenc;
use flute::core::{Oti as FluteOti, UDPEndpoint};
use flute::sender::{Config, ObjectDesc, Profile, Sender, TransferConfig};
use xflute::wire::{
    AlcPacket, AlcRepr, ExtCenc, ExtFdt, ExtRepr, ExtTime, FecEncodingId, LctRepr, Oti, PayloadId,
    PayloadIdFormat, SchemeSpecific,
};

/// The FEC schemes flute can send, each with OTI parameters that split a 20 000-byte object
/// into two source blocks.
fn flute_otis() -> Vec<(&'static str, FluteOti)> {
    vec![
        ("no-code", FluteOti::new_no_code(1400, 8)),
        (
            "rs28",
            FluteOti::new_reed_solomon_rs28(1400, 8, 4).expect("rs28 oti"),
        ),
        (
            "rs28-under-specified",
            FluteOti::new_reed_solomon_rs28_under_specified(1400, 8, 4).expect("rs28us oti"),
        ),
        (
            "rs2m-m8",
            FluteOti::new_reed_solomon_rs2m(1400, 8, 4, 8).expect("rs2m m=8 oti"),
        ),
        (
            "rs2m-m16",
            FluteOti::new_reed_solomon_rs2m(1400, 8, 4, 16).expect("rs2m m=16 oti"),
        ),
        (
            "raptorq",
            FluteOti::new_raptorq(1400, 8, 4, 1, 4).expect("raptorq oti"),
        ),
        (
            "raptor",
            FluteOti::new_raptor(1400, 8, 4, 1, 4).expect("raptor oti"),
        ),
    ]
}

const PROFILES: [(Profile, u8); 2] = [(Profile::RFC6726, 2), (Profile::RFC3926, 1)];

/// Standard base64 (RFC 4648 §4), to compare with flute's FEC-OTI-Scheme-Specific-Info.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn ntp_to_system_time(seconds: u32, fraction: u32) -> SystemTime {
    let unix_seconds = u64::from(seconds) - 2_208_988_800;
    let micros = (u128::from(fraction) * 1_000_000) >> 32;
    SystemTime::UNIX_EPOCH
        + Duration::from_secs(unix_seconds)
        + Duration::from_micros(micros as u64)
}

/// Checks that xflute's OTI says what flute's says.
fn assert_same_oti(x: &Oti, f: &FluteOti, f_transfer_length: u64, what: &str) {
    assert_eq!(
        u8::from(x.fec_encoding_id),
        f.fec_encoding_id as u8,
        "{what}"
    );
    assert_eq!(x.fec_instance_id, f.fec_instance_id, "{what}");
    assert_eq!(x.transfer_length, f_transfer_length, "{what}");
    assert_eq!(x.encoding_symbol_length, f.encoding_symbol_length, "{what}");
    assert_eq!(
        x.maximum_source_block_length, f.maximum_source_block_length,
        "{what}"
    );
    assert_eq!(
        x.max_number_of_encoding_symbols,
        f.maximum_source_block_length + f.max_number_of_parity_symbols,
        "{what}"
    );
    let attributes = f.get_attributes();
    assert_eq!(
        x.scheme_specific_info_bytes()
            .map(|info| base64(info.as_bytes())),
        attributes.fec_oti_scheme_specific_info,
        "{what}"
    );
}

/// Drains a flute sender of one object and returns its packets, close-session last.
fn flute_packets(
    oti: &FluteOti,
    profile: Profile,
    tsi: u64,
    fdt_cenc: Cenc,
    now: SystemTime,
) -> Vec<Vec<u8>> {
    let config = Config {
        profile,
        fdt_cenc,
        ..Default::default()
    };
    let endpoint = UDPEndpoint::new(None, "224.0.0.1".to_owned(), 3400);
    let mut sender = Sender::new(endpoint, tsi, oti, &config);
    let content = xflute_tests::data::content(20_000, 1);
    let object = ObjectDesc::create_from_buffer(
        content,
        "application/octet-stream",
        &url::Url::parse("file:///interop.bin").expect("url"),
        true,
        TransferConfig {
            inband_cenc: true,
            ..Default::default()
        },
    )
    .expect("object");
    sender.add_object(0, object).expect("add_object");
    sender.publish(now).expect("publish");
    let mut packets = Vec::new();
    while let Some(packet) = sender.read(now) {
        packets.push(packet);
        assert!(packets.len() < 10_000, "flute sender does not stop");
    }
    packets.push(sender.read_close_session(now));
    packets
}

/// Parses one flute packet with both crates, compares, re-emits with xflute and compares bytes.
/// Returns, for packets with a payload, what they carried.
fn check_flute_packet(packet: &[u8], flute_version: u8, what: &str) -> Option<Seen> {
    let f = flute_alc::parse_alc_pkt(packet).unwrap_or_else(|e| panic!("{what}: flute: {e:?}"));
    let x = AlcPacket::parse(packet).unwrap_or_else(|e| panic!("{what}: xflute: {e}"));

    let lct = x.lct();
    assert_eq!(lct.cci, f.lct.cci, "{what}");
    assert_eq!(lct.tsi, f.lct.tsi, "{what}");
    assert_eq!(lct.toi, f.lct.toi, "{what}");
    assert_eq!(lct.codepoint, f.lct.cp, "{what}");
    assert_eq!(lct.close_object, f.lct.close_object, "{what}");
    assert_eq!(lct.close_session, f.lct.close_session, "{what}");
    assert_eq!(x.header_len(), f.lct.len, "{what}");
    // flute picks the smallest widths; xflute's `with_min_widths` must pick the same.
    let toi =
        (lct.toi_len_bytes > 0 && !(lct.close_session && x.is_data_less())).then_some(lct.toi);
    let mut min = LctRepr::with_min_widths(lct.cci, lct.tsi, toi, lct.codepoint).expect("widths");
    min.close_object = lct.close_object;
    min.close_session = lct.close_session;
    assert_eq!(&min, lct, "{what}: flute's widths");

    let exts: Vec<ExtRepr<'_>> = x
        .extension_reprs()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{what}: {e}"));

    if x.is_data_less() {
        assert_eq!(f.data_payload_offset, packet.len(), "{what}");
        let repr = AlcRepr {
            lct: *lct,
            extensions: &exts,
            payload_id: None,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        let len = repr.emit(&mut buf).expect("emit");
        assert_eq!(&buf[..len], packet, "{what}: re-emit of a data-less packet");
        return None;
    }

    // EXT_FTI: flute writes it in every packet here (in-band FTI; FDT packets always).
    let f_oti = f
        .oti
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: flute saw no FTI"));
    let x_oti = x
        .fti()
        .unwrap_or_else(|| panic!("{what}: xflute saw no FTI"));
    assert_same_oti(
        &x_oti,
        f_oti,
        f.transfer_length.expect("transfer length"),
        what,
    );

    // EXT_CENC.
    assert_eq!(
        x.ext_cenc().map(|c| c.content_encoding),
        f.cenc.map(|c| c as u8),
        "{what}"
    );

    // EXT_FDT: flute reads it only when TOI = 0.
    let is_fdt = lct.toi == 0;
    if is_fdt {
        let f_fdt = f
            .fdt_info
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: no EXT_FDT"));
        let x_fdt = x
            .ext_fdt()
            .unwrap_or_else(|| panic!("{what}: xflute saw no EXT_FDT"));
        assert_eq!(u32::from(x_fdt.flute_version), f_fdt.version, "{what}");
        assert_eq!(x_fdt.flute_version, flute_version, "{what}");
        assert_eq!(x_fdt.fdt_instance_id, f_fdt.fdt_instance_id, "{what}");
    }

    // EXT_TIME.
    let f_time = flute_alc::get_sender_current_time(&f).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let x_time = x.ext_time().and_then(|t| {
        t.sct_high
            .map(|high| ntp_to_system_time(high, t.sct_low.unwrap_or(0)))
    });
    assert_eq!(x_time, f_time, "{what}");

    // FEC Payload ID and the symbol.
    let f_id = flute_alc::parse_payload_id(&f, f_oti).unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let x_id = x
        .payload_id()
        .unwrap_or_else(|| panic!("{what}: no payload id"));
    assert_eq!(x_id.sbn, f_id.sbn, "{what}");
    assert_eq!(x_id.esi, f_id.esi, "{what}");
    assert_eq!(x_id.source_block_length, f_id.source_block_length, "{what}");
    assert_eq!(x.payload(), &packet[f.data_payload_offset..], "{what}");

    // Re-emit: header, extensions, payload ID, then the symbol.
    let format = PayloadIdFormat::for_oti(&x_oti).expect("format");
    let repr = AlcRepr {
        lct: *lct,
        extensions: &exts,
        payload_id: Some((format, x_id)),
    };
    let mut buf = vec![0u8; repr.buffer_len() + x.payload().len()];
    let len = repr
        .emit(&mut buf)
        .unwrap_or_else(|e| panic!("{what}: emit: {e}"));
    buf[len..].copy_from_slice(x.payload());
    assert_eq!(buf, packet, "{what}: re-emitted bytes differ from flute's");
    Some(Seen {
        is_fdt,
        sbn: x_id.sbn,
        time: x.ext_time().is_some(),
        cenc: x.ext_cenc().is_some(),
        cenc_value: x.ext_cenc().map_or(0, |c| c.content_encoding),
    })
}

/// What a packet with a payload carried.
struct Seen {
    is_fdt: bool,
    sbn: u32,
    time: bool,
    cenc: bool,
    cenc_value: u8,
}

#[test]
fn flute_sender_packets_parse_and_reemit_byte_exact_for_every_fec_scheme_and_profile() {
    let now = SystemTime::UNIX_EPOCH
        + Duration::from_secs(1_700_000_000)
        + Duration::from_micros(123_456);
    let tsis = [1u64, 0x1_2345, 0x1234_5678_9ABC];
    let mut cases = 0;
    for (i, (name, oti)) in flute_otis().into_iter().enumerate() {
        for (profile, flute_version) in PROFILES {
            // EXT_CENC on the FDT: gzip on some cases (flute then compresses the FDT).
            let fdt_cenc = if i % 2 == 0 { Cenc::Null } else { Cenc::Gzip };
            let tsi = tsis[i % tsis.len()];
            let packets = flute_packets(&oti, profile, tsi, fdt_cenc, now);
            let what = format!("{name} v{flute_version}");
            let mut fdt_packets = 0;
            let mut max_sbn = 0;
            let mut data_packets = 0;
            let mut data_less = 0;
            for (n, packet) in packets.iter().enumerate() {
                match check_flute_packet(packet, flute_version, &format!("{what} packet {n}")) {
                    Some(seen) if seen.is_fdt => {
                        fdt_packets += 1;
                        // flute writes SCT (by default) and EXT_CENC in every FDT packet.
                        assert!(seen.time, "{what}: FDT packet without EXT_TIME");
                        assert!(seen.cenc, "{what}: FDT packet without EXT_CENC");
                        assert_eq!(seen.cenc_value, fdt_cenc as u8, "{what}: FDT EXT_CENC");
                    }
                    Some(seen) => {
                        data_packets += 1;
                        max_sbn = max_sbn.max(seen.sbn);
                        assert!(seen.cenc, "{what}: object packet without in-band EXT_CENC");
                    }
                    None => data_less += 1,
                }
            }
            assert_eq!(data_less, 1, "{what}: close-session packet");
            assert!(fdt_packets > 0, "{what}: no FDT packet");
            assert!(data_packets >= 15, "{what}: {data_packets} data packets");
            assert!(max_sbn >= 1, "{what}: a single source block");
            cases += 1;
        }
    }
    assert_eq!(cases, 14);
}

/// xflute packets for one FEC scheme: FDT-like (TOI 0, EXT_FDT, EXT_CENC, EXT_TIME, EXT_FTI) and
/// data packets with SBN/ESI at the edges of their fields.
fn xflute_oti(id: FecEncodingId) -> Oti {
    let base = Oti {
        fec_encoding_id: id,
        fec_instance_id: 0,
        transfer_length: 123_456,
        encoding_symbol_length: 1400,
        maximum_source_block_length: 60,
        max_number_of_encoding_symbols: 80,
        scheme_specific: SchemeSpecific::None,
    };
    match id {
        FecEncodingId::NoCode => Oti {
            max_number_of_encoding_symbols: 60,
            ..base
        },
        FecEncodingId::ReedSolomonGf28 => base,
        FecEncodingId::ReedSolomonGf28UnderSpecified => Oti {
            fec_instance_id: 0,
            ..base
        },
        FecEncodingId::ReedSolomonGf2m => Oti {
            scheme_specific: SchemeSpecific::ReedSolomonGf2m { m: 16, g: 1 },
            ..base
        },
        FecEncodingId::Raptor => Oti {
            maximum_source_block_length: 45,
            max_number_of_encoding_symbols: 45,
            scheme_specific: SchemeSpecific::Raptor { z: 2, n: 1, al: 4 },
            ..base
        },
        FecEncodingId::RaptorQ => Oti {
            maximum_source_block_length: 45,
            max_number_of_encoding_symbols: 45,
            scheme_specific: SchemeSpecific::RaptorQ { z: 2, n: 1, al: 4 },
            ..base
        },
    }
}

#[test]
fn xflute_packets_parse_in_flute_with_the_same_fields() {
    let ids = [
        FecEncodingId::NoCode,
        FecEncodingId::Raptor,
        FecEncodingId::ReedSolomonGf2m,
        FecEncodingId::ReedSolomonGf28,
        FecEncodingId::RaptorQ,
        FecEncodingId::ReedSolomonGf28UnderSpecified,
    ];
    let symbol = [0x5Au8; 1400];
    let mut checked = 0;
    for id in ids {
        let oti = xflute_oti(id);
        let format = PayloadIdFormat::for_oti(&oti).expect("format");
        let (sbn_max, esi_max) = match format {
            PayloadIdFormat::CompactNoCode | PayloadIdFormat::Raptor => (0xFFFF, 0xFFFF),
            PayloadIdFormat::ReedSolomonGf2m { m } => (u32::MAX >> m, (1 << m) - 1),
            PayloadIdFormat::ReedSolomonGf28 => (0xFF_FFFF, 0xFF),
            PayloadIdFormat::RaptorQ => (0xFF, 0xFF_FFFF),
            PayloadIdFormat::SmallBlockSystematic => (u32::MAX, 0xFFFF),
        };
        let sbl = (format == PayloadIdFormat::SmallBlockSystematic).then_some(60);
        for (flute_version, toi, sbn, esi) in [
            (2u8, 0u128, 0u32, 0u32),
            (1, 0, 1, 2),
            (2, 7, sbn_max, esi_max),
            (2, 0x1234_5678_9ABC_DEF0, 3, 1),
            (1, (1 << 112) - 1, sbn_max / 2, esi_max / 3),
        ] {
            let what = format!("{id:?} toi={toi} sbn={sbn} esi={esi}");
            let mut lct =
                LctRepr::with_min_widths(0x0102, 0x0A0B_0C0D, Some(toi), id.into()).expect("lct");
            lct.close_object = sbn == sbn_max;
            let time = ExtTime {
                sct_high: Some(3_900_000_000),
                sct_low: Some(0x8000_0000),
                ..Default::default()
            };
            let mut exts = Vec::new();
            if toi == 0 {
                exts.push(ExtRepr::Fdt(ExtFdt {
                    flute_version,
                    fdt_instance_id: 0xF_FFFE,
                }));
            }
            exts.push(ExtRepr::Cenc(ExtCenc {
                content_encoding: 3,
            }));
            exts.push(ExtRepr::Time(time));
            exts.push(ExtRepr::Fti(oti));
            let x_id = PayloadId {
                sbn,
                esi,
                source_block_length: sbl,
            };
            let repr = AlcRepr {
                lct,
                extensions: &exts,
                payload_id: Some((format, x_id)),
            };
            let mut buf = vec![0u8; repr.buffer_len() + symbol.len()];
            let len = repr
                .emit(&mut buf)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            buf[len..].copy_from_slice(&symbol);

            let f = flute_alc::parse_alc_pkt(&buf).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_eq!(f.lct.cci, lct.cci, "{what}");
            assert_eq!(f.lct.tsi, lct.tsi, "{what}");
            assert_eq!(f.lct.toi, toi, "{what}");
            assert_eq!(f.lct.cp, u8::from(id), "{what}");
            assert_eq!(f.lct.close_object, lct.close_object, "{what}");
            assert_eq!(f.lct.len, len - format.buffer_len(), "{what}");
            let f_oti = f
                .oti
                .as_ref()
                .unwrap_or_else(|| panic!("{what}: no FTI in flute"));
            assert_same_oti(
                &oti,
                f_oti,
                f.transfer_length.expect("transfer length"),
                &what,
            );
            assert_eq!(f.cenc.map(|c| c as u8), Some(3), "{what}");
            if toi == 0 {
                let fdt = f
                    .fdt_info
                    .as_ref()
                    .unwrap_or_else(|| panic!("{what}: no EXT_FDT"));
                assert_eq!(fdt.version, u32::from(flute_version), "{what}");
                assert_eq!(fdt.fdt_instance_id, 0xF_FFFE, "{what}");
            }
            let f_time = flute_alc::get_sender_current_time(&f).expect("sct");
            assert_eq!(
                f_time,
                Some(ntp_to_system_time(3_900_000_000, 0x8000_0000)),
                "{what}"
            );
            let f_id =
                flute_alc::parse_payload_id(&f, f_oti).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            assert_eq!((f_id.sbn, f_id.esi), (sbn, esi), "{what}");
            assert_eq!(f_id.source_block_length, sbl, "{what}");
            assert_eq!(&buf[f.data_payload_offset..], &symbol[..], "{what}");
            checked += 1;
        }
    }
    assert_eq!(checked, 30);
}
