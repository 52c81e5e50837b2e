//! The store's index (`src/corpus/index.rs`): a run that reads the corpus back from the index
//! and parses only what is new builds the corpus a full read of the store builds, whatever
//! happened to the store in between; and whatever the index cannot vouch for is read again.

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use common::{ok, rr};
use replyrank::corpus::{Corpus, IndexUse};
use replyrank::registry::Registry;
use replyrank::root::SiteRoot;
use replyrank::store::Store;

/// Everything a corpus holds that pairing and scoring read, as text.
fn digest(c: &Corpus) -> String {
    let mut out = String::new();
    out += &format!("sources {:?}\n", c.sources);
    for (i, m) in c.posts.iter().enumerate() {
        let (source, id) = c.id(i as u32);
        out += &format!("{source}/{id} {m:?}\n");
    }
    out += &format!("templates {:?}\n", c.templates);
    out += &format!("quality {}\n", serde_json::to_string(&c.quality).unwrap());
    let mut notices: Vec<String> = c.notices.iter().map(|n| n.to_string()).collect();
    notices.sort();
    out += &format!("notices {notices:#?}\n");
    out
}

/// Loads the store of `root` both ways; asserts the corpora are the same and returns how the
/// index was used.
fn load_both(root: &Path) -> IndexUse {
    let site = SiteRoot::at(root);
    let registry = Registry::load(&site).unwrap();
    let store = Store::open(&site).unwrap();
    let full = Corpus::load(&store, &registry).unwrap();
    let (indexed, used) = Corpus::load_indexed(&store, &registry, &site.index()).unwrap();
    let (a, b) = (digest(&full), digest(&indexed));
    if a != b {
        let first = a
            .lines()
            .zip(b.lines())
            .find(|(x, y)| x != y)
            .map(|(x, y)| format!("full:    {x}\nindexed: {y}"));
        panic!("the indexed corpus differs from a full read ({used:?}):\n{first:?}");
    }
    assert!(used.not_written.is_none(), "{used:?}");
    used
}

fn fast(used: &IndexUse) -> bool {
    used.rebuilt.is_none()
}

