//! X API v2 (only with `REPLYRANK_X_BEARER_TOKEN`; default base `https://api.x.com`).
//!
//! Per account: its user id (`GET /2/users/by/username/:username`, once: kept in the cursor);
//! mentions (`/2/users/:id/mentions`: complaints, answered or not) and the brand's own tweets
//! (`/2/users/:id/tweets`: its replies), newest first down to the cursor's `since_id`, with
//! `referenced_tweets.id` expanded so most parents come inline; parents still missing are read
//! with `/2/tweets?ids=` (100 a call).
//!
//! X bills per post read, so the run reads at most `[sources.x] max_posts_per_run` posts
//! (default [`DEFAULT_MAX_POSTS`]) across all accounts, counting inline parents, and stops
//! cleanly there; the next run goes on from the cursors.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use serde::Deserialize;

use super::cursor::id_cmp;
use super::http::HttpError;
use super::{Account, Collect, Collecting, Ctx, Stop, parse_time};
use crate::post::Post;

pub const DEFAULT_BASE: &str = "https://api.x.com";
pub const DEFAULT_MAX_POSTS: u64 = 500;

const TWEET_FIELDS: &str =
    "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,author_id,lang,entities";
const EXPANSIONS: &str = "author_id,referenced_tweets.id,referenced_tweets.id.author_id";
const USER_FIELDS: &str = "username,public_metrics";

#[derive(Deserialize)]
struct UserBody {
    data: User,
}

#[derive(Deserialize, Clone)]
struct User {
    id: String,
    username: String,
}

#[derive(Deserialize, Default)]
struct Page {
    #[serde(default)]
    data: Vec<Tweet>,
    #[serde(default)]
    includes: Includes,
    #[serde(default)]
    meta: Meta,
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
}

pub struct Collector<'c> {
    account: Account<'c>,
    base: reqwest::Url,
    token: super::Secret,
    user_id: String,
    max_posts: u64,
}

impl<'c> Collector<'c> {
    pub fn open(account: Account<'c>) -> Result<Self, String> {
        let ctx = account.ctx;
        let max_posts = ctx
            .config
            .sources
            .get("x")
            .and_then(|s| s.max_posts_per_run)
            .unwrap_or(DEFAULT_MAX_POSTS);
        let token = ctx
            .secrets
            .get(crate::source::X_BEARER_TOKEN)
            .cloned()
            .ok_or_else(|| format!("{} is not set", crate::source::X_BEARER_TOKEN))?;
        Ok(Collector {
            account,
            base: ctx.base_url("x", DEFAULT_BASE)?,
            token,
            user_id: String::new(),
            max_posts,
        })
    }

    async fn run(&mut self) -> Result<(), Stop> {
        self.user_id = match &self.account.cursor.account_id {
            Some(id) => id.clone(),
            None => {
                let u: UserBody = self
                    .get(&format!("2/users/by/username/{}", self.account.handle), &[])
                    .await?;
                self.account.cursor.account_id = Some(u.data.id.clone());
                u.data.id
            }
        };
        for feed in ["mentions", "tweets"] {
            let state = self.account.feed(feed);
            if let Some(w) = state.walk {
                self.walk(feed, Some(w.page), w.floor, Some(w.top)).await?;
            }
            let newest = self
                .account
                .cursor
                .feeds
                .get(feed)
                .and_then(|f| f.newest.clone());
            let since = if self.account.ctx.since.is_some() {
                None
            } else {
                newest
            };
            self.walk(feed, None, since, None).await?;
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

    /// How many posts the next request may ask for (5 to 100), or a budget stop.
    fn allowance(&self) -> Result<u64, Stop> {
        let used = self.account.ctx.x_used.load(Ordering::SeqCst);
        let left = self.max_posts.saturating_sub(used);
        if left < 5 {
            return Err(Stop::Budget(self.max_posts));
        }
        Ok(left.min(100))
    }

    async fn walk(
        &mut self,
        feed: &str,
        mut token: Option<String>,
        since_id: Option<String>,
        mut top: Option<String>,
    ) -> Result<(), Stop> {
        let path = format!("2/users/{}/{feed}", self.user_id);
        let start_time = crate::time::format_rfc3339(self.account.ctx.floor(None).max(0));
        loop {
            let max = self.allowance()?.to_string();
            let mut q = vec![
                ("max_results", max.as_str()),
                ("tweet.fields", TWEET_FIELDS),
                ("expansions", EXPANSIONS),
                ("user.fields", USER_FIELDS),
            ];
            match &since_id {
                Some(s) => q.push(("since_id", s)),
                None => q.push(("start_time", &start_time)),
            }
            if let Some(t) = &token {
                q.push(("pagination_token", t));
            }
            let page: Page = self.get(&path, &q).await?;
            add_x_used(
                self.account.ctx,
                (page.data.len() + page.includes.tweets.len()) as u64,
            );
            let users: HashMap<&str, &str> = page
                .includes
                .users
                .iter()
                .map(|u| (u.id.as_str(), u.username.as_str()))
                .collect();
            let mut posts: Vec<Post<'static>> = Vec::new();
            for t in page.data.iter().chain(&page.includes.tweets) {
                posts.extend(self.post(t, &users));
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
            // Parents that did not come inline.
            let have: std::collections::HashSet<&str> =
                posts.iter().map(|p| p.id.as_ref()).collect();
            let missing: Vec<String> = posts
                .iter()
                .filter_map(|p| p.reply_to.as_deref())
                .filter(|id| !have.contains(id))
                .map(str::to_string)
                .collect();
            drop(have);
            for chunk in missing.chunks(100) {
                if self.allowance().is_err() {
                    break;
                }
                let ids = chunk.join(",");
                let more: Page = self
                    .get(
                        "2/tweets",
                        &[
                            ("ids", ids.as_str()),
                            ("tweet.fields", TWEET_FIELDS),
                            ("expansions", "author_id"),
                            ("user.fields", USER_FIELDS),
                        ],
                    )
                    .await?;
                add_x_used(self.account.ctx, more.data.len() as u64);
                let users: HashMap<&str, &str> = more
                    .includes
                    .users
                    .iter()
                    .map(|u| (u.id.as_str(), u.username.as_str()))
                    .collect();
                for t in &more.data {
                    posts.extend(self.post(t, &users));
                }
            }
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

    fn post(&self, t: &Tweet, users: &HashMap<&str, &str>) -> Option<Post<'static>> {
        let created_at = parse_time(t.created_at.as_deref()?)?;
        let author_id = t.author_id.as_deref().unwrap_or("");
        let by_brand = author_id == self.user_id;
        let author = if by_brand {
            self.account.handle.clone()
        } else {
            users
                .get(author_id)
                .map_or(String::new(), |u| u.to_string())
        };
        Some(Post {
            source: "x".into(),
            id: t.id.clone().into(),
            author: author.into(),
            created_at,
            reply_to: t
                .referenced_tweets
                .iter()
                .find(|r| r.kind == "replied_to")
                .map(|r| r.id.clone().into()),
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
            inbound: None,
            brand: by_brand.then(|| self.account.brand_id()),
            to_brand: None,
            replies: Vec::new(),
            lang: None,
            classified: None,
            declared_at: None,
            followers: None,
            opted_out: false,
            network_id: None,
        })
    }
}

/// Adds `n` to the run's count of X posts read and returns the total.
fn add_x_used(ctx: &Ctx, n: u64) -> u64 {
    ctx.x_used.fetch_add(n, Ordering::SeqCst) + n
}
