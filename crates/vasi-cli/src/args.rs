//! Command-line arguments: parsed by clap, then put in mount order.

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
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
    /// Run a WASI program (a wasm module exporting `_start`, or any exported
    /// function with --invoke).
    #[command(after_help = RUN_HELP)]
    Run(Box<RunArgs>),
    /// Compile a wasm module ahead of time to a `.cwasm` file that `vasi run`
    /// runs directly (on this machine, with this vasi).
    #[command(after_help = COMPILE_HELP)]
    Compile(CompileArgs),
    /// Pack a module with filesystem images and run configuration into one
    /// bundle file (still a valid wasm module).
    #[command(after_help = crate::pack::PACK_HELP)]
    Pack(crate::pack::PackArgs),
    /// Show what a bundle holds (mounts, file counts and sizes, config)
    /// without running it.
    Inspect(crate::inspect::InspectArgs),
}

const COMPILE_HELP: &str = "\
Examples:
  vasi compile app.wasm                     writes app.cwasm
  vasi compile app.wasm -o /tmp/app.cwasm
  vasi compile --for-fuel app.wasm          for `vasi run --fuel N app.cwasm`
  vasi run app.cwasm --verbose              run it (same flags as a .wasm)

A .cwasm is native code for this CPU and this vasi version; `vasi run` refuses
one built by another vasi, wasmtime or engine setting with one line saying
which. `vasi run` caches compiled code by itself, so this is only needed to
ship compiled code or to skip the first compile.";

const RUN_HELP: &str = "\
Examples:
  vasi run app.wasm --verbose              run app.wasm with one argument
  vasi run -- app.wasm --dir x             pass flags that look like vasi's through
  vasi run --dir ./data::/data app.wasm    mount ./data at /data
  vasi run --mem-dir /tmp app.wasm         give the guest an in-memory /tmp
  vasi run --env LANG=C --stdin in.txt app.wasm
  vasi run --trace --trace-filter path,fd app.wasm     see its file calls
  vasi run --deterministic --seed 7 app.wasm           a reproducible run
  vasi run --timeout 5s --max-memory 64M app.wasm      a bounded run
  cat app.wasm | vasi run -                            the module from stdin
  vasi run --global TIMEOUT=250ms --global VERBOSE=true app.wasm
  vasi run --invoke add lib.wasm 1 2                    call add(1, 2), print it
  vasi run --invoke run --dir lib::/lib python.wasm -c 'print(1)'
  vasi run -W exceptions=y,simd=n app.wasm              wasm proposals, as wasmtime
  vasi run --unknown-imports=trap plugin.wasm           stub imports vasi lacks
  vasi run --no-cache app.wasm                          compile afresh, store nothing
  vasi run app.bundle.wasm more args                   run a bundle (vasi pack)

Bundles (made by vasi pack) bring their own mounts and settings; the command
line adds to them or overrides them:
  adds       ARGS (after the bundle's arguments), --env (a name set on both:
             the command line's value), --global (likewise), mounts (after
             the bundle's; one at the same guest path replaces the bundle's)
  overrides  --argv0, --seed, --max-memory, --max-open-files, --fuel,
             --timeout; --deterministic turns it on if the bundle does not

Compile cache: compiled code is kept in $VASI_CACHE_DIR, else
$XDG_CACHE_HOME/vasi, else ~/.cache/vasi; at most $VASI_CACHE_MAX_SIZE (default
1G), least recently used entries go first. VASI_CACHE_LOG=1 reports hits and
misses on stderr.

Exit codes:
  N     the guest's own exit code (0 when _start returns; with --invoke, 0
        when the function returns, or its i32 result with --invoke-exit-code)
  2     bad command line (also a bad --invoke argument)
  121   the guest hit --max-memory
  122   the guest hit --max-open-files
  123   the guest ran out of --fuel
  124   the guest ran longer than --timeout
  125   vasi could not run the guest (missing file, invalid module, unknown
        imports, no entry point, bad mount, bad bundle)
  134   the guest trapped (e.g. a panic, or a bad pointer passed to WASI)";

