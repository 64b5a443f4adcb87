//! One transfer of one object: its source blocks (RFC 5052 §9.1 partitioning), interleaved
//! symbol by symbol over a window of blocks, each symbol written with its ALC header (RFC 5775
//! §4) straight into the caller's buffer, paced to the object's target acquisition.
//!
//! This is the hot path. The LCT header and its extensions are the same for every packet of a
//! transfer, so they are emitted once, at the start, into a template (one with the Close Object
//! flag B, one without); each packet is then the template, the 4-byte FEC Payload ID and one
//! copy of the symbol from the object's bytes. Only FDT packets that carry the Sender Current
//! Time are emitted in full, since EXT_TIME changes with each one. Nothing allocates per packet:
//! window slots, stream block buffers and repair scratch are reused block after block.

use std::io::{Seek, SeekFrom};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::SenderError;
use super::object::{ObjectBytes, ObjectStream};
use crate::fdt::ntp;
use crate::fec::{BlockPartition, Encoder, Scheme};
use crate::wire::lct::HDR_LEN_MAX_BYTES;
use crate::wire::{
    AlcRepr, ExtCenc, ExtFdt, ExtRepr, ExtTime, LctRepr, Oti, PayloadId, PayloadIdFormat,
};

/// Where the symbols of a transfer are read from.
pub(crate) enum TransferSource {
    /// The whole object in memory; symbols are sliced from it.
    Bytes(Arc<dyn ObjectBytes>),
    /// A stream, read one block at a time into the window's slots.
    Stream(Box<dyn ObjectStream>),
}

/// The header extensions and flags of every packet of a transfer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderSpec {
    /// The LCT header (B is set per packet).
    pub(crate) lct: LctRepr,
    /// EXT_FDT, for FDT Instances.
    pub(crate) fdt: Option<ExtFdt>,
    /// EXT_CENC.
    pub(crate) cenc: Option<ExtCenc>,
    /// EXT_TIME with the Sender Current Time.
    pub(crate) sct: bool,
    /// EXT_FTI with the object's OTI.
    pub(crate) fti: bool,
    /// Bytes of EXT_AUTH to reserve, last, for `auth::Signer` to fill in once the packet is
    /// whole (0: none).
    pub(crate) auth_len: usize,
}

/// Longest header a spec can produce: whatever HDR_LEN holds, since EXT_AUTH with an RSA
/// signature is most of it (LCT 40 + EXT_FDT 4 + EXT_CENC 4 + EXT_TIME 12 + EXT_FTI 20 without).
const MAX_HEADER_LEN: usize = HDR_LEN_MAX_BYTES;

/// The EXT_AUTH placeholder's body: zeros.
static AUTH_PLACEHOLDER: [u8; HDR_LEN_MAX_BYTES] = [0; HDR_LEN_MAX_BYTES];

/// The Sender Current Time as EXT_TIME SCT-High (NTP seconds) and SCT-Low (NTP fraction).
pub(crate) fn sender_current_time(now: SystemTime) -> ExtTime {
    let since_epoch = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let fraction = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
    ExtTime {
        sct_high: Some(ntp::ntp_secs_from_unix_secs(since_epoch.as_secs())),
        sct_low: Some(fraction as u32),
        ..ExtTime::default()
    }
}

impl HeaderSpec {
    /// Writes the LCT header and its extensions, returns their length.
    fn emit(
        &self,
        oti: &Oti,
        close_object: bool,
        now: SystemTime,
        buf: &mut [u8],
    ) -> Result<usize, SenderError> {
        let filler = ExtRepr::Nop { body: &[] };
        let mut exts = [filler; 5];
        let mut n = 0;
        let mut push = |ext| {
            if let Some(slot) = exts.get_mut(n) {
                *slot = ext;
                n += 1;
            }
        };
        // The order flute writes them in.
        if let Some(fdt) = self.fdt {
            push(ExtRepr::Fdt(fdt));
        }
        if let Some(cenc) = self.cenc {
            push(ExtRepr::Cenc(cenc));
        }
        if self.sct {
            push(ExtRepr::Time(sender_current_time(now)));
        }
        if self.fti {
            push(ExtRepr::Fti(*oti));
        }
        if self.auth_len > 0 {
            let body = AUTH_PLACEHOLDER.get(..self.auth_len.saturating_sub(2));
            push(ExtRepr::Auth {
                body: body.unwrap_or_default(),
            });
        }
        let mut lct = self.lct;
        lct.close_object = close_object;
        let repr = AlcRepr {
            lct,
            extensions: exts.get(..n).unwrap_or_default(),
            payload_id: None,
        };
        Ok(repr.emit(buf)?)
    }
}

