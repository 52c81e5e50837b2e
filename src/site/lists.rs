//! Ranking pages: the leaderboard (`/`), the full ranking, and the rankings within a category
//! or a country. Their table's figure columns come from [`crate::columns::COLUMNS`], as far as the method computes them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde::Serialize;

use super::charts;
use super::lang::Lang;
use super::view::{View, figure, interval};
use crate::columns::{self, Unit};
use crate::score::{BrandEntry, MonthEntry};

/// Which ranking a list shows, and so which rank each row carries.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// All brands (the leaderboard and the full ranking).
    Overall,
    Category,
    Country,
}

impl Scope {
    /// The group of a brand a list of this scope is made of (its category or its country).
    pub fn group(self, b: &BrandEntry) -> &str {
        match self {
            Scope::Overall => "",
            Scope::Category => &b.category,
            Scope::Country => &b.country,
        }
    }

    /// The page of one group, and its heading.
    pub fn page(self, lang: &Lang, group: &str) -> (String, String) {
        match self {
            Scope::Overall => ("index.html".into(), lang.t("leaderboard_title", &[])),
            Scope::Category => (
                format!("category/{group}/index.html"),
                lang.t("category_title", &[("category", &lang.category(group))]),
            ),
            Scope::Country => (
                format!("country/{}/index.html", group.to_ascii_lowercase()),
                lang.t("country_title", &[("country", group)]),
            ),
        }
    }
}

#[derive(Serialize)]
struct Header {
    key: &'static str,
    label: String,
    /// The column's short name, shown next to each figure on a phone.
    short: String,
    lower_is_better: bool,
}

/// A figure's cell: what it shows, its sort key, and for the score its interval bar.
#[derive(Serialize)]
struct Cell {
    key: &'static str,
    text: String,
    sort: String,
    bar: Option<Bar>,
}

#[derive(Serialize)]
struct Bar {
    title: String,
    left: String,
    width: String,
    point: String,
}

/// One row of a ranking table.
#[derive(Serialize)]
struct Row {
    id: String,
    rank: String,
    rank_interval: String,
    rank_interval_title: String,
    name: String,
    href: String,
    category: String,
    category_name: String,
    category_href: String,
    country: String,
    country_href: String,
    cells: Vec<Cell>,
    spark: String,
    /// The score's interval (`lo`, `hi`, one decimal), from which site.js draws the row's dot
    /// and whisker in the chart of every shown brand.
    lo: String,
    hi: String,
}

#[derive(Serialize)]
struct Named {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct Unranked {
    category: String,
    country: String,
    name: String,
    href: String,
    complaints: String,
}

#[derive(Serialize)]
struct TablePage {
    heading: String,
    /// The front page's "fame and shame" lists (empty elsewhere).
    fame: Vec<super::grievance::FameList>,
    lead: String,
    coverage: Vec<String>,
    filters: bool,
    categories: Vec<Named>,
    countries: Vec<String>,
    columns: Vec<Header>,
    rows: Vec<Row>,
    /// Set when the page shows only the top rows: the link to all of them and what it says.
    more: Option<(String, String)>,
    unranked: Vec<Unranked>,
    unranked_lead: String,
    /// Registry brands with no complaint in the window: named, with no page of their own.
    /// Registered brands with complaints in the data, none in the window.
    silent: Vec<String>,
    /// Registered brands the data holds no complaint of at all (not in this archive, or not
    /// collected yet).
    absent: Vec<String>,
    /// What the rank, the score and its bar mean.
    legend: String,
    /// A category or country page: its ranks are the overall ones.
    group_note: Option<String>,
    /// How many brands the chart of every shown brand's score and interval (dots and whiskers)
    /// has: site.js draws it from the table's rows, which hold its figures already.
    dots: usize,
    /// The complaints per day in the window, and a warning when they crowd into few days.
    days: Option<DaysChart>,
    /// Sort choices for phones, where the headers are hidden: (`key:direction`, name).
    sorts: Vec<(String, String)>,
}

/// Where the ranked complaints lie in time: per day of the window, with the data behind it.
#[derive(Serialize)]
struct DaysChart {
    title: String,
    desc: String,
    svg: String,
    /// Set when one day holds a quarter or more of the complaints.
    warning: Option<String>,
    rows: Vec<(String, String)>,
}

/// One day holding this share of the window's complaints or more gets a warning.
const CROWDED_DAY: f64 = 0.25;

/// The months a sparkline shows: the last 24.
fn recent(history: &[MonthEntry]) -> &[MonthEntry] {
    &history[history.len().saturating_sub(24)..]
}

impl View<'_> {
    /// Whether the data holds no complaint to the brand at all, in any month up to as-of.
    fn never_complained_to(&self, b: &BrandEntry) -> bool {
        self.lb
            .history
            .get(&b.id)
            .is_none_or(|h| h.iter().all(|m| m.complaints == 0))
    }

