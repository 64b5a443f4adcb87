//! The sender's transfer events with a fake clock: which fire, in which order, with which
//! transfer number and stop reason, for one-shot objects, repeated and carousel objects, removed
//! and failed ones; and the bound on the queue.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use super::tests::object;
use super::*;
use crate::endpoint::UdpEndpoint;
use crate::wire::{FecEncodingId, Oti, SchemeSpecific};

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// 10-byte symbols, blocks of 4: an object of `len` bytes is `len / 10` packets, rounded up.
fn sender(config: Config) -> Sender {
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 10,
        maximum_source_block_length: 4,
        max_number_of_encoding_symbols: 4,
        scheme_specific: SchemeSpecific::None,
    };
    let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), 3400);
    Sender::new(endpoint, 1, oti, config).unwrap()
}

/// No FDT repetition to get in the way of the object's timing.
fn quiet_fdt() -> Config {
    Config {
        fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(secs(1000.0)),
        ..Config::default()
    }
}

/// Writes every packet due at `now`; returns how many.
fn drain(s: &mut Sender, now: SystemTime) -> usize {
    let mut buf = vec![0u8; s.max_packet_len()];
    let mut n = 0;
    while s.write_next(&mut buf, now).is_some() {
        n += 1;
        assert!(n < 100_000, "sender never idles");
    }
    n
}

fn events(s: &mut Sender) -> Vec<SenderEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn started(toi: u128, now: SystemTime, transfer: u64) -> SenderEvent {
    SenderEvent::TransferStarted { toi, now, transfer }
}

fn stopped(toi: u128, now: SystemTime, transfer: u64, reason: StopReason) -> SenderEvent {
    SenderEvent::TransferStopped {
        toi,
        now,
        transfer,
        reason,
    }
}

#[test]
fn a_one_shot_object_starts_once_and_expires_and_the_fdt_fires_nothing() {
    let mut s = sender(Config::default());
    assert_eq!(s.poll_event(), None);
    // The FDT alone: no event.
    drain(&mut s, t0());
    assert_eq!(s.poll_event(), None);
    let toi = s
        .add_object(0, object(25, TransferConfig::default()))
        .unwrap();
    s.publish(t0()).unwrap();
    drain(&mut s, t0() + secs(1.0));
    assert_eq!(
        events(&mut s),
        [
            started(toi, t0() + secs(1.0), 1),
            stopped(toi, t0() + secs(1.0), 1, StopReason::Expired),
        ]
    );
    assert!(!s.is_added(toi));
    assert_eq!(s.events_dropped(), 0);
}

#[test]
fn a_max_transfer_count_without_carousel_is_sent_sent_then_expired() {
    let mut s = sender(quiet_fdt());
    let config = TransferConfig {
        max_transfer_count: 3,
        ..TransferConfig::default()
    };
    let toi = s.add_object(0, object(20, config)).unwrap();
    s.publish(t0()).unwrap();
    drain(&mut s, t0());
    let now = t0();
    assert_eq!(
        events(&mut s),
        [
            started(toi, now, 1),
            stopped(toi, now, 1, StopReason::Sent),
            started(toi, now, 2),
            stopped(toi, now, 2, StopReason::Sent),
            started(toi, now, 3),
            stopped(toi, now, 3, StopReason::Expired),
        ]
    );
}

#[test]
fn a_carousel_with_a_max_transfer_count_fires_a_pair_per_pass_and_never_expires() {
    let mut s = sender(quiet_fdt());
    let config = TransferConfig {
        max_transfer_count: 2,
        carousel_mode: Some(CarouselRepeatMode::IntervalBetweenStartTimes(secs(10.0))),
        ..TransferConfig::default()
    };
    let toi = s.add_object(0, object(20, config)).unwrap();
    s.publish(t0()).unwrap();
    // A round: max_transfer_count passes back to back, then the carousel's interval.
    drain(&mut s, t0());
    drain(&mut s, t0() + secs(9.0));
    drain(&mut s, t0() + secs(10.0));
    let (a, b) = (t0(), t0() + secs(10.0));
    assert_eq!(
        events(&mut s),
        [
            started(toi, a, 1),
            stopped(toi, a, 1, StopReason::Sent),
            started(toi, a, 2),
            stopped(toi, a, 2, StopReason::Sent),
            started(toi, b, 3),
            stopped(toi, b, 3, StopReason::Sent),
            started(toi, b, 4),
            stopped(toi, b, 4, StopReason::Sent),
        ]
    );
    assert!(s.is_added(toi));
    assert_eq!(s.nb_transfers(toi), Some(4));
}

