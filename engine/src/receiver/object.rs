//! One object being received (RFC 5775 §4, RFC 6726 §3): its region in the sink, the symbols
//! that have arrived, and the checks made before it is committed.
//!
//! A symbol's payload is copied once, straight to its final offset in the region. Without
//! content encoding the region is the sink's own (a memory buffer, or the mmap of `NAME.part`),
//! and the Content-MD5 is computed on the in-order prefix as it grows, so verification needs no
//! second pass. A content-encoded object is received into a buffer of its Transfer-Length and
//! decoded, with the output capped, into the sink when complete (MD5 then covers the decoded
//! content, as RFC 6726 §3.4.2 says it is computed before encoding).

use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine;
use md5::{Digest, Md5};

use crate::cenc::{self, Cenc};
use crate::fec::BlockPartition;
use crate::wire::FecEncodingId;

use super::blocks::{Place, SymbolTracker};
use super::error::{DropReason, FailReason};
use super::event::ObjectMetadata;
use super::sink::{ObjectDescription, ObjectSink, SinkObject};

/// Where the symbols of an object are written.
#[derive(Debug)]
enum Region<O> {
    /// The sink's region of the object's final length.
    Sink(O),
    /// A buffer of the Transfer-Length, for a content-encoded object.
    Encoded(Vec<u8>),
}

/// Running MD5 of the in-order prefix of the object.
#[derive(Debug)]
struct PrefixMd5 {
    hasher: Md5,
    hashed: u64,
    expected: [u8; 16],
}

/// The outcome of one payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// New symbols were stored.
    New {
        /// They completed a source block.
        block_completed: bool,
    },
    /// Nothing new.
    Duplicate,
}

/// What an object starts with.
#[derive(Debug)]
pub(crate) struct ObjectStart {
    pub desc: ObjectDescription,
    pub meta: Arc<ObjectMetadata>,
    pub partition: BlockPartition,
    pub from_fdt: bool,
    pub reserved_bytes: u64,
}

/// An object being received into a sink object `O`.
#[derive(Debug)]
pub(crate) struct ObjectReceiver<O> {
    pub meta: Arc<ObjectMetadata>,
    /// The object was described by an FDT (as opposed to EXT_FTI alone).
    pub from_fdt: bool,
    region: Region<O>,
    tracker: SymbolTracker,
    md5: Option<PrefixMd5>,
    expected_md5: Option<[u8; 16]>,
    desc: ObjectDescription,
    /// Bytes charged to the receiving budget.
    pub reserved_bytes: u64,
    pub last_activity: SystemTime,
    /// When the sender's close-object flag was seen.
    pub closing_since: Option<SystemTime>,
}

/// Decodes a Content-MD5 (base64 of 16 bytes).
fn parse_md5(text: &str) -> Result<[u8; 16], FailReason> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| FailReason::BadMd5)?;
    <[u8; 16]>::try_from(bytes.as_slice()).map_err(|_| FailReason::BadMd5)
}

/// The block partitioning of an object, for the FEC schemes this receiver decodes.
pub(crate) fn partition_for(meta: &ObjectMetadata) -> Result<BlockPartition, FailReason> {
    match meta.oti.fec_encoding_id {
        FecEncodingId::NoCode => BlockPartition::rfc5052(
            meta.transfer_length,
            u32::from(meta.oti.encoding_symbol_length),
            meta.oti.maximum_source_block_length,
        )
        .map_err(|e| FailReason::Fec(e.to_string())),
        other => Err(FailReason::Fec(format!(
            "FEC Encoding ID {other:?} not supported"
        ))),
    }
}

/// Bytes an object will hold while it is received: its region plus its bookkeeping.
pub(crate) fn reservation(meta: &ObjectMetadata, partition: &BlockPartition) -> u64 {
    meta.transfer_length
        .saturating_add(SymbolTracker::state_bytes(partition))
}

impl<O: SinkObject> ObjectReceiver<O> {
    /// Starts an object: creates its region in `sink` (or its encoded buffer).
    pub fn start<S: ObjectSink<Object = O>>(
        sink: &mut S,
        start: ObjectStart,
        check_md5: bool,
        now: SystemTime,
    ) -> Result<Self, FailReason> {
        let ObjectStart {
            desc,
            meta,
            partition,
            from_fdt,
            reserved_bytes,
        } = start;
        let expected_md5 = match (&meta.content_md5, check_md5) {
            (Some(text), true) => Some(parse_md5(text)?),
            _ => None,
        };
        let tracker = SymbolTracker::new(partition)
            .ok_or_else(|| FailReason::Sink("out of memory for symbol bookkeeping".into()))?;
        let (region, md5) = if meta.cenc == Cenc::Null {
            let object = sink
                .create(&desc)
                .map_err(|e| FailReason::Sink(e.to_string()))?;
            let md5 = expected_md5.map(|expected| PrefixMd5 {
                hasher: Md5::new(),
                hashed: 0,
                expected,
            });
            (Region::Sink(object), md5)
        } else {
            let len = usize::try_from(meta.transfer_length)
                .map_err(|_| FailReason::Sink("object too large for memory".into()))?;
            let mut buf = Vec::new();
            buf.try_reserve_exact(len)
                .map_err(|_| FailReason::Sink("out of memory for an encoded object".into()))?;
            buf.resize(len, 0);
            (Region::Encoded(buf), None)
        };
        Ok(Self {
            meta,
            from_fdt,
            region,
            tracker,
            md5,
            expected_md5,
            desc,
            reserved_bytes,
            last_activity: now,
            closing_since: None,
        })
    }

