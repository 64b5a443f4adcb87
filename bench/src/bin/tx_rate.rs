//! Send rate of xflute's `TxEngine` (AF_XDP backend) against the raw AF_XDP sender, over the same
//! veth pair into the same receiver, interleaved in one run (runs vary ±30-50% on this VM, so
//! only the ratio taken in one round means something).
//!
//! Run as root: `setsid cargo run -p xflute-bench --profile bench --bin tx_rate [seconds]
//! [rounds] [MiB]` (default 3 s per measurement, 3 rounds, a 512 MiB object).
//!
//! Each round measures, one after the other:
//! - raw: [`XskBlaster`] on core 0 sending one prebuilt frame (1400-byte UDP payload) in batches
//!   of 64 as fast as the tx ring takes them;
//! - engine: a [`TxEngine`] worker on core 0, unpaced, sending an in-memory object of the given
//!   size as a no-code carousel, its symbols sized so that its frames are the raw frames' size
//!   (1368-byte symbols in 1442-byte frames).
//!
//! Both go to the raw flow's group, into an AF_XDP socket behind the steering program on the
//! receiving end, read byte by byte by a thread on core 1 ([`consume_af_xdp`]). The rate is the
//! frames that receiver got per second; the sender's own count (queued frames), the shares of
//! core 0 (sending thread, softirq, idle) and of core 1 (receiving thread) over the window, and
//! the engine's frame size, batch and ring-full counters are printed next to it. A round in which
//! either thread had less than 90% of its core (other work on this shared machine) is shown but
//! left out of the median. Before the rounds, the user-space cost per packet of each sender is
//! measured without I/O: copying the prebuilt frame, against `Sender::write_next` (which reads
//! the object) and `UdpFrameBuilder::write_headers` (which sums the payload for the checksum),
//! then with the next symbol prefetched (`Sender::upcoming_payload`) as the engine does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use xflute::io::frame::UdpFrameBuilder;
use xflute::runtime::{TxCounters, TxEngine};
use xflute::sender::Sender;
use xflute_bench::carousel::{frame_matched_symbol_len, no_code_carousel, pseudo_random};
use xflute_bench::raw::{GROUP, PAYLOAD, WARMUP, XskBlaster, consume_af_xdp, frame};
use xflute_bench::sys::{AutogroupBoost, boost_threads_named, pin_to_core};
use xflute_tests::netns::{NetnsPair, Side, require_root};

/// What sends on core 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Raw,
    Engine,
}

/// One measurement.
#[derive(Debug, Default)]
struct Rate {
    received_pps: f64,
    sent_pps: f64,
    /// Shares of core 0 over the window: the sending thread, softirq, idle.
    core0: (f64, f64, f64),
    /// Share of a core the receiving thread had over the window.
    receiver: f64,
    /// The engine's counters at its end.
    engine: Option<TxCounters>,
}

/// Clock ticks of `cpu0` in `/proc/stat`: (softirq, idle + iowait, total).
fn core0_ticks() -> (u64, u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu0 ")) else {
        return (0, 0, 0);
    };
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let field = |i: usize| fields.get(i).copied().unwrap_or(0);
    (field(6), field(3) + field(4), fields.iter().sum())
}

/// Clock ticks (user + system) of this process's threads named `name`.
fn thread_ticks(name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .filter_map(|stat| {
            // "tid (comm) state ppid ...": utime and stime are the 12th and 13th fields after
            // the comm's closing parenthesis.
            let (head, rest) = stat.rsplit_once(") ")?;
            let comm = head.split_once(" (")?.1;
            (comm == name).then_some(())?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some(utime + stime)
        })
        .sum()
}

/// A no-code carousel of `data` to the raw flow's group, symbols sized so that its frames are
/// the raw frames' size, no MD5.
fn carousel_sender(data: &Arc<Vec<u8>>) -> Sender {
    let group: SocketAddr = GROUP.parse().unwrap();
    no_code_carousel(group, frame_matched_symbol_len(group), data.clone())
}

