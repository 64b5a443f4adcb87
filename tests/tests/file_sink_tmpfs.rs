//! The file sink on real tmpfs mounts (root): huge pages where the mount allows them, and a
//! full disk that fails one object with a typed error instead of a SIGBUS.

use xflute::io::file_sink::FileSink;
use xflute::receiver::{ObjectSink, SinkObject};
use xflute_tests::netns::require_root;
use xflute_tests::session::description as desc;
use xflute_tests::tmpfs::Tmpfs;

/// Kilobytes of the current process's mappings of `path` backed by PMD-sized (2 MiB) pages.
fn pmd_mapped_kib(path: &std::path::Path) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut inside = false;
    let mut total = 0;
    for line in smaps.lines() {
        // A mapping's header line starts with its address range, "start-end".
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            inside = line.ends_with(path.to_str().unwrap());
            continue;
        }
        let pmd = line
            .strip_prefix("FilePmdMapped:")
            .or_else(|| line.strip_prefix("ShmemPmdMapped:"));
        if let (true, Some(rest)) = (inside, pmd) {
            total += rest
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .unwrap();
        }
    }
    total
}

#[test]
fn objects_on_a_huge_within_size_tmpfs_are_mapped_with_2_mib_pages() {
    require_root();
    let fs = Tmpfs::mount("sink-huge", "size=64m,huge=within_size");
    let mut sink = FileSink::new(fs.path(), 1 << 30).unwrap();
    let len = 8u64 << 20;
    let mut object = sink.create(&desc("big.bin", len)).unwrap();
    for (i, b) in object.data_mut().iter_mut().enumerate() {
        *b = i as u8;
    }
    let part = object.temp_path().to_path_buf();
    let huge = pmd_mapped_kib(&part);
    assert!(
        huge >= 2048,
        "no 2 MiB page maps {} ({huge} kB PMD-mapped)",
        part.display()
    );
    object.commit().unwrap();
    let back = std::fs::read(sink.root().join("big.bin")).unwrap();
    assert!(back.iter().enumerate().all(|(i, &b)| b == i as u8));
}

#[test]
fn an_object_larger_than_the_free_space_fails_typed_and_the_next_one_fits() {
    require_root();
    let fs = Tmpfs::mount("sink-full", "size=4m");
    let mut sink = FileSink::new(fs.path(), 1 << 30).unwrap();
    let err = sink.create(&desc("too-big.bin", 8 << 20)).unwrap_err();
    assert!(err.to_string().contains("space"), "{err}");
    assert_eq!(std::fs::read_dir(sink.root()).unwrap().count(), 0);
    let mut object = sink.create(&desc("fits.bin", 1 << 20)).unwrap();
    object.data_mut().fill(7);
    object.commit().unwrap();
    assert_eq!(
        std::fs::read(sink.root().join("fits.bin")).unwrap(),
        vec![7; 1 << 20]
    );
}

/// Blocks of `path` allocated on disk, in bytes.
fn allocated(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().blocks() * 512
}

#[test]
fn a_large_object_is_reserved_chunk_by_chunk_and_a_chunk_that_does_not_fit_is_a_typed_error() {
    use xflute::io::file_sink::RESERVE_CHUNK;
    require_root();
    let fs = Tmpfs::mount("sink-chunks", "size=10m");
    let mut sink = FileSink::new(fs.path(), 1 << 30).unwrap();
    // Both fit the free space when they start (nothing is reserved up front) ...
    let mut a = sink.create(&desc("a.bin", 6 << 20)).unwrap();
    let mut b = sink.create(&desc("b.bin", 6 << 20)).unwrap();
    let a_part = a.temp_path().to_path_buf();
    assert_eq!(
        allocated(&a_part),
        0,
        "nothing reserved before a symbol lands"
    );
    a.reserve(100..200).unwrap();
    assert_eq!(allocated(&a_part), RESERVE_CHUNK, "the first chunk only");
    a.reserve(0..6 << 20).unwrap();
    a.data_mut().fill(1);
    assert_eq!(allocated(&a_part), 6 << 20);
    // ... but the second's second chunk no longer does: an error, not a SIGBUS on writing.
    b.reserve(0..1).unwrap();
    let b_part = b.temp_path().to_path_buf();
    let err = b.reserve((5 << 20)..(5 << 20) + 1).unwrap_err();
    assert!(err.to_string().contains("No space left"), "{err}");
    b.abort();
    a.commit().unwrap();
    assert_eq!(
        std::fs::read(sink.root().join("a.bin")).unwrap(),
        vec![1; 6 << 20]
    );
    assert!(!b_part.exists());
}

