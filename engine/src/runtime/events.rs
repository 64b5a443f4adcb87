//! What the engines tell the application, as types of this crate: the receive engine's object
//! events and the objects it hands over for repair ([`Events`]), and the answers of a running
//! send engine to its handle.

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};

use crate::receiver::ObjectEvent;

/// Why [`Events::next_timeout`] returned no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EventWait {
    /// None came within the time.
    #[error("no event within the time")]
    Timeout,
    /// Every worker has ended and every event was taken: none will come.
    #[error("the engine has stopped")]
    Closed,
}

/// What a receive engine's workers tell the application, in the order each worker saw it: its
/// object events, or (as `Events<IncompleteFile>`) the objects it hands over for repair.
/// Cloning gives another handle on the same stream: each item goes to one of them.
#[derive(Debug)]
pub struct Events<T = ObjectEvent> {
    inner: Receiver<T>,
}

impl<T> Clone for Events<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Events<T> {
    pub(crate) fn new(inner: Receiver<T>) -> Self {
        Self { inner }
    }

    /// The next event if one is waiting.
    pub fn try_next(&self) -> Option<T> {
        self.inner.try_recv().ok()
    }

    /// The next event if one is waiting, else why not: [`EventWait::Timeout`] when none is
    /// waiting now, [`EventWait::Closed`] when none will come.
    pub fn take(&self) -> Result<T, EventWait> {
        self.inner.try_recv().map_err(|e| match e {
            TryRecvError::Empty => EventWait::Timeout,
            TryRecvError::Disconnected => EventWait::Closed,
        })
    }

    /// The next event, waiting up to `timeout` for it.
    pub fn next_timeout(&self, timeout: Duration) -> Result<T, EventWait> {
        self.inner.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => EventWait::Timeout,
            RecvTimeoutError::Disconnected => EventWait::Closed,
        })
    }

    /// Every event waiting now.
    pub fn drain(&self) -> impl Iterator<Item = T> + '_ {
        self.inner.try_iter()
    }

    /// How many events are waiting.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}
