//! The corpus: every stored post reduced to what pairing needs — time, author, parent, and which
//! brand (if any) wrote it or is named in it — with ids and authors interned to integers.
//!
//! Built from the store (streaming each partition, text skipped) or, in tests, from posts in
//! memory. Both go through the same two steps: [`prepare`] (pure, run in parallel: parse the
//! time, resolve brands, hash the strings) and [`CorpusBuilder::add`] (in file order: intern).
//! Runs of the pipeline keep the builder in the store's index (`corpus/index.rs`) and add only
//! what was appended since.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};

use anyhow::Result;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::post::{Post, StoredLine};
use crate::registry::Registry;
use crate::source::Network;
use crate::store::{Notice, Position, Store};

mod index;
mod seal;
pub use index::{IndexUse, Loaded, Ranking};
pub use seal::{Seal, SealedComplaint};

pub const NONE: u32 = u32::MAX;

/// One post as pairing sees it.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    /// Seconds since the epoch; `i64::MIN` for an id only ever seen as a parent (absent).
    pub at: i64,
    /// Interned author, unique across sources; an empty author gets an id of its own.
    pub author: u32,
    /// Index of the parent post when it is in the corpus, else [`NONE`].
    pub parent: u32,
    /// True when the post names a parent that is not in the corpus (the chain is cut).
    pub parent_missing: bool,
    /// Brand that wrote the post (a registered account, or a `brand` the source asserts).
    pub by_brand: u32,
    /// Brand the post is addressed to: its first mention of a registered account, or `to_brand`.
    pub to_brand: u32,
    /// A brand post that sends the customer elsewhere (DM, e-mail, phone…), as classified.
    pub deflect: bool,
    /// A customer post that needs a reply (a complaint or a request, as classified; true when
    /// it could not be classified).
    pub needs_reply: bool,
    /// The post lists a reply (TWCS `response_tweet_id`) that is not in the corpus.
    pub reply_missing: bool,
    pub source: u16,
    /// The author's follower count when collected (as stored: bucketed when published), or
    /// [`NONE`] when the source does not say.
    pub followers: u32,
    /// A brand reply's template signature: an index into [`Corpus::templates`], or [`NONE`].
    pub template: u32,
}

/// What loading noticed about the data (reported, never fatal).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct LoadQuality {
    pub posts: usize,
    /// Lines whose (source, id) was already loaded from another partition: the first is kept.
    pub duplicate_ids: usize,
    /// Lines that are not valid posts (file:line in the notices).
    pub invalid_lines: usize,
    /// Posts dated after the wall clock of the load: left out of the default as-of.
    pub future_posts: usize,
    /// Authors the source flags as company accounts, and brand ids named by posts, that the
    /// registry does not know: `source:name` → posts. Add them to `data/brands.toml` to rank them.
    pub unregistered_accounts: BTreeMap<String, usize>,
}

pub struct Corpus {
    pub sources: Vec<String>,
    pub posts: Vec<Meta>,
    /// Template signatures of brand replies ([`Meta::template`]).
    pub templates: Vec<crate::classify::template::Signature>,
    ids: Vec<Interner>,
    /// Offset of each source's first post in `posts`.
    offsets: Vec<usize>,
    pub quality: LoadQuality,
    /// Store notices (torn lines repaired, bad lines skipped).
    pub notices: Vec<Notice>,
    /// The wall clock when the corpus was built (seconds since the epoch).
    loaded_at: i64,
}

impl Corpus {
    /// The source name and id of a post.
    pub fn id(&self, post: u32) -> (&str, &str) {
        let p = post as usize;
        let s = self.offsets.partition_point(|&o| o <= p) - 1;
        (&self.sources[s], self.ids[s].get(p - self.offsets[s]))
    }

    /// Newest post time, if any post is present.
    pub fn newest(&self) -> Option<i64> {
        self.posts
            .iter()
            .map(|p| p.at)
            .filter(|&t| t != i64::MIN)
            .max()
    }

