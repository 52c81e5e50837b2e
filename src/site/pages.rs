//! Every page and download of the site, rendered into memory. Each template gets a small
//! context: the page's own values plus the common ones of `base.html`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use rayon::prelude::*;
use serde::Serialize;
use tera::Tera;

use super::Site;
use super::charts::{self, Labels, escape};
use super::lang::Lang;
use super::methodology::Methodology;
use crate::config::Config;
use crate::root::SiteRoot;
use crate::score::{BrandEntry, Leaderboard, REPLY_BINS};

const TEMPLATES: [(&str, &str); 10] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("table.html", include_str!("../../templates/table.html")),
    ("brand.html", include_str!("../../templates/brand.html")),
    ("list.html", include_str!("../../templates/list.html")),
    ("page.html", include_str!("../../templates/page.html")),
    ("data.html", include_str!("../../templates/data.html")),
    ("archive.html", include_str!("../../templates/archive.html")),
    ("embed.html", include_str!("../../templates/embed.html")),
    ("404.html", include_str!("../../templates/404.html")),
];
const ASSETS: [(&str, &str); 3] = [
    (
        "assets/favicon.svg",
        include_str!("../../templates/assets/favicon.svg"),
    ),
    (
        "assets/site.css",
        include_str!("../../templates/assets/site.css"),
    ),
    (
        "assets/site.js",
        include_str!("../../templates/assets/site.js"),
    ),
];

/// The built-in templates, each replaced by the site root's `templates/<name>` when present.
pub fn templates(root: &SiteRoot) -> Result<Tera> {
    let mut tera = Tera::default();
    let mut sources = Vec::new();
    for (name, builtin) in TEMPLATES {
        let own = root.templates().join(name);
        let text = std::fs::read_to_string(&own).unwrap_or_else(|_| builtin.to_string());
        sources.push((name, text));
    }
    tera.add_raw_templates(sources)
        .map_err(|e| anyhow!("templates: {}", tera_error(&e)))?;
    tera.set_escape_fn(escape);
    Ok(tera)
}

/// The assets (CSS, JavaScript, favicon), each replaced by the site root's
/// `templates/<name>` when present, like the templates.
pub fn assets(root: &SiteRoot) -> Vec<(&'static str, Vec<u8>)> {
    ASSETS
        .iter()
        .map(|&(name, builtin)| {
            let own = std::fs::read(root.templates().join(name));
            (name, own.unwrap_or_else(|_| builtin.as_bytes().to_vec()))
        })
        .collect()
}

fn tera_error(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Everything pages are made from.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub lb: &'a Leaderboard,
    pub langs: &'a [Lang],
    pub templates: &'a Tera,
    pub snapshot: &'a str,
    pub methodology: &'a Methodology,
    pub assets: &'a [(&'static str, Vec<u8>)],
}

/// `../` once per directory level of a page path.
fn rel_root(path: &str) -> String {
    "../".repeat(path.matches('/').count())
}

/// The public URL of a page path (`brand/x/index.html` → `<base>brand/x/`).
fn pretty(base: &str, path: &str) -> String {
    format!("{base}{}", path.strip_suffix("index.html").unwrap_or(path))
}

#[derive(Serialize)]
struct Alternate {
    lang: String,
    name: String,
    href: String,
    url: String,
}

#[derive(Serialize)]
struct NavLinks {
    methodology: String,
    data: String,
    archive: String,
}

/// What `base.html` needs, for one page in one language.
#[derive(Serialize)]
struct Base<'a> {
    lang: &'a str,
    locale: &'a str,
    t: &'a BTreeMap<String, String>,
    site_title: &'a str,
    base_url: &'a str,
    title: String,
    description: String,
    url: String,
    root: String,
    home: String,
    links: NavLinks,
    alternates: Vec<Alternate>,
    as_of_text: String,
    cite_text: String,
    bibtex: String,
}

