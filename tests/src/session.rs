//! Small FLUTE sessions for the engine tests: a no-code sender with one object (optionally a
//! carousel), and the description a sink is given.

use std::time::Duration;

use xflute::endpoint::UdpEndpoint;
use xflute::sender::{CarouselRepeatMode, Config, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};

/// A sender of TSI `tsi` to `endpoint` with one object, `data` at `file:///NAME`, no-code FEC,
/// 1400-byte symbols, blocks of 64, Content-MD5 announced; repeated without pause when
/// `carousel`.
pub fn no_code_sender(
    endpoint: UdpEndpoint,
    tsi: u64,
    name: &str,
    data: Vec<u8>,
    carousel: bool,
) -> Sender {
    let oti = Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: 1400,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 64,
        scheme_specific: SchemeSpecific::None,
    };
    let mut sender = Sender::new(endpoint, tsi, oti, Config::default()).expect("sender");
    let transfer = TransferConfig {
        carousel_mode: carousel
            .then_some(CarouselRepeatMode::DelayBetweenTransfers(Duration::ZERO)),
        ..TransferConfig::default()
    };
    let object = ObjectDesc::from_buffer(
        data,
        "application/octet-stream",
        format!("file:///{name}"),
        true,
        transfer,
    )
    .expect("object");
    sender.add_object(0, object).expect("add_object");
    sender
}

/// The description a receiver gives its sink for TOI 1 of TSI 1 at Content-Location `name`,
/// `len` bytes long: for tests that drive a sink directly.
pub fn description(name: &str, len: u64) -> xflute::receiver::ObjectDescription {
    xflute::receiver::ObjectDescription {
        tsi: 1,
        toi: 1,
        path: Some(
            xflute::receiver::SafeRelativePath::from_content_location(name).expect("a valid path"),
        ),
        len,
        content_type: None,
    }
}
