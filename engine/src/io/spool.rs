//! A spool: output space reserved ahead of time, so that a large object's first packets do not
//! wait for the file system to allocate and zero its pages.
//!
//! On a RAM spool (tmpfs), allocating a page means zeroing it, and on a VM whose free memory is
//! handed back to the host it also means the host faulting the page in again: a fraction of a
//! second or more per GiB, inside the receive worker, which drops what its rx ring cannot hold
//! meanwhile. A spool moves that work out of the transfer: a
//! *piece* of the configured size is an unnamed file (`O_TMPFILE`) in the output directory, its
//! space allocated with `fallocate` and its pages mapped and populated, ready before the
//! receiver starts. The file sink gives the piece to the next object larger than
//! [`RESERVE_CHUNK`](super::file_sink::RESERVE_CHUNK) that fits in it, linking it under the
//! object's temporary name; a thread at idle priority (`SCHED_IDLE`: it runs only on a core with
//! nothing else to do) trims each taken piece to its object's length and builds the next piece
//! between transfers: once every object that took a piece is finished and no piece has been
//! taken for half a second. A spool thus serves bursts of large objects, one per piece.
//!
//! An unnamed file vanishes with the process, so a killed receiver leaves no spool behind. A
//! file system without `O_TMPFILE`, a spool that cannot be filled (disk full) or a piece that is
//! not ready leave the sink on its usual path: reserving the object chunk by chunk as it is
//! written.

use super::file_sink::{Reserved, reserve};
use memmap2::{Advice, MmapMut};
use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Space is allocated and its pages populated in steps of this size, so that a stop request is
/// seen within one step.
const STEP: u64 = 4 << 20;
/// How long the filler waits before trying again after a piece could not be built.
const RETRY: Duration = Duration::from_secs(1);
/// The next piece is built only once every taken piece's object is finished and no piece has
/// been taken for this long: building one allocates and zeroes its pages, which would compete
/// with a transfer for the cores and the memory (and on a VM whose memory the host reclaims,
/// stall the core it runs on while the host faults the pages back in).
const REFILL_QUIET: Duration = Duration::from_millis(500);

/// A piece of reserved space: an unnamed file of `len` bytes, allocated, and a populated shared
/// mapping of it.
#[derive(Debug)]
pub struct Piece {
    /// The unnamed file.
    pub file: File,
    /// Its whole length, mapped with every page present.
    pub map: MmapMut,
    /// Its length in bytes.
    pub len: u64,
}

/// What the spool has done, for the receiver's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SpoolStats {
    /// Pieces built (the first one included).
    pub filled: u64,
    /// Pieces given to an object.
    pub taken: u64,
    /// Objects that would have fitted but found no piece ready.
    pub missed: u64,
    /// Attempts to build a piece that failed (disk full, I/O error).
    pub fill_failures: u64,
}

#[derive(Debug, Default)]
struct Counters {
    filled: AtomicU64,
    taken: AtomicU64,
    missed: AtomicU64,
    fill_failures: AtomicU64,
}

