//! The report's charts, drawn as SVG by `plotters` (its SVG backend only: no fonts are read, the browser
//! lays out the text, and the markup is inlined in the page).
//!
//! Two shapes cover every chart: a histogram of binned values (on a linear or logarithmic axis, one or two
//! stacked series, with an optional threshold line), and horizontal bars for named counts (one or more
//! stacked parts per bar).

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The colour of the first series (kept, passed): blue.
pub const FIRST: RGBColor = RGBColor(55, 126, 184);
/// The colour of the second series (dropped, failed): orange. Blue and orange stay apart for the
/// common kinds of colour blindness.
pub const SECOND: RGBColor = RGBColor(255, 127, 0);
/// A third part (errors): grey.
pub const THIRD: RGBColor = RGBColor(140, 140, 140);
/// The threshold line.
const LINE: RGBColor = RGBColor(200, 0, 0);
const FONT: &str = "sans-serif";

/// A histogram to draw.
pub struct Histogram<'a> {
    /// What the x axis measures.
    pub x_label: &'a str,
    /// Bin edges: `counts.len() + 1` increasing values.
    pub edges: Vec<f64>,
    /// Per bin, the count of each series (stacked in order).
    pub counts: Vec<Vec<u64>>,
    /// The series' names and colours, for the legend (no legend for a single series).
    pub series: Vec<(&'a str, RGBColor)>,
    pub log_x: bool,
    /// A vertical line and its label.
    pub threshold: Option<(f64, String)>,
    pub size: (u32, u32),
}

/// Horizontal bars to draw.
pub struct Bars<'a> {
    pub x_label: &'a str,
    /// Per bar, its name and the counts of its stacked parts.
    pub bars: Vec<(String, Vec<u64>)>,
    pub parts: Vec<(&'a str, RGBColor)>,
    pub width: u32,
}

fn fail<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart: {e:?}")
}

/// A short label for a number on an axis: `1.2k`, `35`, `0.25`.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || v == v.round() {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Histogram<'_> {
    /// The chart as an SVG document.
    pub fn svg(&self) -> Result<String> {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, self.size).into_drawing_area();
            root.fill(&WHITE).map_err(fail)?;
            let lo = self.edges.first().copied().unwrap_or(0.0);
            let hi = self.edges.last().copied().unwrap_or(1.0);
            let (lo, hi) = if lo.is_finite() && hi.is_finite() && hi > lo {
                (lo, hi)
            } else {
                (0.0, 1.0)
            };
            if self.log_x {
                let x = (lo.max(f64::MIN_POSITIVE)..hi).log_scale();
                self.draw(&root, x)?;
            } else {
                self.draw(&root, lo..hi)?;
            }
            root.present().map_err(fail)?;
        }
        Ok(out)
    }

    fn draw<X>(&self, root: &DrawingArea<SVGBackend<'_>, Shift>, x: X) -> Result<()>
    where
        X: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
        X::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
    {
        let top = self
            .counts
            .iter()
            .map(|c| c.iter().sum::<u64>())
            .max()
            .unwrap_or(0)
            .max(1);
        let y_top = top + top / 8 + 1;
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .margin_right(16)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(x, 0u64..y_top)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.08))
            .x_desc(self.x_label)
            .y_desc("documents")
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&|v| short_number(*v))
            .y_label_formatter(&|v| short_number(*v as f64))
            .label_style((FONT, 11))
            .axis_desc_style((FONT, 12))
            .draw()
            .map_err(fail)?;
        for (part, (name, colour)) in self.series.iter().enumerate() {
            let rects = self.counts.iter().enumerate().filter_map(|(i, c)| {
                let below: u64 = c[..part].iter().sum();
                let n = c.get(part).copied().unwrap_or(0);
                (n > 0).then(|| {
                    Rectangle::new(
                        [(self.edges[i], below), (self.edges[i + 1], below + n)],
                        colour.filled(),
                    )
                })
            });
            let drawn = chart.draw_series(rects).map_err(fail)?;
            if self.series.len() > 1 {
                let colour = *colour;
                drawn.label(*name).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
            }
        }
        if let Some((t, label)) = self.threshold.as_ref().filter(|(t, _)| t.is_finite()) {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(*t, 0), (*t, y_top)],
                    LINE.stroke_width(2),
                )))
                .map_err(fail)?;
            let style = TextStyle::from((FONT, 11).into_font())
                .color(&LINE)
                .pos(Pos::new(HPos::Left, VPos::Top));
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(" {label}"),
                    (*t, y_top),
                    style,
                )))
                .map_err(fail)?;
        }
        if self.series.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.2))
                .label_font((FONT, 11))
                .draw()
                .map_err(fail)?;
        }
        Ok(())
    }
}

