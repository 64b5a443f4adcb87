//! FEC benchmarks, all in one run so that the ratios compare like with like:
//! - GF(2^8) multiply-add `dst ^= c·src` per kernel (xflute: scalar, SSSE3, AVX2, AVX-512+GFNI;
//!   flute 1.11.7's kernels through its `bench` feature), in GiB/s of `src`;
//! - the same kernels in the form the codec runs them, `dot_rows`: 32 outputs from 64 sources of
//!   1400 bytes (one RS k = 64, n = 96 block), in GiB/s of multiply-adds;
//! - Reed-Solomon GF(2^8) encode and decode, k = 64, n = 96, 1400-byte symbols, in MiB/s of
//!   source block: xflute, flute 1.11.7, and reed-solomon-simd (another code, O(n log n), as a
//!   speed reference). Decoding loses the first 32 source symbols and uses the 32 repair symbols.
//!   The same block over GF(2^16) against flute.
//!
//! Prints the figures and the ratios at the end (`cargo bench -p xflute-bench --bench fec`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flute::bench as flute_fec;
use xflute::fec::ReedSolomon;
use xflute::fec::gf256::{self, Kernel};
use xflute_tests::data::random_bytes;

const MUL_ADD_LEN: usize = 8 * 1024;
const K: u32 = 64;
const N: u32 = 96;
const E: usize = 1400;

fn flute_kernel(kernel: Kernel) -> Option<flute_fec::Kernel> {
    let wanted = match kernel {
        Kernel::Scalar => flute_fec::Kernel::Scalar,
        Kernel::Ssse3 => flute_fec::Kernel::Ssse3,
        Kernel::Avx2 => flute_fec::Kernel::Avx2,
        Kernel::Avx512Gfni => return None,
    };
    flute_fec::Kernel::available()
        .contains(&wanted)
        .then_some(wanted)
}

/// The block, xflute's repair symbols, and the receiver's view after losing ESIs 0..32.
struct Block {
    source: Vec<u8>,
    repair: Vec<u8>,
    code: ReedSolomon,
}

impl Block {
    fn new() -> Block {
        let code = ReedSolomon::new(8, K, N, E).expect("code");
        let source = random_bytes(K as usize * E, 7);
        let mut repair = vec![0u8; (N - K) as usize * E];
        code.encode(&source, &mut repair).expect("encode");
        Block {
            source,
            repair,
            code,
        }
    }

    fn nb_lost(&self) -> u32 {
        N - K
    }

    fn xflute_encode(&self, repair: &mut [u8]) {
        self.code.encode(&self.source, repair).expect("encode");
    }

    /// What the receiver does for one block once the first source symbols are lost: the others
    /// are already in place in `dst` (not timed: they are written on arrival anyway), the repair
    /// symbols go to the decoder's scratch, and decoding fills the gaps.
    fn xflute_decode(&self, dst: &mut [u8]) {
        let mut decoder = self.code.decoder();
        for esi in self.nb_lost()..K {
            decoder.source_received(esi).expect("source");
        }
        for (i, symbol) in self.repair.chunks(E).enumerate() {
            decoder.push_repair(K + i as u32, symbol).expect("repair");
        }
        decoder.decode(dst).expect("decode");
    }

    fn flute_symbols(&self) -> Vec<(u32, &[u8])> {
        let sources = (self.nb_lost()..K).map(|esi| (esi, &self.source[esi as usize * E..][..E]));
        let repairs = self
            .repair
            .chunks(E)
            .enumerate()
            .map(|(i, s)| (K + i as u32, s));
        sources.chain(repairs).collect()
    }
}

fn receiver_block(block: &Block) -> Vec<u8> {
    let mut dst = block.source.clone();
    dst[..block.nb_lost() as usize * E].fill(0);
    dst
}

