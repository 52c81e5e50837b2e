//! The store's own format as an import: one [`Post`] per line (see `post.rs` for the schema),
//! so any source can be converted to it by an outside script.

use std::path::Path;

use anyhow::{Context, Result, bail};

use rayon::prelude::*;

use super::{BATCH, Row, Sink};
use crate::post::Post;

pub fn read(path: &Path, sink: &mut Sink) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let lines: Vec<(usize, &[u8])> = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    // A file whose first line is not a JSON object is not JSON Lines at all: one error.
    if let Some(&(line, first)) = lines.first()
        && let Err(e) = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(first)
    {
        bail!(
            "{}:{line}: not JSON Lines of posts ({e}); check --format",
            path.display()
        );
    }
    for batch in lines.chunks(BATCH) {
        let rows: Vec<(usize, Row)> = batch
            .par_iter()
            .map(|&(line, l)| {
                let row = serde_json::from_slice::<Post>(l)
                    .map_err(|e| format!("not a valid post: {e}"))
                    .and_then(|p| p.validate().map(|()| vec![p]));
                (line, row)
            })
            .collect();
        sink(rows)?;
    }
    Ok(())
}
