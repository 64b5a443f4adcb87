//! `xflute send FILES...`: one FLUTE session (FDT and objects) on the wire through the send
//! engine (AF_XDP or UDP sockets), or with `--pcap-out FILE` into a capture, as Ethernet/IP/UDP
//! frames with correct checksums.
//!
//! In a capture, time is virtual: the session starts at the wall-clock time of the run and each packet takes
//! the time it would take at `--rate` on the wire; the sender's own pacing (`next_timeout`) moves
//! the clock forward when it asks to wait.

use anyhow::{Context, Result, bail};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use xflute::cenc::Cenc;
use xflute::endpoint::UdpEndpoint;
use xflute::io::mmap::MappedFile;
use xflute::sender::{
    CarouselRepeatMode, Config, ObjectDesc, PriorityQueue, Profile, Sender, ToiMaxLength,
    TransferConfig,
};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};

/// What `send` was asked to do.
pub struct SendArgs {
    /// The files to send.
    pub files: Vec<PathBuf>,
    /// Where the capture goes (`None`: on the wire).
    pub pcap_out: Option<PathBuf>,
    /// Destination group (or address) and port.
    pub dest: SocketAddr,
    /// Source address of the frames; a documentation address of the destination's family when
    /// `None`.
    pub source: Option<IpAddr>,
    /// Transport Session Identifier.
    pub tsi: u64,
    /// Encoding symbol length, bytes.
    pub symbol_len: u16,
    /// Maximum source block length, symbols.
    pub block_len: u32,
    /// Content encoding of the objects and the FDT.
    pub cenc: Cenc,
    /// FLUTE version: 1 (RFC 3926) or 2 (RFC 6726).
    pub flute_version: u8,
    /// Wire rate, bits per second (the capture's timestamps follow it); unlimited when `None`
    /// on the wire, 1 Gbit/s in a capture.
    pub rate_bps: Option<u64>,
    /// Repeat every object for this long (a carousel); `None` sends each once.
    pub carousel: Option<Duration>,
    /// Priority queue of the objects (0 is the highest).
    pub priority: u32,
    /// Objects of the queue sent at once, packet by packet in turn.
    pub multiplex: u32,
    /// The first object's TOI.
    pub toi_start: ToiStart,
    /// Where and how to send on the wire.
    pub live: LiveArgs,
}

/// `send --toi-start`: where the session's TOIs start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToiStart {
    /// At this TOI (1 to 2^112 - 1); 1 by default.
    Value(u128),
    /// At a random TOI (up to 112 bits), drawn at start, so that receivers that cached the
    /// objects of an earlier run of the same session do not take the new ones for them.
    Random,
}

impl std::str::FromStr for ToiStart {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "random" {
            return Ok(Self::Random);
        }
        let max = ToiMaxLength::ToiMax112.max_toi();
        match s.parse::<u128>() {
            Ok(toi) if (1..=max).contains(&toi) => Ok(Self::Value(toi)),
            Ok(_) => Err(format!(
                "{s:?} is out of range (1 to 2^112 - 1; 0 is the FDT's TOI)"
            )),
            Err(_) => Err(format!("{s:?} is neither a TOI nor \"random\"")),
        }
    }
}

impl Default for ToiStart {
    fn default() -> Self {
        Self::Value(1)
    }
}

impl ToiStart {
    /// The sender's first TOI.
    fn initial_value(self) -> Result<u128> {
        Ok(match self {
            Self::Value(toi) => toi,
            Self::Random => xflute::random::random_toi(ToiMaxLength::ToiMax112)
                .context("drawing a random first TOI")?,
        })
    }
}

/// The send engine's options.
#[derive(Clone, Debug, Default)]
pub struct LiveArgs {
    /// Interface to send on.
    pub iface: Option<String>,
    /// AF_XDP or UDP.
    pub backend: xflute::runtime::Backend,
    /// Tx queues.
    pub queues: u32,
    /// Cores for the workers.
    pub cores: Vec<usize>,
}

