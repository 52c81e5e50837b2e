//! The output folder: the one place that writes the built site to disk.
//!
//! A build never writes into the live folder. It writes every file into a fresh staging folder
//! next to it (`.<name>.replyrank-<pid>-<n>`), carries over what it must keep (earlier dated
//! snapshots under `archive/<date>/`, and any file no build wrote), then swaps the staging
//! folder in at once, so a reader sees the old complete site or the new one, never a mix. On
//! Linux the swap is one `renameat2(RENAME_EXCHANGE)`; elsewhere, or on a file system that
//! cannot exchange, it is two renames with a moment in between where the folder is missing.
//! A build that fails removes its staging folder and leaves the live site as it was. One build
//! at a time writes an output (a lock on `.<name>.replyrank-lock` beside it).
//!
//! `.replyrank-manifest` lists every file a build wrote, with its size (today's snapshot has its
//! own in `archive/<date>/`). The next build removes only files listed there, `check` verifies
//! them, and a folder that is not empty and has no
//! manifest (nor looks like a site built before manifests existed) is refused, as is an output
//! that is a symlink, holds the site root, or is or holds an input (content, templates, data).
//! Nothing here follows a symlink: a link found in the output is carried over as a link.
//!
//! Today's snapshot is hard links to the new live files (copies where the file system has
//! none). An earlier snapshot kept whole is never entered: it moves into the new folder whole,
//! by one rename, just before the swap (so during those few milliseconds the old site lacks it:
//! a 404, never a partial file), and no build rewrites a file, so its content never changes.
//!
//! Retention (`[archive] keep_full`, see [`kept_whole`]): today's snapshot and the last one of
//! each quarter (or month) stay whole; every other earlier snapshot is *thinned*: the new
//! folder gets hard links to the files of [`THINNED_KEEPS`] only (its `leaderboard.csv`, which
//! holds every brand's headline figures as published that day, byte for byte), and a manifest
//! marked thinned that lists them; the files its build wrote go with the old folder, and files no build wrote are
//! carried over as they are. The pages that say a date was thinned, and the 404 page that sends
//! its deep links to the nearest snapshot kept whole, are written by each build (`finish`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use super::Site;
use crate::config::KeepFull;
use crate::root::SiteRoot;

/// The manifest's name, at the top of the output folder.
pub const MANIFEST: &str = ".replyrank-manifest";
const MANIFEST_HEADER: &str =
    "# replyrank build manifest: <bytes>\\t<path> of each file the build wrote\n";

/// What one build puts in the output folder.
pub struct Build<'a> {
    /// The live site; each file is also linked into today's snapshot `archive/<snapshot>/`.
    pub site: &'a Site,
    /// Today's snapshot date (`YYYY-MM-DD`).
    pub snapshot: &'a str,
    /// Files written as they are, in no snapshot (paths relative to the output).
    pub unlinked: &'a Site,
    /// Which earlier snapshots stay whole.
    pub keep_full: KeepFull,
}

/// What a thinned snapshot keeps of the files its build wrote: the dated leaderboard download,
/// which holds every figure its pages headlined (its `leaderboard.json` is not kept: with each
/// brand's monthly history it is about 60 times larger, 13 MB at 1,000 brands).
pub const THINNED_KEEPS: [&str; 1] = ["data/leaderboard.csv"];

/// A dated snapshot the new site holds.
pub struct Dated {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Whole, or thinned to [`THINNED_KEEPS`].
    pub full: bool,
    /// Where its files are while the build runs (the old output for earlier snapshots, the new
    /// folder for today's).
    pub dir: PathBuf,
}

