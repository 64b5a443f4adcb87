//! One AF_XDP socket bound to one queue of one interface: its fill, completion, rx and tx rings
//! and the frames of the UMEM it owns. Frames cycle rx → caller → fill, and
//! tx free list → caller → tx → completion → tx free list, in batches.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use super::ring::{ConsumerRing, ProducerRing};
use super::umem::{Umem, UmemInner};
use super::{XskError, syscall};

/// How the socket moves frames between the driver and the UMEM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindMode {
    /// The driver reads and writes the UMEM directly.
    ZeroCopy,
    /// The kernel copies each frame (veth and drivers without AF_XDP support).
    Copy,
}

/// Ring sizes and frame budget of one socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XskConfig {
    /// Descriptors in the rx ring (power of two).
    pub rx_size: u32,
    /// Descriptors in the tx ring (power of two).
    pub tx_size: u32,
    /// UMEM frames lent to the kernel for receiving, through the fill ring.
    pub rx_frames: u32,
    /// UMEM frames kept for sending.
    pub tx_frames: u32,
    /// Try zero-copy first (falls back to copy mode where the driver has none).
    pub zero_copy: bool,
    /// Let the kernel tell when it needs a syscall to make progress (`XDP_USE_NEED_WAKEUP`).
    pub need_wakeup: bool,
}

impl Default for XskConfig {
    /// Half of a default [`super::UmemConfig`] for each direction.
    fn default() -> Self {
        Self {
            rx_size: 2048,
            tx_size: 2048,
            rx_frames: 2048,
            tx_frames: 2048,
            zero_copy: true,
            need_wakeup: true,
        }
    }
}

/// The kernel's per-socket drop counters (`XDP_STATISTICS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XskStatistics {
    /// Frames dropped for reasons other than a full ring or an empty fill ring.
    pub rx_dropped: u64,
    /// Invalid descriptors on the fill ring.
    pub rx_invalid_descs: u64,
    /// Invalid descriptors on the tx ring.
    pub tx_invalid_descs: u64,
    /// Frames dropped because the rx ring was full.
    pub rx_ring_full: u64,
    /// Times the fill ring was empty when a frame arrived.
    pub rx_fill_ring_empty_descs: u64,
    /// Times the tx ring was empty when the kernel looked.
    pub tx_ring_empty_descs: u64,
}

/// An AF_XDP socket bound to (interface, queue).
#[derive(Debug)]
pub struct XskSocket {
    // Rings first: they are unmapped before the descriptor is closed.
    fill: ProducerRing<u64>,
    completion: ConsumerRing<u64>,
    rx: ConsumerRing<libc::xdp_desc>,
    tx: ProducerRing<libc::xdp_desc>,
    tx_free: Vec<u64>,
    /// `None` when this socket is the one that registered the UMEM (its descriptor is the UMEM's).
    own_fd: Option<OwnedFd>,
    umem: Arc<UmemInner>,
    frame_mask: u64,
    mode: BindMode,
    need_wakeup: bool,
    queue_id: u32,
    tx_frames: u32,
    invalid_rx_descs: u64,
}

