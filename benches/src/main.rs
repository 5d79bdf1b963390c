//! vasi's benchmark harness (issue 6).
//!
//! In one process and on one wasmtime `Engine` (default configuration), it
//! runs the same guest benchmark module (`guest/src/bin/bench.rs`) through
//! vasi on `HostDir`, vasi on `MemFs` and wasmtime-wasi 48's own preview1, and
//! the same loops as plain native Rust, then prints a Markdown table of
//! ns/op with ratios and issue 6's target verdicts.
//!
//! # How timing is done
//!
//! - Guests: each (benchmark, host) sample is a fresh context + `Store` +
//!   instance (from an `InstancePre` linked once) whose `_start` runs N
//!   iterations. The guest calls the host import `vasi_bench.mark()` right
//!   before and right after its loop; the sample is the host-clock time
//!   between the two marks divided by N. Start-up, argument parsing and
//!   opening the file under test are outside the marks.
//! - Native: the same loop timed with `Instant` around it.
//! - N is calibrated: a first run with a small N estimates the cost of an op,
//!   then N is chosen so a sample takes about 0.25 s (0.02 s with `--quick`).
//!   Each cell is the median of `--reps` samples (5; 3 when one op takes over
//!   a second, such as wasmtime-wasi's quadratic readdir scan), taken
//!   round-robin across the hosts so drift in the machine's speed hits every
//!   column alike.
//! - `hello`: N whole instances in a row, each context (with the fixtures
//!   preopened) + store + instantiate from the `InstancePre` + `_start` +
//!   drop, timed together from the host. Beside it, wasmtime alone: the same
//!   module instantiated and dropped with trap stubs for imports.
//! - `instances`: in a child process per host (peak RSS is process-wide),
//!   1,000 hello instances in a row, all kept alive until the end; reports
//!   the total time and the child's peak RSS (`VmHWM`) above a baseline child
//!   that only compiled and linked the modules (medians of three children).

mod bench;
mod fixtures;
mod hosts;
mod machine;
mod native;

use anyhow::{bail, Context as _, Result};
use bench::{Bench, Target};
use fixtures::Fixtures;
use hosts::{GuestEnv, Host, Hosts, Run};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: bench-harness [--quick] [--reps N] [BENCH...]

Runs vasi's benchmarks (all by default) and prints a Markdown results table.
BENCH is one of: clock random write16 write1m read1m stat open_close readdir
args_env hello instances.

  --quick    small N, 16 MiB bulk file, 100 instances: a smoke test
  --reps N   samples per cell (default 5; the median is reported)
  VASI_BENCH_POOLING=1 in the environment: one Engine with wasmtime's
             pooling instance allocator instead of the default config
  --host H   measure only host H (repeatable): native, wasmtime-wasi,
             vasi-hostdir, vasi-memfs; the other cells stay empty (for
             profiling one host, e.g. under `perf record`)
";

