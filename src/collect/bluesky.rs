//! Bluesky (AT Protocol AppView, default `https://public.api.bsky.app`, no key).
//!
//! Per brand account: the handle's DID (`app.bsky.actor.getProfile`, once: kept in the cursor);
//! the brand's posts and replies, newest first, down to the cursor
//! (`app.bsky.feed.getAuthorFeed`, `filter=posts_with_replies`): each reply comes with its
//! parent and root, which are stored too (the complaint it answers); parents the feed could not
//! inline are fetched with `app.bsky.feed.getPosts` (25 a call). Brand posts inside the ranking
//! window are open threads: the reply counts of the brand post and of every reply seen in its
//! thread are re-read with `getPosts` on every run, and a thread where any of them grew is
//! fetched whole (`app.bsky.feed.getPostThread`), so customers' replies under brand posts, late
//! and deep ones included, are stored. A stored post the thread now shows as `notFoundPost` (or
//! a brand post the AppView no longer finds) is deleted ([`super::Account::deleted`]).
//! The session is refreshed with `refreshSession`, which takes no body.
//!
//! With `REPLYRANK_BLUESKY_HANDLE` and `REPLYRANK_BLUESKY_APP_PASSWORD`, one session per run
//! (`com.atproto.server.createSession` at `auth_url`, refreshed with `refreshSession` when it
//! expires) searches mentions of the account (`app.bsky.feed.searchPosts?mentions=<did>`), so
//! complaints the brand never answered are seen too. Without them the coverage is thread-scoped.
//!
//! Ids are AT-URIs (`at://did/app.bsky.feed.post/rkey`); authors are DIDs (a handle can change),
//! except the brand's own posts, written by the registry's handle; mentions come from mention
//! facets (the handle as written, or the brand's handle for its own DID). A post keeps the
//! first of its record's `langs`; an author labelled `!no-unauthenticated` (asked not to be
//! shown to logged-out viewers) is stored as opted out. A post's time is when the AppView
//! received it (`indexedAt`), its record's client-declared `createdAt` kept as `declared_at`.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use super::cursor::{OpenThread, time_cmp};
use super::http::HttpError;
use super::{Account, Collect, Collecting, Secret, Stop, parse_time};
use crate::post::Post;
use crate::source::{BLUESKY_APP_PASSWORD, BLUESKY_HANDLE};

pub const DEFAULT_BASE: &str = "https://public.api.bsky.app";
pub const DEFAULT_AUTH: &str = "https://bsky.social";

/// The run's one Bluesky session (only with credentials).
#[derive(Default)]
pub struct SessionState {
    session: Option<Session>,
    /// Why logging in failed: reported once per account, not retried.
    failed: Option<String>,
}

#[derive(Clone)]
struct Session {
    access: Secret,
    refresh: Secret,
}

#[derive(Deserialize)]
struct Profile {
    did: String,
}