/// The snapshots kept whole among `dates` (`YYYY-MM-DD`, any order) when today's is `today`:
/// today's, and the last of each period of `keep` (all of them for [`KeepFull::All`]). Once a
/// later snapshot of its period exists, a snapshot is thinned for good, so a date's kind
/// changes at most once.
pub fn kept_whole<'a>(
    dates: impl IntoIterator<Item = &'a str>,
    today: &'a str,
    keep: KeepFull,
) -> BTreeSet<String> {
    let mut last: BTreeMap<String, &'a str> = BTreeMap::new();
    let mut kept = BTreeSet::from([today.to_string()]);
    for d in dates.into_iter().chain([today]) {
        match keep.period(d) {
            Some(p) => {
                let e = last.entry(p).or_insert(d);
                if d > *e {
                    *e = d;
                }
            }
            None => {
                kept.insert(d.to_string());
            }
        }
    }
    kept.extend(last.into_values().map(str::to_string));
    kept
}

/// Whether `name` is a snapshot date, `YYYY-MM-DD`.
fn is_date(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// Writes a build into the output folder of `root` and swaps it in. `finish` gets every
/// snapshot the new site holds (earlier ones and today's, oldest first) and returns the files
/// made from them (archive pages, thinned dates' pages, 404, feed, sitemap). Returns the
/// number of files written.
pub fn write(
    root: &SiteRoot,
    build: &Build,
    finish: impl FnOnce(&[Dated]) -> Result<Site> + Send,
) -> Result<usize> {
    // Creating, linking and removing files waits on the file system's journal far more than
    // on a core: more threads than cores keep more of those waits overlapping.
    rayon::ThreadPoolBuilder::new()
        .num_threads(IO_THREADS)
        .build()
        .context("cannot start the threads that write the site")?
        .install(|| write_in_pool(root, build, finish))
}

/// Threads that write, link and remove files.
const IO_THREADS: usize = 16;

fn write_in_pool(
    root: &SiteRoot,
    build: &Build,
    finish: impl FnOnce(&[Dated]) -> Result<Site>,
) -> Result<usize> {
    let out = root.output();
    refuse_unsafe(root)?;
    let snapshot_dir = format!("archive/{}/", build.snapshot);
    let mut old = Previous::read(out)?;
    if let Some(old) = &mut old {
        old.add_snapshot_manifest(&snapshot_dir)?;
    }
    let _lock = lock(out)?;
    let staging = Staging::create(out)?;
    let dir = staging.path.clone();
    // Today's snapshot has a manifest of its own, so a build reads only the live site's.
    let (mut manifest, mut snapshot_manifest) = (Manifest::default(), Manifest::default());
    let mut list = |p: &str, size: usize| match p.strip_prefix(&snapshot_dir) {
        Some(inside) => snapshot_manifest.add(inside, size as u64),
        None => manifest.add(p, size as u64),
    };

    let writes: Vec<(&String, &Vec<u8>)> = build.site.iter().chain(build.unlinked).collect();
    let links: Vec<(&String, String)> = build
        .site
        .keys()
        .map(|p| (p, format!("{snapshot_dir}{p}")))
        .collect();
    create_parents(
        &dir,
        writes
            .iter()
            .map(|(p, _)| p.as_str())
            .chain(links.iter().map(|(_, s)| s.as_str())),
    )?;
    writes
        .par_iter()
        .try_for_each(|(p, bytes)| write_new(&dir.join(p), bytes))?;
    links
        .par_iter()
        .try_for_each(|(live, snap)| link_or_copy(&dir.join(live), &dir.join(snap)))?;
    for (p, bytes) in &writes {
        list(p, bytes.len());
    }
    for (live, snap) in &links {
        list(snap, build.site[*live].len());
    }
    let (mut carried, mut earlier) = match &old {
        Some(old) => old.carry_into(&dir, &snapshot_dir)?,
        None => (Vec::new(), Vec::new()),
    };

    // Every snapshot: the earlier ones where they are, today's in the new folder. Those not
    // kept whole are thinned into the new folder now; the others move in whole at the swap.
    let mut snapshots = vec![Dated {
        date: build.snapshot.to_string(),
        full: true,
        dir: dir.join(&snapshot_dir),
    }];
    if let Some(old) = &old {
        let dates = earlier.iter().filter_map(|e| e.strip_prefix("archive/"));
        let whole = kept_whole(
            dates.filter(|d| is_date(d)),
            build.snapshot,
            build.keep_full,
        );
        let mut moving = Vec::new();
        for rel in earlier {
            let date = rel.trim_start_matches("archive/").to_string();
            let at = old.dir.join(&rel);
            let thinned = Manifest::is_thinned(&at)?;
            if !at.join("data/leaderboard.json").is_file() && !thinned {
                moving.push(rel); // not a snapshot: carried whole, as it is
                continue;
            }
            let full = !is_date(&date) || whole.contains(&date) && !thinned;
            if full || !at.join(MANIFEST).is_file() {
                // Kept whole, or made before snapshots had manifests: no build's files to tell
                // from the others, so it moves whole.
                moving.push(rel);
            } else {
                carried.extend(old.thin_into(&dir, &rel)?);
            }
            snapshots.push(Dated {
                full: full || !at.join(MANIFEST).is_file(),
                date,
                dir: at,
            });
        }
        earlier = moving;
    }
    snapshots.sort_by(|a, b| a.date.cmp(&b.date));
    let extra = finish(&snapshots)?;
    create_parents(&dir, extra.keys().map(String::as_str))?;
    for (p, bytes) in &extra {
        write_new(&dir.join(p), bytes)?;
        list(p, bytes.len());
    }
    write_new(&dir.join(MANIFEST), manifest.to_text().as_bytes())?;
    let snapshot_manifest_path = dir.join(&snapshot_dir).join(MANIFEST);
    write_new(
        &snapshot_manifest_path,
        snapshot_manifest.to_text().as_bytes(),
    )?;

    let files = writes.len() + links.len() + extra.len();
    let Some(old) = old else {
        std::fs::rename(&dir, out)
            .with_context(|| format!("cannot move {} to {}", dir.display(), out.display()))?;
        staging.disarm();
        return Ok(files);
    };
    if let Ok(meta) = std::fs::metadata(out) {
        let _ = std::fs::set_permissions(&dir, meta.permissions());
    }
    // Earlier snapshots move into the new folder whole (one rename each, however many files
    // they hold) just before the swap; if it fails they move back.
    let moved = move_all(&earlier, out, &dir);
    let swapped = moved.and_then(|()| swap(&dir, out));
    let previous = match swapped {
        Ok(previous) => previous,
        Err(e) => {
            let _ = move_all(&earlier, &dir, out);
            return Err(e);
        }
    };
    staging.disarm();
    if let Err(e) = old.remove(&previous, &carried) {
        eprintln!("warning: the new site is in place, but the old one is not all removed: {e:#}");
    }
    Ok(files)
}

/// Renames each of `paths` (relative) from under `from` to under `to`; on a failure, moves
/// back those already moved.
fn move_all(paths: &[String], from: &Path, to: &Path) -> Result<()> {
    for (i, p) in paths.iter().enumerate() {
        let (a, b) = (from.join(p), to.join(p));
        let moved = b
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::rename(&a, &b));
        if let Err(e) = moved {
            for back in &paths[..i] {
                let _ = std::fs::rename(to.join(back), from.join(back));
            }
            return Err(e)
                .with_context(|| format!("cannot move {} to {}", a.display(), b.display()));
        }
    }
    Ok(())
}

