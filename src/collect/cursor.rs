//! Collection cursors, `data/state/cursors.json` (schema `replyrank.cursors/1`): per source and
//! account, how far collection got, so the next run fetches only what is new.
//!
//! A cursor is saved only after the posts it covers are appended to the store and synced, and
//! the file is replaced atomically (write a temporary file, sync, rename, sync the directory):
//! a run killed at any point loses nothing it stored and the next run resumes from the last
//! saved cursor, at worst fetching one page again (the store skips posts it already holds).
//!
//! Per account ([`AccountCursor`]):
//! - `account_id`: the account's id on its network (Bluesky DID, Mastodon or X user id), so
//!   later runs skip the look-up;
//! - `feeds`: one [`Feed`] per list walked newest-first (`posts`: the account's own posts and
//!   replies; `mentions`: X mentions or Bluesky search), each with the newest item fully walked
//!   and, when a walk was cut short, where it goes on;
//! - `open_threads`: the brand's posts whose replies are re-checked on later runs while they are
//!   inside the ranking window, with the reply count last seen, so a late customer reply (and the
//!   brand's late answer to it) gets recorded;
//! - `stream`: Bluesky's Jetstream only (account `jetstream` of source `bluesky`): the last
//!   event stored, the brands' DIDs and the gaps the stream could not fill ([`Stream`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::root::SiteRoot;

pub const SCHEMA: &str = "replyrank.cursors/1";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursors {
    pub schema: String,
    /// source → account handle (lowercase) → cursor.
    #[serde(default)]
    pub sources: BTreeMap<String, BTreeMap<String, AccountCursor>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountCursor {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub feeds: BTreeMap<String, Feed>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub open_threads: BTreeMap<String, OpenThread>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<Stream>,
}

/// How far an event stream (Bluesky's Jetstream) was read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Stream {
    /// The seq of the last event read whose posts are stored: the next run resumes after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// That event's time (Unix microseconds): where to resume when the server no longer keeps
    /// `seq`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_us: Option<i64>,
    /// Brand handle (lowercase) → DID, as last resolved.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dids: BTreeMap<String, String>,
    /// Periods the server no longer held when the stream was read, inside the ranking window.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<crate::source::Gap>,
}

/// A list walked newest first. Positions are the source's own: an RFC 3339 time (Bluesky) or a
/// post id (Mastodon, X).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Feed {
    /// The newest item of the last complete walk: the next walk stops there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
    /// A walk cut short (time budget, kill, error): it goes on from `page` down to `floor`,
    /// then `newest` becomes `top`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walk: Option<Walk>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Walk {
    pub top: String,
    pub page: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenThread {
    /// When the brand's post was made (RFC 3339): dropped once outside the window.
    pub created_at: String,
    /// Replies seen the last time the thread was fetched (Bluesky: the reply counts of the
    /// brand post and of every post in `watch`, summed).
    pub replies: u64,
    /// Bluesky: the replies seen in the thread, whose own reply counts are re-read too, so a
    /// reply deeper down is noticed though the brand post's count does not change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub watch: Vec<String>,
}

impl Cursors {
    /// Reads the cursors of a site root; none yet means a first run.
    pub fn load(root: &SiteRoot) -> Result<Cursors> {
        let path = root.cursors();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Cursors {
                    schema: SCHEMA.into(),
                    sources: BTreeMap::new(),
                });
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let c: Cursors = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid cursor file; delete it to collect again from --since \
                 (the store skips posts it already holds)",
                path.display()
            )
        })?;
        if c.schema != SCHEMA {
            bail!(
                "{} has schema {:?}, but this replyrank reads {SCHEMA}",
                path.display(),
                c.schema
            );
        }
        Ok(c)
    }

    pub fn get(&self, source: &str, account: &str) -> AccountCursor {
        self.sources
            .get(source)
            .and_then(|m| m.get(&account.to_ascii_lowercase()))
            .cloned()
            .unwrap_or_default()
    }

    pub fn set(&mut self, source: &str, account: &str, cursor: AccountCursor) {
        self.sources
            .entry(source.to_string())
            .or_default()
            .insert(account.to_ascii_lowercase(), cursor);
    }

    /// Replaces the file atomically.
    pub fn save(&self, root: &SiteRoot) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(self)?;
        json.push(b'\n');
        write_atomically(&root.cursors(), &json)
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = path.with_extension("tmp");
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl Feed {
    /// Moves the cursor after a page of a walk: when the walk is `done`, `newest` becomes the
    /// newer of itself and the walk's `top` (by `order`) and the walk is over; otherwise the walk
    /// goes on from `next` down to `floor`.
    pub fn advance(
        &mut self,
        done: bool,
        top: Option<String>,
        next: Option<String>,
        floor: Option<String>,
        order: fn(&str, &str) -> std::cmp::Ordering,
    ) {
        if done {
            self.newest = match (self.newest.take(), top) {
                (Some(a), Some(b)) => Some(if order(&a, &b).is_gt() { a } else { b }),
                (a, b) => a.or(b),
            };
            self.walk = None;
        } else if let (Some(top), Some(page)) = (top, next) {
            self.walk = Some(Walk { top, page, floor });
        }
    }
}

/// Orders RFC 3339 positions (Bluesky) by the instant they name; unreadable ones first.
pub fn time_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let t = |s: &str| crate::time::parse_rfc3339(s).ok();
    t(a).cmp(&t(b))
}

/// Orders numeric ids (Mastodon, X) as numbers, without parsing: longer is larger.
pub fn id_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cursors::load(&SiteRoot::at(dir.path())).unwrap();
        let mut a = AccountCursor {
            account_id: Some("did:plc:x".into()),
            ..Default::default()
        };
        a.feeds.insert(
            "posts".into(),
            Feed {
                newest: Some("2025-05-05T01:30:17Z".into()),
                walk: None,
            },
        );
        c.set("bluesky", "Brand.bsky.social", a.clone());
        c.save(&SiteRoot::at(dir.path())).unwrap();
        let back = Cursors::load(&SiteRoot::at(dir.path())).unwrap();
        assert_eq!(back.get("bluesky", "brand.bsky.social"), a);
        assert!(!dir.path().join("data/state/cursors.tmp").exists());
    }

    #[test]
    fn numeric_ids_order() {
        use std::cmp::Ordering::*;
        assert_eq!(id_cmp("999", "1000"), Less);
        assert_eq!(id_cmp("114739545367952761", "113191408914362368"), Greater);
    }
}
