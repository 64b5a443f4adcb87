//! `xflute send --toi-start N|random`: the first object takes that TOI (or a fresh random one at
//! each run), and anything else is a usage error (exit code 2).

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

mod common;
use common::{TempDir, xflute};

/// Sends `file` into `pcap` with `--toi-start value`; returns the TOIs of its objects, from
/// `xflute inspect`'s summary lines.
fn object_tois(dir: &Path, file: &Path, value: Option<&str>) -> Vec<u128> {
    let pcap = dir.join("session.pcap");
    let mut args: Vec<OsString> = vec!["send".into()];
    if let Some(value) = value {
        args.extend(["--toi-start".into(), value.into()]);
    }
    args.extend([
        "--pcap-out".into(),
        pcap.clone().into(),
        file.to_path_buf().into(),
    ]);
    let (ok, stdout, stderr) = xflute(&args);
    assert!(ok, "send --toi-start {value:?}: {stdout}\n{stderr}");
    let (ok, stdout, stderr) = xflute(&[OsString::from("inspect"), pcap.into()]);
    assert!(ok, "inspect: {stderr}");
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("tsi=1 toi="))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .filter(|&toi| toi != 0)
        .collect()
}

#[test]
fn toi_start_numbers_the_first_object_defaults_to_1_and_random_draws_a_fresh_wide_toi() {
    let dir = TempDir::new("toi-start");
    let file = dir.0.join("a.txt");
    std::fs::write(&file, b"some content").unwrap();
    assert_eq!(object_tois(&dir.0, &file, None), [1]);
    assert_eq!(object_tois(&dir.0, &file, Some("4242")), [4242]);
    let max = (1u128 << 112) - 1;
    assert_eq!(object_tois(&dir.0, &file, Some(&max.to_string())), [max]);
    let first = object_tois(&dir.0, &file, Some("random"));
    let second = object_tois(&dir.0, &file, Some("random"));
    for tois in [&first, &second] {
        assert_eq!(tois.len(), 1);
        assert!((1..=max).contains(&tois[0]), "{tois:?}");
    }
    // Two draws of 112 bits: equal only once in 2^112 runs.
    assert_ne!(first, second);
}

#[test]
fn toi_start_that_is_junk_zero_or_wider_than_112_bits_is_a_usage_error() {
    let dir = TempDir::new("toi-start-bad");
    let file = dir.0.join("a.txt");
    std::fs::write(&file, b"x").unwrap();
    let pcap = dir.0.join("x.pcap");
    for value in [
        "junk",
        "0",
        "5192296858534827628530496329220096",
        "random1",
        "",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_xflute"))
            .args(["send", "--toi-start", value, "--pcap-out"])
            .arg(&pcap)
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--toi-start {value:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("--toi-start"), "{value:?}: {stderr}");
        assert!(!pcap.exists(), "--toi-start {value:?} wrote a capture");
    }
}
