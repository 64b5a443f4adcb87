//! The binary at the end of a pipe and on a terminal's stderr, as a user runs it:
//! `xflute inspect X | head` and `xflute recv --pcap X --out D 2>&1 | head` end quietly when the
//! reader goes away (no abort, no "Broken pipe" line), as tcpdump does; logs go to stderr with
//! warnings on by default, `-q` silences them, `-v`/`-vv` and `RUST_LOG` open them up.

mod common;

use common::TempDir;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_xflute");

/// A capture of `n` small files and one of 2 MB (some thousand packets, so that `inspect`
/// prints far more than a pipe holds).
fn capture(dir: &Path, n: usize) -> std::path::PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let mut args = vec!["send".to_owned(), "--pcap-out".into()];
    let pcap = dir.join("s.pcap");
    args.push(pcap.display().to_string());
    for i in 0..n {
        let p = input.join(format!("f{i:03}.txt"));
        std::fs::write(&p, format!("file {i}")).unwrap();
        args.push(p.display().to_string());
    }
    let big = input.join("big.bin");
    std::fs::write(&big, vec![1u8; 2_000_000]).unwrap();
    args.push(big.display().to_string());
    let out = Command::new(BIN).args(&args).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    pcap
}

/// Quiet: ended by SIGPIPE, as `cat` or tcpdump are, or exited 0; not an abort or a panic.
fn assert_quiet_end(status: ExitStatus, what: &str) {
    let quiet = status.signal() == Some(libc::SIGPIPE) || status.code() == Some(0);
    assert!(quiet, "{what}: {status:?}");
}

/// Runs `args` with stdout (and with `stderr_too`, stderr) into a pipe whose reader is already
/// closed; returns the status and what went to stderr otherwise.
fn into_closed_pipe(args: &[&str], stderr_too: bool, log: &Path) -> (ExitStatus, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdout(writer.try_clone().unwrap());
    if stderr_too {
        cmd.stderr(writer);
    } else {
        drop(writer);
        cmd.stderr(std::fs::File::create(log).unwrap());
    }
    let status = cmd.status().unwrap();
    (status, std::fs::read_to_string(log).unwrap_or_default())
}

#[test]
fn inspect_and_recv_into_a_closed_pipe_end_quietly() {
    let dir = TempDir::new("sigpipe");
    let pcap = capture(&dir.0, 30);
    let pcap = pcap.to_str().unwrap();
    let log = dir.0.join("stderr.log");
    for stderr_too in [false, true] {
        let (status, err) = into_closed_pipe(&["inspect", pcap], stderr_too, &log);
        assert_quiet_end(status, "inspect");
        assert!(!err.contains("Broken pipe"), "{err}");
        let out = dir.0.join(format!("out-{stderr_too}"));
        let (status, err) = into_closed_pipe(
            &["recv", "--pcap", pcap, "--out", out.to_str().unwrap()],
            stderr_too,
            &log,
        );
        assert_quiet_end(status, "recv --pcap");
        assert!(!err.contains("Broken pipe"), "{err}");
    }
}

#[test]
fn inspect_piped_into_head_reads_its_first_lines_and_exits_quietly() {
    let dir = TempDir::new("sigpipe-head");
    let pcap = capture(&dir.0, 3);
    let mut child = Command::new(BIN)
        .args(["inspect", pcap.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 4096];
    let n = std::io::Read::read(&mut stdout, &mut first).unwrap();
    assert!(n > 0 && first.starts_with(b"#1 "), "{:?}", &first[..n]);
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_quiet_end(out.status, "inspect | head");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a receiver that cannot pin its worker to core 999 (a warning) and stops after 300 ms;
/// returns its stderr.
fn receiver_log(dir: &Path, flags: &[&str], rust_log: Option<&str>) -> String {
    let out = dir.join("out");
    let group = format!("127.0.0.1:{}", common::free_udp_port());
    let mut cmd = Command::new(BIN);
    cmd.args([
        "recv",
        "--backend",
        "udp",
        "--group",
        &group,
        "--cores",
        "999",
        "--timeout",
        "300ms",
        "--out",
        out.to_str().unwrap(),
    ])
    .args(flags);
    match rust_log {
        Some(v) => cmd.env("RUST_LOG", v),
        None => cmd.env_remove("RUST_LOG"),
    };
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn warnings_show_by_default_and_q_v_and_rust_log_move_the_level() {
    let dir = TempDir::new("logs");
    let warn = "could not pin a worker to its core";
    let debug = "receive worker stopped";
    let default = receiver_log(&dir.0, &[], None);
    assert!(
        default.contains(warn) && default.contains("WARN"),
        "{default}"
    );
    assert!(!default.contains(debug), "{default}");
    let quiet = receiver_log(&dir.0, &["-q"], None);
    assert!(!quiet.contains(warn), "{quiet}");
    let verbose = receiver_log(&dir.0, &["-vv"], None);
    assert!(verbose.contains(debug), "{verbose}");
    let env_debug = receiver_log(&dir.0, &[], Some("debug"));
    assert!(env_debug.contains(debug), "{env_debug}");
    let env_off = receiver_log(&dir.0, &[], Some("off"));
    assert!(!env_off.contains(warn), "{env_off}");
}
