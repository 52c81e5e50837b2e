//! `replyrank collect` end to end: the real binary against a local server replaying recorded
//! Bluesky, Mastodon and X responses (tests/fixtures/api), then `replyrank score`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::collect;
use common::server::{Reply, Request, Server};
use serde_json::{Value, json};

const X_TOKEN: &str = "SECRET-x-bearer-7f3a";
const BSKY_PASSWORD: &str = "SECRET-app-password-91c2";

fn fixture_exchanges(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/api")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn fixture(name: &str) -> Value {
    // Recorded exchanges: the first response's body.
    match fixture_exchanges(name) {
        Value::Array(ex) if ex[0]["response"].is_object() => ex[0]["response"]["body"].clone(),
        v => v,
    }
}

/// Every post view in the recorded author feed (the brand's posts, parents and roots), by URI.
fn bsky_views(feed: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for item in feed["feed"].as_array().unwrap() {
        out.push(item["post"].clone());
        for k in ["parent", "root"] {
            if item["reply"][k]["author"].is_object() {
                out.push(item["reply"][k].clone());
            }
        }
    }
    out
}

/// Every post view of a thread view, depth first.
fn thread_views(node: &Value, out: &mut Vec<Value>) {
    if node["post"].is_object() {
        out.push(node["post"].clone());
    }
    for r in node["replies"].as_array().into_iter().flatten() {
        thread_views(r, out);
    }
}

/// What the fake APIs do differently, switched by a test between runs.
#[derive(Default)]
struct Knobs {
    /// The second page of Mastodon statuses hangs for 5 s.
    stall: AtomicBool,
    /// Bluesky: a customer has since answered deeper down the brand's thread (the brand post's
    /// own reply count is unchanged).
    deeper: AtomicBool,
    /// Bluesky: the labelled customer's reply in the thread is deleted (`notFoundPost`).
    reply_gone: AtomicBool,
    /// Bluesky: the first search answers that the session's access token has expired.
    expire: AtomicBool,
    /// Mastodon: the instance requires a token for its API.
    masto_auth: AtomicBool,
    /// Mastodon: the brand's status 113386903441645744 is deleted.
    status_gone: AtomicBool,
    /// X: the mentions timeline has a next page (the same posts again).
    x_next: AtomicBool,
}

