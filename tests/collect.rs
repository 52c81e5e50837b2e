//! `replyrank collect` end to end: the real binary against a local server replaying recorded
//! Bluesky, Mastodon and X responses (tests/fixtures/api), then `replyrank score`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::collect;
use common::server::{Reply, Request, Server};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_replyrank");
const X_TOKEN: &str = "SECRET-x-bearer-7f3a";
const BSKY_PASSWORD: &str = "SECRET-app-password-91c2";

fn fixture(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/api")
        .join(name);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    // Recorded exchanges: the first response's body.
    match v {
        Value::Array(ex) => ex[0]["response"]["body"].clone(),
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

/// The fake APIs. `stall` makes the second page of Mastodon statuses hang for 5 s.
fn api(stall: Arc<AtomicBool>) -> Server {
    let feed = fixture("bluesky/getAuthorFeed.2025.json");
    let thread = fixture("bluesky/getPostThread.2025.json");
    let statuses = fixture("mastodon/account_statuses.json");
    let mut context = fixture("mastodon/status_context.json");
    // The recorded thread hangs under another status; hang it under one of the brand's
    // (113386903441645744) so its replies are replies under a brand post.
    for d in context["descendants"].as_array_mut().unwrap() {
        if d["in_reply_to_id"] == "109294719267373593" {
            d["in_reply_to_id"] = json!("113386903441645744");
        }
    }
    let mut x_page = fixture("x/search_recent.page1.json");
    x_page.as_object_mut().unwrap().remove("__twarc");
    let views = bsky_views(&feed);
    let now = jiff::Timestamp::now();
    let masto_reset = (now + jiff::SignedDuration::from_secs(300)).to_string();
    let x_reset = (now.as_second() + 900).to_string();
    Server::start(move |r: &Request| {
        let p = r.path.as_str();
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
                let posts: Vec<&Value> = views
                    .iter()
                    .filter(|v| uris.contains(&v["uri"].as_str().unwrap()))
                    .collect();
                Reply::json(&json!({"posts": posts}))
            }
            "/xrpc/app.bsky.feed.getPostThread" => Reply::json(&thread),
            "/xrpc/com.atproto.server.createSession" => {
                let body: Value = serde_json::from_slice(&r.body).unwrap();
                assert_eq!(body["password"], BSKY_PASSWORD);
                Reply::json(&json!({"accessJwt": "access-1", "refreshJwt": "refresh-1",
                                     "did": "did:plc:me", "handle": "me.bsky.social"}))
            }
            "/xrpc/app.bsky.feed.searchPosts" => {
                assert_eq!(r.header("authorization"), Some("Bearer access-1"));
                assert_eq!(
                    r.param("mentions"),
                    Some("did:plc:wpe35pganb6d4pg4ekmfy6u5")
                );
                Reply::json(&json!({"posts": []}))
            }
            "/api/v1/accounts/lookup" => {
                assert_eq!(r.param("acct"), Some("schochastics"));
                Reply::json(&json!({"id": "109302436954721982", "acct": "schochastics"}))
            }
            "/api/v1/accounts/109302436954721982/statuses" => {
                if r.param("max_id").is_some() && stall.load(Ordering::SeqCst) {
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
                let found: Vec<&Value> = statuses
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|s| ids.contains(&s["id"].as_str().unwrap()))
                    .collect();
                Reply::json(&json!(found))
            }
            p if p.starts_with("/api/v1/statuses/") && p.ends_with("/context") => {
                if p.contains("/113386903441645744/") {
                    Reply::json(&context)
                } else {
                    Reply::json(&json!({"ancestors": [], "descendants": []}))
                }
            }
            p if p.starts_with("/2/") => {
                assert_eq!(
                    r.header("authorization"),
                    Some(&*format!("Bearer {X_TOKEN}"))
                );
                match p {
                    "/2/users/by/username/Breaking911" => {
                        Reply::json(&json!({"data": {"id": "999", "username": "Breaking911"}}))
                    }
                    "/2/users/999/mentions"
                        if r.param("pagination_token").is_none()
                            && r.param("since_id").is_none() =>
                    {
                        let n: usize = r.param("max_results").unwrap().parse().unwrap();
                        let mut page = x_page.clone();
                        page["data"].as_array_mut().unwrap().truncate(n);
                        Reply::json(&page)
                            .header("x-rate-limit-remaining", "449000")
                            .header("x-rate-limit-reset", &x_reset)
                    }
                    "/2/tweets" => Reply::json(&json!({"data": []})),
                    _ => Reply::json(&json!({"meta": {"result_count": 0}})),
                }
            }
            _ => Reply::status(404, b"{\"error\":\"NotFound\"}".to_vec()),
        }
    })
}

fn site(server: &Server, extra: &str) -> tempfile::TempDir {
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
"#,
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
    let store = root.join("data/store");
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

fn posts(root: &Path, source: &str) -> Vec<Value> {
    store_lines(root)
        .into_iter()
        .filter(|(f, _)| f.starts_with(format!("data/store/{source}")))
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
    assert_eq!(reply["created_at"], "2025-05-05T01:30:17Z");
    assert!(bsky.iter().any(|p| p["id"]
        == "at://did:plc:z4cp3uwgxiioi7uaxn2boq47/app.bsky.feed.post/3lobj4swhjo2x"
        && p["author"] == "smachlis.bsky.social"));
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

    // X: 100 posts of a recorded page and the 66 posts it expanded inline.
    let x = posts(root.path(), "x");
    assert!(x.len() >= 100, "{}", x.len());
    assert!(x.iter().any(|p| {
        p["mentions"]
            .as_array()
            .is_some_and(|m| m.contains(&json!("Breaking911")))
    }));

    // Score: every brand has complaints, and each source carries its coverage.
    let out = Command::new(BIN)
        .arg("--root")
        .arg(root.path())
        .arg("score")
        .output()
        .unwrap();
    ok(&out);
    let lb: Value = serde_json::from_str(
        &std::fs::read_to_string(root.path().join("public/data/leaderboard.json")).unwrap(),
    )
    .unwrap();
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
    ok(&Command::new(BIN)
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
    ok(&Command::new(BIN)
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
    assert_eq!(store_lines(root.path()), before);
    let again: Vec<String> = server.paths()[n..].to_vec();
    // bluesky: feed page 1 and open-thread counts (getPosts); mastodon: since_id page and
    // open-thread counts; x: mentions and tweets since the cursor.
    assert!(again.len() <= 8, "{again:?}");
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
    let out = Command::new(BIN)
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
    assert_eq!(mentions[0].param("max_results"), Some("30"));
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
    let stall = Arc::new(AtomicBool::new(true));
    let server = api(stall.clone());
    let cut = site(&server, "");
    let mut child = Command::new(BIN)
        .arg("--root")
        .arg(cut.path())
        .args(["collect", "--since", "2016-01-01"])
        .env_remove("REPLYRANK_X_BEARER_TOKEN")
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
    let cursors = std::fs::read_to_string(cut.path().join("data/state/cursors.json")).unwrap();
    assert!(
        cursors.contains("\"walk\""),
        "the cut walk is recorded: {cursors}"
    );

    stall.store(false, Ordering::SeqCst);
    ok(&collect(cut.path(), &[], &["--since", "2016-01-01"]));
    assert_eq!(store_lines(cut.path()), store_lines(whole.path()));
}
