//! Unicast file repair (3GPP TS 26.346 §9.3) planned by the sans-IO receiver: flute 1.11.7
//! sends one object once, a seeded fifth of its packets is lost (never the FDT's), and the
//! object the receiver hands over asks for exactly the source symbols each block still lacks
//! (with no-code every missing one), none it holds; fed the file's bytes, it decodes, passes
//! its MD5 check and commits.

mod receiver_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use flute::core::Oti as FluteOti;
use flute::core::lct::Cenc as FluteCenc;
use receiver_support::*;
use xflute::fec::BlockPartition;
use xflute::receiver::{IncompleteObject, MemorySinkObject, MultiReceiver};
use xflute::wire::AlcPacket;
use xflute_tests::data::SplitMix64;

/// The object handed over after a one-pass session with `loss`, its bytes, and the distinct
/// ESIs of each block that arrived.
struct Lossy {
    receiver: MultiReceiver<xflute::receiver::MemorySink>,
    object: IncompleteObject<MemorySinkObject>,
    data: Vec<u8>,
    arrived: BTreeMap<u32, BTreeSet<u32>>,
}

fn lossy(oti: &FluteOti, len: usize, loss: f64, seed: u64) -> Lossy {
    let data = content(len, seed);
    let now = SystemTime::now();
    let objects = vec![(0, object("r.bin", data.clone(), FluteCenc::Null, true, 1))];
    let packets = flute_session(oti, &sender_config(), objects, now);
    let mut receiver = memory_receiver();
    receiver.set_hand_over_incomplete(true);
    let mut rng = SplitMix64::new(seed);
    let mut arrived: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for packet in &packets {
        let alc = AlcPacket::parse(packet).unwrap();
        if alc.lct().toi != 0 {
            if rng.next_f64() < loss {
                continue;
            }
            let id = alc.payload_id().unwrap();
            arrived.entry(id.sbn).or_default().insert(id.esi);
        }
        let _ = receiver.push(&endpoint(), packet, now);
    }
    receiver.close_all(now);
    let object = receiver
        .take_incomplete()
        .expect("the object is handed over");
    assert!(receiver.take_incomplete().is_none());
    assert_eq!(receiver.stats().objects_handed_over, 1);
    assert_eq!(receiver.stats().objects_failed, 0);
    Lossy {
        receiver,
        object,
        data,
        arrived,
    }
}

/// Feeds the planned ranges from the file and checks the object commits byte-exact.
fn repair_and_commit(mut l: Lossy) {
    let plan = l.object.plan();
    for r in &plan.ranges {
        l.object
            .feed(r.start, &l.data[r.start as usize..r.end as usize])
            .unwrap();
    }
    assert!(l.object.is_complete());
    assert!(l.object.plan().is_empty());
    l.object.finish().unwrap();
    let done = l.receiver.sink_mut().take_completed();
    assert_eq!(done.len(), 1);
    assert!(done[0].data == l.data, "the repaired object differs");
}

/// For an RFC 5052 partition: the plan asks for max(0, k − arrived) source symbols per
/// block, only in the blocks the FEC cannot decode, and none that arrived.
fn assert_minimal(l: &Lossy, partition: &BlockPartition) {
    let plan = l.object.plan();
    let symbol_len = u64::from(partition.symbol_len());
    let mut asked: BTreeMap<u32, u32> = BTreeMap::new();
    for r in &plan.ranges {
        assert_eq!(r.start % symbol_len, 0);
        for symbol in r.start / symbol_len..r.end.div_ceil(symbol_len) {
            let sbn = (0..partition.nb_blocks())
                .rfind(|&b| partition.first_symbol_of_block(b).unwrap() <= symbol)
                .unwrap();
            let esi = (symbol - partition.first_symbol_of_block(sbn).unwrap()) as u32;
            let sbn = sbn as u32;
            assert!(
                !l.arrived.get(&sbn).is_some_and(|s| s.contains(&esi)),
                "asked for symbol {esi} of block {sbn}, which arrived"
            );
            *asked.entry(sbn).or_default() += 1;
        }
    }
    let mut blocks_beyond_fec = 0;
    for sbn in 0..partition.nb_blocks() as u32 {
        let k = partition.block_len_symbols(u64::from(sbn)).unwrap();
        let have = l.arrived.get(&sbn).map_or(0, |s| s.len() as u32);
        let need = k.saturating_sub(have);
        blocks_beyond_fec += u64::from(need > 0);
        assert_eq!(
            asked.get(&sbn).copied().unwrap_or(0),
            need,
            "block {sbn}: k {k}, {have} symbols arrived"
        );
    }
    assert!(blocks_beyond_fec > 0, "the loss left every block decodable");
    assert_eq!(plan.blocks, blocks_beyond_fec);
    assert_eq!(
        plan.symbols,
        asked.values().map(|&n| u64::from(n)).sum::<u64>()
    );
}

