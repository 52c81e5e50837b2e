//! Benchmark of `collect`'s politeness and throughput: 100 brands × 3 sources against three
//! local servers (one per source, i.e. one host each) that answer after 50 ms and allow
//! 10 requests per second each (a 429 with `Retry-After: 1` past that). The client is set to
//! the same 10 requests per second per host; the figure is the rate each host actually got, as
//! a share of the allowed rate (target: at least 90%).
//!
//! Run: `cargo bench --bench collect` (about 35 s).

#[path = "../tests/common/server.rs"]
mod server;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use server::{Reply, Request, Server};

const BRANDS: usize = 100;
const LIMIT: usize = 10;
const LATENCY: Duration = Duration::from_millis(50);

/// A local host, when it accepted each request, and how many it refused.
type Host = (Server, Arc<Mutex<Vec<Instant>>>, Arc<Mutex<usize>>);

/// A host that allows `LIMIT` requests in any second, and logs when each was accepted.
fn host(answer: impl Fn(&Request) -> serde_json::Value + Send + Sync + 'static) -> Host {
    let window: Arc<Mutex<VecDeque<Instant>>> = Arc::default();
    let accepted: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let refused: Arc<Mutex<usize>> = Arc::default();
    let (a, r) = (accepted.clone(), refused.clone());
    let s = Server::start(move |req| {
        let now = Instant::now();
        {
            let mut w = window.lock().unwrap();
            while w
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                w.pop_front();
            }
            if w.len() >= LIMIT {
                *r.lock().unwrap() += 1;
                return Reply::status(429, b"{}".to_vec()).header("retry-after", "1");
            }
            w.push_back(now);
        }
        a.lock().unwrap().push(now);
        Reply {
            delay: LATENCY,
            ..Reply::json(&answer(req))
        }
    });
    (s, accepted, refused)
}

fn main() {
    let old = "2020-01-01T00:00:00.000Z";
    let (bsky, bsky_log, bsky_429) = host(move |r| match r.path.as_str() {
        "/xrpc/app.bsky.actor.getProfile" => {
            json!({"did": format!("did:plc:{}", r.param("actor").unwrap())})
        }
        _ => {
            let did = r.param("actor").unwrap();
            json!({"feed": [{"post": {"uri": format!("at://{did}/app.bsky.feed.post/1"),
                "author": {"did": did, "handle": "h"}, "indexedAt": old,
                "record": {"createdAt": old, "text": "hello"}}}]})
        }
    });
    let (masto, masto_log, masto_429) = host(move |r| {
        if r.path.ends_with("/lookup") {
            json!({"id": r.param("acct").unwrap().trim_start_matches('b')})
        } else {
            let id = r.path.split('/').nth(4).unwrap();
            json!([{"id": format!("{id}000"), "created_at": old, "content": "<p>hi</p>",
                    "account": {"id": id, "acct": "b"}}])
        }
    });
    let (x, x_log, x_429) = host(move |r| {
        if r.path.contains("/by/username/") {
            json!({"data": {"id": r.path.rsplit('/').next().unwrap().trim_start_matches('b'), "username": "b"}})
        } else {
            json!({"meta": {"result_count": 0}})
        }
    });

    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("data")).unwrap();
    let mut brands = String::new();
    for i in 0..BRANDS {
        brands += &format!(
            "[[brand]]\nid = \"b{i}\"\nname = \"B{i}\"\ncategory = \"x\"\ncountry = \"US\"\ntimezone = \"UTC\"\n\
             [brand.accounts]\nbluesky = [\"b{i}\"]\nmastodon = [\"b{i}@example.org\"]\ntwitter = [\"b{i}\"]\n\n"
        );
    }
    std::fs::write(root.path().join("data/brands.toml"), brands).unwrap();
    std::fs::write(
        root.path().join("replyrank.toml"),
        format!(
            "[collect]\ncontact = \"bench\"\n\n[sources.bluesky]\nbase_url = \"{}\"\nrequests_per_second = {LIMIT}\njetstream = false\n\n\
             [sources.mastodon]\nbase_url = \"{}\"\nrequests_per_second = {LIMIT}\n\n\
             [sources.x]\nbase_url = \"{}\"\nrequests_per_second = {LIMIT}\nmax_posts_per_run = 100000\n",
            bsky.url, masto.url, x.url
        ),
    )
    .unwrap();

    let start = Instant::now();
    let report = replyrank::collect::run(
        &replyrank::root::SiteRoot::at(root.path()),
        replyrank::collect::Options {
            secrets: replyrank::collect::Secrets::default()
                .with(replyrank::source::X_BEARER_TOKEN, "bench"),
            since: Some(0),
            key: Some(replyrank::publish::Pseudonymiser::new(&[7; 32]).unwrap()),
            ..Default::default()
        },
    )
    .unwrap();
    let total = start.elapsed();
    println!(
        "collect: {BRANDS} brands × 3 sources, {} requests in {:.1} s ({} failed accounts, {} retries)",
        report.traffic.requests,
        total.as_secs_f64(),
        report.failed(),
        report.traffic.retries
    );
    let mut worst: f64 = 1.0;
    for (name, log, refused) in [
        ("bluesky", &bsky_log, &bsky_429),
        ("mastodon", &masto_log, &masto_429),
        ("x", &x_log, &x_429),
    ] {
        let log = log.lock().unwrap();
        let span = log.last().unwrap().duration_since(log[0]).as_secs_f64();
        // n requests paced at the limit span (n - 1) intervals.
        let rate = (log.len() - 1) as f64 / span;
        let share = rate / LIMIT as f64;
        worst = worst.min(share);
        println!(
            "  {name:<8} {:>4} requests, {rate:5.2} req/s of {LIMIT} allowed = {:5.1}%, {} refused (429)",
            log.len(),
            share * 100.0,
            refused.lock().unwrap()
        );
    }
    println!(
        "lowest share of the allowed rate: {:.1}% (target ≥ 90%): {}",
        worst * 100.0,
        if worst >= 0.9 { "met" } else { "NOT met" }
    );
}
