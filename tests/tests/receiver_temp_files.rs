//! Temporary files of the file sink under hostile naming (issue 18, class 1): objects that name
//! the same file, a name that is another's old `.part` name, a user's `.part` file, and names
//! of the form of the sink's own temporary files. Each object writes only its own temporary
//! file; a final name only ever holds a whole verified object (the last one verified); a user's
//! file is never touched, not even by the sweep at the next start; nothing dies of SIGBUS.

mod receiver_support;

use std::time::SystemTime;

use receiver_support::craft::{self, file, later};
use receiver_support::*;
use xflute::io::file_sink::{FileSink, is_temp_name};
use xflute::receiver::{Config, FailReason, MultiReceiver, ObjectEvent, ObjectSink, SinkObject};
use xflute_tests::TempDir;
use xflute_tests::session::description;

fn receiver(out: &std::path::Path) -> MultiReceiver<FileSink> {
    MultiReceiver::new(FileSink::new(out, 1 << 30).unwrap(), Config::default())
}

/// A File entry with the Content-MD5 of `data`.
fn verified(toi: u128, location: &str, data: &[u8]) -> xflute::fdt::File {
    let mut f = file(toi, location, data.len() as u64);
    f.content_md5 = Some(xflute::sender::content_md5(data));
    f
}

fn push(r: &mut MultiReceiver<FileSink>, packets: &[Vec<u8>], now: SystemTime) {
    for p in packets {
        let _ = r.push(&endpoint(), p, now);
    }
}

/// (completed TOIs, failed TOIs with their reasons), in order.
fn outcomes(r: &mut MultiReceiver<FileSink>) -> (Vec<u128>, Vec<(u128, FailReason)>) {
    let mut completed = Vec::new();
    let mut failed = Vec::new();
    for event in events(r) {
        match event {
            ObjectEvent::Completed { toi, .. } => completed.push(toi),
            ObjectEvent::Failed { toi, reason, .. } => failed.push((toi, reason)),
            _ => {}
        }
    }
    (completed, failed)
}

fn temp_files_below(dir: &std::path::Path) -> Vec<String> {
    files_below(dir)
        .into_iter()
        .filter(|f| {
            let name = std::path::Path::new(f).file_name().unwrap();
            is_temp_name(name)
        })
        .collect()
}

#[test]
fn two_tois_naming_one_file_interleaved_write_their_own_files_and_the_last_verified_wins() {
    let out = TempDir::new("temp-same-name");
    let now = SystemTime::now();
    // The larger first: under a shared `.part` the smaller one truncated the file under the
    // larger one's mapping, whose next write was a SIGBUS.
    let big = content(64_000, 1);
    let small = content(3_000, 2);
    let fdt = craft::fdt(
        TSI,
        1,
        vec![
            verified(1, "same.bin", &big),
            verified(2, "same.bin", &small),
        ],
        now,
        3600,
    );
    let big_packets = craft::object(TSI, 1, &big, false, None, None);
    let small_packets = craft::object(TSI, 2, &small, false, None, None);
    let mut r = receiver(out.path());
    push(&mut r, &fdt, now);
    push(&mut r, &big_packets[..1], now);
    push(&mut r, &small_packets[..1], now);
    push(&mut r, &big_packets[1..], now);
    assert_eq!(std::fs::read(out.path().join("same.bin")).unwrap(), big);
    push(&mut r, &small_packets[1..], now);
    assert_eq!(outcomes(&mut r), (vec![1, 2], vec![]));
    // The last verified holds the name; no temporary file is left.
    assert_eq!(std::fs::read(out.path().join("same.bin")).unwrap(), small);
    assert_eq!(files_below(out.path()), ["same.bin"]);
}

#[test]
fn a_verified_file_is_not_overwritten_by_another_object_of_the_same_name_still_in_flight() {
    let out = TempDir::new("temp-overwrite");
    let now = SystemTime::now();
    let a = content(20_000, 3);
    let b = content(20_000, 4);
    let fdt = craft::fdt(
        TSI,
        1,
        vec![verified(1, "doc.bin", &a), verified(2, "doc.bin", &b)],
        now,
        3600,
    );
    let a_packets = craft::object(TSI, 1, &a, false, None, None);
    let b_packets = craft::object(TSI, 2, &b, false, None, None);
    let mut r = receiver(out.path());
    push(&mut r, &fdt, now);
    // A starts, B is received whole and verified, then A goes on but never completes.
    push(&mut r, &a_packets[..1], now);
    push(&mut r, &b_packets, now);
    assert_eq!(std::fs::read(out.path().join("doc.bin")).unwrap(), b);
    push(&mut r, &a_packets[1..a_packets.len() - 1], now);
    assert_eq!(
        std::fs::read(out.path().join("doc.bin")).unwrap(),
        b,
        "a partial object wrote into a completed, verified file"
    );
    r.cleanup(later(now, 11));
    let (completed, failed) = outcomes(&mut r);
    assert_eq!(completed, [2]);
    assert_eq!(failed, [(1, FailReason::Timeout)]);
    assert_eq!(std::fs::read(out.path().join("doc.bin")).unwrap(), b);
    assert_eq!(files_below(out.path()), ["doc.bin"]);
}

