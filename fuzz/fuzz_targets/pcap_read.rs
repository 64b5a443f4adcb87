//! The pcap/pcapng reader and the frame parser on arbitrary files: never a panic, never a
//! record over the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xflute::io::frame::parse_udp;
use xflute::io::pcap::PcapReader;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = PcapReader::with_max_record_bytes(data, 64 * 1024) else {
        return;
    };
    for _ in 0..10_000 {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                assert!(frame.data.len() <= 64 * 1024);
                if let Some(link) = frame.link {
                    let _ = parse_udp(link, frame.data);
                }
            }
            _ => break,
        }
    }
});