#[derive(Deserialize)]
struct AuthorFeed {
    #[serde(default)]
    feed: Vec<FeedItem>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct FeedItem {
    post: PostView,
    reply: Option<ReplyRef>,
    reason: Option<Value>,
}

#[derive(Deserialize)]
struct ReplyRef {
    parent: Option<Value>,
    root: Option<Value>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct PostView {
    uri: String,
    author: Author,
    record: Record,
    indexed_at: Option<String>,
    reply_count: Option<u64>,
}

#[derive(Deserialize, Clone)]
struct Author {
    did: String,
    #[serde(default)]
    labels: Vec<Label>,
}

#[derive(Deserialize, Clone)]
struct Label {
    val: String,
}

/// The label of an account that asked not to be shown to logged-out viewers.
const NO_UNAUTHENTICATED: &str = "!no-unauthenticated";

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Record {
    created_at: Option<String>,
    #[serde(default)]
    text: String,
    reply: Option<RecordReply>,
    #[serde(default)]
    facets: Vec<Facet>,
    #[serde(default)]
    langs: Vec<String>,
}

#[derive(Deserialize, Clone)]
struct RecordReply {
    parent: StrongRef,
}

#[derive(Deserialize, Clone)]
struct StrongRef {
    uri: String,
}

#[derive(Deserialize, Clone)]
struct Facet {
    index: ByteSlice,
    #[serde(default)]
    features: Vec<Value>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct ByteSlice {
    byte_start: usize,
    byte_end: usize,
}

#[derive(Deserialize)]
struct Posts {
    /// Views, or stubs for posts that are gone or blocked: those are skipped one by one.
    #[serde(default)]
    posts: Vec<Value>,
}

#[derive(Deserialize)]
struct Search {
    #[serde(default)]
    posts: Vec<PostView>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct Thread {
    thread: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionBody {
    access_jwt: String,
    refresh_jwt: String,
}

pub struct Collector<'c> {
    account: Account<'c>,
    base: reqwest::Url,
    did: String,
    /// Reply counts of brand posts read this run.
    counts: BTreeMap<String, u64>,
    /// The window's stored posts (their URIs), for deletions.
    stored: HashSet<&'c str>,
}

impl<'c> Collector<'c> {
    pub fn open(account: Account<'c>) -> Result<Self, String> {
        Ok(Collector {
            base: account.ctx.base_url("bluesky", DEFAULT_BASE)?,
            stored: account
                .ctx
                .stored("bluesky")
                .iter()
                .map(|(id, _)| id.as_str())
                .collect(),
            account,
            did: String::new(),
            counts: BTreeMap::new(),
        })
    }

    async fn run(&mut self) -> Result<(), Stop> {
        self.did = match &self.account.cursor.account_id {
            Some(d) => d.clone(),
            None => {
                let p: Profile = self
                    .get(
                        "app.bsky.actor.getProfile",
                        &[("actor", &self.account.handle)],
                    )
                    .await
                    .map_err(|e| match e.status() {
                        Some(400 | 404) => Stop::Other(format!(
                            "{e}; is {:?} the account's current handle? Fix it in {}",
                            self.account.handle,
                            crate::root::REGISTRY
                        )),
                        _ => Stop::Http(e),
                    })?;
                self.account.cursor.account_id = Some(p.did.clone());
                p.did
            }
        };
        self.walk_posts().await?;
        self.threads().await?;
        // With Jetstream the run sees every mention; search is only the fallback without it.
        if self.credentials().is_some() && !self.account.ctx.jetstream {
            self.search().await?;
        }
        Ok(())
    }
}

impl Collect for Collector<'_> {
    fn collect(&mut self) -> Collecting<'_> {
        Box::pin(self.run())
    }
}

impl Collector<'_> {
    fn url(&self, base: &reqwest::Url, method: &str, query: &[(&str, &str)]) -> reqwest::Url {
        let mut u = base.join(&format!("xrpc/{method}")).expect("a valid path");
        u.query_pairs_mut().extend_pairs(query);
        u
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        query: &[(&str, &str)],
    ) -> Result<T, HttpError> {
        let url = self.url(&self.base, method, query);
        Ok(self
            .account
            .ctx
            .client("bluesky")
            .get_json::<T>(url, None)
            .await?
            .body)
    }

    /// The brand's own posts and replies, newest first: a walk cut short first, then a new one.
    async fn walk_posts(&mut self) -> Result<(), Stop> {
        let feed = self.account.feed("posts");
        if let Some(w) = feed.walk {
            let floor = w.floor.as_deref().and_then(parse_time).unwrap_or(i64::MIN);
            self.walk_from(Some(w.page), floor, parse_time(&w.top))
                .await?;
        }
        let newest = self
            .account
            .cursor
            .feeds
            .get("posts")
            .and_then(|f| f.newest.as_deref())
            .and_then(parse_time);
        let floor = self.account.ctx.floor(newest);
        self.walk_from(None, floor, None).await
    }

