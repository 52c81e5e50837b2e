//! `replyrank.toml`: the site root's configuration. Every key is optional; unknown keys are an
//! error that names the key and its line, so a typo never turns into a silent default.
//!
//! ```toml
//! base_url = "https://example.org/replyrank/"  # where the site is published (citations, feeds);
//!                                              # unset: links from the site's root, and a warning
//! title = "replyrank"                          # the site's name
//! languages = ["en", "fr"]                     # the first is served at /, the others at /<lang>/
//! publisher = "replyrank"                      # who publishes it, for citations
//! leaderboard_rows = 100                       # ranked brands on the front page (all at /ranking/)
//!
//! [ranking]
//! window_days = 90        # complaints made in the trailing N days up to as-of are ranked
//! min_complaints = 30     # fewer complaints in the window: listed as "not enough data"
//! bootstrap = 1000        # resamples for the score and rank intervals (at least 1000)
//! seed = 20171031         # seed of the bootstrap; same data + seed = same output
//!
//! [archive]
//! keep_full = "quarter"   # earlier snapshots kept whole: the last of each "quarter" or
//!                         # "month", or "all"; the others keep only their
//!                         # data/leaderboard.csv and a page saying so
//!
//! [sources.app-store]     # any source by name (twcs, x, bluesky, mastodon, or a pairs source)
//! coverage = "Reviews with developer replies; reviews deleted by their author are not seen."
//!
//! [collect]               # live collection (`replyrank collect`); defaults shown
//! contact = "mailto:you@example.org"  # sent in the User-Agent: replyrank/<version> (+contact)
//! time_budget_s = 1800    # the run stops cleanly after this; the next run resumes
//! concurrency_per_host = 4  # requests in flight per host
//! max_retries = 4         # retries on 429, 5xx, timeouts, cut-off bodies (backoff with jitter)
//! backoff_ms = 500        # first backoff, doubled per retry, at most 60 s
//! timeout_ms = 30000      # per request (never beyond the time budget)
//! max_body_mib = 32       # largest response body read, after decompression; larger fails
//!
//! [sources.bluesky]       # collect sources also take:
//! base_url = "https://public.api.bsky.app"  # AppView for public reads (tests: a local server)
//! auth_url = "https://bsky.social"           # Bluesky only: login and search (with credentials)
//! requests_per_second = 5 # per host; default 5 for bluesky, 1 for mastodon and x
//! jetstream = true        # Bluesky only: read every public mention from the network's event
//!                         # stream (one connection for all brands; false: thread walk only)
//! jetstream_url = "wss://jetstream1.us-east.bsky.network"  # its server (tests: ws://127.0.0.1:…)
//! jetstream_zstd = true   # compressed frames (dictionary fetched from the server once a run)
//!
//! [sources.mastodon]
//! base_url = "http://127.0.0.1:8080"  # replaces every account's home instance (tests only)
//!
//! [sources.x]
//! base_url = "https://api.x.com"
//! max_posts_per_run = 500 # X bills per read: the run stops cleanly after this many post
//!                         # reads (a user read counts 2), shared fairly by the X accounts
//! ```
//!
//! A source's coverage statement is resolved by [`crate::source::coverage`]: this file's
//! `[sources.NAME] coverage`, else what the last `collect` could see, else the built-in one.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::root::SiteRoot;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub base_url: String,
    pub title: String,
    pub publisher: String,
    pub languages: Vec<String>,
    pub leaderboard_rows: usize,
    pub ranking: Ranking,
    pub sources: BTreeMap<String, SourceConfig>,
    pub collect: Collect,
    pub archive: Archive,
}

/// `[archive]`: which earlier dated snapshots stay whole (see `site::output`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Archive {
    pub keep_full: KeepFull,
}

/// Which earlier snapshots a build keeps whole: today's always, and the last one of each
/// period; the others are thinned to their data download.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeepFull {
    /// The last snapshot of each month.
    Month,
    /// The last snapshot of each quarter.
    #[default]
    Quarter,
    /// Every snapshot (a full copy of the site a day).
    All,
}

