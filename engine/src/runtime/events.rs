//! What the engines tell the application, as types of this crate: the receive engine's object
//! events ([`Events`]) and the answers of a running send engine to its handle.

use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

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

/// The object events of a receive engine, in the order each worker saw them. Cloning gives
/// another handle on the same stream: each event goes to one of them.
#[derive(Debug, Clone)]
pub struct Events {
    inner: Receiver<ObjectEvent>,
}

impl Events {
    pub(crate) fn new(inner: Receiver<ObjectEvent>) -> Self {
        Self { inner }
    }

    /// The next event if one is waiting.
    pub fn try_next(&self) -> Option<ObjectEvent> {
        self.inner.try_recv().ok()
    }

    /// The next event, waiting up to `timeout` for it.
    pub fn next_timeout(&self, timeout: Duration) -> Result<ObjectEvent, EventWait> {
        self.inner.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => EventWait::Timeout,
            RecvTimeoutError::Disconnected => EventWait::Closed,
        })
    }

    /// Every event waiting now.
    pub fn drain(&self) -> impl Iterator<Item = ObjectEvent> + '_ {
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
