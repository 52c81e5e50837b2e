//! `replyrank forget`, `migrate` and the stores' split, with the real binary on real files:
//! a post, an author, a kill -9 midway, a post imported again after it was forgotten, and a
//! version-1 store turned into the two stores.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod common;

use common::{TEST_KEY, ok, rr, site};
use replyrank::publish::Pseudonymiser;

fn key() -> Pseudonymiser {
    Pseudonymiser::new(TEST_KEY.as_bytes()).unwrap()
}

/// Every line of every partition of a store folder, sorted.
fn lines(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(sources) = std::fs::read_dir(dir) else {
        return out;
    };
    for s in sources {
        let s = s.unwrap().path();
        if !s.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&s).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "jsonl") {
                out.extend(
                    std::fs::read_to_string(&f)
                        .unwrap()
                        .lines()
                        .map(String::from),
                );
            }
        }
    }
    out.sort();
    out
}

/// X posts as the `jsonl` import reads them: Tim's and Ann's complaints to @AmericanAir (ids
/// 1001–1006) and the brand's replies (2001–2006).
fn x_posts(dir: &Path) -> PathBuf {
    let mut s = String::new();
    for i in 1..=6 {
        let who = if i <= 3 { "tim" } else { "ann" };
        let t = 1_700_000_000 + i * 3_600;
        let at = |t: i64| jiff::Timestamp::from_second(t).unwrap().to_string();
        s += &format!(
            r#"{{"source":"x","id":"100{i}","author":"{who}","created_at":"{}","text":"@AmericanAir my bag number {i} is lost since Tuesday","mentions":["AmericanAir"]}}"#,
            at(t)
        );
        s.push('\n');
        s += &format!(
            r#"{{"source":"x","id":"200{i}","author":"AmericanAir","created_at":"{}","reply_to":"100{i}","text":"@{who} sorry, we are looking into it","mentions":["{who}"]}}"#,
            at(t + 300)
        );
        s.push('\n');
    }
    let path = dir.join("x.jsonl");
    std::fs::write(&path, s).unwrap();
    path
}

fn import(root: &Path, file: &Path, format: &str) -> String {
    ok(rr(
        root,
        &["import", file.to_str().unwrap(), "--format", format],
    ))
}

#[test]
fn collected_posts_are_published_as_pseudonyms_and_kept_raw_in_private() {
    let root = site();
    let file = x_posts(root.path());
    import(root.path(), &file, "jsonl");
    let published = lines(&root.path().join("data/store"));
    let private = lines(&root.path().join("data/private"));
    assert_eq!((published.len(), private.len()), (12, 12));
    let all = published.join("\n");
    for secret in ["1001", "tim", "ann", "bag number", "looking into"] {
        assert!(!all.contains(secret), "{secret:?} published");
    }
    let k = key();
    let reply: serde_json::Value = published
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|p| p["network_id"] == "2001")
        .unwrap();
    assert_eq!(reply["id"], k.post("x", "2001"));
    assert_eq!(reply["reply_to"], k.post("x", "1001"));
    assert_eq!(reply["author"], "AmericanAir");
    assert!(
        reply.get("mentions").is_none(),
        "a customer mentioned: {reply}"
    );
    assert!(private.join("\n").contains("bag number 1 is lost"));

    // Without the key, nothing is written and the error says what to set.
    let out = Command::new(common::bin())
        .arg("--root")
        .arg(root.path())
        .args(["import", file.to_str().unwrap(), "--format", "jsonl"])
        .env_remove("REPLYRANK_PSEUDONYM_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("set it to a secret of at least 32 bytes") || err.contains("Set it"),
        "{err}"
    );
    assert_eq!(lines(&root.path().join("data/store")), published);
}

