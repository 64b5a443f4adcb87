//! RaptorQ (RFC 6330) and Raptor (RFC 5053) block coding, K = 1024 source symbols of 1400 bytes
//! and 256 repair symbols, xflute against flute 1.11.7's way of calling the same crates, in one
//! run so that the ratios compare like with like.
//!
//! flute keeps its codecs private, so its path is reproduced here call for call from its
//! `fec/raptorq.rs` and `fec/raptor.rs`: RaptorQ encoding builds a `SourceBlockEncoder` (through
//! the crate's plan cache) and asks for every source and repair packet; decoding turns each
//! received payload into an owned packet and calls `decode` per packet, as its receiver does.
//! Raptor encoding builds one encoder per sub-block and asks `fountain` for every ESI; decoding
//! keeps source symbols in a block buffer and starts the decoder once K symbols are there.
//! xflute computes the repair symbols only (source symbols go out from the object's bytes),
//! reuses its encoding plan, and decodes into the destination, copying to the crate only what it
//! needs. Decoding loses every tenth source symbol and uses the repair symbols in their place;
//! xflute's decoder is given every received symbol (1177: enough for the crate's GF(2)-only
//! solve) and, in "dec K+2", only the first K + 2 (the HDPC solve flute's per-packet calls get).
//!
//! Our RFC 5053 decoder (`RaptorSolver`) is also compared with `raptor_code::SourceBlockDecoder`
//! on the same received symbols: time per block, and how many of 200 random sets of K + 2 and
//! K + 5 symbols each decodes (both are maximum-likelihood: they should agree).
//!
//! `cargo bench -p xflute-bench --bench raptor` prints the figures and ratios at the end.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xflute::fec::raptor::{RaptorReceived, RaptorSolver};
use xflute::fec::raptorq::{RaptorQReceived, RaptorQSolver};
use xflute::fec::{FountainSolver, Raptor, RaptorQ};
use xflute_tests::data::{SplitMix64, random_bytes};

const K: u32 = 1024;
const R: u32 = 256;
const T: usize = 1400;

fn lost(esi: u32) -> bool {
    esi % 10 == 3
}

/// One block and its repair symbols.
struct Block {
    source: Vec<u8>,
    raptorq_repair: Vec<u8>,
    raptor_repair: Vec<u8>,
}

fn raptorq() -> RaptorQ {
    RaptorQ::new(T as u16, 1, 4).expect("raptorq")
}

fn raptor() -> Raptor {
    Raptor::new(T as u16, 1, 4).expect("raptor")
}

impl Block {
    fn new() -> Self {
        let source = random_bytes(K as usize * T, 5);
        let mut raptorq_repair = vec![0u8; R as usize * T];
        raptorq()
            .encoder()
            .encode(K, &source, &mut raptorq_repair)
            .expect("encode");
        let mut raptor_repair = vec![0u8; R as usize * T];
        raptor()
            .encoder()
            .encode(K, &source, &mut raptor_repair)
            .expect("encode");
        Self {
            source,
            raptorq_repair,
            raptor_repair,
        }
    }

    /// The received encoding symbols in arrival order (source then repair), as (ESI, bytes).
    fn received<'a>(&'a self, repair: &'a [u8]) -> impl Iterator<Item = (u32, &'a [u8])> + 'a {
        let source = (0..K)
            .filter(|&esi| !lost(esi))
            .map(move |esi| (esi, &self.source[esi as usize * T..(esi as usize + 1) * T]));
        let repair = repair
            .chunks_exact(T)
            .enumerate()
            .map(|(i, s)| (K + i as u32, s));
        source.chain(repair)
    }
}

fn xflute_raptorq_encode(enc: &mut xflute::fec::RaptorQEncoder, block: &Block, repair: &mut [u8]) {
    enc.encode(K, &block.source, repair).expect("encode");
}

fn flute_raptorq_encode(block: &Block) -> usize {
    let config =
        raptorq::ObjectTransmissionInformation::new((K as usize * T) as u64, T as u16, 1, 1, 4);
    let encoder = raptorq::SourceBlockEncoder::new(0, &config, &block.source);
    let source = encoder.source_packets();
    let repair = encoder.repair_packets(0, R);
    source.len() + repair.len()
}