    /// All source symbols are in.
    pub fn is_complete(&self) -> bool {
        self.tracker.is_complete()
    }

    /// Bytes received so far.
    pub fn received_bytes(&self) -> u64 {
        self.tracker.received_bytes()
    }

    /// Stores the symbols of one payload at their offset.
    pub fn push(
        &mut self,
        sbn: u32,
        esi: u32,
        payload: &[u8],
        max_concurrent_blocks: usize,
    ) -> Result<Pushed, DropReason> {
        let placement = match self
            .tracker
            .place(sbn, esi, payload.len(), max_concurrent_blocks)?
        {
            Place::Duplicate => return Ok(Pushed::Duplicate),
            Place::New(p) => p,
        };
        let region: &mut [u8] = match &mut self.region {
            Region::Sink(object) => object.data_mut(),
            Region::Encoded(buf) => buf,
        };
        region
            .get_mut(placement.offset..placement.offset + placement.len)
            .ok_or(DropReason::SymbolOutOfRange)?
            .copy_from_slice(payload);
        if let Some(md5) = &mut self.md5
            && self.tracker.prefix_can_advance()
        {
            let upto = self.tracker.advance_prefix();
            if let Some(prefix) = region.get(md5.hashed as usize..upto as usize) {
                md5.hasher.update(prefix);
                md5.hashed = upto;
            }
        }
        Ok(Pushed::New {
            block_completed: placement.block_completed,
        })
    }

    /// Verifies and commits a complete object.
    pub fn finish<S: ObjectSink<Object = O>>(
        self,
        sink: &mut S,
        max_object_bytes: u64,
    ) -> Result<(), FailReason> {
        match self.region {
            Region::Sink(object) => {
                if let Some(mut md5) = self.md5 {
                    let mut tracker = self.tracker;
                    let upto = tracker.advance_prefix();
                    if let Some(rest) = object.data().get(md5.hashed as usize..upto as usize) {
                        md5.hasher.update(rest);
                    }
                    if <[u8; 16]>::from(md5.hasher.finalize()) != md5.expected {
                        object.abort();
                        return Err(FailReason::Md5Mismatch);
                    }
                }
                object.commit().map_err(|e| FailReason::Sink(e.to_string()))
            }
            Region::Encoded(encoded) => {
                let cap = self
                    .meta
                    .content_length
                    .unwrap_or(max_object_bytes)
                    .min(max_object_bytes);
                let cap = usize::try_from(cap).unwrap_or(usize::MAX);
                let content = cenc::decode(self.meta.cenc, &encoded, cap)
                    .map_err(FailReason::ContentDecoding)?;
                drop(encoded);
                if let Some(expected) = self.meta.content_length
                    && expected != content.len() as u64
                {
                    return Err(FailReason::ContentLength {
                        expected,
                        got: content.len() as u64,
                    });
                }
                if let Some(expected) = self.expected_md5
                    && <[u8; 16]>::from(Md5::digest(&content)) != expected
                {
                    return Err(FailReason::Md5Mismatch);
                }
                let mut desc = self.desc;
                desc.len = content.len() as u64;
                let mut object = sink
                    .create(&desc)
                    .map_err(|e| FailReason::Sink(e.to_string()))?;
                match object.data_mut().get_mut(..content.len()) {
                    Some(region) => region.copy_from_slice(&content),
                    None => {
                        object.abort();
                        return Err(FailReason::Sink("sink region shorter than asked".into()));
                    }
                }
                object.commit().map_err(|e| FailReason::Sink(e.to_string()))
            }
        }
    }

