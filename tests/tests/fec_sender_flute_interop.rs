//! AL-FEC interop with flute 1.11.7, both directions, for every scheme the xflute sender codes.
//!
//! - xflute `Sender` with RS (IDs 5, 129/0, 2 with m = 8 and 16), RaptorQ (ID 6, with and
//!   without sub-blocking) and Raptor (ID 1) → flute's `MultiReceiver`, object packets through a
//!   `Link` losing 0%, 10% or 30% of them (the FDT is delivered). The test counts the distinct
//!   symbols each block got: the object must be recovered whenever the code guarantees it (RS:
//!   k of n; RaptorQ/Raptor: k plus a margin) and must not be when a block got fewer than k.
//! - flute `Sender` with RaptorQ and Raptor (N = 1 and sub-blocked) → xflute's block decoders
//!   directly, through a `Link` losing 0%, 10% or 30%: packets parsed with `AlcPacket`, source
//!   symbols scattered into the destination; a block decodes byte-exact when it got K + margin
//!   symbols and never from fewer than K.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use flute::core::UDPEndpoint as FluteEndpoint;
use flute::receiver::writer::ObjectWriterBufferBuilder;
use flute::receiver::{Config as FluteReceiverConfig, MultiReceiver};
use xflute::endpoint::UdpEndpoint;
use xflute::fec::{BlockPartition, Raptor, RaptorQ};
use xflute::sender::{Config, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{AlcPacket, FecEncodingId, Oti, SchemeSpecific};
use xflute_tests::data::content;
use xflute_tests::link::{Link, LinkConfig};

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn oti(id: FecEncodingId, e: u16, b: u32, repair: u32, scheme: SchemeSpecific) -> Oti {
    Oti {
        fec_encoding_id: id,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: e,
        maximum_source_block_length: b,
        max_number_of_encoding_symbols: b + repair,
        scheme_specific: scheme,
    }
}

/// (name, OTI, extra symbols over k that guarantee decoding).
fn schemes() -> Vec<(&'static str, Oti, u32)> {
    use FecEncodingId as Id;
    let rq = |n, al| SchemeSpecific::RaptorQ { z: 0, n, al };
    vec![
        (
            "rs28",
            oti(Id::ReedSolomonGf28, 1024, 64, 48, SchemeSpecific::None),
            0,
        ),
        (
            "rs28-us",
            oti(
                Id::ReedSolomonGf28UnderSpecified,
                1024,
                64,
                64,
                SchemeSpecific::None,
            ),
            0,
        ),
        (
            "rs2m m=8",
            oti(
                Id::ReedSolomonGf2m,
                1024,
                64,
                64,
                SchemeSpecific::ReedSolomonGf2m { m: 8, g: 1 },
            ),
            0,
        ),
        (
            "rs2m m=16",
            oti(
                Id::ReedSolomonGf2m,
                1000,
                100,
                100,
                SchemeSpecific::ReedSolomonGf2m { m: 16, g: 1 },
            ),
            0,
        ),
        ("raptorq", oti(Id::RaptorQ, 1024, 64, 48, rq(1, 4)), 2),
        ("raptorq N=4", oti(Id::RaptorQ, 1024, 64, 48, rq(4, 8)), 2),
        (
            "raptor",
            oti(
                Id::Raptor,
                1024,
                64,
                64,
                SchemeSpecific::Raptor { z: 0, n: 1, al: 4 },
            ),
            // raptor-code's decoder needs a larger overhead on small blocks.
            40,
        ),
        (
            "raptor N=2",
            oti(
                Id::Raptor,
                1024,
                64,
                64,
                SchemeSpecific::Raptor { z: 0, n: 2, al: 4 },
            ),
            40,
        ),
    ]
}

/// Outcome of one object sent by xflute into flute.
struct Outcome {
    complete: bool,
    /// Every block got at least k + margin distinct symbols.
    guaranteed: bool,
    /// Some block got fewer than k distinct symbols.
    impossible: bool,
}

fn xflute_to_flute(oti: Oti, margin: u32, data: &[u8], loss: f64, seed: u64) -> Outcome {
    let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), 3400);
    // Raptor cannot code blocks of fewer than 4 symbols (RFC 5053 §5.7), so a small FDT
    // Instance goes without FEC and the object carries its own OTI.
    let session_oti = if oti.fec_encoding_id == FecEncodingId::Raptor {
        Oti {
            fec_encoding_id: FecEncodingId::NoCode,
            max_number_of_encoding_symbols: oti.maximum_source_block_length,
            scheme_specific: SchemeSpecific::None,
            ..oti
        }
    } else {
        oti
    };
    let mut sender = Sender::new(endpoint, 1, session_oti, Config::default()).unwrap();
    let obj = ObjectDesc::from_buffer(
        data.to_vec(),
        "application/octet-stream",
        "file:///fec.bin",
        false,
        TransferConfig {
            oti: Some(oti),
            ..TransferConfig::default()
        },
    )
    .unwrap();
    sender.add_object(0, obj).unwrap();

    let writer = Rc::new(ObjectWriterBufferBuilder::new(true));
    let config = FluteReceiverConfig {
        object_timeout: Some(Duration::from_secs(3600)),
        ..FluteReceiverConfig::default()
    };
    let mut receiver = MultiReceiver::new(writer.clone(), Some(config), false);
    let flute_endpoint = FluteEndpoint::new(None, "224.0.0.1".to_owned(), 3400);
    let mut link = Link::new(LinkConfig {
        loss,
        seed,
        ..LinkConfig::default()
    });
    let mut delivered: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut deliver = |pkt: &[u8], now, delivered: &mut BTreeMap<u32, BTreeSet<u32>>| {
        let alc = AlcPacket::parse(pkt).unwrap();
        if alc.lct().toi != 0
            && let Some(id) = alc.payload_id()
        {
            delivered.entry(id.sbn).or_default().insert(id.esi);
        }
        receiver.push(&flute_endpoint, pkt, now).unwrap();
    };
    for step in 0..100_000u64 {
        let now = t0() + Duration::from_millis(step);
        while let Some(len) = sender.write_next(&mut buf, now) {
            let pkt = &buf[..len];
            if AlcPacket::parse(pkt).unwrap().lct().toi == 0 {
                deliver(pkt, now, &mut delivered);
            } else {
                for p in link.send(pkt) {
                    deliver(&p, now, &mut delivered);
                }
            }
        }
        if sender.nb_objects() == 0 {
            for p in link.flush() {
                deliver(&p, now, &mut delivered);
            }
            break;
        }
    }
    let partition = BlockPartition::rfc5052(
        data.len() as u64,
        u32::from(oti.encoding_symbol_length),
        oti.maximum_source_block_length,
    )
    .unwrap();
    let mut guaranteed = true;
    let mut impossible = false;
    for sbn in 0..partition.nb_blocks() {
        let k = partition.block_len_symbols(sbn).unwrap();
        let got = delivered.get(&(sbn as u32)).map_or(0, |s| s.len()) as u32;
        guaranteed &= got >= k + margin.min(k);
        impossible |= got < k;
    }
    let objects = writer.objects.borrow();
    let complete = objects.iter().any(|o| {
        let o = o.borrow();
        o.complete && !o.error && o.data == data
    });
    Outcome {
        complete,
        guaranteed,
        impossible,
    }
}

