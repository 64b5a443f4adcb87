//! One run of each kind, over the veth pair of a [`Bench`]: the raw ceilings, xflute's engines
//! (XDP or UDP on both ends), flute 1.11.7 (`flute_peer`) at a set pace, and the replay of a
//! captured session into one receiver. Receivers and senders run as child processes (see
//! [`crate::child`]); the raw paths and the replaying generator run on threads of this process.
//!
//! Loss: xflute's XDP receiver drops in its own steering program (the drop knob); for the UDP
//! receivers (xflute's UDP backend, flute) the harness attaches the same steering program with
//! no socket behind it, which drops with the same probability and passes the rest to the kernel
//! stack. The replays carry their loss in the capture. This machine has no netem.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use xflute::io::xdp::{Flow, XdpSteering};
use xflute::runtime::Backend;
use xflute_tests::netns::{NetnsPair, Side};

use crate::child::{Child, ReceiverReport, SenderReport};
use crate::raw::XskBlaster;
use crate::scenario::Scenario;
use crate::summary::Sample;
use crate::sys::{monotonic_s, pin_to_core};
use crate::xflute_side::End;

/// The group and port of every FLUTE run.
pub const GROUP: &str = "239.255.8.1:3400";
/// A replay stops after this many passes (and [`MIN_REPLAY_WAIT`]) without a report.
const MAX_REPLAY_PASSES: u64 = 20;
/// See [`MAX_REPLAY_PASSES`].
const MIN_REPLAY_WAIT: Duration = Duration::from_secs(10);
/// Source port of the replayed frames.
const REPLAY_SOURCE_PORT: u16 = 40000;

/// What every run needs: the pair, this program (for the child processes), `flute_peer`, and a
/// scratch directory on tmpfs for the received files.
#[derive(Debug)]
pub struct Bench {
    /// The namespaces and veth.
    pub pair: NetnsPair,
    /// This executable.
    pub exe: PathBuf,
    /// The `flute_peer` executable.
    pub flute_peer: PathBuf,
    /// Where receivers write (removed on drop).
    pub scratch: ScratchDir,
    /// The pace of xflute's senders, bits per second (unpaced when `None`).
    pub xflute_rate_bps: Option<u64>,
}

/// Which receiver a replay feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replayed {
    /// xflute's RxEngine on AF_XDP.
    Xflute,
    /// flute's MultiReceiver on a UDP socket.
    Flute,
}

