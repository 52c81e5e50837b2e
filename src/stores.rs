//! The two stores of a site root, written together.
//!
//! - The **published store**, `data/store/` (schema `replyrank.store/2`): committed with the
//!   site's data and deployed. Everything scoring reads, and nothing more: collected posts in
//!   their published form (keyed pseudonyms, no text: [`crate::publish`]); archive sources
//!   (TWCS, pairs) as they are.
//! - The **private working store**, `data/private/` (`replyrank.private/1`): collected posts
//!   as the networks gave them, to walk threads, to re-run a newer classifier and to find what
//!   `forget` is asked for. Never committed (`.gitignore`), kept between CI runs by the CI
//!   cache, pruned after the ranking window plus a margin ([`Stores::prune_private`]). Losing it
//!   loses no published figure.
//!
//! A [`StoreWriter`] takes raw posts and writes each where it belongs, leaving out what
//! `forget` removed ([`crate::forget::Forgotten`]) and the text of authors who opted out of
//! indexing. Writers lock the published store first, then the private one.

use anyhow::{Context, Result};

use crate::corpus::{IndexUse, StoredIds};
use crate::forget::Forgotten;
use crate::post::Post;
use crate::publish::{Pseudonymiser, pseudonymised};
use crate::registry::Registry;
use crate::root::SiteRoot;
use crate::store::{AppendCount, Appender, Kind, Store};

/// Both stores, open for writing, with the pseudonym key (when set) and what was forgotten.
pub struct Stores {
    pub published: Store,
    pub private: Store,
    pub pseudonymiser: Option<Pseudonymiser>,
    pub forgotten: Forgotten,
    /// The published store's index (`data/index/corpus.bin`), which `import` and `collect` keep
    /// current.
    index: std::path::PathBuf,
}

impl Stores {
    /// Opens both stores of `root` for writing and reads the key from `REPLYRANK_PSEUDONYM_KEY`.
    pub fn open_for_writing(root: &SiteRoot) -> Result<Stores> {
        Stores::open_with(root, Pseudonymiser::from_env()?)
    }

    /// Opens both stores with a given key (`None`: collected posts cannot be written).
    pub fn open_with(root: &SiteRoot, pseudonymiser: Option<Pseudonymiser>) -> Result<Stores> {
        let published = Store::open_for_writing(root)?;
        let private = Store::open_kind_for_writing(root, Kind::Private)?;
        let forgotten = Forgotten::load(root)?;
        Ok(Stores {
            published,
            private,
            pseudonymiser,
            forgotten,
            index: root.index(),
        })
    }

    /// The ids the published store holds, from its index (brought up to date first), for a
    /// writer to de-duplicate against ([`Stores::writer`]).
    pub fn stored_ids(&self, registry: &Registry) -> Result<(StoredIds, IndexUse)> {
        StoredIds::load(&self.published, registry, &self.index)
    }

    /// Brings the published store's index up to date after a write, carrying on from the ids
    /// [`Stores::stored_ids`] gave before it, so the next `score` or `build` reads back what was
    /// just stored instead of parsing it. Returns why the index could not be updated, when it
    /// could not (the store is unaffected, and the next run that can write the index does).
    pub fn update_index(&self, registry: &Registry, stored: StoredIds) -> Option<String> {
        match stored.update(&self.published, registry, &self.index) {
            Ok(used) => used.not_written,
            Err(e) => Some(format!("{}: {e:#}", self.index.display())),
        }
    }

    /// What opening the stores noticed and repaired.
    pub fn notices(&self) -> impl Iterator<Item = &crate::store::Notice> {
        self.published.notices.iter().chain(&self.private.notices)
    }

    /// The key, or an error saying why `doing` needs it.
    pub fn key(&self, doing: &str) -> Result<&Pseudonymiser> {
        self.pseudonymiser
            .as_ref()
            .ok_or_else(|| crate::publish::missing_key(doing))
    }

    /// Deletes the private store's partitions whose month ended before `floor` (the oldest
    /// post of the ranking window, less a margin): their posts are in the published store.
    /// Returns how many partitions were deleted.
    pub fn prune_private(&self, floor: i64) -> Result<usize> {
        let oldest_kept = crate::time::month_of(floor);
        let mut deleted = 0;
        for file in self.private.partitions(None)? {
            let month = file
                .file_stem()
                .map(|m| m.to_string_lossy().into_owned())
                .unwrap_or_default();
            if month.len() == 7 && month < oldest_kept {
                std::fs::remove_file(&file)
                    .with_context(|| format!("cannot delete {}", file.display()))?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// A writer of raw posts into both stores, de-duplicating published posts against
    /// `stored`, the published store's ids as its index gave them ([`Stores::stored_ids`]).
    pub fn writer<'s>(&'s self, registry: &'s Registry, stored: &'s StoredIds) -> StoreWriter<'s> {
        let mut published = Appender::new(&self.published);
        published.knowing(stored);
        StoreWriter {
            stores: self,
            registry,
            published,
            private: Appender::new(&self.private),
            forgotten: 0,
        }
    }
}

/// Writes raw posts into the stores of [`Stores`]: see the module documentation.
pub struct StoreWriter<'s> {
    stores: &'s Stores,
    registry: &'s Registry,
    published: Appender<'s>,
    private: Appender<'s>,
    /// Posts left out because `forget` removed them (or their author).
    pub forgotten: usize,
}

