//! The one HTTP client of replyrank: every request `collect` makes goes through [`Client`].
//!
//! Politeness, per host (`host:port`):
//! - at most [`Limits::concurrency`] requests in flight;
//! - a token bucket of [`Limits::requests_per_second`] (burst of one: requests are paced, not
//!   bunched, at [`PACE_SHARE`] of the rate), slowed down further when the server says how
//!   much is left: `RateLimit-Remaining` / `RateLimit-Reset` (IETF draft, Bluesky),
//!   `X-RateLimit-*` (Mastodon), `X-Rate-Limit-*` (X).
//!   `Remaining: 0` pauses the host until the reset; otherwise the pace becomes at most
//!   remaining ÷ seconds to the reset;
//! - `Retry-After` (seconds or an HTTP date) on a 429 or 503 pauses the whole host;
//! - 429, 5xx, timeouts, broken connections and cut-off bodies are retried at most
//!   [`Limits::max_retries`] times with exponential backoff and jitter;
//! - nothing is sent after the run's deadline (its time budget): [`HttpError::Budget`]; waiting
//!   for a slot, a request in flight (its timeout is clamped to the time left) and backoff sleeps
//!   all end at the deadline, so a slow server cannot stretch a run past its budget;
//! - a response body is read at most [`Limits::max_body`] bytes after decompression (a small gzip
//!   body can expand a thousandfold): beyond that the request fails ([`HttpError::TooLarge`]).
//!
//! Secrets (bearer tokens) travel in headers only, never in URLs, so no URL can show one; every
//! error text goes through the run's [`Redactor`] before it is cut short or shown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::redact::Redactor;

/// Limits and timings of a run's HTTP traffic.
#[derive(Clone, Debug)]
pub struct Limits {
    pub user_agent: String,
    /// Requests in flight per host.
    pub concurrency: usize,
    /// Pace per host, before the server's own headers slow it further.
    pub requests_per_second: f64,
    /// Retries after the first attempt, for 429, 5xx, timeouts and broken bodies.
    pub max_retries: u32,
    /// First backoff; doubles with each retry (full jitter), capped at 60 s.
    pub backoff: Duration,
    /// Whole-request timeout (connect, headers and body).
    pub timeout: Duration,
    /// Nothing is sent at or after this instant.
    pub deadline: Instant,
    /// Largest response body read, in bytes after decompression.
    pub max_body: usize,
}

/// The share of a host's allowed rate the client paces at: a little under it, so that the
/// jitter of requests on their way does not make a server counting a sliding second see one
/// request too many (each such refusal costs the host its `Retry-After`).
pub const PACE_SHARE: f64 = 0.97;

impl Limits {
    /// Seconds between two requests to a host, before the server's own headers slow it.
    fn interval(&self) -> f64 {
        1.0 / (self.requests_per_second.max(0.001) * PACE_SHARE)
    }
}

/// The default of [`Limits::max_body`]: 32 MiB, far above any page these APIs send.
pub const DEFAULT_MAX_BODY: usize = 32 << 20;

/// Why a request failed; callers branch on the kind (a budget stop is not a failure).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("the run's time budget is spent; the next run resumes from the saved cursors")]
    Budget,
    #[error("{url}: HTTP {status}{}: {detail}", retried(*.tries))]
    Status {
        url: String,
        status: u16,
        /// The API's own error name when it gives one (`ExpiredToken`, `InvalidRequest`…).
        error: Option<String>,
        detail: String,
        tries: u32,
    },
    #[error("{url}: {detail}{}; check the network or the base_url in replyrank.toml", retried(*.tries))]
    Transport {
        url: String,
        detail: String,
        tries: u32,
    },
    #[error("{url}: the response body is larger than {} after decompression; the request is not retried (raise [collect] max_body_mib if this API really sends that much)", size(*.limit))]
    TooLarge { url: String, limit: usize },
    #[error("{url}: the response is not the JSON expected ({detail}){}; if the API changed, report it", retried(*.tries))]
    Body {
        url: String,
        detail: String,
        tries: u32,
    },
}

