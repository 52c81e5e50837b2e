//! X API v2 (only with `REPLYRANK_X_BEARER_TOKEN`; default base `https://api.x.com`).
//!
//! Per account: its user id (`GET /2/users/by/username/:username`, once: kept in the cursor);
//! mentions (`/2/users/:id/mentions`: complaints, answered or not) and the brand's own tweets
//! (`/2/users/:id/tweets?exclude=retweets`: its replies), newest first down to the cursor's
//! `since_id`, with `referenced_tweets.id` expanded so most parents come inline; parents still
//! missing are read with `/2/tweets?ids=` (100 a call).
//!
//! What is stored: the brand's tweets; mentions of the brand that are not retweets (a retweet
//! of "@Brand …" is not a complaint); and, of the tweets X includes, only those of a brand
//! thread: the brand's own, those mentioning the brand, and the parents up a reply chain that
//! reaches the brand (a post the brand answered, a customer's earlier post in a thread with the
//! brand). A stranger's tweet that a customer quoted or retweeted is not stored.
//!
//! An account X does not know (an errors-only answer to the user look-up: deleted, renamed or
//! suspended) fails with one line naming it, without retries.
//!
//! X bills per resource read, so the run reads at most `[sources.x] max_posts_per_run`
//! (default [`DEFAULT_MAX_POSTS`]) in post reads, counting inline parents and users (a user read
//! costs [`USER_READ_COST`] post reads), shared fairly ([`Budget`]); it stops cleanly there and
//! the next run goes on from the cursors. X's mentions timeline reaches back only
//! [`TIMELINE_REACH`] posts: when an account's unread mentions may be more, the run says so and
//! the coverage statement records it.
//!
//! The stored posts of the window ([`Ctx::stored`]) are looked up again (`/2/tweets?ids=`, 100 a
//! call, within the budget): those X answers "not found" are deleted ([`super::Account::deleted`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;

use super::cursor::id_cmp;
use super::http::HttpError;
use super::{Account, Collect, Collecting, Stop, parse_time};
use crate::post::Post;

pub const DEFAULT_BASE: &str = "https://api.x.com";
pub const DEFAULT_MAX_POSTS: u64 = 500;
/// What one user read costs, in post reads (X's price list: $0.010 a user, $0.005 a post).
pub const USER_READ_COST: u64 = 2;
/// How far back X's mentions timeline reaches: its 800 most recent posts.
pub const TIMELINE_REACH: u64 = 800;
/// The smallest page the timelines accept (`max_results` is 5 to 100).
const MIN_PAGE: u64 = 5;
/// The budget participant that looks up the stored posts for deletions.
const DELETIONS: &str = "(deletion check)";

const TWEET_FIELDS: &str =
    "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,author_id,lang,entities";
const EXPANSIONS: &str = "author_id,referenced_tweets.id,referenced_tweets.id.author_id";
const USER_FIELDS: &str = "username,public_metrics";

/// An answer that may hold only `errors` (X answers HTTP 200 with errors for an unknown or
/// suspended user, and lists the ids of a look-up it could not find).
#[derive(Deserialize)]
struct UserBody {
    data: Option<User>,
    #[serde(default)]
    errors: Vec<ApiError>,
}

#[derive(Deserialize, Clone)]
struct User {
    id: String,
    username: String,
    public_metrics: Option<Metrics>,
}

#[derive(Deserialize, Clone)]
struct Metrics {
    followers_count: Option<u64>,
}

#[derive(Deserialize, Clone, Default)]
struct ApiError {
    #[serde(default)]
    detail: String,
    #[serde(default, rename = "type")]
    kind: String,
    resource_type: Option<String>,
    resource_id: Option<String>,
    parameter: Option<String>,
}

impl ApiError {
    fn not_found(&self) -> bool {
        self.kind.ends_with("/resource-not-found")
    }
}

#[derive(Deserialize, Default)]
struct Page {
    #[serde(default)]
    data: Vec<Tweet>,
    #[serde(default)]
    includes: Includes,
    #[serde(default)]
    meta: Meta,
    #[serde(default)]
    errors: Vec<ApiError>,
}

#[derive(Deserialize, Default)]
struct Includes {
    #[serde(default)]
    users: Vec<User>,
    #[serde(default)]
    tweets: Vec<Tweet>,
}