impl KeepFull {
    /// The period a `YYYY-MM-DD` date falls in (`2026-Q1`, `2026-03`); `None` for `All` (each
    /// snapshot its own period).
    pub fn period(self, date: &str) -> Option<String> {
        let (year, month) = (date.get(..4)?, date.get(5..7)?.parse::<u8>().ok()?);
        match self {
            KeepFull::Month => Some(format!("{year}-{month:02}")),
            KeepFull::Quarter => Some(format!("{year}-Q{}", month.div_ceil(3))),
            KeepFull::All => None,
        }
    }
}

/// `[collect]`: limits of live collection (see the module doc for defaults).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Collect {
    pub contact: Option<String>,
    pub time_budget_s: u64,
    pub concurrency_per_host: usize,
    pub max_retries: u32,
    pub backoff_ms: u64,
    pub timeout_ms: u64,
    pub max_body_mib: u64,
}

impl Default for Collect {
    fn default() -> Collect {
        Collect {
            contact: None,
            time_budget_s: 1800,
            concurrency_per_host: 4,
            max_retries: 4,
            backoff_ms: 500,
            timeout_ms: 30_000,
            max_body_mib: 32,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            base_url: String::new(),
            title: "replyrank".into(),
            publisher: "replyrank".into(),
            languages: vec!["en".into(), "fr".into()],
            leaderboard_rows: 100,
            ranking: Ranking::default(),
            sources: BTreeMap::new(),
            collect: Collect::default(),
            archive: Archive::default(),
        }
    }
}

/// Interface languages the built-in templates are translated into.
pub const LANGUAGES: [&str; 2] = ["en", "fr"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ranking {
    /// The scoring method's version: 2 (default), or 1 to reproduce version-1 figures.
    pub method: crate::method::Version,
    /// What ranks brands: `reply` (any first reply, as version 1) or `answer` (a public answer
    /// that does not send the customer elsewhere).
    pub score: ScoreBasis,
    pub window_days: u32,
    pub min_complaints: usize,
    pub bootstrap: usize,
    pub seed: u64,
}

impl Default for Ranking {
    fn default() -> Ranking {
        Ranking {
            method: crate::method::Version::default(),
            score: ScoreBasis::Reply,
            window_days: 90,
            min_complaints: 30,
            bootstrap: 1000,
            seed: 20_171_031,
        }
    }
}

/// What the score is computed over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreBasis {
    /// Replied within 1 h and within 24 h (any first reply).
    #[default]
    Reply,
    /// Answered in public within 1 h and within 24 h (the first reply that does not deflect).
    Answer,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// What this source can and cannot see, shown next to every figure built from it.
    pub coverage: Option<String>,
    /// Collect sources: the API's base URL (Mastodon: replaces every account's home instance).
    pub base_url: Option<String>,
    /// Bluesky: where to log in and search when credentials are set.
    pub auth_url: Option<String>,
    /// Collect sources: requests per second per host.
    pub requests_per_second: Option<f64>,
    /// X: post reads per run at most (X bills per read; a user read counts 2).
    pub max_posts_per_run: Option<u64>,
    /// Whether the source's terms allow quoting a brand's posts (a template's text on the brand
    /// page). Default: true for archives (TWCS, pairs), false for collected sources (X's terms
    /// do not allow it, and the published store keeps no text of theirs).
    pub quote_brand_posts: Option<bool>,
    /// Bluesky: read mentions from the network's event stream (default true).
    pub jetstream: Option<bool>,
    /// Bluesky: the Jetstream server (`wss://` or `ws://`).
    pub jetstream_url: Option<String>,
    /// Bluesky: ask Jetstream for zstd-compressed frames (default true).
    pub jetstream_zstd: Option<bool>,
}

impl Config {
    /// Whether a template's text from `source` may be shown (see
    /// [`SourceConfig::quote_brand_posts`]).
    pub fn quotes_brand_posts(&self, source: &str) -> bool {
        self.sources
            .get(source)
            .and_then(|s| s.quote_brand_posts)
            .unwrap_or(!crate::publish::pseudonymised(source))
    }