/// What the filler thread is asked to do.
#[derive(Debug, Default)]
struct Work {
    /// The ready piece, if any.
    ready: Option<Piece>,
    /// Taken pieces to trim to their object's length, which frees the rest of their pages.
    trims: Vec<(File, u64)>,
    /// Pieces taken whose object is not finished yet.
    in_flight: usize,
    /// No piece is built before this (a recent take, or a failed build).
    not_before: Option<Instant>,
    stop: bool,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    piece_len: u64,
    work: Mutex<Work>,
    wake: Condvar,
    counters: Counters,
    /// Set while a piece is ready, read by workers without taking the lock.
    ready: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Work> {
        // A panic while holding the lock can only come from the filler's own code; the state
        // (an optional piece and a list of trims) is valid whatever it was doing.
        self.work.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reserved output space in a directory, refilled in the background.
#[derive(Debug)]
pub struct Spool {
    shared: Arc<Shared>,
    filler: Option<JoinHandle<()>>,
}

impl Spool {
    /// Builds the first piece of `piece_len` bytes in `dir` (on the calling thread: this takes
    /// as long as the file system needs to allocate it), then starts the idle-priority thread
    /// that builds the next one whenever a piece is taken.
    pub fn new(dir: impl AsRef<Path>, piece_len: u64) -> io::Result<Self> {
        if piece_len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a spool piece needs at least one byte",
            ));
        }
        let shared = Arc::new(Shared {
            dir: dir.as_ref().to_path_buf(),
            piece_len,
            work: Mutex::new(Work::default()),
            wake: Condvar::new(),
            counters: Counters::default(),
            ready: AtomicBool::new(false),
        });
        let first = build_piece(&shared.dir, piece_len, &|| false)?;
        shared.counters.filled.fetch_add(1, Ordering::Relaxed);
        shared.lock().ready = Some(first);
        shared.ready.store(true, Ordering::Release);
        let filler = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("xflute-spool".into())
                .spawn(move || fill_loop(&shared))?
        };
        Ok(Self {
            shared,
            filler: Some(filler),
        })
    }

    /// The length of each piece.
    pub fn piece_len(&self) -> u64 {
        self.shared.piece_len
    }

    /// The ready piece, if there is one and an object of `len` bytes fits in it; the filler is
    /// woken to build the next. Never waits for a piece being built (that is a miss); the lock
    /// it takes is only ever held for a few instructions.
    pub fn take(&self, len: u64) -> Option<Piece> {
        if len > self.shared.piece_len {
            return None;
        }
        let counters = &self.shared.counters;
        if !self.shared.ready.load(Ordering::Acquire) {
            counters.missed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let mut work = self.shared.lock();
        let piece = work.ready.take();
        if piece.is_some() {
            work.in_flight += 1;
            work.not_before = Some(Instant::now() + REFILL_QUIET);
        }
        self.shared.ready.store(false, Ordering::Release);
        drop(work);
        match &piece {
            Some(_) => {
                counters.taken.fetch_add(1, Ordering::Relaxed);
                self.shared.wake.notify_all();
            }
            None => {
                counters.missed.fetch_add(1, Ordering::Relaxed);
            }
        }
        piece
    }

    /// Says that the object of a piece [`Spool::take`] gave is finished (committed or dropped):
    /// once all are, and after a quiet spell, the next piece is built.
    pub fn finished(&self) {
        let mut work = self.shared.lock();
        work.in_flight = work.in_flight.saturating_sub(1);
        drop(work);
        self.shared.wake.notify_all();
    }

    /// Asks the filler to trim `file` (a taken piece) to `len` bytes, freeing the pages past
    /// the object without making a receive worker wait for it. Whoever needs the exact length
    /// first (the commit) truncates it itself if the filler has not got to it yet.
    pub fn trim_later(&self, file: File, len: u64) {
        self.shared.lock().trims.push((file, len));
        self.shared.wake.notify_all();
    }

    /// Whether a piece is ready now.
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::Acquire)
    }

    /// Waits up to `timeout` for a piece to be ready; returns whether one is.
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let work = self.shared.lock();
        let (work, _) = self
            .shared
            .wake
            .wait_timeout_while(work, timeout, |w| w.ready.is_none() && !w.stop)
            .unwrap_or_else(|e| e.into_inner());
        work.ready.is_some()
    }

    /// What the spool has done so far.
    pub fn stats(&self) -> SpoolStats {
        let c = &self.shared.counters;
        SpoolStats {
            filled: c.filled.load(Ordering::Relaxed),
            taken: c.taken.load(Ordering::Relaxed),
            missed: c.missed.load(Ordering::Relaxed),
            fill_failures: c.fill_failures.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_all();
        if let Some(filler) = self.filler.take() {
            let _ = filler.join();
        }
        // The ready piece, unnamed, is freed with its last descriptor and mapping.
    }
}

