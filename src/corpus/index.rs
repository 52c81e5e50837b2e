//! The store's index: the corpus as the last run built it, kept in `data/index/corpus.bin` so
//! the next run reads only what was appended to the store since. `score` and `build` read the
//! corpus through it; `import` and `collect` look stored ids up in it
//! ([`super::StoredIds`]) and bring it up to date after they write, so the next `score` parses
//! nothing.
//!
//! The JSON Lines store stays the source of truth; the index is derived, never committed or
//! published (it holds only what the published store holds, as fixed-width columns), and may
//! be deleted at any time. It records, for each partition it covers, the position after the
//! last complete line it read, a hash of the bytes up to there, and the file's identity, length
//! and modification time then. Partitions are only ever appended to, or replaced whole by an
//! atomic rename (`forget`, `reclassify`, `migrate`). A run trusts the index when:
//!
//! - the brand registry is byte for byte the one it was built with,
//! - every covered partition is the same file with the same length and modification time, or
//!   else still begins with the covered bytes (hashed again: a fresh checkout or a copy of the
//!   store costs one read of it, no parsing), and only the last month of a source has grown,
//! - partitions and sources that appeared sort after the covered ones.
//!
//! Then the run adds the appended lines and the new partitions in the order a full read adds
//! them, so its corpus is the one a full read builds (the tests compare the two). Otherwise,
//! or when the file is damaged (its checksum is wrong) or from another version, the run reads
//! the whole store and writes a new index. Writing goes to a temporary file renamed into place.
//!
//! `score` and `build` load through [`Corpus::load_for_ranking`], which seals away the threads
//! the ranking window can no longer reach (`seal.rs`): the index then holds the live threads'
//! posts and what the sealed ones contributed, and the sealed ids sit in a file of their own
//! beside it (`sealed-ids.bin`), read only when posts are added or ids looked up.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use xxhash_rust::xxh3::Xxh3;

use super::seal::{Seal, SealedComplaint, SealedIds};
use super::{Corpus, CorpusBuilder, Interner, LoadQuality, Meta, SourceState};
use crate::classify::template::{HASHES, Signature};
use crate::method::Version;
use crate::pair::PairQuality;
use crate::registry::Registry;
use crate::store::{Notice, Position, Store};

const MAGIC: &[u8; 16] = b"replyrank index\n";
/// Bump when the corpus or this layout changes meaning: an index of another version is rebuilt.
const VERSION: u32 = 2;

/// How a run used the index.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IndexUse {
    /// Posts read back from the index.
    pub reused_posts: usize,
    /// Bytes of the store parsed as JSON (appended lines, new partitions, or everything).
    pub parsed_bytes: u64,
    /// Why the whole store was read, when it was.
    pub rebuilt: Option<String>,
    /// The index could not be written (the run's figures are unaffected).
    pub not_written: Option<String>,
    /// Posts this run sealed away (`seal.rs`).
    pub sealed_now: usize,
}

/// One partition the index covers.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Covered {
    /// Path relative to the store folder (`<source>/<YYYY-MM>.jsonl`).
    path: String,
    dev: u64,
    ino: u64,
    /// Modification time (ns since the epoch) when covered: a partition that has not grown
    /// must not have been written since.
    mtime: u64,
    end: Position,
    /// The hash of the partition's first `end.offset` bytes.
    sum: u64,
}

impl Corpus {
    /// [`Corpus::load`] through the store's index at `index`: reads back what it covers, parses
    /// only what is new, and writes the index again when anything was parsed. An index holding
    /// a seal (`seal.rs`) lacks the sealed threads' posts: the store is then read whole.
    pub fn load_indexed(
        store: &Store,
        registry: &Registry,
        index: &Path,
    ) -> Result<(Corpus, IndexUse)> {
        let (mut indexed, mut used) = update(store, registry, index, None)?;
        if indexed.builder.seal.is_some() {
            let why = "every post is asked for, and the index sealed threads away";
            (indexed, used) = read_all(store, registry, index, why)?;
        }
        Ok((indexed.builder.finish_load(store), used))
    }

