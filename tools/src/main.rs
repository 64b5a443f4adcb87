//! `xflute`: the command line of the xflute FLUTE engine.
//!
//! Errors are printed as one line on stderr. Exit codes: 0 every object complete, 1 transfer
//! incomplete (or failed while running), 2 usage or configuration error.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use xflute::runtime::{Backend, ChannelSpec};

mod demo;
mod inspect;
mod recv;
mod send;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gives memory freed so far back to the system. Loading the XDP program parses the kernel's
/// BTF (tens of MiB, freed right after); mimalloc would otherwise keep those pages, and a
/// receiver's resident memory is meant to stay small.
#[allow(unsafe_code)] // mi_collect is FFI into mimalloc.
pub fn release_free_memory() {
    // SAFETY: `mi_collect` only walks mimalloc's own free lists; any thread may call it at any
    // time.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// A usage or configuration error: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// How a command ended.
enum Outcome {
    Complete,
    Incomplete,
}

#[derive(Parser)]
#[command(
    name = "xflute",
    version,
    about = "FLUTE/ALC file delivery over IP multicast"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send files as one FLUTE session (FDT and objects, with --fec): on the wire through
    /// AF_XDP or UDP sockets, or into a capture file with --pcap-out.
    Send {
        /// The files to send.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write the session into this pcap file instead of sending it.
        #[arg(long)]
        pcap_out: Option<PathBuf>,
        /// Destination group (or unicast address) and port.
        #[arg(long, default_value = "239.255.0.1:3400")]
        dest: SocketAddr,
        /// Source address of the frames (required by --backend xdp).
        #[arg(long)]
        source: Option<IpAddr>,
        /// Interface to send on.
        #[arg(long)]
        iface: Option<String>,
        /// I/O backend: xdp (AF_XDP), udp (sockets) or pcap (with --pcap-out).
        #[arg(long, default_value = "xdp")]
        backend: Backend,
        /// Tx queues (AF_XDP).
        #[arg(long, default_value_t = 1)]
        queues: u32,
        /// Cores to pin the workers to (comma separated).
        #[arg(long, value_delimiter = ',')]
        cores: Vec<usize>,
        /// Transport Session Identifier.
        #[arg(long, default_value_t = 1)]
        tsi: u64,
        /// FEC scheme: none (ID 0), rs28 (ID 5), rs2m (ID 2), rs28-us (ID 129), raptorq (ID 6),
        /// raptor (ID 1).
        #[arg(long, value_enum, default_value = "none")]
        fec: send::FecScheme,
        /// m, the field size of rs2m (2..=16).
        #[arg(long, default_value_t = 8)]
        m: u8,
        /// Repair symbols per source block (default: 20% of --block-len with FEC).
        #[arg(long, conflicts_with = "repair_pct")]
        repair: Option<u32>,
        /// Repair symbols per source block, as a percentage of --block-len (rounded up).
        #[arg(long)]
        repair_pct: Option<f64>,
        /// Encoding symbol length in bytes.
        #[arg(long, default_value_t = 1400)]
        symbol_len: u16,
        /// Maximum source block length in symbols.
        #[arg(long, default_value_t = 64)]
        block_len: u32,
        /// Content encoding of the files and of the FDT.
        #[arg(long, default_value = "null")]
        cenc: xflute::cenc::Cenc,
        /// FLUTE version: 1 (RFC 3926) or 2 (RFC 6726).
        #[arg(long, default_value_t = 2)]
        flute_version: u8,
        /// Rate in bits per second (k, M, G suffixes): the wire rate on the wire (unlimited if
        /// not given), the rate the capture's timestamps follow with --pcap-out (1G if not given).
        #[arg(long, value_parser = parse_rate)]
        rate: Option<u64>,
        /// Repeat the objects for this long (30s, 500ms, 2m), as a carousel.
        #[arg(long, value_parser = parse_duration)]
        carousel: Option<Duration>,
        /// Priority queue of the objects (0 is the highest).
        #[arg(long, default_value_t = 0)]
        priority: u32,
        /// Objects sent at once, packet by packet in turn.
        #[arg(long, default_value_t = 3)]
        multiplex: u32,
        /// TOI of the first object (the next ones follow): a number, or `random` so that
        /// receivers that cached an earlier run's objects by TOI do not mistake the new ones
        /// for them (a random TOI takes up to 14 bytes in each packet's LCT header).
        #[arg(long, default_value = "1")]
        toi_start: send::ToiStart,
    },
    /// Receive FLUTE objects into files below an output directory: from the wire (AF_XDP or
    /// UDP sockets) or from a capture with --pcap. Exits 0 only if every object that started
    /// was completed and verified.
    Recv {
        /// The output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The capture (pcap or pcapng) to receive from, instead of the wire.
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// The group (or unicast address) and port to receive.
        #[arg(long)]
        group: Option<SocketAddr>,
        /// Only from this source (source-specific multicast).
        #[arg(long)]
        source: Option<IpAddr>,
        /// Interface to receive on.
        #[arg(long)]
        iface: Option<String>,
        /// I/O backend: xdp (AF_XDP), udp (sockets) or pcap (with --pcap).
        #[arg(long, default_value = "xdp")]
        backend: Backend,
        /// Rx queues (AF_XDP): one socket and pinned worker each.
        #[arg(long, default_value_t = 1)]
        queues: u32,
        /// Cores to pin the workers to (comma separated).
        #[arg(long, value_delimiter = ',')]
        cores: Vec<usize>,
        /// Only these TSIs (repeatable).
        #[arg(long)]
        tsi: Vec<u64>,
        /// Stop once this many objects are complete.
        #[arg(long)]
        count: Option<u64>,
        /// Stop after this long (30s, 500ms, 2m).
        #[arg(long, value_parser = parse_duration)]
        timeout: Option<Duration>,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Reserve this much output space before receiving, and again in the background, between
        /// transfers, after a large object took it (512M, 2G): an object over 4 MiB that fits is
        /// written into space already allocated, so the receive worker never waits for the file
        /// system.
        #[arg(long, value_parser = parse_size)]
        spool: Option<u64>,
        /// How long a receive worker keeps polling after the last packet before it sleeps
        /// (200us by default; 0 sleeps as soon as nothing is queued).
        #[arg(long, value_parser = parse_duration)]
        busy_poll: Option<Duration>,
        /// Drop this fraction of the channel's frames in the XDP program (tests, demos).
        #[arg(long, default_value_t = 0.0, hide = true)]
        inject_loss: f64,
    },
    /// Print every ALC packet of a capture, decode its FDT instances, and sum up each object.
    Inspect {
        /// A pcap or pcapng file.
        file: PathBuf,
    },
    /// Send about 256 MiB of files (one of 128 MiB, 128 of about 1 MiB) through AF_XDP
    /// between two network namespaces with 5% injected loss, check every SHA-256, print
    /// goodput and counters, and remove everything. Without root: the same over UDP on
    /// loopback.
    Demo {
        /// Size of the one large file, MiB.
        #[arg(long, default_value_t = 128)]
        large_mib: u64,
        /// Number of small files.
        #[arg(long, default_value_t = 128)]
        small_files: u64,
        /// Size of each small file, KiB (about: sizes vary by a few KiB).
        #[arg(long, default_value_t = 1024)]
        small_kib: u64,
        /// Injected loss, percent (XDP only).
        #[arg(long, default_value_t = 5.0)]
        loss_pct: f64,
    },
}

