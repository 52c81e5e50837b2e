//! The store against its most hostile user: concurrent runs, kill -9, a full disk, symbolic
//! links, a read-only store, damaged and out-of-range lines, endless inputs. Real binary, real
//! files; the tests that need `mount` (root, as in CI) say so and skip when it is not allowed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{ok, rr, site};

const BIN: &str = env!("CARGO_BIN_EXE_replyrank");

/// A TWCS CSV of `ids`: even ids are complaints to @AmericanAir, odd ids its replies two minutes
/// later, ten minutes apart from August 2017 on (several monthly partitions).
fn twcs(path: &Path, ids: std::ops::Range<u64>) -> PathBuf {
    let mut s = String::from(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n",
    );
    for id in ids {
        let t = 1_501_545_600 + (id / 2) as i64 * 600 + (id % 2) as i64 * 120;
        let at = jiff::Timestamp::from_second(t)
            .unwrap()
            .strftime("%a %b %d %H:%M:%S +0000 %Y");
        if id % 2 == 0 {
            s += &format!("{id},c{id},True,{at},@AmericanAir my bag {id} is lost,,\n");
        } else {
            s += &format!(
                "{id},AmericanAir,False,{at},@c{} sorry about that,,{}\n",
                id - 1,
                id - 1
            );
        }
    }
    std::fs::write(path, s).unwrap();
    path.to_path_buf()
}

fn import(root: &Path, file: &Path, format: &str) -> Output {
    rr(
        root,
        &["import", file.to_str().unwrap(), "--format", format],
    )
}

fn spawn(root: &Path, args: &[&str]) -> std::process::Child {
    Command::new(BIN)
        .arg("--root")
        .arg(root)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The partitions of a store.
fn partitions(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let store = root.join("data/store");
    for source in std::fs::read_dir(&store).unwrap() {
        let source = source.unwrap().path();
        if source.is_dir() {
            for f in std::fs::read_dir(&source).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "jsonl") {
                    out.push(f);
                }
            }
        }
    }
    out.sort();
    out
}

/// Every stored line, sorted; each partition must end with a newline.
fn stored(root: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for p in partitions(root) {
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{} ends with a torn line",
            p.display()
        );
        lines.extend(text.lines().map(str::to_string));
    }
    lines.sort();
    lines
}

/// The ids of stored lines, checking each is stored once.
fn ids_once(root: &Path) -> usize {
    let lines = stored(root);
    let mut ids: Vec<String> = lines
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_string()
        })
        .collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "{} ids stored more than once", n - ids.len());
    n
}

#[test]
fn concurrent_imports_and_scores_store_each_post_once() {
    let root = site();
    let data = tempfile::tempdir().unwrap();
    let base = twcs(&data.path().join("base.csv"), 50_000..50_200);
    let a = twcs(&data.path().join("a.csv"), 0..30_000);
    let b = twcs(&data.path().join("b.csv"), 30_000..50_000);
    ok(import(root.path(), &base, "twcs"));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let outs: Vec<(String, tempfile::TempDir)> = (0..2)
        .map(|i| (format!("out{i}"), tempfile::tempdir().unwrap()))
        .collect();
    let mut children = vec![
        spawn(root.path(), &["import", a, "--format", "twcs"]),
        spawn(
            root.path(),
            &["score", "--output", outs[0].1.path().to_str().unwrap()],
        ),
        spawn(root.path(), &["import", a, "--format", "twcs"]),
        spawn(root.path(), &["import", b, "--format", "twcs"]),
        spawn(
            root.path(),
            &["score", "--output", outs[1].1.path().to_str().unwrap()],
        ),
    ];
    let outputs: Vec<Output> = children
        .drain(..)
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        let err = stderr(out);
        assert!(out.status.success(), "{}\n{err}", stdout(out));
        assert!(
            !err.contains("unfinished") && !err.contains("not a valid post"),
            "a reader saw a half-written store: {err}"
        );
    }
    assert_eq!(ids_once(root.path()), 50_200);
    // Of the two imports of a.csv, one stored it and the other found only duplicates.
    let imported: Vec<String> = [&outputs[0], &outputs[2]]
        .iter()
        .map(|o| stdout(o))
        .collect();
    assert!(
        imported
            .iter()
            .any(|s| s.contains("imported 30000, duplicates 0"))
            && imported
                .iter()
                .any(|s| s.contains("imported 0, duplicates 30000")),
        "{imported:?}"
    );
}

