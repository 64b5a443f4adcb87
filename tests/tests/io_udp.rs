//! The UDP-socket backend between two network namespaces (needs root): batched receive on a
//! named interface, any-source and source-specific joins for IPv4 and IPv6, GSO and plain sends.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use xflute::io::udp::{RecvBatch, UdpSocket};
use xflute_tests::af_xdp::{check_numbered, write_numbered};
use xflute_tests::netns::{NetnsPair, Side};

const SEGMENT: usize = 1200;

/// Joins `group` (from `source` only, if set) in the receiving namespace, runs `send` in the
/// sending one, and returns (source address, sequence number) of everything received.
fn receive(
    pair: &NetnsPair,
    group: SocketAddr,
    source: Option<IpAddr>,
    expected: usize,
    send: impl FnOnce() + Send,
) -> Vec<(IpAddr, u64)> {
    let joined = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let rx = s.spawn(|| {
            pair.run_in(Side::Receiver, || {
                let any: SocketAddr = if group.is_ipv4() {
                    SocketAddr::new("0.0.0.0".parse().unwrap(), group.port())
                } else {
                    SocketAddr::new("::".parse().unwrap(), group.port())
                };
                let socket = UdpSocket::bind(any).unwrap();
                socket.bind_to_device(&pair.receiver.interface).unwrap();
                socket
                    .join(group.ip(), source, &pair.receiver.interface)
                    .unwrap();
                let granted = socket.set_recv_buffer(8 << 20).unwrap();
                assert!(granted >= 8 << 20, "SO_RCVBUFFORCE as root: {granted}");
                socket
                    .set_read_timeout(Some(Duration::from_millis(50)))
                    .unwrap();
                joined.store(true, Ordering::Release);
                let mut batch = RecvBatch::new(2048);
                let mut got = Vec::new();
                let start = Instant::now();
                let mut idle_after_done = 0;
                while got.len() < expected && idle_after_done < 6 {
                    assert!(
                        start.elapsed() < Duration::from_secs(20),
                        "receiver timed out"
                    );
                    if socket.recv_batch(&mut batch).unwrap() == 0 {
                        if done.load(Ordering::Acquire) {
                            idle_after_done += 1;
                        }
                        continue;
                    }
                    for (from, payload) in batch.iter() {
                        let seq = check_numbered(payload).expect("payload intact");
                        got.push((from.unwrap().ip(), seq));
                    }
                }
                got
            })
        });
        while !joined.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
        }
        pair.run_in(Side::Sender, send);
        done.store(true, Ordering::Release);
        rx.join().unwrap()
    })
}

/// Sends `count` numbered datagrams from `bind` to `group` in runs of 64, with or without GSO.
fn send_numbered(pair: &NetnsPair, bind: SocketAddr, group: SocketAddr, count: u64, gso: bool) {
    let mut socket = UdpSocket::bind(bind).unwrap();
    socket.set_multicast_out(&pair.sender.interface, 4).unwrap();
    socket.set_gso(gso);
    assert_eq!(socket.gso(), gso, "this kernel has UDP GSO");
    let mut buf = vec![0u8; 64 * SEGMENT];
    let mut seq = 0;
    while seq < count {
        let n = (count - seq).min(64) as usize;
        for (i, segment) in buf.chunks_mut(SEGMENT).take(n).enumerate() {
            write_numbered(segment, seq + i as u64);
        }
        let mut off = 0;
        while off < n {
            off += socket
                .send_segments(group, &buf[off * SEGMENT..n * SEGMENT], SEGMENT)
                .unwrap();
        }
        seq += n as u64;
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn assert_all_once(got: &[(IpAddr, u64)], count: u64) {
    let mut seqs: Vec<u64> = got.iter().map(|(_, s)| *s).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..count).collect::<Vec<_>>());
}

#[test]
fn udp_backend_receives_ipv4_multicast_batches_sent_with_gso() {
    let pair = NetnsPair::new();
    let group: SocketAddr = "239.255.1.1:3500".parse().unwrap();
    let count = 2000;
    let got = receive(&pair, group, None, count as usize, || {
        send_numbered(&pair, "198.18.0.1:0".parse().unwrap(), group, count, true)
    });
    assert_all_once(&got, count);
    pair.close();
}

#[test]
fn udp_backend_receives_ipv6_multicast_batches_sent_without_gso() {
    let pair = NetnsPair::new();
    let group: SocketAddr = "[ff3e::1:1]:3500".parse().unwrap();
    let count = 2000;
    let got = receive(&pair, group, None, count as usize, || {
        send_numbered(
            &pair,
            "[fd00:5846::1]:0".parse().unwrap(),
            group,
            count,
            false,
        )
    });
    assert_all_once(&got, count);
    pair.close();
}

fn source_specific(group: SocketAddr, wanted: &str, other_cidr: &str, other: &str) {
    let pair = NetnsPair::new();
    pair.add_address(Side::Sender, other_cidr);
    let wanted: IpAddr = wanted.parse().unwrap();
    let count = 500;
    let got = receive(&pair, group, Some(wanted), count as usize, || {
        send_numbered(
            &pair,
            SocketAddr::new(other.parse().unwrap(), 0),
            group,
            count,
            true,
        );
        send_numbered(&pair, SocketAddr::new(wanted, 0), group, count, true);
    });
    assert!(
        got.iter().all(|(from, _)| *from == wanted),
        "only the joined source"
    );
    assert_all_once(&got, count);
    pair.close();
}

#[test]
fn udp_backend_source_specific_join_ipv4_receives_only_its_source() {
    source_specific(
        "232.1.1.1:3500".parse().unwrap(),
        "198.18.0.1",
        "198.18.0.3/24",
        "198.18.0.3",
    );
}

#[test]
fn udp_backend_source_specific_join_ipv6_receives_only_its_source() {
    source_specific(
        "[ff3e::8000:1]:3500".parse().unwrap(),
        "fd00:5846::1",
        "fd00:5846::3/64",
        "fd00:5846::3",
    );
}