/// Bluesky's thread under the brand post `THREAD_ROOT` as the AppView would answer it now.
fn bsky_thread(full: &Value, k: &Knobs) -> Value {
    let mut t = full.clone();
    let replies = t["thread"]["replies"].as_array_mut().unwrap();
    if !k.deeper.load(Ordering::SeqCst) {
        // Before the deeper reply: the second level has no reply yet.
        let d2 = &mut replies[0]["replies"][0];
        d2["post"]["replyCount"] = json!(0);
        d2["replies"] = json!([]);
    }
    if k.reply_gone.load(Ordering::SeqCst) {
        // The shape of a deleted post in a thread, as the recorded feed shows it.
        let uri = replies[1]["post"]["uri"].clone();
        replies[1] =
            json!({"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri, "notFound": true});
    }
    t
}

const THREAD_ROOT: &str = "at://did:plc:wpe35pganb6d4pg4ekmfy6u5/app.bsky.feed.post/3lo7irc7njk2p";
const LABELLED: &str = "at://did:plc:koh6ega53iul5n6qomu6e7an/app.bsky.feed.post/3lpjqrblspk2n";
const DEEPEST: &str = "at://did:plc:ooimp4mgjxbday5u4j2rh57m/app.bsky.feed.post/3lpjqeajrhs27";
/// The ids of the replies copied under brand status 113754787137256433 (the recorded ones'
/// shifted by 2×10^9 to 13×10^9).
fn thread_b() -> std::collections::HashSet<u64> {
    let recorded = fixture("mastodon/status_context.json");
    let mut ids = std::collections::HashSet::new();
    for s in recorded["descendants"].as_array().unwrap() {
        let id: u64 = s["id"].as_str().unwrap().parse().unwrap();
        ids.extend((2..14u64).map(|n| id + n * 1_000_000_000));
    }
    ids
}
const MASTO_TOKEN: &str = "SECRET-masto-token-5b1e";

/// A Mastodon instance's statuses as a tree: `context` answers as Mastodon does for an
/// anonymous reader (descendants depth first in id order, at most 60, at most 20 levels down;
/// ancestors up to 40).
struct Instance {
    by_id: std::collections::BTreeMap<String, Value>,
    kids: std::collections::BTreeMap<String, Vec<String>>,
}

impl Instance {
    fn new(statuses: Vec<Value>) -> Instance {
        let mut by_id = std::collections::BTreeMap::new();
        let mut kids: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for s in statuses {
            let id = s["id"].as_str().unwrap().to_string();
            if let Some(p) = s["in_reply_to_id"].as_str() {
                kids.entry(p.to_string()).or_default().push(id.clone());
            }
            by_id.insert(id, s);
        }
        let num = |a: &String| (a.len(), a.clone());
        for v in kids.values_mut() {
            v.sort_by_key(num);
            v.dedup();
        }
        // Reply counts as the tree holds them.
        for (id, s) in by_id.iter_mut() {
            s["replies_count"] = json!(kids.get(id).map_or(0, Vec::len));
        }
        Instance { by_id, kids }
    }

    fn context(&self, id: &str) -> Value {
        let mut ancestors = Vec::new();
        let mut up = self.by_id[id]["in_reply_to_id"].as_str();
        while let Some(p) = up {
            let Some(s) = self.by_id.get(p) else { break };
            ancestors.insert(0, s.clone());
            up = s["in_reply_to_id"].as_str();
        }
        ancestors.truncate(40);
        let mut descendants = Vec::new();
        let mut stack: Vec<(String, usize)> = self
            .kids
            .get(id)
            .into_iter()
            .flatten()
            .rev()
            .map(|k| (k.clone(), 1))
            .collect();
        while let Some((k, depth)) = stack.pop() {
            if descendants.len() == 60 {
                break;
            }
            descendants.push(self.by_id[&k].clone());
            if depth < 20 {
                for c in self.kids.get(&k).into_iter().flatten().rev() {
                    stack.push((c.clone(), depth + 1));
                }
            }
        }
        json!({"ancestors": ancestors, "descendants": descendants})
    }
}

/// Copies of `statuses` with ids shifted by `shift` (within the copy), the copy's top hung
/// under `under`.
fn shifted(statuses: &[Value], shift: u64, top: &str, under: &str) -> Vec<Value> {
    let ids: std::collections::HashSet<&str> =
        statuses.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let bump = |id: &str| (id.parse::<u64>().unwrap() + shift).to_string();
    statuses
        .iter()
        .map(|s| {
            let mut c = s.clone();
            c["id"] = json!(bump(s["id"].as_str().unwrap()));
            let parent = s["in_reply_to_id"].as_str().unwrap();
            c["in_reply_to_id"] = json!(if parent == top {
                under.to_string()
            } else if ids.contains(parent) {
                bump(parent)
            } else {
                parent.to_string()
            });
            c
        })
        .collect()
}

/// The fake APIs.
fn api(k: Arc<Knobs>) -> Server {
    let feed = fixture("bluesky/getAuthorFeed.2025.json");
    let thread = fixture("bluesky/getPostThread.replies.json");
    let search = fixture("bluesky/searchPosts.mentions.json");
    let expiry = fixture_exchanges("bluesky/session_expiry.json");
    let statuses = fixture("mastodon/account_statuses.json");
    let context = fixture("mastodon/status_context.json");
    // The recorded thread hangs under another status; hang it under one of the brand's
    // (113386903441645744) so its replies are replies under a brand post.
    let recorded_top = "109294719267373593";
    let mut tree: Vec<Value> = statuses.as_array().unwrap().clone();
    let replies = context["descendants"].as_array().unwrap().clone();
    tree.extend(shifted(&replies, 0, recorded_top, "113386903441645744"));
    // Past the 60-descendant cap: a copy of the recorded replies (ids shifted by 10^9) under the
    // last reply of thread 113386903441645744 in thread order (the brand's own reply
    // 113389856777610803), so the thread holds 119 replies.
    tree.extend(shifted(
        &replies,
        1_000_000_000,
        recorded_top,
        "113389856777610803",
    ));
    // Cut for good: twelve more copies chained under brand status 113754787137256433 (708
    // replies; at most 1 + 10 contexts are read).
    let mut under = "113754787137256433".to_string();
    for n in 2..14u64 {
        let copy = shifted(&replies, n * 1_000_000_000, recorded_top, &under);
        under = copy.last().unwrap()["id"].as_str().unwrap().to_string();
        tree.extend(copy);
    }
    let instance = Instance::new(tree);
    let x_page = fixture("x/mentions.rewired.json");
    let x_suspended = fixture("x/user_suspended.json");
    let x_lookup = fixture("x/tweets_lookup.deleted.json");
    let views = bsky_views(&feed);
    let now = jiff::Timestamp::now();
    let masto_reset = (now + jiff::SignedDuration::from_secs(300)).to_string();
    let x_reset = (now.as_second() + 900).to_string();
    let expired = AtomicBool::new(false);
    Server::start(move |r: &Request| {
        let p = r.path.as_str();
        let current = bsky_thread(&thread, &k);
        let mut known = views.clone();
        thread_views(&current["thread"], &mut known);
        match p {
            "/xrpc/app.bsky.actor.getProfile" => {
                assert_eq!(r.param("actor"), Some("chriskenny.bsky.social"));
                Reply::json(&json!({"did": "did:plc:wpe35pganb6d4pg4ekmfy6u5",
                                     "handle": "chriskenny.bsky.social", "followersCount": 10}))
            }
            "/xrpc/app.bsky.feed.getAuthorFeed" => {
                assert_eq!(r.param("filter"), Some("posts_with_replies"));
                let items = feed["feed"].as_array().unwrap();
                let (from, next) = match r.param("cursor") {
                    None => (0, Some("p1")),
                    Some("p1") => (20, Some("p2")),
                    _ => (40, None),
                };
                let to = (from + 20).min(items.len());
                let mut body = json!({"feed": items[from..to]});
                if let Some(n) = next {
                    body["cursor"] = json!(n);
                }
                Reply::json(&body)
                    .header("ratelimit-remaining", "2994")
                    .header("ratelimit-reset", "3")
            }
            "/xrpc/app.bsky.feed.getPosts" => {
                let uris = r.params("uris");
                assert!(uris.len() <= 25);
                // The newest view of each post (a thread's counts override the feed's).
                let posts: Vec<&Value> = uris
                    .iter()
                    .filter_map(|u| known.iter().rev().find(|v| v["uri"] == *u))
                    .collect();
                Reply::json(&json!({"posts": posts}))
            }
            "/xrpc/app.bsky.feed.getPostThread" => {
                let uri = r.param("uri").unwrap();
                if uri == THREAD_ROOT {
                    Reply::json(&current)
                } else if let Some(v) = known.iter().find(|v| v["uri"] == uri) {
                    Reply::json(&json!({"thread": {
                        "$type": "app.bsky.feed.defs#threadViewPost", "post": v, "replies": []}}))
                } else {
                    Reply::status(
                        400,
                        br#"{"error":"NotFound","message":"Post not found: at://..."}"#.to_vec(),
                    )
                }
            }
            "/xrpc/com.atproto.server.createSession" => {
                let body: Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(body["password"], BSKY_PASSWORD);
                Reply::json(&json!({"accessJwt": "access-1", "refreshJwt": "refresh-1",
                                     "did": "did:plc:me", "handle": "me.bsky.social"}))
            }
            "/xrpc/com.atproto.server.refreshSession" => {
                // An XRPC procedure without input: any body, even `null`, is refused.
                if !r.body.is_empty() {
                    return Reply::status(
                        400,
                        br#"{"error":"InvalidRequest","message":"Unexpected request body"}"#
                            .to_vec(),
                    );
                }
                assert_eq!(r.header("authorization"), Some("Bearer refresh-1"));
                Reply::json(&expiry[1]["response"]["body"])
            }
            "/xrpc/app.bsky.feed.searchPosts" => {
                assert_eq!(
                    r.param("mentions"),
                    Some("did:plc:wpe35pganb6d4pg4ekmfy6u5")
                );
                let auth = r.header("authorization");
                if k.expire.load(Ordering::SeqCst) && auth == Some("Bearer access-1") {
                    expired.store(true, Ordering::SeqCst);
                    let e = &expiry[0]["response"];
                    return Reply::status(400, serde_json::to_vec(&e["body"]).unwrap());
                }
                let token = if expired.load(Ordering::SeqCst) {
                    "Bearer access-2"
                } else {
                    "Bearer access-1"
                };
                assert_eq!(auth, Some(token));
                Reply::json(&search)
            }
            p if p.starts_with("/api/")
                && k.masto_auth.load(Ordering::SeqCst)
                && r.header("authorization") != Some(&*format!("Bearer {MASTO_TOKEN}")) =>
            {
                // Mastodon's answer when an instance requires sign-in for its API.
                Reply::status(
                    401,
                    br#"{"error":"This API requires an authenticated user"}"#.to_vec(),
                )
            }
            "/api/v1/accounts/lookup" => {
                assert_eq!(r.param("acct"), Some("schochastics"));
                Reply::json(&json!({"id": "109302436954721982", "acct": "schochastics"}))
            }
            "/api/v1/accounts/109302436954721982/statuses" => {
                if r.param("max_id").is_some() && k.stall.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_secs(5));
                }
                let all = statuses.as_array().unwrap();
                let newer = |s: &Value, than: &str| {
                    let id = s["id"].as_str().unwrap();
                    (id.len(), id) > (than.len(), than)
                };
                let page: Vec<&Value> = all
                    .iter()
                    .filter(|s| r.param("since_id").is_none_or(|t| newer(s, t)))
                    .filter(|s| {
                        r.param("max_id")
                            .is_none_or(|t| !newer(s, t) && s["id"] != t)
                    })
                    .map(|s| &instance.by_id[s["id"].as_str().unwrap()])
                    .take(7)
                    .collect();
                let mut reply = Reply::json(&json!(page))
                    .header("x-ratelimit-remaining", "290000")
                    .header("x-ratelimit-reset", &masto_reset);
                if page.len() == 7 {
                    let last = page[6]["id"].as_str().unwrap();
                    reply = reply.header("link", &format!(
                        "<http://h/api/v1/accounts/109302436954721982/statuses?limit=40&max_id={last}>; rel=\"next\""));
                }
                reply
            }
            "/api/v1/statuses" => {
                let ids = r.params("id[]");
                let found: Vec<&Value> = ids
                    .iter()
                    .filter(|id| {
                        !(k.status_gone.load(Ordering::SeqCst) && **id == "113386903441645744")
                    })
                    .filter_map(|id| instance.by_id.get(*id))
                    .collect();
                Reply::json(&json!(found))
            }
            p if p.starts_with("/api/v1/statuses/") => {
                let rest = &p["/api/v1/statuses/".len()..];
                let (id, ctx) = match rest.strip_suffix("/context") {
                    Some(id) => (id, true),
                    None => (rest, false),
                };
                let gone = k.status_gone.load(Ordering::SeqCst) && id == "113386903441645744";
                match instance.by_id.get(id) {
                    Some(_) if gone => {
                        Reply::status(404, br#"{"error":"Record not found"}"#.to_vec())
                    }
                    Some(s) if !ctx => Reply::json(s),
                    Some(_) => Reply::json(&instance.context(id)),
                    None => Reply::status(404, br#"{"error":"Record not found"}"#.to_vec()),
                }
            }
            p if p.starts_with("/2/") => {
                assert_eq!(
                    r.header("authorization"),
                    Some(&*format!("Bearer {X_TOKEN}"))
                );
                match p {
                    "/2/users/by/username/Breaking911" => Reply::json(&json!({"data": {
                        "id": "375721095", "username": "Breaking911",
                        "public_metrics": {"followers_count": 1000}}})),
                    "/2/users/by/username/OtherNews" => Reply::json(&json!({"data": {
                        "id": "1000", "username": "OtherNews"}})),
                    "/2/users/by/username/GoneBrand" => Reply::json(&x_suspended),
                    "/2/users/375721095/mentions" | "/2/users/1000/mentions"
                        if r.param("since_id").is_none() =>
                    {
                        let n: usize = r.param("max_results").unwrap().parse().unwrap();
                        let mut page = x_page.clone();
                        page["data"].as_array_mut().unwrap().truncate(n);
                        if k.x_next.load(Ordering::SeqCst) {
                            page["meta"]["next_token"] = json!("next-page");
                        }
                        Reply::json(&page)
                            .header("x-rate-limit-remaining", "449000")
                            .header("x-rate-limit-reset", &x_reset)
                    }
                    "/2/tweets" if r.param("tweet.fields") == Some("id") => Reply::json(&x_lookup),
                    "/2/tweets" => Reply::json(&json!({"data": []})),
                    _ => Reply::json(&json!({"meta": {"result_count": 0}})),
                }
            }
            _ => Reply::status(404, b"{\"error\":\"NotFound\"}".to_vec()),
        }
    })
}

fn site(server: &Server, extra: &str) -> tempfile::TempDir {
    site_with(server, extra, "")
}

/// A site root of the three test brands pointed at `server`; `more` adds brands to the registry.
fn site_with(server: &Server, extra: &str, more: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("data")).unwrap();
    std::fs::write(
        root.path().join("data/brands.toml"),
        r#"
[[brand]]
id = "kenny"
name = "Kenny Co"
category = "tech"
country = "US"
timezone = "America/New_York"
[brand.accounts]
bluesky = ["chriskenny.bsky.social"]

[[brand]]
id = "schoch"
name = "Schoch AG"
category = "tech"
country = "DE"
timezone = "Europe/Berlin"
[brand.accounts]
mastodon = ["schochastics@fosstodon.org"]

[[brand]]
id = "breaking"
name = "Breaking News Inc"
category = "media"
country = "US"
timezone = "America/New_York"
[brand.accounts]
twitter = ["Breaking911"]
"#
        .to_string()
            + more,
    )
    .unwrap();
    let u = &server.url;
    std::fs::write(
        root.path().join("replyrank.toml"),
        format!(
            r#"[ranking]
window_days = 3650
min_complaints = 3

[collect]
contact = "mailto:ops@example.org"
backoff_ms = 10
timeout_ms = 10000

[sources.bluesky]
base_url = "{u}"
auth_url = "{u}"
requests_per_second = 1000
jetstream = false

[sources.mastodon]
base_url = "{u}"
requests_per_second = 1000

[sources.x]
base_url = "{u}"
requests_per_second = 1000
{extra}
"#
        ),
    )
    .unwrap();
    root
}

fn ok(out: &Output) -> String {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "failed:\n{all}");
    all
}

