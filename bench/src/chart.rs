//! The goodput chart: one horizontal bar per system and scenario (median), with a whisker from
//! the slowest to the fastest run, coloured by system, drawn with `plotters` into an SVG file.

use std::path::Path;

use plotters::prelude::*;

use crate::summary::{Row, System};

fn colour(system: System) -> RGBColor {
    match system {
        System::Ceiling => RGBColor(120, 120, 120),
        System::XfluteXdp => RGBColor(31, 119, 180),
        System::XfluteUdp => RGBColor(44, 160, 44),
        System::Flute => RGBColor(214, 39, 40),
    }
}

/// Draws `rows` into `path`, titled `title`.
pub fn svg(rows: &[Row], title: &str, path: &Path) -> Result<(), String> {
    let n = rows.len().max(1);
    let height = 80 + 22 * n as u32;
    let max = rows
        .iter()
        .map(|r| r.goodput_gbps_max)
        .fold(0.1f64, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, (1100, height)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| e.to_string();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let labels: Vec<String> = rows
        .iter()
        .map(|r| format!("{} · {}", r.scenario, r.system.name()))
        .collect();
    // Row 0 at the top: segment n - 1 - i.
    let segment = |i: usize| n - 1 - i;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(470)
        .build_cartesian_2d(0.0..max, (0..n).into_segmented())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(s) if *s < n => {
                labels.get(n - 1 - s).cloned().unwrap_or_default()
            }
            _ => String::new(),
        })
        .x_desc("goodput, Gbit/s (median; whisker: min to max)")
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| err(&e))?;
    for system in [
        System::Ceiling,
        System::XfluteXdp,
        System::XfluteUdp,
        System::Flute,
    ] {
        let c = colour(system);
        let bars: Vec<(usize, &Row)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.system == system)
            .map(|(i, r)| (segment(i), r))
            .collect();
        if bars.is_empty() {
            continue;
        }
        chart
            .draw_series(bars.iter().map(|(s, r)| {
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(*s)),
                        (r.goodput_gbps_median, SegmentValue::Exact(s + 1)),
                    ],
                    c.filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                bar
            }))
            .map_err(|e| err(&e))?
            .label(system.name())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        chart
            .draw_series(bars.iter().map(|(s, r)| {
                PathElement::new(
                    vec![
                        (r.goodput_gbps_min, SegmentValue::CenterOf(*s)),
                        (r.goodput_gbps_max, SegmentValue::CenterOf(*s)),
                    ],
                    BLACK.stroke_width(1),
                )
            }))
            .map_err(|e| err(&e))?;
    }
    // A row that could not be measured has no bar: it says so where the bar would be.
    chart
        .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
            let reason = r.unavailable.as_ref()?;
            let mut text = format!("unavailable: {reason}");
            if text.chars().count() > 90 {
                text = text.chars().take(89).chain(['…']).collect();
            }
            Some(Text::new(
                text,
                (max * 0.01, SegmentValue::CenterOf(segment(i))),
                ("sans-serif", 12).into_font().color(&RGBColor(150, 0, 0)),
            ))
        }))
        .map_err(|e| err(&e))?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Sample;

    #[test]
    fn chart_labels_every_row_with_its_scenario_and_system_and_a_legend() {
        let sample = |g: f64| Sample {
            goodput_gbps: g,
            ..Sample::default()
        };
        let rows = vec![
            Row::new("raw", System::Ceiling, &[sample(6.0)]),
            Row::new("no-code", System::XfluteXdp, &[sample(3.0), sample(3.5)]),
            Row::new("no-code", System::Flute, &[sample(1.0)]),
        ];
        let path = std::env::temp_dir().join(format!("xflute-chart-{}.svg", std::process::id()));
        svg(&rows, "test", &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        for label in ["raw · ceiling", "no-code · xflute-xdp", "no-code · flute"] {
            assert!(text.contains(label), "{label} missing");
        }
        assert!(!text.contains("xflute-udp") && text.contains(">\nflute\n<"));
    }

    #[test]
    fn chart_says_why_a_row_is_unavailable_in_place_of_its_bar() {
        let rows = vec![
            Row::unavailable("raw rx", System::Ceiling, "EPERM from the kernel"),
            Row::new(
                "no-code",
                System::XfluteXdp,
                &[Sample {
                    goodput_gbps: 2.0,
                    ..Sample::default()
                }],
            ),
        ];
        let path = std::env::temp_dir().join(format!("xflute-chart-u-{}.svg", std::process::id()));
        svg(&rows, "test", &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            text.contains("unavailable: EPERM from the kernel"),
            "{text}"
        );
    }
}
