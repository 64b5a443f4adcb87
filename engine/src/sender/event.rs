//! What the sender tells its user, sans-IO style: the flute crate's observer events
//! (`StartTransfer`, `StopTransfer`) as a bounded queue taken with `Sender::poll_event`, the way
//! quinn-proto hands out its events instead of calling back into the application.
//!
//! Events fire at the moments flute fires its own: a transfer starts each time an object (not
//! the FDT) begins a pass (every carousel round and every repetition up to its max transfer
//! count), and stops when that pass ends, whether sent in full, cut short because the object was
//! removed, or failed. An object removed while waiting for its next pass gets no event, as in
//! flute: the caller who removed it already knows.

use std::collections::VecDeque;
use std::time::SystemTime;

/// Why a transfer stopped, and so whether the object is still in the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// Sent in full; the object stays in the session for its next transfer (max transfer
    /// count not reached yet, or a carousel).
    Sent,
    /// Sent in full for the last time (its max transfer count reached, no carousel): the
    /// object has left the session and its TOI may be allocated again.
    Expired,
    /// `Sender::remove_object` was called during the transfer: it ended early with a Close
    /// Object packet, or in full if the object had never been sent whole before (and did not
    /// allow an immediate stop). The object has left the session.
    Removed,
    /// The transfer could not go on (its stream broke or ended early); the object was dropped
    /// from the session. `Sender::try_write_next` returned the error.
    Failed,
}

impl StopReason {
    /// True when the object has left the session with this transfer.
    pub fn is_final(self) -> bool {
        self != Self::Sent
    }
}

/// Something that happened to a transfer of an object (never the FDT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SenderEvent {
    /// A transfer of object `toi` started (flute's `Event::StartTransfer`).
    TransferStarted {
        /// The object's TOI.
        toi: u128,
        /// The `now` of the call that started it.
        now: SystemTime,
        /// Which transfer of the object this is, from 1, over the object's life (carousel
        /// rounds included).
        transfer: u64,
    },
    /// That transfer stopped (flute's `Event::StopTransfer`).
    TransferStopped {
        /// The object's TOI.
        toi: u128,
        /// The `now` of the call that wrote its last packet (or that failed).
        now: SystemTime,
        /// Which transfer of the object this was, as in its `TransferStarted`.
        transfer: u64,
        /// Why it stopped, and whether the object is still in the session.
        reason: StopReason,
    },
}

impl SenderEvent {
    /// The TOI the event is about.
    pub fn toi(&self) -> u128 {
        match self {
            Self::TransferStarted { toi, .. } | Self::TransferStopped { toi, .. } => *toi,
        }
    }

    /// When it happened, as the caller's clock said.
    pub fn now(&self) -> SystemTime {
        match self {
            Self::TransferStarted { now, .. } | Self::TransferStopped { now, .. } => *now,
        }
    }
}

/// Events reserved up front: pushing the first ones never allocates, and a sender with a large
/// cap that nobody polls does not pay for it at creation.
const PREALLOCATED_EVENTS: usize = 64;

/// The events not yet polled, at most `cap`; past it new events are counted, not queued, so a
/// sender nobody polls stays bounded and stops allocating for events once the queue is full.
#[derive(Debug)]
pub(crate) struct EventQueue {
    events: VecDeque<SenderEvent>,
    cap: usize,
    dropped: u64,
}

impl EventQueue {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            events: VecDeque::with_capacity(cap.min(PREALLOCATED_EVENTS)),
            cap,
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, event: SenderEvent) {
        if self.events.len() >= self.cap {
            self.dropped += 1;
        } else {
            self.events.push_back(event);
        }
    }

    pub(crate) fn pop(&mut self) -> Option<SenderEvent> {
        self.events.pop_front()
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(toi: u128) -> SenderEvent {
        SenderEvent::TransferStarted {
            toi,
            now: SystemTime::UNIX_EPOCH,
            transfer: 1,
        }
    }

    #[test]
    fn a_full_queue_counts_what_it_drops_and_keeps_the_oldest() {
        let mut q = EventQueue::new(2);
        for toi in 1..=5 {
            q.push(started(toi));
        }
        assert_eq!(q.dropped(), 3);
        assert_eq!(q.pop().map(|e| e.toi()), Some(1));
        q.push(started(6));
        assert_eq!(q.pop().map(|e| e.toi()), Some(2));
        assert_eq!(q.pop().map(|e| e.toi()), Some(6));
        assert_eq!(q.pop(), None);
        assert_eq!(q.dropped(), 3);
    }

    #[test]
    fn a_zero_cap_queues_nothing() {
        let mut q = EventQueue::new(0);
        q.push(started(1));
        assert_eq!(q.pop(), None);
        assert_eq!(q.dropped(), 1);
    }

    #[test]
    fn a_full_queue_never_grows_past_its_cap() {
        let mut q = EventQueue::new(100);
        for toi in 0..10_000 {
            q.push(started(toi));
        }
        let capacity = q.events.capacity();
        for toi in 0..10_000 {
            q.push(started(toi));
        }
        assert_eq!(q.events.len(), 100);
        assert_eq!(q.events.capacity(), capacity);
        assert!(capacity < 2 * 100);
    }
}