/// Fails, before any work, where [`write`] would refuse the output folder.
pub fn preflight(root: &SiteRoot) -> Result<()> {
    refuse_unsafe(root)?;
    Previous::read(root.output()).map(|_| ())
}

/// A problem `check` found in a built site's files.
pub struct Damaged {
    pub path: String,
    pub problem: String,
}

/// Verifies every file the manifests of the built site at `out` list (its own, and each
/// snapshot's under `archive/<date>/`): present, a regular file, and of the size the build
/// wrote. Returns how many files were checked and what is wrong.
pub fn check_manifest(out: &Path) -> Result<(usize, Vec<Damaged>)> {
    if !out.join(MANIFEST).is_file() {
        bail!(
            "{} has no {MANIFEST} (built by an older replyrank, or not by replyrank): run replyrank build",
            out.display()
        );
    }
    let mut dirs = vec![String::new()];
    if let Ok(entries) = std::fs::read_dir(out.join("archive")) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) && e.path().join(MANIFEST).is_file() {
                dirs.push(format!("archive/{}/", e.file_name().to_string_lossy()));
            }
        }
    }
    dirs.sort();
    let (mut checked, mut damaged) = (0, Vec::new());
    for d in dirs {
        let path = out.join(&d).join(MANIFEST);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let manifest = Manifest::parse(&text, &path)?;
        for (p, &size) in &manifest.files {
            let problem = match std::fs::symlink_metadata(out.join(&d).join(p)) {
                Err(_) => "is missing".to_string(),
                Ok(m) if !m.is_file() => "is not a regular file".to_string(),
                Ok(m) if m.len() != size => {
                    format!("is {} bytes; the build wrote {size}", m.len())
                }
                Ok(_) => continue,
            };
            damaged.push(Damaged {
                path: format!("{d}{p}"),
                problem,
            });
        }
        checked += manifest.files.len();
    }
    Ok((checked, damaged))
}