/// A directory on tmpfs (`/dev/shm`), removed on drop; directories of dead processes are swept
/// when a new one is made.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    const BASE: &str = "/dev/shm";
    const PREFIX: &str = "xflute-bench-";

    /// A fresh directory for this process.
    pub fn new() -> Result<Self, String> {
        if let Ok(entries) = std::fs::read_dir(Self::BASE) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let dead = name
                    .strip_prefix(Self::PREFIX)
                    .and_then(|pid| pid.parse::<u32>().ok())
                    .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
                if dead {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = Path::new(Self::BASE).join(format!("{}{}", Self::PREFIX, std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        Ok(Self(dir))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn group() -> SocketAddr {
    GROUP.parse().unwrap_or_else(|e| panic!("{e}"))
}

/// Seconds a transfer of `bytes` may take at worst before a run is given up: 0.1 Gbit/s plus
/// ten seconds.
fn patience_s(bytes: u64) -> f64 {
    bytes as f64 * 8.0 / 1e8 + 10.0
}

impl Bench {
    fn exe(&self) -> String {
        self.exe.to_string_lossy().into_owned()
    }

    /// Where xflute's end on `side` runs: its interface, the group, core 0 (sender) or 1
    /// (receiver), the time limit.
    fn end(&self, side: Side, backend: Backend, timeout: f64) -> End {
        End {
            backend,
            iface: self.pair.end(side).interface.clone(),
            group: group(),
            core: usize::from(side == Side::Receiver),
            timeout,
        }
    }

    fn spawn_xflute_rx(
        &self,
        scenario: &Scenario,
        backend: Backend,
        timeout_s: f64,
    ) -> Result<Child, String> {
        let out = self.scratch.path().join("rx");
        let mut args = vec!["rx".into()];
        args.extend(self.end(Side::Receiver, backend, timeout_s).to_args());
        args.extend(["--out".into(), out.to_string_lossy().into_owned()]);
        args.extend(scenario.to_args());
        let mut child = Child::spawn(
            "xflute receiver",
            &self.pair.receiver.netns,
            &self.exe(),
            &args,
        )?;
        child.wait_ready(Duration::from_secs(20))?;
        Ok(child)
    }

    fn spawn_flute_rx(&self, scenario: &Scenario, timeout_s: f64) -> Result<Child, String> {
        let args =
            crate::peer::recv_args(scenario, group(), self.pair.receiver.ipv4.into(), timeout_s);
        let child = Child::spawn(
            "flute_peer recv",
            &self.pair.receiver.netns,
            &self.flute_peer.to_string_lossy(),
            &args,
        )?;
        // It prints nothing before its report; give it time to join the group.
        std::thread::sleep(Duration::from_millis(400));
        Ok(child)
    }

    /// Attaches the steering program to the receiving veth with the FLUTE channel and no socket:
    /// it drops `loss` of the channel's frames and passes the rest to the kernel stack.
    fn loss_injector(&self, loss: f64) -> Result<Option<XdpSteering>, String> {
        if loss <= 0.0 {
            return Ok(None);
        }
        let interface = self.pair.receiver.interface.clone();
        self.pair.run_in(Side::Receiver, move || {
            let mut steering = XdpSteering::attach(&interface).map_err(|e| e.to_string())?;
            steering
                .add_flow(&Flow {
                    destination: group(),
                    source: None,
                })
                .map_err(|e| e.to_string())?;
            steering
                .set_drop_probability(loss)
                .map_err(|e| e.to_string())?;
            Ok(Some(steering))
        })
    }

    /// xflute's TxEngine → RxEngine, both on `backend` (XDP or UDP), the sender unpaced as
    /// a carousel until the receiver has every object.
    pub fn xflute(&self, scenario: &Scenario, backend: Backend) -> Result<Sample, String> {
        let timeout_s = patience_s(scenario.total_bytes());
        let injector = if backend == Backend::Udp {
            self.loss_injector(scenario.loss)?
        } else {
            None
        };
        let mut rx = self.spawn_xflute_rx(scenario, backend, timeout_s)?;
        let mut args = vec!["tx".into()];
        args.extend(self.end(Side::Sender, backend, timeout_s + 5.0).to_args());
        args.extend(["--source".into(), self.pair.sender.ipv4.to_string()]);
        if let Some(rate) = self.xflute_rate_bps {
            args.extend(["--rate-bps".into(), rate.to_string()]);
        }
        args.extend(scenario.to_args());
        let mut tx = Child::spawn("xflute sender", &self.pair.sender.netns, &self.exe(), &args)?;
        let report: ReceiverReport = rx.report(Duration::from_secs_f64(timeout_s + 10.0))?;
        tx.close_stdin();
        let sent: SenderReport = tx.report(Duration::from_secs(20))?;
        rx.finish(Duration::from_secs(10));
        tx.finish(Duration::from_secs(10));
        drop(injector);
        let mut sample = sample(scenario, &report, Some(&sent), None);
        sample.note = format!(
            "sender {} packets ({:.2}x the objects), ring full {}; receiver {} frames, rx ring full {}, repeats {}, injected drops {}{}",
            sent.packets,
            sent.bytes as f64 / scenario.total_bytes().max(1) as f64,
            sent.ring_full,
            report.packets,
            report.rx_ring_full,
            report.duplicates,
            report.injected_drops,
            stalls(&report)
        );
        Ok(sample)
    }

    /// flute's sender paced at `rate_mbps`, one pass, → flute's receiver.
    pub fn flute(&self, scenario: &Scenario, rate_mbps: u64) -> Result<Sample, String> {
        // The receiver's time limit counts from its start: the sender's set-up (generating the
        // objects, MD5, FEC) and a pass at the pace or at what the sender manages, whichever is
        // slower; it is stopped earlier when the sender is done and it is not (see below).
        let bytes = scenario.total_bytes() as f64;
        let repair = f64::from(scenario.k + scenario.r) / f64::from(scenario.k.max(1));
        let send_s = bytes * repair * 8.0 * 1.1 / (rate_mbps as f64 * 1e6);
        let timeout_s = 10.0 + bytes / 30e6 + send_s.max(bytes * repair * 8.0 / 1e9);
        let injector = self.loss_injector(scenario.loss)?;
        let mut rx = self.spawn_flute_rx(scenario, timeout_s)?;
        let args =
            crate::peer::send_args(scenario, group(), self.pair.sender.ipv4.into(), rate_mbps);
        let mut tx = Child::spawn(
            "flute_peer send",
            &self.pair.sender.netns,
            &self.flute_peer.to_string_lossy(),
            &args,
        )?;
        let sent: SenderReport = tx.report(Duration::from_secs_f64(timeout_s + 30.0))?;
        // One pass is all flute's sender does: what has not arrived a little after it is done
        // never will (a failed step down), so the receiver is not waited for to its limit.
        // Its receiver may still be working through its socket buffer (128 MiB) and checking
        // what it received.
        let grace = Duration::from_secs_f64(10.0 + sent.elapsed_s);
        let report: ReceiverReport = rx.report(grace).unwrap_or_default();
        rx.finish(Duration::from_secs(5));
        tx.finish(Duration::from_secs(5));
        drop(injector);
        let mut sample = sample(scenario, &report, Some(&sent), None);
        sample.rate_mbps = Some(rate_mbps);
        sample.note = format!(
            "paced at {rate_mbps} Mbit/s; sender {} packets in {:.2} s; receiver {} packets{}",
            sent.packets,
            sent.elapsed_s,
            report.packets,
            other_counters(&report, &sample)
        );
        Ok(sample)
    }

    /// `frames` (a captured session) replayed in a loop at full speed by an AF_XDP socket on
    /// core 0 into one receiver on core 1, until it has every object.
    pub fn replay(
        &self,
        scenario: &Scenario,
        frames: &[Vec<u8>],
        receiver: Replayed,
    ) -> Result<Sample, String> {
        let clean = Scenario {
            loss: 0.0,
            ..scenario.clone()
        };
        let timeout_s = patience_s(scenario.total_bytes());
        let mut rx = match receiver {
            Replayed::Xflute => self.spawn_xflute_rx(&clean, Backend::Xdp, timeout_s)?,
            Replayed::Flute => self.spawn_flute_rx(&clean, timeout_s)?,
        };
        let stop = AtomicBool::new(false);
        let sent = AtomicU64::new(0);
        let replay_start = std::sync::Mutex::new(None);
        let (report, replayed) = std::thread::scope(|scope| {
            let blaster = scope.spawn(|| {
                self.pair.run_in(Side::Sender, || {
                    pin_to_core(0);
                    let mut blaster =
                        XskBlaster::bind(&self.pair.sender.interface).map_err(|e| e.to_string())?;
                    if let Ok(mut start) = replay_start.lock() {
                        *start = Some(monotonic_s());
                    }
                    Ok::<u64, String>(blaster.run(frames, None, &stop, &sent))
                })
            });
            let report = self.await_replay(&mut rx, frames.len(), &sent, timeout_s + 10.0);
            stop.store(true, Ordering::SeqCst);
            let replayed = blaster
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (report, replayed)
        });
        let report = report?;
        let replayed = replayed?;
        rx.finish(Duration::from_secs(5));
        let replay_start = replay_start.into_inner().ok().flatten();
        let mut sample = sample(&clean, &report, None, replay_start);
        sample.note = format!(
            "{} frames a pass, {:.2} passes; receiver {} packets, rx ring full {}, repeats {}{}{}",
            frames.len(),
            replayed as f64 / frames.len().max(1) as f64,
            report.packets,
            report.rx_ring_full,
            report.duplicates,
            stalls(&report),
            other_counters(&report, &sample)
        );
        Ok(sample)
    }

    /// The report of a receiver fed by a replay; gives up, with nothing delivered, once the
    /// replay has gone round [`MAX_REPLAY_PASSES`] times for at least [`MIN_REPLAY_WAIT`]
    /// without it (flute's receiver drops an object for good when more of its blocks are
    /// partly received than its block cache holds, which a lossy first pass over 1 GiB does).
    fn await_replay(
        &self,
        rx: &mut Child,
        frames_a_pass: usize,
        sent: &AtomicU64,
        timeout_s: f64,
    ) -> Result<ReceiverReport, String> {
        let started = std::time::Instant::now();
        let timeout = Duration::from_secs_f64(timeout_s);
        loop {
            if let Some(report) = rx.try_report(Duration::from_millis(200))? {
                return Ok(report);
            }
            let passes = sent.load(Ordering::Relaxed) / frames_a_pass.max(1) as u64;
            let waited = started.elapsed();
            if (passes > MAX_REPLAY_PASSES && waited > MIN_REPLAY_WAIT) || waited > timeout {
                return Ok(ReceiverReport::default());
            }
        }
    }

    /// The source the replayed frames carry.
    pub fn replay_source(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.pair.sender.ipv4), REPLAY_SOURCE_PORT)
    }
}

/// A [`Sample`] from a receiver's report (and the sender's, whose CPU is counted per GB
/// delivered).
pub fn sample(
    scenario: &Scenario,
    rx: &ReceiverReport,
    tx: Option<&SenderReport>,
    sent_mono_s: Option<f64>,
) -> Sample {
    let secs = rx.transfer_s(sent_mono_s.or(tx.and_then(|t| t.start_mono_s)));
    let gb = rx.bytes as f64 / 1e9;
    let per_gb = |cpu: f64| (gb > 0.0).then(|| cpu / gb);
    Sample {
        goodput_gbps: secs.map_or(0.0, |s| rx.bytes as f64 * 8.0 / s / 1e9),
        pps: secs.map_or(0.0, |s| rx.packets as f64 / s),
        rx_cpu_s_per_gb: per_gb(rx.cpu_s),
        tx_cpu_s_per_gb: tx.and_then(|t| per_gb(t.cpu_s)),
        rss_anon_mib: Some(rx.rss_anon_kib_max as f64 / 1024.0),
        latencies_ms: rx.latencies_ms.clone(),
        unrecovered: u64::from(scenario.count).saturating_sub(rx.completed + rx.corrupt),
        corrupt: rx.corrupt,
        rate_mbps: None,
        note: String::new(),
    }
}

/// The receive worker's longest stall and its 99th percentile, the blocks decoded beside it
/// and the packets it dropped by reason, when the receiver reports them.
fn stalls(report: &ReceiverReport) -> String {
    let mut note = match (report.stall_max_us, report.stall_p99_us) {
        (Some(max), Some(p99)) => format!(", worker stall max {max} µs, p99 {p99} µs"),
        _ => String::new(),
    };
    if let Some(n) = report.decoded_elsewhere.filter(|&n| n > 0) {
        note.push_str(&format!(", {n} blocks decoded beside it"));
    }
    if let Some(reasons) = report.drop_reasons.as_ref().filter(|r| !r.is_empty()) {
        let by: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
        note.push_str(&format!(", dropped as {}", by.join(", ")));
    }
    note
}

/// The receiver's other counters, when the run lost objects (why is in them).
fn other_counters(report: &ReceiverReport, sample: &Sample) -> String {
    if sample.unrecovered == 0 || report.other.is_empty() {
        return String::new();
    }
    let fields: Vec<String> = report
        .other
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    format!("; {}", fields.join(", "))
}