impl<'a> Ctx<'a> {
    /// `page` is the path within a language (`brand/x/index.html`).
    fn base(&self, lang: &'a Lang, page: &str, title: String, description: String) -> Base<'a> {
        let path = format!("{}{page}", lang.prefix);
        let root = rel_root(&path);
        let home = format!("{root}{}index.html", lang.prefix);
        let base_url = self.config.base_url.as_str();
        let dated = pretty(&format!("{base_url}archive/{}/", self.snapshot), &path);
        let as_of = crate::time::parse_rfc3339(&self.lb.as_of).unwrap_or(0);
        let date = lang.date(as_of);
        let sources = self
            .lb
            .sources
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let cite_text = lang.t(
            "cite_text",
            &[
                ("publisher", &self.config.publisher),
                ("title", &title),
                ("date", &date),
                ("url", &dated),
                ("sources", &sources),
            ],
        );
        let key: String = format!(
            "{}-{}-{}",
            self.config.publisher,
            page.trim_end_matches("index.html"),
            self.snapshot
        )
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
        let bibtex = format!(
            "@misc{{{key},\n  author = {{{{{}}}}},\n  title = {{{{{title}}}}},\n  year = {{{}}},\n  note = {{As of {}; method version 1}},\n  url = {{{dated}}}\n}}",
            self.config.publisher,
            &self.snapshot[..4],
            self.snapshot
        );
        Base {
            lang: &lang.code,
            locale: if lang.code == "fr" { "fr_FR" } else { "en_GB" },
            t: &lang.strings,
            site_title: &self.config.title,
            base_url,
            description,
            url: pretty(base_url, &path),
            links: NavLinks {
                methodology: format!("{root}{}methodology/index.html", lang.prefix),
                data: format!("{root}{}data/index.html", lang.prefix),
                archive: format!("{root}{}archive/index.html", lang.prefix),
            },
            alternates: self
                .langs
                .iter()
                .map(|l| Alternate {
                    lang: l.code.clone(),
                    name: l.t("language_name", &[]),
                    href: format!("{root}{}{page}", l.prefix),
                    url: pretty(base_url, &format!("{}{page}", l.prefix)),
                })
                .collect(),
            root,
            home,
            as_of_text: lang.t("as_of", &[("date", &date)]),
            cite_text,
            bibtex,
            title,
        }
    }

    fn render<T: Serialize>(&self, template: &str, base: &Base, page: &T) -> Result<Vec<u8>> {
        let mut context =
            tera::Context::from_serialize(base).map_err(|e| anyhow!(tera_error(&e)))?;
        context.extend(tera::Context::from_serialize(page).map_err(|e| anyhow!(tera_error(&e)))?);
        self.templates
            .render(template, &context)
            .map(String::into_bytes)
            .map_err(|e| anyhow!("rendering {template}: {}", tera_error(&e)))
    }
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
    score: String,
    score_key: String,
    score_ci_title: String,
    ci_left: String,
    ci_width: String,
    ci_point: String,
    a1: String,
    a1_key: String,
    a24: String,
    a24_key: String,
    median: String,
    median_key: String,
    complaints: String,
    n: usize,
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
    lead: String,
    coverage: Vec<String>,
    filters: bool,
    categories: Vec<Named>,
    countries: Vec<String>,
    rows: Vec<Row>,
    /// Set when the page shows only the top rows: the link to all of them and what it says.
    more: Option<(String, String)>,
    unranked: Vec<Unranked>,
    unranked_lead: String,
}

fn key(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v:.4}"))
}

