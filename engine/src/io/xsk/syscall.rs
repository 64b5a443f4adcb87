//! Thin wrappers over the system calls AF_XDP needs: `socket`, `setsockopt`, `getsockopt`,
//! `bind`, and the zero-length `sendto`/`recvfrom`/`poll` that wake the kernel.

use std::ffi::CString;
use std::io;
use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::XskError;

/// Opens a new, unbound AF_XDP socket.
pub(crate) fn xdp_socket() -> Result<OwnedFd, XskError> {
    // SAFETY: a plain syscall with constant arguments; it touches no memory of ours.
    let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(XskError::last_os("socket(AF_XDP)"));
    }
    // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(fd, SOL_XDP, name, value)`.
///
/// `T` is one of the plain `#[repr(C)]` structs or integers of `linux/if_xdp.h`; the kernel only
/// reads `size_of::<T>()` bytes from it.
pub(crate) fn set_xdp_option<T: Copy>(
    fd: RawFd,
    name: libc::c_int,
    value: &T,
    op: &'static str,
) -> Result<(), XskError> {
    // SAFETY: `value` points to `size_of::<T>()` readable bytes for the duration of the call and
    // the kernel does not keep the pointer.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_XDP,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(XskError::last_os(op));
    }
    Ok(())
}

/// Where the kernel put the producer, consumer, flags and descriptors of each ring.
pub(crate) fn mmap_offsets(fd: RawFd) -> Result<libc::xdp_mmap_offsets, XskError> {
    let mut offsets = MaybeUninit::<libc::xdp_mmap_offsets>::zeroed();
    let mut len = size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
    // SAFETY: `offsets` has room for `len` bytes; the kernel writes at most `len` bytes and
    // updates `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_XDP,
            libc::XDP_MMAP_OFFSETS,
            offsets.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(XskError::last_os("getsockopt(XDP_MMAP_OFFSETS)"));
    }
    if len as usize != size_of::<libc::xdp_mmap_offsets>() {
        // Kernels before 5.4 answer with the v1 layout, which has no flags word.
        return Err(XskError::Config(format!(
            "kernel answered XDP_MMAP_OFFSETS with {len} bytes; a kernel with need_wakeup (5.4+) is required"
        )));
    }
    // SAFETY: the struct was zeroed (all-zero is a valid value of these integers) and the kernel
    // filled it completely, as the length check shows.
    Ok(unsafe { offsets.assume_init() })
}

/// The socket's drop and error counters.
pub(crate) fn statistics(fd: RawFd) -> Result<libc::xdp_statistics, XskError> {
    let mut stats = MaybeUninit::<libc::xdp_statistics>::zeroed();
    let mut len = size_of::<libc::xdp_statistics>() as libc::socklen_t;
    // SAFETY: as in `mmap_offsets`: room for `len` bytes, the kernel writes at most that.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_XDP,
            libc::XDP_STATISTICS,
            stats.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(XskError::last_os("getsockopt(XDP_STATISTICS)"));
    }
    // SAFETY: zeroed integers are valid; an older kernel may fill fewer fields, which stay 0.
    Ok(unsafe { stats.assume_init() })
}

/// Binds the socket to (interface, queue).
pub(crate) fn bind(fd: RawFd, addr: &libc::sockaddr_xdp) -> io::Result<()> {
    // SAFETY: `addr` is a valid `sockaddr_xdp` and its exact size is passed.
    let rc = unsafe {
        libc::bind(
            fd,
            (addr as *const libc::sockaddr_xdp).cast(),
            size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Asks the kernel to process the tx ring (copy mode transmits inside this call).
///
/// "Try again later" answers are not errors: the frames stay in the ring for the next kick.
pub(crate) fn kick_tx(fd: &impl AsRawFd) -> io::Result<()> {
    // SAFETY: a zero-length send with null buffer and address touches no memory of ours.
    let rc = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            std::ptr::null(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null(),
            0,
        )
    };
    if rc >= 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS | libc::ENETDOWN | libc::EINTR) => Ok(()),
        _ => Err(err),
    }
}

/// Wakes the driver to refill its rx queue from the fill ring.
pub(crate) fn wake_rx(fd: &impl AsRawFd) {
    // SAFETY: a zero-length receive with null buffer and address touches no memory of ours. Its
    // result carries no information (it only triggers the driver), so it is ignored.
    unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            std::ptr::null_mut(),
            0,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
    }
}

/// Waits up to `timeout_ms` for the socket to become readable.
pub(crate) fn poll_readable(fd: &impl AsRawFd, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid pollfd, and we pass a count of 1.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EINTR) {
            return Ok(false);
        }
        return Err(err);
    }
    Ok(rc > 0 && pfd.revents & libc::POLLIN != 0)
}

/// The index of the interface called `name` in the calling thread's network namespace.
pub fn if_index(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}
