//! `replyrank check`: validates what a build reads, then the built site: every file its
//! manifest lists (present, of the size written) and every internal link.

use anyhow::{Result, bail};

use replyrank::root::SiteRoot;

pub fn run(root: &SiteRoot) -> Result<()> {
    let config = replyrank::config::Config::load(root)?;
    let registry = replyrank::registry::Registry::load(root)?;
    let problems = registry.handle_problems();
    print_some(problems.iter());
    if !problems.is_empty() {
        bail!(
            "{} account(s) in {} are not handles of their network (see above): correct or \
             remove them",
            problems.len(),
            registry.file
        );
    }
    for (i, code) in config.languages.iter().enumerate() {
        replyrank::site::lang::Lang::load(root, code, i == 0)?;
    }
    replyrank::site::check_templates(root)?;
    let unsourced = registry.unsourced();
    if unsourced > 0 {
        eprintln!(
            "note: {unsourced} account(s) in {} say nowhere where they were found: write them \
             {{ handle = \"…\", source = \"https://…\" }}, or give the file a bare_handles_source",
            registry.file
        );
    }
    println!(
        "config, {} brands ({} accounts), {} language(s), templates and methodology: ok",
        registry.brands.len(),
        registry
            .brands
            .iter()
            .map(|b| b.accounts.info.len())
            .sum::<usize>(),
        config.languages.len()
    );
    if let Some(warning) = config.base_url_warning() {
        eprintln!("{warning}");
    }
    let output = root.output();
    if !output.join("index.html").exists() {
        bail!(
            "{} holds no built site: run replyrank build first",
            output.display()
        );
    }
    let (listed, damaged) = replyrank::site::check_manifest(output)?;
    print_some(
        damaged
            .iter()
            .map(|d| format!("{}: {} {}", output.display(), d.path, d.problem)),
    );
    if !damaged.is_empty() {
        bail!(
            "{} of the {listed} files the build wrote are missing or damaged: run replyrank build again",
            damaged.len()
        );
    }
    println!("{listed} files as built ({})", replyrank::site::MANIFEST);
    let (checked, broken) = replyrank::site::check_links(output)?;
    print_some(
        broken
            .iter()
            .map(|b| format!("broken link in {}: {}", b.page.display(), b.link)),
    );
    if !broken.is_empty() {
        bail!("{} of {checked} internal links are broken", broken.len());
    }
    println!("{checked} internal links: all resolve");
    Ok(())
}

/// Prints the first 20 problems to stderr, and how many more there are.
fn print_some<T: std::fmt::Display>(problems: impl ExactSizeIterator<Item = T>) {
    let n = problems.len();
    for p in problems.take(20) {
        eprintln!("{p}");
    }
    if n > 20 {
        eprintln!("… and {} more", n - 20);
    }
}
