//! Packets that arrive before the FDT instance that describes their object (RFC 6726 §3.2 lets
//! the FDT come after the data), held within a byte cap per session and replayed when the
//! description arrives. Only this slow path copies a packet whole.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use super::budget::{Budget, Charge};
use super::error::DropReason;

#[derive(Debug)]
struct Held {
    packets: Vec<Box<[u8]>>,
    last_activity: SystemTime,
    /// The packets' bytes, charged to `Limits::max_pending_bytes` and to the memory budget
    /// until they are taken or forgotten.
    pending: Charge,
    memory: Charge,
}

/// The budgets held packets are charged to: `Limits::max_pending_bytes`, shared by every
/// session, and the receiver's memory budget.
#[derive(Debug, Clone)]
pub(crate) struct HeldBudgets {
    pub pending: Budget,
    pub memory: Budget,
}

/// The held packets of one session, by TOI.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    by_toi: HashMap<u128, Held>,
    /// (last packet's time, TOI) of every held TOI, idlest first: eviction finds its victim
    /// without a scan.
    by_age: BTreeSet<(SystemTime, u128)>,
}

impl Pending {
    /// TOIs with held packets.
    pub(super) fn nb_objects(&self) -> usize {
        self.by_toi.len()
    }

    /// Bytes held.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> u64 {
        self.by_toi.values().map(|h| h.pending.bytes()).sum()
    }

    /// Whether packets of `toi` are held.
    pub(super) fn contains(&self, toi: u128) -> bool {
        self.by_toi.contains_key(&toi)
    }

    /// The TOI other than `except` whose last packet is the oldest, with that packet's time.
    pub(super) fn idlest_except(&self, except: u128) -> Option<(u128, SystemTime)> {
        self.by_age
            .iter()
            .find(|(_, toi)| *toi != except)
            .map(|(seen, toi)| (*toi, *seen))
    }

    /// The TOIs with held packets.
    pub(super) fn tois(&self) -> impl Iterator<Item = u128> + '_ {
        self.by_toi.keys().copied()
    }

    /// Holds a copy of `packet` for `toi`, if it fits in both `budgets` and, for a TOI not held
    /// yet, if `new_toi_allowed`.
    pub(super) fn hold(
        &mut self,
        toi: u128,
        packet: &[u8],
        now: SystemTime,
        budgets: &HeldBudgets,
        new_toi_allowed: bool,
    ) -> Result<(), DropReason> {
        let len = packet.len() as u64;
        if !budgets.pending.fits(len) || !budgets.memory.fits(len) {
            return Err(DropReason::PendingBytesLimit);
        }
        let held = match self.by_toi.get_mut(&toi) {
            Some(held) => held,
            None if new_toi_allowed => self.by_toi.entry(toi).or_insert(Held {
                packets: Vec::new(),
                last_activity: now,
                pending: budgets.pending.force(0),
                memory: budgets.memory.force(0),
            }),
            None => return Err(DropReason::ObjectLimit),
        };
        // Both fit: checked above, on this one thread.
        held.pending.grow(len);
        held.memory.grow(len);
        held.packets.push(packet.into());
        self.by_age.remove(&(held.last_activity, toi));
        held.last_activity = now;
        self.by_age.insert((now, toi));
        Ok(())
    }

    /// Takes the packets held for `toi`, oldest first. Their bytes are no longer charged: the
    /// caller pushes them again as packets.
    pub(super) fn take(&mut self, toi: u128) -> Vec<Box<[u8]>> {
        match self.by_toi.remove(&toi) {
            Some(held) => {
                self.by_age.remove(&(held.last_activity, toi));
                held.packets
            }
            None => Vec::new(),
        }
    }

    /// Forgets TOIs with no packet for `timeout`.
    pub(super) fn expire(&mut self, now: SystemTime, timeout: Duration) {
        let by_age = &mut self.by_age;
        self.by_toi.retain(|toi, held| {
            let idle = now
                .duration_since(held.last_activity)
                .unwrap_or(Duration::ZERO);
            let keep = idle < timeout;
            if !keep {
                by_age.remove(&(held.last_activity, *toi));
            }
            keep
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budgets(pending: u64, memory: u64) -> HeldBudgets {
        HeldBudgets {
            pending: Budget::new(pending),
            memory: Budget::new(memory),
        }
    }

    #[test]
    fn held_bytes_and_tois_are_capped_and_released() {
        let now = SystemTime::UNIX_EPOCH;
        let b = budgets(100, 1000);
        let mut p = Pending::default();
        p.hold(1, &[0; 60], now, &b, true).unwrap();
        assert_eq!(
            p.hold(2, &[0; 60], now, &b, true),
            Err(DropReason::PendingBytesLimit)
        );
        assert_eq!(
            p.hold(2, &[0; 10], now, &b, false),
            Err(DropReason::ObjectLimit)
        );
        p.hold(1, &[1; 40], now, &b, false).unwrap();
        assert_eq!(
            (p.bytes(), b.pending.used(), b.memory.used()),
            (100, 100, 100)
        );
        let taken = p.take(1);
        assert_eq!(taken.len(), 2);
        assert_eq!(&taken[1][..], &[1; 40]);
        assert_eq!((p.bytes(), b.pending.used(), b.memory.used()), (0, 0, 0));
        p.hold(3, &[0; 10], now, &b, true).unwrap();
        p.expire(now + Duration::from_secs(5), Duration::from_secs(10));
        assert_eq!(b.pending.used(), 10);
        p.expire(now + Duration::from_secs(10), Duration::from_secs(10));
        assert_eq!((p.bytes(), p.nb_objects(), b.pending.used()), (0, 0, 0));
    }

    #[test]
    fn held_packets_also_fit_in_the_memory_budget() {
        let now = SystemTime::UNIX_EPOCH;
        let b = budgets(100, 50);
        let mut p = Pending::default();
        p.hold(1, &[0; 40], now, &b, true).unwrap();
        assert_eq!(
            p.hold(1, &[0; 20], now, &b, true),
            Err(DropReason::PendingBytesLimit)
        );
        assert_eq!(b.memory.used(), 40);
    }

    #[test]
    fn the_idlest_held_toi_is_found_other_than_the_one_asking() {
        let t = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let b = budgets(100, 100);
        let mut p = Pending::default();
        p.hold(1, &[0], t(5), &b, true).unwrap();
        p.hold(2, &[0], t(3), &b, true).unwrap();
        p.hold(3, &[0], t(4), &b, true).unwrap();
        assert_eq!(p.idlest_except(9), Some((2, t(3))));
        assert_eq!(p.idlest_except(2), Some((3, t(4))));
        // A new packet makes a TOI the most recent.
        p.hold(2, &[0], t(6), &b, true).unwrap();
        assert_eq!(p.idlest_except(9), Some((3, t(4))));
        p.take(3);
        assert_eq!(p.idlest_except(9), Some((1, t(5))));
        p.expire(t(16), Duration::from_secs(10));
        assert_eq!((p.idlest_except(9), b.pending.used()), (None, 0));
    }
}
