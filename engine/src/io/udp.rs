//! The UDP-socket backend, for hosts where XDP is not allowed: `recvmmsg`/`sendmmsg` batches,
//! UDP GSO (`UDP_SEGMENT`, Linux 4.18) on send where the kernel has it, any-source and
//! source-specific multicast joins (`MCAST_JOIN_GROUP`, `MCAST_JOIN_SOURCE_GROUP`, RFC 3678) for
//! IPv4 and IPv6 on an interface chosen by name, and `SO_RCVBUF` sized up with a warning when the
//! kernel caps it.
//!
//! Degrades: without GSO, [`UdpSocket::send_segments`] sends one message per datagram (still
//! one `sendmmsg` per batch); without `CAP_NET_ADMIN`, the receive buffer stops at
//! `net.core.rmem_max`.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use super::xsk::if_index;

/// Messages per `recvmmsg`/`sendmmsg` call.
pub const BATCH: usize = 64;
/// Datagrams per GSO message (the kernel's limit is 64 on older kernels).
const GSO_MAX_SEGMENTS: usize = 64;
/// Bytes per GSO message: the UDP length field's limit less the headers.
const GSO_MAX_BYTES: usize = 65_000;

/// A UDP socket operation failed.
#[derive(Debug, thiserror::Error)]
pub enum UdpError {
    /// A system call failed.
    #[error("UDP {op} failed: {source}")]
    Io {
        /// Which operation.
        op: &'static str,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// No interface has this name.
    #[error("no network interface named {0:?}")]
    UnknownInterface(String),
    /// Group, source and socket are not all IPv4 or all IPv6, or the group is not multicast.
    #[error("{0}")]
    Address(String),
}

fn last_os(op: &'static str) -> UdpError {
    UdpError::Io {
        op,
        source: io::Error::last_os_error(),
    }
}

/// A UDP socket with batched, GSO-capable I/O.
#[derive(Debug)]
pub struct UdpSocket {
    socket: std::net::UdpSocket,
    gso: bool,
}

impl UdpSocket {
    /// Binds to `addr` (with `SO_REUSEADDR`, so that several receivers can share a group port).
    pub fn bind(addr: SocketAddr) -> Result<Self, UdpError> {
        let family = if addr.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        // SAFETY: a plain syscall with constant arguments.
        let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(last_os("socket"));
        }
        // SAFETY: `fd` is a fresh socket that nothing else owns.
        let socket = unsafe { <std::net::UdpSocket as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        set_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1, "SO_REUSEADDR")?;
        // The kernel's count of datagrams dropped on a full receive buffer comes with each
        // datagram (`RecvBatch::kernel_drops`); without it those drops would go unseen.
        if let Err(e) = set_int(fd, libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1, "SO_RXQ_OVFL") {
            tracing::debug!(error = %e, "no socket drop count");
        }
        let (storage, len) = to_sockaddr(addr);
        // SAFETY: `storage` holds a valid sockaddr of `len` bytes.
        let rc = unsafe { libc::bind(fd, (&raw const storage).cast(), len) };
        if rc != 0 {
            return Err(last_os("bind"));
        }
        let gso = gso_supported(fd);
        Ok(Self { socket, gso })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr, UdpError> {
        self.socket.local_addr().map_err(|source| UdpError::Io {
            op: "getsockname",
            source,
        })
    }

    /// Whether sends use UDP GSO.
    pub fn gso(&self) -> bool {
        self.gso
    }

    /// Turns GSO off (for comparisons) or back on where the kernel has it.
    pub fn set_gso(&mut self, on: bool) {
        self.gso = on && gso_supported(self.socket.as_raw_fd());
    }

    /// A socket that receives what is sent to `destination`: for a group, bound to it and
    /// joined on `interface` (from `source` only, when given; an interface is required);
    /// otherwise bound to the port on that address, or on any address when it is unspecified.
    pub fn bind_receiver(
        destination: SocketAddr,
        source: Option<IpAddr>,
        interface: Option<&str>,
    ) -> Result<Self, UdpError> {
        let group = destination.ip();
        if group.is_multicast() {
            let interface = interface
                .ok_or_else(|| UdpError::Address(format!("joining {group} needs an interface")))?;
            let socket = Self::bind(destination)?;
            socket.join(group, source, interface)?;
            return Ok(socket);
        }
        let bind_to: IpAddr = match group {
            IpAddr::V4(a) if a.is_unspecified() => std::net::Ipv4Addr::UNSPECIFIED.into(),
            IpAddr::V6(a) if a.is_unspecified() => std::net::Ipv6Addr::UNSPECIFIED.into(),
            address => address,
        };
        Self::bind(SocketAddr::new(bind_to, destination.port()))
    }