#[derive(Deserialize, Default)]
struct Meta {
    newest_id: Option<String>,
    next_token: Option<String>,
}

#[derive(Deserialize, Clone)]
struct Tweet {
    id: String,
    #[serde(default)]
    text: String,
    author_id: Option<String>,
    created_at: Option<String>,
    in_reply_to_user_id: Option<String>,
    lang: Option<String>,
    #[serde(default)]
    referenced_tweets: Vec<Reference>,
    entities: Option<Entities>,
}

#[derive(Deserialize, Clone)]
struct Reference {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

#[derive(Deserialize, Clone, Default)]
struct Entities {
    #[serde(default)]
    mentions: Vec<EntityMention>,
}

#[derive(Deserialize, Clone)]
struct EntityMention {
    username: String,
    id: Option<String>,
}

impl Tweet {
    fn retweet(&self) -> bool {
        self.referenced_tweets.iter().any(|r| r.kind == "retweeted")
    }

    fn parent(&self) -> Option<&str> {
        self.referenced_tweets
            .iter()
            .find(|r| r.kind == "replied_to")
            .map(|r| r.id.as_str())
    }
}

/// The run's X read budget, shared fairly: every participant (each X account of the run, and
/// the deletion check) may read its share (the total divided among them); what is left over
/// (shares not used by participants that finished, and the remainder of the division) is
/// handed out one page at a time, round-robin, to participants that want more. A participant
/// past its share waits while others still read within theirs (their leftovers may come back).
pub struct Budget {
    total: u64,
    state: Mutex<Shares>,
    changed: tokio::sync::Notify,
    deletions_claimed: AtomicBool,
}

#[derive(Debug)]
struct Shares {
    total: u64,
    share: u64,
    /// Reads so far, per participant (every participant listed from the start).
    used: BTreeMap<String, u64>,
    finished: BTreeSet<String>,
    /// Pages handed out beyond the share, per participant (the round-robin's turns).
    extra: BTreeMap<String, u64>,
}

#[derive(Debug, PartialEq)]
enum Grant {
    /// Read up to this many.
    Take(u64),
    /// Others may free some: ask again when something changes.
    Wait,
    /// Nothing is left for this run.
    Spent,
}

impl Shares {
    fn new(total: u64, participants: &[String]) -> Shares {
        let n = participants.len().max(1) as u64;
        Shares {
            total,
            share: total / n,
            used: participants.iter().map(|p| (p.clone(), 0)).collect(),
            finished: BTreeSet::new(),
            extra: BTreeMap::new(),
        }
    }

    fn used(&self, who: &str) -> u64 {
        self.used.get(who).copied().unwrap_or(0)
    }

    fn own_left(&self, who: &str) -> u64 {
        self.share.saturating_sub(self.used(who))
    }

    /// What is neither read nor held for a participant still within its share.
    fn pool(&self) -> u64 {
        let held: u64 = self
            .used
            .iter()
            .map(|(p, &u)| {
                if self.finished.contains(p) {
                    u
                } else {
                    u.max(self.share)
                }
            })
            .sum();
        self.total.saturating_sub(held)
    }

    fn grant(&mut self, who: &str, min: u64) -> Grant {
        let own = self.own_left(who);
        if own >= min {
            return Grant::Take(own.min(100));
        }
        let active = |s: &Shares, p: &str| !s.finished.contains(p) && p != who;
        let pool = self.pool();
        if pool < min {
            // Participants still within their share may leave some of it unread.
            let waiting_on_share = self
                .used
                .keys()
                .any(|p| active(self, p) && self.own_left(p) >= MIN_PAGE.min(min));
            return if waiting_on_share {
                Grant::Wait
            } else {
                Grant::Spent
            };
        }
        // Round-robin: no page beyond the share before every other participant past its share
        // had as many.
        let mine = self.extra.get(who).copied().unwrap_or(0);
        let behind = self.used.keys().any(|p| {
            active(self, p)
                && self.own_left(p) < MIN_PAGE
                && self.extra.get(p).copied().unwrap_or(0) < mine
        });
        if behind {
            return Grant::Wait;
        }
        *self.extra.entry(who.to_string()).or_default() += 1;
        Grant::Take(pool.min(100))
    }
}

impl Budget {
    /// A budget of `total` post reads shared by `participants` (see [`Budget::participants`]).
    pub fn new(total: u64, participants: &[String]) -> Budget {
        Budget {
            total,
            state: Mutex::new(Shares::new(total, participants)),
            changed: tokio::sync::Notify::new(),
            deletions_claimed: AtomicBool::new(false),
        }
    }

