//! `xflute recv --out DIR`: receive FLUTE objects into files, from the wire through the receive
//! engine (AF_XDP or UDP sockets) or from a capture with `--pcap FILE`.
//!
//! A capture is replayed at its own pace of time (each frame's timestamp is the receiver's
//! `now`), so timeouts and FDT expiry behave as they did on the wire; UDP GSO super-datagrams
//! recorded on a sending host are split back into their ALC packets (`gso`).
//!
//! What happens to each object is one line of text, or with `--json` one event per line
//! (docs/cli-json.md); the run ends with a summary.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use xflute::endpoint::UdpEndpoint;
use xflute::io::file_sink::FileSink;
use xflute::io::frame::parse_udp;
use xflute::io::pcap::{PcapError, PcapReader};
use xflute::receiver::{Config, DropReason, MultiReceiver, ObjectEvent, ObjectMetadata};
use xflute::runtime::{Backend, ChannelSpec};

use crate::events::Event;
use crate::repair::{
    Announced, AnnouncedBases, Described, Objects, RepairOptions, RepairStats, Repairer,
};
use crate::send::BackendArg;
use crate::{Outcome, units, usage};

/// The options of `xflute recv`.
#[derive(clap::Args, Clone, Debug)]
pub struct RecvCli {
    /// The output directory (created if missing; removed again if this run created it and
    /// fails before writing anything into it).
    #[arg(long)]
    pub out: PathBuf,
    /// The capture (pcap or pcapng) to receive from, instead of the wire.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// The group (or unicast address) and port to receive [required on the wire; with --pcap:
    /// every UDP flow of the capture].
    #[arg(long)]
    pub group: Option<SocketAddr>,
    /// Take the group, port, source and TSI from this session description (SDP with the
    /// FLUTE attributes of 3GPP TS 26.346 §7.3, as `serve` gives at /sessions/NAME.sdp);
    /// --source and --tsi, when given, win over it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["group", "pcap"])]
    pub sdp: Option<PathBuf>,
    /// Find the sessions in the DVB-MABR multicast gateway configuration (ETSI TS 103 769)
    /// sent on this bootstrap group and port, as GPAC's mabr:// sender and `send --bootstrap`
    /// do, and receive every FLUTE session it lists, the bootstrap session included. Waits
    /// for it up to --timeout (default 30 s); --source applies to the bootstrap session.
    #[arg(long, value_name = "ADDR:PORT", conflicts_with_all = ["group", "sdp", "pcap", "tsi"])]
    pub bootstrap: Option<SocketAddr>,
    /// Only from this source (source-specific multicast) [default: any source].
    #[arg(long)]
    pub source: Option<IpAddr>,
    /// Interface to receive on [required by xdp; udp: by default the routing table's].
    #[arg(long)]
    pub iface: Option<String>,
    /// I/O backend on the wire: xdp (AF_XDP, root) or udp (sockets); --pcap implies pcap.
    #[arg(long, value_enum, default_value = "xdp")]
    pub backend: BackendArg,
    /// Rx queues (AF_XDP): one socket and pinned worker each.
    #[arg(long, default_value_t = 1)]
    pub queues: u32,
    /// Cores to pin the workers to, comma separated [default: not pinned].
    #[arg(long, value_delimiter = ',')]
    pub cores: Vec<usize>,
    /// Only these TSIs (repeatable) [default: every TSI].
    #[arg(long)]
    pub tsi: Vec<u64>,
    /// Stop once this many objects are complete; exit 1 if fewer complete [default: run until
    /// --timeout or a signal].
    #[arg(long)]
    pub count: Option<u64>,
    /// Stop after this long (30s, 500ms, 2m) [default: no limit].
    #[arg(long, value_parser = units::parse_duration)]
    pub timeout: Option<Duration>,
    /// Stop once every session that started has ended (its sender's Close Session flag, or
    /// its timeout) and nothing is left in flight [default: keep listening].
    #[arg(long)]
    pub until_closed: bool,
    /// One JSON event per line on stdout instead of text (see docs/cli-json.md).
    #[arg(long)]
    pub json: bool,
    /// Reserve this much output space before receiving, and again in the background, between
    /// transfers, after a large object took it; k, M, G are powers of 1024 (512M, 2G): an
    /// object over 4 MiB that fits is written into space already allocated, so the receive
    /// worker never waits for the file system [default: none].
    #[arg(long, value_parser = units::parse_size)]
    pub spool: Option<u64>,
    /// How long a receive worker keeps polling after the last packet before it sleeps
    /// (0 sleeps as soon as nothing is queued).
    #[arg(long, value_parser = units::parse_duration, default_value = "200us")]
    pub busy_poll: Duration,
    /// Drop this fraction of the channel's frames in the XDP program (tests, demos).
    #[arg(long, default_value_t = 0.0, hide = true)]
    pub inject_loss: f64,
    #[command(flatten)]
    pub auth: RecvAuthCli,
    #[command(flatten)]
    pub repair: RecvRepairCli,
}

impl RecvCli {
    /// How to repair, `None` without a repair server; --bootstrap implies --repair-announced.
    fn repair_options(&self) -> Option<RepairOptions> {
        self.repair.options(self.bootstrap.is_some())
    }
}

