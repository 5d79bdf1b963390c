//! The `vasi` command: runs WASI preview1 programs with a world the user shapes.
//!
//! ```text
//! vasi run [OPTIONS] <WASM> [ARGS]...
//! vasi pack [OPTIONS] <WASM> -o <BUNDLE>
//! vasi inspect <BUNDLE>
//! ```
//!
//! Errors are one line on stderr, never a backtrace; exit codes are listed in
//! `vasi run --help`.

mod args;
mod bundle;
mod cache;
mod engine;
mod global;
mod inspect;
mod interface;
mod invoke;
mod limits;
mod load;
mod pack;
mod run;

use std::process::ExitCode;

/// The exit code of a bad command line (as clap's usage errors).
const EXIT_USAGE: u8 = 2;
/// The exit code when vasi itself cannot run the guest (a missing file, an
/// invalid module, a mount that does not exist...).
const EXIT_CANNOT_RUN: u8 = 125;
/// The exit code when the guest traps (as `wasmtime run`: 128 + SIGABRT).
const EXIT_TRAP: u8 = 134;

fn main() -> ExitCode {
    let cli = args::parse();
    match cli {
        args::Cli::Run(run) => match run::run(&run) {
            Ok(code) => ExitCode::from(code as u8),
            Err(run::Failure::CannotRun(msg)) => {
                eprintln!("vasi: error: {msg}");
                ExitCode::from(EXIT_CANNOT_RUN)
            }
            Err(run::Failure::Trap(msg)) => {
                eprintln!("vasi: guest trapped: {msg}");
                ExitCode::from(EXIT_TRAP)
            }
            Err(run::Failure::Limit(limit, msg)) => {
                eprintln!("vasi: limit: {msg}");
                ExitCode::from(limit.exit_code())
            }
            Err(run::Failure::Usage(msg)) => {
                eprintln!("vasi: error: {msg}");
                ExitCode::from(EXIT_USAGE)
            }
        },
        args::Cli::Compile(c) => match load::compile(&c) {
            Ok(()) => ExitCode::SUCCESS,
            Err(run::Failure::Usage(msg)) => {
                eprintln!("vasi: error: {msg}");
                ExitCode::from(EXIT_USAGE)
            }
            Err(
                run::Failure::CannotRun(msg)
                | run::Failure::Trap(msg)
                | run::Failure::Limit(_, msg),
            ) => {
                eprintln!("vasi: error: {msg}");
                ExitCode::from(EXIT_CANNOT_RUN)
            }
        },
        args::Cli::Pack(pack) => report(pack::pack(&pack)),
        args::Cli::Inspect(inspect) => report(inspect::inspect(&inspect)),
    }
}

/// Prints a subcommand's report, or its one-line error (exit 125).
fn report(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(out) => {
            print!("{}", if out.ends_with('\n') { out } else { out + "\n" });
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("vasi: error: {msg}");
            ExitCode::from(EXIT_CANNOT_RUN)
        }
    }
}
