//! `replyrank collect` reading Bluesky's Jetstream: the real binary against a local WebSocket
//! server replaying a real capture re-wired into conversations with a test brand
//! (tests/fixtures/jetstream/README.md), and a local AppView for handles and the thread walk.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::jetstream::{Jetstream, LIVE_SEQ, Replay, position};
use common::server::{Reply, Request, Server};
use serde_json::{Value, json};

const BRAND_DID: &str = "did:plc:acmesupportbrandtestaaaa";
const BRAND_HANDLE: &str = "acme-support.bsky.social";
/// The customer of the unanswered mention (capture line 45) asked not to be shown logged out.
const OPTED_OUT: &str = "did:plc:tn3hni2jpphsgl6amfbb7ja6";
/// A registry handle that resolves to no account.
const GONE_HANDLE: &str = "gone-brand.bsky.social";

fn fixture_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jetstream")
}

/// The re-wired capture's frames.
fn frames() -> Vec<String> {
    let text =
        std::fs::read_to_string(fixture_dir().join("capture_2026-07-04.rewired.jsonl")).unwrap();
    text.lines().map(String::from).collect()
}

fn dictionary() -> Vec<u8> {
    std::fs::read(fixture_dir().join("subscribe_events_20260811.zdict")).unwrap()
}

fn payload(frame: &str) -> Value {
    serde_json::from_str::<Value>(frame).unwrap()["payload"].clone()
}

/// The AT-URI of the post a frame creates or deletes.
fn uri(frame: &str) -> String {
    let p = payload(frame);
    format!(
        "at://{}/app.bsky.feed.post/{}",
        p["did"].as_str().unwrap(),
        p["rkey"].as_str().unwrap()
    )
}

/// The frame of seq `seq`.
fn at_seq(frames: &[String], seq: u64) -> String {
    frames
        .iter()
        .find(|f| position(f).0 == seq)
        .unwrap()
        .clone()
}

/// The re-wired conversation, by capture line (seq = 1001 + line): see the fixture README.
mod line {
    /// Customer 1 mentions the brand; the brand answers (40); customer 1 thanks it (55).
    pub const MENTION_ANSWERED: u64 = 1002;
    /// The brand's own post; customers 2 (25) and 5 (87) reply under it.
    pub const BRAND_POST: u64 = 1004;
    pub const REPLY_UNDER_BRAND: u64 = 1026;
    pub const BRAND_ANSWER_1: u64 = 1041;
    /// Customer 3 mentions the brand, never answered.
    pub const MENTION_UNANSWERED: u64 = 1046;
    /// Customer 4 mentions the brand, answered after 70 minutes (123).
    pub const MENTION_LATE: u64 = 1054;
    pub const BRAND_ANSWER_2: u64 = 1055;
    pub const FOLLOW_UP: u64 = 1056;
    pub const REPLY_UNDER_BRAND_UNANSWERED: u64 = 1088;
    /// Customer 6 mentions the brand, then deletes the post (144 → seq 1145).
    pub const DELETED_MENTION: u64 = 1110;
    pub const BRAND_ANSWER_LATE: u64 = 1124;
    /// Customer 7 replies to customer 3's mention, mentioning the brand: never answered.
    pub const MENTION_IN_THREAD: u64 = 1141;
    pub const BRAND_POST_2: u64 = 1144;
    pub const DELETE: u64 = 1145;
}

/// The posts the stream must keep (the deleted mention is gone before it is stored).
fn kept(frames: &[String]) -> BTreeSet<String> {
    use line::*;
    [
        MENTION_ANSWERED,
        BRAND_POST,
        REPLY_UNDER_BRAND,
        BRAND_ANSWER_1,
        MENTION_UNANSWERED,
        MENTION_LATE,
        BRAND_ANSWER_2,
        FOLLOW_UP,
        REPLY_UNDER_BRAND_UNANSWERED,
        BRAND_ANSWER_LATE,
        MENTION_IN_THREAD,
        BRAND_POST_2,
    ]
    .into_iter()
    .map(|s| uri(&at_seq(frames, s)))
    .collect()
}

/// A handle for a DID in the local AppView (customers get synthetic ones).
fn handle_of(did: &str) -> String {
    if did == BRAND_DID {
        BRAND_HANDLE.into()
    } else {
        format!("c-{}.example.com", &did[8..16])
    }
}

