//! The sender's clock, from the Sender Current Time of EXT_TIME (RFC 5651 §5.2.2).
//!
//! An FDT Instance's `Expires` (RFC 6726 §3.4.2) is a time on the sender's clock. Judged by the
//! receiver's own clock, a sender whose clock runs an hour behind would see every instance
//! refused as expired, and one an hour ahead would keep stale instances alive. When the
//! session's packets carry a Sender Current Time, the receiver keeps the offset between the two
//! clocks (from the latest valid SCT, transit time included, which is far below the second
//! that `Expires` counts) and converts `Expires` to its own clock with it; without one it takes
//! the clocks as equal. An SCT that cannot be a time (SCT-High 0, or SCT-Low without
//! SCT-High) is ignored and counted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::fdt::ntp;
use crate::wire::ExtTime;

/// The offset of a session's sender clock from ours, once an SCT has given it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SenderClock {
    /// Sender time minus our time, in milliseconds.
    offset_ms: Option<i64>,
}

/// Milliseconds since the Unix epoch of `t` (negative before it).
fn unix_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

fn from_unix_ms(ms: i64) -> SystemTime {
    let magnitude = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH.checked_add(magnitude).unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH.checked_sub(magnitude).unwrap_or(UNIX_EPOCH)
    }
}

impl SenderClock {
    /// Takes the EXT_TIME of a packet received at `now`. Returns false for an SCT that cannot
    /// be a time (the clock is then left as it was); true otherwise, also when there is no SCT.
    pub(crate) fn observe(&mut self, time: &ExtTime, now: SystemTime) -> bool {
        let Some(high) = time.sct_high else {
            return time.sct_low.is_none();
        };
        let now_ms = unix_ms(now);
        let reference = u64::try_from(now_ms / 1000).unwrap_or(0);
        let Some(secs) = ntp::unix_secs_from_ntp_secs(high, reference).filter(|_| high != 0) else {
            return false;
        };
        let fraction_ms = time.sct_low.map_or(0, |low| (u64::from(low) * 1000) >> 32);
        let sender_ms = i64::try_from(secs.saturating_mul(1000).saturating_add(fraction_ms))
            .unwrap_or(i64::MAX);
        self.offset_ms = Some(sender_ms.saturating_sub(now_ms));
        true
    }

    /// The sender's clock minus ours, once known.
    #[cfg(test)]
    pub(crate) fn offset_ms(&self) -> Option<i64> {
        self.offset_ms
    }

    /// `expires` (NTP seconds, on the sender's clock) as a time on ours, `now` being ours; `None`
    /// when it cannot be placed within the NTP era around the sender's now.
    pub(crate) fn expires_at(&self, expires: u32, now: SystemTime) -> Option<SystemTime> {
        let offset = self.offset_ms.unwrap_or(0);
        let sender_now_ms = unix_ms(now).saturating_add(offset);
        let reference = u64::try_from(sender_now_ms / 1000).unwrap_or(0);
        let secs = ntp::unix_secs_from_ntp_secs(expires, reference)?;
        let expires_ms = i64::try_from(secs.saturating_mul(1000)).ok()?;
        Some(from_unix_ms(expires_ms.saturating_sub(offset)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(unix_secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix_secs)
    }

    fn sct(unix_secs: u64, half_second: bool) -> ExtTime {
        ExtTime {
            sct_high: Some(ntp::ntp_secs_from_unix_secs(unix_secs)),
            sct_low: Some(if half_second { 1 << 31 } else { 0 }),
            ..ExtTime::default()
        }
    }

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn without_an_sct_expires_is_read_on_our_clock() {
        let clock = SenderClock::default();
        let expires = ntp::ntp_secs_from_unix_secs(NOW + 60);
        assert_eq!(clock.expires_at(expires, t(NOW)), Some(t(NOW + 60)));
    }

    #[test]
    fn a_sender_an_hour_behind_has_its_expires_moved_an_hour_later() {
        let mut clock = SenderClock::default();
        assert!(clock.observe(&sct(NOW - 3600, true), t(NOW)));
        assert_eq!(clock.offset_ms(), Some(-3_600_000 + 500));
        // Valid for 60 s on the sender's clock: 60 s on ours too.
        let expires = ntp::ntp_secs_from_unix_secs(NOW - 3600 + 60);
        assert_eq!(
            clock.expires_at(expires, t(NOW)),
            Some(t(NOW + 60) - Duration::from_millis(500))
        );
    }

    #[test]
    fn a_sender_ahead_cannot_keep_an_instance_alive_longer() {
        let mut clock = SenderClock::default();
        assert!(clock.observe(&sct(NOW + 7200, false), t(NOW)));
        let expires = ntp::ntp_secs_from_unix_secs(NOW + 7200 + 10);
        assert_eq!(clock.expires_at(expires, t(NOW)), Some(t(NOW + 10)));
    }

    #[test]
    fn an_sct_that_is_no_time_is_refused_and_changes_nothing() {
        let mut clock = SenderClock::default();
        assert!(clock.observe(&sct(NOW + 5, false), t(NOW)));
        for bad in [
            ExtTime {
                sct_high: Some(0),
                ..ExtTime::default()
            },
            ExtTime {
                sct_low: Some(7),
                ..ExtTime::default()
            },
        ] {
            assert!(!clock.observe(&bad, t(NOW)));
        }
        assert_eq!(clock.offset_ms(), Some(5000));
        // ERT or SLC alone say nothing of the clock.
        let ert = ExtTime {
            ert: Some(3),
            ..ExtTime::default()
        };
        assert!(clock.observe(&ert, t(NOW)));
        assert_eq!(clock.offset_ms(), Some(5000));
    }
}
