//! The methodology page: `content/methodology.md` through pulldown-cmark. Its worked example
//! is recomputed at every build with the scoring code; a page that no longer matches the code
//! stops the build.

use anyhow::{Context, Result, bail};

use crate::config::ScoreBasis;
use crate::method::Version;
use crate::pair::Complaint;
use crate::root::SiteRoot;
use crate::score::Method;

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
    check_hours_example(&text)
        .with_context(|| format!("{}: the office-hours example", path.display()))?;
    let body = match text.strip_prefix("+++") {
        Some(rest) => rest.split_once("+++").map_or(rest, |(_, b)| b),
        None => &text,
    };
    let title = body
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("Methodology")
        .to_string();
    let body = readable_example(
        &readable_example(body, "worked-example-hours"),
        "worked-example",
    );
    let mut html = String::new();
    let options = pulldown_cmark::Options::ENABLE_TABLES;
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(&body, options));
    Ok(Methodology { title, html })
}

/// A complaint of an example: made at `at`, answered (in public) after `reply` seconds.
fn complaint(at: i64, reply: Option<i64>) -> Complaint {
    Complaint {
        post: 0,
        source: 0,
        brand: 0,
        at,
        first_reply: reply.map(|_| 0),
        reply_s: reply,
        deflected: false,
        public_s: reply,
        needs_reply: true,
        cut_off: false,
        customer: 0,
        followers: crate::corpus::NONE,
        template: crate::corpus::NONE,
    }
}

/// The fenced block `name` of the page.
fn block<'p>(page: &'p str, name: &str) -> Result<&'p str> {
    page.split(&format!("```{name}\n"))
        .nth(1)
        .and_then(|b| b.split("```").next())
        .with_context(|| format!("no ```{name} block"))
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

/// The page as a reader sees it: the `worked-example` block's complaints as a numbered list, its
/// `expect` lines (for the check, and stated in the prose after it) left out.
fn readable_example(body: &str, name: &str) -> String {
    let Some((before, rest)) = body.split_once(&format!("```{name}\n")) else {
        return body.to_string();
    };
    let Some((block, after)) = rest.split_once("```") else {
        return body.to_string();
    };
    let items: String = block
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("expect "))
        .map(|l| match l.split_once(' ') {
            Some((n, what)) => format!("{n}. {what}\n"),
            None => format!("- {l}\n"),
        })
        .collect();
    format!("{before}{items}{after}")
}

