//! Charts as SVG, written directly: the brand page's waiting curve, reply-time bars and monthly
//! charts, the front page's complaints per day, and the small inline pictures (sparkline,
//! badge). Every chart carries a `<title>` and a `<desc>` stating its finding, for screen
//! readers; the data behind it is printed next to it.
//!
//! A chart is drawn twice, for a phone (360 units wide, shown at about its own size) and for a
//! wide column (720 units), and the stylesheet shows one of them: so axis text is 13 px or more
//! at a phone's width and never blown up on a desktop. Both scale with their column (viewBox).
//! Times are drawn on time axes (months as months, days as days, never as evenly spaced
//! categories), with a light grid and labels written next to what they name.

const INK: &str = "#1f2a37";
const MUTED: &str = "#4b5563";
const LINE: &str = "#1f4e79";
/// The 95% band: 3:1 or more against the white plot (graphics contrast, WCAG 1.4.11).
const BAND: &str = "#7c9fc2";
const MARK: &str = "#a34100";
const BAR: &str = "#3b6e9e";
const GRID: &str = "#e5e8eb";
const WINDOW: &str = "#f1f5f9";

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

/// What every chart needs besides its data.
pub struct Labels<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
    pub x: &'a str,
}

/// The two widths a chart is drawn at, with the font size of each.
const SIZES: [(&str, f64, f64); 2] = [("narrow", 360.0, 13.0), ("wide", 720.0, 15.0)];

/// One drawing: its size, font size and the SVG elements so far.
struct Svg {
    w: f64,
    h: f64,
    font: f64,
    out: String,
}

/// A coordinate to a tenth of a unit, without a trailing `.0` (every page draws its charts
/// twice, and every snapshot kept whole holds a copy of every page).
fn num(v: f64) -> String {
    Tenths::of(v).to_string()
}

/// A coordinate in tenths of a unit, rounded; written as [`num`] writes it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Tenths(i64);

impl Tenths {
    fn of(v: f64) -> Tenths {
        Tenths((v * 10.0).round() as i64)
    }
}

impl std::fmt::Display for Tenths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Integer formatting: a float's, with a precision, costs several times more.
        let (sign, a) = if self.0 < 0 {
            ("-", -self.0)
        } else {
            ("", self.0)
        };
        if a % 10 == 0 {
            write!(f, "{sign}{}", a / 10)
        } else {
            write!(f, "{sign}{}.{}", a / 10, a % 10)
        }
    }
}

impl Svg {
    fn text(&mut self, x: f64, y: f64, anchor: &str, color: &str, s: &str) {
        self.out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"{color}\">{}</text>",
            num(x),
            num(y),
            escape(s)
        ));
    }
    /// A straight line (`H`/`V` when it is level or upright); SVG's default width is 1.
    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, color: &str, width: f64) {
        let to = if Tenths::of(y1) == Tenths::of(y2) {
            format!("H{}", num(x2))
        } else if Tenths::of(x1) == Tenths::of(x2) {
            format!("V{}", num(y2))
        } else {
            format!("L{} {}", num(x2), num(y2))
        };
        let width = if width == 1.0 {
            String::new()
        } else {
            format!(" stroke-width=\"{width}\"")
        };
        self.out.push_str(&format!(
            "<path d=\"M{} {}{to}\" stroke=\"{color}\"{width}/>",
            num(x1),
            num(y1)
        ));
    }
    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, color: &str) {
        self.out.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{color}\"/>",
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0))
        ));
    }
    /// Rough width of a text at this font size (system sans-serif).
    fn width_of(&self, s: &str) -> f64 {
        s.chars().count() as f64 * self.font * 0.58
    }
}