/// How many hello-world instances the `instances` row keeps alive.
const INSTANCES: usize = 1_000;
/// How many children per host the `instances` row runs.
const INSTANCE_REPS: usize = 3;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--child-args-env") => {
            let n = args.get(1).context("--child-args-env N")?.parse()?;
            native::child_args_env(n);
            return Ok(());
        }
        Some("--child-instances") => {
            let [_, who, count, dir] = &args[..] else {
                bail!("--child-instances WHO COUNT DIR");
            };
            return child_instances(who, count.parse()?, dir.as_ref());
        }
        _ => {}
    }
    let mut opts = Options {
        quick: false,
        reps: 5,
        only: Vec::new(),
    };
    let mut benches = Vec::new();
    let mut instances = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--reps" => opts.reps = it.next().context("--reps N")?.parse()?,
            "--host" => {
                let name = it.next().context("--host NAME")?;
                opts.only.push(match name.as_str() {
                    "native" => Who::Native,
                    _ => Who::Wasm(
                        Host::from_name(name).with_context(|| format!("no host {name:?}"))?,
                    ),
                });
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "instances" => instances = true,
            name => match Bench::from_name(name) {
                Some(b) => benches.push(b),
                None => bail!("unknown benchmark {name:?}\n{USAGE}"),
            },
        }
    }
    if benches.is_empty() && !instances {
        benches = Bench::ALL.to_vec();
        instances = true;
    }
    if opts.reps == 0 {
        bail!("--reps must be at least 1");
    }

    let chunks = if opts.quick { 16 } else { 256 };
    eprintln!("creating fixtures ({chunks} MiB file, 10,000-entry directory)...");
    let fx = Fixtures::create(chunks)?;
    let engine = engine()?;
    let hosts = Hosts::new(&engine)?;
    let quick = opts.quick;
    let reps = opts.reps;
    let h = Harness {
        opts,
        fx: &fx,
        hosts: &hosts,
    };

    let mut out = String::new();
    writeln!(out, "{}", machine())?;
    writeln!(
        out,
        "Mode: {}, median of {} samples per cell (N calibrated to ~{} ms per sample).\n",
        if quick { "--quick" } else { "full" },
        reps,
        h.target_time().as_millis()
    )?;
    let mut notes = Vec::new();
    if !benches.is_empty() {
        writeln!(
            out,
            "| benchmark | native ns/op | wasmtime-wasi ns/op | vasi HostDir ns/op | ×wasi | ×native | vasi MemFs ns/op | ×wasi | ×native | HostDir target | MemFs target |"
        )?;
        writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|")?;
        for &b in &benches {
            let row = h.row(b, &mut notes)?;
            writeln!(out, "{row}")?;
        }
        writeln!(out)?;
    }
    if instances {
        writeln!(out, "{}", instances_table(quick, &fx)?)?;
    }
    if !notes.is_empty() {
        writeln!(out, "Notes:")?;
        for n in &notes {
            writeln!(out, "- {n}")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "Targets: hostcall-bound ≤ 0.5× wasmtime-wasi; clock, fd_write 16 B ≤ 1.5× native \
         (stat, open+close on HostDir too); readdir ≤ 3× native; args/env ≤ 2× native; \
         bulk I/O ≥ 0.9× native throughput on HostDir and ≥ 1× on MemFs; hello ≤ 0.5× \
         wasmtime-wasi; 1,000 instances with less peak memory than wasmtime-wasi."
    )?;
    print!("{out}");
    Ok(())
}

struct Options {
    quick: bool,
    reps: usize,
    /// `--host`: only these columns (all when empty).
    only: Vec<Who>,
}

struct Harness<'a> {
    opts: Options,
    fx: &'a Fixtures,
    hosts: &'a Hosts,
}

/// Who runs a benchmark.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Native,
    Wasm(Host),
    /// wasmtime alone: `hello` without WASI (see [`Hosts::floor`]).
    Floor,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Native => "native",
            Who::Wasm(h) => h.name(),
            Who::Floor => "wasmtime alone",
        }
    }
}

/// The samples of one (benchmark, host).
struct Plan {
    who: Who,
    /// Iterations per sample.
    n: u64,
    /// How many samples to take.
    reps: usize,
    samples: Vec<Duration>,
    /// The check value per op of the calibration run.
    check: f64,
}

/// The check value is per op, except for `clock` and `random` whose guest
/// reports a flag: divide by `n` or by 1.
fn check_divisor(bench: Bench, n: u64) -> f64 {
    if matches!(bench, Bench::Clock | Bench::Random) {
        1.0
    } else {
        n as f64
    }
}

/// A cell of the table: the median and how it was obtained.
#[derive(Clone, Copy)]
struct Cell {
    ns_per_op: f64,
    /// The check value per op (see the guest), to compare the hosts' work.
    check_per_op: f64,
}

