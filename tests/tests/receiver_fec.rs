//! Reed-Solomon (FEC Encoding IDs 5 and 2, RFC 5510) from flute 1.11.7's sender, over a lossy
//! link: repair symbols are kept per block, lost source symbols are decoded in place into the
//! sink region, and objects complete byte-exact with their MD5 checked.

mod receiver_support;

use std::collections::BTreeMap;
use std::time::SystemTime;

use flute::core::Oti as FluteOti;
use flute::core::lct::Cenc as FluteCenc;
use receiver_support::*;
use xflute::receiver::DropReason;
use xflute_tests::link::LinkConfig;

fn round_trip(oti: &FluteOti, seed: u64) {
    let mut expected = BTreeMap::new();
    let mut objects = Vec::new();
    for i in 0..5u64 {
        let len = [1, 999, 64 * 1000, 200_000, 777_777][i as usize];
        let data = content(len, seed * 10 + i);
        let name = format!("fec-{i}");
        expected.insert(name.clone(), data.clone());
        let cenc = if i == 3 {
            FluteCenc::Gzip
        } else {
            FluteCenc::Null
        };
        objects.push((0, object(&name, data, cenc, true, 1)));
    }
    // The FDT (itself Reed-Solomon coded) is also repeated by the carousel.
    let mut config = sender_config();
    config.fdt_carousel_mode = flute::sender::CarouselRepeatMode::DelayBetweenTransfers(
        std::time::Duration::from_millis(0),
    );
    let packets = flute_session(oti, &config, objects, SystemTime::now());
    let link = LinkConfig {
        loss: 0.08,
        duplicate: 0.02,
        reorder_window: 8,
        seed,
    };
    let mut receiver = memory_receiver();
    let errors = deliver(&mut receiver, &packets, link, SystemTime::now());
    assert!(errors.is_empty(), "{errors:?}");
    let done: BTreeMap<String, Vec<u8>> = receiver
        .sink_mut()
        .take_completed()
        .into_iter()
        .map(|o| (o.desc.path.unwrap().to_relative_string(), o.data.into_vec()))
        .collect();
    let stats = receiver.stats();
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&done), names(&expected), "seed {seed}: {stats:?}");
    for (name, data) in &expected {
        assert!(done[name] == *data, "{name} differs, seed {seed}");
    }
    assert_eq!(stats.objects_failed, 0);
    assert_eq!(stats.drops(DropReason::FecDecode), 0);
    // Every decoder's scratch was given back.
    assert_eq!(receiver.receiving_bytes(), 0);
}

#[test]
fn reed_solomon_gf28_recovers_lost_symbols_in_place() {
    let oti = FluteOti::new_reed_solomon_rs28(1000, 32, 16).unwrap();
    for seed in 1..=3 {
        round_trip(&oti, seed);
    }
}

#[test]
fn reed_solomon_gf2m_recovers_lost_symbols_in_place() {
    for m in [8u8, 16] {
        let oti = FluteOti::new_reed_solomon_rs2m(1000, 48, 24, m).unwrap();
        round_trip(&oti, 10 + u64::from(m));
    }
}