    /// Receives only through `interface` (`SO_BINDTODEVICE`).
    pub fn bind_to_device(&self, interface: &str) -> Result<(), UdpError> {
        // SAFETY: the name's bytes are readable for the call; the kernel copies at most `len`.
        let rc = unsafe {
            libc::setsockopt(
                self.socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                interface.as_ptr().cast(),
                interface.len() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(last_os("SO_BINDTODEVICE"));
        }
        Ok(())
    }

    /// Joins `group` on `interface`, from any source or only from `source` (SSM).
    pub fn join(
        &self,
        group: IpAddr,
        source: Option<IpAddr>,
        interface: &str,
    ) -> Result<(), UdpError> {
        self.membership(group, source, interface, true)
    }

    /// Leaves what [`Self::join`] joined.
    pub fn leave(
        &self,
        group: IpAddr,
        source: Option<IpAddr>,
        interface: &str,
    ) -> Result<(), UdpError> {
        self.membership(group, source, interface, false)
    }

    fn membership(
        &self,
        group: IpAddr,
        source: Option<IpAddr>,
        interface: &str,
        join: bool,
    ) -> Result<(), UdpError> {
        if !group.is_multicast() || source.is_some_and(|s| s.is_ipv4() != group.is_ipv4()) {
            return Err(UdpError::Address(format!(
                "cannot join group {group} from source {source:?}"
            )));
        }
        let ifindex =
            if_index(interface).ok_or_else(|| UdpError::UnknownInterface(interface.to_owned()))?;
        let level = if group.is_ipv4() {
            libc::IPPROTO_IP
        } else {
            libc::IPPROTO_IPV6
        };
        let fd = self.socket.as_raw_fd();
        let (group_ss, _) = to_sockaddr(SocketAddr::new(group, 0));
        match source {
            None => {
                let req = libc::group_req {
                    gr_interface: ifindex,
                    gr_group: group_ss,
                };
                let (name, op) = if join {
                    (libc::MCAST_JOIN_GROUP, "MCAST_JOIN_GROUP")
                } else {
                    (libc::MCAST_LEAVE_GROUP, "MCAST_LEAVE_GROUP")
                };
                set_struct(fd, level, name, &req, op)
            }
            Some(source) => {
                let (source_ss, _) = to_sockaddr(SocketAddr::new(source, 0));
                let req = libc::group_source_req {
                    gsr_interface: ifindex,
                    gsr_group: group_ss,
                    gsr_source: source_ss,
                };
                let (name, op) = if join {
                    (libc::MCAST_JOIN_SOURCE_GROUP, "MCAST_JOIN_SOURCE_GROUP")
                } else {
                    (libc::MCAST_LEAVE_SOURCE_GROUP, "MCAST_LEAVE_SOURCE_GROUP")
                };
                set_struct(fd, level, name, &req, op)
            }
        }
    }

    /// Sends multicast through `interface`, with `ttl` (IPv4 TTL / IPv6 hop limit), not looped
    /// back to this host.
    pub fn set_multicast_out(&self, interface: &str, ttl: u32) -> Result<(), UdpError> {
        let ifindex =
            if_index(interface).ok_or_else(|| UdpError::UnknownInterface(interface.to_owned()))?;
        let fd = self.socket.as_raw_fd();
        if self.local_addr()?.is_ipv4() {
            let mreq = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr { s_addr: 0 },
                imr_address: libc::in_addr { s_addr: 0 },
                imr_ifindex: ifindex as libc::c_int,
            };
            set_struct(
                fd,
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_IF,
                &mreq,
                "IP_MULTICAST_IF",
            )?;
            set_int(
                fd,
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_TTL,
                ttl as i32,
                "IP_MULTICAST_TTL",
            )?;
            set_int(
                fd,
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_LOOP,
                0,
                "IP_MULTICAST_LOOP",
            )
        } else {
            let index = ifindex as libc::c_int;
            set_int(
                fd,
                libc::IPPROTO_IPV6,
                libc::IPV6_MULTICAST_IF,
                index,
                "IPV6_MULTICAST_IF",
            )?;
            set_int(
                fd,
                libc::IPPROTO_IPV6,
                libc::IPV6_MULTICAST_HOPS,
                ttl as i32,
                "IPV6_MULTICAST_HOPS",
            )?;
            set_int(
                fd,
                libc::IPPROTO_IPV6,
                libc::IPV6_MULTICAST_LOOP,
                0,
                "IPV6_MULTICAST_LOOP",
            )
        }
    }