impl Harness<'_> {
    fn target_time(&self) -> Duration {
        Duration::from_millis(if self.opts.quick { 20 } else { 250 })
    }

    /// One run of `n` iterations of `bench` by `who`.
    fn once(&self, bench: Bench, who: Who, n: u64) -> Result<Run> {
        match (who, bench) {
            (Who::Native, _) => native::run(bench, n, self.fx),
            (Who::Floor, _) => {
                let start = Instant::now();
                for _ in 0..n {
                    self.hosts.floor()?;
                }
                Ok(Run {
                    elapsed: start.elapsed(),
                    check: n,
                })
            }
            (Who::Wasm(host), Bench::Hello) => {
                let start = Instant::now();
                for _ in 0..n {
                    self.hosts.hello(host, self.fx)?;
                }
                Ok(Run {
                    elapsed: start.elapsed(),
                    check: n,
                })
            }
            (Who::Wasm(host), _) => {
                let env = GuestEnv {
                    args: vec![
                        "bench".into(),
                        bench.name().into(),
                        n.to_string(),
                        self.fx.chunks.to_string(),
                    ],
                    env: if bench == Bench::ArgsEnv {
                        native::bench_env()
                    } else {
                        Vec::new()
                    },
                };
                self.hosts.run_bench(host, self.fx, &env)
            }
        }
    }

    /// Calibrates N for `bench` on `who`: a first run with a small N
    /// estimates the cost of an op. The first run is kept as a sample when it
    /// already took half the target time.
    fn calibrate(&self, bench: Bench, who: Who) -> Result<Plan> {
        let target = self.target_time();
        let mut n = bench.first_n();
        let first = self
            .once(bench, who, n)
            .with_context(|| format!("{} on {}", bench.name(), who.name()))?;
        let per_op = first.elapsed.as_secs_f64() / n as f64;
        let mut samples = Vec::new();
        if first.elapsed >= target / 2 {
            samples.push(first.elapsed);
        } else {
            n = ((target.as_secs_f64() / per_op).ceil() as u64).max(1);
        }
        let reps = if per_op >= 1.0 {
            self.opts.reps.min(if self.opts.quick { 1 } else { 3 })
        } else {
            self.opts.reps
        };
        Ok(Plan {
            who,
            n,
            reps,
            samples,
            check: first.check as f64 / check_divisor(bench, bench.first_n()),
        })
    }

    /// Measures `bench` on each of `whos`: calibrates each, then takes the
    /// samples round-robin (one per host per round), so that drift in the
    /// machine's speed spreads over every column alike; returns the medians.
    fn measure(&self, bench: Bench, whos: &[Who]) -> Result<Vec<Cell>> {
        let mut plans = Vec::new();
        for &who in whos {
            plans.push(self.calibrate(bench, who)?);
        }
        while plans.iter().any(|p| p.samples.len() < p.reps) {
            for p in plans.iter_mut().filter(|p| p.samples.len() < p.reps) {
                let run = self
                    .once(bench, p.who, p.n)
                    .with_context(|| format!("{} on {}", bench.name(), p.who.name()))?;
                p.samples.push(run.elapsed);
            }
        }
        Ok(plans
            .into_iter()
            .map(|p| {
                let mut ns: Vec<f64> = p
                    .samples
                    .iter()
                    .map(|d| d.as_nanos() as f64 / p.n as f64)
                    .collect();
                ns.sort_by(f64::total_cmp);
                let median = ns[ns.len() / 2];
                eprintln!(
                    "{:>10} on {:<14}: {:>14.1} ns/op (N = {}, {} samples, min {:.1}, max {:.1})",
                    bench.name(),
                    p.who.name(),
                    median,
                    p.n,
                    ns.len(),
                    ns[0],
                    ns[ns.len() - 1]
                );
                Cell {
                    ns_per_op: median,
                    check_per_op: p.check,
                }
            })
            .collect())
    }

    /// Measures `bench` on every host and formats its table row.
    fn row(&self, bench: Bench, notes: &mut Vec<String>) -> Result<String> {
        let columns = [
            Who::Native,
            Who::Wasm(Host::WasmtimeWasi),
            Who::Wasm(Host::VasiHostDir),
            Who::Wasm(Host::VasiMemFs),
        ];
        let wanted = |who: &Who| {
            !(*who == Who::Native && bench == Bench::Hello)
                && (self.opts.only.is_empty() || self.opts.only.contains(who))
        };
        let mut whos: Vec<Who> = columns.into_iter().filter(wanted).collect();
        let floor_wanted = bench == Bench::Hello && !whos.is_empty();
        if floor_wanted {
            whos.push(Who::Floor);
        }
        let cells = self.measure(bench, &whos)?;
        let cell = |who: Who| whos.iter().position(|w| *w == who).map(|i| cells[i]);
        let native = cell(Who::Native);
        let wasi = cell(Who::Wasm(Host::WasmtimeWasi));
        let hostdir = cell(Who::Wasm(Host::VasiHostDir));
        let memfs = cell(Who::Wasm(Host::VasiMemFs));
        if let Some(floor) = cell(Who::Floor) {
            notes.push(format!(
                "hello: wasmtime's own share of an instance (Store + instantiate + drop of the \
                 same module with every import a trap stub, no WASI context, no `_start`) is \
                 {} ns: a floor under every host's hello instance.",
                ns(floor.ns_per_op)
            ));
        }

        let reference = native.or(wasi).map(|c| c.check_per_op);
        if let (Some(reference), false) = (reference, bench == Bench::Hello) {
            for (who, cell) in [
                (Host::WasmtimeWasi, wasi),
                (Host::VasiHostDir, hostdir),
                (Host::VasiMemFs, memfs),
            ] {
                let Some(cell) = cell else { continue };
                if (cell.check_per_op - reference).abs() > 1e-6 * reference.abs().max(1.0) {
                    notes.push(format!(
                        "{}: {} did different work: check value {} per op, native {}",
                        bench.name(),
                        who.name(),
                        cell.check_per_op,
                        reference
                    ));
                }
            }
        }

        let fmt = |c: Option<Cell>| match c {
            None => "—".to_string(),
            Some(c) if bench.is_bulk() => format!(
                "{} ({} MiB/s)",
                ns(c.ns_per_op),
                group((1e9 / c.ns_per_op).round() as u64)
            ),
            Some(c) => ns(c.ns_per_op),
        };
        let ratio = |c: Option<Cell>, r: Option<Cell>| match (c, r) {
            (Some(c), Some(r)) => ratio_text(c.ns_per_op / r.ns_per_op),
            _ => "—".to_string(),
        };
        let verdict = |c: Option<Cell>, memfs: bool| {
            let Some(c) = c else {
                return "—".to_string();
            };
            let misses: Vec<String> = bench
                .targets(memfs)
                .iter()
                .filter_map(|t| miss(*t, c, wasi, native))
                .collect();
            if misses.is_empty() {
                "ok".to_string()
            } else {
                format!("MISS {}", misses.join(", "))
            }
        };
        Ok(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            bench.label(),
            fmt(native),
            fmt(wasi),
            fmt(hostdir),
            ratio(hostdir, wasi),
            ratio(hostdir, native),
            fmt(memfs),
            ratio(memfs, wasi),
            ratio(memfs, native),
            verdict(hostdir, false),
            verdict(memfs, true),
        ))
    }
}