#[test]
fn forget_a_post_then_an_author_and_they_never_come_back() {
    let root = site();
    let file = x_posts(root.path());
    import(root.path(), &file, "jsonl");
    let k = key();

    let said = ok(rr(
        root.path(),
        &["forget", "https://x.com/tim/status/1001?s=20"],
    ));
    assert!(
        said.contains("removed 1 post(s) from the published store and 1 from the private"),
        "{said}"
    );
    let published = lines(&root.path().join("data/store")).join("\n");
    let private = lines(&root.path().join("data/private")).join("\n");
    // The brand's reply stays, still pointing at the forgotten complaint's pseudonym.
    assert!(published.contains(&format!("\"reply_to\":\"{}\"", k.post("x", "1001"))));
    assert!(!published.contains(&format!("\"id\":\"{}\"", k.post("x", "1001"))));
    assert!(!private.contains("\"id\":\"1001\""));
    assert!(private.contains("\"id\":\"1002\""), "nothing else is gone");
    assert_eq!(lines(&root.path().join("data/store")).len(), 11);

    let said = ok(rr(root.path(), &["forget", "@Ann"]));
    assert!(
        said.contains("removed 3 post(s) from the published store and 3 from the private"),
        "{said}"
    );
    let private = lines(&root.path().join("data/private")).join("\n");
    assert!(!private.contains("\"author\":\"ann\""));
    assert!(
        private.contains("\"author\":\"AmericanAir\""),
        "the brand's replies stay"
    );
    assert_eq!(lines(&root.path().join("data/store")).len(), 8);

    // The record names no one: pseudonyms only.
    let record = std::fs::read_to_string(root.path().join("data/store/forgotten.jsonl")).unwrap();
    assert_eq!(
        record.lines().count(),
        2,
        "a post, and an author on the one stored source"
    );
    for secret in ["1001", "tim", "ann", "Ann"] {
        assert!(!record.contains(secret), "{secret:?} in {record}");
    }

    // Imported (or collected) again: left out.
    let said = import(root.path(), &file, "jsonl");
    assert!(said.contains("left out 4 forgotten"), "{said}");
    assert_eq!(lines(&root.path().join("data/store")).len(), 8);
    assert!(
        !lines(&root.path().join("data/private"))
            .join("\n")
            .contains("\"id\":\"1001\"")
    );
    ok(rr(root.path(), &["score"]));
}

/// A TWCS CSV whose customer `c7` complains in every month, among `n` rows (a complaint and
/// its reply every ten minutes from August 2017).
fn twcs(path: &Path, n: u64) -> PathBuf {
    let mut s = String::from(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n",
    );
    for id in 0..n {
        let t = 1_501_545_600 + (id / 2) as i64 * 600 + (id % 2) as i64 * 120;
        let at = jiff::Timestamp::from_second(t)
            .unwrap()
            .strftime("%a %b %d %H:%M:%S +0000 %Y");
        let who = format!("c{}", (id / 2) % 997);
        if id % 2 == 0 {
            s += &format!("{id},{who},True,{at},@AmericanAir my bag {id} is lost,,\n");
        } else {
            s += &format!(
                "{id},AmericanAir,False,{at},@{who} sorry about that,,{}\n",
                id - 1
            );
        }
    }
    std::fs::write(path, s).unwrap();
    path.to_path_buf()
}

