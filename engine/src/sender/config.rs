//! Sender configuration, named after the flute crate's so that its users find their way:
//! priority queues, FDT publishing (RFC 6726 §3.2, §3.4), FLUTE version, TOI width, carousel and
//! target acquisition.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::cenc::Cenc;
use crate::fdt::{FdtXmlProfile, OtiPlacement};
use crate::wire::LctWidths;

/// One priority queue: objects in a higher-priority queue (lower number) are always sent before
/// those of a lower one; inside a queue, up to `multiplex_files` objects are sent in parallel,
/// one packet each in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorityQueue {
    /// How many objects of this queue are interleaved packet by packet; 0 and 1 both mean one
    /// after the other.
    pub multiplex_files: u32,
}

impl PriorityQueue {
    /// The highest priority.
    pub const HIGHEST: u32 = 0;
    /// High priority.
    pub const HIGH: u32 = 1;
    /// Medium priority.
    pub const MEDIUM: u32 = 2;
    /// Low priority.
    pub const LOW: u32 = 3;
    /// The lowest of the named priorities.
    pub const VERYLOW: u32 = 4;

    /// A queue multiplexing up to `multiplex_files` objects.
    pub fn new(multiplex_files: u32) -> Self {
        Self { multiplex_files }
    }
}

/// What each FDT Instance lists, and when one is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FdtPublishMode {
    /// Every object of the session; an instance is published when the caller calls
    /// `publish` (and automatically before the first packet and before the current one expires).
    /// An object is sent only once an instance listing it has been published.
    #[default]
    FullFdt,
    /// Only the objects being transferred; a new instance is published each time an object's
    /// transfer starts, and goes out before the object's first packet.
    ObjectsBeingTransferred,
}

/// Width of the TOIs the allocator hands out (the LCT header then carries each TOI in the
/// fewest half-words that hold it, RFC 5651 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToiMaxLength {
    /// 16 bits.
    ToiMax16,
    /// 32 bits.
    ToiMax32,
    /// 48 bits.
    ToiMax48,
    /// 64 bits.
    ToiMax64,
    /// 80 bits.
    ToiMax80,
    /// 112 bits, the widest TOI field.
    #[default]
    ToiMax112,
}

impl ToiMaxLength {
    /// Every width, narrowest first.
    pub const ALL: [ToiMaxLength; 6] = [
        ToiMaxLength::ToiMax16,
        ToiMaxLength::ToiMax32,
        ToiMaxLength::ToiMax48,
        ToiMaxLength::ToiMax64,
        ToiMaxLength::ToiMax80,
        ToiMaxLength::ToiMax112,
    ];

    /// The width in bits.
    pub fn bits(self) -> u32 {
        match self {
            Self::ToiMax16 => 16,
            Self::ToiMax32 => 32,
            Self::ToiMax48 => 48,
            Self::ToiMax64 => 64,
            Self::ToiMax80 => 80,
            Self::ToiMax112 => 112,
        }
    }

    /// The largest TOI of this width.
    pub fn max_toi(self) -> u128 {
        (1u128 << self.bits()) - 1
    }
}

/// The FLUTE version spoken, carried in EXT_FDT's V field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// FLUTE version 2 (RFC 6726).
    #[default]
    Rfc6726,
    /// FLUTE version 1 (RFC 3926).
    Rfc3926,
}

impl Profile {
    /// The EXT_FDT version number.
    pub fn flute_version(self) -> u8 {
        match self {
            Self::Rfc6726 => 2,
            Self::Rfc3926 => 1,
        }
    }
}

/// How an object (or the FDT) is repeated once its transfers are done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarouselRepeatMode {
    /// The next round starts this long after the end of the previous transfer.
    DelayBetweenTransfers(Duration),
    /// Rounds start this long apart, start to start (or back to back if a transfer takes
    /// longer).
    IntervalBetweenStartTimes(Duration),
}

/// How fast one transfer of an object goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetAcquisition {
    /// Every packet as soon as the caller asks.
    #[default]
    AsFastAsPossible,
    /// Packets spread evenly so that the transfer lasts this long.
    WithinDuration(Duration),
    /// Packets spread evenly so that the transfer ends by this time.
    WithinTime(SystemTime),
}