fn append(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

/// A site root with the shipped store, its October partition cut to its first 1,000 lines and
/// without December: the rest is "collected later" by the tests.
fn site_with_a_later_month() -> (tempfile::TempDir, Vec<u8>, Vec<u8>) {
    let root = common::shipped_site();
    let twcs = root.path().join("data/store/twcs");
    let nov = fs::read(twcs.join("2017-11.jsonl")).unwrap();
    let cut = nov
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .nth(999)
        .unwrap()
        .0
        + 1;
    fs::write(twcs.join("2017-11.jsonl"), &nov[..cut]).unwrap();
    let dec = fs::read(twcs.join("2017-12.jsonl")).unwrap();
    fs::remove_file(twcs.join("2017-12.jsonl")).unwrap();
    (root, nov[cut..].to_vec(), dec)
}

#[test]
fn appended_lines_and_new_months_are_read_on_top_of_the_index_and_give_the_full_corpus() {
    let (root, rest_of_nov, dec) = site_with_a_later_month();
    let twcs = root.path().join("data/store/twcs");
    let index = SiteRoot::at(root.path()).index();

    // A run killed while writing the index left its temporary file: the next write removes it.
    fs::create_dir_all(index.parent().unwrap()).unwrap();
    let leftover = index.with_extension("tmp-4242");
    fs::write(&leftover, b"half an index").unwrap();
    let first = load_both(root.path());
    assert_eq!(first.rebuilt.as_deref(), Some("no index yet"));
    assert!(!leftover.exists());
    assert_eq!(first.reused_posts, 0);
    assert!(index.is_file());

    // Nothing new: everything from the index, nothing parsed, the index not rewritten.
    let written = fs::metadata(&index).unwrap().modified().unwrap();
    let again = load_both(root.path());
    assert!(fast(&again), "{again:?}");
    assert_eq!(again.parsed_bytes, 0);
    assert_eq!(again.reused_posts, 13 + 3_358 + 1_000);
    assert_eq!(fs::metadata(&index).unwrap().modified().unwrap(), written);

    // Lines appended to the last month: only they are parsed.
    let (half, rest) = rest_of_nov.split_at(
        rest_of_nov
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n')
            .nth(299)
            .unwrap()
            .0
            + 1,
    );
    append(&twcs.join("2017-11.jsonl"), half);
    let tail = load_both(root.path());
    assert!(fast(&tail), "{tail:?}");
    assert_eq!(tail.parsed_bytes, half.len() as u64);

    // A torn line (an interrupted write), then the rest of the month and a new month.
    let torn = &rest[..100];
    append(&twcs.join("2017-11.jsonl"), torn);
    let with_torn = load_both(root.path());
    assert!(fast(&with_torn), "{with_torn:?}");
    assert_eq!(
        with_torn.parsed_bytes, 0,
        "an unfinished line is not covered"
    );
    append(&twcs.join("2017-11.jsonl"), &rest[100..]);
    fs::write(twcs.join("2017-12.jsonl"), &dec).unwrap();
    let more = load_both(root.path());
    assert!(fast(&more), "{more:?}");
    assert_eq!(more.parsed_bytes, (rest.len() + dec.len()) as u64);

    // A damaged line in what is appended: reported by every later run, as by a full read.
    append(
        &twcs.join("2017-12.jsonl"),
        b"{\"source\":\"twcs\",\"id\":\n",
    );
    load_both(root.path());
    let later = load_both(root.path());
    assert!(fast(&later) && later.parsed_bytes == 0, "{later:?}");

    // A copy of the site (a fresh checkout: every file new, the same bytes) uses the index.
    let copy = tempfile::tempdir().unwrap();
    common::copy_dir(root.path(), copy.path());
    let copied = load_both(copy.path());
    assert!(fast(&copied) && copied.parsed_bytes == 0, "{copied:?}");
    let again = load_both(copy.path());
    assert!(fast(&again) && again.parsed_bytes == 0, "{again:?}");

    // The real binary scores the same with and without the index.
    let with_index = ok(rr(root.path(), &["score"]));
    fs::remove_file(&index).unwrap();
    let without = ok(rr(root.path(), &["score"]));
    assert_eq!(with_index, without);
    let verbose = rr(root.path(), &["score", "--verbose"]);
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        stderr.contains("posts from its index, 0.0 MB of JSON Lines parsed"),
        "{stderr}"
    );
}

#[test]
fn what_the_index_cannot_vouch_for_is_read_again_in_full() {
    let (root, rest_of_nov, dec) = site_with_a_later_month();
    let twcs = root.path().join("data/store/twcs");
    let site = SiteRoot::at(root.path());
    load_both(root.path());

    let rebuilt = |expect: &str| {
        let used = load_both(root.path());
        let why = used.rebuilt.clone().unwrap_or_default();
        assert!(why.contains(expect), "expected {expect:?}: {used:?}");
        assert!(fast(&load_both(root.path())), "the index is whole again");
    };

    // A month before the last one grows (a late post collected into it).
    fs::write(twcs.join("2017-12.jsonl"), &dec).unwrap();
    load_both(root.path());
    append(&twcs.join("2017-11.jsonl"), &rest_of_nov);
    rebuilt("2017-11.jsonl grew, and a later month of its source too");

    // A partition rewritten whole (as `forget` does: a new file renamed into place), even
    // with the same length.
    let oct = twcs.join("2017-10.jsonl");
    let text = fs::read_to_string(&oct).unwrap();
    let tmp = twcs.join("2017-10.tmp");
    fs::write(&tmp, text.replace("Uber_Support", "Uber_SUPPORT")).unwrap();
    fs::rename(&tmp, &oct).unwrap();
    rebuilt("2017-10.jsonl was rewritten");

    // The same bytes edited in place (same file, same length).
    let mut bytes = fs::read(&oct).unwrap();
    let at = bytes
        .windows(12)
        .position(|w| w == b"Uber_SUPPORT")
        .unwrap();
    bytes[at..at + 12].copy_from_slice(b"Uber_Support");
    OpenOptions::new()
        .write(true)
        .open(&oct)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    rebuilt("2017-10.jsonl was rewritten");

    // An earlier month appears; a month disappears.
    fs::write(twcs.join("2010-01.jsonl"), b"").unwrap();
    rebuilt("2010-01.jsonl is new among months already indexed");
    fs::remove_file(twcs.join("2010-01.jsonl")).unwrap();
    rebuilt("2010-01.jsonl is gone");

    // A new source that sorts before an indexed one; then one after: read on top. (Written
    // by hand: `import` brings the index up to date itself.)
    let new_source = |name: &str| {
        let dir = root.path().join("data/store").join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("2017-11.jsonl"),
            format!(
                "{{\"source\":\"{name}\",\"id\":\"a1\",\"author\":\"c1\",\"created_at\":\"2017-11-20T10:00:00Z\",\"mentions\":[\"Uber_Support\"],\"inbound\":true}}\n"
            ),
        )
        .unwrap();
    };
    new_source("pairs");
    rebuilt("a new source sorts before an indexed one");
    new_source("zz");
    let on_top = load_both(root.path());
    assert!(fast(&on_top) && on_top.parsed_bytes > 0, "{on_top:?}");

    // Another registry.
    append(
        &site.registry(),
        b"\n# a comment changes nothing, but the index cannot know\n",
    );
    rebuilt("the brand registry changed");

    // A damaged index: a flipped byte, a cut file, another version.
    let index = site.index();
    let mut bytes = fs::read(&index).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    fs::write(&index, &bytes).unwrap();
    rebuilt("the index is damaged");
    let bytes = fs::read(&index).unwrap();
    fs::write(&index, &bytes[..bytes.len() - 9]).unwrap();
    rebuilt("the index is damaged");
    let mut bytes = fs::read(&index).unwrap();
    bytes[16] = bytes[16].wrapping_add(1);
    fs::write(&index, &bytes).unwrap();
    rebuilt("another replyrank version");
}

