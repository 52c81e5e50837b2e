//! `collect`: fetches the public posts around each brand's accounts from Bluesky, Mastodon and X
//! into the store. The only code in replyrank that talks to the network.
//!
//! A run ([`run`]): plan the work, one job per (collected source, brand account) in the registry
//! (filtered by `--brand` and `--source`; the sources are the rows of [`crate::source::BUILTIN`]
//! that name a collector); then one task per job drives that source's collector ([`Collect`]),
//! which walks the account's new posts newest-first, fetches what they answer and the replies
//! under them, and hands each page to the writer. The writer appends the posts to the store,
//! syncs them, and only then saves the account's cursor ([`cursor`]). Tasks run concurrently;
//! the HTTP client ([`http`]) keeps each host within its limits. Last, the run records what each
//! source could see in the collection state ([`CollectionState`]).
//!
//! A source whose required credentials are missing is skipped with one line (X needs its
//! token). A run stops cleanly at its time budget or at X's post budget; the next run resumes
//! from the cursors. Credentials come from the environment only ([`Secrets::from_env`]), are
//! sent in headers only, and every text shown goes through the run's [`redact::Redactor`].

pub mod bluesky;
pub mod cursor;
pub mod http;
pub mod jetstream;
pub mod mastodon;
pub mod redact;
pub mod x;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::config::Config;
use crate::corpus::StoredIds;
use crate::post::Post;
use crate::registry::Registry;
use crate::root::SiteRoot;
use crate::source::{BUILTIN, Collection, CollectionState, Collector, Source};
use crate::store::Store;
use crate::stores::Stores;
use cursor::{AccountCursor, Cursors};
use http::{Client, HttpError, Limits};
use redact::Redactor;

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