impl XskSocket {
    /// Creates a socket on `umem`, takes `rx_frames + tx_frames` of its frames, and binds it to
    /// queue `queue_id` of `interface` (in the calling thread's network namespace). The first
    /// socket bound on a UMEM registers it; later ones share it (`XDP_SHARED_UMEM`), each with
    /// its own fill and completion rings, which the kernel allows only on another queue or
    /// interface than the first socket's.
    pub fn bind(
        umem: &Umem,
        interface: &str,
        queue_id: u32,
        config: &XskConfig,
    ) -> Result<Self, XskError> {
        let ifindex = syscall::if_index(interface)
            .ok_or_else(|| XskError::UnknownInterface(interface.to_owned()))?;
        let inner = Arc::clone(&umem.inner);
        let frames_total = config
            .rx_frames
            .checked_add(config.tx_frames)
            .ok_or_else(|| XskError::Config("frame counts overflow".into()))?;
        if config.rx_frames == 0 {
            return Err(XskError::Config("a socket needs rx frames".into()));
        }
        let (socket, mode) = inner.bind_with(frames_total, |primary, mut frames| {
            let own_fd = match primary {
                None => None,
                Some(_) => Some(syscall::xdp_socket()?),
            };
            let fd = own_fd.as_ref().map_or(inner.fd(), |fd| fd.as_raw_fd());
            let fill_size = config.rx_frames.max(64).next_power_of_two();
            let completion_size = config.tx_frames.max(64).next_power_of_two();
            let set = |name, size: u32, op| syscall::set_xdp_option(fd, name, &size, op);
            set(libc::XDP_UMEM_FILL_RING, fill_size, "XDP_UMEM_FILL_RING")?;
            set(
                libc::XDP_UMEM_COMPLETION_RING,
                completion_size,
                "XDP_UMEM_COMPLETION_RING",
            )?;
            set(libc::XDP_RX_RING, config.rx_size, "XDP_RX_RING")?;
            set(libc::XDP_TX_RING, config.tx_size, "XDP_TX_RING")?;
            let offsets = syscall::mmap_offsets(fd)?;
            let mut fill = ProducerRing::map(
                fd,
                &offsets.fr,
                fill_size,
                libc::XDP_UMEM_PGOFF_FILL_RING as libc::off_t,
            )?;
            let completion = ConsumerRing::map(
                fd,
                &offsets.cr,
                completion_size,
                libc::XDP_UMEM_PGOFF_COMPLETION_RING as libc::off_t,
            )?;
            let rx = ConsumerRing::map(
                fd,
                &offsets.rx,
                config.rx_size,
                libc::XDP_PGOFF_RX_RING as libc::off_t,
            )?;
            let tx = ProducerRing::map(
                fd,
                &offsets.tx,
                config.tx_size,
                libc::XDP_PGOFF_TX_RING as libc::off_t,
            )?;
            let tx_free = frames.split_off(config.rx_frames as usize);
            let posted = fill.reserve(config.rx_frames);
            for (i, addr) in (0..posted).zip(frames) {
                fill.write(i, addr);
            }
            fill.submit(posted);
            let mode = bind_socket(fd, ifindex, queue_id, config, primary, &inner)?;
            let socket = Self {
                fill,
                completion,
                rx,
                tx,
                tx_free,
                own_fd,
                umem: Arc::clone(&inner),
                frame_mask: !(u64::from(inner.frame_size()) - 1),
                mode,
                need_wakeup: config.need_wakeup,
                queue_id,
                tx_frames: config.tx_frames,
                invalid_rx_descs: 0,
            };
            Ok((socket, mode))
        })?;
        tracing::debug!(interface, queue_id, ?mode, "AF_XDP socket bound");
        Ok(socket)
    }

    /// Zero-copy or copy mode, as the kernel granted.
    pub fn mode(&self) -> BindMode {
        self.mode
    }

    /// The queue this socket is bound to.
    pub fn queue_id(&self) -> u32 {
        self.queue_id
    }

    /// Receives up to `max` frames without blocking: calls `on_frame` with each frame (from its
    /// Ethernet header), then gives the frames back to the kernel. Returns how many were
    /// received.
    pub fn recv(&mut self, max: u32, mut on_frame: impl FnMut(&[u8])) -> u32 {
        let ready = self.rx.peek(max);
        if ready == 0 {
            if self.need_wakeup && self.fill.needs_wakeup() {
                syscall::wake_rx(self);
            }
            return 0;
        }
        // Every frame in the rx ring came out of the fill ring, which is sized for all of this
        // socket's rx frames, so there is room for them.
        let n = self.fill.reserve(ready);
        for i in 0..n {
            let desc = self.rx.read(i);
            match self.umem.frame(desc.addr, desc.len) {
                Some(frame) => on_frame(frame),
                None => self.invalid_rx_descs += 1,
            }
            self.fill.write(i, desc.addr & self.frame_mask);
        }
        self.fill.submit(n);
        self.rx.release(n);
        n
    }

    /// Blocks up to `timeout` until a frame is ready to [`Self::recv`].
    pub fn wait_readable(&self, timeout: Duration) -> Result<bool, XskError> {
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        syscall::poll_readable(self, ms).map_err(|e| XskError::os("poll", e))
    }