/// Seconds per call of `f`: the best of 5 rounds of at least `min / 5` each, so that a round
/// slowed by the other work of this shared 2-core machine does not decide the figure.
fn seconds_per_call(min: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let round = min / 5;
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let mut calls = 0u64;
        let start = Instant::now();
        while start.elapsed() < round {
            for _ in 0..16 {
                f();
            }
            calls += 16;
        }
        best = best.min(start.elapsed().as_secs_f64() / calls as f64);
    }
    best
}

fn bench_mul_add(c: &mut Criterion) {
    let src = random_bytes(MUL_ADD_LEN, 1);
    let mut dst = random_bytes(MUL_ADD_LEN, 2);
    let mut group = c.benchmark_group("gf256_mul_add_8KiB");
    group.throughput(Throughput::Bytes(MUL_ADD_LEN as u64));
    for kernel in Kernel::available() {
        group.bench_function(format!("xflute_{}", kernel.name()), |b| {
            b.iter(|| gf256::mul_add_with(kernel, black_box(&mut dst), black_box(&src), 0x53))
        });
        if let Some(fk) = flute_kernel(kernel) {
            group.bench_function(format!("flute_{}", kernel.name()), |b| {
                b.iter(|| flute_fec::mul_add_with(fk, black_box(&mut dst), black_box(&src), 0x53))
            });
        }
    }
    group.finish();
}

/// 64 sources of E bytes and a 32 × 64 coefficient matrix.
fn dot_rows_inputs() -> (Vec<Vec<u8>>, Vec<u8>) {
    let srcs = (0..K).map(|i| random_bytes(E, u64::from(i))).collect();
    let coefs = random_bytes(((N - K) * K) as usize, 99);
    (srcs, coefs)
}

fn bench_dot_rows(c: &mut Criterion) {
    let (srcs_data, coefs) = dot_rows_inputs();
    let srcs: Vec<&[u8]> = srcs_data.iter().map(Vec::as_slice).collect();
    let mut outs = vec![vec![0u8; E]; (N - K) as usize];
    let mut group = c.benchmark_group("gf256_dot_rows_32x64x1400B");
    group.throughput(Throughput::Bytes(((N - K) * K) as u64 * E as u64));
    for kernel in Kernel::available() {
        group.bench_function(format!("xflute_{}", kernel.name()), |b| {
            b.iter(|| {
                let mut dsts: Vec<&mut [u8]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
                gf256::dot_rows_with(kernel, black_box(&mut dsts), black_box(&srcs), &coefs);
            })
        });
    }
    group.finish();
}

fn bench_rs(c: &mut Criterion) {
    let block = Block::new();
    let flute_rs = flute_fec::ReedSolomon::new(8, K as usize, N as usize, E);
    let flute_symbols = block.flute_symbols();
    let source_shards: Vec<&[u8]> = block.source.chunks(E).collect();
    let simd_repair =
        reed_solomon_simd::encode(K as usize, (N - K) as usize, &source_shards).expect("rs-simd");

    let mut group = c.benchmark_group("rs28_k64_n96_1400B");
    group.throughput(Throughput::Bytes(block.source.len() as u64));
    let mut repair = vec![0u8; block.repair.len()];
    group.bench_function("encode_xflute", |b| {
        b.iter(|| block.xflute_encode(black_box(&mut repair)))
    });
    group.bench_function("encode_flute", |b| {
        b.iter(|| flute_rs.encode(black_box(&block.source)))
    });
    group.bench_function("encode_reed_solomon_simd", |b| {
        b.iter(|| reed_solomon_simd::encode(K as usize, (N - K) as usize, &source_shards))
    });
    let mut dst = receiver_block(&block);
    group.bench_function("decode_xflute", |b| {
        b.iter(|| block.xflute_decode(black_box(&mut dst)))
    });
    group.bench_function("decode_flute", |b| {
        b.iter(|| flute_rs.decode(black_box(&flute_symbols)))
    });
    let lost = block.nb_lost() as usize;
    group.bench_function("decode_reed_solomon_simd", |b| {
        b.iter(|| {
            reed_solomon_simd::decode(
                K as usize,
                (N - K) as usize,
                source_shards.iter().enumerate().skip(lost),
                simd_repair.iter().enumerate(),
            )
        })
    });
    group.finish();
}

