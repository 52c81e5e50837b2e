//! `replyrank build`: score the store and render the site.

use std::path::Path;

use anyhow::Result;

use replyrank::site::{Options, build};

pub fn run(
    root: &Path,
    output: &Path,
    base_url: Option<String>,
    as_of: Option<&str>,
    verbose: bool,
) -> Result<()> {
    let as_of = as_of.map(super::score::parse_as_of).transpose()?;
    let output = if output.is_absolute() {
        output.to_path_buf()
    } else {
        root.join(output)
    };
    let report = build(
        root,
        &Options {
            output,
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
