//! MD5 (RFC 1321): xflute's `hash::md5` against the `md-5` crate and the `md5`
//! crate flute 1.11.7 uses, in one run so that the ratios compare like with like.
//!
//! Three inputs: a 64 MiB message in one update; the same message in 1400-byte updates (one per
//! symbol, as a receiver hashes the in-order prefix of an object); and one 1400-byte message.
//!
//! `cargo bench -p xflute-bench --bench md5` prints MB/s (10^6 bytes) and the ratios at the end.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use md5::Digest;
use xflute::hash::md5::Md5;
use xflute_tests::data::random_bytes;

const BIG: usize = 64 << 20;
const PIECE: usize = 1400;

fn xflute_pieces(data: &[u8], piece: usize) -> [u8; 16] {
    let mut h = Md5::new();
    for p in data.chunks(piece) {
        h.update(p);
    }
    h.finalize()
}

fn md_5_pieces(data: &[u8], piece: usize) -> [u8; 16] {
    let mut h = md5::Md5::new();
    for p in data.chunks(piece) {
        h.update(p);
    }
    h.finalize().into()
}

fn flute_md5_pieces(data: &[u8], piece: usize) -> [u8; 16] {
    let mut h = md5_flute::Context::new();
    for p in data.chunks(piece) {
        h.consume(p);
    }
    h.finalize().into()
}

fn bench(c: &mut Criterion) {
    let small = random_bytes(PIECE, 1);
    let mut group = c.benchmark_group("md5_1400");
    group.throughput(Throughput::Bytes(PIECE as u64));
    group.bench_function("xflute", |b| {
        b.iter(|| xflute_pieces(black_box(&small), PIECE))
    });
    group.bench_function("md-5", |b| b.iter(|| md_5_pieces(black_box(&small), PIECE)));
    group.bench_function("md5 (flute)", |b| {
        b.iter(|| flute_md5_pieces(black_box(&small), PIECE))
    });
    group.finish();
}

/// The best of `runs` timings of `f`, in seconds.
fn best_of(runs: usize, mut f: impl FnMut() -> [u8; 16]) -> f64 {
    black_box(f());
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Every figure timed back to back in this run, and the ratios.
fn report(_: &mut Criterion) {
    let big = random_bytes(BIG, 1);
    let small = random_bytes(PIECE, 1);
    let repeat = BIG / PIECE;
    let cases: [(&str, &[u8], usize, usize); 3] = [
        ("64 MiB, one update", &big, BIG, 1),
        ("64 MiB, 1400-byte updates", &big, PIECE, 1),
        ("1400-byte message", &small, PIECE, repeat),
    ];
    println!("\nMD5, MB/s (10^6 bytes/s); ratios over the same input");
    for (what, input, piece, repeat) in cases {
        let bytes = (input.len() * repeat) as f64;
        let rate = |s: f64| bytes / s / 1e6;
        let time = |f: &dyn Fn() -> [u8; 16]| {
            best_of(5, || {
                let mut d = [0; 16];
                for _ in 0..repeat {
                    d = f();
                }
                d
            })
        };
        println!("  {what}:");
        let xflute = rate(time(&|| xflute_pieces(black_box(input), piece)));
        let md_5 = rate(time(&|| md_5_pieces(black_box(input), piece)));
        let flute = rate(time(&|| flute_md5_pieces(black_box(input), piece)));
        println!("    xflute            {xflute:7.1}");
        println!("    md-5 0.11.0       {md_5:7.1}");
        println!("    md5 0.8.1 (flute) {flute:7.1}");
        println!(
            "    xflute / md-5 = {:.2}x   xflute / md5 (flute) = {:.2}x",
            xflute / md_5,
            xflute / flute
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(10);
    targets = bench, report
}
criterion_main!(benches);