/// A rate in bits per second: a number with an optional k, M or G suffix.
fn parse_rate(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1_000),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1_000_000),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1_000_000_000),
        _ => (s, 1),
    };
    let value: f64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a rate such as 500M or 10G"))?;
    let bps = value * mult as f64;
    if !(1.0..=1e12).contains(&bps) {
        return Err(format!("{s:?} is out of range (1 bit/s to 1 Tbit/s)"));
    }
    Ok(bps as u64)
}

/// A size in bytes: a number with an optional k, M or G suffix (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, mult) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 512M or 2G"))?;
    value
        .checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// A duration: a number with a us, ms, s, m or h suffix (seconds without one).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (digits, unit) = if let Some(d) = s.strip_suffix("us") {
        (d, 0.000_001)
    } else if let Some(d) = s.strip_suffix("ms") {
        (d, 0.001)
    } else if let Some(d) = s.strip_suffix('s') {
        (d, 1.0)
    } else if let Some(d) = s.strip_suffix('m') {
        (d, 60.0)
    } else if let Some(d) = s.strip_suffix('h') {
        (d, 3600.0)
    } else {
        (s, 1.0)
    };
    let value: f64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 500ms, 30s or 2m"))?;
    Duration::try_from_secs_f64(value * unit).map_err(|e| format!("{s:?}: {e}"))
}

/// A flag set on SIGINT or SIGTERM; a second SIGINT ends the process at once.
fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))?;
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    Ok(stop)
}

fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Send {
            files,
            pcap_out,
            dest,
            source,
            iface,
            backend,
            queues,
            cores,
            tsi,
            fec,
            m,
            repair,
            repair_pct,
            symbol_len,
            block_len,
            cenc,
            flute_version,
            rate,
            carousel,
            priority,
            multiplex,
            toi_start,
        } => {
            let args = send::SendArgs {
                files,
                pcap_out,
                dest,
                source,
                tsi,
                symbol_len,
                block_len,
                cenc,
                flute_version,
                rate_bps: rate,
                carousel,
                priority,
                multiplex,
                toi_start,
                live: send::LiveArgs {
                    iface,
                    backend,
                    queues,
                    cores,
                },
            };
            let fec = send::FecArgs {
                scheme: fec,
                m,
                repair: repair
                    .map(send::Repair::Symbols)
                    .or(repair_pct.map(send::Repair::Percent)),
            };
            if let Some(path) = &args.pcap_out {
                let packets = send::run_with(&args, &fec)?;
                println!("{packets} packets written to {}", path.display());
                return Ok(Outcome::Complete);
            }
            if backend == Backend::Pcap {
                return Err(UsageError("--backend pcap needs --pcap-out FILE".into()).into());
            }
            if backend == Backend::Xdp && args.live.iface.is_none() {
                return Err(UsageError("--backend xdp needs --iface".into()).into());
            }
            let stop = stop_flag()?;
            let report = send::run_live_with(&args, &fec, stop)?;
            let t = report.stats.total();
            let secs = report.elapsed.as_secs_f64().max(1e-6);
            println!(
                "{} packets, {} bytes in {secs:.3} s = {:.2} Gbit/s on the wire; {} batches, {} ring-full waits{}",
                t.packets,
                t.bytes,
                t.bytes as f64 * 8.0 / secs / 1e9,
                t.batches,
                t.ring_full,
                if report.interrupted {
                    " (interrupted)"
                } else {
                    ""
                }
            );
            Ok(if report.interrupted {
                Outcome::Incomplete
            } else {
                Outcome::Complete
            })
        }
        Command::Recv {
            out,
            pcap,
            group,
            source,
            iface,
            backend,
            queues,
            cores,
            tsi,
            count,
            timeout,
            json,
            spool,
            busy_poll,
            inject_loss,
        } => {
            let stdout = std::io::stdout();
            let mut lines = stdout.lock();
            if let Some(pcap) = pcap {
                let args = recv::RecvArgs {
                    pcap: &pcap,
                    out: &out,
                    group,
                    tsi: &tsi,
                };
                return Ok(if recv::run(&args, &mut lines)? {
                    Outcome::Complete
                } else {
                    Outcome::Incomplete
                });
            }
            if backend == Backend::Pcap {
                return Err(UsageError("--backend pcap needs --pcap FILE".into()).into());
            }
            let group = group.ok_or_else(|| {
                UsageError("receiving from the wire needs --group ADDR:PORT".into())
            })?;
            let stop = stop_flag()?;
            let args = recv::LiveRecvArgs {
                out: &out,
                channels: vec![ChannelSpec {
                    destination: group,
                    source,
                    tsis: tsi,
                }],
                iface,
                backend,
                queues,
                cores,
                count,
                timeout,
                json,
                spool: spool.unwrap_or(0),
                busy_poll: busy_poll.unwrap_or(xflute::runtime::DEFAULT_BUSY_POLL),
                inject_loss,
            };
            let report = recv::run_live(&args, stop, || {}, &mut lines)?;
            use std::io::Write;
            writeln!(lines, "{}", recv::summary(&report, json))?;
            Ok(if report.all_complete(count) {
                Outcome::Complete
            } else {
                Outcome::Incomplete
            })
        }
        Command::Inspect { file } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            inspect::run(&file, &mut out)?;
            Ok(Outcome::Complete)
        }
        Command::Demo {
            large_mib,
            small_files,
            small_kib,
            loss_pct,
        } => {
            let stop = stop_flag()?;
            let sizes = demo::Sizes {
                large_bytes: large_mib << 20,
                small_files,
                small_bytes: small_kib << 10,
            };
            demo::run(sizes, loss_pct / 100.0, stop).map(|ok| {
                if ok {
                    Outcome::Complete
                } else {
                    Outcome::Incomplete
                }
            })
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(Outcome::Complete) => ExitCode::SUCCESS,
        Ok(Outcome::Incomplete) => {
            eprintln!("xflute: the transfer is incomplete");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("xflute: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_every_suffix_and_bare_seconds() {
        assert_eq!(parse_duration("200us"), Ok(Duration::from_micros(200)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations_are_refused() {
        for bad in ["", "fast", "-1s", "10x", "1e400s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }
}
