//! End-to-end benchmark of the real `replyrank` binary on synthetic TWCS corpora.
//!
//! ```text
//! cargo bench --bench pipeline -- [--posts 100000,1000000,3000000] [--days 61] [--keep DIR] [--pandas] [--duckdb]
//! ```
//!
//! For each size N it generates (from a fixed seed, not timed) a corpus of about N posts in the
//! exact format of the "Customer Support on Twitter" CSV, shaped like the real archive (108
//! brands with Zipf-like volumes, per-brand log-normal reply delays and unanswered shares,
//! alternating customer/brand threads, "same here" replies, cut threads, quoted texts with commas
//! and newlines, rows in shuffled order), plus a site root (`data/brands.toml`,
//! `replyrank.toml`). Then it runs `replyrank import FILE --format twcs` and `replyrank score` as
//! child processes and measures the wall time and peak RSS (`wait4`'s rusage) of each step, then
//! `replyrank score` a second time (the repeat score: the store's index covers everything). The
//! corpus's last day is held back from that file and measured last, as the daily job: imported
//! on its own (import brings the store's index up to date), then `replyrank score`, then
//! `replyrank build`. With `--pandas` it also runs `bench/pandas_pipeline.py` on the same file,
//! prints the speed-up and compares the deterministic per-brand figures of both leaderboards.
//! With `--duckdb` it runs `bench/duckdb_pipeline.py` (the same method in DuckDB SQL; the `duckdb`
//! Python package is installed into a virtual environment under the target directory when
//! python3 lacks it), compares its figures the same way and prints a side-by-side table.
//! Both comparisons score with method version 1, the one the scripts implement.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::{Measured, run_measured};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::Value;

#[path = "common/mod.rs"]
mod common;

const SEED: u64 = 0x7477_6373_2017_1031;
const BRANDS: usize = 108;
/// 2017-10-01T00:00:00Z.
const START: i64 = 1_506_816_000;
/// By default threads start over 61 days (to 2017-12-01); `--days N` sets another span.
const DAYS: u32 = 61;
const HEADER: &str =
    "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n";

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

struct Options {
    posts: Vec<usize>,
    /// The days over which threads start (the store's history; the window is 90 days).
    days: u32,
    keep: Option<PathBuf>,
    pandas: bool,
    duckdb: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo bench --bench pipeline -- [--posts 100000,1000000,3000000] [--days 61] [--keep DIR] [--pandas] [--duckdb]"
    );
    std::process::exit(2);
}

fn parse_count(s: &str) -> Option<usize> {
    let s = s.trim().replace('_', "");
    let (num, mul) = match s.to_ascii_lowercase() {
        l if l.ends_with('k') => (l[..l.len() - 1].to_string(), 1_000.0),
        l if l.ends_with('m') => (l[..l.len() - 1].to_string(), 1_000_000.0),
        l => (l, 1.0),
    };
    let n: f64 = num.parse().ok()?;
    (n > 0.0).then(|| (n * mul).round() as usize)
}

fn parse_args() -> Options {
    let mut o = Options {
        posts: vec![100_000, 1_000_000, 3_000_000],
        days: DAYS,
        keep: None,
        pandas: false,
        duckdb: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            // cargo bench passes --bench to harness = false targets
            "--bench" => {}
            "--pandas" => o.pandas = true,
            "--duckdb" => o.duckdb = true,
            "--posts" => {
                let v = args.next().unwrap_or_else(|| usage());
                o.posts = v
                    .split(',')
                    .map(|s| {
                        parse_count(s).unwrap_or_else(|| {
                            eprintln!("--posts: {s:?} is not a positive number");
                            usage()
                        })
                    })
                    .collect();
            }
            "--keep" => o.keep = Some(PathBuf::from(args.next().unwrap_or_else(|| usage()))),
            "--days" => {
                o.days = args
                    .next()
                    .and_then(|d| d.parse().ok())
                    .filter(|&d| (2..=3650).contains(&d))
                    .unwrap_or_else(|| {
                        eprintln!("--days: a whole number of days from 2 to 3650");
                        usage()
                    })
            }
            "-h" | "--help" => usage(),
            other => {
                if let Some(v) = other.strip_prefix("--posts=") {
                    o.posts = v
                        .split(',')
                        .map(|s| parse_count(s).unwrap_or_else(|| usage()))
                        .collect();
                } else if let Some(v) = other.strip_prefix("--keep=") {
                    o.keep = Some(PathBuf::from(v));
                } else {
                    eprintln!("unknown argument {other:?}");
                    usage()
                }
            }
        }
    }
    o
}

// ---------------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------------

struct BrandModel {
    /// Cumulative share of threads, for sampling.
    cum: f64,
    median_s: f64,
    sigma: f64,
    unanswered: f64,
}

/// One post of the synthetic corpus.
#[derive(Clone, Copy)]
struct Row {
    id: u32,
    /// Customer id (inbound) or brand index (outbound).
    author: u32,
    /// Seconds after START.
    t: u32,
    /// Tweet id of the parent, 0 for none.
    parent: u32,
    kids_start: u32,
    kids_len: u16,
    inbound: bool,
    kind: Kind,
    /// Brand of the thread (for mentions).
    brand: u8,
    /// Customer addressed by a brand reply, or quoted by a "same here" post.
    other: u32,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Thread start mentioning the brand's handle.
    Root,
    /// Thread start mentioning an anonymised account (`@123456`) instead of the handle.
    RootAnon,
    /// Customer replying to their own post before any answer.
    SelfReply,
    /// Customer replying to a brand post.
    FollowUp,
    /// A second customer under a brand post.
    SameHere,
    /// Brand reply.
    Reply,
}