    /// What `score` and `build` rank from: the store through its index, with the threads the
    /// ranking window can no longer reach sealed away (`seal.rs`). Seals more when the line
    /// has moved on; reads the store whole when the seal cannot serve `ranking`.
    pub fn load_for_ranking(
        store: &Store,
        registry: &Registry,
        index: &Path,
        ranking: &Ranking,
    ) -> Result<Loaded> {
        let (mut indexed, mut used) = update(store, registry, index, None)?;
        let window = i64::from(ranking.window_days) * crate::time::DAY;
        let newest = indexed
            .builder
            .newest_until(jiff::Timestamp::now().as_second());
        // The line this run can seal up to: the month of its window's start, or of the newest
        // post's window when as-of is later.
        let line = ranking
            .as_of
            .or(newest)
            .map(|a| crate::time::month_start(newest.map_or(a, |n| a.min(n)) - window));
        let unusable = match (&indexed.builder.seal, line) {
            (Some(seal), _) if seal.version != ranking.version => {
                Some("the sealed threads were paired by another method version")
            }
            (Some(seal), Some(line)) if line < seal.line => {
                Some("the ranking window starts before the seal line")
            }
            _ => None,
        };
        if let Some(why) = unusable {
            (indexed, used) = read_all(store, registry, index, why)?;
        }
        // Sealing starts once a post is dated before the line.
        if let Some(line) = line
            && match &indexed.builder.seal {
                Some(seal) => seal.line < line,
                None => indexed.builder.posts_before(line),
            }
        {
            if let Some(seal) = &mut indexed.builder.seal
                && let Err(why) = seal.read_ids(index)
            {
                (indexed, used) = read_all(store, registry, index, why)?;
            }
            used.sealed_now = indexed.builder.seal(line, ranking.version);
            let seal = indexed.builder.seal.as_mut().expect("sealed");
            if let Err(e) = seal.write_ids(index).and_then(|()| {
                write(
                    index,
                    registry.fingerprint,
                    store.dir(),
                    &indexed.covered,
                    &indexed.builder,
                )
            }) {
                used.not_written = Some(format!("{}: {e:#}", index.display()));
            }
        }
        let seal = indexed.builder.seal.take();
        Ok(Loaded {
            corpus: indexed.builder.finish_load(store),
            seal,
            used,
        })
    }
}

/// How a run ranks, as far as sealing is concerned.
pub struct Ranking {
    pub version: Version,
    pub window_days: u32,
    /// The as-of asked for (`--as-of`), or `None` for the newest post.
    pub as_of: Option<i64>,
}

/// What [`Corpus::load_for_ranking`] gives.
pub struct Loaded {
    /// The posts of the threads not sealed away.
    pub corpus: Corpus,
    /// What the sealed threads contributed, if any were sealed.
    pub seal: Option<Seal>,
    pub used: IndexUse,
}

/// The corpus under construction and the partitions it covers: what an index holds.
pub(super) struct Indexed {
    pub(super) builder: CorpusBuilder,
    covered: Vec<Covered>,
}

/// [`update`], with the sealed ids read (to look stored ids up): a full read when they cannot
/// be.
pub(super) fn update_with_sealed_ids(
    store: &Store,
    registry: &Registry,
    index: &Path,
) -> Result<(Indexed, IndexUse)> {
    let (mut indexed, used) = update(store, registry, index, None)?;
    if let Some(seal) = &mut indexed.builder.seal
        && let Err(why) = seal.read_ids(index)
    {
        return read_all(store, registry, index, why);
    }
    Ok((indexed, used))
}

/// Brings the index at `index` up to date with the store (see [`Corpus::load_indexed`]) and
/// returns what it now holds. With `held` (what an earlier call returned, in this run), it
/// carries on from there instead of reading the index back.
pub(super) fn update(
    store: &Store,
    registry: &Registry,
    index: &Path,
    held: Option<Indexed>,
) -> Result<(Indexed, IndexUse)> {
    update_or_read_all(store, registry, index, held, None)
}

/// A full read of the store, and a new index; `why` is reported ([`IndexUse::rebuilt`]).
fn read_all(
    store: &Store,
    registry: &Registry,
    index: &Path,
    why: impl Into<String>,
) -> Result<(Indexed, IndexUse)> {
    update_or_read_all(store, registry, index, None, Some(why.into()))
}

