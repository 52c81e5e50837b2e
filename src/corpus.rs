//! The corpus: every stored post reduced to what pairing needs — time, author, parent, and which
//! brand (if any) wrote it or is named in it — with ids and authors interned to integers.
//!
//! Built from the store (streaming each partition, text skipped) or, in tests, from posts in
//! memory; both go through [`CorpusBuilder::add`], so they resolve brands the same way.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use indexmap::IndexSet;
use serde::Deserialize;

use crate::post::Post;
use crate::registry::Registry;
use crate::source::Network;
use crate::store::{Notice, Store};

pub const NONE: u32 = u32::MAX;

/// One post as pairing sees it.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
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
    pub source: u16,
}

/// What loading noticed about the data (reported, never fatal).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct LoadQuality {
    pub posts: usize,
    /// Lines whose (source, id) was already loaded from another partition: the first is kept.
    pub duplicate_ids: usize,
    /// Lines that are not valid posts (file:line in the notices).
    pub invalid_lines: usize,
    /// Authors the source flags as company accounts, and brand ids named by posts, that the
    /// registry does not know: `source:name` → posts. Their posts are counted as customers' or
    /// not scored; add them to `data/brands.toml` to rank them.
    pub unregistered_accounts: BTreeMap<String, usize>,
}

pub struct Corpus {
    pub sources: Vec<String>,
    pub posts: Vec<Meta>,
    ids: Vec<Interner>,
    /// Offset of each source's first post in `posts`.
    offsets: Vec<usize>,
    pub quality: LoadQuality,
    /// Store notices (torn lines repaired, bad lines skipped).
    pub notices: Vec<Notice>,
}

impl Corpus {
    /// The source name and id of a post.
    pub fn id(&self, post: u32) -> (&str, &str) {
        let p = post as usize;
        let s = self.offsets.partition_point(|&o| o <= p) - 1;
        (&self.sources[s], &self.ids[s][p - self.offsets[s]])
    }

    /// Newest post time, if any post is present.
    pub fn newest(&self) -> Option<i64> {
        self.posts
            .iter()
            .map(|p| p.at)
            .filter(|&t| t != i64::MIN)
            .max()
    }

    /// Reads every partition of the store. Lines are parsed in parallel, block by block, and
    /// added in file order, so the result does not depend on the number of threads.
    pub fn load(store: &Store, registry: &Registry) -> Result<Corpus> {
        use rayon::prelude::*;
        let mut b = CorpusBuilder::new(registry);
        for file in store.partitions(None)? {
            crate::store::line_blocks(&file, |chunks| {
                let parsed: Vec<Vec<(usize, Result<Line, String>)>> = chunks
                    .par_iter()
                    .map(|&(first, chunk)| {
                        crate::store::lines_of(first, chunk)
                            .map(|(n, l)| (n, serde_json::from_slice::<Line>(l).map_err(|e| e.to_string())))
                            .collect()
                    })
                    .collect();
                for (line, parsed) in parsed.into_iter().flatten() {
                    match parsed {
                        Ok(l) => b.add(&l),
                        Err(e) => b.bad_line(&file, line, e),
                    }
                }
            })?;
        }
        let mut corpus = b.finish();
        let mut notices = store.notices.clone();
        notices.append(&mut corpus.notices);
        corpus.notices = notices;
        Ok(corpus)
    }

    /// A corpus of posts held in memory (tests, examples).
    pub fn from_posts(registry: &Registry, posts: &[Post]) -> Corpus {
        let mut b = CorpusBuilder::new(registry);
        for p in posts {
            b.add(&Line {
                source: Cow::Borrowed(&p.source),
                id: Cow::Borrowed(&p.id),
                author: Cow::Borrowed(&p.author),
                created_at: Cow::Owned(crate::time::format_rfc3339(p.created_at)),
                reply_to: p.reply_to.as_deref().map(Cow::Borrowed),
                mentions: p
                    .mentions
                    .iter()
                    .map(|m| Cow::Borrowed(m.as_str()))
                    .collect(),
                inbound: p.inbound,
                brand: p.brand.as_deref().map(Cow::Borrowed),
                to_brand: p.to_brand.as_deref().map(Cow::Borrowed),
            });
        }
        b.finish()
    }
}

/// A stored post line, borrowed, without its text.
#[derive(Deserialize)]
pub struct Line<'a> {
    #[serde(borrow)]
    source: Cow<'a, str>,
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    author: Cow<'a, str>,
    #[serde(borrow)]
    created_at: Cow<'a, str>,
    #[serde(borrow, default)]
    reply_to: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    mentions: Vec<Cow<'a, str>>,
    #[serde(default)]
    inbound: Option<bool>,
    #[serde(borrow, default)]
    brand: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    to_brand: Option<Cow<'a, str>>,
}

type Interner = IndexSet<Box<str>, rustc_hash::FxBuildHasher>;

struct SourceState {
    name: String,
    network: Network,
    ids: Interner,
    authors: Interner,
    posts: Vec<Meta>,
    anonymous: u32,
}

pub struct CorpusBuilder<'r> {
    registry: &'r Registry,
    sources: Vec<SourceState>,
    quality: LoadQuality,
    notices: Vec<Notice>,
}