/// The run's credentials, by environment variable name (the sources table lists them).
#[derive(Clone, Debug, Default)]
pub struct Secrets(BTreeMap<&'static str, Secret>);

impl Secrets {
    /// Every credential the sources table names, from the environment (blank values are unset).
    pub fn from_env() -> Secrets {
        let mut s = Secrets::default();
        for var in BUILTIN
            .iter()
            .flat_map(|b| b.credentials().into_iter().flat_map(|c| c.vars))
        {
            if let Ok(v) = std::env::var(var.name)
                && !v.trim().is_empty()
            {
                s = s.with(var.name, v);
            }
        }
        s
    }

    /// These credentials with `var` set to `value`.
    pub fn with(mut self, var: &'static str, value: impl Into<String>) -> Secrets {
        self.0.insert(var, Secret(value.into()));
        self
    }

    pub fn get(&self, var: &str) -> Option<&Secret> {
        self.0.get(var)
    }

    /// Whether every credential `source` reads is set.
    pub fn present(&self, source: &Source) -> bool {
        source
            .credentials()
            .into_iter()
            .flat_map(|c| c.vars)
            .all(|v| self.0.contains_key(v.name))
    }

    /// Registers every secret value (not handles) with `redactor`.
    fn register(&self, redactor: &Redactor) {
        let secret = |var: &str| {
            BUILTIN
                .iter()
                .flat_map(|b| b.credentials().into_iter().flat_map(|c| c.vars))
                .any(|v| v.name == var && v.secret)
        };
        for (var, value) in &self.0 {
            if secret(var) {
                redactor.add(value.expose());
            }
        }
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
    /// The pseudonym key of the published store (`REPLYRANK_PSEUDONYM_KEY`): without it
    /// nothing is collected.
    pub key: Option<crate::publish::Pseudonymiser>,
    /// Progress bar (on a terminal) rather than log lines.
    pub progress: bool,
    /// The posts the store holds inside the ranking window, by source (network id, time): what
    /// the collectors re-check for deletions ([`Ctx::stored`]).
    pub stored: BTreeMap<&'static str, Vec<(String, i64)>>,
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
    /// Posts the networks said are deleted (source, network id): forgotten by the run.
    pub deleted: Vec<(&'static str, String)>,
    /// What forgetting them removed from the two stores.
    pub forgotten: crate::forget::Report,
    /// Private store partitions older than the window (plus a margin) deleted in this run.
    pub pruned: usize,
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
    /// Oldest post time of the ranking window: threads older than this are no longer re-checked.
    pub window_floor: i64,
    pub since: Option<i64>,
    pub secrets: Secrets,
    /// Blanks every secret, those from the environment and those obtained during the run.
    pub redactor: Redactor,
    clients: BTreeMap<&'static str, Client>,
    writer: tokio::sync::mpsc::UnboundedSender<Commit>,
    /// X's reads this run (its pay-per-use budget), shared fairly by the X accounts.
    pub x_budget: x::Budget,
    pub bluesky_session: tokio::sync::Mutex<bluesky::SessionState>,
    /// Posts the networks said are deleted this run, by source: forgotten at the end of the run
    /// (see `crate::forget`).
    deleted: std::sync::Mutex<Vec<(&'static str, String)>>,
    /// The posts the store holds inside the ranking window, by source (their network ids and
    /// times): what a collector re-checks for deletions.
    stored: BTreeMap<&'static str, Vec<(String, i64)>>,
    /// What a source could not see this run, added to its coverage statement.
    coverage_notes: std::sync::Mutex<Vec<(&'static str, String)>>,
    /// The run stops cleanly at this instant (its time budget).
    pub deadline: Instant,
    /// Bluesky mentions come from Jetstream this run (so search is not needed for them).
    pub jetstream: bool,
    /// Periods a source could not be read for, as its collector last knew them.
    gaps: std::sync::Mutex<BTreeMap<&'static str, Vec<crate::source::Gap>>>,
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
        let set = self.config.sources.get(source);
        url_setting(
            source,
            "base_url",
            set.and_then(|c| c.base_url.as_deref()),
            default,
        )
    }

    /// Appends `posts` to the store, syncs them, then saves `cursor`; returns how many were new.
    pub async fn commit(
        &self,
        source: &'static str,
        account: &str,
        mut posts: Vec<Post<'static>>,
        cursor: &AccountCursor,
    ) -> Result<usize, String> {
        crate::classify::annotate(&self.registry, &mut posts);
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
        self.log.line(&self.redactor.redact(&line));
    }

    /// Records that the network says post `id` of `source` no longer exists: it is forgotten
    /// from both stores at the end of the run, and never collected again.
    pub fn deleted(&self, source: &'static str, id: String) {
        self.deleted
            .lock()
            .expect("not poisoned")
            .push((source, id));
    }

    /// Adds `note` (what the source could not see this run) to the coverage statement of
    /// `source` that the run records.
    pub fn coverage_note(&self, source: &'static str, note: String) {
        self.coverage_notes
            .lock()
            .expect("not poisoned")
            .push((source, note));
    }

    /// The network ids and times of the posts of `source` the store holds inside the ranking
    /// window.
    pub fn stored(&self, source: &str) -> &[(String, i64)] {
        self.stored.get(source).map_or(&[], Vec::as_slice)
    }

    /// Records the periods `source` could not be read for (all of them, replacing what was
    /// recorded): saved in the collection state at the end of the run.
    pub fn gaps(&self, source: &'static str, gaps: Vec<crate::source::Gap>) {
        self.gaps.lock().expect("not poisoned").insert(source, gaps);
    }
}

/// The URL `[sources.SOURCE] KEY = value`, or `default`, as a base URL; an error names the key.
pub fn url_setting(
    source: &str,
    key: &str,
    value: Option<&str>,
    default: &str,
) -> Result<reqwest::Url, String> {
    let s = value.unwrap_or(default);
    parse_base(s).map_err(|e| format!("[sources.{source}] {key} {s:?}: {e}"))
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
}

impl Log {
    fn new(progress: bool, jobs: usize) -> Log {
        let bar = (progress && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(jobs as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:30}] {pos}/{len} accounts {msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar
        });
        Log { bar }
    }
    /// Shows a line; the caller has redacted it.
    fn line(&self, s: &str) {
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

/// `[collect] contact`, which every request carries in its `User-Agent` so the networks'
/// operators can reach whoever runs this collection: required before `collect` talks to a
/// network.
fn require_contact(config: &Config, root: &SiteRoot) -> Result<()> {
    let c = config.collect.contact.as_deref().map(str::trim);
    match c {
        Some(c) if !c.is_empty() && !c.chars().any(char::is_control) => Ok(()),
        _ => anyhow::bail!(
            "[collect] contact is not set in {}: collect sends it in every request's User-Agent \
             so the networks' operators can reach you; add\n\n[collect]\ncontact = \
             \"mailto:you@example.org\"  # or a URL that says how to reach you",
            root.config().display()
        ),
    }
}

/// The HTTP limits of a source, from `[collect]`, `[sources.NAME]` and the sources table.
fn limits(config: &Config, source: Collected, deadline: Instant) -> Limits {
    let (source, how) = source;
    let c = &config.collect;
    let rps = config
        .sources
        .get(source.name)
        .and_then(|s| s.requests_per_second)
        .unwrap_or(how.requests_per_second);
    // `run` checked it is set before any request.
    let contact = c.contact.as_deref().unwrap_or_default().trim();
    Limits {
        user_agent: format!("replyrank/{} (+{contact})", env!("CARGO_PKG_VERSION")),
        concurrency: c.concurrency_per_host,
        requests_per_second: rps,
        max_retries: c.max_retries,
        backoff: Duration::from_millis(c.backoff_ms),
        timeout: Duration::from_millis(c.timeout_ms),
        deadline,
        max_body: usize::try_from(c.max_body_mib << 20).unwrap_or(usize::MAX),
    }
}

/// One brand account's collection on one network: what a collector module implements, next to
/// its `Collector::open(Account) -> Result<Collector, String>`.
pub trait Collect: Send {
    /// Walks the account's feeds and threads, committing page by page.
    fn collect(&mut self) -> Collecting<'_>;
}

/// A collection under way.
pub type Collecting<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Stop>> + Send + 'a>>;

/// The brand account a collector works on: what every collector keeps.
pub struct Account<'c> {
    pub ctx: &'c Ctx,
    source: &'static str,
    /// The brand's index in the registry (none for a network-wide job: Jetstream).
    brand: Option<usize>,
    /// The account as the registry has it, without a leading `@`.
    pub handle: String,
    pub cursor: AccountCursor,
    /// New posts stored so far (shared with [`drive`], which reports them).
    stored: &'c AtomicUsize,
}

impl Account<'_> {
    /// Appends `posts` to the store, then saves the cursor as it stands.
    pub async fn commit(&mut self, posts: Vec<Post<'static>>) -> Result<(), Stop> {
        let n = self
            .ctx
            .commit(self.source, &self.handle, posts, &self.cursor)
            .await?;
        self.stored.fetch_add(n, Ordering::SeqCst);
        Ok(())
    }

    /// The cursor of one of the account's feeds (empty before its first walk).
    pub fn feed(&self, name: &str) -> cursor::Feed {
        self.cursor.feeds.get(name).cloned().unwrap_or_default()
    }

    /// Records that the network says post `id` no longer exists (see [`Ctx::deleted`]).
    pub fn deleted(&self, id: String) {
        self.ctx.deleted(self.source, id);
    }

    /// The registry id of the brand, for the posts it wrote.
    pub fn brand_id(&self) -> std::borrow::Cow<'static, str> {
        let brand = self.brand.expect("a brand account's collector");
        self.ctx.registry.brands[brand].id.clone().into()
    }
}

/// The collector of `account`, ready to run, or why it cannot start.
fn open<'c>(kind: Collector, account: Account<'c>) -> Result<Box<dyn Collect + 'c>, String> {
    Ok(match kind {
        Collector::Bluesky => Box::new(bluesky::Collector::open(account)?),
        Collector::Jetstream => Box::new(jetstream::Collector::open(account)?),
        Collector::Mastodon => Box::new(mastodon::Collector::open(account)?),
        Collector::X => Box::new(x::Collector::open(account)?),
    })
}

