//! XDP steering + AF_XDP receive, for real, between two network namespaces over a veth pair
//! (needs root; see `xflute_tests::netns`). Every test ends with `NetnsPair::close`, which fails if
//! an XDP program or a namespace is left behind.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use xflute::io::frame::{LinkType, UdpFrameBuilder, parse_udp, udp_checksum_ok};
use xflute::io::xdp::Flow;
use xflute::io::xsk::{Umem, UmemConfig, XskConfig, XskSocket};
use xflute_tests::af_xdp::{XdpReceiver, check_numbered, numbered_payload};
use xflute_tests::netns::{NetnsPair, PairConfig, Side};
use xflute_tests::wait;

const DEADLINE: Duration = Duration::from_secs(10);

/// What the receiver saw: (queue, sequence number) in arrival order.
struct Received {
    frames: Vec<(usize, u64)>,
}

/// Runs the receiver (program + one AF_XDP socket per queue) in the receiving namespace while
/// `send` runs in the sending namespace; `send` gets the count received so far, for pacing.
/// Checks every frame: a channel's flow, intact numbered payload, valid UDP checksum.
fn exchange(
    pair: &NetnsPair,
    channels: &[Flow],
    shared_umem: bool,
    expected: u64,
    send: impl FnOnce(&AtomicU64) + Send,
) -> Received {
    let received = AtomicU64::new(0);
    let sender_done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (ready, receiver_ready) = mpsc::channel();
        let rx = s.spawn(|| {
            pair.run_in(Side::Receiver, || {
                // Owned by this thread, so that its end goes away if the thread panics.
                let ready = ready;
                let mut rx =
                    XdpReceiver::open(&pair.receiver.interface, pair.queues, channels, shared_umem);
                let _ = ready.send(());
                let mut frames = Vec::new();
                let start = Instant::now();
                let mut quiet_since: Option<Instant> = None;
                loop {
                    let n = rx.poll(|queue, frame| {
                        let d = parse_udp(LinkType::Ethernet, frame)
                            .unwrap_or_else(|e| panic!("AF_XDP delivered a non-UDP frame: {e}"));
                        assert!(
                            channels.iter().any(|c| c.destination == d.destination
                                && c.source.is_none_or(|s| s == d.source.ip())),
                            "frame of a flow that is no channel: {:?}",
                            d
                        );
                        if !pair.tx_checksum_offloaded() {
                            assert_eq!(udp_checksum_ok(frame), Some(true), "bad UDP checksum");
                        }
                        let seq = check_numbered(d.payload).expect("payload corrupted");
                        frames.push((queue, seq));
                    });
                    received.fetch_add(u64::from(n), Ordering::Release);
                    if n == 0 {
                        // Stop once the sender is done and nothing more arrives for a while.
                        if sender_done.load(Ordering::Acquire) {
                            let since = *quiet_since.get_or_insert_with(Instant::now);
                            if frames.len() as u64 >= expected
                                || since.elapsed() > Duration::from_millis(300)
                            {
                                break;
                            }
                        }
                        // AF_XDP rings have no blocking read; a short nap between empty polls.
                        std::thread::sleep(Duration::from_micros(50));
                    } else {
                        quiet_since = None;
                    }
                    assert!(start.elapsed() < DEADLINE * 2, "receiver timed out");
                }
                let stats: Vec<_> = rx.sockets.iter().map(|s| s.statistics().unwrap()).collect();
                let counters = rx.steering.counters().unwrap();
                (frames, stats, counters)
            })
        });
        receiver_ready
            .recv_timeout(DEADLINE)
            .expect("the receiver never became ready");
        pair.run_in(Side::Sender, || send(&received));
        sender_done.store(true, Ordering::Release);
        let (frames, stats, counters) = rx.join().unwrap();
        eprintln!("xdp counters {counters:?}; socket statistics {stats:?}");
        Received { frames }
    })
}

