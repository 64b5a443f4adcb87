//! Objects an FDT announces are prepared ahead by the sink (issue 19: file creation off the
//! receive worker's packet loop): the receiver tells the sink each announced object with the
//! very description it creates it with later, only for objects it would store in the sink,
//! and the file sink's thread has their temporary files ready when the first packet comes.

mod receiver_support;

use std::time::{Duration, Instant, SystemTime};

use receiver_support::craft::{self, file};
use receiver_support::*;
use xflute::io::file_sink::{FileSink, SinkThreads, is_temp_name};
use xflute::receiver::{
    Config, Limits, MemorySink, MultiReceiver, ObjectDescription, ObjectEvent, ObjectSink,
    SinkError,
};
use xflute_tests::TempDir;

/// A memory sink that records what it is told.
struct Recording {
    inner: MemorySink,
    expected: Vec<ObjectDescription>,
    created: Vec<ObjectDescription>,
}

impl ObjectSink for Recording {
    type Object = <MemorySink as ObjectSink>::Object;

    fn create(&mut self, desc: &ObjectDescription) -> Result<Self::Object, SinkError> {
        self.created.push(desc.clone());
        self.inner.create(desc)
    }

    fn expect(&mut self, desc: &ObjectDescription) {
        self.expected.push(desc.clone());
    }
}

fn completed<S: ObjectSink>(r: &mut MultiReceiver<S>) -> Vec<u128> {
    events(r)
        .into_iter()
        .filter_map(|e| match e {
            ObjectEvent::Completed { toi, .. } => Some(toi),
            _ => None,
        })
        .collect()
}

#[test]
fn each_announced_object_is_expected_with_the_description_it_is_created_with() {
    let now = SystemTime::now();
    let a = content(5_000, 1);
    let b = content(12_345, 2);
    let mut typed = file(2, "dir/b.txt", b.len() as u64);
    typed.content_type = Some("text/plain".into());
    let mut gzipped = file(3, "c.gz", 100);
    gzipped.content_encoding = Some("gzip".into());
    let huge = file(4, "huge.bin", 1 << 40);
    let fdt = craft::fdt(
        TSI,
        1,
        vec![file(1, "a.bin", a.len() as u64), typed, gzipped, huge],
        now,
        3600,
    );
    let mut config = Config::default();
    config.limits = Limits {
        max_object_bytes: 1 << 30,
        ..config.limits
    };
    let sink = Recording {
        inner: MemorySink::new(1 << 30),
        expected: Vec::new(),
        created: Vec::new(),
    };
    let mut r = MultiReceiver::new(sink, config);
    for p in &fdt {
        let _ = r.push(&endpoint(), p, now);
    }
    // Announced again by the carousel: told once.
    for p in &fdt {
        let _ = r.push(&endpoint(), p, now);
    }
    let expected: Vec<u128> = r.sink().expected.iter().map(|d| d.toi).collect();
    // Neither the content-encoded object (held in memory) nor one over the limits.
    assert_eq!(expected, [1, 2]);
    assert!(r.sink().created.is_empty());

    for p in craft::object(TSI, 2, &b, false, None, None)
        .iter()
        .chain(&craft::object(TSI, 1, &a, false, None, None))
    {
        let _ = r.push(&endpoint(), p, now);
    }
    assert_eq!(completed(&mut r), [2, 1]);
    let sink = r.sink();
    let created_2 = sink.created.iter().find(|d| d.toi == 2).unwrap();
    let created_1 = sink.created.iter().find(|d| d.toi == 1).unwrap();
    assert_eq!(&sink.expected[1], created_2);
    assert_eq!(&sink.expected[0], created_1);
    assert_eq!(created_2.content_type.as_deref(), Some("text/plain"));
}

#[test]
fn a_file_sink_has_the_announced_files_ready_before_their_first_packet() {
    let out = TempDir::new("prepare-ahead");
    let now = SystemTime::now();
    let (threads, joined) = SinkThreads::start().unwrap();
    let sink = FileSink::new(out.path(), 1 << 30)
        .unwrap()
        .with_threads(threads.clone());
    let mut r = MultiReceiver::new(sink, Config::default());
    let data: Vec<Vec<u8>> = (0..20)
        .map(|i| content(200_000 + i * 7, i as u64))
        .collect();
    let files = data
        .iter()
        .enumerate()
        .map(|(i, d)| file(i as u128 + 1, &format!("f/{i}.bin"), d.len() as u64))
        .collect();
    for p in &craft::fdt(TSI, 1, files, now, 3600) {
        let _ = r.push(&endpoint(), p, now);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while threads.prepare_stats().prepared < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = threads.prepare_stats();
    assert_eq!((stats.asked, stats.prepared), (20, 20), "{stats:?}");
    let waiting = files_below(out.path())
        .into_iter()
        .filter(|f| is_temp_name(std::path::Path::new(f).file_name().unwrap()))
        .count();
    assert_eq!(waiting, 20);

    for (i, d) in data.iter().enumerate() {
        for p in craft::object(TSI, i as u128 + 1, d, false, None, None) {
            let _ = r.push(&endpoint(), &p, now);
        }
    }
    assert_eq!(completed(&mut r).len(), 20);
    let stats = threads.prepare_stats();
    assert_eq!((stats.claimed, stats.missed), (20, 0), "{stats:?}");
    drop((r, threads));
    joined.join().unwrap();
    let mut names = files_below(out.path());
    names.sort();
    assert_eq!(names.len(), 20, "{names:?}");
    for (i, d) in data.iter().enumerate() {
        assert_eq!(
            &std::fs::read(out.path().join(format!("f/{i}.bin"))).unwrap(),
            d
        );
    }
}
