//! The receiver says why it dropped what it dropped: `recv --pcap` on a capture of packets that
//! are not ALC, and of ALC packets of a FEC scheme it cannot decode, names each reason with its
//! count, in text and in the JSON summary (issue 18, "reasons hidden").

mod common;

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_xflute");

#[test]
fn recv_pcap_names_each_drop_reason_with_its_count() {
    let dir = std::env::temp_dir().join(format!("xflute-drop-reasons-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let capture = dir.join("garbage.pcap");
    // Version 0, not an LCT header: malformed.
    common::udp_capture(&capture, (0..5).map(|_| vec![0u8, 1, 2, 3, 4, 5, 6, 7]));

    let json = Command::new(BIN)
        .args(["recv", "--json", "--pcap"])
        .arg(&capture)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&json.stdout);
    let summary = stdout
        .lines()
        .find(|l| l.contains("\"event\":\"summary\""))
        .unwrap_or_else(|| panic!("no summary: {stdout}"));
    let v: serde_json::Value = serde_json::from_str(summary).unwrap();
    assert_eq!(v["dropped"], 5, "{summary}");
    let reasons = v["drop_reasons"].as_object().unwrap();
    assert_eq!(
        reasons.values().map(|n| n.as_u64().unwrap()).sum::<u64>(),
        5,
        "{summary}"
    );
    assert!(reasons.contains_key("malformed"), "{summary}");

    let text = Command::new(BIN)
        .args(["recv", "--pcap"])
        .arg(&capture)
        .arg("--out")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(out.contains("dropped as malformed 5"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
