//! What a new user meets when something is wrong, run as a user runs the binary: exit codes as
//! the README and `--help` say (0 complete, 1 incomplete, 2 usage or configuration), one-line
//! errors that name the cause once and point to the fix, refusals before the first packet, no
//! empty output directory left by a failed run, an idle receiver stopped by a signal exiting 0,
//! and `--help` showing the exit codes, every default, the values of --cenc and the units.

#[path = "common/cli.rs"]
mod cli;

use cli::{Proc, make_files, s};
use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use xflute_tests::TempDir;
use xflute_tests::netns::{NetnsPair, PairConfig, Side};

fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(cli::BIN).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit code 2 and one line on stderr containing every one of `says`.
fn assert_usage_error(out: &Output, says: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    for s in says {
        assert!(err.contains(s), "{err:?} does not say {s:?}");
    }
}

fn file(dir: &Path, name: &str, len: usize) -> String {
    let path = dir.join(name);
    std::fs::write(&path, vec![7u8; len]).unwrap();
    path.display().to_string()
}

#[test]
fn a_missing_input_file_with_pcap_out_is_a_usage_error() {
    let dir = TempDir::new("err-missing");
    let pcap = dir.0.join("x.pcap");
    let out = run(&[
        "send",
        "--pcap-out",
        pcap.to_str().unwrap(),
        "/nonexistent/file.bin",
    ]);
    assert_usage_error(&out, &["reading /nonexistent/file.bin", "No such file"]);
    assert!(!pcap.exists());
}

#[test]
fn a_directory_with_no_file_to_send_is_a_usage_error() {
    let dir = TempDir::new("err-dir");
    let empty = dir.0.join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    let pcap = dir.0.join("x.pcap");
    let out = run(&[
        "send",
        "--pcap-out",
        pcap.to_str().unwrap(),
        empty.to_str().unwrap(),
    ]);
    assert_usage_error(&out, &["no file to send"]);
    assert!(!stderr(&out).contains("No such device"));
    assert!(!pcap.exists());
}

#[test]
fn rs28_with_a_block_over_255_symbols_is_a_usage_error() {
    let dir = TempDir::new("err-rs28");
    let f = file(&dir.0, "a.bin", 1000);
    let pcap = dir.0.join("x.pcap");
    let out = run(&[
        "send",
        "--fec",
        "rs28",
        "--block-len",
        "300",
        "--pcap-out",
        pcap.to_str().unwrap(),
        &f,
    ]);
    assert_usage_error(&out, &["--block-len 300", "255"]);
}

#[test]
fn raptorq_with_too_small_a_block_length_for_the_file_says_to_raise_block_len() {
    let dir = TempDir::new("err-raptorq");
    let f = file(&dir.0, "big.bin", 3_000_000);
    let pcap = dir.0.join("x.pcap");
    let out = run(&[
        "send",
        "--fec",
        "raptorq",
        "--block-len",
        "2",
        "--pcap-out",
        pcap.to_str().unwrap(),
        &f,
    ]);
    assert_usage_error(&out, &["raise --block-len to 9"]);
    assert!(!pcap.exists());
}

#[test]
fn fec_none_with_repair_symbols_is_refused() {
    let dir = TempDir::new("err-repair");
    let f = file(&dir.0, "a.bin", 10);
    let pcap = dir.0.join("x.pcap");
    for flag in [["--repair", "5"], ["--repair-pct", "10"]] {
        let out = run(&[
            "send",
            "--fec",
            "none",
            flag[0],
            flag[1],
            "--pcap-out",
            pcap.to_str().unwrap(),
            &f,
        ]);
        assert_usage_error(&out, &["--fec none"]);
    }
}

#[test]
fn a_capture_that_is_not_pcap_is_a_usage_error_and_leaves_no_out_directory() {
    let dir = TempDir::new("err-notpcap");
    let f = file(&dir.0, "notes.txt", 100);
    let out_dir = dir.0.join("out");
    let out = run(&["recv", "--pcap", &f, "--out", out_dir.to_str().unwrap()]);
    assert_usage_error(&out, &["notes.txt", "not a readable capture"]);
    assert!(!out_dir.exists());
    let out = run(&["inspect", &f]);
    assert_usage_error(&out, &["not a readable capture"]);
}

#[test]
fn out_naming_a_file_says_it_is_not_a_directory() {
    let dir = TempDir::new("err-outfile");
    let f = file(&dir.0, "a.bin", 10);
    let pcap = dir.0.join("x.pcap");
    assert!(
        run(&["send", "--pcap-out", pcap.to_str().unwrap(), &f])
            .status
            .success()
    );
    let out = run(&["recv", "--pcap", pcap.to_str().unwrap(), "--out", &f]);
    assert_usage_error(&out, &["--out", "not a directory"]);
    assert!(!stderr(&out).contains("File exists"));
    let out = run(&[
        "recv",
        "--pcap",
        pcap.to_str().unwrap(),
        "--out",
        "/proc/xflute-cannot-be",
    ]);
    assert_usage_error(&out, &["/proc/xflute-cannot-be"]);
}

