//! Forgetting: a post, or every post of an author, removed from both stores and kept out.
//!
//! `replyrank forget` and the deletions a collection sees (a post the network says is gone)
//! work the same way:
//!
//! 1. the request is appended to `data/store/forgotten.jsonl` and synced — as pseudonyms only
//!    (the site's key for collected sources; for archive sources, whose ids are public, a fixed
//!    key [`ARCHIVE_KEY`]), so the list can be committed without naming anyone;
//! 2. every partition of both stores holding a matching post is rewritten without it
//!    ([`crate::store::Store::rewrite`]: written beside, synced, renamed over), so a crash
//!    leaves each partition whole, before or after; running `forget` again finishes the job;
//! 3. every later write leaves out what the list covers ([`Forgotten::covers`]), so a
//!    collection does not bring a forgotten post back, and each collection applies the list to
//!    the private store first (a CI cache may hold an older copy).

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use crate::post::{Post, StoredLine};
use crate::publish::{Pseudonymiser, pseudonymised};
use crate::root::SiteRoot;
use crate::store::{Edit, Store};
use crate::stores::Stores;

/// The key of the records of archive sources (TWCS, pairs), whose ids are already public. Not a
/// secret.
pub const ARCHIVE_KEY: &[u8] = b"replyrank: archive sources keep their public ids; not a secret";

/// One line of `forgotten.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    source: String,
    /// The pseudonym of a forgotten post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    post: Option<String>,
    /// The pseudonym of an author all of whose posts are forgotten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    author: Option<String>,
    /// When it was recorded (RFC 3339).
    at: String,
    /// `request` (someone asked) or `deleted` (the network said the post is gone).
    why: String,
}

/// Why a post is forgotten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    Request,
    Deleted,
}

/// What `forget` removed: posts, and where.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub published: usize,
    pub private: usize,
    pub partitions: usize,
}

/// Everything forgotten so far, as (source, pseudonym) pairs.
#[derive(Debug, Default)]
pub struct Forgotten {
    posts: FxHashSet<(String, String)>,
    authors: FxHashSet<(String, String)>,
    sources: FxHashSet<String>,
}

/// The key a source's records are made with: the site's for a collected source (`None` when
/// it is not set), [`ARCHIVE_KEY`] otherwise.
fn record_key<'k>(source: &str, key: Option<&'k Pseudonymiser>) -> Option<Cow<'k, Pseudonymiser>> {
    if pseudonymised(source) {
        key.map(Cow::Borrowed)
    } else {
        Some(Cow::Owned(
            Pseudonymiser::new(ARCHIVE_KEY).expect("the archive key is long enough"),
        ))
    }
}

