//! Receiver throughput: the same packets of one 64 MiB object (1400-byte symbols, no-code FEC),
//! written once by flute 1.11.7's `Sender`, pushed into xflute's `MultiReceiver` with a
//! `MemorySink` and into flute's `MultiReceiver` with its buffer writer, MD5 off and on, in the
//! same run. Prints Gbit/s of each and the xflute/flute ratios.
//!
//! AL-FEC rows: the same 64 MiB object sent by flute's `Sender` with Reed-Solomon GF(2^8)
//! (`Oti::new_reed_solomon_rs2m(1400, 64, 24, 8)`: ID 2, m = 8, k = 64, r = 24; flute refuses
//! ID 5 for 64 MiB with k = 64, capping it at 255 blocks) and with RaptorQ
//! (`Oti::new_raptorq(1400, 1024, 256, 1, 4)`: K = 1024, r = 256), 10% of the object's packets
//! lost (the same ones for both receivers, drawn once from a fixed seed; the FDT is kept), MD5
//! off, received by both in interleaved runs.

use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput};
use flute::core::lct::Cenc as FluteCenc;
use flute::core::{Oti as FluteOti, UDPEndpoint};
use flute::receiver::MultiReceiver as FluteReceiver;
use flute::receiver::writer::ObjectWriterBufferBuilder;
use flute::sender::{Config as SenderConfig, ObjectDesc, Sender, TransferConfig};
use xflute::endpoint::UdpEndpoint;
use xflute::receiver::{Config, MemorySink, MultiReceiver};

const OBJECT_BYTES: usize = 64 << 20;
const SYMBOL_BYTES: u16 = 1400;
const BLOCK_SYMBOLS: u16 = 64;

/// Every packet of the session: FDT and the object, once.
fn packets() -> Vec<Vec<u8>> {
    session_packets(&FluteOti::new_no_code(SYMBOL_BYTES, BLOCK_SYMBOLS))
}

/// Every packet of a session with `oti`: FDT and the object (source and repair), once.
fn session_packets(oti: &FluteOti) -> Vec<Vec<u8>> {
    let endpoint = UDPEndpoint::new(None, "224.0.0.1".to_owned(), 3400);
    let mut sender = Sender::new(endpoint, 1, oti, &SenderConfig::default());
    let data = xflute_tests::data::random_bytes(OBJECT_BYTES, 1);
    let object = ObjectDesc::create_from_buffer(
        data,
        "application/octet-stream",
        &url::Url::parse("file:///bench.bin").unwrap(),
        true,
        TransferConfig {
            cenc: FluteCenc::Null,
            ..Default::default()
        },
    )
    .unwrap();
    let toi = sender.add_object(0, object).unwrap();
    let now = SystemTime::now();
    sender.publish(now).unwrap();
    let mut out = Vec::new();
    while sender.nb_transfers(toi).is_some_and(|n| n == 0) {
        match sender.read(now) {
            Some(p) => out.push(p),
            None => break,
        }
    }
    out
}

/// Receives every packet into a new `MultiReceiver` over `sink`; returns the sink with the
/// object's bytes given back to it when `recycle` (the application is done with them).
fn run_xflute(packets: &[Vec<u8>], md5: bool, sink: MemorySink, recycle: bool) -> MemorySink {
    let config = Config {
        check_md5: md5,
        ..Config::default()
    };
    let mut receiver = MultiReceiver::new(sink, config);
    let endpoint = UdpEndpoint::new("224.0.0.1".parse().unwrap(), 3400);
    let now = SystemTime::now();
    for p in packets {
        let _ = receiver.push(&endpoint, p, now);
    }
    let mut sink = receiver.into_sink();
    let mut done = sink.take_completed();
    assert_eq!(done.len(), 1);
    let object = done.remove(0);
    assert_eq!(object.data.len(), OBJECT_BYTES);
    if recycle {
        sink.recycle(black_box(object.data));
    } else {
        black_box(object);
    }
    sink
}

fn run_flute(packets: &[Vec<u8>], md5: bool) {
    let writer = Rc::new(ObjectWriterBufferBuilder::new(md5));
    let mut receiver = FluteReceiver::new(writer.clone(), None, false);
    let endpoint = UDPEndpoint::new(None, "224.0.0.1".to_owned(), 3400);
    let now = SystemTime::now();
    for p in packets {
        let _ = receiver.push(&endpoint, p, now);
    }
    let objects = writer.objects.borrow();
    assert!(
        objects
            .iter()
            .any(|o| o.borrow().complete && o.borrow().data.len() == OBJECT_BYTES)
    );
}

