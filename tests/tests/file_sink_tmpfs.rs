//! The file sink on real tmpfs mounts (root): huge pages where the mount allows them, and a
//! full disk that fails one object with a typed error instead of a SIGBUS.

use xflute::io::file_sink::FileSink;
use xflute::receiver::{ObjectDescription, ObjectSink, SafeRelativePath, SinkObject};
use xflute_tests::netns::require_root;
use xflute_tests::tmpfs::Tmpfs;

fn desc(name: &str, len: u64) -> ObjectDescription {
    ObjectDescription {
        tsi: 1,
        toi: 1,
        path: Some(SafeRelativePath::from_content_location(name).unwrap()),
        len,
        content_type: None,
    }
}

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
    let part = sink.root().join("big.bin.part");
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
    assert!(!sink.root().join("too-big.bin.part").exists());
    let mut object = sink.create(&desc("fits.bin", 1 << 20)).unwrap();
    object.data_mut().fill(7);
    object.commit().unwrap();
    assert_eq!(
        std::fs::read(sink.root().join("fits.bin")).unwrap(),
        vec![7; 1 << 20]
    );
}
