//! Keeps the receive engine's XDP steering program attached: a thread that once a second asks
//! the kernel whether the program is still attached to the interface and, when someone detached
//! it underneath the engine, attaches it again (with a warning, counted). Reattaching is sound
//! because the program stays loaded and its maps (channels, AF_XDP sockets, loss knob) live on
//! with it; the sockets never noticed. If it cannot be reattached, the engine stops and
//! [`super::RxEngine::join`] returns the error.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::io::xdp::{XdpError, XdpSteering};

/// How often the attachment is checked.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// How often the thread looks at the stop flag between checks.
const STOP_POLL: Duration = Duration::from_millis(50);

/// The watching thread and what it found.
#[derive(Debug)]
pub(super) struct XdpWatch {
    handle: Option<JoinHandle<()>>,
    reattached: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<XdpError>>>,
    /// Set by [`Self::finish`]: the engine is stopping, the watch ends with it.
    done: Arc<AtomicBool>,
}

impl XdpWatch {
    /// Starts watching `steering`; on a failure to reattach, sets `stop` (the engine's).
    pub(super) fn start(
        steering: Arc<Mutex<XdpSteering>>,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<Self> {
        let reattached = Arc::new(AtomicU64::new(0));
        let failure = Arc::new(Mutex::new(None));
        let done = Arc::new(AtomicBool::new(false));
        let handle = {
            let (reattached, failure, done) = (
                Arc::clone(&reattached),
                Arc::clone(&failure),
                Arc::clone(&done),
            );
            std::thread::Builder::new()
                .name("xflute-xdp-watch".into())
                .spawn(move || {
                    let mut last = Instant::now();
                    while !stop.load(Ordering::Relaxed) && !done.load(Ordering::Relaxed) {
                        std::thread::sleep(STOP_POLL);
                        if last.elapsed() < CHECK_EVERY {
                            continue;
                        }
                        last = Instant::now();
                        let mut steering = steering.lock().unwrap_or_else(PoisonError::into_inner);
                        match check(&mut steering) {
                            Ok(false) => {}
                            Ok(true) => {
                                reattached.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "the XDP program was detached and could not be reattached; stopping");
                                *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                                stop.store(true, Ordering::SeqCst);
                            }
                        }
                    }
                })?
        };
        Ok(Self {
            handle: Some(handle),
            reattached,
            failure,
            done,
        })
    }

    /// Times the program was found detached and reattached.
    pub(super) fn reattached(&self) -> u64 {
        self.reattached.load(Ordering::Relaxed)
    }

    /// Ends the thread; returns why the program could not be kept attached, if that happened.
    pub(super) fn finish(&mut self) -> Option<XdpError> {
        self.done.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl Drop for XdpWatch {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Reattaches the program if it is no longer attached; `true` if it did.
fn check(steering: &mut XdpSteering) -> Result<bool, XdpError> {
    if steering.is_attached()? {
        return Ok(false);
    }
    tracing::warn!(
        interface = steering.interface(),
        "the XDP steering program was detached by someone else; reattaching it"
    );
    steering.reattach()?;
    Ok(true)
}
