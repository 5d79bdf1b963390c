//! Builds the guest's world from the arguments and runs it on wasmtime.

use crate::args::{Mount, RunArgs};
use std::sync::Arc;
use vasi::vfs::{Dir, HostDir, MemFs, Overlay, ReadOnly, TarFs};
use vasi::{WasiCtx, WasiCtxBuilder};
use vasi_globals::Globals;
use wasmtime::{Engine, Linker, Module, Store};

/// Why a run did not produce a guest exit code.
pub(crate) enum Failure {
    /// vasi could not start the guest.
    CannotRun(String),
    /// The guest trapped.
    Trap(String),
}

fn cannot(msg: impl Into<String>) -> Failure {
    Failure::CannotRun(msg.into())
}

/// The store's data: the guest's WASI world and its globals.
struct Host {
    wasi: WasiCtx,
    globals: Globals,
}

/// Runs the guest; returns its exit code.
pub(crate) fn run(args: &RunArgs) -> Result<i32, Failure> {
    let ctx = build_ctx(args)?;
    let globals = Globals::new();
    for (name, value) in &args.globals {
        globals
            .set(name, *value)
            .map_err(|e| cannot(format!("--global {name}: {e}")))?;
    }
    let wasm_name = args.wasm.display().to_string();
    let bytes =
        std::fs::read(&args.wasm).map_err(|e| cannot(format!("cannot read {wasm_name}: {e}")))?;
    let engine = Engine::default();
    let module = Module::new(&engine, &bytes).map_err(|e| {
        cannot(format!(
            "{wasm_name} is not a valid wasm module: {}",
            one_line(&e)
        ))
    })?;
    let mut linker: Linker<Host> = Linker::new(&engine);
    vasi_wasmtime::add_to_linker(&mut linker, |h| &mut h.wasi).map_err(|e| cannot(one_line(&e)))?;
    vasi_globals::wasmtime::add_to_linker(&mut linker, |h| &h.globals)
        .map_err(|e| cannot(one_line(&e)))?;
    let host = Host { wasi: ctx, globals };
    let mut store = Store::new(&engine, host);
    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|e| cannot(format!("cannot instantiate {wasm_name}: {}", one_line(&e))))?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(|_| {
            cannot(format!(
                "{wasm_name} exports no `_start` function: it is not a WASI command"
            ))
        })?;
    vasi_wasmtime::exit_code(start.call(&mut store, ()))
        .map_err(|e| Failure::Trap(trap_message(&e)))
}

fn build_ctx(args: &RunArgs) -> Result<WasiCtx, Failure> {
    let mut b = WasiCtxBuilder::new();
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
            Mount::Mem { guest, size } => {
                let fs = match size {
                    Some(bytes) => MemFs::with_quota(*bytes),
                    None => MemFs::new(),
                };
                (fs.root(), guest)
            }
            Mount::MemCopy { host, guest } => {
                let fs = MemFs::new();
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
            Mount::Overlay { host, guest } => {
                let lower = HostDir::open_ambient(host).map_err(|e| {
                    cannot(format!("cannot mount {} at {guest}: {e}", host.display()))
                })?;
                let overlay = Overlay::new(MemFs::new().root(), Arc::new(lower));
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