/// Thread-local row before ids are final: parent as an index into the thread, or a phantom id.
struct Pending {
    row: Row,
    parent_local: Option<usize>,
    phantom_parent: bool,
}

struct Corpus {
    /// Threads start within this many seconds after START.
    span: u32,
    rows: Vec<Row>,
    kids: Vec<u32>,
    threads: usize,
    brand_posts: usize,
    phantom_parents: usize,
    same_here: usize,
    anon_roots: usize,
}

fn brand_models(rng: &mut Pcg64Mcg) -> Vec<BrandModel> {
    let weights: Vec<f64> = (1..=BRANDS).map(|k| 1.0 / (k as f64).powf(1.05)).collect();
    let total: f64 = weights.iter().sum();
    let mut cum = 0.0;
    weights
        .iter()
        .map(|w| {
            cum += w / total;
            // median reply delay log-uniform in 2 min .. 10 h
            let median_s = (120f64.ln() + rng.random::<f64>() * (36_000f64 / 120.0).ln()).exp();
            BrandModel {
                cum,
                median_s,
                sigma: 0.8 + 0.8 * rng.random::<f64>(),
                unanswered: 0.05 + 0.35 * rng.random::<f64>(),
            }
        })
        .collect()
}

fn normal(rng: &mut Pcg64Mcg) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal delay in whole seconds, at least 1 s, at most 10 days.
fn lognormal(rng: &mut Pcg64Mcg, median: f64, sigma: f64) -> u32 {
    (median * (sigma * normal(rng)).exp()).clamp(1.0, 10.0 * 86_400.0) as u32
}

fn generate(target: usize, days: u32, seed: u64) -> Corpus {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let brands = brand_models(&mut rng);
    let est_threads = target / 2 + 1;
    let customers = (est_threads as f64 * 0.6).max(1000.0) as u32;
    let mut rows: Vec<Row> = Vec::with_capacity(target + 64);
    let mut kids: Vec<u32> = Vec::with_capacity(target);
    let mut thread: Vec<Pending> = Vec::with_capacity(64);
    let mut next_id: u32 = 1;
    let mut c = Corpus {
        span: days * 86_400,
        rows: Vec::new(),
        kids: Vec::new(),
        threads: 0,
        brand_posts: 0,
        phantom_parents: 0,
        same_here: 0,
        anon_roots: 0,
    };
    let blank = Row {
        id: 0,
        author: 0,
        t: 0,
        parent: 0,
        kids_start: 0,
        kids_len: 0,
        inbound: true,
        kind: Kind::Root,
        brand: 0,
        other: 0,
    };
    while rows.len() < target {
        thread.clear();
        c.threads += 1;
        let u: f64 = rng.random();
        let b = brands.partition_point(|m| m.cum < u).min(BRANDS - 1);
        let m = &brands[b];
        let cust = 100_000 + rng.random_range(0..customers);
        let t0 = rng.random_range(0..c.span);
        let anon = rng.random::<f64>() < 0.10;
        c.anon_roots += usize::from(anon);
        // push(row, parent index): 1% of replies point at a parent that is not in the file
        let push =
            |thread: &mut Vec<Pending>, rng: &mut Pcg64Mcg, row: Row, parent: Option<usize>| {
                let phantom = parent.is_some() && rng.random::<f64>() < 0.01;
                thread.push(Pending {
                    row,
                    parent_local: if phantom { None } else { parent },
                    phantom_parent: phantom,
                });
                thread.len() - 1
            };
        let root = push(
            &mut thread,
            &mut rng,
            Row {
                author: cust,
                t: t0,
                kind: if anon { Kind::RootAnon } else { Kind::Root },
                brand: b as u8,
                ..blank
            },
            None,
        );
        let mut last = root;
        let mut t = t0;
        // a customer sometimes adds to their own complaint before any answer
        if rng.random::<f64>() < 0.04 {
            t += lognormal(&mut rng, 300.0, 1.0);
            last = push(
                &mut thread,
                &mut rng,
                Row {
                    author: cust,
                    t,
                    kind: Kind::SelfReply,
                    brand: b as u8,
                    ..blank
                },
                Some(last),
            );
        }
        if rng.random::<f64>() >= m.unanswered {
            loop {
                t += lognormal(&mut rng, m.median_s, m.sigma);
                let mut reply = push(
                    &mut thread,
                    &mut rng,
                    Row {
                        author: b as u32,
                        t,
                        inbound: false,
                        kind: Kind::Reply,
                        brand: b as u8,
                        other: cust,
                        ..blank
                    },
                    Some(last),
                );
                if rng.random::<f64>() < 0.10 {
                    // a long answer split over two posts, the second under the first
                    t += lognormal(&mut rng, 60.0, 0.5);
                    reply = push(
                        &mut thread,
                        &mut rng,
                        Row {
                            author: b as u32,
                            t,
                            inbound: false,
                            kind: Kind::Reply,
                            brand: b as u8,
                            other: cust,
                            ..blank
                        },
                        Some(reply),
                    );
                }
                if rng.random::<f64>() < 0.03 {
                    // "same here" from another customer under the brand's reply
                    c.same_here += 1;
                    let mut other = 100_000 + rng.random_range(0..customers);
                    if other == cust {
                        other = if other + 1 < 100_000 + customers {
                            other + 1
                        } else {
                            100_000
                        };
                    }
                    let t2 = t + lognormal(&mut rng, 3600.0, 1.2);
                    let sh = push(
                        &mut thread,
                        &mut rng,
                        Row {
                            author: other,
                            t: t2,
                            kind: Kind::SameHere,
                            brand: b as u8,
                            other: cust,
                            ..blank
                        },
                        Some(reply),
                    );
                    if rng.random::<f64>() < 0.5 {
                        let t3 = t2 + lognormal(&mut rng, m.median_s, m.sigma);
                        push(
                            &mut thread,
                            &mut rng,
                            Row {
                                author: b as u32,
                                t: t3,
                                inbound: false,
                                kind: Kind::Reply,
                                brand: b as u8,
                                other,
                                ..blank
                            },
                            Some(sh),
                        );
                    }
                }
                if rng.random::<f64>() >= 0.20 {
                    break;
                }
                t += lognormal(&mut rng, 900.0, 1.2);
                last = push(
                    &mut thread,
                    &mut rng,
                    Row {
                        author: cust,
                        t,
                        kind: Kind::FollowUp,
                        brand: b as u8,
                        ..blank
                    },
                    Some(reply),
                );
                if rng.random::<f64>() >= 0.95 {
                    break;
                }
            }
        }
        // final ids (contiguous per thread, like the real file), phantom parents get an id that
        // is never written, children lists
        let base = next_id;
        next_id += thread.len() as u32;
        for (i, p) in thread.iter_mut().enumerate() {
            p.row.id = base + i as u32;
        }
        for i in 0..thread.len() {
            let parent = match (thread[i].parent_local, thread[i].phantom_parent) {
                (Some(j), _) => thread[j].row.id,
                (None, true) => {
                    c.phantom_parents += 1;
                    next_id += 1;
                    next_id - 1
                }
                (None, false) => 0,
            };
            let start = kids.len() as u32;
            for (j, q) in thread.iter().enumerate() {
                if q.parent_local == Some(i) {
                    kids.push(base + j as u32);
                }
            }
            let mut row = thread[i].row;
            row.parent = parent;
            row.kids_start = start;
            row.kids_len = (kids.len() as u32 - start) as u16;
            c.brand_posts += usize::from(!row.inbound);
            rows.push(row);
        }
    }
    c.rows = rows;
    c.kids = kids;
    c
}