impl Forgotten {
    /// Reads `data/store/forgotten.jsonl` (none yet: nothing forgotten). A line that cannot be
    /// read is an error: writing posts without knowing what was forgotten could bring them back.
    pub fn load(root: &SiteRoot) -> Result<Forgotten> {
        let path = root.forgotten();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Forgotten::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let mut out = Forgotten::default();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let r: Record = serde_json::from_str(line).map_err(|e| {
                anyhow::anyhow!(
                    "{}:{}: not a forget record ({e}); fix the line (each is \
                     {{\"source\", \"post\" or \"author\", \"at\", \"why\"}}) — nothing is \
                     written to the stores until every record can be read",
                    path.display(),
                    i + 1
                )
            })?;
            out.add(&r);
        }
        Ok(out)
    }

    fn add(&mut self, r: &Record) {
        self.sources.insert(r.source.clone());
        if let Some(p) = &r.post {
            self.posts.insert((r.source.clone(), p.clone()));
        }
        if let Some(a) = &r.author {
            self.authors.insert((r.source.clone(), a.clone()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    fn has(&self, source: &str, post: &str, author: &str) -> bool {
        let k = |v: &str| (source.to_string(), v.to_string());
        self.posts.contains(&k(post)) || (!author.is_empty() && self.authors.contains(&k(author)))
    }

    /// Whether a raw post (as collected or imported) is forgotten. A collected source's post
    /// cannot be checked without the key; such a post cannot be written either.
    pub fn covers(&self, p: &Post<'_>, key: Option<&Pseudonymiser>) -> bool {
        self.covers_raw(&p.source, &p.id, &p.author, key)
    }

    fn covers_raw(
        &self,
        source: &str,
        id: &str,
        author: &str,
        key: Option<&Pseudonymiser>,
    ) -> bool {
        if !self.sources.contains(source) {
            return false;
        }
        let Some(k) = record_key(source, key) else {
            return false;
        };
        let author = if author.is_empty() {
            String::new()
        } else {
            k.author(source, author)
        };
        self.has(source, &k.post(source, id), &author)
    }

    /// Whether a stored line is forgotten: `published` lines of a collected source already
    /// hold pseudonyms.
    fn covers_line(
        &self,
        l: &StoredLine<'_>,
        published: bool,
        key: Option<&Pseudonymiser>,
    ) -> bool {
        if published && pseudonymised(&l.source) {
            self.sources.contains(l.source.as_ref()) && self.has(&l.source, &l.id, &l.author)
        } else {
            self.covers_raw(&l.source, &l.id, &l.author, key)
        }
    }
}

/// What to forget, as a person names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A post by its source and network id.
    Post { source: String, id: String },
    /// A Bluesky post named by a handle and its record key: found in the private store.
    BlueskyPost { handle: String, rkey: String },
    /// Every post of an account, on one source or (`None`) on every source.
    Author {
        source: Option<String>,
        author: String,
    },
}

impl Target {
    /// Reads what `forget` is given: a post URL (X, Bluesky, Mastodon), an `at://` URI, a DID,
    /// `@handle`, `user@instance`, or with `source` a post id (`author`: an account id).
    pub fn parse(s: &str, source: Option<&str>, author: bool) -> Result<Target> {
        let s = s.trim();
        if let Some(source) = source {
            if !crate::source::is_valid_name(source) {
                bail!("--source {source:?} is not a source name");
            }
            let v = s.trim_start_matches('@').to_string();
            return Ok(if author {
                Target::Author {
                    source: Some(source.into()),
                    author: v,
                }
            } else {
                Target::Post {
                    source: source.into(),
                    id: s.to_string(),
                }
            });
        }
        if s.starts_with("https://") || s.starts_with("http://") {
            return Target::from_url(s);
        }
        if s.starts_with("at://") {
            return Ok(Target::Post {
                source: "bluesky".into(),
                id: s.into(),
            });
        }
        if s.starts_with("did:") {
            return Ok(Target::Author {
                source: Some("bluesky".into()),
                author: s.into(),
            });
        }
        let bare = s.trim_start_matches('@');
        if bare.contains('@') {
            return Ok(Target::Author {
                source: Some("mastodon".into()),
                author: bare.into(),
            });
        }
        if s.starts_with('@') && bare.len() > 1 {
            return Ok(Target::Author {
                source: None,
                author: bare.into(),
            });
        }
        bail!(
            "cannot tell what {s:?} is: give a post's URL, an at:// URI, a DID, @handle, \
             user@instance, or --source NAME with a post id (and --author for an account id)"
        )
    }

    fn from_url(s: &str) -> Result<Target> {
        let url = url::Url::parse(s).map_err(|e| anyhow::anyhow!("{s:?} is not a URL: {e}"))?;
        let host = url.host_str().unwrap_or("").trim_start_matches("www.");
        let parts: Vec<&str> = url
            .path_segments()
            .map(|p| p.filter(|x| !x.is_empty()).collect())
            .unwrap_or_default();
        let post = |source: &str, id: String| Target::Post {
            source: source.into(),
            id,
        };
        let author = |source: &str, a: &str| Target::Author {
            source: Some(source.into()),
            author: a.trim_start_matches('@').into(),
        };
        let unknown = || {
            anyhow::anyhow!(
                "{s:?}: not a post or profile URL replyrank knows (x.com/USER/status/ID, \
                 bsky.app/profile/WHO/post/KEY, https://INSTANCE/@USER/ID)"
            )
        };
        Ok(match host {
            "x.com" | "twitter.com" | "mobile.twitter.com" | "mobile.x.com" => match parts[..] {
                [_, "status", id, ..] => post("x", id.into()),
                [user] => author("x", user),
                _ => return Err(unknown()),
            },
            "bsky.app" => match parts[..] {
                ["profile", who, "post", rkey] if who.starts_with("did:") => {
                    post("bluesky", format!("at://{who}/app.bsky.feed.post/{rkey}"))
                }
                ["profile", who, "post", rkey] => Target::BlueskyPost {
                    handle: who.into(),
                    rkey: rkey.into(),
                },
                ["profile", who] => author("bluesky", who),
                _ => return Err(unknown()),
            },
            _ => match parts[..] {
                [user, id] if user.starts_with('@') => post("mastodon", format!("{host}:{id}")),
                ["users", _, "statuses", id] => post("mastodon", format!("{host}:{id}")),
                [user] if user.starts_with('@') => author(
                    "mastodon",
                    &format!("{}@{host}", user.trim_start_matches('@')),
                ),
                _ => return Err(unknown()),
            },
        })
    }
}

/// Records `targets` as forgotten, then removes them from both stores. Returns what was removed.
pub fn forget(
    root: &SiteRoot,
    stores: &mut Stores,
    targets: &[Target],
    why: Why,
) -> Result<Report> {
    if targets.is_empty() {
        return Ok(Report::default());
    }
    let mut records = Vec::new();
    let at = crate::time::format_rfc3339(jiff::Timestamp::now().as_second());
    let why = match why {
        Why::Request => "request",
        Why::Deleted => "deleted",
    };
    let mut sources: Vec<String> = stores.published.sources()?;
    sources.extend(stores.private.sources()?);
    sources.sort();
    sources.dedup();
    for t in targets {
        let (source, post, author) = match resolve(stores, t)? {
            Target::Post { source, id } => (vec![source], Some(id), None),
            Target::Author {
                source: Some(s),
                author,
            } => (vec![s], None, Some(author)),
            Target::Author {
                source: None,
                author,
            } => (sources.clone(), None, Some(author)),
            Target::BlueskyPost { .. } => unreachable!("resolved above"),
        };
        for s in source {
            let k = record_key(&s, stores.pseudonymiser.as_ref())
                .ok_or_else(|| crate::publish::missing_key("cannot forget a collected post"))?;
            records.push(Record {
                post: post.as_ref().map(|p| k.post(&s, p)),
                author: author.as_ref().map(|a| k.author(&s, a)),
                source: s,
                at: at.clone(),
                why: why.into(),
            });
        }
    }
    append_records(&root.forgotten(), &records)?;
    for r in &records {
        stores.forgotten.add(r);
    }
    apply(stores, true)
}

/// A Bluesky post named by handle and record key, looked up in the private store by its key.
fn resolve(stores: &Stores, t: &Target) -> Result<Target> {
    let Target::BlueskyPost { handle, rkey } = t else {
        return Ok(t.clone());
    };
    let suffix = format!("/app.bsky.feed.post/{rkey}");
    let mut found = Vec::new();
    for file in stores.private.partitions(Some("bluesky"))? {
        crate::store::line_blocks(&file, |chunks, _| {
            for &(first, chunk) in chunks {
                for (_, l) in crate::store::lines_of(first, chunk) {
                    if let Ok((l, _)) = crate::store::parse_line(l)
                        && l.id.ends_with(&suffix)
                    {
                        found.push(l.id.to_string());
                    }
                }
            }
        })?;
    }
    found.dedup();
    match found.len() {
        1 => Ok(Target::Post {
            source: "bluesky".into(),
            id: found.remove(0),
        }),
        0 => bail!(
            "no stored Bluesky post has the key {rkey:?} (of @{handle}); if it was stored before \
             the private store was pruned, give its at:// URI or the URL with the account's DID \
             (bsky.app/profile/did:plc:…/post/{rkey})"
        ),
        n => bail!(
            "{n} stored Bluesky posts have the key {rkey:?}; give the at:// URI or the URL with \
             the account's DID"
        ),
    }
}

/// Appends records to the list and syncs it (and its folder), before anything is removed.
fn append_records(path: &Path, records: &[Record]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let dir = path.parent().expect("a file in a folder");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut buf = Vec::new();
    for r in records {
        serde_json::to_writer(&mut buf, r).expect("a record serialises");
        buf.push(b'\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    f.write_all(&buf)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes every forgotten post still stored: from the private store, and from the published
/// one when `published`. Only partitions holding such a post are rewritten.
pub fn apply(stores: &Stores, published: bool) -> Result<Report> {
    let mut report = Report::default();
    if stores.forgotten.is_empty() {
        return Ok(report);
    }
    let key = stores.pseudonymiser.as_ref();
    let mut one = |store: &Store, is_published: bool| -> Result<usize> {
        let mut removed = 0;
        for source in store.sources()? {
            if !stores.forgotten.sources.contains(&source) {
                continue;
            }
            for file in store.partitions(Some(&source))? {
                let covered = |line: &[u8]| {
                    crate::store::parse_line(line)
                        .is_ok_and(|(l, _)| stores.forgotten.covers_line(&l, is_published, key))
                };
                let mut any = false;
                crate::store::line_blocks(&file, |chunks, _| {
                    for &(first, chunk) in chunks {
                        any |= crate::store::lines_of(first, chunk).any(|(_, l)| covered(l));
                    }
                })?;
                if any {
                    removed += store
                        .rewrite(&file, |l| if covered(l) { Edit::Drop } else { Edit::Keep })?;
                    report.partitions += 1;
                }
            }
        }
        Ok(removed)
    };
    report.private = one(&stores.private, false)?;
    if published {
        report.published = one(&stores.published, true)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Target {
        Target::parse(s, None, false).unwrap()
    }

    #[test]
    fn targets_are_read_from_urls_uris_and_handles() {
        assert_eq!(
            t("https://x.com/someone/status/1234567890123456789?s=20"),
            Target::Post {
                source: "x".into(),
                id: "1234567890123456789".into()
            }
        );
        assert_eq!(
            t("https://bsky.app/profile/did:plc:abc/post/3kx"),
            Target::Post {
                source: "bluesky".into(),
                id: "at://did:plc:abc/app.bsky.feed.post/3kx".into()
            }
        );
        assert_eq!(
            t("https://bsky.app/profile/tim.bsky.social/post/3kx"),
            Target::BlueskyPost {
                handle: "tim.bsky.social".into(),
                rkey: "3kx".into()
            }
        );
        assert_eq!(
            t("https://mastodon.social/@tim/1123"),
            Target::Post {
                source: "mastodon".into(),
                id: "mastodon.social:1123".into()
            }
        );
        assert_eq!(
            t("@tim@mastodon.social"),
            Target::Author {
                source: Some("mastodon".into()),
                author: "tim@mastodon.social".into()
            }
        );
        assert_eq!(
            t("did:plc:abc"),
            Target::Author {
                source: Some("bluesky".into()),
                author: "did:plc:abc".into()
            }
        );
        assert_eq!(
            t("@Tim"),
            Target::Author {
                source: None,
                author: "Tim".into()
            }
        );
        assert_eq!(
            Target::parse("8", Some("twcs"), false).unwrap(),
            Target::Post {
                source: "twcs".into(),
                id: "8".into()
            }
        );
        let e = Target::parse("8", None, false).unwrap_err().to_string();
        assert!(e.contains("--source"), "{e}");
        let e = t_err("https://example.org/about");
        assert!(e.contains("not a post or profile URL"), "{e}");
    }

    fn t_err(s: &str) -> String {
        Target::parse(s, None, false).unwrap_err().to_string()
    }
}