    async fn walk_from(
        &mut self,
        mut page: Option<String>,
        floor: i64,
        mut top: Option<i64>,
    ) -> Result<(), Stop> {
        loop {
            let mut q = vec![
                ("actor", self.did.as_str()),
                ("filter", "posts_with_replies"),
                ("limit", "100"),
            ];
            if let Some(p) = &page {
                q.push(("cursor", p));
            }
            let feed: AuthorFeed = self.get("app.bsky.feed.getAuthorFeed", &q).await?;
            let mut posts = Vec::new();
            let mut missing = Vec::new();
            let mut oldest = i64::MAX;
            for item in &feed.feed {
                if item.reason.is_some() {
                    continue; // reposts and the pinned post: not in time order, not the brand's words
                }
                let Some(t) = sort_time(&item.post) else {
                    continue;
                };
                oldest = oldest.min(t);
                top = Some(top.map_or(t, |x| x.max(t)));
                if t < floor {
                    continue;
                }
                let Some(p) = self.post(&item.post) else {
                    continue;
                };
                self.open_thread(&item.post, p.created_at);
                posts.push(p);
                if let Some(r) = &item.reply {
                    for (i, v) in [&r.parent, &r.root].into_iter().enumerate() {
                        match v.as_ref().and_then(post_view) {
                            Some(view) => posts.extend(self.post(&view)),
                            None if i == 0 => {
                                if let Some(rr) = &item.post.record.reply {
                                    missing.push(rr.parent.uri.clone());
                                }
                            }
                            None => {}
                        }
                    }
                }
            }
            posts.extend(
                self.get_posts(&missing)
                    .await?
                    .iter()
                    .filter_map(|v| self.post(v)),
            );
            let done = feed.feed.is_empty() || feed.cursor.is_none() || oldest < floor;
            self.advance("posts", done, top, feed.cursor, floor);
            self.account.commit(posts).await?;
            if done {
                return Ok(());
            }
            page = self
                .account
                .cursor
                .feeds
                .get("posts")
                .and_then(|f| f.walk.as_ref())
                .map(|w| w.page.clone());
        }
    }

    /// Notes a brand post inside the window as an open thread, with its current reply count.
    fn open_thread(&mut self, view: &PostView, created_at: i64) {
        if view.author.did != self.did || created_at < self.account.ctx.window_floor {
            return;
        }
        self.account
            .cursor
            .open_threads
            .entry(view.uri.clone())
            .or_insert_with(|| OpenThread {
                created_at: crate::time::format_rfc3339(created_at),
                replies: 0,
                watch: Vec::new(),
            });
        self.counts
            .insert(view.uri.clone(), view.reply_count.unwrap_or(0));
    }

    /// Posts by URI, 25 a call.
    async fn get_posts(&self, uris: &[String]) -> Result<Vec<PostView>, HttpError> {
        let mut out = Vec::new();
        for chunk in uris.chunks(25) {
            let q: Vec<(&str, &str)> = chunk.iter().map(|u| ("uris", u.as_str())).collect();
            let p: Posts = self.get("app.bsky.feed.getPosts", &q).await?;
            out.extend(p.posts.iter().filter_map(post_view));
        }
        Ok(out)
    }

