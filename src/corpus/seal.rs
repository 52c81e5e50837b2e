//! Sealing: the threads a run can no longer change, kept as what they contributed rather than
//! as posts, so the daily `score` and `build` read and pair only the threads the ranking
//! window can still reach — their cost grows with the window, not with the store's history.
//!
//! A thread (posts joined by reply links, within one source, with the ids they name) is
//! **sealed** when every post in it is dated before the **seal line**: the first day of the
//! month holding the start of the ranking window (as-of less `window_days`) of the newest post.
//! A sealed thread's complaints can only enter the monthly history (the window starts after the
//! line), and what pairing finds in it does not depend on the as-of: the same complaints, first
//! replies and reply times at any as-of after the line. So the index keeps, instead of its
//! posts:
//!
//! - each sealed complaint's brand, time, reply time and flags, from which every run observes
//!   it at its own as-of (a complaint still unanswered is followed until as-of), so the history
//!   figures are the ones a full read gives;
//! - the pairing counts of the sealed threads (follow-ups, posts addressed to no brand…);
//! - a 128-bit hash (xxh3) of every sealed id, stored or only named by a sealed post, in a file
//!   of its own beside the index (`sealed-ids.bin`), read only when posts are added or stored
//!   ids looked up (`import` and `collect` know sealed posts as stored).
//!
//! The load counts (posts, duplicates, invalid lines, unregistered accounts) stay in the index
//! whole; the authors and template signatures only sealed posts use go. The seal is given up —
//! a full read, then a new seal — when:
//!
//! - a new post repeats a sealed id, replies to one, or is named by a sealed post (a late reply
//!   into a sealed thread, a late parent);
//! - anything else the index cannot vouch for happens (a rewritten partition after `forget` or
//!   `reclassify`, another registry…: see `index.rs`);
//! - a run needs the sealed threads as posts: an as-of whose window starts before the line
//!   (`--as-of` in the past, a longer window), or another method version.
//!
//! As time passes the line moves on a month at a time; each move seals more threads of the
//! posts the index holds (no full read). The tests compare every figure of the leaderboard with
//! and without a seal.

use std::borrow::Cow;

use xxhash_rust::xxh3::xxh3_128;

use super::{CorpusBuilder, NONE, Prepared, SourceState, hashed};
use crate::method::Version;
use crate::pair::PairQuality;

/// A complaint of a sealed thread: what the monthly history needs of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SealedComplaint {
    pub brand: u32,
    pub at: i64,
    /// Seconds from the complaint to its first reply (as [`crate::pair::Complaint::reply_s`]).
    pub reply_s: Option<i64>,
    pub needs_reply: bool,
    pub cut_off: bool,
}

/// What the sealed threads contributed.
#[derive(Debug)]
pub struct Seal {
    /// Every post of a sealed thread is dated before this instant (a month's first second).
    pub line: i64,
    /// The method version the sealed threads were paired with.
    pub version: Version,
    pub complaints: Vec<SealedComplaint>,
    pub quality: PairQuality,
    /// Posts sealed away.
    pub posts: usize,
    /// The sealed ids, when read (they live in a file of their own beside the index, read
    /// only by runs that add posts or look ids up: [`Seal::read_ids`]).
    pub(super) ids: Option<Vec<SealedIds>>,
    /// The checksum of that file, once written.
    pub(super) ids_sum: Option<u64>,
}

/// One source's sealed ids, hashed, each list sorted.
#[derive(Debug, Default)]
pub(super) struct SealedIds {
    pub(super) source: String,
    /// Ids of sealed posts.
    pub(super) stored: Vec<u128>,
    /// Ids sealed posts name (as parent or listed reply) that the store lacks.
    pub(super) named: Vec<u128>,
}

fn id_hash(id: &str) -> u128 {
    xxh3_128(id.as_bytes())
}

impl Seal {
    fn source(&self, source: &str) -> Option<&SealedIds> {
        self.ids
            .as_ref()
            .expect("the sealed ids are read before they are looked up")
            .iter()
            .find(|s| s.source == source)
    }

    /// Whether the store holds a sealed post `id` of `source`.
    pub(super) fn stores(&self, source: &str, id: &str) -> bool {
        self.source(source)
            .is_some_and(|s| s.stored.binary_search(&id_hash(id)).is_ok())
    }

    /// Whether a new post joins a sealed thread: its id, its parent or a reply it lists is a
    /// sealed id (stored or named).
    pub(super) fn joined_by(&self, p: &Prepared) -> bool {
        let Some(s) = self.source(&p.source) else {
            return false;
        };
        let sealed = |id: &str| {
            let h = id_hash(id);
            s.stored.binary_search(&h).is_ok() || s.named.binary_search(&h).is_ok()
        };
        sealed(&p.id.1)
            || p.parent.as_ref().is_some_and(|(_, id)| sealed(id))
            || p.replies.iter().any(|(_, id)| sealed(id))
    }
}

