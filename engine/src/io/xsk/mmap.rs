//! Memory maps: the UMEM area (anonymous, 2 MiB huge pages when the system has them) and the
//! rings (shared with the kernel through the socket's `XDP_PGOFF_*` offsets).

use std::os::fd::RawFd;
use std::ptr::NonNull;

use super::XskError;

const HUGE_PAGE_BYTES: usize = 2 << 20;

/// An owned mapping, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
    huge_pages: bool,
}

// SAFETY: the mapping is plain memory owned by this value; who may touch which bytes when is
// decided by the ring protocol of the types that hold it, not by the thread.
unsafe impl Send for Mmap {}
// SAFETY: as above; `Mmap` itself hands out only raw pointers.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Anonymous, zeroed, populated memory of at least `len` bytes. With `try_huge_pages`, first
    /// tries 2 MiB huge pages (rounding `len` up), and falls back to 4 KiB pages when the system
    /// has none reserved.
    pub(crate) fn anonymous(len: usize, try_huge_pages: bool) -> Result<Self, XskError> {
        if len == 0 {
            return Err(XskError::Config("empty UMEM".into()));
        }
        let base = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE;
        if try_huge_pages {
            let huge_len = len.div_ceil(HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
            let flags = base | libc::MAP_HUGETLB | libc::MAP_HUGE_2MB;
            if let Ok(map) = Self::map(huge_len, flags, -1, 0, "mmap(UMEM, huge pages)") {
                return Ok(Self {
                    huge_pages: true,
                    ..map
                });
            }
            tracing::debug!("no 2 MiB huge pages for the UMEM; using 4 KiB pages");
        }
        Self::map(len, base, -1, 0, "mmap(UMEM)")
    }

    /// Maps the ring at `offset` (one of `XDP_PGOFF_*`) of an AF_XDP socket.
    pub(crate) fn ring(fd: RawFd, len: usize, offset: libc::off_t) -> Result<Self, XskError> {
        Self::map(
            len,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd,
            offset,
            "mmap(ring)",
        )
    }

    fn map(
        len: usize,
        flags: libc::c_int,
        fd: RawFd,
        offset: libc::off_t,
        op: &'static str,
    ) -> Result<Self, XskError> {
        // SAFETY: a new mapping at an address of the kernel's choice; it cannot overlap memory
        // that Rust already references.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                fd,
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(XskError::last_os(op));
        }
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or(XskError::Config("mmap returned null".into()))?;
        Ok(Self {
            ptr,
            len,
            huge_pages: false,
        })
    }

    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn huge_pages(&self) -> bool {
        self.huge_pages
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe a mapping that this value owns; every borrow of it ended
        // with the borrow of `self`.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}