/// Draws a chart at both sizes; `draw` gets a canvas and fills it. Height is `h(width)`.
fn both(l: &Labels, h: impl Fn(f64) -> f64, draw: impl Fn(&mut Svg)) -> String {
    let mut html = String::from("<div class=\"chart\">");
    for (class, w, font) in SIZES {
        let mut svg = Svg {
            w,
            h: h(w),
            font,
            out: String::new(),
        };
        draw(&mut svg);
        let id = format!("{}-{class}", l.id);
        html.push_str(&format!(
            "<svg class=\"{class}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" font-family=\"system-ui, sans-serif\" font-size=\"{font}\"><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>{}</svg>",
            escape(l.title),
            escape(l.desc),
            svg.out,
            h = svg.h,
        ));
    }
    html.push_str("</div>");
    html
}

/// A plot area inside a canvas, and a linear scale on each axis.
#[derive(Clone, Copy)]
struct Area {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Area {
    fn x(&self, v: f64) -> f64 {
        self.left + (v - self.x0) / (self.x1 - self.x0) * (self.right - self.left)
    }
    fn y(&self, v: f64) -> f64 {
        self.bottom - (v - self.y0) / (self.y1 - self.y0) * (self.bottom - self.top)
    }
    /// Horizontal grid lines with their labels at the left.
    fn y_grid(&self, svg: &mut Svg, ticks: &[f64], label: &dyn Fn(f64) -> String) {
        for &t in ticks {
            let y = self.y(t);
            svg.line(self.left, y, self.right, y, GRID, 1.0);
            svg.text(
                self.left - 6.0,
                y + svg.font * 0.35,
                "end",
                MUTED,
                &label(t),
            );
        }
    }
    /// Tick labels under the axis; the first and last keep inside the canvas, and a label
    /// that would touch the one before it is left out (its tick stays).
    fn x_labels(&self, svg: &mut Svg, ticks: &[(f64, String)]) {
        let y = self.bottom + svg.font + 6.0;
        let mut end = f64::NEG_INFINITY;
        for (v, label) in ticks {
            let x = self.x(*v);
            svg.line(x, self.bottom, x, self.bottom + 4.0, MUTED, 1.0);
            let w = svg.width_of(label);
            let start = (x - w / 2.0).clamp(0.0, (svg.w - w).max(0.0));
            if start < end + svg.font * 0.5 {
                continue;
            }
            end = start + w;
            svg.text(start, y, "start", MUTED, label);
        }
        svg.line(self.left, self.bottom, self.right, self.bottom, INK, 1.0);
    }
}

/// One step of the Kaplan–Meier curve: time (s), share still waiting, and its 95% band.
pub type Step = (i64, f64, Option<[f64; 2]>);

/// The still-waiting chart's canvas height at width `w`.
fn still_waiting_height(w: f64) -> f64 {
    if w < 500.0 { 250.0 } else { 300.0 }
}

/// The still-waiting chart's plot area on a canvas of width `w` and font size `font`: time on
/// a log axis from 1 minute to 7 days, the share still waiting from 0 to 100%.
fn still_waiting_area(w: f64, font: f64) -> Area {
    Area {
        left: font * 3.2,
        right: w - 8.0,
        top: font + 10.0,
        bottom: still_waiting_height(w) - 2.0 * font - 14.0,
        x0: 60f64.ln(),
        x1: 604_800f64.ln(),
        y0: 0.0,
        y1: 100.0,
    }
}

/// The x of `t` seconds on the still-waiting chart's axis.
fn still_waiting_x(a: &Area, t: i64) -> f64 {
    a.x((t.max(60) as f64).ln().min(a.x1))
}

/// The Kaplan–Meier curve and its 95% band as SVG path data, for each of [`SIZES`]: the same
/// in every language, so a brand's is drawn once ([`still_waiting`] labels it).
pub struct Curve {
    /// (band, curve) per size.
    paths: Vec<(String, String)>,
}

impl Curve {
    pub fn of(steps: &[Step]) -> Curve {
        let paths = SIZES
            .iter()
            .map(|&(_, w, font)| {
                let a = still_waiting_area(w, font);
                // One rectangle of the band per step; then the steps. At the drawing's
                // resolution (a tenth of a unit) many steps of a large brand share one x: a
                // rectangle with no width and a line with no length draw nothing, so they are
                // left out, and the vertical moves at one x merge into the last (the curve only
                // goes down).
                use std::fmt::Write;
                let mut band = String::new();
                let mut d = String::new();
                let mut drop_to = None;
                // Each step's x, worked out once: a step runs from its x to the next one's.
                let xs: Vec<Tenths> = steps
                    .iter()
                    .map(|s| Tenths::of(still_waiting_x(&a, s.0)))
                    .collect();
                for (i, &(t, s, b)) in steps.iter().enumerate() {
                    if t >= 604_800 {
                        break;
                    }
                    let from = xs[i];
                    let to = xs.get(i + 1).copied().unwrap_or(from);
                    if let Some([blo, bhi]) = b
                        && from != to
                    {
                        let (lo, hi) = (Tenths::of(a.y(blo * 100.0)), Tenths::of(a.y(bhi * 100.0)));
                        let _ = write!(band, "M{from} {hi}H{to}V{lo}H{from}Z");
                    }
                    let y = Tenths::of(a.y(s * 100.0));
                    if i == 0 {
                        let _ = write!(d, "M{from} {y}");
                    } else {
                        drop_to = Some(y);
                    }
                    if from != to {
                        if let Some(y) = drop_to.take() {
                            let _ = write!(d, "V{y}");
                        }
                        let _ = write!(d, "H{to}");
                    }
                }
                if let Some(y) = drop_to {
                    let _ = write!(d, "V{y}");
                }
                (band, d)
            })
            .collect();
        Curve { paths }
    }
}

/// The Kaplan–Meier step function itself (share still waiting against time since the
/// complaint, log axis from 1 minute to 7 days) with its 95% band ([`Curve`]), the 1 h and 24 h
/// marks labelled above the plot.
pub fn still_waiting(curve: &Curve, tick: &dyn Fn(i64) -> String, l: &Labels) -> String {
    const TICKS: [i64; 6] = [60, 600, 3600, 6 * 3600, 86_400, 604_800];
    both(l, still_waiting_height, |svg| {
        let a = still_waiting_area(svg.w, svg.font);
        let x = |t: i64| still_waiting_x(&a, t);
        a.y_grid(svg, &[0.0, 25.0, 50.0, 75.0, 100.0], &|v| {
            format!("{v:.0}%")
        });
        for (t, name) in [(3600, "1 h"), (86_400, "24 h")] {
            svg.line(x(t), a.top, x(t), a.bottom, MARK, 1.0);
            svg.text(x(t), a.top - 5.0, "middle", MARK, name);
        }
        let size = SIZES
            .iter()
            .position(|s| s.1 == svg.w)
            .expect("one of SIZES");
        let (band, d) = &curve.paths[size];
        if !band.is_empty() {
            svg.out.push_str(&format!(
                "<path d=\"{band}\" fill=\"{BAND}\" fill-opacity=\"0.45\"/>"
            ));
        }
        svg.out.push_str(&format!(
            "<path d=\"{d}\" fill=\"none\" stroke=\"{LINE}\" stroke-width=\"2.5\"/>"
        ));
        let ticks: Vec<(f64, String)> = TICKS.iter().map(|&t| ((t as f64).ln(), tick(t))).collect();
        a.x_labels(svg, &ticks);
        svg.text(a.left, svg.h - 4.0, "start", MUTED, l.x);
    })
}

/// Horizontal bars, each labelled with its name at the left and its value at its end: the
/// reply-time distribution.
pub fn hbars(values: &[(String, f64)], value_label: &dyn Fn(f64) -> String, l: &Labels) -> String {
    let top = values.iter().map(|v| v.1).fold(1.0, f64::max);
    let row = 26.0;
    both(
        l,
        |_| row * values.len() as f64 + 8.0,
        |svg| {
            let label_w = values
                .iter()
                .map(|v| svg.width_of(&v.0))
                .fold(0.0, f64::max)
                + 8.0;
            let room = svg.w - label_w - svg.font * 3.0;
            for (i, (name, v)) in values.iter().enumerate() {
                let y = 4.0 + row * i as f64;
                svg.text(label_w - 8.0, y + row * 0.62, "end", INK, name);
                let w = room * v / top;
                svg.rect(label_w, y + 4.0, w, row - 8.0, BAR);
                svg.text(
                    label_w + w + 4.0,
                    y + row * 0.62,
                    "start",
                    INK,
                    &value_label(*v),
                );
            }
        },
    )
}

/// A month on a time axis: its index (`crate::time::month_index`) and its middle.
pub fn month_mid(ym: &str) -> f64 {
    let (y, m) = ym.split_once('-').unwrap_or((ym, "1"));
    let (y, m): (i64, i64) = (y.parse().unwrap_or(0), m.parse().unwrap_or(1));
    (y * 12 + m - 1) as f64 + 0.5
}

/// An instant on the month axis (month index plus the fraction of the month gone).
pub fn month_at(t: i64) -> f64 {
    let day = t.div_euclid(86_400);
    let (_, _, d) = crate::time::civil_from_days(day);
    crate::time::month_index(t) as f64
        + (d as f64 - 1.0 + t.rem_euclid(86_400) as f64 / 86_400.0) / 30.44
}

/// What a monthly chart shows: the months (`YYYY-MM`, name), the window as two instants, and
/// how to name a month index on the axis.
pub struct MonthAxis<'a> {
    /// The first and last months of the history (`month_mid`), shown whatever is drawn.
    pub months: (f64, f64),
    pub window: (i64, i64),
    pub window_label: &'a str,
    pub name: &'a dyn Fn(i64) -> String,
}

