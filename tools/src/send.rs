//! `xflute send FILES...`: one FLUTE session (FDT and objects) on the wire through the send
//! engine (AF_XDP or UDP sockets), or with `--pcap-out FILE` into a capture, as Ethernet/IP/UDP
//! frames with correct checksums.
//!
//! Everything the options say is checked before the first packet: the files (each a readable
//! file), the FEC parameters against the files' sizes, the destination port, and the packet
//! length against the interface's MTU; a refusal is a usage error (exit code 2).
//!
//! In a capture, time is virtual: the session starts at the wall-clock time of the run and each
//! packet takes the time it would take at `--rate` on the wire; the sender's own pacing
//! (`next_timeout`) moves the clock forward when it asks to wait.

use anyhow::{Context, Result, bail};
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use xflute::cenc::Cenc;
use xflute::endpoint::UdpEndpoint;
use xflute::io::mmap::MappedFile;
use xflute::runtime::Backend;
use xflute::sender::{
    CarouselRepeatMode, Config, ObjectDesc, PriorityQueue, Profile, Sender, ToiMaxLength,
    TransferConfig,
};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};

use crate::events::Event;
use crate::{Outcome, units, usage};

/// `--backend`: where packets go or come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// AF_XDP sockets (root; an XDP program steers received packets).
    #[default]
    Xdp,
    /// Kernel UDP sockets.
    Udp,
    /// A capture file (with --pcap-out, --pcap).
    Pcap,
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Self {
        match b {
            BackendArg::Xdp => Backend::Xdp,
            BackendArg::Udp => Backend::Udp,
            BackendArg::Pcap => Backend::Pcap,
        }
    }
}

/// `--cenc`: the content encoding of the files and the FDT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum CencArg {
    /// None: sent as is.
    #[default]
    Null,
    /// zlib (RFC 1950).
    Zlib,
    /// deflate (RFC 1951).
    Deflate,
    /// gzip (RFC 1952).
    Gzip,
}

impl From<CencArg> for Cenc {
    fn from(c: CencArg) -> Self {
        match c {
            CencArg::Null => Cenc::Null,
            CencArg::Zlib => Cenc::Zlib,
            CencArg::Deflate => Cenc::Deflate,
            CencArg::Gzip => Cenc::Gzip,
        }
    }
}

/// `--profile`: the choices a family of receivers expects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum SendProfile {
    /// For FLUTE receivers at large (xflute, flute, GPAC): FEC OTI on each FDT File and on the
    /// FDT-Instance, Content-Location file:///PATH.
    #[default]
    Default,
    /// DVB-MABR FLUTE (ETSI TS 103 769) as GPAC receives it: each object in one source block,
    /// EXT_FTI only in FDT packets, TOIs of 32 bits at most, relative Content-Locations; only
    /// --fec none and --cenc null.
    DvbMabr,
}

