//! Bluesky mentions without a key: the network's public event stream, Jetstream
//! (`network.bsky.jetstream.subscribeEvents` over WebSocket, default
//! `wss://jetstream1.us-east.bsky.network`), read once per run for all brands.
//!
//! A run:
//! 1. resolves every registry Bluesky handle to its DID (`com.atproto.identity.resolveHandle`
//!    at `[sources.bluesky] base_url`), keeping the mapping in the cursor file; a handle that
//!    does not resolve is reported once and left out;
//! 2. with `jetstream_zstd` (the default), fetches the server's current zstd dictionary
//!    (`getZstdDictionary`, 64 KiB) and asks for compressed frames with its id. The dictionary
//!    is fetched rather than shipped: the server retires dictionaries when it retrains them, and
//!    a shipped one would then be refused (`UnknownZstdDictionary`) until a new release;
//! 3. subscribes with `kinds=commit&kinds=account&collections=app.bsky.feed.post` from the
//!    stored cursor (an event seq, inclusive: the repeated event is skipped) or, on a first run
//!    or with `--since`, from a time (a cursor in Unix microseconds);
//! 4. keeps the posts that mention a brand's DID in their facets, that reply under a brand post
//!    (`reply.parent` or `reply.root` under a brand DID), and the brands' own posts. Authors are
//!    DIDs; `created_at` is the event's time (when Jetstream saw it), `declared_at` the record's
//!    client-declared `createdAt`, `lang` the first of its `langs`. Ids are the AT-URIs the
//!    thread walk ([`super::bluesky`]) uses, so both collectors' posts join;
//! 5. commits the kept posts every few seconds with the stream position; the position is saved
//!    only once the posts it covers are stored. Before that, their authors' profiles are read
//!    once a run (`app.bsky.actor.getProfiles`, 25 a call): the follower count, and whether the
//!    author opted out of being seen logged out (the `!no-unauthenticated` label: the post is
//!    kept without its text, see [`Post::opted_out`]);
//! 6. stops when it reaches the run's start (an event seen after it, or a quiet stream: the live
//!    tip), or at the time budget; a dropped connection resumes from the last event with
//!    backoff.
//!
//! A cursor older than the server keeps (`CursorTooOld`, or an `#info OutdatedCursor` frame
//! after a time cursor was moved up to the server's oldest event) is a gap: the run resumes
//! from the oldest event the server holds and records "no data from X to Y" in the collection
//! state ([`crate::source::CollectionState::gaps`]). A deleted post the store holds (or a
//! deleted account's posts) is reported with [`super::Ctx::deleted`].
//!
//! [`Reader`] is the pure part (a frame in, what it means for the store out): the benchmark
//! `benches/jetstream.rs` measures it.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

use super::http::HttpError;
use super::{Account, AccountReport, Collect, Collecting, Outcome, Stop};
use crate::config::Config;
use crate::post::Post;
use crate::source::{CollectionState, Gap, JETSTREAM_COVERAGE, Network};

/// The cursor-file account of the Jetstream job (under source `bluesky`): never a handle, which
/// always holds a dot.
pub const ACCOUNT: &str = "jetstream";
pub const DEFAULT_URL: &str = "wss://jetstream1.us-east.bsky.network";
const SUBSCRIBE: &str = "xrpc/network.bsky.jetstream.subscribeEvents";
const GET_DICTIONARY: &str = "xrpc/network.bsky.jetstream.getZstdDictionary";
const RESOLVE_HANDLE: &str = "xrpc/com.atproto.identity.resolveHandle";
const GET_PROFILES: &str = "xrpc/app.bsky.actor.getProfiles";
/// The self-label of an author who asked not to be shown to logged-out viewers.
const NO_UNAUTHENTICATED: &str = "!no-unauthenticated";
const POST: &str = "app.bsky.feed.post";
/// A stream quiet for this long is at the live tip: the run has caught up.
const IDLE: Duration = Duration::from_secs(20);
/// Kept posts are committed, and the position saved, at least this often…
const COMMIT_EVERY: Duration = Duration::from_secs(5);
/// …or once this many are waiting.
const COMMIT_POSTS: usize = 500;
/// The magic number that starts a zstd dictionary (RFC 8878, section 5).
const DICTIONARY_MAGIC: u32 = 0xEC30_A437;

/// Whether `[sources.NAME] jetstream` leaves the stream on (the default).
pub fn enabled(config: &Config, source: &str) -> bool {
    config
        .sources
        .get(source)
        .and_then(|s| s.jetstream)
        .unwrap_or(true)
}

/// Records what the Jetstream job saw in the collection state: its gaps, and the coverage
/// "all public mentions" when it ended without failing (thread-scoped when it failed, since the
/// run then relied on the thread walk alone). Returns whether anything was recorded.
pub fn record_coverage(
    state: &mut CollectionState,
    accounts: &[AccountReport],
    gaps: BTreeMap<&'static str, Vec<Gap>>,
) -> bool {
    let mut recorded = false;
    for (source, g) in gaps {
        if g.is_empty() {
            state.gaps.remove(source);
        } else {
            state.gaps.insert(source.to_string(), g);
        }
        recorded = true;
    }
    for a in accounts.iter().filter(|a| a.account == ACCOUNT) {
        let key = match a.outcome {
            Outcome::Failed(_) => "coverage_bluesky",
            _ => JETSTREAM_COVERAGE,
        };
        state.record(a.source, key);
        recorded = true;
    }
    recorded
}

