//! Importing files into the store: the TWCS archive, pre-paired complaint rows, and the store's
//! own JSON Lines. Each format reader turns a file into posts or per-row rejections; this module
//! batches the posts into the store and keeps the counts a person needs to trust the import.
//!
//! One bad row never aborts an import: it is rejected with its line number and the reason. A
//! file that is not of the given format at all is one error, before anything is written. Rows
//! are bounded: a line or CSV record longer than [`MAX_LINE`] is rejected, and a post time
//! outside [`crate::time::YEARS`] too. Only regular files are read: a device or a FIFO could
//! never end. When writing fails midway (a full disk), the report says what was stored.

mod bounded;
mod jsonl;
mod pairs;
mod twcs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::post::Post;
use crate::registry::Registry;
use crate::stores::Stores;

pub use crate::store::MAX_LINE;

pub use pairs::{ColumnMap, PairsOptions};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The "Customer Support on Twitter" CSV (Kaggle, ThoughtVector)
    Twcs,
    /// One row per complaint with an optional first-reply time
    Pairs,
    /// The store's own post format, one JSON object per line
    Jsonl,
}

/// What importing one file did.
#[derive(Debug, Default)]
pub struct FileReport {
    pub file: PathBuf,
    /// Rows (or lines) read, good and bad.
    pub read: usize,
    pub imported: usize,
    pub duplicates: usize,
    /// Posts left out because `replyrank forget` removed them or their author.
    pub forgotten: usize,
    /// (line, reason) of every rejected row, in file order.
    pub rejected: Vec<(usize, String)>,
    /// Authors the source flags as company accounts (TWCS `inbound=False`) or brand ids named by
    /// `pairs` rows that the registry does not know, with their post counts.
    pub unregistered: BTreeMap<String, usize>,
    /// Why the import stopped early, when it did after storing something: the counts above
    /// say what was stored (whole lines, synced); re-importing adds the rest.
    pub stopped: Option<String>,
    /// Why the store's index could not be brought up to date after the import, when it could
    /// not (the posts are stored all the same; the next `score` parses them).
    pub index_not_written: Option<String>,
}

impl FileReport {
    /// Rejections grouped by reason with their first few line numbers, for the summary.
    pub fn rejection_summary(&self) -> Vec<String> {
        let mut by_reason: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (line, reason) in &self.rejected {
            by_reason.entry(reason.as_str()).or_default().push(*line);
        }
        by_reason
            .into_iter()
            .map(|(reason, lines)| {
                let shown: Vec<String> = lines
                    .iter()
                    .take(10)
                    .map(|l| format!("{}:{l}", self.file.display()))
                    .collect();
                let more = if lines.len() > 10 {
                    format!(" and {} more", lines.len() - 10)
                } else {
                    String::new()
                };
                format!(
                    "{} row(s): {reason} — {}{more}",
                    lines.len(),
                    shown.join(", ")
                )
            })
            .collect()
    }
}

/// One row's outcome: its posts (two for a paired row), or why it was rejected.
pub(crate) type Row<'a> = Result<Vec<Post<'a>>, String>;

/// Readers hand rows over a batch at a time, with their line numbers, in file order. Posts may
/// borrow from the batch's input, so each batch is stored before the next one is read.
pub(crate) type Sink<'s> = dyn FnMut(Vec<(usize, Row<'_>)>) -> Result<()> + 's;

/// Rows per batch: memory stays flat however large the file.
pub(crate) const BATCH: usize = 50_000;

/// Imports one file into the stores (see [`Stores`]). An error means
/// nothing from the file was stored; an import that fails after storing some posts returns its
/// report with [`FileReport::stopped`] set.
pub fn import_file(
    stores: &Stores,
    registry: &Registry,
    path: &Path,
    format: Format,
    pairs: &PairsOptions,
) -> Result<FileReport> {
    let size = regular_file(path)?;
    let mut report = FileReport {
        file: path.to_path_buf(),
        ..FileReport::default()
    };
    let (stored, _) = stores.stored_ids(registry)?;
    let mut appender = stores.writer(registry, &stored);
    // A TWCS row takes about 160 bytes.
    appender.reserve(size as usize / 160);
    let mut sink = |rows: Vec<(usize, Row<'_>)>| -> Result<()> {
        report.read += rows.len();
        let mut posts = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            match row.and_then(|ps| {
                for p in &ps {
                    p.validate()?;
                }
                Ok(ps)
            }) {
                Ok(ps) => {
                    for p in &ps {
                        note_unregistered(registry, p, &mut report.unregistered);
                    }
                    posts.extend(ps);
                }
                Err(reason) => report.rejected.push((line, reason)),
            }
        }
        appender.drop_stored(&mut posts);
        crate::classify::annotate(registry, &mut posts);
        appender.push(posts)
    };
    let read = match format {
        Format::Twcs => twcs::read(path, &mut sink),
        Format::Pairs => pairs::read(path, pairs, &mut sink),
        Format::Jsonl => jsonl::read(path, &mut sink),
    };
    let synced = appender.sync();
    report.imported = appender.count().imported;
    report.duplicates = appender.count().duplicates;
    report.forgotten = appender.forgotten;
    drop(appender);
    if report.imported > 0 {
        report.index_not_written = stores.update_index(registry, stored);
    }
    if let Err(e) = read.and(synced) {
        if report.imported == 0 {
            return Err(e);
        }
        report.stopped = Some(format!("{e:#}"));
    }
    Ok(report)
}

/// The size of a regular file; anything else (a directory, a device such as `/dev/zero`, a FIFO,
/// a socket) is refused, since it may never end or never start.
fn regular_file(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    if meta.is_file() {
        return Ok(meta.len());
    }
    let kind = {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO (named pipe), which can block forever"
        } else if t.is_char_device() || t.is_block_device() {
            "a device, which may never end"
        } else {
            "not a regular file"
        }
    };
    anyhow::bail!(
        "{} is {kind}; import reads regular files only: save the data to a file first",
        path.display()
    )
}

fn note_unregistered(registry: &Registry, p: &Post, out: &mut BTreeMap<String, usize>) {
    let network = crate::source::network(&p.source);
    let names = registry.unknown_names(
        network,
        &p.author,
        p.inbound,
        [p.brand.as_deref(), p.to_brand.as_deref()],
    );
    for name in names {
        *out.entry(name.to_string()).or_default() += 1;
    }
}

/// Normalises a numeric id written by a spreadsheet or pandas: `"3.0"` → `"3"`.
pub(crate) fn normalise_id(raw: &str) -> Result<&str, String> {
    let s = raw.trim();
    let int = s.strip_suffix(".0").unwrap_or(s);
    if !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) {
        Ok(int)
    } else {
        Err(format!("id {raw:?} is not a whole number"))
    }
}
