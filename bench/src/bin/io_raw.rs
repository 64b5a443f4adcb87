//! Raw I/O rates over a veth pair between two network namespaces, 1400-byte UDP payloads, all
//! paths in one run so that their ratios are comparable (runs vary ±30-50% on this VM):
//! AF_XDP rx, UDP rx (`recvmmsg`), AF_XDP tx, UDP tx (`sendmmsg` with and without GSO).
//!
//! Run as root: `setsid cargo run -p xflute-bench --profile bench --bin io_raw [seconds per path]`
//! (`setsid` gives it a scheduling autogroup of its own, which it boosts while it runs).
//!
//! Receive paths are fed by the in-kernel frame generator (`xflute_gen`, live-frames
//! `BPF_PROG_TEST_RUN`) on core 0, faster than either receiver, or by the AF_XDP sender where the
//! kernel refuses the generator (the output says which, and why); the application thread runs on
//! core 1 and reads every payload byte. Transmit paths run on core 1 into a receiver whose XDP
//! program drops the channel's frames (drop knob at 1.0).

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use xflute::io::udp::{RecvBatch, UdpSocket};
use xflute::io::xdp::XdpSteering;
use xflute_bench::raw::{
    Feeder, GROUP, PAYLOAD, SRC, WARMUP, XskBlaster, af_xdp_rx, channel, frame, gbps,
    generator_available, measure_rx, read_every_byte,
};
use xflute_bench::sys::{AutogroupBoost, pin_to_core};
use xflute_tests::netns::{NetnsPair, Side, require_root};

/// Packets per second counted by `counter` over `window`, after a warm-up.
fn rate(counter: &AtomicU64, window: Duration) -> f64 {
    std::thread::sleep(WARMUP);
    let (t0, c0) = (Instant::now(), counter.load(Ordering::Relaxed));
    std::thread::sleep(window);
    let (t1, c1) = (Instant::now(), counter.load(Ordering::Relaxed));
    (c1 - c0) as f64 / (t1 - t0).as_secs_f64()
}

/// The generator's rate into a receiver whose program drops every frame (the ceiling).
fn xdp_drop(pair: &NetnsPair, window: Duration, feeder: Feeder) -> Result<(f64, f64), String> {
    measure_rx(pair, window, feeder, |_, ready, stop| {
        let mut steering = XdpSteering::attach(&pair.receiver.interface).unwrap();
        steering.add_flow(&channel()).unwrap();
        steering.set_drop_probability(1.0).unwrap();
        ready.store(true, Ordering::Release);
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
    })
}

fn udp_rx(pair: &NetnsPair, window: Duration, feeder: Feeder) -> Result<(f64, f64), String> {
    measure_rx(pair, window, feeder, |received, ready, stop| {
        // No channel: the program passes everything to the stack; it is attached because the
        // generator's frames need the receiving veth's NAPI.
        let _steering = XdpSteering::attach(&pair.receiver.interface).unwrap();
        let group: SocketAddr = GROUP.parse().unwrap();
        let socket =
            UdpSocket::bind(SocketAddr::new("0.0.0.0".parse().unwrap(), group.port())).unwrap();
        socket
            .join(group.ip(), None, &pair.receiver.interface)
            .unwrap();
        socket.set_recv_buffer(32 << 20).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut batch = RecvBatch::new(2048);
        ready.store(true, Ordering::Release);
        let mut acc = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let n = socket.recv_batch(&mut batch).unwrap();
            for (_, payload) in batch.iter() {
                acc ^= read_every_byte(payload);
            }
            received.fetch_add(n as u64, Ordering::Relaxed);
        }
        black_box(acc);
    })
}

/// Runs `send` in the sending namespace on core 1 while the receiver's XDP program drops the
/// channel's frames. Returns packets/s sent (completed, for AF_XDP).
fn measure_tx(
    pair: &NetnsPair,
    window: Duration,
    send: impl FnOnce(&AtomicU64, &AtomicBool) + Send,
) -> f64 {
    let sent = AtomicU64::new(0);
    let ready = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let rx = s.spawn(|| {
            pair.run_in(Side::Receiver, || {
                let mut steering = XdpSteering::attach(&pair.receiver.interface).unwrap();
                steering.add_flow(&channel()).unwrap();
                steering.set_drop_probability(1.0).unwrap();
                ready.store(true, Ordering::Release);
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        });
        while !ready.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let tx = s.spawn(|| {
            pair.run_in(Side::Sender, || {
                pin_to_core(1);
                send(&sent, &stop);
            })
        });
        let r = rate(&sent, window);
        stop.store(true, Ordering::Relaxed);
        tx.join().unwrap();
        rx.join().unwrap();
        r
    })
}