/// Refuses an output folder whose replacement could lose what no build wrote: a symlink, the
/// site root or a folder holding it, an input folder, or a folder inside one.
fn refuse_unsafe(root: &SiteRoot) -> Result<()> {
    let out = root.output();
    if std::fs::symlink_metadata(out).is_ok_and(|m| m.file_type().is_symlink()) {
        let target = std::fs::canonicalize(out)
            .map_or_else(|_| "its target".to_string(), |t| t.display().to_string());
        bail!(
            "output {} is a symlink; replyrank replaces the output folder as a whole and does not follow links: pass --output {target}",
            out.display()
        );
    }
    let out_real = resolved(out);
    let refuse = |what: &str, path: &Path| {
        anyhow::anyhow!(
            "refusing to build into {}: it {what} {}, and a build replaces its output folder; choose a folder of its own, such as {}",
            out.display(),
            path.display(),
            root.dir().join("public").display()
        )
    };
    if resolved(root.dir()).starts_with(&out_real) {
        return Err(refuse("is or holds the site root", root.dir()));
    }
    let mut inputs = root.inputs();
    inputs.push(root.store());
    inputs.push(root.state());
    for input in inputs {
        let real = resolved(&input);
        if real.starts_with(&out_real) {
            return Err(refuse("is or holds the input", &input));
        }
        if out_real.starts_with(&real) {
            return Err(refuse("is inside the input", &input));
        }
    }
    Ok(())
}

/// The absolute path with symlinks resolved, for a path that may not exist yet: its nearest
/// existing ancestor resolved, the rest appended.
fn resolved(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(cur) {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                cur = parent;
            }
            _ => return abs,
        }
    }
}

/// The files listed by a manifest: path relative to the output → size in bytes.
#[derive(Debug, Default)]
struct Manifest {
    files: BTreeMap<String, u64>,
    /// A snapshot's, thinned to [`THINNED_KEEPS`].
    thinned: bool,
}

/// The line that marks a thinned snapshot's manifest.
const THINNED_MARK: &str =
    "# thinned: the other files of this snapshot were removed; see the 404 page";

impl Manifest {
    fn add(&mut self, path: &str, size: u64) {
        self.files.insert(path.to_string(), size);
    }

    /// Whether the snapshot folder `dir` has a manifest marked thinned.
    fn is_thinned(dir: &Path) -> Result<bool> {
        let path = dir.join(MANIFEST);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Manifest::parse(&text, &path)?.thinned),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    fn to_text(&self) -> String {
        let mut text = String::from(MANIFEST_HEADER);
        if self.thinned {
            text.push_str(THINNED_MARK);
            text.push('\n');
        }
        for (p, size) in &self.files {
            text.push_str(&format!("{size}\t{p}\n"));
        }
        text
    }