/// Evenly spread packets: packet `i` of `total` is due at `start + duration * i / total`.
#[derive(Debug, Clone, Copy)]
struct Pacing {
    start: SystemTime,
    duration: Duration,
}

/// One block of the interleaving window.
#[derive(Default)]
struct Slot {
    sbn: u32,
    offset_bytes: u64,
    len_bytes: usize,
    source_block_len: u32,
    nb_symbols: u32,
    next_esi: u32,
    /// The block's bytes, for stream sources.
    data: Vec<u8>,
    /// The block's repair symbols.
    repair: Vec<u8>,
    /// Under sub-blocking (N > 1), the block's source symbols as sent, gathered once.
    gathered: Vec<u8>,
}

/// What [`Transfer::write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// A packet of this length; `last` when the transfer has no packet left.
    Packet { len: usize, last: bool },
    /// The next packet is not due yet (target acquisition).
    NotYet(SystemTime),
}

/// One transfer of one object.
pub(crate) struct Transfer {
    toi: u128,
    oti: Oti,
    format: PayloadIdFormat,
    partition: BlockPartition,
    symbol_len: usize,
    source: TransferSource,
    spec: HeaderSpec,
    template: [u8; MAX_HEADER_LEN],
    template_close: [u8; MAX_HEADER_LEN],
    header_len: usize,
    scheme: Scheme,
    encoder: Encoder,
    window: Vec<Slot>,
    spare: Vec<Slot>,
    window_blocks: usize,
    index: usize,
    next_sbn: u64,
    sent: u64,
    total: u64,
    closable: bool,
    force_close: bool,
    pacing: Option<Pacing>,
    max_packet_len: usize,
}

/// Parameters of a transfer.
pub(crate) struct TransferParams {
    pub(crate) toi: u128,
    /// With the object's Transfer Length.
    pub(crate) oti: Oti,
    pub(crate) spec: HeaderSpec,
    pub(crate) interleave_blocks: u32,
    /// Set B on the last packet.
    pub(crate) closable: bool,
    /// Spread the packets over this long from `now`.
    pub(crate) pacing: Option<Duration>,
}

impl Transfer {
    /// Starts a transfer at `now`.
    pub(crate) fn new(
        params: TransferParams,
        mut source: TransferSource,
        now: SystemTime,
    ) -> Result<Self, SenderError> {
        let TransferParams {
            toi,
            oti,
            spec,
            interleave_blocks,
            closable,
            pacing,
        } = params;
        let scheme = Scheme::for_oti(&oti)?;
        let encoder = scheme.encoder()?;
        let format = scheme.payload_id_format();
        let partition = scheme.partition(oti.transfer_length)?;
        check_numbering(&partition, &scheme)?;
        let mut template = [0u8; MAX_HEADER_LEN];
        let mut template_close = [0u8; MAX_HEADER_LEN];
        let header_len = spec.emit(&oti, false, now, &mut template)?;
        spec.emit(&oti, true, now, &mut template_close)?;
        let total = nb_packets(&partition, scheme.nb_repair_symbols());
        if let TransferSource::Stream(stream) = &mut source {
            stream.seek(SeekFrom::Start(0))?;
        }
        let symbol_len = usize::from(oti.encoding_symbol_length);
        let window_blocks = interleave_blocks.max(1) as usize;
        Ok(Self {
            toi,
            oti,
            format,
            partition,
            symbol_len,
            source,
            spec,
            template,
            template_close,
            header_len,
            scheme,
            encoder,
            window: Vec::with_capacity(window_blocks),
            spare: Vec::with_capacity(window_blocks),
            window_blocks,
            index: 0,
            next_sbn: 0,
            sent: 0,
            total,
            closable,
            force_close: false,
            pacing: pacing.map(|duration| Pacing {
                start: now,
                duration,
            }),
            max_packet_len: header_len + format.buffer_len() + symbol_len,
        })
    }

