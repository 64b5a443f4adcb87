//! flute 1.11.7's `Sender` → xflute's `MultiReceiver`, in memory: objects of every size and
//! content encoding, priority queues, interleaving, carousels, FLUTE v1 and v2, both FDT XML
//! profiles, MD5, and links that reorder and duplicate packets.

mod receiver_support;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use flute::core::Oti as FluteOti;
use flute::core::lct::Cenc as FluteCenc;
use flute::sender::{FdtXmlProfile, PriorityQueue};
use receiver_support::*;
use xflute::receiver::{FailReason, MemorySink, MultiReceiver, ObjectEvent};
use xflute_tests::TempDir;
use xflute_tests::link::LinkConfig;

/// Receives `packets` over `link` and returns the completed objects by name.
fn receive_all(
    packets: &[Vec<u8>],
    link: LinkConfig,
) -> (MultiReceiver<MemorySink>, BTreeMap<String, Vec<u8>>) {
    let mut receiver = memory_receiver();
    let now = SystemTime::now();
    let errors = deliver(&mut receiver, packets, link, now);
    assert!(errors.is_empty(), "{errors:?}");
    let done = receiver
        .sink_mut()
        .take_completed()
        .into_iter()
        .map(|o| (o.desc.path.unwrap().to_relative_string(), o.data.into_vec()))
        .collect();
    (receiver, done)
}