fn xflute_raptorq_decode(block: &Block, dst: &mut [u8]) -> bool {
    let mut dec = raptorq().decoder(K).expect("decoder");
    for (esi, symbol) in block.received(&block.raptorq_repair) {
        if esi < K {
            dec.write_source_symbol(dst, esi, symbol).expect("source");
        } else {
            dec.push_repair(esi, symbol).expect("repair");
        }
    }
    dec.decode(dst).expect("decode")
}

/// xflute's decoder when decoding starts with the first K + 2 symbols, as flute's does.
fn xflute_raptorq_decode_early(block: &Block, dst: &mut [u8]) -> bool {
    let mut dec = raptorq().decoder(K).expect("decoder");
    for (esi, symbol) in block.received(&block.raptorq_repair).take(K as usize + 2) {
        if esi < K {
            dec.write_source_symbol(dst, esi, symbol).expect("source");
        } else {
            dec.push_repair(esi, symbol).expect("repair");
        }
    }
    dec.decode(dst).expect("decode")
}

fn flute_raptorq_decode(block: &Block) -> Option<Vec<u8>> {
    let config =
        raptorq::ObjectTransmissionInformation::new((K as usize * T) as u64, T as u16, 1, 1, 4);
    let mut dec = raptorq::SourceBlockDecoder::new(0, &config, (K as usize * T) as u64);
    for (esi, symbol) in block.received(&block.raptorq_repair) {
        let mut owned = symbol.to_vec();
        owned.resize(T, 0);
        let packet = raptorq::EncodingPacket::new(raptorq::PayloadId::new(0, esi), owned);
        if let Some(out) = dec.decode(vec![packet]) {
            return Some(out);
        }
    }
    None
}

fn xflute_raptor_encode(enc: &mut xflute::fec::RaptorEncoder, block: &Block, repair: &mut [u8]) {
    enc.encode(K, &block.source, repair).expect("encode");
}

fn flute_raptor_encode(block: &Block) -> usize {
    // flute copies the block to pad its last symbol, then encodes each sub-block (one here).
    let padded = block.source.to_vec();
    let mut encoder = raptor_code::SourceBlockEncoder::new(&padded, K as usize).expect("encoder");
    let mut total = 0;
    for esi in 0..K + R {
        let mut symbol = encoder.fountain(esi);
        symbol.resize(T, 0);
        total += symbol.len();
    }
    total
}

fn xflute_raptor_decode(block: &Block, dst: &mut [u8]) -> bool {
    let mut dec = raptor().decoder(K).expect("decoder");
    for (esi, symbol) in block.received(&block.raptor_repair) {
        if esi < K {
            dec.write_source_symbol(dst, esi, symbol).expect("source");
        } else {
            dec.push_repair(esi, symbol).expect("repair");
        }
    }
    dec.decode(dst).expect("decode")
}

fn flute_raptor_decode(block: &Block) -> Option<Vec<u8>> {
    let mut source = vec![0u8; K as usize * T];
    let mut received = vec![false; K as usize];
    let mut repair = Vec::new();
    for (esi, symbol) in block.received(&block.raptor_repair) {
        if esi < K {
            source[esi as usize * T..(esi as usize + 1) * T].copy_from_slice(symbol);
            received[esi as usize] = true;
        } else {
            let mut owned = symbol.to_vec();
            owned.resize(T, 0);
            repair.push((esi, owned));
        }
    }
    let mut dec = raptor_code::SourceBlockDecoder::new(K as usize);
    for (esi, _) in received.iter().enumerate().filter(|(_, r)| **r) {
        dec.push_encoding_symbol(&source[esi * T..(esi + 1) * T], esi as u32);
    }
    for (esi, symbol) in &repair {
        dec.push_encoding_symbol(symbol, *esi);
    }
    dec.decode(K as usize * T)
}

/// Seconds per call of `f`: the best of 3 rounds of at least `min / 3` each (shared machine).
fn seconds_per_call(min: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let round = min / 3;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let mut calls = 0u64;
        let start = Instant::now();
        while start.elapsed() < round {
            f();
            calls += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() / calls as f64);
    }
    best
}