/// Every store line, sorted, per partition file.
fn store_lines(root: &Path) -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    // Collected posts as the networks gave them: the private working store.
    let store = root.join("data/private");
    for source in ["bluesky", "mastodon", "x"] {
        let Ok(dir) = std::fs::read_dir(store.join(source)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = dir.map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files {
            let mut lines: Vec<String> = std::fs::read_to_string(&f)
                .unwrap()
                .lines()
                .map(String::from)
                .collect();
            lines.sort();
            out.push((f.strip_prefix(root).unwrap().to_path_buf(), lines));
        }
    }
    out
}

/// What the recorded mentions page of @Breaking911 leaves in the store: four mentions (a reply
/// to the brand, a quote, a follow-up, a reply to a stranger), the brand's post they answer,
/// the follow-up's parent (the customer's own earlier post) and a stranger's reply to the brand
/// that a retweet carried. Not the two retweets, the stranger's quoted tweet nor the stranger's
/// post a customer answered.
const X_STORED: [&str; 7] = [
    "1380226330034372610",
    "1380228262929035264",
    "1380242345652785166",
    "1380242347905183747",
    "1380242362601967623",
    "1380242413445337098",
    "1380242584816128001",
];

fn x_ids(root: &Path) -> Vec<String> {
    let mut ids: Vec<String> = posts(root, "x")
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn posts(root: &Path, source: &str) -> Vec<Value> {
    store_lines(root)
        .into_iter()
        .filter(|(f, _)| f.starts_with(format!("data/private/{source}")))
        .flat_map(|(_, l)| l)
        .map(|l| serde_json::from_str(&l).unwrap())
        .collect()
}

/// Every file under `root`, as text, for secret scans.
fn all_text(root: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out += &String::from_utf8_lossy(&std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn collect_fills_the_store_and_build_ranks_with_coverage_labels() {
    let server = api(Arc::default());
    let root = site(&server, "");
    let log = ok(&collect(
        root.path(),
        &[("REPLYRANK_X_BEARER_TOKEN", X_TOKEN)],
        &["--since", "2016-01-01"],
    ));
    assert!(
        log.contains("bluesky: no REPLYRANK_BLUESKY_HANDLE"),
        "{log}"
    );
    assert_index_current(root.path());

    // Bluesky: 43 of the brand's own posts (reposts and the pin skipped), the parents and
    // roots of its replies, and the recorded thread.
    let bsky = posts(root.path(), "bluesky");
    let own: Vec<&Value> = bsky.iter().filter(|p| p["brand"] == "kenny").collect();
    assert_eq!(own.len(), 43);
    assert!(own.iter().all(|p| p["author"] == "chriskenny.bsky.social"));
    let reply = bsky
        .iter()
        .find(|p| {
            p["id"] == "at://did:plc:wpe35pganb6d4pg4ekmfy6u5/app.bsky.feed.post/3lof7sovfok2h"
        })
        .unwrap();
    assert_eq!(
        reply["reply_to"],
        "at://did:plc:z4cp3uwgxiioi7uaxn2boq47/app.bsky.feed.post/3lobj4swhjo2x"
    );
    assert_eq!(reply["created_at"], "2025-05-05T01:30:18Z");
    // Customers are stored by DID, which survives a change of handle.
    assert!(bsky.iter().any(|p| p["id"]
        == "at://did:plc:z4cp3uwgxiioi7uaxn2boq47/app.bsky.feed.post/3lobj4swhjo2x"
        && p["author"] == "did:plc:z4cp3uwgxiioi7uaxn2boq47"));
    // Pagination: three pages of the author feed.
    let paths = server.paths();
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.ends_with("getAuthorFeed"))
            .count(),
        3
    );

    // Mastodon: 20 statuses over three Link-paginated pages, and the thread under one of them.
    let masto = posts(root.path(), "mastodon");
    assert_eq!(masto.iter().filter(|p| p["brand"] == "schoch").count(), 20);
    assert!(
        masto
            .iter()
            .all(|p| p["id"].as_str().unwrap().starts_with("fosstodon.org:"))
    );
    let under: Vec<&Value> = masto
        .iter()
        .filter(|p| p["reply_to"] == "fosstodon.org:113386903441645744")
        .collect();
    assert!(under.len() >= 3, "{}", under.len());
    assert!(
        under
            .iter()
            .all(|p| p["author"].as_str().unwrap().contains('@'))
    );
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.ends_with("/statuses") && p.contains("accounts"))
            .count(),
        3
    );

    // X: the mentions that are not retweets, and of what X included only the brand thread.
    assert_eq!(x_ids(root.path()), X_STORED);

    // Score: every brand has complaints, and each source carries its coverage.
    let out = Command::new(common::bin())
        .arg("--root")
        .arg(root.path())
        .arg("score")
        .output()
        .unwrap();
    ok(&out);
    let lb = common::leaderboard(root.path());
    for id in ["kenny", "schoch", "breaking"] {
        let b = lb["brands"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id)
            .unwrap();
        assert!(b["complaints"].as_u64().unwrap() >= 3, "{id}: {b}");
        assert_eq!(b["eligible"], true, "{id}: {b}");
    }
    let coverage = |name: &str| {
        lb["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["coverage"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        coverage("bluesky").starts_with("Thread-scoped"),
        "{}",
        coverage("bluesky")
    );
    assert!(coverage("mastodon").starts_with("Thread-scoped"));
    assert!(coverage("x").contains("X API"));

    // Build: the collected brands are ranked on the site, each with its source's caveat.
    let content = root.path().join("content");
    std::fs::create_dir_all(&content).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/content/methodology.md"),
        content.join("methodology.md"),
    )
    .unwrap();
    ok(&Command::new(common::bin())
        .arg("--root")
        .arg(root.path())
        .arg("build")
        .output()
        .unwrap());
    let page = |p: &str| std::fs::read_to_string(root.path().join("public").join(p)).unwrap();
    let board = page("index.html");
    for id in ["kenny", "schoch", "breaking"] {
        assert!(
            board.contains(&format!("brand/{id}/index.html")),
            "{id} on the leaderboard"
        );
    }
    assert!(page("brand/kenny/index.html").contains("Thread-scoped: replies under the brand"));
    assert!(page("brand/breaking/index.html").contains("through the X API"));
    assert!(page("fr/brand/schoch/index.html").contains("Limitée aux fils"));
    ok(&Command::new(common::bin())
        .arg("--root")
        .arg(root.path())
        .arg("check")
        .output()
        .unwrap());

    // The token went to X in a header, and nowhere else.
    assert!(!log.contains(X_TOKEN));
    assert!(!all_text(root.path()).contains(X_TOKEN));
    let ua = server.requests.lock().unwrap()[0]
        .header("user-agent")
        .unwrap()
        .to_string();
    assert!(
        ua.starts_with("replyrank/") && ua.ends_with("(+mailto:ops@example.org)"),
        "{ua}"
    );

    // A second run with nothing new: about one request per account, nothing added.
    let before = store_lines(root.path());
    let n = server.count.load(Ordering::SeqCst);
    let log = ok(&collect(
        root.path(),
        &[("REPLYRANK_X_BEARER_TOKEN", X_TOKEN)],
        &[],
    ));
    assert!(log.contains("collected 0 new posts"), "{log}");
    // The one change: the run looked up the window's stored X posts, and the server says one
    // is deleted: it is forgotten.
    assert!(
        log.contains("forgot 1 post(s) the networks say are deleted"),
        "{log}"
    );
    let gone = "\"id\":\"1380226330034372610\"";
    let before: Vec<(PathBuf, Vec<String>)> = before
        .into_iter()
        .map(|(f, lines)| (f, lines.into_iter().filter(|l| !l.contains(gone)).collect()))
        .filter(|(_, lines): &(PathBuf, Vec<String>)| !lines.is_empty())
        .collect();
    assert_eq!(store_lines(root.path()), before);
    let again: Vec<String> = server.paths()[n..].to_vec();
    // bluesky: feed page 1 and open-thread counts (getPosts); mastodon: since_id page and
    // open-thread counts; x: mentions and tweets since the cursor.
    assert!(again.len() <= 8, "{again:?}");
    // The forgotten post's partition was rewritten: collect brought the index up to date.
    assert_index_current(root.path());
}

