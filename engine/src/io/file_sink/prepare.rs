//! Objects prepared ahead: the temporary files of objects an FDT announced, created, reserved
//! and mapped on a thread of the sink's before their first packet comes, so that the receive
//! worker finds them ready instead of spending that time between two reads of its rx ring.
//!
//! Creating a small object costs the worker an `openat`, an `fallocate` of the whole object
//! (on tmpfs its pages allocated and zeroed), an `mmap` and a `close`; in a carousel of many
//! small files at a few Gbit/s that is a large share of the worker's time (figures in
//! `docs/benchmarks.md`, "The demo"). The FDT lists the objects before the sender starts
//! them, so the work can be done beforehand.
//!
//! An FDT is unverified input, so what is prepared is bounded: only objects of up to
//! [`RESERVE_CHUNK`] (larger ones are reserved chunk by chunk or from the spool anyway), at
//! most [`READY_MAX`] objects and [`READY_MAX_BYTES`] ready at a time, at most [`QUEUE_MAX`]
//! asked for, and an object not claimed within [`READY_TTL`] is discarded (its temporary file
//! removed) to make room. The worker claims a prepared object when the object's first packet
//! comes and its description is the same; otherwise it creates the object itself as before,
//! and cancels the request, so that nothing is prepared twice.

use super::{FileSink, FileSinkObject, RESERVE_CHUNK};
use crate::receiver::sink::ObjectDescription;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Objects waiting to be prepared; past this an announcement is not prepared.
pub(super) const QUEUE_MAX: usize = 1024;
/// Prepared objects waiting for their first packet.
pub(super) const READY_MAX: usize = 32;
/// Bytes of prepared objects waiting for their first packet (on tmpfs, memory).
pub(super) const READY_MAX_BYTES: u64 = 32 << 20;
/// A prepared object not claimed for this long is discarded, when its room is wanted.
pub(super) const READY_TTL: Duration = Duration::from_secs(2);

/// What preparing ahead has done, for the receiver's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PrepareStats {
    /// Objects announced and asked to be prepared.
    pub asked: u64,
    /// Objects prepared.
    pub prepared: u64,
    /// Prepared objects a receive worker took.
    pub claimed: u64,
    /// Objects the worker created itself because theirs was not ready yet.
    pub missed: u64,
    /// Prepared objects discarded unclaimed (never started, or described otherwise).
    pub discarded: u64,
    /// Objects that could not be prepared (disk full, a refused name): the worker meets the
    /// same error when it creates them, and reports it.
    pub failed: u64,
}

#[derive(Debug, Default)]
struct Counters {
    asked: AtomicU64,
    prepared: AtomicU64,
    claimed: AtomicU64,
    missed: AtomicU64,
    discarded: AtomicU64,
    failed: AtomicU64,
}

/// An object to prepare, with the sink (its root and limits, no threads) that will create it.
struct Request {
    sink: FileSink,
    desc: ObjectDescription,
}

struct Ready {
    root: PathBuf,
    desc: ObjectDescription,
    object: FileSinkObject,
    at: Instant,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Request>,
    ready: VecDeque<Ready>,
    ready_bytes: u64,
    /// The object being prepared, and whether a worker created it meanwhile.
    current: Option<(PathBuf, ObjectDescription)>,
    current_cancelled: bool,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    counters: Counters,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change under the lock is whole: a panic elsewhere cannot leave it half-made.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The preparing thread's handle, shared by the clones of a sink's threads; the thread ends
/// (discarding what is still unclaimed) once the last clone is dropped.
#[derive(Clone)]
pub(super) struct Preparer {
    shared: Arc<Shared>,
    _closer: Arc<Closer>,
}

impl std::fmt::Debug for Preparer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preparer").finish_non_exhaustive()
    }
}

struct Closer(Arc<Shared>);

impl Drop for Closer {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.wake.notify_all();
    }
}

/// Whether a sink of `root` would prepare `desc`: a small object of known name and length.
fn worth_preparing(sink: &FileSink, desc: &ObjectDescription) -> bool {
    desc.path.is_some() && desc.len > 0 && desc.len <= RESERVE_CHUNK.min(sink.max_object_bytes)
}