/// Runs one account's collector; returns the new posts stored and how it ended.
async fn drive(ctx: &Ctx, job: &Job, cursor: AccountCursor) -> (usize, Outcome) {
    let stored = AtomicUsize::new(0);
    let account = Account {
        ctx,
        source: job.source.name,
        brand: job.brand,
        handle: job.account.trim_start_matches('@').to_string(),
        cursor,
        stored: &stored,
    };
    let outcome = match open(job.collector, account) {
        Ok(mut c) => c
            .collect()
            .await
            .map_or_else(Stop::outcome, |()| Outcome::Done),
        Err(e) => Outcome::Failed(e),
    };
    (stored.into_inner(), outcome)
}

/// A collected source: its row and how it is collected.
type Collected = (&'static Source, &'static Collection);

/// One account to collect.
struct Job {
    source: &'static Source,
    collector: Collector,
    /// Index in the registry (none for a network-wide job).
    brand: Option<usize>,
    account: String,
}

/// The run's work: its jobs and the lines saying what it skips.
struct Plan {
    sources: Vec<Collected>,
    jobs: Vec<Job>,
    skipped: Vec<String>,
}

/// The collected sources `--source` names (all when empty), in the order they are reported.
fn collected_sources(wanted: &[String]) -> Result<Vec<Collected>> {
    let mut all: Vec<Collected> = BUILTIN
        .iter()
        .filter_map(|s| Some((s, s.collect.as_ref()?)))
        .collect();
    all.sort_by_key(|(s, _)| s.name);
    for w in wanted {
        if !all.iter().any(|(s, _)| s.name == w) {
            let names: Vec<&str> = all.iter().map(|(s, _)| s.name).collect();
            anyhow::bail!("--source {w}: collect knows {}", names.join(", "));
        }
    }
    all.retain(|(s, _)| wanted.is_empty() || wanted.iter().any(|w| w == s.name));
    Ok(all)
}

