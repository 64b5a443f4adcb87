//! `--json` as docs/cli-json.md describes it, run as a user runs the binary: `recv --pcap
//! --json` prints JSON events (not text), each on its line with an `event` and a `time`;
//! `completed` carries the local path; a live receiver prints periodic `stats` events; a file
//! sent again under the same TOI with new content gets its own `completed` event.

#[path = "common/cli.rs"]
mod cli;

use cli::{Proc, make_files, s, sha256};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use xflute_tests::TempDir;
use xflute_tests::netns::{NetnsPair, PairConfig, Side};

/// Every line of `stdout` as a JSON event with a name and a UTC time.
fn events(stdout: &str) -> Vec<Value> {
    assert!(!stdout.trim().is_empty(), "no output");
    stdout
        .lines()
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}\n{stdout}"));
            assert!(v["event"].is_string(), "{l}");
            let time = v["time"].as_str().unwrap_or_else(|| panic!("no time: {l}"));
            assert!(time.len() == 27 && time.ends_with('Z'), "{l}");
            v
        })
        .collect()
}

fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

/// `send --pcap-out` of `files` with `extra` options.
fn send_pcap(pcap: &Path, files: &[PathBuf], extra: &[&str]) {
    let out = Command::new(cli::BIN)
        .args(["send", "--pcap-out", pcap.to_str().unwrap()])
        .args(extra)
        .args(files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

fn recv_pcap_json(pcap: &Path, out: &Path) -> (Option<i32>, String) {
    let o = Command::new(cli::BIN)
        .args(["recv", "--json", "--pcap", pcap.to_str().unwrap(), "--out"])
        .arg(out)
        .output()
        .unwrap();
    (
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn recv_pcap_json_prints_events_whose_completed_carry_the_local_path() {
    let dir = TempDir::new("json-pcap");
    let files = make_files(&dir.0.join("in"), &[40_000, 3], 21);
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let pcap = dir.0.join("s.pcap");
    send_pcap(&pcap, &paths, &[]);
    let out = dir.0.join("out");
    let (code, stdout) = recv_pcap_json(&pcap, &out);
    assert_eq!(code, Some(0), "{stdout}");
    let events = events(&stdout);
    let completed = named(&events, "completed");
    assert_eq!(completed.len(), files.len(), "{stdout}");
    for e in completed {
        let path = Path::new(e["path"].as_str().unwrap());
        let (_, digest) = files
            .iter()
            .find(|(p, _)| p.file_name() == path.file_name())
            .unwrap();
        assert!(path.starts_with(&out), "{e}");
        assert_eq!(sha256(path).as_ref(), Some(digest), "{e}");
        assert!(e["location"].as_str().unwrap().starts_with("file:///"));
        assert!(e["toi"].is_u64() && e["bytes"].is_u64(), "{e}");
    }
    let summary = named(&events, "summary");
    assert_eq!(summary.len(), 1, "{stdout}");
    assert_eq!(summary[0]["completed"], 2);
    assert_eq!(summary[0]["incomplete"], 0);
}

#[test]
fn a_file_sent_again_under_the_same_toi_with_new_content_completes_again() {
    let dir = TempDir::new("json-resend");
    let name = dir.0.join("in").join("news.txt");
    std::fs::create_dir_all(name.parent().unwrap()).unwrap();
    let first = dir.0.join("first.pcap");
    let second = dir.0.join("second.pcap");
    std::fs::write(&name, b"the first edition").unwrap();
    send_pcap(&first, std::slice::from_ref(&name), &["--toi-start", "5"]);
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&name, b"the second edition, longer").unwrap();
    send_pcap(&second, std::slice::from_ref(&name), &["--toi-start", "5"]);
    // Both sessions in one capture, as a receiver on the wire would have seen them.
    let mut both = std::fs::read(&first).unwrap();
    both.extend_from_slice(&std::fs::read(&second).unwrap()[24..]);
    let pcap = dir.0.join("both.pcap");
    std::fs::write(&pcap, both).unwrap();
    let out = dir.0.join("out");
    let (code, stdout) = recv_pcap_json(&pcap, &out);
    assert_eq!(code, Some(0), "{stdout}");
    let events = events(&stdout);
    let completed = named(&events, "completed");
    assert_eq!(completed.len(), 2, "{stdout}");
    for e in &completed {
        assert_eq!(e["toi"], 5, "{e}");
    }
    assert_eq!(completed[0]["bytes"], 17);
    assert_eq!(completed[1]["bytes"], 26);
    assert_eq!(
        std::fs::read(out.join("news.txt")).unwrap(),
        b"the second edition, longer"
    );
}

#[test]
fn a_live_receiver_prints_periodic_stats_and_completed_events_with_paths() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("json-live");
    let files = make_files(&dir.0.join("in"), &[1_000_000, 10], 22);
    let out = dir.0.join("out");
    let group = "239.7.8.1:3400";
    let recv_args = s(&[
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
        "2",
        "--timeout",
        "30s",
        "--json",
    ]);
    let mut recv = Proc::spawn(&pair, Side::Receiver, &recv_args, &dir.0.join("recv.log"));
    std::thread::sleep(Duration::from_millis(500));
    let mut send_args = s(&[
        "send",
        "--backend",
        "udp",
        "--iface",
        &pair.sender.interface,
        "--dest",
        group,
        "--rate",
        "4M",
        "--carousel",
        "30s",
    ]);
    send_args.extend(files.iter().map(|(p, _)| p.display().to_string()));
    let mut sender = Proc::spawn(&pair, Side::Sender, &send_args, &dir.0.join("send.log"));
    let status = recv.wait_for(Duration::from_secs(30));
    sender.interrupt();
    let log = recv.output();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{log}");
    let events = events(&log);
    assert!(!named(&events, "stats").is_empty(), "{log}");
    for e in named(&events, "stats") {
        assert!(e["frames"].is_u64() && e["payload_bytes"].is_u64(), "{e}");
    }
    let completed = named(&events, "completed");
    assert_eq!(completed.len(), 2, "{log}");
    for e in completed {
        let path = Path::new(e["path"].as_str().unwrap());
        assert!(path.is_file(), "{e}");
    }
    let summary = named(&events, "summary");
    assert_eq!(summary.len(), 1, "{log}");
    assert!(
        summary[0].get("xdp_redirected").is_none(),
        "a UDP receiver reports XDP counters: {}",
        summary[0]
    );
    // The worker read batches: its stalls were measured, the p99 no longer than the longest.
    let (p99, max) = (&summary[0]["stall_p99_us"], &summary[0]["stall_max_us"]);
    assert!(max.as_u64().is_some_and(|m| m > 0), "{}", summary[0]);
    assert!(p99.as_u64() <= max.as_u64(), "{}", summary[0]);
    pair.close();
}

#[test]
fn a_live_receiver_completes_a_toi_again_when_a_restarted_sender_sends_new_content() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("json-live-resend");
    let file = dir.0.join("in").join("news.txt");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let out = dir.0.join("out");
    let group = "239.7.8.2:3400";
    let recv_args = s(&[
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
        "2",
        "--timeout",
        "30s",
        "--json",
    ]);
    let mut recv = Proc::spawn(&pair, Side::Receiver, &recv_args, &dir.0.join("recv.log"));
    std::thread::sleep(Duration::from_millis(500));
    let send = |content: &[u8], log: &str| {
        std::fs::write(&file, content).unwrap();
        let args = s(&[
            "send",
            "--backend",
            "udp",
            "--iface",
            &pair.sender.interface,
            "--dest",
            group,
            "--rate",
            "10M",
            "--toi-start",
            "5",
            "--carousel",
            "30s",
            file.to_str().unwrap(),
        ]);
        Proc::spawn(&pair, Side::Sender, &args, &dir.0.join(log))
    };
    let mut first = send(b"the first edition", "send1.log");
    let arrived = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        recv.output().contains("\"event\":\"completed\"")
    });
    first.interrupt();
    assert!(arrived, "{}", recv.output());
    let mut second = send(b"the second edition, longer", "send2.log");
    let status = recv.wait_for(Duration::from_secs(30));
    second.interrupt();
    let log = recv.output();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{log}");
    let events = events(&log);
    let completed = named(&events, "completed");
    assert_eq!(completed.len(), 2, "{log}");
    assert!(completed.iter().all(|e| e["toi"] == 5), "{log}");
    assert_eq!(
        std::fs::read(out.join("news.txt")).unwrap(),
        b"the second edition, longer"
    );
    pair.close();
}
