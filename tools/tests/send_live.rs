//! `xflute send` on the wire as a user runs it, between two network namespaces (root): a send
//! that completes exits 0 over UDP, over AF_XDP and as a carousel, and says nothing of an
//! interruption; an interrupted one exits 1; `--backend xdp` without `--source` sends from the
//! interface's own address (IPv4 and IPv6), which a source-specific receiver accepts; `--json`
//! gives start, stats and summary events.

#[path = "common/cli.rs"]
mod cli;

use cli::{Proc, all_received, make_files, s};
use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;
use xflute_tests::TempDir;
use xflute_tests::netns::{NetnsPair, PairConfig, Side};

type Files = Vec<(std::path::PathBuf, [u8; 32])>;

fn receiver(
    pair: &NetnsPair,
    group: &str,
    source: Option<&str>,
    out: &Path,
    count: usize,
    log: &Path,
) -> Proc {
    let mut args = s(&[
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
    ]);
    if let Some(source) = source {
        args.extend(s(&["--source", source]));
    }
    let proc = Proc::spawn(pair, Side::Receiver, &args, log);
    // The receiver joins the group before the first packet.
    std::thread::sleep(Duration::from_millis(500));
    proc
}

/// Runs `send` with `args` then the files in the sender's namespace; returns its status and
/// output.
fn send(pair: &NetnsPair, args: &[&str], files: &Files, log: &Path) -> (ExitStatus, String) {
    let mut all = s(&["send", "--iface", &pair.sender.interface]);
    all.extend(s(args));
    all.extend(files.iter().map(|(p, _)| p.display().to_string()));
    let mut sender = Proc::spawn(pair, Side::Sender, &all, log);
    let status = sender
        .wait_for(Duration::from_secs(60))
        .unwrap_or_else(|| panic!("send still running:\n{}", sender.output()));
    (status, sender.output())
}

fn assert_clean_exit(status: ExitStatus, log: &str) {
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(!log.contains("(interrupted)"), "{log}");
    assert!(!log.contains("the transfer is incomplete"), "{log}");
}

/// A send of `backend` (once or as a carousel) to a UDP receiver; both must end complete.
fn complete_send(name: &str, backend: &str, extra: &[&str]) {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new(name);
    let files = make_files(&dir.0.join("in"), &[700_000, 30_000, 1], 5);
    let out = dir.0.join("out");
    let group = "239.7.7.1:3400";
    let mut recv = receiver(
        &pair,
        group,
        None,
        &out,
        files.len(),
        &dir.0.join("recv.log"),
    );
    let mut args = vec!["--backend", backend, "--dest", group, "--rate", "100M"];
    args.extend(extra);
    let (status, log) = send(&pair, &args, &files, &dir.0.join("send.log"));
    assert_clean_exit(status, &log);
    let recv_status = recv.wait_for(Duration::from_secs(30));
    let recv_log = recv.output();
    assert_eq!(
        recv_status.and_then(|s| s.code()),
        Some(0),
        "{recv_log}\n{log}"
    );
    assert!(all_received(&files, &out), "{recv_log}");
    pair.close();
}

#[test]
fn a_complete_udp_send_exits_0_without_interrupted_or_incomplete() {
    complete_send("send-udp-exit", "udp", &[]);
}

#[test]
fn a_complete_xdp_send_exits_0_without_interrupted_or_incomplete() {
    complete_send("send-xdp-exit", "xdp", &[]);
}

#[test]
fn a_carousel_that_runs_its_time_exits_0() {
    complete_send("send-carousel-exit", "udp", &["--carousel", "2s"]);
}

