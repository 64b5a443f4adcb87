//! Counters and latency histograms of the engines. Each worker counts in plain integers on its
//! own stack and publishes a copy every few milliseconds; [`RxStats`] and [`TxStats`] merge the
//! copies when asked, so reading them never touches the packet path.

use std::sync::{Arc, Mutex, PoisonError};

use hdrhistogram::Histogram;

use crate::receiver::{DropReason, ReceiverStats};

/// One receive worker's counters.
#[derive(Debug, Clone, Default)]
pub struct RxCounters {
    /// Frames (or datagrams) taken off the queue.
    pub frames: u64,
    /// Their bytes, headers included.
    pub bytes: u64,
    /// Frames that were not whole, well-formed UDP (dropped before the receiver).
    pub frame_errors: u64,
    /// UDP datagrams of no configured channel.
    pub unknown_channel: u64,
    /// Frames the kernel dropped because this socket's rx ring was full.
    pub rx_ring_full: u64,
    /// Times a frame arrived while the fill ring was empty.
    pub fill_ring_empty: u64,
    /// Frames the kernel dropped for other reasons.
    pub kernel_dropped: u64,
    /// Capture records skipped (pcap backend) because they were larger than the reader's cap.
    pub records_over_cap: u64,
    /// How long the worker went between two reads of its queue while packets came in: the
    /// time its rx ring (or socket buffer) had to absorb the arrivals.
    pub stalls: StallHistogram,
    /// The sans-IO receiver's counters (packets, drops by reason, objects).
    pub receiver: ReceiverStats,
}

/// Durations in power-of-two buckets of microseconds (bucket `i` holds [2^i, 2^(i+1)) µs,
/// bucket 0 also what is under 1 µs), with the longest: fixed size, so a worker counts into it
/// with no allocation and publishes it as a copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StallHistogram {
    buckets: [u64; StallHistogram::BUCKETS],
    max_us: u64,
}

impl StallHistogram {
    /// 2^31 µs (about 36 minutes) and longer share the last bucket.
    const BUCKETS: usize = 32;

    /// Counts one duration.
    pub fn record(&mut self, d: std::time::Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = (us.max(1).ilog2() as usize).min(Self::BUCKETS - 1);
        if let Some(b) = self.buckets.get_mut(i) {
            *b += 1;
        }
        self.max_us = self.max_us.max(us);
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &Self) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
        self.max_us = self.max_us.max(other.max_us);
    }

    /// Durations counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The longest, in microseconds (0 when none was counted).
    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    /// An upper bound of the `q` quantile (0..=1), in microseconds: the top of the bucket that
    /// holds it (never above the longest). 0 when none was counted.
    pub fn quantile_us(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let top = 1u64.checked_shl(i as u32 + 1).unwrap_or(u64::MAX);
                return top.min(self.max_us);
            }
        }
        self.max_us
    }

    /// Each non-empty bucket as (lower bound, upper bound) in microseconds and its count.
    pub fn buckets(&self) -> impl Iterator<Item = ((u64, u64), u64)> + '_ {
        self.buckets
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| {
                let low = if i == 0 { 0 } else { 1u64 << i };
                (
                    (low, 1u64.checked_shl(i as u32 + 1).unwrap_or(u64::MAX)),
                    *n,
                )
            })
    }
}

/// One send worker's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxCounters {
    /// Packets handed to the kernel.
    pub packets: u64,
    /// Their bytes on the wire (frames for AF_XDP, UDP payloads for sockets).
    pub bytes: u64,
    /// ALC payload bytes (what the sender wrote).
    pub alc_bytes: u64,
    /// Batches handed over (tx ring submissions or `sendmmsg` calls).
    pub batches: u64,
    /// Times the tx ring (or socket buffer) had no room for a whole batch.
    pub ring_full: u64,
    /// Transfers of an object sent in full (each carousel round counts).
    pub transfers: u64,
    /// Transfers that could not go on (the object's source failed).
    pub transfers_failed: u64,
    /// The latest carousel cycle measured: from one start of an object's transfer to its next,
    /// microseconds (0 until an object has started twice).
    pub carousel_cycle_us: u64,
    /// The FDT Instance ID published last by the handle (0 before any).
    pub fdt_instance_id: u32,
}

