//! `xflute send DIR`: every file below a directory goes under its path relative to it, and
//! `recv` rebuilds the tree; with `--profile dvb-mabr` the names are relative references and
//! what GPAC-like receivers cannot take is refused before anything is sent.

mod common;

use common::{TempDir, xflute};
use std::path::Path;

/// Writes `len` bytes of seeded content at `path`; returns them.
fn write(path: &Path, len: usize, seed: u64) -> Vec<u8> {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let data = xflute_tests::data::content(len, seed);
    std::fs::write(path, &data).unwrap();
    data
}

#[test]
fn a_directory_sent_is_rebuilt_as_a_tree_by_recv() {
    for profile in ["default", "dvb-mabr"] {
        let tmp = TempDir::new(&format!("send-dir-{profile}"));
        let site = tmp.path().join("site");
        let files = [
            ("index.html", write(&site.join("index.html"), 900, 1)),
            ("css/a b.css", write(&site.join("css/a b.css"), 5000, 2)),
            ("img/x/y.bin", write(&site.join("img/x/y.bin"), 70_000, 3)),
        ];
        let single = tmp.path().join("single.txt");
        let single_data = write(&single, 10, 4);
        let pcap = tmp.path().join("s.pcap");
        let (ok, _, err) = xflute(&[
            "send",
            "--profile",
            profile,
            "--pcap-out",
            pcap.to_str().unwrap(),
            site.to_str().unwrap(),
            single.to_str().unwrap(),
        ]);
        assert!(ok, "{profile}: {err}");
        let (_, fdt, _) = xflute(&["inspect", "--summary", pcap.to_str().unwrap()]);
        let expected_location = match profile {
            "default" => " file:///css/a%20b.css ",
            _ => " css/a%20b.css ",
        };
        assert!(fdt.contains(expected_location), "{profile}: {fdt}");
        let out = tmp.path().join("out");
        let (ok, _, err) = xflute(&[
            "recv",
            "--pcap",
            pcap.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{profile}: {err}");
        for (name, data) in &files {
            assert_eq!(
                &std::fs::read(out.join(name)).unwrap(),
                data,
                "{profile} {name}"
            );
        }
        assert_eq!(std::fs::read(out.join("single.txt")).unwrap(), single_data);
    }
}

#[test]
fn the_dvb_mabr_profile_refuses_what_gpac_cannot_receive() {
    let tmp = TempDir::new("send-dir-refusals");
    let file = tmp.path().join("f.bin");
    write(&file, 70_000, 5);
    let pcap = tmp.path().join("x.pcap");
    let run = |extra: &[&str]| {
        let mut args = vec!["send", "--profile", "dvb-mabr", "--pcap-out"];
        args.push(pcap.to_str().unwrap());
        args.extend(extra);
        args.push(file.to_str().unwrap());
        xflute(&args)
    };
    for (extra, says) in [
        (&["--fec", "rs28"][..], "--fec none"),
        (&["--cenc", "gzip"][..], "--cenc null"),
        (&["--tsi", "4294967296"][..], "32 bits"),
        // 70,000 symbols of 1 byte: more than one No-Code block holds.
        (&["--symbol-len", "1"][..], "65536"),
    ] {
        let (ok, _, err) = run(extra);
        assert!(!ok && err.contains(says), "{extra:?}: {err}");
    }
    assert!(!pcap.exists());
}
