//! `replyrank collect [--brand ID]… [--source NAME]… [--since DATE]`

use anyhow::{Result, bail};

use replyrank::collect::{self, Options, Secrets};
use replyrank::root::SiteRoot;

pub fn run(
    root: &SiteRoot,
    brands: Vec<String>,
    sources: Vec<String>,
    since: Option<&str>,
) -> Result<()> {
    let since = since
        .map(|s| {
            replyrank::time::parse_rfc3339(s).or_else(|_| {
                s.parse::<jiff::civil::Date>()
                    .map_err(|e| e.to_string())
                    .and_then(|d| {
                        jiff::tz::TimeZone::UTC
                            .to_timestamp(d.at(0, 0, 0, 0))
                            .map(|t| t.as_second())
                            .map_err(|e| e.to_string())
                    })
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "--since {s:?}: expected an RFC 3339 instant or a date (2025-01-31)"
                        )
                    })
            })
        })
        .transpose()?;
    let report = collect::run(
        root,
        Options {
            brands,
            sources,
            since,
            secrets: Secrets::from_env(),
            key: replyrank::publish::Pseudonymiser::from_env()?,
            progress: true,
            ..Options::default()
        },
    )?;
    let t = report.traffic;
    println!(
        "collected {} new posts from {} accounts in {:.1} s: {} requests, {} retries, {} throttled",
        report.new_posts(),
        report.accounts.len(),
        report.elapsed.as_secs_f64(),
        t.requests,
        t.retries,
        t.throttled
    );
    if report.forgotten.published + report.forgotten.private > 0 {
        println!(
            "forgot {} post(s) the networks say are deleted ({} published, {} private)",
            report.forgotten.published.max(report.forgotten.private),
            report.forgotten.published,
            report.forgotten.private
        );
    }
    if report.pruned > 0 {
        println!(
            "pruned {} month(s) of the private store older than the ranking window",
            report.pruned
        );
    }
    let failed = report.failed();
    if failed > 0 {
        bail!(
            "{failed} of {} accounts failed (see above); everything fetched is stored and the \
             next run resumes from the saved cursors",
            report.accounts.len()
        );
    }
    Ok(())
}
