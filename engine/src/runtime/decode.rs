//! Block decoding off the receive worker's thread: the receiver hands out the decodes of large
//! blocks (`Config::defer_decode_from_bytes`) as jobs, a stage thread beside the worker runs
//! them, and the worker takes each back between two batches. A RaptorQ block of a few thousand
//! symbols takes milliseconds to decode, during which a worker decoding it itself reads
//! nothing from its rx ring; the copies in and out of a job cost it a fraction of that. Jobs
//! the stage has no room for wait with the worker rather than being decoded there.

use std::collections::VecDeque;
use std::thread::JoinHandle;
use std::time::SystemTime;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use super::verify::spawn_beside_worker;
use crate::receiver::{DecodeJob, MultiReceiver, ObjectSink};

/// Jobs at the stage at once; the others wait with the worker. Either way a job holds its
/// copy on the receiver's memory budget, which bounds them all whatever the network sends:
/// the worker never decodes a large block itself while the stage runs, even when the stage
/// shares a busy core and falls behind.
const IN_FLIGHT: usize = 8;

/// Blocks of at least this many bytes are decoded by the stage (RaptorQ blocks of about a
/// thousand 1400-byte symbols and more; a Reed-Solomon block of 64 such symbols decodes in
/// less time than the copies would take).
pub(super) const DEFER_FROM_BYTES: u64 = 1 << 20;

/// The stage: its thread and the jobs between it and the worker.
#[derive(Debug)]
pub(super) struct DecodeStage {
    to_decode: Option<Sender<DecodeJob>>,
    decoded: Receiver<DecodeJob>,
    /// Jobs waiting for room at the stage.
    waiting: VecDeque<DecodeJob>,
    out: usize,
    thread: Option<JoinHandle<()>>,
}

impl DecodeStage {
    /// Starts the stage's thread, named after worker `index`.
    pub(super) fn start(index: usize) -> std::io::Result<Self> {
        let (to_decode, inbox) = bounded::<DecodeJob>(IN_FLIGHT);
        let (outbox, decoded) = bounded::<DecodeJob>(IN_FLIGHT);
        let thread = spawn_beside_worker(format!("xflute-decode{index}"), move || {
            for mut job in inbox {
                job.run();
                if outbox.send(job).is_err() {
                    return;
                }
            }
        })?;
        Ok(Self {
            to_decode: Some(to_decode),
            decoded,
            waiting: VecDeque::new(),
            out: 0,
            thread: Some(thread),
        })
    }

    /// Takes `receiver`'s new jobs, sends the stage what it has room for, and gives
    /// `receiver` back the jobs decoded: those ready, or, when `drain`, every job (waiting for
    /// the stage to decode them).
    pub(super) fn exchange<S: ObjectSink>(
        &mut self,
        receiver: &mut MultiReceiver<S>,
        now: SystemTime,
        drain: bool,
    ) {
        self.waiting.extend(receiver.take_decode_jobs());
        loop {
            self.send_waiting(receiver, now);
            if self.out == 0 {
                return;
            }
            let job = if drain {
                self.decoded.recv().ok()
            } else {
                self.decoded.try_recv().ok()
            };
            let Some(job) = job else {
                if drain {
                    // The thread ended: nothing more will come back.
                    self.out = 0;
                    continue;
                }
                return;
            };
            self.out -= 1;
            receiver.finish_decode(job, now);
        }
    }

    /// Sends waiting jobs while the stage has room; without a stage thread (it could not
    /// have ended but by a panic), decodes them here.
    fn send_waiting<S: ObjectSink>(&mut self, receiver: &mut MultiReceiver<S>, now: SystemTime) {
        while self.out < IN_FLIGHT
            && let Some(job) = self.waiting.pop_front()
        {
            let unsent = match &self.to_decode {
                Some(tx) => match tx.try_send(job) {
                    Ok(()) => {
                        self.out += 1;
                        None
                    }
                    Err(TrySendError::Full(job)) => {
                        self.waiting.push_front(job);
                        return;
                    }
                    Err(TrySendError::Disconnected(job)) => Some(job),
                },
                None => Some(job),
            };
            if let Some(mut job) = unsent {
                self.to_decode = None;
                job.run();
                receiver.finish_decode(job, now);
            }
        }
    }

    /// Whether jobs are out or waiting: the worker then polls rather than sleeps, as a
    /// decode comes back without a packet to wake it.
    pub(super) fn busy(&self) -> bool {
        self.out > 0 || !self.waiting.is_empty()
    }
}

impl Drop for DecodeStage {
    fn drop(&mut self) {
        self.to_decode = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
