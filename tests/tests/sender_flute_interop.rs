//! xflute's `Sender` → flute 1.11.7's `MultiReceiver`, in memory: one and many objects, every
//! content encoding, priority queues, block interleaving, carousels, FLUTE v1 and v2, both FDT
//! XML profiles, MD5, buffer / memory-mapped file / stream sources, and links that reorder,
//! duplicate and lose packets. Every object must arrive byte-exact with its metadata.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use flute::core::UDPEndpoint as FluteEndpoint;
use flute::receiver::writer::ObjectWriterBufferBuilder;
use flute::receiver::{Config as FluteReceiverConfig, MultiReceiver};
use xflute::cenc::Cenc;
use xflute::endpoint::UdpEndpoint;
use xflute::io::mmap::MappedFile;
use xflute::sender::{
    CarouselRepeatMode, Config, FdtPublishMode, FdtXmlProfile, ObjectDesc, PriorityQueue, Profile,
    Sender, TargetAcquisition, TransferConfig, content_md5,
};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};
use xflute_tests::link::{Link, LinkConfig};

/// flute's `Oti::new_no_code(e, b)`.
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

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

/// Deterministic content; `compressible` is text that compresses well.
fn content(len: usize, seed: u64, compressible: bool) -> Vec<u8> {
    if compressible {
        xflute_tests::data::text(len, seed)
    } else {
        xflute_tests::data::content(len, seed)
    }
}

/// What one object must look like at the receiver.
struct Expected {
    location: String,
    content: Vec<u8>,
    content_type: String,
    md5: bool,
    cenc: Cenc,
}

struct Session {
    sender: Sender,
    expected: Vec<Expected>,
}

impl Session {
    fn new(config: Config, oti: Oti) -> Self {
        let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), 3400);
        Self {
            sender: Sender::new(endpoint, 1, oti, config).unwrap(),
            expected: Vec::new(),
        }
    }

    fn add(&mut self, priority: u32, name: &str, data: Vec<u8>, md5: bool, config: TransferConfig) {
        let location = format!("file:///{name}");
        let content_type = format!("application/x-{}", name.replace('/', "-"));
        let cenc = config.cenc;
        let obj = ObjectDesc::from_buffer(
            data.clone(),
            content_type.clone(),
            location.clone(),
            md5,
            config,
        )
        .unwrap();
        self.add_desc(priority, obj, data, md5, cenc);
    }

    fn add_desc(&mut self, priority: u32, obj: ObjectDesc, data: Vec<u8>, md5: bool, cenc: Cenc) {
        let expected = Expected {
            location: obj.content_location.clone(),
            content_type: obj.content_type.clone(),
            content: data,
            md5,
            cenc,
        };
        self.sender.add_object(priority, obj).unwrap();
        self.expected.push(expected);
    }

    /// Runs the session over `link` into flute's receiver, 1 ms per step, until every object
    /// is complete; returns the receiver's objects by Content-Location, and the packets sent.
    fn run(mut self, link: LinkConfig) -> (Rc<ObjectWriterBufferBuilder>, Vec<Expected>, u64) {
        let writer = Rc::new(ObjectWriterBufferBuilder::new(true));
        let config = FluteReceiverConfig {
            object_timeout: Some(Duration::from_secs(3600)),
            ..FluteReceiverConfig::default()
        };
        let mut receiver = MultiReceiver::new(writer.clone(), Some(config), false);
        let endpoint = FluteEndpoint::new(None, "224.0.0.1".to_owned(), 3400);
        let mut link = Link::new(link);
        let mut buf = vec![0u8; self.sender.max_packet_len()];
        let mut sent = 0u64;
        let mut errors = Vec::new();
        let nb_expected = self.expected.len();
        let complete = |w: &ObjectWriterBufferBuilder| {
            w.objects
                .borrow()
                .iter()
                .filter(|o| o.borrow().complete)
                .count()
                >= nb_expected
        };
        for step in 0..200_000u64 {
            let now = t0() + Duration::from_millis(step);
            while let Some(len) = self.sender.write_next(&mut buf, now) {
                sent += 1;
                for pkt in link.send(&buf[..len]) {
                    if let Err(e) = receiver.push(&endpoint, &pkt, now) {
                        errors.push(format!("{e:?}"));
                    }
                }
            }
            if complete(&writer) {
                break;
            }
            if self.sender.nb_objects() == 0 {
                // Nothing left to send: let the reorder window drain.
                for pkt in link.flush() {
                    if let Err(e) = receiver.push(&endpoint, &pkt, now) {
                        errors.push(format!("{e:?}"));
                    }
                }
                if complete(&writer) {
                    break;
                }
            }
        }
        // The session ends with a Close Session packet, which flute takes.
        let close = self.sender.read_close_session();
        if let Err(e) = receiver.push(&endpoint, &close, t0()) {
            errors.push(format!("{e:?}"));
        }
        assert!(errors.is_empty(), "flute refused packets: {errors:?}");
        (writer, self.expected, sent)
    }
}

