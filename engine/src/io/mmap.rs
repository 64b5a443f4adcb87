//! A read-only memory map of a whole input file, so that the sender reads an object's symbols
//! straight from the page cache instead of copying the file into RAM first.
//!
//! The safe core never sees the mapping: [`MappedFile`] implements `AsRef<[u8]>`, which is all
//! the sender's `ObjectBytes` needs.

use std::fs::File;
use std::io;
use std::path::Path;

use memmap2::{Mmap, MmapOptions};

/// A file mapped read-only in full. An empty file is not mapped (a zero-length mapping is an
/// error on Linux) and reads as an empty slice.
#[derive(Debug)]
pub struct MappedFile {
    map: Option<Mmap>,
}

impl MappedFile {
    /// Opens `path` and maps it read-only.
    ///
    /// The file must not be truncated or written by anyone while the mapping lives: a shrunk
    /// file makes reads of the lost pages raise SIGBUS, and a rewritten one changes the bytes
    /// under the sender. This is the usual contract of sending a file from a mapping.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(Self { map: None });
        }
        let len = usize::try_from(len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file too large to map"))?;
        // SAFETY: the mapping is private and read-only, covers exactly the file's length taken
        // just above, and is owned by `MappedFile`, which only hands out `&[u8]` borrowed from
        // itself. The remaining hazard, another process truncating or rewriting the file while
        // it is mapped, is the documented contract of `open` (memmap2 cannot rule it out).
        let map = unsafe { MmapOptions::new().len(len).map(&file)? };
        // The sender reads each file front to back, once per transfer.
        let _ = map.advise(memmap2::Advice::Sequential);
        Ok(Self { map: Some(map) })
    }

    /// The mapped bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }

    /// Length of the file, in bytes.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// True for an empty file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AsRef<[u8]> for MappedFile {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_path(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("xflute-mmap-{}-{name}", std::process::id()))
    }

    #[test]
    fn mapped_file_reads_the_file_bytes() {
        let path = temp_path("bytes");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&data)
            .unwrap();
        let map = MappedFile::open(&path).unwrap();
        assert_eq!(map.as_slice(), &data[..]);
        assert_eq!(map.len(), data.len());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn empty_file_maps_to_an_empty_slice() {
        let path = temp_path("empty");
        std::fs::File::create(&path).unwrap();
        let map = MappedFile::open(&path).unwrap();
        assert!(map.is_empty());
        assert_eq!(map.as_ref(), &[] as &[u8]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn missing_file_is_an_io_error() {
        assert!(MappedFile::open(temp_path("missing")).is_err());
    }
}
