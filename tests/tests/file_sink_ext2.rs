//! The file sink on a loop-mounted ext2 (root), a file system without `fallocate` (issue 18,
//! class 2): a full disk fails the object that does not fit with a typed error and removes its
//! temporary file; no write into a mapping ever faults (before, the sparse file's pages were
//! allocated only when written, and the receiver died of SIGBUS when the disk was full).
//!
//! Each test mounts the file system and runs its body in a child process (this test binary,
//! filtered to the one test): a SIGBUS, were it back, kills only the child, and the parent
//! still unmounts and removes the image.

mod receiver_support;

use std::path::Path;
use std::time::SystemTime;

use receiver_support::craft::{self, file};
use receiver_support::{TSI, endpoint, events, files_below};
use xflute::io::file_sink::FileSink;
use xflute::receiver::{
    Config, DropReason, FailReason, MultiReceiver, ObjectEvent, ObjectSink, SinkObject,
};
use xflute_tests::data::random_bytes;
use xflute_tests::netns::require_root;
use xflute_tests::session::description as desc;
use xflute_tests::tmpfs::{Ext2, free_bytes};

const MIB: u64 = 1 << 20;
/// Set in the child: where the parent mounted the file system.
const CHILD_DIR: &str = "XFLUTE_EXT2_TEST_DIR";

/// Mounts an ext2 of `mib` MiB and runs `body` on it in a child process; fails with the
/// child's output if the child fails or dies of a signal.
fn on_ext2(test: &str, mib: u64, body: fn(&Path)) {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        body(Path::new(&dir));
        return;
    }
    require_root();
    let fs = Ext2::mount(test, mib);
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, fs.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{test} on ext2: {:?}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The files below `dir`, without ext2's own `lost+found`.
fn names(dir: &Path) -> Vec<String> {
    files_below(dir)
        .into_iter()
        .filter(|n| !n.starts_with("lost+found"))
        .collect()
}

#[test]
fn small_objects_on_a_full_ext2_are_allocated_when_they_start_and_the_one_that_does_not_fit_fails()
{
    on_ext2(
        "small_objects_on_a_full_ext2_are_allocated_when_they_start_and_the_one_that_does_not_fit_fails",
        8,
        |dir| {
            let mut sink = FileSink::new(dir, 1 << 30).unwrap();
            let mut objects = Vec::new();
            let mut refused = None;
            // 3 MiB each (whole-object reservation at the start): the third does not fit.
            for i in 0..3 {
                match sink.create(&desc(&format!("f{i}.bin"), 3 * MIB)) {
                    Ok(object) => objects.push(object),
                    Err(e) => {
                        refused = Some(e);
                        break;
                    }
                }
            }
            let refused = refused.expect("the disk holds less than 9 MiB");
            assert!(refused.to_string().contains("No space left"), "{refused}");
            assert_eq!(objects.len(), 2);
            // Every page of the objects that started is backed: writing them cannot fault.
            for (i, object) in objects.iter_mut().enumerate() {
                object.data_mut().fill(i as u8 + 1);
            }
            for object in objects {
                object.commit().unwrap();
            }
            assert_eq!(names(dir), ["f0.bin", "f1.bin"]);
            assert_eq!(
                std::fs::read(dir.join("f1.bin")).unwrap(),
                vec![2u8; 3 * MIB as usize]
            );
        },
    );
}

#[test]
fn a_receiver_on_a_full_ext2_fails_the_object_whose_chunk_does_not_fit_and_completes_the_other() {
    on_ext2(
        "a_receiver_on_a_full_ext2_fails_the_object_whose_chunk_does_not_fit_and_completes_the_other",
        12,
        |dir| {
            let free = free_bytes(dir);
            // Both fit the free space when they start (and their first chunks too), not
            // together.
            let len = 6 * MIB as usize;
            assert!(
                free > len as u64 + 4 * MIB && free < 2 * len as u64,
                "{free}"
            );
            let a = random_bytes(len, 1);
            let b = random_bytes(len, 2);
            let now = SystemTime::now();
            let mut fa = file(1, "a.bin", len as u64);
            fa.content_md5 = Some(xflute::sender::content_md5(&a));
            let mut fb = file(2, "b.bin", len as u64);
            fb.content_md5 = Some(xflute::sender::content_md5(&b));
            let fdt = craft::fdt(TSI, 1, vec![fa, fb], now, 3600);
            let a_packets = craft::object(TSI, 1, &a, false, None, None);
            let b_packets = craft::object(TSI, 2, &b, false, None, None);
            let sink = FileSink::new(dir, 1 << 30).unwrap();
            let mut receiver = MultiReceiver::new(sink, Config::default());
            let ep = endpoint();
            for p in &fdt {
                receiver.push(&ep, p, now).unwrap();
            }
            for (pa, pb) in a_packets.iter().zip(&b_packets) {
                let _ = receiver.push(&ep, pa, now);
                let _ = receiver.push(&ep, pb, now);
            }
            let mut completed = Vec::new();
            let mut failed = Vec::new();
            for event in events(&mut receiver) {
                match event {
                    ObjectEvent::Completed { toi, .. } => completed.push(toi),
                    ObjectEvent::Failed { toi, reason, .. } => failed.push((toi, reason)),
                    _ => {}
                }
            }
            assert_eq!(completed, [1]);
            assert!(
                matches!(&failed[..], [(2, FailReason::Sink(m))] if m.contains("No space left")),
                "{failed:?}"
            );
            assert!(receiver.stats().drops(DropReason::Sink) >= 1);
            assert_eq!(std::fs::read(dir.join("a.bin")).unwrap(), a);
            // No temporary file is left, and nothing under b's name.
            assert_eq!(names(dir), ["a.bin"]);
        },
    );
}