impl CorpusBuilder {
    /// Seals every thread wholly before `line`, paired by `version` (see the module's
    /// documentation), on top of the seal the builder holds (of the same version, with an
    /// earlier line). Returns the posts sealed now.
    pub(super) fn seal(&mut self, line: i64, version: Version) -> usize {
        let mut seal = self.seal.take().unwrap_or(Seal {
            line,
            version,
            complaints: Vec::new(),
            quality: PairQuality::default(),
            posts: 0,
            ids: Some(Vec::new()),
            ids_sum: None,
        });
        debug_assert!(seal.version == version && seal.line <= line);
        seal.line = line;
        let masks: Vec<Vec<bool>> = self.sources.iter().map(|s| sealable(s, line)).collect();
        let sealed: usize = self
            .sources
            .iter()
            .zip(&masks)
            .map(|(s, m)| {
                s.posts
                    .iter()
                    .zip(m)
                    .filter(|(p, m)| **m && p.at != i64::MIN)
                    .count()
            })
            .sum();
        if sealed > 0 {
            // The sealed threads are closed: paired apart, they give what they give within
            // the whole corpus.
            let parts: Vec<SourceState> = self
                .sources
                .iter()
                .zip(&masks)
                .map(|(s, m)| s.keep(m))
                .collect();
            let all = seal
                .ids
                .as_mut()
                .expect("the sealed ids are read before more are sealed");
            seal.ids_sum = None;
            for part in parts.iter().filter(|p| !p.posts.is_empty()) {
                let ids = match all.iter().position(|s| s.source == part.name) {
                    Some(i) => &mut all[i],
                    None => {
                        all.push(SealedIds {
                            source: part.name.clone(),
                            ..SealedIds::default()
                        });
                        all.last_mut().expect("pushed")
                    }
                };
                for (i, m) in part.posts.iter().enumerate() {
                    let h = id_hash(part.ids.get(i));
                    if m.at == i64::MIN {
                        ids.named.push(h);
                    } else {
                        ids.stored.push(h);
                    }
                }
                ids.stored.sort_unstable();
                ids.named.sort_unstable();
            }
            let corpus = CorpusBuilder {
                sources: parts,
                ..CorpusBuilder::default()
            }
            .finish();
            let pairing = crate::pair::pair(&corpus, line, version);
            drop(corpus);
            seal.complaints
                .extend(pairing.complaints.iter().map(|c| SealedComplaint {
                    brand: c.brand,
                    at: c.at,
                    reply_s: c.reply_s,
                    needs_reply: c.needs_reply,
                    cut_off: c.cut_off,
                }));
            // By brand and time, as scoring takes them a month at a time.
            seal.complaints.sort_unstable_by_key(|c| (c.brand, c.at));
            seal.quality.add(&pairing.quality);
            seal.posts += sealed;
            for (src, mask) in self.sources.iter_mut().zip(&masks) {
                if mask.contains(&true) {
                    let live: Vec<bool> = mask.iter().map(|m| !m).collect();
                    *src = src.keep(&live);
                }
            }
        }
        self.seal = Some(seal);
        sealed
    }
}

/// The slots of a source (posts, and ids only named) in threads whose every post is dated
/// before `line`: components of the reply links and listed replies.
fn sealable(s: &SourceState, line: i64) -> Vec<bool> {
    let n = s.posts.len();
    let mut up: Vec<u32> = (0..n as u32).collect();
    fn root(up: &mut [u32], mut x: u32) -> u32 {
        while up[x as usize] != x {
            up[x as usize] = up[up[x as usize] as usize];
            x = up[x as usize];
        }
        x
    }
    fn join(up: &mut [u32], a: u32, b: u32) {
        let (ra, rb) = (root(up, a), root(up, b));
        if ra != rb {
            up[ra.max(rb) as usize] = ra.min(rb);
        }
    }
    for (i, m) in s.posts.iter().enumerate() {
        if m.at != i64::MIN && m.parent != NONE {
            join(&mut up, i as u32, m.parent);
        }
    }
    for &(p, r) in &s.listed_replies {
        join(&mut up, p, r);
    }
    let mut live = vec![false; n];
    for (i, m) in s.posts.iter().enumerate() {
        if m.at != i64::MIN && m.at >= line {
            live[root(&mut up, i as u32) as usize] = true;
        }
    }
    (0..n as u32)
        .map(|i| !live[root(&mut up, i) as usize])
        .collect()
}

impl SourceState {
    /// The slots `keep` marks (whole threads: no kept post points at a dropped one), with the
    /// authors and template signatures they use. Authors and signatures are only ever
    /// compared, so their new numbering changes nothing.
    fn keep(&self, keep: &[bool]) -> SourceState {
        let kept = keep.iter().filter(|k| **k).count();
        let mut at = vec![NONE; self.posts.len()];
        let mut ids = super::Interner::with_capacity(kept);
        let mut authors = super::Interner::with_capacity(kept / 4);
        let mut author_at = vec![NONE; self.authors.len()];
        let mut templates = Vec::new();
        let mut posts = Vec::with_capacity(kept);
        for (i, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
            at[i] = posts.len() as u32;
            ids.intern(&hashed(Cow::Borrowed(self.ids.get(i))));
            let mut m = self.posts[i];
            if m.at != i64::MIN {
                let a = m.author as usize;
                if author_at[a] == NONE {
                    author_at[a] = authors.intern(&hashed(Cow::Borrowed(self.authors.get(a))));
                }
                m.author = author_at[a];
                if m.template != NONE {
                    templates.push(self.templates[m.template as usize]);
                    m.template = (templates.len() - 1) as u32;
                }
            }
            posts.push(m);
        }
        for m in &mut posts {
            if m.parent != NONE {
                m.parent = at[m.parent as usize];
            }
        }
        let listed_replies = self
            .listed_replies
            .iter()
            .filter(|&&(p, _)| keep[p as usize])
            .map(|&(p, r)| (at[p as usize], at[r as usize]))
            .collect();
        SourceState {
            name: self.name.clone(),
            ids,
            authors,
            posts,
            anonymous: self.anonymous,
            listed_replies,
            templates,
        }
    }
}
