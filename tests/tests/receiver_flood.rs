//! Cheap denial of service (issue 18, class 5): what unannounced traffic does must not take the
//! capacity of configured sessions and FDT-announced objects, and one forged symbol must not
//! block an object for its FDT's lifetime. A flood of new TSIs churns the pool of sessions the
//! TSI filter does not list, a flood of new TOIs churns the pool of objects no FDT describes,
//! and an object that fails its MD5 check is received again from the next carousel pass.

mod receiver_support;

use std::time::{Duration, SystemTime};

use receiver_support::craft::{self, file};
use receiver_support::*;
use xflute::receiver::{Config, FailReason, MemorySink, MultiReceiver, ObjectEvent};

/// (completed TOIs, failed (TOI, reason)) of session `tsi`.
fn outcomes(r: &mut MultiReceiver<MemorySink>, tsi: u64) -> (Vec<u128>, Vec<(u128, FailReason)>) {
    let mut completed = Vec::new();
    let mut failed = Vec::new();
    for event in events(r) {
        if event.session().tsi != tsi {
            continue;
        }
        match event {
            ObjectEvent::Completed { toi, .. } => completed.push(toi),
            ObjectEvent::Failed { toi, reason, .. } => failed.push((toi, reason)),
            _ => {}
        }
    }
    completed.sort();
    (completed, failed)
}

/// One data packet of TOI `toi` in session `tsi`, with an EXT_FTI of a 10-symbol object: what
/// a flood can send by the thousand.
fn junk(tsi: u64, toi: u128) -> Vec<u8> {
    let symbol = [0xEE; craft::SYMBOL_LEN as usize];
    let oti = craft::oti(10 * u64::from(craft::SYMBOL_LEN));
    craft::packet(tsi, toi, 0, 0, &symbol, Some(oti), None, None, false)
}

/// Packets, in order.
type Packets = Vec<Vec<u8>>;

/// The FDT and packets of two described objects on TSI, with their contents.
fn legit(now: SystemTime) -> (Packets, Packets, [Vec<u8>; 2]) {
    let a = content(30_000, 1);
    let b = content(20_000, 2);
    let fdt = craft::fdt(
        TSI,
        1,
        vec![
            file(1, "a.bin", a.len() as u64),
            file(2, "b.bin", b.len() as u64),
        ],
        now,
        3600,
    );
    let mut data = craft::object(TSI, 1, &a, false, None, None);
    data.extend(craft::object(TSI, 2, &b, false, None, None));
    (fdt, data, [a, b])
}

#[test]
fn a_flood_of_new_tsis_leaves_the_configured_session_its_place() {
    let now = SystemTime::now();
    let ep = endpoint();
    let mut r = MultiReceiver::new(MemorySink::new(1 << 30), Config::default());
    r.set_tsi_filtering(true);
    r.add_listen_all_tsi(ep);
    r.add_listen_tsi(ep, TSI);
    // 300 TSIs, more than the 256 places, before the configured session's first packet, and
    // on and on while it is received.
    let mut t = now;
    let flood = |r: &mut MultiReceiver<MemorySink>, t: &mut SystemTime, round: u64| {
        for tsi in 1000..1300u64 {
            *t += Duration::from_micros(10);
            let _ = r.push(&ep, &junk(tsi, u128::from(round) + 1), *t);
        }
    };
    flood(&mut r, &mut t, 0);
    let (fdt, data, [a, b]) = legit(now);
    for (i, p) in fdt.iter().chain(&data).enumerate() {
        t += Duration::from_micros(10);
        r.push(&ep, p, t).unwrap();
        if i % 10 == 0 {
            flood(&mut r, &mut t, i as u64);
        }
    }
    assert_eq!(outcomes(&mut r, TSI), (vec![1, 2], vec![]));
    let done = r.sink_mut().take_completed();
    let got: Vec<&[u8]> = done
        .iter()
        .filter(|o| o.desc.tsi == TSI)
        .map(|o| &o.data[..])
        .collect();
    assert_eq!(got, [&a[..], &b[..]]);
    let stats = r.stats();
    assert!(stats.sessions_evicted > 0);
    assert!(r.nb_sessions() <= 256 + 1);
}