impl MonthAxis<'_> {
    fn area(&self, svg: &Svg, y1: f64, left: f64) -> Area {
        let (first, last) = self.months;
        let (w0, w1) = (month_at(self.window.0), month_at(self.window.1));
        Area {
            left,
            right: svg.w - 10.0,
            top: svg.font + 10.0,
            bottom: svg.h - svg.font - 12.0,
            x0: (first - 0.5).min(w0).floor(),
            x1: (last + 0.5).max(w1).ceil(),
            y0: 0.0,
            y1,
        }
    }

    /// The window shaded and named, and month ticks: at most 4 labels on a phone, 8 wide.
    fn frame(&self, svg: &mut Svg, a: &Area) {
        let (w0, w1) = (a.x(month_at(self.window.0)), a.x(month_at(self.window.1)));
        svg.rect(w0, a.top, w1 - w0, a.bottom - a.top, WINDOW);
        svg.line(w0, a.top, w0, a.bottom, MUTED, 1.0);
        svg.line(w1, a.top, w1, a.bottom, MUTED, 1.0);
        let label_w = svg.width_of(self.window_label);
        let (x, anchor) = if w1 - label_w < 0.0 {
            (w0, "start")
        } else {
            (w1, "end")
        };
        svg.text(x, a.top - 5.0, anchor, MUTED, self.window_label);
        let span = a.x1 - a.x0;
        let most = if svg.w < 500.0 { 4.0 } else { 8.0 };
        let step = [1, 2, 3, 6, 12, 24, 60]
            .into_iter()
            .find(|&s| span / s as f64 <= most)
            .unwrap_or(120);
        let ticks: Vec<(f64, String)> = ((a.x0 as i64)..=(a.x1 as i64))
            .filter(|m| m % step == 0 && (*m as f64) < a.x1)
            .map(|m| (m as f64 + 0.5, (self.name)(m)))
            .collect();
        a.x_labels(svg, &ticks);
    }
}

