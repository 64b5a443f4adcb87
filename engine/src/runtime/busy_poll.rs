//! When a receive worker polls its empty ring instead of sleeping in the kernel.
//!
//! A worker that sleeps on an empty ring must be woken by the softirq that fills it; over a
//! veth that softirq runs on the sending side's core, which pays a wake-up every few frames
//! when the worker is faster than the link, and that core is also the sender's. Polling
//! avoids it but holds the worker's core. So a worker polls only while the link is busy: for
//! up to a window after its last packet, and only while packets came at least at
//! [`MIN_RATE`] over the last measuring period. A slow stream (at 100 Mbit/s, a packet every
//! 110 µs) or an idle link lets the worker sleep in the kernel.

use std::time::{Duration, Instant};

/// Packets per second from which a worker polls: below it, the wake-ups cost the filling core
/// a few percent at most.
pub(super) const MIN_RATE: u64 = 50_000;
/// How often the rate is measured.
const PERIOD: Duration = Duration::from_millis(1);

/// One worker's polling decision.
#[derive(Debug)]
pub(super) struct BusyPoll {
    window: Duration,
    last_packet: Instant,
    period_start: Instant,
    period_packets: u64,
    busy: bool,
}

impl BusyPoll {
    /// Polls for up to `window` after the last packet (zero: never).
    pub(super) fn new(window: Duration, now: Instant) -> Self {
        Self {
            window,
            last_packet: now,
            period_start: now,
            period_packets: 0,
            busy: false,
        }
    }

    /// Books `packets` taken off the ring at `now` (0 for an empty look).
    pub(super) fn received(&mut self, packets: u64, now: Instant) {
        if packets > 0 {
            self.last_packet = now;
            self.period_packets += packets;
        }
        let elapsed = now.saturating_duration_since(self.period_start);
        if elapsed >= PERIOD {
            // packets / elapsed >= MIN_RATE, in integers.
            self.busy = u128::from(self.period_packets) * 1_000_000_000
                >= u128::from(MIN_RATE) * elapsed.as_nanos();
            self.period_start = now;
            self.period_packets = 0;
        }
    }

    /// Whether to look at the ring again at once rather than sleep.
    pub(super) fn spin(&self, now: Instant) -> bool {
        self.busy && now.saturating_duration_since(self.last_packet) < self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `rate` packets per second (one at a time) for `for_ms` milliseconds.
    fn feed(p: &mut BusyPoll, start: Instant, rate: u64, for_ms: u64) -> Instant {
        let gap = Duration::from_nanos(1_000_000_000 / rate);
        let mut now = start;
        while now < start + Duration::from_millis(for_ms) {
            p.received(1, now);
            now += gap;
        }
        now
    }

    /// A poller with a window of `window_us` µs, and its start.
    fn poller(window_us: u64) -> (BusyPoll, Instant) {
        let t0 = Instant::now();
        (BusyPoll::new(Duration::from_micros(window_us), t0), t0)
    }

    #[test]
    fn a_fast_link_is_polled_for_the_window_after_its_last_packet() {
        let (mut p, t0) = poller(200);
        assert!(!p.spin(t0), "no traffic measured yet");
        let t = feed(&mut p, t0, 400_000, 5);
        assert!(p.spin(t));
        assert!(p.spin(t + Duration::from_micros(150)));
        assert!(
            !p.spin(t + Duration::from_micros(250)),
            "the window is over"
        );
    }

    #[test]
    fn a_slow_stream_lets_the_worker_sleep() {
        let (mut p, t0) = poller(200);
        // 100 Mbit/s of 1400-byte packets: one every 110 µs, inside the window.
        let t = feed(&mut p, t0, 9_000, 20);
        assert!(!p.spin(t));
    }

    #[test]
    fn polling_stops_when_the_rate_falls_and_resumes_when_it_rises() {
        let (mut p, t0) = poller(200);
        let t = feed(&mut p, t0, 400_000, 3);
        assert!(p.spin(t));
        let t = feed(&mut p, t, 10_000, 5);
        assert!(!p.spin(t));
        let t = feed(&mut p, t, 400_000, 3);
        assert!(p.spin(t));
    }

    #[test]
    fn a_zero_window_never_polls() {
        let (mut p, t0) = poller(0);
        let t = feed(&mut p, t0, 1_000_000, 3);
        assert!(!p.spin(t));
    }

    #[test]
    fn a_long_sleep_counts_as_a_slow_period() {
        let (mut p, t0) = poller(200);
        let t = feed(&mut p, t0, 400_000, 3);
        // Asleep for 20 ms, then one batch of 64: 3,200 packets/s over the period.
        let t = t + Duration::from_millis(20);
        p.received(64, t);
        assert!(!p.spin(t));
    }
}
