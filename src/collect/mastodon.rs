//! Mastodon (public reads, no key), always on the brand's home instance (the part after `@` in
//! the registry's `brand@instance`; `[sources.mastodon] base_url` replaces it, for tests).
//!
//! Per account: its id (`GET /api/v1/accounts/lookup?acct=`, once: kept in the cursor); its
//! statuses newest first (`GET /api/v1/accounts/:id/statuses`, `since_id` from the cursor,
//! `Link` header pagination); for each new status that answers someone or has replies, its
//! thread (`GET /api/v1/statuses/:id/context`): the complaint it answers and customers' replies
//! under it. Brand statuses inside the ranking window are open threads, re-read on later runs
//! (`GET /api/v1/statuses?id[]=`, 20 a call) and re-fetched when their reply count grew.
//!
//! Anonymous `context` answers at most 60 descendants, 20 levels deep: when it hits either, the
//! contexts of the statuses whose replies are still missing are fetched too, the last
//! descendants first (at most [`MAX_EXTRA_CONTEXTS`] a thread). A thread still cut after that is
//! recorded as cut: each of its statuses with replies not seen lists an unseen reply
//! (`<instance>:<id>:unseen`, [`Post::replies`]), so pairing leaves out a complaint whose reply
//! may be among them rather than count it unanswered.
//!
//! An instance that requires a token for its API (HTTP 401) is read with
//! `REPLYRANK_MASTODON_TOKEN_<INSTANCE>` (the instance's name in capitals, every other character
//! as `_`: `REPLYRANK_MASTODON_TOKEN_MASTODON_SOCIAL`), an access token of any account on that
//! instance with the `read:statuses` scope; a token is sent to its own instance only. A stored
//! status the instance answers 404 for is deleted ([`super::Account::deleted`]). Statuses keep
//! their `language` and their author's `followers_count`; an author with `indexable: false` or
//! `noindex: true` is stored as opted out.
//!
//! Coverage is thread-scoped: a standalone mention the brand never answered cannot be listed
//! without the brand's own token.
//!
//! Ids are `instance:status-id` (status ids are per instance; every status is read through the
//! brand's home instance, so ids and `in_reply_to_id`s share one scheme). Authors and mentions
//! are full `user@instance` accts.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Deserialize;

use super::cursor::{OpenThread, id_cmp};
use super::http::HttpError;
use super::{Account, Collect, Collecting, Secret, Stop, parse_time};
use crate::post::Post;

#[derive(Deserialize)]
struct AccountLookup {
    id: String,
}

#[derive(Deserialize, Clone)]
struct Status {
    id: String,
    created_at: String,
    in_reply_to_id: Option<String>,
    #[serde(default)]
    content: String,
    account: StatusAccount,
    #[serde(default)]
    mentions: Vec<Mention>,
    reblog: Option<serde_json::Value>,
    #[serde(default)]
    replies_count: u64,
    language: Option<String>,
}

#[derive(Deserialize, Clone)]
struct StatusAccount {
    id: String,
    acct: String,
    followers_count: Option<u64>,
    indexable: Option<bool>,
    noindex: Option<bool>,
}

/// Anonymous `context` answers at most this many descendants,
const DESCENDANTS_CAP: usize = 60;
/// at most this many levels down.
const DEPTH_CAP: usize = 20;
/// Contexts fetched beyond the first to walk a thread past that cap.
pub const MAX_EXTRA_CONTEXTS: usize = 10;

#[derive(Deserialize, Clone)]
struct Mention {
    acct: String,
}

#[derive(Deserialize)]
struct Context {
    #[serde(default)]
    ancestors: Vec<Status>,
    #[serde(default)]
    descendants: Vec<Status>,
}

pub struct Collector<'c> {
    /// Its handle is `user@instance`.
    account: Account<'c>,
    user: String,
    instance: String,
    base: reqwest::Url,
    account_id: String,
    counts: BTreeMap<String, u64>,
    /// `REPLYRANK_MASTODON_TOKEN_<INSTANCE>`, when set.
    token: Option<Secret>,
    /// The window's stored posts (their ids), for deletions.
    stored: HashSet<&'c str>,
}

