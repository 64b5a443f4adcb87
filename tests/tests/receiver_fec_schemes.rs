//! Every AL-FEC scheme into xflute's `MultiReceiver`, in memory, over a `Link` losing 0%, 10%
//! or 30% of the object's packets (the FDT is delivered), from two senders: flute 1.11.7's
//! `Sender` and xflute's `Sender`. RS28 (ID 5), RS28 under-specified (ID 129/0), RS2m (ID 2,
//! m = 8 and 16), RaptorQ (ID 6, N = 1 and N = 4 sub-blocks) and Raptor (ID 1).
//!
//! The test counts the distinct symbols each block got: the object must be recovered, byte-exact
//! with its MD5 checked, whenever the code guarantees it (RS: any k of n; RaptorQ/Raptor: k plus
//! a margin) and must not be when a block got fewer than k. Every decoder's scratch is given
//! back to the budget. Property tests: random erasure patterns, and random FTI values from the
//! network (typed drops, never a panic).

mod receiver_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use flute::core::Oti as FluteOti;
use flute::core::lct::Cenc as FluteCenc;
use proptest::prelude::*;
use receiver_support::*;
use xflute::fec::BlockPartition;
use xflute::receiver::{Config, DropReason, MemorySink, MultiReceiver};
use xflute::sender::Config as SenderConfig;
use xflute::wire::{AlcPacket, FecEncodingId, LctPacket, Oti, SchemeSpecific};
use xflute_tests::data::SplitMix64;
use xflute_tests::link::{Link, LinkConfig};

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

/// One scheme: its name, flute's OTI, xflute's OTI with the same parameters, and the symbols
/// beyond k that guarantee decoding (0 for the MDS Reed-Solomon codes).
struct Scheme {
    name: &'static str,
    flute: FluteOti,
    xflute: Oti,
    margin: u32,
}

fn xoti(id: FecEncodingId, e: u16, b: u32, repair: u32, scheme: SchemeSpecific) -> Oti {
    Oti {
        fec_encoding_id: id,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: e,
        maximum_source_block_length: b,
        max_number_of_encoding_symbols: b + repair,
        scheme_specific: scheme,
    }
}

fn schemes() -> Vec<Scheme> {
    use FecEncodingId as Id;
    let rq = |n, al| SchemeSpecific::RaptorQ { z: 0, n, al };
    vec![
        Scheme {
            name: "rs28",
            flute: FluteOti::new_reed_solomon_rs28(1024, 64, 48).unwrap(),
            xflute: xoti(Id::ReedSolomonGf28, 1024, 64, 48, SchemeSpecific::None),
            margin: 0,
        },
        Scheme {
            name: "rs28-us",
            flute: FluteOti::new_reed_solomon_rs28_under_specified(1024, 64, 64).unwrap(),
            xflute: xoti(
                Id::ReedSolomonGf28UnderSpecified,
                1024,
                64,
                64,
                SchemeSpecific::None,
            ),
            margin: 0,
        },
        Scheme {
            name: "rs2m m=8",
            flute: FluteOti::new_reed_solomon_rs2m(1024, 64, 64, 8).unwrap(),
            xflute: xoti(
                Id::ReedSolomonGf2m,
                1024,
                64,
                64,
                SchemeSpecific::ReedSolomonGf2m { m: 8, g: 1 },
            ),
            margin: 0,
        },
        Scheme {
            name: "rs2m m=16",
            flute: FluteOti::new_reed_solomon_rs2m(1000, 100, 100, 16).unwrap(),
            xflute: xoti(
                Id::ReedSolomonGf2m,
                1000,
                100,
                100,
                SchemeSpecific::ReedSolomonGf2m { m: 16, g: 1 },
            ),
            margin: 0,
        },
        Scheme {
            name: "raptorq",
            flute: FluteOti::new_raptorq(1024, 64, 48, 1, 4).unwrap(),
            xflute: xoti(Id::RaptorQ, 1024, 64, 48, rq(1, 4)),
            margin: 2,
        },
        Scheme {
            name: "raptorq N=4",
            flute: FluteOti::new_raptorq(1024, 64, 48, 4, 8).unwrap(),
            xflute: xoti(Id::RaptorQ, 1024, 64, 48, rq(4, 8)),
            margin: 2,
        },
        Scheme {
            name: "raptor",
            flute: FluteOti::new_raptor(1024, 64, 64, 1, 4).unwrap(),
            xflute: xoti(
                Id::Raptor,
                1024,
                64,
                64,
                SchemeSpecific::Raptor { z: 0, n: 1, al: 4 },
            ),
            // Raptor fails on about 0.85 · 0.567^A of the sets of k + A symbols, whatever the
            // decoder (ours is maximum-likelihood): 12 spare symbols leave about 1 in 1000.
            margin: 12,
        },
    ]
}