/// The store's index covers everything stored: `score` reads it back and parses nothing.
fn assert_index_current(root: &Path) {
    let out = common::rr(root, &["score", "--verbose"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("from its index, 0.0 MB of JSON Lines parsed)"),
        "{stderr}"
    );
}

#[test]
fn secrets_stay_out_of_logs_store_and_site_and_login_enables_search() {
    let server = api(Arc::default());
    let root = site(&server, "");
    let envs = [
        ("REPLYRANK_X_BEARER_TOKEN", X_TOKEN),
        ("REPLYRANK_BLUESKY_HANDLE", "me.bsky.social"),
        ("REPLYRANK_BLUESKY_APP_PASSWORD", BSKY_PASSWORD),
    ];
    let log = ok(&collect(root.path(), &envs, &["--since", "2016-01-01"]));
    let paths = server.paths();
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.ends_with("createSession"))
            .count(),
        1
    );
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("searchPosts")).count(),
        1
    );
    let out = Command::new(common::bin())
        .arg("--root")
        .arg(root.path())
        .arg("score")
        .output()
        .unwrap();
    let score_log = ok(&out);
    let lb = std::fs::read_to_string(root.path().join("public/data/leaderboard.json")).unwrap();
    assert!(
        lb.contains("Bluesky search"),
        "coverage should say search was used"
    );
    for secret in [X_TOKEN, BSKY_PASSWORD, "access-1", "refresh-1"] {
        assert!(
            !log.contains(secret) && !score_log.contains(secret),
            "{secret} in a log"
        );
        assert!(
            !all_text(root.path()).contains(secret),
            "{secret} written under the root"
        );
    }
}

#[test]
fn missing_secrets_skip_x_with_one_line() {
    let server = api(Arc::default());
    let root = site(&server, "");
    let log = ok(&collect(root.path(), &[], &["--source", "x"]));
    assert_eq!(
        log.lines().filter(|l| l.starts_with("x: skipped")).count(),
        1,
        "{log}"
    );
    assert!(log.contains("REPLYRANK_X_BEARER_TOKEN"));
    assert_eq!(server.count.load(Ordering::SeqCst), 0);
}