const WORDS: [&str; 64] = [
    "my", "order", "has", "not", "arrived", "yet", "and", "the", "app", "keeps", "crashing",
    "when", "I", "try", "to", "log", "in", "please", "help", "been", "waiting", "for", "two",
    "hours", "on", "hold", "flight", "delayed", "again", "no", "update", "charged", "twice",
    "this", "month", "still", "no", "refund", "sorry", "to", "hear", "that", "can", "you", "DM",
    "us", "your", "account", "details", "we", "will", "look", "into", "it", "right", "away",
    "thanks", "internet", "down", "since", "morning", "package", "lost", "today",
];

fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_2(buf: &mut Vec<u8>, n: u32) {
    buf.push(b'0' + (n / 10) as u8);
    buf.push(b'0' + (n % 10) as u8);
}

fn push_handle(buf: &mut Vec<u8>, brand: u8) {
    buf.extend_from_slice(b"Brand");
    let n = u32::from(brand) + 1;
    buf.push(b'0' + (n / 100) as u8);
    push_2(buf, n % 100);
}

const DOW: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
const MON: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `Tue Oct 31 22:10:47 +0000 2017`
fn push_twitter_date(buf: &mut Vec<u8>, t: i64) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400) as u32;
    let (y, m, d) = replyrank::time::civil_from_days(days);
    let (m, d) = (m as u32, d as u32);
    buf.extend_from_slice(DOW[days.rem_euclid(7) as usize]);
    buf.push(b' ');
    buf.extend_from_slice(MON[m as usize - 1]);
    buf.push(b' ');
    push_2(buf, d);
    buf.push(b' ');
    push_2(buf, secs / 3600);
    buf.push(b':');
    push_2(buf, secs / 60 % 60);
    buf.push(b':');
    push_2(buf, secs % 60);
    buf.extend_from_slice(b" +0000 ");
    push_u64(buf, y as u64);
}