#[test]
fn kill_9_during_import_then_rerun_stores_every_post_once() {
    let data = tempfile::tempdir().unwrap();
    let file = twcs(&data.path().join("big.csv"), 0..40_000);
    let clean = site();
    let started = Instant::now();
    ok(import(clean.path(), &file, "twcs"));
    let full = started.elapsed();
    let expected = stored(clean.path());
    assert_eq!(expected.len(), 40_000);

    let root = site();
    let mut seed: u64 = 20_171_031;
    let mut killed = 0;
    for _ in 0..6 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let fraction = (seed >> 11) as f64 / (1u64 << 53) as f64;
        let mut child = spawn(
            root.path(),
            &["import", file.to_str().unwrap(), "--format", "twcs"],
        );
        std::thread::sleep(full.mul_f64(fraction));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    assert!(killed >= 3, "only {killed} runs were killed midway");
    let out = import(root.path(), &file, "twcs");
    ok(out);
    assert_eq!(
        stored(root.path()),
        expected,
        "the store differs from a clean import"
    );
    ids_once(root.path());
}

#[test]
fn a_reader_waits_for_a_writer_and_says_so_once() {
    let root = site();
    let data = tempfile::tempdir().unwrap();
    ok(import(
        root.path(),
        &twcs(&data.path().join("a.csv"), 0..100),
        "twcs",
    ));
    let writer =
        replyrank::store::Store::open_for_writing(&replyrank::root::SiteRoot::at(root.path()))
            .unwrap();
    let mut child = spawn(root.path(), &["score"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "score did not wait");
    drop(writer);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.matches("waiting for another replyrank writing the store")
            .count(),
        1,
        "{err}"
    );
}

