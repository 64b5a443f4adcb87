//! Block decodes handed out of `push` (`Config::defer_decode_from_bytes`, issue 19): `push`
//! decodes nothing itself, the jobs run on another thread and come back with
//! `finish_decode`; the objects are recovered byte-exact, the symbols of a block away are not
//! taken, and a job whose object has ended meanwhile lands nowhere.

mod receiver_support;

use std::time::{Duration, SystemTime};

use receiver_support::*;
use xflute::receiver::{Config, DecodeJob, MemorySink, MultiReceiver, ObjectEvent};
use xflute::sender::Config as SenderConfig;
use xflute::wire::{AlcPacket, FecEncodingId, Oti, SchemeSpecific};
use xflute_tests::link::{Link, LinkConfig};

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn oti(id: FecEncodingId, k: u32, repair: u32) -> Oti {
    Oti {
        fec_encoding_id: id,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 1000,
        maximum_source_block_length: k,
        max_number_of_encoding_symbols: k + repair,
        scheme_specific: match id {
            FecEncodingId::RaptorQ => SchemeSpecific::RaptorQ { z: 0, n: 1, al: 4 },
            FecEncodingId::ReedSolomonGf2m => SchemeSpecific::ReedSolomonGf2m { m: 8, g: 1 },
            _ => SchemeSpecific::None,
        },
    }
}

/// Every packet of one object of `data`, sent once with `oti`.
fn packets(oti: Oti, data: &[u8]) -> Vec<Vec<u8>> {
    let config = SenderConfig::default();
    xflute_object_packets(oti, None, config, data, "file:///deferred.bin", t0())
}

fn deferring_receiver() -> MultiReceiver<MemorySink> {
    let config = Config {
        defer_decode_from_bytes: Some(1),
        ..Config::default()
    };
    MultiReceiver::new(MemorySink::new(1 << 30), config)
}

/// Runs `jobs` on a thread of their own, as the receive runtime's stage does.
fn run_elsewhere(jobs: Vec<DecodeJob>) -> Vec<DecodeJob> {
    std::thread::spawn(move || {
        let mut jobs = jobs;
        for job in &mut jobs {
            job.run();
        }
        jobs
    })
    .join()
    .unwrap()
}

/// Sends the object through a link losing 10%, the FDT kept, with the decodes run elsewhere
/// every `every` packets. Returns the receiver and how many jobs it handed out.
fn receive(oti: Oti, data: &[u8], seed: u64, every: usize) -> (MultiReceiver<MemorySink>, usize) {
    let mut receiver = deferring_receiver();
    let mut link = Link::new(LinkConfig {
        loss: 0.1,
        seed,
        ..LinkConfig::default()
    });
    let mut handed_out = 0;
    let mut pending: Vec<DecodeJob> = Vec::new();
    for (i, pkt) in packets(oti, data).iter().enumerate() {
        let kept = if AlcPacket::parse(pkt).unwrap().lct().toi == 0 {
            vec![pkt.clone()]
        } else {
            link.send(pkt)
        };
        for p in kept {
            let _ = receiver.push(&endpoint(), &p, t0());
        }
        let jobs = receiver.take_decode_jobs();
        handed_out += jobs.len();
        pending.extend(jobs);
        if i % every == every - 1 {
            for job in run_elsewhere(std::mem::take(&mut pending)) {
                receiver.finish_decode(job, t0());
            }
        }
    }
    for p in link.flush() {
        let _ = receiver.push(&endpoint(), &p, t0());
    }
    pending.extend(receiver.take_decode_jobs());
    handed_out += pending.len();
    for job in run_elsewhere(pending) {
        receiver.finish_decode(job, t0());
    }
    (receiver, handed_out)
}

#[test]
fn blocks_decoded_off_push_complete_the_object_byte_exact() {
    let data = content(300_000, 7);
    for (id, k, repair) in [
        (FecEncodingId::RaptorQ, 64, 24),
        (FecEncodingId::ReedSolomonGf2m, 64, 24),
    ] {
        let (mut receiver, handed_out) = receive(oti(id, k, repair), &data, 3, 40);
        let done = receiver.sink_mut().take_completed();
        assert_eq!(done.len(), 1, "{id:?}: {:?}", receiver.stats());
        assert_eq!(*done[0].data, *data, "{id:?}");
        // Five blocks with about 10% of their symbols lost each: each went away.
        assert!(handed_out >= 5, "{id:?}: {handed_out} jobs");
        assert!(receiver.stats().repair_symbols_used > 0);
        assert!(receiver.take_decode_jobs().is_empty());
        assert_eq!(
            receiver.receiving_bytes(),
            0,
            "{id:?}: budget not given back"
        );
    }
}