/// `send --fec`: the FEC scheme of the objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FecScheme {
    /// Compact No-Code (FEC Encoding ID 0).
    #[default]
    None,
    /// Reed-Solomon over GF(2^8) (ID 5, RFC 5510).
    Rs28,
    /// Reed-Solomon over GF(2^m) (ID 2, RFC 5510), m from `--m`.
    Rs2m,
    /// Reed-Solomon over GF(2^8), under-specified (ID 129, FEC Instance ID 0).
    Rs28Us,
    /// RaptorQ (ID 6, RFC 6330).
    Raptorq,
    /// Raptor (ID 1, RFC 5053).
    Raptor,
}

/// Repair symbols per source block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Repair {
    /// This many.
    Symbols(u32),
    /// This percentage of the maximum source block length, rounded up.
    Percent(f64),
}

/// The FEC options of `send`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FecArgs {
    /// The scheme.
    pub scheme: FecScheme,
    /// m for `rs2m` (2..=16).
    pub m: u8,
    /// Repair symbols per block; 20% of B when `None` and the scheme has repair symbols.
    pub repair: Option<Repair>,
}

impl Default for FecArgs {
    fn default() -> Self {
        Self {
            scheme: FecScheme::None,
            m: 8,
            repair: None,
        }
    }
}

/// RaptorQ decoder working memory that sub-blocking keeps a block within (RFC 6330 §4.3's WS).
const RAPTORQ_WORKING_MEMORY: u64 = 32 << 20;

/// The session's OTI for `fec`, symbols of `symbol_len` bytes, blocks of at most `block_len`.
/// Z (Raptor, RaptorQ) is derived per object by the sender from its size, as flute does; N is
/// the fewest sub-blocks that keep a block of B symbols within 32 MiB (RFC 6330 §4.3), Al the
/// largest of 4, 2, 1 dividing T.
pub fn fec_oti(fec: &FecArgs, symbol_len: u16, block_len: u32) -> Result<Oti> {
    let repair = match (fec.scheme, fec.repair) {
        (FecScheme::None, None) => 0,
        (_, None) => block_len.div_ceil(5),
        (_, Some(Repair::Symbols(r))) => r,
        (_, Some(Repair::Percent(p))) => {
            if !(p.is_finite() && p >= 0.0) {
                bail!("--repair-pct must be a non-negative percentage");
            }
            (f64::from(block_len) * p / 100.0)
                .ceil()
                .min(f64::from(u32::MAX)) as u32
        }
    };
    let al = [4u8, 2, 1]
        .into_iter()
        .find(|al| symbol_len.is_multiple_of(u16::from(*al)))
        .unwrap_or(1);
    let units = u64::from(symbol_len / u16::from(al)).max(1);
    let block_bytes = u64::from(block_len) * u64::from(symbol_len);
    let n = block_bytes.div_ceil(RAPTORQ_WORKING_MEMORY).clamp(1, units);
    let (fec_encoding_id, scheme_specific) = match fec.scheme {
        FecScheme::None => (FecEncodingId::NoCode, SchemeSpecific::None),
        FecScheme::Rs28 => (FecEncodingId::ReedSolomonGf28, SchemeSpecific::None),
        FecScheme::Rs28Us => (
            FecEncodingId::ReedSolomonGf28UnderSpecified,
            SchemeSpecific::None,
        ),
        FecScheme::Rs2m => (
            FecEncodingId::ReedSolomonGf2m,
            SchemeSpecific::ReedSolomonGf2m { m: fec.m, g: 1 },
        ),
        FecScheme::Raptorq => (
            FecEncodingId::RaptorQ,
            SchemeSpecific::RaptorQ {
                z: 0,
                n: n as u16,
                al,
            },
        ),
        FecScheme::Raptor => {
            if !(4..=8192).contains(&block_len) {
                bail!("Raptor needs --block-len between 4 and 8192 (RFC 5053 §5.7)");
            }
            (
                FecEncodingId::Raptor,
                SchemeSpecific::Raptor {
                    z: 0,
                    n: n.min(255) as u8,
                    al,
                },
            )
        }
    };
    let max_n = block_len
        .checked_add(if fec.scheme == FecScheme::None {
            0
        } else {
            repair
        })
        .context("--block-len plus --repair overflows")?;
    Ok(Oti {
        fec_encoding_id,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: symbol_len,
        maximum_source_block_length: block_len,
        max_number_of_encoding_symbols: max_n,
        scheme_specific,
    })
}