/// Recomputes the fenced `worked-example` block with the scoring code (method version 2, one
/// brand, every complaint made in the window). Lines:
///
/// - `N answered after X min|h` (optionally `, sent elsewhere; answered in public after Y min|h`
///   or `, sent elsewhere; no public answer`),
/// - `N waiting, followed X min|h`,
/// - `N praise, no reply needed`, `N cut off, followed X min|h` (its listed reply is missing),
/// - `expect KEY VALUE…` for complaints, not_needing_reply, cut_off (counts), answered_1h,
///   answered_24h, public_1h, public_24h, sent_elsewhere (one decimal), answered_24h_ci (four
///   decimals), median_reply_s, p90_reply_s, public_median_s (seconds), score (whole) and
///   score_ci (one decimal).
pub fn check_worked_example(page: &str) -> Result<()> {
    let block = block(page, "worked-example")?;
    // Complaints are made at 0 (answered ones) or followed-time before as-of (waiting ones).
    let as_of = 30 * crate::time::DAY;
    let mut complaints = Vec::new();
    let mut expect = Vec::new();
    for line in block.lines() {
        let (head, deflection) = match line.split_once(", sent elsewhere; ") {
            Some((h, rest)) => (h, Some(rest)),
            None => (line, None),
        };
        let w: Vec<&str> = head.split_whitespace().collect();
        let mut c = match w.as_slice() {
            [_, "answered", "after", n, unit] => complaint(0, Some(seconds(n, unit)?)),
            [_, "waiting,", "followed", n, unit] => complaint(as_of - seconds(n, unit)?, None),
            [_, "praise,", "no", "reply", "needed"] => Complaint {
                needs_reply: false,
                ..complaint(0, None)
            },
            [_, "cut", "off,", "followed", n, unit] => Complaint {
                cut_off: true,
                ..complaint(as_of - seconds(n, unit)?, None)
            },
            ["expect", key, values @ ..] => {
                expect.push((key.to_string(), values.join(" ")));
                continue;
            }
            _ => bail!("unreadable line {line:?}"),
        };
        if let Some(rest) = deflection {
            c.deflected = true;
            let w: Vec<&str> = rest.split_whitespace().collect();
            c.public_s = match w.as_slice() {
                ["answered", "in", "public", "after", n, unit] => Some(seconds(n, unit)?),
                ["no", "public", "answer"] => None,
                _ => bail!("unreadable line {line:?}"),
            };
        }
        complaints.push(c);
    }
    let method = Method {
        as_of,
        window_days: 90,
        version: Version::V2,
        score: ScoreBasis::Reply,
        min_complaints: 1,
        bootstrap: 1000,
        seed: 1,
    };
    let b = crate::score::one_brand(&complaints, &method);
    let opt = |x: Option<f64>, d: usize| x.map_or("none".into(), |v| format!("{v:.d$}"));
    let opt_i = |x: Option<i64>| x.map_or("none".into(), |v| v.to_string());
    let pair = |x: Option<[f64; 2]>, d: usize| {
        x.map_or("none".into(), |[a, b]| format!("{a:.d$} {b:.d$}"))
    };
    for (key, want) in expect {
        let got = match key.as_str() {
            "complaints" => b.complaints.to_string(),
            "not_needing_reply" => b.not_needing_reply.to_string(),
            "cut_off" => b.cut_off.to_string(),
            "answered_1h" => opt(b.answered_1h, 1),
            "answered_24h" => opt(b.answered_24h, 1),
            "public_1h" => opt(b.public_1h, 1),
            "public_24h" => opt(b.public_24h, 1),
            "sent_elsewhere" => opt(b.sent_elsewhere, 1),
            "answered_24h_ci" => pair(b.answered_24h_ci, 4),
            "median_reply_s" => opt_i(b.median_reply_s),
            "p90_reply_s" => opt_i(b.p90_reply_s),
            "public_median_s" => opt_i(b.public_median_s),
            "score" => opt(b.score, 0),
            "score_ci" => pair(b.score_ci, 1),
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

/// Recomputes the fenced `worked-example-hours` block (methodology section 12) with the scoring
/// code: one brand in UTC with the default office hours, as of the Monday after. Lines:
/// `N made DAY HH:MM, answered after X min|h` or `N made DAY HH:MM, waiting` (DAY: Mon…Sun of one
/// week), and `expect office|off_hours COMPLAINTS SHARE`, `expect off_hours_gap GAP` and
/// `expect off_hours_gap_ci LO HI` (shares with four decimals).
pub fn check_hours_example(page: &str) -> Result<()> {
    let block = block(page, "worked-example-hours")?;
    // Monday 5 January 1970, 00:00 UTC.
    const MONDAY: i64 = 4 * crate::time::DAY;
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut complaints = Vec::new();
    let mut expect = Vec::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(e) = line.strip_prefix("expect ") {
            let (k, v) = e.split_once(' ').unwrap_or((e, ""));
            expect.push((k.to_string(), v.to_string()));
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let (day, time, rest) = match w.as_slice() {
            [_, "made", day, time, rest @ ..] => (day, time.trim_end_matches(','), rest),
            _ => bail!("unreadable line {line:?}"),
        };
        let day = DAYS
            .iter()
            .position(|d| d == day)
            .with_context(|| format!("unknown day in {line:?}"))? as i64;
        let (h, m) = time
            .split_once(':')
            .with_context(|| format!("unreadable time in {line:?}"))?;
        let at = MONDAY + day * crate::time::DAY + seconds(h, "h")? + seconds(m, "min")?;
        let reply = match rest {
            ["answered", "after", n, unit] => Some(seconds(n, unit)?),
            ["waiting"] => None,
            _ => bail!("unreadable line {line:?}"),
        };
        complaints.push(Complaint {
            customer: complaints.len() as u32,
            ..complaint(at, reply)
        });
    }
    let method = Method {
        as_of: MONDAY + 7 * crate::time::DAY,
        window_days: 90,
        version: Version::V2,
        score: ScoreBasis::Reply,
        min_complaints: 1,
        bootstrap: 100,
        seed: 1,
    };
    let b = crate::score::one_brand(&complaints, &method);
    let hours = b.hours.context("no office-hours figures")?;
    let f4 = |x: Option<f64>| x.map_or("none".into(), |v| format!("{v:.4}"));
    for (key, want) in expect {
        let got = match key.as_str() {
            "office" => format!(
                "{} {}",
                hours.office.complaints,
                f4(hours.office.answered_1h)
            ),
            "off_hours" => format!(
                "{} {}",
                hours.off_hours.complaints,
                f4(hours.off_hours.answered_1h)
            ),
            "off_hours_gap" => f4(b.off_hours_gap),
            "off_hours_gap_ci" => b
                .off_hours_gap_ci
                .map_or("none".into(), |[a, c]| format!("{a:.4} {c:.4}")),
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