/// A brand account the stream is filtered for.
#[derive(Clone, Debug)]
struct BrandAccount {
    /// The brand's registry id.
    brand: String,
    /// The handle as the registry lists it: what a mention of this DID is stored as, so the
    /// registry recognises it.
    handle: String,
}

/// The brand accounts the stream is filtered for, by DID.
#[derive(Clone, Debug, Default)]
pub struct Brands {
    by_did: HashMap<String, BrandAccount>,
    /// Finds any brand DID in a record's text: most posts mention none and are skipped unparsed.
    finder: Option<aho_corasick::AhoCorasick>,
}

impl Brands {
    /// From `(DID, brand id, handle)` triples.
    pub fn new(accounts: impl IntoIterator<Item = (String, String, String)>) -> Brands {
        let by_did: HashMap<String, BrandAccount> = accounts
            .into_iter()
            .map(|(did, brand, handle)| (did, BrandAccount { brand, handle }))
            .collect();
        let finder = (!by_did.is_empty()).then(|| {
            aho_corasick::AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(by_did.keys())
                .expect("DIDs make a valid automaton")
        });
        Brands { by_did, finder }
    }

    pub fn len(&self) -> usize {
        self.by_did.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_did.is_empty()
    }

    /// The brand account whose DID holds the record `uri` (`at://DID/collection/rkey`).
    fn owner(&self, uri: &str) -> Option<&BrandAccount> {
        self.by_did.get(did_of(uri)?)
    }
}

/// The DID of an AT-URI.
fn did_of(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("at://")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// One frame of the stream, read.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// An event: its seq (the stream position), its time (Unix microseconds: when Jetstream saw
    /// it) and what it means for the store.
    Event { seq: u64, time_us: i64, what: What },
    /// An advisory notice: `OutdatedCursor` when a time cursor was moved up to the oldest event
    /// the server holds.
    Info { name: String, message: String },
    /// A terminal error frame (`ConsumerTooSlow`): the server closes the stream.
    Error { name: String, message: String },
}

/// What an event means for the store.
#[derive(Debug, PartialEq)]
pub enum What {
    Nothing,
    /// A post to keep.
    Keep(Box<Post<'static>>),
    /// The post with this AT-URI was deleted.
    Deleted(String),
    /// The account with this DID was deleted, and all its posts with it.
    AccountDeleted(String),
}

/// Reads frames: decompresses them (with the stream's dictionary), parses them and keeps what
/// concerns the brands. No I/O.
pub struct Reader {
    brands: Brands,
    zstd: Option<zstd::bulk::Decompressor<'static>>,
    buf: Vec<u8>,
    max_frame: usize,
}

#[derive(Deserialize)]
struct RawFrame<'a> {
    #[serde(rename = "$type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    payload: Option<Payload<'a>>,
    #[serde(borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(rename = "$type", borrow)]
    kind: Cow<'a, str>,
    seq: Option<u64>,
    #[serde(borrow)]
    did: Option<Cow<'a, str>>,
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    operation: Option<Cow<'a, str>>,
    #[serde(borrow)]
    collection: Option<Cow<'a, str>>,
    #[serde(borrow)]
    rkey: Option<Cow<'a, str>>,
    #[serde(borrow)]
    record: Option<&'a RawValue>,
    account: Option<AccountStatus>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct AccountStatus {
    #[serde(default = "yes")]
    active: bool,
    status: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostRecord<'a> {
    #[serde(borrow, default)]
    text: Cow<'a, str>,
    #[serde(borrow)]
    created_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    langs: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    facets: Vec<Facet<'a>>,
    #[serde(borrow)]
    reply: Option<ReplyRef<'a>>,
}

#[derive(Deserialize)]
struct Facet<'a> {
    #[serde(borrow, default)]
    features: Vec<Feature<'a>>,
}

#[derive(Deserialize)]
struct Feature<'a> {
    #[serde(rename = "$type", borrow, default)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    did: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ReplyRef<'a> {
    #[serde(borrow)]
    parent: Option<StrongRef<'a>>,
    #[serde(borrow)]
    root: Option<StrongRef<'a>>,
}

#[derive(Deserialize)]
struct StrongRef<'a> {
    #[serde(borrow)]
    uri: Cow<'a, str>,
}

impl Reader {
    /// A reader for `brands`; `dictionary` for compressed frames; frames larger than
    /// `max_frame` bytes once decompressed are refused.
    pub fn new(
        brands: Brands,
        dictionary: Option<&[u8]>,
        max_frame: usize,
    ) -> Result<Reader, String> {
        let zstd = dictionary
            .map(zstd::bulk::Decompressor::with_dictionary)
            .transpose()
            .map_err(|e| format!("cannot load the zstd dictionary: {e}"))?;
        Ok(Reader {
            brands,
            zstd,
            buf: Vec::new(),
            max_frame,
        })
    }

