//! Capture files: read classic pcap (micro- and nanosecond, either byte order) and pcapng
//! (Section Header, Interface Description, Enhanced and Simple Packet Blocks, any number of
//! sections and interfaces); write classic pcap.
//!
//! A capture is input like any other: every length is checked against a record-size cap before
//! anything is allocated, and a bad file is a typed [`PcapError`], never a panic.
//! The frames themselves are decoded by [`crate::io::frame`].

use super::frame::LinkType;
use std::io::{self, Read, Write};
use thiserror::Error;

/// Default cap on one record's captured length (a jumbo frame is 9 KiB; a GSO super-packet
/// captured on `lo` can reach 64 KiB).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 256 * 1024;

/// Why a capture cannot be read.
#[derive(Debug, Error)]
pub enum PcapError {
    /// An I/O error from the underlying reader or writer.
    #[error("capture I/O: {0}")]
    Io(#[from] io::Error),
    /// The file starts with neither a pcap magic nor a pcapng Section Header Block.
    #[error("not a pcap or pcapng file (magic {0:#010x})")]
    BadMagic(u32),
    /// The file ends inside a header or a record.
    #[error("capture truncated inside a {0}")]
    Truncated(&'static str),
    /// A record larger than the configured cap.
    #[error("capture record of {len} bytes exceeds the cap of {cap} bytes")]
    RecordTooLarge {
        /// The length the record claims.
        len: usize,
        /// The configured cap.
        cap: usize,
    },
    /// A pcapng block whose length is not a multiple of 4 or too short for its type.
    #[error("bad pcapng block length {0}")]
    BadBlockLength(u32),
    /// A pcapng packet that names an interface that was not described.
    #[error("pcapng packet on undescribed interface {0}")]
    UnknownInterface(u32),
}

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub struct CapturedFrame<'a> {
    /// Capture time in nanoseconds since the Unix epoch (as the file records it).
    pub timestamp_ns: u64,
    /// The link type of the interface it was captured on, or `None` when xflute does not read
    /// that link type (the caller counts and skips it).
    pub link: Option<LinkType>,
    /// The captured bytes.
    pub data: &'a [u8],
}

/// A packet decoded from the block in the buffer: timestamp (ns), link type, bytes' range.
type PacketInBuffer = (u64, Option<LinkType>, std::ops::Range<usize>);

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    ts_scale: TsScale,
}

/// A pcapng timestamp resolution (`if_tsresol`): units of 10^-n or 2^-n seconds.
#[derive(Debug, Clone, Copy)]
enum TsScale {
    Decimal(u32),
    Binary(u32),
}

impl TsScale {
    fn apply(self, units: u64) -> u64 {
        let ns = match self {
            Self::Decimal(n) if n <= 9 => u128::from(units) * 10u128.pow(9 - n),
            Self::Decimal(n) => u128::from(units) / 10u128.pow((n - 9).min(38)),
            Self::Binary(n) => (u128::from(units) * 1_000_000_000) >> n.min(127),
        };
        u64::try_from(ns).unwrap_or(u64::MAX)
    }

    /// From a pcapng `if_tsresol` option byte: MSB 0 → 10^-n s, MSB 1 → 2^-n s.
    fn from_tsresol(v: u8) -> Self {
        let n = u32::from(v & 0x7f);
        if v & 0x80 == 0 {
            Self::Decimal(n)
        } else {
            Self::Binary(n)
        }
    }
}

#[derive(Debug)]
enum Format {
    Classic {
        big_endian: bool,
        nanos: bool,
        linktype: u32,
    },
    Ng {
        big_endian: bool,
        interfaces: Vec<Interface>,
    },
}

/// A reader of pcap and pcapng captures.
#[derive(Debug)]
pub struct PcapReader<R> {
    reader: R,
    format: Format,
    buf: Vec<u8>,
    max_record_bytes: usize,
    records_over_cap: u64,
}

const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_BOM: u32 = 0x1a2b_3c4d;
/// At most this many interfaces per section: each costs a few bytes, but they are input.
const MAX_INTERFACES: usize = 4096;
/// Room in a pcapng block body beyond the captured frame: its fixed fields and options.
const NG_BLOCK_OVERHEAD: usize = 64 * 1024;

