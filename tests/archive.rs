//! The archive over many days of publishing, with the real binary on the shipped data: which
//! dated snapshots stay whole and which are thinned to their data download, that a thinned
//! date keeps its figures byte for byte and a page saying what happened, that files no build
//! wrote are left alone, and what the 404 page knows to send a thinned date's deep links to
//! the nearest snapshot kept whole. (The redirect itself runs in tests/browser.rs.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod common;

use common::{ok, rr, shipped_site};

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(dir.join(&rel)).unwrap() {
            let e = e.unwrap();
            let p = rel.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

fn thinned(public: &Path, date: &str) -> bool {
    read(&public.join(format!("archive/{date}/.replyrank-manifest"))).contains("\n# thinned")
}

/// The `date=kept` pairs the 404 page hands to site.js.
fn redirects(public: &Path) -> BTreeMap<String, String> {
    let page = read(&public.join("404.html"));
    let at = page
        .find("data-redirects=\"")
        .expect("404 page lists the redirects")
        + 16;
    page[at..]
        .split('"')
        .next()
        .unwrap()
        .split_whitespace()
        .map(|pair| {
            let (d, k) = pair.split_once('=').unwrap();
            (d.to_string(), k.to_string())
        })
        .collect()
}

#[test]
fn only_the_latest_and_each_quarters_last_snapshot_stay_whole_the_others_keep_their_data() {
    let root = shipped_site();
    let public = root.path().join("public");
    let dates = [
        "2017-09-28",
        "2017-09-29",
        "2017-09-30",
        "2017-10-01",
        "2017-10-02",
        "2017-10-05",
        "2017-12-31",
        "2018-01-01",
    ];
    // Each date's data download as its own build wrote it, while its snapshot was whole.
    let mut written = BTreeMap::new();
    for (i, date) in dates.iter().enumerate() {
        ok(rr(root.path(), &["build", "--as-of", date]));
        let snap = public.join(format!("archive/{date}"));
        assert!(!thinned(&public, date), "today's snapshot is whole");
        assert!(snap.join("brand").is_dir() && snap.join("fr/index.html").is_file());
        let data = vec![std::fs::read(snap.join("data/leaderboard.csv")).unwrap()];
        written.insert(date.to_string(), data);
        if i == 3 {
            // Files no build wrote: beside the site, and inside a snapshot about to be thinned.
            std::fs::write(public.join("CNAME"), "ranks.example\n").unwrap();
            std::fs::create_dir_all(public.join("archive/2017-10-01/notes")).unwrap();
            std::fs::write(public.join("archive/2017-10-01/notes/mine.txt"), "mine\n").unwrap();
        }
    }

    // Whole: the last of 2017 Q3 and of 2017 Q4, and today's. Thinned: every other day.
    let whole = ["2017-09-30", "2017-12-31", "2018-01-01"];
    for date in dates {
        let kept_whole = whole.contains(&date);
        assert_eq!(thinned(&public, date), !kept_whole, "{date}");
        let snap = public.join(format!("archive/{date}"));
        if kept_whole {
            assert!(snap.join("brand").is_dir() && snap.join("methodology/index.html").is_file());
            continue;
        }
        let mut expected = vec![
            ".replyrank-manifest",
            "data/leaderboard.csv",
            "fr/index.html",
            "index.html",
        ];
        if date == "2017-10-01" {
            expected.push("notes/mine.txt");
        }
        expected.sort();
        assert_eq!(files(&snap), expected, "{date}");
        // The figures it cited, byte for byte as the day published them.
        let data = &written[date];
        assert_eq!(
            std::fs::read(snap.join("data/leaderboard.csv")).unwrap(),
            data[0],
            "{date}"
        );
    }
    assert_eq!(read(&public.join("CNAME")), "ranks.example\n");
    assert_eq!(
        read(&public.join("archive/2017-10-01/notes/mine.txt")),
        "mine\n"
    );

    // The thinned date's page says what happened, in its language, and where to go.
    let en = read(&public.join("archive/2017-10-01/index.html"));
    assert!(
        en.contains("Snapshot of 1\u{a0}October 2017: leaderboard download only"),
        "{en}"
    );
    assert!(
        en.contains("href=\"../../archive/2017-10-01/data/leaderboard.csv\""),
        "{en}"
    );
    assert!(en.contains("The nearest snapshot kept whole is of 30\u{a0}September 2017."));
    assert!(en.contains("href=\"../../archive/2017-09-30/index.html\""));
    let fr = read(&public.join("archive/2017-10-01/fr/index.html"));
    assert!(
        fr.contains("classement téléchargeable seul") && fr.contains("lang=\"fr\""),
        "{fr}"
    );
    assert!(
        fr.contains("href=\"../../../archive/2017-09-30/fr/index.html\""),
        "{fr}"
    );

    // The 404 page sends each thinned date to the whole snapshot nearest in time.
    let expected: BTreeMap<String, String> = [
        ("2017-09-28", "2017-09-30"),
        ("2017-09-29", "2017-09-30"),
        ("2017-10-01", "2017-09-30"),
        ("2017-10-02", "2017-09-30"),
        ("2017-10-05", "2017-09-30"),
    ]
    .iter()
    .map(|(d, k)| (d.to_string(), k.to_string()))
    .collect();
    assert_eq!(redirects(&public), expected);
    // The archive's list names every date and which are data only.
    let archive = read(&public.join("archive/index.html"));
    for date in dates {
        let item = archive
            .split("<li>")
            .find(|li| li.contains(&format!("archive/{date}/index.html")))
            .unwrap_or_else(|| panic!("{date} is not listed"));
        assert_eq!(
            item.contains("leaderboard download only"),
            !whole.contains(&date),
            "{item}"
        );
    }

    // The manifests, the links and the downloads all check out.
    let check = ok(rr(root.path(), &["check"]));
    assert!(check.contains("all resolve"), "{check}");
}

#[test]
fn a_thinned_snapshot_stays_thinned_and_a_rebuild_of_its_date_makes_it_whole_again() {
    let root = shipped_site();
    let public = root.path().join("public");
    for date in ["2017-11-01", "2017-11-02", "2017-11-03"] {
        ok(rr(root.path(), &["build", "--as-of", date]));
    }
    assert!(thinned(&public, "2017-11-01") && thinned(&public, "2017-11-02"));
    let before = files(&public.join("archive/2017-11-01"));
    // Another build of the latest day: the thinned ones are carried as they are.
    ok(rr(root.path(), &["build", "--as-of", "2017-11-03"]));
    assert_eq!(files(&public.join("archive/2017-11-01")), before);
    // A build of a thinned date again: that day is today's, whole; the later one stays whole
    // (the last of its quarter), the other thinned one stays thinned.
    ok(rr(root.path(), &["build", "--as-of", "2017-11-02"]));
    assert!(!thinned(&public, "2017-11-02"));
    assert!(public.join("archive/2017-11-02/brand").is_dir());
    assert!(!thinned(&public, "2017-11-03") && thinned(&public, "2017-11-01"));
    let check = ok(rr(root.path(), &["check"]));
    assert!(check.contains("all resolve"), "{check}");
}

#[test]
fn keep_full_in_the_config_chooses_months_or_every_snapshot_and_a_typo_is_an_error() {
    let root = shipped_site();
    let public = root.path().join("public");
    std::fs::write(
        root.path().join("replyrank.toml"),
        "[archive]\nkeep_full = \"month\"\n",
    )
    .unwrap();
    for date in ["2017-10-30", "2017-10-31", "2017-11-01", "2017-11-02"] {
        ok(rr(root.path(), &["build", "--as-of", date]));
    }
    let kinds: Vec<bool> = ["2017-10-30", "2017-10-31", "2017-11-01", "2017-11-02"]
        .iter()
        .map(|d| thinned(&public, d))
        .collect();
    assert_eq!(kinds, [true, false, true, false]);

    std::fs::write(
        root.path().join("replyrank.toml"),
        "[archive]\nkeep_full = \"all\"\n",
    )
    .unwrap();
    ok(rr(root.path(), &["build", "--as-of", "2017-11-03"]));
    assert!(!thinned(&public, "2017-11-02"), "every snapshot kept whole");
    assert!(
        thinned(&public, "2017-11-01"),
        "a thinned one stays thinned"
    );

    std::fs::write(
        root.path().join("replyrank.toml"),
        "[archive]\nkeep_full = \"week\"\n",
    )
    .unwrap();
    let out = rr(root.path(), &["build"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("replyrank.toml:2") && err.contains("`week`") && err.contains("`quarter`"),
        "{err}"
    );
}

#[test]
fn a_publishing_job_that_restores_only_the_snapshots_keeps_the_thinned_dates_figures() {
    // The publish workflow keeps archive/ alone between runs and restores it into an empty
    // output before building: every file there then counts as written by a build, and a
    // thinned date's leaderboard.csv must still be kept, not taken for one of its pages.
    let root = shipped_site();
    let public = root.path().join("public");
    for date in ["2017-11-01", "2017-11-02"] {
        ok(rr(root.path(), &["build", "--as-of", date]));
    }
    assert!(thinned(&public, "2017-11-01"));
    let csv = std::fs::read(public.join("archive/2017-11-01/data/leaderboard.csv")).unwrap();
    let kept = root.path().join("kept-archive");
    common::copy_dir(&public.join("archive"), &kept);
    std::fs::remove_dir_all(&public).unwrap();
    common::copy_dir(&kept, &public.join("archive"));
    ok(rr(root.path(), &["build", "--as-of", "2017-11-03"]));
    assert!(thinned(&public, "2017-11-01") && thinned(&public, "2017-11-02"));
    for date in ["2017-11-01", "2017-11-02"] {
        assert_eq!(
            files(&public.join(format!("archive/{date}"))),
            [
                ".replyrank-manifest",
                "data/leaderboard.csv",
                "fr/index.html",
                "index.html"
            ],
            "{date}"
        );
    }
    assert_eq!(
        std::fs::read(public.join("archive/2017-11-01/data/leaderboard.csv")).unwrap(),
        csv
    );
    let check = ok(rr(root.path(), &["check"]));
    assert!(check.contains("all resolve"), "{check}");
}