/// One month of the score chart: its index's middle, the score and its interval, and what a
/// pointer over it says (the month, its score, interval and complaints).
pub struct MonthPoint {
    pub x: f64,
    pub score: f64,
    pub ci: Option<[f64; 2]>,
    pub title: String,
}

/// Monthly scores on a time axis: a dot with its 95% interval per month drawn (months of too
/// few complaints are left out), joined only between consecutive months; the window shaded.
pub fn month_scores(points: &[MonthPoint], axis: &MonthAxis, l: &Labels) -> String {
    both(
        l,
        |w| if w < 500.0 { 230.0 } else { 260.0 },
        |svg| {
            let a = axis.area(svg, 100.0, svg.font * 2.4);
            axis.frame(svg, &a);
            a.y_grid(svg, &[0.0, 50.0, 100.0], &|v| format!("{v:.0}"));
            let mut d = String::new();
            for (i, p) in points.iter().enumerate() {
                let joined = i > 0 && (p.x - points[i - 1].x - 1.0).abs() < 1e-9;
                // After a moveto, coordinate pairs are linetos.
                let c = if joined { " " } else { "M" };
                d.push_str(&format!("{c}{} {}", num(a.x(p.x)), num(a.y(p.score))));
            }
            svg.out.push_str(&format!(
                "<path d=\"{d}\" fill=\"none\" stroke=\"{LINE}\" stroke-width=\"2\"/>"
            ));
            for p in points {
                let x = a.x(p.x);
                svg.out
                    .push_str(&format!("<g><title>{}</title>", escape(&p.title)));
                if let Some([lo, hi]) = p.ci {
                    svg.line(x, a.y(lo), x, a.y(hi), BAND, 3.0);
                }
                svg.out.push_str(&format!(
                    "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{LINE}\"/></g>",
                    num(x),
                    num(a.y(p.score))
                ));
            }
            if let Some(p) = points.last() {
                let label = format!("{:.1}", p.score);
                let y = a.y(p.score) + if p.score > 80.0 { 18.0 } else { -8.0 };
                svg.text(a.x(p.x), y, "middle", INK, &label);
            }
        },
    )
}