    /// Reads a manifest; a line that is not `<bytes>\t<relative path>` is an error naming it.
    fn parse(text: &str, file: &Path) -> Result<Manifest> {
        let mut files = BTreeMap::new();
        let thinned = text.lines().any(|l| l == THINNED_MARK);
        for (i, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let entry = line
                .split_once('\t')
                .and_then(|(size, p)| Some((size.parse::<u64>().ok()?, p)))
                .filter(|(_, p)| is_plain_relative(p));
            let Some((size, p)) = entry else {
                bail!(
                    "{}:{}: not a manifest line (<bytes><TAB><relative path>); delete the output folder and build again",
                    file.display(),
                    i + 1
                );
            };
            files.insert(p.to_string(), size);
        }
        Ok(Manifest { files, thinned })
    }
}

/// A relative path of plain names only: no root, no empty, `.` or `..` part.
fn is_plain_relative(p: &str) -> bool {
    p.split('/')
        .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\\'))
}

/// The output folder as the previous build left it.
struct Previous {
    dir: PathBuf,
    /// What earlier builds wrote there, with sizes.
    manifest: Manifest,
}

impl Previous {
    /// `None` when the output does not exist yet; an error when it is not a folder, or is a
    /// non-empty folder that no replyrank build made.
    fn read(out: &Path) -> Result<Option<Previous>> {
        let meta = match std::fs::symlink_metadata(out) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", out.display())),
            Ok(m) => m,
        };
        if !meta.is_dir() {
            bail!(
                "output {} exists and is not a folder; choose another --output",
                out.display()
            );
        }
        let path = out.join(MANIFEST);
        let manifest = match std::fs::read_to_string(&path) {
            Ok(text) => Manifest::parse(&text, &path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let empty = std::fs::read_dir(out)
                    .with_context(|| format!("cannot read {}", out.display()))?
                    .next()
                    .is_none();
                if empty {
                    Manifest::default()
                } else if built_before_manifests(out) || only_scored(out)? || only_snapshots(out)? {
                    // Such a build removed everything it did not write, except under archive/;
                    // `replyrank score` writes data/leaderboard.json alone; a publishing job
                    // restores earlier snapshots alone (archive/<date>/) before it builds.
                    let mut m = Manifest::default();
                    walk(out, "", &mut |rel, ft| {
                        if ft.is_file() {
                            let size = std::fs::symlink_metadata(out.join(rel))
                                .map_or(0, |meta| meta.len());
                            m.add(rel, size);
                        }
                        Ok(true)
                    })?;
                    m
                } else {
                    bail!(
                        "refusing to build into {}: it is not empty and holds no {MANIFEST}, so no replyrank build made it, and a build replaces its output folder; choose an empty or new folder",
                        out.display()
                    );
                }
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(Some(Previous {
            dir: out.to_path_buf(),
            manifest,
        }))
    }

    /// Adds the files the manifest of `archive/<today>/` in the old folder lists: a build of
    /// the same day replaces them. A snapshot made before snapshots had manifests counts as
    /// all written by that build.
    fn add_snapshot_manifest(&mut self, snapshot_dir: &str) -> Result<()> {
        let dir = self.dir.join(snapshot_dir);
        let path = dir.join(MANIFEST);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for (p, size) in Manifest::parse(&text, &path)?.files {
                    self.manifest.add(&format!("{snapshot_dir}{p}"), size);
                }
            }
            Err(_) if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) => {
                let manifest = &mut self.manifest;
                walk(&dir, snapshot_dir, &mut |rel, ft| {
                    if ft.is_file() {
                        manifest.add(rel, 0);
                    }
                    Ok(true)
                })?;
            }
            Err(_) => {}
        }
        Ok(())
    }

    /// Links into `dir` every file no build wrote (symlinks as symlinks). Returns those paths,
    /// and the earlier snapshot folders (`archive/<date>`, not today's), which are not entered:
    /// they move over whole.
    fn carry_into(&self, dir: &Path, snapshot_dir: &str) -> Result<(Vec<String>, Vec<String>)> {
        let today = snapshot_dir.trim_end_matches('/');
        let (mut carried, mut earlier) = (Vec::new(), Vec::new());
        walk(&self.dir, "", &mut |rel, ft| {
            if ft.is_dir() {
                let snapshot = rel
                    .strip_prefix("archive/")
                    .is_some_and(|d| !d.contains('/'));
                if snapshot && rel != today {
                    earlier.push(rel.to_string());
                    return Ok(false);
                }
                return Ok(true);
            }
            let own_manifest = rel == MANIFEST || rel == format!("{snapshot_dir}{MANIFEST}");
            if own_manifest || self.manifest.files.contains_key(rel) {
                return Ok(false);
            }
            if std::fs::symlink_metadata(dir.join(rel)).is_ok() {
                bail!(
                    "{} was not written by a replyrank build, and this build writes a file there: move it away and build again",
                    self.dir.join(rel).display()
                );
            }
            carried.push(rel.to_string());
            Ok(false)
        })?;
        create_parents(dir, carried.iter().map(String::as_str))?;
        carried
            .par_iter()
            .try_for_each(|rel| link_or_copy(&self.dir.join(rel), &dir.join(rel)))?;
        Ok((carried, earlier))
    }

    /// Carries the earlier snapshot `rel` (`archive/<date>`, which has a manifest) into `dir`
    /// thinned: of the files its build wrote, only [`THINNED_KEEPS`] (hard links), listed by a
    /// new manifest marked thinned; files no build wrote are carried as they are; what the
    /// previous build wrote there for the live site (the thinned date's pages) is left to be
    /// written anew. Returns the paths of the old tree to remove once the new one is in place.
    fn thin_into(&self, dir: &Path, rel: &str) -> Result<Vec<String>> {
        let path = self.dir.join(rel).join(MANIFEST);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let written = Manifest::parse(&text, &path)?;
        let mut kept = Manifest {
            thinned: true,
            ..Manifest::default()
        };
        let (mut linked, mut gone) = (Vec::new(), Vec::new());
        let prefix = format!("{rel}/");
        walk(&self.dir.join(rel), &prefix, &mut |p, ft| {
            if ft.is_dir() {
                return Ok(true);
            }
            let inner = &p[prefix.len()..];
            match written.files.get(inner) {
                _ if inner == MANIFEST => {} // removed with the old tree
                Some(&size) if THINNED_KEEPS.contains(&inner) => {
                    kept.add(inner, size);
                    linked.push(p.to_string());
                }
                Some(_) => gone.push(p.to_string()),
                // The previous build's page for this date (the live site's manifest lists it):
                // removed with the old tree, and written anew.
                None if self.manifest.files.contains_key(p) => {}
                None => linked.push(p.to_string()),
            }
            Ok(false)
        })?;
        create_parents(dir, linked.iter().map(String::as_str))?;
        linked
            .par_iter()
            .try_for_each(|p| link_or_copy(&self.dir.join(p), &dir.join(p)))?;
        std::fs::create_dir_all(dir.join(rel))
            .with_context(|| format!("cannot create {}", dir.join(rel).display()))?;
        write_new(&dir.join(rel).join(MANIFEST), kept.to_text().as_bytes())?;
        gone.extend(linked);
        Ok(gone)
    }

    /// Removes from `previous` (the old tree, swapped out) what an earlier build wrote and what
    /// was carried into the new one or thinned away, then the folders left empty. Anything else (a file that
    /// appeared during the build) is left there, with a warning.
    fn remove(&self, previous: &Path, carried: &[String]) -> Result<()> {
        let carried: BTreeSet<&str> = carried.iter().map(String::as_str).collect();
        let (mut files, mut dirs) = (Vec::new(), vec![String::new()]);
        walk(previous, "", &mut |rel, ft| {
            if ft.is_dir() {
                dirs.push(rel.to_string());
            } else if rel == MANIFEST
                || rel.ends_with(&format!("/{MANIFEST}"))
                || carried.contains(rel)
                || self.manifest.files.contains_key(rel)
            {
                files.push(rel.to_string());
            }
            Ok(true)
        })?;
        files.par_iter().try_for_each(|rel| {
            let p = previous.join(rel);
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))
        })?;
        // Deepest first, a level at a time; fails, as it should, on a folder still holding
        // something.
        let depth = |d: &String| d.matches('/').count() + usize::from(!d.is_empty());
        let deepest = dirs.iter().map(depth).max().unwrap_or(0);
        for level in (0..=deepest).rev() {
            dirs.par_iter().filter(|d| depth(d) == level).for_each(|d| {
                let _ = std::fs::remove_dir(previous.join(d));
            });
        }
        if previous.exists() {
            eprintln!(
                "warning: {} holds files that appeared during the build; they are kept there",
                previous.display()
            );
        }
        Ok(())
    }
}

