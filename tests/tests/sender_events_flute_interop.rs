//! Sender events against flute 1.11.7's observer API: flute's `Sender` with a `Subscriber` and
//! xflute's `Sender` get the same objects and configuration and are driven on the same clock;
//! the `StartTransfer` / `StopTransfer` sequence flute dispatches must be the
//! `TransferStarted` / `TransferStopped` sequence xflute queues (kinds and TOIs, in order), for
//! one-shot objects, multiplexing, repeated and carousel objects, both FDT publish modes, and
//! objects removed during and between transfers.
//!
//! One difference in timing, not in kind: flute notices that a paced transfer (target
//! acquisition) is over only when its next packet would have been due, so it dispatches
//! `StopTransfer` (and starts a `DelayBetweenTransfers` carousel's delay) up to one packet
//! interval after the last packet; xflute stops the transfer with its last packet. The last test
//! pins that down; the scenarios end their runs, and space their paced carousels, so that this
//! lag does not reorder events between objects.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use xflute::endpoint::UdpEndpoint;
use xflute::sender::{
    CarouselRepeatMode, Config, FdtPublishMode, ObjectDesc, PriorityQueue, Sender, SenderEvent,
    StopReason, TargetAcquisition, TransferConfig,
};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};
use xflute_tests::data::content;

const SYMBOL_LEN: u16 = 100;
const BLOCK_LEN: u32 = 8;
/// The clock advances by this much between two drains of both senders.
const STEP: Duration = Duration::from_millis(100);

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Start,
    Stop,
}

#[derive(Debug, Clone, Copy)]
enum Carousel {
    Delay(Duration),
    Interval(Duration),
}

/// One object of a scenario, described once for both senders.
#[derive(Debug, Clone, Copy)]
struct Obj {
    len: usize,
    max_transfer_count: u32,
    carousel: Option<Carousel>,
    /// Target acquisition: the transfer lasts this long.
    within: Option<Duration>,
}

impl Obj {
    fn once(len: usize) -> Self {
        Self {
            len,
            max_transfer_count: 1,
            carousel: None,
            within: None,
        }
    }
}

struct Scenario {
    name: &'static str,
    multiplex: u32,
    objects_being_transferred: bool,
    objects: Vec<Obj>,
    /// (time since t0, index of the object to remove).
    removals: Vec<(Duration, usize)>,
    /// Drive both senders until then.
    until: Duration,
}

/// Records flute's events, with their time.
#[derive(Default)]
struct Recorder(Mutex<Vec<(Kind, u128, SystemTime)>>);

impl flute::sender::Subscriber for Recorder {
    fn on_sender_event(&self, evt: &flute::sender::Event, now: SystemTime) {
        let event = match evt {
            flute::sender::Event::StartTransfer(info) => (Kind::Start, info.toi, now),
            flute::sender::Event::StopTransfer(info) => (Kind::Stop, info.toi, now),
        };
        self.0.lock().unwrap().push(event);
    }
}

