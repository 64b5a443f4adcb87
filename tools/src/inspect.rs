//! `xflute inspect FILE.pcap`: one line per ALC packet, every FDT instance decoded (FEC-coded
//! ones too, with the engine's decoders), and a summary per object; `--summary` for the
//! summary alone, `--json` for events, `--tsi`/`--toi` to narrow it down.
//!
//! UDP GSO super-datagrams recorded on a sending host are split into their ALC packets
//! (`gso`); such a packet's line is numbered `#FRAME.SEGMENT`. A capture that ends inside a
//! record is shown up to its last whole frame, summary included, and the exit code is 1.

use anyhow::Result;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};
use xflute::cenc::Cenc;
use xflute::fdt::FdtInstance;
use xflute::io::frame::parse_udp;
use xflute::io::pcap::PcapReader;
use xflute::wire::{AlcPacket, ExtRepr, Oti};

use crate::events::{Event, json_str};
use crate::units::printable;
use crate::{Outcome, usage};
use xflute::receiver::{FdtAssembly, Limits};

/// Largest FDT the inspector reassembles.
const MAX_FDT_BYTES: usize = 16 * 1024 * 1024;

/// The options of `xflute inspect`.
#[derive(clap::Args, Debug)]
pub struct InspectCli {
    /// A pcap or pcapng file.
    file: PathBuf,
    /// Only the FDT instances and the per-object summary, no line per packet.
    #[arg(long)]
    summary: bool,
    /// One JSON event per line instead of text (see docs/cli-json.md).
    #[arg(long)]
    json: bool,
    /// Only packets of these TSIs (repeatable) [default: every TSI].
    #[arg(long)]
    tsi: Vec<u64>,
    /// Only packets of these TOIs (repeatable; 0 is the FDT) [default: every TOI]. FDT
    /// instances are still decoded, to name the objects.
    #[arg(long)]
    toi: Vec<u128>,
}

#[derive(Default)]
struct ObjectSummary {
    packets: u64,
    payload_bytes: u64,
    symbols: HashSet<(u32, u32)>,
    transfer_length: Option<u64>,
    first_ns: u64,
    last_ns: u64,
    closed: bool,
}

/// FDT instances reassembled at once, at most: a capture may hold any number of new instance
/// IDs, and each one being reassembled holds the symbols that came; beyond this the oldest is
/// given up (and said so).
const MAX_ASSEMBLING: usize = 64;

/// An FDT instance: being reassembled, or why it cannot be.
enum FdtState {
    Assembling(Box<FdtAssembly>),
    Done,
    Failed,
}

#[derive(Default)]
struct Counts {
    frames: u64,
    alc: u64,
    not_udp: u64,
    malformed: u64,
    gso_datagrams: u64,
}

struct Inspector<'a, W: Write> {
    out: &'a mut W,
    cli: &'a InspectCli,
    objects: BTreeMap<(u64, u128), ObjectSummary>,
    fdts: HashMap<(u64, u32), FdtState>,
    /// The instances being reassembled, oldest first.
    assembling: std::collections::VecDeque<(u64, u32)>,
    /// The receiver's bounds, for reassembling FDT instances.
    limits: Limits,
    /// Content-Location of each (TSI, TOI), from the FDT instances decoded.
    names: HashMap<(u64, u128), String>,
    counts: Counts,
    /// DVB-MABR gateway configurations being looked for, per destination.
    gateways: crate::bootstrap::GatewayWatch,
}

/// `xflute inspect`.
pub fn main(cli: InspectCli) -> Result<Outcome> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let outcome = run(&cli, &mut out)?;
    out.flush()?;
    Ok(outcome)
}

