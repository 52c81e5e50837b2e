//! `collect`: fetches the public posts around each brand's accounts from Bluesky, Mastodon and X
//! into the store. The only code in replyrank that talks to the network.
//!
//! A run: for every (source, brand account) in the registry (filtered by `--brand` and
//! `--source`), one task walks the account's new posts newest-first, fetches what they answer
//! and the replies under them, and hands each page to the writer. The writer appends the posts
//! to the store, syncs them, and only then saves the account's cursor ([`cursor`]). Tasks run
//! concurrently; the HTTP client ([`http`]) keeps each host within its limits.
//!
//! A source whose secret is missing is skipped with one line (X always needs its token). A run
//! stops cleanly at its time budget or at X's post budget; the next run resumes from the
//! cursors. Secrets come from the environment only ([`Secrets::from_env`]) and are sent in
//! headers only.

pub mod bluesky;
pub mod cursor;
pub mod http;
pub mod mastodon;
pub mod x;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::config::Config;
use crate::post::Post;
use crate::registry::Registry;
use crate::root::SiteRoot;
use crate::store::{Appender, Store};
use cursor::{AccountCursor, Cursors};
use http::{Client, HttpError, Limits};

/// The sources `collect` knows, in the order they are reported.
pub const SOURCES: [&str; 3] = ["bluesky", "mastodon", "x"];

/// A secret from the environment. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The run's credentials, all optional.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    /// `REPLYRANK_BLUESKY_HANDLE` and `REPLYRANK_BLUESKY_APP_PASSWORD`: enables mention search.
    pub bluesky: Option<(String, Secret)>,
    /// `REPLYRANK_X_BEARER_TOKEN`: the X source runs only with it.
    pub x_bearer: Option<Secret>,
}

impl Secrets {
    pub fn from_env() -> Secrets {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Secrets {
            bluesky: var("REPLYRANK_BLUESKY_HANDLE")
                .zip(var("REPLYRANK_BLUESKY_APP_PASSWORD"))
                .map(|(h, p)| (h, Secret(p))),
            x_bearer: var("REPLYRANK_X_BEARER_TOKEN").map(Secret),
        }
    }

    /// Every secret value, to scrub from anything shown.
    fn values(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some((_, p)) = &self.bluesky {
            v.push(p.0.clone());
        }
        if let Some(t) = &self.x_bearer {
            v.push(t.0.clone());
        }
        v
    }
}

/// What to collect.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Brand ids; empty: all.
    pub brands: Vec<String>,
    /// Source names; empty: all.
    pub sources: Vec<String>,
    /// Oldest post to fetch, overriding the cursors (a backfill); default: from each account's
    /// cursor, or the ranking window for an account never collected.
    pub since: Option<i64>,
    pub secrets: Secrets,
    /// Progress bar (on a terminal) rather than log lines.
    pub progress: bool,
}

/// How one account's collection ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Done,
    /// Stopped cleanly (time budget, X post budget): the next run goes on.
    Stopped(String),
    Failed(String),
}

#[derive(Clone, Debug)]
pub struct AccountReport {
    pub source: &'static str,
    pub account: String,
    pub brand: String,
    pub new_posts: usize,
    pub outcome: Outcome,
}

#[derive(Debug, Default)]
pub struct Report {
    pub accounts: Vec<AccountReport>,
    /// Sources skipped, with the reason (one line each).
    pub skipped: Vec<String>,
    pub traffic: http::Traffic,
    pub elapsed: Duration,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.accounts
            .iter()
            .filter(|a| matches!(a.outcome, Outcome::Failed(_)))
            .count()
    }
    pub fn new_posts(&self) -> usize {
        self.accounts.iter().map(|a| a.new_posts).sum()
    }
}

/// One page of posts and the cursor that covers them, for the writer.
struct Commit {
    source: &'static str,
    account: String,
    posts: Vec<Post<'static>>,
    cursor: AccountCursor,
    done: tokio::sync::oneshot::Sender<Result<usize, String>>,
}

/// What every collector task shares.
pub struct Ctx {
    pub registry: Registry,
    pub config: Config,
    pub now: i64,
    /// Oldest post time of the ranking window: threads older than this are no longer re-checked.
    pub window_floor: i64,
    pub since: Option<i64>,
    pub secrets: Secrets,
    clients: BTreeMap<&'static str, Client>,
    writer: tokio::sync::mpsc::UnboundedSender<Commit>,
    /// X posts read so far this run (its pay-per-use budget).
    pub x_used: AtomicU64,
    pub bluesky_session: tokio::sync::Mutex<bluesky::SessionState>,
    log: Log,
}

