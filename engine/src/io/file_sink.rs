//! The file sink: each object is received into a memory-mapped temporary file of its own below
//! the output directory (`.NAME.xflute-<tsi>-<toi>-<random>.part`, beside its final name `NAME`:
//! see `temp_name`), written in place at its final offsets, and renamed to `NAME` only on
//! commit, when the receiver has found it complete and verified. A failed object's temporary file
//! is removed.
//!
//! Objects never share a temporary file: two objects that name the same file each write their
//! own, created with `O_EXCL`, and whichever is verified last is renamed last and holds the name
//! (the rename is atomic: the name always holds one whole verified object). A final name that has
//! the form of a temporary name is refused, so that no object can take or be taken for another's
//! temporary file, and the sweep at start ([`FileSink::remove_stale_parts`]) removes only names
//! of that form: a user's `x.part` is left alone.
//!
//! Space is reserved with `fallocate` before any byte of the mapping is written (on a file system
//! without it, such as ext2, by writing zeros there, which allocates the blocks just as well),
//! so a full disk is an error (counted, that object fails, the others go on) rather than a
//! SIGBUS when a page is first written. An object of up to [`RESERVE_CHUNK`] is reserved whole when it starts; a
//! larger one is checked against the free space when it starts and then reserved chunk by
//! chunk as its symbols arrive ([`SinkObject::reserve`]): reserving a whole 1 GiB object on
//! tmpfs takes long enough for a receive worker's rx ring to overflow meanwhile, while a chunk
//! takes about as long as the ring absorbs. With [`SinkThreads`], the two chunks after the one
//! being written are reserved ahead on the sink's own thread (`fallocate` only, which never
//! changes bytes), so the worker finds them ready rather than spending that time between two
//! reads of its ring; it still reserves, itself, any chunk it gets to first. With a
//! [`Spool`], such an object instead takes a piece of space reserved before it started, linked
//! under its temporary name. Directories are created one component at a time and a
//! symlink anywhere on the way is refused, so an FDT cannot make the receiver write outside the
//! output directory.

mod prepare;
mod temp_name;

pub use prepare::PrepareStats;

pub use temp_name::{is_temp_name, is_temp_name_of};

use super::spool::{Spool, link_unnamed};
use crate::receiver::sink::{ObjectDescription, ObjectSink, SinkError, SinkObject};
use memmap2::MmapMut;
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The suffix of an object's temporary file while it is received (see [`is_temp_name`] for the
/// whole form: a name that merely ends with it is not one of ours).
pub const PART_SUFFIX: &str = ".part";

/// Draws of a temporary name before giving up: each is 64 random bits, so a second draw already
/// means something else is creating names of our form in the directory.
const TEMP_NAME_ATTEMPTS: usize = 4;

/// Disk space of a large object is reserved in chunks of this many bytes, as they are written.
pub const RESERVE_CHUNK: u64 = 4 << 20;

/// Directories a received name may go down by default (see [`FileSink::with_max_dir_depth`]).
pub const DEFAULT_MAX_DIR_DEPTH: usize = 16;

/// Objects in flight that keep their file open by default (see
/// [`FileSink::with_max_open_files`]).
pub const DEFAULT_MAX_OPEN_FILES: usize = 64;

/// A sink that writes objects as files below a directory.
///
/// What the network can make it hold is bounded: a name goes down at most `max_dir_depth`
/// directories, and the directories an object made are removed again (when empty) if it
/// fails; an object in flight holds its mapping but, once its space is reserved, no file
/// descriptor, and of the large ones reserved chunk by chunk at most `max_open_files` (shared
/// by the clones of the sink) keep theirs open, the others reopen their file for each chunk.
#[derive(Debug, Clone)]
pub struct FileSink {
    root: PathBuf,
    max_object_bytes: u64,
    max_dir_depth: usize,
    max_open_files: usize,
    /// Descriptors held by objects in flight, over every clone of this sink.
    open_files: Arc<AtomicUsize>,
    /// Directories this sink made that hold no committed object yet (at most the depth of
    /// each object in flight), over every clone: an object that fails removes those of them
    /// its name goes through that are empty, whichever object made them.
    made_dirs: Arc<Mutex<HashSet<PathBuf>>>,
    /// Space reserved ahead of time for large objects, shared by the workers of an engine.
    spool: Option<Arc<Spool>>,
    threads: Option<SinkThreads>,
}

/// The threads a file sink hands its slow work to, so that a receive worker never waits on it:
/// unmapping finished objects (tearing down a mapping, 4 KiB page by page, takes about a
/// millisecond per MiB; mappings of up to [`UNMAP_IN_PLACE_MAX`] are unmapped in place), and
/// starting the write-back of large objects
/// behind the symbols as they arrive (see [`WRITE_BACK_CHUNK`]). Each has a thread of its own:
/// starting a write-back can block while the device's queue is full, and unmapping must not
/// wait behind it.
#[derive(Debug, Clone)]
pub struct SinkThreads {
    unmap: crossbeam_channel::Sender<MmapMut>,
    write_back: crossbeam_channel::Sender<(File, u64, u64)>,
    reserve_ahead: crossbeam_channel::Sender<ReserveAhead>,
    prepare: prepare::Preparer,
}

/// One bit per [`RESERVE_CHUNK`] of an object, set once its space is reserved: by the receive
/// worker, or ahead of it by the sink's reserving thread.
type ChunkBits = Arc<[AtomicU64]>;

/// A chunk of an object to reserve before the receive worker writes there.
struct ReserveAhead {
    file: File,
    chunk: u64,
    len: u64,
    bits: ChunkBits,
}

/// Chunks reserved ahead of the one being written: reserving one costs about a millisecond
/// on tmpfs (its pages are allocated and zeroed), which the worker would otherwise spend
/// between two reads of its rx ring, every [`RESERVE_CHUNK`] of a large object.
const RESERVE_AHEAD: u64 = 2;
/// Chunks waiting for the reserving thread; beyond this the worker reserves its own.
const RESERVE_QUEUE: usize = 64;

/// Whether chunk `chunk` of `bits` is reserved.
fn chunk_reserved(bits: &[AtomicU64], chunk: u64) -> bool {
    bits.get((chunk / 64) as usize)
        .is_some_and(|w| w.load(Ordering::Acquire) & (1 << (chunk % 64)) != 0)
}

