//! Finds the gateway configuration in the packets of a bootstrap session, sans-IO: FDT
//! instances (TOI 0) are reassembled to learn which TOIs carry a configuration (by Content-Type
//! or Content-Location), and those objects are reassembled in memory with the same bounded
//! assembly ([`FdtAssembly`]), capped at the receiver's FDT size limit. Nothing depends on how
//! the Content-Location would map to a file name: the configuration is never written out.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::cenc::Cenc;
use crate::fdt::FdtInstance;
use crate::receiver::{FdtAssembly, Limits};
use crate::wire::{AlcPacket, Oti};

use super::parse::{ParseLimits, Parsed};
use super::{GatewayConfiguration, MabrError, is_gateway_configuration};

/// FDT instances or configuration objects reassembled at once, at most; beyond this the
/// oldest is given up (the carousel sends it again).
const MAX_ASSEMBLING: usize = 8;
/// FDT instances remembered as read, so that a carousel's repeats cost no work.
const MAX_REMEMBERED: usize = 256;

/// A configuration object an FDT announced.
struct Target {
    oti: Option<Oti>,
    cenc: Cenc,
    assembly: Option<FdtAssembly>,
    done: bool,
}

/// Reads gateway configurations out of bootstrap-session packets.
pub struct BootstrapReader {
    limits: Limits,
    fdts: HashMap<(u64, u32), FdtAssembly>,
    fdt_order: VecDeque<(u64, u32)>,
    fdts_read: HashSet<(u64, u32)>,
    fdts_read_order: VecDeque<(u64, u32)>,
    targets: HashMap<(u64, u128), Target>,
    target_order: VecDeque<(u64, u128)>,
    last: Option<Vec<u8>>,
    dropped: u64,
}

impl BootstrapReader {
    /// A reader bounded by `limits` (`max_fdt_bytes`, `max_fdt_files`, `max_memory_bytes`,
    /// `max_decode_cost`, per object).
    pub fn new(limits: &Limits) -> Self {
        Self {
            limits: *limits,
            fdts: HashMap::new(),
            fdt_order: VecDeque::new(),
            fdts_read: HashSet::new(),
            fdts_read_order: VecDeque::new(),
            targets: HashMap::new(),
            target_order: VecDeque::new(),
            last: None,
            dropped: 0,
        }
    }

    /// Packets that could not be used (malformed, or refused by an assembly).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Takes one ALC packet (the UDP payload). Returns a configuration when one completes
    /// whose document differs from the last one returned, or why it cannot be read.
    pub fn push(&mut self, packet: &[u8]) -> Option<Result<Parsed, MabrError>> {
        let Ok(alc) = AlcPacket::parse(packet) else {
            self.dropped += 1;
            return None;
        };
        let (tsi, toi) = (alc.lct().tsi, alc.lct().toi);
        if let Some(fdt) = alc.ext_fdt() {
            self.fdt_packet(&alc, tsi, fdt.fdt_instance_id);
            return None;
        }
        let target = self.targets.get_mut(&(tsi, toi))?;
        if target.done {
            return None;
        }
        if target.assembly.is_none() {
            let Some(oti) = alc.fti().or(target.oti) else {
                self.dropped += 1;
                return None;
            };
            let cenc = alc
                .ext_cenc()
                .and_then(|c| Cenc::from_code(c.content_encoding))
                .unwrap_or(target.cenc);
            match FdtAssembly::new(&oti, cenc, &self.limits) {
                Ok(a) => target.assembly = Some(a),
                Err(_) => {
                    // Too large or not decodable: not worth trying again for this TOI.
                    target.done = true;
                    self.dropped += 1;
                    return None;
                }
            }
        }
        let id = alc.payload_id()?;
        let assembly = target.assembly.as_mut()?;
        match assembly.push(id.sbn, id.esi, alc.payload()) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(_) => {
                self.dropped += 1;
                return None;
            }
        }
        target.done = true;
        let bytes = target.assembly.take()?.finish_bytes().ok()?;
        if self.last.as_deref() == Some(bytes.as_slice()) {
            return None;
        }
        let limits = ParseLimits {
            max_document_bytes: self.limits.max_fdt_bytes,
            ..ParseLimits::default()
        };
        let parsed = GatewayConfiguration::parse(&bytes, &limits);
        self.last = Some(bytes);
        Some(parsed)
    }

    fn fdt_packet(&mut self, alc: &AlcPacket<'_>, tsi: u64, instance_id: u32) {
        let key = (tsi, instance_id);
        if self.fdts_read.contains(&key) {
            return;
        }
        if !self.fdts.contains_key(&key) {
            let Some(oti) = alc.fti() else {
                self.dropped += 1;
                return;
            };
            let cenc = alc
                .ext_cenc()
                .and_then(|c| Cenc::from_code(c.content_encoding))
                .unwrap_or(Cenc::Null);
            let Ok(assembly) = FdtAssembly::new(&oti, cenc, &self.limits) else {
                self.dropped += 1;
                return;
            };
            self.fdts.insert(key, assembly);
            self.fdt_order.push_back(key);
            if self.fdt_order.len() > MAX_ASSEMBLING
                && let Some(oldest) = self.fdt_order.pop_front()
            {
                self.fdts.remove(&oldest);
            }
        }
        let (Some(id), Some(assembly)) = (alc.payload_id(), self.fdts.get_mut(&key)) else {
            return;
        };
        match assembly.push(id.sbn, id.esi, alc.payload()) {
            Ok(false) => return,
            Ok(true) => {}
            Err(_) => {
                self.dropped += 1;
                return;
            }
        }
        self.fdt_order.retain(|k| *k != key);
        self.remember(key);
        let Some(assembly) = self.fdts.remove(&key) else {
            return;
        };
        match assembly.finish() {
            Ok((instance, _rejected)) => self.announce(tsi, &instance),
            Err(_) => self.dropped += 1,
        }
    }

    fn remember(&mut self, key: (u64, u32)) {
        if self.fdts_read.insert(key) {
            self.fdts_read_order.push_back(key);
        }
        if self.fdts_read_order.len() > MAX_REMEMBERED
            && let Some(oldest) = self.fdts_read_order.pop_front()
        {
            self.fdts_read.remove(&oldest);
        }
    }

    /// Notes the configuration objects an FDT instance describes.
    fn announce(&mut self, tsi: u64, instance: &FdtInstance) {
        for file in &instance.files {
            let content_type = instance.content_type_for(file);
            if !is_gateway_configuration(Some(&file.content_location), content_type) {
                continue;
            }
            let key = (tsi, file.toi);
            let oti = file
                .transfer_length
                .or(file.content_length)
                .and_then(|len| instance.fec_oti_for(file).to_oti(len).ok());
            let cenc = instance.cenc_for(file).unwrap_or(Cenc::Null);
            // A description that changed means new content under the TOI: read it again.
            let again = self
                .targets
                .get(&key)
                .is_none_or(|t| t.oti != oti || t.cenc != cenc);
            if !again {
                continue;
            }
            if !self.targets.contains_key(&key) {
                self.target_order.push_back(key);
            }
            self.targets.insert(
                key,
                Target {
                    oti,
                    cenc,
                    assembly: None,
                    done: false,
                },
            );
            if self.target_order.len() > MAX_ASSEMBLING
                && let Some(oldest) = self.target_order.pop_front()
            {
                self.targets.remove(&oldest);
            }
        }
    }
}
