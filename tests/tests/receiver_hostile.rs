//! Hostile input to the receiver: FDT names that try to leave the output directory, a symlink
//! planted in it, lengths far beyond the limits, a flood of distinct TOIs, decompression bombs,
//! tampered and garbage packets. Nothing may land outside the output directory, memory stays
//! bounded, every refusal is a typed, counted drop, and nothing panics.

mod receiver_support;

use std::time::SystemTime;

use proptest::prelude::*;
use receiver_support::craft::{self, file, later};
use receiver_support::*;
use xflute::io::file_sink::FileSink;
use xflute::receiver::{
    Config, DropReason, FailReason, Limits, MemorySink, MultiReceiver, ObjectEvent,
};
use xflute_tests::TempDir;

fn push_all<S: xflute::receiver::ObjectSink>(
    receiver: &mut MultiReceiver<S>,
    packets: &[Vec<u8>],
    now: SystemTime,
) -> usize {
    let ep = endpoint();
    packets
        .iter()
        .filter(|p| receiver.push(&ep, p, now).is_err())
        .count()
}

fn failures<S: xflute::receiver::ObjectSink>(r: &mut MultiReceiver<S>) -> Vec<FailReason> {
    events(r)
        .into_iter()
        .filter_map(|e| match e {
            ObjectEvent::Failed { reason, .. } => Some(reason),
            _ => None,
        })
        .collect()
}

#[test]
fn traversal_content_locations_are_counted_rejections_and_nothing_leaves_the_output_dir() {
    let root = TempDir::new("traversal");
    let out = root.0.join("out");
    let now = SystemTime::now();
    let hostile = [
        "../../x",
        "file:///../x",
        "%2e%2e/x",
        "http://host/a/%2E%2E/%2e%2e/x",
        "a/../../x",
    ];
    let data = content(3000, 1);
    let mut files: Vec<_> = hostile
        .iter()
        .enumerate()
        .map(|(i, loc)| file(i as u128 + 1, loc, data.len() as u64))
        .collect();
    // An absolute path is taken as relative to the output directory.
    files.push(file(10, "/etc/x", data.len() as u64));
    let mut packets = craft::fdt(TSI, 1, files, now, 3600);
    for toi in (1..=hostile.len() as u128).chain([10]) {
        packets.extend(craft::object(TSI, toi, &data, false, None, None));
    }
    let mut receiver = MultiReceiver::new(FileSink::new(&out, 1 << 30).unwrap(), Config::default());
    let errors = push_all(&mut receiver, &packets, now);
    let stats = receiver.stats().clone();
    assert_eq!(stats.paths_rejected, hostile.len() as u64);
    assert_eq!(stats.drops(DropReason::BadPath), 3 * hostile.len() as u64);
    assert_eq!(errors as u64, stats.total_drops());
    assert_eq!(stats.objects_completed, 1);
    assert_eq!(files_below(&root.0), vec!["out/etc/x".to_owned()]);
    assert_eq!(std::fs::read(out.join("etc/x")).unwrap(), data);
}

#[test]
fn a_symlink_in_the_output_dir_is_not_followed() {
    let root = TempDir::new("symlink");
    let out = root.0.join("out");
    let outside = root.0.join("outside");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("link")).unwrap();
    let now = SystemTime::now();
    let data = content(2500, 2);
    let mut packets = craft::fdt(
        TSI,
        1,
        vec![file(1, "link/pwned", data.len() as u64)],
        now,
        3600,
    );
    packets.extend(craft::object(TSI, 1, &data, false, None, None));
    let mut receiver = MultiReceiver::new(FileSink::new(&out, 1 << 30).unwrap(), Config::default());
    push_all(&mut receiver, &packets, now);
    assert!(matches!(failures(&mut receiver)[..], [FailReason::Sink(_)]));
    // Later packets of the refused object are dropped without touching the file system again.
    assert_eq!(receiver.stats().drops(DropReason::ObjectFailed), 2);
    assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
    assert_eq!(receiver.receiving_bytes(), 0);
}

#[test]
fn transfer_lengths_beyond_the_limit_are_dropped_without_allocating() {
    let now = SystemTime::now();
    let huge = 1u64 << 47;
    let mut packets = craft::fdt(TSI, 1, vec![file(1, "huge.bin", huge)], now, 3600);
    packets.push(craft::packet(
        TSI, 1, 0, 0, &[0; 1000], None, None, None, false,
    ));
    // And one known only by its EXT_FTI.
    packets.push(craft::packet(
        TSI,
        2,
        0,
        0,
        &[0; 1000],
        Some(craft::oti(huge)),
        None,
        None,
        false,
    ));
    let config = Config {
        receive_without_fdt: true,
        ..Config::default()
    };
    let mut receiver = MultiReceiver::new(MemorySink::new(u64::MAX), config);
    push_all(&mut receiver, &packets, now);
    assert_eq!(receiver.stats().drops(DropReason::ObjectTooLarge), 2);
    assert_eq!(receiver.receiving_bytes(), 0);
    assert_eq!(receiver.nb_objects(), 0);
}