impl Ctx<'_> {
    /// Table rows for ranked brands; `rank` gives each row's rank (overall, or within a list).
    fn rows(&self, lang: &Lang, page: &str, brands: &[(&BrandEntry, usize)]) -> Vec<Row> {
        let root = format!(
            "{}{}",
            rel_root(&format!("{}{page}", lang.prefix)),
            lang.prefix
        );
        brands
            .iter()
            .map(|&(b, rank)| {
                let [lo, hi] = b.score_ci.unwrap_or([0.0, 0.0]);
                let score = b.score.unwrap_or(0.0);
                let [best, worst] = b.rank_interval.unwrap_or([0, 0]);
                let history: Vec<Option<f64>> = self
                    .lb
                    .history
                    .get(&b.id)
                    .map(|h| h.iter().rev().take(24).rev().map(|m| m.score).collect())
                    .unwrap_or_default();
                // The trend in words, first and last month: the cell stays light.
                let spark_title = self
                    .lb
                    .history
                    .get(&b.id)
                    .map(|h| {
                        let shown: Vec<_> = h.iter().rev().take(24).rev().collect();
                        let say = |m: &crate::score::MonthEntry| {
                            format!(
                                "{} {}",
                                lang.month(&m.month),
                                m.score.map_or("–".into(), |s| lang.decimal(s))
                            )
                        };
                        match (shown.first(), shown.last()) {
                            (Some(a), Some(z)) => format!("{} → {}", say(a), say(z)),
                            _ => String::new(),
                        }
                    })
                    .unwrap_or_default();
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
                    score: lang.decimal(score),
                    score_key: format!("{score:.2}"),
                    score_ci_title: lang.t(
                        "score_interval",
                        &[("lo", &lang.decimal(lo)), ("hi", &lang.decimal(hi))],
                    ),
                    ci_left: format!("{lo:.1}"),
                    ci_width: format!("{:.1}", (hi - lo).max(0.5)),
                    ci_point: format!("{score:.1}"),
                    a1: lang.pct(b.answered_1h),
                    a1_key: key(b.answered_1h),
                    a24: lang.pct(b.answered_24h),
                    a24_key: key(b.answered_24h),
                    median: lang.duration(b.median_reply_s),
                    median_key: b.median_reply_s.map_or(String::new(), |s| s.to_string()),
                    complaints: lang.int(b.complaints),
                    n: b.complaints,
                    spark: charts::sparkline(&history, &spark_title),
                }
            })
            .collect()
    }

    /// Coverage statements of the sources behind `brands`, as resolved for the leaderboard; a
    /// built-in wording in this language's translation when it has one.
    fn coverage(&self, lang: &Lang, brands: &[&BrandEntry]) -> Vec<String> {
        let used: BTreeSet<&str> = brands
            .iter()
            .flat_map(|b| b.sources.iter().map(String::as_str))
            .collect();
        self.lb
            .sources
            .iter()
            .filter(|s| used.contains(s.name.as_str()))
            .map(|s| {
                crate::source::wording_key(&s.name, &s.coverage)
                    .and_then(|k| lang.strings.get(k))
                    .unwrap_or(&s.coverage)
                    .clone()
            })
            .collect()
    }

    fn table_page(
        &self,
        lang: &Lang,
        page: &str,
        brands: &[&BrandEntry],
        heading: String,
        filters: bool,
        limit: Option<usize>,
    ) -> Result<Vec<u8>> {
        let ranked: Vec<&BrandEntry> = brands.iter().copied().filter(|b| b.eligible).collect();
        let ranks =
            crate::score::competition_ranks(&ranked.iter().map(|b| b.score).collect::<Vec<_>>());
        let with_rank: Vec<(&BrandEntry, usize)> = ranked.iter().copied().zip(ranks).collect();
        let root = format!(
            "{}{}",
            rel_root(&format!("{}{page}", lang.prefix)),
            lang.prefix
        );
        let complaints: usize = brands.iter().map(|b| b.complaints).sum();
        let as_of = crate::time::parse_rfc3339(&self.lb.as_of).unwrap_or(0);
        let from = crate::time::parse_rfc3339(&self.lb.window.from).unwrap_or(0);
        let categories: BTreeSet<&str> = ranked.iter().map(|b| b.category.as_str()).collect();
        let countries: BTreeSet<&str> = ranked.iter().map(|b| b.country.as_str()).collect();
        let lead = lang.t(
            "leaderboard_lead",
            &[
                ("ranked", &lang.int(ranked.len())),
                ("complaints", &lang.int(complaints)),
                ("from", &lang.date(from)),
                ("to", &lang.date(as_of)),
            ],
        );
        let page_data = TablePage {
            lead: lead.clone(),
            coverage: self.coverage(lang, brands),
            filters,
            categories: categories
                .iter()
                .map(|c| Named {
                    id: c.to_string(),
                    name: lang.category(c),
                })
                .collect(),
            countries: countries.iter().map(|c| c.to_string()).collect(),
            more: limit.filter(|&n| with_rank.len() > n).map(|n| {
                (
                    format!("{root}ranking/index.html"),
                    lang.t(
                        "more_ranked",
                        &[
                            ("shown", &n.to_string()),
                            ("ranked", &with_rank.len().to_string()),
                        ],
                    ),
                )
            }),
            rows: self.rows(
                lang,
                page,
                &with_rank[..limit.unwrap_or(usize::MAX).min(with_rank.len())],
            ),
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
            heading: heading.clone(),
        };
        let base = self.base(lang, page, heading, lead);
        self.render(
            if page == "index.html" || page == "ranking/index.html" {
                "index.html"
            } else {
                "list.html"
            },
            &base,
            &page_data,
        )
    }
}

#[derive(Serialize)]
struct Figure {
    label: String,
    value: String,
    interval: Option<String>,
}

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