#[test]
fn a_flood_of_new_tois_on_the_real_tsi_leaves_described_objects_their_places() {
    let now = SystemTime::now();
    let ep = endpoint();
    let mut r = MultiReceiver::new(MemorySink::new(1 << 30), Config::default());
    let (fdt, data, [a, b]) = legit(now);
    let mut t = now;
    // The session exists (its FDT is in), then 2000 unknown TOIs, more than the 1024 places
    // of described objects, and more while the described objects are received.
    for p in &fdt {
        r.push(&ep, p, t).unwrap();
    }
    let mut next_junk = 100u128;
    let mut flood = |r: &mut MultiReceiver<MemorySink>, t: &mut SystemTime, n: u128| {
        for _ in 0..n {
            *t += Duration::from_micros(10);
            next_junk += 1;
            let _ = r.push(&ep, &junk(TSI, next_junk), *t);
        }
    };
    flood(&mut r, &mut t, 2000);
    for p in &data {
        t += Duration::from_micros(10);
        r.push(&ep, p, t).unwrap();
        flood(&mut r, &mut t, 20);
    }
    assert_eq!(outcomes(&mut r, TSI), (vec![1, 2], vec![]));
    let done = r.sink_mut().take_completed();
    assert_eq!(done.len(), 2);
    assert!(done[0].data == a && done[1].data == b);
    assert!(r.stats().unannounced_evicted > 2000);
}

#[test]
fn an_object_that_fails_its_md5_check_is_received_again_from_the_next_pass() {
    let now = SystemTime::now();
    let ep = endpoint();
    let data = content(12_000, 3);
    let mut f = file(1, "checked.bin", data.len() as u64);
    f.content_md5 = Some(xflute::sender::content_md5(&data));
    let fdt = craft::fdt(TSI, 1, vec![f], now, 3600);
    let pass = craft::object(TSI, 1, &data, false, None, None);
    let mut forged = pass.clone();
    let last = forged[5].len() - 1;
    forged[5][last] ^= 0x01;
    let mut r = MultiReceiver::new(MemorySink::new(1 << 30), Config::default());
    for p in fdt.iter().chain(&forged) {
        let _ = r.push(&ep, p, now);
    }
    assert_eq!(
        outcomes(&mut r, TSI),
        (vec![], vec![(1, FailReason::Md5Mismatch)])
    );
    // The carousel's next pass, clean.
    let later = now + Duration::from_secs(2);
    for p in fdt.iter().chain(&pass) {
        let _ = r.push(&ep, p, later);
    }
    assert_eq!(outcomes(&mut r, TSI), (vec![1], vec![]));
    assert!(r.sink_mut().take_completed()[0].data == data);
}

/// 77 File entries with names hundreds of directories deep used to create 16,341 directories,
/// never removed. Now a name deeper than the sink allows fails typed before any directory is
/// made, and the directories of objects that fail go with them.
#[test]
fn deep_names_make_no_directories_and_failed_objects_leave_none() {
    use xflute::io::file_sink::{DEFAULT_MAX_DIR_DEPTH, FileSink};
    let out = xflute_tests::TempDir::new("flood-dirs");
    let now = SystemTime::now();
    let data = content(3_000, 4);
    let len = data.len() as u64;
    let deep = |i: usize, depth: usize| format!("{}f{i}", format!("d{i}/").repeat(depth));
    let mut files: Vec<_> = (1..=77)
        .map(|i| file(i as u128, &deep(i, 212), len))
        .collect();
    // Within the depth, but never completed: their directories must go when they fail.
    files.extend((78..=80).map(|i| file(i as u128, &deep(i, DEFAULT_MAX_DIR_DEPTH), len)));
    let mut packets = craft::fdt(TSI, 1, files, now, 3600);
    for toi in 1..=80u128 {
        let object = craft::object(TSI, toi, &data, false, None, None);
        packets.push(object[0].clone());
    }
    let sink = FileSink::new(out.path(), 1 << 30).unwrap();
    let mut r = MultiReceiver::new(sink, Config::default());
    for p in &packets {
        let _ = r.push(&endpoint(), p, now);
    }
    let failed: Vec<(u128, FailReason)> = events(&mut r)
        .into_iter()
        .filter_map(|e| match e {
            ObjectEvent::Failed { toi, reason, .. } => Some((toi, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 77);
    assert!(
        failed
            .iter()
            .all(|(_, reason)| matches!(reason, FailReason::Sink(m) if m.contains("deep"))),
        "{failed:?}"
    );
    // The three shallow enough are being received: their directories exist for now.
    let dirs_in_flight = std::fs::read_dir(out.path()).unwrap().count();
    assert_eq!(dirs_in_flight, 3);
    r.cleanup(now + Duration::from_secs(11));
    assert_eq!(r.stats().objects_failed, 80);
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "{:?}",
        files_below(out.path())
    );
}