    /// The participants of a run: its X accounts (as the registry writes them), and the
    /// deletion check when the store holds X posts inside the window.
    pub fn participants<'a>(
        accounts: impl Iterator<Item = &'a str>,
        check_deletions: bool,
    ) -> Vec<String> {
        let mut v: Vec<String> = accounts.map(participant).collect();
        if check_deletions {
            v.push(DELETIONS.to_string());
        }
        v
    }

    /// Post reads so far, all participants together.
    pub fn used(&self) -> u64 {
        self.state.lock().expect("not poisoned").used.values().sum()
    }

    /// How many `who` may read with its next request (at least `min`, at most 100), waiting
    /// its turn when it is past its share; a budget stop when nothing is left.
    async fn take(&self, who: &str, min: u64) -> Result<u64, Stop> {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let grant = self.state.lock().expect("not poisoned").grant(who, min);
            match grant {
                Grant::Take(n) => return Ok(n),
                Grant::Spent => return Err(Stop::Budget(self.total)),
                Grant::Wait => changed.await,
            }
        }
    }

    /// Counts `n` post reads to `who`.
    fn charge(&self, who: &str, n: u64) {
        *self
            .state
            .lock()
            .expect("not poisoned")
            .used
            .entry(who.to_string())
            .or_default() += n;
        self.changed.notify_waiters();
    }

    /// `who` reads no more this run: what it did not use goes to the others.
    fn finish(&self, who: &str) {
        self.state
            .lock()
            .expect("not poisoned")
            .finished
            .insert(who.to_string());
        self.changed.notify_waiters();
    }
}

/// An account's name as a budget participant.
fn participant(handle: &str) -> String {
    handle.trim_start_matches('@').to_ascii_lowercase()
}

/// The instant (Unix seconds) encoded in an X id (a snowflake: milliseconds since
/// 2010-11-04T01:42:54.657Z in the bits above the 22 lowest).
fn snowflake_time(id: &str) -> Option<i64> {
    let n: u64 = id.parse().ok()?;
    Some((((n >> 22) + 1_288_834_974_657) / 1000) as i64)
}

/// What a mentions walk saw, to tell whether mentions were past the timeline's reach.
#[derive(Default)]
struct WalkStats {
    read: u64,
    newest: Option<i64>,
    oldest: Option<i64>,
}

impl WalkStats {
    fn see(&mut self, t: &Tweet) {
        self.read += 1;
        if let Some(at) = snowflake_time(&t.id) {
            self.newest = Some(self.newest.map_or(at, |n| n.max(at)));
            self.oldest = Some(self.oldest.map_or(at, |o| o.min(at)));
        }
    }

    /// The mentions not yet read, estimated at the rate of those read, when they and those read
    /// may be more than [`TIMELINE_REACH`]: `since` is the time the walk goes down to, `ended`
    /// whether the timeline gave no further page.
    fn beyond_reach(&self, since: i64, ended: bool) -> Option<u64> {
        let (newest, oldest) = (self.newest?, self.oldest?);
        let span = (newest - oldest).max(1) as f64;
        let unread = (self.read as f64 / span * (oldest - since).max(0) as f64).round() as u64;
        if ended && self.read + MIN_PAGE < TIMELINE_REACH {
            return None; // the timeline ended at the cursor, not at its reach
        }
        (unread > 0 && self.read + unread > TIMELINE_REACH).then_some(unread)
    }
}

pub struct Collector<'c> {
    account: Account<'c>,
    base: reqwest::Url,
    token: super::Secret,
    user_id: String,
    /// This account as a budget participant.
    me: String,
}

impl<'c> Collector<'c> {
    pub fn open(account: Account<'c>) -> Result<Self, String> {
        let ctx = account.ctx;
        let me = participant(&account.handle);
        let opened = ctx
            .secrets
            .get(crate::source::X_BEARER_TOKEN)
            .cloned()
            .ok_or_else(|| format!("{} is not set", crate::source::X_BEARER_TOKEN))
            .and_then(|token| Ok((token, ctx.base_url("x", DEFAULT_BASE)?)));
        match opened {
            Ok((token, base)) => Ok(Collector {
                account,
                base,
                token,
                user_id: String::new(),
                me,
            }),
            Err(e) => {
                ctx.x_budget.finish(&me);
                Err(e)
            }
        }
    }