/// Prints the capture as `cli` asks to `out`.
pub fn run(cli: &InspectCli, out: &mut impl Write) -> Result<Outcome> {
    let path = &cli.file;
    let file =
        std::fs::File::open(path).map_err(|e| usage(format!("opening {}: {e}", path.display())))?;
    let mut reader = PcapReader::new(std::io::BufReader::new(file))
        .map_err(|e| usage(format!("{} is not a readable capture: {e}", path.display())))?;
    let mut insp = Inspector {
        out,
        cli,
        objects: BTreeMap::new(),
        fdts: HashMap::new(),
        assembling: std::collections::VecDeque::new(),
        limits: Limits {
            max_fdt_bytes: MAX_FDT_BYTES,
            ..Limits::default()
        },
        names: HashMap::new(),
        counts: Counts::default(),
        gateways: crate::bootstrap::GatewayWatch::default(),
    };
    let mut first_ts = None;
    let mut stopped = None;
    loop {
        let frame = match reader.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                stopped = Some(e.to_string());
                break;
            }
        };
        insp.counts.frames += 1;
        let t0 = *first_ts.get_or_insert(frame.timestamp_ns);
        let rel = frame.timestamp_ns.saturating_sub(t0);
        let Some(link) = frame.link else {
            insp.counts.not_udp += 1;
            continue;
        };
        let Ok(udp) = parse_udp(link, frame.data) else {
            insp.counts.not_udp += 1;
            continue;
        };
        let packets = crate::gso::split(udp.payload);
        if packets.len() > 1 {
            insp.counts.gso_datagrams += 1;
        }
        for (i, packet) in packets.iter().enumerate() {
            let number = if packets.len() > 1 {
                format!("{}.{}", insp.counts.frames, i + 1)
            } else {
                insp.counts.frames.to_string()
            };
            let at = Packet {
                number,
                timestamp_ns: frame.timestamp_ns,
                rel_ns: rel,
                source: udp.source,
                destination: udp.destination,
            };
            insp.packet(&at, packet)?;
        }
    }
    insp.finish(stopped.as_deref())?;
    if let Some(why) = stopped {
        insp.out.flush()?;
        eprintln!(
            "xflute: {}: {why}; shown up to its last whole frame",
            path.display()
        );
        return Ok(Outcome::IncompleteSaid);
    }
    Ok(Outcome::Complete)
}

/// Where a packet was in the capture.
struct Packet {
    number: String,
    timestamp_ns: u64,
    rel_ns: u64,
    source: std::net::SocketAddr,
    destination: std::net::SocketAddr,
}

impl Packet {
    fn time(&self) -> std::time::SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.timestamp_ns)
    }

    fn rel(&self) -> String {
        format!(
            "{}.{:06}",
            self.rel_ns / 1_000_000_000,
            (self.rel_ns % 1_000_000_000) / 1000
        )
    }
}

fn describe_oti(o: &Oti) -> String {
    format!(
        "FTI(id={},L={},E={},B={},N={})",
        u8::from(o.fec_encoding_id),
        o.transfer_length,
        o.encoding_symbol_length,
        o.maximum_source_block_length,
        o.max_number_of_encoding_symbols
    )
}

