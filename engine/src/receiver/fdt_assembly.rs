//! One FDT instance (TOI 0, RFC 6726 §3.3) reassembled from its packets outside a receiver —
//! by a capture inspector, say — with the receiver's own bounds: nothing is allocated at the
//! size the packets declare; bookkeeping, bytes and FEC scratch are allocated as symbols land
//! and charged to a budget of the caller's `Limits::max_memory_bytes`; a block whose decode
//! would cost more than `Limits::max_decode_cost` is not decoded.
//!
//! An application holding many instances at once bounds how many (a capture may hold any
//! number of new instance IDs) or sums [`FdtAssembly::memory_bytes`].

use std::time::SystemTime;

use crate::cenc::Cenc;
use crate::fdt::{FdtInstance, RejectedFile};
use crate::wire::Oti;

use super::budget::Budget;
use super::config::Limits;
use super::error::ReceiverError;
use super::fdt_state::FdtReceiving;

/// An FDT instance being reassembled.
#[derive(Debug)]
pub struct FdtAssembly {
    inner: FdtReceiving,
    memory: Budget,
    max_files: usize,
}

impl FdtAssembly {
    /// An instance described by `oti` (its packets' EXT_FTI) and `cenc` (their EXT_CENC),
    /// within `limits` (`max_fdt_bytes`, `max_fdt_files`, `max_memory_bytes`,
    /// `max_decode_cost`).
    pub fn new(oti: &Oti, cenc: Cenc, limits: &Limits) -> Result<Self, ReceiverError> {
        let memory = Budget::new(limits.max_memory_bytes);
        let inner = FdtReceiving::new(oti, cenc, limits, &memory, SystemTime::UNIX_EPOCH)
            .map_err(|e| *e)?;
        Ok(Self {
            inner,
            memory,
            max_files: limits.max_fdt_files,
        })
    }

    /// Adds the payload of one packet (source or repair symbols at `sbn`, `esi`); `true` once
    /// the instance is complete.
    pub fn push(&mut self, sbn: u32, esi: u32, payload: &[u8]) -> Result<bool, ReceiverError> {
        Ok(self.inner.push(sbn, esi, payload)?)
    }

    /// Memory it holds, in bytes.
    pub fn memory_bytes(&self) -> u64 {
        self.memory.used()
    }

    /// Decodes (content encoding, capped at `max_fdt_bytes`) and parses the complete instance;
    /// File entries with an invalid value are left out and returned beside it.
    pub fn finish(self) -> Result<(FdtInstance, Vec<RejectedFile>), ReceiverError> {
        self.inner.parse(self.max_files).map_err(|e| *e)
    }

    /// The complete object's bytes, content-decoded and capped at `max_fdt_bytes`: for a small
    /// object reassembled the same way, such as a DVB-MABR gateway configuration.
    pub fn finish_bytes(self) -> Result<Vec<u8>, ReceiverError> {
        self.inner.into_bytes().map_err(|e| *e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fdt::{FdtXmlProfile, File};
    use crate::wire::{FecEncodingId, SchemeSpecific};

    fn oti(transfer_length: u64, symbol_len: u16, block_len: u32) -> Oti {
        Oti {
            fec_encoding_id: FecEncodingId::NoCode,
            fec_instance_id: 0,
            transfer_length,
            encoding_symbol_length: symbol_len,
            maximum_source_block_length: block_len,
            max_number_of_encoding_symbols: block_len,
            scheme_specific: SchemeSpecific::None,
        }
    }

    #[test]
    fn an_instance_is_reassembled_and_parsed_holding_only_what_arrived() {
        let mut instance = FdtInstance::new(3_900_000_000);
        instance.files = vec![File::new("file:///a", 1), File::new("file:///b", 2)];
        let xml =
            crate::cenc::encode(Cenc::Gzip, &instance.to_xml(FdtXmlProfile::Extended)).unwrap();
        let limits = Limits::default();
        let mut fdt =
            FdtAssembly::new(&oti(xml.len() as u64, 100, 64), Cenc::Gzip, &limits).unwrap();
        let chunks: Vec<&[u8]> = xml.chunks(100).collect();
        for (esi, chunk) in chunks.iter().enumerate().rev() {
            let done = fdt.push(0, esi as u32, chunk).unwrap();
            assert_eq!(done, esi == 0);
            assert!(fdt.memory_bytes() < 4 * xml.len() as u64 + 4096);
        }
        let (parsed, rejected) = fdt.finish().unwrap();
        assert_eq!(parsed.files, instance.files);
        assert!(rejected.is_empty());
        // Declaring the 4 MiB of the cap allocates nothing of it before a symbol lands.
        let big = FdtAssembly::new(&oti(4 << 20, 1400, 64), Cenc::Gzip, &limits).unwrap();
        assert!(big.memory_bytes() < 4096, "{}", big.memory_bytes());
        // Over the cap, or bookkeeping over the budget, is refused.
        assert!(FdtAssembly::new(&oti((4 << 20) + 1, 1400, 64), Cenc::Null, &limits).is_err());
        let small_budget = Limits {
            max_memory_bytes: 1 << 20,
            ..limits
        };
        assert!(FdtAssembly::new(&oti(4 << 20, 1, 1), Cenc::Null, &small_budget).is_err());
    }
}