/// `vasi run`'s arguments.
#[derive(Args, Debug, Clone)]
pub(crate) struct RunArgs {
    /// Mount the host directory HOST at GUEST (default: at HOST as written);
    /// `:ro` makes it read-only.
    #[arg(
        help_heading = "Mounts",
        long = "dir",
        value_name = "HOST[::GUEST][:ro]"
    )]
    dirs: Vec<String>,
    /// Mount an empty in-memory directory at GUEST, holding at most SIZE bytes
    /// (e.g. 64M; default 1G).
    #[arg(help_heading = "Mounts", long = "mem-dir", value_name = "GUEST[:SIZE]")]
    mem_dirs: Vec<String>,
    /// Mount an in-memory copy of the host directory HOST at GUEST (HOST is
    /// read once, at start).
    #[arg(help_heading = "Mounts", long = "mem-copy", value_name = "HOST::GUEST")]
    mem_copies: Vec<String>,
    /// Mount the tar archive FILE, read-only, at GUEST.
    #[arg(help_heading = "Mounts", long = "tar", value_name = "FILE::GUEST")]
    tars: Vec<String>,
    /// Mount the host directory HOST at GUEST copy-on-write: the guest may
    /// change anything, changes stay in memory, HOST is never modified.
    #[arg(help_heading = "Mounts", long = "overlay", value_name = "HOST::GUEST")]
    overlays: Vec<String>,
    /// Listen on the TCP address ADDR (e.g. 127.0.0.1:8080) and give the guest
    /// the listener to accept connections from (fds after the directories).
    #[arg(help_heading = "Mounts", long = "listen", value_name = "ADDR")]
    pub(crate) listens: Vec<String>,
    /// Set an environment variable (NAME alone takes vasi's own value).
    #[arg(
        help_heading = "Guest environment",
        long = "env",
        value_name = "NAME[=VALUE]"
    )]
    pub(crate) envs: Vec<String>,
    /// Pass all of vasi's environment variables to the guest.
    #[arg(help_heading = "Guest environment", long)]
    pub(crate) inherit_env: bool,
    /// The program name the guest sees as its first argument (default: WASM).
    #[arg(help_heading = "Guest environment", long, value_name = "NAME")]
    pub(crate) argv0: Option<String>,
    /// Set the global NAME of the guest's `vasi_globals_v1` module (see
    /// docs/globals-abi.md): true/false (1/0), an integer (42, -3 as i64
    /// bits, 0x2a), a float (0.5, as f64 bits) or a duration (5ns, 10us,
    /// 250ms, 5s, 1m, 2h, as nanoseconds).
    #[arg(help_heading = "Guest environment", long = "global", value_name = "NAME=VALUE", value_parser = crate::global::parse_global)]
    pub(crate) globals: Vec<(String, u64)>,
    /// Read the guest's stdin from FILE instead of vasi's stdin.
    #[arg(help_heading = "Guest environment", long, value_name = "FILE")]
    pub(crate) stdin: Option<PathBuf>,
    /// Print every hostcall with its decoded arguments, result and duration,
    /// one line each, to stderr (or to FILE).
    #[arg(help_heading = "Debugging", long, value_name = "FILE", num_args = 0..=1, require_equals = true)]
    pub(crate) trace: Option<Option<PathBuf>>,
    /// Trace only these hostcall families: args, environ, clock, fd, path,
    /// poll, proc, random, sched, sock.
    #[arg(
        help_heading = "Debugging",
        long,
        value_name = "FAMILY,...",
        value_delimiter = ',',
        requires = "trace"
    )]
    pub(crate) trace_filter: Vec<String>,
    /// Reproducible run: time starts at 2020-01-01T00:00:00Z and advances 1 µs
    /// per clock read and by exactly what the guest sleeps (without waiting);
    /// random bytes come from a fixed seed. The trace leaves out durations.
    #[arg(help_heading = "Debugging", long)]
    pub(crate) deterministic: bool,
    /// The seed of --deterministic randomness (default 0).
    #[arg(
        help_heading = "Debugging",
        long,
        value_name = "N",
        requires = "deterministic"
    )]
    pub(crate) seed: Option<u64>,
    /// Cap the guest's memory at SIZE (e.g. 64M): all its linear memories
    /// and tables together, a table element counted as 8 bytes; growing
    /// beyond it ends the guest (exit 121).
    #[arg(help_heading = "Limits", long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) max_memory: Option<u64>,
    /// Cap the guest's open descriptors (stdio and preopens included) at N;
    /// needing more ends the guest (exit 122).
    #[arg(help_heading = "Limits", long, value_name = "N")]
    pub(crate) max_open_files: Option<u32>,
    /// Cap the threads a wasi-threads guest has alive at once (besides its
    /// main thread) at N; a spawn past it fails in the guest (default 1024).
    #[arg(help_heading = "Limits", long, value_name = "N")]
    pub(crate) max_threads: Option<u32>,
    /// Give the guest N units of fuel (about one per wasm instruction);
    /// running out ends it (exit 123).
    #[arg(help_heading = "Limits", long, value_name = "N")]
    pub(crate) fuel: Option<u64>,
    /// End the guest after DURATION of wall time (e.g. 500ms, 10s, 2m), also
    /// when it is blocked in WASI (exit 124).
    #[arg(help_heading = "Limits", long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) timeout: Option<std::time::Duration>,
    /// Call the exported function NAME instead of `_start` (after
    /// `_initialize`, if the module exports it); ARGS are its arguments,
    /// parsed by its signature (i32, i64, f32, f64; a function without
    /// parameters leaves them to the guest's argv, where they also go), and
    /// its results are printed one per line.
    #[arg(long, value_name = "NAME", help_heading = "Entry point")]
    pub(crate) invoke: Option<String>,
    /// With --invoke: exit with the function's single i32 result (its low 8
    /// bits, as for proc_exit) instead of printing it.
    #[arg(long, requires = "invoke", help_heading = "Entry point")]
    pub(crate) invoke_exit_code: bool,
    /// Imports vasi does not provide: `error` refuses to run, naming them
    /// all; `trap` links stubs that trap when called; `default` links stubs
    /// that return zeros (and zeroed globals, tables, memories).
    #[arg(
        long,
        value_enum,
        value_name = "POLICY",
        help_heading = "Module",
        default_value_t = UnknownImports::Error,
        hide_possible_values = true
    )]
    unknown_imports: UnknownImports,
    #[command(flatten)]
    pub(crate) wasm_flags: WasmFlags,
    /// Compile afresh and store nothing in the compile cache.
    #[arg(long, help_heading = "Module")]
    pub(crate) no_cache: bool,
    /// The wasm module to run (`-` reads it from stdin; a `.cwasm` from
    /// `vasi compile` runs as well).
    pub(crate) wasm: PathBuf,
    /// Arguments for the guest (after the module; use `--` before ones that
    /// look like vasi flags).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub(crate) args: Vec<String>,
    /// Mounts in command-line order (filled after parsing).
    #[arg(skip)]
    pub(crate) mounts: Vec<Mount>,
    /// The bundle WASM is, if it is one (filled when it is loaded).
    #[arg(skip)]
    pub(crate) bundle: Option<std::sync::Arc<vasi_bundle::Bundle>>,
    /// The policy for unknown imports: --unknown-imports, else `-W
    /// unknown-imports-*`, else `error` (filled after parsing).
    #[arg(skip)]
    pub(crate) unknown: UnknownImports,
    /// The wasm proposals asked for, in order (filled after parsing).
    #[arg(skip)]
    pub(crate) features: Vec<(String, bool)>,
}

