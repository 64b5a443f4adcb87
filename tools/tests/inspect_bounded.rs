//! `inspect` stays small on a crafted capture of many new FDT instances, each declaring the
//! largest FDT it accepts (issue 18, class 6): instances are reassembled with the receiver's
//! bounded assembler, which allocates only what arrives, and no more than a fixed number at once.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use xflute_tests::hostile::{fdt_packet as hostile_fdt_packet, no_code_oti};

const BIN: &str = env!("CARGO_BIN_EXE_xflute");

/// The first packet of FDT instance `id`, declaring 16 MiB (the most `inspect` accepts).
fn fdt_packet(id: u32) -> Vec<u8> {
    hostile_fdt_packet(1, id, no_code_oti(16 << 20, 1400, 64), None)
}

/// The largest resident set of `pid` seen while it runs, KiB.
fn peak_rss_kib(child: &mut std::process::Child) -> u64 {
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", child.id())) {
            let rss = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0);
            peak = peak.max(rss);
        }
        if child.try_wait().unwrap().is_some() {
            return peak;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn inspect_of_thousands_of_new_fdt_instances_declaring_16_mib_each_stays_small() {
    let dir = std::env::temp_dir().join(format!("xflute-inspect-bounded-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let capture = dir.join("fdts.pcap");
    // 4000 instances of 16 MiB each: 64 GiB if each were held at its declared size.
    common::udp_capture(&capture, (1..=4000u32).map(fdt_packet));
    let mut child = Command::new(BIN)
        .args(["inspect", "--summary"])
        .arg(&capture)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let peak = peak_rss_kib(&mut child);
    let status = child.wait().unwrap();
    assert!(
        status.code().is_some(),
        "inspect died of a signal: {status}"
    );
    assert!(peak < 256 << 10, "inspect peaked at {peak} KiB");
    let _ = std::fs::remove_dir_all(&dir);
}