fn set_chunk_reserved(bits: &[AtomicU64], chunk: u64) {
    if let Some(w) = bits.get((chunk / 64) as usize) {
        w.fetch_or(1 << (chunk % 64), Ordering::Release);
    }
}

/// Mappings waiting for the unmapper thread; beyond this a finished object unmaps its own.
const UNMAP_QUEUE: usize = 256;

/// Mappings up to this size are unmapped by the worker itself: cheaper than a hand-over.
pub const UNMAP_IN_PLACE_MAX: u64 = 64 << 10;

/// The unmapper tears a mapping down this much at a time. munmap holds the process's mmap lock
/// for writing while it runs, and the receive worker needs that lock to map its next object
/// (and, on older kernels, to fault a page in): one call over a whole large object would make
/// the worker wait for all of it.
const UNMAP_SLICE: usize = 1 << 20;

/// Write-backs waiting to start; beyond this one is skipped (the commit writes back anyway).
const WRITE_BACK_QUEUE: usize = 64;

/// A large object's bytes are written back this many at a time, a chunk once the symbols
/// arriving are a chunk past it: the dirty pages of an object are bounded as it is received,
/// and its commit (which must wait for every page to be on disk) waits only for the last ones,
/// instead of for the whole object at once.
pub const WRITE_BACK_CHUNK: u64 = 8 << 20;

impl SinkThreads {
    /// Starts the threads. They end once every clone of the returned `SinkThreads` is dropped
    /// and the work sent to them is done; join the handle to wait for that, and for the bytes
    /// whose write-back was started.
    pub fn start() -> io::Result<(SinkThreads, std::thread::JoinHandle<u64>)> {
        let (write_back, ranges) = crossbeam_channel::bounded::<(File, u64, u64)>(WRITE_BACK_QUEUE);
        let writer = std::thread::Builder::new()
            .name("xflute-writeback".into())
            .spawn(move || {
                let mut written_back = 0;
                for (file, offset, len) in ranges {
                    if start_write_back(&file, offset, len) {
                        written_back += len;
                    }
                }
                written_back
            })?;
        let (reserve_ahead, jobs) = crossbeam_channel::bounded::<ReserveAhead>(RESERVE_QUEUE);
        let reserver = std::thread::Builder::new()
            .name("xflute-reserve".into())
            .spawn(move || {
                for job in jobs {
                    // Only fallocate: it never changes bytes, so it is safe beside the worker
                    // writing the same range. Where it fails or is missing (ext2: zeros would
                    // have to be written, racing the worker's bytes), the worker reserves the
                    // chunk itself when it gets there, and sees the error if there is one.
                    let start = job.chunk * RESERVE_CHUNK;
                    if matches!(reserve(&job.file, start, job.len), Ok(Reserved::Yes)) {
                        set_chunk_reserved(&job.bits, job.chunk);
                    }
                }
            })?;
        let (prepare, preparer) = prepare::Preparer::start()?;
        let (unmap, mappings) = crossbeam_channel::bounded::<MmapMut>(UNMAP_QUEUE);
        let handle = std::thread::Builder::new()
            .name("xflute-unmap".into())
            .spawn(move || {
                for map in mappings {
                    unmap_in_slices(map);
                }
                // The queues close together: the other threads are done or nearly.
                let _ = reserver.join();
                let _ = preparer.join();
                writer.join().unwrap_or(0)
            })?;
        Ok((
            SinkThreads {
                unmap,
                write_back,
                reserve_ahead,
                prepare,
            },
            handle,
        ))
    }

    /// What preparing announced objects ahead has done (see [`ObjectSink::expect`]).
    pub fn prepare_stats(&self) -> PrepareStats {
        self.prepare.stats()
    }

    /// Unmaps `map` on the unmapper thread unless it is small or the queue is full.
    fn release(&self, map: MmapMut) {
        if map.len() as u64 <= UNMAP_IN_PLACE_MAX {
            return;
        }
        // A full queue (or a stopped thread) hands the mapping back: dropped here.
        let _ = self.unmap.try_send(map);
    }

    /// Asks for chunk `chunk` (`len` bytes) of `file` to be reserved ahead, unless the queue is
    /// full.
    fn reserve_ahead(&self, file: &File, chunk: u64, len: u64, bits: &ChunkBits) {
        if let Ok(file) = file.try_clone() {
            let _ = self.reserve_ahead.try_send(ReserveAhead {
                file,
                chunk,
                len,
                bits: Arc::clone(bits),
            });
        }
    }

    /// Starts writing bytes `offset..offset + len` of `file` back, unless the queue is full.
    fn write_back(&self, file: &File, offset: u64, len: u64) {
        if let Ok(file) = file.try_clone() {
            let _ = self.write_back.try_send((file, offset, len));
        }
    }
}

/// Unmaps `map` a [`UNMAP_SLICE`] at a time, letting other threads take the mmap lock between
/// two slices.
fn unmap_in_slices(map: MmapMut) {
    let mut map = std::mem::ManuallyDrop::new(map);
    let base = map.as_mut_ptr();
    let len = map.len();
    let mut done = 0;
    while done < len {
        let slice = UNMAP_SLICE.min(len - done);
        // SAFETY: `base + done .. + slice` lies inside the mapping `map` made (memmap2 maps a
        // file from offset 0 here, so `base` is page-aligned and every slice start, a multiple
        // of UNMAP_SLICE from it, is too); nothing else refers to these bytes any more: the
        // object that wrote them gave the mapping up, and `map` is never dropped (ManuallyDrop),
        // so no range is unmapped twice.
        let rc = unsafe { libc::munmap(base.wrapping_add(done).cast(), slice) };
        if rc != 0 {
            // Cannot happen for a range of our own mapping; what is left stays mapped (a
            // leak of address space, never a fault).
            tracing::warn!(error = %io::Error::last_os_error(), "munmap of a finished object failed");
            return;
        }
        done += slice;
        std::thread::yield_now();
    }
}

/// Starts the write-back of the dirty pages of `file` in `offset..offset + len` (the whole
/// file for a length of 0) without waiting for it. A failure costs only the head start: the
/// commit's flush writes everything back in any case. Whether it started.
fn start_write_back(file: &File, offset: u64, len: u64) -> bool {
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return false;
    };
    // SAFETY: sync_file_range(2) on a descriptor the caller holds open, over a range given by
    // value; SYNC_FILE_RANGE_WRITE only starts the write-back of dirty pages and touches no
    // memory of ours.
    let rc = unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
    };
    rc == 0
}

