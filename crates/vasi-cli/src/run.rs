//! Builds the guest's world from the arguments and runs it on wasmtime, within
//! the limits asked for.

use crate::args::{Mount, RunArgs};
use crate::limits::{MemoryCap, MemoryLimitHit};
use std::fmt;
use std::sync::mpsc;
use std::sync::Arc;
use vasi::vfs::{Dir, HostDir, MemFs, MemFsOptions, Overlay, ReadOnly, TarFs};
use vasi::{StopReason, WasiCtx, WasiCtxBuilder};
use vasi_globals::Globals;
use wasmtime::{Linker, Module, Store};

/// Why a run did not produce a guest exit code.
pub(crate) enum Failure {
    /// vasi could not start the guest.
    CannotRun(String),
    /// The guest trapped.
    Trap(String),
    /// The guest hit a limit set on the command line.
    Limit(Limit, String),
    /// A bad command line found after parsing (e.g. an `--invoke` argument
    /// that does not fit the function's signature).
    Usage(String),
}

/// The limits `vasi run` enforces, each with its exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    Memory,
    OpenFiles,
    Fuel,
    Timeout,
}

impl Limit {
    /// The exit code documented in `vasi run --help`.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            Limit::Memory => 121,
            Limit::OpenFiles => 122,
            Limit::Fuel => 123,
            Limit::Timeout => 124,
        }
    }
}

fn cannot(msg: impl Into<String>) -> Failure {
    Failure::CannotRun(msg.into())
}

/// The store's data: the guest's WASI world, its globals and the memory cap.
struct State {
    wasi: WasiCtx,
    globals: Globals,
    memory: MemoryCap,
}

/// What the module's interface says `run` should do, decided before
/// compiling.
struct Plan {
    /// The function to call and its arguments (`--invoke`), or `None` for
    /// `_start`.
    invoke: Option<(String, Vec<wasmtime::Val>)>,
    /// Whether to call `_initialize` first.
    initialize: bool,
    /// Imports vasi does not provide, to stub (`--unknown-imports`).
    stubs: Vec<(String, String)>,
    /// A wasi-threads module (it imports a shared memory or
    /// `wasi::thread-spawn`): run by vasi_wasmtime::threads.
    threaded: bool,
}

/// Runs the guest; returns its exit code.
pub(crate) fn run(args: &RunArgs) -> Result<i32, Failure> {
    let (wasm_name, input) = crate::load::read(&args.wasm)?;
    // A bundle's configuration and mounts go below the command line's.
    let bundle = match &input {
        crate::load::Input::Wasm(src) => crate::bundle::detect(src, &wasm_name).map_err(cannot)?,
        crate::load::Input::Compiled(_) => None,
    };
    let merged = bundle.map(|b| crate::bundle::merge(b, args));
    let args = merged.as_ref().unwrap_or(args);
    let ctx = build_ctx(args)?;
    let globals = Globals::new();
    for (name, value) in &args.globals {
        globals
            .set(name, *value)
            .map_err(|e| cannot(format!("--global {name}: {e}")))?;
    }

    let settings = crate::engine::Settings {
        fuel: args.fuel.is_some(),
        epoch: args.timeout.is_some(),
        features: args.features.clone(),
    };
    let cache = if args.no_cache {
        None
    } else {
        crate::cache::Cache::from_env().map_err(cannot)?
    };
    let (loaded, plan) = crate::load::load(&wasm_name, input, &settings, cache.as_ref(), |i| {
        plan(i, args, &wasm_name)
    })?;
    let (engine, module) = (loaded.engine, loaded.module);
    if plan.threaded {
        return run_threaded(args, ctx, engine, &module, &plan, &wasm_name);
    }
    let mut linker: Linker<State> = Linker::new(&engine);
    vasi_wasmtime::add_to_linker_for(&mut linker, &module, |s: &mut State| &mut s.wasi)
        .map_err(|e| cannot(one_line(&e)))?;
    vasi_globals::wasmtime::add_to_linker_for(&mut linker, &module, |s: &mut State| &s.globals)
        .map_err(|e| cannot(one_line(&e)))?;

    let interrupt = args.timeout.map(|_| ctx.interrupt_handle());
    let max_memory = args
        .max_memory
        .map(|m| usize::try_from(m).unwrap_or(usize::MAX));
    let mut store = Store::new(
        &engine,
        State {
            wasi: ctx,
            globals,
            memory: MemoryCap::new(max_memory),
        },
    );
    store.limiter(|s| &mut s.memory);
    if let Some(fuel) = args.fuel {
        store.set_fuel(fuel).map_err(|e| cannot(one_line(&e)))?;
    }
    if args.timeout.is_some() {
        store.set_epoch_deadline(1);
    }
    define_stubs(&mut linker, &mut store, &module, &plan.stubs, args.unknown)?;
    let instance =
        linker
            .instantiate(&mut store, &module)
            .map_err(|e| match limit_hit(&e, args) {
                Some(f) => f,
                None => cannot(format!("cannot instantiate {wasm_name}: {}", one_line(&e))),
            })?;

    // The timeout: a watchdog ends wasm code (epoch) and blocking hostcalls
    // (the interrupt handle), unless the guest finishes first.
    let (finished, watchdog) = mpsc::channel::<()>();
    if let (Some(timeout), Some(interrupt)) = (args.timeout, interrupt) {
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watchdog.recv_timeout(timeout) {
                engine.increment_epoch();
                interrupt.interrupt();
            }
        });
    }
    let result = call_entry(&mut store, &instance, &plan, args);
    drop(finished);
    result.map_err(|e| match limit_hit(&e, args) {
        Some(f) => f,
        None => Failure::Trap(trap_message(&e)),
    })
}

