//! The four single-producer/single-consumer rings of an AF_XDP socket (fill, completion, rx,
//! tx), as in libxdp's `xsk.h`: the producer and consumer indices are free-running `u32`s in
//! memory shared with the kernel. Each side caches the other side's index and reloads it (with
//! Acquire) only when the cache says the ring is full or empty; publishing uses Release, so the
//! descriptors written before are visible to the kernel before the index that covers them.

use std::marker::PhantomData;
use std::mem::size_of;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, Ordering};

use super::XskError;
use super::mmap::Mmap;

/// The part common to both kinds of ring.
#[derive(Debug)]
struct RawRing<T> {
    producer: *const AtomicU32,
    consumer: *const AtomicU32,
    flags: *const AtomicU32,
    descs: *mut T,
    mask: u32,
    size: u32,
    _map: Mmap,
    _marker: PhantomData<T>,
}

// SAFETY: the raw pointers point into `_map`, which moves with the ring; one ring value is the
// only user-space user of its side of the ring.
unsafe impl<T: Send> Send for RawRing<T> {}

impl<T: Copy> RawRing<T> {
    fn map(
        fd: RawFd,
        offsets: &libc::xdp_ring_offset,
        size: u32,
        pgoff: libc::off_t,
    ) -> Result<Self, XskError> {
        if !size.is_power_of_two() {
            return Err(XskError::Config(format!(
                "ring size {size} is not a power of two"
            )));
        }
        let len = offsets.desc as usize + size as usize * size_of::<T>();
        let map = Mmap::ring(fd, len, pgoff)?;
        let base = map.as_ptr();
        let in_map = |offset: u64, width: usize| -> Result<(), XskError> {
            if (offset as usize).saturating_add(width) > map.len() {
                return Err(XskError::Config("ring offset out of its mapping".into()));
            }
            Ok(())
        };
        in_map(offsets.producer, size_of::<u32>())?;
        in_map(offsets.consumer, size_of::<u32>())?;
        in_map(offsets.flags, size_of::<u32>())?;
        // SAFETY: each offset was checked to lie inside the mapping just made; the kernel aligns
        // them for their types.
        let (producer, consumer, flags, descs) = unsafe {
            (
                base.add(offsets.producer as usize).cast::<AtomicU32>(),
                base.add(offsets.consumer as usize).cast::<AtomicU32>(),
                base.add(offsets.flags as usize).cast::<AtomicU32>(),
                base.add(offsets.desc as usize).cast::<T>(),
            )
        };
        Ok(Self {
            producer,
            consumer,
            flags,
            descs,
            mask: size - 1,
            size,
            _map: map,
            _marker: PhantomData,
        })
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: points into the live mapping owned by `self`, aligned by the kernel; the
        // kernel and we access it only atomically.
        unsafe { &*self.producer }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as in `producer`.
        unsafe { &*self.consumer }
    }

    fn needs_wakeup(&self) -> bool {
        // SAFETY: as in `producer`.
        let flags = unsafe { &*self.flags };
        flags.load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    fn slot(&self, index: u32) -> *mut T {
        // SAFETY: `index & mask` is below `size`, and the mapping holds `size` descriptors.
        unsafe { self.descs.add((index & self.mask) as usize) }
    }
}

/// The side of a ring that user space fills: fill and tx.
#[derive(Debug)]
pub(crate) struct ProducerRing<T> {
    raw: RawRing<T>,
    cached_prod: u32,
    cached_cons: u32,
}

impl<T: Copy> ProducerRing<T> {
    pub(crate) fn map(
        fd: RawFd,
        offsets: &libc::xdp_ring_offset,
        size: u32,
        pgoff: libc::off_t,
    ) -> Result<Self, XskError> {
        let raw = RawRing::map(fd, offsets, size, pgoff)?;
        let cached_prod = raw.producer().load(Ordering::Relaxed);
        let cached_cons = raw.consumer().load(Ordering::Acquire).wrapping_add(size);
        Ok(Self {
            raw,
            cached_prod,
            cached_cons,
        })
    }

    /// Reserves up to `want` slots and returns how many; fill them with [`Self::write`] at
    /// offsets `0..n`, then [`Self::submit`].
    pub(crate) fn reserve(&mut self, want: u32) -> u32 {
        let mut free = self.cached_cons.wrapping_sub(self.cached_prod);
        if free < want {
            self.cached_cons = self
                .raw
                .consumer()
                .load(Ordering::Acquire)
                .wrapping_add(self.raw.size);
            free = self.cached_cons.wrapping_sub(self.cached_prod);
        }
        free.min(want)
    }

    /// Writes slot `i` of the batch just reserved.
    pub(crate) fn write(&mut self, i: u32, value: T) {
        let slot = self.raw.slot(self.cached_prod.wrapping_add(i));
        // SAFETY: the slot is between the published producer index and the consumer index plus
        // size (the caller reserved it), so the kernel does not read it until `submit`.
        unsafe { slot.write_volatile(value) };
    }

    /// Publishes the first `n` reserved slots to the kernel.
    pub(crate) fn submit(&mut self, n: u32) {
        self.cached_prod = self.cached_prod.wrapping_add(n);
        self.raw
            .producer()
            .store(self.cached_prod, Ordering::Release);
    }

    /// Slots the kernel has not consumed yet.
    pub(crate) fn outstanding(&self) -> u32 {
        self.cached_prod
            .wrapping_sub(self.raw.consumer().load(Ordering::Acquire))
    }

    pub(crate) fn needs_wakeup(&self) -> bool {
        self.raw.needs_wakeup()
    }
}

/// The side of a ring that the kernel fills: completion and rx.
#[derive(Debug)]
pub(crate) struct ConsumerRing<T> {
    raw: RawRing<T>,
    cached_prod: u32,
    cached_cons: u32,
}

impl<T: Copy> ConsumerRing<T> {
    pub(crate) fn map(
        fd: RawFd,
        offsets: &libc::xdp_ring_offset,
        size: u32,
        pgoff: libc::off_t,
    ) -> Result<Self, XskError> {
        let raw = RawRing::map(fd, offsets, size, pgoff)?;
        let cached_prod = raw.producer().load(Ordering::Acquire);
        let cached_cons = raw.consumer().load(Ordering::Relaxed);
        Ok(Self {
            raw,
            cached_prod,
            cached_cons,
        })
    }

    /// How many entries (up to `want`) are ready; read them with [`Self::read`] at offsets
    /// `0..n`, then [`Self::release`].
    pub(crate) fn peek(&mut self, want: u32) -> u32 {
        let mut ready = self.cached_prod.wrapping_sub(self.cached_cons);
        if ready < want {
            self.cached_prod = self.raw.producer().load(Ordering::Acquire);
            ready = self.cached_prod.wrapping_sub(self.cached_cons);
        }
        ready.min(want)
    }

    /// Reads entry `i` of the batch just peeked.
    pub(crate) fn read(&self, i: u32) -> T {
        let slot = self.raw.slot(self.cached_cons.wrapping_add(i));
        // SAFETY: the slot is below the producer index loaded with Acquire in `peek`, so the
        // kernel finished writing it, and it does not write it again before `release`.
        unsafe { slot.read_volatile() }
    }

    /// Hands the first `n` peeked entries back to the kernel.
    pub(crate) fn release(&mut self, n: u32) {
        self.cached_cons = self.cached_cons.wrapping_add(n);
        self.raw
            .consumer()
            .store(self.cached_cons, Ordering::Release);
    }

    pub(crate) fn size(&self) -> u32 {
        self.raw.size
    }
}
