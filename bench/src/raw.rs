//! Raw I/O over the veth pair, no FLUTE work: the ceilings the engines are compared with.
//!
//! - [`measure_rx`]: a [`Feeder`] floods the veth from the sending namespace on core 0 while a
//!   consumer runs on core 1 in the receiving namespace: the in-kernel frame generator
//!   (`xflute_gen`, live-frames `BPF_PROG_TEST_RUN`), faster than any receiver here, or, where the
//!   kernel refuses it ([`generator_available`] says why), the AF_XDP sender.
//! - [`XskBlaster`]: an AF_XDP socket that transmits prebuilt frames in batches of 64 as fast as
//!   the tx ring takes them (the fastest user-space generator; also replays captures).
//! - [`tx_to_rx`]: [`XskBlaster`] on core 0 into an AF_XDP receiver on core 1 that reads every
//!   byte: the ceiling of an AF_XDP sender and receiver sharing these two cores.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use xflute::io::frame::UdpFrameBuilder;
use xflute::io::xdp::{Flow, XdpSteering};
use xflute::io::xdp_gen::FrameGenerator;
use xflute::io::xsk::{Umem, UmemConfig, XskConfig, XskError, XskSocket};
use xflute_tests::netns::{NetnsPair, Side};

use crate::sys::{pin_to_core, retry, thread_cpu_seconds};

/// UDP payload bytes of every raw frame (an ALC packet with 1400-byte symbols is a little more).
pub const PAYLOAD: usize = 1400;
/// Source address and port of the raw frames.
pub const SRC: &str = "198.18.0.1:4000";
/// The group the raw frames go to.
pub const GROUP: &str = "239.255.3.1:3400";
/// How long a bind waits for a queue that a closed socket still holds.
pub const BIND_PATIENCE: Duration = Duration::from_secs(3);
/// How long a measurement lets the rates settle before it counts.
pub const WARMUP: Duration = Duration::from_millis(300);

/// The raw flow, as the steering program's channel.
pub fn channel() -> Flow {
    Flow {
        destination: group(),
        source: None,
    }
}

fn group() -> SocketAddr {
    GROUP.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// A frame of the raw flow from the pair's sending end: Ethernet, IPv4, UDP, [`PAYLOAD`] bytes.
pub fn frame(pair: &NetnsPair) -> Vec<u8> {
    let src: SocketAddr = SRC.parse().unwrap_or_else(|e| panic!("{e}"));
    let payload = xflute_tests::data::random_bytes(PAYLOAD, 1);
    let builder = UdpFrameBuilder::new(src, group()).unwrap_or_else(|e| panic!("{e}"));
    let dst = builder.destination_mac();
    builder
        .with_macs(pair.sender.mac, dst)
        .build(&payload)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Touches every byte, as an application consuming the payload would (XOR of 8-byte words).
pub fn read_every_byte(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    let tail = words
        .remainder()
        .iter()
        .fold(0u64, |x, b| (x << 8) | u64::from(*b));
    words.fold(tail, |acc, w| {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        acc ^ u64::from_ne_bytes(word)
    })
}

/// Counts per second of two counters over `window`, after [`WARMUP`]; returns early once
/// `stop` is set (a side that failed).
pub fn measure_two(
    a: &AtomicU64,
    b: &AtomicU64,
    window: Duration,
    stop: &AtomicBool,
) -> (f64, f64) {
    sleep_unless(WARMUP, stop);
    let (t0, a0, b0) = (
        Instant::now(),
        a.load(Ordering::Relaxed),
        b.load(Ordering::Relaxed),
    );
    sleep_unless(window, stop);
    let (t1, a1, b1) = (
        Instant::now(),
        a.load(Ordering::Relaxed),
        b.load(Ordering::Relaxed),
    );
    let secs = (t1 - t0).as_secs_f64();
    ((a1 - a0) as f64 / secs, (b1 - b0) as f64 / secs)
}

/// What floods the receiving end in [`measure_rx`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feeder {
    /// The in-kernel generator (live-frames `BPF_PROG_TEST_RUN`): faster than any receiver
    /// here, but an optional kernel feature that some kernels refuse even to root.
    Generator,
    /// [`XskBlaster`], the fastest user-space sender: the fallback where the generator is
    /// refused.
    AfXdpTx,
}

impl Feeder {
    /// How a table names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Generator => "in-kernel XDP generator",
            Self::AfXdpTx => "AF_XDP tx",
        }
    }
}

