//! End-to-end goodput of one no-code FLUTE transfer, XDP → XDP over a veth pair between two
//! network namespaces, against the raw AF_XDP tx → AF_XDP rx rate of the same pair measured in
//! the same run (runs vary ±30-50% on this VM, so only the ratio means something).
//!
//! Run as root: `setsid cargo run -p xflute-bench --profile bench --bin e2e [MiB] [seconds]`
//! (default 1024 MiB, 3 s for the raw rate). The received file goes below `$XFLUTE_E2E_DIR`
//! (default `/dev/shm`). Writing into the fresh mapping of the output file costs a page fault
//! per 4 KiB page: about a third of the receive worker's time in `perf` (a tmpfs with
//! `huge=always` is worse: each fault then clears 2 MiB while the rx ring fills).
//!
//! - Raw: a thread on core 0 in the sending namespace fills AF_XDP tx frames with 1400-byte UDP
//!   payloads as fast as it can; a thread on core 1 in the receiving namespace takes them off
//!   an AF_XDP socket (behind the steering program) and reads every byte. The rate is payload
//!   bits received per second.
//! - Engine, twice (sender unpaced, then paced at 90% of the raw rate): a [`TxEngine`] on core 0
//!   sends one object of the given size (no-code FEC, 1400-byte
//!   symbols, as a carousel so that frames the veth drops under overload come round again); an
//!   [`RxEngine`] on core 1 writes it into a file on tmpfs. Goodput is the object's bytes over
//!   the time from its first packet to its completion; the file is compared with the source.
//!   MD5 is not announced (the comparison checks the bytes), so the figure is the data path's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use xflute::endpoint::UdpEndpoint;
use xflute::io::frame::UdpFrameBuilder;
use xflute::io::xdp::Channel;
use xflute::io::xsk::{Umem, UmemConfig, XskConfig, XskSocket};
use xflute::receiver::ObjectEvent;
use xflute::runtime::{ChannelSpec, RxEngine, TxEngine};
use xflute::sender::{CarouselRepeatMode, Config, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};
use xflute_tests::af_xdp::XdpReceiver;
use xflute_tests::netns::{NetnsPair, Side, require_root};

const PAYLOAD: usize = 1400;
const GROUP: &str = "239.255.4.1:3400";
const WARMUP: Duration = Duration::from_millis(300);

fn pin(core: usize) {
    if !core_affinity_set(core) {
        eprintln!("warning: could not pin to core {core}");
    }
}

#[allow(unsafe_code)] // sched_setaffinity(2) is FFI.
fn core_affinity_set(core: usize) -> bool {
    // SAFETY: `set` is a zeroed cpu_set_t, a valid empty set, filled with CPU_SET; the call
    // changes only the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Payload Gbit/s received over `window`, AF_XDP tx → AF_XDP rx.
fn raw_rate(pair: &NetnsPair, window: Duration) -> f64 {
    let received = AtomicU64::new(0);
    let ready = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let group: SocketAddr = GROUP.parse().unwrap();
    let frame = UdpFrameBuilder::new(SocketAddr::new(pair.sender.ipv4.into(), 4000), group)
        .unwrap()
        .build(&vec![0x5a; PAYLOAD])
        .unwrap();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            pair.run_in(Side::Receiver, || {
                pin(1);
                let channel = Channel {
                    destination: group,
                    source: None,
                };
                let mut rx = XdpReceiver::open(&pair.receiver.interface, 1, &[channel], false);
                ready.store(true, Ordering::SeqCst);
                let mut sum = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let n = rx.poll(|_, f| {
                        sum = sum.wrapping_add(f.iter().map(|&b| u64::from(b)).sum::<u64>());
                    });
                    received.fetch_add(u64::from(n), Ordering::Relaxed);
                }
                std::hint::black_box(sum);
            })
        });
        while !ready.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        scope.spawn(|| {
            pair.run_in(Side::Sender, || {
                pin(0);
                let umem = Umem::new(UmemConfig::default()).unwrap();
                let config = XskConfig {
                    rx_frames: 64,
                    tx_frames: 4032,
                    rx_size: 64,
                    ..XskConfig::default()
                };
                let mut tx = XskSocket::bind(&umem, &pair.sender.interface, 0, &config).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let _ = tx.send(64, |buf| {
                        buf[..frame.len()].copy_from_slice(&frame);
                        frame.len()
                    });
                }
            })
        });
        std::thread::sleep(WARMUP);
        let (t0, c0) = (Instant::now(), received.load(Ordering::Relaxed));
        std::thread::sleep(window);
        let (t1, c1) = (Instant::now(), received.load(Ordering::Relaxed));
        stop.store(true, Ordering::SeqCst);
        (c1 - c0) as f64 * (PAYLOAD * 8) as f64 / (t1 - t0).as_secs_f64() / 1e9
    })
}

