//! The downloads under `data/`: `leaderboard.json` (the one writer of it, shared with
//! `replyrank score`), `leaderboard.csv` (its figure columns from [`columns::COLUMNS`]), one JSON file
//! per brand, and `README.txt` (the built-in template `data_readme.txt`).

use anyhow::{Result, anyhow};
use serde::Serialize;

use super::Site;
use super::view::View;
use crate::columns;
use crate::method::Version;
use crate::score::{BrandEntry, MonthEntry, REPLY_BINS, Window};

/// A text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return
/// first) is written with a leading `'`, as OWASP advises: brand names come from a registry
/// anyone can edit.
fn text_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The CSV header: ranks, the brand, every figure (with its interval's bounds), then status.
/// The columns of `leaderboard.csv` under a method version.
pub fn csv_header(version: Version) -> Vec<&'static str> {
    let mut head = vec![
        "rank",
        "rank_best",
        "rank_worst",
        "category_rank",
        "country_rank",
        "id",
        "name",
        "category",
        "country",
    ];
    for c in columns::of(version) {
        head.push(c.key);
        if let Some(i) = &c.interval {
            head.extend([i.lo, i.hi]);
        }
    }
    head.extend(["eligible", "unranked_reason", "sources", "as_of"]);
    head
}

fn csv_row(b: &BrandEntry, version: Version, as_of: &str) -> Vec<String> {
    let n = |x: Option<usize>| x.map_or(String::new(), |v| v.to_string());
    let ri = b.rank_interval;
    let mut row = vec![
        n(b.rank),
        n(ri.map(|r| r[0])),
        n(ri.map(|r| r[1])),
        n(b.category_rank),
        n(b.country_rank),
        text_cell(&b.id),
        text_cell(&b.name),
        text_cell(&b.category),
        text_cell(&b.country),
    ];
    for c in columns::of(version) {
        row.push(c.csv(b));
        if let Some(i) = &c.interval {
            let ci = (i.get)(b);
            row.push(ci.map_or(String::new(), |c| c[0].to_string()));
            row.push(ci.map_or(String::new(), |c| c[1].to_string()));
        }
    }
    row.extend([
        b.eligible.to_string(),
        b.unranked_reason
            .map_or(String::new(), |r| r.code().to_string()),
        b.sources.join(" "),
        as_of.to_string(),
    ]);
    row
}

/// `history.csv`: one row per brand and month (the brand pages' monthly table).
fn history_csv(view: &View) -> Result<Vec<u8>> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "id",
        "month",
        "complaints",
        "answered_1h",
        "answered_24h",
        "median_reply_s",
        "score",
        "score_lo",
        "score_hi",
        "drawn",
    ])?;
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    for (id, months) in &view.lb.history {
        for m in months {
            csv.write_record([
                text_cell(id),
                m.month.clone(),
                m.complaints.to_string(),
                opt(m.answered_1h),
                opt(m.answered_24h),
                m.median_reply_s.map_or(String::new(), |s| s.to_string()),
                opt(m.score),
                opt(m.score_ci.map(|c| c[0])),
                opt(m.score_ci.map(|c| c[1])),
                m.drawn().is_some().to_string(),
            ])?;
        }
    }
    csv.into_inner().map_err(|e| anyhow!("{e}"))
}

/// `leaderboard.csv`: one row per brand.
fn leaderboard_csv(view: &View) -> Result<Vec<u8>> {
    let as_of = crate::time::format_rfc3339(view.lb.as_of);
    let mut csv = csv::Writer::from_writer(Vec::new());
    let version = view.lb.method.version;
    csv.write_record(csv_header(version))?;
    for b in &view.lb.brands {
        csv.write_record(csv_row(b, version, &as_of))?;
    }
    csv.into_inner().map_err(|e| anyhow!("{e}"))
}

#[derive(Serialize)]
struct BrandFile<'a> {
    schema: &'static str,
    #[serde(with = "crate::time::rfc3339")]
    as_of: i64,
    window: &'a Window,
    brand: &'a BrandEntry,
    history: Option<&'a Vec<MonthEntry>>,
    still_waiting: Option<&'a Vec<(i64, f64)>>,
    reply_time_bins_s: [i64; 6],
    reply_times: Option<&'a Vec<usize>>,
}

#[derive(Serialize)]
struct ReadmeColumn {
    key: &'static str,
    doc: String,
}

/// The downloads, into `site`.
pub fn downloads(view: &View, site: &mut Site) -> Result<()> {
    let lb = view.lb;
    // Compact JSON: indenting the monthly histories and reply times doubled these files, and
    // every snapshot kept whole holds a copy (see `output`).
    let mut json = serde_json::to_vec(lb)?;
    json.push(b'\n');
    site.insert("data/leaderboard.json".into(), json);
    site.insert("data/leaderboard.csv".into(), leaderboard_csv(view)?);
    site.insert("data/history.csv".into(), history_csv(view)?);
    for b in &lb.brands {
        let d = lb.details.get(&b.id);
        let file = BrandFile {
            schema: "replyrank.brand/1",
            as_of: lb.as_of,
            window: &lb.window,
            brand: b,
            history: lb.history.get(&b.id),
            still_waiting: d.map(|d| &d.still_waiting),
            reply_time_bins_s: REPLY_BINS,
            reply_times: d.map(|d| &d.reply_times),
        };
        let mut json = serde_json::to_string(&file)?;
        json.push('\n');
        site.insert(format!("data/brands/{}.json", b.id), json.into_bytes());
    }
    let en = &view.langs[0];
    let mut context = tera::Context::new();
    context.insert("as_of", &crate::time::format_rfc3339(lb.as_of));
    context.insert("from", &crate::time::format_rfc3339(lb.window.from));
    context.insert("to", &crate::time::format_rfc3339(lb.window.to));
    context.insert("base_url", view.address());
    context.insert("has_address", &!view.config.base_url.is_empty());
    context.insert("method", &lb.method);
    context.insert("schema", &lb.schema);
    context.insert("sources", &lb.sources);
    context.insert("publisher", &view.config.publisher);
    context.insert("title", &view.config.title);
    context.insert("date", view.snapshot);
    context.insert(
        "columns",
        &columns::of(lb.method.version)
            .map(|c| ReadmeColumn {
                key: c.key,
                doc: en.t(&format!("doc_{}", c.key), &[]),
            })
            .collect::<Vec<_>>(),
    );
    site.insert(
        "data/README.txt".into(),
        view.file("data_readme.txt", &context)?,
    );
    Ok(())
}
