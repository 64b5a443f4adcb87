//! `xflute inspect FILE.pcap`: one line per ALC packet, every FDT instance decoded, and a
//! summary per object.

use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write;
use xflute::cenc::{self, Cenc};
use xflute::fdt::{FdtInstance, ParseLimits};
use xflute::fec::BlockPartition;
use xflute::io::frame::parse_udp;
use xflute::io::pcap::PcapReader;
use xflute::wire::{AlcPacket, ExtRepr, FecEncodingId, Oti};

/// Largest FDT the inspector reassembles.
const MAX_FDT_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Default)]
struct ObjectSummary {
    packets: u64,
    payload_bytes: u64,
    symbols: std::collections::HashSet<(u32, u32)>,
    transfer_length: Option<u64>,
    first_ns: u64,
    last_ns: u64,
    closed: bool,
}

/// The bytes of one FDT instance being reassembled from no-code packets.
struct FdtAssembly {
    partition: BlockPartition,
    data: Vec<u8>,
    have: std::collections::HashSet<(u32, u32)>,
    received: u64,
    cenc: Cenc,
    done: bool,
}

#[derive(Default)]
struct Counts {
    frames: u64,
    alc: u64,
    not_udp: u64,
    malformed: u64,
}

/// Print the capture at `path` to `out`.
pub fn run(path: &std::path::Path, out: &mut impl Write) -> Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = PcapReader::new(std::io::BufReader::new(file))
        .with_context(|| format!("reading {}", path.display()))?;
    let mut objects: BTreeMap<(u64, u128), ObjectSummary> = BTreeMap::new();
    let mut fdts: HashMap<(u64, u32), FdtAssembly> = HashMap::new();
    let mut counts = Counts::default();
    let mut first_ts = None;
    while let Some(frame) = reader.next_frame()? {
        counts.frames += 1;
        let t0 = *first_ts.get_or_insert(frame.timestamp_ns);
        let rel = frame.timestamp_ns.saturating_sub(t0);
        let Some(link) = frame.link else {
            counts.not_udp += 1;
            continue;
        };
        let Ok(udp) = parse_udp(link, frame.data) else {
            counts.not_udp += 1;
            continue;
        };
        let alc = match AlcPacket::parse(udp.payload) {
            Ok(p) => p,
            Err(e) => {
                counts.malformed += 1;
                writeln!(
                    out,
                    "#{} t={}.{:06} {} -> {} malformed ALC: {e}",
                    counts.frames,
                    rel / 1_000_000_000,
                    (rel % 1_000_000_000) / 1000,
                    udp.source,
                    udp.destination
                )?;
                continue;
            }
        };
        counts.alc += 1;
        let lct = alc.lct();
        let mut line = format!(
            "#{} t={}.{:06} {} -> {} tsi={} toi={} cp={}",
            counts.frames,
            rel / 1_000_000_000,
            (rel % 1_000_000_000) / 1000,
            udp.source,
            udp.destination,
            lct.tsi,
            lct.toi,
            lct.codepoint
        );
        if let Some(id) = alc.payload_id() {
            let _ = write!(line, " sbn={} esi={}", id.sbn, id.esi);
            if let Some(k) = id.source_block_length {
                let _ = write!(line, " k={k}");
            }
        }
        let _ = write!(line, " len={}", alc.payload().len());
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
        if !exts.is_empty() {
            let _ = write!(line, " ext=[{}]", exts.join(","));
        }
        if lct.close_object {
            line.push_str(" B");
        }
        if lct.close_session {
            line.push_str(" A");
        }
        writeln!(out, "{line}")?;

        let summary = objects.entry((lct.tsi, lct.toi)).or_default();
        if summary.packets == 0 {
            summary.first_ns = rel;
        }
        summary.packets += 1;
        summary.last_ns = rel;
        summary.payload_bytes += alc.payload().len() as u64;
        summary.closed |= lct.close_object;
        if let Some(id) = alc.payload_id() {
            summary.symbols.insert((id.sbn, id.esi));
        }
        if let Some(oti) = alc.fti() {
            summary.transfer_length = Some(oti.transfer_length);
        }
        if let Some(fdt) = alc.ext_fdt() {
            collect_fdt(&mut fdts, &alc, fdt.fdt_instance_id, out)?;
        }
    }
    writeln!(out, "\n== objects")?;
    for ((tsi, toi), s) in &objects {
        writeln!(
            out,
            "tsi={tsi} toi={toi} packets={} symbols={} payload_bytes={} transfer_length={} first={}us last={}us{}",
            s.packets,
            s.symbols.len(),
            s.payload_bytes,
            s.transfer_length.map_or("?".into(), |l| l.to_string()),
            s.first_ns / 1000,
            s.last_ns / 1000,
            if s.closed { " closed" } else { "" }
        )?;
    }
    let incomplete = fdts.values().filter(|f| !f.done).count();
    writeln!(
        out,
        "\n== {} frames, {} ALC packets, {} not UDP or not readable, {} malformed ALC, {} FDT instances ({} incomplete)",
        counts.frames,
        counts.alc,
        counts.not_udp,
        counts.malformed,
        fdts.len(),
        incomplete
    )?;
    Ok(())
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

