//! The store's own format as an import: one [`Post`] per line (see `post.rs` for the schema),
//! so any source can be converted to it by an outside script. Read a batch at a time, each line
//! bounded to [`MAX_LINE`] bytes.

use std::path::Path;

use anyhow::{Context, Result, bail};

use rayon::prelude::*;

use super::{BATCH, MAX_LINE, Row, Sink};
use crate::post::Post;

/// Bytes of lines gathered per batch at most (besides the [`BATCH`] lines).
const BATCH_BYTES: usize = 64 << 20;

/// One line of a batch: its number, and its bytes in the batch buffer (or `None`: too long).
type Span = (usize, Option<std::ops::Range<usize>>);

pub fn read(path: &Path, sink: &mut Sink) -> Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut input = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = 0usize;
    let mut first = true;
    loop {
        let mut buf: Vec<u8> = Vec::new();
        let mut spans: Vec<Span> = Vec::new();
        let mut eof = false;
        while spans.len() < BATCH && buf.len() < BATCH_BYTES {
            let start = buf.len();
            let Some(fits) = super::bounded::read_line(&mut input, &mut buf, MAX_LINE)
                .with_context(|| format!("cannot read {}", path.display()))?
            else {
                eof = true;
                break;
            };
            line += 1;
            if !fits {
                spans.push((line, None));
                continue;
            }
            let mut end = buf.len();
            if buf[start..end].ends_with(b"\r") {
                end -= 1;
            }
            if buf[start..end].iter().all(u8::is_ascii_whitespace) {
                buf.truncate(start);
                continue;
            }
            spans.push((line, Some(start..end)));
        }
        // A file whose first line is not a JSON object is not JSON Lines at all: one error.
        if first && let Some((n, span)) = spans.first() {
            first = false;
            let parsed = match span {
                Some(r) => serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(
                    &buf[r.clone()],
                )
                .map(|_| ())
                .map_err(|e| e.to_string()),
                None => Err(format!("longer than {} MiB", MAX_LINE >> 20)),
            };
            if let Err(e) = parsed {
                bail!(
                    "{}:{n}: not JSON Lines of posts ({e}); check --format",
                    path.display()
                );
            }
        }
        let rows: Vec<(usize, Row)> = spans
            .par_iter()
            .map(|(n, span)| {
                let row = match span {
                    Some(r) => serde_json::from_slice::<Post>(&buf[r.clone()])
                        .map_err(|e| format!("not a valid post: {e}"))
                        .and_then(|p| p.validate().map(|()| vec![p])),
                    None => Err(format!(
                        "a line longer than {} MiB (import::MAX_LINE)",
                        MAX_LINE >> 20
                    )),
                };
                (*n, row)
            })
            .collect();
        if !rows.is_empty() {
            sink(rows)?;
        }
        if eof {
            return Ok(());
        }
    }
}