/// Runs a wasi-threads guest: `_start` and every thread it spawns, over one
/// shared memory and one WASI world, within --max-threads, --max-memory
/// (the shared memory, counted once) and --timeout (which stops every
/// thread, also those blocked in WASI).
fn run_threaded(
    args: &RunArgs,
    ctx: WasiCtx,
    engine: wasmtime::Engine,
    module: &Module,
    plan: &Plan,
    wasm_name: &str,
) -> Result<i32, Failure> {
    debug_assert!(plan.invoke.is_none() && plan.stubs.is_empty());
    let mut builder = vasi_wasmtime::threads::ThreadedGuest::builder(&engine, module);
    if let Some(n) = args.max_threads {
        builder.max_threads(n);
    }
    if let Some(m) = args.max_memory {
        builder.max_memory(m);
    }
    let mut guest = builder.build(ctx).map_err(|e| match e
        .downcast_ref::<vasi_wasmtime::threads::MemoryTooSmall>()
    {
        Some(small) => Failure::Limit(Limit::Memory, format!("{small} (--max-memory)")),
        None => cannot(format!("cannot instantiate {wasm_name}: {}", one_line(&e))),
    })?;
    let (finished, watchdog) = mpsc::channel::<()>();
    if let Some(timeout) = args.timeout {
        let stopper = guest.stopper();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watchdog.recv_timeout(timeout) {
                stopper.stop("the guest ran longer than --timeout");
            }
        });
    }
    let result = guest.run();
    drop(finished);
    result.map_err(|e| match limit_hit(&e, args) {
        Some(f) => f,
        None => Failure::Trap(trap_message(&e)),
    })
}

/// Calls the entry point: `_start`, or `_initialize` and the `--invoke`d
/// function. Its exit code: the guest's `proc_exit` code, else 0, else (with
/// --invoke-exit-code) the function's i32 result.
fn call_entry(
    store: &mut Store<State>,
    instance: &wasmtime::Instance,
    plan: &Plan,
    args: &RunArgs,
) -> wasmtime::Result<i32> {
    let func = |store: &mut Store<State>, name: &str| {
        instance
            .get_func(&mut *store, name)
            .ok_or_else(|| wasmtime::Error::msg(format!("no function `{name}`")))
    };
    let Some((name, params)) = &plan.invoke else {
        let start = func(store, "_start")?;
        return vasi_wasmtime::exit_code(start.call(&mut *store, &[], &mut []));
    };
    if plan.initialize {
        let init = func(store, "_initialize")?;
        if let Err(e) = init.call(&mut *store, &[], &mut []) {
            return vasi_wasmtime::exit_code(Err(e));
        }
    }
    let f = func(store, name)?;
    let mut results: Vec<wasmtime::Val> = f
        .ty(&*store)
        .results()
        .map(|_| wasmtime::Val::I32(0))
        .collect();
    if let Err(e) = f.call(&mut *store, params, &mut results) {
        return vasi_wasmtime::exit_code(Err(e));
    }
    if args.invoke_exit_code {
        // Checked before compiling: exactly one i32 result.
        return Ok(results.first().and_then(|v| v.i32()).unwrap_or(0));
    }
    let mut out = std::io::stdout().lock();
    for v in &results {
        use std::io::Write;
        writeln!(out, "{}", crate::invoke::format(v))?;
    }
    Ok(0)
}

