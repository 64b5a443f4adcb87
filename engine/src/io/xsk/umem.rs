//! The UMEM: the packet memory that an AF_XDP socket and the kernel share, cut into frames of
//! equal size (`XDP_UMEM_REG`, aligned mode). It is registered on the first socket's file
//! descriptor; further sockets (other queues) may share it (`XDP_SHARED_UMEM`), each taking its own
//! disjoint range of frames and its own fill and completion rings.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, PoisonError};

use super::mmap::Mmap;
use super::socket::BindMode;
use super::{XskError, syscall};

/// Sizes of a UMEM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UmemConfig {
    /// Number of frames.
    pub frame_count: u32,
    /// Bytes per frame: a power of two from 2048 to 4096.
    pub frame_size: u32,
    /// Bytes the kernel leaves free in front of each received packet (beyond its own 256).
    pub headroom: u32,
    /// Try 2 MiB huge pages first (they save TLB misses; the system may have none reserved).
    pub huge_pages: bool,
}

impl Default for UmemConfig {
    /// 4096 frames of 2 KiB: 8 MiB, room for a 1500-byte MTU.
    fn default() -> Self {
        Self {
            frame_count: 4096,
            frame_size: 2048,
            headroom: 0,
            huge_pages: true,
        }
    }
}

/// Packet memory registered with the kernel. Cheap to clone: clones share the same memory.
#[derive(Clone, Debug)]
pub struct Umem {
    pub(crate) inner: Arc<UmemInner>,
}

#[derive(Debug)]
pub(crate) struct UmemInner {
    area: Mmap,
    /// The socket that registered the UMEM; the first [`super::XskSocket`] bound with this UMEM
    /// uses it as its own.
    fd: OwnedFd,
    frame_size: u32,
    frame_count: u32,
    state: Mutex<UmemState>,
}

#[derive(Debug, Default)]
struct UmemState {
    /// Frames `0..next_frame` belong to sockets already.
    next_frame: u32,
    /// Set when the socket owning `fd` has been bound, with the mode it got.
    primary: Option<BindMode>,
}

impl Umem {
    /// Allocates and registers a UMEM.
    pub fn new(config: UmemConfig) -> Result<Self, XskError> {
        let UmemConfig {
            frame_count,
            frame_size,
            headroom,
            huge_pages,
        } = config;
        if !(2048..=4096).contains(&frame_size) || !frame_size.is_power_of_two() {
            return Err(XskError::Config(format!(
                "frame size {frame_size} is not 2048 or 4096"
            )));
        }
        if frame_count == 0 || headroom >= frame_size / 2 {
            return Err(XskError::Config(format!(
                "{frame_count} frames with headroom {headroom}"
            )));
        }
        let len = frame_count as usize * frame_size as usize;
        let register = |area: &Mmap| -> Result<OwnedFd, XskError> {
            let fd = syscall::xdp_socket()?;
            let reg = libc::xdp_umem_reg {
                addr: area.as_ptr() as u64,
                len: len as u64,
                chunk_size: frame_size,
                headroom,
                flags: 0,
                tx_metadata_len: 0,
            };
            syscall::set_xdp_option(fd.as_raw_fd(), libc::XDP_UMEM_REG, &reg, "XDP_UMEM_REG")?;
            Ok(fd)
        };
        let mut area = Mmap::anonymous(len, huge_pages)?;
        let fd = match register(&area) {
            Ok(fd) => fd,
            Err(e) if area.huge_pages() => {
                // Some kernels refuse to pin huge pages for good (EFAULT); plain pages work.
                tracing::debug!(error = %e, "cannot register a huge-page UMEM; using 4 KiB pages");
                drop(area);
                area = Mmap::anonymous(len, false)?;
                register(&area)?
            }
            Err(e) => return Err(e),
        };
        Ok(Self {
            inner: Arc::new(UmemInner {
                area,
                fd,
                frame_size,
                frame_count,
                state: Mutex::default(),
            }),
        })
    }

    /// Whether the memory sits on 2 MiB huge pages.
    pub fn uses_huge_pages(&self) -> bool {
        self.inner.area.huge_pages()
    }

    /// Bytes per frame.
    pub fn frame_size(&self) -> u32 {
        self.inner.frame_size
    }

    /// Number of frames.
    pub fn frame_count(&self) -> u32 {
        self.inner.frame_count
    }

    /// Frames not yet given to a socket.
    pub fn free_frames(&self) -> u32 {
        let state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.inner.frame_count - state.next_frame
    }
}

impl UmemInner {
    pub(crate) fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub(crate) fn frame_size(&self) -> u32 {
        self.frame_size
    }

    /// Runs `bind` while holding the UMEM's binding state, with the addresses of `frames` frames
    /// set aside for the new socket. `bind` learns whether it binds the registering socket
    /// (`None`) or a sharing one (`Some(mode of the registering socket)`). The frames are taken
    /// for good only when `bind` succeeds.
    pub(crate) fn bind_with<T>(
        &self,
        frames: u32,
        bind: impl FnOnce(Option<BindMode>, Vec<u64>) -> Result<(T, BindMode), XskError>,
    ) -> Result<(T, BindMode), XskError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let available = self.frame_count - state.next_frame;
        if frames > available {
            return Err(XskError::OutOfFrames {
                wanted: frames,
                available,
            });
        }
        let first = state.next_frame;
        let addrs = (first..first + frames)
            .map(|i| u64::from(i) * u64::from(self.frame_size))
            .collect();
        let primary = state.primary;
        let (value, mode) = bind(primary, addrs)?;
        state.next_frame += frames;
        if primary.is_none() {
            state.primary = Some(mode);
        }
        Ok((value, mode))
    }

    /// The bytes `addr..addr + len` of the area, if they lie inside it.
    pub(crate) fn frame(&self, addr: u64, len: u32) -> Option<&[u8]> {
        let start = usize::try_from(addr).ok()?;
        let end = start.checked_add(len as usize)?;
        if end > self.area.len() {
            return None;
        }
        // SAFETY: the range lies inside the mapping, which lives as long as `self`. The frame was
        // handed to user space through the rx ring, so the kernel does not write it until it is
        // given back on the fill ring, which happens after this borrow ends (see `XskSocket::recv`).
        Some(unsafe { std::slice::from_raw_parts(self.area.as_ptr().add(start), len as usize) })
    }

    /// The whole frame at `addr`, writable.
    ///
    /// # Safety
    /// The frame must belong to the caller's socket and be owned by user space (on its tx free
    /// list, neither in a ring nor borrowed elsewhere) for as long as the slice lives.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn frame_mut(&self, addr: u64) -> Option<&mut [u8]> {
        let start = usize::try_from(addr).ok()?;
        let end = start.checked_add(self.frame_size as usize)?;
        if end > self.area.len() {
            return None;
        }
        // SAFETY: the range lies inside the mapping; exclusivity is the caller's promise.
        Some(unsafe {
            std::slice::from_raw_parts_mut(self.area.as_ptr().add(start), self.frame_size as usize)
        })
    }
}
