//! `xflute recv --pcap FILE --out DIR`: receive every FLUTE object of a capture into files.
//!
//! The capture is replayed at its own pace of time (each frame's timestamp is the receiver's
//! `now`), so timeouts and FDT expiry behave as they did on the wire.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};
use xflute::endpoint::UdpEndpoint;
use xflute::io::file_sink::FileSink;
use xflute::io::frame::parse_udp;
use xflute::io::pcap::PcapReader;
use xflute::receiver::{Config, MultiReceiver, ObjectEvent};

/// What `recv` was asked to do.
pub struct RecvArgs<'a> {
    /// The capture to read.
    pub pcap: &'a Path,
    /// The output directory.
    pub out: &'a Path,
    /// Only packets to this group and port; all UDP packets when `None`.
    pub group: Option<SocketAddr>,
    /// Only these TSIs; all when empty.
    pub tsi: &'a [u64],
}

/// Where one object stands.
#[derive(PartialEq, Eq)]
enum Outcome {
    Receiving,
    Completed,
    Failed,
}

fn label(meta_location: Option<&str>, toi: u128) -> String {
    meta_location.map_or_else(|| format!("toi {toi}"), str::to_owned)
}

/// Run `recv`; returns whether every object that started was completed.
pub fn run(args: &RecvArgs<'_>, out: &mut impl Write) -> Result<bool> {
    let file = std::fs::File::open(args.pcap)
        .with_context(|| format!("opening {}", args.pcap.display()))?;
    let mut reader = PcapReader::new(std::io::BufReader::new(file))
        .with_context(|| format!("reading {}", args.pcap.display()))?;
    let config = Config::default();
    let sink = FileSink::new(args.out, config.limits.max_object_bytes)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let stale = sink.remove_stale_parts()?;
    if stale > 0 {
        writeln!(out, "removed {stale} stale .part file(s) of an earlier run")?;
    }
    let mut receiver = MultiReceiver::new(sink, config);
    let mut outcomes: BTreeMap<(u64, u128), Outcome> = BTreeMap::new();
    let mut now = UNIX_EPOCH;
    let mut last_cleanup = UNIX_EPOCH;
    let mut frames = 0u64;
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            // A capture cut short (the capturing process killed) ends at its last whole frame.
            Err(xflute::io::pcap::PcapError::Truncated(what)) => {
                writeln!(out, "capture truncated inside a {what}; stopping there")?;
                break;
            }
            Err(e) => return Err(e).context(format!("reading {}", args.pcap.display())),
        };
        frames += 1;
        now = UNIX_EPOCH + Duration::from_nanos(frame.timestamp_ns);
        let Some(link) = frame.link else { continue };
        let Ok(udp) = parse_udp(link, frame.data) else {
            continue;
        };
        if args.group.is_some_and(|g| g != udp.destination) {
            continue;
        }
        let endpoint = UdpEndpoint::new(udp.destination.ip(), udp.destination.port());
        if !args.tsi.is_empty() {
            // Cheap pre-filter by TSI without a full parse: the receiver's own filter would also
            // do, but it needs the endpoints ahead of time.
            match xflute::wire::lct::parse_header(udp.payload) {
                Ok((lct, _)) if args.tsi.contains(&lct.tsi) => {}
                _ => continue,
            }
        }
        // Malformed and unwanted packets are counted by the receiver; keep going.
        let _ = receiver.push(&endpoint, udp.payload, now);
        if now.duration_since(last_cleanup).unwrap_or_default() >= Duration::from_secs(1) {
            receiver.cleanup(now);
            last_cleanup = now;
        }
        drain(&mut receiver, &mut outcomes, out)?;
    }
    // Objects the FDT announced of which not one packet arrived count as missing.
    let missing: Vec<(u64, u128, String)> = receiver
        .announced()
        .filter(|(session, toi, _)| !outcomes.contains_key(&(session.tsi, *toi)))
        .map(|(session, toi, location)| (session.tsi, toi, location.to_owned()))
        .collect();
    for (tsi, toi, location) in missing {
        writeln!(
            out,
            "MISSING tsi={tsi} toi={toi} {location}: announced by the FDT, no packet received"
        )?;
        outcomes.insert((tsi, toi), Outcome::Failed);
    }
    // Let closes and timeouts that the capture's end leaves pending take effect, then stop.
    receiver.cleanup(now + Duration::from_secs(1));
    drain(&mut receiver, &mut outcomes, out)?;
    receiver.close_all(now + Duration::from_secs(1));
    drain(&mut receiver, &mut outcomes, out)?;
    let stats = receiver.stats();
    let completed = outcomes
        .values()
        .filter(|o| **o == Outcome::Completed)
        .count();
    writeln!(
        out,
        "{frames} frames, {} ALC packets, {} dropped, {} capture records over the size cap skipped; {completed} of {} objects completed",
        stats.packets,
        stats.total_drops(),
        reader.records_over_cap(),
        outcomes.len()
    )?;
    if outcomes.is_empty() {
        bail!("no FLUTE object in {}", args.pcap.display());
    }
    Ok(completed == outcomes.len())
}