    /// Reads `replyrank.toml` in `root`; a missing file means all defaults.
    pub fn load(root: &SiteRoot) -> Result<Config> {
        let path = root.config();
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| toml_error(&path.display().to_string(), text, &e))?;
        // `file:line:` of the first line setting `key` (or naming it, for a table).
        let at = |key: &str| format!("{}:{}", path.display(), key_line(text, key));
        if config.ranking.window_days == 0 {
            bail!(
                "{}: [ranking] window_days must be at least 1",
                at("window_days")
            );
        }
        if config.ranking.method == crate::method::Version::V1
            && config.ranking.score == ScoreBasis::Answer
        {
            bail!(
                "{}: [ranking] score = \"answer\" needs method = 2 (version 1 cannot tell an \
                 answer from a reply that sends the customer elsewhere)",
                at("score")
            );
        }
        if config.ranking.bootstrap < 1000 {
            bail!(
                "{}: [ranking] bootstrap = {} is too few for a 95% interval; use at least 1000",
                at("bootstrap"),
                config.ranking.bootstrap
            );
        }
        if config.languages.is_empty() {
            bail!(
                "{}: languages must name at least one language",
                at("languages")
            );
        }
        for lang in &config.languages {
            if !LANGUAGES.contains(&lang.as_str()) {
                bail!(
                    "{}: language {lang:?} has no translation; available: {}",
                    at("languages"),
                    LANGUAGES.join(", ")
                );
            }
        }
        let url = std::mem::take(&mut config.base_url);
        if !url.is_empty() {
            config.set_base_url(
                &url,
                &format!(
                    "{}:{}: base_url",
                    path.display(),
                    key_line(text, "base_url")
                ),
            )?;
        }
        if config.collect.max_body_mib == 0 || config.collect.max_body_mib > 4096 {
            bail!(
                "{}: [collect] max_body_mib must be between 1 and 4096",
                at("max_body_mib")
            );
        }
        if config.collect.concurrency_per_host == 0 {
            bail!(
                "{}: [collect] concurrency_per_host must be at least 1",
                at("concurrency_per_host")
            );
        }
        for (name, s) in &config.sources {
            if s.requests_per_second
                .is_some_and(|r| r.is_nan() || r <= 0.0)
            {
                bail!(
                    "{}: [sources.{name}] requests_per_second must be more than 0",
                    at("requests_per_second")
                );
            }
            if !crate::source::is_valid_name(name) {
                bail!(
                    "{}: [sources.{name}]: a source name is lowercase letters, digits and '-'",
                    at(name)
                );
            }
        }
        Ok(config)
    }

    /// The warning `build` and `check` print when `base_url` is not set, else `None`.
    pub fn base_url_warning(&self) -> Option<&'static str> {
        self.base_url.is_empty().then_some(
            "warning: base_url is not set in replyrank.toml: the site works from its root, but citations, embed and badge snippets, the feed and the sitemap carry paths (/brand/x/), not full addresses, and the pages say so; set base_url = \"https://…/\"",
        )
    }

    /// Sets `base_url` (with a trailing `/`) after checking it is an absolute http(s) URL that
    /// is safe to write into links, feeds and robots.txt; an error starts with `source`.
    pub fn set_base_url(&mut self, url: &str, source: &str) -> Result<()> {
        if let Err(why) = check_base_url(url) {
            bail!(
                "{source} = {url:?} {why}; use an address such as https://example.org/replyrank/"
            );
        }
        self.base_url = if url.ends_with('/') {
            url.to_string()
        } else {
            format!("{url}/")
        };
        Ok(())
    }
}

