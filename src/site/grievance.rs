//! The rest of the grievance on the site (method version 2, see `crate::grievance`): each
//! brand page's findings in a sentence, its most sent templates and the weekday × hour chart;
//! the front page's "fame and shame" lists, where a brand is named only when its interval
//! excludes the ranked brands' median.

use serde::Serialize;

use super::charts::escape;
use super::lang::Lang;
use super::view::written;
use crate::columns::Unit;
use crate::grievance::MIN_CELL;
use crate::score::BrandEntry;

/// A brand page's section.
#[derive(Serialize, Default)]
pub struct Section {
    pub findings: Vec<String>,
    pub templates: Vec<TemplateView>,
    pub grid: Option<Grid>,
}

#[derive(Serialize)]
pub struct TemplateView {
    pub label: String,
    pub wording: Option<String>,
    pub url: Option<String>,
}

/// The weekday × hour chart with its data table.
#[derive(Serialize)]
pub struct Grid {
    pub title: String,
    pub desc: String,
    pub svg: String,
    pub legend: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn points(lang: &Lang, x: Option<f64>) -> String {
    written(lang, Unit::Points, x)
}

/// The brand page's section, or an empty one (method version 1).
pub fn section(lang: &Lang, b: &BrandEntry) -> Section {
    let mut s = Section::default();
    if let Some(c) = &b.canned {
        s.findings.push(if c.canned == 0 {
            lang.t("finding_canned_none", &[("replies", &lang.int(c.replies))])
        } else {
            lang.t(
                "finding_canned",
                &[
                    ("canned", &lang.int(c.canned)),
                    ("replies", &lang.int(c.replies)),
                    ("share", &lang.pct(b.canned_share)),
                ],
            )
        });
        s.templates = c
            .templates
            .iter()
            .map(|t| TemplateView {
                label: lang.t(
                    "template_item",
                    &[
                        ("replies", &lang.int(t.replies)),
                        ("customers", &lang.int(t.customers)),
                    ],
                ),
                wording: t.wording.clone(),
                url: t.example_url.clone(),
            })
            .collect();
    }
    if let Some(h) = &b.hours {
        if let (Some(office), Some(off)) = (h.office.answered_1h, h.off_hours.answered_1h) {
            let mut f = lang.t(
                "finding_hours",
                &[
                    ("brand", &b.name),
                    ("off", &lang.pct(Some(off))),
                    ("office", &lang.pct(Some(office))),
                ],
            );
            f.push(' ');
            f.push_str(&gap_clause(lang, b.off_hours_gap, b.off_hours_gap_ci));
            s.findings.push(f);
        }
        s.grid = Some(grid(lang, h));
    }
    match &b.influence {
        Some(i) => {
            if let (Some(top), Some(rest)) = (i.top.answered_24h, i.rest.answered_24h) {
                let mut f = lang.t(
                    "finding_influence",
                    &[
                        ("threshold", &lang.int(i.threshold as usize)),
                        ("top", &lang.pct(Some(top))),
                        ("rest", &lang.pct(Some(rest))),
                    ],
                );
                f.push(' ');
                f.push_str(&gap_clause(lang, b.influence_gap, b.influence_gap_ci));
                s.findings.push(f);
            }
        }
        None if b.hours.is_some() => s.findings.push(lang.t("finding_influence_na", &[])),
        None => {}
    }
    s
}

/// "(+42 pts, 95% interval +18 to +63 pts)", and when the interval holds 0, that the data
/// cannot tell the groups apart.
fn gap_clause(lang: &Lang, gap: Option<f64>, ci: Option<[f64; 2]>) -> String {
    let Some([lo, hi]) = ci else {
        return String::new();
    };
    let key = if lo <= 0.0 && hi >= 0.0 {
        "gap_clause_noise"
    } else {
        "gap_clause"
    };
    lang.t(
        key,
        &[
            ("gap", &points(lang, gap)),
            ("lo", &points(lang, Some(lo))),
            ("hi", &points(lang, Some(hi))),
        ],
    )
}

/// The 7 × 24 chart: a cell per local weekday and hour, darker for a higher share replied
/// within an hour, blank under [`MIN_CELL`] complaints; its table lists the cells shown.
fn grid(lang: &Lang, h: &crate::grievance::Hours) -> Grid {
    let title = lang.t("hours_chart_title", &[]);
    let desc = lang.t(
        "hours_chart_desc",
        &[
            ("tz", &h.timezone),
            ("hours", &office_hours(lang, &h.office_hours)),
            ("min", &MIN_CELL.to_string()),
        ],
    );
    let mut rows = Vec::new();
    for day in 0..7 {
        for hour in 0..24 {
            if let Some(share) = h.grid_1h[day][hour] {
                rows.push(vec![
                    lang.t(&format!("weekday_{day}"), &[]),
                    format!("{hour:02}:00–{hour:02}:59"),
                    lang.int(h.grid_complaints[day][hour] as usize),
                    lang.pct(Some(share)),
                ]);
            }
        }
    }
    // Drawn twice, as the other charts: hours across for a wide screen, down for a phone.
    let svg = format!(
        "<div class=\"chart\">{}{}</div>",
        draw_grid(lang, h, &title, &desc, false),
        draw_grid(lang, h, &title, &desc, true)
    );
    Grid {
        title,
        desc,
        svg,
        legend: lang.t("hours_chart_legend", &[]),
        head: [
            "hours_head_day",
            "hours_head_hour",
            "hours_head_n",
            "hours_head_share",
        ]
        .iter()
        .map(|k| lang.t(k, &[]))
        .collect(),
        rows,
    }
}

/// One "fame and shame" list.
#[derive(Serialize)]
pub struct FameList {
    pub title: String,
    pub entries: Vec<FameEntry>,
}

#[derive(Serialize)]
pub struct FameEntry {
    pub name: String,
    pub href: String,
    pub value: String,
    pub interval: String,
}

/// The front page's lists: for each figure, the ranked brands whose 95% interval lies wholly
/// above the median of the ranked brands' values (at most five, highest first).
pub fn fame(lang: &Lang, ranked: &[&BrandEntry], root: &str) -> Vec<FameList> {
    type Get = fn(&BrandEntry) -> (Option<f64>, Option<[f64; 2]>);
    let lists: [(&str, Unit, Get); 4] = [
        ("fame_public", Unit::Share, |b| {
            (b.public_24h, b.public_24h_ci)
        }),
        ("fame_elsewhere", Unit::Share, |b| {
            (b.sent_elsewhere, b.sent_elsewhere_ci)
        }),
        ("fame_canned", Unit::Share, |b| {
            (b.canned_share, b.canned_share_ci)
        }),
        ("fame_hours", Unit::Points, |b| {
            (b.off_hours_gap, b.off_hours_gap_ci)
        }),
    ];
    lists
        .iter()
        .filter_map(|(key, unit, get)| {
            let mut values: Vec<f64> = ranked.iter().filter_map(|b| get(b).0).collect();
            if values.len() < 3 {
                return None;
            }
            values.sort_by(f64::total_cmp);
            let n = values.len();
            let median = if n % 2 == 1 {
                values[n / 2]
            } else {
                (values[n / 2 - 1] + values[n / 2]) / 2.0
            };
            let mut out: Vec<(&BrandEntry, f64, [f64; 2])> = ranked
                .iter()
                .filter_map(|b| match get(b) {
                    (Some(v), Some(ci)) if ci[0] > median => Some((*b, v, ci)),
                    _ => None,
                })
                .collect();
            out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
            out.truncate(5);
            Some(FameList {
                title: lang.t(key, &[("median", &written(lang, *unit, Some(median)))]),
                entries: out
                    .into_iter()
                    .map(|(b, v, [lo, hi])| FameEntry {
                        name: b.name.clone(),
                        href: format!("{root}brand/{}/index.html", b.id),
                        value: written(lang, *unit, Some(v)),
                        interval: lang.t(
                            "score_interval",
                            &[
                                ("lo", &written(lang, *unit, Some(lo))),
                                ("hi", &written(lang, *unit, Some(hi))),
                            ],
                        ),
                    })
                    .collect(),
            })
        })
        .collect()
}

/// The weekday × hour grid as SVG: hours across and weekdays down (`narrow`: the other way,
/// for a phone). Cells darker for a higher share replied within the hour, blank when too few.
fn draw_grid(
    lang: &Lang,
    h: &crate::grievance::Hours,
    title: &str,
    desc: &str,
    narrow: bool,
) -> String {
    let (cell, margin_left, margin_top) = if narrow {
        (30.0, 56.0, 24.0)
    } else {
        (26.0, 44.0, 22.0)
    };
    let (cols, lines) = if narrow { (7, 24) } else { (24, 7) };
    let width = margin_left + cols as f64 * cell + 4.0;
    let height = margin_top + lines as f64 * cell + 4.0;
    let id = if narrow { "hours-n" } else { "hours-w" };
    let mut svg = format!(
        "<svg class=\"{}\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-labelledby=\"{id}-t {id}-d\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        if narrow { "narrow" } else { "wide" },
        escape(title),
        escape(desc)
    );
    let day_name = |d: usize| escape(&lang.t(&format!("weekday_{d}"), &[]));
    // Column heads and line heads: hours every third (wide) or weekdays (narrow).
    svg.push_str("<g font-size=\"13\" text-anchor=\"middle\">");
    for c in 0..cols {
        let label = if narrow {
            day_name(c)
        } else if c % 3 == 0 {
            c.to_string()
        } else {
            continue;
        };
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\">{label}</text>",
            margin_left + c as f64 * cell + cell / 2.0,
            margin_top - 7.0
        ));
    }
    svg.push_str("</g><g font-size=\"13\" text-anchor=\"end\">");
    for l in 0..lines {
        let label = if narrow {
            if l % 3 != 0 {
                continue;
            }
            format!("{l:02}:00")
        } else {
            day_name(l)
        };
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\">{label}</text>",
            margin_left - 6.0,
            margin_top + l as f64 * cell + cell * 0.68
        ));
    }
    svg.push_str("</g>");
    // The shares as filled cells (from light, few replied within the hour, to dark blue, all
    // did), then every cell's outline as one path: blank cells had too few complaints.
    let side = cell - 1.0;
    for day in 0..7 {
        for hour in 0..24 {
            let (c, l) = if narrow { (day, hour) } else { (hour, day) };
            if let Some(share) = h.grid_1h[day][hour] {
                svg.push_str(&format!(
                    "<rect x=\"{}\" y=\"{}\" width=\"{side}\" height=\"{side}\" fill=\"hsl(212, 70%, {:.0}%)\"/>",
                    margin_left + c as f64 * cell,
                    margin_top + l as f64 * cell,
                    92.0 - 62.0 * share
                ));
            }
        }
    }
    svg.push_str("<path fill=\"none\" stroke=\"#767676\" stroke-width=\"0.5\" d=\"");
    let square = format!("h{side}v{side}h-{side}z");
    let rest = format!("m{cell} 0{square}").repeat(cols - 1);
    for l in 0..lines {
        svg.push_str(&format!("M{margin_left} {}", margin_top + l as f64 * cell));
        svg.push_str(&square);
        svg.push_str(&rest);
    }
    svg.push_str("\"/>");
    svg.push_str("</svg>");
    svg
}

/// Office hours as the page's language writes them ("Mon–Fri 09:00–18:00", "lun.–ven. …"),
/// from the form the leaderboard stores; that form as it is when it cannot be read.
fn office_hours(lang: &Lang, stored: &str) -> String {
    match crate::grievance::OfficeHours::parse(stored) {
        Ok(o) => {
            let day = |d: u8| lang.t(&format!("weekday_{d}"), &[]);
            let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
            format!(
                "{}–{} {}–{}",
                day(o.days.0),
                day(o.days.1),
                hm(o.minutes.0),
                hm(o.minutes.1)
            )
        }
        Err(_) => stored.to_string(),
    }
}