impl<'s> StoreWriter<'s> {
    /// Leaves out of `posts` those the published store already holds, as its index says (see
    /// [`Stores::writer`]), counted as duplicates, so an import that repeats what is
    /// stored does not classify it again. Posts of a collected source are published under
    /// pseudonyms: those still raw are left to [`StoreWriter::push`].
    pub fn drop_stored(&mut self, posts: &mut Vec<Post<'_>>) {
        self.published.drop_stored(posts, |p| {
            !pseudonymised(&p.source) || crate::publish::is_pseudonym(&p.id)
        });
    }

    /// Makes room for about `n` new posts.
    pub fn reserve(&mut self, n: usize) {
        self.published.reserve(n);
    }

    /// Writes `posts` (raw, as a collector or an import read them) where they belong. Posts of
    /// a collected source need the pseudonym key: without it nothing is written and the error
    /// says what to set.
    pub fn push(&mut self, posts: Vec<Post<'_>>) -> Result<()> {
        let mut raw = Vec::new();
        let mut published = Vec::with_capacity(posts.len());
        for mut p in posts {
            if self
                .stores
                .forgotten
                .covers(&p, self.stores.pseudonymiser.as_ref())
            {
                self.forgotten += 1;
                continue;
            }
            if p.opted_out {
                p.text = None;
            }
            if pseudonymised(&p.source) && crate::publish::is_pseudonym(&p.id) {
                // Already in its published form (a published store's lines imported again):
                // as it is, and nothing for the private store.
                published.push(p);
            } else if pseudonymised(&p.source) {
                let key = self.stores.key("cannot store collected posts")?;
                published.push(key.publish(self.registry, &p));
                raw.push(p);
            } else {
                published.push(p);
            }
        }
        if !raw.is_empty() {
            self.private.push(raw)?;
        }
        self.published.push(published)
    }

    /// Syncs both stores (the private one first).
    pub fn sync(&mut self) -> Result<()> {
        let private = self.private.sync();
        let published = self.published.sync();
        private.and(published)
    }

    /// What the published store gained (new posts, duplicates, invalid ones).
    pub fn count(&self) -> AppendCount {
        self.published.count
    }
}

/// What `migrate` did.
#[derive(Debug, Default)]
pub struct Migrated {
    /// Partitions of collected sources rewritten in their published form.
    pub partitions: usize,
    /// Collected posts copied into the private store.
    pub private_posts: usize,
    /// Whether the cursors moved to the private store.
    pub cursors_moved: bool,
}

/// Turns a version-1 store (collected posts kept raw in `data/store/`) into the two stores:
/// raw posts go to the private store, the published store keeps their published form, the
/// cursors (network ids) move to the private store, and `FORMAT` says version 2 last. Every
/// step can be run again: a migration killed midway is finished by running it again.
pub fn migrate(root: &SiteRoot, key: Option<&Pseudonymiser>) -> Result<Migrated> {
    use crate::publish::is_pseudonym;
    let registry = Registry::load(root)?;
    let published = Store::open_kind_for_writing(root, Kind::PublishedV1)?;
    let private = Store::open_kind_for_writing(root, Kind::Private)?;
    let mut done = Migrated::default();
    for source in published.sources()? {
        if !pseudonymised(&source) {
            continue;
        }
        let key = key.ok_or_else(|| {
            crate::publish::missing_key(&format!("cannot migrate the collected posts of {source}"))
        })?;
        for file in published.partitions(Some(&source))? {
            let text =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let raw: Vec<Post> = text
                .split(|&b| b == b'\n')
                .filter_map(|l| serde_json::from_slice::<Post>(l).ok())
                .filter(|p| !is_pseudonym(&p.id))
                .collect();
            if raw.is_empty() {
                continue;
            }
            let mut to_private = Appender::new(&private);
            to_private.push(raw)?;
            done.private_posts += to_private.finish()?.imported;
            published.rewrite(&file, |line| match serde_json::from_slice::<Post>(line) {
                Ok(p) if !is_pseudonym(&p.id) => crate::store::Edit::Replace(
                    serde_json::to_vec(&key.publish(&registry, &p)).expect("a post serialises"),
                ),
                _ => crate::store::Edit::Keep,
            })?;
            done.partitions += 1;
        }
    }
    let old = root.cursors_v1();
    if old.exists() {
        let bytes =
            std::fs::read(&old).with_context(|| format!("cannot read {}", old.display()))?;
        crate::collect::cursor::write_atomically(&root.cursors(), &bytes)?;
        std::fs::remove_file(&old).with_context(|| format!("cannot delete {}", old.display()))?;
        done.cursors_moved = true;
    }
    published.set_format(Kind::Published)?;
    Ok(done)
}