    fn cells(&self, lang: &Lang, b: &BrandEntry) -> Vec<Cell> {
        columns::of(self.lb.method.version)
            .filter(|c| c.table)
            .map(|c| Cell {
                key: c.key,
                text: figure(lang, c, b),
                sort: c.sort_key(b),
                // The score's interval drawn as a bar on its 0–100 scale.
                bar: c
                    .interval
                    .as_ref()
                    .filter(|_| c.unit == Unit::Score)
                    .map(|i| {
                        let [lo, hi] = (i.get)(b).unwrap_or([0.0, 0.0]);
                        let point = (c.value)(b).unwrap_or(0.0);
                        Bar {
                            title: interval(lang, c, b).unwrap_or_else(|| {
                                let zero = lang.decimal(0.0);
                                lang.t("score_interval", &[("lo", &zero), ("hi", &zero)])
                            }),
                            left: format!("{lo:.1}"),
                            width: format!("{:.1}", (hi - lo).max(0.5)),
                            point: format!("{point:.1}"),
                        }
                    }),
            })
            .collect()
    }

    /// A brand's score interval on its 0–100 scale (`[0, 0]` when it has none).
    fn score_interval(&self, b: &BrandEntry) -> [f64; 2] {
        columns::of(self.lb.method.version)
            .find(|c| c.unit == Unit::Score)
            .and_then(|score| score.interval.as_ref())
            .and_then(|i| (i.get)(b))
            .unwrap_or([0.0, 0.0])
    }

    /// The site's share image (PNG): the leaderboard's title and its first five brands.
    pub fn site_card(&self, painter: &super::og::Painter, lang: &Lang) -> Result<Vec<u8>> {
        let kicker = format!(
            "{} · {}",
            self.config.title,
            lang.t("as_of", &[("date", &lang.date(self.lb.as_of))])
        );
        let lines: Vec<String> = self
            .lb
            .ranked()
            .take(4)
            .map(|b| {
                format!(
                    "{}. {} — {}",
                    b.rank.unwrap_or(0),
                    b.name,
                    b.score.map_or(String::new(), |s| lang.decimal(s))
                )
            })
            .collect();
        painter.png(&super::og::Card {
            kicker: &kicker,
            title: &lang.t("leaderboard_title", &[]),
            figure: None,
            lines: &lines,
            source: &self.credit_text(lang),
        })
    }

