//! A brand's pages: its page (finding, ranks, figure cards, four charts with their data
//! tables), its embeddable card and its badge.

use anyhow::Result;
use serde::Serialize;

use super::charts::{self, Labels, escape};
use super::lang::Lang;
use super::view::{View, figure, interval, pretty, rel_root};
use crate::columns;
use crate::score::{BrandDetail, BrandEntry, MonthEntry, REPLY_BINS};

#[derive(Serialize)]
struct Figure {
    label: String,
    value: String,
    interval: Option<String>,
}

/// A chart with its title, its description (its finding, for every reader) and its data.
#[derive(Serialize)]
struct Chart {
    title: String,
    desc: String,
    svg: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct BrandPage<'a> {
    brand: &'a BrandEntry,
    grievance: super::grievance::Section,
    finding: String,
    ranking: String,
    category_ranking: Option<String>,
    coverage: Vec<String>,
    figures: Vec<Figure>,
    charts: Vec<Chart>,
    badge_href: String,
    badge_alt: String,
    badge_snippet: String,
    embed_snippet: String,
    json_href: String,
}

#[derive(Serialize)]
struct EmbedPage<'a> {
    brand: &'a BrandEntry,
    finding: String,
    ranking: String,
    /// The table's figures: label, value.
    figures: Vec<(String, String)>,
    coverage_short: String,
    brand_url: String,
}

/// The embed's suggested frame (CSS pixels): the whole card fits in it, in every language
/// (the browser test measures it).
pub const EMBED_W: u32 = 420;
pub const EMBED_H: u32 = 480;

/// The names of the reply-time bins, then of "no reply yet".
const BIN_NAMES: [&str; REPLY_BINS.len() + 1] = [
    "bin_5min",
    "bin_15min",
    "bin_1h",
    "bin_3h",
    "bin_24h",
    "bin_more",
    "bin_waiting",
];

/// One chart: `draw` gets its labels (id, title, description, axis names from i18n keys);
/// `table` is its data: the columns' i18n keys, and the rows.
fn chart(
    lang: &Lang,
    id: &str,
    title_key: &str,
    desc: String,
    axes: (&str, &str),
    draw: impl FnOnce(&Labels) -> Result<String>,
    (head, rows): (&[&str], Vec<Vec<String>>),
) -> Result<Chart> {
    let title = lang.t(title_key, &[]);
    let axis = |key: &str| {
        if key.is_empty() {
            String::new()
        } else {
            lang.t(key, &[])
        }
    };
    let svg = draw(&Labels {
        id,
        title: &title,
        desc: &desc,
        x: &axis(axes.0),
    })?;
    Ok(Chart {
        title,
        desc,
        svg,
        head: head.iter().map(|k| lang.t(k, &[])).collect(),
        rows,
    })
}