#[test]
fn forget_killed_midway_then_rerun_removes_the_author_and_nothing_else() {
    let data = tempfile::tempdir().unwrap();
    let file = twcs(&data.path().join("big.csv"), 80_000);
    let pristine = site();
    import(pristine.path(), &file, "twcs");
    let store_of = |root: &Path| root.join("data/store");
    let fresh = || {
        let root = site();
        common::copy_dir(&store_of(pristine.path()), &store_of(root.path()));
        root
    };
    let before = lines(&store_of(pristine.path()));
    let is_c7 = |l: &String| l.contains("\"author\":\"c7\"");
    let expected: Vec<String> = before.iter().filter(|l| !is_c7(l)).cloned().collect();
    assert!(
        before.len() - expected.len() >= 40,
        "c7 posts in every month"
    );
    let clean = fresh();
    let started = Instant::now();
    ok(rr(
        clean.path(),
        &["forget", "--source", "twcs", "--author", "c7"],
    ));
    let full = started.elapsed();
    assert_eq!(lines(&store_of(clean.path())), expected);

    let mut killed = 0;
    let mut last = None;
    for i in 0..6 {
        let root = fresh();
        let mut child = Command::new(common::bin())
            .env("REPLYRANK_PSEUDONYM_KEY", TEST_KEY)
            .arg("--root")
            .arg(root.path())
            .args(["forget", "--source", "twcs", "--author", "c7"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(0.15 * f64::from(i) + 0.05));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Whatever the moment: every partition is whole, and only c7's posts may be missing.
        let now = lines(&store_of(root.path()));
        assert!(
            now.iter()
                .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        );
        assert!(
            expected.iter().all(|l| now.binary_search(l).is_ok()),
            "a post of someone else is gone"
        );
        last = Some(root);
    }
    assert!(killed >= 3, "only {killed} runs were killed midway");
    let root = last.unwrap();
    ok(rr(
        root.path(),
        &["forget", "--source", "twcs", "--author", "c7"],
    ));
    assert_eq!(lines(&store_of(root.path())), expected);
}

#[test]
fn a_version_1_store_is_refused_until_migrated_then_split_in_two() {
    let root = site();
    // A version-1 store: TWCS as it is, and X posts raw, with cursors in data/state.
    let v1 = root.path().join("data/store");
    std::fs::create_dir_all(v1.join("x")).unwrap();
    std::fs::create_dir_all(root.path().join("data/state")).unwrap();
    std::fs::write(v1.join("FORMAT"), "replyrank.store/1\n").unwrap();
    let xs = std::fs::read_to_string(x_posts(root.path())).unwrap();
    std::fs::write(v1.join("x/2023-11.jsonl"), &xs).unwrap();
    std::fs::write(
        root.path().join("data/state/cursors.json"),
        r#"{"x":{"americanair":{"feeds":{"mentions":{"newest":"1006"}}}}}"#,
    )
    .unwrap();

    for cmd in [&["score"][..], &["build"][..]] {
        let out = rr(root.path(), cmd);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Run `replyrank migrate`"), "{err}");
    }
    let out = Command::new(common::bin())
        .arg("--root")
        .arg(root.path())
        .arg("migrate")
        .env_remove("REPLYRANK_PSEUDONYM_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("REPLYRANK_PSEUDONYM_KEY"));

    let said = ok(rr(root.path(), &["migrate"]));
    assert!(
        said.contains("1 partition(s)") && said.contains("12 raw post(s)"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(v1.join("FORMAT")).unwrap(),
        "replyrank.store/2\n"
    );
    assert!(!root.path().join("data/state/cursors.json").exists());
    assert!(root.path().join("data/private/cursors.json").exists());
    let published = lines(&v1).join("\n");
    assert!(!published.contains("bag number") && !published.contains("\"tim\""));
    assert_eq!(lines(&root.path().join("data/private")).len(), 12);
    ok(rr(root.path(), &["score"]));
    let store = v1.to_str().unwrap();
    let audit = ok(rr(root.path(), &["audit", store]));
    assert!(
        audit.contains("traces of 6 customer post(s): none found"),
        "{audit}"
    );
    let again = rr(root.path(), &["migrate"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to migrate"));
}

#[test]
fn the_publishing_workflow_audits_before_it_commits_or_deploys_and_never_commits_private_data() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wf = std::fs::read_to_string(repo.join(".github/workflows/publish.yml")).unwrap();
    let at = |s: &str| {
        wf.find(s)
            .unwrap_or_else(|| panic!("no {s:?} in the workflow"))
    };
    assert!(at("actions/cache/restore") < at("replyrank collect"));
    // Collect de-duplicates through the store's index and brings it up to date.
    assert!(at("path: data/index") < at("replyrank collect"));
    assert!(at("replyrank build") < at("replyrank audit data/store data/state public"));
    assert!(at("replyrank audit") < at("git commit"));
    assert!(at("replyrank audit") < at("upload-pages-artifact"));
    assert!(at("test -n \"$REPLYRANK_PSEUDONYM_KEY\"") < at("replyrank collect"));
    let adds: Vec<&str> = wf.lines().filter(|l| l.contains("git add")).collect();
    assert_eq!(
        adds,
        [
            "          git add data/store data/state",
            "          cp -r \"$GITHUB_WORKSPACE/public/archive\" . && git add archive"
        ]
    );
    let ignore = std::fs::read_to_string(repo.join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "/data/private/"));
}

#[test]
fn an_opted_out_author_is_stored_without_text_and_published_lines_import_as_they_are() {
    let root = site();
    let dir = root.path();
    std::fs::write(
        dir.join("optout.jsonl"),
        concat!(
            r#"{"source":"mastodon","id":"m.social:1","author":"quiet@m.social","created_at":"2026-11-01T10:00:00Z","text":"@help my parcel never arrived, three weeks now","opted_out":true}"#,
            "\n"
        ),
    )
    .unwrap();
    import(dir, &dir.join("optout.jsonl"), "jsonl");
    let private = lines(&dir.join("data/private"));
    assert_eq!(private.len(), 1);
    assert!(!private[0].contains("parcel") && private[0].contains("\"opted_out\":true"));
    let published = lines(&dir.join("data/store"));
    assert!(
        published[0].contains("\"classified\""),
        "classified in memory: {}",
        published[0]
    );

    // A published store's lines imported into another site stay as they are.
    let other = site();
    let copy = other.path().join("published.jsonl");
    std::fs::write(&copy, published.join("\n") + "\n").unwrap();
    import(other.path(), &copy, "jsonl");
    assert_eq!(lines(&other.path().join("data/store")), published);
    assert!(lines(&other.path().join("data/private")).is_empty());
}
