//! Reed-Solomon interop with the flute crate 1.11.7 (RFC 5510: FEC Encoding IDs 5, 129/0 and 2
//! with m = 4, 8, 12, 16): every repair symbol a flute `Sender` emits equals, byte for byte,
//! xflute's encoding of the same source block, and xflute decodes each block in place from
//! flute's repair symbols when the first source symbols are lost.

use std::collections::BTreeMap;
use std::time::SystemTime;

use flute::core::{Oti as FluteOti, UDPEndpoint};
use flute::sender::{Config, ObjectDesc, Sender, TransferConfig};
use xflute::fec::{BlockPartition, ReedSolomon};
use xflute::wire::{AlcPacket, Oti};

/// (name, flute's OTI, B, max parity symbols).
fn flute_otis() -> Vec<(&'static str, FluteOti)> {
    vec![
        (
            "rs28 (ID 5)",
            FluteOti::new_reed_solomon_rs28(1400, 20, 12).unwrap(),
        ),
        (
            "rs28 under-specified (ID 129/0)",
            FluteOti::new_reed_solomon_rs28_under_specified(1400, 20, 12).unwrap(),
        ),
        (
            "rs2m m=8 (ID 2)",
            FluteOti::new_reed_solomon_rs2m(1400, 20, 12, 8).unwrap(),
        ),
        (
            "rs2m m=16 (ID 2)",
            FluteOti::new_reed_solomon_rs2m(1400, 40, 30, 16).unwrap(),
        ),
        (
            "rs2m m=4 (ID 2)",
            FluteOti::new_reed_solomon_rs2m(100, 9, 6, 4).unwrap(),
        ),
        (
            "rs2m m=12 (ID 2)",
            FluteOti::new_reed_solomon_rs2m(1398, 20, 12, 12).unwrap(),
        ),
    ]
}

/// Two full blocks, then a short block whose last symbol is partial.
fn content(oti: &FluteOti) -> Vec<u8> {
    let e = usize::from(oti.encoding_symbol_length);
    let b = oti.maximum_source_block_length as usize;
    let len = 2 * b * e + 7 * e + e / 3;
    xflute_tests::data::random_bytes(len, 1)
}

/// The object's packets from a flute sender: (TOI, packet).
fn flute_packets(oti: &FluteOti, content: Vec<u8>) -> Vec<Vec<u8>> {
    let now = SystemTime::now();
    let endpoint = UDPEndpoint::new(None, "224.0.0.1".to_owned(), 3400);
    let mut sender = Sender::new(endpoint, 1, oti, &Config::default());
    let object = ObjectDesc::create_from_buffer(
        content,
        "application/octet-stream",
        &url::Url::parse("file:///rs.bin").unwrap(),
        false,
        TransferConfig::default(),
    )
    .unwrap();
    sender.add_object(0, object).unwrap();
    sender.publish(now).unwrap();
    let mut packets = Vec::new();
    while let Some(packet) = sender.read(now) {
        packets.push(packet);
        assert!(packets.len() < 100_000, "flute sender does not stop");
    }
    packets
}

#[test]
fn flute_rs_repair_symbols_equal_xflute_encoding_and_decode_in_place() {
    for (what, flute_oti) in flute_otis() {
        let content = content(&flute_oti);
        let packets = flute_packets(&flute_oti, content.clone());

        // The object's OTI, from its packets' EXT_FTI (the FDT is TOI 0).
        let oti: Oti = packets
            .iter()
            .map(|p| AlcPacket::parse(p).unwrap())
            .filter(|p| p.lct().toi != 0)
            .find_map(|p| p.fti())
            .unwrap_or_else(|| panic!("{what}: no EXT_FTI"));
        assert_eq!(oti.transfer_length, content.len() as u64, "{what}");

        // (SBN, ESI) -> encoding symbol.
        let mut symbols: BTreeMap<(u32, u32), Vec<u8>> = BTreeMap::new();
        for packet in &packets {
            let alc = AlcPacket::parse_with_oti(packet, &oti).unwrap();
            if alc.lct().toi == 0 || alc.is_data_less() {
                continue;
            }
            let id = alc.payload_id().unwrap();
            symbols.insert((id.sbn, id.esi), alc.payload().to_vec());
        }

        let e = usize::from(oti.encoding_symbol_length);
        let b = oti.maximum_source_block_length;
        let nb_parity = oti.max_number_of_encoding_symbols - b;
        let partition = BlockPartition::rfc5052(oti.transfer_length, e as u32, b).unwrap();
        assert_eq!(partition.nb_blocks(), 3, "{what}");
        let mut nb_repair_checked = 0;
        for sbn in 0..partition.nb_blocks() {
            let k = partition.block_len_symbols(sbn).unwrap();
            let start = partition.block_offset_bytes(sbn).unwrap() as usize;
            let len = partition.block_len_bytes(sbn).unwrap() as usize;
            let source = &content[start..start + len];

            let code = ReedSolomon::for_oti(&oti, k, k + nb_parity).unwrap();
            let mut repair = vec![0u8; nb_parity as usize * e];
            code.encode(source, &mut repair).unwrap();
            for (i, ours) in repair.chunks(e).enumerate() {
                let esi = k + i as u32;
                let theirs = symbols
                    .get(&(sbn as u32, esi))
                    .unwrap_or_else(|| panic!("{what}: flute sent no SBN {sbn} ESI {esi}"));
                assert!(
                    theirs == ours,
                    "{what}: SBN {sbn} ESI {esi} differs from flute's"
                );
                nb_repair_checked += 1;
            }

            // The receiver's way: the first source symbols are lost, flute's repair symbols
            // replace them, and decoding writes them straight into the block.
            let lost = nb_parity.min(k);
            let mut block = vec![0u8; len];
            let mut decoder = code.decoder();
            for esi in lost..k {
                let symbol = &symbols[&(sbn as u32, esi)];
                // flute pads the last source symbol to E on the wire; the block ends before.
                let at = esi as usize * e;
                let end = (at + symbol.len()).min(len);
                block[at..end].copy_from_slice(&symbol[..end - at]);
                decoder.source_received(esi).unwrap();
            }
            for esi in k..k + lost {
                decoder
                    .push_repair(esi, &symbols[&(sbn as u32, esi)])
                    .unwrap();
            }
            decoder.decode(&mut block).unwrap();
            assert!(block == source, "{what}: SBN {sbn} not recovered");
        }
        assert_eq!(
            nb_repair_checked,
            3 * nb_parity,
            "{what}: every repair symbol compared"
        );
    }
}
