//! The static site: `replyrank build` scores the store and renders every page, chart and
//! download into the output directory, plus a dated snapshot under `archive/<as-of date>/`.
//!
//! The build is a fixed sequence of steps (score → load templates → render pages → downloads →
//! write into a fresh folder, keeping earlier snapshots, with archive, feeds and sitemap → swap
//! it in; see `output`), each timed with `--verbose`.
//! Every internal link is relative and names its file (`brand/x/index.html`), so the site works
//! under any sub-path and when opened from disk. Only counts and brand data reach the site: the
//! renderer never sees a post, an author or a customer id.

mod charts;
pub mod lang;
mod links;
mod methodology;
mod output;
mod pages;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;

pub use links::check_links;
pub use methodology::check_worked_example;
pub use output::{Damaged, MANIFEST, check_manifest};

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
    output::preflight(root)?;
    if let Some(url) = &opts.base_url {
        config.set_base_url(url, "--base-url")?;
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

    let back: Site = langs
        .iter()
        .map(|lang| {
            Ok((
                format!("archive/{snapshot}/{}archive/index.html", lang.prefix),
                pages::archive_redirect(&ctx, lang)?,
            ))
        })
        .collect::<Result<_>>()?;
    let build = output::Build {
        site: &site,
        snapshot: &snapshot,
        unlinked: &back,
    };
    let files = output::write(root, &build, |snapshots| {
        let mut extra = Site::new();
        pages::archive_and_feeds(&ctx, snapshots, &site, &mut extra)?;
        Ok(extra)
    })?;
    clock.step("write the site, snapshot, archive, feed, sitemap; swap it in");
    let pages = site.keys().filter(|p| p.ends_with(".html")).count();
    Ok(Report {
        output: root.output().to_path_buf(),
        files,
        pages,
        snapshot,
        ranked: lb.brands.iter().filter(|b| b.eligible).count(),
    })
}
