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
mod grievance;
pub mod lang;
mod links;
mod lists;
mod methodology;
mod og;
mod output;
mod pages;
mod view;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::Result;
use rayon::prelude::*;

pub use links::check_links;
pub use methodology::check_worked_example;
pub use output::{Damaged, MANIFEST, check_manifest, preflight};
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

/// What a build wrote.
pub struct Report {
    pub output: PathBuf,
    pub files: usize,
    pub pages: usize,
    pub snapshot: String,
    pub ranked: usize,
    /// What the build warns about (no `base_url`), if anything.
    pub warning: Option<&'static str>,
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
    let painter = og::Painter::new();
    for lang in view.langs {
        let p = &lang.prefix;
        site.insert(format!("{p}og/site.png"), view.site_card(&painter, lang)?);
        let leaderboard = lang.t("leaderboard_title", &[]);
        let rows = Some(view.config.leaderboard_rows);
        site.insert(
            format!("{p}index.html"),
            view.table_page(lang, "index.html", &all, leaderboard, Scope::Overall, rows)?,
        );
        // The full ranking only when the front page cannot show every ranked brand; else
        // it would be the same page twice, and its address leads to the front page.
        let page = "ranking/index.html";
        let heading = lang.t("ranking_title", &[]);
        let ranking = if lb.ranked().count() > view.config.leaderboard_rows {
            view.table_page(lang, page, &all, heading, Scope::Overall, None)?
        } else {
            view.redirect(lang, page, "index.html", &heading)?
        };
        site.insert(format!("{p}{page}"), ranking);
        // A brand with no complaint in the window gets no page, badge or embed (there is
        // nothing to say); the ranking pages name it.
        let brand_pages: Vec<Vec<(String, Vec<u8>)>> = lb
            .brands
            .par_iter()
            .filter(|b| b.complaints > 0)
            .map(|b| -> Result<_> {
                let mut files = vec![
                    (
                        format!("{p}brand/{}/index.html", b.id),
                        view.brand_page(lang, b)?,
                    ),
                    (
                        format!("{p}embed/{}/index.html", b.id),
                        view.embed_page(lang, b)?,
                    ),
                    (format!("{p}badge/{}.svg", b.id), view.badge(lang, b)),
                ];
                // The brands the front page shows get a share image of their own; the others
                // share the site's (an image costs about 3 ms of computing).
                if view.has_card(b) {
                    let card = view.brand_card(&painter, lang, b)?;
                    files.push((format!("{p}og/{}.png", b.id), card));
                }
                Ok(files)
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
    let curves = lb
        .details
        .par_iter()
        .map(|(id, d)| (id.clone(), charts::Curve::of(&d.steps)))
        .collect();
    let ctx = View {
        curves: &curves,
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

    // Write into a fresh folder and swap it in (`output`): readers see the old site or the
    // new one, never a mix; earlier snapshots move in unchanged; the archive pages, feed and
    // sitemap are made once the snapshots are known.
    let back: Site = langs
        .iter()
        .map(|lang| {
            Ok((
                format!("archive/{snapshot}/{}archive/index.html", lang.prefix),
                ctx.archive_redirect(lang)?,
            ))
        })
        .collect::<Result<_>>()?;
    let build = output::Build {
        site: &site,
        snapshot: &snapshot,
        unlinked: &back,
        keep_full: config.archive.keep_full,
    };
    let files = output::write(root, &build, |snapshots| {
        ctx.archive_and_feeds(snapshots, &site)
    })?;
    clock.step("write the site, snapshot, archive, feed, sitemap; swap it in");
    let pages = site.keys().filter(|p| p.ends_with(".html")).count();
    Ok(Report {
        output: root.output().to_path_buf(),
        files,
        pages,
        snapshot,
        ranked: lb.ranked().count(),
        warning: config.base_url_warning(),
    })
}