/// Sends `count` numbered datagrams of varying length from one UDP socket, never more than
/// 512 ahead of the receiver so that no ring overflows.
fn send_numbered(bind: SocketAddr, to: SocketAddr, count: u64, received: &AtomicU64) {
    let socket = UdpSocket::bind(bind).unwrap();
    if to.ip().is_ipv4() {
        socket.set_multicast_ttl_v4(8).unwrap();
    }
    for seq in 0..count {
        let start = Instant::now();
        while seq.saturating_sub(received.load(Ordering::Acquire)) > 512 {
            assert!(
                start.elapsed() < DEADLINE,
                "receiver stalled at {}",
                received.load(Ordering::Acquire)
            );
            std::thread::yield_now();
        }
        let len = 8 + (seq as usize * 37) % 1392;
        socket.send_to(&numbered_payload(seq, len), to).unwrap();
    }
}

fn assert_all_in_order(received: &Received, count: u64) {
    let seqs: Vec<u64> = received.frames.iter().map(|(_, s)| *s).collect();
    assert_eq!(seqs.len() as u64, count, "frames received");
    assert!(
        seqs.iter().copied().eq(0..count),
        "frames out of order or duplicated"
    );
}

fn any_source(destination: SocketAddr) -> Flow {
    Flow {
        destination,
        source: None,
    }
}

fn roundtrip(destination: SocketAddr, bind: SocketAddr) {
    let pair = NetnsPair::new();
    let count = 3000;
    let received = exchange(
        &pair,
        &[any_source(destination)],
        false,
        count,
        |received| send_numbered(bind, destination, count, received),
    );
    assert_all_in_order(&received, count);
    pair.close();
}

#[test]
fn af_xdp_receives_ipv4_multicast_all_in_order_intact() {
    roundtrip(
        "239.255.0.1:3400".parse().unwrap(),
        "198.18.0.1:0".parse().unwrap(),
    );
}

#[test]
fn af_xdp_receives_ipv4_unicast_all_in_order_intact() {
    roundtrip(
        "198.18.0.2:3400".parse().unwrap(),
        "198.18.0.1:0".parse().unwrap(),
    );
}

#[test]
fn af_xdp_receives_ipv6_multicast_all_in_order_intact() {
    roundtrip(
        "[ff3e::4321:1]:3400".parse().unwrap(),
        "[fd00:5846::1]:0".parse().unwrap(),
    );
}

#[test]
fn af_xdp_receives_ipv6_unicast_all_in_order_intact() {
    roundtrip(
        "[fd00:5846::2]:3400".parse().unwrap(),
        "[fd00:5846::1]:0".parse().unwrap(),
    );
}

#[test]
fn traffic_outside_the_channels_still_reaches_the_kernel_stack() {
    let pair = NetnsPair::new();
    let channel = any_source("198.18.0.2:3400".parse().unwrap());
    let other_port: SocketAddr = "198.18.0.2:3401".parse().unwrap();
    std::thread::scope(|s| {
        let (steering_ready, receiver_ready) = mpsc::channel();
        // Dropped, if not sent on, when this closure unwinds: the receiver never waits forever.
        let (done, sender_done) = mpsc::channel::<()>();
        let rx = s.spawn(|| {
            pair.run_in(Side::Receiver, || {
                // Owned by this thread, so that its end goes away if the thread panics.
                let (steering_ready, sender_done) = (steering_ready, sender_done);
                let rx = XdpReceiver::open(&pair.receiver.interface, 1, &[channel], false);
                let socket = UdpSocket::bind(other_port).unwrap();
                socket
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                let _ = steering_ready.send(());
                let mut got = Vec::new();
                let start = Instant::now();
                while got.len() < 100 && start.elapsed() < DEADLINE {
                    let mut buf = [0u8; 2048];
                    if let Ok((n, _)) = socket.recv_from(&mut buf) {
                        got.push(check_numbered(&buf[..n]).expect("intact"));
                    }
                }
                let _ = sender_done.recv();
                (got, rx.steering.counters().unwrap())
            })
        });
        receiver_ready
            .recv_timeout(DEADLINE)
            .expect("the receiver never became ready");
        let ping = pair.exec(
            Side::Sender,
            &["ping", "-c", "2", "-i", "0.2", "-W", "2", "198.18.0.2"],
        );
        let ping6 = pair.exec(
            Side::Sender,
            &[
                "ping",
                "-6",
                "-c",
                "2",
                "-i",
                "0.2",
                "-W",
                "2",
                "fd00:5846::2",
            ],
        );
        pair.run_in(Side::Sender, || {
            let socket = UdpSocket::bind("198.18.0.1:0").unwrap();
            for seq in 0..100 {
                socket
                    .send_to(&numbered_payload(seq, 200), other_port)
                    .unwrap();
                // Paced: the kernel socket's default receive buffer holds few datagrams.
                std::thread::sleep(Duration::from_micros(200));
            }
        });
        let _ = done.send(());
        let (got, counters) = rx.join().unwrap();
        assert!(
            ping.status.success(),
            "ping while XDP is attached: {ping:?}"
        );
        assert!(
            ping6.status.success(),
            "ping -6 while XDP is attached: {ping6:?}"
        );
        assert_eq!(
            got,
            (0..100).collect::<Vec<_>>(),
            "UDP on another port reaches its socket"
        );
        assert_eq!(counters.redirected, 0, "nothing of the channel was sent");
        assert!(
            counters.passed >= 104,
            "ARP/ND, ICMP and UDP were passed: {counters:?}"
        );
    });
    pair.close();
}

