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
        "{frames} frames, {} ALC packets, {} dropped; {completed} of {} objects completed",
        stats.packets,
        stats.total_drops(),
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
