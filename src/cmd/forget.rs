//! `replyrank forget TARGET…`, `replyrank migrate`, `replyrank audit [PATH…]`: what keeps the
//! published data free of the people it is about.

use std::path::PathBuf;

use anyhow::{Result, bail};

use replyrank::forget::{self, Target, Why};
use replyrank::publish::Pseudonymiser;
use replyrank::registry::Registry;
use replyrank::root::SiteRoot;
use replyrank::stores::Stores;

pub fn run(root: &SiteRoot, targets: &[String], source: Option<&str>, author: bool) -> Result<()> {
    let targets = targets
        .iter()
        .map(|t| Target::parse(t, source, author))
        .collect::<Result<Vec<_>>>()?;
    let mut stores = Stores::open_for_writing(root)?;
    for n in stores.notices() {
        eprintln!("warning: {n}");
    }
    let r = forget::forget(root, &mut stores, &targets, Why::Request)?;
    println!(
        "forgot {} request(s): removed {} post(s) from the published store and {} from the \
         private store ({} partition(s) rewritten); recorded in {} so no later collection or \
         import stores them again",
        targets.len(),
        r.published,
        r.private,
        r.partitions,
        root.forgotten().display()
    );
    if r.published + r.private == 0 {
        println!(
            "nothing stored matched (Bluesky posts and accounts are stored by DID, Mastodon ones \
             as seen from the brand's instance); the request is recorded all the same"
        );
    }
    Ok(())
}

pub fn migrate(root: &SiteRoot) -> Result<()> {
    let key = Pseudonymiser::from_env()?;
    let m = replyrank::stores::migrate(root, key.as_ref())?;
    println!(
        "migrated {}: {} partition(s) of collected posts now published as pseudonyms, {} raw \
         post(s) kept in {} (never commit it){}; {} now says {}",
        root.store().display(),
        m.partitions,
        m.private_posts,
        root.private_store().display(),
        if m.cursors_moved {
            "; the cursors moved there too"
        } else {
            ""
        },
        root.store().join("FORMAT").display(),
        replyrank::post::STORE_SCHEMA
    );
    Ok(())
}

pub fn audit(root: &SiteRoot, paths: Vec<PathBuf>) -> Result<()> {
    let registry = Registry::load(root)?;
    let key = Pseudonymiser::from_env()?;
    let paths = if paths.is_empty() {
        vec![root.store(), root.state(), root.output().to_path_buf()]
    } else {
        paths
    };
    let r = replyrank::audit::audit(root, &registry, key.as_ref(), &paths)?;
    for f in &r.findings {
        println!("{f}");
    }
    if r.customer_posts == 0 {
        eprintln!(
            "note: the private store holds no customer post, so only the published store's \
             shape was checked (in CI, restore data/private/ from the cache first)"
        );
    }
    if !r.findings.is_empty() {
        bail!(
            "{} finding(s) in {} file(s) searched: this must not be published; see \
             `replyrank forget` and the README's \"Publishing\" section",
            r.findings.len(),
            r.files
        );
    }
    println!(
        "audit: {} file(s) searched for the traces of {} customer post(s): none found",
        r.files, r.customer_posts
    );
    Ok(())
}
