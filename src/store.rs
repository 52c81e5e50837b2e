//! The store: every post ever imported or collected, under `data/store/`.
//!
//! Layout: `data/store/FORMAT` holds the schema version ([`STORE_SCHEMA`]); posts live in
//! `data/store/<source>/<YYYY-MM>.jsonl`, one [`Post`] per line, partitioned by the calendar month
//! (UTC) of `created_at`. Files are only ever appended to, so a daily run's git diff is the new
//! lines at the end of the recent months.
//!
//! Several replyrank processes may use one store at once. `FORMAT` doubles as the store's lock
//! file: a writer ([`Store::open_for_writing`]: import, collect) holds it exclusively for its whole
//! run, readers ([`Store::open`]: score, build) hold it shared, so a reader never sees half an
//! import and two imports of one file store each post once. Whoever has to wait says so once.
//!
//! Crash safety: lines are written whole and the file is synced before a run reports success. A
//! crash mid-write can leave a torn last line (no final newline). Readers skip it (and say so)
//! without touching the file; the next writer repairs it under the lock: a last line that is a
//! valid post only gets its newline, anything else is moved to `<partition>.torn` and the file
//! truncated back to its last complete line. A write that fails (a full disk) is cut back to its
//! last complete line at once. Nothing already stored is rewritten.
//!
//! Only lines that are valid posts ([`StoredLine::parse`]) count as stored: a damaged line is
//! reported with its file:line and its post can be imported again.
//!
//! The store never follows a symbolic link: a linked source directory or partition is reported
//! and skipped, and files are opened with `O_NOFOLLOW`.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::post::{PRIVATE_SCHEMA, Post, STORE_SCHEMA, STORE_SCHEMA_V1, StoredLine};
use crate::root::SiteRoot;

/// The longest line (bytes) a stored post or an imported line or record may take. Longer ones
/// are not posts: imports reject them with their file:line, readers skip them.
pub const MAX_LINE: usize = 1 << 20;

/// Something the store noticed and dealt with on its own: reported, never fatal.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A torn last line was moved to `saved_to` and the partition truncated.
    TornLineRepaired {
        file: PathBuf,
        bytes: u64,
        saved_to: PathBuf,
    },
    /// A last line that is a valid post lacked only its newline, which a writer added.
    NewlineAdded { file: PathBuf },
    /// A reader skipped an unfinished last line (left for the next writer to repair).
    TornLineSkipped {
        file: PathBuf,
        line: usize,
        bytes: usize,
    },
    /// A complete line that is not a valid post: skipped, left in place for a person to look at.
    BadLine {
        file: PathBuf,
        line: usize,
        error: String,
    },
    /// A symbolic link inside the store: never followed.
    SymlinkSkipped { path: PathBuf },
    /// A FIFO, socket or device inside the store: never opened.
    NotAFileSkipped { path: PathBuf },
    /// Posts dated after the run's clock: left out of the default as-of.
    FuturePosts { posts: usize, newest: i64 },
    /// The store's index could not be written (the next run reads the whole store again).
    IndexNotWritten { error: String },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::TornLineRepaired {
                file,
                bytes,
                saved_to,
            } => write!(
                f,
                "{}: repaired a torn last line ({bytes} bytes, probably an interrupted write); \
                 the fragment is kept in {}; re-run the import or collection to fetch it again",
                file.display(),
                saved_to.display()
            ),
            Notice::NewlineAdded { file } => write!(
                f,
                "{}: the last line is a whole post that lacked its final newline; added it",
                file.display()
            ),
            Notice::TornLineSkipped { file, line, bytes } => write!(
                f,
                "{}:{line}: skipped an unfinished last line ({bytes} bytes, probably an \
                 interrupted write); the next import or collect repairs it",
                file.display()
            ),
            Notice::BadLine { file, line, error } => write!(
                f,
                "{}:{line}: skipped a line that is not a valid post ({error}); fix or delete it",
                file.display()
            ),
            Notice::SymlinkSkipped { path } => write!(
                f,
                "{}: skipped a symbolic link; the store never follows links (replace it with \
                 the real directory or file)",
                path.display()
            ),
            Notice::NotAFileSkipped { path } => write!(
                f,
                "{}: skipped something that is neither a file nor a directory (a FIFO, socket \
                 or device); move it out of the store",
                path.display()
            ),
            Notice::IndexNotWritten { error } => write!(
                f,
                "could not write the store's index ({error}); the figures are unaffected, but \
                 the next run reads the whole store again (check the disk and the folder's \
                 permissions)"
            ),
            Notice::FuturePosts { posts, newest } => write!(
                f,
                "{posts} post(s) are dated after now (the latest {}): the default as-of ignores \
                 them; check the clock of their source or their dates",
                crate::time::format_rfc3339(*newest)
            ),
        }
    }
}

pub struct Store {
    dir: PathBuf,
    writable: bool,
    /// `FORMAT`, locked (shared to read, exclusively to write) for as long as the store is open.
    _lock: Option<File>,
    /// What opening the store noticed (and, for a writer, repaired).
    pub notices: Vec<Notice>,
}

