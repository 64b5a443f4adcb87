//! Scheduling tests of the sender with a fake clock: priorities, file multiplexing, FDT
//! publishing and carousel, object carousel, target acquisition, close flags.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use super::*;
use crate::endpoint::UdpEndpoint;
use crate::fdt::{FdtInstance, ParseLimits};
use crate::wire::{AlcPacket, FecEncodingId, Oti, SchemeSpecific};

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

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
    UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), 3400)
}

fn sender(config: Config) -> Sender {
    Sender::new(endpoint(), 1, no_code(10, 4), config).unwrap()
}

pub(super) fn object(len: usize, config: TransferConfig) -> ObjectDesc {
    let content = (0..len).map(|i| i as u8).collect();
    ObjectDesc::from_buffer(
        content,
        "application/octet-stream",
        "file:///o",
        false,
        config,
    )
    .unwrap()
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pkt {
    toi: u128,
    close_object: bool,
    close_session: bool,
    fdt: Option<(u8, u32)>,
    sbn: u32,
    esi: u32,
    payload: Vec<u8>,
}

fn parse(bytes: &[u8]) -> Pkt {
    let p = AlcPacket::parse(bytes).unwrap();
    let id = p.payload_id().unwrap_or_default();
    Pkt {
        toi: p.lct().toi,
        close_object: p.lct().close_object,
        close_session: p.lct().close_session,
        fdt: p.ext_fdt().map(|f| (f.flute_version, f.fdt_instance_id)),
        sbn: id.sbn,
        esi: id.esi,
        payload: p.payload().to_vec(),
    }
}

/// Every packet due at `now`.
fn drain(s: &mut Sender, now: SystemTime) -> Vec<Pkt> {
    let mut buf = vec![0u8; s.max_packet_len()];
    let mut out = Vec::new();
    while let Some(len) = s.write_next(&mut buf, now) {
        out.push(parse(&buf[..len]));
        assert!(out.len() < 100_000, "sender never idles");
    }
    out
}

fn data_tois(pkts: &[Pkt]) -> Vec<u128> {
    pkts.iter().filter(|p| p.toi != 0).map(|p| p.toi).collect()
}

fn fdt_instances(pkts: &[Pkt]) -> Vec<FdtInstance> {
    // Each instance's symbols, by (SBN, ESI): blocks may be interleaved.
    let mut by_id: BTreeMap<u32, BTreeMap<(u32, u32), Vec<u8>>> = BTreeMap::new();
    let mut order = Vec::new();
    for p in pkts.iter().filter(|p| p.toi == 0) {
        let id = p.fdt.unwrap().1;
        if !by_id.contains_key(&id) {
            order.push(id);
        }
        by_id
            .entry(id)
            .or_default()
            .insert((p.sbn, p.esi), p.payload.clone());
    }
    order
        .iter()
        .map(|id| {
            let xml: Vec<u8> = by_id[id].values().flatten().copied().collect();
            FdtInstance::parse(&xml, &ParseLimits::default()).unwrap()
        })
        .collect()
}

/// The packets as runs: `(0, FDT Instance ID)` for FDT packets, `(TOI, 0)` for data.
fn runs(pkts: &[Pkt]) -> Vec<(u128, u32)> {
    let mut keys: Vec<(u128, u32)> = pkts
        .iter()
        .map(|p| (p.toi, p.fdt.map_or(0, |f| f.1)))
        .collect();
    keys.dedup();
    keys
}

#[test]
fn highest_priority_queue_is_sent_before_lower_ones() {
    let mut config = Config::default();
    config.set_priority_queue(PriorityQueue::LOW, PriorityQueue::new(1));
    let mut s = sender(config);
    let low = s
        .add_object(PriorityQueue::LOW, object(30, TransferConfig::default()))
        .unwrap();
    let high = s
        .add_object(
            PriorityQueue::HIGHEST,
            object(30, TransferConfig::default()),
        )
        .unwrap();
    s.publish(t0()).unwrap();
    let pkts = drain(&mut s, t0());
    assert_eq!(data_tois(&pkts), [high, high, high, low, low, low]);
    assert!(matches!(
        s.add_object(7, object(1, TransferConfig::default())),
        Err(SenderError::UnknownPriorityQueue(7))
    ));
}

#[test]
fn files_of_a_queue_are_multiplexed_packet_by_packet() {
    let mut config = Config::default();
    config.set_priority_queue(PriorityQueue::HIGHEST, PriorityQueue::new(2));
    let mut s = sender(config);
    let a = s
        .add_object(0, object(30, TransferConfig::default()))
        .unwrap();
    let b = s
        .add_object(0, object(20, TransferConfig::default()))
        .unwrap();
    let c = s
        .add_object(0, object(10, TransferConfig::default()))
        .unwrap();
    s.publish(t0()).unwrap();
    let pkts = drain(&mut s, t0());
    // c takes b's slot when b is done, and joins the rotation after a.
    assert_eq!(data_tois(&pkts), [a, b, a, b, a, c]);
}

#[test]
fn multiplex_of_one_sends_files_one_after_the_other() {
    let mut config = Config::default();
    config.set_priority_queue(PriorityQueue::HIGHEST, PriorityQueue::new(0));
    let mut s = sender(config);
    let a = s
        .add_object(0, object(20, TransferConfig::default()))
        .unwrap();
    let b = s
        .add_object(0, object(20, TransferConfig::default()))
        .unwrap();
    s.publish(t0()).unwrap();
    assert_eq!(data_tois(&drain(&mut s, t0())), [a, a, b, b]);
}

#[test]
fn fdt_goes_out_first_with_ext_fdt_of_the_flute_version() {
    for (profile, version) in [(Profile::Rfc6726, 2), (Profile::Rfc3926, 1)] {
        let config = Config {
            profile,
            fdt_start_id: 17,
            ..Config::default()
        };
        let mut s = sender(config);
        let toi = s
            .add_object(0, object(25, TransferConfig::default()))
            .unwrap();
        s.publish(t0()).unwrap();
        let pkts = drain(&mut s, t0());
        assert_eq!(pkts[0].toi, 0);
        assert_eq!(pkts[0].fdt, Some((version, 17)));
        let fdt = &fdt_instances(&pkts)[0];
        let file = fdt.file(toi).unwrap();
        assert_eq!(file.transfer_length, Some(25));
        assert_eq!(file.content_location, "file:///o");
        assert_eq!(fdt.full_fdt, Some(true));
        assert!(pkts.iter().filter(|p| p.toi != 0).all(|p| p.fdt.is_none()));
    }
}

#[test]
fn fdt_instance_id_wraps_at_20_bits() {
    let config = Config {
        fdt_start_id: 0xF_FFFF,
        ..Config::default()
    };
    let mut s = sender(config);
    assert_eq!(s.publish(t0()).unwrap(), 0xF_FFFF);
    assert_eq!(s.publish(t0()).unwrap(), 0);
    assert_eq!(s.publish(t0()).unwrap(), 1);
    // Only the latest instance goes out; the ones it replaced before being sent do not.
    let pkts = drain(&mut s, t0());
    assert!(pkts.iter().all(|p| p.fdt == Some((2, 1))));
}

#[test]
fn fdt_carousel_repeats_after_its_delay_and_is_refreshed_before_expiry() {
    let config = Config {
        fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(secs(1.0)),
        fdt_duration: secs(20.0),
        ..Config::default()
    };
    let mut s = sender(config);
    let first = drain(&mut s, t0());
    assert!(!first.is_empty() && first.iter().all(|p| p.toi == 0));
    let id = first[0].fdt.unwrap().1;
    assert!(drain(&mut s, t0() + secs(0.5)).is_empty());
    assert_eq!(s.next_timeout(), Some(t0() + secs(1.0)));
    let again = drain(&mut s, t0() + secs(1.0));
    assert_eq!(again, first, "same instance repeated");
    // 20 s validity: a new instance 5 s before it expires.
    let refreshed = drain(&mut s, t0() + secs(15.0));
    assert_eq!(refreshed[0].fdt.unwrap().1, id + 1);
}

/// With a validity of a few seconds (as `serve`'s `fdt_expires` allows), a receiver always
/// holds an instance that has not expired, and each is replaced with a margin left (half the
/// validity, at most 5 s) for the new one to reach receivers behind a long transfer.
#[test]
fn short_fdt_validities_are_refreshed_with_no_expired_gap() {
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    for (validity, offset) in [1.0, 2.0, 3.0, 7.0, 10.0]
        .into_iter()
        .flat_map(|v| [(v, 0.0), (v, 0.7)])
    {
        let config = Config {
            fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(secs(0.2)),
            fdt_duration: secs(validity),
            ..Config::default()
        };
        let mut s = sender(config);
        // On a whole second, and late in one: Expires is in whole seconds.
        let start = t0() + secs(offset);
        let margin = (validity / 2.0).min(5.0);
        // The newest instance held: its ID and when it expires, in Unix seconds.
        let mut held: Option<(u32, f64)> = None;
        for step in 0..(40.0 * validity) as u32 {
            let now = start + secs(f64::from(step) * 0.05);
            let now_unix = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64();
            let pkts = drain(&mut s, now);
            let mut ids: Vec<u32> = pkts.iter().filter_map(|p| p.fdt.map(|f| f.1)).collect();
            ids.dedup();
            for (id, fdt) in ids.into_iter().zip(fdt_instances(&pkts)) {
                let expires = (u64::from(fdt.expires) - UNIX_TO_NTP) as f64;
                if let Some((held_id, held_expires)) = held
                    && held_id != id
                {
                    assert!(
                        held_expires - now_unix >= margin - 0.05,
                        "validity {validity} s: instance {id} came {:.2} s before the one \
                         before it expired",
                        held_expires - now_unix
                    );
                }
                held = Some((id, expires));
            }
            let (_, expires) = held.expect("an FDT instance at the start");
            assert!(
                expires > now_unix,
                "validity {validity} s: at {:?} the newest instance had expired",
                now.duration_since(start).unwrap()
            );
        }
    }
}

#[test]
fn fdt_interval_between_start_times_counts_from_the_start() {
    let config = Config {
        fdt_carousel_mode: CarouselRepeatMode::IntervalBetweenStartTimes(secs(2.0)),
        ..Config::default()
    };
    let mut s = sender(config);
    drain(&mut s, t0());
    assert_eq!(s.next_timeout(), Some(t0() + secs(2.0)));
    assert!(drain(&mut s, t0() + secs(1.9)).is_empty());
    assert!(!drain(&mut s, t0() + secs(2.0)).is_empty());
}

#[test]
fn object_carousel_repeats_at_its_interval_and_counts_transfers() {
    let mut s = sender(Config {
        fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(secs(1000.0)),
        ..Config::default()
    });
    let config = TransferConfig {
        carousel_mode: Some(CarouselRepeatMode::IntervalBetweenStartTimes(secs(10.0))),
        ..TransferConfig::default()
    };
    let toi = s.add_object(0, object(20, config)).unwrap();
    s.publish(t0()).unwrap();
    let first = drain(&mut s, t0());
    assert_eq!(data_tois(&first), [toi, toi]);
    // A carousel object never closes: it will be sent again.
    assert!(first.iter().all(|p| !p.close_object));
    assert_eq!(s.nb_transfers(toi), Some(1));
    assert!(drain(&mut s, t0() + secs(9.0)).is_empty());
    assert_eq!(data_tois(&drain(&mut s, t0() + secs(10.0))), [toi, toi]);
    assert_eq!(s.nb_transfers(toi), Some(2));
    assert_eq!(s.nb_objects(), 1);
}

#[test]
fn delay_between_transfers_counts_from_the_end_of_a_paced_transfer() {
    let mut s = sender(Config {
        fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(secs(1000.0)),
        ..Config::default()
    });
    let config = TransferConfig {
        carousel_mode: Some(CarouselRepeatMode::DelayBetweenTransfers(secs(2.0))),
        target_acquisition: TargetAcquisition::WithinDuration(secs(4.0)),
        ..TransferConfig::default()
    };
    // 4 packets over 4 s: due at 0, 1, 2 and 3 s.
    let toi = s.add_object(0, object(40, config)).unwrap();
    s.publish(t0()).unwrap();
    let mut sent = Vec::new();
    for i in 0..4 {
        let now = t0() + secs(f64::from(i));
        let pkts = drain(&mut s, now);
        assert_eq!(data_tois(&pkts), [toi], "one packet at {i} s");
        sent.extend(pkts);
        if i < 3 {
            assert_eq!(s.next_timeout(), Some(t0() + secs(f64::from(i + 1))));
        }
    }
    // Ended at 3 s: the next transfer starts 2 s later, at 5 s.
    assert!(data_tois(&drain(&mut s, t0() + secs(4.9))).is_empty());
    assert_eq!(data_tois(&drain(&mut s, t0() + secs(5.0))), [toi]);
}

#[test]
fn max_transfer_count_sends_back_to_back_closes_the_last_and_drops_the_object() {
    let mut s = sender(Config::default());
    let config = TransferConfig {
        max_transfer_count: 3,
        ..TransferConfig::default()
    };
    let toi = s.add_object(0, object(20, config)).unwrap();
    s.publish(t0()).unwrap();
    let data: Vec<Pkt> = drain(&mut s, t0())
        .into_iter()
        .filter(|p| p.toi != 0)
        .collect();
    assert_eq!(data.len(), 6);
    let closes: Vec<bool> = data.iter().map(|p| p.close_object).collect();
    assert_eq!(closes, [false, false, false, false, false, true]);
    assert_eq!(s.nb_objects(), 0);
    assert!(!s.is_added(toi));
}

#[test]
fn close_session_packet_has_the_a_flag_and_no_toi_nor_payload() {
    let s = sender(Config::default());
    let pkt = s.read_close_session();
    let p = AlcPacket::parse(&pkt).unwrap();
    assert!(p.lct().close_session);
    assert!(p.is_data_less());
    assert_eq!(p.lct().toi_len_bytes, 0);
    assert_eq!(p.lct().tsi, 1);
    assert!(parse(&pkt).close_session);
}

#[test]
fn transfer_start_time_holds_the_object_back() {
    let mut s = sender(Config::default());
    let config = TransferConfig {
        transfer_start_time: Some(t0() + secs(5.0)),
        ..TransferConfig::default()
    };
    let toi = s.add_object(0, object(10, config)).unwrap();
    s.publish(t0()).unwrap();
    assert!(data_tois(&drain(&mut s, t0())).is_empty());
    assert_eq!(
        s.next_timeout(),
        Some(t0() + secs(1.0)),
        "FDT carousel first"
    );
    drain(&mut s, t0() + secs(1.0));
    assert!(data_tois(&drain(&mut s, t0() + secs(4.0))).is_empty());
    assert_eq!(data_tois(&drain(&mut s, t0() + secs(5.0))), [toi]);
}

#[test]
fn full_fdt_mode_sends_an_object_only_once_an_instance_lists_it() {
    let mut s = sender(Config::default());
    // The first packet publishes automatically.
    let first = s
        .add_object(0, object(10, TransferConfig::default()))
        .unwrap();
    assert_eq!(data_tois(&drain(&mut s, t0())), [first]);
    let second = s
        .add_object(0, object(10, TransferConfig::default()))
        .unwrap();
    assert!(data_tois(&drain(&mut s, t0())).is_empty());
    s.publish(t0()).unwrap();
    let pkts = drain(&mut s, t0());
    assert_eq!(pkts[0].toi, 0, "the new instance goes first");
    assert!(fdt_instances(&pkts)[0].file(second).is_some());
    assert_eq!(data_tois(&pkts), [second]);
}

#[test]
fn objects_being_transferred_mode_publishes_each_object_before_its_first_packet() {
    let mut config = Config {
        fdt_publish_mode: FdtPublishMode::ObjectsBeingTransferred,
        ..Config::default()
    };
    config.set_priority_queue(PriorityQueue::HIGHEST, PriorityQueue::new(1));
    let mut s = sender(config);
    let a = s
        .add_object(0, object(10, TransferConfig::default()))
        .unwrap();
    let b = s
        .add_object(0, object(10, TransferConfig::default()))
        .unwrap();
    let pkts = drain(&mut s, t0());
    // Empty first instance, then an instance with a before a, then one with b before b.
    assert_eq!(runs(&pkts), [(0, 1), (0, 2), (a, 0), (0, 3), (b, 0)]);
    let instances = fdt_instances(&pkts);
    assert_eq!(instances.len(), 3);
    assert!(instances[0].files.is_empty());
    assert_eq!(instances[1].files.len(), 1);
    assert!(instances[1].file(a).is_some());
    assert!(instances[2].file(b).is_some() && instances[2].file(a).is_none());
    assert_eq!(instances[1].full_fdt, None);
}

#[test]
fn removing_an_object_sent_once_stops_it_with_close_object() {
    let mut s = sender(Config {
        fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(secs(1000.0)),
        ..Config::default()
    });
    let config = TransferConfig {
        max_transfer_count: 2,
        target_acquisition: TargetAcquisition::WithinDuration(secs(10.0)),
        ..TransferConfig::default()
    };
    let toi = s.add_object(0, object(50, config)).unwrap();
    s.publish(t0()).unwrap();
    // First transfer: 5 packets over 10 s.
    for i in 0..5 {
        drain(&mut s, t0() + secs(2.0 * f64::from(i)));
    }
    assert_eq!(s.nb_transfers(toi), Some(1));
    let second = drain(&mut s, t0() + secs(10.0));
    assert_eq!(data_tois(&second), [toi]);
    assert!(s.remove_object(toi));
    assert!(!s.remove_object(toi));
    let last = drain(&mut s, t0() + secs(12.0));
    assert_eq!(data_tois(&last), [toi]);
    assert!(last.iter().any(|p| p.toi == toi && p.close_object));
    assert!(data_tois(&drain(&mut s, t0() + secs(100.0))).is_empty());
}

#[test]
fn removing_before_the_first_transfer_completes_lets_it_finish() {
    let mut s = sender(Config::default());
    let config = TransferConfig {
        target_acquisition: TargetAcquisition::WithinDuration(secs(3.0)),
        ..TransferConfig::default()
    };
    let toi = s.add_object(0, object(30, config)).unwrap();
    s.publish(t0()).unwrap();
    drain(&mut s, t0());
    assert!(s.remove_object(toi));
    let rest: Vec<Pkt> = (1..3)
        .flat_map(|i| drain(&mut s, t0() + secs(f64::from(i))))
        .filter(|p| p.toi == toi)
        .collect();
    assert_eq!(rest.len(), 2);
    assert!(rest[1].close_object);
}

#[test]
fn a_short_buffer_consumes_nothing() {
    let mut s = sender(Config::default());
    s.add_object(0, object(10, TransferConfig::default()))
        .unwrap();
    let mut small = [0u8; 16];
    assert!(matches!(
        s.try_write_next(&mut small, t0()),
        Err(SenderError::BufferTooSmall { .. })
    ));
    assert_eq!(s.write_next(&mut small, t0()), None);
    let pkts = drain(&mut s, t0());
    assert_eq!(data_tois(&pkts).len(), 1);
    assert_eq!(pkts.iter().find(|p| p.toi != 0).unwrap().payload.len(), 10);
}

#[test]
fn complete_refuses_new_objects_and_is_announced() {
    let mut s = sender(Config::default());
    s.add_object(0, object(10, TransferConfig::default()))
        .unwrap();
    s.set_complete();
    assert!(matches!(
        s.add_object(0, object(10, TransferConfig::default())),
        Err(SenderError::FdtComplete)
    ));
    s.publish(t0()).unwrap();
    let pkts = drain(&mut s, t0());
    assert_eq!(fdt_instances(&pkts)[0].complete, Some(true));
}

#[test]
fn fdt_expires_is_now_plus_the_validity_in_ntp_seconds() {
    let config = Config {
        fdt_duration: secs(60.0),
        ..Config::default()
    };
    let s = sender(config);
    let unix = 1_700_000_000u64 + 60;
    assert_eq!(
        u64::from(s.fdt_instance(t0()).expires),
        unix + crate::fdt::ntp::NTP_UNIX_OFFSET_SECS
    );
}

#[test]
fn fdt_packets_carry_sct_and_cenc_when_configured() {
    let config = Config {
        fdt_inband_sct: true,
        fdt_cenc: crate::cenc::Cenc::Zlib,
        ..Config::default()
    };
    let mut s = sender(config);
    let mut buf = vec![0u8; 1500];
    let len = s.write_next(&mut buf, t0()).unwrap();
    let p = AlcPacket::parse(&buf[..len]).unwrap();
    assert_eq!(p.lct().toi, 0);
    assert_eq!(p.ext_cenc().unwrap().content_encoding, 1);
    let time = p.ext_time().unwrap();
    assert_eq!(
        u64::from(time.sct_high.unwrap()),
        1_700_000_000 + crate::fdt::ntp::NTP_UNIX_OFFSET_SECS
    );
    assert_eq!(time.sct_low, Some(0));
    assert!(p.fti().is_some());
}

#[test]
fn inband_fti_and_cenc_on_data_packets_follow_the_configuration() {
    for inband_fti in [false, true] {
        let mut s = sender(Config {
            inband_fti,
            ..Config::default()
        });
        let config = TransferConfig {
            cenc: crate::cenc::Cenc::Deflate,
            inband_cenc: true,
            ..TransferConfig::default()
        };
        let toi = s.add_object(0, object(100, config)).unwrap();
        let mut buf = vec![0u8; 1500];
        loop {
            let len = s.write_next(&mut buf, t0()).unwrap();
            let p = AlcPacket::parse(&buf[..len]).unwrap();
            if p.lct().toi == toi {
                assert_eq!(p.fti().is_some(), inband_fti);
                assert_eq!(p.ext_cenc().unwrap().content_encoding, 2);
                break;
            }
        }
    }
}

#[test]
fn chosen_toi_and_toi_width_are_honoured() {
    let mut s = sender(Config {
        toi_max_length: ToiMaxLength::ToiMax16,
        toi_initial_value: 0xFFFF,
        ..Config::default()
    });
    assert_eq!(
        s.add_object(0, object(1, TransferConfig::default()))
            .unwrap(),
        0xFFFF
    );
    assert_eq!(
        s.add_object(0, object(1, TransferConfig::default()))
            .unwrap(),
        1
    );
    let chosen = TransferConfig {
        toi: Some(1),
        ..TransferConfig::default()
    };
    assert!(matches!(
        s.add_object(0, object(1, chosen)),
        Err(SenderError::ToiInUse(1))
    ));
}

#[test]
fn an_object_beyond_the_sbn_space_is_refused() {
    // No-code numbers 2^16 blocks at most: 1-byte symbols, 1-symbol blocks.
    let mut s = Sender::new(endpoint(), 1, no_code(1, 1), Config::default()).unwrap();
    assert!(matches!(
        s.add_object(0, object(65_537, TransferConfig::default())),
        Err(SenderError::ObjectTooLarge { .. })
    ));
    assert!(
        s.add_object(0, object(65_536, TransferConfig::default()))
            .is_ok()
    );
}

#[test]
fn next_timeout_is_due_now_while_packets_are_waiting() {
    let mut s = sender(Config::default());
    assert!(s.next_timeout().unwrap() <= t0(), "first FDT is due");
    s.add_object(0, object(100, TransferConfig::default()))
        .unwrap();
    let mut buf = vec![0u8; 1500];
    s.write_next(&mut buf, t0()).unwrap();
    assert!(s.next_timeout().unwrap() <= t0());
}

#[test]
fn read_returns_the_same_packets_as_write_next() {
    let make = || {
        let mut s = sender(Config::default());
        s.add_object(0, object(95, TransferConfig::default()))
            .unwrap();
        s
    };
    let mut a = make();
    let mut b = make();
    let from_write = drain(&mut a, t0());
    let mut from_read = Vec::new();
    while let Some(p) = b.read(t0()) {
        from_read.push(parse(&p));
    }
    assert_eq!(from_read, from_write);
}

#[test]
fn trigger_transfer_at_restarts_a_carousel_object_early() {
    let mut s = sender(Config {
        fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(secs(1000.0)),
        ..Config::default()
    });
    let config = TransferConfig {
        carousel_mode: Some(CarouselRepeatMode::DelayBetweenTransfers(secs(60.0))),
        ..TransferConfig::default()
    };
    let toi = s.add_object(0, object(10, config)).unwrap();
    s.publish(t0()).unwrap();
    assert_eq!(data_tois(&drain(&mut s, t0())), [toi]);
    assert!(data_tois(&drain(&mut s, t0() + secs(5.0))).is_empty());
    assert!(s.trigger_transfer_at(toi, Some(t0() + secs(7.0))));
    assert!(data_tois(&drain(&mut s, t0() + secs(6.0))).is_empty());
    assert_eq!(data_tois(&drain(&mut s, t0() + secs(7.0))), [toi]);
    assert!(!s.trigger_transfer_at(toi + 1, None));
}

#[test]
fn fdt_xml_lists_the_objects_with_their_metadata() {
    let mut s = sender(Config::default());
    let config = TransferConfig {
        cenc: crate::cenc::Cenc::Gzip,
        e_tag: Some("v1".into()),
        groups: vec!["g1".into()],
        cache_control: Some(CachePolicy::NoCache),
        ..TransferConfig::default()
    };
    let obj = ObjectDesc::from_buffer(
        vec![b'x'; 1000],
        "text/plain",
        "file:///x.txt",
        true,
        config,
    )
    .unwrap();
    let toi = s.add_object(0, obj).unwrap();
    let fdt = FdtInstance::parse(&s.fdt_xml(t0()), &ParseLimits::default()).unwrap();
    let file = fdt.file(toi).unwrap();
    assert_eq!(file.content_location, "file:///x.txt");
    assert_eq!(file.content_type.as_deref(), Some("text/plain"));
    assert_eq!(file.content_length, Some(1000));
    assert!(file.transfer_length.unwrap() < 1000);
    assert_eq!(file.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(file.content_md5, Some(content_md5(&[b'x'; 1000])));
    assert_eq!(file.file_etag.as_deref(), Some("v1"));
    assert_eq!(file.groups, ["g1"]);
    assert_eq!(file.cache_control, Some(crate::fdt::CacheControl::NoCache));
    assert_eq!(fdt.fec_oti.encoding_symbol_length, Some(10));
    assert_eq!(fdt.fec_oti.maximum_source_block_length, Some(4));
}

#[test]
fn within_time_spreads_the_transfer_up_to_the_deadline() {
    let mut s = sender(Config {
        fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(secs(1000.0)),
        ..Config::default()
    });
    let config = TransferConfig {
        target_acquisition: TargetAcquisition::WithinTime(t0() + secs(10.0)),
        ..TransferConfig::default()
    };
    // 5 packets by t0 + 10 s: due at 0, 2, 4, 6 and 8 s.
    let toi = s.add_object(0, object(50, config)).unwrap();
    s.publish(t0()).unwrap();
    let mut times = Vec::new();
    for tenth in 0..100u32 {
        let now = t0() + secs(f64::from(tenth) / 10.0);
        for _ in data_tois(&drain(&mut s, now)) {
            times.push(tenth);
        }
    }
    assert_eq!(times, [0, 20, 40, 60, 80]);
    assert!(!s.is_added(toi));
}

#[test]
fn a_deadline_in_the_past_sends_as_fast_as_possible() {
    let mut s = sender(Config::default());
    let config = TransferConfig {
        target_acquisition: TargetAcquisition::WithinTime(t0() - secs(1.0)),
        ..TransferConfig::default()
    };
    s.add_object(0, object(50, config)).unwrap();
    assert_eq!(data_tois(&drain(&mut s, t0())).len(), 5);
}

#[test]
fn a_raptor_session_sends_an_fdt_too_small_for_raptor_with_no_code() {
    let raptor = Oti {
        fec_encoding_id: FecEncodingId::Raptor,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 1400,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 80,
        scheme_specific: SchemeSpecific::Raptor { z: 0, n: 1, al: 4 },
    };
    let mut s = Sender::new(endpoint(), 1, raptor, Config::default()).unwrap();
    let content: Vec<u8> = (0..50_000u32).map(|i| i as u8).collect();
    s.add_object(
        0,
        ObjectDesc::from_buffer(content, "a/b", "file:///r", false, Default::default()).unwrap(),
    )
    .unwrap();
    s.publish(t0()).unwrap();
    let mut buf = vec![0u8; s.max_packet_len()];
    let mut fdt_codepoints = Vec::new();
    let mut data_codepoints = Vec::new();
    while let Some(len) = s.write_next(&mut buf, t0()) {
        let p = AlcPacket::parse(&buf[..len]).unwrap();
        if p.lct().toi == 0 {
            fdt_codepoints.push(p.lct().codepoint);
        } else {
            data_codepoints.push(p.lct().codepoint);
        }
    }
    assert!(!fdt_codepoints.is_empty());
    assert!(
        fdt_codepoints
            .iter()
            .all(|&cp| cp == u8::from(FecEncodingId::NoCode))
    );
    assert!(!data_codepoints.is_empty());
    assert!(
        data_codepoints
            .iter()
            .all(|&cp| cp == u8::from(FecEncodingId::Raptor))
    );
}

/// An object packet's symbol, with what `upcoming_payload(0)` and `(2)` said just before it
/// was written.
type Hinted = (Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

/// The object packets of one 203-byte object (21 symbols of 10 bytes in 6 blocks of up to 4).
fn symbols_with_hints(interleave_blocks: u32) -> Vec<Hinted> {
    let config = Config {
        interleave_blocks,
        ..Config::default()
    };
    let mut s = sender(config);
    assert_eq!(s.upcoming_payload(0), None, "nothing to send yet");
    s.add_object(
        PriorityQueue::HIGHEST,
        object(203, TransferConfig::default()),
    )
    .unwrap();
    let mut buf = vec![0u8; s.max_packet_len()];
    let mut out = Vec::new();
    loop {
        let next = s.upcoming_payload(0).map(<[u8]>::to_vec);
        let later = s.upcoming_payload(2).map(<[u8]>::to_vec);
        let Some(len) = s.write_next(&mut buf, t0()) else {
            break;
        };
        let p = parse(&buf[..len]);
        if p.toi != 0 {
            out.push((p.payload, next, later));
        }
    }
    assert_eq!(s.upcoming_payload(0), None, "nothing left to send");
    assert_eq!(out.len(), 21);
    out
}

/// Asserts that each `upcoming_payload(0)` given was the symbol then sent; returns how many
/// were given.
fn next_hints_hold(sent: &[Hinted]) -> usize {
    let mut given = 0;
    for (i, (symbol, next, _)) in sent.iter().enumerate() {
        if let Some(next) = next {
            assert_eq!(next, symbol, "symbol of object packet {i}");
            given += 1;
        }
    }
    given
}

#[test]
fn upcoming_payload_is_the_symbol_sent_that_many_packets_later_without_interleaving() {
    let sent = symbols_with_hints(1);
    // Only a block's first symbol comes before its block enters the window.
    assert_eq!(
        next_hints_hold(&sent),
        21 - 6,
        "every symbol but the 6 blocks' first"
    );
    for (i, (_, _, later)) in sent.iter().enumerate() {
        if let Some(later) = later {
            assert_eq!(later, &sent[i + 2].0, "symbol two after object packet {i}");
        }
    }
}

#[test]
fn upcoming_payload_follows_interleaved_blocks() {
    let sent = symbols_with_hints(4);
    let given = next_hints_hold(&sent);
    assert!(given >= 21 - 6, "{given} of 21 symbols hinted");
    for (i, (_, _, later)) in sent.iter().enumerate() {
        if let Some(later) = later {
            assert!(
                sent[i + 1..].iter().any(|(symbol, _, _)| symbol == later),
                "the symbol hinted before object packet {i} is sent after it"
            );
        }
    }
}

#[test]
fn every_fdt_file_carries_the_fec_oti_by_default() {
    let mut s = sender(Config::default());
    let toi = s
        .add_object(0, object(30, TransferConfig::default()))
        .unwrap();
    let xml = String::from_utf8(s.fdt_xml(t0())).unwrap();
    let file = xml.split("<File ").nth(1).unwrap();
    assert!(
        file.contains(r#"FEC-OTI-Encoding-Symbol-Length="10""#),
        "{xml}"
    );
    assert!(file.contains(r#"FEC-OTI-FEC-Encoding-ID="0""#), "{xml}");
    let fdt = FdtInstance::parse(xml.as_bytes(), &ParseLimits::default()).unwrap();
    assert_eq!(
        fdt.file(toi).unwrap().fec_oti.maximum_source_block_length,
        Some(4)
    );
    // The instance keeps its defaults for receivers that read them there.
    assert_eq!(fdt.fec_oti.encoding_symbol_length, Some(10));
    let s = sender(Config {
        fdt_oti_placement: crate::fdt::OtiPlacement::AsGiven,
        ..Config::default()
    });
    assert!(
        !String::from_utf8(s.fdt_xml(t0()))
            .unwrap()
            .contains("<File FEC")
    );
}

#[test]
fn dvb_mabr_profile_sends_each_no_code_object_as_one_block_without_inband_fti() {
    let mut s = sender(Config::default().with_dvb_mabr_profile());
    // 95 symbols of 10 bytes: 24 blocks of 4 by the session's OTI, one block here.
    let toi = s
        .add_object(0, object(945, TransferConfig::default()))
        .unwrap();
    let fdt = FdtInstance::parse(&s.fdt_xml(t0()), &ParseLimits::default()).unwrap();
    assert_eq!(
        fdt.file(toi).unwrap().fec_oti.maximum_source_block_length,
        Some(95)
    );
    let mut buf = vec![0u8; s.max_packet_len()];
    let (mut data, mut fdt_fti) = (Vec::new(), 0);
    while let Some(len) = s.write_next(&mut buf, t0()) {
        let p = AlcPacket::parse(&buf[..len]).unwrap();
        if p.lct().toi == 0 {
            fdt_fti += usize::from(p.fti().is_some());
            // One block too, whatever the FDT's length.
            assert_eq!(p.payload_id().unwrap().sbn, 0);
        } else {
            assert!(p.fti().is_none(), "EXT_FTI in a data packet");
            data.push(p.payload_id().unwrap());
        }
    }
    assert!(fdt_fti > 0);
    assert_eq!(data.len(), 95);
    assert!(data.iter().all(|id| id.sbn == 0));
    assert_eq!(data.last().unwrap().esi, 94);
}

#[test]
fn no_code_objects_past_65536_symbols_keep_the_session_block_length() {
    let mut s = sender(Config::default().with_dvb_mabr_profile());
    let toi = s
        .add_object(0, object(65_537 * 10, TransferConfig::default()))
        .unwrap();
    let fdt = FdtInstance::parse(&s.fdt_xml(t0()), &ParseLimits::default()).unwrap();
    assert_eq!(
        fdt.file(toi).unwrap().fec_oti.maximum_source_block_length,
        Some(4)
    );
}
