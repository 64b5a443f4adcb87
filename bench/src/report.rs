//! The result as a markdown table (with the ratios xflute/flute and xflute/ceiling and the
//! targets of the benchmark issue), as JSON (an array of [`Row`]s), and as an SVG chart.

use std::fmt::Write as _;

use crate::summary::{Row, System};

/// A target: a ratio measured against the bar it should reach.
#[derive(Clone, Debug)]
pub struct Target {
    /// What is compared.
    pub what: String,
    /// The measured ratio, if both sides were measured.
    pub ratio: Option<f64>,
    /// The bar.
    pub bar: f64,
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"))
}

/// Fills in each xflute row's ratios: over flute's row of the same scenario, and over
/// `ceiling_gbps`.
pub fn add_ratios(rows: &mut [Row], ceiling_gbps: Option<f64>) {
    let flute: Vec<(String, f64)> = rows
        .iter()
        .filter(|r| r.system == System::Flute)
        .map(|r| (r.scenario.clone(), r.goodput_gbps_median))
        .collect();
    for row in rows.iter_mut() {
        if !matches!(row.system, System::XfluteXdp | System::XfluteUdp) {
            continue;
        }
        row.vs_flute = flute
            .iter()
            .find(|(s, g)| *s == row.scenario && *g > 0.0)
            .map(|(_, g)| row.goodput_gbps_median / g);
        row.vs_ceiling = ceiling_gbps
            .filter(|c| *c > 0.0)
            .map(|c| row.goodput_gbps_median / c);
    }
}

/// The markdown table of `rows`, then the targets.
pub fn markdown(rows: &[Row], targets: &[Target]) -> String {
    let mut s = String::new();
    s.push_str(
        "| scenario | system | goodput Gbit/s median [min–max] | kpps | rx CPU s/GB | tx CPU s/GB | rx RssAnon MiB | latency p50 / p99 ms | unrecovered | xflute/flute | xflute/ceiling |\n",
    );
    s.push_str("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for r in rows {
        let system = match (r.system, r.rate_mbps) {
            (System::Flute, Some(rate)) => format!("flute (paced {rate} Mbit/s)"),
            (system, _) => system.name().to_owned(),
        };
        if let Some(reason) = &r.unavailable {
            let _ = writeln!(
                s,
                "| {} | {system} | unavailable: {} | – | – | – | – | – / – | – | – | – |",
                r.scenario,
                reason.replace('|', "/")
            );
            continue;
        }
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} [{:.2}–{:.2}] | {:.0} | {} | {} | {} | {} / {} | {}{} | {} | {} |",
            r.scenario,
            system,
            r.goodput_gbps_median,
            r.goodput_gbps_min,
            r.goodput_gbps_max,
            r.pps_median / 1e3,
            opt(r.rx_cpu_s_per_gb_median, 2),
            opt(r.tx_cpu_s_per_gb_median, 2),
            opt(r.rss_anon_mib_max, 1),
            opt(r.latency_ms_p50, 1),
            opt(r.latency_ms_p99, 1),
            r.unrecovered_objects,
            if r.corrupt_objects > 0 {
                format!(" ({} corrupt)", r.corrupt_objects)
            } else {
                String::new()
            },
            opt(r.vs_flute, 2),
            opt(r.vs_ceiling, 2),
        );
    }
    if !targets.is_empty() {
        s.push_str("\n| target | measured | bar | met |\n| --- | --- | --- | --- |\n");
        for t in targets {
            let met = match t.ratio {
                Some(r) if r >= t.bar => "yes",
                Some(_) => "no",
                None => "not measured",
            };
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} | {met} |",
                t.what,
                opt(t.ratio, 2),
                t.bar
            );
        }
    }
    s
}

/// The counters of each row's median run, one line each.
pub fn notes(rows: &[Row]) -> String {
    let mut s = String::new();
    for r in rows.iter().filter(|r| !r.note.is_empty()) {
        let _ = writeln!(s, "- {} / {}: {}", r.scenario, r.system.name(), r.note);
    }
    s
}

/// `rows` as a JSON array.
pub fn json(rows: &[Row]) -> Result<String, String> {
    serde_json::to_string_pretty(rows).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Sample;

    #[test]
    fn unavailable_rows_carry_their_reason_into_the_table_and_the_json() {
        let mut rows = vec![
            Row::unavailable("raw rx", System::Ceiling, "BPF_PROG_TEST_RUN: EPERM"),
            Row::new(
                "no-code",
                System::XfluteXdp,
                &[Sample {
                    goodput_gbps: 2.0,
                    ..Sample::default()
                }],
            ),
        ];
        add_ratios(&mut rows, None);
        let table = markdown(&rows, &[]);
        assert!(
            table.contains("| raw rx | ceiling | unavailable: BPF_PROG_TEST_RUN: EPERM |"),
            "{table}"
        );
        let json = json(&rows).unwrap();
        assert!(
            json.contains("\"unavailable\": \"BPF_PROG_TEST_RUN: EPERM\""),
            "{json}"
        );
        assert!(json.contains("\"unavailable\": null"), "{json}");
    }
}
