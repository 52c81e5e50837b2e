//! What a build writes about its snapshots and pages: the archive pages (the list of dates,
//! and a page for each thinned date), the pointer from a snapshot back to the live archive, the
//! 404 page (which sends a thinned date's deep links to the nearest snapshot kept whole), the
//! Atom feed (an entry per recent snapshot naming its biggest moves), the sitemap and
//! robots.txt. Each is a built-in template a site can override.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::Serialize;

use super::Site;
use super::lang::Lang;
use super::output::Dated;
use super::view::{View, pretty, rel_root};
use crate::method::Version;
use crate::score::Leaderboard;

/// The feed's entries: the newest snapshots (two months of daily publishing), so a build reads
/// the figures of these only, however long the archive.
pub const FEED_ENTRIES: usize = 60;

/// The figures of a snapshot the feed compares: the method version and the scores of its
/// ranked brands.
struct Figures {
    version: crate::method::Version,
    /// Brand id → (name, score).
    scores: BTreeMap<String, (String, f64)>,
}

/// Reads a snapshot's figures from its `data/leaderboard.json`, or from its
/// `data/leaderboard.csv` where it is thinned; a damaged leaderboard is an error.
fn figures(s: &Dated) -> Result<Figures> {
    let json = s.dir.join("data/leaderboard.json");
    if !json.is_file() {
        return csv_figures(&s.dir.join("data/leaderboard.csv"));
    }
    let lb = Leaderboard::read(&json)?;
    let scores = lb
        .ranked()
        .filter_map(|b| Some((b.id.clone(), (b.name.clone(), b.score?))))
        .collect();
    Ok(Figures {
        version: lb.method.version,
        scores,
    })
}

/// The figures of a `leaderboard.csv`: its method version is the one whose columns it has.
fn csv_figures(path: &std::path::Path) -> Result<Figures> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read {}", path.display()))?
        .iter()
        .map(String::from)
        .collect();
    let version = [Version::V1, Version::V2]
        .into_iter()
        .find(|v| super::downloads::csv_header(*v) == header)
        .with_context(|| {
            format!(
                "{}: its columns are not those of any method version's leaderboard.csv",
                path.display()
            )
        })?;
    let at = |name: &str| header.iter().position(|h| h == name).unwrap_or(0);
    let (id, name, score, eligible) = (at("id"), at("name"), at("score"), at("eligible"));
    let mut scores = BTreeMap::new();
    for (i, record) in reader.records().enumerate() {
        let r = record.with_context(|| format!("{}:{}", path.display(), i + 2))?;
        if &r[eligible] != "true" {
            continue;
        }
        if let Ok(x) = r[score].parse::<f64>() {
            scores.insert(r[id].to_string(), (r[name].to_string(), x));
        }
    }
    Ok(Figures { version, scores })
}

/// For each thinned date, the snapshot kept whole nearest to it in time (the later one on a
/// tie, as a quarter's last snapshot is more often nearer the date a reader cited). The one
/// rule the thinned pages and the 404 page's redirects follow.
pub fn nearest_whole(snapshots: &[Dated]) -> BTreeMap<&str, &str> {
    let day = |d: &str| crate::time::parse_as_of(d).map_or(0, |t| t.div_euclid(86_400));
    let whole: Vec<(i64, &str)> = snapshots
        .iter()
        .filter(|s| s.full)
        .map(|s| (day(&s.date), s.date.as_str()))
        .collect();
    snapshots
        .iter()
        .filter(|s| !s.full)
        .filter_map(|s| {
            let d = day(&s.date);
            let kept = whole
                .iter()
                .min_by_key(|(w, date)| ((w - d).abs(), std::cmp::Reverse(*date)))?;
            Some((s.date.as_str(), kept.1))
        })
        .collect()
}

#[derive(Serialize)]
struct SnapshotLink {
    date: String,
    href: String,
    /// Kept whole, or only its data download.
    full: bool,
}

#[derive(Serialize)]
struct ArchivePage {
    snapshots: Vec<SnapshotLink>,
}

/// The page of a thinned date.
#[derive(Serialize)]
struct ThinnedPage {
    heading: String,
    csv: String,
    nearest_text: String,
    nearest_href: String,
    archive_href: String,
}

/// What the 404 page knows of the archive: each thinned date and the snapshot its deep links
/// go to (`date=kept` pairs, space-separated, read by site.js).
#[derive(Serialize)]
struct NotFoundPage {
    redirects: String,
}

#[derive(Serialize)]
struct FeedEntry {
    title: String,
    date: String,
    url: String,
    summary: String,
}

/// The biggest score moves of a snapshot since the one before, in words.
fn moves(lang: &Lang, s: (&str, &Figures), prev: Option<(&str, &Figures)>) -> String {
    let Some((prev_date, prev)) = prev else {
        return lang.t("feed_first", &[]);
    };
    let (_, s) = s;
    if prev.version != s.version {
        // Scores of two method versions are not comparable: no "moves" between them.
        return lang.t(
            "feed_method_changed",
            &[
                ("from", &prev.version.number().to_string()),
                ("to", &s.version.number().to_string()),
            ],
        );
    }
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
        .map(|(x, n)| format!("{n} {}", lang.signed(*x)))
        .collect();
    if named.is_empty() {
        lang.t("feed_no_common", &[])
    } else {
        lang.t(
            "feed_moves",
            &[("date", prev_date), ("moves", &named.join(", "))],
        )
    }
}