fn drain<S: xflute::receiver::ObjectSink>(
    receiver: &mut MultiReceiver<S>,
    outcomes: &mut BTreeMap<(u64, u128), Outcome>,
    out: &mut impl Write,
) -> Result<()> {
    while let Some(event) = receiver.poll_event() {
        let key = (event.session().tsi, event.toi());
        match event {
            ObjectEvent::Started { .. } => {
                outcomes.entry(key).or_insert(Outcome::Receiving);
            }
            ObjectEvent::Completed { toi, meta, .. } => {
                let name = label(meta.content_location.as_deref(), toi);
                writeln!(
                    out,
                    "completed tsi={} toi={toi} {name} ({} bytes)",
                    key.0,
                    meta.content_length.unwrap_or(meta.transfer_length)
                )?;
                outcomes.insert(key, Outcome::Completed);
            }
            ObjectEvent::Failed {
                toi, meta, reason, ..
            } => {
                let name = label(
                    meta.as_ref().and_then(|m| m.content_location.as_deref()),
                    toi,
                );
                writeln!(out, "FAILED tsi={} toi={toi} {name}: {reason}", key.0)?;
                // A completed object that is later announced again and fails keeps its file.
                if outcomes.get(&key) != Some(&Outcome::Completed) {
                    outcomes.insert(key, Outcome::Failed);
                }
            }
            ObjectEvent::Progress { .. } => {}
        }
    }
    Ok(())
}

/// What a live `recv` was asked to do.
pub struct LiveRecvArgs<'a> {
    /// The output directory.
    pub out: &'a Path,
    /// The channels to receive.
    pub channels: Vec<xflute::runtime::ChannelSpec>,
    /// Interface to receive on.
    pub iface: Option<String>,
    /// AF_XDP or UDP.
    pub backend: xflute::runtime::Backend,
    /// Rx queues (AF_XDP).
    pub queues: u32,
    /// Cores for the workers.
    pub cores: Vec<usize>,
    /// Stop once this many objects are complete.
    pub count: Option<u64>,
    /// Stop after this long.
    pub timeout: Option<Duration>,
    /// One JSON object per line instead of text.
    pub json: bool,
    /// Output space to reserve ahead of time, bytes (0: none).
    pub spool: u64,
    /// How long an AF_XDP worker polls before it sleeps.
    pub busy_poll: Duration,
    /// Probability that the XDP program drops a channel frame (tests and demos).
    pub inject_loss: f64,
}

/// What a live `recv` did.
pub struct LiveRecvReport {
    /// Objects completed and verified.
    pub completed: u64,
    /// Objects started and not completed.
    pub incomplete: u64,
    /// Bytes of completed objects.
    pub completed_bytes: u64,
    /// From the first object started to the last completed.
    pub active: Duration,
    /// The engine's final counters.
    pub stats: xflute::runtime::RxStats,
    /// The XDP program's counters.
    pub steering: Option<xflute::io::xdp::SteerCounters>,
    /// Times the XDP program was detached by someone else and attached again.
    pub xdp_reattached: u64,
    /// What the spool did (`--spool`).
    pub spool: Option<xflute::io::spool::SpoolStats>,
}