#[test]
fn a_million_distinct_tois_keep_memory_bounded_and_are_counted() {
    let now = SystemTime::now();
    let limits = Limits {
        max_unannounced_objects_per_session: 50,
        max_pending_bytes: 64 << 10,
        max_receiving_bytes: 20 << 10,
        ..Limits::default()
    };
    for receive_without_fdt in [false, true] {
        let config = Config {
            receive_without_fdt,
            limits,
            ..Config::default()
        };
        let mut receiver = MultiReceiver::new(MemorySink::new(1 << 30), config);
        let ep = endpoint();
        let mut errors = 0u64;
        // Each object started costs a sink region and its bookkeeping, each held TOI a copy:
        // a tenth of the flood shows the same with objects.
        let nb_tois: u128 = if receive_without_fdt {
            100_000
        } else {
            1_000_000
        };
        for toi in 1..=nb_tois {
            // Each TOI claims a 2 kB object and sends its first symbol, a microsecond apart.
            let p = craft::packet(
                TSI,
                toi,
                0,
                0,
                &[7; 1000],
                Some(craft::oti(2_000)),
                None,
                None,
                false,
            );
            let at = now + std::time::Duration::from_micros(toi as u64);
            if receiver.push(&ep, &p, at).is_err() {
                errors += 1;
            }
            assert!(receiver.held_bytes() <= limits.max_pending_bytes);
            assert!(receiver.receiving_bytes() <= limits.max_receiving_bytes);
            assert!(receiver.nb_objects() <= limits.max_unannounced_objects_per_session);
        }
        let stats = receiver.stats().clone();
        // Every packet was taken (the idlest TOIs make room for the new ones), and every TOI
        // let go is counted.
        assert_eq!(
            stats.unannounced_evicted as u128,
            nb_tois - if receive_without_fdt { 10 } else { 50 },
            "{stats:?}"
        );
        assert_eq!(errors, 0);
        if receive_without_fdt {
            // 20 KiB of budget holds 10 objects of 2 kB: each new one evicts the idlest.
            assert_eq!(receiver.nb_objects(), 10);
            assert_eq!(stats.objects_started as u128, nb_tois);
            assert_eq!(stats.total_drops(), 0);
        } else {
            // 64 KiB hold 64 packets of ~1 kB: at most 50 TOIs.
            assert_eq!(receiver.nb_objects(), 0);
            assert_eq!(stats.total_drops(), stats.drops(DropReason::PendingEvicted));
            assert_eq!(stats.held - stats.drops(DropReason::PendingEvicted), 50);
        }
        // Everything is forgotten once it times out.
        receiver.cleanup(later(now, 60));
        assert_eq!((receiver.held_bytes(), receiver.nb_objects()), (0, 0));
        assert_eq!(receiver.receiving_bytes(), 0);
    }
}

#[test]
fn sessions_beyond_the_limit_evict_the_idlest() {
    let now = SystemTime::now();
    let config = Config {
        limits: Limits {
            max_sessions: 4,
            ..Limits::default()
        },
        ..Config::default()
    };
    let mut receiver = MultiReceiver::new(MemorySink::new(1 << 20), config);
    let ep = endpoint();
    for tsi in 0..10 {
        let p = craft::packet(tsi, 1, 0, 0, &[0; 10], None, None, None, false);
        let at = now + std::time::Duration::from_millis(tsi);
        receiver.push(&ep, &p, at).unwrap();
        // Session 0 keeps sending: it is never the idlest.
        let p = craft::packet(0, 1, 0, 0, &[0; 10], None, None, None, false);
        receiver.push(&ep, &p, at).unwrap();
    }
    assert_eq!(receiver.nb_sessions(), 4);
    let stats = receiver.stats();
    assert_eq!(stats.sessions_evicted, 6);
    assert_eq!(stats.drops(DropReason::SessionLimit), 0);
    let mut left: Vec<u64> = receiver.sessions().map(|s| s.tsi).collect();
    left.sort();
    assert_eq!(left, [0, 7, 8, 9]);
}

#[test]
fn a_decompression_bomb_fails_at_the_content_length_cap() {
    let now = SystemTime::now();
    let bomb = xflute::cenc::encode(xflute::cenc::Cenc::Gzip, &vec![0u8; 64 << 20]).unwrap();
    let mut f = file(1, "bomb.txt", bomb.len() as u64);
    f.content_length = Some(1000);
    f.content_encoding = Some("gzip".into());
    let mut packets = craft::fdt(TSI, 1, vec![f], now, 3600);
    packets.extend(craft::object(TSI, 1, &bomb, false, None, None));
    let mut receiver = memory_receiver();
    push_all(&mut receiver, &packets, now);
    assert!(matches!(
        failures(&mut receiver)[..],
        [FailReason::ContentDecoding(
            xflute::cenc::CencError::TooLarge { cap: 1000 }
        )]
    ));
    assert!(receiver.sink_mut().take_completed().is_empty());
}

