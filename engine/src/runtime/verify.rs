//! Packet authentication off the receive worker's thread: a stage that checks the MACs and
//! signatures (RFC 6584) of one batch while the worker takes the batch before it.
//!
//! Checking a packet needs only the verifier's configuration
//! ([`VerifierConfig::check`]); what needs the worker's state, the Sequence Number against its
//! session's window, stays with the worker ([`MultiReceiver::push_checked`]). So the worker
//! copies each batch's payloads into a buffer of the stage, hands it to the stage's thread, and
//! takes back the batch checked before: the MAC of a 1.4 kB packet costs about as much as the
//! rest of the receive path, and two cores then do what one did. Batches come back in the order
//! they went, so the worker sees its packets in their order, one batch late; when its source has
//! nothing more to give, it waits for every batch still out.

use std::ops::Range;
use std::thread::JoinHandle;
use std::time::SystemTime;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::auth::{Checked, VerifierConfig};
use crate::endpoint::UdpEndpoint;
use crate::io::affinity;
use crate::receiver::{MultiReceiver, ObjectSink};

/// Batches out at once: one being checked, one queued; the worker fills a third.
const IN_FLIGHT: usize = 2;
/// Packets a batch gathers before it goes, unless the source runs dry first: a hand-over
/// costs the stage's thread a wake-up, a few microseconds, which this many MACs make small.
const PACKETS_PER_BATCH: usize = 256;

/// The packets of one batch, copied, with what the stage found.
#[derive(Debug, Default)]
struct Batch {
    data: Vec<u8>,
    packets: Vec<(UdpEndpoint, Range<usize>, SystemTime)>,
    checked: Vec<Checked>,
}

impl Batch {
    fn clear(&mut self) {
        self.data.clear();
        self.packets.clear();
        self.checked.clear();
    }
}

/// Starts thread `name` for a stage beside the calling receive worker: started from the
/// worker's thread it would inherit the worker's pinning to one core and share it, so it runs
/// on the other cores instead (where there are any).
pub(super) fn spawn_beside_worker(
    name: String,
    f: impl FnOnce() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    let worker_cores = affinity::current_thread_cores().unwrap_or_default();
    let others: Vec<usize> = affinity::online_cores()
        .into_iter()
        .filter(|c| !worker_cores.contains(c))
        .collect();
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            if worker_cores.len() == 1
                && !others.is_empty()
                && let Err(e) = affinity::set_current_thread_cores(&others)
            {
                tracing::debug!(error = %e, thread = name, "a stage shares its worker's core");
            }
            f()
        })
}

/// The stage: its thread and the batches between it and the worker.
#[derive(Debug)]
pub(super) struct VerifyStage {
    to_check: Option<Sender<Batch>>,
    checked: Receiver<Batch>,
    /// The batch being filled.
    filling: Batch,
    /// Empty batches to fill next.
    spare: Vec<Batch>,
    out: usize,
    thread: Option<JoinHandle<()>>,
}

impl VerifyStage {
    /// Starts the stage's thread, named after worker `index`.
    pub(super) fn start(config: &'static VerifierConfig, index: usize) -> std::io::Result<Self> {
        let (to_check, inbox) = bounded::<Batch>(IN_FLIGHT);
        let (outbox, checked) = bounded::<Batch>(IN_FLIGHT);
        let thread = spawn_beside_worker(format!("xflute-auth{index}"), move || {
            for mut batch in inbox {
                let Batch {
                    data,
                    packets,
                    checked,
                } = &mut batch;
                checked.extend(packets.iter().map(|(_, range, _)| {
                    config.check(data.get(range.clone()).unwrap_or_default())
                }));
                if outbox.send(batch).is_err() {
                    return;
                }
            }
        })?;
        Ok(Self {
            to_check: Some(to_check),
            checked,
            filling: Batch::default(),
            spare: Vec::new(),
            out: 0,
            thread: Some(thread),
        })
    }

    /// Copies one packet into the batch being filled.
    pub(super) fn stage(&mut self, endpoint: UdpEndpoint, payload: &[u8], now: SystemTime) {
        let start = self.filling.data.len();
        self.filling.data.extend_from_slice(payload);
        self.filling
            .packets
            .push((endpoint, start..self.filling.data.len(), now));
    }

    /// Sends the batch being filled once it is full (or, when `drain`, whatever it holds) and
    /// hands `receiver` the batches checked: those ready, or, when `drain` (the source had
    /// nothing), every batch still out. Returns the packets handed over.
    pub(super) fn flush<S: ObjectSink>(
        &mut self,
        receiver: &mut MultiReceiver<S>,
        drain: bool,
    ) -> u64 {
        let mut pushed = 0;
        let full = self.filling.packets.len() >= PACKETS_PER_BATCH;
        if !self.filling.packets.is_empty() && (full || drain) {
            if self.out >= IN_FLIGHT {
                // Both slots busy: take the oldest back first (the worker keeps pace with the
                // stage rather than queueing without bound).
                pushed += self.take_one(receiver, true);
            }
            let next = self.spare.pop().unwrap_or_default();
            let batch = std::mem::replace(&mut self.filling, next);
            match &self.to_check {
                Some(tx) if tx.send(batch).is_ok() => self.out += 1,
                // The stage's thread is gone (it cannot panic: `check` does not): nothing is
                // taken unchecked.
                _ => {}
            }
        }
        while self.out > 0 {
            let got = self.take_one(receiver, drain);
            if got == 0 && !drain {
                break;
            }
            pushed += got;
        }
        pushed
    }

    /// Takes one checked batch back (waiting for it when `wait`) and pushes its packets.
    fn take_one<S: ObjectSink>(&mut self, receiver: &mut MultiReceiver<S>, wait: bool) -> u64 {
        let batch = if wait {
            self.checked.recv().ok()
        } else {
            self.checked.try_recv().ok()
        };
        let Some(mut batch) = batch else {
            if wait {
                // The thread ended: what it had is lost, and nothing more will come.
                self.out = 0;
            }
            return 0;
        };
        self.out -= 1;
        let mut n = 0;
        for ((endpoint, range, now), checked) in batch.packets.iter().zip(&batch.checked) {
            let payload = batch.data.get(range.clone()).unwrap_or_default();
            // Drops are typed and counted in the receiver's stats.
            let _ = receiver.push_checked(endpoint, payload, checked, *now);
            n += 1;
        }
        batch.clear();
        self.spare.push(batch);
        n
    }
}

impl Drop for VerifyStage {
    fn drop(&mut self) {
        self.to_check = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