/// Whether Raptor can code every block of an object of `len` bytes (each block 4..=8192
/// symbols, RFC 5053 §5.7).
fn raptor_can_code(oti: &Oti, len: u64) -> bool {
    let Ok(p) = xflute::fec::BlockPartition::rfc5052(
        len,
        u32::from(oti.encoding_symbol_length),
        oti.maximum_source_block_length,
    ) else {
        return false;
    };
    let ok = |k: u32| (4..=8192).contains(&k);
    (p.nb_large_blocks() == 0 || ok(p.large_block_len()))
        && (p.nb_blocks() == p.nb_large_blocks() || ok(p.small_block_len()))
}

/// A Content-Type from a file name's extension; `application/octet-stream` otherwise.
fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("txt") => "text/plain",
        Some("html" | "htm") => "text/html",
        Some("xml") => "application/xml",
        Some("json") => "application/json",
        Some("mpd") => "application/dash+xml",
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("mp4" | "m4s") => "video/mp4",
        Some("ts") => "video/mp2t",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("zip") => "application/zip",
        _ => "application/octet-stream",
    }
}

/// Content-Location of a file: `file:///` and its name, percent-encoding what a URI path may
/// not hold as is.
fn content_location(path: &Path) -> Result<String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} has no UTF-8 file name", path.display()))?;
    let mut out = String::from("file:///");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

/// The session's sender with every file added as an object, coded with `fec`.
pub fn build_sender_with(args: &SendArgs, fec: &FecArgs) -> Result<Sender> {
    if args.files.is_empty() {
        bail!("no file to send");
    }
    let profile = match args.flute_version {
        1 => Profile::Rfc3926,
        2 => Profile::Rfc6726,
        v => bail!("FLUTE version {v} does not exist (1 or 2)"),
    };
    let object_fec_oti = fec_oti(fec, args.symbol_len, args.block_len)?;
    // Raptor cannot code blocks of fewer than 4 symbols: the FDT (and any object that small)
    // goes without FEC, each other object carries the Raptor OTI.
    let raptor = fec.scheme == FecScheme::Raptor;
    let oti = if raptor {
        fec_oti(&FecArgs::default(), args.symbol_len, args.block_len)?
    } else {
        object_fec_oti
    };
    let mut config = Config {
        profile,
        fdt_cenc: args.cenc,
        toi_max_length: ToiMaxLength::ToiMax112,
        toi_initial_value: args.toi_start.initial_value()?,
        ..Config::default()
    };
    config.set_priority_queue(args.priority, PriorityQueue::new(args.multiplex));
    let endpoint = UdpEndpoint::new(args.dest.ip(), args.dest.port());
    let mut sender = Sender::new(endpoint, args.tsi, oti, config)
        .context("the session's parameters are not valid")?;
    let mut seen = std::collections::HashSet::new();
    for path in &args.files {
        let location = content_location(path)?;
        if !seen.insert(location.clone()) {
            bail!("two files are named {location}");
        }
        let bytes =
            MappedFile::open(path).with_context(|| format!("reading {}", path.display()))?;
        let object_oti = (raptor
            && raptor_can_code(&object_fec_oti, AsRef::<[u8]>::as_ref(&bytes).len() as u64))
        .then_some(object_fec_oti);
        let transfer = TransferConfig {
            oti: object_oti,
            cenc: args.cenc,
            carousel_mode: args
                .carousel
                .map(|_| CarouselRepeatMode::DelayBetweenTransfers(Duration::ZERO)),
            ..TransferConfig::default()
        };
        let object = ObjectDesc::from_bytes(
            Arc::new(bytes),
            content_type(path),
            location,
            true,
            transfer,
        )
        .with_context(|| format!("preparing {}", path.display()))?;
        sender
            .add_object(args.priority, object)
            .with_context(|| format!("adding {}", path.display()))?;
    }
    Ok(sender)
}

