//! Command-line arguments: parsed by clap, then put in mount order.

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

/// The command line.
#[derive(Parser, Debug)]
#[command(
    name = "vasi",
    version,
    about = "Run WASI preview1 programs in a world you shape"
)]
struct Top {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a WASI program (a wasm module exporting `_start`).
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
}

const RUN_HELP: &str = "\
Examples:
  vasi run app.wasm --verbose              run app.wasm with one argument
  vasi run --dir ./data::/data app.wasm    mount ./data at /data
  vasi run --mem-dir /tmp app.wasm         give the guest an in-memory /tmp
  vasi run --env LANG=C --stdin in.txt app.wasm

Exit codes:
  N     the guest's own exit code (0 when _start returns)
  2     bad command line
  125   vasi could not run the guest (missing file, invalid module, bad mount)
  134   the guest trapped (e.g. a panic, or a bad pointer passed to WASI)";

/// `vasi run`'s arguments.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// Mount the host directory HOST at GUEST (default: at HOST as written).
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Mount an empty in-memory directory at GUEST.
    #[arg(long = "mem-dir", value_name = "GUEST")]
    mem_dirs: Vec<String>,
    /// Set an environment variable (NAME alone takes vasi's own value).
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    pub(crate) envs: Vec<String>,
    /// Pass all of vasi's environment variables to the guest.
    #[arg(long)]
    pub(crate) inherit_env: bool,
    /// The program name the guest sees as its first argument (default: WASM).
    #[arg(long, value_name = "NAME")]
    pub(crate) argv0: Option<String>,
    /// Read the guest's stdin from FILE instead of vasi's stdin.
    #[arg(long, value_name = "FILE")]
    pub(crate) stdin: Option<PathBuf>,
    /// The wasm module to run.
    pub(crate) wasm: PathBuf,
    /// Arguments for the guest (after the module; use `--` before ones that
    /// look like vasi flags).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub(crate) args: Vec<String>,
    /// Mounts in command-line order (filled after parsing).
    #[arg(skip)]
    pub(crate) mounts: Vec<Mount>,
}

/// A directory to preopen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mount {
    /// A host directory.
    Host { host: PathBuf, guest: String },
    /// A new in-memory directory.
    Mem { guest: String },
}

/// The parsed command line.
pub(crate) enum Cli {
    /// `vasi run`.
    Run(RunArgs),
}

/// Parses the process's arguments; exits with a usage message on error.
pub(crate) fn parse() -> Cli {
    let matches = Top::command().get_matches();
    let top = Top::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match top.command {
        Command::Run(mut run) => {
            let (_, sub) = matches.subcommand().expect("a subcommand");
            run.mounts = mounts(&run, sub);
            Cli::Run(run)
        }
    }
}

/// `--dir` and `--mem-dir` mounts in the order they were given.
fn mounts(run: &RunArgs, m: &ArgMatches) -> Vec<Mount> {
    let mut all: Vec<(usize, Mount)> = Vec::new();
    let indices = |id: &str| {
        m.indices_of(id)
            .map(|i| i.collect::<Vec<_>>())
            .unwrap_or_default()
    };
    for (i, spec) in indices("dirs").into_iter().zip(&run.dirs) {
        let (host, guest) = match spec.split_once("::") {
            Some((h, g)) => (h, g),
            None => (spec.as_str(), spec.as_str()),
        };
        all.push((
            i,
            Mount::Host {
                host: host.into(),
                guest: guest.to_string(),
            },
        ));
    }
    for (i, guest) in indices("mem_dirs").into_iter().zip(&run.mem_dirs) {
        all.push((
            i,
            Mount::Mem {
                guest: guest.clone(),
            },
        ));
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, m)| m).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_from(args: &[&str]) -> RunArgs {
        let matches = Top::command().try_get_matches_from(args).unwrap();
        let Command::Run(mut run) = Top::from_arg_matches(&matches).unwrap().command;
        run.mounts = mounts(&run, matches.subcommand().unwrap().1);
        run
    }

    #[test]
    fn mounts_keep_command_line_order() {
        let run = parse_from(&[
            "vasi",
            "run",
            "--mem-dir",
            "/tmp",
            "--dir",
            "a::/data",
            "--dir",
            "b",
            "x.wasm",
            "--flag",
            "y",
        ]);
        assert_eq!(
            run.mounts,
            [
                Mount::Mem {
                    guest: "/tmp".into()
                },
                Mount::Host {
                    host: "a".into(),
                    guest: "/data".into()
                },
                Mount::Host {
                    host: "b".into(),
                    guest: "b".into()
                },
            ]
        );
        assert_eq!(run.wasm, PathBuf::from("x.wasm"));
        assert_eq!(run.args, ["--flag", "y"]);
    }

    #[test]
    fn double_dash_passes_flags_through() {
        let run = parse_from(&["vasi", "run", "x.wasm", "--", "--dir", "z"]);
        assert!(run.mounts.is_empty());
        assert_eq!(run.args, ["--", "--dir", "z"].map(String::from)[1..]);
    }
}