/// The filler: trims taken pieces first (at normal priority: they are short and a commit may be
/// waiting for one), then, when no piece is ready, no taken piece's object is in flight and
/// nothing was taken for [`REFILL_QUIET`], builds the next piece at idle priority.
fn fill_loop(shared: &Shared) {
    loop {
        let trims = {
            let mut work = shared.lock();
            loop {
                if work.stop {
                    return;
                }
                if !work.trims.is_empty() {
                    break;
                }
                let wanted = work.ready.is_none() && work.in_flight == 0;
                let wait = match (wanted, work.not_before) {
                    (false, _) => Duration::from_secs(3600),
                    (true, None) => break,
                    (true, Some(t)) => match t.checked_duration_since(Instant::now()) {
                        Some(left) if !left.is_zero() => left,
                        _ => break,
                    },
                };
                work = shared
                    .wake
                    .wait_timeout(work, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            std::mem::take(&mut work.trims)
        };
        set_idle_priority(false);
        for (file, len) in trims {
            if file.metadata().is_ok_and(|m| m.len() > len)
                && let Err(e) = file.set_len(len)
            {
                tracing::debug!(error = %e, "trimming a spool piece");
            }
        }
        {
            let work = shared.lock();
            let due = work.not_before.is_none_or(|t| Instant::now() >= t);
            if work.ready.is_some() || work.in_flight > 0 || !due {
                continue;
            }
        }
        set_idle_priority(true);
        let stopping = || shared.lock().stop;
        match build_piece(&shared.dir, shared.piece_len, &stopping) {
            Ok(piece) => {
                shared.counters.filled.fetch_add(1, Ordering::Relaxed);
                let mut work = shared.lock();
                work.ready = Some(piece);
                work.not_before = None;
                drop(work);
                shared.ready.store(true, Ordering::Release);
                shared.wake.notify_all();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return,
            Err(e) => {
                if shared
                    .counters
                    .fill_failures
                    .fetch_add(1, Ordering::Relaxed)
                    == 0
                {
                    tracing::warn!(error = %e, dir = %shared.dir.display(), "could not build a spool piece; retrying every second");
                }
                shared.lock().not_before = Some(Instant::now() + RETRY);
            }
        }
    }
}

/// Runs the calling thread at idle priority (`SCHED_IDLE`) or back at normal priority.
fn set_idle_priority(idle: bool) {
    let policy = if idle {
        libc::SCHED_IDLE
    } else {
        libc::SCHED_OTHER
    };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `sched_setscheduler` reads the `sched_param` we pass, which lives on this stack
    // frame for the call; pid 0 is the calling thread. Both policies need no privilege.
    let rc = unsafe { libc::sched_setscheduler(0, policy, &param) };
    if rc != 0 {
        tracing::debug!(error = %io::Error::last_os_error(), "sched_setscheduler");
    }
}

/// An unnamed file of `len` bytes in `dir`, allocated and mapped with every page present.
/// `stopping` is polled between steps; a stop returns `Interrupted`.
fn build_piece(dir: &Path, len: u64, stopping: &dyn Fn() -> bool) -> io::Result<Piece> {
    let interrupted = || io::Error::new(io::ErrorKind::Interrupted, "spool stopped");
    let size = usize::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "spool piece too large"))?;
    // O_TMPFILE: an inode with no name, freed when its last descriptor and mapping go.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
        .mode(0o644)
        .open(dir)?;
    let mut offset = 0;
    while offset < len {
        if stopping() {
            return Err(interrupted());
        }
        let step = STEP.min(len - offset);
        // A file system without fallocate cannot hold a spool: its pages would be allocated
        // as they are written, which is what the spool is there to avoid.
        if reserve(&file, offset, step)? == Reserved::Unsupported {
            return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        }
        offset += step;
    }
    // SAFETY: the file is our own unnamed inode, `len` bytes long and allocated; nothing else
    // can open or truncate it until the sink links it under a temporary name in its own output
    // directory, after which the file sink's own mapping rules hold.
    let map = unsafe { MmapMut::map_mut(&file)? };
    let mut offset = 0;
    while offset < size {
        if stopping() {
            return Err(interrupted());
        }
        let step = (STEP as usize).min(size - offset);
        // MADV_POPULATE_WRITE (Linux 5.14) maps every page writable now, so that the worker's
        // first write to each takes no fault. An older kernel says EINVAL: the pages are
        // allocated all the same and the worker takes a minor fault per page.
        if let Err(e) = map.advise_range(Advice::PopulateWrite, offset, step) {
            tracing::debug!(error = %e, "MADV_POPULATE_WRITE");
            break;
        }
        offset += step;
    }
    Ok(Piece { file, map, len })
}

/// Gives `file`, an unnamed file, the name `path` (which must not exist).
pub(crate) fn link_unnamed(file: &File, path: &Path) -> io::Result<()> {
    let target = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path with a NUL byte"))?;
    let empty = c"";
    // SAFETY: both strings are NUL-terminated and live for the call; the descriptor is owned
    // by `file`. AT_EMPTY_PATH links the descriptor's own inode (it needs CAP_DAC_READ_SEARCH).
    let rc = unsafe {
        libc::linkat(
            file.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOENT) && err.raw_os_error() != Some(libc::EPERM) {
        return Err(err);
    }
    // Without the capability: the documented way, through the descriptor's /proc link.
    let proc = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "fd path"))?;
    // SAFETY: as above; AT_SYMLINK_FOLLOW makes linkat follow the /proc magic link to the inode.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
