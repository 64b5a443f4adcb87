//! Every receiver cap is reached on purpose and counted under its own name: objects per
//! session, bytes held before the FDT, FEC blocks holding repair symbols, FDT instances being
//! received at once, File entries per session, queued events, completed TOIs remembered for
//! receive-once, an FDT that inflates past its cap, and content decoding stopped at its cap (with
//! and without a Content-Length). Each test checks the counter, that nothing beyond the cap was
//! kept, and that the rest of the receiver carries on.

mod receiver_support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use receiver_support::craft::{self, file};
use receiver_support::*;
use xflute::cenc::{Cenc, CencError, encode};
use xflute::receiver::{
    Config, DropReason, FailReason, Limits, MemorySink, MultiReceiver, ObjectEvent,
};
use xflute::sender::{Config as SenderConfig, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{AlcPacket, FecEncodingId, Oti, SchemeSpecific};

fn receiver(limits: Limits, receive_without_fdt: bool) -> MultiReceiver<MemorySink> {
    let config = Config {
        receive_without_fdt,
        limits,
        ..Config::default()
    };
    MultiReceiver::new(MemorySink::new(1 << 30), config)
}

/// The first packet of an object of 10 symbols, with its EXT_FTI.
fn first_packet(toi: u128) -> Vec<u8> {
    let len = 10 * u64::from(craft::SYMBOL_LEN);
    craft::packet(
        TSI,
        toi,
        0,
        0,
        &[1; craft::SYMBOL_LEN as usize],
        Some(craft::oti(len)),
        None,
        None,
        false,
    )
}

#[test]
fn described_objects_beyond_the_per_session_limit_are_object_limit_drops() {
    let now = SystemTime::now();
    let limits = Limits {
        max_objects_per_session: 3,
        ..Limits::default()
    };
    let mut r = receiver(limits, false);
    let len = 10 * u64::from(craft::SYMBOL_LEN);
    let files = (1..=5u128)
        .map(|toi| file(toi, &format!("f{toi}"), len))
        .collect();
    for p in craft::fdt(TSI, 1, files, now, 3600) {
        r.push(&endpoint(), &p, now).unwrap();
    }
    let refused = (1..=5u128)
        .filter(|&toi| r.push(&endpoint(), &first_packet(toi), now).is_err())
        .count();
    assert_eq!(refused, 2);
    assert_eq!(r.stats().drops(DropReason::ObjectLimit), 2);
    assert_eq!(r.nb_objects(), 3);
}

#[test]
fn objects_no_fdt_describes_beyond_their_pool_evict_the_idlest() {
    let now = SystemTime::now();
    let limits = Limits {
        max_unannounced_objects_per_session: 3,
        ..Limits::default()
    };
    let mut r = receiver(limits, true);
    for toi in 1..=5u128 {
        let at = now + Duration::from_millis(toi as u64);
        r.push(&endpoint(), &first_packet(toi), at).unwrap();
    }
    assert_eq!(r.nb_objects(), 3);
    assert_eq!(r.stats().unannounced_evicted, 2);
    let evicted: Vec<u128> = events(&mut r)
        .into_iter()
        .filter_map(|e| match e {
            ObjectEvent::Failed {
                toi,
                reason: FailReason::Evicted,
                ..
            } => Some(toi),
            _ => None,
        })
        .collect();
    assert_eq!(evicted, [1, 2]);
}

#[test]
fn packets_held_before_their_fdt_stop_at_the_pending_bytes_limit() {
    let now = SystemTime::now();
    let limits = Limits {
        max_pending_bytes: 3000,
        ..Limits::default()
    };
    let mut r = receiver(limits, false);
    let data = content(5 * usize::from(craft::SYMBOL_LEN), 1);
    let packets = craft::object(TSI, 1, &data, true, None, None);
    assert_eq!(packets.len(), 5);
    for p in &packets {
        let _ = r.push(&endpoint(), p, now);
        assert!(r.held_bytes() <= 3000);
    }
    assert_eq!(r.stats().held, 2);
    assert_eq!(r.stats().drops(DropReason::PendingBytesLimit), 3);
}

/// A Reed-Solomon GF(2^8) session of one object in `nb_blocks` blocks of k = 4 (n = 8).
fn rs_session(nb_blocks: usize) -> Vec<Vec<u8>> {
    let oti = Oti {
        fec_encoding_id: FecEncodingId::ReedSolomonGf28,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 100,
        maximum_source_block_length: 4,
        max_number_of_encoding_symbols: 8,
        scheme_specific: SchemeSpecific::None,
    };
    let endpoint = xflute::endpoint::UdpEndpoint::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 3400);
    let mut sender = Sender::new(endpoint, TSI, oti, SenderConfig::default()).unwrap();
    let obj = ObjectDesc::from_buffer(
        content(400 * nb_blocks, 2),
        "application/octet-stream",
        "file:///rs.bin",
        false,
        TransferConfig::default(),
    )
    .unwrap();
    sender.add_object(0, obj).unwrap();
    let start = SystemTime::now();
    let mut packets = Vec::new();
    for ms in 0..10_000 {
        let now = start + Duration::from_millis(ms);
        while let Some(p) = sender.read(now) {
            packets.push(p);
        }
        if sender.nb_objects() == 0 {
            break;
        }
    }
    packets
}

