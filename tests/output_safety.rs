//! What `build` may and may not do to its output folder, and what it writes there: it replaces
//! only what a build wrote, refuses folders it would damage, never follows a symlink, leaves
//! the old site whole when it fails, and refuses a `base_url` that would inject markup.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use common::{ok, rr, shipped_site};

/// Every file under `dir` (symlinks not followed) → its bytes, or `-> target` for a symlink.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let rel = format!("{prefix}{}", e.file_name().to_string_lossy());
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                let target = std::fs::read_link(e.path()).unwrap();
                out.insert(rel, format!("-> {}", target.display()).into_bytes());
            } else if ft.is_dir() {
                walk(&e.path(), &format!("{rel}/"), out);
            } else {
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, "", &mut out);
    out
}

fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn build_into_the_site_root_is_refused_and_deletes_nothing() {
    let root = shipped_site();
    std::fs::write(root.path().join("replyrank.toml"), "title = \"t\"\n").unwrap();
    std::fs::write(root.path().join("notes.txt"), "mine").unwrap();
    let before = tree(root.path());
    let err = failed(&rr(root.path(), &["build", "--output", "."]));
    assert!(err.contains("refusing to build into"), "{err}");
    assert!(err.contains("site root"), "{err}");
    assert_eq!(tree(root.path()), before, "the root changed");
}

#[test]
fn build_into_data_is_refused_and_keeps_the_store() {
    let root = shipped_site();
    let before = tree(root.path());
    for output in ["data", "data/store", "content", "data/public"] {
        let err = failed(&rr(root.path(), &["build", "--output", output]));
        assert!(err.contains("refusing to build into"), "{output}: {err}");
    }
    assert_eq!(tree(root.path()), before, "the root changed");
}

#[test]
fn build_into_a_folder_it_did_not_build_is_refused() {
    let root = shipped_site();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("notes.txt"), "mine").unwrap();
    let err = failed(&rr(
        root.path(),
        &["build", "--output", elsewhere.path().to_str().unwrap()],
    ));
    assert!(err.contains("holds no .replyrank-manifest"), "{err}");
    assert_eq!(
        std::fs::read(elsewhere.path().join("notes.txt")).unwrap(),
        b"mine"
    );
    assert_eq!(tree(elsewhere.path()).len(), 1);
}

#[test]
fn output_that_is_a_symlink_is_refused() {
    let root = shipped_site();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("notes.txt"), "mine").unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), root.path().join("public")).unwrap();
    let err = failed(&rr(root.path(), &["build"]));
    assert!(err.contains("is a symlink"), "{err}");
    assert_eq!(tree(elsewhere.path()).len(), 1, "files appeared elsewhere");
    assert_eq!(
        std::fs::read(elsewhere.path().join("notes.txt")).unwrap(),
        b"mine"
    );
}

