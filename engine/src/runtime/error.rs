//! Errors of the runtime: the I/O layer's, with what the engine was doing.

use crate::io::udp::UdpError;
use crate::io::xdp::XdpError;
use crate::io::xsk::XskError;

/// Starting or running an engine failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The builder was given something that cannot work.
    #[error("configuration: {0}")]
    Config(String),
    /// The XDP program.
    #[error(transparent)]
    Xdp(#[from] XdpError),
    /// An AF_XDP socket.
    #[error(transparent)]
    Xsk(#[from] XskError),
    /// A UDP socket.
    #[error(transparent)]
    Udp(#[from] UdpError),
    /// The output directory or a file.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A capture file (pcap backend).
    #[error("capture: {0}")]
    Pcap(#[from] crate::io::pcap::PcapError),
    /// A frame header could not be built.
    #[error("frame headers: {0}")]
    Frame(#[from] crate::io::frame::BuildError),
    /// A request to a running engine could not be carried out.
    #[error("{0}")]
    Control(String),
    /// The sans-IO sender refused a request (an object, a publication).
    #[error(transparent)]
    Sender(#[from] crate::sender::SenderError),
    /// A worker thread panicked.
    #[error("worker {0} panicked")]
    WorkerPanicked(usize),
}