impl Ctx {
    pub fn client(&self, source: &str) -> &Client {
        &self.clients[source]
    }

    /// The oldest post to fetch for a feed whose last complete walk ended at `newest`.
    pub fn floor(&self, newest: Option<i64>) -> i64 {
        match (self.since, newest) {
            (Some(s), _) => s,
            (None, Some(n)) => n,
            (None, None) => self.window_floor,
        }
    }

    /// The configured base URL of a source, or its default.
    pub fn base_url(&self, source: &str, default: &str) -> Result<reqwest::Url, String> {
        let s = self
            .config
            .sources
            .get(source)
            .and_then(|c| c.base_url.clone())
            .unwrap_or_else(|| default.to_string());
        parse_base(&s).map_err(|e| format!("[sources.{source}] base_url {s:?}: {e}"))
    }

    /// Bluesky's login and search server: `[sources.bluesky] auth_url`, or bsky.social.
    pub fn auth_url(&self) -> Result<reqwest::Url, String> {
        let s = self
            .config
            .sources
            .get("bluesky")
            .and_then(|c| c.auth_url.clone())
            .unwrap_or_else(|| bluesky::DEFAULT_AUTH.to_string());
        parse_base(&s).map_err(|e| format!("[sources.bluesky] auth_url {s:?}: {e}"))
    }

    /// Appends `posts` to the store, syncs them, then saves `cursor`; returns how many were new.
    pub async fn commit(
        &self,
        source: &'static str,
        account: &str,
        posts: Vec<Post<'static>>,
        cursor: &AccountCursor,
    ) -> Result<usize, String> {
        let (done, wait) = tokio::sync::oneshot::channel();
        self.writer
            .send(Commit {
                source,
                account: account.to_string(),
                posts,
                cursor: cursor.clone(),
                done,
            })
            .map_err(|_| "the store writer stopped".to_string())?;
        wait.await
            .map_err(|_| "the store writer stopped".to_string())?
    }

    pub fn log(&self, line: String) {
        self.log.line(&line);
    }
}

/// Parses a base URL, making sure it ends with `/` so joins keep its path.
pub fn parse_base(s: &str) -> Result<reqwest::Url, String> {
    let mut s = s.trim().to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    let url = reqwest::Url::parse(&s).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    Ok(url)
}

/// Progress: a bar on a terminal, plain lines otherwise.
struct Log {
    bar: Option<indicatif::ProgressBar>,
    scrub: Vec<String>,
}

impl Log {
    fn line(&self, s: &str) {
        let mut s = s.to_string();
        for secret in &self.scrub {
            s = s.replace(secret.as_str(), "[secret]");
        }
        match &self.bar {
            Some(bar) => bar.println(s),
            None => eprintln!("{s}"),
        }
    }
    fn tick(&self, msg: String) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(msg);
        }
    }
}

/// The HTTP limits of a source, from `[collect]` and `[sources.NAME]`.
fn limits(config: &Config, source: &str, deadline: Instant) -> Limits {
    let c = &config.collect;
    let rps = config
        .sources
        .get(source)
        .and_then(|s| s.requests_per_second)
        .unwrap_or(match source {
            "bluesky" => 5.0,
            _ => 1.0,
        });
    let contact = c.contact.as_deref().unwrap_or("no contact configured");
    Limits {
        user_agent: format!("replyrank/{} (+{contact})", env!("CARGO_PKG_VERSION")),
        concurrency: c.concurrency_per_host,
        requests_per_second: rps,
        max_retries: c.max_retries,
        backoff: Duration::from_millis(c.backoff_ms),
        timeout: Duration::from_millis(c.timeout_ms),
        deadline,
    }
}

