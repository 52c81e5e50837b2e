//! Sealing (`src/corpus/seal.rs`): a run that reads the store through its index, with the
//! threads the ranking window can no longer reach sealed away, publishes the leaderboard a full
//! read of the store gives — every figure, the monthly history and the data-quality counts —
//! whatever happened to the store in between; and whatever would change a sealed thread gives
//! the seal up.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use common::{ok, rr};
use replyrank::config::Config;
use replyrank::corpus::{Corpus, Ranking};
use replyrank::method::Version;
use replyrank::pipeline::{Read, run_reading};
use replyrank::registry::Registry;
use replyrank::root::SiteRoot;
use replyrank::store::Store;

fn config(root: &Path, window_days: u32, version: Version) -> Config {
    let mut c = Config::load(&SiteRoot::at(root)).unwrap();
    c.ranking.window_days = window_days;
    c.ranking.method = version;
    c
}

/// Scores `root` through the index (sealing) and by a full read; asserts the leaderboards are
/// the same, and returns it.
fn same_leaderboard(root: &Path, config: &Config, as_of: Option<i64>) -> serde_json::Value {
    let site = SiteRoot::at(root);
    let indexed = run_reading(&site, config, as_of, false, Read::Indexed).unwrap();
    let full = run_reading(&site, config, as_of, false, Read::Full).unwrap();
    let (a, b) = (
        String::from_utf8(full.leaderboard.to_json()).unwrap(),
        String::from_utf8(indexed.leaderboard.to_json()).unwrap(),
    );
    if a != b {
        let first = a
            .lines()
            .zip(b.lines())
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .map(|(n, (x, y))| format!("line {n}\nfull:    {x}\nindexed: {y}"));
        panic!("the leaderboard through the seal differs from a full read:\n{first:?}");
    }
    serde_json::from_str(&a).unwrap()
}

/// What loading as `score` does found and did.
#[derive(Debug)]
struct SealState {
    /// Posts in threads sealed away.
    sealed: usize,
    /// Of which sealed by this load.
    sealed_now: usize,
    line: Option<i64>,
    /// Why the store was read in full, if it was.
    rebuilt: Option<String>,
}

/// Loads `root` as `score` does (so it may seal) and says how.
fn seal_state(root: &Path, config: &Config) -> SealState {
    let site = SiteRoot::at(root);
    let registry = Registry::load(&site).unwrap();
    let store = Store::open(&site).unwrap();
    let ranking = Ranking {
        version: config.ranking.method,
        window_days: config.ranking.window_days,
        as_of: None,
    };
    let loaded = Corpus::load_for_ranking(&store, &registry, &site.index(), &ranking).unwrap();
    assert!(loaded.used.not_written.is_none(), "{:?}", loaded.used);
    SealState {
        sealed: loaded.seal.as_ref().map_or(0, |s| s.posts),
        sealed_now: loaded.used.sealed_now,
        line: loaded.seal.as_ref().map(|s| s.line),
        rebuilt: loaded.used.rebuilt,
    }
}

/// Asserts the next load reads the store in full, for a reason that mentions `why`.
fn assert_read_in_full(root: &Path, config: &Config, why: &str) {
    let state = seal_state(root, config);
    assert!(
        state.rebuilt.as_deref().is_some_and(|w| w.contains(why)),
        "{state:?}"
    );
}

/// Imports JSON Lines into `root`'s store; returns what `import` printed.
fn import(root: &Path, text: &str) -> String {
    let file = root.join("import.jsonl");
    fs::write(&file, text).unwrap();
    ok(rr(
        root,
        &["import", file.to_str().unwrap(), "--format", "jsonl"],
    ))
}

fn at(s: &str) -> Option<i64> {
    Some(replyrank::time::parse_rfc3339(s).unwrap())
}

fn append(path: &Path, text: &str) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

/// A store line. `by`: the author; a brand account writes an outbound post.
fn line(id: &str, by: &str, at: &str, reply_to: Option<&str>, extra: &str) -> String {
    let brand = by == "Uber_Support" || by == "AmazonHelp";
    let reply_to = reply_to.map_or(String::new(), |p| format!(",\"reply_to\":\"{p}\""));
    format!(
        "{{\"source\":\"twcs\",\"id\":\"{id}\",\"author\":\"{by}\",\"created_at\":\"{at}\"{reply_to},\"mentions\":[\"Uber_Support\"],\"inbound\":{}{extra}}}\n",
        !brand
    )
}

