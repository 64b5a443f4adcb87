//! Wire micro-benchmarks: parsing a typical ALC data packet (LCT header, in-band EXT_FTI and
//! EXT_CENC, FEC Payload ID, 1400-byte symbol) with xflute and with flute 1.11.7 in the same run,
//! and emitting its header with xflute. Prints the flute/xflute parse-time ratio at the end.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use xflute::wire::{
    AlcPacket, AlcRepr, ExtCenc, ExtRepr, FecEncodingId, LctRepr, Oti, PayloadId, PayloadIdFormat,
    SchemeSpecific,
};

const SYMBOL_LEN: usize = 1400;

fn oti() -> Oti {
    Oti {
        fec_encoding_id: FecEncodingId::NoCode,
        fec_instance_id: 0,
        transfer_length: 64 << 20,
        encoding_symbol_length: SYMBOL_LEN as u16,
        maximum_source_block_length: 64,
        max_number_of_encoding_symbols: 64,
        scheme_specific: SchemeSpecific::None,
    }
}

fn header_repr<'a>(extensions: &'a [ExtRepr<'a>]) -> AlcRepr<'a> {
    AlcRepr {
        lct: LctRepr::with_min_widths(0, 0x1234, Some(42), FecEncodingId::NoCode.into())
            .expect("lct"),
        extensions,
        payload_id: Some((
            PayloadIdFormat::CompactNoCode,
            PayloadId {
                sbn: 17,
                esi: 33,
                source_block_length: None,
            },
        )),
    }
}

fn typical_packet() -> Vec<u8> {
    let extensions = [
        ExtRepr::Cenc(ExtCenc {
            content_encoding: 0,
        }),
        ExtRepr::Fti(oti()),
    ];
    let repr = header_repr(&extensions);
    let mut packet = vec![0u8; repr.buffer_len() + SYMBOL_LEN];
    let len = repr.emit(&mut packet).expect("emit");
    packet[len..].fill(0xA5);
    packet
}

fn xflute_parse(packet: &[u8]) -> usize {
    let parsed = AlcPacket::parse(packet).expect("xflute parse");
    let id = parsed.payload_id().expect("payload id");
    id.esi as usize + parsed.payload().len()
}

fn flute_parse(packet: &[u8]) -> usize {
    let parsed = flute::core::alc::parse_alc_pkt(packet).expect("flute parse");
    let oti = parsed.oti.as_ref().expect("fti");
    let id = flute::core::alc::parse_payload_id(&parsed, oti).expect("payload id");
    id.esi as usize + (packet.len() - parsed.data_payload_offset)
}

/// Mean ns per call of `f` over `iterations` calls.
fn ns_per_call(iterations: u32, mut f: impl FnMut() -> usize) -> f64 {
    let mut sink = 0usize;
    let start = Instant::now();
    for _ in 0..iterations {
        sink = sink.wrapping_add(f());
    }
    let elapsed = start.elapsed();
    black_box(sink);
    elapsed.as_nanos() as f64 / f64::from(iterations)
}

fn bench_wire(c: &mut Criterion) {
    let packet = typical_packet();
    assert_eq!(xflute_parse(&packet), flute_parse(&packet));

    let mut group = c.benchmark_group("wire");
    group.bench_function("xflute_parse_alc_data_packet", |b| {
        b.iter(|| xflute_parse(black_box(&packet)))
    });
    group.bench_function("flute_parse_alc_data_packet", |b| {
        b.iter(|| flute_parse(black_box(&packet)))
    });
    let extensions = [
        ExtRepr::Cenc(ExtCenc {
            content_encoding: 0,
        }),
        ExtRepr::Fti(oti()),
    ];
    let mut out = vec![0u8; packet.len()];
    group.bench_function("xflute_emit_alc_header", |b| {
        b.iter(|| {
            header_repr(black_box(&extensions))
                .emit(black_box(&mut out))
                .expect("emit")
        })
    });
    group.finish();

    // The ratio, from both parsers timed back to back in this run.
    let iterations = 2_000_000;
    let xflute_ns = ns_per_call(iterations, || xflute_parse(black_box(&packet)));
    let flute_ns = ns_per_call(iterations, || flute_parse(black_box(&packet)));
    println!(
        "wire parse, {} iterations: xflute {xflute_ns:.1} ns/packet, flute {flute_ns:.1} ns/packet, flute/xflute = {:.2}x",
        iterations,
        flute_ns / xflute_ns
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = bench_wire
}
criterion_main!(benches);