impl Plan {
    /// One job per (source, brand account), skipping sources without their required
    /// credentials; sources collected with less coverage without theirs are named too. Bluesky
    /// also gets one Jetstream job for all brands (every brand with a Bluesky account, whatever
    /// `--brand` says: the stream and its cursor are network-wide), unless the config turns it
    /// off.
    fn new(registry: &Registry, opts: &Options, config: &Config) -> Result<Plan> {
        for b in &opts.brands {
            if registry.by_id(b).is_none() {
                anyhow::bail!(
                    "--brand {b}: no brand with this id in {}",
                    crate::root::REGISTRY
                );
            }
        }
        let mut plan = Plan {
            sources: Vec::new(),
            jobs: Vec::new(),
            skipped: Vec::new(),
        };
        let mut degraded = Vec::new();
        for (source, how) in collected_sources(&opts.sources)? {
            let stream = how.collector == Collector::Bluesky
                && jetstream::enabled(config, source.name)
                && registry
                    .brands
                    .iter()
                    .any(|b| !b.accounts.on(source.network).is_empty());
            if let Some(c) = &how.credentials
                && !opts.secrets.present(source)
            {
                let line = format!("{}: {}", source.name, c.missing);
                if c.required {
                    plan.skipped.push(line);
                    continue;
                }
                if !stream {
                    degraded.push(line);
                }
            }
            plan.sources.push((source, how));
            if stream {
                plan.jobs.push(Job {
                    source,
                    collector: Collector::Jetstream,
                    brand: None,
                    account: jetstream::ACCOUNT.into(),
                });
            }
            for (i, b) in registry.brands.iter().enumerate() {
                if !opts.brands.is_empty() && !opts.brands.contains(&b.id) {
                    continue;
                }
                for account in b.accounts.collected(source.network) {
                    plan.jobs.push(Job {
                        source,
                        collector: how.collector,
                        brand: Some(i),
                        account: account.to_string(),
                    });
                }
            }
        }
        plan.skipped.extend(degraded);
        Ok(plan)
    }
}