const ABSENT: Meta = Meta {
    at: i64::MIN,
    author: NONE,
    parent: NONE,
    parent_missing: false,
    by_brand: NONE,
    to_brand: NONE,
    source: 0,
};

fn intern(set: &mut Interner, s: &str) -> u32 {
    match set.get_index_of(s) {
        Some(i) => i as u32,
        None => set.insert_full(s.into()).0 as u32,
    }
}

/// Interns a handle ignoring ASCII case, without allocating for short lowercase handles.
fn intern_handle(set: &mut Interner, s: &str) -> u32 {
    let mut buf = [0u8; 64];
    if s.len() <= buf.len() {
        buf[..s.len()].copy_from_slice(s.as_bytes());
        buf[..s.len()].make_ascii_lowercase();
        intern(set, std::str::from_utf8(&buf[..s.len()]).expect("ASCII case change keeps UTF-8"))
    } else {
        intern(set, &s.to_ascii_lowercase())
    }
}

impl<'r> CorpusBuilder<'r> {
    pub fn new(registry: &'r Registry) -> CorpusBuilder<'r> {
        CorpusBuilder {
            registry,
            sources: Vec::new(),
            quality: LoadQuality::default(),
            notices: Vec::new(),
        }
    }

    fn bad_line(&mut self, file: &Path, line: usize, error: String) {
        self.quality.invalid_lines += 1;
        self.notices.push(Notice::BadLine {
            file: file.to_path_buf(),
            line,
            error,
        });
    }

    pub fn add(&mut self, l: &Line) {
        let Ok(at) = crate::time::parse_rfc3339(&l.created_at) else {
            self.quality.invalid_lines += 1;
            return;
        };
        let s = match self.sources.iter().position(|s| s.name == l.source) {
            Some(s) => s,
            None => {
                self.sources.push(SourceState {
                    name: l.source.to_string(),
                    network: crate::source::network(&l.source),
                    ids: Interner::default(),
                    authors: Interner::default(),
                    posts: Vec::new(),
                    anonymous: 0,
                });
                self.sources.len() - 1
            }
        };
        let registry = self.registry;
        let src = &mut self.sources[s];
        let idx = intern(&mut src.ids, &l.id) as usize;
        if idx >= src.posts.len() {
            src.posts.resize(idx + 1, ABSENT);
        }
        if src.posts[idx].at != i64::MIN {
            self.quality.duplicate_ids += 1;
            return;
        }
        let author = if l.author.is_empty() {
            src.anonymous += 1;
            intern(
                &mut src.authors,
                &format!("\u{0}anonymous {}", src.anonymous),
            )
        } else {
            intern_handle(&mut src.authors, &l.author)
        };
        let mut by_brand = registry
            .by_account(src.network, &l.author)
            .map_or(NONE, |b| b as u32);
        let mut note = |name: &str| {
            *self
                .quality
                .unregistered_accounts
                .entry(format!("{}:{name}", src.name))
                .or_default() += 1;
        };
        if let Some(b) = &l.brand {
            match registry.by_id(b) {
                Some(i) => by_brand = i as u32,
                None => note(b),
            }
        }
        if by_brand == NONE && l.inbound == Some(false) && !l.author.is_empty() {
            note(&l.author);
        }
        let mut to_brand = NONE;
        if let Some(b) = &l.to_brand {
            match registry.by_id(b) {
                Some(i) => to_brand = i as u32,
                None => note(b),
            }
        }
        if to_brand == NONE {
            to_brand = l
                .mentions
                .iter()
                .find_map(|m| registry.by_account(src.network, m))
                .map_or(NONE, |b| b as u32);
        }
        let parent = l
            .reply_to
            .as_deref()
            .map_or(NONE, |p| intern(&mut src.ids, p));
        if parent != NONE && parent as usize >= src.posts.len() {
            src.posts.resize(parent as usize + 1, ABSENT);
        }
        src.posts[idx] = Meta {
            at,
            author,
            parent,
            parent_missing: false,
            by_brand,
            to_brand,
            source: s as u16,
        };
        self.quality.posts += 1;
    }

    pub fn finish(self) -> Corpus {
        let mut posts = Vec::new();
        let mut offsets = Vec::new();
        let mut author_base = 0u32;
        let mut names = Vec::new();
        let mut ids = Vec::new();
        for src in self.sources {
            let base = posts.len();
            offsets.push(base);
            let n_authors = src.authors.len() as u32;
            for m in &src.posts {
                let mut m = *m;
                if m.at != i64::MIN {
                    m.author += author_base;
                    if m.parent != NONE {
                        if src.posts[m.parent as usize].at == i64::MIN {
                            m.parent = NONE;
                            m.parent_missing = true;
                        } else {
                            m.parent += base as u32;
                        }
                    }
                }
                posts.push(m);
            }
            author_base += n_authors;
            names.push(src.name);
            ids.push(src.ids);
        }
        Corpus {
            sources: names,
            posts,
            ids,
            offsets,
            quality: self.quality,
            notices: self.notices,
        }
    }
}