    /// The default as-of: the newest post not dated after the wall clock of the load (posts
    /// dated later are counted in `quality.future_posts` and reported, so one damaged date
    /// cannot move every figure).
    pub fn default_as_of(&self) -> Option<i64> {
        self.newest_until(self.loaded_at).0
    }

    /// The newest post time not after `now`, and how many posts are dated after it.
    pub fn newest_until(&self, now: i64) -> (Option<i64>, usize) {
        newest_until(&self.posts, now)
    }

    /// Reads every partition of the store. A reader thread parses blocks of lines in parallel
    /// while this thread adds the previous block in file order, so the result does not depend
    /// on the number of threads. Lines that are not valid posts are skipped and reported with
    /// their file:line; an unfinished last line is skipped and left for a writer to repair.
    /// (`crate::pipeline` loads through the store's index instead: [`Corpus::load_for_ranking`].)
    pub fn load(store: &Store, registry: &Registry) -> Result<Corpus> {
        let files = store.partitions(None)?;
        let mut b = CorpusBuilder {
            expected_posts: crate::store::estimated_posts(&files),
            ..CorpusBuilder::default()
        };
        let reads: Vec<(PathBuf, Position)> =
            files.into_iter().map(|f| (f, Position::START)).collect();
        b.read(registry, &reads)?;
        Ok(b.finish_load(store))
    }

    /// A corpus of posts held in memory (tests, examples).
    pub fn from_posts(registry: &Registry, posts: &[Post]) -> Corpus {
        let mut b = CorpusBuilder::default();
        for p in posts {
            let line = StoredLine::of(p);
            match prepare(registry, line, p.created_at) {
                Ok(p) => b.add(p),
                Err(_) => b.quality.invalid_lines += 1,
            }
        }
        b.finish()
    }
}

/// The newest time of `posts` not after `now`, and how many are dated after it.
fn newest_until<'a>(posts: impl IntoIterator<Item = &'a Meta>, now: i64) -> (Option<i64>, usize) {
    let mut newest = None;
    let mut later = 0;
    for p in posts.into_iter().filter(|p| p.at != i64::MIN) {
        if p.at > now {
            later += 1;
        } else if newest.is_none_or(|n| p.at > n) {
            newest = Some(p.at);
        }
    }
    (newest, later)
}

/// The ids of the posts a store holds, by source, as its index knows them: what `import` and
/// `collect` look up to skip posts already stored, without parsing the store's lines again.
/// It keeps the whole corpus under construction, so that bringing the index up to date after
/// the write ([`StoredIds::update`]) carries on from it rather than reading the index back.
pub struct StoredIds {
    indexed: index::Indexed,
}

impl StoredIds {
    /// Brings the store's index at `index` up to date (parsing only the lines appended since it
    /// was written, see [`Corpus::load_indexed`]) and keeps the ids it holds.
    pub fn load(store: &Store, registry: &Registry, index: &Path) -> Result<(StoredIds, IndexUse)> {
        let (mut indexed, used) = index::update_with_sealed_ids(store, registry, index)?;
        for s in &mut indexed.builder.sources {
            s.ids.build_table();
        }
        Ok((StoredIds { indexed }, used))
    }

    /// Brings the index at `index` up to date again after this run wrote to the store: parses
    /// what was appended since [`StoredIds::load`] (or the whole store, when something the
    /// index cannot vouch for happened) and writes the index.
    pub fn update(self, store: &Store, registry: &Registry, index: &Path) -> Result<IndexUse> {
        index::update(store, registry, index, Some(self.indexed)).map(|(_, used)| used)
    }

