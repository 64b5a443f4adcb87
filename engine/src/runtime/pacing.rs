//! A token bucket in bits per second: the sender core decides order and timing, the runtime
//! decides how fast bytes reach the wire.

use std::time::{Duration, Instant};

/// Tokens are bits; they accrue at `rate_bps` up to a burst of `burst_bits`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate_bps: Option<u64>,
    burst_bits: u64,
    tokens: u64,
    last: Instant,
}

impl TokenBucket {
    /// A bucket for `rate_bps` (unlimited when `None`) holding up to `burst_bits`, full.
    pub fn new(rate_bps: Option<u64>, burst_bits: u64, now: Instant) -> Self {
        Self {
            rate_bps,
            burst_bits,
            tokens: burst_bits,
            last: now,
        }
    }

    /// Whether the bucket never limits.
    pub fn is_unlimited(&self) -> bool {
        self.rate_bps.is_none()
    }

    /// Adds the tokens accrued since the last refill.
    pub fn refill(&mut self, now: Instant) {
        let Some(rate) = self.rate_bps else { return };
        let elapsed = now.saturating_duration_since(self.last);
        let accrued = (elapsed.as_nanos().saturating_mul(u128::from(rate)) / 1_000_000_000) as u64;
        if accrued > 0 {
            self.tokens = self.tokens.saturating_add(accrued).min(self.burst_bits);
            self.last = now;
        }
    }

    /// How many packets of `packet_bits` may go now.
    pub fn allowance(&self, packet_bits: u64) -> u64 {
        match self.rate_bps {
            None => u64::MAX,
            Some(_) => self.tokens / packet_bits.max(1),
        }
    }

    /// Takes `bits` for what was sent.
    pub fn consume(&mut self, bits: u64) {
        if self.rate_bps.is_some() {
            self.tokens = self.tokens.saturating_sub(bits);
        }
    }

    /// How long until `bits` tokens are there (zero when they are, or unlimited).
    pub fn wait_for(&self, bits: u64) -> Duration {
        match self.rate_bps {
            Some(rate) if rate > 0 && self.tokens < bits => {
                let missing = bits - self.tokens;
                Duration::from_nanos(
                    (u128::from(missing) * 1_000_000_000 / u128::from(rate))
                        .min(u128::from(u64::MAX)) as u64,
                )
            }
            _ => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bucket_allows_rate_times_elapsed_up_to_the_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(Some(1_000_000), 12_000, t0);
        assert_eq!(bucket.allowance(12_000), 1);
        bucket.consume(12_000);
        assert_eq!(bucket.allowance(12_000), 0);
        assert_eq!(bucket.wait_for(12_000), Duration::from_millis(12));
        bucket.refill(t0 + Duration::from_millis(6));
        assert_eq!(bucket.allowance(6_000), 1);
        bucket.refill(t0 + Duration::from_secs(10));
        assert_eq!(bucket.allowance(1_000), 12, "capped at the burst");
    }

    #[test]
    fn unlimited_bucket_never_limits() {
        let mut bucket = TokenBucket::new(None, 0, Instant::now());
        bucket.consume(1 << 40);
        assert_eq!(bucket.allowance(12_000), u64::MAX);
        assert_eq!(bucket.wait_for(1 << 40), Duration::ZERO);
    }
}