impl FileSink {
    /// A sink writing below `root` (created if missing), refusing objects over
    /// `max_object_bytes`.
    pub fn new(root: impl AsRef<Path>, max_object_bytes: u64) -> io::Result<Self> {
        fs::create_dir_all(root.as_ref())?;
        Ok(Self {
            root: root.as_ref().canonicalize()?,
            max_object_bytes,
            max_dir_depth: DEFAULT_MAX_DIR_DEPTH,
            max_open_files: DEFAULT_MAX_OPEN_FILES,
            open_files: Arc::new(AtomicUsize::new(0)),
            made_dirs: Arc::default(),
            spool: None,
            threads: None,
        })
    }

    /// Refuses names that go down more than `depth` directories below the root
    /// ([`SinkError::TooDeep`]).
    pub fn with_max_dir_depth(mut self, depth: usize) -> Self {
        self.max_dir_depth = depth;
        self
    }

    /// Lets at most `files` objects in flight keep a file descriptor open (large objects
    /// reserving their space chunk by chunk; the others close theirs once mapped).
    pub fn with_max_open_files(mut self, files: usize) -> Self {
        self.max_open_files = files;
        self
    }

    /// File descriptors held by objects in flight (over every clone of this sink).
    pub fn open_files(&self) -> usize {
        self.open_files.load(Ordering::Relaxed)
    }

    /// Unmaps large objects' mappings on `threads` when they are committed or dropped, and
    /// starts their write-back there as they are received, instead of in the receive worker.
    pub fn with_threads(mut self, threads: SinkThreads) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Gives objects larger than [`RESERVE_CHUNK`] that fit in `spool`'s pieces their space
    /// from it (see [`super::spool`]). The spool must be on the output directory's file system.
    pub fn with_spool(mut self, spool: Arc<Spool>) -> Self {
        self.spool = Some(spool);
        self
    }

    /// The output directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes the temporary files ([`is_temp_name`]) left below the output directory by a
    /// receiver that was killed: a temporary file is never a complete, verified object, and
    /// resuming one would need the block state that died with the process. Other files, a
    /// user's `x.part` included, are not touched. Returns how many were removed.
    pub fn remove_stale_parts(&self) -> io::Result<usize> {
        fn walk(dir: &Path, removed: &mut usize) -> io::Result<()> {
            for entry in fs::read_dir(dir)? {
                let entry = entry?;
                let kind = entry.file_type()?;
                let path = entry.path();
                if kind.is_dir() {
                    walk(&path, removed)?;
                } else if kind.is_file() && is_temp_name(&entry.file_name()) {
                    fs::remove_file(&path)?;
                    *removed += 1;
                }
            }
            Ok(())
        }
        let mut removed = 0;
        walk(&self.root, &mut removed)?;
        Ok(removed)
    }

    /// Create the directories of `desc`'s path below the root, refusing symlinks and
    /// non-directories on the way, and return the final path of the object with the
    /// directories this call made (removed again if the object fails).
    fn prepare_path(&self, desc: &ObjectDescription) -> Result<(PathBuf, MadeDirs), SinkError> {
        let generated;
        let components: &[String] = match &desc.path {
            Some(p) => p.components(),
            None => {
                generated = [format!("tsi-{}-toi-{}.bin", desc.tsi, desc.toi)];
                &generated
            }
        };
        let (file_name, dirs) = components
            .split_last()
            .ok_or_else(|| SinkError::Escape("empty path".into()))?;
        // Checked before any directory is made for it.
        if is_temp_name(std::ffi::OsStr::new(file_name)) {
            return Err(SinkError::ReservedName(file_name.clone()));
        }
        if dirs.len() > self.max_dir_depth {
            return Err(SinkError::TooDeep {
                depth: dirs.len(),
                max: self.max_dir_depth,
            });
        }
        let mut dir = self.root.clone();
        // From here on a failure removes what was made on the way.
        let made = MadeDirs {
            registry: Arc::clone(&self.made_dirs),
            root: self.root.clone(),
            leaf: dir.join(dirs.iter().collect::<PathBuf>()),
            armed: true,
        };
        for component in dirs {
            dir.push(component);
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(SinkError::Escape(format!("{} is a symlink", dir.display())));
                }
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(SinkError::Escape(format!(
                        "{} is not a directory",
                        dir.display()
                    )));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::create_dir(&dir) {
                    Ok(()) => {
                        lock(&self.made_dirs).insert(dir.clone());
                    }
                    // Another object created it in the meantime; checked on the next component
                    // or by O_NOFOLLOW on the file.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e.into()),
                },
                Err(e) => return Err(e.into()),
            }
        }
        let target = dir.join(file_name);
        if fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
            return Err(SinkError::Escape(format!(
                "{} is a directory",
                target.display()
            )));
        }
        Ok((target, made))
    }

    /// Counts a descriptor an object keeps, if there is room for one more.
    fn hold_descriptor(&self) -> Option<Arc<AtomicUsize>> {
        let held = self.open_files.fetch_add(1, Ordering::Relaxed);
        if held < self.max_open_files {
            Some(Arc::clone(&self.open_files))
        } else {
            self.open_files.fetch_sub(1, Ordering::Relaxed);
            None
        }
    }
}

fn lock(dirs: &Mutex<HashSet<PathBuf>>) -> std::sync::MutexGuard<'_, HashSet<PathBuf>> {
    // Insertions and removals are whole: a panic elsewhere cannot leave the set half-changed.
    dirs.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The directories of an object's name, `leaf` up to the root: when the object fails, those
/// the sink made and that are empty now are removed, deepest first, so that names that are
/// never completed leave no directories behind; when it is committed, they leave the sink's
/// set of made directories (they hold a file now).
#[derive(Debug)]
struct MadeDirs {
    registry: Arc<Mutex<HashSet<PathBuf>>>,
    root: PathBuf,
    leaf: PathBuf,
    armed: bool,
}