    /// Asks for a receive buffer of `bytes`; if the kernel caps it at `net.core.rmem_max`, tries
    /// `SO_RCVBUFFORCE` (needs `CAP_NET_ADMIN`), and logs a warning if it still falls short.
    /// Returns the size granted (as the kernel reports it: twice the usable payload bytes).
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<usize, UdpError> {
        let fd = self.socket.as_raw_fd();
        let want = i32::try_from(bytes).unwrap_or(i32::MAX);
        set_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, want, "SO_RCVBUF")?;
        let mut got = get_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF)?;
        // The kernel doubles what it grants, for bookkeeping overhead.
        if got / 2 < want {
            let _ = set_int(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                want,
                "SO_RCVBUFFORCE",
            );
            got = get_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF)?;
            if got / 2 < want {
                tracing::warn!(
                    wanted = bytes,
                    granted = got / 2,
                    "UDP receive buffer capped by net.core.rmem_max; raise it or expect drops under load"
                );
            }
        }
        Ok(usize::try_from(got).unwrap_or(0))
    }

    /// Blocks receives for at most `timeout` (`None`: forever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), UdpError> {
        self.socket
            .set_read_timeout(timeout)
            .map_err(|source| UdpError::Io {
                op: "SO_RCVTIMEO",
                source,
            })
    }

    /// Receives up to a batch of datagrams in one `recvmmsg`: waits (up to the read timeout) for
    /// the first, then takes what is already queued. Returns how many arrived (0 on timeout).
    pub fn recv_batch(&self, batch: &mut RecvBatch) -> Result<usize, UdpError> {
        self.recvmmsg(batch, libc::MSG_WAITFORONE)
    }

    /// Like [`UdpSocket::recv_batch`] without waiting: takes what is already queued (0 when
    /// nothing is), for a worker that polls before it sleeps.
    pub fn recv_batch_nowait(&self, batch: &mut RecvBatch) -> Result<usize, UdpError> {
        self.recvmmsg(batch, libc::MSG_DONTWAIT)
    }

    fn recvmmsg(&self, batch: &mut RecvBatch, flags: libc::c_int) -> Result<usize, UdpError> {
        batch.prepare();
        // SAFETY: `prepare` pointed every header at its own iovec and address slot, and every
        // iovec at its own `slot_len` bytes of `bufs`; all live in `batch`, which is borrowed
        // mutably for the call.
        let n = unsafe {
            libc::recvmmsg(
                self.socket.as_raw_fd(),
                batch.headers.as_mut_ptr(),
                batch.headers.len() as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.raw_os_error() {
                Some(libc::EAGAIN | libc::EINTR) => {
                    batch.count = 0;
                    Ok(0)
                }
                _ => Err(UdpError::Io {
                    op: "recvmmsg",
                    source: err,
                }),
            };
        }
        batch.count = n as usize;
        Ok(batch.count)
    }

    /// Sends `data`, a run of datagrams of `segment_len` bytes each (the last may be shorter), to
    /// `dst`: with GSO, up to 64 datagrams per message; without, one per message; at most
    /// [`BATCH`] messages per `sendmmsg`. Returns the datagrams sent (fewer when the socket
    /// buffer is full).
    pub fn send_segments(
        &mut self,
        dst: SocketAddr,
        data: &[u8],
        segment_len: usize,
    ) -> Result<usize, UdpError> {
        if segment_len == 0 {
            return Ok(0);
        }
        let per_message = if self.gso {
            (GSO_MAX_BYTES / segment_len).clamp(1, GSO_MAX_SEGMENTS)
        } else {
            1
        };
        let (addr, addr_len) = to_sockaddr(dst);
        let mut sent_segments = 0;
        let mut chunks = data.chunks(segment_len * per_message).peekable();
        while chunks.peek().is_some() {
            let mut iovecs: [libc::iovec; BATCH] = [const {
                libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                }
            }; BATCH];
            let mut cmsgs = [[0u64; 4]; BATCH];
            // SAFETY: an all-zero mmsghdr is a valid empty message.
            let mut headers: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
            let mut segments_in = [0usize; BATCH];
            let mut n = 0;
            for (i, chunk) in chunks.by_ref().take(BATCH).enumerate() {
                let (Some(iov), Some(header), Some(cmsg), Some(count)) = (
                    iovecs.get_mut(i),
                    headers.get_mut(i),
                    cmsgs.get_mut(i),
                    segments_in.get_mut(i),
                ) else {
                    break;
                };
                iov.iov_base = chunk.as_ptr().cast_mut().cast();
                iov.iov_len = chunk.len();
                header.msg_hdr.msg_name = (&raw const addr).cast_mut().cast();
                header.msg_hdr.msg_namelen = addr_len;
                header.msg_hdr.msg_iov = iov;
                header.msg_hdr.msg_iovlen = 1;
                *count = chunk.len().div_ceil(segment_len);
                if per_message > 1 && chunk.len() > segment_len {
                    write_segment_cmsg(&mut header.msg_hdr, cmsg, segment_len as u16);
                }
                n = i + 1;
            }
            // SAFETY: headers `0..n` point at iovecs, control buffers and the address above, all
            // alive until the call returns; the kernel only reads them (and writes msg_len).
            let rc = unsafe {
                libc::sendmmsg(
                    self.socket.as_raw_fd(),
                    headers.as_mut_ptr(),
                    n as libc::c_uint,
                    0,
                )
            };
            if rc < 0 {
                let err = io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EAGAIN | libc::ENOBUFS) => return Ok(sent_segments),
                    Some(libc::EIO | libc::EINVAL) if per_message > 1 => {
                        tracing::warn!(error = %err, "UDP GSO refused; sending one datagram per message");
                        self.gso = false;
                        let rest = data.get(sent_segments * segment_len..).unwrap_or_default();
                        return Ok(sent_segments + self.send_segments(dst, rest, segment_len)?);
                    }
                    _ => {
                        return Err(UdpError::Io {
                            op: "sendmmsg",
                            source: err,
                        });
                    }
                }
            }
            let done = rc as usize;
            sent_segments += segments_in.iter().take(done).sum::<usize>();
            if done < n {
                return Ok(sent_segments);
            }
        }
        Ok(sent_segments)
    }

    /// Sends each of `datagrams` to `dst`, [`BATCH`] per `sendmmsg`. Returns how many were sent.
    pub fn send_batch(&self, dst: SocketAddr, datagrams: &[&[u8]]) -> Result<usize, UdpError> {
        let (addr, addr_len) = to_sockaddr(dst);
        let mut sent = 0;
        for batch in datagrams.chunks(BATCH) {
            let mut iovecs: Vec<libc::iovec> = batch
                .iter()
                .map(|d| libc::iovec {
                    iov_base: d.as_ptr().cast_mut().cast(),
                    iov_len: d.len(),
                })
                .collect();
            let mut headers: Vec<libc::mmsghdr> = iovecs
                .iter_mut()
                .map(|iov| {
                    // SAFETY: an all-zero mmsghdr is a valid empty message.
                    let mut h: libc::mmsghdr = unsafe { zeroed() };
                    h.msg_hdr.msg_name = (&raw const addr).cast_mut().cast();
                    h.msg_hdr.msg_namelen = addr_len;
                    h.msg_hdr.msg_iov = iov;
                    h.msg_hdr.msg_iovlen = 1;
                    h
                })
                .collect();
            // SAFETY: every header points at its iovec (alive in `iovecs`) and at `addr`; the
            // kernel only reads them and writes `msg_len`.
            let rc = unsafe {
                libc::sendmmsg(
                    self.socket.as_raw_fd(),
                    headers.as_mut_ptr(),
                    headers.len() as libc::c_uint,
                    0,
                )
            };
            if rc < 0 {
                let err = io::Error::last_os_error();
                if matches!(err.raw_os_error(), Some(libc::EAGAIN | libc::ENOBUFS)) {
                    return Ok(sent);
                }
                return Err(UdpError::Io {
                    op: "sendmmsg",
                    source: err,
                });
            }
            sent += rc as usize;
            if (rc as usize) < headers.len() {
                break;
            }
        }
        Ok(sent)
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

/// Buffers for one `recvmmsg`: [`BATCH`] slots, reused call after call.
#[derive(Debug)]
pub struct RecvBatch {
    bufs: Vec<u8>,
    slot_len: usize,
    addrs: Vec<libc::sockaddr_storage>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
    /// One control buffer per message, for the `SO_RXQ_OVFL` drop count.
    controls: Vec<[u64; 4]>,
    count: usize,
}

// SAFETY: the raw pointers inside `iovecs` and `headers` point into this value's own vectors and
// are rewritten before every use (`prepare`), so moving the value to another thread is sound.
unsafe impl Send for RecvBatch {}

impl RecvBatch {
    /// [`BATCH`] slots of `slot_len` bytes (a datagram longer than that is truncated).
    pub fn new(slot_len: usize) -> Self {
        Self {
            bufs: vec![0; slot_len * BATCH],
            slot_len,
            // SAFETY: all-zero sockaddr_storage is a valid (AF_UNSPEC) address.
            addrs: vec![unsafe { zeroed() }; BATCH],
            iovecs: vec![
                libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0,
                };
                BATCH
            ],
            // SAFETY: an all-zero mmsghdr is a valid empty message.
            headers: vec![unsafe { zeroed() }; BATCH],
            controls: vec![[0; 4]; BATCH],
            count: 0,
        }
    }

    fn prepare(&mut self) {
        let slot_len = self.slot_len;
        for ((((buf, iov), addr), header), control) in self
            .bufs
            .chunks_exact_mut(slot_len)
            .zip(&mut self.iovecs)
            .zip(&mut self.addrs)
            .zip(&mut self.headers)
            .zip(&mut self.controls)
        {
            iov.iov_base = buf.as_mut_ptr().cast();
            iov.iov_len = slot_len;
            header.msg_hdr.msg_name = (addr as *mut libc::sockaddr_storage).cast();
            header.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            header.msg_hdr.msg_iov = iov;
            header.msg_hdr.msg_iovlen = 1;
            header.msg_hdr.msg_control = control.as_mut_ptr().cast();
            header.msg_hdr.msg_controllen = size_of::<[u64; 4]>();
            header.msg_hdr.msg_flags = 0;
            header.msg_len = 0;
        }
    }

    /// The datagrams of the last receive: (source, payload).
    pub fn iter(&self) -> impl Iterator<Item = (Option<SocketAddr>, &[u8])> + '_ {
        self.bufs
            .chunks_exact(self.slot_len)
            .zip(&self.headers)
            .zip(&self.addrs)
            .take(self.count)
            .map(|((buf, header), addr)| {
                let len = (header.msg_len as usize).min(buf.len());
                (from_sockaddr(addr), buf.get(..len).unwrap_or_default())
            })
    }

    /// The socket's count of datagrams the kernel dropped because its receive buffer was full
    /// (`SO_RXQ_OVFL`, cumulative since the socket was opened, wrapping at 2^32), as the last
    /// receive's datagrams carried it; `None` when none did (no drop yet, or an old kernel).
    pub fn kernel_drops(&self) -> Option<u32> {
        self.headers
            .iter()
            .take(self.count)
            .rev()
            .find_map(|h| rxq_ovfl(&h.msg_hdr))
    }

    /// Datagrams in the last receive.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the last receive got nothing.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