impl<W: Write> Inspector<'_, W> {
    fn wanted(&self, tsi: u64, toi: u128) -> bool {
        (self.cli.tsi.is_empty() || self.cli.tsi.contains(&tsi))
            && (self.cli.toi.is_empty() || self.cli.toi.contains(&toi))
    }

    fn line(&mut self, line: &str) -> Result<()> {
        writeln!(self.out, "{line}")?;
        Ok(())
    }

    fn packet(&mut self, at: &Packet, packet: &[u8]) -> Result<()> {
        let alc = match AlcPacket::parse(packet) {
            Ok(p) => p,
            Err(e) => {
                self.counts.malformed += 1;
                if self.cli.summary || !self.cli.tsi.is_empty() || !self.cli.toi.is_empty() {
                    return Ok(());
                }
                let line = if self.cli.json {
                    Event::at("malformed", at.time())
                        .str("frame", &at.number)
                        .str("source", &at.source.to_string())
                        .str("destination", &at.destination.to_string())
                        .str("error", &e.to_string())
                        .finish()
                } else {
                    format!(
                        "#{} t={} {} -> {} malformed ALC: {e}",
                        at.number,
                        at.rel(),
                        at.source,
                        at.destination
                    )
                };
                return self.line(&line);
            }
        };
        self.counts.alc += 1;
        let lct = alc.lct();
        let (tsi, toi) = (lct.tsi, lct.toi);
        let wanted = self.wanted(tsi, toi);
        if wanted && !self.cli.summary {
            self.packet_line(at, &alc)?;
        }
        if wanted {
            let summary = self.objects.entry((tsi, toi)).or_default();
            if summary.packets == 0 {
                summary.first_ns = at.rel_ns;
            }
            summary.packets += 1;
            summary.last_ns = at.rel_ns;
            summary.payload_bytes += alc.payload().len() as u64;
            summary.closed |= lct.close_object;
            if let Some(id) = alc.payload_id() {
                summary.symbols.insert((id.sbn, id.esi));
            }
            if let Some(oti) = alc.fti() {
                summary.transfer_length = Some(oti.transfer_length);
            }
        }
        if let Some(fdt) = alc.ext_fdt()
            && (self.cli.tsi.is_empty() || self.cli.tsi.contains(&tsi))
        {
            self.collect_fdt(&alc, fdt.fdt_instance_id)?;
        }
        if (self.cli.tsi.is_empty() || self.cli.tsi.contains(&tsi)) && self.show_fdts() {
            let lines = self.gateways.push(at.destination, packet, self.cli.json);
            for line in lines {
                self.line(&line)?;
            }
        }
        Ok(())
    }

    fn packet_line(&mut self, at: &Packet, alc: &AlcPacket<'_>) -> Result<()> {
        let lct = alc.lct();
        let exts: Vec<String> = alc
            .extension_reprs()
            .map(|e| match e {
                Ok(ExtRepr::Fdt(f)) => {
                    format!("FDT(v{},id={})", f.flute_version, f.fdt_instance_id)
                }
                Ok(ExtRepr::Fti(o)) => describe_oti(&o),
                Ok(ExtRepr::Cenc(c)) => format!(
                    "CENC({})",
                    Cenc::from_code(c.content_encoding).map_or("?", Cenc::as_str)
                ),
                Ok(ExtRepr::Time(_)) => "TIME".to_owned(),
                Ok(ExtRepr::Nop { .. }) => "NOP".to_owned(),
                Ok(ExtRepr::Auth { .. }) => "AUTH".to_owned(),
                Ok(ExtRepr::Unknown { het, .. }) => format!("HET{het}"),
                Err(e) => format!("bad extension: {e}"),
            })
            .collect();
        let id = alc.payload_id();
        if self.cli.json {
            let ext = format!(
                "[{}]",
                exts.iter()
                    .map(|e| json_str(e))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let line = Event::at("packet", at.time())
                .str("frame", &at.number)
                .str("source", &at.source.to_string())
                .str("destination", &at.destination.to_string())
                .int("tsi", lct.tsi)
                .int("toi", lct.toi)
                .int("codepoint", lct.codepoint)
                .opt_int("sbn", id.map(|i| i.sbn))
                .opt_int("esi", id.map(|i| i.esi))
                .opt_int(
                    "source_block_length",
                    id.and_then(|i| i.source_block_length),
                )
                .int("payload_len", alc.payload().len() as u64)
                .raw("extensions", &ext)
                .bool("close_object", lct.close_object)
                .bool("close_session", lct.close_session)
                .finish();
            return self.line(&line);
        }
        let mut line = format!(
            "#{} t={} {} -> {} tsi={} toi={} cp={}",
            at.number,
            at.rel(),
            at.source,
            at.destination,
            lct.tsi,
            lct.toi,
            lct.codepoint
        );
        if let Some(id) = id {
            let _ = write!(line, " sbn={} esi={}", id.sbn, id.esi);
            if let Some(k) = id.source_block_length {
                let _ = write!(line, " k={k}");
            }
        }
        let _ = write!(line, " len={}", alc.payload().len());
        if !exts.is_empty() {
            let _ = write!(line, " ext=[{}]", exts.join(","));
        }
        if lct.close_object {
            line.push_str(" B");
        }
        if lct.close_session {
            line.push_str(" A");
        }
        self.line(&line)
    }

    /// Whether FDT instances are shown (the TOI filter may leave TOI 0 out).
    fn show_fdts(&self) -> bool {
        self.cli.toi.is_empty() || self.cli.toi.contains(&0)
    }

    fn fdt_note(&mut self, tsi: u64, instance_id: u32, note: &str) -> Result<()> {
        if !self.show_fdts() {
            return Ok(());
        }
        if self.cli.json {
            let line = Event::new("fdt_error")
                .int("tsi", tsi)
                .int("instance", instance_id)
                .str("error", note)
                .finish();
            self.line(&line)
        } else {
            self.line(&format!(
                "   FDT instance {instance_id}: {}",
                printable(note)
            ))
        }
    }

    /// Adds an FDT packet's symbol to its instance; prints the instance once it is whole.
    fn collect_fdt(&mut self, alc: &AlcPacket<'_>, instance_id: u32) -> Result<()> {
        let tsi = alc.lct().tsi;
        let key = (tsi, instance_id);
        if let std::collections::hash_map::Entry::Vacant(slot) = self.fdts.entry(key) {
            let Some(oti) = alc.fti() else {
                return Ok(());
            };
            let cenc = alc
                .ext_cenc()
                .and_then(|c| Cenc::from_code(c.content_encoding))
                .unwrap_or(Cenc::Null);
            match FdtAssembly::new(&oti, cenc, &self.limits) {
                Ok(a) => {
                    slot.insert(FdtState::Assembling(Box::new(a)));
                    self.assembling.push_back(key);
                    if self.assembling.len() > MAX_ASSEMBLING
                        && let Some(oldest) = self.assembling.pop_front()
                    {
                        self.fdts.insert(oldest, FdtState::Failed);
                        self.fdt_note(
                            oldest.0,
                            oldest.1,
                            "given up: too many FDT instances reassembled at once",
                        )?;
                    }
                }
                Err(e) => {
                    slot.insert(FdtState::Failed);
                    return self.fdt_note(
                        tsi,
                        instance_id,
                        &format!("{} cannot be reassembled: {e}", describe_oti(&oti)),
                    );
                }
            }
        }
        let Some(FdtState::Assembling(fdt)) = self.fdts.get_mut(&key) else {
            return Ok(());
        };
        let Some(id) = alc.payload_id() else {
            return Ok(());
        };
        match fdt.push(id.sbn, id.esi, alc.payload()) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => {
                // One bad symbol does not spoil the instance; say it once.
                return self.fdt_note(tsi, instance_id, &format!("symbol dropped: {e}"));
            }
        }
        self.assembling.retain(|k| *k != key);
        let Some(FdtState::Assembling(fdt)) = self.fdts.insert(key, FdtState::Done) else {
            return Ok(());
        };
        match fdt.finish() {
            Ok((instance, _rejected)) => self.print_fdt(tsi, instance_id, &instance),
            Err(e) => self.fdt_note(tsi, instance_id, &format!("bad FDT: {e}")),
        }
    }

    fn print_fdt(&mut self, tsi: u64, instance_id: u32, instance: &FdtInstance) -> Result<()> {
        for f in &instance.files {
            self.names.insert((tsi, f.toi), f.content_location.clone());
        }
        if !self.show_fdts() {
            return Ok(());
        }
        let fec_id = |f: &xflute::fdt::File| f.fec_oti.or(&instance.fec_oti).fec_encoding_id;
        if self.cli.json {
            let files: Vec<String> = instance
                .files
                .iter()
                .map(|f| {
                    let opt_num = |v: Option<u64>| v.map_or("null".into(), |v| v.to_string());
                    let opt_str = |v: Option<&str>| v.map_or("null".into(), json_str);
                    format!(
                        "{{\"toi\":{},\"location\":{},\"content_length\":{},\"transfer_length\":{},\"content_type\":{},\"content_encoding\":{},\"content_md5\":{},\"fec_encoding_id\":{}}}",
                        f.toi,
                        json_str(&f.content_location),
                        opt_num(f.content_length),
                        opt_num(f.transfer_length),
                        opt_str(f.content_type.as_deref()),
                        opt_str(f.content_encoding.as_deref()),
                        opt_str(f.content_md5.as_deref()),
                        opt_num(fec_id(f).map(u64::from)),
                    )
                })
                .collect();
            let line = Event::new("fdt")
                .int("tsi", tsi)
                .int("instance", instance_id)
                .int("expires", instance.expires)
                .raw(
                    "complete",
                    instance
                        .complete
                        .map_or("null", |c| if c { "true" } else { "false" }),
                )
                .raw("files", &format!("[{}]", files.join(",")))
                .finish();
            return self.line(&line);
        }
        self.line(&format!(
            "   FDT instance {instance_id}: expires={} complete={:?} files={}",
            instance.expires,
            instance.complete,
            instance.files.len()
        ))?;
        for f in &instance.files {
            let line = format!(
                "     toi={} {} length={} transfer_length={} type={} encoding={} md5={} fec_id={}",
                f.toi,
                printable(&f.content_location),
                f.content_length.map_or("-".into(), |v| v.to_string()),
                f.transfer_length.map_or("-".into(), |v| v.to_string()),
                printable(f.content_type.as_deref().unwrap_or("-")),
                printable(f.content_encoding.as_deref().unwrap_or("-")),
                printable(f.content_md5.as_deref().unwrap_or("-")),
                fec_id(f).map_or("-".into(), |v| v.to_string()),
            );
            self.line(&line)?;
        }
        Ok(())
    }

    fn finish(&mut self, stopped: Option<&str>) -> Result<()> {
        if let Some(why) = stopped
            && !self.cli.json
        {
            self.line(&format!("capture stopped: {}", printable(why)))?;
        }
        if !self.cli.json {
            self.line("\n== objects")?;
        }
        let objects = std::mem::take(&mut self.objects);
        for ((tsi, toi), s) in &objects {
            let name = self.names.get(&(*tsi, *toi)).cloned();
            let line = if self.cli.json {
                Event::new("object")
                    .int("tsi", *tsi)
                    .int("toi", *toi)
                    .opt_str("location", name.as_deref())
                    .int("packets", s.packets)
                    .int("symbols", s.symbols.len() as u64)
                    .int("payload_bytes", s.payload_bytes)
                    .opt_int("transfer_length", s.transfer_length)
                    .int("first_us", s.first_ns / 1000)
                    .int("last_us", s.last_ns / 1000)
                    .bool("closed", s.closed)
                    .finish()
            } else {
                format!(
                    "tsi={tsi} toi={toi} packets={} symbols={} payload_bytes={} transfer_length={} first={}us last={}us{}{}",
                    s.packets,
                    s.symbols.len(),
                    s.payload_bytes,
                    s.transfer_length.map_or("?".into(), |l| l.to_string()),
                    s.first_ns / 1000,
                    s.last_ns / 1000,
                    if s.closed { " closed" } else { "" },
                    name.map_or_else(String::new, |n| format!(" {}", printable(&n)))
                )
            };
            self.line(&line)?;
        }
        let incomplete = self
            .fdts
            .values()
            .filter(|f| !matches!(f, FdtState::Done))
            .count();
        let c = &self.counts;
        let line = if self.cli.json {
            Event::new("summary")
                .int("frames", c.frames)
                .int("alc_packets", c.alc)
                .int("not_udp", c.not_udp)
                .int("malformed", c.malformed)
                .int("gso_datagrams", c.gso_datagrams)
                .int("fdt_instances", self.fdts.len() as u64)
                .int("fdt_incomplete", incomplete as u64)
                .opt_str("stopped", stopped)
                .finish()
        } else {
            format!(
                "\n== {} frames, {} ALC packets{}, {} not UDP or not readable, {} malformed ALC, {} FDT instances ({} incomplete)",
                c.frames,
                c.alc,
                if c.gso_datagrams > 0 {
                    format!(" (from {} GSO datagrams split)", c.gso_datagrams)
                } else {
                    String::new()
                },
                c.not_udp,
                c.malformed,
                self.fdts.len(),
                incomplete
            )
        };
        self.line(&line)
    }
}