#[test]
fn a_receiver_fails_the_object_whose_chunk_finds_the_disk_full_and_completes_the_one_before() {
    use std::time::SystemTime;
    use xflute::endpoint::UdpEndpoint;
    use xflute::receiver::{Config, FailReason, MultiReceiver, ObjectEvent};
    require_root();
    let fs = Tmpfs::mount("sink-receiver-full", "size=10m");
    let endpoint = UdpEndpoint::new("239.255.7.9".parse().unwrap(), 3400);
    let first = xflute_tests::data::random_bytes(6 << 20, 1);
    let second = xflute_tests::data::random_bytes(6 << 20, 2);
    let mut sender =
        xflute_tests::session::no_code_sender(endpoint, 1, "first.bin", first.clone(), false);
    let object = xflute::sender::ObjectDesc::from_buffer(
        second,
        "application/octet-stream",
        "file:///second.bin",
        true,
        xflute::sender::TransferConfig::default(),
    )
    .unwrap();
    sender.add_object(0, object).unwrap();
    let sink = FileSink::new(fs.path(), 1 << 30).unwrap();
    let root = sink.root().to_path_buf();
    let mut receiver = MultiReceiver::new(sink, Config::default());
    let mut packet = vec![0u8; sender.max_packet_len()];
    let now = SystemTime::now();
    while let Some(len) = sender.write_next(&mut packet, now) {
        let _ = receiver.push(&endpoint, &packet[..len], now);
    }
    let mut completed = Vec::new();
    let mut failed = Vec::new();
    while let Some(event) = receiver.poll_event() {
        match event {
            ObjectEvent::Completed { meta, .. } => completed.push(meta.content_location.clone()),
            ObjectEvent::Failed { meta, reason, .. } => {
                failed.push((meta.and_then(|m| m.content_location.clone()), reason))
            }
            _ => {}
        }
    }
    assert_eq!(completed, [Some("file:///first.bin".to_string())]);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0.as_deref(), Some("file:///second.bin"));
    assert!(
        matches!(&failed[0].1, FailReason::Sink(m) if m.contains("No space left")),
        "{:?}",
        failed[0].1
    );
    assert_eq!(std::fs::read(root.join("first.bin")).unwrap(), first);
    assert_eq!(
        std::fs::read_dir(&root).unwrap().count(),
        1,
        "only first.bin"
    );
}

#[test]
fn large_objects_are_unmapped_on_the_unmapper_thread_which_ends_once_the_sinks_are_gone() {
    use xflute::io::file_sink::SinkThreads;
    require_root();
    let fs = Tmpfs::mount("sink-unmap", "size=64m");
    let (unmapper, thread) = SinkThreads::start().unwrap();
    let mut sink = FileSink::new(fs.path(), 1 << 30)
        .unwrap()
        .with_threads(unmapper);
    // A large committed object, a large aborted one, and a small one unmapped in place.
    let mut big = sink.create(&desc("big.bin", 12 << 20)).unwrap();
    big.reserve(0..12 << 20).unwrap();
    big.data_mut().fill(5);
    big.commit().unwrap();
    let mut gone = sink.create(&desc("gone.bin", 8 << 20)).unwrap();
    gone.reserve(0..8 << 20).unwrap();
    gone.data_mut().fill(6);
    let gone_part = gone.temp_path().to_path_buf();
    gone.abort();
    let mut small = sink.create(&desc("small.bin", 1000)).unwrap();
    small.data_mut().fill(7);
    small.commit().unwrap();
    drop(sink);
    thread.join().unwrap();
    assert_eq!(
        std::fs::read(fs.path().join("big.bin")).unwrap(),
        vec![5; 12 << 20]
    );
    assert_eq!(
        std::fs::read(fs.path().join("small.bin")).unwrap(),
        vec![7; 1000]
    );
    assert!(!fs.path().join("gone.bin").exists());
    assert!(!gone_part.exists());
    // No mapping of the output files is left in this process.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(
        !maps.contains(fs.path().to_str().unwrap()),
        "a mapping survived the unmapper"
    );
}