/// The environment variable holding the token of `instance`.
pub fn token_var(instance: &str) -> String {
    let name: String = instance
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("REPLYRANK_MASTODON_TOKEN_{name}")
}

impl<'c> Collector<'c> {
    pub fn open(account: Account<'c>) -> Result<Self, String> {
        let Some((user, instance)) = account.handle.split_once('@') else {
            return Err(format!(
                "{:?} is not user@instance; write Mastodon accounts that way in {}",
                account.handle,
                crate::root::REGISTRY
            ));
        };
        Ok(Collector {
            user: user.to_string(),
            instance: instance.to_ascii_lowercase(),
            base: account
                .ctx
                .base_url("mastodon", &format!("https://{instance}"))?,
            token: std::env::var(token_var(instance))
                .ok()
                .filter(|t| !t.trim().is_empty())
                .map(|t| account.ctx.redactor.secret(t.trim().to_string())),
            stored: account
                .ctx
                .stored("mastodon")
                .iter()
                .map(|(id, _)| id.as_str())
                .collect(),
            account,
            account_id: String::new(),
            counts: BTreeMap::new(),
        })
    }

    async fn run(&mut self) -> Result<(), Stop> {
        self.account_id = match &self.account.cursor.account_id {
            Some(id) => id.clone(),
            None => self.look_up().await?,
        };
        let feed = self.account.feed("posts");
        if let Some(w) = feed.walk {
            self.walk(Some(w.page), w.floor, Some(w.top)).await?;
        }
        let newest = self
            .account
            .cursor
            .feeds
            .get("posts")
            .and_then(|f| f.newest.clone());
        let since = if self.account.ctx.since.is_some() {
            None
        } else {
            newest
        };
        self.walk(None, since, None).await?;
        self.threads().await
    }
}

impl Collect for Collector<'_> {
    fn collect(&mut self) -> Collecting<'_> {
        Box::pin(self.run())
    }
}