/// Which of a site root's two stores (see `crate::stores`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `data/store/`: committed and published; collected posts only as pseudonyms.
    Published,
    /// `data/private/`: collected posts as the networks gave them; never committed.
    Private,
    /// `data/store/` of version 1 (`replyrank.store/1`), opened only by `replyrank migrate`.
    PublishedV1,
}

impl Kind {
    fn dir(self, root: &SiteRoot) -> PathBuf {
        match self {
            Kind::Published | Kind::PublishedV1 => root.store(),
            Kind::Private => root.private_store(),
        }
    }

    fn schema(self) -> &'static str {
        match self {
            Kind::Published => STORE_SCHEMA,
            Kind::Private => PRIVATE_SCHEMA,
            Kind::PublishedV1 => STORE_SCHEMA_V1,
        }
    }
}

impl Store {
    /// Opens the published store of a site root for reading: waits for any writer, then holds
    /// a shared lock. Reading never creates, repairs or writes a file, so it works on a
    /// read-only store; a store that does not exist yet reads as empty.
    pub fn open(root: &SiteRoot) -> Result<Store> {
        Store::open_kind(root, Kind::Published)
    }

    /// Opens (creating if needed) the published store of a site root for writing: waits for
    /// every other user, then holds the lock exclusively until dropped; checks the schema
    /// version and repairs torn last lines.
    pub fn open_for_writing(root: &SiteRoot) -> Result<Store> {
        Store::open_kind_for_writing(root, Kind::Published)
    }