/// Decides, from the module's interface and before compiling, what runs
/// and what is stubbed: refuses unknown imports (all named in one line,
/// unless --unknown-imports says otherwise), a missing entry point and bad
/// --invoke arguments.
fn plan(i: &crate::interface::Interface, args: &RunArgs, wasm_name: &str) -> Result<Plan, Failure> {
    use crate::args::UnknownImports;
    use crate::interface::{Kind, Provided};
    let mut needs_memory = false;
    let mut threaded = false;
    let mut missing: Vec<(&crate::interface::Import, String)> = Vec::new();
    for import in &i.imports {
        match crate::interface::provided(import) {
            Provided::Threads => threaded = true,
            Provided::Wasi => needs_memory = true,
            Provided::Globals(memory) => needs_memory |= memory,
            Provided::Missing(why) => missing.push((import, why)),
        }
    }
    let policy = args.unknown;
    if !missing.is_empty() && policy == UnknownImports::Error {
        let hint = "(--unknown-imports=trap or =default runs it anyway)";
        let one = |(imp, why): &(&crate::interface::Import, String)| {
            format!("`{}::{}` ({why})", imp.module, imp.name)
        };
        let msg = match &missing[..] {
            [(imp, _)] if imp.module == "wasi_unstable" => format!(
                "{wasm_name} imports `{}::{}`: it is built for WASI preview0, vasi runs preview1 (`{}`)",
                imp.module,
                imp.name,
                vasi::p1::MODULE
            ),
            [(imp, why)] if imp.module == vasi::p1::MODULE || imp.module == vasi_globals::abi::MODULE => {
                format!("{wasm_name} imports `{}::{}`, which is {why} {hint}", imp.module, imp.name)
            }
            [(imp, why)] => format!(
                "{wasm_name} imports `{}::{}` ({why}), which vasi does not provide {hint}",
                imp.module, imp.name
            ),
            many => {
                let p0 = many.iter().any(|(imp, _)| imp.module == "wasi_unstable");
                format!(
                    "{wasm_name} imports {} items vasi does not provide: {}{} {hint}",
                    many.len(),
                    many.iter().map(one).collect::<Vec<_>>().join(", "),
                    if p0 { "; it is built for WASI preview0, vasi runs preview1" } else { "" }
                )
            }
        };
        return Err(cannot(msg));
    }
    if policy == UnknownImports::Trap {
        let data: Vec<String> = missing
            .iter()
            .filter(|(imp, _)| imp.kind != Kind::Func)
            .map(|(imp, _)| format!("`{}::{}` ({})", imp.module, imp.name, imp.kind.article()))
            .collect();
        if !data.is_empty() {
            return Err(cannot(format!(
                "{wasm_name} imports {} vasi does not provide and --unknown-imports=trap cannot stub (only functions trap; --unknown-imports=default gives zeroed ones)",
                data.join(", ")
            )));
        }
    }
    let exports_memory = i.export("memory").is_some_and(|e| e.kind == Kind::Memory);
    if needs_memory && !exports_memory && !threaded {
        return Err(cannot(format!(
            "{wasm_name} exports no memory named `memory`, which WASI calls need"
        )));
    }
    let is_func = |name: &str| i.export(name).is_some_and(|e| e.kind == Kind::Func);
    let invoke = match &args.invoke {
        None => {
            let start = i.export("_start").and_then(|e| e.signature.as_ref());
            if start.is_some_and(|s| !s.params.is_empty() || !s.results.is_empty()) {
                return Err(cannot(format!(
                    "{wasm_name}'s `_start` takes or returns values: it is not a WASI command"
                )));
            }
            if !is_func("_start") {
                return Err(cannot(format!(
                    "{wasm_name} exports no `_start` function: it is not a WASI command (call one of its exported functions with --invoke NAME: {})",
                    i.exported_functions()
                )));
            }
            None
        }
        Some(name) => {
            let Some(sig) = i
                .export(name)
                .filter(|e| e.kind == Kind::Func)
                .and_then(|e| e.signature.as_ref())
            else {
                return Err(cannot(format!(
                    "--invoke {name}: {wasm_name} exports no function `{name}` (its exported functions: {})",
                    i.exported_functions()
                )));
            };
            let params =
                crate::invoke::parse_args(name, sig, &args.args).map_err(Failure::Usage)?;
            if args.invoke_exit_code && sig.results != [crate::interface::Ty::I32] {
                return Err(Failure::Usage(format!(
                    "--invoke-exit-code: `{name}` must return exactly one i32, it returns ({})",
                    sig.results
                        .iter()
                        .map(|t| t.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Some((name.clone(), params))
        }
    };
    let initialize = args.invoke.is_some()
        && args.invoke.as_deref() != Some("_initialize")
        && i.export("_initialize")
            .and_then(|e| e.signature.as_ref())
            .is_some_and(|s| s.params.is_empty() && s.results.is_empty());
    let stubs = missing
        .iter()
        .map(|(imp, _)| (imp.module.clone(), imp.name.clone()))
        .collect();
    if threaded {
        // What the threaded runner does not do (yet): one line each.
        let refuse = |what: &str| {
            Err(cannot(format!(
                "{wasm_name} is a wasi-threads module (it imports a shared memory or `wasi::thread-spawn`): {what} is not supported for it"
            )))
        };
        if invoke.is_some() {
            return refuse("--invoke");
        }
        if args.fuel.is_some() {
            return refuse("--fuel");
        }
        if !missing.is_empty() {
            return refuse("--unknown-imports");
        }
        if i.imports
            .iter()
            .any(|imp| imp.module == vasi_globals::abi::MODULE)
        {
            return refuse("the globals module");
        }
    }
    Ok(Plan {
        invoke,
        initialize,
        stubs,
        threaded,
    })
}

/// The trap of a stub linked by `--unknown-imports=trap`: the import called.
#[derive(Debug, Clone)]
struct StubCalled(String);

impl fmt::Display for StubCalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the guest called `{}`, an import vasi does not provide (--unknown-imports=trap)",
            self.0
        )
    }
}

impl std::error::Error for StubCalled {}

/// Links a stub for each of `stubs`: one that traps naming the import, or
/// (`default`) a function returning zeros, a zeroed global, an empty table
/// or memory of the minimum size.
fn define_stubs(
    linker: &mut Linker<State>,
    store: &mut Store<State>,
    module: &Module,
    stubs: &[(String, String)],
    policy: crate::args::UnknownImports,
) -> Result<(), Failure> {
    if stubs.is_empty() {
        return Ok(());
    }
    for import in module.imports() {
        let (m, n) = (import.module(), import.name());
        if !stubs.iter().any(|(sm, sn)| sm == m && sn == n) {
            continue;
        }
        let stubbed = match (policy, import.ty()) {
            (crate::args::UnknownImports::Trap, wasmtime::ExternType::Func(ty)) => {
                let called = StubCalled(format!("{m}::{n}"));
                linker
                    .func_new(m, n, ty, move |_, _, _| {
                        Err(wasmtime::Error::new(called.clone()))
                    })
                    .map(|_| ())
            }
            (_, ty) => ty
                .default_value(&mut *store)
                .and_then(|ext| linker.define(&*store, m, n, ext).map(|_| ())),
        };
        stubbed.map_err(|e| cannot(format!("cannot stub `{m}::{n}`: {}", one_line(&e))))?;
    }
    Ok(())
}

/// The limit a failure stems from, if any.
fn limit_hit(e: &wasmtime::Error, args: &RunArgs) -> Option<Failure> {
    if let Some(stop) = e.downcast_ref::<vasi::Stopped>() {
        return match stop.reason() {
            StopReason::Interrupted => Some(timeout_failure(args)),
            StopReason::OpenFilesLimit => Some(Failure::Limit(
                Limit::OpenFiles,
                format!("{stop} (--max-open-files)"),
            )),
            _ => Some(Failure::Trap(stop.to_string())),
        };
    }
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        match trap {
            wasmtime::Trap::Interrupt => return Some(timeout_failure(args)),
            wasmtime::Trap::OutOfFuel => {
                return Some(Failure::Limit(
                    Limit::Fuel,
                    format!(
                        "the guest ran out of fuel (--fuel {})",
                        args.fuel.unwrap_or(0)
                    ),
                ))
            }
            _ => {}
        }
    }
    for cause in e.chain() {
        if let Some(hit) = cause.downcast_ref::<MemoryLimitHit>() {
            return Some(Failure::Limit(Limit::Memory, hit.to_string()));
        }
    }
    None
}

fn timeout_failure(args: &RunArgs) -> Failure {
    let t = args.timeout.unwrap_or_default();
    Failure::Limit(
        Limit::Timeout,
        format!("the guest ran longer than --timeout ({t:?}) and was stopped"),
    )
}

fn build_ctx(args: &RunArgs) -> Result<WasiCtx, Failure> {
    let mut b = WasiCtxBuilder::new();
    // One store, one instance: the binding may remember the guest's memory.
    b.single_instance();
    // One virtual timeline for the guest's clocks and its in-memory files.
    let clock = args
        .deterministic
        .then(|| Arc::new(vasi::clocks::DeterministicClocks::new()));
    let memfs = |bytes: Option<u64>| {
        MemFs::with_options(MemFsOptions {
            bytes: bytes.unwrap_or(MemFs::DEFAULT_QUOTA),
            clock: clock.clone().map(|c| c as Arc<dyn vasi::clocks::Clocks>),
            inodes: MemFs::DEFAULT_INODE_QUOTA,
        })
    };
    b.inherit_stdio();
    b.arg(
        args.argv0
            .clone()
            .unwrap_or_else(|| args.wasm.display().to_string()),
    );
    b.args(args.args.iter().cloned());
    if args.inherit_env {
        b.inherit_env();
    }
    for spec in &args.envs {
        match spec.split_once('=') {
            Some((k, v)) => b.env(k, v),
            None => match std::env::var(spec) {
                Ok(v) => b.env(spec.clone(), v),
                Err(_) => return Err(cannot(format!("--env {spec}: vasi has no such variable"))),
            },
        };
    }
    if let Some(path) = &args.stdin {
        let file = std::fs::File::open(path)
            .map_err(|e| cannot(format!("cannot open stdin file {}: {e}", path.display())))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(cannot(format!(
                "cannot read stdin file {}: it is a directory",
                path.display()
            )));
        }
        b.stdin(file);
    }
    for mount in &args.mounts {
        let (dir, guest): (Arc<dyn Dir>, &String) = match mount {
            Mount::Host {
                host,
                guest,
                read_only,
            } => {
                let dir: Arc<dyn Dir> = Arc::new(HostDir::open_ambient(host).map_err(|e| {
                    cannot(format!("cannot mount {} at {guest}: {e}", host.display()))
                })?);
                if *read_only {
                    (Arc::new(ReadOnly::new(dir)), guest)
                } else {
                    (dir, guest)
                }
            }
            Mount::Mem { guest, size } => (memfs(*size).root(), guest),
            Mount::MemCopy { host, guest } => {
                let fs = memfs(None);
                copy_into(host, &fs.root()).map_err(|e| {
                    cannot(format!("cannot copy {} to {guest}: {e}", host.display()))
                })?;
                (fs.root(), guest)
            }
            Mount::Tar { file, guest } => {
                let fs = TarFs::open(file).map_err(|e| {
                    cannot(format!("cannot mount {} at {guest}: {e}", file.display()))
                })?;
                (fs.root(), guest)
            }
            Mount::Bundle { index, guest } => (
                crate::bundle::mount_dir(args, *index, || memfs(None).root()).map_err(cannot)?,
                guest,
            ),
            Mount::Overlay { host, guest } => {
                let lower = HostDir::open_ambient(host).map_err(|e| {
                    cannot(format!("cannot mount {} at {guest}: {e}", host.display()))
                })?;
                let overlay = Overlay::new(memfs(None).root(), Arc::new(lower));
                (Arc::new(overlay), guest)
            }
        };
        b.preopen_dir(dir, guest.clone());
    }
    for addr in &args.listens {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| cannot(format!("cannot listen on {addr}: {e}")))?;
        b.preopen_listener(listener);
    }
    if let Some(clock) = clock {
        b.clocks(clock)
            .random(vasi::random::SeededRandom::new(args.seed.unwrap_or(0)));
    }
    if let Some(max) = args.max_open_files {
        b.max_open_files(max).stop_at_open_files_limit(true);
    }
    if let Some(dest) = &args.trace {
        let out: Box<dyn std::io::Write + Send> = match dest {
            None => Box::new(std::io::stderr()),
            Some(path) => Box::new(std::fs::File::create(path).map_err(|e| {
                cannot(format!("cannot create trace file {}: {e}", path.display()))
            })?),
        };
        let mut tracer = vasi::trace::Tracer::new(out).durations(!args.deterministic);
        if !args.trace_filter.is_empty() {
            tracer = tracer
                .families(&args.trace_filter)
                .map_err(|e| cannot(format!("--trace-filter: {e}")))?;
        }
        b.hook(tracer);
    }
    b.build().map_err(|e| cannot(e.to_string()))
}