/// `recv --auth-*`: the keys packets must be authenticated with (RFC 6584).
#[derive(clap::Args, Clone, Debug)]
pub struct RecvAuthCli {
    /// Take only packets authenticated with this group key (RFC 6584 group MAC, HMAC-SHA-256;
    /// the file holds the key in hex, or its raw bytes); every other packet is dropped and
    /// counted (auth_missing, auth_failed, auth_replayed). With --auth-verify-key too, both
    /// (as `send` with both keys).
    #[arg(long, value_name = "FILE")]
    pub auth_hmac_key: Option<PathBuf>,
    /// Take only packets signed with the private key of this RSA public key (RFC 6584
    /// RSASSA-PSS, SHA-256; SPKI PEM). Anti-replay is on: a sender run again with the same
    /// TSI is taken as a replay by a receiver that saw the first run; give each run its own
    /// --tsi.
    #[arg(long, value_name = "FILE")]
    pub auth_verify_key: Option<PathBuf>,
    /// The ASID of the packets' EXT_AUTH (0 to 15), as the sender puts it.
    #[arg(long, default_value_t = xflute::auth::DEFAULT_ASID, value_name = "N")]
    pub auth_asid: u8,
}

/// `recv --repair-*`: where and how to repair what the network did not complete.
#[derive(clap::Args, Clone, Debug)]
pub struct RecvRepairCli {
    /// Repair server (3GPP TS 26.346 §9.3 file repair; repeatable, tried in turn): an object
    /// that cannot complete from the network (its session closed or timed out, the run
    /// stopped) gets what it misses with HTTP Range requests, its Content-Location resolved
    /// against this base URL (http:// only), and only what its FEC cannot recover; it takes
    /// its final name once complete and verified. Wins over the servers announced
    /// (--repair-announced, --bootstrap). See docs/repair.md.
    #[arg(long = "repair-url", value_name = "URL")]
    pub repair_url: Vec<url::Url>,
    /// Without --repair-url, repair from the servers the sender announces (implied by
    /// --bootstrap): the serverURIs of the latest associated delivery procedure description
    /// received in the session (3GPP TS 26.346 §9.3: an object of type
    /// application/mbms-associated-procedure-description+xml, as `send --repair-base` and
    /// `serve` publish), whose offsetTime and randomTimePeriod replace --repair-offset and
    /// --repair-window when longer; with --bootstrap, then those of the gateway configuration.
    /// An object that ends before any server is announced waits 5 s for one, then fails (no
    /// repair server announced).
    #[arg(long)]
    pub repair_announced: bool,
    /// Objects repaired at once.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub repair_concurrency: usize,
    /// Attempts of a repair request after the first (then the object fails).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub repair_retries: u32,
    /// Most a repair connection, or a request and its answer, may take.
    #[arg(long, value_parser = units::parse_duration, default_value = "10s")]
    pub repair_timeout: Duration,
    /// Wait before an object's first repair request (TS 26.346 offset time).
    #[arg(long, value_parser = units::parse_duration, default_value = "0s")]
    pub repair_offset: Duration,
    /// A random wait within this window is added to --repair-offset (TS 26.346 random time
    /// period), so that many receivers do not ask at once.
    #[arg(long, value_parser = units::parse_duration, default_value = "0s")]
    pub repair_window: Duration,
}

impl RecvRepairCli {
    /// How to repair, `None` without a repair server. Without --repair-url, with
    /// --repair-announced or `announced_elsewhere` (--bootstrap), from the servers announced
    /// while receiving.
    pub fn options(&self, announced_elsewhere: bool) -> Option<RepairOptions> {
        if !self.repair_url.is_empty() {
            return Some(self.options_with(self.repair_url.clone()));
        }
        (self.repair_announced || announced_elsewhere).then(|| RepairOptions {
            announced: Some(AnnouncedBases::default()),
            ..self.options_with(Vec::new())
        })
    }

    /// The repair options with these repair servers.
    fn options_with(&self, bases: Vec<url::Url>) -> RepairOptions {
        RepairOptions {
            bases,
            concurrency: self.repair_concurrency,
            retries: self.repair_retries,
            timeout: self.repair_timeout,
            offset_time: self.repair_offset,
            random_window: self.repair_window,
            announced: None,
            object_base_uris: Vec::new(),
        }
    }
}

impl RecvAuthCli {
    /// What packets must be authenticated with, for the process's life; `None` without a key.
    /// A key that cannot be used is a usage error.
    pub fn verifier(&self) -> Result<Option<&'static xflute::auth::VerifierConfig>> {
        use xflute::auth::{GroupKey, VerifierConfig, VerifyingKey};
        let key_error = |flag: &str, e: xflute::auth::KeyError| usage(format!("{flag}: {e}"));
        let group = self
            .auth_hmac_key
            .as_deref()
            .map(GroupKey::load)
            .transpose()
            .map_err(|e| key_error("--auth-hmac-key", e))?;
        let verifying = self
            .auth_verify_key
            .as_deref()
            .map(VerifyingKey::load)
            .transpose()
            .map_err(|e| key_error("--auth-verify-key", e))?;
        let config = match (group, verifying) {
            (None, None) => return Ok(None),
            (Some(group), None) => VerifierConfig::group_mac(group),
            (None, Some(key)) => VerifierConfig::rsa_pss(key),
            // RFC 6584 §6.4: in the combined scheme the MAC is a 32-bit pre-check.
            (Some(group), Some(key)) => VerifierConfig::combined(
                key,
                group
                    .with_mac_bits(32)
                    .map_err(|e| key_error("--auth-hmac-key", e))?,
            ),
        };
        let config = config
            .with_asid(self.auth_asid)
            .map_err(|e| key_error("--auth-asid", e))?;
        Ok(Some(config.leak()))
    }
}

/// `xflute recv`.
pub fn main(args: RecvCli) -> Result<Outcome> {
    if std::fs::symlink_metadata(&args.out).is_ok_and(|m| !m.is_dir())
        && !std::fs::metadata(&args.out).is_ok_and(|m| m.is_dir())
    {
        bail!(usage(format!(
            "--out {}: not a directory",
            args.out.display()
        )));
    }
    let created = !args.out.exists();
    let result = run(&args);
    if created && !matches!(result, Ok(Outcome::Complete)) {
        // Only an empty directory is removed: anything received stays.
        let _ = std::fs::remove_dir(&args.out);
    }
    result
}