/// Every figure timed back to back in this run, and the ratios the issue asks for.
fn report(_: &mut Criterion) {
    let t = Duration::from_millis(700);
    let gib = |bytes: usize, s: f64| bytes as f64 / s / f64::from(1u32 << 30);
    let mib = |bytes: usize, s: f64| bytes as f64 / s / f64::from(1u32 << 20);

    let src = random_bytes(MUL_ADD_LEN, 1);
    let mut dst = random_bytes(MUL_ADD_LEN, 2);
    println!("\nGF(2^8) mul-add, {MUL_ADD_LEN}-byte buffers, GiB/s:");
    let mut xflute_rate = std::collections::BTreeMap::new();
    for kernel in Kernel::available() {
        let s = seconds_per_call(t, || {
            gf256::mul_add_with(kernel, black_box(&mut dst), black_box(&src), 0x53)
        });
        let rate = gib(MUL_ADD_LEN, s);
        xflute_rate.insert(kernel.name(), rate);
        let flute = flute_kernel(kernel).map(|fk| {
            let s = seconds_per_call(t, || {
                flute_fec::mul_add_with(fk, black_box(&mut dst), black_box(&src), 0x53)
            });
            gib(MUL_ADD_LEN, s)
        });
        match flute {
            Some(f) => println!("  {:<12} xflute {rate:6.1}   flute {f:6.1}", kernel.name()),
            None => println!("  {:<12} xflute {rate:6.1}   flute    n/a", kernel.name()),
        }
    }
    let best = Kernel::best();
    if let (Some(b), Some(a)) = (xflute_rate.get(best.name()), xflute_rate.get("avx2")) {
        println!("  best kernel ({}) / AVX2 = {:.2}x", best.name(), b / a);
    }

    let (srcs_data, coefs) = dot_rows_inputs();
    let srcs: Vec<&[u8]> = srcs_data.iter().map(Vec::as_slice).collect();
    let mut outs = vec![vec![0u8; E]; (N - K) as usize];
    let work = (N - K) as usize * K as usize * E;
    println!(
        "\nGF(2^8) dot_rows, {} outputs from {K} sources of {E} bytes, GiB/s of mul-adds:",
        N - K
    );
    let mut dot_rate = std::collections::BTreeMap::new();
    for kernel in Kernel::available() {
        let s = seconds_per_call(t, || {
            let mut dsts: Vec<&mut [u8]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
            gf256::dot_rows_with(kernel, black_box(&mut dsts), black_box(&srcs), &coefs);
        });
        let rate = gib(work, s);
        dot_rate.insert(kernel.name(), rate);
        println!("  {:<12} xflute {rate:6.1}", kernel.name());
    }
    if let (Some(b), Some(a)) = (dot_rate.get(best.name()), dot_rate.get("avx2")) {
        println!("  best kernel ({}) / AVX2 = {:.2}x", best.name(), b / a);
    }

    let block = Block::new();
    let bytes = block.source.len();
    let flute_rs = flute_fec::ReedSolomon::new(8, K as usize, N as usize, E);
    let flute_symbols = block.flute_symbols();
    let source_shards: Vec<&[u8]> = block.source.chunks(E).collect();
    let simd_repair =
        reed_solomon_simd::encode(K as usize, (N - K) as usize, &source_shards).expect("rs-simd");
    let lost = block.nb_lost() as usize;

    let mut repair = vec![0u8; block.repair.len()];
    let enc_x = seconds_per_call(t, || block.xflute_encode(black_box(&mut repair)));
    let enc_f = seconds_per_call(t, || {
        black_box(flute_rs.encode(black_box(&block.source)));
    });
    let enc_s = seconds_per_call(t, || {
        black_box(reed_solomon_simd::encode(K as usize, (N - K) as usize, &source_shards).ok());
    });
    let mut dst = receiver_block(&block);
    let dec_x = seconds_per_call(t, || block.xflute_decode(black_box(&mut dst)));
    assert!(dst == block.source, "xflute decoded the block");
    let dec_f = seconds_per_call(t, || {
        black_box(flute_rs.decode(black_box(&flute_symbols)));
    });
    let dec_s = seconds_per_call(t, || {
        black_box(
            reed_solomon_simd::decode(
                K as usize,
                (N - K) as usize,
                source_shards.iter().enumerate().skip(lost),
                simd_repair.iter().enumerate(),
            )
            .ok(),
        );
    });
    println!("\nRS GF(2^8) k={K} n={N} E={E}, MiB/s of source block:");
    println!(
        "  encode  xflute {:8.0}   flute {:6.0}   reed-solomon-simd {:6.0}   xflute/flute = {:.1}x",
        mib(bytes, enc_x),
        mib(bytes, enc_f),
        mib(bytes, enc_s),
        enc_f / enc_x
    );
    println!(
        "  decode  xflute {:8.0}   flute {:6.0}   reed-solomon-simd {:6.0}   xflute/flute = {:.1}x  ({lost} source symbols lost)",
        mib(bytes, dec_x),
        mib(bytes, dec_f),
        mib(bytes, dec_s),
        dec_f / dec_x
    );

    // The same block over GF(2^16) (FEC Encoding ID 2, m = 16).
    let code16 = ReedSolomon::new(16, K, N, E).expect("code m=16");
    let flute16 = flute_fec::ReedSolomon::new(16, K as usize, N as usize, E);
    let mut repair16 = vec![0u8; block.repair.len()];
    code16
        .encode(&block.source, &mut repair16)
        .expect("encode m=16");
    let enc_x = seconds_per_call(t, || {
        code16
            .encode(&block.source, black_box(&mut repair16))
            .expect("encode m=16")
    });
    let enc_f = seconds_per_call(t, || {
        black_box(flute16.encode(black_box(&block.source)));
    });
    let mut dst = receiver_block(&block);
    let dec_x = seconds_per_call(t, || {
        let mut decoder = code16.decoder();
        for esi in block.nb_lost()..K {
            decoder.source_received(esi).expect("source");
        }
        for (i, symbol) in repair16.chunks(E).enumerate() {
            decoder.push_repair(K + i as u32, symbol).expect("repair");
        }
        decoder.decode(black_box(&mut dst)).expect("decode m=16");
    });
    assert!(dst == block.source, "xflute decoded the m=16 block");
    let symbols16: Vec<(u32, &[u8])> = (block.nb_lost()..K)
        .map(|esi| (esi, &block.source[esi as usize * E..][..E]))
        .chain(
            repair16
                .chunks(E)
                .enumerate()
                .map(|(i, s)| (K + i as u32, s)),
        )
        .collect();
    let dec_f = seconds_per_call(t, || {
        black_box(flute16.decode(black_box(&symbols16)));
    });
    println!("\nRS GF(2^16) k={K} n={N} E={E}, MiB/s of source block:");
    println!(
        "  encode  xflute {:8.0}   flute {:6.0}   xflute/flute = {:.1}x",
        mib(bytes, enc_x),
        mib(bytes, enc_f),
        enc_f / enc_x
    );
    println!(
        "  decode  xflute {:8.0}   flute {:6.0}   xflute/flute = {:.1}x  ({lost} source symbols lost)",
        mib(bytes, dec_x),
        mib(bytes, dec_f),
        dec_f / dec_x
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = bench_mul_add, bench_dot_rows, bench_rs, report
}
criterion_main!(benches);
