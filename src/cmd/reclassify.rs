//! `replyrank reclassify [--source NAME]…`: re-runs the current classifiers over the stored
//! posts that still have their text and were classified by another version (or not at all),
//! rewriting each partition atomically. Scoring reads the stored outputs, so this is how a
//! newer classifier reaches the figures.

use anyhow::Result;

use replyrank::classify::classify_post;
use replyrank::post::Post;
use replyrank::registry::Registry;
use replyrank::root::SiteRoot;
use replyrank::store::Store;

pub fn run(root: &SiteRoot, sources: &[String]) -> Result<()> {
    let registry = Registry::load(root)?;
    let store = Store::open_for_writing(root)?;
    for n in &store.notices {
        eprintln!("warning: {n}");
    }
    let files = if sources.is_empty() {
        store.partitions(None)?
    } else {
        let mut files = Vec::new();
        for s in sources {
            files.extend(store.partitions(Some(s))?);
        }
        files
    };
    let (mut changed, mut partitions) = (0, 0);
    for file in &files {
        let n = store.rewrite(file, |line| {
            // Lines that are not valid posts stay as they are (`score` names them).
            let mut post: Post = serde_json::from_slice(line).ok()?;
            post.validate().ok()?;
            let now = classify_post(&registry, &post);
            if now == post.classified {
                return None;
            }
            post.classified = now;
            serde_json::to_vec(&post).ok()
        })?;
        changed += n;
        partitions += usize::from(n > 0);
    }
    println!(
        "reclassified {changed} post(s) in {partitions} of {} partition(s) ({} and {})",
        files.len(),
        replyrank::classify::KIND_VERSION,
        replyrank::classify::DEFLECT_VERSION
    );
    Ok(())
}