/// Issue 18, class 7: Reed-Solomon ID 2 objects whose OTI comes only from the FDT (no EXT_FTI
/// in their packets, so their FEC Payload ID cannot be parsed before the FDT is in) are
/// received, whether the FDT comes first or after packets that are held for it; lost source
/// symbols are decoded from the repair symbols.
#[test]
fn reed_solomon_gf2m_objects_whose_oti_comes_only_from_the_fdt_are_received_in_either_order() {
    use xflute::sender::Config as SenderConfig;
    use xflute::wire::{AlcPacket, FecEncodingId, Oti, SchemeSpecific};
    for m in [8u8, 16] {
        for fdt_last in [false, true] {
            let oti = Oti {
                fec_encoding_id: FecEncodingId::ReedSolomonGf2m,
                fec_instance_id: 0,
                transfer_length: 0,
                encoding_symbol_length: 1000,
                maximum_source_block_length: 32,
                max_number_of_encoding_symbols: 48,
                scheme_specific: SchemeSpecific::ReedSolomonGf2m { m, g: 1 },
            };
            let config = SenderConfig {
                inband_fti: false,
                ..SenderConfig::default()
            };
            let data = content(100_000, u64::from(m));
            let now = SystemTime::now();
            let (mut fdt, mut objects) = (Vec::new(), Vec::new());
            for packet in xflute_object_packets(oti, None, config, &data, "file:///rs2m.bin", now) {
                let alc = AlcPacket::parse(&packet).unwrap();
                if alc.lct().toi == 0 {
                    fdt.push(packet);
                } else {
                    assert!(alc.fti().is_none(), "no EXT_FTI in object packets");
                    objects.push(packet);
                }
            }
            // Lose one object packet in nine: the repair symbols have to fill in.
            let mut packets: Vec<Vec<u8>> = objects
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % 9 != 4)
                .map(|(_, p)| p)
                .collect();
            if fdt_last {
                packets.extend(fdt);
            } else {
                fdt.extend(packets);
                packets = fdt;
            }
            let mut receiver = memory_receiver();
            let errors = deliver(&mut receiver, &packets, LinkConfig::default(), now);
            assert!(errors.is_empty(), "m {m}, FDT last {fdt_last}: {errors:?}");
            let done = receiver.sink_mut().take_completed();
            assert_eq!(
                done.len(),
                1,
                "m {m}, FDT last {fdt_last}: {:?}",
                receiver.stats()
            );
            assert!(done[0].data == data);
            assert_eq!(receiver.stats().total_drops(), 0);
        }
    }
}

/// The repair symbols decoding put to use are counted (`ReceiverStats::repair_symbols_used`,
/// serve's `xflute_receive_repair_symbols_used_total`): one per source symbol lost, none when
/// nothing is lost although repair symbols arrive.
#[test]
fn repair_symbols_used_counts_the_source_symbols_decoding_recovered() {
    use xflute::sender::Config as SenderConfig;
    use xflute::wire::{AlcPacket, FecEncodingId, Oti, SchemeSpecific};
    let oti = Oti {
        fec_encoding_id: FecEncodingId::ReedSolomonGf28,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 1000,
        maximum_source_block_length: 32,
        max_number_of_encoding_symbols: 40,
        scheme_specific: SchemeSpecific::None,
    };
    for lose_every in [None, Some(7usize)] {
        // 128 symbols: four blocks of k = 32, so ESI < 32 is a source symbol.
        let data = content(128_000, 5);
        let now = SystemTime::now();
        let mut packets = Vec::new();
        let mut lost = 0u64;
        let mut source_seen = 0usize;
        let config = SenderConfig::default();
        for packet in xflute_object_packets(oti, None, config, &data, "file:///rs28.bin", now) {
            let alc = AlcPacket::parse(&packet).unwrap();
            if alc.lct().toi != 0 {
                let id = alc.payload_id().unwrap();
                if id.esi < 32 {
                    source_seen += 1;
                    if lose_every.is_some_and(|n| source_seen.is_multiple_of(n)) {
                        lost += 1;
                        continue;
                    }
                }
            }
            packets.push(packet);
        }
        let mut receiver = memory_receiver();
        let errors = deliver(&mut receiver, &packets, LinkConfig::default(), now);
        assert!(errors.is_empty(), "{errors:?}");
        let done = receiver.sink_mut().take_completed();
        assert_eq!(done.len(), 1, "{:?}", receiver.stats());
        assert!(done[0].data == data);
        assert_eq!(
            receiver.stats().repair_symbols_used,
            lost,
            "lose every {lose_every:?}"
        );
        assert_eq!(lose_every.is_some(), lost > 0);
    }
}
