//! The `replyrank` binary: a thin layer over the library.

mod cli;
mod cmd;

/// Import and scoring allocate millions of small strings across threads; mimalloc handles that
/// far better than the system allocator (see the benchmark in README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Import {
            files,
            format,
            source,
            columns,
            time_format,
            tz,
        } => cmd::import::run(&cli.root, &files, format, source, columns, time_format, &tz),
        cli::Command::Build {
            output,
            base_url,
            as_of,
        } => cmd::build::run(&cli.root, &output, base_url, as_of.as_deref(), cli.verbose),
        cli::Command::Check { output } => cmd::check::run(&cli.root, &output),
        cli::Command::Serve { output, port } => cmd::serve::run(&cli.root, &output, port),
        cli::Command::Collect {
            brands,
            sources,
            since,
        } => cmd::collect::run(&cli.root, brands, sources, since.as_deref()),
        cli::Command::Score { as_of, output } => {
            cmd::score::run(&cli.root, as_of.as_deref(), &output, cli.verbose)
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
