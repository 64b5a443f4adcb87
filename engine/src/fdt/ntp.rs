//! NTP seconds (RFC 5905 §6), the unit of FDT-Instance Expires (RFC 6726 §3.4.2) and of the
//! 3GPP Cache-Control Expires element: the 32 most significant bits of a 64-bit NTP timestamp.
//!
//! The core is sans-IO, so nothing here reads a clock: conversions take Unix seconds, and going
//! back from a 32-bit value, which wraps every 136 years (era 0 ends in February 2036), takes a
//! reference time near which the answer is picked.

/// Seconds from the NTP prime epoch (1900-01-01) to the Unix epoch (1970-01-01).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// Length of one NTP era, in seconds.
const ERA_SECS: u64 = 1 << 32;

/// The 32-bit NTP seconds value of a Unix time, wrapped into its era as on the wire.
pub fn ntp_secs_from_unix_secs(unix_secs: u64) -> u32 {
    (unix_secs.wrapping_add(NTP_UNIX_OFFSET_SECS) % ERA_SECS) as u32
}

/// The Unix time of a 32-bit NTP seconds value: the one, among the values of every era, closest
/// to `reference_unix_secs` (usually the caller's "now"). Returns `None` when that instant is
/// before the Unix epoch.
pub fn unix_secs_from_ntp_secs(ntp_secs: u32, reference_unix_secs: u64) -> Option<u64> {
    let reference_ntp = reference_unix_secs.checked_add(NTP_UNIX_OFFSET_SECS)?;
    let era = reference_ntp / ERA_SECS;
    let candidates = [era.checked_sub(1), Some(era), era.checked_add(1)];
    let best = candidates
        .into_iter()
        .flatten()
        .filter_map(|e| e.checked_mul(ERA_SECS)?.checked_add(u64::from(ntp_secs)))
        .min_by_key(|ntp| ntp.abs_diff(reference_ntp))?;
    best.checked_sub(NTP_UNIX_OFFSET_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants_convert_both_ways() {
        // 2024-01-01T00:00:00Z
        let unix = 1_704_067_200;
        let ntp = ntp_secs_from_unix_secs(unix);
        assert_eq!(u64::from(ntp), unix + NTP_UNIX_OFFSET_SECS);
        assert_eq!(unix_secs_from_ntp_secs(ntp, unix), Some(unix));
        // NTP era 1 starts at 2036-02-07T06:28:16Z.
        let era1 = ERA_SECS - NTP_UNIX_OFFSET_SECS;
        assert_eq!(ntp_secs_from_unix_secs(era1), 0);
        assert_eq!(unix_secs_from_ntp_secs(0, era1 - 10), Some(era1));
        assert_eq!(unix_secs_from_ntp_secs(u32::MAX, era1 + 10), Some(era1 - 1));
    }

    proptest! {
        #[test]
        fn ntp_round_trips_near_the_reference(
            unix in 0u64..(1 << 40),
            offset in -(1i64 << 30)..(1i64 << 30),
        ) {
            let reference = unix.saturating_add_signed(offset);
            let ntp = ntp_secs_from_unix_secs(unix);
            prop_assert_eq!(unix_secs_from_ntp_secs(ntp, reference), Some(unix));
        }
    }
}