#[test]
fn reed_solomon_k64_r8_20pct_loss_asks_only_what_each_block_lacks_then_commits() {
    let len = 2_000_000;
    for seed in 1..=3 {
        let oti = FluteOti::new_reed_solomon_rs28(1000, 64, 8).unwrap();
        let l = lossy(&oti, len, 0.2, seed);
        let partition = BlockPartition::rfc5052(len as u64, 1000, 64).unwrap();
        assert_minimal(&l, &partition);
        // Less than without FEC: the blocks it decoded, and the repair symbols of the others.
        assert!(l.object.plan().bytes() < l.object.missing_bytes());
        repair_and_commit(l);
    }
}

#[test]
fn reed_solomon_gf2m_k64_r8_asks_only_what_each_block_lacks_then_commits() {
    let len = 500_000;
    let oti = FluteOti::new_reed_solomon_rs2m(1000, 64, 8, 16).unwrap();
    let l = lossy(&oti, len, 0.2, 7);
    assert_minimal(&l, &BlockPartition::rfc5052(len as u64, 1000, 64).unwrap());
    repair_and_commit(l);
}

#[test]
fn no_code_asks_for_exactly_the_missing_bytes_then_commits() {
    let len = 777_777;
    let oti = FluteOti::new_no_code(1400, 64);
    let l = lossy(&oti, len, 0.2, 11);
    assert_minimal(&l, &BlockPartition::rfc5052(len as u64, 1400, 64).unwrap());
    assert_eq!(l.object.plan().bytes(), l.object.missing_bytes());
    repair_and_commit(l);
}

#[test]
fn raptorq_asks_at_most_the_missing_symbols_and_commits() {
    for (oti, seed) in [
        (FluteOti::new_raptorq(1024, 64, 16, 1, 4).unwrap(), 21),
        // Sub-blocks: blocks beyond the FEC are fetched whole.
        (FluteOti::new_raptorq(1024, 64, 16, 4, 8).unwrap(), 22),
    ] {
        let l = lossy(&oti, 1_000_000, 0.2, seed);
        let plan = l.object.plan();
        assert!(!plan.is_empty());
        assert!(plan.bytes() <= 1_000_000);
        repair_and_commit(l);
    }
}

#[test]
fn wrong_repair_bytes_fail_the_md5_check() {
    let len = 300_000;
    let oti = FluteOti::new_no_code(1400, 64);
    let mut l = lossy(&oti, len, 0.2, 5);
    let plan = l.object.plan();
    for r in &plan.ranges {
        let wrong: Vec<u8> = l.data[r.start as usize..r.end as usize]
            .iter()
            .map(|b| b ^ 1)
            .collect();
        l.object.feed(r.start, &wrong).unwrap();
    }
    assert!(l.object.is_complete());
    assert_eq!(
        l.object.finish(),
        Err(xflute::receiver::FailReason::Md5Mismatch)
    );
    assert!(l.receiver.sink_mut().take_completed().is_empty());
}

#[test]
fn an_object_the_fdt_lists_of_which_no_packet_came_is_handed_over_and_fetched_whole() {
    // A receiver that joined after the object's transfer: it holds the FDT only.
    for oti in [
        FluteOti::new_no_code(1400, 64),
        FluteOti::new_reed_solomon_rs28(1000, 64, 8).unwrap(),
    ] {
        let len = 400_000;
        let l = lossy(&oti, len, 1.0, 3);
        assert!(l.arrived.is_empty());
        let plan = l.object.plan();
        assert_eq!(
            plan.ranges,
            vec![0..len as u64],
            "the whole file, in one range"
        );
        assert_eq!(l.object.missing_bytes(), len as u64);
        repair_and_commit(l);
    }
}

