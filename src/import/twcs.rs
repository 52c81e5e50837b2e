//! The "Customer Support on Twitter" CSV (ThoughtVector, Kaggle, CC BY-NC-SA 4.0).
//!
//! Columns `tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id`,
//! found by name. Traps handled here: an unnamed leading index column (pandas' `to_csv`), ids
//! written as floats (`3.0`), `True`/`TRUE` spellings, a bare carriage return inside an unquoted
//! text (only `\n` ends a record), CRLF line ends. `response_tweet_id` repeats what
//! `in_response_to_tweet_id` says and is not read.

use std::path::Path;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use super::{Row, normalise_id};
use crate::post::{Post, text_mentions};

const REQUIRED: [&str; 6] = [
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "in_response_to_tweet_id",
];

pub fn read(path: &Path, sink: &mut dyn FnMut(usize, Row)) -> Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(1 << 20)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let mut header = csv::ByteRecord::new();
    if !csv
        .read_byte_record(&mut header)
        .with_context(|| format!("{}:1: cannot read the header", path.display()))?
    {
        bail!(
            "{}: the file is empty; expected a TWCS CSV with a header line",
            path.display()
        );
    }
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
    let cols = [id_c, author_c, inbound_c, at_c, text_c, parent_c];
    // Records are read in order and parsed into posts in parallel, a batch at a time.
    let mut batch: Vec<(usize, csv::ByteRecord)> = Vec::with_capacity(BATCH);
    let flush = |batch: &mut Vec<(usize, csv::ByteRecord)>, sink: &mut dyn FnMut(usize, Row)| {
        let rows: Vec<(usize, Row)> = batch
            .par_iter()
            .map(|(line, r)| (*line, parse_row(r, width, cols).map(|p| vec![p])))
            .collect();
        for (line, row) in rows {
            sink(line, row);
        }
        batch.clear();
    };
    loop {
        let line = csv.position().line() as usize;
        let mut record = csv::ByteRecord::new();
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                flush(&mut batch, sink);
                sink(line, Err(format!("unreadable CSV row ({e})")));
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line() as usize);
        if record.len() == 1 && trim_cr(&record[0]).is_empty() {
            continue; // blank line
        }
        if record.len() != width {
            flush(&mut batch, sink);
            sink(line, Err(format!("has {} fields where the header has {width}", record.len())));
            continue;
        }
        batch.push((line, record));
        if batch.len() == BATCH {
            flush(&mut batch, sink);
        }
    }
    flush(&mut batch, sink);
    Ok(())
}

const BATCH: usize = 50_000;

fn trim_cr(f: &[u8]) -> &[u8] {
    f.strip_suffix(b"\r").unwrap_or(f)
}

fn parse_row(r: &csv::ByteRecord, width: usize, cols: [usize; 6]) -> Result<Post, String> {
    let [id_c, author_c, inbound_c, at_c, text_c, parent_c] = cols;
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
    let reply_to = if parent.is_empty() {
        None
    } else {
        Some(normalise_id(parent).map_err(|e| format!("in_response_to_tweet_id: {e}"))?)
    };
    Ok(Post {
        source: "twcs".into(),
        id,
        author: author.to_string(),
        created_at,
        reply_to,
        mentions: text_mentions(text),
        text: Some(text.to_string()),
        inbound: Some(inbound),
        brand: None,
        to_brand: None,
    })
}