/// The options of `xflute send`.
#[derive(clap::Args, Clone, Debug)]
pub struct SendCli {
    /// The files to send: regular files (each named by its file name) and directories (every
    /// regular file below, named by its path relative to the directory, so that receivers
    /// rebuild the tree).
    #[arg(required = true, value_name = "FILE|DIR")]
    pub files: Vec<PathBuf>,
    /// Make the choices these receivers expect.
    #[arg(long, value_enum, default_value = "default")]
    pub profile: SendProfile,
    /// Write the session into this pcap file instead of sending it.
    #[arg(long, value_name = "FILE")]
    pub pcap_out: Option<PathBuf>,
    /// Destination group (or unicast address) and port (not 0).
    #[arg(long, default_value = "239.255.0.1:3400")]
    pub dest: SocketAddr,
    /// Source address of the packets [default: xdp: the interface's own address of the
    /// destination's family; udp: chosen by the kernel; capture: 192.0.2.1 or 2001:db8::1].
    #[arg(long)]
    pub source: Option<IpAddr>,
    /// Interface to send on [required by xdp; udp: the multicast interface, by default the
    /// routing table's].
    #[arg(long)]
    pub iface: Option<String>,
    /// I/O backend: xdp (AF_XDP, root), udp (sockets), pcap (with --pcap-out; implied by it).
    #[arg(long, value_enum, default_value = "xdp")]
    pub backend: BackendArg,
    /// Tx queues (AF_XDP).
    #[arg(long, default_value_t = 1)]
    pub queues: u32,
    /// Cores to pin the workers to, comma separated [default: not pinned].
    #[arg(long, value_delimiter = ',')]
    pub cores: Vec<usize>,
    /// Transport Session Identifier.
    #[arg(long, default_value_t = 1)]
    pub tsi: u64,
    #[command(flatten)]
    pub fec: FecCli,
    /// Encoding symbol length in bytes (each packet carries one symbol; the packet must fit the
    /// interface's MTU).
    #[arg(long, default_value_t = 1400)]
    pub symbol_len: u16,
    /// Maximum source block length in symbols.
    #[arg(long, default_value_t = 64)]
    pub block_len: u32,
    /// Source blocks of an object sent interleaved, one symbol of each in turn: a burst of b
    /// lost packets then costs each of the N blocks about b/N symbols, so blocks with r repair
    /// symbols recover bursts of up to about N·r packets (rs28 with the default 64-symbol
    /// blocks and 13 repair symbols: 52 at N = 4, 13 at N = 1). Raise it for longer bursts; a
    /// receiver then holds N blocks of each object in flight, each with a decoder charged
    /// min(k, r) symbols (Reed-Solomon) or k + 32 (RaptorQ, Raptor) to its memory budget, so keep
    /// N small with large blocks. 1 sends block after block; 0 is refused. With --fec none it
    /// changes the order only, which is why the default is the same for every scheme.
    #[arg(long, value_name = "N", default_value_t = Config::DEFAULT_INTERLEAVE_BLOCKS)]
    #[arg(value_parser = clap::value_parser!(u32).range(1..))]
    pub interleave_blocks: u32,
    /// Content encoding of the files and of the FDT.
    #[arg(long, value_enum, default_value = "null")]
    pub cenc: CencArg,
    /// FLUTE version: 1 (RFC 3926) or 2 (RFC 6726).
    #[arg(long, default_value_t = 2)]
    pub flute_version: u8,
    /// Rate in bits per second; k, M, G are powers of 1000 (500M, 2.5G) [default: on the wire
    /// unlimited; with --pcap-out the capture's timestamps follow 1G].
    #[arg(long = "rate", value_name = "RATE", value_parser = units::parse_rate)]
    pub rate_bps: Option<u64>,
    /// Repeat the objects for this long (30s, 500ms, 2m), as a carousel [default: each once].
    #[arg(long, value_parser = units::parse_duration)]
    pub carousel: Option<Duration>,
    /// Priority queue of the objects (0 is the highest).
    #[arg(long, default_value_t = 0)]
    pub priority: u32,
    /// Objects sent at once, packet by packet in turn.
    #[arg(long, default_value_t = 3)]
    pub multiplex: u32,
    /// TOI of the first object (the next ones follow): a number, or `random` so that
    /// receivers that cached an earlier run's objects by TOI do not mistake the new ones
    /// for them (a random TOI takes up to 14 bytes in each packet's LCT header).
    #[arg(long, default_value = "1")]
    pub toi_start: ToiStart,
    /// UDP backend: one datagram per sendmmsg message instead of GSO super-datagrams (slower;
    /// a capture on the sending host then shows each packet as sent).
    #[arg(long)]
    pub no_gso: bool,
    /// One JSON event per line on stdout instead of text (see docs/cli-json.md).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub auth: SendAuthCli,
    /// Also publish a DVB-MABR multicast gateway configuration (ETSI TS 103 769) that
    /// describes this session, on this bootstrap group and port with TSI 1, so that gateways
    /// (`recv --bootstrap`, GPAC's mabr://) find the session from there: once a second with
    /// --carousel, else three times at the start.
    #[arg(long, value_name = "ADDR:PORT")]
    pub bootstrap: Option<SocketAddr>,
    /// Announce this HTTP server as the repair server of the session (repeatable, the first
    /// preferred), so that receivers repair from it without being told: in the session itself,
    /// as a 3GPP TS 26.346 associated delivery procedure description (postFileRepair
    /// serverURI; an object the FDT lists as application/mbms-associated-procedure-description+xml,
    /// sent five times at the start, or once a second with --carousel), which `recv
    /// --repair-announced` reads; and with --bootstrap in the gateway configuration
    /// (UnicastRepairParameters BaseURL), which `recv --bootstrap` and GPAC's mabr:// read. An
    /// object's repair URL is this base followed by its Content-Location, as `recv
    /// --repair-url` resolves it. See docs/repair.md.
    #[arg(long, value_name = "URL")]
    pub repair_base: Vec<url::Url>,
}

/// `send --fec`, `--m`, `--repair`, `--repair-pct`: how the objects are coded.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct FecCli {
    /// FEC scheme of the objects.
    #[arg(long = "fec", value_name = "FEC", value_enum, default_value = "none")]
    pub scheme: FecScheme,
    /// m, the field size of rs2m, 2..=16 [default: 8]; only with --fec rs2m.
    #[arg(long)]
    pub m: Option<u8>,
    /// Repair symbols per source block [default with FEC: 20% of --block-len, rounded up];
    /// not with --fec none.
    #[arg(long, conflicts_with = "repair_pct")]
    pub repair: Option<u32>,
    /// Repair symbols per source block, as a percentage of --block-len (rounded up); not with
    /// --fec none.
    #[arg(long)]
    pub repair_pct: Option<f64>,
}

