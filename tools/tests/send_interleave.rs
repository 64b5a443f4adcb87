//! `xflute send --interleave-blocks`: the order of (SBN, ESI) on the wire, read back from the
//! capture `send --pcap-out` writes.

use std::ffi::OsString;
use std::path::Path;

mod common;
use common::{TempDir, xflute};
use xflute::io::frame::parse_udp;
use xflute::io::pcap::PcapReader;
use xflute::wire::AlcPacket;
use xflute_tests::data::random_bytes;

/// Symbols of 100 bytes, blocks of 8 source and 2 repair symbols: the 6400-byte object makes
/// 8 blocks of 10 encoding symbols each.
const SYMBOL_LEN: usize = 100;
const BLOCK_LEN: u32 = 8;
const REPAIR: u32 = 2;
const BLOCKS: u32 = 8;

/// The (SBN, ESI) of each packet of the object (TOI 1) in `send`'s capture, in wire order.
fn object_order(dir: &Path, interleave: Option<&str>) -> Vec<(u32, u32)> {
    let input = dir.join("object.bin");
    std::fs::write(
        &input,
        random_bytes(SYMBOL_LEN * (BLOCK_LEN * BLOCKS) as usize, 7),
    )
    .unwrap();
    let pcap = dir.join("session.pcap");
    let mut args: Vec<OsString> = [
        "send",
        "--fec",
        "rs28",
        "--symbol-len",
        &SYMBOL_LEN.to_string(),
        "--block-len",
        &BLOCK_LEN.to_string(),
        "--repair",
        &REPAIR.to_string(),
        "--pcap-out",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(pcap.clone().into());
    if let Some(n) = interleave {
        args.extend(["--interleave-blocks".into(), n.into()]);
    }
    args.push(input.into());
    let (ok, stdout, stderr) = xflute(&args);
    assert!(ok, "send: {stdout}\n{stderr}");
    let mut reader = PcapReader::new(std::fs::File::open(&pcap).unwrap()).unwrap();
    let mut order = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        let udp = parse_udp(frame.link.unwrap(), frame.data).unwrap();
        let alc = AlcPacket::parse(udp.payload).unwrap();
        if alc.lct().toi == 1 {
            let id = alc.payload_id().unwrap();
            order.push((id.sbn, id.esi));
        }
    }
    order
}

/// What a window of `w` equal blocks sends: the blocks `w` at a time, each window symbol by
/// symbol in turn.
fn interleaved(w: u32) -> Vec<(u32, u32)> {
    let sbns: Vec<u32> = (0..BLOCKS).collect();
    let mut order = Vec::new();
    for window in sbns.chunks(w as usize) {
        for esi in 0..BLOCK_LEN + REPAIR {
            order.extend(window.iter().map(|&sbn| (sbn, esi)));
        }
    }
    order
}

#[test]
fn blocks_go_out_interleaved_as_asked_and_four_at_a_time_by_default() {
    let dir = TempDir::new("send-interleave");
    for (flag, w) in [(Some("3"), 3), (Some("8"), 8), (None, 4)] {
        let order = object_order(&dir.0, flag);
        assert_eq!(order, interleaved(w), "--interleave-blocks {flag:?}");
    }
}

#[test]
fn one_sends_block_after_block() {
    let dir = TempDir::new("send-interleave-one");
    let order = object_order(&dir.0, Some("1"));
    let sequential: Vec<(u32, u32)> = (0..BLOCKS)
        .flat_map(|sbn| (0..BLOCK_LEN + REPAIR).map(move |esi| (sbn, esi)))
        .collect();
    assert_eq!(order, sequential);
    assert_eq!(order, interleaved(1));
}

#[test]
fn zero_is_a_usage_error() {
    let dir = TempDir::new("send-interleave-zero");
    let input = dir.0.join("x.bin");
    std::fs::write(&input, b"x").unwrap();
    let pcap = dir.0.join("x.pcap");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xflute"))
        .args(["send", "--interleave-blocks", "0", "--pcap-out"])
        .arg(&pcap)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--interleave-blocks"), "{stderr}");
    assert!(!pcap.exists());
}