/// Whether `out` holds only what `replyrank score` writes there: `data/leaderboard.json`.
fn only_scored(out: &Path) -> Result<bool> {
    let mut only = true;
    walk(out, "", &mut |rel, ft| {
        only &= (rel == "data" && ft.is_dir()) || (rel == "data/leaderboard.json" && ft.is_file());
        Ok(only)
    })?;
    Ok(only)
}

/// Whether `out` holds only earlier snapshots, `archive/<date>/…`, as a publishing job restores
/// them before building (see `.github/workflows/publish.yml`).
fn only_snapshots(out: &Path) -> Result<bool> {
    let mut only = true;
    walk(out, "", &mut |rel, ft| {
        only &= rel == "archive" && ft.is_dir();
        Ok(false)
    })?;
    Ok(only)
}

/// Whether `out` looks like a site built before builds wrote a manifest.
fn built_before_manifests(out: &Path) -> bool {
    let file = |p: &str| std::fs::symlink_metadata(out.join(p)).is_ok_and(|m| m.is_file());
    let leaderboard = std::fs::read_to_string(out.join("data/leaderboard.json")).ok();
    file("index.html")
        && file("data/leaderboard.json")
        && leaderboard.is_some_and(|t| t.contains("\"as_of\""))
        && std::fs::symlink_metadata(out.join("archive")).is_ok_and(|m| m.is_dir())
}