impl View<'_> {
    /// The page a snapshot's archive link opens: a pointer back to the live archive.
    pub fn archive_redirect(&self, lang: &Lang) -> Result<Vec<u8>> {
        let path = format!(
            "archive/{}/{}archive/index.html",
            self.snapshot, lang.prefix
        );
        let mut context = tera::Context::new();
        context.insert("lang", &lang.code);
        context.insert("title", &lang.t("archive_title", &[]));
        context.insert(
            "target",
            &format!("{}{}archive/index.html", rel_root(&path), lang.prefix),
        );
        self.file("archive_redirect.html", &context)
    }

    /// The page of a thinned date, in `lang` (`archive/<date>/<lang>/index.html`): what is
    /// left of that day's snapshot (its data download) and the snapshot kept whole nearest to it.
    fn thinned_page(&self, lang: &Lang, date: &str, kept: &str) -> Result<Vec<u8>> {
        let words =
            crate::time::parse_as_of(date).map_or_else(|_| date.to_string(), |t| lang.date(t));
        let kept_words =
            crate::time::parse_as_of(kept).map_or_else(|_| kept.to_string(), |t| lang.date(t));
        let heading = lang.t("thinned_title", &[("date", &words)]);
        let base = self.snapshot_base(lang, date, heading.clone());
        let path = format!("archive/{date}/{}index.html", lang.prefix);
        let root = rel_root(&path);
        let page = ThinnedPage {
            heading,
            csv: format!("{root}archive/{date}/data/leaderboard.csv"),
            nearest_text: lang.t("thinned_nearest", &[("date", &kept_words)]),
            nearest_href: format!("{root}archive/{kept}/{}index.html", lang.prefix),
            archive_href: format!("{root}{}archive/index.html", lang.prefix),
        };
        self.render("thinned.html", &base, &page)
    }

    /// A page (`page`, within a language) that sends its reader to `target` (same language).
    pub fn redirect(&self, lang: &Lang, page: &str, target: &str, title: &str) -> Result<Vec<u8>> {
        let mut context = tera::Context::new();
        context.insert("lang", &lang.code);
        context.insert("title", title);
        context.insert(
            "target",
            &format!("{}{target}", View::lang_root(lang, page)),
        );
        self.file("archive_redirect.html", &context)
    }

    /// The archive pages, the thinned dates' pages, the 404 pages, the Atom feed, the sitemap
    /// (of `site` and these) and robots.txt.
    pub fn archive_and_feeds(&self, snapshots: &[Dated], site: &Site) -> Result<Site> {
        let mut out = Site::new();
        let base_url = self.address();
        let nearest = nearest_whole(snapshots);
        let redirects: Vec<String> = nearest.iter().map(|(d, k)| format!("{d}={k}")).collect();
        let not_found = NotFoundPage {
            redirects: redirects.join(" "),
        };
        for lang in self.langs {
            out.insert(
                format!("{}404.html", lang.prefix),
                self.not_found_page(lang, &not_found)?,
            );
            for (date, kept) in &nearest {
                let page = format!("archive/{date}/{}index.html", lang.prefix);
                out.insert(page.clone(), self.thinned_page(lang, date, kept)?);
            }
            let page = "archive/index.html";
            let root = rel_root(&format!("{}{page}", lang.prefix));
            let base = self.base(
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
                    full: s.full,
                })
                .collect();
            out.insert(
                format!("{}{page}", lang.prefix),
                self.render("archive.html", &base, &ArchivePage { snapshots: links })?,
            );
        }
        // The feed and the site-wide files speak the site's first language.
        let first = &self.langs[0];
        let recent = &snapshots[snapshots.len().saturating_sub(FEED_ENTRIES + 1)..];
        let figures: Vec<Figures> = recent.iter().map(figures).collect::<Result<_>>()?;
        let skip = usize::from(recent.len() > FEED_ENTRIES);
        let entries: Vec<FeedEntry> = recent
            .iter()
            .enumerate()
            .skip(skip)
            .rev()
            .map(|(i, s)| FeedEntry {
                title: first.t("as_of", &[("date", &s.date)]),
                date: s.date.clone(),
                url: format!("{base_url}archive/{}/", s.date),
                summary: moves(
                    first,
                    (&s.date, &figures[i]),
                    i.checked_sub(1)
                        .map(|j| (recent[j].date.as_str(), &figures[j])),
                ),
            })
            .collect();
        let mut context = tera::Context::new();
        context.insert("base_url", base_url);
        context.insert("has_address", &!self.config.base_url.is_empty());
        context.insert("title", &self.config.title);
        context.insert("publisher", &self.config.publisher);
        context.insert(
            "updated",
            &snapshots.last().map_or(self.snapshot, |s| s.date.as_str()),
        );
        context.insert("entries", &entries);
        out.insert("atom.xml".into(), self.file("atom.xml", &context)?);
        let urls: Vec<String> = site
            .keys()
            .chain(out.keys())
            .filter(|p| {
                p.ends_with(".html")
                    && !p.ends_with("404.html")
                    && !p.contains("embed/")
                    && (!p.starts_with("archive/") || *p == "archive/index.html")
            })
            .filter(|p| {
                site.get(*p)
                    .is_none_or(|b| !b.windows(10).any(|w| w == b"http-equiv"))
            })
            .map(|p| pretty(base_url, p))
            .collect();
        context.insert("urls", &urls);
        context.insert("lastmod", self.snapshot);
        out.insert("sitemap.xml".into(), self.file("sitemap.xml", &context)?);
        out.insert("robots.txt".into(), self.file("robots.txt", &context)?);
        Ok(out)
    }
}