/// Collects into the store of `root`. Everything fetched is stored even when some accounts fail;
/// the report says which.
pub fn run(root: &SiteRoot, mut opts: Options) -> Result<Report> {
    let started = Instant::now();
    let config = Config::load(root)?;
    let registry = Registry::load(root)?;
    let plan = Plan::new(&registry, &opts, &config)?;
    if !plan.jobs.is_empty() {
        require_contact(&config, root)?;
    }
    let mut state = CollectionState::load(root)?;
    let stores = Stores::open_with(root, opts.key.take())?;
    stores.key("collect cannot start")?;
    for n in stores.notices() {
        eprintln!("warning: {n}");
    }
    let window_floor = jiff::Timestamp::now().as_second()
        - i64::from(config.ranking.window_days) * crate::time::DAY;
    // The private store may come from an older CI cache: what was forgotten since goes first,
    // then what is older than the window and a month's margin.
    crate::forget::apply(&stores, false)?;
    let pruned = stores.prune_private(window_floor - PRIVATE_MARGIN_DAYS * crate::time::DAY)?;
    // What the collectors re-check for deletions: the window's stored posts (a test may give
    // its own).
    for (source, posts) in stored_in_window(&stores.private, &plan.sources, window_floor)? {
        opts.stored.entry(source).or_insert(posts);
    }
    let cursors_at_start = Cursors::load(root)?;
    let deadline = started + Duration::from_secs(config.collect.time_budget_s);

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Commit>();
    let writer = spawn_writer(root.clone(), stores, Cursors::load(root)?, rx);
    let ctx = Arc::new(Ctx::new(
        config,
        registry,
        &plan,
        opts,
        (deadline, window_floor),
        tx,
    )?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut accounts = runtime.block_on(collect_all(ctx.clone(), plan.jobs, &cursors_at_start));
    accounts.sort_by(|a, b| (a.source, &a.account).cmp(&(b.source, &b.account)));

    let ctx = Arc::into_inner(ctx).expect("all tasks are done");
    if let Some(bar) = &ctx.log.bar {
        bar.finish_and_clear();
    }
    let traffic = ctx.traffic();
    let notes = std::mem::take(&mut *ctx.coverage_notes.lock().expect("not poisoned"));
    let mut recorded = record_coverage(&mut state, &plan.sources, &ctx.secrets, &notes);
    recorded |= jetstream::record_coverage(
        &mut state,
        &accounts,
        std::mem::take(&mut *ctx.gaps.lock().expect("not poisoned")),
    );
    let deleted = std::mem::take(&mut *ctx.deleted.lock().expect("not poisoned"));
    drop(ctx);
    let (mut stores, stored) = writer
        .join()
        .expect("the store writer does not panic")
        .context("the store writer failed")?;
    let targets: Vec<crate::forget::Target> = deleted
        .iter()
        .map(|(source, id)| crate::forget::Target::Post {
            source: source.to_string(),
            id: id.clone(),
        })
        .collect();
    let forgotten =
        crate::forget::forget(root, &mut stores, &targets, crate::forget::Why::Deleted)?;
    if recorded {
        state.save(root)?;
    }
    if let Some(error) = stores.update_index(&Registry::load(root)?, stored) {
        eprintln!(
            "warning: {}",
            crate::store::Notice::IndexNotWritten { error }
        );
    }
    Ok(Report {
        accounts,
        skipped: plan.skipped,
        traffic,
        elapsed: started.elapsed(),
        deleted,
        forgotten,
        pruned,
    })
}

/// How long the private store keeps posts after they leave the ranking window: threads still
/// growing at its edge are walked, and a newer classifier can still read them.
pub const PRIVATE_MARGIN_DAYS: i64 = 31;

/// The network ids and times of the private store's posts inside the window, per source.
fn stored_in_window(
    private: &Store,
    sources: &[Collected],
    floor: i64,
) -> Result<BTreeMap<&'static str, Vec<(String, i64)>>> {
    let first_month = crate::time::month_of(floor);
    let mut out = BTreeMap::new();
    for (source, _) in sources {
        let mut posts = Vec::new();
        for file in private.partitions(Some(source.name))? {
            let month = file.file_stem().map(|m| m.to_string_lossy().into_owned());
            if month.is_some_and(|m| m < first_month) {
                continue;
            }
            crate::store::line_blocks(&file, |chunks, _| {
                for &(first, chunk) in chunks {
                    for (_, l) in crate::store::lines_of(first, chunk) {
                        if let Ok((l, at)) = crate::store::parse_line(l)
                            && at >= floor
                        {
                            posts.push((l.id.to_string(), at));
                        }
                    }
                }
            })?;
        }
        out.insert(source.name, posts);
    }
    Ok(out)
}