#[test]
fn source_specific_channel_takes_its_source_and_passes_other_sources() {
    let pair = NetnsPair::new();
    pair.add_address(Side::Sender, "198.18.0.3/24");
    let group: SocketAddr = "239.255.0.7:3400".parse().unwrap();
    let channel = Flow {
        destination: group,
        source: Some("198.18.0.1".parse().unwrap()),
    };
    let count = 500;
    let kernel_got = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (joined, kernel_joined) = mpsc::channel();
        // A kernel socket joined to the group sees what XDP passes.
        let kernel = s.spawn(|| {
            pair.run_in(Side::Receiver, || {
                // Owned by this thread, so that its end goes away if the thread panics.
                let joined = joined;
                let socket = UdpSocket::bind("0.0.0.0:3400").unwrap();
                socket
                    .join_multicast_v4(
                        &"239.255.0.7".parse().unwrap(),
                        &"198.18.0.2".parse().unwrap(),
                    )
                    .unwrap();
                socket
                    .set_read_timeout(Some(Duration::from_millis(50)))
                    .unwrap();
                let _ = joined.send(());
                let mut sources = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    let mut buf = [0u8; 2048];
                    if let Ok((n, from)) = socket.recv_from(&mut buf) {
                        assert!(check_numbered(&buf[..n]).is_some());
                        sources.push(from.ip());
                        kernel_got.fetch_add(1, Ordering::Release);
                    }
                }
                sources
            })
        });
        kernel_joined
            .recv_timeout(DEADLINE)
            .expect("the kernel socket never joined the group");
        let received = exchange(&pair, &[channel], false, count, |received| {
            send_numbered("198.18.0.1:0".parse().unwrap(), group, count, received);
            // Same group and port from the other source: must go to the kernel.
            let other = UdpSocket::bind("198.18.0.3:0").unwrap();
            for seq in 0..count {
                other.send_to(&numbered_payload(seq, 300), group).unwrap();
                // Paced: the joined kernel socket's default receive buffer holds few frames.
                if seq % 8 == 0 {
                    std::thread::sleep(Duration::from_micros(300));
                }
            }
        });
        // The count is checked below, with what did arrive.
        wait::poll(DEADLINE, || kernel_got.load(Ordering::Acquire) >= count);
        stop.store(true, Ordering::Release);
        let sources = kernel.join().unwrap();
        assert_all_in_order(&received, count);
        assert_eq!(
            sources.len() as u64,
            count,
            "other source's datagrams reach the kernel"
        );
        let other: IpAddr = "198.18.0.3".parse().unwrap();
        assert!(
            sources.iter().all(|s| *s == other),
            "only the other source reaches the kernel"
        );
    });
    pair.close();
}

