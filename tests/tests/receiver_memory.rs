//! One memory budget for everything the receiver holds for unverified input (issue 18, class
//! 4), charged when memory is really allocated, never at a size the network declares: FDT
//! instances (gzip ones included) and content-encoded objects allocate nothing up front, one-byte
//! symbols cannot make bookkeeping exceed the budget, and a large content-encoded object goes
//! through the file system, decoded as a stream.

mod receiver_support;

use std::time::{Duration, SystemTime};

use receiver_support::craft::{self, file};
use receiver_support::*;
use xflute::cenc::{Cenc, encode};
use xflute::io::file_sink::FileSink;
use xflute::receiver::{
    Config, DropReason, FailReason, Limits, MemorySink, MultiReceiver, ObjectEvent,
};
use xflute_tests::TempDir;
use xflute_tests::hostile::fdt_packet;

/// Anonymous memory of this process, in KiB (`RssAnon`).
fn rss_anon_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn gzip_fdt_instances_declaring_4_mib_each_hold_only_what_their_symbols_took() {
    let now = SystemTime::now();
    let limits = Limits::default();
    let mut r = MultiReceiver::new(MemorySink::new(1 << 30), Config::default());
    let before = rss_anon_kib();
    // 256 sessions of 8 instances each, every one declaring the 4 MiB the FDT cap allows: they
    // used to zero-fill 4 MiB each, 8 GiB in all, from 2048 packets.
    let oti = craft::oti(limits.max_fdt_bytes as u64);
    for tsi in 0..256u64 {
        for id in 0..8u32 {
            let at = now + Duration::from_micros(tsi * 8 + u64::from(id));
            let _ = r.push(&endpoint(), &fdt_packet(tsi, id, oti, Some(Cenc::Gzip)), at);
            assert!(r.memory_bytes() <= limits.max_memory_bytes);
        }
    }
    let grown_mib = rss_anon_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 256, "RssAnon grew by {grown_mib} MiB");
    let stats = r.stats();
    assert_eq!(stats.total_drops(), 0, "{stats:?}");
    // What they hold: one symbol each, their bookkeeping.
    assert!(r.memory_bytes() < (2048 * 8) << 10, "{}", r.memory_bytes());
}

#[test]
fn fdt_instances_of_one_byte_symbols_charge_their_bookkeeping_within_the_budget() {
    let now = SystemTime::now();
    let limits = Limits::default();
    let mut r = MultiReceiver::new(MemorySink::new(1 << 30), Config::default());
    let before = rss_anon_kib();
    // E = 1, B = 1: 4 Mi blocks of bookkeeping per 4 MiB instance, about 19 MB each; 384 of
    // them used to take 7 GiB.
    let mut oti = craft::oti(limits.max_fdt_bytes as u64);
    oti.encoding_symbol_length = 1;
    oti.maximum_source_block_length = 1;
    oti.max_number_of_encoding_symbols = 1;
    for i in 0..384u64 {
        let (tsi, id) = (i / 8, (i % 8) as u32);
        let at = now + Duration::from_micros(i);
        let _ = r.push(&endpoint(), &fdt_packet(tsi, id, oti, None), at);
        assert!(r.memory_bytes() <= limits.max_memory_bytes);
    }
    let grown_mib = rss_anon_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 256, "RssAnon grew by {grown_mib} MiB");
    assert!(r.stats().drops(DropReason::MemoryLimit) > 0);
}

#[test]
fn a_gzip_object_declaring_4_gib_takes_no_memory_and_goes_through_the_file_sink() {
    let out = TempDir::new("memory-4gib");
    let now = SystemTime::now();
    let declared = (4u64 << 30) - 1;
    let mut f = file(1, "huge.gz.bin", declared);
    f.content_encoding = Some("gzip".into());
    f.content_length = Some(declared);
    let mut packets = craft::fdt(TSI, 1, vec![f], now, 3600);
    for esi in 0..3 {
        packets.push(craft::packet(
            TSI,
            1,
            0,
            esi,
            &[0x1f; craft::SYMBOL_LEN as usize],
            None,
            None,
            None,
            false,
        ));
    }
    let mut r = MultiReceiver::new(
        FileSink::new(out.path(), 1 << 33).unwrap(),
        Config::default(),
    );
    let before = rss_anon_kib();
    for p in &packets {
        r.push(&endpoint(), p, now).unwrap();
    }
    assert_eq!(r.nb_objects(), 1);
    let grown_mib = rss_anon_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 64, "RssAnon grew by {grown_mib} MiB");
    // Only its bookkeeping is in memory; the encoded bytes are in its temporary file.
    assert!(r.memory_bytes() < 8 << 20, "{}", r.memory_bytes());
    assert_eq!(files_below(out.path()).len(), 1);
    r.close_all(now);
    assert!(files_below(out.path()).is_empty());
}

#[test]
fn large_content_encoded_objects_are_streamed_through_the_sink_with_and_without_content_length() {
    let out = TempDir::new("memory-stream");
    let now = SystemTime::now();
    // Several MiB of content that compresses to more than the in-memory limit.
    let content = content(6 << 20, 5);
    let encoded = encode(Cenc::Gzip, &content).unwrap();
    assert!(encoded.len() as u64 > xflute::receiver::ENCODED_IN_MEMORY_MAX_BYTES);
    let mut with_length = file(1, "with.bin", encoded.len() as u64);
    with_length.content_encoding = Some("gzip".into());
    with_length.content_length = Some(content.len() as u64);
    with_length.content_md5 = Some(xflute::sender::content_md5(&content));
    let mut without = with_length.clone();
    without.toi = 2;
    without.content_location = "file:///without.bin".into();
    without.content_length = None;
    let mut packets = craft::fdt(TSI, 1, vec![with_length, without], now, 3600);
    packets.extend(craft::object(TSI, 1, &encoded, false, None, None));
    packets.extend(craft::object(TSI, 2, &encoded, false, None, None));
    let mut r = MultiReceiver::new(
        FileSink::new(out.path(), 1 << 30).unwrap(),
        Config::default(),
    );
    for p in &packets {
        r.push(&endpoint(), p, now).unwrap();
    }
    let failed: Vec<FailReason> = events(&mut r)
        .into_iter()
        .filter_map(|e| match e {
            ObjectEvent::Failed { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(r.stats().objects_completed, 2);
    assert!(std::fs::read(out.path().join("with.bin")).unwrap() == content);
    assert!(std::fs::read(out.path().join("without.bin")).unwrap() == content);
    assert_eq!(files_below(out.path()), ["with.bin", "without.bin"]);
    assert_eq!(r.memory_bytes(), r.description_bytes() as u64);
}
