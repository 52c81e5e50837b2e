//! `replyrank score`: writes `<output>/data/leaderboard.json` and prints the ranking.

use anyhow::{Context, Result};

use replyrank::columns::{self, Column, Unit};
use replyrank::root::SiteRoot;
use replyrank::score::Leaderboard;
use replyrank::site::figure;
use replyrank::site::lang::Lang;
use replyrank::time::format_rfc3339;

pub fn run(root: &SiteRoot, as_of: Option<&str>, verbose: bool) -> Result<()> {
    let as_of = as_of.map(parse_as_of).transpose()?;
    let config = replyrank::config::Config::load(root)?;
    let scored = replyrank::pipeline::run(root, &config, as_of, verbose)?;
    scored.warn();
    let lb = &scored.leaderboard;
    let dir = root.output().join("data");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("leaderboard.json");
    // A new file, not a rewrite: a built site's snapshot may hold a hard link to the old one.
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, lb.to_json())
        .with_context(|| format!("cannot write {}", path.display()))?;
    print!("{}", table(lb, &Lang::load(root, "en", true)?));
    println!("wrote {}", path.display());
    Ok(())
}

pub fn parse_as_of(s: &str) -> Result<i64> {
    replyrank::time::parse_as_of(s).map_err(|e| anyhow::anyhow!("--as-of: {e}"))
}

/// Width of a figure in the terminal table, by its unit.
fn width(unit: Unit) -> usize {
    match unit {
        Unit::Score | Unit::Count => 6,
        Unit::Share => 5,
        Unit::Points => 8,
        Unit::Seconds => 14,
    }
}

/// A plain-text ranking for the terminal: the leaderboard table's columns, written as on the
/// site's English pages; the score with its 95% interval.
pub fn table(lb: &Leaderboard, en: &Lang) -> String {
    let columns: Vec<&Column> = columns::of(lb.method.version).filter(|c| c.table).collect();
    let mut out = format!(
        "replyrank — as of {} — complaints from {} to {} ({} days)\n\n",
        format_rfc3339(lb.as_of),
        format_rfc3339(lb.window.from),
        format_rfc3339(lb.window.to),
        lb.window.days
    );
    let mut head = format!("{:>4} {:<9} {:<28}", "rank", "interval", "brand");
    for c in &columns {
        head += &format!(
            " {:>w$}",
            en.t(&format!("abbr_{}", c.key), &[]),
            w = width(c.unit)
        );
        if c.unit == Unit::Score {
            head += &format!(" {:<15}", "95% interval");
        }
    }
    out += head.trim_end();
    out.push('\n');
    for b in lb.ranked() {
        let ri = b
            .rank_interval
            .map_or("—".into(), |[a, z]| format!("{a}–{z}"));
        let mut line = format!(
            "{:>4} {:<9} {:<28}",
            b.rank.unwrap_or(0),
            ri,
            b.name.chars().take(28).collect::<String>()
        );
        for c in &columns {
            let value = figure(en, c, b).replace('\u{a0}', " ");
            line += &format!(" {value:>w$}", w = width(c.unit));
            if c.unit == Unit::Score {
                let ci = (c.interval.as_ref().expect("the score has an interval").get)(b)
                    .map_or("—".into(), |[lo, hi]| {
                        format!("{}–{}", en.decimal(lo), en.decimal(hi))
                    });
                line += &format!(" {ci:<15}");
            }
        }
        out += &line;
        out.push('\n');
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
