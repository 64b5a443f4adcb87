//! Running engines steered through their handles, over UDP on loopback (no root needed): a
//! persistent `TxEngine` that starts with no object gets objects added, a new version of one,
//! and one removed, while it sends; an `RxEngine` gets a channel added after it started and
//! removed again.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use xflute::endpoint::UdpEndpoint;
use xflute::receiver::ObjectEvent;
use xflute::runtime::{Backend, ChannelSpec, RxEngine, TxEngine};
use xflute::sender::{CarouselRepeatMode, Config, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};
use xflute_tests::data::random_bytes;

fn empty_sender(port: u16, tsi: u64) -> Sender {
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 1400,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 64,
        scheme_specific: SchemeSpecific::None,
    };
    let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    Sender::new(endpoint, tsi, oti, Config::default()).unwrap()
}

fn object(name: &str, data: Vec<u8>) -> ObjectDesc {
    let transfer = TransferConfig {
        carousel_mode: Some(CarouselRepeatMode::DelayBetweenTransfers(
            Duration::from_millis(20),
        )),
        ..TransferConfig::default()
    };
    ObjectDesc::from_buffer(
        data,
        "application/octet-stream",
        format!("file:///{name}"),
        true,
        transfer,
    )
    .unwrap()
}

fn channel(port: u16) -> ChannelSpec {
    ChannelSpec {
        destination: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        source: None,
        tsis: Vec::new(),
    }
}

/// Waits for `name` to complete (its TOI), failing the test after 20 s.
fn completed(rx: &RxEngine, name: &str) -> u128 {
    let give_up = Instant::now() + Duration::from_secs(20);
    while Instant::now() < give_up {
        if let Ok(ObjectEvent::Completed { toi, meta, .. }) =
            rx.events().next_timeout(Duration::from_millis(50))
            && meta.content_location.as_deref() == Some(&format!("file:///{name}"))
        {
            return toi;
        }
    }
    panic!("{name} did not complete");
}

#[test]
fn persistent_tx_engine_takes_added_replaced_and_removed_objects_while_it_sends() {
    let port = xflute_tests::ports::free_udp_port();
    let dir = xflute_tests::TempDir::new("live-control");
    let rx = RxEngine::builder(dir.path())
        .backend(Backend::Udp)
        .channel(channel(port))
        .start(Arc::new(AtomicBool::new(false)))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let tx = TxEngine::builder()
        .backend(Backend::Udp)
        .rate_bps(Some(200_000_000))
        .persistent(true)
        .session(empty_sender(port, 7), IpAddr::V4(Ipv4Addr::LOCALHOST))
        .start(Arc::clone(&stop))
        .unwrap();
    // Nothing to send, and still running: a persistent session waits for objects.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !tx.is_finished(),
        "a persistent engine stays up with no object"
    );

    let a1 = random_bytes(300_000, 1);
    let toi_a1 = tx.add_object(0, 0, object("a.bin", a1.clone())).unwrap();
    assert_eq!(completed(&rx, "a.bin"), toi_a1);
    assert_eq!(std::fs::read(dir.path().join("a.bin")).unwrap(), a1);

    // A new version: a new TOI, one FDT Instance listing only it.
    let a2 = random_bytes(200_000, 2);
    let toi_a2 = tx
        .replace_object(0, toi_a1, 0, object("a.bin", a2.clone()))
        .unwrap();
    assert_ne!(toi_a2, toi_a1);
    assert_eq!(completed(&rx, "a.bin"), toi_a2);
    assert_eq!(std::fs::read(dir.path().join("a.bin")).unwrap(), a2);

    let b = random_bytes(50_000, 3);
    let toi_b = tx.add_object(0, 0, object("b.bin", b.clone())).unwrap();
    assert_eq!(completed(&rx, "b.bin"), toi_b);
    assert!(tx.remove_object(0, toi_b).unwrap());
    assert!(!tx.remove_object(0, toi_b).unwrap(), "already gone");
    tx.set_rate(Some(100_000_000)).unwrap();
    let id = tx.publish(0).unwrap();
    assert!(
        tx.add_object(3, 0, object("c.bin", b)).is_err(),
        "no session 3"
    );

    // The counters saw the carousel go round and the FDT instances go out.
    std::thread::sleep(Duration::from_millis(300));
    let total = tx.stats().total();
    assert!(total.transfers >= 3, "{total:?}");
    assert!(total.fdt_instance_id >= id, "{total:?}");
    assert!(total.carousel_cycle_us > 0, "{total:?}");
    tx.stop();
    tx.join().unwrap();
    rx.join().unwrap();
}

#[test]
fn rx_engine_takes_a_channel_added_while_it_runs_and_lets_it_go_when_removed() {
    let ports = xflute_tests::ports::free_udp_ports(2);
    let (first, second) = (ports[0], ports[1]);
    let dir = xflute_tests::TempDir::new("live-channels");
    let mut rx = RxEngine::builder(dir.path())
        .backend(Backend::Udp)
        .channel(channel(first))
        .start(Arc::new(AtomicBool::new(false)))
        .unwrap();
    let tx = TxEngine::builder()
        .backend(Backend::Udp)
        .rate_bps(Some(200_000_000))
        .persistent(true)
        .session(empty_sender(second, 9), IpAddr::V4(Ipv4Addr::LOCALHOST))
        .start(Arc::new(AtomicBool::new(false)))
        .unwrap();
    let data = random_bytes(100_000, 4);
    tx.add_object(0, 0, object("late.bin", data.clone()))
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !dir.path().join("late.bin").exists(),
        "not received before its channel is added"
    );
    rx.add_channel(channel(second)).unwrap();
    assert_eq!(rx.channels().len(), 2);
    completed(&rx, "late.bin");
    assert_eq!(std::fs::read(dir.path().join("late.bin")).unwrap(), data);

    assert!(
        rx.remove_channel(channel(second).destination, None)
            .unwrap()
    );
    assert!(
        !rx.remove_channel(channel(second).destination, None)
            .unwrap()
    );
    std::thread::sleep(Duration::from_millis(200));
    let frames = rx.stats().frames();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rx.stats().frames(), frames, "nothing taken after removal");
    tx.stop();
    tx.join().unwrap();
    rx.join().unwrap();
}
