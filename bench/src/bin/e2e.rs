//! End-to-end goodput of one no-code FLUTE transfer, XDP → XDP over a veth pair between two
//! network namespaces, against the raw AF_XDP tx → AF_XDP rx rate of the same pair measured in
//! the same run (runs vary ±30-50% on this VM, so only the ratio means something).
//!
//! Run as root: `setsid cargo run -p xflute-bench --profile bench --bin e2e [MiB] [seconds]
//! [only] [rounds]` (default 1024 MiB, 3 s for the raw rate, every run, one round; `only` keeps
//! the runs whose label, such as `spool paced huge-page tmpfs` or `alloc unpaced`, contains it;
//! with several rounds, each measuring its own raw rate before and after, the median ratio of
//! each run is printed). The received file is written to two file systems, in the same run: on
//! `/dev/shm` (or `$XFLUTE_E2E_DIR`), a tmpfs of 4 KiB pages, where writing into the fresh
//! mapping costs a page fault per 4 KiB (about a third of the receive worker's time in `perf`);
//! and on a private tmpfs mounted `huge=within_size`, the RAM disk a headend hands files to its
//! packager from, where it costs one per 2 MiB.
//!
//! - Raw: `xflute_bench::raw::tx_to_rx` (an AF_XDP sender on core 0 filling 1400-byte UDP
//!   payloads as fast as it can, an AF_XDP receiver on core 1 reading every byte). The rate is
//!   payload bits received per second.
//! - Engine, eight times: sender unpaced and paced at 90% of the raw rate, into each of the two
//!   file systems, with the receiver's output space allocated as the object is written (the
//!   default) and reserved ahead of the transfer (`RxEngineBuilder::spool` of the object's
//!   size; its reservation time is printed, outside the goodput window). A [`TxEngine`] on
//!   core 0 sends one object of the given size (no-code FEC, 1368-byte symbols, as a carousel
//!   so that frames the veth drops under overload come round again); an [`RxEngine`] on core 1
//!   writes it into a file. Goodput is the object's bytes over the time from its first packet
//!   to its completion; the file is compared with the source.
//!   MD5 is not announced (the comparison checks the bytes), so the figure is the data path's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use xflute::receiver::ObjectEvent;
use xflute::runtime::{ChannelSpec, RxEngine, TxEngine};
use xflute_bench::carousel::{frame_matched_symbol_len, no_code_carousel, pseudo_random};
use xflute_bench::raw::{PAYLOAD, tx_to_rx};
use xflute_bench::sys::{AutogroupBoost, boost_threads_named};
use xflute_tests::netns::{NetnsPair, Side, require_root};
use xflute_tests::tmpfs::Tmpfs;

const GROUP: &str = "239.255.4.1:3400";