fn month_file(root: &Path, month: &str) -> std::path::PathBuf {
    root.join(format!("data/store/twcs/{month}.jsonl"))
}

/// A store of January to June 2017: closed threads every month, one January thread answered in
/// May (it crosses any line before May), a reply to a post the store lacks, a listed reply the
/// store lacks.
fn half_year() -> tempfile::TempDir {
    let root = common::site();
    let store = root.path().join("data/store");
    fs::create_dir_all(store.join("twcs")).unwrap();
    fs::write(store.join("FORMAT"), "replyrank.store/2\n").unwrap();
    for (m, month) in ["01", "02", "03", "04", "05", "06"].iter().enumerate() {
        let mut text = String::new();
        for k in 0..12 {
            let c = format!("c{month}-{k}");
            let at = format!("2017-{month}-{:02}T09:{:02}:00Z", 2 + k, k);
            text += &line(&c, &format!("cust{}", k % 5), &at, None, "");
            if k % 3 != 0 {
                // Answered 1 h 30 or 2 h 30 later.
                let reply_at = format!(
                    "2017-{month}-{:02}T{:02}:{:02}:00Z",
                    2 + k,
                    9 + k % 3,
                    k + 30
                );
                text += &line(
                    &format!("r{month}-{k}"),
                    "Uber_Support",
                    &reply_at,
                    Some(&c),
                    "",
                );
            }
        }
        if m == 0 {
            text += &line("orphan", "cust1", "2017-01-20T10:00:00Z", Some("gone"), "");
            text += &line(
                "listed",
                "cust2",
                "2017-01-21T10:00:00Z",
                None,
                ",\"replies\":[\"never\"]",
            );
            text += &line("crossing", "cust3", "2017-01-22T10:00:00Z", None, "");
        }
        if m == 4 {
            text += &line(
                "crossing-reply",
                "Uber_Support",
                "2017-05-03T10:00:00Z",
                Some("crossing"),
                "",
            );
        }
        fs::write(store.join("twcs").join(format!("2017-{month}.jsonl")), text).unwrap();
    }
    root
}

#[test]
fn closed_threads_are_sealed_and_the_leaderboard_is_the_full_reads() {
    let root = half_year();
    let cfg = config(root.path(), 30, Version::V2);
    // The newest post is June 13th: the window starts May 14th, so the line is May 1st; April
    // and earlier is sealed, but for the January thread answered in May.
    let lb = same_leaderboard(root.path(), &cfg, None);
    let state = seal_state(root.path(), &cfg);
    assert_eq!(state.line, at("2017-05-01T00:00:00Z"));
    // Four months of 12 complaints and 8 replies, and January's two extra posts but for the
    // crossing one.
    assert_eq!(state.sealed, 4 * 20 + 2);
    let history = lb["history"]["uber"].as_array().unwrap();
    let months: Vec<&str> = history
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(
        months,
        [
            "2017-01", "2017-02", "2017-03", "2017-04", "2017-05", "2017-06"
        ]
    );
    // January: 12 complaints, the orphan and the crossing one (the one whose listed reply the
    // data lacks is left out, as version 2 does).
    assert_eq!(history[0]["complaints"], 14);
    assert_eq!(lb["data_quality"]["missing_parents"], 1);

    // A repeat run reads nothing and seals nothing more.
    let again = seal_state(root.path(), &cfg);
    assert_eq!((again.sealed, again.sealed_now), (state.sealed, 0));
    assert_eq!(again.rebuilt, None);

    // A longer window starts before the line: the store is read in full, then sealed again up
    // to the new line.
    let long = config(root.path(), 60, Version::V2);
    same_leaderboard(root.path(), &long, None);
    assert_eq!(
        seal_state(root.path(), &long).line,
        at("2017-04-01T00:00:00Z")
    );
    // Back to 30 days: the line moves on without a full read.
    same_leaderboard(root.path(), &cfg, None);
    let moved = seal_state(root.path(), &cfg);
    assert_eq!(moved.line, at("2017-05-01T00:00:00Z"));
    assert_eq!((moved.sealed, moved.rebuilt), (state.sealed, None));

    // An as-of in the past, and the other method version, need the sealed threads as posts.
    same_leaderboard(root.path(), &cfg, at("2017-03-20T00:00:00Z"));
    same_leaderboard(root.path(), &config(root.path(), 30, Version::V1), None);
    same_leaderboard(root.path(), &cfg, None);
}

