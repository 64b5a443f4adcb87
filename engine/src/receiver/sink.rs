//! Where received objects go: the [`ObjectSink`] contract and the in-memory sink.
//!
//! The receiver asks a sink for a region of exactly the object's length, writes each source
//! symbol straight to its final offset in it (and, with FEC, decodes missing symbols in place),
//! then either commits the object — only once it is complete and verified — or aborts it. A sink
//! must never expose an object under its final name before `commit`; the file sink
//! (`crate::io::file_sink`) writes into a memory-mapped temporary file of the object's own and
//! renames it on commit.

use super::path::SafeRelativePath;
use memmap2::{Advice, MmapMut};
use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, DerefMut};
use thiserror::Error;

/// What a sink is told about an object when the receiver starts storing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDescription {
    /// The session (TSI) the object belongs to.
    pub tsi: u64,
    /// The object (TOI) within its session.
    pub toi: u128,
    /// Where the FDT says the object goes; `None` for an object known only by its EXT_FTI.
    pub path: Option<SafeRelativePath>,
    /// The number of bytes the sink must hold (after content decoding, if any).
    pub len: u64,
    /// Content-Type from the FDT, if any.
    pub content_type: Option<String>,
}

/// Why a sink cannot store an object. The receiver counts it and fails that object only.
#[derive(Debug, Error)]
pub enum SinkError {
    /// The object is larger than this sink accepts.
    #[error("object of {len} bytes exceeds the sink's limit of {max} bytes")]
    TooLarge {
        /// Requested length.
        len: u64,
        /// The sink's limit.
        max: u64,
    },
    /// The place the object would go is not inside the output directory (a symlink, or a
    /// non-directory on the way).
    #[error("refusing to write outside the output directory: {0}")]
    Escape(String),
    /// The final name has the form of the sink's temporary names (a file sink's
    /// `.NAME.xflute-<tsi>-<toi>-<random>.part`): taking it could make one object another's
    /// temporary file, or a complete file one that the next start sweeps away.
    #[error("refusing a final name of the form of a temporary file: {0}")]
    ReservedName(String),
    /// The name goes down more directories than the sink allows.
    #[error("refusing a name {depth} directories deep (at most {max})")]
    TooDeep {
        /// Directories in the name.
        depth: usize,
        /// The sink's limit.
        max: usize,
    },
    /// An I/O error (disk full, permissions ...).
    #[error("sink I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A place that stores received objects.
pub trait ObjectSink {
    /// An object being received.
    type Object: SinkObject;

    /// Start storing an object of `desc.len` bytes.
    fn create(&mut self, desc: &ObjectDescription) -> Result<Self::Object, SinkError>;

    /// An FDT announced an object that has not started yet: a sink may prepare its storage
    /// ahead, so that [`create`](Self::create) with the same description finds it ready. A
    /// hint from unverified input: the sink bounds what it prepares, discards what is not
    /// claimed, and must not make anything visible under a final name. The default does
    /// nothing.
    fn expect(&mut self, desc: &ObjectDescription) {
        let _ = desc;
    }
}

/// An object being received into a sink.
pub trait SinkObject {
    /// The object's whole region, `len` bytes, written in place by the receiver. Its initial
    /// contents are unspecified: the receiver writes every byte before it commits.
    fn data_mut(&mut self) -> &mut [u8];

    /// The object's region, read-only (for hashing the received prefix).
    fn data(&self) -> &[u8];

    /// Makes bytes `range` of the region ready to be written; the receiver calls it before it
    /// writes there. A file sink reserves the disk space of a large object here, chunk by
    /// chunk as the symbols arrive, so that starting the object does not stall the receiver
    /// while all of it is reserved, and a full disk is an error that fails the object rather
    /// than a SIGBUS. The default has nothing to do.
    fn reserve(&mut self, range: std::ops::Range<usize>) -> Result<(), SinkError> {
        let _ = range;
        Ok(())
    }

    /// Starts writing the object's bytes back to storage without waiting for it, so that the
    /// write-back [`commit`](Self::commit) waits for is shorter: for an object that stays open
    /// a while before its commit, as during a repair. The default has nothing to do.
    fn start_write_back(&self) {}

    /// The object is complete and verified: make it visible under its final name.
    fn commit(self) -> Result<(), SinkError>;