fn run(args: &RecvCli) -> Result<Outcome> {
    let auth = args.auth.verifier()?;
    let stdout = std::io::stdout();
    let mut lines = stdout.lock();
    if let Some(pcap) = &args.pcap {
        if args.backend == BackendArg::Udp {
            bail!(usage("--pcap reads a capture: leave out --backend udp"));
        }
        let derived = Derived {
            auth,
            repair: args.repair_options(),
            channels: Vec::new(),
            waited: Duration::ZERO,
        };
        return run_pcap(args, pcap, &derived, &mut lines);
    }
    if args.backend == BackendArg::Pcap {
        bail!(usage("--backend pcap needs --pcap FILE"));
    }
    let described = args
        .sdp
        .as_deref()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .map_err(|e| usage(format!("--sdp {}: {e}", path.display())))?;
            crate::serve::sdp::parse(&text)
                .map_err(|e| usage(format!("--sdp {}: {e:#}", path.display())))
        })
        .transpose()?;
    if args.backend == BackendArg::Xdp && args.iface.is_none() {
        bail!(usage("--backend xdp needs --iface"));
    }
    let stop = crate::stop_flag()?;
    let started = Instant::now();
    let mut repair = args.repair_options();
    let channels = match args.bootstrap {
        Some(bootstrap) => {
            let wait = args.timeout.unwrap_or(crate::bootstrap::DEFAULT_WAIT);
            let iface = args.iface.as_deref();
            let config = crate::bootstrap::fetch(bootstrap, args.source, iface, wait, &stop)?;
            let channels = crate::bootstrap::channels(&config);
            if channels.is_empty() {
                bail!("the gateway configuration on {bootstrap} lists no FLUTE session");
            }
            let line = crate::bootstrap::joined_line(bootstrap, &channels, args.json);
            writeln!(lines, "{line}")?;
            // An explicit --repair-url wins over the servers the configuration announces,
            // which are tried after those a session's own description names.
            if let Some(options) = &mut repair
                && let Some(announced) = &options.announced
                && let Some(from) = crate::bootstrap::announced_repair_options(&config, options)
            {
                let bases: Vec<&str> = from.bases.iter().map(url::Url::as_str).collect();
                tracing::info!("repairing from the announced {}", bases.join(", "));
                announced.set(Announced {
                    bases: from.bases,
                    object_base_uris: from.object_base_uris,
                });
                options.offset_time = from.offset_time;
                options.random_window = from.random_window;
            }
            channels
        }
        None => group_channels(args, described.as_ref())?,
    };
    let derived = Derived {
        auth,
        repair,
        channels,
        // Waiting for the gateway configuration took part of --timeout.
        waited: started.elapsed(),
    };
    let report = run_live(args, &derived, stop, || {}, &mut lines)?;
    writeln!(lines, "{}", summary(&report, args.json))?;
    Ok(if report.all_complete(args.count) {
        Outcome::Complete
    } else {
        Outcome::Incomplete
    })
}

/// Without --bootstrap, the one channel to receive on the wire: --group (or the session
/// description's), from --source (or the description's), of the --tsi given (or the
/// description's).
fn group_channels(
    args: &RecvCli,
    described: Option<&crate::serve::sdp::SessionDescription>,
) -> Result<Vec<ChannelSpec>> {
    let group = args
        .group
        .or(described.map(|d| d.destination))
        .ok_or_else(|| {
            usage(
                "receiving from the wire needs --group ADDR:PORT, --sdp FILE or --bootstrap ADDR:PORT",
            )
        })?;
    let source = args.source.or(described.and_then(|d| d.source));
    let tsis = match (described, args.tsi.is_empty()) {
        (Some(d), true) => vec![d.tsi],
        _ => args.tsi.clone(),
    };
    Ok(vec![ChannelSpec {
        destination: group,
        source,
        tsis,
    }])
}

/// What `recv` derives from its options before it receives: values the flags only name or
/// that depend on what was found first.
pub struct Derived {
    /// Take only packets authenticated so (RFC 6584).
    pub auth: Option<&'static xflute::auth::VerifierConfig>,
    /// Repair what the network (or the capture) did not complete (3GPP TS 26.346 §9.3).
    pub repair: Option<RepairOptions>,
    /// On the wire, the channels to receive: of --group or --sdp, or those the gateway
    /// configuration lists.
    pub channels: Vec<ChannelSpec>,
    /// What waiting for the gateway configuration took of --timeout.
    pub waited: Duration,
}

impl Derived {
    /// A receive on the wire of `args`'s --group (no --sdp or --bootstrap).
    pub fn on_group(args: &RecvCli) -> Result<Self> {
        Ok(Self {
            auth: args.auth.verifier()?,
            repair: args.repair_options(),
            channels: group_channels(args, None)?,
            waited: Duration::ZERO,
        })
    }
}

/// Where one object stands.
#[derive(PartialEq, Eq, Clone, Copy)]
enum State {
    Receiving,
    Completed,
    Failed,
}

/// How an object is named in text output: its Content-Location, or its TOI; escaped.
fn label(meta_location: Option<&str>, toi: u128) -> String {
    meta_location.map_or_else(|| format!("toi {toi}"), units::printable)
}

