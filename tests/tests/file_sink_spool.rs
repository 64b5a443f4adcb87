//! The spool on real tmpfs mounts (root): a large object is written into space reserved before
//! it started, trimmed to its length, named only on commit; the spool refills in the
//! background, leaves nothing behind, and a disk too full to hold a piece only costs the sink
//! its shortcut.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use xflute::io::file_sink::{FileSink, is_temp_name_of};
use xflute::io::spool::Spool;
use xflute::receiver::{ObjectSink, SinkObject};
use xflute_tests::data::{SplitMix64, is_random_bytes};
use xflute_tests::netns::require_root;
use xflute_tests::session::description as desc;
use xflute_tests::tmpfs::Tmpfs;

const MIB: u64 = 1 << 20;

/// Bytes in use on the file system of `path`, as `df` counts them.
fn used(path: &Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=used", "-B1"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "df failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_large_object_takes_the_reserved_piece_is_trimmed_to_its_length_and_the_spool_refills() {
    require_root();
    let fs = Tmpfs::mount("spool-take", "size=64m");
    let spool = Arc::new(Spool::new(fs.path(), 16 * MIB).unwrap());
    assert!(
        used(fs.path()) >= 16 * MIB,
        "the first piece is reserved before new() returns"
    );
    assert!(names(fs.path()).is_empty(), "a piece has no name");
    let mut sink = FileSink::new(fs.path(), 1 << 30)
        .unwrap()
        .with_spool(Arc::clone(&spool));
    let len = 10 * MIB + 123;
    let mut object = sink.create(&desc("big.bin", len)).unwrap();
    assert_eq!(spool.stats().taken, 1);
    assert_eq!(
        object.data_mut().len() as u64,
        len,
        "only the object is exposed"
    );
    assert_eq!(names(fs.path()).len(), 1);
    assert_eq!(
        object.temp_path().file_name(),
        Some(std::ffi::OsStr::new(&names(fs.path())[0]))
    );
    assert!(is_temp_name_of(
        object.temp_path().file_name().unwrap(),
        "big.bin"
    ));
    SplitMix64::new(1).fill_bytes(object.data_mut());
    object.commit().unwrap();
    assert_eq!(names(fs.path()), ["big.bin"]);
    let back = std::fs::read(fs.path().join("big.bin")).unwrap();
    assert_eq!(back.len() as u64, len, "trimmed to the object's length");
    assert!(is_random_bytes(&back, 1));
    assert!(
        spool.wait_ready(Duration::from_secs(20)),
        "the spool refills"
    );
    assert_eq!(spool.stats().filled, 2);
}

#[test]
fn no_piece_is_built_while_an_object_that_took_one_is_being_received() {
    require_root();
    let fs = Tmpfs::mount("spool-busy", "size=64m");
    let spool = Arc::new(Spool::new(fs.path(), 8 * MIB).unwrap());
    let mut sink = FileSink::new(fs.path(), 1 << 30)
        .unwrap()
        .with_spool(Arc::clone(&spool));
    let mut object = sink.create(&desc("busy.bin", 6 * MIB)).unwrap();
    // Long past the quiet spell: the object is still in flight, so nothing is built.
    assert!(!spool.wait_ready(Duration::from_millis(1500)));
    assert_eq!(spool.stats().filled, 1);
    object.data_mut().fill(4);
    object.commit().unwrap();
    assert!(
        spool.wait_ready(Duration::from_secs(20)),
        "refilled once it is finished"
    );
    assert_eq!(spool.stats().filled, 2);
}

#[test]
fn small_objects_and_objects_larger_than_a_piece_take_the_usual_path() {
    require_root();
    let fs = Tmpfs::mount("spool-skip", "size=64m");
    let spool = Arc::new(Spool::new(fs.path(), 8 * MIB).unwrap());
    let mut sink = FileSink::new(fs.path(), 1 << 30)
        .unwrap()
        .with_spool(Arc::clone(&spool));
    for (name, len) in [("small.bin", MIB), ("large.bin", 12 * MIB)] {
        let mut object = sink.create(&desc(name, len)).unwrap();
        object.reserve(0..len as usize).unwrap();
        object.data_mut().fill(9);
        object.commit().unwrap();
        assert_eq!(
            std::fs::read(fs.path().join(name)).unwrap(),
            vec![9; len as usize]
        );
    }
    let stats = spool.stats();
    assert_eq!((stats.taken, stats.filled), (0, 1), "{stats:?}");
    assert!(spool.is_ready());
}

#[test]
fn an_aborted_spooled_object_leaves_no_file_and_a_dropped_spool_gives_its_space_back() {
    require_root();
    let fs = Tmpfs::mount("spool-abort", "size=64m");
    let before = used(fs.path());
    {
        let spool = Arc::new(Spool::new(fs.path(), 16 * MIB).unwrap());
        let mut sink = FileSink::new(fs.path(), 1 << 30)
            .unwrap()
            .with_spool(Arc::clone(&spool));
        let mut object = sink.create(&desc("dir/gone.bin", 12 * MIB)).unwrap();
        assert_eq!(spool.stats().taken, 1);
        object.data_mut().fill(3);
        let part = object.temp_path().to_path_buf();
        object.abort();
        assert!(!fs.path().join("dir/gone.bin").exists());
        assert!(!part.exists());
        assert!(spool.wait_ready(Duration::from_secs(20)));
    }
    // The directory made for the object went with it.
    assert!(names(fs.path()).is_empty());
    assert!(
        used(fs.path()) <= before + MIB,
        "the spool's space is free again: {} bytes used, {before} before",
        used(fs.path())
    );
}

#[test]
fn a_disk_too_full_for_the_next_piece_counts_failures_and_the_sink_goes_on_without() {
    require_root();
    let fs = Tmpfs::mount("spool-full", "size=24m");
    let spool = Arc::new(Spool::new(fs.path(), 16 * MIB).unwrap());
    let mut sink = FileSink::new(fs.path(), 1 << 30)
        .unwrap()
        .with_spool(Arc::clone(&spool));
    let mut first = sink.create(&desc("first.bin", 14 * MIB)).unwrap();
    first.data_mut().fill(1);
    first.commit().unwrap();
    // 14 MiB stay used: a second 16 MiB piece cannot be built.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while spool.stats().fill_failures == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no failure counted: {:?}",
            spool.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!spool.is_ready());
    let mut second = sink.create(&desc("second.bin", 6 * MIB)).unwrap();
    assert!(spool.stats().missed >= 1);
    second.reserve(0..6 * MIB as usize).unwrap();
    second.data_mut().fill(2);
    second.commit().unwrap();
    assert_eq!(
        std::fs::read(fs.path().join("second.bin")).unwrap(),
        vec![2; 6 * MIB as usize]
    );
    // Space comes back: the filler, retrying every second, builds the piece.
    std::fs::remove_file(fs.path().join("first.bin")).unwrap();
    std::fs::remove_file(fs.path().join("second.bin")).unwrap();
    assert!(spool.wait_ready(Duration::from_secs(20)));
}

#[test]
fn a_spool_of_zero_bytes_is_refused() {
    let dir = xflute_tests::tempdir::TempDir::new("spool-zero");
    let err = Spool::new(dir.path(), 0).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
