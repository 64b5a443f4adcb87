//! Block decoding off the receive worker's thread: the receiver hands out the decodes of large
//! blocks (`Config::defer_decode_from_bytes`) as jobs, a stage thread beside the worker runs
//! them, and the worker takes each back between two batches. A RaptorQ block of a few thousand
//! symbols takes milliseconds to decode, during which a worker decoding it itself reads
//! nothing from its rx ring; the copies in and out of a job cost it a fraction of that.

use std::thread::JoinHandle;
use std::time::SystemTime;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use super::verify::spawn_beside_worker;
use crate::receiver::{DecodeJob, MultiReceiver, ObjectSink};

/// Jobs out at once; past this the worker decodes the next job itself, so that what the
/// stage holds stays bounded whatever the network sends.
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
            out: 0,
            thread: Some(thread),
        })
    }

    /// Sends `receiver`'s new jobs to the stage (with the stage full, runs them here) and
    /// gives `receiver` back the jobs decoded: those ready, or, when `drain`, every job out.
    pub(super) fn exchange<S: ObjectSink>(
        &mut self,
        receiver: &mut MultiReceiver<S>,
        now: SystemTime,
        drain: bool,
    ) {
        for job in receiver.take_decode_jobs() {
            let refused = match &self.to_decode {
                Some(tx) if self.out < IN_FLIGHT => match tx.try_send(job) {
                    Ok(()) => {
                        self.out += 1;
                        None
                    }
                    Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => Some(job),
                },
                _ => Some(job),
            };
            if let Some(mut job) = refused {
                job.run();
                receiver.finish_decode(job, now);
            }
        }
        while self.out > 0 {
            let job = if drain {
                self.decoded.recv().ok()
            } else {
                self.decoded.try_recv().ok()
            };
            let Some(job) = job else {
                if drain {
                    // The thread ended: nothing more will come back.
                    self.out = 0;
                }
                break;
            };
            self.out -= 1;
            receiver.finish_decode(job, now);
        }
    }

    /// Jobs out.
    pub(super) fn out(&self) -> usize {
        self.out
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