fn af_xdp_tx(pair: &NetnsPair, window: Duration) -> f64 {
    let frames = vec![frame(pair)];
    measure_tx(pair, window, |sent, stop| {
        let mut tx = XskBlaster::bind(&pair.sender.interface).unwrap();
        tx.run(&frames, None, stop, sent);
    })
}

fn udp_tx(pair: &NetnsPair, window: Duration, gso: bool) -> f64 {
    measure_tx(pair, window, |sent, stop| {
        let mut socket = UdpSocket::bind(SRC.parse().unwrap()).unwrap();
        socket.set_multicast_out(&pair.sender.interface, 4).unwrap();
        socket.set_gso(gso);
        assert_eq!(socket.gso(), gso, "UDP GSO availability");
        let data = xflute_tests::data::random_bytes(64 * PAYLOAD, 1);
        let group: SocketAddr = GROUP.parse().unwrap();
        while !stop.load(Ordering::Relaxed) {
            let n = socket.send_segments(group, &data, PAYLOAD).unwrap();
            sent.fetch_add(n as u64, Ordering::Relaxed);
        }
    })
}

fn main() {
    require_root();
    let secs: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3.0);
    let window = Duration::from_secs_f64(secs);
    let _boost = AutogroupBoost::new();
    let pair = NetnsPair::new();
    println!(
        "xflute raw I/O: veth pair between two namespaces, {PAYLOAD}-byte UDP payloads, {secs} s per path"
    );
    let feeder = match generator_available(&pair) {
        Ok(()) => Feeder::Generator,
        Err(e) => {
            println!(
                "the in-kernel XDP generator is unavailable ({e}); receive paths are fed by AF_XDP tx"
            );
            Feeder::AfXdpTx
        }
    };
    let (_, drop_offered) =
        xdp_drop(&pair, window, feeder).unwrap_or_else(|e| panic!("XDP_DROP: {e}"));
    let rx = af_xdp_rx(&pair, window, feeder).unwrap_or_else(|e| panic!("AF_XDP rx: {e}"));
    let (xdp_rx, xdp_offered) = (rx.received_pps, rx.offered_pps);
    let (udp_rx, udp_offered) =
        udp_rx(&pair, window, feeder).unwrap_or_else(|e| panic!("UDP rx: {e}"));
    let xdp_tx = af_xdp_tx(&pair, window);
    let udp_tx_plain = udp_tx(&pair, window, false);
    let udp_tx_gso = udp_tx(&pair, window, true);
    println!("{:<44} {:>12} {:>10}", "path", "packets/s", "Gbit/s");
    let row = |name: &str, pps: f64| println!("{name:<44} {pps:>12.0} {:>10.2}", gbps(pps));
    let fed = feeder.name();
    row(
        &format!("XDP_DROP on the receiving veth ({fed})"),
        drop_offered,
    );
    row("AF_XDP rx (copy mode, every byte read)", xdp_rx);
    row(&format!("  {fed} offered during AF_XDP rx"), xdp_offered);
    row("UDP rx (recvmmsg 64, every byte read)", udp_rx);
    row(&format!("  {fed} offered during UDP rx"), udp_offered);
    row("AF_XDP tx (copy mode, completed)", xdp_tx);
    row("UDP tx (sendmmsg 64)", udp_tx_plain);
    row("UDP tx (sendmmsg 64 + GSO)", udp_tx_gso);
    println!(
        "ratio AF_XDP rx / UDP rx:     {:.2} (C programs here: 2.6 / 0.25 = 10.4; target >= 8)",
        xdp_rx / udp_rx
    );
    println!(
        "ratio AF_XDP tx / sendmmsg:   {:.2} (C programs here: 0.76 / 0.41 = 1.85; target >= 0.9 x 1.85 = 1.67)",
        xdp_tx / udp_tx_plain
    );
    println!(
        "ratio sendmmsg GSO / plain:   {:.2}",
        udp_tx_gso / udp_tx_plain
    );
    pair.close();
}