#[test]
fn without_a_hand_over_an_object_of_which_no_packet_came_is_not_started() {
    let data = content(50_000, 9);
    let now = SystemTime::now();
    let objects = vec![(0, object("u.bin", data, FluteCenc::Null, true, 1))];
    let packets = flute_session(
        &FluteOti::new_no_code(1400, 64),
        &sender_config(),
        objects,
        now,
    );
    let mut receiver = memory_receiver();
    for packet in &packets {
        if AlcPacket::parse(packet).unwrap().lct().toi == 0 {
            let _ = receiver.push(&endpoint(), packet, now);
        }
    }
    receiver.close_all(now);
    assert!(receiver.take_incomplete().is_none());
    assert_eq!(receiver.stats().objects_started, 0);
    assert!(receiver.sink_mut().take_completed().is_empty());
}

/// Every packet flute's `sender` writes from `start` for `span`, FDT packets only.
fn fdt_packets(
    sender: &mut flute::sender::Sender,
    start: SystemTime,
    span: std::time::Duration,
) -> Vec<Vec<u8>> {
    let mut now = start;
    let mut packets = Vec::new();
    while now < start + span {
        match sender.read(now) {
            Some(p) if AlcPacket::parse(&p).unwrap().lct().toi == 0 => packets.push(p),
            Some(_) => {}
            None => now += std::time::Duration::from_millis(10),
        }
    }
    packets
}

#[test]
fn of_two_versions_of_a_file_no_packet_came_of_only_the_one_listed_last_is_handed_over() {
    // The sender replaced v.bin before the receiver got a packet of either version: fetching
    // the old one too would publish it and then overwrite it.
    let start = SystemTime::now();
    let mut sender = flute::sender::Sender::new(
        flute::core::UDPEndpoint::new(None, "224.0.0.1".to_owned(), 3400),
        TSI,
        &FluteOti::new_no_code(1400, 64),
        &sender_config(),
    );
    let old = object("v.bin", content(30_000, 1), FluteCenc::Null, true, 1);
    let old_toi = sender.add_object(0, old).unwrap();
    sender.publish(start).unwrap();
    let mut packets = fdt_packets(&mut sender, start, std::time::Duration::from_secs(1));
    let _ = sender.remove_object(old_toi);
    let new = object("v.bin", content(40_000, 2), FluteCenc::Null, true, 1);
    let new_toi = sender.add_object(0, new).unwrap();
    let later = start + std::time::Duration::from_secs(1);
    sender.publish(later).unwrap();
    packets.extend(fdt_packets(
        &mut sender,
        later,
        std::time::Duration::from_secs(1),
    ));

    let mut receiver = memory_receiver();
    receiver.set_hand_over_incomplete(true);
    for packet in &packets {
        let _ = receiver.push(&endpoint(), packet, start);
    }
    assert!(receiver.stats().fdt_instances >= 2, "both instances arrive");
    receiver.close_all(later);
    let object = receiver.take_incomplete().expect("the new version");
    assert_eq!(object.toi(), new_toi);
    assert_eq!(object.missing_bytes(), 40_000);
    assert!(
        receiver.take_incomplete().is_none(),
        "the old version {old_toi} was handed over too"
    );
}

#[test]
fn an_object_handed_over_before_its_session_ends_is_not_handed_over_again_at_its_end() {
    // Handed over when it timed out, repaired elsewhere: the session's end must not start it
    // again as an object of which nothing came, nor must its repeats.
    let now = SystemTime::now();
    let objects = vec![(
        0,
        object("t.bin", content(200_000, 5), FluteCenc::Null, true, 1),
    )];
    let packets = flute_session(
        &FluteOti::new_no_code(1400, 64),
        &sender_config(),
        objects,
        now,
    );
    let mut receiver = memory_receiver();
    receiver.set_hand_over_incomplete(true);
    let lossy =
        |i: usize, p: &Vec<u8>| AlcPacket::parse(p).unwrap().lct().toi == 0 || !i.is_multiple_of(5);
    for (i, packet) in packets.iter().enumerate() {
        if lossy(i, packet) {
            let _ = receiver.push(&endpoint(), packet, now);
        }
    }
    receiver.cleanup(now + std::time::Duration::from_secs(11));
    let object = receiver
        .take_incomplete()
        .expect("handed over once timed out");
    assert!(object.missing_bytes() > 0);
    let later = now + std::time::Duration::from_secs(12);
    for (i, packet) in packets.iter().enumerate() {
        if lossy(i, packet) {
            let _ = receiver.push(&endpoint(), packet, later);
        }
    }
    receiver.close_all(later);
    assert!(receiver.take_incomplete().is_none(), "handed over twice");
    assert_eq!(receiver.stats().objects_handed_over, 1);
    assert_eq!(receiver.stats().objects_started, 1);
}
