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
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(470)
        .build_cartesian_2d(0.0..max, 0.0..n as f64)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n + 1)
        .y_label_formatter(&|y| {
            let i = (n as f64 - y - 0.5).round();
            if (y.fract() - 0.5).abs() < 0.01 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
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
        let bars: Vec<(f64, f64, &Row)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.system == system)
            .map(|(i, r)| {
                let top = n as f64 - i as f64;
                (top - 0.15, top - 0.85, r)
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        chart
            .draw_series(bars.iter().map(|(y0, y1, r)| {
                Rectangle::new([(0.0, *y0), (r.goodput_gbps_median, *y1)], c.filled())
            }))
            .map_err(|e| err(&e))?
            .label(system.name())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        chart
            .draw_series(bars.iter().map(|(y0, y1, r)| {
                let y = (y0 + y1) / 2.0;
                PathElement::new(
                    vec![(r.goodput_gbps_min, y), (r.goodput_gbps_max, y)],
                    BLACK.stroke_width(1),
                )
            }))
            .map_err(|e| err(&e))?;
    }
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