fn measure(pair: &NetnsPair, source: Source, data: &Arc<Vec<u8>>, window: Duration) -> Rate {
    let received = AtomicU64::new(0);
    let sent = AtomicU64::new(0);
    let ready = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let frames = vec![frame(pair)];
    std::thread::scope(|scope| {
        // Named, so that `perf report --sort comm` tells the threads apart.
        let rx = std::thread::Builder::new()
            .name("rx".into())
            .spawn_scoped(scope, || {
                pair.run_in(Side::Receiver, || {
                    pin_to_core(1);
                    consume_af_xdp(pair, &received, &ready, &stop)
                        .unwrap_or_else(|e| panic!("AF_XDP receiver: {e}"));
                })
            })
            .unwrap();
        while !ready.load(Ordering::Acquire) && !rx.is_finished() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let name = match source {
            Source::Raw => "raw-tx",
            Source::Engine => "engine-ctl",
        };
        let tx = std::thread::Builder::new()
            .name(name.into())
            .spawn_scoped(scope, || {
                pair.run_in(Side::Sender, || match source {
                    Source::Raw => {
                        pin_to_core(0);
                        let mut blaster = XskBlaster::bind(&pair.sender.interface).unwrap();
                        blaster.run(&frames, None, &stop, &sent);
                        None
                    }
                    Source::Engine => {
                        let engine_stop = Arc::new(AtomicBool::new(false));
                        let engine = TxEngine::builder()
                            .interface(pair.sender.interface.clone())
                            .cores(vec![0])
                            .session(carousel_sender(data), pair.sender.ipv4.into())
                            .start(Arc::clone(&engine_stop))
                            .unwrap();
                        // The raw sender runs at nice -20 (`pin_to_core`): so does the engine's worker.
                        boost_threads_named("xflute-tx");
                        // The worker publishes its counters every 50 ms.
                        while !stop.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(10));
                            sent.store(engine.stats().total().packets, Ordering::Relaxed);
                        }
                        engine.stop();
                        Some(engine.join().unwrap().total())
                    }
                })
            })
            .unwrap();
        let sender_thread = match source {
            Source::Raw => "raw-tx",
            Source::Engine => "xflute-tx0",
        };
        std::thread::sleep(WARMUP);
        let snapshot = || Snapshot {
            at: Instant::now(),
            received: received.load(Ordering::Relaxed),
            sent: sent.load(Ordering::Relaxed),
            core0: core0_ticks(),
            sender: thread_ticks(sender_thread),
            receiver: thread_ticks("rx"),
        };
        let before = snapshot();
        std::thread::sleep(window);
        let after = snapshot();
        stop.store(true, Ordering::SeqCst);
        let engine = tx.join().unwrap();
        rx.join().unwrap();
        let secs = (after.at - before.at).as_secs_f64();
        let (c0, c1) = (before.core0, after.core0);
        let total = (c1.2 - c0.2).max(1) as f64;
        Rate {
            received_pps: (after.received - before.received) as f64 / secs,
            sent_pps: (after.sent - before.sent) as f64 / secs,
            core0: (
                (after.sender - before.sender) as f64 / total,
                (c1.0 - c0.0) as f64 / total,
                (c1.1 - c0.1) as f64 / total,
            ),
            receiver: (after.receiver - before.receiver) as f64 / total,
            engine,
        }
    })
}

/// The counters of a measurement window's edge.
struct Snapshot {
    at: Instant,
    received: u64,
    sent: u64,
    /// Core 0's (softirq, idle + iowait, total) ticks, as [`core0_ticks`] gives them.
    core0: (u64, u64, u64),
    sender: u64,
    receiver: u64,
}

/// Frames of a UMEM-like area that the user-space cost measurements write into in turn, as the
/// tx path does (4032 frames of 2 KiB in flight).
const FRAMES: usize = 4032;
const FRAME_SIZE: usize = 2048;

