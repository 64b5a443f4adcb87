//! `xflute recv`'s own memory under the packets that once took gigabytes (issue 18, class 4):
//! thousands of FDT instances that each declare the largest size the FDT cap allows, with
//! gzip content encoding or one-byte symbols. Read from a capture, they may cost the process
//! no more anonymous memory (RssAnon, polled while it runs) than the receiver's budget for
//! unverified input (`Limits::max_memory_bytes`, 48 MiB) plus 8 MiB for what the budget does
//! not count (allocator metadata, the fixed part of sessions and instances) above what the
//! same number of harmless packets costs it, measured in the same test; and never more than
//! the 64 MiB the receiver promises. The run ends by itself, not by a signal, with nothing
//! under a final name.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TempDir, udp_capture};
use xflute::cenc::Cenc;
use xflute_tests::hostile::{fdt_packet, no_code_oti as no_code};

/// Runs `xflute recv --pcap capture --out out`; (exit status, peak RssAnon in KiB, stdout).
fn recv_peak(capture: &Path, out: &Path) -> (std::process::ExitStatus, u64, String) {
    let log = out.with_extension("log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_xflute"))
        .arg("recv")
        .arg("--pcap")
        .arg(capture)
        .arg("--out")
        .arg(out)
        .arg("--json")
        .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let give_up = Instant::now() + Duration::from_secs(120);
    let mut peak = 0;
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", child.id())) {
            let anon = status
                .lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0);
            peak = peak.max(anon);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > give_up {
            let _ = child.kill();
            let _ = child.wait();
            panic!("xflute recv --pcap still runs after 120 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    (
        status,
        peak,
        std::fs::read_to_string(&log).unwrap_or_default(),
    )
}

#[test]
fn recv_of_fdt_instances_declaring_gigabytes_stays_within_its_memory_budget() {
    let dir = TempDir::new("hostile-memory");
    let cap = 4u64 << 20;
    let mut hostile = Vec::new();
    // 2048 gzip instances of 4 MiB (256 sessions of 8): 8 GiB when each was zero-filled.
    for tsi in 0..256u64 {
        for id in 0..8u32 {
            hostile.push(fdt_packet(
                tsi,
                id,
                no_code(cap, 1000, 16),
                Some(Cenc::Gzip),
            ));
        }
    }
    // 384 instances of one-byte symbols, each with 4 Mi blocks of bookkeeping: 7 GiB once.
    for i in 0..384u64 {
        hostile.push(fdt_packet(
            1000 + i / 8,
            (i % 8) as u32,
            no_code(cap, 1, 1),
            None,
        ));
    }
    // As many harmless packets: one small instance of one session, repeated.
    let harmless: Vec<Vec<u8>> = (0..hostile.len())
        .map(|_| fdt_packet(1, 1, no_code(500, 1000, 16), None))
        .collect();
    let (hostile_cap, harmless_cap) = (dir.0.join("hostile.pcap"), dir.0.join("harmless.pcap"));
    udp_capture(&hostile_cap, hostile);
    udp_capture(&harmless_cap, harmless);

    let (status, baseline, _) = recv_peak(&harmless_cap, &dir.0.join("out-harmless"));
    assert!(status.code().is_some(), "recv ended by a signal: {status}");
    let out = dir.0.join("out-hostile");
    let (status, peak, log) = recv_peak(&hostile_cap, &out);
    assert!(
        status.code().is_some(),
        "recv ended by a signal: {status}\n{log}"
    );
    let (budget_kib, uncounted_kib, promise_kib) = (48 * 1024, 8 * 1024, 64 * 1024);
    eprintln!("peak RssAnon: {peak} KiB hostile, {baseline} KiB harmless");
    assert!(
        peak <= baseline + budget_kib + uncounted_kib,
        "peak RssAnon {peak} KiB, harmless {baseline} KiB: more than the 48 MiB budget and 8 MiB above it\n{log}"
    );
    assert!(
        peak <= promise_kib,
        "peak RssAnon {peak} KiB: over 64 MiB\n{log}"
    );
    let finals: Vec<_> = walk(&out);
    assert!(
        finals.is_empty(),
        "files under {}: {finals:?}",
        out.display()
    );
}

/// Every file below `dir` (none if it does not exist).
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
