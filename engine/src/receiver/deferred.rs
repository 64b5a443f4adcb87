//! Block decodes handed out of `push` (`Config::defer_decode_from_bytes`): the receiver copies
//! a block that is ready to decode, with its decoder, into a [`DecodeJob`]; the caller runs the
//! job anywhere (it holds only owned data and computes) and gives it back, and the receiver
//! copies the recovered block into the object's region. Meanwhile the block's symbols are not
//! taken (the decode recovers them), and an object that ended meanwhile drops the job.

use std::sync::atomic::{AtomicU64, Ordering};

use super::budget::{Budget, Charge};
use super::decoding::BlockDecoder;
use super::event::ReceiverEndpoint;
use crate::fec::FecError;

/// Blocks of one object away at once; past this a block is decoded in `push`.
const AWAY_PER_OBJECT: usize = 4;

/// Object identities, so that a job never lands in a later object of the same TOI.
static NEXT_OBJECT: AtomicU64 = AtomicU64::new(1);

/// A fresh identity for an object.
pub(super) fn object_id() -> u64 {
    NEXT_OBJECT.fetch_add(1, Ordering::Relaxed)
}

/// The decode of one block, out of the receiver: run it ([`DecodeJob::run`]) on any thread,
/// then give it back with `MultiReceiver::finish_decode`.
#[derive(Debug)]
pub struct DecodeJob {
    pub(super) session: ReceiverEndpoint,
    pub(super) toi: u128,
    pub(super) object: u64,
    pub(super) block: AwayBlock,
}

impl DecodeJob {
    /// Decodes the block (CPU only; a second call does nothing).
    pub fn run(&mut self) {
        let away = &mut self.block;
        if away.outcome.is_none() {
            away.outcome = Some(away.decoder.decode(&mut away.bytes, away.max_cost));
        }
    }
}

/// A block away from its object.
#[derive(Debug)]
pub(super) struct AwayBlock {
    pub sbn: u32,
    pub decoder: BlockDecoder,
    /// The block's bytes, the source symbols received in place.
    pub bytes: Vec<u8>,
    pub max_cost: u64,
    /// Source symbols missing when it went: what a decode recovers.
    pub missing: u32,
    pub outcome: Option<Result<bool, FecError>>,
    /// The copy and the decode's scratch on the memory budget.
    pub _charge: Charge,
}

/// Where a block ready to decode is decoded (see [`Deferral::take`]).
pub(super) enum Away {
    /// In `push`.
    No,
    /// Not now: the block waits for its next symbol.
    Later,
    /// Out of `push`, its copy charged.
    Now(Charge),
}

/// An object's decodes out of `push`.
#[derive(Debug)]
pub(super) struct Deferral {
    pub from_bytes: u64,
    pub budget: Budget,
    /// Blocks away, by SBN.
    pub away: super::Map<u32, ()>,
    /// Blocks ready to go, until the session takes them.
    pub ready: Vec<AwayBlock>,
}

impl Deferral {
    pub(super) fn new(from_bytes: u64, budget: Budget) -> Self {
        Self {
            from_bytes,
            budget,
            away: super::Map::default(),
            ready: Vec::new(),
        }
    }

    /// Whether a block of `len` bytes that is ready to decode goes out of `push`: with the
    /// charge for its copy, or later, once the object's blocks away have come back and given
    /// their room back (its next symbol tries again). Decoded in `push` only when it is small,
    /// or when nothing of the object is away to give room back, so that an object always
    /// moves on.
    /// The charge covers the copy and what the decode may allocate (`attempt`), so that the
    /// decodes out are on the memory budget while they run.
    pub(super) fn take(&self, len: u64, attempt: u64) -> Away {
        if len < self.from_bytes {
            return Away::No;
        }
        if self.away.len() >= AWAY_PER_OBJECT {
            return Away::Later;
        }
        match self.budget.charge(len.saturating_add(attempt)) {
            Some(charge) => Away::Now(charge),
            None if self.away.is_empty() => Away::No,
            None => Away::Later,
        }
    }

    pub(super) fn is_away(&self, sbn: u32) -> bool {
        !self.away.is_empty() && self.away.contains_key(&sbn)
    }
}
