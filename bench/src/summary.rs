//! One measured run ([`Sample`]) and the rows of the result: the repetitions of one system in
//! one scenario summed up as median, min and max ([`Row`]).

use serde::Serialize;

/// The systems compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum System {
    /// Raw AF_XDP I/O, no FLUTE work.
    #[serde(rename = "ceiling")]
    Ceiling,
    /// xflute's engines on AF_XDP.
    #[serde(rename = "xflute-xdp")]
    XfluteXdp,
    /// xflute's engines on UDP sockets.
    #[serde(rename = "xflute-udp")]
    XfluteUdp,
    /// flute 1.11.7 on UDP sockets (`flute_peer`).
    #[serde(rename = "flute")]
    Flute,
}

impl System {
    /// The name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ceiling => "ceiling",
            Self::XfluteXdp => "xflute-xdp",
            Self::XfluteUdp => "xflute-udp",
            Self::Flute => "flute",
        }
    }
}

/// One run of one system in one scenario.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Delivered bytes over the time from the first packet to the last completion, Gbit/s.
    pub goodput_gbps: f64,
    /// Packets the receiver took per second over that time.
    pub pps: f64,
    /// Receiver CPU seconds per GB delivered.
    pub rx_cpu_s_per_gb: Option<f64>,
    /// Sender CPU seconds per GB delivered.
    pub tx_cpu_s_per_gb: Option<f64>,
    /// The receiver's peak anonymous resident memory, MiB.
    pub rss_anon_mib: Option<f64>,
    /// Object completion latencies, ms.
    pub latencies_ms: Vec<f64>,
    /// Objects not delivered.
    pub unrecovered: u64,
    /// Objects delivered with other bytes than sent.
    pub corrupt: u64,
    /// The pace of flute's sender, Mbit/s.
    pub rate_mbps: Option<u64>,
    /// Counters worth reading next to the figure.
    pub note: String,
}

/// All runs of one system in one scenario, summed up.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The scenario's name.
    pub scenario: String,
    /// The system.
    pub system: System,
    /// Runs.
    pub runs: usize,
    /// Goodput, Gbit/s.
    pub goodput_gbps_median: f64,
    /// Goodput, Gbit/s.
    pub goodput_gbps_min: f64,
    /// Goodput, Gbit/s.
    pub goodput_gbps_max: f64,
    /// Packets per second at the receiver.
    pub pps_median: f64,
    /// Receiver CPU seconds per GB delivered.
    pub rx_cpu_s_per_gb_median: Option<f64>,
    /// Sender CPU seconds per GB delivered.
    pub tx_cpu_s_per_gb_median: Option<f64>,
    /// The receiver's peak anonymous RSS over all runs, MiB.
    pub rss_anon_mib_max: Option<f64>,
    /// Completion latency percentiles over every object of every run, ms.
    pub latency_ms_p50: Option<f64>,
    /// 99th percentile.
    pub latency_ms_p99: Option<f64>,
    /// Largest.
    pub latency_ms_max: Option<f64>,
    /// Objects not delivered, all runs together.
    pub unrecovered_objects: u64,
    /// Objects delivered corrupt, all runs together.
    pub corrupt_objects: u64,
    /// flute's loss-free pace, Mbit/s.
    pub rate_mbps: Option<u64>,
    /// Goodput median over flute's in the same scenario.
    pub vs_flute: Option<f64>,
    /// Goodput median over the ceiling's.
    pub vs_ceiling: Option<f64>,
    /// Counters of the median run.
    pub note: String,
    /// Why this row could not be measured (a kernel feature refused); `None` when it was.
    pub unavailable: Option<String>,
}

/// The median of `v` (mean of the middle two for an even count); `None` when empty.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => s.get(n / 2).copied(),
        _ => Some((s.get(n / 2 - 1)? + s.get(n / 2)?) / 2.0),
    }
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

impl Row {
    /// Sums up `samples` (at least one).
    pub fn new(scenario: &str, system: System, samples: &[Sample]) -> Self {
        let goodputs: Vec<f64> = samples.iter().map(|s| s.goodput_gbps).collect();
        let med = median(&goodputs).unwrap_or(0.0);
        let opt = |f: &dyn Fn(&Sample) -> Option<f64>| {
            median(&samples.iter().filter_map(f).collect::<Vec<_>>())
        };
        let mut latencies: Vec<f64> = samples
            .iter()
            .flat_map(|s| s.latencies_ms.iter().copied())
            .collect();
        latencies.sort_by(f64::total_cmp);
        // The note and pace of the run closest to the median.
        let middle = samples.iter().min_by(|a, b| {
            (a.goodput_gbps - med)
                .abs()
                .total_cmp(&(b.goodput_gbps - med).abs())
        });
        Self {
            scenario: scenario.to_owned(),
            system,
            runs: samples.len(),
            goodput_gbps_median: med,
            goodput_gbps_min: goodputs.iter().copied().reduce(f64::min).unwrap_or(0.0),
            goodput_gbps_max: goodputs.iter().copied().fold(0.0, f64::max),
            pps_median: median(&samples.iter().map(|s| s.pps).collect::<Vec<_>>()).unwrap_or(0.0),
            rx_cpu_s_per_gb_median: opt(&|s| s.rx_cpu_s_per_gb),
            tx_cpu_s_per_gb_median: opt(&|s| s.tx_cpu_s_per_gb),
            rss_anon_mib_max: samples
                .iter()
                .filter_map(|s| s.rss_anon_mib)
                .reduce(f64::max),
            latency_ms_p50: percentile(&latencies, 50.0),
            latency_ms_p99: percentile(&latencies, 99.0),
            latency_ms_max: latencies.last().copied(),
            unrecovered_objects: samples.iter().map(|s| s.unrecovered).sum(),
            corrupt_objects: samples.iter().map(|s| s.corrupt).sum(),
            rate_mbps: middle.and_then(|s| s.rate_mbps),
            vs_flute: None,
            vs_ceiling: None,
            note: middle.map(|s| s.note.clone()).unwrap_or_default(),
            unavailable: None,
        }
    }

    /// A row that could not be measured, and why.
    pub fn unavailable(scenario: &str, system: System, reason: &str) -> Self {
        Self {
            runs: 0,
            unavailable: Some(reason.to_owned()),
            ..Self::new(scenario, system, &[])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts_and_percentiles_of_sorted_values() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
    }

    #[test]
    fn row_sums_up_runs_as_median_min_max_and_totals() {
        let s = |g: f64, lost: u64| Sample {
            goodput_gbps: g,
            unrecovered: lost,
            latencies_ms: vec![g],
            ..Sample::default()
        };
        let row = Row::new("x", System::Flute, &[s(1.0, 0), s(3.0, 1), s(2.0, 0)]);
        assert_eq!(
            (
                row.goodput_gbps_median,
                row.goodput_gbps_min,
                row.goodput_gbps_max
            ),
            (2.0, 1.0, 3.0)
        );
        assert_eq!(row.unrecovered_objects, 1);
        assert_eq!(row.latency_ms_max, Some(3.0));
    }
}
