//! Waiting for a condition rather than for a fixed time: a test goes on as soon as what it
//! waits for holds, and one that never holds fails at a deadline, named.

use std::time::{Duration, Instant};

/// The longest pause between two looks: short enough not to add to a test's time, long
/// enough that an expensive check (hashing received files) does not compete with the work.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// Calls `f` until it gives a value or `limit` has passed (then `None`); the pause between
/// calls starts at a millisecond and doubles up to 50 ms.
pub fn for_value<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(value) = f() {
            return Some(value);
        }
        if start.elapsed() >= limit {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Whether `ready` came to hold within `limit`.
pub fn poll(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    for_value(limit, || ready().then_some(())).is_some()
}

/// Waits for `ready` to hold; panics naming `what` if it does not within `limit`.
pub fn until(limit: Duration, what: &str, ready: impl FnMut() -> bool) {
    assert!(poll(limit, ready), "{what}: not within {limit:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_returns_once_the_condition_holds_and_gives_up_at_the_limit() {
        let mut calls = 0;
        assert!(poll(Duration::from_secs(5), || {
            calls += 1;
            calls == 3
        }));
        let start = Instant::now();
        assert!(!poll(Duration::from_millis(20), || false));
        assert!(start.elapsed() >= Duration::from_millis(20));
    }
}