/// A damaged length anywhere in the index (a flipped bit in a count, a crafted file) is found
/// damaged and the store read in full: it never asks for a huge allocation, which would abort
/// every run until someone deleted the index.
#[test]
fn a_huge_length_anywhere_in_the_index_means_a_full_read_not_a_crash() {
    let (root, store) = common::two_source_store(11);
    let line = |source: &str, id: &str, reply_to: &str, author: &str, at: &str| {
        format!(
            "{{\"source\":\"{source}\",\"id\":\"{id}\",\"author\":\"{author}\",\"created_at\":\"2017-11-{at}Z\"{reply_to},\"mentions\":[\"Uber_Support\"],\"inbound\":true}}\n"
        )
    };
    for source in common::TWO_SOURCES {
        let lines = [
            line(source, "1", "", "ann", "02T10:00:00"),
            line(
                source,
                "2",
                ",\"reply_to\":\"1\"",
                "Uber_Support",
                "02T10:05:00",
            ),
            line(source, "3", ",\"reply_to\":\"9\"", "bob", "03T11:00:00"),
        ];
        fs::write(store.join(source).join("2017-11.jsonl"), lines.concat()).unwrap();
    }
    assert!(
        !fast(&load_both(root.path())),
        "the first load writes the index"
    );
    let index = SiteRoot::at(root.path()).index();
    let whole = fs::read(&index).unwrap();
    for (at, bytes) in common::a_huge_length_at_each_byte(&whole) {
        fs::write(&index, &bytes).unwrap();
        let used = load_both(root.path());
        assert!(used.rebuilt.is_some(), "a length at byte {at}: {used:?}");
    }
}

#[test]
fn an_index_that_cannot_be_written_is_reported_and_the_figures_are_unaffected() {
    let (root, rest_of_nov, _) = site_with_a_later_month();
    let more = root.path().join("more.jsonl");
    fs::write(&more, &rest_of_nov).unwrap();
    let before = ok(rr(root.path(), &["score"]));
    // The index's folder is a file: it cannot be created.
    fs::remove_dir_all(root.path().join("data/index")).unwrap();
    fs::write(root.path().join("data/index"), b"not a folder").unwrap();
    let says_so = |out: &std::process::Output| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("could not write the store's index")
                && stderr.contains("data/index/corpus.bin")
                && stderr.contains("the figures are unaffected"),
            "{stderr}"
        );
    };
    let out = rr(root.path(), &["score"]);
    assert_eq!(ok(out.clone()), before);
    says_so(&out);

    // An import stores its posts all the same, and says the index is behind.
    let import = rr(
        root.path(),
        &["import", more.to_str().unwrap(), "--format", "jsonl"],
    );
    let n = rest_of_nov.iter().filter(|&&b| b == b'\n').count();
    assert!(
        ok(import.clone()).contains(&format!("imported {n}, duplicates 0")),
        "{import:?}"
    );
    says_so(&import);
    fs::remove_file(root.path().join("data/index")).unwrap();
    load_both(root.path());
}