#[test]
fn symlinked_partition_is_skipped_and_the_file_it_points_to_never_changes() {
    let root = site();
    let data = tempfile::tempdir().unwrap();
    let csv = twcs(&data.path().join("a.csv"), 0..100);
    ok(import(root.path(), &csv, "twcs"));
    let victim = data.path().join("victim.txt");
    std::fs::write(&victim, "precious text without a final newline").unwrap();
    let link = root.path().join("data/store/twcs/2099-01.jsonl");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    // And a FIFO where a partition should be, which must not block anyone.
    let fifo = root.path().join("data/store/twcs/2017-09.jsonl");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (csv_arg, limit) = (csv.to_str().unwrap(), Duration::from_secs(60));
    for out in [
        run_within(root.path(), &["score"], limit),
        run_within(root.path(), &["import", csv_arg, "--format", "twcs"], limit),
    ] {
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains("2099-01.jsonl: skipped a symbolic link")
                && err.contains("2017-09.jsonl: skipped something that is neither a file"),
            "{err}"
        );
    }
    // Writing to it fails clearly instead of blocking.
    let september = data.path().join("sept.jsonl");
    std::fs::write(
        &september,
        "{\"source\":\"twcs\",\"id\":\"s1\",\"author\":\"a\",\"created_at\":\"2017-09-30T22:10:47Z\"}\n",
    )
    .unwrap();
    let out = run_within(
        root.path(),
        &["import", september.to_str().unwrap(), "--format", "jsonl"],
        limit,
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("2017-09.jsonl for appending: it is a FIFO"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious text without a final newline"
    );

    // A linked source directory is never written through.
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), root.path().join("data/store/evil")).unwrap();
    let post = data.path().join("evil.jsonl");
    std::fs::write(
        &post,
        "{\"source\":\"evil\",\"id\":\"1\",\"author\":\"a\",\"created_at\":\"2017-10-31T22:10:47Z\"}\n",
    )
    .unwrap();
    let out = import(root.path(), &post, "jsonl");
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("data/store/evil is a symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

/// A tmpfs mounted for a test (root only), unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let done = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(Stdio::null())
            .status();
        match done {
            Ok(s) if s.success() => Some(Tmpfs(at.to_path_buf())),
            _ => {
                eprintln!("skipped: mounting a tmpfs is not permitted here (needs root)");
                None
            }
        }
    }

    fn remount(&self, options: &str) {
        let s = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(s.success(), "remount {options}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn score_and_build_work_on_a_read_only_store() {
    let root = common::shipped_site();
    let data = root.path().join("data");
    let saved = tempfile::tempdir().unwrap();
    common::copy_dir(&data, saved.path());
    std::fs::remove_dir_all(&data).unwrap();
    let Some(mount) = Tmpfs::mount(&data, "16m") else {
        return;
    };
    common::copy_dir(saved.path(), &data);
    // A torn last line too, which a reader must skip without repairing.
    let part = data.join("store/twcs/2017-12.jsonl");
    let mut bytes = std::fs::read(&part).unwrap();
    bytes.extend_from_slice(b"{\"source\":\"twcs\",\"id\":\"9");
    std::fs::write(&part, &bytes).unwrap();
    mount.remount("ro");
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().to_str().unwrap();
    let scored = rr(root.path(), &["score", "--output", out]);
    assert!(scored.status.success(), "{}", stderr(&scored));
    assert!(stderr(&scored).contains("2017-12.jsonl:30: skipped an unfinished last line"));
    // The store's index (beside the store, under data/) cannot be written: said, not fatal.
    assert!(
        stderr(&scored).contains("could not write the store's index"),
        "{}",
        stderr(&scored)
    );
    let built = rr(root.path(), &["build", "--output", out]);
    assert!(built.status.success(), "{}", stderr(&built));
    assert_eq!(std::fs::read(&part).unwrap(), bytes);
}

#[test]
fn full_disk_import_says_what_was_stored_and_leaves_the_store_whole() {
    let root = site();
    let data = tempfile::tempdir().unwrap();
    let file = twcs(&data.path().join("a.csv"), 0..6000);
    let Some(mount) = Tmpfs::mount(&root.path().join("data/store"), "256k") else {
        return;
    };
    let out = import(root.path(), &file, "twcs");
    let (out_text, err) = (stdout(&out), stderr(&out));
    assert!(!out.status.success(), "{out_text}");
    let kept = ids_once(root.path());
    assert!(kept > 0 && kept < 6000, "{kept}");
    assert!(
        out_text.contains(&format!("read 6000, imported {kept}, duplicates 0")),
        "{out_text}"
    );
    assert!(
        err.contains(&format!("stopped after storing {kept} post(s)"))
            && err.contains("data/store/twcs/2017-")
            && err.contains("No space left"),
        "{err}"
    );
    assert!(!err.contains("nothing from them was stored"), "{err}");
    let scored = rr(
        root.path(),
        &["score", "--output", data.path().to_str().unwrap()],
    );
    assert!(scored.status.success(), "{}", stderr(&scored));
    assert!(
        !stderr(&scored).contains("unfinished"),
        "{}",
        stderr(&scored)
    );

    mount.remount("size=16m");
    let out = ok(import(root.path(), &file, "twcs"));
    assert!(
        out.contains(&format!("imported {}, duplicates {kept}", 6000 - kept)),
        "{out}"
    );
    assert_eq!(ids_once(root.path()), 6000);
}

#[test]
fn reimport_brings_back_a_post_whose_stored_line_is_invalid() {
    let root = site();
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("one.jsonl");
    let line = "{\"source\":\"twcs\",\"id\":\"77\",\"author\":\"a\",\"created_at\":\"2017-10-31T22:10:47Z\",\"inbound\":true}\n";
    std::fs::write(&file, line).unwrap();
    ok(import(root.path(), &file, "jsonl"));
    let part = root.path().join("data/store/twcs/2017-10.jsonl");
    let other = line.replace("\"77\"", "\"78\"");
    std::fs::write(&part, line.replace("true", "\"yes\"") + &other).unwrap();
    let scored = rr(root.path(), &["score"]);
    assert!(stderr(&scored).contains("2017-10.jsonl:1: skipped a line that is not a valid post"));
    let out = ok(import(root.path(), &file, "jsonl"));
    assert!(out.contains("imported 1, duplicates 0"), "{out}");
}

#[test]
fn times_outside_the_sane_years_are_rejected_at_import_with_file_line() {
    let root = site();
    let data = tempfile::tempdir().unwrap();
    let pairs = data.path().join("p.csv");
    std::fs::write(
        &pairs,
        "brand,complaint_id,complaint_at,reply_at\n\
         american-airlines,1,9223372036854775807,\n\
         american-airlines,2,2017-10-31T10:00:00Z,-9223372036854775808\n\
         american-airlines,3,2017-10-31T10:00:00Z,2017-10-31T11:00:00Z\n",
    )
    .unwrap();
    let out = ok(import(root.path(), &pairs, "pairs"));
    let p = pairs.display();
    assert!(out.contains("imported 2"), "{out}");
    assert!(out.contains("outside the years 1990..=2100"), "{out}");
    assert!(
        out.contains(&format!("{p}:2")) && out.contains(&format!("{p}:3")),
        "{out}"
    );
    let names: Vec<String> = partitions(root.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["2017-10.jsonl"]);

    let jsonl = data.path().join("far.jsonl");
    std::fs::write(
        &jsonl,
        "{\"source\":\"twcs\",\"id\":\"1\",\"author\":\"a\",\"created_at\":\"9999-01-01T00:00:00Z\"}\n",
    )
    .unwrap();
    let out = ok(import(root.path(), &jsonl, "jsonl"));
    assert!(
        out.contains(&format!("{}:1", jsonl.display())) && out.contains("outside the years"),
        "{out}"
    );
}

/// Runs the binary, failing the test if it has not ended within `limit`.
fn run_within(root: &Path, args: &[&str], limit: Duration) -> Output {
    let mut child = spawn(root, args);
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("{args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn import_refuses_devices_and_fifos_instead_of_hanging() {
    let root = site();
    let data = tempfile::tempdir().unwrap();
    let fifo = data.path().join("pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for format in ["twcs", "pairs", "jsonl"] {
        for (file, what) in [
            ("/dev/zero", "a device"),
            (fifo.to_str().unwrap(), "a FIFO"),
        ] {
            let out = run_within(
                root.path(),
                &["import", file, "--format", format],
                Duration::from_secs(20),
            );
            let err = stderr(&out);
            assert!(!out.status.success());
            assert!(err.contains(&format!("{file} is {what}")), "{err}");
        }
    }
}

#[test]
fn overlong_lines_and_records_are_rejected_with_file_line() {
    let root = site();
    let data = tempfile::tempdir().unwrap();
    let big = "x".repeat(3 << 20);
    let post = |id: u32| {
        format!(
            "{{\"source\":\"twcs\",\"id\":\"{id}\",\"author\":\"a\",\"created_at\":\"2017-10-31T22:10:47Z\"}}\n"
        )
    };
    let jsonl = data.path().join("long.jsonl");
    std::fs::write(&jsonl, format!("{}{big}\n{}", post(1), post(2))).unwrap();
    let out = ok(import(root.path(), &jsonl, "jsonl"));
    assert!(out.contains("imported 2"), "{out}");
    assert!(
        out.contains("longer than 1 MiB") && out.contains(&format!("{}:2", jsonl.display())),
        "{out}"
    );

    // An unclosed quote: the record is cut at 1 MiB (plus the reader's buffer), rejected, and
    // reading goes on at the next line.
    let csv = data.path().join("long.csv");
    std::fs::write(
        &csv,
        format!(
            "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n\
             10,c10,True,Tue Oct 31 22:10:47 +0000 2017,hello,,\n\
             11,c11,True,Tue Oct 31 22:10:47 +0000 2017,\"{big}\n\
             12,c12,True,Tue Oct 31 22:10:47 +0000 2017,hello,,\n"
        ),
    )
    .unwrap();
    let out = ok(import(root.path(), &csv, "twcs"));
    assert!(out.contains("imported 2"), "{out}");
    assert!(
        out.contains("record longer than 1 MiB") && out.contains(&format!("{}:3", csv.display())),
        "{out}"
    );
    let pairs = data.path().join("long_pairs.csv");
    std::fs::write(
        &pairs,
        format!(
            "brand,complaint_id,complaint_at,reply_at\n\
             american-airlines,1,2017-10-31T10:00:00Z,\n\
             american-airlines,{big},2017-10-31T10:00:00Z,\n\
             american-airlines,3,2017-10-31T10:00:00Z,\n"
        ),
    )
    .unwrap();
    let out = ok(import(root.path(), &pairs, "pairs"));
    assert!(out.contains("imported 2"), "{out}");
    assert!(out.contains(&format!("{}:3", pairs.display())), "{out}");
}

#[test]
fn future_dated_post_does_not_move_the_default_as_of() {
    let root = common::shipped_site();
    ok(rr(root.path(), &["score"]));
    let lb = |root: &Path| -> serde_json::Value { common::leaderboard(root) };
    let before = lb(root.path());
    let ranked = |v: &serde_json::Value| {
        v["brands"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["eligible"] == true)
            .count()
    };
    assert!(ranked(&before) > 0);
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("future.jsonl");
    std::fs::write(
        &file,
        "{\"source\":\"twcs\",\"id\":\"f1\",\"author\":\"a\",\"created_at\":\"2099-06-01T00:00:00Z\"}\n",
    )
    .unwrap();
    ok(import(root.path(), &file, "jsonl"));
    let out = rr(root.path(), &["score"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("1 post(s) are dated after now (the latest 2099-06-01T00:00:00Z)"),
        "{err}"
    );
    let after = lb(root.path());
    assert_eq!(after["as_of"], before["as_of"]);
    assert_eq!(ranked(&after), ranked(&before));
}

#[test]
fn as_of_outside_the_years_fails_naming_the_option() {
    let root = common::shipped_site();
    let out = rr(root.path(), &["score", "--as-of", "9999-12-31"]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("--as-of") && err.contains("outside the years"),
        "{err}"
    );
    let out = rr(root.path(), &["build", "--as-of=-009999-01-05"]);
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(err.contains("--as-of"), "{err}");
    assert!(!root.path().join("public/archive/-009999-01").exists());
    let out = rr(root.path(), &["score", "--as-of", "next tuesday"]);
    assert!(
        stderr(&out).contains("--as-of: \"next tuesday\" is not"),
        "{}",
        stderr(&out)
    );
}