    /// Discards everything written.
    pub fn abort(self) {
        if let Region::Sink(object) = self.region {
            object.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::sink::MemorySink;
    use crate::wire::{Oti, SchemeSpecific};

    const E: u16 = 100;
    const B: u32 = 4;

    fn meta(
        transfer_length: u64,
        cenc: Cenc,
        md5: Option<String>,
        content_length: Option<u64>,
    ) -> ObjectMetadata {
        ObjectMetadata {
            content_location: Some("x".into()),
            path: None,
            content_length,
            transfer_length,
            content_type: None,
            content_md5: md5,
            oti: Oti {
                fec_encoding_id: FecEncodingId::NoCode,
                fec_instance_id: 0,
                transfer_length,
                encoding_symbol_length: E,
                maximum_source_block_length: B,
                max_number_of_encoding_symbols: B,
                scheme_specific: SchemeSpecific::None,
            },
            cenc,
            etag: None,
            groups: Vec::new(),
            cache_control: None,
            fdt_instance_id: Some(1),
        }
    }

    fn md5_text(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(Md5::digest(data))
    }

    fn start(
        sink: &mut MemorySink,
        meta: ObjectMetadata,
    ) -> Result<ObjectReceiver<<MemorySink as ObjectSink>::Object>, FailReason> {
        let partition = partition_for(&meta)?;
        let desc = ObjectDescription {
            tsi: 1,
            toi: 2,
            path: None,
            len: meta.transfer_length,
            content_type: None,
        };
        let start = ObjectStart {
            desc,
            reserved_bytes: reservation(&meta, &partition),
            meta: Arc::new(meta),
            partition,
            from_fdt: true,
        };
        ObjectReceiver::start(sink, start, true, SystemTime::UNIX_EPOCH)
    }

    /// Pushes every symbol of `wire` in the order given by `order` (a permutation seed).
    fn push_all(
        object: &mut ObjectReceiver<<MemorySink as ObjectSink>::Object>,
        wire: &[u8],
        reverse_blocks: bool,
    ) {
        let p = BlockPartition::rfc5052(wire.len() as u64, u32::from(E), B).unwrap();
        let mut blocks: Vec<u64> = (0..p.nb_blocks()).collect();
        if reverse_blocks {
            blocks.reverse();
        }
        for sbn in blocks {
            for esi in (0..p.block_len_symbols(sbn).unwrap()).rev() {
                let off = p.symbol_offset_bytes(sbn, esi).unwrap() as usize;
                let len = p.source_symbol_len_bytes(sbn, esi).unwrap() as usize;
                let pushed = object
                    .push(sbn as u32, esi, &wire[off..off + len], usize::MAX)
                    .unwrap();
                assert!(matches!(pushed, Pushed::New { .. }));
            }
        }
        assert!(object.is_complete());
    }

    #[test]
    fn md5_of_an_out_of_order_object_is_verified_from_its_growing_prefix() {
        let data: Vec<u8> = (0..2345u32).map(|i| (i * 7 + i / 300) as u8).collect();
        for reverse in [false, true] {
            let mut sink = MemorySink::new(1 << 20);
            let mut object = start(
                &mut sink,
                meta(data.len() as u64, Cenc::Null, Some(md5_text(&data)), None),
            )
            .unwrap();
            push_all(&mut object, &data, reverse);
            object.finish(&mut sink, 1 << 20).unwrap();
            assert_eq!(sink.take_completed()[0].data, data);
        }
    }

    #[test]
    fn a_wrong_md5_aborts_the_object() {
        let data = vec![5u8; 1000];
        let mut sink = MemorySink::new(1 << 20);
        let mut object = start(
            &mut sink,
            meta(1000, Cenc::Null, Some(md5_text(b"other")), None),
        )
        .unwrap();
        push_all(&mut object, &data, false);
        assert_eq!(
            object.finish(&mut sink, 1 << 20),
            Err(FailReason::Md5Mismatch)
        );
        assert!(sink.take_completed().is_empty());
        assert!(matches!(
            start(
                &mut sink,
                meta(1000, Cenc::Null, Some("not base64 md5".into()), None)
            ),
            Err(FailReason::BadMd5)
        ));
    }

    #[test]
    fn a_content_encoded_object_is_decoded_into_the_sink_and_checked() {
        let content: Vec<u8> = b"FLUTE content encoding ".repeat(200);
        let wire = cenc::encode(Cenc::Zlib, &content).unwrap();
        let mut sink = MemorySink::new(1 << 20);
        let m = meta(
            wire.len() as u64,
            Cenc::Zlib,
            Some(md5_text(&content)),
            Some(content.len() as u64),
        );
        let mut object = start(&mut sink, m).unwrap();
        push_all(&mut object, &wire, true);
        object.finish(&mut sink, 1 << 20).unwrap();
        let done = sink.take_completed();
        assert_eq!(done[0].data, content);
        assert_eq!(done[0].desc.len, content.len() as u64);
        // A Content-Length that the decoded content does not have fails the object.
        let m = meta(
            wire.len() as u64,
            Cenc::Zlib,
            None,
            Some(content.len() as u64 + 1),
        );
        let mut object = start(&mut sink, m).unwrap();
        push_all(&mut object, &wire, false);
        assert!(matches!(
            object.finish(&mut sink, 1 << 20),
            Err(FailReason::ContentLength { .. })
        ));
        assert!(sink.take_completed().is_empty());
    }
}