/// [`update`], or, with `in_full` (why), a full read of the store.
fn update_or_read_all(
    store: &Store,
    registry: &Registry,
    index: &Path,
    held: Option<Indexed>,
    in_full: Option<String>,
) -> Result<(Indexed, IndexUse)> {
    let files = store.partitions(None)?;
    let mut used = IndexUse::default();
    let held = match (held, in_full) {
        (_, Some(why)) => Err(why),
        (Some(h), None) => Ok(Some((h.builder, h.covered))),
        (None, None) => read(index, registry.fingerprint, store.dir()),
    };
    let read_back = match held {
        Ok(Some((builder, covered))) => match plan(store.dir(), &covered, &files)
            .and_then(|plan| in_source_order(store.dir(), &builder, plan))
        {
            Ok(plan) => Some((builder, covered, plan)),
            Err(why) => {
                used.rebuilt = Some(why);
                None
            }
        },
        Ok(None) => {
            used.rebuilt = Some("no index yet".into());
            None
        }
        Err(why) => {
            used.rebuilt = Some(why);
            None
        }
    };
    let (
        mut b,
        mut covered,
        Plan {
            reads,
            touched,
            mut grown,
        },
    ) = match read_back {
        Some(r) => r,
        None => (
            CorpusBuilder {
                expected_posts: crate::store::estimated_posts(&files),
                ..CorpusBuilder::default()
            },
            Vec::new(),
            Plan {
                reads: files.iter().map(|f| (f.clone(), Position::START)).collect(),
                touched: Vec::new(),
                grown: Vec::new(),
            },
        ),
    };
    used.reused_posts = b.quality.posts - b.seal.as_ref().map_or(0, |s| s.posts);
    // Room for what is appended (about 240 bytes a post), so columns grow once.
    for (file, from) in &reads {
        let rel = relative(store.dir(), file);
        let len = fs::symlink_metadata(file).map_or(0, |m| m.len());
        let posts = (len.saturating_sub(from.offset) / 240) as usize;
        if let Some(src) = b.sources.iter_mut().find(|s| s.name == source_of(&rel)) {
            src.posts.reserve(posts);
            src.ids.ends.reserve(posts);
        }
    }
    // New posts are checked against the sealed ids.
    if !reads.is_empty()
        && let Some(seal) = &mut b.seal
        && let Err(why) = seal.read_ids(index)
    {
        return read_all(store, registry, index, why);
    }
    let ends = b.read(registry, &reads)?;
    if b.joins_seal {
        let why = "a new post joins a thread sealed away (a late reply, a repeated id)";
        return read_all(store, registry, index, why);
    }
    let mut changed = used.rebuilt.is_some() || !touched.is_empty();
    for (rel, st) in touched {
        if let Some(c) = covered.iter_mut().find(|c| c.path == rel) {
            (c.dev, c.ino, c.mtime) = (st.dev, st.ino, st.mtime);
        }
    }
    for ((file, from), end) in reads.iter().zip(ends) {
        used.parsed_bytes += end.offset - from.offset;
        let rel = relative(store.dir(), file);
        let grew = end != *from;
        let hashed = grown
            .iter()
            .position(|(r, _)| *r == rel)
            .map(|i| (from.offset, grown.swap_remove(i).1));
        match covered.iter_mut().find(|c| c.path == rel) {
            Some(c) if grew => {
                *c = covering(file, rel, end, hashed)?;
                changed = true;
            }
            Some(_) => {}
            None => {
                covered.push(covering(file, rel, end, None)?);
                changed = true;
            }
        }
    }
    if changed {
        // In the order a full read takes the partitions.
        let rels: Vec<String> = files.iter().map(|f| relative(store.dir(), f)).collect();
        covered.sort_by_key(|c| rels.iter().position(|r| *r == c.path));
        if let Err(e) = write(index, registry.fingerprint, store.dir(), &covered, &b) {
            used.not_written = Some(format!("{}: {e:#}", index.display()));
        }
    }
    Ok((
        Indexed {
            builder: b,
            covered,
        },
        used,
    ))
}

fn relative(store: &Path, file: &Path) -> String {
    file.strip_prefix(store)
        .unwrap_or(file)
        .to_string_lossy()
        .into_owned()
}

fn source_of(rel: &str) -> &str {
    rel.split('/').next().unwrap_or(rel)
}

/// A partition's identity, length and modification time, as `stat` gives them.
struct Stat {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: u64,
}

fn stat(file: &Path) -> std::io::Result<Stat> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(file)?;
    Ok(Stat {
        dev: meta.dev(),
        ino: meta.ino(),
        len: meta.len(),
        mtime: (meta.mtime() as u64).wrapping_mul(1_000_000_000) + meta.mtime_nsec() as u64,
    })
}

