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
