//! Pairing: from reply threads to complaints and their first replies (scoring rules v1,
//! `content/methodology.md`). A pure function of the corpus and the as-of instant.
//!
//! - A **complaint** is a customer post addressed to a brand — it mentions one of the brand's
//!   accounts, or has a brand-authored ancestor, or is answered by a brand — unless it is a
//!   **follow-up**: a post with an ancestor written by the same customer.
//! - Its **brand** is that of the nearest brand-authored ancestor, else the first brand account
//!   mentioned, else the brand whose reply answers it.
//! - Its **first reply** is the earliest post by that brand descending from it through posts
//!   written only by the complainant.
//!
//! Posts created after as-of are treated as not yet written.

use std::cmp::Ordering;

use crate::corpus::{Corpus, NONE};

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
}

#[derive(Debug, Default, Clone, serde::Serialize, PartialEq)]
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

pub struct Pairing {
    pub complaints: Vec<Complaint>,
    pub quality: PairQuality,
}

/// Finds every complaint and its first reply among the posts created up to `as_of`.
pub fn pair(corpus: &Corpus, as_of: i64) -> Pairing {
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

    // Depth-first walk from the roots: for each post, whether an ancestor has the same author
    // (follow-up) and the brand of its nearest brand-authored ancestor.
    let n_authors = posts
        .iter()
        .filter(|p| p.author != NONE)
        .map(|p| p.author as usize + 1)
        .max()
        .unwrap_or(0);
    let mut on_path = vec![0u32; n_authors];
    let mut follow_up = vec![false; n];
    let mut brand_above = vec![NONE; n];
    let mut visited = 0usize;
    // Stack entries: (post, exiting?).
    let mut stack: Vec<(u32, bool)> = Vec::new();
    for &r in &roots {
        stack.push((r, false));
        while let Some((v, exiting)) = stack.pop() {
            let m = &posts[v as usize];
            if exiting {
                on_path[m.author as usize] -= 1;
                continue;
            }
            visited += 1;
            follow_up[v as usize] = on_path[m.author as usize] > 0;
            on_path[m.author as usize] += 1;
            stack.push((v, true));
            let below = if m.by_brand != NONE {
                m.by_brand
            } else {
                brand_above[v as usize]
            };
            for &c in kids(v) {
                brand_above[c as usize] = below;
                stack.push((c, false));
            }
        }
    }
    q.reply_cycles = (0..n).filter(|&i| present(i)).count() - visited;

    // Each complaint, and its first reply through complainant-only chains.
    let mut complaints = Vec::new();
    let mut walk: Vec<u32> = Vec::new();
    for &r in &roots {
        walk.clear();
        walk.push(r);
        // Visit the tree again in any order; only posts that were reached above matter.
        let mut i = 0;
        while i < walk.len() {
            let v = walk[i];
            i += 1;
            walk.extend_from_slice(kids(v));
            let m = &posts[v as usize];
            if m.by_brand != NONE {
                continue;
            }
            if follow_up[v as usize] {
                q.follow_ups += 1;
                continue;
            }
            let named = if brand_above[v as usize] != NONE {
                brand_above[v as usize]
            } else {
                m.to_brand
            };
            let reply = first_reply(corpus, v, named, &kids);
            let brand = if named != NONE {
                named
            } else {
                reply.map_or(NONE, |r| posts[r as usize].by_brand)
            };
            if brand == NONE {
                q.not_addressed += 1;
                continue;
            }
            let reply_s = reply.map(|r| {
                let d = posts[r as usize].at - m.at;
                if d < 0 {
                    q.negative_reply_times += 1;
                }
                d.max(0)
            });
            complaints.push(Complaint {
                post: v,
                source: m.source,
                brand,
                at: m.at,
                first_reply: reply,
                reply_s,
            });
        }
    }
    complaints.sort_by_key(|c| c.post);
    Pairing {
        complaints,
        quality: q,
    }
}

/// The earliest post by `brand` (any brand when `brand` is NONE) among the descendants of `v`
/// reached through posts written only by `v`'s author. Ties on time go to the smaller id.
fn first_reply<'a>(
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