/// Visits every entry under `dir` (relative path with `/`, file type), a folder before what it
/// holds (entered only if the visit returns true), never following a symlink.
fn walk(
    dir: &Path,
    prefix: &str,
    visit: &mut dyn FnMut(&str, std::fs::FileType) -> Result<bool>,
) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            bail!(
                "{}: a file name that is not UTF-8; move it away and build again",
                entry.path().display()
            );
        };
        let rel = format!("{prefix}{name}");
        let ft = entry
            .file_type()
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        if visit(&rel, ft)? && ft.is_dir() {
            walk(&entry.path(), &format!("{rel}/"), visit)?;
        }
    }
    Ok(())
}

/// Holds `.<name>.replyrank-lock` beside the output locked until dropped, so two builds (a
/// `serve` rebuild and a `build`) never write the same output at once. The lock goes with the
/// process; the empty file stays.
fn lock(out: &Path) -> Result<std::fs::File> {
    let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("output");
    let path = out
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!(".{name}.replyrank-lock"));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a file descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            bail!(
                "another replyrank build is writing {} (it holds {}): wait for it to finish",
                out.display(),
                path.display()
            );
        }
    }
    Ok(file)
}

/// The staging folder of a build, removed unless the build got to swap it in.
struct Staging {
    path: PathBuf,
    armed: std::cell::Cell<bool>,
}