fn flute_events(s: &Scenario) -> Vec<(Kind, u128, SystemTime)> {
    use flute::sender as fs;
    let oti = flute::core::Oti::new_no_code(SYMBOL_LEN, BLOCK_LEN as u16);
    let endpoint = flute::core::UDPEndpoint::new(None, "224.0.0.1".to_owned(), 3400);
    let mut config = fs::Config {
        fdt_publish_mode: if s.objects_being_transferred {
            fs::FDTPublishMode::ObjectsBeingTransferred
        } else {
            fs::FDTPublishMode::FullFDT
        },
        ..Default::default()
    };
    config.set_priority_queue(
        fs::PriorityQueue::HIGHEST,
        fs::PriorityQueue::new(s.multiplex),
    );
    let mut sender = fs::Sender::new(endpoint, 1, &oti, &config);
    let recorder = Arc::new(Recorder::default());
    sender.subscribe(recorder.clone());
    let mut tois = Vec::new();
    for (i, o) in s.objects.iter().enumerate() {
        let transfer = fs::TransferConfig {
            max_transfer_count: o.max_transfer_count,
            carousel_mode: o.carousel.map(|c| match c {
                Carousel::Delay(d) => fs::CarouselRepeatMode::DelayBetweenTransfers(d),
                Carousel::Interval(d) => fs::CarouselRepeatMode::IntervalBetweenStartTimes(d),
            }),
            target_acquisition: o.within.map(fs::TargetAcquisition::WithinDuration),
            ..Default::default()
        };
        let url = url::Url::parse(&format!("file:///object{i}")).unwrap();
        let obj = fs::ObjectDesc::create_from_buffer(
            content(o.len, i as u64),
            "application/octet-stream",
            &url,
            false,
            transfer,
        )
        .unwrap();
        tois.push(sender.add_object(0, obj).unwrap());
    }
    if !s.objects_being_transferred {
        sender.publish(t0()).unwrap();
    }
    let mut elapsed = Duration::ZERO;
    while elapsed <= s.until {
        for &(at, index) in &s.removals {
            if at == elapsed {
                assert!(sender.remove_object(tois[index]));
            }
        }
        let mut n = 0;
        while sender.read(t0() + elapsed).is_some() {
            n += 1;
            assert!(n < 100_000, "flute never idles");
        }
        elapsed += STEP;
    }
    recorder.0.lock().unwrap().clone()
}

/// xflute's events, and the stop reasons alongside for the scenario's own checks.
fn xflute_events(s: &Scenario) -> (Vec<(Kind, u128, SystemTime)>, Vec<StopReason>) {
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: SYMBOL_LEN,
        maximum_source_block_length: BLOCK_LEN,
        max_number_of_encoding_symbols: BLOCK_LEN,
        scheme_specific: SchemeSpecific::None,
    };
    let mut config = Config {
        fdt_publish_mode: if s.objects_being_transferred {
            FdtPublishMode::ObjectsBeingTransferred
        } else {
            FdtPublishMode::FullFdt
        },
        ..Config::default()
    };
    config.set_priority_queue(PriorityQueue::HIGHEST, PriorityQueue::new(s.multiplex));
    let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), 3400);
    let mut sender = Sender::new(endpoint, 1, oti, config).unwrap();
    let mut tois = Vec::new();
    for (i, o) in s.objects.iter().enumerate() {
        let transfer = TransferConfig {
            max_transfer_count: o.max_transfer_count,
            carousel_mode: o.carousel.map(|c| match c {
                Carousel::Delay(d) => CarouselRepeatMode::DelayBetweenTransfers(d),
                Carousel::Interval(d) => CarouselRepeatMode::IntervalBetweenStartTimes(d),
            }),
            target_acquisition: o.within.map_or(TargetAcquisition::AsFastAsPossible, |d| {
                TargetAcquisition::WithinDuration(d)
            }),
            ..TransferConfig::default()
        };
        let obj = ObjectDesc::from_buffer(
            content(o.len, i as u64),
            "application/octet-stream",
            format!("file:///object{i}"),
            false,
            transfer,
        )
        .unwrap();
        tois.push(sender.add_object(0, obj).unwrap());
    }
    if !s.objects_being_transferred {
        sender.publish(t0()).unwrap();
    }
    let mut buf = vec![0u8; 2048];
    let mut events = Vec::new();
    let mut reasons = Vec::new();
    let mut elapsed = Duration::ZERO;
    while elapsed <= s.until {
        for &(at, index) in &s.removals {
            if at == elapsed {
                assert!(sender.remove_object(tois[index]));
            }
        }
        let mut n = 0;
        while sender.write_next(&mut buf, t0() + elapsed).is_some() {
            n += 1;
            assert!(n < 100_000, "xflute never idles");
        }
        // Polled once per step, as an application would between batches.
        while let Some(event) = sender.poll_event() {
            assert_eq!(event.now(), t0() + elapsed);
            events.push(match event {
                SenderEvent::TransferStarted { toi, now, .. } => (Kind::Start, toi, now),
                SenderEvent::TransferStopped {
                    toi, now, reason, ..
                } => {
                    reasons.push(reason);
                    (Kind::Stop, toi, now)
                }
            });
        }
        elapsed += STEP;
    }
    assert_eq!(sender.events_dropped(), 0);
    (events, reasons)
}