/// Goodput of one object through the engines, Gbit/s, and a line of counters.
fn engine_goodput(pair: &NetnsPair, len: usize, rate_bps: Option<u64>) -> (f64, String) {
    let base = std::env::var_os("XFLUTE_E2E_DIR").unwrap_or_else(|| "/dev/shm".into());
    let out = std::path::Path::new(&base).join(format!("xflute-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let data: Arc<Vec<u8>> = Arc::new(
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect(),
    );
    let group: SocketAddr = GROUP.parse().unwrap();
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: PAYLOAD as u16,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 64,
        scheme_specific: SchemeSpecific::None,
    };
    let mut sender = Sender::new(
        UdpEndpoint::new(group.ip(), group.port()),
        1,
        oti,
        Config::default(),
    )
    .unwrap();
    let transfer = TransferConfig {
        carousel_mode: Some(CarouselRepeatMode::DelayBetweenTransfers(Duration::ZERO)),
        ..TransferConfig::default()
    };
    let object = ObjectDesc::from_bytes(
        data.clone(),
        "application/octet-stream",
        "file:///object.bin",
        false,
        transfer,
    )
    .unwrap();
    sender.add_object(0, object).unwrap();
    let rx_stop = Arc::new(AtomicBool::new(false));
    let tx_stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (goodput, line) = std::thread::scope(|scope| {
        let rx = scope.spawn(|| {
            pair.run_in(Side::Receiver, || {
                let engine = RxEngine::builder(&out)
                    .interface(pair.receiver.interface.clone())
                    .cores(vec![1])
                    .channel(ChannelSpec::new(group))
                    .start(Arc::clone(&rx_stop))
                    .unwrap();
                ready_tx.send(()).unwrap();
                let mut started = None;
                let mut done = None;
                let give_up = Instant::now() + Duration::from_secs(120);
                while done.is_none() && Instant::now() < give_up {
                    match engine.events().recv_timeout(Duration::from_millis(100)) {
                        Ok(ObjectEvent::Started { .. }) => started = Some(Instant::now()),
                        Ok(ObjectEvent::Completed { .. }) => done = Some(Instant::now()),
                        Ok(ObjectEvent::Failed { reason, .. }) => panic!("object failed: {reason}"),
                        _ => {}
                    }
                }
                let steer = engine.steering_counters().unwrap_or_default();
                let stats = engine.join().unwrap();
                (started, done, stats, steer)
            })
        });
        ready_rx.recv().unwrap();
        let tx = scope.spawn(|| {
            pair.run_in(Side::Sender, || {
                TxEngine::builder()
                    .interface(pair.sender.interface.clone())
                    .cores(vec![0])
                    .rate_bps(rate_bps)
                    .session(sender, pair.sender.ipv4.into())
                    .run_for(Some(Duration::from_secs(120)))
                    .start(Arc::clone(&tx_stop))
                    .unwrap()
                    .join()
                    .unwrap()
            })
        });
        let (started, done, stats, steer) = rx.join().unwrap();
        tx_stop.store(true, Ordering::SeqCst);
        let tx_stats = tx.join().unwrap().total();
        let (Some(t0), Some(t1)) = (started, done) else {
            panic!("the object was not received in 120 s");
        };
        let secs = (t1 - t0).as_secs_f64();
        let line = format!(
            "{len} bytes in {secs:.3} s; sender {} packets ({:.2}x the object); receiver {} frames, {} dropped (rx ring full {}), {} repeated; XDP redirected {}",
            tx_stats.packets,
            tx_stats.alc_bytes as f64 / len as f64,
            stats.frames(),
            stats.total_drops(),
            stats.rx_ring_full(),
            stats.duplicates(),
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
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let window = Duration::from_secs_f64(args.next().and_then(|a| a.parse().ok()).unwrap_or(3.0));
    let pair = NetnsPair::new();
    let raw = raw_rate(&pair, window);
    println!("raw AF_XDP tx -> AF_XDP rx, 1400-byte payloads: {raw:.2} Gbit/s of payload");
    let (goodput, line) = engine_goodput(&pair, mib << 20, None);
    println!(
        "xflute TxEngine -> RxEngine, {mib} MiB no-code, sender unpaced: {goodput:.2} Gbit/s goodput ({line})"
    );
    // Paced at 90% of the raw payload rate (wire bits: payload plus ~10% of ALC, UDP, IP,
    // Ethernet and framing overhead), so that the veth does not drop and nothing is sent twice.
    let rate = (raw * 0.9 * 1.1 * 1e9) as u64;
    let (paced, paced_line) = engine_goodput(&pair, mib << 20, Some(rate));
    println!(
        "xflute TxEngine -> RxEngine, {mib} MiB no-code, sender paced at {:.2} Gbit/s on the wire: {paced:.2} Gbit/s goodput ({paced_line})",
        rate as f64 / 1e9
    );
    let raw_after = raw_rate(&pair, window);
    println!("raw again after the transfers: {raw_after:.2} Gbit/s");
    let baseline = (raw + raw_after) / 2.0;
    println!(
        "ratio goodput / raw (mean of before and after): unpaced {:.2}, paced {:.2} (bar >= 0.80)",
        goodput / baseline,
        paced / baseline
    );
    pair.close();
}
