//! `replyrank eval` on real files: a tiny store in a temporary site root, the shipped labels
//! against the shipped store, and bad label files.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

mod common;

use common::{ok, rr, shipped_site};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A site root whose store holds four made-up posts of source `twcs`, one without text.
fn tiny_site() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let store = root.path().join("data/store");
    std::fs::create_dir_all(store.join("twcs")).unwrap();
    std::fs::write(store.join("FORMAT"), "replyrank.store/2\n").unwrap();
    let posts = [
        r#"{"source":"twcs","id":"1","author":"Brand","created_at":"2017-10-01T10:00:00Z","text":"@9 Please DM us your order number."}"#,
        r#"{"source":"twcs","id":"2","author":"Brand","created_at":"2017-10-01T10:01:00Z","text":"@9 The outage is fixed now, sorry for the wait."}"#,
        r#"{"source":"twcs","id":"3","author":"Brand","created_at":"2017-10-01T10:02:00Z","text":"@9 Thanks for the DM, glad we could help!"}"#,
        r#"{"source":"twcs","id":"4","author":"Brand","created_at":"2017-10-01T10:03:00Z"}"#,
        r#"{"source":"twcs","id":"5","author":"9","created_at":"2017-10-01T10:04:00Z","text":"@Brand my parcel never arrived"}"#,
        r#"{"source":"twcs","id":"6","author":"9","created_at":"2017-10-01T10:05:00Z","text":"@Brand do you deliver on Sundays?"}"#,
        r#"{"source":"twcs","id":"7","author":"9","created_at":"2017-10-01T10:06:00Z","text":"Love the new store, thank you @Brand"}"#,
    ];
    std::fs::write(store.join("twcs/2017-10.jsonl"), posts.join("\n") + "\n").unwrap();
    root
}