    /// The ranked brands' complaints per day of the window, as a chart with its data.
    fn days_chart(&self, lang: &Lang, ranked: &[&BrandEntry]) -> Option<DaysChart> {
        let mut days: BTreeMap<i64, usize> = BTreeMap::new();
        for b in ranked {
            for (&d, &n) in self
                .lb
                .details
                .get(&b.id)
                .map(|d| &d.days)
                .into_iter()
                .flatten()
            {
                *days.entry(d).or_default() += n;
            }
        }
        let total: usize = days.values().sum();
        let (&peak_day, &peak) = days.iter().max_by_key(|(d, n)| (**n, -**d))?;
        let share = peak as f64 / total as f64;
        let day = |d: i64| lang.date(d * 86_400);
        let args = [
            ("complaints", lang.int(total)),
            ("from", lang.date(self.lb.window.from)),
            ("to", lang.date(self.lb.as_of)),
            ("day", day(peak_day)),
            ("share", lang.pct(Some(share))),
            ("with", lang.int(days.len())),
            ("days", lang.int(self.lb.window.days as usize)),
        ];
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let title = lang.t("chart_days_title", &[]);
        let desc = lang.t("chart_days_desc", &args);
        let month = |d: i64| {
            let (y, m, _) = crate::time::civil_from_days(d);
            lang.month(&format!("{y:04}-{m:02}"))
        };
        let peak_label = format!("{}: {}", day(peak_day), lang.int(peak));
        let counts: Vec<(i64, usize)> = days.iter().map(|(&d, &n)| (d, n)).collect();
        let svg = charts::day_counts(
            &counts,
            (self.lb.window.from, self.lb.as_of),
            &month,
            &peak_label,
            &charts::Labels {
                id: "days",
                title: &title,
                desc: &desc,
                x: "",
            },
        );
        Some(DaysChart {
            warning: (share >= CROWDED_DAY).then(|| lang.t("window_concentrated", &args)),
            title,
            desc,
            svg,
            rows: counts.iter().map(|&(d, n)| (day(d), lang.int(n))).collect(),
        })
    }

    /// The sort choices: rank, brand, then each figure, each way.
    fn sorts(&self, lang: &Lang) -> Vec<(String, String)> {
        let mut out = vec![
            ("rank:asc".to_string(), lang.t("col_rank", &[])),
            ("name:asc".to_string(), lang.t("col_brand", &[])),
        ];
        for c in columns::of(self.lb.method.version).filter(|c| c.table) {
            let name = lang.t(&format!("col_{}", c.key), &[]);
            let dir = if c.lower_is_better { "asc" } else { "desc" };
            out.push((format!("{}:{dir}", c.key), name));
        }
        out
    }

    /// Table rows for ranked brands, each with its overall rank.
    fn rows(&self, lang: &Lang, page: &str, brands: &[&BrandEntry]) -> Vec<Row> {
        let root = View::lang_root(lang, page);
        brands
            .iter()
            .map(|&b| {
                // Every list shows the overall rank and its interval: renumbering a group from 1
                // would hide that its members' intervals overlap brands outside it.
                let rank = b.rank.unwrap_or(0);
                let [best, worst] = b.rank_interval.unwrap_or([0, 0]);
                let history = self.lb.history.get(&b.id).map_or(&[][..], |h| recent(h));
                // The trend in words, first and last month: the cell stays light.
                let say = |m: &MonthEntry| {
                    format!(
                        "{} {}",
                        lang.month(&m.month),
                        m.drawn().map_or("–".into(), |s| lang.decimal(s))
                    )
                };
                let spark_title = match (history.first(), history.last()) {
                    (Some(a), Some(z)) => format!("{} → {}", say(a), say(z)),
                    _ => String::new(),
                };
                // Months on a time axis ending at the as-of month; small months not drawn.
                let now = crate::time::month_index(self.lb.as_of);
                let scores: Vec<(i64, f64)> = history
                    .iter()
                    .filter_map(|m| {
                        let ago = now - (charts::month_mid(&m.month) - 0.5) as i64;
                        m.drawn().map(|s| (ago, s))
                    })
                    .filter(|(ago, _)| (0..24).contains(ago))
                    .collect();
                let [lo, hi] = self.score_interval(b);
                Row {
                    lo: format!("{lo:.1}"),
                    hi: format!("{hi:.1}"),
                    id: b.id.clone(),
                    rank: rank.to_string(),
                    rank_interval: format!("{best}–{worst}"),
                    rank_interval_title: lang.t(
                        "rank_interval",
                        &[("best", &best.to_string()), ("worst", &worst.to_string())],
                    ),
                    name: b.name.clone(),
                    href: format!("{root}brand/{}/index.html", b.id),
                    category: b.category.clone(),
                    category_name: lang.category(&b.category),
                    category_href: format!("{root}category/{}/index.html", b.category),
                    country: b.country.clone(),
                    country_href: format!(
                        "{root}country/{}/index.html",
                        b.country.to_ascii_lowercase()
                    ),
                    cells: self.cells(lang, b),
                    spark: charts::sparkline(&scores, &spark_title),
                }
            })
            .collect()
    }

