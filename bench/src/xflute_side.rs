//! xflute's two ends as the harness runs them, each in a process of its own (see [`crate::child`]):
//! an [`RxEngine`] that receives one scenario's objects, checks every byte and reports
//! ([`receive`]); a [`TxEngine`] that sends a scenario's objects as a carousel until told to stop
//! ([`send`]).

use std::collections::HashMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use xflute::receiver::{DropReason, ObjectEvent};
use xflute::runtime::{Backend, ChannelSpec, RxEngine, TxEngine};

use crate::child::{ReceiverReport, SenderReport};
use crate::raw::BIND_PATIENCE;
use crate::scenario::{Scenario, is_object_content};
use crate::sys::{RssPeak, monotonic_s, process_cpu_seconds, retry};

/// Objects larger than this are received with a spool of their size (the file sink takes a spool
/// piece only for objects over 4 MiB).
const SPOOL_FROM: u64 = 4 << 20;

/// Set (to anything), xflute's receivers decode every block on their worker instead of on the
/// decoding stage beside it: the baseline that stage is compared with.
pub const DECODE_ON_WORKER_ENV: &str = "XFLUTE_BENCH_DECODE_ON_WORKER";

/// How a receiving end is set up.
#[derive(Clone, Debug, clap::Args)]
pub struct ReceiveArgs {
    /// Backend, interface, group, core, time limit.
    #[command(flatten)]
    pub end: End,
    /// The output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// What arrives.
    #[command(flatten)]
    pub scenario: Scenario,
}

/// What both ends take: where and how they run.
#[derive(Clone, Debug, clap::Args)]
pub struct End {
    /// AF_XDP (`xdp`) or UDP sockets (`udp`).
    #[arg(long)]
    pub backend: Backend,
    /// The interface.
    #[arg(long)]
    pub iface: String,
    /// The group and port.
    #[arg(long)]
    pub group: SocketAddr,
    /// The core of the worker.
    #[arg(long)]
    pub core: usize,
    /// Give up after this many seconds.
    #[arg(long)]
    pub timeout: f64,
}

impl End {
    /// The arguments that give `self` to a child process.
    pub fn to_args(&self) -> Vec<String> {
        let backend = if self.backend == Backend::Xdp {
            "xdp"
        } else {
            "udp"
        };
        vec![
            "--backend".into(),
            backend.into(),
            "--iface".into(),
            self.iface.clone(),
            "--group".into(),
            self.group.to_string(),
            "--core".into(),
            self.core.to_string(),
            "--timeout".into(),
            format!("{:.1}", self.timeout),
        ]
    }
}

