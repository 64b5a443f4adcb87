//! Captures of real `flute` 1.11.7 sessions for the CLI tests.
// Each test binary that includes this module uses a different part of it.
#![allow(dead_code, unused_imports)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;
use xflute::io::frame::{LinkType, UdpFrameBuilder};
use xflute::io::pcap::PcapWriter;

/// (Content-Location path, content) of the objects the tests send.
pub fn test_objects() -> Vec<(String, Vec<u8>)> {
    vec![
        ("a.bin".into(), xflute_tests::data::random_bytes(5000, 1)),
        ("dir/b.txt".into(), b"0123456789".to_vec()),
    ]
}

/// Write flute's sender session for `objects` as a capture of Ethernet frames to 239.1.1.1:3400,
/// TSI 7, FDT encoded with `fdt_cenc`. Returns the number of packets.
pub fn flute_capture(
    path: &Path,
    objects: &[(String, Vec<u8>)],
    fdt_cenc: flute::core::lct::Cenc,
) -> usize {
    use flute::core::UDPEndpoint;
    use flute::sender::{Config, ObjectDesc, Sender, TransferConfig};
    let endpoint = UDPEndpoint::new(None, "239.1.1.1".to_string(), 3400);
    let config = Config {
        fdt_cenc,
        ..Default::default()
    };
    let mut sender = Sender::new(endpoint, 7, &Default::default(), &config);
    for (name, data) in objects {
        let url = url::Url::parse(&format!("file:///{name}")).unwrap();
        let obj = ObjectDesc::create_from_buffer(
            data.clone(),
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
    let start_ns = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap(), LinkType::Ethernet).unwrap();
    let mut n = 0u64;
    while let Some(pkt) = sender.read(now) {
        w.write_frame(start_ns + n * 1000, &builder.build(&pkt).unwrap())
            .unwrap();
        n += 1;
    }
    w.into_inner().unwrap();
    n as usize
}

#[allow(unused_imports)] // Each test binary uses a different part of this module.
pub use xflute_tests::TempDir;

/// Run the `xflute` binary: (exit status success, stdout, stderr).
pub fn xflute<S: AsRef<OsStr>>(args: &[S]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xflute"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Kills the process when the test ends, failed or not.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub use xflute_tests::wait::poll as wait_for;

pub use xflute_tests::ports::{free_tcp_port as free_port, free_udp_port};

pub use xflute_tests::capture::udp_capture;