fn bench(c: &mut Criterion) {
    let block = Block::new();
    let mut g = c.benchmark_group("raptor");
    g.throughput(Throughput::Bytes((K as usize * T) as u64));
    let mut repair = vec![0u8; R as usize * T];
    let mut dst = vec![0u8; K as usize * T];
    let mut q = raptorq().encoder();
    g.bench_function("raptorq encode xflute", |b| {
        b.iter(|| xflute_raptorq_encode(&mut q, &block, &mut repair))
    });
    g.bench_function("raptorq encode flute", |b| {
        b.iter(|| black_box(flute_raptorq_encode(&block)))
    });
    g.bench_function("raptorq decode xflute", |b| {
        b.iter(|| black_box(xflute_raptorq_decode(&block, &mut dst)))
    });
    g.bench_function("raptorq decode flute", |b| {
        b.iter(|| black_box(flute_raptorq_decode(&block)))
    });
    let mut r = raptor().encoder();
    g.bench_function("raptor encode xflute", |b| {
        b.iter(|| xflute_raptor_encode(&mut r, &block, &mut repair))
    });
    g.bench_function("raptor encode flute", |b| {
        b.iter(|| black_box(flute_raptor_encode(&block)))
    });
    g.bench_function("raptor decode xflute", |b| {
        b.iter(|| black_box(xflute_raptor_decode(&block, &mut dst)))
    });
    g.bench_function("raptor decode flute", |b| {
        b.iter(|| black_box(flute_raptor_decode(&block)))
    });
    g.finish();
}

fn report(_: &mut Criterion) {
    let block = Block::new();
    let mut dst = vec![0u8; K as usize * T];
    assert!(xflute_raptorq_decode(&block, &mut dst) && dst == block.source);
    assert!(flute_raptorq_decode(&block).is_some_and(|out| out == block.source));
    let mut early = vec![0u8; K as usize * T];
    assert!(xflute_raptorq_decode_early(&block, &mut early) && early == block.source);
    let mut dst = vec![0u8; K as usize * T];
    assert!(xflute_raptor_decode(&block, &mut dst) && dst == block.source);
    assert!(flute_raptor_decode(&block).is_some_and(|out| out == block.source));

    let min = Duration::from_secs(3);
    let mut repair = vec![0u8; R as usize * T];
    let mut q = raptorq().encoder();
    let mut r = raptor().encoder();
    let figures = [
        (
            "RaptorQ encode",
            seconds_per_call(min, || xflute_raptorq_encode(&mut q, &block, &mut repair)),
            seconds_per_call(min, || {
                black_box(flute_raptorq_encode(&block));
            }),
        ),
        (
            "RaptorQ decode",
            seconds_per_call(min, || {
                black_box(xflute_raptorq_decode(&block, &mut dst));
            }),
            seconds_per_call(min, || {
                black_box(flute_raptorq_decode(&block));
            }),
        ),
        (
            "RaptorQ dec K+2",
            seconds_per_call(min, || {
                black_box(xflute_raptorq_decode_early(&block, &mut dst));
            }),
            seconds_per_call(min, || {
                black_box(flute_raptorq_decode(&block));
            }),
        ),
        (
            "Raptor encode",
            seconds_per_call(min, || xflute_raptor_encode(&mut r, &block, &mut repair)),
            seconds_per_call(min, || {
                black_box(flute_raptor_encode(&block));
            }),
        ),
        (
            "Raptor decode",
            seconds_per_call(min, || {
                black_box(xflute_raptor_decode(&block, &mut dst));
            }),
            seconds_per_call(min, || {
                black_box(flute_raptor_decode(&block));
            }),
        ),
    ];
    let mib = |s: f64| (K as usize * T) as f64 / s / (1024.0 * 1024.0);
    println!("\nK = {K}, {R} repair symbols, T = {T} bytes; MiB/s of source block");
    for (what, x, f) in figures {
        println!(
            "  {what:15} xflute {:7.1}   flute {:7.1}   xflute/flute = {:.2}x",
            mib(x),
            mib(f),
            f / x
        );
    }
}