/// Where the file sink puts an object below `out` (see `FileSink`): its safe relative path, or
/// a name made of its TSI and TOI.
pub(crate) fn local_path(out: &Path, tsi: u64, toi: u128, meta: &ObjectMetadata) -> PathBuf {
    match &meta.path {
        Some(path) => path
            .components()
            .iter()
            .fold(out.to_path_buf(), |p, c| p.join(c)),
        None => out.join(format!("tsi-{tsi}-toi-{toi}.bin")),
    }
}

/// The object events of a run, as text lines or JSON events, with what each object came to.
struct Reporter<'a, W: Write> {
    out: &'a mut W,
    dir: &'a Path,
    json: bool,
    bar: Option<indicatif::ProgressBar>,
    states: BTreeMap<(u64, u128), State>,
    /// Objects completed (each completion: new content under a TOI completes again).
    completed: u64,
    completed_bytes: u64,
    /// Where the repair servers an associated delivery procedure description announces go,
    /// when the run repairs from the servers announced.
    announced: Option<AnnouncedBases>,
}

impl<'a, W: Write> Reporter<'a, W> {
    fn new(out: &'a mut W, dir: &'a Path, json: bool) -> Self {
        Self {
            out,
            dir,
            json,
            bar: None,
            states: BTreeMap::new(),
            completed: 0,
            completed_bytes: 0,
            announced: None,
        }
    }

    /// An associated delivery procedure description completed at `path`: its servers and
    /// back-off replace what the last one announced, and a line (or `repair_announced` event)
    /// says so when they change. One that cannot be read is logged and changes nothing.
    fn described(&mut self, tsi: u64, toi: u128, path: &Path, time: SystemTime) -> Result<()> {
        let Some(announced) = self.announced.clone() else {
            return Ok(());
        };
        let Some(description) = crate::repair::read_description(path) else {
            return Ok(());
        };
        let now = Described::of(&description);
        if announced.described().as_ref() == Some(&now) {
            return Ok(());
        }
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs());
        let (offset, window) = (secs(now.offset_time), secs(now.random_window));
        let line = if self.json {
            let servers: Vec<String> = now
                .bases
                .iter()
                .map(|u| crate::events::json_str(u.as_str()))
                .collect();
            Event::at("repair_announced", time)
                .int("tsi", tsi)
                .int("toi", toi)
                .raw("servers", &format!("[{}]", servers.join(",")))
                .opt_int("offset_time", offset)
                .opt_int("random_time_period", window)
                .finish()
        } else {
            let servers: Vec<String> = now
                .bases
                .iter()
                .map(|u| units::printable(u.as_str()))
                .collect();
            let number = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v} s"));
            format!(
                "repair servers announced in tsi={tsi}: {} (offsetTime {}, randomTimePeriod {})",
                if servers.is_empty() {
                    "none".to_owned()
                } else {
                    servers.join(", ")
                },
                number(offset),
                number(window)
            )
        };
        announced.set_described(now);
        if self.json {
            self.line(line)
        } else {
            self.text(&line)
        }
    }

    /// A line of text (above the progress bar when there is one).
    fn text(&mut self, line: &str) -> Result<()> {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => writeln!(self.out, "{line}")?,
        }
        Ok(())
    }

    fn line(&mut self, line: String) -> Result<()> {
        writeln!(self.out, "{line}")?;
        Ok(())
    }

    /// Something about the run itself (a truncated capture, stale files removed).
    fn note(&mut self, kind: &str, message: &str) -> Result<()> {
        if self.json {
            self.line(Event::new(kind).str("message", message).finish())
        } else {
            self.text(message)
        }
    }

    fn event(&mut self, event: ObjectEvent, time: SystemTime) -> Result<()> {
        let key = (event.session().tsi, event.toi());
        match event {
            ObjectEvent::Started { toi, meta, .. } => {
                // Also after a completion: new content under the TOI is incomplete until it
                // completes in turn (the receiver does not restart a carousel repeat).
                self.states.insert(key, State::Receiving);
                if self.json {
                    self.line(
                        Event::at("started", time)
                            .int("tsi", key.0)
                            .int("toi", toi)
                            .opt_str("location", meta.content_location.as_deref())
                            .int("transfer_length", meta.transfer_length)
                            .opt_int("content_length", meta.content_length)
                            .finish(),
                    )?;
                }
            }
            ObjectEvent::Completed { toi, meta, .. } => {
                self.states.insert(key, State::Completed);
                self.completed += 1;
                let bytes = meta.content_length.unwrap_or(meta.transfer_length);
                self.completed_bytes += bytes;
                let path = local_path(self.dir, key.0, toi, &meta);
                if self.json {
                    self.line(
                        Event::at("completed", time)
                            .int("tsi", key.0)
                            .int("toi", toi)
                            .opt_str("location", meta.content_location.as_deref())
                            .str("path", &path.to_string_lossy())
                            .int("bytes", bytes)
                            .opt_str("content_md5", meta.content_md5.as_deref())
                            .finish(),
                    )?;
                } else {
                    let name = label(meta.content_location.as_deref(), toi);
                    self.text(&format!(
                        "completed tsi={} toi={toi} {name} ({})",
                        key.0,
                        units::bytes(bytes)
                    ))?;
                }
                if xflute::adpd::is_associated_procedure_description(
                    meta.content_location.as_deref(),
                    meta.content_type.as_deref(),
                ) {
                    self.described(key.0, toi, &path, time)?;
                }
            }
            ObjectEvent::Failed {
                toi, meta, reason, ..
            } => {
                // A completed object that is later announced again and fails keeps its file.
                if self.states.get(&key) != Some(&State::Completed) {
                    self.states.insert(key, State::Failed);
                }
                let location = meta.as_ref().and_then(|m| m.content_location.as_deref());
                if self.json {
                    self.line(
                        Event::at("failed", time)
                            .int("tsi", key.0)
                            .int("toi", toi)
                            .opt_str("location", location)
                            .str("reason", &reason.to_string())
                            .finish(),
                    )?;
                } else {
                    let name = label(location, toi);
                    let reason = units::printable(&reason.to_string());
                    self.text(&format!("FAILED tsi={} toi={toi} {name}: {reason}", key.0))?;
                }
            }
            ObjectEvent::Progress { .. } => {}
        }
        Ok(())
    }

    fn incomplete(&self) -> u64 {
        self.states
            .values()
            .filter(|s| **s != State::Completed)
            .count() as u64
    }
}