    /// Opens one of the stores of a site root for reading (see [`Store::open`]).
    pub fn open_kind(root: &SiteRoot, kind: Kind) -> Result<Store> {
        let dir = kind.dir(root);
        let path = dir.join("FORMAT");
        let lock = match open_nofollow(OpenOptions::new().read(true), &path) {
            Ok(mut f) => {
                lock(&f, false, &dir)?;
                check_format(&mut f, &path, kind, false)?;
                Some(f)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
        };
        let mut store = Store {
            dir,
            writable: false,
            _lock: lock,
            notices: Vec::new(),
        };
        store.notices = store.unusual_entries()?;
        Ok(store)
    }

    /// Opens one of the stores of a site root for writing (see [`Store::open_for_writing`]).
    pub fn open_kind_for_writing(root: &SiteRoot, kind: Kind) -> Result<Store> {
        let dir = kind.dir(root);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join("FORMAT");
        let mut f = open_nofollow(
            OpenOptions::new().read(true).write(true).create(true),
            &path,
        )
        .with_context(|| format!("cannot open {}", path.display()))?;
        lock(&f, true, &dir)?;
        check_format(&mut f, &path, kind, true)?;
        let mut store = Store {
            dir,
            writable: true,
            _lock: Some(f),
            notices: Vec::new(),
        };
        store.notices = store.unusual_entries()?;
        for file in store.partitions(None)? {
            if let Some(n) = repair_torn_tail(&file)? {
                store.notices.push(n);
            }
        }
        Ok(store)
    }

    /// Writes a new schema version into `FORMAT` (`migrate`, once the store is converted).
    /// It is written in place, through the locked file, so the lock stays the store's.
    pub fn set_format(&self, kind: Kind) -> Result<()> {
        let path = self.dir.join("FORMAT");
        let Some(mut f) = self._lock.as_ref().filter(|_| self.writable) else {
            bail!("the store {} is open for reading only", self.dir.display());
        };
        f.set_len(0)
            .and_then(|()| f.seek(SeekFrom::Start(0)))
            .and_then(|_| f.write_all(format!("{}\n", kind.schema()).as_bytes()))
            .and_then(|()| f.sync_data())
            .with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The symbolic links and special files (FIFOs, sockets, devices) in the store (top level
    /// and source directories), which are skipped.
    fn unusual_entries(&self) -> Result<Vec<Notice>> {
        let mut out = Vec::new();
        let mut dirs = vec![self.dir.clone()];
        dirs.extend(self.sources()?.iter().map(|s| self.dir.join(s)));
        for dir in dirs {
            for (path, kind) in list(&dir)? {
                if kind.is_symlink() {
                    out.push(Notice::SymlinkSkipped { path });
                } else if !kind.is_file() && !kind.is_dir() {
                    out.push(Notice::NotAFileSkipped { path });
                }
            }
        }
        Ok(out)
    }

    /// The sources present in the store (real directories, not links), sorted.
    pub fn sources(&self) -> Result<Vec<String>> {
        let mut out: Vec<String> = list(&self.dir)?
            .into_iter()
            .filter(|(_, t)| t.is_dir())
            .filter_map(|(p, _)| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Partition files (regular files, not links), sorted by source then month; all sources
    /// when `source` is `None`.
    pub fn partitions(&self, source: Option<&str>) -> Result<Vec<PathBuf>> {
        let sources = match source {
            Some(s) => vec![s.to_string()],
            None => self.sources()?,
        };
        let mut out = Vec::new();
        for s in sources {
            let mut files: Vec<PathBuf> = list(&self.dir.join(&s))?
                .into_iter()
                .filter(|(p, t)| t.is_file() && p.extension().is_some_and(|x| x == "jsonl"))
                .map(|(p, _)| p)
                .collect();
            files.sort();
            out.extend(files);
        }
        Ok(out)
    }

    /// The ids stored for a source (of lines that are valid posts), for de-duplication.
    pub fn ids(&self, source: &str) -> Result<FxHashSet<Box<str>>> {
        use rayon::prelude::*;
        let files = self.partitions(Some(source))?;
        let mut ids =
            FxHashSet::with_capacity_and_hasher(estimated_posts(&files), Default::default());
        for file in files {
            line_blocks(&file, |chunks, _| {
                let found: Vec<Vec<Box<str>>> = chunks
                    .par_iter()
                    .map(|&(first, chunk)| {
                        lines_of(first, chunk)
                            .filter_map(|(_, l)| parse_line(l).ok())
                            .map(|(l, _)| Box::from(l.id.as_ref()))
                            .collect()
                    })
                    .collect();
                ids.extend(found.into_iter().flatten());
            })?;
        }
        Ok(ids)
    }

    /// Appends posts not already stored (see [`Appender`]) and syncs them (tests).
    #[cfg(test)]
    pub fn append(&mut self, posts: Vec<Post<'_>>) -> Result<AppendCount> {
        let mut appender = Appender::new(self);
        appender.push(posts)?;
        appender.finish()
    }
}

impl Store {
    /// Rewrites one partition line by line: `edit` says what becomes of each line (its
    /// replacement is given without its newline). The new file is written beside the old one,
    /// synced and renamed over it, so a crash leaves the old partition or the new one, never a
    /// mix. Returns how many lines changed or were dropped. Only a store opened for writing may
    /// do this.
    pub fn rewrite(&self, path: &Path, mut edit: impl FnMut(&[u8]) -> Edit) -> Result<usize> {
        if !self.writable {
            bail!("the store {} is open for reading only", self.dir.display());
        }
        let tmp = path.with_extension("jsonl.rewrite");
        let mut out = std::io::BufWriter::new(
            open_nofollow(
                OpenOptions::new().write(true).create(true).truncate(true),
                &tmp,
            )
            .with_context(|| format!("cannot write {}", tmp.display()))?,
        );
        let mut changed = 0;
        let mut replaced = Vec::new();
        let mut failed: Option<std::io::Error> = None;
        line_blocks(path, |chunks, _unfinished| {
            for &(first, chunk) in chunks {
                for (_, line) in lines_of(first, chunk) {
                    if failed.is_some() {
                        return;
                    }
                    let new = match edit(line) {
                        Edit::Keep => line,
                        Edit::Drop => {
                            changed += 1;
                            continue;
                        }
                        Edit::Replace(new) => {
                            changed += 1;
                            replaced = new;
                            &replaced
                        }
                    };
                    let written = out.write_all(new).and_then(|()| out.write_all(b"\n"));
                    if let Err(e) = written {
                        failed = Some(e);
                    }
                }
            }
        })?;
        let file = match failed {
            Some(e) => Err(e),
            None => out.into_inner().map_err(|e| e.into_error()),
        };
        let synced = file.and_then(|f| f.sync_all());
        if let Err(e) = synced {
            let _ = fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("cannot write {}", tmp.display()));
        }
        fs::rename(&tmp, path)
            .with_context(|| format!("cannot replace {} with {}", path.display(), tmp.display()))?;
        if let Some(dir) = path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).ok();
        }
        Ok(changed)
    }
}

/// What [`Store::rewrite`] does with a line.
pub enum Edit {
    Keep,
    Replace(Vec<u8>),
    Drop,
}

/// Parses one stored line: a valid post, or why not.
pub fn parse_line(l: &[u8]) -> Result<(StoredLine<'_>, i64), String> {
    if l.len() > MAX_LINE {
        return Err(format!(
            "longer than {} MiB (store::MAX_LINE)",
            MAX_LINE >> 20
        ));
    }
    StoredLine::parse(l)
}

/// The entries of a directory with their own types (links are not followed); none when the
/// directory does not exist.
fn list(dir: &Path) -> Result<Vec<(PathBuf, fs::FileType)>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", entry.path().display()))?;
        out.push((entry.path(), kind));
    }
    Ok(out)
}

/// Opens a regular file without following a symbolic link in its last component, and without
/// blocking on a FIFO: anything but a regular file is an error.
pub(crate) fn open_nofollow(opts: &mut OpenOptions, path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = opts
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => {
                std::io::Error::other("it is a symbolic link, and the store never follows links")
            }
            Some(libc::ENXIO) => std::io::Error::other("it is a FIFO, not a file"),
            _ => e,
        })?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    Ok(f)
}

/// Takes the store's lock, saying once when another replyrank holds it. The lock is `flock(2)`
/// on `FORMAT`: released by the kernel when the process ends, however it ends.
fn lock(f: &File, exclusive: bool, dir: &Path) -> Result<()> {
    let context = || format!("cannot lock {}", dir.join("FORMAT").display());
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    };
    match flock(f, op | libc::LOCK_NB) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            eprintln!(
                "waiting for another replyrank {} the store {}…",
                if exclusive { "using" } else { "writing" },
                dir.display()
            );
            flock(f, op).with_context(context)
        }
        Err(e) => Err(e).with_context(context),
    }
}

