//! `xflute recv --pcap` on captures of real `flute` 1.11.7 sessions.

mod common;
use common::{TempDir, flute_capture, test_objects, xflute};

#[test]
fn recv_restores_every_file_of_a_flute_capture_byte_for_byte() {
    let dir = TempDir::new("recv-flute");
    let pcap = dir.0.join("flute.pcap");
    let out_dir = dir.0.join("out");
    for cenc in [flute::core::lct::Cenc::Null, flute::core::lct::Cenc::Zlib] {
        flute_capture(&pcap, &test_objects(), cenc);
        let (ok, stdout, stderr) = xflute(&[
            "recv".as_ref(),
            "--pcap".as_ref(),
            pcap.as_os_str(),
            "--out".as_ref(),
            out_dir.as_os_str(),
            "--group".as_ref(),
            "239.1.1.1:3400".as_ref(),
        ]);
        assert!(ok, "{stdout}\n{stderr}");
        assert!(stdout.contains("2 of 2 objects completed"), "{stdout}");
        for (name, data) in test_objects() {
            assert_eq!(std::fs::read(out_dir.join(&name)).unwrap(), data, "{name}");
        }
        let leftovers: Vec<_> = walk(&out_dir)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "part"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        std::fs::remove_dir_all(&out_dir).unwrap();
    }
}

#[test]
fn recv_of_a_truncated_capture_fails_and_leaves_no_partial_file() {
    let dir = TempDir::new("recv-truncated");
    let pcap = dir.0.join("flute.pcap");
    let out_dir = dir.0.join("out");
    let big = xflute_tests::data::random_bytes(200_000, 1);
    flute_capture(
        &pcap,
        &[("big.bin".to_string(), big)],
        flute::core::lct::Cenc::Null,
    );
    // Cut the capture in the middle of the object.
    let bytes = std::fs::read(&pcap).unwrap();
    std::fs::write(&pcap, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, stdout, stderr) = xflute(&[
        "recv".as_ref(),
        "--pcap".as_ref(),
        pcap.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    assert!(!ok, "{stdout}");
    assert!(!out_dir.join("big.bin").exists());
    assert!(walk(&out_dir).is_empty(), "{:?}", walk(&out_dir));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