impl FecCli {
    /// The FEC parameters the flags give; a flag the scheme has no use for is a usage error.
    pub fn args(&self) -> Result<FecArgs> {
        if self.scheme == FecScheme::None && (self.repair.is_some() || self.repair_pct.is_some()) {
            bail!(usage(
                "--repair and --repair-pct need a FEC scheme (--fec rs28, raptorq, ...); --fec none sends no repair symbols"
            ));
        }
        if self.m.is_some() && self.scheme != FecScheme::Rs2m {
            bail!(usage("--m is the field size of --fec rs2m only"));
        }
        Ok(FecArgs {
            scheme: self.scheme,
            m: self.m.unwrap_or(8),
            repair: self
                .repair
                .map(Repair::Symbols)
                .or(self.repair_pct.map(Repair::Percent)),
        })
    }
}

/// `send --auth-*`: the key files every packet is authenticated with (RFC 6584).
#[derive(clap::Args, Clone, Debug)]
pub struct SendAuthCli {
    /// Authenticate every packet with this group key (RFC 6584 group MAC, HMAC-SHA-256): the
    /// file holds the key in hex, or its raw bytes; at least 16 bytes. Receivers need the same
    /// key. With --auth-sign-key too, both (the MAC truncated to 32 bits, checked first).
    #[arg(long, value_name = "FILE")]
    pub auth_hmac_key: Option<PathBuf>,
    /// Sign every packet with this RSA private key (RFC 6584 RSASSA-PSS, SHA-256), a PKCS#8
    /// PEM file of 2048 to 4096 bits; receivers check with its public key. Each signature
    /// costs about a millisecond of CPU: for low rates, or see --auth-hmac-key.
    #[arg(long, value_name = "FILE")]
    pub auth_sign_key: Option<PathBuf>,
    /// The ASID of the packets' EXT_AUTH (0 to 15), as the receivers expect it.
    #[arg(long, default_value_t = xflute::auth::DEFAULT_ASID, value_name = "N")]
    pub auth_asid: u8,
}

/// `send --auth-*`: the keys every packet is authenticated with (RFC 6584). A sender gets a
/// [`xflute::auth::Signer`] of its own from them, its Sequence Numbers counted from 1.
#[derive(Clone, Debug)]
pub struct SendAuth {
    keys: SendKeys,
    asid: u8,
}

/// Which scheme the keys make.
#[derive(Clone, Debug)]
enum SendKeys {
    Group(xflute::auth::GroupKey),
    Sign(xflute::auth::SigningKey),
    Both(xflute::auth::SigningKey, xflute::auth::GroupKey),
}

impl SendAuth {
    /// Loads the key files `send` was given; `None` without any. A key that cannot be used is
    /// a usage error.
    fn load(cli: &SendAuthCli) -> Result<Option<Self>> {
        use xflute::auth::{GroupKey, SigningKey};
        let key_error = |flag: &str, e: xflute::auth::KeyError| usage(format!("{flag}: {e}"));
        let group = cli
            .auth_hmac_key
            .as_deref()
            .map(GroupKey::load)
            .transpose()
            .map_err(|e| key_error("--auth-hmac-key", e))?;
        let signing = cli
            .auth_sign_key
            .as_deref()
            .map(SigningKey::load)
            .transpose()
            .map_err(|e| key_error("--auth-sign-key", e))?;
        let keys = match (group, signing) {
            (None, None) => return Ok(None),
            (Some(group), None) => SendKeys::Group(group),
            (None, Some(signing)) => SendKeys::Sign(signing),
            (Some(group), Some(signing)) => SendKeys::Both(signing, group),
        };
        let auth = Self {
            keys,
            asid: cli.auth_asid,
        };
        auth.signer().map_err(|e| key_error("--auth-asid", e))?;
        Ok(Some(auth))
    }

    /// A signer for one sender.
    pub fn signer(&self) -> Result<xflute::auth::Signer, xflute::auth::KeyError> {
        use xflute::auth::Signer;
        let signer = match &self.keys {
            SendKeys::Group(group) => Signer::group_mac(group.clone()),
            SendKeys::Sign(signing) => Signer::rsa_pss(signing.clone()),
            // RFC 6584 §6.4: in the combined scheme the MAC is a 32-bit pre-check.
            SendKeys::Both(signing, group) => {
                Signer::combined(signing.clone(), group.clone().with_mac_bits(32)?)
            }
        };
        signer.with_asid(self.asid)
    }
}