#[test]
fn push_leaves_a_block_away_alone_until_its_decode_comes_back() {
    let data = content(64_000, 9);
    let oti = oti(FecEncodingId::RaptorQ, 64, 32);
    let mut receiver = deferring_receiver();
    let all = packets(oti, &data);
    // Source symbols 0..4 lost: the block is decodable once k symbols are in.
    let lost = |p: &[u8]| {
        let alc = AlcPacket::parse(p).unwrap();
        alc.lct().toi != 0 && alc.payload_id().is_some_and(|id| id.esi < 4)
    };
    let mut jobs = Vec::new();
    let mut after = 0;
    for p in all.iter().filter(|p| !lost(p)) {
        let _ = receiver.push(&endpoint(), p, t0());
        if jobs.is_empty() {
            jobs = receiver.take_decode_jobs();
        } else {
            after += 1;
        }
    }
    assert_eq!(jobs.len(), 1, "one decode, handed out");
    assert!(after > 0, "symbols came after the block went away");
    assert!(
        receiver.take_decode_jobs().is_empty(),
        "not handed out twice"
    );
    assert!(
        receiver.sink_mut().take_completed().is_empty(),
        "push decodes nothing"
    );
    assert!(
        receiver.memory_bytes() >= 64_000,
        "the copy out is charged: {}",
        receiver.memory_bytes()
    );
    for job in run_elsewhere(jobs) {
        receiver.finish_decode(job, t0());
    }
    let done = receiver.sink_mut().take_completed();
    assert_eq!(done.len(), 1);
    assert_eq!(*done[0].data, *data);
}

#[test]
fn a_decode_whose_object_ended_meanwhile_lands_nowhere() {
    let data = content(64_000, 11);
    let oti = oti(FecEncodingId::RaptorQ, 64, 32);
    let mut receiver = deferring_receiver();
    // The first 8 source symbols lost.
    let mut objects = 0;
    for p in packets(oti, &data) {
        if AlcPacket::parse(&p).unwrap().lct().toi != 0 {
            objects += 1;
            if objects <= 8 {
                continue;
            }
        }
        let _ = receiver.push(&endpoint(), &p, t0());
    }
    let jobs = receiver.take_decode_jobs();
    assert_eq!(jobs.len(), 1);
    receiver.close_all(t0());
    let failed = std::iter::from_fn(|| receiver.poll_event())
        .filter(|e| matches!(e, ObjectEvent::Failed { .. }))
        .count();
    assert_eq!(failed, 1);
    for job in run_elsewhere(jobs) {
        receiver.finish_decode(job, t0());
    }
    assert!(receiver.sink_mut().take_completed().is_empty());
    assert!(
        std::iter::from_fn(|| receiver.poll_event())
            .next()
            .is_none(),
        "nothing more happens to an ended object"
    );
}

#[test]
fn blocks_past_what_may_be_away_wait_for_room_then_go_when_it_comes_back() {
    // Six blocks, the first source symbol of each lost: each is due once its repair comes.
    let data = content(6 * 64 * 1000, 13);
    let oti = oti(FecEncodingId::RaptorQ, 64, 16);
    let all = packets(oti, &data);
    let lost = |p: &[u8]| {
        let alc = AlcPacket::parse(p).unwrap();
        alc.lct().toi != 0 && alc.payload_id().is_some_and(|id| id.esi == 0)
    };
    let mut receiver = deferring_receiver();
    for p in all.iter().filter(|p| !lost(p)) {
        let _ = receiver.push(&endpoint(), p, t0());
    }
    // At most four blocks of an object away; the other two wait, undecoded.
    let first = receiver.take_decode_jobs();
    assert_eq!(first.len(), 4);
    assert!(receiver.sink_mut().take_completed().is_empty());
    for job in run_elsewhere(first) {
        receiver.finish_decode(job, t0());
    }
    // Their room back, the two waiting blocks go out: they hold every symbol already, and
    // none may come again to try them.
    let second = receiver.take_decode_jobs();
    assert_eq!(second.len(), 2);
    for job in run_elsewhere(second) {
        receiver.finish_decode(job, t0());
    }
    let done = receiver.sink_mut().take_completed();
    assert_eq!(done.len(), 1);
    assert_eq!(*done[0].data, *data);
}

#[test]
fn a_fountain_block_is_charged_for_the_repair_symbols_it_keeps_not_the_most_it_could() {
    // K = 256 symbols of 1000 bytes: up to K + 32 repair symbols, 288 kB, could be kept.
    let data = content(256 * 1000, 17);
    let oti = oti(FecEncodingId::RaptorQ, 256, 32);
    let all = packets(oti, &data);
    let mut receiver = MultiReceiver::new(MemorySink::new(1 << 30), Config::default());
    let (mut repairs, mut descriptions, mut before) = (0, None, None);
    for p in &all {
        let alc = AlcPacket::parse(p).unwrap();
        let Some(id) = alc.payload_id().filter(|_| alc.lct().toi != 0) else {
            let _ = receiver.push(&endpoint(), p, t0());
            continue;
        };
        descriptions.get_or_insert(receiver.memory_bytes());
        // 20 source symbols lost; the first 5 repair symbols kept, not enough to decode.
        if id.esi < 20 || (id.esi >= 256 && repairs == 5) {
            continue;
        }
        if id.esi >= 256 {
            before.get_or_insert(receiver.memory_bytes());
            repairs += 1;
        }
        let _ = receiver.push(&endpoint(), p, t0());
    }
    let held = receiver.memory_bytes() - before.unwrap();
    assert_eq!(held, 5 * 1000, "charged for the five kept");
    // The rest of the repair symbols: the block decodes, and every charge comes back.
    for p in &all {
        let _ = receiver.push(&endpoint(), p, t0());
    }
    assert_eq!(receiver.sink_mut().take_completed().len(), 1);
    assert_eq!(
        Some(receiver.memory_bytes()),
        descriptions,
        "only the FDT's descriptions"
    );
}
