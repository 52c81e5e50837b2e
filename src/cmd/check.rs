//! `replyrank check`: validates what a build reads, then the built site: every file its
//! manifest lists (present, of the size written) and every internal link.

use anyhow::{Result, bail};

use replyrank::root::SiteRoot;

pub fn run(root: &SiteRoot) -> Result<()> {
    let config = replyrank::config::Config::load(root)?;
    let registry = replyrank::registry::Registry::load(root)?;
    for (i, code) in config.languages.iter().enumerate() {
        replyrank::site::lang::Lang::load(root, code, i == 0)?;
    }
    replyrank::site::check_templates(root)?;
    println!(
        "config, {} brands, {} language(s), templates and methodology: ok",
        registry.brands.len(),
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
    for d in damaged.iter().take(20) {
        eprintln!("{}: {} {}", output.display(), d.path, d.problem);
    }
    if damaged.len() > 20 {
        eprintln!("… and {} more", damaged.len() - 20);
    }
    if !damaged.is_empty() {
        bail!(
            "{} of the {listed} files the build wrote are missing or damaged: run replyrank build again",
            damaged.len()
        );
    }
    println!("{listed} files as built ({})", replyrank::site::MANIFEST);
    let (checked, broken) = replyrank::site::check_links(output)?;
    for b in broken.iter().take(20) {
        eprintln!("broken link in {}: {}", b.page.display(), b.link);
    }
    if broken.len() > 20 {
        eprintln!("… and {} more", broken.len() - 20);
    }
    if !broken.is_empty() {
        bail!("{} of {checked} internal links are broken", broken.len());
    }
    println!("{checked} internal links: all resolve");
    Ok(())
}