/// `hash` carried on over a partition's bytes from `from` to `to`.
fn hash_on(file: &Path, mut hash: Xxh3, from: u64, to: u64) -> std::io::Result<Xxh3> {
    let mut f = crate::store::open_nofollow(OpenOptions::new().read(true), file)?;
    f.seek(SeekFrom::Start(from))?;
    let mut r = BufReader::with_capacity(1 << 20, f.take(to - from));
    let mut read = 0u64;
    loop {
        let buf = std::io::BufRead::fill_buf(&mut r)?;
        if buf.is_empty() {
            break;
        }
        hash.update(buf);
        let n = buf.len();
        read += n as u64;
        std::io::BufRead::consume(&mut r, n);
    }
    if read != to - from {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(hash)
}

/// The partition's identity now, its bytes up to `end` hashed (carrying on from `hashed`, the
/// hash of its bytes up to a position, when given).
fn covering(
    file: &Path,
    path: String,
    end: Position,
    hashed: Option<(u64, Xxh3)>,
) -> Result<Covered> {
    let st = stat(file)?;
    let (from, hash) = hashed.unwrap_or((0, Xxh3::new()));
    Ok(Covered {
        path,
        dev: st.dev,
        ino: st.ino,
        mtime: st.mtime,
        end,
        sum: hash_on(file, hash, from, end.offset)?.digest(),
    })
}

/// The corpus keeps sources in the order their first posts were read, which a full read gives
/// by name: a source whose first posts come now must sort after the sources already indexed.
fn in_source_order(store: &Path, b: &CorpusBuilder, plan: Plan) -> Result<Plan, String> {
    for (file, _) in &plan.reads {
        let rel = relative(store, file);
        let source = source_of(&rel);
        if !b.sources.iter().any(|s| s.name == source)
            && b.sources.iter().any(|s| s.name.as_str() > source)
        {
            return Err(format!(
                "{rel}: the first posts of a source that sorts before an indexed one"
            ));
        }
    }
    Ok(plan)
}

/// What a run reads on top of the index.
struct Plan {
    /// Each partition from where the index stops (a grown last month of a source, new months,
    /// new sources), in the order a full read takes them.
    reads: Vec<(PathBuf, Position)>,
    /// Partitions whose bytes are the ones covered, though `stat` changed (a fresh checkout, a
    /// copy): their new identity is recorded.
    touched: Vec<(String, Stat)>,
    /// The hash of each grown partition's covered bytes, to carry on over what is appended.
    grown: Vec<(String, Xxh3)>,
}

/// What to read on top of the index, or why the index cannot be trusted. A covered partition
/// whose identity, length and modification time are unchanged is trusted without reading it;
/// any other has its covered bytes hashed again.
fn plan(store: &Path, covered: &[Covered], files: &[PathBuf]) -> Result<Plan, String> {
    let rels: Vec<String> = files.iter().map(|f| relative(store, f)).collect();
    let mut plan = Plan {
        reads: Vec::new(),
        touched: Vec::new(),
        grown: Vec::new(),
    };
    let mut c = covered.iter().peekable();
    for (file, rel) in files.iter().zip(&rels) {
        let source = source_of(rel);
        match c.peek() {
            Some(cov) if cov.path == *rel => {
                let cov = c.next().expect("peeked");
                let last_of_source = c.peek().is_none_or(|n| source_of(&n.path) != source);
                let cannot = |e: std::io::Error| format!("cannot read {}: {e}", file.display());
                let st = stat(file).map_err(cannot)?;
                let same = (st.dev, st.ino, st.mtime, st.len)
                    == (cov.dev, cov.ino, cov.mtime, cov.end.offset);
                if !same {
                    if st.len < cov.end.offset {
                        return Err(format!("{rel} was rewritten"));
                    }
                    let hash = hash_on(file, Xxh3::new(), 0, cov.end.offset).map_err(cannot)?;
                    if hash.digest() != cov.sum {
                        return Err(format!("{rel} was rewritten"));
                    }
                    if st.len > cov.end.offset {
                        if !last_of_source {
                            return Err(format!("{rel} grew, and a later month of its source too"));
                        }
                        plan.reads.push((file.clone(), cov.end));
                        plan.grown.push((rel.clone(), hash));
                    } else {
                        plan.touched.push((rel.clone(), st));
                    }
                }
            }
            Some(cov) if !rels.contains(&cov.path) => {
                return Err(format!("{} is gone", cov.path));
            }
            Some(cov) if source_of(&cov.path) == source => {
                return Err(format!("{rel} is new among months already indexed"));
            }
            // The next covered partition is of a later source: this one is a new last month
            // of an indexed source, or a new source that sorts before an indexed one.
            Some(_) if covered.iter().any(|c| source_of(&c.path) == source) => {
                plan.reads.push((file.clone(), Position::START));
            }
            Some(_) => {
                return Err(format!("{rel}: a new source sorts before an indexed one"));
            }
            None => plan.reads.push((file.clone(), Position::START)),
        }
    }
    if let Some(cov) = c.next() {
        return Err(format!("{} is gone", cov.path));
    }
    Ok(plan)
}

// ------------------------------------------------------------------------------------------
// The file: MAGIC, VERSION (u32), checksum of the rest (u64, xxh3), then the body, all little
// endian. Strings and arrays are preceded by their length (u64).
// ------------------------------------------------------------------------------------------

struct Out<W: Write> {
    w: W,
    hash: Xxh3,
}

impl<W: Write> Out<W> {
    fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.hash.update(b);
        self.w.write_all(b)
    }
    fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn str(&mut self, s: &str) -> std::io::Result<()> {
        self.u64(s.len() as u64)?;
        self.bytes(s.as_bytes())
    }
    /// A column of fixed-width values, encoded in blocks.
    fn column<T>(
        &mut self,
        items: &[T],
        mut put: impl FnMut(&T, &mut Vec<u8>),
    ) -> std::io::Result<()> {
        self.u64(items.len() as u64)?;
        let mut buf = Vec::with_capacity(1 << 16);
        for chunk in items.chunks(2048) {
            buf.clear();
            for item in chunk {
                put(item, &mut buf);
            }
            self.bytes(&buf)?;
        }
        Ok(())
    }
    fn interner(&mut self, i: &Interner) -> std::io::Result<()> {
        self.str(&i.bytes)?;
        self.column(&i.ends, |&e, b| {
            b.extend_from_slice(&(e as u64).to_le_bytes())
        })?;
        self.column(&i.hashes(), |&h, b| b.extend_from_slice(&h.to_le_bytes()))
    }
}