    /// Reads one WebSocket message: text (JSON) or, with a dictionary, binary (one zstd frame
    /// whose content is the JSON text).
    pub fn read(&mut self, message: &[u8], compressed: bool) -> Result<Frame, String> {
        if !compressed {
            return self.parse(message);
        }
        let Some(z) = self.zstd.as_mut() else {
            return Err("a compressed frame, but no zstd dictionary was asked for".into());
        };
        let size = zstd::zstd_safe::get_frame_content_size(message)
            .ok()
            .flatten()
            .map_or(self.max_frame, |n| usize::try_from(n).unwrap_or(usize::MAX));
        if size > self.max_frame {
            return Err(format!(
                "a frame of {size} bytes once decompressed, more than [collect] max_body_mib"
            ));
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        buf.reserve(size);
        let read = z
            .decompress_to_buffer(message, &mut buf)
            .map_err(|e| format!("cannot decompress a frame: {e}"));
        let frame = read.and_then(|_| self.parse(&buf));
        self.buf = buf;
        frame
    }

    fn parse(&self, text: &[u8]) -> Result<Frame, String> {
        let f: RawFrame = serde_json::from_slice(text)
            .map_err(|e| format!("a frame that is not a Jetstream message: {e}"))?;
        match f.kind.as_ref() {
            "message" => self.message(f.payload.ok_or("a message frame without payload")?),
            "error" => Ok(Frame::Error {
                name: f.error.unwrap_or_default().into_owned(),
                message: f.message.unwrap_or_default().into_owned(),
            }),
            other => Err(format!("a frame of unknown type {other:?}")),
        }
    }

    fn message(&self, p: Payload) -> Result<Frame, String> {
        let kind = p.kind.rsplit('#').next().unwrap_or_default();
        if kind == "info" {
            return Ok(Frame::Info {
                name: p.name.unwrap_or_default().into_owned(),
                message: p.message.unwrap_or_default().into_owned(),
            });
        }
        let seq = p.seq.ok_or_else(|| format!("a {kind} event without seq"))?;
        let time = p.time.as_deref().unwrap_or_default();
        let time_us = parse_micros(time)
            .ok_or_else(|| format!("event {seq}: time {time:?} is not an RFC 3339 instant"))?;
        let did = p.did.as_deref().unwrap_or_default();
        let what = match kind {
            "commit" if p.collection.as_deref() == Some(POST) => {
                let rkey = p.rkey.as_deref().unwrap_or_default();
                match p.operation.as_deref() {
                    Some("create" | "update") => match p.record {
                        Some(r) => self.post(did, rkey, r, time_us),
                        None => What::Nothing,
                    },
                    Some("delete") => What::Deleted(post_uri(did, rkey)),
                    _ => What::Nothing,
                }
            }
            "account" => match p.account {
                Some(a) if !a.active && a.status.as_deref() == Some("deleted") => {
                    What::AccountDeleted(did.to_string())
                }
                _ => What::Nothing,
            },
            _ => What::Nothing,
        };
        Ok(Frame::Event { seq, time_us, what })
    }

    /// The post to keep, if it concerns a brand: by a brand, mentioning one, or under one's post.
    fn post(&self, did: &str, rkey: &str, record: &RawValue, time_us: i64) -> What {
        let author = self.brands.by_did.get(did);
        let raw = record.get();
        if author.is_none() && !self.brands.finder.as_ref().is_some_and(|f| f.is_match(raw)) {
            return What::Nothing;
        }
        // A record that does not parse as a post is not one to keep.
        let Ok(r) = serde_json::from_str::<PostRecord>(raw) else {
            return What::Nothing;
        };
        let mut mentioned = None;
        let mentions: Vec<Cow<'static, str>> = r
            .facets
            .iter()
            .flat_map(|f| &f.features)
            .filter(|x| x.kind == "app.bsky.richtext.facet#mention")
            .filter_map(|x| x.did.as_deref())
            .map(|d| match self.brands.by_did.get(d) {
                Some(b) => {
                    mentioned = mentioned.or(Some(b));
                    Cow::Owned(b.handle.clone())
                }
                None => Cow::Owned(d.to_string()),
            })
            .collect();
        let reply = r.reply.as_ref();
        let parent = reply
            .and_then(|x| x.parent.as_ref())
            .map(|s| s.uri.as_ref());
        let root = reply.and_then(|x| x.root.as_ref()).map(|s| s.uri.as_ref());
        let under = parent
            .and_then(|u| self.brands.owner(u))
            .or_else(|| root.and_then(|u| self.brands.owner(u)));
        let to_brand = match author {
            Some(_) => None,
            None => under.or(mentioned),
        };
        if author.is_none() && to_brand.is_none() {
            return What::Nothing;
        }
        What::Keep(Box::new(Post {
            source: "bluesky".into(),
            id: post_uri(did, rkey).into(),
            author: did.to_string().into(),
            created_at: time_us.div_euclid(1_000_000),
            reply_to: parent.map(|u| u.to_string().into()),
            text: Some(r.text.into_owned().into()),
            mentions,
            brand: author.map(|b| b.brand.clone().into()),
            to_brand: to_brand.map(|b| b.brand.clone().into()),
            lang: r.langs.first().map(|l| l.to_string().into()),
            declared_at: r.created_at.as_deref().and_then(super::parse_time),
            ..Default::default()
        }))
    }
}

/// The AT-URI of a post.
fn post_uri(did: &str, rkey: &str) -> String {
    format!("at://{did}/{POST}/{rkey}")
}

/// An RFC 3339 instant in Unix microseconds.
fn parse_micros(s: &str) -> Option<i64> {
    let t: jiff::Timestamp = s.parse().ok()?;
    Some(t.as_microsecond())
}

/// Where a connection starts reading.
#[derive(Clone, Copy, Debug)]
enum Resume {
    /// At this seq, inclusive.
    Seq(u64),
    /// At the first event seen at or after this time (Unix microseconds).
    Time(i64),
}

/// Why a connection could not be opened.
enum Refused {
    /// The seq cursor is below what the server keeps (the server's words).
    TooOld(String),
    /// The dictionary id was retired.
    UnknownDictionary,
    Budget,
    Other(String),
}

/// How a connection's reading ended.
enum Ended {
    CaughtUp,
    Budget,
    /// The connection dropped or the server ended it: resume.
    Dropped(String),
}

/// What a run has read so far, for its last line.
#[derive(Default)]
struct Tally {
    events: u64,
    kept: usize,
    deletions: usize,
    first_us: Option<i64>,
}

pub struct Collector<'c> {
    account: Account<'c>,
    /// The Jetstream server (`ws://` or `wss://`, ending with `/`).
    url: reqwest::Url,
    zstd: bool,
    user_agent: String,
    /// Kept posts not yet committed.
    pending: Vec<Post<'static>>,
    last_commit: Instant,
    /// The posts of the store inside the window and those stored this run, by author DID: a
    /// deletion of one of them is reported.
    known: HashMap<String, HashSet<String>>,
    /// The start of a gap not yet closed by an event (Unix microseconds).
    gap_from: Option<i64>,
    /// Authors' profiles read this run: DID → (followers, opted out of logged-out viewing).
    profiles: HashMap<String, (Option<u64>, bool)>,
    /// Why profiles could not be read, once said.
    profiles_failed: bool,
    tally: Tally,
}