/// Receives `args.scenario`'s objects; calls `ready` once the engine listens. Returns when every
/// object is complete or at the timeout, after checking each completed file against the content
/// sent. With the XDP backend the scenario's loss is injected by the steering program.
pub fn receive(args: &ReceiveArgs, ready: impl FnOnce()) -> Result<ReceiverReport, String> {
    let process_start = Instant::now();
    let start_mono_s = monotonic_s();
    let stop = Arc::new(AtomicBool::new(false));
    let mut builder = RxEngine::builder(&args.out)
        .backend(args.end.backend)
        .interface(args.end.iface.clone())
        .cores(vec![args.end.core])
        .channel(ChannelSpec::new(args.end.group));
    if args.end.backend == Backend::Xdp {
        builder = builder.drop_probability(args.scenario.loss);
    }
    // The baseline of the decoding stage: every block decoded on the receive worker.
    if std::env::var_os(DECODE_ON_WORKER_ENV).is_some() {
        builder = builder.decode_on_worker(true);
    }
    // A large object is written into space reserved before the engine starts, as `xflute recv
    // --spool` and the demo do: fresh pages cost this VM 0.25-1.8 s per GiB on first touch.
    if args.scenario.object_bytes > SPOOL_FROM {
        builder = builder.spool(args.scenario.object_bytes);
    }
    let engine = retry(BIND_PATIENCE, || builder.clone().start(Arc::clone(&stop)))
        .map_err(|e| e.to_string())?;
    // Loading the steering program parses the kernel's BTF (freed again); the peak counts from
    // here, what the engine holds while it receives.
    let rss = RssPeak::start(Duration::from_millis(5));
    let cpu0 = process_cpu_seconds();
    ready();
    let give_up = process_start + Duration::from_secs_f64(args.end.timeout);
    let mut started: HashMap<u128, Instant> = HashMap::new();
    let mut latencies_ms = Vec::new();
    let mut first = None;
    let mut last = None;
    let mut completed: Vec<String> = Vec::new();
    while completed.len() < args.scenario.count as usize && Instant::now() < give_up {
        match engine.events().next_timeout(Duration::from_millis(20)) {
            Ok(ObjectEvent::Started { toi, .. }) => {
                let now = Instant::now();
                first.get_or_insert(now);
                started.insert(toi, now);
            }
            Ok(ObjectEvent::Completed { toi, meta, .. }) => {
                let now = Instant::now();
                last = Some(now);
                if let Some(t0) = started.remove(&toi) {
                    latencies_ms.push((now - t0).as_secs_f64() * 1e3);
                }
                let location = meta.content_location.clone().unwrap_or_default();
                completed.push(location.rsplit('/').next().unwrap_or_default().to_owned());
            }
            _ => {}
        }
    }
    let cpu_s = process_cpu_seconds() - cpu0;
    let rss_anon_kib_max = rss.peak_kib();
    let steer = engine.steering_counters().unwrap_or_default();
    let stats = engine.join().map_err(|e| e.to_string())?;
    let mut corrupt = 0;
    for name in &completed {
        let ok = args.scenario.object_index(name).is_some_and(|index| {
            std::fs::read(args.out.join(name))
                .is_ok_and(|bytes| is_object_content(index, args.scenario.object_bytes, &bytes))
        });
        if !ok {
            corrupt += 1;
        }
        let _ = std::fs::remove_file(args.out.join(name));
    }
    let since_start = |t: Option<Instant>| t.map(|t| (t - process_start).as_secs_f64());
    Ok(ReceiverReport {
        completed: completed.len() as u64 - corrupt,
        bytes: (completed.len() as u64 - corrupt) * args.scenario.object_bytes,
        first_packet_s: since_start(first),
        last_complete_s: since_start(last),
        packets: stats.frames(),
        rss_anon_kib_max,
        cpu_s,
        latencies_ms,
        corrupt,
        rx_ring_full: stats.rx_ring_full(),
        duplicates: stats.duplicates(),
        injected_drops: steer.dropped,
        stall_max_us: Some(stats.stalls().max_us()),
        stall_p99_us: Some(stats.stalls().quantile_us(0.99)),
        start_mono_s: Some(start_mono_s),
        decoded_elsewhere: Some(stats.blocks_decoded_elsewhere()),
        drop_reasons: Some(
            DropReason::ALL
                .iter()
                .map(|&r| (r.name().to_owned(), stats.drops(r)))
                .filter(|(_, n)| *n > 0)
                .collect(),
        ),
        other: serde_json::Map::new(),
    })
}

/// How a sending end is set up.
#[derive(Clone, Debug, clap::Args)]
pub struct SendArgs {
    /// Backend, interface, group, core, time limit.
    #[command(flatten)]
    pub end: End,
    /// The source address.
    #[arg(long)]
    pub source: IpAddr,
    /// Wire rate, bits per second (unpaced when absent).
    #[arg(long)]
    pub rate_bps: Option<u64>,
    /// What to send.
    #[command(flatten)]
    pub scenario: Scenario,
}

/// Sends `args.scenario`'s objects as a carousel until stdin closes (or the timeout).
pub fn send(args: &SendArgs) -> Result<SenderReport, String> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        // The harness closes our stdin when the receiver is done.
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut sink = [0u8; 64];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            stop.store(true, Ordering::SeqCst);
        });
    }
    // Each attempt needs a sender of its own (the engine takes it).
    let engine = retry(BIND_PATIENCE, || {
        TxEngine::builder()
            .backend(args.end.backend)
            .interface(args.end.iface.clone())
            .cores(vec![args.end.core])
            .rate_bps(args.rate_bps)
            .session(args.scenario.sender(args.end.group, true)?, args.source)
            .run_for(Some(Duration::from_secs_f64(args.end.timeout)))
            .start(Arc::clone(&stop))
            .map_err(|e| e.to_string())
    })?;
    let (cpu0, t0, start_mono_s) = (process_cpu_seconds(), Instant::now(), monotonic_s());
    let stats = engine.join().map_err(|e| e.to_string())?.total();
    Ok(SenderReport {
        packets: stats.packets,
        bytes: stats.bytes,
        elapsed_s: t0.elapsed().as_secs_f64(),
        cpu_s: process_cpu_seconds() - cpu0,
        ring_full: stats.ring_full,
        start_mono_s: Some(start_mono_s),
    })
}