#[test]
fn an_error_names_its_cause_once() {
    let dir = TempDir::new("err-once");
    let f = file(&dir.0, "a.bin", 10);
    let out = run(&["send", "--pcap-out", "/proc/x.pcap", &f]);
    let err = stderr(&out);
    assert_eq!(err.matches("/proc/x.pcap").count(), 1, "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn a_failed_recv_removes_the_out_directory_it_created_but_not_one_it_found() {
    let dir = TempDir::new("err-rmdir");
    // A capture with a file header and no record: no FLUTE object, exit 1.
    let pcap = dir.0.join("empty.pcap");
    let w = xflute::io::pcap::PcapWriter::new(
        std::fs::File::create(&pcap).unwrap(),
        xflute::io::frame::LinkType::Ethernet,
    )
    .unwrap();
    w.into_inner().unwrap();
    let created = dir.0.join("new-out");
    let out = run(&[
        "recv",
        "--pcap",
        pcap.to_str().unwrap(),
        "--out",
        created.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        !created.exists(),
        "the empty --out directory was left behind"
    );
    let existing = dir.0.join("old-out");
    std::fs::create_dir(&existing).unwrap();
    let out = run(&[
        "recv",
        "--pcap",
        pcap.to_str().unwrap(),
        "--out",
        existing.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(existing.is_dir(), "a directory the user made was removed");
}

#[test]
fn clap_errors_are_one_line_with_exit_code_2() {
    for args in [
        &["send", "--bogus"][..],
        &["recv"][..],
        &["send", "--fec", "nope", "x"][..],
        &["frobnicate"][..],
    ] {
        let out = run(args);
        assert_usage_error(&out, &["xflute: "]);
    }
}

#[test]
fn help_shows_exit_codes_defaults_cenc_values_and_units() {
    let help = |args: &[&str]| String::from_utf8(run(args).stdout).unwrap();
    let top = help(&["--help"]);
    let send = help(&["send", "--help"]);
    let recv = help(&["recv", "--help"]);
    let inspect = help(&["inspect", "--help"]);
    for text in [&top, &send, &recv, &inspect] {
        assert!(text.contains("Exit codes:"), "{text}");
        assert!(text.contains("2  usage or configuration error"), "{text}");
        assert!(text.contains("RUST_LOG"), "{text}");
    }
    let send_short = help(&["send", "-h"]);
    assert!(
        send_short.contains("[possible values: null, zlib, deflate, gzip]"),
        "{send_short}"
    );
    for needle in [
        "[default: 239.255.0.1:3400]",
        "[default: xdp]",
        "[default: none]",
        "[default: 1400]",
        "[default: 64]",
        "- gzip:",
        "powers of 1000",
        "[default: 8]",
        "--no-gso",
        "--json",
    ] {
        assert!(
            send.contains(needle),
            "send --help lacks {needle:?}:\n{send}"
        );
    }
    for needle in [
        "powers of 1024",
        "[default: 200us]",
        "[default: xdp]",
        "--json",
    ] {
        assert!(
            recv.contains(needle),
            "recv --help lacks {needle:?}:\n{recv}"
        );
    }
    for needle in ["--summary", "--json", "--tsi", "--toi"] {
        assert!(inspect.contains(needle), "inspect --help lacks {needle:?}");
    }
}

/// Refusals that used to come only after sending started, run where they would send.
#[test]
fn port_0_and_a_symbol_length_over_the_mtu_are_refused_before_sending() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("err-wire");
    let files = make_files(&dir.0.join("in"), &[10_000], 3);
    let f = files[0].0.display().to_string();
    let iface = pair.sender.interface.clone();
    for (args, says) in [
        (
            vec!["--dest", "239.1.2.3:0", "--backend", "udp"],
            &["port 0"][..],
        ),
        (
            vec!["--symbol-len", "9000", "--backend", "udp"],
            &["MTU", "--symbol-len"][..],
        ),
        (
            vec!["--symbol-len", "9000", "--backend", "xdp"],
            &["MTU", "--symbol-len"][..],
        ),
    ] {
        let mut argv = s(&["send", "--iface", &iface]);
        argv.extend(s(&args));
        argv.push(f.clone());
        let log = dir.0.join("send.log");
        let mut sender = Proc::spawn(&pair, Side::Sender, &argv, &log);
        let status = sender.wait_for(Duration::from_secs(10)).unwrap();
        let err = sender.output();
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        for say in says {
            assert!(err.contains(say), "{args:?}: {err:?} does not say {say:?}");
        }
    }
    pair.close();
}

#[test]
fn an_idle_receiver_stopped_by_sigterm_or_sigint_exits_0() {
    let pair = NetnsPair::with_config(PairConfig::default());
    let dir = TempDir::new("err-idle");
    for signal in ["TERM", "INT"] {
        let out = dir.0.join(format!("out-{signal}"));
        let args = s(&[
            "recv",
            "--backend",
            "udp",
            "--iface",
            &pair.receiver.interface,
            "--group",
            "239.1.2.4:3400",
            "--out",
            out.to_str().unwrap(),
        ]);
        let mut recv = Proc::spawn(&pair, Side::Receiver, &args, &dir.0.join("recv.log"));
        std::thread::sleep(Duration::from_millis(700));
        recv.signal(signal);
        let status = recv.wait_for(Duration::from_secs(5)).unwrap();
        let log = recv.output();
        assert_eq!(status.code(), Some(0), "SIG{signal}: {log}");
        assert!(
            !log.contains("incomplete;") || log.contains("0 incomplete"),
            "{log}"
        );
        assert!(!log.contains("the transfer is incomplete"), "{log}");
    }
    pair.close();
}