/// Runs a scenario on both senders; returns xflute's stop reasons once the sequences match.
fn same_events(s: &Scenario) -> Vec<StopReason> {
    let kinds = |events: Vec<(Kind, u128, SystemTime)>| -> Vec<(Kind, u128)> {
        events.into_iter().map(|(k, toi, _)| (k, toi)).collect()
    };
    let theirs = kinds(flute_events(s));
    let (ours, reasons) = xflute_events(s);
    let ours = kinds(ours);
    assert!(!theirs.is_empty(), "{}: flute fired nothing", s.name);
    assert_eq!(ours, theirs, "{}", s.name);
    reasons
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[test]
fn one_shot_objects_fire_the_same_events_as_flute_one_at_a_time_and_multiplexed() {
    for multiplex in [1, 3] {
        for objects_being_transferred in [false, true] {
            let reasons = same_events(&Scenario {
                name: "one-shot",
                multiplex,
                objects_being_transferred,
                objects: vec![
                    Obj::once(1000),
                    Obj::once(250),
                    Obj::once(0),
                    Obj::once(3000),
                    Obj::once(100),
                ],
                removals: Vec::new(),
                until: ms(500),
            });
            assert_eq!(reasons, [StopReason::Expired; 5]);
        }
    }
}

#[test]
fn repeated_and_carousel_objects_fire_the_same_events_as_flute_every_pass() {
    let reasons = same_events(&Scenario {
        name: "max transfer count and carousels",
        multiplex: 2,
        objects_being_transferred: false,
        objects: vec![
            Obj {
                max_transfer_count: 3,
                ..Obj::once(500)
            },
            Obj {
                max_transfer_count: 2,
                carousel: Some(Carousel::Delay(ms(1050))),
                ..Obj::once(300)
            },
            Obj {
                carousel: Some(Carousel::Interval(ms(750))),
                within: Some(ms(420)),
                ..Obj::once(800)
            },
            Obj::once(200),
        ],
        removals: Vec::new(),
        until: ms(4000),
    });
    assert!(reasons.contains(&StopReason::Sent));
    assert_eq!(
        reasons
            .iter()
            .filter(|r| **r == StopReason::Expired)
            .count(),
        2
    );
}

#[test]
fn removed_objects_fire_the_same_events_as_flute_during_and_between_transfers() {
    let reasons = same_events(&Scenario {
        name: "removals",
        multiplex: 3,
        objects_being_transferred: false,
        objects: vec![
            // 10 packets over 1 s, again 2.05 s after each end: removed mid second pass.
            Obj {
                carousel: Some(Carousel::Delay(ms(2050))),
                within: Some(ms(1000)),
                ..Obj::once(1000)
            },
            // Removed while waiting for its next pass: no event.
            Obj {
                carousel: Some(Carousel::Delay(ms(5050))),
                ..Obj::once(300)
            },
            // Removed during its first pass, which still goes out in full.
            Obj {
                within: Some(ms(2000)),
                ..Obj::once(1000)
            },
        ],
        removals: vec![(ms(3500), 0), (ms(1000), 1), (ms(500), 2)],
        until: ms(6000),
    });
    assert_eq!(
        reasons,
        [
            StopReason::Sent,
            StopReason::Sent,
            StopReason::Removed,
            StopReason::Removed
        ]
    );
}

#[test]
fn a_paced_transfer_stops_with_its_last_packet_where_flute_stops_one_step_later() {
    // 10 packets over 1 s: the last is due at 0.9 s.
    let s = Scenario {
        name: "paced",
        multiplex: 1,
        objects_being_transferred: false,
        objects: vec![Obj {
            within: Some(ms(1000)),
            ..Obj::once(1000)
        }],
        removals: Vec::new(),
        until: ms(2000),
    };
    let theirs = flute_events(&s);
    let (ours, _) = xflute_events(&s);
    assert_eq!(
        ours,
        [(Kind::Start, 1, t0()), (Kind::Stop, 1, t0() + ms(900))]
    );
    assert_eq!(
        theirs,
        [(Kind::Start, 1, t0()), (Kind::Stop, 1, t0() + ms(1000))]
    );
}