/// Run `recv --pcap` on the capture `pcap`: complete when every object that started was
/// completed; a usage error when the file is not a capture.
pub fn run_pcap(
    args: &RecvCli,
    pcap: &Path,
    derived: &Derived,
    out: &mut impl Write,
) -> Result<Outcome> {
    let file =
        std::fs::File::open(pcap).map_err(|e| usage(format!("opening {}: {e}", pcap.display())))?;
    let mut reader = PcapReader::new(std::io::BufReader::new(file))
        .map_err(|e| usage(format!("{} is not a readable capture: {e}", pcap.display())))?;
    let config = Config {
        auth: derived.auth,
        ..Config::default()
    };
    let sink = FileSink::new(&args.out, config.limits.max_object_bytes)
        .map_err(|e| usage(format!("creating {}: {e}", args.out.display())))?;
    let mut report = Reporter::new(out, &args.out, args.json);
    report.announced = derived.repair.as_ref().and_then(|r| r.announced.clone());
    let stale = sink.remove_stale_parts()?;
    if stale > 0 {
        report.note(
            "stale_parts_removed",
            &format!("removed {stale} stale .part file(s) of an earlier run"),
        )?;
    }
    let mut receiver = MultiReceiver::new(sink, config);
    receiver.set_hand_over_incomplete(derived.repair.is_some());
    let mut now = UNIX_EPOCH;
    let mut last_cleanup = UNIX_EPOCH;
    let mut frames = 0u64;
    let mut truncated = false;
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            // A capture cut short (the capturing process killed) ends at its last whole frame.
            Err(PcapError::Truncated(what)) => {
                truncated = true;
                report.note(
                    "truncated",
                    &format!("capture truncated inside a {what}; stopping there"),
                )?;
                break;
            }
            Err(e) => return Err(e).context(format!("reading {}", pcap.display())),
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
        for packet in crate::gso::split(udp.payload) {
            if !args.tsi.is_empty() {
                // Cheap pre-filter by TSI without a full parse: the receiver's own filter would
                // also do, but it needs the endpoints ahead of time.
                match xflute::wire::parse_header(packet) {
                    Ok((lct, _)) if args.tsi.contains(&lct.tsi) => {}
                    _ => continue,
                }
            }
            // Malformed and unwanted packets are counted by the receiver; keep going.
            let _ = receiver.push(&endpoint, packet, now);
        }
        if now.duration_since(last_cleanup).unwrap_or_default() >= Duration::from_secs(1) {
            receiver.cleanup(now);
            last_cleanup = now;
        }
        drain(&mut receiver, &mut report, now)?;
    }
    // Objects the FDT announced of which not one packet arrived count as missing.
    let missing: Vec<(u64, u128, String)> = receiver
        .announced()
        .filter(|(session, toi, _)| !report.states.contains_key(&(session.tsi, *toi)))
        .map(|(session, toi, location)| (session.tsi, toi, location.to_owned()))
        .collect();
    for (tsi, toi, location) in missing {
        if report.json {
            report.line(
                Event::at("missing", now)
                    .int("tsi", tsi)
                    .int("toi", toi)
                    .str("location", &location)
                    .finish(),
            )?;
        } else {
            report.text(&format!(
                "MISSING tsi={tsi} toi={toi} {}: announced by the FDT, no packet received",
                units::printable(&location)
            ))?;
        }
        report.states.insert((tsi, toi), State::Failed);
    }
    // Let closes and timeouts that the capture's end leaves pending take effect, then stop.
    receiver.cleanup(now + Duration::from_secs(1));
    drain(&mut receiver, &mut report, now)?;
    receiver.close_all(now + Duration::from_secs(1));
    drain(&mut receiver, &mut report, now)?;
    let repair = match &derived.repair {
        Some(options) => {
            let mut objects = std::collections::VecDeque::new();
            while let Some(object) = receiver.take_incomplete() {
                objects.push_back(object);
            }
            let repairer = Repairer::spawn(options.clone(), Objects::List(objects))
                .map_err(|e| usage(e.to_string()))?;
            let (events, stats) = repairer.join();
            for event in events {
                report.event(event, now)?;
            }
            Some(stats)
        }
        None => None,
    };
    let stats = receiver.stats();
    let reasons: Vec<(&'static str, u64)> = stats
        .drops_by_reason()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| (r.name(), n))
        .collect();
    let objects = report.states.len() as u64;
    let incomplete = report.incomplete();
    let completed = objects - incomplete;
    if report.json {
        let summary = Event::new("summary")
            .int("frames", frames)
            .int("packets", stats.packets)
            .int("dropped", stats.total_drops())
            .raw(
                "drop_reasons",
                &format!(
                    "{{{}}}",
                    reasons
                        .iter()
                        .map(|(name, n)| format!("\"{name}\":{n}"))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            )
            .int("records_over_cap", reader.records_over_cap())
            .int("objects", objects)
            .int("completed", completed)
            .int("incomplete", incomplete)
            .int("bytes", report.completed_bytes)
            .bool("truncated", truncated)
            .opt_int(
                "auth_missing",
                derived.auth.map(|_| stats.drops(DropReason::AuthMissing)),
            )
            .opt_int(
                "auth_failed",
                derived.auth.map(|_| stats.drops(DropReason::AuthFailed)),
            )
            .opt_int(
                "auth_replayed",
                derived.auth.map(|_| stats.drops(DropReason::AuthReplayed)),
            );
        report.line(repair_fields(summary, repair.as_ref()).finish())?;
    } else {
        report.text(&format!(
            "{frames} frames, {} ALC packets, {} dropped, {} capture records over the size cap skipped; {completed} of {objects} objects completed ({})",
            stats.packets,
            stats.total_drops(),
            reader.records_over_cap(),
            units::bytes(report.completed_bytes)
        ))?;
        if !reasons.is_empty() {
            let by_reason: Vec<String> = reasons.iter().map(|(n, c)| format!("{n} {c}")).collect();
            report.text(&format!("dropped as {}", by_reason.join(", ")))?;
        }
        if derived.auth.is_some() {
            report.text(&format!(
                "refused {} unauthenticated, {} badly authenticated, {} replayed packets",
                stats.drops(DropReason::AuthMissing),
                stats.drops(DropReason::AuthFailed),
                stats.drops(DropReason::AuthReplayed)
            ))?;
        }
    }
    if objects == 0 {
        bail!("no FLUTE object in {}", pcap.display());
    }
    Ok(if incomplete == 0 {
        Outcome::Complete
    } else {
        Outcome::Incomplete
    })
}