/// Checks that every expected object arrived complete, byte-exact, with its metadata.
fn check(writer: &ObjectWriterBufferBuilder, expected: &[Expected]) {
    let objects = writer.objects.borrow();
    let by_location: BTreeMap<String, _> = objects
        .iter()
        .filter(|o| o.borrow().complete)
        .map(|o| (o.borrow().meta.content_location.clone(), o.clone()))
        .collect();
    for e in expected {
        let obj = by_location
            .get(&e.location)
            .unwrap_or_else(|| panic!("{} not received; got {:?}", e.location, by_location.keys()));
        let obj = obj.borrow();
        assert!(!obj.error, "{} in error", e.location);
        assert!(obj.data == e.content, "{} differs", e.location);
        assert_eq!(
            obj.meta.content_type.as_deref(),
            Some(e.content_type.as_str())
        );
        assert_eq!(obj.meta.content_length, Some(e.content.len()));
        let md5 = e.md5.then(|| content_md5(&e.content));
        assert_eq!(obj.meta.md5, md5, "{}", e.location);
        let cenc = obj.meta.cenc.map(|c| c as u8).unwrap_or(0);
        assert_eq!(cenc, e.cenc.code(), "{}", e.location);
    }
    assert!(
        objects.iter().all(|o| !o.borrow().error),
        "an object failed"
    );
}

fn run_and_check(session: Session, link: LinkConfig) -> u64 {
    let (writer, expected, sent) = session.run(link);
    check(&writer, &expected);
    sent
}

/// flute's receiver fails an object as soon as a packet with Close Object (B) arrives before the
/// object is complete, so on a link that reorders, an object whose last packet (the one with B)
/// overtakes others is lost to flute, whoever sent it. Objects sent over such links are therefore
/// sent twice: the first transfer carries no B, and completes the object before the second
/// transfer's B arrives.
fn sent_twice(config: TransferConfig) -> TransferConfig {
    TransferConfig {
        max_transfer_count: config.max_transfer_count.max(2),
        ..config
    }
}

fn reorder_and_duplicate(seed: u64) -> LinkConfig {
    LinkConfig {
        loss: 0.0,
        duplicate: 0.2,
        reorder_window: 16,
        seed,
    }
}

#[test]
fn one_object_arrives_byte_exact_with_md5_and_metadata() {
    let mut s = Session::new(Config::default(), no_code(1400, 64));
    s.add(
        0,
        "one.bin",
        content(200_000, 1, false),
        true,
        TransferConfig::default(),
    );
    run_and_check(s, LinkConfig::default());
}

#[test]
fn empty_and_one_byte_objects_arrive() {
    let mut s = Session::new(Config::default(), no_code(1400, 64));
    s.add(0, "empty.bin", Vec::new(), true, TransferConfig::default());
    s.add(0, "one-byte.bin", vec![42], true, TransferConfig::default());
    s.add(
        0,
        "exact.bin",
        content(1400 * 64, 3, false),
        false,
        TransferConfig::default(),
    );
    run_and_check(s, LinkConfig::default());
}

#[test]
fn many_objects_arrive_with_every_content_encoding_in_band_or_not() {
    let mut s = Session::new(Config::default(), no_code(1400, 64));
    let mut n = 0;
    for cenc in Cenc::ALL {
        for inband_cenc in [false, true] {
            for (len, compressible) in [(3000, true), (150_000, true), (70_000, false)] {
                n += 1;
                let config = sent_twice(TransferConfig {
                    cenc,
                    inband_cenc,
                    ..TransferConfig::default()
                });
                let name = format!("cenc-{}-{inband_cenc}-{len}.bin", cenc.as_str());
                s.add(0, &name, content(len, n, compressible), n % 2 == 0, config);
            }
        }
    }
    run_and_check(s, reorder_and_duplicate(7));
}

