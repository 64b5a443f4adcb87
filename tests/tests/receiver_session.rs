//! Session behaviour of the receiver, with hand-built packets: receive-once until the FDT
//! changes the file, FDT expiry, close-session, session timeout, the TSI filter and endpoint
//! demultiplexing, objects described by EXT_FTI alone, progress events.

mod receiver_support;

use std::time::{Duration, SystemTime};

use receiver_support::craft::{self, file, later};
use receiver_support::*;
use xflute::endpoint::UdpEndpoint;
use xflute::receiver::{Config, DropReason, FailReason, MemorySink, MultiReceiver, ObjectEvent};

fn push_all(receiver: &mut MultiReceiver<MemorySink>, packets: &[Vec<u8>], now: SystemTime) {
    let ep = endpoint();
    for p in packets {
        let _ = receiver.push(&ep, p, now);
    }
}

fn completed(receiver: &mut MultiReceiver<MemorySink>) -> Vec<(u128, Vec<u8>)> {
    receiver
        .sink_mut()
        .take_completed()
        .into_iter()
        .map(|o| (o.desc.toi, o.data.into_vec()))
        .collect()
}

/// The Content-MD5 flute computes for `data`.
fn md5_of(data: &[u8]) -> String {
    object("x", data.to_vec(), flute::core::lct::Cenc::Null, true, 1)
        .md5
        .clone()
        .unwrap()
}

#[test]
fn a_completed_toi_is_received_once_until_a_new_fdt_changes_its_file() {
    let now = SystemTime::now();
    let v1 = content(5000, 1);
    let v2 = content(6000, 2);
    let mut f1 = file(7, "doc.bin", v1.len() as u64);
    f1.content_md5 = Some(md5_of(&v1));
    let mut receiver = memory_receiver();
    push_all(
        &mut receiver,
        &craft::fdt(TSI, 1, vec![f1.clone()], now, 3600),
        now,
    );
    push_all(
        &mut receiver,
        &craft::object(TSI, 7, &v1, false, None, None),
        now,
    );
    assert_eq!(completed(&mut receiver), vec![(7, v1.clone())]);
    // The same object again, and the same FDT under a new instance ID: a carousel repeat.
    push_all(&mut receiver, &craft::fdt(TSI, 2, vec![f1], now, 3600), now);
    push_all(
        &mut receiver,
        &craft::object(TSI, 7, &v1, false, None, None),
        now,
    );
    assert!(completed(&mut receiver).is_empty());
    assert_eq!(receiver.stats().already_received, 5);
    // A new FDT gives TOI 7 new content (length and MD5): a new object.
    let mut f2 = file(7, "doc.bin", v2.len() as u64);
    f2.content_md5 = Some(md5_of(&v2));
    push_all(&mut receiver, &craft::fdt(TSI, 3, vec![f2], now, 3600), now);
    push_all(
        &mut receiver,
        &craft::object(TSI, 7, &v2, false, None, None),
        now,
    );
    assert_eq!(completed(&mut receiver), vec![(7, v2)]);
    assert_eq!(receiver.stats().objects_completed, 2);
}

#[test]
fn announced_objects_are_listed_until_their_fdt_expires() {
    let now = SystemTime::now();
    let mut receiver = memory_receiver();
    let files = vec![file(3, "a.bin", 10), file(4, "b/c.bin", 20)];
    push_all(&mut receiver, &craft::fdt(TSI, 1, files, now, 60), now);
    let mut announced: Vec<(u64, u128, String)> = receiver
        .announced()
        .map(|(s, toi, loc)| (s.tsi, toi, loc.to_owned()))
        .collect();
    announced.sort();
    assert_eq!(
        announced,
        vec![(TSI, 3, "a.bin".to_owned()), (TSI, 4, "b/c.bin".to_owned())]
    );
    receiver.cleanup(later(now, 61));
    assert_eq!(receiver.announced().count(), 0);
}

#[test]
fn an_fdt_received_after_it_expired_is_refused() {
    let now = SystemTime::now();
    let data = content(3000, 3);
    let mut receiver = memory_receiver();
    let fdt = craft::fdt(TSI, 1, vec![file(1, "old.bin", 3000)], now, -10);
    push_all(&mut receiver, &fdt, now);
    push_all(
        &mut receiver,
        &craft::object(TSI, 1, &data, false, None, None),
        now,
    );
    assert_eq!(receiver.stats().drops(DropReason::FdtExpired), 1);
    assert!(completed(&mut receiver).is_empty());
    assert!(receiver.held_bytes() > 0);
}