/// A byte count as `N MiB` when it is a whole number of MiB.
fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

fn retried(tries: u32) -> String {
    if tries > 1 {
        format!(" (after {tries} tries)")
    } else {
        String::new()
    }
}

impl HttpError {
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A successful response: its JSON body and headers.
pub struct Response<T> {
    pub body: T,
    pub headers: HeaderMap,
}

/// Counters of a run's traffic, for the report and the benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// HTTP exchanges (every attempt that reached a server or timed out).
    pub requests: u64,
    pub retries: u64,
    /// Responses with status 429.
    pub throttled: u64,
}

struct Host {
    in_flight: Semaphore,
    pace: Mutex<Pace>,
}

struct Pace {
    /// Seconds between requests now (1 / requests per second, or slower if the server says so).
    interval: f64,
    /// Earliest instant the next request may start.
    next: Instant,
}

/// The shared client of a run. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: reqwest::Client,
    limits: Arc<Limits>,
    hosts: Arc<Mutex<HashMap<String, Arc<Host>>>>,
    traffic: Arc<Mutex<Traffic>>,
    redactor: Redactor,
}

/// Installs the ring TLS provider once per process (rustls needs one before the first client).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Client {
    pub fn new(limits: Limits) -> Result<Client, HttpError> {
        install_tls_provider();
        let inner = reqwest::Client::builder()
            .user_agent(&limits.user_agent)
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout)
            .gzip(true)
            .build()
            .map_err(|e| HttpError::Transport {
                url: String::new(),
                detail: format!("cannot start the HTTP client: {e}"),
                tries: 0,
            })?;
        Ok(Client {
            inner,
            limits: Arc::new(limits),
            hosts: Arc::default(),
            traffic: Arc::default(),
            redactor: Redactor::default(),
        })
    }

    /// Blanks the secrets of `redactor` in every error text of this client.
    pub fn redacting(mut self, redactor: Redactor) -> Client {
        self.redactor = redactor;
        self
    }

    pub fn traffic(&self) -> Traffic {
        *self.traffic.lock().expect("not poisoned")
    }

    fn host(&self, url: &reqwest::Url) -> Arc<Host> {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let mut hosts = self.hosts.lock().expect("not poisoned");
        hosts
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Host {
                    in_flight: Semaphore::new(self.limits.concurrency.max(1)),
                    pace: Mutex::new(Pace {
                        interval: self.limits.interval(),
                        next: Instant::now(),
                    }),
                })
            })
            .clone()
    }

    /// Sleeps until `until`, or fails at once if that is past the deadline.
    async fn sleep_until(&self, until: Instant) -> Result<(), HttpError> {
        if until >= self.limits.deadline {
            return Err(HttpError::Budget);
        }
        tokio::time::sleep_until(until.into()).await;
        Ok(())
    }

    /// Takes this host's next request slot (token bucket with a burst of one).
    async fn pace(&self, host: &Host) -> Result<(), HttpError> {
        let start = {
            let mut pace = host.pace.lock().expect("not poisoned");
            let now = Instant::now();
            let start = pace.next.max(now);
            pace.next = start + Duration::from_secs_f64(pace.interval);
            start
        };
        self.sleep_until(start).await
    }

    /// GET `url` and parse its JSON body as `T`. `bearer` is sent as `Authorization: Bearer`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: reqwest::Url,
        bearer: Option<&str>,
    ) -> Result<Response<T>, HttpError> {
        self.send_json(reqwest::Method::GET, url, bearer, None)
            .await
    }

    /// POST without a body to `url` (an XRPC procedure that takes no input, such as Bluesky's
    /// `refreshSession`: a body, even `null`, is rejected) and parse the JSON answer.
    pub async fn post_empty<T: DeserializeOwned>(
        &self,
        url: reqwest::Url,
        bearer: Option<&str>,
    ) -> Result<Response<T>, HttpError> {
        self.send_json(reqwest::Method::POST, url, bearer, None)
            .await
    }

    /// GET `url` and return its body as bytes (a binary download, such as a zstd dictionary).
    pub async fn get_bytes(&self, url: reqwest::Url) -> Result<Response<Vec<u8>>, HttpError> {
        self.send(reqwest::Method::GET, url, None, None, |b| Ok(b.to_vec()))
            .await
    }

    /// POST a JSON body to `url` and parse the JSON answer.
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        url: reqwest::Url,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<Response<T>, HttpError> {
        self.send_json(reqwest::Method::POST, url, bearer, Some(body))
            .await
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        bearer: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<Response<T>, HttpError> {
        let parse = |b: &[u8]| serde_json::from_slice::<T>(b).map_err(|e| e.to_string());
        self.send(method, url, bearer, body, parse).await
    }

    async fn send<T>(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        bearer: Option<&str>,
        body: Option<&serde_json::Value>,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<Response<T>, HttpError> {
        let host = self.host(&url);
        let shown = url.to_string();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            self.time_left()?;
            self.pace(&host).await?;
            let (outcome, clamped) = {
                let _slot =
                    tokio::time::timeout_at(self.limits.deadline.into(), host.in_flight.acquire())
                        .await
                        .map_err(|_| HttpError::Budget)?
                        .expect("never closed");
                // A request in flight ends at the deadline at the latest.
                let left = self.time_left()?;
                let clamped = left < self.limits.timeout;
                let mut req = self
                    .inner
                    .request(method.clone(), url.clone())
                    .timeout(self.limits.timeout.min(left));
                if let Some(token) = bearer {
                    req = req.bearer_auth(token);
                }
                if let Some(b) = body {
                    req = req.json(b);
                }
                self.count(|t| t.requests += 1);
                let outcome = match req.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let headers = resp.headers().clone();
                        let bytes = match self.read_body(resp).await {
                            Ok(b) => Ok(b),
                            Err(Body::TooLarge) => {
                                return Err(HttpError::TooLarge {
                                    url: shown,
                                    limit: self.limits.max_body,
                                });
                            }
                            Err(Body::Cut(e)) => Err(e),
                        };
                        Ok((status, headers, bytes))
                    }
                    Err(e) => Err(e),
                };
                (outcome, clamped)
            };
            // A timeout cut short by the deadline is the budget's end, not the server's fault.
            let deadline_hit = |e: &reqwest::Error| clamped && e.is_timeout();
            let retry_in: Duration;
            let failure: HttpError;
            match outcome {
                Ok((status, headers, bytes)) => {
                    self.obey_rate_headers(&host, &headers);
                    match (status, bytes) {
                        (200..=299, Ok(bytes)) => match parse(&bytes) {
                            Ok(body) => return Ok(Response { body, headers }),
                            Err(e) => {
                                failure = HttpError::Body {
                                    url: shown.clone(),
                                    detail: self.redactor.redact(&e),
                                    tries: attempt,
                                };
                                // Whole JSON of another shape is the server's answer, not a
                                // glitch: asking again gets the same. Only garbage is retried.
                                if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok() {
                                    return Err(failure);
                                }
                                retry_in = self.backoff(attempt);
                            }
                        },
                        (_, Err(e)) if deadline_hit(&e) => return Err(HttpError::Budget),
                        (_, Err(e)) => {
                            failure = HttpError::Transport {
                                url: shown.clone(),
                                detail: format!(
                                    "the response body was cut off ({})",
                                    self.redactor.redact(&short(e))
                                ),
                                tries: attempt,
                            };
                            retry_in = self.backoff(attempt);
                        }
                        (status, Ok(bytes)) => {
                            // Secrets are blanked in the whole body, before it is cut short.
                            let text = self.redactor.redact(&String::from_utf8_lossy(&bytes));
                            let (error, detail) = api_error(text.as_bytes());
                            let retryable = status == 429 || status >= 500;
                            failure = HttpError::Status {
                                url: shown.clone(),
                                status,
                                error,
                                detail,
                                tries: attempt,
                            };
                            if !retryable {
                                return Err(failure);
                            }
                            if status == 429 {
                                self.count(|t| t.throttled += 1);
                            }
                            match retry_after(&headers) {
                                Some(wait) if status == 429 || status == 503 => {
                                    // The server's word holds for the whole host.
                                    let until = Instant::now() + wait;
                                    let mut pace = host.pace.lock().expect("not poisoned");
                                    pace.next = pace.next.max(until);
                                    retry_in = Duration::ZERO;
                                }
                                _ => retry_in = self.backoff(attempt),
                            }
                        }
                    }
                }
                Err(e) if deadline_hit(&e) => return Err(HttpError::Budget),
                Err(e) => {
                    failure = HttpError::Transport {
                        url: shown.clone(),
                        detail: if e.is_timeout() {
                            format!("timed out after {:?}", self.limits.timeout)
                        } else {
                            self.redactor.redact(&short(e))
                        },
                        tries: attempt,
                    };
                    retry_in = self.backoff(attempt);
                }
            }
            if attempt > self.limits.max_retries {
                return Err(failure);
            }
            self.count(|t| t.retries += 1);
            self.sleep_until(Instant::now() + retry_in)
                .await
                .map_err(|_| failure)?;
        }
    }

    /// The time left before the deadline, or a budget stop when none is.
    fn time_left(&self) -> Result<Duration, HttpError> {
        let left = self
            .limits
            .deadline
            .saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HttpError::Budget);
        }
        Ok(left)
    }

    /// Reads a response body, decompressed, up to [`Limits::max_body`] bytes.
    async fn read_body(&self, mut resp: reqwest::Response) -> Result<Vec<u8>, Body> {
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(Body::Cut)? {
            if out.len() + chunk.len() > self.limits.max_body {
                return Err(Body::TooLarge);
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    fn count(&self, f: impl FnOnce(&mut Traffic)) {
        f(&mut self.traffic.lock().expect("not poisoned"));
    }

    /// Exponential backoff with jitter: uniform between half and all of base × 2^(attempt-1),
    /// at most 60 s, so clients that failed together do not retry together.
    fn backoff(&self, attempt: u32) -> Duration {
        use rand::{Rng, SeedableRng};
        let cap = (self.limits.backoff.as_secs_f64() * 2f64.powi(attempt as i32 - 1)).min(60.0);
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed ^ u64::from(attempt));
        Duration::from_secs_f64(rng.random_range(cap * 0.5..=cap.max(0.000_001)))
    }

    /// Applies the server's view of what is left to this host's pace.
    fn obey_rate_headers(&self, host: &Host, headers: &HeaderMap) {
        let Some((remaining, reset)) = rate_headers(headers) else {
            return;
        };
        let configured = self.limits.interval();
        let mut pace = host.pace.lock().expect("not poisoned");
        if remaining == 0 {
            pace.next = pace.next.max(Instant::now() + reset);
            pace.interval = configured;
        } else {
            let server = reset.as_secs_f64() / remaining as f64;
            pace.interval = configured.max(server);
        }
    }
}

/// Why a body could not be read whole.
enum Body {
    Cut(reqwest::Error),
    TooLarge,
}

/// An error's message and causes, without the URL reqwest adds (we name the URL ourselves).
fn short(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(inner) = src {
        s = format!("{s}: {inner}");
        src = inner.source();
    }
    s
}

/// An API's error body: `{"error": "...", "message": "..."}` (Bluesky, Mastodon) or
/// `{"title", "detail"}` (X); else the start of the body.
pub(super) fn api_error(bytes: &[u8]) -> (Option<String>, String) {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct E {
        error: Option<serde_json::Value>,
        message: Option<String>,
        error_description: Option<String>,
        title: Option<String>,
        detail: Option<String>,
    }
    let e: E = serde_json::from_slice(bytes).unwrap_or_default();
    let name = match &e.error {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        _ => e.title.clone(),
    };
    let detail = e
        .message
        .or(e.error_description)
        .or(e.detail)
        .or_else(|| name.clone())
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(bytes);
            text.chars()
                .take(200)
                .collect::<String>()
                .trim()
                .to_string()
        });
    (name, detail)
}