    /// Re-checks the open threads: drops those outside the window, re-reads the reply counts of
    /// each thread's brand post (unless read this run) and of the replies seen in it, and
    /// fetches every thread where a count grew or a post is gone.
    async fn threads(&mut self) -> Result<(), Stop> {
        let floor = self.account.ctx.window_floor;
        self.account
            .cursor
            .open_threads
            .retain(|_, t| parse_time(&t.created_at).is_some_and(|c| c >= floor));
        let mut uris: Vec<String> = Vec::new();
        for (root, t) in &self.account.cursor.open_threads {
            if !self.counts.contains_key(root) {
                uris.push(root.clone());
            }
            uris.extend(t.watch.iter().cloned());
        }
        for v in self.get_posts(&uris).await? {
            self.counts
                .insert(v.uri.clone(), v.reply_count.unwrap_or(0));
        }
        let changed: Vec<String> = self
            .account
            .cursor
            .open_threads
            .iter()
            .filter(|(root, t)| {
                let counts: Option<Vec<u64>> = std::iter::once(*root)
                    .chain(&t.watch)
                    .map(|u| self.counts.get(u).copied())
                    .collect();
                // A post missing from the answer may be deleted: the thread tells.
                counts.is_none_or(|c| c.iter().sum::<u64>() > t.replies)
            })
            .map(|(root, _)| root.clone())
            .collect();
        // Committed ten threads at a time: each commit is a sync to disk.
        let mut posts = Vec::new();
        for (i, uri) in changed.iter().enumerate() {
            let q = [
                ("uri", uri.as_str()),
                ("depth", "20"),
                ("parentHeight", "0"),
            ];
            match self.get::<Thread>("app.bsky.feed.getPostThread", &q).await {
                Ok(t) => {
                    let mut views = Vec::new();
                    let mut gone = Vec::new();
                    thread_posts(&t.thread, &mut views, &mut gone);
                    for g in gone {
                        self.gone(g);
                    }
                    let replies = views.iter().map(|v| v.reply_count.unwrap_or(0)).sum();
                    let watch = views
                        .iter()
                        .filter(|v| v.uri != *uri)
                        .map(|v| v.uri.clone())
                        .collect();
                    posts.extend(views.iter().filter_map(|v| self.post(v)));
                    if let Some(o) = self.account.cursor.open_threads.get_mut(uri) {
                        o.replies = replies;
                        o.watch = watch;
                    }
                }
                Err(HttpError::Status {
                    status: 400 | 404,
                    error: Some(e),
                    ..
                }) if e == "NotFound" => {
                    self.account.cursor.open_threads.remove(uri);
                    self.gone(uri.clone());
                }
                Err(e) => return Err(e.into()),
            }
            if i % 10 == 9 || i + 1 == changed.len() {
                self.account.commit(std::mem::take(&mut posts)).await?;
            }
        }
        Ok(())
    }

    /// The network says post `uri` is not found: deleted, if the store holds it.
    fn gone(&self, uri: String) {
        if self.stored.contains(uri.as_str()) {
            self.account.deleted(uri);
        }
    }

    /// Mentions of the account through search (logged in), newest first, down to the cursor.
    async fn search(&mut self) -> Result<(), Stop> {
        let feed = self.account.feed("mentions");
        let (mut page, floor, mut top) = match feed.walk {
            Some(w) => (
                Some(w.page),
                w.floor.as_deref().and_then(parse_time).unwrap_or(i64::MIN),
                parse_time(&w.top),
            ),
            None => (
                None,
                self.account
                    .ctx
                    .floor(feed.newest.as_deref().and_then(parse_time)),
                None,
            ),
        };
        loop {
            let since = crate::time::format_rfc3339(floor.max(0));
            let mut q = vec![
                ("q", "*"),
                ("mentions", self.did.as_str()),
                ("since", since.as_str()),
                ("sort", "latest"),
                ("limit", "100"),
            ];
            if let Some(p) = &page {
                q.push(("cursor", p));
            }
            let s: Search = self.search_page(&q).await?;
            let mut oldest = i64::MAX;
            let mut posts = Vec::new();
            for v in &s.posts {
                if let Some(t) = sort_time(v) {
                    oldest = oldest.min(t);
                    top = Some(top.map_or(t, |x| x.max(t)));
                }
                posts.extend(self.post(v));
            }
            let done = s.posts.is_empty() || s.cursor.is_none() || oldest < floor;
            self.advance("mentions", done, top, s.cursor.clone(), floor);
            self.account.commit(posts).await?;
            if done {
                return Ok(());
            }
            page = s.cursor;
        }
    }