fn flock(f: &File, op: libc::c_int) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock on a file descriptor this `File` owns and keeps open.
        if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Checks the schema version in `FORMAT`; a writer fills in an empty (new) one.
fn check_format(f: &mut File, path: &Path, kind: Kind, writer: bool) -> Result<()> {
    let mut text = String::new();
    f.read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let found = text.trim();
    if found == kind.schema() {
        return Ok(());
    }
    if found.is_empty() && kind != Kind::PublishedV1 {
        if writer {
            f.set_len(0)
                .and_then(|()| f.seek(SeekFrom::Start(0)))
                .and_then(|_| f.write_all(format!("{}\n", kind.schema()).as_bytes()))
                .and_then(|()| f.sync_data())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        return Ok(());
    }
    if found == STORE_SCHEMA_V1 && kind == Kind::Published {
        bail!(
            "{} says {STORE_SCHEMA_V1}: a version-1 store, which keeps collected posts with their \
             text, handles and network ids, so it must not be published. Run `replyrank migrate` \
             (with REPLYRANK_PSEUDONYM_KEY set if it holds collected posts) to split it into the \
             published store (data/store/, pseudonyms only) and the private working store \
             (data/private/, never committed)",
            path.display()
        );
    }
    if found == STORE_SCHEMA && kind == Kind::PublishedV1 {
        bail!(
            "{} is already {STORE_SCHEMA}: nothing to migrate",
            path.display()
        );
    }
    bail!(
        "{} says {:?}, but this replyrank reads {}; use a matching replyrank version",
        path.display(),
        found.chars().take(80).collect::<String>(),
        kind.schema()
    )
}

/// Serialised lines for one partition, for the writer thread.
type Lines = (PathBuf, Vec<Vec<u8>>);

/// What the writer thread did: lines written whole (and synced), and how it ended.
type Written = (usize, Result<()>);

/// Writes batches of posts to the store, skipping those whose (source, id) is already stored or
/// already written by this appender, and those that are not valid posts (counted as `invalid`).
/// Within a batch, new posts of a partition are written in (time, id) order; every touched
/// partition is synced by [`Appender::sync`] and [`Appender::finish`]. Needs a store opened
/// with [`Store::open_for_writing`].
pub struct Appender<'s> {
    store: &'s Store,
    /// The ids this store holds, when its index gave them; else each source's stored ids are
    /// read into `seen` on first use.
    stored: Option<&'s crate::corpus::StoredIds>,
    seen: FxHashMap<String, FxHashSet<Box<str>>>,
    /// Serialised lines go to a writer thread, which keeps each partition open until
    /// [`Appender::sync`] has it synced.
    writer: Option<(
        std::sync::mpsc::SyncSender<Lines>,
        std::thread::JoinHandle<Written>,
    )>,
    /// Size hint: how many new posts to make room for.
    expected_new: usize,
    /// Posts handed to the writer since the last sync.
    queued: usize,
    /// A write failed: this appender writes nothing more.
    failed: bool,
    /// `imported` counts the posts handed to the writer; after a failed sync, those written.
    pub count: AppendCount,
}