/// Goodput of one object through the engines, Gbit/s, and a line of counters.
fn engine_goodput(
    pair: &NetnsPair,
    base: &std::path::Path,
    len: usize,
    rate_bps: Option<u64>,
    spool: bool,
) -> (f64, String) {
    let out = base.join(format!("xflute-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let data: Arc<Vec<u8>> = Arc::new(pseudo_random(len));
    let group: SocketAddr = GROUP.parse().unwrap();
    let sender = no_code_carousel(group, frame_matched_symbol_len(group), data.clone());
    let rx_stop = Arc::new(AtomicBool::new(false));
    let tx_stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (goodput, line) = std::thread::scope(|scope| {
        let rx = scope.spawn(|| {
            pair.run_in(Side::Receiver, || {
                let reserving = Instant::now();
                let engine = RxEngine::builder(&out)
                    .interface(pair.receiver.interface.clone())
                    .cores(vec![1])
                    .channel(ChannelSpec::new(group))
                    .spool(if spool { len as u64 } else { 0 })
                    .start(Arc::clone(&rx_stop))
                    .unwrap();
                let reserved_in = reserving.elapsed();
                boost_threads_named("xflute-rx");
                ready_tx.send(()).unwrap();
                let mut started = None;
                let mut done = None;
                let give_up = Instant::now() + Duration::from_secs(120);
                while done.is_none() && Instant::now() < give_up {
                    match engine.events().next_timeout(Duration::from_millis(100)) {
                        Ok(ObjectEvent::Started { .. }) => started = Some(Instant::now()),
                        Ok(ObjectEvent::Completed { .. }) => done = Some(Instant::now()),
                        Ok(ObjectEvent::Failed { reason, .. }) => panic!("object failed: {reason}"),
                        _ => {}
                    }
                }
                let steer = engine.steering_counters().unwrap_or_default();
                let spooled = engine.spool_stats().map(|s| (s.taken, reserved_in));
                let stats = engine.join().unwrap();
                (started, done, stats, steer, spooled)
            })
        });
        ready_rx.recv().unwrap();
        let tx = scope.spawn(|| {
            pair.run_in(Side::Sender, || {
                let engine = TxEngine::builder()
                    .interface(pair.sender.interface.clone())
                    .cores(vec![0])
                    .rate_bps(rate_bps)
                    .session(sender, pair.sender.ipv4.into())
                    .run_for(Some(Duration::from_secs(120)))
                    .start(Arc::clone(&tx_stop))
                    .unwrap();
                // The raw sender and receiver run at nice -20 (`pin_to_core`): so do the
                // engines' workers.
                boost_threads_named("xflute-tx");
                engine.join().unwrap()
            })
        });
        let (started, done, stats, steer, spooled) = rx.join().unwrap();
        tx_stop.store(true, Ordering::SeqCst);
        let tx_stats = tx.join().unwrap().total();
        let (Some(t0), Some(t1)) = (started, done) else {
            panic!("the object was not received in 120 s");
        };
        let secs = (t1 - t0).as_secs_f64();
        let spool_note = spooled.map_or(String::new(), |(taken, t)| {
            format!(
                "; spool reserved in {:.2} s before the start, taken {taken}",
                t.as_secs_f64()
            )
        });
        let line = format!(
            "{len} bytes in {secs:.3} s{spool_note}; sender {} packets ({:.2}x the object); receiver {} frames, {} dropped (rx ring full {}), {} repeated, stalls p99 {} us, longest {} us; XDP redirected {}",
            tx_stats.packets,
            tx_stats.alc_bytes as f64 / len as f64,
            stats.frames(),
            stats.total_drops(),
            stats.rx_ring_full(),
            stats.duplicates(),
            stats.stalls().quantile_us(0.99),
            stats.stalls().max_us(),
            steer.redirected,
        );
        (len as f64 * 8.0 / secs / 1e9, line)
    });
    let got = xflute::io::mmap::MappedFile::open(out.join("object.bin")).unwrap();
    assert!(
        got.as_slice() == data.as_slice(),
        "the received file differs"
    );
    let _ = std::fs::remove_dir_all(&out);
    (goodput, line)
}

fn main() {
    require_root();
    let _boost = AutogroupBoost::new();
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let window = Duration::from_secs_f64(args.next().and_then(|a| a.parse().ok()).unwrap_or(3.0));
    // Only the runs whose label ("spool paced huge-page tmpfs", ...) contains this, for profiling.
    let only = args.next().unwrap_or_default();
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    let shm = std::path::PathBuf::from(
        std::env::var_os("XFLUTE_E2E_DIR").unwrap_or_else(|| "/dev/shm".into()),
    );
    let huge = Tmpfs::mount(
        "e2e-huge",
        &format!("size={}m,huge=within_size", mib * 2 + 64),
    );
    let pair = NetnsPair::new();
    let group: SocketAddr = GROUP.parse().unwrap();
    println!(
        "engine: {}-byte symbols, so that its ALC packets are {PAYLOAD}-byte UDP payloads like the raw frames'",
        frame_matched_symbol_len(group)
    );
    // Each run's ratio, by label, over the rounds.
    let mut ratios: Vec<(String, Vec<f64>)> = Vec::new();
    for round in 1..=rounds {
        println!("round {round} of {rounds}:");
        let raw = tx_to_rx(&pair, window)
            .unwrap_or_else(|e| panic!("raw AF_XDP tx -> rx: {e}"))
            .payload_gbps();
        println!("raw AF_XDP tx -> AF_XDP rx, 1400-byte payloads: {raw:.2} Gbit/s of payload");
        // Paced at 90% of the raw payload rate (wire bits: payload plus ~10% of ALC, UDP, IP,
        // Ethernet and framing overhead), so that the veth does not drop and nothing is sent
        // twice.
        let paced_rate = (raw * 0.9 * 1.1 * 1e9) as u64;
        let mut results = Vec::new();
        for spool in [false, true] {
            for (pacing, rate) in [("unpaced", None), ("paced", Some(paced_rate))] {
                for (fs, dir) in [
                    ("4 KiB-page tmpfs", shm.as_path()),
                    ("huge-page tmpfs", huge.path()),
                ] {
                    let space = if spool { "spool" } else { "alloc" };
                    let label = format!("{space} {pacing} {fs}");
                    if !label.contains(only.as_str()) {
                        continue;
                    }
                    let (goodput, line) = engine_goodput(&pair, dir, mib << 20, rate, spool);
                    let how = rate.map_or("sender unpaced".to_string(), |r| {
                        format!("sender paced at {:.2} Gbit/s on the wire", r as f64 / 1e9)
                    });
                    let space = if spool {
                        "space reserved ahead (spool)"
                    } else {
                        "space allocated as written"
                    };
                    println!(
                        "xflute TxEngine -> RxEngine, {mib} MiB no-code into {} ({fs}), {space}, {how}: {goodput:.2} Gbit/s goodput ({line})",
                        dir.display()
                    );
                    results.push((label, goodput));
                }
            }
        }
        let raw_after = tx_to_rx(&pair, window)
            .unwrap_or_else(|e| panic!("raw AF_XDP tx -> rx: {e}"))
            .payload_gbps();
        println!("raw again after the transfers: {raw_after:.2} Gbit/s");
        let baseline = (raw + raw_after) / 2.0;
        println!("ratio goodput / raw (mean of before and after; bar >= 0.80):");
        for (label, goodput) in results {
            let ratio = goodput / baseline;
            println!("  {label:34} {ratio:.2}");
            match ratios.iter_mut().find(|(l, _)| *l == label) {
                Some((_, all)) => all.push(ratio),
                None => ratios.push((label, vec![ratio])),
            }
        }
    }
    if rounds > 1 {
        println!("median ratio over {rounds} rounds (bar >= 0.80), and each round's:");
        for (label, mut all) in ratios {
            let each: Vec<String> = all.iter().map(|r| format!("{r:.2}")).collect();
            all.sort_by(f64::total_cmp);
            let median = all[all.len() / 2];
            println!("  {label:34} {median:.2}  ({})", each.join(" "));
        }
    }
    pair.close();
}
