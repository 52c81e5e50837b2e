//! `replyrank build`: check the output, load, score, render.

use anyhow::Result;

use replyrank::root::SiteRoot;

pub fn run(
    root: &SiteRoot,
    base_url: Option<String>,
    as_of: Option<&str>,
    verbose: bool,
) -> Result<()> {
    let as_of = as_of.map(super::score::parse_as_of).transpose()?;
    let report = replyrank::pipeline::build(root, base_url.as_deref(), as_of, verbose)?;
    println!(
        "built {} pages ({} files) in {} — {} brands ranked, snapshot archive/{}/",
        report.pages,
        report.files,
        report.output.display(),
        report.ranked,
        report.snapshot
    );
    if let Some(warning) = report.warning {
        eprintln!("{warning}");
    }
    Ok(())
}
