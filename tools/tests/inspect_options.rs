//! `xflute inspect` on captures of `xflute send --pcap-out`, as a user runs it: an FDT sent
//! with Reed-Solomon or RaptorQ is decoded and shown, even when its source symbol is lost and
//! only repair symbols carry it; `--summary` prints the summary alone, `--json` events only,
//! `--tsi`/`--toi` narrow the packets down; a truncated capture is shown up to its last whole
//! frame, summary included, with exit code 1 and one line on stderr.

use std::path::Path;
use std::process::{Command, Output};
use xflute::io::frame::{LinkType, parse_udp};
use xflute::io::pcap::{PcapReader, PcapWriter};
use xflute::wire::AlcPacket;

mod common;
use common::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_xflute");

fn inspect(args: &[&str], pcap: &Path) -> Output {
    Command::new(BIN)
        .arg("inspect")
        .args(args)
        .arg(pcap)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// A capture of two files sent with `fec` (send options).
fn session(dir: &Path, name: &str, fec: &[&str]) -> std::path::PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("alpha.txt"), b"alpha").unwrap();
    std::fs::write(input.join("beta.bin"), vec![9u8; 30_000]).unwrap();
    let pcap = dir.join(format!("{name}.pcap"));
    let out = Command::new(BIN)
        .args(["send", "--pcap-out", pcap.to_str().unwrap()])
        .args(fec)
        .arg(input.join("alpha.txt"))
        .arg(input.join("beta.bin"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    pcap
}

/// Copies `from` to `to` without the FDT's source symbols (TOI 0, ESI below the block's K).
fn drop_fdt_source_symbols(from: &Path, to: &Path) -> usize {
    let mut reader = PcapReader::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut writer =
        PcapWriter::new(std::fs::File::create(to).unwrap(), LinkType::Ethernet).unwrap();
    let mut dropped = 0;
    while let Some(frame) = reader.next_frame().unwrap() {
        let udp = parse_udp(frame.link.unwrap(), frame.data).unwrap();
        let alc = AlcPacket::parse(udp.payload).unwrap();
        let source = alc.payload_id().is_some_and(|id| id.esi == 0);
        if alc.lct().toi == 0 && source {
            dropped += 1;
            continue;
        }
        writer.write_frame(frame.timestamp_ns, frame.data).unwrap();
    }
    writer.into_inner().unwrap();
    dropped
}

#[test]
fn an_fdt_sent_with_reed_solomon_or_raptorq_is_decoded_even_from_repair_symbols_alone() {
    let dir = TempDir::new("inspect-fec");
    for fec in ["rs28", "raptorq", "rs2m"] {
        let pcap = session(&dir.0, fec, &["--fec", fec, "--repair-pct", "50"]);
        let lossy = dir.0.join(format!("{fec}-lossy.pcap"));
        assert!(drop_fdt_source_symbols(&pcap, &lossy) > 0);
        for capture in [&pcap, &lossy] {
            let o = inspect(&[], capture);
            let text = stdout(&o);
            assert!(o.status.success(), "{fec}: {text}");
            assert!(text.contains("files=2"), "{fec}: {text}");
            assert!(text.contains("file:///alpha.txt length=5"), "{fec}: {text}");
            assert!(
                text.contains("file:///beta.bin length=30000"),
                "{fec}: {text}"
            );
            assert!(text.contains("(0 incomplete)"), "{fec}: {text}");
            assert!(!text.contains("not reassembled"), "{fec}: {text}");
        }
    }
}

#[test]
fn summary_prints_no_packet_line_and_names_the_objects() {
    let dir = TempDir::new("inspect-summary");
    let pcap = session(&dir.0, "s", &[]);
    let o = inspect(&["--summary"], &pcap);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}");
    assert!(!text.lines().any(|l| l.starts_with('#')), "{text}");
    assert!(text.contains("== objects"), "{text}");
    let objects: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("tsi=1 toi="))
        .collect();
    assert_eq!(objects.len(), 3, "{text}");
    assert!(
        objects.iter().any(|l| l.ends_with("file:///beta.bin")),
        "{text}"
    );
}

#[test]
fn json_prints_only_json_events() {
    let dir = TempDir::new("inspect-json");
    let pcap = session(&dir.0, "s", &["--fec", "rs28"]);
    let o = inspect(&["--json"], &pcap);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}");
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        *kinds
            .entry(v["event"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(kinds["packet"] > 20, "{kinds:?}");
    assert_eq!(kinds["fdt"], 1, "{kinds:?}");
    assert_eq!(kinds["object"], 3, "{kinds:?}");
    assert_eq!(kinds["summary"], 1, "{kinds:?}");
    let fdt = text
        .lines()
        .find(|l| l.contains("\"event\":\"fdt\""))
        .unwrap();
    assert!(fdt.contains("\"location\":\"file:///alpha.txt\""), "{fdt}");
}

#[test]
fn tsi_and_toi_filters_keep_only_those_packets() {
    let dir = TempDir::new("inspect-filter");
    let pcap = session(&dir.0, "s", &[]);
    let o = inspect(&["--toi", "2"], &pcap);
    let text = stdout(&o);
    let packets: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert!(!packets.is_empty(), "{text}");
    assert!(packets.iter().all(|l| l.contains(" toi=2 ")), "{text}");
    assert!(!text.contains("FDT instance 1:"), "{text}");
    let objects: Vec<&str> = text.lines().filter(|l| l.starts_with("tsi=")).collect();
    assert_eq!(objects.len(), 1, "{text}");
    assert!(objects[0].ends_with("file:///beta.bin"), "{text}");
    let o = inspect(&["--tsi", "2"], &pcap);
    let text = stdout(&o);
    assert!(!text.lines().any(|l| l.starts_with('#')), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("tsi=")), "{text}");
}

#[test]
fn a_truncated_capture_is_shown_up_to_its_last_frame_with_its_summary_and_exit_1() {
    let dir = TempDir::new("inspect-truncated");
    let pcap = session(&dir.0, "s", &[]);
    let bytes = std::fs::read(&pcap).unwrap();
    let cut = dir.0.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let o = inspect(&[], &cut);
    let text = stdout(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{text}\n{err}");
    assert!(
        text.lines().filter(|l| l.starts_with('#')).count() > 5,
        "{text}"
    );
    assert!(text.contains("== objects"), "{text}");
    assert!(
        text.contains("capture stopped: capture truncated"),
        "{text}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("truncated"), "{err}");
    let o = inspect(&["--json", "--summary"], &cut);
    assert_eq!(o.status.code(), Some(1));
    let last = stdout(&o).lines().last().unwrap().to_owned();
    assert!(last.contains("\"stopped\":\"capture truncated"), "{last}");
}