fn drain<S: xflute::receiver::ObjectSink, W: Write>(
    receiver: &mut MultiReceiver<S>,
    report: &mut Reporter<'_, W>,
    now: SystemTime,
) -> Result<()> {
    while let Some(event) = receiver.poll_event() {
        report.event(event, now)?;
    }
    Ok(())
}

/// Whether sessions started and every one has ended (closed by its sender, timed out or
/// evicted); their unfinished objects have failed by then.
fn sessions_ended(stats: &xflute::runtime::RxStats) -> bool {
    let (opened, closed) = stats.workers.iter().fold((0, 0), |(o, c), w| {
        (
            o + w.receiver.sessions_opened,
            c + w.receiver.sessions_closed,
        )
    });
    opened > 0 && closed >= opened
}

/// What a live `recv` did.
pub struct LiveRecvReport {
    /// The backend it received with.
    pub backend: Backend,
    /// Objects completed and verified.
    pub completed: u64,
    /// Objects started and not completed.
    pub incomplete: u64,
    /// Bytes of completed objects.
    pub completed_bytes: u64,
    /// From the first packet to the last object completed.
    pub active: Duration,
    /// The engine's final counters.
    pub stats: xflute::runtime::RxStats,
    /// The XDP program's counters.
    pub steering: Option<xflute::io::xdp::SteerCounters>,
    /// Times the XDP program was detached by someone else and attached again.
    pub xdp_reattached: u64,
    /// What the spool did (`--spool`).
    pub spool: Option<xflute::io::spool::SpoolStats>,
    /// What preparing announced files ahead did.
    pub prepared: Option<xflute::io::file_sink::PrepareStats>,
    /// Packets had to be authenticated (RFC 6584): the summary counts what was refused.
    pub authenticated: bool,
    /// What the repairs did, with a repair server.
    pub repair: Option<RepairStats>,
}

impl LiveRecvReport {
    /// Whether every object that started was completed (and, with `--count`, enough did). A
    /// receiver that saw no object has nothing incomplete.
    pub fn all_complete(&self, count: Option<u64>) -> bool {
        self.incomplete == 0 && count.is_none_or(|c| self.completed >= c)
    }
}

/// What the repairs did, as fields of a JSON summary (none without a repair server).
fn repair_fields(event: Event, repair: Option<&RepairStats>) -> Event {
    let Some(r) = repair else {
        return event;
    };
    event
        .int("repaired", r.repaired)
        .int("repair_failed", r.failed)
        .int("repair_requests", r.requests)
        .int("repair_retries", r.retries)
        .int("repair_missing_bytes", r.missing_bytes)
        .int("repair_requested_bytes", r.requested_bytes)
        .int("repair_received_bytes", r.received_bytes)
        .int("repair_requested_symbols", r.requested_symbols)
        .float("repair_seconds", r.seconds, 3)
}

/// The receive engine's counters as fields of a JSON event.
fn rx_counters(event: Event, s: &xflute::runtime::RxStats) -> Event {
    event
        .int("frames", s.frames())
        .int("payload_bytes", s.payload_bytes())
        .int("drops", s.total_drops())
        .int("rx_ring_full", s.rx_ring_full())
        .int("duplicates", s.duplicates())
        .int("repair_symbols_used", s.repair_symbols_used())
        .int("blocks_decoded_elsewhere", s.blocks_decoded_elsewhere())
}

