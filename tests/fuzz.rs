//! A fuzz harness that stays: garbled import files (twcs, pairs, jsonl), garbled store partitions
//! and TOML-ish config and registry texts. Whatever the input: no panic, every rejection names
//! its file:line, a rejected file leaves the store as it was, and the store only ever holds valid
//! posts. Bounded to a few seconds per target; `REPLYRANK_FUZZ_CASES=20000 cargo test --release
//! --test fuzz` runs longer.

mod common;

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use replyrank::config::Config;
use replyrank::corpus::Corpus;
use replyrank::import::{Format, PairsOptions, import_file};
use replyrank::registry::Registry;
use replyrank::root::SiteRoot;
use replyrank::store::{Notice, Store};

fn registry() -> Registry {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/brands.toml");
    Registry::parse(&std::fs::read_to_string(&path).unwrap(), "brands.toml").unwrap()
}

const TWCS: &str = include_str!("fixtures/twcs_sample93.csv");

const PAIRS: &str = "brand,complaint_id,complaint_at,reply_at\n\
american-airlines,1,2017-10-31T10:00:00Z,2017-10-31T10:30:00Z\n\
delta,2,2017-10-30 09:00:00,\n\
american-airlines,3,1509444000,1509447600\n\
delta,4,2017-10-29T09:00:00+02:00,2017-10-29T09:05:00Z\n";

const JSONL: &str = r#"{"source":"twcs","id":"1","author":"c1","created_at":"2017-10-31T22:10:47Z","text":"@Delta hi","mentions":["Delta"],"inbound":true}
{"source":"twcs","id":"2","author":"Delta","created_at":"2017-10-31T22:20:47Z","reply_to":"1","inbound":false}
{"source":"app-store","id":"r9","author":"","created_at":"2017-10-01T00:00:00Z","to_brand":"delta"}
"#;

