//! Block interleaving against a burst of losses (`sender::Config::interleave_blocks`): one pass
//! of a Reed-Solomon object (k = 64, r = 16) with one contiguous burst of its packets removed.
//! Interleaved over W blocks, a burst of up to W·r packets costs each block at most r symbols
//! and the object is delivered; block after block, a burst of more than r is not repaired.

use std::time::SystemTime;

use xflute::endpoint::UdpEndpoint;
use xflute::receiver::{Config, MemorySink, MultiReceiver};
use xflute::sender::{Config as SenderConfig, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{AlcPacket, FecEncodingId, Oti, SchemeSpecific};
use xflute_tests::data::content;

const K: u32 = 64;
const R: u32 = 16;
const SYMBOL_LEN: u16 = 1000;
/// Eight source blocks of k symbols.
const OBJECT_LEN: usize = 8 * K as usize * SYMBOL_LEN as usize;
/// Where the burst starts among the object's packets: inside the first window of four blocks
/// (its 320 packets), and inside the second block when they go one after the other.
const BURST_START: usize = 100;

fn endpoint() -> UdpEndpoint {
    UdpEndpoint::new("239.255.0.1".parse().unwrap(), 3400)
}

/// One pass of a session with one RS(k + r, k) object interleaved over `interleave` blocks:
/// (FDT packets, object packets), each in wire order.
fn session(data: &[u8], interleave: u32, now: SystemTime) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let oti = Oti {
        fec_encoding_id: FecEncodingId::ReedSolomonGf28,
        fec_instance_id: 0,
        transfer_length: 0,
        encoding_symbol_length: SYMBOL_LEN,
        maximum_source_block_length: K,
        max_number_of_encoding_symbols: K + R,
        scheme_specific: SchemeSpecific::None,
    };
    let config = SenderConfig {
        interleave_blocks: interleave,
        ..SenderConfig::default()
    };
    let mut sender = Sender::new(endpoint(), 1, oti, config).unwrap();
    let object = ObjectDesc::from_buffer(
        data.to_vec(),
        "application/octet-stream",
        "file:///burst.bin",
        true,
        TransferConfig::default(),
    )
    .unwrap();
    sender.add_object(0, object).unwrap();
    let mut buf = vec![0u8; sender.max_packet_len()];
    let (mut fdt, mut objects) = (Vec::new(), Vec::new());
    while let Some(len) = sender.write_next(&mut buf, now) {
        let packet = buf[..len].to_vec();
        if AlcPacket::parse(&packet).unwrap().lct().toi == 0 {
            fdt.push(packet);
        } else {
            objects.push(packet);
        }
    }
    assert_eq!(objects.len(), 8 * (K + R) as usize);
    (fdt, objects)
}

/// Whether the object arrives intact from one pass with `burst` consecutive object packets
/// lost from [`BURST_START`].
fn delivered_despite_burst(interleave: u32, burst: usize) -> bool {
    let data = content(OBJECT_LEN, u64::from(interleave) * 1000 + burst as u64);
    let now = SystemTime::now();
    let (fdt, objects) = session(&data, interleave, now);
    let mut receiver = MultiReceiver::new(MemorySink::new(1 << 30), Config::default());
    let kept = objects
        .iter()
        .enumerate()
        .filter(|(i, _)| !(BURST_START..BURST_START + burst).contains(i))
        .map(|(_, p)| p);
    for packet in fdt.iter().chain(kept) {
        receiver.push(&endpoint(), packet, now).unwrap();
    }
    let done = receiver.sink_mut().take_completed();
    assert!(done.len() <= 1);
    done.first().is_some_and(|o| {
        assert!(o.data == data, "a delivered object must be intact");
        true
    })
}

#[test]
fn a_burst_of_three_times_r_is_repaired_only_when_blocks_are_interleaved() {
    let burst = 3 * R as usize;
    assert!(
        delivered_despite_burst(4, burst),
        "interleaved over 4 blocks"
    );
    assert!(!delivered_despite_burst(1, burst), "block after block");
}

#[test]
fn interleaving_w_blocks_repairs_bursts_of_up_to_w_times_r() {
    for w in [2u32, 4] {
        let limit = (w * R) as usize;
        assert!(delivered_despite_burst(w, limit), "W = {w}, burst {limit}");
        // One more symbol lost in each block than it has repair symbols.
        let over = limit + w as usize;
        assert!(!delivered_despite_burst(w, over), "W = {w}, burst {over}");
    }
}

#[test]
fn the_default_interleaves_four_blocks() {
    assert_eq!(SenderConfig::default().interleave_blocks, 4);
    assert_eq!(
        SenderConfig::default().interleave_blocks,
        SenderConfig::DEFAULT_INTERLEAVE_BLOCKS
    );
}
