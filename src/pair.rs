//! Pairing: from reply threads to complaints and their first replies (`content/methodology.md`).
//! A pure function of the corpus, the as-of instant and the method version.
//!
//! - A **complaint** is a customer post addressed to a brand — it mentions one of the brand's
//!   accounts, or has a brand-authored ancestor, or is answered by a brand — unless it is a
//!   **follow-up**: a post with an ancestor written by the same customer.
//! - Its **brand** is that of the nearest brand-authored ancestor, else the first brand account
//!   mentioned, else the brand whose reply answers it.
//! - Its **first reply**: version 1, the earliest post by that brand descending from it through
//!   posts written only by the complainant; version 2, the earliest post by that brand
//!   descending from it whose parent the complainant wrote (others may have posted in between).
//! - Version 2 also finds its **public answer**: the earliest such reply that does not send the
//!   customer elsewhere.
//!
//! Posts created after as-of are treated as not yet written.

use std::cmp::Ordering;

use rayon::prelude::*;

use crate::corpus::{Corpus, NONE};
use crate::method::Version;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Complaint {
    /// Index of the complaint post in the corpus.
    pub post: u32,
    pub source: u16,
    pub brand: u32,
    pub at: i64,
    /// Index of the first reply post, if the brand answered by as-of.
    pub first_reply: Option<u32>,
    /// Seconds from complaint to first reply, negative values (clock skew) counted as 0.
    pub reply_s: Option<i64>,
    /// The first reply sends the customer elsewhere (DM, e-mail, phone…).
    pub deflected: bool,
    /// Seconds from complaint to the first reply that does not send the customer elsewhere.
    pub public_s: Option<i64>,
    /// The opening post needs a reply (a complaint or a request; version 2 scores only these).
    pub needs_reply: bool,
    /// Unanswered in the data, but a reply is listed that the data lacks: its reply time is
    /// unknown (version 2 leaves it out of the estimates and counts it).
    pub cut_off: bool,
    /// The complainant (the corpus's interned author).
    pub customer: u32,
    /// The complainant's follower count when collected, or [`NONE`] when unknown.
    pub followers: u32,
    /// The first reply's template signature (index into `Corpus::templates`), or [`NONE`].
    pub template: u32,
}

#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(default)]
pub struct PairQuality {
    /// Posts created after as-of, left out.
    pub posts_after_as_of: usize,
    /// Customer posts that belong to an earlier complaint of the same customer.
    pub follow_ups: usize,
    /// Customer posts addressed to no registered brand: not complaints.
    pub not_addressed: usize,
    /// Posts whose parent is not in the data (the thread was cut): their chain starts there.
    pub missing_parents: usize,
    /// Posts whose reply chain loops back on itself: left out.
    pub reply_cycles: usize,
    /// First replies timed before their complaint: counted as answered in 0 s.
    pub negative_reply_times: usize,
}

impl PairQuality {
    /// Adds the counts of `other` (threads paired apart) to these.
    pub fn add(&mut self, other: &PairQuality) {
        self.posts_after_as_of += other.posts_after_as_of;
        self.follow_ups += other.follow_ups;
        self.not_addressed += other.not_addressed;
        self.missing_parents += other.missing_parents;
        self.reply_cycles += other.reply_cycles;
        self.negative_reply_times += other.negative_reply_times;
    }
}

pub struct Pairing {
    pub complaints: Vec<Complaint>,
    pub quality: PairQuality,
}