    /// The object failed or expired: discard everything written.
    fn abort(self);
}

/// Objects at least this large are held in anonymous memory advised for transparent huge
/// pages: writing a fresh buffer page by page costs a page fault per 4 KiB, which dominates
/// receiving at tens of Gbit/s; with 2 MiB pages it nearly disappears.
pub const HUGE_PAGE_THRESHOLD_BYTES: usize = 2 << 20;

enum Buffer {
    Heap(Vec<u8>),
    /// A mapping and the length of the object it holds (a recycled mapping may be larger).
    Mapped(MmapMut, usize),
}

/// Mappings kept by [`MemorySink::recycle`] for later objects.
const POOL_MAX_BUFFERS: usize = 4;

/// The bytes of an object held in memory, by the [`MemorySink`] or by an application that
/// sends it (`ObjectDesc::from_bytes`): a heap buffer, or for large objects an anonymous
/// huge-page mapping, which the sender also reads faster (a TLB entry covers 2 MiB of symbols
/// instead of 4 KiB). Derefs to `[u8]`.
pub struct MemoryData(Buffer);

impl MemoryData {
    /// `len` zero bytes: in a huge-page mapping from [`HUGE_PAGE_THRESHOLD_BYTES`] on.
    pub fn zeroed(len: usize) -> std::io::Result<Self> {
        if len < HUGE_PAGE_THRESHOLD_BYTES {
            return Ok(Self(Buffer::Heap(vec![0; len])));
        }
        let map = MmapMut::map_anon(len)?;
        // Only a hint: without THP the mapping still works with small pages.
        let _ = map.advise(Advice::HugePage);
        Ok(Self(Buffer::Mapped(map, len)))
    }

    /// Bytes of memory held.
    fn capacity(&self) -> usize {
        match &self.0 {
            Buffer::Heap(v) => v.capacity(),
            Buffer::Mapped(m, _) => m.len(),
        }
    }

    /// The bytes, as a `Vec` (copied when the object is held in a mapping).
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Buffer::Heap(v) => v,
            Buffer::Mapped(m, len) => m.get(..len).unwrap_or_default().to_vec(),
        }
    }
}

impl Deref for MemoryData {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Buffer::Heap(v) => v,
            Buffer::Mapped(m, len) => m.get(..*len).unwrap_or_default(),
        }
    }
}

impl DerefMut for MemoryData {
    fn deref_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Buffer::Heap(v) => v,
            Buffer::Mapped(m, len) => m.get_mut(..*len).unwrap_or_default(),
        }
    }
}

impl AsRef<[u8]> for MemoryData {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl Clone for MemoryData {
    fn clone(&self) -> Self {
        Self(Buffer::Heap(self.to_vec()))
    }
}

impl fmt::Debug for MemoryData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemoryData({} bytes)", self.len())
    }
}

