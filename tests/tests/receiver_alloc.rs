//! The receiver's packet path does not allocate: once an object has started, pushing its
//! packets (new, duplicate, reordered, with MD5 on) allocates nothing. Proven with a counting
//! global allocator, so this test binary holds only this test.

mod receiver_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use receiver_support::craft::{self, file};
use receiver_support::*;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// A counting global allocator needs `unsafe impl GlobalAlloc`.
#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a side
// effect with no bearing on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's obligations for `alloc` are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's obligations for `realloc` are passed on as they are.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn pushing_the_packets_of_a_started_object_allocates_nothing() {
    let now = SystemTime::now();
    let data = content(3_000_000, 1);
    let mut f = file(1, "big.bin", data.len() as u64);
    f.content_md5 = Some(
        object("x", data.clone(), flute::core::lct::Cenc::Null, true, 1)
            .md5
            .clone()
            .unwrap(),
    );
    let fdt = craft::fdt(TSI, 1, vec![f], now, 3600);
    let mut packets = craft::object(TSI, 1, &data, false, None, None);
    // Reorder within blocks and repeat some: the path for duplicates must not allocate either.
    packets[10..200].reverse();
    let repeats: Vec<Vec<u8>> = packets[50..60].to_vec();
    packets.splice(300..300, repeats);
    let last = packets.pop().unwrap();
    let mut receiver = memory_receiver();
    let ep = endpoint();
    for p in &fdt {
        receiver.push(&ep, p, now).unwrap();
    }
    // The first packet starts the object (allocations allowed), a few more fill the event queue.
    for p in &packets[..20] {
        receiver.push(&ep, p, now).unwrap();
    }
    let _ = events(&mut receiver);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for p in &packets[20..] {
        receiver.push(&ep, p, now).unwrap();
    }
    let during = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(
        during,
        0,
        "{during} allocations for {} packets",
        packets.len() - 20
    );
    assert!(receiver.stats().duplicates >= 10);
    receiver.push(&ep, &last, now).unwrap();
    let done = receiver.sink_mut().take_completed();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].data, data);
}
