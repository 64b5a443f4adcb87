//! Where received objects go: the [`ObjectSink`] contract and the in-memory sink.
//!
//! The receiver asks a sink for a region of exactly the object's length, writes each source
//! symbol straight to its final offset in it (and, with FEC, decodes missing symbols in place),
//! then either commits the object — only once it is complete and verified — or aborts it. A sink
//! must never expose an object under its final name before `commit`; the file sink
//! (`crate::io::file_sink`) writes into a memory-mapped `NAME.part` and renames it on commit.

use super::path::SafeRelativePath;
use std::collections::VecDeque;
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
}

/// An object being received into a sink.
pub trait SinkObject {
    /// The object's whole region, `len` bytes, written in place by the receiver.
    fn data_mut(&mut self) -> &mut [u8];

    /// The object's region, read-only (for hashing the received prefix).
    fn data(&self) -> &[u8];

    /// The object is complete and verified: make it visible under its final name.
    fn commit(self) -> Result<(), SinkError>;

    /// The object failed or expired: discard everything written.
    fn abort(self);
}

/// A completed object held by the [`MemorySink`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryObject {
    /// How the receiver described it.
    pub desc: ObjectDescription,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// A sink that keeps objects in memory, for tests, benchmarks and the Python buffer writer.
/// Completed objects queue up until taken with [`MemorySink::take_completed`].
#[derive(Debug)]
pub struct MemorySink {
    max_object_bytes: u64,
    completed: std::rc::Rc<std::cell::RefCell<VecDeque<MemoryObject>>>,
}

impl MemorySink {
    /// A memory sink that refuses objects larger than `max_object_bytes`.
    pub fn new(max_object_bytes: u64) -> Self {
        Self {
            max_object_bytes,
            completed: Default::default(),
        }
    }

    /// The objects completed so far, oldest first; they are removed from the sink.
    pub fn take_completed(&mut self) -> Vec<MemoryObject> {
        self.completed.borrow_mut().drain(..).collect()
    }
}

/// An object being received into a [`MemorySink`].
#[derive(Debug)]
pub struct MemorySinkObject {
    desc: ObjectDescription,
    data: Vec<u8>,
    completed: std::rc::Rc<std::cell::RefCell<VecDeque<MemoryObject>>>,
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
        Ok(MemorySinkObject {
            desc: desc.clone(),
            data: vec![0; len],
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
        self.completed.borrow_mut().push_back(MemoryObject {
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
    fn memory_sink_refuses_objects_over_its_limit() {
        let mut sink = MemorySink::new(10);
        assert!(matches!(
            sink.create(&desc(11)),
            Err(SinkError::TooLarge { len: 11, max: 10 })
        ));
    }
}