impl Ctx<'_> {
    fn finding(&self, lang: &Lang, b: &BrandEntry) -> String {
        match (b.answered_24h, b.median_reply_s) {
            (Some(a24), Some(m)) => lang.t(
                "finding",
                &[
                    ("name", &b.name),
                    ("a24", &lang.pct(Some(a24))),
                    ("median", &lang.duration(Some(m))),
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

    fn brand_page(&self, lang: &Lang, b: &BrandEntry) -> Result<Vec<u8>> {
        let page = format!("brand/{}/index.html", b.id);
        let root = format!(
            "{}{}",
            rel_root(&format!("{}{page}", lang.prefix)),
            lang.prefix
        );
        let as_of = crate::time::parse_rfc3339(&self.lb.as_of).unwrap_or(0);
        let from = crate::time::parse_rfc3339(&self.lb.window.from).unwrap_or(0);
        let ranked: Vec<&BrandEntry> = self.lb.brands.iter().filter(|x| x.eligible).collect();
        let ranking = match (b.rank, b.rank_interval) {
            (Some(r), Some([best, worst])) => lang.t(
                "ranked_overall",
                &[
                    ("rank", &r.to_string()),
                    ("n", &ranked.len().to_string()),
                    ("best", &best.to_string()),
                    ("worst", &worst.to_string()),
                ],
            ),
            _ => lang.t(
                "not_ranked",
                &[("reason", b.unranked_reason.as_deref().unwrap_or(""))],
            ),
        };
        let category_ranking = b.rank.map(|_| {
            let peers: Vec<&&BrandEntry> =
                ranked.iter().filter(|x| x.category == b.category).collect();
            let ranks =
                crate::score::competition_ranks(&peers.iter().map(|x| x.score).collect::<Vec<_>>());
            let mine = peers
                .iter()
                .position(|x| x.id == b.id)
                .map_or(0, |i| ranks[i]);
            lang.t(
                "ranked_category",
                &[
                    ("rank", &mine.to_string()),
                    ("n", &peers.len().to_string()),
                    ("category", &lang.category(&b.category)),
                ],
            )
        });
        let interval = |ci: Option<[f64; 2]>, f: &dyn Fn(f64) -> String| {
            ci.map(|[lo, hi]| lang.t("score_interval", &[("lo", &f(lo)), ("hi", &f(hi))]))
        };
        let figures = vec![
            Figure {
                label: lang.t("fig_score", &[]),
                value: b
                    .score
                    .map_or(lang.t("not_available", &[]), |s| lang.decimal(s)),
                interval: interval(b.score_ci, &|x| lang.decimal(x)),
            },
            Figure {
                label: lang.t("fig_answered_1h", &[]),
                value: lang.pct(b.answered_1h),
                interval: None,
            },
            Figure {
                label: lang.t("fig_answered_24h", &[]),
                value: lang.pct(b.answered_24h),
                interval: interval(b.answered_24h_ci, &|x| lang.pct(Some(x))),
            },
            Figure {
                label: lang.t("fig_median", &[]),
                value: lang.duration(b.median_reply_s),
                interval: None,
            },
            Figure {
                label: lang.t("fig_p90", &[]),
                value: lang.duration(b.p90_reply_s),
                interval: None,
            },
            Figure {
                label: lang.t("fig_complaints", &[]),
                value: lang.int(b.complaints),
                interval: None,
            },
            Figure {
                label: lang.t("fig_answered", &[("date", &lang.date(as_of))]),
                value: lang.int(b.answered),
                interval: None,
            },
        ];
        let mut charts_out = Vec::new();
        if let Some(d) = self.lb.details.get(&b.id) {
            let waiting_at = |t: i64| d.still_waiting.iter().find(|p| p.0 == t).map(|p| p.1);
            let title = lang.t("chart_km_title", &[]);
            let desc = lang.t(
                "chart_km_desc",
                &[
                    ("name", &b.name),
                    ("w1", &lang.pct(waiting_at(3600))),
                    ("w24", &lang.pct(waiting_at(86_400))),
                    ("complaints", &lang.int(b.complaints)),
                    ("from", &lang.date(from)),
                    ("to", &lang.date(as_of)),
                ],
            );
            let tick = |t: i64| lang.duration(Some(t)).replace('\u{a0}', " ");
            let svg = charts::still_waiting(
                &d.still_waiting,
                &tick,
                &Labels {
                    id: "km",
                    title: &title,
                    desc: &desc,
                    x: &lang.t("time_after", &[]),
                    y: &lang.t("still_waiting", &[]),
                },
            )?;
            charts_out.push(Chart {
                title,
                desc,
                svg,
                head: vec![lang.t("time_after", &[]), lang.t("still_waiting", &[])],
                rows: d
                    .still_waiting
                    .iter()
                    .map(|&(t, s)| vec![lang.duration(Some(t)), lang.pct(Some(s))])
                    .collect(),
            });
            let bin_names = [
                "bin_5min",
                "bin_15min",
                "bin_1h",
                "bin_3h",
                "bin_24h",
                "bin_more",
                "bin_waiting",
            ];
            debug_assert_eq!(bin_names.len(), REPLY_BINS.len() + 1);
            let values: Vec<(String, f64)> = bin_names
                .iter()
                .zip(&d.reply_times)
                .map(|(k, &n)| (lang.t(k, &[]), n as f64))
                .collect();
            let title = lang.t("chart_dist_title", &[]);
            let desc = lang.t(
                "chart_dist_desc",
                &[
                    ("name", &b.name),
                    ("complaints", &lang.int(b.complaints)),
                    ("fast", &lang.int(d.reply_times[0] + d.reply_times[1])),
                    ("waiting", &lang.int(d.reply_times[REPLY_BINS.len()])),
                    ("date", &lang.date(as_of)),
                ],
            );
            let svg = charts::bars(
                &values,
                &Labels {
                    id: "dist",
                    title: &title,
                    desc: &desc,
                    x: "",
                    y: &lang.t("col_complaints", &[]),
                },
            )?;
            charts_out.push(Chart {
                title,
                desc,
                svg,
                head: vec![lang.t("time_after", &[]), lang.t("col_complaints", &[])],
                rows: values
                    .iter()
                    .map(|(k, v)| vec![k.clone(), lang.int(*v as usize)])
                    .collect(),
            });
        }
        if let Some(h) = self.lb.history.get(&b.id).filter(|h| !h.is_empty()) {
            let months: Vec<String> = h.iter().map(|m| lang.month(&m.month)).collect();
            let title = lang.t("chart_history_title", &[]);
            let desc = lang.t(
                "chart_history_desc",
                &[
                    ("name", &b.name),
                    ("first", &months[0]),
                    ("last", &months[months.len() - 1]),
                ],
            );
            let scores: Vec<(String, Option<f64>)> = months
                .iter()
                .cloned()
                .zip(h.iter().map(|m| m.score))
                .collect();
            let svg = charts::line(
                &scores,
                &Labels {
                    id: "hist",
                    title: &title,
                    desc: &desc,
                    x: &lang.t("month", &[]),
                    y: &lang.t("col_score", &[]),
                },
            )?;
            let rows = h
                .iter()
                .zip(&months)
                .map(|(m, name)| {
                    vec![
                        name.clone(),
                        lang.int(m.complaints),
                        lang.pct(m.answered_1h),
                        lang.pct(m.answered_24h),
                        lang.duration(m.median_reply_s),
                        m.score
                            .map_or(lang.t("not_available", &[]), |s| lang.decimal(s)),
                    ]
                })
                .collect();
            charts_out.push(Chart {
                title,
                desc,
                svg,
                head: [
                    "month",
                    "col_complaints",
                    "col_answered_1h",
                    "col_answered_24h",
                    "col_median",
                    "col_score",
                ]
                .iter()
                .map(|k| lang.t(k, &[]))
                .collect(),
                rows,
            });
            let volume: Vec<(String, f64)> = months
                .iter()
                .cloned()
                .zip(h.iter().map(|m| m.complaints as f64))
                .collect();
            let title = lang.t("chart_volume_title", &[]);
            let total: usize = h.iter().map(|m| m.complaints).sum();
            let peak = h.iter().map(|m| m.complaints).max().unwrap_or(0);
            let desc = lang.t(
                "chart_volume_desc",
                &[
                    ("name", &b.name),
                    ("total", &lang.int(total)),
                    ("first", &months[0]),
                    ("last", &months[months.len() - 1]),
                    ("peak", &lang.int(peak)),
                ],
            );
            let svg = charts::bars(
                &volume,
                &Labels {
                    id: "vol",
                    title: &title,
                    desc: &desc,
                    x: &lang.t("month", &[]),
                    y: &lang.t("col_complaints", &[]),
                },
            )?;
            charts_out.push(Chart {
                title,
                desc,
                svg,
                head: vec![lang.t("month", &[]), lang.t("col_complaints", &[])],
                rows: h
                    .iter()
                    .zip(&months)
                    .map(|(m, n)| vec![n.clone(), lang.int(m.complaints)])
                    .collect(),
            });
        }
        let base_url = &self.config.base_url;
        let badge_url = format!("{base_url}{}badge/{}.svg", lang.prefix, b.id);
        let embed_url = format!("{base_url}{}embed/{}/", lang.prefix, b.id);
        let finding = self.finding(lang, b);
        let data = BrandPage {
            brand: b,
            ranking,
            category_ranking,
            coverage: self.coverage(lang, &[b]),
            figures,
            charts: charts_out,
            badge_href: format!("{root}badge/{}.svg", b.id),
            badge_alt: badge_text(lang, b),
            badge_snippet: format!(
                "<a href=\"{}\"><img src=\"{badge_url}\" alt=\"{}\"></a>",
                pretty(base_url, &format!("{}{page}", lang.prefix)),
                escape(&badge_text(lang, b))
            ),
            embed_snippet: format!(
                "<iframe src=\"{embed_url}\" title=\"{}\" width=\"420\" height=\"240\" style=\"border:0\"></iframe>",
                escape(&b.name)
            ),
            json_href: format!(
                "{}data/brands/{}.json",
                rel_root(&format!("{}{page}", lang.prefix)),
                b.id
            ),
            finding: finding.clone(),
        };
        let base = self.base(lang, &page, b.name.clone(), finding);
        self.render("brand.html", &base, &data)
    }
}

fn badge_text(lang: &Lang, b: &BrandEntry) -> String {
    let value = match b.answered_24h {
        Some(a) if b.complaints > 0 => lang.t("badge_value", &[("a24", &lang.pct(Some(a)))]),
        _ => lang.t("badge_none", &[]),
    };
    format!("{} · {value}", lang.t("badge_label", &[]))
}

#[derive(Serialize)]
struct EmbedPage<'a> {
    brand: &'a BrandEntry,
    finding: String,
    score_line: String,
    coverage_short: String,
    brand_url: String,
}

#[derive(Serialize)]
struct BodyPage {
    body: String,
}

#[derive(Serialize)]
struct DataPage {
    brands: Vec<DataLink>,
}

#[derive(Serialize)]
struct DataLink {
    id: String,
    href: String,
}

#[derive(Serialize)]
struct Empty {}

/// All pages of every language, and the assets.
pub fn render(ctx: &Ctx) -> Result<Site> {
    let mut site = Site::new();
    for (name, bytes) in ctx.assets {
        site.insert(name.to_string(), bytes.clone());
    }
    for lang in ctx.langs {
        let p = &lang.prefix;
        let all: Vec<&BrandEntry> = ctx.lb.brands.iter().collect();
        site.insert(
            format!("{p}index.html"),
            ctx.table_page(
                lang,
                "index.html",
                &all,
                lang.t("leaderboard_title", &[]),
                true,
                Some(ctx.config.leaderboard_rows),
            )?,
        );
        site.insert(
            format!("{p}ranking/index.html"),
            ctx.table_page(
                lang,
                "ranking/index.html",
                &all,
                lang.t("ranking_title", &[]),
                true,
                None,
            )?,
        );
        let brand_pages: Vec<(String, Vec<u8>)> = ctx
            .lb
            .brands
            .par_iter()
            .map(|b| -> Result<Vec<(String, Vec<u8>)>> {
                let embed = EmbedPage {
                    brand: b,
                    finding: ctx.finding(lang, b),
                    score_line: format!(
                        "{} {} · {} {}",
                        lang.t("col_score", &[]),
                        b.score
                            .map_or(lang.t("not_available", &[]), |s| lang.decimal(s)),
                        lang.t("col_answered_1h", &[]),
                        lang.pct(b.answered_1h)
                    ),
                    coverage_short: ctx.coverage(lang, &[b]).join(" "),
                    brand_url: pretty(
                        &ctx.config.base_url,
                        &format!("{p}brand/{}/index.html", b.id),
                    ),
                };
                let embed_page = format!("embed/{}/index.html", b.id);
                let base = ctx.base(lang, &embed_page, b.name.clone(), String::new());
                let badge_value = match b.answered_24h {
                    Some(a) if b.complaints > 0 => {
                        lang.t("badge_value", &[("a24", &lang.pct(Some(a)))])
                    }
                    _ => lang.t("badge_none", &[]),
                };
                Ok(vec![
                    (
                        format!("{p}brand/{}/index.html", b.id),
                        ctx.brand_page(lang, b)?,
                    ),
                    (
                        format!("{p}{embed_page}"),
                        ctx.render("embed.html", &base, &embed)?,
                    ),
                    (
                        format!("{p}badge/{}.svg", b.id),
                        charts::badge(
                            &lang.t("badge_label", &[]),
                            &badge_value,
                            if b.complaints > 0 {
                                b.answered_24h
                            } else {
                                None
                            },
                        )
                        .into_bytes(),
                    ),
                ])
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        site.extend(brand_pages);
        let categories: BTreeSet<&str> =
            ctx.lb.brands.iter().map(|b| b.category.as_str()).collect();
        for c in categories {
            let members: Vec<&BrandEntry> =
                ctx.lb.brands.iter().filter(|b| b.category == c).collect();
            let page = format!("category/{c}/index.html");
            let heading = lang.t("category_title", &[("category", &lang.category(c))]);
            site.insert(
                format!("{p}{page}"),
                ctx.table_page(lang, &page, &members, heading, false, None)?,
            );
        }
        let countries: BTreeSet<&str> = ctx.lb.brands.iter().map(|b| b.country.as_str()).collect();
        for cc in countries {
            let members: Vec<&BrandEntry> =
                ctx.lb.brands.iter().filter(|b| b.country == cc).collect();
            let page = format!("country/{}/index.html", cc.to_ascii_lowercase());
            let heading = lang.t("country_title", &[("country", cc)]);
            site.insert(
                format!("{p}{page}"),
                ctx.table_page(lang, &page, &members, heading, false, None)?,
            );
        }
        let page = "methodology/index.html";
        let base = ctx.base(
            lang,
            page,
            ctx.methodology.title.clone(),
            lang.t("tagline", &[]),
        );
        site.insert(
            format!("{p}{page}"),
            ctx.render(
                "page.html",
                &base,
                &BodyPage {
                    body: ctx.methodology.html.clone(),
                },
            )?,
        );
        let page = "data/index.html";
        let base = ctx.base(
            lang,
            page,
            lang.t("data_title", &[]),
            lang.t("data_lead", &[]),
        );
        let links = ctx
            .lb
            .brands
            .iter()
            .map(|b| DataLink {
                id: b.id.clone(),
                href: format!(
                    "{}data/brands/{}.json",
                    rel_root(&format!("{p}{page}")),
                    b.id
                ),
            })
            .collect();
        site.insert(
            format!("{p}{page}"),
            ctx.render("data.html", &base, &DataPage { brands: links })?,
        );
        // The 404 page is served at any depth: its links are absolute.
        let mut base = ctx.base(
            lang,
            "404.html",
            lang.t("not_found_title", &[]),
            lang.t("not_found_text", &[]),
        );
        absolutise(&mut base, &ctx.config.base_url, p);
        site.insert(
            format!("{p}404.html"),
            ctx.render("404.html", &base, &Empty {})?,
        );
    }
    Ok(site)
}

fn absolutise(base: &mut Base, base_url: &str, prefix: &str) {
    base.root = base_url.to_string();
    base.home = format!("{base_url}{prefix}");
    base.links = NavLinks {
        methodology: format!("{base_url}{prefix}methodology/"),
        data: format!("{base_url}{prefix}data/"),
        archive: format!("{base_url}{prefix}archive/"),
    };
    for a in &mut base.alternates {
        a.href = a.url.clone();
    }
}

/// The page a snapshot's archive link opens: a pointer back to the live archive.
pub fn archive_redirect(ctx: &Ctx, lang: &Lang) -> Result<Vec<u8>> {
    let path = format!("archive/{}/{}archive/index.html", ctx.snapshot, lang.prefix);
    let target = format!("{}{}archive/index.html", rel_root(&path), lang.prefix);
    Ok(format!(
        "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><title>{}</title><meta http-equiv=\"refresh\" content=\"0; url={target}\"><p><a href=\"{target}\">{}</a></p></html>\n",
        lang.code,
        escape(&lang.t("archive_title", &[])),
        escape(&lang.t("archive_title", &[]))
    )
    .into_bytes())
}

/// The downloads: leaderboard JSON and CSV, one JSON per brand, and a README.
pub fn downloads(ctx: &Ctx, site: &mut Site) -> Result<()> {
    let lb = ctx.lb;
    let mut json = serde_json::to_string_pretty(lb)?;
    json.push('\n');
    site.insert("data/leaderboard.json".into(), json.into_bytes());
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "rank",
        "rank_best",
        "rank_worst",
        "id",
        "name",
        "category",
        "country",
        "complaints",
        "answered",
        "answered_1h",
        "answered_24h",
        "answered_24h_lo",
        "answered_24h_hi",
        "median_reply_s",
        "p90_reply_s",
        "score",
        "score_lo",
        "score_hi",
        "eligible",
        "sources",
        "as_of",
    ])?;
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    let opt_i = |x: Option<i64>| x.map_or(String::new(), |v| v.to_string());
    for b in &lb.brands {
        let ci = b.answered_24h_ci;
        let sci = b.score_ci;
        let ri = b.rank_interval;
        csv.write_record([
            b.rank.map_or(String::new(), |r| r.to_string()),
            ri.map_or(String::new(), |r| r[0].to_string()),
            ri.map_or(String::new(), |r| r[1].to_string()),
            b.id.clone(),
            b.name.clone(),
            b.category.clone(),
            b.country.clone(),
            b.complaints.to_string(),
            b.answered.to_string(),
            opt(b.answered_1h),
            opt(b.answered_24h),
            opt(ci.map(|c| c[0])),
            opt(ci.map(|c| c[1])),
            opt_i(b.median_reply_s),
            opt_i(b.p90_reply_s),
            opt(b.score),
            opt(sci.map(|c| c[0])),
            opt(sci.map(|c| c[1])),
            b.eligible.to_string(),
            b.sources.join(" "),
            lb.as_of.clone(),
        ])?;
    }
    site.insert(
        "data/leaderboard.csv".into(),
        csv.into_inner().map_err(|e| anyhow!("{e}"))?,
    );
    #[derive(Serialize)]
    struct BrandFile<'a> {
        schema: &'static str,
        as_of: &'a str,
        window: &'a crate::score::Window,
        brand: &'a BrandEntry,
        history: Option<&'a Vec<crate::score::MonthEntry>>,
        still_waiting: Option<&'a Vec<(i64, f64)>>,
        reply_time_bins_s: [i64; 6],
        reply_times: Option<&'a Vec<usize>>,
    }
    for b in &lb.brands {
        let d = lb.details.get(&b.id);
        let file = BrandFile {
            schema: "replyrank.brand/1",
            as_of: &lb.as_of,
            window: &lb.window,
            brand: b,
            history: lb.history.get(&b.id),
            still_waiting: d.map(|d| &d.still_waiting),
            reply_time_bins_s: REPLY_BINS,
            reply_times: d.map(|d| &d.reply_times),
        };
        let mut json = serde_json::to_string_pretty(&file)?;
        json.push('\n');
        site.insert(format!("data/brands/{}.json", b.id), json.into_bytes());
    }
    let coverage: Vec<String> = lb
        .sources
        .iter()
        .map(|s| format!("- {}: {}", s.name, s.coverage))
        .collect();
    let readme = format!(
        "replyrank data, as of {as_of}\n\n\
Files\n- leaderboard.csv: one row per brand (rank, intervals, shares, reply times in seconds, score).\n\
- leaderboard.json: the same with monthly history, sources and data quality (schema replyrank.leaderboard/1).\n\
- brands/<id>.json: one brand with its history, its Kaplan-Meier curve (still_waiting: [seconds, share]) and reply-time counts.\n\n\
Method\nMethod version 1: {base}methodology/ . Complaints made from {from} to {to}; ranked with at least {min} complaints;\n\
{boot} bootstrap resamples, seed {seed}.\n\n\
What this data cannot see\n{coverage}\n\n\
Licences\nThe figures are derived from the sources above. Figures derived from \"Customer Support on Twitter\"\n\
(ThoughtVector, Kaggle) are shared under CC BY-NC-SA 4.0: attribute it, non-commercial use, same licence.\n\
No customer's words, handle or id are published: only counts about brands.\n\n\
How to cite\n{publisher}, \"{title}\", as of {date}. {base}archive/{date}/ (method version 1).\n\
Every snapshot stays available at that dated address.\n",
        as_of = lb.as_of,
        base = ctx.config.base_url,
        from = lb.window.from,
        to = lb.window.to,
        min = lb.method.min_complaints,
        boot = lb.method.bootstrap,
        seed = lb.method.seed,
        coverage = coverage.join("\n"),
        publisher = ctx.config.publisher,
        title = ctx.config.title,
        date = ctx.snapshot,
    );
    site.insert("data/README.txt".into(), readme.into_bytes());
    Ok(())
}

/// A snapshot already written: its date and its leaderboard.
pub struct Snapshot {
    pub date: String,
    pub scores: BTreeMap<String, (String, f64)>,
}

/// The snapshots under `<out>/archive/`, oldest first.
pub fn snapshots(out: &Path) -> Result<Vec<Snapshot>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(out.join("archive")) else {
        return Ok(found);
    };
    for entry in entries {
        let path = entry?.path();
        let Some(date) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let file = path.join("data/leaderboard.json");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let scores = v["brands"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["eligible"] == true)
            .filter_map(|b| {
                Some((
                    b["id"].as_str()?.to_string(),
                    (b["name"].as_str()?.to_string(), b["score"].as_f64()?),
                ))
            })
            .collect();
        found.push(Snapshot { date, scores });
    }
    found.sort_by(|a, b| a.date.cmp(&b.date));
    Ok(found)
}