/// Configuration of a [`super::Sender`].
#[derive(Debug, Clone)]
pub struct Config {
    /// How long each FDT Instance is valid: Expires = now + this (RFC 6726 §3.4.2).
    pub fdt_duration: Duration,
    /// How the current FDT Instance is repeated.
    pub fdt_carousel_mode: CarouselRepeatMode,
    /// FDT Instance ID of the first instance (20 bits; it wraps to 0 after 2^20 - 1).
    pub fdt_start_id: u32,
    /// Content encoding of the FDT Instance itself, announced by EXT_CENC.
    pub fdt_cenc: Cenc,
    /// Put the Sender Current Time (EXT_TIME) in every FDT packet.
    pub fdt_inband_sct: bool,
    /// What each FDT Instance lists.
    pub fdt_publish_mode: FdtPublishMode,
    /// The FDT XML schema.
    pub fdt_xml_profile: FdtXmlProfile,
    /// Where the FDT carries the FEC OTI attributes: by default on each `File` as well as on
    /// the instance, which both flute and GPAC (it reads them only from `File`) take.
    pub fdt_oti_placement: OtiPlacement,
    /// Priority queues by priority (lower is sent first).
    pub priority_queues: BTreeMap<u32, PriorityQueue>,
    /// How many source blocks of one object are sent interleaved, symbol by symbol in turn
    /// (0 means 1: block after block); default [`Config::DEFAULT_INTERLEAVE_BLOCKS`]. A burst of
    /// b lost packets then costs each of the W blocks about b/W symbols instead of costing one
    /// block all b, so blocks with r repair symbols each recover bursts up to about W·r packets
    /// (Reed-Solomon k = 64, r = 16, W = 4: about 64). A receiver holds the W blocks in flight
    /// at once: for each that needs repair, a decoder charged min(k, r) symbols (Reed-Solomon)
    /// or k + 32 (RaptorQ, Raptor) against its memory budget, so a larger W suits small
    /// blocks. With No-Code it changes nothing about losses and costs nothing: blocks without
    /// repair symbols hold no decoder, which is why the default does not depend on the scheme.
    pub interleave_blocks: u32,
    /// FLUTE version.
    pub profile: Profile,
    /// Width of allocated TOIs.
    pub toi_max_length: ToiMaxLength,
    /// First TOI the allocator hands out (0, the FDT's TOI, is skipped). flute's `None` (a
    /// random start, so that a restarted sender does not reuse the TOIs receivers cached) is
    /// [`crate::random::random_toi`], drawn by the caller: the sender itself stays
    /// deterministic.
    pub toi_initial_value: u128,
    /// mbms2005 Group elements of every FDT Instance.
    pub groups: Vec<String>,
    /// Put the object's FEC OTI (EXT_FTI) in every data packet; FDT packets always carry it.
    pub inband_fti: bool,
    /// How the LCT headers' TSI and TOI fields are sized: flute's minimal widths by default.
    pub lct_widths: LctWidths,
    /// Send each Compact No-Code object (FEC Encoding ID 0) as one source block when its 16-bit
    /// ESI can number every symbol (up to 65536): receivers such as GPAC ignore the source
    /// block number. Larger objects keep the session's block length.
    pub no_code_one_block: bool,
    /// Transfer events ([`super::SenderEvent`]) queued and not yet taken with
    /// [`super::Sender::poll_event`]; past it, new events are dropped and counted
    /// ([`super::Sender::events_dropped`]). Each transfer of an object queues two, so the default
    /// 1024 holds 512 transfers between polls; 0 turns events off.
    pub max_events: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            fdt_duration: Duration::from_secs(3600),
            fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(Duration::from_secs(1)),
            fdt_start_id: 1,
            fdt_cenc: Cenc::Null,
            fdt_inband_sct: true,
            fdt_publish_mode: FdtPublishMode::FullFdt,
            fdt_xml_profile: FdtXmlProfile::Extended,
            fdt_oti_placement: OtiPlacement::EachFile,
            priority_queues: BTreeMap::from([(PriorityQueue::HIGHEST, PriorityQueue::new(3))]),
            interleave_blocks: Self::DEFAULT_INTERLEAVE_BLOCKS,
            profile: Profile::Rfc6726,
            toi_max_length: ToiMaxLength::ToiMax112,
            toi_initial_value: 1,
            groups: Vec::new(),
            inband_fti: true,
            lct_widths: LctWidths::Minimal,
            no_code_one_block: false,
            max_events: 1024,
        }
    }
}

/// No-Code ESIs are 16 bits (RFC 5445 §2.1): a block holds at most this many symbols.
pub(crate) const NO_CODE_MAX_BLOCK_SYMBOLS: u64 = 1 << 16;

impl Config {
    /// Source blocks interleaved by default ([`Config::interleave_blocks`]): with blocks of 64
    /// symbols and 13 repair symbols (20%, `xflute send`'s default), bursts of up to 52 packets
    /// are repaired, while a receiver keeps at most four blocks' decoders per object.
    pub const DEFAULT_INTERLEAVE_BLOCKS: u32 = 4;

    /// This configuration with the choices DVB-MABR FLUTE receivers (ETSI TS 103 769, as GPAC
    /// implements them) expect: FEC OTI on each FDT `File`, each No-Code object in one source
    /// block, EXT_FTI only in FDT packets (GPAC takes any packet that has one for part of an
    /// FDT), an FDT that is not content-encoded, and TOIs of at most 32 bits (the widest LCT
    /// field GPAC reads). The objects themselves must be No-Code and not content-encoded, which
    /// is the caller's choice per object.
    pub fn with_dvb_mabr_profile(self) -> Self {
        Self {
            fdt_oti_placement: OtiPlacement::EachFile,
            no_code_one_block: true,
            inband_fti: false,
            fdt_cenc: Cenc::Null,
            toi_max_length: ToiMaxLength::ToiMax32,
            toi_initial_value: self.toi_initial_value & ToiMaxLength::ToiMax32.max_toi(),
            // GPAC reads 16- and 32-bit TOIs only, and a Close Session packet only with a TOI.
            lct_widths: LctWidths::Words16Or32,
            ..self
        }
    }

    /// Adds or replaces the queue of `priority`.
    pub fn set_priority_queue(&mut self, priority: u32, queue: PriorityQueue) {
        self.priority_queues.insert(priority, queue);
    }

    /// Removes the queue of `priority`.
    pub fn remove_priority_queue(&mut self, priority: u32) {
        self.priority_queues.remove(&priority);
    }
}