/// The AppView's post views of the re-wired posts (what the thread walk reads), by URI: the
/// same records, authors with handles, `indexedAt` = the event's time, reply counts.
fn views(frames: &[String]) -> BTreeMap<String, Value> {
    let deleted = uri(&at_seq(frames, line::DELETE));
    let posts: Vec<Value> = frames
        .iter()
        .map(|f| payload(f))
        .filter(|p| {
            p["collection"] == "app.bsky.feed.post"
                && p["operation"] == "create"
                && p["record"]["langs"] == json!(["en"])
                && p["record"]["text"].as_str().is_some_and(|t| !t.is_empty())
        })
        .collect();
    let mut out = BTreeMap::new();
    for p in &posts {
        let did = p["did"].as_str().unwrap();
        let u = format!(
            "at://{did}/app.bsky.feed.post/{}",
            p["rkey"].as_str().unwrap()
        );
        if u == deleted {
            continue;
        }
        let replies = posts
            .iter()
            .filter(|q| q["record"]["reply"]["parent"]["uri"] == u.as_str())
            .count();
        out.insert(
            u.clone(),
            json!({
                "$type": "app.bsky.feed.defs#postView",
                "uri": u, "cid": p["cid"],
                "author": {"did": did, "handle": handle_of(did)},
                "record": p["record"], "indexedAt": p["time"], "replyCount": replies,
            }),
        );
    }
    out
}

/// A thread view node of `uri` with every reply under it.
fn thread(views: &BTreeMap<String, Value>, uri: &str) -> Value {
    let replies: Vec<Value> = views
        .values()
        .filter(|v| v["record"]["reply"]["parent"]["uri"] == uri)
        .map(|v| thread(views, v["uri"].as_str().unwrap()))
        .collect();
    json!({"$type": "app.bsky.feed.defs#threadViewPost", "post": views[uri], "replies": replies})
}