/// Why `url` cannot be the site's base URL, if it cannot: it must be an absolute http:// or
/// https:// URL with a host, no query or fragment, and nothing that could end an HTML
/// attribute or a line (whitespace, control characters, quotes, `<`, `>`, backslash).
fn check_base_url(url: &str) -> std::result::Result<(), String> {
    if let Some(c) = url.chars().find(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "contains a space or control character ({c:?}), which would break links and robots.txt"
        ));
    }
    if let Some(c) = url.chars().find(|c| "\"'<>`\\{}|^".contains(*c)) {
        return Err(format!("contains {c:?}, which has no place in a link"));
    }
    let parsed = url::Url::parse(url)
        .map_err(|e| format!("is not an absolute http:// or https:// URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
        return Err("must be an absolute http:// or https:// URL".into());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("must not have a query (?) or fragment (#): pages are appended to it".into());
    }
    Ok(())
}

/// The 1-based line of a byte offset in a text.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The 1-based line of the first line of a TOML text that mentions `key` as a key (`key =`,
/// `a.key =`, `[a.key]`), for errors found after parsing; 1 when none does.
pub fn key_line(text: &str, key: &str) -> usize {
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.lines()
        .position(|line| {
            line.match_indices(key).any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + key.len()..].trim_start().chars().next();
                !before.is_some_and(is_key_char) && matches!(after, Some('=' | ']' | '.'))
            })
        })
        .map_or(1, |i| i + 1)
}

/// A TOML error as `file:line: message`.
pub fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> anyhow::Error {
    match e.span() {
        Some(span) => anyhow::anyhow!(
            "{file}:{}: {}",
            line_of(text, span.start),
            e.message().trim()
        ),
        // Errors without a place (rare) are about the document as a whole.
        None => anyhow::anyhow!("{file}:1: {}", e.message().trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_empty() {
        let c = Config::parse("", Path::new("replyrank.toml")).unwrap();
        assert_eq!(c.ranking.window_days, 90);
        assert_eq!(c.ranking.min_complaints, 30);
        assert_eq!(c.ranking.bootstrap, 1000);
        assert_eq!(c.collect.max_body_mib, 32);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = Config::parse(
            "[ranking]\nwindow_days = 30\nmin_complaint = 5\n",
            Path::new("replyrank.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("replyrank.toml:3:"), "{err}");
        assert!(err.contains("min_complaint"), "{err}");
    }

    #[test]
    fn checks_after_parsing_name_the_line_of_the_key() {
        let text = "title = \"x\"\n\n[ranking]\nseed = 1\nwindow_days = 0\n";
        let e = Config::parse(text, Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:5: [ranking] window_days"), "{e}");
        let e = Config::parse("ranking.bootstrap = 10\n", Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:1: [ranking] bootstrap"), "{e}");
        let text = "[sources.bluesky]\ncoverage = \"a\"\n[sources.Bad_Name]\ncoverage = \"b\"\n";
        let e = Config::parse(text, Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:3:"), "{e}");
        let text = "[collect]\nconcurrency_per_host = 0\n";
        let e = Config::parse(text, Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:2:"), "{e}");
        let text = "[ranking]\nmethod = 1\nscore = \"answer\"\n";
        let e = Config::parse(text, Path::new("r.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:3: [ranking] score"), "{e}");
    }

    #[test]
    fn base_url_is_an_http_url_safe_to_write() {
        let parse = |t: &str| Config::parse(t, Path::new("r.toml")).map(|c| c.base_url);
        assert_eq!(
            parse("base_url = \"https://example.org/rr\"").unwrap(),
            "https://example.org/rr/"
        );
        for (text, why) in [
            (
                "base_url = \"javascript:alert(1)//\"",
                "http:// or https://",
            ),
            (
                "title = \"x\"\nbase_url = \"https://a.org/\\nDisallow: /\"",
                "control",
            ),
            (
                "base_url = \"https://a.org/\\\"><script>\"",
                "no place in a link",
            ),
            ("base_url = \"/relative/\"", "absolute"),
            ("base_url = \"https://a.org/?x=1\"", "query"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            let line = text
                .lines()
                .position(|l| l.starts_with("base_url"))
                .unwrap()
                + 1;
            assert!(
                err.starts_with(&format!("r.toml:{line}: base_url = ")),
                "{err}"
            );
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
