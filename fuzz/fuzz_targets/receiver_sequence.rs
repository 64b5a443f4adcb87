//! The receiver fed sequences of packets built from valid LCT/ALC headers with hostile fields
//! (structure-aware, `arbitrary`-derived): random TSI/TOI/SBN/ESI on a few colliding values,
//! every FEC Encoding ID with hostile EXT_FTI values (symbol size 0, k = 0, k > n, huge transfer
//! lengths, Z = 0, N = 0, raw bytes that fail validation), FDT instances that conflict (same TOI
//! with other lengths, OTI, Content-Location, traversal names, content encodings), close flags,
//! random payload lengths, and a simulated clock with cleanup, polling and close-all.
//!
//! Invariants checked after every step: no panic; the bytes reserved, held and described stay
//! within the configured limits; sessions and objects stay within theirs; every refused push is
//! counted. At the end: an object delivered whose every packet carried one constant byte (and
//! for which no FEC decoding or content decoding could have been involved) holds only that byte;
//! delivered objects are within the object size limit; after `close_all` and `cleanup` nothing
//! is left reserved.
#![no_main]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use xflute::cenc::{self, Cenc};
use xflute::endpoint::UdpEndpoint;
use xflute::fdt::{FdtInstance, FdtXmlProfile, FecOtiAttributes, File, ntp};
use xflute::receiver::{Config, Limits, MemorySink, MultiReceiver, ObjectEvent};
use xflute::wire::{
    AlcRepr, ExtCenc, ExtFdt, ExtRepr, FecEncodingId, LctRepr, Oti, PayloadId, PayloadIdFormat,
    SchemeSpecific, TOI_MAX, TSI_MAX, het,
};

/// Start of the simulated clock (late 2025).
const START_UNIX_SECS: u64 = 1_760_000_000;

#[derive(Arbitrary, Debug)]
struct Input {
    limits: LimitsSel,
    receive_without_fdt: bool,
    receive_once: bool,
    check_md5: bool,
    fdt_expiry_check: bool,
    /// Every FEC block decoded out of `push`, as the runtime's decoding stage does; the jobs
    /// come back at the next `Poll` step (or at the end).
    defer_decodes: bool,
    steps: Vec<Step>,
}

/// Small limits, so that every cap is within reach of a short input.
#[derive(Arbitrary, Debug)]
struct LimitsSel {
    sessions: u8,
    objects: u8,
    unannounced: u8,
    object_kib: u16,
    receiving_kib: u16,
    memory_kib: u16,
    pending_kib: u16,
    blocks: u8,
    decode_cost: u16,
    fdt_kib: u8,
    fdt_files: u8,
    files_per_session: u8,
    description_kib: u8,
    completed: u8,
    fdt_receiving: u8,
    events: u8,
}

