//! What `recv` and `inspect` print at the end and about each object, run as a user runs them:
//! a UDP receiver's summary has no XDP counters and gives sizes for people; a receiver that
//! joins a carousel late gives a rate measured from its first packet (or none), never one of a
//! window of no time; names from the network are escaped, so a crafted Content-Location can
//! neither forge an output line nor send a terminal escape.

#[path = "common/cli.rs"]
mod cli;

use cli::{Proc, make_files, s};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};
use xflute_tests::TempDir;
use xflute_tests::netns::{NetnsPair, PairConfig, Side};

fn recv_args(pair: &NetnsPair, group: &str, out: &Path, count: usize) -> Vec<String> {
    s(&[
        "recv",
        "--backend",
        "udp",
        "--iface",
        &pair.receiver.interface,
        "--group",
        group,
        "--out",
        out.to_str().unwrap(),
        "--count",
        &count.to_string(),
        "--timeout",
        "30s",
    ])
}

fn send_args(pair: &NetnsPair, group: &str, rate: &str, files: &[String]) -> Vec<String> {
    let mut args = s(&[
        "send",
        "--backend",
        "udp",
        "--iface",
        &pair.sender.interface,
        "--dest",
        group,
        "--rate",
        rate,
        "--carousel",
        "30s",
    ]);
    args.extend(files.iter().cloned());
    args
}

/// The receiver's last line: its summary.
fn summary_line(log: &str) -> String {
    log.lines()
        .rfind(|l| l.contains("objects complete"))
        .unwrap_or_else(|| panic!("no summary:\n{log}"))
        .to_owned()
}

/// A rate printed as `N unit` (kbit/s, Mbit/s, Gbit/s) in bits per second.
fn rates_in(line: &str) -> Vec<f64> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .filter_map(|w| {
            let scale = match w[1].trim_end_matches([',', ';']) {
                "kbit/s" => 1e3,
                "Mbit/s" => 1e6,
                "Gbit/s" => 1e9,
                "bit/s" => 1.0,
                _ => return None,
            };
            w[0].parse::<f64>().ok().map(|v| v * scale)
        })
        .collect()
}

#[test]
fn a_udp_receiver_summary_has_no_xdp_counters_and_human_sizes() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("sum-udp");
    let files = make_files(&dir.0.join("in"), &[3 << 20, 20_000], 31);
    let out = dir.0.join("out");
    let group = "239.7.9.1:3400";
    let mut recv = Proc::spawn(
        &pair,
        Side::Receiver,
        &recv_args(&pair, group, &out, files.len()),
        &dir.0.join("recv.log"),
    );
    std::thread::sleep(Duration::from_millis(500));
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    let mut sender = Proc::spawn(
        &pair,
        Side::Sender,
        &send_args(&pair, group, "200M", &names),
        &dir.0.join("send.log"),
    );
    let status = recv.wait_for(Duration::from_secs(30));
    sender.interrupt();
    let log = recv.output();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{log}");
    let summary = summary_line(&log);
    assert!(!summary.contains("XDP"), "{summary}");
    assert!(summary.contains(" MiB"), "{summary}");
    assert!(!summary.contains(" bytes in "), "{summary}");
    assert!(
        log.contains("file-000.bin (3.00 MiB)") && log.contains("file-001.bin (19.5 KiB)"),
        "{log}"
    );
    pair.close();
}

#[test]
fn a_late_joiner_reports_a_rate_from_its_first_packet_or_none() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("sum-late");
    let files = make_files(&dir.0.join("in"), &[178_906], 32);
    let out = dir.0.join("out");
    let group = "239.7.9.2:3400";
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    let rate_bps = 20e6;
    let mut sender = Proc::spawn(
        &pair,
        Side::Sender,
        &send_args(&pair, group, "20M", &names),
        &dir.0.join("send.log"),
    );
    // Several rounds of the carousel go by before the receiver joins.
    std::thread::sleep(Duration::from_millis(1500));
    let mut recv = Proc::spawn(
        &pair,
        Side::Receiver,
        &recv_args(&pair, group, &out, 1),
        &dir.0.join("recv.log"),
    );
    let status = recv.wait_for(Duration::from_secs(30));
    sender.interrupt();
    let log = recv.output();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{log}");
    let summary = summary_line(&log);
    eprintln!("late joiner: {summary}");
    assert!(!summary.contains(" 0.000 s"), "{summary}");
    for rate in rates_in(&summary) {
        // What arrived cannot have come faster than it was sent (with room for the moment the
        // first packet is noticed).
        assert!(
            rate <= 2.0 * rate_bps,
            "{rate} bit/s from a {rate_bps} bit/s sender: {summary}"
        );
    }
    pair.close();
}

/// A capture of one object named `location` (sent by xflute's own sender).
fn capture_named(path: &Path, location: &str) {
    use xflute::endpoint::UdpEndpoint;
    use xflute::io::frame::{LinkType, UdpFrameBuilder};
    use xflute::io::pcap::PcapWriter;
    use xflute::sender::{Config, ObjectDesc, Sender, TransferConfig};
    use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 1400,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 64,
        scheme_specific: SchemeSpecific::None,
    };
    let endpoint = UdpEndpoint::new("239.1.1.1".parse().unwrap(), 3400);
    let mut sender = Sender::new(endpoint, 3, oti, Config::default()).unwrap();
    let object = ObjectDesc::from_bytes(
        std::sync::Arc::new(b"payload".to_vec()),
        "text/plain",
        location,
        true,
        TransferConfig::default(),
    )
    .unwrap();
    sender.add_object(0, object).unwrap();
    let frames = UdpFrameBuilder::new(
        "192.0.2.1:40000".parse().unwrap(),
        "239.1.1.1:3400".parse().unwrap(),
    )
    .unwrap();
    let now = SystemTime::now();
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap(), LinkType::Ethernet).unwrap();
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut t = 1_700_000_000_000_000_000u64;
    while let Some(n) = sender.write_next(&mut buf, now) {
        w.write_frame(t, &frames.build(&buf[..n]).unwrap()).unwrap();
        t += 1000;
    }
    w.into_inner().unwrap();
}

#[test]
fn control_characters_in_received_names_are_escaped_in_text_output() {
    let dir = TempDir::new("sum-escape");
    let pcap = dir.0.join("evil.pcap");
    capture_named(
        &pcap,
        "file:///a\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\rFORGED tsi=1 toi=1 ok.txt",
    );
    let out = dir.0.join("out");
    let recv = Command::new(cli::BIN)
        .args(["recv", "--pcap", pcap.to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let inspect = Command::new(cli::BIN)
        .args(["inspect", pcap.to_str().unwrap()])
        .output()
        .unwrap();
    for (what, o) in [("recv", &recv), ("inspect", &inspect)] {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        // The receiver refuses the name (and says so); inspect shows what the FDT holds.
        if what == "inspect" {
            assert!(
                text.contains("FORGED"),
                "{what} does not show the name:\n{text}"
            );
        }
        for c in ['\u{1b}', '\u{7}', '\u{9b}', '\r'] {
            assert!(!text.contains(c), "{what} printed {c:?} raw:\n{text:?}");
        }
        assert!(
            !text.lines().any(|l| l.starts_with("FORGED")),
            "{what} let the name start a line:\n{text}"
        );
    }
}