impl PartialEq for MemoryData {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for MemoryData {}

impl PartialEq<[u8]> for MemoryData {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl PartialEq<Vec<u8>> for MemoryData {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == **other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for MemoryData {
    fn eq(&self, other: &[u8; N]) -> bool {
        **self == *other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for MemoryData {
    fn eq(&self, other: &&[u8; N]) -> bool {
        **self == **other
    }
}

/// The completed objects of a [`MemorySink`], shared with the objects being received so that
/// `commit` can queue them; a mutex (taken once per object) keeps the sink `Send`, for a
/// receiver that runs on a worker thread.
type Completed = std::sync::Arc<std::sync::Mutex<VecDeque<MemoryObject>>>;

fn lock(completed: &Completed) -> std::sync::MutexGuard<'_, VecDeque<MemoryObject>> {
    // A panic while the queue was held cannot leave it half-updated: push and drain are whole.
    completed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A completed object held by the [`MemorySink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryObject {
    /// How the receiver described it.
    pub desc: ObjectDescription,
    /// Its bytes.
    pub data: MemoryData,
}

/// A sink that keeps objects in memory, for tests, benchmarks and the Python buffer writer.
/// Completed objects queue up until taken with [`MemorySink::take_completed`].
#[derive(Debug)]
pub struct MemorySink {
    max_object_bytes: u64,
    completed: Completed,
    pool: Vec<MemoryData>,
}

impl MemorySink {
    /// A memory sink that refuses objects larger than `max_object_bytes`.
    pub fn new(max_object_bytes: u64) -> Self {
        Self {
            max_object_bytes,
            completed: Default::default(),
            pool: Vec::new(),
        }
    }

    /// Gives back the bytes of a completed object the application is done with, so that a later
    /// large object reuses its pages instead of faulting and zeroing fresh ones (at most four
    /// large buffers are kept). A reused region starts with stale bytes, which the receiver
    /// overwrites in full before it commits.
    pub fn recycle(&mut self, data: MemoryData) {
        if data.capacity() >= HUGE_PAGE_THRESHOLD_BYTES && self.pool.len() < POOL_MAX_BUFFERS {
            self.pool.push(data);
        }
    }

    /// A recycled mapping that holds `len` bytes, the smallest that does.
    fn reuse(&mut self, len: usize) -> Option<MemoryData> {
        let best = self
            .pool
            .iter()
            .enumerate()
            .filter(|(_, d)| d.capacity() >= len)
            .min_by_key(|(_, d)| d.capacity())
            .map(|(i, _)| i)?;
        let mut data = self.pool.swap_remove(best);
        if let Buffer::Mapped(_, l) = &mut data.0 {
            *l = len;
        }
        Some(data)
    }

    /// The objects completed so far, oldest first; they are removed from the sink.
    pub fn take_completed(&mut self) -> Vec<MemoryObject> {
        lock(&self.completed).drain(..).collect()
    }
}

/// An object being received into a [`MemorySink`].
#[derive(Debug)]
pub struct MemorySinkObject {
    desc: ObjectDescription,
    data: MemoryData,
    completed: Completed,
}

impl ObjectSink for MemorySink {
    type Object = MemorySinkObject;

    fn create(&mut self, desc: &ObjectDescription) -> Result<Self::Object, SinkError> {
        if desc.len > self.max_object_bytes {
            return Err(SinkError::TooLarge {
                len: desc.len,
                max: self.max_object_bytes,
            });
        }
        let len = usize::try_from(desc.len).map_err(|_| SinkError::TooLarge {
            len: desc.len,
            max: self.max_object_bytes,
        })?;
        let data = match len >= HUGE_PAGE_THRESHOLD_BYTES {
            true => self.reuse(len),
            false => None,
        };
        let data = match data {
            Some(data) => data,
            None => MemoryData::zeroed(len)?,
        };
        Ok(MemorySinkObject {
            desc: desc.clone(),
            data,
            completed: self.completed.clone(),
        })
    }
}

impl SinkObject for MemorySinkObject {
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    fn data(&self) -> &[u8] {
        &self.data
    }

    fn commit(self) -> Result<(), SinkError> {
        lock(&self.completed).push_back(MemoryObject {
            desc: self.desc,
            data: self.data,
        });
        Ok(())
    }

    fn abort(self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(len: u64) -> ObjectDescription {
        ObjectDescription {
            tsi: 1,
            toi: 2,
            path: SafeRelativePath::from_content_location("a.txt").ok(),
            len,
            content_type: None,
        }
    }

    #[test]
    fn memory_sink_shows_only_committed_objects() {
        let mut sink = MemorySink::new(1024);
        let mut a = sink.create(&desc(4)).unwrap();
        a.data_mut().copy_from_slice(b"abcd");
        let b = sink.create(&desc(3)).unwrap();
        b.abort();
        assert!(sink.take_completed().is_empty());
        a.commit().unwrap();
        let done = sink.take_completed();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].data, b"abcd");
        assert!(sink.take_completed().is_empty());
    }

    #[test]
    fn large_objects_are_held_in_a_mapping_and_read_back_the_same() {
        let len = HUGE_PAGE_THRESHOLD_BYTES + 3;
        let mut sink = MemorySink::new(1 << 30);
        let mut a = sink.create(&desc(len as u64)).unwrap();
        assert!(a.data().iter().all(|b| *b == 0));
        a.data_mut()[len - 1] = 7;
        a.commit().unwrap();
        let done = sink.take_completed();
        assert_eq!(done[0].data.len(), len);
        assert_eq!(done[0].data[len - 1], 7);
        assert_eq!(done[0].data.clone(), done[0].data);
        let v = done[0].data.clone().into_vec();
        assert_eq!(done[0].data, v);
    }

    #[test]
    fn recycled_buffers_are_reused_for_objects_that_fit() {
        let big = HUGE_PAGE_THRESHOLD_BYTES * 2;
        let mut sink = MemorySink::new(1 << 30);
        let mut a = sink.create(&desc(big as u64)).unwrap();
        a.data_mut().fill(9);
        a.commit().unwrap();
        let data = sink.take_completed().remove(0).data;
        let ptr = data.as_ptr();
        sink.recycle(data);
        let b = sink.create(&desc(big as u64 - 10)).unwrap();
        assert_eq!(b.data().as_ptr(), ptr);
        assert_eq!(b.data().len(), big - 10);
        // Too large for the pooled buffer: a fresh one.
        let c = sink.create(&desc(big as u64 + 1)).unwrap();
        assert_ne!(c.data().as_ptr(), ptr);
        assert!(c.data().iter().all(|x| *x == 0));
    }

    #[test]
    fn memory_sink_and_its_objects_can_move_to_a_worker_thread() {
        fn is_send<T: Send>() {}
        is_send::<MemorySink>();
        is_send::<MemorySinkObject>();
    }

    #[test]
    fn memory_sink_refuses_objects_over_its_limit() {
        let mut sink = MemorySink::new(10);
        assert!(matches!(
            sink.create(&desc(11)),
            Err(SinkError::TooLarge { len: 11, max: 10 })
        ));
    }
}