#[test]
fn a_send_stopped_by_sigint_exits_1_and_says_interrupted() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("send-sigint");
    let files = make_files(&dir.0.join("in"), &[100_000], 6);
    let mut args = s(&[
        "send",
        "--iface",
        &pair.sender.interface,
        "--backend",
        "udp",
        "--dest",
        "239.7.7.2:3400",
        "--rate",
        "10M",
        "--carousel",
        "60s",
    ]);
    args.extend(files.iter().map(|(p, _)| p.display().to_string()));
    let mut sender = Proc::spawn(&pair, Side::Sender, &args, &dir.0.join("send.log"));
    std::thread::sleep(Duration::from_millis(700));
    let status = sender.interrupt();
    let log = sender.output();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("(interrupted)"), "{log}");
    pair.close();
}

/// `send --backend xdp` without `--source` to a source-specific UDP receiver that only takes
/// packets from the sender's own address of the group's family.
fn xdp_default_source(v6: bool) {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new(if v6 { "xdp-src6" } else { "xdp-src4" });
    let files = make_files(&dir.0.join("in"), &[300_000, 5], 7);
    let out = dir.0.join("out");
    let (group, source) = if v6 {
        ("[ff3e::8000:7]:5000", pair.sender.ipv6.to_string())
    } else {
        ("232.7.7.3:5000", pair.sender.ipv4.to_string())
    };
    let mut recv = receiver(
        &pair,
        group,
        Some(&source),
        &out,
        files.len(),
        &dir.0.join("recv.log"),
    );
    let (status, log) = send(
        &pair,
        &[
            "--backend",
            "xdp",
            "--dest",
            group,
            "--rate",
            "100M",
            "--carousel",
            "4s",
        ],
        &files,
        &dir.0.join("send.log"),
    );
    assert_clean_exit(status, &log);
    let recv_status = recv.wait_for(Duration::from_secs(10));
    let recv_log = recv.output();
    assert_eq!(
        recv_status.and_then(|s| s.code()),
        Some(0),
        "the SSM receiver for {source} got nothing:\n{recv_log}\n{log}"
    );
    assert!(all_received(&files, &out), "{recv_log}");
    pair.close();
}

#[test]
fn xdp_send_without_source_uses_the_interface_ipv4_address() {
    xdp_default_source(false);
}

#[test]
fn xdp_send_without_source_uses_the_interface_ipv6_address() {
    xdp_default_source(true);
}

#[test]
fn send_json_prints_start_periodic_stats_and_summary_events() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("send-json");
    let files = make_files(&dir.0.join("in"), &[50_000], 8);
    let (status, log) = send(
        &pair,
        &[
            "--backend",
            "udp",
            "--dest",
            "239.7.7.4:3400",
            "--rate",
            "10M",
            "--carousel",
            "2500ms",
            "--json",
        ],
        &files,
        &dir.0.join("send.log"),
    );
    assert_clean_exit(status, &log);
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}\n{log}")))
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"start"), "{log}");
    assert_eq!(names.last(), Some(&"summary"), "{log}");
    assert!(
        names.iter().filter(|n| **n == "stats").count() >= 2,
        "{log}"
    );
    for e in &events {
        assert!(e["time"].as_str().unwrap().ends_with('Z'), "{e}");
    }
    let summary = events.last().unwrap();
    assert!(summary["packets"].as_u64().unwrap() > 0, "{summary}");
    assert_eq!(summary["complete"], true, "{summary}");
    pair.close();
}

#[test]
fn send_on_a_terminal_shows_a_progress_line() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("send-tty");
    let files = make_files(&dir.0.join("in"), &[200_000], 9);
    let command = format!(
        "{} send --backend udp --iface {} --dest 239.7.7.5:3400 --rate 5M --carousel 1500ms {}",
        cli::BIN,
        pair.sender.interface,
        files[0].0.display()
    );
    // script(1) gives the command a terminal, as an interactive shell would.
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &pair.sender.netns, "script", "-qec"])
        .arg(&command)
        .arg("/dev/null")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("packets, ") && text.contains("of ALC payload"),
        "no progress line on the terminal:\n{text}"
    );
    pair.close();
}
