//! What a hostile or broken server must not do to `collect`: make it show a secret, make it hold
//! an unbounded body in memory, or keep it running past its time budget. The real binary (or the
//! real HTTP client) against a local server.

mod common;

use std::io::Write;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::collect;
use common::server::{Reply, Request, Server};
use replyrank::collect::http::{Client, HttpError, Limits};
use serde_json::json;

/// 52 characters, as the token the issue saw leak.
const X_TOKEN: &str = "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid8zQ1x9kR7pWq";

/// A site root with one brand (its accounts as given) and every source pointed at `url`.
fn site(url: &str, accounts: &str, collect: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("data")).unwrap();
    std::fs::write(
        root.path().join("data/brands.toml"),
        format!(
            "[[brand]]\nid = \"acme\"\nname = \"Acme\"\ncategory = \"tech\"\ncountry = \"US\"\n\
             timezone = \"UTC\"\n[brand.accounts]\n{accounts}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.path().join("replyrank.toml"),
        format!(
            "[collect]\ncontact = \"mailto:ops@example.org\"\nbackoff_ms = 10\nmax_retries = 1\n{collect}\n\n\
             [sources.bluesky]\nbase_url = \"{url}\"\nauth_url = \"{url}\"\nrequests_per_second = 1000\njetstream = false\n\n\
             [sources.mastodon]\nbase_url = \"{url}\"\nrequests_per_second = 1000\n\n\
             [sources.x]\nbase_url = \"{url}\"\nrequests_per_second = 1000\n"
        ),
    )
    .unwrap();
    root
}

/// Both outputs of a run.
fn shown(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The longest run of `secret`'s characters that `text` shows.
fn longest_part_shown(text: &str, secret: &str) -> usize {
    (1..=secret.len())
        .rev()
        .find(|&n| (0..=secret.len() - n).any(|i| text.contains(&secret[i..i + n])))
        .unwrap_or(0)
}

#[test]
fn an_error_body_echoing_the_authorization_header_shows_no_part_of_the_token() {
    // The echo starts so that a 200-character cut keeps 47 of the token's 52 characters.
    let server = Server::start(|r: &Request| {
        let auth = r.header("authorization").unwrap_or("").to_string();
        let mut body = "x".repeat(200 - 47 - "Authorization: Bearer ".len());
        body += &format!("Authorization: {auth}");
        body += &" (rejected)".repeat(30);
        Reply::status(401, body.into_bytes())
    });
    let root = site(&server.url, "twitter = [\"acme\"]", "");
    let out = collect(
        root.path(),
        &[("REPLYRANK_X_BEARER_TOKEN", X_TOKEN)],
        &["--source", "x"],
    );
    let text = shown(&out);
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(text.contains("[secret]"), "{text}");
    assert!(
        longest_part_shown(&text, X_TOKEN) < 6,
        "{} characters of the token shown: {text}",
        longest_part_shown(&text, X_TOKEN)
    );
}

#[test]
fn bluesky_session_jwts_echoed_in_errors_are_blanked_even_after_a_refresh() {
    let jwt =
        |n: &str| format!("eyJhbGciOiJFUzI1NksifQ.eyJzY29wZSI6ImNvbS5hdHByb3RvLmFjY2VzcyJ9.{n}");
    let (access1, refresh1, access2, refresh2) =
        (jwt("a1sig"), jwt("r1sig"), jwt("a2sig"), jwt("r2sig"));
    let searches = Arc::new(AtomicUsize::new(0));
    let (a1, r1, a2, r2) = (
        access1.clone(),
        refresh1.clone(),
        access2.clone(),
        refresh2.clone(),
    );
    let server = Server::start(move |r: &Request| match r.path.as_str() {
        "/xrpc/app.bsky.actor.getProfile" => {
            Reply::json(&json!({"did": "did:plc:acme", "handle": "acme.bsky.social"}))
        }
        "/xrpc/app.bsky.feed.getAuthorFeed" => Reply::json(&json!({"feed": []})),
        "/xrpc/com.atproto.server.createSession" => {
            Reply::json(&json!({"accessJwt": a1, "refreshJwt": r1}))
        }
        "/xrpc/com.atproto.server.refreshSession" => {
            Reply::json(&json!({"accessJwt": a2, "refreshJwt": r2}))
        }
        "/xrpc/app.bsky.feed.searchPosts" => {
            let auth = r.header("authorization").unwrap_or("");
            if searches.fetch_add(1, Ordering::SeqCst) == 0 {
                let body = json!({"error": "ExpiredToken", "message": format!("expired: {auth}")});
                Reply::status(400, body.to_string().into_bytes())
            } else {
                let body = json!({"error": "InvalidRequest",
                                  "message": format!("bad request with {auth}; refresh was {r1}")});
                Reply::status(400, body.to_string().into_bytes())
            }
        }
        _ => Reply::status(404, b"{\"error\":\"NotFound\"}".to_vec()),
    });
    let root = site(&server.url, "bluesky = [\"acme.bsky.social\"]", "");
    let out = collect(
        root.path(),
        &[
            ("REPLYRANK_BLUESKY_HANDLE", "me.bsky.social"),
            ("REPLYRANK_BLUESKY_APP_PASSWORD", "app-password-1234"),
        ],
        &["--source", "bluesky"],
    );
    let text = shown(&out);
    assert!(
        text.contains("HTTP 400: bad request with Bearer [secret]"),
        "{text}"
    );
    for secret in [&access1, &refresh1, &access2, &refresh2] {
        let sig = secret.rsplit('.').next().unwrap();
        assert!(!text.contains(sig), "{secret} shown: {text}");
    }
    let paths = server.paths();
    assert!(
        paths.iter().any(|p| p.ends_with("refreshSession")),
        "{paths:?}"
    );
}

/// `size` zero bytes, gzip-compressed (about a thousandth of the size).
fn gzip_zeros(size: usize) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..size >> 20 {
        gz.write_all(&chunk).unwrap();
    }
    gz.finish().unwrap()
}

