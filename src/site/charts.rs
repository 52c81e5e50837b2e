//! Charts as SVG: the brand page's curves and bars (drawn with plotters), and the small inline
//! pictures (sparkline, badge) written directly. Every chart carries a `<title>` and a `<desc>`
//! stating its finding, for screen readers; the data behind it is printed next to it.

use anyhow::{Result, anyhow};
use plotters::coord::ranged1d::{SegmentValue, SegmentedCoord};
use plotters::coord::types::{RangedCoordf64, RangedCoordu32};
use plotters::prelude::*;

const INK: RGBColor = RGBColor(0x1f, 0x2a, 0x37);
const LINE: RGBColor = RGBColor(0x1f, 0x4e, 0x79);
const MARK: RGBColor = RGBColor(0xa3, 0x41, 0x00);
const BAR: RGBColor = RGBColor(0x3b, 0x6e, 0x9e);
const GRID: RGBColor = RGBColor(0xd9, 0xde, 0xe3);

/// Escapes text for XML and HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Adds an accessible name and description to an SVG document.
fn label(svg: String, id: &str, title: &str, desc: &str) -> String {
    let Some(open) = svg.find("<svg") else {
        return svg;
    };
    let Some(end) = svg[open..].find('>').map(|i| open + i) else {
        return svg;
    };
    format!(
        "{} role=\"img\" aria-labelledby=\"{id}-t {id}-d\"><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>{}",
        &svg[..end],
        escape(title),
        escape(desc),
        &svg[end + 1..]
    )
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart: {e:?}")
}

/// What every chart needs besides its data.
pub struct Labels<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
    pub x: &'a str,
    pub y: &'a str,
}

/// Time ticks of the curve: 1 min, 10 min, 1 h, 6 h, 24 h, 7 days.
const TICKS: [i64; 6] = [60, 600, 3600, 6 * 3600, 86_400, 604_800];

/// The Kaplan–Meier curve: share still waiting (%) against time since the complaint, on a log
/// axis, with 1 h and 24 h marked.
pub fn still_waiting(
    points: &[(i64, f64)],
    tick: &dyn Fn(i64) -> String,
    l: &Labels,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(52)
            .build_cartesian_2d(
                (60f64..604_800f64)
                    .log_scale()
                    .with_key_points(TICKS.iter().map(|&t| t as f64).collect()),
                0f64..100f64,
            )
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID)
            .axis_style(INK)
            .label_style(("sans-serif", 13).into_font().color(&INK))
            .x_label_formatter(&|x| tick(x.round() as i64))
            .y_label_formatter(&|y| format!("{y:.0}%"))
            .x_desc(l.x)
            .y_desc(l.y)
            .draw()
            .map_err(err)?;
        for (t, name) in [(3600f64, "1 h"), (86_400f64, "24 h")] {
            chart
                .draw_series(LineSeries::new(
                    [(t, 0.0), (t, 100.0)],
                    MARK.stroke_width(1),
                ))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    name.to_string(),
                    (t * 1.08, 95.0),
                    ("sans-serif", 13).into_font().color(&MARK),
                )))
                .map_err(err)?;
        }
        let mut steps = vec![(60f64, 100.0)];
        let mut last = 100.0;
        for &(t, s) in points {
            steps.push((t as f64, last));
            last = s * 100.0;
            steps.push((t as f64, last));
        }
        chart
            .draw_series(LineSeries::new(steps, LINE.stroke_width(3)))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(label(svg, l.id, l.title, l.desc))
}

/// A chart over named categories (months, reply-time bins) with values from 0 to `top`:
/// the shared axes, then `draw` puts the series on it.
type Categories<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<SegmentedCoord<RangedCoordu32>, RangedCoordf64>>;

fn categories(
    names: &[&str],
    top: f64,
    l: &Labels,
    draw: impl FnOnce(&mut Categories) -> Result<()>,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let last = names.len().saturating_sub(1) as u32;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(52)
            .build_cartesian_2d((0..last).into_segmented(), 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(GRID)
            .bold_line_style(GRID)
            .axis_style(INK)
            .label_style(("sans-serif", 13).into_font().color(&INK))
            .x_labels(names.len())
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => names
                    .get(*i as usize)
                    .map_or(String::new(), |n| n.to_string()),
                _ => String::new(),
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_desc(l.x)
            .y_desc(l.y)
            .draw()
            .map_err(err)?;
        draw(&mut chart)?;
        root.present().map_err(err)?;
    }
    Ok(label(svg, l.id, l.title, l.desc))
}