    async fn run(&mut self) -> Result<(), Stop> {
        let budget = &self.account.ctx.x_budget;
        let check = if !budget.deletions_claimed.swap(true, Ordering::SeqCst)
            && !self.account.ctx.stored("x").is_empty()
        {
            let r = self.check_deletions().await;
            budget.finish(DELETIONS);
            r
        } else {
            Ok(())
        };
        let r = match check {
            Ok(()) => self.collect_account().await,
            Err(e) => Err(e),
        };
        budget.finish(&self.me);
        r
    }

    async fn collect_account(&mut self) -> Result<(), Stop> {
        self.user_id = match &self.account.cursor.account_id {
            Some(id) => id.clone(),
            None => self.look_up().await?,
        };
        for feed in ["mentions", "tweets"] {
            let mut stats = WalkStats::default();
            let since = self.since(feed);
            let state = self.account.feed(feed);
            let mut r = Ok(());
            if let Some(w) = state.walk {
                r = self
                    .walk(feed, Some(w.page), w.floor, Some(w.top), &mut stats)
                    .await;
            }
            if r.is_ok() {
                let newest = self
                    .account
                    .cursor
                    .feeds
                    .get(feed)
                    .and_then(|f| f.newest.clone());
                let since_id = if self.account.ctx.since.is_some() {
                    None
                } else {
                    newest
                };
                r = self.walk(feed, None, since_id, None, &mut stats).await;
            }
            if feed == "mentions" {
                let ended = r.is_ok();
                if let Some(unread) = stats.beyond_reach(since, ended) {
                    self.beyond_reach(unread, since, ended);
                }
            }
            r?;
        }
        Ok(())
    }

    /// The oldest time a walk of `feed` goes down to: its cursor, or the run's floor.
    fn since(&self, feed: &str) -> i64 {
        let cursor = self.account.cursor.feeds.get(feed);
        let newest = cursor.and_then(|f| {
            f.walk
                .as_ref()
                .and_then(|w| w.floor.clone())
                .or(f.newest.clone())
        });
        match (
            self.account.ctx.since,
            newest.as_deref().and_then(snowflake_time),
        ) {
            (Some(s), _) => s,
            (None, Some(t)) => t,
            (None, None) => self.account.ctx.floor(None),
        }
    }

    /// Says in the run's log and in the coverage statement that mentions may be lost.
    fn beyond_reach(&self, unread: u64, since: i64, ended: bool) {
        let ctx = self.account.ctx;
        let date = crate::time::format_rfc3339(since.max(0));
        let date = date.get(..10).unwrap_or(&date);
        let why = if ended {
            "were past the reach of X's mentions timeline (its 800 most recent posts) and are \
             lost"
        } else {
            "are not read yet, and with the next mentions they will be past the reach of X's \
             mentions timeline (its 800 most recent posts); raise [sources.x] max_posts_per_run \
             or collect more often"
        };
        ctx.log(format!(
            "x {}: about {unread} mentions since {date} {why}",
            self.account.handle
        ));
        ctx.coverage_note(
            "x",
            format!(
                "Incomplete for @{}: about {unread} mentions since {date} were past the reach \
                 of X's mentions timeline.",
                self.account.handle
            ),
        );
    }

    /// The account's user id; an account X does not know is one clear error, not retried.
    async fn look_up(&mut self) -> Result<String, Stop> {
        let budget = &self.account.ctx.x_budget;
        budget.take(&self.me, USER_READ_COST).await?;
        let path = format!("2/users/by/username/{}", self.account.handle);
        let u: UserBody = self.get(&path, &[("user.fields", USER_FIELDS)]).await?;
        let Some(user) = u.data else {
            let detail = u
                .errors
                .first()
                .map_or("no user in the answer", |e| e.detail.as_str());
            return Err(Stop::Other(format!(
                "X has no account @{} (\"{detail}\": deleted, renamed or suspended); fix or \
                 remove it in {}",
                self.account.handle,
                crate::root::REGISTRY
            )));
        };
        budget.charge(&self.me, USER_READ_COST);
        self.account.cursor.account_id = Some(user.id.clone());
        Ok(user.id)
    }
}