/// What `send` derives from its options once they are checked: values the flags only name
/// (the FEC parameters, the keys loaded from their files).
#[derive(Clone, Debug)]
pub struct Checked {
    /// How the objects are coded.
    pub fec: FecArgs,
    /// Authenticate every packet (RFC 6584) with these keys.
    pub auth: Option<SendAuth>,
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
pub(crate) fn content_type(path: &Path) -> &'static str {
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

/// Content-Location of the file named `name` (a relative path with `/` separators), percent-
/// encoding what a URI path may not hold as is: `file:///NAME`, or with `relative` the
/// relative reference `NAME` (DVB-MABR receivers such as GPAC use the name as it stands).
pub(crate) fn content_location(name: &str, relative: bool) -> String {
    let mut out = String::from(if relative { "" } else { "file:///" });
    for (i, segment) in name.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        for b in segment.bytes() {
            // A ':' in the first segment of a relative reference would read as a scheme.
            let colon_ok = !(relative && i == 0);
            if b.is_ascii_alphanumeric()
                || b"-._~!$&'()*+,;=@".contains(&b)
                || (b == b':' && colon_ok)
            {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// A file to send and the name it is sent under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Where it is read.
    pub path: PathBuf,
    /// Its name: the file name of a file given, the path below the directory (`/`-separated)
    /// of a file found in a directory given.
    pub name: String,
}

/// The files of `args`: each file given, and every regular file below each directory given,
/// in name order (symbolic links to files are followed, to directories not, so that a link
/// cannot loop). A path that is neither, or a name that is not UTF-8, is a usage error.
pub fn inputs(args: &[PathBuf]) -> Result<Vec<Input>> {
    fn utf8(name: &std::ffi::OsStr, path: &Path) -> Result<String> {
        name.to_str()
            .map(str::to_owned)
            .ok_or_else(|| usage(format!("{} has no UTF-8 name", path.display())))
    }
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<Input>) -> Result<()> {
        let mut entries = std::fs::read_dir(dir)
            .map_err(|e| usage(format!("reading {}: {e}", dir.display())))?
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| usage(format!("reading {}: {e}", dir.display())))?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let name = format!("{prefix}{}", utf8(&entry.file_name(), &path)?);
            let kind = entry
                .file_type()
                .map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
            if kind.is_dir() {
                walk(&path, &format!("{name}/"), out)?;
            } else if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                out.push(Input { path, name });
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for path in args {
        let meta = std::fs::metadata(path)
            .map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
        if meta.is_dir() {
            walk(path, "", &mut out)?;
        } else {
            let name = path
                .file_name()
                .ok_or_else(|| usage(format!("{} names no file", path.display())))?;
            out.push(Input {
                path: path.clone(),
                name: utf8(name, path)?,
            });
        }
    }
    Ok(out)
}

impl SendCli {
    /// Checks every combination of the options, and derives what they name.
    pub fn check(&self) -> Result<Checked> {
        let fec = self.fec.args()?;
        if self.dest.port() == 0 {
            bail!(usage(format!(
                "--dest {}: port 0 cannot be sent to",
                self.dest
            )));
        }
        if self.symbol_len == 0 || self.block_len == 0 {
            bail!(usage("--symbol-len and --block-len must be at least 1"));
        }
        if self.no_gso && (self.pcap_out.is_some() || self.backend != BackendArg::Udp) {
            bail!(usage("--no-gso is an option of --backend udp"));
        }
        let auth = SendAuth::load(&self.auth)?;
        crate::bootstrap::check_send(self)?;
        Ok(Checked { fec, auth })
    }
}

/// The largest number of source blocks an object can have under `scheme`: what the SBN field
/// of its FEC Payload ID counts (RFC 5445 §2.1, RFC 5510 §4.1 and §5.1, RFC 5053 §3.2,
/// RFC 6330 §3.2).
fn max_blocks(fec: &FecArgs) -> u64 {
    match fec.scheme {
        FecScheme::None | FecScheme::Raptor => 1 << 16,
        FecScheme::Rs28 => 1 << 24,
        FecScheme::Rs28Us => 1 << 32,
        FecScheme::Rs2m => 1 << (32 - u32::from(fec.m.clamp(2, 16))),
        FecScheme::Raptorq => 256,
    }
}

/// The largest source block (in symbols, repair included for Reed-Solomon) `fec` can code.
fn check_block_len(fec: &FecArgs, oti: &Oti) -> Result<()> {
    let b = oti.maximum_source_block_length;
    let n = oti.max_number_of_encoding_symbols;
    let (limit, what) = match fec.scheme {
        FecScheme::Rs28 | FecScheme::Rs28Us => {
            (255, "rs28 codes at most 255 symbols a block (GF(2^8))")
        }
        FecScheme::Rs2m => {
            if !(2..=16).contains(&fec.m) {
                bail!(usage(format!("--m {} is not between 2 and 16", fec.m)));
            }
            (
                (1u32 << fec.m) - 1,
                "rs2m codes at most 2^m - 1 symbols a block",
            )
        }
        FecScheme::Raptorq => {
            if b > 56_403 {
                bail!(usage(format!(
                    "--block-len {b} is over RaptorQ's largest source block, 56403 symbols (RFC 6330 K'max)"
                )));
            }
            return Ok(());
        }
        FecScheme::None | FecScheme::Raptor => return Ok(()),
    };
    if n > limit {
        bail!(usage(format!(
            "--block-len {b} plus {} repair symbols is {n}: {what}; lower --block-len or the repair",
            n - b
        )));
    }
    Ok(())
}

/// Each file is a regular file we can read, and `fec` can number the source blocks of each.
fn check_files(args: &SendCli, files: &[Input], fec: &FecArgs) -> Result<()> {
    if files.is_empty() {
        bail!(usage("no file to send"));
    }
    if args.profile == SendProfile::DvbMabr {
        if fec.scheme != FecScheme::None || args.cenc != CencArg::Null {
            bail!(usage(
                "--profile dvb-mabr sends with --fec none and --cenc null (DVB-MABR receivers such as GPAC decode neither)"
            ));
        }
        if args.tsi > u64::from(u32::MAX) {
            bail!(usage(
                "--profile dvb-mabr needs a --tsi of 32 bits at most (the widest LCT field GPAC reads)"
            ));
        }
    }
    let symbol_len = u64::from(args.symbol_len.max(1));
    let block_len = u64::from(args.block_len.max(1));
    for Input { path, .. } in files {
        let meta = std::fs::metadata(path)
            .map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
        if !meta.is_file() {
            bail!(usage(format!("{} is not a regular file", path.display())));
        }
        std::fs::File::open(path).map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
        let symbols = meta.len().div_ceil(symbol_len);
        if args.profile == SendProfile::DvbMabr && symbols > 1 << 16 {
            bail!(usage(format!(
                "{}: {} bytes make {symbols} symbols of {symbol_len} bytes, more than the 65536 one No-Code source block holds, and DVB-MABR receivers such as GPAC read no block number; raise --symbol-len",
                path.display(),
                meta.len()
            )));
        }
        let blocks = symbols.div_ceil(block_len);
        let max = max_blocks(fec);
        if blocks > max {
            let need = symbols.div_ceil(max);
            bail!(usage(format!(
                "{}: {} bytes make {blocks} source blocks of --block-len {block_len} symbols of {symbol_len} bytes, more than the {max} that --fec {} numbers; raise --block-len to {need} or more (or --symbol-len)",
                path.display(),
                meta.len(),
                fec.scheme.name()
            )));
        }
    }
    Ok(())
}

impl FecScheme {
    /// The name `--fec` takes.
    fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Rs28 => "rs28",
            Self::Rs2m => "rs2m",
            Self::Rs28Us => "rs28-us",
            Self::Raptorq => "raptorq",
            Self::Raptor => "raptor",
        }
    }
}

