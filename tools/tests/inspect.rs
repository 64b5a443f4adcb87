//! `xflute inspect` on a capture of a real `flute` 1.11.7 session.

use std::process::Command;

mod common;
use common::{TempDir, flute_capture, test_objects};

#[test]
fn inspect_lists_every_packet_decodes_the_fdt_and_sums_up_objects() {
    let dir = TempDir::new("inspect");
    let pcap = dir.0.join("flute.pcap");
    let packets = flute_capture(&pcap, &test_objects(), flute::core::lct::Cenc::Gzip);
    let out = Command::new(env!("CARGO_BIN_EXE_xflute"))
        .arg("inspect")
        .arg(&pcap)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let packet_lines = stdout.lines().filter(|l| l.starts_with('#')).count();
    assert_eq!(packet_lines, packets, "{stdout}");
    assert!(stdout.contains("tsi=7 toi=0"), "{stdout}");
    assert!(stdout.contains("ext=[FDT(v2,"), "{stdout}");
    assert!(stdout.contains("CENC(gzip)"), "{stdout}");
    assert!(stdout.contains("files=2"), "{stdout}");
    assert!(stdout.contains("file:///a.bin length=5000"), "{stdout}");
    assert!(stdout.contains("file:///dir/b.txt length=10"), "{stdout}");
    assert!(stdout.contains("0 malformed ALC"), "{stdout}");
    assert!(stdout.contains("(0 incomplete)"), "{stdout}");
}

#[test]
fn inspect_of_a_missing_file_is_one_clear_line_and_a_failure() {
    let out = Command::new(env!("CARGO_BIN_EXE_xflute"))
        .args(["inspect", "/nonexistent/x.pcap"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("xflute: opening /nonexistent/x.pcap"),
        "{stderr}"
    );
}
