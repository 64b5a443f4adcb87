//! The engine side of the raw-versus-engine benchmarks (`e2e`, `tx_rate`): one object sent as
//! an unpaced no-code carousel, with symbols sized so that the engine's frames are the raw
//! frames' size.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use xflute::endpoint::UdpEndpoint;
use xflute::sender::{CarouselRepeatMode, Config, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{AlcPacket, FecEncodingId, Oti, SchemeSpecific};

use crate::raw::PAYLOAD;

/// `len` random bytes from a fixed seed: incompressible, the same in every run.
pub fn pseudo_random(len: usize) -> Vec<u8> {
    xflute_tests::data::random_bytes(len, 0x2545_f491_4f6c_dd1d)
}

/// A no-code sender of `data` (as `file:///object.bin`, no MD5) to `group`, repeated as a
/// carousel with no delay, so that frames a veth drops under overload come round again.
pub fn no_code_carousel(group: SocketAddr, symbol_len: u16, data: Arc<Vec<u8>>) -> Sender {
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: symbol_len,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 64,
        scheme_specific: SchemeSpecific::None,
    };
    let mut sender = Sender::new(
        UdpEndpoint::new(group.ip(), group.port()),
        1,
        oti,
        Config::default(),
    )
    .expect("a valid no-code sender");
    let transfer = TransferConfig {
        carousel_mode: Some(CarouselRepeatMode::DelayBetweenTransfers(Duration::ZERO)),
        ..TransferConfig::default()
    };
    let object = ObjectDesc::from_bytes(
        data,
        "application/octet-stream",
        "file:///object.bin",
        false,
        transfer,
    )
    .expect("a valid object");
    sender.add_object(0, object).expect("room for the object");
    sender
}

/// The symbol length whose ALC data packets are [`PAYLOAD`] bytes, as the raw sender's UDP
/// payloads are: the engine's frames are then the raw frames' size, byte for byte (1442 bytes;
/// 1474-byte frames no longer fit two to a 4 KiB page of the kernel's buffer pool, which costs
/// the copy-mode sender about 6%).
pub fn frame_matched_symbol_len(group: SocketAddr) -> u16 {
    let mut probe = no_code_carousel(group, PAYLOAD as u16, Arc::new(vec![0; 4 * PAYLOAD]));
    let mut buf = vec![0; probe.max_packet_len()];
    let now = SystemTime::now();
    while let Some(len) = probe.write_next(&mut buf, now) {
        let alc = AlcPacket::parse(&buf[..len]).expect("the sender's own packet");
        if alc.lct().toi != 0 {
            return (PAYLOAD - (len - alc.payload().len())) as u16;
        }
    }
    panic!("the probe sender sent no data packet");
}