/// `None` if `cell` meets `target` (or its reference was not measured), else
/// what was missed.
fn miss(target: Target, cell: Cell, wasi: Option<Cell>, native: Option<Cell>) -> Option<String> {
    match target {
        Target::VsWasmtimeWasi(max) => {
            let r = cell.ns_per_op / wasi?.ns_per_op;
            (r > max).then(|| format!("{r:.2}× wasi > {max}"))
        }
        Target::VsNative(max) => {
            let r = cell.ns_per_op / native?.ns_per_op;
            (r > max).then(|| format!("{r:.2}× native > {max}"))
        }
        Target::ThroughputVsNative(min) => {
            let r = native?.ns_per_op / cell.ns_per_op;
            (r < min).then(|| format!("{r:.2}× native throughput < {min}"))
        }
    }
}

/// The `instances` table: per host, a child process runs the hello instances
/// and reports its time and peak RSS; a baseline child only loads.
fn instances_table(quick: bool, fx: &Fixtures) -> Result<String> {
    let count = if quick { 100 } else { INSTANCES };
    // Children for the baseline and each host, round-robin; the medians.
    let whos = ["baseline", "wasmtime-wasi", "vasi-hostdir", "vasi-memfs"];
    let mut results: Vec<Vec<(Duration, u64)>> = vec![Vec::new(); whos.len()];
    for _ in 0..INSTANCE_REPS {
        for (who, res) in whos.iter().zip(&mut results) {
            let count = if *who == "baseline" { 0 } else { count };
            let (elapsed, kb) = spawn_instances(who, count, fx)?;
            eprintln!(
                "{count} instances on {who}: {:.1} ms, VmHWM {kb} kB",
                elapsed.as_secs_f64() * 1e3
            );
            res.push((elapsed, kb));
        }
    }
    let median = |res: &mut Vec<(Duration, u64)>| {
        res.sort_by_key(|r| r.0);
        let elapsed = res[res.len() / 2].0;
        res.sort_by_key(|r| r.1);
        (elapsed, res[res.len() / 2].1)
    };
    let (_, base_kb) = median(&mut results[0]);
    let mut rows = Vec::new();
    for (host, res) in Host::ALL.into_iter().zip(&mut results[1..]) {
        let (elapsed, kb) = median(res);
        rows.push((host, elapsed, kb.saturating_sub(base_kb)));
    }
    let wasi_kb = rows[0].2;
    let mut out = String::new();
    writeln!(
        out,
        "{} hello instances in a row, all kept alive (a child process per host, median of \
         {INSTANCE_REPS}; peak RSS above a {:.1} MiB baseline child that only loaded the modules):\n",
        group(count as u64),
        base_kb as f64 / 1024.0
    )?;
    writeln!(
        out,
        "| host | total ms | µs/instance | peak RSS Δ MiB | KiB/instance | ×wasi memory | target |"
    )?;
    writeln!(out, "|---|--:|--:|--:|--:|--:|---|")?;
    for (host, elapsed, kb) in rows {
        let ratio = kb as f64 / wasi_kb.max(1) as f64;
        let verdict = match host {
            Host::WasmtimeWasi => "reference",
            _ if kb < wasi_kb => "ok",
            _ => "MISS (not below wasmtime-wasi)",
        };
        writeln!(
            out,
            "| {} | {:.1} | {:.1} | {:.1} | {:.0} | {ratio:.2} | {verdict} |",
            host.name(),
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e6 / count as f64,
            kb as f64 / 1024.0,
            kb as f64 / count as f64,
        )?;
    }
    Ok(out)
}