    /// Whether the store holds a post `id` of `source` (among the posts the index holds, or
    /// the sealed ones).
    pub fn contains(&self, source: &str, id: &str) -> bool {
        let b = &self.indexed.builder;
        b.sources
            .iter()
            .find(|s| s.name == source)
            .is_some_and(|s| {
                s.ids
                    .find(id)
                    .is_some_and(|i| s.posts.get(i as usize).is_some_and(|m| m.at != i64::MIN))
            })
            || b.seal.as_ref().is_some_and(|seal| seal.stores(source, id))
    }
}

/// A line with everything that needs no shared state already worked out.
pub struct Prepared<'a> {
    source: Cow<'a, str>,
    id: (u64, Cow<'a, str>),
    /// Lowercase author, or `None` when empty (an anonymous, distinct customer).
    author: Option<(u64, Cow<'a, str>)>,
    at: i64,
    parent: Option<(u64, Cow<'a, str>)>,
    by_brand: u32,
    to_brand: u32,
    /// Ids the source lists as replies to this post.
    replies: Vec<(u64, Cow<'a, str>)>,
    /// What the stored classifier output says: a reply that sends the customer elsewhere; an
    /// opening post that needs a reply.
    deflect: bool,
    needs_reply: bool,
    followers: Option<u64>,
    template: Option<crate::classify::template::Signature>,
    /// Unregistered brand-like names this line shows.
    unregistered: Vec<String>,
}

impl Prepared<'_> {
    fn into_owned(self) -> Prepared<'static> {
        let own = |(h, s): (u64, Cow<'_, str>)| (h, Cow::Owned(s.into_owned()));
        Prepared {
            source: match crate::source::BUILTIN
                .iter()
                .find(|b| b.name == self.source)
            {
                Some(b) => Cow::Borrowed(b.name),
                None => Cow::Owned(self.source.into_owned()),
            },
            id: own(self.id),
            author: self.author.map(own),
            at: self.at,
            parent: self.parent.map(own),
            by_brand: self.by_brand,
            to_brand: self.to_brand,
            replies: self.replies.into_iter().map(own).collect(),
            deflect: self.deflect,
            needs_reply: self.needs_reply,
            followers: self.followers,
            template: self.template,
            unregistered: self.unregistered,
        }
    }
}

fn hashed(s: Cow<'_, str>) -> (u64, Cow<'_, str>) {
    (FxBuildHasher.hash_one(s.as_ref()), s)
}

fn lowercase(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        s
    }
}

/// Resolves brands and hashes the strings of one valid line (see [`StoredLine::parse`]) with its
/// time: no shared state, so lines are prepared in parallel.
pub fn prepare<'a>(
    registry: &Registry,
    l: StoredLine<'a>,
    at: i64,
) -> Result<Prepared<'a>, String> {
    let network: Network = crate::source::network(&l.source);
    let unregistered = registry
        .unknown_names(
            network,
            &l.author,
            l.inbound,
            [l.brand.as_deref(), l.to_brand.as_deref()],
        )
        .map(|name| format!("{}:{name}", l.source))
        .collect();
    let brand_id = |id: &Option<Cow<str>>| id.as_deref().and_then(|b| registry.by_id(b));
    let by_brand = brand_id(&l.brand)
        .or_else(|| registry.by_account(network, &l.author))
        .map_or(NONE, |b| b as u32);
    let mut to_brand = brand_id(&l.to_brand).map_or(NONE, |b| b as u32);
    if to_brand == NONE {
        to_brand = l
            .mentions
            .iter()
            .find_map(|m| registry.by_account(network, m))
            .map_or(NONE, |b| b as u32);
    }
    let class = l.classified.as_ref();
    Ok(Prepared {
        deflect: class.is_some_and(|c| c.deflects()),
        needs_reply: class.is_none_or(|c| c.needs_reply()),
        followers: l.followers,
        template: class
            .and_then(|c| c.template.as_deref())
            .and_then(crate::classify::template::Signature::decode),
        replies: l.replies.into_iter().map(hashed).collect(),
        author: (!l.author.is_empty()).then(|| hashed(lowercase(l.author))),
        id: hashed(l.id),
        parent: l.reply_to.map(hashed),
        source: l.source,
        at,
        by_brand,
        to_brand,
        unregistered,
    })
}