#[test]
fn objects_named_x_and_x_part_interleaved_each_keep_their_own_bytes() {
    let out = TempDir::new("temp-x-part");
    let now = SystemTime::now();
    let x = content(9_000, 5);
    let x_part = content(9_000, 6);
    let fdt = craft::fdt(
        TSI,
        1,
        vec![verified(1, "x", &x), verified(2, "x.part", &x_part)],
        now,
        3600,
    );
    let xs = craft::object(TSI, 1, &x, false, None, None);
    let parts = craft::object(TSI, 2, &x_part, false, None, None);
    let mut r = receiver(out.path());
    push(&mut r, &fdt, now);
    for (a, b) in xs.iter().zip(&parts) {
        push(&mut r, std::slice::from_ref(b), now);
        push(&mut r, std::slice::from_ref(a), now);
    }
    let (mut completed, failed) = outcomes(&mut r);
    completed.sort();
    assert_eq!((completed, failed), (vec![1, 2], vec![]));
    assert_eq!(std::fs::read(out.path().join("x")).unwrap(), x);
    assert_eq!(std::fs::read(out.path().join("x.part")).unwrap(), x_part);
}

#[test]
fn a_users_report_part_survives_receiving_report_and_a_received_x_part_survives_a_restart() {
    let out = TempDir::new("temp-user-part");
    let now = SystemTime::now();
    std::fs::write(out.path().join("report.part"), b"the user's draft").unwrap();
    let report = content(5_000, 7);
    let x_part = content(4_000, 8);
    let mut packets = craft::fdt(
        TSI,
        1,
        vec![
            verified(1, "report", &report),
            verified(2, "x.part", &x_part),
        ],
        now,
        3600,
    );
    packets.extend(craft::object(TSI, 1, &report, false, None, None));
    packets.extend(craft::object(TSI, 2, &x_part, false, None, None));
    let mut r = receiver(out.path());
    push(&mut r, &packets, now);
    assert_eq!(outcomes(&mut r), (vec![1, 2], vec![]));
    assert_eq!(
        std::fs::read(out.path().join("report.part")).unwrap(),
        b"the user's draft"
    );
    assert_eq!(std::fs::read(out.path().join("report")).unwrap(), report);
    // The next start sweeps only the sink's own temporary files: a stale one goes, the
    // completed `x.part` and the user's `report.part` stay.
    drop(r);
    let mut sink = FileSink::new(out.path(), 1 << 30).unwrap();
    let mut half = sink.create(&description("report", 10)).unwrap();
    half.data_mut().fill(1);
    let stale = half.temp_path().to_path_buf();
    // What a kill -9 leaves: the object never dropped.
    std::mem::forget(half);
    assert!(stale.exists());
    assert_eq!(sink.remove_stale_parts().unwrap(), 1);
    assert!(!stale.exists());
    assert_eq!(files_below(out.path()), ["report", "report.part", "x.part"]);
    assert_eq!(std::fs::read(out.path().join("x.part")).unwrap(), x_part);
}

#[test]
fn a_final_name_of_the_temporary_form_fails_typed_and_makes_nothing() {
    let out = TempDir::new("temp-reserved");
    let now = SystemTime::now();
    let data = content(2_000, 9);
    let name = "d/.y.xflute-1-2-00000000000000ff.part";
    let mut packets = craft::fdt(TSI, 1, vec![verified(1, name, &data)], now, 3600);
    packets.extend(craft::object(TSI, 1, &data, false, None, None));
    let mut r = receiver(out.path());
    push(&mut r, &packets, now);
    let (completed, failed) = outcomes(&mut r);
    assert!(completed.is_empty());
    assert!(
        matches!(&failed[..], [(1, FailReason::Sink(m))] if m.contains("temporary")),
        "{failed:?}"
    );
    assert!(files_below(out.path()).is_empty());
    assert!(temp_files_below(out.path()).is_empty());
}