/// What to do with an import vasi does not provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub(crate) enum UnknownImports {
    /// Refuse to run, naming every unknown import.
    #[default]
    Error,
    /// Link a stub that traps when called.
    Trap,
    /// Link a stub that returns zero values.
    Default,
}

/// The wasm proposals to turn on or off (both spellings).
#[derive(Args, Debug, Default, Clone)]
pub(crate) struct WasmFlags {
    /// Turn wasm proposals on or off, e.g. `exceptions=y,simd=n` (known:
    /// bulk-memory, custom-page-sizes, exceptions, extended-const,
    /// function-references, gc, memory64, multi-memory, multi-value,
    /// reference-types, relaxed-simd, simd, tail-call, threads,
    /// wide-arithmetic).
    #[arg(long = "wasm", value_name = "NAME=y|n,...", help_heading = "Module")]
    wasm_features: Vec<String>,
    /// The same, in `wasmtime run`'s spelling; also takes
    /// `unknown-imports-trap=y` and `unknown-imports-default=y`.
    #[arg(short = 'W', value_name = "NAME=y|n,...", help_heading = "Module")]
    w_features: Vec<String>,
}

/// The proposals in order, and the unknown-imports policy of `-W`.
type ParsedWasmFlags = (Vec<(String, bool)>, Option<UnknownImports>);

impl WasmFlags {
    /// The proposals in order, and the unknown-imports policy `-W` asked for.
    fn parse(&self) -> Result<ParsedWasmFlags, String> {
        let mut features = Vec::new();
        let mut policy = None;
        for spec in self.wasm_features.iter().chain(&self.w_features) {
            crate::engine::parse_wasm_flag(spec, &mut features, &mut policy)?;
        }
        Ok((features, policy))
    }
}