fn read_exact_or(r: &mut impl Read, buf: &mut [u8], what: &'static str) -> Result<bool, PcapError> {
    let mut got = 0;
    while got < buf.len() {
        let n = match r.read(buf.get_mut(got..).unwrap_or(&mut [])) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            return if got == 0 {
                Ok(false)
            } else {
                Err(PcapError::Truncated(what))
            };
        }
        got += n;
    }
    Ok(true)
}

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let bytes: [u8; 4] = b
        .get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; 4]);
    if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    }
}

fn u16_at(b: &[u8], at: usize, big_endian: bool) -> u16 {
    let bytes: [u8; 2] = b
        .get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .unwrap_or([0; 2]);
    if big_endian {
        u16::from_be_bytes(bytes)
    } else {
        u16::from_le_bytes(bytes)
    }
}

impl<R: Read> PcapReader<R> {
    /// Open a capture, reading its file header (pcap) or first Section Header Block (pcapng).
    pub fn new(reader: R) -> Result<Self, PcapError> {
        Self::with_max_record_bytes(reader, DEFAULT_MAX_RECORD_BYTES)
    }

    /// As [`Self::new`], with a cap on one record's captured size. A packet record over the cap
    /// is skipped without being buffered and counted ([`Self::records_over_cap`]); the frames
    /// after it are read as usual.
    pub fn with_max_record_bytes(
        mut reader: R,
        max_record_bytes: usize,
    ) -> Result<Self, PcapError> {
        let mut magic = [0u8; 4];
        if !read_exact_or(&mut reader, &mut magic, "file header")? {
            return Err(PcapError::Truncated("file header"));
        }
        let le = u32::from_le_bytes(magic);
        let format = match le {
            0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 => {
                let big_endian = matches!(le, 0xd4c3_b2a1 | 0x4d3c_b2a1);
                let nanos = matches!(le, 0xa1b2_3c4d | 0x4d3c_b2a1);
                let mut rest = [0u8; 20];
                if !read_exact_or(&mut reader, &mut rest, "file header")? {
                    return Err(PcapError::Truncated("file header"));
                }
                // The link type's low 16 bits; the high bits carry FCS information.
                let linktype = u32_at(&rest, 16, big_endian) & 0xffff;
                Format::Classic {
                    big_endian,
                    nanos,
                    linktype,
                }
            }
            PCAPNG_SHB => Format::Ng {
                big_endian: false,
                interfaces: Vec::new(),
            },
            other => return Err(PcapError::BadMagic(other)),
        };
        let mut this = Self {
            reader,
            format,
            buf: Vec::new(),
            max_record_bytes,
            records_over_cap: 0,
        };
        if matches!(this.format, Format::Ng { .. }) {
            this.read_section_header()?;
        }
        Ok(this)
    }

    /// The rest of a Section Header Block whose type was just read.
    fn read_section_header(&mut self) -> Result<(), PcapError> {
        let mut head = [0u8; 8];
        if !read_exact_or(&mut self.reader, &mut head, "section header")? {
            return Err(PcapError::Truncated("section header"));
        }
        let bom_le = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let big_endian = match bom_le {
            PCAPNG_BOM => false,
            0x4d3c_2b1a => true,
            other => return Err(PcapError::BadMagic(other)),
        };
        let total = u32_at(&head, 0, big_endian);
        // Already read: type (4), length (4), byte-order magic (4).
        self.skip_block_body(total, 12)?;
        self.format = Format::Ng {
            big_endian,
            interfaces: Vec::new(),
        };
        Ok(())
    }

    fn skip_block_body(&mut self, total: u32, already: u32) -> Result<(), PcapError> {
        if !total.is_multiple_of(4) || total < already + 4 {
            return Err(PcapError::BadBlockLength(total));
        }
        let rest = u64::from(total - already);
        let skipped = io::copy(&mut (&mut self.reader).take(rest), &mut io::sink())?;
        if skipped != rest {
            return Err(PcapError::Truncated("pcapng block"));
        }
        Ok(())
    }

    /// Packet records skipped so far because their captured length exceeded the cap.
    pub fn records_over_cap(&self) -> u64 {
        self.records_over_cap
    }

    /// The cap on one record's captured size, in bytes.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// Skips `len` bytes of a record over the cap, through a small stack buffer.
    fn skip_over_cap(&mut self, len: u64, what: &'static str) -> Result<(), PcapError> {
        let skipped = io::copy(&mut (&mut self.reader).take(len), &mut io::sink())?;
        if skipped != len {
            return Err(PcapError::Truncated(what));
        }
        self.records_over_cap += 1;
        Ok(())
    }

