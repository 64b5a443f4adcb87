//! What `send --backend xdp` needs to know about its interface when the user does not say:
//! its own IPv4 and IPv6 addresses and Ethernet address (getifaddrs(3), in the process's
//! network namespace), and its MTU (sysfs).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An interface's addresses.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InterfaceAddrs {
    /// IPv4 addresses, in the kernel's order.
    pub ipv4: Vec<Ipv4Addr>,
    /// IPv6 addresses, in the kernel's order.
    pub ipv6: Vec<Ipv6Addr>,
    /// Ethernet address, when it has one.
    pub mac: Option<[u8; 6]>,
}

impl InterfaceAddrs {
    /// The address to send from to `destination`: the first of its family, an IPv6 address of
    /// wider than link-local scope first.
    pub fn source_for(&self, destination: IpAddr) -> Option<IpAddr> {
        match destination {
            IpAddr::V4(_) => self.ipv4.first().copied().map(IpAddr::V4),
            IpAddr::V6(_) => self
                .ipv6
                .iter()
                .find(|a| !a.is_unicast_link_local())
                .or(self.ipv6.first())
                .copied()
                .map(IpAddr::V6),
        }
    }
}

/// The addresses of `interface`; empty lists when it has none (or does not exist).
#[allow(unsafe_code)] // getifaddrs(3) is FFI; each block says why it is sound.
pub fn addresses(interface: &str) -> std::io::Result<InterfaceAddrs> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `head` is a valid place for the list pointer; on success the list is ours until
    // `freeifaddrs` below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut out = InterfaceAddrs::default();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not freed yet.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_name.is_null() || ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: `ifa_name` is a NUL-terminated string that lives as long as the list.
        let name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
        if name.to_bytes() != interface.as_bytes() {
            continue;
        }
        // SAFETY: `ifa_addr` points to a socket address at least as large as `sockaddr`.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        match family {
            libc::AF_INET => {
                // SAFETY: the family says this is a `sockaddr_in`.
                let sin = unsafe { &*ifa.ifa_addr.cast::<libc::sockaddr_in>() };
                out.ipv4
                    .push(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
            }
            libc::AF_INET6 => {
                // SAFETY: the family says this is a `sockaddr_in6`.
                let sin6 = unsafe { &*ifa.ifa_addr.cast::<libc::sockaddr_in6>() };
                out.ipv6.push(Ipv6Addr::from(sin6.sin6_addr.s6_addr));
            }
            libc::AF_PACKET => {
                // SAFETY: the family says this is a `sockaddr_ll`.
                let sll = unsafe { &*ifa.ifa_addr.cast::<libc::sockaddr_ll>() };
                if sll.sll_halen == 6 {
                    let mut mac = [0u8; 6];
                    mac.copy_from_slice(&sll.sll_addr[..6]);
                    out.mac = Some(mac);
                }
            }
            _ => {}
        }
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once; no reference into
    // the list outlives this point (everything was copied out).
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// The MTU of `interface`, when sysfs tells it.
pub fn mtu(interface: &str) -> Option<usize> {
    // An interface name never holds a '/', but it comes from the user.
    if interface.contains('/') || interface.is_empty() {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{interface}/mtu"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_127_0_0_1() {
        let lo = addresses("lo").unwrap();
        assert!(lo.ipv4.contains(&Ipv4Addr::LOCALHOST), "{lo:?}");
        assert_eq!(
            lo.source_for("239.1.1.1".parse().unwrap()),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert!(addresses("no-such-if0").unwrap().ipv4.is_empty());
    }
}