#[derive(Deserialize)]
struct Profiles {
    #[serde(default)]
    profiles: Vec<Profile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    did: String,
    followers_count: Option<u64>,
    #[serde(default)]
    labels: Vec<Label>,
}

#[derive(Deserialize)]
struct Label {
    val: String,
}

impl<'c> Collector<'c> {
    pub fn open(account: Account<'c>) -> Result<Self, String> {
        let set = account.ctx.config.sources.get("bluesky");
        let value = set.and_then(|c| c.jetstream_url.as_deref());
        let url = ws_url(value.unwrap_or(DEFAULT_URL))
            .map_err(|e| format!("[sources.bluesky] jetstream_url {value:?}: {e}"))?;
        let source = crate::source::builtin("bluesky").expect("a built-in source");
        let how = source.collect.as_ref().expect("a collected source");
        let user_agent =
            super::limits(&account.ctx.config, (source, how), account.ctx.deadline).user_agent;
        let mut known: HashMap<String, HashSet<String>> = HashMap::new();
        for (id, _) in account.ctx.stored("bluesky") {
            if let Some(did) = did_of(id) {
                known.entry(did.to_string()).or_default().insert(id.clone());
            }
        }
        Ok(Collector {
            zstd: set.and_then(|c| c.jetstream_zstd).unwrap_or(true),
            url,
            user_agent,
            pending: Vec::new(),
            last_commit: Instant::now(),
            known,
            gap_from: None,
            profiles: HashMap::new(),
            profiles_failed: false,
            tally: Tally::default(),
            account,
        })
    }
}

impl Collect for Collector<'_> {
    fn collect(&mut self) -> Collecting<'_> {
        Box::pin(self.run())
    }
}

/// A Jetstream base URL: `ws://` or `wss://` (an `http(s)://` one is taken as its WebSocket
/// twin), ending with `/`.
fn ws_url(s: &str) -> Result<reqwest::Url, String> {
    let mut s = s.trim().to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    let mut url = reqwest::Url::parse(&s).map_err(|e| e.to_string())?;
    let scheme = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        _ => return Err("must be a wss:// (or ws://) URL".into()),
    };
    url.set_scheme(scheme)
        .map_err(|()| "must be a wss:// (or ws://) URL".to_string())?;
    Ok(url)
}

