//! The methodology page: `content/methodology.md` through pulldown-cmark. Its worked example
//! is recomputed at every build with the scoring code; a page that no longer matches the code
//! stops the build.

use anyhow::{Context, Result, bail};

use crate::km::Obs;
use crate::root::SiteRoot;
use crate::score::Figures;

pub struct Methodology {
    pub title: String,
    pub html: String,
}

pub fn load(root: &SiteRoot) -> Result<Methodology> {
    let path = root.content("methodology.md");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {} (the methodology page)", path.display()))?;
    check_worked_example(&text)
        .with_context(|| format!("{}: the worked example", path.display()))?;
    let body = match text.strip_prefix("+++") {
        Some(rest) => rest.split_once("+++").map_or(rest, |(_, b)| b),
        None => &text,
    };
    let title = body
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("Methodology")
        .to_string();
    let mut html = String::new();
    let options = pulldown_cmark::Options::ENABLE_TABLES;
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(body, options));
    Ok(Methodology { title, html })
}

fn seconds(amount: &str, unit: &str) -> Result<i64> {
    let n: i64 = amount
        .parse()
        .with_context(|| format!("{amount:?} is not a number"))?;
    Ok(match unit {
        "s" => n,
        "min" => n * 60,
        "h" => n * 3600,
        other => bail!("unknown unit {other:?} (s, min, h)"),
    })
}

/// Recomputes the fenced `worked-example` block: lines `N answered after X min|h`,
/// `N waiting, followed X min|h`, and `expect KEY VALUE` for answered_1h, answered_24h (one
/// decimal), answered_24h_ci (four decimals), median_reply_s, p90_reply_s and score (whole).
pub fn check_worked_example(page: &str) -> Result<()> {
    let Some(block) = page
        .split("```worked-example\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
    else {
        bail!("no ```worked-example block");
    };
    let mut obs = Vec::new();
    let mut expect = Vec::new();
    for line in block.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            [_, "answered", "after", n, unit] => obs.push(Obs {
                t: seconds(n, unit)?,
                answered: true,
            }),
            [_, "waiting,", "followed", n, unit] => obs.push(Obs {
                t: seconds(n, unit)?,
                answered: false,
            }),
            ["expect", key, values @ ..] => expect.push((key.to_string(), values.join(" "))),
            _ => bail!("unreadable line {line:?}"),
        }
    }
    let f = Figures::of(&obs);
    let opt = |x: Option<f64>, d: usize| x.map_or("none".into(), |v| format!("{v:.d$}"));
    let opt_i = |x: Option<i64>| x.map_or("none".into(), |v| v.to_string());
    for (key, want) in expect {
        let got = match key.as_str() {
            "answered_1h" => opt(f.answered_1h, 1),
            "answered_24h" => opt(f.answered_24h, 1),
            "answered_24h_ci" => f
                .answered_24h_ci
                .map_or("none".into(), |(a, b)| format!("{a:.4} {b:.4}")),
            "median_reply_s" => opt_i(f.median_reply_s),
            "p90_reply_s" => opt_i(f.p90_reply_s),
            "score" => opt(f.score, 0),
            other => bail!("unknown key {other:?}"),
        };
        if got != want {
            bail!(
                "the page says {key} = {want}, the code computes {got}; update the page or the code"
            );
        }
    }
    Ok(())
}
