//! Importing files into the store: the TWCS archive, pre-paired complaint rows, and the store's
//! own JSON Lines. Each format reader turns a file into posts or per-row rejections; this module
//! batches the posts into the store and keeps the counts a person needs to trust the import.
//!
//! One bad row never aborts an import: it is rejected with its line number and the reason. A
//! file that is not of the given format at all is one error, before anything is written.

mod jsonl;
mod pairs;
mod twcs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::post::Post;
use crate::registry::Registry;
use crate::store::{Appender, Store};

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
    /// (line, reason) of every rejected row, in file order.
    pub rejected: Vec<(usize, String)>,
    /// Authors the source flags as company accounts (TWCS `inbound=False`) or brand ids named by
    /// `pairs` rows that the registry does not know, with their post counts.
    pub unregistered: BTreeMap<String, usize>,
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

/// Imports one file into the store.
pub fn import_file(
    store: &Store,
    registry: &Registry,
    path: &Path,
    format: Format,
    pairs: &PairsOptions,
) -> Result<FileReport> {
    let mut report = FileReport {
        file: path.to_path_buf(),
        ..FileReport::default()
    };
    let mut appender = Appender::new(store);
    // A TWCS row takes about 160 bytes.
    appender.expect(std::fs::metadata(path).map_or(0, |m| m.len() as usize / 160));
    let mut sink = |rows: Vec<(usize, Row<'_>)>| -> Result<()> {
        report.read += rows.len();
        let mut posts = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            match row {
                Ok(ps) => {
                    for p in &ps {
                        note_unregistered(registry, p, &mut report.unregistered);
                    }
                    posts.extend(ps);
                }
                Err(reason) => report.rejected.push((line, reason)),
            }
        }
        appender.push(posts)
    };
    match format {
        Format::Twcs => twcs::read(path, &mut sink)?,
        Format::Pairs => pairs::read(path, pairs, &mut sink)?,
        Format::Jsonl => jsonl::read(path, &mut sink)?,
    }
    let count = appender.finish()?;
    report.imported = count.imported;
    report.duplicates = count.duplicates;
    Ok(report)
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