#[test]
fn one_object_is_received_byte_exact_with_its_metadata() {
    let data = content(100_000, 1);
    let oti = FluteOti::new_no_code(1400, 64);
    let packets = flute_session(
        &oti,
        &sender_config(),
        vec![(
            0,
            object("dir/one.bin", data.clone(), FluteCenc::Null, true, 1),
        )],
        SystemTime::now(),
    );
    let (mut receiver, done) = receive_all(&packets, LinkConfig::default());
    assert_eq!(done.get("dir/one.bin"), Some(&data));
    let events = events(&mut receiver);
    let completed: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ObjectEvent::Completed { meta, toi, .. } => Some((*toi, meta.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(completed.len(), 1);
    let meta = &completed[0].1;
    assert_eq!(
        meta.content_location.as_deref(),
        Some("file:///dir/one.bin")
    );
    assert_eq!(meta.transfer_length, 100_000);
    assert_eq!(meta.content_length, Some(100_000));
    assert_eq!(
        meta.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert!(meta.content_md5.is_some());
    assert_eq!(meta.oti.encoding_symbol_length, 1400);
    assert!(matches!(events.first(), Some(ObjectEvent::Started { .. })));
    let stats = receiver.stats();
    assert_eq!((stats.objects_completed, stats.objects_failed), (1, 0));
    assert_eq!(stats.total_drops(), 0);
    assert_eq!(receiver.receiving_bytes(), 0);
}

#[test]
fn many_objects_in_every_content_encoding_with_md5() {
    let cencs = [
        FluteCenc::Null,
        FluteCenc::Zlib,
        FluteCenc::Deflate,
        FluteCenc::Gzip,
    ];
    let mut expected = BTreeMap::new();
    let mut objects = Vec::new();
    for (i, cenc) in cencs.iter().cycle().take(12).enumerate() {
        let len = [0, 1, 1399, 1400, 1401, 50_000, 300_000][i % 7];
        let data = content(len, i as u64 + 10);
        let name = format!("obj-{i}-{cenc:?}.bin");
        expected.insert(name.clone(), data.clone());
        objects.push((0, object(&name, data, *cenc, true, 1)));
    }
    let oti = FluteOti::new_no_code(1024, 32);
    let packets = flute_session(&oti, &sender_config(), objects, SystemTime::now());
    let (receiver, done) = receive_all(&packets, LinkConfig::default());
    assert_eq!(done, expected);
    assert_eq!(receiver.stats().objects_failed, 0);
}

#[test]
fn priority_queues_and_block_interleaving_are_demultiplexed() {
    let mut config = sender_config();
    config.set_priority_queue(PriorityQueue::HIGHEST, PriorityQueue::new(4));
    config.set_priority_queue(PriorityQueue::LOW, PriorityQueue::new(2));
    config.set_priority_queue(PriorityQueue::VERYLOW, PriorityQueue::new(1));
    config.interleave_blocks = 8;
    let mut expected = BTreeMap::new();
    let mut objects = Vec::new();
    for i in 0..9u64 {
        let data = content(40_000 + 7_777 * i as usize, i);
        let name = format!("q/{i}");
        expected.insert(name.clone(), data.clone());
        let priority = [
            PriorityQueue::HIGHEST,
            PriorityQueue::LOW,
            PriorityQueue::VERYLOW,
        ][(i % 3) as usize];
        objects.push((priority, object(&name, data, FluteCenc::Null, true, 1)));
    }
    let oti = FluteOti::new_no_code(500, 8);
    let packets = flute_session(&oti, &config, objects, SystemTime::now());
    let (_, done) = receive_all(&packets, LinkConfig::default());
    assert_eq!(done, expected);
}

#[test]
fn carousel_repeats_are_received_once() {
    let data = content(20_000, 3);
    let oti = FluteOti::new_no_code(1400, 64);
    let packets = flute_session(
        &oti,
        &sender_config(),
        vec![(
            0,
            object("carousel.bin", data.clone(), FluteCenc::Null, true, 3),
        )],
        SystemTime::now(),
    );
    let (mut receiver, done) = receive_all(&packets, LinkConfig::default());
    assert_eq!(done.get("carousel.bin"), Some(&data));
    let completed = events(&mut receiver)
        .iter()
        .filter(|e| matches!(e, ObjectEvent::Completed { .. }))
        .count();
    assert_eq!(completed, 1);
    // Two more passes of 15 packets each were recognised, not received again.
    assert!(receiver.stats().already_received >= 30);
}

#[test]
fn flute_v1_and_v2_with_both_fdt_profiles() {
    for profile in [
        flute::sender::Profile::RFC6726,
        flute::sender::Profile::RFC3926,
    ] {
        for xml in [FdtXmlProfile::Extended, FdtXmlProfile::Ts26346L6] {
            let mut config = sender_config();
            config.profile = profile;
            config.fdt_xml_profile = xml;
            let data = content(33_333, 4);
            let oti = FluteOti::new_no_code(1400, 64);
            let packets = flute_session(
                &oti,
                &config,
                vec![(0, object("p.bin", data.clone(), FluteCenc::Gzip, true, 1))],
                SystemTime::now(),
            );
            let (_, done) = receive_all(&packets, LinkConfig::default());
            assert_eq!(done.get("p.bin"), Some(&data), "{profile:?} {xml:?}");
        }
    }
}

#[test]
fn reordered_and_duplicated_packets_still_give_exact_objects() {
    let mut expected = BTreeMap::new();
    let mut objects = Vec::new();
    for i in 0..6u64 {
        let data = content(70_000 + 1000 * i as usize, 100 + i);
        let name = format!("r{i}");
        expected.insert(name.clone(), data.clone());
        let cenc = if i % 2 == 0 {
            FluteCenc::Null
        } else {
            FluteCenc::Zlib
        };
        objects.push((0, object(&name, data, cenc, true, 1)));
    }
    let oti = FluteOti::new_no_code(1400, 16);
    let packets = flute_session(&oti, &sender_config(), objects, SystemTime::now());
    for seed in 1..=5 {
        let link = LinkConfig {
            loss: 0.0,
            duplicate: 0.2,
            reorder_window: 32,
            seed,
        };
        let (receiver, done) = receive_all(&packets, link);
        assert_eq!(done, expected, "seed {seed}");
        assert!(receiver.stats().duplicates > 0);
    }
}

#[test]
fn data_before_the_fdt_is_held_and_replayed() {
    let data = content(50_000, 5);
    let oti = FluteOti::new_no_code(1400, 64);
    let mut packets = flute_session(
        &oti,
        &sender_config(),
        vec![(
            0,
            object("late-fdt.bin", data.clone(), FluteCenc::Null, true, 1),
        )],
        SystemTime::now(),
    );
    // FDT packets (TOI 0) last.
    packets.sort_by_key(|p| flute::core::alc::parse_alc_pkt(p).unwrap().lct.toi == 0);
    let (receiver, done) = receive_all(&packets, LinkConfig::default());
    assert_eq!(done.get("late-fdt.bin"), Some(&data));
    assert!(receiver.stats().held > 0);
    assert_eq!(receiver.held_bytes(), 0);
}

fn lossy_session(drop_tail: bool) -> Vec<Vec<u8>> {
    let data = content(50_000, 6);
    let oti = FluteOti::new_no_code(1400, 64);
    let mut packets = flute_session(
        &oti,
        &sender_config(),
        vec![(0, object("lossy.bin", data, FluteCenc::Null, true, 1))],
        SystemTime::now(),
    );
    let first_data = packets
        .iter()
        .position(|p| flute::core::alc::parse_alc_pkt(p).unwrap().lct.toi != 0)
        .unwrap();
    packets.remove(first_data + 10);
    if drop_tail {
        // The last data packet carries the close-object flag.
        let last = packets
            .iter()
            .rposition(|p| flute::core::alc::parse_alc_pkt(p).unwrap().lct.toi != 0)
            .unwrap();
        assert!(
            flute::core::alc::parse_alc_pkt(&packets[last])
                .unwrap()
                .lct
                .close_object
        );
        packets.remove(last);
    }
    packets
}

fn assert_failed_with(receiver: &mut MultiReceiver<MemorySink>, reason: FailReason) {
    assert_eq!(receiver.nb_objects(), 0);
    assert!(receiver.sink_mut().take_completed().is_empty());
    let failed: Vec<_> = events(receiver)
        .into_iter()
        .filter_map(|e| match e {
            ObjectEvent::Failed { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![reason]);
    assert_eq!(receiver.receiving_bytes(), 0);
    assert_eq!(receiver.stats().objects_failed, 1);
}

#[test]
fn a_lost_packet_fails_the_object_once_the_sender_closes_it() {
    let packets = lossy_session(false);
    let mut receiver = memory_receiver();
    let now = SystemTime::now();
    assert!(deliver(&mut receiver, &packets, LinkConfig::default(), now).is_empty());
    // Reordered packets may still come within the close grace.
    receiver.cleanup(now + Duration::from_millis(100));
    assert_eq!(receiver.nb_objects(), 1);
    receiver.cleanup(now + Duration::from_secs(1));
    assert_failed_with(&mut receiver, FailReason::Interrupted);
}

#[test]
fn an_unfinished_object_fails_on_timeout() {
    let packets = lossy_session(true);
    let mut receiver = memory_receiver();
    let now = SystemTime::now();
    assert!(deliver(&mut receiver, &packets, LinkConfig::default(), now).is_empty());
    receiver.cleanup(now + Duration::from_secs(5));
    assert_eq!(receiver.nb_objects(), 1);
    receiver.cleanup(now + Duration::from_secs(10));
    assert_failed_with(&mut receiver, FailReason::Timeout);
}

#[test]
fn into_a_file_sink_files_are_byte_exact_and_no_part_is_left() {
    let dir = TempDir::new("interop-files");
    let mut expected = BTreeMap::new();
    let mut objects = Vec::new();
    let cencs = [
        FluteCenc::Null,
        FluteCenc::Zlib,
        FluteCenc::Deflate,
        FluteCenc::Gzip,
    ];
    for i in 0..8u64 {
        let len = [0, 1, 5000, 1_000_000][(i % 4) as usize];
        let data = content(len, 200 + i);
        let name = format!("sub{}/file-{i}.bin", i % 2);
        expected.insert(name.clone(), data.clone());
        objects.push((0, object(&name, data, cencs[(i / 2) as usize % 4], true, 1)));
    }
    let oti = FluteOti::new_no_code(1400, 64);
    let packets = flute_session(&oti, &sender_config(), objects, SystemTime::now());
    let sink = xflute::io::file_sink::FileSink::new(&dir.0, 1 << 30).unwrap();
    let mut receiver = MultiReceiver::new(sink, xflute::receiver::Config::default());
    let link = LinkConfig {
        loss: 0.0,
        duplicate: 0.05,
        reorder_window: 16,
        seed: 7,
    };
    let errors = deliver(&mut receiver, &packets, link, SystemTime::now());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(receiver.stats().objects_completed, 8);
    let names: Vec<String> = expected.keys().cloned().collect();
    assert_eq!(files_below(&dir.0), names);
    for (name, data) in &expected {
        assert_eq!(&std::fs::read(dir.0.join(name)).unwrap(), data, "{name}");
    }
}