#[test]
fn x_stops_cleanly_at_its_post_budget() {
    let server = api(Arc::default());
    let root = site(&server, "max_posts_per_run = 30");
    let log = ok(&collect(
        root.path(),
        &[("REPLYRANK_X_BEARER_TOKEN", X_TOKEN)],
        &["--source", "x", "--since", "2016-01-01"],
    ));
    assert!(log.contains("max_posts_per_run"), "{log}");
    let mentions: Vec<Request> = server
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path.ends_with("/mentions"))
        .cloned()
        .collect();
    assert_eq!(mentions.len(), 1);
    // 30 less the user look-up (a user read costs two post reads).
    assert_eq!(mentions[0].param("max_results"), Some("28"));
    assert!(
        server.paths().iter().all(|p| !p.ends_with("/tweets")),
        "stopped before the tweets"
    );
}

#[test]
fn a_run_killed_midway_resumes_to_the_same_store() {
    // Uninterrupted.
    let server = api(Arc::default());
    let whole = site(&server, "");
    ok(&collect(whole.path(), &[], &["--since", "2016-01-01"]));

    // Killed while the second page of Mastodon statuses stalls (Bluesky may be done or not).
    let knobs = Arc::new(Knobs::default());
    knobs.stall.store(true, Ordering::SeqCst);
    let server = api(knobs.clone());
    let cut = site(&server, "");
    let mut child = Command::new(common::bin())
        .arg("--root")
        .arg(cut.path())
        .args(["collect", "--since", "2016-01-01"])
        .env_remove("REPLYRANK_X_BEARER_TOKEN")
        .env("REPLYRANK_PSEUDONYM_KEY", common::TEST_KEY)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !server
        .requests
        .lock()
        .unwrap()
        .iter()
        .any(|r| r.param("max_id").is_some())
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never reached page 2"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = store_lines(cut.path());
    assert!(
        !partial.is_empty(),
        "the first page was stored before the kill"
    );
    let cursors = std::fs::read_to_string(cut.path().join("data/private/cursors.json")).unwrap();
    assert!(
        cursors.contains("\"walk\""),
        "the cut walk is recorded: {cursors}"
    );

    knobs.stall.store(false, Ordering::SeqCst);
    ok(&collect(cut.path(), &[], &["--since", "2016-01-01"]));
    assert_eq!(store_lines(cut.path()), store_lines(whole.path()));
}

/// The traces of every customer post the collection stored raw (in the private store): texts,
/// post ids, record keys, authors (handles, DIDs) and the non-brand accounts they mention.
fn customer_traces(root: &Path) -> Vec<String> {
    let brands = [
        "chriskenny.bsky.social",
        "schochastics@fosstodon.org",
        "Breaking911",
    ];
    let mut out = Vec::new();
    for source in ["bluesky", "mastodon", "x"] {
        for p in posts(root, source) {
            if p["brand"].is_string() || brands.contains(&p["author"].as_str().unwrap_or("")) {
                continue;
            }
            let id = p["id"].as_str().unwrap();
            out.push(id.to_string());
            if let Some((_, tail)) = id.rsplit_once([':', '/']) {
                out.push(tail.to_string());
            }
            if let Some(did) = id.strip_prefix("at://").and_then(|u| u.split('/').next()) {
                out.push(did.to_string());
            }
            out.push(p["author"].as_str().unwrap().to_string());
            for m in p["mentions"].as_array().into_iter().flatten() {
                let m = m.as_str().unwrap();
                if !brands.contains(&m) && m != "Breaking911" {
                    out.push(m.to_string());
                }
            }
            if let Some(t) = p["text"].as_str().filter(|t| t.chars().count() >= 20) {
                out.push(t.to_string());
            }
        }
    }
    out.retain(|t| t.len() >= 6);
    out.sort();
    out.dedup();
    out
}

/// Whether `needle` occurs in `hay` as a whole word (not inside a longer id or handle).
fn occurs_whole(hay: &str, needle: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let hay_l = hay.to_lowercase();
    let needle_l = needle.to_lowercase();
    hay_l.match_indices(&needle_l).any(|(i, m)| {
        !word(hay_l[..i].chars().next_back()) && !word(hay_l[i + m.len()..].chars().next())
    })
}

#[test]
fn collected_data_publishes_no_customer_and_scores_as_the_raw_posts() {
    let server = api(Arc::default());
    let root = site(&server, "");
    ok(&collect(
        root.path(),
        &[("REPLYRANK_X_BEARER_TOKEN", X_TOKEN)],
        &["--since", "2016-01-01"],
    ));
    let rr = |root: &Path, args: &[&str]| ok(&common::rr(root, args));
    common::copy_dir(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/content")),
        &root.path().join("content"),
    );
    rr(root.path(), &["build"]);
    let traces = customer_traces(root.path());
    assert!(traces.len() > 100, "{} traces", traces.len());

    // Everything a commit or a deploy would contain.
    let mut published = String::new();
    for dir in ["data/store", "data/state", "public"] {
        published.push_str(&all_text(&root.path().join(dir)));
    }
    let leaks: Vec<&String> = traces
        .iter()
        .filter(|t| occurs_whole(&published, t))
        .collect();
    if !leaks.is_empty() {
        let keep = std::env::temp_dir().join("replyrank-leak");
        let _ = std::fs::remove_dir_all(&keep);
        common::copy_dir(root.path(), &keep);
    }
    assert!(
        leaks.is_empty(),
        "{} traces published: {leaks:?}",
        leaks.len()
    );
    // The brand's own posts keep their network ids in clear.
    assert!(published.contains("at://did:plc:wpe35pganb6d4pg4ekmfy6u5/app.bsky.feed.post/"));
    let audit = rr(root.path(), &["audit"]);
    assert!(audit.contains("none found"), "{audit}");

    // The same figures as scoring the raw posts themselves.
    let raw = tempfile::tempdir().unwrap();
    common::copy_dir(
        &root.path().join("data/private"),
        &raw.path().join("data/store"),
    );
    std::fs::write(raw.path().join("data/store/FORMAT"), "replyrank.store/2\n").unwrap();
    std::fs::remove_file(raw.path().join("data/store/cursors.json")).unwrap();
    std::fs::copy(
        root.path().join("data/brands.toml"),
        raw.path().join("data/brands.toml"),
    )
    .unwrap();
    std::fs::copy(
        root.path().join("replyrank.toml"),
        raw.path().join("replyrank.toml"),
    )
    .unwrap();
    let figures = |root: &Path| -> Value {
        rr(root, &["score"]);
        let lb = common::leaderboard(root);
        let mut brands = lb["brands"].clone();
        // The published store keeps follower counts bucketed (1, 2, 5, 10…): the top tenth's
        // threshold is the bucket's floor there, the exact count in the raw posts.
        for b in brands.as_array_mut().unwrap() {
            if let Some(i) = b["influence"].as_object_mut() {
                i.remove("threshold");
            }
        }
        brands
    };
    let from_published = figures(root.path());
    assert_eq!(from_published, figures(raw.path()));
    assert!(
        from_published
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["complaints"].as_u64().unwrap() >= 3)
    );

    // An audit that finds a customer's text in what is about to be published fails closed.
    let text = traces.iter().find(|t| t.contains(' ')).unwrap();
    std::fs::write(
        root.path().join("public/leak.html"),
        format!("<p>{text}</p>"),
    )
    .unwrap();
    let out = common::rr(root.path(), &["audit"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("public/leak.html:1: a customer post's text")
            && !said.contains(text.as_str()),
        "{said}"
    );
}