/// Bars with a label under each: the reply-time distribution, complaints per month.
pub fn bars(values: &[(String, f64)], l: &Labels) -> Result<String> {
    let names: Vec<&str> = values.iter().map(|v| v.0.as_str()).collect();
    let top = values.iter().map(|v| v.1).fold(1.0, f64::max) * 1.1;
    categories(&names, top, l, |chart| {
        // Drawn in order (plotters' Histogram iterates a hash map: not deterministic).
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                let i = i as u32;
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), v.1),
                    ],
                    BAR.filled(),
                );
                bar.set_margin(0, 0, 6, 6);
                bar
            }))
            .map_err(err)?;
        Ok(())
    })
}

/// A line over months: the monthly score (0–100).
pub fn line(values: &[(String, Option<f64>)], l: &Labels) -> Result<String> {
    let names: Vec<&str> = values.iter().map(|v| v.0.as_str()).collect();
    let points: Vec<(SegmentValue<u32>, f64)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.1.map(|s| (SegmentValue::CenterOf(i as u32), s)))
        .collect();
    categories(&names, 100.0, l, |chart| {
        chart
            .draw_series(LineSeries::new(points.clone(), LINE.stroke_width(3)))
            .map_err(err)?;
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new(p.clone(), 4, LINE.filled())),
            )
            .map_err(err)?;
        Ok(())
    })
}

/// A tiny line of monthly scores for a table cell (80 × 20), with its values as its title.
pub fn sparkline(scores: &[Option<f64>], title: &str) -> String {
    let n = scores.len();
    if n == 0 {
        return String::new();
    }
    let x = |i: usize| {
        if n == 1 {
            40.0
        } else {
            2.0 + 76.0 * i as f64 / (n - 1) as f64
        }
    };
    let mut d = String::new();
    let mut pen_up = true;
    for (i, s) in scores.iter().enumerate() {
        match s {
            Some(s) => {
                d.push_str(&format!(
                    "{}{:.1},{:.1}",
                    if pen_up { 'M' } else { 'L' },
                    x(i),
                    18.0 - s * 0.16
                ));
                pen_up = false;
            }
            None => pen_up = true,
        }
    }
    let dot = scores
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, s)| {
            s.map(|s| {
                format!(
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\"/>",
                    x(i),
                    18.0 - s * 0.16
                )
            })
        })
        .unwrap_or_default();
    format!(
        "<svg class=\"spark\" viewBox=\"0 0 80 20\" width=\"80\" height=\"20\" role=\"img\"><title>{}</title><path d=\"{d}\"/>{dot}</svg>",
        escape(title)
    )
}

/// A shields-style badge: a grey label and a value coloured by the 24 h share.
/// A shields-style badge: `label | value`. Ranked brands get one neutral colour whatever their
/// rank (a colour would grade them on a scale the method does not define); unranked ones grey.
pub fn badge(label_text: &str, value: &str, ranked: bool) -> String {
    let color = if ranked { "#1f4e79" } else { "#6b6b6b" };
    let w = |s: &str| 10 + 7 * s.chars().count();
    let (lw, vw) = (w(label_text), w(value));
    let (l, v) = (escape(label_text), escape(value));
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{tw}\" height=\"20\" role=\"img\" aria-label=\"{l}: {v}\">\
<title>{l}: {v}</title><rect width=\"{lw}\" height=\"20\" fill=\"#4a4a4a\"/><rect x=\"{lw}\" width=\"{vw}\" height=\"20\" fill=\"{color}\"/>\
<g fill=\"#fff\" font-family=\"Verdana,DejaVu Sans,sans-serif\" font-size=\"11\" text-anchor=\"middle\">\
<text x=\"{lx}\" y=\"14\">{l}</text><text x=\"{vx}\" y=\"14\">{v}</text></g></svg>\n",
        tw = lw + vw,
        lx = lw / 2,
        vx = lw + vw / 2,
    )
}