fn labels(root: &Path, name: &str, text: &str) -> String {
    let path = root.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn eval_json(root: &Path, labels: &str) -> Value {
    let out = ok(rr(root, &["eval", "--labels", labels, "--json"]));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn eval_json_has_the_documented_shape_and_counts_missing_ids() {
    let site = tiny_site();
    // 3 deflects wrongly ("thanks for the DM" is not a deflection); 4 has no text; 99 is not
    // in the store: both are missing, not dropped.
    let file = labels(
        site.path(),
        "replies.csv",
        "tweet_id,deflect\n1,1\n2,0\n3,1\n4,1\n99,0\n",
    );
    assert_eq!(
        eval_json(site.path(), &file),
        json!({
            "task": "deflect",
            "n": 3,
            "missing": 2,
            "accuracy": 2.0 / 3.0,
            "classes": {
                "1": {"precision": 1.0, "recall": 0.5, "support": 2},
                "0": {"precision": 0.5, "recall": 1.0, "support": 1}
            }
        })
    );
}

#[test]
fn eval_kind_reports_needs_reply_and_null_for_undefined_precision() {
    let site = tiny_site();
    let file = labels(
        site.path(),
        "inbound.csv",
        "tweet_id,kind,lang\n5,complaint,en\n6,request,en\n7,other,und\n",
    );
    // Nothing is predicted "other", so its precision is undefined: null, not 0.
    assert_eq!(
        eval_json(site.path(), &file),
        json!({
            "task": "kind",
            "n": 3,
            "missing": 0,
            "accuracy": 2.0 / 3.0,
            "classes": {
                "complaint": {"precision": 1.0, "recall": 1.0, "support": 1},
                "request": {"precision": 1.0, "recall": 1.0, "support": 1},
                "praise": {"precision": 0.0, "recall": null, "support": 0},
                "other": {"precision": null, "recall": 0.0, "support": 1}
            },
            "needs_reply": {
                "accuracy": 1.0,
                "classes": {
                    "yes": {"precision": 1.0, "recall": 1.0, "support": 2},
                    "no": {"precision": 1.0, "recall": 1.0, "support": 1}
                }
            }
        })
    );
    let text = ok(rr(site.path(), &["eval", "--labels", &file]));
    assert!(
        text.starts_with(&format!(
            "{}: 3 labelled posts, 3 classified, 0 missing",
            replyrank::classify::KIND_VERSION
        )),
        "{text}"
    );
    assert!(
        text.contains("needs a reply (yes = complaint or request"),
        "{text}"
    );
}

#[test]
fn eval_bad_label_file_names_file_and_line() {
    let site = tiny_site();
    let file = labels(site.path(), "bad.csv", "tweet_id,deflect\n1,1\n2,maybe\n");
    let out = rr(site.path(), &["eval", "--labels", &file]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{file}:3: deflect is \"maybe\"; expected 0 or 1")),
        "{err}"
    );
    let out = rr(
        site.path(),
        &["eval", "--labels", &file.replace("bad", "absent")],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read label file"));
}

#[test]
fn eval_unknown_source_is_an_error_not_all_missing() {
    let site = tiny_site();
    let file = labels(site.path(), "r.csv", "tweet_id,deflect\n1,1\n");
    let out = rr(
        site.path(),
        &["eval", "--labels", &file, "--source", "bluesky"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds no posts of source `bluesky` (it has: twcs)"),
        "{err}"
    );
}

/// FNV-1a, 64 bits: the split rule of data/labels/README.md.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn label_halves_follow_the_published_split_rule() {
    for (file, parity) in [
        ("replies-dev.csv", 0),
        ("replies-heldout.csv", 1),
        ("inbound-dev.csv", 0),
        ("inbound-heldout.csv", 1),
    ] {
        let text = std::fs::read_to_string(repo("data/labels").join(file)).unwrap();
        for line in text.lines().skip(1) {
            let id = line.split(',').next().unwrap();
            assert_eq!(fnv1a(id) % 2, parity, "{file}: {id} is in the wrong half");
        }
    }
}

/// splitmix64's output function of a 64-bit value (data/labels/README.md).
fn splitmix64(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn label_ids(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo("data/labels").join(file)).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

#[test]
fn fresh_label_files_hold_the_posts_their_published_rule_picks() {
    let shared: std::collections::HashSet<String> = [
        "replies-dev.csv",
        "replies-heldout.csv",
        "inbound-dev.csv",
        "inbound-heldout.csv",
    ]
    .iter()
    .flat_map(|f| label_ids(f))
    .collect();
    let (mut replies, mut opening) = (Vec::new(), Vec::new());
    for e in std::fs::read_dir(repo("data/store/twcs")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for line in text.lines() {
            let p: Value = serde_json::from_str(line).unwrap();
            let id = p["id"].as_str().unwrap().to_string();
            if p["text"].is_null() || shared.contains(&id) {
                continue;
            }
            match (p["inbound"].as_bool(), p["reply_to"].is_null()) {
                (Some(false), false) => replies.push(id),
                (Some(true), true) => opening.push(id),
                _ => {}
            }
        }
    }
    for (mut ids, file) in [
        (replies, "replies-fresh.csv"),
        (opening, "inbound-fresh.csv"),
    ] {
        ids.sort_by_key(|id| splitmix64(fnv1a(id)));
        ids.truncate(100);
        assert_eq!(ids, label_ids(file), "{file}");
    }
}

/// The published figures (content/methodology.md), measured on `*-fresh.csv`, labelled after
/// `deflect-2` and `kind-2` were written and run on them once. `kind-3` changed one thing
/// without reading those errors (a post no rule reads counts as needing a reply: throwing a
/// complaint out is the costly error), trading recall of "no" for its precision. A rule change
/// that lowers any of these fails here. Raise the floors when a new version, measured on new
/// labels, does better.
#[test]
fn fresh_label_figures_do_not_regress_below_the_published_ones() {
    let site = shipped_site();
    let d = eval_labels(&site, "replies-fresh.csv", 100);
    at_least(
        &d["classes"]["1"]["precision"],
        41.0 / 42.0,
        "deflect precision",
    );
    at_least(&d["classes"]["1"]["recall"], 41.0 / 48.0, "deflect recall");
    at_least(&d["accuracy"], 92.0 / 100.0, "deflect accuracy");

    let k = eval_labels(&site, "inbound-fresh.csv", 100);
    let nr = &k["needs_reply"];
    at_least(&nr["accuracy"], 86.0 / 100.0, "needs-a-reply accuracy");
    at_least(
        &nr["classes"]["no"]["precision"],
        10.0 / 12.0,
        "precision of no",
    );
    at_least(
        &nr["classes"]["yes"]["recall"],
        76.0 / 78.0,
        "recall of yes",
    );
    at_least(&k["accuracy"], 72.0 / 100.0, "kind accuracy");
}

/// The double-labelled held-out halves: seen once by version 1 (its published figures there
/// were deflect P 29/30, R 29/39; needs-a-reply accuracy 77/92, precision of no 17/27), then
/// read to write version 2, so no longer a fair measure. Kept as a regression floor at what
/// `deflect-2` and `kind-3` score on them.
#[test]
fn held_out_halves_do_not_regress_below_the_current_rules() {
    let site = shipped_site();
    let d = eval_labels(&site, "replies-heldout.csv", 111);
    at_least(
        &d["classes"]["1"]["precision"],
        36.0 / 37.0,
        "deflect precision",
    );
    at_least(&d["classes"]["1"]["recall"], 36.0 / 39.0, "deflect recall");

    let k = eval_labels(&site, "inbound-heldout.csv", 92);
    let nr = &k["needs_reply"];
    at_least(&nr["accuracy"], 77.0 / 92.0, "needs-a-reply accuracy");
    at_least(&nr["classes"]["no"]["precision"], 1.0, "precision of no");
}

/// `replyrank eval --json` on a shipped label file, all of whose ids are in the shipped store.
fn eval_labels(site: &tempfile::TempDir, file: &str, n: u64) -> Value {
    let v = eval_json(
        site.path(),
        repo("data/labels").join(file).to_str().unwrap(),
    );
    assert_eq!(
        (v["n"].as_u64(), v["missing"].as_u64()),
        (Some(n), Some(0)),
        "{file}"
    );
    v
}

#[track_caller]
fn at_least(v: &Value, floor: f64, what: &str) {
    let x = v.as_f64().unwrap_or_else(|| panic!("{what} is {v}"));
    // 1e-9: JSON floats are read back to within a unit in the last place.
    assert!(
        x >= floor - 1e-9,
        "{what} fell to {x:.4}, below the published {floor:.4}"
    );
}

#[test]
fn eval_errors_list_label_file_lines_and_rules_without_ids_or_text() {
    let site = tiny_site();
    let file = labels(site.path(), "r.csv", "tweet_id,deflect\n1,1\n3,1\n");
    let out = rr(site.path(), &["eval", "--labels", &file, "--errors"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        [
            "misclassified (label-file line, label, predicted, rule):",
            &format!("{file}:3 1 0 -"),
        ]
    );
}

/// The shipped store's verdicts and template signatures are exactly what today's classifiers
/// compute: a change to a rule or to the signature's normalisation or hash shows here (and
/// needs a new version, and `replyrank reclassify`).
#[test]
fn the_shipped_store_holds_what_the_current_classifiers_say() {
    let registry =
        replyrank::registry::Registry::load(&replyrank::root::SiteRoot::at(repo("."))).unwrap();
    let mut checked = 0;
    let mut templates = 0;
    for e in std::fs::read_dir(repo("data/store/twcs")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for line in text.lines() {
            let post: replyrank::post::Post = serde_json::from_str(line).unwrap();
            let now = replyrank::classify::classify_post(&registry, &post);
            assert_eq!(now, post.classified, "post {}", post.id);
            checked += 1;
            templates += usize::from(now.is_some_and(|c| c.template.is_some()));
        }
    }
    assert_eq!(checked, 5000);
    assert!(
        templates > 2000,
        "{templates} brand replies with a signature"
    );
}