#[test]
fn repair_symbols_for_more_blocks_than_the_limit_are_block_limit_drops() {
    let now = SystemTime::now();
    let limits = Limits {
        max_concurrent_blocks: 2,
        ..Limits::default()
    };
    let mut r = receiver(limits, false);
    let packets = rs_session(10);
    let mut first_repair = std::collections::BTreeSet::new();
    for p in &packets {
        let alc = AlcPacket::parse(p).unwrap();
        let keep = match (alc.lct().toi, alc.payload_id()) {
            (0, _) => true,
            // One repair symbol (ESI >= k = 4) per block: no block completes, each wants a
            // decoder of its own.
            (_, Some(id)) => id.esi >= 4 && first_repair.insert(id.sbn),
            _ => false,
        };
        if keep {
            let _ = r.push(&endpoint(), p, now);
        }
    }
    assert_eq!(first_repair.len(), 10);
    assert_eq!(r.stats().drops(DropReason::BlockLimit), 8);
    assert_eq!(r.stats().objects_failed, 0);
    // The blocks refused a decoder still complete from their source symbols.
    for p in &packets {
        let _ = r.push(&endpoint(), p, now);
    }
    assert_eq!(r.stats().objects_completed, 1);
}

/// An FDT instance long enough to take several packets.
fn long_fdt(id: u32, now: SystemTime) -> Vec<Vec<u8>> {
    let files = (1..=40)
        .map(|t| file(u128::from(id) * 1000 + t, &format!("dir/file-{id}-{t}"), 10))
        .collect();
    craft::fdt(TSI, id, files, now, 3600)
}

#[test]
fn fdt_instances_received_at_once_beyond_the_limit_evict_the_idlest_and_are_counted() {
    let now = SystemTime::now();
    let limits = Limits {
        max_fdt_instances_receiving: 2,
        ..Limits::default()
    };
    let mut r = receiver(limits, false);
    let fdts: Vec<_> = (1..=3).map(|id| long_fdt(id, now)).collect();
    assert!(fdts.iter().all(|f| f.len() > 1));
    // The third instance takes the place of the idlest (the first): a flood of new instance
    // IDs cannot keep a new instance out.
    for (i, f) in fdts.iter().enumerate() {
        r.push(&endpoint(), &f[0], later_ms(now, i as u64)).unwrap();
    }
    assert_eq!(r.stats().drops(DropReason::FdtInstancesLimit), 1);
    assert_eq!(r.stats().drops(DropReason::FdtTooLarge), 0);
    for f in &fdts[1..] {
        for p in &f[1..] {
            r.push(&endpoint(), p, later_ms(now, 10)).unwrap();
        }
    }
    assert_eq!(r.stats().fdt_instances, 2);
    // The evicted one is received whole from its next repeat.
    for p in &fdts[0] {
        r.push(&endpoint(), p, later_ms(now, 20)).unwrap();
    }
    assert_eq!(r.stats().fdt_instances, 3);
    assert_eq!(r.memory_bytes(), r.description_bytes() as u64);
}

fn later_ms(now: SystemTime, ms: u64) -> SystemTime {
    now + Duration::from_millis(ms)
}