/// Collects into the store of `root`. Everything fetched is stored even when some accounts fail;
/// the report says which.
pub fn run(root: &SiteRoot, opts: Options) -> Result<Report> {
    let started = Instant::now();
    let config = Config::load(root)?;
    let registry = Registry::load(root)?;
    for b in &opts.brands {
        if registry.by_id(b).is_none() {
            anyhow::bail!(
                "--brand {b}: no brand with this id in {}",
                crate::root::REGISTRY
            );
        }
    }
    for s in &opts.sources {
        if !SOURCES.contains(&s.as_str()) {
            anyhow::bail!("--source {s}: collect knows {}", SOURCES.join(", "));
        }
    }
    let store = Store::open_for_writing(root)?;
    for n in &store.notices {
        eprintln!("warning: {n}");
    }
    let cursors = Cursors::load(root)?;
    let deadline = started + Duration::from_secs(config.collect.time_budget_s);
    let now = jiff::Timestamp::now().as_second();
    let window_floor = now - i64::from(config.ranking.window_days) * crate::time::DAY;

    // The work list: (source, brand, account), skipping sources without their secret.
    let wanted = |s: &str| opts.sources.is_empty() || opts.sources.iter().any(|x| x == s);
    let mut report = Report::default();
    let mut jobs: Vec<(&'static str, usize, String)> = Vec::new();
    for source in SOURCES {
        if !wanted(source) {
            continue;
        }
        if source == "x" && opts.secrets.x_bearer.is_none() {
            report.skipped.push(
                "x: skipped: set REPLYRANK_X_BEARER_TOKEN to collect from X (pay-per-use; \
                 see [sources.x] max_posts_per_run)"
                    .into(),
            );
            continue;
        }
        let network = crate::source::network(source);
        for (i, b) in registry.brands.iter().enumerate() {
            if !opts.brands.is_empty() && !opts.brands.contains(&b.id) {
                continue;
            }
            for account in b.accounts.on(network) {
                jobs.push((source, i, account.clone()));
            }
        }
    }
    if wanted("bluesky") && opts.secrets.bluesky.is_none() {
        report.skipped.push(
            "bluesky: no REPLYRANK_BLUESKY_HANDLE / REPLYRANK_BLUESKY_APP_PASSWORD: collecting \
             thread-scoped (replies under brand posts and posts the brand answered; unanswered \
             standalone mentions need search, which needs a login)"
                .into(),
        );
    }

    let bar = (opts.progress && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(jobs.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} accounts {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar
    });
    let log = Log {
        bar,
        scrub: opts.secrets.values(),
    };
    for s in &report.skipped {
        log.line(s);
    }

    let mut clients = BTreeMap::new();
    for source in SOURCES {
        clients.insert(
            source,
            Client::new(limits(&config, source, deadline)).map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Commit>();
    let writer = spawn_writer(root.clone(), store, cursors, rx);
    let searched_bluesky = opts.secrets.bluesky.is_some();
    let ctx = Arc::new(Ctx {
        registry,
        config,
        now,
        window_floor,
        since: opts.since,
        secrets: opts.secrets,
        clients,
        writer: tx,
        x_used: AtomicU64::new(0),
        bluesky_session: tokio::sync::Mutex::new(bluesky::SessionState::default()),
        log,
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let cursors_at_start = Cursors::load(root)?;
    let results = runtime.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (source, brand, account) in jobs {
            let ctx = ctx.clone();
            let cursor = cursors_at_start.get(source, &account);
            set.spawn(async move {
                let (new_posts, outcome) = match source {
                    "bluesky" => bluesky::collect(&ctx, brand, &account, cursor).await,
                    "mastodon" => mastodon::collect(&ctx, brand, &account, cursor).await,
                    _ => x::collect(&ctx, brand, &account, cursor).await,
                };
                let r = AccountReport {
                    source,
                    account,
                    brand: ctx.registry.brands[brand].id.clone(),
                    new_posts,
                    outcome,
                };
                let line = match &r.outcome {
                    Outcome::Done => {
                        format!("{} {}: {} new posts", r.source, r.account, r.new_posts)
                    }
                    Outcome::Stopped(why) => format!(
                        "{} {}: {} new posts; stopped: {why}",
                        r.source, r.account, r.new_posts
                    ),
                    Outcome::Failed(why) => format!(
                        "{} {}: {} new posts; error: {why}",
                        r.source, r.account, r.new_posts
                    ),
                };
                ctx.log(line);
                ctx.log.tick(format!("{} {}", r.source, r.account));
                r
            });
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.expect("a collector task does not panic"));
        }
        out
    });
    let ctx = Arc::into_inner(ctx).expect("all tasks are done");
    report.traffic = ctx.clients.values().fold(http::Traffic::default(), |a, c| {
        let t = c.traffic();
        http::Traffic {
            requests: a.requests + t.requests,
            retries: a.retries + t.retries,
            throttled: a.throttled + t.throttled,
        }
    });
    if let Some(bar) = &ctx.log.bar {
        bar.finish_and_clear();
    }
    drop(ctx);
    writer
        .join()
        .expect("the store writer does not panic")
        .context("the store writer failed")?;
    let mut accounts = results;
    accounts.sort_by(|a, b| (a.source, &a.account).cmp(&(b.source, &b.account)));
    report.accounts = accounts;
    if wanted("bluesky") {
        save_coverage(root, searched_bluesky)?;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Records what the Bluesky collection could see, for the leaderboard's coverage statement.
fn save_coverage(root: &SiteRoot, searched: bool) -> Result<()> {
    let path = root.collected_coverage();
    let mut map: BTreeMap<String, String> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    map.insert(
        "bluesky".into(),
        if searched {
            bluesky::COVERAGE_WITH_SEARCH
        } else {
            bluesky::COVERAGE_THREADS
        }
        .into(),
    );
    let mut json = serde_json::to_vec_pretty(&map)?;
    json.push(b'\n');
    cursor::write_atomically(&path, &json)
}

/// The writer thread: appends each group of pages to the store (synced), then saves the cursors.
fn spawn_writer(
    root: SiteRoot,
    store: Store,
    mut cursors: Cursors,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Commit>,
) -> std::thread::JoinHandle<Result<()>> {
    std::thread::spawn(move || -> Result<()> {
        // One appender for the run: it loads each source's stored ids once and de-duplicates.
        let mut appender = Appender::new(&store);
        while let Some(first) = rx.blocking_recv() {
            let mut group = vec![first];
            while let Ok(more) = rx.try_recv() {
                group.push(more);
            }
            let mut counts = Vec::with_capacity(group.len());
            let mut failure = None;
            for c in &mut group {
                let before = appender.count.imported;
                if let Err(e) = appender.push(std::mem::take(&mut c.posts)) {
                    failure = Some(format!("{e:#}"));
                    break;
                }
                counts.push(appender.count.imported - before);
            }
            if failure.is_none() {
                if let Err(e) = appender.sync() {
                    failure = Some(format!("{e:#}"));
                }
            }
            if failure.is_none() {
                for c in &group {
                    cursors.set(c.source, &c.account, c.cursor.clone());
                }
                if let Err(e) = cursors.save(&root) {
                    failure = Some(format!("{e:#}"));
                }
            }
            for (c, n) in group
                .into_iter()
                .zip(counts.into_iter().chain(std::iter::repeat(0)))
            {
                let _ = c.done.send(match &failure {
                    None => Ok(n),
                    Some(e) => Err(e.clone()),
                });
            }
            if let Some(e) = failure {
                anyhow::bail!(e);
            }
        }
        Ok(())
    })
}

/// Why a collector stopped an account early. What it committed before stays.
pub enum Stop {
    Http(HttpError),
    /// The X budget of posts per run is spent.
    Budget(u64),
    Other(String),
}

impl From<HttpError> for Stop {
    fn from(e: HttpError) -> Stop {
        Stop::Http(e)
    }
}

impl From<String> for Stop {
    fn from(e: String) -> Stop {
        Stop::Other(e)
    }
}

impl Stop {
    /// A budget stop is clean (the next run goes on); anything else fails the account.
    pub fn outcome(self) -> Outcome {
        match self {
            Stop::Http(e @ HttpError::Budget) => Outcome::Stopped(e.to_string()),
            Stop::Http(e) => Outcome::Failed(e.to_string()),
            Stop::Budget(n) => Outcome::Stopped(format!(
                "the X budget of {n} posts per run ([sources.x] max_posts_per_run) is spent; \
                 the next run goes on"
            )),
            Stop::Other(e) => Outcome::Failed(e),
        }
    }
}

/// The post time of an RFC 3339 string, or `None`.
pub fn time(s: &str) -> Option<i64> {
    crate::time::parse_rfc3339(s).ok()
}

/// Adds `n` to the X budget counter and returns the total.
pub fn add_x_used(ctx: &Ctx, n: u64) -> u64 {
    ctx.x_used.fetch_add(n, Ordering::SeqCst) + n
}
