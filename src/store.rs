//! The store: every post ever imported or collected, under `data/store/`.
//!
//! Layout: `data/store/FORMAT` holds the schema version ([`STORE_SCHEMA`]); posts live in
//! `data/store/<source>/<YYYY-MM>.jsonl`, one [`Post`] per line, partitioned by the calendar month
//! (UTC) of `created_at`. Files are only ever appended to, so a daily run's git diff is the new
//! lines at the end of the recent months.
//!
//! Crash safety: lines are written whole and the file is synced before a run reports success. A
//! crash mid-write can leave a torn last line (no final newline); the next run that opens the
//! store detects it, reports it, moves the fragment to `<partition>.torn` and truncates the file
//! back to its last complete line. Nothing already stored is rewritten.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::post::{Post, STORE_SCHEMA};
use crate::root::SiteRoot;

/// Something the store noticed and dealt with on its own: reported, never fatal.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A torn last line was moved to `saved_to` and the partition truncated.
    TornLineRepaired {
        file: PathBuf,
        bytes: usize,
        saved_to: PathBuf,
    },
    /// A complete line that is not a valid post: skipped, left in place for a person to look at.
    BadLine {
        file: PathBuf,
        line: usize,
        error: String,
    },
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
            Notice::BadLine { file, line, error } => write!(
                f,
                "{}:{line}: skipped a line that is not a valid post ({error}); fix or delete it",
                file.display()
            ),
        }
    }
}

pub struct Store {
    dir: PathBuf,
    /// What opening the store repaired.
    pub notices: Vec<Notice>,
}

