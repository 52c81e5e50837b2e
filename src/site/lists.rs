//! Ranking pages: the leaderboard (`/`), the full ranking, and the rankings within a category
//! or a country. Their table's figure columns come from [`crate::columns::COLUMNS`], as far as the method computes them.

use std::collections::BTreeSet;

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

    fn rank(self, b: &BrandEntry) -> Option<usize> {
        match self {
            Scope::Overall => b.rank,
            Scope::Category => b.category_rank,
            Scope::Country => b.country_rank,
        }
    }
}

#[derive(Serialize)]
struct Header {
    key: &'static str,
    label: String,
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
}

#[derive(Serialize)]
struct Named {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct Unranked {
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
    silent: Vec<String>,
}

/// The months a sparkline shows: the last 24.
fn recent(history: &[MonthEntry]) -> &[MonthEntry] {
    &history[history.len().saturating_sub(24)..]
}

impl View<'_> {
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

    /// Table rows for ranked brands, each with its rank in `scope`.
    fn rows(&self, lang: &Lang, page: &str, brands: &[&BrandEntry], scope: Scope) -> Vec<Row> {
        let root = View::lang_root(lang, page);
        brands
            .iter()
            .map(|&b| {
                let rank = scope.rank(b).unwrap_or(0);
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
                let scores: Vec<Option<f64>> = history.iter().map(MonthEntry::drawn).collect();
                Row {
                    rank: rank.to_string(),
                    rank_interval: if rank == b.rank.unwrap_or(0) {
                        format!("{best}–{worst}")
                    } else {
                        format!("#{}", b.rank.unwrap_or(0))
                    },
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
            rows: self.rows(lang, page, &ranked[..shown], scope),
            unranked: brands
                .iter()
                .filter(|b| !b.eligible && b.complaints > 0)
                .map(|b| Unranked {
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
                .filter(|b| b.complaints == 0)
                .map(|b| b.name.clone())
                .collect(),
            heading: heading.clone(),
            fame: if scope == Scope::Overall {
                super::grievance::fame(lang, &ranked, &root)
            } else {
                Vec::new()
            },
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