#[test]
fn xflute_fec_sender_to_flute_recovers_the_object_whenever_the_code_guarantees_it() {
    for (what, oti, margin) in schemes() {
        let b = oti.maximum_source_block_length as usize;
        let e = usize::from(oti.encoding_symbol_length);
        // Three full blocks and a short one ending inside its last symbol.
        let data = content(3 * b * e + 5 * e + e / 3, 7);
        let mut recovered = 0;
        for (loss, seed) in [(0.0, 1), (0.1, 2), (0.1, 3), (0.3, 4), (0.3, 5)] {
            let out = xflute_to_flute(oti, margin, &data, loss, seed);
            if loss == 0.0 {
                assert!(out.complete, "{what}: not recovered without loss");
            }
            if out.guaranteed {
                assert!(
                    out.complete,
                    "{what} loss {loss}: not recovered though decodable"
                );
            }
            if out.impossible {
                assert!(
                    !out.complete,
                    "{what} loss {loss}: recovered from too few symbols?"
                );
            }
            recovered += usize::from(out.complete);
        }
        assert!(recovered >= 3, "{what}: recovered only {recovered} of 5");
    }
}

/// flute sends an object; returns its content and its packets.
fn flute_packets(flute_oti: &flute::core::Oti, len: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    use flute::sender::{Config as FluteConfig, ObjectDesc as FluteObject, Sender as FluteSender};
    let data = content(len, 11);
    let now = SystemTime::now();
    let endpoint = FluteEndpoint::new(None, "224.0.0.1".to_owned(), 3400);
    let mut sender = FluteSender::new(endpoint, 1, flute_oti, &FluteConfig::default());
    let object = FluteObject::create_from_buffer(
        data.clone(),
        "application/octet-stream",
        &url::Url::parse("file:///fec.bin").unwrap(),
        false,
        flute::sender::TransferConfig::default(),
    )
    .unwrap();
    sender.add_object(0, object).unwrap();
    sender.publish(now).unwrap();
    let mut packets = Vec::new();
    while let Some(packet) = sender.read(now) {
        packets.push(packet);
        assert!(packets.len() < 100_000, "flute sender does not stop");
    }
    (data, packets)
}