impl<'s> Appender<'s> {
    pub fn new(store: &'s Store) -> Appender<'s> {
        Appender {
            store,
            stored: None,
            seen: FxHashMap::default(),
            writer: None,
            expected_new: 0,
            queued: 0,
            failed: false,
            count: AppendCount::default(),
        }
    }

    /// De-duplicates against `stored`, the ids this store holds as its index gave them
    /// ([`crate::corpus::StoredIds::load`]), instead of reading each source's stored ids.
    pub fn knowing(&mut self, stored: &'s crate::corpus::StoredIds) {
        self.stored = Some(stored);
    }

    /// Leaves out of `posts` those the store holds by `stored` (see [`Appender::knowing`]),
    /// counted as duplicates: what is left still goes through [`Appender::push`].
    pub fn drop_stored(
        &mut self,
        posts: &mut Vec<Post<'_>>,
        checkable: impl Fn(&Post) -> bool + Sync,
    ) {
        let Some(stored) = self.stored else {
            return;
        };
        use rayon::prelude::*;
        let keep: Vec<bool> = posts
            .par_iter()
            .map(|p| !(checkable(p) && stored.contains(&p.source, &p.id)))
            .collect();
        let before = posts.len();
        let mut keep = keep.into_iter();
        posts.retain(|_| keep.next().expect("one flag a post"));
        self.count.duplicates += before - posts.len();
    }

    /// Makes room for about `n` new posts, so the de-duplication table is sized once.
    pub fn reserve(&mut self, n: usize) {
        self.expected_new = n;
    }

    /// Syncs every partition written to and returns the counts. Until it returns, a crash can
    /// lose the posts written so far (re-importing brings them back) but never damage what was
    /// stored before: lines are appended whole, and a torn last line is repaired on the next run.
    pub fn finish(mut self) -> Result<AppendCount> {
        self.sync()?;
        Ok(self.count)
    }

    /// Writes and syncs everything pushed so far; the appender stays usable (it remembers the
    /// ids it has seen, so later pushes need not read the store again). When a write failed,
    /// the partition is cut back to its last whole line, `count.imported` becomes what was
    /// written whole, and the appender refuses further pushes.
    pub fn sync(&mut self) -> Result<()> {
        if let Some((tx, handle)) = self.writer.take() {
            drop(tx);
            let (written, result) = handle.join().expect("the store writer does not panic");
            let queued = std::mem::take(&mut self.queued);
            if let Err(e) = result {
                self.count.imported -= queued.saturating_sub(written);
                self.failed = true;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Hands lines for a partition to the writer thread, starting it on first use.
    fn write(&mut self, path: PathBuf, chunks: Vec<Vec<u8>>) -> Result<()> {
        let (tx, _) = self.writer.get_or_insert_with(|| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Lines>(4);
            (tx, std::thread::spawn(move || write_partitions(rx)))
        });
        if tx.send((path, chunks)).is_err() {
            // The writer stopped on an error: sync reports it.
            self.sync()?;
            bail!("the store writer stopped");
        }
        Ok(())
    }

    pub fn push(&mut self, posts: Vec<Post<'_>>) -> Result<()> {
        use rayon::prelude::*;
        if !self.store.writable {
            bail!(
                "the store {} is open for reading only",
                self.store.dir.display()
            );
        }
        if self.failed {
            bail!("an earlier write to the store failed; nothing more is written in this run");
        }
        // The new posts as sort keys: partition (source, month), then (time, id), then the post
        // (its index in `posts`, then its line); posts are large and never moved.
        let mut fresh: Vec<(&str, i64, i64, &str, u32)> = Vec::with_capacity(posts.len());
        for (i, p) in posts.iter().enumerate() {
            if p.validate().is_err() {
                self.count.invalid += 1;
                continue;
            }
            if !self.seen.contains_key(p.source.as_ref()) {
                let mut ids = match self.stored {
                    Some(_) => FxHashSet::default(),
                    None => self.store.ids(&p.source)?,
                };
                ids.reserve(self.expected_new);
                self.seen.insert(p.source.to_string(), ids);
            }
            let seen = self.seen.get_mut(p.source.as_ref()).expect("loaded above");
            if seen.contains(p.id.as_ref())
                || self.stored.is_some_and(|s| s.contains(&p.source, &p.id))
            {
                self.count.duplicates += 1;
            } else {
                seen.insert(Box::from(p.id.as_ref()));
                let month = crate::time::month_index(p.created_at);
                fresh.push((
                    p.source.as_ref(),
                    month,
                    p.created_at,
                    p.id.as_ref(),
                    i as u32,
                ));
            }
        }
        // Serialised in the batch's order, where the posts lie in memory (serialising them in
        // partition order, reading them scattered, cost about 8% more of an import's CPU); then
        // each post's key points at its line instead.
        const CHUNK: usize = 2048;
        let serialised: Vec<(Vec<u8>, Vec<usize>)> = fresh
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut buf = Vec::with_capacity(chunk.len() * 360);
                let mut ends = Vec::with_capacity(chunk.len());
                for &(.., i) in chunk {
                    serde_json::to_writer(&mut buf, &posts[i as usize])
                        .expect("a post always serialises");
                    buf.push(b'\n');
                    ends.push(buf.len());
                }
                (buf, ends)
            })
            .collect();
        let line = |n: u32| {
            let (buf, ends) = &serialised[n as usize / CHUNK];
            let k = n as usize % CHUNK;
            &buf[if k == 0 { 0 } else { ends[k - 1] }..ends[k]]
        };
        for (n, key) in fresh.iter_mut().enumerate() {
            key.4 = n as u32;
        }
        fresh.par_sort_unstable();
        for run in fresh.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            let (source, at) = (run[0].0, run[0].2);
            let dir = self.store.dir.join(source);
            source_dir(&dir)?;
            let path = dir.join(format!("{}.jsonl", crate::time::month_of(at)));
            let chunks: Vec<Vec<u8>> = run
                .par_chunks(CHUNK)
                .map(|chunk| {
                    let mut buf = Vec::with_capacity(chunk.len() * 360);
                    for &(.., n) in chunk {
                        buf.extend_from_slice(line(n));
                    }
                    buf
                })
                .collect();
            self.write(path, chunks)?;
            self.count.imported += run.len();
            self.queued += run.len();
        }
        Ok(())
    }
}

/// Makes sure a source directory exists and is a real directory, not a link.
fn source_dir(dir: &Path) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(m) if m.file_type().is_symlink() => bail!(
            "{} is a symbolic link, and the store never follows links; replace it with the real \
             directory",
            dir.display()
        ),
        Ok(_) => bail!("{} is not a directory; move it away", dir.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot stat {}", dir.display())),
    }
}