/// Strings interned to dense indices, stored end to end in one buffer; hashes come precomputed.
#[derive(Default)]
struct Interner {
    table: HashTable<(u32, u64)>,
    bytes: String,
    ends: Vec<usize>,
    /// The hashes of the strings, in order, when `table` is not built yet (an interner read
    /// back from the store's index builds its table only if something is added to it).
    unindexed: Vec<u64>,
}

impl Interner {
    fn with_capacity(n: usize) -> Interner {
        Interner {
            table: HashTable::with_capacity(n),
            bytes: String::with_capacity(n * 12),
            ends: Vec::with_capacity(n),
            unindexed: Vec::new(),
        }
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Each string's hash, in order.
    fn hashes(&self) -> Vec<u64> {
        if !self.unindexed.is_empty() || self.ends.is_empty() {
            return self.unindexed.clone();
        }
        let mut out = vec![0; self.ends.len()];
        for &(i, h) in self.table.iter() {
            out[i as usize] = h;
        }
        out
    }

    /// Builds the lookup table of an interner read back from the index.
    fn build_table(&mut self) {
        if !self.unindexed.is_empty() {
            let hashes = std::mem::take(&mut self.unindexed);
            self.table = HashTable::with_capacity(hashes.len() + hashes.len() / 8);
            for (i, h) in hashes.into_iter().enumerate() {
                self.table.insert_unique(h, (i as u32, h), |&(_, h)| h);
            }
        }
    }

    /// The index of `s`, when interned (the table must be built).
    fn find(&self, s: &str) -> Option<u32> {
        let hash = FxBuildHasher.hash_one(s);
        self.table
            .find(hash, |&(i, h)| h == hash && self.get(i as usize) == s)
            .map(|&(i, _)| i)
    }

    fn intern(&mut self, (hash, s): &(u64, Cow<'_, str>)) -> u32 {
        self.build_table();
        let Interner {
            table, bytes, ends, ..
        } = self;
        let get = |i: u32| {
            let i = i as usize;
            &bytes[if i == 0 { 0 } else { ends[i - 1] }..ends[i]]
        };
        if let Some(&(i, _)) = table.find(*hash, |&(i, h)| h == *hash && get(i) == s.as_ref()) {
            return i;
        }
        let i = ends.len() as u32;
        bytes.push_str(s);
        ends.push(bytes.len());
        table.insert_unique(*hash, (i, *hash), |&(_, h)| h);
        i
    }
}

struct SourceState {
    name: String,
    ids: Interner,
    authors: Interner,
    posts: Vec<Meta>,
    anonymous: u32,
    /// (post, listed reply) pairs: a listed reply the data never holds marks its post.
    listed_replies: Vec<(u32, u32)>,
    /// Template signatures of this source's brand replies ([`Meta::template`] indexes them
    /// until [`CorpusBuilder::finish`] puts every source's end to end).
    templates: Vec<crate::classify::template::Signature>,
}

#[derive(Default)]
pub struct CorpusBuilder {
    /// Size hint for the tables of a new source.
    expected_posts: usize,
    sources: Vec<SourceState>,
    quality: LoadQuality,
    notices: Vec<Notice>,
    /// What the threads sealed away contributed (`seal.rs`), when the index holds a seal.
    seal: Option<Seal>,
    /// A post added since joins a sealed thread: the seal must be given up (a full read).
    joins_seal: bool,
}

const ABSENT: Meta = Meta {
    at: i64::MIN,
    author: NONE,
    parent: NONE,
    parent_missing: false,
    by_brand: NONE,
    to_brand: NONE,
    deflect: false,
    needs_reply: true,
    reply_missing: false,
    source: 0,
    followers: NONE,
    template: NONE,
};

impl CorpusBuilder {
    fn bad_line(&mut self, file: &Path, line: usize, error: String) {
        self.quality.invalid_lines += 1;
        self.notices.push(Notice::BadLine {
            file: file.to_path_buf(),
            line,
            error,
        });
    }

    /// Adds the lines of each partition from its position on, in order: a reader thread parses
    /// blocks of lines in parallel while this thread adds the previous block in file order, so
    /// the result does not depend on the number of threads. Returns where each read ended (after
    /// its last complete line).
    fn read(
        &mut self,
        registry: &Registry,
        reads: &[(PathBuf, Position)],
    ) -> Result<Vec<Position>> {
        use rayon::prelude::*;
        /// A file's parsed lines (number, length, outcome) and its unfinished last line, if any.
        type Block = (
            usize,
            Vec<(usize, usize, Result<Prepared<'static>, String>)>,
            Option<usize>,
        );
        let (tx, rx) = std::sync::mpsc::sync_channel::<Block>(2);
        std::thread::scope(|scope| -> Result<Vec<Position>> {
            let reader = scope.spawn(move || -> Result<Vec<Position>> {
                let mut ends = Vec::with_capacity(reads.len());
                for (f, (file, from)) in reads.iter().enumerate() {
                    let end = crate::store::line_blocks_from(file, *from, |chunks, unfinished| {
                        let block = chunks
                            .par_iter()
                            .flat_map_iter(|&(first, chunk)| {
                                crate::store::lines_of(first, chunk).map(|(n, l)| {
                                    let p = crate::store::parse_line(l)
                                        .and_then(|(l, at)| prepare(registry, l, at))
                                        .map(Prepared::into_owned);
                                    (n, l.len(), p)
                                })
                            })
                            .collect();
                        // A closed channel means the consumer failed; it reports why.
                        let _ = tx.send((f, block, unfinished));
                    })?;
                    ends.push(end);
                }
                Ok(ends)
            });
            for (f, block, unfinished) in rx {
                for (line, bytes, p) in block {
                    match p {
                        Ok(p) => self.add(p),
                        Err(_) if Some(line) == unfinished => {
                            self.notices.push(Notice::TornLineSkipped {
                                file: reads[f].0.clone(),
                                line,
                                bytes,
                            });
                        }
                        Err(e) => self.bad_line(&reads[f].0, line, e),
                    }
                }
            }
            reader.join().expect("the store reader does not panic")
        })
    }

    /// The newest post time not after `now`.
    fn newest_until(&self, now: i64) -> Option<i64> {
        newest_until(self.sources.iter().flat_map(|s| &s.posts), now).0
    }

    /// Whether a post is dated before `t`.
    fn posts_before(&self, t: i64) -> bool {
        self.sources
            .iter()
            .flat_map(|s| &s.posts)
            .any(|p| p.at != i64::MIN && p.at < t)
    }

    /// The corpus of a store: [`CorpusBuilder::finish`], with the store's own notices first and
    /// posts dated after the wall clock counted.
    fn finish_load(self, store: &Store) -> Corpus {
        let mut corpus = self.finish();
        let mut notices = store.notices.clone();
        notices.append(&mut corpus.notices);
        corpus.notices = notices;
        let (_, later) = corpus.newest_until(corpus.loaded_at);
        if later > 0 {
            let newest = corpus.posts.iter().map(|p| p.at).max().unwrap_or(0);
            corpus.quality.future_posts = later;
            corpus.notices.push(Notice::FuturePosts {
                posts: later,
                newest,
            });
        }
        corpus
    }

    pub fn add(&mut self, p: Prepared) {
        if self.seal.as_ref().is_some_and(|s| s.joined_by(&p)) {
            self.joins_seal = true;
        }
        for name in p.unregistered {
            *self.quality.unregistered_accounts.entry(name).or_default() += 1;
        }
        let s = match self.sources.iter().position(|s| s.name == p.source) {
            Some(s) => s,
            None => {
                self.sources.push(SourceState {
                    name: p.source.to_string(),
                    ids: Interner::with_capacity(self.expected_posts),
                    authors: Interner::with_capacity(self.expected_posts / 4),
                    posts: Vec::with_capacity(self.expected_posts),
                    anonymous: 0,
                    listed_replies: Vec::new(),
                    templates: Vec::new(),
                });
                self.sources.len() - 1
            }
        };
        let src = &mut self.sources[s];
        let idx = src.ids.intern(&p.id) as usize;
        if idx >= src.posts.len() {
            src.posts.resize(idx + 1, ABSENT);
        }
        if src.posts[idx].at != i64::MIN {
            self.quality.duplicate_ids += 1;
            return;
        }
        let author = match &p.author {
            Some(a) => src.authors.intern(a),
            None => {
                src.anonymous += 1;
                let name = format!("\u{0}anonymous {}", src.anonymous);
                src.authors.intern(&hashed(Cow::Owned(name)))
            }
        };
        let parent = p.parent.as_ref().map_or(NONE, |h| src.ids.intern(h));
        if parent != NONE && parent as usize >= src.posts.len() {
            src.posts.resize(parent as usize + 1, ABSENT);
        }
        for r in &p.replies {
            let r = src.ids.intern(r);
            if r as usize >= src.posts.len() {
                src.posts.resize(r as usize + 1, ABSENT);
            }
            src.listed_replies.push((idx as u32, r));
        }
        src.posts[idx] = Meta {
            at: p.at,
            author,
            parent,
            parent_missing: false,
            by_brand: p.by_brand,
            to_brand: p.to_brand,
            deflect: p.deflect,
            needs_reply: p.needs_reply,
            reply_missing: false,
            source: s as u16,
            followers: p
                .followers
                .map_or(NONE, |f| f.min(u64::from(NONE - 1)) as u32),
            template: match p.template {
                Some(t) => {
                    src.templates.push(t);
                    (src.templates.len() - 1) as u32
                }
                None => NONE,
            },
        };
        self.quality.posts += 1;
    }

    pub fn finish(self) -> Corpus {
        // The first source's columns become the corpus's (no copy); the others are added.
        let total: usize = self.sources.iter().map(|s| s.posts.len()).sum();
        let mut posts: Vec<Meta> = Vec::new();
        let mut templates = Vec::new();
        let mut offsets = Vec::new();
        let mut author_base = 0u32;
        let mut names = Vec::new();
        let mut ids = Vec::new();
        for mut src in self.sources {
            let template_base = templates.len() as u32;
            let base = posts.len();
            offsets.push(base);
            let mut missing = vec![false; src.posts.len()];
            for &(post, reply) in &src.listed_replies {
                missing[post as usize] |= src.posts[reply as usize].at == i64::MIN;
            }
            let present: Vec<bool> = src.posts.iter().map(|m| m.at != i64::MIN).collect();
            for (m, reply_missing) in src.posts.iter_mut().zip(missing) {
                m.reply_missing = reply_missing;
                if m.at != i64::MIN {
                    m.author += author_base;
                    if m.template != NONE {
                        m.template += template_base;
                    }
                    if m.parent != NONE {
                        if !present[m.parent as usize] {
                            m.parent = NONE;
                            m.parent_missing = true;
                        } else {
                            m.parent += base as u32;
                        }
                    }
                }
            }
            if posts.is_empty() {
                posts = src.posts;
                posts.reserve_exact(total - posts.len());
                templates = src.templates;
            } else {
                posts.append(&mut src.posts);
                templates.append(&mut src.templates);
            }
            author_base += src.authors.len() as u32;
            names.push(src.name);
            ids.push(src.ids);
        }
        Corpus {
            sources: names,
            posts,
            templates,
            ids,
            offsets,
            quality: self.quality,
            notices: self.notices,
            loaded_at: jiff::Timestamp::now().as_second(),
        }
    }
}