/// Counts per month as bars on a time axis, the window shaded; the busiest month labelled.
pub fn month_counts(counts: &[(f64, usize)], axis: &MonthAxis, l: &Labels) -> String {
    let top = counts.iter().map(|c| c.1).max().unwrap_or(1).max(1) as f64;
    both(
        l,
        |w| if w < 500.0 { 210.0 } else { 240.0 },
        |svg| {
            let a = axis.area(svg, top * 1.15, svg.font * 2.4);
            axis.frame(svg, &a);
            a.y_grid(svg, &nice_ticks(top), &|v| format!("{v:.0}"));
            let w = (a.x(1.0) - a.x(0.0)) * 0.8;
            for &(x, n) in counts {
                let (x, y) = (a.x(x), a.y(n as f64));
                svg.rect(x - w / 2.0, y, w, a.bottom - y, BAR);
            }
            if let Some(&(x, n)) = counts.iter().max_by_key(|c| c.1) {
                svg.text(a.x(x), a.y(n as f64) - 4.0, "middle", INK, &n.to_string());
            }
        },
    )
}

/// Counts per day (day numbers since 1970) between two instants, as bars; the busiest day
/// named next to its bar.
pub fn day_counts(
    days: &[(i64, usize)],
    window: (i64, i64),
    day_name: &dyn Fn(i64) -> String,
    peak_label: &str,
    l: &Labels,
) -> String {
    let (d0, d1) = (window.0.div_euclid(86_400), window.1.div_euclid(86_400));
    let top = days.iter().map(|d| d.1).max().unwrap_or(1).max(1) as f64;
    both(
        l,
        |w| if w < 500.0 { 190.0 } else { 220.0 },
        |svg| {
            let a = Area {
                left: svg.font * 2.8,
                right: svg.w - 10.0,
                top: svg.font + 10.0,
                bottom: svg.h - svg.font - 12.0,
                x0: d0 as f64,
                x1: (d1 + 1) as f64,
                y0: 0.0,
                y1: top * 1.1,
            };
            a.y_grid(svg, &nice_ticks(top), &|v| format!("{v:.0}"));
            let w = (a.x(1.0) - a.x(0.0)).max(1.0);
            // One path for all the bars: a window of days is many of them.
            let mut bars = String::new();
            for &(d, n) in days {
                bars.push_str(&format!(
                    "M{} {}V{}h{}V{}Z",
                    num(a.x(d as f64)),
                    num(a.bottom),
                    num(a.y(n as f64)),
                    num((w - 0.5).max(1.0)),
                    num(a.bottom)
                ));
            }
            svg.out
                .push_str(&format!("<path d=\"{bars}\" fill=\"{BAR}\"/>"));
            if let Some(&(d, n)) = days.iter().max_by_key(|d| (d.1, -d.0)) {
                let x = a.x(d as f64 + 0.5);
                let right = x + svg.width_of(peak_label) + 8.0 < svg.w;
                let (tx, anchor) = if right {
                    (x + 6.0, "start")
                } else {
                    (x - 6.0, "end")
                };
                svg.text(tx, a.y(n as f64) + svg.font * 0.8, anchor, INK, peak_label);
            }
            // Month starts as ticks.
            let ticks: Vec<(f64, String)> = (d0..=d1)
                .filter(|&d| crate::time::civil_from_days(d).2 == 1)
                .map(|d| (d as f64, day_name(d)))
                .collect();
            let keep = if svg.w < 500.0 { 4 } else { 8 };
            let every = ticks.len().div_ceil(keep).max(1);
            let ticks: Vec<(f64, String)> = ticks.into_iter().step_by(every).collect();
            a.x_labels(svg, &ticks);
        },
    )
}