/// `packets` without `loss` of the object's packets (TOI ≠ 0), drawn from a fixed seed: the same
/// lost packets for every receiver.
fn lose(packets: &[Vec<u8>], loss: f64) -> Vec<Vec<u8>> {
    let mut rng = xflute_tests::data::SplitMix64::new(1);
    packets
        .iter()
        .filter(|p| {
            let draw = rng.next_f64();
            let fdt = xflute::wire::AlcPacket::parse(p).is_ok_and(|a| a.lct().toi == 0);
            fdt || draw >= loss
        })
        .cloned()
        .collect()
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn gbps(d: Duration) -> f64 {
    OBJECT_BYTES as f64 * 8.0 / d.as_secs_f64() / 1e9
}

fn main() {
    let packets = packets();
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut group = criterion.benchmark_group("receiver_64MiB_1400B_nocode");
    group.throughput(Throughput::Bytes(OBJECT_BYTES as u64));
    for md5 in [false, true] {
        let tag = if md5 { "md5_on" } else { "md5_off" };
        let mut slot = Some(MemorySink::new(1 << 30));
        group.bench_function(format!("xflute_{tag}"), |b| {
            b.iter(|| slot = Some(run_xflute(&packets, md5, slot.take().unwrap(), false)))
        });
        group.bench_function(format!("xflute_recycled_{tag}"), |b| {
            b.iter(|| slot = Some(run_xflute(&packets, md5, slot.take().unwrap(), true)))
        });
        group.bench_function(format!("flute_{tag}"), |b| {
            b.iter(|| run_flute(&packets, md5))
        });
    }
    group.finish();

    let fec_rows = [
        (
            "RS m=8 k=64 r=24",
            FluteOti::new_reed_solomon_rs2m(SYMBOL_BYTES, 64, 24, 8).unwrap(),
            3.0,
        ),
        (
            "RaptorQ K=1024 r=256",
            FluteOti::new_raptorq(SYMBOL_BYTES, 1024, 256, 1, 4).unwrap(),
            2.0,
        ),
    ];
    let fec_packets: Vec<(&str, Vec<Vec<u8>>, f64)> = fec_rows
        .iter()
        .map(|(name, oti, bar)| (*name, lose(&session_packets(oti), 0.1), *bar))
        .collect();
    let mut group = criterion.benchmark_group("receiver_64MiB_1400B_fec_loss10_md5_off");
    group.throughput(Throughput::Bytes(OBJECT_BYTES as u64));
    for (name, packets, _) in &fec_packets {
        let tag = if name.starts_with("RS") {
            "rs28"
        } else {
            "raptorq"
        };
        let mut slot = Some(MemorySink::new(1 << 30));
        group.bench_function(format!("xflute_{tag}"), |b| {
            b.iter(|| slot = Some(run_xflute(packets, false, slot.take().unwrap(), true)))
        });
        group.bench_function(format!("flute_{tag}"), |b| {
            b.iter(|| run_flute(packets, false))
        });
    }
    group.finish();

    println!(
        "\nreceiver, 64 MiB object, 1400-byte symbols, {} packets, same run, median of 9:",
        packets.len()
    );
    println!("  (xflute: a new MemorySink buffer per object; recycled: the application gives");
    println!("   each object's buffer back with MemorySink::recycle, so no page is faulted in)");
    for md5 in [false, true] {
        let tag = if md5 { "MD5 on " } else { "MD5 off" };
        let mut slot = Some(MemorySink::new(1 << 30));
        let mut fresh = Vec::new();
        let mut recycled = Vec::new();
        let mut flute = Vec::new();
        // Interleaved, so that load from elsewhere on the machine hits all three alike.
        for _ in 0..9 {
            fresh.push(time(|| {
                slot = Some(run_xflute(&packets, md5, slot.take().unwrap(), false))
            }));
            recycled.push(time(|| {
                slot = Some(run_xflute(&packets, md5, slot.take().unwrap(), true))
            }));
            flute.push(time(|| run_flute(&packets, md5)));
        }
        let (x, r, f) = (
            gbps(median(fresh)),
            gbps(median(recycled)),
            gbps(median(flute)),
        );
        println!(
            "  {tag}: xflute {x:6.2} Gbit/s ({:.2}x)  xflute recycled {r:6.2} Gbit/s ({:.2}x)  flute {f:6.2} Gbit/s",
            x / f,
            r / f
        );
    }
    println!(
        "\nreceiver, 64 MiB object, 1400-byte symbols, AL-FEC, 10% of the object's packets lost"
    );
    println!("  (the same lost packets for both), MD5 off, same run, median of 9:");
    for (name, packets, bar) in &fec_packets {
        let mut slot = Some(MemorySink::new(1 << 30));
        let mut xflute = Vec::new();
        let mut recycled = Vec::new();
        let mut flute = Vec::new();
        for _ in 0..9 {
            xflute.push(time(|| {
                slot = Some(run_xflute(packets, false, slot.take().unwrap(), false))
            }));
            recycled.push(time(|| {
                slot = Some(run_xflute(packets, false, slot.take().unwrap(), true))
            }));
            flute.push(time(|| run_flute(packets, false)));
        }
        let (x, r, f) = (
            gbps(median(xflute)),
            gbps(median(recycled)),
            gbps(median(flute)),
        );
        println!(
            "  {name:<21} ({} packets): xflute {x:6.2} Gbit/s ({:.2}x)  xflute recycled {r:6.2} Gbit/s ({:.2}x)  flute {f:6.2} Gbit/s  (bar {bar}x)",
            packets.len(),
            x / f,
            r / f
        );
    }
    criterion.final_summary();
}
