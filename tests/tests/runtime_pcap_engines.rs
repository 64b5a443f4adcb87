//! The runtime's pcap backend (no root needed): a `TxEngine` writes two sessions into a capture
//! on its own clock, a tenth of the frames are cut out of it, and an `RxEngine` replays it with
//! a channel for one of the two sessions only; an oversized record in it is skipped and counted.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use xflute::endpoint::UdpEndpoint;
use xflute::io::frame::LinkType;
use xflute::io::pcap::{PcapReader, PcapWriter};
use xflute::receiver::ObjectEvent;
use xflute::runtime::{Backend, ChannelSpec, RxEngine, TxEngine};
use xflute_tests::data::random_bytes;
use xflute_tests::session::no_code_sender;

const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 7, 7);

fn sender(
    port: u16,
    tsi: u64,
    name: &str,
    data: Vec<u8>,
    carousel: bool,
) -> xflute::sender::Sender {
    no_code_sender(
        UdpEndpoint::new(IpAddr::V4(GROUP), port),
        tsi,
        name,
        data,
        carousel,
    )
}

#[test]
fn tx_engine_captures_on_its_own_clock_and_rx_engine_replays_a_lossy_capture_into_files() {
    let dir = xflute_tests::TempDir::new("runtime-pcap");
    let full = dir.path().join("full.pcap");
    let lossy = dir.path().join("lossy.pcap");
    let out = dir.path().join("out");
    let a = random_bytes(1 << 20, 3);
    let b = random_bytes(300_000, 7);
    let source = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    // Two seconds of capture at 100 Mbit/s: about 25 MB, some twenty passes of the carousel.
    let tx = TxEngine::builder()
        .backend(Backend::Pcap)
        .pcap_out(&full)
        .rate_bps(Some(100_000_000))
        .run_for(Some(Duration::from_secs(2)))
        .session(sender(4001, 1, "a.bin", a.clone(), true), source)
        .session(sender(4002, 2, "b.bin", b, false), source)
        .start(Arc::new(AtomicBool::new(false)))
        .unwrap();
    let sent = tx.join().unwrap().total();
    assert!(
        sent.packets > 15_000,
        "only {} packets captured",
        sent.packets
    );

    // Every tenth frame cut out; the capture's clock spans the two seconds asked for.
    let mut reader = PcapReader::new(std::fs::File::open(&full).unwrap()).unwrap();
    let mut writer =
        PcapWriter::new(std::fs::File::create(&lossy).unwrap(), LinkType::Ethernet).unwrap();
    let (mut first, mut last, mut n) = (None, 0u64, 0u64);
    while let Some(frame) = reader.next_frame().unwrap() {
        first.get_or_insert(frame.timestamp_ns);
        last = frame.timestamp_ns;
        n += 1;
        if !n.is_multiple_of(10) {
            writer.write_frame(frame.timestamp_ns, frame.data).unwrap();
        }
    }
    // And one record larger than the reader's 256 KiB cap: skipped and counted, not the end.
    writer.write_frame(last, &vec![0u8; 300 << 10]).unwrap();
    writer.into_inner().unwrap();
    assert_eq!(n, sent.packets);
    let span = Duration::from_nanos(last - first.unwrap());
    assert!(
        span >= Duration::from_millis(1990) && span <= Duration::from_millis(2100),
        "the capture spans {span:?}, not the 2 s of capture time asked for"
    );

    // Only session 1's channel: its object completes; session 2's frames are counted as of no
    // channel.
    let rx = RxEngine::builder(&out)
        .backend(Backend::Pcap)
        .pcap_in(&lossy)
        .channel(ChannelSpec::new(SocketAddr::new(GROUP.into(), 4001)))
        .start(Arc::new(AtomicBool::new(false)))
        .unwrap();
    let give_up = Instant::now() + Duration::from_secs(60);
    while !rx.is_finished() {
        assert!(Instant::now() < give_up, "the replay did not end");
        std::thread::sleep(Duration::from_millis(10));
    }
    let events: Vec<ObjectEvent> = rx.events().drain().collect();
    let stats = rx.join().unwrap();
    let completed = events
        .iter()
        .filter(|e| matches!(e, ObjectEvent::Completed { .. }))
        .count();
    assert_eq!(completed, 1, "{events:?}");
    assert_eq!(std::fs::read(out.join("a.bin")).unwrap(), a);
    assert!(!out.join("b.bin").exists());
    assert_eq!(stats.frames(), n - n / 10);
    let over_cap: u64 = stats.workers.iter().map(|w| w.records_over_cap).sum();
    assert_eq!(over_cap, 1);
    assert!(stats.workers.iter().map(|w| w.unknown_channel).sum::<u64>() > 100);
}

