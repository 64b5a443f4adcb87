//! The FDT-Instance (RFC 6726 §3.4.2) and its 3GPP TS 26.346 extensions (§7.2.10, Annex L.6):
//! the data model, a bounded and entity-free parser, and a writer for both XML profiles.

mod error;
mod model;
mod names;
pub mod ntp;
pub(crate) mod oti;
mod parse;
mod write;

#[cfg(test)]
mod tests;

pub use error::FdtError;
pub use model::{
    AlternateContentLocations, CacheControl, DEFAULT_SCHEMA_VERSION, FdtInstance, FecOtiAttributes,
    File, SessionIdentityExpiry,
};
pub use names::{
    NS_FDT, NS_FDT_L6, NS_MBMS_2005, NS_MBMS_2007, NS_MBMS_2008, NS_MBMS_2009, NS_MBMS_2012,
    NS_MBMS_2015, NS_SV, NS_XSI,
};
pub use oti::OtiAttributeError;
pub use parse::{ParseLimits, RejectedFile};
pub use write::{FdtXmlProfile, OtiPlacement};