/// Finds every complaint and its first reply among the posts created up to `as_of`.
pub fn pair(corpus: &Corpus, as_of: i64, version: Version) -> Pairing {
    let posts = &corpus.posts;
    let n = posts.len();
    let mut q = PairQuality::default();
    let present = |i: usize| posts[i].at != i64::MIN && posts[i].at <= as_of;
    q.posts_after_as_of = posts
        .iter()
        .filter(|p| p.at != i64::MIN && p.at > as_of)
        .count();

    // Children lists (CSR), over present posts only; a present post under an absent parent
    // (cut thread, or parent after as-of) is a root.
    let mut start = vec![0u32; n + 1];
    let mut roots = Vec::new();
    for (i, m) in posts.iter().enumerate() {
        if !present(i) {
            continue;
        }
        let p = m.parent;
        if p != NONE && present(p as usize) {
            start[p as usize + 1] += 1;
        } else {
            if m.parent_missing || p != NONE {
                q.missing_parents += 1;
            }
            roots.push(i as u32);
        }
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut children = vec![0u32; start[n] as usize];
    for (i, m) in posts.iter().enumerate() {
        let p = m.parent;
        if present(i) && p != NONE && present(p as usize) {
            children[fill[p as usize] as usize] = i as u32;
            fill[p as usize] += 1;
        }
    }
    let kids = |v: u32| &children[start[v as usize] as usize..start[v as usize + 1] as usize];

    // Threads are independent: walk them in parallel, each depth-first from its root, knowing
    // at every post whether an ancestor has the same author (a follow-up) and the brand of the
    // nearest brand-written ancestor.
    let n_authors = posts
        .iter()
        .filter(|p| p.author != NONE)
        .map(|p| p.author as usize + 1)
        .max()
        .unwrap_or(0);
    let found: Vec<Found> = roots
        .par_chunks(4096)
        .map_init(
            || vec![0u32; n_authors],
            |on_path, chunk| {
                // About one complaint a thread: room for them at once.
                let mut f = Found {
                    complaints: Vec::with_capacity(chunk.len() + chunk.len() / 4),
                    ..Found::default()
                };
                for &r in chunk {
                    walk_thread(corpus, r, &kids, version, on_path, &mut f);
                }
                f
            },
        )
        .collect();
    let mut complaints = Vec::with_capacity(found.iter().map(|f| f.complaints.len()).sum());
    let mut visited = 0;
    for f in found {
        complaints.extend(f.complaints);
        visited += f.visited;
        q.follow_ups += f.follow_ups;
        q.not_addressed += f.not_addressed;
        q.negative_reply_times += f.negative_reply_times;
    }
    q.reply_cycles = (0..n).filter(|&i| present(i)).count() - visited;
    // Each post is at most one complaint: no ties, so an unstable sort (no scratch copy) gives
    // the one order.
    complaints.sort_unstable_by_key(|c| c.post);
    Pairing {
        complaints,
        quality: q,
    }
}

/// What walking some threads found.
#[derive(Default)]
struct Found {
    complaints: Vec<Complaint>,
    visited: usize,
    follow_ups: usize,
    not_addressed: usize,
    negative_reply_times: usize,
}

/// Walks one thread from its root. `on_path` counts, per author, the posts on the path from the
/// root to the current post; it is all zeros again on return.
fn walk_thread<'a>(
    corpus: &Corpus,
    root: u32,
    kids: &impl Fn(u32) -> &'a [u32],
    version: Version,
    on_path: &mut [u32],
    f: &mut Found,
) {
    let posts = &corpus.posts;
    // Stack entries: (post, brand of the nearest brand-written ancestor, exiting?).
    let mut stack: Vec<(u32, u32, bool)> = vec![(root, NONE, false)];
    while let Some((v, brand_above, exiting)) = stack.pop() {
        let m = &posts[v as usize];
        if exiting {
            on_path[m.author as usize] -= 1;
            continue;
        }
        f.visited += 1;
        let follow_up = on_path[m.author as usize] > 0;
        on_path[m.author as usize] += 1;
        stack.push((v, brand_above, true));
        let below = if m.by_brand != NONE {
            m.by_brand
        } else {
            brand_above
        };
        // Children in reverse, so they are visited in order.
        for &c in kids(v).iter().rev() {
            stack.push((c, below, false));
        }
        if m.by_brand != NONE {
            continue;
        }
        if follow_up {
            f.follow_ups += 1;
            continue;
        }
        let named = if brand_above != NONE {
            brand_above
        } else {
            m.to_brand
        };
        let replies = match version {
            Version::V1 => Replies {
                first: own_chain_reply(corpus, v, named, kids),
                public: None,
                missing: false,
            },
            Version::V2 => replies_to_complainant(corpus, v, named, kids),
        };
        let brand = if named != NONE {
            named
        } else {
            replies.first.map_or(NONE, |r| posts[r as usize].by_brand)
        };
        if brand == NONE {
            f.not_addressed += 1;
            continue;
        }
        let after = |r: u32| (posts[r as usize].at - m.at).max(0);
        if replies.first.is_some_and(|r| posts[r as usize].at < m.at) {
            f.negative_reply_times += 1;
        }
        f.complaints.push(Complaint {
            post: v,
            source: m.source,
            brand,
            at: m.at,
            first_reply: replies.first,
            reply_s: replies.first.map(after),
            deflected: replies.first.is_some_and(|r| posts[r as usize].deflect),
            public_s: replies.public.map(after),
            needs_reply: m.needs_reply,
            cut_off: replies.first.is_none() && replies.missing,
            customer: m.author,
            followers: m.followers,
            template: replies.first.map_or(NONE, |r| posts[r as usize].template),
        });
    }
}

