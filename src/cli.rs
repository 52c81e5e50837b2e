//! Command-line interface definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use replyrank::import::{ColumnMap, Format};

#[derive(Parser)]
#[command(
    name = "replyrank",
    version,
    about = "Does a brand answer public complaints, and how fast?"
)]
pub struct Cli {
    /// Site root: holds replyrank.toml, data/brands.toml and the store under data/
    #[arg(long, global = true, default_value = ".")]
    pub root: PathBuf,

    /// Print each step's time to stderr
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Import archived posts or paired complaints into the store (idempotent)
    Import {
        /// Files to import
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// What the files are
        #[arg(long, value_enum)]
        format: Format,
        /// pairs: the source name to store the rows under (e.g. app-store)
        #[arg(long, default_value = "pairs")]
        source: String,
        /// pairs: column names, e.g. brand=appId,complaint_id=reviewId,complaint_at=at,reply_at=repliedAt
        #[arg(long, default_value = "")]
        columns: ColumnMap,
        /// pairs: strftime format of the timestamps (default: ISO 8601 / RFC 3339, or Unix seconds)
        #[arg(long)]
        time_format: Option<String>,
        /// pairs: time zone of timestamps without an offset (IANA name)
        #[arg(long, default_value = "UTC")]
        tz: String,
    },
    /// Score the store and build the static site (the main job)
    Build {
        /// Where the site is written: built beside it and swapped in whole; earlier snapshots
        /// under archive/ and files no build wrote are kept
        #[arg(long, default_value = "public")]
        output: PathBuf,
        /// Where the site will be published (overrides base_url in replyrank.toml)
        #[arg(long)]
        base_url: Option<String>,
        /// The instant the figures are computed at (RFC 3339 or a date); default: the newest post
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Validate config, registry, templates and methodology, and check every internal link of the built site
    Check {
        /// The built site to check
        #[arg(long, default_value = "public")]
        output: PathBuf,
    },
    /// Build, serve the site on localhost, and rebuild when content, templates, config or data change
    Serve {
        #[arg(long, default_value = "public")]
        output: PathBuf,
        /// Port on 127.0.0.1 (0: any free port, printed when serving starts)
        #[arg(long, default_value_t = 1111)]
        port: u16,
    },
    /// Fetch new public posts around each brand's accounts (Bluesky, Mastodon, X) into the store
    Collect {
        /// Only this brand (registry id); repeatable. Bluesky's Jetstream stream is read once
        /// for every brand whatever this says (its position is network-wide)
        #[arg(long = "brand")]
        brands: Vec<String>,
        /// Only this source (bluesky, mastodon, x); repeatable
        #[arg(long = "source")]
        sources: Vec<String>,
        /// Fetch back to this date (RFC 3339 or a date) even past the saved cursors (a backfill);
        /// default: from the cursors, or the ranking window on a first run
        #[arg(long)]
        since: Option<String>,
    },
    /// Measure a classifier against hand-labelled posts of the store (see data/labels/README.md)
    Eval {
        /// CSV with a header `tweet_id,deflect` (0/1) or `tweet_id,kind[,lang]`
        #[arg(long)]
        labels: PathBuf,
        /// The store source the tweet_ids belong to
        #[arg(long, default_value = "twcs")]
        source: String,
        /// Print the figures as one JSON object
        #[arg(long)]
        json: bool,
        /// Also list each misclassified post (label-file line, label, prediction, rule; no text)
        #[arg(long)]
        errors: bool,
    },
    /// Re-run the current classifiers over stored posts that still have their text and were
    /// classified by another version (rewrites each partition atomically)
    Reclassify {
        /// Only this source; repeatable
        #[arg(long = "source")]
        sources: Vec<String>,
    },
    /// Remove a post (its URL, at:// URI, or --source with its id) or every post of an account
    /// (@handle, DID, user@instance) from both stores, and never store it again
    Forget {
        /// What to forget: post URLs or URIs, or accounts
        #[arg(required = true)]
        targets: Vec<String>,
        /// The source of bare ids (x, bluesky, mastodon, twcs, …)
        #[arg(long)]
        source: Option<String>,
        /// With --source: the bare ids are accounts, not posts
        #[arg(long, requires = "source")]
        author: bool,
    },
    /// Turn a version-1 store into the published store and the private working store
    Migrate,
    /// Check that the published store and the given files name no customer (run before every
    /// commit or deploy of the data or the site; exits 1 on any finding)
    Audit {
        /// Files or folders to search (default: data/store, data/state and the site)
        paths: Vec<PathBuf>,
        /// The built site, searched when no paths are given
        #[arg(long, default_value = "public")]
        output: PathBuf,
    },
    /// Score every brand and write public/data/leaderboard.json
    Score {
        /// The instant the figures are computed at (RFC 3339 or a date); default: the newest post
        #[arg(long)]
        as_of: Option<String>,
        /// Where the site is written
        #[arg(long, default_value = "public")]
        output: PathBuf,
    },
}
