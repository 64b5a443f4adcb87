//! Test and benchmark helpers around the AF_XDP receive path: the steering program plus one
//! AF_XDP socket per queue of an interface, and numbered payloads that prove order and integrity.

use xflute::io::xdp::{Flow, XdpSteering};
use xflute::io::xsk::{Umem, UmemConfig, XskConfig, XskSocket};

/// The steering program and one AF_XDP socket per rx queue of one interface.
#[derive(Debug)]
pub struct XdpReceiver {
    /// The attached program (detached when this is dropped).
    pub steering: XdpSteering,
    /// Socket `i` is bound to queue `i`.
    pub sockets: Vec<XskSocket>,
}

impl XdpReceiver {
    /// Attaches the program to `interface` (call inside its namespace), adds `channels`, and
    /// binds a socket on each of `queues` queues: with one UMEM per socket, or one shared UMEM.
    pub fn open(interface: &str, queues: u32, channels: &[Flow], shared_umem: bool) -> Self {
        let mut steering = XdpSteering::attach(interface).unwrap_or_else(|e| panic!("{e}"));
        for channel in channels {
            steering.add_flow(channel).unwrap_or_else(|e| panic!("{e}"));
        }
        let per_socket = XskConfig {
            rx_frames: 2048,
            tx_frames: 64,
            ..XskConfig::default()
        };
        let shared = shared_umem.then(|| {
            Umem::new(UmemConfig {
                frame_count: 4096 * queues,
                ..UmemConfig::default()
            })
            .unwrap_or_else(|e| panic!("{e}"))
        });
        let mut sockets = Vec::new();
        for queue in 0..queues {
            let umem = match &shared {
                Some(umem) => umem.clone(),
                None => Umem::new(UmemConfig::default()).unwrap_or_else(|e| panic!("{e}")),
            };
            let socket = XskSocket::bind(&umem, interface, queue, &per_socket)
                .unwrap_or_else(|e| panic!("binding queue {queue}: {e}"));
            steering
                .register_socket(queue, &socket)
                .unwrap_or_else(|e| panic!("{e}"));
            sockets.push(socket);
        }
        Self { steering, sockets }
    }

    /// One non-blocking pass over every socket; `on_frame(queue, frame)`. Returns the frames seen.
    pub fn poll(&mut self, mut on_frame: impl FnMut(usize, &[u8])) -> u32 {
        let mut n = 0;
        for (queue, socket) in self.sockets.iter_mut().enumerate() {
            n += socket.recv(64, |frame| on_frame(queue, frame));
        }
        n
    }
}

/// A payload of `len` bytes (at least 8) carrying `seq` and bytes derived from it.
pub fn numbered_payload(seq: u64, len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len.max(8)];
    write_numbered(&mut p, seq);
    p
}

/// Fills `buf` as [`numbered_payload`] would: `seq`, then random bytes seeded by it.
pub fn write_numbered(buf: &mut [u8], seq: u64) {
    if let Some(head) = buf.get_mut(..8) {
        head.copy_from_slice(&seq.to_be_bytes());
    }
    if let Some(tail) = buf.get_mut(8..) {
        crate::data::SplitMix64::new(seq).fill_bytes(tail);
    }
}

/// The number in a payload made by [`numbered_payload`], if every byte is as it was written.
pub fn check_numbered(payload: &[u8]) -> Option<u64> {
    let seq = u64::from_be_bytes(payload.get(..8)?.try_into().ok()?);
    crate::data::is_random_bytes(payload.get(8..)?, seq).then_some(seq)
}