#[test]
fn a_late_reply_into_a_sealed_thread_gives_the_seal_up_and_a_repeated_id_is_not_stored() {
    let root = half_year();
    let cfg = config(root.path(), 30, Version::V2);
    same_leaderboard(root.path(), &cfg, None);
    let sealed = seal_state(root.path(), &cfg).sealed;
    assert!(sealed > 0);

    // A post repeating a sealed id is known as stored: not imported again.
    let out = import(
        root.path(),
        &line("c02-5", "cust0", "2017-02-07T09:05:00Z", None, ""),
    );
    assert!(out.contains("imported 0, duplicates 1"), "{out}");
    let state = seal_state(root.path(), &cfg);
    assert_eq!((state.sealed_now, state.rebuilt), (0, None));

    // A reply in June to a complaint of February (sealed, never answered): the import reads
    // the store again, so the next run seals everything anew.
    let out = import(
        root.path(),
        &line(
            "late",
            "Uber_Support",
            "2017-06-20T10:00:00Z",
            Some("c02-3"),
            "",
        ),
    );
    assert!(out.contains("imported 1, duplicates 0"), "{out}");
    same_leaderboard(root.path(), &cfg, None);
    let state = seal_state(root.path(), &cfg);
    assert_eq!(state.sealed_now, 0, "{state:?}");
    assert_eq!(
        state.sealed,
        sealed - 1,
        "the complaint is live again: {state:?}"
    );

    // The same written straight into the store (as a collector appends): the run sees the new
    // post joins a sealed thread and reads the store in full.
    append(
        &month_file(root.path(), "2017-06"),
        &line(
            "late-2",
            "Uber_Support",
            "2017-06-21T10:00:00Z",
            Some("c03-6"),
            "",
        ),
    );
    assert_read_in_full(root.path(), &cfg, "sealed");
    same_leaderboard(root.path(), &cfg, None);

    // A post the store lacked, named by a sealed post as its parent, arrives.
    append(
        &month_file(root.path(), "2017-06"),
        &line("gone", "cust4", "2017-06-22T10:00:00Z", None, ""),
    );
    assert_read_in_full(root.path(), &cfg, "sealed");
    same_leaderboard(root.path(), &cfg, None);
}