fn write_segment_cmsg(msg: &mut libc::msghdr, buf: &mut [u64; 4], segment_len: u16) {
    let space = {
        // SAFETY: CMSG_SPACE is a pure computation.
        unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) }
    } as usize;
    msg.msg_control = buf.as_mut_ptr().cast();
    msg.msg_controllen = space.min(size_of::<[u64; 4]>());
    // SAFETY: `msg_control` points at 32 bytes, enough for one cmsghdr with a u16 payload
    // (CMSG_SPACE(2) = 24 on 64-bit Linux), so CMSG_FIRSTHDR is non-null and in bounds.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(msg);
        (*cmsg).cmsg_level = libc::SOL_UDP;
        (*cmsg).cmsg_type = libc::UDP_SEGMENT;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as usize;
        libc::CMSG_DATA(cmsg)
            .cast::<u16>()
            .write_unaligned(segment_len);
    }
}

/// The `SO_RXQ_OVFL` count the kernel attached to a received message, if any.
fn rxq_ovfl(msg: &libc::msghdr) -> Option<u32> {
    // SAFETY: CMSG_LEN is arithmetic on its argument.
    let want = unsafe { libc::CMSG_LEN(size_of::<u32>() as u32) } as usize;
    // SAFETY: `msg_control` points at this batch's own control buffer and the kernel set
    // `msg_controllen` to what it wrote there, so CMSG_FIRSTHDR/CMSG_NXTHDR only return headers
    // inside it (or null); the u32 is read unaligned and only from a header at least
    // CMSG_LEN(4) long, so it lies within the buffer too.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET
                && (*cmsg).cmsg_type == libc::SO_RXQ_OVFL
                && (*cmsg).cmsg_len as usize >= want
            {
                return Some(std::ptr::read_unaligned(
                    libc::CMSG_DATA(cmsg).cast::<u32>(),
                ));
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}

fn gso_supported(fd: RawFd) -> bool {
    get_int_level(fd, libc::SOL_UDP, libc::UDP_SEGMENT).is_ok()
}

fn set_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
    op: &'static str,
) -> Result<(), UdpError> {
    set_struct(fd, level, name, &value, op)
}