/// Feeds flute's packets through a link losing `loss` of them to xflute's decoders; every block
/// that got K + `margin` distinct symbols must decode byte-exact, and none with fewer than K.
fn flute_to_xflute_decoders(
    what: &str,
    flute_oti: flute::core::Oti,
    len: usize,
    loss: f64,
    margin: u32,
) -> (u64, u64) {
    let (data, packets) = flute_packets(&flute_oti, len);
    let oti: Oti = packets
        .iter()
        .map(|p| AlcPacket::parse(p).unwrap())
        .filter(|p| p.lct().toi != 0)
        .find_map(|p| p.fti())
        .unwrap_or_else(|| panic!("{what}: no EXT_FTI"));
    let mut link = Link::new(LinkConfig {
        loss,
        seed: 9,
        ..LinkConfig::default()
    });
    let mut delivered: Vec<Vec<u8>> = packets.iter().flat_map(|p| link.send(p)).collect();
    delivered.extend(link.flush());
    let mut by_block: BTreeMap<u32, Vec<(u32, Vec<u8>)>> = BTreeMap::new();
    for packet in &delivered {
        let alc = AlcPacket::parse_with_oti(packet, &oti).unwrap();
        if alc.lct().toi == 0 || alc.is_data_less() {
            continue;
        }
        let id = alc.payload_id().unwrap();
        by_block
            .entry(id.sbn)
            .or_default()
            .push((id.esi, alc.payload().to_vec()));
    }
    let t = u32::from(oti.encoding_symbol_length);
    let z = match oti.scheme_specific {
        SchemeSpecific::RaptorQ { z, .. } => u32::from(z),
        SchemeSpecific::Raptor { z, .. } => u32::from(z),
        _ => unreachable!(),
    };
    let partition = BlockPartition::raptor(oti.transfer_length, t, z).unwrap();
    assert!(partition.nb_blocks() >= 2, "{what}");
    let mut nb_decoded = 0;
    for sbn in 0..partition.nb_blocks() {
        let k = partition.block_len_symbols(sbn).unwrap();
        let start = partition.block_offset_bytes(sbn).unwrap() as usize;
        let len = partition.block_len_bytes(sbn).unwrap() as usize;
        let mut block = vec![0u8; len];
        let symbols = by_block.remove(&(sbn as u32)).unwrap_or_default();
        let distinct = symbols
            .iter()
            .map(|(esi, _)| *esi)
            .collect::<BTreeSet<_>>()
            .len() as u32;
        let decoded = match oti.fec_encoding_id {
            FecEncodingId::RaptorQ => {
                let mut dec = RaptorQ::for_oti(&oti).unwrap().decoder(k).unwrap();
                for (esi, s) in &symbols {
                    if *esi < k {
                        dec.write_source_symbol(&mut block, *esi, s).unwrap();
                    } else {
                        dec.push_repair(*esi, s).unwrap();
                    }
                }
                dec.decode(&mut block).unwrap_or(false)
            }
            _ => {
                let mut dec = Raptor::for_oti(&oti).unwrap().decoder(k).unwrap();
                for (esi, s) in &symbols {
                    if *esi < k {
                        dec.write_source_symbol(&mut block, *esi, s).unwrap();
                    } else {
                        dec.push_repair(*esi, s).unwrap();
                    }
                }
                dec.decode(&mut block).unwrap_or(false)
            }
        };
        if distinct < k {
            assert!(
                !decoded,
                "{what} loss {loss}: block {sbn} decoded from {distinct} < {k}"
            );
            continue;
        }
        if distinct >= k + margin {
            assert!(
                decoded,
                "{what} loss {loss}: block {sbn} not decoded from {distinct}"
            );
        }
        if decoded {
            assert!(
                block == data[start..start + len],
                "{what}: block {sbn} differs"
            );
            nb_decoded += 1;
        }
    }
    (nb_decoded, partition.nb_blocks())
}

#[test]
fn flute_raptorq_sender_to_xflute_decoder_recovers_every_block_byte_exact() {
    for n in [1u16, 3] {
        let oti = flute::core::Oti::new_raptorq(1024, 64, 40, n, 4).unwrap();
        for loss in [0.0, 0.1, 0.3] {
            let (decoded, blocks) =
                flute_to_xflute_decoders("raptorq", oti.clone(), 3 * 64 * 1024 + 2000, loss, 2);
            // With this link's seed every block keeps enough symbols, even at 30%.
            assert_eq!(decoded, blocks, "raptorq N={n} loss {loss}");
        }
    }
}

#[test]
fn flute_raptor_sender_to_xflute_decoder_recovers_every_block_byte_exact() {
    for n in [1u8, 2] {
        let oti = flute::core::Oti::new_raptor(1024, 64, 48, n, 4).unwrap();
        for loss in [0.0, 0.1, 0.3] {
            let (decoded, blocks) =
                flute_to_xflute_decoders("raptor", oti.clone(), 3 * 64 * 1024 + 2000, loss, 40);
            assert_eq!(decoded, blocks, "raptor N={n} loss {loss}");
        }
    }
}