impl View<'_> {
    /// The brand's finding in a sentence or two: how many it replied to, and (method 2) how
    /// many of its replies sent the customer elsewhere; when most did, the sentence says "but".
    pub fn finding(&self, lang: &Lang, b: &BrandEntry) -> String {
        match (b.answered_24h, b.sent_elsewhere) {
            (Some(a24), Some(sent)) if sent >= 0.5 => {
                return lang.t(
                    "finding_sent",
                    &[
                        ("name", &b.name),
                        ("a24", &lang.pct(Some(a24))),
                        ("sent", &lang.pct(Some(sent))),
                    ],
                );
            }
            (Some(_), Some(sent)) => {
                let sent = lang.t("finding_sent_few", &[("sent", &lang.pct(Some(sent)))]);
                return format!("{} {sent}", self.replies(lang, b));
            }
            _ => {}
        }
        self.replies(lang, b)
    }

    /// How many complaints the brand replied to, and how fast, in a sentence.
    fn replies(&self, lang: &Lang, b: &BrandEntry) -> String {
        match (b.answered_24h, b.median_reply_s) {
            (Some(a24), Some(m)) => lang.t(
                "finding",
                &[
                    ("name", &b.name),
                    ("a24", &lang.pct(Some(a24))),
                    ("median", &lang.within(m)),
                ],
            ),
            (Some(a24), None) => lang.t(
                "finding_no_median",
                &[("name", &b.name), ("a24", &lang.pct(Some(a24)))],
            ),
            _ => lang.t(
                "finding_no_score",
                &[("name", &b.name), ("complaints", &lang.int(b.complaints))],
            ),
        }
    }

    fn ranking(&self, lang: &Lang, b: &BrandEntry) -> (String, Option<String>) {
        let ranked = self.lb.ranked().count();
        let overall = match (b.rank, b.rank_interval) {
            (Some(r), Some([best, worst])) => lang.t(
                "ranked_overall",
                &[
                    ("rank", &r.to_string()),
                    ("n", &ranked.to_string()),
                    ("best", &best.to_string()),
                    ("worst", &worst.to_string()),
                ],
            ),
            _ => lang.t("not_ranked", &[("reason", &self.unranked(lang, b))]),
        };
        // A rank within a category of one ranked brand says nothing ("rank 1 of 1"): omitted.
        let peers = self
            .lb
            .ranked()
            .filter(|x| x.category == b.category)
            .count();
        let category = b.category_rank.filter(|_| peers >= 2).map(|rank| {
            // The range the overall rank intervals leave it within the category: ahead of the
            // peers whose whole interval is behind its own, behind those wholly ahead of it.
            let [best, worst] = b.rank_interval.unwrap_or([rank, rank]);
            let others = self
                .lb
                .ranked()
                .filter(|x| x.category == b.category && x.id != b.id)
                .filter_map(|x| x.rank_interval);
            let (mut surely, mut maybe) = (0, 0);
            for [ob, ow] in others {
                surely += usize::from(ow < best);
                maybe += usize::from(ob <= worst);
            }
            let (best, worst) = ((1 + surely).min(rank), (1 + maybe).max(rank));
            let key = if best == worst {
                "ranked_category"
            } else {
                "ranked_category_range"
            };
            lang.t(
                key,
                &[
                    ("rank", &rank.to_string()),
                    ("n", &peers.to_string()),
                    ("category", &lang.category(&b.category)),
                    ("best", &best.to_string()),
                    ("worst", &worst.to_string()),
                ],
            )
        });
        (overall, category)
    }

    /// Why a brand is not ranked, in words.
    pub fn unranked(&self, lang: &Lang, b: &BrandEntry) -> String {
        let code = b.unranked_reason.map_or("other", |r| r.code());
        lang.t(
            &format!("unranked_{code}"),
            &[
                ("complaints", &lang.int(b.complaints)),
                ("min", &lang.int(self.lb.method.min_complaints)),
            ],
        )
    }

    fn figures(&self, lang: &Lang, b: &BrandEntry) -> Vec<Figure> {
        let date = lang.date(self.lb.as_of);
        columns::of(self.lb.method.version)
            .filter(|c| c.card)
            .map(|c| Figure {
                label: lang.t(&format!("fig_{}", c.key), &[("date", &date)]),
                value: match (c.within, (c.value)(b)) {
                    (true, Some(s)) => lang.within(s as i64),
                    _ => figure(lang, c, b),
                },
                interval: interval(lang, c, b),
            })
            .collect()
    }

    /// The still-waiting curve and the reply-time distribution.
    fn window_charts(&self, lang: &Lang, b: &BrandEntry, d: &BrandDetail) -> Result<Vec<Chart>> {
        let waiting_at = |t: i64| d.still_waiting.iter().find(|p| p.0 == t).map(|p| p.1);
        let desc = lang.t(
            "chart_km_desc",
            &[
                ("name", &b.name),
                ("w1", &lang.pct(waiting_at(3600))),
                ("w24", &lang.pct(waiting_at(86_400))),
                ("complaints", &lang.int(b.complaints)),
                ("from", &lang.date(self.lb.window.from)),
                ("to", &lang.date(self.lb.as_of)),
            ],
        );
        let desc = format!("{desc} {}", lang.t("chart_km_band", &[]));
        let tick = |t: i64| lang.duration(Some(t));
        let km = chart(
            lang,
            "km",
            "chart_km_title",
            desc,
            ("time_after", "still_waiting"),
            |labels| Ok(charts::still_waiting(&self.curves[&b.id], &tick, labels)),
            (
                &["time_after", "still_waiting"],
                d.still_waiting
                    .iter()
                    .map(|&(t, s)| vec![lang.duration(Some(t)), lang.pct(Some(s))])
                    .collect(),
            ),
        )?;
        let values: Vec<(String, f64)> = BIN_NAMES
            .iter()
            .zip(&d.reply_times)
            .map(|(k, &n)| (lang.t(k, &[]), n as f64))
            .collect();
        let desc = lang.t(
            "chart_dist_desc",
            &[
                ("name", &b.name),
                ("complaints", &lang.int(b.complaints)),
                ("fast", &lang.int(d.reply_times[0] + d.reply_times[1])),
                ("waiting", &lang.int(d.reply_times[REPLY_BINS.len()])),
                ("date", &lang.date(self.lb.as_of)),
            ],
        );
        let count = |v: f64| lang.int(v as usize);
        let dist = chart(
            lang,
            "dist",
            "chart_dist_title",
            desc,
            ("", "col_complaints"),
            |labels| Ok(charts::hbars(&values, &count, labels)),
            (
                &["time_after", "col_complaints"],
                values
                    .iter()
                    .map(|(k, v)| vec![k.clone(), lang.int(*v as usize)])
                    .collect(),
            ),
        )?;
        Ok(vec![km, dist])
    }

    /// The window on a month axis: its instants, its name, and month names.
    fn month_axis<'a>(
        &self,
        h: &[MonthEntry],
        label: &'a str,
        name: &'a dyn Fn(i64) -> String,
    ) -> charts::MonthAxis<'a> {
        let mid = |m: Option<&MonthEntry>| m.map_or(0.0, |m| charts::month_mid(&m.month));
        charts::MonthAxis {
            months: (mid(h.first()), mid(h.last())),
            window: (self.lb.window.from, self.lb.as_of),
            window_label: label,
            name,
        }
    }

    /// The monthly score and the monthly volume, on time axes with the window shaded.
    fn history_charts(&self, lang: &Lang, b: &BrandEntry, h: &[MonthEntry]) -> Result<Vec<Chart>> {
        let months: Vec<String> = h.iter().map(|m| lang.month(&m.month)).collect();
        let (first, last) = (&months[0], &months[months.len() - 1]);
        let window_label = lang.t(
            "window_label",
            &[("days", &self.lb.window.days.to_string())],
        );
        let month_name = |m: i64| {
            lang.month(&format!(
                "{:04}-{:02}",
                m.div_euclid(12),
                m.rem_euclid(12) + 1
            ))
        };
        let axis = self.month_axis(h, &window_label, &month_name);
        let in_window = lang.t(
            "chart_window_note",
            &[
                ("complaints", &lang.int(b.complaints)),
                ("days", &self.lb.window.days.to_string()),
                ("from", &lang.date(self.lb.window.from)),
                ("to", &lang.date(self.lb.as_of)),
            ],
        );
        let not_drawn = h
            .iter()
            .filter(|m| m.score.is_some() && m.drawn().is_none())
            .count();
        let mut desc = lang.t(
            "chart_history_desc",
            &[("name", &b.name), ("first", first), ("last", last)],
        );
        if not_drawn > 0 {
            desc.push(' ');
            desc.push_str(&lang.t(
                "chart_history_not_drawn",
                &[
                    ("n", &lang.int(not_drawn)),
                    ("min", &crate::score::MIN_MONTH.to_string()),
                ],
            ));
        }
        desc.push(' ');
        desc.push_str(&in_window);
        let interval_text = |m: &MonthEntry| {
            m.score_ci.map(|[lo, hi]| {
                lang.t(
                    "score_interval",
                    &[("lo", &lang.decimal(lo)), ("hi", &lang.decimal(hi))],
                )
            })
        };
        let points: Vec<charts::MonthPoint> = h
            .iter()
            .zip(&months)
            .filter_map(|(m, name)| {
                let score = m.drawn()?;
                Some(charts::MonthPoint {
                    x: charts::month_mid(&m.month),
                    score,
                    ci: m.score_ci,
                    title: lang.t(
                        "month_point",
                        &[
                            ("month", name),
                            ("score", &lang.decimal(score)),
                            ("interval", &interval_text(m).unwrap_or_default()),
                            ("n", &lang.int(m.complaints)),
                        ],
                    ),
                })
            })
            .collect();
        let score = chart(
            lang,
            "hist",
            "chart_history_title",
            desc,
            ("month", "col_score"),
            |labels| Ok(charts::month_scores(&points, &axis, labels)),
            (
                &[
                    "month",
                    "col_complaints",
                    "col_answered_1h",
                    "col_answered_24h",
                    "col_median_reply_s",
                    "col_score",
                ],
                h.iter()
                    .zip(&months)
                    .map(|(m, name)| {
                        vec![
                            name.clone(),
                            lang.int(m.complaints),
                            lang.pct(m.answered_1h),
                            lang.pct(m.answered_24h),
                            lang.duration(m.median_reply_s),
                            match (m.drawn(), interval_text(m)) {
                                (Some(s), Some(i)) => format!("{} ({i})", lang.decimal(s)),
                                (Some(s), None) => lang.decimal(s),
                                (None, _) if m.score.is_some() => lang.t(
                                    "month_too_few",
                                    &[("min", &crate::score::MIN_MONTH.to_string())],
                                ),
                                (None, _) => lang.t("not_available", &[]),
                            },
                        ]
                    })
                    .collect(),
            ),
        )?;
        let volume: Vec<(f64, usize)> = h
            .iter()
            .map(|m| (charts::month_mid(&m.month), m.complaints))
            .collect();
        let total: usize = h.iter().map(|m| m.complaints).sum();
        let peak = h.iter().map(|m| m.complaints).max().unwrap_or(0);
        let desc = lang.t(
            "chart_volume_desc",
            &[
                ("name", &b.name),
                ("total", &lang.int(total)),
                ("first", first),
                ("last", last),
                ("peak", &lang.int(peak)),
            ],
        );
        let desc = format!("{desc} {in_window}");
        let vol = chart(
            lang,
            "vol",
            "chart_volume_title",
            desc,
            ("month", "col_complaints"),
            |labels| Ok(charts::month_counts(&volume, &axis, labels)),
            (
                &["month", "col_complaints"],
                h.iter()
                    .zip(&months)
                    .map(|(m, n)| vec![n.clone(), lang.int(m.complaints)])
                    .collect(),
            ),
        )?;
        Ok(vec![score, vol])
    }

    pub fn brand_page(&self, lang: &Lang, b: &BrandEntry) -> Result<Vec<u8>> {
        let page = format!("brand/{}/index.html", b.id);
        let root = View::lang_root(lang, &page);
        let (ranking, category_ranking) = self.ranking(lang, b);
        let mut charts_out = Vec::new();
        if let Some(d) = self.lb.details.get(&b.id) {
            charts_out.extend(self.window_charts(lang, b, d)?);
        }
        if let Some(h) = self.lb.history.get(&b.id).filter(|h| !h.is_empty()) {
            charts_out.extend(self.history_charts(lang, b, h)?);
        }
        let base_url = self.address();
        let badge_url = format!("{base_url}{}badge/{}.svg", lang.prefix, b.id);
        let embed_url = format!("{base_url}{}embed/{}/", lang.prefix, b.id);
        let finding = self.finding(lang, b);
        let data = BrandPage {
            brand: b,
            ranking,
            category_ranking,
            coverage: self.coverage(lang, &[b]),
            figures: self.figures(lang, b),
            charts: charts_out,
            badge_href: format!("{root}badge/{}.svg", b.id),
            badge_alt: self.badge_text(lang, b),
            badge_snippet: format!(
                "<a href=\"{}\"><img src=\"{badge_url}\" alt=\"{}\"></a>",
                pretty(base_url, &format!("{}{page}", lang.prefix)),
                escape(&self.badge_text(lang, b))
            ),
            embed_snippet: format!(
                "<iframe src=\"{embed_url}\" title=\"{}\" width=\"{EMBED_W}\" height=\"{EMBED_H}\" style=\"border:0\"></iframe>",
                escape(&b.name)
            ),
            json_href: format!(
                "{}data/brands/{}.json",
                rel_root(&format!("{}{page}", lang.prefix)),
                b.id
            ),
            finding: finding.clone(),
            grievance: super::grievance::section(lang, b),
        };
        let base = self.base(lang, &page, b.name.clone(), finding);
        self.render("brand.html", &base, &data)
    }

    /// The small card a page embeds in an iframe: the finding, then the table's figures.
    pub fn embed_page(&self, lang: &Lang, b: &BrandEntry) -> Result<Vec<u8>> {
        let p = &lang.prefix;
        let figures = columns::of(self.lb.method.version)
            .filter(|c| c.table && c.key != "complaints")
            .map(|c| (lang.t(&format!("col_{}", c.key), &[]), figure(lang, c, b)))
            .collect();
        let embed = EmbedPage {
            brand: b,
            finding: self.finding(lang, b),
            ranking: self.ranking(lang, b).0,
            figures,
            coverage_short: self.coverage(lang, &[b]).join(" "),
            brand_url: pretty(self.address(), &format!("{p}brand/{}/index.html", b.id)),
        };
        let page = format!("embed/{}/index.html", b.id);
        let base = self.base(lang, &page, b.name.clone(), String::new());
        self.render("embed.html", &base, &embed)
    }

    /// The brand's share image (PNG): its score with its interval, and its rank.
    pub fn brand_card(
        &self,
        painter: &super::og::Painter,
        lang: &Lang,
        b: &BrandEntry,
    ) -> Result<Vec<u8>> {
        let plain = |s: String| s.replace('\u{2060}', "");
        let kicker = format!(
            "{} · {}",
            self.config.title,
            lang.t("as_of", &[("date", &lang.date(self.lb.as_of))])
        );
        let score = columns::of(self.lb.method.version).find(|c| c.unit == columns::Unit::Score);
        let big = b.score.map(|s| lang.decimal(s));
        let what = score
            .and_then(|c| interval(lang, c, b))
            .map(|i| plain(format!("{} · {i}", lang.t("col_score", &[]))))
            .unwrap_or_else(|| lang.t("col_score", &[]));
        let lines = [plain(self.ranking(lang, b).0)];
        painter.png(&super::og::Card {
            kicker: &kicker,
            title: &b.name,
            figure: big
                .as_deref()
                .filter(|_| b.eligible)
                .map(|s| (s, what.as_str())),
            lines: &lines,
            source: &self.credit_text(lang),
        })
    }

    /// The brand's badge (SVG): its headline rank and score with the as-of date, or "not
    /// enough data" when it is not ranked.
    pub fn badge(&self, lang: &Lang, b: &BrandEntry) -> Vec<u8> {
        let (label, value) = self.badge_parts(lang, b);
        charts::badge(&label, &value, b.eligible).into_bytes()
    }

    fn badge_parts(&self, lang: &Lang, b: &BrandEntry) -> (String, String) {
        let label = lang.t("badge_label", &[("date", &lang.date(self.lb.as_of))]);
        let value = match (b.rank, b.score) {
            (Some(rank), Some(score)) if b.eligible => lang.t(
                "badge_value",
                &[
                    ("rank", &rank.to_string()),
                    ("n", &self.lb.ranked().count().to_string()),
                    ("score", &lang.decimal(score)),
                ],
            ),
            _ => lang.t("badge_none", &[]),
        };
        (label, value)
    }

    fn badge_text(&self, lang: &Lang, b: &BrandEntry) -> String {
        let (label, value) = self.badge_parts(lang, b);
        format!("{label} · {value}")
    }
}