fn bomb_server(expanded: usize) -> Server {
    let body = gzip_zeros(expanded);
    Server::start(move |_| Reply::status(200, body.clone()).header("content-encoding", "gzip"))
}

#[test]
fn a_gzip_bomb_fails_the_request_at_the_body_cap_naming_the_url_and_the_limit() {
    let server = bomb_server(64 << 20);
    let limits = Limits {
        user_agent: "replyrank/test".into(),
        concurrency: 1,
        requests_per_second: 1000.0,
        max_retries: 3,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_secs(20),
        deadline: Instant::now() + Duration::from_secs(30),
        max_body: 1 << 20,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = reqwest::Url::parse(&format!("{}/api/v1/bomb", server.url)).unwrap();
    let err = rt
        .block_on(
            Client::new(limits)
                .unwrap()
                .get_json::<serde_json::Value>(url, None),
        )
        .err()
        .expect("the bomb is refused");
    let msg = err.to_string();
    assert!(matches!(err, HttpError::TooLarge { .. }), "{msg}");
    assert!(msg.contains("/api/v1/bomb"), "{msg}");
    assert!(msg.contains("1 MiB"), "{msg}");
    assert!(msg.contains("max_body_mib"), "{msg}");
    assert_eq!(server.count.load(Ordering::SeqCst), 1, "not retried");
}

/// The peak resident memory of the finished child processes of this test binary, in MiB.
fn children_peak_mib() -> i64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    usage.ru_maxrss / 1024
}

#[test]
fn collect_against_a_gzip_bomb_stays_within_its_body_cap() {
    // 2 MiB on the wire, 512 MiB expanded; the default cap is 32 MiB.
    let server = bomb_server(512 << 20);
    let root = site(&server.url, "mastodon = [\"acme@example.social\"]", "");
    let out = collect(root.path(), &[], &["--source", "mastodon"]);
    let text = shown(&out);
    let peak = children_peak_mib();
    assert!(peak < 160, "collect peaked at {peak} MiB: {text}");
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("larger than 32 MiB after decompression"),
        "{text}"
    );
    assert!(text.contains("/api/v1/accounts/lookup"), "{text}");
}

#[test]
fn a_slow_server_cannot_stretch_the_run_past_its_time_budget() {
    let server = Server::start(|_| Reply {
        delay: Duration::from_secs(10),
        ..Reply::json(&json!({"id": "1"}))
    });
    let root = site(
        &server.url,
        "mastodon = [\"acme@example.social\"]",
        "time_budget_s = 2",
    );
    let start = Instant::now();
    let out = collect(root.path(), &[], &["--source", "mastodon"]);
    let took = start.elapsed();
    let text = shown(&out);
    assert!(took < Duration::from_millis(3000), "took {took:?}: {text}");
    assert!(out.status.success(), "a budget stop is clean: {text}");
    assert!(text.contains("time budget is spent"), "{text}");
    assert_eq!(server.count.load(Ordering::SeqCst), 1);
}
