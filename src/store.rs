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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::post::{Post, STORE_SCHEMA};

pub const DIR: &str = "data/store";

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
    pub fn open(root: &Path) -> Result<Store> {
        let dir = root.join(DIR);
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
    pub fn ids(&self, source: &str) -> Result<HashSet<String>> {
        #[derive(serde::Deserialize)]
        struct Id {
            id: String,
        }
        let mut ids = HashSet::new();
        for file in self.partitions(Some(source))? {
            let bytes =
                fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                if let Ok(Id { id }) = serde_json::from_slice(line) {
                    ids.insert(id);
                }
            }
        }
        Ok(ids)
    }

    /// Appends posts not already stored (see [`Appender`]) and syncs them.
    pub fn append(&mut self, posts: Vec<Post>) -> Result<AppendCount> {
        let mut appender = Appender::new(self);
        appender.push(posts)?;
        Ok(appender.count)
    }
}

/// Writes batches of posts to the store, skipping those whose (source, id) is already stored or
/// already written by this appender. Within a batch, new posts of a partition are written in
/// (time, id) order; every touched partition is synced before `push` returns.
pub struct Appender<'s> {
    store: &'s Store,
    seen: HashMap<String, HashSet<String>>,
    pub count: AppendCount,
}

impl<'s> Appender<'s> {
    pub fn new(store: &'s Store) -> Appender<'s> {
        Appender {
            store,
            seen: HashMap::new(),
            count: AppendCount::default(),
        }
    }

    pub fn push(&mut self, posts: Vec<Post>) -> Result<()> {
        let mut by_partition: BTreeMap<(String, String), Vec<Post>> = BTreeMap::new();
        for p in posts {
            if !self.seen.contains_key(&p.source) {
                let ids = self.store.ids(&p.source)?;
                self.seen.insert(p.source.clone(), ids);
            }
            let seen = self.seen.get_mut(&p.source).expect("loaded above");
            if seen.insert(p.id.clone()) {
                by_partition
                    .entry((p.source.clone(), p.month()))
                    .or_default()
                    .push(p);
            } else {
                self.count.duplicates += 1;
            }
        }
        for ((source, month), mut posts) in by_partition {
            let dir = self.store.dir.join(&source);
            fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            posts.sort_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| a.id.cmp(&b.id))
            });
            write_lines(&dir.join(format!("{month}.jsonl")), &posts)?;
            self.count.imported += posts.len();
        }
        Ok(())
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct AppendCount {
    pub imported: usize,
    pub duplicates: usize,
}

fn write_lines(path: &Path, posts: &[Post]) -> Result<()> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {} for appending", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    for p in posts {
        serde_json::to_writer(&mut w, p)?;
        w.write_all(b"\n")?;
    }
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_data()
        .with_context(|| format!("cannot sync {}", path.display()))?;
    Ok(())
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

/// Reads every line of a partition, calling `each(line_number, bytes)` for non-empty lines.
pub fn read_lines(path: &Path, mut each: impl FnMut(usize, &[u8])) -> Result<()> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .with_context(|| format!("cannot read {}", path.display()))?;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if !line.is_empty() {
            each(i + 1, line);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: &str, at: i64) -> Post {
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
        let mut store = Store::open(root.path()).unwrap();
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
        let ids: Vec<String> = oct
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
        let mut store = Store::open(root.path()).unwrap();
        store.append(vec![post("1", 1_509_487_800)]).unwrap();
        let file = root.path().join("data/store/twcs/2017-10.jsonl");
        let good = fs::read(&file).unwrap();
        let mut torn = good.clone();
        torn.extend_from_slice(br#"{"source":"twcs","id":"2","auth"#);
        fs::write(&file, &torn).unwrap();
        let store = Store::open(root.path()).unwrap();
        assert_eq!(store.notices.len(), 1);
        assert!(store.notices[0].to_string().contains("torn last line"));
        assert_eq!(fs::read(&file).unwrap(), good);
        let saved =
            fs::read_to_string(root.path().join("data/store/twcs/2017-10.jsonl.torn")).unwrap();
        assert_eq!(saved, "{\"source\":\"twcs\",\"id\":\"2\",\"auth\n");
        // A second open finds nothing to repair.
        assert!(Store::open(root.path()).unwrap().notices.is_empty());
    }

    #[test]
    fn refuses_other_schema_versions() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join(DIR)).unwrap();
        fs::write(root.path().join("data/store/FORMAT"), "replyrank.store/9\n").unwrap();
        let e = Store::open(root.path()).err().unwrap().to_string();
        assert!(e.contains("replyrank.store/9"), "{e}");
    }
}