#[test]
fn priority_queues_with_multiplexing_deliver_every_object() {
    let mut config = Config::default();
    config.set_priority_queue(PriorityQueue::HIGHEST, PriorityQueue::new(1));
    config.set_priority_queue(PriorityQueue::MEDIUM, PriorityQueue::new(3));
    config.set_priority_queue(PriorityQueue::VERYLOW, PriorityQueue::new(2));
    let mut s = Session::new(config, no_code(1024, 16));
    for (i, priority) in [
        PriorityQueue::VERYLOW,
        PriorityQueue::MEDIUM,
        PriorityQueue::HIGHEST,
        PriorityQueue::MEDIUM,
        PriorityQueue::VERYLOW,
        PriorityQueue::MEDIUM,
        PriorityQueue::HIGHEST,
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("prio{priority}-{i}.bin");
        s.add(
            priority,
            &name,
            content(40_000 + i * 777, i as u64, false),
            true,
            sent_twice(TransferConfig::default()),
        );
    }
    run_and_check(s, reorder_and_duplicate(11));
}

#[test]
fn interleaved_blocks_arrive_for_every_window() {
    for interleave_blocks in [1, 2, 4, 16] {
        let config = Config {
            interleave_blocks,
            // Without per-File OTI the FDT fits in two 500-byte symbols, and the reordering
            // of this link never lets small.bin's Close Object packet overtake it (flute fails
            // an object whose B packet arrives before the FDT that completes it).
            fdt_oti_placement: xflute::sender::OtiPlacement::AsGiven,
            ..Config::default()
        };
        let mut s = Session::new(config, no_code(500, 8));
        s.add(
            0,
            "interleaved.bin",
            content(123_457, 5, false),
            true,
            sent_twice(TransferConfig::default()),
        );
        s.add(
            0,
            "small.bin",
            content(1_000, 6, false),
            true,
            sent_twice(TransferConfig::default()),
        );
        run_and_check(s, reorder_and_duplicate(u64::from(interleave_blocks)));
    }
}

#[test]
fn flute_v1_and_v2_with_both_fdt_profiles_and_every_fdt_encoding() {
    for profile in [Profile::Rfc6726, Profile::Rfc3926] {
        for fdt_xml_profile in [FdtXmlProfile::Extended, FdtXmlProfile::Ts26346L6] {
            for fdt_cenc in Cenc::ALL {
                let config = Config {
                    profile,
                    fdt_xml_profile,
                    fdt_cenc,
                    ..Config::default()
                };
                let mut s = Session::new(config, no_code(1400, 64));
                s.add(
                    0,
                    "a/b.txt",
                    content(50_000, 9, true),
                    true,
                    TransferConfig::default(),
                );
                s.add(
                    0,
                    "c.bin",
                    content(10_000, 10, false),
                    false,
                    TransferConfig::default(),
                );
                run_and_check(s, LinkConfig::default());
            }
        }
    }
}

#[test]
fn carousel_repeats_cover_packets_lost_in_the_first_transfer() {
    let config = Config {
        fdt_carousel_mode: CarouselRepeatMode::IntervalBetweenStartTimes(Duration::from_millis(20)),
        ..Config::default()
    };
    let mut s = Session::new(config, no_code(1400, 64));
    for (i, mode) in [
        CarouselRepeatMode::DelayBetweenTransfers(Duration::from_millis(10)),
        CarouselRepeatMode::IntervalBetweenStartTimes(Duration::from_millis(50)),
    ]
    .into_iter()
    .enumerate()
    {
        let config = TransferConfig {
            carousel_mode: Some(mode),
            ..TransferConfig::default()
        };
        s.add(
            0,
            &format!("carousel{i}.bin"),
            content(300_000, 20 + i as u64, false),
            true,
            config,
        );
    }
    let lossy = LinkConfig {
        loss: 0.1,
        duplicate: 0.05,
        reorder_window: 4,
        seed: 99,
    };
    run_and_check(s, lossy);
}