/// The temporary file `path` is written through (renamed into place after), in a folder made
/// if missing and never a symbolic link, with the leftovers of runs killed while writing it
/// removed first (a run writing at this moment then fails to rename its file, and says so).
fn temporary(path: &Path) -> Result<PathBuf> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
        if fs::symlink_metadata(dir)?.file_type().is_symlink() {
            anyhow::bail!(
                "{} is a symbolic link, which replyrank never follows",
                dir.display()
            );
        }
    }
    if let (Some(dir), Some(stem)) = (path.parent(), path.file_stem()) {
        let prefix = format!("{}.tmp-", stem.to_string_lossy());
        for e in fs::read_dir(dir)?.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    Ok(path.with_extension(format!("tmp-{}", std::process::id())))
}

/// Writes `path` through a temporary file renamed into place: `magic`, [`VERSION`], the
/// checksum (xxh3) of the body, then the body `body` writes. Returns the checksum.
fn write_file(
    path: &Path,
    magic: &[u8; 16],
    body: impl FnOnce(&mut Out<BufWriter<&mut File>>) -> Result<()>,
) -> Result<u64> {
    let tmp = temporary(path)?;
    let result = (|| -> Result<u64> {
        let mut file =
            crate::store::open_nofollow(OpenOptions::new().write(true).create_new(true), &tmp)?;
        file.write_all(magic)?;
        file.write_all(&VERSION.to_le_bytes())?;
        file.write_all(&0u64.to_le_bytes())?;
        let mut o = Out {
            w: BufWriter::with_capacity(1 << 20, &mut file),
            hash: Xxh3::new(),
        };
        body(&mut o)?;
        let sum = o.hash.digest();
        o.w.flush()?;
        drop(o);
        file.seek(SeekFrom::Start((magic.len() + 4) as u64))?;
        file.write_all(&sum.to_le_bytes())?;
        Ok(sum)
    })();
    match result {
        Ok(sum) => {
            fs::rename(&tmp, path)?;
            Ok(sum)
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn write(
    index: &Path,
    registry: u64,
    store: &Path,
    covered: &[Covered],
    b: &CorpusBuilder,
) -> Result<()> {
    write_file(index, MAGIC, |o| {
        o.u64(registry)?;
        o.u64(covered.len() as u64)?;
        for c in covered {
            o.str(&c.path)?;
            for v in [
                c.dev,
                c.ino,
                c.mtime,
                c.end.offset,
                c.end.line as u64,
                c.sum,
            ] {
                o.u64(v)?;
            }
        }
        o.str(&serde_json::to_string(&b.quality)?)?;
        let bad: Vec<&Notice> = b
            .notices
            .iter()
            .filter(|n| matches!(n, Notice::BadLine { .. }))
            .collect();
        o.u64(bad.len() as u64)?;
        for n in bad {
            if let Notice::BadLine { file, line, error } = n {
                o.str(&relative(store, file))?;
                o.u64(*line as u64)?;
                o.str(error)?;
            }
        }
        o.u64(b.sources.len() as u64)?;
        for s in &b.sources {
            o.str(&s.name)?;
            o.u64(u64::from(s.anonymous))?;
            o.interner(&s.ids)?;
            o.interner(&s.authors)?;
            o.column(&s.posts, |m, b| {
                b.extend_from_slice(&m.at.to_le_bytes());
                for v in [
                    m.author,
                    m.parent,
                    m.by_brand,
                    m.to_brand,
                    m.followers,
                    m.template,
                ] {
                    b.extend_from_slice(&v.to_le_bytes());
                }
                b.push(u8::from(m.deflect) | u8::from(m.needs_reply) << 1);
            })?;
            o.column(&s.listed_replies, |&(p, r), b| {
                b.extend_from_slice(&p.to_le_bytes());
                b.extend_from_slice(&r.to_le_bytes());
            })?;
            o.column(&s.templates, |t, b| {
                for v in t.0 {
                    b.extend_from_slice(&v.to_le_bytes());
                }
            })?;
        }
        match &b.seal {
            None => o.u64(0)?,
            Some(seal) => {
                o.u64(1)?;
                o.u64(seal.line as u64)?;
                o.str(&serde_json::to_string(&(
                    seal.version,
                    &seal.quality,
                    seal.posts,
                ))?)?;
                o.column(&seal.complaints, |c, b| {
                    b.extend_from_slice(&c.at.to_le_bytes());
                    b.extend_from_slice(&c.brand.to_le_bytes());
                    b.extend_from_slice(&c.reply_s.unwrap_or(i64::MIN).to_le_bytes());
                    b.push(u8::from(c.needs_reply) | u8::from(c.cut_off) << 1);
                })?;
                let ids_sum = seal.ids_sum.ok_or_else(|| {
                    anyhow::anyhow!("the sealed ids are written before the index")
                })?;
                o.u64(ids_sum)?;
            }
        }
        Ok(())
    })
    .map(|_| ())
}

struct In<R: Read> {
    r: R,
    hash: Xxh3,
    /// Reused for each block of a column, so reading a column allocates only the column.
    scratch: Vec<u8>,
    /// The bytes of the body not read yet: no length read from it may claim more (a damaged
    /// one would otherwise size a huge allocation, and a failed allocation aborts the run).
    left: u64,
}

/// The body is damaged or of another layout.
const DAMAGED: &str = "the index is damaged";

/// The body of a file [`open_file`] opened.
type Body = In<BufReader<File>>;

/// Opens a file [`write_file`] wrote with `magic`: its body to read, and the checksum the body
/// must have ([`In::end`]). `None` when there is no such file; an error (why it cannot be used)
/// when it is damaged or of another version.
fn open_file(path: &Path, magic: &[u8; 16]) -> Result<Option<(Body, u64)>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let size = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut head = [0u8; 28];
    r.read_exact(&mut head).map_err(|_| DAMAGED.to_string())?;
    if &head[..16] != magic {
        return Err(DAMAGED.into());
    }
    if le_u32(&head[16..20]) != VERSION {
        return Err("the index is of another replyrank version".into());
    }
    let i = In {
        r,
        hash: Xxh3::new(),
        scratch: Vec::new(),
        left: size.saturating_sub(head.len() as u64),
    };
    Ok(Some((i, le_u64(&head[20..28]))))
}

impl<R: Read> In<R> {
    /// Checks the body ended here and had the checksum `sum`.
    fn end(&mut self, sum: u64) -> Result<(), String> {
        let mut rest = [0u8; 1];
        if self.r.read(&mut rest).map_err(|e| e.to_string())? != 0 || self.hash.digest() != sum {
            return Err(DAMAGED.into());
        }
        Ok(())
    }

    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, String> {
        if n as u64 > self.left {
            return Err(DAMAGED.into());
        }
        let mut buf = Vec::new();
        (&mut self.r)
            .take(n as u64)
            .read_to_end(&mut buf)
            .map_err(|e| e.to_string())?;
        if buf.len() != n {
            return Err(DAMAGED.into());
        }
        self.left -= n as u64;
        self.hash.update(&buf);
        Ok(buf)
    }
    fn u64(&mut self) -> Result<u64, String> {
        let b = self.bytes(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    /// A count of items `width` bytes wide each, refused when they would not fit in what is
    /// left of the body (so damage never asks for a huge allocation).
    fn len(&mut self, width: usize) -> Result<usize, String> {
        let n = self.u64()?;
        if n.saturating_mul(width.max(1) as u64) > self.left {
            return Err(DAMAGED.into());
        }
        Ok(n as usize)
    }
    fn str(&mut self) -> Result<String, String> {
        let n = self.len(1)?;
        String::from_utf8(self.bytes(n)?).map_err(|_| DAMAGED.to_string())
    }
    fn column<T>(&mut self, width: usize, get: impl Fn(&[u8]) -> T) -> Result<Vec<T>, String> {
        let n = self.len(width)?;
        let mut out = Vec::with_capacity(n);
        let mut left = n;
        while left > 0 {
            let take = left.min(1 << 16);
            self.scratch.clear();
            (&mut self.r)
                .take((take * width) as u64)
                .read_to_end(&mut self.scratch)
                .map_err(|e| e.to_string())?;
            if self.scratch.len() != take * width {
                return Err(DAMAGED.into());
            }
            self.left -= self.scratch.len() as u64;
            self.hash.update(&self.scratch);
            out.extend(self.scratch.chunks_exact(width).map(&get));
            left -= take;
        }
        Ok(out)
    }
    fn interner(&mut self) -> Result<Interner, String> {
        let bytes = self.str()?;
        let ends: Vec<usize> = self.column(8, |b| le_u64(b) as usize)?;
        let unindexed = self.column(8, le_u64)?;
        let fits = ends.windows(2).all(|w| w[0] <= w[1])
            && ends.last().is_none_or(|&e| e == bytes.len())
            && ends.iter().all(|&e| bytes.is_char_boundary(e))
            && unindexed.len() == ends.len();
        if !fits {
            return Err(DAMAGED.into());
        }
        Ok(Interner {
            table: Default::default(),
            bytes,
            ends,
            unindexed,
        })
    }
}

fn read_seal<R: Read>(i: &mut In<R>) -> Result<Seal, String> {
    let line = i.u64()? as i64;
    let (version, quality, posts): (Version, PairQuality, usize) =
        serde_json::from_str(&i.str()?).map_err(|_| DAMAGED.to_string())?;
    let complaints = i.column(21, |b| {
        let reply_s = i64::from_le_bytes(b[12..20].try_into().expect("8 bytes"));
        SealedComplaint {
            at: i64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
            brand: le_u32(&b[8..]),
            reply_s: (reply_s != i64::MIN).then_some(reply_s),
            needs_reply: b[20] & 1 != 0,
            cut_off: b[20] & 2 != 0,
        }
    })?;
    let ids_sum = i.u64()?;
    Ok(Seal {
        line,
        version,
        complaints,
        quality,
        posts,
        ids: None,
        ids_sum: Some(ids_sum),
    })
}

/// The file of the sealed ids, beside the index.
fn sealed_ids_path(index: &Path) -> PathBuf {
    index.with_file_name("sealed-ids.bin")
}

const IDS_MAGIC: &[u8; 16] = b"replyrank sealed";

impl Seal {
    /// Writes the sealed ids beside the index (through a temporary file), unless the file
    /// already holds them, and records its checksum for the index.
    fn write_ids(&mut self, index: &Path) -> Result<()> {
        if self.ids_sum.is_some() {
            return Ok(());
        }
        let ids = self.ids.as_ref().expect("the sealed ids were read or made");
        let sum = write_file(&sealed_ids_path(index), IDS_MAGIC, |o| {
            o.u64(ids.len() as u64)?;
            for s in ids {
                o.str(&s.source)?;
                for hashes in [&s.stored, &s.named] {
                    o.column(hashes, |h, b| b.extend_from_slice(&h.to_le_bytes()))?;
                }
            }
            Ok(())
        })?;
        self.ids_sum = Some(sum);
        Ok(())
    }

    /// Reads the sealed ids from beside the index at `index`, unless read already; an error
    /// (why the seal cannot be used) when the file is missing, damaged or not the one the index
    /// was written with.
    pub(super) fn read_ids(&mut self, index: &Path) -> Result<(), String> {
        if self.ids.is_some() {
            return Ok(());
        }
        let path = sealed_ids_path(index);
        let ids = (|| -> Result<Vec<SealedIds>, String> {
            let (mut i, sum) = open_file(&path, IDS_MAGIC)?.ok_or("missing")?;
            if Some(sum) != self.ids_sum {
                return Err("not the sealed ids of the index".into());
            }
            let mut ids = Vec::new();
            // Each source takes at least its name's and two columns' lengths.
            for _ in 0..i.len(24)? {
                let source = i.str()?;
                let mut column = || {
                    i.column(16, |b| {
                        u128::from_le_bytes(b[..16].try_into().expect("16 bytes"))
                    })
                };
                let (stored, named) = (column()?, column()?);
                if !stored.is_sorted() || !named.is_sorted() {
                    return Err(DAMAGED.into());
                }
                ids.push(SealedIds {
                    source,
                    stored,
                    named,
                });
            }
            i.end(sum)?;
            Ok(ids)
        })()
        .map_err(|why| format!("{}: {why}", path.display()))?;
        self.ids = Some(ids);
        Ok(())
    }
}

fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
}

/// The builder and covered partitions an index holds; `None` when there is no index; an error
/// (why it cannot be used) when it is damaged, of another version, or of another registry.
type ReadBack = Option<(CorpusBuilder, Vec<Covered>)>;

fn read(index: &Path, registry: u64, store: &Path) -> Result<ReadBack, String> {
    let Some((mut i, sum)) = open_file(index, MAGIC)? else {
        return Ok(None);
    };
    if i.u64()? != registry {
        return Err("the brand registry changed".into());
    }
    let mut covered = Vec::new();
    // Each partition takes at least its path's length and six numbers.
    for _ in 0..i.len(56)? {
        let path = i.str()?;
        let [dev, ino, mtime, offset, line, sum] = [0; 6].map(|_| i.u64());
        covered.push(Covered {
            path,
            dev: dev?,
            ino: ino?,
            mtime: mtime?,
            end: Position {
                offset: offset?,
                line: line? as usize,
            },
            sum: sum?,
        });
    }
    let quality: LoadQuality = serde_json::from_str(&i.str()?).map_err(|_| DAMAGED.to_string())?;
    let mut notices = Vec::new();
    for _ in 0..i.len(24)? {
        let file = store.join(i.str()?);
        let line = i.u64()? as usize;
        let error = i.str()?;
        notices.push(Notice::BadLine { file, line, error });
    }
    let mut sources = Vec::new();
    // Each source takes at least 11 lengths and numbers.
    for s in 0..i.len(88)? {
        let name = i.str()?;
        let anonymous = u32::try_from(i.u64()?).map_err(|_| DAMAGED.to_string())?;
        let ids = i.interner()?;
        let authors = i.interner()?;
        let posts = i.column(33, |b| {
            let at = i64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
            let u = |k: usize| le_u32(&b[8 + 4 * k..]);
            Meta {
                at,
                author: u(0),
                parent: u(1),
                parent_missing: false,
                by_brand: u(2),
                to_brand: u(3),
                deflect: b[32] & 1 != 0,
                needs_reply: b[32] & 2 != 0,
                reply_missing: false,
                // As the builder leaves posts only ever seen as parents or listed replies.
                source: if at == i64::MIN { 0 } else { s as u16 },
                followers: u(4),
                template: u(5),
            }
        })?;
        let listed_replies = i.column(8, |b| (le_u32(b), le_u32(&b[4..])))?;
        let templates = i.column(2 * HASHES, |b| {
            Signature(std::array::from_fn(|k| {
                u16::from_le_bytes([b[2 * k], b[2 * k + 1]])
            }))
        })?;
        let n = posts.len();
        let fits = ids.len() == n
            && posts.iter().all(|m| {
                (m.parent == super::NONE || (m.parent as usize) < n)
                    && (m.at == i64::MIN || (m.author as usize) < authors.len())
                    && (m.template == super::NONE || (m.template as usize) < templates.len())
            })
            && listed_replies
                .iter()
                .all(|&(p, r)| (p as usize) < n && (r as usize) < n);
        if !fits {
            return Err(DAMAGED.into());
        }
        sources.push(SourceState {
            name,
            ids,
            authors,
            posts,
            anonymous,
            listed_replies,
            templates,
        });
    }
    let seal = match i.u64()? {
        0 => None,
        1 => Some(read_seal(&mut i)?),
        _ => return Err(DAMAGED.into()),
    };
    i.end(sum)?;
    Ok(Some((
        CorpusBuilder {
            expected_posts: 0,
            sources,
            quality,
            notices,
            seal,
            joins_seal: false,
        },
        covered,
    )))
}
