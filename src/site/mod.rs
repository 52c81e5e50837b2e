//! The static site: `replyrank build` scores the store and renders every page, chart and
//! download into the output directory, plus a dated snapshot under `archive/<as-of date>/`.
//!
//! The build is a fixed sequence of steps (score → load templates → render pages → downloads →
//! write, keeping earlier snapshots → archive, feeds, sitemap), each timed with `--verbose`.
//! Every internal link is relative and names its file (`brand/x/index.html`), so the site works
//! under any sub-path and when opened from disk. Only counts and brand data reach the site: the
//! renderer never sees a post, an author or a customer id.

mod charts;
pub mod lang;
mod links;
mod methodology;
mod pages;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub use links::check_links;
pub use methodology::check_worked_example;

use crate::config::Config;
use crate::pipeline::Steps;
use crate::root::SiteRoot;

/// How to build.
pub struct Options {
    /// Overrides `base_url` of the config (where the site will be published).
    pub base_url: Option<String>,
    pub as_of: Option<i64>,
    pub verbose: bool,
}

/// Loads the templates of a site root (its own, else the built-in ones) and its methodology
/// page, reporting the first error.
pub fn check_templates(root: &SiteRoot) -> Result<()> {
    pages::templates(root)?;
    methodology::load(root)?;
    Ok(())
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

/// Builds the site of `root` into its output directory.
pub fn build(root: &SiteRoot, opts: &Options) -> Result<Report> {
    let mut config = Config::load(root)?;
    if let Some(url) = &opts.base_url {
        config.base_url = if url.ends_with('/') {
            url.clone()
        } else {
            format!("{url}/")
        };
    }
    let scored = crate::pipeline::run(root, &config, opts.as_of, opts.verbose)?;
    let mut clock = Steps::new(opts.verbose);
    for n in &scored.notices {
        eprintln!("warning: {n}");
    }
    let lb = scored.leaderboard;
    let langs = config
        .languages
        .iter()
        .enumerate()
        .map(|(i, code)| lang::Lang::load(root, code, i == 0))
        .collect::<Result<Vec<_>>>()?;
    let templates = pages::templates(root)?;
    let assets = pages::assets(root);
    let methodology = methodology::load(root)?;
    clock.step("load templates, translations and content");

    let snapshot = lb.as_of[..10].to_string();
    let ctx = pages::Ctx {
        config: &config,
        lb: &lb,
        langs: &langs,
        templates: &templates,
        snapshot: &snapshot,
        methodology: &methodology,
        assets: &assets,
    };
    let mut site = pages::render(&ctx)?;
    clock.step("render pages and charts");
    pages::downloads(&ctx, &mut site)?;
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
                pages::archive_redirect(&ctx, lang)?,
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
        use rayon::prelude::*;
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

    let snapshots = pages::snapshots(out)?;
    let mut extra = Site::new();
    pages::archive_and_feeds(&ctx, &snapshots, &site, &mut extra)?;
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
        ranked: lb.brands.iter().filter(|b| b.eligible).count(),
    })
}
