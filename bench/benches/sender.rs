//! Sender throughput: one 64 MiB object, 1400-byte symbols, 64 symbols per block, no-code FEC,
//! MD5 off, drained packet by packet as fast as possible. xflute's `write_next` writes each
//! packet into one reused buffer; flute 1.11.7's `Sender::read()` returns a new `Vec` per packet.
//! Both run in the same process with the same parameters; the object is built outside the timed
//! part for both. Prints Gbit/s of object bytes for each and the xflute/flute ratio.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{BatchSize, Criterion, Throughput};
use xflute::endpoint::UdpEndpoint;
use xflute::sender::{Config, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};

const OBJECT_LEN: usize = 64 << 20;
const SYMBOL_LEN: u16 = 1400;
const BLOCK_LEN: u16 = 64;

fn object_bytes() -> Arc<Vec<u8>> {
    Arc::new(xflute_tests::data::random_bytes(OBJECT_LEN, 1))
}

/// An xflute sender with the object added and the FDT published.
fn xflute_sender(bytes: &Arc<Vec<u8>>, now: SystemTime) -> Sender {
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: SYMBOL_LEN,
        maximum_source_block_length: u32::from(BLOCK_LEN),
        max_number_of_encoding_symbols: u32::from(BLOCK_LEN),
        scheme_specific: SchemeSpecific::None,
    };
    let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 1)), 3400);
    let mut sender = Sender::new(endpoint, 1, oti, Config::default()).expect("sender");
    let obj = ObjectDesc::from_bytes(
        bytes.clone(),
        "application/octet-stream",
        "file:///object.bin",
        false,
        TransferConfig::default(),
    )
    .expect("object");
    sender.add_object(0, obj).expect("add");
    sender.publish(now).expect("publish");
    sender
}

/// Drains `sender` into one buffer; returns the bytes written (packets included).
fn xflute_drain(mut sender: Sender, now: SystemTime) -> usize {
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut total = 0;
    while let Some(len) = sender.write_next(&mut buf, now) {
        total += len;
        black_box(&buf[..len]);
    }
    total
}

/// A flute sender with the same object added and the FDT published.
fn flute_sender(bytes: &[u8], now: SystemTime) -> flute::sender::Sender {
    let oti = flute::core::Oti::new_no_code(SYMBOL_LEN, BLOCK_LEN);
    let endpoint = flute::core::UDPEndpoint::new(None, "224.0.0.1".to_owned(), 3400);
    let mut sender = flute::sender::Sender::new(endpoint, 1, &oti, &Default::default());
    let obj = flute::sender::ObjectDesc::create_from_buffer(
        bytes.to_vec(),
        "application/octet-stream",
        &url::Url::parse("file:///object.bin").expect("url"),
        false,
        flute::sender::TransferConfig::default(),
    )
    .expect("object");
    sender.add_object(0, obj).expect("add");
    sender.publish(now).expect("publish");
    sender
}

fn flute_drain(mut sender: flute::sender::Sender, now: SystemTime) -> usize {
    let mut total = 0;
    while let Some(pkt) = sender.read(now) {
        total += pkt.len();
        black_box(&pkt);
    }
    total
}

fn gbps(elapsed: Duration) -> f64 {
    (OBJECT_LEN as f64 * 8.0) / elapsed.as_secs_f64() / 1e9
}

/// Median time to drain the object, over `runs` runs, with a fresh sender for each.
fn median_drain<S>(
    runs: usize,
    mut setup: impl FnMut() -> S,
    mut drain: impl FnMut(S) -> usize,
) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let sender = setup();
            let start = Instant::now();
            black_box(drain(sender));
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    let now = SystemTime::now();
    let bytes = object_bytes();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    {
        let mut group = c.benchmark_group("sender_64MiB_1400B_noCode");
        group.throughput(Throughput::Bytes(OBJECT_LEN as u64));
        group.bench_function("xflute_write_next", |b| {
            b.iter_batched(
                || xflute_sender(&bytes, now),
                |s| xflute_drain(s, now),
                BatchSize::PerIteration,
            )
        });
        group.bench_function("flute_read", |b| {
            b.iter_batched(
                || flute_sender(&bytes, now),
                |s| flute_drain(s, now),
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
    c.final_summary();

    // The same comparison, interleaved run by run so both see the same machine state.
    let runs = 9;
    let mut xflute_times = Vec::new();
    let mut flute_times = Vec::new();
    for _ in 0..runs {
        xflute_times.push(median_drain(
            1,
            || xflute_sender(&bytes, now),
            |s| xflute_drain(s, now),
        ));
        flute_times.push(median_drain(
            1,
            || flute_sender(&bytes, now),
            |s| flute_drain(s, now),
        ));
    }
    xflute_times.sort();
    flute_times.sort();
    let x = gbps(xflute_times[runs / 2]);
    let f = gbps(flute_times[runs / 2]);
    println!(
        "sender 64 MiB, 1400-byte symbols, no-code, MD5 off (median of {runs}): \
         xflute write_next {x:.1} Gbit/s, flute read() {f:.1} Gbit/s, ratio {:.2}x",
        x / f
    );
}