#[test]
fn collect_without_the_pseudonym_key_writes_nothing_and_says_why() {
    let server = api(Arc::default());
    let root = site(&server, "");
    let out = Command::new(common::bin())
        .arg("--root")
        .arg(root.path())
        .args(["collect", "--since", "2016-01-01"])
        .env_remove("REPLYRANK_PSEUDONYM_KEY")
        .env("REPLYRANK_X_BEARER_TOKEN", X_TOKEN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("collect cannot start") && err.contains("REPLYRANK_PSEUDONYM_KEY"),
        "{err}"
    );
    assert!(
        server.requests.lock().unwrap().is_empty(),
        "no network call"
    );
    assert!(store_lines(root.path()).is_empty());
}

#[test]
fn a_forgotten_post_is_not_collected_again() {
    let server = api(Arc::default());
    let root = site(&server, "");
    let token = [("REPLYRANK_X_BEARER_TOKEN", X_TOKEN)];
    ok(&collect(root.path(), &token, &["--since", "2016-01-01"]));
    let customer = |root: &Path| -> Vec<String> {
        posts(root, "bluesky")
            .iter()
            .filter(|p| !p["brand"].is_string())
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    let before = customer(root.path());
    let gone = before[0].clone();
    let author = posts(root.path(), "mastodon")
        .iter()
        .find(|p| !p["brand"].is_string())
        .map(|p| p["author"].as_str().unwrap().to_string())
        .unwrap();
    let published_before = store_lines_of(&root.path().join("data/store"));
    ok(&common::rr(root.path(), &["forget", &gone, &author]));
    // Collected again from the start: neither comes back, in either store.
    ok(&collect(root.path(), &token, &["--since", "2016-01-01"]));
    let after = customer(root.path());
    assert!(!after.contains(&gone));
    assert_eq!(after.len(), before.len() - 1);
    assert!(
        posts(root.path(), "mastodon")
            .iter()
            .all(|p| p["author"] != author.as_str())
    );
    let published_after = store_lines_of(&root.path().join("data/store"));
    assert!(published_after.len() < published_before.len());
}

/// The lines of every partition under a store folder.
fn store_lines_of(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for source in ["bluesky", "mastodon", "x"] {
        let Ok(files) = std::fs::read_dir(dir.join(source)) else {
            continue;
        };
        for f in files {
            out.extend(
                std::fs::read_to_string(f.unwrap().path())
                    .unwrap()
                    .lines()
                    .map(String::from),
            );
        }
    }
    out
}

/// The requests the server saw whose path ends with `end`.
fn requests(server: &Server, end: &str) -> Vec<Request> {
    server
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path.ends_with(end))
        .cloned()
        .collect()
}

/// Runs `collect` in-process (the test fills the store's window of stored posts, which a run
/// otherwise reads from the store) and returns its report.
fn collect_with_stored(
    root: &Path,
    sources: &[&str],
    stored: &[(&'static str, &str)],
) -> replyrank::collect::Report {
    let mut window: std::collections::BTreeMap<&'static str, Vec<(String, i64)>> =
        Default::default();
    for (source, id) in stored {
        window
            .entry(source)
            .or_default()
            .push((id.to_string(), 1_620_000_000));
    }
    replyrank::collect::run(
        &replyrank::root::SiteRoot::at(root),
        replyrank::collect::Options {
            sources: sources.iter().map(|s| s.to_string()).collect(),
            since: Some(1_451_606_400), // 2016-01-01
            secrets: replyrank::collect::Secrets::default()
                .with(replyrank::source::X_BEARER_TOKEN, X_TOKEN),
            stored: window,
            key: Some(replyrank::publish::Pseudonymiser::new(common::TEST_KEY.as_bytes()).unwrap()),
            ..Default::default()
        },
    )
    .unwrap()
}

/// The server and a site root after one run of `collect --source SOURCE --since 2016-01-01`.
fn collected(source: &str) -> (Server, tempfile::TempDir) {
    let server = api(Arc::default());
    let root = site(&server, "");
    ok(&collect(
        root.path(),
        &[],
        &["--source", source, "--since", "2016-01-01"],
    ));
    (server, root)
}

fn collect_x(root: &Path) -> String {
    ok(&collect(
        root,
        &[("REPLYRANK_X_BEARER_TOKEN", X_TOKEN)],
        &["--source", "x", "--since", "2016-01-01"],
    ))
}

#[test]
fn x_retweets_are_not_stored_as_complaints() {
    let server = api(Arc::default());
    let root = site(&server, "");
    collect_x(root.path());
    let ids = x_ids(root.path());
    // "RT @Breaking911: …" and "RT @EvanPrinciple: … @Breaking911" were in the mentions page.
    for rt in ["1380242566176727042", "1380242437952708609"] {
        assert!(!ids.contains(&rt.to_string()), "retweet {rt} stored");
    }
    // The brand's own timeline is asked without its retweets.
    let tweets = requests(&server, "/375721095/tweets");
    assert!(!tweets.is_empty());
    assert!(
        tweets
            .iter()
            .all(|r| r.param("exclude") == Some("retweets"))
    );
    // The brand's post that was retweeted is its own: stored, as the brand's.
    let brand_post = posts(root.path(), "x")
        .into_iter()
        .find(|p| p["id"] == "1380226330034372610")
        .unwrap();
    assert_eq!(brand_post["brand"], "breaking");
}

#[test]
fn x_included_tweets_are_stored_only_when_they_belong_to_a_brand_thread() {
    let server = api(Arc::default());
    let root = site(&server, "");
    collect_x(root.path());
    let ids = x_ids(root.path());
    // A stranger's tweet a customer quoted, and a stranger's tweet a customer answered.
    assert!(!ids.contains(&"1380236027420274688".to_string()));
    assert!(!ids.contains(&"1380240824470999045".to_string()));
    // The customer's own earlier post that their mention follows up.
    assert!(ids.contains(&"1380242345652785166".to_string()));
    assert_eq!(ids, X_STORED);
    // A parent up a customer's own chain that X did not include is read; a stranger's is not.
    let lookups = requests(&server, "/2/tweets");
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].param("ids"), Some("1380242340925874179"));
}

#[test]
fn x_posts_keep_their_language_and_their_authors_follower_counts() {
    let server = api(Arc::default());
    let root = site(&server, "");
    collect_x(root.path());
    let x = posts(root.path(), "x");
    assert!(x.iter().all(|p| p["lang"] == "en"), "{x:?}");
    let reply = x.iter().find(|p| p["id"] == "1380242413445337098").unwrap();
    // GForrester406's public_metrics.followers_count in the recorded page.
    let page = fixture("x/mentions.rewired.json");
    let user = page["includes"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "815773577014349824")
        .unwrap();
    assert_eq!(
        reply["followers"],
        user["public_metrics"]["followers_count"]
    );
    assert!(reply["followers"].as_u64().is_some());
}