impl LiveRecvReport {
    /// Whether every object that started was completed (and, with `--count`, enough did).
    pub fn all_complete(&self, count: Option<u64>) -> bool {
        self.incomplete == 0 && self.completed > 0 && count.is_none_or(|c| self.completed >= c)
    }
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs the receive engine until `--count` objects are complete, `--timeout` passes, or `stop`
/// is set (SIGINT/SIGTERM). Prints one line (or JSON object) per object.
pub fn run_live(
    args: &LiveRecvArgs<'_>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ready: impl FnOnce(),
    out: &mut impl Write,
) -> Result<LiveRecvReport> {
    use std::sync::atomic::Ordering;
    use std::time::Instant;
    use xflute::runtime::RxEngine;
    let mut builder = RxEngine::builder(args.out)
        .backend(args.backend)
        .queues(args.queues)
        .cores(args.cores.clone())
        .drop_probability(args.inject_loss)
        .spool(args.spool)
        .busy_poll(args.busy_poll);
    if let Some(iface) = &args.iface {
        builder = builder.interface(iface.clone());
    }
    for channel in &args.channels {
        builder = builder.channel(channel.clone());
    }
    let engine = builder
        .start(std::sync::Arc::clone(&stop))
        .map_err(|e| crate::UsageError(e.to_string()))?;
    crate::release_free_memory();
    ready();
    let progress =
        (!args.json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
    let deadline = args.timeout.map(|t| Instant::now() + t);
    let mut outcomes: BTreeMap<(u64, u128), Outcome> = BTreeMap::new();
    let mut completed = 0u64;
    let mut completed_bytes = 0u64;
    let mut first_start: Option<Instant> = None;
    let mut last_done = Instant::now();
    let mut last_draw = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst)
            || deadline.is_some_and(|d| Instant::now() >= d)
            || args.count.is_some_and(|c| completed >= c)
            || engine.is_finished()
        {
            break;
        }
        let event = match engine.events().recv_timeout(Duration::from_millis(50)) {
            Ok(event) => event,
            Err(_) => {
                if let Some(bar) = &progress {
                    draw(bar, &engine.stats(), completed, first_start);
                }
                continue;
            }
        };
        let key = (event.session().tsi, event.toi());
        match event {
            ObjectEvent::Started { toi, meta, .. } => {
                first_start.get_or_insert_with(Instant::now);
                outcomes.entry(key).or_insert(Outcome::Receiving);
                if args.json {
                    writeln!(
                        out,
                        "{{\"event\":\"started\",\"tsi\":{},\"toi\":{toi},\"location\":{},\"transfer_length\":{}}}",
                        key.0,
                        json_str(meta.content_location.as_deref().unwrap_or("")),
                        meta.transfer_length
                    )?;
                }
            }
            ObjectEvent::Completed { toi, meta, .. } => {
                if outcomes.insert(key, Outcome::Completed) != Some(Outcome::Completed) {
                    completed += 1;
                    let bytes = meta.content_length.unwrap_or(meta.transfer_length);
                    completed_bytes += bytes;
                    last_done = Instant::now();
                    let name = label(meta.content_location.as_deref(), toi);
                    if args.json {
                        writeln!(
                            out,
                            "{{\"event\":\"completed\",\"tsi\":{},\"toi\":{toi},\"location\":{},\"bytes\":{bytes}}}",
                            key.0,
                            json_str(&name)
                        )?;
                    } else if let Some(bar) = &progress {
                        bar.println(format!(
                            "completed tsi={} toi={toi} {name} ({bytes} bytes)",
                            key.0
                        ));
                    } else {
                        writeln!(
                            out,
                            "completed tsi={} toi={toi} {name} ({bytes} bytes)",
                            key.0
                        )?;
                    }
                }
            }
            ObjectEvent::Failed {
                toi, meta, reason, ..
            } => {
                let name = label(
                    meta.as_ref().and_then(|m| m.content_location.as_deref()),
                    toi,
                );
                if outcomes.get(&key) != Some(&Outcome::Completed) {
                    outcomes.insert(key, Outcome::Failed);
                }
                if args.json {
                    writeln!(
                        out,
                        "{{\"event\":\"failed\",\"tsi\":{},\"toi\":{toi},\"location\":{},\"reason\":{}}}",
                        key.0,
                        json_str(&name),
                        json_str(&reason.to_string())
                    )?;
                } else {
                    writeln!(out, "FAILED tsi={} toi={toi} {name}: {reason}", key.0)?;
                }
            }
            ObjectEvent::Progress { .. } => {}
        }
        if let Some(bar) = &progress
            && last_draw.elapsed() >= Duration::from_millis(200)
        {
            draw(bar, &engine.stats(), completed, first_start);
            last_draw = Instant::now();
        }
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let steering = engine.steering_counters();
    let xdp_reattached = engine.xdp_reattached();
    let spool = engine.spool_stats();
    let stats = engine.join()?;
    let incomplete = outcomes
        .values()
        .filter(|o| **o != Outcome::Completed)
        .count() as u64;
    Ok(LiveRecvReport {
        completed,
        incomplete,
        completed_bytes,
        active: first_start.map_or(Duration::ZERO, |t| last_done.saturating_duration_since(t)),
        stats,
        steering,
        xdp_reattached,
        spool,
    })
}

fn draw(
    bar: &indicatif::ProgressBar,
    stats: &xflute::runtime::RxStats,
    completed: u64,
    first: Option<std::time::Instant>,
) {
    let secs = first.map_or(0.0, |t| t.elapsed().as_secs_f64()).max(1e-3);
    bar.set_message(format!(
        "{completed} objects complete, {:.1} MiB received, {:.2} Gbit/s, {} drops",
        stats.payload_bytes() as f64 / (1 << 20) as f64,
        stats.payload_bytes() as f64 * 8.0 / secs / 1e9,
        stats.total_drops()
    ));
}

/// One summary line (or JSON object) of a live receive.
pub fn summary(report: &LiveRecvReport, json: bool) -> String {
    let s = &report.stats;
    let secs = report.active.as_secs_f64().max(1e-6);
    let gbps = report.completed_bytes as f64 * 8.0 / secs / 1e9;
    let p = |q: f64| s.latency_us.as_ref().map_or(0, |h| h.value_at_quantile(q));
    let steer = report.steering.unwrap_or_default();
    let spool = report.spool.unwrap_or_default();
    if json {
        format!(
            "{{\"event\":\"summary\",\"spool_taken\":{},\"spool_missed\":{},\"spool_fill_failures\":{},\"completed\":{},\"incomplete\":{},\"bytes\":{},\"seconds\":{secs:.3},\"goodput_gbps\":{gbps:.3},\"frames\":{},\"drops\":{},\"rx_ring_full\":{},\"duplicates\":{},\"xdp_redirected\":{},\"xdp_dropped\":{},\"xdp_reattached\":{},\"latency_p50_us\":{},\"latency_p99_us\":{}}}",
            spool.taken,
            spool.missed,
            spool.fill_failures,
            report.completed,
            report.incomplete,
            report.completed_bytes,
            s.frames(),
            s.total_drops(),
            s.rx_ring_full(),
            s.duplicates(),
            steer.redirected,
            steer.dropped,
            report.xdp_reattached,
            p(0.5),
            p(0.99)
        )
    } else {
        format!(
            "{} objects complete, {} incomplete; {} bytes in {secs:.3} s = {gbps:.2} Gbit/s goodput; {} frames, {} dropped (rx ring full {}), {} repeated symbols; XDP redirected {} injected-loss {} reattached {}; latency p50 {} µs p99 {} µs",
            report.completed,
            report.incomplete,
            report.completed_bytes,
            s.frames(),
            s.total_drops(),
            s.rx_ring_full(),
            s.duplicates(),
            steer.redirected,
            steer.dropped,
            report.xdp_reattached,
            p(0.5),
            p(0.99)
        ) + &report.spool.map_or(String::new(), |sp| {
            format!(
                "; spool taken {} missed {} fill failures {}",
                sp.taken, sp.missed, sp.fill_failures
            )
        })
    }
}