#[test]
fn two_queue_veth_delivers_every_frame_exactly_once_across_sockets() {
    let pair = NetnsPair::with_config(PairConfig {
        queues: 2,
        ..PairConfig::default()
    });
    let group: SocketAddr = "239.255.0.9:3400".parse().unwrap();
    let flows = 16u64;
    let per_flow = 250u64;
    let received = exchange(
        &pair,
        &[any_source(group)],
        true,
        flows * per_flow,
        |received| {
            // One socket per flow: veth picks the peer's rx queue from the tx queue, which the
            // kernel picks per flow, so the flows spread over both queues.
            let sockets: Vec<_> = (0..flows)
                .map(|_| UdpSocket::bind("198.18.0.1:0").unwrap())
                .collect();
            for round in 0..per_flow {
                while (round * flows).saturating_sub(received.load(Ordering::Acquire)) > 512 {
                    std::thread::yield_now();
                }
                for (flow, socket) in sockets.iter().enumerate() {
                    let seq = round * flows + flow as u64;
                    socket.send_to(&numbered_payload(seq, 600), group).unwrap();
                }
            }
        },
    );
    let mut seqs: Vec<u64> = received.frames.iter().map(|(_, s)| *s).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (0..flows * per_flow).collect::<Vec<_>>(),
        "each frame exactly once"
    );
    let on_queue_1 = received.frames.iter().filter(|(q, _)| *q == 1).count();
    eprintln!(
        "queue 0: {}, queue 1: {on_queue_1}",
        received.frames.len() - on_queue_1
    );
    assert!(
        on_queue_1 > 0 && on_queue_1 < received.frames.len(),
        "both queues received frames ({on_queue_1} of {} on queue 1)",
        received.frames.len()
    );
    pair.close();
}

#[test]
fn drop_knob_drops_close_to_the_configured_share_of_1e5_packets() {
    let pair = NetnsPair::new();
    let group: SocketAddr = "239.255.0.11:3400".parse().unwrap();
    let total = 100_000u64;
    let p = 0.25;
    let counters = std::thread::scope(|s| {
        let (ready, steering_ready) = mpsc::channel();
        // Dropped, if not sent on, when this closure unwinds: the receiver never waits forever.
        let (done, sender_done) = mpsc::channel::<()>();
        let rx = s.spawn(|| {
            pair.run_in(Side::Receiver, || {
                // Owned by this thread, so that its end goes away if the thread panics.
                let (ready, sender_done) = (ready, sender_done);
                // No socket: redirected frames fall back to the stack, which drops them (the
                // group is not joined). Only the program's counters matter here.
                let mut steering =
                    xflute::io::xdp::XdpSteering::attach(&pair.receiver.interface).unwrap();
                steering.add_flow(&any_source(group)).unwrap();
                steering.set_drop_probability(p).unwrap();
                let _ = ready.send(());
                let _ = sender_done.recv();
                // Frames still in the veth's queue are counted shortly; the share is checked
                // below on what was seen.
                wait::poll(Duration::from_secs(3), || {
                    let c = steering.counters().unwrap();
                    c.dropped + c.redirected >= total
                });
                steering.counters().unwrap()
            })
        });
        steering_ready
            .recv_timeout(DEADLINE)
            .expect("the steering program was never attached");
        pair.run_in(Side::Sender, || {
            let socket = UdpSocket::bind("198.18.0.1:0").unwrap();
            let payload = numbered_payload(0, 64);
            for _ in 0..total {
                socket.send_to(&payload, group).unwrap();
            }
        });
        let _ = done.send(());
        rx.join().unwrap()
    });
    let seen = counters.dropped + counters.redirected;
    assert!(
        seen >= total * 99 / 100,
        "the program saw {seen} of {total}: {counters:?}"
    );
    let share = counters.dropped as f64 / seen as f64;
    // The binomial standard deviation is 0.0014; 0.01 is seven of them.
    assert!(
        (share - p).abs() < 0.01,
        "dropped share {share} for p = {p}: {counters:?}"
    );
    pair.close();
}