/// Runs the receive engine on `derived`'s channels until `--count` objects are complete,
/// `--timeout` passes, or `stop` is set (SIGINT/SIGTERM). Prints one line (or JSON event) per
/// object.
pub fn run_live(
    args: &RecvCli,
    derived: &Derived,
    stop: Arc<AtomicBool>,
    ready: impl FnOnce(),
    out: &mut impl Write,
) -> Result<LiveRecvReport> {
    use xflute::runtime::RxEngine;
    let backend = Backend::from(args.backend);
    let mut builder = RxEngine::builder(&args.out)
        .backend(backend)
        .queues(args.queues)
        .cores(args.cores.clone())
        .drop_probability(args.inject_loss)
        .spool(args.spool.unwrap_or(0))
        .busy_poll(args.busy_poll);
    if let Some(iface) = &args.iface {
        builder = builder.interface(iface.clone());
    }
    for channel in &derived.channels {
        builder = builder.channel(channel.clone());
    }
    builder = builder.hand_over_incomplete(derived.repair.is_some());
    if let Some(auth) = derived.auth {
        // The engine's own default, held packets capped at 8 MiB per worker, plus the keys.
        let mut config = Config {
            auth: Some(auth),
            ..Config::default()
        };
        config.limits.max_pending_bytes = 8 << 20;
        builder = builder.receiver_config(config);
    }
    let mut engine = builder
        .start(Arc::clone(&stop))
        .map_err(|e| usage(e.to_string()))?;
    let mut channels = derived.channels.clone();
    let repairer = match (&derived.repair, engine.incomplete()) {
        (Some(options), Some(objects)) => Some(
            Repairer::spawn(options.clone(), Objects::Engine(objects.clone()))
                .map_err(|e| usage(e.to_string()))?,
        ),
        _ => None,
    };
    crate::release_free_memory();
    ready();
    let mut report = Reporter::new(out, &args.out, args.json);
    report.announced = derived.repair.as_ref().and_then(|r| r.announced.clone());
    report.bar = (!args.json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let started = Instant::now();
    let deadline = args
        .timeout
        .map(|t| started + t.saturating_sub(derived.waited));
    let mut first_packet: Option<Instant> = None;
    let mut last_done: Option<Instant> = None;
    let mut last_draw = Instant::now();
    let mut last_stats = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst)
            || deadline.is_some_and(|d| Instant::now() >= d)
            || args.count.is_some_and(|c| report.completed >= c)
            || engine.is_finished()
            || (args.until_closed && sessions_ended(&engine.stats()))
        {
            break;
        }
        // Until the first packet, look often: rates count from it.
        let wait = if first_packet.is_none() { 10 } else { 50 };
        let event = engine.events().next_timeout(Duration::from_millis(wait));
        if first_packet.is_none() && engine.stats().frames() > 0 {
            first_packet = Some(Instant::now());
        }
        if let Ok(event) = event {
            // With --bootstrap, a gateway configuration received (new or changed) adds the
            // sessions it lists that are not received yet.
            if args.bootstrap.is_some()
                && let ObjectEvent::Completed { session, toi, meta } = &event
                && xflute::mabr::is_gateway_configuration(
                    meta.content_location.as_deref(),
                    meta.content_type.as_deref(),
                )
            {
                let path = local_path(&args.out, session.tsi, *toi, meta);
                for line in crate::bootstrap::follow(&mut engine, &mut channels, &path, args.json) {
                    report.text(&line)?;
                }
            }
            if matches!(event, ObjectEvent::Started { .. }) {
                first_packet.get_or_insert_with(Instant::now);
            }
            let done = matches!(event, ObjectEvent::Completed { .. });
            report.event(event, SystemTime::now())?;
            if done {
                last_done = Some(Instant::now());
            }
        }
        if let Some(repairer) = &repairer {
            for event in repairer.outcomes().try_iter() {
                if matches!(event, ObjectEvent::Completed { .. }) {
                    last_done = Some(Instant::now());
                }
                report.event(event, SystemTime::now())?;
            }
        }
        if report.bar.is_some() && last_draw.elapsed() >= Duration::from_millis(200) {
            if let Some(bar) = &report.bar {
                draw(bar, &engine.stats(), report.completed, first_packet);
            }
            last_draw = Instant::now();
        }
        if args.json && last_stats.elapsed() >= crate::send::STATS_INTERVAL {
            last_stats = Instant::now();
            let line = rx_counters(Event::new("stats"), &engine.stats())
                .int("completed", report.completed)
                .int("receiving", report.incomplete())
                .finish();
            report.line(line)?;
        }
    }
    if let Some(bar) = &report.bar {
        bar.finish_and_clear();
    }
    let steering = engine.steering_counters();
    let xdp_reattached = engine.xdp_reattached();
    let spool = engine.spool_stats();
    let prepared = engine.prepare_stats();
    let stats = engine.join()?;
    // The engine handed over what it still held when it stopped: those repairs end here.
    let repair = match repairer {
        Some(repairer) => {
            while !repairer.is_finished() {
                if let Ok(event) = repairer.outcomes().recv_timeout(Duration::from_millis(50)) {
                    if matches!(event, ObjectEvent::Completed { .. }) {
                        last_done = Some(Instant::now());
                    }
                    report.event(event, SystemTime::now())?;
                }
            }
            let (rest, repair) = repairer.join();
            for event in rest {
                if matches!(event, ObjectEvent::Completed { .. }) {
                    last_done = Some(Instant::now());
                }
                report.event(event, SystemTime::now())?;
            }
            Some(repair)
        }
        None => None,
    };
    let active = match (first_packet, last_done) {
        (Some(first), Some(done)) => done.saturating_duration_since(first),
        _ => Duration::ZERO,
    };
    Ok(LiveRecvReport {
        backend,
        completed: report.completed,
        incomplete: report.incomplete(),
        completed_bytes: report.completed_bytes,
        active,
        stats,
        steering,
        xdp_reattached,
        spool,
        prepared,
        authenticated: derived.auth.is_some(),
        repair,
    })
}

fn draw(
    bar: &indicatif::ProgressBar,
    stats: &xflute::runtime::RxStats,
    completed: u64,
    first: Option<Instant>,
) {
    let elapsed = first.map_or(Duration::ZERO, |t| t.elapsed());
    bar.set_message(format!(
        "{completed} objects complete, {} received{}, {} drops",
        units::bytes(stats.payload_bytes()),
        units::rate_over(stats.payload_bytes(), elapsed)
            .map_or_else(String::new, |r| format!(", {}", units::rate(r))),
        stats.total_drops()
    ));
}