#[test]
fn x_errors_only_answer_for_an_unknown_account_is_one_clear_line_without_retries() {
    let server = api(Arc::default());
    let root = site_with(
        &server,
        "",
        "\n[[brand]]\nid = \"gone\"\nname = \"Gone Co\"\ncategory = \"media\"\ncountry = \"US\"\n\
         timezone = \"UTC\"\n[brand.accounts]\ntwitter = [\"GoneBrand\"]\n",
    );
    let out = collect(
        root.path(),
        &[("REPLYRANK_X_BEARER_TOKEN", X_TOKEN)],
        &["--source", "x", "--since", "2016-01-01"],
    );
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Asked once, no retries, and said once, clearly.
    assert_eq!(requests(&server, "/GoneBrand").len(), 1);
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("GoneBrand")).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains("X has no account @GoneBrand") && lines[0].contains("suspended"),
        "{log}"
    );
    assert!(lines[0].contains("data/brands.toml"), "{log}");
    assert!(!log.contains("API changed"), "{log}");
    // The run goes on: the other account is collected.
    assert_eq!(x_ids(root.path()), X_STORED);
    assert!(
        !out.status.success(),
        "a failed account fails the run: {log}"
    );
}

#[test]
fn x_budget_is_shared_fairly_between_accounts_and_user_reads_count() {
    let server = api(Arc::default());
    let root = site_with(
        &server,
        "max_posts_per_run = 60",
        "\n[[brand]]\nid = \"other\"\nname = \"Other News\"\ncategory = \"media\"\n\
         country = \"US\"\ntimezone = \"UTC\"\n[brand.accounts]\ntwitter = [\"OtherNews\"]\n",
    );
    collect_x(root.path());
    // 60 reads for two accounts: 30 each, less the look-up of the account (a user read, 2).
    for id in ["375721095", "1000"] {
        let m = requests(&server, &format!("/{id}/mentions"));
        assert_eq!(m.len(), 1, "{id}");
        assert_eq!(m[0].param("max_results"), Some("28"), "{id}");
    }
}