#[test]
fn when_its_fdt_expires_a_description_is_forgotten_and_receive_once_ends() {
    let now = SystemTime::now();
    let data = content(3000, 4);
    let mut receiver = memory_receiver();
    push_all(
        &mut receiver,
        &craft::fdt(TSI, 1, vec![file(1, "a.bin", 3000)], now, 30),
        now,
    );
    push_all(
        &mut receiver,
        &craft::object(TSI, 1, &data, false, None, None),
        now,
    );
    assert_eq!(completed(&mut receiver).len(), 1);
    let after = later(now, 31);
    receiver.cleanup(after);
    // No live description: the packets wait for a new FDT.
    push_all(
        &mut receiver,
        &craft::object(TSI, 1, &data, false, None, None),
        after,
    );
    assert!(completed(&mut receiver).is_empty());
    assert!(receiver.held_bytes() > 0);
    // The same file under a new instance: received again, from the held packets.
    push_all(
        &mut receiver,
        &craft::fdt(TSI, 1, vec![file(1, "a.bin", 3000)], after, 30),
        after,
    );
    assert_eq!(completed(&mut receiver), vec![(1, data)]);
    assert_eq!(receiver.held_bytes(), 0);
}

#[test]
fn close_session_fails_unfinished_objects_after_the_grace_and_drops_the_session() {
    let now = SystemTime::now();
    let data = content(5000, 5);
    let mut receiver = memory_receiver();
    push_all(
        &mut receiver,
        &craft::fdt(TSI, 1, vec![file(1, "a.bin", 5000)], now, 3600),
        now,
    );
    let mut packets = craft::object(TSI, 1, &data, false, None, None);
    packets.pop();
    push_all(&mut receiver, &packets, now);
    // A data-less close-session packet (LCT A flag).
    let mut close = craft::packet(TSI, 1, 0, 0, &[], None, None, None, false);
    close.truncate(xflute::wire::AlcPacket::parse(&close).unwrap().header_len());
    close[1] |= 0x02;
    receiver.push(&endpoint(), &close, now).unwrap();
    receiver.cleanup(now + Duration::from_millis(100));
    assert_eq!(receiver.nb_sessions(), 1);
    receiver.cleanup(now + Duration::from_secs(1));
    assert_eq!(receiver.nb_sessions(), 0);
    let failed: Vec<_> = events(&mut receiver)
        .into_iter()
        .filter_map(|e| match e {
            ObjectEvent::Failed { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![FailReason::SessionClosed]);
    assert_eq!(receiver.stats().sessions_closed, 1);
}

#[test]
fn an_idle_session_times_out() {
    let now = SystemTime::now();
    let mut receiver = memory_receiver();
    push_all(
        &mut receiver,
        &craft::fdt(TSI, 1, vec![file(1, "a.bin", 5000)], now, 3600),
        now,
    );
    receiver.cleanup(later(now, 299));
    assert_eq!(receiver.nb_sessions(), 1);
    receiver.cleanup(later(now, 300));
    assert_eq!(receiver.nb_sessions(), 0);
}

#[test]
fn sessions_are_told_apart_by_endpoint_and_tsi_and_filtered() {
    let now = SystemTime::now();
    let other = UdpEndpoint::new("224.0.0.2".parse().unwrap(), 3400);
    let config = Config {
        receive_without_fdt: true,
        ..Config::default()
    };
    let mut receiver = MultiReceiver::new(MemorySink::new(1 << 20), config);
    receiver.set_tsi_filtering(true);
    receiver.add_listen_tsi(endpoint(), 5);
    receiver.add_listen_all_tsi(other);
    let a = content(1500, 6);
    let b = content(1500, 7);
    for (ep, tsi, data) in [
        (endpoint(), 5, &a),
        (endpoint(), 6, &b),
        (other, 5, &b),
        (other, 9, &a),
    ] {
        for p in craft::object(tsi, 1, data, true, None, None) {
            receiver.push(&ep, &p, now).unwrap();
        }
    }
    assert_eq!(receiver.nb_sessions(), 3);
    assert_eq!(receiver.stats().filtered, 2);
    let mut got: Vec<_> = events(&mut receiver)
        .into_iter()
        .filter_map(|e| match e {
            ObjectEvent::Completed { session, .. } => Some((session.endpoint, session.tsi)),
            _ => None,
        })
        .collect();
    got.sort();
    let mut want = vec![(endpoint(), 5), (other, 5), (other, 9)];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn objects_known_by_ext_fti_alone_are_received_only_when_allowed() {
    let now = SystemTime::now();
    let data = content(4321, 8);
    let packets = craft::object(TSI, 3, &data, true, None, None);
    let mut strict = memory_receiver();
    push_all(&mut strict, &packets, now);
    assert!(completed(&mut strict).is_empty());
    assert_eq!(strict.stats().held, packets.len() as u64);
    let config = Config {
        receive_without_fdt: true,
        ..Config::default()
    };
    let mut lax = MultiReceiver::new(MemorySink::new(1 << 20), config);
    push_all(&mut lax, &packets, now);
    let done = lax.sink_mut().take_completed();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].desc.path, None);
    assert_eq!(done[0].data, data);
}

#[test]
fn progress_events_are_coalesced_between_polls() {
    let now = SystemTime::now();
    let data = content(100_000, 9);
    let mut receiver = memory_receiver();
    push_all(
        &mut receiver,
        &craft::fdt(TSI, 1, vec![file(1, "p.bin", 100_000)], now, 3600),
        now,
    );
    let packets = craft::object(TSI, 1, &data, false, None, None);
    let ep = endpoint();
    let mut progress = Vec::new();
    for p in &packets {
        receiver.push(&ep, p, now).unwrap();
        for e in events(&mut receiver) {
            if let ObjectEvent::Progress {
                received_bytes,
                transfer_length,
                ..
            } = e
            {
                assert_eq!(transfer_length, 100_000);
                progress.push(received_bytes);
            }
        }
    }
    // One per completed block but the last: RFC 5052 cuts 100 symbols into 7 blocks.
    let partition = xflute::fec::BlockPartition::rfc5052(100_000, 1000, 16).unwrap();
    let expected: Vec<u64> = (1..partition.nb_blocks())
        .map(|b| partition.block_offset_bytes(b).unwrap())
        .collect();
    assert_eq!(expected.len(), 6);
    assert_eq!(progress, expected);
    // Without polling, they collapse into one.
    let mut receiver = memory_receiver();
    push_all(
        &mut receiver,
        &craft::fdt(TSI, 1, vec![file(1, "p.bin", 100_000)], now, 3600),
        now,
    );
    push_all(&mut receiver, &packets, now);
    let kinds: Vec<&str> = events(&mut receiver)
        .iter()
        .map(|e| match e {
            ObjectEvent::Started { .. } => "started",
            ObjectEvent::Progress { .. } => "progress",
            ObjectEvent::Completed { .. } => "completed",
            ObjectEvent::Failed { .. } => "failed",
        })
        .collect();
    assert_eq!(kinds, vec!["started", "progress", "completed"]);
}

#[test]
fn progress_is_reported_at_most_once_per_progress_every_of_the_time_given() {
    let start = SystemTime::now();
    let data = content(100_000, 9);
    let packets = craft::object(TSI, 1, &data, false, None, None);
    let config = Config {
        progress_every: Duration::from_secs(1),
        ..Config::default()
    };
    let fdt = craft::fdt(TSI, 1, vec![file(1, "p.bin", 100_000)], start, 3600);
    let ep = endpoint();
    // Progress events of the object received with packets `spacing` apart.
    let reported = |spacing: Duration| {
        let mut receiver = MultiReceiver::new(MemorySink::new(1 << 20), config);
        push_all(&mut receiver, &fdt, start);
        let mut reported = 0;
        for (i, p) in packets.iter().enumerate() {
            receiver.push(&ep, p, start + spacing * i as u32).unwrap();
            reported += events(&mut receiver)
                .iter()
                .filter(|e| matches!(e, ObjectEvent::Progress { .. }))
                .count();
        }
        reported
    };
    // Each packet a quarter of a second after the one before: 100 packets over 25 s, of
    // which 6 complete a block before the last; a block completes every 16 packets (4 s), so
    // each of them is reported.
    assert_eq!(reported(Duration::from_millis(250)), 6);
    // The same packets within one second: the first completed block is reported, no other.
    assert_eq!(reported(Duration::from_millis(1)), 1);
}

#[test]
fn a_sender_restarted_with_the_same_tsi_and_fdt_instance_id_has_its_new_content_received() {
    // flute issue #49: the new sender numbers its FDT instances from the same first ID and
    // its TOIs from 1 again, with other content of the same length.
    let now = SystemTime::now();
    let v1 = content(5000, 1);
    let v2 = content(5000, 2);
    let described = |data: &[u8]| {
        let mut f = file(1, "doc.bin", data.len() as u64);
        f.content_md5 = Some(md5_of(data));
        f
    };
    let mut receiver = memory_receiver();
    push_all(
        &mut receiver,
        &craft::fdt(TSI, 1, vec![described(&v1)], now, 3600),
        now,
    );
    push_all(
        &mut receiver,
        &craft::object(TSI, 1, &v1, false, None, None),
        now,
    );
    assert_eq!(completed(&mut receiver), vec![(1, v1.clone())]);
    // The first sender's carousel repeats: nothing new.
    push_all(
        &mut receiver,
        &craft::fdt(TSI, 1, vec![described(&v1)], now, 3600),
        now,
    );
    push_all(
        &mut receiver,
        &craft::object(TSI, 1, &v1, false, None, None),
        now,
    );
    assert!(completed(&mut receiver).is_empty());
    // The restarted sender, two seconds later: same TSI, same FDT instance ID, same TOI.
    let restart = later(now, 2);
    push_all(
        &mut receiver,
        &craft::fdt(TSI, 1, vec![described(&v2)], restart, 3600),
        restart,
    );
    push_all(
        &mut receiver,
        &craft::object(TSI, 1, &v2, false, None, None),
        restart,
    );
    assert_eq!(completed(&mut receiver), vec![(1, v2.clone())]);
    // And its own repeats are repeats again.
    push_all(
        &mut receiver,
        &craft::fdt(TSI, 1, vec![described(&v2)], restart, 3600),
        restart,
    );
    push_all(
        &mut receiver,
        &craft::object(TSI, 1, &v2, false, None, None),
        restart,
    );
    assert!(completed(&mut receiver).is_empty());
    assert_eq!(receiver.stats().objects_completed, 2);
}