/// Runs `bench-harness --child-instances who count dir`; returns its time and
/// peak RSS in kB.
fn spawn_instances(who: &str, count: usize, fx: &Fixtures) -> Result<(Duration, u64)> {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        .arg("--child-instances")
        .arg(who)
        .arg(count.to_string())
        .arg(fx.dir())
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("the {who} instances child failed");
    }
    let text = String::from_utf8(out.stdout)?;
    let mut words = text.split_whitespace().map(str::parse::<u64>);
    match (words.next(), words.next()) {
        (Some(Ok(ns)), Some(Ok(kb))) => Ok((Duration::from_nanos(ns), kb)),
        _ => bail!("bad answer from the {who} instances child: {text:?}"),
    }
}

/// In the child: compiles and links the modules, runs `count` hello
/// instances on `who` keeping every store alive, then prints the elapsed
/// nanoseconds and `VmHWM` in kB. `baseline` runs none.
fn child_instances(who: &str, count: usize, dir: &std::path::Path) -> Result<()> {
    let engine = engine()?;
    let hosts = Hosts::new(&engine)?;
    let mem = vasi::vfs::MemFs::new();
    let mem_root = mem.root();
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::with_capacity(count);
    let start = Instant::now();
    if who != "baseline" {
        let host = Host::from_name(who).with_context(|| format!("no host {who}"))?;
        for _ in 0..count {
            hosts.hello_kept(host, dir, &mem_root, &mut keep)?;
        }
    }
    let elapsed = start.elapsed();
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmHWM in /proc/self/status")?;
    println!("{} {kb}", elapsed.as_nanos());
    drop(keep);
    Ok(())
}

/// A ratio with two decimals, or two significant digits when smaller than
/// 0.1 (wasmtime-wasi's readdir makes ratios like 0.0015).
fn ratio_text(r: f64) -> String {
    if r >= 0.1 || r <= 0.0 || !r.is_finite() {
        format!("{r:.2}")
    } else {
        let digits = (1.0 - r.log10().floor()) as usize;
        format!("{r:.digits$}")
    }
}

/// ns/op with thousands separators, or ms/s when that long.
fn ns(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2} s", v / 1e9)
    } else if v >= 1e7 {
        format!("{:.2} ms", v / 1e6)
    } else if v >= 100.0 {
        group(v.round() as u64)
    } else {
        format!("{v:.1}")
    }
}

/// `1234567` as `1,234,567`.
fn group(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The machine: CPUs, CPU model, RAM, kernel.
/// The one `Engine` of a run: the default configuration, or wasmtime's
/// pooling instance allocator when `VASI_BENCH_POOLING=1` (the configuration
/// of hosts that start many instances; children of the `instances` row see
/// the same variable).
fn engine() -> Result<wasmtime::Engine> {
    if !pooling() {
        return Ok(wasmtime::Engine::default());
    }
    let mut config = wasmtime::Config::new();
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_memories(1_100)
        .total_tables(1_100)
        .total_core_instances(1_100);
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    Ok(wasmtime::Engine::new(&config)?)
}

fn pooling() -> bool {
    std::env::var_os("VASI_BENCH_POOLING").is_some_and(|v| v == "1")
}

fn machine() -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "Machine: {}, Linux {}; wasmtime 48.0.8, {} Engine config.",
        machine::describe(),
        kernel.trim(),
        if pooling() {
            "pooling-allocator"
        } else {
            "default"
        }
    )
}