/// `import` de-duplicates against the ids the index holds and leaves the index current, so the
/// next `score` parses nothing; whatever state the index was in before.
#[test]
fn import_deduplicates_through_the_index_and_leaves_it_current() {
    let (root, rest_of_nov, dec) = site_with_a_later_month();
    let twcs = root.path().join("data/store/twcs");
    let index = SiteRoot::at(root.path()).index();
    let import = |lines: &[u8]| -> String {
        let file = root.path().join("import.jsonl");
        fs::write(&file, lines).unwrap();
        ok(rr(
            root.path(),
            &["import", file.to_str().unwrap(), "--format", "jsonl"],
        ))
    };
    let current = || {
        let used = load_both(root.path());
        assert!(fast(&used) && used.parsed_bytes == 0, "{used:?}");
        used.reused_posts
    };
    let stored = 13 + 3_358 + 1_000;
    let lines = |b: &[u8]| b.iter().filter(|&&c| c == b'\n').count();
    let (nov, dec_n) = (lines(&rest_of_nov), lines(&dec));

    // No index yet: import makes one, and the posts it stored are in it.
    assert!(!index.exists());
    let out = import(&rest_of_nov);
    assert!(
        out.contains(&format!("imported {nov}, duplicates 0")),
        "{out}"
    );
    assert_eq!(current(), stored + nov);

    // Again, with November and December: November's posts are known from the index.
    let both = [rest_of_nov.clone(), dec.clone()].concat();
    let out = import(&both);
    assert!(
        out.contains(&format!("imported {dec_n}, duplicates {nov}")),
        "{out}"
    );
    assert_eq!(current(), stored + nov + dec_n);

    // Lines a collector or a person appended after the index was written are parsed on top
    // of it before the import de-duplicates: the index behind the store still finds them.
    let dec_file = twcs.join("2017-12.jsonl");
    let kept = fs::read(&dec_file).unwrap();
    let cut = kept.len() - dec.len() / 2;
    let cut = cut + kept[cut..].iter().position(|&b| b == b'\n').unwrap() + 1;
    fs::write(&dec_file, &kept[..cut]).unwrap();
    load_both(root.path());
    append(&dec_file, &kept[cut..]);
    let out = import(&both);
    assert!(
        out.contains(&format!("imported 0, duplicates {}", nov + dec_n)),
        "{out}"
    );
    assert_eq!(current(), stored + nov + dec_n);

    // A late post imported into November while December exists: the index cannot take it on
    // top (a full read gives November's lines first), so the import reads the store again.
    let late = String::from_utf8(rest_of_nov.clone()).unwrap();
    let late = late.lines().next().unwrap();
    let id = serde_json::from_str::<serde_json::Value>(late).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let late = late.replacen(&format!("\"id\":\"{id}\""), "\"id\":\"late-1\"", 1);
    let out = import(format!("{late}\n").as_bytes());
    assert!(out.contains("imported 1, duplicates 0"), "{out}");
    assert_eq!(current(), stored + nov + dec_n + 1);

    // A damaged or missing index: the store is read in full and nothing is stored twice.
    fs::write(&index, b"damaged").unwrap();
    let out = import(&both);
    assert!(out.contains("imported 0, duplicates"), "{out}");
    fs::remove_file(&index).unwrap();
    let out = import(&dec);
    assert!(
        out.contains(&format!("imported 0, duplicates {dec_n}")),
        "{out}"
    );
    assert_eq!(current(), stored + nov + dec_n + 1);
}

