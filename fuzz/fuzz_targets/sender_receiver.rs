//! Differential: xflute's `Sender` → a link that drops, duplicates and reorders as the input
//! says → xflute's `MultiReceiver`, for every FEC scheme with fuzzed symbol sizes, block
//! lengths, repair counts, contents and content encodings. What the receiver delivers must be
//! byte for byte what was sent, under the name it was sent as; over a link that loses nothing
//! every object is delivered; and nothing panics on either side.
#![no_main]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use xflute::cenc::Cenc;
use xflute::endpoint::UdpEndpoint;
use xflute::receiver::{Config as ReceiverConfig, MemorySink, MultiReceiver, ObjectEvent};
use xflute::sender::{Config, ObjectDesc, Profile, Sender, TransferConfig};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};

#[derive(Arbitrary, Debug)]
struct Input {
    scheme: Scheme,
    symbol_len: u8,
    block_len: u8,
    repair: u8,
    v1: bool,
    interleave: u8,
    objects: Vec<Object>,
    /// Bit i of byte i / 8: packet i is lost (the mask repeats); empty: no loss.
    loss: Vec<u8>,
    /// Every packet whose index is a multiple of this (+ 2) goes out twice.
    duplicate_every: Option<u8>,
    /// Packets are sent in windows of this many (+ 1), reversed.
    reverse_window: u8,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Scheme {
    NoCode,
    Rs28,
    Rs28UnderSpecified,
    Rs2m { m16: bool },
    RaptorQ { n: u8 },
    Raptor { n: u8 },
}

#[derive(Arbitrary, Debug)]
struct Object {
    content: Vec<u8>,
    cenc: u8,
    md5: bool,
}

fn oti(input: &Input) -> Oti {
    let e = u16::from(input.symbol_len).max(1) * 4;
    let b = u32::from(input.block_len % 64) + 1;
    let r = u32::from(input.repair % 32);
    let (id, b, max_n, scheme_specific) = match input.scheme {
        Scheme::NoCode => (FecEncodingId::NoCode, b, b, SchemeSpecific::None),
        Scheme::Rs28 => (
            FecEncodingId::ReedSolomonGf28,
            b,
            (b + r).min(255),
            SchemeSpecific::None,
        ),
        Scheme::Rs28UnderSpecified => (
            FecEncodingId::ReedSolomonGf28UnderSpecified,
            b,
            (b + r).min(255),
            SchemeSpecific::None,
        ),
        Scheme::Rs2m { m16 } => (
            FecEncodingId::ReedSolomonGf2m,
            b,
            b + r,
            SchemeSpecific::ReedSolomonGf2m {
                m: if m16 { 16 } else { 8 },
                g: 1,
            },
        ),
        Scheme::RaptorQ { n } => (
            FecEncodingId::RaptorQ,
            b.max(4),
            b.max(4) + r,
            SchemeSpecific::RaptorQ {
                z: 0,
                n: u16::from(n % 4) + 1,
                al: 4,
            },
        ),
        Scheme::Raptor { n } => (
            FecEncodingId::Raptor,
            b.max(4),
            b.max(4) + r,
            SchemeSpecific::Raptor {
                z: 0,
                n: n % 4 + 1,
                al: 4,
            },
        ),
    };
    Oti {
        fec_encoding_id: id,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: e,
        maximum_source_block_length: b,
        max_number_of_encoding_symbols: max_n,
        scheme_specific,
    }
}

fuzz_target!(|input: Input| {
    let oti = oti(&input);
    let config = Config {
        profile: if input.v1 {
            Profile::Rfc3926
        } else {
            Profile::Rfc6726
        },
        interleave_blocks: u32::from(input.interleave % 8),
        ..Config::default()
    };
    let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(239, 9, 9, 9)), 3400);
    let Ok(mut sender) = Sender::new(endpoint, 42, oti, config) else {
        return;
    };
    let mut sent = BTreeMap::new();
    for (i, object) in input.objects.iter().take(4).enumerate() {
        let content: Vec<u8> = object.content.iter().copied().take(16 << 10).collect();
        let name = format!("obj{i}.bin");
        let transfer = TransferConfig {
            cenc: Cenc::from_code(object.cenc % 4).unwrap_or(Cenc::Null),
            inband_cenc: object.cenc & 4 != 0,
            ..TransferConfig::default()
        };
        let Ok(desc) = ObjectDesc::from_buffer(
            content.clone(),
            "application/octet-stream",
            format!("file:///{name}"),
            object.md5,
            transfer,
        ) else {
            continue;
        };
        // A scheme may refuse an object (Raptor needs K >= 4 per block): not a receiver matter.
        if sender.add_object(0, desc).is_ok() {
            sent.insert(name, content);
        }
    }
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_760_000_000);
    let mut packets = Vec::new();
    let mut buf = vec![0u8; sender.max_packet_len().max(2048)];
    for ms in 0..2000u64 {
        let now = start + Duration::from_millis(ms);
        while let Some(len) = sender.write_next(&mut buf, now) {
            packets.push(buf[..len].to_vec());
            if packets.len() > 20_000 {
                return;
            }
        }
        if sender.nb_objects() == 0 {
            break;
        }
    }
    let lossless = input.loss.iter().all(|&b| b == 0);
    let mut link = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let lost = !input.loss.is_empty()
            && input.loss[(i / 8) % input.loss.len()] & (1 << (i % 8)) != 0;
        if lost {
            continue;
        }
        link.push(p);
        if input.duplicate_every.is_some_and(|d| i % (usize::from(d) + 2) == 0) {
            link.push(p);
        }
    }
    let window = usize::from(input.reverse_window % 16) + 1;
    for chunk in link.chunks_mut(window) {
        chunk.reverse();
    }
    let mut receiver = MultiReceiver::new(MemorySink::new(1 << 24), ReceiverConfig::default());
    let now = start + Duration::from_secs(1);
    for p in &link {
        let _ = receiver.push(&endpoint, p, now);
    }
    let mut failed = Vec::new();
    while let Some(event) = receiver.poll_event() {
        if let ObjectEvent::Failed { toi, reason, .. } = event {
            failed.push((toi, reason));
        }
    }
    let mut delivered = BTreeMap::new();
    for object in receiver.sink_mut().take_completed() {
        let name = object
            .desc
            .path
            .as_ref()
            .map(|p| p.to_relative_string())
            .expect("an object described by the FDT has a path");
        let expected = sent
            .get(&name)
            .unwrap_or_else(|| panic!("{name} delivered but never sent"));
        assert!(*object.data == expected[..], "{name}: delivered bytes differ from those sent");
        delivered.insert(name, ());
    }
    if lossless {
        assert!(failed.is_empty(), "lossless link, yet failures: {failed:?}");
        assert_eq!(delivered.len(), sent.len(), "lossless link, yet not every object delivered");
    }
});
