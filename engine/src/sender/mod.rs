//! The sans-IO FLUTE sender (RFC 6726 over ALC RFC 5775 / LCT RFC 5651).
//!
//! A [`Sender`] takes objects ([`ObjectDesc`]: a buffer, any bytes in memory such as a
//! memory-mapped file, or a seekable stream), publishes them in FDT Instances, and writes one ALC
//! packet at a time into the caller's buffer with [`Sender::write_next`]. It never reads a clock
//! or touches a socket: the caller passes `now`, and asks [`Sender::next_timeout`] when to call
//! again.
//!
//! - `config`: priority queues, FDT publishing, FLUTE version, TOI width, carousel modes.
//! - `object`: objects, their sources, content encoding and Content-MD5.
//! - [`encoder`]: how an object's OTI is completed for its FEC scheme.
//! - `transfer`: one transfer of one object (block interleaving, headers, pacing): the hot path.
//! - `fdt`: FDT Instance IDs, serialisation, carousel and refresh.
//! - `session`: the [`Sender`] itself: queues, scheduling, publishing, carousel bookkeeping.
//! - `event`: transfer started / stopped events, polled with [`Sender::poll_event`].
//! - `toi`: TOI allocation.

pub(crate) mod config;
pub mod encoder;
mod error;
mod event;
mod fdt;
pub(crate) mod object;
mod session;
mod toi;
mod transfer;

#[cfg(test)]
mod event_tests;
#[cfg(test)]
mod tests;

pub use config::{
    CarouselRepeatMode, Config, FdtPublishMode, PriorityQueue, Profile, TargetAcquisition,
    ToiMaxLength,
};
pub use error::SenderError;
pub use event::{SenderEvent, StopReason};
pub use object::{CachePolicy, ObjectBytes, ObjectDesc, ObjectStream, TransferConfig, content_md5};
pub use session::Sender;

pub use crate::fdt::{FdtXmlProfile, OtiPlacement};