impl Collect for Collector<'_> {
    fn collect(&mut self) -> Collecting<'_> {
        Box::pin(self.run())
    }
}

impl Collector<'_> {
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, HttpError> {
        let mut url = self.base.join(path).expect("a valid path");
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(self
            .account
            .ctx
            .client("x")
            .get_json::<T>(url, Some(self.token.expose()))
            .await?
            .body)
    }

    /// Charges a page's reads: its posts, the tweets and the users it includes.
    fn charge(&self, who: &str, page: &Page) {
        let posts = (page.data.len() + page.includes.tweets.len()) as u64;
        let users = page.includes.users.len() as u64 * USER_READ_COST;
        self.account.ctx.x_budget.charge(who, posts + users);
    }

    async fn walk(
        &mut self,
        feed: &str,
        mut token: Option<String>,
        since_id: Option<String>,
        mut top: Option<String>,
        stats: &mut WalkStats,
    ) -> Result<(), Stop> {
        let path = format!("2/users/{}/{feed}", self.user_id);
        let start_time = crate::time::format_rfc3339(self.account.ctx.floor(None).max(0));
        loop {
            let max = self
                .account
                .ctx
                .x_budget
                .take(&self.me, MIN_PAGE)
                .await?
                .max(MIN_PAGE)
                .to_string();
            let mut q = vec![
                ("max_results", max.as_str()),
                ("tweet.fields", TWEET_FIELDS),
                ("expansions", EXPANSIONS),
                ("user.fields", USER_FIELDS),
            ];
            if feed == "tweets" {
                q.push(("exclude", "retweets"));
            }
            match &since_id {
                Some(s) => q.push(("since_id", s)),
                None => q.push(("start_time", &start_time)),
            }
            if let Some(t) = &token {
                q.push(("pagination_token", t));
            }
            let page: Page = self.get(&path, &q).await?;
            self.charge(&self.me.clone(), &page);
            if page.data.is_empty()
                && let Some(e) = page
                    .errors
                    .iter()
                    .find(|e| e.not_found() && e.resource_type.as_deref() == Some("user"))
            {
                return Err(Stop::Other(format!(
                    "X no longer has the account @{} (\"{}\": deleted or suspended); fix or \
                     remove it in {}",
                    self.account.handle,
                    e.detail,
                    crate::root::REGISTRY
                )));
            }
            for t in &page.data {
                stats.see(t);
            }
            let mut users = Users::default();
            users.add(&page.includes.users);
            let mut posts: Vec<Post<'static>> = Vec::new();
            let mut have: HashSet<String> = HashSet::new();
            for t in self.of_brand_threads(&page) {
                if have.insert(t.id.clone()) {
                    posts.extend(self.post(t, &users));
                }
            }
            if let Some(n) = page.meta.newest_id.clone().or_else(|| {
                page.data
                    .iter()
                    .map(|t| t.id.clone())
                    .max_by(|a, b| id_cmp(a, b))
            }) && top.as_deref().is_none_or(|t| id_cmp(&n, t).is_gt())
            {
                top = Some(n);
            }
            posts.extend(self.missing_parents(&page, &have).await?);
            let done = page.data.is_empty() || page.meta.next_token.is_none();
            let state = self.account.cursor.feeds.entry(feed.into()).or_default();
            let next = page.meta.next_token.clone();
            state.advance(done, top.clone(), next, since_id.clone(), id_cmp);
            self.account.commit(posts).await?;
            if done {
                return Ok(());
            }
            token = page.meta.next_token;
        }
    }

    /// Whether the parent of `t` belongs to a thread with the brand: `t` is the brand's, or
    /// answers the brand, or is its author's follow-up of their own post.
    fn climbs(&self, t: &Tweet) -> bool {
        let author = t.author_id.as_deref();
        let to = t.in_reply_to_user_id.as_deref();
        author == Some(&self.user_id) || to == Some(&self.user_id) || (to.is_some() && to == author)
    }

    fn mentions_brand(&self, t: &Tweet) -> bool {
        t.entities.as_ref().is_some_and(|e| {
            e.mentions.iter().any(|m| {
                m.id.as_deref() == Some(&self.user_id)
                    || m.username.eq_ignore_ascii_case(&self.account.handle)
            })
        })
    }

    /// The page's tweets that belong to a brand thread: its posts that are not retweets, the
    /// included parents up their reply chains, and included tweets by or to the brand.
    fn of_brand_threads<'p>(&self, page: &'p Page) -> Vec<&'p Tweet> {
        let included: HashMap<&str, &Tweet> = page
            .includes
            .tweets
            .iter()
            .map(|t| (t.id.as_str(), t))
            .collect();
        let mut kept: Vec<&Tweet> = page.data.iter().filter(|t| !t.retweet()).collect();
        let mut seen: HashSet<&str> = kept.iter().map(|t| t.id.as_str()).collect();
        let mut i = 0;
        while i < kept.len() {
            let t = kept[i];
            if self.climbs(t)
                && let Some(p) = t.parent().and_then(|p| included.get(p))
                && seen.insert(p.id.as_str())
            {
                kept.push(p);
            }
            i += 1;
        }
        for t in &page.includes.tweets {
            let ours = t.author_id.as_deref() == Some(&self.user_id) || self.mentions_brand(t);
            if ours && !t.retweet() && seen.insert(t.id.as_str()) {
                kept.push(t);
            }
        }
        kept
    }

    /// Parents up a brand thread that did not come inline, read with `/2/tweets?ids=`.
    async fn missing_parents(
        &self,
        page: &Page,
        have: &HashSet<String>,
    ) -> Result<Vec<Post<'static>>, Stop> {
        let missing: BTreeSet<&str> = self
            .of_brand_threads(page)
            .into_iter()
            .filter(|t| self.climbs(t))
            .filter_map(Tweet::parent)
            .filter(|id| !have.contains(*id))
            .collect();
        let missing: Vec<&str> = missing.into_iter().collect();
        let mut posts = Vec::new();
        let mut rest = &missing[..];
        let query = [
            ("tweet.fields", TWEET_FIELDS),
            ("expansions", "author_id"),
            ("user.fields", USER_FIELDS),
        ];
        // When the budget is spent, the walk's next page stops; what is read is kept.
        while let Some((_, found)) = self.read_ids(&self.me, &mut rest, &query).await? {
            let mut users = Users::default();
            users.add(&found.includes.users);
            posts.extend(found.data.iter().filter_map(|t| self.post(t, &users)));
        }
        Ok(posts)
    }

    /// Looks up the next ids of `rest` (`/2/tweets?ids=`, as many as the budget grants `who`, at
    /// most 100) and charges them to `who`: the ids asked and the answer; `None` when there are
    /// none left or the budget is spent.
    async fn read_ids<'i>(
        &self,
        who: &str,
        rest: &mut &'i [&'i str],
        query: &[(&str, &str)],
    ) -> Result<Option<(&'i [&'i str], Page)>, Stop> {
        if rest.is_empty() {
            return Ok(None);
        }
        let Ok(n) = self.account.ctx.x_budget.take(who, 1).await else {
            return Ok(None);
        };
        let (chunk, more) = rest.split_at((n as usize).min(rest.len()));
        *rest = more;
        let ids = chunk.join(",");
        let mut q = vec![("ids", ids.as_str())];
        q.extend_from_slice(query);
        let found: Page = self.get("2/tweets", &q).await?;
        self.charge(who, &found);
        Ok(Some((chunk, found)))
    }

    /// Looks up the window's stored posts again; those X no longer has are deleted.
    async fn check_deletions(&self) -> Result<(), Stop> {
        let ctx = self.account.ctx;
        let ids: Vec<&str> = ctx.stored("x").iter().map(|(id, _)| id.as_str()).collect();
        let mut rest = &ids[..];
        let mut gone = 0;
        while let Some((chunk, found)) = self
            .read_ids(DELETIONS, &mut rest, &[("tweet.fields", "id")])
            .await?
        {
            for e in &found.errors {
                let asked = e.resource_id.as_deref().filter(|id| chunk.contains(id));
                if let Some(id) = asked
                    && e.not_found()
                    && e.resource_type.as_deref() == Some("tweet")
                    && e.parameter.as_deref().is_none_or(|p| p == "ids")
                {
                    ctx.deleted("x", id.to_string());
                    gone += 1;
                }
            }
        }
        if !rest.is_empty() {
            ctx.log(format!(
                "x: {} stored posts not checked for deletion this run: the budget ([sources.x] \
                 max_posts_per_run) is spent",
                rest.len()
            ));
        }
        if gone > 0 {
            ctx.log(format!("x: {gone} stored posts are deleted on X"));
        }
        Ok(())
    }

    fn post(&self, t: &Tweet, users: &Users) -> Option<Post<'static>> {
        let created_at = parse_time(t.created_at.as_deref()?)?;
        let author_id = t.author_id.as_deref().unwrap_or("");
        let by_brand = author_id == self.user_id;
        let user = users.0.get(author_id);
        let author = if by_brand {
            self.account.handle.clone()
        } else {
            user.map_or(String::new(), |u| u.0.clone())
        };
        Some(Post {
            source: "x".into(),
            id: t.id.clone().into(),
            author: author.into(),
            created_at,
            reply_to: t.parent().map(|p| p.to_string().into()),
            text: Some(t.text.clone().into()),
            mentions: t
                .entities
                .as_ref()
                .map(|e| {
                    e.mentions
                        .iter()
                        .map(|m| m.username.clone().into())
                        .collect()
                })
                .unwrap_or_default(),
            brand: by_brand.then(|| self.account.brand_id()),
            lang: t.lang.clone().map(Into::into),
            followers: user.and_then(|u| u.1),
            ..Default::default()
        })
    }
}