#[test]
fn file_entries_beyond_the_per_session_limit_are_counted_and_the_rest_kept() {
    let now = SystemTime::now();
    let limits = Limits {
        max_files_per_session: 5,
        ..Limits::default()
    };
    let mut r = receiver(limits, false);
    let files = (1..=8).map(|t| file(t, &format!("f{t}"), 10)).collect();
    for p in craft::fdt(TSI, 1, files, now, 3600) {
        r.push(&endpoint(), &p, now).unwrap();
    }
    assert_eq!(r.stats().fdt_instances, 1);
    assert_eq!(r.stats().drops(DropReason::FilesPerSessionLimit), 3);
    assert_eq!(r.announced().count(), 5);
}

#[test]
fn events_beyond_the_queue_limit_are_dropped_and_counted() {
    let now = SystemTime::now();
    let limits = Limits {
        max_events: 2,
        ..Limits::default()
    };
    let mut r = receiver(limits, true);
    for toi in 1..=3u128 {
        for p in craft::object(TSI, toi, &content(500, 3), true, None, None) {
            r.push(&endpoint(), &p, now).unwrap();
        }
    }
    let mut polled = 0u64;
    while r.poll_event().is_some() {
        polled += 1;
    }
    assert_eq!(polled, 2);
    let stats = r.stats();
    assert_eq!(stats.objects_completed, 3);
    assert!(stats.events_dropped >= 4, "{stats:?}");
    // What was dropped is only the notification: the objects are all in the sink.
    assert_eq!(r.sink_mut().take_completed().len(), 3);
}

/// The packets of a gzip bomb of `len` zero bytes described with `content_length`.
fn bomb(len: usize, content_length: Option<u64>, now: SystemTime) -> Vec<Vec<u8>> {
    let bomb = encode(Cenc::Gzip, &vec![0u8; len]).unwrap();
    let mut f = file(1, "bomb.bin", bomb.len() as u64);
    f.content_length = content_length;
    f.content_encoding = Some("gzip".into());
    let mut packets = craft::fdt(TSI, 1, vec![f], now, 3600);
    packets.extend(craft::object(TSI, 1, &bomb, false, None, None));
    packets
}

#[test]
fn content_decoding_stops_at_the_content_length_or_object_limit_and_is_counted() {
    let now = SystemTime::now();
    for (content_length, max_object_bytes, cap) in
        [(Some(1000), 1 << 30, 1000), (None, 1 << 20, 1 << 20)]
    {
        let limits = Limits {
            max_object_bytes,
            ..Limits::default()
        };
        let mut r = receiver(limits, false);
        for p in bomb(16 << 20, content_length, now) {
            let _ = r.push(&endpoint(), &p, now);
        }
        let failed: Vec<_> = events(&mut r)
            .into_iter()
            .filter_map(|e| match e {
                ObjectEvent::Failed { reason, .. } => Some(reason),
                _ => None,
            })
            .collect();
        assert_eq!(
            failed,
            vec![FailReason::ContentDecoding(CencError::TooLarge { cap })]
        );
        assert_eq!(r.stats().content_decoding_capped, 1);
        assert!(r.sink_mut().take_completed().is_empty());
        assert_eq!(r.receiving_bytes(), 0);
    }
}

#[test]
fn completed_tois_beyond_the_receive_once_memory_are_forgotten_oldest_first_and_counted() {
    let now = SystemTime::now();
    let limits = Limits {
        max_completed_per_session: 2,
        ..Limits::default()
    };
    let mut r = receiver(limits, false);
    let data = content(1500, 4);
    let files = (1..=3).map(|t| file(t, &format!("o{t}"), 1500)).collect();
    let mut packets = craft::fdt(TSI, 1, files, now, 3600);
    for toi in 1..=3 {
        packets.extend(craft::object(TSI, toi, &data, false, None, None));
    }
    for p in &packets {
        r.push(&endpoint(), p, now).unwrap();
    }
    assert_eq!(r.stats().objects_completed, 3);
    assert_eq!(r.stats().receive_once_forgotten, 1);
    // TOI 3 is remembered: a repeat is recognised. TOI 1 was forgotten: it is received again.
    for toi in [3, 1] {
        for p in craft::object(TSI, toi, &data, false, None, None) {
            r.push(&endpoint(), &p, now).unwrap();
        }
    }
    assert_eq!(r.stats().already_received, 2);
    assert_eq!(r.stats().objects_completed, 4);
}