/// The text of a post into `text`; returns whether the CSV field must be quoted.
fn make_text(text: &mut Vec<u8>, rng: &mut Pcg64Mcg, row: &Row) -> bool {
    text.clear();
    let mut quote = false;
    match row.kind {
        Kind::Root if rng.random::<f64>() < 0.2 => {
            // mention in the middle: "order lost again @Brand007 please help"
            for _ in 0..rng.random_range(1..4) {
                text.extend_from_slice(WORDS[rng.random_range(0..WORDS.len())].as_bytes());
                text.push(b' ');
            }
            text.push(b'@');
            push_handle(text, row.brand);
        }
        Kind::Root | Kind::FollowUp => {
            text.push(b'@');
            push_handle(text, row.brand);
        }
        Kind::RootAnon => {
            text.push(b'@');
            push_u64(text, 100_000 + u64::from(row.brand) * 7919 % 900_000);
        }
        Kind::SelfReply => {
            text.extend_from_slice(b"also");
        }
        Kind::SameHere => {
            text.push(b'@');
            push_handle(text, row.brand);
            text.extend_from_slice(b" @");
            push_u64(text, u64::from(row.other));
            text.extend_from_slice(b" same here,");
            quote = true;
        }
        Kind::Reply => {
            text.push(b'@');
            push_u64(text, u64::from(row.other));
        }
    }
    // 40-140 characters; about a quarter of the texts have commas, 1% a quoted word and 0.5%
    // an embedded newline (all of which make the CSV field quoted)
    let len = rng.random_range(40..=140usize);
    let comma_p = if rng.random::<f64>() < 0.25 {
        0.15
    } else {
        0.0
    };
    let mut newline = rng.random::<f64>() < 0.005;
    let mut quoted = rng.random::<f64>() < 0.01;
    while text.len() < len {
        let w = WORDS[rng.random_range(0..WORDS.len())].as_bytes();
        let sep: &[u8] = if newline && text.len() > 20 {
            b"\n"
        } else if rng.random::<f64>() < comma_p {
            b", "
        } else {
            b" "
        };
        let q = quoted && text.len() > 10;
        if text.len() + sep.len() + w.len() + 2 * usize::from(q) > 140 {
            break;
        }
        text.extend_from_slice(sep);
        if q {
            text.push(b'"');
            text.extend_from_slice(w);
            text.push(b'"');
        } else {
            text.extend_from_slice(w);
        }
        if sep != b" " || q {
            quote = true;
        }
        newline &= sep != b"\n";
        quoted &= !q;
    }
    if row.kind == Kind::Reply && text.len() + 4 <= 140 && rng.random::<f64>() < 0.3 {
        text.extend_from_slice(b" ^");
        text.push(b'A' + rng.random_range(0..26u8));
        text.push(b'B' + rng.random_range(0..24u8));
    }
    quote
}

/// What [`write_csv`] wrote: (posts, bytes) of the corpus without its last day, and of that day.
struct Written {
    main: (usize, u64),
    day: (usize, u64),
}

/// Writes the corpus in the TWCS format: its last day (posts made from the start of the last
/// day on which threads start) to `day_path`, held back for the daily-job measurement, the rest
/// to `path`.
fn write_csv(c: &Corpus, path: &Path, day_path: &Path, seed: u64) -> std::io::Result<Written> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x5eed);
    let mut order: Vec<u32> = (0..c.rows.len() as u32).collect();
    order.shuffle(&mut rng);
    // The last day on which threads start, and the replies that come later.
    let cutoff = c.span - 86_400;
    let mut main = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut day = BufWriter::with_capacity(1 << 20, File::create(day_path)?);
    main.write_all(HEADER.as_bytes())?;
    day.write_all(HEADER.as_bytes())?;
    let mut line: Vec<u8> = Vec::with_capacity(512);
    let mut text: Vec<u8> = Vec::with_capacity(256);
    let mut written = Written {
        main: (0, HEADER.len() as u64),
        day: (0, HEADER.len() as u64),
    };
    for &i in &order {
        let r = &c.rows[i as usize];
        line.clear();
        push_u64(&mut line, u64::from(r.id));
        line.push(b',');
        if r.inbound {
            push_u64(&mut line, u64::from(r.author));
            line.extend_from_slice(b",True,");
        } else {
            push_handle(&mut line, r.author as u8);
            line.extend_from_slice(b",False,");
        }
        push_twitter_date(&mut line, START + i64::from(r.t));
        line.push(b',');
        if make_text(&mut text, &mut rng, r) {
            line.push(b'"');
            for &b in &text {
                if b == b'"' {
                    line.push(b'"');
                }
                line.push(b);
            }
            line.push(b'"');
        } else {
            line.extend_from_slice(&text);
        }
        line.push(b',');
        let kids = &c.kids[r.kids_start as usize..r.kids_start as usize + r.kids_len as usize];
        if kids.len() > 1 {
            line.push(b'"');
        }
        for (k, id) in kids.iter().enumerate() {
            if k > 0 {
                line.push(b',');
            }
            push_u64(&mut line, u64::from(*id));
        }
        if kids.len() > 1 {
            line.push(b'"');
        }
        line.push(b',');
        if r.parent != 0 {
            push_u64(&mut line, u64::from(r.parent));
            line.extend_from_slice(b".0");
        }
        line.push(b'\n');
        let (out, count) = if r.t >= cutoff {
            (&mut day, &mut written.day)
        } else {
            (&mut main, &mut written.main)
        };
        out.write_all(&line)?;
        count.0 += 1;
        count.1 += line.len() as u64;
    }
    main.flush()?;
    day.flush()?;
    Ok(written)
}