impl MadeDirs {
    /// The directories from `leaf` up to the root, the root excluded.
    fn chain(&self) -> impl Iterator<Item = &Path> {
        self.leaf
            .ancestors()
            .take_while(|dir| *dir != self.root && dir.starts_with(&self.root))
    }

    /// Moves the duty to clean up into a new value (the object that now owns the name).
    fn take(&mut self) -> MadeDirs {
        let armed = std::mem::replace(&mut self.armed, false);
        MadeDirs {
            registry: Arc::clone(&self.registry),
            root: self.root.clone(),
            leaf: self.leaf.clone(),
            armed,
        }
    }

    /// The object is committed: its directories stay.
    fn keep(&mut self) {
        let mut made = lock(&self.registry);
        for dir in self.chain() {
            made.remove(dir);
        }
        self.armed = false;
    }
}

impl Drop for MadeDirs {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut made = lock(&self.registry);
        for dir in self.chain() {
            if !made.contains(dir) {
                // Never made (creation stopped above it): its parents may have been.
                if fs::symlink_metadata(dir).is_err() {
                    continue;
                }
                // Not ours: nor are its parents.
                break;
            }
            // Not empty (another object or a file is in it): nor are its parents.
            if fs::remove_dir(dir).is_err() {
                break;
            }
            made.remove(dir);
        }
    }
}

/// A fresh temporary path for `desc` beside `target`.
fn temp_path(desc: &ObjectDescription, target: &Path) -> Result<PathBuf, SinkError> {
    let final_name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| SinkError::Escape(format!("{} has no file name", target.display())))?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| SinkError::Io(e.into()))?;
    let name = temp_name::temp_name(final_name, desc.tsi, desc.toi, u64::from_le_bytes(random));
    Ok(target.with_file_name(name))
}

/// Creates the temporary file of `desc` beside `target`: a new inode (`O_EXCL`, which also
/// refuses to follow a symlink planted under the name), under a name no other object has.
fn create_temp(desc: &ObjectDescription, target: &Path) -> Result<(PathBuf, File), SinkError> {
    for _ in 0..TEMP_NAME_ATTEMPTS {
        let part = temp_path(desc, target)?;
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .mode(0o644)
            .open(&part)
        {
            Ok(file) => return Ok((part, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(SinkError::Io(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "every temporary name drawn already exists",
    )))
}

/// Whether `fallocate` reserved the range, or the file system has no `fallocate`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reserved {
    Yes,
    Unsupported,
}

/// Reserve bytes `offset..offset + len` of disk for `file`, so that writing them through a
/// mapping cannot SIGBUS.
pub(super) fn reserve(file: &File, offset: u64, len: u64) -> io::Result<Reserved> {
    let too_large = || io::Error::new(io::ErrorKind::InvalidInput, "object too large");
    let offset = libc::off_t::try_from(offset).map_err(|_| too_large())?;
    let len = libc::off_t::try_from(len).map_err(|_| too_large())?;
    // SAFETY: `fallocate` takes a file descriptor, a mode and a range; the descriptor is owned by
    // `file`, open for writing, and stays open for the duration of the call. No memory is passed.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, offset, len) };
    if rc == 0 {
        return Ok(Reserved::Yes);
    }
    let err = io::Error::last_os_error();
    // File systems without fallocate (ext2; some FUSE ones): the caller decides what to do.
    if err.raw_os_error() == Some(libc::EOPNOTSUPP) {
        return Ok(Reserved::Unsupported);
    }
    Err(err)
}

/// Allocates bytes `offset..offset + len` of disk for `file`, so that writing them through a
/// mapping cannot SIGBUS: with `fallocate`, or where the file system has none (ext2), by
/// writing zeros there, which allocates the blocks for real (a sparse file would fault on the
/// first page the full disk cannot hold). Only for a range nothing has been written to yet.
pub(super) fn allocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    if reserve(file, offset, len)? == Reserved::Yes {
        return Ok(());
    }
    write_zeros(file, offset, len)
}

/// Writes `len` zero bytes at `offset` of `file`; ENOSPC comes back as the error it is.
fn write_zeros(file: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(ZEROS.len() as u64) as usize;
        let zeros = ZEROS.get(..n).unwrap_or_default();
        file.write_all_at(zeros, offset + done)?;
        done += n as u64;
    }
    Ok(())
}

/// Fails with `ENOSPC` when the file system of `file` has fewer than `len` bytes free for an
/// unprivileged writer: an object that cannot fit fails when it starts, not half-way.
fn check_free_space(file: &File, len: u64) -> io::Result<()> {
    // SAFETY: an all-zero `statvfs` is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `fstatvfs` fills the struct we pass, which lives on this stack frame for the
    // call; the descriptor is owned by `file` and open.
    let rc = unsafe { libc::fstatvfs(file.as_raw_fd(), &mut st) };
    if rc != 0 {
        // Nothing known about the space: the chunked reservation still guards every write.
        return Ok(());
    }
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    if free < len {
        return Err(io::Error::from_raw_os_error(libc::ENOSPC));
    }
    Ok(())
}

/// An object being received into its own temporary file.
///
/// Dropped without a successful [`SinkObject::commit`] (aborted, failed, or abandoned when the
/// receiver stops), it removes its temporary file: only a `kill -9` can leave one behind, and
/// [`FileSink::remove_stale_parts`] clears those at the next start.
#[derive(Debug)]
pub struct FileSinkObject {
    part: PathBuf,
    target: PathBuf,
    map: Option<MmapMut>,
    committed: bool,
    /// Open only while needed: a spool piece's, or a large object's while the sink's count of
    /// descriptors allows (see [`FileSink::with_max_open_files`]).
    file: Option<File>,
    /// The sink's count of held descriptors, given back when this object goes.
    descriptor: Option<Arc<AtomicUsize>>,
    len: u64,
    /// One bit per [`RESERVE_CHUNK`] of the object whose disk space is reserved; empty when the
    /// whole object was reserved when it started.
    reserved: ChunkBits,
    /// Chunks before this one have been asked to be reserved ahead.
    asked_ahead: u64,
    threads: Option<SinkThreads>,
    /// The object's bytes before this offset have had their write-back started.
    written_back: u64,
    /// The spool this object's space came from, told when the object is finished.
    spool: Option<Arc<Spool>>,
    /// The directories made for it, removed if it is not committed.
    dirs: MadeDirs,
}