/// Whether this kernel runs the in-kernel generator: loads it in the sending namespace and sends
/// one frame. `Err` says why not (the kernel's own error), for the row it cannot measure.
pub fn generator_available(pair: &NetnsPair) -> Result<(), String> {
    let frame = frame(pair);
    pair.run_in(Side::Sender, || {
        let generator = FrameGenerator::new(&pair.sender.interface)
            .map_err(|e| format!("loading the XDP generator: {e}"))?;
        generator.send(&frame, 1).map_err(|e| e.to_string())
    })
}

/// Runs `consume(received, ready, stop)` in the receiving namespace on core 1 while `feeder`
/// floods the veth from the sending namespace on core 0, once `ready` is set.
/// Returns (received/s, offered/s), or why the feeder could not run.
pub fn measure_rx(
    pair: &NetnsPair,
    window: Duration,
    feeder: Feeder,
    consume: impl FnOnce(&AtomicU64, &AtomicBool, &AtomicBool) + Send,
) -> Result<(f64, f64), String> {
    let received = AtomicU64::new(0);
    let offered = AtomicU64::new(0);
    let ready = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let frame = frame(pair);
    std::thread::scope(|s| {
        let rx = s.spawn(|| {
            pair.run_in(Side::Receiver, || {
                pin_to_core(1);
                consume(&received, &ready, &stop);
            })
        });
        while !ready.load(Ordering::Acquire) && !rx.is_finished() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let feed = s.spawn(|| {
            let fed = pair.run_in(Side::Sender, || {
                pin_to_core(0);
                match feeder {
                    Feeder::Generator => generate(pair, &frame, &stop, &offered),
                    Feeder::AfXdpTx => XskBlaster::bind(&pair.sender.interface)
                        .map(|mut blaster| {
                            blaster.run(std::slice::from_ref(&frame), None, &stop, &offered);
                        })
                        .map_err(|e| format!("binding the AF_XDP sender: {e}")),
                }
            });
            // A feeder that could not start ends the measurement at once.
            if fed.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            fed
        });
        let rates = measure_two(&received, &offered, window, &stop);
        stop.store(true, Ordering::Relaxed);
        let fed = join(feed);
        join(rx);
        fed.map(|()| rates)
    })
}

/// Floods the pair's sending end with copies of `frame` from the in-kernel generator until
/// `stop`, counting them in `offered`. Call in the sending namespace.
fn generate(
    pair: &NetnsPair,
    frame: &[u8],
    stop: &AtomicBool,
    offered: &AtomicU64,
) -> Result<(), String> {
    let generator = FrameGenerator::new(&pair.sender.interface)
        .map_err(|e| format!("loading the XDP generator: {e}"))?;
    // Each call has a fixed cost of tens of milliseconds (the kernel sets up and tears down a
    // page pool), so it carries many frames; not so many that the offered count, updated per
    // call, gets coarse.
    let repeat: u32 = 1 << 18;
    while !stop.load(Ordering::Relaxed) {
        generator.send(frame, repeat).map_err(|e| e.to_string())?;
        offered.fetch_add(u64::from(repeat), Ordering::Relaxed);
    }
    Ok(())
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    match handle.join() {
        Ok(t) => t,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

fn sleep_unless(period: Duration, stop: &AtomicBool) {
    let until = Instant::now() + period;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= until {
            break;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(10)));
    }
}