/// The source address: the one given, or a documentation address of the destination's family.
fn source_or_default(args: &SendArgs) -> IpAddr {
    args.source.unwrap_or(match args.dest.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    })
}

/// Run `send --pcap-out` with `fec` through the send engine's pcap backend; returns the number
/// of packets written. The capture's timestamps follow `--rate` (1 Gbit/s if not given) and
/// `--carousel` counts in capture time.
pub fn run_with(args: &SendArgs, fec: &FecArgs) -> Result<u64> {
    use xflute::runtime::{Backend, TxEngine};
    let pcap_out = args
        .pcap_out
        .as_deref()
        .context("no capture file to write")?;
    let sender = build_sender_with(args, fec)?;
    let engine = TxEngine::builder()
        .backend(Backend::Pcap)
        .pcap_out(pcap_out)
        .rate_bps(args.rate_bps)
        .run_for(args.carousel)
        .session(sender, source_or_default(args))
        .start(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(
            false,
        )))
        .with_context(|| format!("creating {}", pcap_out.display()))?;
    let stats = engine
        .join()
        .with_context(|| format!("writing {}", pcap_out.display()))?;
    Ok(stats.total().packets)
}

/// What a live send did.
pub struct LiveReport {
    /// The engine's counters.
    pub stats: xflute::runtime::TxStats,
    /// How long it took.
    pub elapsed: Duration,
    /// Whether a signal stopped it.
    pub interrupted: bool,
}

/// Run `send` on the wire through the send engine, the objects coded with `fec`, until every
/// object is sent (or the carousel time is up, or `stop` is set).
pub fn run_live_with(
    args: &SendArgs,
    fec: &FecArgs,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Result<LiveReport> {
    use xflute::runtime::{Backend, TxEngine};
    let source = match (args.source, args.live.backend) {
        (Some(s), _) => s,
        (None, Backend::Udp) => match args.dest.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        },
        (None, Backend::Xdp) => bail!("--backend xdp needs --source (the frames' source address)"),
        (None, Backend::Pcap) => source_or_default(args),
    };
    let sender = build_sender_with(args, fec).map_err(|e| crate::UsageError(format!("{e:#}")))?;
    let mut builder = TxEngine::builder()
        .backend(args.live.backend)
        .queues(args.live.queues)
        .cores(args.live.cores.clone())
        .rate_bps(args.rate_bps)
        .run_for(args.carousel)
        .session(sender, source);
    if let Some(iface) = &args.live.iface {
        builder = builder.interface(iface.clone());
    }
    let start = std::time::Instant::now();
    let engine = builder
        .start(std::sync::Arc::clone(&stop))
        .map_err(|e| crate::UsageError(e.to_string()))?;
    let stats = engine.join()?;
    Ok(LiveReport {
        stats,
        elapsed: start.elapsed(),
        interrupted: stop.load(std::sync::atomic::Ordering::SeqCst),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_location_percent_encodes_what_a_uri_path_cannot_hold() {
        assert_eq!(
            content_location(Path::new("/x/a b%#.txt")).unwrap(),
            "file:///a%20b%25%23.txt"
        );
        assert_eq!(
            content_location(Path::new("seg-1.m4s")).unwrap(),
            "file:///seg-1.m4s"
        );
    }

    #[test]
    fn content_type_follows_the_extension() {
        assert_eq!(content_type(Path::new("a.MPD")), "application/dash+xml");
        assert_eq!(content_type(Path::new("a")), "application/octet-stream");
    }
}
