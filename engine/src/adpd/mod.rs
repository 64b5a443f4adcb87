//! The associated delivery procedure description (ADPD) of 3GPP TS 26.346 §9.3 and §5.3: the
//! XML document (`application/mbms-associated-procedure-description+xml`, namespace
//! `urn:3GPP:metadata:2005:MBMS:associatedProcedure`) that tells a receiver where to repair the
//! files of a download session over unicast, and how long to wait before it asks:
//!
//! ```xml
//! <associatedProcedureDescription xmlns="urn:3GPP:metadata:2005:MBMS:associatedProcedure">
//!   <postFileRepair offsetTime="5" randomTimePeriod="10">
//!     <serverURI>http://repair.example/files/</serverURI>
//!   </postFileRepair>
//! </associatedProcedureDescription>
//! ```
//!
//! Only `postFileRepair` is modelled (its `serverURI`s in document order, `offsetTime` and
//! `randomTimePeriod` in seconds); every other element (`postReceptionReport`, `bmFileRepair`,
//! extensions in other namespaces) is skipped when read. A sender may carry the document as an
//! object of the session itself, which its FDT lists with [`CONTENT_TYPE`]; xflute's senders
//! name it [`CONTENT_LOCATION`]. Sans-IO: text in, text out.

mod parse;
mod write;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use parse::{AdpdError, ParseLimits};

/// The namespace of the document (TS 26.346 §9.5).
pub const NAMESPACE: &str = "urn:3GPP:metadata:2005:MBMS:associatedProcedure";
/// The Content-Type of the document (TS 26.346 Annex C, registered with IANA).
pub const CONTENT_TYPE: &str = "application/mbms-associated-procedure-description+xml";
/// The Content-Location xflute's senders give the document in their sessions' FDTs. The
/// standard names none; a `urn:` cannot be the location of a file a sender carries, which is
/// `file:///PATH` or a relative path whose first segment holds no `:`.
pub const CONTENT_LOCATION: &str = "urn:xflute:associated-procedure-description";

/// Whether an FDT entry with this Content-Location and Content-Type is an associated delivery
/// procedure description: its type says so (parameters such as `charset` and case aside), or it
/// has xflute's location (a sender may leave the type out).
pub fn is_associated_procedure_description(
    content_location: Option<&str>,
    content_type: Option<&str>,
) -> bool {
    let media_type = |t: &str| t.split(';').next().unwrap_or_default().trim().to_owned();
    content_type.is_some_and(|t| media_type(t).eq_ignore_ascii_case(CONTENT_TYPE))
        || content_location.is_some_and(|l| l.trim() == CONTENT_LOCATION)
}

/// An `associatedProcedureDescription` document, the part a file receiver acts on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssociatedProcedureDescription {
    /// `postFileRepair`: the file repair procedure (TS 26.346 §9.3); `None` when the document
    /// describes none.
    pub post_file_repair: Option<PostFileRepair>,
}

/// `postFileRepair` (TS 26.346 §9.3.2 to §9.3.4): the repair servers and the back-off.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostFileRepair {
    /// `serverURI`s, in document order, as written (trimmed). A receiver picks among them;
    /// xflute tries them in this order.
    pub server_uris: Vec<String>,
    /// `offsetTime`, seconds: how long after the end of a file's transmission a receiver waits
    /// before its first repair request.
    pub offset_time_s: Option<u64>,
    /// `randomTimePeriod`, seconds: the window, after the offset time, in which a receiver
    /// picks a uniformly random moment for its first request, so that receivers that lost
    /// the same packets do not all ask at once. Required by the schema; `None` when absent.
    pub random_time_period_s: Option<u64>,
}

impl PostFileRepair {
    /// A description of `server_uris` with no back-off of its own.
    pub fn new(server_uris: Vec<String>) -> Self {
        Self {
            server_uris,
            offset_time_s: None,
            random_time_period_s: None,
        }
    }

    /// `offsetTime` as a duration, when given.
    pub fn offset_time(&self) -> Option<Duration> {
        self.offset_time_s.map(Duration::from_secs)
    }

    /// `randomTimePeriod` as a duration, when given.
    pub fn random_time_period(&self) -> Option<Duration> {
        self.random_time_period_s.map(Duration::from_secs)
    }
}

impl AssociatedProcedureDescription {
    /// A document that describes the file repair procedure `repair` alone.
    pub fn file_repair(repair: PostFileRepair) -> Self {
        Self {
            post_file_repair: Some(repair),
        }
    }

    /// The repair servers the document announces, in document order (none without
    /// `postFileRepair`).
    pub fn server_uris(&self) -> &[String] {
        self.post_file_repair
            .as_ref()
            .map_or(&[], |r| r.server_uris.as_slice())
    }
}
