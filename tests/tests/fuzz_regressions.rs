//! What fuzzing found, each case pinned by a test named for what it proves. The crashing inputs
//! themselves are kept in fuzz/regressions/<target>/ and replayed by every fuzz run.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, SystemTime};

use xflute::endpoint::UdpEndpoint;
use xflute::receiver::{Config as ReceiverConfig, MemorySink, MultiReceiver};
use xflute::sender::{Config, ObjectDesc, Profile, Sender, TransferConfig};
use xflute::wire::{AlcPacket, FecEncodingId, Oti, PayloadId, SchemeSpecific};

/// fuzz/regressions/sender_receiver/empty-object-id129: the sender could not write the
/// Payload ID of an empty object under ID 129 (it carries a Source Block Length, which the
/// sender left out), so the object never went out and the receiver never got it.
#[test]
fn an_empty_object_goes_out_and_is_delivered_with_every_fec_scheme() {
    use FecEncodingId as Id;
    let schemes = [
        (Id::NoCode, SchemeSpecific::None),
        (Id::ReedSolomonGf28, SchemeSpecific::None),
        (Id::ReedSolomonGf28UnderSpecified, SchemeSpecific::None),
        (
            Id::ReedSolomonGf2m,
            SchemeSpecific::ReedSolomonGf2m { m: 8, g: 1 },
        ),
        (Id::RaptorQ, SchemeSpecific::RaptorQ { z: 0, n: 1, al: 4 }),
        (Id::Raptor, SchemeSpecific::Raptor { z: 0, n: 1, al: 4 }),
    ];
    let endpoint = UdpEndpoint::new(IpAddr::V4(Ipv4Addr::new(239, 9, 9, 9)), 3400);
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_760_000_000);
    for (id, scheme_specific) in schemes {
        for profile in [Profile::Rfc6726, Profile::Rfc3926] {
            let oti = Oti {
                fec_encoding_id: id,
                fec_instance_id: 0,
                transfer_length: 0,
                encoding_symbol_length: 40,
                maximum_source_block_length: 18,
                max_number_of_encoding_symbols: if id == Id::NoCode { 18 } else { 35 },
                scheme_specific,
            };
            let config = Config {
                profile,
                ..Config::default()
            };
            let mut sender = Sender::new(endpoint, 42, oti, config).unwrap();
            let empty = ObjectDesc::from_buffer(
                Vec::new(),
                "application/octet-stream",
                "file:///empty.bin",
                true,
                TransferConfig::default(),
            )
            .unwrap();
            let toi = sender.add_object(0, empty).unwrap();
            let mut receiver =
                MultiReceiver::new(MemorySink::new(1 << 20), ReceiverConfig::default());
            let mut object_packets = Vec::new();
            for ms in 0..100 {
                let now = start + Duration::from_millis(ms);
                while let Some(p) = sender.read(now) {
                    receiver.push(&endpoint, &p, now).unwrap();
                    let alc = AlcPacket::parse(&p).unwrap();
                    if alc.lct().toi == toi {
                        object_packets.push(alc.payload_id());
                    }
                }
                if sender.nb_objects() == 0 {
                    break;
                }
            }
            let sbl = (id == Id::ReedSolomonGf28UnderSpecified).then_some(0);
            assert_eq!(
                object_packets,
                vec![Some(PayloadId {
                    sbn: 0,
                    esi: 0,
                    source_block_length: sbl
                })],
                "{id:?} {profile:?}"
            );
            let done = receiver.sink_mut().take_completed();
            assert_eq!(done.len(), 1, "{id:?} {profile:?}");
            assert!(done[0].data.is_empty());
        }
    }
}