impl Collector<'_> {
    fn url(&self, path: &str, query: &[(&str, &str)]) -> reqwest::Url {
        let mut u = self.base.join(path).expect("a valid path");
        if !query.is_empty() {
            u.query_pairs_mut().extend_pairs(query);
        }
        u
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: reqwest::Url,
    ) -> Result<super::http::Response<T>, HttpError> {
        let token = self.token.as_ref().map(Secret::expose);
        match self
            .account
            .ctx
            .client("mastodon")
            .get_json::<T>(url, token)
            .await
        {
            Err(HttpError::Status { status: 401, .. }) => Err(HttpError::Status {
                url: self.instance.clone(),
                status: 401,
                error: None,
                detail: self.unauthorized(),
                tries: 1,
            }),
            r => r,
        }
    }

    /// What to do when the instance refuses anonymous (or this token's) reads.
    fn unauthorized(&self) -> String {
        let var = token_var(&self.instance);
        if self.token.is_some() {
            format!(
                "{} refused the token in {var}; make a new access token (read:statuses) on {}                  and set it",
                self.instance, self.instance
            )
        } else {
            format!(
                "{} requires a token for its API; set {var} to an access token (read:statuses)                  of an account on {}",
                self.instance, self.instance
            )
        }
    }

    /// The network says status `id` of this instance is not found: deleted, if the store holds
    /// it.
    fn gone(&self, id: &str) {
        let id = format!("{}:{id}", self.instance);
        if self.stored.contains(id.as_str()) {
            self.account.deleted(id);
        }
    }

    /// The account's id on its instance, kept in the cursor.
    async fn look_up(&mut self) -> Result<String, Stop> {
        let url = self.url("api/v1/accounts/lookup", &[("acct", &self.user)]);
        let a: AccountLookup = self
            .get(url)
            .await
            .map_err(|e| match e.status() {
                Some(404) => Stop::Other(format!(
                    "{e}; is {} still on {}? Fix it in {}",
                    self.user,
                    self.instance,
                    crate::root::REGISTRY
                )),
                _ => Stop::Http(e),
            })?
            .body;
        self.account.cursor.account_id = Some(a.id.clone());
        Ok(a.id)
    }

    /// Statuses newer than `since_id` (or inside `--since` / the window on a first run).
    async fn walk(
        &mut self,
        mut max_id: Option<String>,
        since_id: Option<String>,
        mut top: Option<String>,
    ) -> Result<(), Stop> {
        let floor = self.account.ctx.floor(None);
        let path = format!("api/v1/accounts/{}/statuses", self.account_id);
        loop {
            let mut q = vec![("limit", "40")];
            if let Some(s) = &since_id {
                q.push(("since_id", s));
            }
            if let Some(m) = &max_id {
                q.push(("max_id", m));
            }
            let r = self.get::<Vec<Status>>(self.url(&path, &q)).await?;
            let next = next_max_id(&r.headers);
            let mut posts = Vec::new();
            let mut oldest = i64::MAX;
            for s in &r.body {
                if top.as_deref().is_none_or(|t| id_cmp(&s.id, t).is_gt()) {
                    top = Some(s.id.clone());
                }
                if s.reblog.is_some() {
                    continue;
                }
                let Some(t) = parse_time(&s.created_at) else {
                    continue;
                };
                oldest = oldest.min(t);
                if since_id.is_none() && t < floor {
                    continue;
                }
                posts.extend(self.post(s));
                let answers_other = s.in_reply_to_id.is_some();
                if t >= self.account.ctx.window_floor {
                    self.account
                        .cursor
                        .open_threads
                        .entry(s.id.clone())
                        .or_insert_with(|| OpenThread {
                            created_at: crate::time::format_rfc3339(t),
                            replies: 0,
                            watch: Vec::new(),
                        });
                    self.counts.insert(s.id.clone(), s.replies_count);
                }
                if answers_other {
                    // Its thread holds the complaint it answers; replies come with it.
                    posts.extend(self.context(&s.id, Some(s.replies_count)).await?);
                    if let Some(o) = self.account.cursor.open_threads.get_mut(&s.id) {
                        o.replies = s.replies_count;
                    }
                }
            }
            let done =
                r.body.is_empty() || next.is_none() || (since_id.is_none() && oldest < floor);
            let feed = self.account.cursor.feeds.entry("posts".into()).or_default();
            feed.advance(done, top.clone(), next.clone(), since_id.clone(), id_cmp);
            self.account.commit(posts).await?;
            if done {
                return Ok(());
            }
            max_id = next;
        }
    }

    /// A status's thread: ancestors and descendants, as posts; past the anonymous cap, the
    /// contexts of the statuses whose replies are missing (the last descendants first).
    /// `replies` is the status's own reply count, when known: replies of its own beyond the cap
    /// cannot be listed anonymously, and leave the thread cut.
    async fn context(
        &self,
        id: &str,
        replies: Option<u64>,
    ) -> Result<Vec<Post<'static>>, HttpError> {
        let url = self.url(&format!("api/v1/statuses/{id}/context"), &[]);
        let first: Context = self.get(url).await?.body;
        let first_capped = first.descendants.len() >= DESCENDANTS_CAP || too_deep(id, &first);
        let mut capped = first_capped;
        let mut order: Vec<String> = Vec::new();
        let mut all: BTreeMap<String, Status> = BTreeMap::new();
        let add = |c: Context, order: &mut Vec<String>, all: &mut BTreeMap<String, Status>| {
            for s in c.ancestors.into_iter().chain(c.descendants) {
                if !all.contains_key(&s.id) {
                    order.push(s.id.clone());
                    all.insert(s.id.clone(), s);
                }
            }
        };
        add(first, &mut order, &mut all);
        let mut fetched: BTreeSet<String> = BTreeSet::from([id.to_string()]);
        let mut extra = 0;
        while capped {
            // The last status in thread order whose replies are not all seen.
            let children = children(&all);
            let next = order.iter().rev().find(|s| {
                !fetched.contains(*s) && all[*s].replies_count > children.get(*s).map_or(0, |c| *c)
            });
            let Some(next) = next.cloned() else {
                capped = false;
                break;
            };
            if extra == MAX_EXTRA_CONTEXTS {
                break;
            }
            extra += 1;
            fetched.insert(next.clone());
            let url = self.url(&format!("api/v1/statuses/{next}/context"), &[]);
            match self.get::<Context>(url).await {
                Ok(r) => add(r.body, &mut order, &mut all),
                Err(HttpError::Status { status: 404, .. }) => self.gone(&next),
                Err(e) => return Err(e),
            }
        }
        let children = children(&all);
        let own = children.get(id).map_or(0, |c| *c);
        let cut = capped || (first_capped && replies.is_some_and(|n| n > own));
        Ok(order
            .iter()
            .filter_map(|s| {
                let status = &all[s];
                let mut p = self.post(status)?;
                // Still cut: a status whose replies are not all seen may have the first reply.
                if cut && status.replies_count > children.get(s).map_or(0, |c| *c) {
                    p.replies = vec![format!("{}:{}:unseen", self.instance, status.id).into()];
                }
                Some(p)
            })
            .collect())
    }

    /// Re-checks open threads: drops those outside the window, re-reads reply counts
    /// (20 a call) and fetches the threads whose count grew.
    async fn threads(&mut self) -> Result<(), Stop> {
        let floor = self.account.ctx.window_floor;
        self.account
            .cursor
            .open_threads
            .retain(|_, t| parse_time(&t.created_at).is_some_and(|c| c >= floor));
        let unknown: Vec<String> = self
            .account
            .cursor
            .open_threads
            .keys()
            .filter(|id| !self.counts.contains_key(*id))
            .cloned()
            .collect();
        for chunk in unknown.chunks(20) {
            let q: Vec<(&str, &str)> = chunk.iter().map(|id| ("id[]", id.as_str())).collect();
            match self
                .get::<Vec<Status>>(self.url("api/v1/statuses", &q))
                .await
            {
                Ok(r) => {
                    for s in r.body {
                        self.counts.insert(s.id, s.replies_count);
                    }
                    // Missing from the answer: deleted, or hidden; the status itself tells.
                    let missing: Vec<&String> = chunk
                        .iter()
                        .filter(|id| !self.counts.contains_key(*id))
                        .collect();
                    for id in missing {
                        let url = self.url(&format!("api/v1/statuses/{id}"), &[]);
                        match self.get::<Status>(url).await {
                            Ok(s) => {
                                self.counts.insert(s.body.id, s.body.replies_count);
                            }
                            Err(HttpError::Status { status: 404, .. }) => {
                                self.account.cursor.open_threads.remove(id);
                                self.gone(id);
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                // Instances before Mastodon 4.3 lack the batch call: re-fetch each thread.
                Err(HttpError::Status { status: 404, .. }) => {
                    for id in chunk {
                        self.counts.insert(id.clone(), u64::MAX);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        let grown: Vec<(String, u64)> = self
            .account
            .cursor
            .open_threads
            .iter()
            .filter_map(|(id, t)| {
                let now = *self.counts.get(id)?;
                (now > t.replies).then(|| (id.clone(), now))
            })
            .collect();
        // Committed ten threads at a time: each commit is a sync to disk.
        let mut posts = Vec::new();
        for (i, (id, count)) in grown.iter().enumerate() {
            let known = (*count != u64::MAX).then_some(*count);
            let thread = match self.context(id, known).await {
                Ok(t) => t,
                Err(HttpError::Status { status: 404, .. }) => {
                    self.account.cursor.open_threads.remove(id);
                    self.gone(id);
                    Vec::new()
                }
                Err(e) => return Err(e.into()),
            };
            let seen = thread.len() as u64;
            posts.extend(thread);
            if let Some(o) = self.account.cursor.open_threads.get_mut(id) {
                o.replies = if *count == u64::MAX { seen } else { *count };
            }
            if i % 10 == 9 || i + 1 == grown.len() {
                self.account.commit(std::mem::take(&mut posts)).await?;
            }
        }
        Ok(())
    }

    /// A full `user@instance` acct: local accounts are written without their instance.
    fn full(&self, acct: &str) -> String {
        if acct.contains('@') {
            acct.to_string()
        } else {
            format!("{acct}@{}", self.instance)
        }
    }

    fn post(&self, s: &Status) -> Option<Post<'static>> {
        let created_at = parse_time(&s.created_at)?;
        let by_brand = s.account.id == self.account_id;
        Some(Post {
            source: "mastodon".into(),
            id: format!("{}:{}", self.instance, s.id).into(),
            author: if by_brand {
                self.account.handle.clone().into()
            } else {
                self.full(&s.account.acct).into()
            },
            created_at,
            reply_to: s
                .in_reply_to_id
                .as_ref()
                .map(|p| format!("{}:{p}", self.instance).into()),
            text: Some(html_text(&s.content).into()),
            mentions: s
                .mentions
                .iter()
                .map(|m| self.full(&m.acct).into())
                .collect(),
            brand: by_brand.then(|| self.account.brand_id()),
            lang: s.language.clone().map(Into::into),
            followers: s.account.followers_count,
            opted_out: s.account.indexable == Some(false) || s.account.noindex == Some(true),
            ..Default::default()
        })
    }
}

/// Whether a context of `id` stops at the depth cap: a descendant [`DEPTH_CAP`] levels down
/// has replies, which the answer leaves out.
fn too_deep(id: &str, c: &Context) -> bool {
    let parent: BTreeMap<&str, &str> = c
        .descendants
        .iter()
        .filter_map(|s| Some((s.id.as_str(), s.in_reply_to_id.as_deref()?)))
        .collect();
    c.descendants.iter().any(|s| {
        let mut depth = 0;
        let mut at = s.id.as_str();
        while at != id && depth <= DEPTH_CAP {
            let Some(p) = parent.get(at) else { break };
            at = p;
            depth += 1;
        }
        depth >= DEPTH_CAP && s.replies_count > 0
    })
}

/// How many replies of each status a thread holds.
fn children(all: &BTreeMap<String, Status>) -> BTreeMap<String, u64> {
    let mut n: BTreeMap<String, u64> = BTreeMap::new();
    for s in all.values() {
        if let Some(p) = &s.in_reply_to_id {
            *n.entry(p.clone()).or_default() += 1;
        }
    }
    n
}

/// The `max_id` of the `rel="next"` link of a `Link` header.
fn next_max_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    let next = link.split(',').find(|part| part.contains("rel=\"next\""))?;
    let url = next.trim().trim_start_matches('<').split('>').next()?;
    let url = reqwest::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "max_id")
        .map(|(_, v)| v.into_owned())
}

/// Status HTML as plain text: tags dropped, line breaks kept, common entities decoded.
pub fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[i + 1..i + j];
        if tag.starts_with("br") || tag.starts_with("/p") {
            out.push('\n');
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_to_text() {
        assert_eq!(
            html_text(
                "<p>Hi <span class=\"h-card\"><a href=\"x\">@<span>shop</span></a></span> &amp; co</p><p>2nd<br>line</p>"
            ),
            "Hi @shop & co\n2nd\nline"
        );
    }

    #[test]
    fn a_context_twenty_levels_deep_with_replies_below_is_cut() {
        let chain = |n: usize, last_replies: u64| -> Context {
            let descendants = (1..=n)
                .map(|i| {
                    serde_json::from_value(serde_json::json!({
                        "id": i.to_string(), "in_reply_to_id": (i - 1).to_string(),
                        "created_at": "2025-07-01T00:00:00Z",
                        "account": {"id": "9", "acct": "a"},
                        "replies_count": if i == n { last_replies } else { 1 },
                    }))
                    .unwrap()
                })
                .collect();
            Context {
                ancestors: Vec::new(),
                descendants,
            }
        };
        assert!(too_deep("0", &chain(20, 1)));
        assert!(!too_deep("0", &chain(20, 0)));
        assert!(!too_deep("0", &chain(19, 1)));
    }

    #[test]
    fn link_header_next() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("link", "<https://fosstodon.org/api/v1/accounts/1/statuses?exclude_reblogs=FALSE&limit=20&max_id=113191408914362368>; rel=\"next\", <https://fosstodon.org/api/v1/accounts/1/statuses?min_id=114739545367952761>; rel=\"prev\"".parse().unwrap());
        assert_eq!(next_max_id(&h).as_deref(), Some("113191408914362368"));
    }
}