/// The session's sender with every file added as an object, coded and authenticated as
/// `checked` says. Every refusal is a usage error: the options cannot send these files.
pub fn build_sender_with(args: &SendCli, checked: &Checked) -> Result<Sender> {
    let fec = &checked.fec;
    let cenc = Cenc::from(args.cenc);
    let files = inputs(&args.files)?;
    check_files(args, &files, fec)?;
    let profile = match args.flute_version {
        1 => Profile::Rfc3926,
        2 => Profile::Rfc6726,
        v => bail!(usage(format!("FLUTE version {v} does not exist (1 or 2)"))),
    };
    let object_fec_oti =
        fec_oti(fec, args.symbol_len, args.block_len).map_err(|e| usage(format!("{e:#}")))?;
    check_block_len(fec, &object_fec_oti)?;
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
        fdt_cenc: cenc,
        toi_max_length: ToiMaxLength::ToiMax112,
        toi_initial_value: args.toi_start.initial_value()?,
        interleave_blocks: args.interleave_blocks,
        ..Config::default()
    };
    let dvb_mabr = args.profile == SendProfile::DvbMabr;
    if dvb_mabr {
        config = config.with_dvb_mabr_profile();
    }
    config.set_priority_queue(args.priority, PriorityQueue::new(args.multiplex));
    let endpoint = UdpEndpoint::new(args.dest.ip(), args.dest.port());
    let mut sender = Sender::new(endpoint, args.tsi, oti, config)
        .map_err(|e| usage(format!("the session's parameters are not valid: {e}")))?;
    if let Some(auth) = &checked.auth {
        let signer = auth.signer().map_err(|e| usage(format!("--auth: {e}")))?;
        sender
            .set_signer(signer)
            .map_err(|e| usage(format!("--auth: {e}")))?;
    }
    if !args.repair_base.is_empty() {
        let object = description_object(&args.repair_base, args.carousel.is_some())
            .map_err(|e| usage(format!("--repair-base: {e:#}")))?;
        sender
            .add_object(args.priority, object)
            .map_err(|e| usage(format!("--repair-base: {e}")))?;
    }
    let mut seen = std::collections::HashSet::new();
    for Input { path, name } in &files {
        let location = content_location(name, dvb_mabr);
        if !seen.insert(location.clone()) {
            bail!(usage(format!("two files are named {location}")));
        }
        let bytes = MappedFile::open(path)
            .map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
        let object_oti = (raptor
            && raptor_can_code(&object_fec_oti, AsRef::<[u8]>::as_ref(&bytes).len() as u64))
        .then_some(object_fec_oti);
        let transfer = TransferConfig {
            oti: object_oti,
            cenc,
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
        .map_err(|e| usage(format!("preparing {}: {e}", path.display())))?;
        sender.add_object(args.priority, object).map_err(|e| {
            usage(format!(
                "adding {}: {e}; a larger --block-len or --symbol-len makes fewer blocks",
                path.display()
            ))
        })?;
    }
    Ok(sender)
}