    /// The TOI of the object.
    pub(crate) fn toi(&self) -> u128 {
        self.toi
    }

    /// The longest packet this transfer writes.
    pub(crate) fn max_packet_len(&self) -> usize {
        self.max_packet_len
    }

    /// Make the next packet the last one, with B set (the object was removed from the FDT).
    pub(crate) fn stop_with_close_object(&mut self) {
        self.force_close = true;
    }

    /// Gives back the stream of a stream source, for the next transfer.
    pub(crate) fn into_stream(self) -> Option<Box<dyn ObjectStream>> {
        match self.source {
            TransferSource::Stream(stream) => Some(stream),
            TransferSource::Bytes(_) => None,
        }
    }

    /// When the next packet is due: `None` when it is due now (as fast as possible).
    pub(crate) fn next_due(&self) -> Option<SystemTime> {
        let pacing = self.pacing?;
        let total = u128::from(self.total.max(1));
        let nanos = pacing.duration.as_nanos() * u128::from(self.sent) / total;
        let offset = Duration::new(
            u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX),
            (nanos % 1_000_000_000) as u32,
        );
        pacing.start.checked_add(offset)
    }

    fn fill_window(&mut self) -> Result<(), SenderError> {
        while self.window.len() < self.window_blocks && self.next_sbn < self.partition.nb_blocks() {
            let sbn = self.next_sbn;
            let mut slot = self.spare.pop().unwrap_or_default();
            let overflow = || SenderError::ObjectTooLarge {
                transfer_length: self.oti.transfer_length,
                last_sbn: sbn,
                last_esi: 0,
            };
            slot.sbn = u32::try_from(sbn).map_err(|_| overflow())?;
            slot.offset_bytes = self
                .partition
                .block_offset_bytes(sbn)
                .ok_or_else(overflow)?;
            slot.len_bytes = self
                .partition
                .block_len_bytes(sbn)
                .and_then(|len| usize::try_from(len).ok())
                .ok_or_else(overflow)?;
            slot.source_block_len = self.partition.block_len_symbols(sbn).ok_or_else(overflow)?;
            let nb_repair = self.scheme.nb_repair_symbols();
            slot.nb_symbols = slot.source_block_len.saturating_add(nb_repair);
            slot.next_esi = 0;
            if let TransferSource::Stream(stream) = &mut self.source {
                slot.data.resize(slot.len_bytes, 0);
                read_block(stream.as_mut(), &mut slot.data, self.oti.transfer_length)?;
            }
            slot.repair.resize(nb_repair as usize * self.symbol_len, 0);
            let layout = self.scheme.scattered_layout(slot.source_block_len);
            slot.gathered.clear();
            if nb_repair > 0 || layout.is_some() {
                let block: &[u8] = match &self.source {
                    TransferSource::Bytes(bytes) => {
                        let start = slot.offset_bytes as usize;
                        bytes
                            .as_bytes()
                            .get(start..start + slot.len_bytes)
                            .unwrap_or_default()
                    }
                    TransferSource::Stream(_) => &slot.data,
                };
                if let Some(layout) = layout {
                    slot.gathered
                        .resize(slot.source_block_len as usize * self.symbol_len, 0);
                    for (esi, symbol) in (0..slot.source_block_len)
                        .zip(slot.gathered.chunks_exact_mut(self.symbol_len))
                    {
                        layout
                            .gather(block, esi, symbol)
                            .map_err(SenderError::Fec)?;
                    }
                }
                self.encoder
                    .encode(slot.source_block_len, block, &mut slot.repair)?;
            }
            self.window.push(slot);
            self.next_sbn += 1;
        }
        Ok(())
    }

    /// Writes the next packet into `buf` if it is due at `now`.
    pub(crate) fn write(
        &mut self,
        buf: &mut [u8],
        now: SystemTime,
    ) -> Result<Written, SenderError> {
        if let Some(due) = self.next_due()
            && due > now
        {
            return Ok(Written::NotYet(due));
        }
        if buf.len() < self.max_packet_len {
            return Err(SenderError::BufferTooSmall {
                needed: self.max_packet_len,
                got: buf.len(),
            });
        }
        let last = self.force_close || self.sent + 1 >= self.total;
        // flute closes an empty object's only packet even when it will be sent again.
        let close = last && (self.closable || self.force_close || self.oti.transfer_length == 0);
        let header_len = if self.spec.sct {
            self.spec.emit(&self.oti, close, now, buf)?
        } else {
            let template = if close {
                &self.template_close
            } else {
                &self.template
            };
            let header = template.get(..self.header_len).unwrap_or_default();
            buf.get_mut(..self.header_len)
                .unwrap_or_default()
                .copy_from_slice(header);
            self.header_len
        };
        let len = if self.partition.nb_blocks() == 0 {
            // An empty object: one packet, SBN 0, ESI 0, no symbol (as flute sends it); ID 129's
            // Payload ID also carries the Source Block Length, 0 here.
            let id = PayloadId {
                source_block_length: (self.format == PayloadIdFormat::SmallBlockSystematic)
                    .then_some(0),
                ..PayloadId::default()
            };
            let rest = buf.get_mut(header_len..).unwrap_or_default();
            header_len + id.emit(self.format, rest)?
        } else {
            self.fill_window()?;
            if self.index >= self.window.len() {
                self.index = 0;
            }
            let Some(slot) = self.window.get(self.index) else {
                return Err(SenderError::InvalidConfig("transfer has no block left"));
            };
            let esi = slot.next_esi;
            let id = PayloadId {
                sbn: slot.sbn,
                esi,
                source_block_length: (self.format == PayloadIdFormat::SmallBlockSystematic)
                    .then_some(slot.source_block_len),
            };
            let rest = buf.get_mut(header_len..).unwrap_or_default();
            let start = header_len + id.emit(self.format, rest)?;
            let symbol = symbol_of(&self.source, slot, esi, self.symbol_len);
            let end = start + symbol.len();
            buf.get_mut(start..end)
                .unwrap_or_default()
                .copy_from_slice(symbol);
            let block_done = esi + 1 >= slot.nb_symbols;
            if block_done {
                // The next block enters at the end of the round, as in flute.
                let done = self.window.remove(self.index);
                self.spare.push(done);
            } else {
                if let Some(slot) = self.window.get_mut(self.index) {
                    slot.next_esi += 1;
                }
                self.index += 1;
            }
            end
        };
        self.sent += 1;
        if last {
            self.total = self.sent;
        }
        Ok(Written::Packet { len, last })
    }

    /// The symbol that the block whose turn is next sends `ahead` rounds after its next one
    /// (`ahead` 0: the next packet's symbol), so that the I/O layer can prefetch it; `None` when
    /// a new block must enter the window first or the block has no such symbol.
    pub(crate) fn upcoming_symbol(&self, ahead: u32) -> Option<&[u8]> {
        let index = if self.index < self.window.len() {
            self.index
        } else if self.window.len() < self.window_blocks
            && self.next_sbn < self.partition.nb_blocks()
        {
            // The round's end: the next block enters here first.
            return None;
        } else {
            0
        };
        let slot = self.window.get(index)?;
        let esi = slot.next_esi.checked_add(ahead)?;
        (esi < slot.nb_symbols).then(|| symbol_of(&self.source, slot, esi, self.symbol_len))
    }
}

