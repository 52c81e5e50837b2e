//! The static site: [`render`] turns a scored [`Leaderboard`] into every page, chart and
//! download, and writes them into the output directory with a dated snapshot under
//! `archive/<as-of date>/`. It never reads the store: `replyrank build` scores first
//! (`crate::pipeline`), then renders.
//!
//! The render is a fixed sequence of steps (load templates, translations and content → render
//! pages → downloads → write, keeping earlier snapshots → archive, feeds, sitemap), each timed
//! with `--verbose`. Every internal link is relative and names its file
//! (`brand/x/index.html`), so the site works under any sub-path and when opened from disk. Only
//! counts and brand data reach the site: the renderer never sees a post, an author or a
//! customer id.

mod brand;
mod charts;
mod downloads;
mod feeds;
pub mod lang;
mod links;
mod lists;
mod methodology;
mod pages;
mod view;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;

pub use links::check_links;
pub use methodology::check_worked_example;
pub use view::figure;

use crate::config::Config;
use crate::pipeline::Steps;
use crate::root::SiteRoot;
use crate::score::{BrandEntry, Leaderboard};
use lang::Lang;
use lists::Scope;
use view::View;

/// Loads the templates of a site root (its own, else the built-in ones), its assets and its
/// methodology page, reporting the first error.
pub fn check_templates(root: &SiteRoot) -> Result<()> {
    view::templates(root)?;
    view::assets(root)?;
    methodology::load(root)?;
    Ok(())
}

/// The languages of a site, first one at the root.
pub fn languages(root: &SiteRoot, config: &Config) -> Result<Vec<Lang>> {
    config
        .languages
        .iter()
        .enumerate()
        .map(|(i, code)| Lang::load(root, code, i == 0))
        .collect()
}