/// A complaint's first reply and (version 2) its public answer, and whether a reply the data
/// lacks was listed on the complainant's posts.
struct Replies {
    first: Option<u32>,
    public: Option<u32>,
    missing: bool,
}

/// Version 2: among the descendants of `v`, the brand posts (by `brand`, or any brand when
/// `brand` is NONE) whose parent `v`'s author wrote: the earliest, and the earliest that does
/// not send the customer elsewhere. Ties on time go to the smaller id.
fn replies_to_complainant<'a>(
    corpus: &Corpus,
    v: u32,
    brand: u32,
    kids: &impl Fn(u32) -> &'a [u32],
) -> Replies {
    let posts = &corpus.posts;
    let author = posts[v as usize].author;
    let mut first: Option<u32> = None;
    let mut public: Option<u32> = None;
    let mut missing = false;
    let keep = |best: &mut Option<u32>, c: u32| {
        if best.is_none_or(|b| earlier(corpus, c, b) == Ordering::Less) {
            *best = Some(c);
        }
    };
    let mut frontier = vec![v];
    while let Some(u) = frontier.pop() {
        let from_complainant = posts[u as usize].author == author;
        missing |= from_complainant && posts[u as usize].reply_missing;
        for &c in kids(u) {
            let m = &posts[c as usize];
            if from_complainant && m.by_brand != NONE && (brand == NONE || m.by_brand == brand) {
                keep(&mut first, c);
                if !m.deflect {
                    keep(&mut public, c);
                }
            }
            frontier.push(c);
        }
    }
    // With any brand allowed, the public answer must come from the brand that replied first.
    if brand == NONE {
        if let Some(f) = first {
            let b = posts[f as usize].by_brand;
            if public.is_some_and(|p| posts[p as usize].by_brand != b) {
                return replies_to_complainant(corpus, v, b, kids);
            }
        }
    }
    Replies {
        first,
        public,
        missing,
    }
}

/// Version 1: the earliest post by `brand` (any brand when `brand` is NONE) among the
/// descendants of `v` reached through posts written only by `v`'s author. Ties on time go to
/// the smaller id.
fn own_chain_reply<'a>(
    corpus: &Corpus,
    v: u32,
    brand: u32,
    kids: &impl Fn(u32) -> &'a [u32],
) -> Option<u32> {
    let posts = &corpus.posts;
    let author = posts[v as usize].author;
    let mut best: Option<u32> = None;
    let mut frontier = vec![v];
    while let Some(u) = frontier.pop() {
        for &c in kids(u) {
            let m = &posts[c as usize];
            if m.by_brand != NONE {
                if (brand == NONE || m.by_brand == brand)
                    && best.is_none_or(|b| earlier(corpus, c, b) == Ordering::Less)
                {
                    best = Some(c);
                }
            } else if m.author == author {
                frontier.push(c);
            }
        }
    }
    best
}

/// Orders posts by time, then by id (numerically when both ids are numbers).
fn earlier(corpus: &Corpus, a: u32, b: u32) -> Ordering {
    let (pa, pb) = (&corpus.posts[a as usize], &corpus.posts[b as usize]);
    pa.at.cmp(&pb.at).then_with(|| {
        let (ia, ib) = (corpus.id(a).1, corpus.id(b).1);
        match (ia.parse::<u128>(), ib.parse::<u128>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => ia.cmp(ib),
        }
    })
}