/// One summary line (or JSON event) of a live receive. Rates are measured from the first
/// packet to the last object completed, and left out when that is too short to mean anything
/// (a late joiner that completes what it held at once).
/// Every reason a packet was dropped that happened, with its count: the receiver's reasons
/// by their names, then the kernel's (socket or ring full) and the frames that were not
/// well-formed UDP of a configured channel.
pub fn drop_reasons(s: &xflute::runtime::RxStats) -> Vec<(&'static str, u64)> {
    let mut out: Vec<(&'static str, u64)> = DropReason::ALL
        .into_iter()
        .map(|r| (r.name(), s.drops(r)))
        .collect();
    let sum = |f: fn(&xflute::runtime::RxCounters) -> u64| s.workers.iter().map(f).sum::<u64>();
    out.push(("kernel", sum(|w| w.kernel_dropped + w.rx_ring_full)));
    out.push(("frame_errors", sum(|w| w.frame_errors + w.records_over_cap)));
    out.push(("unknown_channel", sum(|w| w.unknown_channel)));
    out.retain(|(_, n)| *n > 0);
    out
}

pub fn summary(report: &LiveRecvReport, json: bool) -> String {
    let s = &report.stats;
    let reasons = drop_reasons(s);
    let goodput = units::rate_over(report.completed_bytes, report.active);
    let p = |q: f64| s.latency_us.as_ref().map_or(0, |h| h.value_at_quantile(q));
    let xdp = report.backend == Backend::Xdp;
    let steer = report.steering.unwrap_or_default();
    if json {
        let mut e = rx_counters(Event::new("summary"), s)
            .int("completed", report.completed)
            .int("incomplete", report.incomplete)
            .int("bytes", report.completed_bytes)
            .float("seconds", report.active.as_secs_f64(), 3)
            .opt_float("goodput_bps", goodput, 0)
            .opt_float("goodput_gbps", goodput.map(|g| g / 1e9), 3);
        if let Some(sp) = report.spool {
            e = e
                .int("spool_taken", sp.taken)
                .int("spool_missed", sp.missed)
                .int("spool_fill_failures", sp.fill_failures);
        }
        if let Some(pr) = report.prepared {
            e = e
                .int("files_prepared", pr.prepared)
                .int("files_prepared_taken", pr.claimed)
                .int("files_prepared_missed", pr.missed);
        }
        if xdp {
            e = e
                .int("xdp_redirected", steer.redirected)
                .int("xdp_dropped", steer.dropped)
                .int("xdp_reattached", report.xdp_reattached);
        }
        if report.authenticated {
            e = e
                .int("auth_missing", s.drops(DropReason::AuthMissing))
                .int("auth_failed", s.drops(DropReason::AuthFailed))
                .int("auth_replayed", s.drops(DropReason::AuthReplayed));
        }
        e = repair_fields(e, report.repair.as_ref());
        let by_reason: Vec<String> = reasons
            .iter()
            .map(|(name, n)| format!("\"{name}\":{n}"))
            .collect();
        return e
            .raw("drop_reasons", &format!("{{{}}}", by_reason.join(",")))
            .int("latency_p50_us", p(0.5))
            .int("latency_p99_us", p(0.99))
            .int("stall_p99_us", s.stalls().quantile_us(0.99))
            .int("stall_max_us", s.stalls().max_us())
            .int("sct_invalid", s.sct_invalid())
            .finish();
    }
    let mut line = format!(
        "{} objects complete, {} incomplete; {}",
        report.completed,
        report.incomplete,
        units::bytes(report.completed_bytes)
    );
    if let Some(g) = goodput {
        line.push_str(&format!(
            " in {:.3} s = {} goodput",
            report.active.as_secs_f64(),
            units::rate(g)
        ));
    }
    line.push_str(&format!(
        "; {} frames, {} dropped (rx ring full {}), {} repeated symbols",
        s.frames(),
        s.total_drops(),
        s.rx_ring_full(),
        s.duplicates()
    ));
    if xdp {
        line.push_str(&format!(
            "; XDP redirected {} injected-loss {} reattached {}",
            steer.redirected, steer.dropped, report.xdp_reattached
        ));
    }
    if report.authenticated {
        line.push_str(&format!(
            "; refused {} unauthenticated, {} badly authenticated, {} replayed",
            s.drops(DropReason::AuthMissing),
            s.drops(DropReason::AuthFailed),
            s.drops(DropReason::AuthReplayed)
        ));
    }
    if !reasons.is_empty() {
        let by_reason: Vec<String> = reasons.iter().map(|(n, c)| format!("{n} {c}")).collect();
        line.push_str(&format!("; dropped as {}", by_reason.join(", ")));
    }
    if report.completed > 0 {
        line.push_str(&format!("; latency p50 {} µs p99 {} µs", p(0.5), p(0.99)));
    }
    if let Some(sp) = report.spool {
        line.push_str(&format!(
            "; spool taken {} missed {} fill failures {}",
            sp.taken, sp.missed, sp.fill_failures
        ));
    }
    if let Some(pr) = report.prepared.filter(|p| p.asked > 0) {
        line.push_str(&format!(
            "; files prepared ahead {} (taken {}, late {})",
            pr.prepared, pr.claimed, pr.missed
        ));
    }
    if let Some(r) = &report.repair {
        line.push_str(&format!(
            "; repaired {} failed {}: {} requests, {} of {} missing asked for",
            r.repaired,
            r.failed,
            r.requests,
            units::bytes(r.requested_bytes),
            units::bytes(r.missing_bytes)
        ));
    }
    line
}