/// Transfers, back to back, of a session's associated delivery procedure description when
/// the session has no carousel: enough that a receiver that loses a fifth of the packets still
/// gets one.
pub const DESCRIPTION_TRANSFERS: u32 = 5;

/// How often a repeating session sends its associated delivery procedure description.
pub const DESCRIPTION_INTERVAL: Duration = Duration::from_secs(1);

/// The associated delivery procedure description (3GPP TS 26.346 §9.3) that announces
/// `servers` as the repair servers of a session, as an object of the session, named
/// [`xflute::adpd::CONTENT_LOCATION`] so that no file of the session can have its name, with
/// its Content-Type in the FDT; no offset time or random time period of its own, so that
/// receivers keep theirs. With `repeat`, sent every [`DESCRIPTION_INTERVAL`] for as long as
/// the session runs; else [`DESCRIPTION_TRANSFERS`] times at the start.
pub(crate) fn description_object(servers: &[url::Url], repeat: bool) -> Result<ObjectDesc> {
    use xflute::adpd::{AssociatedProcedureDescription, PostFileRepair};
    let description = AssociatedProcedureDescription::file_repair(PostFileRepair::new(
        servers.iter().map(url::Url::to_string).collect(),
    ));
    let transfer = TransferConfig {
        max_transfer_count: if repeat { 1 } else { DESCRIPTION_TRANSFERS },
        carousel_mode: repeat.then_some(CarouselRepeatMode::IntervalBetweenStartTimes(
            DESCRIPTION_INTERVAL,
        )),
        ..TransferConfig::default()
    };
    ObjectDesc::from_buffer(
        description.to_xml().into_bytes(),
        xflute::adpd::CONTENT_TYPE,
        xflute::adpd::CONTENT_LOCATION,
        true,
        transfer,
    )
    .context("preparing the associated procedure description")
}

/// The source address: the one given, or a documentation address of the destination's family.
fn source_or_default(args: &SendCli) -> IpAddr {
    args.source.unwrap_or(match args.dest.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    })
}

/// Run `send --pcap-out` through the send engine's pcap backend; returns the number of packets
/// written. The capture's timestamps follow `--rate` (1 Gbit/s if not given) and `--carousel`
/// counts in capture time.
pub fn run_with(args: &SendCli, checked: &Checked) -> Result<u64> {
    use xflute::runtime::TxEngine;
    let pcap_out = args
        .pcap_out
        .as_deref()
        .context("no capture file to write")?;
    let sender = build_sender_with(args, checked)?;
    let mut builder = TxEngine::builder()
        .backend(Backend::Pcap)
        .pcap_out(pcap_out)
        .rate_bps(args.rate_bps)
        .run_for(args.carousel)
        .session(sender, source_or_default(args));
    if let Some(bootstrap) = crate::bootstrap::send_session(args)? {
        builder = builder.session(bootstrap, source_or_default(args));
    }
    let engine = builder
        .start(Arc::new(AtomicBool::new(false)))
        .map_err(usage)?;
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

/// How a live send shows its progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Not at all (the demo).
    Quiet,
    /// A progress line on stderr when it is a terminal.
    Bar,
    /// A `stats` event every second on stdout.
    Json,
}