/// Where a worker publishes its counters.
#[derive(Debug, Default)]
pub(crate) struct Published<C> {
    slot: Mutex<(C, Option<Histogram<u64>>)>,
}

impl<C: Clone> Published<C> {
    pub(crate) fn new(counters: C) -> Arc<Self> {
        Arc::new(Self {
            slot: Mutex::new((counters, None)),
        })
    }

    pub(crate) fn store(&self, counters: &C, latency: Option<&Histogram<u64>>) {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.0 = counters.clone();
        if let Some(h) = latency {
            match &mut slot.1 {
                Some(kept) => {
                    kept.reset();
                    let _ = kept.add(h);
                }
                None => slot.1 = Some(h.clone()),
            }
        }
    }

    pub(crate) fn load(&self) -> (C, Option<Histogram<u64>>) {
        let slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        (slot.0.clone(), slot.1.clone())
    }
}

/// A latency histogram in microseconds, from 1 µs to one hour, 3 significant digits.
pub(crate) fn latency_histogram() -> Option<Histogram<u64>> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).ok()
}

/// The receive engine's counters: each worker's, and their sums.
#[derive(Debug, Clone)]
pub struct RxStats {
    /// Per worker (one per queue or channel).
    pub workers: Vec<RxCounters>,
    /// First packet → object completed, in microseconds, over all workers.
    pub latency_us: Option<Histogram<u64>>,
}

impl RxStats {
    pub(crate) fn merge(parts: Vec<(RxCounters, Option<Histogram<u64>>)>) -> Self {
        let mut latency_us = latency_histogram();
        let mut workers = Vec::with_capacity(parts.len());
        for (counters, histogram) in parts {
            if let (Some(all), Some(h)) = (&mut latency_us, &histogram) {
                let _ = all.add(h);
            }
            workers.push(counters);
        }
        Self {
            workers,
            latency_us,
        }
    }

    fn sum(&self, f: impl Fn(&RxCounters) -> u64) -> u64 {
        self.workers.iter().map(f).sum()
    }

    /// Frames taken off all queues.
    pub fn frames(&self) -> u64 {
        self.sum(|w| w.frames)
    }

    /// Their bytes.
    pub fn bytes(&self) -> u64 {
        self.sum(|w| w.bytes)
    }

    /// Source symbol bytes copied into objects.
    pub fn payload_bytes(&self) -> u64 {
        self.sum(|w| w.receiver.payload_bytes)
    }

    /// Objects completed and verified.
    pub fn objects_completed(&self) -> u64 {
        self.sum(|w| w.receiver.objects_completed)
    }

    /// Objects failed.
    pub fn objects_failed(&self) -> u64 {
        self.sum(|w| w.receiver.objects_failed)
    }

    /// Packets the receiver dropped for `reason`.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.sum(|w| w.receiver.drops(reason))
    }

    /// Everything dropped: by the kernel (ring full, fill ring empty, other), as malformed
    /// frames, as of no channel, and by the receiver.
    pub fn total_drops(&self) -> u64 {
        self.sum(|w| {
            w.rx_ring_full
                + w.kernel_dropped
                + w.frame_errors
                + w.records_over_cap
                + w.unknown_channel
                + w.receiver.total_drops()
        })
    }

    /// Rx-ring-full drops over all queues.
    pub fn rx_ring_full(&self) -> u64 {
        self.sum(|w| w.rx_ring_full)
    }

    /// Packets whose symbols were all received already.
    pub fn duplicates(&self) -> u64 {
        self.sum(|w| w.receiver.duplicates + w.receiver.already_received)
    }

    /// Source symbols recovered by FEC decoding: the repair symbols put to use.
    pub fn repair_symbols_used(&self) -> u64 {
        self.sum(|w| w.receiver.repair_symbols_used)
    }

    /// Blocks decoded on a stage thread beside the workers.
    pub fn blocks_decoded_elsewhere(&self) -> u64 {
        self.sum(|w| w.receiver.blocks_decoded_elsewhere)
    }

    /// EXT_TIME Sender Current Times that cannot be a time, ignored.
    pub fn sct_invalid(&self) -> u64 {
        self.sum(|w| w.receiver.sct_invalid)
    }

    /// The workers' stalls (time between two reads of a queue while packets came in), merged.
    pub fn stalls(&self) -> StallHistogram {
        let mut all = StallHistogram::default();
        for w in &self.workers {
            all.add(&w.stalls);
        }
        all
    }
}

