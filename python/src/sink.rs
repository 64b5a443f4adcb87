//! The sink behind `receiver.ObjectWriterBuilder`: files below a directory
//! ([`xflute::io::file_sink::FileSink`]) or memory ([`xflute::receiver::MemorySink`]), shared by
//! every receiver built with the same writer, as flute-alc shares its `Rc` writer.

use std::sync::{Arc, Mutex, PoisonError};

use xflute::io::file_sink::{FileSink, FileSinkObject};
use xflute::receiver::{MemorySink, MemorySinkObject};
use xflute::receiver::{ObjectDescription, ObjectSink, SinkError, SinkObject};

/// Where a receiver writes objects.
#[derive(Debug, Clone)]
pub enum SharedSink {
    /// Files below a directory.
    File(FileSink),
    /// Memory; completed objects wait in the sink until taken.
    Memory(Arc<Mutex<MemorySink>>),
}

impl SharedSink {
    /// The completed objects of a memory sink, oldest first (none for a file sink).
    pub fn take_completed(&self) -> Vec<xflute::receiver::MemoryObject> {
        match self {
            Self::File(_) => Vec::new(),
            Self::Memory(sink) => sink
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take_completed(),
        }
    }
}

/// An object being received into a [`SharedSink`].
#[derive(Debug)]
pub enum SharedSinkObject {
    /// A `.part` file.
    File(FileSinkObject),
    /// A buffer.
    Memory(MemorySinkObject),
}

impl ObjectSink for SharedSink {
    type Object = SharedSinkObject;

    fn create(&mut self, desc: &ObjectDescription) -> Result<Self::Object, SinkError> {
        match self {
            Self::File(sink) => sink.create(desc).map(SharedSinkObject::File),
            Self::Memory(sink) => sink
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .create(desc)
                .map(SharedSinkObject::Memory),
        }
    }
}

impl SinkObject for SharedSinkObject {
    fn data_mut(&mut self) -> &mut [u8] {
        match self {
            Self::File(o) => o.data_mut(),
            Self::Memory(o) => o.data_mut(),
        }
    }

    fn data(&self) -> &[u8] {
        match self {
            Self::File(o) => o.data(),
            Self::Memory(o) => o.data(),
        }
    }

    fn commit(self) -> Result<(), SinkError> {
        match self {
            Self::File(o) => o.commit(),
            Self::Memory(o) => o.commit(),
        }
    }

    fn abort(self) {
        match self {
            Self::File(o) => o.abort(),
            Self::Memory(o) => o.abort(),
        }
    }
}