impl Collector<'_> {
    fn stream(&mut self) -> &mut super::cursor::Stream {
        self.account
            .cursor
            .stream
            .get_or_insert_with(Default::default)
    }

    async fn run(&mut self) -> Result<(), Stop> {
        let ctx = self.account.ctx;
        let brands = self.resolve().await?;
        if brands.is_empty() {
            return Err(Stop::Other(format!(
                "no brand's Bluesky handle resolves to an account; fix them in {}",
                crate::root::REGISTRY
            )));
        }
        let floor = ctx.window_floor;
        self.stream().gaps.retain(|g| g.to >= floor);
        let mut dictionary = if self.zstd {
            self.dictionary().await?
        } else {
            None
        };
        let max_frame =
            usize::try_from(ctx.config.collect.max_body_mib << 20).unwrap_or(usize::MAX);
        let mut reader = Reader::new(
            brands,
            dictionary.as_ref().map(|(_, d)| d.as_slice()),
            max_frame,
        )?;
        let start_us = jiff::Timestamp::now().as_microsecond();
        let stored = self.stream().seq;
        let mut resume = match (ctx.since, stored) {
            (Some(since), _) => Resume::Time(since.saturating_mul(1_000_000)),
            (None, Some(seq)) => Resume::Seq(seq),
            (None, None) => Resume::Time(floor.saturating_mul(1_000_000)),
        };
        // Events at or below this seq were read by an earlier run (resuming is inclusive).
        let mut seen = match resume {
            Resume::Seq(s) => Some(s),
            Resume::Time(_) => None,
        };
        let backoff = Duration::from_millis(ctx.config.collect.backoff_ms);
        let mut failures: u32 = 0;
        let mut refused_old = false;
        let ended = loop {
            let id = dictionary.as_ref().map(|(id, _)| *id);
            match self.connect(resume, id).await {
                Ok(mut ws) => {
                    let before = self.tally.events;
                    let ended = self
                        .read(&mut ws, &mut reader, resume, &mut seen, start_us)
                        .await?;
                    if !matches!(ended, Ended::Dropped(_)) {
                        // Leave politely: a close frame, not a dropped connection.
                        let bye = tokio::time::timeout(Duration::from_secs(1), ws.close(None));
                        let _ = bye.await;
                    }
                    if let Some(s) = seen {
                        resume = Resume::Seq(s);
                    }
                    match ended {
                        Ended::Dropped(why) => {
                            failures = if self.tally.events > before {
                                1
                            } else {
                                failures + 1
                            };
                            if failures > ctx.config.collect.max_retries {
                                break Err(Stop::Other(format!(
                                    "{}: the stream dropped {failures} times in a row ({why})",
                                    self.shown()
                                )));
                            }
                            ctx.log(format!(
                                "bluesky jetstream: the stream dropped ({why}); resuming"
                            ));
                        }
                        Ended::CaughtUp => break Ok(()),
                        Ended::Budget => break Err(Stop::Http(HttpError::Budget)),
                    }
                }
                Err(Refused::TooOld(why)) if !refused_old => {
                    // Resume from the oldest event the server holds; the gap starts after the
                    // last event stored.
                    refused_old = true;
                    let from = self
                        .stream()
                        .time_us
                        .unwrap_or(floor.saturating_mul(1_000_000));
                    self.gap_from = Some(from);
                    resume = Resume::Time(from);
                    ctx.log(format!(
                        "bluesky jetstream: the server no longer keeps the stored position \
                         ({why}); resuming from its oldest event and recording the gap"
                    ));
                    continue;
                }
                Err(Refused::TooOld(why)) => {
                    break Err(Stop::Other(format!(
                        "{}: CursorTooOld again after resuming by time: {why}",
                        self.shown()
                    )));
                }
                Err(Refused::UnknownDictionary) if dictionary.is_some() => {
                    ctx.log(
                        "bluesky jetstream: the server retired its zstd dictionary during the \
                         run; reading uncompressed frames"
                            .into(),
                    );
                    dictionary = None;
                    continue;
                }
                Err(Refused::UnknownDictionary) => {
                    break Err(Stop::Other(format!(
                        "{}: UnknownZstdDictionary without a dictionary asked for",
                        self.shown()
                    )));
                }
                Err(Refused::Budget) => break Err(Stop::Http(HttpError::Budget)),
                Err(Refused::Other(why)) => {
                    failures += 1;
                    if failures > ctx.config.collect.max_retries {
                        break Err(Stop::Other(why));
                    }
                    ctx.log(format!("bluesky jetstream: {why}; retrying"));
                }
            }
            let wait = backoff
                .saturating_mul(1 << failures.min(7))
                .min(Duration::from_secs(60));
            if Instant::now() + wait >= ctx.deadline {
                break Err(Stop::Http(HttpError::Budget));
            }
            tokio::time::sleep(wait).await;
        };
        self.commit().await?;
        let gaps = self.stream().gaps.clone();
        ctx.gaps("bluesky", gaps);
        let t = &self.tally;
        let span = match (
            t.first_us,
            self.account.cursor.stream.as_ref().and_then(|s| s.time_us),
        ) {
            (Some(a), Some(b)) => format!(
                " from {} to {}",
                crate::time::format_rfc3339(a.div_euclid(1_000_000)),
                crate::time::format_rfc3339(b.div_euclid(1_000_000))
            ),
            _ => String::new(),
        };
        ctx.log(format!(
            "bluesky jetstream: read {} events{span}; kept {} posts; {} stored posts deleted on \
             the network",
            t.events, t.kept, t.deletions
        ));
        ended
    }

    /// The subscription URL, for messages.
    fn shown(&self) -> String {
        format!("{}{SUBSCRIBE}", self.url)
    }

    /// The brands' DIDs: every registry Bluesky handle resolved once a run (a failed look-up
    /// falls back to the last known DID); handles that do not exist are reported and left out.
    async fn resolve(&mut self) -> Result<Brands, Stop> {
        let ctx = self.account.ctx;
        let base = ctx.base_url("bluesky", super::bluesky::DEFAULT_BASE)?;
        let mut accounts = Vec::new();
        let mut dids = BTreeMap::new();
        for b in &ctx.registry.brands {
            for handle in b.accounts.on(Network::Bluesky) {
                let handle = handle.trim_start_matches('@');
                let key = handle.to_ascii_lowercase();
                let mut url = base.join(RESOLVE_HANDLE).expect("a valid path");
                url.query_pairs_mut().append_pair("handle", handle);
                #[derive(Deserialize)]
                struct Resolved {
                    did: String,
                }
                let did = match ctx.client("bluesky").get_json::<Resolved>(url, None).await {
                    Ok(r) => r.body.did,
                    Err(HttpError::Budget) => return Err(Stop::Http(HttpError::Budget)),
                    Err(
                        e @ HttpError::Status {
                            status: 400 | 404, ..
                        },
                    ) => {
                        ctx.log(format!(
                            "bluesky: {handle} (brand {}) does not resolve to an account ({e}); \
                             its mentions are not collected. Fix it in {}",
                            b.id,
                            crate::root::REGISTRY
                        ));
                        continue;
                    }
                    Err(e) => match self.stream().dids.get(&key) {
                        Some(d) => d.clone(),
                        None => {
                            ctx.log(format!(
                                "bluesky: cannot resolve {handle} (brand {}): {e}; its mentions \
                                 are not collected this run",
                                b.id
                            ));
                            continue;
                        }
                    },
                };
                if !did.starts_with("did:") {
                    ctx.log(format!(
                        "bluesky: {handle} (brand {}) resolved to {did:?}, not a DID; skipped",
                        b.id
                    ));
                    continue;
                }
                dids.insert(key, did.clone());
                accounts.push((did, b.id.clone(), handle.to_string()));
            }
        }
        self.stream().dids = dids;
        Ok(Brands::new(accounts))
    }

    /// The server's current zstd dictionary and its id, or `None` (uncompressed) when it has
    /// none to give.
    async fn dictionary(&self) -> Result<Option<(u32, Vec<u8>)>, Stop> {
        let ctx = self.account.ctx;
        let mut base = self.url.clone();
        let scheme = if base.scheme() == "wss" {
            "https"
        } else {
            "http"
        };
        base.set_scheme(scheme).expect("http(s) for a ws(s) URL");
        let url = base.join(GET_DICTIONARY).expect("a valid path");
        match ctx.client("bluesky").get_bytes(url.clone()).await {
            Ok(r) => match dictionary_id(&r.body) {
                Some(id) => Ok(Some((id, r.body))),
                None => {
                    ctx.log(format!(
                        "bluesky jetstream: {url} did not send a zstd dictionary; reading \
                         uncompressed frames"
                    ));
                    Ok(None)
                }
            },
            Err(HttpError::Budget) => Err(Stop::Http(HttpError::Budget)),
            Err(e) => {
                ctx.log(format!(
                    "bluesky jetstream: no zstd dictionary ({e}); reading uncompressed frames"
                ));
                Ok(None)
            }
        }
    }

    async fn connect(
        &self,
        resume: Resume,
        dictionary: Option<u32>,
    ) -> Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        Refused,
    > {
        let ctx = self.account.ctx;
        let mut url = self.url.join(SUBSCRIBE).expect("a valid path");
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("kinds", "commit")
                .append_pair("kinds", "account")
                .append_pair("collections", POST);
            match resume {
                Resume::Seq(s) => q.append_pair("cursor", &s.to_string()),
                Resume::Time(t) => {
                    q.append_pair("cursor", &t.max(1_000_000_000_000_000).to_string())
                }
            };
            if let Some(id) = dictionary {
                q.append_pair("zstdDictionary", &id.to_string());
            }
        }
        let mut req = url
            .as_str()
            .into_client_request()
            .map_err(|e| Refused::Other(format!("{}: {e}", self.shown())))?;
        if let Ok(ua) = self.user_agent.parse() {
            req.headers_mut().insert("user-agent", ua);
        }
        let left = ctx.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Refused::Budget);
        }
        let timeout = Duration::from_millis(ctx.config.collect.timeout_ms).min(left);
        super::http::install_tls_provider();
        match tokio::time::timeout(timeout, tokio_tungstenite::connect_async(req)).await {
            Err(_) if Instant::now() >= ctx.deadline => Err(Refused::Budget),
            Err(_) => Err(Refused::Other(format!(
                "{}: no answer within {timeout:?}",
                self.shown()
            ))),
            Ok(Ok((ws, _))) => Ok(ws),
            Ok(Err(tungstenite::Error::Http(resp))) => {
                let status = resp.status().as_u16();
                let body = resp.body().as_deref().unwrap_or_default();
                let (error, detail) = super::http::api_error(body);
                match error.as_deref() {
                    Some("CursorTooOld") => Err(Refused::TooOld(detail)),
                    Some("UnknownZstdDictionary") => Err(Refused::UnknownDictionary),
                    _ => Err(Refused::Other(format!(
                        "{}: HTTP {status}: {}{detail}",
                        self.shown(),
                        error.map(|e| format!("{e}: ")).unwrap_or_default()
                    ))),
                }
            }
            Ok(Err(e)) => Err(Refused::Other(format!("{}: {e}", self.shown()))),
        }
    }

    /// Reads a connection until the run has caught up, the budget is spent or it drops.
    async fn read(
        &mut self,
        ws: &mut tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        reader: &mut Reader,
        resume: Resume,
        seen: &mut Option<u64>,
        start_us: i64,
    ) -> Result<Ended, Stop> {
        let ctx = self.account.ctx;
        loop {
            let until = ctx.deadline.min(Instant::now() + IDLE);
            let message = match tokio::time::timeout_at(until.into(), ws.next()).await {
                Err(_) if Instant::now() >= ctx.deadline => return Ok(Ended::Budget),
                Err(_) => return Ok(Ended::CaughtUp),
                Ok(None) => return Ok(Ended::Dropped("the server closed the connection".into())),
                Ok(Some(Err(e))) => return Ok(Ended::Dropped(e.to_string())),
                Ok(Some(Ok(m))) => m,
            };
            let frame = match &message {
                Message::Text(t) => reader.read(t.as_bytes(), false),
                Message::Binary(b) => reader.read(b, true),
                Message::Close(_) => {
                    return Ok(Ended::Dropped("the server closed the stream".into()));
                }
                _ => continue,
            }
            .map_err(|e| Stop::Other(format!("{}: {e}", self.shown())))?;
            match frame {
                Frame::Info { name, message } => {
                    if name == "OutdatedCursor"
                        && self.gap_from.is_none()
                        && let Resume::Time(t) = resume
                    {
                        self.gap_from = Some(t);
                    }
                    ctx.log(format!(
                        "bluesky jetstream: the server says {name}: {message}"
                    ));
                }
                Frame::Error { name, message } => {
                    return Ok(Ended::Dropped(format!("{name}: {message}")));
                }
                Frame::Event { seq, time_us, what } => {
                    if seen.is_some_and(|s| seq <= s) {
                        continue;
                    }
                    *seen = Some(seq);
                    self.event(seq, time_us, what);
                    if self.pending.len() >= COMMIT_POSTS
                        || self.last_commit.elapsed() >= COMMIT_EVERY
                    {
                        self.commit().await?;
                    }
                    if time_us >= start_us {
                        return Ok(Ended::CaughtUp);
                    }
                }
            }
        }
    }

    /// Applies one new event.
    fn event(&mut self, seq: u64, time_us: i64, what: What) {
        if let Some(from) = self.gap_from.take()
            && time_us.div_euclid(1_000_000) > from.div_euclid(1_000_000)
        {
            let gap = Gap {
                from: from.div_euclid(1_000_000),
                to: time_us.div_euclid(1_000_000),
            };
            self.account.ctx.log(format!(
                "bluesky jetstream: no data between {} and {} (the server no longer held it); \
                 recorded as a gap",
                crate::time::format_rfc3339(gap.from),
                crate::time::format_rfc3339(gap.to)
            ));
            self.stream().gaps.push(gap);
        }
        self.tally.events += 1;
        self.tally.first_us.get_or_insert(time_us);
        match what {
            What::Nothing => {}
            What::Keep(p) => {
                self.tally.kept += 1;
                self.pending.push(*p);
            }
            What::Deleted(uri) => {
                let before = self.pending.len();
                self.pending.retain(|p| p.id != uri);
                self.tally.kept -= before - self.pending.len();
                let did = did_of(&uri).unwrap_or_default();
                if self.known.get_mut(did).is_some_and(|s| s.remove(&uri)) {
                    self.tally.deletions += 1;
                    self.account.deleted(uri);
                }
            }
            What::AccountDeleted(did) => {
                let before = self.pending.len();
                self.pending.retain(|p| p.author != did);
                self.tally.kept -= before - self.pending.len();
                for uri in self.known.remove(&did).unwrap_or_default() {
                    self.tally.deletions += 1;
                    self.account.deleted(uri);
                }
            }
        }
        let s = self.stream();
        s.seq = Some(seq);
        s.time_us = Some(time_us);
    }

    /// Stores the pending posts with the position that covers them.
    async fn commit(&mut self) -> Result<(), Stop> {
        let mut posts = std::mem::take(&mut self.pending);
        self.profiles(&mut posts).await?;
        for p in &posts {
            if let Some(did) = did_of(&p.id) {
                self.known
                    .entry(did.to_string())
                    .or_default()
                    .insert(p.id.to_string());
            }
        }
        self.last_commit = Instant::now();
        self.account.commit(posts).await
    }
}

