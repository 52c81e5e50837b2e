//! The scoring pipeline of a site root: config + registry + store → leaderboard.

use anyhow::{Result, bail};

use crate::config::Config;
use crate::corpus::Corpus;
use crate::registry::Registry;
use crate::root::SiteRoot;
use crate::score::{DataQuality, Inputs, Leaderboard, Method, SourceInfo};
use crate::store::{Notice, Store};

/// A scored site root, with what loading it noticed.
pub struct Scored {
    pub leaderboard: Leaderboard,
    /// What loading the store noticed (with file:line): for the terminal, never published.
    pub notices: Vec<Notice>,
    /// Company accounts and brand ids the data names that the registry lacks (`source:name` →
    /// posts): for the terminal, never published.
    pub unregistered: std::collections::BTreeMap<String, usize>,
}

impl Scored {
    /// Prints what the run noticed to stderr.
    pub fn warn(&self) {
        for n in &self.notices {
            eprintln!("warning: {n}");
        }
        if let Some(line) = Registry::describe_unregistered(&self.unregistered) {
            eprintln!("warning: {line}");
        }
    }
}

/// Loads the registry and store under `root` and scores them with `config` as of `as_of`
/// (default: the newest post). With `verbose`, each step's time goes to stderr.
pub fn run(root: &SiteRoot, config: &Config, as_of: Option<i64>, verbose: bool) -> Result<Scored> {
    let mut clock = Steps::new(verbose);
    let registry = Registry::load(root)?;
    let store = Store::open(root)?;
    clock.step("open registry and store");
    let corpus = Corpus::load(&store, &registry)?;
    clock.step("load the store");
    let Some(as_of) = as_of.or_else(|| corpus.default_as_of()) else {
        bail!(
            "the store {} holds no posts: import some first (replyrank import FILE --format twcs)",
            store.dir().display()
        );
    };
    let pairing = crate::pair::pair(&corpus, as_of, config.ranking.method);
    clock.step("pair complaints and first replies");
    let collected = crate::source::CollectionState::load(root)?;
    let sources: Vec<SourceInfo> = corpus
        .sources
        .iter()
        .map(|name| SourceInfo {
            name: name.clone(),
            coverage: crate::source::coverage(name, config, &collected),
        })
        .collect();
    let method = Method {
        as_of,
        version: config.ranking.method,
        score: config.ranking.score,
        window_days: config.ranking.window_days,
        min_complaints: config.ranking.min_complaints,
        bootstrap: config.ranking.bootstrap,
        seed: config.ranking.seed,
    };
    let data_quality = DataQuality {
        posts: corpus.quality.posts,
        complaints: pairing.complaints.len(),
        duplicate_ids: corpus.quality.duplicate_ids,
        invalid_lines: corpus.quality.invalid_lines,
        pairing: pairing.quality.clone(),
        unregistered_accounts: corpus.quality.unregistered_accounts.len(),
        store_notices: corpus.notices.len(),
    };
    let leaderboard = crate::score::score(
        &pairing.complaints,
        &Inputs {
            registry: &registry,
            sources: &sources,
            method: &method,
            data_quality,
            templates: &corpus.templates,
        },
    );
    clock.step("score, intervals and ranks");
    Ok(Scored {
        leaderboard,
        notices: corpus.notices,
        unregistered: corpus.quality.unregistered_accounts,
    })
}

/// `replyrank build` (and `serve`): checks the output folder can be built into, loads the
/// config (`base_url` overridden by `--base-url`), scores the store as of `as_of` and renders
/// the site.
pub fn build(
    root: &SiteRoot,
    base_url: Option<&str>,
    as_of: Option<i64>,
    verbose: bool,
) -> Result<crate::site::Report> {
    crate::site::preflight(root)?;
    let mut config = Config::load(root)?;
    if let Some(url) = base_url {
        config.set_base_url(url, "--base-url")?;
    }
    let scored = run(root, &config, as_of, verbose)?;
    scored.warn();
    crate::site::render(
        root,
        &config,
        &scored.leaderboard,
        &crate::site::Options { verbose },
    )
}

/// Times the steps of a run, printing each to stderr when verbose.
pub struct Steps {
    verbose: bool,
    last: std::time::Instant,
}

impl Steps {
    pub fn new(verbose: bool) -> Steps {
        Steps {
            verbose,
            last: std::time::Instant::now(),
        }
    }

    pub fn step(&mut self, what: &str) {
        if self.verbose {
            eprintln!("{:>8.3} s  {what}", self.last.elapsed().as_secs_f64());
        }
        self.last = std::time::Instant::now();
    }
}
