//! What one benchmark scenario carries: a set of objects of known, reproducible content, a FEC
//! scheme (no-code, Reed-Solomon GF(2^8) k = 64 r = 24, RaptorQ K = 1024 r = 256) and the loss
//! injected on the way. The same description builds xflute's sans-IO sender, the arguments of
//! the harness's child processes and of `flute_peer`, and checks what a receiver wrote.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use xflute::endpoint::UdpEndpoint;
use xflute::sender::{CarouselRepeatMode, Config, ObjectDesc, Sender, TransferConfig};
use xflute::wire::{FecEncodingId, Oti, SchemeSpecific};
use xflute_tests::data::{is_random_bytes, random_bytes};

/// How often the FDT is repeated (`flute_peer send`'s default too).
pub const FDT_INTERVAL: Duration = Duration::from_millis(100);
/// Encoding symbol length of every scenario, bytes (a 1500-byte MTU's worth with headers).
pub const SYMBOL_BYTES: u16 = 1400;

/// The FEC scheme of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Fec {
    /// Compact No-Code (FEC Encoding ID 0), blocks of 64 symbols.
    None,
    /// Reed-Solomon over GF(2^m) with m = 8 (ID 2, RFC 5510 §4): what flute takes for objects
    /// of more than 255 blocks (its ID 5 stops there).
    Rs2m,
    /// RaptorQ (ID 6, RFC 6330).
    Raptorq,
}

impl Fec {
    /// The name `flute_peer` and the child processes take.
    pub fn arg(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Rs2m => "rs2m",
            Self::Raptorq => "raptorq",
        }
    }
}

/// One scenario: `count` objects of `object_bytes` each, coded with `fec` (`k` source and `r`
/// repair symbols per block), `loss` of the packets dropped on the way.
#[derive(Clone, Debug, PartialEq, clap::Args)]
pub struct Scenario {
    /// FEC scheme.
    #[arg(long, value_enum)]
    pub fec: Fec,
    /// Source symbols per block (k, or K for RaptorQ).
    #[arg(long, default_value_t = 64)]
    pub k: u32,
    /// Repair symbols per block.
    #[arg(long, default_value_t = 0)]
    pub r: u32,
    /// Number of objects.
    #[arg(long)]
    pub count: u32,
    /// Bytes of each object.
    #[arg(long)]
    pub object_bytes: u64,
    /// Fraction of the packets dropped on the way (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
}

impl Scenario {
    /// A short name for tables: `nocode 1x1024MiB`, `rs28 k64 r24 10% 1000x64KiB`.
    pub fn name(&self) -> String {
        let coding = match self.fec {
            Fec::None => "no-code".to_owned(),
            Fec::Rs2m => format!("RS(m=8) k={} r={}", self.k, self.r),
            Fec::Raptorq => format!("RaptorQ K={} r={}", self.k, self.r),
        };
        let loss = if self.loss > 0.0 {
            format!(" {:.0}% loss", self.loss * 100.0)
        } else {
            String::new()
        };
        format!("{coding}{loss}, {}", self.set_name())
    }

    /// `1 x 1024 MiB` or `1000 x 64 KiB`.
    pub fn set_name(&self) -> String {
        let size = if self.object_bytes >= 1 << 20 {
            format!("{} MiB", self.object_bytes >> 20)
        } else {
            format!("{} KiB", self.object_bytes >> 10)
        };
        format!("{} x {size}", self.count)
    }

    /// Bytes of all objects.
    pub fn total_bytes(&self) -> u64 {
        u64::from(self.count) * self.object_bytes
    }

    /// The arguments that describe this scenario to a child process (`--fec ... --loss ...`).
    pub fn to_args(&self) -> Vec<String> {
        vec![
            "--fec".into(),
            self.fec.arg().into(),
            "--k".into(),
            self.k.to_string(),
            "--r".into(),
            self.r.to_string(),
            "--count".into(),
            self.count.to_string(),
            "--object-bytes".into(),
            self.object_bytes.to_string(),
            "--loss".into(),
            self.loss.to_string(),
        ]
    }