/// The local AppView: handles resolve (but `GONE_HANDLE`); with `threads`, it serves the
/// brand's feed, posts and threads made from the same re-wired posts, else an empty feed.
fn appview(frames: &[String], threads: bool) -> Server {
    let views = views(frames);
    Server::start(move |r: &Request| {
        let gone = || {
            Reply::status(
                400,
                br#"{"error":"InvalidRequest","message":"Unable to resolve handle"}"#.to_vec(),
            )
        };
        match r.path.as_str() {
            "/xrpc/com.atproto.identity.resolveHandle" => match r.param("handle") {
                Some(BRAND_HANDLE) => Reply::json(&json!({"did": BRAND_DID})),
                _ => gone(),
            },
            "/xrpc/app.bsky.actor.getProfile" => match r.param("actor") {
                Some(BRAND_HANDLE) => {
                    Reply::json(&json!({"did": BRAND_DID, "handle": BRAND_HANDLE}))
                }
                _ => gone(),
            },
            "/xrpc/app.bsky.feed.getAuthorFeed" if threads && r.param("cursor").is_none() => {
                let mut own: Vec<&Value> = views
                    .values()
                    .filter(|v| v["author"]["did"] == BRAND_DID)
                    .collect();
                own.sort_by_key(|v| std::cmp::Reverse(v["indexedAt"].as_str().unwrap()));
                let feed: Vec<Value> = own
                    .into_iter()
                    .map(|v| {
                        let reply = &v["record"]["reply"];
                        if reply.is_object() {
                            let parent = &views[reply["parent"]["uri"].as_str().unwrap()];
                            let root = &views[reply["root"]["uri"].as_str().unwrap()];
                            json!({"post": v, "reply": {"parent": parent, "root": root}})
                        } else {
                            json!({"post": v})
                        }
                    })
                    .collect();
                Reply::json(&json!({"feed": feed}))
            }
            "/xrpc/app.bsky.feed.getAuthorFeed" => Reply::json(&json!({"feed": []})),
            "/xrpc/app.bsky.actor.getProfiles" => {
                let profiles: Vec<Value> = r
                    .params("actors")
                    .iter()
                    .map(|did| {
                        let labels = if *did == OPTED_OUT {
                            json!([{"src": did, "val": "!no-unauthenticated"}])
                        } else {
                            json!([])
                        };
                        json!({"did": did, "handle": handle_of(did), "followersCount": did.len(),
                               "labels": labels})
                    })
                    .collect();
                Reply::json(&json!({ "profiles": profiles }))
            }
            "/xrpc/app.bsky.feed.getPosts" => {
                let posts: Vec<&Value> = r
                    .params("uris")
                    .iter()
                    .filter_map(|u| views.get(*u))
                    .collect();
                Reply::json(&json!({ "posts": posts }))
            }
            "/xrpc/app.bsky.feed.getPostThread" => match r.param("uri") {
                Some(u) if views.contains_key(u) => {
                    Reply::json(&json!({"thread": thread(&views, u)}))
                }
                _ => Reply::status(400, br#"{"error":"NotFound"}"#.to_vec()),
            },
            _ => Reply::status(404, br#"{"error":"NotFound"}"#.to_vec()),
        }
    })
}

const ACME: &str = r#"
[[brand]]
id = "acme"
name = "Acme"
category = "retail"
country = "US"
timezone = "America/New_York"
[brand.accounts]
bluesky = ["acme-support.bsky.social"]
"#;

/// A brand whose only account does not exist.
const GONE: &str = r#"
[[brand]]
id = "gone"
name = "Gone Co"
category = "retail"
country = "US"
timezone = "America/New_York"
[brand.accounts]
bluesky = ["gone-brand.bsky.social"]
"#;

fn site(appview: &Server, jet: &Jetstream, extra: &str) -> tempfile::TempDir {
    site_with(appview, jet, extra, ACME)
}

fn site_with(appview: &Server, jet: &Jetstream, extra: &str, brands: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("data")).unwrap();
    std::fs::write(root.path().join("data/brands.toml"), brands).unwrap();
    std::fs::write(
        root.path().join("replyrank.toml"),
        format!(
            r#"[ranking]
window_days = 3650
min_complaints = 1

[collect]
contact = "mailto:ops@example.org"
backoff_ms = 10
timeout_ms = 10000

[sources.bluesky]
base_url = "{}"
jetstream_url = "{}"
requests_per_second = 1000
{extra}
"#,
            appview.url, jet.url
        ),
    )
    .unwrap();
    root
}

/// Runs `collect --source bluesky`; both outputs, after checking it succeeded.
fn collect(root: &Path) -> String {
    let (all, ok) = try_collect(root);
    assert!(ok, "failed:\n{all}");
    all
}

/// Runs `collect --source bluesky`; both outputs and whether it succeeded.
fn try_collect(root: &Path) -> (String, bool) {
    let out: Output = std::process::Command::new(common::bin())
        .arg("--root")
        .arg(root)
        .args(["collect", "--source", "bluesky"])
        .env("REPLYRANK_PSEUDONYM_KEY", common::TEST_KEY)
        .env_remove("REPLYRANK_BLUESKY_HANDLE")
        .env_remove("REPLYRANK_BLUESKY_APP_PASSWORD")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (all, out.status.success())
}

/// Every stored Bluesky post as collected (the private store), by id.
fn stored(root: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(root.join("data/private/bluesky")) else {
        return out;
    };
    for f in dir {
        for l in std::fs::read_to_string(f.unwrap().path()).unwrap().lines() {
            let v: Value = serde_json::from_str(l).unwrap();
            assert!(
                out.insert(v["id"].as_str().unwrap().to_string(), v)
                    .is_none(),
                "a post stored twice"
            );
        }
    }
    out
}

fn cursor(root: &Path) -> Value {
    let c: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("data/private/cursors.json")).unwrap(),
    )
    .unwrap();
    c["sources"]["bluesky"]["jetstream"].clone()
}

fn coverage(root: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(root.join("data/state/coverage.json")).unwrap())
        .unwrap()
}

