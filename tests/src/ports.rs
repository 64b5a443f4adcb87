//! Loopback ports that no socket holds right now, chosen by the kernel.
//!
//! A port derived from the process id can collide with a socket another process still holds,
//! and xflute's receivers bind with `SO_REUSEADDR`, so such a socket would silently take part
//! of the traffic. A port the kernel hands to a socket bound without reuse is held by no one.

use std::net::{TcpListener, UdpSocket};

/// A loopback TCP port free now (for an HTTP API).
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the kernel hands out a loopback TCP port")
}

/// `n` distinct UDP ports free now on every address (for sessions on loopback or a group).
pub fn free_udp_ports(n: usize) -> Vec<u16> {
    // Held together so that the kernel cannot hand the same port out twice.
    let sockets: Vec<UdpSocket> = (0..n)
        .map(|_| UdpSocket::bind("0.0.0.0:0").expect("the kernel hands out a UDP port"))
        .collect();
    sockets
        .iter()
        .map(|s| {
            s.local_addr()
                .expect("a bound socket has an address")
                .port()
        })
        .collect()
}

/// One UDP port free now on every address.
pub fn free_udp_port() -> u16 {
    free_udp_ports(1)[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_handed_out_together_are_distinct_and_bindable() {
        let ports = free_udp_ports(4);
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 4);
        for port in ports {
            UdpSocket::bind(("127.0.0.1", port)).unwrap();
        }
        TcpListener::bind(("127.0.0.1", free_tcp_port())).unwrap();
    }
}
