//! Site benchmark: `replyrank build` on a synthetic site of 1,000 brands × 24 months.
//!
//!     cargo bench --bench site [-- --brands 1000 --months 24 --keep DIR]
//!
//! Generates, from a fixed seed, a registry of N brands and a `pairs` file of complaints (12 a
//! month per brand, log-normal reply delays, some never answered), imports it (not timed), then
//! times the release binary's `build` as a child process (wall time and peak RSS from `wait4`)
//! and reports the size of the leaderboard page. Targets: under 3 s, leaderboard under 150 kB.

#[path = "common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

const SEED: u64 = 0x5173_2026;
const PER_MONTH: usize = 12;
/// 2016-01-01T00:00:00Z: month k starts about k × 30.44 days later.
const START: i64 = 1_451_606_400;
const CATEGORIES: [&str; 8] = [
    "airline",
    "telecom",
    "bank",
    "retail",
    "food",
    "tech",
    "transport",
    "travel",
];
const COUNTRIES: [&str; 6] = ["US", "GB", "FR", "DE", "IN", "BR"];

fn main() {
    let mut brands = 1000usize;
    let mut months = 24usize;
    let mut keep: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--brands" => {
                brands = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--brands N")
            }
            "--months" => {
                months = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--months N")
            }
            "--keep" => keep = args.next().map(PathBuf::from),
            "--bench" => {}
            other => panic!("unknown argument {other}; use --brands N --months N --keep DIR"),
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    let _ = std::fs::remove_dir_all(root.join("data"));
    let _ = std::fs::remove_dir_all(root.join("public"));
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::create_dir_all(root.join("content")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("content/methodology.md"),
        root.join("content/methodology.md"),
    )
    .unwrap();
    let complaints = generate(&root, brands, months);
    let bin = env!("CARGO_BIN_EXE_replyrank");
    let mut import = Command::new(bin);
    import.arg("--root").arg(&root).args([
        "import",
        root.join("pairs.csv").to_str().unwrap(),
        "--format",
        "pairs",
        "--source",
        "bench",
    ]);
    let imported = common::run_measured(
        "import",
        import,
        &root.join("import.out"),
        &root.join("import.err"),
    );
    // Flush what generating and importing wrote, so the build is not timed against writeback.
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
    let mut build = Command::new(bin);
    build.arg("--root").arg(&root).arg("build");
    let built = common::run_measured(
        "build",
        build,
        &root.join("build.out"),
        &root.join("build.err"),
    );
    // Again over the same output: the daily case, where most files already exist.
    unsafe { libc::sync() };
    let mut rebuild = Command::new(bin);
    rebuild.arg("--root").arg(&root).arg("build");
    let rebuilt = common::run_measured(
        "rebuild",
        rebuild,
        &root.join("build.out"),
        &root.join("build.err"),
    );
    let size = |p: &str| {
        std::fs::metadata(root.join("public").join(p)).map_or(0, |m| m.len()) as f64 / 1024.0
    };
    let files = count_files(&root.join("public"));
    println!(
        "replyrank site benchmark — {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{brands} brands × {months} months, {complaints} complaints (import {:.2} s, not part of the target)\n",
        imported.secs()
    );
    println!(
        "| brands | months | first build s | rebuild s | peak RSS MB | files | leaderboard kB | full ranking kB | brand page kB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {brands} | {months} | {:.2} | {:.2} | {:.0} | {files} | {:.0} | {:.0} | {:.0} |",
        built.secs(),
        rebuilt.secs(),
        built.rss_mb(),
        size("index.html"),
        size("ranking/index.html"),
        size("brand/b0001/index.html"),
    );
    println!(
        "\n{}",
        std::fs::read_to_string(root.join("build.out"))
            .unwrap_or_default()
            .trim()
    );
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        count_files(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Writes the registry and the pairs file; returns the number of complaints.
fn generate(root: &Path, brands: usize, months: usize) -> usize {
    let mut rng = Pcg64Mcg::seed_from_u64(SEED);
    let mut registry = String::new();
    for b in 1..=brands {
        writeln!(
            registry,
            "[[brand]]\nid = \"b{b:04}\"\nname = \"Brand {b:04}\"\ncategory = \"{}\"\ncountry = \"{}\"\ntimezone = \"UTC\"\n",
            CATEGORIES[b % CATEGORIES.len()],
            COUNTRIES[b % COUNTRIES.len()]
        )
        .unwrap();
    }
    std::fs::write(root.join("data/brands.toml"), registry).unwrap();
    let mut csv = String::from("brand,complaint_id,complaint_at,reply_at\n");
    let mut n = 0;
    for b in 1..=brands {
        let median = 60.0 * (2.0 + 600.0 * rng.random::<f64>()); // 2 min to 10 h
        let unanswered = 0.05 + 0.35 * rng.random::<f64>();
        for m in 0..months {
            for _ in 0..PER_MONTH {
                let at = START
                    + (m as f64 * 30.44 * 86_400.0 + rng.random::<f64>() * 30.0 * 86_400.0) as i64;
                let reply = if rng.random::<f64>() < unanswered {
                    String::new()
                } else {
                    let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
                    (at + (median * (1.2 * z).exp()) as i64).to_string()
                };
                writeln!(csv, "b{b:04},c{n},{at},{reply}").unwrap();
                n += 1;
            }
        }
    }
    std::fs::write(root.join("pairs.csv"), csv).unwrap();
    n
}