/// Two to four round grid values from 0 to about `top`.
fn nice_ticks(top: f64) -> Vec<f64> {
    let raw = top / 3.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
        .max(1.0);
    (0..)
        .map(|k| k as f64 * step)
        .take_while(|v| *v <= top * 1.05)
        .collect()
}

/// A tiny line of monthly scores for a table cell (80 × 20) on a time axis of the last 24
/// months (`(months before the last, score)`), with its values as its title.
pub fn sparkline(scores: &[(i64, f64)], title: &str) -> String {
    if scores.is_empty() {
        return String::new();
    }
    // Whole units: the cell is 80 × 20 pixels, and a leaderboard has a hundred of them.
    let x = |ago: i64| (78.0 - 76.0 * ago as f64 / 23.0).round();
    let y = |s: f64| (18.0 - s * 0.16).round();
    let mut d = String::new();
    for (i, &(ago, s)) in scores.iter().enumerate() {
        let joined = i > 0 && scores[i - 1].0 == ago + 1;
        // After a moveto, coordinate pairs are linetos.
        d.push_str(&format!(
            "{}{} {}",
            if joined { " " } else { "M" },
            x(ago),
            y(s)
        ));
    }
    let dots: String = scores
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            let before = i.checked_sub(1).map(|k| scores[k].0 == p.0 + 1);
            let after = scores.get(i + 1).map(|n| n.0 + 1 == p.0);
            *i == scores.len() - 1 || (before != Some(true) && after != Some(true))
        })
        .map(|(_, &(ago, s))| format!("<circle cx=\"{}\" cy=\"{}\" r=\"2\"/>", x(ago), y(s)))
        .collect();
    format!(
        "<svg class=\"spark\" viewBox=\"0 0 80 20\" role=\"img\"><title>{}</title><path d=\"{d}\"/>{dots}</svg>",
        escape(title)
    )
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_written_to_a_tenth_without_a_trailing_zero() {
        let written: Vec<String> = [0.0, -0.04, 233.0, 51.25, -0.3, 12.96, -7.0]
            .iter()
            .map(|v| num(*v))
            .collect();
        assert_eq!(written, ["0", "0", "233", "51.3", "-0.3", "13", "-7"]);
    }
}