impl LimitsSel {
    fn limits(&self) -> Limits {
        Limits {
            max_sessions: usize::from(self.sessions % 8) + 1,
            max_objects_per_session: usize::from(self.objects % 16) + 1,
            max_unannounced_objects_per_session: usize::from(self.unannounced % 8) + 1,
            max_object_bytes: u64::from(self.object_kib % 1024 + 1) << 10,
            max_receiving_bytes: u64::from(self.receiving_kib % 4096 + 1) << 10,
            max_memory_bytes: u64::from(self.memory_kib % 2048 + 1) << 10,
            max_pending_bytes: usize::from(self.pending_kib % 256 + 1) << 10,
            max_concurrent_blocks: usize::from(self.blocks % 8) + 1,
            // From a budget no Reed-Solomon decode fits to one most do.
            max_decode_cost: (u64::from(self.decode_cost) + 1) << 8,
            max_fdt_bytes: usize::from(self.fdt_kib % 64 + 1) << 10,
            max_fdt_files: usize::from(self.fdt_files % 64) + 1,
            max_files_per_session: usize::from(self.files_per_session % 128) + 1,
            max_description_bytes: usize::from(self.description_kib % 64 + 1) << 10,
            max_completed_per_session: usize::from(self.completed % 64) + 1,
            max_fdt_instances_receiving: usize::from(self.fdt_receiving % 4) + 1,
            max_events: usize::from(self.events % 64) + 1,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Step {
    Data(DataPacket),
    Fdt(FdtPacket),
    /// Advance the clock by this many milliseconds (up to ~65 s).
    Advance(u16),
    /// Advance the clock by this many minutes (past object, session and FDT expiry).
    Jump(u8),
    Cleanup,
    Poll,
    CloseAll,
    /// Bytes that are not built from a valid header at all.
    Raw(Vec<u8>),
    /// A well-formed no-code session of one object filled with its constant byte: an FDT
    /// instance describing it, then its packets (a start the other steps can then spoil).
    Session(SessionSel),
}

#[derive(Arbitrary, Debug)]
struct SessionSel {
    header: Header,
    toi: u8,
    len: u16,
    symbol_len: SymbolLen,
    fdt_instance_id: u8,
    md5: bool,
    /// Packets last to first.
    reverse: bool,
    /// Leave out the FDT (for `receive_without_fdt`, or to be held until one comes).
    without_fdt: bool,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct Header {
    endpoint: bool,
    tsi: u8,
    close_session: bool,
    close_object: bool,
    psi: u8,
    cci: u32,
}

#[derive(Arbitrary, Debug)]
struct DataPacket {
    header: Header,
    toi: u8,
    id: IdSel,
    fti: Option<Fti>,
    cenc: Option<u8>,
    /// m for an ID 2 Payload ID when no EXT_FTI gives it.
    m: u8,
    sbn: Num,
    esi: Num,
    source_block_length: Num,
    len: PayloadLen,
    fill: Fill,
}

#[derive(Arbitrary, Debug)]
enum Fill {
    /// One byte derived from (TSI, TOI): what the end-of-input check recognises.
    Constant,
    Byte(u8),
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum PayloadLen {
    /// This many symbols of the symbol length last announced for the object.
    Symbols(u8),
    /// The object's last, short symbol (L mod E).
    Tail,
    Exact(u16),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum IdSel {
    NoCode,
    Raptor,
    RsGf2m,
    RsGf28,
    RaptorQ,
    RsUnderSpecified,
    /// An FEC Encoding ID nobody decodes.
    Other(u8),
}

impl IdSel {
    fn known(self) -> Option<FecEncodingId> {
        Some(match self {
            IdSel::NoCode => FecEncodingId::NoCode,
            IdSel::Raptor => FecEncodingId::Raptor,
            IdSel::RsGf2m => FecEncodingId::ReedSolomonGf2m,
            IdSel::RsGf28 => FecEncodingId::ReedSolomonGf28,
            IdSel::RaptorQ => FecEncodingId::RaptorQ,
            IdSel::RsUnderSpecified => FecEncodingId::ReedSolomonGf28UnderSpecified,
            IdSel::Other(_) => return None,
        })
    }

    fn codepoint(self) -> u8 {
        match self.known() {
            Some(id) => id.into(),
            None => match self {
                IdSel::Other(x) => x,
                _ => 0,
            },
        }
    }
}

/// A number biased to the interesting values: small ones, the edges of each field, anything.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Num {
    Small(u8),
    Max,
    Any(u32),
}

impl Num {
    fn get(self, max: u64) -> u64 {
        match self {
            Num::Small(x) => u64::from(x % 8).min(max),
            Num::Max => max,
            Num::Any(x) => u64::from(x) & max,
        }
    }
}

/// Transfer lengths: zero, small, around the limits, beyond every limit and field.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Length {
    Zero,
    Small(u16),
    Kib(u16),
    Huge(u8),
}

impl Length {
    fn get(self) -> u64 {
        match self {
            Length::Zero => 0,
            Length::Small(x) => u64::from(x % 4096),
            Length::Kib(x) => u64::from(x) << 10,
            Length::Huge(shift) => (1u64 << (20 + u32::from(shift % 28))) - 1,
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum SymbolLen {
    Zero,
    Small(u8),
    Typical,
    Any(u16),
}

impl SymbolLen {
    fn get(self) -> u16 {
        match self {
            SymbolLen::Zero => 0,
            SymbolLen::Small(x) => u16::from(x % 64),
            SymbolLen::Typical => 1024,
            SymbolLen::Any(x) => x,
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Fti {
    /// Built from fields (then validated by the emitter; refused ones are sent raw).
    Fields {
        id: IdSel,
        transfer_length: Length,
        symbol_len: SymbolLen,
        b: Num,
        max_n: Num,
        m: u8,
        g: u8,
        z: Num,
        n: Num,
        al: u8,
        instance_id: u16,
    },
    /// Raw EXT_FTI bytes after HET/HEL, of the scheme's length.
    Raw { id: IdSel, bytes: [u8; 14] },
}

impl Fti {
    fn oti(self) -> Result<Oti, (FecEncodingId, [u8; 14])> {
        match self {
            Fti::Fields {
                id,
                transfer_length,
                symbol_len,
                b,
                max_n,
                m,
                g,
                z,
                n,
                al,
                instance_id,
            } => {
                let id = id.known().unwrap_or(FecEncodingId::NoCode);
                let (b_max, n_max) = match id {
                    FecEncodingId::NoCode => (u64::from(u32::MAX), u64::from(u32::MAX)),
                    FecEncodingId::ReedSolomonGf28 => (0xFF, 0xFF),
                    _ => (0xFFFF, 0xFFFF),
                };
                let scheme_specific = match id {
                    FecEncodingId::ReedSolomonGf2m => SchemeSpecific::ReedSolomonGf2m { m, g },
                    FecEncodingId::Raptor => SchemeSpecific::Raptor {
                        z: z.get(0xFFFF) as u16,
                        n: n.get(0xFF) as u8,
                        al,
                    },
                    FecEncodingId::RaptorQ => SchemeSpecific::RaptorQ {
                        z: z.get(0xFF) as u8,
                        n: n.get(0xFFFF) as u16,
                        al,
                    },
                    _ => SchemeSpecific::None,
                };
                let b = b.get(b_max) as u32;
                let oti = Oti {
                    fec_encoding_id: id,
                    fec_instance_id: if id.is_under_specified() {
                        instance_id
                    } else {
                        0
                    },
                    transfer_length: transfer_length.get(),
                    encoding_symbol_length: symbol_len.get(),
                    maximum_source_block_length: b,
                    max_number_of_encoding_symbols: if id == FecEncodingId::NoCode {
                        b
                    } else {
                        max_n.get(n_max) as u32
                    },
                    scheme_specific,
                };
                // Raptor and RaptorQ do not carry B: what parsing derives is what the receiver
                // sees, so emit and re-parse to learn it.
                let mut buf = [0u8; 16];
                match oti.emit_ext_fti(&mut buf) {
                    Ok(len) => Oti::parse_ext_fti(id, &buf[..len]).map_err(|_| {
                        let mut raw = [0u8; 14];
                        raw.copy_from_slice(&buf[2..16]);
                        (id, raw)
                    }),
                    Err(_) => {
                        let mut raw = [0u8; 14];
                        raw[..6].copy_from_slice(&oti.transfer_length.to_be_bytes()[2..]);
                        raw[8..10].copy_from_slice(&oti.encoding_symbol_length.to_be_bytes());
                        raw[10..14].copy_from_slice(&b.to_be_bytes());
                        Err((id, raw))
                    }
                }
            }
            Fti::Raw { id, bytes } => Err((id.known().unwrap_or(FecEncodingId::NoCode), bytes)),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct FdtPacket {
    header: Header,
    instance_id: u32,
    flute_version: bool,
    /// Expires relative to the simulated clock, in seconds (negative: already expired).
    expires_in: i16,
    complete: Option<bool>,
    default_oti: Option<OtiAttrs>,
    default_encoding: Option<EncodingSel>,
    files: Vec<FileSel>,
    profile: bool,
    /// Content encoding of the FDT instance itself, announced by EXT_CENC.
    cenc: Option<u8>,
    /// The EXT_FTI's Transfer Length, relative to the instance's real length.
    length_skew: i8,
    symbol_len: SymbolLen,
    /// Which source symbols go out (bit i: symbol i mod 32); all when `None`.
    send_mask: Option<u32>,
    reverse: bool,
    /// A raw document in place of the generated one.
    raw_xml: Option<Vec<u8>>,
}

#[derive(Arbitrary, Debug)]
struct FileSel {
    toi: u8,
    location: LocationSel,
    content_length: Option<Length>,
    transfer_length: Option<Length>,
    encoding: Option<EncodingSel>,
    md5: Option<Md5Sel>,
    oti: Option<OtiAttrs>,
    content_type: Option<String>,
}

#[derive(Arbitrary, Debug)]
enum LocationSel {
    Plain(u8),
    Traversal(u8),
    Any(String),
}

const TRAVERSALS: [&str; 12] = [
    "../../x",
    "file:///../x",
    "%2e%2e/x",
    "http://host/a/%2E%2E/%2e%2e/x",
    "a/../../x",
    "/etc/x",
    "",
    ".",
    "a/./b/../../..",
    "C:\\x",
    "a\0b",
    "..%2fx",
];

impl LocationSel {
    fn get(&self) -> String {
        match self {
            LocationSel::Plain(x) => format!("file:///dir{}/f{}", x % 2, x % 8),
            LocationSel::Traversal(x) => TRAVERSALS[usize::from(*x) % TRAVERSALS.len()].to_owned(),
            LocationSel::Any(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum EncodingSel {
    Null,
    Zlib,
    Deflate,
    Gzip,
    Unknown,
}

impl EncodingSel {
    fn name(self) -> &'static str {
        match self {
            EncodingSel::Null => "null",
            EncodingSel::Zlib => "zlib",
            EncodingSel::Deflate => "deflate",
            EncodingSel::Gzip => "gzip",
            EncodingSel::Unknown => "br",
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Md5Sel {
    /// The MD5 of the constant fill of its declared length.
    OfConstant,
    Garbage(String),
}

#[derive(Arbitrary, Debug, Clone)]
struct OtiAttrs {
    id: Option<IdSel>,
    instance_id: Option<u16>,
    b: Option<Num>,
    symbol_len: Option<SymbolLen>,
    max_n: Option<Num>,
    scheme_specific: Option<Vec<u8>>,
}

impl OtiAttrs {
    fn get(&self) -> FecOtiAttributes {
        FecOtiAttributes {
            fec_encoding_id: self.id.map(IdSel::codepoint),
            fec_instance_id: self.instance_id.map(u64::from),
            maximum_source_block_length: self.b.map(|b| b.get(u64::MAX)),
            encoding_symbol_length: self.symbol_len.map(|e| u64::from(e.get())),
            max_number_of_encoding_symbols: self.max_n.map(|n| n.get(u64::MAX)),
            scheme_specific_info: self.scheme_specific.clone(),
        }
    }
}

fn tsi_of(sel: u8) -> u64 {
    match sel % 8 {
        6 => TSI_MAX,
        7 => 1 << 32,
        x => u64::from(x % 3),
    }
}

fn toi_of(sel: u8) -> u128 {
    match sel % 16 {
        14 => TOI_MAX,
        15 => 1 << 64,
        // TOI 0 is the FDT's: a data packet on it is hostile too.
        x => u128::from(x % 6),
    }
}

fn endpoint_of(second: bool) -> UdpEndpoint {
    UdpEndpoint::new(
        IpAddr::V4(Ipv4Addr::new(239, 1, 1, if second { 2 } else { 1 })),
        3400,
    )
}

/// The byte an untainted object of (TSI, TOI) is filled with.
fn constant(tsi: u64, toi: u128) -> u8 {
    (tsi as u8).wrapping_mul(31) ^ (toi as u8).wrapping_mul(17) ^ 0x5A
}

fn lct(h: Header, toi: u128, codepoint: u8) -> LctRepr {
    // with_min_widths only fails for TSI/TOI beyond their fields, which tsi_of/toi_of never give.
    let mut lct = LctRepr::with_min_widths(u128::from(h.cci), tsi_of(h.tsi), Some(toi), codepoint)
        .unwrap_or_else(|e| panic!("header widths: {e}"));
    lct.close_session = h.close_session;
    lct.close_object = h.close_object;
    lct.psi = h.psi & 0b11;
    lct
}

/// What the harness knows of an object: the last symbol length and transfer length announced,
/// and whether anything could make its delivered bytes differ from the constant fill.
#[derive(Default)]
struct Harness {
    symbol_len: std::collections::HashMap<(UdpEndpoint, u64, u128), (u16, u64)>,
    tainted: HashSet<(u64, u128)>,
    /// Most File entries the FDT instances sent could hold: each entry an accepted instance
    /// refuses (over the file or description budget) is counted as a drop of its own.
    file_entries: u64,
}

fn emit(repr: &AlcRepr<'_>, payload: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; repr.buffer_len() + payload.len()];
    let n = repr.emit(&mut out).ok()?;
    out.truncate(n);
    out.extend_from_slice(payload);
    Some(out)
}

fn data_packet(p: &DataPacket, harness: &mut Harness) -> Option<(UdpEndpoint, Vec<u8>)> {
    let ep = endpoint_of(p.header.endpoint);
    let tsi = tsi_of(p.header.tsi);
    let toi = toi_of(p.toi);
    let key = (ep, tsi, toi);
    let mut extensions = Vec::new();
    let raw_fti: [u8; 14];
    let mut oti = None;
    let mut codepoint = p.id.codepoint();
    match p.fti.map(Fti::oti) {
        Some(Ok(o)) => {
            codepoint = o.fec_encoding_id.into();
            harness
                .symbol_len
                .insert(key, (o.encoding_symbol_length, o.transfer_length));
            extensions.push(ExtRepr::Fti(o));
            oti = Some(o);
        }
        Some(Err((id, raw))) => {
            codepoint = id.into();
            raw_fti = raw;
            let len = id.ext_fti_len_bytes() - 2;
            extensions.push(ExtRepr::Unknown {
                het: het::EXT_FTI,
                body: &raw_fti[..len],
            });
        }
        None => {}
    }
    if let Some(code) = p.cenc {
        extensions.push(ExtRepr::Cenc(ExtCenc {
            content_encoding: code,
        }));
    }
    let format = match oti {
        Some(o) => PayloadIdFormat::for_oti(&o).ok(),
        None => match FecEncodingId::try_from(codepoint) {
            Ok(FecEncodingId::ReedSolomonGf2m) => {
                Some(PayloadIdFormat::ReedSolomonGf2m { m: (p.m % 15) + 2 })
            }
            Ok(id) => PayloadIdFormat::for_fec_encoding_id(id).ok(),
            Err(_) => Some(PayloadIdFormat::CompactNoCode),
        },
    };
    let (sbn_max, esi_max) = match format {
        Some(PayloadIdFormat::CompactNoCode | PayloadIdFormat::Raptor) => (0xFFFF, 0xFFFF),
        Some(PayloadIdFormat::ReedSolomonGf2m { m }) => {
            ((1u64 << (32 - u32::from(m))) - 1, (1u64 << m) - 1)
        }
        Some(PayloadIdFormat::ReedSolomonGf28) => (0xFF_FFFF, 0xFF),
        Some(PayloadIdFormat::RaptorQ) => (0xFF, 0xFF_FFFF),
        Some(PayloadIdFormat::SmallBlockSystematic) | None => (u64::from(u32::MAX), 0xFFFF),
    };
    let payload_id = format.map(|f| {
        (
            f,
            PayloadId {
                sbn: p.sbn.get(sbn_max) as u32,
                esi: p.esi.get(esi_max) as u32,
                source_block_length: (f == PayloadIdFormat::SmallBlockSystematic)
                    .then(|| p.source_block_length.get(0xFFFF) as u32),
            },
        )
    });
    let (e, l) = harness.symbol_len.get(&key).copied().unwrap_or((1024, 0));
    let len = match p.len {
        PayloadLen::Symbols(n) => usize::from(e) * usize::from(n % 4),
        PayloadLen::Tail => {
            if e == 0 {
                0
            } else {
                (l % u64::from(e)) as usize
            }
        }
        PayloadLen::Exact(n) => usize::from(n % 9000),
    };
    let payload = match &p.fill {
        Fill::Constant => vec![constant(tsi, toi); len],
        Fill::Byte(b) => {
            if *b != constant(tsi, toi) {
                harness.tainted.insert((tsi, toi));
            }
            vec![*b; len]
        }
        Fill::Bytes(bytes) => {
            harness.tainted.insert((tsi, toi));
            bytes.clone()
        }
    };
    // Repair symbols, sub-blocks and content encodings can all turn a constant fill into other
    // bytes legitimately; only compact no-code without EXT_CENC keeps the fill as sent.
    if codepoint != 0 || p.cenc.is_some() {
        harness.tainted.insert((tsi, toi));
    }
    let repr = AlcRepr {
        lct: lct(p.header, toi, codepoint),
        extensions: &extensions,
        payload_id,
    };
    Some((ep, emit(&repr, &payload)?))
}

fn fdt_packets(
    p: &FdtPacket,
    now_unix: u64,
    harness: &mut Harness,
) -> Option<(UdpEndpoint, Vec<Vec<u8>>)> {
    let ep = endpoint_of(p.header.endpoint);
    let tsi = tsi_of(p.header.tsi);
    let expires = ntp::ntp_secs_from_unix_secs(now_unix.saturating_add_signed(p.expires_in.into()));
    let mut instance = FdtInstance::new(expires);
    instance.complete = p.complete;
    instance.content_encoding = p.default_encoding.map(|e| e.name().to_owned());
    if let Some(attrs) = &p.default_oti {
        instance.fec_oti = attrs.get();
    }
    for f in p.files.iter().take(64) {
        let toi = toi_of(f.toi);
        let mut file = File::new(f.location.get(), toi);
        file.content_length = f.content_length.map(Length::get);
        file.transfer_length = f.transfer_length.map(Length::get);
        file.content_encoding = f.encoding.map(|e| e.name().to_owned());
        file.content_type = f.content_type.clone();
        if let Some(attrs) = &f.oti {
            file.fec_oti = attrs.get();
        }
        file.content_md5 = f.md5.as_ref().map(|m| match m {
            Md5Sel::OfConstant => {
                let len = file
                    .content_length
                    .or(file.transfer_length)
                    .unwrap_or(0)
                    .min(1 << 20) as usize;
                xflute::sender::content_md5(&vec![constant(tsi, toi); len])
            }
            Md5Sel::Garbage(s) => s.clone(),
        });
        let id = file
            .fec_oti
            .fec_encoding_id
            .or(instance.fec_oti.fec_encoding_id);
        if !matches!(id, None | Some(0)) || instance.cenc_for(&file) != Ok(Cenc::Null) {
            harness.tainted.insert((tsi, toi));
        }
        instance.files.push(file);
    }
    let profile = if p.profile {
        FdtXmlProfile::Ts26346L6
    } else {
        FdtXmlProfile::Extended
    };
    let mut xml = match &p.raw_xml {
        Some(raw) => raw.clone(),
        None => instance.to_xml(profile),
    };
    harness.file_entries += xml.windows(4).filter(|w| w == b"File").count() as u64;
    let mut extensions = vec![ExtRepr::Fdt(ExtFdt {
        flute_version: if p.flute_version { 2 } else { 1 },
        fdt_instance_id: p.instance_id & 0xF_FFFF,
    })];
    if let Some(code) = p.cenc {
        if let Some(c) = Cenc::from_code(code % 4) {
            xml = cenc::encode(c, &xml).ok()?;
        }
        extensions.push(ExtRepr::Cenc(ExtCenc {
            content_encoding: code,
        }));
    }
    let e = p.symbol_len.get().max(1);
    let transfer_length = (xml.len() as u64).saturating_add_signed(p.length_skew.into());
    let nb_symbols = xml.len().div_ceil(usize::from(e)).max(1);
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length,
        encoding_symbol_length: e,
        maximum_source_block_length: nb_symbols as u32,
        max_number_of_encoding_symbols: nb_symbols as u32,
        scheme_specific: SchemeSpecific::None,
    };
    extensions.push(ExtRepr::Fti(oti));
    let mut packets = Vec::new();
    for (esi, chunk) in xml.chunks(usize::from(e)).enumerate().take(4096) {
        if let Some(mask) = p.send_mask {
            if mask & (1 << (esi % 32)) == 0 {
                continue;
            }
        }
        let repr = AlcRepr {
            lct: lct(p.header, 0, 0),
            extensions: &extensions,
            payload_id: Some((
                PayloadIdFormat::CompactNoCode,
                PayloadId {
                    sbn: 0,
                    esi: esi as u32,
                    source_block_length: None,
                },
            )),
        };
        if let Some(packet) = emit(&repr, chunk) {
            packets.push(packet);
        }
    }
    if p.reverse {
        packets.reverse();
    }
    Some((ep, packets))
}

/// The packets of a well-formed session of one constant-filled no-code object.
fn session_packets(
    p: &SessionSel,
    now_unix: u64,
    harness: &mut Harness,
) -> (UdpEndpoint, Vec<Vec<u8>>) {
    let ep = endpoint_of(p.header.endpoint);
    let tsi = tsi_of(p.header.tsi);
    let toi = match toi_of(p.toi) {
        0 => 1,
        toi => toi,
    };
    let len = u64::from(p.len % 8192);
    let e = p.symbol_len.get().clamp(1, 1400);
    let k = len.div_ceil(u64::from(e)).max(1) as u32;
    let oti_for = |transfer_length: u64, k: u32| Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length,
        encoding_symbol_length: e,
        maximum_source_block_length: k,
        max_number_of_encoding_symbols: k,
        scheme_specific: SchemeSpecific::None,
    };
    let header = Header {
        close_session: false,
        close_object: false,
        ..p.header
    };
    let mut packets = Vec::new();
    let mut send = |toi: u128, oti: Oti, exts: &[ExtRepr<'_>], data: &[u8]| {
        let n = data.len().div_ceil(usize::from(e)).max(1);
        for esi in 0..n {
            let chunk = data
                .get(esi * usize::from(e)..)
                .map(|rest| &rest[..rest.len().min(usize::from(e))])
                .unwrap_or(&[]);
            let mut extensions = exts.to_vec();
            extensions.push(ExtRepr::Fti(oti));
            let repr = AlcRepr {
                lct: lct(header, toi, 0),
                extensions: &extensions,
                payload_id: Some((
                    PayloadIdFormat::CompactNoCode,
                    PayloadId {
                        sbn: 0,
                        esi: esi as u32,
                        source_block_length: None,
                    },
                )),
            };
            if let Some(packet) = emit(&repr, chunk) {
                packets.push(packet);
            }
        }
    };
    let data = vec![constant(tsi, toi); len as usize];
    if !p.without_fdt {
        let mut instance = FdtInstance::new(ntp::ntp_secs_from_unix_secs(now_unix + 3600));
        let mut file = File::new(format!("file:///session/{toi}"), toi);
        file.transfer_length = Some(len);
        file.content_length = Some(len);
        file.fec_oti = FecOtiAttributes {
            fec_encoding_id: Some(0),
            fec_instance_id: None,
            maximum_source_block_length: Some(u64::from(k)),
            encoding_symbol_length: Some(u64::from(e)),
            max_number_of_encoding_symbols: Some(u64::from(k)),
            scheme_specific_info: None,
        };
        if p.md5 {
            file.content_md5 = Some(xflute::sender::content_md5(&data));
        }
        instance.files.push(file);
        harness.file_entries += 1;
        let xml = instance.to_xml(FdtXmlProfile::Extended);
        let fdt_k = xml.len().div_ceil(usize::from(e)).max(1) as u32;
        let fdt = [ExtRepr::Fdt(ExtFdt {
            flute_version: 2,
            fdt_instance_id: u32::from(p.fdt_instance_id),
        })];
        send(0, oti_for(xml.len() as u64, fdt_k), &fdt, &xml);
    }
    send(toi, oti_for(len, k), &[], &data);
    if p.reverse {
        packets.reverse();
    }
    (ep, packets)
}

fn check_bounds(receiver: &MultiReceiver<MemorySink>, limits: &Limits) {
    assert!(receiver.receiving_bytes() <= limits.max_receiving_bytes);
    assert!(receiver.memory_bytes() <= limits.max_memory_bytes);
    assert!(receiver.held_bytes() <= limits.max_pending_bytes);
    assert!(receiver.description_bytes() <= limits.max_description_bytes);
    assert!(receiver.nb_sessions() <= limits.max_sessions);
    assert!(
        receiver.nb_objects()
            <= limits.max_sessions
                * (limits.max_objects_per_session + limits.max_unannounced_objects_per_session)
    );
}

/// Runs the decodes handed out and gives them back, and those their return hands out (blocks
/// that waited for room), a bounded number of rounds.
fn finish_jobs(
    receiver: &mut MultiReceiver<MemorySink>,
    jobs: &mut Vec<xflute::receiver::DecodeJob>,
    now: SystemTime,
) {
    for _ in 0..64 {
        jobs.extend(receiver.take_decode_jobs());
        if jobs.is_empty() {
            return;
        }
        for mut job in jobs.drain(..) {
            job.run();
            receiver.finish_decode(job, now);
        }
    }
}

fuzz_target!(|input: Input| {
    let limits = input.limits.limits();
    let config = Config {
        object_timeout: Some(Duration::from_secs(10)),
        session_timeout: Some(Duration::from_secs(300)),
        close_grace: Duration::from_millis(500),
        receive_once: input.receive_once,
        fdt_expiry_check: input.fdt_expiry_check,
        check_md5: input.check_md5,
        receive_without_fdt: input.receive_without_fdt,
        limits,
        auth: None,
        progress_every: Duration::ZERO,
        defer_decode_from_bytes: input.defer_decodes.then_some(1),
    };
    let mut receiver = MultiReceiver::new(MemorySink::new(limits.max_object_bytes), config);
    let mut harness = Harness::default();
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(START_UNIX_SECS);
    let mut now = start;
    let mut refused = 0u64;
    let mut completed_events = 0u64;
    let mut delivered = Vec::new();
    let mut jobs = Vec::new();
    for step in input.steps.iter().take(512) {
        let now_unix = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(START_UNIX_SECS);
        match step {
            Step::Data(p) => {
                if let Some((ep, packet)) = data_packet(p, &mut harness) {
                    refused += u64::from(receiver.push(&ep, &packet, now).is_err());
                }
            }
            Step::Fdt(p) => {
                if let Some((ep, packets)) = fdt_packets(p, now_unix, &mut harness) {
                    for packet in &packets {
                        refused += u64::from(receiver.push(&ep, packet, now).is_err());
                    }
                }
            }
            Step::Advance(ms) => now += Duration::from_millis(u64::from(*ms)),
            Step::Jump(minutes) => now += Duration::from_secs(60 * u64::from(*minutes)),
            Step::Cleanup => receiver.cleanup(now),
            Step::Poll => {
                finish_jobs(&mut receiver, &mut jobs, now);
                while let Some(event) = receiver.poll_event() {
                    completed_events += u64::from(matches!(event, ObjectEvent::Completed { .. }));
                }
            }
            Step::CloseAll => receiver.close_all(now),
            Step::Session(p) => {
                let (ep, packets) = session_packets(p, now_unix, &mut harness);
                for packet in &packets {
                    refused += u64::from(receiver.push(&ep, packet, now).is_err());
                }
            }
            Step::Raw(bytes) => {
                refused += u64::from(receiver.push(&endpoint_of(false), bytes, now).is_err());
            }
        }
        jobs.extend(receiver.take_decode_jobs());
        check_bounds(&receiver, &limits);
        let stats = receiver.stats();
        // Held packets refused when their FDT comes (or let go for newer ones), File entries an
        // accepted instance has no room for, and FDT instances given up for newer ones are
        // counted without a refused push.
        assert!(stats.total_drops() >= refused);
        assert!(
            stats.total_drops()
                <= refused
                    + stats.held
                    + harness.file_entries
                    + stats.drops(xflute::receiver::DropReason::FdtInstancesLimit)
        );
        delivered.extend(receiver.sink_mut().take_completed());
    }
    finish_jobs(&mut receiver, &mut jobs, now);
    receiver.close_all(now);
    receiver.cleanup(now + Duration::from_secs(24 * 3600));
    while let Some(event) = receiver.poll_event() {
        completed_events += u64::from(matches!(event, ObjectEvent::Completed { .. }));
    }
    delivered.extend(receiver.sink_mut().take_completed());
    assert_eq!(receiver.receiving_bytes(), 0);
    assert_eq!(receiver.memory_bytes(), 0);
    assert_eq!(receiver.held_bytes(), 0);
    assert_eq!(receiver.nb_objects(), 0);
    let stats = receiver.stats();
    assert!(completed_events <= stats.objects_completed);
    assert_eq!(delivered.len() as u64, stats.objects_completed);
    if std::env::var_os("XFLUTE_FUZZ_STATS").is_some() {
        // What a corpus exercises: `XFLUTE_FUZZ_STATS=1 receiver_sequence -runs=0 CORPUS`.
        let untainted = delivered
            .iter()
            .filter(|o| !harness.tainted.contains(&(o.desc.tsi, o.desc.toi)))
            .count();
        eprintln!(
            "xflute-stats delivered={} checked_constant={} fdt_instances={} drops={}",
            delivered.len(),
            untainted,
            stats.fdt_instances,
            stats.total_drops()
        );
    }
    for object in &delivered {
        assert!(object.data.len() as u64 <= limits.max_object_bytes);
        let (tsi, toi) = (object.desc.tsi, object.desc.toi);
        if !harness.tainted.contains(&(tsi, toi)) {
            let c = constant(tsi, toi);
            assert!(
                object.data.iter().all(|&b| b == c),
                "TSI {tsi} TOI {toi}: delivered bytes that were never sent"
            );
        }
    }
});