/// `vasi compile`'s arguments.
#[derive(Args, Debug)]
pub(crate) struct CompileArgs {
    #[command(flatten)]
    pub(crate) wasm_flags: WasmFlags,
    /// Compile for runs with --fuel (metered code).
    #[arg(long)]
    pub(crate) for_fuel: bool,
    /// Compile for runs with --timeout (code with interruption checks).
    #[arg(long)]
    pub(crate) for_timeout: bool,
    /// Where to write the compiled module (default: WASM with `.cwasm`).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// The wasm module to compile.
    pub(crate) wasm: PathBuf,
    /// The wasm proposals asked for, in order (filled after parsing).
    #[arg(skip)]
    pub(crate) features: Vec<(String, bool)>,
}

/// A directory to preopen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mount {
    /// A host directory.
    Host {
        host: PathBuf,
        guest: String,
        read_only: bool,
    },
    /// A new in-memory directory with a byte quota.
    Mem { guest: String, size: Option<u64> },
    /// An in-memory copy of a host directory.
    MemCopy { host: PathBuf, guest: String },
    /// A tar image, read-only.
    Tar { file: PathBuf, guest: String },
    /// A host directory under an in-memory copy-on-write layer.
    Overlay { host: PathBuf, guest: String },
    /// The bundle's mount number `index`.
    Bundle { index: usize, guest: String },
}

/// The parsed command line.
pub(crate) enum Cli {
    /// `vasi run`.
    Run(Box<RunArgs>),
    /// `vasi compile`.
    Compile(CompileArgs),
    /// `vasi pack`.
    Pack(crate::pack::PackArgs),
    /// `vasi inspect`.
    Inspect(crate::inspect::InspectArgs),
}

/// Parses the process's arguments; exits with a usage message on error.
pub(crate) fn parse() -> Cli {
    let matches = Top::command().get_matches();
    let top = Top::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let usage = |msg: String| -> ! {
        Top::command()
            .error(clap::error::ErrorKind::ValueValidation, msg)
            .exit()
    };
    match top.command {
        Command::Run(mut run) => {
            let (_, sub) = matches.subcommand().expect("a subcommand");
            run.mounts = mounts(&run, sub).unwrap_or_else(|m| usage(m));
            finish_run(&mut run, sub).unwrap_or_else(|m| usage(m));
            Cli::Run(run)
        }
        Command::Compile(mut c) => {
            let (features, policy) = c.wasm_flags.parse().unwrap_or_else(|m| usage(m));
            if policy.is_some() {
                usage("-W unknown-imports-*: a choice of `vasi run`, not of `vasi compile`".into());
            }
            c.features = features;
            Cli::Compile(c)
        }
        Command::Pack(mut pack) => {
            let (_, sub) = matches.subcommand().expect("a subcommand");
            if let Err(msg) = crate::pack::finish(&mut pack, sub) {
                Top::command()
                    .error(clap::error::ErrorKind::ValueValidation, msg)
                    .exit()
            }
            Cli::Pack(pack)
        }
        Command::Inspect(inspect) => Cli::Inspect(inspect),
    }
}

/// Fills the fields of `run` that depend on several flags.
fn finish_run(run: &mut RunArgs, m: &ArgMatches) -> Result<(), String> {
    let (features, policy) = run.wasm_flags.parse()?;
    run.features = features;
    let explicit =
        m.value_source("unknown_imports") == Some(clap::parser::ValueSource::CommandLine);
    run.unknown = match (explicit, policy) {
        (false, Some(p)) => p,
        _ => run.unknown_imports,
    };
    Ok(())
}

