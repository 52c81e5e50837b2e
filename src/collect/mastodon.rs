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
//! Coverage is thread-scoped: a standalone mention the brand never answered cannot be listed
//! without the brand's own token.
//!
//! Ids are `instance:status-id` (status ids are per instance; every status is read through the
//! brand's home instance, so ids and `in_reply_to_id`s share one scheme). Authors and mentions
//! are full `user@instance` accts.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::cursor::{OpenThread, id_cmp};
use super::http::HttpError;
use super::{Account, Collect, Collecting, Stop, parse_time};
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
}

#[derive(Deserialize, Clone)]
struct StatusAccount {
    id: String,
    acct: String,
}

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
        self.account
            .ctx
            .client("mastodon")
            .get_json::<T>(url, None)
            .await
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
                        });
                    self.counts.insert(s.id.clone(), s.replies_count);
                }
                if answers_other {
                    // Its thread holds the complaint it answers; replies come with it.
                    posts.extend(self.context(&s.id).await?);
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

    /// A status's thread: ancestors and descendants, as posts.
    async fn context(&self, id: &str) -> Result<Vec<Post<'static>>, HttpError> {
        let url = self.url(&format!("api/v1/statuses/{id}/context"), &[]);
        let c: Context = self.get(url).await?.body;
        Ok(c.ancestors
            .iter()
            .chain(&c.descendants)
            .filter_map(|s| self.post(s))
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
            let thread = self.context(id).await?;
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
    fn link_header_next() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("link", "<https://fosstodon.org/api/v1/accounts/1/statuses?exclude_reblogs=FALSE&limit=20&max_id=113191408914362368>; rel=\"next\", <https://fosstodon.org/api/v1/accounts/1/statuses?min_id=114739545367952761>; rel=\"prev\"".parse().unwrap());
        assert_eq!(next_max_id(&h).as_deref(), Some("113191408914362368"));
    }
}