#[test]
fn max_transfer_count_and_target_acquisition_deliver_the_object() {
    let mut s = Session::new(Config::default(), no_code(1400, 64));
    let repeated = TransferConfig {
        max_transfer_count: 3,
        ..TransferConfig::default()
    };
    s.add(0, "thrice.bin", content(20_000, 30, false), true, repeated);
    let paced = TransferConfig {
        target_acquisition: TargetAcquisition::WithinDuration(Duration::from_millis(200)),
        transfer_start_time: Some(t0() + Duration::from_millis(50)),
        ..TransferConfig::default()
    };
    s.add(0, "paced.bin", content(100_000, 31, false), true, paced);
    let sent = run_and_check(s, LinkConfig::default());
    assert!(sent > 3 * 15);
}

#[test]
fn objects_being_transferred_mode_and_in_band_fti_off_interoperate() {
    for inband_fti in [true, false] {
        let config = Config {
            fdt_publish_mode: FdtPublishMode::ObjectsBeingTransferred,
            inband_fti,
            ..Config::default()
        };
        let mut s = Session::new(config, no_code(1400, 64));
        for i in 0..4u64 {
            s.add(
                0,
                &format!("obt{i}.bin"),
                content(30_000, 40 + i, false),
                true,
                sent_twice(TransferConfig::default()),
            );
        }
        // flute's receiver forgets a completed object once the current FDT Instance stops
        // listing it, which in this mode is as soon as another object starts: each transfer is
        // then a new reception, which a B overtaking packets would fail (see `sent_twice`).
        // This link duplicates but keeps the order.
        let duplicate = LinkConfig {
            duplicate: 0.2,
            seed: 40,
            ..LinkConfig::default()
        };
        run_and_check(s, duplicate);
    }
}

#[test]
fn toi_widths_interoperate() {
    for (width, start) in [
        (xflute::sender::ToiMaxLength::ToiMax16, 0xFFFE),
        (xflute::sender::ToiMaxLength::ToiMax48, 1 << 40),
        (xflute::sender::ToiMaxLength::ToiMax112, 1 << 100),
    ] {
        let config = Config {
            toi_max_length: width,
            toi_initial_value: start,
            ..Config::default()
        };
        let mut s = Session::new(config, no_code(1400, 64));
        for i in 0..3u64 {
            s.add(
                0,
                &format!("toi{i}.bin"),
                content(5_000, 50 + i, false),
                false,
                TransferConfig::default(),
            );
        }
        run_and_check(s, LinkConfig::default());
    }
}

#[test]
fn mapped_file_and_stream_sources_arrive_byte_exact() {
    let dir = xflute_tests::TempDir::new("sender-interop");
    let path = dir.path().join("mapped.bin");
    let data = content(333_333, 60, false);
    std::fs::write(&path, &data).unwrap();

    let mut s = Session::new(Config::default(), no_code(1400, 64));
    let mapped = Arc::new(MappedFile::open(&path).unwrap());
    let obj = ObjectDesc::from_bytes(
        mapped,
        "application/x-mapped",
        "file:///mapped.bin",
        true,
        sent_twice(TransferConfig::default()),
    )
    .unwrap();
    s.add_desc(0, obj, data.clone(), true, Cenc::Null);

    let stream_data = content(222_222, 61, false);
    let obj = ObjectDesc::from_stream(
        Box::new(std::io::Cursor::new(stream_data.clone())),
        "application/x-stream",
        "file:///stream.bin",
        true,
        TransferConfig {
            max_transfer_count: 2,
            ..TransferConfig::default()
        },
    )
    .unwrap();
    s.add_desc(0, obj, stream_data, true, Cenc::Null);

    let file = std::fs::File::open(&path).unwrap();
    let gz = sent_twice(TransferConfig {
        cenc: Cenc::Gzip,
        ..TransferConfig::default()
    });
    let obj = ObjectDesc::from_stream(
        Box::new(file),
        "application/x-stream-gz",
        "file:///stream.gz.bin",
        true,
        gz,
    )
    .unwrap();
    s.add_desc(0, obj, data, true, Cenc::Gzip);

    run_and_check(s, reorder_and_duplicate(60));
}