    /// The next frame, or `None` at the end of the capture.
    pub fn next_frame(&mut self) -> Result<Option<CapturedFrame<'_>>, PcapError> {
        match self.format {
            Format::Classic {
                big_endian,
                nanos,
                linktype,
            } => self.next_classic(big_endian, nanos, linktype),
            Format::Ng { .. } => self.next_ng(),
        }
    }

    fn next_classic(
        &mut self,
        big_endian: bool,
        nanos: bool,
        linktype: u32,
    ) -> Result<Option<CapturedFrame<'_>>, PcapError> {
        let mut head = [0u8; 16];
        let len = loop {
            if !read_exact_or(&mut self.reader, &mut head, "record header")? {
                return Ok(None);
            }
            let len = u32_at(&head, 8, big_endian);
            if len as usize <= self.max_record_bytes {
                break len as usize;
            }
            self.skip_over_cap(len.into(), "record")?;
        };
        let secs = u64::from(u32_at(&head, 0, big_endian));
        let frac = u64::from(u32_at(&head, 4, big_endian));
        self.fill(len)?;
        let timestamp_ns = secs * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
        Ok(Some(CapturedFrame {
            timestamp_ns,
            link: LinkType::from_linktype(linktype),
            data: &self.buf,
        }))
    }

    /// Read `len` bytes of record data into the buffer, within the cap.
    fn fill(&mut self, len: usize) -> Result<(), PcapError> {
        if len > self.max_record_bytes {
            return Err(PcapError::RecordTooLarge {
                len,
                cap: self.max_record_bytes,
            });
        }
        self.buf.resize(len, 0);
        if !read_exact_or(&mut self.reader, &mut self.buf, "record")? && len > 0 {
            return Err(PcapError::Truncated("record"));
        }
        Ok(())
    }

    fn next_ng(&mut self) -> Result<Option<CapturedFrame<'_>>, PcapError> {
        loop {
            let Format::Ng { big_endian, .. } = self.format else {
                return Ok(None);
            };
            let mut head = [0u8; 8];
            if !read_exact_or(&mut self.reader, &mut head, "block header")? {
                return Ok(None);
            }
            let block_type = u32_at(&head, 0, big_endian);
            if block_type == PCAPNG_SHB {
                // A new section: its byte order may differ; interfaces start over.
                let mut bom = [0u8; 4];
                if !read_exact_or(&mut self.reader, &mut bom, "section header")? {
                    return Err(PcapError::Truncated("section header"));
                }
                let big_endian = match u32::from_le_bytes(bom) {
                    PCAPNG_BOM => false,
                    0x4d3c_2b1a => true,
                    other => return Err(PcapError::BadMagic(other)),
                };
                let total = u32_at(&head, 4, big_endian);
                self.skip_block_body(total, 12)?;
                self.format = Format::Ng {
                    big_endian,
                    interfaces: Vec::new(),
                };
                continue;
            }
            let total = u32_at(&head, 4, big_endian);
            if !total.is_multiple_of(4) || total < 12 {
                return Err(PcapError::BadBlockLength(total));
            }
            let body_len = (total - 12) as usize;
            match block_type {
                // A packet block too large to be within the cap: skipped, counted.
                3 | 6 if body_len > self.max_record_bytes.saturating_add(NG_BLOCK_OVERHEAD) => {
                    self.skip_over_cap(u64::from(total - 8), "pcapng block")?;
                    continue;
                }
                // Interface Description, Enhanced Packet, Simple Packet: read the body.
                1 | 3 | 6 => {
                    // The body holds the frame plus at most 20 bytes of fixed fields, plus
                    // options; bound it by the record cap plus room for those.
                    self.fill_block(body_len)?;
                }
                _ => {
                    self.skip_block_body(total, 8)?;
                    continue;
                }
            }
            if let Some((timestamp_ns, link, range)) =
                self.decode_ng_block(block_type, body_len, big_endian)?
            {
                return Ok(Some(CapturedFrame {
                    timestamp_ns,
                    link,
                    data: self.buf.get(range).unwrap_or(&[]),
                }));
            }
        }
    }

    fn fill_block(&mut self, body_len: usize) -> Result<(), PcapError> {
        if body_len > self.max_record_bytes.saturating_add(NG_BLOCK_OVERHEAD) {
            return Err(PcapError::RecordTooLarge {
                len: body_len,
                cap: self.max_record_bytes,
            });
        }
        // Body and the trailing copy of the block length.
        self.buf.resize(body_len + 4, 0);
        if !read_exact_or(&mut self.reader, &mut self.buf, "pcapng block")? {
            return Err(PcapError::Truncated("pcapng block"));
        }
        Ok(())
    }

    /// Decode the block in the buffer: an interface is recorded; a packet is returned as its
    /// timestamp, link type and the range of its bytes in the buffer.
    fn decode_ng_block(
        &mut self,
        block_type: u32,
        body_len: usize,
        big_endian: bool,
    ) -> Result<Option<PacketInBuffer>, PcapError> {
        let Format::Ng { interfaces, .. } = &mut self.format else {
            return Ok(None);
        };
        let body = self.buf.get(..body_len).unwrap_or(&[]);
        match block_type {
            1 => {
                if body.len() < 8 {
                    return Err(PcapError::BadBlockLength(body_len as u32 + 12));
                }
                let linktype = u32::from(u16_at(body, 0, big_endian));
                let ts_scale = ng_tsresol(body.get(8..).unwrap_or(&[]), big_endian);
                if interfaces.len() < MAX_INTERFACES {
                    interfaces.push(Interface { linktype, ts_scale });
                }
                Ok(None)
            }
            6 => {
                if body.len() < 20 {
                    return Err(PcapError::BadBlockLength(body_len as u32 + 12));
                }
                let if_id = u32_at(body, 0, big_endian);
                let iface = *interfaces
                    .get(if_id as usize)
                    .ok_or(PcapError::UnknownInterface(if_id))?;
                let ts = (u64::from(u32_at(body, 4, big_endian)) << 32)
                    | u64::from(u32_at(body, 8, big_endian));
                let cap_len = u32_at(body, 12, big_endian) as usize;
                if cap_len > self.max_record_bytes {
                    // Its block (within the cap plus options) is read already: just skip it.
                    self.records_over_cap += 1;
                    return Ok(None);
                }
                if body.len() < 20 + cap_len {
                    return Err(PcapError::Truncated("enhanced packet block"));
                }
                Ok(Some((
                    iface.ts_scale.apply(ts),
                    LinkType::from_linktype(iface.linktype),
                    20..20 + cap_len,
                )))
            }
            3 => {
                let iface = *interfaces.first().ok_or(PcapError::UnknownInterface(0))?;
                if body.len() < 4 {
                    return Err(PcapError::BadBlockLength(body_len as u32 + 12));
                }
                let orig_len = u32_at(body, 0, big_endian) as usize;
                let end = 4 + orig_len.min(body.len() - 4);
                Ok(Some((0, LinkType::from_linktype(iface.linktype), 4..end)))
            }
            _ => Ok(None),
        }
    }
}