/// The bytes of symbol `esi` of the block in `slot`.
fn symbol_of<'a>(
    source: &'a TransferSource,
    slot: &'a Slot,
    esi: u32,
    symbol_len: usize,
) -> &'a [u8] {
    if esi < slot.source_block_len && !slot.gathered.is_empty() {
        // Sub-blocked symbols are sent whole: their padding is spread over the symbol.
        let start = esi as usize * symbol_len;
        slot.gathered
            .get(start..start + symbol_len)
            .unwrap_or_default()
    } else if esi < slot.source_block_len {
        let start = esi as usize * symbol_len;
        let end = (start + symbol_len).min(slot.len_bytes);
        match source {
            TransferSource::Bytes(bytes) => {
                let base = slot.offset_bytes as usize;
                bytes
                    .as_bytes()
                    .get(base + start..base + end)
                    .unwrap_or_default()
            }
            TransferSource::Stream(_) => slot.data.get(start..end).unwrap_or_default(),
        }
    } else {
        let start = (esi - slot.source_block_len) as usize * symbol_len;
        slot.repair
            .get(start..start + symbol_len)
            .unwrap_or_default()
    }
}

/// Fills `block` from `stream`, or fails if the stream ends first.
fn read_block(
    stream: &mut dyn ObjectStream,
    block: &mut [u8],
    expected: u64,
) -> Result<(), SenderError> {
    let mut filled = 0;
    while filled < block.len() {
        match stream.read(block.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => {
                return Err(SenderError::StreamEnded {
                    expected,
                    got: filled as u64,
                });
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Checks that an object of `oti` can be partitioned, coded and numbered.
pub(crate) fn check_object_fits(oti: &Oti) -> Result<(), SenderError> {
    let scheme = Scheme::for_oti(oti)?;
    scheme.encoder()?;
    let partition = scheme.partition(oti.transfer_length)?;
    scheme.check_blocks(&partition)?;
    check_numbering(&partition, &scheme)
}

/// Packets of one transfer: every encoding symbol of every block, or one for an empty object.
fn nb_packets(partition: &BlockPartition, nb_repair: u32) -> u64 {
    let per_block = |k: u32| u64::from(k) + u64::from(nb_repair);
    let large = partition.nb_large_blocks();
    let small = partition.nb_blocks() - large;
    let total = large * per_block(partition.large_block_len())
        + small * per_block(partition.small_block_len());
    total.max(1)
}

/// Checks that the last SBN and the largest ESI fit the FEC Payload ID.
fn check_numbering(partition: &BlockPartition, scheme: &Scheme) -> Result<(), SenderError> {
    let Some(last_sbn) = partition.nb_blocks().checked_sub(1) else {
        return Ok(());
    };
    let k = partition.large_block_len();
    let last_esi = k
        .saturating_add(scheme.nb_repair_symbols())
        .saturating_sub(1);
    let too_large = || SenderError::ObjectTooLarge {
        transfer_length: partition.transfer_length(),
        last_sbn,
        last_esi,
    };
    let format = scheme.payload_id_format();
    let id = PayloadId {
        sbn: u32::try_from(last_sbn).map_err(|_| too_large())?,
        esi: last_esi,
        source_block_length: (format == PayloadIdFormat::SmallBlockSystematic).then_some(k),
    };
    id.emit(format, &mut [0u8; 8]).map_err(|_| too_large())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AlcPacket, FecEncodingId, SchemeSpecific};

    fn oti(transfer_length: u64, e: u16, b: u32) -> Oti {
        Oti {
            fec_encoding_id: FecEncodingId::NoCode,
            fec_instance_id: 0,
            transfer_length,
            encoding_symbol_length: e,
            maximum_source_block_length: b,
            max_number_of_encoding_symbols: b,
            scheme_specific: SchemeSpecific::None,
        }
    }

    fn transfer(content: Vec<u8>, e: u16, b: u32, interleave: u32) -> Transfer {
        let oti = oti(content.len() as u64, e, b);
        let spec = HeaderSpec {
            lct: LctRepr::with_min_widths(0, 1, Some(5), 0).unwrap(),
            fdt: None,
            cenc: None,
            sct: false,
            fti: true,
            auth_len: 0,
        };
        Transfer::new(
            TransferParams {
                toi: 5,
                oti,
                spec,
                interleave_blocks: interleave,
                closable: true,
                pacing: None,
            },
            TransferSource::Bytes(Arc::new(content)),
            SystemTime::UNIX_EPOCH,
        )
        .unwrap()
    }

    /// (SBN, ESI, B flag, symbol) of every packet of a transfer.
    fn drain(t: &mut Transfer) -> Vec<(u32, u32, bool, Vec<u8>)> {
        let mut out = Vec::new();
        let mut buf = [0u8; 1500];
        loop {
            match t.write(&mut buf, SystemTime::UNIX_EPOCH).unwrap() {
                Written::Packet { len, last } => {
                    let p = AlcPacket::parse(&buf[..len]).unwrap();
                    let id = p.payload_id().unwrap();
                    out.push((id.sbn, id.esi, p.lct().close_object, p.payload().to_vec()));
                    if last {
                        return out;
                    }
                }
                Written::NotYet(_) => panic!("unpaced transfer is never late"),
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn every_symbol_is_sent_once_and_the_symbols_rebuild_the_object(
            len in 0usize..5000,
            e in 1u16..300,
            b in 1u32..20,
            interleave in 0u32..8,
            seed in proptest::prelude::any::<u8>(),
        ) {
            let content: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
            let mut t = transfer(content.clone(), e, b, interleave);
            let packets = drain(&mut t);
            let partition = BlockPartition::rfc5052(len as u64, u32::from(e), b).unwrap();
            let mut by_id = std::collections::BTreeMap::new();
            for (sbn, esi, _, symbol) in &packets {
                proptest::prop_assert!(by_id.insert((*sbn, *esi), symbol.clone()).is_none());
            }
            proptest::prop_assert_eq!(by_id.len() as u64, partition.nb_source_symbols().max(1));
            let rebuilt: Vec<u8> = by_id.into_values().flatten().collect();
            proptest::prop_assert_eq!(rebuilt, content);
            // Only the last packet closes the object.
            let closes = packets.iter().filter(|p| p.2).count();
            proptest::prop_assert_eq!(closes, 1);
            proptest::prop_assert!(packets.last().unwrap().2);
        }
    }

    #[test]
    fn blocks_are_interleaved_round_robin_over_the_window() {
        // 4 blocks of 2 symbols, window of 2.
        let mut t = transfer((0..16u8).collect(), 2, 2, 2);
        let order: Vec<_> = drain(&mut t).iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(
            order,
            [
                (0, 0),
                (1, 0),
                (0, 1),
                (1, 1),
                (2, 0),
                (3, 0),
                (2, 1),
                (3, 1)
            ]
        );
    }

    #[test]
    fn uneven_blocks_interleave_and_the_next_block_joins_at_the_end_of_the_round() {
        // 5 symbols, B = 3: blocks of 3 and 2; window of 3 holds both.
        let mut t = transfer((0..10u8).collect(), 2, 3, 3);
        let order: Vec<_> = drain(&mut t).iter().map(|p| (p.0, p.1)).collect();
        assert_eq!(order, [(0, 0), (1, 0), (0, 1), (1, 1), (0, 2)]);
    }

    #[test]
    fn symbols_carry_the_object_bytes_and_only_the_last_packet_closes() {
        let content: Vec<u8> = (0..=250u8).collect();
        let mut t = transfer(content.clone(), 16, 4, 1);
        let packets = drain(&mut t);
        let rebuilt: Vec<u8> = packets.iter().flat_map(|p| p.3.clone()).collect();
        assert_eq!(rebuilt, content);
        assert_eq!(packets.last().unwrap().3.len(), 251 % 16);
        let closes: Vec<bool> = packets.iter().map(|p| p.2).collect();
        assert!(closes[..closes.len() - 1].iter().all(|c| !c));
        assert!(closes[closes.len() - 1]);
    }

    #[test]
    fn empty_object_is_one_closing_packet_without_symbol() {
        let mut t = transfer(Vec::new(), 16, 4, 2);
        let packets = drain(&mut t);
        assert_eq!(packets, [(0, 0, true, Vec::new())]);
    }

    #[test]
    fn stop_makes_the_next_packet_the_last_with_close_object() {
        let mut t = transfer(vec![7u8; 100], 10, 4, 1);
        let mut buf = [0u8; 200];
        assert!(matches!(
            t.write(&mut buf, SystemTime::UNIX_EPOCH).unwrap(),
            Written::Packet { last: false, .. }
        ));
        t.stop_with_close_object();
        let Written::Packet { len, last } = t.write(&mut buf, SystemTime::UNIX_EPOCH).unwrap()
        else {
            panic!()
        };
        assert!(last);
        assert!(AlcPacket::parse(&buf[..len]).unwrap().lct().close_object);
    }

    #[test]
    fn a_short_buffer_is_refused_without_consuming_a_packet() {
        let mut t = transfer(vec![1u8; 64], 32, 4, 1);
        let needed = t.max_packet_len();
        assert!(matches!(
            t.write(&mut vec![0u8; needed - 1], SystemTime::UNIX_EPOCH),
            Err(SenderError::BufferTooSmall { .. })
        ));
        assert_eq!(drain(&mut t).len(), 2);
    }

    #[test]
    fn pacing_spreads_packets_evenly_over_the_duration() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let content = vec![0u8; 40];
        let mut t = Transfer::new(
            TransferParams {
                toi: 1,
                oti: oti(40, 10, 4),
                spec: HeaderSpec {
                    lct: LctRepr::with_min_widths(0, 1, Some(1), 0).unwrap(),
                    fdt: None,
                    cenc: None,
                    sct: false,
                    fti: false,
                    auth_len: 0,
                },
                interleave_blocks: 1,
                closable: true,
                pacing: Some(Duration::from_secs(4)),
            },
            TransferSource::Bytes(Arc::new(content)),
            start,
        )
        .unwrap();
        let mut buf = [0u8; 100];
        for i in 0..4u64 {
            let due = start + Duration::from_secs(i);
            assert_eq!(t.next_due(), Some(due));
            if i > 0 {
                let early = due - Duration::from_millis(1);
                assert_eq!(t.write(&mut buf, early).unwrap(), Written::NotYet(due));
            }
            assert!(matches!(
                t.write(&mut buf, due).unwrap(),
                Written::Packet { .. }
            ));
        }
    }

    #[test]
    fn stream_source_is_read_block_by_block_with_the_same_packets() {
        let content: Vec<u8> = (0..1000u32).map(|i| (i * 13) as u8).collect();
        let mut from_bytes = transfer(content.clone(), 64, 3, 2);
        let expected = drain(&mut from_bytes);
        let mut from_stream = Transfer::new(
            TransferParams {
                toi: 5,
                oti: oti(1000, 64, 3),
                spec: HeaderSpec {
                    lct: LctRepr::with_min_widths(0, 1, Some(5), 0).unwrap(),
                    fdt: None,
                    cenc: None,
                    sct: false,
                    fti: true,
                    auth_len: 0,
                },
                interleave_blocks: 2,
                closable: true,
                pacing: None,
            },
            TransferSource::Stream(Box::new(std::io::Cursor::new(content))),
            SystemTime::UNIX_EPOCH,
        )
        .unwrap();
        assert_eq!(drain(&mut from_stream), expected);
    }

    #[test]
    fn a_stream_shorter_than_announced_is_an_error() {
        let mut t = Transfer::new(
            TransferParams {
                toi: 5,
                oti: oti(1000, 64, 3),
                spec: HeaderSpec {
                    lct: LctRepr::with_min_widths(0, 1, Some(5), 0).unwrap(),
                    fdt: None,
                    cenc: None,
                    sct: false,
                    fti: false,
                    auth_len: 0,
                },
                interleave_blocks: 1,
                closable: true,
                pacing: None,
            },
            TransferSource::Stream(Box::new(std::io::Cursor::new(vec![0u8; 100]))),
            SystemTime::UNIX_EPOCH,
        )
        .unwrap();
        let mut buf = [0u8; 200];
        let mut result = Ok(Written::NotYet(SystemTime::UNIX_EPOCH));
        for _ in 0..5 {
            result = t.write(&mut buf, SystemTime::UNIX_EPOCH);
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(result, Err(SenderError::StreamEnded { .. })));
    }
}