/// Takes the raw flow off an AF_XDP socket (behind the steering program) on the receiving end,
/// reading every byte and counting frames in `received`, from setting `ready` until `stop`.
/// Call from a thread in the receiving namespace. Returns the thread's CPU seconds meanwhile,
/// or why the socket could not be set up (after setting `stop`, so the other side ends too).
pub fn consume_af_xdp(
    pair: &NetnsPair,
    received: &AtomicU64,
    ready: &AtomicBool,
    stop: &AtomicBool,
) -> Result<f64, String> {
    let interface = pair.receiver.interface.as_str();
    let setup = || -> Result<_, String> {
        let mut steering =
            XdpSteering::attach(interface).map_err(|e| format!("attaching XDP: {e}"))?;
        steering
            .add_flow(&channel())
            .map_err(|e| format!("steering the channel: {e}"))?;
        let config = XskConfig {
            rx_frames: 2048,
            tx_frames: 64,
            ..XskConfig::default()
        };
        let socket = bind_retrying(interface, &config)
            .map_err(|e| format!("binding the AF_XDP receiver: {e}"))?;
        steering
            .register_socket(0, &socket)
            .map_err(|e| format!("registering the AF_XDP socket: {e}"))?;
        Ok((steering, socket))
    };
    let (_steering, mut socket) = setup().inspect_err(|_| stop.store(true, Ordering::Relaxed))?;
    ready.store(true, Ordering::Release);
    let cpu0 = thread_cpu_seconds();
    let mut acc = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let n = socket.recv(64, |frame| acc ^= read_every_byte(frame));
        received.fetch_add(u64::from(n), Ordering::Relaxed);
    }
    black_box(acc);
    Ok(thread_cpu_seconds() - cpu0)
}

/// An AF_XDP rx measurement: rates, and the receiving thread's CPU.
#[derive(Clone, Copy, Debug, Default)]
pub struct RxRate {
    /// Frames received per second.
    pub received_pps: f64,
    /// Frames offered per second by the feeder.
    pub offered_pps: f64,
    /// CPU seconds of the receiving thread per second of wall time.
    pub rx_cpu_share: f64,
}

/// AF_XDP rx behind the steering program on core 1, reading every byte, fed by `feeder`.
pub fn af_xdp_rx(pair: &NetnsPair, window: Duration, feeder: Feeder) -> Result<RxRate, String> {
    let cpu = std::sync::Mutex::new(Ok(0.0));
    let started = Instant::now();
    let (received_pps, offered_pps) = measure_rx(pair, window, feeder, |received, ready, stop| {
        let secs = consume_af_xdp(pair, received, ready, stop);
        if let Ok(mut slot) = cpu.lock() {
            *slot = secs;
        }
    })?;
    let wall = started.elapsed().as_secs_f64().max(1e-9);
    let secs = cpu.into_inner().map_err(|e| e.to_string())??;
    Ok(RxRate {
        received_pps,
        offered_pps,
        rx_cpu_share: secs / wall,
    })
}

/// Binds an AF_XDP socket with a UMEM of its own to queue 0 of `interface`, retrying for
/// [`BIND_PATIENCE`] while the queue is still held by a socket being closed (a UMEM whose bind
/// failed half-way cannot be bound again, so each attempt makes a new one).
fn bind_retrying(interface: &str, config: &XskConfig) -> Result<XskSocket, XskError> {
    retry(BIND_PATIENCE, || {
        let umem = Umem::new(UmemConfig::default())?;
        XskSocket::bind(&umem, interface, 0, config)
    })
}

/// An AF_XDP socket on queue 0 of an interface that only transmits.
#[derive(Debug)]
pub struct XskBlaster {
    socket: XskSocket,
}

impl XskBlaster {
    /// Binds to queue 0 of `interface` (call inside its namespace), with a 4032-frame tx ring.
    pub fn bind(interface: &str) -> Result<Self, XskError> {
        let config = XskConfig {
            rx_frames: 64,
            tx_frames: 4032,
            rx_size: 64,
            ..XskConfig::default()
        };
        Ok(Self {
            socket: bind_retrying(interface, &config)?,
        })
    }

