//! `replyrank build`: load, score, render.

use anyhow::Result;

use replyrank::config::Config;
use replyrank::root::SiteRoot;
use replyrank::site::{self, Options, Report};

/// Scores the site root's store and renders its site; `serve` builds with this too.
pub fn build(
    root: &SiteRoot,
    base_url: Option<&str>,
    as_of: Option<i64>,
    verbose: bool,
) -> Result<Report> {
    let mut config = Config::load(root)?;
    if let Some(url) = base_url {
        config.set_base_url(url);
    }
    let scored = replyrank::pipeline::run(root, &config, as_of, verbose)?;
    scored.warn();
    site::render(root, &config, &scored.leaderboard, &Options { verbose })
}

pub fn run(
    root: &SiteRoot,
    base_url: Option<String>,
    as_of: Option<&str>,
    verbose: bool,
) -> Result<()> {
    let as_of = as_of.map(super::score::parse_as_of).transpose()?;
    let report = build(root, base_url.as_deref(), as_of, verbose)?;
    println!(
        "built {} pages ({} files) in {} — {} brands ranked, snapshot archive/{}/",
        report.pages,
        report.files,
        report.output.display(),
        report.ranked,
        report.snapshot
    );
    Ok(())
}