#[test]
fn a_compressed_fdt_inflating_past_max_fdt_bytes_is_an_fdt_too_large_drop() {
    let now = SystemTime::now();
    let limits = Limits {
        max_fdt_bytes: 64 << 10,
        ..Limits::default()
    };
    let mut r = receiver(limits, false);
    let mut xml = xflute::fdt::FdtInstance::new(craft::expires_in(now, 3600));
    xml.files = vec![file(1, &"x".repeat(1 << 20), 10)];
    let xml = xml.to_xml(xflute::fdt::FdtXmlProfile::Extended);
    let gz = encode(Cenc::Gzip, &xml).unwrap();
    assert!(gz.len() < 64 << 10);
    let packets = craft::object(TSI, 0, &gz, true, Some(1), Some(Cenc::Gzip.code()));
    let refused = packets
        .iter()
        .filter(|p| r.push(&endpoint(), p, now).is_err())
        .count();
    assert_eq!(refused, 1);
    assert_eq!(r.stats().drops(DropReason::FdtTooLarge), 1);
    assert_eq!(r.stats().fdt_instances, 0);
    assert_eq!(r.description_bytes(), 0);
}

/// Repair symbols only, Reed-Solomon GF(2^16) with k = 16384 (n = 32768, E = 64): about 1.2 MB
/// of packets asking for a decode of k² coefficients and k²·E symbol bytes. Sent as TOI 0 (an
/// FDT instance nothing described) and as an object known only by its EXT_FTI.
fn rs2m_repair_flood(toi: u128) -> Vec<Vec<u8>> {
    use xflute::wire::PayloadIdFormat;
    const K: u32 = 16384;
    const E: u16 = 64;
    let oti = Oti {
        fec_encoding_id: FecEncodingId::ReedSolomonGf2m,
        fec_instance_id: 0,
        transfer_length: u64::from(K) * u64::from(E),
        encoding_symbol_length: E,
        maximum_source_block_length: K,
        max_number_of_encoding_symbols: 2 * K,
        scheme_specific: SchemeSpecific::ReedSolomonGf2m { m: 16, g: 1 },
    };
    repair_only(
        oti,
        PayloadIdFormat::ReedSolomonGf2m { m: 16 },
        toi,
        K..2 * K,
    )
}

/// Packets of block 0 of an object of one block described by `oti` (in each packet's
/// EXT_FTI), carrying junk symbols with the ESIs `esis`; as TOI 0, an FDT instance.
fn repair_only(
    oti: Oti,
    format: xflute::wire::PayloadIdFormat,
    toi: u128,
    esis: std::ops::Range<u32>,
) -> Vec<Vec<u8>> {
    use xflute::wire::{AlcRepr, ExtFdt, ExtRepr, LctRepr, PayloadId};
    let mut exts = vec![ExtRepr::Fti(oti)];
    if toi == 0 {
        exts.push(ExtRepr::Fdt(ExtFdt {
            flute_version: 2,
            fdt_instance_id: 1,
        }));
    }
    let e = oti.encoding_symbol_length;
    let payload: Vec<u8> = (0..e).map(|i| i as u8 ^ 0x5a).collect();
    // The codepoint is the FEC Encoding ID, as xflute's sender and flute set it.
    let codepoint = u8::from(oti.fec_encoding_id);
    esis.map(|esi| {
        let lct = LctRepr::with_min_widths(0, TSI, Some(toi), codepoint).unwrap();
        let repr = AlcRepr {
            lct,
            extensions: &exts,
            payload_id: Some((
                format,
                PayloadId {
                    sbn: 0,
                    esi,
                    source_block_length: None,
                },
            )),
        };
        let mut buf = vec![0u8; repr.buffer_len() + payload.len()];
        let len = repr.emit(&mut buf).unwrap();
        buf[len..].copy_from_slice(&payload);
        buf
    })
    .collect()
}

