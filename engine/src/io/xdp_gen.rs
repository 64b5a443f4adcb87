//! A frame generator for benchmarks, tests and the demo: runs `xdp-prog/xflute_gen.bpf.c`
//! (which returns `XDP_TX`) with `BPF_PROG_TEST_RUN` in live-frames mode
//! (`BPF_F_TEST_XDP_LIVE_FRAMES`, Linux 5.18). The kernel turns one template frame into real
//! frames and transmits them out of the interface, at rates no socket reaches: on a veth they
//! arrive in the peer's rx queue, so a receiver's ceiling can be measured.
//!
//! On a veth the peer must run NAPI (an XDP program attached, or GRO on), or the frames vanish.

use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd};

use aya::Ebpf;
use aya::programs::Xdp;

use super::xdp::XdpError;
use super::xsk::if_index;

static GENERATOR_OBJECT: &[u8] = aya::include_bytes_aligned!("../../../xdp-prog/xflute_gen.bpf.o");

const BPF_PROG_TEST_RUN: libc::c_long = 10;
const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;

/// `union bpf_attr`'s `test` member (`linux/bpf.h`).
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// `struct xdp_md`, the context given to the program.
#[repr(C)]
#[derive(Default)]
struct XdpMd {
    data: u32,
    data_end: u32,
    data_meta: u32,
    ingress_ifindex: u32,
    rx_queue_index: u32,
    egress_ifindex: u32,
}

/// Transmits copies of a frame out of one interface from inside the kernel.
#[derive(Debug)]
pub struct FrameGenerator {
    ebpf: Ebpf,
    ifindex: u32,
}

impl FrameGenerator {
    /// Loads the generator for `interface` (in the calling thread's network namespace).
    pub fn new(interface: &str) -> Result<Self, XdpError> {
        let ifindex =
            if_index(interface).ok_or_else(|| XdpError::UnknownInterface(interface.to_owned()))?;
        let mut ebpf = Ebpf::load(GENERATOR_OBJECT).map_err(|e| XdpError::Load(Box::new(e)))?;
        let program: &mut Xdp = ebpf
            .program_mut("xflute_gen")
            .ok_or(XdpError::Missing("program xflute_gen"))?
            .try_into()
            .map_err(|e| XdpError::Program(Box::new(e)))?;
        program.load().map_err(|e| XdpError::Program(Box::new(e)))?;
        Ok(Self { ebpf, ifindex })
    }

    /// Sends `repeat` copies of `frame` (a whole Ethernet frame) in batches of 64. Must be called
    /// from a thread in the interface's network namespace. Returns once they are handed to the
    /// interface. Each call costs tens of milliseconds of setup in the kernel (a page pool), so
    /// `repeat` should be large (around a million) for a high rate.
    pub fn send(&self, frame: &[u8], repeat: u32) -> Result<(), GeneratorError> {
        let program: &Xdp = self
            .ebpf
            .program("xflute_gen")
            .ok_or(GeneratorError::Unloaded)?
            .try_into()
            .map_err(|_| GeneratorError::Unloaded)?;
        let fd = program.fd().map_err(|_| GeneratorError::Unloaded)?;
        let len = u32::try_from(frame.len()).map_err(|_| GeneratorError::FrameSize)?;
        let ctx = XdpMd {
            data_end: len,
            ingress_ifindex: self.ifindex,
            ..XdpMd::default()
        };
        let attr = TestRunAttr {
            prog_fd: fd.as_fd().as_raw_fd() as u32,
            data_size_in: len,
            data_in: frame.as_ptr() as u64,
            repeat,
            ctx_size_in: size_of::<XdpMd>() as u32,
            ctx_in: (&raw const ctx) as u64,
            flags: BPF_F_TEST_XDP_LIVE_FRAMES,
            batch_size: 64,
            ..TestRunAttr::default()
        };
        // SAFETY: `attr` is a complete `bpf_attr.test` whose pointers (`frame`, `ctx`) are valid
        // for their stated sizes during the call; the kernel only reads them (no output buffers).
        let rc = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_PROG_TEST_RUN,
                &raw const attr,
                size_of::<TestRunAttr>(),
            )
        };
        if rc != 0 {
            return Err(GeneratorError::Run(std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

/// The generator could not send.
#[derive(Debug, thiserror::Error)]
pub enum GeneratorError {
    /// `BPF_PROG_TEST_RUN` failed (kernels before 5.18 have no live-frames mode).
    #[error("BPF_PROG_TEST_RUN (live frames): {0}")]
    Run(#[source] std::io::Error),
    /// The frame is larger than the kernel accepts.
    #[error("frame too large")]
    FrameSize,
    /// The program is gone.
    #[error("generator program not loaded")]
    Unloaded,
}