/// Our RFC 6330 block decoder (`RaptorQSolver`) against `raptorq::SourceBlockDecoder`, the same
/// received symbols for both: 10% of the source symbols lost at random (seeded), and either all
/// 256 repair symbols or just enough of them to make K symbols. The crate consumes owned packets, so the copies it needs are made in its
/// timed loop and timed apart, then taken off its figure.
fn report_solver(_: &mut Criterion) {
    let block = Block::new();
    let mut rng = SplitMix64::new(0x2545_F491_4F6C_DD1D);
    let lost: Vec<bool> = (0..K).map(|_| rng.below(10) == 0).collect();
    let nb_lost = lost.iter().filter(|&&l| l).count();
    let symbol = |esi: usize| &block.source[esi * T..(esi + 1) * T];
    let source: Vec<Option<&[u8]>> = (0..K as usize)
        .map(|esi| (!lost[esi]).then(|| symbol(esi)))
        .collect();
    let repair: Vec<(u32, &[u8])> = block
        .raptorq_repair
        .chunks_exact(T)
        .enumerate()
        .map(|(i, s)| (K + i as u32, s))
        .collect();
    let mut solver = RaptorQSolver::default();
    let mut out = vec![0u8; nb_lost * T];

    let config =
        raptorq::ObjectTransmissionInformation::new((K as usize * T) as u64, T as u16, 1, 1, 4);
    let packets: Vec<raptorq::EncodingPacket> = source
        .iter()
        .enumerate()
        .filter_map(|(esi, s)| s.map(|s| (esi as u32, s)))
        .chain(repair.iter().copied())
        .map(|(esi, s)| raptorq::EncodingPacket::new(raptorq::PayloadId::new(0, esi), s.to_vec()))
        .collect();
    let crate_decode = |packets: Vec<raptorq::EncodingPacket>| {
        let mut dec = raptorq::SourceBlockDecoder::new(0, &config, (K as usize * T) as u64);
        dec.decode(packets)
    };

    let min = Duration::from_secs(2);
    let nb_source = K as usize - nb_lost;
    println!("\nRFC 6330 block decode, K = {K}, T = {T}, {nb_lost} source symbols lost at random:");
    // All repair symbols (the GF(2) rows suffice), then exactly K symbols (what the receiver
    // hands over: it decodes as soon as K are known; the HDPC rows are needed).
    for (what, nb_repair) in [("+256 repair", R as usize), ("exactly K", nb_lost)] {
        let received = RaptorQReceived {
            source: &source,
            repair: &repair[..nb_repair],
        };
        solver
            .decode(K, T, received, &mut out)
            .expect("our decoder solves the block");
        let mut missing = (0..K as usize).filter(|&e| lost[e]);
        assert!(
            out.chunks_exact(T)
                .all(|s| Some(s) == missing.next().map(symbol))
        );
        let packets = &packets[..nb_source + nb_repair];
        assert!(crate_decode(packets.to_vec()).is_some_and(|b| b == block.source));
        let ours = seconds_per_call(min, || {
            solver
                .decode(K, T, black_box(received), &mut out)
                .expect("decode");
            black_box(&out);
        });
        let copies = seconds_per_call(min, || {
            black_box(packets.to_vec());
        });
        let with_copies = seconds_per_call(min, || {
            black_box(crate_decode(black_box(packets.to_vec())));
        });
        let theirs = (with_copies - copies).max(f64::MIN_POSITIVE);
        println!(
            "  {what:11}  ours {:.3} ms/block   raptorq::SourceBlockDecoder {:.3} ms/block \
             (+{:.3} ms of packet copies)   crate/ours = {:.2}x",
            ours * 1e3,
            theirs * 1e3,
            copies * 1e3,
            theirs / ours
        );
    }
}

/// The crate's RFC 5053 decoder on these symbols (source then repair, as (ESI, bytes)).
fn crate_raptor_decode(k: u32, t: usize, symbols: &[(u32, &[u8])]) -> Option<Vec<u8>> {
    let mut dec = raptor_code::SourceBlockDecoder::new(k as usize);
    for (esi, s) in symbols {
        dec.push_encoding_symbol(s, *esi);
    }
    dec.decode(k as usize * t)
}

/// Our RFC 5053 decoder on the same symbols; whether it decoded (the lost ones land in `out`).
fn our_raptor_decode(
    solver: &mut RaptorSolver,
    k: u32,
    t: usize,
    symbols: &[(u32, &[u8])],
    out: &mut Vec<u8>,
) -> bool {
    let mut source: Vec<Option<&[u8]>> = vec![None; k as usize];
    let mut repair = Vec::new();
    for &(esi, s) in symbols {
        match source.get_mut(esi as usize) {
            Some(slot) => *slot = Some(s),
            None => repair.push((esi, s)),
        }
    }
    out.resize(source.iter().filter(|s| s.is_none()).count() * t, 0);
    let received = RaptorReceived {
        source: &source,
        repair: &repair,
    };
    solver.decode(k, t, received, out).is_ok()
}

