//! The one rtnetlink request the XDP layer makes (rtnetlink(7), `RTM_GETLINK`): the IDs of the
//! XDP programs attached to an interface (`IFLA_XDP`: `IFLA_XDP_PROG_ID` and the per-mode
//! `IFLA_XDP_DRV_PROG_ID`, `IFLA_XDP_SKB_PROG_ID`, `IFLA_XDP_HW_PROG_ID`), so that the receive
//! engine notices when its steering program was detached by someone else.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLMSG_HDR_LEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const IFLA_XDP: u16 = 43;
/// `IFLA_XDP_PROG_ID` to `IFLA_XDP_HW_PROG_ID`.
const IFLA_XDP_PROG_IDS: std::ops::RangeInclusive<u16> = 4..=7;
/// The flag bits of `rta_type` (`NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// The IDs of the XDP programs attached to interface `if_index` (in the calling thread's network
/// namespace), in any mode; empty when none is.
pub(crate) fn xdp_program_ids(if_index: u32) -> io::Result<Vec<u32>> {
    let socket = route_socket()?;
    let request = getlink_request(if_index)?;
    // SAFETY: `request` is a live buffer of `request.len()` bytes for the duration of the call,
    // and the descriptor is an open netlink socket owned by `socket`.
    let sent = unsafe {
        libc::send(
            socket.as_raw_fd(),
            request.as_ptr().cast(),
            request.len(),
            0,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    // One link's attributes, without VF information (not asked for), fit in a few KiB.
    let mut reply = vec![0u8; 32 << 10];
    // SAFETY: `reply` is a live, writable buffer of `reply.len()` bytes for the duration of the
    // call; the kernel writes at most that many.
    let received = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            reply.as_mut_ptr().cast(),
            reply.len(),
            0,
        )
    };
    let received = usize::try_from(received).map_err(|_| io::Error::last_os_error())?;
    parse_reply(reply.get(..received).unwrap_or_default())
}

fn route_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers; a negative result is checked below.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let timeout = libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    // SAFETY: the option value points to a live `timeval` of the length given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            std::ptr::from_ref(&timeout).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(socket)
}

/// `struct nlmsghdr` then `struct ifinfomsg` asking for one link, in host byte order.
fn getlink_request(if_index: u32) -> io::Result<[u8; NLMSG_HDR_LEN + IFINFOMSG_LEN]> {
    let index = i32::try_from(if_index)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index"))?;
    let mut request = [0u8; NLMSG_HDR_LEN + IFINFOMSG_LEN];
    let len = request.len() as u32;
    request[0..4].copy_from_slice(&len.to_ne_bytes());
    request[4..6].copy_from_slice(&RTM_GETLINK.to_ne_bytes());
    request[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    request[8..12].copy_from_slice(&1u32.to_ne_bytes());
    // ifinfomsg: family AF_UNSPEC, type 0, then the index at offset 4.
    request[NLMSG_HDR_LEN + 4..NLMSG_HDR_LEN + 8].copy_from_slice(&index.to_ne_bytes());
    Ok(request)
}

fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(buf.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(buf.get(at..at + 4)?.try_into().ok()?))
}

fn malformed() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "malformed rtnetlink reply")
}

/// The program IDs in the reply to [`getlink_request`], or the error it carries.
fn parse_reply(reply: &[u8]) -> io::Result<Vec<u32>> {
    let len = u32_at(reply, 0).ok_or_else(malformed)? as usize;
    let kind = u16_at(reply, 4).ok_or_else(malformed)?;
    let message = reply.get(..len).ok_or_else(malformed)?;
    if kind == NLMSG_ERROR {
        let errno = u32_at(message, NLMSG_HDR_LEN).ok_or_else(malformed)? as i32;
        return Err(io::Error::from_raw_os_error(errno.saturating_neg()));
    }
    if kind != RTM_NEWLINK {
        return Err(malformed());
    }
    let attributes = message
        .get(NLMSG_HDR_LEN + IFINFOMSG_LEN..)
        .ok_or_else(malformed)?;
    let mut ids = Vec::new();
    for (kind, value) in Attributes(attributes) {
        if kind == IFLA_XDP {
            for (kind, value) in Attributes(value) {
                if IFLA_XDP_PROG_IDS.contains(&kind)
                    && let Some(id) = u32_at(value, 0)
                    && id != 0
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
            }
        }
    }
    Ok(ids)
}

/// Iterates `struct rtattr`s: (type without flag bits, value); stops at the first one that does
/// not fit.
struct Attributes<'a>(&'a [u8]);

impl<'a> Iterator for Attributes<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let len = usize::from(u16_at(self.0, 0)?);
        let kind = u16_at(self.0, 2)? & NLA_TYPE_MASK;
        let value = self.0.get(4..len)?;
        self.0 = self.0.get(len.next_multiple_of(4)..).unwrap_or_default();
        Some((kind, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }

    fn newlink(attributes: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; NLMSG_HDR_LEN + IFINFOMSG_LEN];
        out.extend_from_slice(attributes);
        let len = out.len() as u32;
        out[0..4].copy_from_slice(&len.to_ne_bytes());
        out[4..6].copy_from_slice(&RTM_NEWLINK.to_ne_bytes());
        out
    }

    #[test]
    fn program_ids_are_read_from_the_nested_ifla_xdp_attribute() {
        let mut xdp = attr(1, &[1]);
        xdp.extend(attr(4, &77u32.to_ne_bytes()));
        xdp.extend(attr(5, &77u32.to_ne_bytes()));
        let mut attributes = attr(3, b"veth0\0");
        attributes.extend(attr(IFLA_XDP | 0x8000, &xdp));
        assert_eq!(parse_reply(&newlink(&attributes)).unwrap(), vec![77]);
    }

    #[test]
    fn no_program_is_an_empty_list_and_an_error_reply_is_its_errno() {
        let attributes = attr(IFLA_XDP | 0x8000, &attr(1, &[0]));
        assert!(parse_reply(&newlink(&attributes)).unwrap().is_empty());
        let mut error = vec![0u8; NLMSG_HDR_LEN + 4];
        let len = error.len() as u32;
        error[0..4].copy_from_slice(&len.to_ne_bytes());
        error[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        error[16..20].copy_from_slice(&(-libc::ENODEV).to_ne_bytes());
        let e = parse_reply(&error).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENODEV));
    }

    #[test]
    fn truncated_replies_are_errors_or_stop_the_attributes_never_panic() {
        let mut attributes = attr(IFLA_XDP, &attr(4, &5u32.to_ne_bytes()));
        attributes.extend([200, 0, 1]);
        let reply = newlink(&attributes);
        for cut in 0..reply.len() {
            let _ = parse_reply(&reply[..cut]);
        }
        assert_eq!(parse_reply(&reply).unwrap(), vec![5]);
    }

    #[test]
    fn the_kernel_answers_for_loopback_and_refuses_an_unknown_index() {
        // Index 1 is the loopback interface in every network namespace.
        assert!(xdp_program_ids(1).is_ok());
        let e = xdp_program_ids(0x7fff_fff0).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENODEV));
    }
}