/// The send engine's counters: each worker's, and their sums.
#[derive(Debug, Clone, Default)]
pub struct TxStats {
    /// Per worker.
    pub workers: Vec<TxCounters>,
}

impl TxStats {
    /// All workers added up.
    pub fn total(&self) -> TxCounters {
        self.workers
            .iter()
            .fold(TxCounters::default(), |a, w| TxCounters {
                packets: a.packets + w.packets,
                bytes: a.bytes + w.bytes,
                alc_bytes: a.alc_bytes + w.alc_bytes,
                batches: a.batches + w.batches,
                ring_full: a.ring_full + w.ring_full,
                transfers: a.transfers + w.transfers,
                transfers_failed: a.transfers_failed + w.transfers_failed,
                carousel_cycle_us: a.carousel_cycle_us.max(w.carousel_cycle_us),
                fdt_instance_id: a.fdt_instance_id.max(w.fdt_instance_id),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rx_stats_merge_sums_workers_and_histograms() {
        let mut h1 = latency_histogram().unwrap();
        h1.record(100).unwrap();
        let mut h2 = latency_histogram().unwrap();
        h2.record(300).unwrap();
        let w = |frames| RxCounters {
            frames,
            rx_ring_full: 1,
            ..RxCounters::default()
        };
        let stats = RxStats::merge(vec![(w(5), Some(h1)), (w(7), Some(h2)), (w(1), None)]);
        assert_eq!(stats.frames(), 13);
        assert_eq!(stats.rx_ring_full(), 3);
        let latency = stats.latency_us.unwrap();
        assert_eq!(latency.len(), 2);
        assert_eq!(latency.max(), 300);
    }

    #[test]
    fn published_counters_are_read_as_stored() {
        let p = Published::new(TxCounters::default());
        let c = TxCounters {
            packets: 3,
            ..TxCounters::default()
        };
        p.store(&c, None);
        assert_eq!(p.load().0, c);
    }

    #[test]
    fn stall_histogram_buckets_by_powers_of_two_and_keeps_the_longest() {
        let mut h = StallHistogram::default();
        assert_eq!((h.count(), h.max_us(), h.quantile_us(0.99)), (0, 0, 0));
        for us in [0, 1, 3, 3, 5, 900, 1_500] {
            h.record(std::time::Duration::from_micros(us));
        }
        assert_eq!(h.count(), 7);
        assert_eq!(h.max_us(), 1_500);
        let buckets: Vec<_> = h.buckets().collect();
        assert_eq!(
            buckets,
            vec![
                ((0, 2), 2),
                ((2, 4), 2),
                ((4, 8), 1),
                ((512, 1024), 1),
                ((1024, 2048), 1)
            ]
        );
        // The median is in [2, 4); the top quantile is the longest itself.
        assert_eq!(h.quantile_us(0.5), 4);
        assert_eq!(h.quantile_us(1.0), 1_500);
        let mut other = StallHistogram::default();
        other.record(std::time::Duration::from_secs(3));
        h.add(&other);
        assert_eq!((h.count(), h.max_us()), (8, 3_000_000));
    }
}