impl Ctx {
    /// The context of a run: its clients (one per collected source, each with its limits and
    /// the run's redactor), its log, and the channel to the store writer.
    fn new(
        config: Config,
        registry: Registry,
        plan: &Plan,
        opts: Options,
        (deadline, window_floor): (Instant, i64),
        writer: tokio::sync::mpsc::UnboundedSender<Commit>,
    ) -> Result<Ctx> {
        let redactor = Redactor::default();
        opts.secrets.register(&redactor);
        let log = Log::new(opts.progress, plan.jobs.len());
        for s in &plan.skipped {
            log.line(&redactor.redact(s));
        }
        let mut clients = BTreeMap::new();
        for &source in &plan.sources {
            let client = Client::new(limits(&config, source, deadline))
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .redacting(redactor.clone());
            clients.insert(source.0.name, client);
        }
        let x_accounts = plan.jobs.iter().filter(|j| j.source.name == "x");
        let x_total = config
            .sources
            .get("x")
            .and_then(|s| s.max_posts_per_run)
            .unwrap_or(x::DEFAULT_MAX_POSTS);
        let x_budget = x::Budget::new(
            x_total,
            &x::Budget::participants(
                x_accounts.map(|j| j.account.as_str()),
                opts.stored.get("x").is_some_and(|s| !s.is_empty()),
            ),
        );
        Ok(Ctx {
            window_floor,
            registry,
            config,
            since: opts.since,
            secrets: opts.secrets,
            redactor,
            clients,
            writer,
            x_budget,
            bluesky_session: tokio::sync::Mutex::new(bluesky::SessionState::default()),
            deleted: Default::default(),
            stored: opts.stored,
            coverage_notes: Default::default(),
            deadline,
            jetstream: plan
                .jobs
                .iter()
                .any(|j| j.collector == Collector::Jetstream),
            gaps: Default::default(),
            log,
        })
    }

    /// The run's traffic, all clients together.
    fn traffic(&self) -> http::Traffic {
        self.clients
            .values()
            .fold(http::Traffic::default(), |a, c| {
                let t = c.traffic();
                http::Traffic {
                    requests: a.requests + t.requests,
                    retries: a.retries + t.retries,
                    throttled: a.throttled + t.throttled,
                }
            })
    }
}