    /// One search request with the run's session, logging in or refreshing as needed.
    async fn search_page(&self, q: &[(&str, &str)]) -> Result<Search, Stop> {
        let auth = self.auth_url()?;
        let url = self.url(&auth, "app.bsky.feed.searchPosts", q);
        let client = self.account.ctx.client("bluesky");
        let session = self.session(None).await?;
        match client
            .get_json::<Search>(url.clone(), Some(session.access.expose()))
            .await
        {
            Ok(r) => Ok(r.body),
            Err(HttpError::Status {
                status: 400 | 401,
                error: Some(e),
                ..
            }) if e == "ExpiredToken" || e == "InvalidToken" => {
                let fresh = self.session(Some(&session)).await?;
                Ok(client
                    .get_json::<Search>(url, Some(fresh.access.expose()))
                    .await?
                    .body)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The run's session: created once; refreshed when `expired` is the one in use.
    async fn session(&self, expired: Option<&Session>) -> Result<Session, Stop> {
        let mut state = self.account.ctx.bluesky_session.lock().await;
        if let Some(why) = &state.failed {
            return Err(Stop::Other(why.clone()));
        }
        let auth = self.auth_url()?;
        let client = self.account.ctx.client("bluesky");
        match (&state.session, expired) {
            (Some(s), None) => return Ok(s.clone()),
            (Some(s), Some(old)) if s.access.expose() != old.access.expose() => {
                return Ok(s.clone());
            }
            (Some(s), Some(_)) => {
                let url = self.url(&auth, "com.atproto.server.refreshSession", &[]);
                let r = client
                    .post_empty::<SessionBody>(url, Some(s.refresh.expose()))
                    .await;
                if let Ok(r) = r {
                    let fresh = self.session_of(r.body);
                    state.session = Some(fresh.clone());
                    return Ok(fresh);
                }
                // A refresh token can expire too: log in again below.
            }
            (None, _) => {}
        }
        let Some((handle, password)) = self.credentials() else {
            return Err(Stop::Other(format!(
                "searching needs {BLUESKY_HANDLE} and {BLUESKY_APP_PASSWORD}"
            )));
        };
        let url = self.url(&auth, "com.atproto.server.createSession", &[]);
        let body = serde_json::json!({"identifier": handle, "password": password.expose()});
        match client.post_json::<SessionBody>(url, None, &body).await {
            Ok(r) => {
                let s = self.session_of(r.body);
                state.session = Some(s.clone());
                Ok(s)
            }
            Err(HttpError::Budget) => Err(Stop::Http(HttpError::Budget)),
            Err(e) => {
                let why = format!(
                    "cannot log in to Bluesky as {handle} ({e}); check REPLYRANK_BLUESKY_HANDLE \
                     and REPLYRANK_BLUESKY_APP_PASSWORD (an app password, not the account's)"
                );
                state.failed = Some(why.clone());
                Err(Stop::Other(why))
            }
        }
    }

    /// The login of `REPLYRANK_BLUESKY_HANDLE` and `REPLYRANK_BLUESKY_APP_PASSWORD`, if set.
    fn credentials(&self) -> Option<(&str, &Secret)> {
        let s = &self.account.ctx.secrets;
        Some((
            s.get(BLUESKY_HANDLE)?.expose(),
            s.get(BLUESKY_APP_PASSWORD)?,
        ))
    }

    /// Bluesky's login and search server: `[sources.bluesky] auth_url`, or bsky.social.
    fn auth_url(&self) -> Result<reqwest::Url, Stop> {
        let set = self.account.ctx.config.sources.get("bluesky");
        let value = set.and_then(|c| c.auth_url.as_deref());
        super::url_setting("bluesky", "auth_url", value, DEFAULT_AUTH).map_err(Stop::Other)
    }

    /// A session's tokens, registered with the run's redactor as they arrive.
    fn session_of(&self, body: SessionBody) -> Session {
        Session {
            access: self.account.ctx.redactor.secret(body.access_jwt),
            refresh: self.account.ctx.redactor.secret(body.refresh_jwt),
        }
    }

    /// Moves the cursor of `feed` after a page (positions are times).
    fn advance(
        &mut self,
        feed: &str,
        done: bool,
        top: Option<i64>,
        next: Option<String>,
        floor: i64,
    ) {
        let top = top.map(crate::time::format_rfc3339);
        let floor = Some(crate::time::format_rfc3339(floor.max(0)));
        let entry = self.account.cursor.feeds.entry(feed.into()).or_default();
        entry.advance(done, top, next, floor, time_cmp);
    }

    /// A post view as a store post; `None` when it has no usable time.
    /// Its time is when the AppView received it (`indexedAt`): the record's `createdAt` is
    /// what the author's client declared (any client can write any time), kept as
    /// `declared_at` when it differs.
    fn post(&self, v: &PostView) -> Option<Post<'static>> {
        let declared = v.record.created_at.as_deref().and_then(parse_time);
        let created_at = v.indexed_at.as_deref().and_then(parse_time).or(declared)?;
        let by_brand = v.author.did == self.did;
        let mentions = v
            .record
            .facets
            .iter()
            .filter_map(|f| {
                let m = f.features.iter().find(|x| {
                    x.get("$type").and_then(Value::as_str)
                        == Some("app.bsky.richtext.facet#mention")
                })?;
                if m.get("did").and_then(Value::as_str) == Some(self.did.as_str()) {
                    return Some(self.account.handle.clone());
                }
                let text = v.record.text.get(f.index.byte_start..f.index.byte_end)?;
                Some(text.trim_start_matches('@').to_string())
            })
            .map(std::borrow::Cow::Owned)
            .collect();
        Some(Post {
            source: "bluesky".into(),
            id: v.uri.clone().into(),
            author: if by_brand {
                self.account.handle.clone().into()
            } else {
                v.author.did.clone().into()
            },
            created_at,
            reply_to: v.record.reply.as_ref().map(|r| r.parent.uri.clone().into()),
            text: Some(v.record.text.clone().into()),
            mentions,
            brand: by_brand.then(|| self.account.brand_id()),
            lang: v.record.langs.first().map(|l| l.clone().into()),
            declared_at: declared.filter(|d| *d != created_at),
            opted_out: v.author.labels.iter().any(|l| l.val == NO_UNAUTHENTICATED),
            ..Default::default()
        })
    }
}

/// The instant a feed is ordered by: when the AppView indexed the post, else its own time.
fn sort_time(v: &PostView) -> Option<i64> {
    v.indexed_at
        .as_deref()
        .and_then(parse_time)
        .or_else(|| v.record.created_at.as_deref().and_then(parse_time))
}

/// A full post view from a union (`#postView`, `#notFoundPost`, `#blockedPost`…), if it is one.
fn post_view(v: &Value) -> Option<PostView> {
    match v.get("$type").and_then(Value::as_str) {
        None | Some("app.bsky.feed.defs#postView") => serde_json::from_value(v.clone()).ok(),
        Some(_) => None,
    }
}

/// Every post of a thread view, depth first (the root, then its replies), and the URIs of
/// the posts it shows as not found.
fn thread_posts(node: &Value, out: &mut Vec<PostView>, gone: &mut Vec<String>) {
    if node.get("$type").and_then(Value::as_str) == Some("app.bsky.feed.defs#notFoundPost") {
        if let Some(uri) = node.get("uri").and_then(Value::as_str) {
            gone.push(uri.to_string());
        }
        return;
    }
    if let Some(v) = node
        .get("post")
        .and_then(|p| serde_json::from_value(p.clone()).ok())
    {
        out.push(v);
    }
    if let Some(replies) = node.get("replies").and_then(Value::as_array) {
        for r in replies {
            thread_posts(r, out, gone);
        }
    }
}
