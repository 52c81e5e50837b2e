//! `replyrank score`: writes `<output>/data/leaderboard.json` and prints the ranking.

use anyhow::{Context, Result};

use replyrank::root::SiteRoot;
use replyrank::score::Leaderboard;
use replyrank::site::lang::Lang;

pub fn run(root: &SiteRoot, as_of: Option<&str>, verbose: bool) -> Result<()> {
    let as_of = as_of.map(parse_as_of).transpose()?;
    let config = replyrank::config::Config::load(root)?;
    let scored = replyrank::pipeline::run(root, &config, as_of, verbose)?;
    for n in &scored.notices {
        eprintln!("warning: {n}");
    }
    let lb = &scored.leaderboard;
    let dir = root.output().join("data");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("leaderboard.json");
    let mut json = serde_json::to_string_pretty(lb)?;
    json.push('\n');
    // A new file, not a rewrite: a built site's snapshot may hold a hard link to the old one.
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, json).with_context(|| format!("cannot write {}", path.display()))?;
    print!("{}", table(lb, &Lang::load(root, "en", true)?));
    println!("wrote {}", path.display());
    Ok(())
}

pub fn parse_as_of(s: &str) -> Result<i64> {
    if let Ok(t) = replyrank::time::parse_rfc3339(s) {
        return Ok(t);
    }
    let date: jiff::civil::Date = s.parse().with_context(|| {
        format!("--as-of {s:?}: expected an RFC 3339 instant or a date (2017-12-01)")
    })?;
    Ok(jiff::tz::TimeZone::UTC
        .to_timestamp(date.at(0, 0, 0, 0))?
        .as_second()
        + replyrank::time::DAY
        - 1)
}

/// A plain-text ranking for the terminal.
/// Shares and times are written as on the site's English pages.
pub fn table(lb: &Leaderboard, en: &Lang) -> String {
    let mut out = format!(
        "replyrank — as of {} — complaints from {} to {} ({} days)\n\n",
        lb.as_of, lb.window.from, lb.window.to, lb.window.days
    );
    out += &format!(
        "{:>4} {:<9} {:<28} {:>6} {:<15} {:>5} {:>5} {:>14} {:>6}\n",
        "rank", "interval", "brand", "score", "95% interval", "1 h", "24 h", "median", "n"
    );
    for b in lb.brands.iter().filter(|b| b.eligible) {
        let ci = b
            .score_ci
            .map_or("—".into(), |[lo, hi]| format!("{lo:.1}–{hi:.1}"));
        let ri = b
            .rank_interval
            .map_or("—".into(), |[a, z]| format!("{a}–{z}"));
        out += &format!(
            "{:>4} {:<9} {:<28} {:>6.1} {:<15} {:>5} {:>5} {:>14} {:>6}\n",
            b.rank.unwrap_or(0),
            ri,
            b.name.chars().take(28).collect::<String>(),
            b.score.unwrap_or(0.0),
            ci,
            en.pct(b.answered_1h),
            en.pct(b.answered_24h),
            en.duration(b.median_reply_s).replace('\u{a0}', " "),
            b.complaints
        );
    }
    let unranked: Vec<String> = lb
        .brands
        .iter()
        .filter(|b| !b.eligible && b.complaints > 0)
        .map(|b| format!("{} ({})", b.name, b.complaints))
        .collect();
    if !unranked.is_empty() {
        out += &format!(
            "\nnot enough data ({}): {}\n",
            unranked.len(),
            unranked.join(", ")
        );
    }
    for s in &lb.sources {
        out += &format!("\nsource {}: {}\n", s.name, s.coverage);
    }
    out
}