#[test]
fn build_never_follows_a_symlink_out_of_the_output() {
    let root = shipped_site();
    ok(rr(root.path(), &["build"]));
    let public = root.path().join("public");
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir(elsewhere.path().join("sub")).unwrap();
    std::fs::write(elsewhere.path().join("sub/precious.txt"), "keep").unwrap();
    std::fs::write(elsewhere.path().join("index.html"), "not the site").unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), public.join("extlink")).unwrap();
    ok(rr(root.path(), &["build"]));
    ok(rr(root.path(), &["build", "--as-of", "2017-11-20"]));
    assert_eq!(
        std::fs::read(elsewhere.path().join("sub/precious.txt")).unwrap(),
        b"keep"
    );
    assert_eq!(
        std::fs::read(elsewhere.path().join("index.html")).unwrap(),
        b"not the site"
    );
    assert_eq!(tree(elsewhere.path()).len(), 2);
    assert!(
        std::fs::symlink_metadata(public.join("extlink"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is kept as a link"
    );
}

#[test]
fn rebuild_keeps_files_it_did_not_write_and_removes_stale_pages() {
    let root = shipped_site();
    std::fs::write(
        root.path().join("replyrank.toml"),
        "languages = [\"en\", \"fr\"]\n",
    )
    .unwrap();
    ok(rr(root.path(), &["build"]));
    let public = root.path().join("public");
    assert!(public.join("fr/index.html").is_file());
    std::fs::write(public.join("notes.txt"), "mine").unwrap();
    std::fs::write(public.join("fr/notes.txt"), "mine too").unwrap();
    std::fs::write(root.path().join("replyrank.toml"), "languages = [\"en\"]\n").unwrap();
    ok(rr(root.path(), &["build"]));
    assert_eq!(std::fs::read(public.join("notes.txt")).unwrap(), b"mine");
    assert_eq!(
        std::fs::read(public.join("fr/notes.txt")).unwrap(),
        b"mine too"
    );
    assert!(
        !public.join("fr/index.html").exists(),
        "a page the new build no longer has is gone"
    );
    let manifest = std::fs::read_to_string(public.join(".replyrank-manifest")).unwrap();
    assert!(manifest.contains("\tindex.html\n"), "{manifest}");
    assert!(!manifest.contains("notes.txt"), "{manifest}");
    // No staging folder is left beside the output (only the empty lock file).
    let beside: Vec<std::path::PathBuf> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.to_string_lossy().contains(".replyrank-"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

#[test]
fn earlier_snapshots_never_change() {
    // A snapshot kept whole (the last of its quarter, see `[archive] keep_full`); one that is
    // thinned changes once, to its leaderboard.csv (tests/archive.rs).
    let root = shipped_site();
    ok(rr(root.path(), &["build", "--as-of", "2017-09-30"]));
    let public = root.path().join("public");
    let snapshot = |t: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        t.iter()
            .filter(|(p, _)| p.starts_with("archive/2017-09-30/"))
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect()
    };
    let before = snapshot(&tree(&public));
    assert!(before.len() > 10, "{}", before.len());
    ok(rr(root.path(), &["build", "--as-of", "2017-11-27"]));
    ok(rr(root.path(), &["build"]));
    let after = tree(&public);
    assert_eq!(snapshot(&after), before);
    assert_ne!(
        after["data/leaderboard.json"],
        before["archive/2017-09-30/data/leaderboard.json"]
    );
    assert!(after.contains_key("archive/2017-11-27/index.html"));
    let check = ok(rr(root.path(), &["check"]));
    assert!(check.contains("all resolve"), "{check}");
}

/// Runs the binary with writes beyond `limit` bytes per file failing (EFBIG), as on a full disk.
fn rr_with_file_size_limit(root: &Path, args: &[&str], limit: u64) -> Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(common::bin());
    cmd.arg("--root").arg(root).args(args);
    // SAFETY: setrlimit and signal are async-signal-safe, called between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

#[test]
fn a_build_that_cannot_write_leaves_the_old_site_whole() {
    let root = shipped_site();
    ok(rr(root.path(), &["build", "--as-of", "2017-11-20"]));
    let public = root.path().join("public");
    let before = tree(&public);
    let err = failed(&rr_with_file_size_limit(root.path(), &["build"], 20_000));
    assert!(
        err.contains("cannot write ") && err.contains(".replyrank-"),
        "the error names the file: {err}"
    );
    assert_eq!(tree(&public), before, "the live site changed");
    let left: Vec<std::path::PathBuf> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && p.to_string_lossy().contains(".replyrank-"))
        .collect();
    assert!(left.is_empty(), "staging left behind: {left:?}");
    let check = ok(rr(root.path(), &["check"]));
    assert!(check.contains("files as built"), "{check}");
}

#[test]
fn check_catches_a_truncated_download() {
    let root = shipped_site();
    ok(rr(root.path(), &["build"]));
    let public = root.path().join("public");
    std::fs::write(public.join("data/leaderboard.csv"), "").unwrap();
    std::fs::remove_file(public.join("data/README.txt")).unwrap();
    let err = failed(&rr(root.path(), &["check"]));
    assert!(
        err.contains("data/leaderboard.csv is 0 bytes; the build wrote"),
        "{err}"
    );
    assert!(err.contains("data/README.txt is missing"), "{err}");
}

#[test]
fn base_url_javascript_is_refused_naming_key_and_line() {
    let root = shipped_site();
    std::fs::write(
        root.path().join("replyrank.toml"),
        "title = \"t\"\nbase_url = \"javascript:alert(1)//\"\n",
    )
    .unwrap();
    let err = failed(&rr(root.path(), &["build"]));
    assert!(err.contains("replyrank.toml:2: base_url"), "{err}");
    assert!(err.contains("http:// or https://"), "{err}");
    assert!(!root.path().join("public").exists());
}

#[test]
fn base_url_newline_cannot_add_lines_to_robots_txt() {
    let root = shipped_site();
    std::fs::write(
        root.path().join("replyrank.toml"),
        "base_url = \"https://example.org/\\nDisallow: /\"\n",
    )
    .unwrap();
    let err = failed(&rr(root.path(), &["build"]));
    assert!(err.contains("replyrank.toml:1: base_url"), "{err}");
    assert!(err.contains("control character"), "{err}");
    std::fs::remove_file(root.path().join("replyrank.toml")).unwrap();
    for bad in [
        "javascript:alert(1)//",
        "https://example.org/\"><script>",
        "https://example.org/ x",
        "example.org",
    ] {
        let err = failed(&rr(root.path(), &["build", "--base-url", bad]));
        assert!(err.contains("--base-url"), "{bad}: {err}");
    }
    ok(rr(
        root.path(),
        &["build", "--base-url", "https://example.net/rr"],
    ));
    let robots = std::fs::read_to_string(root.path().join("public/robots.txt")).unwrap();
    assert_eq!(
        robots,
        "User-agent: *\nAllow: /\nSitemap: https://example.net/rr/sitemap.xml\n"
    );
}

#[test]
fn a_build_killed_at_random_points_leaves_a_whole_site_and_the_next_build_succeeds() {
    // kill -9 at seeded random moments of a rebuild: whatever is at the output afterwards is a
    // complete site (the old one or the new one: `check` passes), and the next build works.
    let root = shipped_site();
    ok(rr(root.path(), &["build"]));
    let mut delay_ms: u64 = 20_171_031;
    for trial in 0..6 {
        // A changed page, so old and new sites differ.
        std::fs::write(
            root.path().join("content/methodology.md"),
            std::fs::read_to_string(root.path().join("content/methodology.md")).unwrap()
                + &format!("\nTrial {trial}.\n"),
        )
        .unwrap();
        delay_ms = delay_ms
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1)
            % 2_500;
        let mut child = Command::new(common::bin())
            .arg("--root")
            .arg(root.path())
            .arg("build")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100 + delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let checked = rr(root.path(), &["check"]);
        assert!(
            checked.status.success(),
            "trial {trial} (killed after {} ms): {}",
            100 + delay_ms,
            String::from_utf8_lossy(&checked.stderr)
        );
    }
    ok(rr(root.path(), &["build"]));
    ok(rr(root.path(), &["check"]));
    let methodology =
        std::fs::read_to_string(root.path().join("public/methodology/index.html")).unwrap();
    assert!(methodology.contains("Trial 5."));
}

