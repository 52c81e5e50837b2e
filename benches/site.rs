//! Site benchmark: `replyrank build` on a synthetic site of 1,000 brands × 24 months.
//!
//!     cargo bench --bench site [-- --brands 1000 --months 24 --keep DIR]
//!     cargo bench --bench site -- --year [--days 12]
//!
//! Generates, from a fixed seed, a registry of N brands and a `pairs` file of complaints (12 a
//! month per brand, log-normal reply delays, some never answered), imports it (not timed), then
//! times the release binary's `build` as a child process (wall time, CPU time and peak RSS from
//! `wait4`) and reports the size of the leaderboard page. Targets: under 3 s of computing,
//! leaderboard under 150 kB.
//!
//! `--year` simulates daily publishing instead: `--days` builds (default 12) with `--as-of`
//! one day apart across a quarter's end (2017-09-24 on), into the same output, with the
//! default archive retention. After each it sums the deployed site as a host stores it: every
//! path a file (hard links counted as copies) and its size. It then extrapolates to a year
//! from the measured parts (the live site, a snapshot kept whole, a thinned date): at most 5
//! snapshots kept whole (4 quarters' last ones and the latest) and 360 thinned dates. Targets:
//! under 1 GB and under 100,000 files.

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
    let mut year: Option<usize> = None;
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
            "--year" => year = Some(year.unwrap_or(12)),
            "--days" => year = Some(args.next().and_then(|v| v.parse().ok()).expect("--days N")),
            "--bench" => {}
            other => panic!(
                "unknown argument {other}; use --brands N --months N --keep DIR --year --days N"
            ),
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
    if let Some(days) = year {
        simulate_year(&root, bin, brands, days);
        return;
    }
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
        "| brands | months | first build s | rebuild s | rebuild CPU s (user + sys) | peak RSS MB | files | leaderboard kB | full ranking kB | brand page kB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {brands} | {months} | {:.2} | {:.2} | {:.2} + {:.2} | {:.0} | {files} | {:.0} | {:.0} | {:.0} |",
        built.secs(),
        rebuilt.secs(),
        rebuilt.user.as_secs_f64(),
        rebuilt.sys.as_secs_f64(),
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

/// Files and bytes of a folder as a host stores it: every path a file of its own (hard links
/// counted as copies).
#[derive(Clone, Copy, Default)]
struct Deployed {
    files: u64,
    bytes: u64,
}

impl Deployed {
    fn of(dir: &Path) -> Deployed {
        let mut d = Deployed::default();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                let sub = Deployed::of(&e.path());
                d.files += sub.files;
                d.bytes += sub.bytes;
            } else {
                d.files += 1;
                d.bytes += meta.len();
            }
        }
        d
    }

    fn mb(self) -> f64 {
        self.bytes as f64 / 1e6
    }
}

/// `--year`: `days` daily builds across a quarter's end, then the year extrapolated.
fn simulate_year(root: &Path, bin: &str, brands: usize, days: usize) {
    let public = root.join("public");
    // 2017-09-24: a week before the third quarter ends, inside the generated data.
    let first = 17_433;
    println!(
        "replyrank archive benchmark — {} cores, {brands} brands, {days} daily builds from 2017-09-24",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "\n| as-of | wall s | CPU s (user + sys) | deployed MB | files | snapshots kept whole | thinned |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut cpu = Vec::new();
    for day in 0..days {
        let date = civil(first + day as i64);
        let mut build = Command::new(bin);
        build
            .arg("--root")
            .arg(root)
            .args(["build", "--as-of", &date]);
        let m = common::run_measured(
            "build",
            build,
            &root.join("build.out"),
            &root.join("build.err"),
        );
        cpu.push(m.cpu_secs());
        let all = Deployed::of(&public);
        let (whole, thinned) = snapshots(&public);
        println!(
            "| {date} | {:.2} | {:.2} + {:.2} | {:.0} | {} | {} | {} |",
            m.secs(),
            m.user.as_secs_f64(),
            m.sys.as_secs_f64(),
            all.mb(),
            all.files,
            whole.len(),
            thinned.len()
        );
    }
    let (whole, thinned) = snapshots(&public);
    let all = Deployed::of(&public);
    let archive = Deployed::of(&public.join("archive"));
    let live = Deployed {
        files: all.files - archive.files,
        bytes: all.bytes - archive.bytes,
    };
    let mean = |dirs: &[PathBuf]| {
        let sum = dirs
            .iter()
            .map(|d| Deployed::of(d))
            .fold((0, 0), |a, d| (a.0 + d.files, a.1 + d.bytes));
        let n = dirs.len().max(1) as u64;
        Deployed {
            files: sum.0.div_ceil(n),
            bytes: sum.1.div_ceil(n),
        }
    };
    let (full, thin) = (mean(&whole), mean(&thinned));
    // The archive's list (one per language) grows by a line a day: counted at its size per
    // date listed, for 365 dates.
    let list = ["archive/index.html", "fr/archive/index.html"]
        .iter()
        .map(|p| std::fs::metadata(public.join(p)).map_or(0, |m| m.len()))
        .sum::<u64>();
    let dated = (whole.len() + thinned.len()).max(1) as u64;
    let year = Deployed {
        files: live.files + 5 * full.files + 360 * thin.files,
        bytes: live.bytes + 5 * full.bytes + 360 * thin.bytes + list * (365 - dated) / dated,
    };
    cpu.sort_by(f64::total_cmp);
    let kb = |p: &str| std::fs::metadata(public.join(p)).map_or(0, |m| m.len()) as f64 / 1e3;
    println!(
        "\nLeaderboard page {:.0} kB, full ranking {:.0} kB, a brand page {:.0} kB (target for the leaderboard: under 150 kB).",
        kb("index.html"),
        kb("ranking/index.html"),
        kb("brand/b0001/index.html")
    );
    println!(
        "\nMeasured after {days} days: live site {:.1} MB in {} files; a snapshot kept whole {:.1} MB in {} files; a thinned date {:.0} kB in {} files (its leaderboard.csv, its pages in 2 languages, its manifest); the archive's lists {:.0} kB for {dated} dates. Build CPU (user + sys): median {:.2} s.",
        live.mb(),
        live.files,
        full.mb(),
        full.files,
        thin.bytes as f64 / 1e3,
        thin.files,
        list as f64 / 1e3,
        cpu[cpu.len() / 2]
    );
    println!(
        "A year of daily publishing, extrapolated (live site + 5 snapshots kept whole + 360 thinned dates): {:.0} MB (target 1,000 MB: {}) in {} files (target 100,000: {}).",
        year.mb(),
        if year.bytes < 1_000_000_000 {
            "met"
        } else {
            "NOT met"
        },
        year.files,
        if year.files < 100_000 {
            "met"
        } else {
            "NOT met"
        },
    );
}

/// The snapshot folders of a built site: kept whole, and thinned (by their manifest's mark).
fn snapshots(public: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(public.join("archive"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(".replyrank-manifest").is_file())
        .collect();
    dirs.sort();
    dirs.into_iter().partition(|d| {
        !std::fs::read_to_string(d.join(".replyrank-manifest"))
            .unwrap_or_default()
            .contains("\n# thinned")
    })
}

/// `YYYY-MM-DD` of a day number since 1970-01-01.
fn civil(day: i64) -> String {
    let (y, m, d) = replyrank::time::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
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
