//! `rootsweep`: audit and remediate AWS Organizations member-account root users in bulk. The
//! binary is thin: it parses the command line, sets up logging and the runtime, and runs one
//! command from [`commands`]; the work is done by `rootsweep-core`.

mod cli;
mod commands;
mod error;
mod exit;
mod output;
mod plan;
mod settings;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, LogFormat};

fn init_logging(verbose: u8, format: LogFormat) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // Only rootsweep's own logs: the SDK's debug logs carry request details that have no place
    // on a terminal. ROOTSWEEP_LOG takes a full filter for debugging.
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("ROOTSWEEP_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!(
                "off,rootsweep={level},rootsweep_core={level}"
            ))
        });
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The most worker threads: those that work on accounts (the main thread runs the run's
/// dispatcher and its outputs).
///
/// A sweep waits on AWS far more than it computes: at about 2 ms of CPU per account, two
/// threads serve some 1,000 accounts a second, twice the highest AssumeRoot quota benchmarked
/// (AWS publishes none). More cost memory: glibc gives each busy thread its own heap arena, and
/// freed memory stays in the arena that had it. On a two-core machine, a 10,000-account delete
/// at 500 AssumeRoot calls a second peaked at 52.7 to 60.7 MiB with two worker threads, 59.8 MiB
/// with three, 62.8 MiB with four and 67.3 MiB with eight (docs/benchmarks.md); tokio would
/// start one per core.
const MOST_WORKER_THREADS: usize = 2;

fn build_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.clamp(1, MOST_WORKER_THREADS))
        .enable_all()
        .build()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose, cli.global.log_format);
    let runtime = match build_runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot start the async runtime: {error}"
            );
            return ExitCode::from(exit::USAGE);
        }
    };
    let terminal = commands::Terminal::detect();
    match runtime.block_on(commands::dispatch(cli, terminal, None)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "{}", error.render());
            ExitCode::from(error.code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_has_at_most_two_worker_threads_whatever_the_machine() {
        let runtime = build_runtime().expect("a runtime");
        let workers = runtime.metrics().num_workers();
        assert!((1..=MOST_WORKER_THREADS).contains(&workers), "{workers}");
    }
}