/// Writes a file as a new file: an existing one is unlinked first, so hard links to it (earlier
/// snapshots) keep the old content.
fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    remove_if_present(path)?;
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot replace {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Removes files under `dir` that are not in `keep`, leaving `archive` (earlier snapshots)
/// alone, and directories left empty.
fn remove_stale(
    dir: &Path,
    archive: &Path,
    keep: &std::collections::HashSet<PathBuf>,
) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path == archive {
            continue;
        }
        if path.is_dir() {
            remove_stale(&path, archive, keep)?;
            if std::fs::read_dir(&path)?.next().is_none() {
                std::fs::remove_dir(&path)?;
            }
        } else if !keep.contains(&path) && !is_extra(&path) {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// Files written after the pages (archive pages, feed, sitemap): rewritten, not stale.
fn is_extra(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n == "atom.xml" || n == "sitemap.xml" || n == "robots.txt")
}

/// What a build wrote.
pub struct Report {
    pub output: PathBuf,
    pub files: usize,
    pub pages: usize,
    pub snapshot: String,
    pub ranked: usize,
}

/// Files of the site: path relative to the output root → content.
pub type Site = BTreeMap<String, Vec<u8>>;

/// Every page of every language, and the assets.
fn pages(view: &View, assets: Vec<(&'static str, Vec<u8>)>) -> Result<Site> {
    let mut site: Site = assets
        .into_iter()
        .map(|(name, bytes)| (name.to_string(), bytes))
        .collect();
    let lb = view.lb;
    let all: Vec<&BrandEntry> = lb.brands.iter().collect();
    for lang in view.langs {
        let p = &lang.prefix;
        let leaderboard = lang.t("leaderboard_title", &[]);
        let rows = Some(view.config.leaderboard_rows);
        site.insert(
            format!("{p}index.html"),
            view.table_page(lang, "index.html", &all, leaderboard, Scope::Overall, rows)?,
        );
        let page = "ranking/index.html";
        let heading = lang.t("ranking_title", &[]);
        site.insert(
            format!("{p}{page}"),
            view.table_page(lang, page, &all, heading, Scope::Overall, None)?,
        );
        let brand_pages: Vec<Vec<(String, Vec<u8>)>> = lb
            .brands
            .par_iter()
            .map(|b| -> Result<_> {
                Ok(vec![
                    (
                        format!("{p}brand/{}/index.html", b.id),
                        view.brand_page(lang, b)?,
                    ),
                    (
                        format!("{p}embed/{}/index.html", b.id),
                        view.embed_page(lang, b)?,
                    ),
                    (format!("{p}badge/{}.svg", b.id), view.badge(lang, b)),
                ])
            })
            .collect::<Result<_>>()?;
        site.extend(brand_pages.into_iter().flatten());
        for scope in [Scope::Category, Scope::Country] {
            let values: BTreeSet<&str> = lb.brands.iter().map(|b| scope.group(b)).collect();
            for v in values {
                let members: Vec<&BrandEntry> =
                    lb.brands.iter().filter(|b| scope.group(b) == v).collect();
                let (page, heading) = scope.page(lang, v);
                site.insert(
                    format!("{p}{page}"),
                    view.table_page(lang, &page, &members, heading, scope, None)?,
                );
            }
        }
        site.insert(
            format!("{p}methodology/index.html"),
            view.methodology_page(lang)?,
        );
        site.insert(format!("{p}data/index.html"), view.data_page(lang)?);
        site.insert(format!("{p}404.html"), view.not_found_page(lang)?);
    }
    Ok(site)
}

/// How to render.
pub struct Options {
    pub verbose: bool,
}

/// Renders the scored `lb` with the site root's templates, translations and content, and writes
/// the site into the root's output directory.
pub fn render(
    root: &SiteRoot,
    config: &Config,
    lb: &Leaderboard,
    opts: &Options,
) -> Result<Report> {
    let mut clock = Steps::new(opts.verbose);
    let langs = languages(root, config)?;
    let templates = view::templates(root)?;
    let assets = view::assets(root)?;
    let methodology = methodology::load(root)?;
    clock.step("load templates, translations and content");

    let snapshot = crate::time::format_rfc3339(lb.as_of)[..10].to_string();
    let ctx = View {
        config,
        lb,
        langs: &langs,
        templates: &templates,
        snapshot: &snapshot,
        methodology: &methodology,
    };
    let mut site = pages(&ctx, assets)?;
    clock.step("render pages and charts");
    downloads::downloads(&ctx, &mut site)?;
    clock.step("write downloads");

    // Write the site (in parallel); its dated snapshot is a set of hard links to the same files
    // (copies where the file system has none). A live file is replaced, never rewritten in
    // place, so the snapshots already linked to it keep their content. Then remove what an
    // earlier build left that this one no longer has, never touching earlier snapshots.
    let out = &root.output().to_path_buf();
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let snapshot_dir = format!("archive/{snapshot}/");
    let back: Vec<(String, Vec<u8>)> = langs
        .iter()
        .map(|lang| {
            Ok((
                format!("{snapshot_dir}{}archive/index.html", lang.prefix),
                ctx.archive_redirect(lang)?,
            ))
        })
        .collect::<Result<_>>()?;
    let mut writes: Vec<(String, &[u8])> = site
        .iter()
        .map(|(p, b)| (p.clone(), b.as_slice()))
        .collect();
    writes.extend(back.iter().map(|(p, b)| (p.clone(), b.as_slice())));
    let links: Vec<(PathBuf, PathBuf)> = site
        .keys()
        .map(|p| (out.join(p), out.join(format!("{snapshot_dir}{p}"))))
        .collect();
    let dirs: std::collections::BTreeSet<PathBuf> = writes
        .iter()
        .map(|(p, _)| out.join(p))
        .chain(links.iter().map(|(_, snap)| snap.clone()))
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    for dir in &dirs {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    {
        writes
            .par_iter()
            .try_for_each(|(path, bytes)| replace(&out.join(path), bytes))?;
        links
            .par_iter()
            .try_for_each(|(live, snap)| -> Result<()> {
                remove_if_present(snap)?;
                if std::fs::hard_link(live, snap).is_err() {
                    std::fs::copy(live, snap)
                        .with_context(|| format!("cannot write {}", snap.display()))?;
                }
                Ok(())
            })?;
    }
    let mut files = writes.len() + links.len();
    let keep: std::collections::HashSet<PathBuf> = writes
        .iter()
        .map(|(p, _)| out.join(p))
        .chain(links.iter().map(|(_, snap)| snap.clone()))
        .collect();
    remove_stale(out, &out.join("archive"), &keep)?;
    clock.step("write pages and snapshot");

    let snapshots = feeds::snapshots(out)?;
    let extra = ctx.archive_and_feeds(&snapshots, &site)?;
    for (path, bytes) in &extra {
        let p = out.join(path);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&p, bytes).with_context(|| format!("cannot write {}", p.display()))?;
        files += 1;
    }
    clock.step("archive, feed, sitemap");
    let pages = site.keys().filter(|p| p.ends_with(".html")).count();
    Ok(Report {
        output: out.clone(),
        files,
        pages,
        snapshot,
        ranked: lb.ranked().count(),
    })
}
