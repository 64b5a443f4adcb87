//! The `xflute` binary on the wire, between two network namespaces joined by a veth pair
//! (needs root, as CI runs): AF_XDP → AF_XDP with injected loss (no-code, Reed-Solomon, RaptorQ), the UDP backend with SSM over
//! IPv4 and IPv6, SIGINT in the middle of a transfer; and `send --pcap-out` → `recv --pcap` →
//! `inspect` on the same capture.

#[path = "common/cli.rs"]
mod cli;

use cli::{BIN, make_files, s, sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use xflute_tests::TempDir;
use xflute_tests::netns::{NetnsPair, PairConfig, Side};

/// Starts the binary inside `side`'s namespace (`ip netns exec` execs it: the child's pid is
/// xflute's).
fn spawn_in(pair: &NetnsPair, side: Side, args: &[String]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", &pair.end(side).netns, BIN])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` up to `limit`, sampling its RssAnon (KiB); returns its status, if it
/// ended, and the largest RssAnon seen.
fn wait_sampling(child: &mut Child, limit: Duration) -> (Option<ExitStatus>, u64) {
    let start = Instant::now();
    let mut max_rss_kib = 0;
    let status_path = format!("/proc/{}/status", child.id());
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(kib) = status
                .lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        {
            max_rss_kib = max_rss_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (Some(status), max_rss_kib);
        }
        if start.elapsed() >= limit {
            return (None, max_rss_kib);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn interrupt(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT failed");
}

fn output_of(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_all_received(files: &[(PathBuf, [u8; 32])], out: &Path) {
    for (path, digest) in files {
        let got = out.join(path.file_name().unwrap());
        assert_eq!(
            sha256(&got).as_ref(),
            Some(digest),
            "{} differs or is missing",
            got.display()
        );
    }
}

/// Runs recv then send (carousel) in the pair; stops the sender when the receiver is done.
/// Returns the receiver's exit status, its largest RssAnon in KiB, and both outputs.
fn transfer(
    pair: &NetnsPair,
    recv_args: Vec<String>,
    send_args: Vec<String>,
    limit: Duration,
) -> (ExitStatus, u64, String) {
    let mut receiver = spawn_in(pair, Side::Receiver, &recv_args);
    // The receiver attaches its program and binds its sockets before the first packet.
    std::thread::sleep(Duration::from_millis(500));
    let sender = spawn_in(pair, Side::Sender, &send_args);
    let (status, rss) = wait_sampling(&mut receiver, limit);
    interrupt(&sender);
    let sent = output_of(sender);
    let received = output_of(receiver);
    let status = status.unwrap_or_else(|| panic!("receiver still running:\n{received}\n{sent}"));
    (
        status,
        rss,
        format!("receiver:\n{received}\nsender:\n{sent}"),
    )
}

/// Files of `sizes` XDP → XDP with 5% injected loss, objects coded with `fec` (send options)
/// and repeated as a carousel; every SHA-256 must match and the receiver's RssAnon stay within
/// 64 MiB. `recv_extra` are more receive options.
fn xdp_transfer(name: &str, sizes: &[usize], fec: &[&str], recv_extra: &[&str]) -> String {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new(name);
    let files = make_files(&dir.0.join("in"), sizes, 1);
    let out = dir.0.join("out");
    let mut send_args = s(&[
        "send",
        "--backend",
        "xdp",
        "--iface",
        &pair.sender.interface,
        "--source",
        &pair.sender.ipv4.to_string(),
        "--dest",
        "239.9.9.9:3400",
        "--carousel",
        "60s",
    ]);
    send_args.extend(s(fec));
    send_args.extend(files.iter().map(|(p, _)| p.display().to_string()));
    let mut recv_args = s(&[
        "recv",
        "--backend",
        "xdp",
        "--iface",
        &pair.receiver.interface,
        "--group",
        "239.9.9.9:3400",
        "--out",
        out.to_str().unwrap(),
        "--count",
        &files.len().to_string(),
        "--timeout",
        "60s",
        "--inject-loss",
        "0.05",
        "--json",
    ]);
    recv_args.extend(s(recv_extra));
    let (status, rss_kib, log) = transfer(&pair, recv_args, send_args, Duration::from_secs(90));
    assert!(status.success(), "{log}");
    assert_all_received(&files, &out);
    assert!(log.contains("\"event\":\"summary\""), "{log}");
    let dropped: u64 = log
        .split("\"xdp_dropped\":")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(dropped > 0, "the XDP program injected no loss: {log}");
    eprintln!("{name}: receiver RssAnon peak: {rss_kib} KiB");
    assert!(
        rss_kib > 0 && rss_kib <= 64 * 1024,
        "receiver RssAnon peaked at {rss_kib} KiB"
    );
    pair.close();
    log
}

#[test]
fn xdp_to_xdp_files_with_5pct_injected_loss_and_carousel_all_match_sha256_receiver_rss_anon_under_64mib()
 {
    let mut sizes = vec![24 << 20];
    sizes.extend((0..20).map(|i| (1 << 20) - i * 1111));
    sizes.push(1);
    xdp_transfer("xdp", &sizes, &["--fec", "none"], &[]);
}

#[test]
fn xdp_to_xdp_reed_solomon_files_with_5pct_injected_loss_all_match_sha256_the_large_one_in_the_spool()
 {
    let mut sizes = vec![8 << 20];
    sizes.extend((0..8).map(|i| 500_000 + i * 3333));
    let log = xdp_transfer(
        "xdp-rs",
        &sizes,
        &["--fec", "rs28", "--repair-pct", "25"],
        &["--spool", "12M"],
    );
    // The 8 MiB object took the 12 MiB piece (and was trimmed: its SHA-256 matched); the
    // small ones took the usual path.
    assert!(log.contains("\"spool_taken\":1,"), "{log}");
    assert!(log.contains("\"spool_fill_failures\":0,"), "{log}");
}

#[test]
fn xdp_to_xdp_raptorq_files_with_5pct_injected_loss_all_match_sha256() {
    let mut sizes = vec![8 << 20];
    sizes.extend((0..8).map(|i| 500_000 + i * 3333));
    xdp_transfer(
        "xdp-raptorq",
        &sizes,
        &["--fec", "raptorq", "--repair-pct", "25"],
        &[],
    );
}

fn udp_ssm(v6: bool) {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new(if v6 { "udp6" } else { "udp4" });
    let files = make_files(&dir.0.join("in"), &[3 << 20, 100_000, 7], 1);
    let out = dir.0.join("out");
    let (group, source) = if v6 {
        (
            "[ff3e::8000:1]:5000".to_owned(),
            pair.sender.ipv6.to_string(),
        )
    } else {
        ("232.1.1.1:5000".to_owned(), pair.sender.ipv4.to_string())
    };
    let mut send_args = s(&[
        "send",
        "--backend",
        "udp",
        "--iface",
        &pair.sender.interface,
        "--source",
        &source,
        "--dest",
        &group,
        "--rate",
        "400M",
        "--carousel",
        "60s",
    ]);
    send_args.extend(files.iter().map(|(p, _)| p.display().to_string()));
    let recv_args = s(&[
        "recv",
        "--backend",
        "udp",
        "--iface",
        &pair.receiver.interface,
        "--group",
        &group,
        "--source",
        &source,
        "--out",
        out.to_str().unwrap(),
        "--count",
        &files.len().to_string(),
        "--timeout",
        "60s",
    ]);
    let (status, _, log) = transfer(&pair, recv_args, send_args, Duration::from_secs(90));
    assert!(status.success(), "{log}");
    assert_all_received(&files, &out);
    pair.close();
}

#[test]
fn udp_backend_ipv4_ssm_end_to_end_files_match() {
    udp_ssm(false);
}

#[test]
fn udp_backend_ipv6_ssm_end_to_end_files_match() {
    udp_ssm(true);
}

#[test]
fn sigint_mid_transfer_exits_within_a_second_no_partial_file_under_a_final_name_no_xdp_left() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("sigint");
    let mut sizes = vec![48 << 20];
    sizes.extend([200_000, 300_000]);
    let files = make_files(&dir.0.join("in"), &sizes, 1);
    let out = dir.0.join("out");
    let mut send_args = s(&[
        "send",
        "--backend",
        "xdp",
        "--iface",
        &pair.sender.interface,
        "--source",
        &pair.sender.ipv4.to_string(),
        "--dest",
        "239.9.9.8:3400",
        "--rate",
        "100M",
        "--carousel",
        "60s",
    ]);
    send_args.extend(files.iter().map(|(p, _)| p.display().to_string()));
    let recv_args = s(&[
        "recv",
        "--backend",
        "xdp",
        "--iface",
        &pair.receiver.interface,
        "--group",
        "239.9.9.8:3400",
        "--out",
        out.to_str().unwrap(),
        "--timeout",
        "60s",
    ]);
    let mut receiver = spawn_in(&pair, Side::Receiver, &recv_args);
    std::thread::sleep(Duration::from_millis(500));
    let mut sender = spawn_in(&pair, Side::Sender, &send_args);
    // Wait until the large file is being written.
    let start = Instant::now();
    // Its temporary file is `.file-000.bin.xflute-<tsi>-<toi>-<random>.part`.
    let receiving = || {
        std::fs::read_dir(&out)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(".file-000.bin.") && name.ends_with(".part")
            })
    };
    while !receiving() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the transfer never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    for (name, child) in [("receiver", &mut receiver), ("sender", &mut sender)] {
        interrupt(child);
        let t0 = Instant::now();
        let (status, _) = wait_sampling(child, Duration::from_secs(5));
        let took = t0.elapsed();
        assert!(status.is_some(), "{name} did not exit after SIGINT");
        assert!(
            took < Duration::from_secs(1),
            "{name} took {took:?} to exit after SIGINT"
        );
    }
    let log = output_of(receiver);
    let _ = output_of(sender);
    // Whatever is under a final name is complete; nothing else is left, not even a .part file.
    let mut left = Vec::new();
    for entry in std::fs::read_dir(&out).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".part"), "{name} left behind: {log}");
        let (_, digest) = files
            .iter()
            .find(|(p, _)| p.file_name().unwrap().to_string_lossy() == name)
            .unwrap_or_else(|| panic!("unexpected file {name}"));
        assert_eq!(sha256(&entry.path()).as_ref(), Some(digest), "{name}");
        left.push(name);
    }
    assert!(
        !left.contains(&"file-000.bin".to_owned()),
        "the large file cannot be complete at 100 Mbit/s: {log}"
    );
    for side in [Side::Sender, Side::Receiver] {
        let links = pair.links(side);
        assert!(!links.contains(" xdp"), "XDP left attached: {links}");
    }
    pair.close();
}

