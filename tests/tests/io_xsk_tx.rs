//! AF_XDP transmit: frames written into UMEM frames and sent through the tx ring of a socket in
//! the sending namespace arrive, all, in order and intact, through XDP → AF_XDP in the receiving
//! one (needs root).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use xflute::io::frame::{LinkType, UdpFrameBuilder, parse_udp};
use xflute::io::xdp::Flow;
use xflute::io::xsk::{BindMode, Umem, UmemConfig, XskConfig, XskSocket};
use xflute_tests::af_xdp::{XdpReceiver, check_numbered, write_numbered};
use xflute_tests::netns::{NetnsPair, Side};

#[test]
fn af_xdp_tx_frames_arrive_through_af_xdp_rx_in_order() {
    let pair = NetnsPair::new();
    let src: SocketAddr = "198.18.0.1:4000".parse().unwrap();
    let group: SocketAddr = "239.255.2.1:3400".parse().unwrap();
    let channel = Flow {
        destination: group,
        source: Some(src.ip()),
    };
    let count = 20_000u64;
    let received = AtomicU64::new(0);
    let ready = AtomicBool::new(false);
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let rx = s.spawn(|| {
            pair.run_in(Side::Receiver, || {
                let mut rx = XdpReceiver::open(&pair.receiver.interface, 1, &[channel], false);
                ready.store(true, Ordering::Release);
                let mut next = 0u64;
                let start = Instant::now();
                while next < count && start.elapsed() < Duration::from_secs(20) {
                    let n = rx.poll(|_, frame| {
                        let d = parse_udp(LinkType::Ethernet, frame).unwrap();
                        assert_eq!((d.source, d.destination), (src, group));
                        assert_eq!(check_numbered(d.payload), Some(next), "in order, intact");
                        next += 1;
                    });
                    received.store(next, Ordering::Release);
                    if n == 0 && done.load(Ordering::Acquire) {
                        std::thread::sleep(Duration::from_micros(100));
                    }
                }
                next
            })
        });
        while !ready.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(5));
        }
        pair.run_in(Side::Sender, || {
            let umem = Umem::new(UmemConfig::default()).unwrap();
            let mut tx =
                XskSocket::bind(&umem, &pair.sender.interface, 0, &XskConfig::default()).unwrap();
            assert_eq!(tx.mode(), BindMode::Copy, "veth has no zero-copy");
            let builder = UdpFrameBuilder::new(src, group)
                .unwrap()
                .with_macs(pair.sender.mac, [0x01, 0x00, 0x5e, 0x7f, 0x02, 0x01]);
            let header_len = builder.header_len();
            let mut seq = 0u64;
            let start = Instant::now();
            while seq < count {
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "sender stalled at {seq}"
                );
                // Stay within the receiver's rings.
                let window = 1024u64.saturating_sub(seq - received.load(Ordering::Acquire));
                let len = 100 + (seq as usize * 13) % 1300;
                let sent = tx
                    .send(window.min(64) as u32, |frame| {
                        if seq >= count {
                            return 0;
                        }
                        let (head, body) = frame.split_at_mut(header_len);
                        let payload = &mut body[..len];
                        write_numbered(payload, seq);
                        builder.write_headers(head, payload).unwrap();
                        seq += 1;
                        header_len + len
                    })
                    .unwrap();
                if sent == 0 {
                    std::thread::yield_now();
                }
            }
            while tx.tx_in_flight() > 0 && start.elapsed() < Duration::from_secs(20) {
                tx.flush().unwrap();
                tx.complete();
            }
            let stats = tx.statistics().unwrap();
            assert_eq!(stats.tx_invalid_descs, 0);
        });
        done.store(true, Ordering::Release);
        assert_eq!(rx.join().unwrap(), count, "every frame arrived");
    });
    pair.close();
}
