//! The `replyrank` binary: a thin layer over the library.

mod cli;
mod cmd;

/// Import and scoring allocate millions of small strings across threads; mimalloc handles that
/// far better than the system allocator (see the benchmark in README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use replyrank::root::SiteRoot;

fn main() {
    let cli = cli::Cli::parse();
    let at = |output: &std::path::Path| SiteRoot::new(&cli.root, output);
    let result = match cli.command {
        cli::Command::Import {
            files,
            format,
            source,
            columns,
            time_format,
            tz,
        } => cmd::import::run(
            &SiteRoot::at(&cli.root),
            &files,
            format,
            source,
            columns,
            time_format,
            &tz,
        ),
        cli::Command::Build {
            output,
            base_url,
            as_of,
        } => cmd::build::run(&at(&output), base_url, as_of.as_deref(), cli.verbose),
        cli::Command::Check { output } => cmd::check::run(&at(&output)),
        cli::Command::Serve { output, port } => cmd::serve::run(&at(&output), port),
        cli::Command::Collect {
            brands,
            sources,
            since,
        } => cmd::collect::run(&SiteRoot::at(&cli.root), brands, sources, since.as_deref()),
        cli::Command::Eval {
            labels,
            source,
            json,
            errors,
        } => cmd::eval::run(&SiteRoot::at(&cli.root), &labels, &source, json, errors),
        cli::Command::Reclassify { sources } => {
            cmd::reclassify::run(&SiteRoot::at(&cli.root), &sources)
        }
        cli::Command::Forget {
            targets,
            source,
            author,
        } => cmd::forget::run(
            &SiteRoot::at(&cli.root),
            &targets,
            source.as_deref(),
            author,
        ),
        cli::Command::Migrate => cmd::forget::migrate(&SiteRoot::at(&cli.root)),
        cli::Command::Audit { paths, output } => cmd::forget::audit(&at(&output), paths),
        cli::Command::Score { as_of, output } => {
            cmd::score::run(&at(&output), as_of.as_deref(), cli.verbose)
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