/// The writer thread: appends each partition's lines, keeping files open, then syncs them all
/// (also after a failure: what was written whole is stored). A failed write is cut back to its
/// last whole line at once, so the store stays consistent.
fn write_partitions(rx: std::sync::mpsc::Receiver<Lines>) -> Written {
    // Each open partition with its length (where the next write starts) and how far the disk
    // was asked to write it back.
    let mut open: BTreeMap<PathBuf, (File, u64, u64)> = BTreeMap::new();
    let mut written = 0usize;
    let mut result = (|| -> Result<()> {
        for (path, chunks) in rx {
            let (file, len, started) = match open.entry(path.clone()) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let f = open_nofollow(OpenOptions::new().create(true).append(true), &path)
                        .with_context(|| format!("cannot open {} for appending", path.display()))?;
                    let len = f
                        .metadata()
                        .with_context(|| format!("cannot stat {}", path.display()))?
                        .len();
                    e.insert((f, len, len))
                }
            };
            for c in &chunks {
                if let Err(e) = file.write_all(c) {
                    let e =
                        anyhow::Error::new(e).context(format!("cannot write {}", path.display()));
                    return match cut_back(file, *len, c) {
                        Ok(kept) => {
                            written += kept;
                            Err(e)
                        }
                        Err(cut) => Err(e.context(format!(
                            "and cannot cut {} back to its last whole line ({cut}); the next \
                             import or collect repairs it",
                            path.display()
                        ))),
                    };
                }
                *len += c.len() as u64;
                written += memchr::memchr_iter(b'\n', c).count();
                start_writeback(file, *len, started);
            }
        }
        Ok(())
    })();
    for (path, (file, ..)) in &open {
        if let Err(e) = file.sync_data()
            && result.is_ok()
        {
            result = Err(e).with_context(|| format!("cannot sync {}", path.display()));
        }
    }
    (written, result)
}

