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
    run_reading(root, config, as_of, verbose, Read::Indexed)
}

/// How [`run_reading`] reads the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// Through the store's index, with the threads the window cannot reach sealed away (what
    /// `score` and `build` do).
    Indexed,
    /// Every line, neither using nor writing the index (the tests' reference).
    Full,
}

/// [`run`], reading the store as `read` says.
pub fn run_reading(
    root: &SiteRoot,
    config: &Config,
    as_of: Option<i64>,
    verbose: bool,
    read: Read,
) -> Result<Scored> {
    let mut clock = Steps::new(verbose);
    let registry = Registry::load(root)?;
    let store = Store::open(root)?;
    clock.step("open registry and store");
    let ranking = crate::corpus::Ranking {
        version: config.ranking.method,
        window_days: config.ranking.window_days,
        as_of,
    };
    let (corpus, seal, index) = match read {
        Read::Indexed => {
            let loaded = Corpus::load_for_ranking(&store, &registry, &root.index(), &ranking)?;
            (loaded.corpus, loaded.seal, loaded.used)
        }
        Read::Full => {
            let corpus = Corpus::load(&store, &registry)?;
            let used = crate::corpus::IndexUse {
                rebuilt: Some("a full read was asked for".into()),
                ..Default::default()
            };
            (corpus, None, used)
        }
    };
    let sealed: &[crate::corpus::SealedComplaint] = seal.as_ref().map_or(&[], |s| &s.complaints);
    clock.step(&format!(
        "load the store ({} posts from its index, {:.1} MB of JSON Lines parsed{}){}",
        index.reused_posts,
        index.parsed_bytes as f64 / 1e6,
        index
            .rebuilt
            .as_deref()
            .map(|w| format!(": {w}"))
            .unwrap_or_default(),
        match &seal {
            Some(s) if s.posts > 0 => format!(
                "; {} posts in threads sealed away ({} now)",
                s.posts, index.sealed_now
            ),
            _ => String::new(),
        }
    ));
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
            gaps: collected.gaps.get(name).cloned().unwrap_or_default(),
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
    let mut pairing_quality = pairing.quality.clone();
    if let Some(seal) = &seal {
        pairing_quality.add(&seal.quality);
    }
    let data_quality = DataQuality {
        posts: corpus.quality.posts,
        complaints: pairing.complaints.len() + sealed.len(),
        duplicate_ids: corpus.quality.duplicate_ids,
        invalid_lines: corpus.quality.invalid_lines,
        pairing: pairing_quality,
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
            sealed,
        },
    );
    clock.step("score, intervals and ranks");
    let mut leaderboard = leaderboard;
    template_examples(&store, &corpus, config, &mut leaderboard)?;
    clock.step("template examples");
    let mut notices = corpus.notices;
    if let Some(error) = index.not_written {
        notices.push(Notice::IndexNotWritten { error });
    }
    Ok(Scored {
        leaderboard,
        notices,
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

/// Fills in each template's text (when its source allows quoting the brand's posts, and two of
/// its replies to different customers read the same once what changes between customers is
/// taken out) or a link to one of its replies on the network. Reads only the partitions
/// holding the examples.
fn template_examples(
    store: &Store,
    corpus: &Corpus,
    config: &Config,
    lb: &mut crate::score::Leaderboard,
) -> Result<()> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    let mut files: BTreeSet<std::path::PathBuf> = BTreeSet::new();
    for t in lb
        .brands
        .iter()
        .flat_map(|b| b.canned.iter().flat_map(|c| &c.templates))
    {
        for &p in &t.examples {
            let (source, id) = corpus.id(p);
            wanted.insert((source.to_string(), id.to_string()));
            let month = crate::time::month_of(corpus.posts[p as usize].at);
            files.insert(store.dir().join(source).join(format!("{month}.jsonl")));
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    /// A stored example reply: its text, network id and author.
    struct Example {
        text: Option<String>,
        network_id: Option<String>,
        author: String,
    }
    let mut found: BTreeMap<(String, String), Example> = BTreeMap::new();
    // Only lines whose `"id"` (the second key, as the store writes it) is a wanted one are
    // parsed, chunks in parallel: reading the partitions costs about what reading their bytes
    // costs.
    let ids: rustc_hash::FxHashSet<&str> = wanted.iter().map(|(_, id)| id.as_str()).collect();
    let finder = memchr::memmem::Finder::new(b"\"id\":\"");
    let may_be_wanted = |line: &[u8]| {
        let head = &line[..line.len().min(160)];
        let Some(at) = finder.find(head) else {
            return true; // not as the store writes it: parse it to be sure
        };
        let rest = &line[at + 6..];
        match memchr::memchr2(b'"', b'\\', rest) {
            Some(end) if rest[end] == b'"' => {
                std::str::from_utf8(&rest[..end]).is_ok_and(|id| ids.contains(id))
            }
            _ => true,
        }
    };
    for file in files.iter().filter(|f| f.exists()) {
        crate::store::line_blocks(file, |chunks, _| {
            use rayon::prelude::*;
            let hits: Vec<((String, String), Example)> = chunks
                .par_iter()
                .flat_map_iter(|&(first, chunk)| {
                    crate::store::lines_of(first, chunk)
                        .filter(|(_, line)| may_be_wanted(line))
                        .filter_map(|(_, line)| {
                            let p = serde_json::from_slice::<crate::post::Post>(line).ok()?;
                            let key = (p.source.to_string(), p.id.to_string());
                            wanted.contains(&key).then(|| {
                                (
                                    key,
                                    Example {
                                        text: p.text.map(|t| t.into_owned()),
                                        network_id: p.network_id.map(|n| n.into_owned()),
                                        author: p.author.into_owned(),
                                    },
                                )
                            })
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            found.extend(hits);
        })?;
    }
    for t in lb
        .brands
        .iter_mut()
        .flat_map(|b| b.canned.iter_mut().flat_map(|c| &mut c.templates))
    {
        let examples: Vec<(&str, Option<&Example>)> = t
            .examples
            .iter()
            .map(|&p| {
                let (source, id) = corpus.id(p);
                (source, found.get(&(source.to_string(), id.to_string())))
            })
            .collect();
        let Some(&(source, Some(first))) = examples.first() else {
            continue;
        };
        let shown: Vec<Option<String>> = examples
            .iter()
            .map(|(_, e)| {
                e.and_then(|e| e.text.as_deref())
                    .map(crate::classify::template::display)
            })
            .collect();
        let same = |a: &Option<String>, b: &Option<String>| {
            a.as_deref().map(crate::classify::template::normalise)
                == b.as_deref().map(crate::classify::template::normalise)
        };
        if config.quotes_brand_posts(source)
            && shown.len() == 2
            && shown[0].is_some()
            && same(&shown[0], &shown[1])
        {
            t.wording = shown[0].clone();
        } else {
            let id = first
                .network_id
                .clone()
                .unwrap_or_else(|| corpus.id(t.examples[0]).1.to_string());
            t.example_url = post_url(source, &id, &first.author);
        }
    }
    Ok(())
}

/// The address of a post on its network, from its network id and author; `None` for a source
/// whose ids are not the network's (archives).
pub fn post_url(source: &str, id: &str, author: &str) -> Option<String> {
    match source {
        "x" => Some(format!("https://x.com/i/web/status/{id}")),
        "bluesky" => {
            let rest = id.strip_prefix("at://")?;
            let (did, rkey) = rest.split_once("/app.bsky.feed.post/")?;
            Some(format!("https://bsky.app/profile/{did}/post/{rkey}"))
        }
        "mastodon" => {
            let (instance, status) = id.split_once(':')?;
            let user = author.trim_start_matches('@').split('@').next()?;
            Some(format!("https://{instance}/@{user}/{status}"))
        }
        _ => None,
    }
}