fn set_struct<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
    op: &'static str,
) -> Result<(), UdpError> {
    // SAFETY: `value` points at `size_of::<T>()` readable bytes for the call.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(last_os(op));
    }
    Ok(())
}

fn get_int(fd: RawFd, level: libc::c_int, name: libc::c_int) -> Result<i32, UdpError> {
    get_int_level(fd, level, name).map_err(|source| UdpError::Io {
        op: "getsockopt",
        source,
    })
}

fn get_int_level(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<i32> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` has room for `len` bytes; the kernel writes at most that.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&raw mut value).cast(), &mut len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

fn to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: all-zero sockaddr_storage is valid.
    let mut storage: libc::sockaddr_storage = unsafe { zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in>().write(sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { (&raw mut storage).cast::<libc::sockaddr_in6>().write(sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

fn from_sockaddr(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is aligned for.
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                sin.sin_addr.s_addr.to_ne_bytes().into(),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6, which it is aligned for.
            let sin6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Some(SocketAddr::V6(SocketAddrV6::new(
                sin6.sin6_addr.s6_addr.into(),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_round_trips_both_families() {
        for addr in ["198.18.0.1:3400", "[fd00::1]:3400", "[ff3e::1]:1"] {
            let addr: SocketAddr = addr.parse().unwrap();
            let (storage, _) = to_sockaddr(addr);
            assert_eq!(from_sockaddr(&storage), Some(addr));
        }
    }

    #[test]
    fn loopback_batches_round_trip_with_and_without_gso() {
        let rx = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let dst = rx.local_addr().unwrap();
        let mut tx = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let data: Vec<u8> = (0..10 * 100 + 37).map(|i| i as u8).collect();
        let mut batch = RecvBatch::new(2048);
        for gso in [false, true] {
            tx.set_gso(gso);
            assert_eq!(tx.send_segments(dst, &data, 100).unwrap(), 11);
            let mut got = Vec::new();
            while got.len() < data.len() {
                assert!(rx.recv_batch(&mut batch).unwrap() > 0, "timed out");
                for (src, payload) in batch.iter() {
                    assert_eq!(src, Some(tx.local_addr().unwrap()));
                    got.extend_from_slice(payload);
                }
            }
            assert_eq!(got, data, "gso = {gso}");
        }
        assert_eq!(tx.send_batch(dst, &[b"a", b"bc"]).unwrap(), 2);
    }

    #[test]
    fn datagrams_dropped_on_a_full_receive_buffer_are_counted() {
        let rx = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        // The smallest buffer the kernel grants: a few datagrams of 1000 bytes fill it.
        set_int(
            rx.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            1,
            "SO_RCVBUF",
        )
        .unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let dst = rx.local_addr().unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let datagram = [7u8; 1000];
        for _ in 0..200 {
            let _ = tx.send_batch(dst, &[&datagram]);
        }
        // The count comes with the datagrams queued after a drop: drain, then one more.
        let mut batch = RecvBatch::new(2048);
        while rx.recv_batch_nowait(&mut batch).unwrap() > 0 {}
        tx.send_batch(dst, &[&datagram]).unwrap();
        assert_eq!(rx.recv_batch(&mut batch).unwrap(), 1);
        let dropped = batch
            .kernel_drops()
            .expect("the drop count comes with the datagram");
        assert!(dropped > 0 && dropped < 200, "{dropped}");
    }

    #[test]
    fn joining_a_unicast_address_is_refused() {
        let s = UdpSocket::bind("0.0.0.0:0".parse().unwrap()).unwrap();
        assert!(matches!(
            s.join("198.18.0.1".parse().unwrap(), None, "lo"),
            Err(UdpError::Address(_))
        ));
    }
}