impl ObjectSink for FileSink {
    type Object = FileSinkObject;

    fn create(&mut self, desc: &ObjectDescription) -> Result<Self::Object, SinkError> {
        if let Some(threads) = &self.threads
            && let Some(mut object) = threads.prepare.claim(self, desc)
        {
            object.threads = Some(threads.clone());
            return Ok(object);
        }
        self.create_here(desc)
    }

    /// With [`SinkThreads`], a small object's temporary file is created, reserved and mapped
    /// on the sink's preparing thread before its first packet comes.
    fn expect(&mut self, desc: &ObjectDescription) {
        if let Some(threads) = &self.threads {
            threads.prepare.ask(self, desc);
        }
    }
}

impl FileSink {
    /// Creates the object's temporary file on the calling thread.
    fn create_here(&mut self, desc: &ObjectDescription) -> Result<FileSinkObject, SinkError> {
        if desc.len > self.max_object_bytes {
            return Err(SinkError::TooLarge {
                len: desc.len,
                max: self.max_object_bytes,
            });
        }
        let (target, mut dirs) = self.prepare_path(desc)?;
        if desc.len > RESERVE_CHUNK
            && let Some(object) = self.create_from_spool(desc, &target, &mut dirs)?
        {
            return Ok(object);
        }
        let (part, file) = create_temp(desc, &target)?;
        let mut reserved: ChunkBits = Arc::new([]);
        let map = if desc.len == 0 {
            None
        } else {
            let prepared = if desc.len <= RESERVE_CHUNK {
                allocate(&file, 0, desc.len)
            } else {
                check_free_space(&file, desc.len).and_then(|()| {
                    let words = desc.len.div_ceil(RESERVE_CHUNK).div_ceil(64) as usize;
                    reserved = (0..words).map(|_| AtomicU64::new(0)).collect();
                    file.set_len(desc.len)
                })
            };
            if let Err(e) = prepared {
                let _ = fs::remove_file(&part);
                return Err(e.into());
            }
            // SAFETY: the mapping is of a regular file this receiver just created (O_EXCL, so a
            // new inode of its own) under a temporary name no other object uses, inside its own
            // output directory, sized to exactly `desc.len` bytes by `reserve` or `set_len`.
            // Nothing else in the process maps or truncates it; another process that truncated
            // it would be tampering with our output directory, outside what the receiver can
            // defend against.
            match unsafe { MmapMut::map_mut(&file) } {
                Ok(m) => Some(m),
                Err(e) => {
                    let _ = fs::remove_file(&part);
                    return Err(e.into());
                }
            }
        };
        // The mapping holds the inode: a descriptor is only needed to reserve chunks later.
        let (file, descriptor) = if reserved.is_empty() {
            (None, None)
        } else {
            match self.hold_descriptor() {
                Some(count) => (Some(file), Some(count)),
                None => (None, None),
            }
        };
        Ok(FileSinkObject {
            part,
            target,
            map,
            committed: false,
            file,
            descriptor,
            len: desc.len,
            reserved,
            asked_ahead: 0,
            threads: self.threads.clone(),
            written_back: 0,
            spool: None,
            dirs,
        })
    }
}

impl FileSink {
    /// The object in a spool piece linked under its `.part` name, or `None` (no spool, no piece
    /// ready, or the piece cannot be linked there) for the usual path.
    fn create_from_spool(
        &self,
        desc: &ObjectDescription,
        target: &Path,
        dirs: &mut MadeDirs,
    ) -> Result<Option<FileSinkObject>, SinkError> {
        let Some(spool) = &self.spool else {
            return Ok(None);
        };
        let Some(piece) = spool.take(desc.len) else {
            return Ok(None);
        };
        let mut linked = None;
        for _ in 0..TEMP_NAME_ATTEMPTS {
            let part = temp_path(desc, target)?;
            // linkat never replaces: a name that exists is a fresh draw.
            match link_unnamed(&piece.file, &part) {
                Ok(()) => {
                    linked = Some(part);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    // Another file system below the root (EXDEV), say: the filler frees the piece.
                    tracing::debug!(error = %e, part = %part.display(), "linking a spool piece");
                    break;
                }
            }
        }
        let Some(part) = linked else {
            spool.trim_later(piece.file, 0);
            return Ok(None);
        };
        if piece.len > desc.len {
            match piece.file.try_clone() {
                Ok(dup) => spool.trim_later(dup, desc.len),
                // The commit trims it instead.
                Err(e) => tracing::debug!(error = %e, "duplicating a spool piece's descriptor"),
            }
        }
        Ok(Some(FileSinkObject {
            part,
            target: target.to_path_buf(),
            map: Some(piece.map),
            committed: false,
            // A spool piece keeps its descriptor for the trim at commit; pieces are few.
            file: Some(piece.file),
            descriptor: None,
            len: desc.len,
            reserved: Arc::new([]),
            asked_ahead: 0,
            threads: self.threads.clone(),
            written_back: 0,
            spool: Some(Arc::clone(spool)),
            dirs: dirs.take(),
        }))
    }
}

impl FileSinkObject {
    /// Where the object will be once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Its temporary file while it is received (see [`is_temp_name`]).
    pub fn temp_path(&self) -> &Path {
        &self.part
    }

    /// Unmaps the object's mapping, on the unmapper's thread when there is one.
    fn unmap(&mut self) {
        if let (Some(map), Some(threads)) = (self.map.take(), &self.threads) {
            threads.release(map);
        }
    }

    /// Once the symbols arriving at `at` are a [`WRITE_BACK_CHUNK`] past the bytes written back
    /// so far, starts the write-back of the chunks behind them (on the sink's thread, with the
    /// object's descriptor if it holds one). Symbols that land behind later (a gap filled,
    /// a second pass of a carousel) just dirty their pages again for the commit to write.
    fn follow_write_back(&mut self, at: u64) {
        let (Some(threads), Some(file)) = (&self.threads, &self.file) else {
            return;
        };
        if self.len <= WRITE_BACK_CHUNK || at < self.written_back + 2 * WRITE_BACK_CHUNK {
            return;
        }
        let end = (at / WRITE_BACK_CHUNK - 1) * WRITE_BACK_CHUNK;
        threads.write_back(file, self.written_back, end - self.written_back);
        self.written_back = end;
    }
}

