//! SVG charts for the data report, drawn with plotters.
//!
//! Each chart is a string of SVG, so the same value is written to a file for
//! the report and the book and shown inline in a notebook (evcxr calls
//! [`Chart::evcxr_display`]).

use plotters::prelude::*;

use super::stats::DataStats;

/// One rendered chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File stem, also the chart's id in the report.
    pub name: String,
    pub title: String,
    pub svg: String,
}

impl Chart {
    /// Shows the chart inline when a notebook cell evaluates to it.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT image/svg+xml\n{}\nEVCXR_END_CONTENT",
            self.svg
        );
    }
}

type DrawResult<T> = Result<T, String>;

fn draw_err<E: std::fmt::Debug>(e: E) -> String {
    format!("failed to draw a chart: {e:?}")
}

/// Hospitals get the same colour in every chart.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A grid of features by hospital, shaded by the share of missing values.
pub fn missingness(stats: &DataStats) -> DrawResult<Chart> {
    let (cell_w, cell_h, left, top) = (110i32, 26i32, 90i32, 50i32);
    let width = left + cell_w * stats.hospitals.len() as i32 + 20;
    let height = top + cell_h * stats.missing.len() as i32 + 20;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (width as u32, height as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let text = ("sans-serif", 13).into_font();
        root.draw(&Text::new(
            "Share of rows missing each feature ('?' or hidden zero)",
            (10, 12),
            ("sans-serif", 15).into_font(),
        ))
        .map_err(draw_err)?;
        for (j, hospital) in stats.hospitals.iter().enumerate() {
            let x = left + cell_w * j as i32 + 8;
            root.draw(&Text::new(hospital.clone(), (x, top - 18), text.clone()))
                .map_err(draw_err)?;
        }
        for (i, (feature, per)) in stats.missing.iter().enumerate() {
            let y = top + cell_h * i as i32;
            root.draw(&Text::new(feature.to_string(), (10, y + 7), text.clone()))
                .map_err(draw_err)?;
            for (j, missing) in per.iter().enumerate() {
                let rate = missing.rate();
                let x = left + cell_w * j as i32;
                // White for nothing missing, deep red for everything missing.
                let shade = (255.0 * (1.0 - rate)).round() as u8;
                let fill = RGBColor(255, shade, shade);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell_w - 2, y + cell_h - 2)],
                    fill.filled(),
                ))
                .map_err(draw_err)?;
                let label_colour = if rate > 0.6 { WHITE } else { BLACK };
                root.draw(&Text::new(
                    format!("{:.0}%", rate * 100.0),
                    (x + cell_w / 2 - 14, y + 7),
                    text.clone().color(&label_colour),
                ))
                .map_err(draw_err)?;
            }
        }
        root.present().map_err(draw_err)?;
    }
    Ok(Chart {
        name: "missingness".into(),
        title: "Missing values by hospital".into(),
        svg,
    })
}

/// Disease prevalence per hospital, as bars.
pub fn prevalence(stats: &DataStats) -> DrawResult<Chart> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let n = stats.prevalence.len();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Share of patients with heart disease (num > 0)",
                ("sans-serif", 16),
            )
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(0f64..n as f64, 0f64..100f64)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("% of rows")
            .draw()
            .map_err(draw_err)?;
        for (i, p) in stats.prevalence.iter().enumerate() {
            let x = i as f64;
            let rate = p.rate() * 100.0;
            chart
                .draw_series([Rectangle::new(
                    [(x + 0.15, 0.0), (x + 0.85, rate)],
                    colour(i).filled(),
                )])
                .map_err(draw_err)?;
            chart
                .draw_series([Text::new(
                    format!("{} {:.0}%", p.hospital, rate),
                    (x + 0.2, rate + 7.0),
                    ("sans-serif", 13).into_font(),
                )])
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(Chart {
        name: "prevalence".into(),
        title: "Disease prevalence by hospital".into(),
        svg,
    })
}

/// One measurement per hospital: a line from min to max, a box from mean
/// minus to mean plus one standard deviation, and a tick at the median.
/// Hidden zeros are left out, so the chart shows real measurements only.
pub fn distribution(stats: &DataStats, column: &str) -> DrawResult<Chart> {
    let (_, per, all) = stats
        .summaries
        .iter()
        .find(|(name, _, _)| *name == column)
        .ok_or_else(|| format!("{column} is not a measurement column"))?;
    let lo = all.min.unwrap_or(0.0);
    let hi = all.max.unwrap_or(1.0);
    let pad = ((hi - lo) * 0.05).max(1.0);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let n = per.len();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{column}: min-max line, mean ± 1 sd box, median tick"),
                ("sans-serif", 15),
            )
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..n as f64, (lo - pad)..(hi + pad))
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .draw()
            .map_err(draw_err)?;

        for (i, s) in per.iter().enumerate() {
            let x = i as f64 + 0.5;
            let c = colour(i);
            if let (Some(min), Some(max)) = (s.min, s.max) {
                chart
                    .draw_series([PathElement::new(
                        vec![(x, min), (x, max)],
                        c.stroke_width(2),
                    )])
                    .map_err(draw_err)?;
            }
            if let (Some(mean), Some(sd)) = (s.mean, s.sd) {
                chart
                    .draw_series([Rectangle::new(
                        [(x - 0.2, mean - sd), (x + 0.2, mean + sd)],
                        c.mix(0.35).filled(),
                    )])
                    .map_err(draw_err)?;
            }
            if let Some(median) = s.median {
                chart
                    .draw_series([PathElement::new(
                        vec![(x - 0.25, median), (x + 0.25, median)],
                        BLACK.stroke_width(2),
                    )])
                    .map_err(draw_err)?;
            }
            chart
                .draw_series([Text::new(
                    format!("{} (n={})", stats.hospitals[i], s.n),
                    (x - 0.4, lo - pad * 0.2),
                    ("sans-serif", 12).into_font(),
                )])
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(Chart {
        name: format!("distribution-{column}"),
        title: format!("{column} by hospital"),
        svg,
    })
}

/// Every chart of the report, in the order it shows them.
pub fn all(stats: &DataStats) -> DrawResult<Vec<Chart>> {
    let mut charts = vec![missingness(stats)?, prevalence(stats)?];
    for (column, _, _) in &stats.summaries {
        charts.push(distribution(stats, column)?);
    }
    Ok(charts)
}