fn same(
    root: &Path,
    desc: &ObjectDescription,
    other_root: &Path,
    other: &ObjectDescription,
) -> bool {
    desc == other && root == other_root
}

impl Preparer {
    pub(super) fn start() -> std::io::Result<(Self, JoinHandle<()>)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            counters: Counters::default(),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("xflute-prepare".into())
                .spawn(move || prepare_loop(&shared))?
        };
        let closer = Arc::new(Closer(Arc::clone(&shared)));
        Ok((
            Self {
                shared,
                _closer: closer,
            },
            thread,
        ))
    }

    /// Asks for `desc` to be prepared by `sink`, unless it is not worth it or the queue is
    /// full.
    pub(super) fn ask(&self, sink: &FileSink, desc: &ObjectDescription) {
        if !worth_preparing(sink, desc) {
            return;
        }
        let mut state = self.shared.lock();
        if state.queue.len() >= QUEUE_MAX {
            return;
        }
        state.queue.push_back(Request {
            sink: FileSink {
                threads: None,
                ..sink.clone()
            },
            desc: desc.clone(),
        });
        drop(state);
        self.shared.counters.asked.fetch_add(1, Ordering::Relaxed);
        self.shared.wake.notify_all();
    }

    /// The prepared object of `desc` in `sink`'s root, if it is ready; if it was asked for
    /// but is not ready, the request is cancelled (the caller creates the object itself).
    pub(super) fn claim(
        &self,
        sink: &FileSink,
        desc: &ObjectDescription,
    ) -> Option<FileSinkObject> {
        if !worth_preparing(sink, desc) {
            return None;
        }
        let root = &sink.root;
        let mut state = self.shared.lock();
        if let Some(i) = state
            .ready
            .iter()
            .position(|r| same(&r.root, &r.desc, root, desc))
        {
            let ready = state.ready.remove(i)?;
            state.ready_bytes = state.ready_bytes.saturating_sub(ready.desc.len);
            drop(state);
            self.shared.counters.claimed.fetch_add(1, Ordering::Relaxed);
            self.shared.wake.notify_all();
            return Some(ready.object);
        }
        let queued = state
            .queue
            .iter()
            .position(|r| same(&r.sink.root, &r.desc, root, desc));
        let asked = match queued {
            Some(i) => state.queue.remove(i).is_some(),
            None => match &state.current {
                Some((r, d)) if same(r, d, root, desc) => {
                    state.current_cancelled = true;
                    true
                }
                _ => false,
            },
        };
        drop(state);
        if asked {
            self.shared.counters.missed.fetch_add(1, Ordering::Relaxed);
        }
        None
    }

    pub(super) fn stats(&self) -> PrepareStats {
        let c = &self.shared.counters;
        PrepareStats {
            asked: c.asked.load(Ordering::Relaxed),
            prepared: c.prepared.load(Ordering::Relaxed),
            claimed: c.claimed.load(Ordering::Relaxed),
            missed: c.missed.load(Ordering::Relaxed),
            discarded: c.discarded.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
        }
    }
}

/// Room for `len` more bytes among the ready objects.
fn has_room(state: &State, len: u64) -> bool {
    state.ready.len() < READY_MAX && state.ready_bytes + len <= READY_MAX_BYTES
}

