//! `replyrank audit`: proves, before a commit or a deploy, that what is about to be published
//! holds no customer's words, handle or network id.
//!
//! Two checks, so it fails closed even when the private store is gone:
//!
//! 1. **Shape**: every line of the published store of a collected source is in its published
//!    form: pseudonymous `id`, `reply_to`, `replies` and customer `author`, no `text`,
//!    `mentions` of registry brand accounts only, `network_id` only on a brand's post.
//! 2. **Content**: every file under the given paths is searched for every customer post's
//!    text, network id and author, and every account a customer's post mentions that is not a
//!    brand's, as the private store holds them. Ids and handles match whole (not inside a longer
//!    word or number); texts of fewer than [`MIN_TEXT`] characters are not searched (too common
//!    to mean anything).
//!
//! A finding names the file, line and kind, and the pseudonym of the post it comes from, never
//! the text or handle found: audit output lands in CI logs.

use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use anyhow::{Context, Result};

use crate::publish::{Pseudonymiser, is_pseudonym, pseudonymised};
use crate::registry::Registry;
use crate::store::{Kind, Store};

/// Shorter texts are not searched for.
pub const MIN_TEXT: usize = 20;

/// What a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum What {
    Text,
    NetworkId,
    Handle,
    /// A published line not in its published form.
    Shape(&'static str),
}

impl std::fmt::Display for What {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Text => f.write_str("a customer post's text"),
            What::NetworkId => f.write_str("a customer post's network id"),
            What::Handle => f.write_str("a customer's handle or account id"),
            What::Shape(why) => write!(f, "a published line that is not pseudonymised ({why})"),
        }
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub file: PathBuf,
    pub line: usize,
    pub what: What,
    /// The pseudonym of the post the finding comes from (content findings), to look it up in
    /// the private store without printing it.
    pub post: Option<String>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.what)?;
        if let Some(p) = &self.post {
            write!(f, " (post {p})")?;
        }
        Ok(())
    }
}

/// What an audit looked at and found.
#[derive(Debug, Default)]
pub struct Report {
    pub files: usize,
    /// Customer posts in the private store whose traces were searched for.
    pub customer_posts: usize,
    pub findings: Vec<Finding>,
}

struct Needle {
    what: What,
    /// Must match whole: not preceded or followed by a letter, digit or `_`.
    whole: bool,
    post: String,
}

/// Audits `paths` (files or folders, searched recursively; missing ones are skipped) against
/// the private store of `root`, and checks the shape of its published store.
pub fn audit(
    root: &crate::root::SiteRoot,
    registry: &Registry,
    key: Option<&Pseudonymiser>,
    paths: &[PathBuf],
) -> Result<Report> {
    let mut report = Report::default();
    let published = Store::open(root)?;
    report.findings.extend(shape(&published, registry)?);
    let private = Store::open_kind(root, Kind::Private)?;
    let (patterns, needles, posts) = needles(&private, registry, key)?;
    report.customer_posts = posts;
    let matcher = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&patterns)
        .context("cannot build the audit's search")?;
    let mut files = Vec::new();
    for p in paths {
        walk(p, &mut files)?;
    }
    files.sort();
    for file in files {
        report.files += 1;
        if needles.is_empty() {
            continue;
        }
        let bytes =
            std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        search(&matcher, &needles, &file, &bytes, &mut report.findings);
    }
    report.findings.sort();
    report.findings.dedup();
    Ok(report)
}

/// Every regular file under `p` (links are not followed; `.git` is skipped).
fn walk(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot stat {}", p.display())),
    };
    if meta.is_file() {
        out.push(p.to_path_buf());
    } else if meta.is_dir() && p.file_name().is_none_or(|n| n != ".git") {
        for entry in std::fs::read_dir(p).with_context(|| format!("cannot list {}", p.display()))? {
            walk(
                &entry
                    .with_context(|| format!("cannot list {}", p.display()))?
                    .path(),
                out,
            )?;
        }
    }
    Ok(())
}

fn search(
    matcher: &AhoCorasick,
    needles: &[Needle],
    file: &Path,
    bytes: &[u8],
    out: &mut Vec<Finding>,
) {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    for m in matcher.find_overlapping_iter(bytes) {
        let n = &needles[m.pattern().as_usize()];
        if n.whole {
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(m.end()).copied();
            if before.is_some_and(word) || after.is_some_and(word) {
                continue;
            }
        }
        let line = 1 + memchr::memchr_iter(b'\n', &bytes[..m.start()]).count();
        out.push(Finding {
            file: file.to_path_buf(),
            line,
            what: n.what,
            post: Some(n.post.clone()),
        });
    }
}

