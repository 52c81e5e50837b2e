//! What a build writes about its snapshots and pages: the archive pages, the pointer from a
//! snapshot back to the live archive, the Atom feed (an entry per snapshot naming its biggest
//! moves), the sitemap and robots.txt. Each is a built-in template a site can override.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::Site;
use super::lang::Lang;
use super::view::{View, pretty, rel_root};
use crate::score::Leaderboard;

/// A snapshot already written: its date and the scores of its ranked brands.
pub struct Snapshot {
    pub date: String,
    /// The method version its figures follow.
    pub version: crate::method::Version,
    /// Brand id → (name, score).
    pub scores: BTreeMap<String, (String, f64)>,
}

/// The snapshots under `<out>/archive/`, oldest first. A directory without a readable
/// `data/leaderboard.json` is not a snapshot; one whose leaderboard is damaged is an error.
pub fn snapshots(out: &Path) -> Result<Vec<Snapshot>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(out.join("archive")) else {
        return Ok(found);
    };
    for entry in entries {
        let path = entry?.path();
        let Some(date) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let file = path.join("data/leaderboard.json");
        if !file.is_file() {
            continue;
        }
        let lb = Leaderboard::read(&file)?;
        let scores = lb
            .ranked()
            .filter_map(|b| Some((b.id.clone(), (b.name.clone(), b.score?))))
            .collect();
        found.push(Snapshot {
            date: date.to_string(),
            version: lb.method.version,
            scores,
        });
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

#[derive(Serialize)]
struct FeedEntry {
    title: String,
    date: String,
    url: String,
    summary: String,
}

/// The biggest score moves of a snapshot since the one before, in words.
fn moves(lang: &Lang, s: &Snapshot, prev: Option<&Snapshot>) -> String {
    let Some(prev) = prev else {
        return lang.t("feed_first", &[]);
    };
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
            &[("date", &prev.date), ("moves", &named.join(", "))],
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

    /// The archive pages, the Atom feed, the sitemap (of `site` and these) and robots.txt.
    pub fn archive_and_feeds(&self, snapshots: &[Snapshot], site: &Site) -> Result<Site> {
        let mut out = Site::new();
        let base_url = self.address();
        for lang in self.langs {
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
                })
                .collect();
            out.insert(
                format!("{}{page}", lang.prefix),
                self.render("archive.html", &base, &ArchivePage { snapshots: links })?,
            );
        }
        // The feed and the site-wide files speak the site's first language.
        let first = &self.langs[0];
        let entries: Vec<FeedEntry> = snapshots
            .iter()
            .enumerate()
            .rev()
            .map(|(i, s)| FeedEntry {
                title: first.t("as_of", &[("date", &s.date)]),
                date: s.date.clone(),
                url: format!("{base_url}archive/{}/", s.date),
                summary: moves(first, s, i.checked_sub(1).map(|j| &snapshots[j])),
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
            .filter(|p| p.ends_with(".html") && !p.ends_with("404.html") && !p.contains("embed/"))
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