#[test]
fn removing_an_object_mid_transfer_stops_it_as_removed_and_an_idle_one_fires_nothing() {
    let mut s = sender(quiet_fdt());
    let paced = TransferConfig {
        carousel_mode: Some(CarouselRepeatMode::DelayBetweenTransfers(secs(5.0))),
        target_acquisition: TargetAcquisition::WithinDuration(secs(4.0)),
        ..TransferConfig::default()
    };
    // 4 packets, one a second.
    let toi = s.add_object(0, object(40, paced)).unwrap();
    s.publish(t0()).unwrap();
    for i in 0..4 {
        drain(&mut s, t0() + secs(f64::from(i)));
    }
    // Second pass starts at 8 s; removed after its first packet: it stops with the next one.
    drain(&mut s, t0() + secs(8.0));
    assert!(s.remove_object(toi));
    drain(&mut s, t0() + secs(9.0));
    assert_eq!(
        events(&mut s),
        [
            started(toi, t0(), 1),
            stopped(toi, t0() + secs(3.0), 1, StopReason::Sent),
            started(toi, t0() + secs(8.0), 2),
            stopped(toi, t0() + secs(9.0), 2, StopReason::Removed),
        ]
    );
    // Between two passes: removed without an event, as flute does.
    let config = TransferConfig {
        carousel_mode: Some(CarouselRepeatMode::DelayBetweenTransfers(secs(5.0))),
        ..TransferConfig::default()
    };
    let idle = s.add_object(0, object(10, config)).unwrap();
    s.publish(t0() + secs(20.0)).unwrap();
    drain(&mut s, t0() + secs(20.0));
    assert_eq!(events(&mut s).len(), 2);
    assert!(s.remove_object(idle));
    drain(&mut s, t0() + secs(30.0));
    assert_eq!(s.poll_event(), None);
}

#[test]
fn removing_before_the_first_full_transfer_stops_as_removed_after_the_last_packet() {
    let mut s = sender(quiet_fdt());
    let paced = TransferConfig {
        target_acquisition: TargetAcquisition::WithinDuration(secs(3.0)),
        ..TransferConfig::default()
    };
    let toi = s.add_object(0, object(30, paced)).unwrap();
    s.publish(t0()).unwrap();
    drain(&mut s, t0());
    assert!(s.remove_object(toi));
    drain(&mut s, t0() + secs(1.0));
    assert_eq!(events(&mut s), [started(toi, t0(), 1)]);
    drain(&mut s, t0() + secs(2.0));
    assert_eq!(
        events(&mut s),
        [stopped(toi, t0() + secs(2.0), 1, StopReason::Removed)]
    );
}

/// Says it is 100 bytes long, then fails every read.
struct BrokenStream;

impl std::io::Read for BrokenStream {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("disk gone"))
    }
}

impl std::io::Seek for BrokenStream {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        Ok(match pos {
            std::io::SeekFrom::End(_) => 100,
            _ => 0,
        })
    }
}

#[test]
fn a_transfer_whose_stream_fails_stops_as_failed() {
    let mut s = sender(quiet_fdt());
    let obj = ObjectDesc::from_stream(
        Box::new(BrokenStream),
        "application/octet-stream",
        "file:///broken",
        false,
        TransferConfig::default(),
    )
    .unwrap();
    let toi = s.add_object(0, obj).unwrap();
    s.publish(t0()).unwrap();
    drain(&mut s, t0());
    assert_eq!(
        events(&mut s),
        [
            started(toi, t0(), 1),
            stopped(toi, t0(), 1, StopReason::Failed)
        ]
    );
    assert!(!s.is_added(toi));
}

#[test]
fn events_past_max_events_are_dropped_and_counted_and_the_oldest_kept() {
    let mut s = sender(Config {
        max_events: 3,
        ..quiet_fdt()
    });
    let config = TransferConfig {
        max_transfer_count: 4,
        ..TransferConfig::default()
    };
    let toi = s.add_object(0, object(10, config)).unwrap();
    s.publish(t0()).unwrap();
    drain(&mut s, t0());
    assert_eq!(s.events_dropped(), 5);
    assert_eq!(
        events(&mut s),
        [
            started(toi, t0(), 1),
            stopped(toi, t0(), 1, StopReason::Sent),
            started(toi, t0(), 2),
        ]
    );
    let mut off = sender(Config {
        max_events: 0,
        ..quiet_fdt()
    });
    off.add_object(0, object(10, TransferConfig::default()))
        .unwrap();
    drain(&mut off, t0());
    assert_eq!(off.poll_event(), None);
    assert_eq!(off.events_dropped(), 2);
}
