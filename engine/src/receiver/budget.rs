//! The receiver's byte budgets. What a structure holds for unverified input is a [`Charge`] on a
//! [`Budget`], kept inside that structure: the bytes go back when the charge drops with it, so
//! no path that ends an object, an FDT instance, a held packet or a file description can forget
//! to give them back, nor give them back twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug)]
struct Ledger {
    used: AtomicU64,
    max: u64,
}

/// Bytes that may be charged up to a maximum. Cloning gives another handle on the same budget.
///
/// A receiver and everything it holds live on one thread; the counter is atomic only so that a
/// receiver can move to its worker thread (`Send`). Charges change per object, block or held
/// packet, never per symbol written.
#[derive(Debug, Clone)]
pub(crate) struct Budget(Arc<Ledger>);

impl Budget {
    /// An empty budget of `max` bytes.
    pub(crate) fn new(max: u64) -> Self {
        Self(Arc::new(Ledger {
            used: AtomicU64::new(0),
            max,
        }))
    }

    /// Bytes charged.
    pub(crate) fn used(&self) -> u64 {
        self.0.used.load(Ordering::Relaxed)
    }

    /// Bytes that may still be charged.
    pub(crate) fn room(&self) -> u64 {
        self.0.max.saturating_sub(self.used())
    }

    /// Whether `bytes` more fit.
    pub(crate) fn fits(&self, bytes: u64) -> bool {
        bytes <= self.room()
    }

    /// Charges `bytes`, if they fit.
    pub(crate) fn charge(&self, bytes: u64) -> Option<Charge> {
        self.fits(bytes).then(|| self.force(bytes))
    }

    /// Charges `bytes` whether or not they fit: for what the caller checked against another cap.
    pub(crate) fn force(&self, bytes: u64) -> Charge {
        self.0.used.fetch_add(bytes, Ordering::Relaxed);
        Charge {
            ledger: Arc::clone(&self.0),
            bytes,
        }
    }
}

/// Bytes charged to a [`Budget`], given back when dropped.
#[derive(Debug)]
pub(crate) struct Charge {
    ledger: Arc<Ledger>,
    bytes: u64,
}

impl Charge {
    /// A charge of nothing, on no budget: for what takes none of a budget's kind (the sink
    /// region of an object received in memory).
    pub(crate) fn nothing() -> Self {
        Budget::new(0).force(0)
    }

    /// Bytes this charge holds.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Adds `more` bytes, if they fit in the budget; `false` (and nothing charged) otherwise.
    pub(crate) fn grow(&mut self, more: u64) -> bool {
        // Nothing to charge (a Reed-Solomon repair symbol, say) touches no shared counter.
        if more == 0 {
            return true;
        }
        let used = self.ledger.used.load(Ordering::Relaxed);
        if used.saturating_add(more) > self.ledger.max {
            return false;
        }
        self.ledger.used.fetch_add(more, Ordering::Relaxed);
        self.bytes += more;
        true
    }

    /// Gives `less` bytes (at most all it holds) back.
    pub(crate) fn shrink(&mut self, less: u64) {
        let less = less.min(self.bytes);
        if less == 0 {
            return;
        }
        self.ledger.used.fetch_sub(less, Ordering::Relaxed);
        self.bytes -= less;
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.ledger.used.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_are_given_back_when_dropped_and_never_exceed_the_budget() {
        let budget = Budget::new(100);
        let a = budget.charge(60).unwrap();
        assert!(budget.charge(41).is_none());
        let mut b = budget.charge(40).unwrap();
        assert_eq!(budget.room(), 0);
        assert!(!b.grow(1));
        drop(a);
        assert_eq!(budget.used(), 40);
        assert!(b.grow(50));
        b.shrink(20);
        assert_eq!((b.bytes(), budget.used()), (70, 70));
        b.shrink(1000);
        assert_eq!((b.bytes(), budget.used()), (0, 0));
        let forced = budget.force(150);
        assert_eq!((budget.used(), budget.room()), (150, 0));
        drop((b, forced));
        assert_eq!(budget.used(), 0);
    }
}
