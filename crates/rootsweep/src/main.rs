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

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose, cli.global.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
