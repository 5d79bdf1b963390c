//! Builds the guest's world from the arguments and runs it on wasmtime, within
//! the limits asked for.

use crate::args::{Mount, RunArgs};
use crate::limits::{MemoryCap, MemoryLimitHit};
use std::sync::mpsc;
use std::sync::Arc;
use vasi::vfs::{Dir, HostDir, MemFs, MemFsOptions, Overlay, ReadOnly, TarFs};
use vasi::{StopReason, WasiCtx, WasiCtxBuilder};
use vasi_globals::Globals;
use wasmtime::{Config, Engine, Linker, Module, Store};

/// Why a run did not produce a guest exit code.
pub(crate) enum Failure {
    /// vasi could not start the guest.
    CannotRun(String),
    /// The guest trapped.
    Trap(String),
    /// The guest hit a limit set on the command line.
    Limit(Limit, String),
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

/// Runs the guest; returns its exit code.
pub(crate) fn run(args: &RunArgs) -> Result<i32, Failure> {
    let from_stdin = args.wasm.as_os_str() == "-";
    let wasm_name = if from_stdin {
        "the module read from stdin".to_string()
    } else {
        args.wasm.display().to_string()
    };
    // A bundle's configuration and mounts go below the command line's.
    let (src, bundle) = crate::bundle::load(&args.wasm, from_stdin, &wasm_name).map_err(cannot)?;
    let bytes: &[u8] = (*src).as_ref();
    let merged = bundle.map(|b| crate::bundle::merge(b, args));
    let args = merged.as_ref().unwrap_or(args);
    if bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] != [1, 0, 0, 0] {
        return Err(cannot(format!(
            "{wasm_name} is a WebAssembly component, not a core module: vasi runs WASI preview1 modules"
        )));
    }
    let ctx = build_ctx(args)?;
    let globals = Globals::new();
    for (name, value) in &args.globals {
        globals
            .set(name, *value)
            .map_err(|e| cannot(format!("--global {name}: {e}")))?;
    }

    let mut config = Config::new();
    config.epoch_interruption(args.timeout.is_some());
    config.consume_fuel(args.fuel.is_some());
    let engine = Engine::new(&config).map_err(|e| cannot(one_line(&e)))?;
    let module = Module::new(&engine, bytes).map_err(|e| {
        cannot(format!(
            "{wasm_name} is not a valid wasm module: {}",
            one_line(&e)
        ))
    })?;
    check_imports(&module, &wasm_name)?;
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
    let instance =
        linker
            .instantiate(&mut store, &module)
            .map_err(|e| match limit_hit(&e, args) {
                Some(f) => f,
                None => cannot(format!("cannot instantiate {wasm_name}: {}", one_line(&e))),
            })?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(|_| {
            cannot(format!(
                "{wasm_name} exports no `_start` function: it is not a WASI command"
            ))
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
    let result = start.call(&mut store, ());
    drop(finished);
    vasi_wasmtime::exit_code(result).map_err(|e| match limit_hit(&e, args) {
        Some(f) => f,
        None => Failure::Trap(trap_message(&e)),
    })
}

/// Refuses, before instantiation, imports vasi does not provide, naming them.
fn check_imports(module: &Module, wasm_name: &str) -> Result<(), Failure> {
    let mut exports_memory = false;
    for e in module.exports() {
        if e.name() == "memory" && matches!(e.ty(), wasmtime::ExternType::Memory(_)) {
            exports_memory = true;
        }
    }
    let mut needs_memory = false;
    for import in module.imports() {
        let (m, name) = (import.module(), import.name());
        let kind = match import.ty() {
            wasmtime::ExternType::Func(_) => "a function",
            wasmtime::ExternType::Memory(_) => "a memory",
            wasmtime::ExternType::Table(_) => "a table",
            wasmtime::ExternType::Global(_) => "a global",
            _ => "an item",
        };
        match m {
            vasi::p1::MODULE if vasi::p1::HOSTCALLS.contains(&name) => needs_memory = true,
            vasi_globals::abi::MODULE if matches!(name, "get" | "generation") => {
                needs_memory |= name == "get";
            }
            vasi_globals::abi::MODULE => {
                return Err(cannot(format!(
                    "{wasm_name} imports `{m}::{name}`, which is not a function of the globals module"
                )))
            }
            vasi::p1::MODULE => {
                return Err(cannot(format!(
                    "{wasm_name} imports `{m}::{name}`, which is not a WASI preview1 function"
                )))
            }
            "wasi_unstable" => {
                return Err(cannot(format!(
                    "{wasm_name} imports `{m}::{name}`: it is built for WASI preview0, vasi runs preview1 (`{}`)",
                    vasi::p1::MODULE
                )))
            }
            _ => {
                return Err(cannot(format!(
                    "{wasm_name} imports `{m}::{name}` ({kind}), which vasi does not provide"
                )))
            }
        }
    }
    if needs_memory && !exports_memory {
        return Err(cannot(format!(
            "{wasm_name} exports no memory named `memory`, which WASI calls need"
        )));
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
fn one_line(e: &wasmtime::Error) -> String {
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