/// How often `--json` prints a `stats` event.
pub const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// The Ethernet addresses of frames sent with AF_XDP from `interface` to `dest`: the
/// interface's own as the source; the group's for multicast (the engine derives it), the
/// neighbour table's for a unicast IPv4 address it knows, broadcast otherwise.
pub(crate) fn xdp_macs(interface_mac: [u8; 6], dest: IpAddr) -> ([u8; 6], [u8; 6]) {
    let neighbour = match dest {
        IpAddr::V4(v4) if !v4.is_multicast() => std::fs::read_to_string("/proc/net/arp")
            .ok()
            .and_then(|table| {
                table.lines().skip(1).find_map(|line| {
                    let mut cols = line.split_whitespace();
                    let ip = cols.next()?;
                    let mac = cols.nth(2)?;
                    (ip == v4.to_string()).then(|| parse_mac(mac)).flatten()
                })
            }),
        _ => None,
    };
    (interface_mac, neighbour.unwrap_or([0xff; 6]))
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The longest of the first packets of the session: the FDT's, which carry the most header
/// extensions, and the first of each object's; later packets repeat their shapes. Measured on a
/// sender of its own, as the engine bounds its buffers by a worst case that no real header
/// reaches.
fn longest_packet(args: &SendCli, checked: &Checked) -> Result<usize> {
    let mut sender = build_sender_with(args, checked)?;
    let mut buf = vec![0u8; sender.max_packet_len()];
    let now = std::time::SystemTime::now();
    let mut longest = 0;
    for _ in 0..256 {
        match sender.write_next(&mut buf, now) {
            Some(len) => longest = longest.max(len),
            None => break,
        }
    }
    Ok(longest)
}

/// Bytes of the IP and UDP headers in front of each ALC packet.
fn ip_udp_header_len(dest: SocketAddr) -> usize {
    if dest.is_ipv4() { 28 } else { 48 }
}

/// Run `send` on the wire through the send engine until every object is sent (or the carousel
/// time is up, or `stop` is set).
pub fn run_live_with(
    args: &SendCli,
    checked: &Checked,
    stop: Arc<AtomicBool>,
    progress: Progress,
) -> Result<LiveReport> {
    use xflute::runtime::TxEngine;
    let mut macs = None;
    let backend = Backend::from(args.backend);
    let source = match (args.source, backend) {
        (Some(s), _) => s,
        (None, Backend::Udp) => match args.dest.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        },
        (None, Backend::Xdp) => {
            let iface = args
                .iface
                .as_deref()
                .ok_or_else(|| usage("--backend xdp needs --iface"))?;
            let addrs = crate::netif::addresses(iface)
                .map_err(|e| usage(format!("reading the addresses of {iface}: {e}")))?;
            if let Some(mac) = addrs.mac {
                macs = Some(xdp_macs(mac, args.dest.ip()));
            }
            addrs.source_for(args.dest.ip()).ok_or_else(|| {
                usage(format!(
                    "{iface} has no {} address to send from; give one with --source",
                    if args.dest.is_ipv4() { "IPv4" } else { "IPv6" }
                ))
            })?
        }
        (None, Backend::Pcap) => source_or_default(args),
    };
    if source.is_ipv4() != args.dest.is_ipv4() {
        bail!(usage(format!(
            "--source {source} and --dest {} are not of the same IP version",
            args.dest
        )));
    }
    // A random first TOI is drawn once, so that the packets measured have the TOI width of
    // the packets sent.
    let args = &SendCli {
        toi_start: ToiStart::Value(args.toi_start.initial_value()?),
        ..args.clone()
    };
    let packet_len = longest_packet(args, checked)? + ip_udp_header_len(args.dest);
    let sender = build_sender_with(args, checked)?;
    let mtu = args.iface.as_deref().and_then(crate::netif::mtu);
    if let Some(mtu) = mtu
        && packet_len > mtu
    {
        bail!(usage(format!(
            "packets of {packet_len} bytes (IP and UDP headers included) do not fit the {mtu}-byte MTU of {}; lower --symbol-len to {} or less",
            args.iface.as_deref().unwrap_or_default(),
            usize::from(args.symbol_len).saturating_sub(packet_len - mtu)
        )));
    }
    if packet_len > 65_535 {
        bail!(usage(format!(
            "packets of {packet_len} bytes do not fit a UDP datagram; lower --symbol-len"
        )));
    }
    let mut builder = TxEngine::builder()
        .backend(backend)
        .queues(args.queues)
        .cores(args.cores.clone())
        .rate_bps(args.rate_bps)
        .run_for(args.carousel)
        .gso(!args.no_gso)
        .session(sender, source);
    if let Some(bootstrap) = crate::bootstrap::send_session(args)? {
        builder = builder.session(bootstrap, source);
    }
    if let Some(iface) = &args.iface {
        builder = builder.interface(iface.clone());
    }
    if let Some((src, dst)) = macs {
        builder = builder.macs(src, dst);
    }
    let start = Instant::now();
    let engine = builder.start(Arc::clone(&stop)).map_err(usage)?;
    crate::release_free_memory();
    let bar = (progress == Progress::Bar && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
    let mut last_stats = Instant::now();
    while !engine.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
        let t = engine.stats().total();
        let elapsed = start.elapsed();
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "{} packets, {} of ALC payload, {}{}",
                t.packets,
                units::bytes(t.alc_bytes),
                units::rate_over(t.bytes, elapsed).map_or_else(String::new, units::rate),
                args.carousel.map_or_else(String::new, |c| format!(
                    "; carousel {:.0} s of {:.0} s",
                    elapsed.as_secs_f64(),
                    c.as_secs_f64()
                ))
            ));
        }
        if progress == Progress::Json && last_stats.elapsed() >= STATS_INTERVAL {
            last_stats = Instant::now();
            println!("{}", tx_counters(Event::new("stats"), &t, elapsed).finish());
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let stats = engine.join()?;
    Ok(LiveReport {
        stats,
        elapsed: start.elapsed(),
        interrupted: stop.load(Ordering::SeqCst),
    })
}