impl Store {
    /// Opens (creating if needed) the store of a site root, checking its schema version and
    /// repairing torn last lines.
    pub fn open(root: &SiteRoot) -> Result<Store> {
        let dir = root.store();
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let format = dir.join("FORMAT");
        match fs::read_to_string(&format) {
            Ok(v) if v.trim() == STORE_SCHEMA => {}
            Ok(v) => bail!(
                "{} says {:?}, but this replyrank reads {STORE_SCHEMA}; use a matching replyrank version",
                format.display(),
                v.trim()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::write(&format, format!("{STORE_SCHEMA}\n"))
                    .with_context(|| format!("cannot write {}", format.display()))?;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", format.display())),
        }
        let mut store = Store {
            dir,
            notices: Vec::new(),
        };
        for file in store.partitions(None)? {
            if let Some(n) = repair_torn_tail(&file)? {
                store.notices.push(n);
            }
        }
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The sources present in the store, sorted.
    pub fn sources(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)
            .with_context(|| format!("cannot list {}", self.dir.display()))?
        {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Partition files, sorted by source then month; all sources when `source` is `None`.
    pub fn partitions(&self, source: Option<&str>) -> Result<Vec<PathBuf>> {
        let sources = match source {
            Some(s) => vec![s.to_string()],
            None => self.sources()?,
        };
        let mut out = Vec::new();
        for s in sources {
            let dir = self.dir.join(&s);
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            files.sort();
            out.extend(files);
        }
        Ok(out)
    }

    /// The ids already stored for a source, for de-duplication.
    pub fn ids(&self, source: &str) -> Result<FxHashSet<Box<str>>> {
        use rayon::prelude::*;
        #[derive(serde::Deserialize)]
        struct Id<'a> {
            #[serde(borrow)]
            id: std::borrow::Cow<'a, str>,
        }
        let files = self.partitions(Some(source))?;
        let mut ids =
            FxHashSet::with_capacity_and_hasher(estimated_posts(&files), Default::default());
        for file in files {
            line_blocks(&file, |chunks| {
                let found: Vec<Vec<Box<str>>> = chunks
                    .par_iter()
                    .map(|&(first, chunk)| {
                        lines_of(first, chunk)
                            .filter_map(|(_, l)| serde_json::from_slice::<Id>(l).ok())
                            .map(|Id { id }| Box::from(id.as_ref()))
                            .collect()
                    })
                    .collect();
                ids.extend(found.into_iter().flatten());
            })?;
        }
        Ok(ids)
    }

    /// Appends posts not already stored (see [`Appender`]) and syncs them.
    pub fn append(&mut self, posts: Vec<Post<'_>>) -> Result<AppendCount> {
        let mut appender = Appender::new(self);
        appender.push(posts)?;
        appender.finish()
    }
}

/// Writes batches of posts to the store, skipping those whose (source, id) is already stored or
/// already written by this appender. Within a batch, new posts of a partition are written in
/// (time, id) order; every touched partition is synced before `push` returns.
/// Serialised lines for one partition, for the writer thread.
type Lines = (PathBuf, Vec<Vec<u8>>);

pub struct Appender<'s> {
    store: &'s Store,
    seen: FxHashMap<String, FxHashSet<Box<str>>>,
    /// Serialised lines go to a writer thread, which keeps each partition open until
    /// [`Appender::finish`] has it synced.
    writer: Option<(
        std::sync::mpsc::SyncSender<Lines>,
        std::thread::JoinHandle<Result<()>>,
    )>,
    /// Size hint: how many new posts to make room for.
    expected_new: usize,
    pub count: AppendCount,
}

impl<'s> Appender<'s> {
    pub fn new(store: &'s Store) -> Appender<'s> {
        Appender {
            store,
            seen: FxHashMap::default(),
            writer: None,
            expected_new: 0,
            count: AppendCount::default(),
        }
    }

    /// Makes room for about `n` new posts, so the de-duplication table is sized once.
    pub fn expect(&mut self, n: usize) {
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
    /// ids it has seen, so later pushes need not read the store again).
    pub fn sync(&mut self) -> Result<()> {
        if let Some((tx, handle)) = self.writer.take() {
            drop(tx);
            handle.join().expect("the store writer does not panic")?;
        }
        Ok(())
    }

    /// Hands lines for a partition to the writer thread, starting it on first use.
    fn write(&mut self, path: PathBuf, chunks: Vec<Vec<u8>>) -> Result<()> {
        let (tx, _) = self.writer.get_or_insert_with(|| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Lines>(4);
            let handle = std::thread::spawn(move || -> Result<()> {
                let mut open: BTreeMap<PathBuf, File> = BTreeMap::new();
                for (path, chunks) in rx {
                    let file = match open.entry(path.clone()) {
                        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::btree_map::Entry::Vacant(e) => e.insert(
                            OpenOptions::new()
                                .create(true)
                                .append(true)
                                .open(&path)
                                .with_context(|| {
                                    format!("cannot open {} for appending", path.display())
                                })?,
                        ),
                    };
                    for c in &chunks {
                        file.write_all(c)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                    }
                }
                for (path, file) in &open {
                    file.sync_data()
                        .with_context(|| format!("cannot sync {}", path.display()))?;
                }
                Ok(())
            });
            (tx, handle)
        });
        if tx.send((path, chunks)).is_err() {
            // The writer stopped on an error: finish() reports it.
            let (_, handle) = self.writer.take().expect("started above");
            handle.join().expect("the store writer does not panic")?;
            bail!("the store writer stopped");
        }
        Ok(())
    }

    pub fn push(&mut self, posts: Vec<Post<'_>>) -> Result<()> {
        use rayon::prelude::*;
        // The new posts as sort keys: partition (source, month), then (time, id); posts are
        // large and never moved.
        let mut fresh: Vec<(&str, i64, i64, &str, u32)> = Vec::with_capacity(posts.len());
        for (i, p) in posts.iter().enumerate() {
            if !self.seen.contains_key(p.source.as_ref()) {
                let mut ids = self.store.ids(&p.source)?;
                ids.reserve(self.expected_new);
                self.seen.insert(p.source.to_string(), ids);
            }
            let seen = self.seen.get_mut(p.source.as_ref()).expect("loaded above");
            if seen.contains(p.id.as_ref()) {
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
        fresh.par_sort_unstable();
        for run in fresh.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            let first = &posts[run[0].4 as usize];
            let dir = self.store.dir.join(first.source.as_ref());
            fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let path = dir.join(format!("{}.jsonl", first.month()));
            let chunks: Vec<Vec<u8>> = run
                .par_chunks(2048)
                .map(|chunk| {
                    let mut buf = Vec::with_capacity(chunk.len() * 320);
                    for &(.., i) in chunk {
                        serde_json::to_writer(&mut buf, &posts[i as usize])
                            .expect("a post always serialises");
                        buf.push(b'\n');
                    }
                    buf
                })
                .collect();
            self.write(path, chunks)?;
            self.count.imported += run.len();
        }
        Ok(())
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct AppendCount {
    pub imported: usize,
    pub duplicates: usize,
}

/// If `path` does not end with a newline, moves the bytes after its last newline to
/// `<path>.torn` (appending) and truncates the file to its last complete line.
fn repair_torn_tail(path: &Path) -> Result<Option<Notice>> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    f.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    f.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(None);
    }
    // Scan back in blocks for the last newline.
    let mut end = len;
    let mut cut = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    'scan: while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|&b| b == b'\n') {
            cut = start + i as u64 + 1;
            break 'scan;
        }
        end = start;
    }
    f.seek(SeekFrom::Start(cut))?;
    let mut fragment = Vec::new();
    f.read_to_end(&mut fragment)?;
    let mut saved_to = path.as_os_str().to_owned();
    saved_to.push(".torn");
    let saved_to = PathBuf::from(saved_to);
    let mut torn = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&saved_to)?;
    torn.write_all(&fragment)?;
    torn.write_all(b"\n")?;
    torn.sync_data()?;
    f.set_len(cut)?;
    f.sync_data()?;
    Ok(Some(Notice::TornLineRepaired {
        file: path.to_path_buf(),
        bytes: fragment.len(),
        saved_to,
    }))
}