impl Bars<'_> {
    /// The chart as an SVG document; its height grows with the number of bars.
    pub fn svg(&self) -> Result<String> {
        let n = self.bars.len().max(1);
        let height = (60 + 22 * n) as u32;
        let longest = self
            .bars
            .iter()
            .map(|(name, _)| name.chars().count())
            .max()
            .unwrap_or(4);
        let top = self
            .bars
            .iter()
            .map(|(_, c)| c.iter().sum::<u64>())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (self.width, height)).into_drawing_area();
            root.fill(&WHITE).map_err(fail)?;
            let x_top = top + top / 5 + 1;
            let mut chart = ChartBuilder::on(&root)
                .margin(8)
                .margin_right(16)
                .x_label_area_size(34)
                .y_label_area_size((longest * 7 + 14).min(280) as u32)
                .build_cartesian_2d(0u64..x_top, (0..(n as i32 - 1).max(1)).into_segmented())
                .map_err(fail)?;
            let names: Vec<&str> = self.bars.iter().map(|(s, _)| s.as_str()).collect();
            chart
                .configure_mesh()
                .disable_y_mesh()
                .light_line_style(WHITE.mix(0.0))
                .bold_line_style(BLACK.mix(0.08))
                .x_desc(self.x_label)
                .x_labels(6)
                .y_labels(n)
                .x_label_formatter(&|v| short_number(*v as f64))
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => (n - 1)
                        .checked_sub(*i as usize)
                        .and_then(|row| names.get(row))
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    _ => String::new(),
                })
                .label_style((FONT, 11))
                .axis_desc_style((FONT, 12))
                .draw()
                .map_err(fail)?;
            for (part, (name, colour)) in self.parts.iter().enumerate() {
                // The first bar at the top.
                let rects = self.bars.iter().enumerate().filter_map(|(i, (_, c))| {
                    let row = (n - 1 - i) as i32;
                    let left: u64 = c[..part.min(c.len())].iter().sum();
                    let v = c.get(part).copied().unwrap_or(0);
                    (v > 0).then(|| {
                        let mut r = Rectangle::new(
                            [
                                (left, SegmentValue::Exact(row)),
                                (left + v, SegmentValue::Exact(row + 1)),
                            ],
                            colour.filled(),
                        );
                        r.set_margin(3, 3, 0, 0);
                        r
                    })
                });
                let drawn = chart.draw_series(rects).map_err(fail)?;
                if self.parts.len() > 1 {
                    let colour = *colour;
                    drawn.label(*name).legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                    });
                }
            }
            let style = TextStyle::from((FONT, 11).into_font())
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center));
            chart
                .draw_series(self.bars.iter().enumerate().map(|(i, (_, c))| {
                    let total: u64 = c.iter().sum();
                    Text::new(
                        format!(" {total}"),
                        (total, SegmentValue::CenterOf((n - 1 - i) as i32)),
                        style.clone(),
                    )
                }))
                .map_err(fail)?;
            if self.parts.len() > 1 {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::LowerRight)
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK.mix(0.2))
                    .label_font((FONT, 11))
                    .draw()
                    .map_err(fail)?;
            }
            root.present().map_err(fail)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_is_an_svg_with_its_bars_its_threshold_and_its_legend() {
        let chart = Histogram {
            x_label: "quality score",
            edges: vec![0.0, 0.25, 0.5, 0.75, 1.0],
            counts: vec![vec![0, 3], vec![1, 2], vec![5, 0], vec![2, 0]],
            series: vec![("kept", FIRST), ("dropped", SECOND)],
            log_x: false,
            threshold: Some((0.5, "threshold 0.5".into())),
            size: (480, 240),
        };
        let svg = chart.svg().unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..60]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("threshold 0.5"));
        assert!(svg.contains("kept") && svg.contains("dropped"));
        assert!(svg.contains("quality score"));
        // Five non-empty bar parts, in the two series' colours.
        let first = svg.matches("fill=\"#377EB8\"").count();
        let second = svg.matches("fill=\"#FF7F00\"").count();
        assert!(first >= 3 && second >= 2, "{first} {second}");
        assert_eq!(
            chart.svg().unwrap(),
            svg,
            "the same chart twice gives the same bytes"
        );
    }

    #[test]
    fn log_histograms_and_bars_draw() {
        let chart = Histogram {
            x_label: "words",
            edges: vec![10.0, 100.0, 1000.0],
            counts: vec![vec![4], vec![9]],
            series: vec![("kept", FIRST)],
            log_x: true,
            threshold: None,
            size: (480, 240),
        };
        assert!(chart.svg().unwrap().contains("words"));
        let bars = Bars {
            x_label: "documents",
            bars: vec![
                ("c4".into(), vec![10, 5, 1]),
                ("dclm".into(), vec![3, 0, 0]),
            ],
            parts: vec![("kept", FIRST), ("dropped", SECOND), ("errors", THIRD)],
            width: 600,
        };
        let svg = bars.svg().unwrap();
        for label in ["c4", "dclm", " 16", " 3", "errors"] {
            assert!(svg.contains(label), "{label} missing");
        }
        let one = Bars {
            x_label: "documents",
            bars: vec![("docs in".into(), vec![7])],
            parts: vec![("documents", FIRST)],
            width: 400,
        };
        let svg = one.svg().unwrap();
        assert!(svg.contains("docs in") && svg.contains(" 7"));
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(1_500_000.0), "1.5M");
        assert_eq!(short_number(25_000.0), "25k");
        assert_eq!(short_number(1_200.0), "1.2k");
        assert_eq!(short_number(35.0), "35");
        assert_eq!(short_number(2.5), "2.5");
        assert_eq!(short_number(0.25), "0.25");
    }
}
