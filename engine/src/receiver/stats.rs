//! Receiver counters: packets and bytes in, drops by [`DropReason`], objects completed and
//! failed. Plain integers, updated on the packet path without allocation.

use super::error::DropReason;

/// What a [`super::MultiReceiver`] has done so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiverStats {
    /// Packets pushed.
    pub packets: u64,
    /// Bytes pushed (whole ALC packets).
    pub bytes: u64,
    /// Source symbol bytes copied into objects.
    pub payload_bytes: u64,
    /// Packets of sessions the TSI filter does not accept.
    pub filtered: u64,
    /// Packets whose symbols had all been received already.
    pub duplicates: u64,
    /// Packets for objects already completed (receive-once).
    pub already_received: u64,
    /// Packets held because their FDT had not arrived yet.
    pub held: u64,
    /// FDT instances accepted.
    pub fdt_instances: u64,
    /// Objects started.
    pub objects_started: u64,
    /// Objects completed and committed.
    pub objects_completed: u64,
    /// Objects failed.
    pub objects_failed: u64,
    /// Objects that could not complete from the network, handed over for a repair by unicast
    /// (`MultiReceiver::take_incomplete`) rather than failed.
    pub objects_handed_over: u64,
    /// Content-Locations refused because they map outside the output directory.
    pub paths_rejected: u64,
    /// Sessions opened.
    pub sessions_opened: u64,
    /// Sessions closed (close-session flag, timeout or eviction).
    pub sessions_closed: u64,
    /// Sessions evicted, the idlest first, to make room for a new one beyond
    /// `Limits::max_sessions` (sessions the TSI filter lists by name are never evicted).
    pub sessions_evicted: u64,
    /// Objects no FDT describes (held for their FDT, or received by EXT_FTI alone) evicted,
    /// the idlest first, to make room in `Limits::max_unannounced_objects_per_session` or
    /// `Limits::max_pending_bytes`.
    pub unannounced_evicted: u64,
    /// Events not queued because `Limits::max_events` were waiting.
    pub events_dropped: u64,
    /// Objects failed because their content decoding would have produced more than its cap
    /// (the FDT's Content-Length, at most `Limits::max_object_bytes`): decompression bombs.
    pub content_decoding_capped: u64,
    /// Completed or failed TOIs forgotten, oldest first, to stay within
    /// `Limits::max_completed_per_session` (a forgotten TOI can be received again).
    pub receive_once_forgotten: u64,
    /// Source symbols recovered by FEC decoding: the repair symbols put to use.
    pub repair_symbols_used: u64,
    /// Blocks decoded out of `push`, by a `DecodeJob` given back
    /// (`Config::defer_decode_from_bytes`).
    pub blocks_decoded_elsewhere: u64,
    /// EXT_TIME Sender Current Times that cannot be a time (SCT-High 0, or SCT-Low without
    /// SCT-High): ignored, the packet taken all the same.
    pub sct_invalid: u64,
    drops: [u64; DropReason::COUNT],
}

impl ReceiverStats {
    /// Packets dropped for `reason`.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops.get(reason.index()).copied().unwrap_or(0)
    }

    /// Packets dropped, by reason: every reason in counter order, zeros included.
    pub fn drops_by_reason(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(move |reason| (*reason, self.drops(*reason)))
    }

    /// Packets dropped for any reason.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Count one drop.
    pub(crate) fn count_drop(&mut self, reason: DropReason) {
        if let Some(slot) = self.drops.get_mut(reason.index()) {
            *slot += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drop_reason_has_its_own_counter() {
        let mut stats = ReceiverStats::default();
        for (i, reason) in DropReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i);
            for _ in 0..=i {
                stats.count_drop(*reason);
            }
        }
        for (i, reason) in DropReason::ALL.iter().enumerate() {
            assert_eq!(stats.drops(*reason), i as u64 + 1);
        }
        let n = DropReason::COUNT as u64;
        assert_eq!(stats.total_drops(), n * (n + 1) / 2);
        assert_eq!(
            stats.drops_by_reason().map(|(_, n)| n).sum::<u64>(),
            stats.total_drops()
        );
        let names: std::collections::BTreeSet<&str> =
            DropReason::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(
            names.len(),
            DropReason::COUNT,
            "every reason has a name of its own"
        );
        assert_eq!(DropReason::FdtFileInvalid.name(), "fdt_file_invalid");
    }
}