fn rfc3339(us: i64) -> String {
    jiff::Timestamp::from_microsecond(us)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[test]
fn jetstream_keeps_mentions_replies_under_brand_posts_and_brand_posts_by_did_at_receipt_time() {
    let frames = frames();
    let jet = Jetstream::start(Replay {
        frames: frames.clone(),
        ..Replay::default()
    });
    let api = appview(&frames, false);
    let root = site_with(
        &api,
        &jet,
        "jetstream_zstd = false",
        &format!("{ACME}{GONE}"),
    );
    // The thread walk fails on the handle that does not exist (its own report); the stream
    // goes on without it.
    let (log, _) = try_collect(root.path());
    assert!(log.contains("bluesky jetstream: 12 new posts"), "{log}");

    // What was asked: the v2 stream, posts only, commits and account deletions, from a time.
    let conns = jet.connections.lock().unwrap().clone();
    assert_eq!(conns.len(), 1, "{conns:?}");
    let q = &conns[0];
    assert!(
        q.starts_with("/xrpc/network.bsky.jetstream.subscribeEvents?"),
        "{q}"
    );
    for p in [
        "kinds=commit",
        "kinds=account",
        "collections=app.bsky.feed.post",
        "cursor=1",
    ] {
        assert!(q.contains(p), "{p} missing from {q}");
    }
    assert!(
        !q.contains("wanted") && !q.contains("zstdDictionary"),
        "{q}"
    );

    let posts = stored(root.path());
    let ids: BTreeSet<String> = posts.keys().cloned().collect();
    assert_eq!(ids, kept(&frames), "{log}");
    assert!(!ids.contains(&uri(&at_seq(&frames, line::DELETED_MENTION))));
    for f in frames
        .iter()
        .filter(|f| payload(f)["rkey"].is_string() && ids.contains(&uri(f)))
    {
        let p = payload(f);
        let s = &posts[&uri(f)];
        let did = p["did"].as_str().unwrap();
        assert_eq!(s["author"], did, "authors are DIDs");
        assert_eq!(s["created_at"], rfc3339(position(f).1), "receipt time");
        let declared = p["record"]["createdAt"].as_str().unwrap();
        assert_eq!(
            s["declared_at"],
            format!("{}Z", &declared[..19]),
            "client time kept"
        );
        assert_eq!(s["lang"], "en");
        assert_eq!(s["followers"], did.len(), "{s}");
        if did == OPTED_OUT {
            assert_eq!(s["opted_out"], true, "{s}");
        } else {
            assert!(s.get("opted_out").is_none(), "{s}");
            assert_eq!(s["text"], p["record"]["text"]);
        }
        if did == BRAND_DID {
            assert_eq!(s["brand"], "acme");
            assert!(s.get("to_brand").is_none());
        } else {
            assert_eq!(s["to_brand"], "acme", "{s}");
        }
    }
    let mention = &posts[&uri(&at_seq(&frames, line::MENTION_ANSWERED))];
    assert_eq!(mention["mentions"], json!([BRAND_HANDLE]));
    let answer = &posts[&uri(&at_seq(&frames, line::BRAND_ANSWER_1))];
    assert_eq!(answer["reply_to"], mention["id"]);

    // The handle that does not resolve is said once, clearly; the run goes on.
    let gone: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(GONE_HANDLE) && l.contains("does not resolve"))
        .collect();
    assert_eq!(gone.len(), 1, "{log}");
    assert!(
        gone[0].contains("brand gone") && gone[0].contains("data/brands.toml"),
        "{log}"
    );
    // Nothing was stored that was deleted, nor any stored post reported deleted.
    assert!(
        log.contains("kept 12 posts; 0 stored posts deleted"),
        "{log}"
    );

    // The position and the brands' DIDs are kept; the coverage says all mentions.
    let c = cursor(root.path());
    assert_eq!(c["stream"]["seq"], LIVE_SEQ);
    assert_eq!(c["stream"]["dids"], json!({ BRAND_HANDLE: BRAND_DID }));
    let cov = coverage(root.path());
    assert!(
        cov["coverage"]["bluesky"]
            .as_str()
            .unwrap()
            .starts_with("All public mentions"),
        "{cov}"
    );
    assert!(cov.get("gaps").is_none(), "{cov}");

    // The next run resumes at the stored seq (inclusive) and stores nothing twice.
    try_collect(root.path());
    let conns = jet.connections.lock().unwrap().clone();
    assert_eq!(conns.len(), 2);
    assert!(
        conns[1].contains(&format!("cursor={LIVE_SEQ}")),
        "{}",
        conns[1]
    );
    assert_eq!(stored(root.path()).len(), ids.len());
    assert_eq!(cursor(root.path())["stream"]["seq"], LIVE_SEQ + 1);
}

/// Runs a replay on a fresh site; returns the stored posts and the collect log.
fn run(
    replay: Replay,
    extra: &str,
) -> (
    BTreeMap<String, Value>,
    String,
    Jetstream,
    tempfile::TempDir,
) {
    let api = appview(&replay.frames, false);
    let jet = Jetstream::start(replay);
    let root = site(&api, &jet, extra);
    let log = collect(root.path());
    (stored(root.path()), log, jet, root)
}

