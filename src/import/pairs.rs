//! Pre-paired data: one row per complaint with an optional first-reply time — app-store reviews
//! with developer replies, regulators' complaint databases, ticket exports.
//!
//! Each row becomes a complaint post addressed to the brand (`to_brand`) and, when `reply_at` is
//! set, a reply post by the brand (`brand`) answering it, with id `<complaint_id>/reply`. The
//! `brand` column holds a brand id from the registry.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

use std::borrow::Cow;

use super::bounded::Records;
use super::{BATCH, Row, Sink};
use crate::post::Post;
use crate::time::TimeReader;

/// Which CSV column holds each field: `brand=appId,complaint_id=reviewId,...`.
#[derive(Clone, Debug)]
pub struct ColumnMap {
    pub brand: String,
    pub complaint_id: String,
    pub complaint_at: String,
    pub reply_at: String,
}

impl Default for ColumnMap {
    fn default() -> ColumnMap {
        ColumnMap {
            brand: "brand".into(),
            complaint_id: "complaint_id".into(),
            complaint_at: "complaint_at".into(),
            reply_at: "reply_at".into(),
        }
    }
}

impl std::str::FromStr for ColumnMap {
    type Err = String;

    fn from_str(s: &str) -> Result<ColumnMap, String> {
        let mut map = ColumnMap::default();
        for pair in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (field, column) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not FIELD=COLUMN (e.g. brand=appId)"))?;
            let column = column.trim().to_string();
            match field.trim() {
                "brand" => map.brand = column,
                "complaint_id" => map.complaint_id = column,
                "complaint_at" => map.complaint_at = column,
                "reply_at" => map.reply_at = column,
                other => {
                    return Err(format!(
                        "unknown field {other:?}; the fields are brand, complaint_id, complaint_at, reply_at"
                    ));
                }
            }
        }
        Ok(map)
    }
}

pub struct PairsOptions {
    /// The source name the rows are stored under (`data/store/<source>/`).
    pub source: String,
    pub columns: ColumnMap,
    pub time: TimeReader,
}

impl Default for PairsOptions {
    fn default() -> PairsOptions {
        PairsOptions {
            source: "pairs".into(),
            columns: ColumnMap::default(),
            time: TimeReader::new(None, "UTC").expect("UTC exists"),
        }
    }
}

pub fn read(path: &Path, opts: &PairsOptions, sink: &mut Sink) -> Result<()> {
    if !crate::source::is_valid_name(&opts.source) {
        bail!(
            "--source {:?}: a source name is lowercase letters, digits and '-'",
            opts.source
        );
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut builder = csv::ReaderBuilder::new();
    builder.has_headers(false).flexible(true);
    let mut csv = Records::new(builder, std::io::BufReader::new(file), 64 << 10);
    let header = csv::StringRecord::from_byte_record(csv.header(path, "a CSV")?)
        .map_err(|_| anyhow::anyhow!("{}:1: the header is not valid UTF-8", path.display()))?;
    let mut raw = csv::ByteRecord::new();
    let index: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, n)| (n.trim().trim_start_matches('\u{feff}'), i))
        .collect();
    let c = &opts.columns;
    let mut cols = [0usize; 4];
    let mut missing = Vec::new();
    for (slot, (field, name)) in cols.iter_mut().zip([
        ("brand", &c.brand),
        ("complaint_id", &c.complaint_id),
        ("complaint_at", &c.complaint_at),
        ("reply_at", &c.reply_at),
    ]) {
        match index.get(name.as_str()) {
            Some(&i) => *slot = i,
            None => missing.push(format!("{name:?} (for {field})")),
        }
    }
    if !missing.is_empty() {
        let found: Vec<&str> = header.iter().collect();
        bail!(
            "{}:1: missing column {}; the header has {}. Map other names with --columns, e.g. \
             --columns brand=appId,complaint_id=reviewId,complaint_at=at,reply_at=repliedAt",
            path.display(),
            missing.join(", "),
            found.join(",")
        );
    }
    let [brand_c, id_c, at_c, reply_c] = cols;
    let mut rows: Vec<(usize, Row)> = Vec::with_capacity(BATCH);
    let mut record = csv::StringRecord::new();
    while let Some((line, read)) = csv
        .next(&mut raw)
        .with_context(|| format!("cannot read {}", path.display()))?
    {
        let row = match read.and_then(|()| {
            record = csv::StringRecord::from_byte_record(std::mem::take(&mut raw))
                .map_err(|e| format!("not valid UTF-8 ({e})"))?;
            Ok(())
        }) {
            Err(reason) => Err(reason),
            Ok(()) if record.len() < header.len() => Err(format!(
                "has {} fields where the header has {}",
                record.len(),
                header.len()
            )),
            Ok(()) => row(&record, [brand_c, id_c, at_c, reply_c], opts),
        };
        rows.push((line, row));
        if rows.len() == BATCH {
            sink(std::mem::take(&mut rows))?;
        }
    }
    sink(rows)
}

fn row<'o>(
    r: &csv::StringRecord,
    [brand_c, id_c, at_c, reply_c]: [usize; 4],
    opts: &'o PairsOptions,
) -> Row<'o> {
    let brand = r[brand_c].trim();
    if brand.is_empty() {
        return Err("empty brand".into());
    }
    let id = r[id_c].trim();
    if id.is_empty() {
        return Err("empty complaint_id".into());
    }
    let at = opts
        .time
        .parse(&r[at_c])
        .map_err(|e| format!("complaint_at: {e}"))?;
    let reply = r[reply_c].trim();
    let reply_at = if reply.is_empty() {
        None
    } else {
        Some(
            opts.time
                .parse(reply)
                .map_err(|e| format!("reply_at: {e}"))?,
        )
    };
    let complaint = Post {
        source: Cow::Borrowed(&opts.source),
        id: Cow::Owned(id.to_string()),
        author: Cow::Borrowed(""),
        created_at: at,
        to_brand: Some(Cow::Owned(brand.to_string())),
        ..Default::default()
    };
    let mut posts = vec![complaint];
    if let Some(reply_at) = reply_at {
        posts.push(Post {
            source: Cow::Borrowed(&opts.source),
            id: Cow::Owned(format!("{id}/reply")),
            author: Cow::Borrowed(""),
            created_at: reply_at,
            reply_to: Some(Cow::Owned(id.to_string())),
            brand: Some(Cow::Owned(brand.to_string())),
            ..Default::default()
        });
    }
    Ok(posts)
}