/// Our RFC 5053 decoder (`RaptorSolver`) against `raptor_code::SourceBlockDecoder`, the same
/// received symbols for both: time per block for K = 1024 with 10% of the source symbols lost
/// (all 256 repair symbols, then K + 5 symbols), and the share of 200 random sets of K + 2 and
/// K + 5 of the first 2K encoding symbols that each decodes.
fn report_raptor_solver(_: &mut Criterion) {
    let block = Block::new();
    let mut rng = SplitMix64::new(0x2545_F491_4F6C_DD1D);
    let lost: Vec<bool> = (0..K).map(|_| rng.below(10) == 0).collect();
    let nb_lost = lost.iter().filter(|&&l| l).count();
    let symbol = |esi: usize| &block.source[esi * T..(esi + 1) * T];
    let source: Vec<(u32, &[u8])> = (0..K as usize)
        .filter(|&esi| !lost[esi])
        .map(|esi| (esi as u32, symbol(esi)))
        .collect();
    let repair: Vec<(u32, &[u8])> = block
        .raptor_repair
        .chunks_exact(T)
        .enumerate()
        .map(|(i, s)| (K + i as u32, s))
        .collect();
    let mut solver = RaptorSolver::default();
    let mut out = Vec::new();
    let min = Duration::from_secs(2);
    println!("\nRFC 5053 block decode, K = {K}, T = {T}, {nb_lost} source symbols lost at random:");
    for (what, nb_repair) in [("+256 repair", R as usize), ("K + 5", nb_lost + 5)] {
        let symbols: Vec<(u32, &[u8])> =
            source.iter().chain(&repair[..nb_repair]).copied().collect();
        let ok = our_raptor_decode(&mut solver, K, T, &symbols, &mut out);
        let mut missing = (0..K as usize).filter(|&e| lost[e]);
        assert!(
            ok && out
                .chunks_exact(T)
                .all(|s| Some(s) == missing.next().map(symbol))
        );
        assert!(crate_raptor_decode(K, T, &symbols).is_some_and(|b| b == block.source));
        let ours = seconds_per_call(min, || {
            black_box(our_raptor_decode(
                &mut solver,
                K,
                T,
                black_box(&symbols),
                &mut out,
            ));
        });
        let theirs = seconds_per_call(min, || {
            black_box(crate_raptor_decode(K, T, black_box(&symbols)));
        });
        println!(
            "  {what:11}  ours {:.3} ms/block   raptor_code::SourceBlockDecoder {:.3} ms/block   \
             crate/ours = {:.2}x",
            ours * 1e3,
            theirs * 1e3,
            theirs / ours
        );
    }
    // Decode success on random sets (small symbols: the rank is what is measured).
    let t = 16usize;
    for k in [64u32, 1024] {
        let data: Vec<u8> = block.source[..k as usize * t].to_vec();
        let mut symbols = vec![0u8; k as usize * t];
        RaptorSolver::default()
            .encode(k, t, &data, k, &mut symbols)
            .expect("encode");
        let all: Vec<&[u8]> = data
            .chunks_exact(t)
            .chain(symbols.chunks_exact(t))
            .collect();
        for extra in [2u32, 5] {
            let mut rng = SplitMix64::new(u64::from(k + extra));
            let (mut ours, mut theirs) = (0, 0);
            for _ in 0..200 {
                let kept: Vec<(u32, &[u8])> = rng
                    .pick((k + extra) as usize, 2 * k)
                    .into_iter()
                    .map(|e| (e, all[e as usize]))
                    .collect();
                ours += usize::from(our_raptor_decode(&mut solver, k, t, &kept, &mut out));
                theirs += usize::from(crate_raptor_decode(k, t, &kept).is_some_and(|b| b == data));
            }
            println!(
                "  K = {k:4}, K + {extra} random symbols: ours decodes {ours}/200, \
                 raptor_code {theirs}/200"
            );
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10);
    targets = bench, report, report_solver, report_raptor_solver
}
criterion_main!(benches);
