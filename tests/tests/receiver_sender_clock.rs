//! FDT expiry on the sender's clock (EXT_TIME, RFC 5651 §5.2.2): xflute's sender puts its
//! current time in every FDT packet, and a receiver whose clock differs by hours still takes
//! its instances for as long as they are valid, and no longer; without that time it judges
//! Expires on its own clock.

mod receiver_support;

use std::time::{Duration, SystemTime};

use receiver_support::*;
use xflute::receiver::DropReason;
use xflute::sender::{Config, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};

/// The packets of a session holding one 3000-byte object, sent at `sender_now` with FDT
/// instances valid 60 s, with or without the Sender Current Time.
fn session(sender_now: SystemTime, sct: bool) -> Vec<Vec<u8>> {
    let config = Config {
        fdt_duration: Duration::from_secs(60),
        fdt_inband_sct: sct,
        // The object is known by its FDT only.
        inband_fti: false,
        ..Config::default()
    };
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 1000,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 64,
        scheme_specific: SchemeSpecific::None,
    };
    let mut sender = Sender::new(endpoint(), TSI, oti, config).unwrap();
    let object = ObjectDesc::from_buffer(
        content(3000, 9),
        "application/octet-stream",
        "clock.bin",
        false,
        TransferConfig::default(),
    )
    .unwrap();
    sender.add_object(0, object).unwrap();
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut packets = Vec::new();
    while let Some(len) = sender.write_next(&mut buf, sender_now) {
        packets.push(buf[..len].to_vec());
    }
    packets
}

/// (objects completed, FDT instances refused as expired): the FDT packets taken at the
/// receiver's `now`, the data packets at `data_now`.
fn receive_at(packets: &[Vec<u8>], now: SystemTime, data_now: SystemTime) -> (usize, u64) {
    let mut receiver = memory_receiver();
    let is_fdt = |p: &Vec<u8>| xflute::wire::AlcPacket::parse(p).is_ok_and(|a| a.lct().toi == 0);
    for p in packets.iter().filter(|p| is_fdt(p)) {
        let _ = receiver.push(&endpoint(), p, now);
    }
    receiver.cleanup(data_now);
    for p in packets.iter().filter(|p| !is_fdt(p)) {
        let _ = receiver.push(&endpoint(), p, data_now);
    }
    let expired = receiver.stats().drops(DropReason::FdtExpired);
    (receiver.sink_mut().take_completed().len(), expired)
}

fn receive(packets: &[Vec<u8>], now: SystemTime) -> (usize, u64) {
    receive_at(packets, now, now)
}

#[test]
fn a_sender_clock_hours_off_is_taken_into_account_by_its_sender_current_time() {
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    // The sender's clock an hour behind: its Expires is an hour ago by ours.
    assert_eq!(receive(&session(now - hour, true), now), (1, 0));
    assert_eq!(receive(&session(now - hour, false), now).0, 0);
    assert!(receive(&session(now - hour, false), now).1 > 0);
    // Ahead by an hour: the instance describes the object for 60 s of our clock, not for the
    // hour and a minute its Expires is away on ours.
    let ahead = session(now + hour, true);
    assert_eq!(receive_at(&ahead, now, now + Duration::from_secs(30)).0, 1);
    assert_eq!(receive_at(&ahead, now, now + Duration::from_secs(90)).0, 0);
    let no_sct = session(now + hour, false);
    assert_eq!(receive_at(&no_sct, now, now + Duration::from_secs(90)).0, 1);
}