#[test]
fn forgetting_a_sealed_post_gives_the_seal_up() {
    let root = half_year();
    let cfg = config(root.path(), 30, Version::V2);
    let before = same_leaderboard(root.path(), &cfg, None);
    assert!(seal_state(root.path(), &cfg).sealed > 0);
    // `forget` rewrites the partitions that held the author's posts.
    let out = rr(
        root.path(),
        &["forget", "--source", "twcs", "--author", "cust0"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = same_leaderboard(root.path(), &cfg, None);
    assert_ne!(before["history"], after["history"]);
}

/// One change to a store of two sources over a year.
#[derive(Clone, Debug)]
enum Change {
    /// Posts into a month of a source: its newest (`back` = 0) or an earlier one.
    Posts {
        source: usize,
        back: u8,
        posts: Vec<(u8, u8, u8)>,
    },
    /// A new month after the newest of a source.
    NextMonth { source: usize },
    /// The newest month of a source rewritten without its last post (as `forget` does).
    Rewrite { source: usize },
    /// A run with another window, method version or as-of.
    Run {
        window: u8,
        v1: bool,
        days_back: Option<u8>,
    },
}

fn change() -> impl proptest::strategy::Strategy<Value = Change> {
    use proptest::prelude::*;
    prop_oneof![
        5 => (0..2usize, prop_oneof![4 => Just(0u8), 1 => 1..4u8], proptest::collection::vec(any::<(u8, u8, u8)>(), 1..40))
            .prop_map(|(source, back, posts)| Change::Posts { source, back, posts }),
        3 => (0..2usize).prop_map(|source| Change::NextMonth { source }),
        1 => (0..2usize).prop_map(|source| Change::Rewrite { source }),
        1 => (any::<u8>(), any::<bool>(), proptest::option::of(any::<u8>()))
            .prop_map(|(window, v1, days_back)| Change::Run { window, v1, days_back }),
    ]
}

/// A store of two sources changed step by step — threads across months, late replies into
/// old threads, replies to posts the store lacks, repeated ids, templates and deflections,
/// rewritten months — scored after every change through the seal and by a full read.
#[test]
fn any_sequence_of_store_changes_scores_through_the_seal_as_a_full_read() {
    use proptest::prelude::*;
    let config_cases = common::fuzz_config(24);
    // Runs with a seal, and runs where new posts joined a sealed thread.
    let seen = std::sync::Mutex::new((0usize, 0usize));
    proptest!(config_cases, |(changes in proptest::collection::vec(change(), 1..16))| {
        let (root, store) = common::two_source_store(1);
        let sources = common::TWO_SOURCES;
        let mut months = [1u32, 1u32];
        let mut next = 0u32;
        let partition = |s: usize, m: u32| store.join(sources[s]).join(format!("2017-{m:02}.jsonl"));
        let templates = [
            format!("t1:{}", "0123456789abcdef".repeat(4)),
            format!("t1:{}", "fedcba9876543210".repeat(4)),
        ];
        for c in changes {
            let mut run = (config(root.path(), 20, Version::V2), None);
            match c {
                Change::Posts { source: s, back, posts } => {
                    let month = months[s].saturating_sub(u32::from(back)).max(1);
                    let mut text = String::new();
                    for (kind, parent, who) in posts {
                        next += 1;
                        let id = if kind % 13 == 0 && next > 2 { (next / 2).to_string() } else { next.to_string() };
                        // Mostly recent parents, sometimes one far back (into an older thread).
                        let back = if parent % 5 == 0 { u32::from(parent) * 3 } else { u32::from(parent % 6) };
                        let parent_id = match kind % 7 {
                            0 | 1 => None,
                            2 => Some(format!("gone{}", parent % 4)),
                            _ => Some(next.saturating_sub(1 + back).max(1).to_string()),
                        };
                        let brand = kind % 7 >= 4;
                        let author = if brand {
                            ["Uber_Support", "AmazonHelp"][usize::from(who % 2)].to_string()
                        } else {
                            format!("c{}", who % 11)
                        };
                        let class = if brand {
                            let t = &templates[usize::from(who / 2 % 2)];
                            let verdict = if who % 3 == 0 { "deflect" } else { "answer" };
                            format!(",\"classified\":{{\"by\":\"deflect-2\",\"as\":\"{verdict}\",\"rule\":\"r\",\"template\":\"{t}\"}}")
                        } else if who % 9 == 0 {
                            ",\"classified\":{\"by\":\"kind-2\",\"as\":\"praise\",\"rule\":\"r\"}".to_string()
                        } else {
                            String::new()
                        };
                        let listed = if kind % 17 == 3 { format!(",\"replies\":[\"{}\"]", next + 1) } else { String::new() };
                        let mention = ["Uber_Support", "AmazonHelp"][usize::from(kind % 2)];
                        let reply_to = parent_id.map_or(String::new(), |p| format!(",\"reply_to\":\"{p}\""));
                        text += &format!(
                            "{{\"source\":\"{}\",\"id\":\"{id}\",\"author\":\"{author}\",\"created_at\":\"2017-{month:02}-{:02}T{:02}:{:02}:00Z\"{reply_to},\"mentions\":[\"{mention}\"],\"inbound\":{}{class}{listed}}}\n",
                            sources[s], 1 + next % 28, next % 24, u32::from(who) % 60, !brand
                        );
                    }
                    append(&partition(s, month), &text);
                }
                Change::NextMonth { source: s } => {
                    if months[s] < 12 {
                        months[s] += 1;
                        fs::write(partition(s, months[s]), b"").unwrap();
                    }
                }
                Change::Rewrite { source: s } => common::drop_last_line(&partition(s, months[s])),
                Change::Run { window, v1, days_back } => {
                    let version = if v1 { Version::V1 } else { Version::V2 };
                    run.0 = config(root.path(), 5 + u32::from(window % 60), version);
                    let site = SiteRoot::at(root.path());
                    let newest = Corpus::load(&Store::open(&site).unwrap(), &Registry::load(&site).unwrap())
                        .unwrap()
                        .newest();
                    run.1 = days_back.and_then(|d| newest.map(|n| n - i64::from(d) * 86_400));
                }
            }
            let has_posts = Corpus::load(
                &Store::open(&SiteRoot::at(root.path())).unwrap(),
                &Registry::load(&SiteRoot::at(root.path())).unwrap(),
            )
            .unwrap()
            .newest()
            .is_some();
            if has_posts {
                let state = seal_state(root.path(), &run.0);
                let joined = state.rebuilt.as_deref().is_some_and(|w| w.contains("sealed"));
                seen.lock().unwrap().0 += usize::from(state.sealed > 0);
                seen.lock().unwrap().1 += usize::from(joined);
                same_leaderboard(root.path(), &run.0, run.1);
            }
        }
    });
    let (sealed, joined) = seen.into_inner().unwrap();
    assert!(
        sealed > 0 && joined > 0,
        "runs with a seal: {sealed}; new posts joining a sealed thread: {joined}: the test does \
         not exercise sealing"
    );
}

/// The sealed ids live in a file of their own beside the index, read only when posts are
/// added or ids looked up: without it, or with it damaged, those runs read the store in full.
#[test]
fn a_missing_or_damaged_sealed_ids_file_means_a_full_read_when_the_ids_are_needed() {
    let root = half_year();
    let cfg = config(root.path(), 30, Version::V2);
    same_leaderboard(root.path(), &cfg, None);
    let ids = root.path().join("data/index/sealed-ids.bin");
    assert!(ids.exists());

    // A run that adds nothing does not need them.
    fs::remove_file(&ids).unwrap();
    let state = seal_state(root.path(), &cfg);
    assert!(state.sealed > 0 && state.rebuilt.is_none(), "{state:?}");
    same_leaderboard(root.path(), &cfg, None);

    // A run with new posts does: it reads the store in full and seals again.
    append(
        &month_file(root.path(), "2017-06"),
        &line("new", "cust1", "2017-06-23T10:00:00Z", None, ""),
    );
    assert_read_in_full(root.path(), &cfg, "sealed-ids.bin");
    assert!(ids.exists());
    same_leaderboard(root.path(), &cfg, None);

    // An import looks ids up: with the file damaged, it reads the store in full, and still
    // knows a sealed post as stored.
    fs::write(&ids, b"damaged").unwrap();
    let out = import(
        root.path(),
        &line("c02-5", "cust0", "2017-02-07T09:05:00Z", None, ""),
    );
    assert!(out.contains("imported 0, duplicates 1"), "{out}");
    same_leaderboard(root.path(), &cfg, None);
}

/// A damaged length anywhere in the sealed ids (a flipped bit, a crafted file) is found damaged
/// and the store read in full: it never sizes a huge allocation, which would abort the run.
#[test]
fn a_huge_length_anywhere_in_the_sealed_ids_means_a_full_read_not_a_crash() {
    let root = half_year();
    let cfg = config(root.path(), 30, Version::V2);
    same_leaderboard(root.path(), &cfg, None);
    let site = SiteRoot::at(root.path());
    let (index, ids) = (site.index(), root.path().join("data/index/sealed-ids.bin"));
    let (whole_index, whole) = (fs::read(&index).unwrap(), fs::read(&ids).unwrap());
    let registry = Registry::load(&site).unwrap();
    let store = Store::open(&site).unwrap();
    for (at, bytes) in common::a_huge_length_at_each_byte(&whole) {
        fs::write(&index, &whole_index).unwrap();
        fs::write(&ids, &bytes).unwrap();
        let (_, used) = replyrank::corpus::StoredIds::load(&store, &registry, &index).unwrap();
        let why = used.rebuilt.unwrap_or_default();
        assert!(
            why.contains("sealed-ids.bin"),
            "a length at byte {at}: {why:?}"
        );
    }
}
