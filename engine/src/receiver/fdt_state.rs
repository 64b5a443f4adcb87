//! The FDT side of a session (RFC 6726 §3.2–3.4): FDT instances received as TOI 0 objects,
//! capped in size, content-decoded and parsed with bounds; and the descriptions of the files
//! they announce, with the File entry's defaults taken from its FDT-Instance.

use std::sync::Arc;
use std::time::SystemTime;

use crate::cenc::Cenc;
use crate::fdt::{CacheControl, FdtInstance, FecOtiAttributes, File, ParseLimits, RejectedFile};
use crate::wire::Oti;

use super::budget::{Budget, Charge};
use super::config::Limits;
use super::error::{DropReason, FailReason, ReceiverError};
use super::event::ObjectMetadata;
use super::object::{ObjectReceiver, ObjectStart, bookkeeping_bytes, is_supported, partition_for};
use super::path::{PathError, SafeRelativePath};
use super::sink::{MemorySinkObject, ObjectDescription};

/// One File entry of an FDT instance, with the instance's defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FdtFile {
    pub content_location: String,
    pub path: Result<SafeRelativePath, PathError>,
    pub content_length: Option<u64>,
    pub transfer_length: Option<u64>,
    pub content_type: Option<String>,
    pub content_md5: Option<String>,
    /// `Err` carries a Content-Encoding name that is not known.
    pub cenc: Result<Cenc, String>,
    pub fec_oti: FecOtiAttributes,
    pub etag: Option<String>,
    pub groups: Vec<String>,
    pub cache_control: Option<CacheControl>,
    pub fdt_instance_id: u32,
}

impl FdtFile {
    /// The description of `file` in `instance`.
    pub(super) fn new(instance: &FdtInstance, file: &File, fdt_instance_id: u32) -> Self {
        let mut groups = instance.groups.clone();
        groups.extend(file.groups.iter().cloned());
        Self {
            content_location: file.content_location.clone(),
            path: SafeRelativePath::from_content_location(&file.content_location),
            content_length: file.content_length,
            transfer_length: file.transfer_length,
            content_type: instance.content_type_for(file).map(str::to_owned),
            content_md5: file.content_md5.clone(),
            cenc: instance.cenc_for(file).map_err(str::to_owned),
            fec_oti: instance.fec_oti_for(file),
            etag: file.file_etag.clone(),
            groups,
            cache_control: file.cache_control,
            fdt_instance_id,
        }
    }

    /// Memory this description holds, roughly: what the description budget is charged.
    pub(super) fn approx_bytes(&self) -> usize {
        let strings = [
            Some(&self.content_location),
            self.content_type.as_ref(),
            self.content_md5.as_ref(),
            self.etag.as_ref(),
        ];
        let path = self
            .path
            .as_ref()
            .map_or(0, |p| p.components().iter().map(|c| c.len() + 24).sum());
        std::mem::size_of::<Self>()
            + strings.iter().flatten().map(|s| s.len()).sum::<usize>()
            + self.groups.iter().map(|g| g.len() + 24).sum::<usize>()
            + self
                .fec_oti
                .scheme_specific_info
                .as_ref()
                .map_or(0, Vec::len)
            + path
    }

    /// Whether `other` describes the same object (a carousel repeat), as opposed to new content
    /// under the same TOI: same name, lengths, digest, encoding, entity tag and FEC parameters.
    pub(super) fn same_object(&self, other: &FdtFile) -> bool {
        self.content_location == other.content_location
            && self.content_length == other.content_length
            && self.transfer_length == other.transfer_length
            && self.content_md5 == other.content_md5
            && self.cenc == other.cenc
            && self.etag == other.etag
            && self.fec_oti == other.fec_oti
    }
}

/// A TOI's description and how long it lives.
#[derive(Debug)]
pub(crate) struct FileSlot {
    pub file: Arc<FdtFile>,
    /// When the last FDT instance listing it expires (`None`: expiry not checked).
    pub expires_at: Option<SystemTime>,
    /// The session's count of FDT instances taken when the last one listing it was taken:
    /// of two TOIs with one Content-Location, the one listed later is the current version.
    pub listed: u64,
    /// A packet found the description unusable (a refused name, an invalid OTI, an unknown
    /// encoding ...) and the `Failed` event saying why has been queued: once per description.
    pub refusal_reported: bool,
    /// Its bytes, charged to `Limits::max_description_bytes` and to the memory budget while
    /// it is kept.
    #[expect(dead_code, reason = "held for its drop, which gives the bytes back")]
    pub charges: DescriptionCharges,
}

/// What a kept file description is charged to: see [`FileSlot::charges`].
#[derive(Debug)]
pub(crate) struct DescriptionCharges {
    #[expect(dead_code, reason = "held for its drop, which gives the bytes back")]
    pub descriptions: Charge,
    #[expect(dead_code, reason = "held for its drop, which gives the bytes back")]
    pub memory: Charge,
}

/// An FDT instance being received (TOI 0, RFC 6726 §3.3): an object like any other, with its
/// FEC (repair symbols decode lost ones) and content encoding, held in memory within the FDT
/// size cap: its bookkeeping when it starts, its bytes and FEC scratch as they land, all
/// charged to the receiver's memory budget until it drops, never its declared size up
/// front.
#[derive(Debug)]
pub(crate) struct FdtReceiving {
    object: ObjectReceiver<MemorySinkObject>,
    max_fdt_bytes: usize,
    pub last_activity: SystemTime,
    fingerprint: FdtFingerprint,
}

