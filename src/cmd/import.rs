//! `replyrank import FILE… --format twcs|pairs|jsonl`

use std::path::PathBuf;

use anyhow::{Result, bail};

use replyrank::import::{self, ColumnMap, Format, PairsOptions};
use replyrank::registry::Registry;
use replyrank::root::SiteRoot;
use replyrank::store::Notice;
use replyrank::stores::Stores;
use replyrank::time::TimeReader;

pub fn run(
    root: &SiteRoot,
    files: &[PathBuf],
    format: Format,
    source: String,
    columns: ColumnMap,
    time_format: Option<String>,
    tz: &str,
) -> Result<()> {
    let registry = Registry::load(root)?;
    let stores = Stores::open_for_writing(root)?;
    for n in stores.notices() {
        eprintln!("warning: {n}");
    }
    let time = TimeReader::new(time_format, tz).map_err(|e| anyhow::anyhow!("--tz: {e}"))?;
    let pairs = PairsOptions {
        source,
        columns,
        time,
    };
    let mut failed = 0;
    let mut stopped = 0;
    for file in files {
        match import::import_file(&stores, &registry, file, format, &pairs) {
            Ok(r) => {
                println!(
                    "{}: read {}, imported {}, duplicates {}, rejected {}{}",
                    file.display(),
                    r.read,
                    r.imported,
                    r.duplicates,
                    r.rejected.len(),
                    match r.forgotten {
                        0 => String::new(),
                        n => format!(", left out {n} forgotten (replyrank forget)"),
                    }
                );
                for line in r.rejection_summary() {
                    println!("  rejected {line}");
                }
                if let Some(line) = Registry::describe_unregistered(&r.unregistered) {
                    println!("  {line}");
                }
                if let Some(error) = r.index_not_written.clone() {
                    eprintln!("warning: {}", Notice::IndexNotWritten { error });
                }
                if let Some(e) = &r.stopped {
                    eprintln!(
                        "error: {}: stopped after storing {} post(s): {e}; they are kept (whole \
                         lines, synced); fix the cause and import the file again to add the rest",
                        file.display(),
                        r.imported
                    );
                    stopped += 1;
                }
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                failed += 1;
            }
        }
    }
    if failed + stopped > 0 {
        let mut parts = Vec::new();
        if failed > 0 {
            parts.push(format!(
                "{failed} of {} file(s) could not be imported; nothing from them was stored",
                files.len()
            ));
        }
        if stopped > 0 {
            parts.push(format!(
                "{stopped} of {} file(s) stopped partway; what they stored is counted above",
                files.len()
            ));
        }
        bail!("{}", parts.join("; "));
    }
    Ok(())
}