#[test]
fn a_compressed_stream_with_the_real_dictionary_stores_the_same_posts() {
    let frames = frames();
    let replay = Replay {
        frames: frames.clone(),
        dictionary: Some(dictionary()),
        ..Replay::default()
    };
    let (zstd, log, jet, _root) = run(replay.clone(), "");
    let conns = jet.connections.lock().unwrap().clone();
    assert!(conns[0].contains("zstdDictionary=20260811"), "{conns:?}");
    let (plain, _, _, _) = run(replay, "jetstream_zstd = false");
    assert_eq!(
        zstd.keys().collect::<Vec<_>>(),
        plain.keys().collect::<Vec<_>>(),
        "{log}"
    );
    assert_eq!(zstd, plain);
    assert_eq!(zstd.keys().cloned().collect::<BTreeSet<_>>(), kept(&frames));
}

#[test]
fn a_stream_cut_midway_resumes_from_the_last_event_and_loses_nothing() {
    let frames = frames();
    let (whole, _, _, _) = run(
        Replay {
            frames: frames.clone(),
            ..Replay::default()
        },
        "jetstream_zstd = false",
    );
    let (cut, log, jet, _root) = run(
        Replay {
            frames: frames.clone(),
            cut_after: Some(8),
            ..Replay::default()
        },
        "jetstream_zstd = false",
    );
    let conns = jet.connections.lock().unwrap().clone();
    assert_eq!(conns.len(), 2, "{conns:?}\n{log}");
    // Eight post/account frames were sent before the cut: the eighth is line 55 (seq 1056).
    assert!(conns[1].contains("cursor=1056"), "{conns:?}");
    assert!(log.contains("the stream dropped"), "{log}");
    assert_eq!(cut, whole);
}

