//! What the receiver tells its user, sans-IO style: events queued by `push`/`cleanup` and taken
//! with `MultiReceiver::poll_event`, each carrying the object's FDT metadata (RFC 6726 §3.4.2,
//! TS 26.346 §7.2.10).

use std::sync::Arc;

use crate::cenc::Cenc;
use crate::endpoint::UdpEndpoint;
use crate::fdt::CacheControl;
use crate::wire::Oti;

use super::error::FailReason;
use super::path::SafeRelativePath;

/// A FLUTE session: the UDP endpoint its packets arrive on and its TSI (RFC 6726 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReceiverEndpoint {
    /// The UDP endpoint.
    pub endpoint: UdpEndpoint,
    /// Transport Session Identifier.
    pub tsi: u64,
}

/// What is known about an object when it starts: its FDT File entry (with the FDT-Instance's
/// defaults applied) and the FEC parameters it is received with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMetadata {
    /// Content-Location from the FDT; `None` for an object known only by EXT_FTI.
    pub content_location: Option<String>,
    /// Where the object goes below the output directory, when a Content-Location gives it.
    pub path: Option<SafeRelativePath>,
    /// Content-Length: the size after content decoding, when the FDT gives it.
    pub content_length: Option<u64>,
    /// Transfer-Length: the size of the transport object, as received.
    pub transfer_length: u64,
    /// Content-Type.
    pub content_type: Option<String>,
    /// Content-MD5 as written in the FDT (base64).
    pub content_md5: Option<String>,
    /// The FEC Object Transmission Information the object is received with.
    pub oti: Oti,
    /// Content encoding of the transport object.
    pub cenc: Cenc,
    /// mbms2012 File-ETag.
    pub etag: Option<String>,
    /// mbms2005 Groups of the File and of its FDT-Instance.
    pub groups: Vec<String>,
    /// mbms2007 Cache-Control.
    pub cache_control: Option<CacheControl>,
    /// The FDT instance that described the object, if any.
    pub fdt_instance_id: Option<u32>,
}

/// Something that happened to an object.
#[derive(Debug, PartialEq, Eq)]
pub enum ObjectEvent {
    /// The receiver started storing an object.
    Started {
        /// Its session.
        session: ReceiverEndpoint,
        /// Its TOI.
        toi: u128,
        /// Its metadata.
        meta: Arc<ObjectMetadata>,
    },
    /// More of an object arrived (coalesced: at most one queued per object between polls).
    Progress {
        /// Its session.
        session: ReceiverEndpoint,
        /// Its TOI.
        toi: u128,
        /// Transport-object bytes received so far.
        received_bytes: u64,
        /// Its Transfer-Length.
        transfer_length: u64,
    },
    /// The object is complete, verified and committed to the sink.
    Completed {
        /// Its session.
        session: ReceiverEndpoint,
        /// Its TOI.
        toi: u128,
        /// Its metadata.
        meta: Arc<ObjectMetadata>,
    },
    /// The object will not be delivered; the sink discarded it.
    Failed {
        /// Its session.
        session: ReceiverEndpoint,
        /// Its TOI.
        toi: u128,
        /// Its metadata, when it got far enough to have some.
        meta: Option<Arc<ObjectMetadata>>,
        /// Why.
        reason: FailReason,
    },
}

impl ObjectEvent {
    /// The TOI the event is about.
    pub fn toi(&self) -> u128 {
        match self {
            ObjectEvent::Started { toi, .. }
            | ObjectEvent::Progress { toi, .. }
            | ObjectEvent::Completed { toi, .. }
            | ObjectEvent::Failed { toi, .. } => *toi,
        }
    }

    /// The session the event is about.
    pub fn session(&self) -> &ReceiverEndpoint {
        match self {
            ObjectEvent::Started { session, .. }
            | ObjectEvent::Progress { session, .. }
            | ObjectEvent::Completed { session, .. }
            | ObjectEvent::Failed { session, .. } => session,
        }
    }
}
