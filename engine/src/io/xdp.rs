//! Loads the XDP steering program (`xdp-prog/xflute_steer.bpf.c`, embedded) with aya, attaches
//! it to one interface and manages its maps: `CHANNELS` (which flows leave the kernel stack),
//! `XSKS` (the AF_XDP socket of each queue), `COUNTERS` and `DROP_THRESHOLD` (loss injection).
//! The program is detached and unloaded when [`XdpSteering`] is dropped.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;

use aya::maps::{Array, HashMap, MapData, PerCpuArray, XskMap};
use aya::programs::xdp::XdpLinkId;
use aya::programs::{Xdp, XdpMode};
use aya::{Ebpf, Pod};

/// The program object, built by `make -C xdp-prog` and committed.
static PROGRAM_OBJECT: &[u8] = aya::include_bytes_aligned!("../../../xdp-prog/xflute_steer.bpf.o");
const PROGRAM_NAME: &str = "xflute_steer";

/// Queues the `XSKS` map can hold (`MAX_QUEUES` in the C source).
pub const MAX_QUEUES: u32 = 64;

/// An XDP program or map operation failed.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    /// The object could not be loaded or verified.
    #[error("loading the XDP object: {0}")]
    Load(#[source] Box<aya::EbpfError>),
    /// A program operation failed.
    #[error("XDP program: {0}")]
    Program(#[source] Box<aya::programs::ProgramError>),
    /// The program could be attached in neither driver nor SKB mode.
    #[error("attaching XDP to {interface}: driver mode: {driver}; SKB mode: {skb}")]
    Attach {
        /// The interface.
        interface: String,
        /// Why driver mode failed.
        driver: Box<aya::programs::ProgramError>,
        /// Why SKB mode failed.
        skb: Box<aya::programs::ProgramError>,
    },
    /// A map operation failed.
    #[error("XDP map {map}: {source}")]
    Map {
        /// The map's name.
        map: &'static str,
        /// The error.
        #[source]
        source: Box<aya::maps::MapError>,
    },
    /// The object lacks a map or program that this code expects.
    #[error("the XDP object has no {0}")]
    Missing(&'static str),
    /// No interface has this name in the calling thread's network namespace.
    #[error("no network interface named {0:?}")]
    UnknownInterface(String),
    /// Asking the kernel which XDP programs an interface has failed.
    #[error("querying the XDP programs of {interface}: {source}")]
    Query {
        /// The interface.
        interface: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Where the program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachMode {
    /// In the driver, before any socket buffer is allocated.
    Driver,
    /// In the generic path after the socket buffer exists (slower, works everywhere).
    Skb,
}

/// Which attach modes to try.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttachRequest {
    /// Driver mode, then SKB mode with a warning.
    #[default]
    Auto,
    /// Driver mode only.
    Driver,
    /// SKB mode only.
    Skb,
}

/// A flow to take out of the kernel stack: UDP to `destination`, from `source` only when set
/// (a source-specific channel) or from anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Destination address and UDP port (a multicast group or a unicast address).
    pub destination: SocketAddr,
    /// The only accepted source, for source-specific multicast.
    pub source: Option<IpAddr>,
}

/// The `CHANNELS` key; layout of `struct channel_key` in the C source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
struct ChannelKey {
    dst_port_be: u16,
    reserved: u16,
    dst_addr: [u8; 16],
    src_addr: [u8; 16],
}

// SAFETY: `#[repr(C)]` integers and byte arrays without padding (2 + 2 + 16 + 16 bytes): every bit
// pattern is valid.
unsafe impl Pod for ChannelKey {}

/// IPv4 addresses are keyed in their IPv4-mapped IPv6 form, as the program builds them.
fn key_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

impl From<&Flow> for ChannelKey {
    fn from(channel: &Flow) -> Self {
        Self {
            dst_port_be: channel.destination.port().to_be(),
            reserved: 0,
            dst_addr: key_bytes(channel.destination.ip()),
            src_addr: channel
                .source
                .map_or(Ipv6Addr::UNSPECIFIED.octets(), key_bytes),
        }
    }
}

/// The program's counters, summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SteerCounters {
    /// Frames of a channel sent towards an AF_XDP socket.
    pub redirected: u64,
    /// Frames left to the kernel stack (not a channel, not UDP, fragments).
    pub passed: u64,
    /// Frames too short for the headers they announce (also passed to the kernel).
    pub malformed: u64,
    /// Frames of a channel dropped by the loss-injection knob.
    pub dropped: u64,
}

/// The steering program, loaded and attached to one interface.
#[derive(Debug)]
pub struct XdpSteering {
    ebpf: Ebpf,
    interface: String,
    mode: AttachMode,
    link: Option<XdpLinkId>,
}

fn map_err(map: &'static str) -> impl FnOnce(aya::maps::MapError) -> XdpError {
    move |source| XdpError::Map {
        map,
        source: Box::new(source),
    }
}

impl XdpSteering {
    /// Loads the program and attaches it to `interface` (in the calling thread's network
    /// namespace): driver mode first, then SKB mode with a warning.
    pub fn attach(interface: &str) -> Result<Self, XdpError> {
        Self::attach_with(interface, AttachRequest::Auto)
    }

    /// As [`Self::attach`], with the attach modes to try.
    pub fn attach_with(interface: &str, request: AttachRequest) -> Result<Self, XdpError> {
        let mut ebpf = Ebpf::load(PROGRAM_OBJECT).map_err(|e| XdpError::Load(Box::new(e)))?;
        let program: &mut Xdp = ebpf
            .program_mut(PROGRAM_NAME)
            .ok_or(XdpError::Missing("program xflute_steer"))?
            .try_into()
            .map_err(|e| XdpError::Program(Box::new(e)))?;
        program.load().map_err(|e| XdpError::Program(Box::new(e)))?;
        let (mode, link) = match request {
            AttachRequest::Driver => (
                AttachMode::Driver,
                program
                    .attach(interface, XdpMode::Driver)
                    .map_err(|e| XdpError::Program(Box::new(e)))?,
            ),
            AttachRequest::Skb => (
                AttachMode::Skb,
                program
                    .attach(interface, XdpMode::Skb)
                    .map_err(|e| XdpError::Program(Box::new(e)))?,
            ),
            AttachRequest::Auto => match program.attach(interface, XdpMode::Driver) {
                Ok(link) => (AttachMode::Driver, link),
                Err(driver) => match program.attach(interface, XdpMode::Skb) {
                    Ok(link) => {
                        tracing::warn!(
                            interface,
                            error = %driver,
                            "XDP driver mode unavailable; attached in SKB (generic) mode, which is slower"
                        );
                        (AttachMode::Skb, link)
                    }
                    Err(skb) => {
                        return Err(XdpError::Attach {
                            interface: interface.to_owned(),
                            driver: Box::new(driver),
                            skb: Box::new(skb),
                        });
                    }
                },
            },
        };
        tracing::debug!(interface, ?mode, "XDP steering program attached");
        Ok(Self {
            ebpf,
            interface: interface.to_owned(),
            mode,
            link: Some(link),
        })
    }

    fn program(&mut self) -> Result<&mut Xdp, XdpError> {
        self.ebpf
            .program_mut(PROGRAM_NAME)
            .ok_or(XdpError::Missing("program xflute_steer"))?
            .try_into()
            .map_err(|e| XdpError::Program(Box::new(e)))
    }

    /// Whether the program is still attached to the interface: someone else may have detached
    /// it (`bpftool link detach`, or `ip link set dev IF xdp off` when the kernel attached it
    /// through netlink rather than a BPF link) or replaced it. One rtnetlink request.
    pub fn is_attached(&mut self) -> Result<bool, XdpError> {
        let query = |source| XdpError::Query {
            interface: self.interface.clone(),
            source,
        };
        let if_index = crate::io::xsk::if_index(&self.interface)
            .ok_or_else(|| XdpError::UnknownInterface(self.interface.clone()))?;
        let attached = crate::io::netlink::xdp_program_ids(if_index).map_err(query)?;
        let ours = self
            .program()?
            .info()
            .map_err(|e| XdpError::Program(Box::new(e)))?
            .id();
        Ok(attached.contains(&ours))
    }

    /// Attaches the (still loaded) program again, in the mode it had, after it was detached from
    /// outside; its maps, and with them the channels and the sockets, are unchanged.
    pub fn reattach(&mut self) -> Result<(), XdpError> {
        let interface = self.interface.clone();
        let mode = match self.mode {
            AttachMode::Driver => XdpMode::Driver,
            AttachMode::Skb => XdpMode::Skb,
        };
        let old = self.link.take();
        let program = self.program()?;
        // The old link no longer holds the interface; dropping it only releases its descriptor.
        if let Some(old) = old {
            let _ = program.detach(old);
        }
        let link = program
            .attach(&interface, mode)
            .map_err(|e| XdpError::Program(Box::new(e)))?;
        self.link = Some(link);
        tracing::debug!(interface, mode = ?self.mode, "XDP steering program reattached");
        Ok(())
    }

    /// The interface the program is attached to.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Driver or SKB mode.
    pub fn mode(&self) -> AttachMode {
        self.mode
    }

    fn channels(&mut self) -> Result<HashMap<&mut MapData, ChannelKey, u32>, XdpError> {
        let map = self
            .ebpf
            .map_mut("CHANNELS")
            .ok_or(XdpError::Missing("map CHANNELS"))?;
        HashMap::try_from(map).map_err(map_err("CHANNELS"))
    }

    /// Takes `flow`'s packets out of the kernel stack from now on.
    pub fn add_flow(&mut self, flow: &Flow) -> Result<(), XdpError> {
        self.channels()?
            .insert(ChannelKey::from(flow), 1, 0)
            .map_err(map_err("CHANNELS"))
    }

    /// Leaves `flow`'s packets to the kernel stack again.
    pub fn remove_flow(&mut self, flow: &Flow) -> Result<(), XdpError> {
        self.channels()?
            .remove(&ChannelKey::from(flow))
            .map_err(map_err("CHANNELS"))
    }

    fn xsks(&mut self) -> Result<XskMap<&mut MapData>, XdpError> {
        let map = self
            .ebpf
            .map_mut("XSKS")
            .ok_or(XdpError::Missing("map XSKS"))?;
        XskMap::try_from(map).map_err(map_err("XSKS"))
    }

    /// Sends the channels' frames arriving on `queue_id` to `socket` (an AF_XDP socket bound to
    /// that queue of this interface).
    pub fn register_socket(
        &mut self,
        queue_id: u32,
        socket: &impl AsRawFd,
    ) -> Result<(), XdpError> {
        self.xsks()?
            .set(queue_id, socket.as_raw_fd(), 0)
            .map_err(map_err("XSKS"))
    }

    /// Stops redirecting `queue_id`'s frames (they go to the kernel stack).
    pub fn unregister_socket(&mut self, queue_id: u32) -> Result<(), XdpError> {
        self.xsks()?.unset(queue_id).map_err(map_err("XSKS"))
    }

    /// Drops each matched frame with probability `p` (clamped to 0..=1) before redirecting it.
    pub fn set_drop_probability(&mut self, p: f64) -> Result<(), XdpError> {
        let threshold = drop_threshold(p);
        let map = self
            .ebpf
            .map_mut("DROP_THRESHOLD")
            .ok_or(XdpError::Missing("map DROP_THRESHOLD"))?;
        let mut array: Array<&mut MapData, u32> =
            Array::try_from(map).map_err(map_err("DROP_THRESHOLD"))?;
        array
            .set(0, threshold, 0)
            .map_err(map_err("DROP_THRESHOLD"))
    }

    /// The counters, summed over CPUs.
    pub fn counters(&self) -> Result<SteerCounters, XdpError> {
        let map = self
            .ebpf
            .map("COUNTERS")
            .ok_or(XdpError::Missing("map COUNTERS"))?;
        let array: PerCpuArray<&MapData, u64> =
            PerCpuArray::try_from(map).map_err(map_err("COUNTERS"))?;
        let sum = |index: u32| -> Result<u64, XdpError> {
            let values = array.get(&index, 0).map_err(map_err("COUNTERS"))?;
            Ok(values.iter().copied().fold(0u64, u64::wrapping_add))
        };
        Ok(SteerCounters {
            redirected: sum(0)?,
            passed: sum(1)?,
            malformed: sum(2)?,
            dropped: sum(3)?,
        })
    }
}

/// The program drops when a random u32 is below the threshold.
fn drop_threshold(p: f64) -> u32 {
    if p.is_nan() || p <= 0.0 {
        0
    } else if p >= 1.0 {
        u32::MAX
    } else {
        (p * 4_294_967_296.0) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_key_matches_the_c_layout() {
        assert_eq!(std::mem::size_of::<ChannelKey>(), 36);
        let channel = Flow {
            destination: "239.1.2.3:3400".parse().unwrap(),
            source: Some("198.18.0.1".parse().unwrap()),
        };
        let key = ChannelKey::from(&channel);
        assert_eq!(key.dst_port_be.to_ne_bytes(), 3400u16.to_be_bytes());
        assert_eq!(&key.dst_addr[10..], &[0xff, 0xff, 239, 1, 2, 3]);
        assert_eq!(&key.src_addr[12..], &[198, 18, 0, 1]);
        let any = Flow {
            source: None,
            ..channel
        };
        assert_eq!(ChannelKey::from(&any).src_addr, [0; 16]);
    }

    #[test]
    fn drop_threshold_maps_probability_to_u32_range() {
        assert_eq!(drop_threshold(0.0), 0);
        assert_eq!(drop_threshold(-1.0), 0);
        assert_eq!(drop_threshold(f64::NAN), 0);
        assert_eq!(drop_threshold(1.0), u32::MAX);
        assert_eq!(drop_threshold(0.5), 1 << 31);
    }

    #[test]
    fn embedded_object_is_an_elf_bpf_object() {
        assert_eq!(&PROGRAM_OBJECT[..4], b"\x7fELF");
        // e_machine 247 is EM_BPF.
        assert_eq!(
            u16::from_le_bytes([PROGRAM_OBJECT[18], PROGRAM_OBJECT[19]]),
            247
        );
    }
}
