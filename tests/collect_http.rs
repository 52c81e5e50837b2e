//! The HTTP client against a local server that injects faults: 429 with Retry-After, a 500 then
//! success, a timeout, a cut-off body, a truncated JSON body, rate-limit headers, the deadline.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::server::{Reply, Server};
use replyrank::collect::http::{Client, DEFAULT_MAX_BODY, HttpError, Limits};
use serde_json::json;

fn limits(budget: Duration) -> Limits {
    Limits {
        user_agent: "replyrank/test (+mailto:test@example.org)".into(),
        concurrency: 4,
        requests_per_second: 1000.0,
        max_retries: 3,
        backoff: Duration::from_millis(10),
        timeout: Duration::from_millis(300),
        deadline: Instant::now() + budget,
        max_body: DEFAULT_MAX_BODY,
    }
}

/// A server whose first `fails` answers come from `bad`, then `{"ok": true}`.
fn flaky(fails: usize, bad: impl Fn() -> Reply + Send + Sync + 'static) -> Server {
    let n = Arc::new(AtomicUsize::new(0));
    Server::start(move |_| {
        if n.fetch_add(1, Ordering::SeqCst) < fails {
            bad()
        } else {
            Reply::json(&json!({"ok": true, "unknown_field": [1, 2]}))
        }
    })
}

#[derive(serde::Deserialize, Debug)]
struct Ok {
    ok: bool,
    /// Missing from every answer: optional fields may be absent.
    missing: Option<String>,
}

fn get(server: &Server, limits: Limits) -> Result<Ok, HttpError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::new(limits).unwrap();
    let url = reqwest::Url::parse(&format!("{}/xrpc/thing?a=1", server.url)).unwrap();
    rt.block_on(client.get_json::<Ok>(url, None))
        .map(|r| r.body)
}

#[test]
fn retries_a_500_then_succeeds() {
    let s = flaky(1, || Reply::status(500, b"oops".to_vec()));
    let body = get(&s, limits(Duration::from_secs(10))).unwrap();
    assert!(body.ok);
    assert_eq!(body.missing, None);
    assert_eq!(s.count.load(Ordering::SeqCst), 2);
    let ua = s.requests.lock().unwrap()[0]
        .header("user-agent")
        .unwrap()
        .to_string();
    assert_eq!(ua, "replyrank/test (+mailto:test@example.org)");
}

#[test]
fn waits_for_retry_after_on_429() {
    let s = flaky(1, || {
        Reply::status(429, br#"{"error":"RateLimitExceeded"}"#.to_vec()).header("retry-after", "1")
    });
    let start = Instant::now();
    assert!(get(&s, limits(Duration::from_secs(10))).unwrap().ok);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[test]
fn retry_after_beyond_the_budget_stops_cleanly() {
    let s = flaky(1, || Reply::status(429, vec![]).header("retry-after", "30"));
    let start = Instant::now();
    let err = get(&s, limits(Duration::from_secs(2))).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1), "did not wait");
    // Waiting past the deadline would be pointless: a clean budget stop, resumed next run.
    assert!(matches!(err, HttpError::Budget), "{err}");
    assert_eq!(s.count.load(Ordering::SeqCst), 1);
}

#[test]
fn a_timeout_is_retried() {
    let s = flaky(1, || Reply {
        delay: Duration::from_millis(800),
        ..Reply::json(&json!({"ok": true}))
    });
    assert!(get(&s, limits(Duration::from_secs(10))).unwrap().ok);
    assert_eq!(s.count.load(Ordering::SeqCst), 2);
}

#[test]
fn a_cut_off_body_is_retried() {
    let s = flaky(2, || Reply {
        cut: true,
        ..Reply::json(&json!({"ok": true, "padding": "x".repeat(1000)}))
    });
    assert!(get(&s, limits(Duration::from_secs(10))).unwrap().ok);
    assert_eq!(s.count.load(Ordering::SeqCst), 3);
}

#[test]
fn truncated_json_fails_with_the_url_after_bounded_retries() {
    let s = Server::start(|_| Reply::status(200, br#"{"ok": tr"#.to_vec()));
    let err = get(&s, limits(Duration::from_secs(10))).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HttpError::Body { tries: 4, .. }), "{msg}");
    assert!(msg.contains("/xrpc/thing?a=1"), "{msg}");
    assert!(msg.contains("after 4 tries"), "{msg}");
    assert_eq!(s.count.load(Ordering::SeqCst), 4);
}

#[test]
fn whole_json_of_another_shape_is_not_retried() {
    // X answers HTTP 200 with only `errors` for an account it does not know: asking again gets
    // the same answer, so it is not asked 5 times (it was reported as "the API changed").
    let s = Server::start(|_| {
        Reply::json(&json!({"errors": [{"title": "Not Found Error", "type":
            "https://api.twitter.com/2/problems/resource-not-found"}]}))
    });
    let err = get(&s, limits(Duration::from_secs(10))).unwrap_err();
    assert!(matches!(err, HttpError::Body { tries: 1, .. }), "{err}");
    assert_eq!(s.count.load(Ordering::SeqCst), 1);
}

#[test]
fn client_errors_are_not_retried_and_name_the_api_error() {
    let s = Server::start(|_| {
        Reply::status(
            400,
            br#"{"error":"InvalidRequest","message":"Profile not found"}"#.to_vec(),
        )
    });
    let err = get(&s, limits(Duration::from_secs(10))).unwrap_err();
    assert_eq!(s.count.load(Ordering::SeqCst), 1);
    assert!(
        err.to_string().contains("HTTP 400: Profile not found"),
        "{err}"
    );
}

#[test]
fn remaining_zero_pauses_the_host_until_the_reset() {
    let s = Server::start(|_| {
        Reply::json(&json!({"ok": true}))
            .header("ratelimit-remaining", "0")
            .header("ratelimit-reset", "1")
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Client::new(limits(Duration::from_secs(10))).unwrap();
    let url = reqwest::Url::parse(&format!("{}/a", s.url)).unwrap();
    let start = Instant::now();
    rt.block_on(async {
        client.get_json::<Ok>(url.clone(), None).await.unwrap();
        client.get_json::<Ok>(url, None).await.unwrap();
    });
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn paces_requests_per_host() {
    let s = Server::start(|_| Reply::json(&json!({"ok": true})));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = Client::new(Limits {
        requests_per_second: 20.0,
        ..limits(Duration::from_secs(10))
    })
    .unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..10 {
            let c = client.clone();
            let url = reqwest::Url::parse(&format!("{}/p{i}", s.url)).unwrap();
            set.spawn(async move { c.get_json::<Ok>(url, None).await.unwrap() });
        }
        while set.join_next().await.is_some() {}
    });
    // 10 requests at 20/s: the last starts 450 ms after the first.
    assert!(
        start.elapsed() >= Duration::from_millis(440),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(client.traffic().requests, 10);
}

#[test]
fn nothing_is_sent_after_the_deadline() {
    let s = Server::start(|_| Reply::json(&json!({"ok": true})));
    let err = get(&s, limits(Duration::ZERO)).unwrap_err();
    assert!(matches!(err, HttpError::Budget));
    assert_eq!(s.count.load(Ordering::SeqCst), 0);
}
