//! A captured xflute session for the receive-only runs: the sans-IO sender writes every packet of
//! one pass over a scenario's objects (FDT first, then the objects) into whole Ethernet frames in
//! memory, as `xflute send --pcap-out` writes them into a file. A scenario's loss is applied here,
//! once and reproducibly, to the object packets (never to the FDT's, which a one-pass capture
//! carries once), so that every receiver of the replay sees the same losses and must decode.
//! The capture is replayed in a loop, as a carousel: its packets do not close their objects.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use xflute::io::frame::UdpFrameBuilder;
use xflute::wire::LctPacket;
use xflute_tests::data::SplitMix64;

use crate::scenario::Scenario;

/// The Close Object flag (B) in the second byte of the LCT header (RFC 5651 §5.1).
const CLOSE_OBJECT: u8 = 0x01;

/// The frames of one pass of `scenario` from `source` to `group`, Ethernet source `src_mac`.
pub fn capture(
    scenario: &Scenario,
    source: SocketAddr,
    group: SocketAddr,
    src_mac: [u8; 6],
) -> Result<Vec<Vec<u8>>, String> {
    let mut sender = scenario.sender(group, false)?;
    let builder = UdpFrameBuilder::new(source, group).map_err(|e| e.to_string())?;
    let builder = {
        let dst = builder.destination_mac();
        builder.with_macs(src_mac, dst)
    };
    let mut now = SystemTime::now();
    sender.publish(now).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; sender.max_packet_len()];
    let mut frames = Vec::new();
    let mut rng = SplitMix64::new(0x853c_49e6_748f_ea9b);
    // 1 Gbit/s of virtual time between packets keeps the FDT's timers moving as on the wire.
    let step = Duration::from_micros(12);
    while sender.nb_objects() > 0 {
        if let Some(len) = sender.write_next(&mut buf, now) {
            // Replayed in a loop, the capture is a carousel, whose packets do not close the
            // object: without the Close Object flag (B, RFC 5651 §5.1) that ends this one pass,
            // which makes a receiver give up on an object it has not completed by then.
            if let Some(flags) = buf.get_mut(1) {
                *flags &= !CLOSE_OBJECT;
            }
            let packet = buf.get(..len).unwrap_or_default();
            let is_fdt = LctPacket::new_checked(packet).is_ok_and(|p| p.toi() == 0);
            let lost = !is_fdt && rng.next_f64() <= scenario.loss;
            if !lost {
                frames.push(builder.build(packet).map_err(|e| e.to_string())?);
            }
            now += step;
        } else if let Some(wake) = sender.next_timeout() {
            now = now.max(wake);
        } else {
            break;
        }
    }
    Ok(frames)
}
