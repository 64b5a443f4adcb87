//! `GET /metrics`: every session's counters in the Prometheus text exposition format (version
//! 0.0.4). Each family is written once, with one sample per session (label `session`), so
//! that `promtool check metrics` finds nothing to say.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

/// Completion latency buckets, seconds.
const LATENCY_BUCKETS_S: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];

/// A metric family being written.
pub struct Family<'a> {
    out: &'a mut String,
    name: String,
}

/// The whole exposition.
#[derive(Default)]
pub struct Exposition {
    text: String,
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

impl Exposition {
    /// Starts family `name` (`xflute_` is prefixed) of `kind` (counter, gauge, histogram).
    pub fn family(&mut self, name: &str, kind: &str, help: &str) -> Family<'_> {
        let name = format!("xflute_{name}");
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
        Family {
            out: &mut self.text,
            name,
        }
    }

    /// The text.
    pub fn finish(self) -> String {
        self.text
    }
}

impl Family<'_> {
    /// One sample.
    pub fn sample(&mut self, pairs: &[(&str, &str)], value: f64) -> &mut Self {
        let _ = writeln!(self.out, "{}{} {}", self.name, labels(pairs), number(value));
        self
    }

    /// A histogram of microsecond values as seconds, with [`LATENCY_BUCKETS_S`].
    pub fn histogram_us(
        &mut self,
        pairs: &[(&str, &str)],
        h: Option<&Histogram<u64>>,
    ) -> &mut Self {
        let count = h.map_or(0, Histogram::len);
        for le in LATENCY_BUCKETS_S {
            let below = h.map_or(0, |h| {
                h.iter_recorded()
                    .filter(|v| v.value_iterated_to() as f64 <= le * 1e6)
                    .map(|v| v.count_at_value())
                    .sum::<u64>()
            });
            let mut with_le = pairs.to_vec();
            let le_text = number(le);
            with_le.push(("le", &le_text));
            let _ = writeln!(self.out, "{}_bucket{} {below}", self.name, labels(&with_le));
        }
        let mut with_inf = pairs.to_vec();
        with_inf.push(("le", "+Inf"));
        let _ = writeln!(
            self.out,
            "{}_bucket{} {count}",
            self.name,
            labels(&with_inf)
        );
        let sum_s = h.map_or(0.0, |h| {
            h.iter_recorded()
                .map(|v| v.value_iterated_to() as f64 * v.count_at_value() as f64)
                .sum::<f64>()
                / 1e6
        });
        let _ = writeln!(
            self.out,
            "{}_sum{} {}",
            self.name,
            labels(pairs),
            number(sum_s)
        );
        let _ = writeln!(self.out, "{}_count{} {count}", self.name, labels(pairs));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_histograms_are_written_in_the_text_format() {
        let mut e = Exposition::default();
        e.family("send_packets_total", "counter", "Packets sent.")
            .sample(&[("session", "a\"b")], 12.0);
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        h.record(2_000).unwrap();
        h.record(300_000).unwrap();
        e.family("latency_seconds", "histogram", "Latency.")
            .histogram_us(&[("session", "s")], Some(&h));
        let text = e.finish();
        assert!(text.contains("# TYPE xflute_send_packets_total counter\n"));
        assert!(
            text.contains("xflute_send_packets_total{session=\"a\\\"b\"} 12\n"),
            "{text}"
        );
        assert!(
            text.contains("xflute_latency_seconds_bucket{session=\"s\",le=\"0.001\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("xflute_latency_seconds_bucket{session=\"s\",le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("xflute_latency_seconds_bucket{session=\"s\",le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("xflute_latency_seconds_count{session=\"s\"} 2\n"),
            "{text}"
        );
    }
}