#[test]
fn a_cursor_older_than_the_server_keeps_is_recorded_as_a_gap_not_skipped_silently() {
    let frames = frames();
    let api = appview(&frames, false);
    let jet = Jetstream::start(Replay {
        frames: frames.clone(),
        floor: 1050,
        ..Replay::default()
    });
    let root = site(&api, &jet, "jetstream_zstd = false");
    // An earlier run stored up to the first event, long before the server's floor.
    let (seq, time_us) = position(&frames[0]);
    std::fs::create_dir_all(root.path().join("data/private")).unwrap();
    std::fs::write(
        root.path().join("data/private/cursors.json"),
        json!({"schema": "replyrank.cursors/1", "sources": {"bluesky": {"jetstream": {
            "stream": {"seq": seq, "time_us": time_us}}}}})
        .to_string(),
    )
    .unwrap();
    let log = collect(root.path());
    let conns = jet.connections.lock().unwrap().clone();
    assert_eq!(conns.len(), 2, "{conns:?}");
    assert!(conns[0].contains(&format!("cursor={seq}")), "{conns:?}");
    assert!(conns[1].contains(&format!("cursor={time_us}")), "{conns:?}");
    // The first event past the floor the filter lets through: line 53 (seq 1054).
    let first = at_seq(&frames, line::MENTION_LATE);
    let gap = json!([{"from": rfc3339(time_us), "to": rfc3339(position(&first).1)}]);
    assert_eq!(coverage(root.path())["gaps"]["bluesky"], gap, "{log}");
    assert_eq!(cursor(root.path())["stream"]["gaps"], gap);
    assert!(
        log.contains("no data between 2026-07-04T14:38:08Z and 2026-07-04T15:31:08Z"),
        "{log}"
    );
    let ids: BTreeSet<String> = stored(root.path()).into_keys().collect();
    assert!(ids.contains(&uri(&first)));
    assert!(!ids.contains(&uri(&at_seq(&frames, line::MENTION_ANSWERED))));
    // The leaderboard carries the gap with the source, for the site to say it.
    let out = std::process::Command::new(common::bin())
        .arg("--root")
        .arg(root.path())
        .args(["score", "--as-of", "2026-07-05"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lb = common::leaderboard(root.path());
    let bsky = lb["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "bluesky")
        .unwrap();
    assert_eq!(bsky["gaps"], gap);
}

#[test]
fn a_post_deleted_on_the_network_after_it_was_stored_is_reported_deleted() {
    let frames = frames();
    // A pause after the mention: it is committed (stored) before its delete arrives.
    let (_, log, _, _root) = run(
        Replay {
            frames: frames.clone(),
            pause: Some((line::BRAND_ANSWER_LATE, Duration::from_millis(5500))),
            ..Replay::default()
        },
        "jetstream_zstd = false",
    );
    assert!(
        log.contains("kept 13 posts; 1 stored posts deleted"),
        "{log}"
    );
}

/// Complaints and their first replies (post ids), as scoring pairs them.
fn pairs(root: &Path) -> BTreeMap<String, Option<String>> {
    paired(root).into_iter().map(|(c, (r, _))| (c, r)).collect()
}

/// Complaints, their first replies and reply times, as scoring pairs them.
fn paired(root: &Path) -> BTreeMap<String, (Option<String>, Option<i64>)> {
    use replyrank::{corpus::Corpus, registry::Registry, root::SiteRoot, store::Store};
    let root = SiteRoot::at(root);
    let registry = Registry::load(&root).unwrap();
    // The posts as collected (the private store), so ids are the network's.
    let store = Store::open_kind(&root, replyrank::store::Kind::Private).unwrap();
    let corpus = Corpus::load(&store, &registry).unwrap();
    let as_of = replyrank::time::parse_rfc3339("2026-07-05T00:00:00Z").unwrap();
    let p = replyrank::pair::pair(&corpus, as_of, replyrank::method::Version::V2);
    p.complaints
        .iter()
        .map(|c| {
            (
                corpus.id(c.post).1.to_string(),
                (c.first_reply.map(|r| corpus.id(r).1.to_string()), c.reply_s),
            )
        })
        .collect()
}

/// The brand's figures from `replyrank score`.
fn figures(root: &Path) -> Value {
    common::ok(common::rr(
        root,
        &["score", "--as-of", "2026-07-05T00:00:00Z"],
    ));
    let lb = common::leaderboard(root);
    lb["brands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "acme")
        .unwrap()
        .clone()
}

#[test]
fn jetstream_finds_the_thread_walks_complaints_and_first_replies_plus_unanswered_mentions() {
    let frames = frames();
    let jet = Jetstream::start(Replay {
        frames: frames.clone(),
        dictionary: Some(dictionary()),
        ..Replay::default()
    });
    // The stream alone (the AppView feed is empty)…
    let stream_api = appview(&frames, false);
    let stream_root = site(&stream_api, &jet, "");
    collect(stream_root.path());
    // …and the thread walk alone, over the same conversations.
    let walk_api = appview(&frames, true);
    let walk_root = site(&walk_api, &jet, "jetstream = false");
    let walk_log = collect(walk_root.path());
    assert!(
        !walk_log.contains("jetstream"),
        "jetstream = false turns the stream off: {walk_log}"
    );

    let stream = pairs(stream_root.path());
    let walk = pairs(walk_root.path());
    let id = |seq| uri(&at_seq(&frames, seq));
    let expected_walk: BTreeMap<String, Option<String>> = [
        (line::MENTION_ANSWERED, Some(line::BRAND_ANSWER_1)),
        (line::REPLY_UNDER_BRAND, Some(line::BRAND_ANSWER_2)),
        (line::MENTION_LATE, Some(line::BRAND_ANSWER_LATE)),
        (line::REPLY_UNDER_BRAND_UNANSWERED, None),
    ]
    .into_iter()
    .map(|(c, r)| (id(c), r.map(id)))
    .collect();
    assert_eq!(walk, expected_walk);
    let mut expected_stream = expected_walk.clone();
    expected_stream.insert(id(line::MENTION_UNANSWERED), None);
    expected_stream.insert(id(line::MENTION_IN_THREAD), None);
    assert_eq!(stream, expected_stream);

    // The figures: the same answered complaints, two more unanswered ones.
    let (s, w) = (figures(stream_root.path()), figures(walk_root.path()));
    assert_eq!(w["complaints"], 4, "{w}");
    assert_eq!(s["complaints"], 6, "{s}");
    assert_eq!(s["answered"], w["answered"]);
    assert_eq!(w["answered"], 3);
    assert_eq!(w["answered_1h"], 0.5);
    assert_eq!(s["answered_1h"], 0.3333);
    // Reply times: receipt times (stream) and client-declared times (thread walk) differ by
    // seconds: 39, 29 and 70 minutes.
    let (stream, walk) = (paired(stream_root.path()), paired(walk_root.path()));
    for (c, (_, w)) in &walk {
        let s = stream[c].1;
        match (s, *w) {
            (Some(s), Some(w)) => assert!((s - w).abs() < 60, "{c}: {s} s vs {w} s"),
            (s, w) => assert_eq!(s, w, "{c}"),
        }
    }
    let times: BTreeSet<i64> = stream.values().filter_map(|(_, t)| *t).collect();
    assert_eq!(times, BTreeSet::from([29 * 60, 39 * 60, 70 * 60]));
}