impl Staging {
    fn create(out: &Path) -> Result<Staging> {
        let name = out
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("output {} has no folder name", out.display()))?;
        let parent = out.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        for n in 0.. {
            let path = parent.join(format!(".{name}.replyrank-{}-{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    return Ok(Staging {
                        path,
                        armed: std::cell::Cell::new(true),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", path.display()));
                }
            }
        }
        unreachable!("the loop returns")
    }

    fn disarm(&self) {
        self.armed.set(false);
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.armed.get() {
            // Never follows symlinks; the hard links it removes leave the old site's files be.
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Swaps the folder `new` in at `out`; returns where the old folder now is.
fn swap(new: &Path, out: &Path) -> Result<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let a = CString::new(new.as_os_str().as_bytes())?;
        let b = CString::new(out.as_os_str().as_bytes())?;
        // SAFETY: two valid NUL-terminated paths, relative to the working directory.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc == 0 {
            return Ok(new.to_path_buf());
        }
        let e = std::io::Error::last_os_error();
        // Kernels and file systems without the exchange get the fallback below.
        if !matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
            return Err(e)
                .with_context(|| format!("cannot swap {} in at {}", new.display(), out.display()));
        }
    }
    let mut old = new.as_os_str().to_os_string();
    old.push(".old");
    let old = PathBuf::from(old);
    std::fs::rename(out, &old)
        .with_context(|| format!("cannot move {} to {}", out.display(), old.display()))?;
    if let Err(e) = std::fs::rename(new, out) {
        let _ = std::fs::rename(&old, out);
        return Err(e)
            .with_context(|| format!("cannot move {} to {}", new.display(), out.display()));
    }
    Ok(old)
}

/// Creates the folders that files at these relative paths need under `dir`.
fn create_parents<'a>(dir: &Path, paths: impl Iterator<Item = &'a str>) -> Result<()> {
    let parents: BTreeSet<&str> = paths
        .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d))
        .collect();
    for d in parents {
        let p = dir.join(d);
        std::fs::create_dir_all(&p).with_context(|| format!("cannot create {}", p.display()))?;
    }
    Ok(())
}

/// Writes a new file; fails if anything is already there (a link is never written through).
fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.flush())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Hard-links `from` at `to` (a symlink as itself), else copies it.
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    let meta = std::fs::symlink_metadata(from)
        .with_context(|| format!("cannot read {}", from.display()))?;
    let result = if meta.file_type().is_symlink() {
        copy_symlink(from, to)
    } else {
        std::fs::copy(from, to).map(|_| ())
    };
    result.with_context(|| format!("cannot write {}", to.display()))
}

#[cfg(unix)]
fn copy_symlink(from: &Path, to: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
}

#[cfg(not(unix))]
fn copy_symlink(from: &Path, _to: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other(format!(
        "{} is a symlink, which this platform cannot carry over",
        from.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_and_the_last_of_each_period_are_kept_whole() {
        let dates = [
            "2026-03-30",
            "2026-03-31",
            "2026-04-01",
            "2026-05-31",
            "2026-06-02",
        ];
        let kept =
            |today, keep| -> Vec<String> { kept_whole(dates, today, keep).into_iter().collect() };
        assert_eq!(
            kept("2026-06-03", KeepFull::Quarter),
            ["2026-03-31", "2026-06-03"]
        );
        assert_eq!(
            kept("2026-06-03", KeepFull::Month),
            ["2026-03-31", "2026-04-01", "2026-05-31", "2026-06-03"]
        );
        assert_eq!(kept("2026-06-03", KeepFull::All).len(), 6);
        // A build of an earlier day keeps the later ones of its period whole too.
        assert_eq!(
            kept("2026-04-01", KeepFull::Quarter),
            ["2026-03-31", "2026-04-01", "2026-06-02"]
        );
        assert!(is_date("2026-06-03") && !is_date("2026-6-03") && !is_date("latest"));
    }

    #[test]
    fn manifest_round_trips_and_refuses_escaping_paths() {
        let mut m = Manifest::default();
        m.add("index.html", 12);
        m.add("archive/2026-01-01/data/x.json", 0);
        let back = Manifest::parse(&m.to_text(), Path::new("m")).unwrap();
        assert_eq!(back.files, m.files);
        for bad in [
            "3\t../etc/passwd",
            "3\t/etc/passwd",
            "x\tindex.html",
            "3\ta/./b",
        ] {
            let err = Manifest::parse(bad, Path::new("m"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("m:1: not a manifest line"), "{bad}: {err}");
        }
    }
}