/// The `if_tsresol` option (code 9) of an Interface Description Block; microseconds by default.
fn ng_tsresol(mut options: &[u8], big_endian: bool) -> TsScale {
    while options.len() >= 4 {
        let code = u16_at(options, 0, big_endian);
        let len = usize::from(u16_at(options, 2, big_endian));
        if code == 0 {
            break;
        }
        if let (9, 1.., Some(&v)) = (code, len, options.get(4)) {
            return TsScale::from_tsresol(v);
        }
        let padded = 4 + len.div_ceil(4) * 4;
        options = options.get(padded..).unwrap_or(&[]);
    }
    TsScale::Decimal(6)
}

/// A writer of classic pcap files (nanosecond timestamps, little endian).
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    writer: W,
}

impl<W: Write> PcapWriter<W> {
    /// Start a capture of frames of the given link type.
    pub fn new(mut writer: W, link: LinkType) -> Result<Self, PcapError> {
        let mut head = [0u8; 24];
        head[0..4].copy_from_slice(&0xa1b2_3c4du32.to_le_bytes());
        head[4..6].copy_from_slice(&2u16.to_le_bytes());
        head[6..8].copy_from_slice(&4u16.to_le_bytes());
        head[16..20].copy_from_slice(&262_144u32.to_le_bytes());
        head[20..24].copy_from_slice(&link.linktype().to_le_bytes());
        writer.write_all(&head)?;
        Ok(Self { writer })
    }