    /// The FEC OTI of every object (Transfer Length and the number of blocks are filled in by
    /// the sender).
    pub fn oti(&self) -> Oti {
        let (fec_encoding_id, scheme_specific, max_n) = match self.fec {
            Fec::None => (FecEncodingId::NoCode, SchemeSpecific::None, self.k),
            Fec::Rs2m => (
                FecEncodingId::ReedSolomonGf2m,
                SchemeSpecific::ReedSolomonGf2m { m: 8, g: 1 },
                self.k + self.r,
            ),
            // One sub-block, symbols aligned to 4 bytes: what flute's `Oti::new_raptorq(1400,
            // K, r, 1, 4)` announces.
            Fec::Raptorq => (
                FecEncodingId::RaptorQ,
                SchemeSpecific::RaptorQ { z: 0, n: 1, al: 4 },
                self.k + self.r,
            ),
        };
        Oti {
            fec_encoding_id,
            fec_instance_id: 0,
            transfer_length: 0,
            encoding_symbol_length: SYMBOL_BYTES,
            maximum_source_block_length: self.k,
            max_number_of_encoding_symbols: max_n,
            scheme_specific,
        }
    }

    /// The file name of object `index` below a receiver's output directory.
    pub fn object_name(index: u32) -> String {
        format!("obj{index:05}.bin")
    }

    /// The index of the object named `name`, if it is one of this scenario's.
    pub fn object_index(&self, name: &str) -> Option<u32> {
        let index = name
            .strip_prefix("obj")?
            .strip_suffix(".bin")?
            .parse()
            .ok()?;
        (index < self.count).then_some(index)
    }

    /// A sans-IO sender to `destination` (TSI 1) with every object added, repeated as a
    /// carousel when `carousel` is set (so that what a congested link drops comes round again).
    pub fn sender(&self, destination: SocketAddr, carousel: bool) -> Result<Sender, String> {
        let endpoint = UdpEndpoint::new(destination.ip(), destination.port());
        // As flute's sender (and `flute_peer`) does it: the FDT is coded with the session's
        // scheme too, so that it survives the loss, and repeated every 100 ms.
        let config = Config {
            fdt_carousel_mode: CarouselRepeatMode::DelayBetweenTransfers(FDT_INTERVAL),
            ..Config::default()
        };
        let mut sender = Sender::new(endpoint, 1, self.oti(), config).map_err(|e| e.to_string())?;
        for index in 0..self.count {
            let transfer = TransferConfig {
                carousel_mode: carousel
                    .then_some(CarouselRepeatMode::DelayBetweenTransfers(Duration::ZERO)),
                ..TransferConfig::default()
            };
            let object = ObjectDesc::from_bytes(
                Arc::new(object_content(index, self.object_bytes)),
                "application/octet-stream",
                format!("file:///{}", Self::object_name(index)),
                false,
                transfer,
            )
            .map_err(|e| e.to_string())?;
            sender.add_object(0, object).map_err(|e| e.to_string())?;
        }
        Ok(sender)
    }
}

/// The content of object `index`: `len` random bytes seeded by the index, the same in every
/// process (and the same as `flute_peer`'s generated object of that index).
pub fn object_content(index: u32, len: u64) -> Vec<u8> {
    random_bytes(len as usize, u64::from(index))
}

/// Whether `bytes` is exactly the content of object `index`.
pub fn is_object_content(index: u32, len: u64, bytes: &[u8]) -> bool {
    bytes.len() as u64 == len && is_random_bytes(bytes, u64::from(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_content_is_reproducible_and_checked_byte_for_byte() {
        let a = object_content(3, 1001);
        assert_eq!(a, object_content(3, 1001));
        assert!(is_object_content(3, 1001, &a));
        assert!(!is_object_content(4, 1001, &a));
        let mut b = a.clone();
        b[1000] ^= 1;
        assert!(!is_object_content(3, 1001, &b));
    }

    #[test]
    fn scenario_round_trips_through_its_child_arguments() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            scenario: Scenario,
        }
        let s = Scenario {
            fec: Fec::Raptorq,
            k: 1024,
            r: 256,
            count: 2,
            object_bytes: 5000,
            loss: 0.1,
        };
        let args = std::iter::once("x".to_owned()).chain(s.to_args());
        let parsed = <Cli as clap::Parser>::try_parse_from(args).unwrap();
        assert_eq!(parsed.scenario, s);
        assert_eq!(s.object_index(&Scenario::object_name(1)), Some(1));
        assert_eq!(s.object_index(&Scenario::object_name(2)), None);
    }
}