    /// Sends up to `max` frames: calls `write_frame` with each free frame (a whole UMEM frame)
    /// and sends the number of bytes it returns; a return of 0 ends the batch. Recycles completed
    /// frames first and wakes the kernel when it needs it. Returns how many frames were queued.
    pub fn send(
        &mut self,
        max: u32,
        mut write_frame: impl FnMut(&mut [u8]) -> usize,
    ) -> Result<u32, XskError> {
        self.complete();
        let want = max.min(u32::try_from(self.tx_free.len()).unwrap_or(u32::MAX));
        let reserved = self.tx.reserve(want);
        let mut queued = 0;
        while queued < reserved {
            let Some(addr) = self.tx_free.pop() else {
                break;
            };
            // SAFETY: `addr` came off this socket's tx free list: a frame of its own, not in any
            // ring, and not borrowed elsewhere; the slice ends with this iteration.
            let Some(frame) = (unsafe { self.umem.frame_mut(addr) }) else {
                break;
            };
            let len = write_frame(frame).min(frame.len());
            if len == 0 {
                self.tx_free.push(addr);
                break;
            }
            self.tx.write(
                queued,
                libc::xdp_desc {
                    addr,
                    len: len as u32,
                    options: 0,
                },
            );
            queued += 1;
        }
        self.tx.submit(queued);
        self.flush()?;
        Ok(queued)
    }

    /// Wakes the kernel if frames wait in the tx ring and it asked for a wakeup (copy mode always
    /// does: it transmits inside the syscall).
    pub fn flush(&mut self) -> Result<(), XskError> {
        if self.tx.outstanding() > 0 && (!self.need_wakeup || self.tx.needs_wakeup()) {
            syscall::kick_tx(self).map_err(|e| XskError::os("sendto(kick)", e))?;
        }
        Ok(())
    }

    /// Moves sent frames from the completion ring back to the tx free list; returns how many.
    pub fn complete(&mut self) -> u32 {
        let n = self.completion.peek(self.completion.size());
        for i in 0..n {
            let addr = self.completion.read(i);
            self.tx_free.push(addr & self.frame_mask);
        }
        self.completion.release(n);
        n
    }

    /// Frames given to the kernel for sending and not completed yet.
    pub fn tx_in_flight(&self) -> u32 {
        self.tx_frames
            .saturating_sub(u32::try_from(self.tx_free.len()).unwrap_or(u32::MAX))
    }

    /// Frames free for [`Self::send`] right now (before recycling completions).
    pub fn tx_free_frames(&self) -> usize {
        self.tx_free.len()
    }

    /// Rx descriptors that pointed outside the UMEM (never expected; counted, not trusted).
    pub fn invalid_rx_descs(&self) -> u64 {
        self.invalid_rx_descs
    }

    /// The kernel's drop counters for this socket.
    pub fn statistics(&self) -> Result<XskStatistics, XskError> {
        let s = syscall::statistics(self.as_raw_fd())?;
        Ok(XskStatistics {
            rx_dropped: s.rx_dropped,
            rx_invalid_descs: s.rx_invalid_descs,
            tx_invalid_descs: s.tx_invalid_descs,
            rx_ring_full: s.rx_ring_full,
            rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: s.tx_ring_empty_descs,
        })
    }
}

impl AsRawFd for XskSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.own_fd
            .as_ref()
            .map_or(self.umem.fd(), |fd| fd.as_raw_fd())
    }
}

/// Binds `fd`: the registering socket tries zero-copy, then copy mode; a sharing socket inherits
/// the registering socket's mode (the kernel forbids mode flags with `XDP_SHARED_UMEM`).
fn bind_socket(
    fd: RawFd,
    ifindex: u32,
    queue_id: u32,
    config: &XskConfig,
    primary: Option<BindMode>,
    umem: &UmemInner,
) -> Result<BindMode, XskError> {
    let mut addr = libc::sockaddr_xdp {
        sxdp_family: libc::AF_XDP as u16,
        sxdp_flags: 0,
        sxdp_ifindex: ifindex,
        sxdp_queue_id: queue_id,
        sxdp_shared_umem_fd: 0,
    };
    if let Some(mode) = primary {
        addr.sxdp_flags = libc::XDP_SHARED_UMEM;
        addr.sxdp_shared_umem_fd = umem.fd() as u32;
        syscall::bind(fd, &addr).map_err(|e| XskError::os("bind(XDP_SHARED_UMEM)", e))?;
        return Ok(mode);
    }
    let wakeup = if config.need_wakeup {
        libc::XDP_USE_NEED_WAKEUP
    } else {
        0
    };
    if config.zero_copy {
        addr.sxdp_flags = wakeup | libc::XDP_ZEROCOPY;
        match syscall::bind(fd, &addr) {
            Ok(()) => return Ok(BindMode::ZeroCopy),
            Err(e) => {
                tracing::debug!(queue_id, error = %e, "no zero-copy AF_XDP here; using copy mode")
            }
        }
    }
    addr.sxdp_flags = wakeup | libc::XDP_COPY;
    syscall::bind(fd, &addr).map_err(|e| XskError::os("bind", e))?;
    Ok(BindMode::Copy)
}
