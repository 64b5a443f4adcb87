//! `xflute inspect` on a capture of a real `flute` 1.11.7 session.

use std::process::Command;
use std::time::SystemTime;
use xflute::io::frame::{LinkType, UdpFrameBuilder};
use xflute::io::pcap::PcapWriter;

/// A capture of flute's sender: two objects, gzip-encoded FDT, written as Ethernet frames.
fn flute_capture(path: &std::path::Path) -> usize {
    use flute::core::UDPEndpoint;
    use flute::core::lct::Cenc;
    use flute::sender::{Config, ObjectDesc, Sender, TransferConfig};
    let endpoint = UDPEndpoint::new(None, "239.1.1.1".to_string(), 3400);
    let config = Config {
        fdt_cenc: Cenc::Gzip,
        ..Default::default()
    };
    let mut sender = Sender::new(endpoint, 7, &Default::default(), &config);
    for (name, len) in [("a.bin", 5000usize), ("dir/b.txt", 10)] {
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let url = url::Url::parse(&format!("file:///{name}")).unwrap();
        let obj = ObjectDesc::create_from_buffer(
            data,
            "application/octet-stream",
            &url,
            true,
            TransferConfig::builder().build(),
        )
        .unwrap();
        sender.add_object(0, obj).unwrap();
    }
    let now = SystemTime::now();
    sender.publish(now).unwrap();
    let builder = UdpFrameBuilder::new(
        "192.0.2.10:40000".parse().unwrap(),
        "239.1.1.1:3400".parse().unwrap(),
    )
    .unwrap();
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap(), LinkType::Ethernet).unwrap();
    let mut n = 0;
    while let Some(pkt) = sender.read(now) {
        w.write_frame(
            1_000_000_000 + n as u64 * 1000,
            &builder.build(&pkt).unwrap(),
        )
        .unwrap();
        n += 1;
    }
    w.into_inner().unwrap();
    n
}

#[test]
fn inspect_lists_every_packet_decodes_the_fdt_and_sums_up_objects() {
    let dir = std::env::temp_dir().join(format!("xflute-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("flute.pcap");
    let packets = flute_capture(&pcap);
    let out = Command::new(env!("CARGO_BIN_EXE_xflute"))
        .arg("inspect")
        .arg(&pcap)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let packet_lines = stdout.lines().filter(|l| l.starts_with('#')).count();
    assert_eq!(packet_lines, packets, "{stdout}");
    assert!(stdout.contains("tsi=7 toi=0"), "{stdout}");
    assert!(stdout.contains("ext=[FDT(v2,"), "{stdout}");
    assert!(stdout.contains("CENC(gzip)"), "{stdout}");
    assert!(stdout.contains("files=2"), "{stdout}");
    assert!(stdout.contains("file:///a.bin length=5000"), "{stdout}");
    assert!(stdout.contains("file:///dir/b.txt length=10"), "{stdout}");
    assert!(stdout.contains("0 malformed ALC"), "{stdout}");
    assert!(stdout.contains("(0 incomplete)"), "{stdout}");
}

#[test]
fn inspect_of_a_missing_file_is_one_clear_line_and_a_failure() {
    let out = Command::new(env!("CARGO_BIN_EXE_xflute"))
        .args(["inspect", "/nonexistent/x.pcap"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("xflute: opening /nonexistent/x.pcap"),
        "{stderr}"
    );
}