#[test]
fn checksum_partial_frames_from_offloading_sender_arrive_without_stalling() {
    // With tx checksum offload on, the kernel leaves the UDP checksum to a NIC that a veth does
    // not have: AF_XDP sees a wrong-looking checksum. Nothing may crash or stall on it.
    let pair = NetnsPair::with_config(PairConfig {
        tx_checksum_offload: true,
        ..PairConfig::default()
    });
    let group: SocketAddr = "239.255.0.13:3400".parse().unwrap();
    let count = 1000;
    let received = exchange(&pair, &[any_source(group)], false, count, |received| {
        send_numbered("198.18.0.1:0".parse().unwrap(), group, count, received)
    });
    assert_all_in_order(&received, count);
    pair.close();
}

#[test]
fn vlan_tagged_channel_frames_are_redirected() {
    // This kernel has no 802.1Q module, so the tagged frames are written by an AF_XDP socket.
    let pair = NetnsPair::new();
    let src: SocketAddr = "198.18.0.1:4000".parse().unwrap();
    let destination: SocketAddr = "198.18.0.2:3400".parse().unwrap();
    let count = 500;
    let received = exchange(
        &pair,
        &[any_source(destination)],
        false,
        count,
        |received| {
            let umem = Umem::new(UmemConfig::default()).unwrap();
            let mut tx =
                XskSocket::bind(&umem, &pair.sender.interface, 0, &XskConfig::default()).unwrap();
            let builder = UdpFrameBuilder::new(src, destination)
                .unwrap()
                .with_macs(pair.sender.mac, pair.receiver.mac);
            let mut seq = 0;
            let start = Instant::now();
            while seq < count {
                assert!(start.elapsed() < DEADLINE, "sender stalled");
                if seq - received.load(Ordering::Acquire) > 256 {
                    std::thread::yield_now();
                    continue;
                }
                tx.send(1, |frame| {
                    let untagged = builder.build(&numbered_payload(seq, 300)).unwrap();
                    // Ethernet addresses, then the 802.1Q tag (TPID 0x8100, VLAN 10), then the rest.
                    frame[..12].copy_from_slice(&untagged[..12]);
                    frame[12..16].copy_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
                    frame[16..16 + untagged.len() - 12].copy_from_slice(&untagged[12..]);
                    seq += 1;
                    untagged.len() + 4
                })
                .unwrap();
            }
            while tx.tx_in_flight() > 0 && start.elapsed() < DEADLINE {
                tx.flush().unwrap();
                tx.complete();
            }
        },
    );
    assert_all_in_order(&received, count);
    pair.close();
}

#[test]
fn ip_fragments_of_a_channel_flow_go_to_the_kernel() {
    let pair = NetnsPair::new();
    let destination: SocketAddr = "198.18.0.2:3400".parse().unwrap();
    std::thread::scope(|s| {
        let (ready, receiver_ready) = mpsc::channel();
        let rx = s.spawn(|| {
            pair.run_in(Side::Receiver, || {
                // Owned by this thread, so that its end goes away if the thread panics.
                let ready = ready;
                let mut rx = XdpReceiver::open(
                    &pair.receiver.interface,
                    1,
                    &[any_source(destination)],
                    false,
                );
                let socket = UdpSocket::bind(destination).unwrap();
                socket.set_read_timeout(Some(DEADLINE)).unwrap();
                let _ = ready.send(());
                let mut buf = [0u8; 8192];
                let (n, _) = socket.recv_from(&mut buf).expect("reassembled datagram");
                let mut redirected = 0;
                rx.poll(|_, _| redirected += 1);
                (
                    check_numbered(&buf[..n]),
                    n,
                    redirected,
                    rx.steering.counters().unwrap(),
                )
            })
        });
        receiver_ready
            .recv_timeout(DEADLINE)
            .expect("the receiver never became ready");
        pair.run_in(Side::Sender, || {
            let socket = UdpSocket::bind("198.18.0.1:0").unwrap();
            // 4000 bytes do not fit the 1500-byte MTU: three IPv4 fragments.
            socket
                .send_to(&numbered_payload(7, 4000), destination)
                .unwrap();
        });
        let (seq, len, redirected, counters) = rx.join().unwrap();
        assert_eq!(
            (seq, len),
            (Some(7), 4000),
            "the kernel reassembled the datagram"
        );
        assert_eq!(redirected, 0, "no fragment reached AF_XDP");
        assert_eq!(counters.redirected, 0, "{counters:?}");
    });
    pair.close();
}