/// Add an FDT packet's symbol to its instance; print the instance once it is whole.
fn collect_fdt(
    fdts: &mut HashMap<(u64, u32), FdtAssembly>,
    alc: &AlcPacket<'_>,
    instance_id: u32,
    out: &mut impl Write,
) -> Result<()> {
    let key = (alc.lct().tsi, instance_id);
    let fdt = match fdts.entry(key) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            let Some(oti) = alc.fti() else {
                return Ok(());
            };
            if oti.fec_encoding_id != FecEncodingId::NoCode || oti.transfer_length > MAX_FDT_BYTES {
                writeln!(
                    out,
                    "   FDT instance {instance_id}: {} not reassembled by inspect",
                    describe_oti(&oti)
                )?;
                return Ok(());
            }
            let Ok(partition) = BlockPartition::rfc5052(
                oti.transfer_length,
                u32::from(oti.encoding_symbol_length),
                oti.maximum_source_block_length,
            ) else {
                return Ok(());
            };
            let cenc = alc
                .ext_cenc()
                .and_then(|c| Cenc::from_code(c.content_encoding))
                .unwrap_or(Cenc::Null);
            e.insert(FdtAssembly {
                partition,
                data: vec![0; oti.transfer_length as usize],
                have: Default::default(),
                received: 0,
                cenc,
                done: false,
            })
        }
    };
    let Some(id) = alc.payload_id() else {
        return Ok(());
    };
    if fdt.done || !fdt.have.insert((id.sbn, id.esi)) {
        return Ok(());
    }
    let (Some(offset), Some(len)) = (
        fdt.partition.symbol_offset_bytes(u64::from(id.sbn), id.esi),
        fdt.partition
            .source_symbol_len_bytes(u64::from(id.sbn), id.esi),
    ) else {
        return Ok(());
    };
    let (Some(dst), Some(src)) = (
        fdt.data
            .get_mut(offset as usize..offset as usize + len as usize),
        alc.payload().get(..len as usize),
    ) else {
        return Ok(());
    };
    dst.copy_from_slice(src);
    fdt.received += u64::from(len);
    if fdt.received < fdt.partition.transfer_length() {
        return Ok(());
    }
    fdt.done = true;
    let xml = match cenc::decode(fdt.cenc, &fdt.data, MAX_FDT_BYTES as usize) {
        Ok(x) => x,
        Err(e) => {
            writeln!(
                out,
                "   FDT instance {instance_id}: content decoding failed: {e}"
            )?;
            return Ok(());
        }
    };
    match FdtInstance::parse(&xml, &ParseLimits::default()) {
        Ok(instance) => {
            writeln!(
                out,
                "   FDT instance {instance_id}: expires={} complete={:?} files={}",
                instance.expires,
                instance.complete,
                instance.files.len()
            )?;
            for f in &instance.files {
                writeln!(
                    out,
                    "     toi={} {} length={} transfer_length={} type={} encoding={} md5={} fec_id={}",
                    f.toi,
                    f.content_location,
                    f.content_length.map_or("-".into(), |v| v.to_string()),
                    f.transfer_length.map_or("-".into(), |v| v.to_string()),
                    f.content_type.as_deref().unwrap_or("-"),
                    f.content_encoding.as_deref().unwrap_or("-"),
                    f.content_md5.as_deref().unwrap_or("-"),
                    f.fec_oti
                        .or(&instance.fec_oti)
                        .fec_encoding_id
                        .map_or("-".into(), |v| v.to_string()),
                )?;
            }
        }
        Err(e) => writeln!(out, "   FDT instance {instance_id}: bad FDT: {e}")?,
    }
    Ok(())
}
