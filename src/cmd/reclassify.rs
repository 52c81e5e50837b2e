//! `replyrank reclassify [--source NAME]…`: re-runs the current classifiers over the stored
//! posts that still have their text and were classified by another version (or not at all),
//! rewriting each partition atomically. Scoring reads the stored outputs, so this is how a
//! newer classifier reaches the figures.
//!
//! Collected posts keep their text only in the private store: they are reclassified there, and
//! the new verdicts are carried to their published lines (found by pseudonym). Posts the
//! private store no longer holds keep the verdict they were published with.

use anyhow::Result;
use rustc_hash::FxHashMap;

use replyrank::classify::classify_post;
use replyrank::post::{Classified, Post};
use replyrank::publish::pseudonymised;
use replyrank::registry::Registry;
use replyrank::root::SiteRoot;
use replyrank::store::{Edit, Store};
use replyrank::stores::Stores;

pub fn run(root: &SiteRoot, sources: &[String]) -> Result<()> {
    let registry = Registry::load(root)?;
    let stores = Stores::open_for_writing(root)?;
    for n in stores.notices() {
        eprintln!("warning: {n}");
    }
    if stores.pseudonymiser.is_none() && stores.private.sources()?.iter().any(|s| pseudonymised(s))
    {
        return Err(replyrank::publish::missing_key(
            "cannot carry new verdicts to the published collected posts",
        ));
    }
    let wanted = |s: &str| sources.is_empty() || sources.iter().any(|w| w == s);
    let (mut changed, mut partitions, mut files) = (0, 0, 0);
    // Verdicts of collected posts, by published pseudonym, for their published lines.
    let mut verdicts: FxHashMap<String, Option<Classified<'static>>> = FxHashMap::default();
    let mut each = |store: &Store, published: bool| -> Result<()> {
        for source in store.sources()? {
            if !wanted(&source) || (published && pseudonymised(&source) && verdicts.is_empty()) {
                continue;
            }
            for file in store.partitions(Some(&source))? {
                files += 1;
                let n = store.rewrite(&file, |line| {
                    // Lines that are not valid posts stay as they are (`score` names them).
                    let Ok(mut post) = serde_json::from_slice::<Post>(line) else {
                        return Edit::Keep;
                    };
                    if post.validate().is_err() {
                        return Edit::Keep;
                    }
                    let now = if published && pseudonymised(&source) {
                        match verdicts.get(post.id.as_ref()) {
                            Some(v) => v.clone(),
                            None => return Edit::Keep,
                        }
                    } else {
                        let now = classify_post(&registry, &post);
                        if !published && let Some(key) = &stores.pseudonymiser {
                            verdicts.insert(key.post(&source, &post.id), now.clone());
                        }
                        now
                    };
                    if now == post.classified {
                        return Edit::Keep;
                    }
                    post.classified = now;
                    Edit::Replace(serde_json::to_vec(&post).expect("a post always serialises"))
                })?;
                changed += n;
                partitions += usize::from(n > 0);
            }
        }
        Ok(())
    };
    each(&stores.private, false)?;
    each(&stores.published, true)?;
    println!(
        "reclassified {changed} post(s) in {partitions} of {files} partition(s) ({} and {})",
        replyrank::classify::KIND_VERSION,
        replyrank::classify::DEFLECT_VERSION
    );
    Ok(())
}
