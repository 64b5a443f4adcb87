//! xflute's `Sender` → xflute's `MultiReceiver`, in memory, over links that lose, reorder and
//! duplicate packets: carousels fill what the loss took, every object arrives byte-exact with
//! the metadata its FDT entry announced, and no object fails.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use xflute::cenc::Cenc;
use xflute::endpoint::UdpEndpoint;
use xflute::receiver::{Config as ReceiverConfig, MemorySink, MultiReceiver, ObjectEvent};
use xflute::sender::{
    CarouselRepeatMode, Config, FdtXmlProfile, ObjectDesc, PriorityQueue, Profile, Sender,
    TransferConfig, content_md5,
};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};
use xflute_tests::data::content;
use xflute_tests::link::{Link, LinkConfig};

fn no_code(e: u16, b: u32) -> Oti {
    Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: e,
        maximum_source_block_length: b,
        max_number_of_encoding_symbols: b,
        scheme_specific: SchemeSpecific::None,
    }
}

fn endpoint() -> UdpEndpoint {
    UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(239, 1, 2, 3)), 3400)
}

/// Runs `sender` over `link` into a fresh receiver, 1 ms per step, until `nb_objects` objects
/// are complete; returns the completed objects by path and their metadata's Content-MD5.
fn run(
    mut sender: Sender,
    link: LinkConfig,
    nb_objects: usize,
) -> BTreeMap<String, (Vec<u8>, Option<String>)> {
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_760_000_000);
    let mut receiver = MultiReceiver::new(MemorySink::new(1 << 30), ReceiverConfig::default());
    let mut link = Link::new(link);
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut md5s = BTreeMap::new();
    let mut done = BTreeMap::new();
    for step in 0..100_000u64 {
        let now = start + Duration::from_millis(step);
        while let Some(len) = sender.write_next(&mut buf, now) {
            for pkt in link.send(&buf[..len]) {
                receiver.push(&endpoint(), &pkt, now).unwrap();
            }
        }
        if sender.nb_objects() == 0 {
            for pkt in link.flush() {
                receiver.push(&endpoint(), &pkt, now).unwrap();
            }
        }
        while let Some(event) = receiver.poll_event() {
            match event {
                ObjectEvent::Completed { toi, meta, .. } => {
                    md5s.insert(toi, meta.content_md5.clone());
                }
                ObjectEvent::Failed { toi, reason, .. } => panic!("TOI {toi} failed: {reason:?}"),
                _ => {}
            }
        }
        for o in receiver.sink_mut().take_completed() {
            let name = o.desc.path.as_ref().unwrap().to_relative_string();
            done.insert(name, (o.desc.toi, o.data.into_vec()));
        }
        if done.len() >= nb_objects {
            break;
        }
    }
    done.into_iter()
        .map(|(name, (toi, data))| (name, (data, md5s.get(&toi).cloned().flatten())))
        .collect()
}

#[test]
fn carousel_objects_cross_a_lossy_reordering_link_byte_exact() {
    let mut config = Config {
        fdt_carousel_mode: CarouselRepeatMode::IntervalBetweenStartTimes(Duration::from_millis(20)),
        ..Config::default()
    };
    config.set_priority_queue(PriorityQueue::LOW, PriorityQueue::new(2));
    let mut sender = Sender::new(endpoint(), 7, no_code(1200, 32), config).unwrap();
    let mut expected = BTreeMap::new();
    for (i, cenc) in Cenc::ALL.into_iter().enumerate() {
        let data = content(150_000 + i * 1000, i as u64);
        let name = format!("dir/obj{i}.bin");
        let transfer = TransferConfig {
            cenc,
            carousel_mode: Some(CarouselRepeatMode::DelayBetweenTransfers(
                Duration::from_millis(5),
            )),
            ..TransferConfig::default()
        };
        let priority = if i % 2 == 0 {
            PriorityQueue::HIGHEST
        } else {
            PriorityQueue::LOW
        };
        let obj = ObjectDesc::from_buffer(
            data.clone(),
            "application/octet-stream",
            format!("file:///{name}"),
            true,
            transfer,
        )
        .unwrap();
        sender.add_object(priority, obj).unwrap();
        expected.insert(name, data);
    }
    let link = LinkConfig {
        loss: 0.15,
        duplicate: 0.1,
        reorder_window: 32,
        seed: 2024,
    };
    let got = run(sender, link, expected.len());
    assert_eq!(got.len(), expected.len());
    for (name, data) in &expected {
        let (received, md5) = &got[name];
        assert!(received == data, "{name} differs");
        assert_eq!(md5.as_deref(), Some(content_md5(data).as_str()));
    }
}

#[test]
fn single_transfers_with_every_profile_arrive_over_reordering() {
    for profile in [Profile::Rfc6726, Profile::Rfc3926] {
        for fdt_xml_profile in [FdtXmlProfile::Extended, FdtXmlProfile::Ts26346L6] {
            let config = Config {
                profile,
                fdt_xml_profile,
                fdt_cenc: Cenc::Gzip,
                interleave_blocks: 8,
                ..Config::default()
            };
            let mut sender = Sender::new(endpoint(), 1, no_code(1400, 64), config).unwrap();
            let data = content(500_000, 77);
            let obj = ObjectDesc::from_buffer(
                data.clone(),
                "application/octet-stream",
                "file:///once.bin",
                true,
                TransferConfig::default(),
            )
            .unwrap();
            sender.add_object(0, obj).unwrap();
            let link = LinkConfig {
                loss: 0.0,
                duplicate: 0.3,
                reorder_window: 64,
                seed: 5,
            };
            let got = run(sender, link, 1);
            assert!(got["once.bin"].0 == data, "{profile:?} {fdt_xml_profile:?}");
        }
    }
}
