//! The "Customer Support on Twitter" CSV (ThoughtVector, Kaggle, CC BY-NC-SA 4.0).
//!
//! Columns `tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id`,
//! found by name. Traps handled here: an unnamed leading index column (pandas' `to_csv`), ids
//! written as floats (`3.0`), `True`/`TRUE` spellings, a bare carriage return inside an unquoted
//! text (only `\n` ends a record), CRLF line ends. `response_tweet_id` (a quoted list,
//! `"9,6,10"`) is kept as the post's `replies`: an excerpt often cuts them off, and a complaint
//! whose listed reply is missing has an unknown reply time, not a long one. It is optional.

use std::path::Path;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use std::borrow::Cow;

use super::bounded::Records;
use super::{BATCH, Row, Sink, normalise_id};
use crate::post::{Post, text_mentions};

const REQUIRED: [&str; 6] = [
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "in_response_to_tweet_id",
];

pub fn read(path: &Path, sink: &mut Sink) -> Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut builder = csv::ReaderBuilder::new();
    builder
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'));
    let mut records = Records::new(
        builder,
        std::io::BufReader::with_capacity(1 << 20, file),
        1 << 20,
    );
    let header = records.header(path, "a TWCS CSV")?;
    let names: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(trim_cr(f)).trim().to_string())
        .collect();
    let col = |name: &str| names.iter().position(|n| n == name);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|n| col(n).is_none())
        .collect();
    if !missing.is_empty() {
        let found: String = names.join(",").chars().take(120).collect();
        bail!(
            "{}:1: not a TWCS CSV: the header lacks {} (found: {found}); check --format",
            path.display(),
            missing.join(", ")
        );
    }
    let [id_c, author_c, inbound_c, at_c, text_c, parent_c] =
        REQUIRED.map(|n| col(n).expect("checked"));
    let width = names.len();
    let cols = Columns {
        required: [id_c, author_c, inbound_c, at_c, text_c, parent_c],
        replies: col("response_tweet_id"),
    };
    // A reader thread splits records while this one parses batches in parallel and stores them.
    type Batch = Vec<(usize, Result<csv::ByteRecord, String>)>;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(2);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> std::io::Result<()> {
            let mut batch: Batch = Vec::with_capacity(BATCH);
            loop {
                let mut record = csv::ByteRecord::new();
                let Some((line, read)) = records.next(&mut record)? else {
                    break;
                };
                let item = match read {
                    Ok(()) if record.len() == 1 && trim_cr(&record[0]).is_empty() => continue,
                    Ok(()) if record.len() != width => Err(format!(
                        "has {} fields where the header has {width}",
                        record.len()
                    )),
                    Ok(()) => Ok(record),
                    Err(reason) => Err(reason),
                };
                batch.push((line, item));
                if batch.len() == BATCH && tx.send(std::mem::take(&mut batch)).is_err() {
                    return Ok(()); // the consumer stopped on an error
                }
            }
            let _ = tx.send(batch);
            Ok(())
        });
        for batch in rx {
            let rows: Vec<(usize, Row)> = batch
                .par_iter()
                .map(|(line, item)| {
                    let row = match item {
                        Ok(r) => parse_row(r, width, cols).map(|p| vec![p]),
                        Err(reason) => Err(reason.clone()),
                    };
                    (*line, row)
                })
                .collect();
            sink(rows)?;
        }
        reader
            .join()
            .expect("the CSV reader does not panic")
            .with_context(|| format!("cannot read {}", path.display()))
    })
}

fn trim_cr(f: &[u8]) -> &[u8] {
    f.strip_suffix(b"\r").unwrap_or(f)
}

/// Where the columns are: the required ones, and `response_tweet_id` when present.
#[derive(Clone, Copy)]
struct Columns {
    required: [usize; 6],
    replies: Option<usize>,
}

fn parse_row(r: &csv::ByteRecord, width: usize, cols: Columns) -> Result<Post<'_>, String> {
    let [id_c, author_c, inbound_c, at_c, text_c, parent_c] = cols.required;
    let replies_c = cols.replies;
    let field = |i: usize| -> Result<&str, String> {
        let raw = if i + 1 == width {
            trim_cr(&r[i])
        } else {
            &r[i]
        };
        std::str::from_utf8(raw).map_err(|_| format!("column {} is not valid UTF-8", i + 1))
    };
    let id = normalise_id(field(id_c)?).map_err(|e| format!("tweet_id: {e}"))?;
    let author = field(author_c)?.trim();
    if author.is_empty() {
        return Err("author_id is empty".into());
    }
    let inbound = match field(inbound_c)?.trim() {
        "True" | "TRUE" | "true" | "1" => true,
        "False" | "FALSE" | "false" | "0" => false,
        other => return Err(format!("inbound {other:?} is not True or False")),
    };
    let created_at =
        crate::time::parse_twitter_date(field(at_c)?).map_err(|e| format!("created_at: {e}"))?;
    let text = field(text_c)?;
    let parent = field(parent_c)?.trim();
    let replies = match replies_c {
        Some(c) => field(c)?
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| {
                normalise_id(r)
                    .map(Cow::Borrowed)
                    .map_err(|e| format!("response_tweet_id: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?,
        None => Vec::new(),
    };
    let reply_to = if parent.is_empty() {
        None
    } else {
        Some(normalise_id(parent).map_err(|e| format!("in_response_to_tweet_id: {e}"))?)
    };
    Ok(Post {
        source: Cow::Borrowed("twcs"),
        id: Cow::Borrowed(id),
        author: Cow::Borrowed(author),
        created_at,
        reply_to: reply_to.map(Cow::Borrowed),
        mentions: text_mentions(text),
        text: Some(Cow::Borrowed(text)),
        inbound: Some(inbound),
        replies,
        ..Default::default()
    })
}