/// Three full blocks and a short one ending inside its last symbol.
fn object_len(oti: &Oti) -> usize {
    let b = oti.maximum_source_block_length as usize;
    let e = usize::from(oti.encoding_symbol_length);
    3 * b * e + 5 * e + e / 3
}

/// What one object did in the receiver.
#[derive(Debug)]
struct Outcome {
    /// Completed byte-exact.
    complete: bool,
    /// Every block got at least k + margin distinct symbols.
    guaranteed: bool,
    /// Some block got fewer than k distinct symbols.
    impossible: bool,
}

fn xflute_receiver() -> MultiReceiver<MemorySink> {
    MultiReceiver::new(MemorySink::new(1 << 30), Config::default())
}

/// Delivers `packets` (a session's, TOI 0 losslessly, the others through `keep`) to an xflute
/// receiver and judges the outcome for an object of `data` coded with `oti`.
fn receive(
    packets: &[Vec<u8>],
    oti: &Oti,
    margin: u32,
    data: &[u8],
    mut keep: impl FnMut(&[u8]) -> Vec<Vec<u8>>,
) -> Outcome {
    let mut receiver = xflute_receiver();
    let ep = endpoint();
    let mut delivered: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    let mut push = |pkt: &[u8], delivered: &mut BTreeMap<u32, BTreeSet<u32>>| {
        let alc = AlcPacket::parse(pkt).unwrap();
        if alc.lct().toi != 0
            && let Some(id) = alc.payload_id()
        {
            delivered.entry(id.sbn).or_default().insert(id.esi);
        }
        if let Err(e) = receiver.push(&ep, pkt, t0()) {
            panic!("{}: {e:?}", oti.fec_encoding_id as u8);
        }
    };
    for pkt in packets {
        if AlcPacket::parse(pkt).unwrap().lct().toi == 0 {
            push(pkt, &mut delivered);
        } else {
            for p in keep(pkt) {
                push(&p, &mut delivered);
            }
        }
    }
    for p in keep(&[]) {
        push(&p, &mut delivered);
    }
    let partition = BlockPartition::rfc5052(
        data.len() as u64,
        u32::from(oti.encoding_symbol_length),
        oti.maximum_source_block_length,
    )
    .unwrap();
    let mut guaranteed = true;
    let mut impossible = false;
    for sbn in 0..partition.nb_blocks() {
        let k = partition.block_len_symbols(sbn).unwrap();
        let got = delivered.get(&(sbn as u32)).map_or(0, |s| s.len()) as u32;
        guaranteed &= got >= k + margin.min(k);
        impossible |= got < k;
    }
    let done = receiver.sink_mut().take_completed();
    let complete = done.iter().any(|o| *o.data == *data);
    let stats = receiver.stats();
    assert_eq!(stats.drops(DropReason::FecDecode), 0, "{stats:?}");
    assert_eq!(stats.objects_failed, 0, "{stats:?}");
    if complete {
        assert_eq!(receiver.receiving_bytes(), 0, "scratch not given back");
    }
    Outcome {
        complete,
        guaranteed,
        impossible,
    }
}

/// Delivers through a `Link` with `loss`; an empty packet flushes it.
fn lossy(loss: f64, seed: u64) -> impl FnMut(&[u8]) -> Vec<Vec<u8>> {
    let mut link = Link::new(LinkConfig {
        loss,
        seed,
        ..LinkConfig::default()
    });
    move |pkt| {
        if pkt.is_empty() {
            link.flush()
        } else {
            link.send(pkt)
        }
    }
}

/// Packets of one object of `data` sent once by flute's sender with `oti`.
fn flute_packets(oti: &FluteOti, data: &[u8]) -> Vec<Vec<u8>> {
    let objects = vec![(
        0,
        object("fec.bin", data.to_vec(), FluteCenc::Null, true, 1),
    )];
    flute_session(oti, &sender_config(), objects, t0())
}

/// Packets of one object of `data` sent once by xflute's sender with `oti`.
fn xflute_packets(oti: Oti, data: &[u8]) -> Vec<Vec<u8>> {
    // Raptor cannot code blocks of fewer than 4 symbols (RFC 5053 §5.7), so a small FDT
    // Instance goes without FEC and the object carries its own OTI.
    let session_oti = if oti.fec_encoding_id == FecEncodingId::Raptor {
        Oti {
            fec_encoding_id: FecEncodingId::NoCode,
            max_number_of_encoding_symbols: oti.maximum_source_block_length,
            scheme_specific: SchemeSpecific::None,
            ..oti
        }
    } else {
        oti
    };
    let config = SenderConfig::default();
    xflute_object_packets(
        session_oti,
        Some(oti),
        config,
        data,
        "file:///fec.bin",
        t0(),
    )
}