#[test]
fn a_folder_of_restored_snapshots_is_built_into_and_keeps_them() {
    // The publishing workflow restores archive/<date>/ from a branch into an empty public/, then
    // builds: that folder has no top-level manifest, yet must be accepted (was refused), and
    // the restored snapshot kept (whole: the last of its quarter, see `[archive] keep_full`).
    let root = shipped_site();
    let first = root.path().join("first");
    ok(rr(
        root.path(),
        &[
            "build",
            "--as-of",
            "2017-09-30",
            "--output",
            first.to_str().unwrap(),
        ],
    ));
    let public = root.path().join("public");
    std::fs::create_dir_all(&public).unwrap();
    let copied = Command::new("cp")
        .arg("-r")
        .arg(first.join("archive"))
        .arg(&public)
        .status()
        .unwrap();
    assert!(copied.success());
    let before = tree(&public.join("archive/2017-09-30"));
    ok(rr(root.path(), &["build"]));
    ok(rr(root.path(), &["check"]));
    assert!(public.join("archive/2017-12-03/index.html").is_file());
    let mut after = tree(&public.join("archive/2017-09-30"));
    // The archive page lists both snapshots now; everything else is as restored.
    after.remove("archive/index.html");
    let mut before = before;
    before.remove("archive/index.html");
    assert_eq!(before, after);
    // Anything else beside archive/ is still a folder no build made: refused.
    std::fs::remove_dir_all(&public).unwrap();
    std::fs::create_dir_all(public.join("archive")).unwrap();
    std::fs::write(public.join("notes.txt"), "mine").unwrap();
    failed(&rr(root.path(), &["build"]));
    assert_eq!(
        std::fs::read_to_string(public.join("notes.txt")).unwrap(),
        "mine"
    );
}
