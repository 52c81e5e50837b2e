//! What the integration tests share: a local HTTP server with fault injection, and site roots
//! made from the repository's own data.
#![allow(dead_code)]

pub mod jetstream;
pub mod server;

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_replyrank");

/// The binary under test: this crate's, or `$REPLYRANK_BIN` (to show a test fails on an
/// earlier build of replyrank).
pub fn bin() -> std::path::PathBuf {
    std::env::var_os("REPLYRANK_BIN").map_or_else(|| BIN.into(), Into::into)
}

/// The pseudonym key the tests run with (`REPLYRANK_PSEUDONYM_KEY`).
pub const TEST_KEY: &str = "test key: 0123456789abcdef0123456789abcdef";

/// Runs the real binary on a site root (with the test pseudonym key).
pub fn rr(root: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .env("REPLYRANK_PSEUDONYM_KEY", TEST_KEY)
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap()
}

/// Runs `replyrank collect` on a site root with exactly the credentials `envs` gives.
pub fn collect(root: &Path, envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(bin());
    c.env("REPLYRANK_PSEUDONYM_KEY", TEST_KEY);
    c.arg("--root").arg(root).arg("collect").args(args);
    for k in [
        "REPLYRANK_X_BEARER_TOKEN",
        "REPLYRANK_BLUESKY_HANDLE",
        "REPLYRANK_BLUESKY_APP_PASSWORD",
    ] {
        c.env_remove(k);
    }
    c.envs(envs.iter().copied());
    c.output().unwrap()
}

/// The standard output of a run that must succeed (else both outputs, in the failure).
pub fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The `public/data/leaderboard.json` a `score` or `build` of the site root wrote.
pub fn leaderboard(root: &Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(root.join("public/data/leaderboard.json")).unwrap(),
    )
    .unwrap()
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dst = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dst)
        } else {
            std::fs::copy(&p, &dst).map(|_| ()).unwrap()
        }
    }
}

/// A site root holding only a copy of the repository's brand registry.
pub fn site() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("data")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/brands.toml"),
        root.path().join("data/brands.toml"),
    )
    .unwrap();
    root
}

/// A site root holding a copy of the repository's registry, store and content: what a clone
/// holds, without what a run in this checkout left beside them and git ignores (the store's
/// index `data/index/` after `cargo run -- build`, a private store `data/private/`).
pub fn shipped_site() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    copy_dir(&repo.join("data"), &root.path().join("data"));
    for local in ["data/index", "data/private"] {
        let _ = std::fs::remove_dir_all(root.path().join(local));
    }
    copy_dir(&repo.join("content"), &root.path().join("content"));
    root
}

/// How a property test runs: `REPLYRANK_FUZZ_CASES` cases (else `default`), from a fixed seed so
/// `cargo test` (and CI) runs the same cases every time; `REPLYRANK_FUZZ_SEED=N` explores others
/// (with `REPLYRANK_FUZZ_CASES` for longer runs).
pub fn fuzz_config(default: u32) -> proptest::test_runner::Config {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
    proptest::test_runner::Config {
        cases: env("REPLYRANK_FUZZ_CASES").map_or(default, |n: u64| n as u32),
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(
            env("REPLYRANK_FUZZ_SEED").unwrap_or(20_171_031),
        ),
        ..proptest::test_runner::Config::default()
    }
}

/// Sources of the property tests' stores: a built-in one, and one replyrank does not know.
pub const TWO_SOURCES: [&str; 2] = ["twcs", "zz"];

/// A site root (the repository's registry) with an empty store of [`TWO_SOURCES`], each with
/// an empty partition for month `month` of 2017; returns it and the store's folder.
pub fn two_source_store(month: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let root = site();
    let store = root.path().join("data/store");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("FORMAT"), "replyrank.store/2\n").unwrap();
    for name in TWO_SOURCES {
        std::fs::create_dir_all(store.join(name)).unwrap();
        std::fs::write(store.join(name).join(format!("2017-{month:02}.jsonl")), b"").unwrap();
    }
    (root, store)
}

/// `whole` (a file of the store's index) with a length written over each 8 bytes in turn,
/// where that changes it: (offset, damaged bytes). The length, 2^34, is too large for a column
/// of any width to be allocated, and passed the fixed bound (2^40 bytes) the readers had before
/// they checked lengths against the bytes left in the file.
pub fn a_huge_length_at_each_byte(whole: &[u8]) -> impl Iterator<Item = (usize, Vec<u8>)> + '_ {
    let huge = (1u64 << 34).to_le_bytes();
    (0..whole.len().saturating_sub(8)).filter_map(move |at| {
        let mut bytes = whole.to_vec();
        bytes[at..at + 8].copy_from_slice(&huge);
        (bytes != whole).then_some((at, bytes))
    })
}

/// Rewrites the partition `p` without its last line, atomically, as `forget` rewrites one.
pub fn drop_last_line(p: &Path) {
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    lines.pop();
    let tmp = p.with_extension("tmp");
    std::fs::write(&tmp, lines.concat()).unwrap();
    std::fs::rename(&tmp, p).unwrap();
}