    /// Sends `frames` in order, from the first again after the last, in batches of 64, until
    /// `stop` is set or `passes` whole passes are out; `sent` counts frames queued. Returns
    /// the frames sent.
    pub fn run(
        &mut self,
        frames: &[Vec<u8>],
        passes: Option<u64>,
        stop: &AtomicBool,
        sent: &AtomicU64,
    ) -> u64 {
        if frames.is_empty() {
            return 0;
        }
        let limit = passes.map(|p| p.saturating_mul(frames.len() as u64));
        let mut next = 0usize;
        let mut total = 0u64;
        while !stop.load(Ordering::Relaxed) && limit.is_none_or(|l| total < l) {
            let batch = limit.map_or(64, |l| (l - total).min(64) as u32);
            let n = self
                .socket
                .send(batch, |buf| {
                    let frame = frames.get(next).map_or(&[][..], Vec::as_slice);
                    next = if next + 1 >= frames.len() {
                        0
                    } else {
                        next + 1
                    };
                    let len = frame.len().min(buf.len());
                    if let (Some(dst), Some(src)) = (buf.get_mut(..len), frame.get(..len)) {
                        dst.copy_from_slice(src);
                    }
                    len
                })
                .unwrap_or(0);
            total += u64::from(n);
            sent.fetch_add(u64::from(n), Ordering::Relaxed);
        }
        // Let the last frames leave before the socket (and its UMEM) goes.
        let give_up = Instant::now() + Duration::from_millis(200);
        while self.socket.tx_in_flight() > 0 && Instant::now() < give_up {
            let _ = self.socket.flush();
            self.socket.complete();
        }
        total
    }
}

/// A raw AF_XDP tx → AF_XDP rx measurement.
#[derive(Clone, Copy, Debug, Default)]
pub struct TxRxRate {
    /// Frames received per second.
    pub received_pps: f64,
    /// Frames queued by the sender per second.
    pub sent_pps: f64,
    /// CPU seconds of the sending thread per second of wall time.
    pub tx_cpu_share: f64,
    /// CPU seconds of the receiving thread per second of wall time.
    pub rx_cpu_share: f64,
}

impl TxRxRate {
    /// Payload Gbit/s received.
    pub fn payload_gbps(&self) -> f64 {
        gbps(self.received_pps)
    }
}

/// [`XskBlaster`] on core 0 in the sending namespace → AF_XDP rx (behind the steering program)
/// reading every byte on core 1 in the receiving namespace, over `window`. `Err` says which
/// end could not be set up.
pub fn tx_to_rx(pair: &NetnsPair, window: Duration) -> Result<TxRxRate, String> {
    let received = AtomicU64::new(0);
    let sent = AtomicU64::new(0);
    let ready = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let frames = vec![frame(pair)];
    let started = Instant::now();
    let (rate, rx_cpu, tx_cpu) = std::thread::scope(|scope| {
        let rx = scope.spawn(|| {
            pair.run_in(Side::Receiver, || {
                pin_to_core(1);
                consume_af_xdp(pair, &received, &ready, &stop)
            })
        });
        while !ready.load(Ordering::Acquire) && !rx.is_finished() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let tx = scope.spawn(|| {
            pair.run_in(Side::Sender, || {
                pin_to_core(0);
                let cpu0 = thread_cpu_seconds();
                let mut blaster = XskBlaster::bind(&pair.sender.interface)
                    .inspect_err(|_| stop.store(true, Ordering::Relaxed))
                    .map_err(|e| format!("binding the AF_XDP sender: {e}"))?;
                blaster.run(&frames, None, &stop, &sent);
                Ok::<_, String>(thread_cpu_seconds() - cpu0)
            })
        });
        let rate = measure_two(&received, &sent, window, &stop);
        stop.store(true, Ordering::SeqCst);
        let tx_cpu = join(tx);
        let rx_cpu = join(rx);
        (rate, rx_cpu, tx_cpu)
    });
    let (rx_cpu, tx_cpu) = (rx_cpu?, tx_cpu?);
    let wall = started.elapsed().as_secs_f64().max(1e-9);
    Ok(TxRxRate {
        received_pps: rate.0,
        sent_pps: rate.1,
        tx_cpu_share: tx_cpu / wall,
        rx_cpu_share: rx_cpu / wall,
    })
}

/// Payload Gbit/s of `pps` raw frames.
pub fn gbps(pps: f64) -> f64 {
    pps * (PAYLOAD * 8) as f64 / 1e9
}