/// The users a page includes: id → (username, followers).
#[derive(Default)]
struct Users(HashMap<String, (String, Option<u64>)>);

impl Users {
    fn add(&mut self, users: &[User]) {
        for u in users {
            let followers = u.public_metrics.as_ref().and_then(|m| m.followers_count);
            self.0.insert(u.id.clone(), (u.username.clone(), followers));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("a{i}")).collect()
    }

    #[test]
    fn each_account_gets_its_share_before_any_takes_more() {
        let mut s = Shares::new(500, &names(100));
        assert_eq!(s.share, 5);
        assert_eq!(s.grant("a0", 5), Grant::Take(5));
        s.used.insert("a0".into(), 5);
        // a0 is past its share and 99 accounts still hold theirs: it waits.
        assert_eq!(s.grant("a0", 5), Grant::Wait);
        // Once everyone else finished having read nothing, a0 has the rest, a page at a time.
        for i in 1..100 {
            s.finished.insert(format!("a{i}"));
        }
        assert_eq!(s.grant("a0", 5), Grant::Take(100));
    }

    #[test]
    fn what_is_left_goes_round_robin() {
        let mut s = Shares::new(300, &names(3));
        for a in ["a0", "a1", "a2"] {
            s.used.insert(a.into(), 100);
        }
        s.finished.insert("a2".into());
        s.used.insert("a2".into(), 20); // a2 finished having read 20: 80 are left
        assert_eq!(s.grant("a0", 5), Grant::Take(80));
        // a0 had a page beyond its share; a1 has had none: a0 waits for a1's turn.
        assert_eq!(s.grant("a0", 5), Grant::Wait);
        assert_eq!(s.grant("a1", 5), Grant::Take(80));
        s.used.insert("a0".into(), 180);
        s.finished.insert("a1".into());
        assert_eq!(s.grant("a0", 5), Grant::Spent);
    }

    #[test]
    fn snowflake_ids_carry_their_time() {
        // 1578522401263919106 was posted 2022-10-07T23:07:22Z (tweepy's recording).
        let t = snowflake_time("1578522401263919106").unwrap();
        assert_eq!(crate::time::format_rfc3339(t), "2022-10-07T23:07:22Z");
    }

    #[test]
    fn a_walk_that_ends_at_its_cursor_loses_nothing() {
        let mut w = WalkStats {
            read: 120,
            newest: Some(10_000),
            oldest: Some(9_000),
        };
        assert_eq!(w.beyond_reach(8_000, true), None);
        // 800 read in 1,000 s, and 1,000 s more down to the cursor: about 800 more.
        w.read = 800;
        assert_eq!(w.beyond_reach(8_000, true), Some(800));
        // A walk stopped by the budget after 300 of a busy hour.
        w.read = 300;
        assert_eq!(w.beyond_reach(6_000, false), Some(900));
    }
}