#[test]
fn pcap_backends_without_a_file_are_refused_with_a_clear_error() {
    let dir = xflute_tests::TempDir::new("runtime-pcap-nofile");
    let tx = TxEngine::builder()
        .backend(Backend::Pcap)
        .session(
            sender(4001, 1, "a.bin", random_bytes(10, 1), false),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
        )
        .start(Arc::new(AtomicBool::new(false)));
    assert!(tx.unwrap_err().to_string().contains("capture file"));
    let rx = RxEngine::builder(dir.path())
        .backend(Backend::Pcap)
        .channel(ChannelSpec::new(SocketAddr::new(GROUP.into(), 4001)))
        .start(Arc::new(AtomicBool::new(false)));
    assert!(rx.unwrap_err().to_string().contains("capture to replay"));
    let missing = RxEngine::builder(dir.path())
        .backend(Backend::Pcap)
        .pcap_in(dir.path().join("nope.pcap"))
        .channel(ChannelSpec::new(SocketAddr::new(GROUP.into(), 4001)))
        .start(Arc::new(AtomicBool::new(false)));
    assert!(missing.unwrap_err().to_string().contains("nope.pcap"));
}

/// Blocks of a MiB of RaptorQ, a ninth of their frames cut: the engine's decoding stage
/// decodes them beside the worker (the replay's end waits for every decode out) and the file
/// is exact; kept on the worker, the same capture gives the same file.
#[test]
fn raptorq_blocks_of_a_mib_are_decoded_beside_the_worker() {
    use xflute::io::frame::parse_udp;
    use xflute::sender::{Config, ObjectDesc, Sender, TransferConfig};
    use xflute::wire::{AlcPacket, FecEncodingId, Oti, SchemeSpecific};

    let dir = xflute_tests::TempDir::new("runtime-pcap-raptorq");
    let full = dir.path().join("full.pcap");
    let lossy = dir.path().join("lossy.pcap");
    let data = random_bytes(2 << 20, 5);
    let oti = Oti {
        fec_encoding_id: FecEncodingId::RaptorQ,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 1024,
        maximum_source_block_length: 1024,
        max_number_of_encoding_symbols: 1024 + 256,
        scheme_specific: SchemeSpecific::RaptorQ { z: 0, n: 1, al: 4 },
    };
    let endpoint = UdpEndpoint::new(IpAddr::V4(GROUP), 4003);
    let mut sender = Sender::new(endpoint, 3, oti, Config::default()).unwrap();
    let object = ObjectDesc::from_buffer(
        data.clone(),
        "application/octet-stream",
        "file:///rq.bin",
        true,
        TransferConfig::default(),
    )
    .unwrap();
    sender.add_object(0, object).unwrap();
    let source = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    let tx = TxEngine::builder()
        .backend(Backend::Pcap)
        .pcap_out(&full)
        .rate_bps(Some(200_000_000))
        .run_for(Some(Duration::from_secs(1)))
        .session(sender, source)
        .start(Arc::new(AtomicBool::new(false)))
        .unwrap();
    tx.join().unwrap();

    // Every ninth frame of the object cut out (an odd period: blocks alternate on the wire),
    // the FDT's kept.
    let mut reader = PcapReader::new(std::fs::File::open(&full).unwrap()).unwrap();
    let mut writer =
        PcapWriter::new(std::fs::File::create(&lossy).unwrap(), LinkType::Ethernet).unwrap();
    let mut n = 0u64;
    while let Some(frame) = reader.next_frame().unwrap() {
        let udp = parse_udp(LinkType::Ethernet, frame.data).unwrap();
        if AlcPacket::parse(udp.payload).unwrap().lct().toi != 0 {
            n += 1;
            if n.is_multiple_of(9) {
                continue;
            }
        }
        writer.write_frame(frame.timestamp_ns, frame.data).unwrap();
    }
    writer.into_inner().unwrap();

    for on_worker in [false, true] {
        let out = dir.path().join(format!("out-{on_worker}"));
        let rx = RxEngine::builder(&out)
            .backend(Backend::Pcap)
            .pcap_in(&lossy)
            .decode_on_worker(on_worker)
            .channel(ChannelSpec::new(SocketAddr::new(GROUP.into(), 4003)))
            .start(Arc::new(AtomicBool::new(false)))
            .unwrap();
        let give_up = Instant::now() + Duration::from_secs(120);
        while !rx.is_finished() {
            assert!(Instant::now() < give_up, "the replay did not end");
            std::thread::sleep(Duration::from_millis(10));
        }
        let failed: Vec<ObjectEvent> = rx
            .events()
            .drain()
            .filter(|e| matches!(e, ObjectEvent::Failed { .. }))
            .collect();
        let stats = rx.join().unwrap();
        assert!(failed.is_empty(), "on worker: {on_worker}: {failed:?}");
        let got = std::fs::read(out.join("rq.bin"));
        assert!(got.is_ok_and(|g| g == data), "on worker: {on_worker}");
        assert!(stats.repair_symbols_used() > 0);
        let elsewhere = stats.blocks_decoded_elsewhere();
        if on_worker {
            assert_eq!(elsewhere, 0);
        } else if std::thread::available_parallelism().is_ok_and(|n| n.get() > 1) {
            // Two blocks, each short of about a ninth of its source symbols.
            assert_eq!(elsewhere, 2);
        }
    }
}