impl FileSinkObject {
    /// Asks the sink's reserving thread for the [`RESERVE_AHEAD`] chunks from `next` on that
    /// are not reserved or asked for yet (objects holding a descriptor, with sink threads).
    fn ask_ahead(&mut self, next: u64) {
        let (Some(threads), Some(file)) = (&self.threads, &self.file) else {
            return;
        };
        let chunks = self.len.div_ceil(RESERVE_CHUNK);
        let from = next.max(self.asked_ahead);
        let until = (next + RESERVE_AHEAD).min(chunks);
        for chunk in from..until {
            if !chunk_reserved(&self.reserved, chunk) {
                let len = RESERVE_CHUNK.min(self.len.saturating_sub(chunk * RESERVE_CHUNK));
                threads.reserve_ahead(file, chunk, len, &self.reserved);
            }
        }
        self.asked_ahead = self.asked_ahead.max(until);
    }
}

impl SinkObject for FileSinkObject {
    fn data_mut(&mut self) -> &mut [u8] {
        // A spool piece's mapping may be longer than the object: only the object is exposed.
        let len = usize::try_from(self.len).unwrap_or(usize::MAX);
        let map = self.map.as_deref_mut().unwrap_or(&mut []);
        let end = len.min(map.len());
        map.get_mut(..end).unwrap_or(&mut [])
    }

    fn data(&self) -> &[u8] {
        let len = usize::try_from(self.len).unwrap_or(usize::MAX);
        let map = self.map.as_deref().unwrap_or(&[]);
        map.get(..len.min(map.len())).unwrap_or(&[])
    }

    fn reserve(&mut self, range: std::ops::Range<usize>) -> Result<(), SinkError> {
        self.follow_write_back(range.start as u64);
        // Bytes past the object are not ours to reserve; the receiver refuses to write there.
        let end = (range.end as u64).min(self.len);
        if self.reserved.is_empty() || range.start as u64 >= end {
            return Ok(());
        }
        let first = range.start as u64 / RESERVE_CHUNK;
        let last = (end - 1) / RESERVE_CHUNK;
        for chunk in first..=last {
            if chunk_reserved(&self.reserved, chunk) {
                continue;
            }
            let start = chunk * RESERVE_CHUNK;
            let len = RESERVE_CHUNK.min(self.len.saturating_sub(start));
            match &self.file {
                Some(file) => allocate(file, start, len)?,
                None => {
                    // Reopened for this chunk only: the object holds no descriptor between
                    // chunks. O_NOFOLLOW: the name is ours, never a symlink to follow.
                    let file = OpenOptions::new()
                        .write(true)
                        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                        .open(&self.part)?;
                    allocate(&file, start, len)?;
                }
            }
            set_chunk_reserved(&self.reserved, chunk);
        }
        self.ask_ahead(last + 1);
        Ok(())
    }

    fn start_write_back(&self) {
        // A descriptor of its own for a thread of its own: starting the write-back of a large
        // object can block while the device's queue fills, and the caller must not wait.
        let file = match &self.file {
            Some(file) => file.try_clone(),
            // O_NOFOLLOW: the name is ours, never a symlink to follow.
            None => OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&self.part),
        };
        let Ok(file) = file else {
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("xflute-writeback".into())
            .spawn(move || {
                start_write_back(&file, 0, 0);
            });
        if let Err(e) = spawned {
            tracing::debug!(error = %e, "no thread to start a write-back; the commit does it");
        }
    }

    fn commit(mut self) -> Result<(), SinkError> {
        if let Some(map) = &self.map {
            // Write the pages back before the name appears, so a crash after the rename cannot
            // leave a complete-looking file with holes.
            map.flush()?;
        }
        self.unmap();
        // A spool piece longer than the object, not yet trimmed by the spool's filler.
        if self.spool.is_some()
            && let Some(file) = &self.file
            && file.metadata()?.len() > self.len
        {
            file.set_len(self.len)?;
        }
        fs::rename(&self.part, &self.target)?;
        self.committed = true;
        self.dirs.keep();
        Ok(())
    }

    fn abort(self) {
        // Drop removes the `.part`.
    }
}

