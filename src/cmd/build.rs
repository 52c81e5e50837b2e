//! `replyrank build`: score the store and render the site.

use anyhow::Result;

use replyrank::root::SiteRoot;
use replyrank::site::{Options, build};

pub fn run(
    root: &SiteRoot,
    base_url: Option<String>,
    as_of: Option<&str>,
    verbose: bool,
) -> Result<()> {
    let as_of = as_of.map(super::score::parse_as_of).transpose()?;
    let report = build(
        root,
        &Options {
            base_url,
            as_of,
            verbose,
        },
    )?;
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
