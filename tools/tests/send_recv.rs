//! `xflute send --pcap-out` then `xflute recv --pcap`: the files come back byte for byte.

use std::ffi::OsString;

mod common;
use common::{TempDir, xflute};
use xflute_tests::data::random_bytes;

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

#[test]
fn send_then_recv_restores_files_byte_for_byte_for_every_cenc_and_flute_version() {
    let dir = TempDir::new("send-recv");
    let inputs = dir.0.join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    let files: Vec<(String, Vec<u8>)> = vec![
        ("empty.bin".into(), Vec::new()),
        ("one byte.txt".into(), b"x".to_vec()),
        ("block edge.bin".into(), random_bytes(1400 * 64, 1)),
        ("big.bin".into(), random_bytes(1_000_003, 2)),
    ];
    for (name, data) in &files {
        std::fs::write(inputs.join(name), data).unwrap();
    }
    for (cenc, version) in [
        ("null", "2"),
        ("gzip", "2"),
        ("zlib", "1"),
        ("deflate", "1"),
    ] {
        let pcap = dir.0.join(format!("{cenc}-{version}.pcap"));
        let out_dir = dir.0.join(format!("out-{cenc}-{version}"));
        let mut args = os(&[
            "send",
            "--cenc",
            cenc,
            "--flute-version",
            version,
            "--tsi",
            "9",
        ]);
        args.push("--pcap-out".into());
        args.push(pcap.clone().into());
        args.extend(files.iter().map(|(n, _)| inputs.join(n).into_os_string()));
        let (ok, stdout, stderr) = xflute(&args);
        assert!(ok, "send {cenc} v{version}: {stdout}\n{stderr}");
        assert!(stdout.contains("packets written"), "{stdout}");

        let mut args = os(&["recv", "--tsi", "9", "--group", "239.255.0.1:3400"]);
        args.extend(["--pcap".into(), pcap.into_os_string()]);
        args.extend(["--out".into(), out_dir.clone().into_os_string()]);
        let (ok, stdout, stderr) = xflute(&args);
        assert!(ok, "recv {cenc} v{version}: {stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("{n} of {n} objects completed", n = files.len())),
            "{stdout}"
        );
        for (name, data) in &files {
            let got = std::fs::read(out_dir.join(name)).unwrap();
            assert!(got == *data, "{name} differs after {cenc} v{version}");
        }
    }
}

#[test]
fn send_with_bad_arguments_fails_with_one_clear_line() {
    let dir = TempDir::new("send-bad");
    let pcap = dir.0.join("x.pcap").into_os_string();
    let mut args = os(&["send", "--flute-version", "3", "--pcap-out"]);
    args.push(pcap.clone());
    args.push("/etc/hostname".into());
    let (ok, _, stderr) = xflute(&args);
    assert!(!ok);
    assert_eq!(
        stderr.trim(),
        "xflute: FLUTE version 3 does not exist (1 or 2)"
    );

    let mut args = os(&["send", "--pcap-out"]);
    args.push(pcap);
    args.push("/nonexistent/file".into());
    let (ok, _, stderr) = xflute(&args);
    assert!(!ok);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("xflute: reading /nonexistent/file"),
        "{stderr}"
    );
}

#[test]
fn recv_counts_an_announced_object_with_no_packet_as_missing() {
    use xflute::io::frame::{LinkType, parse_udp};
    use xflute::io::pcap::{PcapReader, PcapWriter};
    use xflute::wire::AlcPacket;

    let dir = TempDir::new("send-recv-missing");
    let a = dir.0.join("a.txt");
    let b = dir.0.join("b.txt");
    std::fs::write(&a, b"first object").unwrap();
    std::fs::write(&b, b"second object").unwrap();
    let full = dir.0.join("full.pcap");
    let mut args = os(&["send", "--pcap-out"]);
    args.push(full.clone().into());
    args.extend([a.into_os_string(), b.into_os_string()]);
    let (ok, _, stderr) = xflute(&args);
    assert!(ok, "{stderr}");

    // Keep the FDT and every packet but those of TOI 2.
    let cut = dir.0.join("cut.pcap");
    let mut reader = PcapReader::new(std::fs::File::open(&full).unwrap()).unwrap();
    let mut writer =
        PcapWriter::new(std::fs::File::create(&cut).unwrap(), LinkType::Ethernet).unwrap();
    let mut removed = 0;
    while let Some(frame) = reader.next_frame().unwrap() {
        let udp = parse_udp(frame.link.unwrap(), frame.data).unwrap();
        if AlcPacket::parse(udp.payload).unwrap().lct().toi == 2 {
            removed += 1;
            continue;
        }
        writer.write_frame(frame.timestamp_ns, frame.data).unwrap();
    }
    writer.into_inner().unwrap();
    assert!(removed > 0);

    let out_dir = dir.0.join("out");
    let mut args = os(&["recv", "--pcap"]);
    args.push(cut.into());
    args.push("--out".into());
    args.push(out_dir.clone().into());
    let (ok, stdout, _) = xflute(&args);
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains("MISSING tsi=1 toi=2 file:///b.txt"),
        "{stdout}"
    );
    assert!(stdout.contains("1 of 2 objects completed"), "{stdout}");
    assert_eq!(
        std::fs::read(out_dir.join("a.txt")).unwrap(),
        b"first object"
    );
    assert!(!out_dir.join("b.txt").exists());
}

#[test]
fn a_carousel_is_captured_for_its_duration_in_capture_time_and_received_back() {
    let dir = TempDir::new("send-carousel-pcap");
    let input = dir.0.join("c.bin");
    let data = random_bytes(200_000, 3);
    std::fs::write(&input, &data).unwrap();
    let pcap = dir.0.join("carousel.pcap");
    let mut args = os(&["send", "--carousel", "3s", "--rate", "20M", "--pcap-out"]);
    args.push(pcap.clone().into());
    args.push(input.into_os_string());
    let (ok, stdout, stderr) = xflute(&args);
    assert!(ok, "send: {stdout}\n{stderr}");
    // 3 s at 20 Mbit/s of 1.5 kB frames: some 5000 frames, the 200 kB object about 35 times.
    let packets: u64 = stdout.split_whitespace().next().unwrap().parse().unwrap();
    assert!((4000..6000).contains(&packets), "{stdout}");
    let (ok, stdout, stderr) = xflute(&[OsString::from("inspect"), pcap.clone().into_os_string()]);
    assert!(ok, "inspect: {stderr}");
    assert!(stdout.contains("tsi=1 toi=1 "), "{stdout}");

    let out_dir = dir.0.join("out");
    let mut args = os(&["recv", "--pcap"]);
    args.push(pcap.into_os_string());
    args.extend(["--out".into(), out_dir.clone().into_os_string()]);
    let (ok, stdout, stderr) = xflute(&args);
    assert!(ok, "recv: {stdout}\n{stderr}");
    assert_eq!(std::fs::read(out_dir.join("c.bin")).unwrap(), data);
}

#[test]
fn the_pcap_backend_without_its_file_is_a_usage_error() {
    let dir = TempDir::new("send-pcap-backend");
    let input = dir.0.join("x.bin");
    std::fs::write(&input, b"x").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xflute"))
        .args(["send", "--backend", "pcap"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pcap-out"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xflute"))
        .args(["recv", "--backend", "pcap", "--out"])
        .arg(dir.0.join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pcap FILE"));
}