/// User-space cost per packet, ns, without any I/O: (raw frame copy, `write_next` alone,
/// `write_next` + `write_headers`, the same with the next symbol prefetched), over `packets`
/// packets each, on the calling thread.
fn user_cost(pair: &NetnsPair, data: &Arc<Vec<u8>>, packets: usize) -> (f64, f64, f64, f64) {
    let mut area = vec![0u8; FRAMES * FRAME_SIZE];
    let frame = frame(pair);
    let t = Instant::now();
    for i in 0..packets {
        let at = (i % FRAMES) * FRAME_SIZE;
        area[at..at + frame.len()].copy_from_slice(&frame);
        std::hint::black_box(&area[at..at + 1]);
    }
    let raw = t.elapsed().as_secs_f64() * 1e9 / packets as f64;
    let group: SocketAddr = GROUP.parse().unwrap();
    let builder =
        UdpFrameBuilder::new(SocketAddr::new(pair.sender.ipv4.into(), 40_000), group).unwrap();
    let hdr = builder.header_len();
    let mut timed = |headers: bool, prefetch: bool| {
        let mut sender = carousel_sender(data);
        let now = SystemTime::now();
        let t = Instant::now();
        for i in 0..packets {
            let at = (i % FRAMES) * FRAME_SIZE;
            let slot = &mut area[at..at + FRAME_SIZE];
            let (head, body) = slot.split_at_mut(hdr);
            let len = sender.write_next(body, now).unwrap();
            if headers {
                builder.write_headers(head, &body[..len]).unwrap();
            }
            if prefetch && let Some(next) = sender.upcoming_payload(2) {
                xflute::io::prefetch::prefetch(next);
            }
            std::hint::black_box(&slot[..1]);
        }
        t.elapsed().as_secs_f64() * 1e9 / packets as f64
    };
    let alc = timed(false, false);
    let full = timed(true, false);
    let prefetched = timed(true, true);
    (raw, alc, full, prefetched)
}

fn print(name: &str, r: &Rate) {
    let counters = r.engine.as_ref().map_or(String::new(), |c| {
        format!(
            "; engine: {} packets of {:.0} bytes on average in {} batches ({:.1} per batch), ring full {} times",
            c.packets,
            // `bytes` counts each frame plus 24 bytes of preamble, delimiter and gap.
            c.bytes as f64 / c.packets.max(1) as f64 - 24.0,
            c.batches,
            c.packets as f64 / c.batches.max(1) as f64,
            c.ring_full
        )
    });
    println!(
        "  {name:<7} received {:>9.0} pps ({:.2} Gbit/s of 1400-byte payloads), queued {:>9.0} pps; core 0: sender {:>3.0}%, softirq {:>3.0}%, idle {:>3.0}%; receiving thread {:>3.0}% of core 1{counters}",
        r.received_pps,
        r.received_pps * (PAYLOAD * 8) as f64 / 1e9,
        r.sent_pps,
        r.core0.0 * 100.0,
        r.core0.1 * 100.0,
        r.core0.2 * 100.0,
        r.receiver * 100.0,
    );
}

fn main() {
    require_root();
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3.0);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(512);
    let window = Duration::from_secs_f64(secs);
    let _boost = AutogroupBoost::new();
    let data: Arc<Vec<u8>> = Arc::new(pseudo_random(mib << 20));
    let pair = NetnsPair::new();
    println!(
        "tx rate: raw AF_XDP sender vs TxEngine (unpaced no-code carousel of {mib} MiB), core 0, into AF_XDP rx reading every byte on core 1; {secs} s each, {rounds} rounds"
    );
    pair.run_in(Side::Sender, || {
        pin_to_core(0);
        let (raw, alc, full, prefetched) = user_cost(&pair, &data, 1 << 20);
        println!(
            "user-space cost per packet on core 0, no I/O: raw frame copy {raw:.0} ns; write_next {alc:.0} ns; write_next + write_headers {full:.0} ns, {prefetched:.0} ns with the next symbol prefetched"
        );
    });
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        println!("round {round}:");
        let raw = measure(&pair, Source::Raw, &data, window);
        print("raw", &raw);
        let engine = measure(&pair, Source::Engine, &data, window);
        print("engine", &engine);
        let ratio = engine.received_pps / raw.received_pps.max(1.0);
        // A sending or receiving thread that got less than 90% of its core shared it with
        // something else on this machine: that round's ratio says nothing about the senders.
        let clean = [raw.core0.0, raw.receiver, engine.core0.0, engine.receiver]
            .iter()
            .all(|&share| share >= 0.9);
        println!(
            "  ratio engine / raw (received): {ratio:.2}{}",
            if clean {
                ""
            } else {
                " (disturbed: not counted)"
            }
        );
        if clean {
            ratios.push(ratio);
        }
    }
    ratios.sort_by(f64::total_cmp);
    match ratios.get(ratios.len() / 2) {
        Some(median) => println!(
            "median ratio engine / raw over {} undisturbed rounds of {rounds}: {median:.2}",
            ratios.len()
        ),
        None if rounds > 0 => println!("no undisturbed round"),
        None => {}
    }
    pair.close();
}