#[derive(Serialize)]
struct SnapshotLink {
    date: String,
    href: String,
}

#[derive(Serialize)]
struct ArchivePage {
    snapshots: Vec<SnapshotLink>,
}

/// The archive pages, the Atom feed (an entry per snapshot naming its biggest moves), the
/// sitemap and robots.txt.
pub fn archive_and_feeds(
    ctx: &Ctx,
    snapshots: &[Snapshot],
    site: &Site,
    out: &mut Site,
) -> Result<()> {
    let base_url = &ctx.config.base_url;
    for lang in ctx.langs {
        let page = "archive/index.html";
        let root = rel_root(&format!("{}{page}", lang.prefix));
        let base = ctx.base(
            lang,
            page,
            lang.t("archive_title", &[]),
            lang.t("archive_lead", &[]),
        );
        let links = snapshots
            .iter()
            .rev()
            .map(|s| SnapshotLink {
                date: s.date.clone(),
                href: format!("{root}archive/{}/{}index.html", s.date, lang.prefix),
            })
            .collect();
        out.insert(
            format!("{}{page}", lang.prefix),
            ctx.render("archive.html", &base, &ArchivePage { snapshots: links })?,
        );
    }
    let en = &ctx.langs[0];
    let mut entries = String::new();
    for (i, s) in snapshots.iter().enumerate().rev() {
        let moves = match i.checked_sub(1).map(|j| &snapshots[j]) {
            None => "First snapshot.".to_string(),
            Some(prev) => {
                let mut d: Vec<(f64, &str)> = s
                    .scores
                    .iter()
                    .filter_map(|(id, (name, score))| {
                        prev.scores
                            .get(id)
                            .map(|(_, old)| (score - old, name.as_str()))
                    })
                    .collect();
                d.sort_by(|a, b| b.0.abs().total_cmp(&a.0.abs()).then_with(|| a.1.cmp(b.1)));
                let named: Vec<String> = d
                    .iter()
                    .take(3)
                    .map(|(x, n)| format!("{n} {x:+.1}"))
                    .collect();
                if named.is_empty() {
                    "No brand ranked in both snapshots.".into()
                } else {
                    format!("Biggest moves since {}: {}.", prev.date, named.join(", "))
                }
            }
        };
        let url = format!("{base_url}archive/{}/", s.date);
        entries.push_str(&format!(
            "<entry><title>{} {}</title><id>{url}</id><link href=\"{url}\"/><updated>{}T00:00:00Z</updated><summary>{}</summary></entry>\n",
            escape(&ctx.config.title),
            escape(&en.t("as_of", &[("date", &s.date)])),
            s.date,
            escape(&moves)
        ));
    }
    let updated = snapshots
        .last()
        .map_or(ctx.snapshot.to_string(), |s| s.date.clone());
    out.insert(
        "atom.xml".into(),
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{}</title><id>{base_url}</id><link href=\"{base_url}\"/><link rel=\"self\" href=\"{base_url}atom.xml\"/><updated>{updated}T00:00:00Z</updated><author><name>{}</name></author>\n{entries}</feed>\n",
            escape(&ctx.config.title),
            escape(&ctx.config.publisher)
        )
        .into_bytes(),
    );
    let mut sitemap = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for path in site
        .keys()
        .chain(out.keys())
        .filter(|p| p.ends_with(".html") && !p.ends_with("404.html") && !p.contains("embed/"))
    {
        sitemap.push_str(&format!(
            "<url><loc>{}</loc><lastmod>{}</lastmod></url>\n",
            escape(&pretty(base_url, path)),
            ctx.snapshot
        ));
    }
    sitemap.push_str("</urlset>\n");
    out.insert("sitemap.xml".into(), sitemap.into_bytes());
    out.insert(
        "robots.txt".into(),
        format!("User-agent: *\nAllow: /\nSitemap: {base_url}sitemap.xml\n").into_bytes(),
    );
    Ok(())
}
