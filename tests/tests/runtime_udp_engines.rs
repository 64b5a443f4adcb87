//! The runtime's engines end to end over UDP sockets on loopback (no root needed): one
//! `TxEngine` carrying three sessions (TSIs 1 and 3 on one port, 2 on another) at a set rate into one `RxEngine`
//! with two channels, each with its TSI filter.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use xflute::endpoint::UdpEndpoint;
use xflute::receiver::ObjectEvent;
use xflute::runtime::{Backend, ChannelSpec, RxEngine, TxEngine};
use xflute::sender::Sender;
use xflute_tests::data::content as data;
use xflute_tests::session::no_code_sender;

fn sender(port: u16, tsi: u64, name: &str, data: Vec<u8>) -> Sender {
    let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    no_code_sender(endpoint, tsi, name, data, true)
}

#[test]
fn tx_engine_sends_three_sessions_at_the_set_rate_and_rx_engine_takes_only_the_filtered_tsis() {
    let ports = xflute_tests::ports::free_udp_ports(2);
    let (p1, p2) = (ports[0], ports[1]);
    let dir = xflute_tests::TempDir::new("runtime-udp");
    let out = dir.path().to_path_buf();
    let a = data(1 << 20, 3);
    let b = data(700_000, 7);
    let stop_rx = Arc::new(AtomicBool::new(false));
    let channel = |port: u16, tsi: u64| ChannelSpec {
        destination: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        source: None,
        tsis: vec![tsi],
    };
    let rx = RxEngine::builder(&out)
        .backend(Backend::Udp)
        .channel(channel(p1, 1))
        .channel(channel(p2, 2))
        .start(Arc::clone(&stop_rx))
        .unwrap();
    let rate_bps = 100_000_000;
    let started = Instant::now();
    let tx = TxEngine::builder()
        .backend(Backend::Udp)
        .rate_bps(Some(rate_bps))
        .session(
            sender(p1, 1, "a.bin", a.clone()),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
        )
        .session(
            sender(p2, 2, "b.bin", b.clone()),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
        )
        // A third session on the first port, with a TSI that channel does not take.
        .session(
            sender(p1, 3, "c.bin", data(10_000, 9)),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
        )
        .run_for(Some(Duration::from_secs(30)))
        .start(Arc::new(AtomicBool::new(false)))
        .unwrap();
    let mut completed = Vec::new();
    while completed.len() < 2 && started.elapsed() < Duration::from_secs(30) {
        if let Ok(ObjectEvent::Completed { session, meta, .. }) =
            rx.events().next_timeout(Duration::from_millis(100))
        {
            completed.push((session.tsi, meta.content_location.clone().unwrap()));
        }
    }
    let elapsed = started.elapsed();
    tx.stop();
    let tx_stats = tx.join().unwrap().total();
    let rx_stats = rx.join().unwrap();
    completed.sort();
    assert_eq!(
        completed,
        vec![
            (1, "file:///a.bin".to_owned()),
            (2, "file:///b.bin".to_owned())
        ],
        "after {elapsed:?}; sent {tx_stats:?}; received {:?}",
        rx_stats.workers
    );
    assert_eq!(std::fs::read(out.join("a.bin")).unwrap(), a);
    assert_eq!(std::fs::read(out.join("b.bin")).unwrap(), b);
    // Both objects went out at 100 Mbit/s: at least their bytes' worth of time.
    let min = Duration::from_secs_f64((a.len() + b.len()) as f64 * 8.0 / rate_bps as f64);
    assert!(elapsed >= min.mul_f64(0.9), "{elapsed:?} < {min:?}");
    assert!(tx_stats.packets > 0 && tx_stats.batches > 0);
    assert_eq!(rx_stats.objects_completed(), 2);
    assert!(!out.join("c.bin").exists(), "TSI 3 is not taken");
    assert!(
        rx_stats
            .workers
            .iter()
            .map(|w| w.receiver.filtered)
            .sum::<u64>()
            > 0
    );
    assert!(rx_stats.latency_us.unwrap().len() >= 2);
}