impl Collector<'_> {
    /// Sets the authors' follower counts and opt-outs, reading the profiles not read yet this
    /// run. A failed read is said once; those posts keep no count and no opt-out.
    async fn profiles(&mut self, posts: &mut [Post<'static>]) -> Result<(), Stop> {
        let ctx = self.account.ctx;
        let missing: BTreeSet<String> = posts
            .iter()
            .filter(|p| !self.profiles.contains_key(p.author.as_ref()))
            .map(|p| p.author.to_string())
            .collect();
        let missing: Vec<String> = missing.into_iter().collect();
        let base = ctx.base_url("bluesky", super::bluesky::DEFAULT_BASE)?;
        for chunk in missing.chunks(25) {
            if self.profiles_failed {
                break;
            }
            let mut url = base.join(GET_PROFILES).expect("a valid path");
            url.query_pairs_mut()
                .extend_pairs(chunk.iter().map(|a| ("actors", a)));
            match ctx.client("bluesky").get_json::<Profiles>(url, None).await {
                Ok(r) => {
                    for p in r.body.profiles {
                        let out = p.labels.iter().any(|l| l.val == NO_UNAUTHENTICATED);
                        self.profiles.insert(p.did, (p.followers_count, out));
                    }
                }
                Err(HttpError::Budget) => return Err(Stop::Http(HttpError::Budget)),
                Err(e) => {
                    self.profiles_failed = true;
                    ctx.log(format!(
                        "bluesky jetstream: cannot read authors' profiles ({e}); follower counts \
                         and opt-outs are unknown for the posts kept this run"
                    ));
                }
            }
        }
        for p in posts.iter_mut() {
            if let Some(&(followers, out)) = self.profiles.get(p.author.as_ref()) {
                p.followers = followers;
                p.opted_out = out;
            }
        }
        Ok(())
    }
}