#[test]
fn send_pcap_out_then_recv_pcap_and_inspect_read_the_same_capture() {
    let dir = TempDir::new("pcap");
    let files = make_files(&dir.0.join("in"), &[50_000, 3], 1);
    let pcap = dir.0.join("s.pcap");
    let out = dir.0.join("out");
    let mut args = vec![
        "send".to_owned(),
        "--pcap-out".into(),
        pcap.display().to_string(),
        "--dest".into(),
        "239.1.2.3:4000".into(),
    ];
    args.extend(files.iter().map(|(p, _)| p.display().to_string()));
    let sent = Command::new(BIN).args(&args).output().unwrap();
    assert!(sent.status.success());
    let recv = Command::new(BIN)
        .args(["recv", "--pcap", pcap.to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        recv.status.success(),
        "{}",
        String::from_utf8_lossy(&recv.stderr)
    );
    assert_all_received(&files, &out);
    let inspect = Command::new(BIN)
        .args(["inspect", pcap.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(inspect.status.success());
    let text = String::from_utf8_lossy(&inspect.stdout);
    for (path, _) in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            text.contains(&name),
            "inspect does not show {name}:\n{text}"
        );
    }
}

#[test]
fn usage_errors_exit_with_code_2_on_one_line() {
    let out = Command::new(BIN)
        .args(["recv", "--out", "/tmp/xflute-none", "--backend", "udp"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = Command::new(BIN)
        .args(["send", "/etc/hostname", "--backend", "xdp"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