fn prepare_loop(shared: &Shared) {
    let counters = &shared.counters;
    loop {
        let mut discard = Vec::new();
        let mut state = shared.lock();
        let request = loop {
            if state.closed {
                discard.extend(state.ready.drain(..).map(|r| r.object));
                state.ready_bytes = 0;
                state.queue.clear();
                break None;
            }
            let Some(len) = state.queue.front().map(|r| r.desc.len) else {
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            };
            // Room is made by discarding the objects unclaimed for longest, once stale.
            while !has_room(&state, len)
                && state
                    .ready
                    .front()
                    .is_some_and(|r| r.at.elapsed() >= READY_TTL)
            {
                if let Some(r) = state.ready.pop_front() {
                    state.ready_bytes = state.ready_bytes.saturating_sub(r.desc.len);
                    discard.push(r.object);
                }
            }
            if has_room(&state, len) {
                let request = state.queue.pop_front();
                if let Some(r) = &request {
                    state.current = Some((r.sink.root.clone(), r.desc.clone()));
                    state.current_cancelled = false;
                }
                break request;
            }
            let wait = state
                .ready
                .front()
                .map_or(READY_TTL, |r| READY_TTL.saturating_sub(r.at.elapsed()));
            state = shared
                .wake
                .wait_timeout(state, wait)
                .map(|(s, _)| s)
                .unwrap_or_else(|e| e.into_inner().0);
        };
        drop(state);
        // Dropping an uncommitted object unmaps it and removes its temporary file.
        counters
            .discarded
            .fetch_add(discard.len() as u64, Ordering::Relaxed);
        drop(discard);
        let Some(Request { mut sink, desc }) = request else {
            return;
        };
        let made = sink.create_here(&desc);
        let mut state = shared.lock();
        let cancelled = std::mem::take(&mut state.current_cancelled) || state.closed;
        state.current = None;
        match made {
            Ok(object) if !cancelled => {
                state.ready_bytes += desc.len;
                state.ready.push_back(Ready {
                    root: sink.root.clone(),
                    desc,
                    object,
                    at: Instant::now(),
                });
                counters.prepared.fetch_add(1, Ordering::Relaxed);
            }
            Ok(object) => {
                drop(state);
                counters.prepared.fetch_add(1, Ordering::Relaxed);
                counters.discarded.fetch_add(1, Ordering::Relaxed);
                drop(object);
            }
            Err(e) => {
                drop(state);
                tracing::debug!(error = %e, toi = desc.toi, "preparing an announced object");
                counters.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SinkThreads, is_temp_name};
    use super::*;
    use crate::receiver::path::SafeRelativePath;
    use crate::receiver::sink::{ObjectSink, SinkObject};
    use std::fs;

    struct Dir(PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn dir(name: &str) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("xflute-prepare-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        Dir(dir)
    }

    fn desc(toi: u128, loc: &str, len: u64) -> ObjectDescription {
        ObjectDescription {
            tsi: 3,
            toi,
            path: Some(SafeRelativePath::from_content_location(loc).unwrap()),
            len,
            content_type: None,
        }
    }

    /// The temporary files below `dir`, with their lengths.
    fn parts(dir: &Path) -> Vec<(PathBuf, u64)> {
        let mut found = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                found.extend(parts(&path));
            } else if is_temp_name(&entry.file_name()) {
                found.push((path, entry.metadata().unwrap().len()));
            }
        }
        found
    }

    fn wait_for(threads: &SinkThreads, done: impl Fn(&PrepareStats) -> bool) -> PrepareStats {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let stats = threads.prepare_stats();
            if done(&stats) || Instant::now() > deadline {
                return stats;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn an_announced_object_is_prepared_then_taken_by_its_first_create() {
        let dir = dir("claimed");
        let (threads, thread) = SinkThreads::start().unwrap();
        let mut sink = FileSink::new(&dir.0, 1 << 30)
            .unwrap()
            .with_threads(threads.clone());
        let d = desc(1, "file:///news/a.bin", 100_000);
        sink.expect(&d);
        let stats = wait_for(&threads, |s| s.prepared == 1);
        assert_eq!(stats.prepared, 1, "{stats:?}");
        let prepared = parts(&dir.0);
        assert_eq!(prepared.len(), 1);
        assert_eq!(prepared[0].1, 100_000);

        let mut object = sink.create(&d).unwrap();
        assert_eq!(threads.prepare_stats().claimed, 1);
        assert_eq!(object.temp_path(), prepared[0].0);
        object.data_mut().fill(0x5a);
        object.commit().unwrap();
        assert_eq!(
            fs::read(dir.0.join("news/a.bin")).unwrap(),
            vec![0x5a; 100_000]
        );
        assert!(parts(&dir.0).is_empty());
        drop((sink, threads));
        thread.join().unwrap();
    }

    #[test]
    fn an_object_described_otherwise_is_created_anew_and_the_unclaimed_one_removed() {
        let dir = dir("described-otherwise");
        let (threads, thread) = SinkThreads::start().unwrap();
        let shared = Arc::clone(&threads.prepare.shared);
        let mut sink = FileSink::new(&dir.0, 1 << 30)
            .unwrap()
            .with_threads(threads.clone());
        sink.expect(&desc(1, "file:///a.bin", 1000));
        wait_for(&threads, |s| s.prepared == 1);
        // The FDT changed the object's length since.
        let mut object = sink.create(&desc(1, "file:///a.bin", 999)).unwrap();
        object.data_mut().fill(1);
        object.commit().unwrap();
        assert_eq!(threads.prepare_stats().claimed, 0);
        assert_eq!(parts(&dir.0).len(), 1, "the prepared one waits for its TTL");
        drop((sink, threads));
        thread.join().unwrap();
        assert!(parts(&dir.0).is_empty());
        assert_eq!(shared.counters.discarded.load(Ordering::Relaxed), 1);
        assert_eq!(fs::read(dir.0.join("a.bin")).unwrap(), vec![1; 999]);
    }

    #[test]
    fn objects_that_start_before_they_are_ready_are_created_once_each() {
        let dir = dir("race");
        let (threads, thread) = SinkThreads::start().unwrap();
        let shared = Arc::clone(&threads.prepare.shared);
        let mut sink = FileSink::new(&dir.0, 1 << 30)
            .unwrap()
            .with_threads(threads.clone());
        let all: Vec<_> = (1..=48)
            .map(|i| desc(i, &format!("file:///f{i}.bin"), 1 << 20))
            .collect();
        for d in &all {
            sink.expect(d);
        }
        // Started at once, in the order announced: the first ones beat the preparing thread.
        for d in &all {
            let mut object = sink.create(d).unwrap();
            object.data_mut().fill(d.toi as u8);
            object.commit().unwrap();
        }
        drop((sink, threads));
        thread.join().unwrap();
        let c = &shared.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        assert_eq!(load(&c.asked), 48);
        assert_eq!(load(&c.claimed) + load(&c.missed), 48);
        assert_eq!(load(&c.prepared), load(&c.claimed) + load(&c.discarded));
        assert!(parts(&dir.0).is_empty());
        for d in &all {
            let name = format!("f{}.bin", d.toi);
            assert_eq!(
                fs::read(dir.0.join(name)).unwrap(),
                vec![d.toi as u8; 1 << 20]
            );
        }
    }

    #[test]
    fn what_is_prepared_and_waits_is_bounded() {
        let dir = dir("bounded");
        let (threads, thread) = SinkThreads::start().unwrap();
        let mut sink = FileSink::new(&dir.0, 1 << 30)
            .unwrap()
            .with_threads(threads.clone());
        // Announced and never sent: a hostile or a long FDT.
        for i in 0..(2 * QUEUE_MAX) as u128 {
            sink.expect(&desc(i, &format!("file:///f{i}.bin"), RESERVE_CHUNK));
        }
        // Larger objects are reserved chunk by chunk when they come: not prepared.
        sink.expect(&desc(1 << 20, "file:///big.bin", RESERVE_CHUNK + 1));
        let full = READY_MAX_BYTES / RESERVE_CHUNK;
        let stats = wait_for(&threads, |s| s.prepared >= full);
        // The queue was drained by the objects prepared while it was being filled.
        let queued = QUEUE_MAX as u64;
        assert!((queued..=queued + full).contains(&stats.asked), "{stats:?}");
        std::thread::sleep(Duration::from_millis(100));
        let waiting = parts(&dir.0);
        assert_eq!(waiting.len() as u64, full, "{waiting:?}");
        assert!(waiting.iter().map(|p| p.1).sum::<u64>() <= READY_MAX_BYTES);
        assert!(waiting.len() <= READY_MAX);
        drop((sink, threads));
        thread.join().unwrap();
        assert!(parts(&dir.0).is_empty());
    }
}