/// An error and its causes on one line.
pub(crate) fn one_line(e: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        let s = s.lines().next().unwrap_or("").trim().to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// What a trap was, in one line: the WASI call that trapped, or the wasm trap.
fn trap_message(e: &wasmtime::Error) -> String {
    if let Some(t) = e.downcast_ref::<vasi_wasmtime::GuestTrap>() {
        return t.to_string();
    }
    if let Some(t) = e.downcast_ref::<wasmtime::Trap>() {
        return t.to_string();
    }
    if let Some(t) = e.chain().find_map(|c| c.downcast_ref::<StubCalled>()) {
        return t.to_string();
    }
    one_line(e)
}

/// Copies the host directory `from` (files, directories, symlinks and their
/// modification times) into `to`.
fn copy_into(from: &std::path::Path, to: &Arc<dyn Dir>) -> std::io::Result<()> {
    use vasi::vfs::{Node, OpenOptions, SetTime};
    let errno = |e: vasi::Errno| std::io::Error::other(e.to_string());
    let name_of = |e: &std::fs::DirEntry| {
        e.file_name()
            .into_string()
            .map_err(|n| std::io::Error::other(format!("{n:?} is not UTF-8")))
    };
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = name_of(&entry)?;
        let meta = entry.path().symlink_metadata()?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| SetTime::At(d.as_nanos() as u64));
        if meta.is_dir() {
            to.create_dir(&name).map_err(errno)?;
            let Node::Dir(sub) = to.open(&name, &OpenOptions::lookup_dir()).map_err(errno)? else {
                return Err(std::io::Error::other("not a directory"));
            };
            copy_into(&entry.path(), &sub)?;
        } else if meta.is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            let target = target
                .to_str()
                .ok_or_else(|| std::io::Error::other("non-UTF-8 link"))?;
            to.symlink(target, &name).map_err(errno)?;
            continue;
        } else if meta.is_file() {
            let opts = OpenOptions {
                write: true,
                create_new: true,
                ..OpenOptions::default()
            };
            let Node::File(f) = to.open(&name, &opts).map_err(errno)? else {
                return Err(std::io::Error::other("not a file"));
            };
            f.write_at(&std::fs::read(entry.path())?, 0)
                .map_err(errno)?;
        } else {
            continue; // devices, fifos, sockets: nothing to copy
        }
        to.set_times_at(&name, mtime, mtime).map_err(errno)?;
    }
    Ok(())
}