/// The send engine's counters as fields of a JSON event.
fn tx_counters(event: Event, t: &xflute::runtime::TxCounters, elapsed: Duration) -> Event {
    event
        .int("packets", t.packets)
        .int("bytes", t.bytes)
        .int("alc_bytes", t.alc_bytes)
        .int("batches", t.batches)
        .int("ring_full", t.ring_full)
        .float("seconds", elapsed.as_secs_f64(), 3)
        .opt_float("wire_bps", units::rate_over(t.bytes, elapsed), 0)
}

/// `xflute send`.
pub fn main(args: SendCli) -> Result<Outcome> {
    let checked = args.check()?;
    let args = &args;
    if let Some(path) = &args.pcap_out {
        let packets = run_with(args, &checked)?;
        if args.json {
            println!(
                "{}",
                Event::new("summary")
                    .str("pcap", &path.display().to_string())
                    .int("packets", packets)
                    .bool("complete", true)
                    .finish()
            );
        } else {
            println!("{packets} packets written to {}", path.display());
        }
        return Ok(Outcome::Complete);
    }
    if args.backend == BackendArg::Pcap {
        bail!(usage("--backend pcap needs --pcap-out FILE"));
    }
    if args.backend == BackendArg::Xdp && args.iface.is_none() {
        bail!(usage("--backend xdp needs --iface"));
    }
    let stop = crate::stop_flag()?;
    let files = inputs(&args.files)?;
    let files_bytes: u64 = files
        .iter()
        .filter_map(|i| std::fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .sum();
    if args.json {
        println!(
            "{}",
            Event::new("start")
                .str("dest", &args.dest.to_string())
                .int("tsi", args.tsi)
                .int("files", files.len() as u64)
                .int("bytes", files_bytes)
                .finish()
        );
    }
    let progress = if args.json {
        Progress::Json
    } else {
        Progress::Bar
    };
    let report = run_live_with(args, &checked, stop, progress)?;
    let t = report.stats.total();
    if args.json {
        println!(
            "{}",
            tx_counters(Event::new("summary"), &t, report.elapsed)
                .bool("interrupted", report.interrupted)
                .bool("complete", !report.interrupted)
                .finish()
        );
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "sent {} file{} ({}) in {} packets, {} on the wire in {:.3} s{}; {} batches, {} ring-full waits{}",
            files.len(),
            if files.len() == 1 { "" } else { "s" },
            units::bytes(files_bytes),
            t.packets,
            units::bytes(t.bytes),
            report.elapsed.as_secs_f64(),
            units::rate_over(t.bytes, report.elapsed)
                .map_or_else(String::new, |r| format!(" = {}", units::rate(r))),
            t.batches,
            t.ring_full,
            if report.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        )?;
    }
    Ok(if report.interrupted {
        Outcome::Incomplete
    } else {
        Outcome::Complete
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_location_percent_encodes_what_a_uri_path_cannot_hold() {
        assert_eq!(
            content_location("a b%#.txt", false),
            "file:///a%20b%25%23.txt"
        );
        assert_eq!(content_location("seg-1.m4s", false), "file:///seg-1.m4s");
        assert_eq!(
            content_location("d/x:y?.txt", false),
            "file:///d/x:y%3F.txt"
        );
    }

    #[test]
    fn relative_content_locations_keep_the_tree_and_cannot_read_as_a_scheme() {
        assert_eq!(content_location("sub/c d.txt", true), "sub/c%20d.txt");
        assert_eq!(content_location("urn:x/y:z", true), "urn%3Ax/y:z");
    }

    #[test]
    fn a_directory_sends_every_file_below_it_by_its_relative_path() {
        let dir = xflute_tests::TempDir::new("send-inputs");
        let root = dir.path().join("site");
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::write(root.join("z.txt"), b"z").unwrap();
        std::fs::write(root.join("b/c/d.bin"), b"d").unwrap();
        std::fs::write(root.join("a.txt"), b"a").unwrap();
        let single = dir.path().join("one.txt");
        std::fs::write(&single, b"1").unwrap();
        let found = inputs(&[root.clone(), single.clone()]).unwrap();
        let names: Vec<_> = found.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["a.txt", "b/c/d.bin", "z.txt", "one.txt"]);
        assert_eq!(found[1].path, root.join("b/c/d.bin"));
        assert!(inputs(&[dir.path().join("missing")]).is_err());
    }

    #[test]
    fn content_type_follows_the_extension() {
        assert_eq!(content_type(Path::new("a.MPD")), "application/dash+xml");
        assert_eq!(content_type(Path::new("a")), "application/octet-stream");
    }
}