/// Issue 18, class 3: such a block is refused before any decoding work (it used to take tens of
/// seconds and hundreds of MiB on the receive worker), counted, and its scratch given back.
#[test]
fn a_reed_solomon_block_whose_decode_costs_more_than_the_budget_is_refused_and_counted() {
    let now = SystemTime::now();
    for toi in [0u128, 7] {
        let mut r = receiver(Limits::default(), true);
        let packets = rs2m_repair_flood(toi);
        for p in &packets {
            let _ = r.push(&endpoint(), p, now);
        }
        let stats = r.stats();
        // The k-th repair symbol made the block decodable and was refused with it; nothing
        // after it reaches a decoder.
        assert_eq!(
            stats.drops(DropReason::DecodeCostLimit),
            1,
            "toi {toi}: {stats:?}"
        );
        assert_eq!(stats.fdt_instances, 0);
        assert_eq!(stats.objects_completed, 0);
        // More repair symbols of the refused block are dropped at once.
        let _ = r.push(&endpoint(), &packets[0], now);
        assert_eq!(r.stats().drops(DropReason::DecodeCostLimit), 2);
        // The object (TOI 7) is still there for its source symbols; what it holds is its own.
        r.close_all(now);
        assert_eq!(r.receiving_bytes(), 0);
    }
}

/// Issue 18: RaptorQ's largest block (K = 56403, 16-byte symbols: 0.9 MB) fed only repair
/// symbols, as TOI 0 and as an object. Decoding it would mean a dense phase over every lost source symbol (gigabytes of
/// symbol operations); the solver adds up what its phases will cost once peeling is done and
/// refuses the block before that work: counted, and the block takes no more repair symbols.
#[test]
fn a_raptorq_block_whose_decode_costs_more_than_the_budget_is_refused_and_counted() {
    const K: u32 = 56_403;
    let oti = Oti {
        fec_encoding_id: FecEncodingId::RaptorQ,
        fec_instance_id: 0,
        transfer_length: u64::from(K) * 16,
        encoding_symbol_length: 16,
        maximum_source_block_length: K,
        max_number_of_encoding_symbols: K,
        scheme_specific: SchemeSpecific::RaptorQ { z: 1, n: 1, al: 4 },
    };
    let now = SystemTime::now();
    for toi in [0u128, 7] {
        let mut r = receiver(Limits::default(), true);
        let packets = repair_only(
            oti,
            xflute::wire::PayloadIdFormat::RaptorQ,
            toi,
            K..2 * K + 39,
        );
        let started = std::time::Instant::now();
        for p in &packets {
            let _ = r.push(&endpoint(), p, now);
        }
        let stats = r.stats();
        // The K-th symbol made the block decodable and was refused with it; the 39 after it
        // are refused at once.
        assert_eq!(
            stats.drops(DropReason::DecodeCostLimit),
            40,
            "toi {toi}: {stats:?}"
        );
        assert_eq!(stats.objects_completed, 0);
        assert_eq!(stats.fdt_instances, 0);
        eprintln!("toi {toi}: refused after {:?}", started.elapsed());
        r.close_all(now);
        assert_eq!(r.receiving_bytes(), 0);
    }
}

/// Issue 18: the same cap holds for Raptor (RFC 5053), checked by its solver: a block that
/// decodes at the default limits is refused, and counted, under a smaller one; at the default
/// it decodes (junk in, so the object's content is junk, but no MD5 was announced).
#[test]
fn a_raptor_block_over_the_decode_cost_limit_is_refused_and_under_it_decodes() {
    const K: u32 = 1024;
    let oti = Oti {
        fec_encoding_id: FecEncodingId::Raptor,
        fec_instance_id: 0,
        transfer_length: u64::from(K) * 64,
        encoding_symbol_length: 64,
        maximum_source_block_length: K,
        max_number_of_encoding_symbols: K,
        scheme_specific: SchemeSpecific::Raptor { z: 1, n: 1, al: 4 },
    };
    let now = SystemTime::now();
    let packets = repair_only(oti, xflute::wire::PayloadIdFormat::Raptor, 7, K..2 * K + 32);
    let small = Limits {
        max_decode_cost: 1 << 20,
        ..Limits::default()
    };
    let mut r = receiver(small, true);
    for p in &packets {
        let _ = r.push(&endpoint(), p, now);
    }
    assert!(
        r.stats().drops(DropReason::DecodeCostLimit) >= 1,
        "{:?}",
        r.stats()
    );
    assert_eq!(r.stats().objects_completed, 0);

    let mut r = receiver(Limits::default(), true);
    for p in &packets {
        let _ = r.push(&endpoint(), p, now);
    }
    assert_eq!(
        r.stats().drops(DropReason::DecodeCostLimit),
        0,
        "{:?}",
        r.stats()
    );
    assert_eq!(r.stats().objects_completed, 1, "{:?}", r.stats());
}