/// The id of a zstd dictionary (its bytes 4 to 8), if `bytes` is one.
pub fn dictionary_id(bytes: &[u8]) -> Option<u32> {
    let word = |i: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?))
    };
    (word(0)? == DICTIONARY_MAGIC).then_some(())?;
    word(4).filter(|&id| id != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRAND: &str = "did:plc:acmesupportbrandtestaaaa";

    fn reader(dictionary: Option<&[u8]>) -> Reader {
        let brands = Brands::new([(
            BRAND.to_string(),
            "acme".to_string(),
            "acme-support.bsky.social".to_string(),
        )]);
        Reader::new(brands, dictionary, 1 << 20).unwrap()
    }

    fn commit(did: &str, operation: &str, record: serde_json::Value) -> String {
        serde_json::json!({"$type": "message", "payload": {
            "$type": "network.bsky.jetstream.subscribeEvents#commit", "seq": 7, "did": did,
            "time": "2026-07-04T14:39:08.085434Z", "rev": "r", "operation": operation,
            "collection": "app.bsky.feed.post", "rkey": "3k", "cid": "c", "record": record}})
        .to_string()
    }

    fn kept(frame: &str) -> Option<Post<'static>> {
        match reader(None).read(frame.as_bytes(), false).unwrap() {
            Frame::Event {
                seq: 7,
                time_us: 1_783_175_948_085_434,
                what: What::Keep(p),
            } => Some(*p),
            Frame::Event {
                what: What::Nothing,
                ..
            } => None,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_brand_did_outside_a_mention_facet_or_reply_ref_does_not_keep_a_post() {
        // The DID in a link, or a mention of someone else: not addressed to the brand.
        let link = serde_json::json!({"text": "see", "createdAt": "2026-07-04T14:39:00Z",
            "facets": [{"features": [{"$type": "app.bsky.richtext.facet#link",
                "uri": format!("https://bsky.app/profile/{BRAND}")}]}]});
        assert_eq!(kept(&commit("did:plc:someone", "create", link)), None);
        let other = serde_json::json!({"text": "hi", "facets": [{"features": [
            {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:other"}]}]});
        assert_eq!(kept(&commit("did:plc:someone", "create", other)), None);
    }

    #[test]
    fn a_reply_whose_root_is_a_brand_post_is_kept_for_that_brand() {
        let root = format!("at://{BRAND}/app.bsky.feed.post/3root");
        let record = serde_json::json!({"text": "me too", "langs": ["fr", "en"],
            "createdAt": "2026-07-04T14:39:01.500Z",
            "reply": {"parent": {"uri": "at://did:plc:c1/app.bsky.feed.post/3p", "cid": "x"},
                      "root": {"uri": root, "cid": "y"}}});
        let p = kept(&commit("did:plc:c2", "create", record)).unwrap();
        assert_eq!(p.id, "at://did:plc:c2/app.bsky.feed.post/3k");
        assert_eq!(p.author, "did:plc:c2");
        assert_eq!(p.to_brand.as_deref(), Some("acme"));
        assert_eq!(p.brand, None);
        assert_eq!(
            p.reply_to.as_deref(),
            Some("at://did:plc:c1/app.bsky.feed.post/3p")
        );
        assert_eq!(p.lang.as_deref(), Some("fr"));
        assert_eq!(p.created_at, 1_783_175_948);
        assert_eq!(p.declared_at, Some(1_783_175_941));
    }

    #[test]
    fn deletes_and_account_deletions_are_told_apart_from_deactivations() {
        let mut r = reader(None);
        let delete = serde_json::json!({"$type": "message", "payload": {
            "$type": "network.bsky.jetstream.subscribeEvents#commit", "seq": 8,
            "did": "did:plc:c1", "time": "2026-07-04T14:39:08Z", "rev": "r",
            "operation": "delete", "collection": "app.bsky.feed.post", "rkey": "3k"}});
        assert_eq!(
            r.read(delete.to_string().as_bytes(), false).unwrap(),
            Frame::Event {
                seq: 8,
                time_us: 1_783_175_948_000_000,
                what: What::Deleted("at://did:plc:c1/app.bsky.feed.post/3k".into())
            }
        );
        let account = |active: bool, status: &str| {
            serde_json::json!({"$type": "message", "payload": {
                "$type": "network.bsky.jetstream.subscribeEvents#account", "seq": 9,
                "did": "did:plc:c1", "time": "2026-07-04T14:39:08Z",
                "account": {"active": active, "status": status, "did": "did:plc:c1"}}})
            .to_string()
        };
        let what = |r: &mut Reader, f: String| match r.read(f.as_bytes(), false).unwrap() {
            Frame::Event { what, .. } => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            what(&mut r, account(false, "deleted")),
            What::AccountDeleted("did:plc:c1".into())
        );
        assert_eq!(what(&mut r, account(false, "deactivated")), What::Nothing);
    }

    #[test]
    fn info_and_error_frames_are_read_and_a_bad_frame_is_a_clear_error() {
        let mut r = reader(None);
        let info = r#"{"$type":"message","payload":{"$type":"network.bsky.jetstream.subscribeEvents#info","name":"OutdatedCursor","message":"clamped to seq 50"}}"#;
        assert_eq!(
            r.read(info.as_bytes(), false).unwrap(),
            Frame::Info {
                name: "OutdatedCursor".into(),
                message: "clamped to seq 50".into()
            }
        );
        let error = r#"{"$type":"error","error":"ConsumerTooSlow","message":"bye"}"#;
        assert!(
            matches!(r.read(error.as_bytes(), false).unwrap(), Frame::Error { name, .. } if name == "ConsumerTooSlow")
        );
        let e = r.read(b"{\"seq\":1}", false).unwrap_err();
        assert!(e.contains("not a Jetstream message"), "{e}");
        let e = r.read(b"\x28\xb5\x2f\xfd", true).unwrap_err();
        assert!(e.contains("no zstd dictionary"), "{e}");
    }

    #[test]
    fn compressed_frames_with_the_real_dictionary_read_as_the_plain_ones() {
        let dict = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/jetstream/subscribe_events_20260811.zdict"),
        )
        .unwrap();
        assert_eq!(dictionary_id(&dict), Some(20_260_811));
        assert_eq!(dictionary_id(b"not a dictionary"), None);
        let record = serde_json::json!({"text": "@acme-support.bsky.social help", "facets": [
            {"features": [{"$type": "app.bsky.richtext.facet#mention", "did": BRAND}],
             "index": {"byteStart": 0, "byteEnd": 25}}]});
        let frame = commit("did:plc:c1", "create", record);
        let packed = zstd::bulk::Compressor::with_dictionary(3, &dict)
            .unwrap()
            .compress(frame.as_bytes())
            .unwrap();
        let mut r = reader(Some(&dict));
        let a = r.read(&packed, true).unwrap();
        assert_eq!(a, r.read(frame.as_bytes(), false).unwrap());
        let Frame::Event {
            what: What::Keep(p),
            ..
        } = a
        else {
            panic!("{a:?}")
        };
        assert_eq!(p.mentions, ["acme-support.bsky.social"]);
        assert_eq!(p.to_brand.as_deref(), Some("acme"));
    }
}