/// Reads a partition in blocks of about 32 MiB and hands each block to `each` as line-aligned
/// chunks of about 1 MiB, with the line number each chunk starts at, so the caller can parse the
/// chunks in parallel and still consume them in file order. Memory stays bounded by the block
/// size whatever the file size.
pub fn line_blocks(path: &Path, mut each: impl FnMut(&[(usize, &[u8])])) -> Result<()> {
    const BLOCK: usize = 32 << 20;
    const CHUNK: usize = 1 << 20;
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + CHUNK);
    let mut first_line = 1usize;
    loop {
        let start = buf.len();
        buf.resize(start + BLOCK, 0);
        let mut filled = start;
        while filled < buf.len() {
            let n = file
                .read(&mut buf[filled..])
                .with_context(|| format!("cannot read {}", path.display()))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        let eof = filled < buf.len();
        buf.truncate(filled);
        let end = if eof {
            buf.len()
        } else {
            memchr::memrchr(b'\n', &buf).map_or(0, |i| i + 1)
        };
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
        each(&chunks);
        first_line = line;
        buf.drain(..end);
        if eof {
            return Ok(());
        }
    }
}

/// About how many posts partition files hold (a stored post takes about 240 bytes), to size
/// hash tables once instead of growing them.
pub fn estimated_posts(files: &[PathBuf]) -> usize {
    let bytes: u64 = files
        .iter()
        .filter_map(|f| fs::metadata(f).ok())
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
            reply_to: None,
            text: Some("hello".into()),
            mentions: vec![],
            inbound: None,
            brand: None,
            to_brand: None,
        }
    }

    #[test]
    fn append_is_idempotent_and_partitions_by_month() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::open(&SiteRoot::at(root.path())).unwrap();
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
                duplicates: 0
            }
        );
        let c = store.append(posts).unwrap();
        assert_eq!(
            c,
            AppendCount {
                imported: 0,
                duplicates: 3
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
            "replyrank.store/1\n"
        );
    }

    #[test]
    fn torn_last_line_is_repaired_and_kept() {
        let root = tempfile::tempdir().unwrap();
        let mut store = Store::open(&SiteRoot::at(root.path())).unwrap();
        store.append(vec![post("1", 1_509_487_800)]).unwrap();
        let file = root.path().join("data/store/twcs/2017-10.jsonl");
        let good = fs::read(&file).unwrap();
        let mut torn = good.clone();
        torn.extend_from_slice(br#"{"source":"twcs","id":"2","auth"#);
        fs::write(&file, &torn).unwrap();
        let store = Store::open(&SiteRoot::at(root.path())).unwrap();
        assert_eq!(store.notices.len(), 1);
        assert!(store.notices[0].to_string().contains("torn last line"));
        assert_eq!(fs::read(&file).unwrap(), good);
        let saved =
            fs::read_to_string(root.path().join("data/store/twcs/2017-10.jsonl.torn")).unwrap();
        assert_eq!(saved, "{\"source\":\"twcs\",\"id\":\"2\",\"auth\n");
        // A second open finds nothing to repair.
        assert!(
            Store::open(&SiteRoot::at(root.path()))
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
        let e = Store::open(&SiteRoot::at(root.path()))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("replyrank.store/9"), "{e}");
    }
}