#[test]
fn oversized_fdt_instances_are_refused() {
    let now = SystemTime::now();
    let config = Config {
        limits: Limits {
            max_fdt_bytes: 4000,
            max_fdt_files: 5,
            ..Limits::default()
        },
        ..Config::default()
    };
    let files = (1..=100).map(|t| file(t, &format!("f{t}"), 10)).collect();
    let big = craft::fdt(TSI, 1, files, now, 3600);
    let files = (1..=6).map(|t| file(t, &format!("g{t}"), 10)).collect();
    let many = craft::fdt(TSI, 2, files, now, 3600);
    assert!(big.len() > 4 && many.len() < 4);
    let mut receiver = MultiReceiver::new(MemorySink::new(1 << 20), config);
    push_all(&mut receiver, &big, now);
    push_all(&mut receiver, &many, now);
    let stats = receiver.stats();
    assert_eq!(stats.drops(DropReason::FdtTooLarge), big.len() as u64);
    assert_eq!(stats.drops(DropReason::FdtTooManyFiles), 1);
    assert_eq!(stats.fdt_instances, 0);
}

#[test]
fn file_descriptions_from_many_fdt_instances_stay_within_their_budget() {
    let now = SystemTime::now();
    let cap = 100_000;
    let config = Config {
        limits: Limits {
            max_description_bytes: cap,
            ..Limits::default()
        },
        ..Config::default()
    };
    let mut receiver = MultiReceiver::new(MemorySink::new(1 << 20), config);
    let long = "d/".repeat(100);
    for id in 1..=50u32 {
        let files = (0..20u128)
            .map(|i| {
                let toi = u128::from(id) * 100 + i;
                file(toi, &format!("{long}{toi}"), 10)
            })
            .collect();
        push_all(&mut receiver, &craft::fdt(TSI, id, files, now, 3600), now);
        assert!(receiver.description_bytes() <= cap);
    }
    let stats = receiver.stats();
    assert_eq!(stats.fdt_instances, 50);
    assert!(stats.drops(DropReason::DescriptionBytesLimit) > 500);
    assert!(receiver.description_bytes() > cap / 2);
    // Expired instances give their budget back.
    receiver.cleanup(later(now, 3601));
    assert_eq!(receiver.description_bytes(), 0);
}

#[test]
fn a_tampered_symbol_fails_the_md5_check_and_leaves_no_file() {
    let root = TempDir::new("md5");
    let data = content(40_000, 3);
    let oti = flute::core::Oti::new_no_code(1400, 64);
    let mut packets = flute_session(
        &oti,
        &sender_config(),
        vec![(
            0,
            object("tampered.bin", data, flute::core::lct::Cenc::Null, true, 1),
        )],
        SystemTime::now(),
    );
    let last = packets.len() - 1;
    let n = packets[last - 3].len();
    packets[last - 3][n - 1] ^= 0xFF;
    let mut receiver =
        MultiReceiver::new(FileSink::new(&root.0, 1 << 30).unwrap(), Config::default());
    deliver(
        &mut receiver,
        &packets,
        xflute_tests::link::LinkConfig::default(),
        SystemTime::now(),
    );
    assert_eq!(failures(&mut receiver), vec![FailReason::Md5Mismatch]);
    assert!(files_below(&root.0).is_empty());
}

fn valid_packets() -> Vec<Vec<u8>> {
    let now = SystemTime::now();
    let mut packets = craft::fdt(TSI, 1, vec![file(1, "a", 2500)], now, 3600);
    packets.extend(craft::object(
        TSI,
        1,
        &content(2500, 9),
        true,
        None,
        Some(0),
    ));
    packets
}

proptest! {
    #[test]
    fn garbage_and_truncated_packets_are_counted_drops_never_panics(
        garbage in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 1..40),
        cuts in prop::collection::vec((0usize..5, 0usize..1100, any::<u8>(), 0usize..1100), 1..40),
    ) {
        let valid = valid_packets();
        let mut receiver = memory_receiver();
        let ep = endpoint();
        let now = SystemTime::now();
        let mut errors = 0u64;
        for g in &garbage {
            errors += u64::from(receiver.push(&ep, g, now).is_err());
        }
        for (which, cut, flip, at) in cuts {
            let mut p = valid[which % valid.len()].clone();
            if at < p.len() {
                p[at] ^= flip;
            }
            p.truncate(cut);
            errors += u64::from(receiver.push(&ep, &p, now).is_err());
        }
        // Every refused push is counted; held packets refused when replayed are counted too, and
        // so are File entries left out of an applied FDT instance.
        let stats = receiver.stats();
        prop_assert!(stats.total_drops() >= errors);
        prop_assert!(
            stats.total_drops()
                <= errors + stats.held + stats.drops(DropReason::FdtFileInvalid)
        );
        receiver.cleanup(later(now, 3600));
        prop_assert_eq!(receiver.receiving_bytes(), 0);
    }
}