/// The traces of every customer post of the private store: (patterns, what each is, posts).
fn needles(
    private: &Store,
    registry: &Registry,
    key: Option<&Pseudonymiser>,
) -> Result<(Vec<String>, Vec<Needle>, usize)> {
    let mut patterns = Vec::new();
    let mut needles = Vec::new();
    let mut posts = 0;
    let mut seen = rustc_hash::FxHashSet::default();
    for file in private.partitions(None)? {
        crate::store::line_blocks(&file, |chunks, _| {
            for &(first, chunk) in chunks {
                for (_, line) in crate::store::lines_of(first, chunk) {
                    let Ok(p) = serde_json::from_slice::<crate::post::Post>(line) else {
                        continue;
                    };
                    if registry.wrote(&p) {
                        continue;
                    }
                    posts += 1;
                    let network = crate::source::network(&p.source);
                    let name = key.map_or_else(|| "?".to_string(), |k| k.post(&p.source, &p.id));
                    let mut add = |s: &str, what: What, whole: bool| {
                        if !s.is_empty() && seen.insert((s.to_lowercase(), what)) {
                            patterns.push(s.to_string());
                            needles.push(Needle {
                                what,
                                whole,
                                post: name.clone(),
                            });
                        }
                    };
                    add(&p.id, What::NetworkId, true);
                    // The bare status id of a Mastodon `instance:id`, a Bluesky record key.
                    if let Some((_, tail)) = p.id.rsplit_once([':', '/'])
                        && tail.len() >= 8
                    {
                        add(tail, What::NetworkId, true);
                    }
                    add(p.author.trim_start_matches('@'), What::Handle, true);
                    for m in &p.mentions {
                        if registry.by_account(network, m).is_none() {
                            add(m.trim_start_matches('@'), What::Handle, true);
                        }
                    }
                    if let Some(t) = p.text.as_deref().map(str::trim)
                        && t.chars().count() >= MIN_TEXT
                    {
                        add(t, What::Text, false);
                    }
                }
            }
        })?;
    }
    Ok((patterns, needles, posts))
}

/// Lines of the published store's collected sources that are not in their published form.
fn shape(published: &Store, registry: &Registry) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for source in published.sources()? {
        if !pseudonymised(&source) {
            continue;
        }
        let network = crate::source::network(&source);
        for file in published.partitions(Some(&source))? {
            crate::store::line_blocks(&file, |chunks, _| {
                for &(first, chunk) in chunks {
                    for (n, line) in crate::store::lines_of(first, chunk) {
                        let why = match serde_json::from_slice::<crate::post::Post>(line) {
                            Err(_) => Some("not a post"),
                            Ok(p) => unpublished(&p, registry, network),
                        };
                        if let Some(why) = why {
                            out.push(Finding {
                                file: file.clone(),
                                line: n,
                                what: What::Shape(why),
                                post: None,
                            });
                        }
                    }
                }
            })?;
        }
    }
    Ok(out)
}

/// Why a published post of a collected source is not in its published form, if it is not.
fn unpublished(
    p: &crate::post::Post,
    registry: &Registry,
    network: crate::source::Network,
) -> Option<&'static str> {
    let by_brand = registry.wrote(p);
    if p.text.is_some() {
        Some("it has a text")
    } else if !is_pseudonym(&p.id) {
        Some("its id is not a pseudonym")
    } else if p.reply_to.as_deref().is_some_and(|r| !is_pseudonym(r)) {
        Some("its reply_to is not a pseudonym")
    } else if p.replies.iter().any(|r| !is_pseudonym(r)) {
        Some("its replies are not pseudonyms")
    } else if !by_brand && !p.author.is_empty() && !is_pseudonym(&p.author) {
        Some("a customer's author is not a pseudonym")
    } else if p
        .mentions
        .iter()
        .any(|m| registry.by_account(network, m).is_none())
    {
        Some("it mentions an account that is not a registry brand's")
    } else if !by_brand && p.network_id.is_some() {
        Some("a customer's post carries its network id")
    } else {
        None
    }
}
