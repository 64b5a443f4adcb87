//! A deterministic in-memory link between a sender and a receiver, in the spirit of
//! quinn-proto's test `Pair`: packets go in, and come out lost, reordered and duplicated as a
//! seed decides, so a failing run can be replayed exactly.

use crate::data::SplitMix64;

/// What the link does to packets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// Probability that a packet is lost.
    pub loss: f64,
    /// Probability that a packet is delivered twice.
    pub duplicate: f64,
    /// Packets are released from a window of this many, in random order (1 keeps the order).
    pub reorder_window: usize,
    /// The seed of every random decision.
    pub seed: u64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            reorder_window: 1,
            seed: 1,
        }
    }
}

/// Counters of what the link did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets offered.
    pub sent: u64,
    /// Packets dropped.
    pub lost: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Packets delivered (copies included).
    pub delivered: u64,
}

/// The link: [`Link::send`] packets in, what it returns (and [`Link::flush`]) out.
#[derive(Debug)]
pub struct Link {
    config: LinkConfig,
    rng: SplitMix64,
    window: Vec<Vec<u8>>,
    stats: LinkStats,
}

impl Link {
    /// A link that behaves as `config` says.
    pub fn new(config: LinkConfig) -> Self {
        Self {
            rng: SplitMix64::new(config.seed),
            config,
            window: Vec::new(),
            stats: LinkStats::default(),
        }
    }

    /// A perfect link: in order, nothing lost or duplicated.
    pub fn perfect() -> Self {
        Self::new(LinkConfig::default())
    }

    /// Offer a packet; returns the packets that leave the link now (possibly none).
    pub fn send(&mut self, packet: &[u8]) -> Vec<Vec<u8>> {
        self.stats.sent += 1;
        if self.rng.next_f64() < self.config.loss {
            self.stats.lost += 1;
            return Vec::new();
        }
        self.window.push(packet.to_vec());
        if self.rng.next_f64() < self.config.duplicate {
            self.stats.duplicated += 1;
            self.window.push(packet.to_vec());
        }
        let mut out = Vec::new();
        while self.window.len() >= self.config.reorder_window.max(1) {
            out.push(self.release_one());
        }
        out
    }

    /// Everything still held in the reorder window, in random order.
    pub fn flush(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !self.window.is_empty() {
            out.push(self.release_one());
        }
        out
    }

    fn release_one(&mut self) -> Vec<u8> {
        let i = self.rng.below(self.window.len());
        self.stats.delivered += 1;
        self.window.swap_remove(i)
    }

    /// What the link has done so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(config: LinkConfig, n: u32) -> (Vec<Vec<u8>>, LinkStats) {
        let mut link = Link::new(config);
        let mut out = Vec::new();
        for i in 0..n {
            out.extend(link.send(&i.to_be_bytes()));
        }
        out.extend(link.flush());
        (out, link.stats())
    }

    #[test]
    fn perfect_link_delivers_everything_in_order() {
        let (out, stats) = run(LinkConfig::default(), 100);
        let expected: Vec<Vec<u8>> = (0..100u32).map(|i| i.to_be_bytes().to_vec()).collect();
        assert_eq!(out, expected);
        assert_eq!(stats.lost + stats.duplicated, 0);
    }

    #[test]
    fn same_seed_same_faults_and_loss_near_the_configured_share() {
        let config = LinkConfig {
            loss: 0.1,
            duplicate: 0.05,
            reorder_window: 8,
            seed: 42,
        };
        let (a, sa) = run(config, 20_000);
        let (b, sb) = run(config, 20_000);
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        let loss = sa.lost as f64 / sa.sent as f64;
        assert!((0.09..0.11).contains(&loss), "loss {loss}");
        assert_eq!(sa.delivered, sa.sent - sa.lost + sa.duplicated);
        assert_ne!(a, {
            let mut sorted = a.clone();
            sorted.sort();
            sorted
        });
    }
}
