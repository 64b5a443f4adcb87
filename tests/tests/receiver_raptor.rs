//! Raptor (RFC 5053, FEC Encoding ID 1) objects from flute 1.11.7's sender into xflute's
//! `MultiReceiver`, with the losses of issue 19 that the `raptor-code` crate's path did not
//! survive: a one-block object (K = 64) with 6 source symbols lost and 71 symbols received,
//! a block whose source symbols were all lost, and an object with 3% loss and 20% repair over
//! 4 seeds. Our decoder is maximum-likelihood: each of these determines its blocks, so each
//! must be recovered byte-exact, its MD5 checked.

mod receiver_support;

use std::time::{Duration, SystemTime};

use flute::core::Oti as FluteOti;
use flute::core::lct::Cenc as FluteCenc;
use receiver_support::*;
use xflute::receiver::DropReason;
use xflute::wire::AlcPacket;
use xflute_tests::data::SplitMix64;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

/// The packets of one object of `data` sent once by flute with Raptor, T = `t`, blocks of at
/// most `k` symbols and `repair` repair symbols each.
fn flute_raptor_packets(t: u16, k: u32, repair: u32, data: &[u8]) -> Vec<Vec<u8>> {
    let oti = FluteOti::new_raptor(t, k as u16, repair as u16, 1, 4).unwrap();
    let objects = vec![(
        0,
        object("raptor.bin", data.to_vec(), FluteCenc::Null, true, 1),
    )];
    flute_session(&oti, &sender_config(), objects, t0())
}

/// Whether the receiver rebuilds `data` from the packets `keep` lets through (TOI 0, the FDT,
/// always goes through).
fn recovered(packets: &[Vec<u8>], data: &[u8], mut keep: impl FnMut(u32, u32) -> bool) -> bool {
    let mut receiver = memory_receiver();
    let ep = endpoint();
    for pkt in packets {
        let alc = AlcPacket::parse(pkt).unwrap();
        let through = alc.lct().toi == 0 || alc.payload_id().is_some_and(|id| keep(id.sbn, id.esi));
        if through {
            receiver.push(&ep, pkt, t0()).unwrap();
        }
    }
    let stats = receiver.stats();
    assert_eq!(stats.drops(DropReason::FecDecode), 0, "{stats:?}");
    let done = receiver.sink_mut().take_completed();
    done.iter().any(|o| *o.data == *data)
}

#[test]
fn raptor_one_block_k64_with_6_source_symbols_lost_and_71_received_is_recovered() {
    let data = content(64 * 512, 19);
    let packets = flute_raptor_packets(512, 64, 13, &data);
    let lost = [3u32, 9, 17, 30, 41, 60];
    let mut received = 0;
    let ok = recovered(&packets, &data, |_, esi| {
        let keep = !lost.contains(&esi);
        received += u32::from(keep);
        keep
    });
    assert_eq!(received, 71);
    assert!(ok);
}

#[test]
fn raptor_block_with_every_source_symbol_lost_is_recovered_from_repair_alone() {
    let data = content(64 * 512, 20);
    let packets = flute_raptor_packets(512, 64, 74, &data);
    assert!(recovered(&packets, &data, |_, esi| esi >= 64));
}

#[test]
fn raptor_object_with_3_percent_loss_and_20_percent_repair_is_recovered_for_4_seeds() {
    // Issue 19's 100 MB object scaled to a debug-build test: 24 blocks of K = 256.
    let (t, k) = (256u16, 256u32);
    let data = content(24 * k as usize * usize::from(t) - 100, 21);
    let packets = flute_raptor_packets(t, k, k / 5, &data);
    for seed in 1..=4u64 {
        let mut rng = SplitMix64::new(seed);
        let ok = recovered(&packets, &data, |_, _| rng.next_u64() % 100 >= 3);
        assert!(ok, "seed {seed}");
    }
}

/// A cheap block whose first attempts fail (at K, K + 1: Raptor is not MDS) is tried again at
/// every new symbol, so it decodes whenever the symbols it ends with determine it: for 60
/// random sets of K + 0..4 symbols of a one-block object, the receiver completes it exactly
/// when our decoder, handed the whole set at once, decodes it.
#[test]
fn a_raptor_block_decodes_whenever_the_symbols_it_ends_with_determine_it() {
    use xflute::fec::FountainSolver;
    use xflute::fec::raptor::{RaptorReceived, RaptorSolver};
    let (t, k) = (64u16, 32u32);
    let data = content(k as usize * usize::from(t), 22);
    let packets = flute_raptor_packets(t, k, 3 * k, &data);
    let symbols: Vec<(u32, Vec<u8>)> = packets
        .iter()
        .filter_map(|p| {
            let alc = AlcPacket::parse(p).ok()?;
            let id = alc.payload_id()?;
            (alc.lct().toi != 0).then(|| (id.esi, alc.payload().to_vec()))
        })
        .collect();
    let (mut decoded, mut undetermined) = (0, 0);
    for seed in 0..60u64 {
        let mut rng = SplitMix64::new(seed);
        let mut esis: Vec<u32> = symbols.iter().map(|(esi, _)| *esi).collect();
        for i in (1..esis.len()).rev() {
            esis.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        esis.truncate((k + (seed % 4) as u32) as usize);
        // The oracle: the whole set at once.
        let source: Vec<Option<&[u8]>> = (0..k)
            .map(|esi| {
                esis.contains(&esi)
                    .then(|| symbols.iter().find(|(e, _)| *e == esi))
                    .flatten()
                    .map(|(_, s)| s.as_slice())
            })
            .collect();
        let repair: Vec<(u32, &[u8])> = symbols
            .iter()
            .filter(|(esi, _)| *esi >= k && esis.contains(esi))
            .map(|(esi, s)| (*esi, s.as_slice()))
            .collect();
        let lost = source.iter().filter(|s| s.is_none()).count();
        let mut out = vec![0u8; lost * usize::from(t)];
        let received = RaptorReceived {
            source: &source,
            repair: &repair,
        };
        let determined = RaptorSolver::default()
            .decode(k, usize::from(t), received, &mut out)
            .is_ok();
        let ok = recovered(&packets, &data, |_, esi| esis.contains(&esi));
        assert_eq!(ok, determined, "seed {seed}: {} symbols", esis.len());
        decoded += usize::from(ok);
        undetermined += usize::from(!determined);
    }
    // Both outcomes happen: the sets are near K on purpose.
    assert!(
        decoded > 30 && undetermined > 0,
        "{decoded} decoded, {undetermined} not"
    );
}