/// One edit of a text: overwrite, insert or delete bytes, repeat or drop a line, or splice a
/// hostile fragment in.
#[derive(Clone, Debug)]
enum Edit {
    Byte(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    RepeatLine(usize),
    Fragment(usize, usize),
}

const FRAGMENTS: &[&str] = &[
    "\"",
    "\r",
    "\n",
    ",",
    "\u{feff}",
    "\u{202e}",
    "\0",
    "9223372036854775807",
    "-9223372036854775808",
    "9999-12-31T23:59:59Z",
    "1e309",
    "{\"source\":\"twcs\"}",
    "[[brand]]",
    "null",
    "True",
    "\"id\":\"\"",
    "@",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, b)| Edit::Insert(at, b)),
        (any::<usize>(), 1..40usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        any::<usize>().prop_map(Edit::RepeatLine),
        (any::<usize>(), any::<usize>()).prop_map(|(at, f)| Edit::Fragment(at, f)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        let at = |i: usize, b: &Vec<u8>| if b.is_empty() { 0 } else { i % (b.len() + 1) };
        match e {
            Edit::Byte(i, v) if !b.is_empty() => {
                let i = i % b.len();
                b[i] = *v;
            }
            Edit::Byte(..) => {}
            Edit::Insert(i, v) => {
                let i = at(*i, &b);
                b.splice(i..i, v.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = at(*i, &b);
                let end = (i + n).min(b.len());
                b.drain(i..end);
            }
            Edit::RepeatLine(i) => {
                let lines: Vec<&[u8]> = b.split_inclusive(|&c| c == b'\n').collect();
                if !lines.is_empty() {
                    let line = lines[i % lines.len()].to_vec();
                    let i = at(*i, &b);
                    b.splice(i..i, line);
                }
            }
            Edit::Fragment(i, f) => {
                let i = at(*i, &b);
                let frag = FRAGMENTS[f % FRAGMENTS.len()].as_bytes();
                b.splice(i..i, frag.iter().copied());
            }
        }
    }
    b
}

/// Every file under a directory with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Imports a garbled file and checks the import's promises.
fn import_holds_up(format: Format, bytes: &[u8]) -> Result<(), TestCaseError> {
    let root = tempfile::tempdir().unwrap();
    let site = SiteRoot::at(root.path());
    let file = root.path().join("input");
    std::fs::write(&file, bytes).unwrap();
    let lines = bytes.split(|&b| b == b'\n').count();
    let registry = registry();
    let key = replyrank::publish::Pseudonymiser::new(&[7; 32]).unwrap();
    let store = replyrank::stores::Stores::open_with(&site, Some(key)).unwrap();
    let before = snapshot(&site.store());
    let opts = PairsOptions::default();
    match import_file(&store, &registry, &file, format, &opts) {
        Err(e) => {
            let e = format!("{e:#}");
            prop_assert!(e.contains(&file.display().to_string()), "{}", e);
            prop_assert_eq!(
                snapshot(&site.store()),
                before,
                "a rejected file changed the store"
            );
        }
        Ok(report) => {
            prop_assert!(report.stopped.is_none(), "{:?}", report.stopped);
            for (line, _) in &report.rejected {
                prop_assert!(*line >= 1 && *line <= lines, "line {} of {}", line, lines);
            }
            for s in report.rejection_summary() {
                prop_assert!(s.contains(&format!("{}:", file.display())), "{}", s);
            }
            // Importing it again stores nothing more.
            let again = import_file(&store, &registry, &file, format, &opts).unwrap();
            prop_assert_eq!(again.imported, 0);
            prop_assert_eq!(again.duplicates, report.imported + report.duplicates);
        }
    }
    drop(store);
    // The store holds only valid posts.
    let reader = Store::open(&site).unwrap();
    let corpus = Corpus::load(&reader, &registry).unwrap();
    prop_assert_eq!(corpus.quality.invalid_lines, 0, "{:?}", corpus.notices);
    Ok(())
}

proptest! {
    #![proptest_config(common::fuzz_config(40))]

    #[test]
    fn garbled_twcs_files_are_rejected_row_by_row(edits in prop::collection::vec(edit(), 0..12)) {
        import_holds_up(Format::Twcs, &apply(TWCS, &edits))?;
    }

    #[test]
    fn garbled_pairs_files_are_rejected_row_by_row(edits in prop::collection::vec(edit(), 0..12)) {
        import_holds_up(Format::Pairs, &apply(PAIRS, &edits))?;
    }

    #[test]
    fn garbled_jsonl_files_are_rejected_row_by_row(edits in prop::collection::vec(edit(), 0..12)) {
        import_holds_up(Format::Jsonl, &apply(JSONL, &edits))?;
    }

    #[test]
    fn random_bytes_never_panic_an_import(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        f in 0..3usize,
    ) {
        import_holds_up([Format::Twcs, Format::Pairs, Format::Jsonl][f], &bytes)?;
    }
}

proptest! {
    #![proptest_config(common::fuzz_config(48))]

    /// Readers never change a garbled partition and name every line they skip; a writer then
    /// leaves every partition ending on a whole line.
    #[test]
    fn garbled_partitions_are_read_without_change(
        edits in prop::collection::vec(edit(), 0..16),
        tail in prop::collection::vec(any::<u8>(), 0..30),
    ) {
        let root = tempfile::tempdir().unwrap();
        let site = SiteRoot::at(root.path());
        drop(Store::open_for_writing(&site).unwrap());
        let dir = site.store().join("twcs");
        std::fs::create_dir_all(&dir).unwrap();
        let part = dir.join("2017-10.jsonl");
        let mut bytes = apply(JSONL, &edits);
        bytes.extend_from_slice(&tail);
        std::fs::write(&part, &bytes).unwrap();
        let lines = bytes.split(|&b| b == b'\n').count();
        let registry = registry();
        let before = snapshot(&site.store());
        let reader = Store::open(&site).unwrap();
        let corpus = Corpus::load(&reader, &registry).unwrap();
        drop(reader);
        prop_assert_eq!(snapshot(&site.store()), before, "a reader changed the store");
        for n in &corpus.notices {
            match n {
                Notice::BadLine { file, line, .. } | Notice::TornLineSkipped { file, line, .. } => {
                    prop_assert_eq!(file, &part);
                    prop_assert!(*line >= 1 && *line <= lines);
                    let named = n.to_string().starts_with(&format!("{}:{line}:", part.display()));
                    prop_assert!(named, "{}", n);
                }
                other => prop_assert!(false, "unexpected notice {:?}", other),
            }
        }
        let valid_before = corpus.quality.posts + corpus.quality.duplicate_ids;
        let writer = Store::open_for_writing(&site).unwrap();
        drop(writer);
        let after = std::fs::read(&part).unwrap();
        prop_assert!(after.is_empty() || after.ends_with(b"\n"));
        let reader = Store::open(&site).unwrap();
        let repaired = Corpus::load(&reader, &registry).unwrap();
        prop_assert_eq!(
            repaired.quality.posts + repaired.quality.duplicate_ids,
            valid_before,
            "the repair lost or gained a post"
        );
        let torn = repaired
            .notices
            .iter()
            .any(|n| matches!(n, Notice::TornLineSkipped { .. }));
        prop_assert!(!torn, "{:?}", repaired.notices);
    }
}

const REGISTRY_TEXT: &str = r#"[[brand]]
id = "american-airlines"
name = "American Airlines"
category = "airline"
country = "US"
timezone = "America/Chicago"
[brand.accounts]
twitter = ["AmericanAir"]
bluesky = ["aa.bsky.social"]

[[brand]]
id = "delta"
name = "Delta"
category = "airline"
country = "US"
timezone = "America/New_York"
[brand.accounts]
twitter = ["Delta"]
"#;

const CONFIG_TEXT: &str = r#"base_url = "https://example.org/replyrank/"
title = "replyrank"
languages = ["en", "fr"]
leaderboard_rows = 100

[ranking]
window_days = 90
min_complaints = 30
bootstrap = 1000
seed = 20171031

[sources.app-store]
coverage = "Reviews with developer replies."

[collect]
time_budget_s = 1800
concurrency_per_host = 4

[sources.bluesky]
requests_per_second = 5
"#;

/// `file:N: ` at the start of an error.
fn names_file_line(e: &str, file: &str) -> bool {
    e.strip_prefix(file)
        .and_then(|r| r.strip_prefix(':'))
        .and_then(|r| r.split_once(':'))
        .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

proptest! {
    #![proptest_config(common::fuzz_config(256))]

    #[test]
    fn garbled_registries_are_errors_with_file_line(edits in prop::collection::vec(edit(), 0..10)) {
        let text = String::from_utf8_lossy(&apply(REGISTRY_TEXT, &edits)).into_owned();
        if let Err(e) = Registry::parse(&text, "brands.toml") {
            let e = e.to_string();
            prop_assert!(names_file_line(&e, "brands.toml"), "{}", e);
        }
    }

    #[test]
    fn garbled_configs_are_errors_with_file_line(edits in prop::collection::vec(edit(), 0..10)) {
        let text = String::from_utf8_lossy(&apply(CONFIG_TEXT, &edits)).into_owned();
        if let Err(e) = Config::parse(&text, Path::new("replyrank.toml")) {
            let e = e.to_string();
            prop_assert!(names_file_line(&e, "replyrank.toml"), "{}", e);
        }
    }
}