/// Asks the disk to start writing back each 8 MiB appended to `file` (up to its length `len`)
/// as soon as it is written, so the final sync waits for the last few megabytes rather than the
/// whole import. Only a hint: durability still comes from that sync.
fn start_writeback(file: &File, len: u64, started: &mut u64) {
    const STEP: u64 = 8 << 20;
    if len - *started < STEP {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a plain system call on an open descriptor; it reads no memory of ours.
        unsafe {
            libc::sync_file_range(
                file.as_raw_fd(),
                *started as libc::off64_t,
                (len - *started) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = file;
    *started = len;
}

/// After a failed write of `chunk` at offset `start`, truncates the file back to the end of its
/// last whole line; returns how many lines of the chunk are kept.
fn cut_back(file: &File, start: u64, chunk: &[u8]) -> std::io::Result<usize> {
    let now = file.metadata()?.len();
    let landed = (now.saturating_sub(start) as usize).min(chunk.len());
    let keep = memchr::memrchr(b'\n', &chunk[..landed]).map_or(0, |i| i + 1);
    file.set_len(start + keep as u64)?;
    Ok(memchr::memchr_iter(b'\n', &chunk[..keep]).count())
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct AppendCount {
    pub imported: usize,
    pub duplicates: usize,
    /// Posts that are not valid (see [`Post::validate`]): not written.
    pub invalid: usize,
}

/// If `path` does not end with a newline, either adds it (the last line is a valid post) or
/// moves the bytes after the last newline to `<path>.torn` (appending) and truncates the file to
/// its last complete line. Writers only, under the lock.
fn repair_torn_tail(path: &Path) -> Result<Option<Notice>> {
    let io = |what: &str| format!("cannot {what} {}", path.display());
    let mut f = open_nofollow(OpenOptions::new().read(true).write(true), path)
        .with_context(|| io("open"))?;
    let len = f.metadata().with_context(|| io("stat"))?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0u8];
    f.seek(SeekFrom::End(-1))
        .and_then(|_| f.read_exact(&mut last))
        .with_context(|| io("read"))?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    // Scan back in blocks for the last newline.
    let mut end = len;
    let mut cut = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        f.seek(SeekFrom::Start(start))
            .and_then(|_| f.read_exact(&mut buf[..n]))
            .with_context(|| io("read"))?;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            cut = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    let bytes = len - cut;
    if bytes <= MAX_LINE as u64 {
        let mut last_line = vec![0u8; bytes as usize];
        f.seek(SeekFrom::Start(cut))
            .and_then(|_| f.read_exact(&mut last_line))
            .with_context(|| io("read"))?;
        if parse_line(&last_line).is_ok() {
            f.seek(SeekFrom::End(0))
                .and_then(|_| f.write_all(b"\n"))
                .and_then(|()| f.sync_data())
                .with_context(|| io("write"))?;
            return Ok(Some(Notice::NewlineAdded {
                file: path.to_path_buf(),
            }));
        }
    }
    let mut saved_to = path.as_os_str().to_owned();
    saved_to.push(".torn");
    let saved_to = PathBuf::from(saved_to);
    let mut torn = open_nofollow(OpenOptions::new().create(true).append(true), &saved_to)
        .with_context(|| format!("cannot open {}", saved_to.display()))?;
    f.seek(SeekFrom::Start(cut)).with_context(|| io("read"))?;
    std::io::copy(&mut (&mut f).take(bytes), &mut torn)
        .and_then(|_| torn.write_all(b"\n"))
        .and_then(|()| torn.sync_data())
        .with_context(|| {
            format!(
                "cannot save the torn last line of {} to {}",
                path.display(),
                saved_to.display()
            )
        })?;
    f.set_len(cut)
        .and_then(|()| f.sync_data())
        .with_context(|| io("truncate"))?;
    Ok(Some(Notice::TornLineRepaired {
        file: path.to_path_buf(),
        bytes,
        saved_to,
    }))
}

/// Reads a partition in blocks of about 32 MiB and hands each block to `each` as line-aligned
/// chunks of about 1 MiB, with the line number each chunk starts at, so the caller can parse the
/// chunks in parallel and still consume them in file order. The second argument names the
/// line of an unfinished last line (no final newline), in the last block only. Memory stays
/// bounded by the block size whatever the file holds: a line with no newline within a block is
/// handed over cut to `MAX_LINE + 1` bytes (so [`parse_line`] rejects it) and the rest skipped.
pub fn line_blocks(path: &Path, each: impl FnMut(&[(usize, &[u8])], Option<usize>)) -> Result<()> {
    line_blocks_from(path, Position::START, each).map(|_| ())
}

/// A place in a partition: a byte offset at the start of a line, and that line's number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    pub line: usize,
}

impl Position {
    pub const START: Position = Position { offset: 0, line: 1 };
}

/// [`line_blocks`] from `from` (the start of a line, as an earlier call returned it) to the end
/// of the file. Returns the position after the last complete line: an unfinished last line is
/// handed over but not counted as read, so a later call from there reads it again.
pub fn line_blocks_from(
    path: &Path,
    from: Position,
    mut each: impl FnMut(&[(usize, &[u8])], Option<usize>),
) -> Result<Position> {
    const BLOCK: usize = 32 << 20;
    const CHUNK: usize = 1 << 20;
    let mut file = open_nofollow(OpenOptions::new().read(true), path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if from.offset > 0 {
        file.seek(SeekFrom::Start(from.offset))
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + CHUNK);
    let mut first_line = from.line;
    // File offset of `buf[0]`.
    let mut base = from.offset;
    // Inside an over-long line already handed over (it started at this position): drop bytes
    // up to its newline.
    let mut skipping: Option<Position> = None;
    loop {
        // `read_to_end` fills spare capacity without zeroing it first.
        let read = (&mut file)
            .take(BLOCK as u64)
            .read_to_end(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let eof = read < BLOCK;
        if let Some(started) = skipping {
            match memchr::memchr(b'\n', &buf) {
                Some(i) => {
                    buf.drain(..=i);
                    base += i as u64 + 1;
                    skipping = None;
                    first_line += 1;
                }
                None => {
                    base += buf.len() as u64;
                    buf.clear();
                    if eof {
                        return Ok(started);
                    }
                    continue;
                }
            }
        }
        let end = if eof {
            buf.len()
        } else {
            memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1)
        };
        if end == 0 && !eof {
            each(&[(first_line, &buf[..MAX_LINE + 1])], None);
            skipping = Some(Position {
                offset: base,
                line: first_line,
            });
            base += buf.len() as u64;
            buf.clear();
            continue;
        }
        let mut chunks: Vec<(usize, &[u8])> = Vec::new();
        let mut at = 0;
        let mut line = first_line;
        while at < end {
            let mut stop = (at + CHUNK).min(end);
            if stop < end {
                stop = memchr::memchr(b'\n', &buf[stop..end]).map_or(end, |i| stop + i + 1);
            }
            chunks.push((line, &buf[at..stop]));
            line += memchr::memchr_iter(b'\n', &buf[at..stop]).count();
            at = stop;
        }
        let unfinished = (eof && end > 0 && buf[end - 1] != b'\n').then_some(line);
        each(&chunks, unfinished);
        first_line = line;
        if eof {
            let complete = memchr::memrchr(b'\n', &buf[..end]).map_or(0, |i| i + 1);
            return Ok(Position {
                offset: base + complete as u64,
                line,
            });
        }
        buf.drain(..end);
        base += end as u64;
    }
}

/// About how many posts partition files hold (a stored post takes about 240 bytes), to size
/// hash tables once instead of growing them.
pub fn estimated_posts(files: &[PathBuf]) -> usize {
    let bytes: u64 = files
        .iter()
        .filter_map(|f| fs::symlink_metadata(f).ok())
        .map(|m| m.len())
        .sum();
    (bytes / 240) as usize
}

/// The non-empty lines of a chunk from [`line_blocks`], with their line numbers.
pub fn lines_of(first_line: usize, chunk: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    chunk
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(move |(i, l)| (first_line + i, l))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: &str, at: i64) -> Post<'_> {
        Post {
            source: "twcs".into(),
            id: id.into(),
            author: "a".into(),
            created_at: at,
            text: Some("hello".into()),
            ..Default::default()
        }
    }

    #[test]
    fn append_is_idempotent_and_partitions_by_month() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::open_for_writing(&SiteRoot::at(root.path())).unwrap();
        let posts = vec![
            post("2", 1_509_487_847),
            post("1", 1_509_487_800),
            post("3", 1_512_000_000),
        ];
        let c = store.append(posts.clone()).unwrap();
        assert_eq!(
            c,
            AppendCount {
                imported: 3,
                duplicates: 0,
                invalid: 0
            }
        );
        let c = store.append(posts).unwrap();
        assert_eq!(
            c,
            AppendCount {
                imported: 0,
                duplicates: 3,
                invalid: 0
            }
        );
        let oct = fs::read_to_string(root.path().join("data/store/twcs/2017-10.jsonl")).unwrap();
        let ids: Vec<std::borrow::Cow<str>> = oct
            .lines()
            .map(|l| serde_json::from_str::<Post>(l).unwrap().id)
            .collect();
        assert_eq!(ids, ["1", "2"], "sorted by time within the batch");
        assert!(root.path().join("data/store/twcs/2017-11.jsonl").exists());
        assert_eq!(
            fs::read_to_string(root.path().join("data/store/FORMAT")).unwrap(),
            "replyrank.store/2\n"
        );
    }

    #[test]
    fn torn_last_line_is_repaired_and_kept() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::open_for_writing(&SiteRoot::at(root.path())).unwrap();
        store.append(vec![post("1", 1_509_487_800)]).unwrap();
        let file = root.path().join("data/store/twcs/2017-10.jsonl");
        let good = fs::read(&file).unwrap();
        let mut torn = good.clone();
        torn.extend_from_slice(br#"{"source":"twcs","id":"2","auth"#);
        fs::write(&file, &torn).unwrap();
        drop(store);
        // A reader skips the torn line and leaves the file as it is.
        let reader = Store::open(&SiteRoot::at(root.path())).unwrap();
        let mut seen = Vec::new();
        line_blocks(&file, |chunks, unfinished| {
            seen.push((chunks.len(), unfinished))
        })
        .unwrap();
        assert_eq!(seen, [(1, Some(2))]);
        assert!(reader.ids("twcs").unwrap().contains("1"));
        assert_eq!(fs::read(&file).unwrap(), torn);
        drop(reader);
        let store = Store::open_for_writing(&SiteRoot::at(root.path())).unwrap();
        assert_eq!(store.notices.len(), 1);
        assert!(store.notices[0].to_string().contains("torn last line"));
        assert_eq!(fs::read(&file).unwrap(), good);
        let saved =
            fs::read_to_string(root.path().join("data/store/twcs/2017-10.jsonl.torn")).unwrap();
        assert_eq!(saved, "{\"source\":\"twcs\",\"id\":\"2\",\"auth\n");
        drop(store);
        // A second open finds nothing to repair.
        assert!(
            Store::open_for_writing(&SiteRoot::at(root.path()))
                .unwrap()
                .notices
                .is_empty()
        );
    }

    #[test]
    fn refuses_other_schema_versions() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join(crate::root::STORE)).unwrap();
        fs::write(root.path().join("data/store/FORMAT"), "replyrank.store/9\n").unwrap();
        let e = Store::open_for_writing(&SiteRoot::at(root.path()))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("replyrank.store/9"), "{e}");
    }

    #[test]
    fn complete_last_line_without_newline_is_kept_and_counts_as_stored() {
        let root = tempfile::tempdir().unwrap();
        let site = SiteRoot::at(root.path());
        let mut store = Store::open_for_writing(&site).unwrap();
        store
            .append(vec![post("1", 1_509_487_800), post("2", 1_509_487_900)])
            .unwrap();
        drop(store);
        let file = root.path().join("data/store/twcs/2017-10.jsonl");
        let good = fs::read(&file).unwrap();
        fs::write(&file, &good[..good.len() - 1]).unwrap();
        let reader = Store::open(&site).unwrap();
        assert_eq!(reader.ids("twcs").unwrap().len(), 2);
        drop(reader);
        let mut store = Store::open_for_writing(&site).unwrap();
        assert_eq!(store.notices, [Notice::NewlineAdded { file: file.clone() }]);
        assert_eq!(fs::read(&file).unwrap(), good);
        assert!(
            !root
                .path()
                .join("data/store/twcs/2017-10.jsonl.torn")
                .exists()
        );
        let c = store.append(vec![post("2", 1_509_487_900)]).unwrap();
        assert_eq!(c.duplicates, 1);
    }

    #[test]
    fn invalid_line_does_not_count_as_stored() {
        let root = tempfile::tempdir().unwrap();
        let site = SiteRoot::at(root.path());
        drop(Store::open_for_writing(&site).unwrap());
        let dir = root.path().join("data/store/twcs");
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("2017-10.jsonl"),
            concat!(
                r#"{"source":"twcs","id":"5","author":"a","created_at":"yesterday"}"#,
                "\n",
                r#"{"source":"twcs","id":"6","author":"a","created_at":"2017-10-31T00:00:00Z","extra":1}"#,
                "\n",
                r#"{"source":"twcs","id":"7","author":"a","created_at":"9999-10-31T00:00:00Z"}"#,
                "\n",
            ),
        )
        .unwrap();
        let mut store = Store::open_for_writing(&site).unwrap();
        assert!(store.ids("twcs").unwrap().is_empty());
        let c = store
            .append(vec![post("5", 1_509_487_800), post("6", 1_509_487_800)])
            .unwrap();
        assert_eq!((c.imported, c.duplicates), (2, 0));
    }

    #[test]
    fn a_reader_cannot_append() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::open(&SiteRoot::at(root.path())).unwrap();
        let e = store.append(vec![post("1", 1_509_487_800)]).unwrap_err();
        assert!(e.to_string().contains("reading only"), "{e}");
        assert!(
            !root.path().join("data/store").exists(),
            "reading creates nothing"
        );
    }
}