/// 0% once, 10% and 30% with two seeds each: recovered whenever guaranteed, never from too
/// few symbols, always without loss.
fn check_losses(what: &str, packets: &[Vec<u8>], s: &Scheme, data: &[u8]) {
    let mut recovered = 0;
    for (loss, seed) in [(0.0, 1), (0.1, 2), (0.1, 3), (0.3, 4), (0.3, 5)] {
        let out = receive(packets, &s.xflute, s.margin, data, lossy(loss, seed));
        if loss == 0.0 {
            assert!(
                out.complete,
                "{what} {}: not recovered without loss",
                s.name
            );
        }
        if out.guaranteed {
            assert!(out.complete, "{what} {} loss {loss}: {out:?}", s.name);
        }
        if out.impossible {
            assert!(!out.complete, "{what} {} loss {loss}: {out:?}", s.name);
        }
        recovered += usize::from(out.complete);
    }
    assert!(
        recovered >= 3,
        "{what} {}: recovered {recovered} of 5",
        s.name
    );
}

#[test]
fn flute_sender_to_xflute_receiver_recovers_every_scheme_whenever_the_code_guarantees_it() {
    for s in schemes() {
        let data = content(object_len(&s.xflute), 11);
        let packets = flute_packets(&s.flute, &data);
        check_losses("flute ->", &packets, &s, &data);
    }
}

#[test]
fn xflute_sender_to_xflute_receiver_recovers_every_scheme_whenever_the_code_guarantees_it() {
    for s in schemes() {
        let data = content(object_len(&s.xflute), 12);
        let packets = xflute_packets(s.xflute, &data);
        check_losses("xflute ->", &packets, &s, &data);
    }
}

/// Overwrites the EXT_FTI body of `pkt` (HET 64, RFC 5775 §4.2) with `noise`, and its FEC
/// Encoding ID (the LCT codepoint) with `id`.
fn scramble_fti(pkt: &mut [u8], id: u8, noise: &[u8]) {
    let lct = LctPacket::new_checked(&pkt[..]).unwrap();
    let mut at = lct.fixed_len_bytes();
    let end = lct.hdr_len_bytes();
    pkt[3] = id;
    while at + 1 < end {
        let het = pkt[at];
        let len = if het >= 128 {
            4
        } else {
            usize::from(pkt[at + 1]) * 4
        };
        if len == 0 {
            return;
        }
        if het == 64 {
            for (b, n) in pkt[at + 2..(at + len).min(end)].iter_mut().zip(noise) {
                *b = *n;
            }
        }
        at += len;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random erasures of one object's packets: RS recovers exactly when every block got k of
    /// its symbols; RaptorQ and Raptor whenever every block got k plus the margin, never with
    /// fewer than k.
    #[test]
    fn random_erasure_patterns_recover_exactly_when_the_code_guarantees_it(
        scheme in 0usize..7, mask in any::<u64>(), density in 0u32..60,
    ) {
        let s = schemes().swap_remove(scheme);
        let data = content(object_len(&s.xflute) / 2, mask);
        let packets = xflute_packets(s.xflute, &data);
        let mut rng = SplitMix64::new(mask);
        let keep = move |pkt: &[u8]| {
            if pkt.is_empty() || rng.below(100) < density as usize {
                Vec::new()
            } else {
                vec![pkt.to_vec()]
            }
        };
        let out = receive(&packets, &s.xflute, s.margin, &data, keep);
        if out.guaranteed {
            prop_assert!(out.complete, "{}: {out:?}", s.name);
        }
        if out.impossible {
            prop_assert!(!out.complete, "{}: {out:?}", s.name);
        }
    }

    /// Random FTI values (FEC Encoding ID, symbol size, k, n, m, Z, N, Al, lengths) on packets
    /// of every scheme, received without FDT: typed drops or objects, never a panic.
    #[test]
    fn random_fti_values_from_the_network_never_panic(
        cases in proptest::collection::vec(
            (0usize..7, 0usize..200, prop_oneof![Just(0u8), Just(1), Just(2), Just(5), Just(6), Just(129)],
             proptest::collection::vec(any::<u8>(), 16)),
            1..24),
    ) {
        let mut by_scheme: Vec<Vec<Vec<u8>>> = schemes()
            .into_iter()
            .map(|s| {
                let data = content(8000, 5);
                let mut oti = s.xflute;
                oti.maximum_source_block_length = 8;
                oti.max_number_of_encoding_symbols = 12;
                xflute_packets(oti, &data)
            })
            .collect();
        let config = Config {
            receive_without_fdt: true,
            ..Config::default()
        };
        let mut receiver = MultiReceiver::new(MemorySink::new(1 << 24), config);
        let ep = endpoint();
        for (scheme, index, id, noise) in cases {
            let packets = &mut by_scheme[scheme];
            let i = index % packets.len();
            let mut pkt = packets[i].clone();
            scramble_fti(&mut pkt, id, &noise);
            let _ = receiver.push(&ep, &pkt, t0());
            // The untouched packets still go through the same receiver.
            let _ = receiver.push(&ep, &packets[(i + 1) % packets.len()], t0());
        }
        receiver.cleanup(t0() + Duration::from_secs(3600));
    }
}