impl Drop for FileSinkObject {
    fn drop(&mut self) {
        if !self.committed {
            self.unmap();
            let _ = fs::remove_file(&self.part);
        }
        if let Some(count) = self.descriptor.take() {
            count.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(spool) = self.spool.take() {
            spool.finished();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::path::SafeRelativePath;

    fn tempdir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("xflute-file-sink-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn desc(loc: &str, len: u64) -> ObjectDescription {
        ObjectDescription {
            tsi: 1,
            toi: 7,
            path: Some(SafeRelativePath::from_content_location(loc).unwrap()),
            len,
            content_type: None,
        }
    }

    #[test]
    fn a_large_object_is_written_back_a_chunk_behind_its_symbols_as_they_arrive() {
        let dir = tempdir("write-back");
        let _c = Cleanup(dir.clone());
        let (threads, thread) = SinkThreads::start().unwrap();
        let mut sink = FileSink::new(&dir, 1 << 30).unwrap().with_threads(threads);
        let len = 5 * WRITE_BACK_CHUNK as usize;
        let mut obj = sink.create(&desc("file:///big.bin", len as u64)).unwrap();
        // In order, a MiB at a time, as a receiver of an in-order stream writes.
        for at in (0..len).step_by(1 << 20) {
            obj.reserve(at..at + (1 << 20)).unwrap();
            obj.data_mut()[at..at + (1 << 20)].fill((at >> 20) as u8);
        }
        obj.commit().unwrap();
        drop(sink);
        let written_back = thread.join().unwrap();
        // Every chunk but the last two, which the symbols never got a chunk past.
        assert_eq!(written_back, 3 * WRITE_BACK_CHUNK);
        let back = fs::read(dir.join("big.bin")).unwrap();
        assert_eq!(back.len(), len);
        assert!(
            back.chunks(1 << 20)
                .enumerate()
                .all(|(i, c)| c.iter().all(|&b| b == i as u8))
        );
    }

    /// Disk blocks allocated to the file at `path`, in bytes.
    #[test]
    fn a_mapping_unmapped_in_slices_leaves_nothing_mapped() {
        let dir = tempdir("sliced");
        fs::create_dir_all(&dir).unwrap();
        let _cleanup = Cleanup(dir.clone());
        let path = dir.join("sliced");
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        // Not a whole number of slices, nor of pages.
        let len = 3 * UNMAP_SLICE + UNMAP_SLICE / 2 + 123;
        file.set_len(len as u64).unwrap();
        // SAFETY: a file of this test's own, which nothing else opens or truncates.
        let mut map = unsafe { MmapMut::map_mut(&file) }.unwrap();
        map[len - 1] = 7;
        let mapped = |p: &Path| {
            std::fs::read_to_string("/proc/self/maps")
                .unwrap()
                .contains(p.to_str().unwrap())
        };
        assert!(mapped(&path));
        unmap_in_slices(map);
        assert!(!mapped(&path));
        assert_eq!(std::fs::read(&path).unwrap()[len - 1], 7);
    }

    fn allocated(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(path).map_or(0, |m| m.blocks() * 512)
    }

    #[test]
    fn the_chunks_after_the_one_written_are_reserved_ahead_by_the_sink_thread() {
        let dir = tempdir("reserve-ahead");
        let _c = Cleanup(dir.clone());
        let (threads, thread) = SinkThreads::start().unwrap();
        let mut sink = FileSink::new(&dir, 1 << 30).unwrap().with_threads(threads);
        let len = 6 * RESERVE_CHUNK as usize;
        let mut obj = sink.create(&desc("file:///big.bin", len as u64)).unwrap();
        let part = obj.temp_path().to_path_buf();
        assert!(
            allocated(&part) < RESERVE_CHUNK,
            "reserved whole at the start"
        );
        // The first symbol: its chunk reserved here, the next two by the thread.
        obj.reserve(0..1400).unwrap();
        let give_up = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !(chunk_reserved(&obj.reserved, 1) && chunk_reserved(&obj.reserved, 2)) {
            assert!(std::time::Instant::now() < give_up, "not reserved ahead");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(!chunk_reserved(&obj.reserved, 3));
        // Where fallocate works, the space is really there; ext2-like file systems leave the
        // chunks to the worker.
        assert!(allocated(&part) >= 3 * RESERVE_CHUNK);
        // Written through, every byte lands and the rest follows chunk by chunk.
        for at in (0..len).step_by(1 << 20) {
            obj.reserve(at..at + (1 << 20)).unwrap();
            obj.data_mut()[at..at + (1 << 20)].fill((at >> 20) as u8);
        }
        assert!((0..6).all(|c| chunk_reserved(&obj.reserved, c)));
        obj.commit().unwrap();
        drop(sink);
        thread.join().unwrap();
        let back = fs::read(dir.join("big.bin")).unwrap();
        assert!(
            back.chunks(1 << 20)
                .enumerate()
                .all(|(i, c)| c.iter().all(|&b| b == i as u8))
        );
    }

    #[test]
    fn object_appears_under_its_name_only_after_commit() {
        let dir = tempdir("commit");
        let _c = Cleanup(dir.clone());
        let mut sink = FileSink::new(&dir, 1 << 20).unwrap();
        let mut obj = sink.create(&desc("file:///a/b/c.bin", 5)).unwrap();
        obj.data_mut().copy_from_slice(b"hello");
        let root = sink.root().to_path_buf();
        let part = obj.temp_path().to_path_buf();
        assert!(!root.join("a/b/c.bin").exists());
        assert!(part.exists());
        assert_eq!(part.parent(), Some(root.join("a/b").as_path()));
        assert!(is_temp_name_of(part.file_name().unwrap(), "c.bin"));
        obj.commit().unwrap();
        assert_eq!(fs::read(root.join("a/b/c.bin")).unwrap(), b"hello");
        assert!(!part.exists());
    }

    #[test]
    fn aborted_object_leaves_no_file() {
        let dir = tempdir("abort");
        let _c = Cleanup(dir.clone());
        let mut sink = FileSink::new(&dir, 1 << 20).unwrap();
        let obj = sink.create(&desc("x.bin", 100)).unwrap();
        obj.abort();
        assert_eq!(fs::read_dir(sink.root()).unwrap().count(), 0);
    }

    #[test]
    fn object_dropped_without_commit_leaves_no_part_file() {
        let dir = tempdir("drop");
        let _c = Cleanup(dir.clone());
        let mut sink = FileSink::new(&dir, 1 << 20).unwrap();
        let mut obj = sink.create(&desc("d/x.bin", 10)).unwrap();
        obj.data_mut()[0] = 1;
        let part = obj.temp_path().to_path_buf();
        drop(obj);
        assert!(!part.exists());
        assert!(!sink.root().join("d/x.bin").exists());
    }

    #[test]
    fn empty_object_is_committed_as_an_empty_file() {
        let dir = tempdir("empty");
        let _c = Cleanup(dir.clone());
        let mut sink = FileSink::new(&dir, 1 << 20).unwrap();
        let mut obj = sink.create(&desc("empty", 0)).unwrap();
        assert!(obj.data_mut().is_empty());
        obj.commit().unwrap();
        assert_eq!(fs::read(sink.root().join("empty")).unwrap(), b"");
    }

    #[test]
    fn symlinked_directory_in_the_output_tree_is_refused() {
        let dir = tempdir("symlink");
        let outside = tempdir("symlink-outside");
        let _c = (Cleanup(dir.clone()), Cleanup(outside.clone()));
        fs::create_dir_all(&outside).unwrap();
        let mut sink = FileSink::new(&dir, 1 << 20).unwrap();
        std::os::unix::fs::symlink(&outside, sink.root().join("evil")).unwrap();
        assert!(matches!(
            sink.create(&desc("evil/x", 3)),
            Err(SinkError::Escape(_))
        ));
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[test]
    fn a_symlink_named_like_the_old_part_file_is_neither_followed_nor_touched() {
        let dir = tempdir("partlink");
        let outside = tempdir("partlink-outside");
        let _c = (Cleanup(dir.clone()), Cleanup(outside.clone()));
        fs::create_dir_all(&outside).unwrap();
        let victim = outside.join("victim");
        fs::write(&victim, b"keep").unwrap();
        let mut sink = FileSink::new(&dir, 1 << 20).unwrap();
        let planted = sink.root().join("x.part");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let mut obj = sink.create(&desc("x", 3)).unwrap();
        obj.data_mut().copy_from_slice(b"new");
        obj.commit().unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(
            fs::symlink_metadata(&planted)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(sink.root().join("x")).unwrap(), b"new");
    }

    #[test]
    fn two_objects_naming_one_file_write_their_own_temporary_files_and_the_last_commit_wins() {
        let dir = tempdir("same-name");
        let _c = Cleanup(dir.clone());
        let mut sink = FileSink::new(&dir, 1 << 20).unwrap();
        let mut first = sink.create(&desc("same", 3)).unwrap();
        let mut second_desc = desc("same", 5);
        second_desc.toi = 8;
        let mut second = sink.create(&second_desc).unwrap();
        assert_ne!(first.temp_path(), second.temp_path());
        first.data_mut().copy_from_slice(b"one");
        second.data_mut().copy_from_slice(b"two!!");
        first.commit().unwrap();
        assert_eq!(fs::read(sink.root().join("same")).unwrap(), b"one");
        second.commit().unwrap();
        assert_eq!(fs::read(sink.root().join("same")).unwrap(), b"two!!");
        // A third that fails leaves the committed file as it was.
        let mut third = sink.create(&desc("same", 4)).unwrap();
        third.data_mut().copy_from_slice(b"half");
        third.abort();
        assert_eq!(fs::read(sink.root().join("same")).unwrap(), b"two!!");
        assert_eq!(fs::read_dir(sink.root()).unwrap().count(), 1);
    }

    #[test]
    fn deep_names_are_refused_and_a_failed_object_takes_the_directories_it_made_with_it() {
        let dir = tempdir("dirs");
        let _c = Cleanup(dir.clone());
        let mut sink = FileSink::new(&dir, 1 << 20).unwrap().with_max_dir_depth(4);
        let deep = format!("{}x", "d/".repeat(5));
        assert!(matches!(
            sink.create(&desc(&deep, 3)),
            Err(SinkError::TooDeep { depth: 5, max: 4 })
        ));
        assert_eq!(fs::read_dir(sink.root()).unwrap().count(), 0);
        fs::create_dir(sink.root().join("kept")).unwrap();
        // Two objects share a directory they made; one fails, then the other.
        let a = sink.create(&desc("kept/a/b/c/x", 3)).unwrap();
        let b = sink.create(&desc("kept/a/y", 3)).unwrap();
        a.abort();
        assert!(sink.root().join("kept/a").is_dir(), "b is still in it");
        assert!(!sink.root().join("kept/a/b").exists());
        b.abort();
        assert!(!sink.root().join("kept/a").exists());
        assert!(sink.root().join("kept").is_dir(), "not made by an object");
        // A committed object keeps its directories.
        let mut c = sink.create(&desc("new/dir/z", 1)).unwrap();
        c.data_mut()[0] = 9;
        c.commit().unwrap();
        assert_eq!(fs::read(sink.root().join("new/dir/z")).unwrap(), [9]);
    }

    /// Descriptors open in this process.
    fn open_descriptors() -> usize {
        fs::read_dir("/proc/self/fd").unwrap().count()
    }

    #[test]
    fn objects_in_flight_hold_no_descriptor_beyond_the_cap() {
        let dir = tempdir("fds");
        let _c = Cleanup(dir.clone());
        let mut sink = FileSink::new(&dir, 1 << 30).unwrap().with_max_open_files(2);
        let before = open_descriptors();
        let mut small: Vec<_> = (0..50)
            .map(|i| sink.create(&desc(&format!("s{i}"), 1000)).unwrap())
            .collect();
        let large_len = RESERVE_CHUNK + 10;
        let mut large: Vec<_> = (0..5)
            .map(|i| sink.create(&desc(&format!("l{i}"), large_len)).unwrap())
            .collect();
        assert_eq!(sink.open_files(), 2);
        // Other tests of this binary open files too: a margin, far below one per object.
        assert!(
            open_descriptors() < before + 10,
            "{} > {before}",
            open_descriptors()
        );
        for (i, object) in large.iter_mut().enumerate() {
            object.reserve(0..large_len as usize).unwrap();
            object.data_mut().fill(i as u8);
        }
        for object in small.iter_mut() {
            object.data_mut().fill(1);
        }
        for object in large.into_iter().chain(small) {
            object.commit().unwrap();
        }
        assert_eq!(sink.open_files(), 0);
        assert_eq!(
            fs::read(sink.root().join("l4")).unwrap(),
            vec![4u8; large_len as usize]
        );
    }

    #[test]
    fn a_final_name_of_the_form_of_a_temporary_name_is_refused() {
        let dir = tempdir("reserved");
        let _c = Cleanup(dir.clone());
        let mut sink = FileSink::new(&dir, 1 << 20).unwrap();
        let name = temp_name::temp_name("x", 1, 2, 3);
        assert!(matches!(
            sink.create(&desc(&format!("d/{name}"), 3)),
            Err(SinkError::ReservedName(_))
        ));
        // Nothing was made for it, not even its directory.
        assert_eq!(fs::read_dir(sink.root()).unwrap().count(), 0);
    }

    #[test]
    fn objects_over_the_limit_are_refused() {
        let dir = tempdir("limit");
        let _c = Cleanup(dir.clone());
        let mut sink = FileSink::new(&dir, 10).unwrap();
        assert!(matches!(
            sink.create(&desc("big", 11)),
            Err(SinkError::TooLarge { .. })
        ));
    }

    #[test]
    fn stale_temporary_files_are_removed_and_complete_files_kept_even_named_part() {
        let dir = tempdir("stale");
        let _c = Cleanup(dir.clone());
        let sink = FileSink::new(&dir, 10).unwrap();
        fs::create_dir_all(sink.root().join("d")).unwrap();
        let stale = sink
            .root()
            .join("d")
            .join(temp_name::temp_name("old.bin", 1, 7, 42));
        fs::write(&stale, b"half").unwrap();
        fs::write(sink.root().join("done.bin"), b"whole").unwrap();
        fs::write(sink.root().join("d/x.part"), b"a user's file").unwrap();
        assert_eq!(sink.remove_stale_parts().unwrap(), 1);
        assert!(!stale.exists());
        assert!(sink.root().join("done.bin").exists());
        assert_eq!(
            fs::read(sink.root().join("d/x.part")).unwrap(),
            b"a user's file"
        );
    }
}