    /// Append one frame captured at `timestamp_ns` (nanoseconds since the Unix epoch).
    pub fn write_frame(&mut self, timestamp_ns: u64, frame: &[u8]) -> Result<(), PcapError> {
        let len = u32::try_from(frame.len()).map_err(|_| PcapError::RecordTooLarge {
            len: frame.len(),
            cap: u32::MAX as usize,
        })?;
        let mut head = [0u8; 16];
        head[0..4].copy_from_slice(&((timestamp_ns / 1_000_000_000) as u32).to_le_bytes());
        head[4..8].copy_from_slice(&((timestamp_ns % 1_000_000_000) as u32).to_le_bytes());
        head[8..12].copy_from_slice(&len.to_le_bytes());
        head[12..16].copy_from_slice(&len.to_le_bytes());
        self.writer.write_all(&head)?;
        self.writer.write_all(frame)?;
        Ok(())
    }

    /// Flush and return the underlying writer.
    pub fn into_inner(mut self) -> Result<W, PcapError> {
        self.writer.flush()?;
        Ok(self.writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::frame::{UdpFrameBuilder, parse_udp};
    use proptest::prelude::*;

    fn frames() -> Vec<Vec<u8>> {
        let b = UdpFrameBuilder::new(
            "192.0.2.1:5000".parse().unwrap(),
            "239.0.0.1:3400".parse().unwrap(),
        )
        .unwrap();
        (0..5u8)
            .map(|i| b.build(&vec![i; 100 + usize::from(i)]).unwrap())
            .collect()
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<(u64, Vec<u8>)>, PcapError> {
        let mut r = PcapReader::new(bytes)?;
        let mut out = Vec::new();
        while let Some(f) = r.next_frame()? {
            assert_eq!(f.link, Some(LinkType::Ethernet));
            out.push((f.timestamp_ns, f.data.to_vec()));
        }
        Ok(out)
    }

    #[test]
    fn classic_pcap_round_trips_frames_and_timestamps() {
        let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
        for (i, f) in frames().iter().enumerate() {
            w.write_frame(1_700_000_000_000_000_000 + i as u64 * 7, f)
                .unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let got = read_all(&bytes).unwrap();
        assert_eq!(got.len(), 5);
        for (i, (ts, data)) in got.iter().enumerate() {
            assert_eq!(*ts, 1_700_000_000_000_000_000 + i as u64 * 7);
            assert_eq!(data, &frames()[i]);
            let d = parse_udp(LinkType::Ethernet, data).unwrap();
            assert_eq!(d.payload.len(), 100 + i);
        }
    }

    /// A minimal pcapng writer for the test, big or little endian.
    fn pcapng(big_endian: bool, frames: &[Vec<u8>]) -> Vec<u8> {
        let w32 = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let w16 = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        // SHB, 28 bytes.
        out.extend_from_slice(&PCAPNG_SHB.to_le_bytes());
        out.extend_from_slice(&w32(28));
        out.extend_from_slice(&w32(PCAPNG_BOM));
        out.extend_from_slice(&w16(1));
        out.extend_from_slice(&w16(0));
        out.extend_from_slice(&(-1i64).to_le_bytes());
        out.extend_from_slice(&w32(28));
        // A block of an unknown type, to be skipped.
        out.extend_from_slice(&w32(0x0bad));
        out.extend_from_slice(&w32(16));
        out.extend_from_slice(&[9, 9, 9, 9]);
        out.extend_from_slice(&w32(16));
        // IDB with if_tsresol = 9 (ns): 20 + 8 option + 4 end-of-options = 32 bytes.
        out.extend_from_slice(&w32(1));
        out.extend_from_slice(&w32(32));
        out.extend_from_slice(&w16(1));
        out.extend_from_slice(&w16(0));
        out.extend_from_slice(&w32(0));
        out.extend_from_slice(&w16(9));
        out.extend_from_slice(&w16(1));
        out.extend_from_slice(&[9, 0, 0, 0]);
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&w32(32));
        for (i, f) in frames.iter().enumerate() {
            let padded = f.len().div_ceil(4) * 4;
            let total = (32 + padded) as u32;
            out.extend_from_slice(&w32(6));
            out.extend_from_slice(&w32(total));
            out.extend_from_slice(&w32(0));
            out.extend_from_slice(&w32(0));
            out.extend_from_slice(&w32(1000 + i as u32));
            out.extend_from_slice(&w32(f.len() as u32));
            out.extend_from_slice(&w32(f.len() as u32));
            out.extend_from_slice(f);
            out.resize(out.len() + padded - f.len(), 0);
            out.extend_from_slice(&w32(total));
        }
        out
    }

    #[test]
    fn pcapng_in_both_byte_orders_yields_every_frame() {
        for be in [false, true] {
            let got = read_all(&pcapng(be, &frames())).unwrap();
            assert_eq!(got.len(), 5);
            for (i, (ts, data)) in got.iter().enumerate() {
                assert_eq!(*ts, 1000 + i as u64);
                assert_eq!(data, &frames()[i]);
            }
        }
    }

    #[test]
    fn truncated_captures_are_typed_errors() {
        let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
        for f in frames() {
            w.write_frame(0, &f).unwrap();
        }
        let classic = w.into_inner().unwrap();
        let ng = pcapng(false, &frames());
        for bytes in [&classic, &ng] {
            for cut in 0..bytes.len() {
                // Either a clean end at a record boundary or a typed error; never a panic.
                let _ = read_all(&bytes[..cut]);
            }
            assert!(matches!(
                read_all(&bytes[..bytes.len() - 1]),
                Err(PcapError::Truncated(_))
            ));
        }
    }

    #[test]
    fn an_oversized_record_length_is_skipped_not_allocated_and_ends_as_truncated() {
        let mut bytes = PcapWriter::new(Vec::new(), LinkType::Ethernet)
            .unwrap()
            .into_inner()
            .unwrap();
        let mut head = [0u8; 16];
        head[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend_from_slice(&head);
        bytes.extend_from_slice(&[0; 100]);
        let mut r = PcapReader::new(&bytes[..]).unwrap();
        assert!(matches!(r.next_frame(), Err(PcapError::Truncated(_))));
        assert!(r.buf.capacity() < 1024);
    }

    #[test]
    fn records_over_the_cap_are_skipped_counted_and_the_next_frames_read() {
        let cap = 104;
        // Frames 0..5 carry 100..105 payload bytes plus 42 of headers: 142..146 bytes.
        let frames = frames();
        let mut w = PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap();
        let mut big = vec![0u8; 5000];
        big[..frames[0].len()].copy_from_slice(&frames[0]);
        w.write_frame(0, &frames[0]).unwrap();
        w.write_frame(1, &big).unwrap();
        w.write_frame(2, &frames[1]).unwrap();
        let classic = w.into_inner().unwrap();
        // In pcapng, one block within the cap plus room for options, one beyond both.
        let ng = pcapng(
            false,
            &[
                frames[0].clone(),
                vec![7; 5000],
                vec![7; 70_000],
                frames[1].clone(),
            ],
        );
        for (bytes, over) in [(classic, 1), (ng, 2)] {
            let mut r = PcapReader::with_max_record_bytes(&bytes[..], cap + 50).unwrap();
            let mut got = Vec::new();
            while let Some(f) = r.next_frame().unwrap() {
                got.push(f.data.to_vec());
            }
            assert_eq!(got, vec![frames[0].clone(), frames[1].clone()]);
            assert_eq!(r.records_over_cap(), over);
            assert!(r.buf.capacity() < 65 * 1024);
        }
    }

    #[test]
    fn not_a_capture_is_bad_magic() {
        assert!(matches!(
            PcapReader::new(&b"GIF89a.................."[..]),
            Err(PcapError::BadMagic(_))
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_after_a_valid_header_never_panic(
            ng in any::<bool>(),
            tail in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let mut bytes = if ng { pcapng(false, &[]) } else {
                PcapWriter::new(Vec::new(), LinkType::Ethernet).unwrap().into_inner().unwrap()
            };
            bytes.extend_from_slice(&tail);
            if let Ok(mut r) = PcapReader::with_max_record_bytes(&bytes[..], 1024) {
                for _ in 0..100 {
                    match r.next_frame() {
                        Ok(Some(_)) => continue,
                        _ => break,
                    }
                }
            }
        }
    }
}