/// Every mount flag in the order given; a bad spec is a usage error.
fn mounts(run: &RunArgs, m: &ArgMatches) -> Result<Vec<Mount>, String> {
    let mut all: Vec<(usize, Mount)> = Vec::new();
    let indices = |id: &str| {
        m.indices_of(id)
            .map(|i| i.collect::<Vec<_>>())
            .unwrap_or_default()
    };
    for (i, spec) in indices("dirs").into_iter().zip(&run.dirs) {
        let (spec, read_only) = match spec.strip_suffix(":ro") {
            Some(rest) => (rest, true),
            None => (spec.as_str(), false),
        };
        let (host, guest) = spec.split_once("::").unwrap_or((spec, spec));
        all.push((
            i,
            Mount::Host {
                host: host.into(),
                guest: guest.to_string(),
                read_only,
            },
        ));
    }
    for (i, spec) in indices("mem_dirs").into_iter().zip(&run.mem_dirs) {
        let (guest, size) = match spec.rsplit_once(':') {
            Some((guest, size)) => (guest, Some(parse_size(size)?)),
            None => (spec.as_str(), None),
        };
        all.push((
            i,
            Mount::Mem {
                guest: guest.to_string(),
                size,
            },
        ));
    }
    for (i, spec) in indices("mem_copies").into_iter().zip(&run.mem_copies) {
        let (host, guest) = two_parts("--mem-copy", spec, "HOST::GUEST")?;
        all.push((
            i,
            Mount::MemCopy {
                host: host.into(),
                guest,
            },
        ));
    }
    for (i, spec) in indices("tars").into_iter().zip(&run.tars) {
        let (file, guest) = two_parts("--tar", spec, "FILE::GUEST")?;
        all.push((
            i,
            Mount::Tar {
                file: file.into(),
                guest,
            },
        ));
    }
    for (i, spec) in indices("overlays").into_iter().zip(&run.overlays) {
        let (host, guest) = two_parts("--overlay", spec, "HOST::GUEST")?;
        all.push((
            i,
            Mount::Overlay {
                host: host.into(),
                guest,
            },
        ));
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, m)| m).collect())
}

fn two_parts(flag: &str, spec: &str, form: &str) -> Result<(String, String), String> {
    match spec.split_once("::") {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_string(), b.to_string())),
        _ => Err(format!("{flag} {spec}: expected {form}")),
    }
}

/// A size such as `4096`, `64K`, `64M`, `1G` or `1GiB` (binary units).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 10),
        Some((i, 'm' | 'M')) => (&t[..i], 20),
        Some((i, 'g' | 'G')) => (&t[..i], 30),
        Some((i, 't' | 'T')) => (&t[..i], 40),
        _ => (t, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("invalid size {s:?} (use e.g. 4096, 64K, 64M, 1G)"))
}

/// A duration such as `250ms`, `5s`, `2m`, `1h`, `10us` or `5ns` (a bare
/// number is seconds; fractions allowed: `1.5s`).
pub(crate) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let nanos_per: f64 = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "" | "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => return Err(format!("invalid duration {s:?} (use e.g. 250ms, 5s, 2m)")),
    };
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 && n * nanos_per < 1.8e19 => Ok(
            std::time::Duration::from_nanos((n * nanos_per).round() as u64),
        ),
        _ => Err(format!("invalid duration {s:?} (use e.g. 250ms, 5s, 2m)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_from(args: &[&str]) -> RunArgs {
        let matches = Top::command().try_get_matches_from(args).unwrap();
        let Command::Run(mut run) = Top::from_arg_matches(&matches).unwrap().command else {
            panic!("not vasi run");
        };
        run.mounts = mounts(&run, matches.subcommand().unwrap().1).unwrap();
        finish_run(&mut run, matches.subcommand().unwrap().1).unwrap();
        *run
    }

    #[test]
    fn mounts_keep_command_line_order() {
        let run = parse_from(&[
            "vasi",
            "run",
            "--mem-dir",
            "/tmp",
            "--dir",
            "a::/data:ro",
            "--tar",
            "i.tar::/img",
            "--dir",
            "b",
            "--overlay",
            "c::/c",
            "--mem-dir",
            "/small:64K",
            "x.wasm",
            "--flag",
            "y",
        ]);
        let expected = [
            Mount::Mem {
                guest: "/tmp".into(),
                size: None,
            },
            Mount::Host {
                host: "a".into(),
                guest: "/data".into(),
                read_only: true,
            },
            Mount::Tar {
                file: "i.tar".into(),
                guest: "/img".into(),
            },
            Mount::Host {
                host: "b".into(),
                guest: "b".into(),
                read_only: false,
            },
            Mount::Overlay {
                host: "c".into(),
                guest: "/c".into(),
            },
            Mount::Mem {
                guest: "/small".into(),
                size: Some(64 << 10),
            },
        ];
        assert_eq!(run.mounts, expected);
        assert_eq!(run.wasm, PathBuf::from("x.wasm"));
        assert_eq!(run.args, ["--flag", "y"]);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        for bad in ["", "s", "5 parsecs", "-1s", "1e400s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn double_dash_passes_flags_through() {
        let run = parse_from(&["vasi", "run", "x.wasm", "--", "--dir", "z"]);
        assert!(run.mounts.is_empty());
        assert_eq!(run.args, ["--", "--dir", "z"].map(String::from)[1..]);
    }
}