/// Records what each source whose coverage depends on its credentials, or that could not see
/// everything (`notes`), could see this run; returns whether any was recorded.
fn record_coverage(
    state: &mut CollectionState,
    sources: &[Collected],
    secrets: &Secrets,
    notes: &[(&'static str, String)],
) -> bool {
    let mut recorded = false;
    for (source, _) in sources {
        let seen = match source.coverage_with_credentials() {
            Some(key) if secrets.present(source) => key,
            _ => source.coverage,
        };
        let mut noted: Vec<&str> = notes
            .iter()
            .filter(|(s, _)| *s == source.name)
            .map(|(_, n)| n.as_str())
            .collect();
        noted.sort_unstable();
        if !noted.is_empty() {
            let base = crate::source::wording(seen).unwrap_or_default();
            state.coverage.insert(
                source.name.to_string(),
                format!("{base} {}", noted.join(" ")),
            );
            recorded = true;
        } else if source.coverage_with_credentials().is_some() {
            state.record(source.name, seen);
            recorded = true;
        } else if state.coverage.remove(source.name).is_some() {
            // The gap noted by an earlier run is not this run's.
            recorded = true;
        }
    }
    recorded
}

/// Runs every job concurrently, one task each, and reports each account as it ends.
async fn collect_all(ctx: Arc<Ctx>, jobs: Vec<Job>, cursors: &Cursors) -> Vec<AccountReport> {
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let ctx = ctx.clone();
        let cursor = cursors.get(job.source.name, &job.account);
        set.spawn(async move {
            let (new_posts, outcome) = drive(&ctx, &job, cursor).await;
            let r = AccountReport {
                source: job.source.name,
                brand: job
                    .brand
                    .map_or_else(String::new, |b| ctx.registry.brands[b].id.clone()),
                account: job.account,
                new_posts,
                outcome: outcome.redacted(&ctx.redactor),
            };
            ctx.log(r.line());
            ctx.log.tick(format!("{} {}", r.source, r.account));
            r
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.expect("a collector task does not panic"));
    }
    out
}

impl AccountReport {
    /// The line shown when the account is done.
    fn line(&self) -> String {
        let head = format!(
            "{} {}: {} new posts",
            self.source, self.account, self.new_posts
        );
        match &self.outcome {
            Outcome::Done => head,
            Outcome::Stopped(why) => format!("{head}; stopped: {why}"),
            Outcome::Failed(why) => format!("{head}; error: {why}"),
        }
    }
}

impl Outcome {
    fn redacted(self, r: &Redactor) -> Outcome {
        match self {
            Outcome::Done => Outcome::Done,
            Outcome::Stopped(why) => Outcome::Stopped(r.redact(&why)),
            Outcome::Failed(why) => Outcome::Failed(r.redact(&why)),
        }
    }
}

/// The writer thread: appends each group of pages to the stores (synced), then saves the
/// cursors; returns the stores, and the published store's ids it de-duplicated against (to
/// bring the index up to date from), when the run is over.
fn spawn_writer(
    root: SiteRoot,
    stores: Stores,
    mut cursors: Cursors,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Commit>,
) -> std::thread::JoinHandle<Result<(Stores, StoredIds)>> {
    std::thread::spawn(move || -> Result<(Stores, StoredIds)> {
        let registry = Registry::load(&root)?;
        // One writer for the run: it de-duplicates against the published store's ids (from its
        // index) and each source's private ids (loaded once).
        let (stored, _) = stores.stored_ids(&registry)?;
        let mut writer = stores.writer(&registry, &stored);
        while let Some(first) = rx.blocking_recv() {
            let mut group = vec![first];
            while let Ok(more) = rx.try_recv() {
                group.push(more);
            }
            let mut counts = Vec::with_capacity(group.len());
            let mut failure = None;
            for c in &mut group {
                let before = writer.count().imported;
                if let Err(e) = writer.push(std::mem::take(&mut c.posts)) {
                    failure = Some(format!("{e:#}"));
                    break;
                }
                counts.push(writer.count().imported - before);
            }
            if failure.is_none() {
                if let Err(e) = writer.sync() {
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
        drop(writer);
        Ok((stores, stored))
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
                "the X budget of {n} post reads per run ([sources.x] max_posts_per_run) is \
                 spent; the next run goes on"
            )),
            Stop::Other(e) => Outcome::Failed(e),
        }
    }
}

/// The post time of an RFC 3339 string, or `None`.
pub fn parse_time(s: &str) -> Option<i64> {
    crate::time::parse_rfc3339(s).ok()
}