    /// A ranking page of `brands` (all, or a category's or a country's), showing the first
    /// `limit` ranked ones.
    pub fn table_page(
        &self,
        lang: &Lang,
        page: &str,
        brands: &[&BrandEntry],
        heading: String,
        scope: Scope,
        limit: Option<usize>,
    ) -> Result<Vec<u8>> {
        let ranked: Vec<&BrandEntry> = brands.iter().copied().filter(|b| b.eligible).collect();
        let root = View::lang_root(lang, page);
        // The lead counts the ranked brands' complaints: the others are listed apart.
        let complaints: usize = ranked.iter().map(|b| b.complaints).sum();
        let categories: BTreeSet<&str> = ranked.iter().map(|b| b.category.as_str()).collect();
        let countries: BTreeSet<&str> = ranked.iter().map(|b| b.country.as_str()).collect();
        let lead = lang.t(
            "leaderboard_lead",
            &[
                ("ranked", &lang.int(ranked.len())),
                ("complaints", &lang.int(complaints)),
                ("from", &lang.date(self.lb.window.from)),
                ("to", &lang.date(self.lb.as_of)),
            ],
        );
        let shown = limit.unwrap_or(usize::MAX).min(ranked.len());
        let page_data = TablePage {
            lead: lead.clone(),
            coverage: self.coverage(lang, brands),
            filters: scope == Scope::Overall,
            categories: categories
                .iter()
                .map(|c| Named {
                    id: c.to_string(),
                    name: lang.category(c),
                })
                .collect(),
            countries: countries.iter().map(|c| c.to_string()).collect(),
            columns: columns::of(self.lb.method.version)
                .filter(|c| c.table)
                .map(|c| Header {
                    key: c.key,
                    label: lang.t(&format!("col_{}", c.key), &[]),
                    short: lang.t(&format!("abbr_{}", c.key), &[]).replace('"', ""),
                    lower_is_better: c.lower_is_better,
                })
                .collect(),
            more: (shown < ranked.len()).then(|| {
                (
                    format!("{root}ranking/index.html"),
                    lang.t(
                        "more_ranked",
                        &[
                            ("shown", &shown.to_string()),
                            ("ranked", &ranked.len().to_string()),
                        ],
                    ),
                )
            }),
            rows: self.rows(lang, page, &ranked[..shown]),
            unranked: brands
                .iter()
                .filter(|b| !b.eligible && b.complaints > 0)
                .map(|b| Unranked {
                    category: b.category.clone(),
                    country: b.country.clone(),
                    name: b.name.clone(),
                    href: format!("{root}brand/{}/index.html", b.id),
                    complaints: lang.int(b.complaints),
                })
                .collect(),
            unranked_lead: lang.t(
                "unranked_lead",
                &[("min", &self.lb.method.min_complaints.to_string())],
            ),
            silent: brands
                .iter()
                .filter(|b| b.complaints == 0 && !self.never_complained_to(b))
                .map(|b| b.name.clone())
                .collect(),
            absent: brands
                .iter()
                .filter(|b| b.complaints == 0 && self.never_complained_to(b))
                .map(|b| b.name.clone())
                .collect(),
            heading: heading.clone(),
            fame: if scope == Scope::Overall {
                super::grievance::fame(lang, &ranked, &root)
            } else {
                Vec::new()
            },
            legend: lang.t("legend_table", &[]),
            group_note: (scope != Scope::Overall).then(|| lang.t("group_rank_note", &[])),
            dots: shown,
            days: (scope == Scope::Overall)
                .then(|| self.days_chart(lang, &ranked))
                .flatten(),
            sorts: self.sorts(lang),
        };
        let base = self.base(lang, page, heading, lead);
        let template = if scope == Scope::Overall {
            "index.html"
        } else {
            "list.html"
        };
        self.render(template, &base, &page_data)
    }
}