/// The site root; `method` 1 when the pandas or DuckDB cross-check runs (they implement
/// version 1).
fn write_site(root: &Path, method: u8) -> std::io::Result<()> {
    fs::create_dir_all(root.join("data"))?;
    let mut toml = String::with_capacity(BRANDS * 140);
    const CATEGORIES: [&str; 6] = ["retail", "airline", "telecom", "tech", "bank", "transport"];
    for k in 1..=BRANDS {
        toml += &format!(
            "[[brand]]\nid = \"brand{k:03}\"\nname = \"Brand {k:03}\"\ncategory = \"{}\"\n\
             country = \"US\"\ntimezone = \"UTC\"\n[brand.accounts]\ntwitter = [\"Brand{k:03}\"]\n\n",
            CATEGORIES[k % CATEGORIES.len()]
        );
    }
    fs::write(root.join("data/brands.toml"), toml)?;
    fs::write(
        root.join("replyrank.toml"),
        format!(
            "[ranking]\nmethod = {method}\nwindow_days = 90\nmin_complaints = 30\nbootstrap = 1000\nseed = 1\n"
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Measuring child processes
// ---------------------------------------------------------------------------------------------

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(p) else {
        return 0;
    };
    rd.filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// pandas and DuckDB cross-checks
// ---------------------------------------------------------------------------------------------

/// A Python implementation of method version 1 and the interpreter that runs it.
struct Script {
    /// "pandas" or "DuckDB", for messages.
    name: &'static str,
    python: PathBuf,
    path: PathBuf,
}

fn bench_script(file: &str) -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("bench")
        .join(file);
    if !script.exists() {
        return Err(format!("{} is missing", script.display()));
    }
    Ok(script)
}

fn can_import(python: &Path, modules: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn pandas_script() -> Result<Script, String> {
    let path = bench_script("pandas_pipeline.py")?;
    let python = PathBuf::from("python3");
    if !can_import(&python, "pandas, numpy") {
        return Err("python3 cannot import pandas".into());
    }
    Ok(Script {
        name: "pandas",
        python,
        path,
    })
}

/// Runs one setup step, saying what it does; whether it succeeded.
fn setup_step(program: &Path, args: &[&str]) -> bool {
    eprintln!("   $ {} {}", program.display(), args.join(" "));
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// python3 when it can import duckdb and numpy; else the virtual environment
/// `<target dir>/bench-venv`, created and given both packages from PyPI on first use. A fresh
/// Debian has python3 without venv/pip (and refuses `pip install --user` into the system
/// Python, PEP 668): as root, `apt-get install python3-venv` first.
fn duckdb_python() -> Result<PathBuf, String> {
    let system = PathBuf::from("python3");
    if can_import(&system, "duckdb, numpy") {
        return Ok(system);
    }
    // the binary is <target dir>/<profile>/replyrank
    let target = Path::new(env!("CARGO_BIN_EXE_replyrank"))
        .ancestors()
        .nth(2)
        .ok_or("no target directory")?;
    let venv = target.join("bench-venv");
    let python = venv.join("bin/python3");
    if can_import(&python, "duckdb, numpy") {
        return Ok(python);
    }
    eprintln!(
        "python3 cannot import duckdb and numpy: installing them into {}",
        venv.display()
    );
    let venv_arg = venv.to_string_lossy().into_owned();
    let make_venv = || {
        // a venv left without pip by an earlier failed attempt is made again
        if venv.exists() {
            let _ = fs::remove_dir_all(&venv);
        }
        setup_step(&system, &["-m", "venv", &venv_arg])
            && setup_step(&python, &["-m", "pip", "--version"])
    };
    let has_pip = python.exists() && can_import(&python, "pip");
    if !has_pip && !make_venv() {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let apt = Path::new("/usr/bin/apt-get");
        if !(root && apt.exists()) {
            return Err("python3 -m venv failed; install python3-venv (Debian) or pip".into());
        }
        let installed = setup_step(apt, &["install", "-y", "-q", "python3-venv"])
            || (setup_step(apt, &["update", "-q"])
                && setup_step(apt, &["install", "-y", "-q", "python3-venv"]));
        if !installed || !make_venv() {
            return Err("could not create a Python virtual environment".into());
        }
    }
    if !setup_step(
        &python,
        &["-m", "pip", "install", "--quiet", "duckdb", "numpy"],
    ) || !can_import(&python, "duckdb, numpy")
    {
        return Err(format!(
            "pip could not install duckdb and numpy into {venv_arg}"
        ));
    }
    Ok(python)
}

fn duckdb_script() -> Result<Script, String> {
    let path = bench_script("duckdb_pipeline.py")?;
    Ok(Script {
        name: "DuckDB",
        python: duckdb_python()?,
        path,
    })
}

fn read_json(p: &Path) -> Value {
    let text = fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: bad JSON: {e}", p.display()))
}

/// Compares the deterministic per-brand figures of another implementation's output (`name`)
/// with ours; returns (brands compared, mismatch lines).
fn compare(name: &str, other: &Value, ours: &Value) -> (usize, Vec<String>) {
    let empty = Vec::new();
    let list = |v: &Value| v["brands"].as_array().unwrap_or(&empty).clone();
    let ours_by_id: HashMap<String, Value> = list(ours)
        .into_iter()
        .filter_map(|b| Some((b["id"].as_str()?.to_string(), b)))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut bad = Vec::new();
    let float_eq = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-3,
        (None, None) => a.is_null() && b.is_null(),
        _ => false,
    };
    let pb = list(other);
    for p in &pb {
        let id = p["id"].as_str().unwrap_or("?").to_string();
        seen.insert(id.clone());
        let Some(o) = ours_by_id.get(&id) else {
            bad.push(format!("{id}: in {name} output only"));
            continue;
        };
        for f in ["complaints", "median_reply_s", "p90_reply_s", "rank"] {
            if p[f] != o[f] {
                bad.push(format!("{id}.{f}: {name} {} vs replyrank {}", p[f], o[f]));
            }
        }
        for f in ["answered_1h", "answered_24h"] {
            if !float_eq(&p[f], &o[f]) {
                bad.push(format!("{id}.{f}: {name} {} vs replyrank {}", p[f], o[f]));
            }
        }
    }
    for (id, o) in &ours_by_id {
        if !seen.contains(id) && o["complaints"].as_u64().unwrap_or(0) > 0 {
            bad.push(format!(
                "{id}: replyrank has {} complaints, {name} lists no such brand",
                o["complaints"]
            ));
        }
    }
    bad.sort();
    (pb.len(), bad)
}

/// One run of a script on the corpus: its measure and the number of figures that differ from
/// replyrank's leaderboard `lb`.
struct ScriptRun {
    m: Measured,
    mismatches: usize,
}

fn run_script(script: &Script, work: &Path, csv: &Path, root: &Path, lb: &Value) -> ScriptRun {
    let stem = script.name.to_ascii_lowercase();
    let out = work.join(format!("{stem}.json"));
    let mut cmd = Command::new(&script.python);
    cmd.arg(&script.path)
        .arg("--csv")
        .arg(csv)
        .arg("--brands")
        .arg(root.join("data/brands.toml"))
        .arg("--out")
        .arg(&out)
        .args(["--bootstrap", "1000", "--seed", "1"]);
    let m = run_measured(
        &format!("{}", script.path.display()),
        cmd,
        &work.join(format!("{stem}.out")),
        &work.join(format!("{stem}.err")),
    );
    let j = read_json(&out);
    let t = &j["timings"];
    let phase = |k: &str| t[k].as_f64().unwrap_or(f64::NAN);
    eprintln!(
        "   {} {:.2} s (read {:.2}, pair {:.2}, score {:.2}), CPU {:.2} s, peak RSS {:.0} MB",
        script.name,
        m.secs(),
        phase("read"),
        phase("pair"),
        phase("score"),
        m.cpu_secs(),
        m.rss_mb(),
    );
    if j["as_of"] != lb["as_of"] {
        eprintln!(
            "   note: as_of differs: {} {} vs replyrank {}",
            script.name, j["as_of"], lb["as_of"]
        );
    }
    let (compared, bad) = compare(script.name, &j, lb);
    eprintln!(
        "   cross-check with {}: {compared} brands compared, {} mismatches",
        script.name,
        bad.len()
    );
    for b in bad.iter().take(8) {
        eprintln!("     {b}");
    }
    ScriptRun {
        m,
        mismatches: bad.len(),
    }
}

// ---------------------------------------------------------------------------------------------

struct Result1 {
    posts: usize,
    csv_mb: f64,
    import: Measured,
    score: Measured,
    /// `replyrank score` run again on the same store (its index covers everything).
    rescore: Measured,
    /// The daily job: the held-back last day's posts imported, then `replyrank score` (which
    /// reads the store's index and parses only what was appended).
    day_posts: usize,
    day_import: Measured,
    day_score: Measured,
    /// Then `replyrank build`: the same score, and the site rendered and written.
    day_build: Measured,
    pandas: Option<ScriptRun>,
    duckdb: Option<ScriptRun>,
    /// The 1-minute load average before and after the measured steps.
    load: (f64, f64),
}

/// The 1-minute load average (NaN where /proc/loadavg is unreadable): the benchmark shares
/// the machine, and every figure should say how busy it was.
fn load_average() -> f64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Runs the release binary on the site root `root` with `args`, measured; its output goes to
/// `<step>.out` and `<step>.err` in `work`.
fn replyrank(bin: &str, root: &Path, args: &[OsString], step: &str, work: &Path) -> Measured {
    let mut cmd = Command::new(bin);
    cmd.arg("--root").arg(root).args(args);
    run_measured(
        &format!("replyrank {step}"),
        cmd,
        &work.join(format!("{step}.out")),
        &work.join(format!("{step}.err")),
    )
}

fn bench_size(
    n: usize,
    days: u32,
    work: &Path,
    pandas: Option<&Script>,
    duckdb: Option<&Script>,
) -> Result1 {
    let bin = env!("CARGO_BIN_EXE_replyrank");
    let root = work.join("root");
    // a kept directory from an earlier run: start from an empty store
    for d in ["data/store", "data/index", "public"] {
        let p = root.join(d);
        if p.exists() {
            fs::remove_dir_all(&p).unwrap_or_else(|e| panic!("cannot remove {}: {e}", p.display()));
        }
    }
    // The scripts implement method version 1: compare like with like.
    let method = if pandas.is_some() || duckdb.is_some() {
        1
    } else {
        2
    };
    write_site(&root, method).expect("cannot write the site root");
    let csv = work.join("twcs.csv");
    let day_csv = work.join("twcs-last-day.csv");

    eprintln!("\n== {n} posts: generating {} ...", csv.display());
    let t = Instant::now();
    let corpus = generate(n, days, SEED);
    let written = write_csv(&corpus, &csv, &day_csv, SEED).expect("cannot write the CSV");
    let (posts, bytes) = written.main;
    let all = corpus.rows.len();
    eprintln!(
        "   generated {all} posts in {} threads ({:.2} posts/thread, {:.1}% brand posts, \
         {} cut threads, {} same-here, {} anonymised mentions), {:.1} MB in {:.1} s; \
         the last day's {} posts held back for the daily job",
        corpus.threads,
        all as f64 / corpus.threads as f64,
        100.0 * corpus.brand_posts as f64 / posts as f64,
        corpus.phantom_parents,
        corpus.same_here,
        corpus.anon_roots,
        (bytes + written.day.1) as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        written.day.0
    );
    drop(corpus);
    // Flush the freshly written CSV so its writeback does not compete with the measured steps
    // (the import syncs its own files, which would otherwise wait for it too).
    // SAFETY: sync() has no preconditions.
    unsafe { libc::sync() };
    let load_before = load_average();

    let twcs = |csv: &Path| -> Vec<OsString> {
        vec![
            "import".into(),
            csv.into(),
            "--format".into(),
            "twcs".into(),
        ]
    };
    let import = replyrank(bin, &root, &twcs(&csv), "import", work);
    let summary = fs::read_to_string(work.join("import.out")).unwrap_or_default();
    for l in summary.lines().take(4) {
        eprintln!("   import: {}", l.chars().take(200).collect::<String>());
    }
    eprintln!(
        "   import {:.2} s, peak RSS {:.0} MB; store {:.1} MB",
        import.secs(),
        import.rss_mb(),
        dir_size(&root.join("data/store")) as f64 / 1e6
    );

    // SAFETY: as above; the store is flushed before the timed score step.
    unsafe { libc::sync() };
    let score = replyrank(bin, &root, &["score".into()], "score", work);
    let lb_path = root.join("public/data/leaderboard.json");
    let lb = read_json(&lb_path);
    let brands = lb["brands"].as_array().map_or(&[][..], Vec::as_slice);
    let eligible = brands.iter().filter(|b| b["eligible"] == true).count();
    eprintln!(
        "   score {:.2} s, peak RSS {:.0} MB; {eligible} of {} brands ranked; data_quality {}",
        score.secs(),
        score.rss_mb(),
        brands.len(),
        lb["data_quality"]
    );

    let rescore = {
        let m = replyrank(bin, &root, &["score".into()], "rescore", work);
        eprintln!(
            "   repeat score {:.2} s, CPU {:.2} s, peak RSS {:.0} MB",
            m.secs(),
            m.cpu_secs(),
            m.rss_mb()
        );
        m
    };
    let total = import.secs() + score.secs();
    let pandas = pandas.map(|s| {
        let r = run_script(s, work, &csv, &root, &lb);
        eprintln!("   pandas / replyrank: {:.1}x", r.m.secs() / total);
        r
    });
    let duckdb = duckdb.map(|s| {
        let r = run_script(s, work, &csv, &root, &lb);
        eprintln!("   DuckDB / replyrank: {:.2}x", r.m.secs() / total);
        r
    });
    // The daily job, after the comparisons (it changes the store): the last day appended.
    let day_import = replyrank(bin, &root, &twcs(&day_csv), "day-import", work);
    // SAFETY: as above.
    unsafe { libc::sync() };
    let day_score = replyrank(bin, &root, &["score".into()], "day-score", work);
    // Then the site, as the publishing workflow builds it (the methodology page is the one
    // piece of content a site needs).
    let content = root.join("content");
    fs::create_dir_all(&content).expect("create the site's content folder");
    fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/content/methodology.md"),
        content.join("methodology.md"),
    )
    .expect("copy the methodology page");
    let day_build = replyrank(bin, &root, &["build".into()], "day-build", work);
    eprintln!(
        "   daily job: import of the last day's {} posts {:.2} s, then score {:.2} s (CPU {:.2} s, \
         peak RSS {:.0} MB), or build {:.2} s (CPU {:.2} s)",
        written.day.0,
        day_import.secs(),
        day_score.secs(),
        day_score.cpu_secs(),
        day_score.rss_mb(),
        day_build.secs(),
        day_build.cpu_secs(),
    );
    let load = (load_before, load_average());
    eprintln!("   load average {:.2} before, {:.2} after", load.0, load.1);
    Result1 {
        posts,
        csv_mb: bytes as f64 / 1e6,
        import,
        score,
        rescore,
        day_posts: written.day.0,
        day_import,
        day_score,
        day_build,
        pandas,
        duckdb,
        load,
    }
}

/// The side-by-side table of `--duckdb`: replyrank's import + score against the same method in
/// DuckDB SQL on the same file, wall and CPU (user + system) time, peak RSS.
fn print_duckdb_table(results: &[Result1]) {
    println!(
        "\n| posts | import s | score s | repeat score s | total s | CPU s | peak RSS MB | \
         DuckDB s | DuckDB CPU s | DuckDB peak RSS MB | DuckDB / replyrank | CPU ratio | figures differ | \
         load avg |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in results {
        let Some(d) = &r.duckdb else {
            continue;
        };
        let again = &r.rescore;
        let total = r.import.secs() + r.score.secs();
        let cpu = r.import.cpu_secs() + r.score.cpu_secs();
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {} | {:.1}–{:.1} |",
            r.posts,
            r.import.secs(),
            r.score.secs(),
            again.secs(),
            total,
            cpu,
            r.import.rss_mb().max(r.score.rss_mb()),
            d.m.secs(),
            d.m.cpu_secs(),
            d.m.rss_mb(),
            d.m.secs() / total,
            d.m.cpu_secs() / cpu,
            d.mismatches,
            r.load.0,
            r.load.1
        );
    }
    println!(
        "\ntotal = import + score; CPU = user + system time of both; DuckDB / replyrank = \
         DuckDB s / total s (above 1: replyrank is faster); CPU ratio = the same for CPU \
         time; load avg = 1-minute load average \
         before and after the size's measured steps (2 cores: above 2, other work shares them); \
         figures differ = per-brand complaints, answered 1 h / 24 h, median, p90 \
         and rank that differ from replyrank's leaderboard (method 1)."
    );
}

fn main() {
    let opts = parse_args();
    let pandas = if opts.pandas {
        match pandas_script() {
            Ok(s) => Some(s),
            Err(why) => {
                println!("pandas comparison skipped: pip install pandas ({why})");
                None
            }
        }
    } else {
        None
    };
    let duckdb = if opts.duckdb {
        match duckdb_script() {
            Ok(s) => Some(s),
            Err(why) => {
                println!("DuckDB comparison skipped: {why}");
                None
            }
        }
    } else {
        None
    };
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());

    let mut results = Vec::new();
    let _tmp; // keeps the temporary directory alive until the end
    let base = match &opts.keep {
        Some(d) => d.clone(),
        None => {
            let t = tempfile::Builder::new()
                .prefix("replyrank-bench-")
                .tempdir()
                .expect("cannot create a temporary directory");
            let p = t.path().to_path_buf();
            _tmp = t;
            p
        }
    };
    for &n in &opts.posts {
        let work = base.join(format!("posts-{n}"));
        fs::create_dir_all(&work).expect("cannot create the work directory");
        results.push(bench_size(
            n,
            opts.days,
            &work,
            pandas.as_ref(),
            duckdb.as_ref(),
        ));
    }

    println!(
        "\nreplyrank pipeline benchmark — {cpu}, nproc = {nproc}, binary {}",
        env!("CARGO_BIN_EXE_replyrank")
    );
    if let Some(d) = &opts.keep {
        println!("corpora kept under {}", d.display());
    }
    println!();
    let with_pandas = results.iter().any(|r| r.pandas.is_some());
    let mut head = String::from(
        "| posts | CSV MB | import s | score s | total s | posts/s | peak RSS import MB | peak RSS score MB |",
    );
    let mut rule = String::from("|---:|---:|---:|---:|---:|---:|---:|---:|");
    if with_pandas {
        head += " pandas s | pandas peak RSS MB | speed-up | cross-check mismatches |";
        rule += "---:|---:|---:|---:|";
    }
    println!("{head}\n{rule}");
    for r in &results {
        let total = r.import.secs() + r.score.secs();
        let mut line = format!(
            "| {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} |",
            r.posts,
            r.csv_mb,
            r.import.secs(),
            r.score.secs(),
            total,
            r.posts as f64 / total,
            r.import.rss_mb(),
            r.score.rss_mb()
        );
        if with_pandas {
            match &r.pandas {
                Some(p) => {
                    line += &format!(
                        " {:.2} | {:.0} | {:.1}x | {} |",
                        p.m.secs(),
                        p.m.rss_mb(),
                        p.m.secs() / total,
                        p.mismatches
                    )
                }
                None => line += " — | — | — | — |",
            }
        }
        println!("{line}");
    }
    print_daily_table(&results);
    if results.iter().any(|r| r.duckdb.is_some()) {
        print_duckdb_table(&results);
    }
}

/// The daily job: the store already holds all but the last day; that day is imported, then the
/// store scored (through its index).
fn print_daily_table(results: &[Result1]) {
    println!(
        "\n| posts with the last day | repeat score s (CPU s), without it | the last day's posts | import the day s | \
         then score s | score CPU s (user + sys) | score peak RSS MB | or build s (CPU s) |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in results {
        println!(
            "| {} | {:.2} ({:.2}) | {} | {:.2} | {:.2} | {:.2} + {:.2} | {:.0} | {:.2} ({:.2}) |",
            r.posts + r.day_posts,
            r.rescore.secs(),
            r.rescore.cpu_secs(),
            r.day_posts,
            r.day_import.secs(),
            r.day_score.secs(),
            r.day_score.user.as_secs_f64(),
            r.day_score.sys.as_secs_f64(),
            r.day_score.rss_mb(),
            r.day_build.secs(),
            r.day_build.cpu_secs()
        );
    }
}