/// `Retry-After`: delay-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(s) = v.parse::<f64>() {
        return Some(Duration::from_secs_f64(s.clamp(0.0, 86_400.0)));
    }
    let t = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let delta = t.as_second() - jiff::Timestamp::now().as_second();
    Some(Duration::from_secs(delta.clamp(0, 86_400) as u64))
}

/// Remaining requests and time to the reset, from whichever family of headers is present.
pub fn rate_headers(headers: &HeaderMap) -> Option<(u64, Duration)> {
    for prefix in ["ratelimit-", "x-ratelimit-", "x-rate-limit-"] {
        let get = |k: &str| {
            headers
                .get(format!("{prefix}{k}"))
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let (Some(remaining), Some(reset)) = (get("remaining"), get("reset")) else {
            continue;
        };
        let Ok(remaining) = remaining.parse::<u64>() else {
            continue;
        };
        let Some(reset) = reset_delay(reset) else {
            continue;
        };
        return Some((remaining, reset));
    }
    None
}

/// A reset given as delta seconds (IETF draft), Unix seconds (Bluesky, X) or RFC 3339 (Mastodon).
fn reset_delay(v: &str) -> Option<Duration> {
    let now = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
    let secs = if let Ok(n) = v.parse::<f64>() {
        if n > 1_000_000_000.0 { n - now } else { n }
    } else {
        let t: jiff::Timestamp = v.parse().ok()?;
        t.as_millisecond() as f64 / 1000.0 - now
    };
    // A reset more than an hour away is more likely a clock problem than a real window.
    Some(Duration::from_secs_f64(secs.clamp(0.0, 3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_each_family_of_rate_headers() {
        let now = jiff::Timestamp::now().as_second();
        let bsky = headers(&[
            ("ratelimit-remaining", "2994".into()),
            ("ratelimit-reset", (now + 100).to_string()),
        ]);
        let (r, d) = rate_headers(&bsky).unwrap();
        assert_eq!(r, 2994);
        assert!((98..=100).contains(&d.as_secs()), "{d:?}");
        let ietf = headers(&[
            ("ratelimit-remaining", "0".into()),
            ("ratelimit-reset", "7".into()),
        ]);
        assert_eq!(rate_headers(&ietf).unwrap(), (0, Duration::from_secs(7)));
        let masto_reset = jiff::Timestamp::from_second(now + 60).unwrap().to_string();
        let masto = headers(&[
            ("x-ratelimit-remaining", "293".into()),
            ("x-ratelimit-reset", masto_reset),
        ]);
        let (r, d) = rate_headers(&masto).unwrap();
        assert_eq!(r, 293);
        assert!((58..=60).contains(&d.as_secs()), "{d:?}");
        let x = headers(&[
            ("x-rate-limit-remaining", "449".into()),
            ("x-rate-limit-reset", (now + 30).to_string()),
        ]);
        assert_eq!(rate_headers(&x).unwrap().0, 449);
        assert!(rate_headers(&HeaderMap::new()).is_none());
    }

    #[test]
    fn retry_after_seconds_or_date() {
        let h = headers(&[("retry-after", "3".into())]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        let in_a_minute = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60);
        let date = in_a_minute
            .strftime("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let d = retry_after(&headers(&[("retry-after", date)])).unwrap();
        assert!((58..=60).contains(&d.as_secs()), "{d:?}");
    }

    #[test]
    fn api_errors_are_named() {
        let (name, detail) =
            api_error(br#"{"error":"ExpiredToken","message":"Token has expired"}"#);
        assert_eq!(name.as_deref(), Some("ExpiredToken"));
        assert_eq!(detail, "Token has expired");
        let (name, detail) = api_error(b"<html>Bad gateway</html>");
        assert_eq!(name, None);
        assert_eq!(detail, "<html>Bad gateway</html>");
    }
}