#[test]
fn x_mentions_past_the_timelines_reach_are_said_in_the_summary_and_the_coverage() {
    let knobs = Arc::new(Knobs::default());
    knobs.x_next.store(true, Ordering::SeqCst);
    let server = api(knobs);
    let root = site(&server, "max_posts_per_run = 40");
    let log = collect_x(root.path());
    // Six mentions in four seconds, read down to 2016: far more than the timeline's 800.
    let line = log
        .lines()
        .find(|l| l.contains("x Breaking911: about"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("mentions since 2016-01-01"), "{line}");
    assert!(line.contains("800"), "{line}");
    let coverage = std::fs::read_to_string(root.path().join("data/state/coverage.json")).unwrap();
    assert!(
        coverage.contains("Incomplete for @Breaking911"),
        "{coverage}"
    );
    // Scoring shows it with the source's statement.
    ok(&Command::new(common::bin())
        .arg("--root")
        .arg(root.path())
        .arg("score")
        .output()
        .unwrap());
    let lb = std::fs::read_to_string(root.path().join("public/data/leaderboard.json")).unwrap();
    assert!(lb.contains("Incomplete for @Breaking911"));
}

#[test]
fn x_posts_deleted_on_x_are_found_by_a_lookup_of_the_stored_ids() {
    let server = api(Arc::default());
    let root = site(&server, "");
    let report = collect_with_stored(
        root.path(),
        &["x"],
        &[("x", "1380226330034372610"), ("x", "1380242413445337098")],
    );
    assert_eq!(report.failed(), 0, "{:?}", report.accounts);
    let lookup: Vec<Request> = requests(&server, "/2/tweets")
        .into_iter()
        .filter(|r| r.param("tweet.fields") == Some("id"))
        .collect();
    assert_eq!(lookup.len(), 1);
    assert_eq!(
        lookup[0].param("ids"),
        Some("1380226330034372610,1380242413445337098")
    );
    assert_eq!(report.deleted, [("x", "1380226330034372610".to_string())]);
}

#[test]
fn bluesky_refresh_session_sends_no_body_and_does_not_log_in_again() {
    let knobs = Arc::new(Knobs::default());
    knobs.expire.store(true, Ordering::SeqCst);
    let server = api(knobs);
    let root = site(&server, "");
    let log = ok(&collect(
        root.path(),
        &[
            ("REPLYRANK_BLUESKY_HANDLE", "me.bsky.social"),
            ("REPLYRANK_BLUESKY_APP_PASSWORD", BSKY_PASSWORD),
        ],
        &["--source", "bluesky", "--since", "2016-01-01"],
    ));
    assert_eq!(requests(&server, "createSession").len(), 1, "{log}");
    let refresh = requests(&server, "refreshSession");
    assert_eq!(refresh.len(), 1);
    assert!(refresh[0].body.is_empty());
    assert_eq!(refresh[0].method, "POST");
    // The search was asked again with the new token, and its page of mentions is stored.
    let searches = requests(&server, "searchPosts");
    assert_eq!(searches.len(), 2);
    assert_eq!(searches[1].header("authorization"), Some("Bearer access-2"));
    let bsky = posts(root.path(), "bluesky");
    let page = fixture("bluesky/searchPosts.mentions.json");
    for p in page["posts"].as_array().unwrap() {
        let stored = bsky.iter().find(|s| s["id"] == p["uri"]).unwrap();
        assert_eq!(stored["mentions"], json!(["chriskenny.bsky.social"]));
    }
    for secret in ["access-2", "refresh-2"] {
        assert!(!log.contains(secret) && !all_text(root.path()).contains(secret));
    }
}

#[test]
fn bluesky_reply_times_are_the_appviews_receipt_not_the_client_declared_time() {
    let (_server, root) = collected("bluesky");
    let bsky = posts(root.path(), "bluesky");
    let feed = fixture("bluesky/getAuthorFeed.2025.json");
    let mut differ = 0;
    for v in bsky_views(&feed) {
        let Some(p) = bsky.iter().find(|p| p["id"] == v["uri"]) else {
            continue;
        };
        let t = |s: &Value| {
            jiff::Timestamp::from_str(s.as_str().unwrap())
                .unwrap()
                .as_second()
        };
        assert_eq!(t(&p["created_at"]), t(&v["indexedAt"]), "{p}");
        if t(&v["record"]["createdAt"]) != t(&v["indexedAt"]) {
            assert_eq!(t(&p["declared_at"]), t(&v["record"]["createdAt"]), "{p}");
            differ += 1;
        }
    }
    assert!(differ > 0);
}

#[test]
fn bluesky_customers_are_stored_by_did_so_a_new_handle_is_the_same_person() {
    let (_server, root) = collected("bluesky");
    let bsky = posts(root.path(), "bluesky");
    for p in &bsky {
        if p["brand"] == "kenny" {
            assert_eq!(p["author"], "chriskenny.bsky.social");
        } else {
            let author = p["author"].as_str().unwrap();
            assert!(author.starts_with("did:plc:"), "{p}");
            assert!(p["id"].as_str().unwrap().contains(author), "{p}");
        }
    }
}

#[test]
fn bluesky_replies_deeper_in_a_thread_are_collected_though_the_brand_posts_count_did_not_grow() {
    let knobs = Arc::new(Knobs::default());
    let server = api(knobs.clone());
    let root = site(&server, "");
    let run = || {
        ok(&collect(
            root.path(),
            &[],
            &["--source", "bluesky", "--since", "2016-01-01"],
        ))
    };
    run();
    let has = |uri: &str| posts(root.path(), "bluesky").iter().any(|p| p["id"] == uri);
    assert!(!has(DEEPEST));
    // A customer answers the second level; the brand post still has its two direct replies.
    knobs.deeper.store(true, Ordering::SeqCst);
    run();
    assert!(has(DEEPEST), "the deeper reply was missed");
    let stored = posts(root.path(), "bluesky");
    let deepest = stored.iter().find(|p| p["id"] == DEEPEST).unwrap();
    assert_eq!(
        deepest["reply_to"],
        "at://did:plc:ooimp4mgjxbday5u4j2rh57m/app.bsky.feed.post/3lpjqeajpjc27"
    );
}

#[test]
fn bluesky_not_found_post_of_a_stored_post_is_reported_deleted() {
    let knobs = Arc::new(Knobs::default());
    knobs.reply_gone.store(true, Ordering::SeqCst);
    let server = api(knobs);
    let root = site(&server, "");
    let report = collect_with_stored(
        root.path(),
        &["bluesky"],
        &[
            ("bluesky", LABELLED),
            // Stored, and still in the thread: not deleted.
            (
                "bluesky",
                "at://did:plc:ooimp4mgjxbday5u4j2rh57m/app.bsky.feed.post/3lpjqeajmlk27",
            ),
        ],
    );
    assert_eq!(report.failed(), 0, "{:?}", report.accounts);
    assert_eq!(report.deleted, [("bluesky", LABELLED.to_string())]);
}

#[test]
fn bluesky_authors_labelled_no_unauthenticated_are_opted_out_and_posts_keep_their_language() {
    let (_server, root) = collected("bluesky");
    let bsky = posts(root.path(), "bluesky");
    let labelled = bsky.iter().find(|p| p["id"] == LABELLED).unwrap();
    assert_eq!(labelled["opted_out"], true);
    assert_eq!(labelled["lang"], "en");
    assert!(
        bsky.iter()
            .filter(|p| p["id"] != LABELLED)
            .all(|p| p.get("opted_out").is_none())
    );
    // Every stored post whose record states its languages keeps the first.
    assert!(bsky.iter().filter(|p| p["lang"] == "en").count() >= 40);
}

#[test]
fn mastodon_thread_past_60_descendants_is_walked_and_one_still_cut_is_recorded_as_cut() {
    let (server, root) = collected("mastodon");
    let masto = posts(root.path(), "mastodon");
    let stored: std::collections::HashSet<&str> =
        masto.iter().map(|p| p["id"].as_str().unwrap()).collect();
    let recorded = fixture("mastodon/status_context.json");
    let replies = recorded["descendants"].as_array().unwrap();
    // Thread 113386903441645744: the recorded 59 replies and their copy past the cap, all seen.
    for s in replies {
        let id: u64 = s["id"].as_str().unwrap().parse().unwrap();
        for shift in [0, 1_000_000_000] {
            let want = format!("fosstodon.org:{}", id + shift);
            assert!(stored.contains(want.as_str()), "{want} missed");
        }
    }
    let unseen: Vec<&Value> = masto
        .iter()
        .filter(|p| {
            p["replies"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x.as_str().unwrap().ends_with(":unseen")))
        })
        .collect();
    let thread_b = thread_b();
    // Thread 113754787137256433 (708 replies) is still cut after 1 + 10 contexts: its statuses
    // with replies not seen say so, and none of the whole thread above does.
    assert!(!unseen.is_empty());
    for p in &unseen {
        let id: u64 = p["id"].as_str().unwrap()["fosstodon.org:".len()..]
            .parse()
            .unwrap();
        assert!(thread_b.contains(&id), "{p}");
    }
    let contexts: Vec<Request> = requests(&server, "/context")
        .into_iter()
        .filter(|r| {
            let id: u64 = r.path["/api/v1/statuses/".len()..r.path.len() - "/context".len()]
                .parse()
                .unwrap();
            id == 113_754_787_137_256_433 || thread_b.contains(&id)
        })
        .collect();
    assert_eq!(
        contexts.len(),
        11,
        "{:?}",
        contexts.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[test]
fn mastodon_401_names_the_instance_and_its_token_variable_and_the_token_is_used() {
    let knobs = Arc::new(Knobs::default());
    knobs.masto_auth.store(true, Ordering::SeqCst);
    let server = api(knobs);
    let root = site(&server, "");
    let out = collect(root.path(), &[], &["--source", "mastodon"]);
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success());
    let line = log
        .lines()
        .find(|l| l.contains("HTTP 401"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("fosstodon.org requires a token"), "{line}");
    assert!(
        line.contains("REPLYRANK_MASTODON_TOKEN_FOSSTODON_ORG"),
        "{line}"
    );
    let log = ok(&collect(
        root.path(),
        &[("REPLYRANK_MASTODON_TOKEN_FOSSTODON_ORG", MASTO_TOKEN)],
        &["--source", "mastodon", "--since", "2016-01-01"],
    ));
    assert!(posts(root.path(), "mastodon").len() > 100);
    assert!(!log.contains(MASTO_TOKEN) && !all_text(root.path()).contains(MASTO_TOKEN));
}

#[test]
fn mastodon_404_on_a_stored_status_is_reported_deleted() {
    let knobs = Arc::new(Knobs::default());
    knobs.status_gone.store(true, Ordering::SeqCst);
    let server = api(knobs);
    let root = site(&server, "");
    let report = collect_with_stored(
        root.path(),
        &["mastodon"],
        &[("mastodon", "fosstodon.org:113386903441645744")],
    );
    assert_eq!(report.failed(), 0, "{:?}", report.accounts);
    assert_eq!(
        report.deleted,
        [("mastodon", "fosstodon.org:113386903441645744".to_string())]
    );
}

#[test]
fn mastodon_posts_keep_language_followers_and_their_authors_opt_out() {
    let (_server, root) = collected("mastodon");
    let masto = posts(root.path(), "mastodon");
    let recorded = fixture("mastodon/status_context.json");
    for s in recorded["descendants"].as_array().unwrap() {
        let p = masto
            .iter()
            .find(|p| p["id"] == format!("fosstodon.org:{}", s["id"].as_str().unwrap()))
            .unwrap();
        assert_eq!(p["lang"], s["language"]);
        assert_eq!(p["followers"], s["account"]["followers_count"]);
        let out = s["account"]["indexable"] == false || s["account"]["noindex"] == true;
        assert_eq!(p.get("opted_out").is_some_and(|o| o == true), out, "{p}");
    }
}

#[test]
fn collect_without_a_contact_is_an_error_naming_the_key_and_the_file_before_any_request() {
    let server = api(Arc::default());
    let root = site(&server, "");
    let config = root.path().join("replyrank.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("contact = \"mailto:ops@example.org\"\n", ""),
    )
    .unwrap();
    let out = collect(root.path(), &[], &["--source", "mastodon"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("[collect] contact is not set in"), "{err}");
    assert!(err.contains("replyrank.toml"), "{err}");
    assert_eq!(server.count.load(Ordering::SeqCst), 0);
}