/// What tells one FDT instance from another that reuses its FDT Instance ID: its FEC OTI and
/// the payload of its first source symbol (SBN 0, ESI 0), which begins with the instance's
/// `Expires` and first `File` entries. A sender restarted with the same TSI numbers its
/// instances from the same first ID again (flute issue #49); without this, the receiver would
/// take its new instances for repeats of the old ones until those expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FdtFingerprint {
    oti: Oti,
    first_symbol: Option<Box<[u8]>>,
}

impl FdtFingerprint {
    /// Whether a packet of an instance with this fingerprint's ID, carrying `fti` (its EXT_FTI,
    /// if any) and `payload` at (`sbn`, `esi`), may belong to the same instance. A first symbol
    /// not seen while the instance was received (lost and decoded) is taken from the first
    /// repeat.
    pub(super) fn matches(
        &mut self,
        fti: Option<&Oti>,
        sbn: u32,
        esi: u32,
        payload: &[u8],
    ) -> bool {
        if fti.is_some_and(|oti| *oti != self.oti) {
            return false;
        }
        if sbn != 0 || esi != 0 {
            return true;
        }
        match &self.first_symbol {
            Some(first) => **first == *payload,
            None => {
                self.first_symbol = Some(payload.into());
                true
            }
        }
    }
}

/// Blocks of one FDT instance decoded at once.
const FDT_MAX_CONCURRENT_BLOCKS: usize = 64;

impl FdtReceiving {
    /// Starts receiving an instance described by the EXT_FTI (and EXT_CENC) of its packets,
    /// charging its bookkeeping, and then what it allocates, to `memory`.
    pub(super) fn new(
        oti: &Oti,
        cenc: Cenc,
        limits: &Limits,
        memory: &Budget,
        now: SystemTime,
    ) -> Result<Self, Box<ReceiverError>> {
        let max_fdt_bytes = limits.max_fdt_bytes;
        if !is_supported(oti) {
            return Err(ReceiverError::UnsupportedFec(oti.fec_encoding_id).into());
        }
        if oti.transfer_length > max_fdt_bytes as u64 {
            return Err(DropReason::FdtTooLarge.into());
        }
        let meta = ObjectMetadata {
            content_location: None,
            path: None,
            content_length: None,
            transfer_length: oti.transfer_length,
            content_type: None,
            content_md5: None,
            oti: *oti,
            cenc,
            etag: None,
            groups: Vec::new(),
            cache_control: None,
            fdt_instance_id: None,
        };
        let partition = partition_for(&meta).map_err(|_| DropReason::FdtInvalid)?;
        let Some(memory) = memory.charge(bookkeeping_bytes(&partition)) else {
            return Err(DropReason::MemoryLimit.into());
        };
        let start = ObjectStart {
            desc: ObjectDescription {
                tsi: 0,
                toi: 0,
                path: None,
                len: oti.transfer_length,
                content_type: None,
            },
            meta: Arc::new(meta),
            partition,
            from_fdt: false,
            receiving: Charge::nothing(),
            memory,
            max_decode_cost: limits.max_decode_cost,
        };
        let object =
            ObjectReceiver::start_in_memory(start, now).map_err(|_| DropReason::FdtTooLarge)?;
        Ok(Self {
            object,
            max_fdt_bytes,
            last_activity: now,
            fingerprint: FdtFingerprint {
                oti: *oti,
                first_symbol: None,
            },
        })
    }

    /// Stores one payload (source or repair symbol), charging what it allocates to the memory
    /// budget; `true` once the instance is complete.
    pub(super) fn push(&mut self, sbn: u32, esi: u32, payload: &[u8]) -> Result<bool, DropReason> {
        if sbn == 0 && esi == 0 && self.fingerprint.first_symbol.is_none() {
            self.fingerprint.first_symbol = Some(payload.into());
        }
        // Its region grows to at most its Transfer-Length (within the FDT cap), and its FEC
        // scratch to about as much: bounded by the cap as well as by the budget.
        self.object
            .push(sbn, esi, payload, None, FDT_MAX_CONCURRENT_BLOCKS)
            .map_err(|e| e.reason())?;
        Ok(self.object.is_complete())
    }

    /// What tells this instance from another with the same ID.
    pub(super) fn fingerprint(&self) -> FdtFingerprint {
        self.fingerprint.clone()
    }

    /// Decodes and parses the complete instance, leaving out (and returning) the File entries
    /// with an invalid value.
    pub(super) fn parse(
        self,
        max_files: usize,
    ) -> Result<(FdtInstance, Vec<RejectedFile>), Box<ReceiverError>> {
        let limits = ParseLimits {
            max_document_bytes: self.max_fdt_bytes,
            max_files,
        };
        let xml = self.into_bytes()?;
        Ok(FdtInstance::parse_lenient(&xml, &limits)?)
    }

    /// The complete object's bytes, content-decoded within the FDT cap.
    pub(super) fn into_bytes(self) -> Result<Vec<u8>, Box<ReceiverError>> {
        self.object
            .finish_in_memory(self.max_fdt_bytes)
            .map_err(|e| match e {
                FailReason::ContentDecoding(e) => Box::new(ReceiverError::FdtDecoding(e)),
                _ => Box::new(ReceiverError::Dropped(DropReason::FdtInvalid)),
            })
    }
}