/// One change to a store, as collection, imports, a crash or a person make them.
#[derive(Clone, Debug)]
enum Change {
    /// Posts appended to the newest month of a source (replies to earlier posts, mentions of a
    /// brand, brand replies, duplicates of stored ids).
    Append {
        source: usize,
        posts: Vec<(u8, u8, u8)>,
    },
    /// A new month after the newest of a source.
    NewMonth { source: usize },
    /// An interrupted write: a torn line, completed by the next change.
    Torn { source: usize },
    /// A line that is not a post.
    Damaged { source: usize },
    /// A month rewritten whole (as `forget` does), dropping its last post.
    Rewrite { source: usize },
}

fn change() -> impl proptest::strategy::Strategy<Value = Change> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (0..2usize, proptest::collection::vec(any::<(u8, u8, u8)>(), 1..30))
            .prop_map(|(source, posts)| Change::Append { source, posts }),
        1 => (0..2usize).prop_map(|source| Change::NewMonth { source }),
        1 => (0..2usize).prop_map(|source| Change::Torn { source }),
        1 => (0..2usize).prop_map(|source| Change::Damaged { source }),
        1 => (0..2usize).prop_map(|source| Change::Rewrite { source }),
    ]
}

/// A store of two sources changed step by step: after every change, the indexed load equals a
/// full read of the store.
#[test]
fn any_sequence_of_store_changes_loads_through_the_index_as_a_full_read() {
    use proptest::prelude::*;
    let config = common::fuzz_config(16);
    proptest!(config, |(changes in proptest::collection::vec(change(), 1..10))| {
        let (root, store) = common::two_source_store(10);
        let sources = common::TWO_SOURCES;
        let mut months = [10u32, 10u32];
        let mut next_id = 0u32;
        let mut torn: Option<(usize, String)> = None;
        let partition = |s: usize, m: u32| store.join(sources[s]).join(format!("2017-{m:02}.jsonl"));
        for c in changes {
            // A torn line is completed (or, if its month was rewritten, lost) by the next write.
            if let Some((s, rest)) = torn.take() {
                append(&partition(s, months[s]), rest.as_bytes());
            }
            match c {
                Change::Append { source: s, posts } => {
                    let mut lines = String::new();
                    for (kind, parent, author) in posts {
                        next_id += 1;
                        let id = if kind % 11 == 0 { next_id / 2 } else { next_id };
                        let brand = kind % 3 == 0;
                        let author = if brand { "Uber_Support".to_string() } else { format!("c{}", author % 7) };
                        let reply_to = if kind % 4 != 1 && next_id > 1 {
                            let parent = next_id - 1 - u32::from(parent) % next_id.min(40);
                            format!(",\"reply_to\":\"{parent}\"")
                        } else {
                            String::new()
                        };
                        let day = 1 + (next_id % 27);
                        lines += &format!(
                            "{{\"source\":\"{}\",\"id\":\"{id}\",\"author\":\"{author}\",\"created_at\":\"2017-{:02}-{day:02}T10:{:02}:00Z\"{reply_to},\"mentions\":[\"Uber_Support\"],\"inbound\":{}}}\n",
                            sources[s], months[s], next_id % 60, !brand
                        );
                    }
                    append(&partition(s, months[s]), lines.as_bytes());
                }
                Change::NewMonth { source: s } => {
                    if months[s] < 12 {
                        months[s] += 1;
                        fs::write(partition(s, months[s]), b"").unwrap();
                    }
                }
                Change::Torn { source: s } => {
                    next_id += 1;
                    let line = format!(
                        "{{\"source\":\"{}\",\"id\":\"{next_id}\",\"author\":\"c1\",\"created_at\":\"2017-{:02}-02T11:00:00Z\",\"inbound\":true}}\n",
                        sources[s], months[s]
                    );
                    let (a, b) = line.split_at(20);
                    append(&partition(s, months[s]), a.as_bytes());
                    torn = Some((s, b.to_string()));
                }
                Change::Damaged { source: s } => {
                    append(&partition(s, months[s]), b"{\"source\":\"twcs\"\n");
                }
                Change::Rewrite { source: s } => common::drop_last_line(&partition(s, months[s])),
            }
            load_both(root.path());
        }
    });
}
