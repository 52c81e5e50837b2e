//! `replyrank import FILE… --format twcs|pairs|jsonl`

use std::path::PathBuf;

use anyhow::{Result, bail};

use replyrank::import::{self, ColumnMap, Format, PairsOptions};
use replyrank::registry::Registry;
use replyrank::root::SiteRoot;
use replyrank::store::Store;
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
    let store = Store::open(root)?;
    for n in &store.notices {
        eprintln!("warning: {n}");
    }
    let time = TimeReader::new(time_format, tz).map_err(|e| anyhow::anyhow!("--tz: {e}"))?;
    let pairs = PairsOptions {
        source,
        columns,
        time,
    };
    let mut failed = 0;
    for file in files {
        match import::import_file(&store, &registry, file, format, &pairs) {
            Ok(r) => {
                println!(
                    "{}: read {}, imported {}, duplicates {}, rejected {}",
                    file.display(),
                    r.read,
                    r.imported,
                    r.duplicates,
                    r.rejected.len()
                );
                for line in r.rejection_summary() {
                    println!("  rejected {line}");
                }
                if !r.unregistered.is_empty() {
                    let list: Vec<String> = r
                        .unregistered
                        .iter()
                        .map(|(a, n)| format!("{a} ({n})"))
                        .collect();
                    println!(
                        "  not in {}, so not scored as brands: {}",
                        replyrank::root::REGISTRY,
                        list.join(", ")
                    );
                }
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} file(s) could not be imported; nothing from them was stored",
            files.len()
        );
    }
    Ok(())
}
